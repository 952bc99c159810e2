/*
 * decide_path.c — the user-space part of one decision on a queue worker,
 * without a kernel: what decider_packet() costs per new session for each
 * kind of decision, measured on one thread. Each packet is a new TCP SYN
 * (its own source port); its verdict goes through the real verdict buffer
 * (struct nfqs_vbuf, flushed after every packet like a batch of one, into
 * a send that only counts), an allowed session is remembered in a real
 * session table (65,536 entries, as sluiced's env_decided does), the
 * clock is CLOCK_MONOTONIC. Kinds:
 *   header  a header-only rule: decided on the first pass
 *   table   `users staff`, user and groups from the address table:
 *           decided at once (no pending entry)
 *   groups  `users staff`, the table gives the user only, its groups
 *           answered at once on the worker (decide_env.lookup_cached, a
 *           copy of the answer as sluiced's near cache makes it)
 *   uid     the gateway's own session (LOCAL_OUT, a socket uid),
 *           `users roots`: uid → user and groups answered at once
 * Prints, per kind, the median over REPS passes of the nanoseconds per
 * decision (the thread's CPU time) and checks that every packet got
 * exactly one ALLOW verdict.
 *
 * Usage: decide_path [PACKETS_PER_PASS]   (default 200000)
 */
#include "decide/decide.h"
#include "decide/sessions.h"
#include "identity/idtable.h"
#include "queue/nfq.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 5

static const char *POLICY =
    "network lan { 198.18.1.0/24 }\n"
    "users staff { group staff }\n"
    "users roots { user root }\n"
    "protocol web tcp 80\n"
    "protocol alt tcp 8080\n"
    "rule \"header\" allow alt from lan to any\n"
    "rule \"staff web\" allow web from lan to any users staff\n"
    "rule \"roots web\" allow web from localhost to any users roots\n";

static struct gen *G;
static struct sessions *S;
static struct nfqs_vbuf VB;
static uint64_t sent, allowed, verdicts;

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long count_send(void *arg, const void *buf, size_t len)
{
	(void)arg;
	(void)buf;
	sent++;
	return (long)len;
}

static void verdict(void *arg, uint32_t id, uint32_t v, bool set_mark,
		    uint32_t mark)
{
	(void)arg;
	verdicts++;
	if (v == NF_REPEAT && set_mark &&
	    mark_dec(MARK_SHIFT_DEFAULT, mark) == MARK_DEC_ALLOW)
		allowed++;
	nfqs_vbuf_put(&VB, id, v, set_mark, mark);
	nfqs_vbuf_flush(&VB); /* a batch of one: sent at once */
}

static struct gen *current(void *ctx)
{
	(void)ctx;
	return gen_ref(G);
}

static void decided(void *ctx, const struct session_key *k,
		    const struct gen *g, int rule,
		    const struct session_facts *f)
{
	(void)ctx;
	if (!f || (f->source == IDSRC_NONE && !f->name))
		return;
	sessions_put(S, k, rule, g->id, time(NULL), f);
}

/* The answers at hand: a copy for the request, as lookups.c makes it. */
static bool cached(void *ctx, struct lookup_req *r)
{
	(void)ctx;
	static const char *const groups[] = {"staff", "users", "wheel"};
	if (r->kind == LK_NAME)
		return false;
	r->status = 0;
	r->user_out = xstrdup(r->kind == LK_UID ? "root" : r->user);
	r->groups = xcalloc(4, sizeof(char *));
	for (size_t i = 0; i < 3; i++)
		r->groups[i] = xstrdup(groups[i]);
	r->ngroups = 3;
	return true;
}

static void asked(void *ctx, struct lookup_req *r)
{
	(void)ctx;
	fprintf(stderr, "decide_path: a question left the worker\n");
	exit(1);
}

/* An IPv4 TCP SYN SRC:SPORT → DST:DPORT in BUF (40 bytes). */
static size_t syn4(uint8_t *buf, const uint8_t src[4], uint16_t sport,
		   const uint8_t dst[4], uint16_t dport)
{
	memset(buf, 0, 40);
	buf[0] = 0x45;
	buf[3] = 40;
	buf[8] = 64;
	buf[9] = 6;
	memcpy(buf + 12, src, 4);
	memcpy(buf + 16, dst, 4);
	buf[20] = (uint8_t)(sport >> 8);
	buf[21] = (uint8_t)sport;
	buf[22] = (uint8_t)(dport >> 8);
	buf[23] = (uint8_t)dport;
	buf[32] = 0x50;
	buf[33] = 0x02;
	return 40;
}

enum kind { K_HEADER, K_TABLE, K_GROUPS, K_UID, K_N };
static const char *const KIND_NAME[K_N] = {"header", "table", "groups", "uid"};

/* One pass of N new sessions of kind K; the thread's CPU ns per decision. */
static double pass(enum kind k, struct idtable *ids, uint32_t n,
		   uint32_t *base_id)
{
	struct decide_env env = {.verdict = verdict, .current = current,
				 .decided = decided, .lookup = asked,
				 .lookup_cached = cached, .ids = ids,
				 .now_ns = mono_ns};
	struct decide_cfg cfg = {.mark_shift = MARK_SHIFT_DEFAULT,
				 .slots = 4096, .per_source = 4096,
				 .deadline_ms = 3000, .watchdog_ms = 5000,
				 .on_deadline = ONDL_DENY,
				 .directory = k == K_GROUPS};
	struct decider *d = decider_new(&env, &cfg);
	uint8_t src[4] = {198, 18, 1, k == K_GROUPS ? 3 : 2};
	uint8_t dst[4] = {198, 18, 2, 2};
	uint8_t buf[64];
	uint64_t a0 = allowed;
	uint64_t t0 = cpu_ns();
	for (uint32_t i = 0; i < n; i++) {
		struct qpacket p = {.id = ++*base_id, .last = true,
				    .hook = k == K_UID ? NF_INET_LOCAL_OUT
						       : NF_INET_FORWARD};
		uint16_t sport = (uint16_t)(1024 + i % 60000);
		dst[3] = (uint8_t)(2 + i / 60000);
		p.len = syn4(buf, k == K_UID ? (uint8_t[4]){198, 18, 1, 1} : src,
			     sport, dst, k == K_HEADER ? 8080 : 80);
		p.payload = buf;
		p.wire_len = p.len;
		if (k == K_UID) {
			p.has_uid = true;
			p.uid = 0;
		}
		decider_packet(d, &p);
	}
	double ns = (double)(cpu_ns() - t0) / n;
	if (allowed - a0 != n || decider_pending(d) != 0) {
		fprintf(stderr, "decide_path: %s: %llu of %u allowed, %zu pending\n",
			KIND_NAME[k], (unsigned long long)(allowed - a0), n,
			decider_pending(d));
		exit(1);
	}
	decider_free(d);
	return ns;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 200000;
	if (n == 0)
		n = 1;
	struct diags dg = {0};
	struct policy *p = policy_load_buffer("bench.conf", POLICY,
					      strlen(POLICY), &dg);
	if (!p) {
		diags_print(&dg, stderr);
		return 1;
	}
	diags_free(&dg);
	G = xcalloc(1, sizeof(*G));
	G->policy = p;
	G->engine = engine_build(p);
	G->id = 1;
	G->refs = 1;
	S = sessions_new(65536);
	VB = (struct nfqs_vbuf){.queue = 0, .send = count_send};
	struct idtable *ids = idtable_new();
	uint8_t a[16] = {198, 18, 1, 2}, b[16] = {198, 18, 1, 3};
	const char *groups[] = {"staff", "users", "wheel"};
	idtable_set(ids, AF_INET, a, "carol", groups, 3, 3600);
	idtable_set(ids, AF_INET, b, "dave", NULL, 0, 3600);
	uint32_t id = 0;
	printf("decisions per pass %u, median of %d passes (thread CPU time)\n",
	       n, REPS);
	for (int k = 0; k < K_N; k++) {
		double v[REPS];
		for (int r = 0; r < REPS; r++)
			v[r] = pass((enum kind)k, ids, n, &id);
		qsort(v, REPS, sizeof(v[0]), cmp_d);
		printf("%-7s ns/decision %7.0f  (min %.0f max %.0f)\n",
		       KIND_NAME[k], v[REPS / 2], v[0], v[REPS - 1]);
	}
	printf("verdicts %llu sent %llu\n", (unsigned long long)verdicts,
	       (unsigned long long)sent);
	idtable_free(ids);
	sessions_free(S);
	nfqs_vbuf_free(&VB);
	gen_unref(G);
	return 0;
}
