/*
 * netbind.c — networks bound to interfaces and the nat rules (ISA's network
 * rules): what they mean for a flow, and the checks `sluicectl check` and
 * sluiced run on them. The kernel side is src/kernel/ruleset.c
 * (gen_antispoof, gen_nat); docs/sluice.conf.5.md NETWORKS AND INTERFACES
 * and NAT describe both.
 */
#include <arpa/inet.h>
#include <string.h>

#include "policy/internal.h"
#include "policy/policy.h"

/* True when the sorted, merged ranges of A and B share an address. */
static bool addrset_meet(const struct addrset *a, const struct addrset *b)
{
	for (size_t i = 0, j = 0; i < a->n4 && j < b->n4;) {
		if (a->v4[i].hi < b->v4[j].lo)
			i++;
		else if (b->v4[j].hi < a->v4[i].lo)
			j++;
		else
			return true;
	}
	for (size_t i = 0, j = 0; i < a->n6 && j < b->n6;) {
		if (a->v6[i].hi < b->v6[j].lo)
			i++;
		else if (b->v6[j].hi < a->v6[i].lo)
			j++;
		else
			return true;
	}
	return false;
}

static bool has_iface(const struct netset *n, const char *ifname)
{
	for (size_t i = 0; i < n->nifaces; i++)
		if (strcmp(n->ifaces[i], ifname) == 0)
			return true;
	return false;
}

bool policy_iface_bound(const struct policy *p, const char *ifname)
{
	for (size_t i = 0; i < p->nnets; i++)
		if (p->nets[i]->is_network && has_iface(p->nets[i], ifname))
			return true;
	return false;
}

static bool any_bound(const struct policy *p)
{
	for (size_t i = 0; i < p->nnets; i++)
		if (p->nets[i]->nifaces)
			return true;
	return false;
}

static bool flow_in(const struct addrset *s, const struct flow *f, bool dst)
{
	if (f->family == AF_INET)
		return addrset_has4(s, dst ? f->dst4 : f->src4);
	return addrset_has6(s, dst ? f->dst6 : f->src6);
}

const struct netset *policy_network_of(const struct policy *p,
				       const struct flow *f, bool dst)
{
	for (size_t i = 0; i < p->nnets; i++)
		if (p->nets[i]->is_network && flow_in(&p->nets[i]->addrs, f, dst))
			return p->nets[i];
	return NULL;
}

bool policy_spoofed(const struct policy *p, const struct flow *f,
		    const char *iif)
{
	if (!iif || !*iif || strcmp(iif, "lo") == 0)
		return false;
	/* link-local and unspecified IPv6 (ND, DAD), a DHCP client's
	 * 0.0.0.0: never judged (ruleset.c gen_antispoof) */
	if (f->family == AF_INET6 &&
	    (f->src6 == 0 || (f->src6 >> 118) == 0x3fa))
		return false;
	if (f->family == AF_INET && f->src4 == 0 && f->proto == 17 &&
	    f->dport == 67)
		return false;
	bool bound = policy_iface_bound(p, iif);
	for (size_t i = 0; i < p->nnets; i++) {
		const struct netset *n = p->nets[i];
		if (!n->nifaces || !flow_in(&n->addrs, f, false))
			continue;
		if (!bound || has_iface(n, iif))
			return !bound; /* from a network of this interface */
	}
	return bound;
}

/* The destination test of NR, as the kernel makes it (ruleset.c gen_nat):
 * by the outgoing interface when the destination network is bound (for
 * external: an interface bound to no network), else by address. */
static bool nat_dst_match(const struct policy *p, const struct natrule *nr,
			  const struct flow *f, const char *oif)
{
	bool know = oif && *oif;
	if (nr->dst) {
		if (nr->dst->nifaces && know)
			return has_iface(nr->dst, oif);
		return flow_in(&nr->dst->addrs, f, true);
	}
	if (any_bound(p) && know)
		return strcmp(oif, "lo") != 0 && !policy_iface_bound(p, oif);
	return flow_in(&p->external, f, true);
}

const struct natrule *policy_nat_match(const struct policy *p,
				       const struct flow *f, const char *oif)
{
	for (size_t i = 0; i < p->nnats; i++) {
		const struct natrule *nr = p->nats[i];
		if (nr->via && nr->family != f->family)
			continue;
		if (flow_in(&nr->src->addrs, f, false) &&
		    nat_dst_match(p, nr, f, oif))
			return nr;
	}
	return NULL;
}

/* The addresses NR's destination stands for (external: every address in no
 * network). */
static const struct addrset *nat_dst_addrs(const struct policy *p,
					   const struct natrule *nr)
{
	return nr->dst ? &nr->dst->addrs : &p->external;
}

static const char *nat_dst_name(const struct natrule *nr)
{
	return nr->dst ? nr->dst->name : "external";
}

/* Two nat rules that could both translate one session: an error (which
 * source address would it leave with?). */
static void check_nat_overlap(struct policy *p, struct diags *d)
{
	for (size_t i = 0; i < p->nnats; i++)
		for (size_t j = 0; j < i; j++) {
			const struct natrule *a = p->nats[i], *b = p->nats[j];
			if (a->via && b->via && a->family != b->family)
				continue;
			if (!addrset_meet(&a->src->addrs, &b->src->addrs) ||
			    !addrset_meet(nat_dst_addrs(p, a),
					  nat_dst_addrs(p, b)))
				continue;
			diags_add(d, DIAG_ERROR, &a->loc,
				  "nat %s to %s overlaps nat %s to %s: a "
				  "session from both sources to both "
				  "destinations would match two nat rules",
				  a->src->name, nat_dst_name(a), b->src->name,
				  nat_dst_name(b));
			diags_add(d, DIAG_NOTE, &b->loc, "the other nat rule");
			break;
		}
}

static void check_nat_rule(struct policy *p, const struct natrule *nr,
			   struct diags *d)
{
	const struct addrset *s = &nr->src->addrs;
	if (nr->via && ((nr->family == AF_INET && !s->n4) ||
			(nr->family == AF_INET6 && !s->n6)))
		diags_add(d, DIAG_ERROR, &nr->loc,
			  "nat %s to %s via an IPv%c address: network '%s' "
			  "has no IPv%c address", nr->src->name,
			  nat_dst_name(nr), nr->family == AF_INET ? '4' : '6',
			  nr->src->name, nr->family == AF_INET ? '4' : '6');
	if (nr->dst && !nr->dst->nifaces)
		diags_add(d, DIAG_WARNING, &nr->loc,
			  "nat %s to %s: network '%s' is bound to no "
			  "interface, so the destination is matched by its "
			  "addresses ('network %s { ... } on IFNAME')",
			  nr->src->name, nr->dst->name, nr->dst->name,
			  nr->dst->name);
	if (!nr->dst && !any_bound(p))
		diags_add(d, DIAG_WARNING, &nr->loc,
			  "nat %s to external: no network is bound to an "
			  "interface, so external is every address in no "
			  "network; bind the internal networks ('on IFNAME') "
			  "to translate by the outgoing interface",
			  nr->src->name);
	if (nr->via && !nr->dst && nr->family == AF_INET6)
		diags_add(d, DIAG_NOTE, &nr->loc,
			  "nat %s to external via an IPv6 address: IPv6 "
			  "sessions from %s leave with one address (NPTv6 is "
			  "not done)", nr->src->name, nr->src->name);
}

/* Networks whose addresses overlap but lie behind different interfaces:
 * the spoofing check accepts the shared addresses from either side. */
static void check_bindings(struct policy *p, struct diags *d)
{
	for (size_t i = 0; i < p->nnets; i++)
		for (size_t j = 0; j < i; j++) {
			const struct netset *a = p->nets[i], *b = p->nets[j];
			if (!a->nifaces || !b->nifaces ||
			    !addrset_meet(&a->addrs, &b->addrs))
				continue;
			bool same = a->nifaces == b->nifaces;
			for (size_t k = 0; same && k < a->nifaces; k++)
				same = has_iface(b, a->ifaces[k]);
			if (!same)
				diags_add(d, DIAG_WARNING, &a->loc,
					  "networks '%s' and '%s' share "
					  "addresses but are bound to different "
					  "interfaces: the spoofing check "
					  "accepts the shared addresses from the "
					  "interfaces of both",
					  a->name, b->name);
		}
}

void policy_validate_nets(struct policy *p)
{
	struct diags *d = &p->diags;
	check_bindings(p, d);
	for (size_t i = 0; i < p->nnats; i++)
		check_nat_rule(p, p->nats[i], d);
	check_nat_overlap(p, d);
}
