/*
 * test_vnotify.c — notification commands: arguments and environment, the
 * time bound, the running cap. As root the commands run as nobody, so the
 * files they write are in a folder anyone may write to.
 */
#include <errno.h>
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "verify/vnotify.h"

static char dir[64], script[128], hang[128], out[128];
static char logbuf[512];

static void logfn(void *arg, int prio, const char *msg)
{
	(void)arg;
	(void)prio;
	snprintf(logbuf, sizeof(logbuf), "%s", msg);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0755);
}

static int setup(void **state)
{
	char body[512];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sluice-vnotify.XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 01777) < 0)
		return -1;
	snprintf(script, sizeof(script), "%s/note.sh", dir);
	snprintf(hang, sizeof(hang), "%s/hang.sh", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(body, sizeof(body),
		 "#!/bin/sh\necho \"$# $1 $2 $3|$SLUICE_VERIFIER|$SLUICE_FARM|"
		 "$SLUICE_MEMBER|$SLUICE_STATE|$SLUICE_PREV_STATE|"
		 "$SLUICE_RESULT|$SLUICE_DETAIL|$SLUICE_TARGET|${SLUICE_OLD:-}\" "
		 ">%s\n",
		 out);
	write_file(script, body);
	write_file(hang, "#!/bin/sh\nexec sleep 30\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(script);
	unlink(hang);
	unlink(out);
	return rmdir(dir);
}

/* Runs BASE's loop until N has no command running (bounded). */
static void drain(struct event_base *base, struct vnotify *n)
{
	for (int i = 0; i < 100 && vnotify_running(n); i++) {
		struct timeval tv = {0, 100000};

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void test_args_and_env(void **state)
{
	struct event_base *base = event_base_new();
	struct vnotify *n = vnotify_new(base, 5000, logfn, NULL);
	struct vnotify_event ev = {.verifier = "web/w1", .farm = "web",
				   .member = "w1", .state = "down",
				   .prev = "up", .result = "timeout",
				   .detail = "no answer", .target = "http://x/"};
	char cmd[160], line[512] = "";
	FILE *f;

	(void)state;
	assert_non_null(n);
	setenv("SLUICE_OLD", "leaked", 1); /* the daemon's SLUICE_* are not passed */
	snprintf(cmd, sizeof(cmd), "%s extra", script);
	assert_true(vnotify_run(n, cmd, &ev) > 0);
	assert_int_equal(vnotify_running(n), 1);
	drain(base, n);
	unsetenv("SLUICE_OLD");
	assert_int_equal(vnotify_running(n), 0);
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "3 extra down web/w1|web/w1|web|w1|down|up|"
				  "timeout|no answer|http://x/|\n");
	/* errors */
	assert_int_equal(vnotify_run(n, "  ", &ev), -1);
	assert_int_equal(errno, EINVAL);
	logbuf[0] = '\0';
	assert_true(vnotify_run(n, "/nonexistent/program", &ev) > 0);
	drain(base, n);
	assert_non_null(strstr(logbuf, "exited with 127"));
	vnotify_free(n);
	event_base_free(base);
}

static void test_bound_and_cap(void **state)
{
	struct event_base *base = event_base_new();
	struct vnotify *n = vnotify_new(base, 300, logfn, NULL);
	struct vnotify_event ev = {.verifier = "v", .state = "up"};

	(void)state;
	assert_non_null(n);
	logbuf[0] = '\0';
	assert_true(vnotify_run(n, hang, &ev) > 0);
	drain(base, n); /* killed after 300 ms, well before 10 s of loops */
	assert_int_equal(vnotify_running(n), 0);
	assert_non_null(strstr(logbuf, "killed after 300 ms"));
	for (int i = 0; i < VNOTIFY_MAX; i++)
		assert_true(vnotify_run(n, hang, &ev) > 0);
	assert_int_equal(vnotify_run(n, hang, &ev), -1);
	assert_int_equal(errno, EAGAIN);
	vnotify_free(n); /* kills and reaps the 32 */
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args_and_env),
	    cmocka_unit_test(test_bound_and_cap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
