/*
 * counter_table.h — the one list of sluice's counters. Every output (the
 * stats_counters[] table of stats/counters.c: Prometheus, `sluicectl
 * counters`, JSON, the default alerts, docs/counters.md) and the policy
 * checker's list of names an `alert` may watch (policy/counters_names.h)
 * expand STATS_COUNTER_TABLE; nothing else names the counters. Header only
 * (enums and macros), so the policy library reads it without linking the
 * stats library.
 *
 * A row: X(NAME, TYPE, STORE, UNIT, SECTION, HELP, HEALTHY, SOURCE,
 * THRESHOLD...). NAME is also the field of struct stats_snapshot that holds
 * the value (stats/counters.h); THRESHOLD is the default alert's
 * struct stats_threshold initialiser, STATS_NOTHR for none. Adding a counter:
 * a row here, the field in struct stats_snapshot, the code that fills it
 * and its line in docs/counters.md (docs/hacking.md).
 *
 * Healthy ranges and thresholds follow the seeds (Backlogged Packets > 10
 * bad, Worker Threads > 100 bad, ReInject Available = 0 a hang, a leak seen
 * as memory growing for weeks) and anchors/tmg.md.
 */
#ifndef SLUICE_STATS_COUNTER_TABLE_H
#define SLUICE_STATS_COUNTER_TABLE_H

enum stats_type { STATS_COUNTER, STATS_GAUGE, STATS_HISTOGRAM };
enum stats_store { STORE_U64, STORE_F64, STORE_HIST };

/* A default alert threshold of a counter (the seeds'). */
enum stats_cmp { CMP_NONE, CMP_GT, CMP_LT, CMP_GROWS };

/* The sections of `sluicectl counters`. */
#define STATS_SEC_PE "packet engine"
#define STATS_SEC_SV "service"
#define STATS_SEC_VF "verifiers"
#define STATS_SEC_PR "process"

#define STATS_NOTHR CMP_NONE, 0, NULL, 0, NULL

#define STATS_COUNTER_TABLE(X) \
	X(packets_queued, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Packets sluiced read from its NFQUEUE queues (new sessions the " \
	  "kernel asked about)", \
	  "any", \
	  "queue workers", \
	  STATS_NOTHR) \
	X(packets_queued_kernel, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Packets the kernel put in sluice's queues (id_sequence)", \
	  "any", \
	  "/proc/net/netfilter/nfnetlink_queue", \
	  STATS_NOTHR) \
	X(packets_backlogged, STATS_GAUGE, STORE_U64, "packets", STATS_SEC_PE, \
	  "Packets waiting in the kernel queues for sluiced to read them " \
	  "(queue_total)", \
	  "0 (suspect > 10)", \
	  "/proc/net/netfilter/nfnetlink_queue", \
	  CMP_GT, 10, NULL, 0, "backlog") \
	X(packets_dropped_queue_full, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Packets the kernel dropped because a queue was full " \
	  "(queue_dropped; fail-open passes them instead)", \
	  "0; rising = overload", \
	  "/proc/net/netfilter/nfnetlink_queue", \
	  STATS_NOTHR) \
	X(packets_dropped_user, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Packets the kernel could not deliver to sluiced's netlink socket " \
	  "(user_dropped)", \
	  "0; rising = socket buffer too small", \
	  "/proc/net/netfilter/nfnetlink_queue", \
	  STATS_NOTHR) \
	X(verdicts_allow, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Verdicts that accepted a queued packet", \
	  "any", \
	  "queue workers", \
	  STATS_NOTHR) \
	X(verdicts_deny, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Verdicts that dropped a queued packet", \
	  "any", \
	  "queue workers", \
	  STATS_NOTHR) \
	X(verdicts_reject, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Of verdicts_deny, those the kernel answers with a reject (TCP " \
	  "reset, ICMP administratively prohibited): `reject` rules, and the " \
	  "implicit and deadline denials with decisions { deny-action reject }", \
	  "any", \
	  "queue workers", \
	  STATS_NOTHR) \
	X(verdicts_fail, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Fail verdicts: packets sluiced could not decide because of its own" \
	  " trouble (the watchdog, a stop; queue fail closed/open). What a " \
	  "client sends never counts here: unreadable packets, extra copies, " \
	  "per-source and slots-full refusals are `verdicts_deny`", \
	  "0", \
	  "queue workers", \
	  STATS_NOTHR) \
	X(packets_misread, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Queued packets sluiced could not read the way the kernel did " \
	  "(unreadable headers, or its reading stops at another rule than the" \
	  " one in the kernel's mark): denied", \
	  "0; rising = crafted packets, or a reload in flight", \
	  "queue workers", \
	  STATS_NOTHR) \
	X(verdict_send_retries, STATS_COUNTER, STORE_U64, "sends", STATS_SEC_PE, \
	  "Verdict messages whose send to the kernel failed and was retried " \
	  "(the verdicts are kept until sent)", \
	  "0", \
	  "queue workers", \
	  STATS_NOTHR) \
	X(verdicts_lost, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Verdicts given up after sends kept failing (more than 16384 " \
	  "waiting): their packets stay in the kernel queue", \
	  "0", \
	  "queue workers", \
	  STATS_NOTHR) \
	X(sessions_kernel_allowed, STATS_COUNTER, STORE_U64, "sessions", STATS_SEC_PE, \
	  "New sessions the kernel allowed by a header-only rule (rule " \
	  "counters)", \
	  "any", \
	  "nft rule counters (inet sluice)", \
	  STATS_NOTHR) \
	X(sessions_kernel_denied, STATS_COUNTER, STORE_U64, "sessions", STATS_SEC_PE, \
	  "New sessions the kernel denied by a header-only rule (rule " \
	  "counters)", \
	  "any", \
	  "nft rule counters (inet sluice)", \
	  STATS_NOTHR) \
	X(packets_deny_memory, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Retransmitted SYNs and repeated first datagrams of sessions sluiced " \
	  "denied or rejected, dropped (or rejected) by the kernel from its " \
	  "deny memory (decisions { deny-memory }) instead of being queued " \
	  "again", \
	  "any; high = clients retrying denied sessions", \
	  "nft rule counters (inet sluice, deny memory)", \
	  STATS_NOTHR) \
	X(packets_flood_tcp_rate, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "New TCP sessions (SYNs) the kernel dropped because their source " \
	  "was over flood { tcp-connect-rate }", \
	  "0; rising = a source floods SYNs", \
	  "nft named counter flood_tcp_rate", \
	  STATS_NOTHR) \
	X(packets_flood_tcp_concurrent, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "New TCP sessions the kernel dropped because their source held " \
	  "flood { tcp-concurrent } sessions", \
	  "0", \
	  "nft named counter flood_tcp_concurrent", \
	  STATS_NOTHR) \
	X(packets_flood_udp_rate, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "New non-TCP sessions the kernel dropped because their source was " \
	  "over flood { udp-rate }", \
	  "0", \
	  "nft named counter flood_udp_rate", \
	  STATS_NOTHR) \
	X(packets_flood_tcp_half_open, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "New TCP sessions the kernel dropped because their source held more " \
	  "than flood { tcp-half-open } unanswered sessions", \
	  "0; rising = a source opens sessions nobody answers (SYN flood, scan)", \
	  "nft named counter flood_tcp_half_open", \
	  STATS_NOTHR) \
	X(flood_half_open_sources, STATS_GAUGE, STORE_U64, "sources", STATS_SEC_PE, \
	  "Sources (IPv4 addresses, IPv6 prefixes) over flood { tcp-half-open } " \
	  "now: sluiced counts the unanswered TCP sessions in conntrack (each " \
	  "pass, flood_half_open_passes) and keeps these in the kernel set " \
	  "flood_half_open4/6", \
	  "0", \
	  "sluiced (conntrack dump), nft set flood_half_open4/6", \
	  STATS_NOTHR) \
	X(flood_half_open_untracked, STATS_COUNTER, STORE_U64, "sessions", STATS_SEC_PE, \
	  "Unanswered TCP sessions the tcp-half-open count skipped because its " \
	  "memory cap (262144 sessions a pass) was reached; summed over passes", \
	  "0; rising = more half-open sessions than the cap: the limit sees part", \
	  "sluiced (conntrack dump)", \
	  STATS_NOTHR) \
	X(flood_half_open_passes, STATS_COUNTER, STORE_U64, "passes", STATS_SEC_PE, \
	  "Passes of the tcp-half-open count (a read of conntrack's unanswered " \
	  "sessions): one a second, fewer when passes are costly: the next " \
	  "waits 200 times a pass's CPU time, at most 5 s (sluice.conf(5), flood)", \
	  "rising by 0.2 to 1 a second while tcp-half-open is on", \
	  "sluiced (conntrack dump)", \
	  STATS_NOTHR) \
	X(flood_half_open_pass_cpu_seconds, STATS_GAUGE, STORE_F64, "seconds", STATS_SEC_PE, \
	  "CPU time the last tcp-half-open pass took (sluiced and the kernel's " \
	  "walk of the conntrack table it asked for); grows with the table", \
	  "any; passes are spaced to keep them under 0.5 % of a core up to 25 ms a pass", \
	  "sluiced (conntrack dump)", \
	  STATS_NOTHR) \
	X(flood_sources_limited, STATS_GAUGE, STORE_U64, "sources", STATS_SEC_PE, \
	  "Sources (IPv4 addresses, IPv6 prefixes) a flood limit refused in " \
	  "the last 30 s (`sluicectl floods`)", \
	  "0", \
	  "nft set flood_limited4/6", \
	  CMP_GT, 0, NULL, 0, "flood-source-limited") \
	X(packets_spoofed, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Packets the kernel dropped as spoofed: a source address that does " \
	  "not belong on the interface it arrived on (networks bound to " \
	  "interfaces, `network NAME { ... } on IFNAME`, and the reverse-path " \
	  "check, `spoofing { reverse-path }`)", \
	  "0; rising = a misconfigured host, a wrong binding, or an attack", \
	  "nft rule counter (inet sluice, chain spoofed)", \
	  STATS_NOTHR) \
	X(packets_mark_rewritten, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_PE, \
	  "Packets of new sessions the kernel dropped after the decision " \
	  "stage because their packet mark no longer carried sluice's " \
	  "decision: another program's rule (an nft table of its own, " \
	  "iptables MARK) rewrote the mark between sluice's chains and its " \
	  "queue, or after sluiced's verdict", \
	  "0; any = another program writes the packet mark (set " \
	  "`queue { mark-shift }` past its bits, docs/coexistence.md)", \
	  "nft rule counter (inet sluice, chains forward_post, input_post, " \
	  "output_post)", \
	  CMP_GT, 0, NULL, 0, "mark-rewritten") \
	X(sessions_service_decided, STATS_COUNTER, STORE_U64, "sessions", STATS_SEC_PE, \
	  "New sessions sluiced decided (allow or deny)", \
	  "any", \
	  "decision engine", \
	  STATS_NOTHR) \
	X(sessions_decided_at_once, STATS_COUNTER, STORE_U64, "sessions", STATS_SEC_PE, \
	  "Of those, decided on arrival with every fact at hand (header " \
	  "facts, or the identity from the address table): no pending " \
	  "decision, no lookup", \
	  "most of sessions_service_decided", \
	  "decision engine", \
	  STATS_NOTHR) \
	X(sessions_active, STATS_GAUGE, STORE_U64, "sessions", STATS_SEC_PE, \
	  "Sessions the kernel tracks with a sluice decision", \
	  "<= 30,000 filtering, <= 100,000 routing (TMG)", \
	  "conntrack", \
	  STATS_NOTHR) \
	X(ruleset_restored, STATS_COUNTER, STORE_U64, "events", STATS_SEC_PE, \
	  "Times sluiced found its kernel ruleset (nft table, xt SLUICE chain" \
	  " or its jumps) removed or buried by another program and put it " \
	  "back (once per incident, however many tries)", \
	  "0; any = another firewall manager flushed or reordered the ruleset" \
	  " (docs/coexistence.md)", \
	  "ruleset watch (nftables netlink events)", \
	  CMP_GT, 0, NULL, 0, "ruleset-restored") \
	X(slots_total, STATS_GAUGE, STORE_U64, "slots", STATS_SEC_SV, \
	  "Decision slots: sessions decided in user space at once", \
	  "decisions { slots }", \
	  "policy", \
	  STATS_NOTHR) \
	X(slots_available, STATS_GAUGE, STORE_U64, "slots", STATS_SEC_SV, \
	  "Free decision slots (ISA/TMG: ReInject Available IRPs)", \
	  "> 0; 0 = new sessions that need the service are refused", \
	  "decision engine", \
	  CMP_LT, 1, NULL, 0, "slots-exhausted") \
	X(slots_local_available, STATS_GAUGE, STORE_U64, "slots", STATS_SEC_SV, \
	  "Free slots of the share reserved for the gateway's own traffic", \
	  "> 0; 0 = the gateway's own lookups may stall", \
	  "decision engine", \
	  CMP_LT, 1, NULL, 0, "local-slots-exhausted") \
	X(decisions_pending, STATS_GAUGE, STORE_U64, "decisions", STATS_SEC_SV, \
	  "Decisions waiting on lookups", \
	  "well below slots_total", \
	  "decision engine", \
	  STATS_NOTHR) \
	X(worker_threads, STATS_GAUGE, STORE_U64, "threads", STATS_SEC_SV, \
	  "Threads of sluiced (queue workers, NSS pool, writers)", \
	  "queues + nss-workers + a few (suspect > 100)", \
	  "daemon", \
	  CMP_GT, 100, NULL, 0, "worker-threads") \
	X(decisions_timed_out, STATS_COUNTER, STORE_U64, "decisions", STATS_SEC_SV, \
	  "Decisions that reached their deadline", \
	  "0; rising = a lookup server is slow or down", \
	  "decision engine", \
	  STATS_NOTHR) \
	X(lookups_dns, STATS_GAUGE, STORE_U64, "lookups", STATS_SEC_SV, \
	  "DNS lookups in flight", \
	  "< 50% of slots_total (TMG refuses beyond a share)", \
	  "resolver", \
	  CMP_GT, 50, "slots_total", 0, "dns-pending") \
	X(lookups_ldap, STATS_GAUGE, STORE_U64, "lookups", STATS_SEC_SV, \
	  "Directory (LDAP) searches in flight", \
	  "small", \
	  "directory", \
	  STATS_NOTHR) \
	X(lookups_nss, STATS_GAUGE, STORE_U64, "lookups", STATS_SEC_SV, \
	  "NSS lookups in flight (user, groups)", \
	  "<= identity { nss-workers }", \
	  "identity", \
	  STATS_NOTHR) \
	X(dns_cache_entries, STATS_GAUGE, STORE_U64, "entries", STATS_SEC_SV, \
	  "Names in the DNS cache", \
	  "<= resolver { cache }", \
	  "resolver", \
	  STATS_NOTHR) \
	X(dns_cache_hits, STATS_COUNTER, STORE_U64, "lookups", STATS_SEC_SV, \
	  "DNS cache hits", \
	  "most lookups", \
	  "resolver", \
	  STATS_NOTHR) \
	X(dns_cache_misses, STATS_COUNTER, STORE_U64, "lookups", STATS_SEC_SV, \
	  "DNS cache misses (a query was sent)", \
	  "any", \
	  "resolver", \
	  STATS_NOTHR) \
	X(dns_cache_negative_hits, STATS_COUNTER, STORE_U64, "lookups", STATS_SEC_SV, \
	  "DNS cache hits on a remembered failure", \
	  "any", \
	  "resolver", \
	  STATS_NOTHR) \
	X(dns_names_bounded, STATS_COUNTER, STORE_U64, "lookups", STATS_SEC_SV, \
	  "Name lookups a bound cut short (the names are partial: unknown, " \
	  "never absent)", \
	  "0; rising = destinations with very many PTR names", \
	  "resolver", \
	  STATS_NOTHR) \
	X(dns_filter_queries, STATS_COUNTER, STORE_U64, "messages", STATS_SEC_SV, \
	  "DNS queries of `filter dns` sessions read (remembered until " \
	  "answered)", \
	  "any", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(dns_filter_answers_bound, STATS_COUNTER, STORE_U64, "messages", STATS_SEC_SV, \
	  "DNS answers that matched a query the client sent and were bound " \
	  "before release", \
	  "most answers", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(dns_filter_answers_unmatched, STATS_COUNTER, STORE_U64, "messages", STATS_SEC_SV, \
	  "DNS answers to no outstanding query of that client (released, " \
	  "nothing bound)", \
	  "0; rising = forged or late answers", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(dns_filter_answers_untrusted, STATS_COUNTER, STORE_U64, "messages", STATS_SEC_SV, \
	  "DNS answers from a server that is not trusted (resolver { " \
	  "dns-trusted }, else the resolver's servers): a client asking a " \
	  "server of its own (released, nothing bound)", \
	  "0; rising = clients use DNS servers of their own", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(dns_filter_dropped, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_SV, \
	  "DNS messages the filter dropped: malformed, zone-transfer queries, " \
	  "not DNS", \
	  "0", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(dns_filter_rebinding_refused, STATS_COUNTER, STORE_U64, "addresses", STATS_SEC_SV, \
	  "Addresses in answers refused as DNS rebinding (resolver { " \
	  "dns-rebinding refuse })", \
	  "0", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(dns_filter_bindings, STATS_GAUGE, STORE_U64, "entries", STATS_SEC_SV, \
	  "(client, address) bindings held", \
	  "any", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(dns_filter_bounded, STATS_COUNTER, STORE_U64, "events", STATS_SEC_SV, \
	  "Queries not remembered and answers' addresses or names not bound " \
	  "because a source (decisions per-source-prefix) or the filter in " \
	  "all held the most it keeps: that client's names are partial " \
	  "(unknown, never absent) until the work left out would have expired", \
	  "0; rising = a source floods queries or is told very many addresses", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(dns_filter_tcp_reassembled, STATS_COUNTER, STORE_U64, "messages", STATS_SEC_SV, \
	  "DNS messages over TCP put together from more than one segment " \
	  "before they were read", \
	  "any", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(dns_filter_tcp_refused, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_SV, \
	  "DNS-over-TCP segments dropped unread: after a gap in the sequence " \
	  "(sent again by the sender) or past the reassembly memory caps", \
	  "0; rising = loss before the gateway or a memory flood", \
	  "dns filter", \
	  STATS_NOTHR) \
	X(ftp_filter_segments, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_SV, \
	  "Packets of `filter ftp read-only` control sessions read: the " \
	  "client's, and the server's SYN/ACK", \
	  "any", \
	  "ftp filter", \
	  STATS_NOTHR) \
	X(ftp_filter_refused, STATS_COUNTER, STORE_U64, "commands", STATS_SEC_SV, \
	  "FTP commands refused in read-only sessions (uploads, deletes, " \
	  "renames, SITE, AUTH, unknown): the server answered 500", \
	  "0; rising = clients trying to write", \
	  "ftp filter", \
	  STATS_NOTHR) \
	X(ftp_filter_dropped, STATS_COUNTER, STORE_U64, "packets", STATS_SEC_SV, \
	  "Packets of read-only control sessions dropped unjudged: " \
	  "unreadable, or not the bytes the server assembles (after a gap, " \
	  "before the stream's start or the kept 4 KiB, an overlap whose " \
	  "bytes differ from those judged, data on a SYN/ACK or RST, a " \
	  "SYN/ACK that moves a known start), a client's SYN that carries " \
	  "data (TCP Fast Open: the client resends the data after a plain " \
	  "handshake), or of a session whose SYN/ACK was not seen (sluiced " \
	  "restarted) or found no slot (1024 in all, 64 per source; a " \
	  "handshake-only slot is reclaimed first)", \
	  "0; rising = segments lost and resent out of order, or a client " \
	  "slipping bytes past the filter", \
	  "ftp filter", \
	  STATS_NOTHR) \
	X(identity_cache_hits, STATS_COUNTER, STORE_U64, "lookups", STATS_SEC_SV, \
	  "User and group lookups answered from the cache", \
	  "most lookups", \
	  "identity", \
	  STATS_NOTHR) \
	X(lookups_answered_on_worker, STATS_COUNTER, STORE_U64, "lookups", \
	  STATS_SEC_SV, \
	  "Identity and name questions a queue worker answered itself from " \
	  "a copy of a cached answer (uid, a user's groups, the names " \
	  "resolved ahead): no round trip through the main thread", \
	  "most identity and name lookups once the caches are warm", \
	  "decision engine", \
	  STATS_NOTHR) \
	X(identity_incomplete, STATS_COUNTER, STORE_U64, "lookups", STATS_SEC_SV, \
	  "Group lists that came back incomplete (the directory's size or " \
	  "administrative limit, a referral not followed, more groups than " \
	  "kept, NSS failing to name a group): the groups were treated as " \
	  "unknown", \
	  "0", \
	  "identity", \
	  STATS_NOTHR) \
	X(identity_ignored_on_lookup, STATS_COUNTER, STORE_U64, "sessions", \
	  STATS_SEC_SV, \
	  "Sessions whose user the directory named as an account of " \
	  "identity { ignore-users } though the login's spelling was not " \
	  "listed (a spelling only the directory folds to it): decided " \
	  "with no user", \
	  "0; rising = a service account's password used under another " \
	  "spelling", \
	  "identity", \
	  STATS_NOTHR) \
	X(decision_latency_seconds, STATS_HISTOGRAM, STORE_HIST, "seconds", STATS_SEC_SV, \
	  "Time from a packet's arrival in sluiced to its verdict (given, before the kernel forwards the packet in the verdict's send)", \
	  "p99 well below decisions { deadline }", \
	  "decision engine", \
	  STATS_NOTHR) \
	X(fwlog_written, STATS_COUNTER, STORE_U64, "records", STATS_SEC_SV, \
	  "Firewall log records written", \
	  "any", \
	  "firewall log", \
	  STATS_NOTHR) \
	X(fwlog_dropped, STATS_COUNTER, STORE_U64, "records", STATS_SEC_SV, \
	  "Firewall log records dropped because the buffer was full", \
	  "0; rising = the log disk is slow (log { buffer })", \
	  "firewall log", \
	  STATS_NOTHR) \
	X(fwlog_kernel_decided, STATS_COUNTER, STORE_U64, "records", STATS_SEC_SV, \
	  "Sessions that `log` rules decided in the kernel alone, read from " \
	  "NFLOG for the firewall log", \
	  "any", \
	  "firewall log (NFLOG)", \
	  STATS_NOTHR) \
	X(fwlog_session_ends, STATS_COUNTER, STORE_U64, "records", STATS_SEC_SV, \
	  "Ends of sessions sluice decided, read from conntrack events for " \
	  "the firewall log", \
	  "any", \
	  "firewall log (conntrack)", \
	  STATS_NOTHR) \
	X(fwlog_kernel_lost, STATS_COUNTER, STORE_U64, "events", STATS_SEC_SV, \
	  "Times the kernel could not hand sluiced NFLOG records or " \
	  "conntrack events (its socket full: ENOBUFS, each one or more " \
	  "records lost), and NFLOG records that did not read", \
	  "0; rising = more sessions end or are logged than sluiced reads", \
	  "firewall log (NFLOG, conntrack)", \
	  STATS_NOTHR) \
	X(connections_refused, STATS_COUNTER, STORE_U64, "connections", STATS_SEC_SV, \
	  "Connections the metrics endpoint, the identity push API and the " \
	  "control socket refused: " \
	  "over max-connections / max-clients or a client's share of them " \
	  "(a quarter: one address, one IPv6 /64, or one local uid), past the descriptor " \
	  "reserve, " \
	  "accept errors, callers without access", \
	  "0; rising = a client floods a listener, or one lacks access", \
	  "listeners", \
	  STATS_NOTHR) \
	X(portal_signed_in, STATS_GAUGE, STORE_U64, "users", STATS_SEC_SV, \
	  "Users signed in at the login portal now (sluice-portal's " \
	  "sessions; 0 when it has not reported for 10 s)", \
	  "any", \
	  "sluice-portal (control: portal-report, every 2 s)", \
	  STATS_NOTHR) \
	X(portal_signins, STATS_COUNTER, STORE_U64, "sign-ins", STATS_SEC_SV, \
	  "Sign-ins at the login portal the directory accepted and sluiced " \
	  "recorded", \
	  "any", \
	  "sluice-portal (control: portal-report, every 2 s)", \
	  STATS_NOTHR) \
	X(portal_refused, STATS_COUNTER, STORE_U64, "sign-ins", STATS_SEC_SV, \
	  "Sign-ins at the login portal the directory refused (wrong user or " \
	  "password), and forms without a user name and password", \
	  "low; rising fast = password guessing (portal_throttled)", \
	  "sluice-portal (control: portal-report, every 2 s)", \
	  STATS_NOTHR) \
	X(portal_throttled, STATS_COUNTER, STORE_U64, "sign-ins", STATS_SEC_SV, \
	  "Sign-ins the login portal refused without asking the directory: " \
	  "their address, their source prefix (decisions " \
	  "per-source-prefix-v4/v6) or the user name failed too often " \
	  "lately (sluice-portal(8), BAD INPUT)", \
	  "0; rising = a client or a subnet guesses passwords, or many " \
	  "guess at one account", \
	  "sluice-portal (control: portal-report, every 2 s)", \
	  STATS_NOTHR) \
	X(portal_directory_unavailable, STATS_COUNTER, STORE_U64, "sign-ins", \
	  STATS_SEC_SV, \
	  "Sign-ins at the login portal that failed because the directory " \
	  "did not answer", \
	  "0; rising = the directory is down or unreachable from the portal", \
	  "sluice-portal (control: portal-report, every 2 s)", \
	  STATS_NOTHR) \
	X(portal_push_failed, STATS_COUNTER, STORE_U64, "requests", STATS_SEC_SV, \
	  "Sign-ins and sign-outs of the login portal sluiced's control socket " \
	  "did not take (the user saw an error)", \
	  "0", \
	  "sluice-portal (control: portal-report, every 2 s)", \
	  STATS_NOTHR) \
	X(portal_busy, STATS_COUNTER, STORE_U64, "sign-ins", STATS_SEC_SV, \
	  "Sign-ins the login portal turned away: too many were being " \
	  "checked with the directory at once, or it held the most addresses " \
	  "it keeps signed in (65536)", \
	  "0; rising = sign-ins arrive faster than the directory answers", \
	  "sluice-portal (control: portal-report, every 2 s)", \
	  STATS_NOTHR) \
	X(verifier_checks, STATS_COUNTER, STORE_U64, "checks", STATS_SEC_VF, \
	  "Connectivity checks run", \
	  "any", \
	  "verifiers", \
	  STATS_NOTHR) \
	X(verifier_failures, STATS_COUNTER, STORE_U64, "checks", STATS_SEC_VF, \
	  "Connectivity checks that failed", \
	  "0", \
	  "verifiers", \
	  STATS_NOTHR) \
	X(farm_members_up, STATS_GAUGE, STORE_U64, "servers", STATS_SEC_VF, \
	  "Farm members up", \
	  "every member", \
	  "verifiers", \
	  STATS_NOTHR) \
	X(farm_members_down, STATS_GAUGE, STORE_U64, "servers", STATS_SEC_VF, \
	  "Farm members down", \
	  "0", \
	  "verifiers", \
	  CMP_GT, 0, NULL, 0, "member-down") \
	X(verifiers_down, STATS_GAUGE, STORE_U64, "verifiers", STATS_SEC_VF, \
	  "Standalone verifiers down (not farm members: e.g. the checks " \
	  "of the gateway's own DNS resolvers)", \
	  "0", \
	  "verifiers", \
	  CMP_GT, 0, NULL, 0, "verifier-down") \
	X(verifier_response_seconds, STATS_GAUGE, STORE_F64, "seconds", STATS_SEC_VF, \
	  "Mean response time of the last checks", \
	  "below each verifier's warn", \
	  "verifiers", \
	  STATS_NOTHR) \
	X(process_resident_memory_bytes, STATS_GAUGE, STORE_U64, "bytes", STATS_SEC_PR, \
	  "Resident memory of sluiced", \
	  "flat after warm-up; steady growth = a leak", \
	  "/proc/self/statm", \
	  CMP_GROWS, 0, NULL, 2 * 3600 * 1000, "memory-growth") \
	X(process_heap_bytes, STATS_GAUGE, STORE_U64, "bytes", STATS_SEC_PR, \
	  "Heap in use (malloc)", \
	  "flat after warm-up", \
	  "mallinfo2()", \
	  STATS_NOTHR) \
	X(process_open_fds, STATS_GAUGE, STORE_U64, "fds", STATS_SEC_PR, \
	  "Open file descriptors", \
	  "flat; growth = a descriptor leak", \
	  "/proc/self/fd", \
	  STATS_NOTHR) \
	X(process_uptime_seconds, STATS_GAUGE, STORE_F64, "seconds", STATS_SEC_PR, \
	  "Time since sluiced started", \
	  "any", \
	  "/proc/self/stat", \
	  STATS_NOTHR)

/* STATS_CTR_<name>: a counter's row index; STATS_NCOUNTERS: how many. */
#define STATS_COUNTER_ID(n, ...) STATS_CTR_##n,
enum stats_counter_id { STATS_COUNTER_TABLE(STATS_COUNTER_ID) STATS_NCOUNTERS };
#undef STATS_COUNTER_ID

#endif
