/*
 * floods.c — the kernel's flood limits seen from sluiced (ruleset.c
 * "flood_tcp4/6", "flood4/6"): the sets flood_limited4/6 read whole over
 * netlink on the event loop, as fast as the kernel's dump comes (READS
 * socket buffers a turn: a flood from 65,000 sources is 65,000 elements,
 * 160-200 ms of dump that stopped the loop when read at once), never at
 * the pace of a client that reads the answer (the dump resumes by
 * position, and the packet path adds and removes elements meanwhile: a
 * dump stretched over seconds of a growing flood missed a sixth of the
 * sources present throughout). `sluicectl floods` lists such a read; the
 * watch makes one once a second (spaced by its cost when the sets are
 * large, kread_wait_ms): their count is the gauge flood_sources_limited,
 * a source that appears gets a `flood-start` record, one that left (30 s
 * after its last refused packet) a `flood-end` record, handed to the log
 * as its ring has room (pend_flush). The packets themselves are never
 * logged one by one.
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

/* Socket buffers of a dump read a turn of the event loop. */
#define READS 4
/* Reads of both sets begun before giving up when changes keep
 * interrupting them. */
#define FLOOD_READ_TRIES 3
/* Dumps of one set at most, when each misses what the one before held. */
#define FLOOD_READ_PASSES 4
/* A source is still in the set when it had this much longer to stay
 * than the time between the two dumps (ms): the kernel's expiry and its
 * garbage collection are not to the millisecond. */
#define FLOOD_READ_SLACK_MS 2000

/* flood_limited4 then flood_limited6 read whole (flood_read_start). */
struct flood_read {
	struct daemon *d;
	struct flood_src *v;	   /* the sets' sources so far (not unique) */
	size_t n;
	struct flood_src *cur;	   /* the dump under way's */
	size_t cur_n;
	struct flood_src *prev;	   /* the dump before, of the same set */
	size_t prev_n;
	uint64_t prev_ms, cur_ms;  /* when they began (mono_ms) */
	int fam;		   /* the set being read: 4 or 6 */
	int pass;		   /* dumps of it made before this one */
	int tries;		   /* reads of both sets begun */
	struct nftread_stream *st; /* its dump */
	struct event *ev;	   /* st readable */
	uint64_t cpu_ns;	   /* the read's CPU time so far */
	char error[128];	   /* why it failed, or "" */
	flood_read_done done;
	void *arg;
};

static void collect_one(void *arg, const struct nftread_elem *e)
{
	struct flood_read *c = arg;
	struct flood_src k;
	memset(&k, 0, sizeof(k));
	if (e->len != (c->fam == 4 ? 4u : 16u))
		return;
	k.len = (uint8_t)e->len;
	memcpy(k.a, e->key, e->len);
	k.packets = e->packets;
	k.expires_ms = e->expires_ms;
	VEC_PUSH(c->cur, c->cur_n, k);
}

/* By key: the IPv4 sources first, each family by address. */
static int cmp_key(const void *a, const void *b)
{
	const struct flood_src *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->a, y->a, sizeof(x->a));
}

static bool has(const struct flood_src *v, size_t n, const struct flood_src *k)
{
	return n && bsearch(k, v, n, sizeof(*v), cmp_key) != NULL;
}

/* V[0..*N) sorted, each source once (a dump resumed while the packet
 * path adds elements gives some twice; two dumps give most twice): the
 * larger count and the later expiry kept. */
static void sort_unique(struct flood_src *v, size_t *n)
{
	if (!*n)
		return;
	qsort(v, *n, sizeof(*v), cmp_key);
	size_t w = 0;
	for (size_t i = 1; i < *n; i++) {
		if (cmp_key(&v[w], &v[i]) != 0) {
			v[++w] = v[i];
			continue;
		}
		if (v[i].packets > v[w].packets)
			v[w].packets = v[i].packets;
		if (v[i].expires_ms > v[w].expires_ms)
			v[w].expires_ms = v[i].expires_ms;
	}
	*n = w + 1;
}

/* Whether dump CUR (sorted, unique) misses a source of PREV (the dump of
 * the same set begun ELAPSED_MS before CUR ended) that cannot have left
 * meanwhile: its expiry was further off than that. */
static bool misses(const struct flood_src *prev, size_t prev_n,
		   const struct flood_src *cur, size_t cur_n,
		   uint64_t elapsed_ms)
{
	for (size_t i = 0; i < prev_n; i++) {
		bool stays = prev[i].expires_ms < 0 ||
			     (uint64_t)prev[i].expires_ms >
				 elapsed_ms + FLOOD_READ_SLACK_MS;
		if (stays && !has(cur, cur_n, &prev[i]))
			return true;
	}
	return false;
}

static void read_close_set(struct flood_read *c)
{
	if (c->ev)
		event_free(c->ev);
	c->ev = NULL;
	nftread_stream_close(c->st);
	c->st = NULL;
}

void flood_read_cancel(struct flood_read *c)
{
	if (!c)
		return;
	read_close_set(c);
	free(c->v);
	free(c->cur);
	free(c->prev);
	free(c);
}

/* Ends C: its DONE gets what was read (or C->error), and C is freed. */
static void read_end(struct flood_read *c)
{
	struct flood_src *v = NULL;
	size_t n = 0;
	if (!c->error[0]) {
		sort_unique(c->v, &c->n);
		v = c->v;
		n = c->n;
		c->v = NULL;
	}
	c->done(c->arg, v, n, c->cpu_ns, c->error[0] ? c->error : NULL);
	flood_read_cancel(c);
}

static void on_ready(evutil_socket_t fd, short what, void *arg);

/* Starts a dump of flood_limited<FAM>: 1, 0 when the set is not there
 * (no flood limits in this ruleset: nothing limited), -1 with errno. */
static int read_open_set(struct flood_read *c, int fam)
{
	char set[32];
	snprintf(set, sizeof(set), "flood_limited%d", fam);
	c->fam = fam;
	c->cur_n = 0;
	c->cur_ms = mono_ms();
	c->st = nftread_set_stream_open(c->d->kopts.table, set, collect_one, c);
	if (!c->st)
		return errno == ENOENT ? 0 : -1;
	c->ev = event_new(c->d->base, nftread_stream_fd(c->st), EV_READ,
			  on_ready, c);
	if (c->ev && event_add(c->ev, NULL) == 0)
		return 1;
	read_close_set(c);
	errno = ENOMEM;
	return -1;
}

/* Goes on from family FAM's first dump (4: from the start, what was read
 * dropped, FLOOD_READ_TRIES times at most): opens its set, or the next.
 * false when C has ended (read_end). */
static bool read_from(struct flood_read *c, int fam)
{
	if (fam == 4) {
		if (c->tries++ == FLOOD_READ_TRIES) {
			snprintf(c->error, sizeof(c->error), "reading "
				 "flood_limited4/6: the ruleset changed under "
				 "every read");
			read_end(c);
			return false;
		}
		c->n = 0;
	}
	c->pass = 0;
	c->prev_n = 0;
	uint64_t t0 = thread_cpu_ns();
	int rc = 0;
	for (; fam <= 6 && rc == 0; fam += 2)
		rc = read_open_set(c, fam);
	c->cpu_ns += thread_cpu_ns() - t0;
	if (rc > 0)
		return true;
	if (rc < 0)
		snprintf(c->error, sizeof(c->error),
			 "cannot read flood_limited%d: %s", c->fam,
			 strerror(errno));
	read_end(c);
	return false;
}

/* A dump of the set being read has ended whole: its sources join the
 * list. It is enough when it came in one socket buffer (one walk of the
 * set: nothing missed), or when it holds every source of the dump before
 * that cannot have left since (no resize or removal fell within it);
 * else the set is dumped again, FLOOD_READ_PASSES times at most, and the
 * list is the union of the dumps. false when C has ended. */
static bool read_pass_end(struct flood_read *c)
{
	bool whole = nftread_stream_parts(c->st) <= 1;
	read_close_set(c);
	sort_unique(c->cur, &c->cur_n);
	bool steady = c->pass > 0 &&
		      !misses(c->prev, c->prev_n, c->cur, c->cur_n,
			      mono_ms() - c->prev_ms);
	for (size_t i = 0; i < c->cur_n; i++)
		VEC_PUSH(c->v, c->n, c->cur[i]);
	if (c->pass > 0) /* the union so far, each source once */
		sort_unique(c->v, &c->n);
	struct flood_src *t = c->prev;
	c->prev = c->cur;
	c->prev_n = c->cur_n;
	c->prev_ms = c->cur_ms;
	c->cur = t;
	c->cur_n = 0;
	if (!whole && !steady && ++c->pass < FLOOD_READ_PASSES) {
		uint64_t t0 = thread_cpu_ns();
		int rc = read_open_set(c, c->fam);
		c->cpu_ns += thread_cpu_ns() - t0;
		if (rc > 0)
			return true;
		/* gone meanwhile: a reload, seen as such */
		return read_from(c, 4);
	}
	return c->fam == 4 ? read_from(c, 6) : (read_end(c), false);
}

/* The set being read has more; at the end of a dump, read_pass_end. A
 * dump whose set was deleted or made anew meanwhile (a reload: ENOENT,
 * EAGAIN) makes both sets read again from the start, FLOOD_READ_TRIES
 * reads in all: a list is always of one ruleset's sets. */
static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct flood_read *c = arg;
	(void)fd;
	(void)what;
	uint64_t t0 = thread_cpu_ns();
	int rc = nftread_stream_read(c->st, READS);
	int err = rc == 0 ? EAGAIN : errno;
	bool again = rc == 0 && event_add(c->ev, NULL) == 0;
	c->cpu_ns += thread_cpu_ns() - t0;
	if (again)
		return;
	if (rc > 0) {
		read_pass_end(c);
		return;
	}
	read_close_set(c);
	if (rc < 0 && (err == EAGAIN || err == ENOENT)) {
		read_from(c, 4);
		return;
	}
	snprintf(c->error, sizeof(c->error), "reading flood_limited%d: %s",
		 c->fam,
		 rc == 0 ? "cannot wait for the kernel's dump" : strerror(err));
	read_end(c);
}

struct flood_read *flood_read_start(struct daemon *d, flood_read_done done,
				    void *arg)
{
	struct flood_read *c = xcalloc(1, sizeof(*c));
	c->d = d;
	c->done = done;
	c->arg = arg;
	return read_from(c, 4) ? c : NULL;
}

/* ---- one read shared by the `floods` requests of a moment ------------------- */

struct snap_waiter {
	void (*ready)(void *arg);
	void *arg;
};

static void snap_unref(struct flood_snap *s)
{
	if (!s || --s->refs)
		return;
	flood_read_cancel(s->read);
	free(s->waiters);
	free(s->v);
	free(s);
}

static void snap_done(void *arg, struct flood_src *v, size_t n,
		      uint64_t cpu_ns, const char *error)
{
	struct flood_snap *s = arg;
	(void)cpu_ns;
	s->read = NULL;
	s->v = v;
	s->n = n;
	s->done = true;
	if (error)
		snprintf(s->error, sizeof(s->error), "%s", error);
	/* a waiter's ready may write its whole answer and drop its
	 * reference (the last but this one): the list is taken first */
	struct snap_waiter *w = s->waiters;
	size_t n_w = s->n_waiters;
	s->waiters = NULL;
	s->n_waiters = 0;
	s->refs++;
	for (size_t i = 0; i < n_w; i++)
		w[i].ready(w[i].arg);
	free(w);
	snap_unref(s);
}

struct flood_snap *flood_snap_take(struct daemon *d, void (*ready)(void *arg),
				   void *arg)
{
	struct flood_snap *s = d->floods_snap;
	uint64_t gen_id = d->gen ? d->gen->id : 0;
	/* a read that has ended is not answered from again: a list asked
	 * after another must see what changed since */
	if (s && (s->done || s->gen_id != gen_id)) {
		d->floods_snap = NULL;
		snap_unref(s); /* its holders keep theirs */
		s = NULL;
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->refs = 2; /* the daemon's, the caller's */
		s->gen_id = gen_id;
		d->floods_snap = s;
		struct flood_read *r = flood_read_start(d, snap_done, s);
		if (!s->done)
			s->read = r;
	} else {
		s->refs++;
	}
	if (!s->done) {
		struct snap_waiter w = {ready, arg};
		VEC_PUSH(s->waiters, s->n_waiters, w);
	}
	return s;
}

void flood_snap_drop(struct flood_snap *s, void *arg)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_waiters; i++)
		if (s->waiters[i].arg == arg) {
			s->waiters[i] = s->waiters[--s->n_waiters];
			break;
		}
	snap_unref(s);
}

void flood_snap_free(struct daemon *d)
{
	snap_unref(d->floods_snap);
	d->floods_snap = NULL;
}

/* ---- the watch: flood-start and flood-end records, the gauge -------------------- */

/* Records waiting for room in the firewall log's ring, at most: beyond,
 * they are handed to it at once (counted as dropped when it is full). */
#define FLOOD_LOG_PENDING_MAX 262144
/* Between two batches of waiting records (ms). */
#define FLOOD_LOG_WAIT_MS 10

/* A flood-start (START) or flood-end record waiting. */
struct flood_pend {
	struct flood_src k;
	bool start;
};

struct flood_watch {
	struct flood_src *src; /* the sources limited at the last read, sorted */
	size_t n;
	struct kread_pace pace;	 /* the reads, paced by their cost */
	struct flood_read *read; /* the read under way, or NULL */
	struct daemon *d;
	struct flood_pend *pend; /* records waiting: [pend_head, pend_n) */
	size_t pend_n, pend_head;
	struct event *pend_ev;	 /* the next batch's timer */
};

/* One record for source K. */
static void record(struct daemon *d, const struct flood_src *k, bool start)
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

/* Hands waiting records to the log, half of the room its ring has at
 * most (the decisions' records share it), in order; the rest wait
 * FLOOD_LOG_WAIT_MS for the writer. A flood from 40,000 sources is
 * 40,000 flood-start records at once, ten times log { buffer }'s 4,096:
 * all handed over at once, most were counted as dropped. */
static void pend_flush(evutil_socket_t fd, short what, void *arg)
{
	struct flood_watch *w = arg;
	(void)fd;
	(void)what;
	size_t room = w->d->fwlog ? fwlog_room(w->d->fwlog) / 2 : SIZE_MAX;
	for (; room && w->pend_head < w->pend_n; room--, w->pend_head++) {
		const struct flood_pend *p = &w->pend[w->pend_head];
		record(w->d, &p->k, p->start);
	}
	if (w->pend_head == w->pend_n) {
		w->pend_n = w->pend_head = 0;
		return;
	}
	if (w->pend_head > w->pend_n / 2) { /* keep the queue compact */
		memmove(w->pend, w->pend + w->pend_head,
			(w->pend_n - w->pend_head) * sizeof(*w->pend));
		w->pend_n -= w->pend_head;
		w->pend_head = 0;
	}
	if (!w->pend_ev)
		w->pend_ev = evtimer_new(w->d->base, pend_flush, w);
	struct timeval tv = {0, FLOOD_LOG_WAIT_MS * 1000};
	if (!w->pend_ev || evtimer_add(w->pend_ev, &tv) < 0) {
		/* no timer: the rest now, as the log can take them */
		for (; w->pend_head < w->pend_n; w->pend_head++)
			record(w->d, &w->pend[w->pend_head].k,
			       w->pend[w->pend_head].start);
		w->pend_n = w->pend_head = 0;
	}
}

/* A record for source K queued behind those waiting (or handed over at
 * once when FLOOD_LOG_PENDING_MAX wait). */
static void pend_add(struct flood_watch *w, const struct flood_src *k,
		     bool start)
{
	if (w->pend_n - w->pend_head >= FLOOD_LOG_PENDING_MAX) {
		record(w->d, k, start);
		return;
	}
	struct flood_pend p = {*k, start};
	VEC_PUSH(w->pend, w->pend_n, p);
}

/* The read has ended with both sets (V[0..N), sorted): a record for
 * each source that appeared and each that left, handed to the log as it
 * has room (pend_flush); the list kept. A read that failed leaves the
 * list as it was: no start, no end. The next read waits by this one's
 * cost. */
static void settle(void *arg, struct flood_src *v, size_t n, uint64_t cpu_ns,
		   const char *error)
{
	struct flood_watch *w = arg;
	struct daemon *d = w->d;
	w->read = NULL;
	uint64_t t0 = thread_cpu_ns();
	if (!error) {
		size_t before = w->pend_n - w->pend_head;
		for (size_t i = 0; d->fwlog && i < n; i++)
			if (!has(w->src, w->n, &v[i]))
				pend_add(w, &v[i], true);
		for (size_t i = 0; d->fwlog && i < w->n; i++)
			if (!has(v, n, &w->src[i]))
				pend_add(w, &w->src[i], false);
		if (!before && w->pend_n > w->pend_head)
			pend_flush(-1, 0, w); /* else its timer is set */
		free(w->src);
		w->src = v;
		w->n = n;
	}
	space(w, cpu_ns + (thread_cpu_ns() - t0));
}

void flood_watch_tick(struct daemon *d)
{
	if (!d->floods) {
		d->floods = xcalloc(1, sizeof(*d->floods));
		d->floods->d = d;
	}
	struct flood_watch *w = d->floods;
	if (w->read || !kread_due(&w->pace))
		return; /* a read under way, or the last was costly: the kept
			 * list stands */
	struct flood_read *r = flood_read_start(d, settle, w);
	if (r) /* else settle has run */
		w->read = r;
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
	flood_read_cancel(w->read);
	if (w->pend_ev)
		event_free(w->pend_ev);
	for (; w->pend_head < w->pend_n; w->pend_head++) /* as the log can */
		record(d, &w->pend[w->pend_head].k, w->pend[w->pend_head].start);
	free(w->pend);
	free(w->src);
	free(w);
	d->floods = NULL;
}
