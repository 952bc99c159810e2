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
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

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

bool rule_covers(const struct rule *a, const struct rule *b)
{
	return side_covers(&a->src, &b->src) && side_covers(&a->dst, &b->dst) &&
	       users_cover(a, b) && sched_covers(a, b) && protos_cover(a, b);
}

static bool endpoint_empty(const struct endpoint *e)
{
	return !e->any && !e->local && !e->ndoms && addrset_empty(&e->addrs);
}

/*
 * The index of the shadowing check. A rule A covers side E of rule B only
 * when A's side is `any`, or (E not `any`) A's side holds E's *key*: the
 * lowest address of E when E has addresses, else E's first domain set,
 * else `localhost`. So the candidates for B are the rules A whose two
 * sides each hold B's key there or are `any`; each kind of A has its own
 * index (stabbing queries on the rules' address ranges per family, lists
 * per domain set and of `localhost` rules):
 *   - A with neither side `any`: the holders of B's source key that also
 *     hold its destination key;
 *   - A with the destination `any`: the holders of B's source key;
 *   - A with the source `any`: the holders of B's destination key;
 *   - A with both sides `any`: a list.
 * The candidates are marked in bitmaps and walked in rule order up to B;
 * rule_covers() decides and the first cover ends the walk: the same
 * warnings as comparing B with every earlier rule, in time that follows
 * the candidates instead of the earlier rules (BENCHMARKS.md, load_ms;
 * tests/unit/test_covers.c compares both).
 */
struct dom_rule {
	const struct domainset *d;
	uint32_t rule;
};

/* The keys held by one side of a subset of the rules. */
struct side_index {
	struct ivtree t4, t6;	/* address ranges */
	struct dom_rule *doms;	/* sorted by set, then rule */
	size_t ndoms;
	uint32_t *local;	/* rules whose side has `localhost` */
	size_t nlocal;
};

static const struct endpoint *side_of(const struct rule *r, bool dst)
{
	return dst ? &r->dst : &r->src;
}

static int cmp_dom_rule(const void *a, const void *b)
{
	const struct dom_rule *x = a, *y = b;
	if (x->d != y->d)
		return (uintptr_t)x->d < (uintptr_t)y->d ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Indexes side DST (or the source) of the rules whose side is not `any`
 * and whose other side is `any` (OTHER_ANY) or not. */
static void side_index_build(struct side_index *x, const struct policy *p,
			     bool dst, bool other_any)
{
	struct ivrange *v4 = NULL, *v6 = NULL;
	size_t n4 = 0, n6 = 0;
	memset(x, 0, sizeof(*x));
	for (size_t i = 0; i < p->nrules; i++) {
		const struct endpoint *e = side_of(p->rules[i], dst);
		uint32_t id = (uint32_t)i;
		if (e->any || side_of(p->rules[i], !dst)->any != other_any)
			continue;
		for (size_t k = 0; k < e->addrs.n4; k++) {
			struct ivrange r = {e->addrs.v4[k].lo, e->addrs.v4[k].hi,
					    id};
			VEC_PUSH(v4, n4, r);
		}
		for (size_t k = 0; k < e->addrs.n6; k++) {
			struct ivrange r = {e->addrs.v6[k].lo, e->addrs.v6[k].hi,
					    id};
			VEC_PUSH(v6, n6, r);
		}
		for (size_t k = 0; k < e->ndoms; k++) {
			struct dom_rule dr = {e->doms[k], id};
			VEC_PUSH(x->doms, x->ndoms, dr);
		}
		if (e->local)
			VEC_PUSH(x->local, x->nlocal, id);
	}
	xqsort(x->doms, x->ndoms, sizeof(*x->doms), cmp_dom_rule);
	ivtree_build(&x->t4, v4, n4);
	ivtree_build(&x->t6, v6, n6);
	free(v4);
	free(v6);
}

static void side_index_free(struct side_index *x)
{
	ivtree_free(&x->t4);
	ivtree_free(&x->t6);
	free(x->doms);
	free(x->local);
}

/* The first entry of domain set D in X->doms (or X->ndoms). */
static size_t dom_first(const struct side_index *x, const struct domainset *d)
{
	struct dom_rule key = {d, 0};
	size_t lo = 0, hi = x->ndoms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cmp_dom_rule(&x->doms[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The key of one side of B: a point of its addresses (the one the fewest
 * rules hold, among the ends of its first ranges), else its first domain
 * set, else `localhost`. */
enum key_kind { KEY_V4, KEY_V6, KEY_DOM, KEY_LOCAL };
struct side_key {
	enum key_kind kind;
	u128 point;
	const struct domainset *dom;
};

/* The key of side E (not `any`, not empty). */
static void side_key(const struct endpoint *e, struct side_key *k)
{
	memset(k, 0, sizeof(*k));
	if (e->addrs.n4)
		*k = (struct side_key){KEY_V4, e->addrs.v4[0].lo, NULL};
	else if (e->addrs.n6)
		*k = (struct side_key){KEY_V6, e->addrs.v6[0].lo, NULL};
	else if (e->ndoms)
		*k = (struct side_key){KEY_DOM, 0, e->doms[0]};
	else
		k->kind = KEY_LOCAL;
}

/* Candidate rules of one rule B, gathered below B's index as bitmaps
 * (walked in rule order, so the first cover ends the walk): the holders of
 * B's source key and of its destination key among the rules with neither
 * side `any` (a candidate is in both), and the rules to take as they are. */
struct cands {
	uint32_t below;
	uint64_t *src, *dst, *take; /* one bit a rule */
	uint64_t *bits;		    /* where cand_hit marks */
};

static void cand_hit(uint32_t id, void *arg)
{
	struct cands *c = arg;
	if (id < c->below)
		c->bits[id / 64] |= 1ull << (id % 64);
}

/* Calls cand_hit for every rule of X whose side holds key K. */
static void key_holders(const struct side_index *x, const struct side_key *k,
			struct cands *c)
{
	switch (k->kind) {
	case KEY_V4:
		ivtree_stab(&x->t4, k->point, cand_hit, c);
		break;
	case KEY_V6:
		ivtree_stab(&x->t6, k->point, cand_hit, c);
		break;
	case KEY_DOM:
		for (size_t i = dom_first(x, k->dom);
		     i < x->ndoms && x->doms[i].d == k->dom; i++)
			cand_hit(x->doms[i].rule, c);
		break;
	case KEY_LOCAL:
		for (size_t i = 0; i < x->nlocal; i++)
			cand_hit(x->local[i], c);
		break;
	}
}

struct shadow_index {
	struct side_index src, dst;	/* rules with neither side `any` */
	struct side_index src_dany;	/* source of rules with dst `any` */
	struct side_index dst_sany;	/* destination of rules with src `any` */
	uint32_t *both_any;		/* rules with both sides `any` */
	size_t nboth;
};

static void shadow_index_build(struct shadow_index *x, const struct policy *p)
{
	memset(x, 0, sizeof(*x));
	side_index_build(&x->src, p, false, false);
	side_index_build(&x->dst, p, true, false);
	side_index_build(&x->src_dany, p, false, true);
	side_index_build(&x->dst_sany, p, true, true);
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i]->src.any && p->rules[i]->dst.any)
			VEC_PUSH(x->both_any, x->nboth, (uint32_t)i);
}

static void shadow_index_free(struct shadow_index *x)
{
	side_index_free(&x->src);
	side_index_free(&x->dst);
	side_index_free(&x->src_dany);
	side_index_free(&x->dst_sany);
	free(x->both_any);
}

/* The first rule before B that covers it, or NULL. */
static const struct rule *first_cover(const struct policy *p,
				      const struct shadow_index *x,
				      struct cands *c, const struct rule *b)
{
	struct side_key ks, kd;
	c->below = (uint32_t)b->index;
	if (!b->src.any)
		side_key(&b->src, &ks);
	if (!b->dst.any)
		side_key(&b->dst, &kd);
	if (!b->src.any && !b->dst.any) {
		c->bits = c->src;
		key_holders(&x->src, &ks, c);
		c->bits = c->dst;
		key_holders(&x->dst, &kd, c);
	}
	c->bits = c->take;
	if (!b->src.any)
		key_holders(&x->src_dany, &ks, c);
	if (!b->dst.any)
		key_holders(&x->dst_sany, &kd, c);
	for (size_t i = 0; i < x->nboth && x->both_any[i] < c->below; i++)
		cand_hit(x->both_any[i], c);

	const struct rule *found = NULL;
	size_t nw = c->below / 64 + 1;
	for (size_t w = 0; w < nw && !found; w++)
		for (uint64_t m = (c->src[w] & c->dst[w]) | c->take[w];
		     m && !found; m &= m - 1) {
			const struct rule *a =
			    p->rules[w * 64 + (unsigned)__builtin_ctzll(m)];
			if (rule_covers(a, b))
				found = a;
		}
	memset(c->src, 0, nw * sizeof(*c->src));
	memset(c->dst, 0, nw * sizeof(*c->dst));
	memset(c->take, 0, nw * sizeof(*c->take));
	return found;
}

static void check_shadowing(struct policy *p)
{
	struct shadow_index x;
	shadow_index_build(&x, p);
	size_t nw = p->nrules / 64 + 1;
	struct cands c = {.src = xcalloc(nw, sizeof(uint64_t)),
			  .dst = xcalloc(nw, sizeof(uint64_t)),
			  .take = xcalloc(nw, sizeof(uint64_t))};
	for (size_t j = 0; j < p->nrules; j++) {
		struct rule *b = p->rules[j];
		if (endpoint_empty(&b->src) || endpoint_empty(&b->dst)) {
			diags_add(&p->diags, DIAG_WARNING, &b->loc,
				  "rule '%s' can never match: its %s is empty",
				  b->name,
				  endpoint_empty(&b->src) ? "source"
							  : "destination");
			continue;
		}
		const struct rule *a = first_cover(p, &x, &c, b);
		if (!a)
			continue;
		diags_add(&p->diags, DIAG_WARNING, &b->loc,
			  "rule '%s' can never match: rule '%s' "
			  "(line %d) takes every session it would",
			  b->name, a->name, a->loc.line);
		diags_add(&p->diags, DIAG_NOTE, &a->loc, "rule '%s' is here",
			  a->name);
	}
	free(c.src);
	free(c.dst);
	free(c.take);
	shadow_index_free(&x);
}

/* ---- names the gateway cannot read ----------------------------------------------- */

/* True when some address is in both normalized sets. */
static bool addrs_meet(const struct addrset *a, const struct addrset *b)
{
	struct addrset nb = {0};
	addrset_complement(b, &nb);
	bool meet = !addrset_covers(&nb, a);
	addrset_free(&nb);
	return meet;
}

/* What protocol PR lets a client resolve through without sluice reading
 * the answers: DNS over TLS or QUIC (port 853), DNS on port 53 without
 * `filter dns`; NULL for none. Only ports written out count (a protocol
 * of every port is not taken for DNS). */
static const char *unread_dns(const struct protocol *pr)
{
	if (pr->tr != TR_UDP && pr->tr != TR_TCP)
		return NULL;
	for (size_t i = 0; i < pr->nports; i++) {
		if (pr->ports[i].lo <= 853 && pr->ports[i].hi >= 853)
			return "DNS over TLS/QUIC (port 853)";
		if (pr->ports[i].lo <= 53 && pr->ports[i].hi >= 53 &&
		    !filter_watches(pr->filter))
			return "DNS without `filter dns` (port 53)";
	}
	return NULL;
}

/* The first allow rule that lets the sources of R resolve names where
 * sluice cannot read the answers; *WHAT says how. */
static const struct rule *unread_resolver(const struct policy *p,
					  const struct rule *r,
					  const char **what)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *a = p->rules[i];
		if (a->action != ACT_ALLOW || !addrs_meet(&a->src.addrs,
							  &r->src.addrs))
			continue;
		for (size_t k = 0; k < a->nprotos; k++)
			if ((*what = unread_dns(a->protos[k])))
				return a;
	}
	return NULL;
}

/*
 * A rule naming destinations by domain relies, for names behind CDNs, on
 * the clients' own DNS answers, which sluice reads only through `filter
 * dns` sessions (plain DNS). Warns where another allow rule lets the same
 * clients resolve with answers sluice cannot see (DNS over TLS, DNS
 * without the filter): those sessions are decided by reverse names only.
 * DNS over HTTPS cannot be told from HTTPS at all (docs/sluice.conf.5.md).
 */
static void check_dns_visibility(struct policy *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = p->rules[i];
		const char *what = NULL;
		if (r->dst.ndoms == 0)
			continue;
		const struct rule *a = unread_resolver(p, r, &what);
		if (!a)
			continue;
		diags_add(&p->diags, DIAG_WARNING, &r->loc,
			  "rule '%s' names destinations, but rule '%s' (line "
			  "%d) lets its clients use %s, whose answers sluice "
			  "cannot read: names those clients learn there are "
			  "decided by reverse names only",
			  r->name, a->name, a->loc.line, what);
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

/* Literal IPv4 or [IPv6] with an optional :port, nothing after but "/". */
static bool uri_host_ok(const char *h)
{
	char buf[64];
	const char *end;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end || (size_t)(end - h - 1) >= sizeof(buf))
			return false;
		memcpy(buf, h + 1, (size_t)(end - h - 1));
		buf[end - h - 1] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return false;
		end++;
	} else {
		size_t n = strcspn(h, ":/");
		if (n == 0 || n >= sizeof(buf))
			return false;
		memcpy(buf, h, n);
		buf[n] = '\0';
		struct in_addr a4;
		if (inet_pton(AF_INET, buf, &a4) != 1)
			return false;
		end = h + n;
	}
	if (*end == ':') {
		char *pe;
		long port = strtol(end + 1, &pe, 10);
		if (pe == end + 1 || port <= 0 || port > 65535)
			return false;
		end = pe;
	}
	return *end == '\0' || strcmp(end, "/") == 0;
}

const char *directory_uri_problem(const char *uri)
{
	if (!uri || !*uri)
		return "no uri";
	if (strncmp(uri, "ldapi://", 8) == 0)
		return uri[8] && uri[8] != '/' ? NULL
					       : "ldapi:// needs a socket path";
	const char *h = strncmp(uri, "ldap://", 7) == 0	   ? uri + 7
			: strncmp(uri, "ldaps://", 8) == 0 ? uri + 8
							   : NULL;
	if (!h)
		return "the scheme must be ldap://, ldaps:// or ldapi://";
	if (!uri_host_ok(h))
		return "the host must be a literal IPv4 or [IPv6] address "
		       "with an optional port (a name could block or need a "
		       "decision itself)";
	return NULL;
}

const char *secret_file_problem(const char *path)
{
	struct stat st;
	if (!path || stat(path, &st) < 0)
		return NULL;
	if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP))
		return "is readable or writable by others (chmod 600 or 640)";
	return NULL;
}

/* directory { keytab, principal, kerberos-host }: a SASL GSSAPI bind needs
 * all three, excludes the simple bind's settings, and its keytab is a
 * secret file (the same check sluiced makes before every bind). */
static void check_directory_gssapi(const struct directory_cfg *c,
				   struct diags *d)
{
	if (!c->keytab) {
		if (c->principal || c->kerberos_host)
			diags_add(d, DIAG_ERROR, NULL,
				  "directory principal and kerberos-host need "
				  "keytab");
		return;
	}
	if (!c->principal || !c->kerberos_host)
		diags_add(d, DIAG_ERROR, NULL,
			  "directory keytab needs principal and kerberos-host");
	if (c->bind_dn || c->password_file)
		diags_add(d, DIAG_ERROR, NULL,
			  "directory keytab (a GSSAPI bind) excludes bind-dn "
			  "and password-file (a simple bind)");
	if ((c->uri && strncmp(c->uri, "ldap://", 7) != 0) || c->starttls)
		diags_add(d, DIAG_ERROR, NULL,
			  "directory keytab needs a plain ldap:// uri without "
			  "starttls (GSSAPI signs and seals the connection "
			  "itself; directories refuse that inside TLS)");
	const char *why = secret_file_problem(c->keytab);
	if (why)
		diags_add(d, DIAG_ERROR, NULL, "directory keytab '%s' %s",
			  c->keytab, why);
	else if (access(c->keytab, R_OK) < 0)
		diags_add(d, DIAG_ERROR, NULL, "directory keytab '%s': %s",
			  c->keytab, strerror(errno));
}

/* True when DN is a domain root: only dc= components (dc=corp,dc=example). */
static bool domain_root(const char *dn)
{
	if (!*dn)
		return false;
	for (const char *p = dn; *p;) {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, "dc=", 3) != 0)
			return false;
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	return true;
}

static void check_directory(const struct directory_cfg *c, struct diags *d)
{
	bool gc = c->uri && (strstr(c->uri, ":3268") || strstr(c->uri, ":3269"));
	if (c->schema == SCHEMA_AD && c->base && domain_root(c->base) && !gc)
		diags_add(d, DIAG_WARNING, NULL,
			  "directory base '%s': an Active Directory domain "
			  "root answers with referrals (its DNS and "
			  "configuration partitions), which make every group "
			  "list incomplete; use a base below it (cn=Users,...) "
			  "or the global catalog (port 3268, 3269 with TLS)",
			  c->base);
	if (!c->uri || !c->base)
		diags_add(d, DIAG_ERROR, NULL,
			  "directory ldap needs both uri and base");
	const char *why = c->uri ? directory_uri_problem(c->uri) : NULL;
	if (why)
		diags_add(d, DIAG_ERROR, NULL, "directory uri '%s': %s",
			  c->uri, why);
	bool plain = c->uri && strncmp(c->uri, "ldap://", 7) == 0;
	if (c->starttls && !plain)
		diags_add(d, DIAG_ERROR, NULL,
			  "directory starttls needs an ldap:// uri");
	if (plain && !c->starttls && c->bind_dn && !c->keytab)
		diags_add(d, DIAG_WARNING, NULL,
			  "directory: the bind password goes in clear over "
			  "ldap:// (use ldaps:// or starttls yes)");
	if (!c->tls_verify && (c->starttls || (c->uri && !plain)))
		diags_add(d, DIAG_WARNING, NULL,
			  "directory tls-verify no: any server can answer for "
			  "the directory");
	if (c->tls_ca && access(c->tls_ca, R_OK) < 0)
		diags_add(d, DIAG_ERROR, NULL, "directory tls-ca '%s': %s",
			  c->tls_ca, strerror(errno));
	if ((why = secret_file_problem(c->password_file)))
		diags_add(d, DIAG_ERROR, NULL,
			  "directory password-file '%s' %s", c->password_file,
			  why);
	check_directory_gssapi(c, d);
}

/* identity { ignore-users, radius-* }: the RADIUS listener needs its
 * address, its secret and its clients (compiled into radius_nets). */
static void check_identity(struct policy *p)
{
	struct identity_cfg *c = &p->identity;
	struct diags *d = &p->diags;
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
	struct diags *d = &p->diags;
	for (size_t i = 0; i < p->resolver.nservers; i++)
		if (!server_ok(p->resolver.servers[i]))
			diags_add(d, DIAG_ERROR, NULL,
				  "resolver servers: '%s' is not ADDRESS, "
				  "ADDRESS:PORT or [IPV6]:PORT",
				  p->resolver.servers[i]);
	if (p->directory.enabled)
		check_directory(&p->directory, d);
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

/* flood { exceptions NAME }: NAME must be a network or computers set. */
static void check_flood(struct policy *p)
{
	const char *name = p->flood.exceptions;
	p->flood.exc = NULL;
	if (!name)
		return;
	for (size_t i = 0; i < p->nnets; i++)
		if (strcmp(p->nets[i]->name, name) == 0) {
			p->flood.exc = p->nets[i];
			p->nets[i]->used = true;
			return;
		}
	diags_add(&p->diags, DIAG_ERROR, NULL,
		  "flood exceptions: '%s' is not a network or computers set",
		  name);
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
	policy_check_nets(p);
	check_flood(p);
	check_shadowing(p);
	check_dns_visibility(p);
}
