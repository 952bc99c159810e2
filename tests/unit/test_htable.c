/* test_htable.c — the one hash table (common/htable.h): insert, find,
 * remove and growth against a plain array; equal keys (a multimap);
 * iteration that frees the node in hand; keys whose hashes are all equal
 * (one chain) still found and removed; a table's placement depends on its
 * key, and two processes place the same keys differently; keys aimed at
 * one bucket under a known key spread under the table's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/htable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct ent {
	uint32_t k;
	int val;
	struct htable_node hn;
};

static uint64_t ent_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, sizeof(uint32_t));
}

static bool ent_equal(const struct htable_node *n, const void *key)
{
	return HTABLE_ENTRY(n, const struct ent, hn)->k ==
	       *(const uint32_t *)key;
}

static const struct htable_ops ent_ops = {ent_hash, ent_equal};

/* Every key hashes alike: every node in one chain (the worst an attacker
 * could do if it knew the key). */
static uint64_t same_hash(const struct hash_key *hk, const void *key)
{
	(void)hk;
	(void)key;
	return 42;
}

static const struct htable_ops same_ops = {same_hash, ent_equal};

static unsigned hashes; /* calls of counted_hash */

static uint64_t counted_hash(const struct hash_key *hk, const void *key)
{
	hashes++;
	return ent_hash(hk, key);
}

static const struct htable_ops counted_ops = {counted_hash, ent_equal};

static struct ent *find(const struct htable *t, uint32_t k)
{
	return HTABLE_ENTRY(htable_find(t, &k), struct ent, hn);
}

/* Inserts, finds, removes and grows: 5000 keys, every other removed. */
static void check_basic(const struct htable_ops *ops, uint32_t n)
{
	struct htable t;
	htable_init(&t, ops, 0);
	assert_int_equal(t.nb, HTABLE_MIN_BUCKETS);
	struct ent *e = calloc(n, sizeof(*e));
	for (uint32_t i = 0; i < n; i++) {
		e[i].k = i * 7919u;
		e[i].val = (int)i;
		assert_null(find(&t, e[i].k));
		htable_insert(&t, &e[i].hn, &e[i].k);
		/* the bound holds after every insert; a power of two */
		assert_true(htable_count(&t) <= t.nb * HTABLE_LOAD_MAX);
		assert_int_equal(t.nb & (t.nb - 1), 0);
	}
	assert_int_equal(htable_count(&t), n);
	for (uint32_t i = 0; i < n; i++)
		assert_ptr_equal(find(&t, i * 7919u), &e[i]);
	assert_null(find(&t, 1)); /* never inserted (7919 does not divide 1) */
	for (uint32_t i = 0; i < n; i += 2)
		htable_remove(&t, &e[i].hn);
	assert_int_equal(htable_count(&t), n / 2);
	for (uint32_t i = 0; i < n; i++) {
		struct ent *f = find(&t, i * 7919u);
		if (i % 2)
			assert_ptr_equal(f, &e[i]);
		else
			assert_null(f);
	}
	htable_fini(&t);
	free(e);
}

static void test_basic(void **state)
{
	(void)state;
	check_basic(&ent_ops, 5000);
}

/* All hashes equal: a single chain, yet every key found, removed, and the
 * table still right after growth (the adversarial worst case is slow,
 * never wrong). */
static void test_equal_hashes(void **state)
{
	(void)state;
	check_basic(&same_ops, 600);
}

/* Equal keys coexist; find_next walks them, skipping other keys that share
 * the chain. */
static void test_multimap(void **state)
{
	(void)state;
	struct htable t;
	htable_init(&t, &same_ops, 0);
	struct ent e[6] = {{.k = 1}, {.k = 2}, {.k = 1},
			   {.k = 3}, {.k = 1}, {.k = 2}};
	for (int i = 0; i < 6; i++)
		htable_insert(&t, &e[i].hn, &e[i].k);
	uint32_t k = 1;
	int seen = 0;
	for (struct htable_node *n = htable_find(&t, &k); n;
	     n = htable_find_next(&t, n, &k)) {
		assert_int_equal(HTABLE_ENTRY(n, struct ent, hn)->k, 1);
		seen++;
	}
	assert_int_equal(seen, 3);
	htable_fini(&t);
}

/* HTABLE_ENTRY evaluates its node once: a lookup inside it hashes once
 * (a macro that named its argument twice doubled every lookup's cost). */
static void test_entry_evaluates_once(void **state)
{
	(void)state;
	struct htable t;
	htable_init(&t, &counted_ops, 0);
	struct ent e = {.k = 7};
	htable_insert(&t, &e.hn, &e.k);
	hashes = 0;
	uint32_t k = 7;
	assert_ptr_equal(HTABLE_ENTRY(htable_find(&t, &k), struct ent, hn), &e);
	assert_int_equal(hashes, 1);
	k = 8;
	assert_null(HTABLE_ENTRY(htable_find(&t, &k), struct ent, hn));
	assert_int_equal(hashes, 2);
	htable_fini(&t);
}

/* Iteration visits every node once and may free the one in hand. */
static void test_iterate_remove(void **state)
{
	(void)state;
	struct htable t;
	htable_init(&t, &ent_ops, 100);
	assert_true(t.nb >= 100);
	size_t nb0 = t.nb;
	enum { N = 1000 };
	for (uint32_t i = 0; i < N; i++) {
		struct ent *e = calloc(1, sizeof(*e));
		e->k = i;
		htable_insert(&t, &e->hn, &e->k);
	}
	assert_true(t.nb > nb0);
	static unsigned seen[N];
	memset(seen, 0, sizeof(seen));
	struct htable_iter it;
	size_t visited = 0;
	for (struct htable_node *n = htable_first(&t, &it); n;
	     n = htable_next(&it)) {
		struct ent *e = HTABLE_ENTRY(n, struct ent, hn);
		seen[e->k]++;
		visited++;
		if (e->k % 3 == 0) {
			htable_remove(&t, n);
			free(e);
		}
	}
	assert_int_equal(visited, N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(htable_count(&t), N - (N + 2) / 3);
	/* free the rest the same way */
	for (struct htable_node *n = htable_first(&t, &it); n;
	     n = htable_next(&it)) {
		htable_remove(&t, n);
		free(HTABLE_ENTRY(n, struct ent, hn));
	}
	assert_int_equal(htable_count(&t), 0);
	assert_null(htable_first(&t, &it));
	htable_fini(&t);
}

#define NKEYS 64

/* The buckets of keys 0..NKEYS-1 in a 1024-bucket table under KEY (NULL:
 * the process key). */
static void placement(const struct hash_key *key, uint32_t out[NKEYS])
{
	struct htable t;
	if (key)
		htable_init_keyed(&t, &ent_ops, 1024, key);
	else
		htable_init(&t, &ent_ops, 1024);
	assert_int_equal(t.nb, 1024);
	for (uint32_t i = 0; i < NKEYS; i++)
		out[i] = (uint32_t)(htable_hash(&t, &i) & (t.nb - 1));
	htable_fini(&t);
}

/* The placement in a fresh process (run this program with "placement":
 * a forked child would inherit the parent's key). */
static void child_placement(uint32_t out[NKEYS])
{
	char self[4096];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(l > 0);
	self[l] = '\0';
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl(self, self, "placement", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t got = 0;
	while (got < NKEYS * sizeof(uint32_t)) {
		ssize_t n = read(p[0], (char *)out + got,
				 NKEYS * sizeof(uint32_t) - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Two keys, two placements; two processes, two placements (64 keys in
 * 1024 buckets agreeing everywhere by chance: 2^-640); the same key, the
 * same placement. */
static void test_placement_per_key(void **state)
{
	(void)state;
	struct hash_key k1 = {1, 2}, k2 = {3, 4};
	uint32_t a[NKEYS], b[NKEYS], c[NKEYS];
	placement(&k1, a);
	placement(&k2, b);
	placement(&k1, c);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_equal(a, c, sizeof(a));
	child_placement(a);
	child_placement(b);
	assert_memory_not_equal(a, b, sizeof(a));
	placement(NULL, c); /* this process: a third key */
	assert_memory_not_equal(a, c, sizeof(a));
}

/* A sender that knows key KNOWN picks 512 keys that all land in bucket 0
 * of a 1024-bucket table under it; in a table under the process key they
 * spread: no chain longer than 16 (about 4 expected). */
static void test_aimed_keys_spread(void **state)
{
	(void)state;
	struct hash_key known = {0x1234, 0x5678};
	struct htable aimed, t;
	htable_init_keyed(&aimed, &ent_ops, 1024, &known);
	htable_init(&t, &ent_ops, 1024);
	static struct ent e[512];
	size_t n = 0;
	for (uint32_t k = 0; n < 512 && k < 100000000u; k++)
		if ((htable_hash(&aimed, &k) & (aimed.nb - 1)) == 0)
			e[n++].k = k;
	assert_int_equal(n, 512);
	for (size_t i = 0; i < n; i++)
		htable_insert(&t, &e[i].hn, &e[i].k);
	assert_int_equal(t.nb, 1024); /* 512 fit: no growth reshuffled them */
	size_t most = 0;
	for (size_t i = 0; i < t.nb; i++) {
		size_t len = 0;
		struct htable_node *x;
		LIST_FOREACH(x, &t.b[i], link)
			len++;
		most = len > most ? len : most;
	}
	print_message("longest chain of 512 aimed keys: %zu\n", most);
	assert_true(most <= 16);
	htable_fini(&aimed);
	htable_fini(&t);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "placement") == 0) {
		uint32_t b[NKEYS];
		placement(NULL, b);
		return write(1, b, sizeof(b)) == (ssize_t)sizeof(b) ? 0 : 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_equal_hashes),
	    cmocka_unit_test(test_multimap),
	    cmocka_unit_test(test_entry_evaluates_once),
	    cmocka_unit_test(test_iterate_remove),
	    cmocka_unit_test(test_placement_per_key),
	    cmocka_unit_test(test_aimed_keys_spread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
