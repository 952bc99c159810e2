/*
 * counters_names.h — the names (and kinds) of sluice's counters, for the
 * policy checker: an `alert` may only name a counter of this list. The
 * policy library does not link the stats library, so this is a copy of the
 * names in src/stats/counters.c's table; tests/stats/test_counters.c fails
 * when the two lists disagree. Kinds: 'c' counter, 'g' gauge, 'h' histogram.
 */
#ifndef SLUICE_POLICY_COUNTERS_NAMES_H
#define SLUICE_POLICY_COUNTERS_NAMES_H

struct policy_counter_name {
	const char *name;
	char kind;
};

static const struct policy_counter_name policy_counter_names[] = {
    {"packets_queued", 'c'},
    {"packets_queued_kernel", 'c'},
    {"packets_backlogged", 'g'},
    {"packets_dropped_queue_full", 'c'},
    {"packets_dropped_user", 'c'},
    {"verdicts_allow", 'c'},
    {"verdicts_deny", 'c'},
    {"verdicts_reject", 'c'},
    {"verdicts_fail", 'c'},
    {"packets_misread", 'c'},
    {"verdict_send_retries", 'c'},
    {"verdicts_lost", 'c'},
    {"sessions_kernel_allowed", 'c'},
    {"sessions_kernel_denied", 'c'},
    {"packets_deny_memory", 'c'},
    {"packets_flood_tcp_rate", 'c'},
    {"packets_flood_tcp_concurrent", 'c'},
    {"packets_flood_udp_rate", 'c'},
    {"flood_sources_limited", 'g'},
    {"sessions_service_decided", 'c'},
    {"sessions_decided_at_once", 'c'},
    {"sessions_active", 'g'},
    {"ruleset_restored", 'c'},
    {"slots_total", 'g'},
    {"slots_available", 'g'},
    {"slots_local_available", 'g'},
    {"decisions_pending", 'g'},
    {"worker_threads", 'g'},
    {"decisions_timed_out", 'c'},
    {"lookups_dns", 'g'},
    {"lookups_ldap", 'g'},
    {"lookups_nss", 'g'},
    {"dns_cache_entries", 'g'},
    {"dns_cache_hits", 'c'},
    {"dns_cache_misses", 'c'},
    {"dns_cache_negative_hits", 'c'},
    {"dns_names_bounded", 'c'},
    {"identity_cache_hits", 'c'},
    {"identity_incomplete", 'c'},
    {"decision_latency_seconds", 'h'},
    {"fwlog_written", 'c'},
    {"fwlog_dropped", 'c'},
    {"connections_refused", 'c'},
    {"verifier_checks", 'c'},
    {"verifier_failures", 'c'},
    {"farm_members_up", 'g'},
    {"farm_members_down", 'g'},
    {"verifier_response_seconds", 'g'},
    {"process_resident_memory_bytes", 'g'},
    {"process_heap_bytes", 'g'},
    {"process_open_fds", 'g'},
    {"process_uptime_seconds", 'g'},
    {NULL, 0},
};

#endif
