/* test_farms.c — a farm member's health belongs to the member: it survives
 * a reload that changes its check's configuration, and a member whose state
 * is unknown takes no sessions while another member is known up.
 *
 * Real TCP checks on loopback: one listener on 127.0.0.1:P, so member "a"
 * (127.0.0.1:P) is up and member "b" (127.0.0.2:P) is refused. The farm has
 * no publish, so no kernel chain is written (no nft needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/util.h"
#include "kernel/ruleset.h"
#include "policy/policy.h"
#include "sluiced/farms.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_fd = -1;
static uint16_t port;

static struct policy *load(const char *extra_member, const char *timeout)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "farm f {\n"
		 "  server a 127.0.0.1 port %u\n"
		 "  server b 127.0.0.2 port %u\n"
		 "%s"
		 "  verify tcp every 1s timeout %s rise 2 fall 1\n"
		 "}\n",
		 port, port, extra_member, timeout);
	struct diags d = {0};
	struct policy *p = policy_load_buffer("farm.conf", text, strlen(text),
					      &d);
	diags_print(&d, stderr);
	diags_free(&d);
	assert_non_null(p);
	return p;
}

/* Member NAME's index in P's only farm. */
static size_t member(const struct policy *p, const char *name)
{
	const struct farm *f = p->farms[0];
	for (size_t i = 0; i < f->nmembers; i++)
		if (!strcmp(f->members[i].name, name))
			return i;
	fail_msg("no member %s", name);
	return 0;
}

static bool up(struct farms *fm, const struct policy *p, const char *name)
{
	return farms_member_up(fm, p->farms[0], member(p, name));
}

/* The state of check NAME as `sluicectl verifiers` shows it (a static
 * buffer), or "" when it is not listed. */
static const char *check_state(struct farms *fm, const char *name)
{
	static char state[32];
	struct evbuffer *out = evbuffer_new();
	char *argv[] = {"verifiers", NULL};
	assert_int_equal(farms_command(fm, 1, argv, false, out), 0);
	evbuffer_add(out, "", 1);
	const char *text = (const char *)evbuffer_pullup(out, -1);
	state[0] = '\0';
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
		char n[64], check[16], target[64], st[32];
		if (sscanf(l, "%63s %15s %63s %31s", n, check, target, st) == 4 &&
		    !strcmp(n, name)) {
			snprintf(state, sizeof(state), "%s", st);
			break;
		}
	}
	evbuffer_free(out);
	return state;
}

/* Runs BASE until a is known up and b down (bounded: 20 s). */
static void settle(struct event_base *base, struct farms *fm)
{
	for (int i = 0; i < 200; i++) {
		if (!strcmp(check_state(fm, "f/a"), "up") &&
		    !strcmp(check_state(fm, "f/b"), "down"))
			return;
		struct timeval tv = {0, 100 * 1000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	fail_msg("the checks did not settle");
}

static int setup(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (void *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 64) < 0 ||
	    getsockname(listen_fd, (void *)&sa, &len) < 0)
		return -1;
	port = ntohs(sa.sin_port);
	return 0;
}

static int teardown(void **state)
{
	close(listen_fd);
	return 0;
}

static void test_health_survives_reload(void **state)
{
	struct event_base *base = event_base_new();
	struct policy *p = load("", "500ms");
	struct ruleset_opts o;
	ruleset_opts_init(&o, p);
	struct farms *fm = farms_new(base, &o);
	char *err = NULL;
	assert_int_equal(farms_configure(fm, p, &err), 0);
	free(err);
	/* nothing known yet: every member serves (a fresh start) */
	assert_true(up(fm, p, "a"));
	assert_true(up(fm, p, "b"));
	settle(base, fm);

	/* a reload that changes one option of the check keeps b down */
	struct policy *p2 = load("", "700ms");
	assert_int_equal(farms_configure(fm, p2, &err), 0);
	free(err);
	policy_free(p);
	assert_true(up(fm, p2, "a"));
	assert_false(up(fm, p2, "b"));
	assert_string_equal(check_state(fm, "f/b"), "down");
	assert_string_equal(check_state(fm, "f/a"), "up");
	struct farms_stats st;
	farms_stats(fm, &st);
	assert_int_equal(st.members_down, 1);

	/* a new member, unknown, takes no sessions while a is known up */
	char c[64];
	snprintf(c, sizeof(c), "  server c 127.0.0.3 port %u\n", port);
	struct policy *p3 = load(c, "700ms");
	assert_int_equal(farms_configure(fm, p3, &err), 0);
	free(err);
	policy_free(p2);
	assert_true(up(fm, p3, "a"));
	assert_false(up(fm, p3, "b"));
	assert_false(up(fm, p3, "c"));

	/* a drained: no member is known up, so the unknown c serves */
	struct evbuffer *out = evbuffer_new();
	char *argv[] = {"farm", "drain", "f/a", NULL};
	assert_int_equal(farms_command(fm, 3, argv, false, out), 0);
	evbuffer_free(out);
	assert_false(up(fm, p3, "a"));
	assert_false(up(fm, p3, "b"));
	assert_true(up(fm, p3, "c"));
	farms_free(fm);
	policy_free(p3);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_health_survives_reload),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
