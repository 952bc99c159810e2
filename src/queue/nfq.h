/*
 * nfq.h — one NFQUEUE queue on a netlink socket (libmnl + the nfq_nlmsg
 * helpers). One thread waits for a batch of packets (recvmmsg), hands them
 * out, and sends their verdicts together.
 *
 * Error convention: -1 with errno.
 */
#ifndef SLUICE_NFQ_H
#define SLUICE_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet/packet.h" /* struct qpacket */

struct nfqs_opts {
	uint16_t num;	   /* queue number */
	uint32_t maxlen;   /* kernel queue length (NFQA_CFG_QUEUE_MAXLEN) */
	uint32_t copy;	   /* bytes copied per packet (PACKET_COPY_MAX) */
	uint32_t rcvbuf;   /* socket receive buffer, bytes */
	bool fail_open;	   /* NFQA_CFG_F_FAIL_OPEN: accept when full */
};

struct nfqs;

typedef void (*nfqs_packet_fn)(void *arg, const struct qpacket *pkt);

/* Opens, binds and configures queue O->num. NULL with errno on failure
 * (EBUSY: another process holds the queue). */
struct nfqs *nfqs_open(const struct nfqs_opts *o);
int nfqs_fd(const struct nfqs *q);
/* Waits up to TIMEOUT_MS (0: not at all) for at least one datagram, then
 * takes every one already there (up to a batch) without waiting more: one
 * system call per batch. Returns the number of datagrams (0: timeout or signal), -1 with
 * errno on a fatal socket error. Netlink overruns (ENOBUFS) are counted in
 * *OVERRUNS, never fatal. The batch stays until nfqs_dispatch(). */
int nfqs_wait(struct nfqs *q, int timeout_ms, uint64_t *overruns);
/* Calls FN for each packet of the batch nfqs_wait() received and empties
 * it; returns the number of packets. Needs no system call, so a caller may
 * hold a lock around it that it would not hold around nfqs_wait(). */
int nfqs_dispatch(struct nfqs *q, nfqs_packet_fn fn, void *arg);
/* A datagram cut at LEN bytes (larger than its receive slot): reads the
 * packet id and hook from the packet header, which nfnetlink_queue puts
 * first, into OUT (no payload, so it is denied rather than left without
 * a verdict). 0, or -1 when even that is not there. */
int nfqs_truncated_packet(const void *buf, size_t len, struct qpacket *out);
/* Queues a verdict (NF_ACCEPT, NF_DROP, NF_REPEAT), with a new packet mark
 * when SET_MARK. Sent by nfqs_flush(), or at once when a batch is full. */
void nfqs_verdict(struct nfqs *q, uint32_t id, uint32_t verdict, bool set_mark,
		 uint32_t mark);
/* nfqs_verdict() that also replaces the packet by PKT[0..LEN) (NFQA_PAYLOAD;
 * the caller keeps PKT, which is copied; LEN at most the packet's length
 * plus what the kernel allows to grow, and its checksums right). */
void nfqs_verdict_pkt(struct nfqs *q, uint32_t id, uint32_t verdict,
		      bool set_mark, uint32_t mark, const void *pkt, size_t len);
/* True when verdicts are queued and not sent yet. */
bool nfqs_unsent(const struct nfqs *q);
/* Sends the queued verdicts (nfqs_vbuf_flush()). 0 when everything was
 * sent, -1 with errno when verdicts remain queued for the next call. */
int nfqs_flush(struct nfqs *q);
/* Send statistics (see struct nfqs_vbuf): RETRIES, LOST. */
void nfqs_send_stats(const struct nfqs *q, uint64_t *retries, uint64_t *lost);

/*
 * The verdict buffer of a queue, on its own so tests can drive it with a
 * failing SEND. A verdict is never dropped for a failed send: a message
 * whose send fails with EINTR, ENOBUFS, ENOMEM or EAGAIN (nothing of it
 * reached the kernel, which handles a netlink message inside sendmsg) is
 * re-sent at once, up to NFQS_SEND_TRIES tries with a pause of 1, 2, 4 ms;
 * what still fails stays queued, in order, for the next flush. Only past
 * NFQS_KEEP_MAX queued verdicts are the oldest given up (their packets then
 * stay in the kernel queue until it is unbound).
 */
#define NFQS_SEND_BATCH 64   /* verdict messages per sendmsg */
#define NFQS_SEND_TRIES 4    /* sends of one message per flush */
#define NFQS_KEEP_MAX 16384  /* verdicts kept while sends fail */
struct nfqs_vbuf {
	char *buf; /* NFQNL_MSG_VERDICT messages, back to back */
	size_t cap, len, n;
	uint16_t queue;
	/* sends LEN bytes of BUF; the byte count, or -1 with errno */
	long (*send)(void *arg, const void *buf, size_t len);
	void *arg;
	uint64_t retries; /* failed sends (each retried) */
	uint64_t lost;	  /* verdicts given up (NFQS_KEEP_MAX exceeded) */
};
/* Appends one verdict for packet ID of queue V->queue. */
void nfqs_vbuf_put(struct nfqs_vbuf *v, uint32_t id, uint32_t verdict,
		   bool set_mark, uint32_t mark);
/* nfqs_vbuf_put() with a replacement packet PKT[0..LEN) (copied). */
void nfqs_vbuf_put_pkt(struct nfqs_vbuf *v, uint32_t id, uint32_t verdict,
		       bool set_mark, uint32_t mark, const void *pkt,
		       size_t len);
/* Sends what V holds, NFQS_SEND_BATCH messages per send, retrying as above.
 * 0 when V is empty afterwards, -1 with errno otherwise. */
int nfqs_vbuf_flush(struct nfqs_vbuf *v);
/* Frees V's buffer (unsent verdicts are discarded). */
void nfqs_vbuf_free(struct nfqs_vbuf *v);
/*
 * Changing settings while the queue runs. nfqs_reconfigure() sends O's
 * fail-open flag and queue length to the kernel and sets O's receive
 * buffer (the number and copy range stay as opened). It may run on
 * another thread than the one in nfqs_wait()/nfqs_dispatch(), which must
 * keep receiving: the kernel's answer arrives among the packets and
 * nfqs_dispatch() takes note of it. One change at a time per queue (the
 * caller serialises). Returns the change's number (never 0), or 0 with
 * errno when it could not be sent.
 *
 * nfqs_reconfigured() tells the outcome of change SEQ: 1 applied, 0 no
 * answer yet, -1 with errno when the kernel refused it (or SEQ is not the
 * latest change: EINVAL). Call it from the thread that called
 * nfqs_reconfigure().
 */
uint32_t nfqs_reconfigure(struct nfqs *q, const struct nfqs_opts *o);
int nfqs_reconfigured(struct nfqs *q, uint32_t seq);
/* Unbinds and frees Q. */
void nfqs_close(struct nfqs *q);

#endif
