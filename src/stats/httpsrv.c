/*
 * httpsrv.c — see httpsrv.h. A small HTTP/1.x server of its own rather
 * than evhttp: evhttp of libevent 2.1 has no connection limit and no
 * deadline for a request sent slowly. Each connection gets one request and
 * the answer, then is closed; at most max-connections are open, each for at
 * most timeout to send its request and again to take the answer; past the
 * descriptor reserve (common/fds.h) a connection is closed at once, so a
 * client cannot take the descriptors the control socket and the kernel
 * need.
 */
#include "stats/httpsrv.h"
#include "common/addrport.h"
#include "common/fds.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

/* Longest request head read; longer is answered 431. */
#define HTTP_MAX_HEAD 8192

struct http_server {
	struct evconnlistener *lis;
	struct event *resume; /* re-enables the listener after EMFILE */
	http_handler_fn fn;
	void *arg;
	http_wrap_fn wrap; /* NULL: plain sockets */
	void *wrap_arg;
	char *name;
	size_t max_body;
	unsigned max_conns, timeout_ms;
	unsigned wait_ms;	       /* a deferred answer's deadline */
	unsigned per_addr, per_prefix; /* connections a source may hold; 0: any */
	bool source_set; /* per_addr is http_source_limits's, not the share */
	unsigned plen4, plen6;	       /* a source prefix's length */
	unsigned nconns;
	LIST_HEAD(, hconn) conns;
	uint64_t refused, refused_logged;
	uint64_t refused_source; /* of REFUSED: per-source limits */
	uint64_t last_log_ms;
};

/* One client: its request, then the answer, within the deadline. */
struct hconn {
	LIST_ENTRY(hconn) link;
	struct http_server *h;
	struct bufferevent *bev;
	struct event *deadline;
	struct sockaddr_storage peer;
	bool local; /* the peer is a socket of this host: UID is its source */
	uid_t uid;
	struct http_later *later; /* an answer to come (http_defer) */
};

/* The token of an answer to come; K NULL once the connection is gone. */
struct http_later {
	struct hconn *k;
	bool head; /* the request was HEAD: no body */
};

static void hconn_free(struct hconn *k)
{
	if (k->later)
		k->later->k = NULL;
	k->h->nconns--;
	LIST_REMOVE(k, link);
	event_free(k->deadline);
	bufferevent_free(k->bev);
	free(k);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	hconn_free(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what == BEV_EVENT_CONNECTED)
		return; /* a wrapped (TLS) connection finished its handshake */
	hconn_free(arg);
}

static void on_written(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		hconn_free(arg);
}

/* (Re)starts K's deadline, counted from now: libevent counts a timeout
 * from the time it cached when the loop's turn began, which a handler
 * that took longer than the timeout had left behind (the answer was then
 * cut before its first byte). */
static void arm_ms(struct hconn *k, unsigned ms)
{
	event_base_update_cache_time(event_get_base(k->deadline));
	struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};
	event_add(k->deadline, &tv);
}

static void arm(struct hconn *k)
{
	arm_ms(k, k->h->timeout_ms);
}

static const char *reason_of(int status)
{
	static const struct {
		int status;
		const char *reason;
	} r[] = {{200, "OK"},
		 {204, "No Content"},
		 {302, "Found"},
		 {400, "Bad Request"},
		 {403, "Forbidden"},
		 {404, "Not Found"},
		 {405, "Method Not Allowed"},
		 {409, "Conflict"},
		 {411, "Length Required"},
		 {413, "Content Too Large"},
		 {415, "Unsupported Media Type"},
		 {422, "Unprocessable Content"},
		 {429, "Too Many Requests"},
		 {431, "Request Header Fields Too Large"},
		 {500, "Internal Server Error"},
		 {503, "Service Unavailable"}};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (r[i].status == status)
			return r[i].reason;
	return "Unknown";
}

/* Queues RP (its body left out for HEAD) and closes once it is sent. */
static void answer(struct hconn *k, const struct http_reply *rp, bool head)
{
	struct evbuffer *out = bufferevent_get_output(k->bev);
	size_t len = evbuffer_get_length(rp->body);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n",
			    rp->status, reason_of(rp->status), rp->ctype, len);
	if (rp->status == 405 && rp->allow)
		evbuffer_add_printf(out, "Allow: %s\r\n", rp->allow);
	if (rp->headers)
		evbuffer_add(out, rp->headers, strlen(rp->headers));
	evbuffer_add_printf(out, "\r\n");
	if (!head)
		evbuffer_add_buffer(out, rp->body);
	bufferevent_disable(k->bev, EV_READ);
	bufferevent_setcb(k->bev, NULL, on_written, on_event, k);
	bufferevent_enable(k->bev, EV_WRITE);
	arm(k); /* the answer, too, within the timeout */
}

static void answer_text(struct hconn *k, int status, const char *text)
{
	struct http_reply rp = {status, "text/plain; charset=utf-8", NULL,
				evbuffer_new(), NULL};
	evbuffer_add_printf(rp.body, "%s\n", text);
	answer(k, &rp, false);
	evbuffer_free(rp.body);
}

/* The value of header NAME in HEAD (the head's lines after the request
 * line, NUL-terminated), copied into OUT; false when absent. */
static bool header(const char *head, const char *name, char *out,
		   size_t outlen)
{
	size_t nl = strlen(name);
	for (const char *l = head; l && *l;) {
		const char *next = strchr(l, '\n');
		if (strncasecmp(l, name, nl) != 0 || l[nl] != ':') {
			l = next ? next + 1 : NULL;
			continue;
		}
		const char *v = l + nl + 1;
		v += strspn(v, " \t");
		size_t vl = strcspn(v, "\r\n");
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		if (vl >= outlen)
			vl = outlen - 1;
		memcpy(out, v, vl);
		out[vl] = '\0';
		return true;
	}
	return false;
}

/* Serves the complete request: request line LINE, header lines HEAD,
 * BODY (BLEN bytes, NUL-terminated). */
static void serve(struct hconn *k, char *line, const char *head,
		  const char *body, size_t blen)
{
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		answer_text(k, 400, "bad request line");
		return;
	}
	*sp1 = *sp2 = '\0';
	struct http_request rq = {line, sp1 + 1, head, body, blen,
				  (const struct sockaddr *)&k->peer, k};
	struct http_reply rp = {200, "text/plain; charset=utf-8", NULL,
				evbuffer_new(), NULL};
	k->h->fn(k->h->arg, &rq, &rp);
	if (k->later) { /* answered later: read nothing more meanwhile */
		bufferevent_disable(k->bev, EV_READ);
		if (k->h->wait_ms) /* else the request's deadline goes on */
			arm_ms(k, k->h->wait_ms);
	}
	else
		answer(k, &rp, strcmp(rq.method, "HEAD") == 0);
	evbuffer_free(rp.body);
}

struct http_later *http_defer(const struct http_request *rq)
{
	struct hconn *k = rq->conn;
	struct http_later *l = xcalloc(1, sizeof(*l));
	l->k = k;
	l->head = strcmp(rq->method, "HEAD") == 0;
	k->later = l;
	return l;
}

void http_answer_later(struct http_later *l, const struct http_reply *rp)
{
	if (l->k) {
		l->k->later = NULL;
		if (rp)
			answer(l->k, rp, l->head);
	}
	free(l);
}

bool http_header(const struct http_request *rq, const char *name, char *out,
		 size_t outlen)
{
	return header(rq->head, name, out, outlen);
}

/* Where the head of the N bytes at BUF ends: the length up to and with
 * its blank line (CRLF CRLF, or bare LFs), or 0 when none is there yet. */
static size_t head_end(const char *buf, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < n && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int http_parse_request(const char *buf, size_t len, size_t max_body,
		       size_t *hlen, size_t *blen)
{
	size_t h = head_end(buf, len < HTTP_MAX_HEAD + 3 ? len
							  : HTTP_MAX_HEAD + 3);
	if (!h)
		return len > HTTP_MAX_HEAD ? 431 : 1;
	if (h > HTTP_MAX_HEAD + 2)
		return 431;
	if (memchr(buf, '\0', h))
		return 400; /* a NUL in the head */
	char *head = xmalloc(h + 1);
	memcpy(head, buf, h);
	head[h] = '\0';
	/* head_end found a '\n' in it, and no NUL comes before */
	const char *lines = strchr(head, '\n') + 1;
	char v[32];
	int rc = 0;
	unsigned long n = 0;
	if (header(lines, "Transfer-Encoding", v, sizeof(v))) {
		rc = 411;
	} else if (header(lines, "Content-Length", v, sizeof(v))) {
		char *end;
		errno = 0;
		n = strtoul(v, &end, 10);
		if (!v[0] || *end || errno || v[0] < '0' || v[0] > '9')
			rc = 400;
		else if (n > max_body)
			rc = 413;
	}
	free(head);
	if (rc)
		return rc;
	if (len < h + n)
		return 1;
	*hlen = h;
	*blen = n;
	return 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct hconn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in), hlen, blen;
	const char *buf = (const char *)evbuffer_pullup(in, -1);
	int rc = buf ? http_parse_request(buf, len, k->h->max_body, &hlen, &blen)
		     : 1;
	if (rc == 1)
		return; /* more is coming (or the deadline ends it) */
	if (rc) {
		answer_text(k, rc, rc == 431   ? "request head too large"
				   : rc == 411 ? "send a Content-Length"
				   : rc == 413 ? "body too large"
					       : "bad request head");
		return;
	}
	char *head = xmalloc(hlen + 1);
	char *body = xmalloc(blen + 1);
	evbuffer_remove(in, head, hlen);
	evbuffer_remove(in, body, blen);
	head[hlen] = body[blen] = '\0';
	char *first = strchr(head, '\n');
	head[strcspn(head, "\r\n")] = '\0'; /* the request line */
	serve(k, head, first + 1, body, blen);
	free(body);
	free(head);
}

/* Counts a refused connection; logs at most every 10 s. */
static void refused(struct http_server *h, const char *why)
{
	h->refused++;
	uint64_t now = mono_ms();
	if (now - h->last_log_ms >= 10000) {
		log_warnx("%s: refused %llu connection(s): %s", h->name,
			  (unsigned long long)(h->refused - h->refused_logged),
			  why);
		h->refused_logged = h->refused;
		h->last_log_ms = now;
	}
}

/* SA's address into A (16 bytes; IPv4 in the first 4, an IPv4-mapped
 * IPv6 address as IPv4); its length in bits, 0 for another family. */
static unsigned peer_bits(const struct sockaddr *sa, uint8_t a[16])
{
	memset(a, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 32;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	const struct in6_addr *b = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(b)) {
		memcpy(a, &b->s6_addr[12], 4);
		return 32;
	}
	memcpy(a, b, 16);
	return 128;
}

/* The first PLEN bits of A and B are the same. */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	if (memcmp(a, b, plen / 8) != 0)
		return false;
	uint8_t m = (uint8_t)(0xff00u >> (plen % 8));
	return plen % 8 == 0 || ((a[plen / 8] ^ b[plen / 8]) & m) == 0;
}

int http_source_match(const struct sockaddr *a, const struct sockaddr *b,
		      unsigned plen4, unsigned plen6)
{
	uint8_t x[16], y[16];
	unsigned bits = peer_bits(a, x);
	if (!bits || bits != peer_bits(b, y))
		return 0;
	if (memcmp(x, y, bits / 8) == 0)
		return 2;
	unsigned plen = bits == 32 ? plen4 : plen6;
	if (plen < 1 || plen > bits)
		plen = bits;
	return same_bits(x, y, plen) ? 1 : 0;
}

int http_local_peer_uid(int fd, uid_t *uid)
{
	struct sockaddr_storage me, peer;
	socklen_t ml = sizeof(me), pl = sizeof(peer);
	if (getsockname(fd, (struct sockaddr *)&me, &ml) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &pl) < 0 ||
	    me.ss_family != peer.ss_family ||
	    (me.ss_family != AF_INET && me.ss_family != AF_INET6))
		return -1;
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {.nh = {.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST},
		 .r = {.sdiag_family = (uint8_t)me.ss_family,
		       .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = ~0u}};
	/* the peer's socket: its source is our peer, its destination us */
	struct inet_diag_sockid *id = &req.r.id;
	id->idiag_cookie[0] = id->idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (me.ss_family == AF_INET) {
		const struct sockaddr_in *m4 = (const void *)&me,
					 *p4 = (const void *)&peer;
		id->idiag_sport = p4->sin_port;
		id->idiag_dport = m4->sin_port;
		memcpy(id->idiag_src, &p4->sin_addr, 4);
		memcpy(id->idiag_dst, &m4->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *m6 = (const void *)&me,
					  *p6 = (const void *)&peer;
		id->idiag_sport = p6->sin6_port;
		id->idiag_dport = m6->sin6_port;
		memcpy(id->idiag_src, &p6->sin6_addr, 16);
		memcpy(id->idiag_dst, &m6->sin6_addr, 16);
	}
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -1;
	struct timeval tv = {0, 200000}; /* the kernel answers at once */
	setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	union {
		struct nlmsghdr nh;
		char b[1024];
	} ans;
	int rc = -1;
	ssize_t n = send(nl, &req, sizeof(req), 0) == (ssize_t)sizeof(req)
			? recv(nl, &ans, sizeof(ans), 0)
			: -1;
	if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct inet_diag_msg)) &&
	    ans.nh.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
		const struct inet_diag_msg *m = NLMSG_DATA(&ans.nh);
		*uid = (uid_t)m->idiag_uid;
		rc = 0;
	}
	close(nl);
	return rc;
}

/* Whether H's per-source limits let one more connection from SA in: the
 * connections open from its address and from its prefix, counted; a
 * peer on this host (LOCAL, with UID) counts the connections of its uid
 * for both, since every local user may take any of the host's addresses
 * (127.0.0.0/8 whole) as its source. */
static bool source_room(const struct http_server *h, const struct sockaddr *sa,
			bool local, uid_t uid)
{
	if (!h->per_addr && !h->per_prefix)
		return true;
	unsigned addr = 0, prefix = 0;
	const struct hconn *k;
	LIST_FOREACH(k, &h->conns, link) {
		if (local || k->local) {
			addr += local && k->local && k->uid == uid;
			prefix += local && k->local && k->uid == uid;
			continue;
		}
		int m = http_source_match(sa, (const struct sockaddr *)&k->peer,
					  h->plen4, h->plen6);
		addr += m == 2;
		prefix += m != 0;
	}
	return (!h->per_addr || addr < h->per_addr) &&
	       (!h->per_prefix || prefix < h->per_prefix);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct http_server *h = arg;
	if (!fd_below_reserve(fd, FD_RESERVE_LISTENERS)) {
		close(fd);
		refused(h, "descriptors kept in reserve");
		return;
	}
	if (h->nconns >= h->max_conns) {
		close(fd);
		refused(h, "max-connections reached");
		return;
	}
	uid_t uid = (uid_t)-1;
	bool local = (h->per_addr || h->per_prefix) &&
		     http_local_peer_uid(fd, &uid) == 0;
	if (!source_room(h, sa, local, uid)) {
		close(fd);
		h->refused_source++;
		refused(h, "the client's address or prefix holds its share");
		return;
	}
	struct event_base *base = evconnlistener_get_base(lis);
	struct hconn *k = xcalloc(1, sizeof(*k));
	k->h = h;
	k->local = local;
	k->uid = uid;
	if (salen > 0 && (size_t)salen <= sizeof(k->peer))
		memcpy(&k->peer, sa, (size_t)salen);
	k->bev = h->wrap ? h->wrap(h->wrap_arg, base, fd)
			 : bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	k->deadline = evtimer_new(base, on_deadline, k);
	if (!k->bev || !k->deadline) {
		if (k->bev)
			bufferevent_free(k->bev);
		else if (!h->wrap)
			close(fd);
		if (k->deadline)
			event_free(k->deadline);
		free(k);
		return;
	}
	h->nconns++;
	LIST_INSERT_HEAD(&h->conns, k, link);
	bufferevent_setcb(k->bev, on_read, NULL, on_event, k);
	bufferevent_setwatermark(k->bev, EV_READ, 0,
				 HTTP_MAX_HEAD + h->max_body + 1);
	bufferevent_enable(k->bev, EV_READ);
	arm(k);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *h = arg;
	evconnlistener_enable(h->lis);
}

/* accept() failed (out of descriptors or memory: transient): pause the
 * listener 100 ms instead of spinning, never exit. */
static void on_accept_error(struct evconnlistener *lis, void *arg)
{
	struct http_server *h = arg;
	refused(h, strerror(EVUTIL_SOCKET_ERROR()));
	evconnlistener_disable(lis);
	struct timeval tv = {0, 100000};
	event_add(h->resume, &tv);
}

struct http_server *http_listen(struct event_base *base, const char *addr_port,
				const char *name, size_t max_body,
				http_handler_fn fn, void *arg)
{
	char host[128], port_s[8];
	unsigned port;
	if (addrport_split(addr_port, host, sizeof(host), &port)) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(port_s, sizeof(port_s), "%u", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
			*ai = NULL;
	if (getaddrinfo(host, port_s, &hints, &ai) != 0 || !ai) {
		errno = EINVAL;
		return NULL;
	}
	struct http_server *h = xcalloc(1, sizeof(*h));
	h->fn = fn;
	h->arg = arg;
	h->max_body = max_body;
	LIST_INIT(&h->conns);
	h->max_conns = 16;
	h->per_addr = 4;
	h->timeout_ms = 5000;
	errno = 0;
	h->lis = evconnlistener_new_bind(
	    base, on_accept, h,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    64, ai->ai_addr, (int)ai->ai_addrlen);
	int e = errno ? errno : EADDRNOTAVAIL;
	freeaddrinfo(ai);
	if (!h->lis) {
		free(h);
		errno = e;
		return NULL;
	}
	h->name = xstrdup(name);
	evconnlistener_set_error_cb(h->lis, on_accept_error);
	h->resume = evtimer_new(base, on_resume, h);
	return h;
}

void http_limits(struct http_server *h, unsigned max_conns,
		 unsigned timeout_ms)
{
	if (!h)
		return;
	h->max_conns = max_conns ? max_conns : 16;
	h->timeout_ms = timeout_ms ? timeout_ms : 5000;
	if (!h->source_set) { /* a client: an address, an IPv6 /64 (one
			       * host's own subnet), a local uid */
		h->per_addr = h->max_conns / 4 ? h->max_conns / 4 : 1;
		h->per_prefix = h->per_addr;
		h->plen4 = 32;
		h->plen6 = 64;
	}
}

void http_answer_wait(struct http_server *h, unsigned wait_ms)
{
	if (h)
		h->wait_ms = wait_ms;
}

void http_source_limits(struct http_server *h, unsigned per_addr,
			unsigned per_prefix, unsigned plen4, unsigned plen6)
{
	if (!h)
		return;
	h->source_set = true;
	h->per_addr = per_addr;
	h->per_prefix = per_prefix;
	h->plen4 = plen4;
	h->plen6 = plen6;
}

uint64_t http_refused_source(const struct http_server *h)
{
	return h ? h->refused_source : 0;
}

void http_set_wrap(struct http_server *h, http_wrap_fn fn, void *arg)
{
	h->wrap = fn;
	h->wrap_arg = arg;
}

uint64_t http_refused(const struct http_server *h)
{
	return h ? h->refused : 0;
}

unsigned http_port(const struct http_server *h)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = h ? evconnlistener_get_fd(h->lis) : -1;
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

void http_close(struct http_server *h)
{
	if (!h)
		return;
	while (!LIST_EMPTY(&h->conns))
		hconn_free(LIST_FIRST(&h->conns));
	evconnlistener_free(h->lis);
	event_free(h->resume);
	free(h->name);
	free(h);
}
