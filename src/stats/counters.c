/*
 * counters.c — the counters table, and the values read from the system:
 * the process (/proc/self, mallinfo2), the kernel queues
 * (/proc/self/net/netfilter/nfnetlink_queue) and the kernel's rule and
 * named counters (over netlink, kernel/nftread.c).
 */
#include "stats/counters.h"
#include "common/mark.h"
#include "common/util.h"
#include "kernel/nftread.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const double stats_latency_bounds[STATS_LAT_BUCKETS] = {
    LATENCY_BOUNDS_US(LATENCY_S_) __builtin_inf(),
};

/* A row of stats_counters[] from a row of STATS_COUNTER_TABLE. */
#define STATS_ROW(n, type, store, unit, section, help, healthy, source, ...) \
	{#n, help, type, store, offsetof(struct stats_snapshot, n), unit,      \
	 section, healthy, source, {__VA_ARGS__}},

const struct stats_counter stats_counters[] = {
    STATS_COUNTER_TABLE(STATS_ROW)
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, {STATS_NOTHR}},
};
#undef STATS_ROW

_Static_assert(sizeof(stats_counters) / sizeof(stats_counters[0]) ==
		   STATS_NCOUNTERS + 1,
	       "one row per counter of STATS_COUNTER_TABLE");

const struct stats_counter *stats_counter_find(const char *name)
{
	for (const struct stats_counter *c = stats_counters; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

double stats_value(const struct stats_snapshot *s, const struct stats_counter *c)
{
	const char *p = (const char *)s + c->off;
	switch (c->store) {
	case STORE_U64:
		return (double)*(const uint64_t *)p;
	case STORE_F64:
		return *(const double *)p;
	case STORE_HIST:
		return (double)((const struct stats_hist *)p)->count;
	}
	return 0;
}

bool stats_past_threshold(const struct stats_snapshot *s,
			  const struct stats_counter *c)
{
	double v = stats_value(s, c), lim = c->thr.value;
	if (c->thr.of) {
		const struct stats_counter *ref = stats_counter_find(c->thr.of);
		lim = ref ? stats_value(s, ref) * c->thr.value / 100.0 : 0;
	}
	switch (c->thr.cmp) {
	case CMP_GT:
		return v > lim;
	case CMP_LT:
		return v < lim;
	default:
		return false;
	}
}

const char *stats_threshold_text(const struct stats_counter *c)
{
	static char buf[96];
	const struct stats_threshold *t = &c->thr;
	switch (t->cmp) {
	case CMP_NONE:
		return "";
	case CMP_GROWS:
		if (t->window_ms % 3600000 == 0)
			snprintf(buf, sizeof(buf), "grows over %uh",
				 t->window_ms / 3600000);
		else
			snprintf(buf, sizeof(buf), "grows over %us",
				 t->window_ms / 1000);
		return buf;
	default:
		snprintf(buf, sizeof(buf), "%s %.15g%s%s", /* never 1e+07 */
			 t->cmp == CMP_GT ? ">" : "<", t->value,
			 t->of ? "% of " : "", t->of ? t->of : "");
		return buf;
	}
}

/* ---- histograms ------------------------------------------------------------ */

void stats_hist_observe(struct stats_hist *h, double v)
{
	size_t i = 0;
	while (i + 1 < STATS_LAT_BUCKETS && v > stats_latency_bounds[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum += v;
}

void stats_hist_add(struct stats_hist *dst, const struct stats_hist *src)
{
	for (size_t i = 0; i < STATS_LAT_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum += src->sum;
}

double stats_hist_quantile(const struct stats_hist *h, double q)
{
	uint64_t total = 0;
	for (size_t i = 0; i < STATS_LAT_BUCKETS; i++)
		total += h->buckets[i];
	if (!total)
		return 0;
	double rank = q * (double)total, seen = 0;
	for (size_t i = 0; i < STATS_LAT_BUCKETS; i++) {
		double lo = i ? stats_latency_bounds[i - 1] : 0;
		if (seen + (double)h->buckets[i] >= rank && h->buckets[i]) {
			if (i + 1 == STATS_LAT_BUCKETS)
				return lo;
			double hi = stats_latency_bounds[i];
			return lo + (hi - lo) * (rank - seen) /
					(double)h->buckets[i];
		}
		seen += (double)h->buckets[i];
	}
	return stats_latency_bounds[STATS_LAT_BUCKETS - 2];
}

/* ---- the process ---------------------------------------------------------- */

/* Reads up to LEN-1 bytes of PATH into BUF; -1 with errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, len - 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		errno = EIO;
		return -1;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Seconds since this process started: /proc/self/stat field 22 (start
 * time in clock ticks after boot) against CLOCK_BOOTTIME. */
static int process_uptime(double *out)
{
	char buf[1024];
	if (read_small("/proc/self/stat", buf, sizeof(buf)) < 0)
		return -1;
	const char *p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p) {
		errno = EINVAL;
		return -1;
	}
	p += 2; /* field 3, the state */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	struct timespec now;
	long hz = sysconf(_SC_CLK_TCK);
	if (!p || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &now) < 0) {
		errno = EINVAL;
		return -1;
	}
	double start = (double)strtoull(p, NULL, 10) / (double)hz;
	double up = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - start;
	*out = up > 0 ? up : 0;
	return 0;
}

int stats_fill_process(struct stats_snapshot *s)
{
	int rc = 0, err = 0;
	char buf[256];
	unsigned long long size, resident;
	if (read_small("/proc/self/statm", buf, sizeof(buf)) >= 0 &&
	    sscanf(buf, "%llu %llu", &size, &resident) == 2)
		s->process_resident_memory_bytes =
		    resident * (unsigned long long)sysconf(_SC_PAGESIZE);
	else
		rc = -1, err = errno ? errno : EINVAL;

	struct mallinfo2 mi = mallinfo2();
	s->process_heap_bytes = mi.uordblks + mi.hblkhd;

	DIR *d = opendir("/proc/self/fd");
	if (d) {
		uint64_t n = 0;
		for (struct dirent *e; (e = readdir(d));)
			if (e->d_name[0] != '.')
				n++;
		s->process_open_fds = n ? n - 1 : 0; /* not the DIR's own fd */
		closedir(d);
	} else {
		rc = -1, err = errno;
	}
	if (process_uptime(&s->process_uptime_seconds) < 0)
		rc = -1, err = errno;
	if (rc)
		errno = err;
	return rc;
}

/* ---- the kernel queues ------------------------------------------------------ */

int stats_parse_nfqueue(FILE *f, struct stats_snapshot *s, uint16_t queue_num,
			uint16_t count)
{
	/* queue_num peer_portid queue_total copy_mode copy_range
	 * queue_dropped user_dropped id_sequence 1 */
	char line[256];
	uint64_t backlog = 0, qdrop = 0, udrop = 0, seq = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long q, portid, total, mode, range, qd, ud, id;
		if (sscanf(line, "%llu %llu %llu %llu %llu %llu %llu %llu", &q,
			   &portid, &total, &mode, &range, &qd, &ud, &id) != 8)
			continue;
		if (q < queue_num || q >= (unsigned long long)queue_num + count)
			continue;
		backlog += total;
		qdrop += qd;
		udrop += ud;
		seq += id;
	}
	if (ferror(f)) {
		errno = EIO;
		return -1;
	}
	s->packets_backlogged = backlog;
	s->packets_dropped_queue_full = qdrop;
	s->packets_dropped_user = udrop;
	s->packets_queued_kernel = seq;
	return 0;
}

int stats_fill_kernel_queue(struct stats_snapshot *s, uint16_t queue_num,
			    uint16_t count)
{
	FILE *f = fopen("/proc/self/net/netfilter/nfnetlink_queue", "re");
	if (!f)
		return -1;
	int rc = stats_parse_nfqueue(f, s, queue_num, count);
	fclose(f);
	return rc;
}

/* ---- the kernel's rule counters --------------------------------------------- */

/* Where each kernel counter lands in a snapshot (the order of enum
 * stats_kcounter). */
const size_t stats_kcounter_off[STATS_KC_N] = {
    [STATS_KC_SPOOFED] = offsetof(struct stats_snapshot, packets_spoofed),
    [STATS_KC_MARK_REWRITTEN] = offsetof(struct stats_snapshot,
					 packets_mark_rewritten),
    [STATS_KC_DENY_MEMORY] = offsetof(struct stats_snapshot,
				      packets_deny_memory),
    [STATS_KC_FLOOD_TCP_RATE] = offsetof(struct stats_snapshot,
					 packets_flood_tcp_rate),
    [STATS_KC_FLOOD_TCP_CONCURRENT] = offsetof(struct stats_snapshot,
					       packets_flood_tcp_concurrent),
    [STATS_KC_FLOOD_UDP_RATE] = offsetof(struct stats_snapshot,
					 packets_flood_udp_rate),
    [STATS_KC_FLOOD_TCP_HALF_OPEN] = offsetof(struct stats_snapshot,
					      packets_flood_tcp_half_open),
};

/* The nft named counters (ruleset.c, the flood limits), by kernel counter. */
static const char *const kc_named[STATS_KC_N] = {
    [STATS_KC_FLOOD_TCP_RATE] = "flood_tcp_rate",
    [STATS_KC_FLOOD_TCP_CONCURRENT] = "flood_tcp_concurrent",
    [STATS_KC_FLOOD_UDP_RATE] = "flood_udp_rate",
    [STATS_KC_FLOOD_TCP_HALF_OPEN] = "flood_tcp_half_open",
};

void stats_kernel_add_rule(struct stats_kernel *k, const char *comment,
			   int verdict, uint64_t packets, int64_t handle,
			   stats_kernel_rule_fn *fn, void *ctx)
{
	int i = strcmp(comment, "spoofed source") == 0 ? STATS_KC_SPOOFED
		: strncmp(comment, "deny memory", 11) == 0
		    ? STATS_KC_DENY_MEMORY
		: strncmp(comment, MARK_REWRITTEN_COMMENT,
			   strlen(MARK_REWRITTEN_COMMENT)) == 0
		    ? STATS_KC_MARK_REWRITTEN
		    : -1;
	if (i >= 0) {
		k->packets[i] += packets;
		if (handle > k->source[i])
			k->source[i] = handle;
	} else if (strncmp(comment, "rule ", 5) == 0 && verdict >= 0) {
		*(verdict ? &k->allowed : &k->denied) += packets;
		if (fn) {
			struct stats_kernel_rule kr = {comment, verdict == 1,
						       packets, handle,
						       k->table_handle};
			fn(ctx, &kr);
		}
	}
}

void stats_kernel_add_named(struct stats_kernel *k, const char *name,
			    uint64_t packets, int64_t handle)
{
	for (size_t i = 0; i < STATS_KC_N; i++)
		if (kc_named[i] && strcmp(name, kc_named[i]) == 0) {
			k->packets[i] = packets;
			k->source[i] = handle;
		}
}

/* K empty: no table, nothing counted. */
static void kernel_reset(struct stats_kernel *k)
{
	memset(k, 0, sizeof(*k));
	k->table_handle = -1;
	for (size_t i = 0; i < STATS_KC_N; i++)
		k->source[i] = -1;
}

/* A rule as nftread gave it, kept until the read is whole. */
struct kr_rule {
	char *comment;
	int v;
	uint64_t packets, handle;
};

/* nftread's callbacks into K; the rules are kept and handed to FN only
 * once the read succeeded, so a read nftread starts again (a change while
 * it ran) reaches FN once. */
struct kernel_reading {
	struct stats_kernel *k;
	struct kr_rule *v;
	size_t n;
};

static void kr_clear(struct kernel_reading *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		free(kr->v[i].comment);
	free(kr->v);
	kr->v = NULL;
	kr->n = 0;
}

static void kr_table(void *ctx, uint64_t handle, uint32_t flags)
{
	struct kernel_reading *kr = ctx;
	kr_clear(kr); /* a read begins (or begins again) */
	kernel_reset(kr->k);
	kr->k->table_handle = (int64_t)handle;
}

static void kr_rule(void *ctx, const char *comment, enum nftread_verdict v,
		    uint64_t packets, uint64_t handle)
{
	struct kernel_reading *kr = ctx;
	struct kr_rule r = {xstrdup(comment), (int)v, packets, handle};
	VEC_PUSH(kr->v, kr->n, r);
}

static void kr_counter(void *ctx, const char *name, uint64_t packets,
		       uint64_t handle)
{
	stats_kernel_add_named(((struct kernel_reading *)ctx)->k, name, packets,
			       (int64_t)handle);
}

int stats_kernel_read(const char *table, struct stats_kernel *k,
		      stats_kernel_rule_fn *fn, void *ctx)
{
	const struct nftread_ops ops = {kr_table, kr_rule, kr_counter, NULL,
					NULL};
	struct kernel_reading kr = {k, NULL, 0};
	kernel_reset(k);
	int rc = nftread_table(table, &ops, &kr);
	for (size_t i = 0; rc == 0 && i < kr.n; i++)
		stats_kernel_add_rule(k, kr.v[i].comment, kr.v[i].v,
				      kr.v[i].packets, (int64_t)kr.v[i].handle,
				      fn, ctx);
	kr_clear(&kr);
	return rc;
}

void stats_kernel_keep(struct stats_kernel_kept *kk, const struct stats_kernel *k)
{
	bool replaced = k->table_handle != kk->table_handle;
	for (size_t i = 0; i < STATS_KC_N; i++) {
		if (replaced || k->source[i] != kk->source[i] ||
		    k->packets[i] < kk->last[i])
			kk->base[i] += kk->last[i]; /* a new counter started */
		kk->last[i] = k->packets[i];
		kk->source[i] = k->source[i];
	}
	kk->table_handle = k->table_handle;
}

void stats_kernel_fill(const struct stats_kernel_kept *kk, uint64_t limited,
		       struct stats_snapshot *s)
{
	for (size_t i = 0; i < STATS_KC_N; i++)
		*(uint64_t *)((char *)s + stats_kcounter_off[i]) =
		    kk->base[i] + kk->last[i];
	s->flood_sources_limited = limited;
}
