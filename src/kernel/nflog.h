/*
 * nflog.h — the sessions `log` rules decide in the kernel alone, as the
 * ruleset hands them to sluiced: NFLOG records (libnetfilter_log over
 * libmnl) of one group, each the first packet of a session with the prefix
 * RS_KLOG_PREFIX "ACTION ID" (kernel/ruleset.c gen_klog()).
 *
 * A record comes from the kernel but carries a packet from anywhere: every
 * length is bounded (attributes validated by nflog_nlmsg_parse(), the
 * prefix read only within its attribute, the packet through
 * packet_parse()); a record that does not read is counted as bad and
 * skipped, never guessed at.
 */
#ifndef SLUICE_KERNEL_NFLOG_H
#define SLUICE_KERNEL_NFLOG_H

#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One record, read. */
struct nflog_rec {
	struct flow flow;    /* the packet's addresses, protocol, ports;
			      * src_local/dst_local from the devices: no
			      * input device = sent by the gateway, no output
			      * device = to the gateway */
	enum action action;  /* from the prefix */
	unsigned rule_id;    /* from the prefix (common/mark.h rule id) */
};

typedef void (*nflog_fn)(const struct nflog_rec *r, void *arg);

struct nflog_reader;

/*
 * Binds NFLOG group GROUP (0..65535) in this network namespace, copying
 * NFLOG_COPY_BYTES of each packet (enough for the IP and transport
 * headers). Records are handed to FN(ARG) by nflog_reader_read(), in the
 * caller's thread. NULL with errno (EBUSY: another process has the group;
 * EPERM: no CAP_NET_ADMIN).
 */
#define NFLOG_COPY_BYTES 256u
struct nflog_reader *nflog_reader_open(uint16_t group, nflog_fn fn,
				       void *arg);
/* The socket to wait on (readable: nflog_reader_read has work). */
int nflog_reader_fd(const struct nflog_reader *r);
/* Reads at most MAX_READS socket buffers without blocking and hands every
 * good record to FN. Returns the records handed, or -1 with errno on a
 * socket error (ENOBUFS is counted as lost, not returned). */
int nflog_reader_read(struct nflog_reader *r, size_t max_reads);
/* Records handed, skipped as unreadable, and times the kernel lost some
 * (ENOBUFS on the socket). */
void nflog_reader_stats(const struct nflog_reader *r, uint64_t *read,
			uint64_t *bad, uint64_t *lost);
/* Unbinds the group and closes; NULL is fine. */
void nflog_reader_close(struct nflog_reader *r);

/* Reads one netlink message NLH (its nlmsg_len already checked against
 * the buffer, as common/nlwalk.h does) into REC; false for anything that is
 * not a well-formed NFLOG packet record of ours. For tests and fuzzing. */
struct nlmsghdr;
bool nflog_parse_msg(const struct nlmsghdr *nlh, struct nflog_rec *rec);

/* Reads the prefix P (LEN bytes at most, NUL or not) as RS_KLOG_PREFIX
 * "ACTION ID"; false for anything else. For tests. */
bool nflog_parse_prefix(const char *p, size_t len, enum action *act,
			unsigned *id);

#endif
