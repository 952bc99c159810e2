/*
 * jsonstr.h — a string as JSON text through jansson, always valid UTF-8,
 * and a value built with jansson written out. Every JSON sluice writes or
 * reads goes through jansson (RFC 8259).
 */
#ifndef SLUICE_STATS_JSONSTR_H
#define SLUICE_STATS_JSONSTR_H

struct evbuffer;

/* Appends S to OUT as a JSON string, quotes included (NULL writes "").
 * Encoded by jansson (RFC 8259, non-ASCII as \u escapes, surrogate pairs
 * beyond the BMP); bytes that are not valid UTF-8 and control characters
 * but LF are first written as the text \xNN (common/text.h text_escape),
 * so the
 * output is valid JSON whatever S holds. */
void json_put_string(struct evbuffer *out, const char *s);

/* jansson's value (<jansson.h>). */
typedef struct json_t json_t;

/* S as a new JSON string that is always valid UTF-8 (the same text
 * json_put_string writes); NULL gives JSON null. NULL only when out of
 * memory. */
json_t *json_text(const char *s);

/* Appends V (the reference is taken) to OUT as one line of JSON text
 * (ASCII: other characters as \u escapes, members in their order); "null"
 * for V NULL (out of memory while building it). */
void json_value_out(struct evbuffer *out, json_t *v);

#endif
