/*
 * htable.h — the one hash table of sluice: an intrusive chained table whose
 * buckets are <sys/queue.h> LISTs of struct htable_node embedded in the
 * caller's entries. The caller owns the entries; the table only links them
 * (it owns its bucket array).
 *
 * Seeded: a key's hash is the caller's hash function (htable_ops.hash)
 * under the table's SipHash key (common/hash.h), by default the process
 * key drawn from getrandom(2). A remote party choosing ports, addresses or
 * names cannot compute which bucket its entries land in, so it cannot aim
 * them at one chain (the 5-tuple and address tables hold remote input).
 *
 * Shape: the bucket count is a power of two (the bucket is the hash's low
 * bits); the table doubles when an insert would put more than
 * HTABLE_LOAD_MAX entries per bucket on average, and never shrinks. Each
 * node keeps its full hash, so growth moves nodes without rehashing and a
 * lookup compares keys only on a full 64-bit hash match. Removal is O(1)
 * (the LIST's back pointer). Equal keys may coexist (a multimap):
 * htable_find() gives the first, htable_find_next() the following ones.
 *
 * Not locked: callers that share a table between threads lock around it.
 */
#ifndef SLUICE_COMMON_HTABLE_H
#define SLUICE_COMMON_HTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "common/hash.h"

/* Entries per bucket, on average, above which the table doubles. */
#define HTABLE_LOAD_MAX 1
/* The fewest buckets a table has. */
#define HTABLE_MIN_BUCKETS 16

struct htable_node {
	LIST_ENTRY(htable_node) link;
	uint64_t hash; /* the key's hash under the table's key (insert sets) */
};

LIST_HEAD(htable_bucket, htable_node);

/* What a table knows of its keys; both functions are required. */
struct htable_ops {
	/* The hash of KEY under the SipHash key K: hash_bytes_keyed(K, ...)
	 * over the key's bytes (zero any padding first), or several of them
	 * chained. Must not ignore K. */
	uint64_t (*hash)(const struct hash_key *k, const void *key);
	/* Whether the key of the entry holding N equals KEY. */
	bool (*equal)(const struct htable_node *n, const void *key);
};

struct htable {
	struct htable_bucket *b; /* nb buckets, owned */
	size_t nb;		 /* a power of two */
	size_t n;		 /* nodes linked */
	struct hash_key key;
	const struct htable_ops *ops;
};

/* The address OFF bytes before N, or NULL when N is NULL. */
static inline void *htable_entry_(const struct htable_node *n, size_t off)
{
	return n ? (void *)((char *)(uintptr_t)n - off) : NULL;
}

/* The entry of type TYPE whose member MEMBER is node NODE, or NULL when
 * NODE is NULL (NODE is evaluated once). */
#define HTABLE_ENTRY(node, type, member)                                       \
	((type *)htable_entry_((node), offsetof(type, member)))

/* Makes T an empty table with OPS (static, outlives T) under the process
 * key, with room for HINT entries before it first grows (0: the minimum).
 * Allocates the buckets (xcalloc: aborts when memory is exhausted). */
void htable_init(struct htable *t, const struct htable_ops *ops, size_t hint);

/* The same under the SipHash key KEY (tests; per-table keys). */
void htable_init_keyed(struct htable *t, const struct htable_ops *ops,
		       size_t hint, const struct hash_key *key);

/* Frees T's buckets (not the entries: the caller owns them; unlink or
 * free them first). T may be initialised again afterwards. */
void htable_fini(struct htable *t);

/* The hash KEY has in T (for htable_find_hashed / htable_insert_hashed,
 * when a caller looks up and then inserts the same key). */
uint64_t htable_hash(const struct htable *t, const void *key);

/* The first node whose key equals KEY, or NULL. */
struct htable_node *htable_find(const struct htable *t, const void *key);

/* The same with KEY's hash H (htable_hash(T, KEY)) given. */
struct htable_node *htable_find_hashed(const struct htable *t, uint64_t h,
				       const void *key);

/* The next node after N (linked in T) whose key equals KEY, or NULL. */
struct htable_node *htable_find_next(const struct htable *t,
				     const struct htable_node *n,
				     const void *key);

/* Links N (not linked) under KEY (the key of N's entry); equal keys are
 * not checked for (look up first if they must be unique). May grow T. */
void htable_insert(struct htable *t, struct htable_node *n, const void *key);

/* The same with KEY's hash H (htable_hash(T, KEY)) given. */
void htable_insert_hashed(struct htable *t, struct htable_node *n,
			  uint64_t h);

/* Unlinks N (linked in T). */
void htable_remove(struct htable *t, struct htable_node *n);

/* Nodes linked in T. */
static inline size_t htable_count(const struct htable *t)
{
	return t->n;
}

/* Iteration over every node, in no particular order:
 *	struct htable_iter it;
 *	for (struct htable_node *n = htable_first(t, &it); n;
 *	     n = htable_next(&it))
 * The body may remove (and free) the node in hand; it must not insert nor
 * remove any other node. */
struct htable_iter {
	const struct htable *t;
	size_t i;		 /* the bucket of next */
	struct htable_node *next; /* the node after the one in hand */
};

/* The first node of T (NULL when empty); starts IT. */
struct htable_node *htable_first(const struct htable *t,
				 struct htable_iter *it);

/* The node after the one last given by IT, or NULL at the end. */
struct htable_node *htable_next(struct htable_iter *it);

#endif
