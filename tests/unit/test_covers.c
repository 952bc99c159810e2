/*
 * test_covers.c — a property test of the shadowed-rule checker
 * (shadow.c rule_covers) against the reference evaluator
 * (policy_eval_linear): when rule_covers(A, B), every case of random flows
 * and facts that B matches is matched by A too, and the whole policy never
 * decides by a rule the checker said can never match. A dimension that
 * rule_covers forgets shows up as a case B matches and A does not. And the
 * checker's index (check_shadowing) warns about exactly the rules a plain
 * scan of the earlier rules finds covered, naming the same first cover.
 * Random policies and cases from randpolicy.c, fixed seeds.
 */
#include "policy/internal.h"
#include "randpolicy.h"
#include "common/util.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The decision of rule R alone for C: the reference evaluator on a view of
 * P holding only R. Returns true when R takes the case (decides it or
 * stops evaluation waiting for a fact). */
static bool rule_takes(const struct policy *p, struct rule *r,
		       const struct randcase *c)
{
	struct policy view = *p;
	struct rule *one[1] = {r};
	view.rules = one;
	view.nrules = 1;
	struct decision d;
	policy_eval_linear(&view, &c->flow, randcase_facts(c), &d);
	return d.rule == r->index; /* decisions name rules by index */
}

/* Whether the checker warned that rule NAME can never match. */
static bool warned(const struct diags *d, const char *name)
{
	char needle[160];
	snprintf(needle, sizeof(needle), "rule '%s' can never match", name);
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == DIAG_WARNING && strstr(d->v[i].msg, needle))
			return true;
	return false;
}

struct tally {
	size_t pairs, checked, bad;
};

/* Every pair of P's rules in which rule_covers() says an earlier rule A
 * covers a later rule B, tried on the NCASES CASES: A must take each case B
 * takes. Counts the pairs, the cases tried and the faults in T, and prints
 * the first five faults ("TAGseed SEED: ..."). */
static void check_covers(const struct policy *p,
			 const struct randcase *cases, size_t ncases,
			 struct tally *t, const char *tag, uint64_t seed)
{
	for (size_t j = 0; j < p->nrules; j++)
		for (size_t i = 0; i < j; i++) {
			struct rule *a = p->rules[i], *b = p->rules[j];
			if (!rule_covers(a, b))
				continue;
			t->pairs++;
			for (size_t k = 0; k < ncases; k++) {
				if (!rule_takes(p, b, &cases[k]))
					continue;
				t->checked++;
				if (rule_takes(p, a, &cases[k]))
					continue;
				if (t->bad++ < 5) {
					char buf[512];
					fprintf(stderr, "%sseed %llu: rule '%s' "
						"said to cover '%s', which "
						"takes a case it does not:\n"
						"  %s\n",
						tag, (unsigned long long)seed,
						a->name, b->name,
						randcase_format(&cases[k], buf,
								sizeof(buf)));
				}
			}
		}
}

static void check_seed(uint64_t seed, size_t nrules, size_t ncases,
		       struct tally *t)
{
	struct randpolicy *rp = randpolicy_new(seed, nrules);
	struct diags d = {0};
	size_t len;
	const char *text = randpolicy_text(rp, &len);
	struct policy *p = policy_load_buffer("rand.conf", text, len, &d);
	if (!p) {
		diags_print(&d, stderr);
		fail_msg("randpolicy wrote an invalid policy (seed %llu)",
			 (unsigned long long)seed);
	}
	bool *shadowed = calloc(p->nrules + 1, sizeof(*shadowed));
	for (size_t j = 0; j < p->nrules; j++)
		shadowed[j] = warned(&d, p->rules[j]->name);

	struct randcase *cases = calloc(ncases, sizeof(*cases));
	for (size_t k = 0; k < ncases; k++) {
		randpolicy_case(rp, &cases[k]); /* filled in place */
		struct decision dec;
		policy_eval_linear(p, &cases[k].flow, randcase_facts(&cases[k]),
				   &dec);
		if (dec.rule >= 0 && shadowed[dec.rule]) {
			char buf[512];
			fprintf(stderr, "seed %llu: rule '%s' decided, yet the "
				"checker says it never matches:\n  %s\n",
				(unsigned long long)seed,
				p->rules[dec.rule]->name,
				randcase_format(&cases[k], buf, sizeof(buf)));
			t->bad++;
		}
	}
	check_covers(p, cases, ncases, t, "", seed);
	free(cases);
	free(shadowed);
	policy_free(p);
	diags_free(&d);
	randpolicy_free(rp);
}

/* ---- dense policies: few elements, many overlaps ------------------------ */

/* A policy drawn from a small vocabulary, so that rules often differ in
 * one dimension only (protocols, a side, users, schedule): the cases where
 * a forgotten dimension in rule_covers would show. */
static const char dense_elements[] =
    "network n_a { 10.0.0.0/8 }\n"
    "network n_b { 10.1.0.0/16 }\n"
    "network n_c { 10.1.2.0/24 192.168.1.0/24 }\n"
    "computers c_d { 10.1.2.3 10.9.9.9 }\n"
    "domains d_ex { example.com *.example.com }\n"
    "domains d_www { www.example.com }\n"
    "users u_staff { group staff }\n"
    "users u_alice { user alice }\n"
    "users u_mix { user bob group staff }\n"
    "protocol p_web tcp { 80 443 }\n"
    "protocol p_http tcp 80\n"
    "protocol p_tcp tcp\n"
    "protocol p_dns udp 53\n"
    "protocol p_udp udp\n"
    "protocol p_ping icmp echo-request\n"
    "protocol p_icmp icmp\n"
    "schedule s_work { mon-fri 08:00-18:00 }\n"
    "schedule s_morn { mon-fri 08:00-12:00 }\n"
    "schedule s_mon { mon 00:00-23:59 }\n";

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static const char *pick(uint64_t *x, const char *const *v, size_t n)
{
	return v[rng_next(x) % n];
}
#define PICK(x, v) pick(x, v, sizeof(v) / sizeof(v[0]))

/* Appends to BUF (a growing string) one or two words of V, braced. */
static void put_list(char **buf, uint64_t *x, const char *const *v, size_t n)
{
	const char *a = pick(x, v, n), *b = pick(x, v, n);
	char *s = rng_next(x) % 3 ? xasprintf("%s%s", *buf, a)
				  : xasprintf("%s{ %s %s }", *buf, a, b);
	free(*buf);
	*buf = s;
}

static char *dense_policy(uint64_t seed, size_t nrules)
{
	static const char *const protos[] = {"p_web", "p_http", "p_tcp",
					     "p_dns", "p_udp", "p_ping",
					     "p_icmp"};
	static const char *const srcs[] = {"any", "n_a", "n_b", "n_c", "c_d",
					   "10.1.2.0/25", "localhost",
					   "external"};
	static const char *const dsts[] = {"any",  "n_a",   "n_b",
					   "n_c",  "c_d",   "d_ex",
					   "d_www", "external", "localhost"};
	static const char *const users[] = {"u_staff", "u_alice", "u_mix",
					    "authenticated", "all"};
	static const char *const scheds[] = {"s_work", "s_morn", "s_mon"};
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	char *t = xstrdup(dense_elements);
	for (size_t i = 0; i < nrules; i++) {
		char *s = xasprintf("%srule \"r%zu\" %s ", t, i,
				    rng_next(&x) % 2 ? "allow" : "deny");
		free(t);
		t = s;
		if (rng_next(&x) % 3)
			put_list(&t, &x, protos, 7);
		s = xasprintf("%s from ", t);
		free(t);
		t = s;
		put_list(&t, &x, srcs, 8);
		s = xasprintf("%s to ", t);
		free(t);
		t = s;
		put_list(&t, &x, dsts, 9);
		if (rng_next(&x) % 2) {
			s = xasprintf("%s users ", t);
			free(t);
			t = s;
			put_list(&t, &x, users, 5);
		}
		bool during = rng_next(&x) % 2;
		s = xasprintf("%s%s%s\n", t, during ? " during " : "",
			      during ? PICK(&x, scheds) : "");
		free(t);
		t = s;
	}
	return t;
}

/* A case drawn from the same vocabulary, with every fact known. */
static void dense_case(uint64_t *x, struct randcase *c)
{
	static const uint32_t addrs[] = {
	    0x0a000001, 0x0a010001, 0x0a010203, 0x0a010280, 0x0a090909,
	    0xc0a80105, 0xc6120001, 0x0a020304, 0x01020304};
	static const uint16_t ports[] = {80, 443, 53, 22, 8080};
	static const uint8_t l4[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
	static const char *const names[] = {"example.com", "www.example.com",
					    "a.example.com", "other.org"};
	static const char *const who[] = {"alice", "bob", "carol"};
	static const uint16_t minutes[] = {0, 8 * 60, 10 * 60, 13 * 60,
					   17 * 60 + 59, 18 * 60,
					   5 * 1440 + 9 * 60};
	memset(c, 0, sizeof(*c));
	struct flow *f = &c->flow;
	f->family = AF_INET;
	f->proto = l4[rng_next(x) % 3];
	f->src4 = addrs[rng_next(x) % 9];
	f->dst4 = addrs[rng_next(x) % 9];
	f->src_local = rng_next(x) % 8 == 0;
	f->dst_local = rng_next(x) % 8 == 0;
	f->sport = 40000;
	f->dport = ports[rng_next(x) % 5];
	f->icmp_type = rng_next(x) % 2 ? 8 : 0;
	f->minute = minutes[rng_next(x) % 7];
	c->has_facts = true;
	c->facts.known = NEED_IDENTITY | NEED_NAME;
	unsigned u = (unsigned)(rng_next(x) % 4);
	c->facts.user = u < 3 ? who[u] : NULL;
	if (c->facts.user && rng_next(x) % 2) {
		c->groups[0] = "staff";
		c->facts.groups = c->groups;
		c->facts.ngroups = 1;
	}
	unsigned n = (unsigned)(rng_next(x) % 5);
	if (n < 4) {
		snprintf(c->name[0], sizeof(c->name[0]), "%s", names[n]);
		c->names[0] = c->name[0];
		c->facts.names = c->names;
		c->facts.nnames = 1;
	}
}

static void check_dense(uint64_t seed, size_t nrules, size_t ncases,
			struct tally *t)
{
	char *text = dense_policy(seed, nrules);
	struct diags d = {0};
	struct policy *p = policy_load_buffer("dense.conf", text,
					      strlen(text), &d);
	if (!p) {
		diags_print(&d, stderr);
		fprintf(stderr, "%s", text);
		fail_msg("the dense policy of seed %llu does not load",
			 (unsigned long long)seed);
	}
	/* the checker's index finds the first cover a plain scan finds */
	for (size_t j = 0; j < p->nrules; j++) {
		const struct rule *b = p->rules[j], *first = NULL;
		for (size_t i = 0; i < j && !first; i++)
			if (rule_covers(p->rules[i], b))
				first = p->rules[i];
		char want[160];
		snprintf(want, sizeof(want), "rule '%s' can never match: rule "
			 "'%s' (line", b->name, first ? first->name : "");
		bool found = false;
		for (size_t k = 0; k < d.n && !found; k++)
			found = strstr(d.v[k].msg, want) != NULL;
		if (found != (first != NULL)) {
			fprintf(stderr, "dense seed %llu: rule '%s': first "
				"cover %s, warned %s\n",
				(unsigned long long)seed, b->name,
				first ? first->name : "(none)",
				found ? "yes" : "no");
			t->bad++;
		}
	}
	uint64_t x = seed + 12345;
	struct randcase *cases = calloc(ncases, sizeof(*cases));
	for (size_t k = 0; k < ncases; k++)
		dense_case(&x, &cases[k]);
	check_covers(p, cases, ncases, t, "dense ", seed);
	free(cases);
	policy_free(p);
	diags_free(&d);
	free(text);
}

static void test_covers_is_sound_dense(void **state)
{
	(void)state;
	struct tally t = {0};
	for (uint64_t seed = 1; seed <= 200; seed++)
		check_dense(seed, 40, 3000, &t);
	fprintf(stderr, "dense: covered pairs %zu, cases checked %zu, bad "
		"%zu\n", t.pairs, t.checked, t.bad);
	assert_int_equal(t.bad, 0);
	assert_true(t.pairs >= 200);
	assert_true(t.checked >= 10000);
}

static void test_covers_is_sound(void **state)
{
	(void)state;
	struct tally t = {0};
	for (uint64_t i = 0; i < 300; i++) {
		uint64_t seed = 77000 + i;
		size_t nrules = 2 + (size_t)(seed * 2654435761u % 60);
		check_seed(seed, nrules, 1500, &t);
	}
	fprintf(stderr, "covered pairs %zu, cases checked %zu, bad %zu\n",
		t.pairs, t.checked, t.bad);
	assert_int_equal(t.bad, 0);
	/* the property was exercised, not vacuously true */
	assert_true(t.pairs >= 50);
	assert_true(t.checked >= 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_covers_is_sound),
	    cmocka_unit_test(test_covers_is_sound_dense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
