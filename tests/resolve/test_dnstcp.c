/*
 * test_dnstcp.c — DNS over TCP put together (src/resolve/dnstcp.c): a
 * stream of two length-prefixed messages cut at every byte position (and
 * in three pieces at every pair), messages handed over whole, in order,
 * from the segment that completes them; retransmissions, a gap (a lost or
 * late segment), a message over the cap, the total cap, the table of
 * directions, a refused message, RST and idle expiry. No network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include "resolve/dnstcp.h"

#define ISN 0xfffffff0u /* near the wrap of the sequence space */

struct seen {
	size_t n;		 /* messages handed over */
	uint8_t got[2][300];	 /* their bytes */
	size_t len[2];
	size_t refuse_at;	 /* refuse the message with this index + 1 */
};

static bool on_msg(void *arg, const struct dns_ends *e, const uint8_t *m,
		   size_t len)
{
	struct seen *s = arg;
	assert_int_equal(e->sport, 40000);
	if (s->n < 2) {
		assert_true(len <= sizeof(s->got[0]));
		memcpy(s->got[s->n], m, len);
		s->len[s->n] = len;
	}
	s->n++;
	return s->refuse_at != s->n;
}

static const struct dns_ends E = {.family = AF_INET,
				  .src = {198, 18, 1, 2},
				  .dst = {198, 18, 3, 2},
				  .sport = 40000,
				  .dport = 53};

/* Two messages, 40 and 200 bytes, each with its length: 244 bytes. */
static size_t stream(uint8_t *p)
{
	size_t n = 0;
	p[n++] = 0;
	p[n++] = 40;
	for (int i = 0; i < 40; i++)
		p[n++] = (uint8_t)(i + 1);
	p[n++] = 0;
	p[n++] = 200;
	for (int i = 0; i < 200; i++)
		p[n++] = (uint8_t)(200 - i);
	return n;
}

static struct dnstcp *table(size_t session_cap, size_t total_cap,
			    size_t max_streams)
{
	struct dnstcp_cfg c = {.session_cap = session_cap,
			       .total_cap = total_cap,
			       .max_streams = max_streams,
			       .idle_ms = 1000};
	return dnstcp_new(&c);
}

static void check_both(const struct seen *s, const uint8_t *p)
{
	assert_int_equal(s->n, 2);
	assert_int_equal(s->len[0], 40);
	assert_memory_equal(s->got[0], p + 2, 40);
	assert_int_equal(s->len[1], 200);
	assert_memory_equal(s->got[1], p + 44, 200);
}

/* Feeds P[a..b) as one segment; the result. */
static enum dnstcp_res seg(struct dnstcp *t, const uint8_t *p, size_t a,
			   size_t b, struct seen *s)
{
	return dnstcp_segment(t, &E, ISN + 1 + (uint32_t)a, 0, p + a, b - a, 10,
			      on_msg, s);
}

static void test_every_cut(void **state)
{
	(void)state;
	uint8_t p[300];
	size_t n = stream(p);
	for (size_t i = 0; i <= n; i++) {
		struct dnstcp *t = table(0, 1u << 20, 8);
		struct seen s = {0};
		assert_int_equal(dnstcp_segment(t, &E, ISN, DNSTCP_SYN, NULL, 0,
						10, on_msg, &s),
				 DNSTCP_EMPTY);
		assert_int_equal(seg(t, p, 0, i, &s),
				 i ? DNSTCP_READ : DNSTCP_EMPTY);
		/* handed over exactly when their last byte came */
		assert_int_equal(s.n, (size_t)(i >= 42) + (i >= n));
		assert_int_equal(seg(t, p, i, n, &s),
				 i < n ? DNSTCP_READ : DNSTCP_EMPTY);
		check_both(&s, p);
		struct dnstcp_stats st;
		dnstcp_stats(t, &st);
		assert_int_equal(st.messages, 2);
		/* a cut inside a message makes it put together */
		assert_int_equal(st.reassembled,
				 (size_t)(i > 0 && i < 42) + (i > 42 && i < n));
		assert_int_equal(st.bytes, 0); /* nothing left buffered */
		dnstcp_free(t);
	}
}

static void test_three_pieces(void **state)
{
	(void)state;
	uint8_t p[300];
	size_t n = stream(p);
	for (size_t i = 1; i < n; i += 3)
		for (size_t k = i + 1; k < n; k += 5) {
			struct dnstcp *t = table(0, 1u << 20, 8);
			struct seen s = {0};
			assert_int_equal(seg(t, p, 0, i, &s), DNSTCP_READ);
			assert_int_equal(seg(t, p, i, k, &s), DNSTCP_READ);
			assert_int_equal(seg(t, p, k, n, &s), DNSTCP_READ);
			check_both(&s, p);
			dnstcp_free(t);
		}
}

static void test_retransmit(void **state)
{
	(void)state;
	uint8_t p[300];
	size_t n = stream(p);
	struct dnstcp *t = table(0, 1u << 20, 8);
	struct seen s = {0};
	assert_int_equal(seg(t, p, 0, 30, &s), DNSTCP_READ);
	/* the same again: a copy */
	assert_int_equal(seg(t, p, 0, 30, &s), DNSTCP_DUP);
	/* overlapping: only the new part is read */
	assert_int_equal(seg(t, p, 10, 100, &s), DNSTCP_READ);
	assert_int_equal(s.n, 1);
	assert_int_equal(seg(t, p, 50, n, &s), DNSTCP_READ);
	check_both(&s, p);
	assert_int_equal(seg(t, p, 0, n, &s), DNSTCP_DUP);
	assert_int_equal(s.n, 2);
	dnstcp_free(t);
}

/* A segment lost before the gateway: the one after it is refused (the
 * receiver did not get it either), then both come again in order. */
static void test_lost_segment(void **state)
{
	(void)state;
	uint8_t p[300];
	size_t n = stream(p);
	struct dnstcp *t = table(0, 1u << 20, 8);
	struct seen s = {0};
	assert_int_equal(seg(t, p, 0, 20, &s), DNSTCP_READ);
	/* 20..60 lost; 60..n arrives: out of order */
	assert_int_equal(seg(t, p, 60, n, &s), DNSTCP_GAP);
	assert_int_equal(s.n, 0);
	/* the lost one is sent again, then the one refused */
	assert_int_equal(seg(t, p, 20, 60, &s), DNSTCP_READ);
	assert_int_equal(s.n, 1);
	assert_int_equal(seg(t, p, 60, n, &s), DNSTCP_READ);
	check_both(&s, p);
	struct dnstcp_stats st;
	dnstcp_stats(t, &st);
	assert_int_equal(st.gap, 1);
	dnstcp_free(t);
}

/* Out of order from the start: a SYN seen, then data past its first byte. */
static void test_out_of_order(void **state)
{
	(void)state;
	uint8_t p[300];
	size_t n = stream(p);
	struct dnstcp *t = table(0, 1u << 20, 8);
	struct seen s = {0};
	dnstcp_segment(t, &E, ISN, DNSTCP_SYN, NULL, 0, 10, on_msg, &s);
	assert_int_equal(seg(t, p, 42, n, &s), DNSTCP_GAP);
	assert_int_equal(seg(t, p, 1, 42, &s), DNSTCP_GAP);
	assert_int_equal(s.n, 0);
	assert_int_equal(seg(t, p, 0, 1, &s), DNSTCP_READ);
	assert_int_equal(seg(t, p, 1, 42, &s), DNSTCP_READ);
	assert_int_equal(seg(t, p, 42, n, &s), DNSTCP_READ);
	check_both(&s, p);
	/* far ahead or far behind (a sequence number from elsewhere) */
	assert_int_equal(dnstcp_segment(t, &E, ISN + 0x40000000u, 0, p, 10, 10,
					on_msg, &s),
			 DNSTCP_GAP);
	assert_int_equal(dnstcp_segment(t, &E, ISN - 0x40000000u, 0, p, 10, 10,
					on_msg, &s),
			 DNSTCP_DUP);
	assert_int_equal(s.n, 2);
	dnstcp_free(t);
}

static void test_oversized(void **state)
{
	(void)state;
	uint8_t p[300];
	size_t n = stream(p);
	/* room for the 40-byte message, not the 200-byte one */
	struct dnstcp *t = table(100, 1u << 20, 8);
	struct seen s = {0};
	assert_int_equal(seg(t, p, 0, 60, &s), DNSTCP_OVER);
	assert_int_equal(s.n, 1); /* the first was whole in the segment */
	assert_int_equal(seg(t, p, 0, 100, &s), DNSTCP_OVER);
	assert_int_equal(s.n, 1); /* not handed over twice */
	/* a message whole in one segment needs no buffer: read in place */
	assert_int_equal(seg(t, p, 0, n, &s), DNSTCP_READ);
	check_both(&s, p);
	struct dnstcp *t2 = table(100, 1u << 20, 8);
	struct seen s2 = {0};
	assert_int_equal(seg(t2, p, 0, n, &s2), DNSTCP_READ);
	check_both(&s2, p);
	/* the total cap: a second direction cannot buffer past it */
	struct dnstcp *t3 = table(0, 250, 8);
	struct seen s3 = {0};
	assert_int_equal(seg(t3, p, 42, 100, &s3), DNSTCP_READ); /* 202 B */
	struct dns_ends e2 = E;
	e2.dport = 54;
	assert_int_equal(dnstcp_segment(t3, &e2, 7, 0, p + 42, 58, 10, on_msg,
					&s3),
			 DNSTCP_OVER);
	struct dnstcp_stats st;
	dnstcp_stats(t3, &st);
	assert_int_equal(st.bytes, 202);
	assert_int_equal(st.over, 1);
	dnstcp_free(t);
	dnstcp_free(t2);
	dnstcp_free(t3);
}

static void test_table_full(void **state)
{
	(void)state;
	uint8_t p[300];
	size_t n = stream(p);
	struct dnstcp *t = table(0, 1u << 20, 2);
	struct seen s = {0};
	struct dns_ends e[3] = {E, E, E};
	e[1].dport = 54;
	e[2].dport = 55;
	/* two directions, each in the middle of a message */
	for (int i = 0; i < 2; i++)
		assert_int_equal(dnstcp_segment(t, &e[i], 1, 0, p, 10, 10,
						on_msg, &s),
				 DNSTCP_READ);
	assert_int_equal(dnstcp_segment(t, &e[2], 1, 0, p, 10, 10, on_msg, &s),
			 DNSTCP_OVER);
	/* the first ends its message: now it may give way */
	assert_int_equal(dnstcp_segment(t, &e[0], 11, 0, p + 10, 32, 10, on_msg,
					&s),
			 DNSTCP_READ);
	assert_int_equal(dnstcp_segment(t, &e[2], 1, 0, p, n, 10, on_msg, &s),
			 DNSTCP_READ);
	struct dnstcp_stats st;
	dnstcp_stats(t, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.streams, 2);
	assert_int_equal(s.n, 3);
	dnstcp_free(t);
}

static void test_refused(void **state)
{
	(void)state;
	uint8_t p[300];
	size_t n = stream(p);
	struct dnstcp *t = table(0, 1u << 20, 8);
	struct seen s = {.refuse_at = 1};
	assert_int_equal(seg(t, p, 0, 30, &s), DNSTCP_READ);
	assert_int_equal(seg(t, p, 30, n, &s), DNSTCP_REFUSED);
	assert_int_equal(s.n, 1); /* the second message never read */
	assert_int_equal(seg(t, p, 30, n, &s), DNSTCP_REFUSED);
	assert_int_equal(seg(t, p, n, n, &s), DNSTCP_EMPTY);
	/* RST forgets both directions; a new session on the ports is read */
	struct dns_ends r = E;
	memcpy(r.src, E.dst, 16);
	memcpy(r.dst, E.src, 16);
	r.sport = 53;
	r.dport = 40000;
	assert_int_equal(dnstcp_segment(t, &r, 5, DNSTCP_RST, NULL, 0, 10,
					on_msg, &s),
			 DNSTCP_EMPTY);
	struct dnstcp_stats st;
	dnstcp_stats(t, &st);
	assert_int_equal(st.streams, 0);
	s = (struct seen){0};
	assert_int_equal(dnstcp_segment(t, &E, 77, DNSTCP_SYN, NULL, 0, 10,
					on_msg, &s),
			 DNSTCP_EMPTY);
	assert_int_equal(dnstcp_segment(t, &E, 78, 0, p, n, 10, on_msg, &s),
			 DNSTCP_READ);
	check_both(&s, p);
	dnstcp_free(t);
}

static void test_expire(void **state)
{
	(void)state;
	uint8_t p[300];
	stream(p);
	struct dnstcp *t = table(0, 1u << 20, 8);
	struct seen s = {0};
	assert_int_equal(seg(t, p, 0, 30, &s), DNSTCP_READ);
	struct dnstcp_stats st;
	dnstcp_expire(t, 500);
	dnstcp_stats(t, &st);
	assert_int_equal(st.streams, 1);
	assert_int_equal(st.bytes, 42);
	dnstcp_expire(t, 2000);
	dnstcp_stats(t, &st);
	assert_int_equal(st.streams, 0);
	assert_int_equal(st.bytes, 0);
	dnstcp_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_cut),
	    cmocka_unit_test(test_three_pieces),
	    cmocka_unit_test(test_retransmit),
	    cmocka_unit_test(test_lost_segment),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_table_full),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_expire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
