/* iptable.c — see iptable.h. A chained hash table under a rwlock. */
#include "identity/iptable.h"
#include "common/hash.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NBUCKETS 4096

struct ipentry {
	int family;
	uint8_t addr[16];
	struct identity id;
	struct ipentry *next;
};

struct iptable {
	pthread_rwlock_t lock;
	struct ipentry *b[NBUCKETS];
	size_t n;
};

static size_t bucket(int family, const uint8_t *addr)
{
	uint8_t k[17] = {(uint8_t)family};
	memcpy(k + 1, addr, family == AF_INET ? 4 : 16);
	return hash_bytes(k, sizeof(k)) % NBUCKETS;
}

static bool same(const struct ipentry *e, int family, const uint8_t *addr)
{
	return e->family == family &&
	       memcmp(e->addr, addr, family == AF_INET ? 4 : 16) == 0;
}

struct iptable *iptable_new(void)
{
	struct iptable *t = xcalloc(1, sizeof(*t));
	pthread_rwlock_init(&t->lock, NULL);
	return t;
}

void identity_clear(struct identity *id)
{
	free(id->user);
	for (size_t i = 0; i < id->ngroups; i++)
		free(id->groups[i]);
	free(id->groups);
	memset(id, 0, sizeof(*id));
}

/* Deep copy of SRC into DST. */
static void identity_copy(struct identity *dst, const struct identity *src)
{
	dst->user = xstrdup(src->user);
	dst->ngroups = src->ngroups;
	dst->groups = xcalloc(src->ngroups + 1, sizeof(char *));
	for (size_t i = 0; i < src->ngroups; i++)
		dst->groups[i] = xstrdup(src->groups[i]);
	dst->expires = src->expires;
}

void iptable_free(struct iptable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct ipentry *e = t->b[i], *nx; e; e = nx) {
			nx = e->next;
			identity_clear(&e->id);
			free(e);
		}
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

void iptable_set(struct iptable *t, int family, const uint8_t *addr,
		 const char *user, const char *const *groups, size_t ngroups,
		 uint32_t ttl_s)
{
	struct identity id = {.user = (char *)user,
			      .groups = (char **)groups,
			      .ngroups = ngroups,
			      .expires = time(NULL) + ttl_s};
	struct ipentry *ne = xcalloc(1, sizeof(*ne));
	ne->family = family;
	memcpy(ne->addr, addr, family == AF_INET ? 4 : 16);
	identity_copy(&ne->id, &id);
	size_t h = bucket(family, addr);
	pthread_rwlock_wrlock(&t->lock);
	for (struct ipentry **pp = &t->b[h]; *pp; pp = &(*pp)->next)
		if (same(*pp, family, addr)) {
			struct ipentry *old = *pp;
			*pp = old->next;
			identity_clear(&old->id);
			free(old);
			t->n--;
			break;
		}
	ne->next = t->b[h];
	t->b[h] = ne;
	t->n++;
	pthread_rwlock_unlock(&t->lock);
}

bool iptable_del(struct iptable *t, int family, const uint8_t *addr)
{
	bool found = false;
	size_t h = bucket(family, addr);
	pthread_rwlock_wrlock(&t->lock);
	for (struct ipentry **pp = &t->b[h]; *pp; pp = &(*pp)->next)
		if (same(*pp, family, addr)) {
			struct ipentry *old = *pp;
			*pp = old->next;
			identity_clear(&old->id);
			free(old);
			t->n--;
			found = true;
			break;
		}
	pthread_rwlock_unlock(&t->lock);
	return found;
}

bool iptable_get(struct iptable *t, int family, const uint8_t *addr,
		 struct identity *out)
{
	bool found = false;
	time_t now = time(NULL);
	pthread_rwlock_rdlock(&t->lock);
	for (struct ipentry *e = t->b[bucket(family, addr)]; e; e = e->next)
		if (same(e, family, addr) && e->id.expires > now) {
			identity_copy(out, &e->id);
			found = true;
			break;
		}
	pthread_rwlock_unlock(&t->lock);
	return found;
}

int iptable_with(struct iptable *t, int family, const uint8_t *addr,
		 int (*fn)(void *arg, const struct identity *id), void *arg)
{
	const struct identity *found = NULL;
	time_t now = time(NULL);
	pthread_rwlock_rdlock(&t->lock);
	for (struct ipentry *e = t->b[bucket(family, addr)]; e; e = e->next)
		if (same(e, family, addr) && e->id.expires > now) {
			found = &e->id;
			break;
		}
	int r = fn(arg, found);
	pthread_rwlock_unlock(&t->lock);
	return r;
}

void iptable_each(struct iptable *t,
		  void (*fn)(void *arg, int family, const uint8_t *addr,
			     const struct identity *id),
		  void *arg)
{
	time_t now = time(NULL);
	pthread_rwlock_rdlock(&t->lock);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct ipentry *e = t->b[i]; e; e = e->next)
			if (e->id.expires > now)
				fn(arg, e->family, e->addr, &e->id);
	pthread_rwlock_unlock(&t->lock);
}

size_t iptable_expire(struct iptable *t)
{
	size_t n = 0;
	time_t now = time(NULL);
	pthread_rwlock_wrlock(&t->lock);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct ipentry **pp = &t->b[i]; *pp;) {
			if ((*pp)->id.expires <= now) {
				struct ipentry *old = *pp;
				*pp = old->next;
				identity_clear(&old->id);
				free(old);
				t->n--;
				n++;
			} else {
				pp = &(*pp)->next;
			}
		}
	pthread_rwlock_unlock(&t->lock);
	return n;
}

size_t iptable_count(struct iptable *t)
{
	pthread_rwlock_rdlock(&t->lock);
	size_t n = t->n;
	pthread_rwlock_unlock(&t->lock);
	return n;
}
