/*
 * username.h — the one canonical form of a user name.
 *
 * A user name reaches sluice in several spellings: a plain name (`alice`),
 * a Network Access Identifier or Kerberos/UPN form `user@REALM` (RFC 7542
 * §2.2: the realm follows the last `@`), and an Active Directory down-level
 * logon name `DOMAIN\user` (MS-ADTS 3.1.1.1.1 / MS-DTYP: the NetBIOS domain
 * before the `\`). Only the site's OWN realms and domains name the same
 * accounts as the plain name; `alice@partner.example` or `PARTNER\alice` is
 * another organisation's account and stays a different user.
 *
 * Canonical form of NAME under OWN (the site's realms and domains):
 *   1. surrounding white space is dropped;
 *   2. `DOMAIN\rest` (split at the first `\`): when DOMAIN is one of OWN,
 *      the rest goes on; otherwise the whole name is kept as it is;
 *   3. `user@REALM` (split at the last `@`): when REALM is one of OWN, the
 *      user part is kept; otherwise the whole name is kept as it is;
 *   4. ASCII letters compare without case; other bytes (UTF-8) exactly.
 * An empty DOMAIN, REALM or user part (`@`, `\`, `alice@`, `CORP\`) is no
 * name at all: it equals nothing and is never looked up; so is a name
 * whose canonical form would change if canonicalised again
 * (`carol@CORP@CORP`, `CORP\CORP\carol`): the canonical form of a
 * canonical form is itself, so a name canonicalised twice (by the portal,
 * then by sluiced) is never a third account.
 * OWN's entries compare ignoring ASCII case, and each one stands for both
 * positions (`CORP.EXAMPLE` strips `@CORP.EXAMPLE` and `CORP.EXAMPLE\`).
 * With no own realms every name with a realm or domain stays whole, so it
 * never matches a plain name (fail closed).
 */
#ifndef SLUICE_USERNAME_H
#define SLUICE_USERNAME_H

#include <stdbool.h>
#include <stddef.h>

/* The site's own Kerberos/NAI realms and NetBIOS domains. Zero-initialised
 * means none. */
struct own_realms {
	char **v;
	size_t n;
};

/*
 * The canonical part of NAME under OWN (NULL: none), as a span of NAME:
 * returns where it starts and its length in *LEN; *LEN 0 means NAME is no
 * usable name. Compare spans with ASCII case folded. Never allocates.
 */
const char *user_name_span(const struct own_realms *own, const char *name,
			   size_t *len);

/* A and B are one user under OWN: both have a canonical part and the parts
 * are equal ignoring ASCII case. NULL names equal nothing. */
bool user_name_equal(const struct own_realms *own, const char *a,
		     const char *b);

/* The canonical form of NAME under OWN in ASCII lower case: a new string
 * (caller frees), or NULL when NAME is no usable name (or NULL). */
char *user_name_canon(const struct own_realms *own, const char *name);

/*
 * The folded form of NAME under OWN (NULL: none): NAME prepared as an LDAP
 * server prepares a caseIgnoreMatch assertion (RFC 4518 §2, as slapd
 * matches `uid`): controls, soft hyphens, joiners and variation
 * selectors dropped, every space separator made U+0020, case folded and
 * NFKC-normalised (libunistring u8_casefold), no space at either end and
 * one for each inner run; then made canonical as user_name_canon does,
 * OWN's entries compared prepared too. So `ｎagios` (fullwidth), `nagios`
 * followed by a no-break space, `NAGIOS＠CORP` and `nagios` fold alike.
 * A new string (caller frees), or NULL when NAME is NULL, not UTF-8,
 * holds a prohibited code point (unassigned, private use, a
 * non-character, U+FFFD) or is no name.
 *
 * The folded form may join names a directory keeps apart (NFKC
 * compatibility forms, such as ligatures, which Active Directory does not
 * fold): use it only where taking two names for one is the safe side
 * (a login ignored, a throttle shared), never to grant anything.
 */
char *user_name_fold(const struct own_realms *own, const char *name);

/* NAME is one of LIST[N] under OWN: user_name_equal to an entry, or of the
 * same folded form (user_name_fold) as one: what `identity {
 * ignore-users }` compares, so no spelling a directory folds to a listed
 * account escapes the list. Printable ASCII names compare without
 * allocating. */
bool user_name_listed(const struct own_realms *own, char *const *list,
		      size_t n, const char *name);

/* REALM (LEN bytes) is one of OWN's entries, ignoring ASCII case. */
bool own_realm_has(const struct own_realms *own, const char *realm,
		   size_t len);

/* Appends a copy of REALM to OWN unless it is there already (ASCII case
 * folded) or empty. */
void own_realms_add(struct own_realms *own, const char *realm, size_t len);

/* Makes DST a copy of SRC (SRC may be NULL: none); DST's old entries are
 * freed. */
void own_realms_copy(struct own_realms *dst, const struct own_realms *src);

/* The same entries in the same order, ignoring ASCII case. */
bool own_realms_equal(const struct own_realms *a, const struct own_realms *b);

/* Frees OWN's entries and leaves it empty. */
void own_realms_free(struct own_realms *own);

#endif
