/*
 * instance.c — one sluiced per network namespace (instance.h).
 */
#include "sluiced/instance.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HOLDER_WAIT_MS 1000 /* a holder just exiting, waited for */
#define ANSWER_WAIT_MS 1000 /* the holder's answer to "who are you" */

/* The abstract address of INSTANCE_NAME; *LEN its length. */
static struct sockaddr_un abstract_addr(socklen_t *len)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path + 1, INSTANCE_NAME, strlen(INSTANCE_NAME));
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   strlen(INSTANCE_NAME));
	return sun;
}

/* One bind attempt: the listening descriptor, or -1 with errno. */
static int try_bind(void)
{
	socklen_t len;
	struct sockaddr_un sun = abstract_addr(&len);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, len) < 0 || listen(fd, 8) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Asks the holder who it is, into WHO (one line, no newline); false when
 * nobody holds the name (connection refused). */
static bool ask_holder(char *who, size_t whosz)
{
	snprintf(who, whosz, "pid unknown: it did not answer");
	socklen_t len;
	struct sockaddr_un sun = abstract_addr(&len);
	/* non-blocking: a holder stopped with its backlog full makes
	 * connect() fail with EAGAIN instead of waiting for ever */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return true;
	if (connect(fd, (struct sockaddr *)&sun, len) < 0) {
		bool held = errno != ECONNREFUSED;
		close(fd);
		return held;
	}
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[512];
	size_t n = 0;
	while (n < sizeof(buf) - 1 && poll(&p, 1, ANSWER_WAIT_MS) > 0) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (buf[0])
		snprintf(who, whosz, "%s", buf);
	return true;
}

int instance_lock(char *who, size_t whosz)
{
	if (whosz)
		who[0] = '\0';
	struct timespec pause = {0, 100 * 1000 * 1000};
	for (int waited = 0;; waited += 100) {
		int fd = try_bind();
		if (fd >= 0 || errno != EADDRINUSE)
			return fd;
		if (waited >= HOLDER_WAIT_MS)
			break;
		nanosleep(&pause, NULL);
	}
	ask_holder(who, whosz);
	errno = EADDRINUSE;
	return -1;
}

bool instance_running(char *who, size_t whosz)
{
	if (whosz)
		who[0] = '\0';
	int fd = try_bind();
	if (fd >= 0) {
		close(fd);
		return false;
	}
	if (errno != EADDRINUSE)
		return false;
	return ask_holder(who, whosz);
}

/* A later start asked: told who holds the name, then let go. */
static void on_ask(evutil_socket_t fd, short what, void *arg)
{
	const char *self = arg;
	(void)what;
	int c;
	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		/* a short line into an empty socket buffer: never blocks */
		if (write(c, self, strlen(self)) < 0 ||
		    write(c, "\n", 1) < 0) {
			/* the asker went away: nothing to tell */
		}
		close(c);
	}
}

struct event *instance_serve(struct event_base *base, int fd,
			     const char *self)
{
	struct event *ev = event_new(base, fd, EV_READ | EV_PERSIST, on_ask,
				     (void *)self);
	if (ev && event_add(ev, NULL) < 0) {
		event_free(ev);
		return NULL;
	}
	return ev;
}
