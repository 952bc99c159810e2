/*
 * test_cache.c — the resolver's answer cache (cache.c) with an injected
 * clock, its hash table (hash.c), and the DNS answer parser (rr_parse).
 * No network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "resolve/resolve_int.h"

/* A one-name set for rcache_put. */
static const struct rnames *one(const char *name)
{
	static const char *v[1];
	static struct rnames rn;
	v[0] = name;
	rn = (struct rnames){.v = v, .n = 1};
	return &rn;
}

static struct rkey key4(uint32_t host_order)
{
	struct rkey k;
	uint8_t a[16] = {0};
	uint32_t be = htonl(host_order);
	memcpy(a, &be, 4);
	rkey_make(&k, AF_INET, a);
	return k;
}

/* A positive entry lives exactly until its expiry, by the given clock. */
static void ttl_expiry(void **state)
{
	struct rcache *c = rcache_new(10);
	struct rcache_hit h;
	struct rkey k = key4(0xc6120a01);
	uint64_t t = 1000000;
	rcache_put(c, &k, RS_OK, one("good.example"), t + 2000, t);
	assert_int_equal(rcache_get(c, &k, t, &h), 1);
	assert_int_equal(h.st, RS_OK);
	assert_int_equal(h.names.n, 1);
	assert_string_equal(h.names.v[0], "good.example");
	assert_int_equal(rcache_get(c, &k, t + 1999, &h), 1);
	assert_int_equal(rcache_get(c, &k, t + 2000, &h), 0);
	assert_int_equal(rcache_size(c), 0); /* dropped when met */
	/* TTL 0: never stored */
	rcache_put(c, &k, RS_OK, one("x.example"), t, t);
	assert_int_equal(rcache_size(c), 0);
	rcache_free(c);
}

/* Negative entries carry no name and expire by their own TTL. */
static void negative_ttl(void **state)
{
	struct rcache *c = rcache_new(10);
	struct rcache_hit h;
	struct rkey a = key4(1), b = key4(2);
	uint64_t t = 5000;
	rcache_put(c, &a, RS_NONAME, NULL, t + 300000, t);
	rcache_put(c, &b, RS_SERVFAIL, NULL, t + 300000, t);
	assert_int_equal(rcache_get(c, &a, t + 299999, &h), 1);
	assert_int_equal(h.st, RS_NONAME);
	assert_int_equal(h.names.n, 0);
	assert_int_equal(rcache_get(c, &b, t + 1, &h), 1);
	assert_int_equal(h.st, RS_SERVFAIL);
	assert_int_equal(rcache_get(c, &a, t + 300000, &h), 0);
	/* a later answer replaces the negative entry */
	rcache_put(c, &b, RS_OK, one("b.example"), t + 600000, t + 2);
	assert_int_equal(rcache_get(c, &b, t + 3, &h), 1);
	assert_int_equal(h.st, RS_OK);
	assert_int_equal(rcache_size(c), 1);
	rcache_free(c);
}

/* The bound holds; the least recently *used* entry goes first. */
static void lru_bound(void **state)
{
	struct rcache *c = rcache_new(3);
	struct rcache_hit h;
	struct rkey k[5];
	for (int i = 0; i < 5; i++)
		k[i] = key4(100 + i);
	for (int i = 0; i < 3; i++)
		rcache_put(c, &k[i], RS_OK, one("n"), 10000, 0);
	assert_int_equal(rcache_get(c, &k[0], 1, &h), 1); /* 0 now recent */
	rcache_put(c, &k[3], RS_OK, one("n"), 10000, 1);	   /* evicts 1 */
	assert_int_equal(rcache_size(c), 3);
	assert_int_equal(rcache_get(c, &k[1], 2, &h), 0);
	assert_int_equal(rcache_get(c, &k[0], 2, &h), 1);
	assert_int_equal(rcache_get(c, &k[2], 2, &h), 1);
	assert_int_equal(rcache_get(c, &k[3], 2, &h), 1);
	rcache_put(c, &k[4], RS_OK, one("n"), 10000, 3); /* evicts 0 (oldest use) */
	assert_int_equal(rcache_get(c, &k[0], 4, &h), 0);
	assert_int_equal(rcache_size(c), 3);
	rcache_free(c);

	/* 0 = no cache */
	c = rcache_new(0);
	rcache_put(c, &k[0], RS_OK, one("n"), 10000, 0);
	assert_int_equal(rcache_get(c, &k[0], 1, &h), 0);
	rcache_free(c);
}

/* Many entries (table growth), IPv4 vs IPv6 keys never collide. */
static void many_and_families(void **state)
{
	enum { N = 20000, MAX = 10000 };
	struct rcache *c = rcache_new(MAX);
	struct rcache_hit h;
	for (uint32_t i = 0; i < N; i++) {
		struct rkey k = key4(i);
		rcache_put(c, &k, RS_OK, one("n"), 1000, 0);
	}
	assert_int_equal(rcache_size(c), MAX);
	struct rkey old = key4(0), recent = key4(N - 1);
	assert_int_equal(rcache_get(c, &old, 1, &h), 0);
	assert_int_equal(rcache_get(c, &recent, 1, &h), 1);
	uint8_t a[16] = {0, 0, 0, 7};
	struct rkey k6, k4;
	rkey_make(&k6, AF_INET6, a);
	rkey_make(&k4, AF_INET, a);
	assert_false(rkey_eq(&k6, &k4));
	/* IPv4 ignores bytes 4..15 */
	uint8_t b[16] = {0, 0, 0, 7, 9, 9, 9};
	struct rkey k4b;
	rkey_make(&k4b, AF_INET, b);
	assert_true(rkey_eq(&k4, &k4b));
	rcache_free(c);
}

/* rr_parse: a PTR answer with compression, a CNAME on the way (its TTL
 * counts), and a truncated message. */
static void parse_answers(void **state)
{
	static const unsigned char msg[] = {
	    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
	    /* q: 1.10.18.198.in-addr.arpa PTR IN (offset 12) */
	    1, '1', 2, '1', '0', 2, '1', '8', 3, '1', '9', '8', 7, 'i', 'n',
	    '-', 'a', 'd', 'd', 'r', 4, 'a', 'r', 'p', 'a', 0, 0, 12, 0, 1,
	    /* an 1: CNAME, ttl 50, -> "x" + ptr to offset 12 */
	    0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 50, 0, 4, 1, 'x', 0xc0, 12,
	    /* an 2: PTR ttl 600 Good.Example. */
	    0xc0, 12, 0, 12, 0, 1, 0, 0, 2, 0x58, 0, 14, 4, 'G', 'o', 'o',
	    'd', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	    /* an 3: A (ignored when asking PTR) */
	    0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 198, 18, 10, 1,
	};
	struct rr rr[4];
	uint32_t ttl;
	int n = rr_parse(msg, sizeof(msg), 12, rr, 4, &ttl);
	assert_int_equal(n, 1);
	assert_string_equal(rr[0].name, "good.example");
	assert_int_equal(rr[0].ttl, 600);
	assert_int_equal(ttl, 50); /* the CNAME's */
	rr_free(rr, n);
	n = rr_parse(msg, sizeof(msg), 1, rr, 4, &ttl);
	assert_int_equal(n, 1);
	assert_memory_equal(rr[0].addr, ((uint8_t[]){198, 18, 10, 1}), 4);
	assert_int_equal(ttl, 5);
	assert_int_equal(rr_parse(msg, sizeof(msg) - 3, 12, rr, 4, &ttl),
			 -1);
	assert_int_equal(rr_parse(msg, 5, 12, rr, 4, &ttl), -1);
}

/* A response to a question for "rr.example" of TYPE with N records of
 * TYPE (A: 198.18.20.i; PTR: "nI.example"), each owned by the question's
 * name through a compression pointer. Returns the length. */
static size_t build(unsigned char *m, size_t cap, int type, int n)
{
	static const unsigned char q[] = {2, 'r', 'r', 7, 'e', 'x', 'a', 'm',
					  'p', 'l', 'e', 0};
	size_t k = 0;
	unsigned char hdr[12] = {0x12, 0x34, 0x81, 0x80, 0, 1,
				 (unsigned char)(n >> 8), (unsigned char)n};
	memcpy(m, hdr, 12);
	k = 12;
	memcpy(m + k, q, sizeof(q));
	k += sizeof(q);
	m[k++] = 0, m[k++] = (unsigned char)type, m[k++] = 0, m[k++] = 1;
	for (int i = 0; i < n; i++) {
		unsigned char rr[10] = {0xc0, 12, 0, (unsigned char)type, 0, 1,
					0, 0, 0, (unsigned char)(30 + i)};
		assert_true(k + 40 < cap);
		memcpy(m + k, rr, 10);
		k += 10;
		if (type == 1) {
			m[k++] = 0, m[k++] = 4;
			m[k++] = 198, m[k++] = 18, m[k++] = 20;
			m[k++] = (unsigned char)i;
		} else {
			char lab[8];
			int l = snprintf(lab, sizeof(lab), "n%d", i);
			m[k++] = 0, m[k++] = (unsigned char)(l + 3);
			m[k++] = (unsigned char)l;
			memcpy(m + k, lab, (size_t)l);
			k += (size_t)l;
			m[k++] = 0xc0, m[k++] = 15; /* -> "example" */
		}
	}
	return k;
}

/* Bounds cut what is kept, never what is counted: 40 addresses with room
 * for 16 report 40 (the caller knows its view is cut); a count-only pass
 * (OUT NULL, MAX 0) reads every record; a malformed record anywhere makes
 * the whole message malformed, with nothing left allocated. */
static void parse_bounds(void **state)
{
	unsigned char m[4096];
	struct rr rr[16];
	uint32_t ttl;
	size_t len = build(m, sizeof(m), 1, 40);
	assert_int_equal(rr_parse(m, (int)len, 1, NULL, 0, &ttl), 40);
	assert_int_equal(ttl, 30);
	assert_int_equal(rr_parse(m, (int)len, 1, rr, 16, &ttl), 40);
	assert_memory_equal(rr[15].addr, ((uint8_t[]){198, 18, 20, 15}), 4);
	/* the last address is there for a caller that sized for all */
	struct rr all[40];
	assert_int_equal(rr_parse(m, (int)len, 1, all, 40, &ttl), 40);
	assert_memory_equal(all[39].addr, ((uint8_t[]){198, 18, 20, 39}), 4);
	assert_int_equal(rr_parse(m, (int)len - 1, 1, rr, 16, &ttl), -1);

	len = build(m, sizeof(m), 12, 20);
	int n = rr_parse(m, (int)len, 12, rr, 16, &ttl);
	assert_int_equal(n, 20);
	assert_string_equal(rr[0].name, "n0.example");
	assert_string_equal(rr[15].name, "n15.example");
	rr_free(rr, 16);
	/* a pointer loop in the 18th name: malformed, nothing leaked */
	size_t at = 12 + 12 + 4;
	for (int i = 0; i < 17; i++)
		at += 10 + 2 + m[at + 10] * 256u + m[at + 11];
	m[at + 12] = (unsigned char)(0xc0 | (at + 12) >> 8); /* to itself */
	m[at + 13] = (unsigned char)(at + 12);
	assert_int_equal(rr_parse(m, (int)len, 12, rr, 16, &ttl), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ttl_expiry),    cmocka_unit_test(negative_ttl),
	    cmocka_unit_test(lru_bound),     cmocka_unit_test(many_and_families),
	    cmocka_unit_test(parse_answers), cmocka_unit_test(parse_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
