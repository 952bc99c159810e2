/*
 * daemon.h — the state of sluiced, owned by the main thread.
 */
#ifndef SLUICED_DAEMON_H
#define SLUICED_DAEMON_H

#include "decide/decide.h"
#include "kernel/conntrack.h"
#include "kernel/ruleset.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct event;
struct evbuffer;
struct iptable;
struct sessions;
struct worker;
struct control;
struct lookups;
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

	struct iptable *ids;
	struct sessions *sessions;
	struct worker **workers;
	size_t nworkers;
	struct control *ctl;
	struct lookups *lookups;
	struct farms *farms;
	struct alerts *alerts;
	struct fwlog *fwlog;
	struct metrics_server *metrics;
	char *metrics_addr;
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

	time_t started;
	uint64_t reloads, reload_failures, revoked;
};

/* reload.c: loads the policy file, replaces ruleset and generation. On any
 * error, the running policy and ruleset stay; the messages are in OUT (may
 * be NULL). Returns 0 or -1. */
int daemon_reload(struct daemon *d, struct evbuffer *out);
/* Revokes sessions the current policy no longer allows; returns how many
 * were cut. */
size_t daemon_revoke(struct daemon *d);
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

/* observe.c: counters, firewall log, alerts, metrics. */
void daemon_snapshot(struct daemon *d, struct stats_snapshot *s);
void daemon_record(void *ctx, const struct flow *f, const struct gen *g,
		   enum verdict v, int rule, const char *user, const char *name,
		   enum reason why, uint64_t latency_ns);
void observe_configure(struct daemon *d, const struct policy *p);
void observe_close(struct daemon *d);
/* The ruleset watch: started by the first observe_configure(), stopped by
 * observe_close() (before the event loop would run again). */
void ruleset_watch_start(struct daemon *d);
void ruleset_watch_stop(struct daemon *d);

/* commands.c: the control socket's commands. */
int daemon_command(void *arg, int argc, char **argv, bool json,
		   struct evbuffer *out);

#endif
