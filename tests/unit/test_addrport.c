/* test_addrport.c — the one reading of ADDRESS:PORT (common/addrport.h):
 * names and IPv4 bare, IPv6 in brackets, the port digits alone up to
 * 65535 (0 read, refused by the callers that need a port), and each
 * malformed kind with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/addrport.h"

#include <string.h>

static void test_good(void **state)
{
	(void)state;
	static const struct {
		const char *s, *host;
		unsigned port;
	} v[] = {
	    {"127.0.0.1:9109", "127.0.0.1", 9109},
	    {"[::1]:9109", "::1", 9109},
	    {"[2001:db8::1]:65535", "2001:db8::1", 65535},
	    {"localhost:1", "localhost", 1},
	    {"198.18.1.1:0", "198.18.1.1", 0},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char h[64] = "";
		unsigned port = 7;
		const char *why = addrport_split(v[i].s, h, sizeof(h), &port);
		if (why)
			fail_msg("'%s': %s", v[i].s, why);
		assert_string_equal(h, v[i].host);
		assert_int_equal(port, v[i].port);
	}
}

static void test_bad(void **state)
{
	(void)state;
	static const struct {
		const char *s, *why;
	} v[] = {
	    {"127.0.0.1", "expected ADDRESS:PORT"},
	    {":9109", "expected ADDRESS:PORT"},
	    {"127.0.0.1:", "expected ADDRESS:PORT"},
	    {"", "expected ADDRESS:PORT"},
	    {"127.0.0.1:99999", "the port must be 1 to 65535"},
	    {"127.0.0.1:+80", "the port must be 1 to 65535"},
	    {"127.0.0.1: 80", "the port must be 1 to 65535"},
	    {"127.0.0.1:8o", "the port must be 1 to 65535"},
	    {"127.0.0.1:18446744073709551617", "the port must be 1 to 65535"},
	    {"[::1]9109", "the port must be 1 to 65535"},
	    {"::1:9109", "in brackets"},
	    {"2001:db8::1:9109", "in brackets"},
	    {"[::1:9109", "in brackets"},
	    {"[]:9109", "in brackets"},
	    {"[::1]]:9109", "in brackets"},
	    {"a]:80", "in brackets"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char h[64] = "untouched";
		unsigned port = 7;
		const char *why = addrport_split(v[i].s, h, sizeof(h), &port);
		if (!why || !strstr(why, v[i].why))
			fail_msg("'%s': '%s', want '%s'", v[i].s,
				 why ? why : "(none)", v[i].why);
		assert_string_equal(h, "untouched");
		assert_int_equal(port, 7);
	}
	/* a host longer than the room given */
	char small[4];
	unsigned port;
	assert_non_null(addrport_split("198.18.1.1:80", small, sizeof(small),
				       &port));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
