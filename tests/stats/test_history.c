/* test_history.c — the dashboard's parts in stats/: the history ring
 * (bounded samples and member columns, JSON that parses, hostile names),
 * and the metrics listener serving other pages (metrics_set_pages) with
 * their own headers, /metrics untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats/history.h"
#include "stats/httpsrv.h"
#include "stats/prom.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const F[] = {"a", "b"};

/* H as JSON text parsed back (checks that it is valid JSON). */
static json_t *roundtrip(const struct history *h)
{
	json_t *j = history_json(h);
	assert_non_null(j);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_non_null(text);
	json_error_t err;
	json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	free(text);
	assert_non_null(back);
	return back;
}

static double num(json_t *a, size_t i)
{
	return json_number_value(json_array_get(a, i));
}

/* CAP samples at most: the oldest go, the rest keep their order. */
static void test_ring_wraps(void **state)
{
	(void)state;
	struct history *h = history_new(F, 2, 3, 10);
	for (int i = 1; i <= 5; i++) {
		double v[2] = {i, i * 100.0};
		history_add(h, 1000.0 + i, v, NULL, 0);
	}
	assert_int_equal(history_len(h), 3);
	json_t *j = roundtrip(h);
	assert_int_equal(json_integer_value(json_object_get(j, "interval_s")), 10);
	assert_int_equal(json_integer_value(json_object_get(j, "capacity")), 3);
	json_t *t = json_object_get(j, "t");
	json_t *a = json_object_get(json_object_get(j, "series"), "a");
	json_t *b = json_object_get(json_object_get(j, "series"), "b");
	assert_int_equal(json_array_size(t), 3);
	assert_int_equal(json_array_size(a), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(num(t, i) == 1003.0 + (double)i);
		assert_true(num(a, i) == 3.0 + (double)i);
		assert_true(num(b, i) == 300.0 + 100.0 * (double)i);
	}
	json_decref(j);
	history_free(h);
}

/* A value that is not a number is null, not a broken document. */
static void test_nan_is_null(void **state)
{
	(void)state;
	struct history *h = history_new(F, 2, 4, 10);
	double v[2] = {NAN, INFINITY};
	history_add(h, 1.5, v, NULL, 0);
	json_t *j = roundtrip(h);
	json_t *s = json_object_get(j, "series");
	assert_true(json_is_null(json_array_get(json_object_get(s, "a"), 0)));
	assert_true(json_is_null(json_array_get(json_object_get(s, "b"), 0)));
	assert_true(num(json_object_get(j, "t"), 0) == 1.5);
	json_decref(j);
	history_free(h);
}

/* Members: one character a sample; '-' before a member appeared. */
static void test_member_states(void **state)
{
	(void)state;
	struct history *h = history_new(F, 2, 5, 10);
	double v[2] = {0, 0};
	struct history_member m1[] = {{"f/web1", HS_UNKNOWN}};
	struct history_member m2[] = {{"f/web1", HS_UP}, {"f/web2", HS_UP}};
	struct history_member m3[] = {{"f/web1", HS_DRAINED}, {"f/web2", HS_DOWN}};
	history_add(h, 1, v, m1, 1);
	history_add(h, 2, v, m2, 2);
	history_add(h, 3, v, m3, 2);
	history_add(h, 4, v, m1, 1); /* web2 gone (a reload) */
	json_t *j = roundtrip(h);
	json_t *m = json_object_get(j, "members");
	assert_string_equal(json_string_value(json_object_get(m, "f/web1")), "?ur?");
	assert_string_equal(json_string_value(json_object_get(m, "f/web2")), "-ud-");
	assert_int_equal(json_integer_value(json_object_get(j, "members_dropped")), 0);
	json_decref(j);
	history_free(h);
}

/* At most HISTORY_MEMBERS_MAX columns; more are counted as dropped; a
 * column no sample held shows any more is given to a new member, and a
 * member no sample shows is not listed. */
static void test_member_bound(void **state)
{
	(void)state;
	enum { N = HISTORY_MEMBERS_MAX + 6 };
	struct history *h = history_new(F, 2, 2, 10);
	double v[2] = {0, 0};
	char names[N][16];
	struct history_member m[N];
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "f/m%d", i);
		m[i] = (struct history_member){names[i], HS_UP};
	}
	history_add(h, 1, v, m, N);
	json_t *j = roundtrip(h);
	assert_int_equal(json_object_size(json_object_get(j, "members")),
			 HISTORY_MEMBERS_MAX);
	assert_int_equal(json_integer_value(json_object_get(j, "members_dropped")), 6);
	json_decref(j);
	/* a new member while the ring still shows the others: dropped */
	struct history_member other[] = {{"g/new", HS_DOWN}};
	history_add(h, 2, v, other, 1);
	j = roundtrip(h);
	assert_null(json_object_get(json_object_get(j, "members"), "g/new"));
	assert_int_equal(json_integer_value(json_object_get(j, "members_dropped")), 1);
	json_decref(j);
	/* once no sample held shows them, their columns are free again */
	history_add(h, 3, v, other, 1);
	j = roundtrip(h);
	json_t *mm = json_object_get(j, "members");
	assert_int_equal(json_object_size(mm), 1);
	assert_string_equal(json_string_value(json_object_get(mm, "g/new")), "-d");
	assert_int_equal(json_integer_value(json_object_get(j, "members_dropped")), 0);
	json_decref(j);
	history_free(h);
}

/* A name that is not UTF-8 (or holds control characters) is shown
 * escaped: the document stays valid JSON. */
static void test_hostile_name(void **state)
{
	(void)state;
	struct history *h = history_new(F, 2, 2, 10);
	double v[2] = {0, 0};
	struct history_member m[] = {{"f/caf\xe9\n\"x", HS_UP}};
	history_add(h, 1, v, m, 1);
	json_t *j = roundtrip(h);
	json_t *mm = json_object_get(j, "members");
	assert_int_equal(json_object_size(mm), 1);
	assert_non_null(json_object_get(mm, "f/caf\\xe9\\x0a\"x"));
	json_decref(j);
	history_free(h);
}

/* ---- other pages on the metrics listener ------------------------------------ */

struct reply {
	int status;
	char ctype[128], extra[128];
	char *body;
	struct event_base *base;
};

static void fill(void *arg, struct stats_snapshot *s)
{
	(void)arg;
	memset(s, 0, sizeof(*s));
}

static bool pages(void *arg, const struct http_request *rq,
		  struct http_reply *rp)
{
	(void)arg;
	if (strcmp(rq->target, "/page?x=1") != 0)
		return false;
	rp->ctype = "text/html; charset=utf-8";
	rp->headers = "X-Test: yes\r\n";
	evbuffer_add_printf(rp->body, "<p>page</p>");
	return true;
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct reply *r = arg;
	if (req) {
		struct evkeyvalq *in = evhttp_request_get_input_headers(req);
		const char *ct = evhttp_find_header(in, "Content-Type");
		const char *x = evhttp_find_header(in, "X-Test");
		r->status = evhttp_request_get_response_code(req);
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct ? ct : "");
		snprintf(r->extra, sizeof(r->extra), "%s", x ? x : "");
		struct evbuffer *b = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(b);
		r->body = calloc(1, n + 1);
		evbuffer_remove(b, r->body, n);
	}
	event_base_loopexit(r->base, NULL);
}

static void get(struct event_base *base, unsigned port, const char *path,
		struct reply *r)
{
	free(r->body);
	r->body = NULL;
	r->status = 0;
	struct evhttp_connection *conn =
	    evhttp_connection_base_new(base, NULL, "127.0.0.1", (uint16_t)port);
	evhttp_connection_set_timeout(conn, 5);
	struct evhttp_request *req = evhttp_request_new(on_reply, r);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "x");
	assert_int_equal(evhttp_make_request(conn, req, EVHTTP_REQ_GET, path), 0);
	event_base_dispatch(base);
	evhttp_connection_free(conn);
}

static void test_pages(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct reply r = {.base = base};
	struct metrics_server *m = metrics_listen(base, "127.0.0.1:0", fill, NULL);
	assert_non_null(m);
	unsigned port = metrics_port(m);

	get(base, port, "/page?x=1", &r); /* no pages yet: 404 */
	assert_int_equal(r.status, 404);
	metrics_set_pages(m, pages);
	get(base, port, "/page?x=1", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/html; charset=utf-8");
	assert_string_equal(r.extra, "yes");
	assert_string_equal(r.body, "<p>page</p>");
	get(base, port, "/nothing", &r); /* the pages do not serve it */
	assert_int_equal(r.status, 404);
	assert_string_equal(r.extra, "");
	get(base, port, "/metrics", &r); /* still the exposition */
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, PROM_CONTENT_TYPE);
	assert_non_null(strstr(r.body, "# TYPE "));
	free(r.body);
	metrics_set_pages(NULL, pages); /* NULL is fine */
	metrics_close(m);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ring_wraps),
	    cmocka_unit_test(test_nan_is_null),
	    cmocka_unit_test(test_member_states),
	    cmocka_unit_test(test_member_bound),
	    cmocka_unit_test(test_hostile_name),
	    cmocka_unit_test(test_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
