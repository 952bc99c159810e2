/*
 * validate.c — whole-policy validation after parsing (what `sluicectl
 * check` reports besides syntax): the addresses each rule side stands for,
 * `external`, cross-references of the service settings, names the gateway
 * cannot read, and the shadowed-rule warnings (shadow.c).
 */
#include "policy/internal.h"
#include "common/addrport.h"
#include "policy/settings.h"
#include "common/text.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
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

/* ---- names the gateway cannot read ----------------------------------------------- */

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
		    !(pr->filter && strcmp(pr->filter, FILTER_DNS) == 0))
			return "DNS without `filter dns` (port 53)";
	}
	return NULL;
}

/* An allow rule that lets its sources resolve where sluice cannot read
 * the answers, and how (unread_dns of its first such protocol). */
struct resolver_rule {
	const struct rule *rule;
	const char *what;
};

/* The allow rules of P with an unread resolver, in rule order, into *OUT
 * (freed by the caller); their number. */
static size_t unread_resolvers(const struct policy *p,
			       struct resolver_rule **out)
{
	size_t n = 0;
	*out = NULL;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *a = p->rules[i];
		const char *what = NULL;
		for (size_t k = 0; a->action == ACT_ALLOW && !what &&
				   k < a->nprotos;
		     k++)
			what = unread_dns(a->protos[k]);
		if (what)
			VEC_PUSH(*out, n, ((struct resolver_rule){a, what}));
	}
	return n;
}

/*
 * A rule naming destinations by domain relies, for names behind CDNs, on
 * the clients' own DNS answers, which sluice reads only through `filter
 * dns` sessions (plain DNS). Warns where another allow rule lets the same
 * clients resolve with answers sluice cannot see (DNS over TLS, DNS
 * without the filter): those sessions are decided by reverse names only.
 * DNS over HTTPS cannot be told from HTTPS at all (docs/sluice.conf.5.md).
 * The resolver rules are found once, and a rule's sources are compared
 * with theirs only (some address in both: not covered by the complement
 * of the rule's sources): linear in the rules, not quadratic.
 */
static void check_dns_visibility(struct policy *p)
{
	struct resolver_rule *rr;
	size_t nrr = unread_resolvers(p, &rr);
	for (size_t i = 0; nrr && i < p->nrules; i++) {
		const struct rule *r = p->rules[i];
		if (r->dst.ndoms == 0)
			continue;
		struct addrset outside = {0};
		addrset_complement(&r->src.addrs, &outside);
		const struct resolver_rule *hit = NULL;
		for (size_t k = 0; !hit && k < nrr; k++)
			if (!addrset_covers(&outside, &rr[k].rule->src.addrs))
				hit = &rr[k];
		addrset_free(&outside);
		if (!hit)
			continue;
		diags_add(&p->diags, DIAG_WARNING, &r->loc,
			  "rule '%s' names destinations, but rule '%s' (line "
			  "%d) lets its clients use %s, whose answers sluice "
			  "cannot read: names those clients learn there are "
			  "decided by reverse names only",
			  r->name, hit->rule->name, hit->rule->loc.line,
			  hit->what);
	}
	free(rr);
}

/*
 * A `filter dns` rule reads every session it allows as DNS (the kernel's
 * dns_filter chain and the decision path go by the rule's id, not by the
 * protocol a session matched), so another protocol in the same rule would
 * have its sessions read as DNS and dropped as unreadable. An error: such a
 * rule is split, the filtered protocols in a rule of their own.
 */
static void check_dns_filter_alone(struct policy *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = p->rules[i];
		if (!rule_filters_dns(r))
			continue;
		for (size_t k = 0; k < r->nprotos; k++) {
			const struct protocol *pr = r->protos[k];
			if (pr->filter && strcmp(pr->filter, FILTER_DNS) == 0)
				continue;
			diags_add(&p->diags, DIAG_ERROR, &r->loc,
				  "rule '%s': protocol '%s' shares a rule with "
				  "`filter dns` protocols: its sessions would be "
				  "read as DNS and dropped; give it a rule of its "
				  "own", r->name, pr->name);
		}
	}
}

/* ---- settings cross-checks ---------------------------------------------------- */

/* True for "ADDR", "IPV4:PORT" or "[IPV6]:PORT". */
static bool server_ok(const char *s)
{
	uint32_t a4;
	u128 a6;
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	if (parse_addr(s, &a4, &a6))
		return true;
	if (addrport_split(s, host, sizeof(host), &port) || !port)
		return false;
	/* a literal: IPv6 in its brackets, IPv4 without */
	return parse_addr(host, &a4, &a6) == (s[0] == '[' ? AF_INET6 : AF_INET);
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

/* What is wrong with a listener's "ADDRESS:PORT" S (ADDRESS an IPv4
 * address, a name or "[IPv6]"), or NULL with ADDRESS in HOST (HOSTLEN
 * bytes): the port must be 1-65535, not 0 (which binds a port the kernel
 * picks, that nobody knows). */
static const char *listen_split(const char *s, char *host, size_t hostlen)
{
	unsigned port;
	const char *why = addrport_split(s, host, hostlen, &port);
	return why ? why : port ? NULL : "the port must be 1 to 65535";
}

/* listen_split() when the address is not wanted. */
static const char *listen_problem(const char *s)
{
	char host[256];
	return listen_split(s, host, sizeof(host));
}

/* listen_problem() for a listener bound to a literal address only (the
 * RADIUS listener: sluiced binds it without looking a name up). */
static const char *literal_listen_problem(const char *s)
{
	char host[256];
	unsigned char bin[16];
	const char *why = listen_split(s, host, sizeof(host));
	if (!why && inet_pton(AF_INET, host, bin) != 1 &&
	    inet_pton(AF_INET6, host, bin) != 1)
		why = "the address must be an IP address (no name is looked "
		      "up)";
	return why;
}

/* True when the owner of the file ST, as its owner may change it at any
 * time, is neither root nor the user checking (or running sluiced): a
 * secret or a program another account owns is that account's to rewrite
 * (OpenSSH's StrictModes and sudo hold their files to the same). */
static bool foreign_owner(const struct stat *st)
{
	return st->st_uid != 0 && st->st_uid != geteuid();
}

static const char foreign_owner_why[] =
    "belongs to another user, who may change it (chown root)";

/* Why a secret file ST lets others at it, or NULL. */
static const char *secret_stat_problem(const struct stat *st)
{
	if (st->st_mode & (S_IROTH | S_IWOTH | S_IWGRP))
		return "is readable or writable by others, or writable by its "
		       "group (chmod 600 or 640)";
	if (foreign_owner(st))
		return foreign_owner_why;
	return NULL;
}

const char *secret_file_problem(const char *path)
{
	struct stat st;
	if (!path || stat(path, &st) < 0)
		return NULL;
	return secret_stat_problem(&st);
}

/* Why the file PATH (for SF_EXEC: the program, a command's first word),
 * named by a row of kind KIND, is unusable, or NULL. *ERROR
 * says which (settings.h enum setting_file): an error refuses the policy
 * (a relative path, a secret others may reach or that is no regular
 * file, a program others may change, a secret or a program another user
 * owns); a warning (missing, no regular
 * file, not executable) leaves the part that reads it off and the rest
 * of the gateway running, so a lost file never stops the firewall at a
 * restart. A path stat(2) cannot reach for another reason (a check run
 * without root, before /etc/sluice is searchable) passes: sluiced
 * reports its own open failure. */
static const char *file_problem(enum setting_file kind, const char *path,
				bool *error)
{
	struct stat st;
	*error = path[0] != '/';
	if (*error)
		return kind == SF_EXEC ? "does not start with an absolute path "
					 "(sluiced runs from /, no PATH search)"
				       : "is not an absolute path (sluiced runs "
					 "from /)";
	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? "does not exist"
							   : NULL;
	if (!S_ISREG(st.st_mode)) {
		*error = kind == SF_SECRET;
		return "is not a regular file";
	}
	const char *why = NULL;
	if (kind == SF_SECRET)
		why = secret_stat_problem(&st);
	else if (kind == SF_EXEC && (st.st_mode & (S_IWGRP | S_IWOTH)))
		why = "may be changed by others: its group or anyone may write "
		      "it (chmod 755)";
	else if (kind == SF_EXEC && foreign_owner(&st))
		why = foreign_owner_why;
	*error = why != NULL;
	if (!why && kind == SF_EXEC && !(st.st_mode & S_IXOTH))
		why = "is not executable by others (chmod 755): a notify runs "
		      "as nobody, an alert as sluiced's -u user";
	return why;
}

/* Holds every file row of TABLE (its fields at BASE) to file_problem;
 * WHAT names the block in the message, LOC where it was written (NULL:
 * a settings block). */
static void check_file_rows(struct diags *d, const struct loc *loc,
			    const char *what, const struct setting *table,
			    const void *base)
{
	for (const struct setting *s = table; s->key; s++) {
		if (s->file == SF_NONE ||
		    setting_storage(s->type) != SS_STRING)
			continue;
		const char *value =
		    *(char *const *)(const void *)((const char *)base + s->off);
		if (s->file == SF_EXEC && value) /* as strtok_r splits it */
			value += strspn(value, " \t");
		if (!value || (s->file == SF_EXEC && !*value))
			continue; /* unset; an empty command is none */
		/* a command's program: its first word */
		char *path = xstrndup(value, s->file == SF_EXEC
						 ? strcspn(value, " \t")
						 : strlen(value));
		bool error;
		const char *why = file_problem(s->file, path, &error);
		if (why)
			diags_add(d, error ? DIAG_ERROR : DIAG_WARNING, loc,
				  "%s %s '%s' %s", what, s->key, path, why);
		free(path);
	}
}

/* Every file a setting names (settings.h enum setting_file): the blocks',
 * each verifier's, each alert's and each farm's verify options. */
static void check_files(struct policy *p)
{
	for (const struct settings_block *b = settings_blocks(); b->name; b++)
		check_file_rows(&p->diags, NULL, b->name, b->table, p);
	for (size_t i = 0; i < p->nverifiers; i++) {
		const struct verifier *v = p->verifiers[i];
		char *what = xasprintf("verifier '%s'", v->name);
		check_file_rows(&p->diags, &v->loc, what, verify_settings,
				&v->spec);
		free(what);
	}
	for (size_t i = 0; i < p->nalerts; i++) {
		const struct alert_def *a = p->alerts[i];
		char *what = xasprintf("alert '%s'", a->name);
		check_file_rows(&p->diags, &a->loc, what, alert_settings, a);
		free(what);
	}
	for (size_t i = 0; i < p->nfarms; i++) {
		const struct farm *f = p->farms[i];
		if (!f->has_verify)
			continue;
		char *what = xasprintf("farm '%s' verify", f->name);
		check_file_rows(&p->diags, &f->loc, what, verify_settings,
				&f->verify);
		free(what);
	}
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
	check_directory_gssapi(c, d);
}

/* The value of DN's component COMP (`dc=corp`: "corp", LEN bytes) when its
 * attribute type is `dc` (any case, white space around), else NULL. */
static const char *dc_value(const char *comp, size_t clen, size_t *len)
{
	const char *e = comp + clen;
	while (comp < e && *comp == ' ')
		comp++;
	if (e - comp < 3 || strncasecmp(comp, "dc", 2) != 0)
		return NULL;
	const char *v = comp + 2;
	while (v < e && *v == ' ')
		v++;
	if (v == e || *v++ != '=')
		return NULL;
	while (v < e && *v == ' ')
		v++;
	while (e > v && e[-1] == ' ')
		e--;
	*len = (size_t)(e - v);
	return *len && !memchr(v, '\\', *len) ? v : NULL;
}

/* Adds the realm a directory base's `dc=` components spell (dc=corp,
 * dc=example: CORP.EXAMPLE) and its first label (CORP, the NetBIOS domain
 * Active Directory and Samba give by default) to OWN. */
static void realms_from_base(struct own_realms *own, const char *base)
{
	char realm[512];
	size_t at = 0, first = 0;
	for (const char *c = base; c && *c;) {
		size_t clen = strcspn(c, ",");
		size_t vlen;
		const char *v = dc_value(c, clen, &vlen);
		if (v && at + vlen + 1 < sizeof(realm)) {
			if (at)
				realm[at++] = '.';
			memcpy(realm + at, v, vlen);
			at += vlen;
			first = first ? first : vlen;
		}
		c += clen + (c[clen] == ',');
	}
	own_realms_add(own, realm, at);
	own_realms_add(own, realm, first);
}

/* Adds a Kerberos principal's realm (svc@CORP.EXAMPLE: CORP.EXAMPLE) and
 * its first label (CORP) to OWN. */
static void realms_from_principal(struct own_realms *own, const char *princ)
{
	const char *at = princ ? strrchr(princ, '@') : NULL;
	if (!at)
		return;
	own_realms_add(own, at + 1, strlen(at + 1));
	own_realms_add(own, at + 1, strcspn(at + 1, "."));
}

/* Names from a source that spells realms (RADIUS, the push API, the
 * portal, the directory) are compared with names in the policy (`user`
 * entries, ignore-users) or looked up in the directory: how a realm
 * compares matters. */
static bool names_compared(const struct policy *p)
{
	bool named = p->identity.nignore_users || p->directory.enabled;
	for (size_t i = 0; i < p->nusersets && !named; i++)
		named = p->usersets[i]->nusers != 0;
	return named && (p->identity.radius_listen || p->identity.api_listen ||
			 p->portal.listen || p->directory.enabled);
}

/* identity { own-realms }, or the realms derived from the directory, into
 * identity.realms, which every user set compares under. */
static void check_own_realms(struct policy *p)
{
	struct identity_cfg *c = &p->identity;
	struct diags *d = &p->diags;
	own_realms_free(&c->realms);
	for (size_t i = 0; i < c->nown_realms; i++) {
		const char *r = c->own_realms[i];
		if (text_name_problem(r) || strpbrk(r, "@\\ \t"))
			diags_add(d, DIAG_ERROR, NULL,
				  "identity own-realms: '%s' is not a realm or "
				  "domain (no @, \\ or white space)", r);
		else
			own_realms_add(&c->realms, r, strlen(r));
	}
	if (!c->nown_realms) {
		realms_from_base(&c->realms, p->directory.base);
		realms_from_principal(&c->realms, p->directory.principal);
	}
	for (size_t i = 0; i < p->nusersets; i++)
		p->usersets[i]->realms = &c->realms;
	if (!c->realms.n && names_compared(p))
		diags_add(d, DIAG_WARNING, NULL,
			  "identity: no own realm (own-realms, or a directory "
			  "base with dc= parts): a user@REALM or DOMAIN\\user "
			  "name never matches a plain user name");
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
		const char *why = listen_problem(c->api_listen);
		if (why)
			diags_add(d, DIAG_ERROR, NULL,
				  "identity api-listen '%s': %s", c->api_listen,
				  why);
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
	const char *why = literal_listen_problem(c->radius_listen);
	if (why)
		diags_add(d, DIAG_ERROR, NULL,
			  "identity radius-listen '%s': %s", c->radius_listen,
			  why);
	if (!c->radius_secret_file)
		diags_add(d, DIAG_ERROR, NULL,
			  "identity radius-listen needs radius-secret-file");
	if (!c->nradius_clients)
		diags_add(d, DIAG_ERROR, NULL,
			  "identity radius-listen needs radius-clients (the "
			  "addresses that may send accounting)");
}

/* LISTEN is "A:PORT" or "[A]:PORT", A a literal address other than
 * 0.0.0.0 and ::, PORT 1..65535 but not the HTTP responder's. */
static bool portal_listen_ok(const char *listen)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char bin[16], zero[16] = {0};
	unsigned port;
	if (addrport_split(listen, host, sizeof(host), &port) || !port ||
	    port == PORTAL_HTTP_PORT)
		return false;
	if (inet_pton(AF_INET, host, bin) == 1)
		return memcmp(bin, zero, 4) != 0;
	return inet_pton(AF_INET6, host, bin) == 1 && memcmp(bin, zero, 16) != 0;
}

/* portal { listen certificate key lifetime idle }: the page needs its
 * address (ADDRESS:PORT, a literal address), its certificate and key, and
 * the `directory ldap` block it signs users in against. */
static void check_portal(struct policy *p)
{
	const struct portal_cfg *c = &p->portal;
	struct diags *d = &p->diags;
	if (!c->listen) {
		if (c->certificate || c->key)
			diags_add(d, DIAG_WARNING, NULL,
				  "portal: certificate and key do nothing "
				  "without listen");
		return;
	}
	if (!portal_listen_ok(c->listen))
		diags_add(d, DIAG_ERROR, NULL,
			  "portal listen '%s': expected ADDRESS:PORT with the "
			  "gateway's own address (the redirect names it; not "
			  "a wildcard) and a port other than %u (the "
			  "redirects' own)", c->listen, PORTAL_HTTP_PORT);
	if (!c->certificate || !c->key)
		diags_add(d, DIAG_ERROR, NULL,
			  "portal listen needs certificate and key");
	if (!p->directory.enabled)
		diags_add(d, DIAG_ERROR, NULL,
			  "portal needs a `directory ldap` block (users sign "
			  "in with the directory password)");
	else if (!p->directory.starttls && p->directory.uri &&
		 strncmp(p->directory.uri, "ldaps://", 8) != 0 &&
		 strncmp(p->directory.uri, "ldapi://", 8) != 0)
		diags_add(d, DIAG_WARNING, NULL,
			  "portal: the directory is plain ldap:// without "
			  "starttls: users' passwords would cross the network "
			  "in clear");
	if (c->idle_s > c->lifetime_s)
		diags_add(d, DIAG_WARNING, NULL,
			  "portal: idle is longer than lifetime, so only "
			  "lifetime ends a sign-in");
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
	if (p->resolver.verify_name && !dns_name_ok(p->resolver.verify_name))
		diags_add(d, DIAG_ERROR, NULL,
			  "resolver verify-name: '%s' is not a DNS name",
			  p->resolver.verify_name);
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
		const char *why = listen_problem(p->metrics.listen);
		if (why)
			diags_add(d, DIAG_ERROR, NULL, "metrics listen '%s': %s",
				  p->metrics.listen, why);
	}
	check_own_realms(p);
	check_identity(p);
	check_portal(p);
	for (size_t i = 0; i < p->nfarms; i++)
		if (!p->farms[i]->used)
			diags_add(d, DIAG_WARNING, &p->farms[i]->loc,
				  "farm '%s' is not published", p->farms[i]->name);
}

/* The network or computers set named NAME of P, marked used, or NULL. */
static struct netset *netset_named(struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nnets; i++)
		if (strcmp(p->nets[i]->name, name) == 0) {
			p->nets[i]->used = true;
			return p->nets[i];
		}
	return NULL;
}

/* flood { exceptions NAME }: NAME must be a network or computers set. */
static void check_flood(struct policy *p)
{
	const char *name = p->flood.exceptions;
	p->flood.exc = name ? netset_named(p, name) : NULL;
	if (name && !p->flood.exc)
		diags_add(&p->diags, DIAG_ERROR, NULL,
			  "flood exceptions: '%s' is not a network or "
			  "computers set",
			  name);
}

/* resolver { dns-trusted NAME }: NAME must be a network or computers set
 * (dnsfilter.c reads its addresses by name). */
static void check_dns_trusted(struct policy *p)
{
	const char *name = p->resolver.dns_trusted;
	if (name && !netset_named(p, name))
		diags_add(&p->diags, DIAG_ERROR, NULL,
			  "resolver dns-trusted: '%s' is not a network or "
			  "computers set",
			  name);
}

/* Whether rule R allows PROTO PORT to the gateway itself from some
 * source of FAMILY (AF_INET, AF_INET6; AF_UNSPEC: either): an allow rule
 * whose destination is `localhost` or `any`, whose sources are `any` or
 * some addresses of that family, and whose protocols admit it. Its
 * users clause and schedule are not looked at (the question is whether
 * the policy means to admit it at all), nor earlier rules that would take
 * such a session first. */
static bool rule_admits_to_gateway(const struct rule *r, int family,
				   uint8_t proto, uint16_t port)
{
	const struct addrset *a = &r->src.addrs;
	size_t n = family == AF_INET ? a->n4
		 : family == AF_INET6 ? a->n6
				      : a->n4 + a->n6;
	if (r->action != ACT_ALLOW || !(r->dst.any || r->dst.local) ||
	    !(r->src.any || n))
		return false;
	struct flow f = {.family = family == AF_INET6 ? AF_INET6 : AF_INET,
			 .proto = proto, .dport = port, .dst_local = true};
	bool matched;
	rule_proto_match(r, &f, &matched);
	return matched;
}

bool policy_admits_to_gateway(const struct policy *p, int family,
			      uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (rule_admits_to_gateway(p->rules[i], family, proto, port))
			return true;
	return false;
}

/*
 * OPNsense's anti-lockout hint: a policy with no rule that admits ssh
 * (tcp 22) to the gateway itself cuts the administrator's SSH session
 * when sluiced starts from it (sessions that exist are judged by the
 * policy: sluiced(8), START-UP). A warning, as management may come by
 * another way (a console, another port: `sluicectl check --host` judges
 * the ports this host's sshd listens on and its established sessions,
 * src/sluicectl/hostcheck.c).
 */
static void check_management_access(struct policy *p)
{
	if (policy_admits_to_gateway(p, AF_UNSPEC, IPPROTO_TCP, 22))
		return;
	diags_add(&p->diags, DIAG_WARNING, NULL,
		  "no rule allows ssh (tcp 22) to the gateway itself: a start "
		  "from an SSH session will cut it (add e.g. `rule \"admin "
		  "ssh\" allow ssh from ADMIN-NETWORK to localhost`)");
}

void policy_validate(struct policy *p)
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
	check_files(p);
	policy_validate_nets(p);
	check_flood(p);
	check_dns_trusted(p);
	policy_warn_shadowed(p);
	check_dns_visibility(p);
	check_dns_filter_alone(p);
	check_management_access(p);
}
