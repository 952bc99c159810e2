/*
 * test_ruleset.c — the policy → kernel compiler (src/kernel/ruleset.c).
 *
 * Golden files: for every tests/golden/NAME.conf the generated nft script
 * must equal NAME.nft and the xtables text (IPv4 then IPv6) NAME.xt. A
 * line "#! key=value ..." in the .conf sets generator options (utc_offset,
 * kday_offset, fail_open, queue_num, queue_count, mark_shift, nft_queue);
 * clock offsets default to 0 so the files do not depend on the machine.
 * On a mismatch the actual text is written to ./golden-NAME.EXT.actual and
 * the first differing line is printed; UPDATE_GOLDEN=1 rewrites the files.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/util.h"
#include "kernel/ruleset.h"

#define GOLDEN SOURCE_ROOT "/tests/golden"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = xmalloc((size_t)n + 1);
	size_t k = fread(s, 1, (size_t)n, f);
	s[k] = 0;
	fclose(f);
	return s;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Applies "#! k=v ..." lines of TEXT to O. */
static void apply_opts(const char *text, struct ruleset_opts *o)
{
	for (const char *l = text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, "#!", 2) != 0)
			continue;
		const char *e = strchr(l, '\n');
		char *line = e ? xstrndup(l + 2, (size_t)(e - l - 2)) : xstrdup(l + 2);
		char *save = NULL;
		for (char *t = strtok_r(line, " \t", &save); t;
		     t = strtok_r(NULL, " \t", &save)) {
			char *eq = strchr(t, '=');
			assert_non_null(eq);
			*eq = 0;
			long v = strtol(eq + 1, NULL, 0);
			if (!strcmp(t, "utc_offset"))
				o->utc_offset_min = (int32_t)v;
			else if (!strcmp(t, "kday_offset"))
				o->kday_offset_min = (int32_t)v;
			else if (!strcmp(t, "fail_open"))
				o->fail_open = v != 0;
			else if (!strcmp(t, "queue_num"))
				o->queue_num = (uint32_t)v;
			else if (!strcmp(t, "queue_count"))
				o->queue_count = (uint32_t)v;
			else if (!strcmp(t, "mark_shift"))
				o->mark_shift = (uint32_t)v;
			else if (!strcmp(t, "nft_queue"))
				o->nft_queue = v != 0;
			else if (!strcmp(t, "adopt"))
				o->adopt = v != 0;
			else
				fail_msg("unknown golden option '%s'", t);
		}
		free(line);
	}
	o->self_mark = rs_mark(o, RS_DEC_ALLOW, RS_ID_SELF);
}

/* Compares ACTUAL to the golden file PATH; returns 0 when equal. */
static int compare(const char *name, const char *ext, const char *actual)
{
	char path[512], out[512];
	snprintf(path, sizeof(path), GOLDEN "/%s.%s", name, ext);
	if (getenv("UPDATE_GOLDEN") && strcmp(getenv("UPDATE_GOLDEN"), "1") == 0) {
		spit(path, actual);
		printf("golden: rewrote %s\n", path);
		return 0;
	}
	char *want = slurp(path);
	if (want && strcmp(want, actual) == 0) {
		free(want);
		return 0;
	}
	snprintf(out, sizeof(out), "golden-%s.%s.actual", name, ext);
	spit(out, actual);
	int line = 1;
	const char *a = actual, *w = want ? want : "";
	const char *al = actual, *wl = w;
	while (*a && *a == *w) {
		if (*a == '\n') {
			line++;
			al = a + 1;
			wl = w + 1;
		}
		a++, w++;
	}
	a = al; /* print whole lines */
	w = wl;
	const char *ae = strchr(a, '\n'), *we = strchr(w, '\n');
	printf("golden mismatch %s line %d:\n  want: %.*s\n  got:  %.*s\n"
	       "  diff -u %s %s   (UPDATE_GOLDEN=1 to accept)\n",
	       path, line, (int)(we ? we - w : (long)strlen(w)), w,
	       (int)(ae ? ae - a : (long)strlen(a)), a, path, out);
	free(want);
	return 1;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *s = hay; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

/* The reload of an unchanged ruleset NFT as an update of itself
 * (ruleset_nft_update): no `delete table`, the table's rules flushed,
 * every set/map/chain/named object declared deleted before it is declared
 * again, sets before chains, and the ct timeout object not deleted. */
static void check_update_self(const char *nft, const struct ruleset_opts *o)
{
	char *up = ruleset_nft_update(nft, o, nft);
	assert_non_null(up);
	char *flush = xasprintf("\nflush table inet %s\n", o->table);
	char *del = xasprintf("delete table inet %s\n", o->table);
	assert_non_null(strstr(up, flush));
	assert_null(strstr(up, del));
	assert_int_equal(count(up, "\ndelete chain "), count(nft, "\n\tchain "));
	assert_int_equal(count(up, "\ndelete set "), count(nft, "\n\tset "));
	assert_int_equal(count(up, "\ndelete map "), count(nft, "\n\tmap "));
	assert_int_equal(count(up, "\ndelete counter "),
			 count(nft, "\n\tcounter "));
	assert_int_equal(count(up, "\ndelete ct helper "),
			 count(nft, "\n\tct helper "));
	assert_int_equal(count(up, "\ndelete ct timeout "), 0);
	assert_int_equal(count(nft, "\n\tct timeout "), 1);
	const char *lastset = strstr(up, "\ndelete set "), *s;
	while (lastset && (s = strstr(lastset + 1, "\ndelete set ")))
		lastset = s;
	if (lastset)
		assert_true(lastset < strstr(up, "\ndelete chain "));
	/* after the teardown, the same declarations as the replacement */
	const char *body = strstr(nft, del);
	assert_non_null(body);
	body += strlen(del);
	assert_true(strlen(up) > strlen(body));
	assert_string_equal(up + strlen(up) - strlen(body), body);
	free(flush);
	free(del);
	free(up);
}

static int run_case(const char *name)
{
	char path[512];
	struct diags d = {0};
	snprintf(path, sizeof(path), GOLDEN "/%s.conf", name);
	struct policy *p = policy_load(path, &d);
	if (!p) {
		diags_print(&d, stdout);
		diags_free(&d);
		return 1;
	}
	char *text = slurp(path);
	struct ruleset_opts o;
	ruleset_opts_init(&o, p);
	o.utc_offset_min = 0;
	o.kday_offset_min = 0;
	apply_opts(text, &o);
	free(text);

	int bad = 0;
	char *nft = ruleset_nft(p, &o);
	bad += compare(name, "nft", nft);
	check_update_self(nft, &o);
	char *x4 = ruleset_xt(&o, AF_INET), *x6 = ruleset_xt(&o, AF_INET6);
	char *xt = xasprintf("%s%s", x4 ? x4 : "# no xt part: nft queue\n",
			     x6 ? x6 : "");
	bad += compare(name, "xt", xt);
	free(nft);
	free(x4);
	free(x6);
	free(xt);
	policy_free(p);
	diags_free(&d);
	return bad;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_golden(void **state)
{
	(void)state;
	DIR *dir = opendir(GOLDEN);
	assert_non_null(dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".conf") == 0) {
			char *s = xstrndup(de->d_name, l - 5);
			VEC_PUSH(names, n, s);
		}
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), cmpstr);
	assert_true(n >= 9);
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		int b = run_case(names[i]);
		if (b)
			printf("golden case %s: %d mismatch(es)\n", names[i], b);
		bad += b;
		free(names[i]);
	}
	free(names);
	assert_int_equal(bad, 0);
}

/* The rules of chain flood_tcpFAM in the table text NFT, each line
 * after LEAD, "\n"-joined (allocated). */
static char *chain_rules(const char *nft, int fam, const char *lead)
{
	char head[64];
	snprintf(head, sizeof(head), "\tchain flood_tcp%d {\n", fam);
	const char *at = strstr(nft, head);
	assert_non_null(at);
	at += strlen(head);
	char *out = xstrdup("");
	for (const char *l = at; strncmp(l, "\t}", 2) != 0;) {
		const char *e = strchr(l, '\n');
		assert_non_null(e);
		char *s = xasprintf("%s%s%.*s\n", out, lead, (int)(e - l - 2),
				    l + 2);
		free(out);
		out = s;
		l = e + 1;
	}
	return out;
}

/* flood_tcp_chain_script(): the chain's rules as a new table has them:
 * the exceptions first, then tcp-half-open's lookup, or the same without
 * the lookup; the limits' keys read raw (no family compare), IPv6 ones cut
 * to the prefix; nothing without a TCP limit. */
static void test_flood_tcp_chain_script(void **state)
{
	(void)state;
	struct diags d = {0};
	struct policy *p = policy_load(GOLDEN "/flood.conf", &d);
	assert_non_null(p);
	struct ruleset_opts o;
	ruleset_opts_init(&o, p);
	char *nft = ruleset_nft(p, &o);
	for (int fam = 4; fam <= 6; fam += 2) {
		char lead[64], flush[64], look[32];
		snprintf(lead, sizeof(lead), "add rule inet %s flood_tcp%d ",
			 o.table, fam);
		snprintf(flush, sizeof(flush), "flush chain inet %s flood_tcp%d\n",
			 o.table, fam);
		snprintf(look, sizeof(look), "@flood_half_open%d ", fam);
		char *rules = chain_rules(nft, fam, lead);
		char *with = flood_tcp_chain_script(&o, fam, true);
		char *without = flood_tcp_chain_script(&o, fam, false);
		char *want = xasprintf("%s%s", flush, rules);
		assert_string_equal(with, want);
		assert_int_equal(count(rules, "\n"), 5);
		assert_int_equal(count(with, look), 1);
		/* the exceptions, then the lookup; without it the rest stay */
		const char *exc = fam == 4 ? "ip saddr @flood_exceptions4 return\n"
					   : "ip6 saddr @flood_exceptions6 return\n";
		const char *first = fam == 4
					    ? "ip saddr @flood_half_open4 "
					    : "ip6 saddr & ffff:ffff:ffff:ff00:: "
					      "@flood_half_open6 ";
		const char *r1 = with + strlen(flush);
		assert_int_equal(strncmp(r1 + strlen(lead), exc, strlen(exc)), 0);
		const char *r2 = strchr(r1, '\n') + 1;
		assert_int_equal(strncmp(r2 + strlen(lead), first, strlen(first)),
				 0);
		assert_int_equal(count(without, look), 0);
		char *kept = xasprintf("%.*s%s", (int)(r2 - with), with,
				       strchr(r2, '\n') + 1);
		assert_string_equal(without, kept);
		/* the meters' keys: no `ip saddr` (and its family compare) */
		const char *key = fam == 4 ? "{ @nh,96,32 limit rate "
					   : "{ @nh,64,128 & "
					     "0xffffffffffffff000000000000000000 "
					     "limit rate ";
		assert_int_equal(count(with, key), 1);
		free(kept);
		free(rules);
		free(with);
		free(without);
		free(want);
	}
	assert_null(flood_tcp_chain_script(&o, 5, true));
	free(nft);
	policy_free(p);
	diags_free(&d);
	/* udp-rate alone: no flood_tcp chain, no script */
	static const char udp[] = "flood { tcp-connect-rate 0 tcp-concurrent "
				  "0 tcp-half-open 0 udp-rate 10/s }\n";
	p = policy_load_buffer("u.conf", udp, strlen(udp), &d);
	assert_non_null(p);
	ruleset_opts_init(&o, p);
	assert_null(flood_tcp_chain_script(&o, 4, true));
	policy_free(p);
	diags_free(&d);
}

/* Without a policy the options hold the settings rows' defaults: the same
 * as with a policy that sets nothing. */
static void test_opts_defaults(void **state)
{
	(void)state;
	struct diags d = {0};
	struct policy *p = policy_load_buffer("empty.conf", "", 0, &d);
	assert_non_null(p);
	struct ruleset_opts a, b;
	ruleset_opts_init(&a, NULL);
	ruleset_opts_init(&b, p);
	assert_int_equal(a.queue_count, b.queue_count);
	assert_int_equal(a.udp_timeout_s, b.udp_timeout_s);
	assert_int_equal(a.mark_shift, b.mark_shift);
	assert_int_equal(a.deny_memory_s, b.deny_memory_s);
	assert_int_equal(a.reject_rate, b.reject_rate);
	assert_int_equal(a.nflog_group, b.nflog_group);
	assert_int_equal(a.klog_rate, b.klog_rate);
	assert_true(a.queue_count >= 1 && a.udp_timeout_s > 0 &&
		    a.reject_rate > 0 && a.klog_rate > 0);
	policy_free(p);
	diags_free(&d);
}

static void test_marks(void **state)
{
	(void)state;
	struct ruleset_opts o;
	ruleset_opts_init(&o, NULL);
	assert_int_equal(o.mark_shift, 16);
	assert_int_equal(rs_mark_own(&o), 0xffff0000u);
	assert_int_equal(rs_mark(&o, RS_DEC_ALLOW, 2), 0x40020000u);
	assert_int_equal(rs_mark(&o, RS_DEC_QUEUE, 0), 0xc0000000u);
	assert_int_equal(rs_mark(&o, RS_DEC_ALLOW, RS_ID_FAILOPEN), 0x7fff0000u);
	assert_int_equal(o.self_mark, 0x40000000u);
	o.mark_shift = 0;
	assert_int_equal(rs_mark_own(&o), 0x0000ffffu);
	assert_int_equal(rs_mark(&o, RS_DEC_DENY, 5), 0x8005u);
	assert_int_equal(rs_rule_id(0), 1);
	assert_int_equal(rs_rule_id(16380), 16381);
	assert_int_equal(rs_rule_id(16381), RS_ID_LAST);
	assert_int_equal(rs_rule_id(100000), RS_ID_LAST);
	/* the generator and the decider share common/mark.h: same bits at
	 * every shift */
	for (uint32_t sh = 0; sh <= 16; sh++) {
		o.mark_shift = sh;
		assert_int_equal(rs_mark_own(&o), mark_owned(sh));
		assert_int_equal(rs_mark(&o, RS_DEC_ALLOW, 7),
				 mark_make(sh, MARK_DEC_ALLOW, 7));
		assert_int_equal(mark_dec(sh, rs_mark(&o, RS_DEC_DENY, 9)),
				 RS_DEC_DENY);
		assert_int_equal(mark_id(sh, rs_mark(&o, RS_DEC_DENY, 9)), 9);
	}
	assert_int_equal(mark_rule_id(-1), RS_ID_SELF);
	assert_int_equal(mark_rule_id(16380), rs_rule_id(16380));
}

/* The xt text inserts only missing jumps, deletes duplicates, misplaced
 * ones and older forms (by position, last first), so re-running it
 * converges to one conditional jump at the head of each hook. */
static void test_xt_idempotent(void **state)
{
	(void)state;
	struct ruleset_opts o;
	ruleset_opts_init(&o, NULL);
	const char *want = "-m mark ! --mark 0x0/0xc0000000 -j SLUICE\n";

	char *fresh = ruleset_xt(&o, AF_INET);
	assert_int_equal(count(fresh, "-I "), 3);
	assert_int_equal(count(fresh, want), 3);
	assert_int_equal(count(fresh, "-D "), 0);
	assert_int_equal(count(fresh, "-F SLUICE"), 0);
	/* fail closed: no bypass, the kernel drops what nobody takes */
	assert_non_null(strstr(fresh, "--queue-num 0\n"));
	assert_null(strstr(fresh, "bypass"));
	free(fresh);
	o.fail_open = true;
	fresh = ruleset_xt(&o, AF_INET);
	assert_non_null(strstr(fresh, "--queue-num 0 --queue-bypass\n"));
	free(fresh);
	o.fail_open = false;

	const char *installed =
	    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
	    ":OUTPUT ACCEPT [0:0]\n:SLUICE - [0:0]\n"
	    "-A INPUT -m mark ! --mark 0x0/0xc0000000 -j SLUICE\n"
	    "-A FORWARD -m mark ! --mark 0x0/0xc0000000 -j SLUICE\n"
	    "-A OUTPUT -m mark ! --mark 0x0/0xc0000000 -j SLUICE\n"
	    "-A SLUICE -j DROP\nCOMMIT\n";
	char *again = ruleset_xt_from(&o, AF_INET, installed);
	assert_int_equal(count(again, "-I "), 0);
	assert_int_equal(count(again, "-D "), 0);
	assert_int_equal(count(again, "-F SLUICE"), 1);
	free(again);

	const char *older = /* an older sluice: unconditional jumps */
	    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
	    ":OUTPUT ACCEPT [0:0]\n:SLUICE - [0:0]\n-A INPUT -j SLUICE\n"
	    "-A FORWARD -j SLUICE\n-A OUTPUT -j SLUICE\nCOMMIT\n";
	char *up = ruleset_xt_from(&o, AF_INET, older);
	assert_int_equal(count(up, "-D INPUT 1\n"), 1);
	assert_int_equal(count(up, "-D FORWARD 1\n"), 1);
	assert_int_equal(count(up, "-D OUTPUT 1\n"), 1);
	assert_int_equal(count(up, want), 3);
	free(up);

	const char *messy =
	    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
	    ":OUTPUT ACCEPT [0:0]\n:SLUICE - [0:0]\n"
	    "-A INPUT -j SLUICE\n-A INPUT -j SLUICE\n"
	    "-A FORWARD -i eth0 -j ACCEPT\n"
	    "-A FORWARD -m mark ! --mark 0x0/0xc0000000 -j SLUICE\n"
	    "-A OUTPUT -j SLUICE_OTHER\nCOMMIT\n";
	char *fix = ruleset_xt_from(&o, AF_INET, messy);
	assert_non_null(strstr(fix, "-D INPUT 2\n-D INPUT 1\n-I INPUT 1 "));
	assert_non_null(strstr(fix, "-D FORWARD 2\n-I FORWARD 1 "));
	assert_int_equal(count(fix, "-D OUTPUT"), 0);
	assert_int_equal(count(fix, "-I OUTPUT 1 "), 1);
	free(fix);

	char *rm = ruleset_xt_remove(&o, AF_INET, messy);
	assert_non_null(strstr(rm, "-D INPUT 2\n-D INPUT 1\n"));
	assert_int_equal(count(rm, "-D FORWARD 2\n"), 1);
	assert_int_equal(count(rm, "-D OUTPUT"), 0);
	assert_non_null(strstr(rm, "-X SLUICE\n"));
	free(rm);
	assert_null(ruleset_xt_remove(&o, AF_INET, ""));

	o.queue_count = 4;
	o.queue_num = 2;
	char *bal = ruleset_xt(&o, AF_INET6);
	assert_non_null(strstr(bal, "--queue-balance 2:5\n"));
	free(bal);
	o.nft_queue = true;
	assert_null(ruleset_xt(&o, AF_INET));
}

/* Rule ids saturate; a big policy still compiles. */
static void test_many_rules(void **state)
{
	(void)state;
	size_t n = 16390;
	size_t cap = n * 64 + 256, len = 0;
	char *text = xmalloc(cap);
	len += (size_t)snprintf(text + len, cap - len,
				"network lan { 198.18.1.0/24 }\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"rule \"r%zu\" allow from lan to "
					"198.19.%zu.%zu\n",
					i, (i / 256) % 256, i % 256);
	struct diags d = {0};
	struct policy *p = policy_load_buffer("many.conf", text, len, &d);
	free(text);
	assert_non_null(p);
	struct ruleset_opts o;
	ruleset_opts_init(&o, p);
	char *nft = ruleset_nft(p, &o);
	assert_non_null(strstr(nft, "| 0x7ffe0000 accept comment \"rule 16390"));
	assert_non_null(strstr(nft, "| 0x7ffd0000 accept comment \"rule 16381 "));
	free(nft);
	policy_free(p);
	diags_free(&d);
}

/* ruleset_xt_intact() on iptables-nft-save text: the watch's xt check. */
static void test_xt_intact(void **state)
{
	(void)state;
	struct ruleset_opts o;
	ruleset_opts_init(&o, NULL);
	static const char head[] =
	    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
	    ":OUTPUT ACCEPT [0:0]\n:SLUICE - [0:0]\n";
	static const char jump[] = "-m mark ! --mark 0x0/0xc0000000 -j SLUICE";
	static const char rules[] =
	    "-A SLUICE -m mark --mark 0xfffb0000/0xffff0000 -j NFQUEUE "
	    "--queue-num 1\n"
	    "-A SLUICE -m mark --mark 0xfff90000/0xffff0000 -j NFQUEUE "
	    "--queue-num 2\n"
	    "-A SLUICE -m mark --mark 0xc0000000/0xc0000000 -j CONNMARK "
	    "--save-mark --nfmask 0xffff0000 --ctmask 0xffff0000\n"
	    "-A SLUICE -m mark --mark 0xc0000000/0xc0000000 -j NFQUEUE "
	    "--queue-num 0\n"
	    "-A SLUICE -m mark --mark 0x40000000/0xc0000000 -m connmark "
	    "--mark 0xc0000000/0xc0000000 -j CONNMARK --save-mark --nfmask "
	    "0xffff0000 --ctmask 0xffff0000\n"
	    "-A SLUICE -m mark --mark 0x80000000/0xc0000000 -m connmark "
	    "--mark 0xc0000000/0xc0000000 -j CONNMARK --save-mark --nfmask "
	    "0xffff0000 --ctmask 0xffff0000\n"
	    "-A SLUICE -m mark --mark 0x80000000/0xc0000000 -j ACCEPT\n";
	char *ok = xasprintf("%s-A INPUT %s\n-A FORWARD %s\n-A FORWARD -s "
			     "203.0.113.0/24 -j DROP\n-A OUTPUT %s\n%sCOMMIT\n",
			     head, jump, jump, jump, rules);
	assert_true(ruleset_xt_intact(&o, ok));
	/* a foreign rule above the FORWARD jump */
	char *buried = xasprintf("%s-A INPUT %s\n-A FORWARD -j ACCEPT\n"
				 "-A FORWARD %s\n-A OUTPUT %s\n%sCOMMIT\n",
				 head, jump, jump, jump, rules);
	assert_false(ruleset_xt_intact(&o, buried));
	/* the OUTPUT jump deleted */
	char *nojump = xasprintf("%s-A INPUT %s\n-A FORWARD %s\n%sCOMMIT\n",
				 head, jump, jump, rules);
	assert_false(ruleset_xt_intact(&o, nojump));
	/* iptables -F: jumps and SLUICE's rules gone, the chain left */
	char *flushed = xasprintf("%sCOMMIT\n", head);
	assert_false(ruleset_xt_intact(&o, flushed));
	/* a second jump further down */
	char *twice = xasprintf("%s-A INPUT %s\n-A FORWARD %s\n-A FORWARD %s\n"
				"-A OUTPUT %s\n%sCOMMIT\n",
				head, jump, jump, jump, jump, rules);
	assert_false(ruleset_xt_intact(&o, twice));
	/* SLUICE without its NFQUEUE rule */
	char *noq = xasprintf("%s-A INPUT %s\n-A FORWARD %s\n-A OUTPUT %s\n"
			      "%sCOMMIT\n",
			      head, jump, jump, jump, rules);
	char *p = strstr(noq, "-A SLUICE -m mark --mark 0xc0000000/0xc0000000 "
			      "-j NFQUEUE");
	assert_non_null(p);
	memcpy(p + strlen("-A SLUICE -m mark --mark 0xc0000000/0xc0000000 -j "),
	       "NFLOG  ", 7);
	assert_false(ruleset_xt_intact(&o, noq));
	assert_false(ruleset_xt_intact(&o, ""));
	assert_false(ruleset_xt_intact(&o, NULL));
	free(ok);
	free(buried);
	free(nojump);
	free(flushed);
	free(twice);
	free(noq);
}

/*
 * Policy text reaching the nft script: for every line of NFT that
 * is not a '#' comment, the quoted strings are closed on their line, hold
 * only printable ASCII without '\', fit nft's 128-byte comment limit, and
 * MARKER (a word only the hostile text contains) appears only inside them.
 * Returns the number of bad lines (printed).
 */
static int inert_lines(const char *nft, const char *marker)
{
	int bad = 0, lineno = 0;
	size_t ml = strlen(marker);
	for (const char *l = nft; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		const char *c = l, *end = l + n;
		lineno++;
		while (c < end && (*c == '\t' || *c == ' '))
			c++;
		bool ok = true;
		if (c < end && *c != '#') {
			bool inq = false;
			size_t qlen = 0;
			for (; c < end; c++) {
				unsigned char u = (unsigned char)*c;
				if (u == '"') {
					inq = !inq;
					qlen = 0;
					continue;
				}
				if (inq) {
					if (u < 0x20 || u >= 0x7f || u == '\\' ||
					    ++qlen > 127)
						ok = false;
				} else if ((size_t)(end - c) >= ml &&
					   strncmp(c, marker, ml) == 0) {
					ok = false;
				} else if (u < 0x20 && u != '\t') {
					ok = false;
				}
			}
			if (inq)
				ok = false;
		}
		if (!ok) {
			printf("not inert, line %d: %.*s\n", lineno, (int)n, l);
			bad++;
		}
		l = e ? e + 1 : end;
	}
	return bad;
}

/* Hostile names and a hostile file name stay inert text in the script. */
static void test_hostile_text(void **state)
{
	(void)state;
	static const char file[] =
	    "evil\"\n}\ntable inet evil { chain c { type filter hook input "
	    "priority 0; policy drop; } }\n# \\ \".conf";
	static const char text[] =
	    "network lan { 198.18.1.0/24 }\n"
	    "protocol web tcp 80\n"
	    "rule \"x\\\" accept\t table inet evil {}\\\\\" allow web from lan "
	    "to 198.19.0.1\n"
	    "rule \"evil\tevil\xc3\xa9" "evil evil evil evil evil evil "
	    "evil evil evil evil evil evil evil evil evil evil evil evil evil "
	    "evil\" deny from lan to 198.19.0.2\n"
	    "farm f { server s1 198.19.1.1 }\n"
	    "publish \"evil\\\" } ; table inet evil { \\\"\" tcp 443 on "
	    "198.19.0.9 to f\n";
	struct diags d = {0};
	struct policy *p = policy_load_buffer(file, text, strlen(text), &d);
	if (!p)
		diags_print(&d, stdout);
	assert_non_null(p);
	struct ruleset_opts o;
	ruleset_opts_init(&o, p);
	char *nft = ruleset_nft(p, &o);
	if (getenv("DUMP"))
		puts(nft);
	assert_int_equal(inert_lines(nft, "evil"), 0);
	/* the names are there, escaped: the text was not just dropped */
	assert_non_null(strstr(nft, "comment \"rule 1 'x_ accept_ table inet "
				    "evil {}_' (evil__}_table inet evil"));
	assert_non_null(strstr(nft, "published: evil_ } ; table inet evil { _"));
	/* and the checker does catch what the escaping prevents */
	assert_int_equal(inert_lines("\tcounter comment \"a\" table inet evil\n"
				     "\tcomment \"open\n", "evil"), 2);
	free(nft);
	policy_free(p);
	diags_free(&d);
}

/* A reload whose udp-timeout changed deletes the ct timeout object and
 * declares it with the new values, in the same transaction; a text that is
 * not a ruleset of the table, or declares a kind not known to the
 * teardown, gives NULL (the installer then replaces the table). */
static struct policy *load_text(const char *text)
{
	struct diags d = {0};
	struct policy *p = policy_load_buffer("update.conf", text,
					      strlen(text), &d);
	if (!p)
		diags_print(&d, stdout);
	diags_free(&d);
	assert_non_null(p);
	return p;
}

static void test_update(void **state)
{
	(void)state;
	const char *base = "network lan { 198.18.1.0/24 }\n"
			   "protocol dns udp 53\n"
			   "rule \"d\" allow dns from lan to any\n";
	char *t60 = xasprintf("%squeue { udp-timeout 60s }\n", base);
	char *t30 = xasprintf("%squeue { udp-timeout 30s }\n", base);
	struct policy *p60 = load_text(t60), *p30 = load_text(t30);
	struct ruleset_opts o60, o30;
	ruleset_opts_init(&o60, p60);
	ruleset_opts_init(&o30, p30);
	char *n60 = ruleset_nft(p60, &o60), *n30 = ruleset_nft(p30, &o30);

	char *up = ruleset_nft_update(n30, &o30, n60);
	assert_non_null(up);
	assert_int_equal(count(up, "\ndelete ct timeout inet sluice "
				   "udp_session\n"), 1);
	assert_non_null(strstr(up, "unreplied : 30, replied : 30"));
	free(up);
	up = ruleset_nft_update(n60, &o60, n60);
	assert_int_equal(count(up, "delete ct timeout"), 0);
	free(up);

	/* not ours, or not known: NULL */
	assert_null(ruleset_nft_update(n60, &o60, "table inet other {\n}\n"));
	assert_null(ruleset_nft_update(n60, &o60, ""));
	assert_null(ruleset_nft_update(n60, &o60,
				       "table inet sluice {\n\tchain a {\n"));
	assert_null(ruleset_nft_update(
	    n60, &o60, "table inet sluice {\n\tfrobnicator x {}\n}\n"));
	assert_null(ruleset_nft_teardown("sluice", n60, "table inet x {\n}\n"));
	char *td = ruleset_nft_teardown(
	    "sluice",
	    "table inet sluice {\n\t# c\n\n\tchain \"a b\" {\n\t\tjump c\n"
	    "\t}\n\tlimit l { rate 1/second }\n\tmap m {\n\t}\n}\n",
	    n60);
	assert_non_null(td);
	assert_string_equal(td, "flush table inet sluice\n"
				"delete map inet sluice m\n"
				"delete limit inet sluice l\n"
				"delete chain inet sluice \"a b\"\n");
	free(td);
	free(n60);
	free(n30);
	free(t60);
	free(t30);
	policy_free(p60);
	policy_free(p30);
}

/* flood_half_open_wait_s(): 200 times the pass's CPU time, rounded up
 * (0.5 % of a core at most), never under a second, capped at 5 s. */
static void test_half_open_wait(void **state)
{
	(void)state;
	assert_int_equal(flood_tcp_burst(600), 60);
	assert_int_equal(flood_tcp_burst(5), 1);
	assert_int_equal(flood_half_open_wait_s(0), 1);
	assert_int_equal(flood_half_open_wait_s(4000000), 1);  /* 0.8 s */
	assert_int_equal(flood_half_open_wait_s(5000000), 1);  /* 1 s */
	assert_int_equal(flood_half_open_wait_s(5000001), 2);  /* up */
	assert_int_equal(flood_half_open_wait_s(14000000), 3); /* 2.8 s */
	assert_int_equal(flood_half_open_wait_s(22000000), 5); /* 4.4 s */
	assert_int_equal(flood_half_open_wait_s(25000000), 5);
	assert_int_equal(flood_half_open_wait_s(1000000000),
			 FLOOD_HALF_OPEN_WAIT_MAX_S);
	assert_int_equal(flood_half_open_wait_s(UINT64_MAX),
			 FLOOD_HALF_OPEN_WAIT_MAX_S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_marks),
	    cmocka_unit_test(test_opts_defaults),
	    cmocka_unit_test(test_xt_idempotent),
	    cmocka_unit_test(test_many_rules),
	    cmocka_unit_test(test_hostile_text),
	    cmocka_unit_test(test_xt_intact),
	    cmocka_unit_test(test_update),
	    cmocka_unit_test(test_half_open_wait),
	    cmocka_unit_test(test_flood_tcp_chain_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
