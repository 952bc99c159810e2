/*
 * commands.c — what the control socket answers. One function a command; the
 * table at the end gives names and usage. Text for people, --json for
 * programs; both built here from the same data.
 */
#include "sluiced/daemon.h"
#include "common/util.h"
#include "stats/json.h"
#include "decide/sessions.h"
#include "identity/iptable.h"
#include "kernel/conntrack.h"
#include "queue/worker.h"
#include "sluiced/farms.h"
#include "stats/alerts.h"
#include "stats/counters.h"
#include "stats/table.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
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
	if (rid == RULE_ID_CREATION)
		return "(creation)";
	if (rid == RULE_ID_FAILOPEN)
		return "(fail-open)";
	if (rid == RULE_ID_PUBLISHED)
		return "(published)";
	if (rid == RULE_ID_MAX && g->policy->nrules > RULE_ID_MAX)
		return "(rule beyond 16382)";
	if (rid - 1 < g->policy->nrules)
		return g->policy->rules[rid - 1]->name;
	snprintf(buf, len, "(rule %u)", rid);
	return buf;
}

/* ---- status -------------------------------------------------------------- */

static int cmd_status(struct daemon *d, int argc, char **argv, bool json,
		      struct evbuffer *out)
{
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
	if (json) {
		evbuffer_add_printf(out, "{\"version\": \"%s\", \"uptime_s\": %ld, "
				    "\"policy\": ", SLUICE_VERSION, up);
		json_put_string(out, d->config_path);
		evbuffer_add_printf(
		    out,
		    ", \"generation\": %llu, \"rules\": %zu, \"queue_mode\": "
		    "\"%s\", \"queues\": %zu, \"queue_num\": %u, "
		    "\"fail\": \"%s\", \"packets_queued\": %llu, "
		    "\"pending\": %zu, \"slots_available\": %zu, "
		    "\"reserved_local_available\": %zu, \"identities\": %zu, "
		    "\"sessions_remembered\": %zu, \"reloads\": %llu, "
		    "\"reload_failures\": %llu, \"revoked\": %llu, "
		    "\"timed_out\": %llu, \"slots_full\": %llu, "
		    "\"source_full\": %llu, \"reserved_local_used\": %llu}\n",
		    (unsigned long long)g->id, g->policy->nrules, mode,
		    d->nworkers, g->policy->queue.num,
		    g->policy->queue.fail == FAIL_OPEN ? "open" : "closed",
		    (unsigned long long)packets, pending, free_general,
		    free_local, iptable_count(d->ids),
		    sessions_count(d->sessions), (unsigned long long)d->reloads,
		    (unsigned long long)d->reload_failures,
		    (unsigned long long)d->revoked,
		    (unsigned long long)timed_out,
		    (unsigned long long)slots_full,
		    (unsigned long long)source_full,
		    (unsigned long long)reserved_used);
	} else {
		evbuffer_add_printf(
		    out,
		    "sluiced %s, up %ldd %02ld:%02ld:%02ld\n"
		    "policy:      %s (generation %llu, %zu rules)\n"
		    "kernel:      %s, %zu queue(s) from %u, fail %s\n"
		    "queued:      %llu packets\n"
		    "decisions:   %zu pending, %zu slots available, %zu "
		    "reserved-local available\n"
		    "             %llu timed out, %llu refused (slots full), "
		    "%llu refused (per-source cap)\n"
		    "identities:  %zu address entries\n"
		    "sessions:    %zu remembered\n"
		    "reloads:     %llu (%llu failed), %llu sessions revoked\n",
		    SLUICE_VERSION, up / 86400, up / 3600 % 24, up / 60 % 60,
		    up % 60, d->config_path, (unsigned long long)g->id,
		    g->policy->nrules, mode, d->nworkers, g->policy->queue.num,
		    g->policy->queue.fail == FAIL_OPEN ? "open" : "closed",
		    (unsigned long long)packets, pending, free_general,
		    free_local, (unsigned long long)timed_out,
		    (unsigned long long)slots_full,
		    (unsigned long long)source_full, iptable_count(d->ids),
		    sessions_count(d->sessions), (unsigned long long)d->reloads,
		    (unsigned long long)d->reload_failures,
		    (unsigned long long)d->revoked);
	}
	gen_unref(g);
	return 0;
}

/* ---- sessions ------------------------------------------------------------ */

static int cmd_sessions(struct daemon *d, int argc, char **argv, bool json,
			struct evbuffer *out)
{
	struct ct_list l;
	if (ct_dump(&l) < 0) {
		evbuffer_add_printf(out, "cannot read conntrack");
		return -1;
	}
	struct gen *g = current(d);
	int n = 0;
	if (json)
		evbuffer_add_printf(out, "[");
	else
		evbuffer_add_printf(out, "%-48s %-11s %6s  %-24s %-12s %s\n",
				    "session", "state", "ttl", "rule", "user",
				    "name");
	for (size_t i = 0; i < l.n; i++) {
		const struct ct_entry *e = &l.v[i];
		if ((e->mark & MARK_DECISION) != MARK_ALLOW)
			continue;
		uint32_t rid = (e->mark >> MARK_RULE_SHIFT) & MARK_RULE_MASK;
		char kb[128], rb[32];
		session_key_format(&e->key, kb, sizeof(kb));
		struct session_info si;
		sessions_get(d->sessions, &e->key, &si);
		const char *state = e->key.proto == 6 ? ct_tcp_state_name(e->tcp_state) : "-";
		const char *rn = rule_name(g, rid, rb, sizeof(rb));
		if (json) {
			evbuffer_add_printf(out, "%s{\"session\": ", n ? ", " : "");
			json_put_string(out, kb);
			evbuffer_add_printf(out, ", \"state\": \"%s\", \"ttl\": %u, "
					    "\"rule_id\": %u, \"rule\": ", state,
					    e->timeout, rid);
			json_put_string(out, rn);
			evbuffer_add_printf(out, ", \"user\": ");
			if (si.user)
				json_put_string(out, si.user);
			else
				evbuffer_add_printf(out, "null");
			evbuffer_add_printf(out, ", \"name\": ");
			if (si.name)
				json_put_string(out, si.name);
			else
				evbuffer_add_printf(out, "null");
			/* the facts of the decision, as revocation sees them */
			evbuffer_add_printf(out, ", \"identity\": \"%s\", "
					    "\"groups\": ",
					    id_source_name(si.source));
			if (si.groups_unknown) {
				evbuffer_add_printf(out, "null");
			} else {
				evbuffer_add_printf(out, "[");
				for (size_t k = 0; k < si.ngroups; k++) {
					evbuffer_add_printf(out, k ? ", " : "");
					json_put_string(out, si.groups[k]);
				}
				evbuffer_add_printf(out, "]");
			}
			evbuffer_add_printf(out, "}");
		} else {
			evbuffer_add_printf(out, "%-48s %-11s %6u  %-24s %-12s %s\n",
					    kb, state, e->timeout, rn,
					    si.user ? si.user : "-",
					    si.name ? si.name : "-");
		}
		session_info_clear(&si);
		n++;
	}
	if (json)
		evbuffer_add_printf(out, "]\n");
	else
		evbuffer_add_printf(out, "%d sessions\n", n);
	gen_unref(g);
	ct_list_free(&l);
	return 0;
}

/* ---- pending ---------------------------------------------------------------- */

struct pending_ctx {
	struct evbuffer *out;
	bool json;
	int n;
	int worker;
	struct gen *g;
};

static void pending_one(void *arg, const struct pending_info *pi)
{
	struct pending_ctx *c = arg;
	char kb[128], rb[32];
	session_key_format(pi->key, kb, sizeof(kb));
	const char *rn = rule_name(c->g, rule_mark_id(pi->rule), rb, sizeof(rb));
	char waits[64] = "";
	if (pi->waiting & NEED_IDENTITY)
		strcat(waits, "identity ");
	if (pi->waiting & NEED_NAME)
		strcat(waits, "name ");
	if (pi->waiting & NEED_FILTER)
		strcat(waits, "filter ");
	if (waits[0])
		waits[strlen(waits) - 1] = '\0';
	if (c->json) {
		evbuffer_add_printf(c->out, "%s{\"session\": ", c->n ? ", " : "");
		json_put_string(c->out, kb);
		evbuffer_add_printf(c->out, ", \"age_ms\": %llu, \"waiting\": ",
				    (unsigned long long)(pi->age_ns / 1000000));
		json_put_string(c->out, waits);
		evbuffer_add_printf(c->out, ", \"rule\": ");
		json_put_string(c->out, rn);
		evbuffer_add_printf(c->out, ", \"local\": %s, \"packets\": %d, "
				    "\"queue\": %d}", pi->local ? "true" : "false",
				    pi->packets, c->worker);
	} else {
		evbuffer_add_printf(c->out, "%-48s %7llums  %-16s %-24s%s\n", kb,
				    (unsigned long long)(pi->age_ns / 1000000),
				    waits, rn, pi->local ? " (local)" : "");
	}
	c->n++;
}

static int cmd_pending(struct daemon *d, int argc, char **argv, bool json,
		       struct evbuffer *out)
{
	struct pending_ctx c = {out, json, 0, 0, current(d)};
	if (json)
		evbuffer_add_printf(out, "[");
	else
		evbuffer_add_printf(out, "%-48s %9s  %-16s %s\n", "session", "age",
				    "waiting for", "rule");
	for (size_t i = 0; i < d->nworkers; i++) {
		c.worker = (int)i;
		pthread_mutex_lock(&d->workers[i]->lock);
		decider_each_pending(d->workers[i]->dec, pending_one, &c);
		pthread_mutex_unlock(&d->workers[i]->lock);
	}
	evbuffer_add_printf(out, json ? "]\n" : "%d pending\n", c.n);
	gen_unref(c.g);
	return 0;
}

/* ---- reload ---------------------------------------------------------------------- */

static int cmd_reload(struct daemon *d, int argc, char **argv, bool json,
		      struct evbuffer *out)
{
	return daemon_reload(d, out);
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

struct id_ctx {
	struct evbuffer *out;
	bool json;
	int n;
};

static void identity_one(void *arg, int family, const uint8_t *addr,
			 const struct identity *id)
{
	struct id_ctx *c = arg;
	char ab[INET6_ADDRSTRLEN];
	inet_ntop(family, addr, ab, sizeof(ab));
	long left = (long)(id->expires - time(NULL));
	if (c->json) {
		evbuffer_add_printf(c->out, "%s{\"address\": \"%s\", \"user\": ",
				    c->n ? ", " : "", ab);
		json_put_string(c->out, id->user);
		evbuffer_add_printf(c->out, ", \"groups\": [");
		for (size_t i = 0; i < id->ngroups; i++) {
			evbuffer_add_printf(c->out, i ? ", " : "");
			json_put_string(c->out, id->groups[i]);
		}
		evbuffer_add_printf(c->out, "], \"expires_in_s\": %ld}", left);
	} else {
		evbuffer_add_printf(c->out, "%-40s %-16s %6lds  ", ab, id->user,
				    left);
		for (size_t i = 0; i < id->ngroups; i++)
			evbuffer_add_printf(c->out, "%s%s", i ? "," : "",
					    id->groups[i]);
		evbuffer_add_printf(c->out, "\n");
	}
	c->n++;
}

static int cmd_identity(struct daemon *d, int argc, char **argv, bool json,
			struct evbuffer *out)
{
	const char *usage = "usage: identity add ADDR USER [--groups A,B] "
			    "[--ttl SECONDS] | del ADDR | list";
	if (argc < 2 || strcmp(argv[1], "list") == 0) {
		struct id_ctx c = {out, json, 0};
		if (json)
			evbuffer_add_printf(out, "[");
		iptable_each(d->ids, identity_one, &c);
		evbuffer_add_printf(out, json ? "]\n" : "%d identities\n", c.n);
		return 0;
	}
	int family;
	uint8_t addr[16];
	if (argc < 3 || parse_ip(argv[2], &family, addr) < 0) {
		evbuffer_add_printf(out, "%s", usage);
		return -1;
	}
	if (strcmp(argv[1], "del") == 0) {
		if (!iptable_del(d->ids, family, addr)) {
			evbuffer_add_printf(out, "no identity for %s", argv[2]);
			return -1;
		}
		evbuffer_add_printf(out, "removed %s\n", argv[2]);
		return 0;
	}
	if (strcmp(argv[1], "add") != 0 || argc < 4) {
		evbuffer_add_printf(out, "%s", usage);
		return -1;
	}
	struct gen *g = current(d);
	uint32_t ttl = g->policy->identity.ttl_s;
	gen_unref(g);
	char **groups = NULL;
	size_t ng = 0;
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v <= 0 || v > 30L * 86400) {
				evbuffer_add_printf(out, "bad --ttl '%s'", argv[i]);
				goto bad;
			}
			ttl = (uint32_t)v;
		} else if (strcmp(argv[i], "--groups") == 0 && i + 1 < argc) {
			char *save = NULL, *copy = xstrdup(argv[++i]);
			for (char *t = strtok_r(copy, ",", &save); t;
			     t = strtok_r(NULL, ",", &save)) {
				char *s = xstrdup(t);
				VEC_PUSH(groups, ng, s);
			}
			free(copy);
		} else {
			evbuffer_add_printf(out, "%s", usage);
			goto bad;
		}
	}
	iptable_set(d->ids, family, addr, argv[3], (const char *const *)groups,
		    ng, ttl);
	evbuffer_add_printf(out, "%s is %s for %us\n", argv[2], argv[3], ttl);
	for (size_t i = 0; i < ng; i++)
		free(groups[i]);
	free(groups);
	return 0;
bad:
	for (size_t i = 0; i < ng; i++)
		free(groups[i]);
	free(groups);
	return -1;
}

/* ---- creations ---------------------------------------------------------------------- */

static int cmd_creations(struct daemon *d, int argc, char **argv, bool json,
			 struct evbuffer *out)
{
	char *err = NULL;
	if (argc < 2 || strcmp(argv[1], "list") == 0) {
		char *js = creation_list_json(&d->kopts, &err);
		if (!js) {
			evbuffer_add_printf(out, "%s", err ? err : "cannot list");
			free(err);
			return -1;
		}
		evbuffer_add_printf(out, "%s\n", js);
		free(js);
		return 0;
	}
	/* creations add|del ADDR tcp|udp PORT [--from SRC] [--timeout S] */
	if (argc < 5 || (strcmp(argv[1], "add") && strcmp(argv[1], "del"))) {
		evbuffer_add_printf(out, "usage: creations add|del ADDR tcp|udp "
				    "PORT [--from SRC] [--timeout SECONDS] | list");
		return -1;
	}
	int family;
	uint8_t addr[16];
	char *end;
	long port = strtol(argv[4], &end, 10);
	if (parse_ip(argv[2], &family, addr) < 0 ||
	    (strcmp(argv[3], "tcp") && strcmp(argv[3], "udp")) || *end ||
	    port < 1 || port > 65535) {
		evbuffer_add_printf(out, "bad creation element '%s %s %s'",
				    argv[2], argv[3], argv[4]);
		return -1;
	}
	const char *from = NULL;
	long timeout = 60;
	for (int i = 5; i < argc; i += 2) {
		if (i + 1 >= argc) {
			evbuffer_add_printf(out, "%s needs a value", argv[i]);
			return -1;
		}
		if (strcmp(argv[i], "--from") == 0) {
			from = argv[i + 1];
		} else if (strcmp(argv[i], "--timeout") == 0) {
			timeout = strtol(argv[i + 1], &end, 10);
			if (*end || timeout < 1 || timeout > 30L * 86400) {
				evbuffer_add_printf(out, "bad --timeout '%s' "
						    "(1..2592000 seconds)",
						    argv[i + 1]);
				return -1;
			}
		} else {
			evbuffer_add_printf(out, "unknown option '%s'", argv[i]);
			return -1;
		}
	}
	int rc = strcmp(argv[1], "add") == 0
		     ? creation_add(&d->kopts, family, argv[2], argv[3],
				    (uint16_t)port, from, (uint32_t)timeout, &err)
		     : creation_del(&d->kopts, family, argv[2], argv[3],
				    (uint16_t)port, from, &err);
	if (rc < 0) {
		evbuffer_add_printf(out, "%s", err ? err : "failed");
		free(err);
		return -1;
	}
	evbuffer_add_printf(out, "%s\n", strcmp(argv[1], "add") == 0 ? "added" : "removed");
	return 0;
}

/* ---- counters, alerts, verifiers, farms ------------------------------------ */

static int cmd_counters(struct daemon *d, int argc, char **argv, bool json,
			struct evbuffer *out)
{
	struct stats_snapshot s;
	daemon_snapshot(d, &s);
	if (json)
		stats_render_json(&s, d->alerts, out);
	else
		stats_render_text(&s, d->alerts, out);
	return 0;
}

static int cmd_alerts(struct daemon *d, int argc, char **argv, bool json,
		      struct evbuffer *out)
{
	if (argc >= 2 && strcmp(argv[1], "reset") == 0) {
		if (alerts_reset(d->alerts, argc >= 3 ? argv[2] : NULL,
				 (int64_t)mono_ms()) < 0) {
			evbuffer_add_printf(out, "no alert '%s'", argv[2]);
			return -1;
		}
		evbuffer_add_printf(out, "reset\n");
		return 0;
	}
	alerts_list(d->alerts, json, out);
	return 0;
}

static int cmd_farms(struct daemon *d, int argc, char **argv, bool json,
		     struct evbuffer *out)
{
	return farms_command(d->farms, argc, argv, json, out);
}

static const struct {
	const char *name;
	int (*fn)(struct daemon *d, int argc, char **argv, bool json,
		  struct evbuffer *out);
} commands[] = {
    {"status", cmd_status},	{"sessions", cmd_sessions},
    {"pending", cmd_pending},	{"reload", cmd_reload},
    {"identity", cmd_identity}, {"creations", cmd_creations},
    {"counters", cmd_counters}, {"alerts", cmd_alerts},
    {"verifiers", cmd_farms},	{"farm", cmd_farms},
};

int daemon_command(void *arg, int argc, char **argv, bool json,
		   struct evbuffer *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			return commands[i].fn(arg, argc, argv, json, out);
	evbuffer_add_printf(out, "unknown command '%s'", argv[0]);
	return -1;
}
