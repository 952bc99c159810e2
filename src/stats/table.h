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

/* SECONDS for people: "850 µs", "12.5 ms", "20.7 s", "12.3 min", "5.2 h",
 * "3.1 d" ("0 s" for 0 and below). */
void stats_human_seconds(double v, char *buf, size_t len);
/* BYTES for people, binary prefixes (IEC 80000-13): "512 B", "16.2 MiB". */
void stats_human_bytes(double v, char *buf, size_t len);
/* V of UNIT (a counter's unit: "seconds", "bytes", anything else a plain
 * number) for people, never in e-notation: the two above, a whole number
 * (or one of a million and more) without decimals, else two; "-" when not
 * finite. */
void stats_human(double v, const char *unit, char *buf, size_t len);

/* How stats_put_cell pads: on the right, on the left, not at all (the
 * last cell of a line). */
enum stats_align { CELL_LEFT, CELL_RIGHT, CELL_LAST };
/* Appends S (NULL: "-") as a table cell of at most COLS columns: control
 * characters and bytes that are not UTF-8 written \xNN (common/text.h), a
 * longer text cut with "…", padded to COLS as ALIGN says. Returns the
 * columns written. */
size_t stats_put_cell(struct evbuffer *out, const char *s, size_t cols,
		      enum stats_align align);

/* Appends TEXT, which starts at column COL, broken at spaces so that no
 * line passes WIDTH columns; continuation lines start at column INDENT. A
 * word longer than a line is kept whole. Ends with a newline. */
void stats_put_wrapped(struct evbuffer *out, const char *text, size_t col,
		       size_t width, size_t indent);

/* Appends the table of S to OUT; a counter is marked '!' past its
 * threshold or when an alert of ALERTS (the "alerts" array of a
 * stats_render_json() document, alerts_json(); NULL: none) on it fires. */
void stats_render_text(const struct stats_snapshot *s, const json_t *alerts,
		       struct evbuffer *out);
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
