/* test_username.c — the one canonical form of a user name
 * (common/username.h): the site's own realms and domains dropped, every
 * other realm or domain kept (another organisation's account), case
 * folded for ASCII only; the folded form (RFC 4518, as a directory
 * matches) and the lists compared by it; and the own realms a policy derives (identity
 * own-realms, the directory's base and principal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/username.h"
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *corp_v[] = {"CORP.EXAMPLE", "corp"};
static const struct own_realms corp = {corp_v, 2};

/* NAME's canonical form under OWN is WANT (NULL: no name). */
static void canon_is(const struct own_realms *own, const char *name,
		     const char *want)
{
	char *k = user_name_canon(own, name);
	if (!want ? k != NULL : !k || strcmp(k, want) != 0)
		fail_msg("'%s': got '%s', want '%s'", name, k ? k : "(null)",
			 want ? want : "(null)");
	free(k);
}

/* Own realms and domains are dropped, in either position and any case. */
static void test_own_stripped(void **state)
{
	(void)state;
	const char *alice[] = {"alice", "ALICE", "alice@CORP.EXAMPLE",
			       "Alice@corp.example", "CORP\\alice",
			       "corp\\ALICE", "CORP.EXAMPLE\\alice",
			       "CORP\\alice@corp.example", "alice@corp",
			       " alice ", "\talice@corp.example \r\n"};
	for (size_t i = 0; i < N(alice); i++) {
		canon_is(&corp, alice[i], "alice");
		assert_true(user_name_equal(&corp, alice[i], "alice"));
	}
}

/* Another realm's or domain's account keeps its realm: it is never the
 * local user, whatever the case. */
static void test_foreign_kept(void **state)
{
	(void)state;
	canon_is(&corp, "alice@partner.example", "alice@partner.example");
	canon_is(&corp, "Alice@PARTNER.example", "alice@partner.example");
	canon_is(&corp, "PARTNER\\Alice", "partner\\alice");
	/* a subdomain, a suffix, a prefix of ours: not ours */
	canon_is(&corp, "alice@sub.corp.example", "alice@sub.corp.example");
	canon_is(&corp, "alice@corp.example.evil", "alice@corp.example.evil");
	canon_is(&corp, "alice@xcorp", "alice@xcorp");
	canon_is(&corp, "alice@corp.example.", "alice@corp.example.");
	/* one foreign part keeps the whole name */
	canon_is(&corp, "PARTNER\\alice@corp.example",
		 "partner\\alice@corp.example");
	canon_is(&corp, "CORP\\alice@partner.example",
		 "corp\\alice@partner.example");
	const char *other[] = {"alice@partner.example", "PARTNER\\alice",
			       "alice@sub.corp.example",
			       "CORP\\alice@partner.example"};
	for (size_t i = 0; i < N(other); i++)
		assert_false(user_name_equal(&corp, other[i], "alice"));
	/* the two foreign spellings are not merged with each other either */
	assert_false(user_name_equal(&corp, "alice@partner.example",
				     "PARTNER\\alice"));
	assert_true(user_name_equal(&corp, "alice@partner.example",
				    " ALICE@Partner.Example"));
}

/* With no own realm, nothing is dropped: fail closed. */
static void test_no_realms(void **state)
{
	(void)state;
	const struct own_realms none = {0};
	canon_is(&none, "alice@CORP.EXAMPLE", "alice@corp.example");
	canon_is(NULL, "CORP\\alice", "corp\\alice");
	canon_is(NULL, " Alice ", "alice");
	assert_false(user_name_equal(NULL, "alice@corp.example", "alice"));
	assert_false(user_name_equal(&none, "CORP\\alice", "alice"));
}

/* Empty and odd input: no name, never a match, never a crash. */
static void test_odd_input(void **state)
{
	(void)state;
	const char *none[] = {"", " ", "\t\n", "@", "\\", "@@", "\\\\",
			      "alice@", "@corp", "@corp.example", "CORP\\",
			      "\\alice", " @ ", "corp\\ ", "alice@ "};
	for (size_t i = 0; i < N(none); i++) {
		canon_is(&corp, none[i], NULL);
		assert_false(user_name_equal(&corp, none[i], none[i]));
	}
	canon_is(&corp, NULL, NULL);
	assert_false(user_name_equal(&corp, NULL, NULL));
	assert_false(user_name_equal(&corp, "alice", NULL));
	/* inner spaces stay: "al ice" is not alice */
	canon_is(&corp, "al ice", "al ice");
	/* several @: the realm follows the last one (RFC 7542) */
	canon_is(&corp, "a@b@corp.example", "a@b");
	canon_is(&corp, "a@b@partner", "a@b@partner");
	/* an own domain, then another \\: the rest is the user, kept */
	canon_is(&corp, "CORP\\PARTNER\\alice", "partner\\alice");
	/* one step, never two: a name whose canonical form would lose an own
	 * realm again is no name (the portal's form, canonicalised again by
	 * sluiced, would have been carol: another entry signed in as her) */
	canon_is(&corp, "carol@corp.example@corp.example", NULL);
	canon_is(&corp, "carol@corp@CORP.EXAMPLE", NULL);
	canon_is(&corp, "CORP\\CORP\\carol", NULL);
	canon_is(&corp, "CORP\\carol@corp", "carol");
	assert_false(user_name_equal(&corp, "carol@corp.example@corp.example",
				     "carol"));
	/* the span never allocates and points into the name */
	size_t n;
	const char *s = user_name_span(&corp, "  CORP\\Bob@corp ", &n);
	assert_int_equal(n, 3);
	assert_memory_equal(s, "Bob", 3);
}

/* UTF-8 bytes are compared exactly (only ASCII case folds) and kept. */
static void test_unicode_bytes(void **state)
{
	(void)state;
	canon_is(&corp, "J\xc3\xb6rg@CORP.EXAMPLE", "j\xc3\xb6rg");
	canon_is(&corp, "J\xc3\x96RG", "j\xc3\x96rg");
	assert_false(user_name_equal(&corp, "j\xc3\xb6rg", "j\xc3\x96rg"));
	canon_is(&corp, "\xc3\xa9ve@partn\xc3\xa9r",
		 "\xc3\xa9ve@partn\xc3\xa9r");
	char *u_v[] = {"\xc3\x89QUIPE"};
	const struct own_realms u = {u_v, 1};
	/* a realm's non-ASCII bytes match only as they are */
	canon_is(&u, "bob@\xc3\x89quipe", "bob");
	canon_is(&u, "bob@\xc3\xa9quipe", "bob@\xc3\xa9quipe");
}

/* NAME's folded form under OWN is WANT (NULL: none). */
static void fold_is(const struct own_realms *own, const char *name,
		    const char *want)
{
	char *k = user_name_fold(own, name);
	if (!want ? k != NULL : !k || strcmp(k, want) != 0)
		fail_msg("fold '%s': got '%s', want '%s'", name,
			 k ? k : "(null)", want ? want : "(null)");
	free(k);
}

/* The folded form: what slapd's caseIgnoreMatch takes for one uid (RFC
 * 4518) folds alike; other names stay apart. */
static void test_fold(void **state)
{
	(void)state;
	const char *nagios[] = {
	    "nagios", "NAGIOS", "nagios@corp.example", "CORP\\nagios",
	    "\xef\xbd\x8e" "agios",		    /* fullwidth n */
	    "\xef\xbc\xae\xef\xbc\xa1GIOS",	    /* fullwidth N A */
	    "nagios\xc2\xa0",		    /* a no-break space after */
	    "\xe3\x80\x80nagios",		    /* an ideographic space */
	    "na\xc2\xadgios",		    /* a soft hyphen */
	    "na\xe2\x80\x8bgios",		    /* a zero width space */
	    "nagi\xe2\x80\x8dos",		    /* a zero width joiner */
	    "nagios\xef\xbc\xa0" "corp.example",	    /* a fullwidth @ */
	    "nagios@\xef\xbc\xa3ORP.EXAMPLE",	    /* a realm's fullwidth C */
	    "CORP\xef\xbc\xbcnagios",		    /* a fullwidth \\ */
	};
	for (size_t i = 0; i < N(nagios); i++)
		fold_is(&corp, nagios[i], "nagios");
	/* case folding beyond ASCII, and NFKC's compatibility forms */
	fold_is(&corp, "J\xc3\x96RG", "j\xc3\xb6rg");
	fold_is(&corp, "Jo\xcc\x88rg", "j\xc3\xb6rg"); /* o + combining */
	fold_is(&corp, "STRA\xc3\x9f" "E", "strasse");
	/* inner runs of spaces become one; none at either end */
	fold_is(&corp, " al \xc2\xa0 ice\t", "al ice");
	/* another realm stays whole, folded; one step, never two */
	fold_is(&corp, "Alice@PARTNER.example", "alice@partner.example");
	fold_is(&corp, "carol@corp.example\xef\xbc\xa0" "corp", NULL);
	/* no name: not UTF-8, prohibited code points, nothing left */
	fold_is(&corp, "nagios\xff", NULL);
	fold_is(&corp, "nagios\xee\x80\x80", NULL);	 /* private use */
	fold_is(&corp, "nagios\xef\xbf\xbd", NULL);	 /* U+FFFD */
	fold_is(&corp, "nagios\xef\xbf\xbe", NULL);	 /* a non-character */
	fold_is(&corp, "\xc2\xad\xe2\x80\x8b", NULL); /* maps to nothing */
	fold_is(&corp, "", NULL);
	fold_is(&corp, NULL, NULL);
	/* folding never joins different ASCII names */
	fold_is(&corp, "nagios2", "nagios2");
	/* a non-ASCII own realm compares folded */
	char *u_v[] = {"\xc3\x89QUIPE"};
	const struct own_realms u = {u_v, 1};
	fold_is(&u, "bob@\xc3\xa9quipe", "bob");
	fold_is(&u, "bob@E\xcc\x81QUIPE", "bob");
}

/* user_name_listed: what identity { ignore-users } compares. */
static void test_listed(void **state)
{
	(void)state;
	char *list[] = {"nagios", "Backup Agent"};
	assert_true(user_name_listed(&corp, list, 2, "NAGIOS@corp.example"));
	assert_true(user_name_listed(&corp, list, 2, "\xef\xbd\x8e" "agios"));
	assert_true(user_name_listed(&corp, list, 2, "nagios\xc2\xa0"));
	assert_true(user_name_listed(&corp, list, 2, "backup  agent"));
	assert_true(
	    user_name_listed(&corp, list, 2, "backup\xc2\xa0" "AGENT@corp"));
	assert_false(user_name_listed(&corp, list, 2, "nagios2"));
	assert_false(user_name_listed(&corp, list, 2, "nagios@partner"));
	assert_false(user_name_listed(&corp, list, 2, "alice"));
	assert_false(user_name_listed(&corp, list, 2, "nagios\xee\x80\x80"));
	assert_false(user_name_listed(&corp, list, 0, "nagios"));
	assert_false(user_name_listed(&corp, list, 2, NULL));
}

/* own_realms_add: case-folded duplicates and empty entries are left out. */
static void test_realms_add(void **state)
{
	(void)state;
	struct own_realms r = {0};
	own_realms_add(&r, "CORP.EXAMPLE", 12);
	own_realms_add(&r, "corp.example", 12);
	own_realms_add(&r, "", 0);
	own_realms_add(&r, "CORPX", 4);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[1], "CORP");
	struct own_realms c = {0};
	own_realms_copy(&c, &r);
	assert_true(own_realms_equal(&c, &r));
	own_realms_free(&r);
	assert_false(own_realms_equal(&c, &r));
	own_realms_free(&c);
}

/* The own realms a policy TEXT holds in force, space-separated. */
static void realms_are(const char *text, const char *want, int warnings)
{
	struct diags d = {0};
	struct policy *p = policy_load_buffer("t.conf", text, strlen(text), &d);
	if (!p || d.warnings != warnings) {
		diags_print(&d, stdout);
		fail_msg("%s: %d warnings (want %d)", text, d.warnings,
			 warnings);
	}
	char got[256] = "";
	for (size_t i = 0; i < p->identity.realms.n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			 i ? " " : "", p->identity.realms.v[i]);
	if (strcmp(got, want) != 0)
		fail_msg("%s: realms '%s', want '%s'", text, got, want);
	policy_free(p);
	diags_free(&d);
}

#define RULES                                                               \
	"network lan { 198.18.1.0/24 }\nusers a { user alice }\n"           \
	"protocol ssh tcp 22\nrule r allow ssh from lan to any users a\n"
#define RADIUS                                                              \
	"identity { radius-listen 198.18.1.1:1813 radius-secret-file "      \
	"/nonexistent radius-clients 198.18.1.2 "

/* own-realms, else derived from the directory (base dc= parts, the
 * principal's realm), else none and a warning where names arrive. */
static void test_policy_realms(void **state)
{
	(void)state;
	/* the missing secret file is one warning of its own */
	realms_are(RULES RADIUS "own-realms { CORP.EXAMPLE CORP } }\n",
		   "CORP.EXAMPLE CORP", 1);
	realms_are(RULES RADIUS "}\n", "", 2);
	realms_are(RULES "directory ldap { uri \"ldaps://198.18.4.2\" base "
			 "\"ou=People, DC=corp,dc=Example\" }\n",
		   "corp.Example corp", 0);
	realms_are(RULES "directory ldap { uri \"ldap://198.18.4.2\" base "
			 "\"cn=Users,dc=ad,dc=example\" keytab /nonexistent "
			 "principal \"svc@AD.EXAMPLE\" kerberos-host "
			 "dc1.ad.example }\n",
		   "ad.example ad", 1);
	realms_are(RULES "directory ldap { uri \"ldap://198.18.4.2\" base "
			 "\"o=corp\" keytab /nonexistent principal "
			 "\"svc/gw@CORP.EXAMPLE\" kerberos-host dc1 }\n",
		   "CORP.EXAMPLE CORP", 1);
	/* own-realms wins over the directory's */
	realms_are(RULES "identity { own-realms EXAMPLE.ORG }\n"
			 "directory ldap { uri \"ldaps://198.18.4.2\" base "
			 "\"dc=corp,dc=example\" }\n",
		   "EXAMPLE.ORG", 0);
	/* a directory without dc= parts gives none: warned */
	realms_are(RULES "directory ldap { uri \"ldaps://198.18.4.2\" base "
			 "\"o=corp\" }\n", "", 1);
	/* no source of names: nothing to warn about */
	realms_are(RULES, "", 0);
	/* not a realm */
	struct diags d = {0};
	const char *bad =
	    RULES "identity { own-realms { \"a@b\" \"C\\\\D\" } }\n";
	struct policy *p = policy_load_buffer("t.conf", bad, strlen(bad), &d);
	assert_null(p);
	assert_int_equal(d.errors, 2);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_own_stripped),
	    cmocka_unit_test(test_foreign_kept),
	    cmocka_unit_test(test_no_realms),
	    cmocka_unit_test(test_odd_input),
	    cmocka_unit_test(test_unicode_bytes),
	    cmocka_unit_test(test_fold),
	    cmocka_unit_test(test_listed),
	    cmocka_unit_test(test_realms_add),
	    cmocka_unit_test(test_policy_realms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
