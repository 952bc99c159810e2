/* test_alerts.c — the `alert` statement: what parses, what it means, and
 * located errors for unknown counters and bad options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/policy.h"
#include "policy_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_threshold_alert(void **state)
{
	(void)state;
	struct diags d = {0};
	struct policy *p = load(
	    "alert \"backlog\" when packets_backlogged > 10 for 3 events "
	    "within 10s rearm 5m run \"/usr/local/bin/page ops\" log\n"
	    "alert drops when packets_dropped_queue_full/s >= 100.5 rearm 0\n"
	    "alert dns when lookups_dns > 50% of slots_total rearm manual\n"
	    "alert leak when process_resident_memory_bytes grows over 2h\n"
	    "alert worker-threads off\n", &d);
	diags_print(&d, stderr);
	assert_non_null(p);
	assert_int_equal(p->nalerts, 5);

	const struct alert_def *a = p->alerts[0];
	assert_string_equal(a->name, "backlog");
	assert_string_equal(a->counter, "packets_backlogged");
	assert_int_equal(a->op, ALERT_GT);
	assert_true(a->value == 10);
	assert_int_equal(a->events, 3);
	assert_int_equal(a->within_ms, 10000);
	assert_int_equal(a->rearm_ms, 300000);
	assert_false(a->rearm_manual);
	assert_string_equal(a->run, "/usr/local/bin/page ops");
	assert_true(a->log);
	assert_int_equal(a->loc.line, 1);

	a = p->alerts[1];
	assert_true(a->rate);
	assert_string_equal(a->counter, "packets_dropped_queue_full");
	assert_int_equal(a->op, ALERT_GE);
	assert_true(a->value == 100.5);
	assert_int_equal(a->rearm_ms, 0);
	assert_int_equal(a->events, 1);
	assert_true(a->log); /* no action given: log */
	assert_null(a->run);

	a = p->alerts[2];
	assert_string_equal(a->of, "slots_total");
	assert_true(a->value == 50);
	assert_true(a->rearm_manual);

	a = p->alerts[3];
	assert_int_equal(a->op, ALERT_GROWS);
	assert_int_equal(a->window_ms, 2 * 3600 * 1000);

	a = p->alerts[4];
	assert_true(a->off);
	assert_null(a->counter);
	policy_free(p);
	diags_free(&d);
}

static void test_unknown_counter_located(void **state)
{
	(void)state;
	struct diags d = {0};
	struct policy *p = load(
	    "network internal { 10.0.0.0/8 }\n"
	    "alert \"a\" when packets_backloged > 10\n"
	    "alert \"b\" when no_such_counter_at_all > 1\n", &d);
	diags_print(&d, stderr);
	assert_null(p);
	assert_true(has_diag(&d, 2, 16, "unknown counter 'packets_backloged'; "
				      "did you mean 'packets_backlogged'?"));
	assert_true(has_diag(&d, 3, 16, "unknown counter "
				      "'no_such_counter_at_all'"));
	assert_int_equal(d.errors, 2);
	diags_free(&d);
}

static void test_bad_alerts(void **state)
{
	(void)state;
	struct diags d = {0};
	struct policy *p = load(
	    "alert a when slots_available/s > 1\n"		  /* gauge rate */
	    "alert b when decision_latency_seconds > 1\n"	  /* histogram */
	    "alert c when slots_available = 1\n"		  /* operator */
	    "alert d when slots_available < x\n"		  /* number */
	    "alert e when lookups_dns > 50% slots_total\n"	  /* of */
	    "alert f when slots_available < 1 within 10s\n"	  /* no for */
	    "alert g when slots_available < 1 sometimes\n"	  /* option */
	    "alert h when slots_available < 1 rearm soon\n"	  /* duration */
	    "alert a when slots_available < 1\n"		  /* duplicate */
	    "alert i when process_heap_bytes grows over 5s\n"	  /* window */
	    "alert j\n"
	    "network n { 10.0.0.0/8 }\n"
	    "alert k when slots_available < 1 run \"page-ops now\"\n", &d);
	diags_print(&d, stderr);
	assert_null(p);
	assert_true(has_diag(&d, 1, 14, "only a counter has a rate"));
	assert_true(has_diag(&d, 2, 14, "is a histogram"));
	assert_true(has_diag(&d, 3, 30, "expected >, >=, <, <= or 'grows over'"));
	assert_true(has_diag(&d, 4, 32, "expected a number"));
	assert_true(has_diag(&d, 5, 32, "expected 'of COUNTER'"));
	assert_true(has_diag(&d, 6, 7, "needs 'for N events'"));
	assert_true(has_diag(&d, 7, 34, "unknown option 'sometimes'"));
	assert_true(has_diag(&d, 8, 40, "bad value 'soon'"));
	assert_true(has_diag(&d, 9, 7, "duplicate alert name 'a'"));
	assert_true(has_diag(&d, 10, 44, "bad window '5s'"));
	assert_true(has_diag(&d, 12, 1, "expected 'when COUNTER ...' or 'off'"));
	assert_true(has_diag(&d, 13, 7, "absolute path"));
	assert_int_equal(d.errors, 12);
	diags_free(&d);
}

static void test_recovery_after_alert(void **state)
{
	(void)state;
	struct diags d = {0};
	/* an error in an alert does not hide the next statements' errors */
	struct policy *p = load(
	    "alert a when nope > 1 for 2 events\n"
	    "rule r allow from nowhere to any\n", &d);
	assert_null(p);
	assert_true(has_diag(&d, 1, 14, "unknown counter 'nope'"));
	assert_true(has_diag(&d, 2, 19, "nowhere"));
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threshold_alert),
	    cmocka_unit_test(test_unknown_counter_located),
	    cmocka_unit_test(test_bad_alerts),
	    cmocka_unit_test(test_recovery_after_alert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
