/* test_counters.c — the counters table (and the policy's copy of its
 * names), histograms, and the values read from /proc and nftables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats/counters.h"
#include "policy/settings.h"
#include "policy/counters_names.h"
#include "kernel/nftread.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nf_tables.h>
#include <nftables/libnftables.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The policy checker's list is the table's, name for name, kind for kind. */
static void test_names_agree(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct stats_counter *c = stats_counters; c->name; c++, n++) {
		const struct policy_counter_name *p = &policy_counter_names[n];
		assert_non_null(p->name);
		assert_string_equal(p->name, c->name);
		char kind = c->type == STATS_COUNTER ? 'c'
			    : c->type == STATS_GAUGE ? 'g' : 'h';
		assert_int_equal(p->kind, kind);
	}
	assert_null(policy_counter_names[n].name);
}

/* The latency buckets (common/latency.h) in seconds: ascending, the
 * Prometheus bounds of before, then on up to the longest deadline a policy
 * may set (and so above the default), the last +Inf. */
static void test_latency_bounds(void **state)
{
	(void)state;
	static const double want[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
				      0.005,  0.01,    0.025,  0.05,  0.1,
				      0.25,   0.5,     1,      2.5,   5,
				      10,     30,      60,     120,   300,
				      600};
	assert_int_equal(STATS_LAT_BUCKETS, sizeof(want) / sizeof(want[0]) + 1);
	for (size_t i = 0; i + 1 < STATS_LAT_BUCKETS; i++)
		assert_true(stats_latency_bounds[i] == want[i]);
	assert_true(__builtin_isinf(stats_latency_bounds[STATS_LAT_BUCKETS - 1]));
	const struct settings_block *b = settings_block_find("decisions");
	assert_non_null(b);
	const struct setting *dl = setting_find(b->table, "deadline");
	assert_non_null(dl);
	double top = stats_latency_bounds[STATS_LAT_BUCKETS - 2];
	assert_true(top >= dl->max / 1000.0); /* the longest deadline */
	assert_true(top >= dl->def / 1000.0); /* the default */
}

/* Every row is sane: unique names, offsets inside the snapshot, store
 * matching the type, thresholds naming real counters. */
static void test_table_sane(void **state)
{
	(void)state;
	for (const struct stats_counter *c = stats_counters; c->name; c++) {
		for (const struct stats_counter *d = c + 1; d->name; d++)
			assert_string_not_equal(c->name, d->name);
		assert_true(c->off < sizeof(struct stats_snapshot));
		assert_non_null(c->help);
		assert_non_null(c->healthy);
		assert_non_null(c->section);
		assert_non_null(c->source);
		assert_true((c->type == STATS_HISTOGRAM) ==
			    (c->store == STORE_HIST));
		if (c->thr.of)
			assert_non_null(stats_counter_find(c->thr.of));
		if (c->thr.cmp != CMP_NONE)
			assert_non_null(c->thr.alert);
	}
	struct stats_snapshot s = {0};
	s.packets_backlogged = 11;
	s.lookups_dns = 51;
	s.slots_total = 100;
	s.slots_available = 3;
	assert_true(stats_past_threshold(&s, stats_counter_find("packets_backlogged")));
	assert_true(stats_past_threshold(&s, stats_counter_find("lookups_dns")));
	assert_false(stats_past_threshold(&s, stats_counter_find("slots_available")));
	assert_true(stats_past_threshold(&s, stats_counter_find("slots_local_available")));
	assert_string_equal(stats_threshold_text(stats_counter_find("lookups_dns")),
			    "> 50% of slots_total");
	assert_string_equal(stats_threshold_text(
				stats_counter_find("process_resident_memory_bytes")),
			    "grows over 2h");
}

static void test_histogram(void **state)
{
	(void)state;
	struct stats_hist a = {0}, b = {0};
	stats_hist_observe(&a, 0.00005); /* first bucket */
	stats_hist_observe(&a, 0.0001);	 /* le is inclusive */
	stats_hist_observe(&a, 0.003);
	stats_hist_observe(&b, 700.0); /* +Inf: beyond the longest deadline */
	stats_hist_add(&a, &b);
	assert_int_equal(a.count, 4);
	assert_int_equal(a.buckets[0], 2);
	assert_int_equal(a.buckets[5], 1);
	assert_int_equal(a.buckets[STATS_LAT_BUCKETS - 1], 1);
	assert_true(a.sum > 700.003 && a.sum < 700.0032);
	double q = stats_hist_quantile(&a, 0.5);
	assert_true(q > 0 && q <= 0.0001);
	assert_true(stats_hist_quantile(&a, 1.0) == 600);
}

static void test_process(void **state)
{
	(void)state;
	struct stats_snapshot s = {0};
	int fd = open("/dev/null", O_RDONLY);
	assert_int_equal(stats_fill_process(&s), 0);
	assert_true(s.process_resident_memory_bytes > 100000);
	assert_true(s.process_open_fds >= 4); /* 0 1 2 and /dev/null */
	uint64_t fds = s.process_open_fds;
	close(fd);
	assert_int_equal(stats_fill_process(&s), 0);
	assert_int_equal(s.process_open_fds, fds - 1);
	assert_true(s.process_uptime_seconds >= 0 &&
		    s.process_uptime_seconds < 600);
	char *volatile p = malloc(1 << 20); /* escapes: not elided */
	memset(p, 1, 1 << 20);
	uint64_t heap = s.process_heap_bytes;
	assert_int_equal(stats_fill_process(&s), 0);
	uint64_t grown = s.process_heap_bytes;
	free(p);
	/* under valgrind, malloc is not glibc's and mallinfo2 says 0 */
	if (heap || grown)
		assert_true(grown >= heap + (1 << 20));
}

static void test_nfqueue_parse(void **state)
{
	(void)state;
	const char text[] =
	    "    0  12345     3 2 65531     7     1     1000  1\n"
	    "    1  12346     9 2 65531     0     2     2000  1\n"
	    "    5  12399   100 2 65531   100   100   100000  1\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct stats_snapshot s = {0};
	assert_int_equal(stats_parse_nfqueue(f, &s, 0, 2), 0);
	fclose(f);
	assert_int_equal(s.packets_backlogged, 12);
	assert_int_equal(s.packets_dropped_queue_full, 7);
	assert_int_equal(s.packets_dropped_user, 3);
	assert_int_equal(s.packets_queued_kernel, 3000);
	/* the real file, if the module is loaded: it parses */
	if (access("/proc/self/net/netfilter/nfnetlink_queue", R_OK) == 0)
		assert_int_equal(stats_fill_kernel_queue(&s, 0, 1), 0);
}

/* As `nft -j list table inet sluice` shows the flood state (1.0.6). */
/* The named counters of a reading: the flood limits' by name, others
 * ignored. */
static void test_kernel_named(void **state)
{
	(void)state;
	struct stats_kernel k;
	memset(&k, 0, sizeof(k));
	stats_kernel_add_named(&k, "flood_tcp_rate", 261, 16);
	stats_kernel_add_named(&k, "flood_udp_rate", 3, 18);
	stats_kernel_add_named(&k, "someone_elses", 99, 20);
	assert_int_equal(k.packets[STATS_KC_FLOOD_TCP_RATE], 261);
	assert_int_equal(k.packets[STATS_KC_FLOOD_UDP_RATE], 3);
	assert_int_equal(k.packets[STATS_KC_FLOOD_TCP_CONCURRENT], 0);
	assert_int_equal(k.packets[STATS_KC_FLOOD_TCP_HALF_OPEN], 0);
}

/* Collects the policy rules a walk reports: "comment/allow/packets/handle/table;". */
static void rule_row(void *ctx, const struct stats_kernel_rule *r)
{
	char *buf = ctx;
	size_t n = strlen(buf);
	snprintf(buf + n, 512 - n, "%s/%d/%llu/%lld/%lld;", r->comment, r->allow,
		 (unsigned long long)r->packets, (long long)r->handle,
		 (long long)r->table_handle);
}

/* The rules of a reading (as kernel/nftread.c classifies them): one
 * allowing in the kernel in two chains, one denying, one that neither
 * allows nor denies (not counted), the implicit deny (not a policy rule),
 * a reject rule (goto the reject chain: a denial), two deny memory rules,
 * the spoofed source rule. */
static void test_kernel_add_rule(void **state)
{
	(void)state;
	static const struct {
		const char *comment;
		int verdict;
		uint64_t packets;
		int64_t handle;
	} rules[] = {
	    {"rule 4 'r' (x:4)", 0, 4, 31},
	    {"deny memory: retransmit", 0, 11, 32},
	    {"deny memory: other", 0, 12, 33},
	    {"spoofed source", 0, 13, 34},
	    {"rule 1 'a' (x:1)", 1, 5, 35},
	    {"rule 1 'a' (x:1)", 1, 2, 36},
	    {"rule 2 'q' (x:2)", -1, 40, 37},
	    {"rule 3 'd' (x:3)", 0, 9, 38},
	    {"implicit final deny", 0, 1000, 39},
	};
	struct stats_kernel k;
	memset(&k, 0, sizeof(k));
	k.table_handle = 7;
	char rows[512] = "";
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		stats_kernel_add_rule(&k, rules[i].comment, rules[i].verdict,
				      rules[i].packets, rules[i].handle,
				      rule_row, rows);
	assert_int_equal(k.allowed, 7);
	assert_int_equal(k.denied, 9 + 4);
	assert_int_equal(k.packets[STATS_KC_DENY_MEMORY], 11 + 12);
	assert_int_equal(k.packets[STATS_KC_SPOOFED], 13);
	assert_string_equal(rows, "rule 4 'r' (x:4)/0/4/31/7;"
				  "rule 1 'a' (x:1)/1/5/35/7;"
				  "rule 1 'a' (x:1)/1/2/36/7;"
				  "rule 3 'd' (x:3)/0/9/38/7;");
}

/* A replaced table (another handle) or a counter below its last value
 * starts again at 0: the kept value never goes back. */
static void test_kernel_kept(void **state)
{
	(void)state;
	struct stats_kernel_kept kk = {.table_handle = -1};
	struct stats_kernel k = {.table_handle = 5};
	struct stats_snapshot s;
	k.packets[STATS_KC_SPOOFED] = 10;
	k.packets[STATS_KC_FLOOD_UDP_RATE] = 4;
	stats_kernel_keep(&kk, &k);
	k.packets[STATS_KC_SPOOFED] = 12; /* the same table, grown */
	stats_kernel_keep(&kk, &k);
	memset(&s, 0, sizeof(s));
	stats_kernel_fill(&kk, 2, &s);
	assert_int_equal(s.packets_spoofed, 12);
	assert_int_equal(s.packets_flood_udp_rate, 4);
	assert_int_equal(s.flood_sources_limited, 2);
	k.table_handle = 6; /* a reload: a new table, counters from 0 */
	k.packets[STATS_KC_SPOOFED] = 30; /* more than before, still new */
	k.packets[STATS_KC_FLOOD_UDP_RATE] = 0;
	stats_kernel_keep(&kk, &k);
	stats_kernel_fill(&kk, 0, &s);
	assert_int_equal(s.packets_spoofed, 12 + 30);
	assert_int_equal(s.packets_flood_udp_rate, 4);
	assert_int_equal(s.flood_sources_limited, 0);
	k.packets[STATS_KC_SPOOFED] = 1; /* same handle, went back: new */
	stats_kernel_keep(&kk, &k);
	stats_kernel_fill(&kk, 0, &s);
	assert_int_equal(s.packets_spoofed, 12 + 30 + 1);
	/* a reload that flushes the table keeps its handle but makes the
	 * counter object anew (another source): its count starts again,
	 * even when it has passed the old one by the next read */
	k.source[STATS_KC_FLOOD_UDP_RATE] = 40;
	k.packets[STATS_KC_FLOOD_UDP_RATE] = 20;
	stats_kernel_keep(&kk, &k);
	k.source[STATS_KC_FLOOD_UDP_RATE] = 41;
	k.packets[STATS_KC_FLOOD_UDP_RATE] = 340;
	stats_kernel_keep(&kk, &k);
	stats_kernel_fill(&kk, 0, &s);
	assert_int_equal(s.packets_flood_udp_rate, 4 + 20 + 340);
	for (size_t i = 0; i < STATS_KC_N; i++) /* each lands in its field */
		for (size_t j = 0; j < i; j++)
			assert_true(stats_kcounter_off[i] != stats_kcounter_off[j]);
}

static int nft_do(const char *cmd)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	nft_ctx_buffer_error(nft);
	int rc = nft_run_cmd_from_buffer(nft, cmd);
	if (rc)
		fprintf(stderr, "%s", nft_ctx_get_error_buffer(nft));
	nft_ctx_free(nft);
	return rc;
}

static void send_udp(const char *addr, int n)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
	inet_pton(AF_INET, addr, &sin.sin_addr);
	for (int i = 0; i < n; i++) {
		/* a new source port each time: a new conntrack session */
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		sendto(s, "x", 1, 0, (struct sockaddr *)&sin, sizeof(sin));
		close(s);
	}
	close(fd);
}

/* Moves this process into a new network namespace with its loopback up;
 * skips the test without root (or without namespaces). */
static void private_netns(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		skip();
	if (system("ip link set lo up") != 0)
		skip();
}

/* The real thing, in a private network namespace: a table shaped like the
 * generated one, packets through it, the sums read back. */
static void test_kernel_rules(void **state)
{
	(void)state;
	private_netns();
	const char *ruleset =
	    "table inet sluicetest {\n"
	    " chain output {\n"
	    "  type filter hook output priority 0; policy accept;\n"
	    "  ip daddr 127.0.0.2 udp dport 9 counter ct mark set ct mark & "
	    "0x0000ffff | 0x40010000 accept comment \"rule 1 'a' (t:1)\"\n"
	    "  ip daddr 127.0.0.3 udp dport 9 counter log prefix \"x\" drop "
	    "comment \"rule 2 'd' (t:2)\"\n"
	    "  ip daddr 127.0.0.4 udp dport 9 counter meta mark set 0xc0030000 "
	    "accept comment \"rule 3 'q' (t:3)\"\n"
	    "  ip daddr 127.0.0.5 counter drop comment \"implicit final deny\"\n"
	    "  ip daddr 127.0.0.6 jump spoofed\n"
	    "  ip daddr 127.0.0.7 udp dport 9 counter goto reject_send "
	    "comment \"rule 4 'r' (t:4)\"\n"
	    "  ip daddr 127.0.0.8 counter name flood_tcp_rate accept\n"
	    " }\n"
	    " counter flood_tcp_rate {}\n"
	    " chain spoofed {\n"
	    "  counter drop comment \"spoofed source\"\n"
	    " }\n"
	    " chain reject_send {\n"
	    "  drop\n"
	    " }\n"
	    "}\n";
	assert_int_equal(nft_do(ruleset), 0);
	send_udp("127.0.0.2", 2);
	send_udp("127.0.0.3", 3);
	send_udp("127.0.0.4", 4);
	send_udp("127.0.0.5", 5);
	send_udp("127.0.0.6", 6);
	send_udp("127.0.0.7", 7);
	send_udp("127.0.0.8", 8);
	struct stats_kernel k;
	char rows[512] = "";
	assert_int_equal(stats_kernel_read("sluicetest", &k, rule_row, rows), 0);
	assert_int_equal(k.allowed, 2);
	assert_int_equal(k.denied, 3 + 7);
	assert_int_equal(k.packets[STATS_KC_SPOOFED], 6);
	assert_int_equal(k.packets[STATS_KC_FLOOD_TCP_RATE], 8);
	assert_true(k.table_handle > 0);
	/* each policy rule once, in the chain's order, with its handle */
	char want[512];
	snprintf(want, sizeof(want), "rule 1 'a' (t:1)/1/2/");
	assert_int_equal(strncmp(rows, want, strlen(want)), 0);
	assert_non_null(strstr(rows, "rule 2 'd' (t:2)/0/3/"));
	assert_non_null(strstr(rows, "rule 4 'r' (t:4)/0/7/"));
	assert_null(strstr(rows, "rule 3"));
	assert_null(strstr(rows, "/-1/")); /* every handle known */
	/* a reload as sluiced makes it (flush table, declare again): the
	 * table keeps its handle, the named counter is another object */
	struct stats_kernel k2;
	int64_t before = k.source[STATS_KC_FLOOD_TCP_RATE];
	assert_int_equal(nft_do("flush table inet sluicetest\n"
				"delete counter inet sluicetest flood_tcp_rate\n"
				"add counter inet sluicetest flood_tcp_rate\n"),
			 0);
	assert_int_equal(stats_kernel_read("sluicetest", &k2, NULL, NULL), 0);
	assert_int_equal(k2.table_handle, k.table_handle);
	assert_true(k2.source[STATS_KC_FLOOD_TCP_RATE] != before);
	assert_int_equal(k2.packets[STATS_KC_FLOOD_TCP_RATE], 0);
	errno = 0;
	assert_int_equal(stats_kernel_read("nosuchtable", &k, NULL, NULL), -1);
	assert_int_equal(errno, ENOENT);
}

/* What nftread hands the ruleset watch: "chain:digest" of each rule and
 * "chain>verdict>target" of each immediate verdict, in order. */
struct digests {
	char rules[1024], verdicts[512];
	int n;
};

static void dg_reset(void *ctx, uint64_t handle, uint32_t flags)
{
	struct digests *d = ctx;
	d->rules[0] = d->verdicts[0] = '\0';
	d->n = 0;
}

static void dg_rule(void *ctx, const char *chain, uint64_t digest)
{
	struct digests *d = ctx;
	size_t l = strlen(d->rules);
	snprintf(d->rules + l, sizeof(d->rules) - l, "%s:%016llx ", chain,
		 (unsigned long long)digest);
	d->n++;
}

static void dg_verdict(void *ctx, const char *chain, int verdict,
		       const char *target)
{
	struct digests *d = ctx;
	size_t l = strlen(d->verdicts);
	snprintf(d->verdicts + l, sizeof(d->verdicts) - l, "%s>%d>%s ", chain,
		 verdict, target ? target : "-");
}

static void read_digests(const char *table, struct digests *d)
{
	const struct nftread_ops ops = {.table = dg_reset,
					.rule_digest = dg_rule,
					.verdict = dg_verdict};
	assert_int_equal(nftread_table(table, &ops, d), 0);
}

/* The ruleset watch's read (nftread_ops.rule_digest, .verdict): a rule's
 * digest stays the same while packets change its counters, meters and
 * connection counts, and changes when the rule is replaced by another;
 * verdicts come with their chain and target. */
static void test_kernel_digests(void **state)
{
	(void)state;
	private_netns();
	assert_int_equal(nft_do(
	    "table inet sluicedg {\n"
	    " set meter4 { type ipv4_addr; size 65535; flags dynamic,timeout; "
	    "timeout 2m; }\n"
	    " set conns4 { type ipv4_addr; size 65535; flags dynamic; }\n"
	    " chain output {\n"
	    "  type filter hook output priority 0; policy accept;\n"
	    "  ip daddr 127.0.0.2 counter jump limits\n"
	    "  ip daddr 127.0.0.3 counter quota over 100 mbytes drop\n"
	    " }\n"
	    " chain limits {\n"
	    "  update @meter4 { ip saddr limit rate over 1000/second } counter drop\n"
	    "  add @conns4 { ip saddr ct count over 1000 } counter drop\n"
	    "  counter goto tail\n"
	    " }\n"
	    " chain tail {\n"
	    "  counter accept\n"
	    " }\n"
	    "}\n"), 0);
	struct digests a, b, c;
	read_digests("sluicedg", &a);
	assert_int_equal(a.n, 6);
	assert_non_null(strstr(a.verdicts, "output>-3>limits ")); /* NFT_JUMP */
	assert_non_null(strstr(a.verdicts, "limits>-4>tail ")); /* NFT_GOTO */
	assert_non_null(strstr(a.verdicts, "output>0>- ")); /* NF_DROP */
	assert_non_null(strstr(a.verdicts, "tail>1>- ")); /* NF_ACCEPT */
	send_udp("127.0.0.2", 20); /* counters, meter, connection count */
	send_udp("127.0.0.3", 5);
	read_digests("sluicedg", &b);
	assert_string_equal(a.rules, b.rules);
	/* the same rule changed in place: its digest alone differs */
	assert_int_equal(nft_do("flush chain inet sluicedg tail\n"
				"add rule inet sluicedg tail counter drop\n"),
			 0);
	read_digests("sluicedg", &c);
	assert_int_equal(c.n, 6);
	assert_string_not_equal(b.rules, c.rules);
	size_t keep = (size_t)(strstr(b.rules, "tail:") - b.rules);
	assert_int_equal(strncmp(b.rules, c.rules, keep), 0);
	assert_int_equal(nft_do("delete table inet sluicedg\n"), 0);
}

/* nftread_set_elems: each element's key, its counter's packets and its
 * time left, read over netlink (`sluicectl floods`, the half-open pass). */
static void elem_row(void *ctx, const struct nftread_elem *e)
{
	char *buf = ctx, a[INET6_ADDRSTRLEN];
	inet_ntop(e->len == 4 ? AF_INET : AF_INET6, e->key, a, sizeof(a));
	size_t n = strlen(buf);
	snprintf(buf + n, 256 - n, "%s/%llu/%s ", a,
		 (unsigned long long)e->packets,
		 e->expires_ms < 0 ? "none"
		 : e->expires_ms > 500000 && e->expires_ms <= 600000 ? "10m"
								  : "?");
}

static void test_kernel_set_elems(void **state)
{
	(void)state;
	private_netns();
	assert_int_equal(nft_do(
	    "table inet sluiceel {\n"
	    " set lim4 { type ipv4_addr; flags dynamic,timeout; counter; }\n"
	    " set lim6 { type ipv6_addr; flags timeout; }\n"
	    " set plain4 { type ipv4_addr; }\n"
	    " chain output {\n"
	    "  type filter hook output priority 0; policy accept;\n"
	    "  ip daddr 127.0.0.9 udp dport 9 update @lim4 { ip daddr timeout 10m }\n"
	    " }\n"
	    "}\n"
	    "add element inet sluiceel lim6 { 2001:db8:1:: timeout 10m }\n"
	    "add element inet sluiceel plain4 { 198.18.1.2 }\n"), 0);
	send_udp("127.0.0.9", 7);
	char rows[256] = "";
	assert_int_equal(nftread_set_elems("sluiceel", "lim4", elem_row, rows), 1);
	assert_string_equal(rows, "127.0.0.9/7/10m ");
	rows[0] = '\0';
	assert_int_equal(nftread_set_elems("sluiceel", "lim6", elem_row, rows), 1);
	assert_string_equal(rows, "2001:db8:1::/0/10m ");
	rows[0] = '\0';
	assert_int_equal(nftread_set_elems("sluiceel", "plain4", elem_row, rows), 1);
	assert_string_equal(rows, "198.18.1.2/0/none ");
	assert_int_equal(nftread_set_elems("sluiceel", "plain4", NULL, NULL), 1);
	errno = 0;
	assert_int_equal(nftread_set_elems("sluiceel", "nosuch", elem_row, rows), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(nft_do("delete table inet sluiceel\n"), 0);
}

/* nftread_set_stream_open: the same dump read piece by piece, as the
 * event loop reads it (one socket buffer a call here, each call returning
 * when nothing has arrived): every element once, in parts (a set of
 * 20,000 takes many buffers), then 1; a set that is not there is ENOENT
 * from the open. A set deleted and declared again while its dump is read
 * (what a reload does, ruleset_update.c), or its table replaced, fails
 * the read (ENOENT from the dump's NLMSG_DONE, EINTR, or EAGAIN from the
 * set's new handle): never a complete dump that is shorter. */
static void count_elem(void *ctx, const struct nftread_elem *e)
{
	size_t *n = ctx;
	if (e->len == 4)
		++*n;
}

static void test_kernel_set_stream(void **state)
{
	(void)state;
	private_netns();
	char *script = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&script, &len);
	assert_non_null(f);
	fprintf(f, "table inet sluicest {\n set big4 { type ipv4_addr; "
		   "flags timeout; }\n}\nadd element inet sluicest big4 { ");
	for (int i = 0; i < 20000; i++)
		fprintf(f, "%s198.19.%d.%d timeout 10m", i ? ", " : "",
			i >> 8, i & 255);
	fprintf(f, " }\n");
	fclose(f);
	assert_int_equal(nft_do(script), 0);
	/* the elements again, for the changes below */
	char *script_refill = strdup(strstr(script, "add element"));
	assert_non_null(script_refill);
	free(script);
	size_t n = 0;
	struct nftread_stream *st =
	    nftread_set_stream_open("sluicest", "big4", count_elem, &n);
	assert_non_null(st);
	int rc = 0, calls = 0, parts = 0;
	while (rc == 0 && calls < 100000) {
		size_t before = n;
		rc = nftread_stream_read(st, 1);
		calls++;
		parts += n > before;
	}
	assert_int_equal(rc, 1);
	assert_int_equal(n, 20000);
	assert_int_equal(nftread_stream_count(st), 20000);
	assert_true(parts > 1);
	nftread_stream_close(st);
	errno = 0;
	st = nftread_set_stream_open("sluicest", "nosuch", count_elem, &n);
	assert_null(st);
	assert_int_equal(errno, ENOENT);
	static const char *const changes[] = {
	    "delete set inet sluicest big4\n"
	    "add set inet sluicest big4 { type ipv4_addr; flags timeout; }\n",
	    "delete table inet sluicest\n"
	    "add table inet sluicest\n"
	    "add set inet sluicest big4 { type ipv4_addr; flags timeout; }\n",
	};
	for (size_t k = 0; k < sizeof(changes) / sizeof(*changes); k++) {
		assert_int_equal(nft_do(script_refill), 0);
		n = 0;
		st = nftread_set_stream_open("sluicest", "big4", count_elem,
					     &n);
		assert_non_null(st);
		for (calls = 0, rc = 0; n == 0 && rc == 0 && calls < 100000;
		     calls++)
			rc = nftread_stream_read(st, 1);
		assert_int_equal(rc, 0); /* a part read, more to come */
		assert_int_equal(nft_do(changes[k]), 0);
		for (calls = 0; rc == 0 && calls < 100000; calls++)
			rc = nftread_stream_read(st, 1);
		assert_int_equal(rc, -1);
		assert_true(errno == ENOENT || errno == EINTR ||
			    errno == EAGAIN);
		assert_true(n < 20000);
		nftread_stream_close(st);
	}
	free(script_refill);
	assert_int_equal(nft_do("delete table inet sluicest\n"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_agree),
	    cmocka_unit_test(test_kernel_digests),
	    cmocka_unit_test(test_latency_bounds),
	    cmocka_unit_test(test_table_sane),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_process),
	    cmocka_unit_test(test_nfqueue_parse),
	    cmocka_unit_test(test_kernel_add_rule),
	    cmocka_unit_test(test_kernel_named),
	    cmocka_unit_test(test_kernel_set_elems),
	    cmocka_unit_test(test_kernel_set_stream),
	    cmocka_unit_test(test_kernel_kept),
	    cmocka_unit_test(test_kernel_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
