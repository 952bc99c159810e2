/*
 * test_httpsrv.c — answers that come later (http_defer, the login
 * portal's sign-ins): the deferred answer reaches the client with its
 * status, headers and body; a deferred request whose client is gone (the
 * deadline closed it) takes its late answer without harm (ASan/valgrind
 * see any use of the freed connection); a handler slower than the
 * timeout still has its answer sent whole.
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
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

/* The answer's body: more than a socket takes at once, so that sending
 * it takes more than one turn of the loop. */
#define BODY_LEN (4u << 20)

/* Answers BODY_LEN bytes of 'x' after 400 ms, twice the server's timeout
 * below. */
static void slow_handler(void *arg, const struct http_request *rq,
			 struct http_reply *rp)
{
	usleep(400000);
	char *x = malloc(BODY_LEN);
	memset(x, 'x', BODY_LEN);
	evbuffer_add(rp->body, x, BODY_LEN);
	free(x);
}

struct slow_run {
	unsigned port;
	int done_fd;
	char *answer;
	size_t len;
};

/* GET / from 127.0.0.1:PORT; the whole answer into R->answer. */
static void *slow_client(void *arg)
{
	struct slow_run *r = arg;
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)r->port)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		abort();
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		abort();
	size_t cap = BODY_LEN + 4096;
	r->answer = calloc(1, cap + 1);
	ssize_t got;
	while (r->len < cap &&
	       (got = read(fd, r->answer + r->len, cap - r->len)) > 0)
		r->len += (size_t)got;
	close(fd);
	if (write(r->done_fd, "x", 1) < 0)
		abort();
	return NULL;
}

static void on_slow_done(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* The answer of a handler slower than the timeout is still sent: the
 * answer's deadline counts from when it is queued (libevent's cached time
 * of the loop's turn had put it in the past: the connection was closed
 * with nothing sent). */
static void test_slow_handler(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct http_server *h =
	    http_listen(base, "127.0.0.1:0", "test", 0, slow_handler, NULL);
	assert_non_null(h);
	http_limits(h, 4, 200);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct event *ev = event_new(base, p[0], EV_READ, on_slow_done, base);
	event_add(ev, NULL);
	struct slow_run r = {.port = http_port(h), .done_fd = p[1]};
	pthread_t t;
	pthread_create(&t, NULL, slow_client, &r);
	event_base_dispatch(base);
	pthread_join(t, NULL);
	assert_non_null(strstr(r.answer, "HTTP/1.1 200 OK\r\n"));
	char cl[64];
	snprintf(cl, sizeof(cl), "Content-Length: %u\r\n", BODY_LEN);
	assert_non_null(strstr(r.answer, cl));
	const char *body = strstr(r.answer, "\r\n\r\n");
	assert_non_null(body);
	assert_int_equal(r.len - (size_t)(body + 4 - r.answer), BODY_LEN);
	free(r.answer);
	event_free(ev);
	close(p[0]);
	close(p[1]);
	http_close(h);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deferred_answer),
	    cmocka_unit_test(test_client_gone),
	    cmocka_unit_test(test_slow_handler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
