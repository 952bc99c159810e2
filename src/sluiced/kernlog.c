/*
 * kernlog.c — the kernel's part of the firewall log, on the event loop:
 * sessions `log` rules decide alone (NFLOG, kernel/nflog.h) and the end of
 * every session sluice decided (conntrack DESTROY events with sluice's ct
 * mark, kernel/conntrack.h), each written as a firewall log record with
 * the rule's name from the running policy generation.
 */
#include "sluiced/daemon.h"
#include "common/log.h"
#include "common/mark.h"
#include "common/util.h"
#include "decide/sessions.h"
#include "identity/idtable.h"
#include "kernel/conntrack.h"
#include "kernel/nflog.h"
#include "stats/counters.h"
#include "stats/fwlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Socket buffers read per wake-up: the loop serves others in between. */
#define KERNLOG_READS 64
/* Cut sessions whose facts wait for their end record (kernlog_cut): the
 * oldest are forgotten first, so ends that never come cost no more. */
#define KERNLOG_CUT_MAX 16384

struct kernlog {
	struct nflog_reader *nfl;
	struct event *ev_nfl;
	uint16_t group;
	struct ct_events *cte;
	struct event *ev_cte;
	uint32_t shift; /* mark shift the conntrack filter was made for */
	struct ct_local local; /* the gateway's addresses (flow ends) */
	/* of readers closed (reload with other settings): never back */
	uint64_t decided_old, ends_old, lost_old;
	/* the facts of sessions kernlog_cut() cut, for their end records
	 * alone: apart from d->sessions, so that no later session with the
	 * same addresses and ports takes them for its own */
	struct sessions *cut;
};

/* The network name of an end of F: "localhost" for the gateway's own. */
static const char *net_of(const struct policy *p, const struct flow *f,
			  bool dst)
{
	if (dst ? f->dst_local : f->src_local)
		return "localhost";
	return daemon_net_of(p, f, dst);
}

/* Policy rule of mark rule id ID in P, or NULL (a reserved id, or a rule
 * of an older generation beyond this one's). */
static const struct rule *rule_of(const struct policy *p, unsigned id)
{
	if (id == MARK_ID_SELF || id >= MARK_ID_LAST || id > p->nrules)
		return NULL;
	return p->rules[id - 1];
}

/* The user at F's source address in the address table: copied into BUF
 * (LEN bytes), or NULL. */
static const char *user_at(struct daemon *d, const struct session_key *k,
			   char *buf, size_t len)
{
	struct identity id;
	memset(&id, 0, sizeof(id));
	if (!d->ids || !idtable_get(d->ids, k->family, k->src, &id))
		return NULL;
	const char *u = NULL;
	if (id.user) {
		snprintf(buf, len, "%s", id.user);
		u = buf;
	}
	identity_clear(&id);
	return u;
}

/* ---- NFLOG: sessions the kernel decided ------------------------------------ */

static void flow_key(const struct flow *f, struct session_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)f->family;
	k->proto = f->proto;
	if (f->family == AF_INET) {
		uint32_t s = htonl(f->src4);
		memcpy(k->src, &s, 4);
	} else {
		for (int i = 0; i < 16; i++)
			k->src[i] = (uint8_t)(f->src6 >> (8 * (15 - i)));
	}
}

static void on_nflog_rec(const struct nflog_rec *nr, void *arg)
{
	struct daemon *d = arg;
	const struct policy *p = d->gen->policy;
	const struct rule *r = rule_of(p, nr->rule_id);
	/* a record of the ruleset before a reload may name another rule:
	 * the name only when this generation's rule logs the same action */
	if (r && (!r->log || r->action != nr->action))
		r = NULL;
	struct session_key k;
	flow_key(&nr->flow, &k);
	char ubuf[FWLOG_USER_MAX];
	struct fwlog_rec rec = {
	    .event = FWLOG_KERNEL_DECIDED,
	    .flow = nr->flow,
	    .src_net = net_of(p, &nr->flow, false),
	    .dst_net = net_of(p, &nr->flow, true),
	    .action = nr->action == ACT_ALLOW ? VERDICT_ALLOW : VERDICT_DENY,
	    .rule = r ? r->name : NULL,
	    .user = user_at(d, &k, ubuf, sizeof(ubuf)),
	    .reason = RSN_RULE};
	clock_gettime(CLOCK_REALTIME, &rec.time);
	fwlog_record(d->fwlog, &rec);
}

static void on_nflog_ready(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	if (nflog_reader_read(d->kernlog->nfl, KERNLOG_READS) < 0)
		log_warn("firewall log: reading NFLOG group %u",
			 d->kernlog->group);
}

/* ---- conntrack: sessions that ended ------------------------------------------ */

static const char *reserved_name(unsigned id)
{
	switch (id) {
	case MARK_ID_PUBLISHED: return "(published)";
	case MARK_ID_FAILOPEN: return "(fail-open)";
	case MARK_ID_CREATION: return "(creation)";
	default: return NULL;
	}
}

/* Whether INFO, the facts remembered under END's key, are END's own: not
 * those of a later session with the same addresses and ports, decided
 * after END ended (a SYN that reused its entry). Seconds are all INFO
 * has: a decision in END's last second counts as END's. */
static bool facts_of(const struct ct_end *end, const struct session_info *info)
{
	return !end->stop_ns ||
	       (uint64_t)info->decided <= end->stop_ns / 1000000000u;
}

/* Keeps the facts of E's session (in D->sessions) in K->cut for its end
 * record. */
static void keep_cut_facts(struct kernlog *k, struct sessions *from,
			   const struct ct_entry *e)
{
	struct session_info si;
	if (!from || !entry_session_get(from, e, &si))
		return;
	struct session_facts f = {.source = si.source,
				  .user = si.user,
				  .groups = (const char *const *)si.groups,
				  .ngroups = si.ngroups,
				  .groups_unknown = si.groups_unknown,
				  .name = si.name};
	struct session_key key;
	ct_entry_seen_key(e, &key);
	if (!k->cut)
		k->cut = sessions_new(KERNLOG_CUT_MAX);
	sessions_put(k->cut, &key, si.rule, si.gen, si.decided, &f);
	session_info_clear(&si);
}

int kernlog_cut(struct daemon *d, const struct ct_entry *e, int rule)
{
	uint32_t m = mark_set(d->kopts.mark_shift, e->mark, MARK_DEC_DENY,
			      mark_rule_id(rule));
	if (m != e->mark && ct_set_mark(e, m) < 0 && errno == ENOENT)
		return -1;
	if (ct_delete(e) < 0) {
		int err = errno;
		if (m != e->mark && err != ENOENT) /* judged again next time */
			(void)ct_set_mark(e, e->mark);
		errno = err;
		return -1;
	}
	if (d->kernlog && d->kernlog->cte)
		keep_cut_facts(d->kernlog, d->sessions, e);
	entry_session_del(d->sessions, e);
	return 0;
}

static void on_ct_end(const struct ct_end *end, void *arg)
{
	struct daemon *d = arg;
	const struct policy *p = d->gen->policy;
	uint32_t shift = d->kernlog->shift;
	unsigned dec = mark_dec(shift, end->e.mark);
	unsigned id = mark_id(shift, end->e.mark);
	if (dec == MARK_DEC_ALLOW && id == MARK_ID_SELF)
		return; /* sluiced's own lookups: not the users' */
	const struct rule *r = rule_of(p, id);
	struct session_info info;
	struct kernlog *k = d->kernlog;
	/* a session kernlog_cut() cut: its facts were kept for this */
	bool cut = dec == MARK_DEC_DENY && k->cut &&
		   entry_session_get(k->cut, &end->e, &info);
	if (cut)
		entry_session_del(k->cut, &end->e);
	bool known = cut || (d->sessions &&
			     entry_session_get(d->sessions, &end->e, &info));
	if (known && !cut && !facts_of(end, &info)) {
		session_info_clear(&info);
		known = false;
	}
	char ubuf[FWLOG_USER_MAX];
	struct fwlog_rec rec = {
	    .event = FWLOG_SESSION_END,
	    .action = dec == MARK_DEC_ALLOW ? VERDICT_ALLOW : VERDICT_DENY,
	    .rule = r ? r->name : reserved_name(id),
	    .user = known ? info.user
			  : user_at(d, &end->e.key, ubuf, sizeof(ubuf)),
	    .name = known ? info.name : NULL,
	    /* a cut by the default deny (kernlog_cut) has no rule */
	    .reason = dec == MARK_DEC_DENY && id == MARK_ID_SELF ? RSN_DEFAULT
								 : RSN_RULE,
	    .counts = {.bytes_out = end->bytes_orig,
		       .packets_out = end->packets_orig,
		       .bytes_in = end->bytes_repl,
		       .packets_in = end->packets_repl}};
	ct_entry_flow(&end->e, &d->kernlog->local, &rec.flow);
	rec.src_net = net_of(p, &rec.flow, false);
	rec.dst_net = net_of(p, &rec.flow, true);
	if (end->start_ns && end->stop_ns >= end->start_ns)
		rec.counts.duration_ms = (end->stop_ns - end->start_ns) / 1000000;
	if (end->stop_ns) {
		rec.time.tv_sec = (time_t)(end->stop_ns / 1000000000u);
		rec.time.tv_nsec = (long)(end->stop_ns % 1000000000u);
	} else {
		clock_gettime(CLOCK_REALTIME, &rec.time);
	}
	fwlog_record(d->fwlog, &rec);
	if (known)
		session_info_clear(&info);
}

static void on_ct_ready(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	if (ct_events_read(d->kernlog->cte, KERNLOG_READS) < 0)
		log_warn("firewall log: reading conntrack events");
}

/* ---- the readers, as the policy asks ---------------------------------------- */

static void close_nflog(struct kernlog *k)
{
	uint64_t n, bad, lost;
	nflog_reader_stats(k->nfl, &n, &bad, &lost);
	k->decided_old += n;
	k->lost_old += bad + lost;
	if (k->ev_nfl)
		event_free(k->ev_nfl);
	k->ev_nfl = NULL;
	nflog_reader_close(k->nfl);
	k->nfl = NULL;
}

static void close_ct(struct kernlog *k)
{
	uint64_t n, lost;
	ct_events_stats(k->cte, &n, &lost);
	k->ends_old += n;
	k->lost_old += lost;
	if (k->ev_cte)
		event_free(k->ev_cte);
	k->ev_cte = NULL;
	ct_events_close(k->cte);
	k->cte = NULL;
}

static bool policy_logs_kernel(const struct policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i]->log && rule_kernel_decidable(p->rules[i]))
			return true;
	return false;
}

static void open_nflog(struct daemon *d, uint16_t group)
{
	struct kernlog *k = d->kernlog;
	k->nfl = nflog_reader_open(group, on_nflog_rec, d);
	if (!k->nfl) {
		daemon_warn(d, errno, "firewall log: cannot bind NFLOG group "
			    "%u (kernel-decided sessions are not logged)",
			    group);
		return;
	}
	k->group = group;
	k->ev_nfl = event_new(d->base, nflog_reader_fd(k->nfl),
			      EV_READ | EV_PERSIST, on_nflog_ready, d);
	event_add(k->ev_nfl, NULL);
}

static void open_ct(struct daemon *d, uint32_t shift)
{
	struct kernlog *k = d->kernlog;
	/* decided sessions: allowed, or denied later (revoked) */
	uint32_t vals[2] = {mark_make(shift, MARK_DEC_ALLOW, 0),
			    mark_make(shift, MARK_DEC_DENY, 0)};
	uint32_t mask = mark_make(shift, 3u, 0);
	k->cte = ct_events_open(mask, vals, 2, on_ct_end, d);
	if (!k->cte) {
		daemon_warn(d, errno, "firewall log: cannot subscribe to "
			    "conntrack events (session ends are not logged)");
		return;
	}
	k->shift = shift;
	k->ev_cte = event_new(d->base, ct_events_fd(k->cte),
			      EV_READ | EV_PERSIST, on_ct_ready, d);
	event_add(k->ev_cte, NULL);
}

void kernlog_configure(struct daemon *d, const struct policy *p)
{
	if (!d->kernlog)
		d->kernlog = xcalloc(1, sizeof(*d->kernlog));
	struct kernlog *k = d->kernlog;
	ct_local_free(&k->local);
	ct_local_get(&k->local);
	bool logging = d->fwlog != NULL;
	uint16_t group = (uint16_t)p->log.nflog_group;
	if (k->nfl && (!logging || !policy_logs_kernel(p) || group != k->group))
		close_nflog(k);
	if (!k->nfl && logging && policy_logs_kernel(p))
		open_nflog(d, group);
	uint32_t shift = p->queue.mark_shift;
	if (k->cte && (!logging || shift != k->shift))
		close_ct(k);
	if (!k->cte && logging)
		open_ct(d, shift);
}

void kernlog_close(struct daemon *d)
{
	struct kernlog *k = d->kernlog;
	if (!k)
		return;
	close_nflog(k);
	close_ct(k);
	ct_local_free(&k->local);
	sessions_free(k->cut);
	free(k);
	d->kernlog = NULL;
}

void kernlog_snapshot(struct daemon *d, struct stats_snapshot *s)
{
	const struct kernlog *k = d->kernlog;
	if (!k)
		return;
	uint64_t n, bad, lost, ends, ctlost;
	nflog_reader_stats(k->nfl, &n, &bad, &lost);
	ct_events_stats(k->cte, &ends, &ctlost);
	s->fwlog_kernel_decided = k->decided_old + n;
	s->fwlog_session_ends = k->ends_old + ends;
	s->fwlog_kernel_lost = k->lost_old + bad + lost + ctlost;
}
