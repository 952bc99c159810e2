/*
 * test_dnsfilter.c — the DNS filter's per-packet function (sluiced's DNS
 * queue thread, src/sluiced/dnsfilter.c): IPv4/IPv6 + UDP/TCP packets in,
 * a verdict out. Answers bind only after that client's query to that
 * server; malformed messages and zone-transfer queries are dropped; an
 * unmatched answer passes and binds nothing; TCP messages are put together
 * from their segments (the reassembly itself: test_dnstcp.c) and bound
 * when the segment that completes the answer is read. No network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "sluiced/dnsfilter.h"
#include "dnsbind_trust.h"

static const uint8_t CLI[16] = {198, 18, 1, 2}, SRV[16] = {198, 18, 3, 2},
		     OTHER[16] = {198, 18, 2, 2};

/* A DNS message: query (QR 0, QTYPE) or answer with one A record ADDR. */
static size_t dns(uint8_t *p, uint16_t id, bool answer, uint16_t qtype,
		  uint32_t addr)
{
	static const uint8_t qname[] = "\3www\4work\7example\3com";
	size_t n = 0;
	p[n++] = (uint8_t)(id >> 8);
	p[n++] = (uint8_t)id;
	p[n++] = answer ? 0x81 : 0x01;
	p[n++] = answer ? 0x80 : 0x00;
	uint8_t h[8] = {0, 1, 0, answer ? 1 : 0, 0, 0, 0, 0};
	memcpy(p + n, h, 8);
	n += 8;
	memcpy(p + n, qname, sizeof(qname)); /* with its final 0 */
	n += sizeof(qname);
	p[n++] = (uint8_t)(qtype >> 8);
	p[n++] = (uint8_t)qtype;
	p[n++] = 0;
	p[n++] = 1;
	if (answer) {
		static const uint8_t rr[12] = {0xc0, 12, 0, 1, 0, 1,
					       0, 0, 0, 60, 0, 4};
		memcpy(p + n, rr, 12);
		n += 12;
		uint32_t a = htonl(addr);
		memcpy(p + n, &a, 4);
		n += 4;
	}
	return n;
}

/* IPv4 packet SRC:SPORT → DST:DPORT, PROTO 17 (UDP) or 6 (TCP, with the
 * two-byte length prefix when PREFIX, else the message as is). */
static size_t ip4(uint8_t *out, const uint8_t src[16], const uint8_t dst[16],
		  uint16_t sport, uint16_t dport, int proto, bool prefix,
		  const uint8_t *msg, size_t mlen)
{
	size_t th = proto == 17 ? 8 : 20, pl = mlen + (prefix ? 2 : 0);
	size_t tot = 20 + th + pl;
	memset(out, 0, 20 + th);
	out[0] = 0x45;
	out[2] = (uint8_t)(tot >> 8);
	out[3] = (uint8_t)tot;
	out[8] = 64;
	out[9] = (uint8_t)proto;
	memcpy(out + 12, src, 4);
	memcpy(out + 16, dst, 4);
	uint8_t *t = out + 20;
	t[0] = (uint8_t)(sport >> 8);
	t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8);
	t[3] = (uint8_t)dport;
	if (proto == 17) {
		t[4] = (uint8_t)((8 + pl) >> 8);
		t[5] = (uint8_t)(8 + pl);
	} else {
		t[12] = 5 << 4;
	}
	uint8_t *p = t + th;
	if (prefix) {
		p[0] = (uint8_t)(mlen >> 8);
		p[1] = (uint8_t)mlen;
		p += 2;
	}
	memcpy(p, msg, mlen);
	return tot;
}

static struct dnsbind *table(void)
{
	struct dnsbind_cfg c = {.grace_s = 10, .query_timeout_ms = 5000,
				.max_queries = 64, .max_bindings = 64,
				.refuse_private = true};
	return trusting(dnsbind_new(&c), "198.18.3.0", "198.18.3.255", "2001:db8:3::", "2001:db8:3::ffff:ffff:ffff:ffff");
}

static size_t names(struct dnsbind *b, uint32_t addr)
{
	const char *v[4];
	uint8_t a[16] = {0};
	uint32_t n = htonl(addr);
	memcpy(a, &n, 4);
	return dnsbind_names(b, AF_INET, CLI, a, 2000, v, 4, NULL);
}

static struct dnstcp *TCP; /* the reassembly of the test running */

static bool feed(struct dnsbind *b, const uint8_t *pkt, size_t len,
		 bool *not_dns, bool *unread)
{
	return dnsfilter_packet(b, TCP, pkt, len, 1000, not_dns, unread);
}

/* Sets the TCP sequence number of the IPv4 packet PKT. */
static void set_seq(uint8_t *pkt, uint32_t seq)
{
	for (int i = 0; i < 4; i++)
		pkt[24 + i] = (uint8_t)(seq >> (24 - 8 * i));
}

static void test_udp_query_then_answer(void **state)
{
	(void)state;
	struct dnsbind *b = table();
	uint8_t m[512], pkt[600];
	bool nd, ur;
	/* an answer before any query: passes, binds nothing */
	size_t n = dns(m, 7, true, 1, 0xcb007107);
	size_t l = ip4(pkt, SRV, CLI, 53, 40000, 17, false, m, n);
	assert_true(feed(b, pkt, l, &nd, &ur));
	assert_int_equal(names(b, 0xcb007107), 0);
	/* the query, then the same answer from another server: no binding */
	n = dns(m, 7, false, 1, 0);
	l = ip4(pkt, CLI, SRV, 40000, 53, 17, false, m, n);
	assert_true(feed(b, pkt, l, &nd, &ur));
	n = dns(m, 7, true, 1, 0xcb007107);
	l = ip4(pkt, OTHER, CLI, 53, 40000, 17, false, m, n);
	assert_true(feed(b, pkt, l, &nd, &ur));
	assert_int_equal(names(b, 0xcb007107), 0);
	/* from the server it was sent to: bound before the verdict */
	l = ip4(pkt, SRV, CLI, 53, 40000, 17, false, m, n);
	assert_true(feed(b, pkt, l, &nd, &ur));
	assert_int_equal(names(b, 0xcb007107), 1);
	/* a second copy: the query is consumed, unmatched, still passes */
	assert_true(feed(b, pkt, l, &nd, &ur));
	dnsbind_free(b);
}

static void test_drops(void **state)
{
	(void)state;
	struct dnsbind *b = table();
	uint8_t m[512], pkt[600];
	bool nd, ur;
	/* a zone transfer query (AXFR 252) is dropped */
	size_t n = dns(m, 9, false, 252, 0);
	size_t l = ip4(pkt, CLI, SRV, 40001, 53, 17, false, m, n);
	assert_false(feed(b, pkt, l, &nd, &ur));
	assert_false(nd);
	/* a query, then its answer cut in the middle of the record: dropped */
	n = dns(m, 10, false, 1, 0);
	l = ip4(pkt, CLI, SRV, 40002, 53, 17, false, m, n);
	assert_true(feed(b, pkt, l, &nd, &ur));
	n = dns(m, 10, true, 1, 0xcb007108);
	l = ip4(pkt, SRV, CLI, 53, 40002, 17, false, m, n - 3);
	assert_false(feed(b, pkt, l, &nd, &ur));
	assert_int_equal(names(b, 0xcb007108), 0);
	/* not IP, a short UDP payload, a UDP length past the packet */
	assert_false(feed(b, (const uint8_t *)"\x10\x00", 2, &nd, &ur));
	assert_true(nd);
	l = ip4(pkt, CLI, SRV, 40003, 53, 17, false, m, 5);
	assert_false(feed(b, pkt, l, &nd, &ur));
	assert_true(nd);
	l = ip4(pkt, CLI, SRV, 40003, 53, 17, false, m, 20);
	pkt[25] = 200;
	assert_false(feed(b, pkt, l, &nd, &ur));
	/* a fragment */
	n = dns(m, 11, false, 1, 0);
	l = ip4(pkt, CLI, SRV, 40004, 53, 17, false, m, n);
	pkt[6] = 0x20; /* MF */
	assert_false(feed(b, pkt, l, &nd, &ur));
	dnsbind_free(b);
}

static void test_tcp(void **state)
{
	(void)state;
	struct dnsbind *b = table();
	struct dnstcp_cfg tc = {.total_cap = 1u << 20, .max_streams = 16,
				.idle_ms = 1000};
	TCP = dnstcp_new(&tc);
	uint8_t m[512], pkt[600];
	bool nd, ur;
	/* a segment without payload (handshake): passes, nothing read */
	size_t l = ip4(pkt, CLI, SRV, 40010, 53, 6, false, m, 0);
	assert_true(feed(b, pkt, l, &nd, &ur));
	assert_false(ur);
	/* one message per segment: read and bound */
	size_t n = dns(m, 12, false, 1, 0);
	l = ip4(pkt, CLI, SRV, 40010, 53, 6, true, m, n);
	assert_true(feed(b, pkt, l, &nd, &ur));
	n = dns(m, 12, true, 1, 0xcb007109);
	l = ip4(pkt, SRV, CLI, 53, 40010, 6, true, m, n);
	assert_true(feed(b, pkt, l, &nd, &ur));
	assert_int_equal(names(b, 0xcb007109), 1);
	/* an answer over two segments: the first passes and binds nothing,
	 * the second (which completes it) is bound before its verdict */
	n = dns(m, 13, false, 1, 0);
	l = ip4(pkt, CLI, SRV, 40011, 53, 6, true, m, n);
	assert_true(feed(b, pkt, l, &nd, &ur));
	n = dns(m, 13, true, 1, 0xcb00710a);
	uint8_t full[600];
	memcpy(full, m, n);
	l = ip4(pkt, SRV, CLI, 53, 40011, 6, true, full, n);
	size_t cut = 20 + 20 + 9; /* headers, the length and 7 bytes */
	uint8_t second[600];
	memcpy(second, pkt, 40);
	memcpy(second + 40, pkt + cut, l - cut);
	second[2] = (uint8_t)((l - cut + 40) >> 8);
	second[3] = (uint8_t)(l - cut + 40);
	set_seq(second, (uint32_t)(cut - 40));
	pkt[2] = (uint8_t)(cut >> 8);
	pkt[3] = (uint8_t)cut;
	assert_true(feed(b, pkt, cut, &nd, &ur));
	assert_int_equal(names(b, 0xcb00710a), 0);
	assert_true(feed(b, second, l - cut + 40, &nd, &ur));
	assert_false(ur);
	assert_int_equal(names(b, 0xcb00710a), 1);
	/* a zone transfer query over TCP is dropped, and so is the
	 * direction's later data */
	n = dns(m, 14, false, 252, 0);
	l = ip4(pkt, CLI, SRV, 40012, 53, 6, true, m, n);
	assert_false(feed(b, pkt, l, &nd, &ur));
	n = dns(m, 15, false, 1, 0);
	l = ip4(pkt, CLI, SRV, 40012, 53, 6, true, m, n);
	set_seq(pkt, (uint32_t)n + 2);
	assert_false(feed(b, pkt, l, &nd, &ur));
	/* a segment after a gap: dropped unread */
	l = ip4(pkt, CLI, SRV, 40013, 53, 6, true, m, n);
	assert_true(feed(b, pkt, l, &nd, &ur));
	set_seq(pkt, 2 * ((uint32_t)n + 2));
	assert_false(feed(b, pkt, l, &nd, &ur));
	assert_true(ur);
	struct dnstcp_stats ts;
	dnstcp_stats(TCP, &ts);
	assert_int_equal(ts.reassembled, 1);
	assert_int_equal(ts.gap, 1);
	dnstcp_free(TCP);
	TCP = NULL;
	dnsbind_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udp_query_then_answer),
	    cmocka_unit_test(test_drops),
	    cmocka_unit_test(test_tcp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
