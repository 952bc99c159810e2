/* test_nfq.c — a packet message cut short (larger than its receive slot)
 * still yields its id, so the packet is denied, not left without a verdict;
 * a verdict whose send fails is re-sent, never dropped. */
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
#include <errno.h>
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

/* A send that fails with FAIL_ERRNO while FAILS > 0, and records the
 * packet ids of what it accepted, in order. */
static int FAILS, FAIL_ERRNO, NSENDS;
static uint32_t SENT[40000];
static size_t NSENT;

static long fake_send(void *arg, const void *buf, size_t len)
{
	(void)arg;
	NSENDS++;
	if (FAILS > 0) {
		FAILS--;
		errno = FAIL_ERRNO;
		return -1;
	}
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;
	while (mnl_nlmsg_ok(nlh, left)) {
		struct nlattr *a;
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
			if (mnl_attr_get_type(a) == NFQA_VERDICT_HDR) {
				const struct nfqnl_msg_verdict_hdr *vh =
				    mnl_attr_get_payload(a);
				SENT[NSENT++] = ntohl(vh->id);
			}
		}
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	return (long)len;
}

static void reset(int fails, int err)
{
	FAILS = fails;
	FAIL_ERRNO = err;
	NSENDS = 0;
	NSENT = 0;
}

/* Transient failures are retried within one flush; the order holds. */
static void test_send_retried(void **state)
{
	struct nfqs_vbuf v = {.queue = 3, .send = fake_send};
	reset(2, ENOBUFS);
	for (uint32_t id = 1; id <= 10; id++)
		nfqs_vbuf_put(&v, id, NF_REPEAT, true, 0x40010000);
	assert_int_equal(nfqs_vbuf_flush(&v), 0);
	assert_int_equal(v.retries, 2);
	assert_int_equal(NSENT, 10);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(SENT[i], i + 1);
	assert_int_equal(v.n, 0);
	nfqs_vbuf_free(&v);
}

/* Failures past the tries (or a lasting error) keep the verdicts for the
 * next flush, and a full batch goes out by itself, in chunks of
 * NFQS_SEND_BATCH messages. */
static void test_send_kept(void **state)
{
	struct nfqs_vbuf v = {.queue = 3, .send = fake_send};
	reset(NFQS_SEND_TRIES, EAGAIN);
	for (uint32_t id = 1; id <= 5; id++)
		nfqs_vbuf_put(&v, id, NF_DROP, false, 0);
	assert_int_equal(nfqs_vbuf_flush(&v), -1);
	assert_int_equal(v.n, 5);
	assert_int_equal(v.retries, NFQS_SEND_TRIES);
	reset(1, EBADF); /* not transient: no retry in this flush */
	assert_int_equal(nfqs_vbuf_flush(&v), -1);
	assert_int_equal(NSENDS, 1);
	assert_int_equal(v.n, 5);
	reset(0, 0);
	for (uint32_t id = 6; id <= 200; id++)
		nfqs_vbuf_put(&v, id, NF_DROP, false, 0);
	assert_int_equal(NSENT, 192); /* put sent each full batch: 64, 128, 192 */
	assert_int_equal(nfqs_vbuf_flush(&v), 0);
	assert_int_equal(NSENT, 200);
	for (uint32_t i = 0; i < 200; i++)
		assert_int_equal(SENT[i], i + 1);
	assert_int_equal(v.lost, 0);
	nfqs_vbuf_free(&v);
}

/* Sends failing for good: memory stays bounded, the oldest are counted. */
static void test_send_bounded(void **state)
{
	struct nfqs_vbuf v = {.queue = 3, .send = fake_send};
	reset(1 << 30, EBADF);
	uint32_t total = NFQS_KEEP_MAX + 3 * NFQS_SEND_BATCH;
	for (uint32_t id = 1; id <= total; id++)
		nfqs_vbuf_put(&v, id, NF_DROP, false, 0);
	assert_true(v.n <= NFQS_KEEP_MAX);
	assert_int_equal(v.lost + v.n, total);
	reset(0, 0);
	assert_int_equal(nfqs_vbuf_flush(&v), 0);
	assert_int_equal(NSENT, total - v.lost);
	assert_int_equal(SENT[0], v.lost + 1); /* the newest were kept */
	nfqs_vbuf_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_send_retried),
	    cmocka_unit_test(test_send_kept),
	    cmocka_unit_test(test_send_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
