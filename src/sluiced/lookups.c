/*
 * lookups.c — see lookups.h.
 *
 * A question travels: worker thread → event_base_once on the main base →
 * resolver / ldapdir / nsspool (asynchronous) → the answer → event_base_once
 * on the worker's base → decider_answer under the worker's lock. Questions
 * in flight are on a list so that shutdown frees them all.
 *
 * Answers at hand skip that round trip: the identity sources' fresh
 * answers (uid → user and groups from NSS, user → groups from the
 * directory) are copied into "near" caches that the workers read under a
 * mutex (lookups_cached), for as long as the source's own cache keeps
 * them (its cache-ttl, counted from the same answer). Only answers that
 * come from the source itself are copied, never the source's cache hits,
 * so a copy never outlives the answer it copies. The names resolved ahead
 * of time that point at an address (the first, I/O-free answer of a name
 * question) are copied too, under the resolver's generation of those
 * names, so a change of them makes every copy unreachable at once; the
 * clients' own DNS answers (`filter dns`) are read by the worker from the
 * DNS filter itself (its own lock).
 */
#include "sluiced/lookups.h"
#include "common/log.h"
#include "common/util.h"
#include "identity/idcache.h"
#include "identity/ldapdir.h"
#include "identity/nsspool.h"
#include "queue/worker.h"
#include "resolve/resolver.h"
#include "sluiced/dnsfilter.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

struct inflight {
	struct lookup_req *req;
	struct lookups *l;
	LIST_ENTRY(inflight) link; /* l->inflight */
};

struct lookups {
	struct event_base *base;
	uint32_t mark;
	struct resolver *res;
	struct resolver_cfg rcfg; /* what res was made with (owned copy) */
	struct ldapdir *ldap;
	struct directory_cfg dcfg; /* what ldap was made with (owned copy) */
	bool dir_made;		   /* dcfg holds a configuration */
	struct nsspool *nss;
	/* what nss was made with: identity { nss-workers nss-timeout
	 * cache-ttl } (the pointers of the policy's identity_cfg are not
	 * kept: that policy goes at the next reload) */
	struct identity_cfg nss_cfg;
	bool nss_made;
	struct dnsfilter *dns; /* the clients' own DNS answers, or NULL */
	pthread_mutex_t lock; /* guards the in-flight list and closing */
	LIST_HEAD(, inflight) inflight; /* posted, not yet delivered */
	bool closing;
	/* the near caches: written by the main thread, read by the workers */
	pthread_mutex_t near_lock; /* guards the four fields below */
	struct idcache *near_uid;    /* "uid" → NSS's answer (NULL: ttl 0) */
	struct idcache *near_groups; /* user → the directory's answer */
	struct idcache *near_names;  /* "gen family addr" → the names
				      * resolved ahead that point at addr */
	uint64_t near_uid_hits, near_group_hits, near_name_hits;
	uint64_t known_gen; /* atomic: bumped by the resolver whenever its
			     * names resolved ahead change, and when it is
			     * made anew: a near name answer of another
			     * generation is never found */
	bool in_start;	  /* main thread: inside start() (a source's cache
			   * hit answers synchronously: not copied) */
	char *named_list; /* the named groups near_groups was made for */
};

#define NEAR_MAX 4096 /* answers per near cache (least recently used go) */
#define NEAR_NAMES_TTL_S 300 /* a generation change drops them sooner */

/* Sends the answered request back to its worker (main thread). */
static void deliver(struct inflight *f)
{
	struct lookups *l = f->l;
	struct lookup_req *req = f->req;
	pthread_mutex_lock(&l->lock);
	LIST_REMOVE(f, link);
	bool closing = l->closing;
	pthread_mutex_unlock(&l->lock);
	free(f);
	if (closing)
		lookup_req_free(req);
	else
		worker_answer(req->worker, req);
}

/* Adds NAME to R's names unless it is there already. */
static void add_name(struct lookup_req *r, const char *name)
{
	for (size_t i = 0; i < r->nnames; i++)
		if (!strcmp(r->names[i], name))
			return;
	char *c = xstrdup(name);
	VEC_PUSH(r->names, r->nnames, c);
}

static void add_name_cb(void *arg, const char *name)
{
	add_name(arg, name);
}

/* The names R's client was told R's address has (its own DNS answers,
 * `filter dns`): the first witness. Returns how many. */
static size_t bound_names(struct lookups *l, struct lookup_req *r,
			  bool *partial)
{
	return dnsfilter_names(l->dns, r->family, r->key.src, r->addr,
			       add_name_cb, r, partial);
}

void lookups_set_dnsfilter(struct lookups *l, struct dnsfilter *f)
{
	l->dns = f;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define MAX_KNOWN 64 /* prefetched names taken per address; more: partial */

/*
 * Fills R's answer: every name the destination is known by — the names
 * resolved ahead of time that point at it (prefetch) and the reverse
 * lookup's forward-confirmed names (ST, RN) — sorted, so nothing depends on
 * DNS answer order. A failed or bounded reverse lookup leaves the set
 * partial (unknown, the deadline decides), never "no name"; with nothing
 * known at all the request fails (ETIMEDOUT, EOVERFLOW). RS_NONAME and
 * RS_SERVFAIL mean "no reverse names" (ENOENT when nothing else is known).
 */
static void answer_names(struct lookups *l, struct lookup_req *r,
			 enum rstatus st, const struct rnames *rn)
{
	const char *known[MAX_KNOWN];
	bool partial = false;
	size_t nk = l->res ? resolver_known_names(l->res, r->family, r->addr,
						  known, MAX_KNOWN, &partial)
			   : 0;
	if (nk > MAX_KNOWN) {
		nk = MAX_KNOWN;
		partial = true;
	}
	for (size_t i = 0; i < nk; i++)
		add_name(r, known[i]);
	bound_names(l, r, &partial);
	switch (st) {
	case RS_OK:
		for (size_t i = 0; i < rn->n; i++)
			add_name(r, rn->v[i]);
		partial = partial || rn->partial;
		break;
	case RS_TIMEOUT:
	case RS_INCOMPLETE:
		partial = true;
		break;
	default: /* RS_NONAME, RS_SERVFAIL */
		break;
	}
	xqsort(r->names, r->nnames, sizeof(*r->names), cmp_name);
	r->names_partial = partial;
	if (r->nnames > 0 || (partial && st != RS_TIMEOUT &&
			      st != RS_INCOMPLETE))
		r->status = 0;
	else if (st == RS_TIMEOUT)
		r->status = ETIMEDOUT;
	else if (st == RS_INCOMPLETE)
		r->status = EOVERFLOW;
	else
		r->status = ENOENT;
}

/* The near cache key of R's address under generation GEN (BUF of 64). */
static const char *names_key(const struct lookup_req *r, uint64_t gen,
			     char buf[64])
{
	char hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", r->addr[i]);
	snprintf(buf, 64, "%llx %d %s", (unsigned long long)gen, r->family,
		 hex);
	return buf;
}

/* Adds the names resolved ahead NAMES[0..N) to R (at most MAX_KNOWN) and
 * the names R's client was told (filter dns); then, when there is any,
 * makes R the partial answer quick_names gives and returns true. */
static bool quick_answer(struct lookups *l, struct lookup_req *r,
			 const char *const *names, size_t n)
{
	bool bpart = false;
	size_t nb = bound_names(l, r, &bpart);
	if (n == 0 && nb == 0)
		return false;
	for (size_t i = 0; i < n && i < MAX_KNOWN; i++)
		add_name(r, names[i]);
	xqsort(r->names, r->nnames, sizeof(*r->names), cmp_name);
	r->names_partial = true; /* the reverse names are not asked yet */
	r->names_more = true;
	r->status = 0;
	return true;
}

/* The names at hand for R without any I/O (resolved ahead of time), as a
 * partial set that may be completed by asking again with names_full.
 * False when there are none. Main thread: the names resolved ahead are
 * copied for the workers (lookups_cached). */
static bool quick_names(struct lookups *l, struct lookup_req *r)
{
	const char *known[MAX_KNOWN];
	bool partial;
	uint64_t gen = __atomic_load_n(&l->known_gen, __ATOMIC_ACQUIRE);
	size_t nk = l->res ? resolver_known_names(l->res, r->family, r->addr,
						  known, MAX_KNOWN, &partial)
			   : 0;
	if (nk > MAX_KNOWN)
		nk = MAX_KNOWN;
	char key[64];
	pthread_mutex_lock(&l->near_lock);
	if (l->near_names)
		idcache_put(l->near_names, names_key(r, gen, key), mono_ms(),
			    nk ? 0 : ENOENT, NULL, (char *const *)known, nk);
	pthread_mutex_unlock(&l->near_lock);
	return quick_answer(l, r, known, nk);
}

/* Worker thread: quick_names from the near copy of the names resolved
 * ahead, when it is of the current generation. */
static bool near_names(struct lookups *l, struct lookup_req *r)
{
	uint64_t gen = __atomic_load_n(&l->known_gen, __ATOMIC_ACQUIRE);
	char key[64];
	char **names = NULL;
	size_t n = 0;
	bool found = false;
	pthread_mutex_lock(&l->near_lock);
	const struct idanswer *e =
		l->near_names ? idcache_get(l->near_names,
					    names_key(r, gen, key), mono_ms())
			      : NULL;
	if (e) {
		found = true;
		l->near_name_hits++;
		for (size_t i = 0; e->status == 0 && i < e->ngroups; i++)
			VEC_PUSH(names, n, xstrdup(e->groups[i]));
	}
	pthread_mutex_unlock(&l->near_lock);
	bool ok = found && quick_answer(l, r, (const char *const *)names, n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ok;
}

static void on_name(void *arg, enum rstatus st, const struct rnames *rn)
{
	struct inflight *f = arg;
	if (st == RS_CANCELED) /* the resolver went away: drop quietly */
		f->req->status = ECANCELED;
	else
		answer_names(f->l, f->req, st, rn);
	deliver(f);
}

static void copy_groups(struct lookup_req *r, const char *const *groups,
			size_t n)
{
	r->groups = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		r->groups[i] = xstrdup(groups[i]);
	r->ngroups = n;
}

/* The near cache key of uid UID (BUF of 16 bytes). */
static const char *uid_key(uint32_t uid, char buf[16])
{
	snprintf(buf, 16, "%u", (unsigned)uid);
	return buf;
}

/* Main thread: copies a source's fresh answer (STATUS, USER, GROUPS[N])
 * for KEY into the near cache *C, when the source caches that kind of
 * answer too (found, ENOENT, EOVERFLOW; never a timeout or an error). */
static void near_put(struct lookups *l, struct idcache **c, const char *key,
		     int status, const char *user, const char *const *groups,
		     size_t n)
{
	if (l->in_start || (status != 0 && status != ENOENT &&
			    status != EOVERFLOW))
		return;
	pthread_mutex_lock(&l->near_lock);
	if (*c)
		idcache_put(*c, key, mono_ms(), status, user,
			    status ? NULL : (char *const *)groups,
			    status ? 0 : n);
	pthread_mutex_unlock(&l->near_lock);
}

static void on_groups(void *arg, int status, const char *user,
		      const char *const *groups, size_t n)
{
	struct inflight *f = arg;
	near_put(f->l, &f->l->near_groups, f->req->user, status, user, groups,
		 n);
	f->req->status = status;
	if (user) /* the directory's own name (also with EOVERFLOW) */
		f->req->user_out = xstrdup(user);
	if (status == 0)
		copy_groups(f->req, groups, n);
	deliver(f);
}

static void on_uid(void *arg, int status, const char *user,
		   const char *const *groups, size_t n)
{
	struct inflight *f = arg;
	char key[16];
	near_put(f->l, &f->l->near_uid, uid_key(f->req->uid, key), status,
		 user, groups, n);
	f->req->status = status;
	if (user) /* also with EOVERFLOW: the user, groups unknown */
		f->req->user_out = xstrdup(user);
	if (status == 0)
		copy_groups(f->req, groups, n);
	deliver(f);
}

/* Main thread: asks the right source. */
static void start(evutil_socket_t fd, short what, void *arg)
{
	struct inflight *f = arg;
	struct lookups *l = f->l;
	struct lookup_req *r = f->req;
	switch (r->kind) {
	case LK_NAME:
		/* first the names at hand (resolved ahead of time): when they
		 * decide, no reverse lookup is needed; else every name, the
		 * reverse lookup's joined by those, in on_name */
		if (!r->names_full && quick_names(l, r)) {
			deliver(f);
		} else if (!l->res || resolver_reverse(l->res, r->family,
						       r->addr, on_name, f,
						       NULL) < 0) {
			r->status = EIO;
			deliver(f);
		}
		break;
	case LK_GROUPS:
		l->in_start = true;
		if (!l->ldap || ldapdir_groups(l->ldap, r->user, on_groups, f) < 0) {
			r->status = EIO;
			deliver(f);
		}
		l->in_start = false;
		break;
	case LK_UID:
		l->in_start = true;
		if (!l->nss || nsspool_uid(l->nss, r->uid, on_uid, f) < 0) {
			r->status = EIO;
			deliver(f);
		}
		l->in_start = false;
		break;
	}
}

/* Copies answer E into R (status, the source's user name, the groups). */
static void fill_answer(struct lookup_req *r, const struct idanswer *e)
{
	r->status = e->status;
	if (e->user)
		r->user_out = xstrdup(e->user);
	if (e->status == 0)
		copy_groups(r, (const char *const *)e->groups, e->ngroups);
}

bool lookups_cached(void *ctx, struct lookup_req *r)
{
	struct lookups *l = ctx;
	char key[16];
	struct idcache **c;
	uint64_t *hits;
	const char *k;
	switch (r->kind) {
	case LK_UID:
		c = &l->near_uid, hits = &l->near_uid_hits;
		k = uid_key(r->uid, key);
		break;
	case LK_GROUPS:
		c = &l->near_groups, hits = &l->near_group_hits;
		k = r->user;
		break;
	case LK_NAME:
		return !r->names_full && near_names(l, r);
	default:
		return false;
	}
	bool found = false;
	pthread_mutex_lock(&l->near_lock);
	const struct idanswer *e = *c ? idcache_get(*c, k, mono_ms()) : NULL;
	if (e) {
		fill_answer(r, e);
		(*hits)++;
		found = true;
	}
	pthread_mutex_unlock(&l->near_lock);
	return found;
}

void lookups_submit(void *ctx, struct lookup_req *req)
{
	struct lookups *l = ctx;
	struct inflight *f = xcalloc(1, sizeof(*f));
	f->req = req;
	f->l = l;
	pthread_mutex_lock(&l->lock);
	if (l->closing) {
		pthread_mutex_unlock(&l->lock);
		free(f);
		lookup_req_free(req);
		return;
	}
	LIST_INSERT_HEAD(&l->inflight, f, link);
	pthread_mutex_unlock(&l->lock);
	if (event_base_once(l->base, -1, EV_TIMEOUT, start, f, NULL) < 0)
		log_warnx("lookups: cannot post a question");
}

/* Exact names of every domain set, for prefetching. */
static void prefetch(struct lookups *l, const struct policy *p)
{
	const char **names = NULL;
	size_t n = 0;
	for (size_t i = 0; i < p->ndoms; i++)
		for (size_t k = 0; k < p->doms[i]->nexact; k++)
			VEC_PUSH(names, n, p->doms[i]->exact[k]);
	resolver_prefetch(l->res, names, n);
	free(names);
}

/* Tells the directory which groups the policy names (each once), so that
 * it asks only about them and its answers are complete for every rule.
 * Returns the list (owned by the caller), one name a line. */
static char *named_groups(struct ldapdir *dir, const struct policy *p)
{
	const char **names = NULL;
	size_t n = 0;
	for (size_t i = 0; i < p->nusersets; i++) {
		const struct userset *u = p->usersets[i];
		for (size_t k = 0; k < u->ngroups; k++) {
			size_t j = 0;
			while (j < n && strcmp(names[j], u->groups[k]) != 0)
				j++;
			if (j == n)
				VEC_PUSH(names, n, u->groups[k]);
		}
	}
	/* a non-NULL empty list: no group is named, none is asked */
	static const char *none[1];
	ldapdir_set_groups(dir, names ? names : none, n);
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	char *list = xcalloc(1, len), *w = list;
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "%s\n", names[i]);
	free(names);
	return list;
}

/* Replaces the near cache *C by an empty one keeping TTL_S (none: 0). */
static void near_reset(struct lookups *l, struct idcache **c, uint32_t ttl_s)
{
	pthread_mutex_lock(&l->near_lock);
	idcache_free(*c);
	*c = ttl_s ? idcache_new(ttl_s, NEAR_MAX) : NULL;
	pthread_mutex_unlock(&l->near_lock);
}

/* True when A and B give the NSS pool the same settings. */
static bool nss_cfg_equal(const struct identity_cfg *a,
			  const struct identity_cfg *b)
{
	return a->nss_workers == b->nss_workers &&
	       a->nss_timeout_ms == b->nss_timeout_ms &&
	       a->cache_ttl_s == b->cache_ttl_s;
}

/* A new NSS pool with P's settings in place of the running one (if any),
 * as the resolver and the directory are replaced: its lookups in flight
 * end with ECANCELED (their decisions take that as an unanswered
 * lookup); its cache and the near copies of its answers go with it. */
static void nss_renew(struct lookups *l, const struct policy *p)
{
	nsspool_free(l->nss);
	l->nss = nsspool_new(l->base, &p->identity);
	if (!l->nss)
		log_warn("nss: cannot start the lookup threads; the "
			 "gateway's own sessions will have no user");
	memset(&l->nss_cfg, 0, sizeof(l->nss_cfg));
	l->nss_cfg.nss_workers = p->identity.nss_workers;
	l->nss_cfg.nss_timeout_ms = p->identity.nss_timeout_ms;
	l->nss_cfg.cache_ttl_s = p->identity.cache_ttl_s;
	l->nss_made = true;
	near_reset(l, &l->near_uid, l->nss ? l->nss_cfg.cache_ttl_s : 0);
}

void lookups_configure(struct lookups *l, const struct policy *p)
{
	if (!l->res || !resolver_cfg_equal(&p->resolver, &l->rcfg)) {
		resolver_free(l->res);
		l->res = resolver_new(l->base, &p->resolver, l->mark);
		if (!l->res)
			log_warn("resolver: cannot start; names will not be "
				 "resolved");
		resolver_cfg_clear(&l->rcfg);
		resolver_cfg_copy(&l->rcfg, &p->resolver);
		/* a new resolver knows other names: the copies go */
		__atomic_add_fetch(&l->known_gen, 1, __ATOMIC_RELEASE);
		if (l->res)
			resolver_watch_known(l->res, &l->known_gen);
		if (!l->near_names)
			near_reset(l, &l->near_names, NEAR_NAMES_TTL_S);
	}
	if (l->res)
		prefetch(l, p);

	bool new_dir = false;
	if (!l->dir_made || !directory_cfg_equal(&p->directory, &l->dcfg)) {
		new_dir = true;
		ldapdir_free(l->ldap);
		l->ldap = p->directory.enabled
			      ? ldapdir_new(l->base, &p->directory, l->mark)
			      : NULL;
		if (p->directory.enabled && !l->ldap)
			log_warn("directory %s: cannot start", p->directory.uri);
		directory_cfg_clear(&l->dcfg);
		directory_cfg_copy(&l->dcfg, &p->directory);
		l->dir_made = true;
	}
	/* the directory's answers change with the directory and with the
	 * groups asked about: so do their near copies */
	char *list = l->ldap ? named_groups(l->ldap, p) : NULL;
	/* and with the own realms, under which a name is one account or
	 * another's (common/username.h) */
	bool new_realms =
	    l->ldap && ldapdir_set_realms(l->ldap, &p->identity.realms);
	if (new_dir || new_realms || !list || !l->named_list ||
	    strcmp(list, l->named_list) != 0)
		near_reset(l, &l->near_groups, l->ldap ? l->dcfg.cache_ttl_s : 0);
	free(l->named_list);
	l->named_list = list;
	if (!l->nss_made || !nss_cfg_equal(&p->identity, &l->nss_cfg))
		nss_renew(l, p);
}

struct lookups *lookups_new(struct event_base *base, const struct policy *p,
			    uint32_t self_mark)
{
	struct lookups *l = xcalloc(1, sizeof(*l));
	LIST_INIT(&l->inflight);
	l->base = base;
	l->mark = self_mark;
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->near_lock, NULL);
	lookups_configure(l, p);
	return l;
}

void lookups_free(struct lookups *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->closing = true;
	pthread_mutex_unlock(&l->lock);
	/* cancelled lookups call back once: deliver() frees them */
	resolver_free(l->res);
	ldapdir_free(l->ldap);
	nsspool_free(l->nss);
	/* questions posted but never started (the loop has stopped) */
	struct inflight *f;
	while ((f = LIST_FIRST(&l->inflight))) {
		LIST_REMOVE(f, link);
		lookup_req_free(f->req);
		free(f);
	}
	pthread_mutex_destroy(&l->lock);
	idcache_free(l->near_uid);
	idcache_free(l->near_groups);
	idcache_free(l->near_names);
	pthread_mutex_destroy(&l->near_lock);
	free(l->named_list);
	resolver_cfg_clear(&l->rcfg);
	directory_cfg_clear(&l->dcfg);
	free(l);
}

void lookups_stats(struct lookups *l, struct lookups_stats *o)
{
	memset(o, 0, sizeof(*o));
	if (l->res) {
		struct resolver_stats r;
		resolver_stats(l->res, &r);
		o->dns_lookups = r.lookups;
		o->dns_shared = r.shared;
		o->dns_cache_hits = r.cache_hits;
		o->dns_cache_misses = r.cache_misses;
		o->dns_negative_hits = r.negative_hits;
		o->dns_timeouts = r.timeouts;
		o->dns_in_flight = r.in_flight;
		o->dns_cache_entries = r.cache_entries;
		o->prefetched_names = r.prefetched_names;
		o->dns_bounded = r.bounded;
	}
	if (l->ldap) {
		struct ldapdir_stats s;
		ldapdir_stats(l->ldap, &s);
		o->ldap_searches = s.searches;
		o->ldap_shared = s.shared;
		o->ldap_cache_hits = s.cache_hits;
		o->ldap_timeouts = s.timeouts;
		o->ldap_in_flight = s.in_flight;
		o->ldap_incomplete = s.incomplete;
	}
	if (l->nss) {
		struct nsspool_stats s;
		nsspool_stats(l->nss, &s);
		o->nss_lookups = s.lookups;
		o->nss_cache_hits = s.cache_hits;
		o->nss_timeouts = s.timeouts;
		o->nss_busy = s.busy_workers;
		o->nss_incomplete = s.incomplete;
	}
	/* answers the workers took from the near caches are cache hits */
	pthread_mutex_lock(&l->near_lock);
	o->ldap_cache_hits += l->near_group_hits;
	o->nss_cache_hits += l->near_uid_hits;
	pthread_mutex_unlock(&l->near_lock);
}
