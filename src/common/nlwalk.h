/*
 * nlwalk.h — the messages of one netlink datagram, with every length
 * checked in unsigned arithmetic before it is used: a message header that
 * does not fit, a length shorter than its header or longer than what is
 * left ends the walk. (libmnl's mnl_nlmsg_ok() compares the length as an
 * int, so a length of 2^31 or more would pass it and move the cursor far
 * outside the buffer.) Header only: the readers of the kernel's netlink
 * messages use it (kernel/nflog.c, kernel/conntrack.c).
 */
#ifndef SLUICE_COMMON_NLWALK_H
#define SLUICE_COMMON_NLWALK_H

#include <errno.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Calls FN(message, ARG) for each message of the LEN bytes at BUF (BUF
 * aligned as the kernel aligns a datagram) that is neither NLMSG_NOOP,
 * NLMSG_ERROR nor NLMSG_DONE; FN's message is whole within BUF. Returns
 * the messages handed to FN. */
static inline size_t nlwalk(const void *buf, size_t len,
			    void (*fn)(const struct nlmsghdr *nlh, void *arg),
			    void *arg)
{
	const uint8_t *p = buf;
	size_t left = len, n = 0;
	while (left >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(const void *)p;
		size_t ml = nlh->nlmsg_len;
		if (ml < sizeof(struct nlmsghdr) || ml > left)
			break;
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
			fn(nlh, arg);
			n++;
		}
		size_t step = NLMSG_ALIGN(ml);
		if (step >= left)
			break;
		p += step;
		left -= step;
	}
	return n;
}

/* Reads at most MAX_READS datagrams waiting on the netlink socket FD
 * (never blocks) and walks each (nlwalk) with FN(message, ARG) on the
 * calling thread's 64 KiB buffer. A datagram the kernel dropped for want
 * of room (ENOBUFS) is counted in *LOST and reading goes on. Returns 0
 * when nothing more waits or MAX_READS were read, -1 (errno) on another
 * receive error. */
static inline int nlwalk_recv(int fd, size_t max_reads,
			      void (*fn)(const struct nlmsghdr *nlh, void *arg),
			      void *arg, uint64_t *lost)
{
	/* a datagram: one or a few messages */
	static _Thread_local _Alignas(NLMSG_ALIGNTO) char buf[65536];
	for (size_t i = 0; i < max_reads; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			if (errno == ENOBUFS) { /* datagrams lost; read on */
				(*lost)++;
				continue;
			}
			return -1;
		}
		if (n == 0)
			break;
		/* a message that does not fit ends this datagram only */
		nlwalk(buf, (size_t)n, fn, arg);
	}
	return 0;
}

#endif
