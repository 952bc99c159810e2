/* test_packet.c — packet_parse() reads a queued packet the way nftables
 * does (nft_set_pktinfo_ipv4/6_validate, ipv6_find_hdr with IP6_FH_F_AUTH):
 * IPv6 extension chains of any length, AH as the transport, IPv4 options;
 * later fragments (whose "ports" the kernel reads from other bytes), bad
 * lengths and copies cut inside a header refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "packet/packet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static uint8_t P[70000];
static size_t N;

/* Starts an IPv6 packet whose first next header is NH. */
static void v6(uint8_t nh)
{
	memset(P, 0, sizeof(P));
	P[0] = 0x60;
	P[6] = nh;
	P[7] = 64;
	inet_pton(AF_INET6, "2001:db8:1::2", P + 8);
	inet_pton(AF_INET6, "2001:db8:2::2", P + 24);
	N = 40;
}

/* Appends an extension header: NH next, LEN bytes (a multiple of 8, or
 * of 4 for AH), with the length field of its kind. */
static void ext(uint8_t kind, uint8_t nh, size_t len)
{
	P[N] = nh;
	if (kind == IPPROTO_AH)
		P[N + 1] = (uint8_t)(len / 4 - 2);
	else if (kind != IPPROTO_FRAGMENT)
		P[N + 1] = (uint8_t)(len / 8 - 1);
	N += len;
}

/* Appends a fragment header: NH next, offset OFF (8-byte units), M flag. */
static void frag(uint8_t nh, uint16_t off, int more)
{
	P[N] = nh;
	uint16_t v = (uint16_t)(off << 3 | (more ? 1 : 0));
	P[N + 2] = (uint8_t)(v >> 8);
	P[N + 3] = (uint8_t)v;
	N += 8;
}

/* Appends a TCP (or UDP) header to DPORT from port 40000. */
static void ports(uint16_t dport, size_t hdrlen)
{
	P[N] = 40000 >> 8;
	P[N + 1] = 40000 & 255;
	P[N + 2] = (uint8_t)(dport >> 8);
	P[N + 3] = (uint8_t)dport;
	N += hdrlen;
}

/* Sets the IPv6 payload length from N. */
static void fin6(void)
{
	P[4] = (uint8_t)((N - 40) >> 8);
	P[5] = (uint8_t)(N - 40);
}

static int parse(size_t len, size_t wire, struct flow *f)
{
	struct session_key k;
	int r = packet_parse(P, len, wire, f, &k);
	if (r == 0) {
		assert_int_equal(k.proto, f->proto);
		assert_int_equal(k.dport, f->proto == IPPROTO_ICMPV6 ||
						  f->proto == IPPROTO_ICMP
					      ? f->icmp_type
					      : f->dport);
	}
	return r;
}

static void test_v6_chains(void **state)
{
	struct flow f;
	/* twelve 8-byte destination options, then TCP/80 (sluiced used to
	 * stop after eight and call it protocol 60) */
	v6(IPPROTO_DSTOPTS);
	for (int i = 0; i < 12; i++)
		ext(IPPROTO_DSTOPTS, i < 11 ? IPPROTO_DSTOPTS : IPPROTO_TCP, 8);
	ports(80, 20);
	fin6();
	assert_int_equal(parse(N, N, &f), 0);
	assert_int_equal(f.proto, IPPROTO_TCP);
	assert_int_equal(f.dport, 80);
	/* one 304-byte destination options header, then UDP/5301 */
	v6(IPPROTO_DSTOPTS);
	ext(IPPROTO_DSTOPTS, IPPROTO_UDP, 304);
	ports(5301, 8);
	fin6();
	assert_int_equal(parse(N, N, &f), 0);
	assert_int_equal(f.proto, IPPROTO_UDP);
	assert_int_equal(f.dport, 5301);
	/* cut by the copy inside the chain or the ports: refused */
	assert_int_equal(parse(256, N, &f), -1);
	assert_int_equal(parse(N - 6, N, &f), -1);
	/* the longest chain a packet can hold: 255 headers of 2 KiB */
	v6(IPPROTO_DSTOPTS);
	for (int i = 0; i < 31; i++)
		ext(IPPROTO_DSTOPTS, i < 30 ? IPPROTO_DSTOPTS : IPPROTO_TCP,
		    2048);
	ports(443, 20);
	fin6();
	assert_int_equal(parse(N, N, &f), 0);
	assert_int_equal(f.dport, 443);
	/* hop-by-hop, routing, first fragment, destination options */
	v6(IPPROTO_HOPOPTS);
	ext(IPPROTO_HOPOPTS, IPPROTO_ROUTING, 8);
	ext(IPPROTO_ROUTING, IPPROTO_FRAGMENT, 24);
	frag(IPPROTO_DSTOPTS, 0, 1);
	ext(IPPROTO_DSTOPTS, IPPROTO_UDP, 16);
	ports(53, 8);
	fin6();
	assert_int_equal(parse(N, N, &f), 0);
	assert_int_equal(f.proto, IPPROTO_UDP);
	assert_int_equal(f.dport, 53);
}

static void test_v6_transport_ends(void **state)
{
	struct flow f;
	/* AH ends the walk (IP6_FH_F_AUTH): nft's l4proto is 51 */
	v6(IPPROTO_DSTOPTS);
	ext(IPPROTO_DSTOPTS, IPPROTO_AH, 8);
	ext(IPPROTO_AH, IPPROTO_TCP, 24);
	ports(80, 20);
	fin6();
	assert_int_equal(parse(N, N, &f), 0);
	assert_int_equal(f.proto, IPPROTO_AH);
	assert_int_equal(f.dport, 0);
	/* ESP, No Next Header, mobility: transports of their own */
	uint8_t ends[] = {IPPROTO_ESP, IPPROTO_NONE, 135};
	for (size_t i = 0; i < sizeof(ends); i++) {
		v6(IPPROTO_HOPOPTS);
		ext(IPPROTO_HOPOPTS, ends[i], 8);
		N += 16;
		fin6();
		assert_int_equal(parse(N, N, &f), 0);
		assert_int_equal(f.proto, ends[i]);
	}
	/* a later fragment: no transport header to read */
	v6(IPPROTO_FRAGMENT);
	frag(IPPROTO_TCP, 100, 0);
	ports(80, 20);
	fin6();
	assert_int_equal(parse(N, N, &f), -1);
	/* a later fragment followed by another extension header: the kernel
	 * finds no transport (-ENOENT) */
	v6(IPPROTO_FRAGMENT);
	frag(IPPROTO_DSTOPTS, 100, 0);
	ext(IPPROTO_DSTOPTS, IPPROTO_TCP, 8);
	ports(80, 20);
	fin6();
	assert_int_equal(parse(N, N, &f), -1);
	/* an atomic fragment (offset 0, no M): walked through */
	v6(IPPROTO_FRAGMENT);
	frag(IPPROTO_TCP, 0, 0);
	ports(22, 20);
	fin6();
	assert_int_equal(parse(N, N, &f), 0);
	assert_int_equal(f.dport, 22);
}

static void test_v6_lengths(void **state)
{
	struct flow f;
	v6(IPPROTO_TCP);
	ports(80, 20);
	fin6();
	assert_int_equal(parse(N, N, &f), 0);
	/* payload length beyond the packet: nft gives it no l4proto */
	P[5]++;
	assert_int_equal(parse(N, N, &f), -1);
	/* 0: a jumbogram, the packet's own length */
	P[4] = P[5] = 0;
	assert_int_equal(parse(N, N, &f), 0);
	/* a chain header cut by the end of the packet */
	v6(IPPROTO_DSTOPTS);
	ext(IPPROTO_DSTOPTS, IPPROTO_TCP, 16);
	fin6();
	assert_int_equal(parse(N, N, &f), -1);
	assert_int_equal(parse(41, 41, &f), -1);
	assert_int_equal(parse(39, 39, &f), -1);
}

/* Starts an IPv4 packet of protocol PROTO with OPT bytes of options. */
static void v4(uint8_t proto, size_t opt)
{
	memset(P, 0, sizeof(P));
	P[0] = (uint8_t)(0x40 | (20 + opt) / 4);
	P[8] = 64;
	P[9] = proto;
	inet_pton(AF_INET, "198.18.1.2", P + 12);
	inet_pton(AF_INET, "198.18.2.2", P + 16);
	memset(P + 20, 1, opt); /* NOPs */
	N = 20 + opt;
}

static void fin4(void)
{
	P[2] = (uint8_t)(N >> 8);
	P[3] = (uint8_t)N;
}

static void test_v4(void **state)
{
	struct flow f;
	/* forty bytes of options */
	v4(IPPROTO_TCP, 40);
	ports(8080, 20);
	fin4();
	assert_int_equal(parse(N, N, &f), 0);
	assert_int_equal(f.dport, 8080);
	assert_int_equal(f.family, AF_INET);
	/* cut at the ports by the copy: refused */
	assert_int_equal(parse(62, N, &f), -1);
	/* total length beyond the packet, or below the header */
	P[3]++;
	assert_int_equal(parse(N, N, &f), -1);
	P[2] = 0;
	P[3] = 40;
	assert_int_equal(parse(N, N, &f), -1);
	/* IHL below 5 */
	fin4();
	P[0] = 0x44;
	assert_int_equal(parse(N, N, &f), -1);
	/* a later fragment: no transport header to read */
	v4(IPPROTO_UDP, 0);
	ports(53, 8);
	fin4();
	P[6] = 0x00;
	P[7] = 0x10;
	assert_int_equal(parse(N, N, &f), -1);
	/* a first fragment (MF set, offset 0): ports */
	P[6] = 0x20;
	P[7] = 0;
	assert_int_equal(parse(N, N, &f), 0);
	assert_int_equal(f.dport, 53);
	/* odd lengths: an ICMP packet of one byte of header */
	v4(IPPROTO_ICMP, 0);
	P[N++] = 8;
	fin4();
	assert_int_equal(parse(N, N, &f), 0);
	assert_int_equal(f.icmp_type, 8);
	/* the copy says more than the wire: refused */
	assert_int_equal(parse(N, N - 1, &f), -1);
	/* neither 4 nor 6 */
	P[0] = 0x55;
	assert_int_equal(parse(N, N, &f), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v6_chains),
	    cmocka_unit_test(test_v6_transport_ends),
	    cmocka_unit_test(test_v6_lengths),
	    cmocka_unit_test(test_v4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
