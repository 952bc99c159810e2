/*
 * dashboard.c — see dashboard.h. The page's files are web/ embedded by
 * the build (xxd -i, src/sluiced/meson.build); its data are what the
 * control commands answer with --json (status, counters with alerts,
 * farm-list, verifiers), so the page shows the numbers `sluicectl` shows,
 * computed in one place. Added here: the history ring and the top users
 * and rules, counted from conntrack as `sluicectl sessions` lists them.
 */
#include "sluiced/dashboard.h"
#include "sluiced/daemon.h"
#include "common/log.h"
#include "common/mark.h"
#include "common/text.h"
#include "common/util.h"
#include "decide/sessions.h"
#include "kernel/conntrack.h"
#include "stats/counters.h"
#include "stats/history.h"
#include "stats/httpsrv.h"

#include "sluiced/dash_html.h"
#include "sluiced/dash_js.h"
#include "sluiced/dash_css.h"
#include "sluiced/dash_uplot_js.h"
#include "sluiced/dash_uplot_css.h"
#include "sluiced/dash_uplot_license.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A count of the top users and rules under way: the conntrack dump read
 * on the event loop as it comes (TOP_READS socket buffers a turn), each
 * entry counted as read, none kept. */
struct top_count {
	struct ct_stream *st;
	struct event *ev;
	json_t *users, *rules;	 /* name -> sessions */
	size_t n, anon, own;
	uint64_t start_ms;
};
#define TOP_READS 4

struct dashboard {
	struct history *hist;
	struct event *ev;      /* the next sample */
	json_t *top;	       /* the last count of top users and rules */
	uint64_t top_ms;       /* when that count started (mono_ms) */
	struct top_count *tc;  /* the count under way, or NULL */
};

/* The counters the history keeps (names of the counters table: their
 * values come from daemon_snapshot(), as everywhere else). */
static const char *const fields[] = {
    "packets_backlogged",	     "slots_available",
    "slots_total",		     "decisions_pending",
    "decisions_timed_out",	     "dns_cache_hits",
    "identity_cache_hits",	     "process_resident_memory_bytes",
    "process_heap_bytes",	     "verdicts_allow",
    "verdicts_deny",		     "verdicts_fail",
    "sessions_kernel_allowed",	     "sessions_kernel_denied",
    "sessions_active",		     "farm_members_up",
    "farm_members_down",
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Farm members read for one sample at most (the history keeps
 * HISTORY_MEMBERS_MAX of them; more are counted as dropped). */
#define SAMPLE_MEMBERS_MAX 256

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1e3;
}

/* What control command NAME answers with --json (no arguments), parsed;
 * NULL when it fails or its answer is not JSON. */
static json_t *command_json(struct daemon *d, const char *name)
{
	for (const struct control_command *c = daemon_commands; c->name; c++) {
		if (strcmp(c->name, name) != 0)
			continue;
		if (!c->fn) /* a stream: not one the dashboard reads */
			return NULL;
		struct evbuffer *b = evbuffer_new();
		json_t *j = NULL;
		if (b && c->fn(d, NULL, b) == 0) {
			size_t len = evbuffer_get_length(b);
			const char *text = (const char *)evbuffer_pullup(b, -1);
			if (text)
				j = json_loadb(text, len, 0, NULL);
		}
		if (b)
			evbuffer_free(b);
		return j;
	}
	return NULL;
}

/* The list KEY of what control command NAME answers ({"schema_version",
 * KEY: [...]}), a new reference; NULL when it fails. */
static json_t *command_list(struct daemon *d, const char *name,
			    const char *key)
{
	json_t *j = command_json(d, name);
	json_t *list = json_incref(json_object_get(j, key));
	json_decref(j);
	return list;
}

/* ---- the history --------------------------------------------------------- */

/* A member's state from its object in `farm-list --json`. */
static enum history_state member_state(json_t *m)
{
	if (json_is_true(json_object_get(m, "drained")))
		return HS_DRAINED;
	json_t *c = json_object_get(m, "check");
	const char *s = json_is_string(c) ? json_string_value(c) : "";
	return !strcmp(s, "up") ? HS_UP : !strcmp(s, "down") ? HS_DOWN
							   : HS_UNKNOWN;
}

/* Fills M (at most MAX) with the farm members of D, named "FARM/MEMBER"
 * in NAMES (to free); returns how many. */
static size_t members_now(struct daemon *d, struct history_member *m,
			  char **names, size_t max)
{
	json_t *farms = d->farms ? command_list(d, "farm-list", "farms") : NULL;
	size_t n = 0, i, j;
	json_t *f, *mb;
	json_array_foreach(farms, i, f) {
		const char *fname = json_string_value(json_object_get(f, "farm"));
		json_array_foreach(json_object_get(f, "members"), j, mb) {
			const char *mname =
			    json_string_value(json_object_get(mb, "name"));
			if (!fname || !mname || n >= max)
				continue;
			size_t len = strlen(fname) + strlen(mname) + 2;
			names[n] = xmalloc(len);
			snprintf(names[n], len, "%s/%s", fname, mname);
			m[n].name = names[n];
			m[n].state = member_state(mb);
			n++;
		}
	}
	json_decref(farms);
	return n;
}

static void sample(struct daemon *d)
{
	struct stats_snapshot *s = xcalloc(1, sizeof(*s));
	daemon_snapshot(d, s);
	double v[NFIELDS];
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct stats_counter *c = stats_counter_find(fields[i]);
		v[i] = c ? stats_value(s, c) : NAN;
	}
	free(s);
	struct history_member *m = xcalloc(SAMPLE_MEMBERS_MAX, sizeof(*m));
	char **names = xcalloc(SAMPLE_MEMBERS_MAX, sizeof(*names));
	size_t n = members_now(d, m, names, SAMPLE_MEMBERS_MAX);
	history_add(d->dash->hist, now_s(), v, m, n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(m);
}

static void on_sample(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	sample(d);
	struct timeval tv = {DASHBOARD_INTERVAL_S, 0};
	event_add(d->dash->ev, &tv);
}

void dashboard_start(struct daemon *d)
{
	if (d->dash)
		return;
	struct dashboard *ds = xcalloc(1, sizeof(*ds));
	ds->hist = history_new(fields, NFIELDS, DASHBOARD_SAMPLES,
			       DASHBOARD_INTERVAL_S);
	ds->ev = evtimer_new(d->base, on_sample, d);
	d->dash = ds;
	/* the first sample once the loop runs (the workers exist then) */
	struct timeval tv = {1, 0};
	if (ds->ev)
		event_add(ds->ev, &tv);
}

static void top_count_free(struct top_count *tc);

void dashboard_stop(struct daemon *d)
{
	struct dashboard *ds = d->dash;
	if (!ds)
		return;
	if (ds->ev)
		event_free(ds->ev);
	top_count_free(ds->tc);
	history_free(ds->hist);
	json_decref(ds->top);
	free(ds);
	d->dash = NULL;
}

/* ---- top users and rules -------------------------------------------------- */

/* Adds one to the count of NAME (shown escaped) in object COUNTS. */
static void bump(json_t *counts, const char *name)
{
	char *k = text_escape_dup(name, strlen(name), false);
	json_t *v = json_object_get(counts, k);
	if (v)
		json_integer_set(v, json_integer_value(v) + 1);
	else
		json_object_set_new(counts, k, json_integer(1));
	free(k);
}

struct ranked {
	const char *name;
	json_int_t n;
};

static int by_count(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The DASHBOARD_TOP largest counts of COUNTS as [{"name", "sessions"}],
 * largest first (ties by name). */
static json_t *top_of(json_t *counts)
{
	size_t n = json_object_size(counts), i = 0;
	struct ranked *r = xcalloc(n ? n : 1, sizeof(*r));
	const char *k;
	json_t *v;
	json_object_foreach(counts, k, v) {
		r[i].name = k;
		r[i++].n = json_integer_value(v);
	}
	qsort(r, n, sizeof(*r), by_count);
	json_t *a = json_array();
	for (i = 0; i < n && i < DASHBOARD_TOP; i++)
		json_array_append_new(a, json_pack("{s:s,s:I}", "name", r[i].name,
						   "sessions", r[i].n));
	free(r);
	return a;
}

static void top_count_free(struct top_count *tc)
{
	if (!tc)
		return;
	if (tc->ev)
		event_free(tc->ev);
	ct_stream_close(tc->st);
	json_decref(tc->users);
	json_decref(tc->rules);
	free(tc);
}

/* One entry of the dump: an allowed session counted by user (the facts of
 * its decision) and by rule (the ct mark's rule id), as `sluicectl
 * sessions` lists them; sluiced's own (checks and lookups) apart. */
static void top_one(const struct ct_entry *e, void *arg)
{
	struct daemon *d = arg;
	struct top_count *tc = d->dash->tc;
	if (mark_dec(d->kopts.mark_shift, e->mark) != MARK_DEC_ALLOW)
		return;
	uint32_t rid = mark_id(d->kopts.mark_shift, e->mark);
	if (rid == MARK_ID_SELF) {
		tc->own++;
		return;
	}
	char rb[32];
	bump(tc->rules, daemon_rule_name(d->gen, rid, rb, sizeof(rb)));
	struct session_info si;
	entry_session_get(d->sessions, e, &si);
	if (si.user)
		bump(tc->users, si.user);
	else
		tc->anon++;
	session_info_clear(&si);
	tc->n++;
}

/* The dump has more: counted; at its end the count replaces the last one
 * ({"top_users", "top_rules", "sessions" (counted),
 * "sessions_without_user" (of those), "sessions_own" (sluiced's own: not
 * counted)}). A dump that fails leaves the last count in place. */
static void on_top_ready(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct dashboard *ds = d->dash;
	struct top_count *tc = ds->tc;
	int rc = ct_stream_read(tc->st, TOP_READS);
	if (rc == 0) {
		event_add(tc->ev, NULL);
		return;
	}
	if (rc > 0) {
		json_decref(ds->top);
		ds->top = json_pack(
		    "{s:o,s:o,s:I,s:I,s:I}", "top_users", top_of(tc->users),
		    "top_rules", top_of(tc->rules), "sessions",
		    (json_int_t)tc->n, "sessions_without_user",
		    (json_int_t)tc->anon, "sessions_own", (json_int_t)tc->own);
		ds->top_ms = tc->start_ms;
	} else {
		log_debug("dashboard: reading conntrack: %s", strerror(errno));
	}
	top_count_free(tc);
	ds->tc = NULL;
}

/* Starts a count of the top users and rules (none under way). */
static void top_count_start(struct daemon *d)
{
	struct dashboard *ds = d->dash;
	struct top_count *tc = xcalloc(1, sizeof(*tc));
	tc->start_ms = mono_ms();
	tc->users = json_object();
	tc->rules = json_object();
	ds->tc = tc;
	tc->st = ct_stream_open(top_one, d);
	if (tc->st)
		tc->ev = event_new(d->base, ct_stream_fd(tc->st), EV_READ,
				   on_top_ready, d);
	if (!tc->ev || event_add(tc->ev, NULL) < 0) {
		log_debug("dashboard: cannot read conntrack: %s",
			  strerror(errno));
		top_count_free(tc);
		ds->tc = NULL;
	}
}

/* The last count of the top users and rules (NULL before the first has
 * ended); a new one is started when it is older than one interval, and is
 * what a later request sees: a busy gateway's table takes a second or more
 * to read, and read at once it stopped the event loop for as long. */
static json_t *top_now(struct daemon *d)
{
	struct dashboard *ds = d->dash;
	if (!ds->tc && (!ds->top ||
			mono_ms() - ds->top_ms >= DASHBOARD_INTERVAL_S * 1000u))
		top_count_start(d);
	return ds->top;
}

/* ---- the JSON documents ----------------------------------------------------- */

/* Sets KEY of O to V, or to null when V is NULL (a command that failed). */
static void set_or_null(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v ? v : json_null());
}

/* data.json: {"schema_version": 1, "time": epoch seconds, "interval_s",
 * "status": status --json, then the members of counters --json
 * ("counters", "alerts", "past_threshold"), "farms": the list of farm-list
 * --json, "verifiers": the list of verifiers --json, and the top users' and rules' count's
 * members (top_now(); null until the first count has ended)}. */
static json_t *data_json(struct daemon *d)
{
	json_t *o = json_object();
	json_object_set_new(o, "schema_version", json_integer(1));
	json_object_set_new(o, "time", json_real(now_s()));
	json_object_set_new(o, "interval_s", json_integer(DASHBOARD_INTERVAL_S));
	set_or_null(o, "status", command_json(d, "status"));
	json_t *c = command_json(d, "counters");
	const char *k;
	json_t *v;
	json_object_foreach(c, k, v) {
		if (strcmp(k, "schema_version") != 0)
			json_object_set(o, k, v);
	}
	if (!json_object_get(o, "counters"))
		json_object_set_new(o, "counters", json_null());
	json_decref(c);
	set_or_null(o, "farms",
		    d->farms ? command_list(d, "farm-list", "farms") : NULL);
	set_or_null(o, "verifiers", d->farms ? command_list(d, "verifiers",
							    "verifiers")
					     : NULL);
	json_t *top = top_now(d);
	if (top) {
		json_object_update(o, top);
	} else { /* the first count is still being read */
		static const char *const keys[] = {
		    "top_users", "top_rules", "sessions",
		    "sessions_without_user", "sessions_own"};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			json_object_set_new(o, keys[i], json_null());
	}
	return o;
}

/* ---- serving ------------------------------------------------------------------ */

/* Headers of every answer: no sniffing, no framing, no referrer. */
#define COMMON_HEADERS                                                          \
	"X-Content-Type-Options: nosniff\r\n"                                   \
	"X-Frame-Options: DENY\r\n"                                             \
	"Referrer-Policy: no-referrer\r\n"
/* The page: its own files only (no inline script, nothing from outside). */
#define PAGE_HEADERS                                                            \
	COMMON_HEADERS                                                          \
	"Cache-Control: no-cache\r\n"                                           \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; "      \
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; "         \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
#define DATA_HEADERS COMMON_HEADERS "Cache-Control: no-store\r\n"

struct asset {
	const char *path, *ctype;
	const unsigned char *data;
	const unsigned int *len;
};

static const struct asset assets[] = {
    {"/", "text/html; charset=utf-8", dash_html, &dash_html_len},
    {"/dashboard", "text/html; charset=utf-8", dash_html, &dash_html_len},
    {"/dashboard/", "text/html; charset=utf-8", dash_html, &dash_html_len},
    {"/dashboard/app.js", "text/javascript; charset=utf-8", dash_js,
     &dash_js_len},
    {"/dashboard/app.css", "text/css; charset=utf-8", dash_css,
     &dash_css_len},
    {"/dashboard/uPlot.iife.min.js", "text/javascript; charset=utf-8",
     dash_uplot_js, &dash_uplot_js_len},
    {"/dashboard/uPlot.min.css", "text/css; charset=utf-8", dash_uplot_css,
     &dash_uplot_css_len},
    {"/dashboard/uPlot.LICENSE", "text/plain; charset=utf-8",
     dash_uplot_license, &dash_uplot_license_len},
};

/* Appends J as compact ASCII JSON to RP's body, with DATA_HEADERS. */
static void reply_json(struct http_reply *rp, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	if (!text) {
		rp->status = 500;
		evbuffer_add_printf(rp->body, "cannot build the JSON\n");
		return;
	}
	rp->ctype = "application/json";
	rp->headers = DATA_HEADERS;
	evbuffer_add(rp->body, text, strlen(text));
	evbuffer_add(rp->body, "\n", 1);
	free(text);
}

/* True when the first LEN bytes of TARGET are PATH. */
static bool is(const char *target, size_t len, const char *path)
{
	return strlen(path) == len && strncmp(target, path, len) == 0;
}

bool dashboard_serve(void *arg, const struct http_request *rq,
		     struct http_reply *rp)
{
	struct daemon *d = arg;
	size_t len = strcspn(rq->target, "?#");
	if (!d->dash)
		return false;
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		if (!is(rq->target, len, assets[i].path))
			continue;
		rp->ctype = assets[i].ctype;
		rp->headers = PAGE_HEADERS;
		evbuffer_add(rp->body, assets[i].data, *assets[i].len);
		return true;
	}
	json_t *j;
	if (is(rq->target, len, "/dashboard/data.json"))
		j = data_json(d);
	else if (is(rq->target, len, "/dashboard/history.json"))
		j = history_json(d->dash->hist);
	else
		return false;
	reply_json(rp, j);
	json_decref(j);
	return true;
}
