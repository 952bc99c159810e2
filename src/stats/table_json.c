/*
 * table_json.c — the counters snapshot as JSON (`sluicectl counters
 * --json`, the control reply) built with jansson, and read back with
 * jansson for `--watch`; see stats/table.h.
 */
#include "stats/alerts.h"
#include "stats/counters.h"
#include "stats/jsonstr.h"
#include "stats/table.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>

/* V as a JSON number: an integer when it is one (below 2^53), else a real;
 * 0 for a value that is not finite (JSON has no NaN or infinity). */
static json_t *number(double v)
{
	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* The name of bucket I's upper bound in the JSON ("%g", "+Inf" the last). */
static void bucket_name(size_t i, char *le, size_t len)
{
	if (isinf(stats_latency_bounds[i]))
		snprintf(le, len, "+Inf");
	else
		snprintf(le, len, "%g", stats_latency_bounds[i]);
}

/* Histogram H as {"count", "sum", "p50", "p99", "buckets": {le:
 * cumulative count}}. */
static json_t *hist_json(const struct stats_hist *h)
{
	json_t *b = json_object();
	uint64_t cum = 0;
	for (size_t i = 0; i < STATS_LAT_BUCKETS; i++) {
		char le[32];
		cum += h->buckets[i];
		bucket_name(i, le, sizeof(le));
		json_object_set_new(b, le, json_integer((json_int_t)cum));
	}
	return json_pack("{s:I,s:o,s:o,s:o,s:o}", "count", (json_int_t)h->count,
			 "sum", number(h->sum), "p50",
			 number(stats_hist_quantile(h, 0.5)), "p99",
			 number(stats_hist_quantile(h, 0.99)), "buckets", b);
}

void stats_render_json(const struct stats_snapshot *s,
		       const struct alerts *alerts, struct evbuffer *out)
{
	json_t *cs = json_object(), *past = json_array();
	for (const struct stats_counter *c = stats_counters; c->name; c++) {
		json_object_set_new(cs, c->name, c->type == STATS_HISTOGRAM
			? hist_json((const struct stats_hist *)((const char *)s + c->off))
			: number(stats_value(s, c)));
		if (stats_past_threshold(s, c))
			json_array_append_new(past, json_string(c->name));
	}
	json_value_out(out, json_pack("{s:i,s:o,s:o,s:o}", "schema_version", 1,
				      "counters", cs, "alerts",
				      alerts_json(alerts), "past_threshold",
				      past));
}

/* Non-negative whole count of the JSON number V; 0 for anything else. */
static uint64_t count_of(const json_t *v)
{
	double n = json_is_number(v) ? json_number_value(v) : 0;
	return isfinite(n) && n > 0 && n < 18446744073709551616.0 ? (uint64_t)n : 0;
}

/* Histogram H from its stats_render_json() object V: the buckets found by
 * their bound's name (cumulative; one missing or not a number counts as
 * the one below it, a count going down as 0). */
static void hist_from_json(const json_t *v, struct stats_hist *h)
{
	const json_t *sum = json_object_get(v, "sum"),
		     *b = json_object_get(v, "buckets");
	h->count = count_of(json_object_get(v, "count"));
	h->sum = json_is_number(sum) && isfinite(json_number_value(sum))
			 ? json_number_value(sum) : 0;
	uint64_t prev = 0;
	for (size_t i = 0; i < STATS_LAT_BUCKETS; i++) {
		char le[32];
		bucket_name(i, le, sizeof(le));
		const json_t *e = json_object_get(b, le);
		uint64_t cum = json_is_number(e) ? count_of(e) : prev;
		h->buckets[i] = cum >= prev ? cum - prev : 0;
		prev = cum > prev ? cum : prev;
	}
}

int stats_from_json(const json_t *j, struct stats_snapshot *s)
{
	const json_t *cs = json_object_get(j, "counters");
	if (!json_is_object(cs))
		return -1;
	for (const struct stats_counter *c = stats_counters; c->name; c++) {
		const json_t *v = json_object_get(cs, c->name);
		char *field = (char *)s + c->off;
		if (c->store == STORE_HIST && json_is_object(v)) {
			hist_from_json(v, (struct stats_hist *)field);
		} else if (json_is_number(v)) {
			if (c->store == STORE_F64)
				*(double *)field = isfinite(json_number_value(v))
						   ? json_number_value(v) : 0;
			else if (c->store != STORE_HIST)
				*(uint64_t *)field = count_of(v);
		}
	}
	return 0;
}
