/*
 * randpolicy.c — see randpolicy.h.
 *
 * The address universe is kept small (10.0.0.0/13 and fd00::/16 with few
 * distinct middle bits) so that generated sets overlap and flows drawn
 * from one set often fall into others: rule order then matters, which is
 * what a differential test needs.
 */
#include "randpolicy.h"
#include "common/util.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct sbuf {
	char *s;
	size_t n, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->n;
		va_start(ap, fmt);
		int k = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
		va_end(ap);
		if (k >= 0 && (size_t)k < room) {
			b->n += (size_t)k;
			return;
		}
		b->cap = b->cap ? b->cap * 2 : 4096;
		if (k >= 0 && b->cap < b->n + (size_t)k + 1)
			b->cap = b->n + (size_t)k + 1;
		b->s = xrealloc(b->s, b->cap);
	}
}

struct prange {
	uint16_t lo, hi;
};

/* Where one generated element or rule side put its values, so that flows
 * can be aimed at a chosen rule. */
struct span {
	size_t off, n;
};

struct side {
	bool any, local, external;
	struct span *a4, *a6; /* spans of randpolicy.a4 / .a6 */
	size_t na4, na6;
};

struct grule {
	struct side src, dst;
	size_t *protos; /* indices into randpolicy.pspan */
	size_t nprotos;
	long sched;	/* index into randpolicy.mspan, -1 = none */
};

struct randpolicy {
	uint64_t gen;  /* PRNG state of the policy text */
	bool *pdns;    /* per protocol: it has `filter dns` (such a protocol
			* stands alone in its rule: validate.c) */
	size_t npdns;
	uint64_t cstate; /* PRNG state of the case stream */
	struct sbuf text;

	/* What the flows are drawn from. */
	struct range4 *a4;
	size_t na4;
	struct range6 *a6;
	size_t na6;
	struct prange *ports[TR_COUNT];
	size_t nports[TR_COUNT];
	uint16_t *minutes;
	size_t nminutes;
	char **users, **groups, **exact, **suffix;
	size_t nusers, ngroups, nexact, nsuffix;

	/* Names of the generated elements, for the rules. */
	char **nets, **comps, **doms, **usets, **protos, **scheds;
	size_t nnets, ncomps, ndoms, nusets, nprotos, nscheds;

	struct span *net4, *net6; /* per netset: nets then computers */
	struct span *pspan;	  /* per protocol, into ports[ptr[i]] */
	enum transport *ptr;
	struct span *mspan;	  /* per schedule, into minutes */
	size_t nnet4, nnet6, npspan, nptr, nmspan;
	struct grule *rules;
	size_t nrules;
};

/* ---- PRNG (splitmix64) ------------------------------------------------------- */

static uint64_t next64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static uint64_t below(uint64_t *s, uint64_t n)
{
	return next64(s) % n;
}

/* True with probability PCT percent. */
static bool chance(uint64_t *s, unsigned pct)
{
	return below(s, 100) < pct;
}

static const char *pick(uint64_t *s, char **v, size_t n)
{
	return v[below(s, n)];
}

/* ---- addresses ------------------------------------------------------------------ */

#define V4_BASE 0x0a000000u /* 10.0.0.0/13 */
#define V4_SPAN 0x00080000u

static u128 v6_base(void)
{
	return (u128)0xfd00u << 112;
}

/* A random IPv6 address in a small universe under fd00::/16. */
static u128 v6_random(uint64_t *s)
{
	u128 v = v6_base();
	v |= (u128)below(s, 4) << 96;	/* fd00:0:N:: */
	v |= (u128)below(s, 4) << 64;	/* ...:N::/64 */
	v |= (u128)below(s, 512);	/* low bits */
	if (chance(s, 20))
		v |= (u128)next64(s) >> 16 << 16;
	return v;
}

/* Writes one address element (host, CIDR or range) and records it. */
static void gen_addr(struct randpolicy *rp, struct sbuf *b)
{
	uint64_t *s = &rp->gen;
	char x[64], y[64];

	if (chance(s, 70)) {
		uint32_t a = V4_BASE | (uint32_t)below(s, V4_SPAN);
		struct range4 r;
		unsigned k = (unsigned)below(s, 4);
		if (chance(s, 3)) {
			r.lo = 0xc0a80000u; /* 192.168.0.0/16 */
			r.hi = 0xc0a8ffffu;
			sb_printf(b, " 192.168.0.0/16");
		} else if (k == 0) { /* host */
			r.lo = r.hi = a;
			sb_printf(b, " %s", format_addr(AF_INET, a, 0, x, 64));
		} else if (k == 1) { /* range */
			r.lo = a;
			r.hi = a + (uint32_t)below(s, 300);
			sb_printf(b, " %s-%s",
				  format_addr(AF_INET, r.lo, 0, x, 64),
				  format_addr(AF_INET, r.hi, 0, y, 64));
		} else { /* CIDR /14../30 */
			unsigned len = 14 + (unsigned)below(s, 17);
			uint32_t host = 0xffffffffu >> len;
			r.lo = a & ~host;
			r.hi = r.lo | host;
			sb_printf(b, " %s/%u",
				  format_addr(AF_INET, r.lo, 0, x, 64), len);
		}
		VEC_PUSH(rp->a4, rp->na4, r);
		return;
	}
	u128 a = v6_random(s);
	struct range6 r;
	unsigned k = (unsigned)below(s, 3);
	if (k == 0) {
		r.lo = r.hi = a;
		sb_printf(b, " %s", format_addr(AF_INET6, 0, a, x, 64));
	} else if (k == 1) {
		r.lo = a;
		r.hi = a + below(s, 1000);
		sb_printf(b, " %s-%s", format_addr(AF_INET6, 0, r.lo, x, 64),
			  format_addr(AF_INET6, 0, r.hi, y, 64));
	} else {
		static const unsigned lens[] = {32, 48, 64, 96, 112, 120, 126};
		unsigned len = lens[below(s, ARRAY_SIZE(lens))];
		u128 host = ~(u128)0 >> len;
		r.lo = a & ~host;
		r.hi = r.lo | host;
		sb_printf(b, " %s/%u", format_addr(AF_INET6, 0, r.lo, x, 64),
			  len);
	}
	VEC_PUSH(rp->a6, rp->na6, r);
}

/* ---- element definitions ----------------------------------------------------- */

static char *name_push(char ***v, size_t *n, const char *prefix, size_t i)
{
	char *s = xasprintf("%s%zu", prefix, i);
	VEC_PUSH(*v, *n, s);
	return s;
}

static void gen_netsets(struct randpolicy *rp, size_t nnet, size_t ncomp)
{
	uint64_t *s = &rp->gen;
	for (size_t i = 0; i < nnet + ncomp; i++) {
		bool net = i < nnet;
		char *name = net ? name_push(&rp->nets, &rp->nnets, "net", i)
				 : name_push(&rp->comps, &rp->ncomps, "pcs", i);
		sb_printf(&rp->text, "%s %s {", net ? "network" : "computers",
			  name);
		struct span s4 = {rp->na4, 0}, s6 = {rp->na6, 0};
		size_t k = 1 + below(s, 3);
		for (size_t j = 0; j < k; j++)
			gen_addr(rp, &rp->text);
		sb_printf(&rp->text, " }\n");
		s4.n = rp->na4 - s4.off;
		s6.n = rp->na6 - s6.off;
		VEC_PUSH(rp->net4, rp->nnet4, s4);
		VEC_PUSH(rp->net6, rp->nnet6, s6);
	}
}

static void gen_domains(struct randpolicy *rp, size_t n)
{
	uint64_t *s = &rp->gen;
	size_t vocab = 4 + n / 2;

	for (size_t i = 0; i < n; i++) {
		char *name = name_push(&rp->doms, &rp->ndoms, "dom", i);
		sb_printf(&rp->text, "domains %s {", name);
		size_t k = 1 + below(s, 3);
		for (size_t j = 0; j < k; j++) {
			size_t d = below(s, vocab);
			char *v;
			if (chance(s, 40)) {
				v = xasprintf("d%zu.example", d);
				VEC_PUSH(rp->suffix, rp->nsuffix, v);
				sb_printf(&rp->text, " *.%s", v);
			} else {
				v = chance(s, 50)
					? xasprintf("d%zu.example", d)
					: xasprintf("h%zu.d%zu.example",
						    (size_t)below(s, 4), d);
				VEC_PUSH(rp->exact, rp->nexact, v);
				sb_printf(&rp->text, " %s", v);
			}
		}
		sb_printf(&rp->text, " }\n");
	}
}

static void gen_users(struct randpolicy *rp, size_t n)
{
	uint64_t *s = &rp->gen;
	size_t nu = 6 + n * 3, ng = 3 + n;

	for (size_t i = 0; i < nu; i++)
		name_push(&rp->users, &rp->nusers, "user", i);
	for (size_t i = 0; i < ng; i++)
		name_push(&rp->groups, &rp->ngroups, "grp", i);
	for (size_t i = 0; i < n; i++) {
		char *name = name_push(&rp->usets, &rp->nusets, "uset", i);
		sb_printf(&rp->text, "users %s {", name);
		size_t k = 1 + below(s, 3);
		for (size_t j = 0; j < k; j++) {
			if (chance(s, 50))
				sb_printf(&rp->text, " user %s",
					  pick(s, rp->users, rp->nusers));
			else
				sb_printf(&rp->text, " group %s",
					  pick(s, rp->groups, rp->ngroups));
		}
		sb_printf(&rp->text, " }\n");
	}
}

static void port_add(struct randpolicy *rp, enum transport t, uint16_t lo,
		     uint16_t hi)
{
	struct prange r = {lo, hi};
	VEC_PUSH(rp->ports[t], rp->nports[t], r);
}

static void gen_protocols(struct randpolicy *rp, size_t n)
{
	static const uint16_t common[] = {22, 25, 53, 80, 123, 443, 8080};
	uint64_t *s = &rp->gen;

	for (size_t i = 0; i < n; i++) {
		char *name = name_push(&rp->protos, &rp->nprotos, "proto", i);
		unsigned w = (unsigned)below(s, 100);
		enum transport t = w < 50 ? TR_TCP : w < 80 ? TR_UDP
				   : w < 92 ? TR_ICMP : TR_ICMPV6;
		bool icmp = t == TR_ICMP || t == TR_ICMPV6;
		sb_printf(&rp->text, "protocol %s %s", name, transport_name(t));
		struct span ps = {rp->nports[t], 0};
		if (chance(s, 10)) { /* every port or type */
			port_add(rp, t, 0, icmp ? 255 : 65535);
		} else if (icmp && chance(s, 30)) {
			sb_printf(&rp->text, " echo-request");
			port_add(rp, t, t == TR_ICMP ? 8 : 128,
				 t == TR_ICMP ? 8 : 128);
		} else {
			size_t k = 1 + below(s, 3);
			sb_printf(&rp->text, " {");
			for (size_t j = 0; j < k; j++) {
				uint16_t lo, hi;
				if (icmp) {
					lo = (uint16_t)below(s, 256);
					hi = chance(s, 20)
						 ? (uint16_t)(lo + below(s, 256 - lo))
						 : lo;
				} else if (chance(s, 40)) {
					lo = hi = common[below(s, ARRAY_SIZE(common))];
				} else {
					lo = (uint16_t)(1 + below(s, 65535));
					hi = chance(s, 30)
						 ? (uint16_t)(lo + below(s, 65536 - lo))
						 : lo;
				}
				port_add(rp, t, lo, hi);
				if (lo == hi)
					sb_printf(&rp->text, " %u", lo);
				else
					sb_printf(&rp->text, " %u-%u", lo, hi);
			}
			sb_printf(&rp->text, " }");
		}
		ps.n = rp->nports[t] - ps.off;
		VEC_PUSH(rp->pspan, rp->npspan, ps);
		VEC_PUSH(rp->ptr, rp->nptr, t);
		bool dns = false;
		if (!icmp && chance(s, 15)) {
			dns = chance(s, 50);
			sb_printf(&rp->text, " filter %s", dns ? "dns" : "ftp");
		}
		VEC_PUSH(rp->pdns, rp->npdns, dns);
		sb_printf(&rp->text, "\n");
	}
}

static void minute_add(struct randpolicy *rp, int m)
{
	uint16_t v = (uint16_t)(m % MINUTES_PER_WEEK);
	VEC_PUSH(rp->minutes, rp->nminutes, v);
}

static void gen_schedules(struct randpolicy *rp, size_t n)
{
	static const char *const days[] = {"mon", "tue", "wed", "thu",
					   "fri", "sat", "sun"};
	uint64_t *s = &rp->gen;

	for (size_t i = 0; i < n; i++) {
		char *name = name_push(&rp->scheds, &rp->nscheds, "sched", i);
		sb_printf(&rp->text, "schedule %s {", name);
		struct span ms = {rp->nminutes, 0};
		size_t k = 1 + below(s, 3);
		for (size_t j = 0; j < k; j++) {
			int a = (int)below(s, 7), b = (int)below(s, 7);
			if (chance(s, 50) || b < a)
				b = a;
			if (a == b)
				sb_printf(&rp->text, " %s", days[a]);
			else
				sb_printf(&rp->text, " %s-%s", days[a], days[b]);
			minute_add(rp, a * 1440);
			if (chance(s, 25))
				continue; /* whole days */
			int from = (int)below(s, 96) * 15;
			int to = (int)below(s, 97) * 15;
			if (to == from)
				to = from + 15;
			if (from == 1440)
				from = 0;
			sb_printf(&rp->text, " %02d:%02d-%02d:%02d", from / 60,
				  from % 60, to / 60, to % 60);
			minute_add(rp, a * 1440 + from);
			minute_add(rp, b * 1440 + to);
		}
		sb_printf(&rp->text, " }\n");
		ms.n = rp->nminutes - ms.off;
		VEC_PUSH(rp->mspan, rp->nmspan, ms);
	}
}

/* ---- rules ---------------------------------------------------------------------- */

static void side_net(struct randpolicy *rp, struct side *sd, size_t k)
{
	VEC_PUSH(sd->a4, sd->na4, rp->net4[k]);
	VEC_PUSH(sd->a6, sd->na6, rp->net6[k]);
}

/* One item of a rule side, recorded in SD; DST allows domain sets. */
static void gen_side_item(struct randpolicy *rp, struct side *sd, bool dst,
			  bool in_set)
{
	uint64_t *s = &rp->gen;
	unsigned w = (unsigned)below(s, 100);

	if (w < 4 && !in_set) {
		sb_printf(&rp->text, " any");
		sd->any = true;
	} else if (w < 8) {
		sb_printf(&rp->text, " localhost");
		sd->local = true;
	} else if (w < 14) {
		sb_printf(&rp->text, " external");
		sd->external = true;
	} else if (w < 45) {
		size_t k = below(s, rp->nnets);
		sb_printf(&rp->text, " %s", rp->nets[k]);
		side_net(rp, sd, k);
	} else if (w < 65) {
		size_t k = below(s, rp->ncomps);
		sb_printf(&rp->text, " %s", rp->comps[k]);
		side_net(rp, sd, rp->nnets + k);
	} else if (w < 80 && dst) {
		sb_printf(&rp->text, " %s", pick(s, rp->doms, rp->ndoms));
	} else {
		struct span s4 = {rp->na4, 0}, s6 = {rp->na6, 0};
		gen_addr(rp, &rp->text);
		s4.n = rp->na4 - s4.off;
		s6.n = rp->na6 - s6.off;
		VEC_PUSH(sd->a4, sd->na4, s4);
		VEC_PUSH(sd->a6, sd->na6, s6);
	}
}

static void gen_side(struct randpolicy *rp, struct side *sd, bool dst)
{
	uint64_t *s = &rp->gen;
	if (chance(s, 80)) {
		gen_side_item(rp, sd, dst, false);
		return;
	}
	size_t k = 2 + below(s, 3);
	sb_printf(&rp->text, " {");
	for (size_t i = 0; i < k; i++)
		gen_side_item(rp, sd, dst, true);
	sb_printf(&rp->text, " }");
}

static void gen_proto_ref(struct randpolicy *rp, struct grule *g)
{
	size_t k = below(&rp->gen, rp->nprotos);
	sb_printf(&rp->text, " %s", rp->protos[k]);
	VEC_PUSH(g->protos, g->nprotos, k);
}

/* A protocol of a list of several: never one with `filter dns` (a few
 * tries, then none); false when none was written. */
static bool gen_proto_ref_listed(struct randpolicy *rp, struct grule *g)
{
	for (int tries = 0; tries < 8; tries++) {
		size_t k = below(&rp->gen, rp->nprotos);
		if (k < rp->npdns && rp->pdns[k])
			continue;
		sb_printf(&rp->text, " %s", rp->protos[k]);
		VEC_PUSH(g->protos, g->nprotos, k);
		return true;
	}
	return false;
}

static void gen_rule(struct randpolicy *rp, size_t i)
{
	uint64_t *s = &rp->gen;
	struct grule g = {.sched = -1};

	sb_printf(&rp->text, "rule \"r%zu\" %s", i,
		  chance(s, 60) ? "allow" : "deny");
	unsigned w = (unsigned)below(s, 100);
	if (w < 65) {
		gen_proto_ref(rp, &g);
	} else if (w < 85) {
		size_t k = 2 + below(s, 3), written = 0;
		sb_printf(&rp->text, " {");
		for (size_t j = 0; j < k; j++)
			written += gen_proto_ref_listed(rp, &g);
		if (!written) /* a list of one, whatever its filter */
			gen_proto_ref(rp, &g);
		sb_printf(&rp->text, " }");
	} else if (w < 88) {
		sb_printf(&rp->text, " any");
	}
	sb_printf(&rp->text, " from");
	gen_side(rp, &g.src, false);
	sb_printf(&rp->text, " to");
	gen_side(rp, &g.dst, true);
	w = (unsigned)below(s, 100);
	if (w < 20) {
		sb_printf(&rp->text, " users %s",
			  pick(s, rp->usets, rp->nusets));
	} else if (w < 25) {
		sb_printf(&rp->text, " users all");
	} else if (w < 30) {
		sb_printf(&rp->text, " users authenticated");
	} else if (w < 38) {
		sb_printf(&rp->text, " users {");
		size_t k = 2 + below(s, 2);
		for (size_t j = 0; j < k; j++) {
			unsigned v = (unsigned)below(s, 10);
			sb_printf(&rp->text, " %s",
				  v == 0   ? "authenticated"
				  : v == 1 ? "all"
					   : pick(s, rp->usets, rp->nusets));
		}
		sb_printf(&rp->text, " }");
	}
	if (chance(s, 20)) {
		g.sched = (long)below(s, rp->nscheds);
		sb_printf(&rp->text, " during %s", rp->scheds[g.sched]);
	}
	if (chance(s, 10))
		sb_printf(&rp->text, " log");
	sb_printf(&rp->text, "\n");
	VEC_PUSH(rp->rules, rp->nrules, g);
}

struct randpolicy *randpolicy_new(uint64_t seed, size_t nrules)
{
	struct randpolicy *rp = xcalloc(1, sizeof(*rp));

	rp->gen = seed * 0x2545f4914f6cdd1dull + 1;
	rp->cstate = seed ^ 0x5851f42d4c957f2dull;
	sb_printf(&rp->text, "# randpolicy seed %llu, %zu rules\n",
		  (unsigned long long)seed, nrules);
	gen_netsets(rp, 2 + nrules / 8, 2 + nrules / 10);
	gen_domains(rp, 1 + nrules / 20);
	gen_users(rp, 1 + nrules / 30);
	gen_protocols(rp, 3 + nrules / 10);
	gen_schedules(rp, 1 + nrules / 50);
	for (size_t i = 0; i < nrules; i++)
		gen_rule(rp, i);
	return rp;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void randpolicy_free(struct randpolicy *rp)
{
	if (!rp)
		return;
	free(rp->text.s);
	free(rp->a4);
	free(rp->a6);
	for (int t = 0; t < TR_COUNT; t++)
		free(rp->ports[t]);
	free(rp->minutes);
	free_strs(rp->users, rp->nusers);
	free_strs(rp->groups, rp->ngroups);
	free_strs(rp->exact, rp->nexact);
	free_strs(rp->suffix, rp->nsuffix);
	free_strs(rp->nets, rp->nnets);
	free_strs(rp->comps, rp->ncomps);
	free_strs(rp->doms, rp->ndoms);
	free_strs(rp->usets, rp->nusets);
	free_strs(rp->protos, rp->nprotos);
	free(rp->pdns);
	free_strs(rp->scheds, rp->nscheds);
	free(rp->net4);
	free(rp->net6);
	free(rp->pspan);
	free(rp->ptr);
	free(rp->mspan);
	for (size_t i = 0; i < rp->nrules; i++) {
		struct grule *g = &rp->rules[i];
		free(g->src.a4);
		free(g->src.a6);
		free(g->dst.a4);
		free(g->dst.a6);
		free(g->protos);
	}
	free(rp->rules);
	free(rp);
}

const char *randpolicy_text(const struct randpolicy *rp, size_t *len)
{
	if (len)
		*len = rp->text.n;
	return rp->text.s;
}

/* ---- cases ------------------------------------------------------------------------ */

/* A value in or at the edge of [LO, HI]: mostly inside or at an end,
 * now and then one past an end. */
static u128 near(uint64_t *s, u128 lo, u128 hi, u128 max)
{
	unsigned w = (unsigned)below(s, 100);
	if (w < 12)
		return lo;
	if (w < 24)
		return hi;
	if (w < 30)
		return lo ? lo - 1 : lo;
	if (w < 36)
		return hi < max ? hi + 1 : hi;
	u128 span = hi - lo;
	u128 r = ((u128)next64(s) << 64) | next64(s);
	return span == ~(u128)0 ? r : lo + r % (span + 1);
}

static uint32_t draw4(struct randpolicy *rp)
{
	uint64_t *s = &rp->cstate;
	unsigned w = (unsigned)below(s, 100);
	if (w < 75 && rp->na4) {
		const struct range4 *r = &rp->a4[below(s, rp->na4)];
		return (uint32_t)near(s, r->lo, r->hi, UINT32_MAX);
	}
	if (w < 90)
		return V4_BASE | (uint32_t)below(s, V4_SPAN);
	return (uint32_t)next64(s);
}

static u128 draw6(struct randpolicy *rp)
{
	uint64_t *s = &rp->cstate;
	unsigned w = (unsigned)below(s, 100);
	if (w < 75 && rp->na6) {
		const struct range6 *r = &rp->a6[below(s, rp->na6)];
		return near(s, r->lo, r->hi, ~(u128)0);
	}
	if (w < 90)
		return v6_random(s);
	return ((u128)next64(s) << 64) | next64(s);
}

static uint16_t draw_port(struct randpolicy *rp, enum transport t,
			  uint16_t max)
{
	uint64_t *s = &rp->cstate;
	if (rp->nports[t] && chance(s, 85)) {
		const struct prange *r = &rp->ports[t][below(s, rp->nports[t])];
		return (uint16_t)near(s, r->lo, r->hi, max);
	}
	return (uint16_t)below(s, (uint64_t)max + 1);
}

/* A flow of random shape, drawn from the pools of the whole policy. */
static void flow_random(struct randpolicy *rp, struct flow *f)
{
	uint64_t *s = &rp->cstate;

	memset(f, 0, sizeof(*f));
	f->family = chance(s, 70) ? AF_INET : AF_INET6;
	if (f->family == AF_INET) {
		f->src4 = draw4(rp);
		f->dst4 = draw4(rp);
	} else {
		f->src6 = draw6(rp);
		f->dst6 = draw6(rp);
	}
	f->src_local = chance(s, 7);
	f->dst_local = !f->src_local && chance(s, 7);
	f->sport = (uint16_t)(1024 + below(s, 64512));

	unsigned w = (unsigned)below(s, 100);
	bool v4 = f->family == AF_INET;
	if (w < 42) {
		f->proto = IPPROTO_TCP;
		f->dport = draw_port(rp, TR_TCP, 65535);
	} else if (w < 72) {
		f->proto = IPPROTO_UDP;
		f->dport = draw_port(rp, TR_UDP, 65535);
	} else if (w < 92) {
		/* ICMP of the family, now and then of the other one */
		bool mismatch = w >= 90;
		f->proto = (v4 != mismatch) ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		f->icmp_type = (uint8_t)draw_port(
		    rp, f->proto == IPPROTO_ICMP ? TR_ICMP : TR_ICMPV6, 255);
	} else {
		static const uint8_t other[] = {47, 50, 132, 0};
		f->proto = other[below(s, ARRAY_SIZE(other))];
		f->dport = (uint16_t)below(s, 65536);
	}
	if (rp->nminutes && chance(s, 40)) {
		int m = rp->minutes[below(s, rp->nminutes)] +
			(int)below(s, 3) - 1;
		f->minute = (uint16_t)((m + MINUTES_PER_WEEK) % MINUTES_PER_WEEK);
	} else {
		f->minute = (uint16_t)below(s, MINUTES_PER_WEEK);
	}
}

static size_t side_count(const struct side *sd, bool v4)
{
	size_t n = 0;
	const struct span *v = v4 ? sd->a4 : sd->a6;
	for (size_t i = 0, k = v4 ? sd->na4 : sd->na6; i < k; i++)
		n += v[i].n;
	return n;
}

/* An address of side SD (or near it) for the family of F. */
static void side_addr(struct randpolicy *rp, const struct side *sd,
		      struct flow *f, bool dst)
{
	uint64_t *s = &rp->cstate;
	bool v4 = f->family == AF_INET;
	size_t n = side_count(sd, v4);
	uint32_t a4 = 0;
	u128 a6 = 0;

	if (n && chance(s, 85)) {
		size_t k = below(s, n);
		const struct span *v = v4 ? sd->a4 : sd->a6;
		while (k >= v->n)
			k -= (v++)->n;
		if (v4) {
			const struct range4 *r = &rp->a4[v->off + k];
			a4 = (uint32_t)near(s, r->lo, r->hi, UINT32_MAX);
		} else {
			const struct range6 *r = &rp->a6[v->off + k];
			a6 = near(s, r->lo, r->hi, ~(u128)0);
		}
	} else if (v4) {
		a4 = draw4(rp);
	} else {
		a6 = draw6(rp);
	}
	bool local = sd->local && chance(s, 50);
	if (dst) {
		if (v4)
			f->dst4 = a4;
		else
			f->dst6 = a6;
		f->dst_local = local;
	} else {
		if (v4)
			f->src4 = a4;
		else
			f->src6 = a6;
		f->src_local = local;
	}
}

/* A flow aimed at generated rule G: most fields inside what G names. */
static void flow_aimed(struct randpolicy *rp, const struct grule *g,
		       struct flow *f)
{
	static const uint8_t ipproto[TR_COUNT] = {IPPROTO_TCP, IPPROTO_UDP,
						  IPPROTO_ICMP, IPPROTO_ICMPV6};
	uint64_t *s = &rp->cstate;

	flow_random(rp, f); /* the fields G leaves open */
	f->src_local = f->dst_local = false;
	if (g->nprotos && chance(s, 90)) {
		size_t k = g->protos[below(s, g->nprotos)];
		enum transport t = rp->ptr[k];
		const struct span *sp = &rp->pspan[k];
		bool icmp = t == TR_ICMP || t == TR_ICMPV6;
		uint16_t v = (uint16_t)below(s, icmp ? 256 : 65536);
		if (sp->n) {
			const struct prange *r =
			    &rp->ports[t][sp->off + below(s, sp->n)];
			v = (uint16_t)near(s, r->lo, r->hi, icmp ? 255 : 65535);
		}
		f->proto = ipproto[t];
		f->dport = icmp ? 0 : v;
		f->icmp_type = icmp ? (uint8_t)v : 0;
		if (icmp && chance(s, 95))
			f->family = t == TR_ICMP ? AF_INET : AF_INET6;
	}
	if (!(f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)) {
		/* the family the sides have addresses of */
		bool has4 = side_count(&g->src, true) || side_count(&g->dst, true);
		bool has6 = side_count(&g->src, false) ||
			    side_count(&g->dst, false);
		if (has4 != has6 && chance(s, 90))
			f->family = has4 ? AF_INET : AF_INET6;
	}
	side_addr(rp, &g->src, f, false);
	side_addr(rp, &g->dst, f, true);
	if (g->sched >= 0 && chance(s, 80)) {
		const struct span *sp = &rp->mspan[g->sched];
		if (sp->n) {
			int m = rp->minutes[sp->off + below(s, sp->n)] +
				(int)below(s, 121) - 60;
			f->minute = (uint16_t)((m + MINUTES_PER_WEEK) %
					       MINUTES_PER_WEEK);
		}
	}
}

void randpolicy_flow(struct randpolicy *rp, struct flow *f)
{
	if (rp->nrules && chance(&rp->cstate, 75))
		flow_aimed(rp, &rp->rules[below(&rp->cstate, rp->nrules)], f);
	else
		flow_random(rp, f);
}

static void draw_name(struct randpolicy *rp, char *buf, size_t len)
{
	uint64_t *s = &rp->cstate;
	unsigned w = (unsigned)below(s, 100);

	if (w < 35 && rp->nexact)
		snprintf(buf, len, "%s", pick(s, rp->exact, rp->nexact));
	else if (w < 65 && rp->nsuffix)
		snprintf(buf, len, "%s%s", chance(s, 20) ? "" : "x.",
			 pick(s, rp->suffix, rp->nsuffix));
	else if (w < 80)
		snprintf(buf, len, "h%u.d%u.example", (unsigned)below(s, 5),
			 (unsigned)below(s, 20));
	else
		snprintf(buf, len, "unrelated%u.net", (unsigned)below(s, 9));
	if (chance(s, 10)) { /* DNS is case-insensitive; a root dot */
		for (char *p = buf; *p; p++)
			if (*p >= 'a' && *p <= 'z' && chance(s, 50))
				*p = (char)(*p - 'a' + 'A');
	}
	if (chance(s, 5) && strlen(buf) + 1 < len)
		strcat(buf, ".");
}

void randpolicy_case(struct randpolicy *rp, struct randcase *c)
{
	uint64_t *s = &rp->cstate;

	memset(c, 0, sizeof(*c));
	randpolicy_flow(rp, &c->flow);
	c->has_facts = chance(s, 70);
	if (!c->has_facts)
		return;
	struct facts *fa = &c->facts;
	fa->known = (unsigned)below(s, 8);
	if (chance(s, 80)) {
		fa->user = chance(s, 95) ? pick(s, rp->users, rp->nusers)
					 : "stranger";
		size_t ng = below(s, ARRAY_SIZE(c->groups) + 1);
		for (size_t i = 0; i < ng; i++)
			c->groups[i] = pick(s, rp->groups, rp->ngroups);
		fa->groups = c->groups;
		fa->ngroups = ng;
	}
	if (chance(s, 85)) { /* one name mostly, else none or several */
		size_t nn = chance(s, 70) ? 1 : below(s, 4);
		for (size_t i = 0; i < nn; i++) {
			draw_name(rp, c->name[i], sizeof(c->name[i]));
			c->names[i] = c->name[i];
		}
		fa->names = c->names;
		fa->nnames = nn;
		fa->names_partial = chance(s, 15);
	}
	fa->filter_ok = chance(s, 50);
}

const char *randcase_format(const struct randcase *c, char *buf, size_t len)
{
	const struct flow *f = &c->flow;
	char sa[64], da[64];
	int k = snprintf(
	    buf, len,
	    "family=%s proto=%u src=%s%s dst=%s%s sport=%u dport=%u "
	    "icmp_type=%u minute=%u",
	    f->family == AF_INET ? "inet" : "inet6", f->proto,
	    format_addr(f->family, f->src4, f->src6, sa, sizeof(sa)),
	    f->src_local ? "(local)" : "",
	    format_addr(f->family, f->dst4, f->dst6, da, sizeof(da)),
	    f->dst_local ? "(local)" : "", f->sport, f->dport, f->icmp_type,
	    f->minute);
	if (k < 0 || (size_t)k >= len)
		return buf;
	if (!c->has_facts) {
		snprintf(buf + k, len - (size_t)k, " facts=NULL");
		return buf;
	}
	const struct facts *fa = &c->facts;
	int m = snprintf(buf + k, len - (size_t)k,
			 " known=%u user=%s groups=", fa->known,
			 fa->user ? fa->user : "(none)");
	if (m < 0 || (size_t)(k += m) >= len)
		return buf;
	for (size_t i = 0; i < fa->ngroups && (size_t)k < len; i++) {
		m = snprintf(buf + k, len - (size_t)k, "%s%s", i ? "," : "",
			     fa->groups[i]);
		if (m < 0)
			return buf;
		k += m;
	}
	for (size_t i = 0; i < fa->nnames && (size_t)k < len; i++) {
		m = snprintf(buf + k, len - (size_t)k, "%s%s",
			     i ? "," : " names=", fa->names[i]);
		if (m < 0)
			return buf;
		k += m;
	}
	if ((size_t)k < len)
		snprintf(buf + k, len - (size_t)k, "%s partial=%d filter_ok=%d",
			 fa->nnames ? "" : " names=(none)", fa->names_partial,
			 fa->filter_ok);
	return buf;
}
