/*
 * fds.h — descriptor headroom. A listener a remote party can fill must not
 * take the descriptors the control socket and the kernel calls need, and a
 * library that exits when it cannot open a socket (libnftables) is called
 * only when it can.
 */
#ifndef SLUICE_FDS_H
#define SLUICE_FDS_H

#include <stdbool.h>

/* Descriptors kept for the kernel calls (libnftables, conntrack, queue
 * sockets) and the control socket: listeners refuse beyond this. */
#define FD_RESERVE_KERNEL 16
/* ... and more kept from the network listeners (metrics, HTTP): the
 * control socket can still connect when they are full. */
#define FD_RESERVE_LISTENERS 48

/* The soft RLIMIT_NOFILE (1024 if unknown). */
long fd_limit(void);

/* Descriptors a libnftables call may open at once (its netlink socket,
 * with room to spare): checked with fd_room() before each call. */
#define NFT_FDS_NEEDED 8

/* For a descriptor FD just accepted: true when it leaves at least RESERVE
 * below the soft limit. Descriptors are handed out lowest first, so an FD
 * this high means the ones below are all taken. */
bool fd_below_reserve(int fd, unsigned reserve);

/* True when N more descriptors can be opened now (tried: N dups of fd 2,
 * closed again). */
bool fd_room(unsigned n);

#endif
