/*
 * shadow.c — the shadowed-rule warnings: rules that can never match
 * because an earlier rule takes all their sessions, or because a side is
 * empty (run by policy_validate once the rules' addresses are compiled).
 */
#include "policy/internal.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

/* Ports of transport T admitted by protocols V (merged into OUT); returns
 * false when none of V is of T. An empty port list means every port. */
static bool ports_of(struct protocol **v, size_t n, enum transport t,
		     struct portrange **out, size_t *nout)
{
	bool any = false;
	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i]->tr != t)
			continue;
		any = true;
		if (v[i]->nports == 0) {
			struct portrange all = {0, 65535};
			VEC_PUSH(*out, *nout, all);
		}
		for (size_t k = 0; k < v[i]->nports; k++)
			VEC_PUSH(*out, *nout, v[i]->ports[k]);
	}
	if (*nout)
		*nout = (size_t)merge_portranges(*out, *nout);
	return any;
}

static bool ranges_cover(const struct portrange *a, size_t na,
			 const struct portrange *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		bool in = false;
		for (size_t k = 0; k < na && !in; k++)
			in = a[k].lo <= b[i].lo && b[i].hi <= a[k].hi;
		if (!in)
			return false;
	}
	return true;
}

static bool protos_cover(const struct rule *a, const struct rule *b)
{
	if (a->nprotos == 0)
		return true;
	if (b->nprotos == 0)
		return false;
	for (int t = 0; t < TR_COUNT; t++) {
		struct portrange *pa, *pb;
		size_t na, nb;
		bool hb = ports_of(b->protos, b->nprotos, t, &pb, &nb);
		bool ha = ports_of(a->protos, a->nprotos, t, &pa, &na);
		bool ok = !hb || (ha && ranges_cover(pa, na, pb, nb));
		free(pa);
		free(pb);
		if (!ok)
			return false;
	}
	return true;
}

static bool side_covers(const struct endpoint *a, const struct endpoint *b)
{
	if (a->any)
		return true;
	if (b->any || (b->local && !a->local))
		return false;
	if (!addrset_covers(&a->addrs, &b->addrs))
		return false;
	for (size_t i = 0; i < b->ndoms; i++) {
		bool in = false;
		for (size_t k = 0; k < a->ndoms && !in; k++)
			in = a->doms[k] == b->doms[i];
		if (!in)
			return false;
	}
	return true;
}

static bool users_cover(const struct rule *a, const struct rule *b)
{
	if (!a->needs_identity)
		return true;
	if (!b->needs_identity)
		return false;
	if (a->users_auth)
		return true;
	if (b->users_auth)
		return false;
	for (size_t i = 0; i < b->nusers; i++) {
		bool in = false;
		for (size_t k = 0; k < a->nusers && !in; k++)
			in = a->users[k] == b->users[i];
		if (!in)
			return false;
	}
	return true;
}

static bool sched_covers(const struct rule *a, const struct rule *b)
{
	if (!a->sched || a->sched == b->sched)
		return true;
	if (!b->sched)
		return false;
	for (size_t i = 0; i < b->sched->n; i++) {
		bool in = false;
		for (size_t k = 0; k < a->sched->n && !in; k++)
			in = a->sched->v[k].lo <= b->sched->v[i].lo &&
			     b->sched->v[i].hi <= a->sched->v[k].hi;
		if (!in)
			return false;
	}
	return true;
}

bool rule_covers(const struct rule *a, const struct rule *b)
{
	return side_covers(&a->src, &b->src) && side_covers(&a->dst, &b->dst) &&
	       users_cover(a, b) && sched_covers(a, b) && protos_cover(a, b);
}

static bool endpoint_empty(const struct endpoint *e)
{
	return !e->any && !e->local && !e->ndoms && addrset_empty(&e->addrs);
}

/*
 * The index of the shadowing check. A rule A covers side E of rule B only
 * when A's side is `any`, or (E not `any`) A's side holds E's *key*: the
 * lowest address of E when E has addresses, else E's first domain set,
 * else `localhost`. So the candidates for B are the rules A whose two
 * sides each hold B's key there or are `any`; each kind of A has its own
 * index (stabbing queries on the rules' address ranges per family, lists
 * per domain set and of `localhost` rules):
 *   - A with neither side `any`: the holders of B's source key that also
 *     hold its destination key;
 *   - A with the destination `any`: the holders of B's source key;
 *   - A with the source `any`: the holders of B's destination key;
 *   - A with both sides `any`: a list.
 * The candidates are marked in bitmaps and walked in rule order up to B;
 * rule_covers() decides and the first cover ends the walk: the same
 * warnings as comparing B with every earlier rule, in time that follows
 * the candidates instead of the earlier rules (BENCHMARKS.md, load_ms;
 * tests/unit/test_covers.c compares both).
 */
struct dom_rule {
	const struct domainset *d;
	uint32_t rule;
};

/* The keys held by one side of a subset of the rules. */
struct side_index {
	struct ivtree t4, t6;	/* address ranges */
	struct dom_rule *doms;	/* sorted by set, then rule */
	size_t ndoms;
	uint32_t *local;	/* rules whose side has `localhost` */
	size_t nlocal;
};

static const struct endpoint *side_of(const struct rule *r, bool dst)
{
	return dst ? &r->dst : &r->src;
}

static int cmp_dom_rule(const void *a, const void *b)
{
	const struct dom_rule *x = a, *y = b;
	if (x->d != y->d)
		return (uintptr_t)x->d < (uintptr_t)y->d ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Indexes side DST (or the source) of the rules whose side is not `any`
 * and whose other side is `any` (OTHER_ANY) or not. */
static void side_index_build(struct side_index *x, const struct policy *p,
			     bool dst, bool other_any)
{
	struct ivrange *v4 = NULL, *v6 = NULL;
	size_t n4 = 0, n6 = 0;
	memset(x, 0, sizeof(*x));
	for (size_t i = 0; i < p->nrules; i++) {
		const struct endpoint *e = side_of(p->rules[i], dst);
		uint32_t id = (uint32_t)i;
		if (e->any || side_of(p->rules[i], !dst)->any != other_any)
			continue;
		for (size_t k = 0; k < e->addrs.n4; k++) {
			struct ivrange r = {e->addrs.v4[k].lo, e->addrs.v4[k].hi,
					    id};
			VEC_PUSH(v4, n4, r);
		}
		for (size_t k = 0; k < e->addrs.n6; k++) {
			struct ivrange r = {e->addrs.v6[k].lo, e->addrs.v6[k].hi,
					    id};
			VEC_PUSH(v6, n6, r);
		}
		for (size_t k = 0; k < e->ndoms; k++) {
			struct dom_rule dr = {e->doms[k], id};
			VEC_PUSH(x->doms, x->ndoms, dr);
		}
		if (e->local)
			VEC_PUSH(x->local, x->nlocal, id);
	}
	xqsort(x->doms, x->ndoms, sizeof(*x->doms), cmp_dom_rule);
	ivtree_build(&x->t4, v4, n4);
	ivtree_build(&x->t6, v6, n6);
	free(v4);
	free(v6);
}

static void side_index_free(struct side_index *x)
{
	ivtree_free(&x->t4);
	ivtree_free(&x->t6);
	free(x->doms);
	free(x->local);
}

/* The first entry of domain set D in X->doms (or X->ndoms). */
static size_t dom_first(const struct side_index *x, const struct domainset *d)
{
	struct dom_rule key = {d, 0};
	size_t lo = 0, hi = x->ndoms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cmp_dom_rule(&x->doms[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The key of one side of B: a point of its addresses (the one the fewest
 * rules hold, among the ends of its first ranges), else its first domain
 * set, else `localhost`. */
enum key_kind { KEY_V4, KEY_V6, KEY_DOM, KEY_LOCAL };
struct side_key {
	enum key_kind kind;
	u128 point;
	const struct domainset *dom;
};

/* The key of side E (not `any`, not empty). */
static void side_key(const struct endpoint *e, struct side_key *k)
{
	memset(k, 0, sizeof(*k));
	if (e->addrs.n4)
		*k = (struct side_key){KEY_V4, e->addrs.v4[0].lo, NULL};
	else if (e->addrs.n6)
		*k = (struct side_key){KEY_V6, e->addrs.v6[0].lo, NULL};
	else if (e->ndoms)
		*k = (struct side_key){KEY_DOM, 0, e->doms[0]};
	else
		k->kind = KEY_LOCAL;
}

/* Candidate rules of one rule B, gathered below B's index as bitmaps
 * (walked in rule order, so the first cover ends the walk): the holders of
 * B's source key and of its destination key among the rules with neither
 * side `any` (a candidate is in both), and the rules to take as they are. */
struct cands {
	uint32_t below;
	uint64_t *src, *dst, *take; /* one bit a rule */
	uint64_t *bits;		    /* where cand_hit marks */
};

static void cand_hit(uint32_t id, void *arg)
{
	struct cands *c = arg;
	if (id < c->below)
		c->bits[id / 64] |= 1ull << (id % 64);
}

/* Calls cand_hit for every rule of X whose side holds key K. */
static void key_holders(const struct side_index *x, const struct side_key *k,
			struct cands *c)
{
	switch (k->kind) {
	case KEY_V4:
		ivtree_stab(&x->t4, k->point, cand_hit, c);
		break;
	case KEY_V6:
		ivtree_stab(&x->t6, k->point, cand_hit, c);
		break;
	case KEY_DOM:
		for (size_t i = dom_first(x, k->dom);
		     i < x->ndoms && x->doms[i].d == k->dom; i++)
			cand_hit(x->doms[i].rule, c);
		break;
	case KEY_LOCAL:
		for (size_t i = 0; i < x->nlocal; i++)
			cand_hit(x->local[i], c);
		break;
	}
}

struct shadow_index {
	struct side_index src, dst;	/* rules with neither side `any` */
	struct side_index src_dany;	/* source of rules with dst `any` */
	struct side_index dst_sany;	/* destination of rules with src `any` */
	uint32_t *both_any;		/* rules with both sides `any` */
	size_t nboth;
};

static void shadow_index_build(struct shadow_index *x, const struct policy *p)
{
	memset(x, 0, sizeof(*x));
	side_index_build(&x->src, p, false, false);
	side_index_build(&x->dst, p, true, false);
	side_index_build(&x->src_dany, p, false, true);
	side_index_build(&x->dst_sany, p, true, true);
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i]->src.any && p->rules[i]->dst.any)
			VEC_PUSH(x->both_any, x->nboth, (uint32_t)i);
}

static void shadow_index_free(struct shadow_index *x)
{
	side_index_free(&x->src);
	side_index_free(&x->dst);
	side_index_free(&x->src_dany);
	side_index_free(&x->dst_sany);
	free(x->both_any);
}

/* The first rule before B that covers it, or NULL. */
static const struct rule *first_cover(const struct policy *p,
				      const struct shadow_index *x,
				      struct cands *c, const struct rule *b)
{
	struct side_key ks, kd;
	c->below = (uint32_t)b->index;
	if (!b->src.any)
		side_key(&b->src, &ks);
	if (!b->dst.any)
		side_key(&b->dst, &kd);
	if (!b->src.any && !b->dst.any) {
		c->bits = c->src;
		key_holders(&x->src, &ks, c);
		c->bits = c->dst;
		key_holders(&x->dst, &kd, c);
	}
	c->bits = c->take;
	if (!b->src.any)
		key_holders(&x->src_dany, &ks, c);
	if (!b->dst.any)
		key_holders(&x->dst_sany, &kd, c);
	for (size_t i = 0; i < x->nboth && x->both_any[i] < c->below; i++)
		cand_hit(x->both_any[i], c);

	const struct rule *found = NULL;
	size_t nw = c->below / 64 + 1;
	for (size_t w = 0; w < nw && !found; w++)
		for (uint64_t m = (c->src[w] & c->dst[w]) | c->take[w];
		     m && !found; m &= m - 1) {
			const struct rule *a =
			    p->rules[w * 64 + (unsigned)__builtin_ctzll(m)];
			if (rule_covers(a, b))
				found = a;
		}
	memset(c->src, 0, nw * sizeof(*c->src));
	memset(c->dst, 0, nw * sizeof(*c->dst));
	memset(c->take, 0, nw * sizeof(*c->take));
	return found;
}

void policy_warn_shadowed(struct policy *p)
{
	struct shadow_index x;
	shadow_index_build(&x, p);
	size_t nw = p->nrules / 64 + 1;
	struct cands c = {.src = xcalloc(nw, sizeof(uint64_t)),
			  .dst = xcalloc(nw, sizeof(uint64_t)),
			  .take = xcalloc(nw, sizeof(uint64_t))};
	for (size_t j = 0; j < p->nrules; j++) {
		struct rule *b = p->rules[j];
		if (endpoint_empty(&b->src) || endpoint_empty(&b->dst)) {
			diags_add(&p->diags, DIAG_WARNING, &b->loc,
				  "rule '%s' can never match: its %s is empty",
				  b->name,
				  endpoint_empty(&b->src) ? "source"
							  : "destination");
			continue;
		}
		const struct rule *a = first_cover(p, &x, &c, b);
		if (!a)
			continue;
		diags_add(&p->diags, DIAG_WARNING, &b->loc,
			  "rule '%s' can never match: rule '%s' "
			  "(line %d) takes every session it would",
			  b->name, a->name, a->loc.line);
		diags_add(&p->diags, DIAG_NOTE, &a->loc, "rule '%s' is here",
			  a->name);
	}
	free(c.src);
	free(c.dst);
	free(c.take);
	shadow_index_free(&x);
}
