/*
 * nfq.h — one NFQUEUE queue on a netlink socket (libmnl + the nfq_nlmsg
 * helpers). Non-blocking; verdicts are batched and sent together.
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
};

struct nfqs;

typedef void (*nfqs_packet_fn)(void *arg, const struct qpacket *pkt);

/* Opens, binds and configures queue O->num. NULL with errno on failure
 * (EBUSY: another process holds the queue). */
struct nfqs *nfqs_open(const struct nfqs_opts *o);
int nfqs_fd(const struct nfqs *q);
/* Reads every datagram now available and calls FN for each packet.
 * Returns the number of packets, or -1 on a fatal socket error. Netlink
 * overruns (ENOBUFS) are counted in *OVERRUNS, never fatal. */
int nfqs_receive(struct nfqs *q, nfqs_packet_fn fn, void *arg,
		uint64_t *overruns);
/* Queues a verdict (NF_ACCEPT, NF_DROP, NF_REPEAT), with a new packet mark
 * when SET_MARK. Sent by nfqs_flush() or when the batch is full. */
void nfqs_verdict(struct nfqs *q, uint32_t id, uint32_t verdict, bool set_mark,
		 uint32_t mark);
/* Sends the queued verdicts in one sendmsg. Returns -1 on failure (the
 * kernel then applies its own fate to those packets). */
int nfqs_flush(struct nfqs *q);
/* Unbinds and frees Q. */
void nfqs_close(struct nfqs *q);

#endif
