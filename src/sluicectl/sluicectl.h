/* sluicectl.h — the subcommands of sluicectl, one file each. */
#ifndef SLUICECTL_H
#define SLUICECTL_H

/* Exit codes of every subcommand; EXIT_LOCKOUT: `check --host` found a way
 * in of this host's administrator that a start would cut (hostcheck.h). */
enum {
	EXIT_OK = 0,
	EXIT_INVALID = 1,
	EXIT_USAGE = 2,
	EXIT_FAIL = 3,
	EXIT_LOCKOUT = 4
};

int cmd_check(int argc, char **argv);
int cmd_remote(int argc, char **argv);
int cmd_counters(int argc, char **argv);
extern const char *ctl_socket;
/* The usage line of command NAME (without "sluicectl "). */
const char *sluicectl_usage(const char *name); /* -s SOCKET or $SLUICE_SOCKET */

/* --watch's --interval, in ms: 100 ms .. one day (counters_watch). */
#define WATCH_INTERVAL_MIN_MS 100u
#define WATCH_INTERVAL_MAX_MS 86400000u
#define WATCH_COUNT_MAX 86400000u /* --count; 0: until interrupted */

/*
 * `sluicectl counters --watch`: every INTERVAL_MS asks the daemon at
 * SOCKET_PATH for `counters --json` and redraws the table in place (ANSI
 * clear), marking values past their thresholds and listing firing alerts.
 * INTERVAL_MS below WATCH_INTERVAL_MIN_MS is taken as that (cmd_counters
 * refuses such a value first). COUNT redraws, 0 = until interrupted. Output goes to stdout. Returns 0,
 * 1 when the daemon answered an error, 3 when it could not be reached.
 */
int counters_watch(const char *socket_path, unsigned interval_ms,
		   unsigned count);

#endif
