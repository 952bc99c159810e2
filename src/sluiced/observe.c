/*
 * observe.c — what sluiced shows of itself: the counter snapshot (per-worker
 * counters summed when read), the firewall log records, the alerts tick and
 * the Prometheus endpoint.
 */
#include "sluiced/daemon.h"
#include "sluiced/farms.h"
#include "sluiced/lookups.h"
#include "common/log.h"
#include "common/util.h"
#include "kernel/conntrack.h"
#include "queue/worker.h"
#include "stats/alerts.h"
#include "stats/counters.h"
#include "stats/fwlog.h"
#include "stats/prom.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

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
		s->lookups_dns += st->in_flight_name;
		s->lookups_ldap += st->in_flight_groups;
		s->lookups_nss += st->in_flight_uid;
		for (int b = 0; b < STATS_LAT_BUCKETS && b < 12; b++) {
			s->decision_latency_seconds.buckets[b] +=
			    st->latency_hist[b];
			s->decision_latency_seconds.count += st->latency_hist[b];
		}
		s->decision_latency_seconds.sum += (double)st->latency_ns_sum / 1e9;
		pthread_mutex_unlock(&w->lock);
	}
	s->slots_total = p->decisions.slots;
	s->worker_threads = d->nworkers;
	struct lookups_stats ls;
	lookups_stats(d->lookups, &ls);
	s->dns_cache_entries = ls.dns_cache_entries;
	s->dns_cache_hits = ls.dns_cache_hits;
	s->dns_cache_misses = ls.dns_cache_misses;
	s->dns_cache_negative_hits = ls.dns_negative_hits;
	s->identity_cache_hits = ls.ldap_cache_hits + ls.nss_cache_hits;
	if (d->fwlog)
		fwlog_stats(d->fwlog, &s->fwlog_written, &s->fwlog_dropped);
	s->connections_refused = metrics_refused(d->metrics) + idapi_refused(d) +
				 control_refused(d->ctl) + d->metrics_refused_old;
	if (d->farms) {
		struct farms_stats fs;
		farms_stats(d->farms, &fs);
		s->verifier_checks = fs.checks_run;
		s->verifier_failures = fs.check_failures;
		s->farm_members_up = fs.members_in_map;
		s->farm_members_down = fs.members_down;
		s->verifier_response_seconds = (double)fs.last_response_us / 1e6;
	}
	/* active sessions: the conntrack entries of this namespace */
	uint64_t n = 0;
	if (ct_count(&n) < 0)
		n = 0;
	s->sessions_active = n;
	stats_fill_process(s);
	stats_fill_kernel_queue(s, (uint16_t)p->queue.num, (uint16_t)d->nworkers);
	stats_fill_kernel_rules(s, d->kopts.table);
}

/* The first network (not computer set) holding the address, or NULL. */
static const char *net_of(const struct policy *p, const struct flow *f,
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
	if (!d->fwlog)
		return;
	static const enum fwlog_reason map[RSN_COUNT] = {
	    [RSN_RULE] = FWR_RULE,	   [RSN_DEFAULT] = FWR_DEFAULT,
	    [RSN_DEADLINE] = FWR_DEADLINE, [RSN_SLOTS] = FWR_SLOTS_FULL,
	    [RSN_SOURCE] = FWR_PER_SOURCE, [RSN_MALFORMED] = FWR_FAIL,
	    [RSN_WATCHDOG] = FWR_FAIL,	   [RSN_SHUTDOWN] = FWR_FAIL,
	    [RSN_OVERFLOW] = FWR_FAIL,	   [RSN_MISREAD] = FWR_MISREAD};
	const struct policy *p = g->policy;
	struct fwlog_rec r = {
	    .flow = *f,
	    .src_net = f->src_local ? "localhost" : net_of(p, f, false),
	    .dst_net = f->dst_local ? "localhost" : net_of(p, f, true),
	    .action = v,
	    .rule = rule >= 0 && (size_t)rule < p->nrules ? p->rules[rule]->name
							 : NULL,
	    .user = user,
	    .name = name,
	    .reason = map[why],
	    .latency_us = (uint32_t)(latency_ns / 1000)};
	clock_gettime(CLOCK_REALTIME, &r.time);
	fwlog_record(d->fwlog, &r);
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
}

static void fill_metrics(void *arg, struct stats_snapshot *s)
{
	daemon_snapshot(arg, s);
}

/* (Re)opens what the policy's log, metrics and alert settings ask for. */
void observe_configure(struct daemon *d, const struct policy *p)
{
	alerts_free(d->alerts);
	d->alerts = alerts_new(p, alert_log, d);
	if (!d->ev_tick) {
		d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
		struct timeval tv = {1, 0};
		event_add(d->ev_tick, &tv);
	}
	/* the firewall log: reopened with the new settings */
	struct fwlog *old = d->fwlog;
	d->fwlog = (p->log.file || p->log.syslog) ? fwlog_open(&p->log, NULL)
						  : NULL;
	if ((p->log.file || p->log.syslog) && !d->fwlog)
		log_warn("firewall log %s", p->log.file ? p->log.file : "(syslog)");
	fwlog_close(old);
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
				log_warn("metrics: cannot listen on %s", want);
			else
				d->metrics_addr = xstrdup(want);
		}
	}
	metrics_limits(d->metrics, p->metrics.max_connections,
		       p->metrics.timeout_ms);
	idsources_configure(d, p);
}

void observe_close(struct daemon *d)
{
	if (d->ev_tick)
		event_free(d->ev_tick);
	d->ev_tick = NULL;
	alerts_free(d->alerts);
	d->alerts = NULL;
	metrics_close(d->metrics);
	d->metrics = NULL;
	free(d->metrics_addr);
	d->metrics_addr = NULL;
	fwlog_close(d->fwlog);
	d->fwlog = NULL;
}
