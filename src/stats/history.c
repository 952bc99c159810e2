/*
 * history.c — see history.h. Column storage: the times, one row of
 * values and one row of member states a sample, in rings of CAP rows
 * indexed from the oldest (first).
 */
#include "stats/history.h"
#include "common/text.h"
#include "common/util.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct history {
	const char *const *fields;
	size_t nfields, cap, len, first;
	uint32_t interval_s;
	double *t;    /* [cap] */
	double *vals; /* [cap][nfields] */
	char (*states)[HISTORY_MEMBERS_MAX]; /* [cap]: HS_* a member column */
	char *names[HISTORY_MEMBERS_MAX];    /* a column's member, or NULL */
	size_t dropped;			     /* members without a column */
};

struct history *history_new(const char *const *fields, size_t nfields,
			    size_t cap, uint32_t interval_s)
{
	struct history *h = xcalloc(1, sizeof(*h));
	h->fields = fields;
	h->nfields = nfields;
	h->cap = cap ? cap : 1;
	h->interval_s = interval_s;
	h->t = xcalloc(h->cap, sizeof(*h->t));
	h->vals = xcalloc(h->cap * (nfields ? nfields : 1), sizeof(*h->vals));
	h->states = xcalloc(h->cap, sizeof(*h->states));
	return h;
}

void history_free(struct history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < HISTORY_MEMBERS_MAX; i++)
		free(h->names[i]);
	free(h->t);
	free(h->vals);
	free(h->states);
	free(h);
}

size_t history_len(const struct history *h)
{
	return h->len;
}

/* The ring row of the I-th sample from the oldest. */
static size_t row(const struct history *h, size_t i)
{
	return (h->first + i) % h->cap;
}

/* True when column C shows its member in none of the samples held. */
static bool column_unused(const struct history *h, size_t c)
{
	for (size_t i = 0; i < h->len; i++)
		if (h->states[row(h, i)][c] != HS_ABSENT)
			return false;
	return true;
}

/* NAME's column, given one when new: a free column, or one whose member
 * no sample held shows any more; -1 when every column is in use. */
static int column_of(struct history *h, const char *name)
{
	int spare = -1;
	for (size_t c = 0; c < HISTORY_MEMBERS_MAX; c++) {
		if (h->names[c] && strcmp(h->names[c], name) == 0)
			return (int)c;
		if (spare < 0 && (!h->names[c] || column_unused(h, c)))
			spare = (int)c;
	}
	if (spare >= 0) {
		free(h->names[spare]);
		h->names[spare] = xstrdup(name);
	}
	return spare;
}

void history_add(struct history *h, double t, const double *values,
		 const struct history_member *m, size_t nm)
{
	size_t r;
	if (h->len < h->cap) {
		r = row(h, h->len);
		h->len++;
	} else { /* full: the oldest row is reused */
		r = h->first;
		h->first = (h->first + 1) % h->cap;
	}
	h->t[r] = t;
	if (h->nfields)
		memcpy(h->vals + r * h->nfields, values,
		       h->nfields * sizeof(*values));
	/* the new row first shows nobody, so column_unused() sees it */
	memset(h->states[r], HS_ABSENT, sizeof(h->states[r]));
	h->dropped = 0;
	for (size_t i = 0; i < nm; i++) {
		int c = m[i].name ? column_of(h, m[i].name) : -1;
		if (c < 0)
			h->dropped++;
		else
			h->states[r][c] = (char)m[i].state;
	}
}

/* S as a JSON string or key: valid UTF-8 (outside bytes as \xNN). */
static char *safe_dup(const char *s)
{
	return text_escape_dup(s, strlen(s), false);
}

/* V as JSON: an integer when it is one (counters, shorter text), null
 * when not finite (jansson refuses NaN and infinities). */
static json_t *num(double v)
{
	if (!isfinite(v))
		return json_null();
	if (v == floor(v) && fabs(v) < 9007199254740992.0) /* 2^53 */
		return json_integer((json_int_t)v);
	return json_real(v);
}

json_t *history_json(const struct history *h)
{
	json_t *o = json_object(), *t = json_array(), *series = json_object(),
	       *members = json_object();
	if (!o || !t || !series || !members) {
		json_decref(o);
		json_decref(t);
		json_decref(series);
		json_decref(members);
		return NULL;
	}
	json_object_set_new(o, "schema_version", json_integer(1));
	json_object_set_new(o, "interval_s", json_integer(h->interval_s));
	json_object_set_new(o, "capacity", json_integer((json_int_t)h->cap));
	for (size_t i = 0; i < h->len; i++)
		json_array_append_new(t, num(h->t[row(h, i)]));
	json_object_set_new(o, "t", t);
	for (size_t f = 0; f < h->nfields; f++) {
		json_t *a = json_array();
		for (size_t i = 0; i < h->len; i++)
			json_array_append_new(
			    a, num(h->vals[row(h, i) * h->nfields + f]));
		json_object_set_new(series, h->fields[f], a);
	}
	json_object_set_new(o, "series", series);
	char *line = xmalloc(h->len + 1);
	for (size_t c = 0; c < HISTORY_MEMBERS_MAX; c++) {
		if (!h->names[c] || column_unused(h, c))
			continue;
		for (size_t i = 0; i < h->len; i++)
			line[i] = h->states[row(h, i)][c];
		line[h->len] = '\0';
		char *k = safe_dup(h->names[c]);
		json_object_set_new(members, k, json_string(line));
		free(k);
	}
	free(line);
	json_object_set_new(o, "members", members);
	json_object_set_new(o, "members_dropped",
			    json_integer((json_int_t)h->dropped));
	return o;
}
