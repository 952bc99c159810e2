/*
 * ticker.h — for the directory and NSS tests: a 10 ms timer on the event
 * loop whose worst lateness shows whether a lookup ever blocked the loop.
 */
#ifndef SLUICE_TESTS_TICKER_H
#define SLUICE_TESTS_TICKER_H

#include <event2/event.h>
#include <time.h>

/* The monotonic clock, in milliseconds. */
static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
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
