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
 *
 * The fail verdict (the fail mode: drop, or allow with MARK_ID_FAILOPEN)
 * is for sluiced's own trouble only: the watchdog (a worker fell behind)
 * and shutdown. Whatever a client can bring about by what it sends is
 * denied: an unreadable packet, more copies of a pending session's packet
 * than MAX_JOINED (or than the kernel queue has room for beyond one packet
 * per slot: a full kernel queue would fail), its source over the
 * per-source cap, every slot taken.
 * (The kernel gives the fail mode itself when nobody listens or the queue
 * is full; see docs/kernel.md.)
 */
#ifndef SLUICE_DECIDE_H
#define SLUICE_DECIDE_H

#include "common/latency.h"
#include "common/mark.h"
#include "common/reason.h" /* why a decision ended as it did */
#include "policy/policy.h"
#include "packet/packet.h"

#include <stdbool.h>
#include <stdint.h>

/* A policy generation: the checked policy and its compiled engine, shared
 * by reference; a reload makes a new one. The last gen_unref() frees the
 * engine and the policy (which owns its diagnostics, policy_free()). */
struct gen {
	struct policy *policy;
	struct engine *engine;
	bool ftp_read_only; /* a rule has `filter ftp read-only`
			     * (gen_ftp_read_only(): set where gens are made) */
	uint64_t id;
	int refs; /* atomic */
};

/* True when a rule of P has a `filter ftp read-only` protocol: its
 * sessions' first packets go to the FTP filter (decider_packet). */
bool gen_ftp_read_only(const struct policy *p);
struct gen *gen_ref(struct gen *g);
void gen_unref(struct gen *g);


/* Counters of one worker; summed by the reader (no lock on this path). */
struct decide_stats {
	uint64_t packets, malformed, misread, verdict_allow, verdict_deny,
	    verdict_fail, verdict_reject, joined, overflow, decisions, decided_first_pass,
	    decided_at_once,
	    timed_out, slots_full, source_full, local_reserved_used,
	    watchdog, lookups_identity, lookups_name, lookups_uid,
	    lookups_groups, lookups_failed, answers_stale, latency_ns_sum,
	    lookups_at_hand, /* of the lookups, answered at once (cached) */
	    user_ignored; /* the directory's name on identity ignore-users */
	uint64_t in_flight_name, in_flight_uid, in_flight_groups; /* gauges */
	uint64_t latency_hist[LATENCY_NBUCKETS]; /* common/latency.h */
};

struct decide_cfg {
	uint32_t slots;	      /* this worker's share */
	uint32_t reserve_local; /* of which only sessions the gateway itself
				 * opens (LOCAL_OUT) may use */
	uint32_t per_source;	/* pending decisions one source may hold;
				 * every session but the gateway's own */
	uint8_t per_source_prefix_v4; /* a source: the client address cut */
	uint8_t per_source_prefix_v6; /* to this many bits (1..32, 1..128) */
	uint32_t queue_len; /* this worker's kernel queue length, packets (0:
			     * unbounded): extra packets of pending sessions
			     * are held only in the room beyond one per slot,
			     * so a client's copies never fill the queue */
	uint32_t deadline_ms, watchdog_ms;
	enum on_deadline on_deadline;
	enum deny_action deny_action; /* implicit and deadline denials */
	bool fail_open;
	uint32_t mark_shift; /* the policy's mark layout (common/mark.h) */
	uint32_t identity_ttl_s;
	bool directory; /* groups of address-table users come from LDAP */
};

struct idtable;
struct session_facts;

/*
 * An asynchronous lookup. The decider fills the question and hands the
 * request to env.lookup (from its worker thread); whoever answers fills the
 * answer and gives the request back to decider_answer() on the same worker
 * thread. A request whose decision ended meanwhile (deadline, shutdown) is
 * recognised by its sequence number and dropped.
 */
enum lookup_kind {
	LK_NAME,   /* forward-confirmed name of an address */
	LK_UID,	   /* a local socket's uid → user and groups (NSS) */
	LK_GROUPS, /* a user's groups (directory) */
};

struct lookup_req {
	enum lookup_kind kind;
	struct session_key key; /* the decision it belongs to */
	uint64_t seq;
	void *worker;		/* the decide_env arg: where to answer */
	int family;		/* LK_NAME */
	uint8_t addr[16];
	bool names_full;	/* LK_NAME: every witness (the reverse lookup
				 * too), not only the names at hand */
	uint32_t uid;		/* LK_UID */
	char *user;		/* LK_GROUPS: the table's user (owned) */
	/* the answer */
	int status;		/* 0 found, else an errno (ENOENT: none) */
	char **names;		/* LK_NAME: the destination's names */
	size_t nnames;
	bool names_partial;	/* LK_NAME: see struct facts */
	bool names_more;	/* LK_NAME: only the names at hand; asking
				 * again with names_full may find more */
	char *user_out;		/* LK_UID; LK_GROUPS: the directory's name */
	char **groups;		/* LK_UID, LK_GROUPS */
	size_t ngroups;
};

/* Frees a request and its answer. */
void lookup_req_free(struct lookup_req *r);

/* What the decider needs from its surroundings. */
struct decide_env {
	/* issue a verdict for packet ID (NF_ACCEPT, NF_DROP, NF_REPEAT) */
	void (*verdict)(void *arg, uint32_t id, uint32_t verdict,
			bool set_mark, uint32_t mark);
	void *arg; /* for verdict: the worker */
	/* the current policy generation, referenced */
	struct gen *(*current)(void *ctx);
	/* an allowed session and the facts it was decided with, for
	 * `sluicectl sessions` and revocation (may be NULL) */
	void (*decided)(void *ctx, const struct session_key *k,
			const struct gen *g, int rule,
			const struct session_facts *facts);
	void *ctx; /* for current, decided and record: the daemon */
	/* one record per session decision, for the firewall log (may be
	 * NULL); called on the worker thread, must not block */
	void (*record)(void *ctx, const struct flow *f, const struct gen *g,
		       enum verdict v, int rule, const char *user,
		       const char *name, enum reason why, uint64_t latency_ns);
	/* start an asynchronous lookup (NULL: none available; decisions then
	 * wait for their deadline) */
	void (*lookup)(void *lookup_ctx, struct lookup_req *req);
	/* answer REQ now from answers at hand (on the worker thread, must not
	 * block) and return true, or return false: then it goes to lookup
	 * (may be NULL: every question goes to lookup) */
	bool (*lookup_cached)(void *lookup_ctx, struct lookup_req *req);
	void *lookup_ctx;
	struct idtable *ids;
	uint64_t (*now_ns)(void); /* monotonic clock (tests pass their own) */
	/* the first packet (PKT[0..LEN), from its IP header) of a session
	 * whose evaluation starts at a `filter dns` rule that needs sluiced
	 * (a user or a name): shown to the DNS filter before any verdict, so
	 * the session's first query is known when its answer comes (may be
	 * NULL); called on the worker thread, must not block. False: the
	 * filter drops it (malformed, a zone transfer): the session is
	 * denied (reason RSN_FILTER) */
	bool (*dns_first)(void *ctx, const uint8_t *pkt, size_t len);
	/* the first packet of a TCP session that a `filter ftp read-only`
	 * rule may decide (its header matches): shown to the FTP filter
	 * before any verdict (may be NULL); worker thread, must not block.
	 * False: a SYN that carries data (TCP Fast Open: bytes before the
	 * stream the filter judges); the packet is dropped, no decision
	 * kept (the client resends after a plain handshake) */
	bool (*ftp_first)(void *ctx, const uint8_t *pkt, size_t len);
};

struct decider;

struct decider *decider_new(const struct decide_env *env,
			    const struct decide_cfg *cfg);
/* Applies new limits (reload); pending decisions keep their deadlines. */
void decider_configure(struct decider *d, const struct decide_cfg *cfg);
/* Handles one queued packet. */
void decider_packet(struct decider *d, const struct qpacket *pkt);
/* Takes the answer of a lookup this decider asked for (consumes REQ). */
void decider_answer(struct decider *d, struct lookup_req *req);
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
