/*
 * sluiced — the sluice decision service.
 *
 *   sluiced -c FILE [-f] [-s SOCKET] [-u USER] [-v]
 *
 * Loads and checks the policy, opens its NFQUEUE queues (one worker thread
 * each), installs the kernel ruleset, and serves the control socket. SIGHUP
 * reloads; SIGTERM/SIGINT stop cleanly (rules removed, or left fail-closed
 * as `queue { on-exit }` says). A restart after kill -9 replaces whatever
 * the dead daemon left. A second sluiced in the same network namespace is
 * refused before it touches the kernel (instance.h).
 */
#include "sluiced/daemon.h"
#include "common/log.h"
#include "common/util.h"
#include "control/control.h"
#include "decide/sessions.h"
#include "identity/idtable.h"
#include "queue/worker.h"
#include "sluiced/lookups.h"
#include "sluiced/farms.h"
#include "sluiced/instance.h"
#include "sluiced/privdrop.h"
#include "stats/fwlog.h"
#include "sluiced/dnsfilter.h"
#include "sluiced/ftpfilter.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SESSIONS_REMEMBERED 65536

static struct gen *env_current(void *ctx)
{
	struct daemon *d = ctx;
	pthread_mutex_lock(&d->gen_lock);
	struct gen *g = gen_ref(d->gen);
	pthread_mutex_unlock(&d->gen_lock);
	return g;
}

static void env_decided(void *ctx, const struct session_key *k,
			const struct gen *g, int rule,
			const struct session_facts *f)
{
	struct daemon *d = ctx;
	if (!f || (f->source == IDSRC_NONE && !f->name))
		return; /* header-decided: conntrack knows all there is */
	sessions_put(d->sessions, k, rule, g->id, time(NULL), f);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	if (sig == SIGUSR1) {
		if (d->fwlog)
			fwlog_reopen(d->fwlog); /* after logrotate */
	} else if (sig == SIGHUP) {
		log_info("SIGHUP: reloading %s", d->config_path);
		sd_notify(0, "RELOADING=1");
		daemon_reload(d, NULL);
		sd_notify(0, "READY=1");
	} else {
		log_info("signal %d: stopping", (int)sig);
		event_base_loopbreak(d->base);
	}
}

/* The local UTC offset in minutes now. */
static int32_t utc_offset_now(void)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	return (int32_t)(tm.tm_gmtoff / 60);
}

static void on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	daemon_adopt_recheck(d);
	size_t n = idtable_expire(d->ids);
	if (n)
		log_debug("%zu identities expired", n);
	idsources_save(d, false);
	/* kernel schedules are in UTC: a daylight-saving change needs the
	 * ruleset generated again */
	if (utc_offset_now() != d->kopts.utc_offset_min) {
		struct ruleset_opts o = d->kopts;
		daemon_kernel_opts(d, d->gen->policy);
		char *err = NULL;
		if (ruleset_install(d->gen->policy, &d->kopts, &err) < 0) {
			log_warnx("UTC offset changed; regenerating the ruleset "
				  "failed: %s", err);
			d->kopts = o;
		} else {
			log_info("UTC offset changed to %+d min: schedules "
				 "regenerated", d->kopts.utc_offset_min);
		}
		free(err);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: sluiced -c FILE [-f] [-s SOCKET] [-u USER] [-v]\n"
			"       sluiced --remove-ruleset [-s SOCKET] [-u USER]\n"
			"  -c FILE    policy (sluice.conf(5))\n"
			"  -f         stay in the foreground, log to stderr\n"
			"  -s SOCKET  control socket (default %s)\n"
			"  -u USER    after setup run as USER with CAP_NET_ADMIN "
			"and CAP_NET_RAW only\n"
			"  --dns-rt-priority N  the DNS filter's thread runs "
			"SCHED_FIFO at N (1..99)\n"
			"  -v         more logging\n"
			"  --remove-ruleset  remove what a stopped sluiced left "
			"in the kernel\n"
			"             (table, xt chains, ICMP timeouts) and exit\n",
		SLUICE_SOCKET);
	exit(2);
}

/* True when something accepts connections on the unix socket PATH (a
 * running sluiced); only connects, sends nothing. */
static bool socket_alive(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool up = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return up;
}

/*
 * `sluiced --remove-ruleset`: what an administrator runs to take sluice
 * out of the kernel after a stop that left the gateway fail-closed (the
 * default `on-exit`), or after kill -9: deletes table inet sluice, the
 * SLUICE chains and their jumps, and puts back the ICMP timeouts kept in
 * the state file next to SOCKET. Refuses while a sluiced answers on SOCKET
 * or runs anywhere in this network namespace (its ruleset would be pulled
 * from under it). Returns the exit status.
 */
static int remove_ruleset(struct daemon *d)
{
	if (socket_alive(d->socket_path)) {
		fprintf(stderr, "sluiced: a sluiced is running on %s; stop it "
				"first\n", d->socket_path);
		return 1;
	}
	char who[512];
	if (instance_running(who, sizeof(who))) {
		fprintf(stderr, "sluiced: a sluiced is running in this network "
				"namespace (%s); stop it first\n", who);
		return 1;
	}
	struct ruleset_opts o;
	ruleset_opts_init(&o, NULL);
	char *err = NULL;
	int rc = ruleset_remove(&o, &err);
	if (rc < 0) {
		fprintf(stderr, "sluiced: %s\n", err);
		free(err);
	}
	bool icmp = daemon_icmp_restore_saved(d);
	printf("table inet %s and the SLUICE chains %s; ICMP timeouts %s\n",
	       o.table, rc < 0 ? "NOT removed" : "removed",
	       icmp ? "restored" : "unchanged (no state file)");
	return rc < 0 ? 1 : 0;
}

/*
 * Tells systemd (Type=notify; nothing without $NOTIFY_SOCKET) that sluiced
 * is ready: called once the queues are bound, the ruleset is in the kernel
 * and the control socket listens. A failed start never gets here (it exits
 * non-zero first), so `systemctl start` fails with it.
 */
static void notify_ready(const struct daemon *d)
{
	int rc = sd_notifyf(0, "READY=1\nSTATUS=filtering: %s, %zu rules, "
			       "generation %llu\nMAINPID=%ld",
			    d->config_path, d->gen->policy->nrules,
			    (unsigned long long)d->gen->id, (long)getpid());
	if (rc < 0)
		log_warnx("sd_notify: %s", strerror(-rc));
}

/* A stop that removes every rule leaves the gateway unfiltered: said at
 * every start and reload of such a policy. */
static void warn_on_exit(const struct policy *p)
{
	if (p->queue.on_exit == EXIT_REMOVE)
		log_warnx("queue { on-exit remove }: a stop or restart of "
			  "sluiced leaves this gateway UNFILTERED until the "
			  "next start (default: fail-closed)");
}

/* Loads the first policy; exits on error with every message printed (to
 * the terminal, or to the journal with priorities). */
static struct gen *first_policy(const char *path)
{
	struct diags dg = {0};
	struct policy *p = policy_load(path, &dg);
	if (log_journal())
		diags_log(&dg);
	else
		diags_print(&dg, stderr);
	if (!p) {
		if (log_journal())
			log_at(LOG_ERR, "%s: invalid: %d errors", path,
			       dg.errors);
		else
			fprintf(stderr, "sluiced: %s: invalid: %d errors\n",
				path, dg.errors);
		exit(1);
	}
	diags_free(&dg); /* the policy owns its own file names */
	struct gen *g = xcalloc(1, sizeof(*g));
	g->policy = p;
	g->engine = engine_build(p);
	g->ftp_read_only = gen_ftp_read_only(p);
	g->id = 1;
	g->refs = 1;
	return g;
}

/* decide_env.dns_first: the first query of a `filter dns` session that
 * sluiced decides goes to the DNS filter (dnsfilter.h). */
static bool env_dns_first(void *ctx, const uint8_t *pkt, size_t len)
{
	struct daemon *d = ctx;
	return dnsfilter_first(d->dns, pkt, len);
}

/* decide_env.ftp_first: the first packet of a session a `filter ftp
 * read-only` rule may decide, shown to the FTP filter (ftpfilter.h). */
static bool env_ftp_first(void *ctx, const uint8_t *pkt, size_t len)
{
	struct daemon *d = ctx;
	return ftpfilter_first(d->ftp, pkt, len);
}

/* Exits on a queue that could not be bound: EPERM (as root) is the
 * kernel's answer when another process has bound that queue number. */
static void queue_failed(unsigned num)
{
	if (errno == EPERM || errno == EBUSY)
		fatalx("queue %u: %s: probably bound by another process (an "
		       "IPS such as suricata); choose another `queue { num }` "
		       "or stop it", num, strerror(errno));
	fatal("queue %u", num);
}

/*
 * Opens the policy's NFQUEUE queues, one worker each, threads not started
 * yet (start_workers starts them: after the privilege drop, so that they
 * keep CAP_NET_ADMIN for their verdicts). Exits when a queue cannot be
 * bound.
 */
static void open_workers(struct daemon *d)
{
	const struct policy *p = d->gen->policy;
	struct decide_env env = {.current = env_current,
				 .decided = env_decided,
				 .record = daemon_record,
				 .ctx = d,
				 .lookup = lookups_submit,
				 .lookup_cached = lookups_cached,
				 .lookup_ctx = d->lookups,
				 .ids = d->ids,
				 .now_ns = mono_ns,
				 .dns_first = env_dns_first,
				 .ftp_first = env_ftp_first};
	d->nworkers = p->queue.count;
	d->workers = xcalloc(d->nworkers, sizeof(*d->workers));
	struct decide_cfg cfg;
	daemon_decide_cfg(d, p, &cfg);
	for (size_t i = 0; i < d->nworkers; i++) {
		struct nfqs_opts o = {.num = (uint16_t)(p->queue.num + i),
				     .maxlen = p->queue.length,
				     .copy = PACKET_COPY_MAX,
				     .rcvbuf = p->queue.bufsize_kb * 1024,
				     .fail_open = p->queue.fail == FAIL_OPEN};
		d->workers[i] = worker_new((int)i, &o, &env, &cfg);
		if (!d->workers[i])
			queue_failed(o.num);
	}
}

/* Starts the thread of every worker open_workers opened; exits on error. */
static void start_workers(struct daemon *d)
{
	for (size_t i = 0; i < d->nworkers; i++)
		if (worker_start(d->workers[i]) < 0)
			fatal("queue %zu: thread", i);
}

/* sluiced -u USER: becomes USER with CAP_NET_ADMIN and CAP_NET_RAW only
 * (privdrop.h); exits when that cannot be done completely. */
static void drop_privileges(const struct privuser *u)
{
	char err[256];
	if (privdrop_apply(u, err, sizeof(err)) < 0)
		fatalx("%s", err);
	log_info("running as %s (uid %u) with CAP_NET_ADMIN and CAP_NET_RAW "
		 "only", u->name, (unsigned)u->uid);
}

/*
 * Installs the first ruleset around the adoption of the sessions that
 * already exist (adopt.c): allowed ones are marked before the ruleset
 * could drop them as "established without a decision", denied ones are cut
 * once it is in place. Exits when the kernel rejects the ruleset.
 */
static void install_adopting(struct daemon *d)
{
	struct adopt_counts pre, post; /* pre: marks only */
	char *err = NULL;
	if (!d->adopt_open) { /* adopt-window 0 */
		if (ruleset_install(d->gen->policy, &d->kopts, &err) < 0)
			fatalx("installing the kernel ruleset: %s", err);
		return;
	}
	daemon_adopt(d, false, &pre);
	if (ruleset_install(d->gen->policy, &d->kopts, &err) < 0)
		fatalx("installing the kernel ruleset: %s", err);
	daemon_adopt(d, true, &post);
	/* the counts are of conntrack entries: a session conntrack did not
	 * track is picked up mid-stream by the adopt_* chains, and one the
	 * policy denies is dropped there, seen by no pass (F4: the line
	 * said "0 cut" over an SSH session it had just cut) */
	log_info("existing sessions adopted: %zu allowed, %zu kept until "
		 "their facts are known, %zu cut (of the sessions conntrack "
		 "tracked); sessions it did not track are judged at their "
		 "next packet for %u s (adopt-window), and those the policy "
		 "denies are dropped, not counted here",
		 post.allowed, post.pending, post.cut,
		 d->gen->policy->queue.adopt_window_s);
}

/*
 * Takes this network namespace's sluiced name (instance.h) or exits 1,
 * naming the sluiced that holds it; called before anything touches the
 * kernel. Returns the descriptor that holds it.
 */
/* This network namespace's sluiced lock (instance.h), held until exit;
 * *SOCK the abstract name to tell later starts who runs (-1: another
 * process holds the name, logged). Exits when another sluiced runs. */
static int single_instance(int *sock)
{
	char who[512];
	int fd = instance_lock(who, sizeof(who), sock);
	if (fd >= 0) {
		if (*sock < 0)
			log_warnx("single-instance guard: another process holds "
				  "the abstract name @%s (not a sluiced: the "
				  "lock is ours); a second start will be "
				  "refused without being told who runs",
				  INSTANCE_NAME);
		return fd;
	}
	if (errno == EADDRINUSE)
		fatalx("another sluiced is running in this network namespace "
		       "(%s): refused, nothing changed; stop it first, or try "
		       "a policy with `sluicectl check` or `sluicectl reload "
		       "--confirm`", who);
	fatal("single-instance guard: lock in %s", INSTANCE_DIR);
}

static void stop(struct daemon *d)
{
	char *err = NULL;
	control_close(d->ctl);
	daemon_confirm_free(d); /* a policy on probation stays, as it runs */
	farms_free(d->farms); /* every check in flight freed */
	d->farms = NULL;
	int rc = d->gen->policy->queue.on_exit == EXIT_FAIL_CLOSED
		     ? ruleset_leave_fail_closed(&d->kopts, &err)
		     : ruleset_remove(&d->kopts, &err);
	if (rc < 0)
		log_warnx("stopping: %s", err ? err : "ruleset removal failed");
	free(err);
	/* left fail-closed, the decided sessions keep their timeouts too */
	if (d->gen->policy->queue.on_exit != EXIT_FAIL_CLOSED)
		daemon_icmp_restore(d);
	for (size_t i = 0; i < d->nworkers; i++)
		worker_stop(d->workers[i]);
	free(d->workers);
	d->workers = NULL; /* observe_close() waits for none */
	d->nworkers = 0;
	lookups_free(d->lookups); /* after the workers: none asks any more */
	dnsfilter_stop(d->dns);	  /* after the lookups: none reads it more */
	ftpfilter_stop(d->ftp);
	observe_close(d); /* after the workers: no more records */
	idsources_close(d); /* the table kept for the next start */
	event_free(d->ev_usr1);
	event_free(d->ev_hup);
	event_free(d->ev_term);
	event_free(d->ev_int);
	event_free(d->ev_housekeeping);
	daemon_revoke_stop(d);
	event_base_free(d->base);
	gen_unref(d->gen);
	daemon_adopt_free(d);
	idtable_free(d->ids);
	sessions_free(d->sessions);
	pthread_mutex_destroy(&d->gen_lock);
}

int main(int argc, char **argv)
{
	struct daemon d = {.socket_path = SLUICE_SOCKET};
	static const struct option longopts[] = {
	    {"remove-ruleset", no_argument, NULL, 'R'},
	    {"dns-rt-priority", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0}};
	bool remove_only = false;
	const char *user = NULL;
	int dns_rt = 0; /* the DNS filter thread's SCHED_FIFO priority */
	int c;
	while ((c = getopt_long(argc, argv, "c:fs:u:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': d.config_path = optarg; break;
		case 'f': d.foreground = true; break;
		case 's': d.socket_path = optarg; break;
		case 'u': user = optarg; break;
		case 'v': d.verbose++; break;
		case 'R': remove_only = true; break;
		case 'P':
			dns_rt = atoi(optarg);
			if (dns_rt < 1 || dns_rt > 99)
				usage();
			break;
		default: usage();
		}
	}
	if (optind != argc || (!d.config_path && !remove_only) ||
	    (remove_only && d.config_path))
		usage();
	/* Large transient buffers (a `sessions --json` answer with a full
	 * sessions table is ~20 MB, copied more than once on its way out) are
	 * mmap'd, and unmapped when freed. glibc's default threshold rises to
	 * the size of the first such buffer freed; the next ones then come
	 * from the heap, and a free region there stays resident
	 * (tests/kernel/20_soak once saw RSS +24 MB in its last phase, the
	 * heap in use flat). A fixed threshold turns that adjustment off
	 * (mallopt(3), M_MMAP_THRESHOLD). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	/* the policy by its absolute path: a reload after daemon()'s chdir
	 * and the identities' state file (idsources.c) name the same file */
	static char config_abs[PATH_MAX];
	if (d.config_path && realpath(d.config_path, config_abs))
		d.config_path = config_abs;
	if (geteuid() != 0)
		fatalx("sluiced must run as root (netfilter queues, rulesets)");
	struct privuser pu;
	char perr[256];
	if (user && privdrop_lookup(user, &pu, perr, sizeof(perr)) < 0)
		fatalx("-u %s", perr);
	if (remove_only) {
		/* the state files are those of the user sluiced ran as: -u, or
		 * the owner of the socket's folder */
		if ((user || privdrop_folder_owner(d.socket_path, &pu)) &&
		    privdrop_apply(&pu, perr, sizeof(perr)) < 0)
			fatalx("%s", perr);
		return remove_ruleset(&d);
	}

	log_init("sluiced", d.foreground, d.verbose);
	int instance_sock;
	int instance_fd = single_instance(&instance_sock); /* held until exit */
	d.gen = first_policy(d.config_path);
	d.next_gen = 1;
	if (!d.foreground && daemon(0, 0) < 0)
		fatal("daemon");
	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&d.gen_lock, NULL);
	d.started = time(NULL);
	d.reload_ok_at = d.started;
	d.ids = idtable_new();
	d.sessions = sessions_new(SESSIONS_REMEMBERED);
	d.base = event_base_new();
	d.nft_queue = probe_nft_queue();
	d.adopt_open = d.gen->policy->queue.adopt_window_s > 0;
	daemon_kernel_opts(&d, d.gen->policy);
	observe_configure(&d, d.gen->policy);

	d.lookups = lookups_new(d.base, d.gen->policy, d.kopts.self_mark);
	/* as root: the queues, the control socket (its owner and mode); the
	 * firewall log, the metrics listener and the ruleset watch are open
	 * already (observe_configure); then, with -u, root is given up before
	 * any thread that needs netlink starts */
	open_workers(&d);
	char *err = NULL;
	struct control_access acc;
	if (control_access_resolve(&d.gen->policy->control, &acc, &err) < 0)
		fatalx("%s", err);
	if (user) /* the socket's default owner: the user sluiced becomes,
		   * as a reload (run as that user) resolves it */
		privdrop_socket_owner(&pu, &d.gen->policy->control, &acc);
	d.ctl = control_listen(d.base, d.socket_path, &acc, daemon_commands, &d);
	control_access_free(&acc);
	if (!d.ctl)
		fatal("control socket %s", d.socket_path);
	/* the firewall log root just made becomes the user's: a reload or
	 * SIGUSR1, run as the user, opens it again (not /dev/stdout and
	 * the like: an open descriptor, never chowned) */
	const char *logf = d.gen->policy->log.file;
	if (user && logf && !log_file_follows(logf) &&
	    privdrop_give_file(&pu, logf) < 0 && errno != ENOENT)
		log_warn("firewall log %s: not given to %s; a reload may not "
			 "open it again", logf, pu.name);
	if (user)
		drop_privileges(&pu);
	/* the address table of the last run, before the queues start (known
	 * at once); after the drop, as the state file's owner reads it */
	idsources_restore(&d);
	/* queues first, then the ruleset that feeds them: no window where
	 * the kernel queues to nobody (the control socket answers only once
	 * the loop runs, below) */
	/* the DNS filter's queue (filter dns), before the workers that may
	 * hand it a session's first query; CAP_NET_ADMIN binds it */
	d.dns = dnsfilter_start(d.gen->policy,
				(uint16_t)rs_dns_queue(&d.kopts),
				rs_mark_own(&d.kopts), dns_rt);
	lookups_set_dnsfilter(d.lookups, d.dns);
	/* the FTP filter's queue (filter ftp read-only): the client's
	 * commands on those control sessions */
	d.ftp = ftpfilter_start((uint16_t)rs_ftp_queue(&d.kopts),
				rs_mark_own(&d.kopts));
	ftpfilter_set_prefix(d.ftp, d.gen->policy->decisions.per_source_prefix_v4,
			     d.gen->policy->decisions.per_source_prefix_v6);
	start_workers(&d);
	install_adopting(&d);
	/* CAP_NET_ADMIN writes the net sysctls; the state file goes next to
	 * the socket, in a folder of the user sluiced runs as */
	daemon_icmp_timeout(&d, d.gen->policy);
	d.farms = farms_new(d.base, &d.kopts);
	{ /* drains survive a restart: next to the control socket */
		char *df = xasprintf("%s.drains", d.socket_path);
		farms_set_drain_file(d.farms, df);
		free(df);
	}
	if (farms_configure(d.farms, d.gen->policy, &err) < 0) {
		log_warnx("farms: %s", err);
		free(err);
		err = NULL;
	}

	d.ev_hup = evsignal_new(d.base, SIGHUP, on_signal, &d);
	d.ev_term = evsignal_new(d.base, SIGTERM, on_signal, &d);
	d.ev_int = evsignal_new(d.base, SIGINT, on_signal, &d);
	d.ev_usr1 = evsignal_new(d.base, SIGUSR1, on_signal, &d);
	event_add(d.ev_usr1, NULL);
	d.ev_housekeeping = event_new(d.base, -1, EV_PERSIST, on_housekeeping, &d);
	struct timeval tv = {10, 0};
	event_add(d.ev_hup, NULL);
	event_add(d.ev_term, NULL);
	event_add(d.ev_int, NULL);
	event_add(d.ev_housekeeping, &tv);
	char *self = xasprintf("pid %ld, policy %s, control %s",
			       (long)getpid(), d.config_path, d.socket_path);
	struct event *ev_instance =
	    instance_sock < 0 ? NULL : instance_serve(d.base, instance_sock, self);
	if (instance_sock >= 0 && !ev_instance)
		log_warnx("single-instance guard: a second start will not be "
			  "told who runs");
	warn_on_exit(d.gen->policy);
	log_info("started: %s, %zu rules, %zu queue(s) from %u (%s), control %s",
		 d.config_path, d.gen->policy->nrules, d.nworkers,
		 d.gen->policy->queue.num,
		 d.nft_queue ? "nft queue" : "xt NFQUEUE", d.socket_path);
	notify_ready(&d);

	event_base_dispatch(d.base);
	sd_notify(0, "STOPPING=1");
	if (ev_instance) /* before stop() frees the base; a start during
			  * the stop is refused, unanswered */
		event_free(ev_instance);
	stop(&d);
	free(self);
	if (instance_sock >= 0)
		close(instance_sock);
	close(instance_fd); /* after the ruleset is taken care of */
	log_info("stopped");
	return 0;
}
