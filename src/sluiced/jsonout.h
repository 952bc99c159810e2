/*
 * jsonout.h — `--json` answers of the commands that otherwise write lines
 * of text (reload, confirm, identity add/del, creations add/del, alerts
 * reset): one object built with jansson.
 */
#ifndef SLUICED_JSONOUT_H
#define SLUICED_JSONOUT_H

#include <stdbool.h>

#include "stats/jsonstr.h" /* json_text(), json_value_out() */

struct evbuffer;

/* The version of the objects these answers carry (schema_version). */
#define JSON_SCHEMA_VERSION 1

/*
 * When JSON and RC >= 0, replaces OUT's text by {"schema_version": 1,
 * "ok": true, "messages": [its non-empty lines], ...} plus the fields
 * FMT builds (json_pack(3) format of an object, or NULL for none; its
 * strings need not be UTF-8: bytes that are not become \xNN text, as
 * control characters do). An error (RC < 0) stays text: the control layer
 * sends it as the reply's error. Returns RC.
 */
int answer_json(int rc, bool json, struct evbuffer *out, const char *fmt,
		...);

/*
 * Appends to OUT the object FMT builds (json_pack(3); its strings must be
 * valid UTF-8, text_escape_dup() makes outside text so) with
 * "schema_version" first, as one line. On a packing error (a bug) the
 * object {"schema_version": 1, "error": "..."} instead.
 */
void json_object_out(struct evbuffer *out, const char *fmt, ...);

/* Appends JS, the creation sets as creation_list_json() gives them (an
 * object: set name → nft's JSON of the set), to OUT as one line with
 * "schema_version" first; JS as it is when it is not a JSON object. */
void creations_json(const char *js, struct evbuffer *out);

/* Renders JS, the creation sets as creation_list_json() gives them (nft's
 * JSON per set), as a table for people on OUT: one line an element (its
 * words, the seconds it has left), at most 100 columns for IPv4, then the
 * count. -1 when JS is not JSON (OUT untouched). */
int creations_text(const char *js, struct evbuffer *out);

#endif
