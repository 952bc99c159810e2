/*
 * prom.c — the Prometheus text exposition of a snapshot, and the /metrics
 * endpoint. One function renders the whole table; the server is the capped
 * HTTP server of httpsrv.h on the daemon's main loop.
 */
#include "stats/prom.h"
#include "stats/httpsrv.h"
#include "common/util.h"

#include <event2/buffer.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics_server {
	struct http_server *h;
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

/* ---- the endpoint ------------------------------------------------------------
 *
 * GET /metrics on the capped HTTP server of httpsrv.h.
 */

static void serve(void *arg, const struct http_request *rq,
		  struct http_reply *rp)
{
	struct metrics_server *m = arg;
	if (strcmp(rq->method, "HEAD") != 0 && strcmp(rq->method, "GET") != 0) {
		rp->status = 405;
		rp->allow = "GET, HEAD";
		evbuffer_add_printf(rp->body, "GET only\n");
		return;
	}
	size_t plen = strcspn(rq->target, "?#");
	if (plen != 8 || strncmp(rq->target, "/metrics", 8) != 0) {
		rp->status = 404;
		evbuffer_add_printf(rp->body, "try /metrics\n");
		return;
	}
	struct stats_snapshot *s = xcalloc(1, sizeof(*s));
	m->fill(m->arg, s);
	prom_render(s, rp->body);
	free(s);
	rp->ctype = PROM_CONTENT_TYPE;
}

int metrics_parse_addr(const char *addr_port, char *host, size_t hostlen,
		       unsigned *port)
{
	return http_parse_addr(addr_port, host, hostlen, port);
}

struct metrics_server *metrics_listen(struct event_base *base,
				      const char *addr_port,
				      metrics_fill_fn fill, void *arg)
{
	struct metrics_server *m = xcalloc(1, sizeof(*m));
	m->fill = fill;
	m->arg = arg;
	m->h = http_listen(base, addr_port, "metrics", 0, serve, m);
	if (!m->h) {
		free(m);
		return NULL;
	}
	return m;
}

void metrics_limits(struct metrics_server *m, unsigned max_conns,
		    unsigned timeout_ms)
{
	if (m)
		http_limits(m->h, max_conns, timeout_ms);
}

uint64_t metrics_refused(const struct metrics_server *m)
{
	return m ? http_refused(m->h) : 0;
}

unsigned metrics_port(const struct metrics_server *m)
{
	return m ? http_port(m->h) : 0;
}

void metrics_close(struct metrics_server *m)
{
	if (!m)
		return;
	http_close(m->h);
	free(m);
}
