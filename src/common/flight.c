/*
 * flight.c — coalesced lookups (see flight.h): a chained hash table of
 * the flights by key, doubling when it holds more flights than buckets,
 * and each flight's waiters in arrival order.
 */
#include "common/flight.h"
#include "common/hash.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

void flight_table_init(struct flight_table *t)
{
	memset(t, 0, sizeof(*t));
}

void flight_table_fini(struct flight_table *t)
{
	free(t->b);
	memset(t, 0, sizeof(*t));
}

static struct flight **bucket(const struct flight_table *t, uint64_t h)
{
	return &t->b[h & (t->nb - 1)];
}

struct flight *flight_find(const struct flight_table *t, const void *key,
			   size_t keylen)
{
	if (t->n == 0)
		return NULL;
	uint64_t h = hash_bytes(key, keylen);
	for (struct flight *f = *bucket(t, h); f; f = f->hnext)
		if (f->hash == h && f->keylen == keylen &&
		    memcmp(f->key, key, keylen) == 0)
			return f;
	return NULL;
}

/* Doubles T's buckets (16 at first). */
static void grow(struct flight_table *t)
{
	size_t onb = t->nb;
	struct flight **ob = t->b;
	t->nb = onb ? onb * 2 : 16;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	for (size_t i = 0; i < onb; i++)
		for (struct flight *f = ob[i], *nx; f; f = nx) {
			nx = f->hnext;
			struct flight **b = bucket(t, f->hash);
			f->hnext = *b;
			*b = f;
		}
	free(ob);
}

void flight_start(struct flight_table *t, struct flight *f, const void *key,
		  size_t keylen)
{
	if (t->n >= t->nb)
		grow(t);
	f->t = t;
	f->key = key;
	f->keylen = keylen;
	f->hash = hash_bytes(key, keylen);
	TAILQ_INIT(&f->waiters);
	f->nwaiters = 0;
	struct flight **b = bucket(t, f->hash);
	f->hnext = *b;
	*b = f;
	t->n++;
}

void flight_land(struct flight *f)
{
	struct flight_table *t = f->t;
	if (!t)
		return;
	for (struct flight **pp = bucket(t, f->hash); *pp; pp = &(*pp)->hnext)
		if (*pp == f) {
			*pp = f->hnext;
			t->n--;
			break;
		}
	f->hnext = NULL;
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
