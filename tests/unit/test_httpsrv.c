/*
 * test_httpsrv.c — the HTTP listener's share per client (src/stats/
 * httpsrv.c): one client, by its address or, on this host, its uid,
 * holds at most a quarter of max-connections, so idle connections of one
 * local user never block every scrape of /metrics nor every POST /login
 * of the push API (attack84 09, 14); a local peer's uid read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "stats/httpsrv.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void fn_ok(void *arg, const struct http_request *rq,
		  struct http_reply *rp)
{
	evbuffer_add_printf(rp->body, "ok\n");
}

/* A connection to 127.0.0.1:PORT (non-blocking once connected). */
static int dial(unsigned port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Turns BASE's loop a few times: the accepts are made. */
static void spin(struct event_base *base)
{
	for (int i = 0; i < 20; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(5000);
	}
}

/* Whether the server closed FD (EOF), rather than keep it open idle. */
static bool closed(int fd)
{
	char c;
	return read(fd, &c, 1) == 0;
}

static void test_share(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct http_server *h =
	    http_listen(base, "127.0.0.1:0", "test", 0, fn_ok, NULL);
	assert_non_null(h);
	http_limits(h, 16, 5000);
	unsigned port = http_port(h);
	int fd[6];
	for (int i = 0; i < 6; i++)
		fd[i] = dial(port);
	spin(base);
	/* 4 of 16 kept for this user; the 5th and 6th closed at accept */
	for (int i = 0; i < 4; i++)
		assert_false(closed(fd[i]));
	assert_true(closed(fd[4]));
	assert_true(closed(fd[5]));
	assert_int_equal(http_refused_source(h), 2);
	/* one of them gone: its slot is the user's again */
	close(fd[0]);
	close(fd[4]);
	spin(base);
	fd[4] = dial(port);
	spin(base);
	assert_false(closed(fd[4]));
	for (int i = 1; i < 6; i++)
		close(fd[i]);
	/* max-connections 2: the share is at least 1 */
	spin(base);
	http_limits(h, 2, 5000);
	fd[0] = dial(port);
	fd[1] = dial(port);
	spin(base);
	assert_false(closed(fd[0]));
	assert_true(closed(fd[1]));
	close(fd[0]);
	close(fd[1]);
	http_close(h);
	event_base_free(base);
}

/* A connection from this host: its peer's uid is ours; a socket that is
 * not TCP has none. */
static void test_local_uid(void **state)
{
	(void)state;
	int lis = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	socklen_t sl = sizeof(sin);
	assert_int_equal(bind(lis, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lis, 4), 0);
	assert_int_equal(getsockname(lis, (struct sockaddr *)&sin, &sl), 0);
	int c = dial(ntohs(sin.sin_port));
	int a = accept(lis, NULL, NULL);
	assert_true(a >= 0);
	uid_t uid = (uid_t)-1;
	assert_int_equal(http_local_peer_uid(a, &uid), 0);
	assert_int_equal(uid, geteuid());
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(http_local_peer_uid(sv[0], &uid), -1);
	close(sv[0]);
	close(sv[1]);
	close(a);
	close(c);
	close(lis);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_share),
	    cmocka_unit_test(test_local_uid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
