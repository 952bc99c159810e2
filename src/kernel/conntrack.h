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
	uint8_t icmp_code;	/* ICMP(v6): the code (part of the tuple) */
	uint32_t status;	/* IPS_* bits (linux/netfilter/nf_conntrack_common.h) */
	/* dnat: IPS_DST_NAT, and where DNAT sent it was read (the reply
	 * tuple's source): the address as key.dst, the port in host order
	 * (protocols with ports: TCP, UDP, UDP-Lite, SCTP, DCCP; else 0) */
	bool dnat;
	uint8_t nat_dst[16];
	uint16_t nat_dport;
	/* GRE: the keys of its tuple (PPTP's; 0 without), source and
	 * destination, host order: ct_delete() and ct_set_mark() name the
	 * entry with them. Not in the key: a packet's key has none */
	uint16_t gre_key[2];
};

struct ct_list {
	struct ct_entry *v;
	size_t n;
};

/* Dumps every conntrack entry (both families) into L (free with
 * ct_list_free). An entry holds its original tuple and state, no library
 * object: ct_delete() and ct_set_mark() name the kernel's entry by that
 * tuple. 0, or -1 with errno and L empty (a dump cut short keeps
 * nothing). */
int ct_dump(struct ct_list *l);
void ct_list_free(struct ct_list *l);

/*
 * The same dump read piece by piece, for a caller that must not block (the
 * event loop: revocation of a large table). ct_stream_open() sends the dump
 * request on its own non-blocking netlink socket; each ct_stream_read()
 * reads at most MAX_READS socket buffers that have arrived (the kernel
 * fills the next one only when the previous was read) and calls FN for
 * every entry in them, in the caller's thread. ct_stream_read() returns 1
 * when the dump is complete, 0 when more is to come (wait until
 * ct_stream_fd() is readable), -1 with errno on an error. FN may delete or
 * update entries (ct_delete, ct_set_mark use other sockets). The kernel's
 * dump is not a snapshot: an entry created or removed meanwhile may be
 * seen or not. ct_stream_close() frees S (NULL is fine).
 */
struct ct_stream;
typedef void (*ct_entry_fn)(const struct ct_entry *e, void *arg);
struct ct_stream *ct_stream_open(ct_entry_fn fn, void *arg);
/*
 * The same dump of only the entries whose status (IPS_*), masked with
 * MASK, equals VALUE: e.g. VALUE 0, MASK IPS_ASSURED for the sessions
 * whose TCP handshake has not completed (nf_conntrack_proto_tcp.c sets
 * IPS_ASSURED on SYN_RECV -> ESTABLISHED). The kernel filters: CTA_STATUS
 * and CTA_STATUS_MASK in the dump request make ctnetlink dump an entry
 * only when (status & mask) == value (net/netfilter/nf_conntrack_netlink.c
 * ctnetlink_alloc_filter, ctnetlink_filter_match), so the entries left
 * out are never copied to the socket. A kernel that refuses the filter
 * (an error to the request, EOPNOTSUPP or EINVAL; 6.18 refuses MASK 0 with
 * EINVAL, ctnetlink_filter_parse_status) is sent the unfiltered request
 * instead, on the same stream, and ct_stream_filtered() then says false;
 * a kernel that ignores the attributes sends every entry. In every case
 * FN sees only the entries that match: the status is tested here too.
 */
struct ct_stream *ct_stream_open_status(ct_entry_fn fn, void *arg,
					uint32_t value, uint32_t mask);
/* False for an unfiltered stream, or one the kernel refused to filter
 * (known once its first ct_stream_read() returned). */
bool ct_stream_filtered(const struct ct_stream *s);
/*
 * Builds the IPCTNL_MSG_CT_GET dump request (NLM_F_DUMP, AF_UNSPEC, both
 * families) with sequence number SEQ into BUF (CT_DUMP_REQUEST_MAX bytes
 * at least); with FILTER it carries CTA_STATUS VALUE and CTA_STATUS_MASK
 * MASK (big-endian u32, as the kernel reads them). Returns its length.
 */
#define CT_DUMP_REQUEST_MAX 64
size_t ct_dump_request(void *buf, uint32_t seq, bool filter, uint32_t value,
		       uint32_t mask);
int ct_stream_fd(const struct ct_stream *s);
int ct_stream_read(struct ct_stream *s, size_t max_reads);
void ct_stream_close(struct ct_stream *s);
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
 * The flow of E as the ruleset judged its first packet, for the policy
 * engine: the original direction, with the destination DNAT gave it when
 * it has one (IPS_DST_NAT: the filter hooks that decide a new session,
 * forward, input and output, see a packet after DNAT and before SNAT);
 * addresses, ports or ICMP type, whether an end is the gateway itself
 * (from LA), the minute of the week now.
 */
void ct_entry_flow(const struct ct_entry *e, const struct ct_local *la,
		   struct flow *f);

/*
 * The key of E as the filter hooks saw its first packet (after DNAT: the
 * destination DNAT gave it, as ct_entry_flow), the key sluiced keeps a
 * decision's facts under (decide/sessions.h: the queued packet's); E's
 * own key (the original tuple) when no DNAT sent it elsewhere.
 */
void ct_entry_seen_key(const struct ct_entry *e, struct session_key *k);

/* The entries in this network namespace's conntrack table now. */
int ct_count(uint64_t *n);

/* A namespace's ICMP and ICMPv6 conntrack timeouts, in seconds, and its
 * conntrack accounting and timestamp switches (nf_conntrack_acct,
 * nf_conntrack_timestamp: the firewall log's session-end records need
 * both). */
struct ct_icmp_timeouts {
	bool valid; /* for holders: the values were read */
	uint32_t v4, v6;
	uint32_t acct, tstamp; /* 0 or 1 */
};

/*
 * ICMP and ICMPv6 sessions end after a time of silence, like UDP ones
 * (queue { udp-timeout }): nft 1.0.6 cannot make an icmp `ct timeout`
 * object, so these are the namespace's nf_conntrack_icmp_timeout and
 * nf_conntrack_icmpv6_timeout. get() reads both into CUR (made valid);
 * put() writes both, or neither (v4 is put back when v6 fails),
 * then the accounting and timestamp switches (an error there is returned
 * after the timeouts were written).
 */
int ct_icmp_timeout_get(struct ct_icmp_timeouts *cur);
int ct_icmp_timeout_put(const struct ct_icmp_timeouts *v);


/* ---- session ends (conntrack DESTROY events) ---------------------------- */

/* A session that ended: its entry as it was, the traffic each way
 * (nf_conntrack_acct; zero when it was off at the session's start) and
 * when it began and ended (nf_conntrack_timestamp, CLOCK_REALTIME ns; 0
 * when it was off). */
struct ct_end {
	struct ct_entry e;
	uint64_t bytes_orig, packets_orig; /* original direction */
	uint64_t bytes_repl, packets_repl; /* reply */
	uint64_t start_ns, stop_ns;
};
typedef void (*ct_end_fn)(const struct ct_end *end, void *arg);

/*
 * Subscribes to this namespace's conntrack DESTROY events, for entries
 * whose mark, masked with MASK, equals one of VALS[0..NVALS) (a filter in
 * the kernel: others never reach the socket; NVALS 1..4). ct_events_read()
 * reads at most MAX_READS socket buffers without blocking and calls FN for
 * each end, in the caller's thread; it returns the ends handed, or -1 with
 * errno on a socket error. Events the kernel could not deliver (the socket
 * full: ENOBUFS) are counted in *LOST of ct_events_stats, never returned
 * as an error. NULL with errno from open; close(NULL) is fine.
 */
struct ct_events;
struct ct_events *ct_events_open(uint32_t mask, const uint32_t *vals,
				 size_t nvals, ct_end_fn fn, void *arg);
int ct_events_fd(const struct ct_events *c);
int ct_events_read(struct ct_events *c, size_t max_reads);
void ct_events_stats(const struct ct_events *c, uint64_t *ends,
		     uint64_t *lost);
void ct_events_close(struct ct_events *c);

#endif
