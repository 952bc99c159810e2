/* test_fwlog.c — the firewall log: JSON and W3C records, reopen after a
 * rename (logrotate), drops counted when the buffer is full, and nothing
 * lost when it is not, from several threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats/fwlog.h"
#include "stats/jsonstr.h"

#include <jansson.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/sluice-fwlog-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct fwlog_rec sample(void)
{
	struct fwlog_rec r = {0};
	r.time.tv_sec = 1714564800; /* 2024-05-01 12:00:00 UTC */
	r.time.tv_nsec = 123000000;
	r.flow.family = AF_INET;
	r.flow.proto = IPPROTO_TCP;
	parse_addr("10.1.2.3", &r.flow.src4, &r.flow.src6);
	parse_addr("203.0.113.7", &r.flow.dst4, &r.flow.dst6);
	r.flow.sport = 40000;
	r.flow.dport = 443;
	r.src_net = "internal";
	r.dst_net = "external";
	r.action = VERDICT_ALLOW;
	r.rule = "staff web";
	r.user = "alice";
	r.name = "www.example.com";
	r.witness = "dns-answer";
	r.reason = RSN_RULE;
	r.latency_us = 1234;
	return r;
}

/* The lines of PATH (at most MAX), in *LINES; returns the count. */
/* How many times C occurs in S. */
static int count_char(const char *s, char c)
{
	int n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

static int read_lines(const char *path, char lines[][2048], int max)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int n = 0;
	char buf[2048];
	while (fgets(buf, sizeof(buf), f)) {
		if (n < max) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(lines[n], 2048, "%s", buf);
		}
		n++;
	}
	fclose(f);
	return n;
}

static char lines[64][2048];

/* Every reason has both names (common/reason.c); the log writes the
 * decider's trouble as "fail" (sluiced(8) FIREWALL LOG). */
static void test_reason_names(void **state)
{
	(void)state;
	for (int r = 0; r < RSN_COUNT; r++) {
		assert_string_not_equal(reason_name((enum reason)r), "?");
		assert_string_not_equal(reason_log_name((enum reason)r),
					"unknown");
	}
	assert_string_equal(reason_log_name(RSN_SOURCE), "per-source");
	assert_string_equal(reason_log_name(RSN_WATCHDOG), "fail");
	assert_string_equal(reason_log_name(RSN_MISREAD), "misread");
	assert_string_equal(reason_name(RSN_WATCHDOG), "watchdog");
	assert_string_equal(reason_log_name(RSN_COUNT), "unknown");
}

static void test_json_record(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/json.log", dir);
	struct log_cfg cfg = {.format = LOGF_JSON, .file = path, .buffer = 64};
	struct fwlog *l = fwlog_open(&cfg, "gw1");
	assert_non_null(l);
	struct fwlog_rec r = sample();
	fwlog_record(l, &r);
	r.flow.family = AF_INET6;
	parse_addr("2001:db8::1", &r.flow.src4, &r.flow.src6);
	parse_addr("2001:db8::2", &r.flow.dst4, &r.flow.dst6);
	r.action = VERDICT_DENY;
	r.rule = NULL;
	r.user = NULL;
	r.name = "quote\"and\\tab\t";
	r.reason = RSN_DEADLINE;
	fwlog_record(l, &r);
	fwlog_flush(l);
	uint64_t w, d;
	fwlog_stats(l, &w, &d);
	assert_int_equal(w, 2);
	assert_int_equal(d, 0);
	fwlog_close(l);

	assert_int_equal(read_lines(path, lines, 64), 2);
	assert_string_equal(lines[0],
	    "{\"time\":\"2024-05-01T12:00:00.123Z\",\"gateway\":\"gw1\","
	    "\"transport\":\"tcp\",\"client\":\"10.1.2.3:40000\","
	    "\"destination\":\"203.0.113.7:443\",\"source_network\":\"internal\","
	    "\"destination_network\":\"external\",\"action\":\"allow\","
	    "\"rule\":\"staff web\",\"user\":\"alice\","
	    "\"name\":\"www.example.com\",\"witness\":\"dns-answer\","
	    "\"reason\":\"rule\","
	    "\"latency_ms\":1.234,\"event\":\"decided\","
	    "\"flow_id\":\"1:lnUC5jiivUqIkfu4+wDP6N/vu6E=\"}");
	json_t *j = json_loads(lines[1], JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "client")), "[2001:db8::1]:40000");
	assert_string_equal(json_string_value(json_object_get(j, "action")), "deny");
	assert_int_equal(json_typeof(json_object_get(j, "rule")), JSON_NULL);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "quote\"and\\tab\t");
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "deadline");
	json_decref(j);
}

static void test_w3c_and_reopen(void **state)
{
	(void)state;
	char path[128], rotated[128];
	snprintf(path, sizeof(path), "%s/w3c.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/w3c.log.1", dir);
	struct log_cfg cfg = {.format = LOGF_W3C, .file = path, .buffer = 64};
	struct fwlog *l = fwlog_open(&cfg, "gw1");
	assert_non_null(l);
	struct fwlog_rec r = sample();
	fwlog_record(l, &r);
	fwlog_flush(l);

	/* logrotate: rename, then SIGUSR1 → fwlog_reopen */
	assert_int_equal(rename(path, rotated), 0);
	r.rule = "second";
	fwlog_record(l, &r); /* may land in either file: not yet reopened */
	fwlog_flush(l);
	fwlog_reopen(l);
	fwlog_flush(l);
	r.rule = "third";
	r.flow.proto = IPPROTO_ICMP;
	fwlog_record(l, &r);
	fwlog_flush(l);
	fwlog_close(l);

	int n = read_lines(rotated, lines, 64);
	assert_int_equal(n, 6);
	assert_int_equal(strncmp(lines[0], "#Software: sluice", 17), 0);
	assert_string_equal(lines[1], "#Version: 1.0");
	assert_int_equal(strncmp(lines[2], "#Date: ", 7), 0);
	assert_string_equal(lines[3],
	    "#Fields: date\ttime\ts-computername\tcs-transport\tc-ip\t"
	    "c-port\tr-ip\tr-port\tx-src-network\tx-dst-network\taction\t"
	    "rule\tcs-username\tr-host\tx-name-witness\tx-reason\t"
	    "x-latency-ms\tx-event\tx-flow-id\tcs-bytes\tsc-bytes\t"
	    "x-cs-packets\tx-sc-packets\tx-duration-ms");
	/* the header names as many fields as every record holds, split on
	 * tabs, a value with a space ("staff web") included */
	for (int i = 4; i < 6; i++)
		assert_int_equal(count_char(lines[3], '\t'),
				 count_char(lines[i], '\t'));
	assert_string_equal(lines[4],
	    "2024-05-01\t12:00:00.123\tgw1\ttcp\t10.1.2.3\t40000\t"
	    "203.0.113.7\t443\tinternal\texternal\tallow\tstaff web\talice\t"
	    "www.example.com\tdns-answer\trule\t1.234\tdecided\t"
	    "1:lnUC5jiivUqIkfu4+wDP6N/vu6E=\t-\t-\t-\t-\t-");
	assert_non_null(strstr(lines[5], "\tsecond\t"));

	n = read_lines(path, lines, 64);
	assert_int_equal(n, 5); /* a new header, then the new record */
	assert_int_equal(strncmp(lines[3], "#Fields: ", 9), 0);
	assert_non_null(strstr(lines[4], "\ticmp\t10.1.2.3\t-\t203.0.113.7\t-\t"));
	assert_non_null(strstr(lines[4], "\tthird\t"));
}

/* Names from outside (a directory, DNS) with control characters and bytes
 * that are not UTF-8: escaped in both formats, the JSON line still JSON. */
static void test_hostile_names(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/hostile.log", dir);
	struct log_cfg cfg = {.format = LOGF_JSON, .file = path, .buffer = 64};
	struct fwlog *l = fwlog_open(&cfg, "gw1");
	assert_non_null(l);
	struct fwlog_rec r = sample();
	r.user = "x\xe9\x1b[2J\xc2\x9b";
	r.name = "caf\xc3\xa9.example";
	fwlog_record(l, &r);
	fwlog_flush(l);
	fwlog_close(l);
	assert_int_equal(read_lines(path, lines, 64), 1);
	assert_null(strchr(lines[0], 0x1b));
	json_t *j = json_loads(lines[0], JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "user")), "x\\xe9\x1b[2J\xc2\x9b");
	assert_string_equal(json_string_value(json_object_get(j, "name")), "caf\xc3\xa9.example");
	json_decref(j);
	unlink(path);

	cfg.format = LOGF_W3C;
	l = fwlog_open(&cfg, "gw1");
	r.user = "x\xe9\x1b[2J\tz";
	fwlog_record(l, &r);
	fwlog_flush(l);
	fwlog_close(l);
	assert_int_equal(read_lines(path, lines, 64), 5);
	assert_non_null(strstr(lines[4], "\tx\\xe9\\x1b[2J z\tcaf\xc3\xa9.example\t"));
	unlink(path);
}

/* Names of N bytes drawn from pieces a hostile directory, DNS or RADIUS
 * server may send: Latin-1 0xE9, quotes, backslashes, C0 and C1 control
 * characters, surrogates encoded in UTF-8 (CESU), overlong and out of
 * range sequences, U+2028, valid 2- and 4-byte characters. */
static void hostile_name(char *buf, size_t cap, unsigned *seed)
{
	static const char *const piece[] = {
	    "\xe9", "\"", "\\", "\x01", "\x1b[2J", "\x7f", "\xc2\x9b",
	    "\xed\xa0\x80", "\xed\xb0\x80", "\xed\xa0\xbd\xed\xb8\x80",
	    "\xf0\x9f\x98\x80", "\xc3\xa9", "a", "\xc0\xaf", "\xf4\x90\x80\x80",
	    "\xe2\x80\xa8", "\\u0000", "\n", "\t", "\xf0\x9f"};
	size_t n = 0, want = (*seed = *seed * 1103515245u + 12345u) % cap;
	while (n < want) {
		*seed = *seed * 1103515245u + 12345u;
		const char *p = piece[(*seed >> 16) % (sizeof(piece) / sizeof(piece[0]))];
		size_t l = strlen(p);
		if (n + l >= cap)
			break;
		memcpy(buf + n, p, l);
		n += l;
	}
	buf[n] = '\0';
}

/* LINE is one JSON object jansson takes (valid UTF-8, no lone surrogate
 * escape, no duplicate key) and holds no raw control byte. */
static void assert_strict_json(const char *line)
{
	for (const char *p = line; *p; p++)
		assert_false((unsigned char)*p < 0x20 || *p == 0x7f);
	json_error_t err;
	json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(j))
		fail_msg("not strict JSON (%s): %.300s", err.text, line);
	json_decref(j);
}

/* Every record of both JSON formats is strict JSON in valid UTF-8 under
 * hostile names in every field (the gateway's too), 2000 drawn at random
 * with a fixed seed, and with every field at its longest of the bytes that
 * take most room (control characters, 6 bytes each): such a record is
 * longer than the 2048 bytes the writer's line once had, and is written
 * whole through the file. A surrogate in UTF-8 is written as \xNN text, a
 * 4-byte character kept. */
static void test_hostile_names_strict(void **state)
{
	(void)state;
	enum log_format fmts[] = {LOGF_JSON, LOGF_ECS};
	static char line[FWLOG_LINE_MAX];
	char gw[256], net1[FWLOG_NET_MAX], net2[FWLOG_NET_MAX],
	    rule[FWLOG_RULE_MAX + 40], user[FWLOG_USER_MAX + 40],
	    name[FWLOG_NAME_MAX + 40], wit[16];
	unsigned seed = 17;
	for (size_t f = 0; f < 2; f++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/strict%zu.log", dir, f);
		struct log_cfg cfg = {.format = fmts[f], .file = path,
				      .buffer = 64};
		hostile_name(gw, sizeof(gw), &seed);
		struct fwlog *l = fwlog_open(&cfg, gw);
		assert_non_null(l);
		for (int i = 0; i < 2000; i++) {
			struct fwlog_rec r = sample();
			hostile_name(net1, sizeof(net1), &seed);
			hostile_name(net2, sizeof(net2), &seed);
			hostile_name(rule, sizeof(rule), &seed);
			hostile_name(user, sizeof(user), &seed);
			hostile_name(name, sizeof(name), &seed);
			hostile_name(wit, sizeof(wit), &seed);
			r.src_net = net1;
			r.dst_net = net2;
			r.rule = rule;
			r.user = user;
			r.name = name;
			r.witness = wit;
			r.event = (enum fwlog_event)(i % 3);
			fwlog_format(l, &r, line, sizeof(line));
			assert_strict_json(line);
		}
		struct fwlog_rec r = sample();
		r.user = "\xed\xa0\x80\xf0\x9f\x98\x80";
		fwlog_format(l, &r, line, sizeof(line));
		json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		const char *u = json_string_value(json_object_get(j, "user"));
		if (!u)
			u = json_string_value(json_object_get(
			    json_object_get(j, "user"), "name"));
		assert_non_null(u);
		assert_string_equal(u, "\\xed\\xa0\\x80\xf0\x9f\x98\x80");
		json_decref(j);
		fwlog_close(l);

		/* the longest record, through the writer and the file */
		memset(gw, '\x01', sizeof(gw) - 1);
		gw[sizeof(gw) - 1] = '\0';
		l = fwlog_open(&cfg, gw);
		assert_non_null(l);
		memset(net1, '\x1b', sizeof(net1) - 1);
		net1[sizeof(net1) - 1] = '\0';
		memset(rule, '\x01', sizeof(rule) - 1);
		rule[sizeof(rule) - 1] = '\0';
		memset(user, '\xe9', sizeof(user) - 1);
		user[sizeof(user) - 1] = '\0';
		memset(name, '\x02', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		memset(wit, '\x03', sizeof(wit) - 1);
		wit[sizeof(wit) - 1] = '\0';
		r = sample();
		r.src_net = r.dst_net = net1;
		r.rule = rule;
		r.user = user;
		r.name = name;
		r.witness = wit;
		fwlog_record(l, &r);
		fwlog_flush(l);
		fwlog_close(l);
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		size_t n = fread(line, 1, sizeof(line) - 1, fp);
		fclose(fp);
		line[n] = '\0';
		assert_true(n > 2048);
		assert_int_equal(line[n - 1], '\n');
		line[n - 1] = '\0';
		assert_null(strchr(line, '\n'));
		assert_strict_json(line);
		unlink(path);
	}
}

static void test_full_buffer_counts_drops(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/drops.log", dir);
	struct log_cfg cfg = {.format = LOGF_JSON, .file = path, .buffer = 16};
	struct fwlog *l = fwlog_open(&cfg, "gw1");
	assert_non_null(l);
	fwlog_hold(l, true);
	struct fwlog_rec r = sample();
	assert_int_equal(fwlog_room(l), 16);
	for (int i = 0; i < 20; i++) {
		fwlog_record(l, &r);
		/* the room a producer of many records spreads them by */
		assert_int_equal(fwlog_room(l), i < 16 ? 15 - i : 0);
	}
	assert_int_equal(fwlog_room(NULL), 0);
	uint64_t w, d;
	fwlog_stats(l, &w, &d);
	assert_int_equal(w, 0);
	assert_int_equal(d, 4);
	fwlog_hold(l, false);
	fwlog_flush(l);
	assert_int_equal(fwlog_room(l), 16);
	fwlog_stats(l, &w, &d);
	assert_int_equal(w, 16);
	assert_int_equal(d, 4);
	fwlog_close(l);
	assert_int_equal(read_lines(path, lines, 64), 16);
}

#define THREADS 4
#define PER_THREAD 5000

static void *producer(void *arg)
{
	struct fwlog *l = arg;
	struct fwlog_rec r = sample();
	for (int i = 0; i < PER_THREAD; i++) {
		r.flow.sport = (uint16_t)i;
		fwlog_record(l, &r);
	}
	return NULL;
}

static void test_no_loss_when_not_full(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/many.log", dir);
	struct log_cfg cfg = {.format = LOGF_JSON, .file = path,
			      .buffer = THREADS * PER_THREAD};
	struct fwlog *l = fwlog_open(&cfg, "gw1");
	assert_non_null(l);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, producer, l);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	fwlog_flush(l);
	uint64_t w, d;
	fwlog_stats(l, &w, &d);
	assert_int_equal(d, 0);
	assert_int_equal(w, THREADS * PER_THREAD);
	fwlog_close(l);
	assert_int_equal(read_lines(path, lines, 0), THREADS * PER_THREAD);

	/* a small buffer under the same load: written + dropped = recorded */
	cfg.buffer = 16;
	l = fwlog_open(&cfg, "gw1");
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, producer, l);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	fwlog_flush(l);
	fwlog_stats(l, &w, &d);
	assert_int_equal(w + d, THREADS * PER_THREAD);
	fwlog_close(l);
	assert_int_equal(read_lines(path, lines, 0),
			 THREADS * PER_THREAD + (int)w);
}

/* The string member K2 of member K1 of J, or NULL. */
static const char *jstr(const json_t *j, const char *k1, const char *k2)
{
	const json_t *v = json_object_get(json_object_get(j, k1), k2);
	return v && json_typeof(v) == JSON_STRING ? json_string_value(v) : NULL;
}

/* ECS: the field names log shippers know, the Community ID of the spec's
 * own example (community-id-spec: tcp 128.232.110.120:34855 ->
 * 66.35.250.204:80), a hostile user name still valid JSON. */
static void test_ecs_record(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/ecs.log", dir);
	struct log_cfg cfg = {.format = LOGF_ECS, .file = path, .buffer = 64};
	struct fwlog *l = fwlog_open(&cfg, "gw1");
	assert_non_null(l);
	struct fwlog_rec r = sample();
	parse_addr("128.232.110.120", &r.flow.src4, &r.flow.src6);
	parse_addr("66.35.250.204", &r.flow.dst4, &r.flow.dst6);
	r.flow.sport = 34855;
	r.flow.dport = 80;
	fwlog_record(l, &r);
	r.flow.proto = IPPROTO_ICMP;
	r.flow.icmp_type = 3; /* unreachable: one-way, no Community ID */
	r.action = VERDICT_DENY;
	r.user = "Ren\xE9 \"q\"";
	r.name = NULL;
	fwlog_record(l, &r);
	fwlog_flush(l);
	fwlog_close(l);
	assert_int_equal(read_lines(path, lines, 64), 2);
	json_t *j = json_loads(lines[0], JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	assert_string_equal(jstr(j, "network", "community_id"),
			    "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	assert_string_equal(jstr(j, "source", "ip"), "128.232.110.120");
	assert_true(json_number_value(json_object_get(json_object_get(j, "source"), "port")) == 34855);
	assert_true(json_number_value(json_object_get(json_object_get(j, "destination"), "port")) == 80);
	assert_string_equal(jstr(j, "destination", "ip"), "66.35.250.204");
	assert_string_equal(jstr(j, "destination", "domain"), "www.example.com");
	assert_string_equal(jstr(j, "network", "transport"), "tcp");
	assert_string_equal(jstr(j, "event", "action"), "allow");
	assert_string_equal(jstr(j, "rule", "name"), "staff web");
	assert_string_equal(jstr(j, "user", "name"), "alice");
	assert_non_null(json_object_get(j, "@timestamp"));
	json_decref(j);
	/* ICMP: no ports, no Community ID; the hostile name parses */
	j = json_loads(lines[1], JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	assert_null(json_object_get(json_object_get(j, "source"), "port"));
	assert_null(json_object_get(json_object_get(j, "network"), "community_id"));
	assert_null(json_object_get(json_object_get(j, "destination"), "domain"));
	assert_string_equal(jstr(j, "event", "action"), "deny");
	assert_non_null(jstr(j, "user", "name"));
	json_decref(j);
}

/* The Community ID of ICMP and ICMPv6 flows: the spec's test vectors
 * (the type and its counterpart as ports; a request and its reply the
 * same id). */
static void test_community_id_icmp(void **state)
{
	(void)state;
	struct log_cfg cfg = {.format = LOGF_JSON, .syslog = true, .buffer = 16};
	struct fwlog *l = fwlog_open(&cfg, "gw1");
	assert_non_null(l);
	struct {
		int family;
		uint8_t proto, type;
		const char *src, *dst, *want;
	} v[] = {
	    {AF_INET, IPPROTO_ICMP, 8, "192.168.0.89", "192.168.0.1",
	     "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
	    {AF_INET, IPPROTO_ICMP, 0, "192.168.0.1", "192.168.0.89",
	     "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
	    {AF_INET6, IPPROTO_ICMPV6, 135, "fe80::200:86ff:fe05:80da",
	     "fe80::260:97ff:fe07:69ea", "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="},
	    {AF_INET, IPPROTO_ICMP, 20, "192.168.0.89", "192.168.0.1", NULL},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct fwlog_rec r = sample();
		r.flow.family = v[i].family;
		r.flow.proto = v[i].proto;
		r.flow.icmp_type = v[i].type;
		r.flow.sport = r.flow.dport = 0;
		parse_addr(v[i].src, &r.flow.src4, &r.flow.src6);
		parse_addr(v[i].dst, &r.flow.dst4, &r.flow.dst6);
		char line[2048];
		fwlog_format(l, &r, line, sizeof(line));
		json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(j);
		const json_t *id = json_object_get(j, "flow_id");
		if (v[i].want)
			assert_string_equal(json_string_value(id), v[i].want);
		else
			assert_int_equal(json_typeof(id), JSON_NULL);
		json_decref(j);
	}
	fwlog_close(l);
}

/* A session's end (conntrack) and a kernel-decided start: the event, the
 * counts each way, the duration, and the flow id that joins them with the
 * start record (the Community ID of the same 5-tuple). */
static void test_session_end(void **state)
{
	(void)state;
	char path[128];
	enum log_format fmts[] = {LOGF_ECS, LOGF_JSON};
	for (size_t k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/end%zu.log", dir, k);
		struct log_cfg cfg = {.format = fmts[k], .file = path,
				      .buffer = 64};
		struct fwlog *l = fwlog_open(&cfg, "gw1");
		assert_non_null(l);
		struct fwlog_rec r = sample();
		r.event = FWLOG_KERNEL_DECIDED;
		fwlog_record(l, &r);
		r.event = FWLOG_SESSION_END;
		r.counts = (struct fwlog_counts){.bytes_out = 1200,
						 .packets_out = 7,
						 .bytes_in = 54321,
						 .packets_in = 9,
						 .duration_ms = 2500};
		fwlog_record(l, &r);
		fwlog_flush(l);
		fwlog_close(l);
		assert_int_equal(read_lines(path, lines, 64), 2);
		json_t *a = json_loads(lines[0], JSON_REJECT_DUPLICATES, NULL), *b = json_loads(lines[1], JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(a);
		assert_non_null(b);
		if (fmts[k] == LOGF_ECS) {
			assert_string_equal(jstr(a, "sluice", "event"),
					    "kernel-decided");
			assert_string_equal(jstr(b, "sluice", "event"),
					    "session-end");
			assert_string_equal(jstr(b, "event", "action"),
					    "session-end");
			assert_string_equal(jstr(a, "network", "community_id"),
					    jstr(b, "network", "community_id"));
			assert_true(json_number_value(json_object_get(json_object_get(b, "source"), "bytes")) ==
				    1200);
			assert_true(json_number_value(json_object_get(json_object_get(b, "destination"),
					     "packets")) == 9);
			assert_true(json_number_value(json_object_get(json_object_get(b, "network"), "bytes")) ==
				    55521);
			assert_true(json_number_value(json_object_get(json_object_get(b, "event"), "duration")) ==
				    2500e6);
			assert_null(json_object_get(json_object_get(a, "source"), "bytes"));
			/* no decision latency outside sluiced's decisions */
			assert_null(json_object_get(json_object_get(a, "event"), "duration"));
			assert_null(json_object_get(json_object_get(a, "sluice"), "latency_ms"));
		} else {
			assert_string_equal(json_string_value(json_object_get(a, "event")),
					    "kernel-decided");
			assert_string_equal(json_string_value(json_object_get(b, "event")),
					    "session-end");
			assert_string_equal(json_string_value(json_object_get(a, "flow_id")),
					    json_string_value(json_object_get(b, "flow_id")));
			assert_true(json_number_value(json_object_get(b, "bytes_out")) == 1200);
			assert_true(json_number_value(json_object_get(b, "packets_out")) == 7);
			assert_true(json_number_value(json_object_get(b, "bytes_in")) == 54321);
			assert_true(json_number_value(json_object_get(b, "packets_in")) == 9);
			assert_true(json_number_value(json_object_get(b, "duration_ms")) == 2500);
			assert_null(json_object_get(a, "bytes_out"));
			assert_int_equal(json_typeof(json_object_get(a, "latency_ms")), JSON_NULL);
			assert_int_equal(json_typeof(json_object_get(b, "latency_ms")), JSON_NULL);
		}
		json_decref(a);
		json_decref(b);
	}
}

/* The log is created 0640 whatever the umask, and an older file that was
 * world-readable loses that. */
static void test_file_mode(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/mode.log", dir);
	mode_t old = umask(0);
	struct log_cfg cfg = {.format = LOGF_JSON, .file = path, .buffer = 16};
	struct fwlog *l = fwlog_open(&cfg, "gw1");
	assert_non_null(l);
	fwlog_close(l);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(chmod(path, 0644), 0);
	l = fwlog_open(&cfg, "gw1");
	assert_non_null(l);
	fwlog_close(l);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0007, 0);
	umask(old);
}

/* A symbolic link in the log's place (planted in a folder sluiced's own
 * user may write) is not followed: the open fails with ELOOP and the
 * file it points to is neither written nor has its mode changed; under
 * /dev a link is followed (/dev/stdout). */
static void test_no_symlink(void **state)
{
	(void)state;
	char target[128], link[128];
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/link.log", dir);
	FILE *f = fopen(target, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(target, 0644), 0);
	assert_int_equal(symlink(target, link), 0);
	struct log_cfg cfg = {.format = LOGF_JSON, .file = link, .buffer = 16};
	errno = 0;
	assert_null(fwlog_open(&cfg, "gw1"));
	assert_int_equal(errno, ELOOP);
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	unlink(link);
	unlink(target);
	struct log_cfg out = {.format = LOGF_JSON, .file = (char *)"/dev/stdout",
			      .buffer = 16};
	struct fwlog *l = fwlog_open(&out, "gw1");
	assert_non_null(l);
	fwlog_close(l);
}

static void test_open_errors(void **state)
{
	(void)state;
	struct log_cfg none = {.format = LOGF_JSON, .buffer = 16};
	assert_null(fwlog_open(&none, NULL));
	struct log_cfg bad = {.format = LOGF_JSON, .buffer = 16,
			      .file = (char *)"/nonexistent/dir/x.log"};
	assert_null(fwlog_open(&bad, NULL));
	fwlog_record(NULL, NULL); /* no log: nothing happens */
	struct log_cfg sys = {.format = LOGF_JSON, .buffer = 16, .syslog = true};
	struct fwlog *l = fwlog_open(&sys, NULL);
	assert_non_null(l);
	fwlog_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reason_names),
	    cmocka_unit_test(test_json_record),
	    cmocka_unit_test(test_file_mode),
	    cmocka_unit_test(test_no_symlink),
	    cmocka_unit_test(test_ecs_record),
	    cmocka_unit_test(test_session_end),
	    cmocka_unit_test(test_community_id_icmp),
	    cmocka_unit_test(test_w3c_and_reopen),
	    cmocka_unit_test(test_hostile_names),
	    cmocka_unit_test(test_hostile_names_strict),
	    cmocka_unit_test(test_full_buffer_counts_drops),
	    cmocka_unit_test(test_no_loss_when_not_full),
	    cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
