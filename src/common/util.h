/*
 * util.h — memory helpers and a growable-array macro shared by every part.
 *
 * Allocation failure is not recoverable in sluice: x*alloc() abort with a
 * message rather than return NULL, so callers never check.
 */
#ifndef SLUICE_UTIL_H
#define SLUICE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formats into a new string; never NULL. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* qsort(3) that accepts an empty array given as NULL (C17 7.22.5: qsort's
 * base must be valid even when N is 0; an empty VEC_PUSH array is NULL). */
static inline void xqsort(void *base, size_t n, size_t size,
			  int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* Appends X to the array *V of *N elements (capacity doubles). */
#define VEC_PUSH(v, n, x)                                                   \
	do {                                                                \
		if (((n) & ((n)-1)) == 0)                                   \
			(v) = xrealloc((v), ((n) ? (n)*2 : 1) * sizeof(*(v))); \
		(v)[(n)++] = (x);                                           \
	} while (0)

/*
 * The first line of the secret file PATH (a password, a shared secret, a
 * token) without its line end, as a new string of at most MAX bytes (it
 * may be empty: the caller decides); what follows the line is read no
 * further than MAX + 1 bytes and is zeroed. NULL with errno: open/read
 * errors, or EINVAL when the first line is longer than MAX (never cut to a
 * wrong secret) or PATH is no regular file (a FIFO would block: it is
 * opened non-blocking and refused). The caller frees it, after
 * explicit_bzero.
 */
char *secret_read_line(const char *path, size_t max);

/* secret_read_line() into BUF, which holds MAX bytes: gives the length of
 * the line (1..MAX; no NUL is added), or -1 with errno as there, EINVAL too
 * when the line is empty. The copy in between is wiped and freed. */
int secret_read_into(const char *path, void *buf, size_t max);

/* Reads from FD into BUF until N bytes are in, the end of the file or a
 * read error (EINTR is retried). Gives the bytes read; *ERR (may be NULL)
 * gets the errno of a failed read, 0 at the end of the file or at N. */
size_t read_upto(int fd, void *buf, size_t n, int *err);

/* Writes the N bytes at P to FD, retrying after EINTR and short writes.
 * 0, or -1 with errno (a write that wrote nothing keeps errno as it was). */
int write_all(int fd, const void *p, size_t n);

/* The monotonic clock, in nanoseconds and milliseconds. */
uint64_t mono_ns(void);
uint64_t mono_ms(void);
/* The calling thread's CPU time (user and system: what the kernel does in
 * its system calls included), in ns; 0 when the clock cannot be read. */
uint64_t thread_cpu_ns(void);

/* An injectable millisecond clock (tests drive time by hand): FN(ARG), or
 * mono_ms() when FN is NULL. */
struct msclock {
	uint64_t (*fn)(void *arg);
	void *arg;
};
uint64_t msclock_now(const struct msclock *c);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
