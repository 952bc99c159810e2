/* test_names.c — a destination with several names: a domain set
 * matches when any of the destination's names does, first-match rule order
 * decides, the answer does not depend on the order of the names nor on the
 * order the domain sets are written, and a partial set of names never
 * turns into "no". Both evaluators, every permutation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shape of the field case dns-multiple-ptr; ORDER picks which of the
 * exact-name sets is written first. */
#define POLICY_FMT                                                          \
    "network clients { 198.18.1.0/24 }\n"                                     \
    "domains work    { *.work.fb.test }\n"                                     \
    "%s\n%s\n"                                                              \
    "protocol web tcp 80\n"                                                  \
    "rule \"no ads\"  deny  web from clients to blocked\n"                   \
    "rule \"work\"    allow web from clients to { work partner }\n"
static const char *const set_blocked = "domains blocked { ads.fb.test }";
static const char *const set_partner = "domains partner { www.partner.fb.test }";

static struct policy *load(bool swapped)
{
	char text[1024];
	snprintf(text, sizeof(text), POLICY_FMT,
		 swapped ? set_blocked : set_partner,
		 swapped ? set_partner : set_blocked);
	struct diags d = {0};
	struct policy *p = policy_load_buffer("names.conf", text, strlen(text),
					      &d);
	diags_print(&d, stderr);
	diags_free(&d);
	assert_non_null(p);
	return p;
}

struct want {
	enum verdict v;
	const char *rule; /* NULL: none */
	unsigned needs;
	const char *by;	  /* decision.name; NULL: none, "*": any */
};

/* Evaluates a web session to 198.18.2.5 with NAMES[0..N) (PARTIAL) in both
 * evaluators of both policies (sets in either order) and for every order
 * of the names; every answer must be W. */
static void expect(const char *const *names, size_t n, bool partial,
		   struct want w)
{
	struct flow f;
	char *err = NULL;
	assert_int_equal(flow_parse("tcp 198.18.1.2:40000 -> 198.18.2.5:80",
				    &f, &err),
			 0);
	f.minute = 600;
	for (int swapped = 0; swapped < 2; swapped++) {
		struct policy *p = load(swapped);
		struct engine *e = engine_build(p);
		/* every order of the names (Heap's algorithm) */
		size_t idx[4] = {0, 1, 2, 3}, c[4] = {0}, i = 1, k = 0;
		assert_true(n <= 4);
		for (;;) {
			const char *perm[4];
			for (size_t j = 0; j < n; j++)
				perm[j] = names[idx[j]];
			struct facts fx = {.known = NEED_NAME | NEED_IDENTITY,
					   .names = perm,
					   .nnames = n,
					   .names_partial = partial};
			struct decision a, b;
			policy_eval_linear(p, &f, &fx, &a);
			engine_eval(e, &f, &fx, &b);
			const char *got =
			    a.rule >= 0 ? p->rules[a.rule]->name : NULL;
			bool by_ok = w.by == NULL ? a.name == NULL
				     : strcmp(w.by, "*") == 0
					 ? a.name != NULL
					 : a.name && !strcmp(a.name, w.by);
			if (a.verdict != w.v || a.needs != w.needs ||
			    (w.rule ? !got || strcmp(got, w.rule)
				    : got != NULL) ||
			    !by_ok) {
				fprintf(stderr,
					"swapped=%d order %zu: got %s rule %s "
					"needs %u by %s\n",
					swapped, k, verdict_name(a.verdict),
					got ? got : "-", a.needs,
					a.name ? a.name : "-");
				fail();
			}
			assert_int_equal(a.verdict, b.verdict);
			assert_int_equal(a.rule, b.rule);
			assert_int_equal(a.needs, b.needs);
			assert_ptr_equal(a.name, b.name);
			k++;
			while (i < n && c[i] >= i) {
				c[i] = 0;
				i++;
			}
			if (i >= n)
				break;
			size_t s = i % 2 ? c[i] : 0, t = idx[s];
			idx[s] = idx[i];
			idx[i] = t;
			c[i]++;
			i = 1;
		}
		size_t fact = 1;
		for (size_t j = 2; j <= n; j++)
			fact *= j;
		assert_int_equal(k, fact); /* every order was tried */
		engine_free(e);
		policy_free(p);
	}
}

/* A1/A2: two confirmed names, the work site among them, in any order. */
static void any_name_matches(void **state)
{
	const char *n[] = {"other.fb.test", "www.work.fb.test"};
	expect(n, 2, false,
	       (struct want){VERDICT_ALLOW, "work", 0, "www.work.fb.test"});
	/* case and a root dot do not matter */
	const char *m[] = {"Other.FB.test.", "WWW.Work.fb.TEST."};
	expect(m, 2, false,
	       (struct want){VERDICT_ALLOW, "work", 0, "WWW.Work.fb.TEST."});
	/* none matches: definite no everywhere, default deny */
	const char *x[] = {"other.fb.test", "else.fb.test", "work.fb.test.evil"};
	expect(x, 3, false, (struct want){VERDICT_DENY, NULL, 0, NULL});
	/* no name at all */
	expect(NULL, 0, false, (struct want){VERDICT_DENY, NULL, 0, NULL});
}

/* C/C2: the address of a blocked and an allowed name: the first rule that
 * any name matches decides, whatever order names and sets come in. */
static void first_match_over_the_set(void **state)
{
	const char *n[] = {"www.partner.fb.test", "ads.fb.test"};
	expect(n, 2, false,
	       (struct want){VERDICT_DENY, "no ads", 0, "ads.fb.test"});
	const char *m[] = {"www.partner.fb.test", "x.work.fb.test",
			   "ads.fb.test", "other.fb.test"};
	expect(m, 4, false,
	       (struct want){VERDICT_DENY, "no ads", 0, "ads.fb.test"});
	const char *o[] = {"www.partner.fb.test", "x.work.fb.test"};
	/* both match "work": the first of the given names that does is
	 * reported (the service hands them over sorted) */
	expect(o, 2, false, (struct want){VERDICT_ALLOW, "work", 0, "*"});
}

/* A partial set (a bound stopped the work, a query failed): a rule that a
 * known name matches still decides; one no known name matches is unknown,
 * never "no", so evaluation waits at it (the deadline decides). */
static void partial_is_unknown_not_no(void **state)
{
	const char *w[] = {"www.work.fb.test"};
	/* "no ads" might match a name not seen: pending at "no ads" */
	expect(w, 1, true, (struct want){VERDICT_PENDING, "no ads", NEED_NAME,
					 NULL});
	const char *a[] = {"ads.fb.test"};
	expect(a, 1, true,
	       (struct want){VERDICT_DENY, "no ads", 0, "ads.fb.test"});
	/* nothing known but partial: unknown, not "no name" */
	expect(NULL, 0, true,
	       (struct want){VERDICT_PENDING, "no ads", NEED_NAME, NULL});
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(any_name_matches),
	    cmocka_unit_test(first_match_over_the_set),
	    cmocka_unit_test(partial_is_unknown_not_no),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
