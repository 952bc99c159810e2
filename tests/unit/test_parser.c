/* test_parser.c — the policy language: what parses, what it means, and the
 * located errors for what does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/policy.h"
#include "policy/settings.h"
#include "setting_change.h"
#include "policy_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

static void dump(const struct diags *d);
/* The anti-lockout warning (validate.c, "no rule allows ssh (tcp 22) to
 * the gateway itself"): the tests' policies that count warnings exactly
 * and have no such rule get it too. */
#define NO_SSH 1

/* log { file }: a missing folder is an error at its place. */
static void test_log_folder(void **state)
{
	(void)state;
	struct diags d = {0};
	struct policy *p = load("log { file \"/nonexistent-sluice/fw.log\" }\n", &d);
	assert_null(p);
	assert_true(has_diag(&d, 1, 12, "folder '/nonexistent-sluice'"));
	diags_free(&d);
	memset(&d, 0, sizeof(d));
	p = load("log { file \"/etc/passwd/fw.log\" }\n", &d);
	assert_null(p);
	assert_true(has_diag(&d, 1, 12, "/etc/passwd"));
	diags_free(&d);
	memset(&d, 0, sizeof(d));
	p = load("log { file \"/tmp/fw.log\" }\n", &d);
	if (!p)
		dump(&d);
	assert_non_null(p);
	policy_free(p);
	diags_free(&d);
	/* a name without a folder, shorter than "." (fuzz_policy found a
	 * heap overflow here): its folder is the current one */
	memset(&d, 0, sizeof(d));
	p = load("log { file \"\" }\n", &d);
	policy_free(p);
	diags_free(&d);
	/* a folder others may write without the sticky bit: a warning (not
	 * under /tmp's 1777) */
	char dir[] = "/tmp/sluice-logdir-XXXXXX", text[128];
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(text, sizeof(text), "log { file \"%s/fw.log\" }\n", dir);
	memset(&d, 0, sizeof(d));
	p = load(text, &d);
	assert_non_null(p);
	assert_true(has_diag(&d, 1, 12, "may be written by users other"));
	policy_free(p);
	diags_free(&d);
	assert_int_equal(chmod(dir, 01777), 0);
	memset(&d, 0, sizeof(d));
	p = load(text, &d);
	assert_non_null(p);
	assert_false(has_diag(&d, 1, 12, "may be written by users other"));
	policy_free(p);
	diags_free(&d);
	assert_int_equal(rmdir(dir), 0);
}

static void dump(const struct diags *d)
{
	diags_print(d, stderr);
}

/* Writes TEXT to a new file PATH of mode MODE (whatever the umask). */
static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* The severity of the diagnostic containing TEXT, or -1. */
static int diag_sev(const struct diags *d, const char *text)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->v[i].msg, text))
			return (int)d->v[i].sev;
	return -1;
}

/* Every file a setting names (settings.h enum setting_file), in every
 * block, a verifier and a farm's verify: a secret others may read or
 * write is an error, a missing file or a folder a warning, a secret of
 * mode 600 or 640 and a readable file nothing; a relative path, a FIFO
 * as a secret and a program others may write are errors, a program
 * missing or not executable a warning (alerts' run, verifiers' notify).
 * The log file may not be a symbolic link (sluiced opens it as root with
 * O_NOFOLLOW) but for /dev/stdout, /dev/stderr, /dev/fd/N and
 * /proc/self/fd/N, exactly. */
static void test_files_named(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-files.XXXXXX";
	assert_non_null(mkdtemp(dir));
	const char *names[] = {"open", "ok600", "ok640", "ca"};
	mode_t modes[] = {0644, 0600, 0640, 0644};
	char path[4][96];
	for (int i = 0; i < 4; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%s", dir, names[i]);
		write_file(path[i], "x\n", modes[i]);
	}
	char text[4096];
	snprintf(text, sizeof(text),
		 "protocol web tcp 80\nrule \"x\" allow web from any to any\n"
		 "identity { radius-listen 198.18.1.1:1813 radius-secret-file "
		 "\"%s\" radius-clients 198.18.1.2 api-listen 127.0.0.1:8081 "
		 "api-token-file \"%s/missing\" }\n"
		 "directory ldap { uri \"ldaps://198.18.4.2\" base dc=x "
		 "tls-ca \"%s\" bind-dn \"cn=a\" password-file \"%s\" }\n"
		 "verifier \"web\" https \"https://198.18.2.2/\" key \"%s\" "
		 "cert \"%s\" ca \"%s\" every 30s\n"
		 "farm f { server a 198.18.2.3 verify http \"http://*/\" "
		 "auth basic user u password-file \"%s\" }\n"
		 "publish \"p\" tcp 80 on 198.18.1.1 to f\n",
		 path[0], dir, path[3], path[1], path[0], dir, path[3],
		 path[2]);
	struct diags d = {0};
	struct policy *p = load(text, &d);
	dump(&d);
	assert_null(p);
	assert_int_equal(diag_sev(&d, "radius-secret-file"), DIAG_ERROR);
	assert_int_equal(diag_sev(&d, "api-token-file"), DIAG_WARNING);
	assert_true(diag_sev(&d, "does not exist") == DIAG_WARNING);
	assert_int_equal(diag_sev(&d, "verifier 'web' key"), DIAG_ERROR);
	assert_int_equal(diag_sev(&d, "verifier 'web' cert"), DIAG_WARNING);
	/* at the verifier's name, a folder is no file */
	assert_true(has_diag(&d, 5, 10, "cert '"));
	assert_true(has_diag(&d, 5, 10, "is not a regular file"));
	assert_int_equal(diag_sev(&d, "verifier 'web' ca"), -1);
	assert_int_equal(diag_sev(&d, "password-file"), -1);
	assert_int_equal(diag_sev(&d, "tls-ca"), -1);
	assert_int_equal(d.errors, 2);
	assert_int_equal(d.warnings, 2 + NO_SSH);
	diags_free(&d);

	/* relative paths, a FIFO as a secret, programs */
	char fifo[96], prog[96], noexec[96], loose[96];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(prog, sizeof(prog), "%s/prog", dir);
	snprintf(noexec, sizeof(noexec), "%s/noexec", dir);
	snprintf(loose, sizeof(loose), "%s/loose", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const char *progs[] = {prog, noexec, loose};
	mode_t pmodes[] = {0755, 0644, 0777};
	for (int i = 0; i < 3; i++)
		write_file(progs[i], "#!/bin/sh\n", pmodes[i]);
	snprintf(text, sizeof(text),
		 "protocol web tcp 80\nrule \"x\" allow web from any to any\n"
		 "identity { radius-listen 198.18.1.1:1813 radius-secret-file "
		 "\"%s\" radius-clients 198.18.1.2 api-listen 127.0.0.1:8081 "
		 "api-token-file api.token }\n"
		 "alert a1 when decisions_pending > 5 run \"%s --flag x\"\n"
		 "alert a2 when decisions_pending > 6 run \"%s\"\n"
		 "alert a3 when decisions_pending > 7 run \"%s\"\n"
		 "alert a5 when decisions_pending > 9 run \"%s/none arg\"\n"
		 "verifier \"v\" tcp 198.18.2.2 port 80 notify \"%s\"\n"
		 "verifier \"w\" tcp 198.18.2.3 port 80 notify \"\"\n"
		 "alert a6 when decisions_pending > 10 run \"  %s x\"\n",
		 fifo, prog, noexec, loose, dir, loose, prog);
	memset(&d, 0, sizeof(d));
	p = load(text, &d);
	dump(&d);
	assert_null(p);
	/* the FIFO (a read would block), the relative token, a3's and v's
	 * program anyone may write (a relative program is the parser's
	 * error already: "run needs a command with an absolute path") */
	assert_int_equal(diag_sev(&d, "radius-secret-file"), DIAG_ERROR);
	assert_true(has_diag(&d, 0, 0, "is not a regular file"));
	assert_int_equal(diag_sev(&d, "api-token-file 'api.token' is not an "
				      "absolute path"), DIAG_ERROR);
	/* leading blanks (strtok_r skips them) and an empty notify: fine */
	assert_int_equal(diag_sev(&d, "alert 'a1'"), -1);
	assert_int_equal(diag_sev(&d, "alert 'a6'"), -1);
	assert_int_equal(diag_sev(&d, "verifier 'w'"), -1);
	assert_int_equal(diag_sev(&d, "alert 'a2' run"), DIAG_WARNING);
	assert_true(diag_sev(&d, "is not executable by others") == DIAG_WARNING);
	assert_int_equal(diag_sev(&d, "alert 'a3' run"), DIAG_ERROR);
	assert_int_equal(diag_sev(&d, "alert 'a5' run"), DIAG_WARNING);
	assert_int_equal(diag_sev(&d, "verifier 'v' notify"), DIAG_ERROR);
	assert_int_equal(d.errors, 4);
	assert_int_equal(d.warnings, 2 + NO_SSH);
	diags_free(&d);
	for (int i = 0; i < 3; i++)
		unlink(progs[i]);
	unlink(fifo);

	/* a secret and a program another user owns (only root can give a
	 * file away; run without root this part has nothing to test) */
	if (geteuid() == 0) {
		char theirs[96], tprog[96];
		snprintf(theirs, sizeof(theirs), "%s/theirs", dir);
		snprintf(tprog, sizeof(tprog), "%s/tprog", dir);
		write_file(theirs, "x\n", 0600);
		write_file(tprog, "#!/bin/sh\n", 0755);
		assert_int_equal(chown(theirs, 65534, 65534), 0);
		assert_int_equal(chown(tprog, 65534, 65534), 0);
		snprintf(text, sizeof(text),
			 "protocol web tcp 80\nrule \"x\" allow web from any "
			 "to any\nidentity { radius-listen 198.18.1.1:1813 "
			 "radius-secret-file \"%s\" radius-clients 198.18.1.2 "
			 "}\nalert a1 when decisions_pending > 5 run \"%s\"\n"
			 "alert a2 when decisions_pending > 6 run \"%s\"\n",
			 theirs, tprog, path[1]);
		memset(&d, 0, sizeof(d));
		p = load(text, &d);
		dump(&d);
		assert_null(p);
		assert_int_equal(diag_sev(&d, "radius-secret-file"), DIAG_ERROR);
		assert_int_equal(diag_sev(&d, "alert 'a1' run"), DIAG_ERROR);
		assert_true(has_diag(&d, 0, 0, "belongs to another user"));
		assert_int_equal(d.errors, 2);
		diags_free(&d);
		assert_non_null(secret_file_problem(theirs));
		assert_null(secret_file_problem(path[1])); /* root's, 0600 */
		unlink(theirs);
		unlink(tprog);
	}

	/* the log file: a symbolic link is refused, /dev/stdout is not */
	char link[128];
	snprintf(link, sizeof(link), "%s/fw.log", dir);
	assert_int_equal(symlink(path[1], link), 0);
	/* nor through a /dev/ or /proc/ prefix that leads elsewhere */
	const char *via[] = {"", "/dev/..", "/proc/self/root"};
	for (int i = 0; i < 3; i++) {
		char viapath[256];
		snprintf(viapath, sizeof(viapath), "%s%s", via[i], link);
		snprintf(text, sizeof(text), "log { file \"%s\" }\n", viapath);
		memset(&d, 0, sizeof(d));
		p = load(text, &d);
		assert_null(p);
		assert_int_equal(diag_sev(&d, "is a symbolic link"), DIAG_ERROR);
		diags_free(&d);
	}
	const char *fds[] = {"/dev/stdout", "/dev/stderr", "/dev/fd/2",
			     "/proc/self/fd/1"};
	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "log { file \"%s\" }\n", fds[i]);
		memset(&d, 0, sizeof(d));
		p = load(text, &d);
		dump(&d);
		assert_non_null(p);
		policy_free(p);
		diags_free(&d);
	}
	assert_true(log_file_follows("/dev/fd/12"));
	assert_false(log_file_follows("/dev/fd/1x"));
	assert_false(log_file_follows("/dev/shm/fw.log"));
	assert_false(log_file_follows("/proc/self/fd/"));
	unlink(link);
	for (int i = 0; i < 4; i++)
		unlink(path[i]);
	assert_int_equal(rmdir(dir), 0);
}

static void test_design_example(void **state)
{
	struct diags d = {0};
	struct policy *p = policy_load(SOURCE_ROOT "/examples/design.conf", &d);
	dump(&d);
	assert_non_null(p);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 0);
	assert_int_equal(p->nrules, 6);
	const struct rule *r = policy_rule(p, "staff web");
	assert_non_null(r);
	assert_int_equal(r->index, 1);
	assert_int_equal(r->action, ACT_ALLOW);
	assert_int_equal(r->nprotos, 1);
	assert_string_equal(r->protos[0]->name, "web");
	assert_int_equal(r->protos[0]->nports, 3);
	assert_true(r->needs_identity);
	assert_non_null(r->sched);
	assert_int_equal(r->dst.ndoms, 1);
	assert_int_equal(r->dst.doms[0]->nexact, 2);
	assert_int_equal(r->dst.doms[0]->nsuffix, 1);
	assert_string_equal(r->dst.doms[0]->suffix[0], "example.com");
	assert_false(rule_kernel_decidable(r));
	r = policy_rule(p, "no ftp to dmz");
	assert_true(r->log);
	assert_int_equal(r->action, ACT_DENY);
	assert_true(rule_kernel_decidable(r)); /* a deny needs no filter */
	/* filter dns watches the session: the kernel allows it */
	assert_true(rule_kernel_decidable(policy_rule(p, "dns out")));
	assert_true(rule_filters_dns(policy_rule(p, "dns out")));
	assert_false(rule_filters_dns(policy_rule(p, "admins to dmz")));
	/* filter ftp is the kernel's helper: an allow rule with it stays in
	 * the kernel */
	assert_false(rule_filters_ftp(policy_rule(p, "no ftp to dmz")));
	assert_false(rule_filters_ftp(policy_rule(p, "dns out")));
	assert_true(rule_kernel_decidable(policy_rule(p, "admins to dmz")));
	assert_int_equal(p->nfarms, 1);
	assert_int_equal(p->farms[0]->nmembers, 2);
	assert_int_equal(p->farms[0]->verify.nexpect, 1);
	assert_int_equal(p->farms[0]->verify.every_ms, 30000);
	assert_int_equal(p->npublishes, 1);
	assert_ptr_equal(p->publishes[0]->farm, p->farms[0]);
	assert_int_equal(p->nverifiers, 2);
	assert_int_equal(p->verifiers[0]->spec.port, 389);
	assert_int_equal(p->verifiers[1]->spec.auth, AUTH_NEGOTIATE);
	assert_int_equal(p->verifiers[1]->spec.every_ms, 60000);
	policy_free(p);
	diags_free(&d);
}

/* `reject` in the place of allow/deny; decisions { deny-action ... } */
static void test_reject_action(void **state)
{
	struct diags d = {0};
	struct policy *p = load(
	    "protocol telnet tcp 23\n"
	    "rule \"no telnet\" reject telnet from any to any log\n"
	    "rule \"ask\" reject from any to any users all\n"
	    "decisions { deny-action reject deny-memory 30s reject-rate 5 }\n",
	    &d);
	dump(&d);
	assert_non_null(p);
	assert_int_equal(policy_rule(p, "no telnet")->action, ACT_REJECT);
	assert_true(policy_rule(p, "no telnet")->log);
	assert_true(rule_kernel_decidable(policy_rule(p, "no telnet")));
	assert_int_equal(p->decisions.deny_action, DENYACT_REJECT);
	assert_int_equal(p->decisions.deny_memory_s, 30);
	assert_int_equal(p->decisions.reject_rate, 5);
	struct flow f = {.family = AF_INET, .proto = 6, .dport = 23};
	struct decision dec;
	policy_eval_linear(p, &f, NULL, &dec);
	assert_int_equal(dec.verdict, VERDICT_DENY);
	assert_int_equal(dec.rule, 0);
	policy_free(p);
	diags_free(&d);
	p = load("rule x refuse from any to any\n", &d);
	assert_null(p);
	diags_free(&d);
	p = load("decisions { deny-action bounce }\n", &d);
	assert_null(p);
	diags_free(&d);
}

/* A listener's ADDRESS:PORT: port 0 (a port the kernel picks), out of
 * range, signed or not a number, an IPv6 address without brackets: each
 * an error of its own; the good forms load. */
static void test_listen_ports(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"metrics { listen 127.0.0.1:0 }\n", "the port must be 1 to 65535"},
	    {"metrics { listen 127.0.0.1:65536 }\n", "the port must be 1 to 65535"},
	    {"metrics { listen 127.0.0.1:+80 }\n", "the port must be 1 to 65535"},
	    {"metrics { listen 127.0.0.1:8o }\n", "the port must be 1 to 65535"},
	    {"metrics { listen 127.0.0.1 }\n", "expected ADDRESS:PORT"},
	    {"metrics { listen [::1:9100 }\n", "in brackets"},
	    {"metrics { listen ::1:9100 }\n", "in brackets"},
	    {"metrics { listen 2001:db8::1:9100 }\n", "in brackets"},
	    {"metrics { listen []:9100 }\n", "in brackets"},
	    {"metrics { listen [::1]]:9100 }\n", "in brackets"},
	    {"metrics { listen \"127.0.0.1: 80\" }\n", "the port must be 1 to 65535"},
	    {"identity { api-listen 127.0.0.1:0 api-token-file /nonexistent }\n",
	     "identity api-listen '127.0.0.1:0': the port must be 1 to 65535"},
	    {"identity { radius-listen 198.18.1.1:0 radius-secret-file /nonexistent "
	     "radius-clients 198.18.1.2 }\n",
	     "identity radius-listen '198.18.1.1:0': the port must be 1 to 65535"},
	    {"identity { radius-listen gw.lab:1813 radius-secret-file /nonexistent "
	     "radius-clients 198.18.1.2 }\n",
	     "identity radius-listen 'gw.lab:1813': the address must be an IP "
	     "address"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct diags d = {0};
		struct policy *p = load(bad[i].text, &d);
		if (p || !has_diag(&d, 0, 0, bad[i].msg)) {
			dump(&d);
			fail_msg("'%s' should fail with '%s'", bad[i].text,
				 bad[i].msg);
		}
		diags_free(&d);
	}
	static const char *const good[] = {
	    "metrics { listen 127.0.0.1:1 }\n",
	    "metrics { listen [::1]:65535 }\n",
	    "metrics { listen localhost:9100 }\n",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct diags d = {0};
		struct policy *p = load(good[i], &d);
		if (!p)
			dump(&d);
		assert_non_null(p);
		policy_free(p);
		diags_free(&d);
	}
}

static void test_addresses(void **state)
{
	struct diags d = {0};
	struct policy *p = load(
	    "network n { 10.0.0.0/8 10.1.0.0/16 192.0.2.1-192.0.2.9 "
	    "192.0.2.10 2001:db8::/32 ::1 }\n"
	    "computers c { n 198.51.100.7 }\n",
	    &d);
	dump(&d);
	assert_non_null(p);
	const struct netset *n = p->nets[0];
	assert_int_equal(n->addrs.n4, 2); /* merged: 10/8, .1-.10 */
	assert_int_equal(n->addrs.n6, 2);
	assert_true(addrset_has4(&n->addrs, 0x0a010203));
	assert_true(addrset_has4(&n->addrs, 0xc000020a));
	assert_false(addrset_has4(&n->addrs, 0xc000020b));
	assert_int_equal(p->nets[1]->addrs.n4, 3);
	assert_false(p->nets[1]->is_network);
	/* external = everything not in a `network` (computers don't count) */
	assert_false(addrset_has4(&p->external, 0x0a000001));
	assert_true(addrset_has4(&p->external, 0xc6336407));
	policy_free(p);
	diags_free(&d);
}

static void test_errors_located_in_one_pass(void **state)
{
	struct diags d = {0};
	struct policy *p = load(
	    "network internal { 10.1.0.5/16 300.1.1.1 }\n"	   /* 1 */
	    "network internal { 10.9.0.0/16 }\n"		   /* 2 */
	    "protocol web tcp { 80 70000 }\n"			   /* 3 */
	    "schedule wh { mon-fry 08:00-18:00 }\n"		   /* 4 */
	    "rule \"a\" allow web from intenral to any\n"	   /* 5 */
	    "rule \"a\" allow from any to nowhere\n"		   /* 6 */
	    "decisions { slots 0 deadline 3x }\n"		   /* 7 */
	    "network fine { 10.3.0.0/16 }\n"			   /* 8 */
	    "bogus statement\n"					   /* 9 */
	    "rule \"b\" allow from any to any users nobody\n",	   /* 10 */
	    &d);
	dump(&d);
	assert_null(p);
	assert_true(has_diag(&d, 1, 20, "host bits set; did you mean 10.1.0.0/16"));
	assert_true(has_diag(&d, 1, 32, "'300.1.1.1' is not an address"));
	assert_true(has_diag(&d, 2, 9, "duplicate network name 'internal'"));
	assert_true(has_diag(&d, 3, 23, "bad port '70000'"));
	assert_true(has_diag(&d, 4, 15, "bad days 'mon-fry'"));
	assert_true(has_diag(&d, 5, 25, "did you mean 'internal'"));
	assert_true(has_diag(&d, 6, 28, "unknown network, computer set or domain set 'nowhere'"));
	assert_true(has_diag(&d, 7, 19, "slots: bad value '0'"));
	assert_true(has_diag(&d, 7, 30, "deadline: bad value '3x'"));
	assert_true(has_diag(&d, 9, 1, "expected a statement"));
	assert_true(has_diag(&d, 10, 38, "unknown user set 'nobody'"));
	assert_int_equal(d.errors, 11);
	diags_free(&d);
}

static void test_syntax_errors(void **state)
{
	static const struct {
		const char *text, *msg;
		int line, col;
	} cases[] = {
	    {"rule \"x\" permit from any to any\n", "expected allow, deny or reject", 1, 10},
	    {"rule \"x\" allow from any\n", "expected 'to'", 2, 1},
	    {"network n { 10.0.0.1\n", "expected an address or '}'", 2, 1},
	    {"domains d { exa mple..com }\n", "is not a domain name", 1, 17},
	    {"protocol p icmp bogus-type\n", "unknown icmp type", 1, 17},
	    {"schedule s { mon 18:00-18:00 }\n", "bad time range", 1, 18},
	    {"users u { member x }\n", "expected 'user NAME'", 1, 11},
	    {"network any { 10.0.0.0/8 }\n", "'any' is a built-in name", 1, 9},
	    {"protocol d udp 53 filter nonesuch\n", "unknown application filter 'nonesuch' (known: dns, ftp)", 1, 26},
	    {"domains d { a.com }\nrule \"x\" allow from d to any\n", "'d' is not a network or computer set", 2, 21},
	    {"rule \"x\" allow from any to any\nrule \"x\" deny from any to any\n", "duplicate rule name", 2, 6},
	    {"\"unterminated\n", "unterminated string", 1, 1},
	    {"queue { fail maybe }\n", "expected one of closed, open", 1, 14},
	    {"verifier \"v\" tcp 10.0.0.1 every 10s\n", "tcp needs 'port N'", 1, 10},
	    {"verifier \"v\" http \"ftp://x/\"\n", "not an http:// or https:// URL", 1, 19},
	    {"verifier \"v\" dns 10.0.0.53 every 10s\n", "dns needs 'name NAME'", 1, 10},
	    {"verifier \"v\" dns 10.0.0.53 name bad..name\n", "'bad..name' is not a DNS name", 1, 10},
	    {"verifier \"v\" dns 10.0.0.53 name a.b answer 2001:db8::1\n", "is not an IPv4 address (type a)", 1, 10},
	    {"verifier \"v\" dns 10.0.0.53 name a.b type aaaa answer 192.0.2.1\n", "is not an IPv6 address (type aaaa)", 1, 10},
	    {"verifier \"v\" dns 10.0.0.53 name a.b type mx\n", "expected one of a, aaaa", 1, 42},
	    {"verifier \"v\" dns ns1.example name a.b\n", "expected the DNS server's address", 1, 18},
	    {"farm f { server a 10.0.0.53 verify dns type aaaa }\n", "dns needs 'name NAME'", 1, 29},
	    {"farm f { }\n", "has no server", 1, 6},
	    {"protocol d udp 53 filter dns read-only\n", "read-only belongs to filter ftp", 1, 30},
	    {"publish \"p\" tcp 443 on 192.0.2.1 to nofarm\n", "unknown farm 'nofarm'", 1, 37},
	    {"include \"/nonexistent/x.conf\"\n", "cannot read", 1, 9},
	    {"directory ldap { uri \"ldap://x\" }\n", "needs both uri and base", 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct diags d = {0};
		struct policy *p = load(cases[i].text, &d);
		if (!has_diag(&d, cases[i].line, cases[i].col, cases[i].msg)) {
			fprintf(stderr, "case %zu: wanted %d:%d: %s, got:\n", i,
				cases[i].line, cases[i].col, cases[i].msg);
			dump(&d);
			fail();
		}
		assert_null(p);
		diags_free(&d);
	}
}

static void test_shadowed_rules_warn(void **state)
{
	struct diags d = {0};
	struct policy *p = load(
	    "network lan { 10.0.0.0/8 }\n"
	    "protocol web tcp { 80 443 }\n"
	    "protocol http tcp 80\n"
	    "users staff { group staff }\n"
	    "rule \"wide\" allow web from lan to any\n"
	    "rule \"narrow\" deny http from 10.1.0.0/16 to 192.0.2.1\n"
	    "rule \"users\" allow web from lan to any users staff\n"
	    "rule \"other port\" allow tcp8080 from lan to any\n",
	    &d);
	assert_null(p); /* tcp8080 unknown */
	diags_free(&d);
	memset(&d, 0, sizeof(d));
	p = load("network lan { 10.0.0.0/8 }\n"
		 "protocol web tcp { 80 443 }\n"
		 "protocol http tcp 80\n"
		 "protocol alt tcp 8080\n"
		 "users staff { group staff }\n"
		 "rule \"wide\" allow web from lan to any\n"
		 "rule \"narrow\" deny http from 10.1.0.0/16 to 192.0.2.1\n"
		 "rule \"users\" allow web from lan to any users staff\n"
		 "rule \"other port\" allow alt from lan to any\n"
		 "rule \"from gw\" allow web from localhost to any\n",
		 &d);
	dump(&d);
	assert_non_null(p);
	assert_int_equal(d.warnings, 2 + NO_SSH);
	assert_true(has_diag(&d, 7, 6, "rule 'narrow' can never match: rule 'wide'"));
	assert_true(has_diag(&d, 8, 6, "rule 'users' can never match"));
	policy_free(p);
	diags_free(&d);
}

/* A verifier whose timeout is not shorter than its interval is warned
 * about at its own line (the option that made it so), not the next one. */
static void test_verifier_timeout_warning(void **state)
{
	(void)state;
	struct diags d = {0};
	struct policy *p = load("verifier \"dc\" tcp 192.0.2.1 port 389 every 2s\n"
				"verifier \"ok\" tcp 192.0.2.2 port 389 every 2s timeout 1s\n"
				"protocol web tcp 80\n"
				"rule \"x\" allow web from any to any\n",
				&d);
	dump(&d);
	assert_non_null(p);
	assert_int_equal(d.warnings, 1 + NO_SSH);
	assert_true(has_diag(&d, 1, 38, "verifier 'dc': timeout should be shorter"));
	policy_free(p);
	diags_free(&d);
}

/* A rule naming destinations warns where other rules let its clients
 * resolve with answers sluice cannot read: DNS over TLS, DNS
 * without `filter dns`; other clients and filtered DNS do not. */
static void test_unread_dns_warning(void **state)
{
	(void)state;
	{ /* the DNS filter's settings */
		struct diags d0 = {0};
		struct policy *q = load("resolver { dns-rebinding allow "
					"dns-grace 5s }\n", &d0);
		assert_non_null(q);
		assert_int_equal(q->resolver.dns_rebinding, REBIND_ALLOW);
		assert_int_equal(q->resolver.dns_grace_s, 5);
		policy_free(q);
		diags_free(&d0);
		q = load("resolver { dns-rebinding maybe }\n", &d0);
		assert_null(q);
		diags_free(&d0);
	}
	static const char head[] =
	    "network lan { 10.1.0.0/16 }\n"
	    "network guests { 10.9.0.0/16 }\n"
	    "domains work { *.example.com }\n"
	    "protocol web tcp 443\n"
	    "protocol dns udp 53 filter dns\n"
	    "protocol plain tcp 53\n"
	    "protocol dot tcp 853\n"
	    "rule \"work\" allow web from lan to work\n"
	    "rule \"dns\" allow dns from lan to external\n";
	const char *tails[] = {
	    "",
	    "rule \"guests dot\" allow dot from guests to external\n",
	    "rule \"dot\" allow dot from lan to external\n",
	    "rule \"plain\" allow plain from 10.1.2.0/24 to external\n"};
	const char *want[] = {NULL, NULL, "lets its clients use DNS over TLS",
			      "use DNS without `filter dns`"};
	for (size_t i = 0; i < 4; i++) {
		struct diags d = {0};
		char text[1024];
		snprintf(text, sizeof(text), "%s%s", head, tails[i]);
		struct policy *p = load(text, &d);
		dump(&d);
		assert_non_null(p);
		assert_int_equal(d.warnings, (want[i] ? 1 : 0) + NO_SSH);
		if (want[i])
			assert_true(has_diag(&d, 8, 6, want[i]));
		policy_free(p);
		diags_free(&d);
	}
}

/* The directory block: check refuses what the daemon could not use (a
 * host name, StartTLS on ldaps://) and warns about a password in clear,
 * tls-verify no and an AD domain root as base (referrals). */
static void test_directory_settings(void **state)
{
	(void)state;
	static const struct {
		const char *dir;
		int errors, warnings;
		const char *text;
	} v[] = {
	    {"uri \"ldaps://198.18.4.2\" base \"dc=x\"", 0, 0, NULL},
	    {"uri \"ldap://dc1.corp\" base \"dc=x\"", 1, 0, "literal"},
	    {"uri \"ldaps://198.18.4.2\" base \"dc=x\" starttls yes", 1, 0,
	     "starttls needs an ldap://"},
	    {"uri \"ldap://198.18.4.2\" base \"dc=x\" bind-dn \"cn=a\"", 0, 1,
	     "in clear"},
	    {"uri \"ldap://198.18.4.2\" base \"dc=x\" bind-dn \"cn=a\" "
	     "starttls yes", 0, 0, NULL},
	    {"uri \"ldaps://198.18.4.2\" base \"dc=x\" tls-verify no", 0, 1,
	     "any server"},
	    {"uri \"ldaps://198.18.4.2\" base \"DC=ad,DC=x\" schema ad", 0, 1,
	     "referrals"},
	    {"uri \"ldaps://198.18.4.2\" base \"CN=Users,DC=ad,DC=x\" "
	     "schema ad", 0, 0, NULL},
	    {"uri \"ldaps://198.18.4.2:3269\" base \"DC=ad,DC=x\" schema ad",
	     0, 0, NULL},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 "protocol web tcp 80\n"
			 "rule \"x\" allow web from any to any\n"
			 "directory ldap { %s }\n", v[i].dir);
		struct diags d = {0};
		struct policy *p = load(text, &d);
		dump(&d);
		assert_int_equal(d.errors, v[i].errors);
		assert_int_equal(d.warnings, v[i].warnings + NO_SSH);
		bool found = !v[i].text;
		for (size_t k = 0; k < d.n; k++)
			found = found || strstr(d.v[k].msg, v[i].text);
		assert_true(found);
		policy_free(p);
		diags_free(&d);
	}
}

/* The directory's SASL GSSAPI bind (keytab, principal, kerberos-host):
 * check refuses what the daemon refuses (ldapdir_new, and the keytab's
 * mode at every connect): an incomplete set, a keytab with bind-dn, a
 * keytab readable by others, anything but plain ldap:// (TLS, ldapi://);
 * a missing keytab is a warning (the directory stays off, the gateway
 * runs); no warning about a password in clear (none is sent). */
static void test_directory_gssapi(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-kt.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char good[64], open_kt[64], none[64];
	snprintf(good, sizeof(good), "%s/good.keytab", dir);
	snprintf(open_kt, sizeof(open_kt), "%s/open.keytab", dir);
	snprintf(none, sizeof(none), "%s/none.keytab", dir);
	const char *mk[] = {good, open_kt};
	mode_t modes[] = {0600, 0644};
	for (int i = 0; i < 2; i++)
		write_file(mk[i], "x", modes[i]);
	static const char *const who =
	    "principal \"svc@AD.X\" kerberos-host \"dc1.ad.x\"";
	struct {
		const char *uri, *kt, *more;
		int errors, warnings;
		const char *text;
	} v[] = {
	    {"ldap://198.18.4.2", good, who, 0, 0, NULL},
	    {"ldaps://198.18.4.2", good, who, 1, 0, "plain ldap://"},
	    {"ldap://198.18.4.2", good,
	     "principal \"svc@AD.X\" kerberos-host \"dc1.ad.x\" starttls yes",
	     1, 0, "without starttls"},
	    {"ldap://198.18.4.2", good, "principal \"svc@AD.X\"", 1, 0,
	     "needs principal and kerberos-host"},
	    {"ldap://198.18.4.2", NULL, who, 1, 0, "need keytab"},
	    {"ldap://198.18.4.2", good,
	     "principal \"svc@AD.X\" kerberos-host \"dc1.ad.x\" "
	     "bind-dn \"cn=a\"",
	     1, 0, "excludes bind-dn"},
	    {"ldap://198.18.4.2", open_kt, who, 1, 0, "readable or writable"},
	    {"ldap://198.18.4.2", none, who, 0, 1, "does not exist"},
	    {"ldapi://%2frun%2fslapd", good, who, 1, 0, "plain ldap://"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char text[1024];
		char kt[128] = "";
		if (v[i].kt)
			snprintf(kt, sizeof(kt), "keytab \"%s\"", v[i].kt);
		snprintf(text, sizeof(text),
			 "protocol web tcp 80\n"
			 "rule \"x\" allow web from any to any\n"
			 "directory ldap { uri \"%s\" base \"cn=Users,dc=x\" "
			 "schema ad %s %s }\n",
			 v[i].uri, kt, v[i].more);
		struct diags d = {0};
		struct policy *p = load(text, &d);
		dump(&d);
		assert_int_equal(d.errors, v[i].errors);
		assert_int_equal(d.warnings, v[i].warnings + NO_SSH);
		bool found = !v[i].text;
		for (size_t k = 0; k < d.n; k++)
			found = found || strstr(d.v[k].msg, v[i].text);
		assert_true(found);
		if (i == 0) {
			assert_string_equal(p->directory.keytab, good);
			assert_string_equal(p->directory.principal, "svc@AD.X");
			assert_string_equal(p->directory.kerberos_host,
					    "dc1.ad.x");
		}
		policy_free(p);
		diags_free(&d);
	}
	unlink(good);
	unlink(open_kt);
	rmdir(dir);
}

static void test_schedule_minutes(void **state)
{
	struct diags d = {0};
	struct policy *p = load("schedule night { fri 22:00-06:00 }\n"
				"schedule we { sat,sun }\n"
				"schedule wd { mon-fri 08:00-24:00 }\n",
				&d);
	dump(&d);
	assert_non_null(p);
	const struct schedule *s = p->scheds[0];
	assert_int_equal(s->n, 1); /* fri 22:00-24:00 + sat 00:00-06:00 */
	assert_int_equal(s->v[0].lo, 4 * 1440 + 22 * 60);
	assert_int_equal(s->v[0].hi, 5 * 1440 + 6 * 60 - 1);
	assert_int_equal(p->scheds[1]->n, 1);
	assert_int_equal(p->scheds[1]->v[0].lo, 5 * 1440);
	assert_int_equal(p->scheds[1]->v[0].hi, MINUTES_PER_WEEK - 1);
	assert_int_equal(p->scheds[2]->n, 5);
	assert_int_equal(parse_week_time("tue 09:30"), 1440 + 570);
	assert_int_equal(parse_week_time("tue 24:00"), -1);
	assert_int_equal(parse_week_time("xyz 09:30"), -1);
	policy_free(p);
	diags_free(&d);
}

static void test_settings(void **state)
{
	struct diags d = {0};
	struct policy *p = load(
	    "decisions { slots 8000 reserve-local 20% per-source 100 "
	    "deadline 500ms on-deadline skip }\n"
	    "resolver { servers 198.18.3.2 2001:db8:3::2 timeout 1s "
	    "negative-ttl 1m }\n"
	    "directory ldap { uri \"ldap://198.18.4.2\" base "
	    "\"dc=lab,dc=test\" cache-ttl 10m }\n"
	    "queue { count 2 fail open revoke off udp-timeout 30s }\n"
	    "log { format w3c file \"/var/log/sluice.log\" syslog yes }\n"
	    "metrics { listen 127.0.0.1:9109 }\n",
	    &d);
	dump(&d);
	assert_non_null(p);
	assert_int_equal(p->decisions.slots, 8000);
	assert_int_equal(p->decisions.reserve_local_pct, 20);
	assert_int_equal(p->decisions.deadline_ms, 500);
	assert_int_equal(p->decisions.on_deadline, ONDL_SKIP);
	assert_int_equal(p->resolver.nservers, 2);
	assert_int_equal(p->resolver.timeout_ms, 1000);
	assert_int_equal(p->resolver.negative_ttl_s, 60);
	assert_int_equal(p->resolver.cache, 10000); /* default */
	/* filter dns: rebinding refused and 60 s of grace by default */
	assert_int_equal(p->resolver.dns_rebinding, REBIND_REFUSE);
	assert_int_equal(p->resolver.dns_grace_s, 60);
	assert_true(p->directory.enabled);
	assert_int_equal(p->directory.cache_ttl_s, 600);
	assert_int_equal(p->queue.count, 2);
	assert_int_equal(p->queue.fail, FAIL_OPEN);
	assert_int_equal(p->queue.revoke, REVOKE_OFF);
	assert_int_equal(p->queue.udp_timeout_s, 30);
	assert_int_equal(p->log.format, LOGF_W3C);
	assert_true(p->log.syslog);
	assert_string_equal(p->metrics.listen, "127.0.0.1:9109");
	policy_free(p);
	diags_free(&d);
}

/* The anti-lockout warning: no allow rule admits tcp 22 to the gateway
 * itself (`localhost` or `any`) from an address other than its own. */
static void test_no_ssh_warning(void **state)
{
	static const struct {
		const char *rules;
		bool warn;
	} v[] = {
	    {"", true},
	    {"rule w allow web from lan to any\n", true},
	    {"rule s allow ssh from lan to localhost\n", false},
	    {"rule s allow ssh from any to localhost users staff\n", false},
	    {"rule a allow from any to any\n", false},
	    {"rule m allow mgmt from lan to localhost\n", false},
	    {"rule s allow { web ssh } from lan to any\n", false},
	    {"rule s deny ssh from lan to localhost\n", true},
	    {"rule s reject ssh from lan to localhost\n", true},
	    {"rule s allow ssh from lan to servers\n", true},
	    {"rule w allow web from lan to localhost\n", true},
	    {"rule s allow ssh from localhost to localhost\n", true},
	    {"rule u allow ssh6 from lan to localhost\n", true},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text),
			 "network lan { 198.18.1.0/24 }\n"
			 "network servers { 198.18.2.0/24 }\n"
			 "users staff { group staff }\n"
			 "protocol web tcp 80\nprotocol ssh tcp 22\n"
			 "protocol mgmt tcp 20-30\nprotocol ssh6 udp 22\n%s",
			 v[i].rules);
		struct diags d = {0};
		struct policy *p = load(text, &d);
		dump(&d);
		assert_non_null(p);
		int sev = diag_sev(&d, "no rule allows ssh (tcp 22) to the "
				       "gateway itself: a start from an SSH "
				       "session will cut it");
		if (sev != (v[i].warn ? DIAG_WARNING : -1))
			fail_msg("'%s': anti-lockout warning %s", v[i].rules,
				 v[i].warn ? "missing" : "given");
		policy_free(p);
		diags_free(&d);
	}
}

/* A setting given twice in one block is an error at the second, naming
 * the first's line (it would silently replace the first: `fail closed fail
 * open`); list settings add up and may repeat; a second block of the same
 * kind stays a warning. */
static void test_setting_twice_in_block(void **state)
{
	struct diags d = {0};
	struct policy *p = load(
	    "queue { fail closed\n"				   /* 1 */
	    "  fail open }\n"					   /* 2 */
	    "decisions { deadline 2s deadline 600s }\n",	   /* 3 */
	    &d);
	dump(&d);
	assert_null(p);
	assert_true(has_diag(&d, 2, 3, "queue fail: set twice in one block "
				       "(first at line 1)"));
	assert_true(has_diag(&d, 3, 25, "decisions deadline: set twice in "
					"one block (first at line 3)"));
	assert_int_equal(d.errors, 2);
	diags_free(&d);

	memset(&d, 0, sizeof(d));
	p = load("resolver { servers 198.18.3.2 servers 198.18.3.3 }\n"
		 "queue { fail closed }\n"
		 "queue { fail open }\n",
		 &d);
	dump(&d);
	assert_non_null(p);
	assert_int_equal(d.errors, 0);
	assert_int_equal(p->resolver.nservers, 2);
	assert_int_equal(diag_sev(&d, "second queue block"), DIAG_WARNING);
	assert_int_equal(p->queue.fail, FAIL_OPEN);
	policy_free(p);
	diags_free(&d);
}

/* TEXT fails with exactly one error, at LINE:COL, holding MSG. */
static void assert_one_error(const char *text, int line, int col,
			     const char *msg)
{
	struct diags d = {0};
	struct policy *p = load(text, &d);
	dump(&d);
	assert_null(p);
	assert_true(has_diag(&d, line, col, msg));
	assert_int_equal(d.errors, 1);
	diags_free(&d);
}

#define TWICE_BASE                                                          \
	"network lan { 198.18.1.0/24 }\n"			/* 1 */     \
	"protocol ssh tcp 22\n"					/* 2 */     \
	"rule admin allow ssh from lan to localhost\n"		/* 3 */     \
	"schedule workhours { mon-fri 08:00-18:00 }\n"		/* 4 */     \
	"schedule always { daily }\n"				/* 5 */     \
	"users a { user alice }\n"				/* 6 */

/* F5, the nested kind: a single-valued option given twice in one
 * statement or block is an error at the repetition, naming the first's
 * line, wherever it is: a verifier's options, a farm's verify options, a
 * farm's own options (two verify lines too), an alert's options (`rearm
 * manual` is rearm), a rule's users, during and log (`during workhours
 * during always` ran always). One test a kind of place; this one a
 * verifier's options. */
static void test_verifier_option_twice(void **state)
{
	(void)state;
	assert_one_error(TWICE_BASE
			 "verifier dc1 tcp 198.18.2.2 port 389 timeout 3s "
			 "timeout 1s\n",
			 7, 49, "verifier 'dc1' timeout: set twice in one "
				"statement (first at line 7); remove one");
}

/* The options of a farm's verify line. */
static void test_farm_verify_option_twice(void **state)
{
	(void)state;
	assert_one_error(TWICE_BASE
			 "farm f { server a 198.18.2.2\n"
			 " verify tcp every 30s\n"
			 "   every 1h }\n",
			 9, 4, "farm 'f' verify every: set twice in one "
			       "statement (first at line 8)");
}

/* A farm's own options: balance, verify (two lines), sorry, on-down. */
static void test_farm_option_twice(void **state)
{
	(void)state;
	assert_one_error(TWICE_BASE
			 "farm f { server a 198.18.2.2\n"
			 " balance round-robin\n"
			 " balance source-hash }\n",
			 9, 2, "farm 'f' balance: set twice in one block "
			       "(first at line 8)");
	assert_one_error(TWICE_BASE
			 "farm f { server a 198.18.2.2\n"
			 " verify tcp every 5s timeout 1s\n"
			 " verify icmp every 5s timeout 1s }\n",
			 9, 2, "farm 'f' verify: set twice in one block "
			       "(first at line 8)");
	assert_one_error(TWICE_BASE
			 "farm f { server a 198.18.2.2 sorry 198.18.2.9\n"
			 " on-down flush sorry 198.18.2.10 }\n",
			 8, 16, "farm 'f' sorry: set twice in one block "
				"(first at line 7)");
	assert_one_error(TWICE_BASE
			 "farm f { server a 198.18.2.2 on-down flush\n"
			 " on-down keep }\n",
			 8, 2, "farm 'f' on-down: set twice in one block "
			       "(first at line 7)");
}

/* An alert's options; `rearm manual` is rearm too. */
static void test_alert_option_twice(void **state)
{
	(void)state;
	assert_one_error(TWICE_BASE
			 "alert a when packets_spoofed > 5 run /bin/true\n"
			 "  run /bin/false\n",
			 8, 3, "alert 'a' run: set twice in one statement "
			       "(first at line 7)");
	assert_one_error(TWICE_BASE
			 "alert a when packets_spoofed > 5 rearm manual "
			 "rearm 5m\n",
			 7, 47, "alert 'a' rearm: set twice in one statement "
				"(first at line 7)");
}

/* A rule's clauses: during, users, log, in any order and on later lines. */
static void test_rule_clause_twice(void **state)
{
	(void)state;
	assert_one_error(TWICE_BASE
			 "rule r allow ssh from lan to 198.18.2.0/24 during "
			 "workhours\n"
			 "  during always\n",
			 8, 3, "rule 'r' during: set twice in one statement "
			       "(first at line 7)");
	assert_one_error(TWICE_BASE
			 "rule r allow ssh from lan to 198.18.2.0/24 users a "
			 "users all\n",
			 7, 52, "rule 'r' users: set twice in one statement "
				"(first at line 7)");
	assert_one_error(TWICE_BASE
			 "rule r allow ssh from lan to 198.18.2.0/24 log\n"
			 "  during always log\n",
			 8, 17, "rule 'r' log: set twice in one statement "
				"(first at line 7)");
}

/* Lists by design still add up: a farm's servers, a check's expect; each
 * statement or block counts its own options (two verifiers, a farm's
 * verify next to a verifier with the same options). */
static void test_option_lists_add_up(void **state)
{
	(void)state;
	struct diags d = {0};
	struct policy *p = load(
	    TWICE_BASE
	    "verifier v http http://198.18.2.2/ expect 200 expect 301-302 "
	    "every 10s\n"
	    "verifier w http http://198.18.2.3/ every 10s\n"
	    "farm f { server a 198.18.2.2 server b 198.18.2.3\n"
	    " verify http \"http://*/\" every 10s expect 200 expect 204 }\n"
	    "publish \"p\" tcp 80 on 198.18.1.1 to f\n"
	    "alert x when packets_spoofed > 5 rearm 5m\n"
	    "alert y when packets_spoofed > 9 rearm 5m\n"
	    "rule r allow ssh from lan to 198.18.2.0/24 users a\n"
	    "  during workhours log\n",
	    &d);
	dump(&d);
	assert_non_null(p);
	assert_int_equal(d.errors, 0);
	assert_int_equal(p->farms[0]->nmembers, 2);
	assert_int_equal(p->farms[0]->verify.nexpect, 2);
	assert_int_equal(p->verifiers[0]->spec.nexpect, 2);
	policy_free(p);
	diags_free(&d);
}

/* The per-source prefixes: defaults 32 and 64, set, and out of range. */
static void test_per_source_prefix(void **state)
{
	struct diags d = {0};
	struct policy *p = load("decisions { per-source 8 }\n", &d);
	assert_non_null(p);
	assert_int_equal(p->decisions.per_source_prefix_v4, 32);
	assert_int_equal(p->decisions.per_source_prefix_v6, 64);
	policy_free(p);
	diags_free(&d);
	memset(&d, 0, sizeof(d));
	p = load("decisions { per-source-prefix-v4 24 per-source-prefix-v6 "
		 "56 }\n", &d);
	assert_non_null(p);
	assert_int_equal(p->decisions.per_source_prefix_v4, 24);
	assert_int_equal(p->decisions.per_source_prefix_v6, 56);
	policy_free(p);
	diags_free(&d);
	memset(&d, 0, sizeof(d));
	p = load("decisions { per-source-prefix-v4 33 }\n"
		 "decisions { per-source-prefix-v6 0 }\n", &d);
	assert_null(p);
	assert_int_equal(d.errors, 2);
	assert_true(has_diag(&d, 1, 34, "bad value '33' (1..32)"));
	assert_true(has_diag(&d, 2, 34, "bad value '0' (1..128)"));
	diags_free(&d);
}

static void test_include(void **state)
{
	char dir[] = "/tmp/sluice-inc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char main_path[256], part[256], loop[256];
	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	snprintf(part, sizeof(part), "%s/nets.conf", dir);
	snprintf(loop, sizeof(loop), "%s/loop.conf", dir);
	FILE *f = fopen(part, "w");
	fputs("network lan { 10.0.0.0/8 }\nnetwork bad { 1.2.3 }\n", f);
	fclose(f);
	f = fopen(main_path, "w");
	fputs("include \"nets.conf\"\nrule \"r\" allow from lan to any\n", f);
	fclose(f);
	struct diags d = {0};
	struct policy *p = policy_load(main_path, &d);
	assert_null(p);
	/* the error names the included file */
	assert_int_equal(d.errors, 1);
	assert_non_null(strstr(d.v[0].loc.file, "nets.conf"));
	assert_int_equal(d.v[0].loc.line, 2);
	diags_free(&d);

	f = fopen(part, "w");
	fputs("network lan { 10.0.0.0/8 }\n", f);
	fclose(f);
	memset(&d, 0, sizeof(d));
	p = policy_load(main_path, &d);
	assert_non_null(p);
	assert_int_equal(p->nrules, 1);
	policy_free(p);
	diags_free(&d);

	f = fopen(loop, "w");
	fputs("include \"loop.conf\"\n", f);
	fclose(f);
	memset(&d, 0, sizeof(d));
	p = policy_load(loop, &d);
	assert_null(p);
	assert_true(has_diag(&d, 1, 9, "an include cycle"));
	diags_free(&d);
	unlink(part);
	unlink(main_path);
	unlink(loop);
	rmdir(dir);
}

/* Loads a policy whose text is TEXT (in DIR/main.conf); returns whether a
 * diagnostic holds MSG. */
static bool main_says(const char *dir, const char *text, const char *msg)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/main.conf", dir);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	struct diags d = {0};
	struct policy *p = policy_load(path, &d);
	bool found = false;
	for (size_t i = 0; i < d.n; i++)
		found = found || strstr(d.v[i].msg, msg) != NULL;
	policy_free(p);
	diags_free(&d);
	unlink(path);
	return found && !p;
}

/* include of what is not a regular file, and includes without bound: a
 * clear error, never a stall or the memory's end. */
static void test_include_limits(void **state)
{
	char dir[] = "/tmp/sluice-inc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	/* a FIFO nobody writes to: refused at once, not waited on */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_true(main_says(dir, "include \"fifo\"\n", "not a regular file"));
	unlink(path);
	assert_true(main_says(dir, "include \"/dev/zero\"\n", "not a regular file"));
	assert_true(main_says(dir, "include \"/tmp\"\n", "Is a directory"));
	/* each file includes the next twice: 2^12 includes asked for */
	for (int i = 0; i < 12; i++) {
		snprintf(path, sizeof(path), "%s/f%d.conf", dir, i);
		FILE *f = fopen(path, "w");
		if (i < 11)
			fprintf(f, "include \"f%d.conf\"\ninclude \"f%d.conf\"\n",
				i + 1, i + 1);
		fclose(f);
	}
	assert_true(main_says(dir, "include \"f0.conf\"\n",
			      "more than 256 includes in all"));
	for (int i = 0; i < 12; i++) {
		snprintf(path, sizeof(path), "%s/f%d.conf", dir, i);
		unlink(path);
	}
	/* a file included twice side by side is no cycle */
	snprintf(path, sizeof(path), "%s/empty.conf", dir);
	FILE *f = fopen(path, "w");
	fclose(f);
	snprintf(path, sizeof(path), "%s/main.conf", dir);
	f = fopen(path, "w");
	fputs("include \"empty.conf\"\ninclude \"empty.conf\"\n", f);
	fclose(f);
	struct diags d = {0};
	struct policy *p = policy_load(path, &d);
	assert_non_null(p);
	policy_free(p);
	diags_free(&d);
	unlink(path);
	snprintf(path, sizeof(path), "%s/empty.conf", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/* The policy owns everything it holds (file names included) and the
 * caller's diagnostics own theirs: either may be freed first, and loading
 * and freeing again and again (a reload each time) leaves nothing behind
 * (the ASan build's LeakSanitizer fails the test otherwise). */
static void test_policy_owns_what_it_holds(void **state)
{
	char dir[] = "/tmp/sluice-own-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char main_path[256], part[256];
	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	snprintf(part, sizeof(part), "%s/part.conf", dir);
	FILE *f = fopen(part, "w");
	fputs("network lan { 10.0.0.0/8 }\n"
	      "rule \"early\" allow from lan to any\n", f);
	fclose(f);
	f = fopen(main_path, "w");
	/* "late" is shadowed by "early": one warning per load */
	fputs("include \"part.conf\"\n"
	      "rule \"late\" deny from lan to 10.1.0.0/16\n", f);
	fclose(f);
	for (int i = 0; i < 50; i++) {
		struct diags d = {0};
		struct policy *p = policy_load(main_path, &d);
		assert_non_null(p);
		assert_int_equal(d.warnings, 1);
		const char *wfile = d.v[0].loc.file;
		if (i % 2) { /* the diagnostics outlive the policy */
			policy_free(p);
			assert_non_null(strstr(wfile, "main.conf"));
			diags_free(&d);
		} else { /* the policy outlives the diagnostics */
			diags_free(&d);
			assert_non_null(strstr(policy_rule(p, "early")->loc.file,
					       "part.conf"));
			assert_non_null(strstr(policy_rule(p, "late")->loc.file,
					       "main.conf"));
			policy_free(p);
		}
	}
	unlink(part);
	unlink(main_path);
	rmdir(dir);
}

/* verifier NAME dns SERVER name NAME [type a|aaaa] [answer ADDRESS]
 * [port P], standalone and as a farm's verify (the member is the server). */
static void test_verifier_dns(void **state)
{
	struct diags d = {0};
	struct policy *p = load(
	    "verifier \"r1\" dns 10.1.0.53 name www.example.com every 10s timeout 2s\n"
	    "verifier \"r2\" dns 2001:db8::53 port 5353 name _ldap._tcp.example.com.\n"
	    "  type aaaa answer 2001:db8::80 notify \"/bin/true\"\n"
	    "farm ns { server a 10.1.0.53 server b 10.1.0.54\n"
	    "  verify dns name www.example.com answer 192.0.2.80 }\n",
	    &d);
	dump(&d);
	assert_non_null(p);
	assert_int_equal(p->nverifiers, 2);
	const struct verify_spec *r1 = &p->verifiers[0]->spec,
				 *r2 = &p->verifiers[1]->spec;
	assert_int_equal(r1->method, VM_DNS);
	assert_string_equal(r1->target, "10.1.0.53");
	assert_string_equal(r1->qname, "www.example.com");
	assert_int_equal(r1->qtype, DNSQ_A); /* the default */
	assert_null(r1->answer);
	assert_int_equal(r1->port, 0); /* 53 (VERIFY_DNS_PORT) */
	assert_int_equal(r2->qtype, DNSQ_AAAA);
	assert_int_equal(r2->port, 5353);
	assert_string_equal(r2->answer, "2001:db8::80");
	assert_non_null(r2->notify);
	assert_int_equal(p->farms[0]->verify.method, VM_DNS);
	assert_null(p->farms[0]->verify.target);
	assert_string_equal(p->farms[0]->verify.answer, "192.0.2.80");
	/* a copy owns the dns strings; a copy is the same check */
	struct verify_spec c;
	verify_spec_copy(&c, r2);
	assert_ptr_not_equal(c.qname, r2->qname);
	assert_true(verify_spec_cfg_equal(&c, r2));
	verify_spec_free(&c);
	policy_free(p);
	diags_free(&d);
}

/* Every verifier method has a name, and the name parses back to it. */
static void test_verify_method_names(void **state)
{
	for (int m = 0; m < VM_COUNT; m++) {
		const char *n = verify_method_name((enum verify_method)m);
		assert_non_null(n);
		assert_int_equal(verify_method_parse(n), m);
	}
	assert_null(verify_method_name(VM_COUNT));
	assert_int_equal(verify_method_parse("ping"), VM_ICMP);
	assert_int_equal(verify_method_parse("https"), VM_HTTP);
	assert_int_equal(verify_method_parse("gopher"), -1);
}

/* verify_spec_cfg_equal sees a change of any row of verify_settings (a
 * new row it does not compare fails here), of the method and target. */
static void test_verify_spec_cfg_equal(void **state)
{
	struct verify_spec a, b;
	verify_spec_init(&a);
	a.method = VM_HTTP;
	a.target = "http://*/x";
	assert_true(verify_spec_cfg_equal(&a, &a));
	struct portrange r = {204, 204};
	for (const struct setting *s = verify_settings; s->key; s++) {
		if (!strcmp(s->key, "notify"))
			continue; /* not the check's identity (model.c) */
		b = a;
		setting_change(s, &b);
		assert_false(verify_spec_cfg_equal(&a, &b));
		if (s->type == ST_STRING) { /* same text, other pointer */
			char copy[] = "changed";
			struct verify_spec c = b;
			*(char **)((char *)&c + s->off) = copy;
			assert_true(verify_spec_cfg_equal(&b, &c));
		}
	}
	b = a;
	b.method = VM_TCP;
	assert_false(verify_spec_cfg_equal(&a, &b));
	b = a;
	b.target = "http://*/y";
	assert_false(verify_spec_cfg_equal(&a, &b));
	/* a deep copy is equal, and owns its strings */
	a.body = "ok";
	a.expect = &r;
	a.nexpect = 1;
	verify_spec_copy(&b, &a);
	assert_true(verify_spec_cfg_equal(&a, &b));
	assert_ptr_not_equal(a.body, b.body);
	verify_spec_free(&b);
}

/* CHANGE_ROW over every row of block BLOCK: a copy of a policy with the
 * defaults, that row changed, compares unequal to the original
 * (resolver_cfg_equal, directory_cfg_equal: a forgotten field fails). */
#define CFG_EQUAL_EVERY_ROW(block, field, equal)                               \
	do {                                                                   \
		const struct settings_block *blk = settings_block_find(block); \
		struct policy *pa = calloc(1, sizeof(*pa)),                    \
			      *pb = calloc(1, sizeof(*pb));                    \
		assert_non_null(blk);                                          \
		settings_apply_defaults(blk->table, pa);                       \
		assert_true(equal(&pa->field, &pa->field));                    \
		for (const struct setting *s = blk->table; s->key; s++) {      \
			*pb = *pa;                                             \
			setting_change(s, pb);                                 \
			if (equal(&pa->field, &pb->field))                     \
				fail_msg("%s %s: change not seen", block,      \
					 s->key);                              \
		}                                                              \
		free(pa);                                                      \
		free(pb);                                                      \
	} while (0)

/* resolver_cfg_equal and directory_cfg_equal see a change of any row of
 * their block (and `enabled`, the block's presence); strings and lists
 * compare by value, and a deep copy is equal and owns its strings. */
static void test_lookup_cfg_equal(void **state)
{
	CFG_EQUAL_EVERY_ROW("resolver", resolver, resolver_cfg_equal);
	CFG_EQUAL_EVERY_ROW("directory", directory, directory_cfg_equal);

	char s1[] = "192.0.2.53", s2[] = "192.0.2.53", s3[] = "192.0.2.54";
	char *v1[] = {s1}, *v2[] = {s2}, *v3[] = {s3};
	struct resolver_cfg ra = {.servers = v1, .nservers = 1}, rb = ra, rc;
	rb.servers = v2;
	assert_true(resolver_cfg_equal(&ra, &rb));
	rb.servers = v3;
	assert_false(resolver_cfg_equal(&ra, &rb));
	resolver_cfg_copy(&rc, &ra);
	assert_true(resolver_cfg_equal(&ra, &rc));
	assert_ptr_not_equal(rc.servers[0], ra.servers[0]);
	resolver_cfg_clear(&rc);
	assert_int_equal(rc.nservers, 0);

	char u1[] = "ldap://192.0.2.1", u2[] = "ldap://192.0.2.1";
	struct directory_cfg da = {.enabled = true, .uri = u1}, db = da, dc;
	db.uri = u2;
	assert_true(directory_cfg_equal(&da, &db));
	db.enabled = false;
	assert_false(directory_cfg_equal(&da, &db));
	directory_cfg_copy(&dc, &da);
	assert_true(directory_cfg_equal(&da, &dc));
	assert_ptr_not_equal(dc.uri, da.uri);
	directory_cfg_clear(&dc);
	assert_null(dc.uri);
}

/* Networks bound to interfaces and nat rules: what they mean (the match
 * functions the what-if uses) and the checker's errors and warnings. */
static void test_nat_interfaces(void **state)
{
	static const char text[] =
	    "network lan { 198.18.1.0/24 2001:db8:1::/64 } on lan0\n"
	    "network dmz { 198.18.2.0/24 } on { dmz0 dmz1 }\n"
	    "network lab { 198.18.8.0/24 }\n"
	    "nat lan to external\n"
	    "nat lan to dmz via 198.18.2.1\n"
	    "nat dmz to lab\n";
	struct diags d = {0};
	struct policy *p = load(text, &d);
	assert_non_null(p);
	assert_int_equal(p->nnats, 3);
	assert_int_equal(p->nets[1]->nifaces, 2);
	assert_string_equal(p->nets[1]->ifaces[1], "dmz1");
	assert_true(policy_iface_bound(p, "lan0"));
	assert_false(policy_iface_bound(p, "wan0"));
	assert_true(has_diag(&d, 6, 5, "bound to no interface"));

	struct flow f = {0};
	char *err = NULL;
	assert_int_equal(flow_parse("tcp 198.18.1.5:4000 -> 203.0.113.7:443",
				    &f, &err), 0);
	assert_ptr_equal(policy_nat_match(p, &f, "wan0"), p->nats[0]);
	assert_ptr_equal(policy_nat_match(p, &f, NULL), p->nats[0]);
	/* routed out of dmz0: the kernel matches dmz by its interfaces */
	assert_ptr_equal(policy_nat_match(p, &f, "dmz0"), p->nats[1]);
	assert_ptr_equal(policy_network_of(p, &f, false), p->nets[0]);
	assert_null(policy_network_of(p, &f, true));
	assert_int_equal(flow_parse("tcp 198.18.1.5:4000 -> 198.18.2.7:443",
				    &f, &err), 0);
	assert_ptr_equal(policy_nat_match(p, &f, "dmz1"), p->nats[1]);
	assert_ptr_equal(policy_nat_match(p, &f, NULL), p->nats[1]);
	assert_int_equal(flow_parse("tcp [2001:db8:1::5]:4000 -> "
				    "[2001:db8:2::7]:443", &f, &err), 0);
	assert_ptr_equal(policy_nat_match(p, &f, "wan0"), p->nats[0]);
	assert_int_equal(flow_parse("tcp 198.18.2.5:4000 -> 198.18.8.7:443",
				    &f, &err), 0);
	assert_ptr_equal(policy_nat_match(p, &f, "eth9"), p->nats[2]);
	assert_int_equal(flow_parse("tcp 198.18.2.5:4000 -> 198.18.1.7:443",
				    &f, &err), 0);
	assert_null(policy_nat_match(p, &f, "lan0"));

	/* spoofing, as the kernel's antispoof chain judges it */
	assert_false(policy_spoofed(p, &f, "dmz1"));  /* dmz on its own */
	assert_true(policy_spoofed(p, &f, "lan0"));   /* dmz on lan's */
	assert_true(policy_spoofed(p, &f, "wan0"));   /* dmz from outside */
	assert_false(policy_spoofed(p, &f, "lo"));
	assert_false(policy_spoofed(p, &f, NULL));
	assert_int_equal(flow_parse("tcp 203.0.113.9:4000 -> 198.18.1.7:443",
				    &f, &err), 0);
	assert_false(policy_spoofed(p, &f, "wan0")); /* external side */
	assert_true(policy_spoofed(p, &f, "lan0"));
	assert_int_equal(flow_parse("tcp [2001:db8:9::1]:4000 -> "
				    "[2001:db8:1::7]:443", &f, &err), 0);
	assert_true(policy_spoofed(p, &f, "lan0"));
	assert_true(policy_spoofed(p, &f, "dmz0")); /* dmz has no IPv6 */
	assert_int_equal(flow_parse("tcp [fe80::1]:4000 -> [2001:db8:1::7]:443",
				    &f, &err), 0);
	assert_false(policy_spoofed(p, &f, "dmz0")); /* link-local: ND */
	assert_int_equal(flow_parse("udp 0.0.0.0:68 -> 255.255.255.255:67",
				    &f, &err), 0);
	assert_false(policy_spoofed(p, &f, "lan0")); /* DHCP discover */
	policy_free(p);
	diags_free(&d);

	static const struct {
		const char *text, *msg;
		int line, col;
	} bad[] = {
	    {"network n { 198.18.1.0/24 } on lo\n", "on lo", 1, 32},
	    {"network n { 198.18.1.0/24 } on eth0/1\n", "bad interface name", 1, 32},
	    {"network n { 198.18.1.0/24 } on averyveryverylongname\n", "bad interface name", 1, 32},
	    {"computers c { 198.18.1.1 } on eth0\n", "only a network", 1, 28},
	    {"network n { 198.18.1.0/24 }\nnat n to nowhere\n", "unknown network 'nowhere'", 2, 10},
	    {"network n { 198.18.1.0/24 }\nnat external to n\n", "nat from external", 2, 5},
	    {"network n { 198.18.1.0/24 }\nnat n to n\n", "a network to itself", 2, 5},
	    {"computers c { 198.18.1.1 }\nnat c to external\n", "is a computer set", 2, 5},
	    {"network n { 198.18.1.0/24 }\nnat n external\n", "expected 'to NETWORK'", 2, 7},
	    {"network n { 198.18.1.0/24 }\nnat n to external via nowhere\n", "expected an address", 2, 23},
	    {"network n { 198.18.1.0/24 }\nnat n to external via 2001:db8::1\n", "has no IPv6 address", 2, 5},
	    {"network a { 198.18.1.0/24 } on a0\nnetwork b { 198.18.1.0/25 } on b0\n"
	     "nat a to external\nnat b to external via 198.18.0.1\n",
	     "overlaps nat a to external", 4, 5},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct diags e = {0};
		struct policy *q = load(bad[i].text, &e);
		if (!has_diag(&e, bad[i].line, bad[i].col, bad[i].msg)) {
			fprintf(stderr, "case %zu: wanted %d:%d: %s, got:\n", i,
				bad[i].line, bad[i].col, bad[i].msg);
			dump(&e);
			fail();
		}
		assert_null(q);
		diags_free(&e);
	}

	/* warnings: shared addresses on two interfaces; external without any
	 * bound network */
	struct diags w = {0};
	p = load("network a { 198.18.1.0/24 } on a0\n"
		 "network b { 198.18.1.0/25 } on b0\n", &w);
	assert_non_null(p);
	assert_true(has_diag(&w, 2, 9, "share addresses"));
	policy_free(p);
	diags_free(&w);
	p = load("network a { 198.18.1.0/24 }\nnat a to external\n", &w);
	assert_non_null(p);
	assert_true(has_diag(&w, 2, 5, "no network is bound"));
	policy_free(p);
	diags_free(&w);
}

static void test_garbage_never_crashes(void **state)
{
	static const char *const inputs[] = {
	    "", "{", "}", "{{{{", "rule", "rule \"", "network n {",
	    "protocol p tcp {", "farm f { server", "\x01\x02\xff", "users u {",
	    "schedule s { mon", "rule r allow { from any to any",
	    "decisions { slots", "verifier v http", "include",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct diags d = {0};
		struct policy *p = load(inputs[i], &d);
		if (p) /* only the empty policy is valid */
			assert_string_equal(inputs[i], "");
		else
			assert_true(d.errors > 0);
		policy_free(p);
		diags_free(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_design_example),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_reject_action),
	    cmocka_unit_test(test_listen_ports),
	    cmocka_unit_test(test_errors_located_in_one_pass),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_shadowed_rules_warn),
	    cmocka_unit_test(test_verifier_timeout_warning),
	    cmocka_unit_test(test_verifier_dns),
	    cmocka_unit_test(test_unread_dns_warning),
	    cmocka_unit_test(test_directory_settings),
	    cmocka_unit_test(test_directory_gssapi),
	    cmocka_unit_test(test_schedule_minutes),
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_setting_twice_in_block),
	    cmocka_unit_test(test_verifier_option_twice),
	    cmocka_unit_test(test_farm_verify_option_twice),
	    cmocka_unit_test(test_farm_option_twice),
	    cmocka_unit_test(test_alert_option_twice),
	    cmocka_unit_test(test_rule_clause_twice),
	    cmocka_unit_test(test_option_lists_add_up),
	    cmocka_unit_test(test_no_ssh_warning),
	    cmocka_unit_test(test_per_source_prefix),
	    cmocka_unit_test(test_include),
	    cmocka_unit_test(test_include_limits),
	    cmocka_unit_test(test_policy_owns_what_it_holds),
	    cmocka_unit_test(test_verify_method_names),
	    cmocka_unit_test(test_verify_spec_cfg_equal),
	    cmocka_unit_test(test_lookup_cfg_equal),
	    cmocka_unit_test(test_nat_interfaces),
	    cmocka_unit_test(test_garbage_never_crashes),
	    cmocka_unit_test(test_log_folder),
	    cmocka_unit_test(test_files_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
