/* test_sessions.c — the decided-sessions table against a plain model:
 * random puts (new keys and updates), deletes and gets on a small ring
 * with few buckets, so evictions unlink entries from every chain
 * position; the strings are cut to their fields and the count agrees. */
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
			sessions_put(s, &k, step, 7, (time_t)step, user,
				     op == 0 ? NULL : "example.com");
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
				n += live[j];
			}
			assert_int_equal(sessions_count(s), n);
		}
	}
	sessions_free(s);
}

/* Long strings are cut to the fields, NULL is "". */
static void test_strings(void **state)
{
	(void)state;
	struct sessions *s = sessions_new(4);
	char longname[600];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct session_key k = key(1);
	sessions_put(s, &k, 3, 1, 0, longname, longname);
	struct session_info si;
	assert_true(sessions_get(s, &k, &si));
	assert_int_equal(strlen(si.user), sizeof(si.user) - 1);
	assert_int_equal(strlen(si.name), sizeof(si.name) - 1);
	sessions_put(s, &k, 4, 1, 0, NULL, NULL);
	assert_true(sessions_get(s, &k, &si));
	assert_string_equal(si.user, "");
	assert_string_equal(si.name, "");
	assert_int_equal(si.rule, 4);
	assert_int_equal(sessions_count(s), 1);
	sessions_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_against_model),
	    cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
