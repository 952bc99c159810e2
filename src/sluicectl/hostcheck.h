/* hostcheck.h — `sluicectl check --host` (hostcheck.c). */
#ifndef SLUICECTL_HOSTCHECK_H
#define SLUICECTL_HOSTCHECK_H

#include "policy/policy.h"

#include <stddef.h>

struct host_findings {
	size_t sockets; /* sockets read from /proc/net/{tcp,udp}{,6} */
	size_t n;	/* findings: ways in this host's administrator uses
			 * that a start of sluiced from P would cut */
	bool conntrack; /* the conntrack table was read and judged */
	size_t ct_entries; /* entries of it read */
};

/*
 * Judges policy P (loaded and valid) against the sockets of this network
 * namespace: the ports a process named sshd listens on that no allow rule
 * admits to the gateway itself; the established TCP sessions to a
 * listening port of this host from another host that P denies as a new
 * session of nobody (sluiced(8), START-UP: a start cuts them once the
 * adopt window ends); the UDP ports a VPN daemon (or, as root, the
 * kernel's WireGuard) takes datagrams on that no allow rule admits; and,
 * when the conntrack table can be read (as root), its UDP streams and its
 * tunnels (GRE, ESP, SCTP) to and from the gateway, a session DNAT sent
 * elsewhere judged where it was sent.
 * Prints each finding (the first 20, then a count) to standard error as
 * "host: warning: MESSAGE" and fills *H. Without root the owners of other
 * users' sockets are unknown, so sshd's listeners and VPN daemons are not
 * found; the sessions are judged all the same. Reads /proc (proc(5)) and
 * /sys/class/net only; allocates nothing that outlives the call.
 */
void host_check(const struct policy *p, struct host_findings *h);

/*
 * The WireGuard interfaces under SYSNET (a sysfs class directory,
 * "/sys/class/net"): those whose uevent has the line DEVTYPE=wireguard
 * (drivers/net/wireguard/device.c sets the device type "wireguard").
 * Copies the first one's name into NAME (LEN bytes, cut) when there is
 * one. Returns how many; 0 when SYSNET cannot be read.
 */
size_t host_wireguard_iface(const char *sysnet, char *name, size_t len);

#endif
