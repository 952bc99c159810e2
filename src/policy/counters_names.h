/*
 * counters_names.h — the names (and kinds) of sluice's counters, for the
 * policy checker: an `alert` may only name a counter of this list. The
 * policy library does not link the stats library; the list is expanded from
 * the one table in stats/counter_table.h (header only). Kinds: 'c' counter,
 * 'g' gauge, 'h' histogram.
 */
#ifndef SLUICE_POLICY_COUNTERS_NAMES_H
#define SLUICE_POLICY_COUNTERS_NAMES_H

#include <stddef.h>

#include "stats/counter_table.h"

struct policy_counter_name {
	const char *name;
	char kind;
};

#define POLICY_COUNTER_NAME(n, type, ...)                                      \
	{#n, (type) == STATS_COUNTER ? 'c' : (type) == STATS_GAUGE ? 'g' : 'h'},

static const struct policy_counter_name policy_counter_names[] = {
    STATS_COUNTER_TABLE(POLICY_COUNTER_NAME) {NULL, 0},
};
#undef POLICY_COUNTER_NAME

#endif
