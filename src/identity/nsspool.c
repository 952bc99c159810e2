/*
 * nsspool.c — see nsspool.h.
 *
 * Two sides. The workers share a refcounted `core` (mutex, condition, job
 * queue, done list, eventfd) that outlives the pool while a detached worker
 * is still stuck in NSS. Everything else (lookups, waiters, deadlines, the
 * cache) is the base thread's. A job moves QUEUED → RUNNING → DONE under the
 * core mutex; its `lk` (the lookup waiting for it, NULL once orphaned) is
 * touched by the base thread only.
 */
#include "identity/nsspool.h"
#include "common/flight.h"
#include "common/log.h"
#include "common/util.h"
#include "identity/idcache.h"

#include <errno.h>
#include <event2/event.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#define NSS_BUF_MAX (1u << 20) /* largest getpw*_r / getgr*_r buffer */

static atomic_uint threads_alive;

/* ---- types ---------------------------------------------------------------- */

enum jstate { J_QUEUED, J_RUNNING, J_DONE };

struct job {
	uint32_t uid;
	enum jstate st; /* core mutex */
	int status;	/* the answer, written by the worker */
	char *user;
	char **groups;
	size_t ngroups;
	STAILQ_ENTRY(job) qlink; /* c->queue or c->done (core mutex) */
	/* base thread only */
	struct lookup *lk;
	LIST_ENTRY(job) alink; /* p->jobs: the pool's unreaped jobs */
};

struct wslot {
	pthread_t tid;
	bool busy; /* core mutex */
};

struct core {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs; /* the pool + each live worker */
	bool shutdown;
	int efd;
	STAILQ_HEAD(, job) queue; /* waiting for a worker, oldest first */
	STAILQ_HEAD(, job) done;  /* answered, not yet collected */
	size_t nqueued;
	unsigned busy;
	nsspool_lookup_fn fn;
	unsigned nworkers;
	struct wslot slot[NSSPOOL_MAX_WORKERS];
};

struct lookup {
	struct flight fl; /* in p->inflight until done; its waiters */
	struct nsspool *p;
	uint32_t uid;	  /* the key */
	struct job *job; /* NULL when none */
	struct event *timer;
	bool done;
	LIST_ENTRY(lookup) link; /* p->lookups */
};

struct nsspool {
	struct event_base *base;
	struct core *core;
	uint32_t timeout_ms;
	struct event *ev; /* the eventfd */
	LIST_HEAD(, job) jobs;
	LIST_HEAD(, lookup) lookups;
	struct flight_table inflight; /* the lookups not done, by uid */
	struct idcache *cache; /* keyed by the uid in decimal */
	struct nsspool_stats st;
	bool closing;
	struct msclock clock;
};

/* ---- helpers -------------------------------------------------------------- */

static uint64_t now(const struct nsspool *p)
{
	return msclock_now(&p->clock);
}

void nsspool_set_clock(struct nsspool *p, uint64_t (*now_ms)(void *arg),
		       void *arg)
{
	p->clock = (struct msclock){now_ms, now_ms ? arg : NULL};
}

void nsspool_set_lookup(struct nsspool *p, nsspool_lookup_fn fn)
{
	pthread_mutex_lock(&p->core->mu);
	p->core->fn = fn ? fn : nsspool_nss_lookup;
	pthread_mutex_unlock(&p->core->mu);
}

unsigned nsspool_threads_alive(void)
{
	return atomic_load(&threads_alive);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void job_free(struct job *j)
{
	free(j->user);
	free_strv(j->groups, j->ngroups);
	free(j);
}

/* ---- NSS (worker threads) ------------------------------------------------- */

/* Name of GID into a new string, or NULL when it has none. */
/* The name of GID into *NAME (NULL: the gid has no group entry). Returns
 * 0, or -1 when NSS failed (the group may exist: the list is not known). */
static int group_name(gid_t gid, char **name)
{
	struct group gr, *res = NULL;
	size_t len = 1024;
	char *buf = NULL;
	int rc;
	*name = NULL;
	for (;;) {
		buf = xrealloc(buf, len);
		rc = getgrgid_r(gid, &gr, buf, len, &res);
		if (rc == ERANGE && len < NSS_BUF_MAX) {
			len *= 2;
			continue;
		}
		if (rc == 0 && res)
			*name = xstrdup(gr.gr_name);
		break;
	}
	free(buf);
	/* "not found" as NSS modules say it (getgrgid_r(3)) */
	return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF ||
		       rc == EPERM
		   ? 0
		   : -1;
}

int nsspool_nss_lookup(uint32_t uid, char **user, char ***groups, size_t *n)
{
	struct passwd pw, *res = NULL;
	size_t len = 1024;
	char *buf = NULL;
	int rc;
	for (;;) {
		buf = xrealloc(buf, len);
		rc = getpwuid_r((uid_t)uid, &pw, buf, len, &res);
		if (rc == ERANGE && len < NSS_BUF_MAX) {
			len *= 2;
			continue;
		}
		break;
	}
	if (rc == 0 && !res) {
		free(buf);
		return ENOENT;
	}
	if (rc != 0) {
		free(buf);
		/* "not found" as some NSS modules say it */
		return rc == ENOENT || rc == ESRCH || rc == EBADF ||
			       rc == EPERM
			   ? ENOENT
			   : EIO;
	}
	*user = xstrdup(pw.pw_name);
	gid_t primary = pw.pw_gid;
	free(buf);

	/* the whole list or none: a list cut at NSSPOOL_MAX_GROUPS, or a
	 * group NSS failed to name, is not the user's groups */
	int ng = 32;
	gid_t *gids = NULL;
	bool complete = false;
	for (int tries = 0; tries < 8 && !complete; tries++) {
		gids = xrealloc(gids, (size_t)ng * sizeof(gid_t));
		int want = ng;
		if (getgrouplist(*user, primary, gids, &want) >= 0) {
			ng = want;
			complete = true;
		} else if (ng >= NSSPOOL_MAX_GROUPS) {
			break; /* more groups than kept */
		} else {
			ng = want > ng ? want : ng * 2;
			if (ng > NSSPOOL_MAX_GROUPS)
				ng = NSSPOOL_MAX_GROUPS;
		}
	}
	*groups = NULL;
	*n = 0;
	for (int i = 0; complete && i < ng; i++) {
		char *name;
		if (group_name(gids[i], &name) < 0)
			complete = false;
		else if (name)
			VEC_PUSH(*groups, *n, name);
	}
	free(gids);
	if (!complete) {
		for (size_t i = 0; i < *n; i++)
			free((*groups)[i]);
		free(*groups);
		*groups = NULL;
		*n = 0;
		return EOVERFLOW;
	}
	return 0;
}

static void core_unref_locked_and_unlock(struct core *c)
{
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (last) {
		close(c->efd);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
}

struct wstart {
	struct core *c;
	unsigned idx;
};

static void *worker(void *arg)
{
	struct wstart ws = *(struct wstart *)arg;
	free(arg);
	struct core *c = ws.c;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->shutdown && STAILQ_EMPTY(&c->queue))
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->shutdown)
			break;
		struct job *j = STAILQ_FIRST(&c->queue);
		STAILQ_REMOVE_HEAD(&c->queue, qlink);
		c->nqueued--;
		j->st = J_RUNNING;
		c->busy++;
		c->slot[ws.idx].busy = true;
		nsspool_lookup_fn fn = c->fn;
		pthread_mutex_unlock(&c->mu);

		j->status = fn(j->uid, &j->user, &j->groups, &j->ngroups);

		pthread_mutex_lock(&c->mu);
		c->busy--;
		c->slot[ws.idx].busy = false;
		j->st = J_DONE;
		if (c->shutdown) { /* the pool is gone: nobody wants it */
			job_free(j);
			break;
		}
		STAILQ_INSERT_TAIL(&c->done, j, qlink);
		uint64_t one = 1;
		if (write(c->efd, &one, sizeof(one)) < 0) {
			/* counter full cannot happen; nothing to do */
		}
	}
	core_unref_locked_and_unlock(c);
	atomic_fetch_sub(&threads_alive, 1);
	return NULL;
}

/* ---- cache (base thread) -------------------------------------------------- */

/* The cache key of UID: its decimal digits. */
static const char *uid_key(uint32_t uid, char buf[static 12])
{
	snprintf(buf, 12, "%u", uid);
	return buf;
}

/* Caches J's answer when it is one (found or ENOENT). */
static void cache_put(struct nsspool *p, const struct job *j)
{
	if (j->status != 0 && j->status != ENOENT && j->status != EOVERFLOW)
		return;
	char key[12];
	idcache_put(p->cache, uid_key(j->uid, key), now(p), j->status,
		    j->status == ENOENT ? NULL : j->user, j->groups,
		    j->status ? 0 : j->ngroups);
}

/* ---- lookups (base thread) ------------------------------------------------ */

/* Ends LK with STATUS (and J's answer when STATUS is 0): each waiter once,
 * popped one at a time so a callback may cancel others. Frees LK. */
static void lookup_finish(struct lookup *lk, int status, const struct job *j)
{
	if (lk->done)
		return;
	lk->done = true;
	flight_land(&lk->fl);
	evtimer_del(lk->timer);
	if (lk->job)
		lk->job->lk = NULL;
	struct flight_waiter *w;
	while ((w = flight_pop(&lk->fl))) {
		uid_cb cb = (uid_cb)w->fn;
		void *arg = w->arg;
		free(w);
		if (status == 0)
			cb(arg, 0, j->user, (const char *const *)j->groups,
			   j->ngroups);
		else if (status == EOVERFLOW)
			cb(arg, status, j->user, NULL, 0);
		else
			cb(arg, status, NULL, NULL, 0);
	}
	LIST_REMOVE(lk, link);
	event_free(lk->timer);
	free(lk);
}

static void job_unlink(struct job *j)
{
	LIST_REMOVE(j, alink);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct lookup *lk = arg;
	struct nsspool *p = lk->p;
	struct job *j = lk->job;
	p->st.timeouts++;
	if (j) {
		bool drop = false;
		struct core *c = p->core;
		pthread_mutex_lock(&c->mu);
		if (j->st == J_QUEUED) { /* never started: take it back */
			STAILQ_REMOVE(&c->queue, j, job, qlink);
			c->nqueued--;
			drop = true;
		}
		pthread_mutex_unlock(&c->mu);
		lk->job = NULL;
		j->lk = NULL; /* running: orphaned, reaped later */
		if (drop) {
			job_unlink(j);
			job_free(j);
		}
	}
	lookup_finish(lk, ETIMEDOUT, NULL);
}

/* The eventfd: collect finished jobs. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct nsspool *p = arg;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a spurious wakeup */
	}
	STAILQ_HEAD(, job) done = STAILQ_HEAD_INITIALIZER(done);
	pthread_mutex_lock(&p->core->mu);
	STAILQ_CONCAT(&done, &p->core->done); /* empties core->done */
	pthread_mutex_unlock(&p->core->mu);
	struct job *j;
	while ((j = STAILQ_FIRST(&done))) {
		STAILQ_REMOVE_HEAD(&done, qlink);
		job_unlink(j);
		cache_put(p, j);
		if (j->status == EOVERFLOW) {
			p->st.incomplete++;
			log_warnx("nss: the groups of uid %u (%s) are incomplete; "
				  "treated as unknown", j->uid,
				  j->user ? j->user : "?");
		}
		if (j->lk) {
			j->lk->job = NULL;
			lookup_finish(j->lk, j->status, j);
		}
		job_free(j);
	}
}

/* ---- public --------------------------------------------------------------- */

struct nsspool *nsspool_new(struct event_base *base,
			    const struct identity_cfg *cfg)
{
	struct core *c = xcalloc(1, sizeof(*c));
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		free(c);
		return NULL;
	}
	STAILQ_INIT(&c->queue);
	STAILQ_INIT(&c->done);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->fn = nsspool_nss_lookup;
	c->refs = 1;
	struct nsspool *p = xcalloc(1, sizeof(*p));
	LIST_INIT(&p->jobs);
	LIST_INIT(&p->lookups);
	p->base = base;
	p->core = c;
	p->timeout_ms = cfg->nss_timeout_ms ? cfg->nss_timeout_ms : 2000;
	p->cache = idcache_new(cfg->cache_ttl_s, NSSPOOL_CACHE_MAX);
	p->ev = event_new(base, c->efd, EV_READ | EV_PERSIST, on_done, p);
	event_add(p->ev, NULL);
	unsigned n = cfg->nss_workers ? cfg->nss_workers : 4;
	if (n > NSSPOOL_MAX_WORKERS)
		n = NSSPOOL_MAX_WORKERS;
	pthread_mutex_lock(&c->mu);
	for (unsigned i = 0; i < n; i++) {
		struct wstart *ws = xmalloc(sizeof(*ws));
		*ws = (struct wstart){c, i};
		atomic_fetch_add(&threads_alive, 1);
		int rc = pthread_create(&c->slot[i].tid, NULL, worker, ws);
		if (rc) {
			atomic_fetch_sub(&threads_alive, 1);
			free(ws);
			pthread_mutex_unlock(&c->mu);
			nsspool_free(p);
			errno = rc;
			return NULL;
		}
		c->nworkers++;
		c->refs++;
	}
	pthread_mutex_unlock(&c->mu);
	return p;
}

void nsspool_free(struct nsspool *p)
{
	if (!p)
		return;
	struct core *c = p->core;
	p->closing = true;
	bool busy[NSSPOOL_MAX_WORKERS];
	pthread_mutex_lock(&c->mu);
	c->shutdown = true;
	pthread_cond_broadcast(&c->cv);
	/* jobs queued or done are ours; a running one is its worker's now */
	for (struct job *j = LIST_FIRST(&p->jobs), *nx; j; j = nx) {
		nx = LIST_NEXT(j, alink);
		if (j->lk)
			j->lk->job = NULL;
		if (j->st != J_RUNNING)
			job_free(j);
	}
	LIST_INIT(&p->jobs);
	STAILQ_INIT(&c->queue);
	STAILQ_INIT(&c->done);
	c->nqueued = 0;
	for (unsigned i = 0; i < c->nworkers; i++)
		busy[i] = c->slot[i].busy;
	pthread_mutex_unlock(&c->mu);

	struct lookup *lk;
	while ((lk = LIST_FIRST(&p->lookups)))
		lookup_finish(lk, ECANCELED, NULL);
	for (unsigned i = 0; i < c->nworkers; i++) {
		if (busy[i]) {
			log_warnx("nss: a worker is stuck in NSS; leaving it");
			pthread_detach(c->slot[i].tid);
		} else {
			pthread_join(c->slot[i].tid, NULL);
		}
	}
	event_free(p->ev);
	idcache_free(p->cache);
	flight_table_fini(&p->inflight);
	pthread_mutex_lock(&c->mu);
	core_unref_locked_and_unlock(c);
	free(p);
}

int nsspool_uid(struct nsspool *p, uint32_t uid, uid_cb cb, void *arg)
{
	if (p->closing) {
		errno = ESHUTDOWN;
		return -1;
	}
	char key[12];
	const struct idanswer *e = idcache_get(p->cache, uid_key(uid, key),
					       now(p));
	if (e) {
		p->st.cache_hits++;
		cb(arg, e->status, e->user,
		   e->status ? NULL : (const char *const *)e->groups,
		   e->status ? 0 : e->ngroups);
		return 0;
	}
	struct flight *f = flight_find(&p->inflight, &uid, sizeof(uid));
	if (f) {
		flight_join(f, xcalloc(1, sizeof(struct flight_waiter)),
			    (flight_fn)cb, arg);
		p->st.shared++;
		return 0;
	}
	/* an orphaned job for UID still in a worker: wait for it instead */
	struct job *j = LIST_FIRST(&p->jobs);
	while (j && !(j->uid == uid && !j->lk))
		j = LIST_NEXT(j, alink);
	if (j) {
		p->st.shared++;
	} else {
		j = xcalloc(1, sizeof(*j));
		j->uid = uid;
		j->st = J_QUEUED;
		struct core *c = p->core;
		pthread_mutex_lock(&c->mu);
		bool full = c->nqueued >= NSSPOOL_QUEUE_MAX;
		if (!full) {
			STAILQ_INSERT_TAIL(&c->queue, j, qlink);
			c->nqueued++;
			pthread_cond_signal(&c->cv);
		}
		pthread_mutex_unlock(&c->mu);
		if (full) {
			free(j);
			cb(arg, ENOBUFS, NULL, NULL, 0);
			return 0;
		}
		p->st.lookups++;
		LIST_INSERT_HEAD(&p->jobs, j, alink);
	}
	struct lookup *lk = xcalloc(1, sizeof(*lk));
	lk->p = p;
	lk->uid = uid;
	lk->job = j;
	flight_start(&p->inflight, &lk->fl, &lk->uid, sizeof(lk->uid));
	flight_join(&lk->fl, xcalloc(1, sizeof(struct flight_waiter)),
		    (flight_fn)cb, arg);
	j->lk = lk;
	lk->timer = evtimer_new(p->base, on_deadline, lk);
	struct timeval tv = {.tv_sec = p->timeout_ms / 1000,
			     .tv_usec = (p->timeout_ms % 1000) * 1000};
	evtimer_add(lk->timer, &tv);
	LIST_INSERT_HEAD(&p->lookups, lk, link);
	return 0;
}

void nsspool_cancel(struct nsspool *p, uid_cb cb, void *arg)
{
	struct lookup *lk;
	LIST_FOREACH(lk, &p->lookups, link) {
		struct flight_waiter *w;
		while ((w = flight_waiter_find(&lk->fl, (flight_fn)cb, arg))) {
			flight_leave(&lk->fl, w);
			free(w);
		}
	}
}

void nsspool_stats(struct nsspool *p, struct nsspool_stats *out)
{
	*out = p->st;
	pthread_mutex_lock(&p->core->mu);
	out->busy_workers = p->core->busy;
	out->queued = p->core->nqueued;
	pthread_mutex_unlock(&p->core->mu);
}
