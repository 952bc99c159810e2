/*
 * metrics.h — sluiced's Prometheus families beyond the counters table
 * (stats/prom.c renders the table), and the kernel rule counters kept
 * monotonic across reloads.
 */
#ifndef SLUICED_METRICS_H
#define SLUICED_METRICS_H

#include <stdint.h>

struct daemon;
struct evbuffer;

/* A metrics_extra_fn (stats/prom.h) for daemon ARG: build info, policy
 * generation, reloads, revocations, refusals by reason, alerts firing,
 * ruleset presence, per-rule kernel sessions, per-queue counts, farm
 * members and the standard process_* metrics. Main loop only. */
void metrics_extra(void *arg, struct evbuffer *out);

/* New sessions the kernel decided by policy rules since sluiced started,
 * summed over rules: the table's rule counters plus what earlier tables
 * counted (never going back across a reload). -1 when the table cannot be
 * read (the outputs untouched). Main loop only. */
int metrics_kernel_sessions(struct daemon *d, uint64_t *allowed,
			    uint64_t *denied);
/* Call right before the nft table is replaced: reads what its rule
 * counters hold (kept across the replacement, whether it succeeds or
 * not: a replaced rule is told by its new handle). */
void metrics_kernel_fold(struct daemon *d);
/* Frees what the above keep. */
void metrics_free(struct daemon *d);
/* Threads of this process (/proc/self/task); 0 when unreadable. */
uint64_t metrics_threads(void);

#endif
