/*
 * dnsbind.h — names from the clients' own DNS answers (`filter dns`):
 * the DNS filter's bookkeeping, without any I/O.
 *
 * Model
 *   The caller shows this module the DNS messages of sessions a `filter
 *   dns` rule allowed: every query a client sent (dnsbind_query) and every
 *   answer a server sent back (dnsbind_answer), each with its endpoints.
 *   An answer binds only when it can be trusted: it comes from one of the
 *   trusted servers (dnsbind_set_trusted: the resolvers the administrator
 *   vouches for; a client that asks a server of its own, which may say
 *   anything, binds nothing), it answers a query that client actually sent
 *   to that server (same addresses, ports, id and question, RFC 5452 §4),
 *   the query is still outstanding (one answer per query), and it is a
 *   well-formed response (RFC 1035 §4.1). Then every
 *   address the question's name resolves to (following CNAMEs, RFC 1034
 *   §3.6.2, at most DNSBIND_MAX_CHAIN links) is bound, for that client
 *   only, to the question's name and every alias on the way, until the
 *   record's TTL (capped by cfg.max_ttl_s) plus cfg.grace_s.
 *   dnsbind_names() answers "what was this client told that address is?".
 *
 *   Refused and counted, never bound: malformed messages (truncated,
 *   fewer records than the header counts, bytes after the last record —
 *   except in a TC answer —, compression pointers that do not point
 *   strictly backwards — which rules out loops —, names over 255 bytes or labels over 63, characters
 *   outside letters, digits, '-' and '_'), answers to no outstanding query,
 *   zone-transfer queries (AXFR, IXFR: the caller should drop them),
 *   truncated (TC) and error answers, and — with cfg.refuse_private — A and
 *   AAAA records pointing at loopback, private, link-local, CGNAT,
 *   unspecified or multicast ranges or at the gateway's own addresses
 *   (DNS rebinding).
 *
 *   Bounds never become a negative answer: when a client's table is full
 *   (queries or bindings) or an answer has more names than DNSBIND_MAX_NAMES
 *   for one address, the work stops and that client's names are reported
 *   partial until what was dropped would have expired.
 *
 * Time is passed in (milliseconds, any monotonic origin). Not thread-safe:
 * one owner. Addresses: FAMILY AF_INET (first 4 bytes of a 16-byte array,
 * network order) or AF_INET6.
 */
#ifndef SLUICE_DNSBIND_H
#define SLUICE_DNSBIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSBIND_MAX_CHAIN 8  /* CNAME links followed from the question */
#define DNSBIND_MAX_NAMES 8  /* names kept per (client, address) */
#define DNSBIND_NAME_MAX 254 /* a name's text, without the trailing dot */

struct dnsbind_cfg {
	uint32_t grace_s;	   /* a binding outlives its TTL by this */
	uint32_t max_ttl_s;	   /* TTLs above are cut to this (0: 86400) */
	uint32_t query_timeout_ms; /* an unanswered query is forgotten */
	uint32_t max_queries;	   /* outstanding queries per source */
	uint32_t max_bindings;	   /* (address) bindings per source */
	uint32_t max_queries_total;  /* outstanding queries in all (0: none) */
	uint32_t max_bindings_total; /* bindings in all (0: none) */
	/* a source: a client address cut to this prefix length (IPv4,
	 * IPv6; 0 or the full length: each address alone), so one host
	 * cannot multiply the caps with the addresses of its subnet */
	uint32_t prefix_v4, prefix_v6;
	bool refuse_private;	   /* refuse rebinding answers */
};

/* The endpoints of one DNS message, as sent: SRC → DST. */
struct dns_ends {
	int family;
	uint8_t src[16], dst[16];
	uint16_t sport, dport; /* host order */
};

enum dnsbind_res {
	DB_OK,		 /* query remembered / answer bound (maybe nothing) */
	DB_MALFORMED,	 /* not a well-formed DNS message of that kind */
	DB_XFR,		 /* a zone transfer query: drop it */
	DB_FULL,	 /* the client's query table is full: not remembered */
	DB_UNMATCHED,	 /* an answer to no outstanding query */
	DB_NOT_BOUND,	 /* matched, but binds nothing (TC, error rcode) */
	DB_UNTRUSTED,	 /* to or from a server not trusted: not remembered,
			  * binds nothing (the message passes) */
};

/* An inclusive range of addresses of FAMILY (bytes in network order; an
 * IPv4 address in the first 4 bytes, the rest 0). */
struct dnsbind_range {
	int family;
	uint8_t lo[16], hi[16];
};

struct dnsbind_stats {
	uint64_t queries, queries_malformed, queries_xfr, queries_full;
	uint64_t answers, answers_malformed, answers_unmatched,
	    answers_not_bound;
	uint64_t queries_untrusted, answers_untrusted; /* not trusted servers */
	uint64_t bound;		 /* (client, address, name) bindings made */
	uint64_t rebind_refused; /* addresses refused as rebinding */
	uint64_t bounded;	 /* work a bound stopped (partial) */
	uint64_t queries_pending, bindings; /* gauges */
};

struct dnsbind;

/* A table with the settings CFG (copied). Never fails (aborts on memory). */
struct dnsbind *dnsbind_new(const struct dnsbind_cfg *cfg);
void dnsbind_free(struct dnsbind *b); /* NULL allowed */
/* New settings (a reload): later queries, answers and bindings follow
 * CFG; what is bound stays until it expires. */
void dnsbind_configure(struct dnsbind *b, const struct dnsbind_cfg *cfg);

/* The gateway's own addresses (refused as answers with refuse_private):
 * N entries of FAMILIES[i] / ADDRS[i], copied; replaces the previous set. */
void dnsbind_set_local(struct dnsbind *b, const int *families,
		       const uint8_t (*addrs)[16], size_t n);

/* The servers whose answers may bind: N ranges V[0..N), copied; replaces
 * the previous list. None (the start): no answer binds. */
void dnsbind_set_trusted(struct dnsbind *b, const struct dnsbind_range *v,
			 size_t n);

/* The query MSG[0..LEN) that the client E->src sent to the server E->dst.
 * Returns DB_OK (remembered until answered or cfg.query_timeout_ms),
 * DB_MALFORMED, DB_XFR, DB_FULL, or DB_UNTRUSTED (well formed, to a server
 * not trusted: not remembered). */
enum dnsbind_res dnsbind_query(struct dnsbind *b, const struct dns_ends *e,
			       const uint8_t *msg, size_t len, uint64_t now_ms);

/* The answer MSG[0..LEN) that the server E->src sent to the client E->dst.
 * Returns DB_OK (bound), DB_MALFORMED, DB_UNTRUSTED (from a server not
 * trusted), DB_UNMATCHED or DB_NOT_BOUND. A matched query is consumed
 * whatever the answer says. */
enum dnsbind_res dnsbind_answer(struct dnsbind *b, const struct dns_ends *e,
				const uint8_t *msg, size_t len,
				uint64_t now_ms);

/*
 * The names CLIENT was told ADDR has (FAMILY for both), live at NOW_MS:
 * fills up to MAX pointers into NAMES (lower case, no trailing dot; valid
 * until the next call into B) and returns how many there are. *PARTIAL
 * (when not NULL) is set when a bound dropped some of this client's work,
 * so a name not among them is unknown rather than absent.
 */
size_t dnsbind_names(struct dnsbind *b, int family, const uint8_t client[16],
		     const uint8_t addr[16], uint64_t now_ms,
		     const char **names, size_t max, bool *partial);

/* Forgets expired queries and bindings (call about once a second). */
void dnsbind_expire(struct dnsbind *b, uint64_t now_ms);

void dnsbind_stats(const struct dnsbind *b, struct dnsbind_stats *out);

/*
 * The DNS message parser, exposed for tests and the fuzzer. Reads the name
 * at *OFF of MSG[0..LEN) into OUT (DNSBIND_NAME_MAX + 1 bytes: lower case,
 * dotted, no trailing dot; "" for the root) and moves *OFF past it.
 * Compression pointers must point strictly backwards. Returns 0, or -1
 * when the name is malformed or has a character outside [a-z0-9_-].
 */
int dnsbind_read_name(const uint8_t *msg, size_t len, size_t *off,
		      char *out);

#endif
