/*
 * commands.c — what the control socket answers. One function a command; the
 * table at the end gives each its name, access level and arguments (the
 * control layer checks both before the function runs). Every answer is
 * JSON built with jansson, one shape a kind (sluicectl(8)); sluicectl
 * renders the text for people from it (src/sluicectl/render.c).
 */
#include "sluiced/daemon.h"
#include "sluiced/jsonout.h"
#include "common/log.h"
#include "common/util.h"
#include "common/text.h"
#include "decide/sessions.h"
#include "identity/idtable.h"
#include "kernel/conntrack.h"
#include "kernel/nftread.h"
#include "queue/worker.h"
#include "sluiced/farms.h"
#include "policy/settings.h"
#include "stats/alerts.h"
#include "stats/counters.h"
#include "stats/table.h"
#include "control/control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static struct gen *current(struct daemon *d)
{
	pthread_mutex_lock(&d->gen_lock);
	struct gen *g = gen_ref(d->gen);
	pthread_mutex_unlock(&d->gen_lock);
	return g;
}

static const char *rule_name(const struct gen *g, uint32_t rid, char *buf,
			     size_t len)
{
	if (rid == 0)
		return "(sluiced)";
	if (rid == MARK_ID_CREATION)
		return "(creation)";
	if (rid == MARK_ID_FAILOPEN)
		return "(fail-open)";
	if (rid == MARK_ID_PUBLISHED)
		return "(published)";
	if (rid == MARK_ID_LAST && g->policy->nrules > MARK_ID_LAST)
		return "(rule beyond 16382)";
	if (rid - 1 < g->policy->nrules)
		return g->policy->rules[rid - 1]->name;
	snprintf(buf, len, "(rule %u)", rid);
	return buf;
}

/* ---- status -------------------------------------------------------------- */

static int cmd_status(void *arg, const json_t *args,
			struct evbuffer *out)
{
	struct daemon *d = arg;
	struct gen *g = current(d);
	size_t pending = 0, free_general = 0, free_local = 0;
	uint64_t packets = 0, timed_out = 0, slots_full = 0, source_full = 0,
		 reserved_used = 0;
	for (size_t i = 0; i < d->nworkers; i++) {
		struct worker *w = d->workers[i];
		pthread_mutex_lock(&w->lock);
		pending += decider_pending(w->dec);
		free_general += decider_slots_free(w->dec, false);
		free_local += decider_slots_free(w->dec, true);
		const struct decide_stats *st = decider_stats(w->dec);
		packets += st->packets;
		timed_out += st->timed_out;
		slots_full += st->slots_full;
		source_full += st->source_full;
		reserved_used += st->local_reserved_used;
		pthread_mutex_unlock(&w->lock);
	}
	long up = (long)(time(NULL) - d->started);
	const char *mode = d->nft_queue ? "nft queue" : "xt NFQUEUE (iptables-nft)";
	char *path = text_escape_dup(d->config_path,
				     strlen(d->config_path), false);
	json_object_out(
	    out,
	    "{s:s,s:I,s:s,s:I,s:I,s:s,s:I,s:I,s:s,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "version", SLUICE_VERSION, "uptime_s", (long long)up,
	    "policy", path, "generation", (long long)g->id, "rules",
	    (long long)g->policy->nrules, "queue_mode", mode, "queues",
	    (long long)d->nworkers, "queue_num",
	    (long long)g->policy->queue.num, "fail",
	    g->policy->queue.fail == FAIL_OPEN ? "open" : "closed",
	    "packets_queued", (long long)packets, "pending",
	    (long long)pending, "slots_available", (long long)free_general,
	    "reserved_local_available", (long long)free_local,
	    "identities", (long long)idtable_count(d->ids),
	    "sessions_remembered", (long long)sessions_count(d->sessions),
	    "reloads", (long long)d->reloads, "reload_failures",
	    (long long)d->reload_failures, "revoked",
	    (long long)d->revoked, "timed_out", (long long)timed_out,
	    "slots_full", (long long)slots_full, "source_full",
	    (long long)source_full, "reserved_local_used",
	    (long long)reserved_used);
	free(path);
	gen_unref(g);
	return 0;
}

/* ---- sessions ------------------------------------------------------------ */

/* The N strings V as a JSON array of json_text() strings. */
static json_t *texts(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_text(v[i]));
	return a;
}

/* sessions' items: the conntrack table read as the answer is sent (a
 * ct_stream on the event loop, SESSIONS_READS socket buffers a turn, read
 * only when the client has taken the rows before), the policy generation
 * of the request for the rules' names. */
#define SESSIONS_READS 4
struct sesslist {
	struct daemon *d;
	struct gen *g;
	struct ct_stream *st; /* NULL once the dump has ended */
	struct event *ev;     /* st readable, while the answer waits */
	struct ct_entry *v;   /* the allowed entries read, not yet written */
	size_t n, base;	      /* how many; the item number of v[0] */
	char error[96];	      /* why the dump ended early, or "" */
	struct control_wake wake;
};

/* An entry of the dump: kept when the policy allowed its session. */
static void session_take(const struct ct_entry *e, void *arg)
{
	struct sesslist *c = arg;
	if (mark_dec(c->d->kopts.mark_shift, e->mark) == MARK_DEC_ALLOW)
		VEC_PUSH(c->v, c->n, *e);
}

static void sesslist_end(struct sesslist *c)
{
	if (c->ev)
		event_free(c->ev);
	c->ev = NULL;
	ct_stream_close(c->st);
	c->st = NULL;
}

/* The dump has more: read it; the answer goes on once rows or the end are
 * there. */
static void on_sessions_ready(evutil_socket_t fd, short what, void *arg)
{
	struct sesslist *c = arg;
	(void)fd;
	(void)what;
	int rc = ct_stream_read(c->st, SESSIONS_READS);
	if (rc < 0)
		snprintf(c->error, sizeof(c->error),
			 "the conntrack dump failed: %s", strerror(errno));
	if (rc != 0)
		sesslist_end(c);
	else if (!c->n && event_add(c->ev, NULL) == 0)
		return; /* nothing allowed in that part: read on */
	c->wake.fn(c->wake.arg);
}

static enum json_pull sessions_pull(void *ctx, size_t taken, size_t *n,
				    const char **error)
{
	struct sesslist *c = ctx;
	*n = json_pull_forget(c->v, sizeof(*c->v), &c->n, &c->base, taken);
	if (c->n)
		return JSON_PULL_MORE;
	if (!c->st) {
		*error = c->error[0] ? c->error : NULL;
		return JSON_PULL_DONE;
	}
	if (event_add(c->ev, NULL) < 0) {
		snprintf(c->error, sizeof(c->error), "cannot wait for conntrack");
		sesslist_end(c);
		*error = c->error;
		return JSON_PULL_DONE;
	}
	return JSON_PULL_WAIT;
}

/* The session of item I. */
static json_t *session_item(void *ctx, size_t i)
{
	struct sesslist *c = ctx;
	struct daemon *d = c->d;
	const struct ct_entry *e = &c->v[i - c->base];
	uint32_t rid = mark_id(d->kopts.mark_shift, e->mark);
	char kb[128], rb[32];
	session_key_format(&e->key, kb, sizeof(kb));
	struct session_info si;
	entry_session_get(d->sessions, e, &si);
	const char *state = e->key.proto == 6 ? ct_tcp_state_name(e->tcp_state) : "-";
	const char *rn = rule_name(c->g, rid, rb, sizeof(rb));
	/* the facts of the decision, as revocation sees them */
	json_t *v = json_pack(
	    "{s:o,s:s,s:I,s:I,s:o,s:o,s:o,s:s,s:o}", "session", json_text(kb),
	    "state", state, "ttl_s", (json_int_t)e->timeout, "rule_id",
	    (json_int_t)rid, "rule", json_text(rn), "user", json_text(si.user),
	    "name", json_text(si.name), "identity", fact_source_name(si.source),
	    "groups", si.groups_unknown ? json_null()
					: texts(si.groups, si.ngroups));
	session_info_clear(&si);
	return v;
}

static void sesslist_free(void *ctx)
{
	struct sesslist *c = ctx;
	sesslist_end(c);
	gen_unref(c->g);
	free(c->v);
	free(c);
}

/* sessions: the allowed sessions of the conntrack table, read and sent in
 * parts (a busy gateway's table is hundreds of thousands of entries; read
 * at once it stopped the event loop for as long). The kernel's dump is
 * not a snapshot (conntrack.h): a session that begins or ends meanwhile
 * may be listed or not. A dump that fails midway ends the list with
 * "error" beside it. */
static int cmd_sessions(void *arg, const json_t *args,
			struct control_stream *s, struct evbuffer *err)
{
	struct daemon *d = arg;
	struct sesslist *c = xcalloc(1, sizeof(*c));
	c->d = d;
	c->st = ct_stream_open(session_take, c);
	if (!c->st) {
		evbuffer_add_printf(err, "cannot read conntrack: %s",
				    strerror(errno));
		free(c);
		return -1;
	}
	c->ev = event_new(d->base, ct_stream_fd(c->st), EV_READ,
			  on_sessions_ready, c);
	if (!c->ev) {
		ct_stream_close(c->st);
		free(c);
		evbuffer_add_printf(err, "cannot read conntrack");
		return -1;
	}
	c->g = current(d);
	c->wake = s->wake;
	json_parts_pulled(s, "sessions", sessions_pull, session_item,
			  sesslist_free, c);
	return 0;
}

/* ---- pending ---------------------------------------------------------------- */

struct pending_ctx {
	json_t *list; /* the rows */
	int worker;
	struct gen *g;
};

static void pending_one(void *arg, const struct pending_info *pi)
{
	struct pending_ctx *c = arg;
	char kb[128], rb[32];
	session_key_format(pi->key, kb, sizeof(kb));
	const char *rn = rule_name(c->g, mark_rule_id(pi->rule), rb, sizeof(rb));
	char waits[64] = "";
	if (pi->waiting & NEED_IDENTITY)
		strcat(waits, "identity ");
	if (pi->waiting & NEED_NAME)
		strcat(waits, "name ");
	if (pi->waiting & NEED_FILTER)
		strcat(waits, "filter ");
	if (waits[0])
		waits[strlen(waits) - 1] = '\0';
	json_array_append_new(c->list, json_pack(
	    "{s:o,s:I,s:s,s:o,s:b,s:i,s:i}", "session", json_text(kb),
	    "age_ms", (json_int_t)(pi->age_ns / 1000000), "waiting", waits,
	    "rule", json_text(rn), "local", pi->local, "packets", pi->packets,
	    "queue", c->worker));
}

static int cmd_pending(void *arg, const json_t *args,
			struct evbuffer *out)
{
	struct daemon *d = arg;
	struct pending_ctx c = {json_array(), 0, current(d)};
	for (size_t i = 0; i < d->nworkers; i++) {
		c.worker = (int)i;
		pthread_mutex_lock(&d->workers[i]->lock);
		decider_each_pending(d->workers[i]->dec, pending_one, &c);
		pthread_mutex_unlock(&d->workers[i]->lock);
	}
	json_list_out(out, "pending", c.list);
	gen_unref(c.g);
	return 0;
}

/* ---- reload ---------------------------------------------------------------------- */

/* reload [confirm DURATION]: with a duration, the new policy is on
 * probation (confirm.c) */
static int cmd_reload(void *arg, const json_t *args,
		      struct evbuffer *out)
{
	struct daemon *d = arg;
	const char *confirm = control_arg_str(args, "confirm");
	int rc;
	uint32_t secs = 0;
	if (confirm) {
		if (confirm_parse_duration(confirm, &secs) < 0) {
			evbuffer_add_printf(out, "usage: reload [--confirm DURATION "
					    "(1s..%us, e.g. 60s, 5m)]", CONFIRM_MAX_S);
			return -1;
		}
		rc = daemon_reload_confirm(d, secs, out);
	} else {
		rc = daemon_reload(d, out);
	}
	struct gen *g = current(d);
	long long gid = (long long)g->id, nrules = (long long)g->policy->nrules;
	gen_unref(g);
	return answer_json(rc, out, "{s:I,s:I,s:I}", "generation", gid,
			   "rules", nrules, "confirm_within_s", (long long)secs);
}

/* confirm: ends the probation of a `reload --confirm` (confirm.c). */
static int cmd_confirm(void *arg, const json_t *args,
		       struct evbuffer *out)
{
	(void)args;
	return answer_json(daemon_confirm(arg, out), out, NULL);
}

/* ---- identity ---------------------------------------------------------------------- */

static int parse_ip(const char *s, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}


/* The entry of `identity list --json` for ADDR/PLEN at NOW (sluicectl(8)). */
static json_t *identity_json(int family, const uint8_t *addr, unsigned plen,
			     const struct identity *id, time_t now)
{
	char ab[INET6_ADDRSTRLEN + 16];
	inet_ntop(family, addr, ab, INET6_ADDRSTRLEN);
	if (plen < (family == AF_INET ? 32u : 128u))
		snprintf(ab + strlen(ab), sizeof(ab) - strlen(ab), "/%u", plen);
	return json_pack(
	    "{s:s,s:o,s:o,s:s,s:I,s:I,s:I,s:I}", "address", ab, "user",
	    json_text(id->user), "groups", texts(id->groups, id->ngroups),
	    "source", id_source_name(id->source), "learned",
	    (json_int_t)id->learned, "expires", (json_int_t)id->expires,
	    "expires_in_s", (json_int_t)(id->expires - now), "idle_s",
	    (json_int_t)(now - id->seen));
}

/* identity-list's items: a snapshot of the table taken when the request
 * came (one copy under the read lock, about 50 ms for 262,144 entries),
 * made into JSON as the client reads (json_parts_answer). */
struct idlist {
	struct idtable_snapshot *sn;
	time_t now; /* the snapshot's time: expires_in_s, idle_s */
	json_t *made; /* identity_made's result */
};

static void identity_made(void *arg, int family, const uint8_t *addr,
			  unsigned plen, const struct identity *id)
{
	struct idlist *l = arg;
	l->made = identity_json(family, addr, plen, id, l->now);
}

static json_t *idlist_item(void *ctx, size_t i)
{
	struct idlist *l = ctx;
	l->made = NULL;
	idtable_snapshot_each(l->sn, i, 1, identity_made, l);
	return l->made;
}

static void idlist_free(void *ctx)
{
	struct idlist *l = ctx;
	idtable_snapshot_free(l->sn);
	free(l);
}

/* identity-list: a bare array, the one list without schema_version: the
 * documented feeders' scripts (and the case control-arg-injection) read
 * `identity list --json` as an array of entries (sluicectl(8)). Made in
 * parts: a full table is 45 MB of JSON, which made at once stopped the
 * event loop for seconds. */
static int cmd_identity_list(void *arg, const json_t *args,
			     struct control_stream *s, struct evbuffer *err)
{
	struct daemon *d = arg;
	struct idlist *l = xcalloc(1, sizeof(*l));
	l->now = time(NULL);
	l->sn = idtable_snapshot(d->ids, l->now);
	json_parts_answer(s, NULL, idtable_snapshot_count(l->sn), idlist_item,
			  idlist_free, l);
	return 0;
}

/* identity-sources: the counters of each source (docs/counters.md). */
static int cmd_identity_sources(void *arg, const json_t *args,
				struct evbuffer *out)
{
	struct daemon *d = arg;
	struct id_source_stats st[IDS_COUNT];
	idtable_source_stats(d->ids, st);
	json_t *all = json_pack("{s:i}", "schema_version", JSON_SCHEMA_VERSION);
	for (int i = 0; i < IDS_COUNT; i++) {
		const struct id_source_stats *s = &st[i];
		unsigned long long v[10] = {
		    s->entries,		s->logins,	    s->logouts,
		    s->replaced,	s->ignored,	    s->rejected_secret,
		    s->rejected_client, s->rejected_malformed, s->replayed,
		    s->rejected_full};
		json_object_set_new(all, id_source_name(i), json_pack(
		    "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "entries",
		    (json_int_t)v[0], "logins", (json_int_t)v[1], "logouts",
		    (json_int_t)v[2], "replaced", (json_int_t)v[3], "ignored",
		    (json_int_t)v[4], "rejected_secret", (json_int_t)v[5],
		    "rejected_client", (json_int_t)v[6], "rejected_malformed",
		    (json_int_t)v[7], "replayed", (json_int_t)v[8],
		    "rejected_full", (json_int_t)v[9]));
	}
	json_value_out(out, all);
	return 0;
}

/* identity-add {address, user, [groups], [ttl]}: names are checked by the
 * control layer (control_check_args) before this runs. */
static int cmd_identity_add(void *arg, const json_t *args,
			    struct evbuffer *out)
{
	struct daemon *d = arg;
	const char *address = control_arg_str(args, "address");
	const char *user = control_arg_str(args, "user");
	int family;
	uint8_t addr[16];
	if (parse_ip(address, &family, addr) < 0) {
		evbuffer_add_printf(out, "bad address '%s'", address);
		return -1;
	}
	struct gen *g = current(d);
	uint32_t ttl = g->policy->identity.ttl_s;
	gen_unref(g);
	if (control_arg_uint(args, "ttl", &ttl) &&
	    (ttl == 0 || ttl > 30u * 86400)) {
		evbuffer_add_printf(out, "bad ttl %u (1..2592000 seconds)", ttl);
		return -1;
	}
	size_t ng = control_arg_count(args, "groups");
	const char **groups = ng ? xcalloc(ng, sizeof(*groups)) : NULL;
	for (size_t i = 0; i < ng; i++)
		groups[i] = control_arg_item(args, "groups", i);
	idtable_set(d->ids, family, addr, user, groups, ng, ttl);
	free(groups);
	evbuffer_add_printf(out, "%s is %s for %us\n", address, user, ttl);
	return answer_json(0, out,
			   "{s:s,s:s,s:I}", "address", address, "user", user,
			   "ttl_s", (long long)ttl);
}

static int cmd_identity_del(void *arg, const json_t *args,
			    struct evbuffer *out)
{
	struct daemon *d = arg;
	const char *address = control_arg_str(args, "address");
	int family;
	uint8_t addr[16];
	if (parse_ip(address, &family, addr) < 0) {
		evbuffer_add_printf(out, "bad address '%s'", address);
		return -1;
	}
	if (!idtable_del(d->ids, family, addr)) {
		evbuffer_add_printf(out, "no identity for %s", address);
		return -1;
	}
	evbuffer_add_printf(out, "removed %s\n", address);
	return answer_json(0, out,
			   "{s:s}", "address", address);
}

/* "ADDR" or "ADDR/PREFIX" of ARGS into BUF. */
static const char *address_arg(const json_t *args, char *buf, size_t len)
{
	uint32_t plen;
	const char *address = control_arg_str(args, "address");
	if (!control_arg_uint(args, "prefix", &plen))
		return address;
	snprintf(buf, len, "%s/%u", address, plen);
	return buf;
}

/* identity-login {address, [prefix], user, [groups], [lifetime],
 * [source]}: the push API's login (idapi.c). */
static int cmd_identity_login(void *arg, const json_t *args,
			      struct evbuffer *out)
{
	struct daemon *d = arg;
	char ab[80];
	size_t ng = control_arg_count(args, "groups");
	const char **groups = ng ? xcalloc(ng, sizeof(*groups)) : NULL;
	for (size_t i = 0; i < ng; i++)
		groups[i] = control_arg_item(args, "groups", i);
	struct idapi_req r = {.address = address_arg(args, ab, sizeof(ab)),
			      .user = control_arg_str(args, "user"),
			      .source = control_arg_str(args, "source"),
			      .groups = groups,
			      .ngroups = ng};
	if (control_arg_uint(args, "lifetime", &r.lifetime_s) &&
	    r.lifetime_s == 0) {
		evbuffer_add_printf(out, "bad lifetime 0 (1..2592000 seconds)");
		free(groups);
		return -1;
	}
	int rc = idapi_login(d, &r, out);
	free(groups);
	if (rc < 0)
		return -1;
	evbuffer_add_printf(out, ": %s is %s\n", r.address, r.user);
	return answer_json(0, out, "{s:s,s:s}", "address", r.address,
			   "user", r.user);
}

/* identity-logout {address, [prefix], [user], [source]} */
static int cmd_identity_logout(void *arg, const json_t *args,
			       struct evbuffer *out)
{
	struct daemon *d = arg;
	char ab[80];
	const char *address = address_arg(args, ab, sizeof(ab));
	int rc = idapi_logout(d, address, control_arg_str(args, "user"),
			      control_arg_str(args, "source"), out);
	if (rc < 0)
		return -1;
	evbuffer_add_printf(out, rc ? "logged out %s\n"
				    : "no entry of that source for %s\n",
			    address);
	return answer_json(0, out, "{s:s,s:b}", "address", address,
			   "logged_out", rc > 0);
}

/* ---- floods: the sources the kernel's flood limits refuse ---------------------------- */

/* floods' items: flood_limited4 and flood_limited6 read whole
 * (floods.c flood_snap_take: at the kernel's pace, not the client's, one
 * read for the requests of a moment), then written. */
struct floods_ctx {
	struct daemon *d;
	struct flood_snap *snap; /* the read answered from */
	unsigned prefix;	 /* IPv6 sources' prefix length (flood { prefix }) */
	struct control_wake wake;
};

static void floods_ready(void *arg)
{
	struct floods_ctx *c = arg;
	c->wake.fn(c->wake.arg);
}

static enum json_pull floods_pull(void *ctx, size_t taken, size_t *n,
				  const char **error)
{
	struct floods_ctx *c = ctx;
	if (!c->snap->done)
		return JSON_PULL_WAIT;
	*n = c->snap->n;
	if (taken < c->snap->n)
		return JSON_PULL_MORE;
	*error = c->snap->error[0] ? c->snap->error : NULL;
	return JSON_PULL_DONE;
}

/* The row of item I. */
static json_t *flood_item(void *ctx, size_t i)
{
	struct floods_ctx *c = ctx;
	const struct flood_src *x = &c->snap->v[i];
	char value[INET6_ADDRSTRLEN], src[INET6_ADDRSTRLEN + 8];
	int family = x->len == 4 ? AF_INET : AF_INET6;
	inet_ntop(family, x->a, value, sizeof(value));
	/* tcp-half-open is the one limit sluiced knows a source is over
	 * (halfopen.c); the kernel's meters do not say which one refused */
	uint32_t ho = halfopen_count(c->d, value);
	const char *why = ho ? "tcp-half-open" : "rate-or-concurrent";
	if (family == AF_INET6 && c->prefix < 128)
		snprintf(src, sizeof(src), "%s/%u", value, c->prefix);
	else
		snprintf(src, sizeof(src), "%s", value);
	return json_pack("{s:o,s:I,s:I,s:s,s:I}", "source", json_text(src),
			 "refused", (json_int_t)x->packets, "expires_s",
			 (json_int_t)(x->expires_ms < 0 ? 0 : x->expires_ms / 1000),
			 "reason", why, "half_open",
			 (json_int_t)ho);
}

static void floods_free(void *ctx)
{
	struct floods_ctx *c = ctx;
	flood_snap_drop(c->snap, c);
	free(c);
}

/* floods: flood_limited4/6 (ruleset.c "flood4/6"): each source a limit
 * refused in the last FLOOD_LIMITED_TIMEOUT_S seconds, why (tcp-half-open
 * with its unanswered sessions, or one of the kernel's meters), the packets
 * refused and when it leaves the list. Both sets are read whole first
 * (floods.c flood_snap_take: over netlink, a few socket buffers a turn
 * of the event loop, at the kernel's pace, one read shared by the
 * requests of a moment), then written in parts as the client takes them:
 * during a flood from 65,000 sources it is 65,000 rows. A read that fails
 * ends the list empty with "error" beside it. */
static int cmd_floods(void *arg, const json_t *args,
		      struct control_stream *s, struct evbuffer *err)
{
	struct daemon *d = arg;
	struct gen *g = current(d);
	const struct flood_cfg *f = &g->policy->flood;
	bool on = f->tcp_connect_rate || f->tcp_concurrent ||
		  f->tcp_half_open || f->udp_rate;
	unsigned prefix = f->prefix_v6;
	gen_unref(g);
	(void)args;
	if (!on) {
		evbuffer_add_printf(err, "flood limits are off (flood { } in "
				    "sluice.conf(5))");
		return -1;
	}
	struct floods_ctx *c = xcalloc(1, sizeof(*c));
	c->d = d;
	c->prefix = prefix;
	c->wake = s->wake;
	c->snap = flood_snap_take(d, floods_ready, c);
	if (c->snap->done && c->snap->error[0]) {
		evbuffer_add_printf(err, "%s", c->snap->error);
		floods_free(c);
		return -1;
	}
	json_parts_pulled(s, "floods", floods_pull, flood_item, floods_free,
			  c);
	return 0;
}

/* ---- creations ---------------------------------------------------------------------- */

static int cmd_creations_list(void *arg, const json_t *args,
			      struct evbuffer *out)
{
	struct daemon *d = arg;
	char *err = NULL;
	char *js = creation_list_json(&d->kopts, &err);
	if (!js) {
		evbuffer_add_printf(out, "%s", err ? err : "cannot list");
		free(err);
		return -1;
	}
	int rc = creations_json(js, out);
	if (rc < 0)
		evbuffer_add_printf(out, "the creation sets are unreadable");
	free(js);
	return rc;
}

/* creations-add / -del {address, protocol, port, [from], [timeout]} */
static int creations_change(struct daemon *d, const json_t *args, bool add,
			    struct evbuffer *out)
{
	const char *address = control_arg_str(args, "address");
	const char *proto = control_arg_str(args, "protocol");
	const char *from = control_arg_str(args, "from");
	uint32_t port = 0, timeout = 60;
	control_arg_uint(args, "port", &port);
	int family;
	uint8_t addr[16];
	if (parse_ip(address, &family, addr) < 0 ||
	    (strcmp(proto, "tcp") && strcmp(proto, "udp")) || port < 1 ||
	    port > 65535) {
		evbuffer_add_printf(out, "bad creation element '%s %s %u'",
				    address, proto, port);
		return -1;
	}
	if (control_arg_uint(args, "timeout", &timeout) &&
	    (timeout < 1 || timeout > 30u * 86400)) {
		evbuffer_add_printf(out, "bad timeout %u (1..2592000 seconds)",
				    timeout);
		return -1;
	}
	char *err = NULL;
	int rc = add ? creation_add(&d->kopts, family, address, proto,
				    (uint16_t)port, from, timeout, &err)
		     : creation_del(&d->kopts, family, address, proto,
				    (uint16_t)port, from, &err);
	if (rc < 0) {
		evbuffer_add_printf(out, "%s", err ? err : "failed");
		free(err);
		return -1;
	}
	evbuffer_add_printf(out, "%s\n", add ? "added" : "removed");
	return 0;
}

static int cmd_creations_add(void *arg, const json_t *args,
			     struct evbuffer *out)
{
	return answer_json(creations_change(arg, args, true, out), out, NULL);
}

static int cmd_creations_del(void *arg, const json_t *args,
			     struct evbuffer *out)
{
	return answer_json(creations_change(arg, args, false, out), out, NULL);
}

/* ---- counters, alerts, verifiers, farms ------------------------------------ */

static int cmd_counters(void *arg, const json_t *args,
			struct evbuffer *out)
{
	struct daemon *d = arg;
	struct stats_snapshot s;
	daemon_snapshot(d, &s);
	stats_render_json(&s, d->alerts, out);
	return 0;
}

static int cmd_alerts(void *arg, const json_t *args,
		      struct evbuffer *out)
{
	struct daemon *d = arg;
	json_list_out(out, "alerts", alerts_json(d->alerts));
	return 0;
}

static int cmd_alerts_reset(void *arg, const json_t *args,
			    struct evbuffer *out)
{
	struct daemon *d = arg;
	const char *name = control_arg_str(args, "name");
	if (alerts_reset(d->alerts, name, (int64_t)mono_ms()) < 0) {
		evbuffer_add_printf(out, "no alert '%s'", name ? name : "");
		return -1;
	}
	evbuffer_add_printf(out, "reset\n");
	return answer_json(0, out, "{s:s}", "alert", name ? name : "all");
}

/* The arguments of portal-report (the table below), in the order of
 * struct portal_report's fields. */
static const struct control_arg args_portal_report[8];

/* portal-report {signed_in, signins, refused, throttled,
 * directory_unavailable, push_failed, busy}: sluice-portal's counters
 * (every 2 s), kept for the counters portal_* (observe.c). Each a JSON
 * integer 0..2^53-1 (control.h CA_COUNT, checked before the call). */
static int cmd_portal_report(void *arg, const json_t *args,
			     struct evbuffer *out)
{
	struct daemon *d = arg;
	uint64_t *v[] = {&d->portal.signed_in, &d->portal.signins,
			 &d->portal.refused, &d->portal.throttled,
			 &d->portal.directory_unavailable,
			 &d->portal.push_failed, &d->portal.busy};
	_Static_assert(sizeof(v) / sizeof(v[0]) + 1 ==
			   sizeof(args_portal_report) /
			       sizeof(args_portal_report[0]),
		       "a field per argument (and the table's end)");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		*v[i] = (uint64_t)json_integer_value(
		    json_object_get(args, args_portal_report[i].key));
	d->portal.at_ms = mono_ms();
	evbuffer_add_printf(out, "reported\n");
	return answer_json(0, out, "{s:b}", "reported", 1);
}

/* The farm commands live in farms.c with a word interface. */
static int farms_words(struct daemon *d, const char *w0, const char *w1,
		       const char *w2, struct evbuffer *out)
{
	char *argv[3] = {(char *)w0, (char *)w1, (char *)w2};
	int argc = w2 ? 3 : w1 ? 2 : 1;
	return farms_command(d->farms, argc, argv, out);
}

static int cmd_verifiers(void *arg, const json_t *args,
			 struct evbuffer *out)
{
	return farms_words(arg, "verifiers", NULL, NULL, out);
}

static int cmd_farm_list(void *arg, const json_t *args,
			 struct evbuffer *out)
{
	return farms_words(arg, "farm", "list", NULL, out);
}

static int cmd_farm_drain(void *arg, const json_t *args,
			  struct evbuffer *out)
{
	return farms_words(arg, "farm", "drain",
			   control_arg_str(args, "member"), out);
}

static int cmd_farm_resume(void *arg, const json_t *args,
			   struct evbuffer *out)
{
	return farms_words(arg, "farm", "resume",
			   control_arg_str(args, "member"), out);
}

/* ---- settings ------------------------------------------------------------------- */

/*
 * settings: every row of every settings block with the value in force in
 * the running policy (a row only a restart applies keeps the value sluiced
 * started with: settings_reload_pin) and how a change is applied:
 * {"schema_version", "generation", "settings": [{"block", "key", "value",
 * "reload": "live"|"restart", "portal"}]} (sluicectl renders the text).
 */
static int cmd_settings(void *arg, const json_t *args,
			struct evbuffer *out)
{
	struct daemon *d = arg;
	struct gen *g = current(d);
	(void)args;
	json_t *list = json_array();
	char v[512];
	for (const struct settings_block *b = settings_blocks(); b->name; b++)
		for (const struct setting *s = b->table; s->key; s++) {
			setting_format(s, g->policy, v, sizeof(v));
			json_array_append_new(
			    list, json_pack("{s:s,s:s,s:o,s:s,s:b}", "block",
					    b->name, "key", s->key, "value",
					    json_text(v), "reload",
					    s->reload == RELOAD_RESTART
						? "restart" : "live",
					    "portal", s->portal));
		}
	json_value_out(out, json_pack("{s:i,s:I,s:o}", "schema_version",
				      JSON_SCHEMA_VERSION, "generation",
				      (json_int_t)g->id, "settings", list));
	gen_unref(g);
	return 0;
}

void daemon_control_configure(struct daemon *d, const struct policy *p)
{
	struct control_access a;
	char *err = NULL;
	if (control_access_resolve(&p->control, &a, &err) < 0 ||
	    control_reconfigure(d->ctl, &a, &err) < 0) {
		daemon_warn(d, 0, "%s; the control socket keeps its access",
			    err);
		free(err);
	}
	control_access_free(&a);
}

/* ---- the table ------------------------------------------------------------------ */

/* Arguments of each command (control.h checks them before the call). */
static const struct control_arg args_identity_add[] = {
    {"address", CA_ADDR, true}, {"user", CA_NAME, true},
    {"groups", CA_NAMES, false}, {"ttl", CA_UINT, false}, {NULL, 0, false}};
static const struct control_arg args_identity_login[] = {
    {"address", CA_ADDR, true}, {"prefix", CA_UINT, false},
    {"user", CA_NAME, true}, {"groups", CA_NAMES, false},
    {"lifetime", CA_UINT, false}, {"source", CA_NAME, false},
    {NULL, 0, false}};
static const struct control_arg args_identity_logout[] = {
    {"address", CA_ADDR, true}, {"prefix", CA_UINT, false},
    {"user", CA_NAME, false}, {"source", CA_NAME, false}, {NULL, 0, false}};
static const struct control_arg args_address[] = {
    {"address", CA_ADDR, true}, {NULL, 0, false}};
static const struct control_arg args_creation[] = {
    {"address", CA_ADDR, true}, {"protocol", CA_NAME, true},
    {"port", CA_UINT, true}, {"from", CA_ADDR, false},
    {"timeout", CA_UINT, false}, {NULL, 0, false}};
static const struct control_arg args_alert[] = {
    {"name", CA_NAME, false}, {NULL, 0, false}};
static const struct control_arg args_reload[] = {
    {"confirm", CA_NAME, false}, {NULL, 0, false}};
static const struct control_arg args_member[] = {
    {"member", CA_NAME, true}, {NULL, 0, false}};
static const struct control_arg args_portal_report[8] = {
    {"signed_in", CA_COUNT, true}, {"signins", CA_COUNT, true},
    {"refused", CA_COUNT, true}, {"throttled", CA_COUNT, true},
    {"directory_unavailable", CA_COUNT, true},
    {"push_failed", CA_COUNT, true}, {"busy", CA_COUNT, true},
    {NULL, 0, false}};

/* One row a command: its name on the wire, the level it needs (read-only:
 * looks; operator: identities, drains, alert resets; admin: what changes
 * the policy or the kernel's admissions), its arguments, its function. */
const struct control_command daemon_commands[] = {
    {"status", CONTROL_READ, NULL, cmd_status, NULL},
    {"sessions", CONTROL_READ, NULL, NULL, cmd_sessions},
    {"pending", CONTROL_READ, NULL, cmd_pending, NULL},
    {"counters", CONTROL_READ, NULL, cmd_counters, NULL},
    {"alerts", CONTROL_READ, NULL, cmd_alerts, NULL},
    {"verifiers", CONTROL_READ, NULL, cmd_verifiers, NULL},
    {"farm-list", CONTROL_READ, NULL, cmd_farm_list, NULL},
    {"identity-list", CONTROL_READ, NULL, NULL, cmd_identity_list},
    {"identity-sources", CONTROL_READ, NULL, cmd_identity_sources, NULL},
    {"creations-list", CONTROL_READ, NULL, cmd_creations_list, NULL},
    {"floods", CONTROL_READ, NULL, NULL, cmd_floods},
    {"settings", CONTROL_READ, NULL, cmd_settings, NULL},
    {"identity-add", CONTROL_OPERATOR, args_identity_add, cmd_identity_add, NULL},
    {"identity-del", CONTROL_OPERATOR, args_address, cmd_identity_del, NULL},
    {"identity-login", CONTROL_OPERATOR, args_identity_login,
     cmd_identity_login, NULL},
    {"identity-logout", CONTROL_OPERATOR, args_identity_logout,
     cmd_identity_logout, NULL},
    {"farm-drain", CONTROL_OPERATOR, args_member, cmd_farm_drain, NULL},
    {"farm-resume", CONTROL_OPERATOR, args_member, cmd_farm_resume, NULL},
    {"alerts-reset", CONTROL_OPERATOR, args_alert, cmd_alerts_reset, NULL},
    {"portal-report", CONTROL_OPERATOR, args_portal_report,
     cmd_portal_report, NULL},
    {"reload", CONTROL_ADMIN, args_reload, cmd_reload, NULL},
    {"confirm", CONTROL_ADMIN, NULL, cmd_confirm, NULL},
    {"creations-add", CONTROL_ADMIN, args_creation, cmd_creations_add, NULL},
    {"creations-del", CONTROL_ADMIN, args_creation, cmd_creations_del, NULL},
    {NULL, 0, NULL, NULL, NULL},
};

const char *daemon_rule_name(const struct gen *g, uint32_t rid, char *buf,
			     size_t len)
{
	return rule_name(g, rid, buf, len);
}
