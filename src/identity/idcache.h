/*
 * idcache.h — the answer cache of the identity sources: ldapdir (user →
 * groups) and nsspool (uid → user and groups). String keys, a time to live
 * and a bound on entries (the least recently used go first). Used from one
 * thread (the event base's); the caller passes the time, in milliseconds of
 * its own clock, so tests can drive it.
 */
#ifndef SLUICE_IDCACHE_H
#define SLUICE_IDCACHE_H

#include <stddef.h>
#include <stdint.h>

/* One cached answer: STATUS 0 (USER may be NULL, GROUPS a NULL-terminated
 * array of NGROUPS names) or an errno value such as ENOENT (no groups). */
struct idanswer {
	int status;
	char *user;
	char **groups;
	size_t ngroups;
};

struct idcache;

/* A cache keeping answers TTL_S seconds (0: keeps nothing), at most MAX. */
struct idcache *idcache_new(uint32_t ttl_s, size_t max);
/* Frees C and every answer in it; NULL is ignored. */
void idcache_free(struct idcache *c);

/* The live answer for KEY, made the most recent, or NULL; an expired one is
 * dropped. The pointer is valid until the next idcache_put or free. */
const struct idanswer *idcache_get(struct idcache *c, const char *key,
				   uint64_t now_ms);

/* Keeps a copy of the answer (STATUS, USER, N GROUPS) for KEY until
 * NOW_MS + TTL, replacing an older one; evicts the least recently used
 * beyond MAX. */
void idcache_put(struct idcache *c, const char *key, uint64_t now_ms,
		 int status, const char *user, char *const *groups, size_t n);

/* Answers held now (expired ones not yet dropped included). */
size_t idcache_size(const struct idcache *c);

#endif
