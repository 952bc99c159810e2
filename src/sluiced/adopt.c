/*
 * adopt.c — the sessions that exist when sluiced starts. Before the first
 * start nothing marked them, and a restart may run another policy: each
 * conntrack entry is judged against the policy the way reload revocation
 * judges (src/sluiced/reload.c), so the administrator's SSH session and
 * every session the policy allows keep flowing, denied ones are cut, and
 * those that need a fact not known yet (the user behind an address, the
 * destination's name, a filter) are kept, marked with the rule they wait
 * on, until their facts are known. See sluiced(8), START-UP.
 */
#include "sluiced/daemon.h"
#include "common/log.h"
#include "common/util.h"
#include "decide/sessions.h"
#include "identity/idtable.h"
#include "kernel/conntrack.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* The sessions kept for facts not known yet, sorted (memcmp of the key),
 * and until when an address without an identity still counts as "not
 * known yet". */
struct adopt {
	struct session_key *v;
	size_t n;
	time_t grace_end;
};

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct session_key));
}

static bool adopt_waiting(const struct adopt *a, const struct session_key *k)
{
	return a && a->n && bsearch(k, a->v, a->n, sizeof(*k), key_cmp);
}

/* What E's mark says it is, for adoption. */
enum kind { K_SKIP, K_UNDECIDED, K_DECIDED };

static enum kind entry_kind(const struct daemon *d, const struct ct_entry *e,
			    const struct flow *f)
{
	if (e->key.proto == IPPROTO_TCP &&
	    (e->tcp_state == 7 || e->tcp_state == 8))
		return K_SKIP; /* TIME_WAIT, CLOSE: already over */
	if (f->src_local && f->dst_local)
		return K_SKIP; /* the gateway talking to itself (lo) */
	unsigned dec = mark_dec(d->kopts.mark_shift, e->mark);
	if (dec == RS_DEC_NONE || dec == RS_DEC_QUEUE)
		return K_UNDECIDED;
	if (mark_allowed_by_rule(d->kopts.mark_shift, e->mark))
		return K_DECIDED; /* by a policy rule, maybe of another run */
	return K_SKIP; /* denied, sluiced's own, creation, published, fail */
}

/*
 * Judges E (flow F) under generation G as revocation does: the source's
 * identity from the address table; without one, "not known yet" while
 * KNOWN_NOBODY is false (pending), else "nobody"; the name remembered from
 * a decision, else not known (pending).
 */
static void judge(struct daemon *d, const struct gen *g,
		  const struct ct_entry *e, const struct flow *f,
		  bool known_nobody, struct decision *dc)
{
	struct identity id = {0};
	struct facts fx = {0};
	struct session_info si;
	if (idtable_get(d->ids, e->key.family, e->key.src, &id)) {
		fx.known |= NEED_IDENTITY;
		fx.user = id.user;
		fx.groups = (const char *const *)id.groups;
		fx.ngroups = id.ngroups;
	} else if (known_nobody) {
		fx.known |= NEED_IDENTITY;
	}
	if (entry_session_get(d->sessions, e, &si) && si.name) {
		/* the one name kept: others may exist (partial) */
		fx.known |= NEED_NAME;
		fx.names = (const char *const *)&si.name;
		fx.nnames = 1;
		fx.names_partial = true;
	}
	engine_eval(g->engine, f, &fx, dc);
	identity_clear(&id);
	session_info_clear(&si);
}

/* Sets E's mark to ALLOW by RULE (keeping the bits sluice does not own)
 * when it is not that already. */
static void mark_allow(const struct daemon *d, const struct ct_entry *e,
		       int rule)
{
	uint32_t want = (e->mark & ~rs_mark_own(&d->kopts)) |
			rs_mark(&d->kopts, RS_DEC_ALLOW, rs_rule_id((size_t)rule));
	if (want != e->mark && ct_set_mark(e, want) < 0)
		log_warn("adopt: marking a session");
}

struct pass {
	bool cut;	   /* delete denied entries (after the install) */
	bool only_waiting; /* judge only the entries kept for facts */
	bool known_nobody; /* no identity in the table = nobody */
	struct adopt_counts c;
	struct session_key *wait; /* the entries still waiting (vector) */
	size_t nwait;
};

static void pass_entry(struct daemon *d, const struct gen *g,
		       const struct ct_entry *e, const struct ct_local *la,
		       struct pass *ps)
{
	struct flow f;
	ct_entry_flow(e, la, &f);
	enum kind k = entry_kind(d, e, &f);
	if (k == K_SKIP || (ps->only_waiting && !adopt_waiting(d->adopt, &e->key)))
		return;
	if (k == K_DECIDED && !ps->cut)
		return; /* flows on its mark; judged after the install */
	struct decision dc;
	judge(d, g, e, &f, ps->known_nobody, &dc);
	if (dc.verdict == VERDICT_ALLOW) {
		mark_allow(d, e, dc.rule);
		ps->c.allowed++;
	} else if (dc.verdict == VERDICT_PENDING) {
		if (k == K_UNDECIDED) /* it passes while it waits */
			mark_allow(d, e, dc.rule);
		VEC_PUSH(ps->wait, ps->nwait, e->key);
		ps->c.pending++;
	} else if (ps->cut) {
		if (kernlog_cut(d, e, dc.rule) == 0)
			ps->c.cut++;
	} else {
		ps->c.denied_later++;
	}
}

/* One pass over the conntrack table; the entries left waiting replace the
 * list in D->adopt. 0, or -1 when conntrack cannot be read. */
static int run_pass(struct daemon *d, struct pass *ps)
{
	struct ct_list l;
	if (ct_dump(&l) < 0) {
		log_warn("adopt: conntrack dump");
		return -1;
	}
	struct ct_local la;
	ct_local_get(&la);
	pthread_mutex_lock(&d->gen_lock);
	struct gen *g = gen_ref(d->gen);
	pthread_mutex_unlock(&d->gen_lock);
	for (size_t i = 0; i < l.n; i++)
		pass_entry(d, g, &l.v[i], &la, ps);
	gen_unref(g);
	ct_local_free(&la);
	ct_list_free(&l);
	if (ps->nwait)
		xqsort(ps->wait, ps->nwait, sizeof(*ps->wait), key_cmp);
	free(d->adopt->v);
	d->adopt->v = ps->wait;
	d->adopt->n = ps->nwait;
	return 0;
}

void daemon_adopt(struct daemon *d, bool installed, struct adopt_counts *c)
{
	if (!d->adopt) {
		d->adopt = xcalloc(1, sizeof(*d->adopt));
		d->adopt->grace_end =
		    time(NULL) + (time_t)d->gen->policy->queue.adopt_window_s;
	}
	struct pass ps = {.cut = installed};
	run_pass(d, &ps);
	*c = ps.c;
	d->revoked += ps.c.cut; /* cut by judging again, as revocation */
}

size_t daemon_adopt_waiting(const struct daemon *d)
{
	return d->adopt ? d->adopt->n : 0;
}

/* The window is over: mid-stream pickups are dropped again, and what is
 * still waiting is left to reload revocation, as every session is. */
static void adopt_close(struct daemon *d)
{
	char *err = NULL;
	d->adopt_open = false;
	d->kopts.adopt = false;
	if (ruleset_adopt_close(&d->kopts, &err) < 0) {
		log_warnx("adoption: %s", err);
		free(err);
	}
	free(d->adopt->v);
	d->adopt->v = NULL;
	d->adopt->n = 0;
	log_info("adoption window closed");
}

void daemon_adopt_recheck(struct daemon *d)
{
	if (!d->adopt || (!d->adopt->n && !d->adopt_open))
		return;
	bool last = time(NULL) >= d->adopt->grace_end;
	struct pass ps = {.cut = true, .only_waiting = true,
			  .known_nobody = last};
	if (d->adopt->n && run_pass(d, &ps) == 0) {
		d->revoked += ps.c.cut; /* cut by judging again, as revocation */
		if (ps.c.allowed || ps.c.cut)
			log_info("adopted sessions: %zu now allowed, %zu cut, "
				 "%zu still waiting for facts", ps.c.allowed,
				 ps.c.cut, ps.c.pending);
	}
	if (last)
		adopt_close(d);
}

void daemon_adopt_free(struct daemon *d)
{
	if (!d->adopt)
		return;
	free(d->adopt->v);
	free(d->adopt);
	d->adopt = NULL;
}
