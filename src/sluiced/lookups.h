/*
 * lookups.h — the lookup service on sluiced's main thread: the resolver
 * (c-ares), the directory (libldap) and the NSS pool. Queue workers hand it
 * questions (decide.h struct lookup_req) and get the answers back on their
 * own event loops; nothing here ever blocks a worker.
 */
#ifndef SLUICED_LOOKUPS_H
#define SLUICED_LOOKUPS_H

#include "decide/decide.h"

#include <stdbool.h>

struct event_base;
struct lookups;
struct resolver_stats;

/* Creates the service on BASE (the main loop) for policy P; the daemon's
 * own DNS and LDAP sockets carry SO_MARK SELF_MARK. NULL on failure. */
struct lookups *lookups_new(struct event_base *base, const struct policy *p,
			    uint32_t self_mark);
/* Applies a new policy: recreates the parts whose settings changed (the
 * resolver, the directory, the NSS pool of identity { nss-workers
 * nss-timeout cache-ttl }) and prefetches the exact names of its domain
 * sets. */
void lookups_configure(struct lookups *l, const struct policy *p);
/* Names a client learnt from its own DNS answers (`filter dns`) join the
 * destination's names; F may be NULL (none). */
struct dnsfilter;
void lookups_set_dnsfilter(struct lookups *l, struct dnsfilter *f);
/* decide_env.lookup: called on a worker thread. */
void lookups_submit(void *ctx, struct lookup_req *req);
/* decide_env.lookup_cached: called on a worker thread. Fills REQ's answer
 * (LK_UID, LK_GROUPS) from a live copy of the identity source's fresh
 * answer, without the main thread, and returns true; false when there is
 * none (then ask with lookups_submit). */
bool lookups_cached(void *ctx, struct lookup_req *req);
/* Stops answering (workers are gone) and frees everything, including
 * questions never answered. */
void lookups_free(struct lookups *l);

struct lookups_stats {
	uint64_t dns_lookups, dns_shared, dns_cache_hits, dns_cache_misses,
	    dns_negative_hits, dns_timeouts, dns_in_flight, dns_cache_entries,
	    prefetched_names, dns_bounded;
	uint64_t ldap_searches, ldap_shared, ldap_cache_hits, ldap_timeouts,
	    ldap_in_flight, ldap_incomplete;
	uint64_t nss_lookups, nss_cache_hits, nss_timeouts, nss_busy,
	    nss_incomplete;
};
void lookups_stats(struct lookups *l, struct lookups_stats *out);

#endif
