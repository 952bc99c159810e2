/*
 * reason.h — the one list of why a decision ended the way it did: the
 * decider (decide/decide.c) gives it, the firewall log (stats/fwlog.c)
 * writes it. One enum, one name table (common/reason.c) with a row per
 * value, checked by a static assert and tests/stats/test_fwlog.c.
 */
#ifndef SLUICE_COMMON_REASON_H
#define SLUICE_COMMON_REASON_H

enum reason {
	RSN_RULE,      /* a rule matched */
	RSN_DEFAULT,   /* no rule matched: the implicit deny */
	RSN_DEADLINE,  /* lookups did not answer in time */
	RSN_SLOTS,     /* no decision slot free */
	RSN_SOURCE,    /* the source's share of slots was used up */
	RSN_MALFORMED, /* a packet sluiced could not parse */
	RSN_WATCHDOG,  /* the watchdog ended a decision */
	RSN_SHUTDOWN,  /* sluiced stopped with the decision pending */
	RSN_OVERFLOW,  /* more copies of a pending session than it holds */
	RSN_MISREAD,   /* not read as the kernel did: denied */
	RSN_FILTER,    /* an application filter decided */
	RSN_FLOOD_START, /* a source began to be refused by a flood limit */
	RSN_FLOOD_END,	 /* ... and no longer is (30 s after its last refusal) */
	RSN_COUNT
};

/* The decider's name of R ("watchdog", "source-full", ...); "?" when R is
 * out of range. A static string. */
const char *reason_name(enum reason r);

/* The name the firewall log writes for R: the decider's trouble
 * (malformed, watchdog, shutdown, overflow) is "fail"; "unknown" when R is
 * out of range. A static string. */
const char *reason_log_name(enum reason r);

#endif
