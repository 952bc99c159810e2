/*
 * floods.c — the firewall log's view of the kernel's flood limits
 * (ruleset.c "flood_tcp4/6", "flood4/6"): once a second (spaced by its
 * cost when the sets are large, kread_wait_ms) the sets flood_limited4/6
 * are read over netlink, on the event loop as the kernel's dump comes
 * (READS socket buffers a turn: a flood from 65,000 sources is 65,000
 * elements, 160-200 ms of dump that stopped the loop when read at once);
 * their count is the gauge flood_sources_limited;
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
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A source as flood_limited4/6 key it: the 4 or 16 bytes of an address
 * (an IPv6 prefix's address), network order. */
struct fkey {
	uint8_t len;
	uint8_t a[16];
};

/* Socket buffers of a dump read a turn of the event loop. */
#define READS 4

/* A read of flood_limited4 then flood_limited6 under way. */
struct collect {
	struct fkey *v;
	size_t n;
	int fam;		   /* the set being read: 4 or 6 */
	struct nftread_stream *st; /* its dump */
	struct event *ev;	   /* st readable */
	uint64_t cpu_ns;	   /* the read's CPU time so far */
};

struct flood_watch {
	struct fkey *src; /* the sources limited at the last read, sorted */
	size_t n;
	struct kread_pace pace; /* the reads, paced by their cost */
	struct collect *c;	/* the read under way, or NULL */
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

static void collect_close_set(struct collect *c)
{
	if (c->ev)
		event_free(c->ev);
	c->ev = NULL;
	nftread_stream_close(c->st);
	c->st = NULL;
}

static void collect_free(struct collect *c)
{
	if (!c)
		return;
	collect_close_set(c);
	free(c->v);
	free(c);
}

static void on_ready(evutil_socket_t fd, short what, void *arg);

/* Starts the dump of flood_limited<FAM>; false with errno when it
 * cannot. */
static bool collect_open_set(struct daemon *d, struct collect *c, int fam)
{
	char set[32];
	snprintf(set, sizeof(set), "flood_limited%d", fam);
	c->fam = fam;
	c->st = nftread_set_stream_open(d->kopts.table, set, collect_one, c);
	if (c->st)
		c->ev = event_new(d->base, nftread_stream_fd(c->st), EV_READ,
				  on_ready, d);
	if (c->ev && event_add(c->ev, NULL) == 0)
		return true;
	collect_close_set(c);
	return false;
}

/* The read has ended with W->c holding both sets: a record for each
 * source that appeared and each that left; the list kept. */
static void settle(struct daemon *d, struct flood_watch *w)
{
	struct collect *c = w->c;
	if (c->n) /* c->v is NULL when no source is limited */
		qsort(c->v, c->n, sizeof(*c->v), cmp_key);
	for (size_t i = 0; d->fwlog && i < c->n; i++)
		if (!has(w->src, w->n, &c->v[i]))
			record(d, &c->v[i], true);
	for (size_t i = 0; d->fwlog && i < w->n; i++)
		if (!has(c->v, c->n, &w->src[i]))
			record(d, &w->src[i], false);
	free(w->src);
	w->src = c->v;
	w->n = c->n;
	c->v = NULL;
}

/* Ends W's read; the next waits by its cost. */
static void collect_end(struct flood_watch *w)
{
	space(w, w->c->cpu_ns);
	collect_free(w->c);
	w->c = NULL;
}

/* The set being read has more. A set that is not there (no flood limits
 * in this ruleset) is empty; a read that fails (a change interrupted the
 * dump) leaves the list as it was: no start, no end. */
static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct flood_watch *w = d->floods;
	struct collect *c = w->c;
	(void)fd;
	(void)what;
	uint64_t t0 = thread_cpu_ns();
	int rc = nftread_stream_read(c->st, READS);
	if (rc < 0 && errno == ENOENT)
		rc = 1;
	c->cpu_ns += thread_cpu_ns() - t0;
	if (rc == 0) {
		if (event_add(c->ev, NULL) < 0)
			collect_end(w);
		return;
	}
	collect_close_set(c);
	if (rc < 0) {
		collect_end(w);
		return;
	}
	if (c->fam == 4) {
		t0 = thread_cpu_ns();
		bool ok = collect_open_set(d, c, 6);
		c->cpu_ns += thread_cpu_ns() - t0;
		if (!ok)
			collect_end(w);
		return;
	}
	t0 = thread_cpu_ns();
	settle(d, w);
	c->cpu_ns += thread_cpu_ns() - t0;
	collect_end(w);
}

void flood_watch_tick(struct daemon *d)
{
	if (!d->floods)
		d->floods = xcalloc(1, sizeof(*d->floods));
	struct flood_watch *w = d->floods;
	if (w->c || !kread_due(&w->pace))
		return; /* a read under way, or the last was costly: the kept
			 * list stands */
	w->c = xcalloc(1, sizeof(*w->c));
	uint64_t t0 = thread_cpu_ns();
	bool ok = collect_open_set(d, w->c, 4);
	w->c->cpu_ns = thread_cpu_ns() - t0;
	if (!ok)
		collect_end(w);
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
	collect_free(w->c);
	free(w->src);
	free(w);
	d->floods = NULL;
}
