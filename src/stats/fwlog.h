/*
 * fwlog.h — the firewall log: one record per session decision, as JSON
 * lines or W3C extended, to a file (reopened on fwlog_reopen(), for
 * logrotate) and/or syslog.
 *
 * A decision never waits for the log: fwlog_record() copies the record into
 * a bounded ring (log { buffer } records) under a short mutex and returns;
 * a writer thread formats and writes. A record that does not fit is counted
 * as dropped, never lost silently (fwlog_stats, the fwlog_dropped counter).
 */
#ifndef SLUICE_STATS_FWLOG_H
#define SLUICE_STATS_FWLOG_H

#include "policy/policy.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct fwlog;

/* Why the decision came out as it did. */
enum fwlog_reason {
	FWR_RULE,	/* a rule matched */
	FWR_DEFAULT,	/* no rule matched: the implicit deny */
	FWR_DEADLINE,	/* lookups did not answer in time */
	FWR_SLOTS_FULL, /* no decision slot free */
	FWR_PER_SOURCE, /* the source's share of slots was used up */
	FWR_FILTER,	/* an application filter decided */
	FWR_FAIL,	/* the queue's fail verdict (watchdog, errors) */
	FWR_MISREAD,	/* a packet sluiced could not read as the kernel did */
	FWR_FLOOD_START, /* a source began to be refused by a flood limit */
	FWR_FLOOD_END,	/* ... and is no longer (30 s after its last refusal) */
	FWR_COUNT
};

struct fwlog_rec {
	struct timespec time;	   /* CLOCK_REALTIME; zero = when recorded */
	struct flow flow;	   /* transport, addresses, ports */
	const char *src_net;	   /* source network name, or NULL */
	const char *dst_net;	   /* destination network name, or NULL */
	enum verdict action;	   /* VERDICT_ALLOW or VERDICT_DENY */
	const char *rule;	   /* deciding rule's name, or NULL */
	const char *user;	   /* user name, or NULL */
	const char *name;	   /* resolved destination name, or NULL */
	enum fwlog_reason reason;
	uint32_t latency_us;	   /* queued → verdict */
};

/* Strings longer than these are cut in the log. */
#define FWLOG_NET_MAX 48
#define FWLOG_RULE_MAX 96
#define FWLOG_USER_MAX 96
#define FWLOG_NAME_MAX 256

/*
 * Opens the log of CFG (log block: format, file, syslog, buffer). GATEWAY
 * is this host's name (NULL: gethostname). Starts the writer thread.
 * Returns NULL with errno: EINVAL when CFG names neither a file nor syslog,
 * or the file's open error.
 */
struct fwlog *fwlog_open(const struct log_cfg *cfg, const char *gateway);
/* Drains what is buffered, stops the writer, closes. NULL is fine. */
void fwlog_close(struct fwlog *l);

/* Records one decision; from any thread; never blocks on I/O. NULL L: no
 * log configured, nothing done. */
void fwlog_record(struct fwlog *l, const struct fwlog_rec *r);
/* Asks the writer to reopen the file before its next write (SIGUSR1, from
 * the daemon's event loop — not from a raw signal handler). */
void fwlog_reopen(struct fwlog *l);
/* Waits until every record recorded so far is written (shutdown, tests). */
void fwlog_flush(struct fwlog *l);
/* Records written and dropped since open. */
void fwlog_stats(const struct fwlog *l, uint64_t *written, uint64_t *dropped);

/* Formats R as one line (no newline) into BUF; for tests and tools. */
void fwlog_format(const struct fwlog *l, const struct fwlog_rec *r, char *buf,
		  size_t len);
const char *fwlog_reason_name(enum fwlog_reason r);

/* Test hook: while STALL, the writer takes nothing from the ring. */
void fwlog_test_stall(struct fwlog *l, bool stall);

#endif
