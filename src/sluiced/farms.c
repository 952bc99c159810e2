/*
 * farms.c — the farm manager: verifier subscriptions, farm membership, the
 * kernel's publish chains, drain/resume and the control commands. See
 * farms.h.
 */
#include "sluiced/farms.h"

#include <ares.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "sluiced/jsonout.h"
#include "policy/settings.h"
#include "resolve/resolver.h"
#include "verify/vchange.h"
#include "verify/vnotify.h"
#include "stats/prom.h"
#include "verify/verify.h"

struct ffarm;

/* One farm member, or one standalone verifier (farm == NULL). Allocated
 * one by one: the engine's callback argument stays valid while the check
 * is carried over a reload. Its identity is (name, addr): the health state
 * belongs to it and survives every reload; the check's configuration
 * (spec) only decides whether the probe runs on or is restarted. */
struct fcheck {
	struct farms *fm;
	struct ffarm *farm; /* NULL: a standalone verifier */
	size_t idx;	    /* member index in farm->f.members */
	char *name;	    /* "FARM/MEMBER" or the verifier's name */
	bool has_spec;	    /* a check runs (else: always up) */
	struct verify_spec spec; /* owned copy, member's port filled in */
	int sub;	    /* engine subscription, -1 = no check */
	enum verify_method method;
	char target[320]; /* what is checked, for people */
	char addr[INET6_ADDRSTRLEN];
	enum vstate state;
	struct vchange chg; /* when the state changed, time down */
	char *notify;	    /* command at every state change, or NULL */
	bool drained;
	bool taken; /* carried over by the configure in progress */
};

/* A farm: private copies of the policy's farm and its publishes. */
struct ffarm {
	struct farm f;		/* members[].name and name/sorry owned */
	struct fcheck **m;	/* one per member */
	struct publish *pubs;	/* .farm = &f; .name owned */
	size_t npubs;
};

struct farms {
	struct event_base *base;
	const struct ruleset_opts *kopts;
	struct vengine *v;
	struct ffarm **farms;
	size_t nfarms;
	struct fcheck **vers; /* standalone verifiers */
	size_t nvers;
	uint64_t state_changes, map_changes, map_failures, flushed;
	uint32_t last_us;
	char *drain_file; /* where drains are kept over restarts, or NULL */
	char **restore;	  /* drained names read from it, for the next
			   * configure */
	size_t nrestore;
	struct vnotify *notify; /* runs the `notify` commands */
	uint64_t notified;	/* commands started */
};

/* ---- membership ------------------------------------------------------------ */

/* Is some member of FA other than SKIP known up and not drained? */
static bool farm_known_up(const struct ffarm *fa, size_t skip)
{
	for (size_t i = 0; i < fa->f.nmembers; i++)
		if (i != skip && !fa->m[i]->drained && fa->m[i]->state == VS_UP)
			return true;
	return false;
}

/* Does member I of FA receive new sessions? Not when drained or down; a
 * member whose state is unknown (not checked yet) only while no other
 * member is known up: it is not sent traffic it may not serve while a
 * proven member can take it, and a farm whose members are all unknown (a
 * fresh start) still serves. */
static bool in_map(const struct ffarm *fa, size_t i)
{
	const struct fcheck *c = fa->m[i];
	if (c->drained || c->state == VS_DOWN)
		return false;
	return c->state == VS_UP || !farm_known_up(fa, i);
}

/* The map of FA now: one bool per member (caller frees). */
static bool *farm_map(const struct ffarm *fa)
{
	bool *up = xcalloc(fa->f.nmembers + 1, sizeof(*up));
	for (size_t i = 0; i < fa->f.nmembers; i++)
		up[i] = in_map(fa, i);
	return up;
}

/* The rules an nft script adds: its lines that begin "add rule ". */
static size_t rules_added(const char *script)
{
	size_t n = 0;
	for (const char *l = script; l && *l; l = strchr(l, '\n')) {
		l += *l == '\n';
		n += strncmp(l, "add rule ", 9) == 0;
	}
	return n;
}

/* Rewrites every publish chain of FA in one transaction. 0 or -1 (logged,
 * message in *ERR when ERR). */
static int farm_apply(struct farms *fm, struct ffarm *fa, char **err)
{
	if (fa->npubs == 0)
		return 0;
	bool *up = farm_map(fa);
	char *script = xstrdup("");
	size_t *nrules = xcalloc(fa->npubs, sizeof(*nrules));
	for (size_t i = 0; i < fa->npubs; i++) {
		char *one = farm_chain_script(fm->kopts, &fa->pubs[i], up);
		nrules[i] = rules_added(one);
		char *s = xasprintf("%s%s", script, one);
		free(one);
		free(script);
		script = s;
	}
	free(up);
	struct chain_rules **before = xcalloc(fa->npubs, sizeof(*before));
	for (size_t i = 0; i < fa->npubs; i++) {
		char cn[96];
		before[i] = ruleset_chain_before(
		    fm->kopts, publish_chain_name(&fa->pubs[i], cn, sizeof(cn)));
	}
	char *e = NULL;
	int rc = nft_apply(script, &e);
	free(script);
	for (size_t i = 0; i < fa->npubs; i++) {
		char cn[96];
		if (rc == 0) /* the members' rules: as many as written */
			ruleset_fingerprint_chain(
			    fm->kopts,
			    publish_chain_name(&fa->pubs[i], cn, sizeof(cn)),
			    before[i], 0, nrules[i]);
		else
			ruleset_chain_rules_free(before[i]);
	}
	free(before);
	free(nrules);
	fm->map_changes++;
	if (rc < 0) {
		fm->map_failures++;
		log_warnx("farm %s: membership not written to the kernel: %s",
			  fa->f.name, e ? e : "?");
		if (err && !*err)
			*err = xasprintf("farm %s: %s", fa->f.name, e ? e : "?");
	}
	free(e);
	return rc;
}

/* Conntrack entries of one publish whose reply comes from one member. */
struct flush_ctx {
	const struct publish *pb;
	const struct farm_member *m;
	uint16_t mport;
	struct nf_conntrack **hits;
	size_t n;
};

static int flush_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		    void *data)
{
	struct flush_ctx *x = data;
	const struct publish *pb = x->pb;
	uint8_t l4 = pb->tr == TR_UDP ? IPPROTO_UDP : IPPROTO_TCP;

	if (nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) != pb->family ||
	    nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != l4 ||
	    ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)) != pb->port ||
	    ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)) != x->mport)
		return NFCT_CB_CONTINUE;
	if (pb->family == AF_INET) {
		if (ntohl(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST)) != pb->v4 ||
		    ntohl(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC)) != x->m->v4)
			return NFCT_CB_CONTINUE;
	} else {
		unsigned char a[16], b[16];
		const unsigned char *od = nfct_get_attr(ct, ATTR_ORIG_IPV6_DST);
		const unsigned char *rs = nfct_get_attr(ct, ATTR_REPL_IPV6_SRC);
		u128 v = pb->v6, w = x->m->v6;
		for (int i = 15; i >= 0; i--, v >>= 8, w >>= 8) {
			a[i] = (unsigned char)(v & 0xff);
			b[i] = (unsigned char)(w & 0xff);
		}
		if (!od || !rs || memcmp(od, a, 16) || memcmp(rs, b, 16))
			return NFCT_CB_CONTINUE;
	}
	VEC_PUSH(x->hits, x->n, nfct_clone(ct));
	return NFCT_CB_CONTINUE;
}

/* Deletes the conntrack entries of FA's publishes whose reply comes from
 * member IDX (the sessions DNATed to it). Returns how many were deleted. */
static size_t member_flush(struct ffarm *fa, size_t idx)
{
	const struct farm_member *m = &fa->f.members[idx];
	size_t deleted = 0;

	for (size_t p = 0; p < fa->npubs; p++) {
		const struct publish *pb = &fa->pubs[p];
		struct flush_ctx x = {
		    .pb = pb, .m = m,
		    .mport = m->port ? m->port : pb->to_port ? pb->to_port
							     : pb->port};
		struct nfct_handle *h = nfct_open(CONNTRACK, 0);
		if (!h) {
			log_warn("farm %s: conntrack", fa->f.name);
			return deleted;
		}
		nfct_callback_register(h, NFCT_T_ALL, flush_cb, &x);
		uint32_t family = (uint32_t)pb->family;
		if (nfct_query(h, NFCT_Q_DUMP, &family) < 0)
			log_warn("farm %s: conntrack dump", fa->f.name);
		nfct_callback_unregister(h);
		for (size_t i = 0; i < x.n; i++) {
			if (nfct_query(h, NFCT_Q_DESTROY, x.hits[i]) == 0)
				deleted++;
			nfct_destroy(x.hits[i]);
		}
		free(x.hits);
		nfct_close(h);
	}
	return deleted;
}

/* The wall clock in ms (change times are shown to people). */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void notify_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	if (prio <= LOG_WARNING)
		log_warnx("verifier %s", msg);
	else
		log_info("verifier %s", msg);
}

/* C takes the notify command of SPEC (a copy; NULL = none). */
static void notify_set(struct fcheck *c, const struct verify_spec *spec)
{
	free(c->notify);
	c->notify = spec->notify && spec->notify[0] ? xstrdup(spec->notify)
						     : NULL;
}

/* Runs C's notify command for the change ST (verify/vnotify.h). */
static void notify_change(struct farms *fm, struct fcheck *c,
			  const struct vstatus *st)
{
	if (!c->notify)
		return;
	if (!fm->notify &&
	    !(fm->notify = vnotify_new(fm->base, 0, notify_log, NULL))) {
		log_warnx("verifier %s: notify not run: %s", c->name,
			  strerror(errno));
		return;
	}
	struct vnotify_event ev = {
	    .verifier = c->name,
	    .farm = c->farm ? c->farm->f.name : "",
	    .member = c->farm ? c->farm->f.members[c->idx].name : "",
	    .state = vstate_name(st->state),
	    .prev = vstate_name(st->prev),
	    .result = vresult_name(st->last),
	    .detail = st->detail,
	    .target = c->target,
	};
	if (vnotify_run(fm->notify, c->notify, &ev) > 0)
		fm->notified++;
}

/* The engine's callback: a check changed state. */
static void on_state(const struct vstatus *st, void *arg)
{
	struct fcheck *c = arg;
	struct farms *fm = c->fm;
	bool *was = c->farm ? farm_map(c->farm) : NULL;

	c->state = st->state;
	vchange_note(&c->chg, st->prev, st->state, wall_ms());
	notify_change(fm, c, st);
	fm->state_changes++;
	fm->last_us = st->last_us;
	if (st->state == VS_DOWN)
		log_warnx("verifier %s (%s %s): down: %s%s%s", c->name,
			  verify_method_name(c->method), c->target,
			  vresult_name(st->last), st->detail[0] ? ": " : "",
			  st->detail);
	else
		log_info("verifier %s (%s %s): %s", c->name,
			 verify_method_name(c->method), c->target,
			 vstate_name(st->state));
	if (!c->farm)
		return;
	/* one member's news may move others (an unknown member leaves the
	 * map when another is known up) */
	bool changed = false;
	for (size_t i = 0; i < c->farm->f.nmembers; i++) {
		bool now = in_map(c->farm, i);
		if (now == was[i])
			continue;
		changed = true;
		log_info("farm %s: member %s %s the map", c->farm->f.name,
			 c->farm->f.members[i].name, now ? "enters" : "leaves");
	}
	free(was);
	if (changed)
		farm_apply(fm, c->farm, NULL);
	if (st->state == VS_DOWN && st->prev != VS_DOWN &&
	    c->farm->f.on_down == ONDOWN_FLUSH) {
		size_t n = member_flush(c->farm, c->idx);
		fm->flushed += n;
		log_info("farm %s: member %s down: %zu conntrack entries "
			 "flushed", c->farm->f.name,
			 c->farm->f.members[c->idx].name, n);
	}
}

/* ---- checks ----------------------------------------------------------------- */

static void check_free(struct farms *fm, struct fcheck *c)
{
	if (!c)
		return;
	if (c->sub >= 0 && fm->v)
		vengine_remove(fm->v, c->sub);
	free(c->name);
	verify_spec_free(&c->spec);
	free(c->notify);
	free(c);
}

/* Finds the check of OLD (n entries) for the member or verifier NAME at
 * ADDR ("" for a standalone verifier), not yet taken. */
static struct fcheck *take(struct fcheck **old, size_t n, const char *name,
			   const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (old[i] && !old[i]->taken && !strcmp(old[i]->name, name) &&
		    !strcmp(old[i]->addr, addr)) {
			old[i]->taken = true;
			return old[i];
		}
	return NULL;
}

/* Subscribes C to SPEC (MEMBER may be NULL). -1 with *ERR on failure. */
static int check_start(struct farms *fm, struct fcheck *c,
		       const struct verify_spec *spec, const char *member,
		       char **err)
{
	c->sub = vengine_add(fm->v, c->name, spec, member, on_state, c);
	if (c->sub < 0) {
		char *e = xasprintf("verifier %s: cannot start: %s", c->name,
				    strerror(errno));
		log_warnx("%s", e);
		if (err && !*err)
			*err = e;
		else
			free(e);
		return -1;
	}
	return 0;
}

static void describe_target(struct fcheck *c, const struct verify_spec *s,
			    const char *member)
{
	const char *a = member ? member : s->target ? s->target : "?";
	bool v6 = strchr(a, ':') != NULL;
	if (s->method == VM_HTTP) {
		const char *u = s->target ? s->target : "";
		const char *star = member ? strstr(u, "://*") : NULL;
		if (star)
			snprintf(c->target, sizeof(c->target), "%.*s://%s%s%s%s",
				 (int)(star - u), u, v6 ? "[" : "", member,
				 v6 ? "]" : "", star + 4);
		else
			snprintf(c->target, sizeof(c->target), "%s", u);
	} else if (s->method == VM_TCP) {
		snprintf(c->target, sizeof(c->target), "%s%s%s:%u",
			 v6 ? "[" : "", a, v6 ? "]" : "", s->port);
	} else if (s->method == VM_DNS) { /* "10.1.0.53:53 name A [=ADDR]" */
		snprintf(c->target, sizeof(c->target), "%s%s%s:%u %s %s%s%s",
			 v6 ? "[" : "", a, v6 ? "]" : "",
			 s->port ? s->port : VERIFY_DNS_PORT,
			 s->qname ? s->qname : "?",
			 s->qtype == DNSQ_AAAA ? "AAAA" : "A",
			 s->answer ? " =" : "", s->answer ? s->answer : "");
	} else {
		snprintf(c->target, sizeof(c->target), "%s", a);
	}
}

/* A new check named NAME (taken over) for ADDR ("" for a standalone
 * verifier), with no configuration yet and its state unknown. */
static struct fcheck *check_new(struct farms *fm, char *name,
				const char *addr)
{
	struct fcheck *c = xcalloc(1, sizeof(*c));
	c->fm = fm;
	c->name = name;
	c->sub = -1;
	c->state = VS_UNKNOWN;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	return c;
}

/*
 * Gives C the configuration SPEC (NULL: no check, always up) for MEMBER
 * (NULL for a standalone verifier). An unchanged configuration keeps the
 * running probe; a changed one restarts it from the state already known
 * (a down member stays down until `rise` successes), so no reload forgets
 * a member's health. A check that cannot start is down.
 */
static void check_set(struct farms *fm, struct fcheck *c,
		      const struct verify_spec *spec, const char *member,
		      char **err)
{
	if (spec ? c->has_spec && verify_spec_cfg_equal(spec, &c->spec)
		 : !c->has_spec && c->state == VS_UP)
		return;
	if (c->sub >= 0)
		vengine_remove(fm->v, c->sub);
	c->sub = -1;
	bool was_checked = c->has_spec;
	verify_spec_free(&c->spec);
	c->has_spec = spec != NULL;
	if (!spec) {
		c->state = VS_UP;
		snprintf(c->target, sizeof(c->target), "(no verify)");
		return;
	}
	verify_spec_copy(&c->spec, spec);
	c->method = spec->method;
	if (!was_checked)
		c->state = VS_UNKNOWN; /* "no verify" was no health news */
	describe_target(c, spec, member);
	if (check_start(fm, c, spec, member, err) < 0)
		c->state = VS_DOWN; /* cannot verify */
	else if (c->state != VS_UNKNOWN)
		vengine_seed_state(fm->v, c->sub, c->state);
}

/* ---- configure ---------------------------------------------------------------- */

static void ffarm_free(struct farms *fm, struct ffarm *fa)
{
	if (!fa)
		return;
	for (size_t i = 0; i < fa->f.nmembers; i++) {
		if (fa->m && fa->m[i] && !fa->m[i]->taken)
			check_free(fm, fa->m[i]);
		free(fa->f.members[i].name);
	}
	for (size_t i = 0; i < fa->npubs; i++)
		free(fa->pubs[i].name);
	free(fa->pubs);
	free(fa->m);
	free(fa->f.members);
	free(fa->f.name);
	free(fa->f.sorry);
	free(fa);
}

/* The old member checks, flattened (for take()). */
static struct fcheck **old_members(struct farms *fm, size_t *n)
{
	struct fcheck **v = NULL;
	*n = 0;
	for (size_t i = 0; i < fm->nfarms; i++)
		for (size_t j = 0; j < fm->farms[i]->f.nmembers; j++)
			VEC_PUSH(v, *n, fm->farms[i]->m[j]);
	return v;
}

/* Was a member FARM/NAME drained in the old configuration? */
static bool was_drained(struct fcheck **old, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(old[i]->name, name))
			return old[i]->drained;
	return false;
}

static struct ffarm *farm_build(struct farms *fm, const struct policy *p,
				const struct farm *f, struct fcheck **old,
				size_t nold, char **err)
{
	struct ffarm *fa = xcalloc(1, sizeof(*fa));
	fa->f = *f;
	fa->f.name = xstrdup(f->name);
	fa->f.sorry = f->sorry ? xstrdup(f->sorry) : NULL;
	fa->f.members = xcalloc(f->nmembers + 1, sizeof(*fa->f.members));
	fa->f.has_verify = f->has_verify;
	memset(&fa->f.verify, 0, sizeof(fa->f.verify)); /* not kept */
	fa->m = xcalloc(f->nmembers + 1, sizeof(*fa->m));
	for (size_t i = 0; i < p->npublishes; i++) {
		const struct publish *pb = p->publishes[i];
		if (pb->farm != f)
			continue;
		struct publish c = *pb;
		c.name = xstrdup(pb->name);
		c.farm = &fa->f;
		VEC_PUSH(fa->pubs, fa->npubs, c);
	}
	for (size_t i = 0; i < f->nmembers; i++) {
		const struct farm_member *m = &f->members[i];
		fa->f.members[i] = *m;
		fa->f.members[i].name = xstrdup(m->name);
		fa->f.members[i].loc = (struct loc){0};

		char addr[INET6_ADDRSTRLEN];
		format_addr(m->family, m->v4, m->v6, addr, sizeof(addr));
		struct verify_spec spec = f->verify;
		if (spec.method == VM_TCP && !spec.port)
			spec.port = m->port ? m->port
				    : fa->npubs ? (fa->pubs[0].to_port
						       ? fa->pubs[0].to_port
						       : fa->pubs[0].port)
						: 0;
		char *name = xasprintf("%s/%s", f->name, m->name);
		struct fcheck *c = take(old, nold, name, addr);
		if (c) {
			free(name);
		} else {
			c = check_new(fm, name, addr);
			c->drained = was_drained(old, nold, c->name);
		}
		c->farm = fa;
		c->idx = i;
		check_set(fm, c, f->has_verify ? &spec : NULL, addr, err);
		notify_set(c, &spec);
		fa->m[i] = c;
	}
	return fa;
}

/* ---- drains kept over restarts --------------------------------------------- */

void farms_set_drain_file(struct farms *fm, const char *path)
{
	free(fm->drain_file);
	vdrains_free(fm->restore, fm->nrestore);
	fm->restore = NULL;
	fm->nrestore = 0;
	fm->drain_file = path ? xstrdup(path) : NULL;
	if (path && vdrains_load(path, &fm->restore, &fm->nrestore) < 0)
		log_warnx("farms: drains of the last run not read from %s: %s",
			  path, strerror(errno));
}

/* Drains the members named in the drain file read at start (once: later
 * configures carry drains over by name themselves). Names no longer in the
 * policy are dropped (and from the file at the next drain or resume). */
static void drains_restore(struct farms *fm)
{
	for (size_t k = 0; k < fm->nrestore; k++)
		for (size_t i = 0; i < fm->nfarms; i++)
			for (size_t j = 0; j < fm->farms[i]->f.nmembers; j++) {
				struct fcheck *c = fm->farms[i]->m[j];

				if (c->drained || strcmp(c->name, fm->restore[k]))
					continue;
				c->drained = true;
				log_info("farm %s: member %s drained (kept over "
					 "the restart)", fm->farms[i]->f.name,
					 fm->farms[i]->f.members[j].name);
			}
	vdrains_free(fm->restore, fm->nrestore);
	fm->restore = NULL;
	fm->nrestore = 0;
}

/* Writes the names of the drained members to the drain file. */
static void drains_persist(struct farms *fm)
{
	const char **names;
	size_t n = 0, cap = 0;

	if (!fm->drain_file)
		return;
	for (size_t i = 0; i < fm->nfarms; i++)
		cap += fm->farms[i]->f.nmembers;
	names = xcalloc(cap + 1, sizeof(*names));
	for (size_t i = 0; i < fm->nfarms; i++)
		for (size_t j = 0; j < fm->farms[i]->f.nmembers; j++)
			if (fm->farms[i]->m[j]->drained)
				names[n++] = fm->farms[i]->m[j]->name;
	if (vdrains_save(fm->drain_file, names, n) < 0)
		log_warnx("farms: drains not kept in %s: %s (a restart "
			  "resumes them)", fm->drain_file, strerror(errno));
	free(names);
}

/* ---- the resolver's own servers ---------------------------------------------------- */

/* resolver { verify-name NAME }: one `dns` verifier "resolver/ADDRESS" per
 * server the resolver asks, for NAME, within the resolver's own timeout,
 * every verify-every; rise and fall the verifiers' defaults. Standalone verifiers: down,
 * they count in verifiers_down (default alert verifier-down). Appended to
 * *VERS, carried over from FM's checks of the same name. */
static void resolver_checks(struct farms *fm, const struct resolver_cfg *rc,
			    struct fcheck ***vers, size_t *nvers, char **err)
{
	size_t n = rc->nservers, ndflt = 0;
	char **dflt = NULL;
	char *const *servers = rc->servers;
	if (!rc->verify_name)
		return;
	if (!n) {
		servers = dflt = resolver_default_servers(&ndflt);
		n = ndflt;
	}
	for (size_t i = 0; i < n; i++) {
		char addr[INET6_ADDRSTRLEN + 2];
		struct verify_spec spec;
		verify_spec_init(&spec);
		resolver_server_split(servers[i], addr, sizeof(addr), &spec.port);
		spec.method = VM_DNS;
		spec.target = addr;
		spec.qname = rc->verify_name;
		spec.timeout_ms = rc->timeout_ms;
		spec.every_ms = rc->verify_every_ms;
		char *name = xasprintf("resolver/%s", servers[i]);
		struct fcheck *c = take(fm->vers, fm->nvers, name, "");
		if (c)
			free(name);
		else
			c = check_new(fm, name, "");
		check_set(fm, c, &spec, NULL, err);
		notify_set(c, &spec);
		VEC_PUSH(*vers, *nvers, c);
	}
	for (size_t i = 0; i < ndflt; i++)
		free(dflt[i]);
	free(dflt);
}

int farms_configure(struct farms *fm, const struct policy *p, char **err)
{
	size_t nold;
	struct fcheck **old = old_members(fm, &nold);
	struct ffarm **farms = NULL;
	size_t nfarms = 0;
	struct fcheck **vers = NULL;
	size_t nvers = 0;
	int rc = 0;

	if (err)
		*err = NULL;
	for (size_t i = 0; i < p->nfarms; i++) {
		struct ffarm *fa = farm_build(fm, p, p->farms[i], old, nold, err);
		VEC_PUSH(farms, nfarms, fa);
	}
	for (size_t i = 0; i < p->nverifiers; i++) {
		const struct verifier *v = p->verifiers[i];
		struct fcheck *c = take(fm->vers, fm->nvers, v->name, "");
		if (!c)
			c = check_new(fm, xstrdup(v->name), "");
		check_set(fm, c, &v->spec, NULL, err);
		notify_set(c, &v->spec);
		VEC_PUSH(vers, nvers, c);
	}
	resolver_checks(fm, &p->resolver, &vers, &nvers, err);
	/* what was not carried over stops now (engine: one cleanup path) */
	for (size_t i = 0; i < fm->nfarms; i++)
		ffarm_free(fm, fm->farms[i]);
	for (size_t i = 0; i < fm->nvers; i++)
		if (!fm->vers[i]->taken)
			check_free(fm, fm->vers[i]);
	free(fm->farms);
	free(fm->vers);
	free(old);
	fm->farms = farms;
	fm->nfarms = nfarms;
	fm->vers = vers;
	fm->nvers = nvers;
	for (size_t i = 0; i < nfarms; i++)
		for (size_t j = 0; j < farms[i]->f.nmembers; j++)
			farms[i]->m[j]->taken = false;
	for (size_t i = 0; i < nvers; i++)
		vers[i]->taken = false;
	drains_restore(fm);
	for (size_t i = 0; i < nfarms; i++)
		if (farm_apply(fm, farms[i], err) < 0)
			rc = -1;
	if (err && *err)
		rc = -1;
	return rc;
}

/* ---- life cycle ------------------------------------------------------------------ */

struct farms *farms_new(struct event_base *base,
			const struct ruleset_opts *kopts)
{
	struct farms *fm = xcalloc(1, sizeof(*fm));
	struct vengine_opts vo = {.max_inflight = 64, .jitter_pct = 5,
				  .so_mark = kopts->self_mark};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	fm->base = base;
	fm->kopts = kopts;
	fm->v = vengine_new(base, &vo);
	if (!fm->v)
		fatal("verifier engine");
	return fm;
}

void farms_free(struct farms *fm)
{
	if (!fm)
		return;
	/* the engine frees every subscription and probe, in flight or not */
	vengine_free(fm->v);
	fm->v = NULL;
	for (size_t i = 0; i < fm->nfarms; i++)
		ffarm_free(fm, fm->farms[i]);
	for (size_t i = 0; i < fm->nvers; i++)
		check_free(fm, fm->vers[i]);
	free(fm->farms);
	free(fm->vers);
	free(fm->drain_file);
	vdrains_free(fm->restore, fm->nrestore);
	vnotify_free(fm->notify);
	free(fm);
	curl_global_cleanup();
}

bool farms_member_up(void *ctx, const struct farm *f, size_t i)
{
	struct farms *fm = ctx;
	if (!fm || i >= f->nmembers)
		return true;
	const struct farm_member *m = &f->members[i];
	for (size_t k = 0; k < fm->nfarms; k++) {
		struct ffarm *fa = fm->farms[k];
		if (strcmp(fa->f.name, f->name))
			continue;
		for (size_t j = 0; j < fa->f.nmembers; j++) {
			const struct farm_member *o = &fa->f.members[j];
			if (!strcmp(o->name, m->name) && o->family == m->family &&
			    o->v4 == m->v4 && o->v6 == m->v6)
				return in_map(fa, j);
		}
	}
	return true;
}

void farms_stats(struct farms *fm, struct farms_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!fm)
		return;
	struct vengine_stats vs;
	vengine_stats(fm->v, &vs);
	out->checks_run = vs.runs;
	out->check_failures = vs.failures;
	out->inflight = vs.inflight;
	out->late_max_us = vs.late_max_us;
	out->state_changes = fm->state_changes;
	out->map_changes = fm->map_changes;
	out->map_failures = fm->map_failures;
	out->flushed = fm->flushed;
	out->last_response_us = fm->last_us;
	out->farms = (unsigned)fm->nfarms;
	for (size_t i = 0; i < fm->nfarms; i++)
		for (size_t j = 0; j < fm->farms[i]->f.nmembers; j++) {
			const struct fcheck *c = fm->farms[i]->m[j];
			out->members++;
			out->members_in_map += in_map(fm->farms[i], j);
			out->members_down += c->state == VS_DOWN;
			out->members_drained += c->drained;
		}
	out->verifiers = (unsigned)fm->nvers;
	for (size_t i = 0; i < fm->nvers; i++) {
		out->verifiers_up += fm->vers[i]->state == VS_UP;
		out->verifiers_down += fm->vers[i]->state == VS_DOWN;
	}
}

static void status_of(struct farms *fm, const struct fcheck *c,
		      struct vstatus *st, char *hist, size_t hlen,
		      char *detail, size_t dlen);

/* ---- Prometheus ---------------------------------------------------------------------- */

/* The labels of C: verifier (its name), farm and member ("" for a
 * standalone verifier), escaped (prom_label_value). */
static void check_labels(const struct fcheck *c, char *buf, size_t len)
{
	char v[200], f[200], m[200];
	prom_label_value(v, sizeof(v), c->name);
	prom_label_value(f, sizeof(f), c->farm ? c->farm->f.name : "");
	prom_label_value(m, sizeof(m),
			 c->farm ? c->farm->f.members[c->idx].name : "");
	snprintf(buf, len, "verifier=\"%s\",farm=\"%s\",member=\"%s\"", v,
		 f, m);
}

/* Calls FN on every check of FM (members first, then verifiers). */
static void each_check(struct farms *fm,
		       void (*fn)(struct farms *, const struct fcheck *, int,
				  struct evbuffer *),
		       int what, struct evbuffer *out)
{
	for (size_t i = 0; i < fm->nfarms; i++)
		for (size_t j = 0; j < fm->farms[i]->f.nmembers; j++)
			fn(fm, fm->farms[i]->m[j], what, out);
	for (size_t i = 0; i < fm->nvers; i++)
		fn(fm, fm->vers[i], what, out);
}

enum { P_UP, P_DRAINED, P_RESPONSE, P_OK, P_FAILED };

static void check_sample(struct farms *fm, const struct fcheck *c, int what,
			 struct evbuffer *out)
{
	static const char *const names[] = {
	    "sluice_verifier_up", "sluice_verifier_drained",
	    "sluice_verifier_response_time_seconds", "sluice_check_results_total",
	    "sluice_check_results_total"};
	struct vstatus st;
	char hist[VERIFY_HISTORY + 1], detail[8], labels[700];
	status_of(fm, c, &st, hist, sizeof(hist), detail, sizeof(detail));
	check_labels(c, labels, sizeof(labels));
	double v = 0;
	switch (what) {
	case P_UP:
		v = c->farm ? in_map(c->farm, c->idx) : c->state != VS_DOWN;
		break;
	case P_DRAINED:
		v = c->drained;
		break;
	case P_RESPONSE:
		v = (double)st.last_us / 1e6;
		break;
	case P_OK:
	case P_FAILED:
		strncat(labels, what == P_OK ? ",result=\"ok\"" : ",result=\"failed\"",
			sizeof(labels) - strlen(labels) - 1);
		v = (double)(what == P_OK ? st.runs - st.failures : st.failures);
		break;
	}
	prom_sample(out, names[what], labels, v);
}

void farms_prom(struct farms *fm, struct evbuffer *out)
{
	prom_family(out, "sluice_verifier_up", "gauge",
		    "1 when a farm member is in its farm's map (a standalone "
		    "verifier: not down), by verifier, farm and member");
	if (fm)
		each_check(fm, check_sample, P_UP, out);
	prom_family(out, "sluice_verifier_drained", "gauge",
		    "1 when a farm member is drained by the administrator");
	if (fm)
		each_check(fm, check_sample, P_DRAINED, out);
	prom_family(out, "sluice_verifier_response_time_seconds", "gauge",
		    "Response time of the latest check (0: none yet)");
	if (fm)
		each_check(fm, check_sample, P_RESPONSE, out);
	prom_family(out, "sluice_check_results_total", "counter",
		    "Connectivity checks, by verifier and result (counted "
		    "since the check's configuration last changed)");
	if (fm) {
		each_check(fm, check_sample, P_OK, out);
		each_check(fm, check_sample, P_FAILED, out);
	}
}

/* ---- control commands ---------------------------------------------------------------- */

/* The engine's view of C (all zero for a member without a check). */
static void status_of(struct farms *fm, const struct fcheck *c,
		      struct vstatus *st, char *hist, size_t hlen,
		      char *detail, size_t dlen)
{
	memset(st, 0, sizeof(*st));
	st->state = c->state;
	hist[0] = detail[0] = 0;
	if (c->sub < 0 || vengine_status(fm->v, c->sub, st) < 0) {
		st->state = c->state;
		return;
	}
	size_t k = 0;
	for (unsigned i = 0; i < st->nhistory && k + 1 < hlen; i++)
		hist[k++] = st->history[i] == VR_OK ? '+' : '-';
	hist[k] = 0;
	snprintf(detail, dlen, "%s", st->detail ? st->detail : "");
}

/* Sets into O the members of C's change time: "last_change": epoch
 * seconds or null, "last_change_s", "downtime_s" (HAProxy's lastchg,
 * downtime), "changes". */
static void change_json(const struct fcheck *c, int64_t now, json_t *o)
{
	int64_t s = vchange_lastchg_s(&c->chg, now);

	json_object_set_new(o, "last_change", s < 0 ? json_null()
		: json_integer((json_int_t)(c->chg.changed_ms / 1000)));
	json_object_set_new(o, "last_change_s",
			    s < 0 ? json_null() : json_integer((json_int_t)s));
	json_object_set_new(o, "downtime_s",
			    json_real(vchange_downtime_ms(&c->chg, now) / 1000.0));
	json_object_set_new(o, "changes",
			    json_integer((json_int_t)c->chg.changes));
}

/* Appends verifier C to LIST as an object (sluicectl(8), verifiers). */
static void verifier_line(struct farms *fm, const struct fcheck *c,
			  json_t *list)
{
	struct vstatus st;
	char hist[VERIFY_HISTORY + 1], detail[200];
	status_of(fm, c, &st, hist, sizeof(hist), detail, sizeof(detail));
	bool has = c->sub >= 0 && st.runs > 0;
	json_t *o = json_pack(
	    "{s:o,s:o,s:o,s:s,s:o,s:s,s:o,s:i,s:f,s:b,s:o,s:o,s:I,s:I}",
	    "name", json_text(c->name), "farm",
	    json_text(c->farm ? c->farm->f.name : NULL), "member",
	    json_text(c->farm ? c->farm->f.members[c->idx].name : NULL),
	    "method", verify_method_name(c->method), "target",
	    json_text(c->target), "state", vstate_name(st.state), "last",
	    json_text(has ? vresult_name(st.last) : NULL), "http_status",
	    st.http_status, "response_ms", st.last_us / 1000.0, "slow",
	    st.slow, "detail", json_text(detail), "history", json_text(hist),
	    "runs", (json_int_t)st.runs, "failures", (json_int_t)st.failures);
	if (o)
		change_json(c, wall_ms(), o);
	json_array_append_new(list, o);
}

static int cmd_verifiers(struct farms *fm, struct evbuffer *out)
{
	json_t *list = json_array();
	for (size_t i = 0; i < fm->nfarms; i++)
		for (size_t j = 0; j < fm->farms[i]->f.nmembers; j++) {
			const struct fcheck *c = fm->farms[i]->m[j];
			if (c->sub < 0 && c->farm && !c->farm->f.has_verify)
				continue;
			verifier_line(fm, c, list);
		}
	for (size_t i = 0; i < fm->nvers; i++)
		verifier_line(fm, fm->vers[i], list);
	json_list_out(out, "verifiers", list);
	return 0;
}

static const char *member_state(const struct fcheck *c)
{
	if (c->farm && !c->farm->f.has_verify)
		return "unchecked";
	return vstate_name(c->state);
}

static void addr_port(char *buf, size_t len, int family, uint32_t v4,
		      u128 v6, uint16_t port)
{
	char a[INET6_ADDRSTRLEN];
	format_addr(family, v4, v6, a, sizeof(a));
	if (family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

/* The port sessions to member J of farm FA go to: its own, else the first
 * publish's (its to-port, else its port); 0 without either. */
static uint16_t member_port(const struct ffarm *fa, size_t j)
{
	const struct farm_member *m = &fa->f.members[j];
	if (m->port)
		return m->port;
	if (!fa->npubs)
		return 0;
	return fa->pubs[0].to_port ? fa->pubs[0].to_port : fa->pubs[0].port;
}

static const char *const balance_names[] = {"source-hash", "round-robin"};

/* Farm FA as an object for `farm list --json`. */
static json_t *farm_json(const struct ffarm *fa)
{
	char ap[80];
	json_t *pubs = json_array(), *members = json_array();
	for (size_t p = 0; p < fa->npubs; p++) {
		const struct publish *pb = &fa->pubs[p];
		addr_port(ap, sizeof(ap), pb->family, pb->v4, pb->v6, pb->port);
		json_array_append_new(pubs, json_pack(
		    "{s:o,s:s,s:s}", "name", json_text(pb->name), "proto",
		    transport_name(pb->tr), "address", ap));
	}
	for (size_t j = 0; j < fa->f.nmembers; j++) {
		const struct farm_member *m = &fa->f.members[j];
		const struct fcheck *c = fa->m[j];
		addr_port(ap, sizeof(ap), m->family, m->v4, m->v6,
			  member_port(fa, j));
		json_array_append_new(members, json_pack(
		    "{s:o,s:s,s:s,s:b,s:b}", "name", json_text(m->name),
		    "address", ap, "check", member_state(c), "drained",
		    c->drained, "in_map", in_map(c->farm, c->idx)));
	}
	return json_pack("{s:o,s:s,s:s,s:o,s:o,s:o}", "farm",
			 json_text(fa->f.name), "balance",
			 balance_names[fa->f.balance], "on_down",
			 fa->f.on_down == ONDOWN_FLUSH ? "flush" : "keep",
			 "sorry", json_text(fa->f.sorry), "publishes", pubs,
			 "members", members);
}

static int cmd_farm_list(struct farms *fm, struct evbuffer *out)
{
	json_t *list = json_array();
	for (size_t i = 0; i < fm->nfarms; i++)
		json_array_append_new(list, farm_json(fm->farms[i]));
	json_list_out(out, "farms", list);
	return 0;
}

/* The member named by ARG (NAME or FARM/NAME); NULL with a message. */
static struct fcheck *find_member(struct farms *fm, const char *arg,
				  struct evbuffer *out)
{
	const char *slash = strchr(arg, '/');
	struct fcheck *hit = NULL;
	int n = 0;
	for (size_t i = 0; i < fm->nfarms; i++)
		for (size_t j = 0; j < fm->farms[i]->f.nmembers; j++) {
			struct fcheck *c = fm->farms[i]->m[j];
			bool match = slash ? !strcmp(c->name, arg)
					   : !strcmp(fm->farms[i]->f.members[j].name,
						     arg);
			if (match) {
				hit = c;
				n++;
			}
		}
	if (n == 1)
		return hit;
	if (n)
		evbuffer_add_printf(out, "member '%s' is in several farms: say "
				    "FARM/%s", arg, arg);
	else
		evbuffer_add_printf(out, "no farm member '%s'", arg);
	return NULL;
}

static int cmd_farm(struct farms *fm, int argc, char **argv,
		    struct evbuffer *out)
{
	if (argc < 2 || !strcmp(argv[1], "list"))
		return cmd_farm_list(fm, out);
	bool drain = !strcmp(argv[1], "drain");
	if ((!drain && strcmp(argv[1], "resume")) || argc != 3) {
		evbuffer_add_printf(out, "usage: farm [list | drain MEMBER | "
				    "resume MEMBER]");
		return -1;
	}
	struct fcheck *c = find_member(fm, argv[2], out);
	if (!c)
		return -1;
	bool *was = farm_map(c->farm);
	c->drained = drain;
	drains_persist(fm);
	log_info("farm %s: member %s %s", c->farm->f.name,
		 c->farm->f.members[c->idx].name, drain ? "drained" : "resumed");
	char *err = NULL;
	bool changed = false;
	for (size_t i = 0; i < c->farm->f.nmembers; i++)
		changed |= in_map(c->farm, i) != was[i];
	free(was);
	if (changed && farm_apply(fm, c->farm, &err) < 0) {
		evbuffer_add_printf(out, "%s", err ? err : "nft failed");
		free(err);
		return -1;
	}
	json_object_out(out, "{s:o,s:b,s:b}", "member", json_text(c->name),
			"drained", drain, "in_map", in_map(c->farm, c->idx));
	return 0;
}

int farms_command(struct farms *fm, int argc, char **argv,
		  struct evbuffer *out)
{
	if (!fm) {
		evbuffer_add_printf(out, "farms are not running");
		return -1;
	}
	if (argc >= 1 && !strcmp(argv[0], "verifiers"))
		return cmd_verifiers(fm, out);
	if (argc >= 1 && !strcmp(argv[0], "farm"))
		return cmd_farm(fm, argc, argv, out);
	evbuffer_add_printf(out, "unknown command '%s'", argc ? argv[0] : "");
	return -1;
}
