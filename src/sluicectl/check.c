/*
 * check.c — `sluicectl check`: validate a policy, and evaluate one session
 * offline with the same engine the service uses ("what if").
 */
#include "sluicectl/sluicectl.h"
#include "sluicectl/hostcheck.h"
#include "policy/policy.h"
#include "common/log.h"
#include "common/util.h"
#include "stats/jsonstr.h"

#include <getopt.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

struct check_opts {
	const char *config, *flow, *user, *groups, *time, *filter;
	const char *in, *out; /* --in / --out: the interfaces, or NULL */
	const char **names; /* every --name, in order (owned array) */
	size_t nnames;
	bool anonymous, local_src, local_dst, json;
	bool host; /* --host: also judge this host's own ways in */
};

static const char *const need_names[] = {"identity", "name", "filter"};

/* Prints V (the reference is taken) on stdout as one line of JSON. */
static void print_json(json_t *v)
{
	struct evbuffer *b = evbuffer_new();
	json_value_out(b, v);
	fwrite(evbuffer_pullup(b, -1), 1, evbuffer_get_length(b), stdout);
	evbuffer_free(b);
}

/* The decision D as the members verdict, rule, [name], needs of a new
 * object (--json); the network side adds to it (network_json). */
static json_t *decision_json(const struct policy *p, const struct decision *d)
{
	const struct rule *r = d->rule >= 0 ? p->rules[d->rule] : NULL;
	json_t *needs = json_array();
	for (int i = 0; i < 3; i++)
		if (d->needs & (1u << i))
			json_array_append_new(needs, json_string(need_names[i]));
	json_t *o = json_pack("{s:s,s:o}", "verdict", verdict_name(d->verdict),
			      "rule", json_text(r ? r->name : NULL));
	if (d->name)
		json_object_set_new(o, "name", json_text(d->name));
	json_object_set_new(o, "needs", needs);
	return o;
}

static void print_decision(const struct policy *p, const struct decision *d,
			   int minute)
{
	const struct rule *r = d->rule >= 0 ? p->rules[d->rule] : NULL;
	static const char *const days[] = {"mon", "tue", "wed", "thu",
					   "fri", "sat", "sun"};
	printf("verdict: %s\n", verdict_name(d->verdict));
	if (r)
		printf("rule:    %s (%s:%d:%d)\n", r->name, r->loc.file,
		       r->loc.line, r->loc.col);
	else
		printf("rule:    none (no rule allows it: default deny)\n");
	if (d->name)
		printf("name:    %s (matched the rule's domain set)\n", d->name);
	if (d->needs) {
		printf("needs:  ");
		for (int i = 0; i < 3; i++)
			if (d->needs & (1u << i))
				printf(" %s", need_names[i]);
		if (d->filter)
			printf(" (filter %s)", d->filter);
		printf("\n");
	}
	printf("time:    %s %02d:%02d\n", days[minute / 1440],
	       minute % 1440 / 60, minute % 60);
}

/* The network F's source (DST false) or destination is in, with its
 * interfaces, as text: "clients (on cli0)", "external". */
static void print_side(const struct policy *p, const struct flow *f, bool dst)
{
	const struct netset *n = policy_network_of(p, f, dst);
	printf("%s", n ? n->name : "external");
	for (size_t i = 0; n && i < n->nifaces; i++)
		printf("%s%s", i ? ", " : " (on ", n->ifaces[i]);
	if (n && n->nifaces)
		printf(")");
	else if (!n)
		printf(" (beyond the interfaces of no network)");
	printf("\n");
}

static json_t *json_side(const struct policy *p, const struct flow *f,
			 bool dst, const char *iface)
{
	const struct netset *n = policy_network_of(p, f, dst);
	json_t *ifs = json_array();
	for (size_t i = 0; n && i < n->nifaces; i++)
		json_array_append_new(ifs, json_text(n->ifaces[i]));
	return json_pack("{s:o,s:o,s:o}", "network",
			 json_text(n ? n->name : "external"), "interfaces", ifs,
			 "interface", json_text(iface));
}

/* The nat rule NR (NULL: routed) as an object, or JSON null. */
static json_t *nat_json(const struct natrule *nr)
{
	if (!nr)
		return json_null();
	char via[64] = "", at[512];
	if (nr->via)
		format_addr(nr->family, nr->v4, nr->v6, via, sizeof(via));
	snprintf(at, sizeof(at), "%s:%d:%d", nr->loc.file, nr->loc.line,
		 nr->loc.col);
	return json_pack("{s:o,s:o,s:s,s:o,s:o}", "source",
			 json_text(nr->src->name), "destination",
			 json_text(nr->dst ? nr->dst->name : "external"), "type",
			 nr->via ? "snat" : "masquerade", "address",
			 json_text(nr->via ? via : NULL), "at", json_text(at));
}

/* The network side of the what-if into the object O decision_json()
 * began (see print_network). */
static void network_json(const struct policy *p, const struct flow *f,
			 const struct check_opts *o, json_t *obj)
{
	const struct natrule *nr = f->src_local || f->dst_local
					   ? NULL
					   : policy_nat_match(p, f, o->out);
	json_object_set_new(obj, "from", json_side(p, f, false, o->in));
	json_object_set_new(obj, "to", json_side(p, f, true, o->out));
	if (o->in)
		json_object_set_new(obj, "spoofed", json_boolean(
		    !f->src_local && policy_spoofed(p, f, o->in)));
	json_object_set_new(obj, "nat", nat_json(nr));
}

/*
 * The network side of the what-if: the networks and interfaces of both
 * ends, the spoofing verdict when --in names the arriving interface, and
 * the nat rule that translates the session (matched by --out when given,
 * else by address), or routing, as text lines.
 */
static void print_network(const struct policy *p, const struct flow *f,
			  const struct check_opts *o)
{
	const struct natrule *nr = f->src_local || f->dst_local
					   ? NULL
					   : policy_nat_match(p, f, o->out);
	bool spoofed = o->in && !f->src_local && policy_spoofed(p, f, o->in);
	char via[64] = "";
	if (nr && nr->via)
		format_addr(nr->family, nr->v4, nr->v6, via, sizeof(via));
	printf("from:    ");
	print_side(p, f, false);
	printf("to:      ");
	print_side(p, f, true);
	if (o->in)
		printf("spoofed: %s\n",
		       spoofed ? "yes: the source does not belong on this "
				 "interface (dropped before the rules)"
			       : "no");
	if (!nr)
		printf("nat:     none (routed)\n");
	else if (nr->via)
		printf("nat:     snat to %s (nat %s to %s via %s, %s:%d:%d)\n",
		       via, nr->src->name, nr->dst ? nr->dst->name : "external",
		       via, nr->loc.file, nr->loc.line, nr->loc.col);
	else
		printf("nat:     masquerade: the gateway's address on the "
		       "outgoing interface (nat %s to %s, %s:%d:%d)\n",
		       nr->src->name, nr->dst ? nr->dst->name : "external",
		       nr->loc.file, nr->loc.line, nr->loc.col);
}

/* Builds the facts from the options; returns -1 on a usage error. */
static int build_facts(const struct check_opts *o, struct facts *fx,
		       char ***groups_out)
{
	memset(fx, 0, sizeof(*fx));
	*groups_out = NULL;
	if (o->nnames) {
		/* the destination's names, as the service carries them: a
		 * domain set matches when any of them is in it; "-" alone
		 * says the destination has no name */
		bool none = strcmp(o->names[0], "-") == 0;
		for (size_t i = 0; i < o->nnames; i++)
			if ((strcmp(o->names[i], "-") == 0) != none ||
			    (none && o->nnames > 1)) {
				fprintf(stderr, "sluicectl check: --name - "
						"(no name) excludes other "
						"names\n");
				return -1;
			}
		fx->known |= NEED_NAME;
		fx->names = none ? NULL : o->names;
		fx->nnames = none ? 0 : o->nnames;
	}
	if (o->groups && !o->user) {
		fprintf(stderr, "sluicectl check: --groups needs --user\n");
		return -1;
	}
	if (o->user && o->anonymous) {
		fprintf(stderr, "sluicectl check: --user and --anonymous "
				"exclude each other\n");
		return -1;
	}
	if (o->user || o->anonymous) {
		fx->known |= NEED_IDENTITY;
		fx->user = o->user;
	}
	if (o->groups) {
		char *copy = xstrdup(o->groups), *save = NULL;
		char **v = NULL;
		size_t n = 0;
		for (char *g = strtok_r(copy, ",", &save); g;
		     g = strtok_r(NULL, ",", &save)) {
			char *s = xstrdup(g);
			VEC_PUSH(v, n, s);
		}
		free(copy);
		VEC_PUSH(v, n, NULL);
		fx->groups = (const char *const *)v;
		fx->ngroups = n - 1;
		*groups_out = v;
	}
	if (o->filter) {
		if (strcmp(o->filter, "ok") && strcmp(o->filter, "reject")) {
			fprintf(stderr, "sluicectl check: --filter takes ok or "
					"reject\n");
			return -1;
		}
		fx->known |= NEED_FILTER;
		fx->filter_ok = strcmp(o->filter, "ok") == 0;
	}
	return 0;
}

static int evaluate(const struct policy *p, const struct check_opts *o)
{
	struct flow f;
	char *err;
	if (flow_parse(o->flow, &f, &err) < 0) {
		fprintf(stderr, "sluicectl check: --flow: %s\n", err);
		free(err);
		return EXIT_USAGE;
	}
	int minute = week_minute_now();
	if (o->time && (minute = parse_week_time(o->time)) < 0) {
		fprintf(stderr, "sluicectl check: --time '%s': expected 'DAY "
				"HH:MM' (e.g. 'mon 09:30')\n", o->time);
		return EXIT_USAGE;
	}
	f.minute = (uint16_t)minute;
	f.src_local = o->local_src;
	f.dst_local = o->local_dst;

	struct facts fx;
	char **groups;
	if (build_facts(o, &fx, &groups) < 0)
		return EXIT_USAGE;
	struct engine *e = engine_build(p);
	struct decision d;
	engine_eval(e, &f, &fx, &d);
	engine_free(e);
	if (o->json) {
		json_t *obj = decision_json(p, &d);
		network_json(p, &f, o, obj);
		print_json(obj);
	} else {
		print_decision(p, &d, minute);
		print_network(p, &f, o);
	}
	for (size_t i = 0; groups && groups[i]; i++)
		free(groups[i]);
	free(groups);
	return EXIT_OK;
}

static void check_usage(void)
{
	fprintf(stderr,
		"usage: sluicectl check -c FILE [--flow 'PROTO SRC -> DST']\n"
		"         [--user NAME] [--groups A,B] [--anonymous]\n"
		"         [--name HOST ...|--name -]\n"
		"         [--time 'DAY HH:MM'] [--local] [--to-local]\n"
		"         [--filter ok|reject] [--in IFNAME] [--out IFNAME]\n"
		"         [--json]\n"
		"       sluicectl check -c FILE --host [--json]\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"flow", required_argument, NULL, 'f'},
	    {"user", required_argument, NULL, 'u'},
	    {"groups", required_argument, NULL, 'g'},
	    {"anonymous", no_argument, NULL, 'A'},
	    {"name", required_argument, NULL, 'n'},
	    {"time", required_argument, NULL, 't'},
	    {"local", no_argument, NULL, 'L'},
	    {"to-local", no_argument, NULL, 'T'},
	    {"filter", required_argument, NULL, 'F'},
	    {"json", no_argument, NULL, 'j'},
	    {"in", required_argument, NULL, 'I'},
	    {"out", required_argument, NULL, 'O'},
	    {"host", no_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct check_opts o = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'f': o.flow = optarg; break;
		case 'u': o.user = optarg; break;
		case 'g': o.groups = optarg; break;
		case 'A': o.anonymous = true; break;
		case 'n': VEC_PUSH(o.names, o.nnames, optarg); break;
		case 't': o.time = optarg; break;
		case 'L': o.local_src = true; break;
		case 'T': o.local_dst = true; break;
		case 'F': o.filter = optarg; break;
		case 'j': o.json = true; break;
		case 'I': o.in = optarg; break;
		case 'O': o.out = optarg; break;
		case 'H': o.host = true; break;
		case 'h': free(o.names); check_usage(); return EXIT_OK;
		default: free(o.names); check_usage(); return EXIT_USAGE;
		}
	}
	if (!o.config || optind != argc || (o.host && o.flow)) {
		free(o.names);
		check_usage();
		return EXIT_USAGE;
	}
	struct diags d = {0};
	struct policy *p = policy_load(o.config, &d);
	if (log_journal()) /* ExecStartPre: errors at their priority */
		diags_log(&d);
	else
		diags_print(&d, stderr);
	int rc = p ? EXIT_OK : EXIT_INVALID;
	struct host_findings h = {0};
	if (p && o.host) {
		host_check(p, &h);
		rc = h.n ? EXIT_LOCKOUT : rc;
	}
	if (p && o.flow)
		rc = evaluate(p, &o);
	else if (p && o.json && o.host)
		print_json(json_pack("{s:b,s:I,s:i,s:{s:I,s:o,s:I}}", "valid",
				     1, "rules", (json_int_t)p->nrules,
				     "warnings", d.warnings, "host",
				     "sockets", (json_int_t)h.sockets,
				     "conntrack_entries",
				     h.conntrack ? json_integer((json_int_t)
							  h.ct_entries)
						 : json_null(),
				     "lockouts", (json_int_t)h.n));
	else if (p && o.json)
		print_json(json_pack("{s:b,s:I,s:i}", "valid", 1, "rules",
				     (json_int_t)p->nrules, "warnings",
				     d.warnings));
	else if (p && o.host) {
		char ct[48] = "";
		if (h.conntrack)
			snprintf(ct, sizeof(ct), "%zu conntrack entries, ",
				 h.ct_entries);
		printf("%s: valid: %zu rules, %d warnings; this host: %zu "
		       "sockets, %s%zu way%s in that a start would cut\n",
		       o.config, p->nrules, d.warnings, h.sockets, ct, h.n,
		       h.n == 1 ? "" : "s");
	}
	else if (p)
		printf("%s: valid: %zu rules, %d warnings\n", o.config,
		       p->nrules, d.warnings);
	else if (!p && o.json)
		print_json(json_pack("{s:b,s:i}", "valid", 0, "errors",
				     d.errors));
	if (!p && log_journal())
		log_at(LOG_ERR, "%s: invalid: %d errors", o.config, d.errors);
	else if (!p)
		fprintf(stderr, "%s: invalid: %d errors\n", o.config, d.errors);
	policy_free(p);
	diags_free(&d);
	free(o.names);
	return rc;
}
