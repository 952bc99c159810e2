/*
 * ivtree.c — a static centered interval tree: which of a fixed set of
 * inclusive ranges hold a point (the stabbing query), in O(log n + k).
 * Built once from every range (Edelsbrunner's centered tree: each node
 * holds the ranges that contain its centre, sorted by low end and by high
 * end; the ranges wholly below go left, wholly above go right).
 */
#include "policy/internal.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

struct ivnode {
	u128 center;
	size_t off, n;	 /* this node's ranges in t->by_lo / t->by_hi */
	long left, right; /* child node index, -1 = none */
};

static int cmp_lo(const void *a, const void *b)
{
	const struct ivrange *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_hi_desc(const void *a, const void *b)
{
	const struct ivrange *x = a, *y = b;
	return x->hi > y->hi ? -1 : x->hi < y->hi;
}

/* Builds the subtree of V (N ranges sorted by low end; scratch, the order
 * is kept); returns its node index or -1. */
static long build(struct ivtree *t, struct ivrange *v, size_t n)
{
	if (n == 0)
		return -1;
	u128 c = v[n / 2].lo;
	/* partition: below | containing | above, in place, keeping order */
	struct ivrange *tmp = xmalloc(n * sizeof(*tmp));
	size_t nb = 0, nc = 0, na = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].hi < c)
			v[nb++] = v[i];
		else if (v[i].lo > c)
			tmp[n - 1 - na++] = v[i];
		else
			tmp[nc++] = v[i];
	long id = (long)t->nnodes;
	struct ivnode node = {.center = c, .off = t->n, .n = nc};
	VEC_PUSH(t->nodes, t->nnodes, node);
	memcpy(t->by_lo + t->n, tmp, nc * sizeof(*tmp));
	memcpy(t->by_hi + t->n, tmp, nc * sizeof(*tmp));
	qsort(t->by_hi + t->n, nc, sizeof(*tmp), cmp_hi_desc);
	t->n += nc;
	/* the ranges above, back in v after the ranges below */
	for (size_t i = 0; i < na; i++)
		v[nb + i] = tmp[n - 1 - i];
	free(tmp);
	long l = build(t, v, nb);
	long r = build(t, v + nb, na);
	t->nodes[id].left = l;
	t->nodes[id].right = r;
	return id;
}

void ivtree_build(struct ivtree *t, struct ivrange *v, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->by_lo = xmalloc((n + 1) * sizeof(*t->by_lo));
	t->by_hi = xmalloc((n + 1) * sizeof(*t->by_hi));
	if (n) /* qsort(NULL, 0) is undefined */
		qsort(v, n, sizeof(*v), cmp_lo); /* once: build keeps the order */
	t->root = build(t, v, n);
}

void ivtree_stab(const struct ivtree *t, u128 p,
		 void (*hit)(uint32_t id, void *arg), void *arg)
{
	for (long k = t->root; k >= 0;) {
		const struct ivnode *nd = &t->nodes[k];
		if (p < nd->center) {
			for (size_t i = 0; i < nd->n && t->by_lo[nd->off + i].lo <= p;
			     i++)
				hit(t->by_lo[nd->off + i].id, arg);
			k = nd->left;
		} else {
			for (size_t i = 0; i < nd->n && t->by_hi[nd->off + i].hi >= p;
			     i++)
				hit(t->by_hi[nd->off + i].id, arg);
			k = nd->right;
		}
	}
}

void ivtree_free(struct ivtree *t)
{
	free(t->nodes);
	free(t->by_lo);
	free(t->by_hi);
	memset(t, 0, sizeof(*t));
}
