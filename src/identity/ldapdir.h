/*
 * ldapdir.h — a user's groups from an LDAP directory, asynchronously, on
 * libldap driven by a libevent event_base.
 *
 * Model
 *   ldapdir_groups() asks "which groups is USER in?". USER is first made
 *   canonical (ldapdir_user_key: common/username.h under the site's own
 *   realms, ldapdir_set_realms; lower case), so every spelling of one
 *   account shares one lookup and one answer, and a name in another realm
 *   or domain (`carol@guest.example`, `PARTNER\carol`) is looked up whole,
 *   never as the local `carol`. A lookup is two searches under
 *   cfg->base on one shared connection:
 *     1. the user:   cfg->user_filter, or the schema's; no entry → ENOENT
 *                    (cached like an answer), two entries → EIO (ambiguous).
 *                    The entry gives the directory's own name for the user
 *                    (uid, sAMAccountName: what rules and logs see), its DN
 *                    and its primary group (gidNumber; objectSid +
 *                    primaryGroupID);
 *     2. the groups: cfg->group_filter, or the schema's, OR the primary
 *                    group (posixGroup with that gidNumber; the group whose
 *                    objectSid is the user's domain SID + primaryGroupID);
 *                    the `cn` of every entry found is a group. When the
 *                    policy names groups (ldapdir_set_groups), only those
 *                    are asked about (`(|(cn=a)(cn=b)...)` ANDed), so the
 *                    answer is complete whatever the server's size limit,
 *                    and each is reported in the policy's spelling.
 *   Searches use paged results (RFC 2696, LDAPDIR_PAGE_SIZE a page, not
 *   critical). In a filter `%s` stands for the user name (the directory's
 *   own name in step 2) and `%D` for the DN found by step 1 (group filter
 *   only), both escaped per RFC 4515; `%%` is a `%`.
 *
 *   Schemas (cfg->schema):
 *     rfc2307  users (|(posixAccount)(inetOrgPerson)) by uid; groups
 *              posixGroup by memberUid, groupOfNames by member (DN), and the
 *              primary posixGroup by gidNumber;
 *     ad       users (objectClass=user) by sAMAccountName; groups by member
 *              through LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941:
 *              nested groups), and the primary group by objectSid; its DN
 *              is looked up first (step 1b) so that the groups nesting the
 *              primary group count too.
 *
 *   Multi-valued membership attributes (`member`, `memberOf`, `memberUid`)
 *   are never read: the server evaluates them in the group filter and
 *   each group found is one entry whose single-valued `cn` is read, so
 *   Active Directory's MaxValRange (`member;range=0-1499`) cannot cut an
 *   answer, and paging (below) covers the number of groups.
 *
 *   Complete or unknown: an answer that may lack groups — the server's
 *   size or administrative limit hit, a referral (search reference) not
 *   followed, more than LDAPDIR_MAX_GROUPS groups — is never used as the
 *   list of the user's groups: the waiters get EOVERFLOW (the user is
 *   known, the groups are not; the decision's deadline and on-deadline
 *   settle rules that need them). It is logged and counted (incomplete).
 *
 *   Requests for a user whose lookup is in flight join it: one lookup on the
 *   wire, its result fanned out to every waiter. Answers (groups, ENOENT,
 *   EOVERFLOW) are cached for cfg->cache_ttl_s seconds (0 = no cache);
 *   ETIMEDOUT and EIO never are.
 *
 * Nothing here blocks (seeds/003: ISA's threads hung in LookupAccountName
 * when the domain controller stopped answering). The connection is made by
 * sluice itself: a non-blocking socket that carries SO_MARK so_mark BEFORE
 * connect(), so even the SYN is exempt from the gateway's queue rules
 * (libldap's LDAP_OPT_CONNECT_CB runs only after connect() has sent the SYN,
 * and its connect path calls getaddrinfo(), which may block); the
 * connected socket is handed to libldap with ldap_init_fd(). Binds and
 * searches are libldap's asynchronous calls; results are read with
 * ldap_result() and a zero timeout when a libevent read event says the socket
 * is readable. Every lookup has a deadline of cfg->timeout_ms (a libevent
 * timer, from the request that started it, connection set-up included):
 * at the deadline its searches are abandoned (ldap_abandon_ext) and every
 * waiter gets ETIMEDOUT. Referrals are never chased (libldap would connect
 * by itself, blocking and unmarked).
 *
 * Connection: opened on demand, kept open. Connect + bind must finish within
 * timeout_ms. A lost connection (server died, restarted) fails the lookups
 * on it with EIO and the next request reconnects; after a failed attempt
 * requests fail at once with EIO for LDAPDIR_RETRY_MS (no pile-up against a
 * dead server). LDAPDIR_SUSPECT_TIMEOUTS lookups in a row timing out on a
 * connection that read nothing meanwhile drop it (a silent peer). The URI is
 * checked by directory_uri_problem() (the same check `sluicectl check`
 * makes). TLS: ldaps:// (TLS from the first byte) or cfg->starttls on
 * ldap://, the server's certificate verified against cfg->tls_ca (the
 * system's CAs by default) unless cfg->tls_verify is off; libldap checks
 * that it names the address of the URI. libldap's handshake waits on the
 * socket, so it runs on a short-lived thread of its own (the event loop
 * never waits; the connect deadline covers it, and an abandoned handshake
 * ends by itself within timeout_ms). The password is read from
 * cfg->password_file (first line) at
 * every connect, and refused when the file is readable by others; no
 * bind_dn = anonymous (no bind at all). With cfg->keytab the bind is SASL
 * GSSAPI as cfg->principal (gssbind.h: a ticket from the keytab in a
 * credential cache private to this client, renewed before it ends or when
 * a bind with it fails), the server named cfg->kerberos_host (its service
 * principal ldap/HOST), over plain ldap:// signed or sealed by GSSAPI; it
 * runs on the handshake's thread (the KDC and the server are waited for),
 * and the keytab is refused at every connect when readable by others. A
 * failed bind fails the lookups with EIO.
 *
 * Threads: none. An ldapdir belongs to the thread running its event_base;
 * every call, and every callback, happens on that thread. Callbacks may call
 * ldapdir_groups() and ldapdir_cancel() but never ldapdir_free().
 */
#ifndef SLUICE_LDAPDIR_H
#define SLUICE_LDAPDIR_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct event_base;
struct ldapdir;

/* RFC 2307 (cfg->schema rfc2307, the default) */
#define LDAPDIR_USER_FILTER "(&(|(objectClass=posixAccount)(objectClass=inetOrgPerson))(uid=%s))"
#define LDAPDIR_GROUP_FILTER                                                  \
	"(|(&(objectClass=posixGroup)(memberUid=%s))"                         \
	"(&(objectClass=groupOfNames)(member=%D)))"
/* Active Directory (cfg->schema ad) */
#define LDAPDIR_AD_USER_FILTER "(&(objectClass=user)(sAMAccountName=%s))"
#define LDAPDIR_AD_GROUP_FILTER                                               \
	"(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=%D))"
#define LDAPDIR_MAX_GROUPS 1024	  /* more groups: the answer is incomplete */
#define LDAPDIR_MAX_NAMED 256	  /* policy groups asked by name, at most */
#define LDAPDIR_PAGE_SIZE 500	  /* entries a page (RFC 2696) */
#define LDAPDIR_USER_MAX 1024	  /* longest user name looked up */
#define LDAPDIR_CACHE_MAX 65536	  /* cached users (LRU beyond) */
#define LDAPDIR_RETRY_MS 500	  /* fail fast this long after a failed connect */
#define LDAPDIR_SUSPECT_TIMEOUTS 3 /* silent timeouts in a row → reconnect */

/*
 * The answer for one user. STATUS is 0 (USER is the directory's own name
 * for the entry, GROUPS holds N names; valid during the call only),
 * EOVERFLOW (USER as for 0, the groups are unknown: the answer was
 * incomplete), ENOENT (no such user), ETIMEDOUT (no answer by the
 * deadline), EIO (server error, refused, lost connection, bad password,
 * ambiguous user) or ECANCELED (ldapdir_free). USER is NULL unless STATUS
 * is 0 or EOVERFLOW; GROUPS is NULL and N 0 unless STATUS is 0.
 */
typedef void (*groups_cb)(void *arg, int status, const char *user,
			  const char *const *groups, size_t n);

/*
 * Creates a directory client on BASE with CFG (copied). No I/O happens here:
 * the first request connects. SO_MARK, when non-zero, is set on the socket
 * before connect() (needs CAP_NET_ADMIN; if it cannot be set the connection
 * fails and requests get EIO). Returns NULL with errno EINVAL when the URI is
 * not ldap://literal-address[:port] or ldapi://path, a filter is bad, or a
 * keytab is given without principal and kerberos_host, or with a URI other
 * than plain ldap:// (ldaps://, starttls, ldapi://).
 */
struct ldapdir *ldapdir_new(struct event_base *base,
			    const struct directory_cfg *cfg, uint32_t so_mark);

/* Closes the connection; each pending callback runs once with ECANCELED
 * (those callbacks must not call into L). NULL is a no-op. */
void ldapdir_free(struct ldapdir *l);

/*
 * Asks for USER's groups. A cached answer calls CB before returning, and so
 * does EIO when the server is known down (fail fast) or the connect fails
 * at once. Otherwise CB runs exactly once later, on the base's thread, unless
 * ldapdir_cancel() removes it first. Returns 0, or -1 with errno EINVAL
 * (empty or over-long USER) or ESHUTDOWN (called while freeing); CB is not
 * called when -1 is returned.
 */
int ldapdir_groups(struct ldapdir *l, const char *user, groups_cb cb,
		   void *arg);

/*
 * The site's own realms and domains (copied; NULL: none), under which user
 * names are made lookup keys (ldapdir_user_key). A change drops the cached
 * answers and returns true (copies of answers kept elsewhere must go too).
 * The default is none: a name with a realm or domain is looked up whole.
 */
bool ldapdir_set_realms(struct ldapdir *l, const struct own_realms *own);

/*
 * The groups the policy names (copied): lookups ask only about them, so an
 * answer is complete for every rule whatever the directory's limits, and
 * each group comes back spelled as the policy spells it. NAMES NULL (the
 * default) asks for every group; N 0 with NAMES non-NULL asks for none (no
 * group search). More than LDAPDIR_MAX_NAMED: every group. A change drops
 * the cached answers, and a lookup whose group search is on the wire asks
 * again about the new groups (the old search's answer is never used).
 */
void ldapdir_set_groups(struct ldapdir *l, const char *const *names,
			size_t n);

/* Removes every pending request of (CB, ARG): its callback will not run.
 * The lookup itself goes on (its answer is cached). */
void ldapdir_cancel(struct ldapdir *l, groups_cb cb, void *arg);

struct ldapdir_stats {
	uint64_t searches;   /* lookups sent to the directory */
	uint64_t shared;     /* requests that joined a lookup in flight */
	uint64_t cache_hits; /* requests answered from the cache */
	uint64_t timeouts;   /* lookups that hit their deadline */
	uint64_t errors;     /* lookups that failed with EIO */
	uint64_t in_flight;  /* lookups now in flight (gauge) */
	uint64_t reconnects; /* connections opened after the first */
	uint64_t incomplete; /* answers that could lack groups (EOVERFLOW) */
};
void ldapdir_stats(const struct ldapdir *l, struct ldapdir_stats *out);

/* ---- helpers, exported for the tests ------------------------------------ */

/*
 * The key a lookup of USER searches and caches by: user_name_canon() under
 * OWN (common/username.h: an own realm or domain dropped, another kept,
 * ASCII lower case). Returns a new string, or NULL when USER is no name.
 */
char *ldapdir_user_key(const struct own_realms *own, const char *user);

/*
 * The filter value of the SID of the primary group: the user's objectSid
 * SID (LEN bytes, binary) with its last sub-authority replaced by RID,
 * every byte escaped as \xx (RFC 4515). Returns a new string, or NULL when
 * SID is not a well-formed SID.
 */
char *ldapdir_primary_sid(const unsigned char *sid, size_t len, uint32_t rid);

/*
 * Escapes VALUE for use in a filter (RFC 4515: `*`, `(`, `)`, `\` and NUL
 * become \2a, \28, \29, \5c, \00; other bytes pass). Returns a new string.
 */
char *ldapdir_escape(const char *value);

/*
 * Expands FILTER: `%s` → escaped USER, `%D` → escaped DN (NULL = empty),
 * `%%` → `%`. Returns a new string, or NULL with errno EINVAL for any other
 * `%` sequence or a filter not in parentheses.
 */
char *ldapdir_filter(const char *filter, const char *user, const char *dn);

/* Replaces the clock used for cache expiry (monotonic milliseconds); NULL
 * restores the real one. For tests. */
void ldapdir_set_clock(struct ldapdir *l, uint64_t (*now_ms)(void *arg),
		       void *arg);

#endif
