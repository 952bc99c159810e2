/*
 * hostcheck.c — `sluicectl check --host`: the policy against this host's
 * own ways in, before a start puts it in force. sluiced's first start
 * judges every session that exists by the policy and cuts the denied ones
 * (sluiced(8), START-UP), and the shipped policy admits ssh on tcp 22
 * only: an administrator whose sshd listens elsewhere, or who is logged
 * in by another way in, would be locked out by the install. This reads the
 * TCP sockets of the current network namespace from /proc/net/tcp and
 * /proc/net/tcp6 (proc(5)) and finds
 *   - the ports sshd, or systemd's socket activation (ssh.socket), listens
 *     on (the owner of a listening socket, by /proc/PID/fd; as root) that
 *     no allow rule admits to the gateway from that family's sources
 *     (policy_admits_to_gateway), and
 *   - the established sessions to this host's listening ports from
 *     another host, and the gateway's own sessions out, that the policy
 *     denies when judged as a new session of nobody (engine_eval; what
 *     adoption does once its window ends).
 *   - the UDP ports a VPN daemon (OpenVPN, strongSwan, Tailscale...) takes
 *     datagrams on, from /proc/net/udp{,6}, and as root the kernel's own
 *     (WireGuard's, when a WireGuard interface is here), that no allow
 *     rule admits: its transport's sessions are in no conntrack table a
 *     fresh host keeps (check_udp);
 *   - as root, from the conntrack table (what adoption itself walks):
 *     the UDP streams to and from the gateway (a VPN's transport, such as
 *     OpenVPN's udp 1194 or WireGuard's), the tunnels of other protocols
 *     (GRE, ESP), which the sockets do not show; a session DNAT sent
 *     elsewhere is judged where it was sent, as adoption judges it
 *     (ct_judged).
 * The conntrack table holds sessions only once something in this network
 * namespace uses conntrack (another firewall, docker, an earlier sluiced);
 * with none, the sockets are all there is, and sluiced's start picks the
 * sessions up mid-stream.
 * The Debian package's postinst asks it before the first start
 * (debian/sluice.postinst).
 */
#include "sluicectl/hostcheck.h"
#include "common/mark.h"
#include "common/util.h"
#include "kernel/conntrack.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HOST_SOCKS_MAX 65536u /* sockets kept a table: a bound */
#define HOST_SHOWN_MAX 20u    /* findings printed; the rest counted */
#define HOST_CT_READS 64      /* socket buffers read per conntrack wake-up */
#define HOST_CT_WAIT_MS 30000 /* the conntrack dump's bound, in all */
/* include/net/tcp_states.h; a UDP socket is ESTABLISHED when connected,
 * CLOSE when not (bound: it takes datagrams from anyone) */
enum { TCP_ST_ESTABLISHED = 1, TCP_ST_CLOSE = 7, TCP_ST_LISTEN = 10 };

struct hsock {
	int proto;		   /* IPPROTO_TCP, IPPROTO_UDP */
	int family;		   /* AF_INET, AF_INET6 (a v4-mapped peer: AF_INET) */
	char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
	uint16_t lport, rport;
	int state;
	unsigned long inode;
	char comm[17];		   /* the owner's name, "" when unknown */
	bool loopback;		   /* remote is 127/8, ::1 or this host's */
	bool local_loop;	   /* local is 127/8 or ::1: no way in */
	bool kernel;		   /* UDP, bound, held by no process: the
				    * kernel's (kernel_sockets) */
	signed char v6only;	   /* an IPv6 listening or bound socket:
				    * IPV6_V6ONLY 1 or 0, -1 not known
				    * (read_v6only) */
};

/* HEX (8 or 32 hex digits, the kernel's %08X of each native 32-bit word)
 * as text into OUT; sets *FAMILY (AF_INET for a v4-mapped IPv6 address)
 * and *LOOP (loopback). Returns -1 on a malformed field. */
static int hex_addr(const char *hex, char *out, size_t outsz, int *family,
		    bool *loop)
{
	size_t n = strlen(hex);
	uint32_t w[4];
	if (n != 8 && n != 32)
		return -1;
	for (size_t i = 0; i < n / 8; i++) {
		char part[9];
		memcpy(part, hex + 8 * i, 8);
		part[8] = 0;
		char *end;
		w[i] = (uint32_t)strtoul(part, &end, 16);
		if (*end)
			return -1;
	}
	if (n == 8) {
		struct in_addr a = {.s_addr = w[0]};
		*family = AF_INET;
		*loop = (ntohl(a.s_addr) >> 24) == 127;
		return inet_ntop(AF_INET, &a, out, (socklen_t)outsz) ? 0 : -1;
	}
	struct in6_addr a;
	memcpy(&a, w, sizeof(a));
	if (IN6_IS_ADDR_V4MAPPED(&a)) {
		struct in_addr v4;
		memcpy(&v4, &a.s6_addr[12], 4);
		*family = AF_INET;
		*loop = (ntohl(v4.s_addr) >> 24) == 127;
		return inet_ntop(AF_INET, &v4, out, (socklen_t)outsz) ? 0 : -1;
	}
	*family = AF_INET6;
	*loop = IN6_IS_ADDR_LOOPBACK(&a);
	return inet_ntop(AF_INET6, &a, out, (socklen_t)outsz) ? 0 : -1;
}

/* One line of /proc/net/{tcp,udp}{,6} into S; -1 when it is not a
 * socket line (the header) or malformed. */
static int parse_line(const char *line, struct hsock *s)
{
	char lh[40], rh[40];
	unsigned lp, rp, st;
	unsigned long inode;
	if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x "
			 "%*x:%*x %*x:%*x %*x %*u %*u %lu",
		   lh, &lp, rh, &rp, &st, &inode) != 6 ||
	    lp > 65535 || rp > 65535)
		return -1;
	memset(s, 0, sizeof(*s));
	int rf;
	bool lloop, rloop;
	if (hex_addr(lh, s->local, sizeof(s->local), &s->family, &lloop) < 0 ||
	    hex_addr(rh, s->remote, sizeof(s->remote), &rf, &rloop) < 0)
		return -1;
	s->family = rf == AF_INET ? AF_INET : s->family;
	s->lport = (uint16_t)lp;
	s->rport = (uint16_t)rp;
	s->state = (int)st;
	s->inode = inode;
	s->loopback = rloop || strcmp(s->local, s->remote) == 0;
	s->local_loop = lloop;
	s->v6only = -1;
	return 0;
}

/* Whether S, of protocol PROTO, is judged: TCP listening and established
 * sockets; UDP bound ones (CLOSE: a server's) and connected ones. */
static bool kept_state(int proto, int state)
{
	if (proto == IPPROTO_UDP)
		return state == TCP_ST_CLOSE || state == TCP_ST_ESTABLISHED;
	return state == TCP_ST_LISTEN || state == TCP_ST_ESTABLISHED;
}

/* Appends the sockets of PATH (a table of PROTO) that kept_state() keeps
 * to *V / *N, but those on a loopback address (no way in from outside),
 * at most HOST_SOCKS_MAX a table; a table that cannot be read (no IPv6)
 * adds none. Returns false when the table held more than that: what was
 * left unread is not judged. */
static bool read_table(const char *path, int proto, struct hsock **v,
		       size_t *n)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	/* glibc reads a proc file 1 KiB a read (its st_blksize), and the
	 * kernel walks /proc/net/udp from its start for each read: reads of
	 * 64 KiB are that many times fewer walks */
	char buf[1u << 16];
	setvbuf(f, buf, _IOFBF, sizeof(buf));
	char line[512];
	size_t kept = 0;
	bool all = true;
	while (fgets(line, sizeof(line), f)) {
		struct hsock s;
		if (parse_line(line, &s) < 0 || s.local_loop ||
		    !kept_state(proto, s.state))
			continue;
		if (kept == HOST_SOCKS_MAX) {
			all = false;
			break;
		}
		s.proto = proto;
		VEC_PUSH(*v, *n, s);
		kept++;
	}
	fclose(f);
	return all;
}

static int by_inode(const void *a, const void *b)
{
	unsigned long x = ((const struct hsock *)a)->inode,
		      y = ((const struct hsock *)b)->inode;
	return (x > y) - (x < y);
}

/* Marks the sockets of V whose remote end is an address of this host (a
 * process here that reached a service here by the LAN address): not a
 * way in from outside. */
static void mark_own(struct hsock *v, size_t n)
{
	struct ifaddrs *ifs, *a;
	if (getifaddrs(&ifs) < 0)
		return;
	for (a = ifs; a; a = a->ifa_next) {
		char text[INET6_ADDRSTRLEN];
		int fam = a->ifa_addr ? a->ifa_addr->sa_family : AF_UNSPEC;
		const void *bin =
		    fam == AF_INET
			? (const void *)&((struct sockaddr_in *)(void *)a->ifa_addr)->sin_addr
		    : fam == AF_INET6
			? (const void *)&((struct sockaddr_in6 *)(void *)a->ifa_addr)->sin6_addr
			: NULL;
		if (!bin || !inet_ntop(fam, bin, text, sizeof(text)))
			continue;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(v[i].remote, text))
				v[i].loopback = true;
	}
	freeifaddrs(ifs);
}

/* ---- IPV6_V6ONLY of the IPv6 sockets (sock_diag) ---------------------------- */

struct v6only_walk {
	struct hsock *v; /* sorted by inode */
	size_t n;
	int proto;
};

/* One inet_diag_msg of the dump: its INET_DIAG_SKV6ONLY (the kernel puts
 * it for every listening and bound IPv6 socket) onto the socket of V with
 * its inode. */
static int v6only_msg(const struct nlmsghdr *nlh, void *arg)
{
	const struct v6only_walk *w = arg;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || !m->idiag_inode)
		return MNL_CB_OK; /* inode 0: the kernel's, several alike */
	int only = -1;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*m)) {
		if (mnl_attr_get_type(a) == INET_DIAG_SKV6ONLY &&
		    mnl_attr_get_payload_len(a) >= 1)
			only = *(const uint8_t *)mnl_attr_get_payload(a) != 0;
	}
	struct hsock key = {.inode = m->idiag_inode};
	struct hsock *s = only < 0 || !w->n ? NULL
			  : bsearch(&key, w->v, w->n, sizeof(*s), by_inode);
	if (s && s->proto == w->proto && s->family == AF_INET6)
		s->v6only = (signed char)only;
	return MNL_CB_OK;
}

/* IPV6_V6ONLY of V's (sorted by inode) listening TCP and bound UDP IPv6
 * sockets, asked of the kernel (NETLINK_SOCK_DIAG, inet_diag dumps of
 * AF_INET6; linux/inet_diag.h), which /proc/net does not say: a socket on
 * :: takes IPv4 too unless it is set. Left -1 when the kernel cannot be
 * asked (no sock_diag, no tcp_diag or udp_diag); the dump is bounded by a
 * 5 s receive timeout and HOST_SOCKS_MAX reads. Returns whether both
 * dumps were read to their end. */
static bool read_v6only(struct hsock *v, size_t n)
{
	bool whole = true;
	for (int k = 0; k < 2; k++) {
		struct v6only_walk w = {v, n, k ? IPPROTO_UDP : IPPROTO_TCP};
		struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
		if (!nl)
			return false;
		struct timeval tv = {5, 0};
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
			   sizeof(tv));
		char buf[1u << 15];
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = (unsigned)time(NULL) + (unsigned)k;
		struct inet_diag_req_v2 *r =
		    mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
		r->sdiag_family = AF_INET6;
		r->sdiag_protocol = (uint8_t)w.proto;
		r->idiag_states = 1u << (k ? TCP_ST_CLOSE : TCP_ST_LISTEN);
		unsigned seq = nlh->nlmsg_seq;
		int rc = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
				 mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0
			     ? MNL_CB_ERROR
			     : MNL_CB_OK;
		unsigned portid = mnl_socket_get_portid(nl);
		for (unsigned reads = 0; rc > MNL_CB_STOP && reads < HOST_SOCKS_MAX;
		     reads++) {
			ssize_t len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
			rc = len <= 0 ? MNL_CB_ERROR
				      : mnl_cb_run(buf, (size_t)len, seq, portid,
						   v6only_msg, &w);
		}
		whole = whole && rc == MNL_CB_STOP; /* NLMSG_DONE */
		mnl_socket_close(nl);
	}
	return whole;
}

static bool vpn_daemon(const char *comm);

/* The process name of every socket of V (sorted by inode) that some process of this host
 * holds, from /proc/PID/fd/N -> "socket:[INODE]" and /proc/PID/comm.
 * Without the right to read a process's descriptors (not root, or root
 * without CAP_SYS_PTRACE) its sockets stay nameless. Returns whether the
 * descriptors of every process were read: else a nameless socket may be
 * held by one of those. */
static bool name_owners(struct hsock *v, size_t n)
{
	DIR *proc = opendir("/proc");
	bool all = true;
	if (!proc)
		return false;
	struct dirent *pe;
	while ((pe = readdir(proc))) {
		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		char path[300], comm[17] = "";
		snprintf(path, sizeof(path), "/proc/%s/fd", pe->d_name);
		DIR *fds = opendir(path);
		if (!fds) {
			all = all && errno == ENOENT; /* ENOENT: it exited */
			continue;
		}
		struct dirent *fe;
		while ((fe = readdir(fds))) {
			char link[64];
			ssize_t k = readlinkat(dirfd(fds), fe->d_name, link,
					       sizeof(link) - 1);
			unsigned long ino;
			if (k < 0 && (errno == EACCES || errno == EPERM))
				all = false; /* root without CAP_SYS_PTRACE */
			if (k <= 0)
				continue;
			link[k] = 0;
			if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			struct hsock key = {.inode = ino};
			struct hsock *m = bsearch(&key, v, n, sizeof(*v),
						  by_inode);
			/* a socket several processes hold is named by sshd
			 * or a VPN daemon when one of them is (an inherited
			 * listener; a child that inherited the daemon's) */
			if (m && (!m->comm[0] || (strcmp(m->comm, "sshd") &&
						  !vpn_daemon(m->comm)))) {
				if (!comm[0]) {
					snprintf(path, sizeof(path),
						 "/proc/%s/comm", pe->d_name);
					FILE *c = fopen(path, "re");
					if (c && fgets(comm, sizeof(comm), c))
						comm[strcspn(comm, "\n")] = 0;
					if (c)
						fclose(c);
				}
				snprintf(m->comm, sizeof(m->comm), "%s", comm);
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return all;
}

/* Marks the bound UDP sockets of V (sorted by inode) that no process
 * holds (name_owners) as the kernel's (a tunnel's endpoint) when they
 * are still in /proc/net/udp{,6} read again: one whose process exited
 * while /proc was walked is gone by then. */
static void kernel_sockets(struct hsock *v, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		v[i].kernel = v[i].proto == IPPROTO_UDP &&
			      v[i].state == TCP_ST_CLOSE && !v[i].comm[0];
		k += v[i].kernel;
	}
	if (!k)
		return;
	struct hsock *w = NULL;
	size_t m = 0;
	read_table("/proc/net/udp", IPPROTO_UDP, &w, &m);
	read_table("/proc/net/udp6", IPPROTO_UDP, &w, &m);
	if (m)
		qsort(w, m, sizeof(*w), by_inode);
	for (size_t i = 0; i < n; i++)
		if (v[i].kernel && !bsearch(&v[i], w, m, sizeof(*w), by_inode))
			v[i].kernel = false;
	free(w);
}

static bool listens_on(const struct hsock *v, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].proto == IPPROTO_TCP && v[i].state == TCP_ST_LISTEN &&
		    v[i].lport == port)
			return true;
	return false;
}

/* One finding: printed while fewer than HOST_SHOWN_MAX were, counted. */
static void finding(struct host_findings *h, char *msg)
{
	if (h->n < HOST_SHOWN_MAX)
		fprintf(stderr, "host: warning: %s\n", msg);
	h->n++;
	free(msg);
}

/* Whether this host has an IPv6 address other than loopback and
 * link-local (fe80::/10) ones: else no IPv6 source reaches its listeners
 * but from the link, and an IPv6 listener no rule admits is no lockout. */
static bool global_v6(void)
{
	struct ifaddrs *ifs, *a;
	bool any = false;
	if (getifaddrs(&ifs) < 0)
		return true; /* unknown: as if it had one */
	for (a = ifs; a && !any; a = a->ifa_next) {
		if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET6)
			continue;
		const struct in6_addr *x =
		    &((const struct sockaddr_in6 *)(const void *)a->ifa_addr)
			 ->sin6_addr;
		any = !IN6_IS_ADDR_LOOPBACK(x) && !IN6_IS_ADDR_LINKLOCAL(x) &&
		      !IN6_IS_ADDR_MULTICAST(x) && !IN6_IS_ADDR_UNSPECIFIED(x);
	}
	freeifaddrs(ifs);
	return any;
}

/* The note said instead of a finding for a way in of IPv6 on a host with
 * no IPv6 address but link-local ones: WHAT ("sshd listens on tcp 2223"). */
static void note_no_v6(const char *what)
{
	fprintf(stderr, "host: note: %s (IPv6) here, and no rule admits it "
			"from an IPv6 source; this host has no IPv6 address "
			"but link-local ones, so none comes in that way now\n",
		what);
}

/* Which sources reach S, a listening or bound socket, and whether rules
 * admit them to the gateway on PROTO S->lport (ways_in). */
struct ways {
	int fam;   /* the family judged: S's, or AF_INET on :: without GV6 */
	bool dual; /* IPv4 and IPv6 both come in (FAM is AF_INET6) */
	bool ok;   /* rules admit FAM's sources */
	bool ok4;  /* DUAL: rules admit IPv4 sources */
	bool sure; /* DUAL or not, as the kernel said (read_v6only) */
};

/* S's ways in, into *W: on :: a socket takes IPv4 too unless it is
 * IPv6-only (IPV6_V6ONLY, read_v6only); when that is not known, both
 * families are taken to (not SURE). On a host with no IPv6 address but
 * link-local ones (GV6 false: global_v6) no IPv6 source comes in. */
static void ways_in(const struct policy *p, const struct hsock *s, int proto,
		    bool gv6, struct ways *w)
{
	bool any6 = s->family == AF_INET6 && !strcmp(s->local, "::");
	bool dual = any6 && s->v6only != 1;
	w->sure = !any6 || s->v6only >= 0;
	w->fam = dual && !gv6 ? AF_INET : s->family;
	w->dual = dual && gv6;
	w->ok = policy_admits_to_gateway(p, w->fam, proto, s->lport);
	w->ok4 = w->dual && policy_admits_to_gateway(p, AF_INET, proto,
						     s->lport);
}

/* The families W's socket loses after a start: bit 0 IPv4, bit 1 IPv6. */
static unsigned ways_lost(const struct ways *w)
{
	if (w->dual)
		return (w->ok4 ? 0u : 1u) | (w->ok ? 0u : 2u);
	return w->ok ? 0u : w->fam == AF_INET6 ? 2u : 1u;
}

/* The words for what W's socket loses after a start (it loses some):
 * "IPv4", "IPv6", "IPv4 or IPv6". */
static const char *ways_fam(const struct ways *w)
{
	static const char *const words[] = {"IPv4", "IPv4", "IPv6",
					    "IPv4 or IPv6"};
	return words[ways_lost(w)];
}

/* Whether sockets A and B, of one port, lose the same families after a
 * start (ways_in): one finding or note for both. */
static bool ways_alike(const struct policy *p, const struct hsock *a,
		       const struct hsock *b, int proto, bool gv6)
{
	struct ways x, y;
	ways_in(p, a, proto, gv6, &x);
	ways_in(p, b, proto, gv6, &y);
	return ways_lost(&x) == ways_lost(&y);
}

/* The note for a way in (W) on :: that may be dual-stack (the kernel did
 * not say) and that rules admit from one family only: WHAT ("sshd listens
 * on tcp 22"), PROTO's name and PORT. One the kernel says is dual-stack
 * is a finding for the family not admitted instead. */
static void note_one_family(const char *what, const struct ways *w,
			    const char *proto, uint16_t port)
{
	fprintf(stderr, "host: note: %s on :: (IPv4 too, unless it is "
			"IPv6-only), and rules admit %s %u to the gateway "
			"itself from %s sources only: a start cuts what comes "
			"in from the others\n",
		what, proto, port, w->ok ? "IPv6" : "IPv4");
}

/* Whether S is a listener of sshd, or of systemd (PID 1's socket
 * activation: ssh.socket, and cockpit.socket and the like, which an
 * administrator enabled to come in by). */
static bool management_listener(const struct hsock *s)
{
	return s->proto == IPPROTO_TCP && s->state == TCP_ST_LISTEN &&
	       (!strcmp(s->comm, "sshd") || !strcmp(s->comm, "systemd"));
}

/* The management listeners of V whose port no allow rule admits from
 * some family that reaches them: a finding. One on :: that is not
 * IPv6-only (ssh.socket's, BindIPv6Only=both) takes IPv4 too, and each
 * family not admitted is a finding; when the kernel did not say whether
 * it is IPv6-only, one family admitted is a note. An IPv6 one a note when
 * GV6 is false (global_v6). One a port and judgment (ways_alike). */
static void check_sshd(const struct policy *p, const struct hsock *v,
		       size_t n, bool gv6, struct host_findings *h)
{
	for (size_t i = 0; i < n; i++) {
		if (!management_listener(&v[i]))
			continue;
		bool seen = false; /* one finding a port and judgment */
		for (size_t j = 0; j < i && !seen; j++)
			seen = management_listener(&v[j]) &&
			       v[j].lport == v[i].lport &&
			       ways_alike(p, &v[j], &v[i], IPPROTO_TCP, gv6);
		struct ways w;
		ways_in(p, &v[i], IPPROTO_TCP, gv6, &w);
		if (seen || (w.ok && (!w.dual || w.ok4)))
			continue;
		char what[64];
		snprintf(what, sizeof(what), "%s listens on tcp %u", v[i].comm,
			 v[i].lport);
		if (w.fam == AF_INET6 && !w.dual && !gv6) {
			note_no_v6(what);
			continue;
		}
		if ((w.ok || w.ok4) && !w.sure) {
			note_one_family(what, &w, "tcp", v[i].lport);
			continue;
		}
		const char *fam = ways_fam(&w);
		finding(h, xasprintf("%s (%s) here, and no rule allows tcp %u "
				     "to the gateway itself from an %s source: "
				     "after a start nobody reaches it that way "
				     "(add e.g. `protocol ssh tcp %u`, and %s "
				     "sources)",
				     what, fam, v[i].lport, fam, v[i].lport,
				     fam));
	}
}

/* The names (comm) of the VPN daemons whose UDP port is a way in: OpenVPN,
 * strongSwan and Libreswan (IKE, NAT-T), tinc, Tailscale, ZeroTier,
 * WireGuard in user space, Nebula, ocserv, fastd, xl2tpd, racoon,
 * SoftEther, l2tpns, QuickTun, VpnCloud, accel-ppp, n2n's supernode. */
static bool vpn_daemon(const char *comm)
{
	static const char *const names[] = {
	    "openvpn",	   "charon",	    "charon-systemd", "pluto",
	    "tincd",	   "tailscaled",    "zerotier-one",   "wireguard-go",
	    "boringtun",   "boringtun-cli", "nebula",	      "ocserv",
	    "ocserv-main", "fastd",	    "xl2tpd",	      "racoon",
	    "vpnserver",   "vpnbridge",	    "l2tpns",	      "quicktun",
	    "vpncloud",	   "accel-pppd",    "supernode"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(comm, names[i]))
			return true;
	return false;
}

size_t host_wireguard_iface(const char *sysnet, char *name, size_t len)
{
	DIR *d = opendir(sysnet);
	size_t n = 0;
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[512], line[128];
		snprintf(path, sizeof(path), "%s/%s/uevent", sysnet,
			 de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		bool wg = false;
		while (!wg && fgets(line, sizeof(line), f))
			wg = !strcmp(line, "DEVTYPE=wireguard\n");
		fclose(f);
		if (wg && n++ == 0 && len)
			snprintf(name, len, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

/* Whether S is a bound UDP socket check_udp judges: a VPN daemon's or,
 * as root, the kernel's. */
static bool udp_judged(const struct hsock *s, bool root)
{
	return s->proto == IPPROTO_UDP && s->state == TCP_ST_CLOSE &&
	       (vpn_daemon(s->comm) || (root && s->kernel));
}

/* The ports the kernel picks for a client's socket, into *LO and *HI
 * (/proc/sys/net/ipv4/ip_local_port_range, IPv6's too; Linux's default
 * when it cannot be read). */
static void ephemeral_range(unsigned *lo, unsigned *hi)
{
	*lo = 32768;
	*hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	unsigned a, b;
	if (f && fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535) {
		*lo = a;
		*hi = b;
	}
	if (f)
		fclose(f);
}

/* Whether PORT is a VPN's usual server port among those the kernel picks
 * for clients: Tailscale's 41641, WireGuard's 51820. */
static bool vpn_server_port(uint16_t port)
{
	return port == 41641 || port == 51820;
}

/* What holds S, a socket check_udp judges, into BUF: the daemon's name,
 * or the kernel (WG: the WireGuard interface here, "" for none; ALL: every
 * process's descriptors were read). */
static const char *udp_owner(const struct hsock *s, const char *wg, bool all,
			     char *buf, size_t len)
{
	if (vpn_daemon(s->comm))
		snprintf(buf, len, "%s", s->comm);
	else if (wg[0] && all)
		snprintf(buf, len, "a kernel socket (WireGuard's interface %s "
				   "is here)", wg);
	else if (wg[0])
		snprintf(buf, len, "a socket no process whose descriptors "
				   "could be read holds (the kernel's, as "
				   "WireGuard's: %s is here)", wg);
	else
		snprintf(buf, len, "a kernel socket (a tunnel's: VXLAN, "
				   "Geneve, FOU)");
	return buf;
}

/* The bound UDP sockets of V (servers' ports: taking datagrams from
 * anyone) that are a way in and whose port no allow rule admits to the
 * gateway from that family's sources. A VPN daemon's (vpn_daemon) is a
 * finding; as root, one no process holds is the kernel's (a tunnel
 * endpoint: WireGuard, VXLAN, Geneve): a finding while a WireGuard
 * interface is here and every process's descriptors were read (ALL),
 * else a note (a tunnel between servers, or a process's socket that
 * could not be named). A socket on a port the kernel picks for clients
 * (ip_local_port_range; Tailscale's and WireGuard's usual ports aside)
 * is a client's, whose replies conntrack lets in: a note. One bound to
 * `::` takes IPv4 too unless it is IPv6-only (the kernel says which,
 * read_v6only): each family not admitted is a finding; when the kernel
 * could not say, taken as both, and one family admitted is a note;
 * without an IPv6 address but link-local ones (GV6 false: global_v6)
 * IPv6 is no way in. One a port and judgment (ways_alike). */
static void check_udp(const struct policy *p, const struct hsock *v,
		      size_t n, bool all, bool gv6, struct host_findings *h)
{
	char wg[64] = "", who[160];
	bool root = geteuid() == 0;
	if (!(root && host_wireguard_iface("/sys/class/net", wg,
					   sizeof(wg)) > 0))
		wg[0] = 0;
	unsigned lo, hi;
	ephemeral_range(&lo, &hi);
	for (size_t i = 0; i < n; i++) {
		const struct hsock *s = &v[i];
		if (!udp_judged(s, root))
			continue;
		bool seen = false; /* one a port and judgment */
		for (size_t j = 0; j < i && !seen; j++)
			seen = udp_judged(&v[j], root) &&
			       v[j].lport == s->lport &&
			       ways_alike(p, &v[j], s, IPPROTO_UDP, gv6);
		struct ways w;
		ways_in(p, s, IPPROTO_UDP, gv6, &w);
		if (seen || (w.ok && (!w.dual || w.ok4)))
			continue;
		udp_owner(s, wg, all, who, sizeof(who));
		char what[200];
		snprintf(what, sizeof(what), "%s takes datagrams on udp %u", who,
			 s->lport);
		if (w.fam == AF_INET6 && !w.dual && !gv6) {
			note_no_v6(what);
			continue;
		}
		const char *fam = ways_fam(&w);
		bool client = s->lport >= lo && s->lport <= hi &&
			      !vpn_server_port(s->lport);
		if ((w.ok || w.ok4) && !w.sure)
			note_one_family(what, &w, "udp", s->lport);
		else if (client)
			fprintf(stderr, "host: note: %s takes datagrams on udp "
					"%u (%s), a port the kernel picks for a "
					"client's socket (ip_local_port_range): "
					"not judged; if it is a server's port, "
					"admit it\n",
				who, s->lport, fam);
		else if (vpn_daemon(s->comm) || (wg[0] && all))
			finding(h, xasprintf(
			    "%s takes datagrams on udp %u (%s) here, and no "
			    "rule allows udp %u to the gateway itself from an "
			    "%s source: after a start a VPN that comes in "
			    "there is cut (add e.g. `protocol vpn udp %u`, and "
			    "%s sources)",
			    who, s->lport, fam, s->lport, fam, s->lport, fam));
		else
			fprintf(stderr, "host: note: %s takes datagrams on udp "
					"%u (%s) here, and no rule allows udp %u "
					"to the gateway itself: a start cuts what "
					"comes in there\n",
				who, s->lport, fam, s->lport);
	}
}

/* F (a session that exists, TEXT as "tcp A:P -> B:Q") judged by engine E
 * of policy P as a new session of nobody, as adoption judges it once its
 * window ends; a finding when denied. WHAT says what it is ("sshd, to the
 * gateway"). */
static void judge(const struct policy *p, struct engine *e, struct flow *f,
		  const char *text, const char *what, struct host_findings *h)
{
	struct facts fx = {.known = NEED_IDENTITY | NEED_NAME | NEED_FILTER,
			   .filter_ok = true};
	struct decision d;
	f->minute = week_minute_now();
	engine_eval(e, f, &fx, &d);
	if (d.verdict == VERDICT_ALLOW)
		return;
	const struct rule *r = d.rule >= 0 ? p->rules[d.rule] : NULL;
	char *why = r ? xasprintf("rule \"%s\"", r->name)
		      : xstrdup("no rule allows it");
	finding(h, xasprintf("the established session %s (%s) is denied by "
			     "this policy (%s): a start cuts it",
			     text, what, why));
	free(why);
}

/* The established sessions of V to a listening port of this host, from
 * another host, that the policy denies as a new session of nobody. */
static void check_sessions(const struct policy *p, struct engine *e,
			   const struct hsock *v, size_t n,
			   struct host_findings *h)
{
	for (size_t i = 0; i < n; i++) {
		const struct hsock *s = &v[i];
		if (s->proto != IPPROTO_TCP || s->state != TCP_ST_ESTABLISHED ||
		    s->loopback)
			continue;
		/* to a port this host listens on: a way in; else one of the
		 * gateway's own sessions out (a reverse tunnel, an agent) */
		bool in = listens_on(v, n, s->lport);
		bool v6 = s->family == AF_INET6;
		const char *sa = in ? s->remote : s->local,
			   *da = in ? s->local : s->remote;
		char *text = xasprintf("tcp %s%s%s:%u -> %s%s%s:%u",
				       v6 ? "[" : "", sa, v6 ? "]" : "",
				       in ? s->rport : s->lport, v6 ? "[" : "",
				       da, v6 ? "]" : "",
				       in ? s->lport : s->rport);
		struct flow f;
		char *err = NULL;
		if (flow_parse(text, &f, &err) < 0) {
			free(err);
			free(text);
			continue;
		}
		f.dst_local = in;
		f.src_local = !in;
		char *what = xasprintf("%s, %s the gateway",
				       s->comm[0] ? s->comm : "owner unknown",
				       in ? "to" : "from");
		judge(p, e, &f, text, what, h);
		free(what);
		free(text);
	}
}

/* ---- the conntrack table ---------------------------------------------------- */

struct ctwalk {
	const struct policy *p;
	struct engine *e;
	struct ct_local la;
	struct host_findings *h;
};

/* Whether entry E (flow F, after DNAT: ct_entry_flow) is a way in that
 * the sockets do not show and a start would cut: a session to or from the
 * gateway, not TCP (its socket is judged, at the port DNAT sent it to, as
 * adoption judges it), not ICMP; UDP only once the kernel calls
 * it a stream (IPS_ASSURED, nf_conntrack_proto_udp.c: both ways for over
 * 2 s, as a VPN's transport; not a stray datagram, nor one DNS, DHCP or
 * NTP exchange), other protocols (GRE, ESP, SCTP) once they have seen a
 * reply. Not what sluice's mark already says is denied, sluiced's own, a
 * creation element's, published or failed open (adopt.c entry_kind). */
static bool ct_judged(const struct policy *p, const struct ct_entry *e,
		      const struct flow *f)
{
	if (f->src_local == f->dst_local) /* forwarded, or to itself */
		return false;
	if (e->key.proto == IPPROTO_TCP || e->key.proto == IPPROTO_ICMP ||
	    e->key.proto == IPPROTO_ICMPV6)
		return false;
	if (!(e->status & IPS_SEEN_REPLY) ||
	    (e->key.proto == IPPROTO_UDP && !(e->status & IPS_ASSURED)))
		return false;
	unsigned dec = mark_dec(p->queue.mark_shift, e->mark);
	return dec == MARK_DEC_NONE || dec == MARK_DEC_QUEUE ||
	       mark_allowed_by_rule(p->queue.mark_shift, e->mark);
}

static void ct_entry_judge(const struct ct_entry *ce, void *arg)
{
	struct ctwalk *w = arg;
	struct flow f;
	char text[160];
	w->h->ct_entries++;
	ct_entry_flow(ce, &w->la, &f);
	if (!ct_judged(w->p, ce, &f))
		return;
	char what[96];
	snprintf(what, sizeof(what), "conntrack, %s the gateway",
		 f.dst_local ? "to" : "from");
	session_key_format(&ce->key, text, sizeof(text));
	if (ce->dnat) { /* and where DNAT sent it */
		char a[INET6_ADDRSTRLEN] = "?";
		bool v6 = ce->key.family == AF_INET6;
		inet_ntop(ce->key.family, ce->nat_dst, a, sizeof(a));
		size_t l = strlen(text);
		if (ce->nat_dport)
			snprintf(text + l, sizeof(text) - l, " (DNAT to %s%s%s:%u)",
				 v6 ? "[" : "", a, v6 ? "]" : "", ce->nat_dport);
		else
			snprintf(text + l, sizeof(text) - l, " (DNAT to %s)", a);
	}
	judge(w->p, w->e, &f, text, what, w->h);
}

/* The conntrack entries adoption judges that the sockets do not show
 * (ct_judged). A table that cannot be read (not root: EPERM; no
 * conntrack) is said in one line, and judged nothing; the dump is
 * bounded by HOST_CT_WAIT_MS. */
static void check_conntrack(const struct policy *p, struct engine *e,
			    struct host_findings *h)
{
	struct ctwalk w = {.p = p, .e = e, .h = h};
	ct_local_get(&w.la);
	struct ct_stream *st = ct_stream_open(ct_entry_judge, &w);
	int rc = st ? 0 : -1;
	uint64_t end = mono_ms() + HOST_CT_WAIT_MS;
	while (rc == 0 && mono_ms() < end) {
		rc = ct_stream_read(st, HOST_CT_READS);
		if (rc == 0) {
			struct pollfd pfd = {.fd = ct_stream_fd(st),
					     .events = POLLIN};
			poll(&pfd, 1, 100);
		}
	}
	if (rc < 0 && h->ct_entries) /* judged in part: the rest unseen */
		finding(h, xasprintf("the conntrack table's dump failed after "
				     "%zu entries (%s): the rest was not "
				     "judged", h->ct_entries,
				     strerror(errno)));
	else if (rc < 0)
		fprintf(stderr, "host: note: the conntrack table cannot be "
				"read (%s): UDP streams and tunnels (GRE, "
				"ESP) are not judged\n",
			strerror(errno));
	else if (rc == 0)
		finding(h, xasprintf("the conntrack table was not read in %d "
				     "s: the rest was not judged",
				     HOST_CT_WAIT_MS / 1000));
	else
		h->conntrack = true;
	ct_stream_close(st);
	ct_local_free(&w.la);
}

void host_check(const struct policy *p, struct host_findings *h)
{
	struct hsock *v = NULL;
	size_t n = 0;
	memset(h, 0, sizeof(*h));
	const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6",
				      "/proc/net/udp", "/proc/net/udp6"};
	for (size_t t = 0; t < 4; t++)
		if (!read_table(tables[t], t < 2 ? IPPROTO_TCP : IPPROTO_UDP,
				&v, &n)) /* judged: not all */
			finding(h, xasprintf("%s has more than %u listening, bound "
					     "and established sockets on addresses "
					     "other than the loopback: the rest "
					     "was not judged", tables[t],
					     HOST_SOCKS_MAX));
	h->sockets = n;
	if (n)
		qsort(v, n, sizeof(*v), by_inode);
	if (!read_v6only(v, n))
		fprintf(stderr, "host: note: the kernel did not say which "
				"sockets on :: are IPv6-only (NETLINK_SOCK_DIAG): "
				"they are judged as taking IPv4 too\n");
	bool all = name_owners(v, n);
	kernel_sockets(v, n);
	mark_own(v, n);
	bool gv6 = global_v6();
	check_sshd(p, v, n, gv6, h);
	check_udp(p, v, n, all, gv6, h);
	struct engine *e = engine_build(p);
	check_sessions(p, e, v, n, h);
	check_conntrack(p, e, h);
	engine_free(e);
	if (h->n > HOST_SHOWN_MAX)
		fprintf(stderr, "host: warning: and %zu more\n",
			h->n - HOST_SHOWN_MAX);
	free(v);
}
