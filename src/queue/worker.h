/*
 * worker.h — one thread per queue: its NFQUEUE socket, its pending
 * decisions and its verdict path. The main thread reads a worker's state
 * and applies lookup answers under the worker's lock (briefly); the worker
 * sends the verdicts.
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include "decide/decide.h"
#include "queue/nfq.h"

#include <pthread.h>
#include <stdint.h>

struct worker {
	int index;
	struct nfqs *q;
	struct decider *dec;
	pthread_t thread;
	pthread_mutex_t lock; /* guards dec and q's verdicts (main thread) */
	int efd; /* eventfd: verdicts the main thread settled wait to be sent */
	uint64_t overruns, send_errors;
	bool running;
	bool stopping; /* set by worker_stop(), read atomically */
	bool last_of_batch; /* deciding a batch's last packet: verdicts go
			     * out at once, the bookkeeping after */
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

/* Main thread: applies lookup answer REQ (freed) to W's decisions; the
 * worker sends the verdicts it settles. */
void worker_answer(struct worker *w, struct lookup_req *req);

/* Sends W's batched verdicts now (call with W->lock held). */
void worker_flush(struct worker *w);

/* Sends W's batched verdicts; the decide_env verdict callback for W. */
void worker_verdict(void *arg, uint32_t id, uint32_t verdict, bool set_mark,
		    uint32_t mark);

#endif
