/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfq_bare — the smallest correct NFQUEUE accept loop (libmnl +
 * libnetfilter_queue nfq_nlmsg_* helpers), the baseline for sluiced's queue
 * path, and the test helper of tests/lab/mark_recipe.sh and docs/kernel.md.
 *
 *   nfq_bare QUEUE [--mark VALUE[/MASK]] [--drop] [--hold] [--log]
 *                  [--fail-open] [--maxlen N] [--range BYTES]
 *
 * Default: every packet gets NF_ACCEPT. Copy mode packet, copy range 128
 * bytes (headers only), NFQA_CFG_F_GSO, NETLINK_NO_ENOBUFS.
 *   --mark V[/M]  answer NF_REPEAT with packet mark (mark & ~M) | V
 *                 (M defaults to 0xffffffff): the sluice verdict path.
 *   --drop        answer NF_DROP.
 *   --hold        never answer (fills the queue; for fail-mode tests).
 *   --log         one line per packet on stderr (id, hook, mark, tuple).
 *   --fail-open   NFQA_CFG_F_FAIL_OPEN: accept instead of drop when full.
 *   --maxlen N    queue length (NFQA_CFG_QUEUE_MAXLEN), default kernel's.
 * On SIGINT/SIGTERM: prints "nfq_bare: queue Q packets P verdicts V
 * errors E" on stdout, unbinds and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

enum mode { M_ACCEPT, M_REPEAT, M_DROP, M_HOLD };

static struct mnl_socket *nl;
static unsigned int portid, queue_num;
static enum mode mode = M_ACCEPT;
static uint32_t mark_val, mark_mask = 0xffffffffu;
static int log_pkts;
static uint64_t n_pkts, n_verdicts, n_errors;
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

/* Send one verdict for packet id; the old mark is needed for --mark V/M. */
static void send_verdict(uint32_t id, uint32_t old_mark)
{
	char buf[128];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue_num);

	switch (mode) {
	case M_HOLD:
		return;
	case M_DROP:
		nfq_nlmsg_verdict_put(nlh, (int)id, NF_DROP);
		break;
	case M_REPEAT:
		nfq_nlmsg_verdict_put(nlh, (int)id, NF_REPEAT);
		nfq_nlmsg_verdict_put_mark(nlh, (old_mark & ~mark_mask) | mark_val);
		break;
	case M_ACCEPT:
		nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
		break;
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		n_errors++;	/* e.g. ENOBUFS/EPERM: count, never exit */
	else
		n_verdicts++;
}

/* --log: describe the copied headers (IPv4/IPv6 + TCP/UDP ports). */
static void log_packet(uint32_t id, uint8_t hook, uint32_t mark,
		       const uint8_t *p, size_t len)
{
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
	unsigned int proto = 0, sport = 0, dport = 0, flags = 0;
	size_t l4 = 0;

	if (len >= 20 && (p[0] >> 4) == 4) {
		inet_ntop(AF_INET, p + 12, src, sizeof(src));
		inet_ntop(AF_INET, p + 16, dst, sizeof(dst));
		proto = p[9];
		l4 = (size_t)(p[0] & 15) * 4;
	} else if (len >= 40 && (p[0] >> 4) == 6) {
		inet_ntop(AF_INET6, p + 8, src, sizeof(src));
		inet_ntop(AF_INET6, p + 24, dst, sizeof(dst));
		proto = p[6];	/* no extension header walk: test helper */
		l4 = 40;
	}
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && l4 + 4 <= len) {
		sport = (unsigned int)(p[l4] << 8 | p[l4 + 1]);
		dport = (unsigned int)(p[l4 + 2] << 8 | p[l4 + 3]);
		if (proto == IPPROTO_TCP && l4 + 14 <= len)
			flags = p[l4 + 13];
	}
	fprintf(stderr, "pkt id=%" PRIu32 " hook=%u mark=0x%08" PRIx32
		" proto=%u %s.%u > %s.%u tcpflags=0x%02x\n",
		id, hook, mark, proto, src, sport, dst, dport, flags);
}

/* One queued packet: count it, answer it. */
static void queue_cb(const struct nlmsghdr *nlh)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	const struct nfqnl_msg_packet_hdr *ph;
	uint32_t id, mark = 0;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR]) {
		n_errors++;
		return;	/* cannot answer without an id */
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (attr[NFQA_MARK])
		mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	n_pkts++;
	if (log_pkts && attr[NFQA_PAYLOAD])
		log_packet(id, ph->hook, mark, mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
			   mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]));
	send_verdict(id, mark);
}

/* Dispatch every message of one datagram. Packets go to queue_cb; an error
 * message (e.g. a verdict for an id the kernel no longer holds) is counted and
 * never stops the loop, and never hides the messages after it (mnl_cb_run
 * would). Returns 1 on ACK (error 0), -1 on a config error, 0 otherwise. */
static int dispatch(const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int len_left = (int)len, ret = 0;

	for (; mnl_nlmsg_ok(nlh, len_left); nlh = mnl_nlmsg_next(nlh, &len_left)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (e->error == 0) {
				ret = 1;
			} else {
				errno = -e->error;
				n_errors++;
				ret = -1;
			}
		} else if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
			queue_cb(nlh);
		}
	}
	return ret;
}

/* Receive one datagram and dispatch it. -1 only on a fatal socket error. */
static int receive(char *buf, size_t size)
{
	ssize_t n = mnl_socket_recvfrom(nl, buf, size);

	if (n < 0)
		return (errno == EINTR || errno == ENOBUFS) ? 0 : -1;
	dispatch(buf, (size_t)n);
	return 0;
}

/* Send a config message with NLM_F_ACK and wait for its ACK or error;
 * packets that arrive meanwhile are answered. */
static int config(struct nlmsghdr *nlh, char *buf, size_t size)
{
	ssize_t n;
	int r;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, size);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			return -1;
		}
		r = dispatch(buf, (size_t)n);
		if (r != 0)
			return r;
	}
}

static void usage(void)
{
	fputs("usage: nfq_bare QUEUE [--mark VALUE[/MASK]] [--drop] [--hold] [--log]\n"
	      "                [--fail-open] [--maxlen N] [--range BYTES]\n", stderr);
	exit(2);
}

int main(int argc, char *argv[])
{
	size_t bufsize = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
	uint32_t flags = NFQA_CFG_F_GSO, maxlen = 0, range = 128;
	struct sigaction sa = { .sa_handler = on_signal };
	struct nlmsghdr *nlh;
	char *buf, *end;
	int one = 1, i;

	if (argc < 2)
		usage();
	queue_num = (unsigned int)strtoul(argv[1], &end, 0);
	if (*end || queue_num > 65535)
		usage();
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--mark") && i + 1 < argc) {
			mode = M_REPEAT;
			mark_val = (uint32_t)strtoul(argv[++i], &end, 0);
			if (*end == '/')
				mark_mask = (uint32_t)strtoul(end + 1, &end, 0);
			if (*end)
				usage();
			mark_val &= mark_mask;
		} else if (!strcmp(argv[i], "--drop")) {
			mode = M_DROP;
		} else if (!strcmp(argv[i], "--hold")) {
			mode = M_HOLD;
		} else if (!strcmp(argv[i], "--log")) {
			log_pkts = 1;
		} else if (!strcmp(argv[i], "--fail-open")) {
			flags |= NFQA_CFG_F_FAIL_OPEN;
		} else if (!strcmp(argv[i], "--maxlen") && i + 1 < argc) {
			maxlen = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--range") && i + 1 < argc) {
			range = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else {
			usage();
		}
	}

	buf = malloc(bufsize);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!buf || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfq_bare: netlink socket");
		return 1;
	}
	portid = mnl_socket_get_portid(nl);
	/* A full socket buffer must not kill the loop: the kernel then drops
	 * (or with --fail-open accepts) instead of reporting ENOBUFS to us. */
	mnl_socket_setsockopt(nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));

	sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART: recv returns EINTR */
	sigaction(SIGTERM, &sa, NULL);

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (config(nlh, buf, bufsize) < 0) {
		fprintf(stderr, "nfq_bare: bind queue %u: %s\n", queue_num, strerror(errno));
		return 1;
	}
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)range);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	if (maxlen)
		nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
	if (config(nlh, buf, bufsize) < 0) {
		fprintf(stderr, "nfq_bare: configure queue %u: %s\n", queue_num,
			strerror(errno));
		return 1;
	}
	fprintf(stderr, "nfq_bare: queue %u ready\n", queue_num);

	while (!stop) {
		if (receive(buf, bufsize) < 0) {
			perror("nfq_bare: receive");
			n_errors++;
			break;
		}
	}

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
	mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(nl);
	free(buf);
	printf("nfq_bare: queue %u packets %" PRIu64 " verdicts %" PRIu64
	       " errors %" PRIu64 "\n", queue_num, n_pkts, n_verdicts, n_errors);
	fflush(stdout);
	return 0;
}
