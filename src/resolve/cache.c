/*
 * cache.c — the reverse-lookup answer cache: at most `max` entries, each
 * with its own expiry, the least recently used evicted first.
 *
 * Time is always passed in (now_ms), so tests drive expiry with their own
 * clock. Expired entries are dropped when met (lookup, or at the LRU tail
 * on insert), never by a timer: the cache costs nothing when idle.
 */
#include "resolve/resolve_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/lru.h"
#include "common/util.h"

struct centry {
	struct rhnode hn; /* first: container of the hash node */
	struct lru_node lru;
	enum rstatus st;
	char **names; /* RS_OK: the set, owned */
	size_t nnames;
	bool partial;
	uint64_t expires_ms;
};

struct rcache {
	struct rhash h;
	struct lru lru; /* common/lru.h */
	size_t n, max;
};

struct rcache *rcache_new(size_t max)
{
	struct rcache *c = xcalloc(1, sizeof(*c));
	rhash_init(&c->h);
	lru_init(&c->lru);
	c->max = max;
	return c;
}

/* The entry of lru node N, or NULL. */
static struct centry *entry_of(struct lru_node *n)
{
	return n ? LRU_ENTRY(n, struct centry, lru) : NULL;
}

static void drop(struct rcache *c, struct centry *e)
{
	lru_del(&c->lru, &e->lru);
	rhash_remove(&c->h, &e->hn);
	for (size_t i = 0; i < e->nnames; i++)
		free(e->names[i]);
	free(e->names);
	free(e);
	c->n--;
}

void rcache_free(struct rcache *c)
{
	if (!c)
		return;
	struct centry *e;
	while ((e = entry_of(lru_newest(&c->lru))))
		drop(c, e);
	rhash_fini(&c->h);
	free(c);
}

int rcache_get(struct rcache *c, const struct rkey *k, uint64_t now_ms,
	       struct rcache_hit *hit)
{
	struct centry *e = (struct centry *)rhash_find(&c->h, k);
	if (!e)
		return 0;
	if (e->expires_ms <= now_ms) {
		drop(c, e);
		return 0;
	}
	lru_touch(&c->lru, &e->lru);
	hit->st = e->st;
	hit->names = (struct rnames){.v = (const char *const *)e->names,
				     .n = e->nnames,
				     .partial = e->partial};
	hit->expires_ms = e->expires_ms;
	return 1;
}

void rcache_put(struct rcache *c, const struct rkey *k, enum rstatus st,
		const struct rnames *names, uint64_t expires_ms,
		uint64_t now_ms)
{
	struct centry *e = (struct centry *)rhash_find(&c->h, k);
	if (e)
		drop(c, e);
	if (c->max == 0 || expires_ms <= now_ms)
		return;
	/* full: the least recently used entry goes */
	struct centry *old;
	while (c->n >= c->max && (old = entry_of(lru_oldest(&c->lru))))
		drop(c, old);
	e = xcalloc(1, sizeof(*e));
	e->hn.key = *k;
	e->st = st;
	if (names && names->n) {
		e->names = xcalloc(names->n, sizeof(*e->names));
		for (size_t i = 0; i < names->n; i++)
			e->names[i] = xstrdup(names->v[i]);
		e->nnames = names->n;
		e->partial = names->partial;
	}
	e->expires_ms = expires_ms;
	rhash_insert(&c->h, &e->hn);
	lru_add(&c->lru, &e->lru);
	c->n++;
}

size_t rcache_size(const struct rcache *c)
{
	return c->n;
}
