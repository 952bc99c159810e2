/*
 * jsonstr.h — a string as JSON text through jansson, always valid UTF-8.
 * Apart from json.h because json.h's reader names clash with <jansson.h>.
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

#endif
