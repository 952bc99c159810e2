/*
 * counters.h — sluice's counters: one snapshot struct, one static table.
 *
 * The daemon fills a struct stats_snapshot when someone reads the counters
 * (per-thread counters summed at read time; nothing is locked on the packet
 * path). Every output — Prometheus, `sluicectl counters`, JSON, the default
 * alerts, docs/counters.md — is driven by the table stats_counters[], one
 * row per counter, expanded from the one list in stats/counter_table.h
 * (which policy/counters_names.h expands too, for the policy checker).
 *
 * Error convention: -1 with errno from the stats_fill_* functions; the
 * fields they could not read are left untouched.
 */
#ifndef SLUICE_STATS_COUNTERS_H
#define SLUICE_STATS_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/latency.h"
#include "stats/counter_table.h"

/* Decision latency buckets, upper bounds in seconds; the last is +Inf. */
#define STATS_LAT_BUCKETS LATENCY_NBUCKETS /* common/latency.h */
extern const double stats_latency_bounds[STATS_LAT_BUCKETS];

/* A histogram. buckets[i] counts observations in (bound[i-1], bound[i]]
 * (NOT cumulative, so per-thread histograms add up by plain sums). */
struct stats_hist {
	uint64_t buckets[STATS_LAT_BUCKETS];
	uint64_t count;
	double sum; /* seconds */
};

/* Adds one observation of V seconds. Not atomic: one writer per hist. */
void stats_hist_observe(struct stats_hist *h, double v);
/* DST += SRC (for summing per-thread histograms). */
void stats_hist_add(struct stats_hist *dst, const struct stats_hist *src);
/* An estimate of quantile Q (0..1) by linear interpolation in its bucket;
 * 0 when empty. The +Inf bucket answers its lower bound. */
double stats_hist_quantile(const struct stats_hist *h, double q);

struct stats_snapshot {
	/* packet engine */
	uint64_t packets_queued;	     /* read by the queue workers */
	uint64_t packets_queued_kernel;	     /* id_sequence, kernel side */
	uint64_t packets_backlogged;	     /* queue_total: waiting in kernel */
	uint64_t packets_dropped_queue_full; /* queue_dropped */
	uint64_t packets_dropped_user;	     /* user_dropped (netlink buffer) */
	uint64_t verdicts_allow, verdicts_deny, verdicts_fail;
	uint64_t verdicts_reject;      /* of verdicts_deny: rejects */
	uint64_t packets_deny_memory;  /* retransmits the deny memory ended */
	uint64_t packets_flood_tcp_rate, packets_flood_tcp_concurrent,
	    packets_flood_udp_rate; /* refused by the flood limits */
	uint64_t packets_flood_tcp_half_open; /* ... over tcp-half-open */
	uint64_t flood_half_open_sources;   /* in flood_half_open4/6 (halfopen.c) */
	uint64_t flood_half_open_untracked; /* sessions past its memory cap */
	uint64_t flood_half_open_passes;    /* passes completed */
	double flood_half_open_pass_cpu_seconds; /* the last pass's CPU time */
	uint64_t flood_sources_limited; /* elements of flood_limited4/6 */
	uint64_t packets_misread;      /* not read as the kernel did: denied */
	uint64_t verdict_send_retries; /* failed verdict sends, re-sent */
	uint64_t verdicts_lost;	       /* verdicts given up (sends failing) */
	uint64_t sessions_kernel_allowed, sessions_kernel_denied;
	uint64_t packets_spoofed; /* nft chain spoofed (anti-spoofing) */
	uint64_t packets_mark_rewritten; /* nft chains *_post */
	uint64_t sessions_service_decided;
	uint64_t sessions_decided_at_once;
	uint64_t sessions_active;
	uint64_t ruleset_restored; /* the ruleset watch (observe.c) */
	/* decision service */
	uint64_t slots_total, slots_available, slots_local_available;
	uint64_t decisions_pending;
	uint64_t worker_threads;
	uint64_t decisions_timed_out;
	uint64_t lookups_dns, lookups_ldap, lookups_nss;
	uint64_t dns_cache_entries, dns_cache_hits, dns_cache_misses;
	uint64_t dns_cache_negative_hits;
	uint64_t dns_names_bounded;
	uint64_t dns_filter_answers_untrusted;
	uint64_t dns_filter_queries, dns_filter_answers_bound, dns_filter_answers_unmatched,
	    dns_filter_dropped, dns_filter_rebinding_refused, dns_filter_bindings,
	    dns_filter_bounded,
	    dns_filter_tcp_reassembled, dns_filter_tcp_refused;
	uint64_t ftp_filter_segments, ftp_filter_refused, ftp_filter_dropped;
	uint64_t identity_cache_hits;
	uint64_t lookups_answered_on_worker;
	uint64_t identity_ignored_on_lookup;
	uint64_t identity_incomplete;
	struct stats_hist decision_latency_seconds;
	uint64_t fwlog_written, fwlog_dropped;
	uint64_t fwlog_kernel_decided, fwlog_session_ends, fwlog_kernel_lost;
	uint64_t connections_refused; /* metrics endpoint + control socket */
	/* sluice-portal's report (control: portal-report) */
	uint64_t portal_signed_in, portal_signins, portal_refused,
	    portal_throttled, portal_directory_unavailable, portal_push_failed,
	    portal_busy;
	/* verifiers */
	uint64_t verifier_checks, verifier_failures;
	uint64_t farm_members_up, farm_members_down;
	uint64_t verifiers_down; /* standalone verifiers */
	double verifier_response_seconds;
	/* process */
	uint64_t process_resident_memory_bytes;
	uint64_t process_heap_bytes;
	uint64_t process_open_fds;
	double process_uptime_seconds;
};

/* A default alert threshold of a counter (the seeds'). */
struct stats_threshold {
	enum stats_cmp cmp;
	double value;	    /* CMP_GT/LT; a percentage when `of` is set */
	const char *of;	    /* relative to this counter, or NULL */
	uint32_t window_ms; /* CMP_GROWS */
	const char *alert;  /* the default alert's name */
};

struct stats_counter {
	const char *name;   /* sluice_NAME in Prometheus (+ _total) */
	const char *help;
	enum stats_type type;
	enum stats_store store;
	size_t off;	    /* offsetof(struct stats_snapshot, ...) */
	const char *unit;   /* "packets", "bytes", "seconds", ... */
	const char *section; /* "packet engine", "service", ... */
	const char *healthy; /* healthy range, as text */
	const char *source;  /* where the value comes from (docs) */
	struct stats_threshold thr;
};

/* The table, ending with a NULL name: STATS_NCOUNTERS rows, row
 * STATS_CTR_<name> for counter <name>. */
extern const struct stats_counter stats_counters[];
/* The row named NAME, or NULL. */
const struct stats_counter *stats_counter_find(const char *name);
/* The scalar value of row C in S (a histogram answers its count). */
double stats_value(const struct stats_snapshot *s, const struct stats_counter *c);
/* True when the value of C in S is past C's default threshold (GT/LT;
 * a GROWS threshold is a trend: only alerts judge it). */
bool stats_past_threshold(const struct stats_snapshot *s,
			  const struct stats_counter *c);
/* The threshold of C as text ("> 10", "< 1", "> 50% of slots_total",
 * "grows over 2h"); "" when none. A static buffer. */
const char *stats_threshold_text(const struct stats_counter *c);

/* ---- filling from the system --------------------------------------------- */

/* Resident memory (/proc/self/statm), heap in use (mallinfo2), open fds
 * (/proc/self/fd), uptime (/proc/self/stat start time). 0, or -1 with errno
 * when a source could not be read (the others are still filled). */
int stats_fill_process(struct stats_snapshot *s);

/* The kernel side of queues QUEUE_NUM .. QUEUE_NUM+COUNT-1 from
 * /proc/self/net/netfilter/nfnetlink_queue (the process's netns): backlog
 * (queue_total), queue_dropped, user_dropped, id_sequence, summed. A queue
 * with no listener has no line and adds nothing. 0, or -1 with errno. */
int stats_fill_kernel_queue(struct stats_snapshot *s, uint16_t queue_num,
			    uint16_t count);
/* The same from an open file in that format (for tests). */
int stats_parse_nfqueue(FILE *f, struct stats_snapshot *s, uint16_t queue_num,
			uint16_t count);

/* The counters read from the kernel's rules (one value each, summed over
 * the rules and named counters that hold it); where each lands in a
 * snapshot is stats_kcounter_off[]. */
enum stats_kcounter {
	STATS_KC_SPOOFED,		/* rule "spoofed source" */
	STATS_KC_MARK_REWRITTEN,	/* rules "new, without a decision..." */
	STATS_KC_DENY_MEMORY,		/* rules "deny memory..." */
	STATS_KC_FLOOD_TCP_RATE,	/* named counter flood_tcp_rate */
	STATS_KC_FLOOD_TCP_CONCURRENT,	/* named counter flood_tcp_concurrent */
	STATS_KC_FLOOD_UDP_RATE,	/* named counter flood_udp_rate */
	STATS_KC_FLOOD_TCP_HALF_OPEN,	/* named counter flood_tcp_half_open */
	STATS_KC_N
};
extern const size_t stats_kcounter_off[STATS_KC_N];

/* One reading of sluice's kernel table. */
struct stats_kernel {
	int64_t table_handle;		 /* -1: not in the listing */
	uint64_t packets[STATS_KC_N];	 /* by enum stats_kcounter */
	/* what counted each: the named counter object's handle, or the
	 * highest handle of the rules summed; a reload that flushes the table
	 * keeps its handle but makes these anew. -1: nothing counted it */
	int64_t source[STATS_KC_N];
	uint64_t allowed, denied;	 /* the policy rules' sums */
};

/* A policy rule of the reading (comment "rule N 'NAME' (FILE:LINE)", see
 * rule_label() in kernel/ruleset.c) that allows (sets the ct mark) or
 * denies (drops, or goes to the reject chain); COMMENT lives as long as
 * the callback. */
struct stats_kernel_rule {
	const char *comment;
	bool allow;
	uint64_t packets;
	int64_t handle;	      /* the rule's nft handle, -1 when absent */
	int64_t table_handle; /* its table's */
};
typedef void stats_kernel_rule_fn(void *ctx, const struct stats_kernel_rule *r);

/* Reads table inet TABLE (kernel/nftread.h: its handle, rules and counter
 * objects over netlink, never a set's elements) into *K, then calls
 * FN(CTX, rule) (FN may be NULL) for each policy rule that allows or
 * denies, once per read (stats_kernel_add_rule). 0, or -1 with errno
 * (ENOENT: no such table; EAGAIN: it changed under every attempt;
 * ETIMEDOUT, EMFILE and other socket errors). */
int stats_kernel_read(const char *table, struct stats_kernel *k,
		      stats_kernel_rule_fn *fn, void *ctx);
/* One rule of a reading into K, by its COMMENT: "spoofed source" and
 * "deny memory..." rules add their PACKETS to those counters; a policy
 * rule ("rule ...") to the allowed (VERDICT 1) or denied (0) sums, and
 * goes to FN(CTX, rule) with HANDLE and K's table handle; VERDICT -1 (it
 * neither allows nor denies: asks sluiced) and other comments count for
 * nothing. */
void stats_kernel_add_rule(struct stats_kernel *k, const char *comment,
			   int verdict, uint64_t packets, int64_t handle,
			   stats_kernel_rule_fn *fn, void *ctx);
/* One named counter NAME (object handle HANDLE) of a reading into K (the
 * kernel-read counter named after it; other names are ignored). */
void stats_kernel_add_named(struct stats_kernel *k, const char *name,
			    uint64_t packets, int64_t handle);

/* The kernel counters kept monotonic while the process lives: a reload
 * (or a repair) makes the table's rules and counter objects anew, whose
 * counters start again at 0; what the old ones held moves to BASE.
 * Zero-initialise, table_handle = -1. */
struct stats_kernel_kept {
	int64_t table_handle; /* of the reading seen last */
	int64_t source[STATS_KC_N];
	uint64_t base[STATS_KC_N], last[STATS_KC_N];
};
/* Takes reading K: a table of another handle, a counter of another
 * source (K->source: made anew by a reload that kept the table), or a
 * value below the last one, is a new counter (its predecessor's value
 * goes to the base). */
void stats_kernel_keep(struct stats_kernel_kept *kk,
		       const struct stats_kernel *k);
/* The kept values (base + last) into S's kernel counters, and LIMITED
 * (a gauge: the sources limited now) into S->flood_sources_limited. */
void stats_kernel_fill(const struct stats_kernel_kept *kk, uint64_t limited,
		       struct stats_snapshot *s);


#endif
