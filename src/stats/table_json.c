/*
 * table_json.c — the counters snapshot as JSON (`sluicectl counters
 * --json`, the control reply), built with jansson; see stats/table.h.
 * Apart from table.c, whose reader uses stats/json.h (names that clash
 * with <jansson.h>).
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

/* Histogram H as {"count", "sum", "p50", "p99", "buckets": {le:
 * cumulative count}}, the bounds written with %g ("+Inf" the last). */
static json_t *hist_json(const struct stats_hist *h)
{
	json_t *b = json_object();
	uint64_t cum = 0;
	for (size_t i = 0; i < STATS_LAT_BUCKETS; i++) {
		char le[32];
		cum += h->buckets[i];
		if (isinf(stats_latency_bounds[i]))
			snprintf(le, sizeof(le), "+Inf");
		else
			snprintf(le, sizeof(le), "%g", stats_latency_bounds[i]);
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
