/*
 * test_portal.c — the login portal's pieces that need no network: the
 * sign-in form reader (src/portal/form.c: odd bytes arrive intact, bad
 * escapes and overlong values are refused) and the policy's portal block
 * (src/policy/validate.c: what `check` refuses and warns about), the script
 * that fills the kernel's sets of identified addresses (src/kernel), the
 * password-guessing throttle (src/portal/guard.c: by address, source prefix
 * and user name) and the per-source connection limits' rule
 * (src/stats/httpsrv.c http_source_match).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kernel/ruleset.h"
#include "portal/portal.h"
#include "stats/httpsrv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int form(const char *body, const char *key, char *out, size_t outlen,
		size_t *len)
{
	return form_value(body, strlen(body), key, out, outlen, len);
}

static void test_form_values(void **state)
{
	char out[64];
	size_t len;
	assert_int_equal(form("user=carol&password=p%C3%A4%24%24+%22w%26rd%22+100%25%2B1",
			      "password", out, sizeof(out), &len), 0);
	assert_string_equal(out, "p\xc3\xa4$$ \"w&rd\" 100%+1");
	assert_int_equal(len, strlen(out));
	assert_int_equal(form("user=carol&password=x", "user", out, sizeof(out),
			      &len), 0);
	assert_string_equal(out, "carol");
	/* a key is matched whole, never as a prefix or inside a value */
	assert_int_equal(form("username=eve&x=user=mallory", "user", out,
			      sizeof(out), &len), -1);
	assert_int_equal(form("password", "password", out, sizeof(out), &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(form("", "user", out, sizeof(out), &len), -1);
	/* a NUL byte comes out (the length tells), it does not cut the value */
	assert_int_equal(form("password=a%00b", "password", out, sizeof(out),
			      &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "a\0b", 3);
}

static void test_form_refusals(void **state)
{
	char out[8];
	size_t len;
	assert_int_equal(form("p=%zz", "p", out, sizeof(out), &len), -2);
	assert_int_equal(form("p=%4", "p", out, sizeof(out), &len), -2);
	assert_int_equal(form("p=%", "p", out, sizeof(out), &len), -2);
	assert_int_equal(form("p=1234567", "p", out, sizeof(out), &len), 0);
	assert_int_equal(form("p=12345678", "p", out, sizeof(out), &len), -2);
	/* the body is not NUL-terminated: only BLEN bytes are read */
	const char body[] = {'p', '=', 'a', 'b', 'c'};
	assert_int_equal(form_value(body, 4, "p", out, sizeof(out), &len), 0);
	assert_string_equal(out, "ab");
}

/* The folder holding the files `c` (the certificate) and `k` (its key)
 * the cases name: "certificate c" and "key k" in a case stand for them,
 * as absolute paths (a relative one is an error). */
static char files_dir[64];

/* TEXT with every " c " / " k " word made DIR/c, DIR/k, into OUT. */
static void with_files(const char *text, char *out, size_t len)
{
	size_t o = 0;
	for (const char *t = text; *t && o + 80 < len; t++) {
		if (t[0] == ' ' && (t[1] == 'c' || t[1] == 'k') &&
		    (t[2] == ' ' || t[2] == '\0')) {
			o += (size_t)snprintf(out + o, len - o, " %s/%c", files_dir,
					      t[1]);
			t++;
			continue;
		}
		out[o++] = *t;
	}
	out[o] = '\0';
}

/* The errors and warnings `check` gives POLICY's portal block. */
static void check_portal(const char *portal, const char *directory,
			 int errors, int warnings)
{
	char text[1024], block[512];
	with_files(portal, block, sizeof(block));
	snprintf(text, sizeof(text),
		 "network lan { 198.18.1.0/24 }\nusers staff { group staff }\n"
		 "protocol web tcp 80\nrule r allow web from lan to any users staff\n"
		 "protocol ssh tcp 22\n" /* no anti-lockout warning here */
		 "rule admin allow ssh from lan to localhost\n"
		 "%s\n%s\n",
		 directory, block);
	struct diags d = {0};
	struct policy *p = policy_load_buffer("t.conf", text, strlen(text), &d);
	if (d.errors != errors || d.warnings != warnings) {
		diags_print(&d, stdout);
		fail_msg("%s: %d errors, %d warnings (want %d, %d)", portal,
			 d.errors, d.warnings, errors, warnings);
	}
	policy_free(p);
	diags_free(&d);
}

/* The portal block's cases, run where `c` and `k` exist. */
static void portal_block_cases(void)
{
	/* a base with dc= parts: the own realms are derived from it */
	const char *tls = "directory ldap { uri \"ldaps://198.18.4.2\" "
			  "base \"dc=corp,dc=example\" }";
	const char *plain = "directory ldap { uri \"ldap://198.18.4.2\" "
			    "base \"dc=corp,dc=example\" }";
	check_portal("portal { listen 198.18.1.1:8443 certificate c key k }",
		     tls, 0, 0);
	check_portal("portal { listen [2001:db8::1]:8443 certificate c key k "
		     "lifetime 1h idle 10m }", tls, 0, 0);
	/* no directory to sign in against */
	check_portal("portal { listen 198.18.1.1:8443 certificate c key k }",
		     "", 1, 0);
	/* a wildcard, port 80 (the redirects'), no port, a name */
	check_portal("portal { listen 0.0.0.0:8443 certificate c key k }", tls,
		     1, 0);
	check_portal("portal { listen [::]:8443 certificate c key k }", tls,
		     1, 0);
	check_portal("portal { listen 198.18.1.1:80 certificate c key k }", tls,
		     1, 0);
	check_portal("portal { listen 198.18.1.1 certificate c key k }", tls, 1,
		     0);
	check_portal("portal { listen gw.lab:8443 certificate c key k }", tls,
		     1, 0);
	check_portal("portal { listen 198.18.1.1:8443 }", tls, 1, 0);
	/* passwords in clear; idle past lifetime */
	check_portal("portal { listen 198.18.1.1:8443 certificate c key k }",
		     plain, 0, 1);
	check_portal("portal { listen 198.18.1.1:8443 certificate c key k "
		     "lifetime 60s idle 120s }", tls, 0, 1);
	check_portal("portal { certificate c key k }", tls, 0, 1);
}

/* Runs the portal checks with `c` and `k` in a fresh folder: first
 * missing, then there (the key mode 600), then wrong. */
static void test_portal_block(void **state)
{
	(void)state;
	snprintf(files_dir, sizeof(files_dir), "/tmp/sluice-portal.XXXXXX");
	assert_non_null(mkdtemp(files_dir));
	char c[96], k[96];
	snprintf(c, sizeof(c), "%s/c", files_dir);
	snprintf(k, sizeof(k), "%s/k", files_dir);
	const char *tls = "directory ldap { uri \"ldaps://198.18.4.2\" "
			  "base \"dc=corp,dc=example\" }";
	/* missing files: warnings (the portal cannot start; the gateway runs) */
	check_portal("portal { listen 198.18.1.1:8443 certificate c key k }",
		     tls, 0, 2);
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(i ? k : c, "w");
		assert_non_null(f);
		fputs("x\n", f);
		fclose(f);
		assert_int_equal(chmod(i ? k : c, i ? 0600 : 0644), 0);
	}
	portal_block_cases();
	/* a relative path, a key others may read, a folder as the
	 * certificate (a warning) and as the key (an error) */
	check_portal("portal { listen 198.18.1.1:8443 certificate cert.pem "
		     "key k }", tls, 1, 0);
	assert_int_equal(chmod(k, 0644), 0);
	check_portal("portal { listen 198.18.1.1:8443 certificate c key k }",
		     tls, 1, 0);
	char text[256];
	snprintf(text, sizeof(text), "portal { listen 198.18.1.1:8443 "
		 "certificate %s key %s }", files_dir, files_dir);
	check_portal(text, tls, 1, 1);
	unlink(c);
	unlink(k);
	assert_int_equal(rmdir(files_dir), 0);
}

/* The sets of identified addresses: flushed and filled in one script,
 * elements in batches of 256. */
static void test_sync_script(void **state)
{
	struct ruleset_opts o = {.table = "t"};
	const char *v4[] = {"198.18.1.2", "198.18.5.0/24"};
	const char *v6[] = {"2001:db8::7"};
	char *s = portal_sync_script(&o, v4, 2, v6, 1);
	assert_string_equal(s, "flush set inet t portal_known4\n"
			       "add element inet t portal_known4 { 198.18.1.2, "
			       "198.18.5.0/24 }\n"
			       "flush set inet t portal_known6\n"
			       "add element inet t portal_known6 { 2001:db8::7 }\n");
	free(s);
	s = portal_sync_script(&o, NULL, 0, NULL, 0);
	assert_string_equal(s, "flush set inet t portal_known4\n"
			       "flush set inet t portal_known6\n");
	free(s);
	const char **many = calloc(600, sizeof(*many));
	for (size_t i = 0; i < 600; i++)
		many[i] = "198.18.1.9";
	s = portal_sync_script(&o, many, 600, NULL, 0);
	size_t adds = 0;
	for (const char *p = s; (p = strstr(p, "add element")); p++)
		adds++;
	assert_int_equal(adds, 3);
	free(s);
	free(many);
}

/* TEXT (an IPv4 or IPv6 address) as a socket address in SS. */
static const struct sockaddr *sa_of(struct sockaddr_storage *ss,
				    const char *text)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &v6->sin6_addr), 1);
		v6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

/* The portal's per-source connection limits count by this rule: the same
 * address (2), the same prefix (1: IPv6 /64, IPv4 /32 by default), an
 * IPv4-mapped address as IPv4. */
static void test_source_match(void **state)
{
	(void)state;
	struct sockaddr_storage a, b;
	assert_int_equal(http_source_match(sa_of(&a, "2001:db8:1::2"),
					   sa_of(&b, "2001:db8:1::2"), 32, 64), 2);
	assert_int_equal(http_source_match(sa_of(&a, "2001:db8:1::2"),
					   sa_of(&b, "2001:db8:1::1ff"), 32, 64),
			 1);
	assert_int_equal(http_source_match(sa_of(&a, "2001:db8:1::2"),
					   sa_of(&b, "2001:db8:1:1::2"), 32, 64),
			 0);
	assert_int_equal(http_source_match(sa_of(&a, "2001:db8:1::2"),
					   sa_of(&b, "2001:db8:1:1::2"), 32, 56),
			 1);
	assert_int_equal(http_source_match(sa_of(&a, "198.18.1.2"),
					   sa_of(&b, "198.18.1.3"), 32, 64), 0);
	assert_int_equal(http_source_match(sa_of(&a, "198.18.1.2"),
					   sa_of(&b, "198.18.1.3"), 24, 64), 1);
	assert_int_equal(http_source_match(sa_of(&a, "198.18.1.2"),
					   sa_of(&b, "::ffff:198.18.1.2"), 32,
					   64), 2);
	assert_int_equal(http_source_match(sa_of(&a, "198.18.1.2"),
					   sa_of(&b, "2001:db8:1::2"), 32, 64), 0);
	/* odd prefix lengths: only the prefix's bits count */
	assert_int_equal(http_source_match(sa_of(&a, "198.18.1.2"),
					   sa_of(&b, "198.18.1.130"), 25, 64), 0);
	assert_int_equal(http_source_match(sa_of(&a, "198.18.1.2"),
					   sa_of(&b, "198.18.1.127"), 25, 64), 1);
}

/* Signs USER in from ADDR at NOW and has it refused; gives the verdict
 * before. */
static enum guard_verdict try_refused(struct guard *g, const char *addr,
				      const char *user, time_t now)
{
	struct sockaddr_storage ss;
	struct guard_keys k;
	assert_int_equal(guard_keys(&k, sa_of(&ss, addr), 32, 64, user), 0);
	enum guard_verdict v = guard_check(g, &k, now);
	if (v == GUARD_OK)
		guard_refused(g, &k, now);
	return v;
}

/* The guessing throttle counts refusals by address, by source prefix
 * (an IPv6 /64: fresh addresses of one's own subnet do not reset it) and
 * by user name (guesses at one account from many sources), the last with
 * a short backoff that never holds back a client without refusals. */
static void test_guard(void **state)
{
	(void)state;
	struct guard *g = guard_new();
	struct sockaddr_storage ss;
	struct guard_keys k;
	assert_int_equal(guard_keys(&k, sa_of(&ss, "2001:db8:1::2"), 32, 64,
				    "Carol"), 0);
	assert_string_equal(k.addr, "a 2001:db8:1::2");
	assert_string_equal(k.prefix, "p 2001:db8:1::/64");
	assert_string_equal(k.user, "u carol");
	assert_int_equal(guard_keys(&k, sa_of(&ss, "::ffff:198.18.1.9"), 24,
				    64, "x"), 0);
	assert_string_equal(k.prefix, "p 198.18.1.0/24");
	time_t t = 1000;
	/* one address: 5, then throttled */
	for (int i = 0; i < GUARD_ADDR_MAX; i++)
		assert_int_equal(try_refused(g, "2001:db8:1::2", "carol", t),
				 GUARD_OK);
	assert_int_equal(try_refused(g, "2001:db8:1::2", "dave", t), GUARD_ADDR);
	/* fresh addresses of the /64, other names: 20 a window in all */
	int ok = 0;
	for (int a = 16; a < 24; a++)
		for (int i = 0; i < 5; i++) {
			char addr[64], user[16];
			snprintf(addr, sizeof(addr), "2001:db8:1::%x", 256 + a);
			snprintf(user, sizeof(user), "u%d-%d", a, i);
			ok += try_refused(g, addr, user, t) == GUARD_OK;
		}
	assert_int_equal(ok, GUARD_PREFIX_MAX - GUARD_ADDR_MAX);
	assert_int_equal(try_refused(g, "2001:db8:1::77", "erin", t),
			 GUARD_PREFIX);
	/* another /64, IPv4: not held back */
	assert_int_equal(try_refused(g, "2001:db8:1:1::2", "erin", t), GUARD_OK);
	assert_int_equal(try_refused(g, "198.18.1.2", "erin", t), GUARD_OK);
	/* the window over: the /64 may try again */
	assert_int_equal(try_refused(g, "2001:db8:1::77", "erin",
				     t + GUARD_WINDOW_S), GUARD_OK);
	guard_free(g);

	/* one name from many IPv4 sources: each fresh source may try once,
	 * a source with refusals of its own waits GUARD_USER_BACKOFF_S after
	 * the name's last refusal */
	g = guard_new();
	t = 5000;
	for (int i = 0; i < GUARD_USER_MAX; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "198.18.1.%d", 10 + i);
		assert_int_equal(try_refused(g, addr, "carol", t), GUARD_OK);
	}
	assert_int_equal(try_refused(g, "198.18.1.10", "carol", t), GUARD_USER);
	assert_int_equal(try_refused(g, "198.18.1.10", "CAROL", t + 1),
			 GUARD_USER);
	assert_int_equal(try_refused(g, "198.18.1.10", "dave", t + 1),
			 GUARD_OK); /* other names: the address's own limit */
	/* the owner at a clean address is let try */
	struct guard_keys owner;
	assert_int_equal(guard_keys(&owner, sa_of(&ss, "198.18.1.200"), 32, 64,
				    "carol"), 0);
	assert_int_equal(guard_check(g, &owner, t + 1), GUARD_OK);
	/* after the backoff, one more guess; then the backoff again */
	assert_int_equal(try_refused(g, "198.18.1.11", "carol",
				     t + GUARD_USER_BACKOFF_S), GUARD_OK);
	assert_int_equal(try_refused(g, "198.18.1.12", "carol",
				     t + GUARD_USER_BACKOFF_S), GUARD_USER);
	/* a sign-in clears the address's and the name's refusals */
	guard_signed_in(g, &owner, t + 6);
	assert_int_equal(try_refused(g, "198.18.1.12", "carol", t + 6),
			 GUARD_OK);
	guard_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_form_values),
	    cmocka_unit_test(test_form_refusals),
	    cmocka_unit_test(test_portal_block),
	    cmocka_unit_test(test_sync_script),
	    cmocka_unit_test(test_source_match),
	    cmocka_unit_test(test_guard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
