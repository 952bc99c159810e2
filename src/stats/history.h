/*
 * history.h — the last hour of a few counters and of the farm members'
 * states, for the dashboard page (sluiced(8), DASHBOARD): a ring of at
 * most CAP samples (sluiced: one every 10 s, 360 = one hour), so its
 * memory is bounded whatever runs for how long, and a page opened late
 * still draws the hour. Values are copied in; nothing points outside.
 * Not thread-safe: one owner (sluiced's main loop).
 */
#ifndef SLUICE_STATS_HISTORY_H
#define SLUICE_STATS_HISTORY_H

#include <stddef.h>
#include <stdint.h>

typedef struct json_t json_t;
struct history;

/* Members whose states are kept at most; more are counted, not kept. */
#define HISTORY_MEMBERS_MAX 64

/* A member's state in one sample (one character in the JSON). */
enum history_state {
	HS_ABSENT = '-',  /* not in the policy at that time (or no sample) */
	HS_UNKNOWN = '?', /* not checked yet, or not checked at all */
	HS_UP = 'u',
	HS_DOWN = 'd',
	HS_DRAINED = 'r', /* drained by an operator, whatever its check says */
};

/* One member's state for history_add: NAME ("FARM/MEMBER"; any bytes:
 * shown escaped) is copied. */
struct history_member {
	const char *name;
	enum history_state state;
};

/*
 * A ring of CAP samples (at least 1) of the NFIELDS values named FIELDS
 * (static strings, kept by pointer: valid for the ring's life; JSON keys,
 * so plain ASCII). INTERVAL_S is what the JSON reports as the sampling
 * interval. Never NULL (aborts on memory exhaustion).
 */
struct history *history_new(const char *const *fields, size_t nfields,
			    size_t cap, uint32_t interval_s);
/* Frees H; NULL is fine. */
void history_free(struct history *h);

/*
 * Adds a sample taken at T (seconds since the epoch): VALUES holds the
 * NFIELDS values in the order of FIELDS; M the NM members' states now. A
 * member not seen before gets a column (HS_ABSENT in earlier samples)
 * while fewer than HISTORY_MEMBERS_MAX have one; members beyond are
 * counted in "members_dropped". When the ring is full the oldest sample
 * goes.
 */
void history_add(struct history *h, double t, const double *values,
		 const struct history_member *m, size_t nm);

/* Samples held now (0 .. CAP). */
size_t history_len(const struct history *h);

/*
 * The ring as a new JSON object (jansson; the caller decrefs), oldest
 * sample first:
 *   {"schema_version": 1, "interval_s": N, "capacity": CAP,
 *    "t": [epoch seconds...],
 *    "series": {FIELD: [value...], ...},
 *    "members": {NAME: "uu?dr-...", ...}   one character a sample
 *    "members_dropped": N}
 * Names that are not valid UTF-8 are shown with \xNN escapes. NULL only
 * when out of memory.
 */
json_t *history_json(const struct history *h);

#endif
