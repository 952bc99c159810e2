/*
 * nfq.c — NFQUEUE over libmnl, modelled on libnetfilter_queue's
 * examples/nf-queue.c, non-blocking, with batched verdicts.
 */
#include "queue/nfq.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define VERDICT_MSG 64 /* bytes one verdict message takes at most */
#define RECV_BATCH 32	/* datagrams taken by one recvmmsg */
#define MSG_OVERHEAD 2048 /* a packet message's attributes besides payload */
/* the queue flags sluiced sets, and every one it may change */
#define CFG_FLAGS (NFQA_CFG_F_GSO | NFQA_CFG_F_UID_GID)
#define CFG_MASK (CFG_FLAGS | NFQA_CFG_F_FAIL_OPEN)

struct nfqs {
	struct mnl_socket *nl;
	uint16_t num;
	char *buf; /* config replies */
	size_t bufsize;
	/* the batch nfqs_wait() received and nfqs_dispatch() hands out */
	char *slots;
	size_t slotsize;
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	int nmsgs;
	int timeout_ms; /* SO_RCVTIMEO in force, -1 = none set */
	uint64_t truncated; /* datagrams larger than a slot */
	struct nfqs_vbuf out; /* verdicts not sent yet */
	/* settings: those the kernel confirmed, and a change in flight (sent
	 * by nfqs_reconfigure, its answer seen by nfqs_dispatch) */
	struct nfqs_opts applied, wanted;
	char cfgbuf[256];
	uint32_t cfg_next;
	uint32_t cfg_seq; /* atomic: the change in flight */
	int cfg_err;	  /* atomic: CFG_WAITING, 0 applied, else an errno */
};

#define CFG_WAITING (-1)

/* The vbuf's send: one sendmsg on the queue's socket. */
static long send_nl(void *arg, const void *buf, size_t len)
{
	struct nfqs *q = arg;
	return (long)mnl_socket_sendto(q->nl, buf, len);
}

/* Sends a config message and waits for its ACK; -1 with errno. */
static int config_ack(struct nfqs *q, struct nlmsghdr *nlh)
{
	uint32_t seq = (uint32_t)time(NULL);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (int tries = 0; tries < 64; tries++) {
		ssize_t n = mnl_socket_recvfrom(q->nl, q->buf, q->bufsize);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			return -1;
		}
		int r = mnl_cb_run(q->buf, (size_t)n, seq,
				   mnl_socket_get_portid(q->nl), NULL, NULL);
		if (r == MNL_CB_ERROR)
			return -1;
		if (r == MNL_CB_STOP)
			return 0;
	}
	errno = ETIMEDOUT;
	return -1;
}

/* Receive buffer O->rcvbuf (bytes; 0: leave) on Q's socket: beyond the
 * system maximum when the process may (SO_RCVBUFFORCE). */
static void set_rcvbuf(struct nfqs *q, const struct nfqs_opts *o)
{
	if (!o->rcvbuf)
		return;
	int sz = (int)o->rcvbuf;
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &sz, sizeof(sz)) < 0)
		setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF, &sz,
			   sizeof(sz));
}

/* The queue flags (fail open or not) and length of O, as attributes of
 * config message NLH; the mask names the fail-open flag either way, so
 * a change to fail closed clears it. */
static void put_settings(struct nlmsghdr *nlh, const struct nfqs_opts *o)
{
	uint32_t flags = CFG_FLAGS | (o->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(CFG_MASK));
	if (o->maxlen)
		mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(o->maxlen));
}

struct nfqs *nfqs_open(const struct nfqs_opts *o)
{
	struct nfqs *q = xcalloc(1, sizeof(*q));
	int one = 1, saved;
	struct nlmsghdr *nlh;

	q->num = o->num;
	q->bufsize = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
	q->buf = xmalloc(q->bufsize);
	q->slotsize = NLMSG_ALIGN(o->copy + MSG_OVERHEAD);
	q->slots = xmalloc(q->slotsize * RECV_BATCH);
	q->timeout_ms = -1;
	q->out = (struct nfqs_vbuf){.queue = o->num, .send = send_nl, .arg = q};
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* never let a full socket buffer kill the loop */
	mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	set_rcvbuf(q, o);

	nlh = nfq_nlmsg_put(q->buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (config_ack(q, nlh) < 0)
		goto fail;

	nlh = nfq_nlmsg_put(q->buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)o->copy);
	put_settings(nlh, o);
	if (config_ack(q, nlh) < 0)
		goto fail;

	q->applied = *o;
	q->cfg_next = 1;
	return q;
fail:
	saved = errno;
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->buf);
	free(q->slots);
	free(q);
	errno = saved;
	return NULL;
}

int nfqs_fd(const struct nfqs *q)
{
	return mnl_socket_get_fd(q->nl);
}

/* Decodes one packet message and hands it to FN. */
static void dispatch_packet(const struct nlmsghdr *nlh, bool last,
			    nfqs_packet_fn fn, void *arg)
{
	struct nlattr *attr[NFQA_MAX + 1] = {0};
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return; /* no id: nothing we could answer */
	const struct nfqnl_msg_packet_hdr *ph =
	    mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	struct qpacket p = {.id = ntohl(ph->packet_id), .hook = ph->hook,
			    .last = last};
	if (attr[NFQA_MARK])
		p.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_PAYLOAD]) {
		p.payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		p.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
		p.wire_len = p.len;
		/* present when the copy range cut the packet */
		if (attr[NFQA_CAP_LEN] &&
		    mnl_attr_get_payload_len(attr[NFQA_CAP_LEN]) == 4) {
			uint32_t cap = ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN]));
			if (cap > p.len)
				p.wire_len = cap;
		}
	}
	if (attr[NFQA_UID] && attr[NFQA_GID]) {
		p.has_uid = true;
		p.uid = ntohl(mnl_attr_get_u32(attr[NFQA_UID]));
		p.gid = ntohl(mnl_attr_get_u32(attr[NFQA_GID]));
	}
	fn(arg, &p);
}

int nfqs_wait(struct nfqs *q, int timeout_ms, uint64_t *overruns)
{
	int fd = mnl_socket_get_fd(q->nl);
	int flags = MSG_WAITFORONE;
	if (timeout_ms == 0)
		flags |= MSG_DONTWAIT;
	else if (timeout_ms != q->timeout_ms) {
		struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
			return -1;
		q->timeout_ms = timeout_ms;
	}
	q->nmsgs = 0;
	for (int i = 0; i < RECV_BATCH; i++) {
		q->iov[i] = (struct iovec){q->slots + (size_t)i * q->slotsize,
					   q->slotsize};
		q->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &q->iov[i],
						     .msg_iovlen = 1};
	}
	for (;;) {
		int n = recvmmsg(fd, q->msgs, RECV_BATCH, flags, NULL);
		if (n >= 0) {
			q->nmsgs = n;
			return n;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			(*overruns)++;
			continue;
		}
		return -1;
	}
}

int nfqs_truncated_packet(const void *buf, size_t len, struct qpacket *out)
{
	const struct nlmsghdr *nlh = buf;
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const struct nlattr *a = (const void *)((const char *)buf + off);
	if (len < off + NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr) ||
	    nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) ||
	    (a->nla_type & NLA_TYPE_MASK) != NFQA_PACKET_HDR ||
	    a->nla_len < NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr))
		return -1;
	const struct nfqnl_msg_packet_hdr *ph =
	    (const void *)((const char *)a + NLA_HDRLEN);
	memset(out, 0, sizeof(*out));
	out->id = ntohl(ph->packet_id);
	out->hook = ph->hook;
	return 0;
}

/* The kernel's answer (NLMSG_ERROR: 0 = done) to a config message: when
 * it answers the change in flight, its outcome for nfqs_reconfigured(). */
static void note_answer(struct nfqs *q, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
	    nlh->nlmsg_seq != __atomic_load_n(&q->cfg_seq, __ATOMIC_ACQUIRE))
		return;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	__atomic_store_n(&q->cfg_err, e->error < 0 ? -e->error : 0,
			 __ATOMIC_RELEASE);
}

uint32_t nfqs_reconfigure(struct nfqs *q, const struct nfqs_opts *o)
{
	uint32_t seq = q->cfg_next++;
	if (seq == 0)
		seq = q->cfg_next++;
	q->wanted = q->applied;
	q->wanted.fail_open = o->fail_open;
	q->wanted.maxlen = o->maxlen;
	q->wanted.rcvbuf = o->rcvbuf;
	struct nlmsghdr *nlh = nfq_nlmsg_put(q->cfgbuf, NFQNL_MSG_CONFIG, q->num);
	put_settings(nlh, &q->wanted);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	__atomic_store_n(&q->cfg_err, CFG_WAITING, __ATOMIC_RELAXED);
	__atomic_store_n(&q->cfg_seq, seq, __ATOMIC_RELEASE);
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return 0;
	set_rcvbuf(q, &q->wanted);
	return seq;
}

int nfqs_reconfigured(struct nfqs *q, uint32_t seq)
{
	if (seq == 0 || seq != __atomic_load_n(&q->cfg_seq, __ATOMIC_ACQUIRE)) {
		errno = EINVAL;
		return -1;
	}
	int err = __atomic_load_n(&q->cfg_err, __ATOMIC_ACQUIRE);
	if (err == CFG_WAITING)
		return 0;
	if (err) {
		errno = err;
		return -1;
	}
	q->applied = q->wanted;
	return 1;
}

int nfqs_dispatch(struct nfqs *q, nfqs_packet_fn fn, void *arg)
{
	int count = 0;
	for (int i = 0; i < q->nmsgs; i++) {
		const struct nlmsghdr *nlh =
		    (const struct nlmsghdr *)q->iov[i].iov_base;
		int left = (int)q->msgs[i].msg_len;
		if (q->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			struct qpacket p;
			q->truncated++;
			if (nfqs_truncated_packet(q->iov[i].iov_base,
						  q->iov[i].iov_len, &p) == 0) {
				p.last = i == q->nmsgs - 1;
				fn(arg, &p); /* no payload: denied */
				count++;
			}
			continue;
		}
		while (mnl_nlmsg_ok(nlh, left)) {
			const struct nlmsghdr *cur = nlh;
			nlh = mnl_nlmsg_next(nlh, &left);
			bool last = i == q->nmsgs - 1 && !mnl_nlmsg_ok(nlh, left);
			if (cur->nlmsg_type ==
			    ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
				dispatch_packet(cur, last, fn, arg);
				count++;
			} else if (cur->nlmsg_type == NLMSG_ERROR) {
				note_answer(q, cur);
			}
		}
	}
	q->nmsgs = 0;
	return count;
}

/* Removes the first N messages (BYTES bytes) of V. */
static void vbuf_shift(struct nfqs_vbuf *v, size_t n, size_t bytes)
{
	memmove(v->buf, v->buf + bytes, v->len - bytes);
	v->len -= bytes;
	v->n -= n;
}

/* The byte length of V's first N messages (N <= V->n). */
static size_t vbuf_span(const struct nfqs_vbuf *v, size_t n)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		const struct nlmsghdr *nlh = (const void *)(v->buf + off);
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return off;
}

void nfqs_vbuf_put(struct nfqs_vbuf *v, uint32_t id, uint32_t verdict,
		   bool set_mark, uint32_t mark)
{
	nfqs_vbuf_put_pkt(v, id, verdict, set_mark, mark, NULL, 0);
}

void nfqs_vbuf_put_pkt(struct nfqs_vbuf *v, uint32_t id, uint32_t verdict,
		       bool set_mark, uint32_t mark, const void *pkt,
		       size_t len)
{
	size_t need = VERDICT_MSG + (pkt ? MNL_ALIGN(len) + MNL_ATTR_HDRLEN : 0);
	if (v->n && v->n % NFQS_SEND_BATCH == 0)
		nfqs_vbuf_flush(v); /* a full batch goes out at once */
	if (v->n >= NFQS_KEEP_MAX) { /* sends keep failing: bounded */
		size_t n = NFQS_SEND_BATCH;
		vbuf_shift(v, n, vbuf_span(v, n));
		v->lost += n;
	}
	if (v->len + need > v->cap) {
		size_t cap = v->cap ? v->cap : NFQS_SEND_BATCH * VERDICT_MSG;
		while (v->len + need > cap)
			cap *= 2;
		v->cap = cap;
		v->buf = xrealloc(v->buf, v->cap);
	}
	struct nlmsghdr *nlh =
	    nfq_nlmsg_put(v->buf + v->len, NFQNL_MSG_VERDICT, v->queue);
	nfq_nlmsg_verdict_put(nlh, (int)id, (int)verdict);
	if (set_mark)
		nfq_nlmsg_verdict_put_mark(nlh, mark);
	if (pkt)
		nfq_nlmsg_verdict_put_pkt(nlh, pkt, (uint32_t)len);
	v->len += NLMSG_ALIGN(nlh->nlmsg_len);
	v->n++;
}

/* One send of LEN bytes of V, retried while the error is transient. */
static int vbuf_send(struct nfqs_vbuf *v, size_t len)
{
	for (int t = 0;; t++) {
		if (v->send(v->arg, v->buf, len) >= 0)
			return 0;
		int e = errno;
		v->retries++;
		bool transient = e == EINTR || e == ENOBUFS || e == ENOMEM ||
				 e == EAGAIN;
		if (!transient || t + 1 >= NFQS_SEND_TRIES) {
			errno = e;
			return -1;
		}
		if (e != EINTR) {
			struct timespec ts = {0, 1000000L << t};
			nanosleep(&ts, NULL);
		}
	}
}

int nfqs_vbuf_flush(struct nfqs_vbuf *v)
{
	while (v->n) {
		size_t n = v->n < NFQS_SEND_BATCH ? v->n : NFQS_SEND_BATCH;
		size_t bytes = vbuf_span(v, n);
		if (vbuf_send(v, bytes) < 0)
			return -1; /* kept, in order, for the next flush */
		vbuf_shift(v, n, bytes);
	}
	return 0;
}

void nfqs_vbuf_free(struct nfqs_vbuf *v)
{
	free(v->buf);
	v->buf = NULL;
	v->cap = v->len = v->n = 0;
}

void nfqs_verdict(struct nfqs *q, uint32_t id, uint32_t verdict, bool set_mark,
		 uint32_t mark)
{
	nfqs_vbuf_put(&q->out, id, verdict, set_mark, mark);
}

void nfqs_verdict_pkt(struct nfqs *q, uint32_t id, uint32_t verdict,
		      bool set_mark, uint32_t mark, const void *pkt, size_t len)
{
	nfqs_vbuf_put_pkt(&q->out, id, verdict, set_mark, mark, pkt, len);
}

bool nfqs_unsent(const struct nfqs *q)
{
	return q->out.n > 0;
}

int nfqs_flush(struct nfqs *q)
{
	return nfqs_vbuf_flush(&q->out);
}

void nfqs_send_stats(const struct nfqs *q, uint64_t *retries, uint64_t *lost)
{
	*retries = q->out.retries;
	*lost = q->out.lost;
}

void nfqs_close(struct nfqs *q)
{
	if (!q)
		return;
	nfqs_flush(q);
	struct nlmsghdr *nlh = nfq_nlmsg_put(q->buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
	mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(q->nl);
	nfqs_vbuf_free(&q->out);
	free(q->buf);
	free(q->slots);
	free(q);
}
