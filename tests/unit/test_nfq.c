/* test_nfq.c — a packet message cut short (larger than its receive slot)
 * still yields its id, so the packet is denied, not left without a verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "queue/nfq.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <string.h>

/* A packet message as the kernel builds it: header first, then payload. */
static size_t build(char *buf, size_t size, uint32_t id, size_t payload)
{
	memset(buf, 0, size);
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_PACKET, 3);
	struct nfqnl_msg_packet_hdr ph = {.packet_id = htonl(id),
					  .hook = NF_INET_FORWARD};
	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(ph), &ph);
	static char data[1500];
	mnl_attr_put(nlh, NFQA_PAYLOAD, payload, data);
	return nlh->nlmsg_len;
}

static void test_truncated(void **state)
{
	(void)state;
	char buf[4096];
	size_t full = build(buf, sizeof(buf), 4242, 1400);
	assert_true(full > 1400);
	struct qpacket p;
	/* cut anywhere after the header: the id is there */
	for (size_t cut = 48; cut <= full; cut += 100) {
		memset(&p, 0xff, sizeof(p));
		assert_int_equal(nfqs_truncated_packet(buf, cut, &p), 0);
		assert_int_equal(p.id, 4242);
		assert_int_equal(p.hook, NF_INET_FORWARD);
		assert_null(p.payload);
		assert_false(p.last);
	}
	/* cut inside the packet header: nothing to answer */
	assert_int_equal(nfqs_truncated_packet(buf, 30, &p), -1);
	/* not a packet message */
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT;
	assert_int_equal(nfqs_truncated_packet(buf, full, &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
