/*
 * fqueue.h — the queue thread of an application filter (dnsfilter.c,
 * ftpfilter.c): one NFQUEUE socket read by one thread, which dispatches
 * each batch to the filter under the filter's lock and then flushes the
 * verdicts. The thread looks at its stop flag every FQUEUE_WAIT_MS; a
 * receive error is logged once and retried after that long.
 */
#ifndef SLUICED_FQUEUE_H
#define SLUICED_FQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "queue/nfq.h"

#define FQUEUE_WAIT_MS 200

struct fqueue {
	/* set by the filter before fqueue_start() */
	const char *name;	  /* "dns", "ftp": for the log */
	nfqs_packet_fn on_packet; /* each packet of a batch, under LOCK */
	void (*first)(void *arg); /* in the thread before the loop; or NULL */
	void (*tick)(void *arg);  /* after every wake-up, under LOCK; or NULL */
	void *arg;
	/* the queue's own */
	struct nfqs *q;	      /* for the filter's verdicts (in on_packet) */
	pthread_mutex_t lock; /* the filter's state: batches, ticks, readers */
	pthread_t thread;
	bool stopping; /* atomic */
	uint64_t overruns;
};

/* Opens the queue of O and starts FQ's thread (FQ's first five fields
 * set). 0, or -1 (logged, nothing left open) when the queue cannot be
 * opened or the thread started. */
int fqueue_start(struct fqueue *fq, const struct nfqs_opts *o);
/* Stops the thread, sends the verdicts still unsent, closes the queue and
 * destroys the lock. Only after a successful fqueue_start(). */
void fqueue_stop(struct fqueue *fq);

#endif
