/*
 * reload.c — a new policy, all or nothing: parse and check, compile, install
 * the kernel ruleset (atomic), then switch the generation the workers use.
 * A failure at any step leaves the running policy and ruleset untouched.
 */
#include "sluiced/daemon.h"
#include "common/log.h"
#include "common/util.h"
#include "decide/sessions.h"
#include "identity/iptable.h"
#include "kernel/conntrack.h"
#include "queue/worker.h"
#include "sluiced/lookups.h"
#include "sluiced/farms.h"

#include <event2/buffer.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
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
	cfg->deadline_ms = p->decisions.deadline_ms;
	cfg->watchdog_ms = p->queue.watchdog_ms > p->decisions.deadline_ms
			       ? p->queue.watchdog_ms
			       : p->decisions.deadline_ms + 1000;
	cfg->on_deadline = p->decisions.on_deadline;
	cfg->fail_open = p->queue.fail == FAIL_OPEN;
	cfg->identity_ttl_s = p->identity.ttl_s;
	cfg->directory = p->directory.enabled;
}

void daemon_kernel_opts(struct daemon *d, const struct policy *p)
{
	ruleset_opts_init(&d->kopts, p);
	d->kopts.nft_queue = d->nft_queue;
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

/* Reads the originals a run that did not stop cleanly left in PATH. */
static bool icmp_state_read(const char *path, struct ct_icmp_timeouts *v)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	unsigned v4, v6;
	bool ok = fscanf(f, "%u %u", &v4, &v6) == 2;
	fclose(f);
	if (ok)
		*v = (struct ct_icmp_timeouts){true, v4, v6};
	return ok;
}

/* Writes V to PATH whole or not at all (a temporary file renamed). */
static int icmp_state_write(const char *path, const struct ct_icmp_timeouts *v)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rc = -1;
	if (f) {
		bool ok = fprintf(f, "%u %u\n", v->v4, v->v6) > 0;
		if (fclose(f) == 0 && ok && rename(tmp, path) == 0)
			rc = 0;
		else
			unlink(tmp);
	}
	free(tmp);
	return rc;
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
	if (ct_icmp_timeout_put(&(struct ct_icmp_timeouts){true, s, s}) < 0)
		log_warn("setting the ICMP session timeout to %u s", s);
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
	unlink(path);
	free(path);
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

int daemon_reload(struct daemon *d, struct evbuffer *out)
{
	struct diags dg = {0};
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
	if (p->queue.count != old->queue.count || p->queue.num != old->queue.num)
		log_warnx("reload: queue num/count changes need a restart; "
			  "keeping %u queue(s) from %u",
			  old->queue.count, old->queue.num);
	p->queue.count = old->queue.count;
	p->queue.num = old->queue.num;

	struct ruleset_opts saved = d->kopts;
	daemon_kernel_opts(d, p);
	char *err = NULL;
	if (ruleset_install(p, &d->kopts, &err) < 0) {
		log_warnx("reload: kernel rejected the ruleset: %s", err);
		if (out)
			evbuffer_add_printf(out, "kernel rejected the ruleset: "
					    "%s; the running policy stays", err);
		free(err);
		d->kopts = saved;
		policy_free(p);
		d->reload_failures++;
		return -1;
	}
	struct gen *g = xcalloc(1, sizeof(*g));
	g->policy = p;
	g->engine = engine_build(p);
	g->id = ++d->next_gen;
	g->refs = 1;
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
	lookups_configure(d->lookups, p);
	char *ferr = NULL;
	if (farms_configure(d->farms, p, &ferr) < 0) {
		log_warnx("reload: farms: %s", ferr);
		free(ferr);
	}
	observe_configure(d, p);
	d->reloads++;
	size_t cut = p->queue.revoke == REVOKE_ON ? daemon_revoke(d) : 0;
	log_info("reloaded %s: generation %llu, %zu rules, %zu sessions "
		 "revoked", d->config_path, (unsigned long long)g->id,
		 p->nrules, cut);
	if (out)
		evbuffer_add_printf(out, "reloaded: generation %llu, %zu "
				    "rules, %d warnings, %zu sessions revoked\n",
				    (unsigned long long)g->id, p->nrules,
				    warnings, cut);
	return 0;
}

/* ---- revocation ---------------------------------------------------------- */

struct localaddrs {
	uint8_t (*v)[17]; /* family byte + 16 address bytes */
	size_t n;
};

static void local_addrs(struct localaddrs *l)
{
	struct ifaddrs *ifa, *i;
	memset(l, 0, sizeof(*l));
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		uint8_t e[17] = {0};
		if (i->ifa_addr->sa_family == AF_INET) {
			e[0] = AF_INET;
			memcpy(e + 1,
			       &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			e[0] = AF_INET6;
			memcpy(e + 1,
			       &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			       16);
		} else {
			continue;
		}
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		memcpy(l->v[l->n++], e, 17);
	}
	freeifaddrs(ifa);
}

static bool is_local(const struct localaddrs *l, int family,
		     const uint8_t *addr)
{
	size_t len = family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i][0] == family && memcmp(l->v[i] + 1, addr, len) == 0)
			return true;
	return false;
}

static u128 load128(const uint8_t *b)
{
	u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = (v << 8) | b[i];
	return v;
}

/* The flow of a conntrack entry, as its first packet looked. */
static void flow_of(const struct ct_entry *e, const struct localaddrs *la,
		    struct flow *f)
{
	const struct session_key *k = &e->key;
	memset(f, 0, sizeof(*f));
	f->family = k->family;
	f->proto = k->proto;
	if (k->family == AF_INET) {
		f->src4 = (uint32_t)k->src[0] << 24 | (uint32_t)k->src[1] << 16 |
			  (uint32_t)k->src[2] << 8 | k->src[3];
		f->dst4 = (uint32_t)k->dst[0] << 24 | (uint32_t)k->dst[1] << 16 |
			  (uint32_t)k->dst[2] << 8 | k->dst[3];
	} else {
		f->src6 = load128(k->src);
		f->dst6 = load128(k->dst);
	}
	f->sport = k->sport;
	f->dport = k->dport;
	f->icmp_type = (uint8_t)k->dport;
	f->src_local = is_local(la, k->family, k->src);
	f->dst_local = is_local(la, k->family, k->dst);
	f->minute = week_minute_now();
}

size_t daemon_revoke(struct daemon *d)
{
	struct ct_list l;
	if (ct_dump(&l) < 0) {
		log_warn("revoke: conntrack dump");
		return 0;
	}
	struct localaddrs la;
	local_addrs(&la);
	pthread_mutex_lock(&d->gen_lock);
	struct gen *g = gen_ref(d->gen);
	pthread_mutex_unlock(&d->gen_lock);
	size_t cut = 0;
	for (size_t i = 0; i < l.n; i++) {
		const struct ct_entry *e = &l.v[i];
		uint32_t dec = e->mark & MARK_DECISION;
		uint32_t rid = (e->mark >> MARK_RULE_SHIFT) & MARK_RULE_MASK;
		if (dec != MARK_ALLOW || rid == 0 || rid == RULE_ID_CREATION ||
		    rid == RULE_ID_FAILOPEN || rid == RULE_ID_PUBLISHED)
			continue; /* not decided by a policy rule */
		if (e->key.proto == IPPROTO_TCP && e->tcp_state >= 7)
			continue; /* TIME_WAIT, CLOSE: already over */
		struct flow f;
		flow_of(e, &la, &f);
		/* judged as a new session would be now: the address's
		 * current identity (a logout revokes), the name remembered
		 * from the decision */
		struct session_info si;
		struct identity id = {0};
		struct facts fx = {.known = NEED_IDENTITY};
		if (iptable_get(d->ids, e->key.family, e->key.src, &id)) {
			fx.user = id.user;
			fx.groups = (const char *const *)id.groups;
			fx.ngroups = id.ngroups;
		}
		if (sessions_get(d->sessions, &e->key, &si) && si.name[0]) {
			fx.known |= NEED_NAME;
			fx.name = si.name;
		}
		struct decision dc;
		engine_eval(g->engine, &f, &fx, &dc);
		identity_clear(&id);
		if (dc.verdict == VERDICT_DENY) {
			if (ct_delete(e) == 0) {
				cut++;
				sessions_del(d->sessions, &e->key);
			}
		} else if (dc.verdict == VERDICT_ALLOW &&
			   rule_mark_id(dc.rule) != rid) {
			uint32_t m = (e->mark & ~MARK_OWNED) | MARK_ALLOW |
				     (rule_mark_id(dc.rule) << MARK_RULE_SHIFT);
			ct_set_mark(e, m);
		}
		/* pending: the facts it needs are not remembered; keep */
	}
	gen_unref(g);
	free(la.v);
	ct_list_free(&l);
	d->revoked += cut;
	return cut;
}
