/*
 * conntrack.h — reading and changing the kernel's conntrack table
 * (libnetfilter_conntrack): list sessions, delete one (revocation), rewrite
 * a session's mark, the ICMP session timeout. Error convention: -1 with
 * errno.
 */
#ifndef SLUICE_CONNTRACK_H
#define SLUICE_CONNTRACK_H

#include "packet/packet.h"

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

/* The addresses of this namespace's interfaces (family byte + 16 address
 * bytes each), to tell the gateway's own end of a session. */
struct ct_local {
	uint8_t (*v)[17];
	size_t n;
};
/* Fills L from getifaddrs(3) (empty when that fails); ct_local_free()
 * releases it. */
void ct_local_get(struct ct_local *l);
void ct_local_free(struct ct_local *l);
/* True when ADDR (4 or 16 bytes by FAMILY) is in L. */
bool ct_local_has(const struct ct_local *l, int family, const uint8_t *addr);

struct flow;
/*
 * The flow of E as its first packet looked (original direction), for the
 * policy engine: addresses, ports or ICMP type, whether an end is the
 * gateway itself (from LA), the minute of the week now.
 */
void ct_entry_flow(const struct ct_entry *e, const struct ct_local *la,
		   struct flow *f);

/* The entries in this network namespace's conntrack table now. */
int ct_count(uint64_t *n);

/* A namespace's ICMP and ICMPv6 conntrack timeouts, in seconds. */
struct ct_icmp_timeouts {
	bool valid; /* for holders: the values were read */
	uint32_t v4, v6;
};

/*
 * ICMP and ICMPv6 sessions end after a time of silence, like UDP ones
 * (queue { udp-timeout }): nft 1.0.6 cannot make an icmp `ct timeout`
 * object, so these are the namespace's nf_conntrack_icmp_timeout and
 * nf_conntrack_icmpv6_timeout. get() reads both into CUR (made valid);
 * put() writes both, or neither (v4 is put back when v6 fails).
 */
int ct_icmp_timeout_get(struct ct_icmp_timeouts *cur);
int ct_icmp_timeout_put(const struct ct_icmp_timeouts *v);

#endif
