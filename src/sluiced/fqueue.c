/*
 * fqueue.c — see fqueue.h.
 */
#include "sluiced/fqueue.h"
#include "common/log.h"

#include <time.h>

static void *run(void *arg)
{
	struct fqueue *fq = arg;
	bool warned = false;
	if (fq->first)
		fq->first(fq->arg);
	while (!__atomic_load_n(&fq->stopping, __ATOMIC_ACQUIRE)) {
		int n = nfqs_wait(fq->q, FQUEUE_WAIT_MS, &fq->overruns);
		if (n < 0) {
			if (!warned)
				log_warn("%s queue: receive", fq->name);
			warned = true;
			struct timespec ts = {0, FQUEUE_WAIT_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&fq->lock);
		if (n > 0)
			nfqs_dispatch(fq->q, fq->on_packet, fq->arg);
		if (fq->tick)
			fq->tick(fq->arg);
		pthread_mutex_unlock(&fq->lock);
		if (nfqs_unsent(fq->q))
			nfqs_flush(fq->q);
	}
	return NULL;
}

int fqueue_start(struct fqueue *fq, const struct nfqs_opts *o)
{
	fq->stopping = false;
	fq->overruns = 0;
	fq->q = nfqs_open(o);
	if (!fq->q) {
		log_warn("%s filter: queue %u", fq->name, o->num);
		return -1;
	}
	pthread_mutex_init(&fq->lock, NULL);
	if (pthread_create(&fq->thread, NULL, run, fq) != 0) {
		log_warnx("%s filter: thread", fq->name);
		nfqs_close(fq->q);
		fq->q = NULL;
		pthread_mutex_destroy(&fq->lock);
		return -1;
	}
	return 0;
}

void fqueue_stop(struct fqueue *fq)
{
	__atomic_store_n(&fq->stopping, true, __ATOMIC_RELEASE);
	pthread_join(fq->thread, NULL);
	nfqs_flush(fq->q);
	nfqs_close(fq->q);
	fq->q = NULL;
	pthread_mutex_destroy(&fq->lock);
}
