/*
 * render.c — the text of sluicectl's remote commands, rendered from the
 * JSON answers of sluiced; see render.h. One function a kind of answer,
 * the table at the end maps a control command to its renderer.
 */
#include "sluicectl/render.h"
#include "common/text.h"
#include "common/util.h"
#include "stats/counters.h"
#include "stats/table.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The widest line a table writes. */
#define WIDTH 100

/* ---- reading the answer ------------------------------------------------ */

/* The string KEY of O; NULL when absent or not a string. */
static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The number KEY of O; 0 when absent or not a number. */
static double num(const json_t *o, const char *key)
{
	double v = json_number_value(json_object_get(o, key));
	return isfinite(v) ? v : 0;
}

/* The whole number KEY of O (0 when absent), for "%lld". */
static long long whole(const json_t *o, const char *key)
{
	return (long long)num(o, key);
}

/* The list KEY of the object V; NULL when V has no such array. */
static const json_t *list(const json_t *v, const char *key)
{
	const json_t *l = json_object_get(v, key);
	return json_is_array(l) ? l : NULL;
}

/* Seconds SECS for people ("20.7 s", "5.0 d") into BUF. */
static const char *secs(double s, char *buf, size_t len)
{
	stats_human_seconds(s, buf, len);
	return buf;
}

/* ---- status -------------------------------------------------------------- */

static int r_status(const json_t *v, struct evbuffer *out)
{
	if (!json_is_object(v) || !str(v, "version"))
		return -1;
	char up[24];
	evbuffer_add_printf(out, "sluiced ");
	stats_put_cell(out, str(v, "version"), 20, CELL_LAST);
	evbuffer_add_printf(out, ", up %s\npolicy:      ",
			    secs(num(v, "uptime_s"), up, sizeof(up)));
	stats_put_cell(out, str(v, "policy"), 46, CELL_LAST);
	evbuffer_add_printf(out, " (generation %lld, %lld rules)\nkernel:      ",
			    whole(v, "generation"), whole(v, "rules"));
	stats_put_cell(out, str(v, "queue_mode"), 30, CELL_LAST);
	evbuffer_add_printf(
	    out,
	    ", %lld queue(s) from %lld, fail %s\n"
	    "queued:      %lld packets\n"
	    "decisions:   %lld pending, %lld slots available, %lld "
	    "reserved-local available\n"
	    "             %lld timed out, %lld refused (slots full), "
	    "%lld refused (per-source cap)\n"
	    "identities:  %lld address entries\n"
	    "sessions:    %lld remembered\n"
	    "reloads:     %lld (%lld failed), %lld sessions revoked\n",
	    whole(v, "queues"), whole(v, "queue_num"),
	    strcmp(str(v, "fail") ? str(v, "fail") : "", "open") ? "closed"
								  : "open",
	    whole(v, "packets_queued"), whole(v, "pending"),
	    whole(v, "slots_available"), whole(v, "reserved_local_available"),
	    whole(v, "timed_out"), whole(v, "slots_full"),
	    whole(v, "source_full"), whole(v, "identities"),
	    whole(v, "sessions_remembered"), whole(v, "reloads"),
	    whole(v, "reload_failures"), whole(v, "revoked"));
	return 0;
}

/* ---- sessions ------------------------------------------------------------ */

/* One session, two lines: its key, state and time left; then, indented,
 * its rule, user and name ("-" unknown). */
static void session_row(const json_t *s, struct evbuffer *out)
{
	const char *key = str(s, "session");
	char ttl[24];
	if (key && strlen(key) > 79) { /* IPv6: the key alone */
		stats_put_cell(out, key, WIDTH, CELL_LAST);
		evbuffer_add_printf(out, "\n%79s", "");
	} else {
		stats_put_cell(out, key, 79, CELL_LEFT);
	}
	evbuffer_add(out, " ", 1);
	stats_put_cell(out, str(s, "state"), 11, CELL_LEFT);
	evbuffer_add(out, " ", 1);
	stats_put_cell(out, secs(num(s, "ttl_s"), ttl, sizeof(ttl)), 8,
		       CELL_RIGHT);
	evbuffer_add_printf(out, "\n    rule ");
	size_t used = 9 + stats_put_cell(out, str(s, "rule"), 36, CELL_LAST);
	evbuffer_add_printf(out, "  user ");
	used += 7 + stats_put_cell(out, str(s, "user"), 24, CELL_LAST);
	evbuffer_add_printf(out, "  name ");
	used += 7;
	stats_put_cell(out, str(s, "name"), used < WIDTH ? WIDTH - used : 1,
		       CELL_LAST);
	evbuffer_add(out, "\n", 1);
}

static int r_sessions(const json_t *v, struct evbuffer *out)
{
	const json_t *l = list(v, "sessions"), *s;
	size_t i;
	if (!l)
		return -1;
	evbuffer_add_printf(out, "%-79s %-11s %8s\n    rule, user, name\n",
			    "session", "state", "ttl");
	json_array_foreach(l, i, s)
		session_row(s, out);
	evbuffer_add_printf(out, "%zu sessions\n", json_array_size(l));
	return 0;
}

/* ---- pending ------------------------------------------------------------- */

static int r_pending(const json_t *v, struct evbuffer *out)
{
	const json_t *l = list(v, "pending"), *p;
	size_t i;
	if (!l)
		return -1;
	evbuffer_add_printf(out, "%-48s %9s  %-16s %s\n", "session", "age",
			    "waiting for", "rule");
	json_array_foreach(l, i, p) {
		const char *key = str(p, "session");
		bool local = json_is_true(json_object_get(p, "local"));
		char age[24];
		if (key && strlen(key) > 48) {
			stats_put_cell(out, key, WIDTH, CELL_LAST);
			evbuffer_add_printf(out, "\n%48s", "");
		} else {
			stats_put_cell(out, key, 48, CELL_LEFT);
		}
		evbuffer_add(out, " ", 1);
		stats_put_cell(out, secs(num(p, "age_ms") / 1000, age,
					 sizeof(age)), 9, CELL_RIGHT);
		evbuffer_add(out, "  ", 2);
		const char *w = str(p, "waiting");
		size_t used = 60 + stats_put_cell(out, w && *w ? w : "-", 16,
						  CELL_LEFT);
		evbuffer_add(out, " ", 1);
		used += 1 + (local ? 8 : 0);
		stats_put_cell(out, str(p, "rule"), WIDTH - used, CELL_LAST);
		evbuffer_add_printf(out, "%s\n", local ? " (local)" : "");
	}
	evbuffer_add_printf(out, "%zu pending\n", json_array_size(l));
	return 0;
}

/* ---- identities -------------------------------------------------------- */

/* The names of the array L, comma separated, as one cell of COLS. */
static void names_cell(struct evbuffer *out, const json_t *l, size_t cols)
{
	struct evbuffer *b = evbuffer_new();
	size_t i;
	const json_t *n;
	json_array_foreach(l, i, n)
		evbuffer_add_printf(b, "%s%s", i ? "," : "",
				    json_string_value(n) ? json_string_value(n)
							 : "?");
	evbuffer_add(b, "", 1);
	const char *s = (const char *)evbuffer_pullup(b, -1);
	stats_put_cell(out, s[0] ? s : "-", cols, CELL_LAST);
	evbuffer_free(b);
}

/* identity-list: a bare array (sluicectl(8) says why). */
static int r_identity_list(const json_t *v, struct evbuffer *out)
{
	const json_t *e;
	size_t i;
	if (!json_is_array(v))
		return -1;
	evbuffer_add_printf(out, "%-24s %-14s %-7s %-14s %9s %9s  %s\n",
			    "ADDRESS", "USER", "SOURCE", "LEARNED", "EXPIRES",
			    "IDLE", "GROUPS");
	json_array_foreach(v, i, e) {
		const char *a = str(e, "address");
		if (a && strlen(a) > 24) { /* a long IPv6 one: alone */
			stats_put_cell(out, a, WIDTH, CELL_LAST);
			evbuffer_add_printf(out, "\n%24s", "");
		} else {
			stats_put_cell(out, a, 24, CELL_LEFT);
		}
		evbuffer_add(out, " ", 1);
		stats_put_cell(out, str(e, "user"), 14, CELL_LEFT);
		evbuffer_add(out, " ", 1);
		stats_put_cell(out, str(e, "source"), 7, CELL_LEFT);
		char lb[32] = "-", ex[24], idle[24];
		time_t t = (time_t)num(e, "learned");
		struct tm tm;
		if (t > 0 && localtime_r(&t, &tm))
			strftime(lb, sizeof(lb), "%m-%d %H:%M:%S", &tm);
		evbuffer_add_printf(out, " %-14s ", lb);
		stats_put_cell(out, secs(num(e, "expires_in_s"), ex, sizeof(ex)),
			       9, CELL_RIGHT);
		evbuffer_add(out, " ", 1);
		stats_put_cell(out, secs(num(e, "idle_s"), idle, sizeof(idle)),
			       9, CELL_RIGHT);
		evbuffer_add(out, "  ", 2);
		/* 24+1+14+1+7+1+14+1+9+1+9+2 = 84 columns before */
		names_cell(out, json_object_get(e, "groups"), WIDTH - 84);
		evbuffer_add(out, "\n", 1);
	}
	evbuffer_add_printf(out, "%zu identities\n", json_array_size(v));
	return 0;
}

static int r_identity_sources(const json_t *v, struct evbuffer *out)
{
	static const char *const keys[] = {
	    "entries",	"logins",	   "logouts",	      "replaced",
	    "ignored",	"rejected_secret", "rejected_client", "rejected_malformed",
	    "replayed", "rejected_full"};
	if (!json_is_object(v))
		return -1;
	evbuffer_add_printf(out,
			    "%-8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n",
			    "SOURCE", "ENTRIES", "LOGINS", "LOGOUTS",
			    "REPLACED", "IGNORED", "BAD-AUTH", "BAD-CLNT",
			    "MALFORMD", "REPLAYED", "FULL");
	const char *name;
	const json_t *s;
	json_object_foreach((json_t *)v, name, s) {
		if (!json_is_object(s))
			continue;
		stats_put_cell(out, name, 8, CELL_LEFT);
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			evbuffer_add_printf(out, " %8lld", whole(s, keys[k]));
		evbuffer_add(out, "\n", 1);
	}
	return 0;
}

/* ---- floods, creations ------------------------------------------------- */

static int r_floods(const json_t *v, struct evbuffer *out)
{
	const json_t *l = list(v, "floods"), *f;
	size_t i;
	if (!l)
		return -1;
	evbuffer_add_printf(out, "%-44s %10s %9s  %s\n", "source", "refused",
			    "expires", "reason");
	json_array_foreach(l, i, f) {
		char ex[24];
		stats_put_cell(out, str(f, "source"), 44, CELL_LEFT);
		evbuffer_add_printf(out, " %10lld ", whole(f, "refused"));
		stats_put_cell(out, secs(num(f, "expires_s"), ex, sizeof(ex)), 9,
			       CELL_RIGHT);
		evbuffer_add(out, "  ", 2);
		char ho[48] = ""; /* 44+1+10+1+9+2 = 67 columns before */
		if (whole(f, "half_open"))
			snprintf(ho, sizeof(ho), " (%lld unanswered)",
				 whole(f, "half_open"));
		stats_put_cell(out, str(f, "reason"), WIDTH - 67 - strlen(ho),
			       CELL_LAST);
		evbuffer_add_printf(out, "%s\n", ho);
	}
	evbuffer_add_printf(out, "%zu sources limited\n", json_array_size(l));
	return 0;
}

/* Appends V (a string or a number; anything else "?") and a space. */
static void word(struct evbuffer *b, const json_t *v)
{
	if (json_is_string(v))
		evbuffer_add_printf(b, "%s ", json_string_value(v));
	else if (json_is_integer(v))
		evbuffer_add_printf(b, "%lld ", (long long)json_integer_value(v));
	else
		evbuffer_add_printf(b, "? ");
}

static int r_creations(const json_t *v, struct evbuffer *out)
{
	const json_t *l = list(v, "creations"), *c;
	size_t i;
	if (!l)
		return -1;
	evbuffer_add_printf(out, "%-12s %-60s %s\n", "set",
			    "[source] destination protocol port", "expires");
	json_array_foreach(l, i, c) {
		struct evbuffer *b = evbuffer_new();
		if (!json_is_null(json_object_get(c, "source")))
			word(b, json_object_get(c, "source"));
		word(b, json_object_get(c, "destination"));
		word(b, json_object_get(c, "protocol"));
		word(b, json_object_get(c, "port"));
		evbuffer_add(b, "", 1);
		stats_put_cell(out, str(c, "set"), 12, CELL_LEFT);
		evbuffer_add(out, " ", 1);
		stats_put_cell(out, (const char *)evbuffer_pullup(b, -1), 60,
			       CELL_LEFT);
		evbuffer_free(b);
		char ex[24];
		const json_t *e = json_object_get(c, "expires_s");
		evbuffer_add_printf(out, " %s\n", json_is_number(e)
			? secs(json_number_value(e), ex, sizeof(ex)) : "-");
	}
	evbuffer_add_printf(out, "%zu creation(s)\n", json_array_size(l));
	return 0;
}

/* ---- counters, alerts ---------------------------------------------------- */

static int r_counters(const json_t *v, struct evbuffer *out)
{
	struct stats_snapshot *s = xcalloc(1, sizeof(*s));
	int rc = stats_from_json(v, s);
	if (rc == 0)
		stats_render_text(s, list(v, "alerts"), out);
	free(s);
	return rc;
}

/* Alert A's value for people: in its counter's unit, "/s" for a rate. */
static void alert_value(const json_t *a, char *buf, size_t len)
{
	bool rate = json_is_true(json_object_get(a, "per_second"));
	const char *cn = str(a, "counter");
	const struct stats_counter *c = cn ? stats_counter_find(cn) : NULL;
	stats_human(num(a, "value"), rate || !c ? NULL : c->unit, buf, len);
	if (rate && strlen(buf) + 2 < len)
		strcat(buf, "/s");
}

/* Columns of the longest word of S (words end at spaces). */
static size_t longest_word(const char *s)
{
	size_t best = 0, cur = 0;
	for (; *s; s++) {
		if (*s == ' ')
			cur = 0;
		else if (((unsigned char)*s & 0xC0) != 0x80 && ++cur > best)
			best = cur;
	}
	return best;
}

static int r_alerts(const json_t *v, struct evbuffer *out)
{
	const json_t *l = list(v, "alerts"), *a;
	size_t i;
	if (!l)
		return -1;
	evbuffer_add_printf(out, "%-22s %-8s %10s %-20s %5s  %s\n", "ALERT",
			    "STATE", "VALUE", "SINCE (UTC)", "FIRED",
			    "CONDITION");
	json_array_foreach(l, i, a) {
		char val[32];
		alert_value(a, val, sizeof(val));
		size_t col = stats_put_cell(out, str(a, "name"), 22, CELL_LEFT);
		evbuffer_add(out, " ", 1);
		col += 1 + stats_put_cell(out, str(a, "state"), 8, CELL_LEFT);
		evbuffer_add(out, " ", 1);
		col += 1 + stats_put_cell(out, val, 10, CELL_RIGHT);
		evbuffer_add(out, " ", 1);
		col += 1 + stats_put_cell(out, str(a, "since"), 20, CELL_LEFT);
		evbuffer_add_printf(out, " %5lld  ", whole(a, "fired"));
		col += 8;
		/* the condition last, wrapped: 100 columns */
		const char *cond = str(a, "condition") ? str(a, "condition")
						       : "-";
		char *e = text_escape_dup(cond, strlen(cond), false);
		if (longest_word(e) > WIDTH - 71) { /* not sluiced's: cut */
			stats_put_cell(out, e, col < WIDTH ? WIDTH - col : 1,
				       CELL_LAST);
			evbuffer_add(out, "\n", 1);
		} else {
			stats_put_wrapped(out, e, col, WIDTH, 71);
		}
		free(e);
	}
	return 0;
}

/* ---- verifiers and farms ------------------------------------------------- */

/* One verifier, two lines: its name, method, target, state, time since
 * its last change and time down; then, indented, its last result,
 * response time, history and detail (a long detail on a third line). */
static void verifier_row(const json_t *c, struct evbuffer *out)
{
	char lc[24] = "-", down[24], rt[24] = "-", last[64] = "-";
	const json_t *chg = json_object_get(c, "last_change_s");
	if (json_is_number(chg))
		secs(json_number_value(chg), lc, sizeof(lc));
	secs(num(c, "downtime_s"), down, sizeof(down));
	if (str(c, "last")) {
		secs(num(c, "response_ms") / 1000, rt, sizeof(rt));
		if (whole(c, "http_status"))
			snprintf(last, sizeof(last), "%.40s (%lld)", str(c, "last"),
				 whole(c, "http_status"));
		else
			snprintf(last, sizeof(last), "%s", str(c, "last"));
	}
	const char *hist = str(c, "history"), *detail = str(c, "detail");
	if (!detail)
		detail = "";
	stats_put_cell(out, str(c, "name"), 24, CELL_LEFT);
	evbuffer_add(out, " ", 1);
	stats_put_cell(out, str(c, "method"), 5, CELL_LEFT);
	evbuffer_add(out, " ", 1);
	stats_put_cell(out, str(c, "target"), 38, CELL_LEFT);
	evbuffer_add(out, " ", 1);
	stats_put_cell(out, str(c, "state"), 8, CELL_LEFT);
	evbuffer_add(out, " ", 1);
	stats_put_cell(out, lc, 9, CELL_RIGHT);
	evbuffer_add(out, " ", 1);
	stats_put_cell(out, down, 9, CELL_RIGHT);
	evbuffer_add_printf(out, "\n  last ");
	stats_put_cell(out, last, 22, CELL_LEFT);
	evbuffer_add(out, " ", 1);
	stats_put_cell(out, rt, 8, CELL_LEFT);
	evbuffer_add_printf(out, " history ");
	/* history: 16 results; 35 columns are left for a short detail */
	bool inline_detail = detail[0] && strlen(detail) <= 35;
	stats_put_cell(out, hist && hist[0] ? hist : "-", 16,
		       inline_detail ? CELL_LEFT : CELL_LAST);
	if (inline_detail) {
		evbuffer_add(out, "  ", 2);
		stats_put_cell(out, detail, 35, CELL_LAST);
	} else if (detail[0]) { /* a long one on a line of its own */
		evbuffer_add(out, "\n    ", 5);
		stats_put_cell(out, detail, WIDTH - 4, CELL_LAST);
	}
	evbuffer_add(out, "\n", 1);
}

static int r_verifiers(const json_t *v, struct evbuffer *out)
{
	const json_t *l = list(v, "verifiers"), *c;
	size_t i;
	if (!l)
		return -1;
	evbuffer_add_printf(out, "%-24s %-5s %-38s %-8s %9s %9s\n"
			    "  last result, response time, history, detail\n",
			    "verifier", "check", "target", "state", "changed",
			    "down");
	json_array_foreach(l, i, c)
		verifier_row(c, out);
	evbuffer_add_printf(out, "%zu verifiers\n", json_array_size(l));
	return 0;
}

/* Farm F: its line, its publishes, one line a member. */
static void farm_rows(const json_t *f, struct evbuffer *out)
{
	const json_t *p, *m;
	size_t i;
	evbuffer_add_printf(out, "farm ");
	stats_put_cell(out, str(f, "farm"), 36, CELL_LAST);
	evbuffer_add_printf(out, " (%s, on-down %s, sorry ",
			    str(f, "balance") ? str(f, "balance") : "?",
			    str(f, "on_down") ? str(f, "on_down") : "?");
	stats_put_cell(out, str(f, "sorry") ? str(f, "sorry") : "none", 20,
		       CELL_LAST);
	evbuffer_add_printf(out, ")\n");
	json_array_foreach(json_object_get(f, "publishes"), i, p) {
		evbuffer_add_printf(out, "  publish \"");
		stats_put_cell(out, str(p, "name"), 35, CELL_LAST);
		evbuffer_add_printf(out, "\" ");
		stats_put_cell(out, str(p, "proto"), 4, CELL_LAST);
		evbuffer_add(out, " ", 1);
		stats_put_cell(out, str(p, "address"), 47, CELL_LAST);
		evbuffer_add(out, "\n", 1);
	}
	json_array_foreach(json_object_get(f, "members"), i, m) {
		evbuffer_add(out, "  ", 2);
		stats_put_cell(out, str(m, "name"), 16, CELL_LEFT);
		evbuffer_add(out, " ", 1);
		const char *a = str(m, "address"); /* [IPv6]:port up to 47 */
		stats_put_cell(out, a, a && strlen(a) > 28 ? 47 : 28, CELL_LEFT);
		evbuffer_add(out, " ", 1);
		stats_put_cell(out, str(m, "check"), 10, CELL_LEFT);
		evbuffer_add_printf(out, " %-8s %s\n",
				    json_is_true(json_object_get(m, "drained"))
					? "drained" : "",
				    json_is_true(json_object_get(m, "in_map"))
					? "in" : "out");
	}
}

static int r_farm_list(const json_t *v, struct evbuffer *out)
{
	const json_t *l = list(v, "farms"), *f;
	size_t i;
	if (!l)
		return -1;
	json_array_foreach(l, i, f)
		farm_rows(f, out);
	evbuffer_add_printf(out, "%zu farms\n", json_array_size(l));
	return 0;
}

/* farm-drain, farm-resume */
static int r_farm_member(const json_t *v, struct evbuffer *out)
{
	if (!str(v, "member"))
		return -1;
	stats_put_cell(out, str(v, "member"), 60, CELL_LAST);
	evbuffer_add_printf(out, " %s: %s new sessions\n",
			    json_is_true(json_object_get(v, "drained"))
				? "drained" : "resumed",
			    json_is_true(json_object_get(v, "in_map"))
				? "takes" : "takes no");
	return 0;
}

/* ---- the actions ------------------------------------------------------------- */

/* identity-add: "ADDR is USER for 8.0 h" from its fields. */
static int r_identity_add(const json_t *v, struct evbuffer *out)
{
	char ttl[24];
	if (!str(v, "address") || !str(v, "user"))
		return -1;
	stats_put_cell(out, str(v, "address"), 43, CELL_LAST);
	evbuffer_add_printf(out, " is ");
	stats_put_cell(out, str(v, "user"), 40, CELL_LAST);
	evbuffer_add_printf(out, " for %s\n", secs(num(v, "ttl_s"), ttl,
						   sizeof(ttl)));
	return 0;
}

/* settings: {"settings": [{"block", "key", "value", "reload",
 * "portal"}]}, a line a row, the value last (it may be long). */
static int r_settings(const json_t *v, struct evbuffer *out)
{
	const json_t *l = list(v, "settings"), *s;
	size_t i;
	if (!l)
		return -1;
	evbuffer_add_printf(out, "%-9s %-21s %-13s %s\n", "block", "key",
			    "applies on", "value");
	json_array_foreach(l, i, s) {
		const char *how = str(s, "reload");
		bool restart = how && strcmp(how, "restart") == 0;
		bool portal = json_is_true(json_object_get(s, "portal"));
		const char *val = str(s, "value");
		stats_put_cell(out, str(s, "block") ? str(s, "block") : "?", 9,
			       CELL_LEFT);
		evbuffer_add(out, " ", 1);
		stats_put_cell(out, str(s, "key") ? str(s, "key") : "?", 21,
			       CELL_LEFT);
		evbuffer_add_printf(out, " %-13s ",
				    restart ? "restart"
				    : portal ? "reload/portal" : "reload");
		stats_put_cell(out, val && *val ? val : "-", 100 - 46,
			       CELL_LAST);
		evbuffer_add(out, "\n", 1);
	}
	return 0;
}

/* reload, confirm, identity add/del/login/logout, creations add/del,
 * alerts reset: {"ok": true, "messages": [lines], ...}, the lines. */
static int r_messages(const json_t *v, struct evbuffer *out)
{
	const json_t *l = list(v, "messages"), *m;
	size_t i;
	if (!l)
		return -1;
	json_array_foreach(l, i, m) {
		const char *s = json_string_value(m);
		char *e = text_escape_dup(s ? s : "?", s ? strlen(s) : 1, false);
		evbuffer_add_printf(out, "%s\n", e);
		free(e);
	}
	return 0;
}

/* ---- the table ------------------------------------------------------------------ */

static const struct {
	const char *request;
	int (*fn)(const json_t *v, struct evbuffer *out);
} renderers[] = {
    {"status", r_status},
    {"sessions", r_sessions},
    {"pending", r_pending},
    {"identity-list", r_identity_list},
    {"identity-sources", r_identity_sources},
    {"floods", r_floods},
    {"creations-list", r_creations},
    {"counters", r_counters},
    {"alerts", r_alerts},
    {"verifiers", r_verifiers},
    {"farm-list", r_farm_list},
    {"identity-add", r_identity_add},
    {"farm-drain", r_farm_member},
    {"farm-resume", r_farm_member},
    {"settings", r_settings},
};

int render_answer(const char *request, const json_t *v, struct evbuffer *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(renderers); i++)
		if (strcmp(renderers[i].request, request) == 0)
			return renderers[i].fn(v, out);
	return r_messages(v, out);
}
