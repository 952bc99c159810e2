/*
 * decide.h — pending decisions of one queue worker.
 *
 * A queued packet starts (or joins) the pending decision of its session.
 * The decision is a small state machine: evaluate the policy with what is
 * known, start the lookups it needs, evaluate again when they answer, and
 * give every packet of the session its verdict. Nothing here blocks: the
 * worker calls decider_packet() per packet and decider_tick() on a timer.
 *
 * Every queued packet gets exactly one verdict: decided, malformed, table
 * full, duplicate overflow, deadline, watchdog or shutdown.
 */
#ifndef SLUICE_DECIDE_H
#define SLUICE_DECIDE_H

#include "policy/policy.h"
#include "queue/nfq.h"
#include "queue/packet.h"

#include <stdbool.h>
#include <stdint.h>

/* The mark layout (docs/kernel.md): sluice owns bits 16..31. */
#define MARK_OWNED 0xffff0000u
#define MARK_ALLOW 0x40000000u
#define MARK_DENY 0x80000000u
#define MARK_QUEUE 0xc0000000u
#define MARK_DECISION 0xc0000000u
#define MARK_RULE_SHIFT 16
#define MARK_RULE_MASK 0x3fffu
#define RULE_ID_MAX 0x3ffeu	   /* rule ids saturate here */
#define RULE_ID_CREATION 0x3ffdu   /* allowed by a creation element */
#define RULE_ID_FAILOPEN 0x3fffu   /* allowed by the fail mode */

/* Rule index → id carried in the mark (index + 1, saturating). */
static inline uint32_t rule_mark_id(int index)
{
	return index < 0 ? 0 : (uint32_t)index + 1 > RULE_ID_MAX
				   ? RULE_ID_MAX
				   : (uint32_t)index + 1;
}

/* A policy generation: the checked policy and its compiled engine, shared
 * by reference; a reload makes a new one. */
struct gen {
	struct policy *policy;
	struct engine *engine;
	uint64_t id;
	int refs; /* atomic */
};

struct gen *gen_ref(struct gen *g);
void gen_unref(struct gen *g);

/* Why a decision ended the way it did (also in the firewall log). */
enum reason { RSN_RULE, RSN_DEFAULT, RSN_DEADLINE, RSN_SLOTS, RSN_SOURCE,
	      RSN_MALFORMED, RSN_WATCHDOG, RSN_SHUTDOWN, RSN_OVERFLOW,
	      RSN_COUNT };
const char *reason_name(enum reason r);

/* Counters of one worker; summed by the reader (no lock on this path). */
struct decide_stats {
	uint64_t packets, malformed, verdict_allow, verdict_deny,
	    verdict_fail, joined, overflow, decisions, decided_first_pass,
	    timed_out, slots_full, source_full, local_reserved_used,
	    watchdog, lookups_identity, lookups_name, latency_ns_sum;
	uint64_t latency_hist[12]; /* <0.1,0.25,0.5,1,2.5,5,10,25,50,100,250ms,more */
};

struct decide_cfg {
	uint32_t slots;	      /* this worker's share */
	uint32_t reserve_local; /* of which only local traffic may use */
	uint32_t per_source;
	uint32_t deadline_ms, watchdog_ms;
	enum on_deadline on_deadline;
	bool fail_open;
	uint32_t identity_ttl_s;
};

struct iptable;

/* What the decider needs from its surroundings. */
struct decide_env {
	/* issue a verdict for packet ID (NF_ACCEPT, NF_DROP, NF_REPEAT) */
	void (*verdict)(void *arg, uint32_t id, uint32_t verdict,
			bool set_mark, uint32_t mark);
	void *arg; /* for verdict: the worker */
	/* the current policy generation, referenced */
	struct gen *(*current)(void *ctx);
	/* an allowed session, for `sluicectl sessions` (may be NULL) */
	void (*decided)(void *ctx, const struct session_key *k,
			const struct gen *g, int rule, const char *user,
			const char *name);
	void *ctx; /* for current and decided: the daemon */
	struct iptable *ids;
	uint64_t (*now_ns)(void); /* monotonic clock (tests pass their own) */
};

struct decider;

struct decider *decider_new(const struct decide_env *env,
			    const struct decide_cfg *cfg);
/* Applies new limits (reload); pending decisions keep their deadlines. */
void decider_configure(struct decider *d, const struct decide_cfg *cfg);
/* Handles one queued packet. */
void decider_packet(struct decider *d, const struct qpacket *pkt);
/* Ends decisions past their deadline or watchdog. */
void decider_tick(struct decider *d);
/* Gives every pending packet the shutdown verdict (the fail mode) and
 * frees everything. */
void decider_free(struct decider *d);

size_t decider_pending(const struct decider *d);
size_t decider_slots_free(const struct decider *d, bool local);
const struct decide_stats *decider_stats(const struct decider *d);

/* Calls FN for each pending decision (oldest first). */
struct pending_info {
	const struct session_key *key;
	uint64_t age_ns;
	unsigned waiting; /* NEED_* lookups in flight */
	int rule;	  /* where evaluation stopped */
	bool local;
	int packets;
};
void decider_each_pending(const struct decider *d,
			  void (*fn)(void *arg, const struct pending_info *pi),
			  void *arg);

#endif
