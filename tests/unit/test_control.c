/*
 * test_control.c — the control protocol (src/control), name checks and
 * escaping (common/text.h), state files (common/statefile.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/statefile.h"
#include "common/text.h"
#include "control/control.h"
#include "sluiced/jsonout.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
	assert_false(utf8_valid("caf\xe9", 4));		/* Latin-1 */
	assert_false(utf8_valid("\xc0\xaf", 2));		/* overlong '/' */
	assert_false(utf8_valid("\xe0\x80\xaf", 3));	/* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));	/* a surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_false(utf8_valid("\xe2\x82", 2));		/* cut short */
	assert_true(utf8_valid("", 0));
}

static void test_names(void **state)
{
	(void)state;
	assert_null(text_name_problem("carol"));
	assert_null(text_name_problem("\"alice"));
	assert_null(text_name_problem("-bob"));
	assert_null(text_name_problem("J\xc3\xa9r\xc3\xb4me"));
	assert_non_null(strstr(text_name_problem(""), "empty"));
	assert_non_null(strstr(text_name_problem("mallory\t--groups"), "control"));
	assert_non_null(strstr(text_name_problem("a\nb"), "control"));
	assert_non_null(strstr(text_name_problem("a\x7f"), "control"));
	assert_non_null(strstr(text_name_problem("a\xc2\x9b" "31m"), "control")); /* C1 CSI */
	assert_non_null(strstr(text_name_problem("caf\xe9"), "UTF-8"));
	/* invisible format characters (Unicode Cf): a name shown as another
	 * (attack84 06: admin U+202E gpj.exe prints as "adminexe.jpg") */
	static const char *cf[] = {
	    "admin\xe2\x80\xae" "gpj.exe", /* U+202E right-to-left override */
	    "a\xe2\x81\xa6" "b",		 /* U+2066 left-to-right isolate */
	    "ad\xe2\x80\x8bmin",		 /* U+200B zero width space */
	    "ad\xe2\x80\x8dmin",		 /* U+200D zero width joiner */
	    "\xef\xbb\xbf" "admin",		 /* U+FEFF byte order mark */
	    "ad\xe2\x81\xa0min",		 /* U+2060 word joiner */
	    "na\xc2\xadgios",		 /* U+00AD soft hyphen */
	    "a\xd8\x9c" "b",			 /* U+061C Arabic letter mark */
	    "a\xf3\xa0\x80\x81",		 /* U+E0001 language tag */
	};
	for (size_t i = 0; i < sizeof(cf) / sizeof(cf[0]); i++) {
		const char *why = text_name_problem(cf[i]);
		if (!why || !strstr(why, "format character"))
			fail_msg("name %zu: %s", i, why ? why : "accepted");
	}
	/* visible letters beyond ASCII stay names */
	assert_null(text_name_problem("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d")); /* Hebrew */
	assert_null(text_name_problem("\xef\xbd\x8e" "agios")); /* fullwidth n */
	char big[TEXT_NAME_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_non_null(strstr(text_name_problem(big), "too long"));
	big[TEXT_NAME_MAX] = '\0';
	assert_null(text_name_problem(big));
}

static void test_escape(void **state)
{
	(void)state;
	char out[128];
	text_escape(out, sizeof(out), "a\tb\x1b[31mc\xe9\xc3\xa9\n", 13, true);
	assert_string_equal(out, "a\\x09b\\x1b[31mc\\xe9\xc3\xa9\n");
	text_escape(out, sizeof(out), "x\ny\xc2\x85", 5, false);
	assert_string_equal(out, "x\\x0ay\\xc2\\x85");
	/* cut at a character boundary, never inside an escape */
	text_escape(out, 7, "\x01\x02", 2, false);
	assert_string_equal(out, "\\x01");
	char *d = text_escape_dup("ok", 2, false);
	assert_string_equal(d, "ok");
	free(d);
	/* inside JSON strings: still JSON, and UTF-8 */
	d = text_escape_json_dup("[\"caf\xe9\", \"\x7f\xc2\x9b\xc3\xa9\"]\n", 18);
	assert_string_equal(d, "[\"caf\\\\xe9\", \"\\u007f\\u009b\xc3\xa9\"]\n");
	json_error_t je;
	json_t *j = json_loads(d, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_array_get(j, 0)), "caf\\xe9");
	json_decref(j);
	free(d);
}

static int parse(const char *text, struct control_request *r, char *err)
{
	return control_parse_request(text, strlen(text), r, err, 256);
}

static void test_request(void **state)
{
	(void)state;
	struct control_request r;
	char err[256];
	assert_int_equal(parse("{\"command\":\"identity-add\",\"args\":"
			       "{\"address\":\"198.18.1.2\",\"user\":\"carol\","
			       "\"groups\":[\"staff\"],\"ttl\":60},\"json\":true}\n",
			       &r, err), 0);
	assert_string_equal(r.command, "identity-add");
	assert_true(r.json);
	static const struct control_arg spec[] = {
	    {"address", CA_ADDR, true}, {"user", CA_NAME, true},
	    {"groups", CA_NAMES, false}, {"ttl", CA_UINT, false},
	    {NULL, 0, false}};
	assert_int_equal(control_check_args(r.args, spec, err, sizeof(err)), 0);
	assert_string_equal(control_arg_str(r.args, "user"), "carol");
	assert_int_equal(control_arg_count(r.args, "groups"), 1);
	assert_string_equal(control_arg_item(r.args, "groups", 0), "staff");
	uint32_t v = 0;
	assert_true(control_arg_uint(r.args, "ttl", &v));
	assert_int_equal(v, 60);
	/* no second spec may take what the first did not name */
	static const struct control_arg none[] = {{NULL, 0, false}};
	assert_int_equal(control_check_args(r.args, none, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown argument"));
	control_request_free(&r);

	/* a counter: a whole number up to 2^53-1 (JSON's exact integers) */
	assert_int_equal(parse("{\"command\":\"portal-report\",\"args\":"
			       "{\"n\":9007199254740991}}", &r, err), 0);
	static const struct control_arg count[] = {{"n", CA_COUNT, true},
						   {NULL, 0, false}};
	assert_int_equal(control_check_args(r.args, count, err, sizeof(err)), 0);
	control_request_free(&r);

	/* no args: an empty object */
	assert_int_equal(parse("{\"command\":\"reload\"}", &r, err), 0);
	assert_int_equal(control_check_args(r.args, NULL, err, sizeof(err)), 0);
	assert_false(r.json);
	control_request_free(&r);

	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"", "empty"},
	    {"reload", "not JSON"},
	    {"reload --help", "not JSON"},
	    {"[\"reload\"]", "not a JSON object"},
	    {"{\"command\":\"reload\",\"extra\":1}", "unknown member"},
	    {"{\"command\":\"Reload\"}", "command name"},
	    {"{\"command\":\"reload now\"}", "command name"},
	    {"{\"command\":7}", "command name"},
	    {"{\"command\":\"reload\",\"args\":[]}", "'args' must be an object"},
	    {"{\"command\":\"reload\",\"json\":\"yes\"}", "'json'"},
	    {"{\"command\":\"reload\",\"command\":\"status\"}", "not JSON"},
	    {"{\"command\":\"caf\xe9\"}", "not JSON"},
	    {"{\"command\":\"reload\"} {}", "not JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].text, &r, err), -1);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': '%s', want '%s'", bad[i].text, err,
				 bad[i].why);
	}
	char *big = malloc(CONTROL_MAX_REQUEST + 10);
	memset(big, ' ', CONTROL_MAX_REQUEST + 9);
	big[CONTROL_MAX_REQUEST + 9] = '\0';
	assert_int_equal(parse(big, &r, err), -1);
	assert_non_null(strstr(err, "longer"));
	free(big);
}

static void test_args(void **state)
{
	(void)state;
	static const struct control_arg spec[] = {
	    {"address", CA_ADDR, true}, {"user", CA_NAME, true},
	    {"groups", CA_NAMES, false}, {"ttl", CA_UINT, false},
	    {"count", CA_COUNT, false}, {NULL, 0, false}};
	static const struct {
		const char *args, *why;
	} bad[] = {
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"count\":-1}", "0..9007199254740991"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"count\":2.5}", "0..9007199254740991"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"count\":\"7\"}", "0..9007199254740991"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"count\":9007199254740992}", "0..9007199254740991"},
	    {"{\"user\":\"carol\"}", "missing argument 'address'"},
	    {"{\"address\":\"1.2.3\",\"user\":\"c\"}", "IPv4 or IPv6"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"mallory\\t--groups\"}", "control character"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"a\\u0000b\"}", "NUL"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"\\u009b31m\"}", "control character"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"admin\\u202egpj.exe\"}", "format character"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"\"}", "empty"},
	    {"{\"address\":\"1.2.3.4\",\"user\":[\"c\"]}", "must be a string"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"groups\":\"staff\"}", "list"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"groups\":[\"a\\nb\"]}", "control character"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"ttl\":-1}", "whole number"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"ttl\":1.5}", "whole number"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"ttl\":4294967296}", "whole number"},
	    {"{\"address\":\"1.2.3.4\",\"user\":\"c\",\"--groups\":[\"x\"]}", "unknown argument"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_error_t je;
		json_t *a = json_loads(bad[i].args, JSON_ALLOW_NUL, &je);
		assert_non_null(a);
		char err[256] = "";
		assert_int_equal(control_check_args(a, spec, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: '%s', want '%s'", bad[i].args, err, bad[i].why);
		json_decref(a);
	}
}

static void test_levels(void **state)
{
	(void)state;
	gid_t op[] = {37}, ro[] = {100, 101};
	struct control_access a = {.operator_gids = op, .noperator = 1,
				   .read_gids = ro, .nread = 2};
	gid_t sup_ro[] = {5, 101}, sup_both[] = {100, 37}, none[] = {5};
	assert_int_equal(control_level_of(&a, 0, 0, 0, NULL, 0), CONTROL_ADMIN);
	assert_int_equal(control_level_of(&a, 998, 998, 998, NULL, 0), CONTROL_ADMIN);
	assert_int_equal(control_level_of(&a, 0, 1000, 1000, none, 1), CONTROL_NONE);
	assert_int_equal(control_level_of(&a, 0, 1000, 1000, sup_ro, 2), CONTROL_READ);
	assert_int_equal(control_level_of(&a, 0, 1000, 37, NULL, 0), CONTROL_OPERATOR);
	assert_int_equal(control_level_of(&a, 0, 1000, 1000, sup_both, 2), CONTROL_OPERATOR);
	assert_string_equal(control_level_name(CONTROL_READ), "read-only");
}

/* The slots of max-clients 16: one non-admin uid holds at most 4 (a
 * read-only user reconnecting as fast as it is cut cannot hold them all),
 * read-only peers together at most 12 (an operator always gets in), an
 * admin 2 beyond the 16 (attack84 02). */
static void test_slots(void **state)
{
	(void)state;
	struct control_access a = {.max_clients = 16};
	assert_int_equal(control_uid_share(&a), 4);
	assert_int_equal(control_operator_reserve(&a), 4);
	assert_null(control_admits(&a, CONTROL_READ, 0, 0));
	assert_null(control_admits(&a, CONTROL_READ, 3, 3));
	assert_string_equal(control_admits(&a, CONTROL_READ, 4, 4),
			    "too many control clients of this user");
	assert_string_equal(control_admits(&a, CONTROL_OPERATOR, 4, 4),
			    "too many control clients of this user");
	/* other read-only uids up to 12, then only operators and admins */
	assert_null(control_admits(&a, CONTROL_READ, 11, 0));
	assert_non_null(control_admits(&a, CONTROL_READ, 12, 0));
	assert_null(control_admits(&a, CONTROL_OPERATOR, 12, 0));
	assert_null(control_admits(&a, CONTROL_OPERATOR, 15, 3));
	assert_string_equal(control_admits(&a, CONTROL_OPERATOR, 16, 0),
			    "too many control clients");
	assert_null(control_admits(&a, CONTROL_ADMIN, 17, 17));
	assert_non_null(control_admits(&a, CONTROL_ADMIN, 18, 0));
	/* small limits: every uid gets one, read-only may use all of 1..3 */
	a.max_clients = 1;
	assert_int_equal(control_uid_share(&a), 1);
	assert_null(control_admits(&a, CONTROL_READ, 0, 0));
	assert_non_null(control_admits(&a, CONTROL_READ, 1, 0));
	a.max_clients = 3;
	assert_null(control_admits(&a, CONTROL_READ, 2, 0));
	assert_non_null(control_admits(&a, CONTROL_READ, 2, 1));
}

/* ---- a server and its client, in one process ------------------------------- */

/* The stream command "numbers": parts made, states freed, and how many
 * parts there were when an echo of "mark" came (all in the loop's
 * thread). */
#define STREAM_PARTS 1000
#define STREAM_PER_PART 1000
static int stream_parts, stream_frees, parts_at_mark = -1;

static int fn_echo(void *arg, const json_t *args,
		   struct evbuffer *out)
{
	const char *s = control_arg_str(args, "text");
	if (s && !strcmp(s, "mark"))
		parts_at_mark = stream_parts;
	evbuffer_add_printf(out, "{\"text\": \"%s\"}\n", s ? s : "");
	return 0;
}

static int fn_raw(void *arg, const json_t *args,
		  struct evbuffer *out)
{
	/* text, not JSON (a bug): what a name from a directory might bring */
	evbuffer_add_printf(out, "user \x1b[2Jx\xe9\ty\n");
	return 0;
}

static int fn_rawjson(void *arg, const json_t *args,
		      struct evbuffer *out)
{
	evbuffer_add_printf(out, "[\"x\xe9\"]\n"); /* a name from LDAP */
	return 0;
}

static int fn_fail(void *arg, const json_t *args,
		   struct evbuffer *out)
{
	evbuffer_add_printf(out, "it failed\n");
	return -1;
}

/* The numbers 0 .. STREAM_PARTS * STREAM_PER_PART - 1 as one JSON array
 * (about 6.9 MB), a part at a time. */
static enum control_part numbers_next(void *state, struct evbuffer *out)
{
	int *next = state;
	if (*next == 0)
		evbuffer_add(out, "[", 1);
	for (int i = 0; i < STREAM_PER_PART; i++, ++*next)
		evbuffer_add_printf(out, *next ? ",%d" : "%d", *next);
	stream_parts++;
	if (*next < STREAM_PARTS * STREAM_PER_PART)
		return CONTROL_PART_MORE;
	evbuffer_add(out, "]", 1);
	return CONTROL_PART_DONE;
}

static void numbers_free(void *state)
{
	stream_frees++;
	free(state);
}

static int fn_numbers(void *arg, const json_t *args, struct control_stream *s,
		      struct evbuffer *err)
{
	s->next = numbers_next;
	s->free = numbers_free;
	s->state = calloc(1, sizeof(int));
	return 0;
}

/* The stream command "later": LATER_PARTS numbers, each one only after a
 * timer of LATER_MS on the loop (data that arrives, as a kernel dump's):
 * it says CONTROL_PART_WAIT until the timer has run and woken it. How many
 * times it was asked while waiting, and how many states were freed. */
#define LATER_PARTS 5
#define LATER_MS 60
static struct event_base *later_base;
static int later_asked_waiting, later_frees;
struct later {
	struct event *timer;
	struct control_wake wake;
	int ready, next; /* parts there, parts written */
	bool waiting;
};

static void later_arrived(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;
	l->ready++;
	l->wake.fn(l->wake.arg);
}

static enum control_part later_next(void *state, struct evbuffer *out)
{
	struct later *l = state;
	if (l->waiting && l->ready == l->next)
		later_asked_waiting++; /* asked again before its wake */
	if (l->next == 0 && !l->waiting && l->ready == 0)
		evbuffer_add(out, "[", 1);
	if (l->ready == l->next) {
		struct timeval tv = {0, LATER_MS * 1000};
		evtimer_add(l->timer, &tv);
		l->waiting = true;
		return CONTROL_PART_WAIT;
	}
	l->waiting = false;
	evbuffer_add_printf(out, l->next ? ",%d" : "%d", l->next);
	l->next++;
	if (l->next < LATER_PARTS)
		return CONTROL_PART_MORE;
	evbuffer_add(out, "]", 1);
	return CONTROL_PART_DONE;
}

static void later_free(void *state)
{
	struct later *l = state;
	event_free(l->timer);
	free(l);
	later_frees++;
}

/* The stream command "pulled" (jsonout.h json_parts_pulled): the numbers
 * 0 .. PULLED_N - 1, PULLED_BATCH at a time, each batch only after a
 * timer of LATER_MS (WAIT until then); the source then ends with an error
 * ("the source broke") when PULLED_FAILS. How many items the source held
 * at most at once, and how often PULL was called before a wake. */
#define PULLED_N 2000
#define PULLED_BATCH 700
static bool pulled_fails;
static size_t pulled_held_max;
static int pulled_early;
struct pulled {
	struct event *timer;
	struct control_wake wake;
	size_t base, n, made; /* held: items base .. base+n-1; made in all */
	bool armed;
};

static void pulled_arrived(evutil_socket_t fd, short what, void *arg)
{
	struct pulled *p = arg;
	p->armed = false;
	size_t k = PULLED_N - p->made < PULLED_BATCH ? PULLED_N - p->made
						       : PULLED_BATCH;
	p->n += k;
	p->made += k;
	if (p->n > pulled_held_max)
		pulled_held_max = p->n;
	p->wake.fn(p->wake.arg);
}

static enum json_pull pulled_pull(void *ctx, size_t taken, size_t *n,
				  const char **error)
{
	struct pulled *p = ctx;
	if (p->armed)
		pulled_early++;
	if (taken > p->base) {
		p->base = taken;
		p->n = 0;
	}
	*n = p->base + p->n;
	if (p->n)
		return JSON_PULL_MORE;
	if (p->made == PULLED_N) {
		*error = pulled_fails ? "the source broke" : NULL;
		return JSON_PULL_DONE;
	}
	struct timeval tv = {0, LATER_MS * 1000};
	evtimer_add(p->timer, &tv);
	p->armed = true;
	return JSON_PULL_WAIT;
}

static json_t *pulled_item(void *ctx, size_t i)
{
	struct pulled *p = ctx;
	assert_true(i >= p->base && i < p->base + p->n);
	return json_integer((json_int_t)i);
}

static void pulled_free(void *ctx)
{
	struct pulled *p = ctx;
	event_free(p->timer);
	free(p);
}

static int fn_pulled(void *arg, const json_t *args, struct control_stream *s,
		     struct evbuffer *err)
{
	struct pulled *p = calloc(1, sizeof(*p));
	p->timer = evtimer_new(later_base, pulled_arrived, p);
	p->wake = s->wake;
	json_parts_pulled(s, "numbers", pulled_pull, pulled_item, pulled_free,
			  p);
	return 0;
}

static int fn_later(void *arg, const json_t *args, struct control_stream *s,
		    struct evbuffer *err)
{
	struct later *l = calloc(1, sizeof(*l));
	l->timer = evtimer_new(later_base, later_arrived, l);
	l->wake = s->wake;
	s->next = later_next;
	s->free = later_free;
	s->state = l;
	return 0;
}

/* Answers after 400 ms, twice test_slow's control timeout. */
static int fn_slow(void *arg, const json_t *args, struct evbuffer *out)
{
	usleep(400000);
	evbuffer_add_printf(out, "{\"slow\": true}\n");
	return 0;
}

static const struct control_arg echo_args[] = {{"text", CA_NAME, false},
					       {NULL, 0, false}};
static const struct control_command table[] = {
    {"echo", CONTROL_READ, echo_args, fn_echo, NULL},
    {"raw", CONTROL_READ, NULL, fn_raw, NULL},
    {"rawjson", CONTROL_READ, NULL, fn_rawjson, NULL},
    {"fail", CONTROL_ADMIN, NULL, fn_fail, NULL},
    {"numbers", CONTROL_READ, NULL, NULL, fn_numbers},
    {"later", CONTROL_READ, NULL, NULL, fn_later},
    {"pulled", CONTROL_READ, NULL, NULL, fn_pulled},
    {"slow", CONTROL_READ, NULL, fn_slow, NULL},
    {NULL, 0, NULL, NULL, NULL},
};

struct client_run {
	const char *path;
	int done_fd;
	int rc[7];
	char *body[7];
};

/* One call: *BODY the answer as compact ASCII JSON, or the error. */
static int call1(const char *path, const char *cmd, const json_t *args,
		 char **body)
{
	json_t *v = NULL;
	char *err = NULL;
	int rc = control_call_json(path, cmd, args, &v, &err);
	if (rc == 0) {
		assert_null(err);
		*body = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT |
					  JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
		json_decref(v);
	} else {
		assert_null(v);
		*body = err;
	}
	return rc;
}

static void *client(void *arg)
{
	struct client_run *c = arg;
	json_t *a = json_pack("{s:s}", "text", "hello");
	c->rc[0] = call1(c->path, "echo", a, &c->body[0]);
	c->rc[1] = call1(c->path, "echo", NULL, &c->body[1]);
	json_decref(a);
	c->rc[2] = call1(c->path, "raw", NULL, &c->body[2]);
	c->rc[3] = call1(c->path, "fail", NULL, &c->body[3]);
	c->rc[4] = call1(c->path, "nosuch", NULL, &c->body[4]);
	a = json_pack("{s:s}", "other", "x");
	c->rc[5] = call1(c->path, "echo", a, &c->body[5]);
	json_decref(a);
	c->rc[6] = call1(c->path, "rawjson", NULL, &c->body[6]);
	if (write(c->done_fd, "x", 1) < 0)
		abort();
	return NULL;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* A server of TABLE on a socket in a folder of its own (PATH: SUB/ctl.sock
 * in it), its loop stopped by a byte on P[1] (a client thread's end). */
struct srv {
	char dir[32], path[128];
	struct event_base *base;
	struct control *c;
	struct event *ev;
	int p[2];
};

static void srv_up(struct srv *s, const char *sub, uint32_t timeout_ms)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(s->dir, sizeof(s->dir), "/tmp/sluice-ctl-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s%s/ctl.sock", s->dir, sub);
	s->base = event_base_new();
	struct control_access acc = {.owner = geteuid(), .group = getegid(),
				     .mode = 0600, .max_clients = 4,
				     .timeout_ms = timeout_ms};
	s->c = control_listen(s->base, s->path, &acc, table, NULL);
	assert_non_null(s->c);
	assert_int_equal(pipe(s->p), 0);
	s->ev = event_new(s->base, s->p[0], EV_READ, on_done, s->base);
	event_add(s->ev, NULL);
}

/* Runs FN(ARG) on a thread of its own (it ends with a byte on S->p[1])
 * while the loop serves, until then. */
static void srv_run(struct srv *s, void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_create(&t, NULL, fn, arg);
	event_base_dispatch(s->base);
	pthread_join(t, NULL);
}

/* Ends S (its server closed first, when still open). */
static void srv_down(struct srv *s, const char *sub)
{
	event_free(s->ev);
	close(s->p[0]);
	close(s->p[1]);
	control_close(s->c);
	event_base_free(s->base);
	if (*sub) {
		char d[160];
		snprintf(d, sizeof(d), "%s%s", s->dir, sub);
		rmdir(d);
	}
	rmdir(s->dir);
}

static void test_server(void **state)
{
	(void)state;
	struct srv sv;
	srv_up(&sv, "/s", 2000);
	struct stat st;
	assert_int_equal(stat(sv.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct client_run run = {.path = sv.path, .done_fd = sv.p[1]};
	srv_run(&sv, client, &run);
	/* the answer is the handler's JSON value */
	assert_int_equal(run.rc[0], 0);
	assert_string_equal(run.body[0], "{\"text\":\"hello\"}");
	assert_int_equal(run.rc[1], 0);
	assert_string_equal(run.body[1], "{\"text\":\"\"}");
	assert_int_equal(run.rc[2], 1); /* text, not JSON: an error */
	assert_non_null(strstr(run.body[2], "not JSON"));
	assert_int_equal(run.rc[3], 1);
	assert_string_equal(run.body[3], "it failed\n");
	assert_int_equal(run.rc[4], 1);
	assert_non_null(strstr(run.body[4], "unknown command 'nosuch'"));
	assert_int_equal(run.rc[5], 1);
	assert_non_null(strstr(run.body[5], "unknown argument 'other'"));
	assert_int_equal(run.rc[6], 0); /* a byte that is not UTF-8: \xNN */
	assert_string_equal(run.body[6], "[\"x\\\\xe9\"]");
	for (int i = 0; i < 7; i++)
		free(run.body[i]);
	char path[128];
	snprintf(path, sizeof(path), "%s", sv.path);
	srv_down(&sv, "/s");
	assert_int_equal(access(path, F_OK), -1);
}

/* ---- an answer in parts ------------------------------------------------------ */

/* A connection to PATH that has sent the request for COMMAND. */
static int send_raw(const char *path, const char *command)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		abort();
	char req[128];
	int n = snprintf(req, sizeof(req), "{\"command\":\"%s\"}\n", command);
	if (write(fd, req, (size_t)n) != n)
		abort();
	return fd;
}

struct stream_run {
	const char *path;
	int done_fd;
	int mark_rc;
	char *answer; /* all of the slow reader's answer */
	size_t len;
};

/* A reader that does not read while another client is answered, one
 * that goes away after 1 kB, then the slow reader reads its answer. */
static void *stream_client(void *arg)
{
	struct stream_run *r = arg;
	int slow = send_raw(r->path, "numbers");
	int gone = send_raw(r->path, "numbers");
	char buf[1024];
	if (read(gone, buf, sizeof(buf)) <= 0)
		abort();
	close(gone);
	json_t *a = json_pack("{s:s}", "text", "mark");
	char *body = NULL;
	r->mark_rc = call1(r->path, "echo", a, &body);
	json_decref(a);
	free(body);
	size_t cap = 1 << 20;
	r->answer = malloc(cap);
	ssize_t got;
	while ((got = read(slow, r->answer + r->len, cap - r->len)) > 0) {
		r->len += (size_t)got;
		if (r->len == cap)
			r->answer = realloc(r->answer, cap *= 2);
	}
	close(slow);
	if (write(r->done_fd, "x", 1) < 0)
		abort();
	return NULL;
}

/* A stream command's answer is made as its client reads: while one client
 * leaves it unread, another is answered with most of it not yet made;
 * the slow client gets all of it, in order, as one reply; a client that
 * goes away mid-answer has its stream freed. */
static void test_stream(void **state)
{
	(void)state;
	struct srv sv;
	srv_up(&sv, "", 20000);
	struct stream_run run = {.path = sv.path, .done_fd = sv.p[1]};
	srv_run(&sv, stream_client, &run);
	/* the one that went away: its EOF may still be on its way */
	for (int i = 0; i < 200 && stream_frees < 2; i++) {
		event_base_loop(sv.base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	assert_int_equal(run.mark_rc, 0);
	/* made as read: the two streams had made a small part of theirs
	 * (the socket buffers and CONTROL_STREAM_BUFFERED each) */
	assert_true(parts_at_mark >= 0);
	assert_true(parts_at_mark < STREAM_PARTS / 2);
	json_error_t e;
	json_t *v = json_loadb(run.answer, run.len, 0, &e);
	assert_non_null(v);
	assert_true(run.len > 0 && run.answer[run.len - 1] == '\n');
	assert_true(json_is_true(json_object_get(v, "ok")));
	json_t *out = json_object_get(v, "output");
	assert_int_equal(json_array_size(out), STREAM_PARTS * STREAM_PER_PART);
	for (size_t i = 0; i < json_array_size(out); i += 9973)
		assert_int_equal(json_integer_value(json_array_get(out, i)), i);
	json_decref(v);
	free(run.answer);
	assert_int_equal(stream_frees, 2);
	srv_down(&sv, "");
}

/* control_close with a stream still being sent (sluiced stopping while a
 * client reads a list) frees it: no snapshot is left behind (ASan). */
static void test_close_frees_streams(void **state)
{
	(void)state;
	struct srv sv;
	srv_up(&sv, "", 20000);
	int frees = stream_frees, parts = stream_parts;
	int fd = send_raw(sv.path, "numbers"); /* never read */
	for (int i = 0; i < 500 && stream_parts == parts; i++)
		event_base_loop(sv.base, EVLOOP_ONCE | EVLOOP_NONBLOCK),
		    usleep(1000);
	assert_true(stream_parts > parts);
	assert_int_equal(stream_frees, frees); /* still being sent */
	control_close(sv.c);
	sv.c = NULL;
	assert_int_equal(stream_frees, frees + 1);
	close(fd);
	srv_down(&sv, "");
}

/* A stream that waits for its data: the loop serves others meanwhile
 * (an echo asked during the first wait is answered before the stream's
 * end), the stream is not asked again before its wake, its client gets
 * every part in order, and a client that goes away while it waits has it
 * freed (its timer with it: ASan). */
struct later_run {
	const char *path;
	int done_fd, echo_rc, later_rc;
	double echo_ms, later_ms;
	char *later_body;
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void *later_client(void *arg)
{
	struct later_run *r = arg;
	struct timespec t0;
	int gone = send_raw(r->path, "later"); /* leaves while it waits */
	close(gone);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int slow = send_raw(r->path, "later");
	json_t *a = json_pack("{s:s}", "text", "meanwhile");
	char *body = NULL;
	r->echo_rc = call1(r->path, "echo", a, &body);
	r->echo_ms = ms_since(&t0);
	json_decref(a);
	free(body);
	close(slow);
	r->later_rc = call1(r->path, "later", NULL, &r->later_body);
	r->later_ms = ms_since(&t0);
	if (write(r->done_fd, "x", 1) < 0)
		abort();
	return NULL;
}

static void test_stream_waits(void **state)
{
	(void)state;
	struct srv sv;
	srv_up(&sv, "", 20000);
	later_base = sv.base;
	later_asked_waiting = later_frees = 0;
	struct later_run run = {.path = sv.path, .done_fd = sv.p[1]};
	srv_run(&sv, later_client, &run);
	for (int i = 0; i < 200 && later_frees < 3; i++) {
		event_base_loop(sv.base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	assert_int_equal(run.echo_rc, 0);
	assert_int_equal(run.later_rc, 0);
	assert_string_equal(run.later_body, "[0,1,2,3,4]");
	/* the echo did not wait for the stream's data: well before the
	 * LATER_PARTS timers of the answer */
	assert_true(run.echo_ms < LATER_MS * LATER_PARTS / 2.0);
	/* and the answer did wait for them (one part's worth of slack: a
	 * libevent timer is due from the loop's cached time, which may be a
	 * little behind the clock this reads) */
	assert_true(run.later_ms >= LATER_MS * (LATER_PARTS - 1));
	assert_int_equal(later_asked_waiting, 0);
	assert_int_equal(later_frees, 3);
	free(run.later_body);
	srv_down(&sv, "");
}

/* A list whose items arrive while it is sent (json_parts_pulled): all of
 * them, in order, in one answer; the source asked only after its wake and
 * never holding more than one batch; a source that ends early has the
 * answer say so in "error" beside what came. */
struct pulled_run {
	const char *path;
	int done_fd, rc[2];
	char *body[2];
};

static void *pulled_client(void *arg)
{
	struct pulled_run *r = arg;
	r->rc[0] = call1(r->path, "pulled", NULL, &r->body[0]);
	pulled_fails = true;
	r->rc[1] = call1(r->path, "pulled", NULL, &r->body[1]);
	if (write(r->done_fd, "x", 1) < 0)
		abort();
	return NULL;
}

static void test_stream_pulled(void **state)
{
	(void)state;
	struct srv sv;
	srv_up(&sv, "", 20000);
	later_base = sv.base;
	pulled_fails = false;
	pulled_held_max = 0;
	pulled_early = 0;
	struct pulled_run run = {.path = sv.path, .done_fd = sv.p[1]};
	srv_run(&sv, pulled_client, &run);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(run.rc[k], 0);
		json_t *v = json_loads(run.body[k], 0, NULL);
		assert_non_null(v);
		json_t *l = json_object_get(v, "numbers");
		assert_int_equal(json_array_size(l), PULLED_N);
		for (size_t i = 0; i < PULLED_N; i++)
			assert_int_equal(json_integer_value(json_array_get(l, i)),
					 i);
		json_t *e = json_object_get(v, "error");
		if (k == 0)
			assert_null(e);
		else
			assert_string_equal(json_string_value(e),
					    "the source broke");
		json_decref(v);
		free(run.body[k]);
	}
	assert_int_equal(pulled_early, 0);
	assert_int_equal(pulled_held_max, PULLED_BATCH);
	srv_down(&sv, "");
}

/* A command that takes longer than the control timeout still has its
 * answer sent: the write timeout counts from when the answer is queued
 * (libevent's cached time of the loop's turn had cut it before its first
 * byte). */
struct slow_run {
	const char *path;
	int done_fd, rc;
	char *body;
};

static void *slow_client(void *arg)
{
	struct slow_run *r = arg;
	r->rc = call1(r->path, "slow", NULL, &r->body);
	if (write(r->done_fd, "x", 1) < 0)
		abort();
	return NULL;
}

static void test_slow_handler(void **state)
{
	(void)state;
	struct srv sv;
	srv_up(&sv, "", 200);
	struct slow_run run = {.path = sv.path, .done_fd = sv.p[1]};
	srv_run(&sv, slow_client, &run);
	assert_int_equal(run.rc, 0);
	assert_string_equal(run.body, "{\"slow\":true}");
	free(run.body);
	srv_down(&sv, "");
}

/* ---- the client against a server that sends control characters ---------- */

struct fake {
	int lfd;
	const char *answer;
};

static void *fake_server(void *arg)
{
	struct fake *f = arg;
	int c = accept(f->lfd, NULL, NULL);
	char buf[4096];
	if (c >= 0) {
		if (read(c, buf, sizeof(buf)) < 0)
			abort();
		if (write(c, f->answer, strlen(f->answer)) < 0)
			abort();
		close(c);
	}
	return NULL;
}

static int call_fake(const char *answer, char **body)
{
	char dir[] = "/tmp/sluice-cli-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", dir);
	struct fake f = {.lfd = socket(AF_UNIX, SOCK_STREAM, 0), .answer = answer};
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f.lfd, 1), 0);
	pthread_t t;
	pthread_create(&t, NULL, fake_server, &f);
	int rc = call1(sun.sun_path, "status", NULL, body);
	pthread_join(t, NULL);
	close(f.lfd);
	unlink(sun.sun_path);
	rmdir(dir);
	return rc;
}

static void test_client_escapes(void **state)
{
	(void)state;
	char *body;
	/* the answer's value as it came (sluicectl escapes when it renders) */
	assert_int_equal(call_fake("{\"ok\":true,\"output\":{\"a\":\"b\\u001b\"}}\n",
				   &body), 0);
	assert_string_equal(body, "{\"a\":\"b\\u001B\"}");
	free(body);
	/* an error never reaches the terminal raw */
	assert_int_equal(call_fake("{\"ok\":false,\"error\":\"no\\u0007\"}\n", &body), 1);
	assert_string_equal(body, "no\\x07\n");
	free(body);
	assert_int_equal(call_fake("ok\nhello\n", &body), 3);
	free(body);
	/* an old daemon's text answer is not a valid one */
	assert_int_equal(call_fake("{\"ok\":true}\n", &body), 3);
	free(body);
}

/* ---- state files ------------------------------------------------------------ */

static void test_statefile(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-state-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], victim[128], tmp[128];
	snprintf(path, sizeof(path), "%s/st", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(tmp, sizeof(tmp), "%s/.st.tmp", dir);
	int fd = open(victim, O_WRONLY | O_CREAT, 0600);
	assert_true(write(fd, "keep", 4) == 4);
	close(fd);

	assert_int_equal(statefile_write(path, "1 2\n", 4), 0);
	size_t len;
	char *s = statefile_read(path, 64, &len);
	assert_non_null(s);
	assert_string_equal(s, "1 2\n");
	free(s);
	assert_null(statefile_read(path, 2, &len));
	assert_int_equal(errno, EFBIG);

	/* a symlink planted at the temporary name is not followed */
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(statefile_write(path, "3 4\n", 4), 0);
	/* the state file itself a symlink: not read, and replaced on write */
	unlink(path);
	assert_int_equal(symlink(victim, path), 0);
	assert_null(statefile_read(path, 64, &len));
	assert_int_equal(errno, ELOOP);
	assert_int_equal(statefile_write(path, "5 6\n", 4), 0);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	char buf[8] = "";
	fd = open(victim, O_RDONLY);
	assert_true(read(fd, buf, sizeof(buf) - 1) == 4);
	close(fd);
	assert_string_equal(buf, "keep");

	/* a folder others may write to: refused */
	chmod(dir, 0777);
	assert_int_equal(statefile_write(path, "7 8\n", 4), -1);
	assert_int_equal(errno, EPERM);
	assert_null(statefile_read(path, 64, &len));
	chmod(dir, 0700);
	assert_int_equal(statefile_remove(path), 0);
	unlink(victim);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8),    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_escape),  cmocka_unit_test(test_request),
	    cmocka_unit_test(test_args),    cmocka_unit_test(test_levels),
	    cmocka_unit_test(test_slots),
	    cmocka_unit_test(test_server),  cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_slow_handler),
	    cmocka_unit_test(test_close_frees_streams),
	    cmocka_unit_test(test_stream_waits),
	    cmocka_unit_test(test_stream_pulled),
	    cmocka_unit_test(test_statefile),
	    cmocka_unit_test(test_client_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
