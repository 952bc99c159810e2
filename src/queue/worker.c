/*
 * worker.c — see worker.h.
 *
 * The loop is the bare NFQUEUE loop plus the decision: wait for a batch
 * (one recvmmsg), decide each packet under the lock, send the verdicts
 * (one sendmsg). Two system calls per batch and no event library in
 * between; the wait's timeout is the tick that expires deadlines.
 *
 * Answers to lookups are applied by the main thread under the same lock
 * (worker_answer); the verdicts they settle are sent by the worker, which
 * pays the re-injection (the kernel forwards the packet inside sendmsg)
 * instead of the main thread that runs every lookup. So while decisions
 * are pending the worker waits in poll() on the queue and an eventfd the
 * main thread writes; with none pending (the common case) it waits in
 * recvmmsg alone: no answer can come for a decision that does not exist.
 */
#include "queue/worker.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		int saved = errno;
		decider_free(w->dec);
		nfqs_close(w->q);
		free(w);
		errno = saved;
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	return w;
}

void worker_answer(struct worker *w, struct lookup_req *req)
{
	pthread_mutex_lock(&w->lock);
	decider_answer(w->dec, req);
	bool wake = nfqs_unsent(w->q);
	pthread_mutex_unlock(&w->lock);
	if (wake) {
		uint64_t one = 1;
		if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("queue %d: wake", w->index);
	}
}

/* Waits for packets or, while decisions are pending (WAITING), for the
 * main thread's wake-up; returns what nfqs_wait() returns. */
static int wait_batch(struct worker *w, bool waiting)
{
	if (!waiting)
		return nfqs_wait(w->q, TICK_MS, &w->overruns);
	struct pollfd pf[2] = {{.fd = nfqs_fd(w->q), .events = POLLIN},
			       {.fd = w->efd, .events = POLLIN}};
	int r = poll(pf, 2, TICK_MS);
	if (r <= 0)
		return r < 0 && errno != EINTR ? -1 : 0;
	if (pf[1].revents) {
		uint64_t v;
		if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -1;
	}
	return pf[0].revents ? nfqs_wait(w->q, 0, &w->overruns) : 0;
}

/* The worker thread: until worker_stop(), batches of packets and ticks. */
static void *run(void *arg)
{
	struct worker *w = arg;
	uint64_t next_tick = mono_ms() + TICK_MS;
	bool warned = false, waiting = false;
	while (!__atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE)) {
		int n = wait_batch(w, waiting);
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
		/* read under the lock: only this thread adds decisions */
		waiting = decider_pending(w->dec) > 0;
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
	close(w->efd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
