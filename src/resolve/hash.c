/*
 * hash.c — the address-keyed table (struct rkey) of the cache and the
 * prefetch index: common/htable.h (seeded per process, so a remote party
 * choosing addresses cannot aim at one bucket; doubling; a multimap) with
 * the key's hash and equality (the in-flight lookups are in a
 * common/flight.h table).
 */
#include "resolve/resolve_int.h"

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

static uint64_t rkey_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, sizeof(struct rkey));
}

static bool rkey_equal(const struct htable_node *n, const void *key)
{
	return rkey_eq(&HTABLE_ENTRY(n, const struct rhnode, hn)->key, key);
}

static const struct htable_ops rkey_ops = {rkey_hash, rkey_equal};

void rhash_init(struct rhash *h)
{
	htable_init(&h->t, &rkey_ops, 0);
}

void rhash_fini(struct rhash *h)
{
	htable_fini(&h->t);
}

void rhash_insert(struct rhash *h, struct rhnode *n)
{
	htable_insert(&h->t, &n->hn, &n->key);
}

struct rhnode *rhash_find(const struct rhash *h, const struct rkey *k)
{
	return HTABLE_ENTRY(htable_find(&h->t, k), struct rhnode, hn);
}

struct rhnode *rhash_next(const struct rhash *h, const struct rhnode *n)
{
	return HTABLE_ENTRY(htable_find_next(&h->t, &n->hn, &n->key),
			    struct rhnode, hn);
}

void rhash_remove(struct rhash *h, struct rhnode *n)
{
	htable_remove(&h->t, &n->hn);
}
