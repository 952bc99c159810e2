/*
 * evbuf_text.h — for the tests of the stats renderers: what a renderer
 * wrote into an evbuffer, as a string.
 */
#ifndef SLUICE_TESTS_EVBUF_TEXT_H
#define SLUICE_TESTS_EVBUF_TEXT_H

#include <event2/buffer.h>
#include <stdlib.h>

/* Everything in B, moved out of it into a new NUL-terminated string (the
 * caller frees it). */
static inline char *drain(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

#endif
