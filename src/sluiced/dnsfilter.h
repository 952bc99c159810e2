/*
 * dnsfilter.h — `filter dns`: sluiced's DNS queue. The kernel
 * queues every packet of the sessions a `filter dns` rule allowed (both
 * directions; ruleset.h rs_dns_queue()) to one queue read by one thread
 * here. Queries are remembered and released at once; answers are bound
 * (src/resolve/dnsbind.h: per client, only to a query that client sent to
 * that server) before they are released, so a client that connects the
 * instant it receives its answer is decided with the binding (no race).
 *
 * Verdicts: NF_ACCEPT with sluice's mark bits cleared; NF_DROP for a
 * malformed answer or query, a zone-transfer query (AXFR/IXFR) and a
 * packet that is not UDP/TCP of the session's family (counted). Answers to
 * no outstanding query, truncated (TC) and error answers pass and bind
 * nothing. TCP: the messages of each direction are put together from its
 * segments (src/resolve/dnstcp.h: any cut, several per segment); the
 * segment that completes a message is held until it is read, earlier ones
 * pass at once. A segment after a gap in the sequence or past the memory
 * caps is dropped unread (the sender sends it again; counted tcp_unread),
 * and a direction that carried a dropped message drops all its later
 * data.
 *
 * Threads: the queue thread owns the queue; the bindings are guarded by a
 * mutex so that dnsfilter_names() may be called from the main thread.
 */
#ifndef SLUICED_DNSFILTER_H
#define SLUICED_DNSFILTER_H

#include "policy/policy.h"
#include "resolve/dnsbind.h"
#include "resolve/dnstcp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dnsfilter;

struct dnsfilter_stats {
	struct dnsbind_stats bind;
	struct dnstcp_stats tcp;
	uint64_t packets, dropped, not_dns, tcp_unread;
};

/* Opens queue QUEUE and starts its thread; OWN is the mask of sluice's
 * mark bits (cleared in the verdict). Settings from P (resolver
 * dns-rebinding, dns-grace). RT_PRIO 1..99: the thread asks SCHED_FIFO
 * at that priority (sluiced --dns-rt-priority; refused: logged, runs as
 * usual); 0: the default scheduling. NULL (logged) when the queue cannot
 * be opened: DNS of `filter dns` sessions is then dropped (fail closed). */
struct dnsfilter *dnsfilter_start(const struct policy *p, uint16_t queue,
				  uint32_t own, int rt_prio);
/* Applies P's settings (reload); bindings stay. */
void dnsfilter_configure(struct dnsfilter *f, const struct policy *p);
/*
 * The names CLIENT was told ADDR has (FAMILY: AF_INET, first 4 bytes, or
 * AF_INET6), live now: appends copies (owned by the caller) to *NAMES /
 * *N with APPEND (a function that skips duplicates) and returns how many
 * there were. *PARTIAL is set when a bound dropped some of this client's
 * answers. F may be NULL (none).
 */
size_t dnsfilter_names(struct dnsfilter *f, int family,
		       const uint8_t client[16], const uint8_t addr[16],
		       void (*append)(void *arg, const char *name), void *arg,
		       bool *partial);
void dnsfilter_stats(struct dnsfilter *f, struct dnsfilter_stats *out);
/* The first packet PKT[0..LEN) of a `filter dns` session that sluiced's
 * decision queue holds (the rule needs a user or a name): read as if it
 * had crossed the DNS queue. Returns the filter's word: false when it
 * would be dropped (malformed, a zone transfer), and the session is then
 * denied. Any thread; F NULL: true. */
bool dnsfilter_first(struct dnsfilter *f, const uint8_t *pkt, size_t len);
/*
 * The witness of NAME, the name a decision of the session FL was logged
 * with under policy P, for the firewall log: "dns-answer" when FL's client
 * was told (its own answer, still bound) that FL's destination has NAME,
 * else "resolved-ahead" when NAME is one sluiced resolves ahead (an exact
 * name of a domain set), else "reverse" (the forward-confirmed reverse
 * name); NULL when NAME is NULL. The strongest witness that holds now.
 */
const char *dnsfilter_witness(struct dnsfilter *f, const struct policy *p,
			      const struct flow *fl, const char *name);
/* Fills the DNS filter's counters of S (docs/counters.md, dns_filter_*);
 * zeros when F is NULL. */
struct stats_snapshot;
void dnsfilter_snapshot(struct dnsfilter *f, struct stats_snapshot *s);
/* Stops the thread, closes the queue, frees everything. NULL allowed. */
void dnsfilter_stop(struct dnsfilter *f);

/*
 * One queued packet's part, exposed for tests and the bench: reads the
 * IPv4/IPv6 + UDP/TCP packet PKT[0..LEN) and shows its DNS messages to B
 * at NOW_MS, a TCP segment's through T (NULL: TCP data pass unread,
 * *TCP_UNREAD set). Returns the verdict: true accept, false drop;
 * *NOT_DNS / *TCP_UNREAD tell why nothing was read.
 */
bool dnsfilter_packet(struct dnsbind *b, struct dnstcp *t, const uint8_t *pkt,
		      size_t len, uint64_t now_ms, bool *not_dns,
		      bool *tcp_unread);

#endif
