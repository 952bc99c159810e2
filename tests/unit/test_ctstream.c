/*
 * test_ctstream.c — kernel/conntrack.h's status-filtered dump: the request
 * it sends (CTA_STATUS, CTA_STATUS_MASK) and, as root in a network
 * namespace of its own, what the kernel dumps: only the entries whose
 * status matches (a SYN_RECV session, not yet IPS_ASSURED, is dumped; an
 * assured ESTABLISHED one is not), and the unfiltered dump when the kernel
 * refuses the filter (6.18 refuses mask 0 with EINVAL).
 */
#include "kernel/conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* The request's attributes: CTA_STATUS and CTA_STATUS_MASK values (host
 * order) and how many attributes there are. */
struct req_attrs {
	int n;
	bool has_status, has_mask;
	uint32_t status, mask;
};

static struct req_attrs req_parse(const void *buf, size_t len)
{
	struct req_attrs r = {0};
	const struct nlmsghdr *nlh = buf;
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type,
			 (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	assert_int_equal(nlh->nlmsg_seq, 77);
	const struct nfgenmsg *nfh = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nfh->nfgen_family, AF_UNSPEC);
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*nfh))
	{
		r.n++;
		assert_int_equal(mnl_attr_get_payload_len(a), 4);
		if (mnl_attr_get_type(a) == CTA_STATUS) {
			r.has_status = true;
			r.status = ntohl(mnl_attr_get_u32(a));
		} else if (mnl_attr_get_type(a) == CTA_STATUS_MASK) {
			r.has_mask = true;
			r.mask = ntohl(mnl_attr_get_u32(a));
		}
	}
	return r;
}

static void test_request(void **state)
{
	(void)state;
	char buf[CT_DUMP_REQUEST_MAX];
	size_t len = ct_dump_request(buf, 77, false, 0, 0);
	struct req_attrs r = req_parse(buf, len);
	assert_int_equal(r.n, 0); /* the whole table */
	len = ct_dump_request(buf, 77, true, 0, IPS_ASSURED);
	r = req_parse(buf, len);
	assert_int_equal(r.n, 2);
	assert_true(r.has_status && r.has_mask);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.mask, IPS_ASSURED);
	len = ct_dump_request(buf, 77, true, 0x12345678u, 0xffff0000u);
	r = req_parse(buf, len);
	assert_int_equal(r.status, 0x12345678u);
	assert_int_equal(r.mask, 0xffff0000u);
}

/* ---- against the kernel (root, a namespace of its own) --------------------- */

/* Creates an IPv4 session 198.18.7.1:SPORT -> 198.18.7.2:80 of PROTO
 * (TCP in STATE) with STATUS; 0 or -1. */
static int ct_create(struct nfct_handle *h, uint8_t proto, uint16_t sport,
		     uint8_t state, uint32_t status)
{
	struct nf_conntrack *ct = nfct_new();
	if (!ct)
		return -1;
	uint32_t s, d;
	inet_pton(AF_INET, "198.18.7.1", &s);
	inet_pton(AF_INET, "198.18.7.2", &d);
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, s);
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, d);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, proto);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(sport));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(80));
	nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
	if (proto == IPPROTO_TCP)
		nfct_set_attr_u8(ct, ATTR_TCP_STATE, state);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 120);
	nfct_set_attr_u32(ct, ATTR_STATUS, status);
	int rc = nfct_query(h, NFCT_Q_CREATE, ct);
	nfct_destroy(ct);
	return rc;
}

struct seen {
	int n, tcp_syn_recv, tcp_est, udp, assured;
};

static void on_entry(const struct ct_entry *e, void *arg)
{
	struct seen *s = arg;
	s->n++;
	if (e->status & IPS_ASSURED)
		s->assured++;
	if (e->key.proto == IPPROTO_UDP)
		s->udp++;
	else if (e->tcp_state == TCP_CONNTRACK_SYN_RECV)
		s->tcp_syn_recv++;
	else if (e->tcp_state == TCP_CONNTRACK_ESTABLISHED)
		s->tcp_est++;
}

/* Reads the whole dump of S (bounded: 10 s); *FILTERED from the stream. */
static struct seen dump_all(struct ct_stream *s, bool *filtered,
			    struct seen *acc)
{
	int rc = 0;
	for (int i = 0; i < 100 && rc == 0; i++) {
		struct pollfd p = {ct_stream_fd(s), POLLIN, 0};
		poll(&p, 1, 100);
		rc = ct_stream_read(s, 16);
	}
	assert_int_equal(rc, 1);
	*filtered = ct_stream_filtered(s);
	ct_stream_close(s);
	return *acc;
}

static void test_kernel_filter(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		print_message("not root or no namespace: skipped\n");
		skip();
	}
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	assert_non_null(h);
	/* an assured ESTABLISHED session, a SYN_RECV one, a one-way UDP one */
	assert_int_equal(ct_create(h, IPPROTO_TCP, 1001,
				   TCP_CONNTRACK_ESTABLISHED,
				   IPS_SEEN_REPLY | IPS_ASSURED), 0);
	assert_int_equal(ct_create(h, IPPROTO_TCP, 1002, TCP_CONNTRACK_SYN_RECV,
				   IPS_SEEN_REPLY), 0);
	assert_int_equal(ct_create(h, IPPROTO_UDP, 1003, 0, 0), 0);
	nfct_close(h);

	bool filtered;
	struct seen all = {0}, half = {0}, fb = {0};
	dump_all(ct_stream_open(on_entry, &all), &filtered, &all);
	print_message("whole: %d entries (%d assured)\n", all.n, all.assured);
	assert_false(filtered);
	assert_int_equal(all.n, 3);
	assert_int_equal(all.assured, 1);

	dump_all(ct_stream_open_status(on_entry, &half, 0, IPS_ASSURED),
		 &filtered, &half);
	print_message("not assured: %d entries (syn_recv %d est %d udp %d) "
		      "filtered by the kernel %d\n",
		      half.n, half.tcp_syn_recv, half.tcp_est, half.udp,
		      filtered);
	assert_true(filtered);
	assert_int_equal(half.n, 2);
	assert_int_equal(half.tcp_syn_recv, 1);
	assert_int_equal(half.udp, 1);
	assert_int_equal(half.tcp_est, 0);

	/* a filter the kernel refuses (mask 0: EINVAL): the whole table,
	 * on the same stream, every entry matching (x & 0 == 0) */
	dump_all(ct_stream_open_status(on_entry, &fb, 0, 0), &filtered, &fb);
	print_message("refused filter: %d entries, filtered %d\n", fb.n,
		      filtered);
	assert_false(filtered);
	assert_int_equal(fb.n, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request),
	    cmocka_unit_test(test_kernel_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
