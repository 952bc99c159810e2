/*
 * form.c — see portal.h: one value of an application/x-www-form-urlencoded
 * body (WHATWG URL Standard, "application/x-www-form-urlencoded parsing").
 */
#include "portal/portal.h"

#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the N bytes at IN into OUT (OUTLEN bytes with the NUL); the
 * decoded length, or -2. */
static long decode(const char *in, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (o + 1 >= outlen)
			return -2;
		char c = in[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < n ? hexval(in[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(in[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return -2;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

int form_value(const char *body, size_t blen, const char *key, char *out,
	       size_t outlen, size_t *len)
{
	size_t klen = strlen(key);
	for (size_t at = 0; at < blen;) {
		const char *pair = body + at;
		const char *amp = memchr(pair, '&', blen - at);
		size_t plen = amp ? (size_t)(amp - pair) : blen - at;
		at += plen + 1;
		if (plen > klen && pair[klen] == '=' &&
		    memcmp(pair, key, klen) == 0) {
			long n = decode(pair + klen + 1, plen - klen - 1, out,
					outlen);
			if (n < 0)
				return -2;
			*len = (size_t)n;
			return 0;
		}
		if (plen == klen && memcmp(pair, key, klen) == 0) {
			if (!outlen)
				return -2;
			out[0] = '\0';
			*len = 0;
			return 0;
		}
	}
	return -1;
}
