/* json.c — a small JSON reader and string escaper; see json.h. */
#include "stats/json.h"
#include "common/util.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

struct jp {
	const char *p;
	int depth;
};

static void skip_ws(struct jp *jp)
{
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' ||
	       *jp->p == '\r')
		jp->p++;
}

static void put_utf8(char **o, unsigned cp)
{
	char *d = *o;
	if (cp < 0x80) {
		*d++ = (char)cp;
	} else if (cp < 0x800) {
		*d++ = (char)(0xc0 | (cp >> 6));
		*d++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*d++ = (char)(0xe0 | (cp >> 12));
		*d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*d++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = d;
}

/* Reads a string at jp->p (on the opening quote); NULL on error. */
static char *parse_str(struct jp *jp)
{
	const char *s = ++jp->p;
	size_t n = 0;
	while (s[n] && s[n] != '"')
		n += s[n] == '\\' && s[n + 1] ? 2 : 1;
	if (s[n] != '"')
		return NULL;
	char *out = xmalloc(n * 3 + 1), *o = out;
	for (const char *c = s; c < s + n; c++) {
		if (*c != '\\') {
			*o++ = *c;
			continue;
		}
		c++;
		switch (*c) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned cp = 0;
			for (int i = 1; i <= 4; i++) {
				if (!isxdigit((unsigned char)c[i])) {
					free(out);
					return NULL;
				}
				cp = cp * 16 + (unsigned)(isdigit((unsigned char)c[i])
					  ? c[i] - '0' : (tolower((unsigned char)c[i]) - 'a' + 10));
			}
			c += 4;
			put_utf8(&o, cp);
			break;
		}
		default: *o++ = *c; break;
		}
	}
	*o = '\0';
	jp->p = s + n + 1;
	return out;
}

static struct json *parse_value(struct jp *jp);

/* Reads the members of an array or object up to CLOSE into J. */
static bool parse_members(struct jp *jp, struct json *j, char close)
{
	struct json **tail = &j->child;
	jp->p++;
	skip_ws(jp);
	if (*jp->p == close) {
		jp->p++;
		return true;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(jp);
		if (close == '}') {
			if (*jp->p != '"' || !(key = parse_str(jp)))
				return false;
			skip_ws(jp);
			if (*jp->p != ':') {
				free(key);
				return false;
			}
			jp->p++;
		}
		struct json *m = parse_value(jp);
		if (!m) {
			free(key);
			return false;
		}
		m->key = key;
		*tail = m;
		tail = &m->next;
		skip_ws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == close) {
			jp->p++;
			return true;
		}
		return false;
	}
}

static struct json *parse_value(struct jp *jp)
{
	skip_ws(jp);
	struct json *j = xcalloc(1, sizeof(*j));
	char c = *jp->p;
	if (c == '{' || c == '[') {
		j->type = c == '{' ? JSON_OBJ : JSON_ARR;
		if (++jp->depth > JSON_MAX_DEPTH ||
		    !parse_members(jp, j, c == '{' ? '}' : ']'))
			goto fail;
		jp->depth--;
	} else if (c == '"') {
		j->type = JSON_STR;
		if (!(j->str = parse_str(jp)))
			goto fail;
	} else if (strncmp(jp->p, "true", 4) == 0 ||
		   strncmp(jp->p, "false", 5) == 0) {
		j->type = JSON_BOOL;
		j->b = c == 't';
		jp->p += j->b ? 4 : 5;
	} else if (strncmp(jp->p, "null", 4) == 0) {
		j->type = JSON_NULL;
		jp->p += 4;
	} else if (c == '-' || isdigit((unsigned char)c)) {
		char *end;
		j->type = JSON_NUM;
		j->num = strtod(jp->p, &end);
		if (end == jp->p)
			goto fail;
		jp->p = end;
	} else {
		goto fail;
	}
	return j;
fail:
	json_free(j);
	return NULL;
}

struct json *json_parse(const char *text)
{
	struct jp jp = {text, 0};
	struct json *j = parse_value(&jp);
	if (!j)
		return NULL;
	skip_ws(&jp);
	if (*jp.p) {
		json_free(j);
		return NULL;
	}
	return j;
}

void json_free(struct json *j)
{
	while (j) {
		struct json *nx = j->next;
		json_free(j->child);
		free(j->str);
		free(j->key);
		free(j);
		j = nx;
	}
}

const struct json *json_get(const struct json *j, const char *key)
{
	if (!j || j->type != JSON_OBJ)
		return NULL;
	for (const struct json *m = j->child; m; m = m->next)
		if (m->key && strcmp(m->key, key) == 0)
			return m;
	return NULL;
}
