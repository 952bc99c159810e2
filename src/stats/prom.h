/*
 * prom.h — the Prometheus text exposition (format 0.0.4) of a snapshot, and
 * a small HTTP endpoint (stats/httpsrv.h) serving it at GET /metrics.
 */
#ifndef SLUICE_STATS_PROM_H
#define SLUICE_STATS_PROM_H

#include "stats/counters.h"

struct evbuffer;
struct event_base;
struct metrics_server;

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends every counter of S to OUT: "# HELP", "# TYPE", then the samples;
 * names are sluice_NAME, counters end in _total, a histogram gives
 * _bucket{le="..."} (cumulative, ending at +Inf), _sum and _count. */
void prom_render(const struct stats_snapshot *s, struct evbuffer *out);

/* Appends "# HELP NAME HELP" (HELP escaped) and "# TYPE NAME TYPE". */
void prom_family(struct evbuffer *out, const char *name, const char *type,
		 const char *help);
/* Appends the sample NAME{LABELS} V; LABELS is `k="v",...` already escaped
 * (prom_label_value), or NULL/"" for none. */
void prom_sample(struct evbuffer *out, const char *name, const char *labels,
		 double v);
/* Writes V as a label value into DST (LEN bytes, NUL-terminated; cut at a
 * character boundary when longer): backslash, '"' and LF escaped, bytes
 * that are not valid UTF-8 replaced by U+FFFD, so the exposition is always
 * UTF-8. Returns the length written. */
size_t prom_label_value(char *dst, size_t len, const char *v);

/* Fills a snapshot for one request (called on the event loop's thread). */
typedef void (*metrics_fill_fn)(void *arg, struct stats_snapshot *s);

/*
 * Serves GET /metrics on ADDR_PORT ("127.0.0.1:9109", "[::1]:9109"; port 0
 * picks a free one) from BASE's loop: each request calls FILL on a zeroed
 * snapshot and answers its exposition; any other path is 404, any other
 * method 405, a head over 8 KiB 431. One request a connection (then
 * closed); at most 16 connections at once (a quarter of them a client:
 * httpsrv.h) and 5 s for a request head and again for its answer until
 * metrics_limits() says otherwise; past the
 * descriptor reserve (common/fds.h) connections are closed at accept;
 * accept errors (EMFILE, ENOMEM) pause the listener 100 ms. Returns NULL
 * with errno (EINVAL: bad address) on failure.
 */
struct metrics_server *metrics_listen(struct event_base *base,
				      const char *addr_port,
				      metrics_fill_fn fill, void *arg);
/* Sets M's limits: MAX_CONNS open at once (more are closed at accept),
 * TIMEOUT_MS for a request head and again for its answer; 0 keeps the
 * default (16, 5000). Open connections keep their deadline. */
void metrics_limits(struct metrics_server *m, unsigned max_conns,
		    unsigned timeout_ms);
/* Appends more families to a request's answer after the table's (labelled
 * families the table cannot hold: per rule, per member, build info...);
 * called with the ARG given to metrics_listen. */
typedef void (*metrics_extra_fn)(void *arg, struct evbuffer *out);
/* Sets M's extra families (NULL: none). M may be NULL. */
void metrics_set_extra(struct metrics_server *m, metrics_extra_fn extra);
/* Answers a request for a path other than /metrics on the same listener
 * (sluiced's dashboard page): fills RP and returns true, or false for a
 * path it does not serve (answered 404). Called with the ARG given to
 * metrics_listen, for GET and HEAD only. */
struct http_request;
struct http_reply;
typedef bool (*metrics_page_fn)(void *arg, const struct http_request *rq,
				struct http_reply *rp);
/* Sets M's other pages (NULL: none, every other path is 404). M may be
 * NULL. */
void metrics_set_pages(struct metrics_server *m, metrics_page_fn pages);
/* Connections refused so far (limits, descriptor reserve, accept errors). */
uint64_t metrics_refused(const struct metrics_server *m);
/* The bound port (useful with port 0); 0 when unknown. */
unsigned metrics_port(const struct metrics_server *m);
/* Stops serving and frees M; NULL is fine. */
void metrics_close(struct metrics_server *m);

#endif
