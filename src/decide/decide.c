/*
 * decide.c — see decide.h.
 *
 * Pending decisions live in a hash table (common/htable.h, seeded: a
 * client choosing ports cannot aim at one chain) keyed by the session
 * 5-tuple (these kernels give queued packets no conntrack id) and on an age
 * list (a TAILQ), oldest first, so the tick only looks at the head. Every
 * pending decision has the same deadline length, so age order is deadline
 * order. The per-source counts are a second seeded table.
 */
#include "decide/decide.h"
#include "common/bytes.h"
#include "decide/sessions.h"
#include "identity/idtable.h"
#include "common/htable.h"
#include "common/username.h"
#include "common/util.h"

#include <errno.h>
#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#define MAX_JOINED 16 /* packets of one session waiting together */
#define PENDING_HINT 4096 /* the tables' first size (they grow) */

/* A source of the per-source cap: an address family and the client
 * address cut to the configured prefix (the rest zeroed). */
struct srckey {
	uint8_t family, addr[16];
};

struct pending {
	struct session_key key;
	struct flow flow;
	uint32_t ids[MAX_JOINED], marks[MAX_JOINED];
	int nids;
	uint64_t t0;
	struct gen *gen;
	struct decision last;
	unsigned waiting; /* lookups in flight (NEED_*) */
	bool local;    /* from or to the gateway itself (shown) */
	bool reserved; /* holds a reserved-local slot */
	bool counted;  /* counted against its source (src below) */
	struct srckey src; /* its source, as counted at admission */
	uint64_t seq;  /* answers carry it: stale ones are dropped */
	bool has_uid;  /* a local socket's credentials came with the packet */
	uint32_t uid;
	struct identity id;
	bool id_known;
	bool groups_unknown; /* the directory did not answer for id.user */
	bool groups_asked;   /* id.groups come from the directory */
	bool name_known;
	char **names; /* the destination's names (lookups.c), owned */
	size_t nnames;
	bool names_partial;
	bool names_more; /* the names at hand only: more can be asked */
	int first_rule;	 /* where the first pass stopped */
	uint8_t *query;	 /* a copy of the first packet, kept while a later
			  * `filter dns` rule may decide (show_dns_final) */
	size_t query_len;
	unsigned failed; /* NEED_* whose lookup failed (timeout, server down):
			  * unknown until the deadline, never asked again */
	struct htable_node hn;	    /* in decider.pending, by key */
	TAILQ_ENTRY(pending) age;   /* in decider.age */
};

struct srccount {
	struct srckey k;
	uint32_t n;
	struct htable_node hn; /* in decider.src, by k */
};

struct decider {
	uint64_t t_arrival; /* now_ns() when the packet in hand arrived */
	struct decide_env env;
	struct decide_cfg cfg;
	struct htable pending;		 /* struct pending by key */
	TAILQ_HEAD(, pending) age;	 /* oldest first */
	size_t npending, nreserved;
	size_t njoined; /* packets held beyond each decision's first */
	struct htable src;		 /* struct srccount by k */
	struct decide_stats st;
	uint64_t next_seq;
	uint64_t answered_now; /* questions answered at once (ask) */
};

struct gen *gen_ref(struct gen *g)
{
	__atomic_add_fetch(&g->refs, 1, __ATOMIC_RELAXED);
	return g;
}

void gen_unref(struct gen *g)
{
	if (g && __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		engine_free(g->engine);
		policy_free(g->policy); /* with its own diagnostics */
		free(g);
	}
}

static uint64_t pending_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, sizeof(struct session_key));
}

static bool pending_equal(const struct htable_node *n, const void *key)
{
	return memcmp(&HTABLE_ENTRY(n, const struct pending, hn)->key, key,
		      sizeof(struct session_key)) == 0;
}

static const struct htable_ops pending_ops = {pending_hash, pending_equal};

static uint64_t src_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, sizeof(struct srckey));
}

static bool src_equal(const struct htable_node *n, const void *key)
{
	return memcmp(&HTABLE_ENTRY(n, const struct srccount, hn)->k, key,
		      sizeof(struct srckey)) == 0;
}

static const struct htable_ops src_ops = {src_hash, src_equal};

struct decider *decider_new(const struct decide_env *env,
			    const struct decide_cfg *cfg)
{
	struct decider *d = xcalloc(1, sizeof(*d));
	d->env = *env;
	d->cfg = *cfg;
	htable_init(&d->pending, &pending_ops, PENDING_HINT);
	TAILQ_INIT(&d->age);
	htable_init(&d->src, &src_ops, PENDING_HINT);
	return d;
}

void decider_configure(struct decider *d, const struct decide_cfg *cfg)
{
	d->cfg = *cfg;
}

/* ---- per-source counts ------------------------------------------------------ */

/* The source K counts against: its source address cut to the prefix of
 * its family (per-source-prefix-v4/-v6), so the addresses of one subnet,
 * which one host may hold many of (IPv6), are one source. */
static void src_key(const struct decider *d, const struct session_key *k,
		    struct srckey *out)
{
	unsigned bits = k->family == AF_INET ? d->cfg.per_source_prefix_v4
					     : d->cfg.per_source_prefix_v6;
	unsigned max = k->family == AF_INET ? 32 : 128;
	if (bits == 0 || bits > max)
		bits = max; /* unset (tests, old callers): the whole address */
	memset(out, 0, sizeof(*out));
	out->family = k->family;
	prefix_cut(out->addr, k->src, bits);
}

static struct srccount *src_find(struct decider *d, const struct srckey *k,
				 uint64_t h)
{
	return HTABLE_ENTRY(htable_find_hashed(&d->src, h, k), struct srccount,
			    hn);
}

static uint32_t src_get(struct decider *d, const struct srckey *k)
{
	struct srccount *s = src_find(d, k, htable_hash(&d->src, k));
	return s ? s->n : 0;
}

/* Adds DELTA (+1, -1) to K's count; the entry goes when it reaches 0. */
static void src_add(struct decider *d, const struct srckey *k, int delta)
{
	uint64_t h = htable_hash(&d->src, k);
	struct srccount *s = src_find(d, k, h);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->k = *k;
		htable_insert_hashed(&d->src, &s->hn, h);
	}
	s->n = (uint32_t)((int)s->n + delta);
	if (s->n == 0) {
		htable_remove(&d->src, &s->hn);
		free(s);
	}
}

/* ---- the table ------------------------------------------------------------------ */

/* The pending decision of K (hash H: htable_hash of d->pending), or NULL. */
static struct pending *find(struct decider *d, const struct session_key *k,
			    uint64_t h)
{
	return HTABLE_ENTRY(htable_find_hashed(&d->pending, h, k),
			    struct pending, hn);
}

static void unlink_pending(struct decider *d, struct pending *p)
{
	htable_remove(&d->pending, &p->hn);
	TAILQ_REMOVE(&d->age, p, age);
	d->npending--;
	d->njoined -= (size_t)(p->nids - 1);
	if (p->reserved)
		d->nreserved--;
	if (p->counted)
		src_add(d, &p->src, -1);
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_pending(struct pending *p)
{
	gen_unref(p->gen);
	identity_clear(&p->id);
	free_names(p->names, p->nnames);
	free(p->query);
	free(p);
}

void lookup_req_free(struct lookup_req *r)
{
	if (!r)
		return;
	free_names(r->names, r->nnames);
	free(r->user);
	free(r->user_out);
	for (size_t i = 0; i < r->ngroups; i++)
		free(r->groups[i]);
	free(r->groups);
	free(r);
}

/* ---- verdicts --------------------------------------------------------------------- */

static void record_latency(struct decider *d, uint64_t ns)
{
	static const uint64_t bounds[LATENCY_NBUCKETS - 1] = {
	    LATENCY_BOUNDS_US(LATENCY_NS_)};
	int i = 0;
	while (i < LATENCY_NBUCKETS - 1 && ns > bounds[i])
		i++;
	d->st.latency_hist[i]++;
	d->st.latency_ns_sum += ns;
}

/* Answers packet ID (old mark MARK) with verdict V for rule index RULE. */
static void answer(struct decider *d, uint32_t id, uint32_t mark,
		   enum verdict v, int rule)
{
	if (v == VERDICT_ALLOW) {
		uint32_t m = mark_set(d->cfg.mark_shift, mark, MARK_DEC_ALLOW,
				      mark_rule_id(rule));
		d->env.verdict(d->env.arg, id, NF_REPEAT, true, m);
		d->st.verdict_allow++;
	} else {
		d->env.verdict(d->env.arg, id, NF_DROP, false, 0);
		d->st.verdict_deny++;
	}
}

/*
 * A denial the policy (or the deadline) decided, sent so the kernel can
 * remember it (ruleset.c, the deny memory): NF_REPEAT with the DENY mark and
 * RULE's id, or the REJECT id when the kernel is to answer the client with
 * a TCP reset / ICMP administratively prohibited. The xt SLUICE chain lets
 * it through to the stage after it (queue_bypassed), which puts the 5-tuple
 * in the denied (rejected) set and drops (rejects) the packet, so the
 * session's retransmits end in the kernel. Transient refusals (malformed,
 * overflow, slots full) use answer() and are not remembered.
 */
static void answer_denial(struct decider *d, uint32_t id, uint32_t mark,
			  int rule, bool reject)
{
	unsigned rid = reject ? MARK_ID_REJECT : mark_rule_id(rule);
	uint32_t m = mark_set(d->cfg.mark_shift, mark, MARK_DEC_DENY, rid);
	d->env.verdict(d->env.arg, id, NF_REPEAT, true, m);
	d->st.verdict_deny++;
	if (reject)
		d->st.verdict_reject++;
}

/* True when a denial by RULE (index, -1 = the implicit final deny) for
 * reason WHY rejects: a `reject` rule always, a `deny` rule never, the
 * implicit deny and deadline denials as decisions { deny-action } says. */
static bool denial_rejects(const struct decider *d, const struct gen *g,
			   int rule, enum reason why)
{
	if (why == RSN_RULE && rule >= 0 && g && g->policy &&
	    (size_t)rule < g->policy->nrules)
		return g->policy->rules[rule]->action == ACT_REJECT;
	return d->cfg.deny_action == DENYACT_REJECT;
}

/* The answer of a decision (not of sluiced's own trouble): ALLOW, or a
 * remembered denial; a denial at the deadline is remembered only when it
 * rejects (the lookup may answer by the next retransmit). */
static void answer_decided(struct decider *d, const struct gen *g,
			   uint32_t id, uint32_t mark, enum verdict v,
			   int rule, enum reason why)
{
	bool reject = v != VERDICT_ALLOW && denial_rejects(d, g, rule, why);
	if (v == VERDICT_ALLOW || (why == RSN_DEADLINE && !reject))
		answer(d, id, mark, v, rule); /* a deadline is transient: a
					       * retransmit is asked again */
	else
		answer_denial(d, id, mark, rule, reject);
}

/* The fail mode's answer, for sluiced's own trouble only (watchdog,
 * shutdown): never for anything a client's packets can bring about. */
static void answer_fail(struct decider *d, uint32_t id, uint32_t mark)
{
	d->st.verdict_fail++;
	if (d->cfg.fail_open) {
		uint32_t m = mark_set(d->cfg.mark_shift, mark, MARK_DEC_ALLOW,
				      MARK_ID_FAILOPEN);
		d->env.verdict(d->env.arg, id, NF_REPEAT, true, m);
	} else {
		d->env.verdict(d->env.arg, id, NF_DROP, false, 0);
	}
}

/* True when a `filter dns` rule after rule FROM (-1: from the first) may
 * match F by its header facts: a session that sluiced goes on deciding
 * may end at it, and its first packet must then reach the DNS filter. */
static bool may_filter_dns(const struct gen *g, const struct flow *f, int from)
{
	const struct policy *pol = g->policy;
	if (!engine_filters_dns(g->engine))
		return false; /* (most policies: no scan on the decision path) */
	for (size_t i = from < 0 ? 0 : (size_t)from + 1; i < pol->nrules; i++)
		if (rule_filters_dns(pol->rules[i]) &&
		    rule_header_match(pol->rules[i], f))
			return true;
	return false;
}

/* The largest first packet kept for show_dns_final (a DNS query over UDP
 * is at most 512 bytes without EDNS, RFC 1035 4.2.1; EDNS allows 4096). */
#define QUERY_COPY_MAX 4096

/* A session allowed (V) by RULE, a `filter dns` rule, after its first
 * pass stopped at another rule (FIRST_RULE, whose show_dns_first did not
 * show it): its first packet (PKT, LEN; NULL when none was kept) goes to
 * the DNS filter now, before the verdict releases it, so the answer finds
 * its query. False when the filter refuses the query (the session is then
 * denied for the filter). */
static bool show_dns_final(struct decider *d, const struct gen *g,
			   int first_rule, int rule, enum verdict v,
			   const uint8_t *pkt, size_t len)
{
	if (v != VERDICT_ALLOW || !d->env.dns_first || !pkt || rule < 0 ||
	    rule == first_rule || (size_t)rule >= g->policy->nrules ||
	    !rule_filters_dns(g->policy->rules[rule]))
		return true;
	return d->env.dns_first(d->env.ctx, pkt, len);
}

/* The name P is logged and remembered by: the one its rule matched, else
 * the first it has (the set is sorted: deterministic), else NULL. */
static const char *shown_name(const struct pending *p)
{
	if (p->last.name)
		return p->last.name;
	return p->nnames ? p->names[0] : NULL;
}

/* Ends P with verdict V (or the fail mode when FAIL) and frees it. */
static void finish(struct decider *d, struct pending *p, enum verdict v,
		   int rule, bool fail, enum reason why)
{
	if (!fail && !show_dns_final(d, p->gen, p->first_rule, rule, v,
				     p->query, p->query_len)) {
		v = VERDICT_DENY;
		why = RSN_FILTER;
	}
	/* the latency ends where the verdict is given: before its send,
	 * whose reinjection forwards the packet (kernel time, not ours) */
	uint64_t lat = d->env.now_ns() - p->t0;
	for (int i = 0; i < p->nids; i++) {
		if (fail)
			answer_fail(d, p->ids[i], p->marks[i]);
		else
			answer_decided(d, p->gen, p->ids[i], p->marks[i], v,
				       rule, why == RSN_RULE && rule < 0
						     ? RSN_DEFAULT : why);
	}
	record_latency(d, lat);
	if (d->env.record) {
		if (why == RSN_RULE && rule < 0)
			why = RSN_DEFAULT;
		enum verdict rv = fail ? (d->cfg.fail_open ? VERDICT_ALLOW
							   : VERDICT_DENY)
				       : v;
		d->env.record(d->env.ctx, &p->flow, p->gen, rv, rule,
			      p->id_known ? p->id.user : NULL, shown_name(p), why,
			      lat);
	}
	if (!fail && v == VERDICT_ALLOW && d->env.decided) {
		struct session_facts sf = {.name = shown_name(p)};
		if (p->id_known) {
			sf.source = p->flow.src_local && p->has_uid
					    ? IDSRC_LOCAL
				    : p->groups_asked ? IDSRC_DIRECTORY
						      : IDSRC_TABLE;
			sf.user = p->id.user;
			sf.groups = (const char *const *)p->id.groups;
			sf.ngroups = p->id.ngroups;
			sf.groups_unknown = p->groups_unknown;
		}
		d->env.decided(d->env.ctx, &p->key, p->gen, rule, &sf);
	}
	unlink_pending(d, p);
	free_pending(p);
}

/* ---- lookups ------------------------------------------------------------------------ */

static bool take_answer(struct decider *d, struct pending *p,
			struct lookup_req *r);

enum asked {
	ASK_NONE,     /* nobody answers questions */
	ASK_SENT,     /* the answer comes later (decider_answer) */
	ASK_ANSWERED, /* answered at once from answers at hand, taken */
};

/* Asks a question of KIND for P: answered at once when env.lookup_cached
 * has the answer at hand (no thread round trip), else sent to env.lookup. */
static enum asked ask(struct decider *d, struct pending *p,
		      enum lookup_kind kind)
{
	if (!d->env.lookup)
		return ASK_NONE;
	struct lookup_req *r = xcalloc(1, sizeof(*r));
	r->kind = kind;
	r->key = p->key;
	r->seq = p->seq;
	r->worker = d->env.arg;
	switch (kind) {
	case LK_NAME:
		r->family = p->key.family;
		memcpy(r->addr, p->key.dst, 16);
		r->names_full = p->names_more;
		d->st.lookups_name++;
		break;
	case LK_UID:
		r->uid = p->uid;
		d->st.lookups_uid++;
		break;
	case LK_GROUPS:
		r->user = xstrdup(p->id.user);
		d->st.lookups_groups++;
		break;
	}
	if (d->env.lookup_cached && d->env.lookup_cached(d->env.lookup_ctx, r)) {
		take_answer(d, p, r);
		d->answered_now++;
		d->st.lookups_at_hand++;
		return ASK_ANSWERED;
	}
	switch (kind) {
	case LK_NAME: d->st.in_flight_name++; break;
	case LK_UID: d->st.in_flight_uid++; break;
	case LK_GROUPS: d->st.in_flight_groups++; break;
	}
	d->env.lookup(d->env.lookup_ctx, r);
	return ASK_SENT;
}

/*
 * Starts the lookups P's decision needs and is not already waiting for.
 * Identity: a local socket's uid through NSS; a remote client from the
 * address table (sluicectl identity), its groups from the directory when
 * the table gave none and a directory is configured. Names: the resolver.
 * What nobody can answer (application filters) waits for the deadline.
 */
static void start_lookups(struct decider *d, struct pending *p, unsigned needs)
{
	if ((needs & NEED_IDENTITY) && !p->id_known &&
	    !((p->waiting | p->failed) & NEED_IDENTITY)) {
		d->st.lookups_identity++;
		if (p->flow.src_local && p->has_uid) {
			enum asked a = ask(d, p, LK_UID);
			if (a == ASK_SENT)
				p->waiting |= NEED_IDENTITY;
			else if (a == ASK_NONE)
				p->id_known = true; /* nobody can say */
		} else {
			bool found = d->env.ids &&
				     idtable_get(d->env.ids, p->key.family,
						 p->key.src, &p->id);
			enum asked a = found && p->id.ngroups == 0 &&
					       d->cfg.directory
					   ? ask(d, p, LK_GROUPS)
					   : ASK_NONE;
			if (a == ASK_SENT)
				p->waiting |= NEED_IDENTITY;
			if (a != ASK_NONE)
				p->groups_asked = true;
			else
				p->id_known = true;
		}
	}
	if ((needs & NEED_NAME) && (!p->name_known || p->names_more) &&
	    !((p->waiting | p->failed) & NEED_NAME)) {
		/* no lookups: waits for the deadline */
		if (ask(d, p, LK_NAME) != ASK_ANSWERED)
			p->waiting |= NEED_NAME;
	}
	if (needs & NEED_FILTER)
		p->waiting |= NEED_FILTER; /* no filter answers yet */
}

/* Builds the facts P has gathered; ON_DEADLINE_SKIP turns what is still
 * missing into "known not to match". */
static void facts_of(const struct pending *p, struct facts *f, bool skip)
{
	memset(f, 0, sizeof(*f));
	if (p->id_known) {
		f->known |= NEED_IDENTITY;
		f->user = p->id.user;
		f->groups = (const char *const *)p->id.groups;
		f->ngroups = p->id.ngroups;
		f->groups_unknown = p->groups_unknown && !skip;
	}
	if (p->name_known) {
		f->known |= NEED_NAME;
		f->names = (const char *const *)p->names;
		f->nnames = p->nnames;
		f->names_partial = p->names_partial && !skip;
	}
	if (skip) {
		f->known |= NEED_IDENTITY | NEED_NAME | NEED_FILTER;
		f->filter_ok = false;
	}
}

/* Evaluates P with what is known; finishes it when the answer is final.
 * Returns true when P was finished (and freed). */
static bool evaluate(struct decider *d, struct pending *p, bool skip)
{
	for (int round = 0; round < 4; round++) {
		struct facts f;
		facts_of(p, &f, skip);
		engine_eval(p->gen->engine, &p->flow, &f, &p->last);
		if (p->last.verdict != VERDICT_PENDING) {
			finish(d, p, p->last.verdict, p->last.rule, false, RSN_RULE);
			return true;
		}
		bool before = p->id_known;
		uint64_t answered = d->answered_now;
		start_lookups(d, p, p->last.needs);
		if ((p->id_known == before && d->answered_now == answered) ||
		    p->waiting)
			return false; /* waits for an asynchronous answer */
	}
	return false;
}

/* ---- at once: every fact at hand, no pending entry ------------------------------------ */

struct at_once {
	struct decider *d;
	const struct flow *flow;
	const struct gen *g;
	struct decision dec;
	char user[256]; /* the decision's user, copied out of the table */
	bool has_user;
};

/* Under the address table's read lock: evaluates with the entry ID (NULL:
 * the address has no user). 1 when the answer is final, 0 when the slow
 * path must ask (the directory for groups, or more than the identity). */
static int eval_with_identity(void *arg, const struct identity *id)
{
	struct at_once *a = arg;
	if (id && id->ngroups == 0 && a->d->cfg.directory && a->d->env.lookup)
		return 0; /* the groups come from the directory */
	if (id && strlen(id->user) >= sizeof(a->user))
		return 0;
	struct facts f = {.known = NEED_IDENTITY};
	if (id) {
		f.user = id->user;
		f.groups = (const char *const *)id->groups;
		f.ngroups = id->ngroups;
	}
	engine_eval(a->g->engine, a->flow, &f, &a->dec);
	if (a->dec.verdict == VERDICT_PENDING)
		return 0;
	if (id) {
		strcpy(a->user, id->user);
		a->has_user = true;
	}
	return 1;
}

/*
 * The common case of a remote client whose only missing fact is its
 * identity, held in full by the address table: decides without a pending
 * entry, a slot or a copy, and sends the verdict before the bookkeeping
 * (sessions, firewall log). True when PKT was answered.
 */
static bool decide_at_once(struct decider *d, const struct qpacket *pkt,
			   const struct flow *flow, const struct session_key *key,
			   struct gen *g, const struct decision *first)
{
	if (first->needs != NEED_IDENTITY || !d->env.ids ||
	    (flow->src_local && pkt->has_uid))
		return false;
	struct at_once a = {.d = d, .flow = flow, .g = g};
	if (!idtable_with(d->env.ids, key->family, key->src,
			  eval_with_identity, &a))
		return false;
	d->st.lookups_identity++;
	d->st.decided_at_once++;
	enum reason why = a.dec.rule < 0 ? RSN_DEFAULT : RSN_RULE;
	if (!show_dns_final(d, g, first->rule, a.dec.rule, a.dec.verdict,
			    pkt->payload, pkt->len)) {
		a.dec.verdict = VERDICT_DENY;
		why = RSN_FILTER;
	}
	uint64_t lat = d->env.now_ns() - d->t_arrival; /* as in finish() */
	answer_decided(d, g, pkt->id, pkt->mark, a.dec.verdict, a.dec.rule, why);
	const char *user = a.has_user ? a.user : NULL;
	record_latency(d, lat);
	if (d->env.record)
		d->env.record(d->env.ctx, flow, g, a.dec.verdict, a.dec.rule,
			      user, NULL, why, lat);
	if (a.dec.verdict == VERDICT_ALLOW && d->env.decided) {
		struct session_facts sf = {.source = IDSRC_TABLE, .user = user};
		d->env.decided(d->env.ctx, key, g, a.dec.rule, &sf);
	}
	return true;
}

/* ---- packets -------------------------------------------------------------------------- */

/*
 * The cross-check of a queued packet: the kernel queues a packet with the
 * QUEUE mark and the id of the first rule whose header part matched as it
 * read the packet (ruleset.c, add_action()); sluiced's first pass over its
 * own reading must stop at that same rule. Any other answer means the two
 * read the packet differently (or the policy changed between the two, a
 * reload in flight), so nothing sluiced concluded from it can be trusted.
 * A mark without the QUEUE decision carries no kernel reading to compare.
 */
static bool kernel_agrees(const struct decider *d, uint32_t mark,
			  const struct decision *dec)
{
	uint32_t shift = d->cfg.mark_shift;
	if (mark_dec(shift, mark) != MARK_DEC_QUEUE)
		return true;
	unsigned id = mark_id(shift, mark);
	return id >= 1 && id <= MARK_ID_LAST && dec->rule >= 0 &&
	       mark_rule_id(dec->rule) == id;
}

/* PKT is one sluiced cannot read the way the kernel did: denied, never the
 * fail verdict; logged with FLOW when it was parsed (G: the generation). */
static void misread(struct decider *d, const struct qpacket *pkt,
		    const struct flow *flow, struct gen *g)
{
	d->st.misread++;
	answer(d, pkt->id, pkt->mark, VERDICT_DENY, -1);
	if (flow && g && d->env.record)
		d->env.record(d->env.ctx, flow, g, VERDICT_DENY, -1, NULL, NULL,
			      RSN_MISREAD, 0);
}

/* Refuses a new session that found no room (WHY: RSN_SLOTS, RSN_SOURCE):
 * its packet is denied, whatever the fail mode, since a client can bring
 * this about; the firewall log gets the refusal. */
static void refuse(struct decider *d, const struct qpacket *pkt,
		   const struct flow *flow, const struct gen *g, int rule,
		   enum reason why)
{
	answer(d, pkt->id, pkt->mark, VERDICT_DENY, rule);
	if (d->env.record)
		d->env.record(d->env.ctx, flow, g, VERDICT_DENY, rule, NULL,
			      NULL, why, 0);
}

/*
 * Admits a new session of FLOW/KEY to a decision slot: the general slots,
 * then, for a session the gateway itself opens, the reserved-local share;
 * every other session (sessions to the gateway included) also within its
 * source's per-source cap. Fills *RESERVED and *SRC (the source counted);
 * returns RSN_RULE when admitted, else RSN_SLOTS or RSN_SOURCE.
 */
static enum reason admit(struct decider *d, const struct flow *flow,
			 const struct session_key *key, bool *reserved,
			 struct srckey *src)
{
	bool own = flow->src_local; /* the gateway's own outgoing session */
	size_t general = d->cfg.slots > d->cfg.reserve_local
			     ? d->cfg.slots - d->cfg.reserve_local
			     : 0;
	*reserved = false;
	if (!own) {
		src_key(d, key, src);
		if (src_get(d, src) >= d->cfg.per_source) {
			d->st.source_full++;
			return RSN_SOURCE;
		}
	}
	if (d->npending - d->nreserved >= general) {
		if (!own || d->nreserved >= d->cfg.reserve_local) {
			d->st.slots_full++;
			return RSN_SLOTS;
		}
		*reserved = true;
		d->st.local_reserved_used++;
	}
	return RSN_RULE;
}

/* True when one more packet of a pending session may be held: the kernel
 * queue keeps one place per slot for first packets, and copies get only
 * what is beyond (so no client fills the queue, whose overflow is the
 * kernel's fail mode). */
static bool join_room(const struct decider *d)
{
	if (!d->cfg.queue_len)
		return true;
	size_t room = d->cfg.queue_len > d->cfg.slots
			  ? d->cfg.queue_len - d->cfg.slots
			  : 0;
	return d->njoined < room;
}

/* A session whose evaluation stops at a `filter dns` rule: its first
 * packet (a query) goes to the DNS filter whatever the decision will be
 * (a denied session's query is forgotten after its timeout). */
static bool show_dns_first(struct decider *d, const struct gen *g,
			   const struct decision *dec, const struct qpacket *pkt)
{
	if (d->env.dns_first && dec->rule >= 0 &&
	    (size_t)dec->rule < g->policy->nrules &&
	    rule_filters_dns(g->policy->rules[dec->rule]))
		return d->env.dns_first(d->env.ctx, pkt->payload, pkt->len);
	return true;
}

/* True when rule R has a `filter ftp read-only` protocol. */
static bool rule_ftp_read_only(const struct rule *r)
{
	for (size_t i = 0; i < r->nprotos; i++)
		if (r->protos[i]->filter_read_only)
			return true;
	return false;
}

bool gen_ftp_read_only(const struct policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (rule_ftp_read_only(p->rules[i]))
			return true;
	return false;
}

/* The first packet PKT of a TCP session (FLOW) that a `filter ftp
 * read-only` rule of G may decide (any such rule whose header matches:
 * the decision is not known yet) goes to the FTP filter, which refuses
 * a SYN with data (decide_env.ftp_first). False: drop it. */
static bool show_ftp_first(struct decider *d, const struct gen *g,
			   const struct flow *flow, const struct qpacket *pkt)
{
	const struct policy *pol = g->policy;
	if (!g->ftp_read_only || !d->env.ftp_first ||
	    flow->proto != IPPROTO_TCP)
		return true;
	for (size_t i = 0; i < pol->nrules; i++)
		if (rule_ftp_read_only(pol->rules[i]) &&
		    rule_header_match(pol->rules[i], flow))
			return d->env.ftp_first(d->env.ctx, pkt->payload,
						pkt->len);
	return true;
}

void decider_packet(struct decider *d, const struct qpacket *pkt)
{
	struct flow flow;
	struct session_key key;

	d->st.packets++;
	d->t_arrival = d->env.now_ns();
	if (!pkt->payload) {
		/* cut at our receive slot: nothing to read, and a client
		 * chooses a packet's size, so denied, never the fail verdict */
		d->st.malformed++;
		answer(d, pkt->id, pkt->mark, VERDICT_DENY, -1);
		return;
	}
	if (packet_parse(pkt->payload, pkt->len,
			 pkt->wire_len > pkt->len ? pkt->wire_len : pkt->len,
			 &flow, &key) < 0) {
		misread(d, pkt, NULL, NULL);
		return;
	}
	flow.src_local = pkt->hook == NF_INET_LOCAL_OUT;
	flow.dst_local = pkt->hook == NF_INET_LOCAL_IN;
	flow.minute = week_minute_now();

	uint64_t h = htable_hash(&d->pending, &key);
	struct pending *p = find(d, &key, h);
	if (p) { /* a retransmitted SYN or a parallel UDP packet */
		if (mark_id(d->cfg.mark_shift, pkt->mark) !=
		    mark_id(d->cfg.mark_shift, p->marks[0])) {
			misread(d, pkt, &flow, NULL); /* same key, other rule */
			return;
		}
		if (p->nids == MAX_JOINED || !join_room(d)) {
			/* a client's extra copies: this one is dropped, the
			 * session's decision goes on */
			d->st.overflow++;
			answer(d, pkt->id, pkt->mark, VERDICT_DENY, -1);
			return;
		}
		p->ids[p->nids] = pkt->id;
		p->marks[p->nids++] = pkt->mark;
		d->njoined++;
		d->st.joined++;
		return;
	}

	/* first pass: header facts only, no slot needed when final */
	struct gen *g = d->env.current(d->env.ctx);
	struct decision dec;
	engine_eval(g->engine, &flow, NULL, &dec);
	d->st.decisions++;
	if (!kernel_agrees(d, pkt->mark, &dec)) {
		misread(d, pkt, &flow, g);
		gen_unref(g);
		return;
	}
	if (!show_ftp_first(d, g, &flow, pkt)) {
		answer(d, pkt->id, pkt->mark, VERDICT_DENY, -1);
		gen_unref(g);
		return;
	}
	if (!show_dns_first(d, g, &dec, pkt)) {
		answer(d, pkt->id, pkt->mark, VERDICT_DENY, dec.rule);
		if (d->env.record)
			d->env.record(d->env.ctx, &flow, g, VERDICT_DENY,
				      dec.rule, NULL, NULL, RSN_FILTER, 0);
		gen_unref(g);
		return;
	}
	if (dec.verdict != VERDICT_PENDING) {
		d->st.decided_first_pass++;
		uint64_t lat = d->env.now_ns() - d->t_arrival; /* see finish() */
		answer_decided(d, g, pkt->id, pkt->mark, dec.verdict, dec.rule,
			       dec.rule < 0 ? RSN_DEFAULT : RSN_RULE);
		if (dec.verdict == VERDICT_ALLOW && d->env.decided)
			d->env.decided(d->env.ctx, &key, g, dec.rule, NULL);
		record_latency(d, lat);
		if (d->env.record)
			d->env.record(d->env.ctx, &flow, g, dec.verdict, dec.rule,
				      NULL, NULL,
				      dec.rule < 0 ? RSN_DEFAULT : RSN_RULE, lat);
		gen_unref(g);
		return;
	}

	if (decide_at_once(d, pkt, &flow, &key, g, &dec)) {
		gen_unref(g);
		return;
	}

	/* admission: slots, the reserved local share, per source */
	bool reserved;
	struct srckey src = {0};
	enum reason why = admit(d, &flow, &key, &reserved, &src);
	if (why != RSN_RULE) {
		refuse(d, pkt, &flow, g, dec.rule, why);
		gen_unref(g);
		return;
	}

	p = xcalloc(1, sizeof(*p));
	p->key = key;
	p->flow = flow;
	p->ids[0] = pkt->id;
	p->marks[0] = pkt->mark;
	p->nids = 1;
	p->t0 = d->t_arrival;
	p->seq = ++d->next_seq;
	p->has_uid = pkt->has_uid;
	p->uid = pkt->uid;
	p->gen = g;
	p->local = flow.src_local || flow.dst_local;
	p->reserved = reserved;
	p->counted = !flow.src_local;
	p->src = src;
	p->last = dec;
	p->first_rule = dec.rule;
	if (d->env.dns_first && pkt->len <= QUERY_COPY_MAX &&
	    !(dec.rule >= 0 && (size_t)dec.rule < g->policy->nrules &&
	      rule_filters_dns(g->policy->rules[dec.rule])) &&
	    may_filter_dns(g, &flow, dec.rule)) {
		p->query = xmalloc(pkt->len ? pkt->len : 1);
		memcpy(p->query, pkt->payload, pkt->len);
		p->query_len = pkt->len;
	}
	htable_insert_hashed(&d->pending, &p->hn, h);
	TAILQ_INSERT_TAIL(&d->age, p, age);
	d->npending++;
	if (reserved)
		d->nreserved++;
	if (p->counted)
		src_add(d, &src, +1);

	start_lookups(d, p, dec.needs);
	evaluate(d, p, false);
}

/* The source's own name for the user (NSS's for a uid, the directory's
 * for the table's user) replaces P's, when the answer has one. */
static void take_user(struct pending *p, struct lookup_req *r)
{
	if (!r->user_out)
		return;
	free(p->id.user);
	p->id.user = r->user_out;
	r->user_out = NULL;
}

/* The directory's own name for P's user (a group lookup's answer) is on
 * `identity { ignore-users }` though the login's spelling was not (the
 * table records no listed login): the directory folded a spelling
 * (`ｎagios`) sluice's own folding did not. Such a login is ignored here
 * too: P goes on with no user. */
static bool user_ignored(struct decider *d, struct pending *p,
			 const struct lookup_req *r)
{
	const struct identity_cfg *c = &p->gen->policy->identity;
	if (r->kind != LK_GROUPS || !p->id.user || !c->nignore_users ||
	    !user_name_listed(&c->realms, c->ignore_users, c->nignore_users,
			      p->id.user))
		return false;
	d->st.user_ignored++;
	identity_clear(&p->id);
	return true;
}

/* Moves the answer's identity into P (taking ownership of its strings). */
static void take_identity(struct decider *d, struct pending *p,
			  struct lookup_req *r)
{
	if (r->kind == LK_UID)
		identity_clear(&p->id);
	if (r->status == 0)
		take_user(p, r);
	if (user_ignored(d, p, r)) {
		p->id_known = true;
		return;
	}
	/* a failed group lookup leaves the user known without groups */
	if (r->status == 0 && p->id.user) {
		for (size_t i = 0; i < p->id.ngroups; i++)
			free(p->id.groups[i]);
		free(p->id.groups);
		p->id.groups = r->groups;
		p->id.ngroups = r->ngroups;
		r->groups = NULL;
		r->ngroups = 0;
	}
	p->id_known = true;
}

/* Puts answer R into P (consumes R). True when P learnt something to
 * evaluate with; false when the fact stays unknown (a timeout, a server
 * down: the decision's deadline, on-deadline, settles it). */
static bool take_answer(struct decider *d, struct pending *p,
			struct lookup_req *r)
{
	unsigned bit = r->kind == LK_NAME ? NEED_NAME : NEED_IDENTITY;
	p->waiting &= ~bit;
	if (r->status != 0 && r->status != ENOENT) {
		/* a failed group lookup leaves only the groups unknown, so
		 * rules naming the user still decide */
		if (r->status == EOVERFLOW && r->kind != LK_NAME) {
			take_user(p, r); /* known user, groups incomplete */
			if (user_ignored(d, p, r)) { /* no user: none unknown */
				p->id_known = true;
				lookup_req_free(r);
				return true;
			}
		}
		p->failed |= bit;
		d->st.lookups_failed++;
		bool user = r->kind != LK_NAME && p->id.user;
		if (user) {
			p->id_known = true;
			p->groups_unknown = true;
		}
		lookup_req_free(r);
		return user;
	}
	if (r->kind == LK_NAME) {
		p->name_known = true;
		free_names(p->names, p->nnames);
		p->names = r->names;
		p->nnames = r->nnames;
		p->names_partial = r->names_partial;
		p->names_more = r->names_more;
		r->names = NULL;
		r->nnames = 0;
	} else {
		take_identity(d, p, r);
	}
	lookup_req_free(r);
	return true;
}

void decider_answer(struct decider *d, struct lookup_req *r)
{
	switch (r->kind) {
	case LK_NAME: d->st.in_flight_name--; break;
	case LK_UID: d->st.in_flight_uid--; break;
	case LK_GROUPS: d->st.in_flight_groups--; break;
	}
	struct pending *p = find(d, &r->key, htable_hash(&d->pending, &r->key));
	if (!p || p->seq != r->seq) {
		d->st.answers_stale++; /* that decision ended meanwhile */
		lookup_req_free(r);
		return;
	}
	if (take_answer(d, p, r))
		evaluate(d, p, false);
}

void decider_tick(struct decider *d)
{
	uint64_t now = d->env.now_ns();
	uint64_t deadline = (uint64_t)d->cfg.deadline_ms * 1000000u;
	uint64_t watchdog = (uint64_t)d->cfg.watchdog_ms * 1000000u;
	struct pending *p;
	while ((p = TAILQ_FIRST(&d->age)) && now - p->t0 >= deadline) {
		d->st.timed_out++;
		if (now - p->t0 >= watchdog) {
			d->st.watchdog++;
			finish(d, p, VERDICT_DENY, -1, true, RSN_WATCHDOG);
		} else if (d->cfg.on_deadline == ONDL_SKIP) {
			p->waiting = 0;
			if (!evaluate(d, p, true))
				finish(d, p, VERDICT_DENY, -1, false, RSN_DEADLINE);
		} else {
			finish(d, p, VERDICT_DENY, p->last.rule, false, RSN_DEADLINE);
		}
	}
}

void decider_free(struct decider *d)
{
	if (!d)
		return;
	struct pending *p;
	while ((p = TAILQ_FIRST(&d->age)))
		finish(d, p, VERDICT_DENY, -1, true, RSN_SHUTDOWN);
	htable_fini(&d->pending);
	struct htable_iter it;
	for (struct htable_node *n = htable_first(&d->src, &it); n;
	     n = htable_next(&it)) {
		htable_remove(&d->src, n);
		free(HTABLE_ENTRY(n, struct srccount, hn));
	}
	htable_fini(&d->src);
	free(d);
}

size_t decider_pending(const struct decider *d)
{
	return d->npending;
}

size_t decider_slots_free(const struct decider *d, bool local)
{
	size_t general = d->cfg.slots - d->cfg.reserve_local;
	size_t used_general = d->npending - d->nreserved;
	size_t free_general = used_general < general ? general - used_general : 0;
	if (!local)
		return free_general;
	/* a reload may have shrunk the reserve below what is held */
	return d->nreserved < d->cfg.reserve_local
		   ? d->cfg.reserve_local - d->nreserved
		   : 0;
}

const struct decide_stats *decider_stats(const struct decider *d)
{
	return &d->st;
}

void decider_each_pending(const struct decider *d,
			  void (*fn)(void *arg, const struct pending_info *pi),
			  void *arg)
{
	uint64_t now = d->env.now_ns();
	const struct pending *p;
	TAILQ_FOREACH(p, &d->age, age) {
		struct pending_info pi = {&p->key, now - p->t0, p->waiting,
					  p->last.rule, p->local, p->nids};
		fn(arg, &pi);
	}
}
