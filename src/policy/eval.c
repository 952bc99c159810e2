/*
 * eval.c — the meaning of a policy: rule predicates and the reference
 * (linear) evaluator. The compiled engine (engine.c) must give the same
 * answers; tests/unit/test_differential.c holds it to that.
 */
#include "policy/internal.h"

#include <netinet/in.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static enum transport flow_transport(const struct flow *f, bool *ok)
{
	*ok = true;
	switch (f->proto) {
	case IPPROTO_TCP:
		return TR_TCP;
	case IPPROTO_UDP:
		return TR_UDP;
	case IPPROTO_ICMP:
		if (f->family == AF_INET)
			return TR_ICMP;
		break;
	case IPPROTO_ICMPV6:
		if (f->family == AF_INET6)
			return TR_ICMPV6;
		break;
	}
	*ok = false;
	return TR_TCP;
}

/* True when protocol P matches the transport and port/type of F. */
static bool proto_match(const struct protocol *p, const struct flow *f)
{
	bool ok;
	enum transport t = flow_transport(f, &ok);
	if (!ok || t != p->tr)
		return false;
	if (p->nports == 0)
		return true;
	uint16_t v = (t == TR_ICMP || t == TR_ICMPV6) ? f->icmp_type : f->dport;
	for (size_t i = 0; i < p->nports; i++)
		if (v >= p->ports[i].lo && v <= p->ports[i].hi)
			return true;
	return false;
}

/*
 * Sets *MATCHED when R's protocols admit F. Returns the protocol that
 * matched when it carries an application filter (the filter then applies),
 * else NULL.
 */
const struct protocol *rule_proto_match(const struct rule *r,
					const struct flow *f, bool *matched)
{
	const struct protocol *plain = NULL;

	*matched = r->nprotos == 0;
	for (size_t i = 0; i < r->nprotos; i++) {
		if (!proto_match(r->protos[i], f))
			continue;
		*matched = true;
		if (r->protos[i]->filter)
			return r->protos[i];
		plain = r->protos[i];
	}
	(void)plain;
	return NULL;
}

bool endpoint_addr_match(const struct endpoint *e, const struct flow *f,
			 bool dst)
{
	bool local = dst ? f->dst_local : f->src_local;
	if (local)
		return e->any || e->local;
	if (e->any)
		return true;
	if (f->family == AF_INET)
		return addrset_has4(&e->addrs, dst ? f->dst4 : f->src4);
	return addrset_has6(&e->addrs, dst ? f->dst6 : f->src6);
}

static bool sched_has(const struct schedule *s, uint16_t minute)
{
	for (size_t i = 0; i < s->n; i++)
		if (minute >= s->v[i].lo && minute <= s->v[i].hi)
			return true;
	return false;
}

bool rule_header_match(const struct rule *r, const struct flow *f)
{
	bool pm;
	rule_proto_match(r, f, &pm);
	return pm && endpoint_addr_match(&r->src, f, false) &&
	       (!r->sched || sched_has(r->sched, f->minute));
}

int users_match3(const struct rule *r, const struct facts *facts)
{
	if (!facts->user)
		return 0;
	if (r->users_auth)
		return 1;
	bool groups_asked = false;
	for (size_t i = 0; i < r->nusers; i++) {
		const struct userset *u = r->users[i];
		for (size_t k = 0; k < u->nusers; k++)
			if (user_name_equal(u->realms, u->users[k],
					    facts->user))
				return 1;
		groups_asked = groups_asked || u->ngroups;
		for (size_t k = 0; k < u->ngroups; k++)
			for (size_t g = 0; g < facts->ngroups; g++)
				if (strcmp(u->groups[k], facts->groups[g]) == 0)
					return 1;
	}
	return groups_asked && facts->groups_unknown ? -1 : 0;
}

bool users_match(const struct rule *r, const struct facts *facts)
{
	return users_match3(r, facts) == 1;
}

bool domainset_match(const struct domainset *d, const char *name)
{
	size_t n = strlen(name);
	while (n && name[n - 1] == '.')
		n--;
	for (size_t i = 0; i < d->nexact; i++)
		if (strlen(d->exact[i]) == n &&
		    strncasecmp(d->exact[i], name, n) == 0)
			return true;
	for (size_t i = 0; i < d->nsuffix; i++) {
		size_t m = strlen(d->suffix[i]);
		if (n > m + 1 && name[n - m - 1] == '.' &&
		    strncasecmp(name + n - m, d->suffix[i], m) == 0)
			return true;
	}
	return false;
}

const char *domainsets_match_any(struct domainset *const *doms, size_t ndoms,
				 const char *const *names, size_t n)
{
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; names[k] && i < ndoms; i++)
			if (domainset_match(doms[i], names[k]))
				return names[k];
	return NULL;
}

bool rule_kernel_decidable(const struct rule *r)
{
	if (r->needs_identity || r->dst.ndoms)
		return false;
	if (r->action == ACT_ALLOW)
		for (size_t i = 0; i < r->nprotos; i++)
			if (r->protos[i]->filter &&
			    !filter_watches(r->protos[i]->filter))
				return false;
	return true;
}

bool filter_watches(const char *filter)
{
	return filter && (strcmp(filter, FILTER_DNS) == 0 ||
			  strcmp(filter, FILTER_FTP) == 0);
}

/* True when R is an allow rule with filter NAME on one of its protocols. */
static bool rule_filters(const struct rule *r, const char *name)
{
	if (r->action != ACT_ALLOW)
		return false;
	for (size_t i = 0; i < r->nprotos; i++)
		if (r->protos[i]->filter &&
		    strcmp(r->protos[i]->filter, name) == 0)
			return true;
	return false;
}

bool rule_filters_dns(const struct rule *r)
{
	return rule_filters(r, FILTER_DNS);
}

bool rule_filters_ftp(const struct rule *r)
{
	return rule_filters(r, FILTER_FTP);
}

enum rstat { R_NO, R_MATCH, R_PENDING };

/*
 * Evaluates one rule whose header already matched. Returns R_NO when a known
 * fact rules it out, R_PENDING with *NEEDS when facts are missing, R_MATCH
 * otherwise. Definite "no" wins over "missing". *BY is the name by which the
 * rule's domain sets matched, or NULL.
 *
 * Names: the destination matches when any of its known names is in one of
 * the rule's domain sets; when none is, that is a definite "no" only if the
 * set of names is whole (!names_partial), else the name stays missing.
 */
static enum rstat rule_finish(const struct rule *r, const struct flow *f,
			      const struct facts *facts, unsigned *needs,
			      const char **by)
{
	unsigned known = facts ? facts->known : 0;

	*needs = 0;
	*by = NULL;
	if (!endpoint_addr_match(&r->dst, f, true)) {
		if (r->dst.ndoms == 0)
			return R_NO;
		if (known & NEED_NAME) {
			*by = domainsets_match_any(r->dst.doms, r->dst.ndoms,
						   facts->names, facts->nnames);
			if (!*by && !facts->names_partial)
				return R_NO;
			if (!*by)
				*needs |= NEED_NAME;
		} else {
			*needs |= NEED_NAME;
		}
	}
	if (r->needs_identity) {
		if (known & NEED_IDENTITY) {
			int m = users_match3(r, facts);
			if (m == 0)
				return R_NO;
			if (m < 0)
				*needs |= NEED_IDENTITY;
		} else {
			*needs |= NEED_IDENTITY;
		}
	}
	return *needs ? R_PENDING : R_MATCH;
}

/*
 * Fills OUT for rule R, which matched. A matching allow rule whose protocol
 * has an application filter needs the filter's word unless FACTS gives it.
 */
void decide_matched(const struct rule *r, const struct flow *f,
		    const struct facts *facts, struct decision *out)
{
	bool pm;
	const struct protocol *fp = rule_proto_match(r, f, &pm);

	out->rule = r->index;
	out->needs = 0;
	out->filter = NULL;
	out->name = NULL;
	if (r->action != ACT_ALLOW) { /* deny, reject */
		out->verdict = VERDICT_DENY;
		return;
	}
	if (fp && filter_watches(fp->filter)) {
		/* the filter reads the session (its DNS answers), it does
		 * not hold it: allowed at once */
		out->verdict = VERDICT_ALLOW;
		return;
	}
	if (fp) {
		out->filter = fp->filter;
		if (facts && (facts->known & NEED_FILTER)) {
			out->verdict =
			    facts->filter_ok ? VERDICT_ALLOW : VERDICT_DENY;
		} else {
			out->verdict = VERDICT_PENDING;
			out->needs = NEED_FILTER;
		}
		return;
	}
	out->verdict = VERDICT_ALLOW;
}

/* Evaluates rule R (header known to match) into OUT; false means "no". */
bool rule_decide(const struct rule *r, const struct flow *f,
		 const struct facts *facts, struct decision *out)
{
	unsigned needs;
	const char *by;
	switch (rule_finish(r, f, facts, &needs, &by)) {
	case R_NO:
		return false;
	case R_PENDING:
		out->verdict = VERDICT_PENDING;
		out->rule = r->index;
		out->needs = needs;
		out->filter = NULL;
		out->name = NULL;
		return true;
	case R_MATCH:
		decide_matched(r, f, facts, out);
		out->name = by;
		return true;
	}
	return false;
}

void decide_no_rule(struct decision *out)
{
	out->verdict = VERDICT_DENY;
	out->rule = -1;
	out->needs = 0;
	out->filter = NULL;
	out->name = NULL;
}

void policy_eval_linear(const struct policy *p, const struct flow *f,
			const struct facts *facts, struct decision *out)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = p->rules[i];
		if (rule_header_match(r, f) && rule_decide(r, f, facts, out))
			return;
	}
	decide_no_rule(out);
}

const char *verdict_name(enum verdict v)
{
	return v == VERDICT_ALLOW ? "allow"
	       : v == VERDICT_DENY ? "deny"
				   : "pending";
}

const char *transport_name(enum transport t)
{
	static const char *const n[] = {"tcp", "udp", "icmp", "icmpv6"};
	return t < TR_COUNT ? n[t] : "?";
}
