/*
 * session_key.h — a session's key (the conntrack 5-tuple), shared by the
 * packet parser, the decider, the sessions table and the conntrack glue.
 */
#ifndef SLUICE_COMMON_SESSION_KEY_H
#define SLUICE_COMMON_SESSION_KEY_H

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

/* Hash of a key (common/hash.h: keyed per process, so chosen ports cannot
 * aim at one bucket); keys must be zero-initialised. */
uint64_t session_key_hash(const struct session_key *k);

/* Formats K as "tcp 10.1.2.3:40000 -> 10.2.0.1:80" into BUF (LEN bytes);
 * returns BUF. */
const char *session_key_format(const struct session_key *k, char *buf,
			       size_t len);

#endif
