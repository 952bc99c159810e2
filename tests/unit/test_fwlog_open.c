/* fwlog_open: the kinds of file a `log { file }` name may be (attack84 10, 16). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats/fwlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct fwlog *open_at(const char *path)
{
	struct log_cfg cfg = { .format = LOGF_JSON, .file = (char *)path,
			       .buffer = 64 };
	return fwlog_open(&cfg, "gw");
}

/* A FIFO under the name: refused at once, not a hang in open(). */
static void fifo_refused(void **state)
{
	(void)state;
	char dir[] = "/tmp/fwlog-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fw.log", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(5); /* before the fix: open() blocked forever */
	errno = 0;
	assert_null(open_at(path));
	/* ENXIO: no reader yet; EINVAL: one was there */
	assert_true(errno == ENXIO || errno == EINVAL);
	alarm(0);
	unlink(path);
	rmdir(dir);
}

/* A regular file of our own: taken. */
static void own_file_taken(void **state)
{
	(void)state;
	char dir[] = "/tmp/fwlog-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fw.log", dir);
	struct fwlog *l = open_at(path);
	assert_non_null(l);
	fwlog_close(l);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_refused),
		cmocka_unit_test(own_file_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
