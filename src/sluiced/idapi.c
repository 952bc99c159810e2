/*
 * idapi.c — the identity push API: login and logout for portals, VPN hooks
 * and DHCP scripts, over the control socket (`identity-login`,
 * `identity-logout`, operator level; commands.c) and as JSON over HTTP on
 * `identity { api-listen }` (POST /login, POST /logout, each request
 * carrying `Authorization: Bearer TOKEN` from `api-token-file`). Both go
 * through idapi_login / idapi_logout, so they check and do the same.
 */
#include "sluiced/daemon.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "control/control.h"
#include "identity/idtable.h"
#include "stats/httpsrv.h"

#include <errno.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_MAX_BODY 16384 /* a login with many groups fits */
#define API_MAX_GROUPS 256
#define API_TOKEN_MAX 256
#define LIFETIME_MAX (30u * 86400)

struct idapi {
	struct http_server *h;
	char *addr; /* what api-listen said */
	char token[API_TOKEN_MAX + 1];
	size_t tlen;
};

static const char *const result_names[] = {"new", "refreshed", "replaced",
					   "ignored", "full"};

int idapi_login(struct daemon *d, const struct idapi_req *r,
		struct evbuffer *out)
{
	uint8_t addr[16];
	unsigned plen;
	int family = idtable_parse_prefix(r->address, addr, &plen);
	const char *why;
	if (family < 0) {
		evbuffer_add_printf(out, "bad address '%s' (ADDRESS or "
				    "ADDRESS/LENGTH, no host bits)", r->address);
		return -1;
	}
	if (plen < (family == AF_INET ? IDTABLE_LOGIN_PLEN_MIN4
				      : IDTABLE_LOGIN_PLEN_MIN6)) {
		evbuffer_add_printf(out, "bad address '%s': a login names at "
				    "most a /%u (IPv4) or a /%u (IPv6)",
				    r->address, IDTABLE_LOGIN_PLEN_MIN4,
				    IDTABLE_LOGIN_PLEN_MIN6);
		return -1;
	}
	if ((why = text_name_problem(r->user))) {
		evbuffer_add_printf(out, "user %s", why);
		return -1;
	}
	for (size_t i = 0; i < r->ngroups; i++)
		if ((why = text_name_problem(r->groups[i]))) {
			evbuffer_add_printf(out, "group %s", why);
			return -1;
		}
	int src = r->source ? id_source_parse(r->source) : IDS_API;
	if (src < 0) {
		evbuffer_add_printf(out, "unknown source (manual, api, radius, "
				    "portal)");
		return -1;
	}
	uint32_t life = r->lifetime_s;
	if (!life) {
		pthread_mutex_lock(&d->gen_lock);
		life = d->gen->policy->identity.ttl_s;
		pthread_mutex_unlock(&d->gen_lock);
	}
	if (life > LIFETIME_MAX) {
		evbuffer_add_printf(out, "bad lifetime %u (1..2592000 seconds)",
				    life);
		return -1;
	}
	enum login_result lr = idtable_login(
	    d->ids, &(struct id_login){family, addr, r->user, r->groups,
				       r->ngroups, life, (enum id_source)src,
				       (uint8_t)plen});
	if (lr == LOGIN_FULL) {
		evbuffer_add_printf(out, "the identity table is full (%u "
				    "entries): not recorded",
				    IDTABLE_LOGINS_MAX);
		return IDAPI_FULL;
	}
	evbuffer_add_printf(out, "%s", result_names[lr]);
	return (int)lr;
}

int idapi_logout(struct daemon *d, const char *address, const char *user,
		 const char *source, struct evbuffer *out)
{
	uint8_t addr[16];
	unsigned plen;
	int family = idtable_parse_prefix(address, addr, &plen);
	if (family < 0) {
		evbuffer_add_printf(out, "bad address '%s'", address);
		return -1;
	}
	int src = source ? id_source_parse(source) : IDS_API;
	if (src < 0) {
		evbuffer_add_printf(out, "unknown source");
		return -1;
	}
	return idtable_logout_prefix(d->ids, family, addr, plen, user,
				     (enum id_source)src)
		   ? 1
		   : 0;
}

/* ---- JSON over HTTP --------------------------------------------------------- */

/* A JSON answer {"ok": OK, KEY: TEXT} with STATUS. */
static void reply(struct http_reply *rp, int status, bool ok, const char *key,
		  const char *text)
{
	json_t *o = json_pack("{s:b, s:s}", "ok", ok, key, text);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	rp->status = status;
	rp->ctype = "application/json";
	evbuffer_add_printf(rp->body, "%s\n", s ? s : "{}");
	free(s);
}

/* The bearer token of RQ equals A's (compared in constant time). */
static bool authorized(const struct idapi *a, const struct http_request *rq)
{
	char v[API_TOKEN_MAX + 16];
	if (!a->tlen || !http_header(rq, "Authorization", v, sizeof(v)) ||
	    strncmp(v, "Bearer ", 7) != 0 || strlen(v + 7) != a->tlen)
		return false;
	unsigned char diff = 0;
	for (size_t i = 0; i < a->tlen; i++)
		diff |= (unsigned char)(v[7 + i] ^ a->token[i]);
	return diff == 0;
}

/* The request body as a JSON object with only the keys of KEYS (a NULL
 * terminated list); NULL with a message in ERR. */
static json_t *body_object(const struct http_request *rq,
			   const char *const *keys, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loadb(rq->body, rq->body_len,
			       JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "the body must be a JSON object");
		json_decref(o);
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		bool known = false;
		for (const char *const *p = keys; *p; p++)
			known |= strcmp(*p, k) == 0;
		if (!known) {
			snprintf(err, errlen, "unknown key");
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* A string member KEY of O: NULL when absent; false when not a string. */
static bool opt_str(json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = json_string_value(v);
	return !v || *out;
}

static void api_login(struct daemon *d, const struct http_request *rq,
		      struct http_reply *rp)
{
	static const char *const keys[] = {"address", "user", "groups",
					   "lifetime", "source", NULL};
	char err[128];
	json_t *o = body_object(rq, keys, err, sizeof(err));
	struct idapi_req r = {0};
	json_t *groups = o ? json_object_get(o, "groups") : NULL;
	json_t *life = o ? json_object_get(o, "lifetime") : NULL;
	bool ok = o && opt_str(o, "address", &r.address) && r.address &&
		  opt_str(o, "user", &r.user) && r.user &&
		  opt_str(o, "source", &r.source) &&
		  (!groups || (json_is_array(groups) &&
			       json_array_size(groups) <= API_MAX_GROUPS)) &&
		  (!life || (json_is_integer(life) &&
			     json_integer_value(life) >= 1 &&
			     json_integer_value(life) <= LIFETIME_MAX));
	if (o && !ok)
		snprintf(err, sizeof(err), "expected {\"address\", \"user\", "
			 "[\"groups\": [names]], [\"lifetime\": 1..2592000], "
			 "[\"source\"]}");
	const char **gv = NULL;
	if (ok && groups) {
		r.ngroups = json_array_size(groups);
		gv = xcalloc(r.ngroups + 1, sizeof(*gv));
		for (size_t i = 0; i < r.ngroups && ok; i++)
			if (!(gv[i] = json_string_value(
				  json_array_get(groups, i)))) {
				snprintf(err, sizeof(err), "groups are names");
				ok = false;
			}
		r.groups = gv;
	}
	if (ok) {
		r.lifetime_s = life ? (uint32_t)json_integer_value(life) : 0;
		struct evbuffer *msg = evbuffer_new();
		int lr = idapi_login(d, &r, msg);
		evbuffer_add(msg, "", 1);
		const char *text = (const char *)evbuffer_pullup(msg, -1);
		if (lr == IDAPI_FULL)
			reply(rp, 503, false, "error", text); /* not malformed */
		else if (lr < 0)
			snprintf(err, sizeof(err), "%s", text);
		else
			reply(rp, 200, true, "result", text);
		ok = lr >= 0 || lr == IDAPI_FULL;
		evbuffer_free(msg);
	}
	if (!ok) {
		idtable_reject(d->ids, IDS_API, IDR_MALFORMED);
		reply(rp, 400, false, "error", err);
	}
	free(gv);
	json_decref(o);
}

static void api_logout(struct daemon *d, const struct http_request *rq,
		       struct http_reply *rp)
{
	static const char *const keys[] = {"address", "user", "source", NULL};
	char err[128];
	json_t *o = body_object(rq, keys, err, sizeof(err));
	const char *address = NULL, *user = NULL, *source = NULL;
	bool ok = o && opt_str(o, "address", &address) && address &&
		  opt_str(o, "user", &user) && opt_str(o, "source", &source);
	if (o && !ok)
		snprintf(err, sizeof(err), "expected {\"address\", [\"user\"], "
			 "[\"source\"]}");
	if (ok) {
		struct evbuffer *msg = evbuffer_new();
		int rc = idapi_logout(d, address, user, source, msg);
		evbuffer_add(msg, "", 1);
		if (rc < 0)
			snprintf(err, sizeof(err), "%s",
				 (const char *)evbuffer_pullup(msg, -1));
		else
			reply(rp, 200, true, "result",
			      rc ? "removed" : "no such entry");
		ok = rc >= 0;
		evbuffer_free(msg);
	}
	if (!ok) {
		idtable_reject(d->ids, IDS_API, IDR_MALFORMED);
		reply(rp, 400, false, "error", err);
	}
	json_decref(o);
}

static void serve(void *arg, const struct http_request *rq,
		  struct http_reply *rp)
{
	struct daemon *d = arg;
	size_t plen = strcspn(rq->target, "?#");
	bool login = plen == 6 && strncmp(rq->target, "/login", 6) == 0;
	bool logout = plen == 7 && strncmp(rq->target, "/logout", 7) == 0;
	if (!login && !logout) {
		reply(rp, 404, false, "error", "POST /login or /logout");
		return;
	}
	if (strcmp(rq->method, "POST") != 0) {
		rp->allow = "POST";
		reply(rp, 405, false, "error", "POST only");
		return;
	}
	if (!authorized(d->idapi, rq)) {
		idtable_reject(d->ids, IDS_API, IDR_SECRET);
		reply(rp, 403, false, "error", "bad or missing bearer token");
		return;
	}
	if (login)
		api_login(d, rq, rp);
	else
		api_logout(d, rq, rp);
}

/* Reads the token (first line of PATH, 1..256 bytes) into A. */
static int read_token(struct idapi *a, const char *path)
{
	int len = secret_read_into(path, a->token, API_TOKEN_MAX);
	if (len < 0)
		return -1;
	a->token[len] = '\0';
	a->tlen = (size_t)len;
	return 0;
}

static void idapi_stop(struct daemon *d)
{
	struct idapi *a = d->idapi;
	if (!a)
		return;
	d->idapi_refused_old += http_refused(a->h);
	http_close(a->h);
	free(a->addr);
	explicit_bzero(a, sizeof(*a));
	free(a);
	d->idapi = NULL;
}

void idapi_configure(struct daemon *d, const struct policy *p)
{
	const struct identity_cfg *c = &p->identity;
	struct idapi *a = d->idapi;
	if (a && (!c->api_listen || strcmp(c->api_listen, a->addr))) {
		idapi_stop(d);
		a = NULL;
	}
	if (!c->api_listen)
		return;
	if (!a) {
		a = xcalloc(1, sizeof(*a));
		a->h = http_listen(d->base, c->api_listen, "identity api",
				   API_MAX_BODY, serve, d);
		if (!a->h) {
			daemon_warn(d, errno, "identity api: cannot listen "
				    "on %s", c->api_listen);
			free(a);
			return;
		}
		a->addr = xstrdup(c->api_listen);
		d->idapi = a;
		log_info("identity api: on %s", c->api_listen);
	}
	if (read_token(a, c->api_token_file) < 0)
		daemon_warn(d, errno, "identity api: token file %s (%s)",
			    c->api_token_file,
			    a->tlen ? "the previous token stays"
				    : "every request is refused");
	http_limits(a->h, c->api_max_connections, c->api_timeout_ms);
}

void idapi_close(struct daemon *d)
{
	idapi_stop(d);
}

uint64_t idapi_refused(const struct daemon *d)
{
	return d->idapi_refused_old + (d->idapi ? http_refused(d->idapi->h) : 0);
}
