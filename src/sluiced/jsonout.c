/*
 * jsonout.c — see jsonout.h.
 */
#include "sluiced/jsonout.h"
#include "common/text.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* S as a JSON string that is always valid UTF-8 (text_escape: bytes that
 * are not UTF-8 and control characters become \xNN text). */
static json_t *safe_string(const char *s)
{
	char *e = text_escape_dup(s, strlen(s), false);
	json_t *j = json_string(e);
	free(e);
	return j;
}

int answer_json(int rc, bool json, struct evbuffer *out, const char *fmt,
		...)
{
	if (!json || rc < 0)
		return rc;
	json_t *o = json_object(), *msgs = json_array();
	json_object_set_new(o, "schema_version", json_integer(JSON_SCHEMA_VERSION));
	json_object_set_new(o, "ok", json_true());
	for (char *line; (line = evbuffer_readln(out, NULL, EVBUFFER_EOL_LF));
	     free(line))
		if (*line)
			json_array_append_new(msgs, safe_string(line));
	evbuffer_drain(out, evbuffer_get_length(out));
	json_object_set_new(o, "messages", msgs);
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		json_t *x = json_vpack_ex(NULL, 0, fmt, ap);
		va_end(ap);
		const char *k;
		json_t *v;
		json_object_foreach(x, k, v) { /* strings made UTF-8-safe */
			json_object_set_new(o, k, json_is_string(v)
				? safe_string(json_string_value(v)) : json_incref(v));
		}
		json_decref(x);
	}
	char *text = json_dumps(o, JSON_ENSURE_ASCII);
	json_decref(o);
	evbuffer_add_printf(out, "%s\n", text ? text : "{}");
	free(text);
	return rc;
}

void json_object_out(struct evbuffer *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_error_t err;
	json_t *x = json_vpack_ex(&err, 0, fmt, ap);
	va_end(ap);
	json_t *o = json_pack("{s:i}", "schema_version", JSON_SCHEMA_VERSION);
	if (x)
		json_object_update(o, x);
	else
		json_object_set_new(o, "error", safe_string(err.text));
	json_decref(x);
	char *text = json_dumps(o, JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(o);
	evbuffer_add_printf(out, "%s\n", text ? text : "{}");
	free(text);
}
