/*
 * dashboard.h — sluiced's dashboard page on the metrics listener
 * (sluiced(8), DASHBOARD): the page (web/, embedded at build time), its
 * JSON, and the last hour of a few counters and of the farm members'
 * states (stats/history.h), sampled every DASHBOARD_INTERVAL_S seconds.
 */
#ifndef SLUICED_DASHBOARD_H
#define SLUICED_DASHBOARD_H

#include <stdbool.h>

struct daemon;
struct http_request;
struct http_reply;

/* A sample every this many seconds, this many kept (one hour). */
#define DASHBOARD_INTERVAL_S 10
#define DASHBOARD_SAMPLES 360
/* The top users and rules: this many each, counted again at most every
 * DASHBOARD_INTERVAL_S (one conntrack dump a period, and only while
 * someone reads the page). */
#define DASHBOARD_TOP 10

/* Starts the sampling of D (the first sample at once); no-op when
 * running. Main loop only. */
void dashboard_start(struct daemon *d);
/* Stops it and frees what it keeps; no-op when not running. */
void dashboard_stop(struct daemon *d);

/*
 * A metrics_page_fn (stats/prom.h) for daemon ARG. Serves, for GET and
 * HEAD:
 *   /, /dashboard, /dashboard/   the page (text/html)
 *   /dashboard/app.js, app.css   its script and style
 *   /dashboard/uPlot.iife.min.js, uPlot.min.css, uPlot.LICENSE
 *                                the charting library (uPlot, MIT)
 *   /dashboard/data.json         now: status, counters, alerts, farms,
 *                                verifiers (the control commands' JSON),
 *                                top users and rules by active sessions
 *   /dashboard/history.json      the last hour (history_json())
 * Returns false for any other path. Main loop only.
 */
bool dashboard_serve(void *arg, const struct http_request *rq,
		     struct http_reply *rp);

#endif
