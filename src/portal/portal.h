/*
 * portal.h — sluice-portal, the login portal (docs/sluice-portal.8.md): an
 * HTTPS page where a user signs in with the directory password and
 * becomes known at the client's address, through sluiced's identity push
 * API on the control socket (operator level). It runs as its own
 * unprivileged process and never holds the firewall's privileges.
 */
#ifndef SLUICE_PORTAL_H
#define SLUICE_PORTAL_H

#include <stddef.h>

#include "policy/policy.h"

enum pauth_result {
	PAUTH_OK,	   /* the password is the user's */
	PAUTH_REFUSED,	   /* no such user, ambiguous, wrong or empty password */
	PAUTH_UNAVAILABLE, /* the directory did not answer (down, timeout) */
	PAUTH_ERROR,	   /* anything else (bad configuration, server error) */
};

/*
 * Checks PASSWORD (PWLEN bytes, any bytes: it goes to the directory as an
 * octet string) for USER against directory C: connects (ldaps://, or
 * StartTLS when C says; the certificate verified unless tls-verify no),
 * binds as C's bind-dn with BIND_PASSWORD (NUL-terminated; none when
 * either is NULL), finds USER's one entry by C's user filter (RFC 4515
 * escaped), then binds as that entry with PASSWORD (a simple bind, RFC
 * 4513 §5.1.3). Every wait is bounded by C's timeout. An empty password is
 * refused without asking (it would be an unauthenticated bind, which
 * succeeds). On PAUTH_OK, NAME (NAMELEN bytes) holds the directory's own
 * name for the user (uid, sAMAccountName). WHY (WHYLEN bytes) says what
 * happened, for the log; never shown to the user. Blocks the caller.
 */
enum pauth_result pauth_check(const struct directory_cfg *c,
			      const char *bind_password, const char *user,
			      const char *password, size_t pwlen, char *name,
			      size_t namelen, char *why, size_t whylen);

/*
 * Decodes the value of KEY in the application/x-www-form-urlencoded BODY
 * (BLEN bytes; WHATWG URL "application/x-www-form-urlencoded parsing":
 * '+' is a space, %XX a byte) into OUT (OUTLEN bytes, NUL-terminated) and
 * its length into *LEN. Any byte, NUL included, may come out. Returns 0,
 * -1 when KEY is absent, -2 when the value does not fit or holds a bad
 * %-escape.
 */
int form_value(const char *body, size_t blen, const char *key, char *out,
	       size_t outlen, size_t *len);

#endif
