/*
 * looptest.h — for the directory and NSS tests (test_ldap, test_nss): a
 * check that ends the test, the event loop run until answers come, and a
 * 10 ms timer whose worst lateness shows whether a lookup ever blocked the
 * loop.
 */
#ifndef SLUICE_TESTS_LOOPTEST_H
#define SLUICE_TESTS_LOOPTEST_H

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Ends the test (exit 1) with the place and text of C when C is false. */
#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                \
			exit(1);                                              \
		}                                                             \
	} while (0)

/* The monotonic clock, in milliseconds. */
static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs BASE's loop, in slices of SLICE_MS, until *CALLS >= WANT or MAX_MS
 * pass. */
static inline void run_until_on(struct event_base *base, int *calls,
				int want, int max_ms, int slice_ms)
{
	double end = now_ms() + max_ms;
	while (*calls < want && now_ms() < end) {
		struct timeval tv = {0, slice_ms * 1000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

struct ticker {
	struct event *ev;
	double last, max_late; /* ms: the last tick, the worst lateness */
	int n;		       /* ticks so far */
};

static inline void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ticker *t = arg;
	double n = now_ms(), late = n - t->last - 10.0;
	if (t->n++ && late > t->max_late)
		t->max_late = late;
	t->last = n;
}

/* Starts T (zeroed) ticking every 10 ms on BASE; event_free(T->ev) ends
 * it. */
static inline void ticker_start(struct ticker *t, struct event_base *base)
{
	struct timeval ten = {0, 10000};
	t->ev = event_new(base, -1, EV_PERSIST, tick, t);
	t->last = now_ms();
	event_add(t->ev, &ten);
}

#endif
