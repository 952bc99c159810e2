/* test_sessions.c — the decided-sessions table against a plain model:
 * random puts (new keys and updates), deletes and gets on a small ring
 * with few buckets, so evictions unlink entries from every chain
 * position and the count agrees; the facts of a decision come back whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX 8
#define KEYS 40

/* The model: the ring of keys (-1 = free) and each key's last rule. */
static int ring[MAX], head, rule_of[KEYS];
static bool live[KEYS];

static struct session_key key(int i)
{
	struct session_key k;
	memset(&k, 0, sizeof(k));
	k.family = 2;
	k.proto = 6;
	k.sport = (uint16_t)(1000 + i);
	k.dport = 80;
	k.src[15] = (uint8_t)i;
	return k;
}

static void model_put(int i, int rule)
{
	if (!live[i]) {
		if (ring[head] >= 0)
			live[ring[head]] = false;
		ring[head] = i;
		head = (head + 1) % MAX;
		live[i] = true;
	}
	rule_of[i] = rule;
}

static void model_del(int i)
{
	if (!live[i])
		return;
	live[i] = false;
	for (int r = 0; r < MAX; r++)
		if (ring[r] == i)
			ring[r] = -1;
}

static void test_against_model(void **state)
{
	(void)state;
	struct sessions *s = sessions_new(MAX);
	for (int r = 0; r < MAX; r++)
		ring[r] = -1;
	srand(7);
	for (int step = 0; step < 200000; step++) {
		int i = rand() % KEYS, op = rand() % 10;
		struct session_key k = key(i);
		if (op < 6) {
			char user[16];
			snprintf(user, sizeof(user), "u%d", step % 100);
			struct session_facts f = {
			    .source = IDSRC_TABLE, .user = user,
			    .name = op == 0 ? NULL : "example.com"};
			sessions_put(s, &k, step, 7, (time_t)step, &f);
			model_put(i, step);
		} else if (op < 8) {
			sessions_del(s, &k);
			model_del(i);
		}
		/* every key agrees with the model after every step */
		if (step % 97 == 0 || op >= 8) {
			size_t n = 0;
			for (int j = 0; j < KEYS; j++) {
				struct session_key kj = key(j);
				struct session_info si;
				bool found = sessions_get(s, &kj, &si);
				assert_int_equal(found, live[j]);
				if (found) {
					assert_int_equal(si.rule, rule_of[j]);
					assert_int_equal(si.gen, 7);
				}
				session_info_clear(&si);
				n += live[j];
			}
			assert_int_equal(sessions_count(s), n);
		}
	}
	sessions_free(s);
}

/* Facts come back whole (names of any length, the groups, the source);
 * NULL stays NULL; groups beyond SESSIONS_FACTS_MAX are dropped and
 * marked unknown, never kept cut as if complete. */
static void test_facts(void **state)
{
	(void)state;
	struct sessions *s = sessions_new(4);
	char longname[600];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	const char *groups[] = {"staff", "netops"};
	struct session_key k = key(1);
	struct session_facts f = {.source = IDSRC_DIRECTORY, .user = longname,
				  .groups = groups, .ngroups = 2,
				  .name = "www.example.com"};
	sessions_put(s, &k, 3, 1, 0, &f);
	struct session_info si;
	assert_true(sessions_get(s, &k, &si));
	assert_string_equal(si.user, longname);
	assert_string_equal(si.name, "www.example.com");
	assert_int_equal(si.source, IDSRC_DIRECTORY);
	assert_int_equal(si.ngroups, 2);
	assert_string_equal(si.groups[0], "staff");
	assert_string_equal(si.groups[1], "netops");
	assert_false(si.groups_unknown);
	session_info_clear(&si);

	sessions_put(s, &k, 4, 1, 0, NULL);
	assert_true(sessions_get(s, &k, &si));
	assert_null(si.user);
	assert_null(si.name);
	assert_int_equal(si.ngroups, 0);
	assert_int_equal(si.source, IDSRC_NONE);
	assert_int_equal(si.rule, 4);
	session_info_clear(&si);

	/* too many groups: none kept, and unknown */
	size_t n = SESSIONS_FACTS_MAX / 8 + 10;
	const char **many = calloc(n, sizeof(*many));
	for (size_t i = 0; i < n; i++)
		many[i] = "g0123456789";
	struct session_facts big = {.source = IDSRC_LOCAL, .user = "root",
				    .groups = many, .ngroups = n};
	sessions_put(s, &k, 5, 1, 0, &big);
	assert_true(sessions_get(s, &k, &si));
	assert_string_equal(si.user, "root");
	assert_int_equal(si.ngroups, 0);
	assert_true(si.groups_unknown);
	session_info_clear(&si);
	free(many);
	assert_false(sessions_get(s, &(struct session_key){0}, &si));
	assert_null(si.user);
	assert_int_equal(sessions_count(s), 1);
	sessions_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_against_model),
	    cmocka_unit_test(test_facts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
