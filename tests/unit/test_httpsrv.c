/*
 * test_httpsrv.c — the small HTTP server (src/stats/httpsrv.c) under a
 * handler that takes longer than the server's timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats/httpsrv.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

struct run {
	unsigned port;
	int done_fd;
	char *answer;
	size_t len;
};

/* GET / from 127.0.0.1:PORT; the whole answer into R->answer. */
static void *client(void *arg)
{
	struct run *r = arg;
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

static void on_done(evutil_socket_t fd, short what, void *arg)
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
	struct event *ev = event_new(base, p[0], EV_READ, on_done, base);
	event_add(ev, NULL);
	struct run r = {.port = http_port(h), .done_fd = p[1]};
	pthread_t t;
	pthread_create(&t, NULL, client, &r);
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
	    cmocka_unit_test(test_slow_handler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
