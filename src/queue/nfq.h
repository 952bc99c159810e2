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

struct nfqs_opts {
	uint16_t num;	   /* queue number */
	uint32_t maxlen;   /* kernel queue length (NFQA_CFG_QUEUE_MAXLEN) */
	uint32_t copy;	   /* bytes copied per packet: headers only */
	uint32_t rcvbuf;   /* socket receive buffer, bytes */
	bool fail_open;	   /* NFQA_CFG_F_FAIL_OPEN: accept when full */
};

struct qpacket {
	uint32_t id;
	uint8_t hook;  /* NF_INET_* */
	uint32_t mark;
	const uint8_t *payload;
	size_t len;
	bool has_uid;
	uint32_t uid, gid;
	bool last; /* the last packet of the batch nfqs_dispatch() hands out */
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
 * when SET_MARK. Sent by nfqs_flush() or when the batch is full. */
void nfqs_verdict(struct nfqs *q, uint32_t id, uint32_t verdict, bool set_mark,
		 uint32_t mark);
/* True when verdicts are queued and not sent yet. */
bool nfqs_unsent(const struct nfqs *q);
/* Sends the queued verdicts in one sendmsg. Returns -1 on failure (the
 * kernel then applies its own fate to those packets). */
int nfqs_flush(struct nfqs *q);
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
