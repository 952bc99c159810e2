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

#include "common/util.h"

struct centry {
	struct rhnode hn; /* first: container of the hash node */
	struct centry *prev, *next; /* LRU list, head = most recent */
	enum rstatus st;
	char **names; /* RS_OK: the set, owned */
	size_t nnames;
	bool partial;
	uint64_t expires_ms;
};

struct rcache {
	struct rhash h;
	struct centry *head, *tail;
	size_t n, max;
};

struct rcache *rcache_new(size_t max)
{
	struct rcache *c = xcalloc(1, sizeof(*c));
	rhash_init(&c->h);
	c->max = max;
	return c;
}

static void lru_unlink(struct rcache *c, struct centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct rcache *c, struct centry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void drop(struct rcache *c, struct centry *e)
{
	lru_unlink(c, e);
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
	while (c->head)
		drop(c, c->head);
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
	lru_unlink(c, e);
	lru_push_front(c, e);
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
	while (c->n >= c->max && c->tail)
		drop(c, c->tail);
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
	lru_push_front(c, e);
	c->n++;
}

size_t rcache_size(const struct rcache *c)
{
	return c->n;
}
