/*
 * curl_loop.c — libcurl's multi-socket interface driven by libevent.
 *
 * libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); we turn those into libevent
 * events and feed readiness back through curl_multi_socket_action(). After
 * every action finished transfers are collected with curl_multi_info_read()
 * and handed to the done function. The callbacks libcurl calls only record
 * what to watch: no multi function is ever called from inside one.
 *
 * Same pattern as curl's docs/examples/hiperfifo.c, with every socket
 * record kept on a list so that nothing can outlive vcurl_free().
 *
 * Connection cache: CURLMOPT_MAXCONNECTS is set explicitly (a too small
 * cache makes libcurl close and reopen connections all the time). A share
 * handle keeps TLS sessions and DNS answers across easy handles; the CA
 * store is cached per multi handle (CURLOPT_CA_CACHE_TIMEOUT, set per easy
 * handle in probe_http.c).
 */
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>

#include "verify/verify_int.h"
#include "common/util.h"

struct vsock {
	struct vcurl *c;
	curl_socket_t fd;
	struct event *ev;
	LIST_ENTRY(vsock) link;
};

struct vcurl {
	struct event_base *base;
	CURLM *multi;
	CURLSH *share;
	struct event *timer;
	vcurl_done_fn done;
	int running;
	unsigned nsocks;
	LIST_HEAD(, vsock) socks;
};

/* Collects finished transfers. DONE may add and remove handles. */
static void drain(struct vcurl *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg == CURLMSG_DONE)
			c->done(m->easy_handle, (int)m->data.result);
	}
}

static void event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vcurl *c = arg;
	int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
		     ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(c->multi, fd, action, &c->running);
	drain(c);
	if (c->running <= 0)
		evtimer_del(c->timer);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vcurl *c = arg;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &c->running);
	drain(c);
}

/* CURLMOPT_TIMERFUNCTION: -1 deletes, anything else (re)arms. */
static int multi_timer_cb(CURLM *multi, long ms, void *arg)
{
	struct vcurl *c = arg;
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	(void)multi;
	if (ms < 0)
		evtimer_del(c->timer);
	else
		evtimer_add(c->timer, &tv);
	return 0;
}

static void sock_free(struct vsock *s)
{
	LIST_REMOVE(s, link);
	s->c->nsocks--;
	if (s->ev)
		event_free(s->ev);
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: create, change or drop the event of socket FD. */
static int sock_cb(CURL *e, curl_socket_t fd, int what, void *arg,
		   void *sockp)
{
	struct vcurl *c = arg;
	struct vsock *s = sockp;
	short kind;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_free(s);
		return 0;
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->c = c;
		s->fd = fd;
		LIST_INSERT_HEAD(&c->socks, s, link);
		c->nsocks++;
		curl_multi_assign(c->multi, fd, s);
	}
	kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
		       ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
	if (s->ev) {
		event_del(s->ev);
		if (event_assign(s->ev, c->base, fd, kind, event_cb, c) < 0)
			return -1;
	} else if (!(s->ev = event_new(c->base, fd, kind, event_cb, c))) {
		return -1;
	}
	return event_add(s->ev, NULL) < 0 ? -1 : 0;
}

struct vcurl *vcurl_new(struct event_base *base, long maxconnects,
			vcurl_done_fn done)
{
	struct vcurl *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->done = done;
	LIST_INIT(&c->socks);
	if (!(c->multi = curl_multi_init()) || !(c->share = curl_share_init()) ||
	    !(c->timer = evtimer_new(base, timer_cb, c))) {
		vcurl_free(c);
		errno = ENOMEM;
		return NULL;
	}
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, maxconnects);
	return c;
}

void *vcurl_share(struct vcurl *c)
{
	return c->share;
}

int vcurl_add(struct vcurl *c, void *easy)
{
	if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void vcurl_remove(struct vcurl *c, void *easy)
{
	curl_multi_remove_handle(c->multi, easy);
}

unsigned vcurl_nsockets(const struct vcurl *c)
{
	return c->nsocks;
}

/* Every easy handle must have been removed and cleaned up before. */
void vcurl_free(struct vcurl *c)
{
	struct vsock *s;

	if (!c)
		return;
	if (c->multi)
		curl_multi_cleanup(c->multi); /* closes cached connections */
	while ((s = LIST_FIRST(&c->socks)))
		sock_free(s);
	if (c->share)
		curl_share_cleanup(c->share);
	if (c->timer)
		event_free(c->timer);
	free(c);
}
