/*
 * prefetch.c — names resolved ahead of time, and the address → names index
 * that answers resolver_known_names() without I/O.
 *
 * Each name (struct pname) asks A and AAAA together (a "round"); when both
 * have answered, the next round is due after the smallest TTL seen, but
 * never sooner than cfg->refresh_min_s nor later than RESOLVER_MAX_TTL.
 * Failures: NXDOMAIN / no data empties that family and waits
 * max(negative_ttl_s, refresh_min_s); a timeout or servfail keeps the last
 * addresses and waits refresh_min_s.
 *
 * Every address of an answer is kept (round-robin names with dozens of
 * addresses), up to RESOLVER_MAX_ADDRS per name and family — more than one
 * DNS message can hold. Should a name exceed it anyway, that name is
 * "truncated" and every lookup is partial while it is: the name might
 * resolve to the address asked about, so its absence proves nothing.
 *
 * A name dropped by a reload while a round is out becomes a zombie (off
 * the index, its timer gone) and is freed when its last query returns.
 */
#include "resolve/resolve_int.h"

#include <arpa/nameser.h>
#include <ares.h>
#include <ares_dns.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "common/util.h"

struct pidx {
	struct rhnode hn; /* first: in p->index */
	struct pname *pn;
};

struct pname {
	LIST_ENTRY(pname) link; /* p->live or p->zombies */
	struct prefetch *p;
	char *name;
	struct event *timer;
	int refs;  /* queries out */
	bool seen; /* in the set being installed */
	uint32_t round_ttl; /* next round in seconds, smallest so far */
	struct pidx *addr[2]; /* [0] IPv4, [1] IPv6; allocated */
	int naddr[2];
	bool truncated[2]; /* the answer had more than RESOLVER_MAX_ADDRS */
};

struct pq {
	struct pname *pn;
	int fi; /* 0 A, 1 AAAA */
};

struct prefetch {
	struct resolver *r;
	LIST_HEAD(, pname) live, zombies;
	size_t nlive;
	struct rhash index;
	size_t ntruncated; /* (name, family) pairs truncated now */
	uint64_t *gen;	   /* bumped when the index changes, or NULL */
	uint64_t bounded;  /* answers cut by RESOLVER_MAX_ADDRS, ever */
};

static void clear_family(struct prefetch *p, struct pname *pn, int fi)
{
	/* every change of the index starts here (take_answer refills after) */
	if (p->gen)
		__atomic_add_fetch(p->gen, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < pn->naddr[fi]; i++)
		rhash_remove(&p->index, &pn->addr[fi][i].hn);
	pn->naddr[fi] = 0;
	free(pn->addr[fi]);
	pn->addr[fi] = NULL;
	if (pn->truncated[fi])
		p->ntruncated--;
	pn->truncated[fi] = false;
}

static void pname_free(struct pname *pn)
{
	if (pn->timer)
		event_free(pn->timer);
	free(pn->addr[0]);
	free(pn->addr[1]);
	free(pn->name);
	free(pn);
}

/* Indexes the addresses of the answer ABUF[0..ALEN) as PN's family FI.
 * Returns the records' smallest TTL, or -1 (nothing changed) when the
 * answer is malformed. */
static int64_t take_answer(struct prefetch *p, struct pname *pn, int fi,
			   const unsigned char *abuf, int alen)
{
	uint32_t ttl;
	int type = fi ? T_AAAA : T_A;
	int n = rr_parse(abuf, alen, type, NULL, 0, &ttl);
	if (n < 0)
		return -1;
	int keep = n < RESOLVER_MAX_ADDRS ? n : RESOLVER_MAX_ADDRS;
	struct rr *rr = keep ? xcalloc((size_t)keep, sizeof(*rr)) : NULL;
	if (keep && rr_parse(abuf, alen, type, rr, keep, &ttl) < 0) {
		free(rr);
		return -1;
	}
	clear_family(p, pn, fi);
	pn->addr[fi] = keep ? xcalloc((size_t)keep, sizeof(struct pidx)) : NULL;
	for (int i = 0; i < keep; i++) {
		struct pidx *x = &pn->addr[fi][i];
		x->hn.key.family = fi ? AF_INET6 : AF_INET;
		memcpy(x->hn.key.addr, rr[i].addr, fi ? 16 : 4);
		x->pn = pn;
		rhash_insert(&p->index, &x->hn);
	}
	free(rr);
	pn->naddr[fi] = keep;
	if (n > keep) {
		pn->truncated[fi] = true;
		p->ntruncated++;
		p->bounded++;
	}
	return n > 0 ? (int64_t)ttl : (int64_t)UINT32_MAX;
}

static void answer(void *arg, int status, int timeouts, unsigned char *abuf,
		   int alen)
{
	struct pq *q = arg;
	struct pname *pn = q->pn;
	struct prefetch *p = pn->p;
	const struct resolver_cfg *cfg = resolver_cfg_of(p->r);
	int fi = q->fi;
	uint32_t wait = cfg->refresh_min_s;
	free(q);
	pn->refs--;
	if (resolver_dying(p->r))
		return; /* prefetch_free frees every name */
	if (!pn->timer) { /* a zombie */
		if (pn->refs == 0) {
			LIST_REMOVE(pn, link);
			pname_free(pn);
		}
		return;
	}
	if (status == ARES_SUCCESS) {
		int64_t ttl = take_answer(p, pn, fi, abuf, alen);
		if (ttl >= 0 && ttl < UINT32_MAX && (uint32_t)ttl > wait)
			wait = (uint32_t)ttl;
	} else if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
		clear_family(p, pn, fi);
		if (cfg->negative_ttl_s > wait)
			wait = cfg->negative_ttl_s;
	}
	if (wait < pn->round_ttl)
		pn->round_ttl = wait;
	if (pn->refs == 0) {
		uint32_t s = pn->round_ttl;
		if (s > RESOLVER_MAX_TTL)
			s = RESOLVER_MAX_TTL;
		if (s == 0)
			s = 1;
		struct timeval tv = {.tv_sec = s};
		evtimer_add(pn->timer, &tv);
	}
}

/* A round: A and AAAA of PN. */
static void on_round(evutil_socket_t fd, short what, void *arg)
{
	struct pname *pn = arg;
	if (pn->refs > 0)
		return;
	pn->round_ttl = UINT32_MAX;
	for (int fi = 0; fi < 2; fi++) {
		struct pq *q = xmalloc(sizeof(*q));
		q->pn = pn;
		q->fi = fi;
		pn->refs++;
		resolver_query(pn->p->r, pn->name, fi ? T_AAAA : T_A, answer,
			       q);
	}
}

struct prefetch *prefetch_new(struct resolver *r)
{
	struct prefetch *p = xcalloc(1, sizeof(*p));
	LIST_INIT(&p->live);
	LIST_INIT(&p->zombies);
	p->r = r;
	rhash_init(&p->index);
	return p;
}

void prefetch_free(struct prefetch *p)
{
	struct pname *pn;
	if (!p)
		return;
	while ((pn = LIST_FIRST(&p->live))) {
		LIST_REMOVE(pn, link);
		pname_free(pn);
	}
	while ((pn = LIST_FIRST(&p->zombies))) {
		LIST_REMOVE(pn, link);
		pname_free(pn);
	}
	rhash_fini(&p->index);
	free(p);
}

void prefetch_set(struct prefetch *p, const char *const *names, size_t n)
{
	struct pname *pn, *nx;
	LIST_FOREACH(pn, &p->live, link)
		pn->seen = false;
	for (size_t i = 0; i < n; i++) {
		char *nm = xstrdup(names[i]);
		name_normalise(nm);
		/* linear: a reload is rare and sets are hundreds of names */
		LIST_FOREACH(pn, &p->live, link)
			if (strcmp(pn->name, nm) == 0)
				break;
		if (pn || !*nm) {
			if (pn)
				pn->seen = true;
			free(nm);
			continue;
		}
		pn = xcalloc(1, sizeof(*pn));
		pn->p = p;
		pn->name = nm;
		pn->seen = true;
		pn->timer = evtimer_new(resolver_base(p->r), on_round, pn);
		if (!pn->timer)
			abort();
		LIST_INSERT_HEAD(&p->live, pn, link);
		p->nlive++;
		/* from the loop, not from inside the caller */
		struct timeval now = {0, 0};
		evtimer_add(pn->timer, &now);
	}
	for (pn = LIST_FIRST(&p->live); pn; pn = nx) {
		nx = LIST_NEXT(pn, link);
		if (pn->seen)
			continue;
		LIST_REMOVE(pn, link);
		p->nlive--;
		clear_family(p, pn, 0);
		clear_family(p, pn, 1);
		event_free(pn->timer);
		pn->timer = NULL;
		if (pn->refs == 0) {
			pname_free(pn);
		} else {
			LIST_INSERT_HEAD(&p->zombies, pn, link);
		}
	}
}

size_t prefetch_lookup(struct prefetch *p, const struct rkey *k,
		       const char **names, size_t max, bool *partial)
{
	size_t n = 0;
	*partial = p->ntruncated > 0;
	for (struct rhnode *h = rhash_find(&p->index, k); h;
	     h = rhash_next(&p->index, h)) {
		if (n < max)
			names[n] = ((struct pidx *)h)->pn->name;
		n++;
	}
	return n;
}

void prefetch_watch(struct prefetch *p, uint64_t *gen)
{
	p->gen = gen;
}

void prefetch_counts(const struct prefetch *p, uint64_t *names,
		     uint64_t *addrs, uint64_t *bounded)
{
	*names = p->nlive;
	*addrs = htable_count(&p->index.t);
	*bounded = p->bounded;
}
