/*
 * resolver.h — asynchronous reverse names with forward confirmation, on
 * c-ares driven by a libevent event_base.
 *
 * Model
 *   resolver_reverse() asks "what are the names of this address?". The
 *   answer is a PTR lookup followed by an A (IPv4) or AAAA (IPv6) lookup of
 *   every PTR name; a name counts only when it resolves back to the address
 *   (forward confirmation), so a PTR record alone can never make an address
 *   match a `domains` rule. The answer is the SET of every confirmed name,
 *   sorted: it does not depend on the order of the DNS answers, and the
 *   lookup ends only when every forward query has answered. Requests for an
 *   address whose lookup is already in flight join it: one lookup on the
 *   wire, its result fanned out to every waiter.
 *
 *   Bounds never make a negative answer: when a bound stops the work
 *   (more than RESOLVER_MAX_PTR PTR names) or a forward query fails, the
 *   names confirmed so far come back marked partial, and with none
 *   confirmed the answer is RS_INCOMPLETE or the failure, never RS_NONAME.
 *   The addresses of a forward answer are all read, however many.
 *
 *   Results are cached (LRU, cfg->cache entries, 0 = no cache): names for
 *   min(PTR TTL, confirming A/AAAA TTLs) seconds (not when a forward query
 *   timed out); RS_NONAME, RS_SERVFAIL and RS_INCOMPLETE for
 *   cfg->negative_ttl_s seconds (0 = not cached); a timeout is never cached
 *   (the next request asks again).
 *
 *   Names resolved ahead of time (resolver_prefetch): the exact names of the
 *   policy's domain sets are resolved (A and AAAA) at once and refreshed by
 *   TTL, at least cfg->refresh_min_s apart; resolver_known_names() maps an
 *   address back to them without any I/O.
 *
 * Nothing here blocks: every socket c-ares opens is watched by an event on
 * the base, and one timer drives c-ares's retransmissions. Each query is
 * tried RESOLVER_TRIES times per server, the first try for cfg->timeout_ms
 * (default 2000); c-ares 1.18 doubles the wait after each round over the
 * servers, so with one dead server a query gives up after 3 x timeout_ms
 * (measured: 900 ms for 300 ms), and a reverse lookup (PTR, then A/AAAA)
 * can take up to twice that. The overall deadline of a decision is the
 * caller's business (resolver_cancel()).
 *
 * Threads: none. A resolver belongs to the thread running its event_base;
 * every call, and every callback, happens on that thread. Callbacks may call
 * resolver_reverse() and resolver_cancel() but never resolver_free().
 *
 * Addresses: FAMILY is AF_INET or AF_INET6; for AF_INET the address is the
 * first 4 bytes of ADDR (network order) and the other 12 are ignored.
 *
 * Servers: cfg->servers as "192.0.2.1", "2001:db8::1", "192.0.2.1:5353" or
 * "[2001:db8::1]:5353"; with none, /etc/resolv.conf. Every DNS socket
 * carries SO_MARK so_mark (when non-zero), which the kernel ruleset accepts
 * before any queue rule: the resolver's own traffic never waits for a
 * decision (the ISA re-injection deadlock, seeds/003).
 */
#ifndef SLUICE_RESOLVER_H
#define SLUICE_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct event_base;
struct resolver;
struct resolver_req;

#define RESOLVER_TRIES 2       /* c-ares tries per server */
#define RESOLVER_MAX_PTR 16    /* PTR names checked per address; beyond:
				* the answer is partial */
#define RESOLVER_MAX_TTL 86400 /* a positive answer is cached at most this */
#define RESOLVER_MAX_ADDRS 4096 /* addresses kept per prefetched name and
				 * family: more than a 64 KiB DNS message
				 * holds; beyond: lookups of any address are
				 * partial */

enum rstatus {
	RS_OK,	     /* a forward-confirmed name */
	RS_NONAME,   /* no PTR, or no PTR name resolves back to the address */
	RS_TIMEOUT,  /* a server did not answer in time (not cached) */
	RS_SERVFAIL, /* the servers failed or refused (or the answer was bad) */
	RS_CANCELED, /* the resolver was freed while the lookup ran */
	RS_INCOMPLETE, /* a bound stopped the work before any name was
			* confirmed: unknown, never "no name" */
};

/* A set of names: lower case, no trailing dot, sorted (strcmp), no
 * duplicates. PARTIAL: the set may lack names (a bound stopped the work or
 * a query failed), so "not among them" is unknown, not "no". */
struct rnames {
	const char *const *v;
	size_t n;
	bool partial;
};

/* A reverse lookup's answer. NAMES (RS_OK only, else NULL) holds the
 * forward-confirmed names (at least one), valid during the call only. */
typedef void (*name_cb)(void *arg, enum rstatus st,
			const struct rnames *names);

/*
 * Creates a resolver on BASE with the settings CFG (copied; CFG may be freed
 * afterwards). SO_MARK, when non-zero, is set on every DNS socket (needs
 * CAP_NET_ADMIN; a socket that cannot be marked is not used, and its
 * queries fail as RS_SERVFAIL). Returns NULL with errno set: EINVAL for a
 * server that is not an address[:port], ENOMEM, or EIO when c-ares cannot
 * be initialised.
 */
struct resolver *resolver_new(struct event_base *base,
			      const struct resolver_cfg *cfg, uint32_t so_mark);

/*
 * Frees R. Every waiting request's callback runs once with RS_CANCELED
 * before this returns; then every query is abandoned, every socket closed
 * and every event removed from the base. Not from within a callback.
 * NULL is allowed.
 */
void resolver_free(struct resolver *r);

/*
 * Asks the forward-confirmed name of ADDR. On a cache hit CB runs before
 * this returns (and *REQP, when REQP is not NULL, is set to NULL); otherwise
 * CB runs exactly once later, from the event loop, unless the request is
 * cancelled, and *REQP is set to the request's handle, valid until CB runs
 * or resolver_cancel(). Returns 0, or -1 with errno EAFNOSUPPORT (FAMILY
 * neither AF_INET nor AF_INET6), EINVAL (CB NULL) or ECANCELED (called from
 * a callback run by resolver_free()); then CB never runs.
 */
int resolver_reverse(struct resolver *r, int family, const uint8_t addr[16],
		     name_cb cb, void *arg, struct resolver_req **reqp);

/*
 * Withdraws the request REQ (a handle from resolver_reverse whose callback
 * has not run): its callback will not run. The shared lookup goes on for
 * the other waiters and still fills the cache. NULL is allowed.
 */
void resolver_cancel(struct resolver *r, struct resolver_req *req);

/*
 * Replaces the set of names resolved ahead of time by NAMES[0..N) (exact
 * names; case and a trailing dot do not matter; duplicates are merged).
 * Names already in the set keep their addresses and refresh schedule; new
 * ones are resolved (A and AAAA) now; names no longer in the set are
 * forgotten. Each name is refreshed at its records' TTL, but never more
 * often than every cfg->refresh_min_s; after a failure (timeout, servfail)
 * the last known addresses are kept and the name is asked again after
 * refresh_min_s; NXDOMAIN / no data empties it.
 */
void resolver_prefetch(struct resolver *r, const char *const *names,
		       size_t n);

/*
 * The prefetched names that currently resolve to ADDR. Fills up to MAX
 * pointers into NAMES (valid until the next call into the resolver or a
 * return to the event loop) and returns how many there are (may be more
 * than MAX; a name may repeat). *PARTIAL is set when some prefetched name
 * had more addresses than RESOLVER_MAX_ADDRS (so it might also resolve to
 * ADDR), else cleared. Never does I/O.
 */
size_t resolver_known_names(struct resolver *r, int family,
			    const uint8_t addr[16], const char **names,
			    size_t max, bool *partial);
/* *GEN (owned by the caller, outliving R; NULL: none) is incremented
 * atomically (release) every time what resolver_known_names answers may
 * change, so that a copy of an answer tagged with the value read before
 * it was made can be recognised as current from any thread. */
void resolver_watch_known(struct resolver *r, uint64_t *gen);

struct resolver_stats {
	uint64_t lookups;	 /* reverse lookups started (PTR on the wire) */
	uint64_t shared;	 /* requests that joined an in-flight lookup */
	uint64_t cache_hits;	 /* requests answered by a positive entry */
	uint64_t cache_misses;	 /* requests the cache could not answer */
	uint64_t negative_hits;	 /* requests answered by a negative entry */
	uint64_t timeouts;	 /* lookups that ended in RS_TIMEOUT */
	uint64_t servfails;	 /* lookups that ended in RS_SERVFAIL */
	uint64_t unconfirmed;	 /* PTR names that did not resolve back */
	uint64_t bounded;	 /* answers a bound cut (PTR names beyond
				  * RESOLVER_MAX_PTR, prefetched addresses
				  * beyond RESOLVER_MAX_ADDRS) */
	uint64_t queries;	 /* DNS queries sent (PTR, A, AAAA, prefetch) */
	uint64_t mark_failures;	 /* sockets SO_MARK could not be set on */
	uint64_t in_flight;	 /* reverse lookups running now */
	uint64_t waiters;	 /* requests waiting now */
	uint64_t cache_entries;	 /* entries in the cache now */
	uint64_t prefetched_names; /* names in the prefetch set */
	uint64_t prefetched_addrs; /* (name, address) pairs known now */
};

/* Copies R's counters into OUT. */
void resolver_stats(const struct resolver *r, struct resolver_stats *out);

/* One entry of resolver { servers } (ADDRESS, ADDRESS:PORT, [IPV6]:PORT;
 * validate.c has accepted it) into ADDR (numeric, no brackets; LEN bytes)
 * and *PORT (0: 53). */
void resolver_server_split(const char *s, char *addr, size_t len,
			   uint32_t *port);
/* The servers the gateway's resolver asks when resolver { servers } is
 * empty: c-ares's own reading of /etc/resolv.conf, as resolver_new gets
 * them. Returns "ADDRESS:PORT" / "[IPV6]:PORT" strings (the array and
 * each string the caller's to free), *N of them; NULL and 0 when none. */
char **resolver_default_servers(size_t *n);

/* Name of a status, for logs ("ok", "noname", ...). */
const char *rstatus_str(enum rstatus st);

#endif
