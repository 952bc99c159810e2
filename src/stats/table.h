/*
 * table.h — `sluicectl counters`: the counters as a text table (section,
 * name, value, healthy range, threshold; a '!' in front of a value past its
 * threshold or watched by a firing alert) or as JSON
 * ({"counters": {name: value, ...}, "alerts": [...], "past_threshold": [...]}),
 * and `--watch`, which redraws the table in place.
 */
#ifndef SLUICE_STATS_TABLE_H
#define SLUICE_STATS_TABLE_H

#include "stats/counters.h"

#include <stdbool.h>

struct evbuffer;
struct alerts;
/* jansson's value (<jansson.h>) */
typedef struct json_t json_t;

/* Appends the table of S to OUT. ALERTS may be NULL. */
/* Appends TEXT, which starts at column COL, broken at spaces so that no
 * line passes WIDTH columns; continuation lines start at column INDENT. A
 * word longer than a line is kept whole. Ends with a newline. */
void stats_put_wrapped(struct evbuffer *out, const char *text, size_t col,
		       size_t width, size_t indent);

void stats_render_text(const struct stats_snapshot *s,
		       const struct alerts *alerts, struct evbuffer *out);
/* Appends the JSON object of S (and of ALERTS' list; [] when NULL). A
 * histogram is {"count", "sum", "p50", "p99", "buckets": {le: cumulative}}. */
void stats_render_json(const struct stats_snapshot *s,
		       const struct alerts *alerts, struct evbuffer *out);
/* Reads the "counters" object of a stats_render_json() document J (parsed
 * by jansson) back into S: names not in the table, and values of another
 * type, negative or not finite, are ignored (the field keeps its value).
 * 0, or -1 when J has no "counters" object. */
int stats_from_json(const json_t *j, struct stats_snapshot *s);

#endif
