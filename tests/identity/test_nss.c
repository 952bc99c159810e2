/*
 * test_nss.c — nsspool against the real NSS, and against a test lookup
 * function that blocks like an NSS module whose LDAP server hangs.
 *
 *   uid 0 → root with groups; an unknown uid → ENOENT (then cached);
 *   a stuck uid: ETIMEDOUT at nss_timeout_ms on the loop's thread while a
 *   10 ms timer keeps firing on time and other uids are served by the other
 *   worker; a second request for the stuck uid joins the stuck job; its late
 *   answer is cached; nsspool_free while a worker is stuck returns at once
 *   (ECANCELED to the waiters) and the stuck thread exits later by itself.
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "identity/nsspool.h"
#include "looptest.h"

#define STUCK_UID 4242424u
#define UNKNOWN_UID 3999999999u

static struct event_base *base;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released; /* stuck lookups return once this is set */

/* Real NSS, except STUCK_UID, which "hangs" until released (≤ 20 s). */
static int blocking_lookup(uint32_t uid, char **user, char ***groups,
			   size_t *n)
{
	if (uid != STUCK_UID && uid != STUCK_UID + 1)
		return nsspool_nss_lookup(uid, user, groups, n);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 20;
	pthread_mutex_lock(&mu);
	while (!released)
		if (pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&mu);
	*user = xstrdup("slowpoke");
	*groups = xcalloc(1, sizeof(char *));
	(*groups)[0] = xstrdup("late");
	*n = 1;
	return 0;
}

static void release(void)
{
	pthread_mutex_lock(&mu);
	released = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

struct res {
	int calls, status;
	double at_ms;
	char user[64], groups[256];
};

static void done(void *arg, int status, const char *user,
		 const char *const *g, size_t n)
{
	struct res *r = arg;
	r->calls++;
	r->status = status;
	r->at_ms = now_ms();
	snprintf(r->user, sizeof(r->user), "%s", user ? user : "");
	r->groups[0] = '\0';
	for (size_t i = 0; i < n && strlen(r->groups) < 200; i++) {
		strcat(r->groups, i ? "," : "");
		strncat(r->groups, g[i], 40);
	}
}

/* Runs the loop until *CALLS >= WANT or MAX_MS pass. */
static void run_until(int *calls, int want, int max_ms)
{
	run_until_on(base, calls, want, max_ms, 2);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	base = event_base_new();
	/* the real NSS first, with a generous deadline (valgrind is slow to
	 * load NSS modules) */
	struct identity_cfg cfg = {.nss_workers = 2, .nss_timeout_ms = 5000,
				   .cache_ttl_s = 60};
	struct nsspool *p = nsspool_new(base, &cfg);
	CHECK(p);

	struct res r0 = {0}, ru = {0}, ru2 = {0};
	nsspool_uid(p, 0, done, &r0);
	nsspool_uid(p, UNKNOWN_UID, done, &ru);
	run_until(&r0.calls, 1, 3000);
	run_until(&ru.calls, 1, 3000);
	printf("uid 0 → %s [%s]; uid %u → %s\n", r0.user, r0.groups,
	       UNKNOWN_UID, strerror(ru.status));
	CHECK(r0.status == 0 && !strcmp(r0.user, "root"));
	CHECK(strstr(r0.groups, "root") != NULL);
	CHECK(ru.status == ENOENT);
	nsspool_uid(p, UNKNOWN_UID, done, &ru2);
	CHECK(ru2.calls == 1 && ru2.status == ENOENT); /* negative cache */
	nsspool_free(p);

	const uint32_t timeout = 300;
	cfg.nss_timeout_ms = timeout;
	p = nsspool_new(base, &cfg);
	CHECK(p);
	nsspool_set_lookup(p, blocking_lookup);
	struct res w = {0}; /* warm up the real NSS (nobody) once */
	nsspool_uid(p, 65534, done, &w);
	run_until(&w.calls, 1, 3000);

	/* a stuck NSS */
	struct ticker tk = {0};
	ticker_start(&tk, base);
	struct res s1 = {0}, s2 = {0}, o = {0};
	double t0 = now_ms();
	nsspool_uid(p, STUCK_UID, done, &s1);
	nsspool_uid(p, STUCK_UID, done, &s2);
	struct timeval fifty = {0, 50000};
	event_base_loopexit(base, &fifty);
	event_base_dispatch(base);
	double t_other = now_ms();
	nsspool_uid(p, 1, done, &o); /* daemon, not cached yet */
	run_until(&o.calls, 1, 3000);
	run_until(&s1.calls, 1, 3000);
	struct nsspool_stats st;
	nsspool_stats(p, &st);
	printf("stuck uid: %s after %.1f ms (timeout %u), both waiters %d+%d; "
	       "uid 1 → %s %s in %.1f ms meanwhile; busy workers %llu; %d "
	       "ticks, max timer lateness %.2f ms\n",
	       strerror(s1.status), s1.at_ms - t0, timeout, s1.calls, s2.calls,
	       strerror(o.status), o.user, o.at_ms - t_other,
	       (unsigned long long)st.busy_workers, tk.n, tk.max_late);
	CHECK(s1.status == ETIMEDOUT && s2.status == ETIMEDOUT);
	/* valgrind on a busy shared host: generous bounds; a loop or a pool
	 * blocked by the stuck lookup would be late by the whole timeout
	 * (300 ms) */
	CHECK(s1.at_ms - t0 >= timeout - 5 && s1.at_ms - t0 <= timeout + 200);
	CHECK(o.status == 0 && o.at_ms - t_other < 200);
	CHECK(st.busy_workers == 1 && st.timeouts == 1);
	CHECK(tk.max_late < 150);

	/* again: joins the stuck job, times out again, no second worker */
	struct res s3 = {0};
	uint64_t lookups = st.lookups;
	nsspool_uid(p, STUCK_UID, done, &s3);
	run_until(&s3.calls, 1, 3000);
	nsspool_stats(p, &st);
	CHECK(s3.status == ETIMEDOUT && st.lookups == lookups &&
	      st.busy_workers == 1);
	/* NSS comes back: the late answer is cached */
	release();
	for (int i = 0; i < 300; i++) { /* ≤ 3 s */
		nsspool_stats(p, &st);
		if (!st.busy_workers)
			break;
		struct timeval tv = {0, 10000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	struct timeval tv = {0, 20000};
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	struct res s4 = {0};
	nsspool_uid(p, STUCK_UID, done, &s4);
	printf("late answer cached: %s %s [%s] (before return: %s)\n",
	       strerror(s4.status), s4.user, s4.groups,
	       s4.calls ? "yes" : "no");
	CHECK(s4.calls == 1 && s4.status == 0 && !strcmp(s4.user, "slowpoke"));

	/* free while a worker is stuck: must not hang */
	pthread_mutex_lock(&mu);
	released = 0;
	pthread_mutex_unlock(&mu);
	struct res f1 = {0}, f2 = {0};
	nsspool_uid(p, STUCK_UID + 1, done, &f1);
	nsspool_uid(p, 2, done, &f2);
	event_base_loopexit(base, &fifty);
	event_base_dispatch(base);
	nsspool_stats(p, &st);
	CHECK(st.busy_workers >= 1);
	double tf = now_ms();
	nsspool_free(p);
	double free_ms = now_ms() - tf;
	unsigned alive = nsspool_threads_alive();
	printf("free with a stuck worker: %.2f ms, waiter %s; threads left "
	       "behind %u\n",
	       free_ms, strerror(f1.status), alive);
	CHECK(f1.calls == 1 && f1.status == ECANCELED);
	CHECK(f2.calls == 1);
	/* the stuck worker never returns by itself: joining it would hang;
	 * 1 s leaves room for a busy shared host */
	CHECK(free_ms < 1000 && alive == 1);
	release();
	for (int i = 0; i < 300 && nsspool_threads_alive(); i++) {
		struct timespec ms10 = {0, 10000000};
		nanosleep(&ms10, NULL);
	}
	CHECK(nsspool_threads_alive() == 0);
	printf("stuck thread exited after release\n");
	event_free(tk.ev);
	event_base_free(base);
	libevent_global_shutdown();
	printf("test_nss: PASS\n");
	return 0;
}
