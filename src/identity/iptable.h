/*
 * iptable.h — remote clients' identities: address → user (and groups),
 * with expiry, fed through the control socket (`sluicectl identity add`) by
 * a login portal, RADIUS accounting or a DHCP hook. Thread-safe (rwlock):
 * queue workers read, the control thread writes.
 */
#ifndef SLUICE_IPTABLE_H
#define SLUICE_IPTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct iptable;

struct identity {
	char *user;
	char **groups; /* NULL-terminated; may be empty */
	size_t ngroups;
	time_t expires;
};

struct iptable *iptable_new(void);
void iptable_free(struct iptable *t);
/* Sets ADDR (16 bytes; IPv4 as ::ffff:a.b.c.d) to USER with GROUPS for TTL
 * seconds, replacing any entry. */
void iptable_set(struct iptable *t, int family, const uint8_t *addr,
		 const char *user, const char *const *groups, size_t ngroups,
		 uint32_t ttl_s);
/* Removes ADDR; returns false when it had no entry. */
bool iptable_del(struct iptable *t, int family, const uint8_t *addr);
/* Copies the live entry of ADDR into OUT (caller frees with
 * identity_clear); false when none or expired. */
bool iptable_get(struct iptable *t, int family, const uint8_t *addr,
		 struct identity *out);
/* Calls FN with the live entry of ADDR, or with NULL when there is none,
 * under the read lock (FN must not call back into T nor keep ID's
 * pointers); returns FN's result. Copies nothing: the queue workers'
 * fast path. */
int iptable_with(struct iptable *t, int family, const uint8_t *addr,
		 int (*fn)(void *arg, const struct identity *id), void *arg);
void identity_clear(struct identity *id);
/* Calls FN for each live entry (read-locked; FN must not call back). */
void iptable_each(struct iptable *t,
		  void (*fn)(void *arg, int family, const uint8_t *addr,
			     const struct identity *id),
		  void *arg);
/* Drops expired entries; returns how many. */
size_t iptable_expire(struct iptable *t);
size_t iptable_count(struct iptable *t);

#endif
