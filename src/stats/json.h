/*
 * json.h — a small JSON reader (a tree) and the string escaper every
 * --json output uses (NULL writes ""), enough for
 * nft's JSON output and `sluicectl counters --json`. Not for untrusted
 * input of unbounded depth: nesting is capped at 64.
 */
#ifndef SLUICE_STATS_JSON_H
#define SLUICE_STATS_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json {
	enum json_type type;
	bool b;
	double num;
	char *str;		   /* JSON_STR, unescaped (\u → UTF-8) */
	char *key;		   /* the member's name inside an object */
	struct json *child, *next; /* arrays and objects: their members */
};

/* Parses TEXT (one value, white space around it allowed); NULL on a syntax
 * error or too deep nesting. Free with json_free. */
struct json *json_parse(const char *text);
void json_free(struct json *j);
/* The member KEY of object J, or NULL (also when J is not an object). */
const struct json *json_get(const struct json *j, const char *key);

#include "stats/jsonstr.h" /* json_put_string() */

#endif
