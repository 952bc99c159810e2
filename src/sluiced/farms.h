/*
 * farms.h — published server farms and connectivity verifiers in sluiced
 * (docs/design.md §4).
 *
 * The farm manager runs on the daemon's main event loop. It owns one
 * verifier engine (src/verify) and subscribes
 *   - every member of every farm with a `verify` spec: the spec with the
 *     member substituted (`*` in the URL, the target of tcp/icmp; a tcp
 *     check without `port` checks the member's published port), named
 *     "FARM/MEMBER";
 *   - every standalone `verifier`, under its own name.
 * Health state belongs to the member (farm, name, address) or verifier
 * (name), never to its check's configuration: it survives every reload,
 * and a reload that changes the check restarts the probe from the state
 * already known (a down member needs `rise` successes to come up).
 * A member is *in the map* (receives new sessions) when it is not drained
 * and its check is up; a member whose state is unknown (not checked yet)
 * only while no other member of its farm is known up and not drained (a
 * fresh start serves at once; a proven member is preferred). When the map
 * of a farm changes, every publish chain of the farm is rewritten in one
 * nft transaction (farm_chain_script()); established sessions keep their
 * conntrack NAT binding. With `on-down flush` a member whose check goes
 * down also loses its conntrack entries (the sessions of the farm's public
 * addresses whose reply comes from the member); a drain never flushes.
 * State changes go to the log (log_info / log_warnx).
 *
 * Nothing here keeps a pointer into a struct policy after farms_configure()
 * returns: the policy of a reload may be freed at any time afterwards.
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
 * installed). A member (farm, name, address) or verifier (name) that was
 * there before keeps its state; its check keeps running with its history
 * when the configuration is unchanged (verify_spec_cfg_equal), else is
 * restarted from that state. Drained members stay drained (by farm and
 * member name); checks of members and verifiers no longer there are
 * removed (whatever they are doing: one cleanup path in the engine). Then
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
 * MEMBER is NAME (unique across farms) or FARM/NAME. The answer is JSON
 * (sluicectl(8): {"schema_version", "verifiers": [...]}, {...,
 * "farms": [...]}, {..., "member", "drained", "in_map"}). Returns 0, or -1
 * with a one-line message in OUT.
 */
int farms_command(struct farms *fm, int argc, char **argv,
		  struct evbuffer *out);

/* Appends the Prometheus families of every farm member and standalone
 * verifier of FM (NULL: the families without samples): up, drained,
 * response time, checks by result (stats/prom.h). */
void farms_prom(struct farms *fm, struct evbuffer *out);

/* Fills *OUT. FM may be NULL (all zero). */
void farms_stats(struct farms *fm, struct farms_stats *out);

/*
 * ruleset_opts.member_up for the ruleset generator: is member I of farm F
 * (a farm of any policy; matched by farm and member name and address) in
 * the map now (see above)? CTX is the struct farms, or NULL (then: true).
 * Members the manager does not know yet are in the map.
 */
bool farms_member_up(void *ctx, const struct farm *f, size_t i);

#endif
