/*
 * test_vchange.c — change times, downtime and the drained-members file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "verify/vchange.h"

static void test_lastchg_and_downtime(void **state)
{
	struct vchange c = {0};

	(void)state;
	assert_int_equal(vchange_lastchg_s(&c, 5000), -1);
	assert_int_equal(vchange_downtime_ms(&c, 5000), 0);
	vchange_note(&c, VS_UNKNOWN, VS_UP, 10000);
	assert_int_equal(vchange_lastchg_s(&c, 12500), 2);
	vchange_note(&c, VS_UP, VS_UP, 20000); /* no change */
	assert_int_equal(vchange_lastchg_s(&c, 20000), 10);
	vchange_note(&c, VS_UP, VS_DOWN, 30000);
	assert_int_equal(vchange_lastchg_s(&c, 30000), 0);
	assert_int_equal(vchange_downtime_ms(&c, 34000), 4000); /* still down */
	vchange_note(&c, VS_DOWN, VS_UP, 40000);
	assert_int_equal(vchange_downtime_ms(&c, 90000), 10000); /* closed */
	vchange_note(&c, VS_UP, VS_DOWN, 100000);
	assert_int_equal(vchange_downtime_ms(&c, 101000), 11000); /* summed */
	assert_int_equal(c.changes, 4);
	/* a clock that steps back never gives negative times */
	assert_int_equal(vchange_lastchg_s(&c, 50000), 0);
	assert_int_equal(vchange_downtime_ms(&c, 50000), 10000);
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sluice-vchange.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/drains", dir);
	unlink(p);
	return rmdir(dir);
}

static void test_drains_roundtrip(void **state)
{
	const char *names[] = {"web_farm/web1", "other/db 2"};
	char p[128], **got;
	size_t n;

	(void)state;
	snprintf(p, sizeof(p), "%s/drains", dir);
	assert_int_equal(vdrains_load(p, &got, &n), 0); /* absent: empty */
	assert_null(got);
	assert_int_equal(n, 0);
	assert_int_equal(vdrains_save(p, names, 2), 0);
	assert_int_equal(vdrains_load(p, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(got[0], "web_farm/web1");
	assert_string_equal(got[1], "other/db 2");
	vdrains_free(got, n);
	assert_int_equal(vdrains_save(p, names, 0), 0); /* none: removed */
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(vdrains_save(p, names, 0), 0); /* twice: fine */
}

static void test_drains_bad_names(void **state)
{
	char p[128], longname[VDRAINS_NAME_MAX + 2], **got;
	const char *bad1[] = {"ok", "new\nline"}, *bad2[] = {""},
		   *bad3[] = {longname};
	size_t n;
	FILE *f;

	(void)state;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(p, sizeof(p), "%s/drains", dir);
	errno = 0;
	assert_int_equal(vdrains_save(p, bad1, 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vdrains_save(p, bad2, 1), -1);
	assert_int_equal(vdrains_save(p, bad3, 1), -1);
	/* a file with junk lines: only the good names are kept */
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "good/one\n\n%s\nbell\a/x\ngood/two", longname);
	fclose(f);
	chmod(p, 0600);
	assert_int_equal(vdrains_load(p, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(got[0], "good/one");
	assert_string_equal(got[1], "good/two");
	vdrains_free(got, n);
	/* a symlink is not followed */
	unlink(p);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(vdrains_load(p, &got, &n), -1);
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lastchg_and_downtime),
	    cmocka_unit_test(test_drains_roundtrip),
	    cmocka_unit_test(test_drains_bad_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
