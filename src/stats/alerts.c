/*
 * alerts.c — alert state machines and their actions; see alerts.h.
 */
#include "stats/alerts.h"
#include "stats/table.h"
#include "stats/jsonstr.h"
#include "policy/policy.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define TREND_SAMPLES 128     /* samples kept over a `grows` window */
#define TREND_MIN_SAMPLES 10  /* fewer: no judgement yet */
#define TREND_MIN_R2 0.8      /* steady: the line explains 80 % */
#define TREND_MIN_GROWTH 0.01 /* and grew by 1 % of the mean over the window */
#define DEFAULT_REARM_MS 300000

enum alert_state { AL_ARMED, AL_FIRING };

struct sample {
	int64_t t;
	double v;
};

struct alert {
	/* definition (owned copies) */
	char *name, *counter, *of, *run;
	enum alert_op op;
	bool rate, log, manual, is_default;
	double value;
	uint32_t window_ms, events, within_ms, rearm_ms;
	const struct stats_counter *ctr, *ref;

	/* state */
	enum alert_state state;
	bool cond;	     /* the condition held at the last tick */
	double cur;	     /* the value judged at the last tick */
	double limit;	     /* the threshold at the last tick */
	int64_t since_ms;    /* the condition holds since (0: not) */
	int64_t fired_ms;    /* last firing */
	unsigned long fired; /* times fired */
	uint32_t nevents;    /* events since armed (no window) */
	int64_t *ev;	     /* `within`: the last EVENTS event times, a ring */
	uint32_t ev_head, ev_n;
	double prev;	     /* rate: the previous value and time */
	int64_t prev_ms;
	bool have_prev;
	struct sample trend[TREND_SAMPLES]; /* grows: a ring */
	size_t tr_head, tr_n;
	int64_t tr_last;
	double slope_h; /* grows: the fitted slope, per hour */
	pid_t child;
};

struct alerts {
	struct alert *v;
	size_t n;
	alerts_log_fn log;
	void *log_arg;
	int64_t wall_offset_ms; /* wall clock = tick clock + offset */
};

/* Commands of freed alerts objects still to reap (one loop thread). */
static pid_t orphans[64];

/* ---- building -------------------------------------------------------------- */

static void alert_init(struct alert *al, const struct alert_def *d)
{
	memset(al, 0, sizeof(*al));
	al->name = xstrdup(d->name);
	al->counter = xstrdup(d->counter);
	al->of = d->of ? xstrdup(d->of) : NULL;
	al->run = d->run ? xstrdup(d->run) : NULL;
	al->op = d->op;
	al->rate = d->rate;
	al->log = d->log || !d->run;
	al->manual = d->rearm_manual;
	al->value = d->value;
	al->window_ms = d->window_ms;
	al->events = d->events ? d->events : 1;
	al->within_ms = d->within_ms;
	al->rearm_ms = d->rearm_ms;
	al->ctr = stats_counter_find(d->counter);
	al->ref = d->of ? stats_counter_find(d->of) : NULL;
	if (al->within_ms)
		al->ev = xcalloc(al->events, sizeof(*al->ev));
}

static void alert_fini(struct alert *al)
{
	if (al->child > 0 && waitpid(al->child, NULL, WNOHANG) == 0)
		for (size_t i = 0; i < ARRAY_SIZE(orphans); i++)
			if (!orphans[i]) {
				orphans[i] = al->child;
				break;
			}
	free(al->name);
	free(al->counter);
	free(al->of);
	free(al->run);
	free(al->ev);
}

/* The default alert of table row C (its threshold) as a definition. */
static void default_def(const struct stats_counter *c, struct alert_def *d)
{
	memset(d, 0, sizeof(*d));
	d->name = (char *)c->thr.alert;
	d->counter = (char *)c->name;
	d->op = c->thr.cmp == CMP_GT ? ALERT_GT
		: c->thr.cmp == CMP_LT ? ALERT_LT
				       : ALERT_GROWS;
	d->value = c->thr.value;
	d->of = (char *)c->thr.of;
	d->window_ms = c->thr.window_ms;
	d->events = 1;
	d->rearm_ms = DEFAULT_REARM_MS;
	d->log = true;
}

struct alerts *alerts_new_defs(const struct alert_def *const *defs,
			       size_t ndefs, bool defaults, alerts_log_fn log,
			       void *log_arg)
{
	struct alerts *a = xcalloc(1, sizeof(*a));
	a->log = log;
	a->log_arg = log_arg;
	size_t cap = ndefs;
	for (const struct stats_counter *c = stats_counters; c->name; c++)
		cap += c->thr.cmp != CMP_NONE;
	a->v = xcalloc(cap ? cap : 1, sizeof(*a->v));
	if (defaults) {
		for (const struct stats_counter *c = stats_counters; c->name; c++) {
			if (c->thr.cmp == CMP_NONE || !c->thr.alert)
				continue;
			bool mine = false;
			for (size_t i = 0; i < ndefs && !mine; i++)
				mine = strcmp(defs[i]->name, c->thr.alert) == 0;
			if (mine)
				continue;
			struct alert_def d;
			default_def(c, &d);
			alert_init(&a->v[a->n], &d);
			a->v[a->n++].is_default = true;
		}
	}
	for (size_t i = 0; i < ndefs; i++)
		if (!defs[i]->off && defs[i]->counter)
			alert_init(&a->v[a->n++], defs[i]);
	return a;
}

struct alerts *alerts_new(const struct policy *p, alerts_log_fn log,
			  void *log_arg)
{
	return alerts_new_defs(p ? (const struct alert_def *const *)p->alerts
				 : NULL,
			       p ? p->nalerts : 0, true, log, log_arg);
}

void alerts_free(struct alerts *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		alert_fini(&a->v[i]);
	free(a->v);
	free(a);
}

/* ---- logging and actions ---------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
alog(struct alerts *a, int prio, const char *fmt, ...)
{
	if (!a->log)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->log(a->log_arg, prio, msg);
}

/* The condition of AL as text ("> 10", "> 50% of slots_total", ...). */
static const char *cond_text(const struct alert *al, char *buf, size_t len)
{
	static const char *const ops[] = {">", ">=", "<", "<="};
	if (al->op == ALERT_GROWS) {
		if (al->window_ms % 3600000 == 0)
			snprintf(buf, len, "grows over %uh",
				 al->window_ms / 3600000);
		else if (al->window_ms % 60000 == 0)
			snprintf(buf, len, "grows over %um", al->window_ms / 60000);
		else
			snprintf(buf, len, "grows over %us", al->window_ms / 1000);
	} else {
		snprintf(buf, len, "%s %.15g%s%s", ops[al->op], al->value,
			 al->of ? "% of " : "", al->of ? al->of : "");
	}
	return buf;
}

static void iso_time(int64_t wall_ms, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Starts AL's command with the alert in its environment; never waits. */
static void run_action(struct alerts *a, struct alert *al, int64_t now_ms)
{
	if (al->child > 0) {
		alog(a, LOG_WARNING, "alert '%s': previous command (pid %d) still "
		     "running; not started again", al->name, (int)al->child);
		return;
	}
	char *cmd = xstrdup(al->run), *save = NULL;
	char *argv[32];
	size_t argc = 0;
	for (char *w = strtok_r(cmd, " \t", &save); w && argc + 1 < 32;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	argv[argc] = NULL;

	char cond[96], since[32], val[64];
	cond_text(al, cond, sizeof(cond));
	iso_time((al->since_ms ? al->since_ms : now_ms) + a->wall_offset_ms,
		 since, sizeof(since));
	snprintf(val, sizeof(val), "%.17g", al->cur);
	size_t nenv = 0;
	while (environ && environ[nenv])
		nenv++;
	char **envp = xcalloc(nenv + 8, sizeof(*envp));
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "SLUICE_", 7) != 0)
			envp[k++] = environ[i];
	char *own[5] = {
	    xasprintf("SLUICE_ALERT=%s", al->name),
	    xasprintf("SLUICE_COUNTER=%s%s", al->counter, al->rate ? "/s" : ""),
	    xasprintf("SLUICE_VALUE=%s", val),
	    xasprintf("SLUICE_THRESHOLD=%s", cond),
	    xasprintf("SLUICE_SINCE=%s", since),
	};
	for (size_t i = 0; i < 5; i++)
		envp[k++] = own[i];
	envp[k] = NULL;

	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF);
	pid_t pid = 0;
	int rc = argc ? posix_spawn(&pid, argv[0], &fa, &at, argv, envp) : EINVAL;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc)
		alog(a, LOG_WARNING, "alert '%s': cannot run '%s': %s", al->name,
		     al->run, strerror(rc));
	else
		al->child = pid;
	for (size_t i = 0; i < 5; i++)
		free(own[i]);
	free(envp);
	free(cmd);
}

/* Reaps finished commands of A and the orphans, by PID, never blocking. */
static void reap(struct alerts *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct alert *al = &a->v[i];
		int st;
		if (al->child <= 0)
			continue;
		pid_t r = waitpid(al->child, &st, WNOHANG);
		if (r == 0)
			continue;
		if (r == al->child && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			alog(a, LOG_WARNING, "alert '%s': command '%s' %s %d",
			     al->name, al->run,
			     WIFEXITED(st) ? "exited with" : "killed by signal",
			     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		al->child = 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(orphans); i++)
		if (orphans[i] && waitpid(orphans[i], NULL, WNOHANG) != 0)
			orphans[i] = 0;
}

/* ---- evaluation --------------------------------------------------------------- */

/* Least squares over the trend ring: sets the slope (per hour) and returns
 * true when the series grows steadily over (most of) the window. */
static bool trend_grows(struct alert *al)
{
	if (al->tr_n < TREND_MIN_SAMPLES)
		return false;
	const struct sample *first =
	    &al->trend[(al->tr_head + TREND_SAMPLES - al->tr_n) % TREND_SAMPLES];
	const struct sample *last =
	    &al->trend[(al->tr_head + TREND_SAMPLES - 1) % TREND_SAMPLES];
	if ((double)(last->t - first->t) < 0.9 * al->window_ms)
		return false;
	double n = (double)al->tr_n, sx = 0, sy = 0;
	for (size_t i = 0; i < al->tr_n; i++) {
		const struct sample *s = &al->trend[(al->tr_head + TREND_SAMPLES -
						     al->tr_n + i) % TREND_SAMPLES];
		sx += (double)(s->t - first->t);
		sy += s->v;
	}
	double mx = sx / n, my = sy / n, sxx = 0, syy = 0, sxy = 0;
	for (size_t i = 0; i < al->tr_n; i++) {
		const struct sample *s = &al->trend[(al->tr_head + TREND_SAMPLES -
						     al->tr_n + i) % TREND_SAMPLES];
		double dx = (double)(s->t - first->t) - mx, dy = s->v - my;
		sxx += dx * dx;
		syy += dy * dy;
		sxy += dx * dy;
	}
	if (sxx <= 0)
		return false;
	double slope = sxy / sxx; /* per ms */
	al->slope_h = slope * 3600000.0;
	if (slope <= 0 || syy <= 0)
		return false;
	double r2 = sxy * sxy / (sxx * syy);
	double growth = slope * (double)al->window_ms;
	return r2 >= TREND_MIN_R2 && growth > TREND_MIN_GROWTH * fabs(my);
}

/* Adds a sample to the trend at most every window/120. */
static void trend_add(struct alert *al, int64_t now_ms, double v)
{
	int64_t period = al->window_ms / 120;
	if (al->tr_n && now_ms - al->tr_last < period)
		return;
	al->tr_last = now_ms;
	al->trend[al->tr_head] = (struct sample){now_ms, v};
	al->tr_head = (al->tr_head + 1) % TREND_SAMPLES;
	if (al->tr_n < TREND_SAMPLES)
		al->tr_n++;
	/* forget samples older than the window */
	while (al->tr_n > 1) {
		const struct sample *old = &al->trend[(al->tr_head + TREND_SAMPLES -
						       al->tr_n) % TREND_SAMPLES];
		if (now_ms - old->t <= (int64_t)al->window_ms)
			break;
		al->tr_n--;
	}
}

/* The condition of AL on S at NOW; sets al->cur and al->limit. */
static bool condition(struct alert *al, const struct stats_snapshot *s,
		      int64_t now_ms)
{
	double v = stats_value(s, al->ctr);
	if (al->op == ALERT_GROWS) {
		al->cur = v;
		trend_add(al, now_ms, v);
		return trend_grows(al);
	}
	if (al->rate) {
		bool ok = al->have_prev && now_ms > al->prev_ms;
		double r = ok && v >= al->prev
			       ? (v - al->prev) * 1000.0 / (double)(now_ms - al->prev_ms)
			       : 0;
		al->prev = v;
		al->prev_ms = now_ms;
		al->have_prev = true;
		if (!ok)
			return false;
		v = r;
	}
	al->cur = v;
	al->limit = al->ref ? stats_value(s, al->ref) * al->value / 100.0
			    : al->value;
	switch (al->op) {
	case ALERT_GT: return v > al->limit;
	case ALERT_GE: return v >= al->limit;
	case ALERT_LT: return v < al->limit;
	case ALERT_LE: return v <= al->limit;
	default: return false;
	}
}

/* Counts one event; true when enough events (within the window) fire. */
static bool count_event(struct alert *al, int64_t now_ms)
{
	if (!al->within_ms)
		return ++al->nevents >= al->events;
	al->ev[al->ev_head] = now_ms;
	al->ev_head = (al->ev_head + 1) % al->events;
	if (al->ev_n < al->events)
		al->ev_n++;
	if (al->ev_n < al->events)
		return false;
	int64_t oldest = al->ev[al->ev_head % al->events];
	return now_ms - oldest <= (int64_t)al->within_ms;
}

static void arm(struct alert *al)
{
	al->state = AL_ARMED;
	al->nevents = 0;
	al->ev_n = 0;
	al->ev_head = 0;
}

static void fire(struct alerts *a, struct alert *al, int64_t now_ms)
{
	char cond[96];
	al->state = AL_FIRING;
	al->fired_ms = now_ms;
	al->fired++;
	cond_text(al, cond, sizeof(cond));
	if (al->log) {
		if (al->op == ALERT_GROWS)
			alog(a, LOG_WARNING, "alert '%s': %s %s: now %.17g, "
			     "+%.6g per hour", al->name, al->counter, cond,
			     al->cur, al->slope_h);
		else
			alog(a, LOG_WARNING, "alert '%s': %s%s %s: value %.17g",
			     al->name, al->counter, al->rate ? "/s" : "", cond,
			     al->cur);
	}
	if (al->run)
		run_action(a, al, now_ms);
}

static void tick_one(struct alerts *a, struct alert *al,
		     const struct stats_snapshot *s, int64_t now_ms)
{
	if (!al->ctr || (al->of && !al->ref))
		return;
	bool was = al->cond;
	al->cond = condition(al, s, now_ms);
	if (al->cond && !was)
		al->since_ms = now_ms;
	else if (!al->cond)
		al->since_ms = 0;
	if (al->state == AL_FIRING && was && !al->cond)
		alog(a, LOG_NOTICE, "alert '%s': %s back to %.17g (cleared)",
		     al->name, al->counter, al->cur);
	if (al->state == AL_FIRING && !al->manual &&
	    now_ms - al->fired_ms >= (int64_t)al->rearm_ms)
		arm(al);
	if (al->state == AL_ARMED && al->cond && count_event(al, now_ms))
		fire(a, al, now_ms);
}

void alerts_tick(struct alerts *a, const struct stats_snapshot *s,
		 int64_t now_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	a->wall_offset_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
			    now_ms;
	reap(a);
	for (size_t i = 0; i < a->n; i++)
		tick_one(a, &a->v[i], s, now_ms);
}

int alerts_reset(struct alerts *a, const char *name, int64_t now_ms)
{
	bool all = !name || strcmp(name, "all") == 0;
	int n = 0;
	(void)now_ms;
	for (size_t i = 0; i < a->n; i++) {
		struct alert *al = &a->v[i];
		if (!all && strcmp(al->name, name) != 0)
			continue;
		if (al->state == AL_FIRING)
			alog(a, LOG_NOTICE, "alert '%s': reset", al->name);
		arm(al);
		n++;
	}
	return all || n ? n : -1;
}

size_t alerts_firing(const struct alerts *a)
{
	size_t n = 0;
	for (size_t i = 0; i < a->n; i++)
		n += a->v[i].state == AL_FIRING;
	return n;
}

bool alerts_counter_firing(const struct alerts *a, const char *name)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (a->v[i].state == AL_FIRING &&
		    strcmp(a->v[i].counter, name) == 0)
			return true;
	return false;
}

long alerts_fired_count(const struct alerts *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			return (long)a->v[i].fired;
	return -1;
}

int alerts_child_pid(const struct alerts *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			return (int)a->v[i].child;
	return 0;
}

/* ---- listing ------------------------------------------------------------------- */

static const char *state_text(const struct alert *al)
{
	if (al->state == AL_ARMED)
		return al->cond ? "pending" : "ok";
	if (al->manual)
		return al->cond ? "firing (reset by hand)"
				: "cleared (reset by hand)";
	return al->cond ? "firing" : "cleared";
}

/* The texts of alert AL's row: FULL its condition, SINCE and LAST the
 * times (UTC, ISO 8601) it met its condition and last fired, "" for never. */
static void alert_texts(const struct alerts *a, const struct alert *al,
			char *full, size_t flen, char *since, char *last,
			size_t tlen)
{
	char cond[96];
	snprintf(full, flen, "%s%s %s", al->counter, al->rate ? "/s" : "",
		 cond_text(al, cond, sizeof(cond)));
	since[0] = last[0] = '\0';
	if (al->since_ms)
		iso_time(al->since_ms + a->wall_offset_ms, since, tlen);
	if (al->fired)
		iso_time(al->fired_ms + a->wall_offset_ms, last, tlen);
}

json_t *alerts_json(const struct alerts *a)
{
	json_t *list = json_array();
	char full[160], since[32], last[32];
	for (size_t i = 0; a && i < a->n; i++) {
		const struct alert *al = &a->v[i];
		alert_texts(a, al, full, sizeof(full), since, last, sizeof(since));
		json_array_append_new(list, json_pack(
		    "{s:o,s:s,s:b,s:o,s:o,s:b,s:f,s:o,s:I,s:o,s:b}", "name",
		    json_text(al->name), "state", state_text(al), "firing",
		    al->state == AL_FIRING, "condition", json_text(full),
		    "counter", json_text(al->counter), "per_second",
		    al->rate, "value", isfinite(al->cur) ? al->cur : 0.0,
		    "since", json_text(since[0] ? since : NULL), "fired",
		    (json_int_t)al->fired, "last_fired",
		    json_text(last[0] ? last : NULL), "default",
		    al->is_default));
	}
	return list;
}
