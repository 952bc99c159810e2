/*
 * test_differential.c — the compiled engine (engine.c) against the
 * reference evaluator (policy_eval_linear): same verdict, rule, needs and
 * filter for random policies and random flows and facts (randpolicy.c).
 *
 * SLUICE_DIFF_SCALE (environment, default 1) multiplies the number of
 * policies, e.g. 10 for a long soak; valgrind runs can use a fraction
 * through SLUICE_DIFF_SCALE=0.1.
 */
#include "policy/policy.h"
#include "randpolicy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static double scale(void)
{
	const char *s = getenv("SLUICE_DIFF_SCALE");
	double v = s ? atof(s) : 1.0;
	return v > 0 ? v : 1.0;
}

static bool same(const struct decision *a, const struct decision *b)
{
	if (a->verdict != b->verdict || a->rule != b->rule ||
	    a->needs != b->needs || a->name != b->name)
		return false;
	if (!a->filter || !b->filter)
		return a->filter == b->filter;
	return strcmp(a->filter, b->filter) == 0;
}

static void print_decision(const char *who, const struct decision *d)
{
	fprintf(stderr, "  %-6s verdict=%s rule=%d needs=%u filter=%s\n", who,
		verdict_name(d->verdict), d->rule, d->needs,
		d->filter ? d->filter : "(none)");
}

/*
 * Loads the policy of SEED with NRULES rules and compares both evaluators
 * on NCASES cases. Returns the number of mismatches (printing the first
 * few); fails the test when the generated text does not load.
 */
static int check_seed(uint64_t seed, size_t nrules, size_t ncases)
{
	struct randpolicy *rp = randpolicy_new(seed, nrules);
	struct diags d = {0};
	size_t len;
	const char *text = randpolicy_text(rp, &len);
	struct policy *p = policy_load_buffer("rand.conf", text, len, &d);
	int bad = 0;

	if (!p) {
		fprintf(stderr, "seed %llu (%zu rules): generated policy does "
			"not load:\n", (unsigned long long)seed, nrules);
		diags_print(&d, stderr);
		diags_free(&d);
		randpolicy_free(rp);
		fail_msg("randpolicy wrote an invalid policy");
		return 1;
	}
	struct engine *e = engine_build(p);
	for (size_t i = 0; i < ncases; i++) {
		struct randcase c;
		struct decision want, got;
		randpolicy_case(rp, &c);
		const struct facts *fa = randcase_facts(&c);
		policy_eval_linear(p, &c.flow, fa, &want);
		engine_eval(e, &c.flow, fa, &got);
		if (same(&want, &got))
			continue;
		if (bad++ < 5) {
			char buf[512];
			fprintf(stderr, "MISMATCH seed %llu (%zu rules) case "
				"%zu:\n  %s\n", (unsigned long long)seed,
				nrules, i, randcase_format(&c, buf, sizeof(buf)));
			print_decision("linear", &want);
			print_decision("engine", &got);
		}
	}
	engine_free(e);
	policy_free(p);
	diags_free(&d);
	randpolicy_free(rp);
	return bad;
}

/* Many small and medium policies: 1..300 rules. */
static void test_small_policies(void **state)
{
	(void)state;
	size_t npol = (size_t)(200 * scale()), bad = 0;
	for (size_t i = 0; i < npol; i++) {
		uint64_t seed = 1000 + i;
		size_t nrules = 1 + (size_t)(seed * 2654435761u % 300);
		bad += (size_t)check_seed(seed, nrules, 2000);
	}
	assert_int_equal(bad, 0);
}

/* A few large policies. */
static void test_large_policies(void **state)
{
	(void)state;
	size_t npol = (size_t)(4 * scale()), bad = 0;
	if (!npol)
		npol = 1;
	for (size_t i = 0; i < npol; i++)
		bad += (size_t)check_seed(900000 + i, 2000, 20000);
	assert_int_equal(bad, 0);
}

/* Corner cases: no rule at all, and a one-rule policy of `any`. */
static void test_edges(void **state)
{
	(void)state;
	static const char *const texts[] = {
	    "",
	    "rule \"all\" allow from any to any\n",
	    "protocol t tcp\nrule \"t\" deny t from localhost to localhost\n",
	};
	for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		struct diags d = {0};
		struct policy *p = policy_load_buffer(
		    "edge.conf", texts[k], strlen(texts[k]), &d);
		if (!p)
			diags_print(&d, stderr);
		assert_non_null(p);
		struct engine *e = engine_build(p);
		struct randpolicy *rp = randpolicy_new(k, 20);
		for (int i = 0; i < 5000; i++) {
			struct randcase c;
			struct decision want, got;
			randpolicy_case(rp, &c);
			policy_eval_linear(p, &c.flow, randcase_facts(&c), &want);
			engine_eval(e, &c.flow, randcase_facts(&c), &got);
			assert_true(same(&want, &got));
		}
		randpolicy_free(rp);
		engine_free(e);
		policy_free(p);
		diags_free(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_small_policies),
	    cmocka_unit_test(test_large_policies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
