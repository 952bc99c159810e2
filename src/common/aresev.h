/*
 * aresev.h — c-ares's sockets watched on a libevent base: the glue the
 * resolver (src/resolve/resolver.c) and the DNS verifier
 * (src/verify/probe_dns.c) share. c-ares says through
 * ARES_OPT_SOCK_STATE_CB which sockets to watch for what; each gets one
 * persistent event that calls ares_process_fd(), then the owner's AFTER
 * hook (which re-arms its timeout timer). A library of its own
 * (dep_aresev): common/ itself links neither c-ares nor libevent.
 */
#ifndef SLUICE_COMMON_ARESEV_H
#define SLUICE_COMMON_ARESEV_H

#include <ares.h>
#include <event2/event.h>
#include <sys/queue.h>

struct aresev_sock;

struct aresev {
	struct event_base *base;
	ares_channel ch;	  /* set by the owner once ares_init_options
				   * returned; the sockets' events use it */
	void (*after)(void *arg); /* after each ares_process_fd() of a socket */
	void *arg;
	SLIST_HEAD(, aresev_sock) socks;
};

/* Starts A on BASE (no sockets, no channel yet); AFTER(ARG) runs after c-ares
 * processed a socket's event. */
void aresev_init(struct aresev *a, struct event_base *base,
		 void (*after)(void *arg), void *arg);

/* The ARES_OPT_SOCK_STATE_CB callback, with the struct aresev as its data:
 * watches FD for READABLE/WRITABLE; neither: FD is closed, its event
 * freed. Allocation failure aborts (common/util.h's policy). */
void aresev_sock_state(void *data, ares_socket_t fd, int readable,
		       int writable);

/* Frees the events c-ares left watched (after ares_destroy(), which closes
 * its sockets through aresev_sock_state, there are none: defensive). */
void aresev_fini(struct aresev *a);

#endif
