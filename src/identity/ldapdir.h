/*
 * ldapdir.h — a user's groups from an LDAP directory, asynchronously, on
 * libldap driven by a libevent event_base.
 *
 * Model
 *   ldapdir_groups() asks "which groups is USER in?". A lookup is two
 *   searches under cfg->base on one shared connection:
 *     1. the user:   cfg->user_filter, default LDAPDIR_USER_FILTER; no entry
 *                    → ENOENT (cached like an answer);
 *     2. the groups: cfg->group_filter, default LDAPDIR_GROUP_FILTER; the
 *                    `cn` of every entry found is a group.
 *   In a filter `%s` stands for the user name and `%D` for the DN found by
 *   step 1 (group filter only), both escaped per RFC 4515; `%%` is a `%`.
 *   The default group filter matches both posixGroup (memberUid=name) and
 *   groupOfNames (member=DN) directories.
 *
 *   Requests for a user whose lookup is in flight join it: one lookup on the
 *   wire, its result fanned out to every waiter. Answers (groups, and
 *   ENOENT) are cached for cfg->cache_ttl_s seconds (0 = no cache);
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
 * ldap://ADDRESS[:PORT] with a literal IPv4/IPv6 address (resolving a name
 * could block or itself need a decision), or ldapi://PATH (no mark needed).
 * No TLS yet. The password is read from cfg->password_file (first line) at
 * every connect; no bind_dn = anonymous (no bind at all).
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

#define LDAPDIR_USER_FILTER "(&(|(objectClass=posixAccount)(objectClass=inetOrgPerson))(uid=%s))"
#define LDAPDIR_GROUP_FILTER                                                  \
	"(|(&(objectClass=posixGroup)(memberUid=%s))"                         \
	"(&(objectClass=groupOfNames)(member=%D)))"
#define LDAPDIR_MAX_GROUPS 1024	  /* groups kept per user */
#define LDAPDIR_CACHE_MAX 65536	  /* cached users (LRU beyond) */
#define LDAPDIR_RETRY_MS 500	  /* fail fast this long after a failed connect */
#define LDAPDIR_SUSPECT_TIMEOUTS 3 /* silent timeouts in a row → reconnect */

/*
 * The answer for one user. STATUS is 0 (GROUPS holds N names, valid during
 * the call only), ENOENT (no such user), ETIMEDOUT (no answer by the
 * deadline), EIO (server error, refused, lost connection, bad password) or
 * ECANCELED (ldapdir_free). GROUPS is NULL and N 0 unless STATUS is 0.
 */
typedef void (*groups_cb)(void *arg, int status, const char *const *groups,
			  size_t n);

/*
 * Creates a directory client on BASE with CFG (copied). No I/O happens here:
 * the first request connects. SO_MARK, when non-zero, is set on the socket
 * before connect() (needs CAP_NET_ADMIN; if it cannot be set the connection
 * fails and requests get EIO). Returns NULL with errno EINVAL when the URI is
 * not ldap://literal-address[:port] or ldapi://path, or a filter is bad.
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
};
void ldapdir_stats(const struct ldapdir *l, struct ldapdir_stats *out);

/* ---- helpers, exported for the tests ------------------------------------ */

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
