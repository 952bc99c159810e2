/*
 * conntrack.h — reading and changing the kernel's conntrack table
 * (libnetfilter_conntrack): list sessions, delete one (revocation), rewrite
 * a session's mark, the ICMP session timeout. Error convention: -1 with
 * errno.
 */
#ifndef SLUICE_CONNTRACK_H
#define SLUICE_CONNTRACK_H

#include "queue/packet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nf_conntrack;

struct ct_entry {
	struct session_key key; /* original direction */
	uint32_t mark;
	uint32_t timeout;	/* seconds left */
	uint8_t tcp_state;	/* TCP_CONNTRACK_*, 0 for others */
	struct nf_conntrack *ct;
};

struct ct_list {
	struct ct_entry *v;
	size_t n;
};

/* Dumps every conntrack entry (both families) into L. */
int ct_dump(struct ct_list *l);
void ct_list_free(struct ct_list *l);
int ct_delete(const struct ct_entry *e);
int ct_set_mark(const struct ct_entry *e, uint32_t mark);
const char *ct_tcp_state_name(uint8_t s);

/* The ICMP and ICMPv6 timeouts found before sluice changed them. */
struct ct_icmp_saved {
	bool valid;
	uint32_t v4, v6;
};

/*
 * ICMP and ICMPv6 sessions end after S seconds of silence, like UDP ones
 * (queue { udp-timeout }): sets this network namespace's
 * nf_conntrack_icmp_timeout and nf_conntrack_icmpv6_timeout, because nft
 * 1.0.6 cannot make an icmp `ct timeout` object. The first call (SAVED not
 * valid) keeps the values it found in SAVED. Both or neither are changed.
 */
int ct_icmp_timeout_set(uint32_t s, struct ct_icmp_saved *saved);

/* Reads the namespace's ICMP and ICMPv6 timeouts into CUR (made valid). */
int ct_icmp_timeout_get(struct ct_icmp_saved *cur);

/* Puts back the values kept in SAVED (nothing when it is not valid) and
 * marks it not valid. */
int ct_icmp_timeout_restore(struct ct_icmp_saved *saved);

#endif
