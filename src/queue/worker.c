/* worker.c — see worker.h. */
#include "queue/worker.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 20

void worker_verdict(void *arg, uint32_t id, uint32_t verdict, bool set_mark,
		    uint32_t mark)
{
	struct worker *w = arg;
	nfqs_verdict(w->q, id, verdict, set_mark, mark);
}

void worker_flush(struct worker *w)
{
	if (nfqs_flush(w->q) < 0)
		w->send_errors++;
}

static void on_packet(void *arg, const struct qpacket *pkt)
{
	struct worker *w = arg;
	decider_packet(w->dec, pkt);
}

/* Readable queue socket: take every packet, decide, flush verdicts. */
static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	int n = nfqs_receive(w->q, on_packet, w, &w->overruns);
	if (nfqs_flush(w->q) < 0)
		w->send_errors++;
	pthread_mutex_unlock(&w->lock);
	if (n < 0)
		log_warn("queue %d: receive", w->index);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	decider_tick(w->dec);
	if (nfqs_flush(w->q) < 0)
		w->send_errors++;
	pthread_mutex_unlock(&w->lock);
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
	w->base = event_base_new();
	w->ev_read = event_new(w->base, nfqs_fd(w->q), EV_READ | EV_PERSIST,
			       on_read, w);
	w->ev_tick = event_new(w->base, -1, EV_PERSIST, on_tick, w);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(w->ev_read, NULL);
	event_add(w->ev_tick, &tv);
	return w;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	event_base_dispatch(w->base);
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
		event_base_loopbreak(w->base);
		pthread_join(w->thread, NULL);
	}
	event_free(w->ev_read);
	event_free(w->ev_tick);
	event_base_free(w->base);
	decider_free(w->dec); /* every pending packet: the fail verdict */
	nfqs_close(w->q);      /* flushes those verdicts */
	pthread_mutex_destroy(&w->lock);
	free(w);
}
