/*
 * install.c — puts the generated ruleset into the kernel and takes it out:
 * the nft table through libnftables (one transaction), the xtables NFQUEUE
 * chain through iptables-nft-restore / ip6tables-nft-restore --noflush
 * (fork/exec, the text on stdin, no shell), creation elements.
 */
#include "kernel/ruleset.h"
#include "kernel/nftread.h"
#include "common/fds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/sock_diag.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/util.h"

/* ---- libnftables --------------------------------------------------------- */

/* Trims trailing white space of an allocated message. */
static char *trimmed(const char *s)
{
	char *r = xstrdup(s && *s ? s : "unknown nft error");
	size_t n = strlen(r);
	while (n && (r[n - 1] == '\n' || r[n - 1] == ' '))
		r[--n] = 0;
	return r;
}

static int nft_run(const char *script, bool dry, bool json, char **out,
		   char **err)
{
	/* libnftables exits when it cannot open its netlink socket: out of
	 * descriptors is a transient error here, not the end of sluiced */
	if (!fd_room(NFT_FDS_NEEDED)) {
		if (err)
			*err = xstrdup("out of file descriptors; try again");
		return -1;
	}
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int rc;

	if (!nft) {
		if (err)
			*err = xstrdup("nft_ctx_new failed");
		return -1;
	}
	nft_ctx_set_dry_run(nft, dry);
	if (json)
		nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	rc = nft_run_cmd_from_buffer(nft, script);
	if (rc != 0) {
		if (err)
			*err = trimmed(nft_ctx_get_error_buffer(nft));
	} else if (out) {
		const char *o = nft_ctx_get_output_buffer(nft);
		*out = xstrdup(o ? o : "");
	}
	nft_ctx_free(nft);
	return rc == 0 ? 0 : -1;
}

/* sluiced's committed transactions so far (the read-backs' judge). */
static uint64_t applies;

int nft_apply(const char *script, char **err)
{
	int rc = nft_run(script, false, false, NULL, err);
	if (rc == 0)
		applies++;
	return rc;
}

int nft_apply_as(char *script, char **err, const char *fmt, ...)
{
	char *e = NULL;
	int rc = nft_apply(script, &e);
	free(script);
	if (rc < 0) {
		va_list ap;
		char *what;
		va_start(ap, fmt);
		if (vasprintf(&what, fmt, ap) < 0)
			what = NULL;
		va_end(ap);
		*err = xasprintf("%s: %s", what ? what : "nft", e);
		free(what);
		free(e);
	}
	return rc;
}

char *nft_query(const char *cmd, bool json, char **err)
{
	char *out = NULL;
	if (nft_run(cmd, false, json, &out, err) < 0)
		return NULL;
	return out;
}

/* Used by probe.c: a dry run reaches the kernel, which validates the whole
 * batch and then aborts it. */
int nft_dry_run(const char *script, char **err)
{
	return nft_run(script, true, false, NULL, err);
}

/* ---- running iptables-nft-restore / -save -------------------------------- */

/* In the child, before exec: when sluiced runs as a user with
 * CAP_NET_ADMIN/CAP_NET_RAW (sluiced -u), the tool it runs (iptables-nft)
 * keeps them as ambient capabilities; nothing more. As root, or without
 * them in the inheritable set, it fails harmlessly (EPERM). */
static void keep_netadmin_across_exec(void)
{
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0);
}

/* Execs NAME from /usr/sbin, /sbin, then $PATH. Does not return. */
static void exec_tool(const char *name, char *const argv[])
{
	static const char *const dirs[] = {"/usr/sbin/", "/sbin/",
					   "/usr/bin/"};
	char path[256];
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s%s", dirs[i], name);
		execv(path, argv);
	}
	execvp(name, argv);
	_exit(127);
}

/*
 * Runs ARGV[0] with IN on stdin (may be NULL) and collects stdout into
 * *OUT (when OUT) and stderr into *ERRTXT. Returns the exit status, or -1
 * when the program could not be run.
 */
int run_tool(char *const argv[], const char *in, char **out, char **errtxt)
{
	return run_tool_ex(argv, in, out, errtxt, 0);
}

int run_tool_ex(char *const argv[], const char *in, char **out,
		char **errtxt, unsigned flags)
{
	int pin[2], pout[2], perr[2];
	if (pipe2(pin, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(pout, O_CLOEXEC) < 0) {
		close(pin[0]), close(pin[1]);
		return -1;
	}
	if (pipe2(perr, O_CLOEXEC) < 0) {
		close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
		close(perr[0]), close(perr[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		if ((flags & RUN_NEWNET) && unshare(CLONE_NEWNET) < 0)
			_exit(126);
		keep_netadmin_across_exec();
		exec_tool(argv[0], argv);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);

	struct {
		char *s;
		size_t n;
	} buf[2] = {{NULL, 0}, {NULL, 0}};
	size_t inlen = in ? strlen(in) : 0, inoff = 0;
	int fds[3] = {pin[1], pout[0], perr[0]};
	if (inlen == 0) {
		close(fds[0]);
		fds[0] = -1;
	}
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	while (fds[1] >= 0 || fds[2] >= 0) {
		struct pollfd pf[3];
		for (int i = 0; i < 3; i++)
			pf[i] = (struct pollfd){fds[i],
						i == 0 ? POLLOUT : POLLIN, 0};
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0] >= 0 && pf[0].revents) {
			ssize_t k = write(fds[0], in + inoff, inlen - inoff);
			if (k > 0)
				inoff += (size_t)k;
			if (k < 0 || inoff == inlen) {
				close(fds[0]);
				fds[0] = -1;
			}
		}
		for (int i = 1; i < 3; i++) {
			if (fds[i] < 0 || !pf[i].revents)
				continue;
			char tmp[4096];
			ssize_t k = read(fds[i], tmp, sizeof(tmp));
			if (k <= 0) {
				close(fds[i]);
				fds[i] = -1;
				continue;
			}
			buf[i - 1].s = xrealloc(buf[i - 1].s,
						buf[i - 1].n + (size_t)k + 1);
			memcpy(buf[i - 1].s + buf[i - 1].n, tmp, (size_t)k);
			buf[i - 1].n += (size_t)k;
			buf[i - 1].s[buf[i - 1].n] = 0;
		}
	}
	if (fds[0] >= 0)
		close(fds[0]);
	signal(SIGPIPE, old);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = buf[0].s ? buf[0].s : xstrdup("");
	else
		free(buf[0].s);
	if (errtxt)
		*errtxt = buf[1].s ? buf[1].s : xstrdup("");
	else
		free(buf[1].s);
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
}

static const char *restore_tool(int family)
{
	return family == AF_INET6 ? "ip6tables-nft-restore"
				  : "iptables-nft-restore";
}

/* The current filter table of FAMILY as iptables-save text ("" when there
 * is none). */
static char *xt_save(int family)
{
	char *argv[] = {(char *)(family == AF_INET6 ? "ip6tables-nft-save"
						   : "iptables-nft-save"),
			(char *)"-t", (char *)"filter", NULL};
	char *out = NULL, *e = NULL;
	int rc = run_tool(argv, NULL, &out, &e);
	free(e);
	if (rc != 0) { /* no filter table yet, or no tool: nothing saved */
		free(out);
		return xstrdup("");
	}
	return out;
}

/* Feeds TEXT to the restore tool of FAMILY with --noflush. */
static int xt_restore(int family, const char *text, char **err)
{
	char *argv[] = {(char *)restore_tool(family), (char *)"--noflush",
			NULL};
	char *e = NULL;
	int rc = run_tool(argv, text, NULL, &e);
	if (rc != 0) {
		if (err)
			*err = xasprintf("%s --noflush failed (%s%d): %s",
					 argv[0], rc < 0 ? "cannot run, " : "exit ",
					 rc, e && *e ? e : "no message");
		free(e);
		return -1;
	}
	free(e);
	return 0;
}

/* ---- install / remove ------------------------------------------------------ */

/* For IPv4 then IPv6: reads the filter table, asks GEN for the
 * iptables-restore text that takes it where it should be (NULL: nothing to
 * do), and applies it. 0, or -1 with *ERR. */
static int xt_apply(const struct ruleset_opts *o, char **err,
		    char *(*gen)(const struct ruleset_opts *, int, const char *))
{
	static const int fams[2] = {AF_INET, AF_INET6};
	for (int i = 0; i < 2; i++) {
		char *cur = xt_save(fams[i]);
		char *text = gen(o, fams[i], cur);
		int rc = text ? xt_restore(fams[i], text, err) : 0;
		free(cur);
		free(text);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* What this process last put in the kernel, while it is known to be
 * there; NULL before the first install, after a remove or fail-closed
 * stop, and before a repair (another program changed it). Main thread
 * only (every caller of the installers is).
 *   installed_nft: the nft text (ruleset_nft()) of the table;
 *   installed_xt: ruleset_xt() of IPv4 and IPv6, the xt part as applied. */
static char *installed_nft, *installed_xt;

static void installed_xt_forget(void)
{
	free(installed_xt);
	installed_xt = NULL;
}

static void fingerprint_forget(void);
struct wmark;
static void fingerprint_take(const struct ruleset_opts *o,
			     const struct wmark *before);

/* Another process's change seen on the events (ruleset_foreign_change);
 * cleared when a repair has replaced the table, or it is removed (a failed
 * repair keeps it: the next check tries again). Main thread only. */
static struct foreign_state {
	bool set;
	char who[128];
} foreign;

void ruleset_foreign_change(const char *who)
{
	if (!foreign.set) /* the first names the incident */
		snprintf(foreign.who, sizeof(foreign.who), "%s", who);
	foreign.set = true;
}

/*
 * The read-back after a write of sluiced's is the table as sluiced left
 * it only if no other transaction was committed in between. Every commit,
 * of any process and any table, raises the kernel's ruleset generation by
 * one: the generation read before the write (a wmark) and the one at the
 * end of the read-back tell. One apart, and one commit of sluiced's: the
 * read-back is sure. Otherwise another program committed in between
 * (commonly to a table of its own), and the window (before, read-back]
 * stays open until the ruleset watch's events have told, for each of its
 * generations in turn, whether that transaction touched the table
 * (ruleset_event_gen; observe.c names the process of each too). The
 * window held another program's change, and the table is damaged
 * (ruleset_foreign_change), when more of its transactions touched the
 * table than sluiced made, or when any of its events may be lost: a
 * generation skipped, ENOBUFS (ruleset_events_lost), or the event
 * socket's drop count (SO_MEMINFO) moved between the write and the
 * window's end (the kernel reports ENOBUFS once per congestion, not per
 * event lost). Main thread only.
 */
static struct {
	bool open;
	uint16_t from, until; /* generations (from, until] */
	uint16_t next;	      /* the next one to hear */
	unsigned ours;	      /* sluiced's commits in it */
	unsigned touched;     /* commits that touched the table, as heard */
	uint64_t counted;     /* `applies` counted into ours */
	bool have_drops;
	uint32_t drops; /* the event socket's drops when it opened */
} window;

/* The ruleset watch's event socket (ruleset_watch_socket), or -1. */
static int watch_fd = -1;

void ruleset_watch_socket(int fd)
{
	watch_fd = fd;
}

/* The event socket's drop count (SK_MEMINFO_DROPS); false without one. */
static bool watch_drops(uint32_t *drops)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);
	if (watch_fd < 0 ||
	    getsockopt(watch_fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0 ||
	    len < sizeof(mi[0]) * (SK_MEMINFO_DROPS + 1))
		return false;
	*drops = mi[SK_MEMINFO_DROPS];
	return true;
}

/* Where things stood before a write of sluiced's. */
struct wmark {
	bool have; /* gen known */
	uint16_t gen;
	bool have_drops;
	uint32_t drops;
	uint64_t applies;
};

/* The mark now. */
static struct wmark wmark_now(void)
{
	struct wmark m = {.applies = applies};
	uint32_t v = 0;
	m.have = nftread_genid(&v) == 0;
	m.gen = (uint16_t)v;
	m.have_drops = watch_drops(&m.drops);
	return m;
}

static void installed_forget(void)
{
	free(installed_nft);
	installed_nft = NULL;
	fingerprint_forget();
	installed_xt_forget();
}

/* The xt part O gives, both families (what installed_xt holds). */
static char *xt_key(const struct ruleset_opts *o)
{
	char *x4 = ruleset_xt(o, AF_INET), *x6 = ruleset_xt(o, AF_INET6);
	char *key = xasprintf("%s\n%s", x4 ? x4 : "", x6 ? x6 : "");
	free(x4);
	free(x6);
	return key;
}

/* Applies the xt part of O, unless it is the one this process applied
 * last (installed_xt): then it is left as it is, without the four
 * iptables-nft forks (save and restore per family; 40–390 ms on a busy
 * host) — another program's change to it is the ruleset watch's to repair
 * (ruleset_check/ruleset_repair), which hears it on the netlink events. */
static int xt_install(const struct ruleset_opts *o, char **err)
{
	char *key = xt_key(o);
	if (installed_xt && strcmp(installed_xt, key) == 0) {
		free(key);
		return 0;
	}
	installed_xt_forget();
	if (xt_apply(o, err, ruleset_xt_from) < 0) {
		free(key);
		return -1;
	}
	installed_xt = key;
	return 0;
}

static int xt_remove(const struct ruleset_opts *o, char **err)
{
	installed_xt_forget();
	return xt_apply(o, err, ruleset_xt_remove);
}

/* Applies P's table: as an update of the installed one when there is one
 * (ruleset_nft_update(): the ct timeout object stays), else, or when the
 * update fails (the kernel's table is not what this process installed),
 * as a replacement. 0, or -1 with nft's message in *ERR. */
static int nft_install(const struct policy *p, const struct ruleset_opts *o,
		       char **err)
{
	char *script = ruleset_nft(p, o), *e = NULL;
	struct wmark mark = wmark_now();
	char *update = installed_nft
			       ? ruleset_nft_update(script, o, installed_nft)
			       : NULL;
	int rc = update ? nft_apply(update, &e) : -1;
	char *update_err = e;
	bool refused = update && rc < 0;
	e = NULL;
	if (rc < 0)
		rc = nft_apply(script, &e);
	if (rc == 0 && refused)
		log_warnx("nft: the update of table inet %s failed (%s); "
			  "replaced it whole", o->table, update_err);
	free(update);
	free(update_err);
	if (rc < 0) {
		free(script);
		*err = e;
		return -1;
	}
	free(installed_nft);
	installed_nft = script;
	fingerprint_take(o, &mark);
	return 0;
}

static uint64_t installs; /* ruleset_installs() */

uint64_t ruleset_installs(void)
{
	return installs;
}

int ruleset_install(const struct policy *p, const struct ruleset_opts *o,
		    char **err)
{
	/* The xt part depends only on the queue settings, not on the policy:
	 * install it first, so that a failure there leaves the running nft
	 * table untouched, and a failure of the nft transaction (atomic)
	 * leaves an xt part identical to the running one. */
	if (!o->nft_queue && xt_install(o, err) < 0)
		return -1;
	char *e = NULL;
	if (nft_install(p, o, &e) < 0) {
		*err = xasprintf("nft rejected the ruleset (the old one stays): "
				 "%s", e);
		free(e);
		return -1;
	}
	installs++;
	if (o->nft_queue)
		return xt_remove(o, err); /* a leftover xt part would queue twice */
	return 0;
}

int ruleset_remove(const struct ruleset_opts *o, char **err)
{
	installed_forget();
	foreign.set = false;
	window.open = false;
	char *script = xasprintf("table inet %s {}\ndelete table inet %s\n",
				 o->table, o->table);
	if (nft_apply_as(script, err, "cannot delete table inet %s",
			 o->table) < 0)
		return -1;
	return xt_remove(o, err);
}

int ruleset_leave_fail_closed(const struct ruleset_opts *o, char **err)
{
	static const char *const ch[] = {"forward", "input", "output"};
	uint32_t dm = rs_mark(o, 3, 0);
	char *script = xstrdup("");

	installed_forget(); /* the process ends; the next start replaces */
	for (size_t i = 0; i < ARRAY_SIZE(ch); i++) {
		char *s = xasprintf("%sflush chain inet %s rules_%s\n"
				    "add rule inet %s rules_%s counter drop "
				    "comment \"sluiced stopped: new sessions "
				    "fail closed\"\n",
				    script, o->table, ch[i], o->table, ch[i]);
		free(script);
		script = s;
	}
	/* creation elements and published servers admit new sessions too */
	char *s = xasprintf("%sflush chain inet %s decide_new\n"
			    "flush chain inet %s queue_bypassed\n"
			    "add rule inet %s queue_bypassed meta mark & "
			    "0x%08x == 0x%08x counter drop comment \"sluiced "
			    "stopped: fail closed\"\n",
			    script, o->table, o->table, o->table, dm, dm);
	free(script);
	if (nft_apply_as(s, err, "cannot make table inet %s fail closed",
			 o->table) < 0)
		return -1;
	return xt_remove(o, err);
}

/* ---- the ruleset watch (ruleset.h) ----------------------------------------- */

/*
 * The nft side, read in one netlink dump of the table's rules (nftread.h;
 * a listing through libnftables, as this was, fetched the elements of
 * every set in the table for each chain it listed, which under a flood
 * from 65,000 sources is 65,000 per meter):
 *  - the table is not dormant (`flags dormant` unhooks every chain: the
 *    table filters nothing);
 *  - the base chains and `decided` hold the rules that lead into sluice's
 *    decisions (nft_wanted);
 *  - every chain's rules are the ones this process wrote last: a digest
 *    per chain (each rule's chain and what it does, in order) is taken
 *    right after sluiced's install or update (fingerprint_take), and for
 *    one chain after sluiced rewrites it while it runs
 *    (ruleset_fingerprint_chain: a published server's pub_* chain when a
 *    farm member goes up or down, flood_tcp4/6 when tcp-half-open's lookup
 *    goes in or out), so a rule another program inserts (an `accept` at
 *    the top of `forward`, a verdict map in flood_tcp4, a chain of its
 *    own hooked into the table), deletes or replaces is seen;
 *  - the flood exceptions (flood_exceptions4/6, from the policy: a source
 *    in them is never limited) hold what was installed.
 * The table gone (or unreadable) fails; a flushed table shows as chains
 * without their rules. The other sets' elements are not compared: the
 * meters and memories change with every packet, the creation elements
 * are anyone's with the admin level (sluicectl creations).
 */
static const struct {
	const char *chain;
	int verdict;
	const char *target; /* NULL for a verdict without one */
} nft_wanted[] = {{"forward", NFT_JUMP, "decided"},
		  {"input", NFT_JUMP, "decided"},
		  {"output", NFT_JUMP, "decided"},
		  {"decided", NFT_GOTO, "decide_new"},
		  {"queue_bypassed", NF_DROP, NULL},
		  {"forward_post", NFT_JUMP, "queue_bypassed"},
		  {"input_post", NFT_JUMP, "queue_bypassed"},
		  {"output_post", NFT_JUMP, "queue_bypassed"}};

/* One chain's rules: their digest, in order, and how many. */
struct chain_fp {
	char name[NFT_CHAIN_MAXNAMELEN];
	uint64_t digest;
	size_t rules;
};

/* What one read of the table found. */
struct nft_found {
	unsigned bits;	  /* which of nft_wanted */
	uint32_t flags;	  /* the table's */
	struct chain_fp *v; /* each chain with rules, in the dump's order */
	size_t n;
	uint64_t exceptions; /* flood_exceptions4/6's elements */
	const char *keep;    /* a chain whose rules' digests are kept, or NULL */
	uint64_t *kv;	     /* its rules' digests, in order */
	size_t kn;
};

/* The table as this process left it (fingerprint_take); unset before the
 * first install and after a remove or a repair's start. Main thread only,
 * as installed_nft. */
static struct {
	bool set;
	struct nft_found f;
} fingerprint;

static void found_clear(struct nft_found *f)
{
	free(f->v);
	free(f->kv);
	*f = (struct nft_found){0};
}

/* A read-back that failed after a write of sluiced's (fingerprint_take),
 * with the mark of that write: taken again at the next check, judged from
 * that mark (whatever came since is in its window). Main thread only. */
static struct {
	bool set;
	struct wmark mark;
} pending;

static void fingerprint_forget(void)
{
	found_clear(&fingerprint.f);
	fingerprint.set = false;
	pending.set = false;
}

static void found_reset(void *ctx, uint64_t handle, uint32_t flags)
{
	struct nft_found *f = ctx; /* a retried read starts over */
	const char *keep = f->keep;
	found_clear(f);
	f->flags = flags;
	f->keep = keep;
}

static void found_verdict(void *ctx, const char *chain, int verdict,
			  const char *target)
{
	struct nft_found *f = ctx;
	for (size_t i = 0; i < ARRAY_SIZE(nft_wanted); i++)
		if (nft_wanted[i].verdict == verdict &&
		    strcmp(nft_wanted[i].chain, chain) == 0 &&
		    (!nft_wanted[i].target ||
		     (target && strcmp(nft_wanted[i].target, target) == 0)))
			f->bits |= 1u << i;
}

static void found_rule(void *ctx, const char *chain, uint64_t digest)
{
	struct nft_found *f = ctx;
	/* a chain's rules come together in the dump */
	if (!f->n || strcmp(f->v[f->n - 1].name, chain) != 0) {
		struct chain_fp c = {.digest = hash_str(chain)};
		snprintf(c.name, sizeof(c.name), "%s", chain);
		VEC_PUSH(f->v, f->n, c);
	}
	struct chain_fp *c = &f->v[f->n - 1];
	if (f->keep && strcmp(f->keep, chain) == 0)
		VEC_PUSH(f->kv, f->kn, digest);
	uint64_t v[2] = {c->digest, digest};
	c->digest = hash_bytes(v, sizeof(v));
	c->rules++;
}

static void found_exception(void *ctx, const struct nftread_elem *e)
{
	uint64_t *d = ctx;
	uint64_t v[2] = {*d, hash_bytes(e->key, e->len)};
	*d = hash_bytes(v, sizeof(v));
}

static int chain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct chain_fp *)a)->name,
		      ((const struct chain_fp *)b)->name);
}

/* Reads table inet O->table into *F (its chains sorted by name; free with
 * found_clear), and the digest of each rule of chain KEEP (NULL: none)
 * into F->kv; false when it cannot be read. */
static bool nft_read_keep(const struct ruleset_opts *o, const char *keep,
			  struct nft_found *f)
{
	const struct nftread_ops ops = {.table = found_reset,
					.verdict = found_verdict,
					.rule_digest = found_rule};
	*f = (struct nft_found){.keep = keep};
	if (nftread_table(o->table, &ops, f) < 0) {
		found_clear(f);
		return false;
	}
	qsort(f->v, f->n, sizeof(*f->v), chain_cmp);
	for (int fam = 4; fam <= 6; fam += 2) {
		char set[32];
		snprintf(set, sizeof(set), "flood_exceptions%d", fam);
		int n = nftread_set_elems(o->table, set, found_exception,
					  &f->exceptions);
		if (n < 0 && errno != ENOENT) { /* ENOENT: no flood limits */
			found_clear(f);
			return false;
		}
		uint64_t v[2] = {f->exceptions, (uint64_t)(n < 0 ? -1 : n)};
		f->exceptions = hash_bytes(v, sizeof(v));
	}
	return true;
}

static bool nft_read(const struct ruleset_opts *o, struct nft_found *f)
{
	return nft_read_keep(o, NULL, f);
}

/* How far behind the window an event's generation may be (events of
 * commits made before the write, still queued) before it means the
 * 16-bit counter went round while events were lost. */
#define WINDOW_BEHIND 4096

/* True when the event socket dropped messages since the window opened. */
static bool window_dropped(void)
{
	uint32_t d;
	return window.have_drops && watch_drops(&d) && d != window.drops;
}

/* Closes the window; LOST: some of its events may be lost. */
static void window_close(bool lost)
{
	window.open = false;
	if (lost || window_dropped())
		ruleset_foreign_change("another process, whose commit came "
				       "between sluiced's write and its "
				       "read-back (events lost)");
}

/* Judges a read-back that just ended, after a write of sluiced's that
 * started at M: the generation now bounds what the read can hold. */
static void readback_judge(const struct wmark *m)
{
	uint32_t now;
	if (!m->have || nftread_genid(&now) < 0) { /* what came between? */
		ruleset_foreign_change("another process, maybe: the ruleset "
				       "generation around sluiced's write "
				       "could not be read");
		return;
	}
	uint16_t gen = (uint16_t)now;
	if (!window.open && gen == (uint16_t)(m->gen + 1) &&
	    applies == m->applies + 1)
		return; /* sluiced's commit alone */
	if (!window.open && gen == m->gen)
		return; /* nothing committed at all */
	if (!window.open) {
		window = (typeof(window)){.open = true,
					  .from = m->gen,
					  .next = (uint16_t)(m->gen + 1),
					  .counted = m->applies,
					  .have_drops = m->have_drops,
					  .drops = m->drops};
	}
	window.until = gen; /* (merged: the later read-back) */
	uint64_t since = m->applies > window.counted ? m->applies
						      : window.counted;
	window.ours += (unsigned)(applies - since);
	window.counted = applies;
	log_debug("nft: the read-back after sluiced's write ended at "
		  "generation %u, the write began at %u: the events will tell "
		  "whose the others are", (unsigned)gen, (unsigned)m->gen);
}

void ruleset_event_gen(uint32_t gen, bool touched)
{
	if (!window.open)
		return;
	int16_t d = (int16_t)(uint16_t)((uint16_t)gen - window.next);
	if (d < 0 && d > -WINDOW_BEHIND)
		return; /* before the window */
	if (d != 0) { /* one of it never heard, or far behind: the counter */
		window_close(true); /* went round while events were lost */
		return;
	}
	if (touched && ++window.touched > window.ours) {
		window.open = false;
		ruleset_foreign_change("another process, whose commit came "
				       "between sluiced's write and its "
				       "read-back");
		return;
	}
	if (window.next++ == window.until)
		window_close(false); /* every commit of it heard */
}

void ruleset_events_lost(void)
{
	if (window.open)
		window_close(true);
}

/* Takes the table as this process just left it; when it cannot be read,
 * nothing (the check then looks for nft_wanted only, and this says so). */
static void fingerprint_take(const struct ruleset_opts *o,
			     const struct wmark *before)
{
	fingerprint_forget();
	fingerprint.set = nft_read(o, &fingerprint.f);
	if (fingerprint.set) {
		readback_judge(before);
		return;
	}
	pending.set = true;
	pending.mark = *before;
	log_warnx("nft: table inet %s not read after sluiced's write (%s): "
		  "read again at the next check", o->table, strerror(errno));
}

/* CHAIN's entry in F (sorted), or NULL when it has no rules there. */
static struct chain_fp *chain_find(const struct nft_found *f, const char *chain)
{
	struct chain_fp key = {0};
	snprintf(key.name, sizeof(key.name), "%s", chain);
	return bsearch(&key, f->v, f->n, sizeof(*f->v), chain_cmp);
}

struct chain_rules {
	bool unread; /* the read failed: the rules are not known */
	uint64_t *v; /* each rule's digest, in order */
	size_t n;
	struct wmark mark; /* before the rewrite (after the read) */
};

struct chain_rules *ruleset_chain_before(const struct ruleset_opts *o,
					 const char *chain)
{
	struct nft_found now;
	if (!fingerprint.set)
		return NULL;
	if (!nft_read_keep(o, chain, &now)) { /* busy or gone: cannot tell */
		struct chain_rules *r = xcalloc(1, sizeof(*r));
		r->unread = true;
		r->mark = wmark_now();
		return r;
	}
	const struct chain_fp *got = chain_find(&now, chain);
	const struct chain_fp *had = chain_find(&fingerprint.f, chain);
	struct chain_rules *r = NULL;
	if (got && had ? got->digest == had->digest && got->rules == had->rules
		       : !got && !had) {
		r = xcalloc(1, sizeof(*r));
		r->v = now.kv;
		r->n = now.kn;
		r->mark = wmark_now();
		now.kv = NULL;
	}
	found_clear(&now);
	return r;
}

void ruleset_chain_rules_free(struct chain_rules *r)
{
	if (r)
		free(r->v);
	free(r);
}

/* True when B (BN rules) is A (AN rules) with one rule inserted at one
 * place, the others in their order. */
static bool one_rule_more(const uint64_t *a, size_t an, const uint64_t *b,
			  size_t bn)
{
	if (bn != an + 1)
		return false;
	size_t i = 0;
	while (i < an && a[i] == b[i])
		i++;
	return an == i || memcmp(a + i, b + i + 1, (an - i) * sizeof(*a)) == 0;
}

/* True when the rules read after sluiced's rewrite of a chain (NOW) are
 * what it wrote: WANT rules, or with DELTA the chain's rules before the
 * rewrite (B, unless unread) with DELTA rules inserted or removed. */
static bool rewrite_as_written(const struct chain_rules *b,
			       const struct nft_found *now, int delta,
			       size_t want)
{
	if (!delta)
		return now->kn == want;
	if (b->unread) /* cannot tell: taken, as before this check */
		return true;
	if (b->n == now->kn && /* written as it was (a stale lookup_off) */
	    (!b->n || !memcmp(b->v, now->kv, b->n * sizeof(*b->v))))
		return true;
	return delta > 0 ? one_rule_more(b->v, b->n, now->kv, now->kn)
			 : one_rule_more(now->kv, now->kn, b->v, b->n);
}

void ruleset_fingerprint_chain(const struct ruleset_opts *o,
			       const char *chain, struct chain_rules *before,
			       int delta, size_t want)
{
	struct nft_found now = {0};
	if (!before || !fingerprint.set || !nft_read_keep(o, chain, &now))
		goto out; /* the check will find the chain changed or gone */
	readback_judge(&before->mark);
	if (!rewrite_as_written(before, &now, delta, want)) {
		log_debug("nft: chain %s: %zu rules after sluiced's rewrite, "
			  "not what it wrote: another program's change, left "
			  "to the ruleset check", chain, now.kn);
		goto out;
	}
	struct nft_found *f = &fingerprint.f;
	const struct chain_fp *got = chain_find(&now, chain);
	struct chain_fp *had = chain_find(f, chain);
	if (had && got) {
		*had = *got;
	} else if (had) { /* emptied */
		memmove(had, had + 1,
			(size_t)(f->v + f->n - (had + 1)) * sizeof(*had));
		f->n--;
	} else if (got) {
		VEC_PUSH(f->v, f->n, *got);
		qsort(f->v, f->n, sizeof(*f->v), chain_cmp);
	}
out:
	found_clear(&now);
	ruleset_chain_rules_free(before);
}

int ruleset_adopt_close(const struct ruleset_opts *o, char **err)
{
	static const char *const ch[] = {"adopt_forward", "adopt_input",
					 "adopt_output"};
	struct chain_rules *before[ARRAY_SIZE(ch)] = {NULL};
	bool empty = installed_nft;
	char *script = xstrdup("");
	for (size_t i = 0; i < ARRAY_SIZE(ch); i++) {
		/* each chain as sluiced left it, or NULL: another program's
		 * change, which the check finds (the rest of the table is not
		 * taken again: a change there stays one) */
		if (installed_nft)
			before[i] = ruleset_chain_before(o, ch[i]);
		empty = empty && before[i] && !before[i]->unread &&
			!before[i]->n;
		char *s = xasprintf("%sflush chain inet %s %s\n", script,
				    o->table, ch[i]);
		free(script);
		script = s;
	}
	int rc = 0;
	if (empty) /* nothing to commit: a commit racing this one would */
		free(script); /* be taken for it */
	else
		rc = nft_apply_as(script, err, "cannot end adoption in table "
				  "inet %s", o->table);
	for (size_t i = 0; i < ARRAY_SIZE(ch); i++) {
		if (rc == 0 && !empty) /* emptied: ours */
			ruleset_fingerprint_chain(o, ch[i], before[i], 0, 0);
		else
			ruleset_chain_rules_free(before[i]);
	}
	return rc;
}

/* Checks in a row whose read another program's changes kept
 * interrupting (nftread_table's EAGAIN, an interrupted dump of the flood
 * exceptions' EINTR), and how many are let pass as
 * "cannot tell yet" before one counts as damage: a firewall manager
 * committing many transactions (Docker, firewalld) is not tampering,
 * and the events of its changes schedule the next check anyway. */
static unsigned busy_reads;
#define BUSY_READS_MAX 5

static bool nft_intact(const struct ruleset_opts *o)
{
	struct nft_found f;
	if (pending.set && installed_nft) { /* the read-back, late */
		struct wmark m = pending.mark;
		fingerprint_take(o, &m);
	}
	if (!nft_read(o, &f)) {
		if ((errno == EAGAIN || errno == EINTR) &&
		    ++busy_reads < BUSY_READS_MAX)
			return true;
		busy_reads = 0;
		return false;
	}
	busy_reads = 0;
	bool ok = !(f.flags & NFT_TABLE_F_DORMANT) &&
		  f.bits == (1u << ARRAY_SIZE(nft_wanted)) - 1;
	if (ok && fingerprint.set) {
		const struct nft_found *w = &fingerprint.f;
		ok = f.n == w->n && f.exceptions == w->exceptions;
		for (size_t i = 0; ok && i < f.n; i++)
			ok = !strcmp(f.v[i].name, w->v[i].name) &&
			     f.v[i].digest == w->v[i].digest &&
			     f.v[i].rules == w->v[i].rules;
	}
	found_clear(&f);
	return ok;
}

/* "table inet T, iptables SLUICE chain/jumps, ..." for what is missing. */
static char *missing_text(const struct ruleset_opts *o, bool nft,
			  const bool xt_bad[2])
{
	static const char *const xt_name[2] = {"iptables", "ip6tables"};
	char *acc = !nft	   ? xstrdup("")
		    : foreign.set ? xasprintf("table inet %s (changed by %s)",
					      o->table, foreign.who)
				  : xasprintf("table inet %s", o->table);
	for (int i = 0; i < 2; i++) {
		if (!xt_bad[i])
			continue;
		char *s = xasprintf("%s%s%s SLUICE chain/jumps", acc,
				    *acc ? ", " : "", xt_name[i]);
		free(acc);
		acc = s;
	}
	return acc;
}

unsigned ruleset_check(const struct ruleset_opts *o, char **what)
{
	static const int fams[2] = {AF_INET, AF_INET6};
	unsigned missing = 0;
	bool xt_bad[2] = {false, false};

	if (window.open && window_dropped()) /* none since to close it */
		window_close(true);
	if (foreign.set || !nft_intact(o))
		missing |= RS_MISSING_NFT;
	for (int i = 0; i < 2 && !o->nft_queue; i++) {
		char *cur = xt_save(fams[i]);
		xt_bad[i] = !ruleset_xt_intact(o, cur);
		if (xt_bad[i])
			missing |= RS_MISSING_XT;
		if (xt_bad[i] && ruleset_xt_emptied(o, cur))
			missing |= RS_XT_EMPTIED;
		free(cur);
	}
	if (what)
		*what = missing ? missing_text(o, missing & RS_MISSING_NFT,
					       xt_bad)
				: NULL;
	return missing;
}

int ruleset_repair(const struct policy *p, const struct ruleset_opts *o,
		   unsigned missing, char **err)
{
	if (missing & RS_MISSING_NFT) {
		installed_forget(); /* damaged by another program: replace */
		struct foreign_state was = foreign;
		foreign.set = false; /* the install's own judge may set it */
		int rc = ruleset_install(p, o, err);
		if (rc < 0)
			foreign = was; /* still damaged: the next check again */
		return rc;
	}
	if ((missing & RS_MISSING_XT) && !o->nft_queue) {
		installed_xt_forget(); /* damaged: apply it again */
		return xt_install(o, err);
	}
	return 0;
}

/* ---- creation elements ------------------------------------------------------- */

/* The element text "[saddr . ]daddr . proto . dport" and its set name;
 * -1 with *err on bad input (checked here: the text goes into nft). */
static int creation_key(const struct ruleset_opts *o, int family,
			const char *daddr, const char *proto, uint16_t dport,
			const char *saddr, char **set, char **key, char **err)
{
	unsigned char raw[16];
	if (family != AF_INET && family != AF_INET6) {
		*err = xstrdup("creation: family must be AF_INET or AF_INET6");
		return -1;
	}
	if (!daddr || inet_pton(family, daddr, raw) != 1 ||
	    (saddr && inet_pton(family, saddr, raw) != 1)) {
		*err = xasprintf("creation: bad %s address",
				 family == AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	if (!proto || (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)) {
		*err = xstrdup("creation: protocol must be tcp or udp");
		return -1;
	}
	*set = xasprintf("inet %s creations%c%s", o->table,
			 family == AF_INET ? '4' : '6', saddr ? "s" : "");
	if (saddr)
		*key = xasprintf("%s . %s . %s . %u", saddr, daddr, proto,
				 dport);
	else
		*key = xasprintf("%s . %s . %u", daddr, proto, dport);
	return 0;
}

/* Applies "VERB element SET { KEY TAIL }" for one creation entry; WHO
 * names the caller in *ERR. 0, or -1 with *ERR (the caller frees it). */
static int creation_apply(const struct ruleset_opts *o, const char *verb,
			  const char *who, int family, const char *daddr,
			  const char *proto, uint16_t dport, const char *saddr,
			  const char *tail, char **err)
{
	char *set, *key;
	if (creation_key(o, family, daddr, proto, dport, saddr, &set, &key,
			 err) < 0)
		return -1;
	char *cmd = xasprintf("%s element %s { %s%s }\n", verb, set, key, tail);
	int rc = nft_apply_as(cmd, err, "%s %s", who, key);
	free(set);
	free(key);
	return rc;
}

int creation_add(const struct ruleset_opts *o, int family, const char *daddr,
		 const char *proto, uint16_t dport, const char *saddr,
		 uint32_t timeout_s, char **err)
{
	char tail[32];
	snprintf(tail, sizeof(tail), " timeout %us", timeout_s ? timeout_s : 1);
	return creation_apply(o, "add", "creation_add", family, daddr, proto,
			      dport, saddr, tail, err);
}

int creation_del(const struct ruleset_opts *o, int family, const char *daddr,
		 const char *proto, uint16_t dport, const char *saddr,
		 char **err)
{
	return creation_apply(o, "delete", "creation_del", family, daddr,
			      proto, dport, saddr, "", err);
}

char *creation_list_json(const struct ruleset_opts *o, char **err)
{
	static const char *const sets[] = {"creations4", "creations6",
					   "creations4s", "creations6s"};
	char *acc = xstrdup("{");
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		char *cmd = xasprintf("list set inet %s %s", o->table, sets[i]);
		char *e = NULL, *js = nft_query(cmd, true, &e);
		free(cmd);
		if (!js) {
			*err = xasprintf("cannot list %s: %s", sets[i], e);
			free(e);
			free(acc);
			return NULL;
		}
		size_t n = strlen(js);
		while (n && (js[n - 1] == '\n' || js[n - 1] == ' '))
			js[--n] = 0;
		char *s = xasprintf("%s%s\"%s\": %s", acc, i ? ", " : "",
				    sets[i], n ? js : "null");
		free(acc);
		free(js);
		acc = s;
	}
	char *s = xasprintf("%s}\n", acc);
	free(acc);
	return s;
}
