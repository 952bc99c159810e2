/*
 * check.c — whole-policy checks after parsing: the addresses each rule side
 * stands for, `external`, cross-references of the service settings, and
 * rules that can never match because an earlier rule takes all their
 * sessions (warnings).
 */
#include "policy/internal.h"
#include "common/text.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Computes E->addrs from its parts (local is a flag, not addresses). */
static void endpoint_compile(struct endpoint *e, const struct addrset *ext)
{
	addrset_free(&e->addrs);
	if (e->any)
		addrset_fill(&e->addrs);
	if (e->external)
		addrset_add(&e->addrs, ext);
	for (size_t i = 0; i < e->nsets; i++)
		addrset_add(&e->addrs, &e->sets[i]->addrs);
	addrset_normalize(&e->literal);
	addrset_add(&e->addrs, &e->literal);
	addrset_normalize(&e->addrs);
}

/* ---- shadowing -------------------------------------------------------------- */

/* Ports of transport T admitted by protocols V (merged into OUT); returns
 * false when none of V is of T. An empty port list means every port. */
static bool ports_of(struct protocol **v, size_t n, enum transport t,
		     struct portrange **out, size_t *nout)
{
	bool any = false;
	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i]->tr != t)
			continue;
		any = true;
		if (v[i]->nports == 0) {
			struct portrange all = {0, 65535};
			VEC_PUSH(*out, *nout, all);
		}
		for (size_t k = 0; k < v[i]->nports; k++)
			VEC_PUSH(*out, *nout, v[i]->ports[k]);
	}
	if (*nout)
		*nout = (size_t)merge_portranges(*out, *nout);
	return any;
}

static bool ranges_cover(const struct portrange *a, size_t na,
			 const struct portrange *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		bool in = false;
		for (size_t k = 0; k < na && !in; k++)
			in = a[k].lo <= b[i].lo && b[i].hi <= a[k].hi;
		if (!in)
			return false;
	}
	return true;
}

static bool protos_cover(const struct rule *a, const struct rule *b)
{
	if (a->nprotos == 0)
		return true;
	if (b->nprotos == 0)
		return false;
	for (int t = 0; t < TR_COUNT; t++) {
		struct portrange *pa, *pb;
		size_t na, nb;
		bool hb = ports_of(b->protos, b->nprotos, t, &pb, &nb);
		bool ha = ports_of(a->protos, a->nprotos, t, &pa, &na);
		bool ok = !hb || (ha && ranges_cover(pa, na, pb, nb));
		free(pa);
		free(pb);
		if (!ok)
			return false;
	}
	return true;
}

static bool side_covers(const struct endpoint *a, const struct endpoint *b)
{
	if (a->any)
		return true;
	if (b->any || (b->local && !a->local))
		return false;
	if (!addrset_covers(&a->addrs, &b->addrs))
		return false;
	for (size_t i = 0; i < b->ndoms; i++) {
		bool in = false;
		for (size_t k = 0; k < a->ndoms && !in; k++)
			in = a->doms[k] == b->doms[i];
		if (!in)
			return false;
	}
	return true;
}

static bool users_cover(const struct rule *a, const struct rule *b)
{
	if (!a->needs_identity)
		return true;
	if (!b->needs_identity)
		return false;
	if (a->users_auth)
		return true;
	if (b->users_auth)
		return false;
	for (size_t i = 0; i < b->nusers; i++) {
		bool in = false;
		for (size_t k = 0; k < a->nusers && !in; k++)
			in = a->users[k] == b->users[i];
		if (!in)
			return false;
	}
	return true;
}

static bool sched_covers(const struct rule *a, const struct rule *b)
{
	if (!a->sched || a->sched == b->sched)
		return true;
	if (!b->sched)
		return false;
	for (size_t i = 0; i < b->sched->n; i++) {
		bool in = false;
		for (size_t k = 0; k < a->sched->n && !in; k++)
			in = a->sched->v[k].lo <= b->sched->v[i].lo &&
			     b->sched->v[i].hi <= a->sched->v[k].hi;
		if (!in)
			return false;
	}
	return true;
}

/* True when every session rule B could match is matched by A first. */
static bool rule_covers(const struct rule *a, const struct rule *b)
{
	return side_covers(&a->src, &b->src) && side_covers(&a->dst, &b->dst) &&
	       users_cover(a, b) && sched_covers(a, b) && protos_cover(a, b);
}

static bool endpoint_empty(const struct endpoint *e)
{
	return !e->any && !e->local && !e->ndoms && addrset_empty(&e->addrs);
}

static void check_shadowing(struct policy *p)
{
	for (size_t j = 0; j < p->nrules; j++) {
		struct rule *b = p->rules[j];
		if (endpoint_empty(&b->src) || endpoint_empty(&b->dst)) {
			diags_add(p->diags, DIAG_WARNING, &b->loc,
				  "rule '%s' can never match: its %s is empty",
				  b->name,
				  endpoint_empty(&b->src) ? "source"
							  : "destination");
			continue;
		}
		for (size_t i = 0; i < j; i++) {
			struct rule *a = p->rules[i];
			if (!rule_covers(a, b))
				continue;
			diags_add(p->diags, DIAG_WARNING, &b->loc,
				  "rule '%s' can never match: rule '%s' "
				  "(line %d) takes every session it would",
				  b->name, a->name, a->loc.line);
			diags_add(p->diags, DIAG_NOTE, &a->loc,
				  "rule '%s' is here", a->name);
			break;
		}
	}
}

/* ---- settings cross-checks ---------------------------------------------------- */

/* True for "ADDR", "IPV4:PORT" or "[IPV6]:PORT". */
static bool server_ok(const char *s)
{
	uint32_t a4;
	u128 a6;
	char buf[128];
	const char *port = NULL;
	if (parse_addr(s, &a4, &a6))
		return true;
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close || close[1] != ':')
			return false;
		*close = '\0';
		port = close + 2;
		if (parse_addr(buf + 1, &a4, &a6) != AF_INET6)
			return false;
	} else {
		char *colon = strrchr(buf, ':');
		if (!colon)
			return false;
		*colon = '\0';
		port = colon + 1;
		if (parse_addr(buf, &a4, &a6) != AF_INET)
			return false;
	}
	char *end;
	long v = strtol(port, &end, 10);
	return *port && !*end && v > 0 && v < 65536;
}

/* identity { ignore-users, radius-* }: the RADIUS listener needs its
 * address, its secret and its clients (compiled into radius_nets). */
static void check_identity(struct policy *p)
{
	struct identity_cfg *c = &p->identity;
	struct diags *d = p->diags;
	for (size_t i = 0; i < c->nignore_users; i++)
		if (text_name_problem(c->ignore_users[i]))
			diags_add(d, DIAG_ERROR, NULL,
				  "identity ignore-users: a name %s",
				  text_name_problem(c->ignore_users[i]));
	for (size_t i = 0; i < c->nradius_clients; i++) {
		char *err = NULL;
		if (addrset_parse_elem(&c->radius_nets, c->radius_clients[i],
				       &err) < 0) {
			diags_add(d, DIAG_ERROR, NULL,
				  "identity radius-clients: %s", err);
			free(err);
		}
	}
	addrset_normalize(&c->radius_nets);
	if (c->api_listen) {
		const char *colon = strrchr(c->api_listen, ':');
		if (!colon || colon == c->api_listen || !colon[1])
			diags_add(d, DIAG_ERROR, NULL,
				  "identity api-listen '%s': expected "
				  "ADDRESS:PORT", c->api_listen);
		if (!c->api_token_file)
			diags_add(d, DIAG_ERROR, NULL,
				  "identity api-listen needs api-token-file");
	}
	if (!c->radius_listen) {
		if (c->radius_secret_file || c->nradius_clients)
			diags_add(d, DIAG_WARNING, NULL,
				  "identity: radius-secret-file and "
				  "radius-clients do nothing without "
				  "radius-listen");
		return;
	}
	const char *colon = strrchr(c->radius_listen, ':');
	if (!colon || colon == c->radius_listen || !colon[1])
		diags_add(d, DIAG_ERROR, NULL,
			  "identity radius-listen '%s': expected ADDRESS:PORT",
			  c->radius_listen);
	if (!c->radius_secret_file)
		diags_add(d, DIAG_ERROR, NULL,
			  "identity radius-listen needs radius-secret-file");
	if (!c->nradius_clients)
		diags_add(d, DIAG_ERROR, NULL,
			  "identity radius-listen needs radius-clients (the "
			  "addresses that may send accounting)");
}

static void check_settings(struct policy *p)
{
	struct diags *d = p->diags;
	for (size_t i = 0; i < p->resolver.nservers; i++)
		if (!server_ok(p->resolver.servers[i]))
			diags_add(d, DIAG_ERROR, NULL,
				  "resolver servers: '%s' is not ADDRESS, "
				  "ADDRESS:PORT or [IPV6]:PORT",
				  p->resolver.servers[i]);
	if (p->directory.enabled && (!p->directory.uri || !p->directory.base))
		diags_add(d, DIAG_ERROR, NULL,
			  "directory ldap needs both uri and base");
	if (p->queue.length < p->decisions.slots)
		diags_add(d, DIAG_WARNING, NULL,
			  "queue length (%u) is below decisions slots (%u): a "
			  "pending decision holds its packets in the kernel "
			  "queue, so at most %u can wait",
			  p->queue.length, p->decisions.slots, p->queue.length);
	if (p->queue.on_exit == EXIT_REMOVE)
		diags_add(d, DIAG_NOTE, NULL,
			  "queue on-exit remove: a stop or restart of sluiced "
			  "leaves the gateway unfiltered until the next start "
			  "(the default, fail-closed, keeps decided sessions "
			  "and drops new ones)");
	if (p->decisions.per_source > p->decisions.slots)
		diags_add(d, DIAG_WARNING, NULL,
			  "decisions per-source (%u) is larger than slots (%u)",
			  p->decisions.per_source, p->decisions.slots);
	if (p->metrics.listen) {
		const char *colon = strrchr(p->metrics.listen, ':');
		if (!colon || colon == p->metrics.listen || !colon[1])
			diags_add(d, DIAG_ERROR, NULL,
				  "metrics listen '%s': expected ADDRESS:PORT",
				  p->metrics.listen);
	}
	check_identity(p);
	for (size_t i = 0; i < p->nfarms; i++)
		if (!p->farms[i]->used)
			diags_add(d, DIAG_WARNING, &p->farms[i]->loc,
				  "farm '%s' is not published", p->farms[i]->name);
}

void policy_check(struct policy *p)
{
	struct addrset nets = {0};
	for (size_t i = 0; i < p->nnets; i++)
		if (p->nets[i]->is_network)
			addrset_add(&nets, &p->nets[i]->addrs);
	addrset_normalize(&nets);
	addrset_free(&p->external);
	addrset_complement(&nets, &p->external);
	addrset_free(&nets);

	for (size_t i = 0; i < p->nrules; i++) {
		endpoint_compile(&p->rules[i]->src, &p->external);
		endpoint_compile(&p->rules[i]->dst, &p->external);
	}
	check_settings(p);
	check_shadowing(p);
}
