/*
 * prom.c — the Prometheus text exposition of a snapshot, and the /metrics
 * endpoint. One function renders the whole table; the server is evhttp on
 * the daemon's main loop.
 */
#include "stats/prom.h"
#include "common/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct metrics_server {
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	metrics_fill_fn fill;
	void *arg;
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

void prom_render(const struct stats_snapshot *s, struct evbuffer *out)
{
	for (const struct stats_counter *c = stats_counters; c->name; c++) {
		const char *sfx = c->type == STATS_COUNTER ? "_total" : "";
		evbuffer_add_printf(out, "# HELP sluice_%s%s %s\n", c->name, sfx,
				    c->help);
		evbuffer_add_printf(out, "# TYPE sluice_%s%s %s\n", c->name, sfx,
				    type_names[c->type]);
		if (c->type == STATS_HISTOGRAM) {
			render_hist(out, c->name,
				    (const struct stats_hist *)((const char *)s +
								c->off));
			continue;
		}
		evbuffer_add_printf(out, "sluice_%s%s ", c->name, sfx);
		put_num(out, stats_value(s, c));
		evbuffer_add(out, "\n", 1);
	}
}

/* ---- the endpoint ------------------------------------------------------------ */

static void on_request(struct evhttp_request *req, void *arg)
{
	struct metrics_server *m = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (!path || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, "try /metrics");
		return;
	}
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "GET only");
		return;
	}
	struct stats_snapshot *s = xcalloc(1, sizeof(*s));
	m->fill(m->arg, s);
	struct evbuffer *body = evbuffer_new();
	prom_render(s, body);
	free(s);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", PROM_CONTENT_TYPE);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
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
	char host[128];
	unsigned port;
	if (metrics_parse_addr(addr_port, host, sizeof(host), &port) < 0) {
		errno = EINVAL;
		return NULL;
	}
	struct metrics_server *m = xcalloc(1, sizeof(*m));
	m->fill = fill;
	m->arg = arg;
	m->http = evhttp_new(base);
	if (!m->http) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
						EVHTTP_REQ_POST);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 4096);
	evhttp_set_gencb(m->http, on_request, m);
	m->sock = evhttp_bind_socket_with_handle(m->http, host, (uint16_t)port);
	if (!m->sock) {
		int e = errno ? errno : EADDRNOTAVAIL;
		evhttp_free(m->http);
		free(m);
		errno = e;
		return NULL;
	}
	return m;
}

unsigned metrics_port(const struct metrics_server *m)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = m ? evhttp_bound_socket_get_fd(m->sock) : -1;
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
	evhttp_free(m->http);
	free(m);
}
