/*
 * fwlog_rate — firewall log records formatted per second on one core: the
 * writer's own formatter (fwlog_format, JSON and ECS) against the same ECS
 * record built and written with jansson (json_pack + json_dumps, the
 * strings through json_text as every other JSON output), to decide whether
 * the log's writer moves to jansson (issue 17; BENCHMARKS.md).
 *
 *   fwlog_rate [RECORDS]     (default 500000; prints records/s for each)
 */
#include "stats/fwlog.h"
#include "stats/jsonstr.h"

#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct fwlog_rec sample(void)
{
	struct fwlog_rec r = {0};
	r.time.tv_sec = 1714564800;
	r.flow.family = AF_INET;
	r.flow.proto = IPPROTO_TCP;
	parse_addr("198.18.1.3", &r.flow.src4, &r.flow.src6);
	parse_addr("198.19.0.7", &r.flow.dst4, &r.flow.dst6);
	r.flow.sport = 40000;
	r.flow.dport = 443;
	r.src_net = "internal";
	r.dst_net = "external";
	r.action = VERDICT_ALLOW;
	r.rule = "staff web";
	r.user = "Ren\xc3\xa9 M\xc3\xbcller";
	r.name = "www.example.com";
	r.witness = "dns-answer";
	r.reason = RSN_RULE;
	r.latency_us = 850;
	return r;
}

/* The ECS record of R built with jansson, written out (what a jansson
 * writer would do per record). Returns its length. */
static size_t jansson_ecs(const struct fwlog_rec *r, char *buf, size_t len)
{
	json_t *o = json_pack(
	    "{s:s,s:{s:s},s:{s:s,s:[s],s:[s,s],s:s,s:s,s:s,s:I},"
	    "s:{s:s,s:s,s:o},s:{s:s,s:i},s:{s:s,s:i,s:o},"
	    "s:{s:s,s:s,s:s},s:{s:o},s:{s:o},s:{s:s,s:o,s:o,s:f}}",
	    "@timestamp", "2024-05-01T12:00:00.000Z", "ecs", "version", "8.11.0",
	    "event", "kind", "event", "category", "network", "type",
	    "connection", "allowed", "action", "allow", "outcome", "success",
	    "reason", "rule", "duration", (json_int_t)r->latency_us * 1000,
	    "observer", "type", "firewall", "product", "sluice", "hostname",
	    json_text("gw1"), "source", "ip", "198.18.1.3", "port",
	    r->flow.sport, "destination", "ip", "198.19.0.7", "port",
	    r->flow.dport, "domain", json_text(r->name), "network", "transport",
	    "tcp", "type", "ipv4", "community_id",
	    "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "rule", "name", json_text(r->rule),
	    "user", "name", json_text(r->user), "sluice", "event", "decided",
	    "source_network", json_text(r->src_net), "destination_network",
	    json_text(r->dst_net), "latency_ms", r->latency_us / 1000.0);
	size_t n = json_dumpb(o, buf, len, JSON_ENSURE_ASCII | JSON_COMPACT);
	json_decref(o);
	return n;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 500000;
	if (n <= 0)
		n = 500000;
	static char line[FWLOG_LINE_MAX];
	struct fwlog_rec r = sample();
	size_t sink = 0;
	enum log_format fmts[] = {LOGF_JSON, LOGF_ECS};
	const char *names[] = {"fwlog_format json", "fwlog_format ecs"};
	for (int f = 0; f < 2; f++) {
		struct log_cfg cfg = {.format = fmts[f], .file = "/dev/null",
				      .buffer = 16};
		struct fwlog *l = fwlog_open(&cfg, "gw1");
		if (!l)
			return 1;
		double t0 = now_s();
		for (long i = 0; i < n; i++) {
			fwlog_format(l, &r, line, sizeof(line));
			sink += strlen(line);
		}
		double t = now_s() - t0;
		printf("%-22s %10.0f records/s (%zu bytes a record)\n", names[f],
		       n / t, strlen(line));
		fwlog_close(l);
	}
	double t0 = now_s();
	size_t len = 0;
	for (long i = 0; i < n; i++)
		sink += len = jansson_ecs(&r, line, sizeof(line));
	double t = now_s() - t0;
	printf("%-22s %10.0f records/s (%zu bytes a record)\n", "jansson ecs",
	       n / t, len);
	return sink ? 0 : 1;
}
