/*
 * vchange.c — state change times and downtime of a verifier, and the
 * drained-members file; see vchange.h.
 */
#include "verify/vchange.h"
#include "common/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/statefile.h"

void vchange_note(struct vchange *c, enum vstate prev, enum vstate now,
		  int64_t now_ms)
{
	if (now == prev)
		return;
	c->changed_ms = now_ms;
	c->changes++;
	if (now == VS_DOWN && !c->down_since_ms) {
		c->down_since_ms = now_ms;
	} else if (now != VS_DOWN && c->down_since_ms) {
		if (now_ms > c->down_since_ms)
			c->down_total_ms += (uint64_t)(now_ms - c->down_since_ms);
		c->down_since_ms = 0;
	}
}

int64_t vchange_lastchg_s(const struct vchange *c, int64_t now_ms)
{
	if (!c->changed_ms)
		return -1;
	return now_ms > c->changed_ms ? (now_ms - c->changed_ms) / 1000 : 0;
}

uint64_t vchange_downtime_ms(const struct vchange *c, int64_t now_ms)
{
	uint64_t t = c->down_total_ms;

	if (c->down_since_ms && now_ms > c->down_since_ms)
		t += (uint64_t)(now_ms - c->down_since_ms);
	return t;
}

/* A name as the drain file may hold it: 1..VDRAINS_NAME_MAX bytes, no
 * control character (so one a line, and safe to print). */
static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len > VDRAINS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int vdrains_save(const char *path, const char *const *names, size_t n)
{
	size_t len = 0, off = 0;
	char *buf;
	int rc;

	if (n == 0)
		return statefile_remove(path) < 0 && errno != ENOENT ? -1 : 0;
	if (n > VDRAINS_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (!name_ok(names[i], l)) {
			errno = EINVAL;
			return -1;
		}
		len += l + 1;
	}
	buf = xmalloc(len);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		memcpy(buf + off, names[i], l);
		off += l;
		buf[off++] = '\n';
	}
	rc = statefile_write(path, buf, len);
	free(buf);
	return rc;
}

int vdrains_load(const char *path, char ***names, size_t *n)
{
	size_t len, cap = 0;
	char *text, *p, **v = NULL;

	*names = NULL;
	*n = 0;
	text = statefile_read(path, (size_t)VDRAINS_MAX * (VDRAINS_NAME_MAX + 1),
			      &len);
	if (!text)
		return errno == ENOENT ? 0 : -1;
	for (p = text; p < text + len && *n < VDRAINS_MAX;) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);

		if (name_ok(p, l)) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 8;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[(*n)++] = xstrndup(p, l);
		}
		p += l + 1;
	}
	free(text);
	*names = v;
	return 0;
}

void vdrains_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
