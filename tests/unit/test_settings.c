/*
 * test_settings.c — the settings rows' reload property (settings.h): every
 * row of every table says what a reload does with it, a row only a restart
 * applies is a number (settings_reload_pin copies it back), every string
 * and list row of a block carries an example that reads back as itself, and
 * settings_reload_pin keeps and reports exactly the changed restart rows.
 */
#include "policy/settings.h"
#include "policy/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Fails naming TABLE's row S unless its reload is decided and a restart
 * row is a number. */
static void check_row(const char *table, const struct setting *s)
{
	if (s->reload != RELOAD_LIVE && s->reload != RELOAD_RESTART)
		fail_msg("%s %s: no .reload (RELOAD_LIVE or RELOAD_RESTART)",
			 table, s->key);
	enum setting_storage st = setting_storage(s->type);
	if (s->reload == RELOAD_RESTART && st != SS_U32 && st != SS_BOOL &&
	    st != SS_INT)
		fail_msg("%s %s: a restart row must be a number, a bool or an "
			 "enum (settings_reload_pin keeps the running value)",
			 table, s->key);
}

static void test_every_row_decides(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct settings_block *b = settings_blocks(); b->name; b++)
		for (const struct setting *s = b->table; s->key; s++, n++) {
			check_row(b->name, s);
			enum setting_storage st = setting_storage(s->type);
			if ((st == SS_STRING || st == SS_STRLIST ||
			     st == SS_RANGES) && !s->example)
				fail_msg("%s %s: a string or list row needs an "
					 ".example", b->name, s->key);
		}
	for (const struct setting *s = verify_settings; s->key; s++)
		check_row("verifier", s);
	for (const struct setting *s = alert_settings; s->key; s++)
		check_row("alert", s);
	assert_true(n > 50);
}

/* Every example, written as `BLOCK { KEY EXAMPLE }`, parses without error
 * (a path: whatever its file's state) and shows (setting_format) as the example: the form tests and docs use. */
static void test_examples_read_back(void **state)
{
	(void)state;
	char text[1024], shown[512];
	for (const struct settings_block *b = settings_blocks(); b->name; b++)
		for (const struct setting *s = b->table; s->key; s++) {
			if (!s->example)
				continue;
			snprintf(text, sizeof(text), "%s%s { %s %s }\n", b->name,
				 strcmp(b->name, "directory") ? "" : " ldap",
				 s->key, s->example);
			struct policy *p = calloc(1, sizeof(*p));
			assert_non_null(p);
			settings_defaults(p);
			parse_policy_text(p, "t.conf", text, strlen(text), 0);
			/* a path's file is not there in a unit test */
			if (p->diags.errors && s->example[0] != '/')
				fail_msg("%s: %s", text, p->diags.v[0].msg);
			setting_format(s, p, shown, sizeof(shown));
			if (strcmp(shown, s->example))
				fail_msg("%s %s: example '%s' reads back as '%s'",
					 b->name, s->key, s->example, shown);
			policy_free(p);
		}
}

struct seen {
	char lines[16][128];
	size_t n;
};

static void record(void *arg, const struct settings_block *b,
		   const struct setting *s, enum setting_reload why,
		   const char *asked, const char *running)
{
	struct seen *sn = arg;
	assert_true(sn->n < 16);
	snprintf(sn->lines[sn->n++], sizeof(sn->lines[0]), "%s %s %s %s %s",
		 why == RELOAD_RESTART ? "restart" : "portal", b->name, s->key,
		 asked, running);
}

/* settings_reload_pin: a changed restart row is reported and gets the old
 * value back; a changed live row is left as asked, unreported (without a
 * portal); a portal row is reported when a portal is configured. */
static void test_reload_pin(void **state)
{
	(void)state;
	struct policy *old = calloc(1, sizeof(*old)),
		      *p = calloc(1, sizeof(*p));
	assert_non_null(old);
	assert_non_null(p);
	settings_defaults(old);
	settings_defaults(p);
	struct seen sn = {0};
	assert_int_equal(settings_reload_pin(p, old, record, &sn), 0);
	p->queue.count = 3;		 /* restart */
	p->decisions.slots = 10;	 /* live */
	p->identity.nss_workers = 9;	 /* live */
	p->directory.timeout_ms = 1500;	 /* live, read by sluice-portal */
	assert_int_equal(settings_reload_pin(p, old, record, &sn), 1);
	assert_string_equal(sn.lines[0], "restart queue count 3 1");
	assert_int_equal(p->queue.count, 1);
	assert_int_equal(p->decisions.slots, 10);
	assert_int_equal(p->identity.nss_workers, 9);
	char listen[] = "198.18.1.1:8443";
	p->portal.listen = listen;
	sn.n = 0;
	assert_int_equal(settings_reload_pin(p, old, record, &sn), 2);
	assert_string_equal(sn.lines[0],
			    "portal directory timeout 1500ms 2000ms");
	assert_string_equal(sn.lines[1], "portal portal listen 198.18.1.1:8443 ");
	p->portal.listen = NULL;
	free(old);
	free(p);
}

/* setting_equal and setting_format by storage: strings by value, lists
 * element by element, units as a policy writes them. */
static void test_equal_format(void **state)
{
	(void)state;
	struct policy a = {0}, b = {0};
	settings_defaults(&a);
	settings_defaults(&b);
	const struct settings_block *r = settings_block_find("resolver");
	const struct setting *servers = setting_find(r->table, "servers");
	const struct setting *timeout = setting_find(r->table, "timeout");
	char s1[] = "198.18.3.3", s2[] = "198.18.3.3", s3[] = "198.18.3.4";
	char *l1[] = {s1, s3}, *l2[] = {s2, s3};
	a.resolver.servers = l1;
	a.resolver.nservers = 2;
	assert_false(setting_equal(servers, &a, &b));
	b.resolver.servers = l2;
	b.resolver.nservers = 2;
	assert_true(setting_equal(servers, &a, &b));
	char buf[64];
	assert_string_equal(setting_format(servers, &a, buf, sizeof(buf)),
			    "198.18.3.3 198.18.3.4");
	assert_string_equal(setting_format(timeout, &a, buf, sizeof(buf)),
			    "2000ms");
	const struct settings_block *c = settings_block_find("control");
	assert_string_equal(setting_format(setting_find(c->table,
							"socket-mode"),
					   &a, buf, sizeof(buf)),
			    "0600");
	const struct settings_block *f = settings_block_find("flood");
	assert_string_equal(setting_format(setting_find(f->table,
							"tcp-connect-rate"),
					   &a, buf, sizeof(buf)),
			    "600/min");
	/* cut to fit, terminated */
	assert_string_equal(setting_format(servers, &a, buf, 5), "198.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_row_decides),
	    cmocka_unit_test(test_examples_read_back),
	    cmocka_unit_test(test_reload_pin),
	    cmocka_unit_test(test_equal_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
