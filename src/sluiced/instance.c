/*
 * instance.c — one sluiced per network namespace (instance.h).
 */
#include "sluiced/instance.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* The holder's line BUF into WHO (WHOSZ bytes), every byte that is not
 * printable ASCII as '?': it goes to a terminal or the journal. */
static void holder_text(const char *buf, char *who, size_t whosz)
{
	size_t i = 0;
	for (; buf[i] && i + 1 < whosz; i++)
		who[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '?';
	if (whosz)
		who[i] = '\0';
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
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	bool ours = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0 &&
		    (cr.uid == 0 || cr.uid == geteuid());
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!ours) /* any user can bind an abstract name: not a sluiced's word */
		snprintf(who, whosz, "pid unknown: the name is held by uid %ld, "
			 "not a sluiced", crlen == sizeof(cr) ? (long)cr.uid : -1L);
	else if (buf[0])
		holder_text(buf, who, whosz);
	return true;
}

/* This network namespace's lock file, into BUF: INSTANCE_DIR/instance-
 * DEV-INODE.lock of /proc/self/ns/net. -1 when the namespace cannot be
 * told. */
static int lock_path(char *buf, size_t n)
{
	struct stat st;
	if (stat("/proc/self/ns/net", &st) < 0)
		return -1;
	snprintf(buf, n, "%s/instance-%llx-%llx.lock", INSTANCE_DIR,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return 0;
}

/* The lock file opened (made when MAKE, INSTANCE_DIR too), or -1. */
static int lock_open(bool make)
{
	char path[256];
	if (lock_path(path, sizeof(path)) < 0)
		return -1;
	if (make && mkdir(INSTANCE_DIR, 0755) < 0 && errno != EEXIST)
		return -1;
	return open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (make ? O_CREAT : 0),
		    0600);
}

/* FD's lock taken, waiting up to HOLDER_WAIT_MS for a holder that is just
 * exiting; false (errno EWOULDBLOCK) when another holds it. */
static bool lock_take(int fd)
{
	struct timespec pause = {0, 100 * 1000 * 1000};
	for (int waited = 0;; waited += 100) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK || waited >= HOLDER_WAIT_MS)
			return false;
		nanosleep(&pause, NULL);
	}
}

int instance_lock(char *who, size_t whosz, int *sock)
{
	if (whosz)
		who[0] = '\0';
	*sock = -1;
	int fd = lock_open(true);
	if (fd < 0)
		return -1;
	if (!lock_take(fd)) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK) {
			ask_holder(who, whosz);
			e = EADDRINUSE;
		}
		errno = e;
		return -1;
	}
	/* the lock is ours: the name only tells later starts who runs (a
	 * process that took it first, any user can, does not stop us) */
	for (int waited = 0; (*sock = try_bind()) < 0 && errno == EADDRINUSE &&
			     waited < HOLDER_WAIT_MS;
	     waited += 100) {
		struct timespec pause = {0, 100 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	return fd;
}

bool instance_running(char *who, size_t whosz)
{
	if (whosz)
		who[0] = '\0';
	int fd = lock_open(false);
	if (fd < 0)
		return false; /* no lock file: none ever ran here */
	bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd); /* (a lock taken here goes with it) */
	if (held)
		ask_holder(who, whosz);
	return held;
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
