/*
 * metrics.c — the Prometheus families the counters table cannot hold
 * (labels per rule, per queue, per reason; build and reload facts; the
 * standard process_* metrics), and the kernel's counters (per policy
 * rule; spoofed, deny memory, flood limits) read with one listing of the
 * table and kept monotonic across reloads (a reload replaces the nft
 * table, whose counters start again at 0).
 *
 * Naming follows https://prometheus.io/docs/practices/naming/ and the
 * process metrics the client libraries export
 * (https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics).
 */
#include "sluiced/metrics.h"
#include "sluiced/daemon.h"
#include "sluiced/farms.h"
#include "common/log.h"
#include "common/util.h"
#include "kernel/ruleset.h"
#include "queue/worker.h"
#include "stats/alerts.h"
#include "stats/counters.h"
#include "stats/prom.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Rules remembered at most (renamed and removed rules stay counted). */
#define KCOUNT_MAX 4096

/* One kernel rule's new sessions: BASE (what earlier tables counted) plus
 * LAST, the counter of the rule seen last, which lived in the table of
 * handle THANDLE as rule RHANDLE. A table recreated or a rule replaced gets
 * other handles (nft never reuses a handle within a table, and a new table
 * gets a new one), so a handle that differs means the counter started
 * again; what it held moves to BASE. */
struct kcount {
	char *rule;
	bool allow;
	unsigned occ;	 /* a rule is in several chains: its OCC-th place */
	unsigned visits; /* (occ 0 only) places seen in the current read */
	uint64_t base, last;
	int64_t thandle, rhandle;
};

struct kcounts {
	struct kcount *v;
	size_t n;
	size_t hint; /* where the next rule likely is (the table's order) */
};

/* The rule's name out of its comment "rule N 'NAME' (FILE:LINE)" (see
 * rule_label() in kernel/ruleset.c) into BUF; false when not a rule's. */
static bool rule_name(const char *comment, char *buf, size_t len)
{
	if (strncmp(comment, "rule ", 5) != 0)
		return false;
	const char *q = strchr(comment, '\'');
	const char *e = q ? strrchr(q + 1, '\'') : NULL;
	if (!q || !e)
		return false;
	size_t n = (size_t)(e - q - 1);
	if (n >= len)
		n = len - 1;
	memcpy(buf, q + 1, n);
	buf[n] = '\0';
	return true;
}

static struct kcount *kc_get(struct kcounts *k, const char *rule, bool allow,
			     unsigned occ)
{
	for (size_t j = 0; j < k->n; j++) { /* from the hint: linear overall */
		size_t i = (k->hint + j) % k->n;
		if (k->v[i].allow == allow && k->v[i].occ == occ &&
		    strcmp(k->v[i].rule, rule) == 0) {
			k->hint = i + 1;
			return &k->v[i];
		}
	}
	if (k->n >= KCOUNT_MAX)
		return NULL;
	k->v = xrealloc(k->v, (k->n + 1) * sizeof(*k->v));
	k->v[k->n] = (struct kcount){xstrdup(rule), allow, occ, 0, 0, 0, -1, -1};
	return &k->v[k->n++];
}

/* Everything kept from the kernel's counters. */
struct kernel_kept {
	struct kcounts rules;		 /* per policy rule */
	struct stats_kernel_kept named;	 /* spoofed, deny memory, floods */
	struct kread_pace pace;		 /* the reads, paced by their cost */
};

/* A policy rule of the current read (a stats_kernel_rule_fn). */
static void kc_rule(void *ctx, const struct stats_kernel_rule *r)
{
	struct kernel_kept *kk = ctx;
	char name[128];
	if (!rule_name(r->comment, name, sizeof(name)))
		return;
	struct kcount *head = kc_get(&kk->rules, name, r->allow, 0);
	struct kcount *c = head ? kc_get(&kk->rules, name, r->allow,
					 head->visits++) : NULL;
	if (!c)
		return;
	if (c->thandle != r->table_handle || c->rhandle != r->handle ||
	    r->packets < c->last) {
		c->base += c->last; /* a new counter: keep the old one's */
		c->thandle = r->table_handle;
		c->rhandle = r->handle;
	}
	c->last = r->packets;
}

/* Reads the kernel table's rules and named counters (over netlink, no
 * set's elements: stats_kernel_read) into d->kcounts, unless the last
 * read was costly and its wait is not over (kread_wait_ms: then the kept
 * values stand) and FORCE is false. -1 when the table cannot be read
 * (nothing changed then). */
static int kc_read(struct daemon *d, bool force)
{
	if (!d->kcounts) {
		d->kcounts = xcalloc(1, sizeof(*d->kcounts));
		d->kcounts->named.table_handle = -1;
	}
	struct kernel_kept *kk = d->kcounts;
	if (!force && !kread_due(&kk->pace))
		return 0;
	struct stats_kernel k;
	for (size_t i = 0; i < kk->rules.n; i++)
		kk->rules.v[i].visits = 0;
	uint64_t t0 = thread_cpu_ns();
	int rc = stats_kernel_read(d->kopts.table, &k, kc_rule, kk);
	uint64_t cost = thread_cpu_ns() - t0;
	uint64_t wait = kread_paced(&kk->pace, cost);
	if (wait)
		log_warnx("kernel counters: reading table inet %s took %llu ms "
			  "of CPU; read every %llu s while that lasts",
			  d->kopts.table,
			  (unsigned long long)(cost / 1000000u),
			  (unsigned long long)((wait + 999) / 1000));
	if (rc < 0)
		return -1;
	stats_kernel_keep(&kk->named, &k);
	return 0;
}

void metrics_kernel_fold(struct daemon *d)
{
	kc_read(d, true); /* what the counters held until now */
}

int metrics_kernel_fill(struct daemon *d, struct stats_snapshot *s)
{
	int rc = kc_read(d, false);
	const struct kernel_kept *kk = d->kcounts;
	uint64_t a = 0, n = 0;
	for (size_t i = 0; i < kk->rules.n; i++) {
		const struct kcount *c = &kk->rules.v[i];
		*(c->allow ? &a : &n) += c->base + c->last;
	}
	s->sessions_kernel_allowed = a;
	s->sessions_kernel_denied = n;
	stats_kernel_fill(&kk->named, flood_watch_limited(d), s);
	return rc;
}

void metrics_free(struct daemon *d)
{
	if (!d->kcounts)
		return;
	for (size_t i = 0; i < d->kcounts->rules.n; i++)
		free(d->kcounts->rules.v[i].rule);
	free(d->kcounts->rules.v);
	free(d->kcounts);
	d->kcounts = NULL;
}

/* Entries of the directory PATH but "." and ".."; 0 when unreadable. */
static uint64_t dir_entries(const char *path)
{
	DIR *dir = opendir(path);
	uint64_t n = 0;
	if (!dir)
		return 0;
	for (struct dirent *e; (e = readdir(dir));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dir);
	return n;
}

uint64_t metrics_threads(void)
{
	return dir_entries("/proc/self/task");
}

static void rules_families(struct daemon *d, struct evbuffer *out)
{
	prom_family(out, "sluice_rule_sessions_total", "counter",
		    "New sessions the kernel decided by a header-only rule, by "
		    "rule and verdict (kept across reloads)");
	if (!d->kcounts)
		return;
	const struct kcounts *k = &d->kcounts->rules;
	for (size_t i = 0; i < k->n; i++) {
		const struct kcount *c = &k->v[i];
		if (c->occ) /* summed into its first place's sample */
			continue;
		uint64_t sum = 0;
		for (size_t j = 0; j < k->n; j++) {
			const struct kcount *o = &k->v[j];
			if (o->allow == c->allow && strcmp(o->rule, c->rule) == 0)
				sum += o->base + o->last;
		}
		char v[400], labels[480];
		prom_label_value(v, sizeof(v), c->rule);
		snprintf(labels, sizeof(labels), "rule=\"%s\",verdict=\"%s\"", v,
			 c->allow ? "allow" : "deny");
		prom_sample(out, "sluice_rule_sessions_total", labels,
			    (double)sum);
	}
}

static void refused_family(struct daemon *d, struct evbuffer *out)
{
	struct decide_stats sum = {0};
	for (size_t i = 0; i < d->nworkers; i++) {
		struct worker *w = d->workers[i];
		pthread_mutex_lock(&w->lock);
		const struct decide_stats *st = decider_stats(w->dec);
		sum.slots_full += st->slots_full;
		sum.source_full += st->source_full;
		sum.timed_out += st->timed_out;
		sum.watchdog += st->watchdog;
		sum.malformed += st->malformed;
		sum.overflow += st->overflow;
		sum.misread += st->misread;
		pthread_mutex_unlock(&w->lock);
	}
	static const char F[] = "sluice_decisions_refused_total";
	prom_family(out, F, "counter",
		    "Sessions sluiced ended without its policy's answer, by "
		    "reason (slots_full, per_source: caps; deadline; watchdog; "
		    "malformed, misread: packets it could not read; overflow: "
		    "extra copies beyond the queue's room)");
	prom_sample(out, F, "reason=\"slots_full\"", (double)sum.slots_full);
	prom_sample(out, F, "reason=\"per_source\"", (double)sum.source_full);
	prom_sample(out, F, "reason=\"deadline\"", (double)sum.timed_out);
	prom_sample(out, F, "reason=\"watchdog\"", (double)sum.watchdog);
	prom_sample(out, F, "reason=\"malformed\"", (double)sum.malformed);
	prom_sample(out, F, "reason=\"misread\"", (double)sum.misread);
	prom_sample(out, F, "reason=\"overflow\"", (double)sum.overflow);
}

/* Per kernel queue: its backlog and packets, from
 * /proc/self/net/netfilter/nfnetlink_queue (see stats_parse_nfqueue). */
static void queue_families(struct daemon *d, struct evbuffer *out)
{
	unsigned first = d->gen->policy->queue.num;
	unsigned last = first + (unsigned)d->nworkers;
	struct evbuffer *b = evbuffer_new(), *k = evbuffer_new(),
			*u = evbuffer_new(), *q = evbuffer_new();
	FILE *f = fopen("/proc/self/net/netfilter/nfnetlink_queue", "re");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long n, pid, total, mode, range, qd, ud, id;
		if (sscanf(line, "%llu %llu %llu %llu %llu %llu %llu %llu", &n,
			   &pid, &total, &mode, &range, &qd, &ud, &id) != 8 ||
		    n < first || n >= last)
			continue;
		char l[64], l2[96];
		snprintf(l, sizeof(l), "queue=\"%llu\"", n);
		prom_sample(b, "sluice_queue_packets_backlogged", l, (double)total);
		prom_sample(q, "sluice_queue_packets_total", l, (double)id);
		snprintf(l2, sizeof(l2), "queue=\"%llu\",reason=\"queue_full\"", n);
		prom_sample(k, "sluice_queue_packets_dropped_total", l2, (double)qd);
		snprintf(l2, sizeof(l2), "queue=\"%llu\",reason=\"socket\"", n);
		prom_sample(u, "sluice_queue_packets_dropped_total", l2, (double)ud);
	}
	if (f)
		fclose(f);
	prom_family(out, "sluice_queue_packets_backlogged", "gauge",
		    "Packets waiting in a kernel queue, by queue");
	evbuffer_add_buffer(out, b);
	prom_family(out, "sluice_queue_packets_total", "counter",
		    "Packets the kernel put in a queue (id_sequence), by queue");
	evbuffer_add_buffer(out, q);
	prom_family(out, "sluice_queue_packets_dropped_total", "counter",
		    "Packets a kernel queue dropped, by queue and reason");
	evbuffer_add_buffer(out, k);
	evbuffer_add_buffer(out, u);
	evbuffer_free(b);
	evbuffer_free(k);
	evbuffer_free(u);
	evbuffer_free(q);
}

/* process_cpu_seconds_total and process_virtual_memory_bytes from
 * /proc/self/stat (fields 14, 15: utime, stime in ticks; 23: vsize). */
static void process_families(struct daemon *d, struct evbuffer *out)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	unsigned long long ut = 0, st = 0, vsize = 0;
	const char *p = strrchr(buf, ')');
	if (p)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
			      "%llu %*d %*d %*d %*d %*d %*d %*u %llu",
		       &ut, &st, &vsize);
	long hz = sysconf(_SC_CLK_TCK);
	prom_family(out, "process_cpu_seconds_total", "counter",
		    "Total user and system CPU time spent in seconds");
	prom_sample(out, "process_cpu_seconds_total", NULL,
		    hz > 0 ? (double)(ut + st) / (double)hz : 0);
	prom_family(out, "process_virtual_memory_bytes", "gauge",
		    "Virtual memory size in bytes");
	prom_sample(out, "process_virtual_memory_bytes", NULL, (double)vsize);
	struct rlimit rl;
	prom_family(out, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors");
	prom_sample(out, "process_max_fds", NULL,
		    getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
			? (double)rl.rlim_cur : 0);
	prom_family(out, "process_start_time_seconds", "gauge",
		    "Start time of the process since unix epoch in seconds");
	prom_sample(out, "process_start_time_seconds", NULL, (double)d->started);
}

void metrics_extra(void *arg, struct evbuffer *out)
{
	struct daemon *d = arg;
	char v[128], labels[160];
	prom_label_value(v, sizeof(v), SLUICE_VERSION);
	snprintf(labels, sizeof(labels), "version=\"%s\"", v);
	prom_family(out, "sluice_build_info", "gauge",
		    "Always 1; the version of sluiced in its label");
	prom_sample(out, "sluice_build_info", labels, 1);
	prom_family(out, "sluice_policy_generation", "gauge",
		    "The running policy's generation (grows by one a reload)");
	prom_sample(out, "sluice_policy_generation", NULL, (double)d->gen->id);
	prom_family(out, "sluice_reloads_total", "counter",
		    "Policy reloads, by result (failed: the running policy "
		    "stayed)");
	prom_sample(out, "sluice_reloads_total", "result=\"ok\"",
		    (double)d->reloads);
	prom_sample(out, "sluice_reloads_total", "result=\"failed\"",
		    (double)d->reload_failures);
	prom_family(out, "sluice_last_reload_success_timestamp_seconds", "gauge",
		    "When the running policy was loaded (start or reload), "
		    "seconds since the epoch");
	prom_sample(out, "sluice_last_reload_success_timestamp_seconds", NULL,
		    (double)d->reload_ok_at);
	prom_family(out, "sluice_sessions_revoked_total", "counter",
		    "Sessions cut because a reload no longer allows them");
	prom_sample(out, "sluice_sessions_revoked_total", NULL,
		    (double)d->revoked);
	prom_family(out, "sluice_alerts_firing", "gauge", "Alerts firing now");
	prom_sample(out, "sluice_alerts_firing", NULL,
		    (double)alerts_firing(d->alerts));
	prom_family(out, "sluice_ruleset_present", "gauge",
		    "1 when sluice's kernel ruleset is whole, 0 when some is "
		    "missing (the ruleset watch puts it back)");
	prom_sample(out, "sluice_ruleset_present", NULL,
		    ruleset_check(&d->kopts, NULL) == 0 ? 1 : 0);
	refused_family(d, out);
	rules_families(d, out);
	queue_families(d, out);
	farms_prom(d->farms, out);
	process_families(d, out);
}
