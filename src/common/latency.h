/*
 * latency.h — the one definition of the decision latency buckets: the
 * decider's histogram (decide/decide.c, nanoseconds) and the counter
 * decision_latency_seconds (stats/counters.c, seconds; Prometheus `le`)
 * are both expanded from LATENCY_BOUNDS_US.
 */
#ifndef SLUICE_COMMON_LATENCY_H
#define SLUICE_COMMON_LATENCY_H

/* The finite upper bounds of the buckets, microseconds, ascending; a last
 * bucket (+Inf) takes the rest. They reach the longest decisions
 * { deadline } a policy may set (600 s, policy/settings.c; the unit test
 * test_latency_bounds holds the two together), so a decision that waited
 * up to its deadline still lands in a finite bucket. */
#define LATENCY_BOUNDS_US(X)                                                   \
	X(100) X(250) X(500) X(1000) X(2500) X(5000) X(10000) X(25000)         \
	    X(50000) X(100000) X(250000) X(500000) X(1000000) X(2500000)       \
	    X(5000000) X(10000000) X(30000000) X(60000000) X(120000000)        \
	    X(300000000) X(600000000)

#define LATENCY_ONE_(us) +1
/* Buckets, the +Inf one included. */
#define LATENCY_NBUCKETS (LATENCY_BOUNDS_US(LATENCY_ONE_) + 1)

/* Initialisers of the bound arrays in nanoseconds and in seconds. */
#define LATENCY_NS_(us) (us) * 1000ull,
#define LATENCY_S_(us) (us) / 1e6,

#endif
