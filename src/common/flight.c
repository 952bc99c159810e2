/*
 * flight.c — coalesced lookups (see flight.h): a common/htable.h of the
 * flights by key and each flight's waiters in arrival order.
 */
#include "common/flight.h"
#include "common/util.h"

#include <string.h>

/* A key as the table looks it up: the owner's bytes and their length. */
struct fkey {
	const void *p;
	size_t len;
};

static uint64_t fkey_hash(const struct hash_key *hk, const void *key)
{
	const struct fkey *k = key;
	return hash_bytes_keyed(hk, k->p, k->len);
}

static bool fkey_equal(const struct htable_node *n, const void *key)
{
	const struct flight *f = HTABLE_ENTRY(n, const struct flight, hn);
	const struct fkey *k = key;
	return f->keylen == k->len && memcmp(f->key, k->p, k->len) == 0;
}

static const struct htable_ops fkey_ops = {fkey_hash, fkey_equal};

void flight_table_init(struct flight_table *t)
{
	memset(t, 0, sizeof(*t));
}

void flight_table_fini(struct flight_table *t)
{
	htable_fini(&t->h);
}

struct flight *flight_find(const struct flight_table *t, const void *key,
			   size_t keylen)
{
	if (htable_count(&t->h) == 0) /* also a table never started */
		return NULL;
	struct fkey k = {key, keylen};
	return HTABLE_ENTRY(htable_find(&t->h, &k), struct flight, hn);
}

void flight_start(struct flight_table *t, struct flight *f, const void *key,
		  size_t keylen)
{
	if (!t->h.b) /* a zeroed table: buckets at the first start */
		htable_init(&t->h, &fkey_ops, 0);
	f->t = t;
	f->key = key;
	f->keylen = keylen;
	TAILQ_INIT(&f->waiters);
	f->nwaiters = 0;
	struct fkey k = {key, keylen};
	htable_insert(&t->h, &f->hn, &k);
}

void flight_land(struct flight *f)
{
	if (!f->t)
		return;
	htable_remove(&f->t->h, &f->hn);
	f->t = NULL;
}

void flight_join(struct flight *f, struct flight_waiter *w, flight_fn fn,
		 void *arg)
{
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&f->waiters, w, link);
	f->nwaiters++;
}

void flight_leave(struct flight *f, struct flight_waiter *w)
{
	TAILQ_REMOVE(&f->waiters, w, link);
	f->nwaiters--;
}

struct flight_waiter *flight_pop(struct flight *f)
{
	struct flight_waiter *w = TAILQ_FIRST(&f->waiters);
	if (w)
		flight_leave(f, w);
	return w;
}

struct flight_waiter *flight_waiter_find(struct flight *f, flight_fn fn,
					 const void *arg)
{
	struct flight_waiter *w;
	TAILQ_FOREACH(w, &f->waiters, link)
		if (w->fn == fn && w->arg == arg)
			return w;
	return NULL;
}
