/*
 * reload.c — a new policy, all or nothing: parse and check, compile, install
 * the kernel ruleset (atomic), then switch the generation the workers use.
 * A failure at any step leaves the running policy and ruleset untouched.
 */
#include "sluiced/daemon.h"
#include "common/addrport.h"
#include "sluiced/metrics.h"
#include "common/log.h"
#include "common/statefile.h"
#include "common/util.h"
#include "decide/sessions.h"
#include "identity/idtable.h"
#include "kernel/conntrack.h"
#include "queue/worker.h"
#include "sluiced/lookups.h"
#include "sluiced/farms.h"
#include "sluiced/dnsfilter.h"
#include "policy/settings.h"
#include "stats/prom.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <event2/buffer.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void daemon_decide_cfg(const struct daemon *d, const struct policy *p,
		       struct decide_cfg *cfg)
{
	uint32_t n = (uint32_t)(d->nworkers ? d->nworkers : 1);
	memset(cfg, 0, sizeof(*cfg));
	cfg->slots = p->decisions.slots / n ? p->decisions.slots / n : 1;
	cfg->reserve_local = cfg->slots * p->decisions.reserve_local_pct / 100;
	cfg->per_source = p->decisions.per_source;
	cfg->per_source_prefix_v4 = (uint8_t)p->decisions.per_source_prefix_v4;
	cfg->per_source_prefix_v6 = (uint8_t)p->decisions.per_source_prefix_v6;
	cfg->queue_len = p->queue.length; /* each worker has its own queue */
	cfg->deadline_ms = p->decisions.deadline_ms;
	cfg->watchdog_ms = p->queue.watchdog_ms > p->decisions.deadline_ms
			       ? p->queue.watchdog_ms
			       : p->decisions.deadline_ms + 1000;
	cfg->on_deadline = p->decisions.on_deadline;
	cfg->deny_action = p->decisions.deny_action;
	cfg->fail_open = p->queue.fail == FAIL_OPEN;
	cfg->mark_shift = p->queue.mark_shift;
	cfg->identity_ttl_s = p->identity.ttl_s;
	cfg->directory = p->directory.enabled;
}

void daemon_kernel_opts(struct daemon *d, const struct policy *p)
{
	ruleset_opts_init(&d->kopts, p);
	d->kopts.nft_queue = d->nft_queue;
	d->kopts.adopt = d->adopt_open; /* adopt.c */
	d->kopts.member_up = farms_member_up;
	d->kopts.member_ctx = d->farms;
}

/* Where the ICMP timeouts found before sluice changed them are kept, so a
 * restart after kill -9 still knows them: the control socket's path plus
 * ".icmp-timeouts" (one file per daemon). */
static char *icmp_state_path(const struct daemon *d)
{
	return xasprintf("%s.icmp-timeouts", d->socket_path);
}

/* Reads the originals a run that did not stop cleanly left in PATH (only
 * a file of ours, in a folder of ours: common/statefile.h). */
static bool icmp_state_read(const char *path, struct ct_icmp_timeouts *v)
{
	size_t len;
	char *text = statefile_read(path, 64, &len);
	if (!text)
		return false;
	unsigned v4, v6, acct = 0, ts = 0;
	/* two numbers: a file written before the accounting switches */
	int n = sscanf(text, "%u %u %u %u", &v4, &v6, &acct, &ts);
	free(text);
	bool ok = n == 2 || n == 4;
	if (ok)
		*v = (struct ct_icmp_timeouts){true, v4, v6, acct != 0, ts != 0};
	return ok;
}

/* Writes V to PATH whole or not at all, never through a symlink. */
static int icmp_state_write(const char *path, const struct ct_icmp_timeouts *v)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%u %u %u %u\n", v->v4, v->v6,
			 v->acct, v->tstamp);
	return statefile_write(path, buf, (size_t)n);
}

void daemon_icmp_timeout(struct daemon *d, const struct policy *p)
{
	if (!d->icmp_orig.valid) {
		/* the originals are on disk before anything is changed */
		char *path = icmp_state_path(d);
		if (!icmp_state_read(path, &d->icmp_orig) &&
		    ct_icmp_timeout_get(&d->icmp_orig) == 0 &&
		    icmp_state_write(path, &d->icmp_orig) < 0)
			log_warn("%s: a restart after a crash will not know the "
				 "original ICMP timeouts", path);
		free(path);
	}
	uint32_t s = p->queue.udp_timeout_s;
	/* the firewall log's session-end records: bytes, packets, duration */
	bool logged = p->log.file || p->log.syslog;
	struct ct_icmp_timeouts want = {true, s, s,
					logged ? 1 : d->icmp_orig.acct,
					logged ? 1 : d->icmp_orig.tstamp};
	if (ct_icmp_timeout_put(&want) < 0)
		log_warn("setting the ICMP session timeout to %u s and "
			 "conntrack accounting %s", s, logged ? "on" : "back");
}

void daemon_icmp_restore(struct daemon *d)
{
	if (!d->icmp_orig.valid)
		return;
	if (ct_icmp_timeout_put(&d->icmp_orig) < 0) {
		log_warn("restoring the ICMP session timeouts");
		return;
	}
	d->icmp_orig.valid = false;
	char *path = icmp_state_path(d);
	statefile_remove(path);
	free(path);
}

bool daemon_icmp_restore_saved(struct daemon *d)
{
	char *path = icmp_state_path(d);
	bool have = icmp_state_read(path, &d->icmp_orig);
	free(path);
	if (have)
		daemon_icmp_restore(d);
	return have;
}

/* ---- queue settings on reload ---------------------------------------------- */

#define QUEUE_CONFIRM_MS 1000 /* how long the kernel's answers are awaited */

/* What P's queue block asks of the kernel queues that can change while
 * they run (as start_workers() opens them): fail-open flag, length and
 * receive buffer. */
static void queue_opts(const struct policy *p, struct nfqs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->maxlen = p->queue.length;
	o->rcvbuf = p->queue.bufsize_kb * 1024;
	o->fail_open = p->queue.fail == FAIL_OPEN;
}

/* Sends O to every worker's kernel queue and waits up to QUEUE_CONFIRM_MS
 * for the kernel's answers, which the workers receive (no worker lock is
 * held meanwhile). RES[i] becomes 0 when queue i confirmed, else an errno
 * (ETIMEDOUT: no answer). */
static void queue_apply(struct daemon *d, const struct nfqs_opts *o, int *res)
{
	uint32_t *seq = xcalloc(d->nworkers ? d->nworkers : 1, sizeof(*seq));
	for (size_t i = 0; i < d->nworkers; i++) {
		seq[i] = nfqs_reconfigure(d->workers[i]->q, o);
		res[i] = seq[i] ? -1 : errno ? errno : EIO; /* -1: waiting */
	}
	uint64_t until = mono_ms() + QUEUE_CONFIRM_MS;
	for (bool waiting = true; waiting;) {
		waiting = false;
		for (size_t i = 0; i < d->nworkers; i++) {
			if (res[i] != -1)
				continue;
			int r = nfqs_reconfigured(d->workers[i]->q, seq[i]);
			if (r > 0)
				res[i] = 0;
			else if (r < 0)
				res[i] = errno ? errno : EIO;
			else
				waiting = true;
		}
		if (waiting && mono_ms() >= until)
			break;
		if (waiting)
			usleep(2000);
	}
	for (size_t i = 0; i < d->nworkers; i++)
		if (res[i] == -1)
			res[i] = ETIMEDOUT;
	free(seq);
}

/*
 * Gives every worker's kernel queue P's fail mode, length and buffer
 * (queue_apply). Writes to OUT (may be NULL) and the log what was applied,
 * and which queues still run with their old settings and need a restart.
 * Returns the number of queues that did not confirm.
 */
static size_t queue_configure(struct daemon *d, const struct policy *p,
			      struct evbuffer *out)
{
	struct nfqs_opts o;
	queue_opts(p, &o);
	int *res = xcalloc(d->nworkers ? d->nworkers : 1, sizeof(*res));
	queue_apply(d, &o, res);
	size_t bad = 0;
	for (size_t i = 0; i < d->nworkers; i++) {
		if (!res[i])
			continue;
		bad++;
		unsigned num = p->queue.num + (unsigned)i;
		const char *why = res[i] == ETIMEDOUT ? "the kernel did not answer"
						      : strerror(res[i]);
		log_warnx("reload: queue %u keeps its old settings (%s): "
			  "restart sluiced to apply fail %s, length %u", num,
			  why, o.fail_open ? "open" : "closed", o.maxlen);
		if (out)
			evbuffer_add_printf(out, "queue %u: NOT applied (%s); it "
					    "keeps its old fail mode and length: "
					    "restart sluiced to apply them\n",
					    num, why);
	}
	if (out && bad < d->nworkers)
		evbuffer_add_printf(out, "queue: fail %s, length %u, buffer "
				    "%u KiB applied to %zu of %zu queue(s)\n",
				    o.fail_open ? "open" : "closed", o.maxlen,
				    p->queue.bufsize_kb, d->nworkers - bad,
				    d->nworkers);
	free(res);
	return bad;
}

int daemon_kernel_switch(struct daemon *d, const struct policy *p,
			 const struct policy *old, struct evbuffer *out,
			 char **err)
{
	/* the kernel queue changes on the safe side of the ruleset: to fail
	 * closed before it (no packet accepted by a full queue meets a
	 * ruleset that no longer catches it), to fail open after it */
	bool tighten = p->queue.fail == FAIL_CLOSED;
	if (tighten)
		queue_configure(d, p, out);
	struct ruleset_opts saved = d->kopts;
	daemon_kernel_opts(d, p);
	metrics_kernel_fold(d); /* the table's rule counters start again */
	if (ruleset_install(p, &d->kopts, err) < 0) {
		if (tighten)
			queue_configure(d, old, NULL);
		d->kopts = saved;
		return -1;
	}
	if (!tighten)
		queue_configure(d, p, out);
	return 0;
}

void daemon_warn(struct daemon *d, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err));
	log_warnx("%s", msg);
	if (d->reload_reply) {
		d->reload_warnings++;
		evbuffer_add_printf(d->reload_reply, "warning: %s\n", msg);
	}
}

/* Whether ADDR_PORT's address ("A:P", "[A]:P", a literal) is one of the
 * gateway's: a UDP socket can be bound to it (without IP_FREEBIND, bind(2)
 * fails with EADDRNOTAVAIL for an address no interface has). True when it
 * cannot be told (then nothing is said). */
static bool addr_is_local(const char *addr_port)
{
	char host[128];
	unsigned port;
	if (addrport_split(addr_port, host, sizeof(host), &port))
		return true;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_NUMERICHOST},
			*ai = NULL;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai)
		return true;
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool local = fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		     errno != EADDRNOTAVAIL;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return local;
}

/* What the policy file cannot tell and only this gateway can: a file
 * sluiced itself reads later that it cannot read now, an address that
 * is not the gateway's. Each said by daemon_warn(); nothing refused. */
static void warn_unusable(struct daemon *d, const struct policy *p)
{
	const char *pw = p->directory.password_file;
	if (p->directory.enabled && pw && access(pw, R_OK) < 0)
		daemon_warn(d, 0, "directory password-file %s: %s; binds to "
			    "the directory will fail", pw, strerror(errno));
	if (p->portal.listen && !addr_is_local(p->portal.listen))
		daemon_warn(d, 0, "portal listen %s: not an address of this "
			    "gateway; unidentified web sessions are sent "
			    "there", p->portal.listen);
}

void daemon_gen_switch(struct daemon *d, struct gen *g, struct evbuffer *out)
{
	const struct policy *p = g->policy;
	d->reload_reply = out;
	pthread_mutex_lock(&d->gen_lock);
	struct gen *prev = d->gen;
	d->gen = g;
	pthread_mutex_unlock(&d->gen_lock);
	gen_unref(prev);
	daemon_icmp_timeout(d, p);

	struct decide_cfg cfg;
	daemon_decide_cfg(d, p, &cfg);
	for (size_t i = 0; i < d->nworkers; i++) {
		pthread_mutex_lock(&d->workers[i]->lock);
		decider_configure(d->workers[i]->dec, &cfg);
		pthread_mutex_unlock(&d->workers[i]->lock);
	}
	warn_unusable(d, p);
	lookups_configure(d->lookups, p);
	dnsfilter_configure(d->dns, p);
	char *ferr = NULL;
	if (farms_configure(d->farms, p, &ferr) < 0) {
		daemon_warn(d, 0, "farms: %s", ferr);
		free(ferr);
	}
	observe_configure(d, p);
	daemon_control_configure(d, p);
	d->reload_reply = NULL;
}

/* Writes the diagnostics of D to OUT and the log. */
static void report(const struct diags *dg, struct evbuffer *out)
{
	for (size_t i = 0; i < dg->n; i++) {
		const struct diag *g = &dg->v[i];
		const char *sev = g->sev == DIAG_ERROR	   ? "error"
				  : g->sev == DIAG_WARNING ? "warning"
							   : "note";
		char line[1400];
		if (g->loc.file)
			snprintf(line, sizeof(line), "%s:%d:%d: %s: %s",
				 g->loc.file, g->loc.line, g->loc.col, sev,
				 g->msg);
		else
			snprintf(line, sizeof(line), "%s: %s", sev, g->msg);
		log_warnx("%s", line);
		if (out)
			evbuffer_add_printf(out, "%s\n", line);
	}
}

/* settings_change_fn of a reload: a setting the running daemon keeps
 * (restart sluiced) or only sluice-portal reads (restart it), to the log
 * and OUT (an evbuffer). */
static void report_pinned(void *arg, const struct settings_block *b,
			  const struct setting *s, enum setting_reload why,
			  const char *asked, const char *running)
{
	struct evbuffer *out = arg;
	if (!asked || !*asked) /* the setting taken out of the file */
		asked = "(none)";
	if (!running || !*running)
		running = "(none)";
	if (why == RELOAD_RESTART) {
		log_warnx("reload: %s %s %s needs a restart of sluiced; it "
			  "keeps %s", b->name, s->key, asked, running);
		evbuffer_add_printf(out, "%s %s %s: NOT applied: restart "
				    "sluiced to apply it (running: %s)\n",
				    b->name, s->key, asked, running);
		return;
	}
	log_warnx("reload: %s %s changed: sluice-portal reads it at its "
		  "start; restart sluice-portal to apply it there", b->name,
		  s->key);
	evbuffer_add_printf(out, "%s %s %s: applied by sluiced; "
			    "sluice-portal: NOT applied: restart sluice-portal "
			    "to apply it\n", b->name, s->key, asked);
}

int daemon_reload(struct daemon *d, struct evbuffer *out)
{
	struct diags dg = {0};
	uint64_t t0 = mono_ms(); /* the log line's figures: BENCHMARKS.md */
	struct policy *p = policy_load(d->config_path, &dg);
	report(&dg, out);
	if (!p) {
		if (out)
			evbuffer_add_printf(out, "%s: invalid: %d errors; the "
					    "running policy stays",
					    d->config_path, dg.errors);
		diags_free(&dg);
		d->reload_failures++;
		return -1;
	}
	int warnings = dg.warnings;
	diags_free(&dg); /* reported; the policy owns its own file names */

	const struct policy *old = d->gen->policy;
	/* what only a restart applies keeps its running value, said (in the
	 * reply once the reload is through) */
	struct evbuffer *pinned = evbuffer_new();
	settings_reload_pin(p, old, report_pinned, pinned);

	struct evbuffer *qout = evbuffer_new();
	char *err = NULL;
	uint64_t tk = mono_ms();
	if (daemon_kernel_switch(d, p, old, qout, &err) < 0) {
		evbuffer_free(qout);
		evbuffer_free(pinned);
		log_warnx("reload: kernel rejected the ruleset: %s", err);
		if (out)
			evbuffer_add_printf(out, "kernel rejected the ruleset: "
					    "%s; the running policy stays", err);
		free(err);
		policy_free(p);
		d->reload_failures++;
		return -1;
	}
	tk = mono_ms() - tk;
	if (out) {
		evbuffer_add_buffer(out, pinned);
		evbuffer_add_buffer(out, qout);
	}
	evbuffer_free(pinned);
	evbuffer_free(qout);
	struct gen *g = xcalloc(1, sizeof(*g));
	g->policy = p;
	g->engine = engine_build(p);
	g->ftp_read_only = gen_ftp_read_only(p);
	g->id = ++d->next_gen;
	g->refs = 1;
	d->reload_warnings = 0;
	daemon_gen_switch(d, g, out);
	warnings += (int)d->reload_warnings; /* the settings not applied */
	d->reloads++;
	d->reload_ok_at = time(NULL);
	size_t cut = p->queue.revoke == REVOKE_ON ? daemon_revoke(d) : 0;
	log_info("reloaded %s: generation %llu, %zu rules, %zu sessions "
		 "revoked; %llu ms (kernel %llu ms)", d->config_path,
		 (unsigned long long)g->id, p->nrules, cut,
		 (unsigned long long)(mono_ms() - t0), (unsigned long long)tk);
	if (out)
		evbuffer_add_printf(out, "reloaded: generation %llu, %zu "
				    "rules, %d warnings, %zu sessions revoked\n",
				    (unsigned long long)g->id, p->nrules,
				    warnings, cut);
	if (out && d->revoking)
		evbuffer_add_printf(out, "revocation continues in the "
				    "background: %zu sessions judged so far "
				    "(sluiced logs the end)\n",
				    daemon_revoke_judged(d));
	return 0;
}

/* ---- revocation ---------------------------------------------------------- */

/*
 * The facts session E is judged with on reload: those of its own decision
 * (SI, from the sessions table), and what only the present can say.
 *   - the gateway's own socket (IDSRC_LOCAL): the user and groups NSS gave
 *     at the decision (the socket's owner does not change);
 *   - address table user, groups from the directory (IDSRC_DIRECTORY): the
 *     table's current user (a logout or a new user revokes); while it is the
 *     decision's user, the groups the directory gave then;
 *   - address table (IDSRC_TABLE) or no identity asked: the table now; a
 *     user it holds without groups, when a directory gives the groups, has
 *     unknown groups.
 * A fact that cannot be had now is unknown, never absent: a session of the
 * gateway itself with no remembered identity leaves the identity unknown,
 * and rules needing it keep the session (pending). ID receives the table's
 * entry (caller clears it); FX points into SI and ID. G: the policy now.
 */
static void revoke_facts(struct daemon *d, const struct gen *g,
			 const struct ct_entry *e, const struct flow *f,
			 const struct session_info *si, struct identity *id,
			 struct facts *fx)
{
	memset(fx, 0, sizeof(*fx));
	if (si->name) {
		/* the name the decision was by; the destination's other names
		 * are not kept, so a rule no kept name matches is undecided
		 * (the session stays), never "no" */
		fx->known |= NEED_NAME;
		fx->names = (const char *const *)&si->name;
		fx->nnames = 1;
		fx->names_partial = true;
	}
	if (si->source == IDSRC_LOCAL) {
		fx->known |= NEED_IDENTITY;
		fx->user = si->user;
		fx->groups = (const char *const *)si->groups;
		fx->ngroups = si->ngroups;
		fx->groups_unknown = si->groups_unknown;
		return;
	}
	if (f->src_local)
		return; /* the gateway's own session, owner not remembered */
	fx->known |= NEED_IDENTITY;
	if (!idtable_get(d->ids, e->key.family, e->key.src, id))
		return; /* no user at that address now */
	fx->user = id->user;
	fx->groups = (const char *const *)id->groups;
	fx->ngroups = id->ngroups;
	if (id->ngroups || !g->policy->directory.enabled)
		return;
	if (si->source == IDSRC_DIRECTORY && si->user &&
	    user_name_equal(&g->policy->identity.realms, si->user, id->user)) {
		/* the decision's user, as the directory named it */
		fx->user = si->user;
		fx->groups = (const char *const *)si->groups;
		fx->ngroups = si->ngroups;
		fx->groups_unknown = si->groups_unknown;
	} else {
		fx->groups_unknown = true; /* the directory was not asked */
	}
}

/*
 * Revocation walks the conntrack table as the kernel dumps it (ct_stream),
 * judging each entry as it arrives: for up to REVOKE_SYNC_MS (100 ms) in the reload
 * itself (a small table is done and the answer says how many were cut),
 * then on the event loop, REVOKE_BATCH_READS (32) netlink buffers (32 KiB,
 * about 100 entries each) per turn, so control requests, ticks and other events keep
 * being served while a large table (200,000 sessions: BENCHMARKS.md) is
 * walked. The decisions of new sessions never wait for it (queue workers).
 * A newer revocation (the next reload) stops an unfinished one: it judges
 * every entry again under the newer policy.
 */
#define REVOKE_SYNC_MS 100
#define REVOKE_BATCH_READS 32

struct revocation {
	struct daemon *d;
	struct ct_stream *s;
	struct event *ev;
	struct gen *g; /* the policy it judges by (a reference) */
	struct ct_local la;
	size_t judged, cut;
	uint64_t t0;
};

/* Judges conntrack entry E under R's policy: cuts it, moves it to the rule
 * that allows it now, or keeps it (pending: facts not remembered). */
static void revoke_one(const struct ct_entry *e, void *arg)
{
	struct revocation *r = arg;
	struct daemon *d = r->d;
	unsigned dec = mark_dec(d->kopts.mark_shift, e->mark);
	unsigned rid = mark_id(d->kopts.mark_shift, e->mark);
	/* fail-open sessions are judged like the rest: the policy cuts them,
	 * or takes them over under a rule */
	if (dec != MARK_DEC_ALLOW || rid == MARK_ID_SELF ||
	    rid == MARK_ID_CREATION || rid == MARK_ID_PUBLISHED)
		return; /* not decided by a policy rule */
	if (e->key.proto == IPPROTO_TCP && e->tcp_state >= 7)
		return; /* TIME_WAIT, CLOSE: already over */
	struct flow f;
	ct_entry_flow(e, &r->la, &f);
	struct session_info si;
	struct identity id = {0};
	struct facts fx;
	entry_session_get(d->sessions, e, &si);
	revoke_facts(d, r->g, e, &f, &si, &id, &fx);
	struct decision dc;
	engine_eval(r->g->engine, &f, &fx, &dc);
	identity_clear(&id);
	session_info_clear(&si);
	r->judged++;
	if (dc.verdict == VERDICT_DENY) {
		if (kernlog_cut(d, e, dc.rule) == 0) {
			r->cut++;
			d->revoked++;
		}
	} else if (dc.verdict == VERDICT_ALLOW &&
		   mark_rule_id(dc.rule) != rid) {
		uint32_t m = mark_set(d->kopts.mark_shift, e->mark,
				      MARK_DEC_ALLOW, mark_rule_id(dc.rule));
		ct_set_mark(e, m);
	}
}

static void revocation_free(struct revocation *r)
{
	if (!r)
		return;
	if (r->ev)
		event_free(r->ev);
	ct_stream_close(r->s);
	gen_unref(r->g);
	ct_local_free(&r->la);
	free(r);
}

/* The walk is over (RC 1) or failed (-1): logs it and frees R. */
static void revocation_end(struct revocation *r, int rc)
{
	if (rc < 0)
		log_warn("revocation: conntrack dump");
	log_info("revocation (generation %llu): %zu sessions judged, %zu cut, "
		 "%llu ms", (unsigned long long)r->g->id, r->judged, r->cut,
		 (unsigned long long)(mono_ms() - r->t0));
	if (r->d->revoking == r)
		r->d->revoking = NULL;
	revocation_free(r);
}

static void revoke_more(evutil_socket_t fd, short what, void *arg)
{
	struct revocation *r = arg;
	/* another policy is in force (a reload or a rollback, with or
	 * without revocation): never judge by the one that was replaced.
	 * The main thread is the only one that replaces d->gen. */
	if (r->d->gen != r->g) {
		daemon_revoke_stop(r->d);
		return;
	}
	int rc = ct_stream_read(r->s, REVOKE_BATCH_READS);
	if (rc != 0)
		revocation_end(r, rc);
}

void daemon_revoke_stop(struct daemon *d)
{
	struct revocation *r = d->revoking;
	if (!r)
		return;
	log_info("revocation (generation %llu) stopped after %zu sessions "
		 "judged, %zu cut", (unsigned long long)r->g->id, r->judged,
		 r->cut);
	d->revoking = NULL;
	revocation_free(r);
}

size_t daemon_revoke(struct daemon *d)
{
	daemon_revoke_stop(d);
	struct revocation *r = xcalloc(1, sizeof(*r));
	r->d = d;
	r->t0 = mono_ms();
	pthread_mutex_lock(&d->gen_lock);
	r->g = gen_ref(d->gen);
	pthread_mutex_unlock(&d->gen_lock);
	ct_local_get(&r->la);
	r->s = ct_stream_open(revoke_one, r);
	if (!r->s) {
		log_warn("revoke: conntrack dump");
		revocation_free(r);
		return 0;
	}
	for (;;) {
		int rc = ct_stream_read(r->s, REVOKE_BATCH_READS);
		if (rc != 0) {
			size_t cut = r->cut;
			revocation_end(r, rc);
			return cut;
		}
		uint64_t spent = mono_ms() - r->t0;
		if (spent >= REVOKE_SYNC_MS)
			break;
		struct pollfd pfd = {ct_stream_fd(r->s), POLLIN, 0};
		poll(&pfd, 1, (int)(REVOKE_SYNC_MS - spent));
	}
	r->ev = event_new(d->base, ct_stream_fd(r->s), EV_READ | EV_PERSIST,
			  revoke_more, r);
	if (!r->ev || event_add(r->ev, NULL) < 0) {
		log_warnx("revocation: cannot continue on the event loop");
		size_t cut = r->cut;
		revocation_end(r, -1);
		return cut;
	}
	d->revoking = r;
	log_info("revocation continues in the background: %zu sessions "
		 "judged, %zu cut so far", r->judged, r->cut);
	return r->cut;
}

size_t daemon_revoke_judged(const struct daemon *d)
{
	return d->revoking ? d->revoking->judged : 0;
}
