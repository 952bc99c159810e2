/*
 * nsspool.h — uid → user name and groups through NSS, off the event loop.
 *
 * Model
 *   getpwuid_r(), getgrouplist() and getgrgid_r() may block for as long as
 *   NSS likes (sssd, nslcd, LDAP behind them: seeds/003, ISA's threads stuck
 *   in LookupAccountName). They run on a small pool of threads
 *   (cfg->nss_workers, default 4, at most NSSPOOL_MAX_WORKERS), fed by a
 *   bounded queue (NSSPOOL_QUEUE_MAX jobs); the event loop never calls NSS.
 *
 *   nsspool_uid() asks "who is UID and in which groups?". Requests for a uid
 *   whose lookup is in flight join it. Each lookup has a deadline of
 *   cfg->nss_timeout_ms (a libevent timer on the base): at the deadline
 *   every waiter gets ETIMEDOUT on the base's thread, even if a worker is
 *   still inside NSS; a job still queued is dropped; a job still running is
 *   left to its worker, and its late answer is cached when it comes (a new
 *   request for that uid meanwhile joins the running job instead of tying up
 *   a second worker). Answers (a user, and ENOENT for an unknown uid) are
 *   cached for cfg->cache_ttl_s seconds (0 = no cache); ETIMEDOUT, EIO and
 *   ENOBUFS never are.
 *
 *   Results come back to the base's thread through an eventfd watched by an
 *   event on the base, so the base needs no evthread_use_pthreads().
 *
 * Threads: the pool's workers only run the NSS calls and touch a
 *   mutex-protected queue. Everything else — every API call and every
 *   callback — happens on the thread running the event_base. Callbacks may
 *   call nsspool_uid() and nsspool_cancel() but never nsspool_free().
 *
 * Free: nsspool_free() never waits for NSS. Idle workers are joined; a
 * worker stuck inside NSS is detached and left behind: when NSS returns it
 * sees the pool is gone, drops its answer, releases the shared state (the
 * last thread out frees it) and exits.
 */
#ifndef SLUICE_NSSPOOL_H
#define SLUICE_NSSPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct event_base;
struct nsspool;

#define NSSPOOL_MAX_WORKERS 64
#define NSSPOOL_QUEUE_MAX 256	 /* jobs waiting for a worker */
#define NSSPOOL_MAX_GROUPS 1024	 /* groups kept per user */
#define NSSPOOL_CACHE_MAX 65536	 /* cached uids (LRU beyond) */

/*
 * The answer for one uid. STATUS is 0 (USER and N GROUPS, valid during the
 * call only), EOVERFLOW (USER known, the group list incomplete — more than
 * NSSPOOL_MAX_GROUPS, or NSS failed to name a group — so the groups are
 * unknown, never a shorter list), ENOENT (no such uid), ETIMEDOUT
 * (deadline), ENOBUFS (queue full), EIO (NSS failed) or ECANCELED
 * (nsspool_free). USER is NULL unless STATUS is 0 or EOVERFLOW; N is 0
 * unless STATUS is 0.
 */
typedef void (*uid_cb)(void *arg, int status, const char *user,
		       const char *const *groups, size_t n);

/*
 * Creates a pool on BASE with CFG (copied) and starts its workers. Returns
 * NULL with errno set (from eventfd or pthread_create) on failure.
 */
struct nsspool *nsspool_new(struct event_base *base,
			    const struct identity_cfg *cfg);

/* Stops the pool without waiting for NSS (see above); each pending callback
 * runs once with ECANCELED (and must not call into P). NULL is a no-op. */
void nsspool_free(struct nsspool *p);

/*
 * Asks for UID. A cached answer, or ENOBUFS when the queue is full, calls CB
 * before returning; otherwise CB runs exactly once later on the base's
 * thread, unless nsspool_cancel() removes it first. Returns 0, or -1 with
 * errno ESHUTDOWN (called while freeing); CB is not called then.
 */
int nsspool_uid(struct nsspool *p, uint32_t uid, uid_cb cb, void *arg);

/* Removes every pending request of (CB, ARG): its callback will not run.
 * The lookup goes on (its answer is cached). */
void nsspool_cancel(struct nsspool *p, uid_cb cb, void *arg);

struct nsspool_stats {
	uint64_t lookups;      /* jobs handed to the workers */
	uint64_t shared;       /* requests that joined a lookup in flight */
	uint64_t cache_hits;   /* requests answered from the cache */
	uint64_t timeouts;     /* lookups that hit their deadline */
	uint64_t busy_workers; /* workers inside NSS now (gauge) */
	uint64_t queued;       /* jobs waiting for a worker now (gauge) */
	uint64_t incomplete;   /* answers whose group list was incomplete */
};
void nsspool_stats(struct nsspool *p, struct nsspool_stats *out);

/* ---- test hooks --------------------------------------------------------- */

/*
 * The function a worker calls for a uid: on 0 it sets *USER and *GROUPS
 * (N entries, each malloc'd, the vector too) — the pool frees them; returns
 * ENOENT for an unknown uid, EIO for an NSS failure, EOVERFLOW (with *USER
 * set, no groups) when the group list is incomplete. Runs on a worker
 * thread. The default is nsspool_nss_lookup().
 */
typedef int (*nsspool_lookup_fn)(uint32_t uid, char **user, char ***groups,
				 size_t *n);
int nsspool_nss_lookup(uint32_t uid, char **user, char ***groups, size_t *n);

/* Replaces the lookup function (before the first request). For tests. */
void nsspool_set_lookup(struct nsspool *p, nsspool_lookup_fn fn);
/* Replaces the clock used for cache expiry (monotonic ms). For tests. */
void nsspool_set_clock(struct nsspool *p, uint64_t (*now_ms)(void *arg),
		       void *arg);
/* Worker threads of every pool still alive (stuck ones included). */
unsigned nsspool_threads_alive(void);

#endif
