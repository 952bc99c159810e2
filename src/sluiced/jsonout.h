/*
 * jsonout.h — the answers of the control commands, built with jansson:
 * the lines of text that the actions (reload, confirm, identity add/del,
 * creations add/del, alerts reset) write as one object, the lists with
 * their schema_version.
 */
#ifndef SLUICED_JSONOUT_H
#define SLUICED_JSONOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "stats/jsonstr.h" /* json_text(), json_value_out() */

struct evbuffer;

/* The version of the objects these answers carry (schema_version). */
#define JSON_SCHEMA_VERSION 1

/*
 * When RC >= 0, replaces OUT's text by {"schema_version": 1, "ok": true,
 * "messages": [its non-empty lines], ...} plus the fields FMT builds
 * (json_pack(3) format of an object, or NULL for none; its strings need
 * not be UTF-8: bytes that are not become \xNN text, as control characters
 * do). An error (RC < 0) stays text: the control layer sends it as the
 * reply's error. Returns RC.
 */
int answer_json(int rc, struct evbuffer *out, const char *fmt, ...);

/* Appends {"schema_version": 1, KEY: LIST} to OUT as one line; LIST (an
 * array, its reference taken) is the answer of a listing command. */
void json_list_out(struct evbuffer *out, const char *key, json_t *list);

/*
 * Appends to OUT the object FMT builds (json_pack(3); its strings must be
 * valid UTF-8, text_escape_dup() makes outside text so) with
 * "schema_version" first, as one line. On a packing error (a bug) the
 * object {"schema_version": 1, "error": "..."} instead.
 */
void json_object_out(struct evbuffer *out, const char *fmt, ...);

/*
 * A list answer made in parts (control.h, struct control_stream): fills S
 * so that the answer is {"schema_version": 1, KEY: [...]} (KEY NULL: the
 * bare array), the items being what ITEM gives for 0 .. N-1 in order,
 * JSON_PARTS_ITEMS of them a part (ITEM returns a new reference, or NULL
 * to leave I out). CTX_FREE (may be NULL) frees CTX when the answer is
 * sent or its client has gone. KEY must outlive the stream (a literal).
 */
#define JSON_PARTS_ITEMS 512
struct control_stream;
void json_parts_answer(struct control_stream *s, const char *key, size_t n,
		       json_t *(*item)(void *ctx, size_t i),
		       void (*ctx_free)(void *ctx), void *ctx);

/*
 * The same for items that arrive while the answer is sent (a kernel dump
 * read as it comes): PULL is called whenever every item before TAKEN
 * (the N it gave last, 0 at first) has been written; the items before
 * TAKEN may then be forgotten. It returns JSON_PULL_MORE with *N raised
 * (the items up to it now there for ITEM), JSON_PULL_DONE with *N final
 * (and *ERROR, a string that outlives CTX, when the list ended early: the
 * answer then says so in "error" beside the list: {"schema_version": 1,
 * KEY: [...], "error": "..."}), or JSON_PULL_WAIT when no item is there
 * yet; CTX then calls S's wake (control.h) from the event loop once one
 * is, or the list has ended. KEY must not be NULL.
 */
enum json_pull { JSON_PULL_MORE, JSON_PULL_DONE, JSON_PULL_WAIT };
typedef enum json_pull (*json_pull_fn)(void *ctx, size_t taken, size_t *n,
				       const char **error);
void json_parts_pulled(struct control_stream *s, const char *key,
		       json_pull_fn pull, json_t *(*item)(void *ctx, size_t i),
		       void (*ctx_free)(void *ctx), void *ctx);

/* For a PULL whose CTX keeps the items not yet written in an array V (*N
 * of them, SIZE bytes each, the first being item *BASE): forgets those
 * before TAKEN, moving the rest to the front (*N and *BASE updated), and
 * returns the N to give (*BASE + *N). */
size_t json_pull_forget(void *v, size_t size, size_t *n, size_t *base,
			size_t taken);

/* Appends JS, the creation sets as creation_list_json() gives them (an
 * object: set name → nft's JSON of the set), to OUT as {"schema_version":
 * 1, "creations": [{"set", "source" (null: any), "destination",
 * "protocol", "port", "expires_s" (null: none)}]}, one line. -1 when JS
 * is not a JSON object (OUT untouched). */
int creations_json(const char *js, struct evbuffer *out);

#endif
