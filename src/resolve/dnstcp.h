/*
 * dnstcp.h — DNS over TCP for the DNS filter: the messages of each
 * direction of a TCP session put back together from its segments, in
 * bounded memory, without any I/O.
 *
 * Model
 *   On TCP a DNS message is a two-byte length, then that many bytes (RFC
 *   1035 §4.2.2); a stream may carry several (RFC 7766 §6.2.1, pipelining)
 *   and the sender may cut it anywhere (RFC 7766 §8). The caller shows
 *   every segment of one direction (dnstcp_segment: its endpoints, sequence
 *   number, SYN/FIN/RST flags and payload) and gets back a verdict; every
 *   message the segment completes is handed to a callback first, in stream
 *   order, from the segment itself when it holds it whole, else from a
 *   buffer of this direction. So the segment that completes a message is
 *   the one held while it is read, and earlier segments of it are released
 *   at once: nobody can act on the message before its last byte crosses.
 *
 *   Only bytes in sequence are read. A direction starts at its SYN
 *   (sequence + 1) or, when the SYN was not seen, at its first segment
 *   with data (taken to start a message). A segment entirely before the
 *   next byte expected is a copy of data already read (DNSTCP_DUP); part
 *   before and part new: the new part is read. A segment after the next
 *   byte expected (a segment before it lost or late) is refused
 *   (DNSTCP_GAP): the receiver does not get it either, so the sender sends
 *   it again after the missing one, and the direction stays in step.
 *
 *   Bounds: at most cfg.session_cap bytes buffered per direction (the part
 *   of one message read so far, with its length), cfg.total_cap in all and
 *   cfg.max_streams directions. A message longer than the session cap, or
 *   a segment whose bytes would pass the total cap, is refused
 *   (DNSTCP_OVER); a new direction when the table is full evicts the
 *   longest idle direction that holds no partial message, else is refused.
 *   A direction whose callback refused a message (malformed, a zone
 *   transfer) refuses every later segment with data (DNSTCP_REFUSED).
 *   A segment refused for a gap reads nothing; one refused for a cap may
 *   have completed messages before the point it stopped (handed over,
 *   and skipped as already read when it comes again).
 *
 *   A direction first met without its SYN (sluiced started after it, or
 *   it was forgotten idle or evicted) is read from that segment on as if
 *   a message started there. Bytes are read once: a segment that crossed
 *   here but not the rest of the way (its TTL ran out, the receiver
 *   refused its checksum) and comes again with other bytes is passed as
 *   a copy, unread — the limit of reading a stream on the path (Ptacek
 *   and Newsham, 1998). The sender chooses its own bytes either way: an
 *   answer binds only to a query the client sent, so this can hide a
 *   client's query (a zone transfer) but never add a binding.
 *
 * Time is passed in (milliseconds, any monotonic origin). Not thread-safe:
 * one owner.
 */
#ifndef SLUICE_DNSTCP_H
#define SLUICE_DNSTCP_H

#include "resolve/dnsbind.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSTCP_MSG_MAX (2 + 0xffff) /* one message with its length */

struct dnstcp_cfg {
	size_t session_cap; /* bytes buffered per direction (0: MSG_MAX) */
	size_t total_cap;   /* bytes buffered in all */
	size_t max_streams; /* directions tracked */
	uint32_t idle_ms;   /* a direction quiet this long is forgotten */
};

#define DNSTCP_SYN 0x02u /* TCP header flag bits (RFC 9293 §3.1) */
#define DNSTCP_FIN 0x01u
#define DNSTCP_RST 0x04u

enum dnstcp_res {
	DNSTCP_READ,	/* read (every whole message handed over): release */
	DNSTCP_EMPTY,	/* no data (handshake, ack, fin): release */
	DNSTCP_DUP,	/* only data already read (a copy): release */
	DNSTCP_GAP,	/* after a gap in the sequence: refuse */
	DNSTCP_OVER,	/* past a cap: refuse */
	DNSTCP_REFUSED, /* a message of it or before it refused: refuse */
};

struct dnstcp_stats {
	uint64_t segments;     /* segments with data shown */
	uint64_t messages;     /* messages handed over */
	uint64_t reassembled;  /* of those, read from more than one segment */
	uint64_t dup, gap, over, refused; /* segments, by result */
	uint64_t evicted;      /* idle directions evicted for a new one */
	uint64_t streams, bytes; /* gauges: directions, bytes buffered */
};

/*
 * MSG is called for each whole message: ARG, the endpoints E of the
 * segment (SRC → DST as sent) and the message M[0..LEN) without its
 * length; valid only during the call. Returns true to go on, false to
 * refuse it (the segment is refused and the direction with it).
 */
typedef bool (*dnstcp_msg_fn)(void *arg, const struct dns_ends *e,
			      const uint8_t *m, size_t len);

struct dnstcp;

/* A table with settings CFG (copied). Never fails (aborts on memory). */
struct dnstcp *dnstcp_new(const struct dnstcp_cfg *cfg);
void dnstcp_free(struct dnstcp *t); /* NULL allowed */

/*
 * One TCP segment SRC → DST (E, ports in host order) with sequence number
 * SEQ, flags FLAGS (DNSTCP_SYN/FIN/RST) and payload DATA[0..LEN), at
 * NOW_MS: reads it (see the model) and returns the verdict. MSG(ARG, ...)
 * is called for every message it completes, before this returns.
 */
enum dnstcp_res dnstcp_segment(struct dnstcp *t, const struct dns_ends *e,
			       uint32_t seq, unsigned flags,
			       const uint8_t *data, size_t len, uint64_t now_ms,
			       dnstcp_msg_fn msg, void *arg);

/* Forgets directions quiet for cfg.idle_ms (call about once a second). */
void dnstcp_expire(struct dnstcp *t, uint64_t now_ms);

void dnstcp_stats(const struct dnstcp *t, struct dnstcp_stats *out);

#endif
