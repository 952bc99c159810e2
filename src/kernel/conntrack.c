/* conntrack.c — see conntrack.h. */
#include "kernel/conntrack.h"
#include "common/bytes.h"
#include "common/nlwalk.h"
#include "common/util.h"

#include "policy/policy.h"

#include <errno.h>
#include <ifaddrs.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <time.h>

/* Whether PROTO's tuple has ports, as a session key holds them
 * (packet/packet.c reads them for the same protocols). */
static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_DCCP;
}

/* E's ports (into its key) or GRE keys from L4, the tuple's source and
 * destination "ports" in host order, as conntrack holds both (GRE's in
 * CTA_PROTO_SRC_PORT and _DST_PORT); nothing for other protocols. */
static void l4_set(struct ct_entry *e, const uint16_t l4[2])
{
	if (has_ports(e->key.proto)) {
		e->key.sport = l4[0];
		e->key.dport = l4[1];
	} else if (e->key.proto == IPPROTO_GRE) {
		e->gre_key[0] = l4[0];
		e->gre_key[1] = l4[1];
	}
}

/* E's nat_dst and nat_dport from CT's reply tuple, whose source is where
 * DNAT sent the session. */
static void nat_from(const struct nf_conntrack *ct, struct ct_entry *e)
{
	bool v4 = e->key.family == AF_INET;
	if (!nfct_attr_is_set(ct, v4 ? ATTR_REPL_IPV4_SRC : ATTR_REPL_IPV6_SRC))
		return;
	e->dnat = true;
	if (v4) {
		uint32_t a = nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC);
		memcpy(e->nat_dst, &a, 4);
	} else {
		memcpy(e->nat_dst, nfct_get_attr(ct, ATTR_REPL_IPV6_SRC), 16);
	}
	if (has_ports(e->key.proto))
		e->nat_dport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
}

/* Fills E from CT; false for an entry of another family. */
static bool entry_from(const struct nf_conntrack *ct, struct ct_entry *out)
{
	struct ct_entry e = {0};
	uint8_t fam = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
	e.key.family = fam;
	e.key.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	if (fam == AF_INET) {
		uint32_t s = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC);
		uint32_t d = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST);
		memcpy(e.key.src, &s, 4);
		memcpy(e.key.dst, &d, 4);
	} else if (fam == AF_INET6) {
		memcpy(e.key.src, nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), 16);
		memcpy(e.key.dst, nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), 16);
	} else {
		return false;
	}
	/* ports, or GRE's keys (PPTP's): the same attributes */
	uint16_t l4[2] = {ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)),
			  ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST))};
	l4_set(&e, l4);
	switch (e.key.proto) {
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		e.key.sport = ntohs(nfct_get_attr_u16(ct, ATTR_ICMP_ID));
		e.key.dport = nfct_get_attr_u8(ct, ATTR_ICMP_TYPE);
		e.icmp_code = nfct_get_attr_u8(ct, ATTR_ICMP_CODE);
		break;
	}
	e.mark = nfct_get_attr_u32(ct, ATTR_MARK);
	e.timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	if (e.key.proto == IPPROTO_TCP)
		e.tcp_state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
	e.status = nfct_get_attr_u32(ct, ATTR_STATUS);
	if (e.status & IPS_DST_NAT)
		nat_from(ct, &e);
	*out = e;
	return true;
}

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		    void *data)
{
	struct ct_list *l = data;
	struct ct_entry e;
	if (entry_from(ct, &e))
		VEC_PUSH(l->v, l->n, e);
	return NFCT_CB_CONTINUE;
}

int ct_dump(struct ct_list *l)
{
	memset(l, 0, sizeof(*l));
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	if (!h)
		return -1;
	nfct_callback_register(h, NFCT_T_ALL, on_entry, l);
	uint32_t family = AF_UNSPEC;
	int rc = nfct_query(h, NFCT_Q_DUMP, &family);
	int saved = errno;
	nfct_close(h);
	if (rc < 0)
		ct_list_free(l); /* a dump cut short: what came is dropped */
	errno = saved;
	return rc < 0 ? -1 : 0;
}

void ct_list_free(struct ct_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int query(enum nf_conntrack_query q, struct nf_conntrack *ct)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	if (!h)
		return -1;
	int rc = nfct_query(h, q, ct);
	int saved = errno;
	nfct_close(h);
	errno = saved;
	return rc < 0 ? -1 : 0;
}

/* The original tuple of E as a libnetfilter_conntrack object (what a
 * destroy or update names the entry by); NULL when out of memory. Built
 * when needed, so a dump keeps no object per entry. */
static struct nf_conntrack *ct_of(const struct ct_entry *e)
{
	struct nf_conntrack *ct = nfct_new();
	if (!ct)
		return NULL;
	const struct session_key *k = &e->key;
	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, k->family);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, k->proto);
	if (k->family == AF_INET) {
		nfct_set_attr(ct, ATTR_ORIG_IPV4_SRC, k->src);
		nfct_set_attr(ct, ATTR_ORIG_IPV4_DST, k->dst);
	} else {
		nfct_set_attr(ct, ATTR_ORIG_IPV6_SRC, k->src);
		nfct_set_attr(ct, ATTR_ORIG_IPV6_DST, k->dst);
	}
	bool gre = k->proto == IPPROTO_GRE; /* its keys are in the tuple */
	if (has_ports(k->proto) || gre) {
		nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC,
				  htons(gre ? e->gre_key[0] : k->sport));
		nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST,
				  htons(gre ? e->gre_key[1] : k->dport));
	}
	switch (k->proto) {
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(k->sport));
		nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, (uint8_t)k->dport);
		nfct_set_attr_u8(ct, ATTR_ICMP_CODE, e->icmp_code);
		break;
	}
	return ct;
}

static int query_entry(enum nf_conntrack_query q, const struct ct_entry *e,
		       const uint32_t *mark)
{
	struct nf_conntrack *ct = ct_of(e);
	if (!ct) {
		errno = ENOMEM;
		return -1;
	}
	if (mark)
		nfct_set_attr_u32(ct, ATTR_MARK, *mark);
	int rc = query(q, ct);
	int saved = errno;
	nfct_destroy(ct);
	errno = saved;
	return rc;
}

int ct_delete(const struct ct_entry *e)
{
	return query_entry(NFCT_Q_DESTROY, e, NULL);
}

int ct_set_mark(const struct ct_entry *e, uint32_t mark)
{
	return query_entry(NFCT_Q_UPDATE, e, &mark);
}

void ct_local_get(struct ct_local *l)
{
	struct ifaddrs *ifa;
	memset(l, 0, sizeof(*l));
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		uint8_t e[17] = {0};
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			memcpy(e + 1,
			       &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		else if (i->ifa_addr->sa_family == AF_INET6)
			memcpy(e + 1,
			       &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			       16);
		else
			continue;
		e[0] = (uint8_t)i->ifa_addr->sa_family;
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		memcpy(l->v[l->n++], e, 17);
	}
	freeifaddrs(ifa);
}

void ct_local_free(struct ct_local *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

bool ct_local_has(const struct ct_local *l, int family, const uint8_t *addr)
{
	size_t len = family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i][0] == family && memcmp(l->v[i] + 1, addr, len) == 0)
			return true;
	return false;
}

void ct_entry_flow(const struct ct_entry *e, const struct ct_local *la,
		   struct flow *f)
{
	const struct session_key *k = &e->key;
	bool dnat = e->dnat;
	const uint8_t *dst = dnat ? e->nat_dst : k->dst;
	memset(f, 0, sizeof(*f));
	f->family = k->family;
	f->proto = k->proto;
	if (k->family == AF_INET) {
		f->src4 = load32(k->src);
		f->dst4 = load32(dst);
	} else {
		f->src6 = load128(k->src);
		f->dst6 = load128(dst);
	}
	f->sport = k->sport;
	f->dport = dnat && has_ports(k->proto) ? e->nat_dport : k->dport;
	f->icmp_type = (uint8_t)k->dport;
	f->src_local = ct_local_has(la, k->family, k->src);
	f->dst_local = ct_local_has(la, k->family, dst);
	f->minute = week_minute_now();
}

void ct_entry_seen_key(const struct ct_entry *e, struct session_key *k)
{
	*k = e->key;
	if (!e->dnat)
		return;
	memcpy(k->dst, e->nat_dst, sizeof(k->dst));
	if (has_ports(k->proto))
		k->dport = e->nat_dport;
}

const char *ct_tcp_state_name(uint8_t s)
{
	static const char *const names[] = {
	    "NONE",	   "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
	    "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",	   "SYN_SENT2"};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

#define ICMP4_SYSCTL "/proc/sys/net/netfilter/nf_conntrack_icmp_timeout"
#define ICMP6_SYSCTL "/proc/sys/net/netfilter/nf_conntrack_icmpv6_timeout"
#define ACCT_SYSCTL "/proc/sys/net/netfilter/nf_conntrack_acct"
#define TSTAMP_SYSCTL "/proc/sys/net/netfilter/nf_conntrack_timestamp"

/* Reads one unsigned number from PATH into V. -1 with errno. */
static int sysctl_get(const char *path, uint32_t *v)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	unsigned long x;
	int ok = fscanf(f, "%lu", &x) == 1 && x <= UINT32_MAX;
	fclose(f);
	if (!ok) {
		errno = EINVAL;
		return -1;
	}
	*v = (uint32_t)x;
	return 0;
}

/* Writes V to PATH. -1 with errno. */
static int sysctl_put(const char *path, uint32_t v)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fprintf(f, "%u\n", v) > 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok && !errno)
		errno = EIO;
	return ok ? 0 : -1;
}

int ct_count(uint64_t *n)
{
	uint32_t v;
	if (sysctl_get("/proc/sys/net/netfilter/nf_conntrack_count", &v) < 0)
		return -1;
	*n = v;
	return 0;
}

int ct_icmp_timeout_get(struct ct_icmp_timeouts *cur)
{
	uint32_t v4, v6, acct, ts;
	if (sysctl_get(ICMP4_SYSCTL, &v4) < 0 ||
	    sysctl_get(ICMP6_SYSCTL, &v6) < 0 ||
	    sysctl_get(ACCT_SYSCTL, &acct) < 0 ||
	    sysctl_get(TSTAMP_SYSCTL, &ts) < 0)
		return -1;
	*cur = (struct ct_icmp_timeouts){true, v4, v6, acct, ts};
	return 0;
}

int ct_icmp_timeout_put(const struct ct_icmp_timeouts *v)
{
	uint32_t old4;
	if (sysctl_get(ICMP4_SYSCTL, &old4) < 0 ||
	    sysctl_put(ICMP4_SYSCTL, v->v4) < 0)
		return -1;
	if (sysctl_put(ICMP6_SYSCTL, v->v6) < 0) {
		int e = errno;
		sysctl_put(ICMP4_SYSCTL, old4);
		errno = e;
		return -1;
	}
	if (sysctl_put(ACCT_SYSCTL, v->acct) < 0 ||
	    sysctl_put(TSTAMP_SYSCTL, v->tstamp) < 0)
		return -1;
	return 0;
}

/* ---- a dump read piece by piece (ct_stream_*) ------------------------------ */

struct ct_stream {
	struct mnl_socket *nl;
	uint32_t seq, portid;
	ct_entry_fn fn;
	void *arg;
	char *buf; /* CT_STREAM_BUF */
	bool want;     /* a status filter was asked for: VALUE, MASK */
	bool filtered; /* the kernel was asked to filter (and has not refused) */
	bool seen;     /* a message of the dump arrived */
	uint32_t value, mask;
};

/* A dump's receive buffer: the kernel fills a dump message up to the size
 * of the reader's buffer (netlink_recvmsg remembers it, up to 32 KiB), so
 * a larger one means 4 times fewer reads and ctnetlink_dump_table calls
 * (each resumes its walk of the hash) than the 8 KiB of
 * MNL_SOCKET_BUFFER_SIZE (libmnl's MNL_SOCKET_DUMP_SIZE, 1.0.5). */
#define CT_STREAM_BUF 32768

size_t ct_dump_request(void *buf, uint32_t seq, bool filter, uint32_t value,
		       uint32_t mask)
{
	memset(buf, 0, CT_DUMP_REQUEST_MAX);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
	nfh->nfgen_family = AF_UNSPEC;
	nfh->version = NFNETLINK_V0;
	nfh->res_id = 0;
	if (filter) {
		mnl_attr_put_u32(nlh, CTA_STATUS, htonl(value));
		mnl_attr_put_u32(nlh, CTA_STATUS_MASK, htonl(mask));
	}
	return nlh->nlmsg_len;
}

_Static_assert(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) +
			   2 * MNL_ATTR_HDRLEN + 2 * 4 <=
		       CT_DUMP_REQUEST_MAX,
	       "the dump request fits CT_DUMP_REQUEST_MAX");

/* Sends S's dump request (with its filter while s->filtered) under a new
 * sequence number. -1 with errno. */
static int stream_request(struct ct_stream *s)
{
	s->seq++;
	size_t len = ct_dump_request(s->buf, s->seq, s->filtered, s->value,
				     s->mask);
	return mnl_socket_sendto(s->nl, s->buf, len) < 0 ? -1 : 0;
}

static struct ct_stream *stream_open(ct_entry_fn fn, void *arg, bool want,
				     uint32_t value, uint32_t mask)
{
	struct ct_stream *s = xcalloc(1, sizeof(*s));
	s->fn = fn;
	s->arg = arg;
	s->want = s->filtered = want;
	s->value = value;
	s->mask = mask;
	s->buf = xmalloc(CT_STREAM_BUF);
	s->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!s->nl || mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	int fd = mnl_socket_get_fd(s->nl);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail;
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (uint32_t)time(NULL);
	if (stream_request(s) < 0)
		goto fail;
	return s;
fail:;
	int saved = errno;
	ct_stream_close(s);
	errno = saved;
	return NULL;
}

struct ct_stream *ct_stream_open(ct_entry_fn fn, void *arg)
{
	return stream_open(fn, arg, false, 0, 0);
}

struct ct_stream *ct_stream_open_status(ct_entry_fn fn, void *arg,
					uint32_t value, uint32_t mask)
{
	return stream_open(fn, arg, true, value, mask);
}

bool ct_stream_filtered(const struct ct_stream *s)
{
	return s->filtered;
}

int ct_stream_fd(const struct ct_stream *s)
{
	return mnl_socket_get_fd(s->nl);
}

/* The nested attributes of NEST by type into TB[0..MAX] (MAX < 16): the
 * last of a type wins; types above MAX are skipped. */
static void nest_attrs(const struct nlattr *nest, const struct nlattr **tb,
		       unsigned max)
{
	const struct nlattr *a;
	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_for_each_nested(a, nest)
	{
		unsigned t = mnl_attr_get_type(a);
		if (t <= max)
			tb[t] = a;
	}
}

/* The payload of A when it has at least LEN bytes, else NULL. */
static const void *attr_at_least(const struct nlattr *a, size_t len)
{
	return a && mnl_attr_get_payload_len(a) >= len ? mnl_attr_get_payload(a)
						       : NULL;
}

static uint8_t attr_u8(const struct nlattr *a)
{
	const uint8_t *p = attr_at_least(a, 1);
	return p ? *p : 0;
}

static uint16_t attr_be16(const struct nlattr *a)
{
	uint16_t v = 0;
	const void *p = attr_at_least(a, 2);
	if (p)
		memcpy(&v, p, 2);
	return ntohs(v);
}

static uint32_t attr_be32(const struct nlattr *a)
{
	uint32_t v = 0;
	const void *p = attr_at_least(a, 4);
	if (p)
		memcpy(&v, p, 4);
	return ntohl(v);
}

/*
 * Fills E from one ctnetlink message (IPCTNL_MSG_CT_NEW, as a dump sends
 * it), read with libmnl alone: the original tuple (CTA_TUPLE_ORIG: CTA_IP_*,
 * CTA_PROTO_*), where DNAT sent it (CTA_TUPLE_REPLY's source, with
 * IPS_DST_NAT), CTA_MARK, CTA_TIMEOUT and the TCP state
 * (CTA_PROTOINFO_TCP_STATE), as entry_from does from a library object,
 * without one per entry (linux/netfilter/nfnetlink_conntrack.h). False
 * for another family, or without the addresses (the kernel's message is
 * trusted, but read bounded: a short attribute reads as absent).
 */
_Static_assert(CTA_TUPLE_MAX < 16 && CTA_IP_MAX < 16 && CTA_PROTO_MAX < 16 &&
		   CTA_PROTOINFO_MAX < 16 && CTA_PROTOINFO_TCP_MAX < 16,
	       "nested attribute tables of 16");

/* E's nat_dst and nat_dport from the reply tuple REPLY (CTA_TUPLE_REPLY),
 * whose source is where DNAT sent the session; E->dnat when its address
 * was there. */
static void nat_parse(const struct nlattr *reply, struct ct_entry *e)
{
	const struct nlattr *t[16], *ip[16], *pr[16];
	nest_attrs(reply, t, CTA_TUPLE_MAX);
	if (!t[CTA_TUPLE_IP])
		return;
	nest_attrs(t[CTA_TUPLE_IP], ip, CTA_IP_MAX);
	bool v4 = e->key.family == AF_INET;
	const void *a = attr_at_least(ip[v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC],
				      v4 ? 4 : 16);
	if (!a)
		return;
	memcpy(e->nat_dst, a, v4 ? 4 : 16);
	e->dnat = true;
	if (t[CTA_TUPLE_PROTO] && has_ports(e->key.proto)) {
		nest_attrs(t[CTA_TUPLE_PROTO], pr, CTA_PROTO_MAX);
		e->nat_dport = attr_be16(pr[CTA_PROTO_SRC_PORT]);
	}
}

static bool entry_parse(const struct nlmsghdr *nlh, struct ct_entry *out)
{
	const struct nlattr *tb[CTA_MAX + 1] = {0}, *t[16], *ip[16], *pr[16];
	const struct nlattr *a;
	const struct nfgenmsg *nfh = mnl_nlmsg_get_payload(nlh);
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfh))
		return false;
	mnl_attr_for_each(a, nlh, sizeof(*nfh))
	{
		unsigned ty = mnl_attr_get_type(a);
		if (ty <= CTA_MAX)
			tb[ty] = a;
	}
	struct ct_entry e = {0};
	e.key.family = nfh->nfgen_family;
	if (!tb[CTA_TUPLE_ORIG])
		return false;
	nest_attrs(tb[CTA_TUPLE_ORIG], t, CTA_TUPLE_MAX);
	if (!t[CTA_TUPLE_IP] || !t[CTA_TUPLE_PROTO])
		return false;
	nest_attrs(t[CTA_TUPLE_IP], ip, CTA_IP_MAX);
	nest_attrs(t[CTA_TUPLE_PROTO], pr, CTA_PROTO_MAX);
	size_t alen = e.key.family == AF_INET ? 4 : 16;
	const void *src, *dst;
	if (e.key.family == AF_INET) {
		src = attr_at_least(ip[CTA_IP_V4_SRC], 4);
		dst = attr_at_least(ip[CTA_IP_V4_DST], 4);
	} else if (e.key.family == AF_INET6) {
		src = attr_at_least(ip[CTA_IP_V6_SRC], 16);
		dst = attr_at_least(ip[CTA_IP_V6_DST], 16);
	} else {
		return false;
	}
	if (!src || !dst)
		return false;
	memcpy(e.key.src, src, alen);
	memcpy(e.key.dst, dst, alen);
	e.key.proto = attr_u8(pr[CTA_PROTO_NUM]);
	uint16_t l4[2] = {attr_be16(pr[CTA_PROTO_SRC_PORT]),
			  attr_be16(pr[CTA_PROTO_DST_PORT])};
	l4_set(&e, l4);
	switch (e.key.proto) {
	case IPPROTO_ICMP:
		e.key.sport = attr_be16(pr[CTA_PROTO_ICMP_ID]);
		e.key.dport = attr_u8(pr[CTA_PROTO_ICMP_TYPE]);
		e.icmp_code = attr_u8(pr[CTA_PROTO_ICMP_CODE]);
		break;
	case IPPROTO_ICMPV6:
		e.key.sport = attr_be16(pr[CTA_PROTO_ICMPV6_ID]);
		e.key.dport = attr_u8(pr[CTA_PROTO_ICMPV6_TYPE]);
		e.icmp_code = attr_u8(pr[CTA_PROTO_ICMPV6_CODE]);
		break;
	}
	e.mark = attr_be32(tb[CTA_MARK]);
	e.timeout = attr_be32(tb[CTA_TIMEOUT]);
	e.status = attr_be32(tb[CTA_STATUS]);
	if ((e.status & IPS_DST_NAT) && tb[CTA_TUPLE_REPLY])
		nat_parse(tb[CTA_TUPLE_REPLY], &e);
	if (e.key.proto == IPPROTO_TCP && tb[CTA_PROTOINFO]) {
		const struct nlattr *pi[16], *tcp[16];
		nest_attrs(tb[CTA_PROTOINFO], pi, CTA_PROTOINFO_MAX);
		if (pi[CTA_PROTOINFO_TCP]) {
			nest_attrs(pi[CTA_PROTOINFO_TCP], tcp, CTA_PROTOINFO_TCP_MAX);
			e.tcp_state = attr_u8(tcp[CTA_PROTOINFO_TCP_STATE]);
		}
	}
	*out = e;
	return true;
}

static int stream_msg(const struct nlmsghdr *nlh, void *data)
{
	struct ct_stream *s = data;
	struct ct_entry e;
	s->seen = true;
	if (entry_parse(nlh, &e) &&
	    (!s->want || (e.status & s->mask) == s->value))
		s->fn(&e, s->arg);
	return MNL_CB_OK;
}

/* True when RC and ERR, from reading S, are the kernel refusing the
 * status filter: an error answer before any entry, as ctnetlink_start
 * gives for attributes it does not take. */
static bool filter_refused(const struct ct_stream *s, int rc, int err)
{
	return rc < 0 && s->filtered && !s->seen &&
	       (err == EOPNOTSUPP || err == EINVAL);
}

int ct_stream_read(struct ct_stream *s, size_t max_reads)
{
	for (size_t i = 0; i < max_reads; i++) {
		ssize_t n = mnl_socket_recvfrom(s->nl, s->buf,
						CT_STREAM_BUF);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		int rc = mnl_cb_run(s->buf, (size_t)n, s->seq, s->portid,
				    stream_msg, s);
		if (filter_refused(s, rc, errno)) {
			s->filtered = false; /* the whole table instead */
			if (stream_request(s) < 0)
				return -1;
			continue;
		}
		if (rc < 0)
			return -1;
		if (rc == MNL_CB_STOP)
			return 1;
	}
	return 0;
}

void ct_stream_close(struct ct_stream *s)
{
	if (!s)
		return;
	if (s->nl)
		mnl_socket_close(s->nl);
	free(s->buf);
	free(s);
}

/* ---- session ends (ct_events_*) ---------------------------------------------- */

struct ct_events {
	struct mnl_socket *nl;
	ct_end_fn fn;
	void *arg;
	uint64_t ends, lost;
	int handed;
};

static void on_destroy(const struct nlmsghdr *nlh, void *data)
{
	struct ct_events *c = data;
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_DELETE)
		return;
	struct nf_conntrack *ct = nfct_new();
	if (!ct)
		return;
	struct ct_end end;
	memset(&end, 0, sizeof(end));
	if (nfct_nlmsg_parse(nlh, ct) >= 0 && entry_from(ct, &end.e)) {
		end.bytes_orig = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES);
		end.packets_orig =
		    nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
		end.bytes_repl = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
		end.packets_repl =
		    nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS);
		end.start_ns = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_START);
		end.stop_ns = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_STOP);
		c->ends++;
		c->handed++;
		c->fn(&end, c->arg);
	}
	nfct_destroy(ct);
}

struct ct_events *ct_events_open(uint32_t mask, const uint32_t *vals,
				 size_t nvals, ct_end_fn fn, void *arg)
{
	if (nvals == 0 || nvals > 4) {
		errno = EINVAL;
		return NULL;
	}
	struct ct_events *c = xcalloc(1, sizeof(*c));
	c->fn = fn;
	c->arg = arg;
	struct nfct_filter *f = NULL;
	c->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!c->nl || mnl_socket_bind(c->nl, NF_NETLINK_CONNTRACK_DESTROY,
				      MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	int fd = mnl_socket_get_fd(c->nl);
	int sz = 4 << 20; /* a burst of ends (a revocation, a flood) */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	f = nfct_filter_create();
	if (!f)
		goto fail;
	for (size_t i = 0; i < nvals; i++) {
		struct nfct_filter_dump_mark m = {.val = vals[i], .mask = mask};
		nfct_filter_add_attr(f, NFCT_FILTER_MARK, &m);
	}
	if (nfct_filter_attach(fd, f) < 0)
		goto fail;
	nfct_filter_destroy(f);
	return c;
fail:;
	int e = errno;
	if (f)
		nfct_filter_destroy(f);
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c);
	errno = e;
	return NULL;
}

int ct_events_fd(const struct ct_events *c)
{
	return mnl_socket_get_fd(c->nl);
}

int ct_events_read(struct ct_events *c, size_t max_reads)
{
	c->handed = 0;
	if (nlwalk_recv(mnl_socket_get_fd(c->nl), max_reads, on_destroy, c,
			&c->lost) < 0)
		return -1;
	return c->handed;
}

void ct_events_stats(const struct ct_events *c, uint64_t *ends,
		     uint64_t *lost)
{
	*ends = c ? c->ends : 0;
	*lost = c ? c->lost : 0;
}

void ct_events_close(struct ct_events *c)
{
	if (!c)
		return;
	mnl_socket_close(c->nl);
	free(c);
}
