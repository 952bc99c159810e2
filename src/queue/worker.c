/*
 * worker.c — see worker.h.
 *
 * The loop is the bare NFQUEUE loop plus the decision: wait for a batch
 * (one recvmmsg), decide each packet under the lock, send the verdicts
 * (one sendmsg). Two system calls per batch and no event library in
 * between; the wait's timeout is the tick that expires deadlines. Answers
 * to lookups are applied by the main thread under the same lock, so the
 * worker is never woken for them.
 */
#include "queue/worker.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 20

void worker_verdict(void *arg, uint32_t id, uint32_t verdict, bool set_mark,
		    uint32_t mark)
{
	struct worker *w = arg;
	nfqs_verdict(w->q, id, verdict, set_mark, mark);
	if (w->last_of_batch) /* send now, before the bookkeeping */
		worker_flush(w);
}

void worker_flush(struct worker *w)
{
	if (nfqs_flush(w->q) < 0)
		w->send_errors++;
}

static void on_packet(void *arg, const struct qpacket *pkt)
{
	struct worker *w = arg;
	w->last_of_batch = pkt->last;
	decider_packet(w->dec, pkt);
	w->last_of_batch = false;
}

struct worker *worker_new(int index, const struct nfqs_opts *o,
			  const struct decide_env *env,
			  const struct decide_cfg *cfg)
{
	struct worker *w = xcalloc(1, sizeof(*w));
	w->index = index;
	w->q = nfqs_open(o);
	if (!w->q) {
		int saved = errno;
		free(w);
		errno = saved;
		return NULL;
	}
	struct decide_env e = *env;
	e.arg = w;
	e.verdict = worker_verdict;
	w->dec = decider_new(&e, cfg);
	pthread_mutex_init(&w->lock, NULL);
	return w;
}

/* The worker thread: until worker_stop(), batches of packets and ticks. */
static void *run(void *arg)
{
	struct worker *w = arg;
	uint64_t next_tick = mono_ms() + TICK_MS;
	bool warned = false;
	while (!__atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE)) {
		int n = nfqs_wait(w->q, TICK_MS, &w->overruns);
		if (n < 0) {
			if (!warned)
				log_warn("queue %d: receive", w->index);
			warned = true;
			usleep(TICK_MS * 1000); /* never spin on a dead socket */
		}
		uint64_t now = mono_ms();
		pthread_mutex_lock(&w->lock);
		if (n > 0)
			nfqs_dispatch(w->q, on_packet, w);
		if (now >= next_tick) {
			decider_tick(w->dec);
			next_tick = now + TICK_MS;
		}
		worker_flush(w);
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

int worker_start(struct worker *w)
{
	if (pthread_create(&w->thread, NULL, run, w) != 0)
		return -1;
	w->running = true;
	return 0;
}

void worker_stop(struct worker *w)
{
	if (!w)
		return;
	if (w->running) {
		/* the thread sees the flag within one wait (TICK_MS) */
		__atomic_store_n(&w->stopping, true, __ATOMIC_RELEASE);
		pthread_join(w->thread, NULL);
	}
	decider_free(w->dec); /* every pending packet: the fail verdict */
	nfqs_close(w->q);      /* flushes those verdicts */
	pthread_mutex_destroy(&w->lock);
	free(w);
}
