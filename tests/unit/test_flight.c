/* test_flight.c — coalesced lookups (common/flight.h): one flight per key,
 * waiters in arrival order, each delivered once, cancels during delivery,
 * a table that grows and keeps every key findable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/flight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lookup {
	struct flight fl;
	char key[32];
};

static char heard[64];
static size_t nheard;

static void hear(void *arg)
{
	heard[nheard++] = *(const char *)arg;
}

/* Delivers L's waiters the way the owners do: one at a time. */
static void deliver(struct lookup *l)
{
	struct flight_waiter *w;
	flight_land(&l->fl);
	while ((w = flight_pop(&l->fl)))
		((void (*)(void *))w->fn)(w->arg);
}

static void test_one_flight_per_key(void **state)
{
	(void)state;
	struct flight_table t;
	struct lookup a = {.key = "alice"};
	struct flight_waiter w[3];
	char who[3] = {'1', '2', '3'};
	char same[] = "alice";

	flight_table_init(&t);
	assert_null(flight_find(&t, "alice", 5));
	flight_start(&t, &a.fl, a.key, strlen(a.key));
	/* the same bytes at another address find the flight */
	assert_ptr_equal(flight_find(&t, same, 5), &a.fl);
	assert_null(flight_find(&t, "alic", 4));
	assert_null(flight_find(&t, "bob", 3));
	for (int i = 0; i < 3; i++)
		flight_join(flight_find(&t, same, 5), &w[i], (flight_fn)hear,
			    &who[i]);
	assert_int_equal(a.fl.nwaiters, 3);
	assert_ptr_equal(flight_waiter_find(&a.fl, (flight_fn)hear, &who[1]),
			 &w[1]);
	nheard = 0;
	deliver(&a);
	assert_int_equal(nheard, 3);
	assert_memory_equal(heard, "123", 3); /* arrival order, once each */
	assert_null(flight_find(&t, "alice", 5)); /* landed: a new asker
						   * starts a new lookup */
	flight_land(&a.fl); /* idempotent */
	assert_int_equal(htable_count(&t.h), 0);
	flight_table_fini(&t);
}

/* A waiter cancelled by an earlier waiter's callback is not called. */
static struct lookup *cur;
static struct flight_waiter cw[3];
static void hear_and_cancel(void *arg)
{
	hear(arg);
	flight_leave(&cur->fl, &cw[2]);
}

static void test_cancel_during_delivery(void **state)
{
	(void)state;
	struct flight_table t = {0};
	struct lookup a = {.key = "k"};
	char who[3] = {'a', 'b', 'c'};

	flight_start(&t, &a.fl, a.key, 1);
	flight_join(&a.fl, &cw[0], (flight_fn)hear_and_cancel, &who[0]);
	flight_join(&a.fl, &cw[1], (flight_fn)hear, &who[1]);
	flight_join(&a.fl, &cw[2], (flight_fn)hear, &who[2]);
	flight_leave(&a.fl, &cw[1]); /* cancelled before the answer */
	cur = &a;
	nheard = 0;
	deliver(&a);
	assert_int_equal(nheard, 1);
	assert_int_equal(heard[0], 'a');
	assert_null(flight_pop(&a.fl));
	flight_table_fini(&t);
}

/* Many keys: the table grows, every key in flight is found, landed ones
 * are not. */
static void test_many_keys(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct flight_table t;
	struct lookup *l = calloc(N, sizeof(*l));
	assert_non_null(l);
	flight_table_init(&t);
	for (int i = 0; i < N; i++) {
		snprintf(l[i].key, sizeof(l[i].key), "user%d", i);
		assert_null(flight_find(&t, l[i].key, strlen(l[i].key)));
		flight_start(&t, &l[i].fl, l[i].key, strlen(l[i].key));
	}
	assert_int_equal(htable_count(&t.h), N);
	assert_true(t.h.nb >= N);
	for (int i = 0; i < N; i += 2)
		flight_land(&l[i].fl);
	for (int i = 0; i < N; i++) {
		char k[32];
		snprintf(k, sizeof(k), "user%d", i);
		struct flight *f = flight_find(&t, k, strlen(k));
		if (i % 2)
			assert_ptr_equal(f, &l[i].fl);
		else
			assert_null(f);
	}
	assert_int_equal(htable_count(&t.h), N / 2);
	flight_table_fini(&t);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_flight_per_key),
	    cmocka_unit_test(test_cancel_during_delivery),
	    cmocka_unit_test(test_many_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
