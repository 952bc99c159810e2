/*
 * lru.h — the one least-recently-used list of sluice's caches (the
 * resolver's answer cache, the identity cache): a <sys/queue.h> TAILQ of
 * struct lru_node embedded in the caller's entries, the most recently used
 * first. The caller owns the entries; the list only links them.
 */
#ifndef SLUICE_COMMON_LRU_H
#define SLUICE_COMMON_LRU_H

#include <stddef.h>
#include <sys/queue.h>

struct lru_node {
	TAILQ_ENTRY(lru_node) link;
};

struct lru {
	TAILQ_HEAD(lru_list, lru_node) list;
	size_t n; /* nodes linked */
};

/* The entry of type TYPE whose member MEMBER is lru node NODE (not NULL). */
#define LRU_ENTRY(node, type, member)                                          \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

static inline void lru_init(struct lru *l)
{
	TAILQ_INIT(&l->list);
	l->n = 0;
}

/* Links N (not linked) as the most recently used. */
static inline void lru_add(struct lru *l, struct lru_node *n)
{
	TAILQ_INSERT_HEAD(&l->list, n, link);
	l->n++;
}

/* Unlinks N (linked in L). */
static inline void lru_del(struct lru *l, struct lru_node *n)
{
	TAILQ_REMOVE(&l->list, n, link);
	l->n--;
}

/* Makes N (linked in L) the most recently used. */
static inline void lru_touch(struct lru *l, struct lru_node *n)
{
	TAILQ_REMOVE(&l->list, n, link);
	TAILQ_INSERT_HEAD(&l->list, n, link);
}

/* The least recently used node, or NULL when L is empty. */
static inline struct lru_node *lru_oldest(const struct lru *l)
{
	return TAILQ_LAST(&l->list, lru_list);
}

/* The most recently used node, or NULL when L is empty. */
static inline struct lru_node *lru_newest(const struct lru *l)
{
	return TAILQ_FIRST(&l->list);
}

#endif
