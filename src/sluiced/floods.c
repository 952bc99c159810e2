/*
 * floods.c — the firewall log's view of the kernel's flood limits
 * (ruleset.c "flood_tcp4/6", "flood4/6"): once a second (spaced by its
 * cost when the sets are large, kread_wait_ms) the sets flood_limited4/6
 * are read, their keys only, over netlink; their count is the gauge
 * flood_sources_limited;
 * a source that appears gets a `flood-start` record, one that left (30 s
 * after its last refused packet) a `flood-end` record. The packets
 * themselves are never logged one by one.
 */
#include "sluiced/daemon.h"
#include "common/log.h"
#include "common/util.h"
#include "kernel/nftread.h"
#include "stats/fwlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A source as flood_limited4/6 key it: the 4 or 16 bytes of an address
 * (an IPv6 prefix's address), network order. */
struct fkey {
	uint8_t len;
	uint8_t a[16];
};

struct flood_watch {
	struct fkey *src; /* the sources limited at the last read, sorted */
	size_t n;
	struct kread_pace pace; /* the reads, paced by their cost */
};

struct collect {
	struct fkey *v;
	size_t n;
};

static void collect_one(void *arg, const struct nftread_elem *e)
{
	struct collect *c = arg;
	struct fkey k;
	memset(&k, 0, sizeof(k));
	if (e->len != 4 && e->len != 16)
		return;
	k.len = (uint8_t)e->len;
	memcpy(k.a, e->key, e->len);
	VEC_PUSH(c->v, c->n, k);
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fkey));
}

static bool has(const struct fkey *v, size_t n, const struct fkey *k)
{
	return n && bsearch(k, v, n, sizeof(*v), cmp_key) != NULL;
}

/* One record for source K. */
static void record(struct daemon *d, const struct fkey *k, bool start)
{
	struct fwlog_rec r;
	char src[INET6_ADDRSTRLEN];
	memset(&r, 0, sizeof(r));
	if (!inet_ntop(k->len == 4 ? AF_INET : AF_INET6, k->a, src,
		       sizeof(src)))
		return;
	r.flow.family = parse_addr(src, &r.flow.src4, &r.flow.src6);
	r.action = VERDICT_DENY;
	r.rule = "(flood)";
	r.reason = start ? RSN_FLOOD_START : RSN_FLOOD_END;
	fwlog_record(d->fwlog, &r);
}

/* Reads flood_limited4/6 into C (over netlink, kernel/nftread.h); a set
 * that is not there (no flood limits in this ruleset) is empty. False
 * when a set cannot be read (a change interrupted the dump). */
static bool read_limited(struct daemon *d, struct collect *c)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		char set[32];
		snprintf(set, sizeof(set), "flood_limited%d", fam);
		if (nftread_set_elems(d->kopts.table, set, collect_one, c) < 0 &&
		    errno != ENOENT)
			return false;
	}
	if (c->n) /* c->v is NULL when no source is limited */
		qsort(c->v, c->n, sizeof(*c->v), cmp_key);
	return true;
}

/* Paces W's reads after one that cost CPU_NS (kread_paced), saying so
 * once while they are costly: a flood from 65,000 sources puts 65,000
 * elements into flood_limited4, and the kernel's dump of them costs
 * 160-200 ms of CPU here (BENCHMARKS.md, "The event loop under a flood
 * from many sources"). */
static void space(struct flood_watch *w, uint64_t cpu_ns)
{
	uint64_t wait = kread_paced(&w->pace, cpu_ns);
	if (wait)
		log_warnx("flood sources: reading flood_limited4/6 took %llu "
			  "ms of CPU (a flood from %zu sources?); read every "
			  "%llu s while that lasts",
			  (unsigned long long)(cpu_ns / 1000000u), w->n,
			  (unsigned long long)((wait + 999) / 1000));
}

void flood_watch_tick(struct daemon *d)
{
	if (!d->floods)
		d->floods = xcalloc(1, sizeof(*d->floods));
	struct flood_watch *w = d->floods;
	if (!kread_due(&w->pace))
		return; /* the last read was costly: the kept list stands */
	struct collect c = {NULL, 0};
	uint64_t t0 = thread_cpu_ns();
	bool ok = read_limited(d, &c);
	if (!ok) {
		free(c.v);
		space(w, thread_cpu_ns() - t0);
		return; /* nothing known this tick: no start, no end */
	}
	for (size_t i = 0; d->fwlog && i < c.n; i++)
		if (!has(w->src, w->n, &c.v[i]))
			record(d, &c.v[i], true);
	for (size_t i = 0; d->fwlog && i < w->n; i++)
		if (!has(c.v, c.n, &w->src[i]))
			record(d, &w->src[i], false);
	free(w->src);
	w->src = c.v;
	w->n = c.n;
	space(w, thread_cpu_ns() - t0);
}

uint64_t flood_watch_limited(const struct daemon *d)
{
	return d->floods ? d->floods->n : 0;
}

void flood_watch_free(struct daemon *d)
{
	struct flood_watch *w = d->floods;
	if (!w)
		return;
	free(w->src);
	free(w);
	d->floods = NULL;
}
