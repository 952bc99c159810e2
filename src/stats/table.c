/*
 * table.c — the counters as a text table and as JSON, both from the
 * counters table (one function per output).
 */
#include "stats/table.h"
#include "common/text.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

static const struct stats_hist *hist_of(const struct stats_snapshot *s,
					const struct stats_counter *c)
{
	return (const struct stats_hist *)((const char *)s + c->off);
}

void stats_human_seconds(double v, char *buf, size_t len)
{
	if (v <= 0)
		snprintf(buf, len, "0 s");
	else if (v < 0.001)
		snprintf(buf, len, "%.0f µs", v * 1e6);
	else if (v < 1)
		snprintf(buf, len, "%.3g ms", v * 1e3);
	else if (v < 120)
		snprintf(buf, len, "%.1f s", v);
	else if (v < 7200)
		snprintf(buf, len, "%.1f min", v / 60);
	else if (v < 172800)
		snprintf(buf, len, "%.1f h", v / 3600);
	else
		snprintf(buf, len, "%.1f d", v / 86400);
}

void stats_human_bytes(double v, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t i = 0;
	while (v >= 1024 && i + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, unit[i]);
}

/* The value of C in S for people: integers plain, seconds and bytes with
 * a unit that suits their size, a histogram as count and quantiles. */
static void human_value(const struct stats_snapshot *s,
			const struct stats_counter *c, char *buf, size_t len)
{
	double v = stats_value(s, c);
	if (c->type == STATS_HISTOGRAM) {
		const struct stats_hist *h = hist_of(s, c);
		char p50[24], p99[24];
		stats_human_seconds(stats_hist_quantile(h, 0.5), p50, sizeof(p50));
		stats_human_seconds(stats_hist_quantile(h, 0.99), p99, sizeof(p99));
		snprintf(buf, len, "n=%llu p50 %s p99 %s",
			 (unsigned long long)h->count, p50, p99);
	} else {
		stats_human(v, c->unit, buf, len);
	}
}

void stats_human(double v, const char *unit, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (unit && strcmp(unit, "seconds") == 0)
		stats_human_seconds(v, buf, len);
	else if (unit && strcmp(unit, "bytes") == 0)
		stats_human_bytes(v, buf, len);
	else if (v == floor(v) || fabs(v) >= 1e6)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

/* The table's width in columns, and where its notes start. */
#define TABLE_WIDTH 100
#define TABLE_NOTE_COL 61

/* Columns of the N bytes at S (UTF-8: one per character). */
static size_t columns(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

size_t stats_put_cell(struct evbuffer *out, const char *s, size_t cols,
		      enum stats_align align)
{
	char buf[1024];
	size_t n = text_escape(buf, sizeof(buf), s ? s : "-", s ? strlen(s) : 1,
			       false);
	size_t w = columns(buf, n);
	if (w > cols && cols > 0) { /* cut at a character, then "…" */
		size_t keep = 0, c = 0;
		while (keep < n && c + 1 < cols && keep + 8 < sizeof(buf)) {
			keep++;
			while (keep < n && ((unsigned char)buf[keep] & 0xC0) == 0x80)
				keep++;
			c++;
		}
		n = keep;
		memcpy(buf + n, "\xe2\x80\xa6", 3); /* U+2026 */
		n += 3;
		w = c + 1;
	}
	if (align == CELL_RIGHT)
		evbuffer_add_printf(out, "%*s", (int)(cols > w ? cols - w : 0), "");
	evbuffer_add(out, buf, n);
	if (align == CELL_LEFT)
		evbuffer_add_printf(out, "%*s", (int)(cols > w ? cols - w : 0), "");
	return align == CELL_LAST || w > cols ? w : cols;
}

void stats_put_wrapped(struct evbuffer *out, const char *text, size_t col,
		       size_t width, size_t indent)
{
	size_t room = width > col ? width - col : 1, used = 0;
	for (const char *p = text; *p;) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (!n)
			break;
		size_t w = columns(p, n);
		if (used && used + 1 + w > room) {
			evbuffer_add_printf(out, "\n%*s", (int)indent, "");
			room = width > indent ? width - indent : 1;
			used = 0;
		}
		if (used) {
			evbuffer_add(out, " ", 1);
			used++;
		}
		evbuffer_add(out, p, n);
		used += w;
		p += n;
	}
	evbuffer_add(out, "\n", 1);
}

/* True when an alert of ALERTS (alerts_json()'s array; NULL: none) on
 * counter NAME is firing. */
static bool firing_on(const json_t *alerts, const char *name)
{
	size_t i;
	const json_t *a;
	json_array_foreach(alerts, i, a) {
		const char *c = json_string_value(json_object_get(a, "counter"));
		if (c && strcmp(c, name) == 0 &&
		    json_is_true(json_object_get(a, "firing")))
			return true;
	}
	return false;
}

void stats_render_text(const struct stats_snapshot *s, const json_t *alerts,
		       struct evbuffer *out)
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
			    firing_on(alerts, c->name);
		const char *thr = stats_threshold_text(c);
		char note[320];
		snprintf(note, sizeof(note), "%s%s%s%s", c->healthy,
			 thr[0] ? " [alert " : "", thr, thr[0] ? "]" : "");
		char head[128];
		snprintf(head, sizeof(head), "%c %-30s %26s  ", past ? '!' : ' ',
			 c->name, val);
		evbuffer_add_printf(out, "%s", head);
		size_t col = columns(head, strlen(head));
		stats_put_wrapped(out, note, col, TABLE_WIDTH, TABLE_NOTE_COL);
	}
}
