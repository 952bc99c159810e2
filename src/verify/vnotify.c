/*
 * vnotify.c — notification commands of verifier state changes; see
 * vnotify.h.
 */
#include "verify/vnotify.h"
#include "common/util.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define REAP_MS 100 /* how often running commands are looked at */
#define MAX_ARGS 32

struct child {
	pid_t pid;
	int64_t deadline_ms;
	bool killed;
	char *what; /* "CMD (NAME STATE)" for the log */
};

struct vnotify {
	struct event_base *base;
	struct event *reap;
	uint32_t timeout_ms;
	bool drop; /* running as root: become `nobody` */
	uid_t uid;
	gid_t gid;
	vnotify_log_fn log;
	void *log_arg;
	struct child kids[VNOTIFY_MAX];
	unsigned nkids;
};

static void nlog(struct vnotify *n, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void nlog(struct vnotify *n, int prio, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!n->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n->log(n->log_arg, prio, buf);
}

/* Removes kid I (its slot takes the last one). */
static void drop_kid(struct vnotify *n, unsigned i)
{
	free(n->kids[i].what);
	n->kids[i] = n->kids[--n->nkids];
}

/* Reaps finished commands, kills those past their deadline. */
static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vnotify *n = arg;
	int64_t now = (int64_t)mono_ms(); /* common/util.h */

	(void)fd;
	(void)what;
	for (unsigned i = 0; i < n->nkids;) {
		struct child *k = &n->kids[i];
		int st;
		pid_t r = waitpid(k->pid, &st, WNOHANG);

		if (r == k->pid || (r < 0 && errno == ECHILD)) {
			if (r == k->pid && k->killed)
				nlog(n, LOG_WARNING, "notify %s: killed after "
				     "%u ms", k->what, n->timeout_ms);
			else if (r == k->pid && !(WIFEXITED(st) &&
						  WEXITSTATUS(st) == 0))
				nlog(n, LOG_WARNING, "notify %s: %s %d", k->what,
				     WIFEXITED(st) ? "exited with"
						   : "killed by signal",
				     WIFEXITED(st) ? WEXITSTATUS(st)
						   : WTERMSIG(st));
			drop_kid(n, i);
			continue;
		}
		if (!k->killed && now >= k->deadline_ms) {
			kill(-k->pid, SIGKILL); /* its process group */
			kill(k->pid, SIGKILL);
			k->killed = true;
		}
		i++;
	}
	if (n->nkids) {
		struct timeval tv = {0, REAP_MS * 1000};

		evtimer_add(n->reap, &tv);
	}
}

struct vnotify *vnotify_new(struct event_base *base, uint32_t timeout_ms,
			    vnotify_log_fn log, void *log_arg)
{
	struct vnotify *n = xcalloc(1, sizeof(*n));

	n->base = base;
	n->timeout_ms = timeout_ms ? timeout_ms : VNOTIFY_TIMEOUT_MS;
	n->log = log;
	n->log_arg = log_arg;
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");

		if (!pw || pw->pw_uid == 0) {
			free(n);
			errno = ENOENT;
			return NULL;
		}
		n->drop = true;
		n->uid = pw->pw_uid;
		n->gid = pw->pw_gid;
	}
	if (!(n->reap = evtimer_new(base, reap_cb, n))) {
		free(n);
		errno = ENOMEM;
		return NULL;
	}
	return n;
}

void vnotify_free(struct vnotify *n)
{
	if (!n)
		return;
	for (unsigned i = 0; i < n->nkids; i++) {
		kill(-n->kids[i].pid, SIGKILL);
		kill(n->kids[i].pid, SIGKILL);
		waitpid(n->kids[i].pid, NULL, 0);
		free(n->kids[i].what);
	}
	event_free(n->reap);
	free(n);
}

unsigned vnotify_running(const struct vnotify *n)
{
	return n ? n->nkids : 0;
}

static char *envvar(const char *k, const char *v)
{
	size_t lk = strlen(k), lv = v ? strlen(v) : 0;
	char *s = xmalloc(lk + lv + 2);

	memcpy(s, k, lk);
	s[lk] = '=';
	if (lv)
		memcpy(s + lk + 1, v, lv);
	s[lk + 1 + lv] = '\0';
	return s;
}

int vnotify_run(struct vnotify *n, const char *cmd,
		const struct vnotify_event *ev)
{
	char *words, *argv[MAX_ARGS + 3], *save = NULL, **envp, *own[9];
	char tbuf[24];
	size_t argc = 0, nenv = 0, k = 0;
	int err = 0;
	pid_t pid = -1;

	if (n->nkids >= VNOTIFY_MAX) {
		nlog(n, LOG_WARNING, "notify %s: %u commands still running, "
		     "not started", ev->verifier ? ev->verifier : "",
		     n->nkids);
		errno = EAGAIN;
		return -1;
	}
	if (!cmd)
		return errno = EINVAL, -1;
	words = xstrdup(cmd);
	for (char *w = strtok_r(words, " \t", &save); w && argc < MAX_ARGS;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	if (!argc) {
		free(words);
		errno = EINVAL;
		return -1;
	}
	argv[argc++] = (char *)(ev->state ? ev->state : "");
	argv[argc++] = (char *)(ev->verifier ? ev->verifier : "");
	argv[argc] = NULL;

	snprintf(tbuf, sizeof(tbuf), "%lld", (long long)time(NULL));
	own[0] = envvar("SLUICE_VERIFIER", ev->verifier);
	own[1] = envvar("SLUICE_FARM", ev->farm);
	own[2] = envvar("SLUICE_MEMBER", ev->member);
	own[3] = envvar("SLUICE_STATE", ev->state);
	own[4] = envvar("SLUICE_PREV_STATE", ev->prev);
	own[5] = envvar("SLUICE_RESULT", ev->result);
	own[6] = envvar("SLUICE_DETAIL", ev->detail);
	own[7] = envvar("SLUICE_TARGET", ev->target);
	own[8] = envvar("SLUICE_TIME", tbuf);
	while (environ && environ[nenv])
		nenv++;
	envp = xcalloc(nenv + 10, sizeof(*envp));
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "SLUICE_", 7) != 0)
			envp[k++] = environ[i];
	for (size_t i = 0; i < 9; i++)
		envp[k++] = own[i];
	envp[k] = NULL;
	pid = fork();
	if (pid == 0) { /* only async-signal-safe calls from here */
		int fd = open("/dev/null", O_RDONLY);
		sigset_t none;

		if (fd > 0) {
			dup2(fd, 0);
			close(fd);
		}
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		setpgid(0, 0);
		if (n->drop && (setgroups(0, NULL) < 0 ||
				setgid(n->gid) < 0 ||
				setuid(n->uid) < 0 || setuid(0) == 0))
			_exit(126); /* never run as root */
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (pid < 0) {
		err = errno;
	} else {
		struct child *c = &n->kids[n->nkids++];
		size_t wl = strlen(cmd) + strlen(argv[argc - 1]) +
			    strlen(argv[argc - 2]) + 8;

		c->pid = pid;
		c->deadline_ms = (int64_t)mono_ms() + n->timeout_ms;
		c->killed = false;
		c->what = xmalloc(wl);
		snprintf(c->what, wl, "'%s' (%s %s)", cmd, argv[argc - 1],
			 argv[argc - 2]);
		if (n->nkids == 1) {
			struct timeval tv = {0, REAP_MS * 1000};

			evtimer_add(n->reap, &tv);
		}
	}
	for (size_t i = 0; i < 9; i++)
		free(own[i]);
	free(envp);
	free(words);
	if (err) {
		nlog(n, LOG_WARNING, "notify '%s': cannot start: %s", cmd,
		     strerror(err));
		errno = err;
		return -1;
	}
	return (int)pid;
}
