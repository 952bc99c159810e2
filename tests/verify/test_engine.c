/*
 * test_engine.c — the engine without a network: deduplication with
 * refcounts, fan-out to every subscriber, removal from inside callbacks and
 * while a probe is in flight, the in-flight cap with its FIFO and lateness,
 * and vengine_free() with probes running and waiting.
 *
 * Every method's probe_ops is replaced by a fake that records started
 * probes; the test ends rounds itself through vprobe_done(), the engine's
 * one result path.
 */
#include <errno.h>
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "verify/verify_int.h"

#define MAXP 64
static struct vprobe *running[MAXP];
static int nrunning, nstarted, ncancelled, nreleased, nprepared;

static int fake_prepare(struct vprobe *p, const struct verify_spec *s,
			const struct vtarget *t)
{
	(void)p;
	(void)s;
	(void)t;
	nprepared++;
	return 0;
}

static void fake_start(struct vprobe *p)
{
	assert_true(nrunning < MAXP);
	running[nrunning++] = p;
	nstarted++;
}

static void drop_running(struct vprobe *p)
{
	for (int i = 0; i < nrunning; i++) {
		if (running[i] == p) {
			memmove(&running[i], &running[i + 1],
				(size_t)(nrunning - i - 1) * sizeof(running[0]));
			nrunning--;
			return;
		}
	}
}

static void fake_cancel(struct vprobe *p)
{
	drop_running(p);
	ncancelled++;
}

static void fake_release(struct vprobe *p)
{
	(void)p;
	nreleased++;
}

static const struct vprobe_ops fake_ops = {fake_prepare, fake_start,
					   fake_cancel, fake_release};

/* Ends the round of running[i] with R. */
static void finish(int i, enum vresult r)
{
	struct vprobe *p = running[i];

	drop_running(p);
	vprobe_done(p, r, 1234, NULL);
}

struct rec {
	int calls;
	enum vstate state, prev;
	struct vengine *v;
	int remove_ids[4];
	int nremove;
};

static void rec_cb(const struct vstatus *st, void *arg)
{
	struct rec *r = arg;

	r->calls++;
	r->state = st->state;
	r->prev = st->prev;
	for (int i = 0; i < r->nremove; i++)
		assert_int_equal(vengine_remove(r->v, r->remove_ids[i]), 0);
	r->nremove = 0;
}

struct fx {
	struct event_base *base;
	struct vengine *v;
};

static struct vengine *mk(struct fx *f, unsigned cap)
{
	struct vengine_opts o = {.max_inflight = cap, .no_spread = true,
				 .seed = 42};

	f->base = event_base_new();
	assert_non_null(f->base);
	f->v = vengine_new(f->base, &o);
	assert_non_null(f->v);
	for (int m = VM_ICMP; m <= VM_HTTP; m++)
		vengine_set_ops(f->v, (enum verify_method)m, &fake_ops);
	nrunning = nstarted = ncancelled = nreleased = nprepared = 0;
	return f->v;
}

static void fx_free(struct fx *f)
{
	vengine_free(f->v);
	event_base_free(f->base);
}

/* Runs due timers (the first rounds are due at once). */
static void spin(struct fx *f)
{
	for (int i = 0; i < 3; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static const struct verify_spec web = {.method = VM_HTTP,
				       .target = "http://*/health"};

static void test_dedup_refcount(void **state)
{
	struct fx f;
	struct vengine *v = mk(&f, 8);
	struct vengine_stats st;
	struct verify_spec other = web;
	int a, b, c;

	(void)state;
	a = vengine_add(v, "a", &web, "198.18.0.10", NULL, NULL);
	b = vengine_add(v, "b", &web, "198.18.0.10", NULL, NULL);
	other.body = "OK";
	c = vengine_add(v, "c", &other, "198.18.0.10", NULL, NULL);
	assert_true(a >= 0 && b >= 0 && c >= 0);
	assert_true(a != b);
	vengine_stats(v, &st);
	assert_int_equal(st.probes, 2);
	assert_int_equal(st.subscriptions, 3);
	assert_int_equal(nprepared, 2);

	assert_int_equal(vengine_remove(v, a), 0);
	vengine_stats(v, &st);
	assert_int_equal(st.probes, 2); /* b still holds it */
	assert_int_equal(vengine_remove(v, a), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(vengine_remove(v, b), 0);
	vengine_stats(v, &st);
	assert_int_equal(st.probes, 1);
	assert_int_equal(nreleased, 1);
	/* a stale id never reaches a new subscription in the same slot */
	{
		int d = vengine_add(v, "d", &web, "198.18.0.10", NULL, NULL);

		assert_true(d >= 0);
		assert_true(d != a && d != b);
		assert_int_equal(vengine_remove(v, b), -1);
	}
	fx_free(&f);
	assert_int_equal(nreleased, 3);
}

static void test_fanout_once(void **state)
{
	struct fx f;
	struct vengine *v = mk(&f, 8);
	struct rec r1 = {0}, r2 = {0};
	struct verify_spec s1 = web, s2;
	struct vstatus st;
	int a, b;

	(void)state;
	s1.every_ms = 5; /* the second round is due 5 ms after the first */
	s2 = s1;
	s2.rise = 1;
	s2.fall = 1;
	a = vengine_add(v, "a", &s1, "198.18.0.10", rec_cb, &r1);
	b = vengine_add(v, "b", &s2, "198.18.0.10", rec_cb, &r2);
	assert_true(a >= 0 && b >= 0);
	spin(&f);
	assert_int_equal(nstarted, 1); /* one probe for both */
	finish(0, VR_OK);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r1.prev, VS_UNKNOWN);
	assert_int_equal(r1.state, VS_UP);
	/* a failure: b (fall 1) goes down, a (fall 3) stays up */
	for (int i = 0; i < 200 && nstarted < 2; i++) {
		usleep(1000);
		spin(&f);
	}
	assert_int_equal(nstarted, 2);
	finish(0, VR_TIMEOUT);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r2.calls, 2);
	assert_int_equal(r2.state, VS_DOWN);
	assert_int_equal(vengine_status(v, a, &st), 0);
	assert_int_equal(st.state, VS_UP);
	assert_int_equal(st.last, VR_TIMEOUT);
	assert_int_equal(st.nhistory, 2);
	assert_int_equal(st.history[0], VR_OK);
	assert_int_equal(st.history[1], VR_TIMEOUT);
	assert_int_equal(st.runs, 2);
	assert_int_equal(st.failures, 1);
	fx_free(&f);
}

static void test_remove_in_callback(void **state)
{
	struct fx f;
	struct vengine *v = mk(&f, 8);
	struct rec r1 = {0}, r2 = {0};
	int a, b;

	(void)state;
	a = vengine_add(v, "a", &web, "198.18.0.10", rec_cb, &r1);
	b = vengine_add(v, "b", &web, "198.18.0.10", rec_cb, &r2);
	/* whichever callback runs first removes both */
	r1.v = r2.v = v;
	r1.remove_ids[0] = r2.remove_ids[0] = a;
	r1.remove_ids[1] = r2.remove_ids[1] = b;
	r1.nremove = r2.nremove = 2;
	spin(&f);
	finish(0, VR_OK);
	assert_int_equal(r1.calls + r2.calls, 1);
	assert_int_equal(nreleased, 1); /* freed after the fan-out */
	{
		struct vengine_stats st;

		vengine_stats(v, &st);
		assert_int_equal(st.probes, 0);
		assert_int_equal(st.subscriptions, 0);
		assert_int_equal(st.inflight, 0);
	}
	fx_free(&f);
}

static void test_remove_in_flight(void **state)
{
	struct fx f;
	struct vengine *v = mk(&f, 8);
	struct vengine_stats st;
	int a;

	(void)state;
	a = vengine_add(v, "a", &web, "198.18.0.10", NULL, NULL);
	spin(&f);
	assert_int_equal(nrunning, 1);
	assert_int_equal(vengine_remove(v, a), 0);
	assert_int_equal(ncancelled, 1);
	assert_int_equal(nreleased, 1);
	assert_int_equal(nrunning, 0);
	vengine_stats(v, &st);
	assert_int_equal(st.inflight, 0);
	fx_free(&f);
}

static void test_cap_fifo(void **state)
{
	struct fx f;
	struct vengine *v = mk(&f, 2);
	struct vengine_stats st;
	char member[32];
	struct vprobe *order[5];

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(member, sizeof(member), "198.18.0.%d", 10 + i);
		assert_true(vengine_add(v, member, &web, member, NULL, NULL) >= 0);
	}
	spin(&f);
	vengine_stats(v, &st);
	assert_int_equal(st.inflight, 2);
	assert_int_equal(st.waiting, 3);
	assert_int_equal(st.queued, 3);
	order[0] = running[0];
	order[1] = running[1];
	usleep(20000);
	finish(0, VR_OK); /* frees a slot: the FIFO head starts */
	assert_int_equal(nrunning, 2);
	order[2] = running[1];
	vengine_stats(v, &st);
	assert_int_equal(st.waiting, 2);
	assert_true(st.late_max_us >= 20000); /* it waited ~20 ms */
	finish(0, VR_OK);
	finish(0, VR_REFUSED);
	order[3] = running[0];
	order[4] = running[1];
	/* every probe ran exactly once, none twice */
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			assert_ptr_not_equal(order[i], order[j]);
	vengine_stats(v, &st);
	assert_int_equal(st.runs, 3);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.by_result[VR_REFUSED], 1);
	assert_int_equal(st.waiting, 0);
	assert_int_equal(st.inflight, 2);
	/* free with two running: both cancelled, all five released */
	fx_free(&f);
	assert_int_equal(ncancelled, 2);
	assert_int_equal(nreleased, 5);
}

static void test_free_with_queue(void **state)
{
	struct fx f;
	struct vengine *v = mk(&f, 1);
	char member[32];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(member, sizeof(member), "198.18.1.%d", i + 1);
		assert_true(vengine_add(v, member, &web, member, NULL, NULL) >= 0);
	}
	spin(&f);
	assert_int_equal(nrunning, 1);
	fx_free(&f); /* one running, three queued: nothing new starts */
	assert_int_equal(nstarted, 1);
	assert_int_equal(ncancelled, 1);
	assert_int_equal(nreleased, 4);
}

static void test_bad_specs(void **state)
{
	struct fx f;
	struct vengine *v = mk(&f, 1);
	struct verify_spec s = {.method = VM_TCP, .target = "198.18.0.1"};

	(void)state;
	assert_int_equal(vengine_add(v, "x", &s, NULL, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vengine_add(v, "x", &web, NULL, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	fx_free(&f);
	{
		struct event_base *b = event_base_new();
		struct vengine_opts o = {.jitter_pct = 80};

		assert_null(vengine_new(b, &o));
		assert_int_equal(errno, EINVAL);
		event_base_free(b);
	}
}

/* Every verifier method has a probe (engine.c's table, sized by
 * VM_COUNT): a method added to the policy without one fails here. */
static void test_every_method_has_a_probe(void **state)
{
	(void)state;
	for (int m = 0; m < VM_COUNT; m++) {
		const struct vprobe_ops *o =
		    vprobe_method_ops((enum verify_method)m);
		assert_non_null(o);
		assert_non_null(o->prepare);
		assert_non_null(o->start);
		assert_non_null(o->cancel);
		assert_non_null(o->release);
	}
	assert_null(vprobe_method_ops(VM_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedup_refcount),
		cmocka_unit_test(test_fanout_once),
		cmocka_unit_test(test_remove_in_callback),
		cmocka_unit_test(test_remove_in_flight),
		cmocka_unit_test(test_cap_fifo),
		cmocka_unit_test(test_free_with_queue),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_every_method_has_a_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
