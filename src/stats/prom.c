/*
 * prom.c — the Prometheus text exposition of a snapshot, and the /metrics
 * endpoint. One function renders the whole table; the server is the capped
 * HTTP server of httpsrv.h on the daemon's main loop.
 */
#include "stats/prom.h"
#include "stats/httpsrv.h"
#include "common/util.h"
#include "common/text.h"

#include <errno.h>
#include <event2/buffer.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics_server {
	struct http_server *h;
	metrics_fill_fn fill;
	metrics_extra_fn extra;
	metrics_page_fn pages;
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
		if (m->pages && m->pages(m->arg, rq, rp))
			return;
		rp->status = 404;
		evbuffer_add_printf(rp->body, "try /metrics\n");
		return;
	}
	struct stats_snapshot *s = xcalloc(1, sizeof(*s));
	m->fill(m->arg, s);
	prom_render(s, rp->body);
	free(s);
	if (m->extra)
		m->extra(m->arg, rp->body);
	rp->ctype = PROM_CONTENT_TYPE;
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
		int e = errno; /* the caller says why */
		free(m);
		errno = e;
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

void metrics_set_extra(struct metrics_server *m, metrics_extra_fn extra)
{
	if (m)
		m->extra = extra;
}

void metrics_set_pages(struct metrics_server *m, metrics_page_fn pages)
{
	if (m)
		m->pages = pages;
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
