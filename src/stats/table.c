/*
 * table.c — the counters as a text table and as JSON, both from the
 * counters table (one function per output).
 */
#include "stats/table.h"
#include "stats/alerts.h"
#include "stats/json.h"

#include <event2/buffer.h>
#include <math.h>
#include <string.h>

static const struct stats_hist *hist_of(const struct stats_snapshot *s,
					const struct stats_counter *c)
{
	return (const struct stats_hist *)((const char *)s + c->off);
}

/* The value of C in S for people: integers plain, seconds in ms, bytes in
 * MiB beyond 10 MiB, a histogram as count and quantiles. */
static void human_value(const struct stats_snapshot *s,
			const struct stats_counter *c, char *buf, size_t len)
{
	double v = stats_value(s, c);
	if (c->type == STATS_HISTOGRAM) {
		const struct stats_hist *h = hist_of(s, c);
		snprintf(buf, len, "n=%llu p50=%.3gms p99=%.3gms",
			 (unsigned long long)h->count,
			 stats_hist_quantile(h, 0.5) * 1e3,
			 stats_hist_quantile(h, 0.99) * 1e3);
	} else if (strcmp(c->unit, "seconds") == 0 && v < 100) {
		snprintf(buf, len, "%.3f ms", v * 1e3);
	} else if (strcmp(c->unit, "seconds") == 0) {
		snprintf(buf, len, "%.0f s", v);
	} else if (strcmp(c->unit, "bytes") == 0 && v >= 10 * 1048576.0) {
		snprintf(buf, len, "%.1f MiB", v / 1048576.0);
	} else {
		snprintf(buf, len, "%.0f", v);
	}
}

void stats_render_text(const struct stats_snapshot *s,
		       const struct alerts *alerts, struct evbuffer *out)
{
	const char *section = NULL;
	for (const struct stats_counter *c = stats_counters; c->name; c++) {
		if (!section || strcmp(section, c->section) != 0) {
			section = c->section;
			evbuffer_add_printf(out, "%s%s\n", c == stats_counters
					    ? "" : "\n", section);
		}
		char val[64];
		human_value(s, c, val, sizeof(val));
		bool past = stats_past_threshold(s, c) ||
			    alerts_counter_firing(alerts, c->name);
		const char *thr = stats_threshold_text(c);
		evbuffer_add_printf(out, "%c %-30s %26s  %s%s%s%s\n",
				    past ? '!' : ' ', c->name, val, c->healthy,
				    thr[0] ? " [alert " : "", thr,
				    thr[0] ? "]" : "");
	}
}

static void put_double(struct evbuffer *out, double v)
{
	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 1e15)
		evbuffer_add_printf(out, "%.0f", v);
	else
		evbuffer_add_printf(out, "%.17g", v);
}

void stats_render_json(const struct stats_snapshot *s,
		       const struct alerts *alerts, struct evbuffer *out)
{
	evbuffer_add_printf(out, "{\"counters\": {");
	for (const struct stats_counter *c = stats_counters; c->name; c++) {
		evbuffer_add_printf(out, "%s\"%s\": ", c == stats_counters ? ""
				    : ", ", c->name);
		if (c->type != STATS_HISTOGRAM) {
			put_double(out, stats_value(s, c));
			continue;
		}
		const struct stats_hist *h = hist_of(s, c);
		evbuffer_add_printf(out, "{\"count\": %llu, \"sum\": ",
				    (unsigned long long)h->count);
		put_double(out, h->sum);
		evbuffer_add_printf(out, ", \"p50\": %.6g, \"p99\": %.6g, "
				    "\"buckets\": {", stats_hist_quantile(h, 0.5),
				    stats_hist_quantile(h, 0.99));
		uint64_t cum = 0;
		for (size_t i = 0; i < STATS_LAT_BUCKETS; i++) {
			cum += h->buckets[i];
			if (isinf(stats_latency_bounds[i]))
				evbuffer_add_printf(out, "%s\"+Inf\": %llu",
						    i ? ", " : "",
						    (unsigned long long)cum);
			else
				evbuffer_add_printf(out, "%s\"%g\": %llu",
						    i ? ", " : "",
						    stats_latency_bounds[i],
						    (unsigned long long)cum);
		}
		evbuffer_add_printf(out, "}}");
	}
	evbuffer_add_printf(out, "}, \"alerts\": ");
	if (alerts)
		alerts_list(alerts, true, out);
	else
		evbuffer_add_printf(out, "[]");
	evbuffer_add_printf(out, ", \"past_threshold\": [");
	bool first = true;
	for (const struct stats_counter *c = stats_counters; c->name; c++)
		if (stats_past_threshold(s, c)) {
			evbuffer_add_printf(out, "%s\"%s\"", first ? "" : ", ",
					    c->name);
			first = false;
		}
	evbuffer_add_printf(out, "]}\n");
}

int stats_from_json(const struct json *j, struct stats_snapshot *s)
{
	const struct json *cs = json_get(j, "counters");
	if (!cs || cs->type != JSON_OBJ)
		return -1;
	for (const struct stats_counter *c = stats_counters; c->name; c++) {
		const struct json *v = json_get(cs, c->name);
		char *field = (char *)s + c->off;
		if (!v)
			continue;
		if (c->store == STORE_HIST) {
			struct stats_hist *h = (struct stats_hist *)field;
			const struct json *n = json_get(v, "count");
			const struct json *sum = json_get(v, "sum");
			const struct json *b = json_get(v, "buckets");
			h->count = n && n->type == JSON_NUM ? (uint64_t)n->num : 0;
			h->sum = sum && sum->type == JSON_NUM ? sum->num : 0;
			uint64_t prev = 0;
			size_t i = 0;
			for (const struct json *e = b ? b->child : NULL;
			     e && i < STATS_LAT_BUCKETS; e = e->next, i++) {
				uint64_t cum = e->type == JSON_NUM
						   ? (uint64_t)e->num : prev;
				h->buckets[i] = cum >= prev ? cum - prev : 0;
				prev = cum;
			}
		} else if (v->type == JSON_NUM) {
			if (c->store == STORE_F64)
				*(double *)field = v->num;
			else
				*(uint64_t *)field = v->num > 0 ? (uint64_t)v->num : 0;
		}
	}
	return 0;
}
