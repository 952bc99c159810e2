/* test_decide.c — pending decisions without a kernel: every packet gets
 * exactly one verdict; retransmits join; slots, the local reserve and the
 * per-source cap (by prefix) hold; deadlines follow on-deadline; shutdown
 * answers all; under fail open nothing a client sends gets the fail
 * verdict, only the watchdog and shutdown do. */
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
#include "identity/idtable.h"

#include <arpa/inet.h>
#include <errno.h>
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

/* Packet I's verdict is a denial the kernel remembers (NF_REPEAT with the
 * DENY decision mark, decide.c answer_denial); REJECT when it rejects. */
static bool deny_kept(int i, bool reject)
{
	return V[i].verdict == NF_REPEAT && V[i].set_mark &&
	       mark_dec(MARK_SHIFT_DEFAULT, V[i].mark) == MARK_DEC_DENY &&
	       (mark_id(MARK_SHIFT_DEFAULT, V[i].mark) == MARK_ID_REJECT) ==
		   reject;
}

/* Any denial: remembered, or a plain drop (transient refusals). */
static bool denied(int i)
{
	return V[i].verdict == NF_DROP || deny_kept(i, false) ||
	       deny_kept(i, true);
}
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

static uint64_t clock_step; /* ns the clock moves at each read (0: still) */

static uint64_t fake_now(void)
{
	return clock_ns += clock_step;
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
    "network lan { 198.18.1.0/24 2001:db8:1::/48 }\n"
    "domains sites { example.com }\n"
    "users staff { group staff }\n"
    "protocol web tcp 80\n"
    "protocol ssh tcp 22\n"
    "rule \"staff web\" allow web from lan to any users staff\n"
    "rule \"named\" allow ssh from lan to sites\n"
    "rule \"gw named\" allow ssh from localhost to sites\n"
    "rule \"deny ssh\" deny ssh from any to any\n"
    "rule \"lan 8080\" allow from lan to any\n"
    "protocol telnet tcp 23\n"
    "rule \"no telnet\" reject telnet from any to any\n";

static struct idtable *IDS;

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
	IDS = idtable_new();
	return 0;
}

static int teardown(void **state)
{
	gen_unref(G);
	idtable_free(IDS);
	return 0;
}

static struct decider *mk(uint32_t slots, uint32_t reserve, uint32_t per_src,
			  enum on_deadline ond)
{
	nv = 0;
	clock_ns = 1000000000ull;
	struct decide_env env = {.verdict = rec, .current = cur,
				 .ids = IDS, .now_ns = fake_now};
	struct decide_cfg cfg = {.mark_shift = 16, .slots = slots, .reserve_local = reserve,
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

/* Builds an IPv6 TCP SYN from SRC:SPORT to DST:DPORT into BUF (60 bytes). */
static size_t tcp6(uint8_t *buf, const char *src, uint16_t sport,
		   const char *dst, uint16_t dport)
{
	memset(buf, 0, 60);
	buf[0] = 0x60;
	buf[5] = 20; /* payload length */
	buf[6] = 6;  /* next header: TCP */
	buf[7] = 64;
	inet_pton(AF_INET6, src, buf + 8);
	inet_pton(AF_INET6, dst, buf + 24);
	buf[40] = (uint8_t)(sport >> 8);
	buf[41] = (uint8_t)sport;
	buf[42] = (uint8_t)(dport >> 8);
	buf[43] = (uint8_t)dport;
	buf[52] = 0x50;
	buf[53] = 0x02; /* SYN */
	return 60;
}

/* Queues a TCP SYN (IPv4 or IPv6 by the form of SRC) with packet id ID. */
static void send_pkt(struct decider *d, uint32_t id, const char *src,
		     uint16_t sport, const char *dst, uint16_t dport,
		     uint8_t hook)
{
	uint8_t buf[64];
	struct qpacket p = {.id = id, .hook = hook, .mark = 0x1234};
	p.len = strchr(src, ':') ? tcp6(buf, src, sport, dst, dport)
				 : tcp4(buf, src, sport, dst, dport);
	p.payload = buf;
	decider_packet(d, &p);
}

/* Fast denials: a `reject` rule's denial carries the REJECT id; a `deny`
 * rule's never; the implicit final deny follows decisions { deny-action }. */
static void test_reject_marks(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	send_pkt(d, 1, "192.0.2.1", 1000, "198.18.2.2", 23, NF_INET_FORWARD);
	send_pkt(d, 2, "192.0.2.1", 1001, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 3, "192.0.2.1", 1002, "198.18.2.2", 25, NF_INET_FORWARD);
	assert_int_equal(nv, 3);
	assert_true(deny_kept(0, true));  /* "no telnet" rejects */
	assert_true(deny_kept(1, false)); /* "deny ssh" drops */
	assert_true(deny_kept(2, false)); /* implicit deny: deny-action drop */
	assert_int_equal(decider_stats(d)->verdict_reject, 1);
	/* the low (foreign) mark bits are kept */
	assert_int_equal(V[0].mark & ~mark_owned(MARK_SHIFT_DEFAULT), 0x1234);
	struct decide_cfg cfg = {.slots = 16, .reserve_local = 2,
				 .per_source = 16, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .deny_action = DENYACT_REJECT,
				 .mark_shift = MARK_SHIFT_DEFAULT};
	decider_configure(d, &cfg);
	send_pkt(d, 4, "192.0.2.1", 1003, "198.18.2.2", 25, NF_INET_FORWARD);
	send_pkt(d, 5, "192.0.2.1", 1004, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_true(deny_kept(3, true));  /* implicit deny now rejects */
	assert_true(deny_kept(4, false)); /* a deny rule still drops */
	/* a deadline denial follows deny-action too */
	send_pkt(d, 6, "198.18.1.2", 1005, "198.18.2.2", 22, NF_INET_FORWARD);
	clock_ns += 3000000000ull;
	decider_tick(d);
	assert_int_equal(nv, 6);
	assert_true(deny_kept(5, true));
	decider_free(d);
}

static void test_header_decided(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	/* ssh from outside lan: "deny ssh" without any lookup */
	send_pkt(d, 1, "192.0.2.1", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(nv, 1);
	assert_true(deny_kept(0, false));
	/* lan to 8080: allowed by rule 5, mark keeps low bits */
	send_pkt(d, 2, "198.18.1.2", 1000, "198.18.2.2", 8080, NF_INET_FORWARD);
	assert_int_equal(nv, 2);
	assert_int_equal(V[1].verdict, NF_REPEAT);
	assert_true(V[1].set_mark);
	assert_int_equal(V[1].mark, MARK_ALLOW | (5u << 16) | 0x1234);
	assert_int_equal(decider_pending(d), 0);
	decider_free(d);
}

/* A decision taken on arrival still has a latency: from the packet's
 * arrival to its verdict, not 0 (the histogram's _sum was 0). */
static void test_latency_measured(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	clock_step = 200000; /* 200 µs a reading */
	send_pkt(d, 1, "192.0.2.1", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	clock_step = 0;
	assert_int_equal(nv, 1);
	const struct decide_stats *st = decider_stats(d);
	assert_true(st->latency_ns_sum >= 200000);
	assert_int_equal(st->latency_hist[0], 0); /* not in the <= 0.1 ms bucket */
	uint64_t n = 0;
	for (int i = 0; i < 12; i++)
		n += st->latency_hist[i];
	assert_int_equal(n, 1);
	decider_free(d);
}

static void test_identity_from_table(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	uint8_t a[16] = {0};
	inet_pton(AF_INET, "198.18.1.7", a);
	const char *groups[] = {"staff"};
	idtable_set(IDS, AF_INET, a, "carol", groups, 1, 60);
	send_pkt(d, 1, "198.18.1.7", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].mark & ~0xffffu, MARK_ALLOW | (1u << 16));
	/* no entry: nobody, so the users rule is out; lan rule 5 allows */
	send_pkt(d, 2, "198.18.1.8", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(nv, 2);
	assert_int_equal(V[1].mark & ~0xffffu, MARK_ALLOW | (5u << 16));
	idtable_del(IDS, AF_INET, a);
	decider_free(d);
}

/* A snapshot walked in parts gives what idtable_each gives: every entry
 * once, prefixes with their length, long group lists (past the inline
 * ones) whole. */
struct seen_ids {
	char text[8][256];
	int n;
};

static void seen_one(void *arg, int family, const uint8_t *addr,
		     unsigned plen, const struct identity *id)
{
	struct seen_ids *s = arg;
	assert_true(s->n < 8);
	char ab[INET6_ADDRSTRLEN];
	inet_ntop(family, addr, ab, sizeof(ab));
	int w = snprintf(s->text[s->n], sizeof(s->text[0]), "%s/%u %s %zu", ab,
			 plen, id->user, id->ngroups);
	for (size_t i = 0; i < id->ngroups; i++)
		w += snprintf(s->text[s->n] + w, sizeof(s->text[0]) - (size_t)w,
			      " %s", id->groups[i]);
	assert_null(id->groups[id->ngroups]);
	s->n++;
}

static int text_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_snapshot_each(void **state)
{
	uint8_t a[16] = {0}, b[16] = {0}, c[16] = {0};
	inet_pton(AF_INET, "198.18.1.7", a);
	inet_pton(AF_INET6, "2001:db8::7", b);
	inet_pton(AF_INET, "198.18.4.0", c);
	const char *many[20];
	char names[20][8];
	for (int i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "g%d", i);
		many[i] = names[i];
	}
	idtable_set(IDS, AF_INET, a, "carol", many, 1, 60);
	idtable_set(IDS, AF_INET6, b, "dave", many, 20, 60);
	struct id_login l = {.family = AF_INET, .addr = c, .user = "erin",
			     .ttl_s = 60, .source = IDS_API, .plen = 24};
	assert_int_equal(idtable_login(IDS, &l), LOGIN_NEW);
	struct seen_ids all = {0}, parts = {0};
	idtable_each(IDS, seen_one, &all);
	struct idtable_snapshot *sn = idtable_snapshot(IDS, time(NULL));
	assert_int_equal(idtable_snapshot_count(sn), 3);
	size_t at = 0, calls = 0;
	while (at < idtable_snapshot_count(sn) && calls++ < 10)
		at = idtable_snapshot_each(sn, at, 2, seen_one, &parts);
	assert_int_equal(calls, 2);
	assert_int_equal(idtable_snapshot_each(sn, 3, 2, seen_one, &parts), 3);
	assert_int_equal(idtable_snapshot_each(sn, 9, 2, seen_one, &parts), 3);
	idtable_snapshot_free(sn);
	assert_int_equal(all.n, 3);
	assert_int_equal(parts.n, 3);
	qsort(all.text, 3, sizeof(all.text[0]), text_cmp);
	qsort(parts.text, 3, sizeof(parts.text[0]), text_cmp);
	for (int i = 0; i < 3; i++)
		assert_string_equal(all.text[i], parts.text[i]);
	assert_string_equal(parts.text[0], "198.18.1.7/32 carol 1 g0");
	assert_string_equal(parts.text[1], "198.18.4.0/24 erin 0");
	assert_non_null(strstr(parts.text[2], "2001:db8::7/128 dave 20 g0 g1"));
	assert_non_null(strstr(parts.text[2], " g19"));
	idtable_del(IDS, AF_INET, a);
	idtable_del(IDS, AF_INET6, b);
	assert_true(idtable_logout_prefix(IDS, AF_INET, c, 24, NULL, IDS_API));
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

static enum fact_source decided_source;

static void decided_rec(void *ctx, const struct session_key *k,
			const struct gen *g, int rule,
			const struct session_facts *f)
{
	/* bookkeeping runs after the verdict went out */
	assert_true(nv > 0);
	snprintf(decided_user, sizeof(decided_user), "%s",
		 f && f->user ? f->user : "");
	decided_source = f ? f->source : IDSRC_NONE;
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
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 1, .reserve_local = 0,
				 .per_source = 1, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .directory = true};
	struct decider *d = decider_new(&env, &cfg);
	uint8_t a[16] = {0}, b[16] = {0};
	inet_pton(AF_INET, "198.18.1.7", a);
	inet_pton(AF_INET, "198.18.1.9", b);
	const char *groups[] = {"staff"};
	idtable_set(IDS, AF_INET, a, "carol", groups, 1, 60);
	idtable_set(IDS, AF_INET, b, "dave", NULL, 0, 60);

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
	assert_int_equal(decided_source, IDSRC_TABLE);
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

	/* dave's groups from the directory: the session is remembered with
	 * them and their source, for revocation on reload */
	struct lookup_req *r = asked[0];
	asked[0] = NULL;
	r->status = 0;
	r->groups = calloc(2, sizeof(char *));
	r->groups[0] = strdup("staff");
	r->ngroups = 1;
	decider_answer(d, r);
	assert_int_equal(verdicts_for(1), 1);
	assert_int_equal(V[nv - 1].mark & ~0xffffu, MARK_ALLOW | (1u << 16));
	assert_string_equal(decided_user, "dave");
	assert_int_equal(decided_source, IDSRC_DIRECTORY);

	decider_free(d);
	for (int i = 1; i < nasked; i++)
		lookup_req_free(asked[i]);
	idtable_del(IDS, AF_INET, a);
	idtable_del(IDS, AF_INET, b);
}

/* Answers at hand (decide_env.lookup_cached, the near caches of
 * sluiced/lookups.c): only dave's groups are known. */
static int ncached_calls;
static bool cached_rec(void *ctx, struct lookup_req *r)
{
	ncached_calls++;
	if (r->kind != LK_GROUPS || strcmp(r->user, "dave") != 0)
		return false;
	r->status = 0;
	r->groups = calloc(2, sizeof(char *));
	r->groups[0] = strdup("staff");
	r->ngroups = 1;
	return true;
}

/* A question whose answer is at hand is answered on the worker: the
 * decision ends on the packet's arrival, nothing is sent to the main
 * thread, nothing stays in flight, and the groups keep their source (the
 * directory); a question without a cached answer is still sent. */
static void test_answered_at_once(void **state)
{
	nv = 0;
	nasked = 0;
	ndecided = 0;
	ncached_calls = 0;
	clock_ns = 1000000000ull;
	struct decide_env env = {.verdict = rec, .current = cur, .ids = IDS,
				 .now_ns = fake_now, .lookup = ask_rec,
				 .lookup_cached = cached_rec,
				 .decided = decided_rec};
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 4, .per_source = 4,
				 .deadline_ms = 3000, .watchdog_ms = 5000,
				 .on_deadline = ONDL_DENY, .directory = true};
	struct decider *d = decider_new(&env, &cfg);
	uint8_t a[16] = {0}, b[16] = {0};
	inet_pton(AF_INET, "198.18.1.9", a);
	inet_pton(AF_INET, "198.18.1.10", b);
	idtable_set(IDS, AF_INET, a, "dave", NULL, 0, 60);
	idtable_set(IDS, AF_INET, b, "erin", NULL, 0, 60);

	send_pkt(d, 1, "198.18.1.9", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(ncached_calls, 1);
	assert_int_equal(nasked, 0);
	assert_int_equal(verdicts_for(1), 1);
	assert_int_equal(V[nv - 1].mark & ~0xffffu, MARK_ALLOW | (1u << 16));
	assert_string_equal(decided_user, "dave");
	assert_int_equal(decided_source, IDSRC_DIRECTORY);
	assert_int_equal(decider_pending(d), 0);
	assert_int_equal(decider_stats(d)->in_flight_groups, 0);
	assert_int_equal(decider_stats(d)->lookups_groups, 1);

	/* erin: not at hand → asked of the main thread, pending */
	send_pkt(d, 2, "198.18.1.10", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(ncached_calls, 2);
	assert_int_equal(nasked, 1);
	assert_int_equal(asked[0]->kind, LK_GROUPS);
	assert_int_equal(verdicts_for(2), 0);
	assert_int_equal(decider_pending(d), 1);
	assert_int_equal(decider_stats(d)->in_flight_groups, 1);

	decider_free(d);
	lookup_req_free(asked[0]);
	idtable_del(IDS, AF_INET, a);
	idtable_del(IDS, AF_INET, b);
}

/* A decider with a directory (group lookups asked through ask_rec, the
 * decisions seen by decided_rec), 4 slots, deny at the 3 s deadline; the
 * records and the clock reset. */
static struct decider *mk_directory(void)
{
	nv = nasked = ndecided = 0;
	clock_ns = 1000000000ull;
	struct decide_env env = {.verdict = rec, .current = cur, .ids = IDS,
				 .now_ns = fake_now, .lookup = ask_rec,
				 .decided = decided_rec};
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 4, .per_source = 4,
				 .deadline_ms = 3000, .watchdog_ms = 5000,
				 .on_deadline = ONDL_DENY, .directory = true};
	struct decider *d = decider_new(&env, &cfg);
	return d;
}

/* A group list the directory could not give whole (EOVERFLOW) leaves the
 * groups unknown: a rule needing a group waits for the deadline, it is
 * never decided on a shorter list. The directory's own name for the user
 * replaces the table's spelling, for the rules and the bookkeeping. */
static void test_incomplete_groups(void **state)
{
	struct decider *d = mk_directory();
	uint8_t a[16] = {0};
	inet_pton(AF_INET, "198.18.1.20", a);
	idtable_set(IDS, AF_INET, a, "LAB\\Erin ", NULL, 0, 60);

	send_pkt(d, 1, "198.18.1.20", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(nasked, 1);
	assert_string_equal(asked[0]->user, "LAB\\Erin ");
	struct lookup_req *r = asked[0];
	r->status = EOVERFLOW;
	r->user_out = strdup("erin");
	decider_answer(d, r);
	assert_int_equal(nv, 0); /* "staff web" cannot be told: waits */
	clock_ns += 3000000000ull;
	decider_tick(d);
	assert_int_equal(verdicts_for(1), 1);
	assert_int_equal(V[nv - 1].verdict, NF_DROP); /* deadline: not remembered */
	assert_int_equal(ndecided, 0);

	/* the complete answer: allowed, remembered as the directory names
	 * the user, with the directory as the groups' source */
	send_pkt(d, 2, "198.18.1.20", 1001, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(nasked, 2);
	r = asked[1];
	r->status = 0;
	r->user_out = strdup("erin");
	r->groups = calloc(2, sizeof(char *));
	r->groups[0] = strdup("staff");
	r->ngroups = 1;
	decider_answer(d, r);
	assert_int_equal(verdicts_for(2), 1);
	assert_int_equal(V[nv - 1].mark & ~0xffffu, MARK_ALLOW | (1u << 16));
	assert_string_equal(decided_user, "erin");
	assert_int_equal(decided_source, IDSRC_DIRECTORY);
	decider_free(d);
	idtable_del(IDS, AF_INET, a);
}

/* A login the table recorded under a spelling identity { ignore-users }
 * did not catch, which the directory names as a listed account: the
 * session goes on with no user (counted), never with the account's
 * groups. The same user named by the directory otherwise keeps them. */
static void test_ignored_on_lookup(void **state)
{
	static const char *pol =
	    "network lan { 198.18.1.0/24 }\nusers staff { group staff }\n"
	    "protocol web tcp 80\nidentity { ignore-users { nagios } }\n"
	    "rule \"staff web\" allow web from lan to any users staff\n";
	struct diags dg = {0};
	struct gen *keep = G;
	G = calloc(1, sizeof(*G));
	G->policy = policy_load_buffer("t.conf", pol, strlen(pol), &dg);
	assert_non_null(G->policy);
	G->engine = engine_build(G->policy);
	G->refs = 1;
	diags_free(&dg);
	struct decider *d = mk_directory();
	uint8_t a[16] = {0};
	inet_pton(AF_INET, "198.18.1.21", a);
	idtable_set(IDS, AF_INET, a, "nagi\xe2\x80\x8fos", NULL, 0, 60);
	const char *says[] = {"nagios", "nagios", "alice"};
	int status[] = {0, EOVERFLOW, 0};
	for (int i = 0; i < 3; i++) {
		send_pkt(d, 10 + (uint32_t)i, "198.18.1.21", 1000 + (uint16_t)i,
			 "198.18.2.2", 80, NF_INET_FORWARD);
		assert_int_equal(nasked, i + 1);
		struct lookup_req *r = asked[i];
		r->status = status[i];
		r->user_out = strdup(says[i]);
		if (!status[i]) {
			r->groups = calloc(2, sizeof(char *));
			r->groups[0] = strdup("staff");
			r->ngroups = 1;
		}
		decider_answer(d, r);
		assert_int_equal(verdicts_for(10 + (uint32_t)i), 1);
		bool allowed = (V[nv - 1].mark & ~0xffffu) ==
			       (MARK_ALLOW | (1u << 16));
		assert_int_equal(allowed, i == 2);
	}
	assert_int_equal(decider_stats(d)->user_ignored, 2);
	decider_free(d);
	idtable_del(IDS, AF_INET, a);
	gen_unref(G);
	G = keep;
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
	assert_int_equal(V[0].verdict, NF_DROP); /* deadline: not remembered */
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
	assert_true(deny_kept(0, false));
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

/* Unreadable packets are denied, never given the fail verdict (fail open
 * here); so is a packet whose message was cut at the receive slot (no
 * payload): a client chooses a packet's size. */
static void test_malformed(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 16, .reserve_local = 2,
				 .per_source = 16, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .fail_open = true};
	decider_configure(d, &cfg);
	uint8_t junk[3] = {0x45, 0, 0};
	struct qpacket p = {.id = 9, .payload = junk, .len = 3, .wire_len = 3};
	decider_packet(d, &p);
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].verdict, NF_DROP);
	assert_false(V[0].set_mark);
	assert_int_equal(decider_stats(d)->misread, 1);
	assert_int_equal(decider_stats(d)->verdict_fail, 0);
	struct qpacket none = {.id = 10};
	decider_packet(d, &none);
	assert_int_equal(nv, 2);
	assert_int_equal(V[1].verdict, NF_DROP);
	assert_int_equal(decider_stats(d)->malformed, 1);
	assert_int_equal(decider_stats(d)->verdict_fail, 0);
	decider_free(d);
}

/* The cross-check with the rule id in the kernel's QUEUE mark: the same
 * rule is a decision as usual; another rule is a misread packet, denied
 * (fail open here, so a fail verdict would show as an allow). */
static void test_kernel_cross_check(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 16, .reserve_local = 2,
				 .per_source = 16, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .fail_open = true};
	decider_configure(d, &cfg);
	uint8_t buf[64];
	/* the kernel stopped at rule 5 ("lan 8080", id 5): so does sluiced */
	struct qpacket p = {.id = 1, .hook = NF_INET_FORWARD,
			    .mark = MARK_QUEUE | (5u << 16) | 0x12,
			    .payload = buf};
	p.len = p.wire_len = tcp4(buf, "198.18.1.7", 1000, "198.18.2.2", 8080);
	decider_packet(d, &p);
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].mark, MARK_ALLOW | (5u << 16) | 0x12);
	/* the kernel says rule 1 ("staff web"), sluiced reads port 8080 */
	p.id = 2;
	p.mark = MARK_QUEUE | (1u << 16);
	decider_packet(d, &p);
	assert_int_equal(nv, 2);
	assert_int_equal(V[1].verdict, NF_DROP);
	assert_int_equal(decider_stats(d)->misread, 1);
	assert_int_equal(decider_stats(d)->verdict_fail, 0);
	decider_free(d);
}

/* The decider reads and writes the mark at the policy's shift, the one the
 * ruleset generator uses (common/mark.h): with shift 0 sluice owns bits
 * 0..15 and bits 16..31 are kept. */
static void test_mark_shift_honoured(void **state)
{
	struct decider *d = mk(16, 2, 16, ONDL_DENY);
	struct decide_cfg cfg = {.mark_shift = 0, .slots = 16, .reserve_local = 2,
				 .per_source = 16, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY};
	decider_configure(d, &cfg);
	uint8_t buf[64];
	/* the kernel's QUEUE mark at shift 0 for rule 5 ("lan 8080") */
	struct qpacket p = {.id = 1, .hook = NF_INET_FORWARD,
			    .mark = 0x12340000u | 0xc000u | 5u, .payload = buf};
	p.len = p.wire_len = tcp4(buf, "198.18.1.7", 1000, "198.18.2.2", 8080);
	decider_packet(d, &p);
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].verdict, NF_REPEAT);
	assert_int_equal(V[0].mark, 0x12340000u | 0x4000u | 5u);
	assert_int_equal(decider_stats(d)->misread, 0);
	/* the same id at the default shift is no QUEUE mark at shift 0 */
	assert_int_equal(mark_make(0, MARK_DEC_ALLOW, 5), 0x4005u);
	assert_int_equal(mark_make(16, MARK_DEC_ALLOW, 5), MARK_ALLOW | (5u << 16));
	decider_free(d);
}

/* ---- the fail verdict is for trouble, never for what a client sends ------ */

static struct decider *mk_cfg(const struct decide_cfg *cfg)
{
	nv = 0;
	clock_ns = 1000000000ull;
	struct decide_env env = {.verdict = rec, .current = cur,
				 .ids = IDS, .now_ns = fake_now};
	return decider_new(&env, cfg);
}

/* The one verdict of packet ID (fails the test when it has none or more). */
static int verdict_of(uint32_t id)
{
	int at = -1;
	for (int i = 0; i < nv; i++)
		if (V[i].id == id) {
			assert_int_equal(at, -1);
			at = i;
		}
	assert_int_not_equal(at, -1);
	return at;
}

#define FAIL_OPEN_MARK 0x7fff0000u

/* Under fail open, each thing a client controls is denied (NF_DROP, no
 * mark), and verdict_fail stays 0: an unreadable header, a packet with no
 * payload, the 17th copy of a pending SYN, a session over its per-source
 * cap, a session finding every slot taken. */
static void test_fail_open_client_cannot_trigger(void **state)
{
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 6, .reserve_local = 1,
				 .per_source = 2, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .fail_open = true};
	struct decider *d = mk_cfg(&cfg);
	uint32_t id = 1;

	/* unreadable: three bytes of IPv4, then no payload at all */
	uint8_t junk[3] = {0x45, 0, 0};
	decider_packet(d, &(struct qpacket){.id = id++, .payload = junk,
					    .len = 3});
	decider_packet(d, &(struct qpacket){.id = id++});
	assert_int_equal(nv, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(V[i].verdict, NF_DROP);
		assert_false(V[i].set_mark);
	}

	/* 1 + 16 copies of one SYN wait together; the 18th and 19th are
	 * dropped, the decision itself goes on */
	uint32_t first = id;
	for (int i = 0; i < 19; i++)
		send_pkt(d, id++, "198.18.1.2", 1000, "198.18.2.2", 22,
			 NF_INET_FORWARD);
	assert_int_equal(decider_pending(d), 1);
	assert_int_equal(decider_stats(d)->overflow, 3);
	assert_int_equal(nv, 5);
	for (int i = 2; i < 5; i++) {
		assert_int_equal(V[i].verdict, NF_DROP);
		assert_false(V[i].set_mark);
	}

	/* per-source 2: the second session of .2 is admitted, the third not */
	send_pkt(d, id++, "198.18.1.2", 1001, "198.18.2.2", 22, NF_INET_FORWARD);
	uint32_t over = id;
	send_pkt(d, id++, "198.18.1.2", 1002, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(V[verdict_of(over)].verdict, NF_DROP);
	assert_int_equal(decider_stats(d)->source_full, 1);

	/* five general slots: three more sources take them, a fourth is refused */
	send_pkt(d, id++, "198.18.1.3", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, id++, "198.18.1.4", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, id++, "198.18.1.5", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_pending(d), 5);
	uint32_t full = id;
	send_pkt(d, id++, "198.18.1.6", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(V[verdict_of(full)].verdict, NF_DROP);
	assert_false(V[verdict_of(full)].set_mark);
	assert_int_equal(decider_stats(d)->slots_full, 1);

	assert_int_equal(decider_stats(d)->verdict_fail, 0);
	/* the deadline denies the pending ones: still no fail verdict */
	clock_ns += 3000000000ull;
	decider_tick(d);
	assert_int_equal(decider_pending(d), 0);
	assert_int_equal(V[verdict_of(first)].verdict, NF_DROP);
	for (int i = 0; i < nv; i++)
		assert_true(denied(i));
	assert_int_equal(decider_stats(d)->verdict_fail, 0);
	for (uint32_t i = 1; i < id; i++)
		assert_int_equal(verdicts_for(i), 1);
	decider_free(d);
}

/* Copies are held only in the kernel queue's room beyond one packet per
 * slot: with a queue of 18 and 16 slots, two copies wait, the third is
 * dropped (the queue never fills, whose overflow would be the kernel's fail
 * mode); once the decision ends the room is back. */
static void test_copies_fit_the_queue(void **state)
{
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 16, .reserve_local = 2,
				 .per_source = 16, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .fail_open = true, .queue_len = 18};
	struct decider *d = mk_cfg(&cfg);
	for (uint32_t id = 1; id <= 4; id++)
		send_pkt(d, id, "198.18.1.2", 1000, "198.18.2.2", 22,
			 NF_INET_FORWARD);
	assert_int_equal(decider_stats(d)->joined, 2);
	assert_int_equal(nv, 1);
	assert_int_equal(V[verdict_of(4)].verdict, NF_DROP);
	/* another session's copy: no room either */
	send_pkt(d, 5, "198.18.1.3", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 6, "198.18.1.3", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(V[verdict_of(6)].verdict, NF_DROP);
	clock_ns += 3000000000ull;
	decider_tick(d);
	assert_int_equal(decider_pending(d), 0);
	send_pkt(d, 7, "198.18.1.2", 1001, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 8, "198.18.1.2", 1001, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 9, "198.18.1.2", 1001, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_stats(d)->joined, 4);
	assert_int_equal(decider_stats(d)->verdict_fail, 0);
	decider_free(d);
	for (uint32_t id = 1; id <= 9; id++)
		assert_int_equal(verdicts_for(id), 1);
}

/* sluiced's own trouble does give the fail mode: a decision found past the
 * watchdog (the worker fell behind) and the pending ones of a stop are
 * allowed with the fail-open rule id under fail open. */
static void test_fail_open_for_trouble(void **state)
{
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 16, .reserve_local = 2,
				 .per_source = 16, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .fail_open = true};
	struct decider *d = mk_cfg(&cfg);
	send_pkt(d, 1, "198.18.1.2", 1000, "198.18.2.2", 22, NF_INET_FORWARD);
	clock_ns += 6000000000ull; /* no tick for 6 s */
	decider_tick(d);
	assert_int_equal(nv, 1);
	assert_int_equal(V[0].verdict, NF_REPEAT);
	assert_true(V[0].set_mark);
	assert_int_equal(V[0].mark, FAIL_OPEN_MARK | 0x1234);
	assert_int_equal(decider_stats(d)->watchdog, 1);
	send_pkt(d, 2, "198.18.1.2", 1001, "198.18.2.2", 22, NF_INET_FORWARD);
	decider_free(d);
	assert_int_equal(nv, 2);
	assert_int_equal(V[1].mark, FAIL_OPEN_MARK | 0x1234);
}

/* The per-source cap counts a source by prefix: by default (cfg 0) the
 * whole address; with /64, eight addresses of one IPv6 subnet are one
 * source, another /64 is another; with /24, IPv4 neighbours share. */
static void test_per_source_prefix(void **state)
{
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 64, .reserve_local = 0,
				 .per_source = 3, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .per_source_prefix_v4 = 24,
				 .per_source_prefix_v6 = 64};
	struct decider *d = mk_cfg(&cfg);
	char a[64];
	for (int i = 0; i < 8; i++) {
		snprintf(a, sizeof(a), "2001:db8:1::%x", 0x100 + i);
		send_pkt(d, (uint32_t)(1 + i), a, 1000, "2001:db8:2::2", 22,
			 NF_INET_FORWARD);
	}
	assert_int_equal(decider_pending(d), 3);
	assert_int_equal(decider_stats(d)->source_full, 5);
	/* another /64 of the same /48 is another source */
	send_pkt(d, 20, "2001:db8:1:1::5", 1000, "2001:db8:2::2", 22,
		 NF_INET_FORWARD);
	assert_int_equal(decider_pending(d), 4);
	/* IPv4 /24: .2, .3 and .4 fill it, .9 is refused */
	send_pkt(d, 30, "198.18.1.2", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 31, "198.18.1.3", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 32, "198.18.1.4", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 33, "198.18.1.9", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_pending(d), 7);
	assert_int_equal(V[verdict_of(33)].verdict, NF_DROP);
	/* the decisions end: the counts go back to nothing, and the /64 is
	 * admitted again */
	clock_ns += 3000000000ull;
	decider_tick(d);
	assert_int_equal(decider_pending(d), 0);
	send_pkt(d, 40, "2001:db8:1::1ff", 1000, "2001:db8:2::2", 22,
		 NF_INET_FORWARD);
	assert_int_equal(decider_pending(d), 1);
	decider_free(d);

	/* unset prefixes: the whole address */
	cfg.per_source_prefix_v4 = cfg.per_source_prefix_v6 = 0;
	cfg.per_source = 1;
	d = mk_cfg(&cfg);
	send_pkt(d, 1, "2001:db8:1::100", 1000, "2001:db8:2::2", 22,
		 NF_INET_FORWARD);
	send_pkt(d, 2, "2001:db8:1::101", 1000, "2001:db8:2::2", 22,
		 NF_INET_FORWARD);
	send_pkt(d, 3, "198.18.1.2", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 4, "198.18.1.3", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_pending(d), 4);
	decider_free(d);
}

/* A reload that changes the prefixes while decisions are pending: each
 * decision gives back what it took (its source as counted then), so no
 * count is left behind or goes negative. */
static void test_per_source_reconfigure(void **state)
{
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 64, .reserve_local = 0,
				 .per_source = 1, .deadline_ms = 3000,
				 .watchdog_ms = 5000, .on_deadline = ONDL_DENY,
				 .per_source_prefix_v4 = 32,
				 .per_source_prefix_v6 = 128};
	struct decider *d = mk_cfg(&cfg);
	send_pkt(d, 1, "198.18.1.2", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	cfg.per_source_prefix_v4 = 24;
	decider_configure(d, &cfg);
	send_pkt(d, 2, "198.18.1.3", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 3, "198.18.1.4", 1, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_pending(d), 2);
	assert_int_equal(V[verdict_of(3)].verdict, NF_DROP);
	clock_ns += 3000000000ull;
	decider_tick(d);
	assert_int_equal(decider_pending(d), 0);
	/* nothing left over: one /24 session is admitted, the next refused */
	send_pkt(d, 4, "198.18.1.2", 2, "198.18.2.2", 22, NF_INET_FORWARD);
	send_pkt(d, 5, "198.18.1.5", 2, "198.18.2.2", 22, NF_INET_FORWARD);
	assert_int_equal(decider_pending(d), 1);
	assert_int_equal(V[verdict_of(5)].verdict, NF_DROP);
	decider_free(d);
}

/* Sessions TO the gateway count against their source like any other and
 * never take the reserve, which is for sessions the gateway opens. */
static void test_to_gateway_capped(void **state)
{
	struct decider *d = mk(4, 2, 1, ONDL_DENY);
	/* one source, two sessions to the gateway's ssh: the second refused */
	send_pkt(d, 1, "198.18.1.2", 1, "198.18.1.1", 22, NF_INET_LOCAL_IN);
	send_pkt(d, 2, "198.18.1.2", 2, "198.18.1.1", 22, NF_INET_LOCAL_IN);
	assert_int_equal(decider_pending(d), 1);
	assert_int_equal(decider_stats(d)->source_full, 1);
	assert_int_equal(V[verdict_of(2)].verdict, NF_DROP);
	/* a second source fills the general slots (2 of 4) */
	send_pkt(d, 3, "198.18.1.3", 1, "198.18.1.1", 22, NF_INET_LOCAL_IN);
	assert_int_equal(decider_slots_free(d, false), 0);
	/* a third source to the gateway: no general slot, and the reserve is
	 * not for it */
	send_pkt(d, 4, "198.18.1.4", 1, "198.18.1.1", 22, NF_INET_LOCAL_IN);
	assert_int_equal(V[verdict_of(4)].verdict, NF_DROP);
	assert_int_equal(decider_stats(d)->slots_full, 1);
	assert_int_equal(decider_slots_free(d, true), 2);
	/* the gateway's own sessions take the reserve, beyond per-source */
	send_pkt(d, 5, "198.18.1.1", 1, "198.18.2.2", 22, NF_INET_LOCAL_OUT);
	send_pkt(d, 6, "198.18.1.1", 2, "198.18.2.2", 22, NF_INET_LOCAL_OUT);
	assert_int_equal(decider_pending(d), 4);
	assert_int_equal(decider_slots_free(d, true), 0);
	/* a reload that shrinks the reserve below what is held: none free */
	struct decide_cfg smaller = {.mark_shift = 16, .slots = 4, .reserve_local = 1,
				     .per_source = 1, .deadline_ms = 3000,
				     .watchdog_ms = 5000};
	decider_configure(d, &smaller);
	assert_int_equal(decider_slots_free(d, true), 0);
	decider_free(d);
	for (uint32_t id = 1; id <= 6; id++)
		assert_int_equal(verdicts_for(id), 1);
}

/* A verdict whose send takes long (the kernel forwards the packet inside
 * it): the decision latency ends where the verdict is given, so the send
 * is not counted, on each path: the first pass, at once from the table,
 * and a pending decision finished by an answer at hand. */
static void rec_slow(void *arg, uint32_t id, uint32_t verdict, bool set_mark,
		     uint32_t mark)
{
	rec(arg, id, verdict, set_mark, mark);
	clock_ns += 5000000; /* 5 ms in the send */
}

static void test_latency_excludes_send(void **state)
{
	nv = 0;
	nasked = 0;
	clock_ns = 1000000000ull;
	clock_step = 0;
	struct decide_env env = {.verdict = rec_slow, .current = cur,
				 .ids = IDS, .now_ns = fake_now,
				 .lookup = ask_rec, .lookup_cached = cached_rec};
	struct decide_cfg cfg = {.mark_shift = 16, .slots = 4, .per_source = 4,
				 .deadline_ms = 3000, .watchdog_ms = 5000,
				 .on_deadline = ONDL_DENY, .directory = true};
	struct decider *d = decider_new(&env, &cfg);
	uint8_t a[16] = {0}, b[16] = {0};
	const char *staff[] = {"staff"};
	inet_pton(AF_INET, "198.18.1.9", a);
	inet_pton(AF_INET, "198.18.1.10", b);
	idtable_set(IDS, AF_INET, a, "dave", NULL, 0, 60);  /* groups asked */
	idtable_set(IDS, AF_INET, b, "erin", staff, 1, 60); /* at once */
	send_pkt(d, 1, "198.18.1.9", 1000, "198.18.2.2", 8080, NF_INET_FORWARD);
	send_pkt(d, 2, "198.18.1.10", 1000, "198.18.2.2", 80, NF_INET_FORWARD);
	send_pkt(d, 3, "198.18.1.9", 1001, "198.18.2.2", 80, NF_INET_FORWARD);
	assert_int_equal(nv, 3);
	assert_int_equal(nasked, 0);
	const struct decide_stats *st = decider_stats(d);
	assert_int_equal(st->decided_first_pass, 1);
	assert_int_equal(st->decided_at_once, 1);
	assert_int_equal(st->lookups_at_hand, 1);
	assert_int_equal(st->latency_hist[0], 3); /* all <= 0.1 ms */
	assert_int_equal(st->latency_ns_sum, 0);
	decider_free(d);
	idtable_del(IDS, AF_INET, a);
	idtable_del(IDS, AF_INET, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_latency_measured),
	    cmocka_unit_test(test_latency_excludes_send),
	    cmocka_unit_test(test_header_decided),
	    cmocka_unit_test(test_incomplete_groups),
	    cmocka_unit_test(test_ignored_on_lookup),
	    cmocka_unit_test(test_identity_from_table),
	    cmocka_unit_test(test_snapshot_each),
	    cmocka_unit_test(test_at_once),
	    cmocka_unit_test(test_join_and_deadline),
	    cmocka_unit_test(test_deadline_skip),
	    cmocka_unit_test(test_slots_reserve_source),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_kernel_cross_check),
	    cmocka_unit_test(test_mark_shift_honoured),
	    cmocka_unit_test(test_fail_open_client_cannot_trigger),
	    cmocka_unit_test(test_fail_open_for_trouble),
	    cmocka_unit_test(test_copies_fit_the_queue),
	    cmocka_unit_test(test_per_source_prefix),
	    cmocka_unit_test(test_reject_marks),
	    cmocka_unit_test(test_per_source_reconfigure),
	    cmocka_unit_test(test_to_gateway_capped),
	    cmocka_unit_test(test_answered_at_once),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
