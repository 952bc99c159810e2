/*
 * test_secret — secret_read_line (common/util.h): the first line of a
 * secret file, never cut to a shorter (wrong) secret.
 */
#include "common/util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[] = "/tmp/sluice-secret-XXXXXX";

/* Writes N bytes of S to a file in DIR; returns its path (static). */
static const char *file_with(const char *s, size_t n)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/f", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	fclose(f);
	return path;
}

static void expect_line(const char *content, size_t max, const char *want)
{
	char *got = secret_read_line(file_with(content, strlen(content)), max);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_first_line(void **state)
{
	(void)state;
	expect_line("s3cret\n", 16, "s3cret");
	expect_line("s3cret\r\nsecond line\n", 16, "s3cret");
	expect_line("no newline", 16, "no newline");
	expect_line("", 16, "");		/* empty: the caller decides */
	expect_line("\nafter\n", 16, "");
	expect_line("exactly16bytes!!\n", 16, "exactly16bytes!!");
	expect_line("exactly16bytes!!", 16, "exactly16bytes!!");
}

static void test_too_long_is_refused(void **state)
{
	(void)state;
	const char *p = file_with("seventeen bytes!!\n", 18);
	errno = 0;
	assert_null(secret_read_line(p, 16));
	assert_int_equal(errno, EINVAL);
}

static void test_missing_file(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/none", dir);
	errno = 0;
	assert_null(secret_read_line(path, 16));
	assert_int_equal(errno, ENOENT);
}

/* A FIFO (or any file that is not regular) named as a secret is refused
 * at once with EINVAL: the open does not wait for a writer, the read
 * does not block (before, the caller, the event loop, hung); a folder
 * too. */
static void test_not_regular_refused(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	errno = 0;
	assert_null(secret_read_line(path, 16));
	assert_int_equal(errno, EINVAL);
	unlink(path);
	errno = 0;
	assert_null(secret_read_line(dir, 16));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_line),
	    cmocka_unit_test(test_too_long_is_refused),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_not_regular_refused),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char path[128];
	snprintf(path, sizeof(path), "%s/f", dir);
	unlink(path);
	rmdir(dir);
	return rc;
}
