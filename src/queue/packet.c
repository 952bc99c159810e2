/* packet.c — see packet.h. */
#include "queue/packet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static u128 load128(const uint8_t *b)
{
	u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = (v << 8) | b[i];
	return v;
}

static uint16_t load16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* Reads the transport header at P[OFF] into F and K; -1 if cut short. */
static int parse_l4(const uint8_t *p, size_t len, size_t off, struct flow *f,
		    struct session_key *k)
{
	switch (f->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		if (off + 4 > len)
			return -1;
		f->sport = load16(p + off);
		f->dport = load16(p + off + 2);
		k->sport = f->sport;
		k->dport = f->dport;
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (off + 1 > len)
			return -1;
		f->icmp_type = p[off];
		k->dport = p[off];
		if (off + 6 <= len) /* echo identifier */
			k->sport = load16(p + off + 4);
		return 0;
	default:
		return 0; /* other protocols: addresses only */
	}
}

int packet_parse(const uint8_t *p, size_t len, struct flow *f,
		 struct session_key *k)
{
	memset(f, 0, sizeof(*f));
	memset(k, 0, sizeof(*k));
	if (len < 1)
		return -1;
	if ((p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;
		if (len < 20 || ihl < 20 || ihl > len)
			return -1;
		/* a later fragment has no transport header (conntrack
		 * reassembles before the filter hooks, so this is rare) */
		uint16_t frag = load16(p + 6);
		f->family = AF_INET;
		f->proto = p[9];
		f->src4 = (uint32_t)load16(p + 12) << 16 | load16(p + 14);
		f->dst4 = (uint32_t)load16(p + 16) << 16 | load16(p + 18);
		k->family = AF_INET;
		k->proto = f->proto;
		memcpy(k->src, p + 12, 4);
		memcpy(k->dst, p + 16, 4);
		if (frag & 0x1fff)
			return -1;
		return parse_l4(p, len, ihl, f, k);
	}
	if ((p[0] >> 4) == 6) {
		if (len < 40)
			return -1;
		f->family = AF_INET6;
		f->src6 = load128(p + 8);
		f->dst6 = load128(p + 24);
		k->family = AF_INET6;
		memcpy(k->src, p + 8, 16);
		memcpy(k->dst, p + 24, 16);
		uint8_t nh = p[6];
		size_t off = 40;
		for (int hops = 0; hops < 8; hops++) {
			if (nh == 0 || nh == 43 || nh == 60) { /* hbh, rt, dst */
				if (off + 8 > len)
					return -1;
				nh = p[off];
				off += ((size_t)p[off + 1] + 1) * 8;
			} else if (nh == 44) { /* fragment */
				if (off + 8 > len)
					return -1;
				if (load16(p + off + 2) & 0xfff8)
					return -1; /* not the first */
				nh = p[off];
				off += 8;
			} else if (nh == 51) { /* AH */
				if (off + 8 > len)
					return -1;
				nh = p[off];
				off += ((size_t)p[off + 1] + 2) * 4;
			} else {
				break;
			}
		}
		if (off > len)
			return -1;
		f->proto = nh;
		k->proto = nh;
		return parse_l4(p, len, off, f, k);
	}
	return -1;
}

uint64_t session_key_hash(const struct session_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

const char *session_key_format(const struct session_key *k, char *buf,
			       size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	const char *pn;
	char pbuf[8];
	inet_ntop(k->family, k->src, s, sizeof(s));
	inet_ntop(k->family, k->dst, d, sizeof(d));
	switch (k->proto) {
	case IPPROTO_TCP: pn = "tcp"; break;
	case IPPROTO_UDP: pn = "udp"; break;
	case IPPROTO_ICMP: pn = "icmp"; break;
	case IPPROTO_ICMPV6: pn = "icmpv6"; break;
	default:
		snprintf(pbuf, sizeof(pbuf), "%u", k->proto);
		pn = pbuf;
	}
	bool v6 = k->family == AF_INET6;
	if (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP)
		snprintf(buf, len, "%s %s%s%s:%u -> %s%s%s:%u", pn,
			 v6 ? "[" : "", s, v6 ? "]" : "", k->sport,
			 v6 ? "[" : "", d, v6 ? "]" : "", k->dport);
	else if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
		snprintf(buf, len, "%s %s -> %s type %u", pn, s, d, k->dport);
	else
		snprintf(buf, len, "%s %s -> %s", pn, s, d);
	return buf;
}
