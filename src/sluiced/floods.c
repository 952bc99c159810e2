/*
 * floods.c — the firewall log's view of the kernel's flood limits
 * (ruleset.c "flood4/6"): once a second the sets flood_limited4/6 are read;
 * a source that appears gets a `flood-start` record, one that left (30 s
 * after its last refused packet) a `flood-end` record. The packets
 * themselves are never logged one by one.
 */
#include "sluiced/daemon.h"
#include "common/util.h"
#include "stats/counters.h"
#include "stats/fwlog.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct flood_watch {
	char **src; /* the sources limited at the last tick, sorted */
	size_t n;
};

struct collect {
	char **v;
	size_t n;
};

static void collect_one(void *arg, const char *value, uint64_t packets,
			uint64_t expires_s)
{
	struct collect *c = arg;
	(void)packets;
	(void)expires_s;
	char *s = xstrdup(value);
	VEC_PUSH(c->v, c->n, s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has(char *const *v, size_t n, const char *s)
{
	return n && bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

/* One record for SRC (an address, or an IPv6 prefix's address). */
static void record(struct daemon *d, const char *src, bool start)
{
	struct fwlog_rec r;
	memset(&r, 0, sizeof(r));
	r.flow.family = parse_addr(src, &r.flow.src4, &r.flow.src6);
	if (!r.flow.family)
		return;
	r.action = VERDICT_DENY;
	r.rule = "(flood)";
	r.reason = start ? RSN_FLOOD_START : RSN_FLOOD_END;
	fwlog_record(d->fwlog, &r);
}

/* Reads flood_limited4/6 into C; false when the sets cannot be read (no
 * flood limits in this ruleset, or nft failed). */
static bool read_limited(struct daemon *d, struct collect *c)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		char *cmd = xasprintf("list set inet %s flood_limited%d",
				      d->kopts.table, fam);
		char *e = NULL, *js = nft_query(cmd, true, &e);
		free(cmd);
		free(e);
		if (!js || stats_set_elems_json(js, collect_one, c) < 0) {
			free(js);
			return false;
		}
		free(js);
	}
	if (c->n) /* c->v is NULL when no source is limited */
		qsort(c->v, c->n, sizeof(*c->v), cmp_str);
	return true;
}

void flood_watch_tick(struct daemon *d)
{
	if (!d->fwlog)
		return;
	if (!d->floods)
		d->floods = xcalloc(1, sizeof(*d->floods));
	struct flood_watch *w = d->floods;
	struct collect c = {NULL, 0};
	if (!read_limited(d, &c)) {
		for (size_t i = 0; i < c.n; i++)
			free(c.v[i]);
		free(c.v);
		return; /* nothing known this tick: no start, no end */
	}
	for (size_t i = 0; i < c.n; i++)
		if (!has(w->src, w->n, c.v[i]))
			record(d, c.v[i], true);
	for (size_t i = 0; i < w->n; i++)
		if (!has(c.v, c.n, w->src[i]))
			record(d, w->src[i], false);
	for (size_t i = 0; i < w->n; i++)
		free(w->src[i]);
	free(w->src);
	w->src = c.v;
	w->n = c.n;
}

void flood_watch_free(struct daemon *d)
{
	struct flood_watch *w = d->floods;
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->src[i]);
	free(w->src);
	free(w);
	d->floods = NULL;
}
