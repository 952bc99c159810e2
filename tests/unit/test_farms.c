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
#include "sluicectl/render.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* `sluicectl verifiers` of FM: the JSON answer of the farms' command (a
 * strict parse), rendered as sluicectl does; a new buffer ending with
 * NUL. */
static struct evbuffer *verifiers_text(struct farms *fm)
{
	struct evbuffer *js = evbuffer_new(), *out = evbuffer_new();
	char *argv[] = {"verifiers", NULL};
	assert_int_equal(farms_command(fm, 1, argv, js), 0);
	json_t *v = json_loadb((const char *)evbuffer_pullup(js, -1),
			       evbuffer_get_length(js), JSON_REJECT_DUPLICATES,
			       NULL);
	assert_non_null(v);
	assert_int_equal(json_integer_value(json_object_get(v, "schema_version")),
			 1);
	assert_int_equal(render_answer("verifiers", v, out), 0);
	json_decref(v);
	evbuffer_free(js);
	evbuffer_add(out, "", 1);
	return out;
}

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
	struct evbuffer *out = verifiers_text(fm);
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
	assert_int_equal(farms_command(fm, 3, argv, out), 0);
	evbuffer_free(out);
	assert_false(up(fm, p3, "a"));
	assert_false(up(fm, p3, "b"));
	assert_true(up(fm, p3, "c"));
	farms_free(fm);
	policy_free(p3);
	event_base_free(base);
}

/* The two lines of check NAME in `sluicectl verifiers` (a static buffer),
 * or "" when it is not listed. */
static const char *check_line(struct farms *fm, const char *name)
{
	static char line[512];
	struct evbuffer *out = verifiers_text(fm);
	size_t n = strlen(name);
	const char *text = (const char *)evbuffer_pullup(out, -1);
	line[0] = '\0';
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
		if (!strncmp(l, name, n) && l[n] == ' ') {
			size_t one = strcspn(l, "\n");
			size_t two = l[one] ? one + 1 + strcspn(l + one + 1, "\n")
					    : one;
			snprintf(line, sizeof(line), "%.*s", (int)two, l);
			break;
		}
	evbuffer_free(out);
	return line;
}

/* resolver { verify-name }: a dns verifier per server, named
 * resolver/SERVER, aimed at the server's address and port (53 when none),
 * the resolver's timeout; a server that refuses (a closed port on
 * loopback) takes it down; a reload without verify-name removes them. */
static void test_resolver_checks(void **state)
{
	char text[512];
	snprintf(text, sizeof(text),
		 "resolver { servers { 127.0.0.1:%u [::1]:%u 127.0.0.3 }\n"
		 "  timeout 300ms verify-name www.example.com verify-every 1s }\n",
		 port, port);
	struct diags d = {0};
	struct policy *p = policy_load_buffer("r.conf", text, strlen(text), &d);
	diags_print(&d, stderr);
	diags_free(&d);
	assert_non_null(p);
	struct event_base *base = event_base_new();
	struct ruleset_opts o;
	ruleset_opts_init(&o, p);
	struct farms *fm = farms_new(base, &o);
	char *err = NULL;
	assert_int_equal(farms_configure(fm, p, &err), 0);
	free(err);
	char want[128], name[64];
	snprintf(name, sizeof(name), "resolver/127.0.0.1:%u", port);
	snprintf(want, sizeof(want), " dns   127.0.0.1:%u www.example.com A ", port);
	assert_non_null(strstr(check_line(fm, name), want));
	snprintf(name, sizeof(name), "resolver/[::1]:%u", port);
	snprintf(want, sizeof(want), " dns   [::1]:%u www.example.com A ", port);
	assert_non_null(strstr(check_line(fm, name), want));
	assert_non_null(strstr(check_line(fm, "resolver/127.0.0.3"),
			       " 127.0.0.3:53 www.example.com A "));
	struct farms_stats st;
	farms_stats(fm, &st);
	assert_int_equal(st.verifiers, 3);

	/* nothing listens on UDP PORT: refused, down (bounded: 20 s) */
	snprintf(name, sizeof(name), "resolver/127.0.0.1:%u", port);
	for (int i = 0; i < 200 && !strstr(check_line(fm, name), " down "); i++) {
		struct timeval tv = {0, 100 * 1000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_non_null(strstr(check_line(fm, name), " down "));
	assert_non_null(strstr(check_line(fm, name), "refused"));

	/* without verify-name they go (the engine frees them, in flight
	 * or not) */
	struct policy *p2 = policy_load_buffer("r.conf", "", 0, &d);
	diags_free(&d);
	assert_non_null(p2);
	assert_int_equal(farms_configure(fm, p2, &err), 0);
	free(err);
	assert_string_equal(check_line(fm, name), "");
	farms_stats(fm, &st);
	assert_int_equal(st.verifiers, 0);
	farms_free(fm);
	policy_free(p);
	policy_free(p2);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_health_survives_reload),
	    cmocka_unit_test(test_resolver_checks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
