/*
 * counters.c — the counters table, and the values read from the system:
 * the process (/proc/self, mallinfo2), the kernel queues
 * (/proc/self/net/netfilter/nfnetlink_queue) and the kernel's rule
 * counters (libnftables, JSON).
 */
#include "stats/counters.h"
#include "common/fds.h"
#include "stats/json.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <nftables/libnftables.h>
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
		snprintf(buf, sizeof(buf), "%s %g%s%s",
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

/* True when some expression of EXPR (an array) is KEY (an object member
 * name), e.g. "drop"; for "mangle" the key must be the ct mark. */
static bool rule_has(const struct json *expr, const char *key)
{
	for (const struct json *e = expr ? expr->child : NULL; e; e = e->next) {
		const struct json *m = json_get(e, key);
		if (!m)
			continue;
		if (strcmp(key, "mangle") != 0)
			return true;
		const struct json *ct = json_get(json_get(m, "key"), "ct");
		const struct json *k = json_get(ct, "key");
		if (k && k->type == JSON_STR && strcmp(k->str, "mark") == 0)
			return true;
	}
	return false;
}

static uint64_t rule_packets(const struct json *expr)
{
	for (const struct json *e = expr ? expr->child : NULL; e; e = e->next) {
		const struct json *p = json_get(json_get(e, "counter"), "packets");
		if (p && p->type == JSON_NUM && p->num >= 0)
			return (uint64_t)p->num;
	}
	return 0;
}

/* Packets counted by the rule commented "spoofed source" (chain spoofed,
 * ruleset.c gen_antispoof); 0 when there is none. */
static uint64_t spoofed_packets(const struct json *list)
{
	for (const struct json *o = list->child; o; o = o->next) {
		const struct json *r = json_get(o, "rule");
		const struct json *cm = json_get(r, "comment");
		if (cm && cm->type == JSON_STR &&
		    strcmp(cm->str, "spoofed source") == 0)
			return rule_packets(json_get(r, "expr"));
	}
	return 0;
}

int stats_sum_spoofed_json(const char *text, uint64_t *spoofed)
{
	struct json *root = json_parse(text);
	const struct json *list = json_get(root, "nftables");
	if (!list || list->type != JSON_ARR) {
		json_free(root);
		errno = EINVAL;
		return -1;
	}
	*spoofed = spoofed_packets(list);
	json_free(root);
	return 0;
}

int stats_sum_rules_json(const char *text, uint64_t *allowed, uint64_t *denied)
{
	struct json *root = json_parse(text);
	const struct json *list = json_get(root, "nftables");
	if (!list || list->type != JSON_ARR) {
		json_free(root);
		errno = EINVAL;
		return -1;
	}
	uint64_t a = 0, d = 0;
	for (const struct json *o = list->child; o; o = o->next) {
		const struct json *r = json_get(o, "rule");
		const struct json *cm = json_get(r, "comment");
		if (!cm || cm->type != JSON_STR || strncmp(cm->str, "rule ", 5))
			continue;
		const struct json *expr = json_get(r, "expr");
		if (rule_has(expr, "mangle"))
			a += rule_packets(expr);
		else if (rule_has(expr, "drop") || rule_has(expr, "goto"))
			d += rule_packets(expr);
	}
	json_free(root);
	*allowed = a;
	*denied = d;
	return 0;
}

int stats_sum_comment_json(const char *text, const char *prefix,
			   uint64_t *packets)
{
	struct json *root = json_parse(text);
	const struct json *list = json_get(root, "nftables");
	if (!list || list->type != JSON_ARR) {
		json_free(root);
		errno = EINVAL;
		return -1;
	}
	uint64_t n = 0;
	size_t pl = strlen(prefix);
	for (const struct json *o = list->child; o; o = o->next) {
		const struct json *r = json_get(o, "rule");
		const struct json *cm = json_get(r, "comment");
		if (cm && cm->type == JSON_STR && strncmp(cm->str, prefix, pl) == 0)
			n += rule_packets(json_get(r, "expr"));
	}
	json_free(root);
	*packets = n;
	return 0;
}

static uint64_t json_u64(const struct json *j)
{
	return j && j->type == JSON_NUM && j->num >= 0 ? (uint64_t)j->num : 0;
}

int stats_set_elems_json(const char *text,
			 void (*fn)(void *ctx, const char *value,
				    uint64_t packets, uint64_t expires_s),
			 void *ctx)
{
	struct json *root = json_parse(text);
	const struct json *list = json_get(root, "nftables");
	if (!list || list->type != JSON_ARR) {
		json_free(root);
		errno = EINVAL;
		return -1;
	}
	int n = 0;
	for (const struct json *o = list->child; o; o = o->next) {
		const struct json *elems = json_get(json_get(o, "set"), "elem");
		if (!elems || elems->type != JSON_ARR)
			continue;
		for (const struct json *e = elems->child; e; e = e->next) {
			const struct json *el = json_get(e, "elem");
			const struct json *v = json_get(el, "val");
			if (!v || v->type != JSON_STR)
				continue;
			fn(ctx, v->str,
			   json_u64(json_get(json_get(el, "counter"), "packets")),
			   json_u64(json_get(el, "expires")));
			n++;
		}
	}
	json_free(root);
	return n;
}

int stats_fill_flood_json(const char *text, struct stats_snapshot *s)
{
	static const struct {
		const char *name;
		size_t off;
	} named[] = {
	    {"flood_tcp_rate", offsetof(struct stats_snapshot,
					packets_flood_tcp_rate)},
	    {"flood_tcp_concurrent", offsetof(struct stats_snapshot,
					      packets_flood_tcp_concurrent)},
	    {"flood_udp_rate", offsetof(struct stats_snapshot,
					packets_flood_udp_rate)},
	};
	struct json *root = json_parse(text);
	const struct json *list = json_get(root, "nftables");
	if (!list || list->type != JSON_ARR) {
		json_free(root);
		errno = EINVAL;
		return -1;
	}
	uint64_t limited = 0;
	for (const struct json *o = list->child; o; o = o->next) {
		const struct json *c = json_get(o, "counter");
		const struct json *nm = json_get(c, "name");
		for (size_t i = 0; nm && nm->type == JSON_STR &&
				   i < sizeof(named) / sizeof(*named); i++)
			if (strcmp(nm->str, named[i].name) == 0)
				*(uint64_t *)((char *)s + named[i].off) =
				    json_u64(json_get(c, "packets"));
		const struct json *set = json_get(o, "set");
		nm = json_get(set, "name");
		const struct json *el = json_get(set, "elem");
		if (nm && nm->type == JSON_STR &&
		    strncmp(nm->str, "flood_limited", 13) == 0 && el &&
		    el->type == JSON_ARR)
			for (const struct json *e = el->child; e; e = e->next)
				limited++;
	}
	s->flood_sources_limited = limited;
	json_free(root);
	return 0;
}

int stats_fill_kernel_rules(struct stats_snapshot *s, const char *table)
{
	/* libnftables exits when it cannot open its netlink socket: out of
	 * descriptors (transient), this tick goes without kernel counts */
	if (!fd_room(NFT_FDS_NEEDED)) {
		errno = EMFILE;
		return -1;
	}
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		errno = ENOMEM;
		return -1;
	}
	nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "list table inet %s", table);
	int rc = -1;
	if (nft_run_cmd_from_buffer(nft, cmd) != 0) {
		errno = ENOENT;
	} else {
		uint64_t a, d;
		/* libnftables hands the buffer over once: read it once */
		const char *out = nft_ctx_get_output_buffer(nft);
		rc = stats_sum_rules_json(out, &a, &d);
		if (rc == 0) {
			s->sessions_kernel_allowed = a;
			s->sessions_kernel_denied = d;
			stats_sum_comment_json(out, "deny memory",
					       &s->packets_deny_memory);
			stats_fill_flood_json(out, s);
			rc = stats_sum_spoofed_json(out, &s->packets_spoofed);
		}
	}
	nft_ctx_free(nft);
	return rc;
}
