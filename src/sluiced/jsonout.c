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
			json_array_append_new(msgs, json_text(line));
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
				? json_text(json_string_value(v)) : json_incref(v));
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
		json_object_set_new(o, "error", json_text(err.text));
	json_decref(x);
	char *text = json_dumps(o, JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(o);
	evbuffer_add_printf(out, "%s\n", text ? text : "{}");
	free(text);
}

/* Appends element value V of an nft set (a word, a number, a concat of
 * them, a prefix) as words. */
static void put_elem_value(struct evbuffer *out, json_t *v)
{
	json_t *cc = json_object_get(v, "concat");
	if (json_is_array(cc)) {
		size_t i;
		json_t *x;
		json_array_foreach(cc, i, x) {
			if (i)
				evbuffer_add(out, " ", 1);
			put_elem_value(out, x);
		}
	} else if (json_is_string(v)) {
		char *e = text_escape_dup(json_string_value(v),
					  strlen(json_string_value(v)), false);
		evbuffer_add_printf(out, "%s", e);
		free(e);
	} else if (json_is_integer(v)) {
		evbuffer_add_printf(out, "%lld", (long long)json_integer_value(v));
	} else {
		evbuffer_add_printf(out, "?");
	}
}

int creations_text(const char *js, struct evbuffer *out)
{
	json_t *root = json_loads(js, 0, NULL);
	if (!root)
		return -1;
	evbuffer_add_printf(out, "%-12s %-60s %s\n", "set",
			    "[source] destination protocol port", "expires");
	size_t n = 0;
	const char *set;
	json_t *doc;
	json_object_foreach(root, set, doc) {
		size_t i;
		json_t *o;
		json_array_foreach(json_object_get(doc, "nftables"), i, o) {
			json_t *el = json_object_get(json_object_get(o, "set"), "elem");
			size_t j;
			json_t *e;
			json_array_foreach(el, j, e) {
				json_t *w = json_object_get(e, "elem");
				json_t *val = w ? json_object_get(w, "val") : e;
				json_t *exp = json_object_get(w, "expires");
				struct evbuffer *b = evbuffer_new();
				put_elem_value(b, val);
				evbuffer_add(b, "", 1);
				evbuffer_add_printf(out, "%-12s %-60.60s ", set,
						    (const char *)evbuffer_pullup(b, -1));
				evbuffer_free(b);
				if (json_is_integer(exp))
					evbuffer_add_printf(out, "%lld s\n",
							    (long long)json_integer_value(exp));
				else
					evbuffer_add_printf(out, "-\n");
				n++;
			}
		}
	}
	evbuffer_add_printf(out, "%zu creation(s)\n", n);
	json_decref(root);
	return 0;
}

void creations_json(const char *js, struct evbuffer *out)
{
	json_t *root = json_loads(js, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		evbuffer_add_printf(out, "%s\n", js);
		return;
	}
	json_t *o = json_pack("{s:i}", "schema_version", JSON_SCHEMA_VERSION);
	json_object_update(o, root);
	json_decref(root);
	json_value_out(out, o);
}
