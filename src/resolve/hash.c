/*
 * hash.c — an intrusive chained hash table keyed by address (struct rkey),
 * used for the cache and the prefetch index (the in-flight lookups are in a
 * common/flight.h table).
 *
 * The hash is common/hash.h's, keyed per process from getrandom(), so that
 * a remote party choosing source addresses cannot aim at one bucket.
 * The table doubles when it holds more elements than buckets.
 */
#include "resolve/resolve_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hash.h"
#include "common/util.h"

void rkey_make(struct rkey *k, int family, const uint8_t addr[16])
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)family;
	memcpy(k->addr, addr, family == AF_INET6 ? 16 : 4);
}

bool rkey_eq(const struct rkey *a, const struct rkey *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, 16);
}

static uint64_t rkey_hash(const struct rhash *h, const struct rkey *k)
{
	(void)h;
	return hash_bytes(k, sizeof(*k));
}

void rhash_init(struct rhash *h)
{
	memset(h, 0, sizeof(*h));
	h->nb = 16;
	h->b = xcalloc(h->nb, sizeof(*h->b));
}

void rhash_fini(struct rhash *h)
{
	free(h->b);
	memset(h, 0, sizeof(*h));
}

static void grow(struct rhash *h)
{
	size_t nb = h->nb * 2;
	struct rhnode **b = xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < h->nb; i++) {
		struct rhnode *n = h->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			size_t j = rkey_hash(h, &n->key) & (nb - 1);
			n->next = b[j];
			b[j] = n;
		}
	}
	free(h->b);
	h->b = b;
	h->nb = nb;
}

void rhash_insert(struct rhash *h, struct rhnode *n)
{
	if (h->n >= h->nb)
		grow(h);
	size_t i = rkey_hash(h, &n->key) & (h->nb - 1);
	n->next = h->b[i];
	h->b[i] = n;
	h->n++;
}

struct rhnode *rhash_find(const struct rhash *h, const struct rkey *k)
{
	struct rhnode *n = h->b[rkey_hash(h, k) & (h->nb - 1)];
	while (n && !rkey_eq(&n->key, k))
		n = n->next;
	return n;
}

struct rhnode *rhash_next(const struct rhnode *n)
{
	struct rhnode *m = n->next;
	while (m && !rkey_eq(&m->key, &n->key))
		m = m->next;
	return m;
}

void rhash_remove(struct rhash *h, struct rhnode *n)
{
	struct rhnode **pp = &h->b[rkey_hash(h, &n->key) & (h->nb - 1)];
	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = n->next;
		n->next = NULL;
		h->n--;
	}
}
