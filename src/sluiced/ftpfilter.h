/*
 * ftpfilter.h — `filter ftp read-only`: sluiced's FTP queue. The kernel's
 * FTP helper (nf_conntrack_ftp) follows every `filter ftp` control session
 * and lets its data connections through (kernel/ruleset.c); for the rules
 * whose FTP protocol says `read-only`, the kernel also queues every packet
 * the client sends on the control session (ct direction original), and the
 * server's SYN/ACK, to one queue read by one thread here (ruleset.h
 * rs_ftp_queue()); the client's SYN comes too (the kernel's allow of such
 * a rule queues it; for rules sluiced decides, ftpfilter_first()), and
 * one that carries data (TCP Fast Open) is dropped.
 *
 * A segment's payload is read as FTP command lines (RFC 959 §4.1, RFC 2228,
 * RFC 2389, RFC 2428, RFC 3659). A line whose command is not on the list of
 * commands that read (ftp_command_reads()) is refused: its command word is
 * overwritten with 'X' in place from its first byte that no longer starts
 * such a command ("STOR" → "STXX", "DELE" → "XXXX"; same length, so TCP
 * sequence numbers stay as they are) and the server answers it with its
 * "500 unknown command" reply, which the client shows. Uploads and changes (STOR, STOU, APPE,
 * DELE, RMD, XRMD, MKD, XMKD, RNFR, RNTO, SITE, ...) and AUTH (a channel
 * the filter could no longer read) are refused this way.
 *
 * The client's byte stream is judged once, in order, per control session
 * (its 5-tuple), and it is the stream the server assembles (RFC 9293
 * §3.10.7.4, first copy wins): it starts where the server's SYN/ACK says
 * (its acknowledgment number, the client's ISN + 1; the kernel queues that
 * SYN/ACK here too), never at the first segment seen, and sessions whose
 * SYN/ACK was not seen (sluiced started during them, no free slot) have
 * their data dropped. A segment is taken when it starts at the next
 * expected byte; one that starts before it (a retransmission, an overlap)
 * must carry exactly the bytes the client sent there before (the last
 * FTP_WINDOW of them are kept, as sent and as judged), which it then
 * carries as judged; its new bytes past the expected point are judged. A
 * segment that differs from what was judged, skips ahead of the stream,
 * starts before the kept window or the stream's start, data on a SYN or
 * RST, a SYN/ACK that moves a known start: dropped and counted, never
 * judged (a client resends in order what was lost). Sequence numbers
 * compare in 32-bit serial arithmetic (RFC 1982, RFC 9293 §3.4). A command
 * word that reaches the end of a segment passes as far as it is the start
 * of a command that reads, and the rest of the word is refused in the next
 * segment, so the server sees no command that was not judged whole. Fail
 * closed: an unreadable segment (not IPv4/IPv6 + TCP, cut) is dropped.
 *
 * Verdicts: NF_ACCEPT with sluice's mark bits cleared, with the rewritten
 * packet (TCP checksum recomputed) when a line was refused.
 */
#ifndef SLUICED_FTPFILTER_H
#define SLUICED_FTPFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ftpfilter;

struct ftpfilter_stats {
	uint64_t packets;  /* client segments read */
	uint64_t refused;  /* command lines refused (rewritten) */
	uint64_t dropped;  /* segments dropped: unreadable, or not the server's
			      stream (ftp_stream_judge() -1), no session,
			      a SYN/ACK with no slot, a SYN with data */
	uint64_t no_slot;  /* SYN/ACKs that found no slot (dropped too) */
	uint64_t reclaimed; /* slots taken from a session still followed that
			       judged no byte yet (handshake only) */
	uint64_t syn_data; /* client SYNs with data (TCP Fast Open): dropped,
			      the client retries with a plain handshake */
};

#define FTP_WINDOW 4096u  /* judged bytes kept per session */
#define FTP_SESSIONS 1024u /* sessions followed at once */
#define FTP_PER_SOURCE (FTP_SESSIONS / 16) /* of them, one source's at most
	(its client address cut to decisions { per-source-prefix-v4/-v6 }) */

/* The judged client stream of one control session. */
struct ftp_stream {
	bool started;	 /* START and NEXT are known */
	uint32_t start;	 /* the client's ISN + 1 (the server's SYN/ACK) */
	uint32_t next;	 /* TCP sequence number after the last judged byte */
	int state;	 /* where NEXT is: line start, in the word, after it */
	char word[8];	 /* the command word so far (IN_WORD) */
	size_t wlen;
	bool refusing;	 /* the current word is being refused */
	uint8_t raw[FTP_WINDOW]; /* the last judged bytes as the client sent
				    them, ending at NEXT */
	uint8_t win[FTP_WINDOW]; /* the same bytes as passed (refused words
				    overwritten) */
	size_t nwin;
};

/* Starts S (nothing known, nothing judged: every segment with data is
 * dropped until ftp_stream_start()). */
void ftp_stream_init(struct ftp_stream *s);
/*
 * The server's SYN/ACK for S acknowledges ACK: the client's ISN + 1, where
 * the server's stream of the client's bytes starts (RFC 9293 §3.5). The
 * first one starts S there. Returns 0 when S starts at ACK (now or already:
 * a retransmitted SYN/ACK), -1 when S already starts elsewhere (a forged
 * or foreign SYN/ACK: the caller drops it, S unchanged).
 */
int ftp_stream_start(struct ftp_stream *s, uint32_t ack);
/*
 * Judges the segment of S at sequence number SEQ, payload BUF[0..LEN),
 * rewriting it in place, so that the bytes passed are the bytes the server
 * assembles, each judged once, in order (RFC 9293 §3.10.7.4; SEQ compared
 * in serial arithmetic, RFC 1982): bytes before NEXT must equal what the
 * client sent there before and are replaced by what was passed; bytes from
 * NEXT on are judged (refused command words overwritten with 'X'). Returns
 * the number of command words refused in this segment (0 for no data), or
 * -1 when the segment must be dropped, S unchanged: S not started, a gap
 * before SEQ, a start before the kept window (or before the stream's
 * start), or a byte before NEXT that differs from the one judged there.
 */
int ftp_stream_judge(struct ftp_stream *s, uint32_t seq, uint8_t *buf,
		     size_t len);

/* True when the FTP command word W[0..N) (any case) only reads: the
 * commands a read-only session may send. */
bool ftp_command_reads(const char *w, size_t n);
/* The TCP segment of the queued packet PKT[0..LEN) (from the client: a
 * remote party's bytes): *FAM (4 or 6), *TCP (its header, inside PKT),
 * *PAY and *PLEN (its payload, inside PKT and inside the IP length). False
 * when PKT is not a whole unfragmented IPv4 or IPv6 (no extension header)
 * packet carrying TCP with a whole header. Reads nothing past PKT[LEN). */
struct tcphdr;
bool ftp_read_tcp(uint8_t *pkt, size_t len, int *fam, struct tcphdr **tcp,
		  uint8_t **pay, size_t *plen);
/*
 * The session slots. A SYN/ACK of a new session takes a free slot, else
 * reclaims one: a closed session's first, then one that never got past
 * the handshake (no client byte judged: a SYN flood's "clients" hold
 * theirs so), then one idle its timeout (HANDSHAKE_S = 60 s with no byte
 * judged, the kernel's SYN_RECV timeout; IDLE_S = 900 s otherwise), idle
 * longest first; a session that judged bytes and is not idle is never
 * taken. One source (the client address cut to the prefix) holds at most
 * FTP_PER_SOURCE slots: past that its new session reclaims one of its own
 * (same order) or finds none. A SYN/ACK that finds no slot is dropped
 * (no_slot): that session stalls, fail closed.
 *
 * ftpfilter_new()/ftpfilter_free(): a filter without its queue (tests).
 * ftpfilter_judge(): the verdict on the queued packet PKT[0..LEN) at time
 * NOW, as the queue thread gives it: the command words refused (PKT
 * rewritten, checksum not), or -1 to drop it; counted in the stats. A
 * client SYN without data passes (its SYN/ACK starts the session); a SYN
 * with data (TCP Fast Open, whose bytes lie before the stream's start) is
 * dropped and counted in syn_data. Caller holds the lock, if started.
 * ftpfilter_set_prefix(): the source prefixes (decisions
 * { per-source-prefix-v4 / -v6 }; out of range: 32 / 64, the defaults),
 * any thread, any time.
 */
struct ftpfilter *ftpfilter_new(uint32_t own);
void ftpfilter_free(struct ftpfilter *f);
int ftpfilter_judge(struct ftpfilter *f, uint8_t *pkt, size_t len,
		    long long now);
void ftpfilter_set_prefix(struct ftpfilter *f, unsigned v4, unsigned v6);
/* The first packet PKT[0..LEN) of a session a read-only rule that
 * sluiced decides may allow (decide_env.ftp_first): false when it is a
 * TCP SYN that carries data (counted in syn_data and dropped), true
 * otherwise (also for F NULL: no filter, the session stalls anyway). Any
 * thread. */
bool ftpfilter_first(struct ftpfilter *f, const uint8_t *pkt, size_t len);
/* Opens queue QUEUE and starts its thread; OWN is the mask of sluice's mark
 * bits (cleared in the verdict). NULL (logged) when the queue cannot be
 * opened: the control sessions of read-only rules then stall (the kernel
 * drops what no one reads: fail closed). */
struct ftpfilter *ftpfilter_start(uint16_t queue, uint32_t own);
/* The counters so far (zeros for NULL). Any thread. */
void ftpfilter_stats(struct ftpfilter *f, struct ftpfilter_stats *out);
/* Stops the thread, closes the queue, frees everything. NULL allowed. */
void ftpfilter_stop(struct ftpfilter *f);

#endif
