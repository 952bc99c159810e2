/* test_decide.c — pending decisions without a kernel: every packet gets
 * exactly one verdict; retransmits join; slots, the local reserve and the
 * per-source cap hold; deadlines follow on-deadline; shutdown answers all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/decide.h"
#include "identity/iptable.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 256
static struct {
	uint32_t id, verdict, mark;
	bool set_mark;
} V[MAXV];
static int nv;
static uint64_t clock_ns;
static struct gen *G;

static void rec(void *arg, uint32_t id, uint32_t verdict, bool set_mark,
		uint32_t mark)
{
	assert_true(nv < MAXV);
	V[nv].id = id;
	V[nv].verdict = verdict;
	V[nv].set_mark = set_mark;
	V[nv].mark = mark;
	nv++;
}

static struct gen *cur(void *ctx)
{
	return gen_ref(G);
}

static uint64_t fake_now(void)
{
	return clock_ns;
}

/* Verdicts given to packet ID so far. */
static int verdicts_for(uint32_t id)
{
	int n = 0;
	for (int i = 0; i < nv; i++)
		n += V[i].id == id;
	return n;
}

static const char *POLICY =
    "network lan { 198.18.1.0/24 }\n"
    "domains sites { example.com }\n"
    "users staff { group staff }\n"
    "protocol web tcp 80\n"
    "protocol ssh tcp 22\n"
    "rule \"staff web\" allow web from lan to any users staff\n"
    "rule \"named\" allow ssh from lan to sites\n"
    "rule \"gw named\" allow ssh from localhost to sites\n"
    "rule \"deny ssh\" deny ssh from any to any\n"
    "rule \"lan 8080\" allow from lan to any\n";

static struct iptable *IDS;

static int setup(void **state)
{
	struct diags d = {0};
	struct policy *p = policy_load_buffer("t.conf", POLICY, strlen(POLICY), &d);
	diags_print(&d, stderr);
	if (!p)
		return -1;
	G = calloc(1, sizeof(*G));
	G->policy = p;
	G->engine = engine_build(p);
	G->refs = 1;
	diags_free(&d);
	IDS = iptable_new();
	return 0;
}

static int teardown(void **state)
{
	gen_unref(G);
	iptable_free(IDS);
	return 0;
}

static struct decider *mk(uint32_t slots, uint32_t reserve, uint32_t per_src,
			  enum on_deadline ond)
{
	nv = 0;
	clock_ns = 1000000000ull;
	struct decide_env env = {.verdict = rec, .current = cur,
				 .ids = IDS, .now_ns = fake_now};
	struct decide_cfg cfg = {.slots = slots, .reserve_local = reserve,
				 .per_source = per_src, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ond};
	return decider_new(&env, &cfg);
}

/* Builds an IPv4 TCP SYN from SRC:SPORT to DST:DPORT into BUF. */
static size_t tcp4(uint8_t *buf, const char *src, uint16_t sport,
		   const char *dst, uint16_t dport)
{
	memset(buf, 0, 40);
	buf[0] = 0x45;
	buf[3] = 40;
	buf[8] = 64;
	buf[9] = 6;
	inet_pton(AF_INET, src, buf + 12);
	inet_pton(AF_INET, dst, buf + 16);
	buf[20] = (uint8_t)(sport >> 8);
	buf[21] = (uint8_t)sport;
	buf[22] = (uint8_t)(dport >> 8);
	buf[23] = (uint8_t)dport;
	buf[33] = 0x02; /* SYN */
	return 40;
}

static void send_pkt(struct decider *d, uint32_t id, const char *src,
		     uint16_t sport, const char *dst, uint16_t dport,
		     uint8_t hook)
{
	uint8_t buf[64];
	struct qpacket p = {.id = id, .hook = hook, .mark = 0x1234};
	p.len = tcp4(buf, src, sport, dst, dport);
	p.payload = buf;
	decider_packet(d, &p);
}

static void test_header_decided(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	/* ssh from outside lan: "deny ssh" without any lookup */
	send_pkt(d, 1, "192.0.2.1", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].verdict, NF_DROP);
	/* lan to 8080: allowed by rule 5, mark keeps low bits */
	send_pkt(d, 2, "198.18.1.2", 1000, "198.18.2.2", 8080, NF_INET_FORWARD);
	assert_int_equal(nv, 2);
	assert_int_equal(V[1].verdict, NF_REPEAT);
	assert_true(V[1].set_mark);
	assert_int_equal(V[1].mark, MARK_ALLOW | (5u << 16) | 0x1234);
	assert_int_equal(decider_pending(d), 0);
	decider_free(d);
}

static void test_identity_from_table(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	uint8_t a[16] = {0};
	inet_pton(AF_INET, "198.18.1.7", a);
	const char *groups[] = {"staff"};
	iptable_set(IDS, AF_INET, a, "carol", groups, 1, 60);
	send_pkt(d, 1, "198.18.1.7", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].mark & ~0xffffu, MARK_ALLOW | (1u << 16));
	/* no entry: nobody, so the users rule is out; lan rule 5 allows */
	send_pkt(d, 2, "198.18.1.8", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(nv, 2);
	assert_int_equal(V[1].mark & ~0xffffu, MARK_ALLOW | (5u << 16));
	iptable_del(IDS, AF_INET, a);
	decider_free(d);
}

/* ---- the at-once path ----------------------------------------------------- */

static struct lookup_req *asked[8];
static int nasked;
static char decided_user[64];
static int ndecided;

static void ask_rec(void *ctx, struct lookup_req *r)
{
	assert_true(nasked < 8);
	asked[nasked++] = r;
}

static void decided_rec(void *ctx, const struct session_key *k,
			const struct gen *g, int rule, const char *user,
			const char *name)
{
	/* bookkeeping runs after the verdict went out */
	assert_true(nv > 0);
	snprintf(decided_user, sizeof(decided_user), "%s", user ? user : "");
	ndecided++;
}

/* A client the address table knows in full is decided on arrival: no
 * pending entry, no slot (none are free here), the user reaches the
 * bookkeeping; a table entry without groups, with a directory configured,
 * still asks the directory; a rule needing more than identity waits. */
static void test_at_once(void **state)
{
	nv = 0;
	nasked = 0;
	ndecided = 0;
	clock_ns = 1000000000ull;
	struct decide_env env = {.verdict = rec, .current = cur, .ids = IDS,
				 .now_ns = fake_now, .lookup = ask_rec,
				 .decided = decided_rec};
	struct decide_cfg cfg = {.slots = 1, .reserve_local = 0,
				 .per_source = 1, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .directory = true};
	struct decider *d = decider_new(&env, &cfg);
	uint8_t a[16] = {0}, b[16] = {0};
	inet_pton(AF_INET, "198.18.1.7", a);
	inet_pton(AF_INET, "198.18.1.9", b);
	const char *groups[] = {"staff"};
	iptable_set(IDS, AF_INET, a, "carol", groups, 1, 60);
	iptable_set(IDS, AF_INET, b, "dave", NULL, 0, 60);

	/* dave: in the table without groups → the directory is asked and
	 * the decision takes the only slot */
	send_pkt(d, 1, "198.18.1.9", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(nv, 0);
	assert_int_equal(nasked, 1);
	assert_int_equal(asked[0]->kind, LK_GROUPS);
	assert_string_equal(asked[0]->user, "dave");
	assert_int_equal(decider_pending(d), 1);
	assert_int_equal(decider_slots_free(d, false), 0);

	/* carol, twice: decided at once although no slot is free */
	for (uint32_t id = 2; id <= 3; id++) {
		send_pkt(d, id, "198.18.1.7", (uint16_t)(1000 + id),
			 "198.18.2.2", 80, NF_INET_FORWARD);
		assert_int_equal(verdicts_for(id), 1);
		assert_int_equal(V[nv - 1].mark & ~0xffffu,
				 MARK_ALLOW | (1u << 16));
	}
	assert_int_equal(ndecided, 2);
	assert_string_equal(decided_user, "carol");
	assert_int_equal(decider_stats(d)->decided_at_once, 2);
	assert_int_equal(decider_stats(d)->slots_full, 0);
	assert_int_equal(decider_pending(d), 1);

	/* an address without an entry is "nobody": the users rule is out,
	 * the lan rule decides, still at once */
	send_pkt(d, 4, "198.18.1.8", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(V[nv - 1].mark & ~0xffffu, MARK_ALLOW | (5u << 16));
	assert_int_equal(decider_stats(d)->decided_at_once, 3);

	/* ssh to a name: needs the name, not at once (and no slot → fail) */
	send_pkt(d, 5, "198.18.1.7", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_stats(d)->decided_at_once, 3);
	assert_int_equal(decider_stats(d)->slots_full, 1);
	assert_int_equal(V[nv - 1].verdict, NF_DROP);

	decider_free(d); /* dave's packet: the fail verdict */
	assert_int_equal(verdicts_for(1), 1);
	for (int i = 0; i < nasked; i++)
		lookup_req_free(asked[i]);
	iptable_del(IDS, AF_INET, a);
	iptable_del(IDS, AF_INET, b);
}

static void test_join_and_deadline(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	/* lan ssh needs the destination's name: pending */
	send_pkt(d, 1, "198.18.1.2", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 2, "198.18.1.2", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(nv, 0);
	assert_int_equal(decider_pending(d), 1);
	assert_int_equal(decider_stats(d)->joined, 1);
	clock_ns += 2999000000ull;
	decider_tick(d);
	assert_int_equal(nv, 0);
	clock_ns += 1000000ull;
	decider_tick(d);
	assert_int_equal(nv, 2);
	assert_int_equal(V[0].verdict, NF_DROP);
	assert_int_equal(verdicts_for(1), 1);
	assert_int_equal(verdicts_for(2), 1);
	assert_int_equal(decider_stats(d)->timed_out, 1);
	decider_free(d);
}

static void test_deadline_skip(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_SKIP);
	send_pkt(d, 1, "198.18.1.2", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	clock_ns += 3000000000ull;
	decider_tick(d);
	/* name unknown → "named" does not match → "deny ssh" */
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].verdict, NF_DROP);
	decider_free(d);
}

static void test_slots_reserve_source(void **state)
{
	/* 4 slots, 1 reserved for local traffic, 2 per source */
	struct decider *d = mk(4, 1, 2, ONDL_DENY);
	send_pkt(d, 1, "198.18.1.2", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 2, "198.18.1.2", 2, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 3, "198.18.1.2", 3, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_stats(d)->source_full, 1); /* 3rd from .2 */
	assert_int_equal(verdicts_for(3), 1);
	send_pkt(d, 4, "198.18.1.3", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_pending(d), 3);
	assert_int_equal(decider_slots_free(d, false), 0);
	send_pkt(d, 5, "198.18.1.4", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_stats(d)->slots_full, 1);
	assert_int_equal(verdicts_for(5), 1);
	/* the gateway's own traffic still gets the reserved slot */
	send_pkt(d, 6, "198.18.1.1", 1, "198.18.2.2", 22, NF_INET_LOCAL_OUT);
	assert_int_equal(decider_pending(d), 4);
	assert_int_equal(decider_slots_free(d, true), 0);
	send_pkt(d, 7, "198.18.1.1", 2, "198.18.2.2", 22, NF_INET_LOCAL_OUT);
	assert_int_equal(verdicts_for(7), 1);
	/* shutdown: every pending packet answered exactly once */
	decider_free(d);
	for (uint32_t id = 1; id <= 7; id++)
		assert_int_equal(verdicts_for(id), 1);
}

static void test_malformed(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	uint8_t junk[3] = {0x45, 0, 0};
	struct qpacket p = {.id = 9, .payload = junk, .len = 3};
	decider_packet(d, &p);
	struct qpacket none = {.id = 10};
	decider_packet(d, &none);
	assert_int_equal(nv, 2);
	assert_int_equal(V[0].verdict, NF_DROP);
	assert_int_equal(decider_stats(d)->malformed, 2);
	decider_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_decided),
	    cmocka_unit_test(test_identity_from_table),
	    cmocka_unit_test(test_at_once),
	    cmocka_unit_test(test_join_and_deadline),
	    cmocka_unit_test(test_deadline_skip),
	    cmocka_unit_test(test_slots_reserve_source),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
