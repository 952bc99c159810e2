/*
 * vnotify.h — notification commands run when a verifier changes state
 * (keepalived's notify_up / notify_down): a `notify` option on a verifier
 * or a farm's verify names a program; at every state change sluiced runs it
 * unprivileged, without a shell, with the change in its arguments and
 * environment, and kills it when it runs longer than a bound.
 *
 * The command line is split on blanks (no shell, no quoting); two arguments
 * are appended: the new state (up, down, unknown) and the verifier's name.
 * Environment: the daemon's own without SLUICE_* variables, plus
 * SLUICE_VERIFIER, SLUICE_FARM and SLUICE_MEMBER (empty for a standalone
 * verifier), SLUICE_STATE, SLUICE_PREV_STATE, SLUICE_RESULT (the result
 * that decided, e.g. "timeout"), SLUICE_DETAIL, SLUICE_TARGET and
 * SLUICE_TIME (Unix seconds). stdin is /dev/null; stdout and stderr are
 * the daemon's.
 * As root the command runs as the user `nobody` (no supplementary groups),
 * in a process group of its own; after timeout_ms the group is killed
 * (SIGKILL). At most VNOTIFY_MAX commands run at once; more are refused
 * (and logged).
 */
#ifndef SLUICE_VNOTIFY_H
#define SLUICE_VNOTIFY_H

#include <stdint.h>

struct event_base;
struct vnotify;

#define VNOTIFY_MAX 32		    /* commands running at once */
#define VNOTIFY_TIMEOUT_MS 10000u /* default bound of one command */

/* Where vnotify logs (command refused, failed, killed); PRIO as syslog. */
typedef void (*vnotify_log_fn)(void *arg, int prio, const char *msg);

/* One state change, as the command sees it (strings may be NULL = ""). */
struct vnotify_event {
	const char *verifier, *farm, *member;
	const char *state, *prev, *result, *detail, *target;
};

/*
 * A runner on BASE (not owned); TIMEOUT_MS 0 = VNOTIFY_TIMEOUT_MS. Looks up
 * `nobody` now (as root: NULL with errno ENOENT when there is none, so
 * that nothing ever runs as root). NULL with errno on failure.
 */
struct vnotify *vnotify_new(struct event_base *base, uint32_t timeout_ms,
			    vnotify_log_fn log, void *log_arg);

/* Kills (SIGKILL) and reaps every command still running, frees N. NULL is
 * allowed. */
void vnotify_free(struct vnotify *n);

/*
 * Starts CMD for EV. Returns the child's pid, or -1 with errno: EINVAL
 * (empty command), EAGAIN (VNOTIFY_MAX running), or fork's errors. Whether
 * the program exists is known only in the child: exit status 127, logged
 * when it is reaped.
 */
int vnotify_run(struct vnotify *n, const char *cmd,
		const struct vnotify_event *ev);

/* Commands running now. */
unsigned vnotify_running(const struct vnotify *n);

#endif
