/*
 * prom.c — the Prometheus text exposition of a snapshot, and the /metrics
 * endpoint. One function renders the whole table; the server is evhttp on
 * the daemon's main loop.
 */
#include "stats/prom.h"
#include "common/util.h"
#include "common/text.h"

#include "common/fds.h"
#include "common/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

/* Longest request head read; longer is answered 431. */
#define METRICS_MAX_HEAD 8192

struct metrics_server {
	struct evconnlistener *lis;
	struct event *resume; /* re-enables the listener after EMFILE */
	metrics_fill_fn fill;
	metrics_extra_fn extra;
	void *arg;
	unsigned max_conns, timeout_ms;
	unsigned nconns;
	LIST_HEAD(, mconn) conns;
	uint64_t refused, refused_logged;
	uint64_t last_log_ms;
};

/* One client: its request head, then the answer, within the deadline. */
struct mconn {
	LIST_ENTRY(mconn) link;
	struct metrics_server *m;
	struct bufferevent *bev;
	struct event *deadline;
};

static const char *const type_names[] = {"counter", "gauge", "histogram"};

/* A float the way Prometheus reads it. */
static void put_num(struct evbuffer *out, double v)
{
	if (isinf(v))
		evbuffer_add_printf(out, v > 0 ? "+Inf" : "-Inf");
	else if (isnan(v))
		evbuffer_add_printf(out, "NaN");
	else if (v == floor(v) && fabs(v) < 1e15)
		evbuffer_add_printf(out, "%.0f", v);
	else
		evbuffer_add_printf(out, "%.17g", v);
}

static void render_hist(struct evbuffer *out, const char *name,
			const struct stats_hist *h)
{
	uint64_t cum = 0;
	for (size_t i = 0; i < STATS_LAT_BUCKETS; i++) {
		cum += h->buckets[i];
		evbuffer_add_printf(out, "sluice_%s_bucket{le=\"", name);
		put_num(out, stats_latency_bounds[i]);
		evbuffer_add_printf(out, "\"} %llu\n", (unsigned long long)cum);
	}
	evbuffer_add_printf(out, "sluice_%s_sum ", name);
	put_num(out, h->sum);
	evbuffer_add_printf(out, "\nsluice_%s_count %llu\n", name,
			    (unsigned long long)cum);
}

/*
 * Rows of the counters table shown in Prometheus under another name: one
 * family per quantity with a label per value (Prometheus naming practice,
 * https://prometheus.io/docs/practices/naming/), the process rows under the
 * standard client-library names. The table (and `sluicectl counters`, the
 * alerts, docs/counters.md) keep their names; this maps them here only.
 * Rows of one family are listed together; the first one's help is shown.
 */
struct prom_alias {
	const char *row;    /* the table's name */
	const char *family; /* the full metric name */
	const char *labels; /* its labels, or NULL */
	const char *help;   /* the family's help (first row of a family) */
};

static const struct prom_alias aliases[] = {
    {"verdicts_allow", "sluice_verdicts_total", "verdict=\"allow\"",
     "Verdicts sluiced gave queued packets, by verdict (fail: its own "
     "trouble)"},
    {"verdicts_deny", "sluice_verdicts_total", "verdict=\"deny\"", NULL},
    {"verdicts_fail", "sluice_verdicts_total", "verdict=\"fail\"", NULL},
    {"packets_dropped_queue_full", "sluice_packets_dropped_total",
     "reason=\"queue_full\"", "Packets the kernel dropped before sluiced "
     "read them, by reason (queue_full: queue_dropped; socket: "
     "user_dropped)"},
    {"packets_dropped_user", "sluice_packets_dropped_total",
     "reason=\"socket\"", NULL},
    {"sessions_kernel_allowed", "sluice_sessions_decided_total",
     "decider=\"kernel\",verdict=\"allow\"", "New sessions decided, by "
     "who decided (kernel: a header-only rule; service: sluiced) and "
     "verdict (any: sluiced's decisions are counted by verdict in "
     "sluice_verdicts_total)"},
    {"sessions_kernel_denied", "sluice_sessions_decided_total",
     "decider=\"kernel\",verdict=\"deny\"", NULL},
    {"sessions_service_decided", "sluice_sessions_decided_total",
     "decider=\"service\",verdict=\"any\"", NULL},
    {"slots_total", "sluice_decision_slots", NULL,
     "Decision slots: sessions decided in user space at once"},
    {"slots_available", "sluice_decision_slots_free", "share=\"all\"",
     "Free decision slots (all: every slot; local: the share reserved for "
     "the gateway's own traffic)"},
    {"slots_local_available", "sluice_decision_slots_free",
     "share=\"local\"", NULL},
    {"lookups_dns", "sluice_lookups_in_flight", "kind=\"dns\"",
     "Lookups in flight, by kind (dns, ldap: directory searches, nss: "
     "user and groups)"},
    {"lookups_ldap", "sluice_lookups_in_flight", "kind=\"ldap\"", NULL},
    {"lookups_nss", "sluice_lookups_in_flight", "kind=\"nss\"", NULL},
    {"dns_cache_hits", "sluice_dns_cache_lookups_total", "result=\"hit\"",
     "DNS cache lookups, by result (negative_hit: a remembered failure)"},
    {"dns_cache_misses", "sluice_dns_cache_lookups_total",
     "result=\"miss\"", NULL},
    {"dns_cache_negative_hits", "sluice_dns_cache_lookups_total",
     "result=\"negative_hit\"", NULL},
    {"fwlog_written", "sluice_fwlog_records_total", "result=\"written\"",
     "Firewall log records, by result (dropped: the buffer was full)"},
    {"fwlog_dropped", "sluice_fwlog_records_total", "result=\"dropped\"",
     NULL},
    {"farm_members_up", "sluice_farm_members", "state=\"up\"",
     "Farm members, by state (per member: sluice_farm_member_up)"},
    {"farm_members_down", "sluice_farm_members", "state=\"down\"", NULL},
    {"process_resident_memory_bytes", "process_resident_memory_bytes", NULL,
     "Resident memory size in bytes"},
    {"process_open_fds", "process_open_fds", NULL,
     "Number of open file descriptors"},
    {NULL, NULL, NULL, NULL},
};

static const struct prom_alias *alias_of(const char *row)
{
	for (const struct prom_alias *a = aliases; a->row; a++)
		if (strcmp(a->row, row) == 0)
			return a;
	return NULL;
}

void prom_family(struct evbuffer *out, const char *name, const char *type,
		 const char *help)
{
	evbuffer_add_printf(out, "# HELP %s ", name);
	for (const char *p = help; *p; p++) { /* help escapes \ and LF */
		if (*p == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*p == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add_printf(out, "\n# TYPE %s %s\n", name, type);
}

void prom_sample(struct evbuffer *out, const char *name, const char *labels,
		 double v)
{
	if (labels && *labels)
		evbuffer_add_printf(out, "%s{%s} ", name, labels);
	else
		evbuffer_add_printf(out, "%s ", name);
	put_num(out, v);
	evbuffer_add(out, "\n", 1);
}

size_t prom_label_value(char *dst, size_t len, const char *v)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)(v ? v : ""),
			    *end = p + strlen((const char *)p);
	while (p < end && len) {
		char esc[4] = {0};
		const char *put = esc;
		size_t n = utf8_seq_len(p, (size_t)(end - p)), k;
		if (*p == '\\' || *p == '"') {
			esc[0] = '\\', esc[1] = (char)*p, k = 2;
		} else if (*p == '\n') {
			esc[0] = '\\', esc[1] = 'n', k = 2;
		} else if (n == 0) {
			put = "\xEF\xBF\xBD", k = 3, n = 1; /* U+FFFD */
		} else {
			put = (const char *)p, k = n;
		}
		if (o + k >= len)
			break;
		memcpy(dst + o, put, k);
		o += k;
		p += n ? n : 1;
	}
	if (len)
		dst[o] = '\0';
	return o;
}

/* Shows every row of family A->family of S under one HELP and TYPE. */
static void render_family(struct evbuffer *out, const struct stats_snapshot *s,
			  const struct prom_alias *a, const char *type)
{
	prom_family(out, a->family, type, a->help);
	for (const struct prom_alias *b = a; b->row; b++) {
		if (strcmp(b->family, a->family) != 0)
			continue;
		const struct stats_counter *c = stats_counter_find(b->row);
		if (c)
			prom_sample(out, b->family, b->labels, stats_value(s, c));
	}
}

void prom_render(const struct stats_snapshot *s, struct evbuffer *out)
{
	for (const struct stats_counter *c = stats_counters; c->name; c++) {
		const char *type = type_names[c->type];
		const struct prom_alias *a = alias_of(c->name);
		if (a) {
			if (a->help) /* the family's first row: the family */
				render_family(out, s, a, type);
			continue;
		}
		const char *sfx = c->type == STATS_COUNTER ? "_total" : "";
		char name[128];
		snprintf(name, sizeof(name), "sluice_%s%s", c->name, sfx);
		prom_family(out, name, type, c->help);
		if (c->type == STATS_HISTOGRAM) {
			render_hist(out, c->name,
				    (const struct stats_hist *)((const char *)s +
								c->off));
			continue;
		}
		prom_sample(out, name, NULL, stats_value(s, c));
	}
}

/* ---- the endpoint ------------------------------------------------------------
 *
 * A small HTTP/1.x server (RFC 9112) of its own rather than evhttp: evhttp
 * of libevent 2.1 has no connection limit and no deadline for a request
 * head sent slowly. Each connection gets one request and the answer, then
 * is closed; at most max-connections are open, each for at most timeout
 * to send its head and again to take the answer; past the descriptor
 * reserve (common/fds.h) a connection is closed at once, so a client
 * cannot take the descriptors the control socket and the kernel need.
 */

static void mconn_free(struct mconn *k)
{
	k->m->nconns--;
	LIST_REMOVE(k, link);
	event_free(k->deadline);
	bufferevent_free(k->bev);
	free(k);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	mconn_free(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	mconn_free(arg);
}

static void on_written(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		mconn_free(arg);
}

static void arm(struct mconn *k)
{
	struct timeval tv = {k->m->timeout_ms / 1000,
			     (long)(k->m->timeout_ms % 1000) * 1000};
	event_add(k->deadline, &tv);
}

/* Queues the answer STATUS with BODY (may be NULL; left out for HEAD) and
 * closes once it is sent. */
static void answer(struct mconn *k, int status, const char *reason,
		   const char *ctype, struct evbuffer *body, bool head)
{
	struct evbuffer *out = bufferevent_get_output(k->bev);
	size_t len = body ? evbuffer_get_length(body) : 0;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
			    status, reason, ctype, len,
			    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (body && !head)
		evbuffer_add_buffer(out, body);
	bufferevent_disable(k->bev, EV_READ);
	bufferevent_setcb(k->bev, NULL, on_written, on_event, k);
	bufferevent_enable(k->bev, EV_WRITE);
	arm(k); /* the answer, too, within the timeout */
}

static void answer_text(struct mconn *k, int status, const char *reason,
			const char *text)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "%s\n", text);
	answer(k, status, reason, "text/plain; charset=utf-8", b, false);
	evbuffer_free(b);
}

/* Serves the request line LINE (NUL-terminated, without its CRLF). */
static void serve(struct mconn *k, char *line)
{
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		answer_text(k, 400, "Bad Request", "bad request line");
		return;
	}
	*sp1 = *sp2 = '\0';
	const char *method = line, *target = sp1 + 1;
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		answer_text(k, 405, "Method Not Allowed", "GET only");
		return;
	}
	size_t plen = strcspn(target, "?#");
	if (plen != 8 || strncmp(target, "/metrics", 8) != 0) {
		answer_text(k, 404, "Not Found", "try /metrics");
		return;
	}
	struct stats_snapshot *s = xcalloc(1, sizeof(*s));
	k->m->fill(k->m->arg, s);
	struct evbuffer *body = evbuffer_new();
	prom_render(s, body);
	free(s);
	if (k->m->extra)
		k->m->extra(k->m->arg, body);
	answer(k, 200, "OK", PROM_CONTENT_TYPE, body, head);
	evbuffer_free(body);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct mconn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	/* the head ends with an empty line (CRLF CRLF, or bare LFs) */
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		end = evbuffer_search(in, "\n\n", 2, NULL);
	if (end.pos < 0 || end.pos > METRICS_MAX_HEAD) {
		if (evbuffer_get_length(in) > METRICS_MAX_HEAD)
			answer_text(k, 431, "Request Header Fields Too Large",
				    "request head too large");
		return;
	}
	size_t n;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
	if (!line) {
		answer_text(k, 400, "Bad Request", "no request line");
		return;
	}
	serve(k, line);
	free(line);
}

/* Counts a refused connection; logs at most every 10 s. */
static void refused(struct metrics_server *m, const char *why)
{
	m->refused++;
	uint64_t now = mono_ms();
	if (now - m->last_log_ms >= 10000) {
		log_warnx("metrics: refused %llu connection(s): %s",
			  (unsigned long long)(m->refused - m->refused_logged),
			  why);
		m->refused_logged = m->refused;
		m->last_log_ms = now;
	}
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct metrics_server *m = arg;
	if (!fd_below_reserve(fd, FD_RESERVE_LISTENERS)) {
		close(fd);
		refused(m, "descriptors kept in reserve");
		return;
	}
	if (m->nconns >= m->max_conns) {
		close(fd);
		refused(m, "max-connections reached");
		return;
	}
	struct event_base *base = evconnlistener_get_base(lis);
	struct mconn *k = xcalloc(1, sizeof(*k));
	k->m = m;
	k->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	k->deadline = evtimer_new(base, on_deadline, k);
	if (!k->bev || !k->deadline) {
		if (k->bev)
			bufferevent_free(k->bev);
		else
			close(fd);
		if (k->deadline)
			event_free(k->deadline);
		free(k);
		return;
	}
	m->nconns++;
	LIST_INSERT_HEAD(&m->conns, k, link);
	bufferevent_setcb(k->bev, on_read, NULL, on_event, k);
	bufferevent_setwatermark(k->bev, EV_READ, 0, METRICS_MAX_HEAD + 1);
	bufferevent_enable(k->bev, EV_READ);
	arm(k);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_server *m = arg;
	evconnlistener_enable(m->lis);
}

/* accept() failed (out of descriptors or memory: transient): pause the
 * listener 100 ms instead of spinning, never exit. */
static void on_accept_error(struct evconnlistener *lis, void *arg)
{
	struct metrics_server *m = arg;
	refused(m, strerror(EVUTIL_SOCKET_ERROR()));
	evconnlistener_disable(lis);
	struct timeval tv = {0, 100000};
	event_add(m->resume, &tv);
}

int metrics_parse_addr(const char *addr_port, char *host, size_t hostlen,
		       unsigned *port)
{
	const char *colon;
	size_t hl;
	const char *h = addr_port;
	if (addr_port[0] == '[') {
		const char *close = strchr(addr_port, ']');
		if (!close || close[1] != ':')
			return -1;
		h = addr_port + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr_port, ':');
		if (!colon || strchr(addr_port, ':') != colon)
			return -1;
		hl = (size_t)(colon - addr_port);
	}
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || p > 65535 || hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned)p;
	return 0;
}

struct metrics_server *metrics_listen(struct event_base *base,
				      const char *addr_port,
				      metrics_fill_fn fill, void *arg)
{
	char host[128], port_s[8];
	unsigned port;
	if (metrics_parse_addr(addr_port, host, sizeof(host), &port) < 0) {
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
	struct metrics_server *m = xcalloc(1, sizeof(*m));
	m->fill = fill;
	m->arg = arg;
	LIST_INIT(&m->conns);
	m->max_conns = 16;
	m->timeout_ms = 5000;
	m->lis = evconnlistener_new_bind(
	    base, on_accept, m,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    64, ai->ai_addr, (int)ai->ai_addrlen);
	int e = errno ? errno : EADDRNOTAVAIL;
	freeaddrinfo(ai);
	if (!m->lis) {
		free(m);
		errno = e;
		return NULL;
	}
	evconnlistener_set_error_cb(m->lis, on_accept_error);
	m->resume = evtimer_new(base, on_resume, m);
	return m;
}

void metrics_limits(struct metrics_server *m, unsigned max_conns,
		    unsigned timeout_ms)
{
	if (!m)
		return;
	m->max_conns = max_conns ? max_conns : 16;
	m->timeout_ms = timeout_ms ? timeout_ms : 5000;
}

void metrics_set_extra(struct metrics_server *m, metrics_extra_fn extra)
{
	if (m)
		m->extra = extra;
}

uint64_t metrics_refused(const struct metrics_server *m)
{
	return m ? m->refused : 0;
}

unsigned metrics_port(const struct metrics_server *m)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = m ? evconnlistener_get_fd(m->lis) : -1;
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

void metrics_close(struct metrics_server *m)
{
	if (!m)
		return;
	while (!LIST_EMPTY(&m->conns))
		mconn_free(LIST_FIRST(&m->conns));
	evconnlistener_free(m->lis);
	event_free(m->resume);
	free(m);
}
