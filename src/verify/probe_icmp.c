/*
 * probe_icmp.c — ICMP / ICMPv6 echo probes.
 *
 * One socket per address family for the whole engine, opened on first use:
 * an ICMP datagram ("ping") socket when net.ipv4.ping_group_range lets this
 * process have one, else a raw socket (root / CAP_NET_RAW). Every request
 * carries the engine's identifier (raw sockets; ping sockets get theirs from
 * the kernel), a sequence number and a 64-bit token in a tagged payload;
 * a reply must match all of them and come from the target. Pending probes
 * sit in 256 buckets by sequence number.
 *
 * Errors: on raw sockets destination-unreachable and time-exceeded messages
 * quoting one of our requests end that probe as VR_UNREACHABLE; on ping
 * sockets the same comes through IP_RECVERR / IPV6_RECVERR and the socket's
 * error queue. No answer within timeout_ms is VR_TIMEOUT.
 */
#include <errno.h>
#include <event2/event.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "verify/verify_int.h"
#include "common/util.h"

#define NBUCKETS 256
#define READ_BUDGET 64 /* packets per readiness event */

static const uint8_t magic[8] = {'s', 'l', 'u', 'i', 'c', 'e', 'v', '1'};

struct echo {
	uint8_t type, code;
	uint16_t cksum, id, seq;
	uint8_t magic[8];
	uint64_t token;
} __attribute__((packed));

struct vicmp_sock {
	int fd;
	bool raw;
	struct event *ev;
};

struct vicmp {
	struct vengine *v;
	struct vicmp_sock s[2]; /* [0] IPv4, [1] IPv6 */
	uint16_t ident, seq;
	uint64_t token;
	LIST_HEAD(, vprobe) pend[NBUCKETS];
};

static uint16_t cksum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static bool same_addr(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* Finds and unlinks the pending probe for SEQ (and TOKEN when HAVE_TOKEN). */
static struct vprobe *take(struct vicmp *ic, int fam, uint16_t seq,
			   bool have_token, uint64_t token)
{
	struct vprobe *p;

	LIST_FOREACH(p, &ic->pend[seq % NBUCKETS], m.icmp.link) {
		if (p->m.icmp.seq == seq && p->t.sa.ss_family == fam &&
		    (!have_token || p->m.icmp.token == token)) {
			LIST_REMOVE(p, m.icmp.link);
			p->m.icmp.pending = false;
			evtimer_del(p->m.icmp.tmo);
			return p;
		}
	}
	return NULL;
}

static void finish(struct vprobe *p, enum vresult r, const char *detail)
{
	vprobe_done(p, r, (uint32_t)(vnow_us() - p->start_us), detail);
}

/* An echo reply E (LEN bytes) from FROM. */
static void got_reply(struct vicmp *ic, int fam, bool raw, const uint8_t *e,
		      size_t len, const struct sockaddr_storage *from)
{
	struct echo h;
	struct vprobe *p;

	if (len < sizeof(h))
		return;
	memcpy(&h, e, sizeof(h));
	if (memcmp(h.magic, magic, sizeof(magic)) ||
	    (raw && h.id != htons(ic->ident)))
		return;
	p = take(ic, fam, ntohs(h.seq), true, h.token);
	if (!p)
		return; /* late reply of a finished round */
	if (!same_addr(from, &p->t.sa)) {
		/* not from the target: put it back, keep waiting */
		LIST_INSERT_HEAD(&ic->pend[p->m.icmp.seq % NBUCKETS], p,
				 m.icmp.link);
		p->m.icmp.pending = true;
		{
			struct timeval tv = {0, 0};
			uint64_t end = p->start_us + p->t.timeout_ms * 1000ull,
				 now = vnow_us();

			if (end > now) {
				tv.tv_sec = (time_t)((end - now) / 1000000u);
				tv.tv_usec = (suseconds_t)((end - now) % 1000000u);
			}
			evtimer_add(p->m.icmp.tmo, &tv);
		}
		return;
	}
	finish(p, VR_OK, NULL);
}

/* An error message quoting our request INNER (INLEN bytes). */
static void got_error(struct vicmp *ic, int fam, bool raw, const uint8_t *inner,
		      size_t inlen, int type, int code)
{
	struct echo h = {0};
	struct vprobe *p;
	bool full = inlen >= sizeof(h);
	char detail[64];

	if (inlen < 8)
		return;
	memcpy(&h, inner, full ? sizeof(h) : 8);
	if (h.type != (fam == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST) ||
	    (raw && h.id != htons(ic->ident)) ||
	    (full && memcmp(h.magic, magic, sizeof(magic))))
		return;
	if (!(p = take(ic, fam, ntohs(h.seq), full, h.token)))
		return;
	snprintf(detail, sizeof(detail), "ICMP%s error type %d code %d",
		 fam == AF_INET ? "" : "v6", type, code);
	finish(p, VR_UNREACHABLE, detail);
}

/* Parses one datagram read from the socket of family FAM. */
static void parse(struct vicmp *ic, int fam, bool raw, const uint8_t *b,
		  size_t n, const struct sockaddr_storage *from)
{
	if (fam == AF_INET && raw) { /* raw IPv4 includes the IP header */
		size_t ihl;

		if (n < 20)
			return;
		ihl = (size_t)(b[0] & 0x0f) * 4;
		if (ihl < 20 || n < ihl + 8)
			return;
		b += ihl;
		n -= ihl;
	}
	if (n < 8)
		return;
	if (fam == AF_INET) {
		if (b[0] == ICMP_ECHOREPLY) {
			got_reply(ic, fam, raw, b, n, from);
		} else if (raw && (b[0] == ICMP_DEST_UNREACH ||
				   b[0] == ICMP_TIME_EXCEEDED)) {
			const uint8_t *in = b + 8;
			size_t inl = n - 8, ihl;

			if (inl < 20)
				return;
			ihl = (size_t)(in[0] & 0x0f) * 4;
			if (ihl < 20 || inl < ihl + 8 || in[9] != IPPROTO_ICMP)
				return;
			got_error(ic, fam, raw, in + ihl, inl - ihl, b[0], b[1]);
		}
	} else {
		if (b[0] == ICMP6_ECHO_REPLY) {
			got_reply(ic, fam, raw, b, n, from);
		} else if (raw && (b[0] == ICMP6_DST_UNREACH ||
				   b[0] == ICMP6_TIME_EXCEEDED)) {
			/* quoted IPv6 header (40 bytes), no extension headers */
			if (n < 8 + 40 + 8 || b[8 + 6] != IPPROTO_ICMPV6)
				return;
			got_error(ic, fam, raw, b + 48, n - 48, b[0], b[1]);
		}
	}
}

/* Ping sockets: one message from the error queue. Returns false when empty. */
static bool read_errqueue(struct vicmp *ic, int fam, int fd)
{
	uint8_t data[256], ctl[512];
	struct sockaddr_storage from;
	struct iovec iov = {data, sizeof(data)};
	struct msghdr mh = {.msg_name = &from,
			    .msg_namelen = sizeof(from),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl,
			    .msg_controllen = sizeof(ctl)};
	ssize_t n = recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);

	if (n < 0)
		return false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		struct sock_extended_err ee;

		if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == SOL_IPV6 &&
		       c->cmsg_type == IPV6_RECVERR)))
			continue;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		if (ee.ee_origin == SO_EE_ORIGIN_ICMP ||
		    ee.ee_origin == SO_EE_ORIGIN_ICMP6 ||
		    ee.ee_origin == SO_EE_ORIGIN_LOCAL)
			got_error(ic, fam, false, data, (size_t)n, ee.ee_type,
				  ee.ee_code);
	}
	return true;
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vicmp *ic = arg;
	int i = 0;
	struct vicmp_sock *s;

	(void)what;
	if (ic->s[1].fd == fd)
		i = 1;
	s = &ic->s[i];
	for (int k = 0; k < READ_BUDGET; k++) {
		uint8_t buf[1500];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			/* a pending socket error: details are in the queue */
			for (int q = 0; q < READ_BUDGET; q++)
				if (!read_errqueue(ic, i ? AF_INET6 : AF_INET, fd))
					break;
			continue;
		}
		parse(ic, i ? AF_INET6 : AF_INET, s->raw, buf, (size_t)n, &from);
	}
}

static int open_sock(struct vicmp *ic, int fam)
{
	struct vicmp_sock *s = &ic->s[fam == AF_INET6];
	int proto = fam == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, on = 1;
	int fd;

	if (s->fd >= 0)
		return 0;
	fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd >= 0) {
		s->raw = false;
		if (fam == AF_INET)
			setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
		else
			setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));
	} else {
		fd = socket(fam, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
		if (fd < 0)
			return -1;
		s->raw = true;
		if (fam == AF_INET) {
			struct icmp_filter f = {
				.data = ~((1u << ICMP_ECHOREPLY) |
					  (1u << ICMP_DEST_UNREACH) |
					  (1u << ICMP_TIME_EXCEEDED))};

			setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
		} else {
			struct icmp6_filter f;

			ICMP6_FILTER_SETBLOCKALL(&f);
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
			ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
			ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
			setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f,
				   sizeof(f));
		}
	}
	if (ic->v->o.so_mark) /* the gateway's ruleset exempts it */
		setsockopt(fd, SOL_SOCKET, SO_MARK, &ic->v->o.so_mark,
			   sizeof(ic->v->o.so_mark));
	if (!(s->ev = event_new(ic->v->base, fd, EV_READ | EV_PERSIST, read_cb,
				ic)) ||
	    event_add(s->ev, NULL) < 0) {
		if (s->ev)
			event_free(s->ev);
		s->ev = NULL;
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	s->fd = fd;
	return 0;
}

static void tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vprobe *p = arg;
	char detail[48];

	(void)fd;
	(void)what;
	if (p->m.icmp.pending) {
		LIST_REMOVE(p, m.icmp.link);
		p->m.icmp.pending = false;
	}
	snprintf(detail, sizeof(detail), "no echo reply in %u ms",
		 p->t.timeout_ms);
	finish(p, VR_TIMEOUT, detail);
}

static int icmp_prepare(struct vprobe *p, const struct verify_spec *s,
			const struct vtarget *t)
{
	struct vengine *v = p->v;

	(void)s;
	(void)t;
	if (!v->icmp) {
		struct vicmp *ic = xcalloc(1, sizeof(*ic));

		ic->v = v;
		ic->s[0].fd = ic->s[1].fd = -1;
		ic->ident = (uint16_t)(getpid() ^ (vnow_us() & 0xffff));
		for (int i = 0; i < NBUCKETS; i++)
			LIST_INIT(&ic->pend[i]);
		v->icmp = ic;
	}
	if (!(p->m.icmp.tmo = evtimer_new(v->base, tmo_cb, p)))
		return -1;
	p->m.icmp.pending = false;
	return 0;
}

static void icmp_start(struct vprobe *p)
{
	struct vicmp *ic = p->v->icmp;
	int fam = p->t.sa.ss_family, fd;
	struct echo e = {0};
	struct sockaddr_storage to = p->t.sa;
	struct timeval tv = {.tv_sec = p->t.timeout_ms / 1000,
			     .tv_usec = (p->t.timeout_ms % 1000) * 1000};

	if (open_sock(ic, fam) < 0) {
		char d[96];

		snprintf(d, sizeof(d), "icmp socket: %s", strerror(errno));
		vprobe_done_soon(p, VR_OTHER, d);
		return;
	}
	fd = ic->s[fam == AF_INET6].fd;
	p->m.icmp.seq = ++ic->seq;
	p->m.icmp.token = ++ic->token ^ ((uint64_t)ic->ident << 48);
	e.type = fam == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	e.id = htons(ic->ident);
	e.seq = htons(p->m.icmp.seq);
	memcpy(e.magic, magic, sizeof(magic));
	e.token = p->m.icmp.token;
	if (fam == AF_INET && ic->s[0].raw)
		e.cksum = cksum(&e, sizeof(e));
	if (fam == AF_INET)
		((struct sockaddr_in *)&to)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&to)->sin6_port = 0;
	if (sendto(fd, &e, sizeof(e), 0, (struct sockaddr *)&to, p->t.salen) <
	    0) {
		int err = errno;

		vprobe_done_soon(p, verrno_result(err), strerror(err));
		return;
	}
	LIST_INSERT_HEAD(&ic->pend[p->m.icmp.seq % NBUCKETS], p, m.icmp.link);
	p->m.icmp.pending = true;
	evtimer_add(p->m.icmp.tmo, &tv);
}

static void icmp_cancel(struct vprobe *p)
{
	if (p->m.icmp.pending) {
		LIST_REMOVE(p, m.icmp.link);
		p->m.icmp.pending = false;
	}
	if (p->m.icmp.tmo)
		evtimer_del(p->m.icmp.tmo);
}

static void icmp_release(struct vprobe *p)
{
	icmp_cancel(p);
	if (p->m.icmp.tmo)
		event_free(p->m.icmp.tmo);
	p->m.icmp.tmo = NULL;
}

void vicmp_free(struct vicmp *ic)
{
	for (int i = 0; i < 2; i++) {
		if (ic->s[i].ev)
			event_free(ic->s[i].ev);
		if (ic->s[i].fd >= 0)
			close(ic->s[i].fd);
	}
	free(ic);
}

const struct vprobe_ops vprobe_icmp_ops = {
	.prepare = icmp_prepare,
	.start = icmp_start,
	.cancel = icmp_cancel,
	.release = icmp_release,
};
