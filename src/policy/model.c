/*
 * model.c — ownership of the policy model: one free for the whole tree, and
 * small helpers on its parts.
 */
#include "policy/internal.h"
#include "common/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void verify_spec_free(struct verify_spec *s)
{
	free(s->target);
	free(s->expect);
	free(s->body);
	free(s->host);
	free(s->sni);
	free(s->ca);
	free(s->cert);
	free(s->key);
	free(s->user);
	free(s->password_file);
	free(s->notify);
	free(s->qname);
	free(s->answer);
	memset(s, 0, sizeof(*s));
}

static const char *const method_names[VM_COUNT] = {
    [VM_ICMP] = "icmp",
    [VM_TCP] = "tcp",
    [VM_HTTP] = "http",
    [VM_DNS] = "dns",
};

/* Other words for a method, accepted by the parser. */
static const struct {
	const char *word;
	enum verify_method m;
} method_aliases[] = {{"ping", VM_ICMP}, {"https", VM_HTTP}};

const char *verify_method_name(enum verify_method m)
{
	return (unsigned)m < VM_COUNT ? method_names[m] : NULL;
}

int verify_method_parse(const char *word)
{
	for (int m = 0; m < VM_COUNT; m++)
		if (method_names[m] && strcmp(method_names[m], word) == 0)
			return m;
	for (size_t i = 0; i < sizeof(method_aliases) / sizeof(method_aliases[0]);
	     i++)
		if (strcmp(method_aliases[i].word, word) == 0)
			return (int)method_aliases[i].m;
	return -1;
}

static bool str_equal(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* A new field of struct verify_spec must be compared below: this size
 * check fails the build until the comparison (and this number) follow.
 * `notify` alone is not compared: what runs at a state change is not part
 * of the check's identity, so changing it never restarts a check. */
#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(struct verify_spec) == 160,
	       "struct verify_spec changed: compare the new field in "
	       "verify_spec_cfg_equal, copy and free it in verify_spec_copy "
	       "and verify_spec_free, then update this size");
#endif

bool verify_spec_cfg_equal(const struct verify_spec *a,
			   const struct verify_spec *b)
{
	if (a->method != b->method || a->port != b->port ||
	    a->every_ms != b->every_ms || a->timeout_ms != b->timeout_ms ||
	    a->warn_ms != b->warn_ms || a->rise != b->rise ||
	    a->fall != b->fall || a->insecure != b->insecure ||
	    a->auth != b->auth || a->nexpect != b->nexpect ||
	    a->qtype != b->qtype)
		return false;
	for (size_t i = 0; i < a->nexpect; i++)
		if (a->expect[i].lo != b->expect[i].lo ||
		    a->expect[i].hi != b->expect[i].hi)
			return false;
	return str_equal(a->target, b->target) && str_equal(a->body, b->body) &&
	       str_equal(a->host, b->host) && str_equal(a->sni, b->sni) &&
	       str_equal(a->ca, b->ca) && str_equal(a->cert, b->cert) &&
	       str_equal(a->key, b->key) && str_equal(a->user, b->user) &&
	       str_equal(a->password_file, b->password_file) &&
	       str_equal(a->qname, b->qname) && str_equal(a->answer, b->answer);
}

static char *strdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void verify_spec_copy(struct verify_spec *dst, const struct verify_spec *src)
{
	*dst = *src;
	dst->target = strdup_or_null(src->target);
	dst->expect = NULL;
	if (src->nexpect) {
		dst->expect = xmalloc(src->nexpect * sizeof(*dst->expect));
		memcpy(dst->expect, src->expect,
		       src->nexpect * sizeof(*dst->expect));
	}
	dst->body = strdup_or_null(src->body);
	dst->host = strdup_or_null(src->host);
	dst->sni = strdup_or_null(src->sni);
	dst->ca = strdup_or_null(src->ca);
	dst->cert = strdup_or_null(src->cert);
	dst->key = strdup_or_null(src->key);
	dst->user = strdup_or_null(src->user);
	dst->password_file = strdup_or_null(src->password_file);
	dst->notify = strdup_or_null(src->notify);
	dst->qname = strdup_or_null(src->qname);
	dst->answer = strdup_or_null(src->answer);
}

/* A new field of struct resolver_cfg or directory_cfg must be compared,
 * copied and freed below: these size checks fail the build until the
 * functions (and these numbers) follow; tests/unit/test_parser.c changes
 * every settings row and checks that the comparison sees it. */
#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(struct resolver_cfg) == 64,
	       "struct resolver_cfg changed: compare the new field in "
	       "resolver_cfg_equal, copy and clear it, then update this size");
_Static_assert(sizeof(struct directory_cfg) == 104,
	       "struct directory_cfg changed: compare the new field in "
	       "directory_cfg_equal, copy and clear it, then update this size");
#endif

static bool strv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_equal(a[i], b[i]))
			return false;
	return true;
}

static char **strv_copy(char *const *v, size_t n)
{
	if (n == 0)
		return NULL;
	char **c = xcalloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

bool resolver_cfg_equal(const struct resolver_cfg *a,
			const struct resolver_cfg *b)
{
	return a->timeout_ms == b->timeout_ms && a->cache == b->cache &&
	       a->negative_ttl_s == b->negative_ttl_s &&
	       a->refresh_min_s == b->refresh_min_s &&
	       a->dns_rebinding == b->dns_rebinding &&
	       a->dns_grace_s == b->dns_grace_s &&
	       a->verify_every_ms == b->verify_every_ms &&
	       str_equal(a->verify_name, b->verify_name) &&
	       str_equal(a->dns_trusted, b->dns_trusted) &&
	       strv_equal(a->servers, a->nservers, b->servers, b->nservers);
}

void resolver_cfg_copy(struct resolver_cfg *dst, const struct resolver_cfg *src)
{
	*dst = *src;
	dst->servers = strv_copy(src->servers, src->nservers);
	dst->verify_name = strdup_or_null(src->verify_name);
	dst->dns_trusted = strdup_or_null(src->dns_trusted);
}

void resolver_cfg_clear(struct resolver_cfg *c)
{
	free_strv(c->servers, c->nservers);
	free(c->verify_name);
	free(c->dns_trusted);
	memset(c, 0, sizeof(*c));
}

bool directory_cfg_equal(const struct directory_cfg *a,
			 const struct directory_cfg *b)
{
	return a->enabled == b->enabled && a->timeout_ms == b->timeout_ms &&
	       a->cache_ttl_s == b->cache_ttl_s && a->schema == b->schema &&
	       a->starttls == b->starttls && a->tls_verify == b->tls_verify &&
	       str_equal(a->uri, b->uri) && str_equal(a->base, b->base) &&
	       str_equal(a->bind_dn, b->bind_dn) &&
	       str_equal(a->password_file, b->password_file) &&
	       str_equal(a->user_filter, b->user_filter) &&
	       str_equal(a->group_filter, b->group_filter) &&
	       str_equal(a->tls_ca, b->tls_ca) &&
	       str_equal(a->keytab, b->keytab) &&
	       str_equal(a->principal, b->principal) &&
	       str_equal(a->kerberos_host, b->kerberos_host);
}

void directory_cfg_copy(struct directory_cfg *dst,
			const struct directory_cfg *src)
{
	*dst = *src;
	dst->uri = strdup_or_null(src->uri);
	dst->base = strdup_or_null(src->base);
	dst->bind_dn = strdup_or_null(src->bind_dn);
	dst->password_file = strdup_or_null(src->password_file);
	dst->user_filter = strdup_or_null(src->user_filter);
	dst->group_filter = strdup_or_null(src->group_filter);
	dst->tls_ca = strdup_or_null(src->tls_ca);
	dst->keytab = strdup_or_null(src->keytab);
	dst->principal = strdup_or_null(src->principal);
	dst->kerberos_host = strdup_or_null(src->kerberos_host);
}

void directory_cfg_clear(struct directory_cfg *c)
{
	free(c->uri);
	free(c->base);
	free(c->bind_dn);
	free(c->password_file);
	free(c->user_filter);
	free(c->group_filter);
	free(c->tls_ca);
	free(c->keytab);
	free(c->principal);
	free(c->kerberos_host);
	memset(c, 0, sizeof(*c));
}

static void endpoint_free(struct endpoint *e)
{
	free(e->sets);
	free(e->doms);
	addrset_free(&e->literal);
	addrset_free(&e->addrs);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nnets; i++) {
		free(p->nets[i]->name);
		addrset_free(&p->nets[i]->addrs);
		free_strv(p->nets[i]->ifaces, p->nets[i]->nifaces);
		free(p->nets[i]);
	}
	for (size_t i = 0; i < p->ndoms; i++) {
		free(p->doms[i]->name);
		free_strv(p->doms[i]->exact, p->doms[i]->nexact);
		free_strv(p->doms[i]->suffix, p->doms[i]->nsuffix);
		free(p->doms[i]);
	}
	for (size_t i = 0; i < p->nusersets; i++) {
		free(p->usersets[i]->name);
		free_strv(p->usersets[i]->users, p->usersets[i]->nusers);
		free_strv(p->usersets[i]->groups, p->usersets[i]->ngroups);
		free(p->usersets[i]);
	}
	for (size_t i = 0; i < p->nprotos; i++) {
		free(p->protos[i]->name);
		free(p->protos[i]->ports);
		free(p->protos[i]->filter);
		free(p->protos[i]);
	}
	for (size_t i = 0; i < p->nscheds; i++) {
		free(p->scheds[i]->name);
		free(p->scheds[i]->v);
		free(p->scheds[i]);
	}
	for (size_t i = 0; i < p->nrules; i++) {
		struct rule *r = p->rules[i];
		free(r->name);
		free(r->protos);
		endpoint_free(&r->src);
		endpoint_free(&r->dst);
		free(r->users);
		free(r);
	}
	for (size_t i = 0; i < p->nverifiers; i++) {
		free(p->verifiers[i]->name);
		verify_spec_free(&p->verifiers[i]->spec);
		free(p->verifiers[i]);
	}
	for (size_t i = 0; i < p->nfarms; i++) {
		struct farm *f = p->farms[i];
		for (size_t k = 0; k < f->nmembers; k++)
			free(f->members[k].name);
		free(f->members);
		verify_spec_free(&f->verify);
		free(f->sorry);
		free(f->name);
		free(f);
	}
	for (size_t i = 0; i < p->npublishes; i++) {
		free(p->publishes[i]->name);
		free(p->publishes[i]);
	}
	for (size_t i = 0; i < p->nalerts; i++) {
		free(p->alerts[i]->name);
		free(p->alerts[i]->counter);
		free(p->alerts[i]->of);
		free(p->alerts[i]->run);
		free(p->alerts[i]);
	}
	free(p->alerts);
	for (size_t i = 0; i < p->nnats; i++)
		free(p->nats[i]);
	free(p->nats);
	free(p->nets);
	free(p->doms);
	free(p->usersets);
	free(p->protos);
	free(p->scheds);
	free(p->rules);
	free(p->verifiers);
	free(p->farms);
	free(p->publishes);
	addrset_free(&p->external);
	resolver_cfg_clear(&p->resolver);
	free(p->flood.exceptions);
	directory_cfg_clear(&p->directory);
	free_strv(p->identity.ignore_users, p->identity.nignore_users);
	free_strv(p->identity.own_realms, p->identity.nown_realms);
	own_realms_free(&p->identity.realms);
	free(p->identity.radius_listen);
	free(p->identity.radius_secret_file);
	free_strv(p->identity.radius_clients, p->identity.nradius_clients);
	addrset_free(&p->identity.radius_nets);
	free(p->identity.api_listen);
	free(p->identity.api_token_file);
	free(p->log.file);
	free(p->metrics.listen);
	free(p->portal.listen);
	free(p->portal.certificate);
	free(p->portal.key);
	free(p->control.socket_owner);
	free(p->control.socket_group);
	free_strv(p->control.operator_groups, p->control.noperator_groups);
	free_strv(p->control.read_only_groups, p->control.nread_only_groups);
	diags_free(&p->diags);
	free(p);
}

const struct rule *policy_rule(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i]->name, name) == 0)
			return p->rules[i];
	return NULL;
}

/*
 * One definition of "sort N inclusive ranges {lo, hi} by lo and merge the
 * overlapping and adjacent ones in place; returns the new count", made for
 * each range type (ports and ICMP types, minutes of the week).
 */
#define DEFINE_RANGE_MERGE(fn, type)                                        \
	static int fn##_cmp(const void *a, const void *b)                   \
	{                                                                   \
		const type *x = a, *y = b;                                  \
		return (int)x->lo - (int)y->lo;                             \
	}                                                                   \
	int fn(type *v, size_t n)                                           \
	{                                                                   \
		if (!n)                                                     \
			return 0;                                           \
		xqsort(v, n, sizeof(*v), fn##_cmp);                         \
		size_t k = 0;                                               \
		for (size_t i = 1; i < n; i++) {                            \
			if ((uint32_t)v[i].lo <= (uint32_t)v[k].hi + 1) {   \
				if (v[i].hi > v[k].hi)                      \
					v[k].hi = v[i].hi;                  \
			} else {                                            \
				v[++k] = v[i];                              \
			}                                                   \
		}                                                           \
		return (int)k + 1;                                          \
	}

DEFINE_RANGE_MERGE(merge_portranges, struct portrange)
DEFINE_RANGE_MERGE(merge_minranges, struct minrange)

void name_normalize(char *s)
{
	for (char *c = s; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	size_t n = strlen(s);
	while (n && s[n - 1] == '.')
		s[--n] = '\0';
}

uint16_t week_minute_now(void)
{
	/* converted once a minute per thread: the queue workers ask for
	 * every packet (zone offsets and their changes fall on minutes) */
	static __thread time_t minute = -1;
	static __thread uint16_t cached;
	time_t t = time(NULL);
	if (t / 60 == minute)
		return cached;
	struct tm tm;
	localtime_r(&t, &tm);
	int day = (tm.tm_wday + 6) % 7; /* Monday = 0 */
	minute = t / 60;
	cached = (uint16_t)(day * 1440 + tm.tm_hour * 60 + tm.tm_min);
	return cached;
}
