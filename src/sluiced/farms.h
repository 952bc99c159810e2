/*
 * farms.h — published server farms and connectivity verifiers in sluiced
 * (DESIGN.md §4, issue 6).
 *
 * The farm manager runs on the daemon's main event loop. It owns one
 * verifier engine (src/verify) and subscribes
 *   - every member of every farm with a `verify` spec: the spec with the
 *     member substituted (`*` in the URL, the target of tcp/icmp; a tcp
 *     check without `port` checks the member's published port), named
 *     "FARM/MEMBER";
 *   - every standalone `verifier`, under its own name.
 * A member is *in the map* (receives new sessions) when its check is not
 * down and it is not drained. Members start in the map (as HAProxy and
 * keepalived start servers UP): the first result decides at once. When a
 * member enters or leaves the map, every publish chain of its farm is
 * rewritten in one nft transaction (farm_chain_script()); established
 * sessions keep their conntrack NAT binding. With `on-down flush` a member
 * whose check goes down also loses its conntrack entries (the sessions of
 * the farm's public addresses whose reply comes from the member); a drain
 * never flushes. State changes go to the log (log_info / log_warnx).
 *
 * Nothing here keeps a pointer into a struct policy after farms_configure()
 * returns: the policy of a reload may be freed at any time afterwards.
 *
 * ---- farms_api: what sluiced calls (the lead wires these) -----------------
 *
 *   main.c, after ruleset_install() succeeded (the pub_* chains exist):
 *       d.farms = farms_new(d.base, &d.kopts);      (never NULL; aborts)
 *       char *ferr = NULL;
 *       if (farms_configure(d.farms, d.gen->policy, &ferr) < 0)
 *           log_warnx("farms: %s", ferr);           (not fatal)
 *       free(ferr);
 *   main.c stop(), before ruleset_remove()/ruleset_leave_fail_closed():
 *       farms_free(d->farms); d->farms = NULL;
 *   reload.c daemon_kernel_opts(), after ruleset_opts_init():
 *       d->kopts.member_up = farms_member_up;
 *       d->kopts.member_ctx = d->farms;             (NULL before farms_new:
 *                                                    every member up)
 *   reload.c daemon_reload(), after the generation switch (success only):
 *       farms_configure(d->farms, p, &ferr)          (as above)
 *   commands.c: {"verifiers", ...} and {"farm", ...} in the table, both
 *       return farms_command(d->farms, argc, argv, json, out);
 *   sluicectl table (src/sluicectl/main.c), both cmd_remote:
 *       "verifiers"  usage "verifiers [--json]"
 *                    help  "verifiers: state, last result, response time,
 *                           history"
 *       "farm"       usage "farm [list | drain MEMBER | resume MEMBER]
 *                           [--json]"   (MEMBER: NAME or FARM/NAME)
 *                    help  "published farms and their members; drain or
 *                           resume a member without cutting sessions"
 *   daemon.h: struct farms *farms; in struct daemon.
 *   meson: subdir('src/verify') before subdir('src/sluiced') in the top
 *       meson.build; sluiced gets 'farms.c' and dep_verify (dep_nfct is
 *       already in sluiced_core). farms_new() calls curl_global_init()
 *       itself (libcurl counts the calls).
 */
#ifndef SLUICED_FARMS_H
#define SLUICED_FARMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/ruleset.h"
#include "policy/policy.h"

struct event_base;
struct evbuffer;
struct farms;

/* Counters of the manager (and its engine), for `sluicectl counters` and
 * Prometheus. */
struct farms_stats {
	uint64_t checks_run;	  /* probe results received by the engine */
	uint64_t check_failures;  /* of which not ok */
	uint64_t state_changes;	  /* verifier/member up/down transitions */
	uint64_t map_changes;	  /* publish chains rewritten (transactions) */
	uint64_t map_failures;	  /* ... that nft rejected */
	uint64_t flushed;	  /* conntrack entries deleted (on-down flush) */
	unsigned farms, members, members_in_map, members_down,
	    members_drained;
	unsigned verifiers, verifiers_up, verifiers_down; /* standalone */
	unsigned inflight;	  /* probes running now */
	uint64_t late_max_us;	  /* worst start delay of a probe */
	uint32_t last_response_us; /* response time of the latest result */
};

/*
 * Creates the manager on BASE (not owned). KOPTS is the daemon's kernel
 * options, read at every chain rewrite (the table name may change on
 * reload); it must outlive the manager. Initialises libcurl. Never NULL
 * (aborts on memory exhaustion like the rest of the daemon).
 */
struct farms *farms_new(struct event_base *base,
			const struct ruleset_opts *kopts);

/*
 * Takes the farms, publishes and verifiers of P (after P's ruleset is
 * installed). Checks whose farm, member, address and effective spec are
 * unchanged keep running with their state and history; drained members
 * stay drained (by farm and member name); every other check is removed
 * (whatever it is doing: one cleanup path in the engine) or added. Then
 * every publish chain is rewritten to the current membership. Returns 0,
 * or -1 with an allocated message in *ERR when a check could not be added
 * or a chain not written (the rest is configured anyway).
 */
int farms_configure(struct farms *fm, const struct policy *p, char **err);

/*
 * Keeps drains over restarts in PATH (a state file of the daemon's own:
 * common/statefile.h; one "FARM/MEMBER" a line): reads the drains a
 * previous run left there, applied by the next farms_configure(), and
 * rewrites the file at every `farm drain` / `farm resume`. Call before the
 * first farms_configure(). PATH NULL: drains are not kept. A file that
 * cannot be read is logged and ignored (nothing is drained).
 */
void farms_set_drain_file(struct farms *fm, const char *path);

/* Stops every check and frees everything. NULL is allowed. Must not be
 * called from inside a verifier callback. Leaves the kernel chains as
 * they are (the ruleset is removed next). */
void farms_free(struct farms *fm);

/*
 * The control commands:
 *   verifiers                       every check: name, method, target,
 *                                   state, last result, response time,
 *                                   history ("+" ok, "-" failed, oldest
 *                                   first, up to 16)
 *   farm [list]                     farms, publishes, members
 *   farm drain MEMBER | resume MEMBER
 * MEMBER is NAME (unique across farms) or FARM/NAME. Text, or JSON with
 * JSON. Returns 0, or -1 with a one-line message in OUT.
 */
int farms_command(struct farms *fm, int argc, char **argv, bool json,
		  struct evbuffer *out);

/* Fills *OUT. FM may be NULL (all zero). */
void farms_stats(struct farms *fm, struct farms_stats *out);

/*
 * ruleset_opts.member_up for the ruleset generator: is member I of farm F
 * (a farm of any policy; matched by farm and member name and address) in
 * the map now? CTX is the struct farms, or NULL (then: true). Unknown
 * members are in the map.
 */
bool farms_member_up(void *ctx, const struct farm *f, size_t i);

#endif
