/*
 * httpsrv.h — a small capped HTTP/1.x server (RFC 9112) on a libevent loop:
 * one request a connection (then closed), a request head of at most 8 KiB
 * and a body of at most max_body bytes (Content-Length only), a connection
 * limit (and one per client: its address, or its uid on this host;
 * optionally per source prefix), a deadline
 * for the request and again for the answer, and the
 * descriptor reserve of common/fds.h. The Prometheus endpoint (prom.h) and
 * the identity push API (sluiced) are built on it.
 */
#ifndef SLUICE_STATS_HTTPSRV_H
#define SLUICE_STATS_HTTPSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct evbuffer;
struct event_base;
struct sockaddr;
struct http_server;

/* One request, valid during the handler's call. */
struct http_request {
	const char *method, *target; /* "POST", "/login?x" */
	const char *head;	     /* the header lines, NUL-terminated */
	const char *body;	     /* NUL-terminated; "" when none */
	size_t body_len;
	const struct sockaddr *peer; /* who connected */
	void *conn;		     /* the server's (http_defer) */
};

/* The handler's answer: STATUS (default 200), CTYPE (default text/plain),
 * ALLOW (sent with a 405), BODY (an empty buffer to fill; not sent for a
 * HEAD request), HEADERS (more header lines, each ending in CRLF; NULL:
 * none; the handler's, valid until the answer is queued: right after the
 * handler returns, or in http_answer_later()). */
struct http_reply {
	int status;
	const char *ctype;
	const char *allow;
	struct evbuffer *body;
	const char *headers;
};

/* The value of header NAME (case-insensitive) of RQ, copied into OUT
 * (OUTLEN bytes, cut to fit, surrounding blanks removed); false when
 * absent. */
bool http_header(const struct http_request *rq, const char *name, char *out,
		 size_t outlen);

typedef void (*http_handler_fn)(void *arg, const struct http_request *rq,
				struct http_reply *rp);

/* A request whose answer comes later. */
struct http_later;
/*
 * Called by a handler on its request RQ: the answer is not RP but what
 * http_answer_later() gives, later, on the server's loop (the connection
 * keeps its deadline: past it the connection is closed and the answer,
 * when it comes, is dropped). Returns the token, owned by the caller until
 * it passes it to http_answer_later() (exactly once).
 */
struct http_later *http_defer(const struct http_request *rq);
/* Sends RP (as a handler's answer) for the request of L, when its
 * connection is still open, and frees L; RP NULL: no answer (the
 * connection closes at its deadline). On the server's loop thread. */
void http_answer_later(struct http_later *l, const struct http_reply *rp);

/*
 * Serves ADDR_PORT ("127.0.0.1:9109", "[::1]:9109"; port 0 picks a free
 * one) on BASE's loop: every complete request is given to FN. Answered by
 * the server itself: a bad request line 400, a head over 8 KiB 431, a
 * body over MAX_BODY 413, a chunked body 411. At most 16 connections at
 * once (4 a client) and 5 s for a request and again for its answer until
 * http_limits() says otherwise; past the descriptor reserve connections are closed at
 * accept; accept errors (EMFILE, ENOMEM) pause the listener 100 ms.
 * Refusals are logged at most every 10 s under NAME. Returns NULL with
 * errno (EINVAL: bad address) on failure.
 */
struct http_server *http_listen(struct event_base *base, const char *addr_port,
				const char *name, size_t max_body,
				http_handler_fn fn, void *arg);
/* MAX_CONNS open at once, TIMEOUT_MS for a request and again for its
 * answer; 0 keeps the default (16, 5000). Until http_source_limits() is
 * called, one client holds at most a quarter of MAX_CONNS (at least 1;
 * 4 of the default 16) as its per-address limit, and the addresses of one
 * IPv6 /64 as much together: idle connections of one host (its many
 * IPv6 addresses too), or one local user, never take every slot. NULL is
 * fine. */
void http_limits(struct http_server *h, unsigned max_conns,
		 unsigned timeout_ms);
/* WAIT_MS for an answer a handler deferred (http_defer), counted from the
 * request's end (the sending of the answer gets TIMEOUT_MS again); 0 (the
 * default): the request's own deadline goes on, as without a deferral. A
 * client that sends its request slowly, or none, is closed at TIMEOUT_MS
 * all the same. NULL is fine. */
void http_answer_wait(struct http_server *h, unsigned wait_ms);
/* Per-source limits: a connection is closed at accept (counted refused
 * and http_refused_source) when its client's address already holds
 * PER_ADDR open connections, or the addresses of its prefix (the address
 * cut to PLEN4 or PLEN6 bits; out of range: the whole address) hold
 * PER_PREFIX together; 0: no such limit (for PER_ADDR the default is the
 * share of http_limits()). A client on this host (http_local_peer_uid())
 * is counted by its uid instead of its address, for both: a local user
 * may take any of the host's addresses as its source. So one host, one
 * local user, or one IPv6 subnet, cannot take every connection. NULL is
 * fine. */
void http_source_limits(struct http_server *h, unsigned per_addr,
			unsigned per_prefix, unsigned plen4, unsigned plen6);
/* When the peer of the accepted TCP connection FD is a socket of this
 * host (in this network namespace), its owner's uid into *UID (the
 * kernel's sock_diag, NETLINK_SOCK_DIAG) and 0; else -1 (a remote peer,
 * or no answer). */
int http_local_peer_uid(int fd, uid_t *uid);
/* Connections refused by the per-source limits so far. */
uint64_t http_refused_source(const struct http_server *h);
/* How client addresses A and B (sockaddr_in or _in6; an IPv4-mapped IPv6
 * address is IPv4) relate: 2 the same address, 1 the same prefix of
 * PLEN4 or PLEN6 bits (out of range: the whole address), 0 neither (or
 * another family). The per-source limits' rule, exposed for tests. */
int http_source_match(const struct sockaddr *a, const struct sockaddr *b,
		      unsigned plen4, unsigned plen6);
/* Makes the bufferevent of an accepted connection FD on BASE (a TLS one,
 * for example); NULL when it cannot, FD then closed by the function. */
typedef struct bufferevent *(*http_wrap_fn)(void *arg, struct event_base *base,
					    int fd);
/* Connections H accepts from now on get their bufferevent from FN (ARG);
 * NULL FN: plain sockets (the default). */
void http_set_wrap(struct http_server *h, http_wrap_fn fn, void *arg);
/* Connections refused so far (limits, descriptor reserve, accept errors). */
uint64_t http_refused(const struct http_server *h);
/* The bound port (useful with port 0); 0 when unknown. */
unsigned http_port(const struct http_server *h);
/* Stops serving, closes every connection, frees H; NULL is fine. */
void http_close(struct http_server *h);
/*
 * Reads the request in the LEN bytes at BUF (what arrived so far): 0 when
 * it is complete (*HLEN bytes of head up to and with its blank line, then
 * *BLEN of body, by Content-Length); 1 when more bytes are needed; else
 * the status to answer: 400 (a NUL in the head, a bad Content-Length), 411
 * (Transfer-Encoding: only Content-Length bodies), 413 (a body over
 * MAX_BODY), 431 (a head over 8 KiB). The server's parser, exposed for
 * tests/fuzz/fuzz_http.c.
 */
int http_parse_request(const char *buf, size_t len, size_t max_body,
		       size_t *hlen, size_t *blen);

#endif
