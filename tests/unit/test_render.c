/*
 * test_render.c — sluicectl's renderers (src/sluicectl/render.c) given
 * the answers sluiced sends, with hostile text in every string: a
 * control character, ESC, a C1 control, text escaped from byte 0xE9,
 * quotes and backslashes, a name of 3000 characters; and answers of the
 * wrong shape (members missing, of another type). Every renderer's text
 * is valid UTF-8, has no control character but '\n', no line wider than
 * 100 columns, no number in e-notation, and the names show (escaped);
 * an answer of the wrong shape gives -1 or a table of placeholders,
 * never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/text.h"
#include "sluicectl/render.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A hostile name: what json_text() makes of the bytes "Ren\xe9" (the
 * text \xE9), a quote, a backslash, \x01, ESC[2J, U+0085 (C1), a tab. */
#define HOSTILE "Ren\\xE9 \"q\" b\\s \x01 \x1b[2J \xc2\x85 t\tx"

static char longname[3001];

/* Renders the answer TEXT (JSON) of REQUEST; returns the text (to free)
 * or NULL when the renderer said -1. */
static char *render(const char *request, const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	struct evbuffer *out = evbuffer_new();
	int rc = render_answer(request, v, out);
	json_decref(v);
	char *s = NULL;
	if (rc == 0) {
		size_t n = evbuffer_get_length(out);
		s = malloc(n + 1);
		evbuffer_remove(out, s, n);
		s[n] = '\0';
	}
	evbuffer_free(out);
	return s;
}

/* TEXT is fit for a terminal: UTF-8, no control character but '\n', no
 * line past 100 columns, no e-notation. */
static void check_text(const char *what, const char *text)
{
	size_t n = strlen(text);
	if (!utf8_valid(text, n))
		fail_msg("%s: not UTF-8", what);
	size_t cols = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)text[i];
		size_t len = utf8_seq_len((const unsigned char *)text + i, n - i);
		unsigned cp = c;
		if (len == 2)
			cp = ((c & 0x1Fu) << 6) | ((unsigned char)text[i + 1] & 0x3Fu);
		if (c == '\n') {
			cols = 0;
		} else {
			if (len <= 2 && text_is_control(cp))
				fail_msg("%s: control character U+%04X at %zu:\n%s",
					 what, cp, i, text);
			if (++cols > 100)
				fail_msg("%s: a line of more than 100 columns:\n%s",
					 what, text);
		}
		if (c >= '0' && c <= '9' && i + 2 < n && text[i + 1] == 'e' &&
		    (text[i + 2] == '+' || text[i + 2] == '-'))
			fail_msg("%s: e-notation:\n%s", what, text);
		i += len ? len : 1;
	}
}

/* REQUEST's answer DOC renders, fit for a terminal, with WANT in it. */
static char *good(const char *request, const char *doc, const char *want)
{
	char *t = render(request, doc);
	if (!t)
		fail_msg("%s: -1 for %s", request, doc);
	check_text(request, t);
	if (want && !strstr(t, want))
		fail_msg("%s: no '%s' in\n%s", request, want, t);
	return t;
}

/* Builds a document from FMT (json_pack) and renders it. */
static char *good_pack(const char *request, const char *want, const char *fmt,
		       ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *v = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	assert_non_null(v);
	char *doc = json_dumps(v, JSON_ENSURE_ASCII);
	json_decref(v);
	char *t = good(request, doc, want);
	free(doc);
	return t;
}

static void test_hostile_names(void **state)
{
	(void)state;
	memset(longname, 'n', sizeof(longname) - 1);
	char *t;
	/* the escaped forms a reader sees: \x01, \x1b, \xc2\x85 (C1) */
	const char *esc = "Ren\\xE9 \"q\" b\\s \\x01 \\x1b[2J";

	t = good_pack("status", "decisions:", "{s:i,s:s,s:i,s:s,s:i,s:i,s:s,"
		      "s:i,s:i,s:s,s:i,s:i,s:i,s:i}", "schema_version", 1,
		      "version", "0.2.0", "uptime_s", 20729, "policy",
		      longname, "generation", 3, "rules", 12, "queue_mode",
		      HOSTILE, "queues", 2, "queue_num", 0, "fail", "closed",
		      "packets_queued", 17, "pending", 0, "slots_available",
		      1024, "source_full", 2);
	assert_non_null(strstr(t, "up 5.8 h")); /* 20729 s */
	assert_non_null(strstr(t, "fail closed"));
	free(t);

	t = good_pack("sessions", esc, "{s:i,s:[{s:s,s:s,s:i,s:s,s:s,s:s},"
		      "{s:s,s:s,s:i,s:s,s:n,s:n}]}", "schema_version", 1,
		      "sessions", "session", "tcp 198.18.1.2:40000 -> "
		      "198.18.2.2:80", "state", "ESTABLISHED", "ttl_s", 431999,
		      "rule", HOSTILE, "user", longname, "name", HOSTILE,
		      "session", longname, "state", HOSTILE, "ttl_s", 5, "rule",
		      longname, "user", "name");
	assert_non_null(strstr(t, "5.0 d")); /* 431999 s */
	assert_non_null(strstr(t, "2 sessions"));
	free(t);

	free(good_pack("pending", "1 pending", "{s:i,s:[{s:s,s:i,s:s,s:s,s:b}]}",
		       "schema_version", 1, "pending", "session", longname,
		       "age_ms", 1500, "waiting", HOSTILE, "rule", HOSTILE,
		       "local", 1));
	t = good_pack("identity-list", "o\"brien", "[{s:s,s:s,s:[s,s],s:s,s:i,"
		      "s:i,s:i},{s:s,s:s,s:[s],s:s,s:i,s:i,s:i}]", "address",
		      "2001:db8:1:2:3:4:5:6/128", "user", "o\"brien\\x",
		      "groups", HOSTILE, longname, "source", "api", "learned",
		      1700000000, "expires_in_s", 3600, "idle_s", 7, "address",
		      "198.18.1.2", "user", HOSTILE, "groups", "staff",
		      "source", HOSTILE, "learned", 0, "expires_in_s", 90,
		      "idle_s", 0);
	assert_non_null(strstr(t, "2 identities"));
	free(t);
	free(good_pack("identity-sources", "radius", "{s:i,s:{s:i},s:{s:i}}",
		       "schema_version", 1, "radius", "entries", 3, HOSTILE,
		       "logins", 1));
	free(good_pack("floods", "(9 unanswered)", "{s:i,s:[{s:s,s:i,s:i,s:s,"
		       "s:i}]}", "schema_version", 1, "floods", "source",
		       longname, "refused", 123456789, "expires_s", 30,
		       "reason", HOSTILE, "half_open", 9));
	free(good_pack("creations-list", "1 creation(s)", "{s:i,s:[{s:s,s:s,"
		       "s:s,s:s,s:i,s:i}]}", "schema_version", 1, "creations",
		       "set", HOSTILE, "source", longname, "destination",
		       HOSTILE, "protocol", "tcp", "port", 8080, "expires_s",
		       29));
	t = good_pack("alerts", "Ren\\xE9 \"q\" b\\s \\x01", "{s:i,s:[{s:s,s:s,s:b,s:s,s:s,s:b,s:f,"
		      "s:s,s:i}]}", "schema_version", 1, "alerts", "name",
		      HOSTILE, "state", "firing", "firing", 1, "condition",
		      longname, "counter", "process_heap_bytes", "per_second", 0,
		      "value", 1.69779e7, "since", HOSTILE, "fired", 2);
	assert_non_null(strstr(t, "16.2 MiB")); /* 1.69779e+07 bytes */
	free(t);
	free(good_pack("verifiers", "Ren\\xE9 \"q\" b\\s \\x01", "{s:i,s:[{s:s,s:s,s:s,s:s,s:s,s:i,"
		       "s:f,s:s,s:s,s:n,s:f},{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s,"
		       "s:s,s:i,s:f}]}", "schema_version", 1, "verifiers",
		       "name", HOSTILE, "method", HOSTILE, "target", longname,
		       "state", "up", "last", HOSTILE, "http_status", 200,
		       "response_ms", 0.85, "history", "++-+", "detail",
		       longname, "last_change_s", "downtime_s", 0.0, "name",
		       "web_farm/web1", "method", "http", "target", "x",
		       "state", "down", "last", "refused", "http_status", 0,
		       "response_ms", 12.5, "history", HOSTILE, "detail",
		       "short", "last_change_s", 75, "downtime_s", 20.7));
	free(good_pack("farm-list", "1 farms", "{s:i,s:[{s:s,s:s,s:s,s:s,"
		       "s:[{s:s,s:s,s:s}],s:[{s:s,s:s,s:s,s:b,s:b}]}]}",
		       "schema_version", 1, "farms", "farm", longname,
		       "balance", "round-robin", "on_down", "keep", "sorry",
		       HOSTILE, "publishes", "name", HOSTILE, "proto", "tcp",
		       "address", "[2001:db8:2:3:4:5:6:7]:65535", "members",
		       "name", HOSTILE, "address", longname, "check", "up",
		       "drained", 1, "in_map", 0));
	free(good_pack("farm-drain", "drained: takes no new sessions",
		       "{s:i,s:s,s:b,s:b}", "schema_version", 1, "member",
		       HOSTILE, "drained", 1, "in_map", 0));
	free(good_pack("identity-add", " for 8.0 h", "{s:i,s:b,s:[s],s:s,s:s,"
		       "s:i}", "schema_version", 1, "ok", 1, "messages", HOSTILE,
		       "address", "198.18.1.2", "user", longname, "ttl_s",
		       28800));
	t = good_pack("settings", "reload/portal", "{s:i,s:i,s:[{s:s,s:s,"
		      "s:s,s:s,s:b},{s:s,s:s,s:s,s:s,s:b}]}", "schema_version",
		      1, "generation", 3, "settings", "block", HOSTILE, "key",
		      longname, "value", longname, "reload", "live", "portal",
		      1, "block", "queue", "key", "count", "value", "",
		      "reload", "restart", "portal", 0);
	assert_non_null(strstr(t, "restart"));
	free(t);
	free(good_pack("reload", "reloaded", "{s:i,s:b,s:[s,s],s:i}",
		       "schema_version", 1, "ok", 1, "messages", "reloaded",
		       HOSTILE, "generation", 2));
}

/* An answer of another shape: -1 (the caller shows the JSON), or for the
 * tables whose members are missing, placeholders; never a crash. */
static void test_wrong_shapes(void **state)
{
	(void)state;
	static const char *const requests[] = {
	    "status",	 "sessions", "pending",	  "identity-list",
	    "identity-sources", "floods", "creations-list", "alerts",
	    "verifiers", "farm-list", "farm-drain", "reload", "counters",
	    "identity-add", "settings"};
	static const char *const docs[] = {
	    "[]", "{}", "7", "\"x\"", "null",
	    "{\"schema_version\": 1, \"sessions\": 5, \"alerts\": {}}",
	    "{\"schema_version\": 1, \"sessions\": [1, null, {}], "
	    "\"pending\": [[]], \"floods\": [{\"source\": 5}], \"verifiers\": "
	    "[{\"name\": []}], \"farms\": [{\"members\": [7]}], "
	    "\"creations\": [{}], \"alerts\": [{\"value\": \"x\"}], "
	    "\"messages\": [1, \"ok\"], \"counters\": {}}",
	    "[{\"address\": 5, \"groups\": \"x\"}, 3]",
	};
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		for (size_t j = 0; j < sizeof(docs) / sizeof(docs[0]); j++) {
			char *t = render(requests[i], docs[j]);
			if (t)
				check_text(requests[i], t);
			free(t);
		}
	/* the lists are objects: an array is not a session list */
	assert_null(render("sessions", "[]"));
	assert_null(render("verifiers", "[]"));
	assert_null(render("farm-list", "[]"));
	assert_null(render("reload", "{}"));
	assert_null(render("settings", "[]"));
	/* identity-list alone is an array */
	assert_null(render("identity-list", "{\"schema_version\": 1}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostile_names),
	    cmocka_unit_test(test_wrong_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
