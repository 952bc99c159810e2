/*
 * alerts.h — alerts on counters: definitions from the policy (`alert`
 * statements, docs/counters.md) plus the seeds' defaults, a state machine
 * per alert evaluated once a tick from a snapshot, and actions (log, run a
 * command). Everything runs on the caller's (event loop) thread and never
 * blocks: commands are started with posix_spawn and reaped by PID with
 * waitpid(WNOHANG) on later ticks.
 *
 * States: armed (counting events) → firing (actions ran; the condition may
 * still hold or have cleared) → armed again once `rearm` has passed since
 * firing (rearm 0: at the next tick), or only by alerts_reset() with
 * `rearm manual`.
 */
#ifndef SLUICE_STATS_ALERTS_H
#define SLUICE_STATS_ALERTS_H

#include "stats/counters.h"

#include <stdint.h>

struct evbuffer;
struct policy;
struct alert_def;
struct alerts;

/* Where alerts log: PRIO is a syslog priority (LOG_WARNING when an alert
 * fires, LOG_NOTICE when its condition clears or it is reset). */
typedef void (*alerts_log_fn)(void *arg, int prio, const char *msg);

/*
 * The alerts of policy P (may be NULL): its `alert` statements, and every
 * default alert (stats_counters[].thr) that P neither redefines nor turns
 * `off` by name. P may be freed afterwards. LOG may be NULL.
 */
struct alerts *alerts_new(const struct policy *p, alerts_log_fn log,
			  void *log_arg);
/* The same from a plain list (for tests and tools). */
struct alerts *alerts_new_defs(const struct alert_def *const *defs,
			       size_t ndefs, bool defaults, alerts_log_fn log,
			       void *log_arg);
/* Frees A. Commands still running are reaped by later alerts_tick() calls
 * of any alerts object, never waited for here. */
void alerts_free(struct alerts *a);

/* Evaluates every alert against S at NOW_MS (a monotonic clock, ms; the
 * daemon passes CLOCK_MONOTONIC, tests their own clock); fires, re-arms,
 * runs actions, reaps finished commands. */
void alerts_tick(struct alerts *a, const struct stats_snapshot *s,
		 int64_t now_ms);

/* Re-arms alert NAME (NULL or "all": every alert). Returns the number of
 * alerts reset, or -1 when NAME is no alert. */
int alerts_reset(struct alerts *a, const char *name, int64_t now_ms);

/* Number of alerts firing now. */
size_t alerts_firing(const struct alerts *a);
/* True when an alert on counter NAME is firing. */
bool alerts_counter_firing(const struct alerts *a, const char *name);
/* Times alert NAME fired; -1 when no such alert. */
long alerts_fired_count(const struct alerts *a, const char *name);

/* `sluicectl alerts`: every alert as an object (name, state, firing,
 * condition, counter, per_second, value in the counter's unit or per
 * second, since, fired, last_fired, default) in a new jansson array
 * (json_t, stats/jsonstr.h); A may be NULL (an empty array). NULL only
 * when out of memory. sluicectl renders the table (render.c). */
struct json_t *alerts_json(const struct alerts *a);

/* Test hook: the PID of alert NAME's running command, 0 if none. */
int alerts_child_pid(const struct alerts *a, const char *name);

#endif
