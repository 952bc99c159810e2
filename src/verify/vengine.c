/*
 * vengine.c — subscriptions, probe deduplication, scheduling with jitter and
 * an in-flight cap, and the single result path vprobe_done().
 *
 * Lifetimes. A subscription (struct vsub) lives from vengine_add() to
 * vengine_remove(). A probe (struct vprobe) lives while it has subscribers;
 * the last vengine_remove() kills it: the running round is cancelled by its
 * method (which frees sockets, easy handles, events of the round), it leaves
 * the table (common/htable.h) and the FIFO, and it is freed — at once, or right after the
 * callbacks of its current fan-out return when the removal came from one.
 *
 * Ids are slot | generation << SLOT_BITS, so a stale id never finds a
 * newer subscription that reused the slot.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "verify/verify_int.h"

#define SLOT_BITS 20
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define GEN_MASK ((1u << (31 - SLOT_BITS)) - 1)

uint64_t vnow_us(void)
{
	return mono_ns() / 1000u;
}

enum vresult verrno_result(int err)
{
	switch (err) {
	case ECONNREFUSED:
	case ECONNRESET:
		return VR_REFUSED;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
		return VR_UNREACHABLE;
	case ETIMEDOUT:
		return VR_TIMEOUT;
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
	case EINVAL:
		return VR_ADDR;
	default:
		return VR_OTHER;
	}
}

/* xorshift64*: spread and jitter need no more. */
static uint64_t rnd(struct vengine *v)
{
	v->rng ^= v->rng >> 12;
	v->rng ^= v->rng << 25;
	v->rng ^= v->rng >> 27;
	return v->rng * 2685821657736338717ull;
}

/* Uniform in [0, n). */
static uint64_t rnd_below(struct vengine *v, uint64_t n)
{
	return n ? rnd(v) % n : 0;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg);

/* The probe of each method, sized by VM_COUNT: a method without one is
 * rejected by vengine_add (EINVAL) and fails verify_engine's test that
 * every method has a probe. */
static const struct vprobe_ops *const method_ops[VM_COUNT] = {
    [VM_ICMP] = &vprobe_icmp_ops,
    [VM_TCP] = &vprobe_tcp_ops,
    [VM_HTTP] = &vprobe_http_ops,
    [VM_DNS] = &vprobe_dns_ops,
};

const struct vprobe_ops *vprobe_method_ops(enum verify_method m)
{
	return (unsigned)m < VM_COUNT ? method_ops[m] : NULL;
}

/* A probe as the table looks it up: what vprobe_cfg_equal compares. */
struct vprobe_key {
	const struct verify_spec *spec;
	const struct vtarget *t;
};

/* vprobe_cfg_hash (consistent with vprobe_cfg_equal) under the table's
 * key HK. */
static uint64_t probe_hash(const struct hash_key *hk, const void *key)
{
	uint64_t h = vprobe_cfg_hash(((const struct vprobe_key *)key)->t);

	return hash_bytes_keyed(hk, &h, sizeof(h));
}

static bool probe_equal(const struct htable_node *n, const void *key)
{
	const struct vprobe *p = HTABLE_ENTRY(n, const struct vprobe, hn);
	const struct vprobe_key *k = key;

	return vprobe_cfg_equal(k->spec, k->t, &p->spec, &p->t);
}

static const struct htable_ops probe_ops = {probe_hash, probe_equal};

struct vengine *vengine_new(struct event_base *base,
			    const struct vengine_opts *o)
{
	struct vengine *v;

	if (!base || (o && o->jitter_pct > 50)) {
		errno = EINVAL;
		return NULL;
	}
	v = xcalloc(1, sizeof(*v));
	v->base = base;
	if (o)
		v->o = *o;
	if (!v->o.max_inflight)
		v->o.max_inflight = 64;
	if (!v->o.maxconnects) {
		v->o.maxconnects = 2l * v->o.max_inflight;
		if (v->o.maxconnects < 16)
			v->o.maxconnects = 16;
	}
	v->rng = v->o.seed ? v->o.seed
			   : (vnow_us() ^ ((uint64_t)getpid() << 32) ^
			      (uint64_t)(uintptr_t)v);
	if (!v->rng)
		v->rng = 1;
	memcpy(v->ops, method_ops, sizeof(v->ops));
	TAILQ_INIT(&v->fifo);
	htable_init(&v->probes, &probe_ops, 0);
	return v;
}

void vengine_set_ops(struct vengine *v, enum verify_method m,
		     const struct vprobe_ops *ops)
{
	if ((unsigned)m < VM_COUNT)
		v->ops[m] = ops;
}

/* ---- probe hash ------------------------------------------------------------ */

/* The running probe that SPEC with target T would be, or NULL (H: its
 * hash in v->probes). */
static struct vprobe *probe_find(struct vengine *v,
				 const struct verify_spec *spec,
				 const struct vtarget *t, uint64_t h)
{
	struct vprobe_key k = {spec, t};

	return HTABLE_ENTRY(htable_find_hashed(&v->probes, h, &k),
			    struct vprobe, hn);
}

static void probe_hash_add(struct vengine *v, struct vprobe *p, uint64_t h)
{
	htable_insert_hashed(&v->probes, &p->hn, h);
}

static void probe_hash_del(struct vengine *v, struct vprobe *p)
{
	if (!p->dead)
		htable_remove(&v->probes, &p->hn);
}

/* ---- scheduling -------------------------------------------------------------- */

/* Arms P's timer for P->due_us (or DELAY_US from now when FORCE). */
static void arm(struct vprobe *p, uint64_t delay_us)
{
	struct timeval tv = {.tv_sec = (time_t)(delay_us / 1000000u),
			     .tv_usec = (suseconds_t)(delay_us % 1000000u)};

	evtimer_add(p->timer, &tv);
}

/* One interval of P with ±jitter, in µs. */
static uint64_t interval_us(struct vprobe *p)
{
	uint64_t base = (uint64_t)p->t.every_ms * 1000u;
	uint64_t span = base * p->v->o.jitter_pct / 100u;

	if (!span)
		return base;
	return base - span + rnd_below(p->v, 2 * span + 1);
}

static void schedule_next(struct vprobe *p)
{
	uint64_t now = vnow_us();
	uint64_t next = p->due_us + interval_us(p);

	if (next <= now) /* overran: keep the cadence from now on */
		next = now + interval_us(p);
	p->due_us = next;
	arm(p, next - now);
}

static void record_late(struct vengine *v, uint64_t late)
{
	if (late > v->st.late_max_us)
		v->st.late_max_us = late;
	v->late[v->late_pos] = late;
	v->late_pos = (v->late_pos + 1) % LATE_RING;
	if (v->nlate < LATE_RING)
		v->nlate++;
}

static void probe_start(struct vprobe *p)
{
	struct vengine *v = p->v;

	p->start_us = vnow_us();
	record_late(v, p->start_us > p->due_us ? p->start_us - p->due_us : 0);
	p->phase = P_RUNNING;
	p->soon = false;
	v->inflight++;
	p->ops->start(p);
}

/* Starts waiting probes while there is room. */
static void pump(struct vengine *v)
{
	struct vprobe *p;

	while (v->inflight < v->o.max_inflight &&
	       (p = TAILQ_FIRST(&v->fifo))) {
		TAILQ_REMOVE(&v->fifo, p, fifo);
		v->waiting--;
		probe_start(p);
	}
}

/* The probe's timer: a round is due, or a deferred result is ready. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vprobe *p = arg;
	struct vengine *v = p->v;

	(void)fd;
	(void)what;
	if (p->phase == P_RUNNING) {
		if (p->soon)
			vprobe_done(p, p->last, (uint32_t)(vnow_us() - p->start_us),
				    NULL);
		return;
	}
	if (p->phase != P_IDLE)
		return;
	if (v->inflight < v->o.max_inflight && TAILQ_EMPTY(&v->fifo)) {
		probe_start(p);
	} else {
		p->phase = P_QUEUED;
		TAILQ_INSERT_TAIL(&v->fifo, p, fifo);
		v->waiting++;
		v->st.queued++;
	}
}

/* ---- the result path -------------------------------------------------------- */

static struct vsub *sub_get(struct vengine *v, int id)
{
	uint32_t slot = (uint32_t)id & SLOT_MASK;

	if (id < 0 || slot >= v->nslots || !v->slots[slot] ||
	    v->slots[slot]->id != id)
		return NULL;
	return v->slots[slot];
}

int vengine_seed_state(struct vengine *v, int id, enum vstate state)
{
	struct vsub *s = v ? sub_get(v, id) : NULL;

	if (!s) {
		errno = ENOENT;
		return -1;
	}
	s->sm.state = state;
	return 0;
}

static void fill_status(const struct vsub *s, struct vstatus *st)
{
	const struct vprobe *p = s->p;

	*st = (struct vstatus){
		.id = s->id,
		.name = s->name,
		.state = s->sm.state,
		.prev = s->sm.state,
		.last = p->last,
		.last_us = p->last_us,
		.http_status = p->http_status,
		.slow = s->slow,
		.detail = p->detail,
		.runs = s->runs,
		.failures = s->failures,
	};
	st->nhistory = vsm_history(&s->sm, st->history);
}

static void probe_free(struct vprobe *p);

void vprobe_done_soon(struct vprobe *p, enum vresult r, const char *detail)
{
	p->last = r;
	p->soon = true;
	snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : "");
	arm(p, 0);
}

#ifdef SLUICE_TEST_LEAK
/*
 * Test builds only (meson -Dtest_leak=true): leaks SLUICE_TEST_LEAK_BYTES
 * (environment, read once; 0 or unset = nothing) of touched heap per
 * finished round, the way the seed's verifier leaked, so that the soak can
 * show the memory-growth alert firing on a real growth.
 */
static void test_leak_round(void)
{
	static long bytes = -1;
	char *leak;

	if (bytes < 0) {
		const char *e = getenv("SLUICE_TEST_LEAK_BYTES");

		bytes = e ? strtol(e, NULL, 10) : 0;
		if (bytes < 0 || bytes > 1 << 20)
			bytes = 0;
	}
	if (bytes && (leak = malloc((size_t)bytes))) {
		memset(leak, 0x5a, (size_t)bytes); /* resident, not only mapped */
		/* the address escapes (so the compiler keeps the allocation)
		 * and is then forgotten: a real leak */
		__asm__ volatile("" : : "r"(leak) : "memory");
	}
}
#else
static void test_leak_round(void)
{
}
#endif

void vprobe_done(struct vprobe *p, enum vresult r, uint32_t us,
		 const char *detail)
{
	struct vengine *v = p->v;
	int stack_ids[16], *ids = stack_ids;
	size_t n = p->nsubs;

	if (p->phase != P_RUNNING)
		return;
	evtimer_del(p->timer);
	p->phase = P_IDLE;
	p->soon = false;
	v->inflight--;
	p->last = r;
	p->last_us = us;
	if (detail)
		snprintf(p->detail, sizeof(p->detail), "%s", detail);
	else if (r == VR_OK)
		p->detail[0] = '\0';
	v->st.runs++;
	test_leak_round();
	v->st.by_result[r < VR_COUNT ? r : VR_OTHER]++;
	if (r != VR_OK)
		v->st.failures++;
	schedule_next(p);

	/* Callbacks may remove any subscription, this probe's included: work
	 * from a copy of the ids and look each up again. */
	if (n > 16)
		ids = xmalloc(n * sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		ids[i] = p->subs[i]->id;
	p->fanout++;
	for (size_t i = 0; i < n; i++) {
		struct vsub *s = sub_get(v, ids[i]);
		struct vstatus st;
		enum vstate prev;

		if (!s || s->p != p)
			continue;
		s->runs++;
		if (r != VR_OK)
			s->failures++;
		s->slow = r == VR_OK && s->warn_ms && us > s->warn_ms * 1000u;
		if (!vsm_feed(&s->sm, r, &prev))
			continue;
		v->st.state_changes++;
		fill_status(s, &st);
		st.prev = prev;
		if (s->cb)
			s->cb(&st, s->arg);
	}
	p->fanout--;
	if (ids != stack_ids)
		free(ids);
	if (p->dead && !p->fanout)
		probe_free(p);
	pump(v);
}

/* ---- probes ---------------------------------------------------------------------- */

static void probe_free(struct vprobe *p)
{
	if (p->timer)
		event_free(p->timer);
	p->ops->release(p);
	vtarget_clear(&p->t);
	free(p->subs);
	verify_spec_free(&p->spec);
	free(p);
}

/* Stops everything P does; frees it unless a fan-out is running. */
static void probe_kill(struct vprobe *p)
{
	struct vengine *v = p->v;

	switch (p->phase) {
	case P_RUNNING:
		p->ops->cancel(p);
		v->inflight--;
		break;
	case P_QUEUED:
		TAILQ_REMOVE(&v->fifo, p, fifo);
		v->waiting--;
		break;
	case P_IDLE:
		break;
	}
	p->phase = P_IDLE;
	evtimer_del(p->timer);
	probe_hash_del(v, p);
	p->dead = true;
	if (!p->fanout)
		probe_free(p);
}

static struct vprobe *probe_new(struct vengine *v,
				const struct verify_spec *spec,
				struct vtarget *t, uint64_t h)
{
	struct vprobe *p = xcalloc(1, sizeof(*p));

	p->v = v;
	p->t = *t;
	p->ops = v->ops[spec->method];
	if (!(p->timer = evtimer_new(v->base, timer_cb, p)) ||
	    p->ops->prepare(p, spec, &p->t) < 0) {
		int e = errno ? errno : ENOMEM;

		if (p->timer)
			event_free(p->timer);
		free(p);
		errno = e;
		return NULL; /* caller still owns T */
	}
	verify_spec_copy(&p->spec, spec);
	/* First round: spread over the first interval. */
	{
		uint64_t now = vnow_us();
		uint64_t d = v->o.no_spread
				     ? 0
				     : rnd_below(v, (uint64_t)t->every_ms * 1000u);

		p->due_us = now + d;
		arm(p, d);
	}
	probe_hash_add(v, p, h);
	return p;
}

static int sub_slot(struct vengine *v)
{
	if (v->nfree)
		return v->freeslots[--v->nfree];
	if (v->nslots > SLOT_MASK) {
		errno = ENOSPC;
		return -1;
	}
	if ((v->nslots & (v->nslots - 1)) == 0) {
		size_t cap = v->nslots ? v->nslots * 2 : 16;
		v->slots = xrealloc(v->slots, cap * sizeof(*v->slots));
		v->freeslots =
		    xrealloc(v->freeslots, cap * sizeof(*v->freeslots));
	}
	v->slots[v->nslots] = NULL;
	return (int)v->nslots++;
}

int vengine_add(struct vengine *v, const char *name,
		const struct verify_spec *spec, const char *member,
		vresult_cb cb, void *arg)
{
	struct vtarget t;
	struct vprobe *p;
	struct vsub *s;
	const char *why;
	uint64_t h;
	int slot;

	if (!v || !spec || (unsigned)spec->method >= VM_COUNT ||
	    !v->ops[spec->method]) {
		errno = EINVAL;
		return -1;
	}
	if (vtarget_build(spec, member, &t, &why) < 0)
		return -1;
	h = htable_hash(&v->probes, &(struct vprobe_key){spec, &t});
	if ((p = probe_find(v, spec, &t, h))) {
		vtarget_clear(&t);
	} else if (!(p = probe_new(v, spec, &t, h))) {
		int e = errno;

		vtarget_clear(&t);
		errno = e;
		return -1;
	}
	if (p->nsubs == p->capsubs) {
		size_t cap = p->capsubs ? p->capsubs * 2 : 2;
		p->subs = xrealloc(p->subs, cap * sizeof(*p->subs));
		p->capsubs = cap;
	}
	if ((slot = sub_slot(v)) < 0) /* ENOSPC */
		goto fail;
	s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name ? name : "");
	v->gen = (v->gen + 1) & GEN_MASK;
	s->id = (int)((uint32_t)slot | v->gen << SLOT_BITS);
	s->cb = cb;
	s->arg = arg;
	s->p = p;
	s->warn_ms = spec->warn_ms;
	vsm_init(&s->sm, spec->rise, spec->fall);
	v->slots[slot] = s;
	p->subs[p->nsubs++] = s;
	v->st.subscriptions++;
	return s->id;
fail:;
	int e = errno;
	if (!p->nsubs)
		probe_kill(p);
	errno = e;
	return -1;
}

int vengine_remove(struct vengine *v, int id)
{
	struct vsub *s = v ? sub_get(v, id) : NULL;
	struct vprobe *p;

	if (!s) {
		errno = ENOENT;
		return -1;
	}
	p = s->p;
	for (size_t i = 0; i < p->nsubs; i++) {
		if (p->subs[i] == s) {
			p->subs[i] = p->subs[--p->nsubs];
			break;
		}
	}
	v->slots[(uint32_t)id & SLOT_MASK] = NULL;
	v->freeslots[v->nfree++] = (int)((uint32_t)id & SLOT_MASK);
	v->st.subscriptions--;
	free(s->name);
	free(s);
	if (!p->nsubs) {
		bool ran = p->phase == P_RUNNING;

		probe_kill(p); /* P may be gone now */
		if (ran && !v->closing)
			pump(v); /* the cancelled round freed a slot */
	}
	return 0;
}

int vengine_status(struct vengine *v, int id, struct vstatus *out)
{
	struct vsub *s = v ? sub_get(v, id) : NULL;

	if (!s) {
		errno = ENOENT;
		return -1;
	}
	fill_status(s, out);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void vengine_stats(struct vengine *v, struct vengine_stats *out)
{
	uint64_t tmp[LATE_RING];

	*out = v->st;
	out->inflight = v->inflight;
	out->waiting = v->waiting;
	out->probes = (unsigned)htable_count(&v->probes);
	out->late_median_us = 0;
	if (v->nlate) {
		memcpy(tmp, v->late, v->nlate * sizeof(tmp[0]));
		xqsort(tmp, v->nlate, sizeof(tmp[0]), cmp_u64);
		out->late_median_us = tmp[v->nlate / 2];
	}
}

void vengine_free(struct vengine *v)
{
	if (!v)
		return;
	v->closing = true;
	for (size_t i = 0; i < v->nslots; i++) {
		struct vsub *s = v->slots[i];

		if (s)
			vengine_remove(v, s->id);
	}
	/* probes without subscribers cannot exist here */
	if (v->curl)
		vcurl_free(v->curl);
	if (v->icmp)
		vicmp_free(v->icmp);
	htable_fini(&v->probes);
	free(v->slots);
	free(v->freeslots);
	free(v);
}
