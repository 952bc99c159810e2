/*
 * test_vstate.c — the rise/fall state machine and the result history
 * (vstate.c), and probe sharing / target derivation (vkey.c). No network.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/settings.h"
#include "verify/verify_int.h"
#include "../unit/setting_change.h"

static void feed_n(struct vsm *sm, enum vresult r, int n, int *changes)
{
	enum vstate prev;

	for (int i = 0; i < n; i++)
		if (vsm_feed(sm, r, &prev))
			(*changes)++;
}

static void test_defaults(void **state)
{
	struct vsm sm;

	(void)state;
	vsm_init(&sm, 0, 0);
	assert_int_equal(sm.rise, setting_default(verify_settings, "rise"));
	assert_int_equal(sm.fall, setting_default(verify_settings, "fall"));
	assert_int_equal(sm.rise, 2); /* docs/sluice.conf.5.md */
	assert_int_equal(sm.fall, 3);
	assert_int_equal(sm.state, VS_UNKNOWN);
}

static void test_first_result_decides(void **state)
{
	struct vsm sm;
	enum vstate prev = VS_DOWN;

	(void)state;
	vsm_init(&sm, 2, 3);
	assert_true(vsm_feed(&sm, VR_OK, &prev));
	assert_int_equal(prev, VS_UNKNOWN);
	assert_int_equal(sm.state, VS_UP);

	vsm_init(&sm, 2, 3);
	assert_true(vsm_feed(&sm, VR_TIMEOUT, &prev));
	assert_int_equal(prev, VS_UNKNOWN);
	assert_int_equal(sm.state, VS_DOWN);
}

static void test_fall(void **state)
{
	struct vsm sm;
	int changes = 0;
	enum vstate prev;

	(void)state;
	vsm_init(&sm, 2, 3);
	feed_n(&sm, VR_OK, 1, &changes); /* unknown -> up */
	assert_int_equal(changes, 1);
	feed_n(&sm, VR_REFUSED, 2, &changes);
	assert_int_equal(sm.state, VS_UP); /* 2 < fall */
	feed_n(&sm, VR_OK, 1, &changes);   /* resets the failure run */
	feed_n(&sm, VR_REFUSED, 2, &changes);
	assert_int_equal(sm.state, VS_UP);
	assert_int_equal(changes, 1);
	assert_true(vsm_feed(&sm, VR_TIMEOUT, &prev)); /* third in a row */
	assert_int_equal(prev, VS_UP);
	assert_int_equal(sm.state, VS_DOWN);
	feed_n(&sm, VR_TIMEOUT, 10, &changes); /* stays down, no callbacks */
	assert_int_equal(changes, 1);
}

static void test_rise(void **state)
{
	struct vsm sm;
	int changes = 0;

	(void)state;
	vsm_init(&sm, 2, 3);
	feed_n(&sm, VR_STATUS, 1, &changes); /* unknown -> down */
	feed_n(&sm, VR_OK, 1, &changes);
	assert_int_equal(sm.state, VS_DOWN);
	feed_n(&sm, VR_BODY, 1, &changes); /* resets the success run */
	feed_n(&sm, VR_OK, 1, &changes);
	assert_int_equal(sm.state, VS_DOWN);
	feed_n(&sm, VR_OK, 1, &changes);
	assert_int_equal(sm.state, VS_UP);
	assert_int_equal(changes, 2);
}

static void test_rise_fall_one(void **state)
{
	struct vsm sm;
	int changes = 0;

	(void)state;
	vsm_init(&sm, 1, 1);
	feed_n(&sm, VR_OK, 1, &changes);
	feed_n(&sm, VR_TIMEOUT, 1, &changes);
	feed_n(&sm, VR_OK, 1, &changes);
	feed_n(&sm, VR_OK, 1, &changes);
	assert_int_equal(changes, 3);
	assert_int_equal(sm.state, VS_UP);
}

static void test_history_ring(void **state)
{
	struct vsm sm;
	uint8_t h[VERIFY_HISTORY];
	enum vstate prev;

	(void)state;
	vsm_init(&sm, 2, 3);
	assert_int_equal(vsm_history(&sm, h), 0);
	vsm_feed(&sm, VR_OK, &prev);
	vsm_feed(&sm, VR_AUTH, &prev);
	assert_int_equal(vsm_history(&sm, h), 2);
	assert_int_equal(h[0], VR_OK);
	assert_int_equal(h[1], VR_AUTH);
	/* 20 more: the ring keeps the last 16, oldest first */
	for (int i = 0; i < 20; i++)
		vsm_feed(&sm, (enum vresult)(i % VR_COUNT), &prev);
	assert_int_equal(vsm_history(&sm, h), VERIFY_HISTORY);
	for (int i = 0; i < VERIFY_HISTORY; i++)
		assert_int_equal(h[i], (4 + i) % VR_COUNT);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(vresult_name(VR_OK), "ok");
	assert_string_equal(vresult_name(VR_AUTH), "auth failed");
	assert_string_equal(vresult_name(VR_COUNT), "?");
	assert_string_equal(vstate_name(VS_DOWN), "down");
}

/* ---- keys ------------------------------------------------------------------ */

/* Whether the probes of A for member MA and of B for MB are one. */
static bool same_probe(const struct verify_spec *a, const char *ma,
		       const struct verify_spec *b, const char *mb)
{
	struct vtarget ta, tb;
	const char *why;

	assert_int_equal(vtarget_build(a, ma, &ta, &why), 0);
	assert_int_equal(vtarget_build(b, mb, &tb, &why), 0);
	bool same = vprobe_cfg_equal(a, &ta, b, &tb);
	if (same) /* equal probes hash alike */
		assert_true(vprobe_cfg_hash(&ta) == vprobe_cfg_hash(&tb));
	vtarget_clear(&ta);
	vtarget_clear(&tb);
	return same;
}

static void assert_same(const struct verify_spec *a, const char *ma,
			const struct verify_spec *b, const char *mb, bool same)
{
	assert_int_equal(same_probe(a, ma, b, mb), same);
	assert_int_equal(same_probe(b, mb, a, ma), same);
}

/* Every option row of verify_settings that changes an HTTP probe makes
 * another probe: a new option forgotten in vprobe_cfg_equal fails here.
 * The subscriber's own rows (rise, fall, warn, notify) and tcp's port do
 * not. */
static void test_key_every_row(void **state)
{
	static const char *const same_rows[] = {"rise", "fall", "warn", "port",
						"notify"};
	struct verify_spec a, b;

	(void)state;
	verify_spec_init(&a);
	a.method = VM_HTTP;
	a.target = "https://*/health";
	a.auth = AUTH_BASIC; /* user and password count */
	for (const struct setting *s = verify_settings; s->key; s++) {
		bool same = false;

		for (size_t i = 0; i < sizeof(same_rows) / sizeof(*same_rows); i++)
			same |= !strcmp(s->key, same_rows[i]);
		b = a;
		setting_change(s, &b);
		if (same_probe(&a, "10.0.0.1", &b, "10.0.0.1") != same)
			fail_msg("verify option '%s' %s the probe", s->key,
				 same ? "changes" : "does not change");
	}
}

static void test_key_identity(void **state)
{
	struct portrange r200 = {200, 399}, r204 = {204, 204};
	struct verify_spec a = {.method = VM_HTTP,
				.target = "http://*/health"},
			   b = a;

	(void)state;
	assert_same(&a, "10.0.0.1", &b, "10.0.0.1", true);
	assert_same(&a, "10.0.0.1", &b, "10.0.0.2", false);
	/* subscriber-side fields are not part of the probe */
	b.rise = 5;
	b.fall = 1;
	b.warn_ms = 100;
	assert_same(&a, "10.0.0.1", &b, "10.0.0.1", true);
	/* defaults are applied before comparing */
	b.every_ms = setting_default(verify_settings, "every");
	b.timeout_ms = setting_default(verify_settings, "timeout");
	b.expect = &r200;
	b.nexpect = 1;
	assert_same(&a, "10.0.0.1", &b, "10.0.0.1", true);
	b.expect = &r204;
	assert_same(&a, "10.0.0.1", &b, "10.0.0.1", false);
	b = a;
	b.every_ms = 1000;
	assert_same(&a, "10.0.0.1", &b, "10.0.0.1", false);
	b = a;
	b.body = "OK";
	assert_same(&a, "10.0.0.1", &b, "10.0.0.1", false);
	b = a;
	b.auth = AUTH_BASIC;
	b.user = "u";
	b.password_file = "/p";
	assert_same(&a, "10.0.0.1", &b, "10.0.0.1", false);
	{
		struct verify_spec c = b;

		c.user = "v";
		assert_same(&b, "10.0.0.1", &c, "10.0.0.1", false);
	}
	b = a;
	b.insecure = true;
	assert_same(&a, "10.0.0.1", &b, "10.0.0.1", false);
}

static void test_key_tcp_icmp(void **state)
{
	struct verify_spec t1 = {.method = VM_TCP, .target = "198.18.0.1",
				 .port = 389},
			   t2 = t1, i1 = {.method = VM_ICMP, .target = "198.18.0.1"};

	(void)state;
	assert_same(&t1, NULL, &t2, NULL, true);
	t2.port = 636;
	assert_same(&t1, NULL, &t2, NULL, false);
	assert_same(&t1, NULL, &i1, NULL, false);
	/* the member replaces the target */
	t2 = t1;
	t2.target = "*";
	assert_same(&t1, NULL, &t2, "198.18.0.1", true);
	/* one address written two ways is one probe */
	{
		struct verify_spec a6 = {.method = VM_ICMP, .target = "2001:db8::1"},
				   b6 = {.method = VM_ICMP,
					 .target = "2001:0db8:0:0::1"};

		assert_same(&a6, NULL, &b6, NULL, true);
		assert_same(&a6, NULL, &b6, "[2001:db8::1]", true);
	}
}

static void test_target_http(void **state)
{
	struct verify_spec s = {.method = VM_HTTP,
				.target = "https://*:8443/health?x=1"};
	struct vtarget t;
	const char *why;

	(void)state;
	assert_int_equal(vtarget_build(&s, "198.18.0.10", &t, &why), 0);
	assert_string_equal(t.url, "https://198.18.0.10:8443/health?x=1");
	assert_null(t.connect_to);
	assert_null(t.host_hdr);
	assert_true(t.https);
	vtarget_clear(&t);

	assert_int_equal(vtarget_build(&s, "2001:db8::5", &t, &why), 0);
	assert_string_equal(t.url, "https://[2001:db8::5]:8443/health?x=1");
	vtarget_clear(&t);

	/* a name for SNI and the certificate, the member to connect to */
	s.sni = "www.lab.test";
	assert_int_equal(vtarget_build(&s, "198.18.0.10", &t, &why), 0);
	assert_string_equal(t.url, "https://www.lab.test:8443/health?x=1");
	assert_string_equal(t.connect_to, "::198.18.0.10:");
	assert_null(t.host_hdr);
	vtarget_clear(&t);

	/* Host header override that differs from the SNI name */
	s.host = "app.lab.test";
	assert_int_equal(vtarget_build(&s, "198.18.0.10", &t, &why), 0);
	assert_string_equal(t.host_hdr, "Host: app.lab.test");
	vtarget_clear(&t);

	/* a real host name plus a member: connect to the member */
	s = (struct verify_spec){.method = VM_HTTP,
				 .target = "http://intranet.lab.test/"};
	assert_int_equal(vtarget_build(&s, "198.18.0.11", &t, &why), 0);
	assert_string_equal(t.url, "http://intranet.lab.test/");
	assert_string_equal(t.connect_to, "::198.18.0.11:");
	vtarget_clear(&t);
	assert_int_equal(vtarget_build(&s, NULL, &t, &why), 0);
	assert_null(t.connect_to);
	vtarget_clear(&t);
}

static void test_target_errors(void **state)
{
	struct verify_spec s = {.method = VM_HTTP, .target = "http://*/"};
	struct vtarget t;
	const char *why;

	(void)state;
	errno = 0;
	assert_int_equal(vtarget_build(&s, NULL, &t, &why), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_not_equal(why, "");
	s.target = "ftp://x/";
	assert_int_equal(vtarget_build(&s, NULL, &t, &why), -1);
	s.target = "http:///nohost";
	assert_int_equal(vtarget_build(&s, NULL, &t, &why), -1);
	s = (struct verify_spec){.method = VM_TCP, .target = "dc1.lab.test",
				 .port = 389};
	assert_int_equal(vtarget_build(&s, NULL, &t, &why), -1);
	s.target = "198.18.0.1";
	s.port = 0;
	assert_int_equal(vtarget_build(&s, NULL, &t, &why), -1);
	s = (struct verify_spec){.method = VM_ICMP, .target = "*"};
	assert_int_equal(vtarget_build(&s, NULL, &t, &why), -1);
	assert_int_equal(vtarget_build(&s, "[2001:db8::1]", &t, &why), 0);
	assert_int_equal(t.sa.ss_family, AF_INET6);
	vtarget_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_first_result_decides),
		cmocka_unit_test(test_fall),
		cmocka_unit_test(test_rise),
		cmocka_unit_test(test_rise_fall_one),
		cmocka_unit_test(test_history_ring),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_key_identity),
		cmocka_unit_test(test_key_every_row),
		cmocka_unit_test(test_key_tcp_icmp),
		cmocka_unit_test(test_target_http),
		cmocka_unit_test(test_target_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
