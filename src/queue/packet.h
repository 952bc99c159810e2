/*
 * packet.h — the header facts of a queued packet.
 */
#ifndef SLUICE_PACKET_H
#define SLUICE_PACKET_H

#include "policy/policy.h"

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

/*
 * Parses an IPv4 or IPv6 packet (as copied by NFQUEUE: from the network
 * header, possibly cut at the copy range) into F and K. Walks IPv6
 * extension headers. Returns 0, or -1 when the packet is malformed or cut
 * before the transport header it needs.
 */
int packet_parse(const uint8_t *p, size_t len, struct flow *f,
		 struct session_key *k);

/* Hash of a key (FNV-1a over its bytes); keys must be zero-initialised. */
uint64_t session_key_hash(const struct session_key *k);

/* Formats K as "tcp 10.1.2.3:40000 -> 10.2.0.1:80" into BUF. */
const char *session_key_format(const struct session_key *k, char *buf,
			       size_t len);

#endif
