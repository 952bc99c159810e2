/*
 * packet.h — the header facts of a queued packet, read the way the kernel's
 * nftables rules read them.
 */
#ifndef SLUICE_PACKET_H
#define SLUICE_PACKET_H

#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A session's key: the conntrack 5-tuple as the first packet shows it. For
 * ICMP echo the identifier stands in for the source port and the type for
 * the destination port. */
struct session_key {
	uint8_t family, proto;
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
};

/* Bytes NFQUEUE copies of each queued packet: the most nfnetlink_queue
 * gives (NFQNL_MAX_COPY_RANGE, 0xffff less one attribute header), so any
 * IPv6 extension-header chain the kernel walks is in the copy. */
#define PACKET_COPY_MAX 65531u

/*
 * Parses an IPv4 or IPv6 packet as NFQUEUE copies it (from the network
 * header; LEN bytes copied of a packet WIRE_LEN bytes long, LEN <= WIRE_LEN)
 * into F and K, reading it exactly as nftables does for `meta l4proto` and
 * `th dport` (net/netfilter nft_set_pktinfo_ipv4/6_validate):
 *   - IPv4: IHL >= 5, total length within the packet and >= IHL*4; options
 *     skipped; the protocol field is the transport.
 *   - IPv6: payload length within the packet (0: jumbo, the packet's own);
 *     the extension-header chain walked like ipv6_find_hdr(target -1,
 *     IP6_FH_F_AUTH): hop-by-hop, routing, fragment and destination options
 *     are skipped however many there are; AH (51), ESP, No Next Header and
 *     any other value end the walk and are the transport.
 * Returns 0, or -1 for a packet sluiced cannot read as the kernel did, which
 * the caller denies:
 *   - the kernel gives it no transport protocol (bad lengths, a chain cut
 *     inside a header, a later fragment followed by more extension headers);
 *   - a later (non-first) fragment: it has no transport header, yet the
 *     kernel's `th`/`tcp dport` matches read it anyway (nft's fast payload
 *     path does not check the fragment offset: for IPv4 they read bytes of
 *     the fragment's data, for IPv6 bytes of the IPv6 header, as
 *     tests/kernel/21_packet_classify.sh shows). Conntrack reassembles
 *     before sluice's hooks, so such a packet is crafted or broken;
 *   - a TCP, UDP, UDP-Lite, SCTP or DCCP packet without its ports, an ICMP
 *     one without its type (conntrack calls these invalid: never queued);
 *   - a header sluiced needs lies beyond the copy (LEN < WIRE_LEN).
 */
int packet_parse(const uint8_t *p, size_t len, size_t wire_len, struct flow *f,
		 struct session_key *k);

/* Hash of a key (common/hash.h: keyed per process, so chosen ports cannot
 * aim at one bucket); keys must be zero-initialised. */
uint64_t session_key_hash(const struct session_key *k);

/* Formats K as "tcp 10.1.2.3:40000 -> 10.2.0.1:80" into BUF. */
const char *session_key_format(const struct session_key *k, char *buf,
			       size_t len);

#endif
