/* text.c — see text.h. */
#include "common/text.h"
#include "common/util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unictype.h>

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0; /* a continuation byte, 0xc0/0xc1 or 0xf5+ */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The code point of the valid sequence of LEN bytes at S. */
static unsigned decode(const unsigned char *s, size_t len)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned cp = s[0] & lead_mask[len];
	for (size_t i = 1; i < len; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

bool text_is_control(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
}

bool text_is_format(unsigned cp)
{
	return uc_is_general_category(cp, UC_CATEGORY_Cf);
}

const char *text_name_problem(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (n > TEXT_NAME_MAX)
		return "is too long (at most 256 bytes)";
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(p + i, n - i);
		if (!l)
			return "is not valid UTF-8";
		unsigned cp = decode(p + i, l);
		if (text_is_control(cp))
			return "contains a control character";
		if (text_is_format(cp))
			return "contains an invisible format character (bidi "
			       "control, zero-width or soft hyphen: Unicode Cf)";
		i += l;
	}
	return NULL;
}

size_t text_escape(char *dst, size_t dstlen, const char *src, size_t n,
		   bool keep_newline)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0;
	if (dstlen == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(p + i, n - i);
		bool raw = l && (!text_is_control(decode(p + i, l)) ||
				 (keep_newline && p[i] == '\n'));
		if (raw) {
			if (o + l >= dstlen)
				break;
			memcpy(dst + o, p + i, l);
			o += l;
			i += l;
			continue;
		}
		size_t k = l ? l : 1; /* a C1 control: both bytes escaped */
		if (o + 4 * k >= dstlen)
			break;
		for (size_t j = 0; j < k; j++) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[p[i + j] >> 4];
			dst[o++] = hex[p[i + j] & 15];
		}
		i += k;
	}
	dst[o] = '\0';
	return o;
}

char *text_escape_dup(const char *src, size_t n, bool keep_newline)
{
	size_t cap = 4 * n + 1;
	char *d = xmalloc(cap);
	text_escape(d, cap, src, n, keep_newline);
	return d;
}

char *text_escape_json_dup(const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)src;
	char *d = xmalloc(6 * n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(p + i, n - i);
		if (!l) { /* \\xNN: a backslash, escaped, then xNN */
			o += (size_t)sprintf(d + o, "\\\\x%c%c", hex[p[i] >> 4],
					     hex[p[i] & 15]);
			i++;
			continue;
		}
		unsigned cp = decode(p + i, l);
		if (text_is_control(cp) && cp != '\n') {
			o += (size_t)sprintf(d + o, "\\u%04x", cp);
		} else {
			memcpy(d + o, p + i, l);
			o += l;
		}
		i += l;
	}
	d[o] = '\0';
	return d;
}
