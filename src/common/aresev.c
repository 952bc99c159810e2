/*
 * aresev.c — see aresev.h.
 */
#include "common/aresev.h"
#include "common/util.h"

#include <stdlib.h>

struct aresev_sock {
	SLIST_ENTRY(aresev_sock) link;
	struct aresev *a;
	ares_socket_t fd;
	struct event *ev;
};

void aresev_init(struct aresev *a, struct event_base *base,
		 void (*after)(void *arg), void *arg)
{
	a->base = base;
	a->ch = NULL;
	a->after = after;
	a->arg = arg;
	SLIST_INIT(&a->socks);
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct aresev *a = ((struct aresev_sock *)arg)->a;
	/* ARG may be freed inside ares_process_fd (socket closed) */
	ares_process_fd(a->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	if (a->after)
		a->after(a->arg);
}

static void sock_drop(struct aresev_sock *s)
{
	if (s->ev)
		event_free(s->ev);
	free(s);
}

void aresev_sock_state(void *data, ares_socket_t fd, int readable,
		       int writable)
{
	struct aresev *a = data;
	struct aresev_sock *s;
	SLIST_FOREACH(s, &a->socks, link)
		if (s->fd == fd)
			break;
	if (!readable && !writable) {
		if (s) {
			SLIST_REMOVE(&a->socks, s, aresev_sock, link);
			sock_drop(s);
		}
		return;
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->a = a;
		s->fd = fd;
		SLIST_INSERT_HEAD(&a->socks, s, link);
	}
	if (s->ev)
		event_free(s->ev);
	short ev = EV_PERSIST | (readable ? EV_READ : 0) |
		   (writable ? EV_WRITE : 0);
	s->ev = event_new(a->base, fd, ev, on_sock, s);
	if (!s->ev)
		abort();
	event_add(s->ev, NULL);
}

void aresev_fini(struct aresev *a)
{
	struct aresev_sock *s;
	while ((s = SLIST_FIRST(&a->socks))) {
		SLIST_REMOVE_HEAD(&a->socks, link);
		sock_drop(s);
	}
}
