/*
 * halfopen.c — flood { tcp-half-open N } (docs/sluice.conf.5.md), the one
 * flood limit the kernel cannot count alone: nftables' `ct count` counts
 * every session of a source, not the unanswered ones. So on the observe
 * tick (once a second) a pass (every 1 to 5 s: flood_half_open_wait_s()
 * keeps the passes under 0.5 % of a core, as the kernel walks every
 * bucket of its conntrack hash for a dump; any new ruleset makes the next
 * tick a pass) reads the conntrack entries whose handshake
 * has not completed (a non-blocking dump on the event loop,
 * kernel/conntrack.h ct_stream_open_status: the kernel leaves out every
 * IPS_ASSURED entry, so the bulk of established sessions is not copied
 * out, though the kernel still walks its whole hash;
 * a kernel that refuses that filter is read whole) and counts, per
 * source (the IPv4 address, the IPv6 address cut to the flood prefix,
 * exceptions and the gateway's own addresses left out), the TCP sessions
 * still unanswered or not completed (SYN_SENT, SYN_SENT2, SYN_RECV). A
 * source over N is put into the kernel set flood_half_open4/6 (ruleset.c
 * "flood_tcp4/6": its new TCP sessions are then dropped there and counted by
 * flood_tcp_half_open), with a timeout the next passes refresh while it
 * stays at N or more; below N it is taken out. flood_tcp4/6 look the
 * set up only while it has elements of their family: the same
 * transaction puts the lookup in or takes it out (settle_lookup), so a
 * SYN pays for it only while some source is limited. The kernel set itself is
 * read at the end of each pass, so a reload that replaced it, or a
 * restart, is repaired by the next pass.
 *
 * Memory is bounded: at most HO_SESSIONS_MAX unanswered sessions are
 * counted a pass and at most FLOOD_HALF_OPEN_SIZE sources are put into
 * the set; what is past either cap is counted (flood_half_open_untracked)
 * and left to the kernel's other limits. Nothing here ever allows: the
 * set only drops.
 */
#include "sluiced/daemon.h"
#include "kernel/nftread.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/util.h"
#include "kernel/conntrack.h"
#include "kernel/ruleset.h"
#include "stats/counters.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Unanswered sessions counted in one pass at most (17 bytes each). */
#define HO_SESSIONS_MAX 262144
/* Socket buffers read per wake-up: the loop serves others in between. */
#define HO_READS 64
/* An element whose timeout has less than this left is refreshed. */
#define HO_REFRESH_S (FLOOD_HALF_OPEN_TIMEOUT_S / 2)

/* A source: family (4 or 6) and address (IPv6 cut to the prefix). */
struct ho_key {
	uint8_t fam;
	uint8_t a[16];
};

/* A source in the kernel set: its key and the seconds its element has
 * left. */
struct ho_elem {
	struct ho_key k;
	uint64_t expires_s;
};

/* A source over the limit after the last pass, with its count. */
struct ho_over {
	struct ho_key k;
	uint32_t n;
};

struct halfopen {
	struct ct_stream *st; /* the pass under way, or NULL */
	struct event *ev;
	struct ct_local local; /* the gateway's addresses, for this pass */
	struct ho_key *v;      /* the pass's unanswered sessions' sources */
	size_t n;
	uint64_t untracked; /* sessions and sources past the caps */
	struct ho_over *over; /* the last pass's result, sorted */
	size_t nover;
	bool warned; /* a failed set update was logged */
	bool whole;  /* the kernel refused the status filter: read it all */
	uint64_t cpu_ns;      /* the pass's CPU time so far */
	uint64_t start_ms;    /* when the pass under way began (mono_ms) */
	uint64_t due_ms;      /* when the next pass is due (mono_ms) */
	uint64_t installs;    /* ruleset_installs() when a tick last looked */
	uint64_t passes;      /* passes completed */
	uint64_t last_cpu_ns; /* the last completed pass's CPU time */
	/* flood_tcp4/6 (index 0/1) without the lookup of flood_half_open4/6,
	 * as this process left them since the ruleset of `installs`
	 * (settle_lookup) */
	bool lookup_off[2];
};

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ho_key));
}

/* qsort(3) and bsearch(3) by key; V may be NULL when N is 0. */
static void sort_keys(void *v, size_t n, size_t size)
{
	if (n)
		qsort(v, n, size, cmp_key);
}

static void *find_key(const void *k, const void *v, size_t n, size_t size)
{
	return n ? bsearch(k, v, n, size, cmp_key) : NULL;
}

/* True for a TCP session not yet answered or not yet completed. */
static bool half_open(const struct ct_entry *e)
{
	return e->key.proto == IPPROTO_TCP &&
	       (e->tcp_state == 1 /* SYN_SENT */ ||
		e->tcp_state == 2 /* SYN_RECV */ ||
		e->tcp_state == 9 /* SYN_SENT2 */);
}

/* True when a session from SRC (FAMILY AF_INET/AF_INET6) is not counted:
 * an exception (the flood chains return before the limits) or one of the
 * gateway's own addresses (the chains are not entered from the output
 * hook; a conntrack entry does not say which hook made it, so every
 * session from a local address is taken for the gateway's own). */
static bool exempt(const struct halfopen *h, const struct flood_cfg *f,
		   int family, const uint8_t *src)
{
	if (ct_local_has(&h->local, family, src))
		return true;
	if (!f->exc)
		return false;
	if (family == AF_INET) {
		uint32_t a;
		memcpy(&a, src, 4);
		return addrset_has4(&f->exc->addrs, ntohl(a));
	}
	return addrset_has6(&f->exc->addrs, load128(src));
}

static void on_entry(const struct ct_entry *e, void *arg)
{
	struct daemon *d = arg;
	struct halfopen *h = d->halfopen;
	const struct flood_cfg *f = &d->gen->policy->flood;
	if (!half_open(e) || exempt(h, f, e->key.family, e->key.src))
		return;
	if (h->n >= HO_SESSIONS_MAX) {
		h->untracked++;
		return;
	}
	struct ho_key k;
	memset(&k, 0, sizeof(k));
	if (e->key.family == AF_INET) {
		k.fam = 4;
		memcpy(k.a, e->key.src, 4);
	} else {
		k.fam = 6;
		memcpy(k.a, e->key.src, 16);
		prefix_cut(k.a, k.a, f->prefix_v6);
	}
	VEC_PUSH(h->v, h->n, k);
}

/* ---- the kernel set ------------------------------------------------------------ */

struct elems {
	struct ho_elem *v;
	size_t n;
	int fam;
};

static void elem_one(void *arg, const struct nftread_elem *x)
{
	struct elems *c = arg;
	size_t want = c->fam == 4 ? 4 : 16;
	if (x->len != want)
		return;
	struct ho_elem e;
	memset(&e, 0, sizeof(e));
	e.k.fam = (uint8_t)c->fam;
	memcpy(e.k.a, x->key, want);
	e.expires_s = x->expires_ms < 0 ? 0 : (uint64_t)x->expires_ms / 1000;
	VEC_PUSH(c->v, c->n, e);
}

/* Reads flood_half_open4/6 into C (sorted by key) over netlink
 * (nftread.h); false when a set cannot be read (the ruleset has no such
 * set now). */
static bool read_set(struct daemon *d, struct elems *c)
{
	for (c->fam = 4; c->fam <= 6; c->fam += 2) {
		char set[32];
		snprintf(set, sizeof(set), "flood_half_open%d", c->fam);
		if (nftread_set_elems(d->kopts.table, set, elem_one, c) < 0)
			return false;
	}
	sort_keys(c->v, c->n, sizeof(*c->v));
	return true;
}

/* The element of K in C, or NULL. */
static const struct ho_elem *elem_of(const struct elems *c,
				     const struct ho_key *k)
{
	return find_key(k, c->v, c->n, sizeof(*c->v));
}

/* Appends "VERB element inet TABLE flood_half_openF { ADDR }" to B. */
static void add_cmd(FILE *b, const char *table, const char *verb,
		    const struct ho_key *k)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(k->fam == 4 ? AF_INET : AF_INET6, k->a, a, sizeof(a));
	fprintf(b, "%s element inet %s flood_half_open%u { %s }\n", verb, table,
		k->fam, a);
}

/* Appends to B what makes flood_tcp4/6 look flood_half_open4/6 up exactly
 * while the set has elements after this pass (a source of that family in
 * h->over): the lookup costs every SYN, and the set is empty but in a
 * flood. Whether the chain has it is remembered, not read: reading one
 * chain through libnftables fetches the elements of every set in the
 * table, the flood meters' too (0.2 s and more under a flood from
 * 65,000 sources). Every new ruleset has the lookup (ruleset.c
 * flood_tcp_chain), so halfopen_tick clears lookup_off[] when it sees
 * ruleset_installs() move; it is set only once the transaction that took
 * the lookup out is in. (A pass under way during an install may leave
 * the new ruleset's lookup in until the pass the install calls for: a
 * lookup too many, never one too few.) WANT_OFF gets what this pass's
 * transaction makes it. */
static void settle_lookup(struct daemon *d, FILE *b, bool want_off[2])
{
	struct halfopen *h = d->halfopen;
	for (int fam = 4, i = 0; fam <= 6; fam += 2, i++) {
		bool want = false;
		for (size_t k = 0; k < h->nover && !want; k++)
			want = h->over[k].k.fam == fam;
		want_off[i] = !want;
		if (want_off[i] == h->lookup_off[i])
			continue;
		char *s = flood_tcp_chain_script(&d->kopts, fam, want);
		if (s)
			fputs(s, b);
		else
			want_off[i] = h->lookup_off[i]; /* no TCP limit: no chain */
		free(s);
	}
}

/*
 * The end of a pass: counts the sorted sources into h->over (each with
 * more than LIMIT sessions, or LIMIT and already in the set) and brings
 * the kernel set to that list, and flood_tcp4/6's lookup of it in or out
 * (settle_lookup), in one transaction.
 */
static void settle(struct daemon *d, uint32_t limit)
{
	struct halfopen *h = d->halfopen;
	struct elems cur = {NULL, 0, 0};
	bool have_set = read_set(d, &cur);
	sort_keys(h->v, h->n, sizeof(*h->v));
	free(h->over);
	h->over = NULL;
	h->nover = 0;
	char *script = NULL;
	size_t len = 0;
	FILE *b = open_memstream(&script, &len);
	if (!b)
		fatal("flood tcp-half-open: open_memstream");
	for (size_t i = 0, j; i < h->n; i = j) {
		for (j = i + 1; j < h->n && !cmp_key(&h->v[i], &h->v[j]); j++)
			;
		uint32_t n = (uint32_t)(j - i);
		const struct ho_elem *in = elem_of(&cur, &h->v[i]);
		if (n <= limit && !(in && n >= limit))
			continue;
		if (h->nover >= FLOOD_HALF_OPEN_SIZE) {
			h->untracked += n;
			continue;
		}
		struct ho_over o = {h->v[i], n};
		VEC_PUSH(h->over, h->nover, o);
		if (in && in->expires_s >= HO_REFRESH_S)
			continue;
		if (in) /* refreshed: an add keeps an element's old timeout */
			add_cmd(b, d->kopts.table, "delete", &h->v[i]);
		add_cmd(b, d->kopts.table, "add", &h->v[i]);
	}
	for (size_t i = 0; i < cur.n; i++)
		if (!find_key(&cur.v[i].k, h->over, h->nover,
			      sizeof(*h->over)))
			add_cmd(b, d->kopts.table, "delete", &cur.v[i].k);
	bool want_off[2] = {h->lookup_off[0], h->lookup_off[1]};
	if (have_set)
		settle_lookup(d, b, want_off);
	fclose(b);
	static const char *const chain[2] = {"flood_tcp4", "flood_tcp6"};
	struct chain_rules *before[2] = {NULL, NULL};
	for (int i = 0; i < 2 && have_set && len; i++)
		if (h->lookup_off[i] != want_off[i])
			before[i] = ruleset_chain_before(&d->kopts, chain[i]);
	if (have_set && len) {
		char *err = NULL;
		if (nft_apply(script, &err) < 0) {
			if (!h->warned)
				log_warnx("flood tcp-half-open: updating "
					  "flood_half_open: %s", err ? err : "?");
			h->warned = true;
		} else {
			for (int i = 0; i < 2; i++) { /* the lookup: one rule */
				if (h->lookup_off[i] == want_off[i])
					continue;
				ruleset_fingerprint_chain(&d->kopts, chain[i],
							  before[i],
							  want_off[i] ? -1 : 1,
							  0);
				before[i] = NULL; /* taken */
			}
			memcpy(h->lookup_off, want_off, sizeof(want_off));
		}
		free(err);
	}
	ruleset_chain_rules_free(before[0]);
	ruleset_chain_rules_free(before[1]);
	free(script);
	free(cur.v);
}

/* ---- the passes --------------------------------------------------------------- */

/* Ends the pass under way (its partial count is dropped). */
static void pass_close(struct halfopen *h)
{
	if (h->ev)
		event_free(h->ev);
	h->ev = NULL;
	ct_stream_close(h->st);
	h->st = NULL;
	ct_local_free(&h->local);
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct halfopen *h = d->halfopen;
	(void)fd;
	(void)what;
	uint64_t t0 = thread_cpu_ns();
	int rc = ct_stream_read(h->st, HO_READS);
	h->cpu_ns += thread_cpu_ns() - t0;
	if (rc == 0)
		return;
	uint32_t limit = d->gen->policy->flood.tcp_half_open;
	if (!h->whole && !ct_stream_filtered(h->st)) {
		h->whole = true; /* remembered: the next passes ask no more */
		log_warnx("flood tcp-half-open: the kernel does not filter "
			  "conntrack dumps by status; reading the whole table "
			  "each pass");
	}
	if (rc < 0)
		log_debug("flood tcp-half-open: reading conntrack: %s",
			  strerror(errno));
	else if (limit) {
		t0 = thread_cpu_ns();
		settle(d, limit);
		h->cpu_ns += thread_cpu_ns() - t0;
		h->passes++;
		h->last_cpu_ns = h->cpu_ns;
	}
	/* a failed read cost its walk too: spaced the same */
	h->due_ms = h->start_ms + 1000u * flood_half_open_wait_s(h->cpu_ns);
	pass_close(h);
}

void halfopen_tick(struct daemon *d)
{
	if (!d->gen->policy->flood.tcp_half_open) {
		halfopen_free(d); /* the limit is off: nothing kept */
		return;
	}
	if (!d->halfopen)
		d->halfopen = xcalloc(1, sizeof(*d->halfopen));
	struct halfopen *h = d->halfopen;
	if (h->st)
		return; /* the last pass is still reading */
	uint64_t now = mono_ms();
	if (h->installs != ruleset_installs()) { /* the sets may be new */
		h->installs = ruleset_installs();
		h->due_ms = 0;
		h->lookup_off[0] = h->lookup_off[1] = false; /* it has them */
	}
	/* due (flood_half_open_wait_s()); a tick half a second early is on
	 * time, so a late tick does not push the pass a whole tick later */
	if (now + 500 < h->due_ms)
		return;
	h->start_ms = now;
	h->cpu_ns = 0;
	uint64_t t0 = thread_cpu_ns();
	/* The handshake's end sets IPS_ASSURED (nf_conntrack_proto_tcp.c,
	 * SYN_RECV -> ESTABLISHED): the half-open sessions lack it. */
	h->st = h->whole ? ct_stream_open(on_entry, d)
			 : ct_stream_open_status(on_entry, d, 0, IPS_ASSURED);
	if (!h->st) {
		log_debug("flood tcp-half-open: conntrack dump: %s",
			  strerror(errno));
		return;
	}
	ct_local_get(&h->local);
	h->cpu_ns += thread_cpu_ns() - t0;
	h->ev = event_new(d->base, ct_stream_fd(h->st), EV_READ | EV_PERSIST,
			  on_ready, d);
	event_add(h->ev, NULL);
}

void halfopen_free(struct daemon *d)
{
	struct halfopen *h = d->halfopen;
	if (!h)
		return;
	pass_close(h);
	d->halfopen_untracked_old += h->untracked;
	d->halfopen_passes_old += h->passes;
	free(h->over);
	free(h);
	d->halfopen = NULL;
}

void halfopen_snapshot(struct daemon *d, struct stats_snapshot *s)
{
	const struct halfopen *h = d->halfopen;
	s->flood_half_open_sources = h ? h->nover : 0;
	s->flood_half_open_untracked = d->halfopen_untracked_old +
				       (h ? h->untracked : 0);
	s->flood_half_open_passes = d->halfopen_passes_old +
				    (h ? h->passes : 0);
	s->flood_half_open_pass_cpu_seconds = h ? (double)h->last_cpu_ns / 1e9 : 0;
}

uint32_t halfopen_count(struct daemon *d, const char *src)
{
	const struct halfopen *h = d->halfopen;
	struct ho_key k;
	memset(&k, 0, sizeof(k));
	if (!h || !src)
		return 0;
	if (inet_pton(AF_INET, src, k.a) == 1)
		k.fam = 4;
	else if (inet_pton(AF_INET6, src, k.a) == 1)
		k.fam = 6;
	else
		return 0;
	const struct ho_over *o = find_key(&k, h->over, h->nover,
					   sizeof(*h->over));
	return o ? o->n : 0;
}
