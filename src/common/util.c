/* util.c — see util.h. */
#include "common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void oom(size_t n)
{
	fprintf(stderr, "sluice: out of memory (%zu bytes)\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom(0);
	va_end(ap);
	return s;
}

uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mono_ms(void)
{
	return mono_ns() / 1000000u;
}

uint64_t thread_cpu_ns(void)
{
	struct timespec t;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) < 0)
		return 0;
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t msclock_now(const struct msclock *c)
{
	return c->fn ? c->fn(c->arg) : mono_ms();
}

char *secret_read_line(const char *path, size_t max)
{
	/* non-blocking, and a regular file only: a FIFO or a device named
	 * as a secret must not hang the caller (the event loop) */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	char *buf = xmalloc(max + 2);
	int err;
	size_t n = read_upto(fd, buf, max + 1, &err);
	close(fd);
	buf[n] = '\0';
	size_t len = strcspn(buf, "\r\n");
	if (!err && len > max)
		err = EINVAL;
	explicit_bzero(buf + len, max + 2 - len); /* what follows the line */
	if (err) {
		explicit_bzero(buf, max + 2);
		free(buf);
		errno = err;
		return NULL;
	}
	return buf;
}

int secret_read_into(const char *path, void *buf, size_t max)
{
	char *line = secret_read_line(path, max);
	if (!line)
		return -1;
	size_t len = strlen(line);
	if (len == 0) {
		free(line);
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, line, len);
	explicit_bzero(line, len);
	free(line);
	return (int)len;
}

size_t read_upto(int fd, void *buf, size_t n, int *err)
{
	size_t got = 0;
	int e = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			e = errno;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (err)
		*err = e;
	return got;
}

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
