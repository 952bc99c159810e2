/*
 * packet.h — a queued packet (struct qpacket, as the queue hands it to the
 * decider) and its header facts, read the way the kernel's nftables rules
 * read them. Below both queue/ and decide/: it needs neither.
 */
#ifndef SLUICE_PACKET_PACKET_H
#define SLUICE_PACKET_PACKET_H

#include "common/session_key.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes NFQUEUE copies of each queued packet: the most nfnetlink_queue
 * gives (NFQNL_MAX_COPY_RANGE, 0xffff less one attribute header), so any
 * IPv6 extension-header chain the kernel walks is in the copy. */
#define PACKET_COPY_MAX 65531u

/* A packet the queue hands out (nfqs_dispatch()). */
struct qpacket {
	uint32_t id;
	uint8_t hook;  /* NF_INET_* */
	uint32_t mark;
	const uint8_t *payload;
	size_t len;	 /* bytes of PAYLOAD copied */
	size_t wire_len; /* the packet's length (NFQA_CAP_LEN when cut) */
	bool has_uid;
	uint32_t uid, gid;
	bool last; /* the last packet of the batch nfqs_dispatch() hands out */
};

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

#endif
