/*
 * engine.c — the compiled policy: bit-vector classification
 * (Lakshman–Stiliadis) over the rules' header fields.
 *
 * Every dimension of the header (protocol and port per transport, source
 * address per family, destination address per family, minute of the week)
 * is cut into elementary intervals at every rule boundary. Each interval
 * carries the bitset of the rules that match in that dimension; identical
 * bitsets are stored once in a shared pool. A lookup binary-searches the
 * interval of each dimension, ANDs the four bitsets word by word and hands
 * each set bit, in rule order, to rule_decide() (eval.c), which settles
 * what the header cannot: domain names, identities, filters. The first rule
 * that decides wins; no rule → implicit deny. policy_eval_linear() is the
 * definition; tests/unit/test_differential.c holds this file to it.
 *
 * The bitsets are exact for protocol, source and schedule (what
 * rule_header_match() tests) and a superset for the destination (rules
 * with domain sets stay candidates whatever the address), because
 * rule_decide() re-checks the destination itself.
 *
 * The engine points into the policy it was built from: free the engine
 * before the policy.
 */
#include "policy/internal.h"
#include "common/util.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One dimension: intervals [start[i], start[i+1]) each with a bitset. */
struct dim {
	size_t n;	 /* intervals; start[0] == 0 */
	uint32_t *k32;	 /* interval starts, when the key space fits 32 bits */
	u128 *k128;	 /* or 128-bit starts (IPv6) */
	uint32_t *set;	 /* pool index of each interval's bitset */
};

struct engine {
	struct rule *const *rules;
	size_t nrules, nwords;

	uint64_t *pool; /* distinct bitsets, nwords words each */
	size_t npool, poolcap;
	uint32_t *hash; /* open addressing on pool indices; UINT32_MAX = free */
	size_t hashcap;

	struct dim tr[TR_COUNT]; /* dport or ICMP type, per transport */
	uint32_t other;		 /* any other IP protocol: rules with none */
	struct dim src4, src6, dst4, dst6;
	uint32_t src_local, dst_local; /* flows from / to the gateway */
	struct dim sched;		/* minute of the week */
	bool filters_dns;		/* a rule allows with `filter dns` */

	size_t mem; /* bytes held, for engine_memory() */
};

/* ---- the bitset pool ------------------------------------------------------ */

static uint64_t set_hash(const uint64_t *w, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		h ^= w[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
		h *= 0xbf58476d1ce4e5b9ull;
	}
	return h ^ (h >> 31);
}

static void pool_rehash(struct engine *e)
{
	free(e->hash);
	e->hashcap = e->hashcap ? e->hashcap * 2 : 64;
	e->hash = xmalloc(e->hashcap * sizeof(*e->hash));
	memset(e->hash, 0xff, e->hashcap * sizeof(*e->hash));
	for (size_t i = 0; i < e->npool; i++) {
		size_t h = set_hash(e->pool + i * e->nwords, e->nwords) &
			   (e->hashcap - 1);
		while (e->hash[h] != UINT32_MAX)
			h = (h + 1) & (e->hashcap - 1);
		e->hash[h] = (uint32_t)i;
	}
}

/* Returns the pool index of a bitset equal to W, adding it if new. */
static uint32_t pool_intern(struct engine *e, const uint64_t *w)
{
	size_t nw = e->nwords;

	if (2 * (e->npool + 1) > e->hashcap)
		pool_rehash(e);
	size_t h = set_hash(w, nw) & (e->hashcap - 1);
	while (e->hash[h] != UINT32_MAX) {
		if (memcmp(e->pool + (size_t)e->hash[h] * nw, w,
			   nw * sizeof(*w)) == 0)
			return e->hash[h];
		h = (h + 1) & (e->hashcap - 1);
	}
	if (e->npool == e->poolcap) {
		e->poolcap = e->poolcap ? e->poolcap * 2 : 16;
		e->pool = xrealloc(e->pool, e->poolcap * nw * sizeof(*w));
	}
	memcpy(e->pool + e->npool * nw, w, nw * sizeof(*w));
	e->hash[h] = (uint32_t)e->npool;
	return (uint32_t)e->npool++;
}

/* ---- building one dimension ------------------------------------------------ */

struct range {
	u128 lo, hi;
};

struct event {
	u128 pos;
	uint32_t rule;
	bool on;
};

/* Events of one dimension, gathered rule by rule. */
struct sweep {
	u128 max; /* largest key of the space */
	struct event *ev;
	size_t nev;
	struct range *tmp; /* the current rule's ranges */
	size_t ntmp;
};

static void sweep_range(struct sweep *s, u128 lo, u128 hi)
{
	if (lo > hi || lo > s->max)
		return;
	if (hi > s->max)
		hi = s->max;
	struct range r = {lo, hi};
	VEC_PUSH(s->tmp, s->ntmp, r);
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Closes rule RULE: merges its ranges and turns them into events. */
static void sweep_rule(struct sweep *s, uint32_t rule)
{
	if (s->ntmp)
		xqsort(s->tmp, s->ntmp, sizeof(*s->tmp), range_cmp);
	for (size_t i = 0; i < s->ntmp;) {
		u128 lo = s->tmp[i].lo, hi = s->tmp[i].hi;
		for (i++; i < s->ntmp && (hi == s->max || s->tmp[i].lo <= hi + 1);
		     i++)
			if (s->tmp[i].hi > hi)
				hi = s->tmp[i].hi;
		struct event on = {lo, rule, true}, off = {hi + 1, rule, false};
		VEC_PUSH(s->ev, s->nev, on);
		if (hi < s->max)
			VEC_PUSH(s->ev, s->nev, off);
	}
	s->ntmp = 0;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return (int)x->on - (int)y->on; /* "off" before "on" */
}

/*
 * Sweeps the events of S into dimension D: one interval per distinct
 * boundary, neighbours with equal bitsets merged. Costs
 * O(events log events + intervals × words). Frees the events.
 */
static void sweep_finish(struct engine *e, struct sweep *s, struct dim *d,
			 bool wide)
{
	size_t nw = e->nwords, cap = 0;
	uint64_t *cur = xcalloc(nw, sizeof(*cur));
	u128 *start = NULL;

	if (s->nev)
		xqsort(s->ev, s->nev, sizeof(*s->ev), event_cmp);
	d->n = 0;
	d->set = NULL;
	size_t i = 0;
	do { /* the first interval starts at 0, events or not */
		u128 pos = d->n ? s->ev[i].pos : 0;
		for (; i < s->nev && s->ev[i].pos == pos; i++) {
			uint64_t bit = 1ull << (s->ev[i].rule % 64);
			if (s->ev[i].on)
				cur[s->ev[i].rule / 64] |= bit;
			else
				cur[s->ev[i].rule / 64] &= ~bit;
		}
		uint32_t id = pool_intern(e, cur);
		if (d->n && d->set[d->n - 1] == id)
			continue;
		if (d->n == cap) {
			cap = cap ? cap * 2 : 16;
			start = xrealloc(start, cap * sizeof(*start));
			d->set = xrealloc(d->set, cap * sizeof(*d->set));
		}
		start[d->n] = pos;
		d->set[d->n++] = id;
	} while (i < s->nev);
	d->set = xrealloc(d->set, d->n * sizeof(*d->set));
	if (wide) {
		d->k128 = xrealloc(start, d->n * sizeof(*start));
		e->mem += d->n * (sizeof(*d->k128) + sizeof(*d->set));
	} else {
		d->k32 = xmalloc(d->n * sizeof(*d->k32));
		for (size_t k = 0; k < d->n; k++)
			d->k32[k] = (uint32_t)start[k];
		free(start);
		e->mem += d->n * (sizeof(*d->k32) + sizeof(*d->set));
	}
	free(cur);
	free(s->ev);
	free(s->tmp);
	memset(s, 0, sizeof(*s));
}

/* The pool index of the bitset of the rules for which PRED holds. */
static uint32_t build_flat(struct engine *e,
			   bool (*pred)(const struct rule *r))
{
	uint64_t *w = xcalloc(e->nwords, sizeof(*w));
	for (size_t i = 0; i < e->nrules; i++)
		if (pred(e->rules[i]))
			w[i / 64] |= 1ull << (i % 64);
	uint32_t id = pool_intern(e, w);
	free(w);
	return id;
}

/* ---- the dimensions --------------------------------------------------------- */

static void build_transport(struct engine *e, enum transport t)
{
	struct sweep s = {.max = UINT16_MAX};

	for (size_t i = 0; i < e->nrules; i++) {
		const struct rule *r = e->rules[i];
		if (r->nprotos == 0)
			sweep_range(&s, 0, s.max);
		for (size_t k = 0; k < r->nprotos; k++) {
			const struct protocol *p = r->protos[k];
			if (p->tr != t)
				continue;
			if (p->nports == 0)
				sweep_range(&s, 0, s.max);
			for (size_t j = 0; j < p->nports; j++)
				sweep_range(&s, p->ports[j].lo, p->ports[j].hi);
		}
		sweep_rule(&s, (uint32_t)i);
	}
	sweep_finish(e, &s, &e->tr[t], false);
}

/* DST: rules with domain sets are candidates at every address. */
static void build_addr(struct engine *e, bool dst, bool v6, struct dim *d)
{
	struct sweep s = {.max = v6 ? ~(u128)0 : UINT32_MAX};

	for (size_t i = 0; i < e->nrules; i++) {
		const struct rule *r = e->rules[i];
		const struct endpoint *ep = dst ? &r->dst : &r->src;
		if (ep->any || (dst && ep->ndoms))
			sweep_range(&s, 0, s.max);
		else if (v6)
			for (size_t k = 0; k < ep->addrs.n6; k++)
				sweep_range(&s, ep->addrs.v6[k].lo,
					    ep->addrs.v6[k].hi);
		else
			for (size_t k = 0; k < ep->addrs.n4; k++)
				sweep_range(&s, ep->addrs.v4[k].lo,
					    ep->addrs.v4[k].hi);
		sweep_rule(&s, (uint32_t)i);
	}
	sweep_finish(e, &s, d, v6);
}

static void build_sched(struct engine *e)
{
	struct sweep s = {.max = UINT16_MAX};

	for (size_t i = 0; i < e->nrules; i++) {
		const struct schedule *sc = e->rules[i]->sched;
		if (!sc)
			sweep_range(&s, 0, s.max);
		for (size_t k = 0; sc && k < sc->n; k++)
			sweep_range(&s, sc->v[k].lo, sc->v[k].hi);
		sweep_rule(&s, (uint32_t)i);
	}
	sweep_finish(e, &s, &e->sched, false);
}

static bool no_proto(const struct rule *r)
{
	return r->nprotos == 0;
}

static bool src_local_ok(const struct rule *r)
{
	return r->src.any || r->src.local;
}

static bool dst_local_ok(const struct rule *r)
{
	return r->dst.any || r->dst.local || r->dst.ndoms;
}

/*
 * Compiles policy P. The engine refers to P's rules: P must outlive it.
 * Never fails (allocation failure aborts).
 */
struct engine *engine_build(const struct policy *p)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	e->rules = p->rules;
	e->nrules = p->nrules;
	for (size_t i = 0; i < p->nrules && !e->filters_dns; i++)
		e->filters_dns = rule_filters_dns(p->rules[i]);
	e->nwords = e->nrules ? (e->nrules + 63) / 64 : 1;
	for (int t = 0; t < TR_COUNT; t++)
		build_transport(e, (enum transport)t);
	e->other = build_flat(e, no_proto);
	build_addr(e, false, false, &e->src4);
	build_addr(e, false, true, &e->src6);
	build_addr(e, true, false, &e->dst4);
	build_addr(e, true, true, &e->dst6);
	e->src_local = build_flat(e, src_local_ok);
	e->dst_local = build_flat(e, dst_local_ok);
	build_sched(e);

	/* The hash only serves the build. */
	free(e->hash);
	e->hash = NULL;
	e->hashcap = 0;
	e->pool = xrealloc(e->pool, e->npool * e->nwords * sizeof(*e->pool));
	e->poolcap = e->npool;
	e->mem += sizeof(*e) + e->npool * e->nwords * sizeof(*e->pool);
	return e;
}

/* ---- lookup ------------------------------------------------------------------ */

/* FN(D, KEY): the bitset of the interval of D holding KEY, the last start
 * <= KEY in D->STARTS (keys of TYPE); one search made for each key width. */
#define DEFINE_DIM_FIND(fn, starts, type)                                  \
	static uint32_t fn(const struct dim *d, type key)                  \
	{                                                                  \
		size_t lo = 0, n = d->n;                                   \
		while (n > 1) {                                            \
			size_t half = n / 2;                               \
			if (d->starts[lo + half] <= key)                   \
				lo += half;                                \
			n -= half;                                         \
		}                                                          \
		return d->set[lo];                                         \
	}

DEFINE_DIM_FIND(dim_find32, k32, uint32_t)
DEFINE_DIM_FIND(dim_find128, k128, u128)

/* Mirrors flow_transport() in eval.c; false for other protocols. */
static bool flow_tr(const struct flow *f, enum transport *t, uint16_t *key)
{
	switch (f->proto) {
	case IPPROTO_TCP:
		*t = TR_TCP;
		*key = f->dport;
		return true;
	case IPPROTO_UDP:
		*t = TR_UDP;
		*key = f->dport;
		return true;
	case IPPROTO_ICMP:
		*t = TR_ICMP;
		*key = f->icmp_type;
		return f->family == AF_INET;
	case IPPROTO_ICMPV6:
		*t = TR_ICMPV6;
		*key = f->icmp_type;
		return f->family == AF_INET6;
	}
	return false;
}

/*
 * Decides flow F with FACTS (may be NULL) into OUT, exactly as
 * policy_eval_linear() would: one binary search per dimension, then the
 * candidates in rule order until rule_decide() settles one.
 */
void engine_eval(const struct engine *e, const struct flow *f,
		 const struct facts *facts, struct decision *out)
{
	enum transport t;
	uint16_t key;
	uint32_t ip, is, id, im;
	bool v4 = f->family == AF_INET;

	ip = flow_tr(f, &t, &key) ? dim_find32(&e->tr[t], key) : e->other;
	if (f->src_local)
		is = e->src_local;
	else
		is = v4 ? dim_find32(&e->src4, f->src4)
			: dim_find128(&e->src6, f->src6);
	if (f->dst_local)
		id = e->dst_local;
	else
		id = v4 ? dim_find32(&e->dst4, f->dst4)
			: dim_find128(&e->dst6, f->dst6);
	im = dim_find32(&e->sched, f->minute);

	size_t nw = e->nwords;
	const uint64_t *a = e->pool + ip * nw, *b = e->pool + is * nw,
		       *c = e->pool + id * nw, *d = e->pool + im * nw;
	for (size_t w = 0; w < nw; w++) {
		uint64_t x = a[w] & b[w] & c[w] & d[w];
		while (x) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(x);
			x &= x - 1;
			if (rule_decide(e->rules[i], f, facts, out))
				return;
		}
	}
	decide_no_rule(out);
}

/* Bytes held by E (interval keys, pool indices, bitset pool). */
size_t engine_memory(const struct engine *e)
{
	return e->mem;
}

static void dim_free(struct dim *d)
{
	free(d->k32);
	free(d->k128);
	free(d->set);
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	for (int t = 0; t < TR_COUNT; t++)
		dim_free(&e->tr[t]);
	dim_free(&e->src4);
	dim_free(&e->src6);
	dim_free(&e->dst4);
	dim_free(&e->dst6);
	dim_free(&e->sched);
	free(e->pool);
	free(e->hash);
	free(e);
}

bool engine_filters_dns(const struct engine *e)
{
	return e->filters_dns;
}
