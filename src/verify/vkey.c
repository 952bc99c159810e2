/*
 * vkey.c — the effective target of a check for one member, and the key that
 * decides whether two subscriptions share one probe.
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

#include "policy/settings.h"
#include "verify/verify_int.h"

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
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
	return strdup(a);
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
			name = strdup(spec->sni);
		else if (spec->host)
			name = strdup(spec->host);
		else
			name = strdup(mb);
		conn = strdup(mb);
	} else {
		name = strdup(spec->sni ? spec->sni : urlhost);
		conn = strdup(member ? mb : urlhost);
	}
	if (!name || !conn)
		goto nomem;

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
	case VM_TCP:
		if (!spec->port) {
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
		if (numeric_addr(a,
				 spec->method == VM_TCP ? (uint16_t)spec->port : 0,
				 t) < 0) {
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

/* Appends "len:str;" (or "-;" for NULL) to the growing buffer. */
struct sbuf {
	char *s;
	size_t n, cap;
	bool oom;
};

static void put(struct sbuf *b, const char *s)
{
	char num[24];
	size_t sl = s ? strlen(s) : 0;
	int nl = s ? snprintf(num, sizeof(num), "%zu:", sl)
		   : snprintf(num, sizeof(num), "-");
	size_t need = b->n + (size_t)nl + sl + 2;

	if (b->oom)
		return;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		char *ns;

		while (cap < need)
			cap *= 2;
		if (!(ns = realloc(b->s, cap))) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->n, num, (size_t)nl);
	b->n += (size_t)nl;
	if (s) {
		memcpy(b->s + b->n, s, sl);
		b->n += sl;
	}
	b->s[b->n++] = ';';
	b->s[b->n] = '\0';
}

static void putu(struct sbuf *b, unsigned long u)
{
	char num[24];

	snprintf(num, sizeof(num), "%lu", u);
	put(b, num);
}

char *vkey_build(const struct verify_spec *spec, const struct vtarget *t)
{
	struct sbuf b = {0};

	putu(&b, (unsigned long)t->method);
	putu(&b, t->every_ms);
	putu(&b, t->timeout_ms);
	if (t->method != VM_HTTP) {
		put(&b, t->addr);
		putu(&b, t->method == VM_TCP ? spec->port : 0);
	} else {
		char r[32];

		put(&b, t->url);
		put(&b, t->connect_to);
		put(&b, t->host_hdr);
		if (!spec->nexpect) {
			put(&b, "200-399");
		} else {
			for (size_t i = 0; i < spec->nexpect; i++) {
				snprintf(r, sizeof(r), "%u-%u",
					 spec->expect[i].lo, spec->expect[i].hi);
				put(&b, r);
			}
		}
		put(&b, "|");
		put(&b, spec->body);
		put(&b, spec->ca);
		put(&b, spec->cert);
		put(&b, spec->key);
		putu(&b, spec->insecure);
		putu(&b, (unsigned long)spec->auth);
		if (spec->auth != AUTH_NONE && spec->auth != AUTH_NEGOTIATE) {
			put(&b, spec->user);
			put(&b, spec->password_file);
		}
	}
	if (b.oom) {
		free(b.s);
		errno = ENOMEM;
		return NULL;
	}
	return b.s;
}

uint64_t vkey_hash(const char *key)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return h;
}
