/* packet.c — see packet.h. */
#include "packet/packet.h"
#include "common/bytes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Reads the transport header at P[OFF] (of LEN copied bytes) into F and
 * K. -1 when a field sluiced needs was not copied or is not in the packet
 * at all (conntrack marks such a TCP/UDP packet invalid: never queued). */
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

/* IPv4, as nft_set_pktinfo_ipv4_validate() reads it. */
static int parse_ipv4(const uint8_t *p, size_t len, size_t wire_len,
		      struct flow *f, struct session_key *k)
{
	size_t ihl = (size_t)(p[0] & 15) * 4;
	if (len < 20 || ihl < 20)
		return -1;
	size_t tot = load16(p + 2);
	if (tot > wire_len || tot < ihl || ihl > len)
		return -1;
	f->family = AF_INET;
	f->proto = p[9];
	f->src4 = (uint32_t)load16(p + 12) << 16 | load16(p + 14);
	f->dst4 = (uint32_t)load16(p + 16) << 16 | load16(p + 18);
	k->family = AF_INET;
	k->proto = f->proto;
	memcpy(k->src, p + 12, 4);
	memcpy(k->dst, p + 16, 4);
	if (load16(p + 6) & 0x1fff)
		return -1; /* a later fragment: no transport header */
	return parse_l4(p, len, ihl, f, k);
}

/* An IPv6 extension header in ipv6_find_hdr()'s sense (ipv6_ext_hdr()). */
static bool ipv6_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH ||
	       nh == IPPROTO_NONE || nh == IPPROTO_DSTOPTS;
}

/*
 * Walks the extension headers of the IPv6 packet P (LEN bytes copied)
 * from its fixed header as ipv6_find_hdr(skb, &off, -1, &fragoff,
 * IP6_FH_F_AUTH) does, which is how nftables finds `meta l4proto` and the
 * transport header. Sets *OFF and *FRAG (a later fragment: the kernel
 * returns its protocol but leaves the offset at 0). Returns the transport
 * protocol, or -1 where the kernel fails (-EBADMSG, -ENOENT) or the copy
 * ends inside the chain. Each step advances at least 8 bytes, so the walk
 * ends within LEN / 8 steps.
 */
static int ipv6_walk(const uint8_t *p, size_t len, size_t *off, bool *frag)
{
	uint8_t nh = p[6];
	size_t start = 40;
	*frag = false;
	for (;;) {
		if (!ipv6_ext(nh) || nh == IPPROTO_NONE)
			break;
		if (start + 2 > len)
			return -1;
		size_t hdrlen;
		if (nh == IPPROTO_ROUTING && start + 4 > len)
			return -1; /* struct ipv6_rt_hdr */
		if (nh == IPPROTO_FRAGMENT) {
			if (start + 4 > len)
				return -1;
			if (load16(p + start + 2) & 0xfff8) {
				uint8_t next = p[start];
				if (ipv6_ext(next) && next != IPPROTO_NONE)
					return -1; /* -ENOENT: no l4proto */
				*frag = true;
				*off = 0;
				return next;
			}
			hdrlen = 8;
		} else if (nh == IPPROTO_AH) {
			break; /* IP6_FH_F_AUTH: AH is the transport */
		} else {
			hdrlen = ((size_t)p[start + 1] + 1) * 8;
		}
		nh = p[start];
		start += hdrlen;
	}
	*off = start;
	return nh;
}

/* IPv6, as nft_set_pktinfo_ipv6_validate() reads it. */
static int parse_ipv6(const uint8_t *p, size_t len, size_t wire_len,
		      struct flow *f, struct session_key *k)
{
	if (len < 40)
		return -1;
	size_t plen = load16(p + 4);
	if (plen + 40 > wire_len)
		return -1;
	f->family = AF_INET6;
	f->src6 = load128(p + 8);
	f->dst6 = load128(p + 24);
	k->family = AF_INET6;
	memcpy(k->src, p + 8, 16);
	memcpy(k->dst, p + 24, 16);
	size_t off;
	bool frag;
	int proto = ipv6_walk(p, len, &off, &frag);
	if (proto < 0 || off > 0xffff) /* nft: thoff > U16_MAX, no l4proto */
		return -1;
	f->proto = (uint8_t)proto;
	k->proto = (uint8_t)proto;
	if (frag)
		return -1; /* a later fragment: no transport header */
	return parse_l4(p, len, off, f, k);
}

int packet_parse(const uint8_t *p, size_t len, size_t wire_len, struct flow *f,
		 struct session_key *k)
{
	memset(f, 0, sizeof(*f));
	memset(k, 0, sizeof(*k));
	if (len < 1 || wire_len < len)
		return -1;
	if ((p[0] >> 4) == 4)
		return parse_ipv4(p, len, wire_len, f, k);
	if ((p[0] >> 4) == 6)
		return parse_ipv6(p, len, wire_len, f, k);
	return -1;
}
