/*
 * daemon.h — the state of sluiced, owned by the main thread.
 */
#ifndef SLUICED_DAEMON_H
#define SLUICED_DAEMON_H

#include "decide/decide.h"
#include "decide/sessions.h"
#include "kernel/conntrack.h"
#include "kernel/ruleset.h"
#include "control/control.h"
#include "common/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct event;
struct evbuffer;
struct idtable;
struct sessions;
struct worker;
struct control;
struct lookups;
struct dnsfilter;
struct farms;
struct alerts;
struct fwlog;
struct metrics_server;
struct stats_snapshot;
struct mnl_socket;

struct daemon {
	const char *config_path;
	const char *socket_path;
	bool foreground;
	int verbose;

	struct event_base *base;
	struct event *ev_hup, *ev_term, *ev_int, *ev_housekeeping;

	pthread_mutex_t gen_lock;
	struct gen *gen; /* current policy generation */
	uint64_t next_gen;

	struct idtable *ids;
	uint64_t ids_saved;	   /* idtable_version() last written */
	bool ids_foreign; /* the state file is another policy's: kept unless
			   * this table changes (idsources.c) */
	struct id_save *ids_job; /* the save under way on its thread, or NULL
				  * (idsources.c idsources_save) */
	struct radius_srv *radius; /* idsources.c; NULL = no listener */
	struct radius_seen *radius_seen; /* the RADIUS replay memory: made
					  * with the first listener, kept
					  * while none runs (idsources.c) */
	uint64_t seen_saved; /* radius_seen_taken() of the replay memory
			      * last written (idsources.c) */
	struct idapi *idapi;	   /* idapi.c; NULL = no push API */
	uint64_t idapi_refused_old; /* refusals of push API listeners closed */
	struct event *ev_idrevoke;  /* idsources.c: revocation after logouts */
	uint64_t ids_removed_seen;  /* idtable_removed() last acted on */
	uint64_t portal_synced;	    /* idtable_version() in portal_known4/6 */
	const void *portal_gen;	    /* the generation it was written under */
	uint64_t portal_sync_ms;    /* when (a full resync every 30 s) */
	/* sluice-portal's last report (control: portal-report, commands.c):
	 * its counters, and when it came (mono_ms; 0 = never) */
	struct portal_report {
		uint64_t signed_in, signins, refused, throttled,
		    directory_unavailable, push_failed, busy;
		uint64_t at_ms;
	} portal;
	struct sessions *sessions;
	struct worker **workers;
	size_t nworkers;
	struct control *ctl;
	struct lookups *lookups;
	struct dnsfilter *dns; /* dnsfilter.c: `filter dns`, its queue */
	struct ftpfilter *ftp; /* ftpfilter.c: `filter ftp read-only` */
	struct farms *farms;
	struct alerts *alerts;
	struct fwlog *fwlog;
	struct kernlog *kernlog; /* kernlog.c: NFLOG records, session ends */
	struct flood_watch *floods; /* floods.c: sources limited last tick */
	struct flood_snap *floods_snap; /* floods.c: `floods`' shared read */
	struct halfopen *halfopen; /* halfopen.c: flood { tcp-half-open } */
	uint64_t halfopen_untracked_old; /* of halfopen states freed */
	uint64_t halfopen_passes_old;	 /* of halfopen states freed */
	struct metrics_server *metrics;
	struct dashboard *dash; /* dashboard.c: the page's history */
	char *metrics_addr;
	/* the reply of the reload under way, while daemon_gen_switch() gives
	 * the settings out (NULL otherwise): daemon_warn() adds to it */
	struct evbuffer *reload_reply;
	unsigned reload_warnings; /* daemon_warn()s into reload_reply */
	uint64_t metrics_refused_old; /* refusals of metrics servers closed */
	uint64_t fwlog_written_old, fwlog_dropped_old; /* of logs closed */
	struct kernel_kept *kcounts; /* metrics.c: kernel counters kept */
	time_t reload_ok_at;	 /* the running policy's load time */
	struct event *ev_tick, *ev_usr1;
	struct ruleset_opts kopts;
	struct ct_icmp_timeouts icmp_orig; /* put back on a clean stop */
	bool nft_queue; /* probe: the kernel has nft's queue statement */
	/* the ruleset watch (observe.c): nftables events, a debounced check
	 * and a periodic one; repairs counted in ruleset_restored */
	struct mnl_socket *rswatch;
	struct event *ev_rswatch, *ev_rscheck, *ev_rspoll;
	uint64_t ruleset_restored; /* incidents: broken after being whole */
	bool ruleset_broken;	   /* a repair failed; retried every second */
	uint64_t rs_burst_ms;	   /* mono_ms() of a burst's first event */
	uint64_t rs_poll_ms;	   /* no periodic check before (kread_wait_ms) */
	bool rs_attribute; /* NEWGEN's pid is comparable with ours (init ns) */
	bool rs_gen_table; /* the generation being read touched our table */

	time_t started;
	uint64_t reloads, reload_failures, revoked;
	struct adopt *adopt; /* adopt.c: sessions kept for facts */
	bool adopt_open;     /* the ruleset judges mid-stream pickups */
	struct confirm *confirm; /* confirm.c: a reload on probation */
	struct revocation *revoking; /* reload.c: a walk still going on */
};

/*
 * Reads of the kernel on the event loop can cost what the kernel holds:
 * libnftables (nft 1.0.6) fetches every set's elements to list a table
 * or a chain (the periodic ruleset check, observe.c), and the kernel's
 * dump of flood_limited4/6 (floods.c) grows with the sources a flood
 * limits: under a flood from 65,000 sources, 0.2-0.8 s of CPU a read. A
 * read that cost more than KREAD_SLOW_NS of the thread's CPU is followed
 * by a wait of KREAD_SHARE times its cost (the reads then take at most
 * 1 % of a core; what they feed is as old as the wait, a repair after an
 * event is not delayed). 0 for a cheaper read: every tick, as before.
 */
#define KREAD_SLOW_NS 50000000u
#define KREAD_SHARE 100u
static inline uint64_t kread_wait_ms(uint64_t cpu_ns)
{
	return cpu_ns <= KREAD_SLOW_NS ? 0 : cpu_ns / (1000000u / KREAD_SHARE);
}

/* A periodic read paced by its cost (kread_wait_ms). Zero-initialised:
 * due at once. */
struct kread_pace {
	uint64_t next_ms; /* no read before (mono_ms) */
	bool slow;	  /* the last read waits */
};
static inline bool kread_due(const struct kread_pace *p)
{
	return mono_ms() >= p->next_ms;
}
/* After a read that cost CPU_NS: the next is due kread_wait_ms() later.
 * Returns that wait (ms) when this read begins a stretch of costly reads
 * (the caller says so once), else 0. */
static inline uint64_t kread_paced(struct kread_pace *p, uint64_t cpu_ns)
{
	uint64_t wait = kread_wait_ms(cpu_ns);
	bool first = wait && !p->slow;
	p->next_ms = mono_ms() + wait;
	p->slow = wait != 0;
	return first ? wait : 0;
}

/* confirm.c: `reload --confirm DURATION` (sluiced(8), RELOAD). */
#define CONFIRM_MAX_S 86400u
/* "60", "60s", "5m", "1h" into *SECS (1 s .. CONFIRM_MAX_S); -1 when S is
 * anything else. */
int confirm_parse_duration(const char *s, uint32_t *secs);
/* Reloads (daemon_reload) on probation: unless daemon_confirm() follows
 * within SECS, the policy that ran before comes back by itself. 0, or -1
 * (nothing changed; messages in OUT). */
int daemon_reload_confirm(struct daemon *d, uint32_t secs,
			  struct evbuffer *out);
/* Ends the probation: the running policy stays. -1 when none is on
 * probation. */
int daemon_confirm(struct daemon *d, struct evbuffer *out);
/* Seconds until the rollback, or -1 when nothing is on probation. */
long daemon_confirm_left(const struct daemon *d);
void daemon_confirm_free(struct daemon *d);

/* adopt.c: the sessions that exist when sluiced starts (sluiced(8),
 * START-UP). For `queue { adopt-window }` after the start, an address
 * without an identity counts as "not known yet" (its sessions are kept)
 * and the ruleset judges sessions picked up mid-stream; then an address
 * without an identity is nobody, as reload revocation counts it. */
struct adopt_counts {
	size_t allowed;	     /* marked ALLOW by the rule that allows them */
	size_t pending;	     /* kept, marked with the rule they wait on */
	size_t cut;	     /* denied: conntrack entry deleted */
	size_t denied_later; /* denied, cut by the pass after the install */
};
/*
 * Judges every conntrack entry that no sluiced decided (and, when
 * INSTALLED, every one a policy rule decided, e.g. before a restart)
 * against the current policy; counts in *C. Called before the ruleset is
 * installed (INSTALLED false: marks only, cuts nothing) so allowed sessions
 * never meet "established without a decision", and again after it
 * (INSTALLED true: denied ones are cut, the pending ones remembered).
 */
void daemon_adopt(struct daemon *d, bool installed, struct adopt_counts *c);
/* Judges the remembered pending sessions again (every housekeeping tick):
 * those whose facts are now known are allowed or cut; at the end of the
 * window an address without an identity is nobody, and the window is
 * closed (ruleset_adopt_close). */
void daemon_adopt_recheck(struct daemon *d);
/* Sessions still waiting for facts. */
size_t daemon_adopt_waiting(const struct daemon *d);
void daemon_adopt_free(struct daemon *d);

/* kernlog.c: the kernel's part of the firewall log (sluice.conf(5) NOTES):
 * sessions `log` rules decide alone (NFLOG group log { nflog-group }) and
 * the end of each session sluice decided (conntrack DESTROY events), read
 * on the event loop into d->fwlog. configure() opens, rebinds or closes
 * the readers for policy P (none without a firewall log); call it after
 * d->fwlog is (re)opened. close() before d->fwlog is closed. snapshot()
 * fills the fwlog_kernel_* counters (kept across reloads). */
void kernlog_configure(struct daemon *d, const struct policy *p);
void kernlog_close(struct daemon *d);
void kernlog_snapshot(struct daemon *d, struct stats_snapshot *s);
/* Cuts the session of conntrack entry E that RULE (a policy rule index;
 * negative: the default deny) denies now, for revocation and adoption:
 * marks it denied by RULE, so that its end record says who ended it, then
 * deletes it (a failed delete puts the old mark back: judged again by the
 * next walk). Its decision's facts are forgotten at once
 * (entry_session_del), so no later session with its addresses and ports
 * takes them; while the firewall log reads session ends, a copy is kept
 * apart for its end record (at most 16,384, the oldest dropped first).
 * 0, or -1 (errno) when E could not be deleted. */
int kernlog_cut(struct daemon *d, const struct ct_entry *e, int rule);
/* observe.c: the first network (not computer set) holding F's destination
 * (DST) or source address, or NULL. */
const char *daemon_net_of(const struct policy *p, const struct flow *f,
			  bool dst);

/* reload.c: loads the policy file, replaces ruleset and generation. On any
 * error, the running policy and ruleset stay; the messages are in OUT (may
 * be NULL). Returns 0 or -1. */
int daemon_reload(struct daemon *d, struct evbuffer *out);
/* reload.c: the two halves of putting policy P in force, shared by a
 * reload and the rollback of `reload --confirm`.
 * daemon_kernel_switch() gives the kernel P's ruleset (atomic) and every
 * worker's kernel queue P's fail mode, length and buffer: a change to fail
 * closed before the ruleset, to fail open after it, so no packet meets a
 * looser pair than either policy's. OLD is the policy in force (its queue
 * settings come back when the ruleset is rejected). Queues that did not
 * take the settings are named in OUT (may be NULL) and the log. 0, or -1
 * with the kernel's message in *ERR (caller frees): the ruleset, queues and
 * d->kopts stay as they were.
 * daemon_gen_switch() then makes G (one reference, taken over) the
 * generation the workers decide with, and gives P's settings to the
 * workers, lookups, DNS filter, farms, observers and control socket;
 * what needs a restart is said in OUT (may be NULL) and the log. */
int daemon_kernel_switch(struct daemon *d, const struct policy *p,
			 const struct policy *old, struct evbuffer *out,
			 char **err);
void daemon_gen_switch(struct daemon *d, struct gen *g, struct evbuffer *out);
/* A setting that could not be applied (a port taken, a file unreadable):
 * "FMT..." to the log and, during a reload, as "warning: FMT...\n" to its
 * reply, so `sluicectl reload` says it; ERR, when not 0, is the errno
 * appended as ": strerror(ERR)". */
void daemon_warn(struct daemon *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Revokes sessions the current policy no longer allows; returns how many
 * were cut so far. A large table is walked on for a while on the event
 * loop after it returns (d->revoking set; reload.c "Revocation walks");
 * an unfinished earlier walk is stopped first. */
size_t daemon_revoke(struct daemon *d);
/* Stops an unfinished revocation (a newer one, or shutdown); no-op when
 * none runs. */
void daemon_revoke_stop(struct daemon *d);
/* Sessions judged so far by the unfinished revocation (0 when none). */
size_t daemon_revoke_judged(const struct daemon *d);
/* The decide configuration of one worker under policy P. */
void daemon_decide_cfg(const struct daemon *d, const struct policy *p,
		       struct decide_cfg *cfg);
void daemon_kernel_opts(struct daemon *d, const struct policy *p);
/* ICMP sessions get P's udp-timeout (the namespace's sysctls); a failure
 * is logged, not fatal. The values found first are kept in a file next to
 * the control socket until daemon_icmp_restore() puts them back, so a
 * restart after kill -9 restores the real originals. */
void daemon_icmp_timeout(struct daemon *d, const struct policy *p);
void daemon_icmp_restore(struct daemon *d);
/* For `sluiced --remove-ruleset`: puts back the originals kept in the state
 * file of D->socket_path (a run that stopped fail-closed or was killed left
 * it). True when there was such a file. */
bool daemon_icmp_restore_saved(struct daemon *d);

/* observe.c: counters, firewall log, alerts, metrics. */
void daemon_snapshot(struct daemon *d, struct stats_snapshot *s);
void daemon_record(void *ctx, const struct flow *f, const struct gen *g,
		   enum verdict v, int rule, const char *user, const char *name,
		   enum reason why, uint64_t latency_ns);
void observe_configure(struct daemon *d, const struct policy *p);
/*
 * floods.c: the sources the kernel's flood limits refuse, as the sets
 * flood_limited4/6 hold them. flood_read_start() reads both whole on the
 * event loop (a few socket buffers a turn) and then calls DONE(ARG, V, N,
 * CPU_NS, ERROR) once: V[0..N) the sources, IPv4 first, each family
 * sorted by address, each source once (V is the callee's to free; NULL
 * when N is 0), CPU_NS the read's CPU time; or V NULL and ERROR (valid
 * during the call) when it could not be read. A set that is not there (no
 * flood limits) is empty; a set larger than one socket buffer is dumped
 * again until a dump holds what the one before held that cannot have
 * left (4 dumps at most; V is their union); a dump whose set a reload
 * deleted or made anew makes both read again, 3 times in all, so a list
 * is of one ruleset. It returns the read, or NULL when DONE has already run;
 * flood_read_cancel() stops a read under way without calling DONE.
 * tick(): once a second (spaced by kread_wait_ms when the read is
 * costly), such a read; `flood-start` / `flood-end` records in the
 * firewall log when there is one. limited(): how many there were at the
 * last read.
 */
struct flood_src {
	uint8_t len;	   /* 4 (IPv4) or 16 (an IPv6 prefix's address) */
	uint8_t a[16];	   /* the key's bytes, network order */
	uint64_t packets;  /* refused since it was added */
	int64_t expires_ms; /* until it leaves the set; -1: unknown */
};
struct flood_read;
typedef void (*flood_read_done)(void *arg, struct flood_src *v, size_t n,
				uint64_t cpu_ns, const char *error);
struct flood_read *flood_read_start(struct daemon *d, flood_read_done done,
				    void *arg);
void flood_read_cancel(struct flood_read *r);
/*
 * The read `floods` answers from, shared: flood_snap_take() gives a
 * reference to the one under way under the policy generation in force,
 * else to a new one (each request
 * reading both sets on its own made N requests take N times as long, and
 * hold N copies). Once S->done, S->v[0..S->n) are the sources as
 * flood_read_start gives them, or S->error (not "") says why there are
 * none. When S is not done yet, READY(ARG) is called once it is (from the
 * event loop); flood_snap_drop(S, ARG) gives the reference back (and
 * cancels that call). flood_snap_free() drops the daemon's own (at stop).
 */
struct flood_snap {
	struct flood_src *v;
	size_t n;
	bool done;
	char error[128];
	/* floods.c's */
	int refs;
	uint64_t gen_id;
	struct flood_read *read;
	struct snap_waiter *waiters;
	size_t n_waiters;
};
struct flood_snap *flood_snap_take(struct daemon *d, void (*ready)(void *arg),
				   void *arg);
void flood_snap_drop(struct flood_snap *s, void *arg);
void flood_snap_free(struct daemon *d);
void flood_watch_tick(struct daemon *d);
uint64_t flood_watch_limited(const struct daemon *d);
void flood_watch_free(struct daemon *d);
/*
 * halfopen.c: flood { tcp-half-open }. tick() (once a second, event loop)
 * starts a pass over the conntrack table when none is under way: the
 * sources with more unanswered TCP sessions than the limit are put into
 * the kernel set flood_half_open4/6 (their new TCP sessions dropped
 * there), those below it taken out; with the limit off it frees its state.
 * free() ends a pass and frees everything. snapshot() fills
 * flood_half_open_sources and flood_half_open_untracked. count() answers
 * how many unanswered sessions SRC (an IPv4 address, or an IPv6 prefix's
 * address as in flood_limited6) held at the last pass when it was over the
 * limit, else 0.
 */
void halfopen_tick(struct daemon *d);
void halfopen_free(struct daemon *d);
void halfopen_snapshot(struct daemon *d, struct stats_snapshot *s);
uint32_t halfopen_count(struct daemon *d, const char *src);
void observe_close(struct daemon *d);
/* The ruleset watch: started by the first observe_configure(), stopped by
 * observe_close() (before the event loop would run again). */
void ruleset_watch_start(struct daemon *d);
void ruleset_watch_stop(struct daemon *d);

/* idsources.c: the identity table's ignore list, state file and RADIUS
 * listener. Configure applies P (at start and on every reload; called by
 * observe_configure); restore reads the state file back (entries past
 * their expiry dropped); save writes it when the table changed (FORCE:
 * anyway), whole or not at all; close stops the listener and saves. Once
 * a second, when entries went (logout, replacement, expiry) and `queue {
 * revoke on }`, the sessions the policy no longer allows are revoked as
 * on a reload (daemon_revoke). */
struct radius_srv;
void idsources_configure(struct daemon *d, const struct policy *p);
void idsources_restore(struct daemon *d);
void idsources_save(struct daemon *d, bool force);
void idsources_close(struct daemon *d);

/* idapi.c: the push API. A login: ADDRESS ("ADDR" or "ADDR/LEN"), USER,
 * GROUPS, LIFETIME_S (0: identity { ttl }), SOURCE (NULL: api). */
struct idapi;
struct idapi_req {
	const char *address, *user, *source;
	const char *const *groups;
	size_t ngroups;
	uint32_t lifetime_s;
};
/* Checks and records R; returns its enum login_result with its name
 * ("new", "refreshed", "replaced", "ignored") in OUT, or -1 with the
 * reason in OUT (bad input), or IDAPI_FULL with it (the table holds
 * IDTABLE_LOGINS_MAX entries: nothing recorded, the request was good). */
#define IDAPI_FULL (-2)
int idapi_login(struct daemon *d, const struct idapi_req *r,
		struct evbuffer *out);
/* Ends the entry of ADDRESS ("ADDR" or "ADDR/LEN") for SOURCE (NULL:
 * api), only if it is USER's when USER is given: 1 removed, 0 none, -1
 * bad arguments (the reason in OUT). */
int idapi_logout(struct daemon *d, const char *address, const char *user,
		 const char *source, struct evbuffer *out);
/* Starts, moves or stops the HTTP listener as P says; re-reads the token. */
void idapi_configure(struct daemon *d, const struct policy *p);
void idapi_close(struct daemon *d);
/* Connections the push API refused (limits, descriptor reserve, accept
 * errors), its closed listeners included. */
uint64_t idapi_refused(const struct daemon *d);

/* The facts of conntrack entry E's decision, as sessions_get() gives
 * them (into OUT; false when none are remembered). sluiced keeps them
 * under the key of the packet it was asked about, which the filter hooks
 * saw after DNAT (ct_entry_seen_key), not under E's original tuple. */
static inline bool entry_session_get(struct sessions *s,
				     const struct ct_entry *e,
				     struct session_info *out)
{
	struct session_key k;
	ct_entry_seen_key(e, &k);
	return sessions_get(s, &k, out);
}

/* Forgets E's decision (entry_session_get's key): its session was cut. */
static inline void entry_session_del(struct sessions *s,
				     const struct ct_entry *e)
{
	struct session_key k;
	ct_entry_seen_key(e, &k);
	sessions_del(s, &k);
}

/* commands.c: the control socket's commands (ARG: the daemon). */
extern const struct control_command daemon_commands[];
/* The name of rule id RID (a ct mark's) in generation G: the rule's name,
 * or "(sluiced)", "(creation)", "(published)", "(fail-open)", or "(rule
 * N)" written into BUF (LEN bytes) for an id G does not have. */
const char *daemon_rule_name(const struct gen *g, uint32_t rid, char *buf,
			     size_t len);
/* Applies P's control block to the running socket (owner, group, mode,
 * access groups, limits); one that cannot be applied (an unknown user or
 * group, an owner sluiced -u cannot give) is said by daemon_warn(), and
 * the socket keeps its access. */
void daemon_control_configure(struct daemon *d, const struct policy *p);

#endif
