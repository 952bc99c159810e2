/*
 * worker.h — one thread per queue: its own event loop, its NFQUEUE socket,
 * its pending decisions and its verdict path. The control thread reads a
 * worker's state under the worker's lock (briefly, for listings).
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include "decide/decide.h"
#include "queue/nfq.h"

#include <pthread.h>
#include <stdint.h>

struct event_base;
struct event;

struct worker {
	int index;
	struct nfqs *q;
	struct decider *dec;
	struct event_base *base;
	struct event *ev_read, *ev_tick;
	pthread_t thread;
	pthread_mutex_t lock; /* guards dec against the control thread */
	uint64_t overruns, send_errors;
	bool running;
};

/* Opens queue O->num and prepares a worker around it; NULL with errno. */
struct worker *worker_new(int index, const struct nfqs_opts *o,
			  const struct decide_env *env,
			  const struct decide_cfg *cfg);
/* Starts the thread. 0 or -1. */
int worker_start(struct worker *w);
/* Stops the thread, answers every pending packet with the fail mode,
 * closes the queue and frees W. */
void worker_stop(struct worker *w);

/* Sends W's batched verdicts now (call with W->lock held). */
void worker_flush(struct worker *w);

/* Sends W's batched verdicts; the decide_env verdict callback for W. */
void worker_verdict(void *arg, uint32_t id, uint32_t verdict, bool set_mark,
		    uint32_t mark);

#endif
