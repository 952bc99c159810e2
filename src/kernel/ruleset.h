/*
 * ruleset.h — the kernel part of sluice: policy → nftables (+ xtables
 * NFQUEUE) compiler, installer, probes and creation elements.
 *
 * The generated ruleset is described in docs/kernel.md and tested by
 * tests/lab/mark_recipe.sh (the hand-written recipe), tests/golden/ (the
 * compiler's output) and tests/kernel/01_ruleset_install.sh (install,
 * re-install, rejected re-install, remove).
 *
 * Mark layout (packet mark and conntrack mark; defined in common/mark.h),
 * for mark_shift S (16 by default; S is general, 0..16): sluice owns bits
 * [S, S+16) and preserves
 * every other bit in every rule.
 *   bits S+15..S+14  decision: 0 none, 1 ALLOW, 2 DENY, 3 QUEUE (packet mark
 *                    only: "ask sluiced")
 *   bits S+13..S     rule id: rule index + 1, saturating at RS_ID_LAST
 *                    (16382): rules 16382 and later all carry 16382 and
 *                    sluiced re-evaluates to name the exact rule. Reserved:
 *                    0 = sluiced's own traffic (SO_MARK), RS_ID_CREATION =
 *                    allowed by a creation element, RS_ID_PUBLISHED =
 *                    a session to a published server (DNAT to a farm),
 *                    RS_ID_FAILOPEN = allowed because the queue had no
 *                    listener (fail-open).
 *
 * Error convention: generators return allocated text (never NULL except
 * where noted); installers return 0, or -1 with an allocated message in *err.
 */
#ifndef SLUICE_KERNEL_RULESET_H
#define SLUICE_KERNEL_RULESET_H

#include <stdbool.h>
#include <stdint.h>

#include "common/mark.h"
#include "policy/policy.h"

/* The layout's values (one definition: common/mark.h). */
#define RS_DEC_NONE MARK_DEC_NONE
#define RS_DEC_ALLOW MARK_DEC_ALLOW
#define RS_DEC_DENY MARK_DEC_DENY
#define RS_DEC_QUEUE MARK_DEC_QUEUE

#define RS_ID_SELF MARK_ID_SELF
#define RS_ID_LAST MARK_ID_LAST
#define RS_ID_CREATION MARK_ID_CREATION
#define RS_ID_FAILOPEN MARK_ID_FAILOPEN
#define RS_ID_PUBLISHED MARK_ID_PUBLISHED
#define RS_ID_DNS MARK_ID_DNS
#define RS_ID_REJECT MARK_ID_REJECT
#define RS_ID_FTP MARK_ID_FTP

struct ruleset_opts {
	const char *table;		 /* "sluice" (tests may use another) */
	uint32_t queue_num, queue_count; /* NFQUEUE queues N..N+count-1 */
	bool fail_open;	    /* queue bypassed: accept+mark instead of drop */
	uint32_t udp_timeout_s; /* ct timeout of UDP sessions (ICMP: the
				 * daemon sets the sysctls, ct_icmp_timeout_put) */
	uint32_t mark_shift;	/* sluice owns mark bits [shift, shift+16) */
	uint32_t self_mark;	/* SO_MARK of sluiced's sockets (full value) */
	bool nft_queue;		/* the kernel has nft `queue`: no xt part */
	/*
	 * Adoption (sluiced's start, sluiced(8) START-UP): a TCP packet that
	 * opens a conntrack entry mid-stream (a session older than the
	 * ruleset, picked up by conntrack) is judged by the policy as a new
	 * session would be — chains adopt_<hook>: decide_new, then the
	 * hook's rules — instead of being dropped as "NEW but not a SYN".
	 * ruleset_adopt_close() empties those chains when the window ends.
	 */
	bool adopt;
	/*
	 * Schedules. Policy times are gateway local time; the kernel compares
	 * `meta hour` against UTC and `meta day` against UTC shifted by the
	 * kernel's sys_tz. The generator converts with these offsets (minutes
	 * east of UTC), so the output does not depend on the TZ of the process
	 * that loads it. ruleset_opts_init() fills them from the clock now; the
	 * daemon must regenerate when the local offset changes (DST).
	 */
	int32_t utc_offset_min; /* local time = UTC + this */
	int32_t kday_offset_min; /* kernel sys_tz, minutes east (usually 0) */
	/*
	 * Farm membership for the publish chains (see "Published servers"
	 * below). NULL = every member is in the map (the state before any
	 * verifier has answered). Otherwise: true when member I of farm F is
	 * in the map (verifier not down, not drained). Called while the
	 * ruleset is generated, so a reload keeps the members that are down
	 * out of the map from the first packet on.
	 */
	bool (*member_up)(void *ctx, const struct farm *f, size_t i);
	void *member_ctx;
	/*
	 * Fast denials (decisions { deny-action deny-memory reject-rate }):
	 * DENY_MEMORY_S > 0 keeps the 5-tuple of a TCP/UDP session sluiced
	 * denied (rejected) in the set denied4/6 (rejected4/6) that long, so
	 * its retransmits are dropped (rejected) by decide_new, never queued
	 * again; DENY_REJECT makes the implicit final deny a reject; rejects
	 * (chain reject_send) are limited to REJECT_RATE per second.
	 */
	uint32_t deny_memory_s;
	bool deny_reject;
	uint32_t reject_rate;
	/*
	 * Flood mitigation (flood { }): per-source limits in chains
	 * `flood_tcp4`/`flood_tcp6` (TCP) and `flood4`/`flood6` (udp-rate),
	 * jumped to first by decide_new's map on protocol and family (before
	 * anything is queued); NULL = none. Sources
	 * the limits refused are kept in flood_limited4/6
	 * (FLOOD_LIMITED_TIMEOUT_S after the last refusal, with a counter);
	 * named counters flood_tcp_rate, flood_tcp_concurrent, flood_udp_rate,
	 * flood_tcp_half_open. tcp-half-open is enforced with sluiced's help:
	 * it fills flood_half_open4/6 (at most FLOOD_HALF_OPEN_SIZE sources,
	 * each FLOOD_HALF_OPEN_TIMEOUT_S unless refreshed; IPv6 keys cut to the
	 * flood prefix) and the chain drops those sources' new TCP sessions.
	 */
	const struct flood_cfg *flood;
	/*
	 * The `log` clause of rules the kernel decides alone: their sessions'
	 * first packets go to NFLOG group NFLOG_GROUP with the prefix
	 * RS_KLOG_PREFIX "ACTION ID" (ACTION allow|deny|reject, ID the rule
	 * id), at most KLOG_RATE a second for the gateway (burst twice that).
	 */
	uint32_t nflog_group;
	uint32_t klog_rate;
};
#define FLOOD_LIMITED_TIMEOUT_S 30
#define FLOOD_HALF_OPEN_SIZE 65536
#define FLOOD_HALF_OPEN_TIMEOUT_S 60
/* tcp-half-open passes are spaced so that reading conntrack takes at most
 * 1/FLOOD_HALF_OPEN_CPU_SHARE of a core (0.5 %), and at most this far
 * apart. */
#define FLOOD_HALF_OPEN_CPU_SHARE 200
#define FLOOD_HALF_OPEN_WAIT_MAX_S 5

/* The burst of the tcp-connect-rate meter for RATE SYNs a minute: a tenth
 * of the minute's share, at least 1 (600/min: 60). */
uint32_t flood_tcp_burst(uint32_t rate);

/*
 * The whole seconds (1..FLOOD_HALF_OPEN_WAIT_MAX_S) from the start of a
 * tcp-half-open pass to the start of the next, given CPU_NS, the pass's
 * CPU time in ns (the kernel's walk of its conntrack hash included, which
 * a dump pays for every bucket even when it sends nothing):
 * FLOOD_HALF_OPEN_CPU_SHARE times it, rounded up, so the passes take at
 * most 0.5 % of a core (14 ms a pass: 3 s); one second when that is less;
 * at most FLOOD_HALF_OPEN_WAIT_MAX_S, so above 25 ms a pass the share
 * grows past 0.5 % rather than the lag past 5 s. Pure; no errors.
 */
uint32_t flood_half_open_wait_s(uint64_t cpu_ns);

/*
 * An nft script that replaces the rules of chain flood_tcp4/6 (FAM 4 or
 * 6) of table O->table with those of O->flood's TCP limits, in the order
 * a new ruleset has them, with tcp-half-open's lookup of
 * flood_half_open4/6 first when HALF_OPEN and without it otherwise:
 * "flush chain ..." and one "add rule ..." a limit, to be applied in one
 * transaction (the sets, their meters and the named counters stay).
 * src/sluiced/halfopen.c keeps the lookup only while the set has
 * elements, so a SYN pays for it only while some source is over the
 * limit. Allocated; NULL when O has no TCP limit or FAM is neither.
 */
char *flood_tcp_chain_script(const struct ruleset_opts *o, int fam,
			     bool half_open);

/* How many times ruleset_install() has put a ruleset in place in this
 * process (reloads, repairs, regenerations): a change tells a user of
 * the table's sets that they may have been replaced. */
uint64_t ruleset_installs(void);
#define RS_KLOG_PREFIX "sluice "

/* The mark values of the layout above, for O's shift. */
uint32_t rs_mark_own(const struct ruleset_opts *o);		  /* mask */
uint32_t rs_mark(const struct ruleset_opts *o, unsigned dec, unsigned id);
/*
 * The DNS filter (`filter dns`, src/sluiced/dnsfilter.c): the packets of
 * sessions a `filter dns` rule allowed — both directions, the first one
 * included — get the packet mark rs_mark(QUEUE, RS_ID_DNS) and the xt
 * chain queues them to queue rs_dns_queue(O) (the one after the decision
 * queues), always without bypass: nobody reading the answers means no
 * answers. sluiced's verdict is NF_ACCEPT with sluice's mark bits cleared,
 * or NF_DROP.
 */
uint32_t rs_dns_queue(const struct ruleset_opts *o);
/*
 * The FTP filter's read-only mode (`filter ftp read-only`,
 * src/sluiced/ftpfilter.c): the packets the client sends on a control
 * session such a rule allowed get the packet mark rs_mark(QUEUE, RS_ID_FTP)
 * and the xt chain queues them to queue rs_ftp_queue(O) (the one after the
 * DNS queue), without bypass. sluiced's verdict is NF_ACCEPT with sluice's
 * mark bits cleared (the segment rewritten when a command was refused), or
 * NF_DROP.
 */
uint32_t rs_ftp_queue(const struct ruleset_opts *o);
/* The mark's rule id for policy rule index I (saturating). */
unsigned rs_rule_id(size_t index);

/*
 * Fills O with the defaults for policy P (P may be NULL): table "sluice",
 * queue settings and mark shift from P's queue block, self mark ALLOW|0,
 * and the clock offsets of this moment.
 */
void ruleset_opts_init(struct ruleset_opts *o, const struct policy *p);

/*
 * The complete nft script that atomically replaces table O->table
 * ("table inet T {}\ndelete table inet T\ntable inet T { ... }": one nft
 * transaction). Never NULL.
 */
char *ruleset_nft(const struct policy *p, const struct ruleset_opts *o);
/*
 * NEXT (a ruleset_nft() text for O) as an update of the table that
 * INSTALLED put in place (INSTALLED: an earlier ruleset_nft() text of the
 * same table, as applied): instead of `delete table`, the transaction
 * flushes the table's rules and deletes every set, map, named object,
 * flowtable and chain INSTALLED declared, then declares NEXT's. A `ct
 * timeout` object that NEXT declares with the same text as INSTALLED is
 * not deleted: it keeps its handle, and the sessions that use it keep it
 * (deleting one makes the kernel walk every conntrack entry); one whose
 * values changed is deleted and declared again. One nft transaction, as
 * atomic as the replacement. Allocated; NULL when INSTALLED or NEXT is not
 * a ruleset of table O->table or INSTALLED declares something not known
 * here (apply NEXT as it is). The teardown alone (ruleset_update.c):
 * ruleset_nft_teardown() gives those commands ("flush table inet TABLE\n"
 * "delete ...") for table TABLE, or NULL as above.
 */
char *ruleset_nft_update(const char *next, const struct ruleset_opts *o,
			 const char *installed);
char *ruleset_nft_teardown(const char *table, const char *installed,
			   const char *next);

/*
 * iptables-restore input (for iptables-nft-restore / ip6tables-nft-restore
 * --noflush) for FAMILY (AF_INET or AF_INET6): the SLUICE chain (flushed and
 * refilled) and its jumps at the head of FORWARD, INPUT and OUTPUT.
 * CURRENT is the output of `iptables-nft-save -t filter` (NULL or "" when
 * the filter table is empty): jumps already first in their chain are kept,
 * duplicates and misplaced ones are deleted, missing ones inserted, so
 * running the result any number of times leaves exactly one jump per hook.
 * Returns NULL when O->nft_queue (no xt part is needed).
 */
char *ruleset_xt(const struct ruleset_opts *o, int family);
char *ruleset_xt_from(const struct ruleset_opts *o, int family,
		      const char *current);
/*
 * True when CURRENT (`iptables-nft-save -t filter` output of one family)
 * holds the xt part as ruleset_xt_from() leaves it: the SLUICE chain with
 * its four rules (NFQUEUE among them) and exactly one jump to it, first in
 * each of FORWARD, INPUT and OUTPUT. False after `iptables -F`, a deleted
 * jump or chain, or a foreign rule inserted above the jump.
 */
bool ruleset_xt_intact(const struct ruleset_opts *o, const char *current);
/* The text that removes the SLUICE chain and every jump to it, given the
 * current save output; NULL when there is nothing to remove. */
char *ruleset_xt_remove(const struct ruleset_opts *o, int family,
			const char *current);

/*
 * Installs P: the xt part for IPv4 and IPv6 (iptables-nft-restore
 * --noflush, fork/exec, text on stdin; skipped when it is the one this
 * process applied last and no repair or removal came since: the ruleset
 * watch repairs what another program did to it), then the nft script in one
 * transaction (libnftables): as an update of the table this process
 * installed last (ruleset_nft_update(): its unchanged ct timeout object
 * stays), or as a replacement (ruleset_nft()) on the first install, after
 * ruleset_remove()/ruleset_leave_fail_closed()/a repair, or when the
 * update fails (logged). When nft rejects the script the old table stays
 * in place (nft transactions are atomic). Main thread only.
 */
int ruleset_install(const struct policy *p, const struct ruleset_opts *o,
		    char **err);
/* Removes the table, the SLUICE chains and their jumps. Idempotent. */
int ruleset_remove(const struct ruleset_opts *o, char **err);
/*
 * The state to leave on a clean shutdown configured to stay fail-closed:
 * sessions already decided keep passing on their conntrack mark; every new
 * session is dropped (the rules chains become a single drop; no queueing).
 * Removes the xt part. One nft transaction.
 */
int ruleset_leave_fail_closed(const struct ruleset_opts *o, char **err);

/* Ends adoption (see ruleset_opts.adopt): the adopt_<hook> chains are
 * emptied in one transaction, so a mid-stream packet that opens a conntrack
 * entry is dropped again. Only those chains are taken as sluiced's anew
 * (ruleset_chain_before/ruleset_fingerprint_chain): another program's
 * change elsewhere in the table, made since the last check, stays one for
 * ruleset_check. Chains already empty: nothing is committed. 0, or -1
 * with *ERR. */
int ruleset_adopt_close(const struct ruleset_opts *o, char **err);
/*
 * The ruleset watch (sluiced, docs/coexistence.md): another program (e.g.
 * `nft -f /etc/nftables.conf`, which starts with `flush ruleset`, or
 * `iptables -F`) may remove or bury what ruleset_install() put in place.
 * ruleset_check() reads the kernel: RS_MISSING_NFT when table inet
 * O->table or one of its hook, `decided` or `queue_bypassed` chains is
 * gone or emptied; RS_MISSING_XT when ruleset_xt_intact() is false for
 * IPv4 or IPv6 (never with O->nft_queue). Returns the bits (0 = intact);
 * *WHAT (when WHAT) gets an allocated description of what is missing, or
 * NULL when intact.
 */
#define RS_MISSING_NFT 1u
#define RS_MISSING_XT 2u
/* With RS_MISSING_XT: in one family the SLUICE chain is still there but
 * empty and nothing jumps to it: the state `iptables -F` leaves, which is
 * often the first half of `iptables -F; iptables -X` (ufw, and most
 * firewall scripts, flush then delete every chain); a repair now would
 * make the -X fail. */
#define RS_XT_EMPTIED 4u
unsigned ruleset_check(const struct ruleset_opts *o, char **what);

/*
 * ruleset_foreign_change(WHO): the nftables events (the ruleset watch)
 * showed that another process committed a change to a table, chain or
 * rule (or a flood exception) of table inet O->table; WHO (copied; at
 * most 127 bytes kept) names it in the log, e.g. `another process, pid
 * 4242 "nft"`. Until the next successful repair or
 * remove, ruleset_check() finds the nft side damaged (RS_MISSING_NFT)
 * whatever the fingerprint says: a change committed between sluiced's
 * write and its read-back of the table is in the fingerprint too, and
 * only the events tell it was not sluiced's. Main thread only.
 */
void ruleset_foreign_change(const char *who);

/*
 * The ruleset watch's events, for the read-backs after sluiced's own
 * writes (install.c, "window"): ruleset_event_gen(GEN, TOUCHED) for each
 * transaction's end (NEWGEN's NFTA_GEN_ID), TOUCHED when its messages
 * added, changed or deleted a table, chain or rule (or a flood exception)
 * of table inet O->table; ruleset_events_lost() when events were lost
 * (ENOBUFS). A read-back that another transaction came before, whose
 * events show it touched the table or may have been lost (a generation
 * skipped, ENOBUFS, the socket's drop count moved), makes the table
 * damaged (ruleset_foreign_change). Main thread only.
 */
void ruleset_event_gen(uint32_t gen, bool touched);
void ruleset_events_lost(void);
/* The ruleset watch's event socket FD (-1: none), whose drop count
 * (SO_MEMINFO) tells the judge of lost events. */
void ruleset_watch_socket(int fd);

/*
 * sluiced's own rewrites of a chain of its table while it runs (a
 * published server's pub_* chain when a farm member goes up or down,
 * flood_tcp4/6 when tcp-half-open's lookup goes in or out) must not hide
 * another program's change to that chain from ruleset_check, nor make it
 * sluiced's: a rewrite flushes the chain (a foreign rule added just
 * before would go unseen and uncounted) and what ruleset_check compares
 * the chain with is then read back (a foreign rule added just after
 * would be taken for sluiced's). So, main thread, as the installers:
 *
 * ruleset_chain_before(O, CHAIN), before the rewrite, reads the table:
 * the rules of CHAIN (their digests, in order; free with
 * ruleset_chain_rules_free or give to ruleset_fingerprint_chain), "not
 * read" when the read failed (a busy ruleset: nothing is held against the
 * rewrite), or NULL when CHAIN is not as sluiced last left it (another
 * program's change: the next ruleset_check puts the whole table back and
 * counts it in ruleset_restored) or before the first install.
 *
 * ruleset_fingerprint_chain(O, CHAIN, BEFORE, DELTA, WANT), after the
 * rewrite went in: with BEFORE NULL, nothing; else CHAIN is read again and
 * taken as sluiced's if DELTA is 0 and it has the WANT rules written (the
 * pub_* chains), or if it is BEFORE with exactly DELTA rules (+1, -1)
 * inserted or removed at one place (the half-open lookup; with BEFORE
 * not read, whatever it holds); otherwise it stays a change for
 * ruleset_check. Only that chain's entry changes: another program's
 * change elsewhere stays a change. Takes BEFORE.
 */
struct chain_rules;
struct chain_rules *ruleset_chain_before(const struct ruleset_opts *o,
					 const char *chain);
void ruleset_chain_rules_free(struct chain_rules *r);
void ruleset_fingerprint_chain(const struct ruleset_opts *o,
			       const char *chain, struct chain_rules *before,
			       int delta, size_t want);
/*
 * Puts back what ruleset_check() found missing (MISSING): the whole
 * ruleset of P when the nft table is damaged (ruleset_install(): creation
 * elements are lost with the table), else the xt part alone (the running
 * table, its sets and counters stay). 0, or -1 with an allocated *ERR.
 */
/* True when CURRENT (iptables-save text of one family) holds the SLUICE
 * chain empty and no jump to it (see RS_XT_EMPTIED). */
bool ruleset_xt_emptied(const struct ruleset_opts *o, const char *current);
int ruleset_repair(const struct policy *p, const struct ruleset_opts *o,
		   unsigned missing, char **err);

/* Runs an nft script (one transaction) through libnftables. Used by the
 * installer and by tests (e.g. to show that a rejected script changes
 * nothing). 0, or -1 with nft's messages in *err. */
int nft_apply(const char *script, char **err);
/* nft_apply() of SCRIPT, which it frees; on failure *ERR gets "WHAT: nft's
 * messages", WHAT formatted from FMT. 0, or -1. */
int nft_apply_as(char *script, char **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The nft script (to free) that makes the sets portal_known4/6 of O's
 * table hold exactly the V4 (N4) and V6 (N6) addresses and prefixes
 * ("198.18.1.2", "2001:db8:5::/64"; each already checked): one
 * transaction, flush then add. Only for a policy with portal { listen }.
 */
char *portal_sync_script(const struct ruleset_opts *o, const char *const *v4,
			 size_t n4, const char *const *v6, size_t n6);
/* Runs an nft command and returns its (JSON when JSON) output; NULL with
 * *err on failure. */
char *nft_query(const char *cmd, bool json, char **err);

/* Inside the kernel library (install.c), shared with probe.c: an nft dry
 * run (reaches the kernel, which checks the batch and aborts it); running
 * an external tool with IN on stdin, collecting stdout/stderr (exit status,
 * -1 when it could not run). */
int nft_dry_run(const char *script, char **err);
int run_tool(char *const argv[], const char *in, char **out, char **errtxt);
/* The same; RUN_NEWNET runs the tool in a new, private network namespace
 * (exit status 126 when that cannot be created). */
#define RUN_NEWNET 1u
int run_tool_ex(char *const argv[], const char *in, char **out,
		char **errtxt, unsigned flags);

/*
 * Probes. probe_nft_queue(): an nft dry run (it reaches the kernel, which
 * validates the batch and aborts it) of a throwaway table with a `queue`
 * rule; nothing is created. probe_xt_nfqueue(): creates a throwaway chain
 * with an NFQUEUE rule via iptables-nft-restore and deletes it again.
 */
bool probe_nft_queue(void);
bool probe_xt_nfqueue(void);

/*
 * Creation elements (DESIGN.md §2): kernel set elements with a timeout that
 * admit new sessions to DADDR:PROTO/DPORT (from SADDR only, when given) with
 * ct mark ALLOW | RS_ID_CREATION, before the policy rules. FAMILY is AF_INET
 * or AF_INET6; PROTO "tcp" or "udp". Adding an existing element keeps its
 * old timeout (nft `add`). Deleting an absent one is an error.
 */
int creation_add(const struct ruleset_opts *o, int family, const char *daddr,
		 const char *proto, uint16_t dport, const char *saddr,
		 uint32_t timeout_s, char **err);
int creation_del(const struct ruleset_opts *o, int family, const char *daddr,
		 const char *proto, uint16_t dport, const char *saddr,
		 char **err);
/*
 * Published servers (DESIGN.md §4; tests/golden/publish.conf shows the output).
 * For every `publish NAME tcp|udp PORT on ADDR to FARM [port P]` the table
 * holds
 *   - chain publish_nat, jumped to from the nat hooks prerouting (dstnat)
 *     and output (the gateway's own sessions to the public address): one
 *     rule per publish that sends new sessions to ADDR:PORT to its chain;
 *   - chain pub_<tcp|udp>_<PORT>_<ADDR with . and : as _> (publish_chain_name):
 *     the DNAT to the members in the map — balanced by `jhash ip saddr mod
 *     N` (source-hash) or `numgen inc mod N` (round-robin) through an
 *     anonymous map, a plain dnat for one member, the farm's sorry server or
 *     a drop when none is in the map;
 *   - in decide_new, before the creation elements: one creation element per
 *     published server: `ct status dnat ct original ip daddr ADDR meta
 *     l4proto tcp ct original proto-dst PORT` sets ct mark ALLOW |
 *     RS_ID_PUBLISHED and accepts (the public address's session, whichever
 *     member or sorry server it went to).
 * A member's port: its own `port`, else the publish's `port P`, else PORT.
 * Only the first packet of a connection sees the nat hooks: changing a chain
 * never moves or cuts an established session (its conntrack entry keeps
 * the NAT binding). Neither jhash nor numgen maps can weigh a member, so
 * there is no slow start: a member that returns takes its full share of
 * new sessions at once.
 */
/* The chain name of PB into BUF (64 bytes is enough); returns BUF. */
const char *publish_chain_name(const struct publish *pb, char *buf,
			       size_t len);
/*
 * The nft commands that replace the rules of PB's chain (flush + add) for
 * the membership UP (one flag per member of PB->farm, true = in the map;
 * NULL = all). To be applied in one transaction, alone or concatenated with
 * others. Never NULL.
 */
char *farm_chain_script(const struct ruleset_opts *o, const struct publish *pb,
			const bool *up);

/* {"creations4": <nft JSON>, "creations6": ..., "creations4s": ...,
 * "creations6s": ...}; NULL with *err on failure. */
char *creation_list_json(const struct ruleset_opts *o, char **err);

#endif
