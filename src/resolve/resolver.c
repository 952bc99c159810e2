/*
 * resolver.c — reverse lookups with forward confirmation on c-ares, driven
 * by libevent (see resolver.h for the contract).
 *
 * Driving c-ares: ARES_OPT_SOCK_STATE_CB tells which sockets to watch; each
 * gets one persistent event (common/aresev.h) that calls ares_process_fd();
 * one timer, re-armed from ares_timeout() after every call into c-ares,
 * drives retransmissions and timeouts. No call blocks.
 *
 * A reverse lookup (struct lookup) lives in the in-flight table while it
 * runs; its waiters (struct resolver_req) hang on it. Its life:
 *   queued  — created by resolver_reverse(); the PTR query is sent from the
 *             `kick` event, never from inside the caller (so a query that
 *             fails at once cannot call back into the caller);
 *   PTR     — one query; then one A/AAAA query per distinct PTR name (at
 *             most RESOLVER_MAX_PTR; more marks the lookup bounded), all at
 *             once;
 *   done    — when every forward query has answered: the names that
 *             resolve back to the address, sorted, are the answer (RS_OK,
 *             partial when bounded or a forward query failed); with none,
 *             the worst failure decides (timeout > bounded (RS_INCOMPLETE)
 *             > servfail > noname). finish() leaves the table, fills the
 *             cache and fans the result out. The struct is freed when done
 *             and no query refers to it any more (refs == 0).
 */
#include "resolve/resolve_int.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <ares_dns.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "common/flight.h"
#include "common/aresev.h"
#include "common/util.h"

struct resolver_req {
	struct flight_waiter fw; /* first: on lk->fl (callback, argument) */
	struct lookup *lk;
};

struct lookup {
	struct flight fl;		  /* in r->inflight while !done */
	struct rkey key;		  /* the address asked about */
	LIST_ENTRY(lookup) all;		  /* r->all */
	STAILQ_ENTRY(lookup) kick;	  /* r->kick queue while queued */
	struct resolver *r;
	bool queued, done;
	bool bounded; /* more PTR names than RESOLVER_MAX_PTR */
	int refs;			  /* queries that point here */
	uint32_t ttl; /* smallest of the PTR TTL and the confirming TTLs */
	int nnames, nconfirmed, nfail_timeout, nfail_servfail;
	char *names[RESOLVER_MAX_PTR];
	bool confirmed[RESOLVER_MAX_PTR];
	const char *result[RESOLVER_MAX_PTR]; /* the confirmed names, sorted */
};

struct qctx {
	struct lookup *lk;
	int idx; /* forward: index in lk->names; PTR: -1 */
};

struct resolver {
	struct event_base *base;
	struct resolver_cfg cfg; /* servers not kept */
	uint32_t mark;
	ares_channel ch;
	bool closing, dying; /* in resolver_free: waiters, then c-ares */
	struct aresev ae; /* c-ares's sockets on BASE */
	struct event *tmo, *kick;
	LIST_HEAD(, lookup) all;
	STAILQ_HEAD(, lookup) kickq;
	struct flight_table inflight;
	struct rcache *cache;
	struct prefetch *pf;
	struct resolver_stats st;
};

/* ---- small helpers ------------------------------------------------------ */

uint64_t resolve_now_ms(void)
{
	return mono_ms();
}

void name_normalise(char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	if (n > 0 && s[n - 1] == '.')
		s[n - 1] = '\0';
}

const char *rstatus_str(enum rstatus st)
{
	static const char *const s[] = {"ok",	    "noname",	"timeout",
					"servfail", "canceled", "incomplete"};
	return (unsigned)st < ARRAY_SIZE(s) ? s[st] : "?";
}

enum rstatus rstatus_of_ares(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return RS_OK;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		return RS_NONAME;
	case ARES_ETIMEOUT:
		return RS_TIMEOUT;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		return RS_CANCELED;
	default: /* servfail, refused, formerr, badresp, connrefused, ... */
		return RS_SERVFAIL;
	}
}

bool resolver_dying(const struct resolver *r) { return r->dying; }
struct event_base *resolver_base(const struct resolver *r) { return r->base; }
const struct resolver_cfg *resolver_cfg_of(const struct resolver *r)
{
	return &r->cfg;
}

void rr_free(struct rr *rr, int n)
{
	for (int i = 0; i < n; i++) {
		free(rr[i].name);
		rr[i].name = NULL;
	}
}

/* Skips one encoded name at *P; 0, or -1 when malformed. */
static int skip_name(const unsigned char **p, const unsigned char *buf,
		     int len)
{
	char *s;
	long enc;
	if (ares_expand_name(*p, buf, len, &s, &enc) != ARES_SUCCESS)
		return -1;
	ares_free_string(s);
	*p += enc;
	return 0;
}

int rr_parse(const unsigned char *buf, int len, int type, struct rr *out,
	     int max, uint32_t *min_ttl)
{
	const unsigned char *p = buf + HFIXEDSZ, *end = buf + len;
	int n = 0, kept = 0;
	*min_ttl = UINT32_MAX;
	if (len < HFIXEDSZ)
		return -1;
	unsigned qd = DNS_HEADER_QDCOUNT(buf), an = DNS_HEADER_ANCOUNT(buf);
	for (unsigned i = 0; i < qd; i++) {
		if (skip_name(&p, buf, len) < 0 || p + QFIXEDSZ > end)
			goto bad;
		p += QFIXEDSZ;
	}
	for (unsigned i = 0; i < an; i++) {
		if (skip_name(&p, buf, len) < 0 || p + RRFIXEDSZ > end)
			goto bad;
		int rtype = DNS_RR_TYPE(p), rclass = DNS_RR_CLASS(p);
		uint32_t ttl = (uint32_t)DNS_RR_TTL(p);
		unsigned rdlen = DNS_RR_LEN(p);
		p += RRFIXEDSZ;
		if (p + rdlen > end)
			goto bad;
		if (ttl > 0x7fffffffu) /* RFC 2181 §8 */
			ttl = 0;
		if (rclass != C_IN) {
			p += rdlen;
			continue;
		}
		if (rtype == T_CNAME && ttl < *min_ttl)
			*min_ttl = ttl;
		if (rtype == type) {
			struct rr o = {.type = rtype, .ttl = ttl};
			bool ok = false;
			if (type == T_A && rdlen == 4) {
				memcpy(o.addr, p, 4);
				ok = true;
			} else if (type == T_AAAA && rdlen == 16) {
				memcpy(o.addr, p, 16);
				ok = true;
			} else if (type == T_PTR) {
				char *s;
				long enc;
				if (ares_expand_name(p, buf, len, &s, &enc) !=
				    ARES_SUCCESS)
					goto bad;
				if (kept < max) {
					o.name = xstrdup(s);
					name_normalise(o.name);
				}
				ares_free_string(s);
				ok = true;
			}
			if (ok) {
				if (kept < max)
					out[kept++] = o;
				n++;
				if (ttl < *min_ttl)
					*min_ttl = ttl;
			}
		}
		p += rdlen;
	}
	return n;
bad:
	rr_free(out, kept);
	return -1;
}

/* ---- driving c-ares from libevent -------------------------------------- */

/* Re-arms the timeout timer from c-ares's next deadline (none: off). */
static void arm_timer(struct resolver *r)
{
	struct timeval tv, *tp;
	if (r->dying)
		return;
	tp = ares_timeout(r->ch, NULL, &tv);
	if (tp)
		evtimer_add(r->tmo, tp);
	else
		evtimer_del(r->tmo);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm_timer(r);
}

/* aresev's AFTER hook: c-ares processed a socket; re-arm its timer. */
static void after_sock(void *arg)
{
	arm_timer(arg);
}

/* Called by c-ares on every new socket, before connect(): the mark. */
static int sock_config(ares_socket_t fd, int type, void *data)
{
	struct resolver *r = data;
	if (r->mark == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &r->mark, sizeof(r->mark)) <
	    0) {
		r->st.mark_failures++;
		return -1;
	}
	return 0;
}

void resolver_query(struct resolver *r, const char *name, int type,
		    rquery_cb cb, void *arg)
{
	r->st.queries++;
	ares_query(r->ch, name, C_IN, type, cb, arg);
	arm_timer(r);
}

/* ---- reverse lookups ------------------------------------------------------ */

static void lookup_free(struct lookup *lk)
{
	LIST_REMOVE(lk, all);
	for (int i = 0; i < lk->nnames; i++)
		free(lk->names[i]);
	free(lk);
}

/*
 * Ends LK with ST (NAMES for RS_OK, else NULL; TTL in seconds): out of the
 * in-flight table, into the cache, then every waiter's callback, in arrival
 * order. A callback may cancel a later waiter or start new lookups.
 */
static void finish(struct lookup *lk, enum rstatus st,
		   const struct rnames *names, uint32_t ttl)
{
	struct resolver *r = lk->r;
	uint64_t now = resolve_now_ms();
	lk->done = true;
	flight_land(&lk->fl);
	r->st.in_flight--;
	switch (st) {
	case RS_OK:
		if (ttl > RESOLVER_MAX_TTL)
			ttl = RESOLVER_MAX_TTL;
		/* a set cut by a timeout is asked again next time */
		if (!lk->nfail_timeout)
			rcache_put(r->cache, &lk->key, st, names,
				   now + (uint64_t)ttl * 1000u, now);
		break;
	case RS_NONAME:
	case RS_SERVFAIL:
	case RS_INCOMPLETE:
		if (st == RS_SERVFAIL)
			r->st.servfails++;
		rcache_put(r->cache, &lk->key, st, NULL,
			   now + (uint64_t)r->cfg.negative_ttl_s * 1000u, now);
		break;
	case RS_TIMEOUT:
		r->st.timeouts++;
		break;
	case RS_CANCELED:
		break;
	}
	struct flight_waiter *w;
	while ((w = flight_pop(&lk->fl))) {
		r->st.waiters--;
		((name_cb)w->fn)(w->arg, st, st == RS_OK ? names : NULL);
		free(w); /* the struct resolver_req it begins */
	}
	if (lk->refs == 0)
		lookup_free(lk);
}

/* A query callback's common start: drops the reference; true when the
 * lookup still wants the answer. */
static bool query_back(struct qctx *q)
{
	struct lookup *lk = q->lk;
	struct resolver *r = lk->r;
	free(q);
	lk->refs--;
	if (r->dying)
		return false; /* resolver_free frees the lookups */
	if (lk->done) {
		if (lk->refs == 0)
			lookup_free(lk);
		return false;
	}
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* When every forward query of LK has answered: the confirmed names, or
 * with none the worst failure. */
static void settle(struct lookup *lk)
{
	if (lk->refs > 0 || lk->done)
		return;
	if (lk->nconfirmed > 0) {
		size_t n = 0;
		for (int i = 0; i < lk->nnames; i++)
			if (lk->confirmed[i])
				lk->result[n++] = lk->names[i];
		xqsort(lk->result, n, sizeof(lk->result[0]), cmp_str);
		struct rnames rn = {.v = lk->result,
				    .n = n,
				    .partial = lk->bounded ||
					       lk->nfail_timeout ||
					       lk->nfail_servfail};
		finish(lk, RS_OK, &rn, lk->ttl);
		return;
	}
	finish(lk,
	       lk->nfail_timeout    ? RS_TIMEOUT
	       : lk->bounded	    ? RS_INCOMPLETE
	       : lk->nfail_servfail ? RS_SERVFAIL
				    : RS_NONAME,
	       NULL, 0);
}

/* True when the answer ABUF[0..ALEN) to a TYPE query holds ADDR (every
 * record read, however many); -1 when it is malformed. *TTL: the smallest
 * TTL of the answer's records of TYPE and CNAMEs. */
static int answer_has(const unsigned char *abuf, int alen, int type,
		      const uint8_t *addr, size_t alen_addr, uint32_t *ttl)
{
	int n = rr_parse(abuf, alen, type, NULL, 0, ttl);
	if (n <= 0)
		return n;
	struct rr *rr = xcalloc((size_t)n, sizeof(*rr));
	int m = rr_parse(abuf, alen, type, rr, n, ttl);
	int hit = m < 0 ? -1 : 0;
	for (int i = 0; i < m && hit == 0; i++)
		hit = !memcmp(rr[i].addr, addr, alen_addr);
	free(rr);
	return hit;
}

/* The forward query of names[idx] answered. */
static void fwd_done(void *arg, int status, int timeouts, unsigned char *abuf,
		     int alen)
{
	struct qctx *q = arg;
	struct lookup *lk = q->lk;
	int idx = q->idx;
	if (!query_back(q))
		return;
	int fam = lk->key.family;
	if (status == ARES_SUCCESS) {
		uint32_t ttl;
		int hit = answer_has(abuf, alen, fam == AF_INET ? T_A : T_AAAA,
				     lk->key.addr, fam == AF_INET ? 4 : 16,
				     &ttl);
		if (hit > 0) {
			lk->confirmed[idx] = true;
			lk->nconfirmed++;
			if (ttl < lk->ttl)
				lk->ttl = ttl;
		} else if (hit < 0) {
			lk->nfail_servfail++;
		} else {
			lk->r->st.unconfirmed++;
		}
	} else {
		enum rstatus s = rstatus_of_ares(status);
		if (s == RS_TIMEOUT)
			lk->nfail_timeout++;
		else if (s == RS_SERVFAIL)
			lk->nfail_servfail++;
		else
			lk->r->st.unconfirmed++;
	}
	settle(lk);
}

/* The PTR query answered: one forward query per distinct name. */
static void ptr_done(void *arg, int status, int timeouts, unsigned char *abuf,
		     int alen)
{
	struct qctx *q = arg;
	struct lookup *lk = q->lk;
	if (!query_back(q))
		return;
	if (status != ARES_SUCCESS) {
		finish(lk, rstatus_of_ares(status), NULL, 0);
		return;
	}
	struct rr rr[RESOLVER_MAX_PTR];
	int n = rr_parse(abuf, alen, T_PTR, rr, RESOLVER_MAX_PTR, &lk->ttl);
	if (n <= 0) {
		finish(lk, n < 0 ? RS_SERVFAIL : RS_NONAME, NULL, 0);
		return;
	}
	if (n > RESOLVER_MAX_PTR) { /* the names past the bound stay unknown */
		lk->bounded = true;
		lk->r->st.bounded++;
		n = RESOLVER_MAX_PTR;
	}
	for (int i = 0; i < n; i++) {
		bool dup = rr[i].name[0] == '\0';
		for (int j = 0; j < lk->nnames && !dup; j++)
			dup = !strcmp(lk->names[j], rr[i].name);
		if (dup) {
			free(rr[i].name);
			continue;
		}
		lk->names[lk->nnames++] = rr[i].name;
	}
	if (lk->nnames == 0) { /* only the root name: no name */
		finish(lk, lk->bounded ? RS_INCOMPLETE : RS_NONAME, NULL, 0);
		return;
	}
	int type = lk->key.family == AF_INET ? T_A : T_AAAA;
	int nn = lk->nnames;
	/* c-ares may call back from inside ares_query (a socket that cannot
	 * be opened or marked): hold LK until every query is out */
	lk->refs++;
	for (int i = 0; i < nn && !lk->done; i++) {
		struct qctx *f = xmalloc(sizeof(*f));
		f->lk = lk;
		f->idx = i;
		lk->refs++;
		resolver_query(lk->r, lk->names[i], type, fwd_done, f);
	}
	lk->refs--;
	if (lk->done && lk->refs == 0)
		lookup_free(lk);
	else
		settle(lk);
}

/* The in-addr.arpa / ip6.arpa name of K into BUF (at least 74 bytes). */
static void arpa_name(const struct rkey *k, char *buf, size_t len)
{
	const uint8_t *a = k->addr;
	if (k->family == AF_INET) {
		snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1],
			 a[0]);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	char *p = buf;
	for (int i = 15; i >= 0; i--) {
		*p++ = hex[a[i] & 15];
		*p++ = '.';
		*p++ = hex[a[i] >> 4];
		*p++ = '.';
	}
	strcpy(p, "ip6.arpa");
}

/* Sends the PTR queries of the queued lookups. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;
	struct lookup *lk;
	while ((lk = STAILQ_FIRST(&r->kickq))) {
		STAILQ_REMOVE_HEAD(&r->kickq, kick);
		lk->queued = false;
		char name[80];
		arpa_name(&lk->key, name, sizeof(name));
		struct qctx *q = xmalloc(sizeof(*q));
		q->lk = lk;
		q->idx = -1;
		lk->refs++;
		resolver_query(r, name, T_PTR, ptr_done, q);
	}
}

int resolver_reverse(struct resolver *r, int family, const uint8_t addr[16],
		     name_cb cb, void *arg, struct resolver_req **reqp)
{
	struct rkey k;
	struct rcache_hit hit;
	if (reqp)
		*reqp = NULL;
	if (family != AF_INET && family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (!cb) {
		errno = EINVAL;
		return -1;
	}
	if (r->closing) { /* a callback of resolver_free() asking again */
		errno = ECANCELED;
		return -1;
	}
	rkey_make(&k, family, addr);
	if (rcache_get(r->cache, &k, resolve_now_ms(), &hit)) {
		if (hit.st == RS_OK)
			r->st.cache_hits++;
		else
			r->st.negative_hits++;
		cb(arg, hit.st, hit.st == RS_OK ? &hit.names : NULL);
		return 0;
	}
	r->st.cache_misses++;
	struct flight *f = flight_find(&r->inflight, &k, sizeof(k));
	struct lookup *lk;
	if (f) {
		lk = (struct lookup *)f; /* fl is its first member */
		r->st.shared++;
	} else {
		lk = xcalloc(1, sizeof(*lk));
		lk->key = k;
		lk->r = r;
		LIST_INSERT_HEAD(&r->all, lk, all);
		flight_start(&r->inflight, &lk->fl, &lk->key, sizeof(lk->key));
		lk->queued = true;
		STAILQ_INSERT_TAIL(&r->kickq, lk, kick);
		event_active(r->kick, 0, 0);
		r->st.lookups++;
		r->st.in_flight++;
	}
	struct resolver_req *w = xcalloc(1, sizeof(*w));
	w->lk = lk;
	flight_join(&lk->fl, &w->fw, (flight_fn)cb, arg);
	r->st.waiters++;
	if (reqp)
		*reqp = w;
	return 0;
}

void resolver_cancel(struct resolver *r, struct resolver_req *w)
{
	if (!w)
		return;
	flight_leave(&w->lk->fl, &w->fw);
	r->st.waiters--;
	free(w);
}

/* ---- life ------------------------------------------------------------------ */

/* Appends "addr" or "[addr]:port"/"addr:port" as c-ares csv to *CSV.
 * Returns 0, or -1 when S is not an address with an optional port. */
static int server_csv(const char *s, char **csv)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *h = s;
	size_t hl;
	unsigned char tmp[16];
	bool v6;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || (e[1] != '\0' && e[1] != ':'))
			return -1;
		h = s + 1;
		hl = (size_t)(e - h);
		port = e[1] == ':' ? e + 2 : NULL;
	} else if (strchr(s, ':') && strchr(s, ':') == strrchr(s, ':')) {
		hl = (size_t)(strchr(s, ':') - s); /* v4:port */
		port = strchr(s, ':') + 1;
	} else {
		hl = strlen(s);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	v6 = inet_pton(AF_INET6, host, tmp) == 1;
	if (!v6 && inet_pton(AF_INET, host, tmp) != 1)
		return -1;
	if (port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);
		if (!*port || *end || p == 0 || p > 65535)
			return -1;
	}
	char *item = v6 ? xasprintf("[%s]:%s", host, port ? port : "53")
			: xasprintf("%s:%s", host, port ? port : "53");
	char *n = *csv ? xasprintf("%s,%s", *csv, item) : xstrdup(item);
	free(item);
	free(*csv);
	*csv = n;
	return 0;
}

struct resolver *resolver_new(struct event_base *base,
			      const struct resolver_cfg *cfg, uint32_t so_mark)
{
	struct resolver *r = xcalloc(1, sizeof(*r));
	LIST_INIT(&r->all);
	aresev_init(&r->ae, base, after_sock, r);
	STAILQ_INIT(&r->kickq);
	struct ares_options o;
	char *csv = NULL;
	int err = EIO;
	r->base = base;
	r->cfg = *cfg;
	r->cfg.servers = NULL;
	r->cfg.nservers = 0;
	r->mark = so_mark;
	for (size_t i = 0; i < cfg->nservers; i++)
		if (server_csv(cfg->servers[i], &csv) < 0) {
			err = EINVAL;
			goto fail;
		}
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		goto fail;
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.timeout = cfg->timeout_ms ? (int)cfg->timeout_ms : 2000;
	o.tries = RESOLVER_TRIES;
	o.lookups = (char *)"b"; /* DNS only, never /etc/hosts */
	o.sock_state_cb = aresev_sock_state;
	o.sock_state_cb_data = &r->ae;
	if (ares_init_options(&r->ch, &o,
			      ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
				  ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
				  ARES_OPT_SOCK_STATE_CB) != ARES_SUCCESS) {
		r->ch = NULL;
		ares_library_cleanup();
		goto fail;
	}
	r->ae.ch = r->ch;
	if (csv && ares_set_servers_ports_csv(r->ch, csv) != ARES_SUCCESS) {
		err = EINVAL;
		goto fail;
	}
	ares_set_socket_configure_callback(r->ch, sock_config, r);
	r->tmo = evtimer_new(base, on_timeout, r);
	r->kick = event_new(base, -1, 0, on_kick, r);
	if (!r->tmo || !r->kick) {
		err = ENOMEM;
		goto fail;
	}
	flight_table_init(&r->inflight);
	r->cache = rcache_new(cfg->cache);
	r->pf = prefetch_new(r);
	free(csv);
	return r;
fail:
	free(csv);
	if (r->tmo)
		event_free(r->tmo);
	if (r->kick)
		event_free(r->kick);
	if (r->ch) {
		ares_destroy(r->ch);
		ares_library_cleanup();
	}
	free(r);
	errno = err;
	return NULL;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	/* 1. every waiter hears RS_CANCELED; queued lookups go at once */
	r->closing = true;
	STAILQ_INIT(&r->kickq);
	for (struct lookup *lk = LIST_FIRST(&r->all), *next; lk; lk = next) {
		next = LIST_NEXT(lk, all);
		if (!lk->done) {
			lk->queued = false;
			finish(lk, RS_CANCELED, NULL, 0);
		}
	}
	/* 2. c-ares calls back every query with ARES_EDESTRUCTION and closes
	 * its sockets through aresev_sock_state (which frees their events) */
	r->dying = true;
	ares_destroy(r->ch);
	ares_library_cleanup();
	while (!LIST_EMPTY(&r->all))
		lookup_free(LIST_FIRST(&r->all));
	aresev_fini(&r->ae); /* defensive: c-ares closed them all */
	prefetch_free(r->pf);
	event_free(r->tmo);
	event_free(r->kick);
	flight_table_fini(&r->inflight);
	rcache_free(r->cache);
	free(r);
}

void resolver_watch_known(struct resolver *r, uint64_t *gen)
{
	prefetch_watch(r->pf, gen);
}

void resolver_prefetch(struct resolver *r, const char *const *names, size_t n)
{
	prefetch_set(r->pf, names, n);
}

size_t resolver_known_names(struct resolver *r, int family,
			    const uint8_t addr[16], const char **names,
			    size_t max, bool *partial)
{
	struct rkey k;
	*partial = false;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	rkey_make(&k, family, addr);
	return prefetch_lookup(r->pf, &k, names, max, partial);
}

void resolver_stats(const struct resolver *r, struct resolver_stats *out)
{
	*out = r->st;
	out->cache_entries = rcache_size(r->cache);
	uint64_t pb;
	prefetch_counts(r->pf, &out->prefetched_names, &out->prefetched_addrs,
			&pb);
	out->bounded += pb;
}

/* ---- the servers asked (resolver.h) ------------------------------------------ */

void resolver_server_split(const char *s, char *addr, size_t len,
			   uint32_t *port)
{
	const char *end = NULL;
	*port = 0;
	if (s[0] == '[' && (end = strchr(s, ']'))) {
		snprintf(addr, len, "%.*s", (int)(end - s - 1), s + 1);
		if (end[1] == ':')
			*port = (uint32_t)strtoul(end + 2, NULL, 10);
	} else if ((end = strchr(s, ':')) && !strchr(end + 1, ':')) {
		snprintf(addr, len, "%.*s", (int)(end - s), s);
		*port = (uint32_t)strtoul(end + 1, NULL, 10);
	} else {
		snprintf(addr, len, "%s", s);
	}
}

char **resolver_default_servers(size_t *n)
{
	ares_channel ch;
	struct ares_addr_port_node *list = NULL;
	char **out = NULL;
	*n = 0;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		return NULL;
	if (ares_init(&ch) == ARES_SUCCESS) {
		if (ares_get_servers_ports(ch, &list) == ARES_SUCCESS)
			for (struct ares_addr_port_node *s = list; s; s = s->next) {
				char a[INET6_ADDRSTRLEN];
				int port = s->udp_port ? s->udp_port : 53;
				if (!inet_ntop(s->family, &s->addr, a, sizeof(a)))
					continue;
				char *e = s->family == AF_INET6
						  ? xasprintf("[%s]:%d", a, port)
						  : xasprintf("%s:%d", a, port);
				VEC_PUSH(out, *n, e);
			}
		ares_free_data(list);
		ares_destroy(ch);
	}
	ares_library_cleanup();
	return out;
}

