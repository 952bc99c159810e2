/*
 * metrics.h — sluiced's Prometheus families beyond the counters table
 * (stats/prom.c renders the table), and the kernel's counters kept
 * monotonic across reloads.
 */
#ifndef SLUICED_METRICS_H
#define SLUICED_METRICS_H

#include <stdint.h>

struct daemon;
struct evbuffer;
struct stats_snapshot;

/* A metrics_extra_fn (stats/prom.h) for daemon ARG: build info, policy
 * generation, reloads, revocations, refusals by reason, alerts firing,
 * ruleset presence, per-rule kernel sessions, per-queue counts, farm
 * members and the standard process_* metrics. Main loop only. */
void metrics_extra(void *arg, struct evbuffer *out);

/* Reads sluice's kernel table once and fills S's counters that come from
 * it: sessions_kernel_allowed/denied (the policy rules' counters summed),
 * packets_spoofed, packets_deny_memory, packets_flood_* (each the table's
 * counter plus what earlier tables counted: never going back across a
 * reload or a repair) and flood_sources_limited (a gauge). When the table
 * cannot be read the kept values are given. -1 then, else 0. Main loop
 * only. */
int metrics_kernel_fill(struct daemon *d, struct stats_snapshot *s);
/* Call right before the nft table is replaced: reads what its
 * counters hold (kept across the replacement, whether it succeeds or
 * not: a replaced rule is told by its new handle). */
void metrics_kernel_fold(struct daemon *d);
/* Frees what the above keep. */
void metrics_free(struct daemon *d);
/* Threads of this process (/proc/self/task); 0 when unreadable. */
uint64_t metrics_threads(void);

#endif
