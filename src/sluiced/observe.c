/*
 * observe.c — what sluiced shows of itself: the counter snapshot (per-worker
 * counters summed when read), the firewall log records, the alerts tick and
 * the Prometheus endpoint.
 */
#include "sluiced/daemon.h"
#include "sluiced/dashboard.h"
#include "sluiced/farms.h"
#include "sluiced/lookups.h"
#include "sluiced/dnsfilter.h"
#include "sluiced/ftpfilter.h"
#include "sluiced/metrics.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "kernel/conntrack.h"
#include "queue/worker.h"
#include "stats/alerts.h"
#include "stats/counters.h"
#include "stats/fwlog.h"
#include "stats/prom.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* sluice-portal's last report into S (the counters portal_*): the
 * counters keep their last values; the gauge of users signed in is 0
 * once the portal has not reported for PORTAL_REPORT_STALE_MS (stopped:
 * its sign-ins ended with it). */
static void portal_snapshot(const struct daemon *d, struct stats_snapshot *s)
{
	const struct portal_report *r = &d->portal;
	bool fresh = r->at_ms && mono_ms() - r->at_ms < PORTAL_REPORT_STALE_MS;
	s->portal_signed_in = fresh ? r->signed_in : 0;
	s->portal_signins = r->signins;
	s->portal_refused = r->refused;
	s->portal_throttled = r->throttled;
	s->portal_directory_unavailable = r->directory_unavailable;
	s->portal_push_failed = r->push_failed;
	s->portal_busy = r->busy;
}

void daemon_snapshot(struct daemon *d, struct stats_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	const struct policy *p = d->gen->policy;
	for (size_t i = 0; i < d->nworkers; i++) {
		struct worker *w = d->workers[i];
		pthread_mutex_lock(&w->lock);
		const struct decide_stats *st = decider_stats(w->dec);
		s->packets_queued += st->packets;
		s->verdicts_allow += st->verdict_allow;
		s->verdicts_deny += st->verdict_deny;
		s->verdicts_reject += st->verdict_reject;
		s->verdicts_fail += st->verdict_fail;
		s->packets_misread += st->misread;
		uint64_t retries, lost;
		nfqs_send_stats(w->q, &retries, &lost);
		s->verdict_send_retries += retries;
		s->verdicts_lost += lost;
		s->sessions_service_decided += st->decisions;
		s->sessions_decided_at_once +=
		    st->decided_first_pass + st->decided_at_once;
		s->decisions_pending += decider_pending(w->dec);
		s->slots_available += decider_slots_free(w->dec, false);
		s->slots_local_available += decider_slots_free(w->dec, true);
		s->decisions_timed_out += st->timed_out;
		s->lookups_answered_on_worker += st->lookups_at_hand;
		s->identity_ignored_on_lookup += st->user_ignored;
		s->lookups_dns += st->in_flight_name;
		s->lookups_ldap += st->in_flight_groups;
		s->lookups_nss += st->in_flight_uid;
		for (int b = 0; b < STATS_LAT_BUCKETS; b++) {
			s->decision_latency_seconds.buckets[b] +=
			    st->latency_hist[b];
			s->decision_latency_seconds.count += st->latency_hist[b];
		}
		s->decision_latency_seconds.sum += (double)st->latency_ns_sum / 1e9;
		pthread_mutex_unlock(&w->lock);
	}
	s->slots_total = p->decisions.slots;
	s->worker_threads = metrics_threads();
	struct lookups_stats ls;
	lookups_stats(d->lookups, &ls);
	s->dns_cache_entries = ls.dns_cache_entries;
	s->dns_cache_hits = ls.dns_cache_hits;
	s->dns_cache_misses = ls.dns_cache_misses;
	s->dns_cache_negative_hits = ls.dns_negative_hits;
	s->dns_names_bounded = ls.dns_bounded;
	dnsfilter_snapshot(d->dns, s);
	struct ftpfilter_stats ftps;
	ftpfilter_stats(d->ftp, &ftps);
	s->ftp_filter_segments = ftps.packets;
	s->ftp_filter_refused = ftps.refused;
	s->ftp_filter_dropped = ftps.dropped;
	s->identity_cache_hits = ls.ldap_cache_hits + ls.nss_cache_hits;
	s->identity_incomplete = ls.ldap_incomplete + ls.nss_incomplete;
	if (d->fwlog)
		fwlog_stats(d->fwlog, &s->fwlog_written, &s->fwlog_dropped);
	s->fwlog_written += d->fwlog_written_old; /* never back on reload */
	s->fwlog_dropped += d->fwlog_dropped_old;
	s->connections_refused = metrics_refused(d->metrics) + idapi_refused(d) +
				 control_refused(d->ctl) + d->metrics_refused_old;
	portal_snapshot(d, s);
	if (d->farms) {
		struct farms_stats fs;
		farms_stats(d->farms, &fs);
		s->verifier_checks = fs.checks_run;
		s->verifier_failures = fs.check_failures;
		s->farm_members_up = fs.members_in_map;
		s->farm_members_down = fs.members_down;
		s->verifiers_down = fs.verifiers_down;
		s->verifier_response_seconds = (double)fs.last_response_us / 1e6;
	}
	/* active sessions: the conntrack entries of this namespace */
	uint64_t n = 0;
	if (ct_count(&n) < 0)
		n = 0;
	s->sessions_active = n;
	s->ruleset_restored = d->ruleset_restored;
	stats_fill_process(s);
	stats_fill_kernel_queue(s, (uint16_t)p->queue.num, (uint16_t)d->nworkers);
	/* the kernel's rule counters (sessions, spoofed, deny memory, flood
	 * limits): one listing, kept across the tables a reload replaces */
	metrics_kernel_fill(d, s);
	kernlog_snapshot(d, s);
	halfopen_snapshot(d, s);
}

const char *daemon_net_of(const struct policy *p, const struct flow *f,
			  bool dst)
{
	for (size_t i = 0; i < p->nnets; i++) {
		const struct netset *n = p->nets[i];
		if (!n->is_network)
			continue;
		if (f->family == AF_INET ? addrset_has4(&n->addrs, dst ? f->dst4 : f->src4)
					 : addrset_has6(&n->addrs, dst ? f->dst6 : f->src6))
			return n->name;
	}
	return NULL;
}

void daemon_record(void *ctx, const struct flow *f, const struct gen *g,
		   enum verdict v, int rule, const char *user, const char *name,
		   enum reason why, uint64_t latency_ns)
{
	struct daemon *d = ctx;
	/* a worker, under its lock: observe_configure() swaps the log */
	struct fwlog *fl = __atomic_load_n(&d->fwlog, __ATOMIC_ACQUIRE);
	if (!fl)
		return;
	const struct policy *p = g->policy;
	struct fwlog_rec r = {
	    .flow = *f,
	    .src_net = f->src_local ? "localhost" : daemon_net_of(p, f, false),
	    .dst_net = f->dst_local ? "localhost" : daemon_net_of(p, f, true),
	    .action = v,
	    .rule = rule >= 0 && (size_t)rule < p->nrules ? p->rules[rule]->name
							 : NULL,
	    .user = user,
	    .name = name,
	    .witness = dnsfilter_witness(d->dns, p, f, name),
	    .reason = why,
	    .latency_us = (uint32_t)(latency_ns / 1000)};
	clock_gettime(CLOCK_REALTIME, &r.time);
	fwlog_record(fl, &r);
}

/* Makes NW the firewall log daemon_record() writes to and returns the one
 * it replaces, once no worker can still be writing to that: workers record
 * only while they hold their lock (src/queue/worker.c), so taking and
 * giving back each worker's lock waits out a record under way. */
static struct fwlog *fwlog_swap(struct daemon *d, struct fwlog *nw)
{
	struct fwlog *old = d->fwlog;
	__atomic_store_n(&d->fwlog, nw, __ATOMIC_RELEASE);
	for (size_t i = 0; i < d->nworkers; i++) {
		if (!d->workers || !d->workers[i])
			continue;
		pthread_mutex_lock(&d->workers[i]->lock);
		pthread_mutex_unlock(&d->workers[i]->lock);
	}
	return old;
}

static void alert_log(void *arg, int prio, const char *msg)
{
	log_at(prio, "alert: %s", msg); /* its own priority (journald) */
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct stats_snapshot s;
	daemon_snapshot(d, &s);
	alerts_tick(d->alerts, &s, (int64_t)mono_ms());
	flood_watch_tick(d);
	halfopen_tick(d);
}

static void fill_metrics(void *arg, struct stats_snapshot *s)
{
	daemon_snapshot(arg, s);
}

/* The firewall log opened again with P's settings (every reload: the file
 * may have moved or been rotated), then the kernel's records. The new log
 * is held until the old one is drained and closed, so the two never append
 * to the same file at once; one that cannot be opened leaves the running
 * log as it is, said by daemon_warn(). */
static void log_configure(struct daemon *d, const struct policy *p)
{
	bool want = p->log.file || p->log.syslog;
	struct fwlog *nw = want ? fwlog_open(&p->log, NULL) : NULL;
	if (want && !nw) {
		daemon_warn(d, errno, "firewall log %s: not opened%s",
			    p->log.file ? p->log.file : "(syslog)",
			    d->fwlog ? " (the running log goes on)" : "");
	} else {
		fwlog_hold(nw, true);
		struct fwlog *old = fwlog_swap(d, nw);
		if (old) {
			uint64_t w = 0, dr = 0;
			fwlog_flush(old); /* no worker adds to it any more */
			fwlog_stats(old, &w, &dr);
			d->fwlog_written_old += w;
			d->fwlog_dropped_old += dr;
		}
		fwlog_close(old);
		fwlog_hold(nw, false);
	}
	kernlog_configure(d, p); /* after the log: it writes there */
}

/* (Re)opens what the policy's log, metrics and alert settings ask for. */
void observe_configure(struct daemon *d, const struct policy *p)
{
	alerts_free(d->alerts);
	d->alerts = alerts_new(p, alert_log, d);
	if (!d->rswatch && !d->ev_rspoll)
		ruleset_watch_start(d);
	if (!d->ev_tick) {
		d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
		struct timeval tv = {1, 0};
		event_add(d->ev_tick, &tv);
	}
	log_configure(d, p);
	/* metrics: restarted when the address changes */
	const char *want = p->metrics.listen;
	if (!want || !d->metrics_addr || strcmp(want, d->metrics_addr) != 0) {
		d->metrics_refused_old += metrics_refused(d->metrics);
		metrics_close(d->metrics);
		d->metrics = NULL;
		free(d->metrics_addr);
		d->metrics_addr = NULL;
		if (want) {
			d->metrics = metrics_listen(d->base, want, fill_metrics, d);
			if (!d->metrics)
				daemon_warn(d, errno, "metrics: cannot listen "
					    "on %s", want);
			else
				d->metrics_addr = xstrdup(want);
			metrics_set_extra(d->metrics, metrics_extra);
			metrics_set_pages(d->metrics, dashboard_serve);
		}
	}
	metrics_limits(d->metrics, p->metrics.max_connections,
		       p->metrics.timeout_ms);
	idsources_configure(d, p);
	dashboard_start(d);
}

void observe_close(struct daemon *d)
{
	ruleset_watch_stop(d);
	if (d->ev_tick)
		event_free(d->ev_tick);
	d->ev_tick = NULL;
	alerts_free(d->alerts);
	d->alerts = NULL;
	flood_watch_free(d);
	flood_snap_free(d);
	halfopen_free(d);
	metrics_close(d->metrics);
	d->metrics = NULL;
	dashboard_stop(d);
	free(d->metrics_addr);
	d->metrics_addr = NULL;
	kernlog_close(d); /* before the log it writes to */
	fwlog_close(fwlog_swap(d, NULL));
	metrics_free(d);
}

/* ---- the ruleset watch -------------------------------------------------------
 *
 * Another program may flush or bury sluice's kernel ruleset at any time:
 * Debian's nftables.service runs `nft -f /etc/nftables.conf`, which starts
 * with `flush ruleset` (the table inet sluice and iptables-nft's filter
 * tables go with it); `iptables -F` flushes the SLUICE chain and the jumps
 * to it; Docker, libvirt or firewalld insert rules above the jump. The
 * kernel announces every change of the nftables ruleset on the netlink
 * group NFNLGRP_NFTABLES (what `nft monitor` reads). A message about a
 * table, chain, rule or set element added, changed or deleted in table
 * inet sluice or the ip/ip6 filter tables schedules a check once the burst it belongs to
 * has been quiet for RSQUIET_MS, and at the latest RSBURST_MS after its
 * first event: another program's change is a sequence of commands (ufw's
 * start runs `iptables -F`, then `iptables -X`, then iptables-restore, each
 * its own process), and a repair between two of them would make the next
 * fail (-X refuses a chain that a jump refers to). An SLUICE chain found
 * emptied but not deleted (RS_XT_EMPTIED: what `iptables -F` leaves) is
 * left alone up to RSEMPTIED_MS from the incident's first event, since an
 * -X most likely follows. A lost burst (ENOBUFS)
 * schedules a check too, and a
 * check runs every RSPOLL_S seconds in case a message was never seen. The
 * check reads the kernel (ruleset_check) and puts back what is missing
 * (ruleset_repair), logs it and counts it (ruleset_restored, whose default
 * alert fires at the next tick). sluiced's own changes (reload, farms,
 * creation elements) cause checks that find everything in place.
 *
 * The check compares the table with what sluiced read back right after
 * writing it, and a change another program commits in between is in that
 * read too. So the events also say who changed the table: the messages of
 * one transaction end with NEWGEN, whose NFTA_GEN_PROC_PID is the thread
 * that committed it (task_pid_nr(): a pid of the host's PID namespace).
 * A transaction that added, changed or deleted a table, chain or rule of
 * table inet sluice, or a flood exception, from a process other than
 * sluiced is damage (ruleset_foreign_change), whatever the read-back
 * holds. Other set elements are left out (an administrator may clear a
 * limited source with nft). Each NEWGEN's generation also goes to the
 * read-backs' judge (ruleset_event_gen): a read-back that another
 * transaction came before is damaged when that transaction touched the
 * table (even in another PID namespace, a container, where the pids
 * cannot be compared: more transactions touched it than sluiced made) or
 * when any of its events may be lost (a generation skipped, ENOBUFS, or
 * the socket's drop count moved: a full buffer, which any root process
 * can cause by sending to the events' multicast group).
 */
#define RSQUIET_MS 150
#define RSBURST_MS 1000
#define RSEMPTIED_MS 1500 /* how long an emptied SLUICE chain is left alone */
#define RSPOLL_S 5
#define RSWATCH_RCVBUF (8 << 20) /* a 50,000-element commit: ~3 MB */

static void rs_check(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char *gone = NULL, *err = NULL;
	uint64_t c0 = thread_cpu_ns();
	unsigned missing = ruleset_check(&d->kopts, &gone);
	d->rs_poll_ms = mono_ms() + kread_wait_ms(thread_cpu_ns() - c0);
	if (!missing) {
		d->ruleset_broken = false;
		d->rs_burst_ms = 0;
		return;
	}
	uint64_t now = mono_ms();
	if (!d->rs_burst_ms)
		d->rs_burst_ms = now;
	if ((missing & RS_XT_EMPTIED) && !(missing & RS_MISSING_NFT) &&
	    now < d->rs_burst_ms + RSEMPTIED_MS) {
		/* flushed, maybe not yet deleted: wait for the -X (its event
		 * reschedules this check) or for RSEMPTIED_MS */
		uint64_t wait = d->rs_burst_ms + RSEMPTIED_MS - now;
		struct timeval tv = {(time_t)(wait / 1000),
				     (suseconds_t)(wait % 1000) * 1000};
		event_add(d->ev_rscheck, &tv);
		free(gone);
		return;
	}
	d->rs_burst_ms = 0;
	if (!d->ruleset_broken) /* one incident, however many retries */
		d->ruleset_restored++;
	uint64_t t0 = mono_ms();
	int rc = ruleset_repair(d->gen->policy, &d->kopts, missing, &err);
	d->ruleset_broken = rc < 0;
	if (rc < 0) {
		log_warnx("kernel ruleset: %s missing (removed by another "
			  "program); putting it back failed: %s", gone, err);
		struct timeval tv = {1, 0}; /* try again */
		event_add(d->ev_rscheck, &tv);
	} else {
		log_warnx("kernel ruleset: %s missing (removed or buried by "
			  "another program): put back in %llu ms", gone,
			  (unsigned long long)(mono_ms() - t0));
	}
	free(gone);
	free(err);
}

/* Schedules the check of the burst an event belongs to: RSQUIET_MS after
 * this event, but no later than RSBURST_MS after the burst's first one
 * (a burst is one check; a steady stream of changes still gets checked).
 * d->rs_burst_ms is the first event of an incident not yet repaired: a
 * check that holds off an emptied chain (RS_XT_EMPTIED) keeps it, so the
 * hold is RSEMPTIED_MS from the incident's start, not from each event. */
static void rs_schedule(struct daemon *d)
{
	uint64_t now = mono_ms();
	if (!d->rs_burst_ms)
		d->rs_burst_ms = now;
	uint64_t due = now + RSQUIET_MS;
	if (due > d->rs_burst_ms + RSBURST_MS)
		due = d->rs_burst_ms + RSBURST_MS;
	uint64_t wait = due > now ? due - now : 0;
	struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
	event_add(d->ev_rscheck, &tv);
}

/* What an nftables event message touched (rs_touched). */
enum rs_touch {
	RS_UNTOUCHED,
	RS_CHECK, /* an iptables-nft filter table, a set element, or unread */
	RS_TABLE, /* a table, chain, rule or flood exception of inet sluice */
};

/* True when set-element message NLH is about flood_exceptions4/6 (its
 * attribute 2, NFTA_SET_ELEM_LIST_SET): policy, compared by the check,
 * unlike the meters and memories that packets and administrators fill. */
static bool rs_exceptions(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET)
			return mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0 ||
			       strncmp(mnl_attr_get_str(a), "flood_exceptions",
				       16) == 0;
	}
	return false;
}

/* What nftables message NLH may have touched of sluice's ruleset: a
 * deleted table, chain or rule, a new rule, or a set element, in table
 * inet TABLE (RS_TABLE, or RS_CHECK for an element not a flood
 * exception) or in an ip/ip6
 * `filter` table (iptables-nft; RS_CHECK). The table name is attribute 1
 * (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE,
 * NFTA_SET_ELEM_LIST_TABLE) of each. */
static enum rs_touch rs_touched(const struct nlmsghdr *nlh, const char *table)
{
	bool elem = false;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return RS_UNTOUCHED;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWTABLE: /* its flags changed (dormant) */
	case NFT_MSG_DELTABLE:
	case NFT_MSG_NEWCHAIN: /* a chain hooked in */
	case NFT_MSG_DELCHAIN:
	case NFT_MSG_DELRULE:
	case NFT_MSG_NEWRULE:
		break;
	case NFT_MSG_NEWSETELEM: /* the flood exceptions */
	case NFT_MSG_DELSETELEM:
		elem = true;
		break;
	default:
		return RS_UNTOUCHED;
	}
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		return RS_UNTOUCHED;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*g))
	{
		if (mnl_attr_get_type(a) != 1)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			return RS_CHECK; /* unreadable: check */
		const char *t = mnl_attr_get_str(a);
		if (g->nfgen_family == NFPROTO_INET && strcmp(t, table) == 0)
			return elem && !rs_exceptions(nlh) ? RS_CHECK : RS_TABLE;
		if ((g->nfgen_family == NFPROTO_IPV4 ||
		     g->nfgen_family == NFPROTO_IPV6) &&
		    strcmp(t, "filter") == 0)
			return RS_CHECK;
		return RS_UNTOUCHED;
	}
	return RS_UNTOUCHED;
}

/* True when PID (a host pid) is a thread of this process. */
static bool rs_own_thread(uint32_t pid)
{
	char path[48];
	if (pid == (uint32_t)getpid())
		return true;
	snprintf(path, sizeof(path), "/proc/self/task/%" PRIu32, pid);
	return access(path, F_OK) == 0;
}

/* What a NEWGEN message says of the transaction it ends. */
struct rs_newgen {
	bool have_gen;
	uint32_t gen;	/* NFTA_GEN_ID */
	uint32_t pid;	/* NFTA_GEN_PROC_PID: 0 before Linux 4.20 */
	char name[64];	/* NFTA_GEN_PROC_NAME, escaped */
};

static void rs_newgen_parse(const struct nlmsghdr *nlh, struct rs_newgen *g)
{
	const struct nlattr *a;
	*g = (struct rs_newgen){.name = "?"};
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		return;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		uint16_t t = mnl_attr_get_type(a);
		if ((t == NFTA_GEN_ID || t == NFTA_GEN_PROC_PID) &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			uint32_t v = ntohl(mnl_attr_get_u32(a));
			if (t == NFTA_GEN_ID) {
				g->gen = v;
				g->have_gen = true;
			} else {
				g->pid = v;
			}
		}
		if (t == NFTA_GEN_PROC_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			text_escape(g->name, sizeof(g->name),
				    mnl_attr_get_str(a),
				    strlen(mnl_attr_get_str(a)), false);
	}
}

/* A transaction that touched table inet sluice ended (G): unless its
 * committer is this process, that is another program's change
 * (ruleset_foreign_change). Without a pid it tells nothing. */
static void rs_attribute(struct daemon *d, const struct rs_newgen *g)
{
	if (!g->pid || rs_own_thread(g->pid))
		return;
	char who[160];
	snprintf(who, sizeof(who), "another process, pid %" PRIu32 " \"%s\"",
		 g->pid, g->name);
	log_debug("ruleset watch: table inet %s changed by %s", d->kopts.table,
		  who);
	ruleset_foreign_change(who);
}

/* Reads the messages of one datagram (LEN bytes at BUF): true when one
 * may have touched sluice's ruleset; a transaction's end (NEWGEN) after
 * messages that touched table inet sluice is attributed (rs_attribute). */
static bool rs_messages(struct daemon *d, const void *buf, int len)
{
	bool check = false;
	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES &&
		    NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN) {
			struct rs_newgen g;
			rs_newgen_parse(nlh, &g);
			if (d->rs_gen_table && d->rs_attribute)
				rs_attribute(d, &g);
			/* the count of touches is for where pids cannot
			 * be compared; here attribution named them */
			if (g.have_gen)
				ruleset_event_gen(g.gen, d->rs_gen_table &&
							     !d->rs_attribute);
			d->rs_gen_table = false;
			continue;
		}
		enum rs_touch t = rs_touched(nlh, d->kopts.table);
		check |= t != RS_UNTOUCHED;
		d->rs_gen_table |= t == RS_TABLE;
	}
	return check;
}

static void rs_read(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	static char buf[65536]; /* main thread only */
	bool check = false;
	for (int i = 0; i < 64; i++) { /* bounded: the loop gets back soon */
		struct sockaddr_nl from = {0};
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		if (n > 0 && from.nl_pid != 0) /* not the kernel's: forged */
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != ENOBUFS)
				break;
			check = true; /* events were lost, and who made them */
			d->rs_gen_table = false;
			ruleset_events_lost();
			continue;
		}
		if (n == 0)
			break;
		check |= rs_messages(d, buf, (int)n);
	}
	if (check)
		rs_schedule(d);
}

/* The periodic check, unless the last check was costly and its wait
 * (kread_wait_ms) is not over; a check after an event is never held. */
static void rs_poll(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	if (mono_ms() >= d->rs_poll_ms)
		rs_schedule(d);
}

/* The event socket; NULL (logged) when it cannot be opened: the periodic
 * check still runs. */
static struct mnl_socket *rs_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER,
						 SOCK_CLOEXEC | SOCK_NONBLOCK);
	int grp = NFNLGRP_NFTABLES, rcv = RSWATCH_RCVBUF;
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0) {
		log_warn("ruleset watch: nftables events");
		if (nl)
			mnl_socket_close(nl);
		return NULL;
	}
	/* a flush of a big ruleset is a burst; ENOBUFS is handled anyway */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv,
		       sizeof(rcv)) < 0)
		log_warn("ruleset watch: an 8 MiB event buffer");
	/* connected to the kernel: another process's datagrams sent to this
	 * socket's portid are refused (netlink_getsockbyportid), and cannot
	 * fill its buffer so that the kernel's events are lost */
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (connect(mnl_socket_get_fd(nl), (struct sockaddr *)&kernel,
		    sizeof(kernel)) < 0)
		log_debug("ruleset watch: connect: %s", strerror(errno));
	return nl;
}

/* True when this process is in the host's PID namespace, where the pids
 * of NEWGEN (task_pid_nr()) are its own (the init namespace's inode
 * number is the kernel's constant PROC_PID_INIT_INO). */
static bool rs_host_pids(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == 0xEFFFFFFCu;
}

void ruleset_watch_start(struct daemon *d)
{
	d->rs_attribute = rs_host_pids();
	if (!d->rs_attribute)
		log_info("ruleset watch: not in the host's PID namespace: "
			 "another program's change to table inet %s is told "
			 "by the table's contents and the ruleset generation, "
			 "not by its pid", d->kopts.table);
	d->rs_gen_table = false;
	d->rswatch = rs_open();
	ruleset_watch_socket(d->rswatch ? mnl_socket_get_fd(d->rswatch) : -1);
	d->ev_rscheck = event_new(d->base, -1, 0, rs_check, d);
	if (d->rswatch) {
		d->ev_rswatch = event_new(d->base, mnl_socket_get_fd(d->rswatch),
					  EV_READ | EV_PERSIST, rs_read, d);
		event_add(d->ev_rswatch, NULL);
	}
	d->ev_rspoll = event_new(d->base, -1, EV_PERSIST, rs_poll, d);
	struct timeval tv = {RSPOLL_S, 0};
	event_add(d->ev_rspoll, &tv);
}

void ruleset_watch_stop(struct daemon *d)
{
	if (d->ev_rswatch)
		event_free(d->ev_rswatch);
	if (d->ev_rscheck)
		event_free(d->ev_rscheck);
	if (d->ev_rspoll)
		event_free(d->ev_rspoll);
	d->ev_rswatch = d->ev_rscheck = d->ev_rspoll = NULL;
	ruleset_watch_socket(-1);
	if (d->rswatch)
		mnl_socket_close(d->rswatch);
	d->rswatch = NULL;
}
