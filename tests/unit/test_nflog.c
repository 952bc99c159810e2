/* test_nflog.c — NFLOG records of kernel-decided sessions read defensively:
 * a good record gives the rule id, action, addresses and ports; a prefix
 * that is not ours, one without its terminator, a cut attribute, a packet
 * that does not read, or a message of another type is refused, never
 * guessed at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernel/nflog.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_log/libnetfilter_log.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include <string.h>

/* An IPv4 TCP SYN 198.18.3.2:34862 -> 198.18.2.2:22, LEN bytes kept. */
static size_t syn(uint8_t *p)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[3] = 40;  /* total length */
	p[8] = 64;  /* ttl */
	p[9] = IPPROTO_TCP;
	uint8_t src[4] = {198, 18, 3, 2}, dst[4] = {198, 18, 2, 2};
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	p[20] = 34862 >> 8, p[21] = 34862 & 0xff;
	p[22] = 0, p[23] = 22;
	p[32] = 0x50; /* data offset */
	p[33] = 0x02; /* SYN */
	return 40;
}

/* A packet record: PREFIX (PLEN bytes, as given: no terminator added) and
 * the first PKTLEN bytes of the SYN; input device only (forwarded: both). */
static struct nlmsghdr *build(char *buf, const char *prefix, size_t plen,
			      size_t pktlen, bool outdev)
{
	memset(buf, 0, 4096);
	struct nlmsghdr *nlh =
	    nflog_nlmsg_put_header(buf, NFULNL_MSG_PACKET, AF_INET, 1714);
	struct nfulnl_msg_packet_hdr ph = {.hw_protocol = htons(0x0800)};
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(ph), &ph);
	mnl_attr_put(nlh, NFULA_PREFIX, plen, prefix);
	mnl_attr_put_u32(nlh, NFULA_IFINDEX_INDEV, htonl(2));
	if (outdev)
		mnl_attr_put_u32(nlh, NFULA_IFINDEX_OUTDEV, htonl(3));
	uint8_t pkt[40];
	syn(pkt);
	mnl_attr_put(nlh, NFULA_PAYLOAD, pktlen, pkt);
	return nlh;
}

static void test_good_record(void **state)
{
	(void)state;
	char buf[4096];
	struct nflog_rec r;
	const char *pre = "sluice deny 6";
	assert_true(nflog_parse_msg(build(buf, pre, strlen(pre) + 1, 40, true),
				    &r));
	assert_int_equal(r.action, ACT_DENY);
	assert_int_equal(r.rule_id, 6);
	assert_int_equal(r.flow.family, AF_INET);
	assert_int_equal(r.flow.proto, IPPROTO_TCP);
	assert_int_equal(r.flow.src4, 0xc6120302u);
	assert_int_equal(r.flow.dst4, 0xc6120202u);
	assert_int_equal(r.flow.sport, 34862);
	assert_int_equal(r.flow.dport, 22);
	assert_false(r.flow.src_local);
	assert_false(r.flow.dst_local);
	/* no output device: the packet was for the gateway */
	assert_true(nflog_parse_msg(build(buf, pre, strlen(pre) + 1, 40, false),
				    &r));
	assert_true(r.flow.dst_local);
}

static void test_hostile_records(void **state)
{
	(void)state;
	char buf[4096];
	struct nflog_rec r;
	const char *pre = "sluice allow 3";
	/* the prefix without its terminator */
	assert_false(nflog_parse_msg(build(buf, pre, strlen(pre), 40, true), &r));
	/* a packet cut inside the TCP header, or inside the IP header */
	assert_false(nflog_parse_msg(build(buf, pre, strlen(pre) + 1, 22, true),
				     &r));
	assert_false(nflog_parse_msg(build(buf, pre, strlen(pre) + 1, 10, true),
				     &r));
	/* an attribute longer than the message: cut */
	struct nlmsghdr *nlh = build(buf, pre, strlen(pre) + 1, 40, true);
	nlh->nlmsg_len -= 8;
	assert_false(nflog_parse_msg(nlh, &r));
	/* another message type */
	nlh = build(buf, pre, strlen(pre) + 1, 40, true);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	assert_false(nflog_parse_msg(nlh, &r));
	/* prefixes that are not ours */
	const char *bad[] = {"sluice", "sluice ", "sluice allow", "sluice allow ",
			     "sluice allow 0", "sluice allow 16384",
			     "sluice allow 3x", "sluice allow -3",
			     "sluice queue 3", "sluice allow 3 extra",
			     "other allow 3", "sluice ALLOW 3",
			     "sluice allow 99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum action a;
		unsigned id;
		assert_false(nflog_parse_prefix(bad[i], strlen(bad[i]) + 1, &a,
						&id));
		assert_false(nflog_parse_msg(
		    build(buf, bad[i], strlen(bad[i]) + 1, 40, true), &r));
	}
	enum action a;
	unsigned id;
	assert_true(nflog_parse_prefix("sluice reject 16383", 20, &a, &id));
	assert_int_equal(a, ACT_REJECT);
	assert_int_equal(id, 16383);
	/* the length bounds the read even with a terminator further on */
	assert_false(nflog_parse_prefix("sluice allow 3", 12, &a, &id));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_record),
	    cmocka_unit_test(test_hostile_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
