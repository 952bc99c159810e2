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

#include "common/reason.h"

struct fwlog;

/* What a record tells (written as fwlog_event_name()). */
enum fwlog_event {
	FWLOG_DECIDED,	      /* sluiced decided the session ("decided") */
	FWLOG_KERNEL_DECIDED, /* a `log` rule the kernel decides alone did
			       * ("kernel-decided", from NFLOG) */
	FWLOG_SESSION_END,    /* a decided session ended ("session-end",
			       * from conntrack): the counts below */
};
const char *fwlog_event_name(enum fwlog_event e);

/* A session's traffic, for FWLOG_SESSION_END (conntrack accounting):
 * "out" is the original direction (client → destination), "in" the
 * reply. */
struct fwlog_counts {
	uint64_t bytes_out, packets_out;
	uint64_t bytes_in, packets_in;
	uint64_t duration_ms; /* first packet to end */
};

struct fwlog_rec {
	enum fwlog_event event;	   /* zero: FWLOG_DECIDED */
	struct fwlog_counts counts; /* FWLOG_SESSION_END only */
	struct timespec time;	   /* CLOCK_REALTIME; zero = when recorded */
	struct flow flow;	   /* transport, addresses, ports */
	const char *src_net;	   /* source network name, or NULL */
	const char *dst_net;	   /* destination network name, or NULL */
	enum verdict action;	   /* VERDICT_ALLOW or VERDICT_DENY */
	const char *rule;	   /* deciding rule's name, or NULL */
	const char *user;	   /* user name, or NULL */
	const char *name;	   /* resolved destination name, or NULL */
	const char *witness;	   /* what told NAME: "dns-answer" (the
				    * client's own answer), "resolved-ahead",
				    * "reverse"; NULL with NAME NULL */
	enum reason reason;	   /* written as reason_log_name() */
	uint32_t latency_us;	   /* queued → verdict */
};

/* Strings longer than these are cut in the log. */
#define FWLOG_NET_MAX 48
#define FWLOG_RULE_MAX 96
#define FWLOG_USER_MAX 96
#define FWLOG_NAME_MAX 256
/* Bytes of a formatted record, its terminating NUL included, whatever the
 * names hold: every byte of the names (the gateway's 255 too) may be
 * written as 6 ("\u001b", "\\xe9"), plus the fixed fields. A smaller
 * buffer may cut a record. */
#define FWLOG_LINE_MAX                                                     \
	(6 * (2 * FWLOG_NET_MAX + FWLOG_RULE_MAX + FWLOG_USER_MAX +        \
	      FWLOG_NAME_MAX + 16 + 256) + 1024)

/*
 * Opens the log of CFG (log block: format, file, syslog, buffer). GATEWAY
 * is this host's name (NULL: gethostname). Starts the writer thread.
 * Returns NULL with errno: EINVAL when CFG names neither a file nor syslog,
 * or the file's open error (ELOOP: a symbolic link, log_file_follows).
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
/* The records L's ring can take now (log { buffer } less those waiting
 * for the writer); 0 for NULL. A producer of many records at once (the
 * flood watch) spreads them by it instead of losing them as dropped. */
size_t fwlog_room(struct fwlog *l);
/* Records written and dropped since open. */
void fwlog_stats(const struct fwlog *l, uint64_t *written, uint64_t *dropped);

/* Formats R as one line (no newline) into BUF of LEN bytes, NUL-ended;
 * complete when LEN >= FWLOG_LINE_MAX (the JSON formats: one valid JSON
 * object in valid UTF-8 whatever the names hold). For tests and tools. */
void fwlog_format(const struct fwlog *l, const struct fwlog_rec *r, char *buf,
		  size_t len);

/* While HOLD, the writer takes nothing from the ring (records wait there,
 * counted as dropped once it is full). sluiced holds a log it opened on a
 * reload until the one it replaces is closed, so two writers never append
 * to the same file at once (a line of one cut by the other's); tests hold
 * one to fill its ring. */
void fwlog_hold(struct fwlog *l, bool hold);

#endif
