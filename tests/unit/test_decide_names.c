/* test_decide_names.c — the decider with a destination's set of names:
 * the answer of a name lookup is every name the destination
 * has; a domain set matches when any of them does, first-match order
 * decides, the log and the sessions table get the name that decided; a
 * partial set or an incomplete lookup is unknown (the deadline decides),
 * never "no name". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/decide.h"

/* The default layout written out (common/mark.h must agree). */
#define MARK_ALLOW 0x40000000u
#define MARK_QUEUE 0xc0000000u
#include "decide/sessions.h"
#include "common/mark.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *POLICY =
    "network clients { 198.18.1.0/24 }\n"
    "domains work    { *.work.fb.test }\n"
    "domains partner { www.partner.fb.test }\n"
    "domains blocked { ads.fb.test }\n"
    "protocol web tcp 80\n"
    "rule \"no ads\"  deny  web from clients to blocked\n"
    "rule \"work\"    allow web from clients to { work partner }\n";

static struct gen *G;
static uint64_t clock_ns;
static struct {
	uint32_t id, verdict, mark;
} V[32];
static int nv;

/* Packet I's verdict is a denial the kernel remembers (NF_REPEAT with the
 * DENY decision mark, decide.c answer_denial); REJECT when it rejects. */
static bool deny_kept(int i, bool reject)
{
	return V[i].verdict == NF_REPEAT &&
	       mark_dec(MARK_SHIFT_DEFAULT, V[i].mark) == MARK_DEC_DENY &&
	       (mark_id(MARK_SHIFT_DEFAULT, V[i].mark) == MARK_ID_REJECT) ==
		   reject;
}
static struct lookup_req *asked[8];
static int nasked;
static char logged_name[256], decided_name[256];
static enum reason logged_why;

static void rec(void *arg, uint32_t id, uint32_t verdict, bool set_mark,
		uint32_t mark)
{
	assert_true(nv < 32);
	V[nv].id = id;
	V[nv].verdict = verdict;
	V[nv].mark = mark;
	nv++;
}
static struct gen *cur(void *ctx) { return gen_ref(G); }
static uint64_t fake_now(void) { return clock_ns; }
static void ask_rec(void *ctx, struct lookup_req *r)
{
	assert_true(nasked < 8);
	asked[nasked++] = r;
}
static void record(void *ctx, const struct flow *f, const struct gen *g,
		   enum verdict v, int rule, const char *user, const char *name,
		   enum reason why, uint64_t latency_ns)
{
	snprintf(logged_name, sizeof(logged_name), "%s", name ? name : "-");
	logged_why = why;
}
static void decided(void *ctx, const struct session_key *k,
		    const struct gen *g, int rule,
		    const struct session_facts *sf)
{
	snprintf(decided_name, sizeof(decided_name), "%s",
		 sf && sf->name ? sf->name : "-");
}

static int setup(void **state)
{
	struct diags d = {0};
	struct policy *p =
	    policy_load_buffer("n.conf", POLICY, strlen(POLICY), &d);
	diags_print(&d, stderr);
	if (!p)
		return -1;
	G = calloc(1, sizeof(*G));
	G->policy = p;
	G->engine = engine_build(p);
	G->refs = 1;
	diags_free(&d);
	return 0;
}

static int teardown(void **state)
{
	gen_unref(G);
	return 0;
}

static struct decider *mk(enum on_deadline ond)
{
	nv = 0;
	nasked = 0;
	clock_ns = 1000000000ull;
	struct decide_env env = {.verdict = rec,   .current = cur,
				 .now_ns = fake_now, .lookup = ask_rec,
				 .record = record, .decided = decided};
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 16, .per_source = 16,
				 .deadline_ms = 3000, .watchdog_ms = 5000,
				 .on_deadline = ond};
	return decider_new(&env, &cfg);
}

/* A web SYN from 198.18.1.2:SPORT to DST; the decider asks the name. */
static struct lookup_req *web(struct decider *d, uint32_t id, uint16_t sport,
			      const char *dst)
{
	uint8_t b[40] = {0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6};
	inet_pton(AF_INET, "198.18.1.2", b + 12);
	inet_pton(AF_INET, dst, b + 16);
	b[20] = (uint8_t)(sport >> 8), b[21] = (uint8_t)sport;
	b[23] = 80;
	b[33] = 0x02;
	struct qpacket p = {.id = id, .hook = NF_INET_FORWARD, .payload = b,
			    .len = sizeof(b)};
	int before = nasked;
	decider_packet(d, &p);
	assert_int_equal(nasked, before + 1);
	assert_int_equal(asked[before]->kind, LK_NAME);
	return asked[before];
}

/* Answers R with STATUS and NAMES[0..N) (PARTIAL), as lookups.c does. */
static void answer(struct decider *d, struct lookup_req *r, int status,
		   const char *const *names, size_t n, bool partial)
{
	r->status = status;
	for (size_t i = 0; i < n; i++) {
		char *c = xstrdup(names[i]);
		VEC_PUSH(r->names, r->nnames, c);
	}
	r->names_partial = partial;
	decider_answer(d, r);
}

/* C: the address of a blocked and an allowed name is denied by the first
 * rule; A1: two names, the work site second, allowed; the log and the
 * sessions table carry the name that decided. */
static void any_name_first_rule(void **state)
{
	struct decider *d = mk(ONDL_DENY);
	const char *shared[] = {"ads.fb.test", "www.partner.fb.test"};
	answer(d, web(d, 1, 1001, "198.18.2.5"), 0, shared, 2, false);
	assert_int_equal(nv, 1);
	assert_true(deny_kept(0, false));
	assert_string_equal(logged_name, "ads.fb.test");
	assert_int_equal(logged_why, RSN_RULE);

	const char *two[] = {"other.fb.test", "www.work.fb.test"};
	answer(d, web(d, 2, 1002, "198.18.2.3"), 0, two, 2, false);
	assert_int_equal(nv, 2);
	assert_int_equal(V[1].verdict, NF_REPEAT);
	assert_int_equal(V[1].mark & ~0xffffu, MARK_ALLOW | (2u << 16));
	assert_string_equal(logged_name, "www.work.fb.test");
	assert_string_equal(decided_name, "www.work.fb.test");
	assert_int_equal(decider_pending(d), 0);
	decider_free(d);
}

/* A partial set that no rule's names match, and an incomplete lookup
 * (a bound stopped it: EOVERFLOW) wait for the deadline: on-deadline deny
 * denies by deadline — not by "no name" at once. */
static void partial_waits_for_deadline(void **state)
{
	struct decider *d = mk(ONDL_DENY);
	const char *w[] = {"www.work.fb.test"};
	answer(d, web(d, 1, 1001, "198.18.2.6"), 0, w, 1, true);
	answer(d, web(d, 2, 1002, "198.18.2.7"), EOVERFLOW, NULL, 0, false);
	assert_int_equal(nv, 0);
	assert_int_equal(decider_pending(d), 2);
	/* a partial set a rule's names do match still decides at once */
	const char *a[] = {"ads.fb.test"};
	answer(d, web(d, 3, 1003, "198.18.2.8"), 0, a, 1, true);
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].id, 3);
	assert_true(deny_kept(0, false));
	clock_ns += 3000000000ull;
	decider_tick(d);
	assert_int_equal(nv, 3);
	assert_int_equal(V[1].verdict, NF_DROP); /* deadline: not remembered */
	assert_int_equal(V[2].verdict, NF_DROP);
	assert_int_equal(logged_why, RSN_DEADLINE);
	decider_free(d);

	/* on-deadline skip: what is still unknown counts as "no", so the
	 * known name decides */
	d = mk(ONDL_SKIP);
	answer(d, web(d, 1, 1001, "198.18.2.6"), 0, w, 1, true);
	assert_int_equal(nv, 0);
	clock_ns += 3000000000ull;
	decider_tick(d);
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].verdict, NF_REPEAT);
	decider_free(d);
}

/* The names at hand (resolved ahead of time) come first, marked "more can
 * be had": when they decide, nothing more is asked; when they do not, the
 * decider asks once more for every witness (names_full) and decides on the
 * whole set. */
static void names_at_hand_first(void **state)
{
	struct decider *d = mk(ONDL_DENY);
	const char *ads[] = {"ads.fb.test"};
	struct lookup_req *r = web(d, 1, 1001, "198.18.2.5");
	assert_false(r->names_full);
	r->names_more = true;
	answer(d, r, 0, ads, 1, true);
	assert_int_equal(nv, 1); /* "no ads" decided by the name at hand */
	assert_true(deny_kept(0, false));
	assert_int_equal(nasked, 1);

	const char *partner[] = {"www.partner.fb.test"};
	r = web(d, 2, 1002, "198.18.2.6");
	r->names_more = true;
	answer(d, r, 0, partner, 1, true);
	/* "no ads" might match a reverse name: asked again, in full */
	assert_int_equal(nv, 1);
	assert_int_equal(nasked, 3);
	assert_int_equal(asked[2]->kind, LK_NAME);
	assert_true(asked[2]->names_full);
	const char *both[] = {"other.fb.test", "www.partner.fb.test"};
	answer(d, asked[2], 0, both, 2, false);
	assert_int_equal(nv, 2);
	assert_int_equal(V[1].verdict, NF_REPEAT);
	assert_string_equal(logged_name, "www.partner.fb.test");
	assert_int_equal(nasked, 3);
	decider_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(any_name_first_rule),
	    cmocka_unit_test(partial_waits_for_deadline),
	    cmocka_unit_test(names_at_hand_first),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
