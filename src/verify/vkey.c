/*
 * vkey.c — the effective target of a check for one member, and the
 * comparison that decides whether two subscriptions share one probe.
 *
 * Two subscriptions share a probe when vprobe_cfg_equal() says their
 * probes are the same: equal effective targets, cadence and everything that
 * judges the answer (subscriber-side fields -- rise, fall, warn -- aside).
 *
 * HTTP targets. The URL's host may be `*` (a farm member). With N the name
 * the server should see (spec->sni, else for `*` spec->host, else the URL's
 * host) and A the address to connect to (the member, else the URL's host):
 *   - the URL is rewritten to carry N, so libcurl sends it as SNI and checks
 *     the certificate against it (or, with no name, the member address);
 *   - when A differs from N, CURLOPT_CONNECT_TO "::A:" sends the connection
 *     to A on the same port;
 *   - spec->host, when set and different from N, becomes a Host header.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hash.h"
#include "common/util.h"
#include "policy/settings.h"
#include "verify/verify_int.h"

static char *dupn(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Parses numeric ADDR into T->sa/T->addr with PORT; 0 or -1. */
static int numeric_addr(const char *addr, uint16_t port, struct vtarget *t)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST,
				 .ai_socktype = SOCK_STREAM},
			*res = NULL;
	char a[64];
	size_t n = strlen(addr);

	/* accept "[v6]" as well */
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']' && n - 2 < sizeof(a)) {
		memcpy(a, addr + 1, n - 2);
		a[n - 2] = '\0';
	} else if (n < sizeof(a)) {
		memcpy(a, addr, n + 1);
	} else {
		return -1;
	}
	if (getaddrinfo(a, NULL, &hints, &res) != 0 || !res)
		return -1;
	memcpy(&t->sa, res->ai_addr, res->ai_addrlen);
	t->salen = res->ai_addrlen;
	freeaddrinfo(res);
	if (t->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&t->sa)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&t->sa)->sin6_port = htons(port);
	/* canonical text, so that two spellings of one address dedup */
	if (getnameinfo((struct sockaddr *)&t->sa, t->salen, t->addr,
			sizeof(t->addr), NULL, 0, NI_NUMERICHOST) != 0)
		return -1;
	return 0;
}

/* "A" or "[A]" for an IPv6 literal; new string. */
static char *bracket(const char *a)
{
	char *s;

	if (a[0] != '[' && strchr(a, ':')) {
		if (asprintf(&s, "[%s]", a) < 0)
			return NULL;
		return s;
	}
	return xstrdup(a);
}

static int http_target(const struct verify_spec *spec, const char *member,
		       struct vtarget *t, const char **why)
{
	const char *url = spec->target, *auth, *end, *h, *he;
	char *urlhost = NULL, *name = NULL, *conn = NULL, *mb = NULL;
	int rc = -1;

	if (!url) {
		*why = "no URL";
		goto inval;
	}
	if (!strncasecmp(url, "https://", 8)) {
		t->https = true;
		auth = url + 8;
	} else if (!strncasecmp(url, "http://", 7)) {
		auth = url + 7;
	} else {
		*why = "URL scheme must be http or https";
		goto inval;
	}
	end = auth + strcspn(auth, "/?#");
	h = memchr(auth, '@', (size_t)(end - auth));
	h = h ? h + 1 : auth;
	if (*h == '[') {
		he = memchr(h, ']', (size_t)(end - h));
		if (!he) {
			*why = "unterminated [ in URL";
			goto inval;
		}
		he++;
	} else {
		he = h + strcspn(h, ":/?#");
		if (he > end)
			he = end;
	}
	if (he == h) {
		*why = "URL without a host";
		goto inval;
	}
	if (!(urlhost = dupn(h, (size_t)(he - h))))
		goto nomem;

	if (member && !(mb = bracket(member)))
		goto nomem;
	if (!strcmp(urlhost, "*")) {
		if (!member) {
			*why = "`*` in the URL needs a member address";
			goto inval;
		}
		if (spec->sni)
			name = xstrdup(spec->sni);
		else if (spec->host)
			name = xstrdup(spec->host);
		else
			name = xstrdup(mb);
		conn = xstrdup(mb);
	} else {
		name = xstrdup(spec->sni ? spec->sni : urlhost);
		conn = xstrdup(member ? mb : urlhost);
	}
	if (asprintf(&t->url, "%.*s%s%s", (int)(h - url), url, name, he) < 0) {
		t->url = NULL;
		goto nomem;
	}
	if (strcasecmp(conn, name) &&
	    asprintf(&t->connect_to, "::%s:", conn) < 0) {
		t->connect_to = NULL;
		goto nomem;
	}
	if (spec->host && strcasecmp(spec->host, name) &&
	    asprintf(&t->host_hdr, "Host: %s", spec->host) < 0) {
		t->host_hdr = NULL;
		goto nomem;
	}
	snprintf(t->addr, sizeof(t->addr), "%s", conn);
	rc = 0;
	goto out;
nomem:
	errno = ENOMEM;
	goto out;
inval:
	errno = EINVAL;
out:
	free(urlhost);
	free(name);
	free(conn);
	free(mb);
	return rc;
}

int vtarget_build(const struct verify_spec *spec, const char *member,
		  struct vtarget *t, const char **why)
{
	const char *a;

	*t = (struct vtarget){.method = spec->method};
	*why = "";
	t->every_ms = spec->every_ms ? spec->every_ms
				     : setting_default(verify_settings, "every");
	t->timeout_ms = spec->timeout_ms
				? spec->timeout_ms
				: setting_default(verify_settings, "timeout");

	switch (spec->method) {
	case VM_HTTP:
		if (http_target(spec, member, t, why) < 0) {
			int e = errno;

			vtarget_clear(t);
			errno = e;
			return -1;
		}
		return 0;
	case VM_DNS:
		if (!spec->qname || !spec->qname[0]) {
			*why = "dns check without a name";
			break;
		}
		/* fall through */
	case VM_TCP:
		if (spec->method == VM_TCP && !spec->port) {
			*why = "tcp check without a port";
			break;
		}
		/* fall through */
	case VM_ICMP:
		a = member ? member : spec->target;
		if (!a || !strcmp(a, "*")) {
			*why = "no target address";
			break;
		}
		if (numeric_addr(a, vspec_port(spec), t) < 0) {
			*why = "target is not a numeric address";
			break;
		}
		return 0;
	default:
		*why = "unknown method";
		break;
	}
	errno = EINVAL;
	return -1;
}

void vtarget_clear(struct vtarget *t)
{
	free(t->url);
	free(t->connect_to);
	free(t->host_hdr);
	t->url = t->connect_to = t->host_hdr = NULL;
}

static bool str_equal(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

uint16_t vspec_port(const struct verify_spec *s)
{
	switch (s->method) {
	case VM_TCP:
		return (uint16_t)s->port;
	case VM_DNS:
		return s->port ? (uint16_t)s->port : VERIFY_DNS_PORT;
	default:
		return 0;
	}
}

/* The dns options of A and B ask the same question and judge the answer
 * alike (names compared without case, RFC 4343). */
static bool dns_equal(const struct verify_spec *a, const struct verify_spec *b)
{
	return a->qtype == b->qtype && a->qname && b->qname &&
	       !strcasecmp(a->qname, b->qname) && str_equal(a->answer, b->answer);
}

const struct portrange *vspec_expect(const struct verify_spec *s, size_t *n)
{
	static const struct portrange def = {200, 399};

	if (!s->nexpect) {
		*n = 1;
		return &def;
	}
	*n = s->nexpect;
	return s->expect;
}

static bool expect_equal(const struct verify_spec *a,
			 const struct verify_spec *b)
{
	size_t na, nb;
	const struct portrange *ea = vspec_expect(a, &na), *eb = vspec_expect(b, &nb);

	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (ea[i].lo != eb[i].lo || ea[i].hi != eb[i].hi)
			return false;
	return true;
}

/* Basic, Digest and NTLM send a user and a password; none and Negotiate
 * (the process's Kerberos credentials) do not. */
static bool auth_has_user(enum http_auth a)
{
	return a != AUTH_NONE && a != AUTH_NEGOTIATE;
}

bool vprobe_cfg_equal(const struct verify_spec *a, const struct vtarget *ta,
		      const struct verify_spec *b, const struct vtarget *tb)
{
	if (ta->method != tb->method || ta->every_ms != tb->every_ms ||
	    ta->timeout_ms != tb->timeout_ms)
		return false;
	if (ta->method != VM_HTTP) /* the address, with the port for tcp/dns */
		return !strcmp(ta->addr, tb->addr) &&
		       vspec_port(a) == vspec_port(b) &&
		       (ta->method != VM_DNS || dns_equal(a, b));
	if (!str_equal(ta->url, tb->url) ||
	    !str_equal(ta->connect_to, tb->connect_to) ||
	    !str_equal(ta->host_hdr, tb->host_hdr) || !expect_equal(a, b) ||
	    !str_equal(a->body, b->body) || !str_equal(a->ca, b->ca) ||
	    !str_equal(a->cert, b->cert) || !str_equal(a->key, b->key) ||
	    a->insecure != b->insecure || a->auth != b->auth)
		return false;
	return !auth_has_user(a->auth) || (str_equal(a->user, b->user) &&
					   str_equal(a->password_file,
						     b->password_file));
}

uint64_t vprobe_cfg_hash(const struct vtarget *t)
{
	const char *where = t->method == VM_HTTP ? t->url : t->addr;
	uint32_t n[3] = {(uint32_t)t->method, t->every_ms, t->timeout_ms};
	uint64_t h = hash_bytes(n, sizeof(n)); /* common/hash.h: the one hash */

	return where ? h ^ (hash_str(where) + 0x9e3779b97f4a7c15ull + (h << 6) +
			    (h >> 2))
		     : h;
}
