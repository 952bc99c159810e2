/*
 * nft_racer — another program racing sluiced's writes to its own table
 * (tests/kernel/27_ruleset_watch.sh).
 *
 *   nft_racer TABLE CHAIN PID COUNT SECONDS
 *   nft_racer flood SECONDS BYTES
 *
 * Listens to the nftables events (NFNLGRP_NFTABLES) and, each time a
 * transaction committed by process PID ends (NEWGEN whose
 * NFTA_GEN_PROC_PID is PID), inserts at once, first in chain CHAIN of
 * table inet TABLE, a rule `accept comment "nft_racer"`: the change lands
 * a fraction of a millisecond after sluiced's own, between its write and
 * its read-back of the table. Stops after COUNT inserts or SECONDS
 * seconds, whichever comes first, and prints "inserted N". Exit 0, or 1
 * on a setup error (message on stderr).
 *
 * With `flood`, sends for SECONDS datagrams of BYTES bytes (a no-op
 * message) to the multicast group NFNLGRP_NFTABLES, which any root
 * process may: every listener's receive buffer fills, and the kernel's
 * own events to them are lost (ENOBUFS). Prints "flooded N".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/filter.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RACER_COMMENT "nft_racer"

/* The batch inserting the rule, built in BUF (LEN bytes); its length. */
static size_t racer_batch(char *buf, size_t len, const char *table,
			  const char *chain, uint32_t seq)
{
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, len);
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);

	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	nftnl_rule_add_expr(r, e);
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);
	nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, RACER_COMMENT);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
			    nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	/* no NLM_F_APPEND: the rule goes first in the chain */
	struct nlmsghdr *nlh = nftnl_rule_nlmsg_build_hdr(
	    mnl_nlmsg_batch_current(b), NFT_MSG_NEWRULE, NFPROTO_INET,
	    NLM_F_CREATE, seq++);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	mnl_nlmsg_batch_next(b);

	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq);
	mnl_nlmsg_batch_next(b);
	size_t n = mnl_nlmsg_batch_size(b);
	mnl_nlmsg_batch_stop(b);
	return n;
}

/* Lets only datagrams that start with a NEWGEN message through to FD: a
 * flood of the events' group (`flood`) does not slow the racer. */
static void only_newgen(int fd)
{
	/* nlmsg_type (a host-order u16 at offset 4): subsystem in its
	 * high byte, message type in its low one */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	enum { TYPE_AT = 4, SUBSYS_AT = 5 };
#else
	enum { TYPE_AT = 5, SUBSYS_AT = 4 };
#endif
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SUBSYS_AT),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFNL_SUBSYS_NFTABLES, 0, 3),
	    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, TYPE_AT),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFT_MSG_NEWGEN, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, 0xffff),
	    BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]),
				  .filter = code};
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
		       sizeof(prog)) < 0)
		perror("nft_racer: filter");
}

/* True when NLH ends a transaction of process PID. */
static bool newgen_of(const struct nlmsghdr *nlh, uint32_t pid)
{
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWGEN ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		return false;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) == NFTA_GEN_PROC_PID &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			return ntohl(mnl_attr_get_u32(a)) == pid;
	}
	return false;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `flood SECONDS BYTES`. */
static int flood(double seconds, size_t bytes)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int snd = (int)bytes * 2;
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &snd,
		       sizeof(snd)) < 0) {
		perror("nft_racer: flood socket");
		return 1;
	}
	char *buf = calloc(1, bytes);
	if (!buf || bytes < sizeof(struct nlmsghdr))
		return 1;
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_len = (uint32_t)bytes;
	nlh->nlmsg_type = NLMSG_NOOP;
	struct sockaddr_nl to = {.nl_family = AF_NETLINK,
				 .nl_groups = 1u << (NFNLGRP_NFTABLES - 1)};
	long sent = 0;
	double end = now_s() + seconds;
	while (now_s() < end)
		if (sendto(mnl_socket_get_fd(nl), buf, bytes, 0,
			   (struct sockaddr *)&to, sizeof(to)) > 0)
			sent++;
	printf("flooded %ld\n", sent);
	free(buf);
	mnl_socket_close(nl);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "flood") == 0)
		return flood(strtod(argv[2], NULL),
			     (size_t)strtoul(argv[3], NULL, 10));
	if (argc != 6) {
		fprintf(stderr, "usage: nft_racer TABLE CHAIN PID COUNT "
				"SECONDS\n");
		return 1;
	}
	const char *table = argv[1], *chain = argv[2];
	uint32_t pid = (uint32_t)strtoul(argv[3], NULL, 10);
	long count = strtol(argv[4], NULL, 10);
	double end = now_s() + strtod(argv[5], NULL);

	struct mnl_socket *ev = mnl_socket_open(NETLINK_NETFILTER);
	struct mnl_socket *cmd = mnl_socket_open(NETLINK_NETFILTER);
	int grp = NFNLGRP_NFTABLES, rcv = 64 << 20; /* room beside a flood */
	if (ev) {
		setsockopt(mnl_socket_get_fd(ev), SOL_SOCKET, SO_RCVBUFFORCE,
			   &rcv, sizeof(rcv));
		only_newgen(mnl_socket_get_fd(ev));
	}
	if (!ev || !cmd || mnl_socket_bind(ev, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(cmd, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(ev, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0) {
		perror("nft_racer: netlink");
		return 1;
	}
	static char buf[1 << 16], out[4096];
	uint32_t seq = (uint32_t)time(NULL);
	long inserted = 0;
	struct pollfd pfd = {.fd = mnl_socket_get_fd(ev), .events = POLLIN};
	while (inserted < count && now_s() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = recv(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			continue; /* ENOBUFS: events lost, go on */
		int len = (int)n;
		bool fire = false;
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		     mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			fire |= newgen_of(nlh, pid);
		if (!fire)
			continue;
		size_t bl = racer_batch(out, sizeof(out), table, chain, seq);
		seq += 3;
		if (mnl_socket_sendto(cmd, out, bl) < 0) {
			perror("nft_racer: send");
			continue;
		}
		inserted++;
		/* errors (the chain gone mid-repair) come back here */
		while (recv(mnl_socket_get_fd(cmd), buf, sizeof(buf),
			    MSG_DONTWAIT) > 0)
			;
	}
	printf("inserted %ld\n", inserted);
	mnl_socket_close(ev);
	mnl_socket_close(cmd);
	return 0;
}
