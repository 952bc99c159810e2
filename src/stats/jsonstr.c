/*
 * jsonstr.c — see jsonstr.h.
 */
#include "stats/jsonstr.h"
#include "common/text.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

json_t *json_text(const char *s)
{
	if (!s)
		return json_null();
	char *safe = text_escape_dup(s, strlen(s), true);
	json_t *j = json_string(safe);
	free(safe);
	return j;
}

void json_put_string(struct evbuffer *out, const char *s)
{
	json_t *j = json_text(s ? s : "");
	char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII)
		       : NULL;
	evbuffer_add_printf(out, "%s", text ? text : "\"\"");
	free(text);
	json_decref(j);
}

void json_value_out(struct evbuffer *out, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)
		       : NULL;
	json_decref(v);
	evbuffer_add_printf(out, "%s\n", text ? text : "null");
	free(text);
}
