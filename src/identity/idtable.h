/*
 * idtable.h — remote clients' identities: address → user (and groups),
 * each entry with the source that taught it (manual, api, radius, portal),
 * when it was learned, when it was last confirmed (idle time) and when it
 * expires. Fed by `sluicectl identity add`, RADIUS accounting (radius.h),
 * the push API and a login portal; kept across restarts by idtable_save /
 * idtable_load. Thread-safe (rwlock): queue workers read, the main thread
 * writes.
 */
#ifndef SLUICE_IDTABLE_H
#define SLUICE_IDTABLE_H

#include "common/username.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct idtable;

/* Where an entry came from. The names (id_source_name) are what
 * `sluicectl identity` shows and the state file keeps. */
enum id_source { IDS_MANUAL, IDS_API, IDS_RADIUS, IDS_PORTAL, IDS_COUNT };

struct identity {
	char *user;
	char **groups; /* NULL-terminated; may be empty */
	size_t ngroups;
	time_t expires; /* gone at this time (seconds since the epoch) */
	time_t learned; /* this user at this address from this source since */
	time_t seen;	/* last login or refresh: idle = now - seen */
	enum id_source source;
};

/* Per-source counters (docs/counters.md, "Identity sources"). */
struct id_source_stats {
	uint64_t logins;   /* logins accepted (new, refreshed or replacing) */
	uint64_t logouts;  /* entries removed by a logout of this source */
	uint64_t replaced; /* logins that replaced another user or source */
	uint64_t ignored;  /* logins of an ignore-listed user, not recorded */
	uint64_t rejected_secret;    /* bad authenticator / shared secret */
	uint64_t rejected_client;    /* from an address not a client */
	uint64_t rejected_malformed; /* not a well-formed request */
	uint64_t replayed; /* RADIUS: seen before (answered, not applied) or
			    * an Event-Timestamp out of its window */
	uint64_t rejected_full; /* logins refused: IDTABLE_LOGINS_MAX held */
	uint64_t entries;	     /* entries of this source now (a gauge) */
};

enum id_reject { IDR_SECRET, IDR_CLIENT, IDR_MALFORMED, IDR_REPLAY };

/* What idtable_login did. */
enum login_result { LOGIN_NEW, LOGIN_REFRESHED, LOGIN_REPLACED,
		    LOGIN_IGNORED, LOGIN_FULL };

/* Entries the logins (RADIUS, the push API, the portal, the control
 * socket) may fill: past it the login of an address or prefix the table
 * does not hold is refused (LOGIN_FULL, counted rejected_full, logged at
 * most once a minute), so a source flooding logins cannot grow sluiced
 * without bound; refreshes and replacements of entries held go on.
 * Manual entries (identity add) and the state file read back are not
 * held to it. */
#define IDTABLE_LOGINS_MAX 262144u

/* One login: ADDR is 16 bytes (IPv4 in the first 4). With PLEN shorter
 * than the address, the entry stands for the prefix ADDR/PLEN (a VPN pool,
 * a DHCP scope): an address without an entry of its own is known by the
 * longest prefix that holds it. */
struct id_login {
	int family; /* AF_INET or AF_INET6 */
	const uint8_t *addr;
	const char *user;
	const char *const *groups;
	size_t ngroups;
	uint32_t ttl_s; /* lifetime from now, seconds (> 0) */
	enum id_source source;
	uint8_t plen; /* prefix length; 0 (or 32 / 128): the address alone */
};

/* "manual", "api", "radius", "portal". */
const char *id_source_name(enum id_source s);
/* The source named NAME; -1 when none. */
int id_source_parse(const char *name);

struct idtable *idtable_new(void);
void idtable_free(struct idtable *t);

/*
 * Sets the ignore list: users (service accounts: backups, monitoring)
 * whose logins are never recorded, so they never replace the person
 * working at an address; and OWN, the site's own realms and domains
 * (NULL: none), under which the table compares user names
 * (common/username.h: the ignore list, a refresh, a logout's user). NAMES
 * and OWN are copied; replaces the previous list and realms.
 */
void idtable_set_ignore(struct idtable *t, const char *const *names,
			size_t n, const struct own_realms *own);

/*
 * Records L. The same user from the same source refreshes the entry
 * (learned kept; seen, expiry and groups renewed); another user or another
 * source replaces it (logged at info: who replaces whom); a user on the
 * ignore list changes nothing (counted as ignored); a new entry past
 * IDTABLE_LOGINS_MAX is refused (LOGIN_FULL). Returns what happened.
 */
enum login_result idtable_login(struct idtable *t, const struct id_login *l);

/*
 * Ends the entry of ADDR for SOURCE: removed when it exists and, if USER
 * is not NULL, belongs to USER (a late Stop of an earlier user does not
 * log out the newer one). Counted as a logout of SOURCE when removed.
 * Returns true when removed.
 */
bool idtable_logout(struct idtable *t, int family, const uint8_t *addr,
		    const char *user, enum id_source source);
/* The same for the prefix ADDR/PLEN (an entry made with that PLEN). */
bool idtable_logout_prefix(struct idtable *t, int family, const uint8_t *addr,
			   unsigned plen, const char *user,
			   enum id_source source);

/* Counts one rejected request of SOURCE. */
void idtable_reject(struct idtable *t, enum id_source source,
		    enum id_reject why);

/* Copies the counters of every source into OUT[IDS_COUNT]. */
void idtable_source_stats(struct idtable *t, struct id_source_stats *out);

/* A manual login (idtable_login with source manual). */
void idtable_set(struct idtable *t, int family, const uint8_t *addr,
		 const char *user, const char *const *groups, size_t ngroups,
		 uint32_t ttl_s);
/* Removes ADDR whatever its source (counted as a manual logout); returns
 * false when it had no entry. */
bool idtable_del(struct idtable *t, int family, const uint8_t *addr);
/* Copies the live entry of ADDR (its own, else the longest live prefix
 * holding it) into OUT (caller frees with identity_clear); false when
 * none. */
bool idtable_get(struct idtable *t, int family, const uint8_t *addr,
		 struct identity *out);
/* Calls FN with the live entry of ADDR, or with NULL when there is none,
 * under the read lock (FN must not call back into T nor keep ID's
 * pointers); returns FN's result. Copies nothing: the queue workers'
 * fast path. */
int idtable_with(struct idtable *t, int family, const uint8_t *addr,
		 int (*fn)(void *arg, const struct identity *id), void *arg);
void identity_clear(struct identity *id);
/* Calls FN for each live entry (read-locked; FN must not call back); PLEN
 * is the address's full length for an address entry. */
void idtable_each(struct idtable *t,
		  void (*fn)(void *arg, int family, const uint8_t *addr,
			     unsigned plen, const struct identity *id),
		  void *arg);
/* Drops expired entries; returns how many. */
size_t idtable_expire(struct idtable *t);
size_t idtable_count(struct idtable *t);
/* A number that changes whenever the entries do (for saving only when
 * something changed). */
uint64_t idtable_version(struct idtable *t);
/* A number that grows whenever an entry goes (logout, replacement by
 * another user or source, expiry): sessions allowed for it may need
 * revoking. */
uint64_t idtable_removed(struct idtable *t);

/* The widest prefix one login may name: an IPv4 /8, an IPv6 /32 (a
 * provider's whole allocation); a wider one would make a good part of
 * the Internet one user. The push API, the control socket and RADIUS
 * (radius.h RADIUS_V6_PLEN_MIN) refuse wider ones. */
#define IDTABLE_LOGIN_PLEN_MIN4 8
#define IDTABLE_LOGIN_PLEN_MIN6 32

/* Reads "ADDR" or "ADDR/LEN" (no host bits past LEN) into ADDR (16
 * bytes) and *PLEN (the full length for an address alone); returns
 * AF_INET or AF_INET6, or -1 when TEXT is neither. */
int idtable_parse_prefix(const char *text, uint8_t addr[16], unsigned *plen);

/*
 * The live entries as a JSON document (to free) for a state file:
 * {"version": 1, "entries": [{"address", "user", "groups", "source",
 * "learned", "seen", "expires"}, ...]}. Times are seconds since the epoch.
 */
char *idtable_save(struct idtable *t, size_t *len);

/*
 * The same in two steps, so that the table's lock is held only for a copy:
 * idtable_snapshot() copies the entries live at NOW (seconds since the
 * epoch) under the read lock (one array and one string arena: about 50 ms
 * for 262,144 entries, where idtable_save() held it about 1 s),
 * idtable_snapshot_save() makes idtable_save()'s text of it with no lock
 * and may run on another thread; the snapshot is the caller's to free with
 * idtable_snapshot_free() (NULL is fine). Never NULL: out of memory is
 * fatal, as for every allocation here.
 */
struct idtable_snapshot;
struct idtable_snapshot *idtable_snapshot(struct idtable *t, time_t now);
char *idtable_snapshot_save(const struct idtable_snapshot *sn, size_t *len);
void idtable_snapshot_free(struct idtable_snapshot *sn);
/* How many entries SN holds. */
size_t idtable_snapshot_count(const struct idtable_snapshot *sn);
/* Calls FN, as idtable_each does, for SN's entries FROM .. FROM+N-1 (no
 * further than its end); returns the index after the last one called.
 * ID's strings are SN's: FN must not change or keep them. Takes no lock
 * (a control answer made in parts walks a snapshot, control.h). */
size_t idtable_snapshot_each(const struct idtable_snapshot *sn, size_t from,
			     size_t n,
			     void (*fn)(void *arg, int family,
					const uint8_t *addr, unsigned plen,
					const struct identity *id),
			     void *arg);

/*
 * Adds the entries of TEXT (LEN bytes, as idtable_save wrote) that have
 * not expired by NOW, keeping their source and times (the counters are
 * not touched). Entries that do not read right (bad address, user, times,
 * source) are skipped. Returns how many were added, or -1 when TEXT is not
 * such a document at all.
 */
long idtable_load(struct idtable *t, const char *text, size_t len,
		  time_t now);

#endif
