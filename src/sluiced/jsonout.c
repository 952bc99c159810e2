/*
 * jsonout.c — see jsonout.h.
 */
#include "sluiced/jsonout.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "control/control.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int answer_json(int rc, struct evbuffer *out, const char *fmt, ...)
{
	if (rc < 0)
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
	json_value_out(out, o);
	return rc;
}

void json_list_out(struct evbuffer *out, const char *key, json_t *list)
{
	json_t *o = json_pack("{s:i,s:o}", "schema_version",
			      JSON_SCHEMA_VERSION, key, list);
	json_value_out(out, o);
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

/* Value V of an element's concatenation as JSON: a string as text, a
 * number as it is, anything else null. */
static json_t *elem_part(const json_t *v)
{
	if (json_is_string(v))
		return json_text(json_string_value(v));
	if (json_is_integer(v))
		return json_integer(json_integer_value(v));
	return json_null();
}

/* Element E of set SET (nft's JSON: {"elem": {"val", "expires"}} or the
 * value alone) as {"set", "source" (null in the sets without one),
 * "destination", "protocol", "port", "expires_s" (null: no timeout)}. */
static json_t *creation_of(const char *set, const json_t *e)
{
	const json_t *w = json_object_get(e, "elem");
	const json_t *val = w ? json_object_get(w, "val") : e;
	const json_t *exp = json_object_get(w, "expires");
	const json_t *cc = json_object_get(val, "concat");
	size_t n = json_array_size(cc), at = n == 4 ? 1 : 0;
	const json_t *proto = json_array_get(cc, at + 1);
	json_t *pr = elem_part(proto);
	if (json_is_integer(proto)) { /* nft may give the number */
		json_int_t p = json_integer_value(proto);
		if (p == 6 || p == 17) {
			json_decref(pr);
			pr = json_string(p == 6 ? "tcp" : "udp");
		}
	}
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "set", set, "source",
			 n == 4 ? elem_part(json_array_get(cc, 0)) : json_null(),
			 "destination", elem_part(json_array_get(cc, at)),
			 "protocol", pr, "port",
			 elem_part(json_array_get(cc, at + 2)), "expires_s",
			 json_is_integer(exp) ? json_integer(json_integer_value(exp))
					      : json_null());
}

int creations_json(const char *js, struct evbuffer *out)
{
	json_t *root = json_loads(js, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	json_t *list = json_array();
	const char *set;
	json_t *doc;
	json_object_foreach(root, set, doc) {
		size_t i, j;
		json_t *o, *e;
		json_array_foreach(json_object_get(doc, "nftables"), i, o) {
			json_t *el = json_object_get(json_object_get(o, "set"),
						     "elem");
			json_array_foreach(el, j, e)
				json_array_append_new(list, creation_of(set, e));
		}
	}
	json_decref(root);
	json_list_out(out, "creations", list);
	return 0;
}

/* The state of a json_parts_answer() or json_parts_pulled() stream. */
struct json_parts {
	const char *key;
	size_t n, next, written;
	bool started;	   /* the head is out */
	bool complete;	   /* no item past N will come */
	const char *error; /* why the list ended early, or NULL */
	json_pull_fn pull; /* NULL: the N items are all there is */
	json_t *(*item)(void *ctx, size_t i);
	void (*ctx_free)(void *ctx);
	void *ctx;
};

/* Items NEXT .. at most JSON_PARTS_ITEMS on, each a JSON text after a
 * comma when not the first. */
static void json_parts_items(struct json_parts *p, struct evbuffer *out)
{
	size_t end = p->n - p->next > JSON_PARTS_ITEMS
			 ? p->next + JSON_PARTS_ITEMS : p->n;
	for (; p->next < end; p->next++) {
		json_t *v = p->item(p->ctx, p->next);
		if (!v)
			continue;
		char *text = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII |
					       JSON_PRESERVE_ORDER |
					       JSON_ENCODE_ANY);
		json_decref(v);
		if (!text)
			fatalx("out of memory");
		if (p->written++)
			evbuffer_add(out, ",", 1);
		evbuffer_add(out, text, strlen(text));
		free(text);
	}
}

static enum control_part json_parts_next(void *state, struct evbuffer *out)
{
	struct json_parts *p = state;
	if (!p->started) {
		p->started = true;
		if (p->key)
			evbuffer_add_printf(out, "{\"schema_version\":%d,\"%s\":[",
					    JSON_SCHEMA_VERSION, p->key);
		else
			evbuffer_add(out, "[", 1);
	}
	if (p->next == p->n && !p->complete) {
		switch (p->pull(p->ctx, p->next, &p->n, &p->error)) {
		case JSON_PULL_WAIT:
			return CONTROL_PART_WAIT;
		case JSON_PULL_DONE:
			p->complete = true;
			break;
		case JSON_PULL_MORE:
			break;
		}
	}
	json_parts_items(p, out);
	if (p->next < p->n || !p->complete)
		return CONTROL_PART_MORE;
	if (!p->key) {
		evbuffer_add(out, "]", 1);
	} else if (p->error) {
		json_t *e = json_text(p->error);
		char *t = json_dumps(e, JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
		json_decref(e);
		if (!t)
			fatalx("out of memory");
		evbuffer_add_printf(out, "],\"error\":%s}", t);
		free(t);
	} else {
		evbuffer_add(out, "]}", 2);
	}
	return CONTROL_PART_DONE;
}

static void json_parts_free(void *state)
{
	struct json_parts *p = state;
	if (p->ctx_free)
		p->ctx_free(p->ctx);
	free(p);
}

static void json_parts_set(struct control_stream *s, struct json_parts *p)
{
	s->next = json_parts_next;
	s->free = json_parts_free;
	s->state = p;
}

void json_parts_answer(struct control_stream *s, const char *key, size_t n,
		       json_t *(*item)(void *ctx, size_t i),
		       void (*ctx_free)(void *ctx), void *ctx)
{
	struct json_parts *p = xcalloc(1, sizeof(*p));
	*p = (struct json_parts){.key = key, .n = n, .complete = true,
				 .item = item, .ctx_free = ctx_free,
				 .ctx = ctx};
	json_parts_set(s, p);
}

void json_parts_pulled(struct control_stream *s, const char *key,
		       json_pull_fn pull, json_t *(*item)(void *ctx, size_t i),
		       void (*ctx_free)(void *ctx), void *ctx)
{
	struct json_parts *p = xcalloc(1, sizeof(*p));
	*p = (struct json_parts){.key = key, .pull = pull, .item = item,
				 .ctx_free = ctx_free, .ctx = ctx};
	json_parts_set(s, p);
}

size_t json_pull_forget(void *v, size_t size, size_t *n, size_t *base,
			size_t taken)
{
	size_t done = taken - *base;
	if (done > *n)
		done = *n;
	if (done) {
		memmove(v, (char *)v + done * size, (*n - done) * size);
		*n -= done;
		*base += done;
	}
	return *base + *n;
}
