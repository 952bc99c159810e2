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
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,   0.025,	 0.05,	 0.1,	0.25,	__builtin_inf(),
};

#define F(field) offsetof(struct stats_snapshot, field)
#define C STATS_COUNTER
#define G STATS_GAUGE
#define U STORE_U64
#define NOTHR {CMP_NONE, 0, NULL, 0, NULL}

static const char PE[] = "packet engine", SV[] = "service",
		  VF[] = "verifiers", PR[] = "process";

/* Healthy ranges and thresholds follow the seeds (Backlogged Packets > 10
 * bad, Worker Threads > 100 bad, ReInject Available = 0 a hang, a leak seen
 * as memory growing for weeks) and anchors/tmg.md. */
const struct stats_counter stats_counters[] = {
    {"packets_queued", "Packets sluiced read from its NFQUEUE queues (new "
     "sessions the kernel asked about)", C, U, F(packets_queued), "packets",
     PE, "any", "queue workers", NOTHR},
    {"packets_queued_kernel", "Packets the kernel put in sluice's queues "
     "(id_sequence)", C, U, F(packets_queued_kernel), "packets", PE, "any",
     "/proc/net/netfilter/nfnetlink_queue", NOTHR},
    {"packets_backlogged", "Packets waiting in the kernel queues for "
     "sluiced to read them (queue_total)", G, U, F(packets_backlogged),
     "packets", PE, "0 (suspect > 10)",
     "/proc/net/netfilter/nfnetlink_queue",
     {CMP_GT, 10, NULL, 0, "backlog"}},
    {"packets_dropped_queue_full", "Packets the kernel dropped because a "
     "queue was full (queue_dropped; fail-open passes them instead)", C, U,
     F(packets_dropped_queue_full), "packets", PE, "0; rising = overload",
     "/proc/net/netfilter/nfnetlink_queue", NOTHR},
    {"packets_dropped_user", "Packets the kernel could not deliver to "
     "sluiced's netlink socket (user_dropped)", C, U,
     F(packets_dropped_user), "packets", PE, "0; rising = socket buffer "
     "too small", "/proc/net/netfilter/nfnetlink_queue", NOTHR},
    {"verdicts_allow", "Verdicts that accepted a queued packet", C, U,
     F(verdicts_allow), "packets", PE, "any", "queue workers", NOTHR},
    {"verdicts_deny", "Verdicts that dropped a queued packet", C, U,
     F(verdicts_deny), "packets", PE, "any", "queue workers", NOTHR},
    {"verdicts_reject", "Of verdicts_deny, those the kernel answers with "
     "a reject (TCP reset, ICMP administratively prohibited): `reject` "
     "rules, and the implicit and deadline denials with decisions { "
     "deny-action reject }", C, U, F(verdicts_reject), "packets", PE, "any",
     "queue workers", NOTHR},
    {"verdicts_fail", "Fail verdicts: packets sluiced could not decide "
     "because of its own trouble (the watchdog, a stop; queue fail "
     "closed/open). What a client sends never counts here: unreadable "
     "packets, extra copies, per-source and slots-full refusals are "
     "`verdicts_deny`", C, U, F(verdicts_fail),
     "packets", PE, "0", "queue workers", NOTHR},
    {"packets_misread", "Queued packets sluiced could not read the way "
     "the kernel did (unreadable headers, or its reading stops at another "
     "rule than the one in the kernel's mark): denied", C, U,
     F(packets_misread), "packets", PE, "0; rising = crafted packets, or "
     "a reload in flight", "queue workers", NOTHR},
    {"verdict_send_retries", "Verdict messages whose send to the kernel "
     "failed and was retried (the verdicts are kept until sent)", C, U,
     F(verdict_send_retries), "sends", PE, "0", "queue workers", NOTHR},
    {"verdicts_lost", "Verdicts given up after sends kept failing (more "
     "than 16384 waiting): their packets stay in the kernel queue", C, U,
     F(verdicts_lost), "packets", PE, "0", "queue workers", NOTHR},
    {"sessions_kernel_allowed", "New sessions the kernel allowed by a "
     "header-only rule (rule counters)", C, U, F(sessions_kernel_allowed),
     "sessions", PE, "any", "nft rule counters (inet sluice)", NOTHR},
    {"sessions_kernel_denied", "New sessions the kernel denied by a "
     "header-only rule (rule counters)", C, U, F(sessions_kernel_denied),
     "sessions", PE, "any", "nft rule counters (inet sluice)", NOTHR},
    {"packets_deny_memory", "Retransmitted SYNs and repeated first "
     "datagrams of sessions sluiced denied or rejected, dropped (or "
     "rejected) by the kernel from its deny memory (decisions { deny-memory "
     "}) instead of being queued again", C, U, F(packets_deny_memory),
     "packets", PE, "any; high = clients retrying denied sessions",
     "nft rule counters (inet sluice, deny memory)", NOTHR},
    {"packets_flood_tcp_rate", "New TCP sessions (SYNs) the kernel "
     "dropped because their source was over flood { tcp-connect-rate }",
     C, U, F(packets_flood_tcp_rate), "packets", PE,
     "0; rising = a source floods SYNs", "nft named counter flood_tcp_rate",
     NOTHR},
    {"packets_flood_tcp_concurrent", "New TCP sessions the kernel dropped "
     "because their source held flood { tcp-concurrent } sessions", C, U,
     F(packets_flood_tcp_concurrent), "packets", PE, "0",
     "nft named counter flood_tcp_concurrent", NOTHR},
    {"packets_flood_udp_rate", "New non-TCP sessions the kernel dropped "
     "because their source was over flood { udp-rate }", C, U,
     F(packets_flood_udp_rate), "packets", PE, "0",
     "nft named counter flood_udp_rate", NOTHR},
    {"flood_sources_limited", "Sources (IPv4 addresses, IPv6 prefixes) a "
     "flood limit refused in the last 30 s (`sluicectl floods`)", G, U,
     F(flood_sources_limited), "sources", PE, "0",
     "nft set flood_limited4/6", {CMP_GT, 0, NULL, 0, "flood-source-limited"}},
    {"sessions_service_decided", "New sessions sluiced decided (allow or "
     "deny)", C, U, F(sessions_service_decided), "sessions", PE, "any",
     "decision engine", NOTHR},
    {"sessions_decided_at_once", "Of those, decided on arrival with every "
     "fact at hand (header facts, or the identity from the address "
     "table): no pending decision, no lookup", C, U,
     F(sessions_decided_at_once), "sessions", PE,
     "most of sessions_service_decided", "decision engine", NOTHR},
    {"sessions_active", "Sessions the kernel tracks with a sluice decision",
     G, U, F(sessions_active), "sessions", PE,
     "<= 30,000 filtering, <= 100,000 routing (TMG)", "conntrack", NOTHR},
    {"ruleset_restored", "Times sluiced found its kernel ruleset (nft table, "
     "xt SLUICE chain or its jumps) removed or buried by another program "
     "and put it back (once per incident, however many tries)", C, U, F(ruleset_restored), "events", PE,
     "0; any = another firewall manager flushed or reordered the ruleset "
     "(docs/coexistence.md)", "ruleset watch (nftables netlink events)",
     {CMP_GT, 0, NULL, 0, "ruleset-restored"}},
    {"slots_total", "Decision slots: sessions decided in user space at once",
     G, U, F(slots_total), "slots", SV, "decisions { slots }", "policy",
     NOTHR},
    {"slots_available", "Free decision slots (ISA/TMG: ReInject Available "
     "IRPs)", G, U, F(slots_available), "slots", SV, "> 0; 0 = new "
     "sessions that need the service are refused", "decision engine",
     {CMP_LT, 1, NULL, 0, "slots-exhausted"}},
    {"slots_local_available", "Free slots of the share reserved for the "
     "gateway's own traffic", G, U, F(slots_local_available), "slots", SV,
     "> 0; 0 = the gateway's own lookups may stall", "decision engine",
     {CMP_LT, 1, NULL, 0, "local-slots-exhausted"}},
    {"decisions_pending", "Decisions waiting on lookups", G, U,
     F(decisions_pending), "decisions", SV, "well below slots_total",
     "decision engine", NOTHR},
    {"worker_threads", "Threads of sluiced (queue workers, NSS pool, "
     "writers)", G, U, F(worker_threads), "threads", SV,
     "queues + nss-workers + a few (suspect > 100)", "daemon",
     {CMP_GT, 100, NULL, 0, "worker-threads"}},
    {"decisions_timed_out", "Decisions that reached their deadline", C, U,
     F(decisions_timed_out), "decisions", SV, "0; rising = a lookup "
     "server is slow or down", "decision engine", NOTHR},
    {"lookups_dns", "DNS lookups in flight", G, U, F(lookups_dns),
     "lookups", SV, "< 50% of slots_total (TMG refuses beyond a share)",
     "resolver", {CMP_GT, 50, "slots_total", 0, "dns-pending"}},
    {"lookups_ldap", "Directory (LDAP) searches in flight", G, U,
     F(lookups_ldap), "lookups", SV, "small", "directory", NOTHR},
    {"lookups_nss", "NSS lookups in flight (user, groups)", G, U,
     F(lookups_nss), "lookups", SV, "<= identity { nss-workers }",
     "identity", NOTHR},
    {"dns_cache_entries", "Names in the DNS cache", G, U,
     F(dns_cache_entries), "entries", SV, "<= resolver { cache }",
     "resolver", NOTHR},
    {"dns_cache_hits", "DNS cache hits", C, U, F(dns_cache_hits), "lookups",
     SV, "most lookups", "resolver", NOTHR},
    {"dns_cache_misses", "DNS cache misses (a query was sent)", C, U,
     F(dns_cache_misses), "lookups", SV, "any", "resolver", NOTHR},
    {"dns_cache_negative_hits", "DNS cache hits on a remembered failure", C,
     U, F(dns_cache_negative_hits), "lookups", SV, "any", "resolver", NOTHR},
    {"dns_names_bounded", "Name lookups a bound cut short (the names are "
     "partial: unknown, never absent)", C, U, F(dns_names_bounded),
     "lookups", SV, "0; rising = destinations with very many PTR names",
     "resolver", NOTHR},
    {"identity_cache_hits", "User and group lookups answered from the "
     "cache", C, U, F(identity_cache_hits), "lookups", SV, "most lookups",
     "identity", NOTHR},
    {"identity_incomplete", "Group lists that came back incomplete (the "
     "directory's size or administrative limit, a referral not followed, "
     "more groups than kept, NSS failing to name a group): the groups were "
     "treated as unknown", C, U, F(identity_incomplete), "lookups", SV, "0",
     "identity", NOTHR},
    {"decision_latency_seconds", "Time from a packet's arrival in sluiced "
     "to its verdict", STATS_HISTOGRAM, STORE_HIST,
     F(decision_latency_seconds), "seconds", SV,
     "p99 well below decisions { deadline }", "decision engine", NOTHR},
    {"fwlog_written", "Firewall log records written", C, U, F(fwlog_written),
     "records", SV, "any", "firewall log", NOTHR},
    {"fwlog_dropped", "Firewall log records dropped because the buffer was "
     "full", C, U, F(fwlog_dropped), "records", SV, "0; rising = the log "
     "disk is slow (log { buffer })", "firewall log", NOTHR},
    {"connections_refused", "Connections the metrics endpoint and the "
     "control socket refused: over max-connections / max-clients, past the "
     "descriptor reserve, accept errors, callers without access", C, U,
     F(connections_refused), "connections", SV, "0; rising = a client "
     "floods a listener, or one lacks access", "listeners", NOTHR},
    {"verifier_checks", "Connectivity checks run", C, U, F(verifier_checks),
     "checks", VF, "any", "verifiers", NOTHR},
    {"verifier_failures", "Connectivity checks that failed", C, U,
     F(verifier_failures), "checks", VF, "0", "verifiers", NOTHR},
    {"farm_members_up", "Farm members up", G, U, F(farm_members_up),
     "servers", VF, "every member", "verifiers", NOTHR},
    {"farm_members_down", "Farm members down", G, U, F(farm_members_down),
     "servers", VF, "0", "verifiers", NOTHR},
    {"verifier_response_seconds", "Mean response time of the last checks",
     G, STORE_F64, F(verifier_response_seconds), "seconds", VF,
     "below each verifier's warn", "verifiers", NOTHR},
    {"process_resident_memory_bytes", "Resident memory of sluiced", G, U,
     F(process_resident_memory_bytes), "bytes", PR,
     "flat after warm-up; steady growth = a leak", "/proc/self/statm",
     {CMP_GROWS, 0, NULL, 2 * 3600 * 1000, "memory-growth"}},
    {"process_heap_bytes", "Heap in use (malloc)", G, U,
     F(process_heap_bytes), "bytes", PR, "flat after warm-up",
     "mallinfo2()", NOTHR},
    {"process_open_fds", "Open file descriptors", G, U, F(process_open_fds),
     "fds", PR, "flat; growth = a descriptor leak", "/proc/self/fd", NOTHR},
    {"process_uptime_seconds", "Time since sluiced started", G, STORE_F64,
     F(process_uptime_seconds), "seconds", PR, "any", "/proc/self/stat",
     NOTHR},
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, NOTHR},
};

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
		/* libnftables hands the buffer out once (a second call
		 * returns it emptied): read it into one pointer */
		const char *js = nft_ctx_get_output_buffer(nft);
		rc = stats_sum_rules_json(js, &a, &d);
		if (rc == 0) {
			s->sessions_kernel_allowed = a;
			s->sessions_kernel_denied = d;
			stats_sum_comment_json(js, "deny memory",
					       &s->packets_deny_memory);
			stats_fill_flood_json(js, s);
		}
	}
	nft_ctx_free(nft);
	return rc;
}
