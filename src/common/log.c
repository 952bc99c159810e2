/* log.c — see log.h. Thread-safe: one write per message. */
#include "common/log.h"
#include "common/text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

static bool use_stderr = true;
static bool to_journal; /* stderr is journald's stream */
static int verbosity;
static const char *prog = "sluice";

/*
 * True when standard error is connected to journald: systemd sets
 * $JOURNAL_STREAM to "DEVICE:INODE" of that stream (systemd.exec(5)). Then
 * each line starts with its syslog priority, "<N>" (sd-daemon(3)), which
 * journald takes as the message's priority, and carries no time stamp of
 * its own (journald has one).
 */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

bool log_journal(void)
{
	return to_journal;
}

void log_init(const char *ident, bool to_stderr, int verbose)
{
	prog = ident;
	use_stderr = to_stderr;
	to_journal = to_stderr && stderr_is_journal();
	verbosity = verbose;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char raw[1024], msg[4 * sizeof(raw)];
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	/* names from outside (users, groups, DNS names) may carry control
	 * characters or invalid UTF-8: never written raw to a log */
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1;
	text_escape(msg, sizeof(msg), raw, len, false);
	if (to_journal) {
		fprintf(stderr, "<%d>%s: %s%s%s\n", pri, prog, msg,
			suffix ? ": " : "", suffix ? suffix : "");
	} else if (use_stderr) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s%s%s\n", tm.tm_hour,
			tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, prog, msg,
			suffix ? ": " : "", suffix ? suffix : "");
	} else {
		syslog(pri, "%s%s%s", msg, suffix ? ": " : "",
		       suffix ? suffix : "");
	}
}

#define LOGFN(name, pri, with_errno)                                      \
	void name(const char *fmt, ...)                                   \
	{                                                                 \
		int saved = errno;                                        \
		va_list ap;                                               \
		va_start(ap, fmt);                                        \
		vlog(pri, fmt, ap, with_errno ? strerror(saved) : NULL);  \
		va_end(ap);                                               \
		errno = saved;                                            \
	}

LOGFN(log_warn, LOG_WARNING, true)
LOGFN(log_warnx, LOG_WARNING, false)
LOGFN(log_info, LOG_INFO, false)

void log_at(int pri, const char *fmt, ...)
{
	if (pri == LOG_DEBUG && verbosity < 1)
		return;
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(pri & LOG_PRIMASK, fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void log_debug(const char *fmt, ...)
{
	if (verbosity < 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
