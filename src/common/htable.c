/* htable.c — the one hash table; see htable.h. */
#include "common/htable.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* The fewest buckets (a power of two, at least the minimum) that hold
 * HINT entries without growing. */
static size_t buckets_for(size_t hint)
{
	size_t nb = HTABLE_MIN_BUCKETS;
	while (nb * HTABLE_LOAD_MAX < hint && nb < (SIZE_MAX >> 2))
		nb <<= 1;
	return nb;
}

/* NB empty buckets: zeroed memory is LIST_INIT's state (a NULL first
 * pointer), so a large table costs no pass over its buckets. */
static struct htable_bucket *buckets_new(size_t nb)
{
	return xcalloc(nb, sizeof(struct htable_bucket));
}

void htable_init_keyed(struct htable *t, const struct htable_ops *ops,
		       size_t hint, const struct hash_key *key)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->key = *key;
	t->nb = buckets_for(hint);
	t->b = buckets_new(t->nb);
}

void htable_init(struct htable *t, const struct htable_ops *ops, size_t hint)
{
	struct hash_key k;
	hash_process_key(&k);
	htable_init_keyed(t, ops, hint, &k);
}

void htable_fini(struct htable *t)
{
	free(t->b);
	memset(t, 0, sizeof(*t));
}

uint64_t htable_hash(const struct htable *t, const void *key)
{
	return t->ops->hash(&t->key, key);
}

static struct htable_bucket *bucket(const struct htable *t, uint64_t h)
{
	return &t->b[h & (t->nb - 1)];
}

/* The first node from N on (N included) whose key equals KEY (hash H). */
static struct htable_node *match_from(const struct htable *t,
				      struct htable_node *n, uint64_t h,
				      const void *key)
{
	for (; n; n = LIST_NEXT(n, link))
		if (n->hash == h && t->ops->equal(n, key))
			return n;
	return NULL;
}

struct htable_node *htable_find_hashed(const struct htable *t, uint64_t h,
				       const void *key)
{
	return match_from(t, LIST_FIRST(bucket(t, h)), h, key);
}

struct htable_node *htable_find(const struct htable *t, const void *key)
{
	return htable_find_hashed(t, htable_hash(t, key), key);
}

struct htable_node *htable_find_next(const struct htable *t,
				     const struct htable_node *n,
				     const void *key)
{
	return match_from(t, LIST_NEXT(n, link), n->hash, key);
}

/* Twice T's buckets, every node moved by its kept hash. */
static void grow(struct htable *t)
{
	size_t nb = t->nb * 2;
	struct htable_bucket *b = buckets_new(nb);
	for (size_t i = 0; i < t->nb; i++) {
		struct htable_node *n;
		while ((n = LIST_FIRST(&t->b[i]))) {
			LIST_REMOVE(n, link);
			LIST_INSERT_HEAD(&b[n->hash & (nb - 1)], n, link);
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

void htable_insert_hashed(struct htable *t, struct htable_node *n, uint64_t h)
{
	if (t->n + 1 > t->nb * HTABLE_LOAD_MAX && t->nb < (SIZE_MAX >> 2))
		grow(t);
	n->hash = h;
	LIST_INSERT_HEAD(bucket(t, h), n, link);
	t->n++;
}

void htable_insert(struct htable *t, struct htable_node *n, const void *key)
{
	htable_insert_hashed(t, n, htable_hash(t, key));
}

void htable_remove(struct htable *t, struct htable_node *n)
{
	LIST_REMOVE(n, link);
	t->n--;
}

/* The first node of a bucket from IT->i on, or NULL; IT->i left there. */
static struct htable_node *scan(struct htable_iter *it)
{
	for (; it->i < it->t->nb; it->i++) {
		struct htable_node *n = LIST_FIRST(&it->t->b[it->i]);
		if (n)
			return n;
	}
	return NULL;
}

/* Gives N (or NULL) after noting the node that follows it. */
static struct htable_node *hand(struct htable_iter *it, struct htable_node *n)
{
	if (!n)
		return NULL;
	it->next = LIST_NEXT(n, link);
	if (!it->next) {
		it->i++;
		it->next = scan(it);
	}
	return n;
}

struct htable_node *htable_first(const struct htable *t,
				 struct htable_iter *it)
{
	it->t = t;
	it->i = 0;
	it->next = NULL;
	return hand(it, scan(it));
}

struct htable_node *htable_next(struct htable_iter *it)
{
	return hand(it, it->next);
}
