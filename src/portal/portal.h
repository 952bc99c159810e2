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
#include <time.h>

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

/*
 * The password-guessing throttle (guard.c; docs/sluice-portal.8.md, BAD
 * INPUT). Refused sign-ins are counted in windows of GUARD_WINDOW_S from
 * the first, by three keys: the client's address, its source prefix (the
 * address cut to decisions { per-source-prefix-v4/v6 }: an IPv6 host may
 * use every address of its /64), and the user name tried (lower-cased).
 * A sign-in is not tried (429) when its address had GUARD_ADDR_MAX
 * refusals in its window, its prefix GUARD_PREFIX_MAX, or the user name
 * GUARD_USER_MAX with the last under GUARD_USER_BACKOFF_S ago and the
 * address has refusals of its own (a short backoff, never for a client
 * without refusals: guessing at a name cannot lock its owner out for
 * longer than the owner's own refusals last). GUARD_TRACKED keys are
 * remembered, the oldest forgotten first.
 */
#define GUARD_WINDOW_S 60
#define GUARD_ADDR_MAX 5
#define GUARD_PREFIX_MAX 20
#define GUARD_USER_MAX 10
#define GUARD_USER_BACKOFF_S 5
#define GUARD_TRACKED 8192
#define GUARD_KEY_MAX 264 /* "u " and a user name of 256 bytes */

struct sockaddr;
struct guard;

/* The keys of one sign-in. */
struct guard_keys {
	char addr[GUARD_KEY_MAX], prefix[GUARD_KEY_MAX], user[GUARD_KEY_MAX];
};
enum guard_verdict { GUARD_OK, GUARD_ADDR, GUARD_PREFIX, GUARD_USER };

/* A new throttle, remembering nothing; free with guard_free (NULL fine). */
struct guard *guard_new(void);
void guard_free(struct guard *g);
/* The keys of a sign-in of USER from SA (AF_INET or AF_INET6; an
 * IPv4-mapped address counts as IPv4) with the prefix lengths PLEN4 and
 * PLEN6 (out of range: the whole address) into K; 0, or -1 for another
 * family. A user name longer than the key is cut. */
int guard_keys(struct guard_keys *k, const struct sockaddr *sa,
	       unsigned plen4, unsigned plen6, const char *user);
/* Whether the sign-in of K may be tried at NOW (monotonic seconds):
 * GUARD_OK, or which limit holds it back. */
enum guard_verdict guard_check(struct guard *g, const struct guard_keys *k,
			       time_t now);
/* The directory refused the sign-in of K at NOW: counted on its three
 * keys. */
void guard_refused(struct guard *g, const struct guard_keys *k, time_t now);
/* K signed in: its address's and user name's refusals are forgotten (not
 * its prefix's: an account of one's own must not reset the subnet's). */
void guard_signed_in(struct guard *g, const struct guard_keys *k, time_t now);

#endif
