/* idcache.c — see idcache.h. A chained hash (common/hash.h, keyed per
 * process) and the LRU list of common/lru.h through the same entries. */
#include "identity/idcache.h"
#include "common/hash.h"
#include "common/lru.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096

struct centry {
	char *key;
	struct idanswer a;
	uint64_t expires_ms;
	struct centry *hnext;	     /* hash chain */
	struct lru_node lru;
};

struct idcache {
	uint32_t ttl_s;
	size_t max, n;
	struct centry *bucket[BUCKETS];
	struct lru lru; /* common/lru.h */
};

static size_t bucket_of(const char *s)
{
	return hash_str(s) % BUCKETS;
}

/* The entry of lru node N, or NULL. */
static struct centry *entry_of(struct lru_node *n)
{
	return n ? LRU_ENTRY(n, struct centry, lru) : NULL;
}

/* Unhooks E from its chain and the LRU list and frees it. */
static void remove_entry(struct idcache *c, struct centry *e)
{
	struct centry **pp = &c->bucket[bucket_of(e->key)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_del(&c->lru, &e->lru);
	free(e->key);
	free(e->a.user);
	for (size_t i = 0; i < e->a.ngroups; i++)
		free(e->a.groups[i]);
	free(e->a.groups);
	free(e);
	c->n--;
}

static struct centry *find(const struct idcache *c, const char *key)
{
	struct centry *e = c->bucket[bucket_of(key)];
	while (e && strcmp(e->key, key) != 0)
		e = e->hnext;
	return e;
}

struct idcache *idcache_new(uint32_t ttl_s, size_t max)
{
	struct idcache *c = xcalloc(1, sizeof(*c));
	c->ttl_s = ttl_s;
	c->max = max ? max : 1;
	lru_init(&c->lru);
	return c;
}

void idcache_free(struct idcache *c)
{
	if (!c)
		return;
	struct centry *e;
	while ((e = entry_of(lru_newest(&c->lru))))
		remove_entry(c, e);
	free(c);
}

const struct idanswer *idcache_get(struct idcache *c, const char *key,
				   uint64_t now_ms)
{
	struct centry *e = find(c, key);
	if (!e)
		return NULL;
	if (now_ms >= e->expires_ms) {
		remove_entry(c, e);
		return NULL;
	}
	lru_touch(&c->lru, &e->lru);
	return &e->a;
}

void idcache_put(struct idcache *c, const char *key, uint64_t now_ms,
		 int status, const char *user, char *const *groups, size_t n)
{
	if (!c->ttl_s)
		return;
	struct centry *old = find(c, key);
	if (old)
		remove_entry(c, old);
	struct centry *lru_old;
	while (c->n >= c->max && (lru_old = entry_of(lru_oldest(&c->lru))))
		remove_entry(c, lru_old);
	struct centry *e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->a.status = status;
	e->a.user = user ? xstrdup(user) : NULL;
	e->a.groups = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		e->a.groups[i] = xstrdup(groups[i]);
	e->a.ngroups = n;
	e->expires_ms = now_ms + (uint64_t)c->ttl_s * 1000;
	size_t h = bucket_of(key);
	e->hnext = c->bucket[h];
	c->bucket[h] = e;
	lru_add(&c->lru, &e->lru);
	c->n++;
}

size_t idcache_size(const struct idcache *c)
{
	return c->n;
}
