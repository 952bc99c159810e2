/*
 * log.h — the daemon's logging (relayd style): *_warn appends strerror(errno),
 * *_warnx does not; fatal/fatalx log and exit(1). To stderr in the
 * foreground, to syslog as a daemon. When stderr is journald's stream
 * ($JOURNAL_STREAM), each line carries its priority as a "<N>" prefix and
 * no time stamp.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdbool.h>

void log_init(const char *ident, bool to_stderr, int verbose);
/* True when log_init() found standard error to be journald's stream. */
bool log_journal(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* At syslog priority PRI (LOG_EMERG .. LOG_DEBUG, <syslog.h>): for messages
 * whose priority is data, e.g. alerts. */
void log_at(int pri, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
