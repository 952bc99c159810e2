/* conntrack.c — see conntrack.h. */
#include "kernel/conntrack.h"
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

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		    void *data)
{
	struct ct_list *l = data;
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
		return NFCT_CB_CONTINUE;
	}
	switch (e.key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		e.key.sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
		e.key.dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		e.key.sport = ntohs(nfct_get_attr_u16(ct, ATTR_ICMP_ID));
		e.key.dport = nfct_get_attr_u8(ct, ATTR_ICMP_TYPE);
		break;
	}
	e.mark = nfct_get_attr_u32(ct, ATTR_MARK);
	e.timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	if (e.key.proto == IPPROTO_TCP)
		e.tcp_state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
	e.ct = nfct_clone(ct);
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
	errno = saved;
	return rc < 0 ? -1 : 0;
}

void ct_list_free(struct ct_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		nfct_destroy(l->v[i].ct);
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

int ct_delete(const struct ct_entry *e)
{
	return query(NFCT_Q_DESTROY, e->ct);
}

int ct_set_mark(const struct ct_entry *e, uint32_t mark)
{
	nfct_set_attr_u32(e->ct, ATTR_MARK, mark);
	return query(NFCT_Q_UPDATE, e->ct);
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

static u128 load128(const uint8_t *b)
{
	u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = (v << 8) | b[i];
	return v;
}

static uint32_t load32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

void ct_entry_flow(const struct ct_entry *e, const struct ct_local *la,
		   struct flow *f)
{
	const struct session_key *k = &e->key;
	memset(f, 0, sizeof(*f));
	f->family = k->family;
	f->proto = k->proto;
	if (k->family == AF_INET) {
		f->src4 = load32(k->src);
		f->dst4 = load32(k->dst);
	} else {
		f->src6 = load128(k->src);
		f->dst6 = load128(k->dst);
	}
	f->sport = k->sport;
	f->dport = k->dport;
	f->icmp_type = (uint8_t)k->dport;
	f->src_local = ct_local_has(la, k->family, k->src);
	f->dst_local = ct_local_has(la, k->family, k->dst);
	f->minute = week_minute_now();
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
	uint32_t v4, v6;
	if (sysctl_get(ICMP4_SYSCTL, &v4) < 0 ||
	    sysctl_get(ICMP6_SYSCTL, &v6) < 0)
		return -1;
	*cur = (struct ct_icmp_timeouts){true, v4, v6};
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
	return 0;
}
