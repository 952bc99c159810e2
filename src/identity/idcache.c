/* idcache.c — see idcache.h. A hash table (common/htable.h, seeded per
 * process) and the LRU list of common/lru.h through the same entries. */
#include "identity/idcache.h"
#include "common/htable.h"
#include "common/lru.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096 /* the table's first size (it grows) */

struct centry {
	char *key;
	struct idanswer a;
	uint64_t expires_ms;
	struct htable_node hn; /* in idcache.h, by key */
	struct lru_node lru;
};

struct idcache {
	uint32_t ttl_s;
	size_t max, n;
	struct htable h; /* struct centry by key */
	struct lru lru;	 /* common/lru.h */
};

static uint64_t key_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, strlen(key));
}

static bool key_equal(const struct htable_node *n, const void *key)
{
	return strcmp(HTABLE_ENTRY(n, const struct centry, hn)->key, key) == 0;
}

static const struct htable_ops key_ops = {key_hash, key_equal};

/* The entry of lru node N, or NULL. */
static struct centry *entry_of(struct lru_node *n)
{
	return n ? LRU_ENTRY(n, struct centry, lru) : NULL;
}

/* Unhooks E from its chain and the LRU list and frees it. */
static void remove_entry(struct idcache *c, struct centry *e)
{
	htable_remove(&c->h, &e->hn);
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
	return HTABLE_ENTRY(htable_find(&c->h, key), struct centry, hn);
}

struct idcache *idcache_new(uint32_t ttl_s, size_t max)
{
	struct idcache *c = xcalloc(1, sizeof(*c));
	c->ttl_s = ttl_s;
	c->max = max ? max : 1;
	htable_init(&c->h, &key_ops, BUCKETS);
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
	htable_fini(&c->h);
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
	htable_insert(&c->h, &e->hn, e->key);
	lru_add(&c->lru, &e->lru);
	c->n++;
}

size_t idcache_size(const struct idcache *c)
{
	return c->n;
}
