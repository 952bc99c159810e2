/*
 * jsonstr.c — see jsonstr.h.
 */
#include "stats/jsonstr.h"
#include "common/text.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void json_put_string(struct evbuffer *out, const char *s)
{
	char *safe = text_escape_dup(s ? s : "", s ? strlen(s) : 0, true);
	json_t *j = json_string(safe);
	char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII)
		       : NULL;
	evbuffer_add_printf(out, "%s", text ? text : "\"\"");
	free(text);
	json_decref(j);
	free(safe);
}
