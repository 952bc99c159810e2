/* nflog.c — NFLOG records of kernel-decided sessions; see nflog.h. */
#include "kernel/nflog.h"
#include "kernel/ruleset.h"
#include "common/nlwalk.h"
#include "common/util.h"
#include "packet/packet.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_log/libnetfilter_log.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct nflog_reader {
	struct mnl_socket *nl;
	unsigned portid;
	uint16_t group;
	nflog_fn fn;
	void *arg;
	uint64_t nread, nbad, nlost;
	int handed; /* by the current nflog_reader_read() */
};

/* Sends one config message for the group and waits for its ack. */
static int config(struct nflog_reader *r, bool bind_cmd, uint8_t cmd)
{
	_Alignas(NLMSG_ALIGNTO) char buf[8192];
	struct nlmsghdr *nlh =
	    nflog_nlmsg_put_header(buf, NFULNL_MSG_CONFIG, AF_UNSPEC, r->group);
	if (bind_cmd)
		nflog_attr_put_cfg_cmd(nlh, cmd);
	else
		nflog_attr_put_cfg_mode(nlh, NFULNL_COPY_PACKET,
					NFLOG_COPY_BYTES);
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	/* the ack: blocking, the socket is still ours alone */
	ssize_t n = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
	if (n < 0)
		return -1;
	return mnl_cb_run(buf, (size_t)n, 0, r->portid, NULL, NULL) < 0 ? -1
									  : 0;
}

bool nflog_parse_prefix(const char *p, size_t len, enum action *act,
			unsigned *id)
{
	static const char pre[] = RS_KLOG_PREFIX;
	char text[32];
	size_t n = strnlen(p, len);
	if (n >= sizeof(text) || n <= sizeof(pre) - 1 ||
	    memcmp(p, pre, sizeof(pre) - 1) != 0)
		return false;
	memcpy(text, p + sizeof(pre) - 1, n - (sizeof(pre) - 1));
	text[n - (sizeof(pre) - 1)] = '\0';
	char word[8];
	unsigned v;
	int used = 0;
	if (sscanf(text, "%7[a-z] %u%n", word, &v, &used) != 2 ||
	    (size_t)used != strlen(text) || v == 0 || v > 0x3fffu)
		return false;
	if (strcmp(word, "allow") == 0)
		*act = ACT_ALLOW;
	else if (strcmp(word, "deny") == 0)
		*act = ACT_DENY;
	else if (strcmp(word, "reject") == 0)
		*act = ACT_REJECT;
	else
		return false;
	*id = v;
	return true;
}

bool nflog_parse_msg(const struct nlmsghdr *nlh, struct nflog_rec *rec)
{
	struct nlattr *a[NFULA_MAX + 1] = {0};
	memset(rec, 0, sizeof(*rec));
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFULNL_MSG_PACKET ||
	    nflog_nlmsg_parse(nlh, a) < 0 || !a[NFULA_PREFIX] ||
	    !a[NFULA_PAYLOAD])
		return false;
	struct session_key k;
	memset(&k, 0, sizeof(k));
	const uint8_t *pkt = mnl_attr_get_payload(a[NFULA_PAYLOAD]);
	size_t plen = mnl_attr_get_payload_len(a[NFULA_PAYLOAD]);
	if (!nflog_parse_prefix(mnl_attr_get_str(a[NFULA_PREFIX]),
				mnl_attr_get_payload_len(a[NFULA_PREFIX]),
				&rec->action, &rec->rule_id) ||
	    packet_parse(pkt, plen, plen, &rec->flow, &k) < 0)
		return false;
	rec->flow.src_local = !a[NFULA_IFINDEX_INDEV];
	rec->flow.dst_local = !a[NFULA_IFINDEX_OUTDEV];
	return true;
}

/* One NFLOG message: a record, or counted as bad. */
static void on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct nflog_reader *r = data;
	struct nflog_rec rec;
	if (!nflog_parse_msg(nlh, &rec)) {
		r->nbad++;
		return;
	}
	r->nread++;
	r->handed++;
	r->fn(&rec, r->arg);
}

struct nflog_reader *nflog_reader_open(uint16_t group, nflog_fn fn,
				       void *arg)
{
	struct nflog_reader *r = xcalloc(1, sizeof(*r));
	r->group = group;
	r->fn = fn;
	r->arg = arg;
	r->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!r->nl || mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	r->portid = mnl_socket_get_portid(r->nl);
	int sz = 1 << 20; /* bursts of records: 1 MiB before ENOBUFS */
	if (setsockopt(mnl_socket_get_fd(r->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &sz, sizeof(sz)) < 0)
		(void)setsockopt(mnl_socket_get_fd(r->nl), SOL_SOCKET,
				 SO_RCVBUF, &sz, sizeof(sz));
	if (config(r, true, NFULNL_CFG_CMD_BIND) < 0 || config(r, false, 0) < 0)
		goto fail;
	return r;
fail:;
	int e = errno;
	if (r->nl)
		mnl_socket_close(r->nl);
	free(r);
	errno = e;
	return NULL;
}

int nflog_reader_fd(const struct nflog_reader *r)
{
	return mnl_socket_get_fd(r->nl);
}

int nflog_reader_read(struct nflog_reader *r, size_t max_reads)
{
	r->handed = 0;
	if (nlwalk_recv(mnl_socket_get_fd(r->nl), max_reads, on_msg, r,
			&r->nlost) < 0)
		return -1;
	return r->handed;
}

void nflog_reader_stats(const struct nflog_reader *r, uint64_t *read,
			uint64_t *bad, uint64_t *lost)
{
	*read = r ? r->nread : 0;
	*bad = r ? r->nbad : 0;
	*lost = r ? r->nlost : 0;
}

void nflog_reader_close(struct nflog_reader *r)
{
	if (!r)
		return;
	(void)config(r, true, NFULNL_CFG_CMD_UNBIND);
	mnl_socket_close(r->nl);
	free(r);
}
