/*
 * test_httpsrv.c — answers that come later (http_defer, the login
 * portal's sign-ins): the deferred answer reaches the client with its
 * status, headers and body; a deferred request whose client is gone (the
 * deadline closed it) takes its late answer without harm (ASan/valgrind
 * see any use of the freed connection).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats/httpsrv.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

struct later_ctx {
	struct event_base *base;
	struct http_later *later;
	struct event *timer;
	int status;
	char location[64], body[64], reason[32];
	bool answered, replied;
	bool hold; /* the handler sets no timer: the test answers */
};

/* Answers the deferred request: a 302 with a Location and a body. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct later_ctx *c = arg;
	struct http_reply rp = {302, "text/html", NULL, evbuffer_new(),
				"Location: /later\r\n"};
	evbuffer_add_printf(rp.body, "done later");
	http_answer_later(c->later, &rp);
	evbuffer_free(rp.body);
	c->answered = true;
}

static void handler(void *arg, const struct http_request *rq,
		    struct http_reply *rp)
{
	struct later_ctx *c = arg;
	c->later = http_defer(rq);
	struct timeval tv = {0, 100000};
	if (!c->hold)
		evtimer_add(c->timer, &tv);
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct later_ctx *c = arg;
	c->replied = true;
	if (req) {
		c->status = evhttp_request_get_response_code(req);
		const char *line = evhttp_request_get_response_code_line(req);
		snprintf(c->reason, sizeof(c->reason), "%s", line ? line : "");
		const char *loc = evhttp_find_header(
		    evhttp_request_get_input_headers(req), "Location");
		snprintf(c->location, sizeof(c->location), "%s", loc ? loc : "");
		struct evbuffer *b = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(b);
		n = n < sizeof(c->body) - 1 ? n : sizeof(c->body) - 1;
		evbuffer_remove(b, c->body, n);
		c->body[n] = '\0';
	}
}

static void stop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Runs BASE until the client has its reply and the answer was given, or
 * 5 s. */
static void run(struct later_ctx *c)
{
	struct event *guard = evtimer_new(c->base, stop, c->base);
	struct timeval five = {5, 0};
	evtimer_add(guard, &five);
	while (!(c->replied && (c->answered || c->hold)) &&
	       event_base_loop(c->base, EVLOOP_ONCE) == 0 &&
	       evtimer_pending(guard, NULL))
		;
	event_free(guard);
}

static void test_deferred_answer(void **state)
{
	struct later_ctx c = {.base = event_base_new()};
	c.timer = evtimer_new(c.base, on_timer, &c);
	struct http_server *h = http_listen(c.base, "127.0.0.1:0", "test", 0,
					    handler, &c);
	assert_non_null(h);
	struct evhttp_connection *conn = evhttp_connection_base_new(
	    c.base, NULL, "127.0.0.1", (uint16_t)http_port(h));
	struct evhttp_request *req = evhttp_request_new(on_reply, &c);
	assert_int_equal(evhttp_make_request(conn, req, EVHTTP_REQ_GET, "/"), 0);
	run(&c);
	assert_true(c.answered);
	assert_int_equal(c.status, 302);
	assert_string_equal(c.reason, "Found");
	assert_string_equal(c.location, "/later");
	assert_string_equal(c.body, "done later");
	evhttp_connection_free(conn);
	http_close(h);
	event_free(c.timer);
	event_base_free(c.base);
}

static void test_client_gone(void **state)
{
	struct later_ctx c = {.base = event_base_new(), .hold = true};
	c.timer = evtimer_new(c.base, on_timer, &c);
	struct http_server *h = http_listen(c.base, "127.0.0.1:0", "test", 0,
					    handler, &c);
	assert_non_null(h);
	http_limits(h, 0, 100); /* the deadline closes it before the answer */
	struct evhttp_connection *conn = evhttp_connection_base_new(
	    c.base, NULL, "127.0.0.1", (uint16_t)http_port(h));
	struct evhttp_request *req = evhttp_request_new(on_reply, &c);
	assert_int_equal(evhttp_make_request(conn, req, EVHTTP_REQ_GET, "/"), 0);
	run(&c); /* the client sees the connection closed */
	assert_true(c.replied);
	assert_int_not_equal(c.status, 302);
	on_timer(-1, 0, &c); /* the late answer finds no connection */
	assert_true(c.answered);
	evhttp_connection_free(conn);
	http_close(h);
	event_free(c.timer);
	event_base_free(c.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deferred_answer),
	    cmocka_unit_test(test_client_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
