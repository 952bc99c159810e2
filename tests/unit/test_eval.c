/* test_eval.c — the design's example policy (examples/design.conf) means
 * what it says, for both the reference evaluator and the compiled engine,
 * with partial evaluation: header facts first, then the facts the lookups
 * found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

static struct policy *P;
static struct engine *E;

static int setup(void **state)
{
	struct diags d = {0};
	P = policy_load(SOURCE_ROOT "/examples/design.conf", &d);
	diags_print(&d, stderr);
	diags_free(&d);
	if (!P)
		return -1;
	E = engine_build(P);
	return 0;
}

static int teardown(void **state)
{
	engine_free(E);
	policy_free(P);
	return 0;
}

struct fx {
	const char *user;     /* identity known when user or anon */
	bool anon;
	bool nogroups;        /* the group lookup failed: groups unknown */
	const char *groups[4];
	const char *name;     /* name known when name or noname */
	bool noname;
	int filter;	      /* 0 unknown, 1 ok, -1 reject */
};

/* Evaluates FLOW at TIME with facts X in both evaluators (which must
 * agree); checks the verdict, the rule and the needs. */
static void expect(const char *flow, const char *time, const struct fx *x,
		   bool local_src, enum verdict v, const char *rule,
		   unsigned needs)
{
	struct flow f;
	char *err = NULL;
	if (flow_parse(flow, &f, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		free(err);
		fail();
	}
	f.minute = (uint16_t)parse_week_time(time);
	f.src_local = local_src;
	struct facts facts = {0};
	if (x) {
		if (x->user || x->anon) {
			facts.known |= NEED_IDENTITY;
			facts.user = x->user;
			facts.groups = x->groups;
			facts.groups_unknown = x->nogroups;
			while (x->groups[facts.ngroups])
				facts.ngroups++;
		}
		if (x->name || x->noname) {
			facts.known |= NEED_NAME;
			facts.names = &x->name;
			facts.nnames = x->name ? 1 : 0;
		}
		if (x->filter) {
			facts.known |= NEED_FILTER;
			facts.filter_ok = x->filter > 0;
		}
	}
	struct decision a, b;
	policy_eval_linear(P, &f, x ? &facts : NULL, &a);
	engine_eval(E, &f, x ? &facts : NULL, &b);
	const char *got = a.rule >= 0 ? P->rules[a.rule]->name : NULL;
	if (a.verdict != v || a.needs != needs ||
	    (rule ? !got || strcmp(got, rule) : got != NULL)) {
		fprintf(stderr, "%s at %s: got %s rule %s needs %u; wanted %s "
			"rule %s needs %u\n", flow, time,
			verdict_name(a.verdict), got ? got : "-", a.needs,
			verdict_name(v), rule ? rule : "-", needs);
		fail();
	}
	assert_int_equal(a.verdict, b.verdict);
	assert_int_equal(a.rule, b.rule);
	assert_int_equal(a.needs, b.needs);
}

static void test_netops_anywhere(void **state)
{
	const char *fl = "tcp 10.1.2.3:40000 -> 203.0.113.7:22";
	/* the first rule needs the user: the kernel cannot decide */
	expect(fl, "mon 09:00", NULL, false, VERDICT_PENDING,
	       "netops anywhere", NEED_IDENTITY);
	struct fx alice = {.user = "alice"};
	expect(fl, "sun 03:00", &alice, false, VERDICT_ALLOW,
	       "netops anywhere", 0);
	struct fx bob = {.user = "bob", .groups = {"netadmins"}};
	expect(fl, "sun 03:00", &bob, false, VERDICT_ALLOW, "netops anywhere",
	       0);
	/* someone else: no rule allows ssh out */
	struct fx carol = {.user = "carol", .groups = {"staff"}};
	expect(fl, "mon 09:00", &carol, false, VERDICT_DENY, NULL, 0);
	/* unknown user never matches a users clause */
	struct fx anon = {.anon = true};
	expect(fl, "mon 09:00", &anon, false, VERDICT_DENY, NULL, 0);
	/* from outside `internal` the users rule is not even considered */
	expect("tcp 192.0.2.1:40000 -> 203.0.113.7:22", "mon 09:00", NULL,
	       false, VERDICT_DENY, NULL, 0);
}

static void test_staff_web(void **state)
{
	const char *fl = "tcp 10.1.2.3:40000 -> 203.0.113.7:443";
	struct fx carol = {.user = "carol", .groups = {"staff"}};
	/* identity known, the name not yet: the work_sites rule needs it */
	expect(fl, "mon 09:30", &carol, false, VERDICT_PENDING, "staff web",
	       NEED_NAME);
	struct fx www = {.user = "carol", .groups = {"staff"},
			 .name = "www.example.com"};
	expect(fl, "mon 09:30", &www, false, VERDICT_ALLOW, "staff web", 0);
	struct fx apex = {.user = "carol", .groups = {"staff"},
			  .name = "Example.COM."};
	expect(fl, "fri 17:59", &apex, false, VERDICT_ALLOW, "staff web", 0);
	struct fx intra = {.user = "carol", .groups = {"staff"},
			   .name = "intranet.corp"};
	expect(fl, "mon 09:30", &intra, false, VERDICT_ALLOW, "staff web", 0);
	struct fx other = {.user = "carol", .groups = {"staff"},
			   .name = "example.com.evil.net"};
	expect(fl, "mon 09:30", &other, false, VERDICT_DENY, NULL, 0);
	struct fx noname = {.user = "carol", .groups = {"staff"},
			    .noname = true};
	expect(fl, "mon 09:30", &noname, false, VERDICT_DENY, NULL, 0);
	/* outside working hours the rule is ruled out without any lookup of
	 * the name */
	expect(fl, "sat 10:00", &carol, false, VERDICT_DENY, NULL, 0);
	expect(fl, "mon 18:00", &carol, false, VERDICT_DENY, NULL, 0);
	/* port 22 is not `web` */
	expect("tcp 10.1.2.3:40000 -> 203.0.113.7:8095", "mon 09:30", &www,
	       false, VERDICT_DENY, NULL, 0);
	expect("tcp 10.1.2.3:40000 -> 203.0.113.7:8085", "mon 09:30", &www,
	       false, VERDICT_ALLOW, "staff web", 0);
	/* IPv6 source in internal */
	expect("tcp [fd00:1::5]:40000 -> [2001:db8::7]:80", "tue 12:00", &www,
	       false, VERDICT_ALLOW, "staff web", 0);
}

static void test_dns_filter(void **state)
{
	/* `filter dns` reads the session's answers, it does not hold the
	 * session: allowed from header facts alone */
	const char *fl = "udp 10.1.2.3:5353 -> 192.0.2.53:53";
	struct fx anon = {.anon = true};
	expect(fl, "mon 09:00", &anon, false, VERDICT_ALLOW, "dns out", 0);
	struct fx rej = {.anon = true, .filter = -1};
	expect(fl, "mon 09:00", &rej, false, VERDICT_ALLOW, "dns out", 0);
	/* to the dmz is not `external` */
	expect("udp 10.1.2.3:5353 -> 10.2.0.53:53", "mon 09:00", &anon,
	       false, VERDICT_DENY, NULL, 0);
}

static void test_admins_ping_ftp(void **state)
{
	struct fx anon = {.anon = true};
	expect("tcp 10.1.5.10:40000 -> 10.2.0.80:3389", "mon 09:00", &anon,
	       false, VERDICT_ALLOW, "admins to dmz", 0);
	expect("tcp 10.1.6.20:40000 -> 10.2.0.80:21", "mon 09:00", &anon,
	       false, VERDICT_ALLOW, "admins to dmz", 0);
	expect("tcp 10.1.6.21:40000 -> 10.2.0.80:21", "mon 09:00", &anon,
	       false, VERDICT_DENY, "no ftp to dmz", 0);
	/* from outside internal nothing needs a lookup: kernel-decidable */
	expect("tcp 192.0.2.9:40000 -> 10.2.0.80:21", "mon 09:00", NULL,
	       false, VERDICT_DENY, "no ftp to dmz", 0);
	expect("icmp 192.0.2.9 -> 10.2.0.80 type echo-request", "mon 09:00",
	       NULL, false, VERDICT_ALLOW, "ping", 0);
	expect("icmp 192.0.2.9 -> 10.2.0.80 type echo-reply", "mon 09:00",
	       NULL, false, VERDICT_DENY, NULL, 0);
	expect("icmpv6 [2001:db8::1] -> [2001:db8::2]", "mon 09:00", NULL,
	       false, VERDICT_DENY, NULL, 0); /* ping is icmp (v4) only */
	/* the gateway's own traffic is `localhost`, not `internal` */
	expect("tcp 10.1.0.1:40000 -> 203.0.113.7:443", "mon 09:00", NULL,
	       true, VERDICT_DENY, NULL, 0);
	expect("icmp 10.1.0.1 -> 203.0.113.7", "mon 09:00", NULL, true,
	       VERDICT_ALLOW, "ping", 0);
	expect("47 10.1.5.10 -> 10.2.0.1", "mon 09:00", &anon, false,
	       VERDICT_ALLOW, "admins to dmz", 0);
}

static void test_groups_unknown(void **state)
{
	const char *fl = "tcp 10.1.2.3:40000 -> 203.0.113.7:22";
	/* the directory failed: alice is named in netops, so it decides */
	struct fx alice = {.user = "alice", .nogroups = true};
	expect(fl, "mon 09:00", &alice, false, VERDICT_ALLOW, "netops anywhere", 0);
	/* bob might be in netadmins: undecided until the deadline */
	struct fx bob = {.user = "bob", .nogroups = true};
	expect(fl, "mon 09:00", &bob, false, VERDICT_PENDING, "netops anywhere",
	       NEED_IDENTITY);
	/* nobody stays nobody */
	struct fx anon = {.anon = true, .nogroups = true};
	expect(fl, "mon 09:00", &anon, false, VERDICT_DENY, NULL, 0);
}

/* One account, any spelling of the site's own realms: a rule naming alice
 * matches ALICE, CORP\alice, alice@CORP.EXAMPLE and "alice "; not alicia,
 * nor an empty name, nor another realm's or domain's alice; with no own
 * realm, no name with a realm or domain is alice (fail closed). */
static void test_user_spellings(void **state)
{
	const char *fl = "tcp 10.1.2.3:40000 -> 203.0.113.7:22";
	struct own_realms *own = &P->identity.realms; /* the user sets' */
	own_realms_add(own, "CORP.EXAMPLE", 12);
	own_realms_add(own, "corp", 4);
	const char *same[] = {"ALICE", "CORP\\alice", "alice@CORP.EXAMPLE",
			      "alice ", " Corp\\Alice@corp.example "};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		struct fx f = {.user = same[i]};
		expect(fl, "mon 09:00", &f, false, VERDICT_ALLOW,
		       "netops anywhere", 0);
	}
	const char *other[] = {"alice@partner.example", "PARTNER\\alice",
			       "alice@corp.example.evil", "CORP\\alice@partner",
			       "PARTNER\\alice@corp.example", "@", "\\",
			       "alice@", "\\alice", "alicia"};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		struct fx f = {.user = other[i], .groups = {"staff"}};
		expect(fl, "mon 09:00", &f, false, VERDICT_DENY, NULL, 0);
	}
	assert_false(user_name_equal(own, "alice", "alicia"));
	assert_false(user_name_equal(own, "alice", "CORP\\"));
	assert_false(user_name_equal(own, "", ""));
	assert_true(user_name_equal(own, "bob@corp", "BOB"));
	own_realms_free(own);
	for (size_t i = 1; i < sizeof(same) / sizeof(same[0]) - 2; i++) {
		struct fx f = {.user = same[i]};
		expect(fl, "mon 09:00", &f, false, VERDICT_DENY, NULL, 0);
	}
}

static void test_flow_parse_errors(void **state)
{
	static const char *const bad[] = {
	    "tcp 10.1.2.3 -> 10.2.0.1:80",	 "tcp 10.1.2.3:1 10.2.0.1:80",
	    "sctp 10.1.2.3:1 -> 10.2.0.1:80",	 "udp [2001:db8::1:53 -> [::1]:53",
	    "tcp 10.1.2.3:1 -> [2001:db8::1]:80", "icmp 10.0.0.1:5 -> 10.0.0.2",
	    "icmp 10.0.0.1 -> 10.0.0.2 type nope", "icmp [::1] -> [::2]",
	    "tcp 10.1.2.3:70000 -> 10.2.0.1:80", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct flow f;
		char *err = NULL;
		assert_int_equal(flow_parse(bad[i], &f, &err), -1);
		assert_non_null(err);
		free(err);
	}
	struct flow f;
	char *err = NULL;
	assert_int_equal(flow_parse("udp [2001:db8::1]:5353 -> [2001:db8::2]:53",
				    &f, &err), 0);
	assert_int_equal(f.sport, 5353);
	assert_int_equal(f.dport, 53);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_netops_anywhere),
	    cmocka_unit_test(test_staff_web),
	    cmocka_unit_test(test_dns_filter),
	    cmocka_unit_test(test_admins_ping_ftp),
	    cmocka_unit_test(test_groups_unknown),
	    cmocka_unit_test(test_user_spellings),
	    cmocka_unit_test(test_flow_parse_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
