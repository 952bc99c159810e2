/* test_stats_alerts.c — alerts fire on a threshold, on a count and a rate
 * of events, re-arm after their time or by hand, see a steady growth and
 * not noise, run commands with the alert in their environment. The clock
 * is the test's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats/alerts.h"
#include "stats/jsonstr.h"

#include <jansson.h>
#include "policy/policy.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct logbook {
	int n;
	char last[512];
};

static void logfn(void *arg, int prio, const char *msg)
{
	struct logbook *l = arg;
	(void)prio;
	if (!l)
		return;
	l->n++;
	snprintf(l->last, sizeof(l->last), "%s", msg);
}

static struct alert_def def(const char *name, const char *counter,
			    enum alert_op op, double value)
{
	return (struct alert_def){.name = (char *)name,
				  .counter = (char *)counter,
				  .op = op,
				  .value = value,
				  .events = 1,
				  .rearm_ms = 5000,
				  .log = true};
}

static struct alerts *one(struct alert_def *d, struct logbook *lb)
{
	const struct alert_def *v[] = {d};
	return alerts_new_defs(v, 1, false, logfn, lb);
}

static void test_threshold_rearm(void **state)
{
	(void)state;
	struct logbook lb = {0};
	struct alert_def d = def("hi", "packets_backlogged", ALERT_GT, 10);
	struct alerts *a = one(&d, &lb);
	struct stats_snapshot s = {0};
	s.packets_backlogged = 10;
	alerts_tick(a, &s, 1000);
	assert_int_equal(alerts_fired_count(a, "hi"), 0);
	s.packets_backlogged = 11;
	alerts_tick(a, &s, 2000);
	assert_int_equal(alerts_fired_count(a, "hi"), 1);
	assert_int_equal(alerts_firing(a), 1);
	assert_true(alerts_counter_firing(a, "packets_backlogged"));
	assert_non_null(strstr(lb.last, "alert 'hi'"));
	assert_non_null(strstr(lb.last, "value 11"));
	alerts_tick(a, &s, 3000);
	alerts_tick(a, &s, 6999);
	assert_int_equal(alerts_fired_count(a, "hi"), 1); /* not re-armed yet */
	alerts_tick(a, &s, 7000);			  /* 5 s after firing */
	assert_int_equal(alerts_fired_count(a, "hi"), 2);
	/* the condition clears: logged; re-arms, stays quiet */
	s.packets_backlogged = 0;
	alerts_tick(a, &s, 8000);
	assert_non_null(strstr(lb.last, "cleared"));
	alerts_tick(a, &s, 20000);
	assert_int_equal(alerts_firing(a), 0);
	assert_int_equal(alerts_fired_count(a, "hi"), 2);
	alerts_free(a);
}

static void test_rearm_zero(void **state)
{
	(void)state;
	struct alert_def d = def("z", "worker_threads", ALERT_GE, 5);
	d.rearm_ms = 0;
	struct alerts *a = one(&d, NULL);
	struct stats_snapshot s = {.worker_threads = 5};
	for (int t = 1; t <= 4; t++)
		alerts_tick(a, &s, t * 1000);
	assert_int_equal(alerts_fired_count(a, "z"), 4); /* at every tick */
	alerts_free(a);
}

static void test_count_of_events(void **state)
{
	(void)state;
	struct alert_def d = def("c", "packets_backlogged", ALERT_GT, 10);
	d.events = 3;
	struct alerts *a = one(&d, NULL);
	struct stats_snapshot s = {0};
	int64_t vals[] = {11, 12, 0, 0, 13};
	for (int i = 0; i < 4; i++) {
		s.packets_backlogged = (uint64_t)vals[i];
		alerts_tick(a, &s, (i + 1) * 1000);
		assert_int_equal(alerts_fired_count(a, "c"), 0);
	}
	s.packets_backlogged = 13; /* the third event, not in a row */
	alerts_tick(a, &s, 5000);
	assert_int_equal(alerts_fired_count(a, "c"), 1);
	alerts_free(a);
}

static void test_events_within(void **state)
{
	(void)state;
	struct alert_def d = def("w", "packets_backlogged", ALERT_GT, 10);
	d.events = 3;
	d.within_ms = 5000;
	struct alerts *a = one(&d, NULL);
	struct stats_snapshot hi = {.packets_backlogged = 50}, lo = {0};
	int64_t t;
	for (t = 1000; t <= 30000; t += 1000) {
		/* one event every 10 s: never 3 within 5 s */
		alerts_tick(a, t % 10000 == 0 ? &hi : &lo, t);
	}
	assert_int_equal(alerts_fired_count(a, "w"), 0);
	alerts_tick(a, &hi, 31000);
	assert_int_equal(alerts_fired_count(a, "w"), 0);
	alerts_tick(a, &hi, 32000); /* 30, 31, 32: three within 5 s */
	assert_int_equal(alerts_fired_count(a, "w"), 1);
	alerts_free(a);
}

static void test_rate(void **state)
{
	(void)state;
	struct alert_def d = def("r", "packets_dropped_queue_full", ALERT_GT, 100);
	d.rate = true;
	struct alerts *a = one(&d, NULL);
	struct stats_snapshot s = {.packets_dropped_queue_full = 1000000};
	alerts_tick(a, &s, 0); /* first sample: no rate yet */
	assert_int_equal(alerts_fired_count(a, "r"), 0);
	s.packets_dropped_queue_full += 50;
	alerts_tick(a, &s, 1000); /* 50/s */
	assert_int_equal(alerts_fired_count(a, "r"), 0);
	s.packets_dropped_queue_full += 400;
	alerts_tick(a, &s, 3000); /* 200/s */
	assert_int_equal(alerts_fired_count(a, "r"), 1);
	alerts_free(a);
}

static void test_relative_threshold(void **state)
{
	(void)state;
	struct alert_def d = def("dns", "lookups_dns", ALERT_GT, 50);
	d.of = (char *)"slots_total";
	struct alerts *a = one(&d, NULL);
	struct stats_snapshot s = {.lookups_dns = 50, .slots_total = 100};
	alerts_tick(a, &s, 1000);
	assert_int_equal(alerts_fired_count(a, "dns"), 0);
	s.lookups_dns = 51;
	alerts_tick(a, &s, 2000);
	assert_int_equal(alerts_fired_count(a, "dns"), 1);
	alerts_free(a);
}

static void test_manual_reset(void **state)
{
	(void)state;
	struct logbook lb = {0};
	struct alert_def d = def("m", "slots_available", ALERT_LT, 1);
	d.rearm_manual = true;
	struct alerts *a = one(&d, &lb);
	struct stats_snapshot s = {0};
	alerts_tick(a, &s, 1000);
	assert_int_equal(alerts_fired_count(a, "m"), 1);
	for (int64_t t = 2000; t < 4 * 3600 * 1000; t += 60000)
		alerts_tick(a, &s, t);
	assert_int_equal(alerts_fired_count(a, "m"), 1); /* no re-arm */
	s.slots_available = 100;			 /* even cleared */
	alerts_tick(a, &s, 5LL * 3600 * 1000);
	assert_int_equal(alerts_firing(a), 1);
	assert_int_equal(alerts_reset(a, "nope", 0), -1);
	assert_int_equal(alerts_reset(a, "m", 0), 1);
	assert_non_null(strstr(lb.last, "reset"));
	assert_int_equal(alerts_firing(a), 0);
	s.slots_available = 0;
	alerts_tick(a, &s, 5LL * 3600 * 1000 + 1000);
	assert_int_equal(alerts_fired_count(a, "m"), 2);
	assert_int_equal(alerts_reset(a, "all", 0), 1);
	assert_int_equal(alerts_reset(a, NULL, 0), 1);
	alerts_free(a);
}

/* A deterministic noise in [-1, 1]. */
static double noise(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(*x >> 11) / (double)(1ull << 53) * 2 - 1;
}

static void test_grows_ramp_and_noise(void **state)
{
	(void)state;
	struct alert_def d = def("leak", "process_resident_memory_bytes",
				 ALERT_GROWS, 0);
	d.window_ms = 2 * 3600 * 1000;
	struct alerts *ramp = one(&d, NULL), *flat = one(&d, NULL);
	struct stats_snapshot s = {0};
	uint64_t seed = 42;
	int64_t fired_at = -1;
	for (int64_t t = 0; t <= 5LL * 3600 * 1000; t += 10000) {
		/* 100 MB + 1 MB an hour, with 0.2 MB of jitter */
		double secs = (double)t / 1000;
		s.process_resident_memory_bytes =
		    (uint64_t)(100e6 + secs * 1e6 / 3600 + noise(&seed) * 0.2e6);
		alerts_tick(ramp, &s, t);
		if (fired_at < 0 && alerts_fired_count(ramp, "leak") == 1)
			fired_at = t;
		/* flat at 100 MB with 5 MB of noise */
		s.process_resident_memory_bytes =
		    (uint64_t)(100e6 + noise(&seed) * 5e6);
		alerts_tick(flat, &s, t);
	}
	/* the ramp fires once the window is (nearly) full, not before */
	assert_true(fired_at >= (int64_t)(0.9 * 2 * 3600 * 1000));
	assert_true(fired_at <= 2LL * 3600 * 1000 + 60000);
	assert_int_equal(alerts_fired_count(flat, "leak"), 0);
	alerts_free(ramp);
	alerts_free(flat);
}

static void test_run_environment(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-alert-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char script[128], out[128], cmd[300];
	snprintf(script, sizeof(script), "%s/hook.sh", dir);
	snprintf(out, sizeof(out), "%s/env.txt", dir);
	FILE *f = fopen(script, "w");
	fprintf(f, "#!/bin/sh\nenv | grep '^SLUICE_' | sort > \"$1.tmp\"\n"
		   "echo \"argc=$#\" >> \"$1.tmp\"\nmv \"$1.tmp\" \"$1\"\n");
	fclose(f);
	chmod(script, 0700);
	snprintf(cmd, sizeof(cmd), "%s %s", script, out);

	struct logbook lb = {0};
	struct alert_def d = def("backlog", "packets_backlogged", ALERT_GT, 10);
	d.run = cmd;
	d.log = false;
	struct alerts *a = one(&d, &lb);
	struct stats_snapshot s = {.packets_backlogged = 11};
	alerts_tick(a, &s, 1000);
	assert_int_equal(alerts_fired_count(a, "backlog"), 1);
	assert_int_equal(lb.n, 0); /* run only: no log */
	assert_true(alerts_child_pid(a, "backlog") > 0);
	/* ticks reap the child without blocking */
	for (int i = 0; i < 500 && alerts_child_pid(a, "backlog"); i++) {
		usleep(10000);
		alerts_tick(a, &s, 1000 + i);
	}
	assert_int_equal(alerts_child_pid(a, "backlog"), 0);
	assert_int_equal(lb.n, 0); /* exit status 0: nothing to say */

	char buf[1024] = "";
	f = fopen(out, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "SLUICE_ALERT=backlog\n"));
	assert_non_null(strstr(buf, "SLUICE_COUNTER=packets_backlogged\n"));
	assert_non_null(strstr(buf, "SLUICE_VALUE=11\n"));
	assert_non_null(strstr(buf, "SLUICE_THRESHOLD=> 10\n"));
	char *since = strstr(buf, "SLUICE_SINCE=");
	assert_non_null(since);
	assert_int_equal(strlen("SLUICE_SINCE=2024-01-01T00:00:00Z"),
			 strcspn(since, "\n"));
	assert_non_null(strstr(buf, "argc=1\n"));
	alerts_free(a);
	unlink(out);
	unlink(script);
	rmdir(dir);
}

static void test_run_failure_logged(void **state)
{
	(void)state;
	struct logbook lb = {0};
	struct alert_def d = def("bad", "packets_backlogged", ALERT_GT, 10);
	d.run = (char *)"/nonexistent/command";
	struct alerts *a = one(&d, &lb);
	struct stats_snapshot s = {.packets_backlogged = 11};
	alerts_tick(a, &s, 1000);
	/* posix_spawn reports a missing program (glibc: at once) */
	for (int i = 0; i < 500 && alerts_child_pid(a, "bad"); i++) {
		usleep(10000);
		alerts_tick(a, &s, 1000 + i);
	}
	assert_non_null(strstr(lb.last, "bad"));
	alerts_free(a);
}

static void test_defaults_and_policy(void **state)
{
	(void)state;
	static const char *const names[] = {"backlog", "worker-threads",
					    "slots-exhausted",
					    "local-slots-exhausted",
					    "dns-pending", "memory-growth"};
	struct alerts *a = alerts_new(NULL, NULL, NULL);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(alerts_fired_count(a, names[i]), 0);
	struct stats_snapshot s = {.slots_total = 100, .slots_available = 100,
				   .slots_local_available = 10,
				   .worker_threads = 101, .lookups_dns = 60,
				   .packets_backlogged = 11};
	alerts_tick(a, &s, 1000);
	assert_int_equal(alerts_fired_count(a, "worker-threads"), 1);
	assert_int_equal(alerts_fired_count(a, "dns-pending"), 1);
	assert_int_equal(alerts_fired_count(a, "backlog"), 1);
	assert_int_equal(alerts_fired_count(a, "slots-exhausted"), 0);
	s.slots_local_available = 0;
	alerts_tick(a, &s, 2000);
	assert_int_equal(alerts_fired_count(a, "local-slots-exhausted"), 1);

	/* the list: one object an alert, with its counter (sluicectl
	 * renders the table from it, tests/unit/test_render.c) */
	json_t *j = alerts_json(a);
	assert_non_null(j);
	assert_int_equal(json_typeof(j), JSON_ARRAY);
	int firing = 0;
	size_t i;
	const json_t *e;
	json_array_foreach(j, i, e) {
		firing += json_is_true(json_object_get(e, "firing"));
		assert_non_null(json_string_value(json_object_get(e, "counter")));
		assert_true(json_is_boolean(json_object_get(e, "per_second")));
	}
	assert_int_equal(firing, 4);
	json_decref(j);
	alerts_free(a);

	/* a policy redefines one default and turns another off */
	struct diags d = {0};
	const char *text =
	    "alert backlog when packets_backlogged > 1000\n"
	    "alert worker-threads off\n"
	    "alert mine when verdicts_fail/s > 0\n";
	struct policy *p = policy_load_buffer("t.conf", text, strlen(text), &d);
	diags_print(&d, stderr);
	assert_non_null(p);
	a = alerts_new(p, NULL, NULL);
	policy_free(p);
	diags_free(&d);
	assert_int_equal(alerts_fired_count(a, "worker-threads"), -1);
	assert_int_equal(alerts_fired_count(a, "mine"), 0);
	s.slots_local_available = 10;
	alerts_tick(a, &s, 1000);
	assert_int_equal(alerts_fired_count(a, "backlog"), 0); /* 11 < 1000 */
	assert_int_equal(alerts_fired_count(a, "dns-pending"), 1);
	alerts_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threshold_rearm),
	    cmocka_unit_test(test_rearm_zero),
	    cmocka_unit_test(test_count_of_events),
	    cmocka_unit_test(test_events_within),
	    cmocka_unit_test(test_rate),
	    cmocka_unit_test(test_relative_threshold),
	    cmocka_unit_test(test_manual_reset),
	    cmocka_unit_test(test_grows_ramp_and_noise),
	    cmocka_unit_test(test_run_environment),
	    cmocka_unit_test(test_run_failure_logged),
	    cmocka_unit_test(test_defaults_and_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
