/*
 * ruleset.c — compiles a checked policy into the sluice nftables table and
 * the xtables NFQUEUE chain (docs/kernel.md).
 *
 * What a rule means is defined by src/policy/eval.c; this file restates it
 * per netfilter hook:
 *   forward  neither side is the gateway
 *   input    the destination is the gateway (flow.dst_local)
 *   output   the source is the gateway (flow.src_local)
 * A side that is the gateway in a chain matches only when the rule says
 * `any` or `localhost` there (no address test); any other side tests its
 * compiled addresses (`any` = no test, none = the rule cannot match in that
 * chain). A destination with domain sets may match by name, so its
 * addresses are never tested: the session is queued to sluiced.
 * Rules keep their order; the first match wins; the chain ends in a drop.
 */
#include "kernel/ruleset.h"
#include "common/mark.h"
#include "policy/settings.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/internal.h"

/* ---- a growable string ---------------------------------------------------- */

struct sbuf {
	char *s;
	size_t n, cap;
};

static void sb_vadd(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int k = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (k < 0)
		return;
	if (b->n + (size_t)k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->n + (size_t)k + 1)
			cap *= 2;
		b->s = xrealloc(b->s, cap);
		b->cap = cap;
	}
	vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
	b->n += (size_t)k;
}

static void sb_add(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vadd(b, fmt, ap);
	va_end(ap);
}

static char *sb_take(struct sbuf *b)
{
	if (!b->s)
		return xstrdup("");
	return b->s;
}

/* ---- marks ------------------------------------------------------------------ */

uint32_t rs_mark_own(const struct ruleset_opts *o)
{
	return mark_owned(o->mark_shift);
}

uint32_t rs_mark(const struct ruleset_opts *o, unsigned dec, unsigned id)
{
	return mark_make(o->mark_shift, dec, id);
}

static uint32_t mark_dec_mask(const struct ruleset_opts *o)
{
	return rs_mark(o, 3, 0);
}

static uint32_t mark_keep(const struct ruleset_opts *o)
{
	return ~rs_mark_own(o);
}

unsigned rs_rule_id(size_t index)
{
	return mark_rule_id(index > MARK_ID_LAST ? MARK_ID_LAST : (long)index);
}
/* ---- options ---------------------------------------------------------------- */

/* Kernel sys_tz (minutes east), read with the raw system call: glibc no
 * longer reports it through gettimeofday(). */
static int32_t kernel_tz_east(void)
{
	struct timeval tv;
	struct timezone tz = {0, 0};
	if (syscall(SYS_gettimeofday, &tv, &tz) != 0)
		return 0;
	return -tz.tz_minuteswest;
}

/* The default of setting KEY of block BLOCK (policy/settings.c, the one
 * home of defaults); 0 when there is no such row. */
static uint32_t setting_dflt(const char *block, const char *key)
{
	const struct settings_block *b = settings_block_find(block);
	return b ? setting_default(b->table, key) : 0;
}

void ruleset_opts_init(struct ruleset_opts *o, const struct policy *p)
{
	time_t now = time(NULL);
	struct tm tm;

	memset(o, 0, sizeof(*o));
	o->table = "sluice";
	/* without a policy: the defaults of the settings rows */
	o->queue_count = setting_dflt("queue", "count");
	o->udp_timeout_s = setting_dflt("queue", "udp-timeout");
	o->mark_shift = MARK_SHIFT_DEFAULT;
	o->deny_memory_s = setting_dflt("decisions", "deny-memory");
	o->reject_rate = setting_dflt("decisions", "reject-rate");
	o->nflog_group = setting_dflt("log", "nflog-group");
	o->klog_rate = setting_dflt("log", "kernel-rate");
	if (p) {
		o->queue_num = p->queue.num;
		o->queue_count = p->queue.count ? p->queue.count : 1;
		o->fail_open = p->queue.fail == FAIL_OPEN;
		o->udp_timeout_s = p->queue.udp_timeout_s;
		o->mark_shift = p->queue.mark_shift;
		o->deny_memory_s = p->decisions.deny_memory_s;
		o->deny_reject = p->decisions.deny_action == DENYACT_REJECT;
		o->reject_rate = p->decisions.reject_rate;
		o->flood = &p->flood;
		o->nflog_group = p->log.nflog_group;
		o->klog_rate = p->log.kernel_rate;
	}
	o->self_mark = rs_mark(o, RS_DEC_ALLOW, RS_ID_SELF);
	if (localtime_r(&now, &tm))
		o->utc_offset_min = (int32_t)(tm.tm_gmtoff / 60);
	o->kday_offset_min = kernel_tz_east();
}

/* ---- addresses ---------------------------------------------------------------- */

/* Prefix length when [lo,hi] is exactly one prefix, else -1. */
static int prefix4(uint32_t lo, uint32_t hi)
{
	for (int len = 0; len <= 32; len++) {
		uint32_t host = len == 0 ? 0xffffffffu
					 : (len == 32 ? 0 : 0xffffffffu >> len);
		if ((lo & host) == 0 && (lo | host) == hi)
			return len;
	}
	return -1;
}

static int prefix6(u128 lo, u128 hi)
{
	for (int len = 0; len <= 128; len++) {
		u128 host = len == 0 ? ~(u128)0
				     : (len == 128 ? 0 : (~(u128)0) >> len);
		if ((lo & host) == 0 && (lo | host) == hi)
			return len;
	}
	return -1;
}

static void add_addr4(struct sbuf *b, uint32_t a)
{
	sb_add(b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
	       a & 255);
}

static void add_addr6(struct sbuf *b, u128 a)
{
	unsigned char raw[16];
	char txt[INET6_ADDRSTRLEN];
	for (int i = 15; i >= 0; i--) {
		raw[i] = (unsigned char)(a & 0xff);
		a >>= 8;
	}
	inet_ntop(AF_INET6, raw, txt, sizeof(txt));
	sb_add(b, "%s", txt);
}

/* "{ a, b/n, c-d }" (or a lone element) of S's FAMILY part. */
static void add_addrs(struct sbuf *b, const struct addrset *s, int family)
{
	size_t n = family == AF_INET ? s->n4 : s->n6;
	if (n > 1)
		sb_add(b, "{ ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_add(b, ", ");
		if (family == AF_INET) {
			const struct range4 *r = &s->v4[i];
			int len = prefix4(r->lo, r->hi);
			add_addr4(b, r->lo);
			if (len >= 0 && len < 32)
				sb_add(b, "/%d", len);
			else if (len < 0) {
				sb_add(b, "-");
				add_addr4(b, r->hi);
			}
		} else {
			const struct range6 *r = &s->v6[i];
			int len = prefix6(r->lo, r->hi);
			add_addr6(b, r->lo);
			if (len >= 0 && len < 128)
				sb_add(b, "/%d", len);
			else if (len < 0) {
				sb_add(b, "-");
				add_addr6(b, r->hi);
			}
		}
	}
	if (n > 1)
		sb_add(b, " }");
}

/* ---- schedules ------------------------------------------------------------------ */

/* One kernel time window: days (bit d = nft `meta day` d, 0 = Sunday) at
 * UTC seconds of the day [lo, hi]. */
struct twin {
	unsigned days;
	uint32_t lo, hi;
};

static const char *const day_names[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday"};

static int mod(int a, int m)
{
	int r = a % m;
	return r < 0 ? r + m : r;
}

static void twin_add(struct twin **v, size_t *n, unsigned day, uint32_t lo,
		     uint32_t hi)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].lo == lo && (*v)[i].hi == hi) {
			(*v)[i].days |= 1u << day;
			return;
		}
	struct twin t = {1u << day, lo, hi};
	VEC_PUSH(*v, *n, t);
}

/*
 * Converts S (local minutes of the week, Monday 00:00 = 0) into kernel
 * windows: UTC hour ranges that never wrap, each on one kernel day. Pieces
 * are cut where UTC midnight or the kernel's day boundary falls. Windows
 * with the same hours are merged into one day set.
 */
static size_t sched_windows(const struct schedule *s,
			    const struct ruleset_opts *o, struct twin **out)
{
	const int W = MINUTES_PER_WEEK, D = 1440;
	int utc = o->utc_offset_min, kz = o->kday_offset_min;
	struct twin *v = NULL;
	size_t n = 0;

	*out = NULL;
	for (size_t i = 0; i < s->n; i++) {
		int len = s->v[i].hi - s->v[i].lo + 1;
		int u = mod(s->v[i].lo - utc, W); /* UTC minute of week */
		while (len > 0) {
			/* next cut: UTC midnight, or kernel day change */
			int to_mid = D - mod(u, D);
			int to_kday = D - mod(u + kz, D);
			int step = to_mid < to_kday ? to_mid : to_kday;
			if (step > len)
				step = len;
			if (step > W - u)
				step = W - u;
			/* our week starts Monday; nft day 0 is Sunday */
			unsigned kday = (unsigned)((mod(u + kz, W) / D + 1) % 7);
			uint32_t lo = (uint32_t)mod(u, D) * 60;
			uint32_t hi = (uint32_t)(mod(u, D) + step - 1) * 60 + 59;
			twin_add(&v, &n, kday, lo, hi);
			u = mod(u + step, W);
			len -= step;
		}
	}
	*out = v;
	return n;
}

static void add_twin(struct sbuf *b, const struct twin *t)
{
	unsigned cnt = (unsigned)__builtin_popcount(t->days);
	if (cnt < 7) {
		sb_add(b, "meta day ");
		if (cnt > 1)
			sb_add(b, "{ ");
		bool first = true;
		for (int k = 1; k <= 7; k++) { /* Monday first */
			int d = k % 7;
			if (!(t->days & (1u << d)))
				continue;
			sb_add(b, "%s\"%s\"", first ? "" : ", ", day_names[d]);
			first = false;
		}
		sb_add(b, cnt > 1 ? " } " : " ");
	}
	if (t->lo != 0 || t->hi != 86399)
		sb_add(b, "meta hour %u-%u ", t->lo, t->hi);
}

/* ---- rules ------------------------------------------------------------------- */

enum chain_kind { CH_FORWARD, CH_INPUT, CH_OUTPUT, CH_COUNT };
static const char *const chain_names[CH_COUNT] = {"forward", "input",
						  "output"};

struct gen {
	struct sbuf b;
	const struct ruleset_opts *o;
	const struct policy *p;
};

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : (path ? path : "?");
}

/*
 * Policy text (rule, farm, member and publish names, the policy's file
 * name) made safe for the nft script: into BUF (LEN bytes, LEN >= 4), every
 * byte that is not printable ASCII, and '"' and '\\', becomes '_'; text
 * longer than LEN - 1 ends in "...". nft reads a quoted string up to the
 * next '"' with no escapes, and a '#' comment up to the end of the line, so
 * the result can end neither: no policy text can add a statement, a rule
 * or a table. Used for every piece of policy text the generator writes
 * (comments and '#' lines); names of chains and sets are never policy text
 * (publish_chain_name builds them from numbers). Returns BUF.
 */
static const char *nft_text(const char *in, char *buf, size_t len)
{
	size_t k = 0, n = in ? strlen(in) : 0;
	bool cut = n > len - 1;
	size_t room = cut ? len - 4 : len - 1;
	for (size_t i = 0; i < n && k < room; i++) {
		unsigned char c = (unsigned char)in[i];
		buf[k++] = (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
				   ? '_' : (char)c;
	}
	if (cut) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = 0;
	return buf;
}

/* nft's limit on a comment (NFTNL_UDATA_COMMENT_MAXLEN, 128 with the NUL). */
#define NFT_COMMENT_MAX 128

/* A rule's description for comments, safe inside nft's double quotes and
 * within nft's comment limit (BUF of at least NFT_COMMENT_MAX bytes). */
static void rule_label(const struct rule *r, char *buf, size_t len)
{
	char name[64], file[40], raw[256];
	snprintf(raw, sizeof(raw), "rule %d '%s' (%s:%d)", r->index + 1,
		 nft_text(r->name, name, sizeof(name)),
		 nft_text(base_name(r->loc.file), file, sizeof(file)),
		 r->loc.line);
	nft_text(raw, buf, len < NFT_COMMENT_MAX ? len : NFT_COMMENT_MAX);
}

/* How one side of a rule is tested in a chain. */
struct side_test {
	bool never;  /* cannot match in this chain */
	bool test;   /* addresses are tested */
	const struct addrset *addrs;
};

static struct side_test side_of(const struct endpoint *e, bool local,
				bool dst)
{
	struct side_test t = {false, false, NULL};
	if (dst && e->ndoms) /* may match by name: sluiced decides */
		return t;
	if (local) {
		t.never = !(e->any || e->local);
		return t;
	}
	if (e->any)
		return t;
	if (e->addrs.n4 == 0 && e->addrs.n6 == 0) {
		t.never = true;
		return t;
	}
	t.test = true;
	t.addrs = &e->addrs;
	return t;
}

static bool side_has(const struct side_test *t, int family)
{
	if (!t->test)
		return true;
	return family == AF_INET ? t->addrs->n4 > 0 : t->addrs->n6 > 0;
}

/* The ports (or ICMP types) of transport TR in rule R, merged; *ALL when
 * one of its protocols of that transport admits every port. Only the
 * protocols with application filter FILTER when it is not NULL. Returns
 * false when R has no such protocol of that transport. */
static bool rule_ports(const struct rule *r, enum transport tr,
		       const char *filter, struct portrange **v, size_t *n,
		       bool *all)
{
	bool have = false;
	*v = NULL;
	*n = 0;
	*all = false;
	for (size_t i = 0; i < r->nprotos; i++) {
		const struct protocol *pr = r->protos[i];
		if (pr->tr != tr)
			continue;
		if (filter && !(pr->filter && strcmp(pr->filter, filter) == 0))
			continue;
		have = true;
		if (pr->nports == 0)
			*all = true;
		for (size_t k = 0; k < pr->nports; k++)
			VEC_PUSH(*v, *n, pr->ports[k]);
	}
	if (*all) {
		free(*v);
		*v = NULL;
		*n = 0;
	} else if (*n) {
		/* sort + merge (n is small) */
		for (size_t i = 1; i < *n; i++)
			for (size_t k = i; k > 0 && (*v)[k - 1].lo > (*v)[k].lo; k--) {
				struct portrange t = (*v)[k];
				(*v)[k] = (*v)[k - 1];
				(*v)[k - 1] = t;
			}
		size_t m = 0;
		for (size_t i = 0; i < *n; i++) {
			if (m && (uint32_t)(*v)[i].lo <= (uint32_t)(*v)[m - 1].hi + 1) {
				if ((*v)[i].hi > (*v)[m - 1].hi)
					(*v)[m - 1].hi = (*v)[i].hi;
			} else {
				(*v)[m++] = (*v)[i];
			}
		}
		*n = m;
	}
	return have;
}

static void add_ports(struct sbuf *b, const struct portrange *v, size_t n)
{
	if (n > 1)
		sb_add(b, "{ ");
	for (size_t i = 0; i < n; i++) {
		sb_add(b, "%s%u", i ? ", " : "", v[i].lo);
		if (v[i].hi != v[i].lo)
			sb_add(b, "-%u", v[i].hi);
	}
	if (n > 1)
		sb_add(b, " }");
}

/* The transport test of a rule line: TR with PORTS (N of them) or every
 * port (ALL); FAM 0 when the line tests no address. */
static void add_transport(struct sbuf *b, enum transport tr, int fam,
			  const struct portrange *ports, size_t n, bool all)
{
	static const char *const pn[] = {"tcp dport", "udp dport", "icmp type",
					 "icmpv6 type"};
	static const char *const l4[] = {"tcp", "udp", "icmp", "ipv6-icmp"};
	if (tr == TR_ICMP && !fam)
		sb_add(b, "meta nfproto ipv4 ");
	if (tr == TR_ICMPV6 && !fam)
		sb_add(b, "meta nfproto ipv6 ");
	if (!all) {
		sb_add(b, "%s ", pn[tr]);
		add_ports(b, ports, n);
		sb_add(b, " ");
	} else {
		sb_add(b, "meta l4proto %s ", l4[tr]);
	}
}

/* ---- the DNS filter (ruleset.h rs_dns_queue) ----------------------------------- */

uint32_t rs_dns_queue(const struct ruleset_opts *o)
{
	return o->queue_num + (o->queue_count ? o->queue_count : 1);
}

uint32_t rs_ftp_queue(const struct ruleset_opts *o)
{
	return rs_dns_queue(o) + 1;
}

/* To the DNS queue: nft `queue` where the kernel has it, else accept
 * (the xt chain queues by the mark, xt_dns_queue()). */
static void add_dns_verdict(struct gen *g)
{
	if (g->o->nft_queue)
		sb_add(&g->b, "queue to %u ", rs_dns_queue(g->o));
	else
		sb_add(&g->b, "accept ");
}

/* A `filter dns` allow rule that the kernel decides: the session is
 * allowed by rule ID and its first packet (the query) goes to the DNS
 * queue too. */
static void add_dns_action(struct gen *g, unsigned id)
{
	const struct ruleset_opts *o = g->o;
	sb_add(&g->b,
	       "ct mark set ct mark & 0x%08x | 0x%08x meta mark set meta mark "
	       "& 0x%08x | 0x%08x ",
	       mark_keep(o), rs_mark(o, RS_DEC_ALLOW, id), mark_keep(o),
	       rs_mark(o, RS_DEC_QUEUE, RS_ID_DNS));
	add_dns_verdict(g);
}

/* The later packets (both directions) of sessions that `filter dns` rules
 * allowed go to the DNS queue: chain dns_filter, jumped to from `decided`
 * before "session allowed". Nothing when no rule filters DNS. */
static void gen_dns_filter(struct gen *g)
{
	const struct ruleset_opts *o = g->o;
	sb_add(&g->b, "\t# DNS messages of sessions allowed with `filter dns`: "
		      "to sluiced's DNS queue.\n\tchain dns_filter {\n");
	for (size_t i = 0; i < g->p->nrules; i++) {
		const struct rule *r = g->p->rules[i];
		if (!rule_filters_dns(r))
			continue;
		unsigned id = rs_rule_id((size_t)r->index);
		sb_add(&g->b,
		       "\t\tct mark & 0x%08x == 0x%08x meta mark set meta mark "
		       "& 0x%08x | 0x%08x ",
		       rs_mark_own(o), rs_mark(o, RS_DEC_ALLOW, id),
		       mark_keep(o), rs_mark(o, RS_DEC_QUEUE, RS_ID_DNS));
		add_dns_verdict(g);
		sb_add(&g->b, "comment \"filter dns, rule %u\"\n", id);
	}
	sb_add(&g->b, "\t}\n\n");
}

/* ---- the FTP filter (docs/kernel.md "FTP") ------------------------------------- */

/* The table's ct helper object for `filter ftp`: the kernel's helper "ftp"
 * (nf_conntrack_ftp; with NAT, nf_nat_ftp rewrites the addresses). */
#define FTP_HELPER_OBJ "ftp_control"

/* True when a publication of P says `filter ftp`. */
static bool publishes_ftp(const struct policy *p)
{
	for (size_t i = 0; i < p->npublishes; i++)
		if (p->publishes[i]->filter_ftp)
			return true;
	return false;
}

static bool policy_filters_ftp(const struct policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (rule_filters_ftp(p->rules[i]))
			return true;
	return publishes_ftp(p);
}

static void gen_ftp_helper_obj(struct gen *g)
{
	sb_add(&g->b,
	       "\t# filter ftp: the kernel's FTP helper reads the control "
	       "sessions of\n"
	       "\t# `filter ftp` rules and expects their data connections.\n"
	       "\tct helper %s {\n"
	       "\t\ttype \"ftp\" protocol tcp; l3proto inet;\n"
	       "\t}\n\n",
	       FTP_HELPER_OBJ);
}

/* In `decided`: the first packet of a data connection the FTP helper
 * expected (`ct helper` names its master's helper) carries its control
 * session's ct mark (the kernel copies the
 * master's mark); it passes when that decision is an allow by a `filter
 * ftp` rule. Any other related SYN is judged as a new session by the
 * rule after it. */
static void gen_ftp_related(struct gen *g)
{
	const struct ruleset_opts *o = g->o;
	bool first = true;
	sb_add(&g->b,
	       "\t\ttcp flags & (fin | syn | rst | ack) == syn ct state related "
	       "ct helper \"ftp\" ct mark & 0x%08x { ",
	       rs_mark_own(o));
	for (size_t i = 0; i < g->p->nrules; i++) {
		const struct rule *r = g->p->rules[i];
		if (!rule_filters_ftp(r))
			continue;
		sb_add(&g->b, "%s0x%08x", first ? "" : ", ",
		       rs_mark(o, RS_DEC_ALLOW, rs_rule_id((size_t)r->index)));
		first = false;
	}
	if (publishes_ftp(g->p)) /* published servers' sessions */
		sb_add(&g->b, "%s0x%08x", first ? "" : ", ",
		       rs_mark(o, RS_DEC_ALLOW, RS_ID_PUBLISHED));
	sb_add(&g->b, " } counter accept comment \"filter ftp: a data "
		      "connection of a control session a filter ftp rule "
		      "allowed\"\n");
}

/* The FTP ports of R's `filter ftp read-only` protocols (rule_ports()
 * for them); false when it has none. */
static bool ftp_ro_ports(const struct rule *r, struct portrange **v,
			 size_t *n, bool *all)
{
	struct rule ro = *r;
	const struct protocol *keep[64];
	ro.nprotos = 0;
	ro.protos = (struct protocol **)keep;
	for (size_t i = 0; i < r->nprotos && ro.nprotos < ARRAY_SIZE(keep); i++)
		if (r->protos[i]->filter_read_only)
			keep[ro.nprotos++] = r->protos[i];
	return r->action == ACT_ALLOW && ro.nprotos &&
	       rule_ports(&ro, TR_TCP, FILTER_FTP, v, n, all);
}

/* The end of a rule of `decided` that sends a packet of read-only rule
 * ID's control session to the FTP queue: counted, marked for it and
 * queued (nft `queue`) or accepted to the xt stage's NFQUEUE rule; WHAT
 * for the comment. */
static void ftp_to_queue(struct gen *g, unsigned id, const char *what)
{
	const struct ruleset_opts *o = g->o;
	sb_add(&g->b, "counter meta mark set meta mark & 0x%08x | 0x%08x ",
	       mark_keep(o), rs_mark(o, RS_DEC_QUEUE, RS_ID_FTP));
	if (o->nft_queue)
		sb_add(&g->b, "queue to %u ", rs_ftp_queue(o));
	else
		sb_add(&g->b, "accept ");
	sb_add(&g->b, "comment \"filter ftp read-only, rule %u: %s to "
		      "sluiced\"\n", id, what);
}

/* In `decided`, after the client's line of read-only rule ID (server
 * ports PORTS[0..N), ALL: any): the server's SYN/ACK of such a control
 * session goes to the FTP queue as well; its acknowledgment number is where
 * the client's stream starts (the client's ISN + 1), which the FTP filter
 * must know to judge the bytes the server assembles (ftpfilter.h). */
static void gen_ftp_synack(struct gen *g, unsigned id,
			   const struct portrange *ports, size_t n, bool all)
{
	const struct ruleset_opts *o = g->o;
	sb_add(&g->b,
	       "\t\tct direction reply ct status & expected == 0 "
	       "ct mark & 0x%08x == 0x%08x ",
	       rs_mark_own(o), rs_mark(o, RS_DEC_ALLOW, id));
	if (all) {
		sb_add(&g->b, "meta l4proto tcp ");
	} else {
		sb_add(&g->b, "tcp sport ");
		add_ports(&g->b, ports, n);
		sb_add(&g->b, " ");
	}
	sb_add(&g->b, "tcp flags & (fin | syn | rst | ack) == syn | ack ");
	ftp_to_queue(g, id, "the server's SYN/ACK (where the client's stream "
			    "starts)");
}

/* In `decided`, before "session allowed": the client's packets on the
 * control sessions of `filter ftp read-only` rules go to the FTP queue,
 * and the server's SYN/ACK (gen_ftp_synack()).
 * The control session is the one that is not expected (nft's `ct helper`
 * names the helper of a connection's master: it matches the data
 * connections, not the control session). Returns whether any rule is
 * read-only. */
static bool gen_ftp_readonly(struct gen *g)
{
	const struct ruleset_opts *o = g->o;
	bool any = false;
	for (size_t i = 0; i < g->p->nrules; i++) {
		const struct rule *r = g->p->rules[i];
		struct portrange *ports;
		size_t np;
		bool all;
		if (!ftp_ro_ports(r, &ports, &np, &all))
			continue;
		unsigned id = rs_rule_id((size_t)r->index);
		sb_add(&g->b,
		       "\t\tct direction original ct status & expected == 0 "
		       "ct mark & 0x%08x == 0x%08x ",
		       rs_mark_own(o), rs_mark(o, RS_DEC_ALLOW, id));
		add_transport(&g->b, TR_TCP, 0, ports, np, all);
		ftp_to_queue(g, id, "the client's commands");
		gen_ftp_synack(g, id, ports, np, all);
		free(ports);
		any = true;
	}
	return any;
}

static bool policy_filters_dns(const struct policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (rule_filters_dns(p->rules[i]))
			return true;
	return false;
}

/* The policy word of action A. */
static const char *action_word(enum action a)
{
	return a == ACT_ALLOW ? "allow" : a == ACT_REJECT ? "reject" : "deny";
}

/* A rule with `log` that the kernel decides alone. */
static bool rule_kernel_logged(const struct rule *r)
{
	return r->log && rule_kernel_decidable(r);
}

/* The verdict part of rule R's nft rules. */
static void add_action(struct gen *g, const struct rule *r, bool decidable,
		       const char *label)
{
	const struct ruleset_opts *o = g->o;
	unsigned id = rs_rule_id((size_t)r->index);

	sb_add(&g->b, "counter ");
	if (!decidable) {
		sb_add(&g->b, "meta mark set meta mark & 0x%08x | 0x%08x ",
		       mark_keep(o), rs_mark(o, RS_DEC_QUEUE, id));
		if (o->nft_queue) {
			/* bypass only for fail open: closed, the kernel
			 * itself drops what no listener or a full queue
			 * cannot take */
			sb_add(&g->b, "queue %sto %u",
			       o->fail_open ? "flags bypass " : "", o->queue_num);
			if (o->queue_count > 1)
				sb_add(&g->b, "-%u",
				       o->queue_num + o->queue_count - 1);
			sb_add(&g->b, " ");
		} else {
			sb_add(&g->b, "accept ");
		}
	} else if (rule_filters_dns(r)) {
		add_dns_action(g, id);
	} else if (r->action == ACT_ALLOW) {
		sb_add(&g->b, "ct mark set ct mark & 0x%08x | 0x%08x accept ",
		       mark_keep(o), rs_mark(o, RS_DEC_ALLOW, id));
	} else if (r->action == ACT_REJECT) {
		sb_add(&g->b, "goto reject_send ");
	} else {
		sb_add(&g->b, "drop ");
	}
	sb_add(&g->b, "comment \"%s\"\n", label);
}

/*
 * The `log` clause of rules the kernel decides alone: before each nft rule
 * of such a rule, a rule with the same matches hands the session's first
 * packet to sluiced through NFLOG group O->nflog_group (prefix
 * RS_KLOG_PREFIX "ACTION ID", read by kernel/nflog.c into the firewall
 * log) within the gateway-wide limit `klog` (O->klog_rate a second, burst
 * twice that), and goes on: the limit only ever skips the record, never
 * the verdict, and the deciding rule keeps its counter.
 * gen_klog_limit() declares the limit; add_klog() ends the log rule after
 * its matches (the deciding rule's matches follow it again).
 */
static void gen_klog_limit(struct gen *g)
{
	bool any = false;
	for (size_t i = 0; i < g->p->nrules && !any; i++)
		any = rule_kernel_logged(g->p->rules[i]);
	if (!any)
		return;
	uint32_t rate = g->o->klog_rate ? g->o->klog_rate : 1;
	sb_add(&g->b,
	       "\t# Sessions `log` rules decide alone: to the firewall log "
	       "(NFLOG group %u, sluiced).\n"
	       "\tlimit klog { rate %u/second burst %u packets }\n\n",
	       g->o->nflog_group, rate, 2 * rate);
}

static void add_klog(struct gen *g, const struct rule *r)
{
	unsigned id = rs_rule_id((size_t)r->index);
	sb_add(&g->b,
	       "limit name \"klog\" log prefix \"" RS_KLOG_PREFIX
	       "%s %u\" group %u comment \"log of rule %u\"\n\t\t",
	       action_word(r->action), id, g->o->nflog_group, id);
}

/* `filter ftp` (rule R allows it): the line that gives the sessions of R's
 * FTP protocols the kernel's FTP helper, on their first packet (the helper
 * must be attached before conntrack confirms the entry). PRE is the line's
 * address part. The helper is attached before the decision, also when the
 * session is queued; its data connections pass only when the session's
 * decision is by a `filter ftp` rule (gen_ftp_related). */
static void add_ftp_helper(struct gen *g, const struct rule *r,
			   const char *pre)
{
	struct portrange *ports;
	size_t np;
	bool all;
	if (!rule_ports(r, TR_TCP, FILTER_FTP, &ports, &np, &all))
		return;
	sb_add(&g->b, "%s", pre);
	add_transport(&g->b, TR_TCP, 0, ports, np, all);
	sb_add(&g->b, "ct helper set \"%s\" comment \"filter ftp: the "
		      "kernel's FTP helper\"\n", FTP_HELPER_OBJ);
	free(ports);
}

/* Rule R, which the kernel decides, allows `filter ftp read-only`
 * protocols: before its TCP line (after its log line), with the line's
 * tabs already written and ADDR its address part, a line
 * for their ports that allows the session as R does and sends its first
 * packet (the client's SYN) to the FTP queue too, as add_dns_action()
 * does for DNS: the FTP filter drops a SYN that carries data (TCP Fast
 * Open: bytes before the stream it judges) and passes a plain one.
 * Ends with the next line's tabs. Nothing for other rules. */
static void add_ftp_first(struct gen *g, const struct rule *r, int fam,
			  const char *addr)
{
	const struct ruleset_opts *o = g->o;
	struct portrange *ports;
	size_t np;
	bool all;
	if (!ftp_ro_ports(r, &ports, &np, &all))
		return;
	unsigned id = rs_rule_id((size_t)r->index);
	sb_add(&g->b, "%s", addr);
	add_transport(&g->b, TR_TCP, fam, ports, np, all);
	sb_add(&g->b, "ct mark set ct mark & 0x%08x | 0x%08x ", mark_keep(o),
	       rs_mark(o, RS_DEC_ALLOW, id));
	ftp_to_queue(g, id, "the client's SYN (no data on it)");
	sb_add(&g->b, "\t\t");
	free(ports);
}

/* Emits rule R into chain CH (possibly several nft rules, possibly none);
 * with HELPERS only the lines that attach the FTP helper (add_ftp_helper)
 * for R's sessions, without its verdict. */
static void gen_rule(struct gen *g, const struct rule *r, enum chain_kind ch,
		     const struct twin *tw, size_t ntw, bool helpers)
{
	static const char *const l3[] = {"ip", "ip6"};
	char label[160];
	bool decidable = rule_kernel_decidable(r);
	struct side_test src = side_of(&r->src, ch == CH_OUTPUT, false);
	struct side_test dst = side_of(&r->dst, ch == CH_INPUT, true);

	if (helpers && !rule_filters_ftp(r))
		return;
	if (helpers && (src.never || dst.never || (r->sched && ntw == 0)))
		return;
	rule_label(r, label, sizeof(label));
	if (helpers)
		sb_add(&g->b, "\t\t# %s: filter ftp\n", label);
	else
		sb_add(&g->b, "\t\t# %s: %s%s\n", label,
	       action_word(r->action),
	       !decidable	       ? ", ask sluiced (queue)"
	       : rule_filters_dns(r) ? ", its DNS messages to sluiced (filter dns)"
				     : "");
	if (src.never || dst.never) {
		sb_add(&g->b, "\t\t#   never matches here (%s side)\n",
		       src.never ? "source" : "destination");
		return;
	}
	if (r->sched && ntw == 0) {
		sb_add(&g->b, "\t\t#   empty schedule: never matches\n");
		return;
	}

	bool tested = src.test || dst.test;
	/* families: 0 = either (no address test), else AF_INET / AF_INET6 */
	int fams[2];
	size_t nf = 0;
	if (!tested) {
		fams[nf++] = 0;
	} else {
		if (side_has(&src, AF_INET) && side_has(&dst, AF_INET))
			fams[nf++] = AF_INET;
		if (side_has(&src, AF_INET6) && side_has(&dst, AF_INET6))
			fams[nf++] = AF_INET6;
	}
	if (nf == 0) {
		sb_add(&g->b, "\t\t#   never matches here (no common "
			      "address family)\n");
		return;
	}

	for (int tr = -1; tr < TR_COUNT; tr++) {
		struct portrange *ports = NULL;
		size_t np = 0;
		bool all = true;
		if (tr < 0 && r->nprotos)
			continue;
		if (tr >= 0 && (r->nprotos == 0 ||
				!rule_ports(r, (enum transport)tr, NULL, &ports,
					    &np, &all)))
			continue;
		for (size_t fi = 0; fi < nf; fi++) {
			int fam = fams[fi];
			if (tr == TR_ICMP && fam == AF_INET6)
				continue;
			if (tr == TR_ICMPV6 && fam == AF_INET)
				continue;
			for (size_t w = 0; w < (ntw ? ntw : 1); w++) {
				struct sbuf pre = {NULL, 0, 0};
				sb_add(&pre, "\t\t");
				if (ntw)
					add_twin(&pre, &tw[w]);
				const char *ip = fam ? l3[fam == AF_INET6] : NULL;
				if (src.test) {
					sb_add(&pre, "%s saddr ", ip);
					add_addrs(&pre, src.addrs, fam);
					sb_add(&pre, " ");
				}
				if (dst.test) {
					sb_add(&pre, "%s daddr ", ip);
					add_addrs(&pre, dst.addrs, fam);
					sb_add(&pre, " ");
				}
				if (helpers) {
					if (tr == TR_TCP)
						add_ftp_helper(g, r, pre.s);
					free(pre.s);
					continue;
				}
				bool first = tr == TR_TCP && decidable;
				sb_add(&g->b, "\t\t");
				if (first && !rule_kernel_logged(r))
					add_ftp_first(g, r, fam, pre.s + 2);
				size_t from = g->b.n; /* the matches */
				sb_add(&g->b, "%s", pre.s + 2); /* (its tabs) */
				if (tr >= 0)
					add_transport(&g->b, (enum transport)tr,
						      fam, ports, np, all);
				if (rule_kernel_logged(r)) {
					char *m = xstrndup(g->b.s + from,
							   g->b.n - from);
					add_klog(g, r);
					if (first)
						add_ftp_first(g, r, fam,
							      pre.s + 2);
					sb_add(&g->b, "%s", m);
					free(m);
				}
				free(pre.s);
				add_action(g, r, decidable, label);
			}
		}
		free(ports);
	}
}

static void gen_rules_chain(struct gen *g, enum chain_kind ch,
			    struct twin **tw, size_t *ntw)
{
	sb_add(&g->b, "\tchain rules_%s {\n", chain_names[ch]);
	/* first the FTP helpers of every `filter ftp` rule: a session an
	 * earlier rule queues may still be decided by such a rule */
	for (size_t i = 0; i < g->p->nrules; i++)
		gen_rule(g, g->p->rules[i], ch, tw[i], ntw[i], true);
	for (size_t i = 0; i < g->p->nrules; i++)
		gen_rule(g, g->p->rules[i], ch, tw[i], ntw[i], false);
	if (g->o->deny_reject)
		sb_add(&g->b, "\t\tcounter goto reject_send comment \"implicit "
			      "final deny (deny-action reject)\"\n");
	else
		sb_add(&g->b,
		       "\t\tcounter drop comment \"implicit final deny\"\n");
	sb_add(&g->b, "\t}\n\n");
}

/* ---- the table ------------------------------------------------------------------- */

/* The first commands of ruleset_nft()'s transaction: the table goes (it
 * is declared first so that the delete never fails). */
static char *replace_table(const struct ruleset_opts *o)
{
	return xasprintf("table inet %s {}\ndelete table inet %s\n", o->table,
			 o->table);
}

static void gen_head(struct gen *g)
{
	const struct ruleset_opts *o = g->o;
	sb_add(&g->b,
	       "# sluice kernel ruleset, generated from the policy: do not "
	       "edit (docs/kernel.md).\n"
	       "#\n"
	       "# Mark layout (packet and conntrack mark): sluice owns the "
	       "bits 0x%08x\n"
	       "# and keeps the others (0x%08x) in every rule.\n"
	       "#   decision 0x%08x: ALLOW 0x%08x, DENY 0x%08x, QUEUE 0x%08x "
	       "(packet mark only)\n"
	       "#   rule id  0x%08x: policy rule number (saturates at %u), 0 = "
	       "sluiced itself,\n"
	       "#            %u = creation element, %u = queue bypassed "
	       "(fail-open)\n"
	       "# Schedules: meta hour is UTC seconds, meta day the kernel's "
	       "day; converted from\n"
	       "# gateway local time (UTC%+d min, kernel day UTC%+d min) when "
	       "generated.\n",
	       rs_mark_own(o), mark_keep(o), mark_dec_mask(o),
	       rs_mark(o, RS_DEC_ALLOW, 0), rs_mark(o, RS_DEC_DENY, 0),
	       rs_mark(o, RS_DEC_QUEUE, 0), rs_mark(o, 0, MARK_ID_MASK),
	       RS_ID_LAST, RS_ID_CREATION, RS_ID_FAILOPEN, o->utc_offset_min,
	       o->kday_offset_min);
	char *replace = replace_table(o);
	sb_add(&g->b, "%s", replace);
	free(replace);
	sb_add(&g->b, "table inet %s {\n", o->table);
	sb_add(&g->b,
	       "\t# UDP session = %u s of activity (ISA/TMG). ICMP: nft 1.0.6 "
	       "has no ct timeout\n"
	       "\t# for icmp; sluiced sets nf_conntrack_icmp(v6)_timeout "
	       "instead.\n"
	       "\tct timeout udp_session {\n"
	       "\t\tprotocol udp; l3proto ip;\n"
	       "\t\tpolicy = { unreplied : %u, replied : %u }\n"
	       "\t}\n\n",
	       o->udp_timeout_s, o->udp_timeout_s, o->udp_timeout_s);
	sb_add(&g->b,
	       "\t# Creation elements: sessions sluiced admits ahead of the "
	       "rules (DESIGN.md §2).\n"
	       "\tset creations4 {\n"
	       "\t\ttype ipv4_addr . inet_proto . inet_service; flags timeout;\n"
	       "\t}\n"
	       "\tset creations6 {\n"
	       "\t\ttype ipv6_addr . inet_proto . inet_service; flags timeout;\n"
	       "\t}\n"
	       "\tset creations4s {\n"
	       "\t\ttype ipv4_addr . ipv4_addr . inet_proto . inet_service; "
	       "flags timeout;\n"
	       "\t}\n"
	       "\tset creations6s {\n"
	       "\t\ttype ipv6_addr . ipv6_addr . inet_proto . inet_service; "
	       "flags timeout;\n"
	       "\t}\n\n");
}

/* ---- published servers (ruleset.h "Published servers") ------------------------ */

static const char *tr_l4(enum transport tr)
{
	return tr == TR_UDP ? "udp" : "tcp";
}


const char *publish_chain_name(const struct publish *pb, char *buf,
			       size_t len)
{
	char a[INET6_ADDRSTRLEN];
	format_addr(pb->family, pb->v4, pb->v6, a, sizeof(a));
	for (char *c = a; *c; c++)
		if (*c == '.' || *c == ':')
			*c = '_';
	snprintf(buf, len, "pub_%s_%u_%s", tr_l4(pb->tr), pb->port, a);
	return buf;
}

/* The port a member of PB's farm is reached on. */
static uint16_t member_port(const struct publish *pb,
			    const struct farm_member *m)
{
	return m->port ? m->port : pb->to_port ? pb->to_port : pb->port;
}

/* "A:P" or "[A]:P" (DNAT target) or "A . P" (map data). */
static void add_target(struct sbuf *b, int family, uint32_t v4, u128 v6,
		       uint16_t port, bool concat)
{
	if (family == AF_INET) {
		add_addr4(b, v4);
	} else {
		if (!concat)
			sb_add(b, "[");
		add_addr6(b, v6);
		if (!concat)
			sb_add(b, "]");
	}
	sb_add(b, concat ? " . %u" : ":%u", port);
}

/* The rules of PB's chain for membership UP (NULL = all), each line
 * PREFIX + rule + "\n". */
static void pub_rules(struct sbuf *b, const char *prefix,
		      const struct publish *pb, const bool *up)
{
	const struct farm *f = pb->farm;
	const char *ip = pb->family == AF_INET ? "ip" : "ip6";
	char fname[64], names[256] = "";
	size_t n = 0, last = 0;

	nft_text(f->name, fname, sizeof(fname));
	for (size_t i = 0; i < f->nmembers; i++) {
		if (up && !up[i])
			continue;
		char mn[64];
		nft_text(f->members[i].name, mn, sizeof(mn));
		size_t k = strlen(names);
		if (k + strlen(mn) + 5 < sizeof(names))
			snprintf(names + k, sizeof(names) - k, "%s%s",
				 k ? " " : "", mn);
		last = i;
		n++;
	}
	if (n == 0) {
		uint32_t s4 = 0;
		u128 s6 = 0;
		int sf = f->sorry ? parse_addr(f->sorry, &s4, &s6) : 0;
		if (sf == pb->family) {
			sb_add(b, "%smeta l4proto %s dnat %s to ", prefix,
			       tr_l4(pb->tr), ip);
			add_target(b, sf, s4, s6,
				   pb->to_port ? pb->to_port : pb->port, false);
			sb_add(b, " comment \"farm %s: no member up: sorry "
				  "server\"\n", fname);
		} else {
			sb_add(b, "%scounter drop comment \"farm %s: no member "
				  "up\"\n", prefix, fname);
		}
		return;
	}
	sb_add(b, "%smeta l4proto %s dnat %s to ", prefix, tr_l4(pb->tr), ip);
	if (n == 1) {
		const struct farm_member *m = &f->members[last];
		add_target(b, m->family, m->v4, m->v6, member_port(pb, m),
			   false);
	} else {
		if (f->balance == BAL_SOURCE_HASH)
			sb_add(b, "jhash %s saddr mod %zu map { ", ip, n);
		else
			sb_add(b, "numgen inc mod %zu map { ", n);
		size_t k = 0;
		for (size_t i = 0; i < f->nmembers; i++) {
			if (up && !up[i])
				continue;
			const struct farm_member *m = &f->members[i];
			sb_add(b, "%s%zu : ", k ? ", " : "", k);
			add_target(b, m->family, m->v4, m->v6,
				   member_port(pb, m), true);
			k++;
		}
		sb_add(b, " }");
	}
	char raw[sizeof(fname) + sizeof(names) + 8], cm[NFT_COMMENT_MAX];
	snprintf(raw, sizeof(raw), "farm %s: %s", fname, names);
	sb_add(b, " comment \"%s\"\n", nft_text(raw, cm, sizeof(cm)));
}

/* True when an earlier publish of P has PB's address, protocol and port
 * (its chain would be a duplicate; the first one wins). */
static bool pub_dup(const struct policy *p, size_t i)
{
	const struct publish *pb = p->publishes[i];
	for (size_t j = 0; j < i; j++) {
		const struct publish *q = p->publishes[j];
		if (q->family == pb->family && q->tr == pb->tr &&
		    q->port == pb->port &&
		    (pb->family == AF_INET ? q->v4 == pb->v4 : q->v6 == pb->v6))
			return true;
	}
	return false;
}

/* Membership of PB's farm under O (all up without a member_up callback);
 * NULL for all. Freed by the caller. */
static bool *pub_up(const struct ruleset_opts *o, const struct publish *pb)
{
	if (!o->member_up)
		return NULL;
	bool *up = xcalloc(pb->farm->nmembers + 1, sizeof(*up));
	for (size_t i = 0; i < pb->farm->nmembers; i++)
		up[i] = o->member_up(o->member_ctx, pb->farm, i);
	return up;
}

/* decide_new's creation element per published server. */
static void gen_published(struct gen *g)
{
	const struct ruleset_opts *o = g->o;
	for (size_t i = 0; i < g->p->npublishes; i++) {
		const struct publish *pb = g->p->publishes[i];
		char name[64];
		if (pub_dup(g->p, i))
			continue;
		nft_text(pb->name, name, sizeof(name));
		sb_add(&g->b, "\t\tct status dnat ct original %s daddr ",
		       pb->family == AF_INET ? "ip" : "ip6");
		if (pb->family == AF_INET)
			add_addr4(&g->b, pb->v4);
		else
			add_addr6(&g->b, pb->v6);
		sb_add(&g->b, " meta l4proto %s ct original proto-dst %u ",
		       tr_l4(pb->tr), pb->port);
		if (pb->filter_ftp)
			sb_add(&g->b, "ct helper set \"%s\" ", FTP_HELPER_OBJ);
		sb_add(&g->b,
		       "ct mark set ct mark & 0x%08x | 0x%08x accept comment "
		       "\"published: %s\"\n",
		       mark_keep(o), rs_mark(o, RS_DEC_ALLOW, RS_ID_PUBLISHED),
		       name);
	}
}

/* The nat hooks, publish_nat and one chain per published server. */
static void gen_publish(struct gen *g)
{
	const struct policy *p = g->p;
	char cn[96], name[64], fname[64];

	sb_add(&g->b,
	       "\t# Published servers (DESIGN.md §4): a new session to a "
	       "public address goes to\n"
	       "\t# the members of its farm that are up. sluiced rewrites a "
	       "pub_* chain (flush +\n"
	       "\t# add, one transaction) when its farm's membership changes; "
	       "established\n"
	       "\t# sessions keep their NAT binding.\n");
	for (size_t i = 0; i < p->npublishes; i++) {
		const struct publish *pb = p->publishes[i];
		if (pub_dup(p, i))
			continue;
		bool *up = pub_up(g->o, pb);
		sb_add(&g->b, "\tchain %s {\n",
		       publish_chain_name(pb, cn, sizeof(cn)));
		pub_rules(&g->b, "\t\t", pb, up);
		sb_add(&g->b, "\t}\n");
		free(up);
	}
	sb_add(&g->b, "\tchain publish_nat {\n");
	for (size_t i = 0; i < p->npublishes; i++) {
		const struct publish *pb = p->publishes[i];
		nft_text(pb->name, name, sizeof(name));
		nft_text(pb->farm->name, fname, sizeof(fname));
		if (pub_dup(p, i)) {
			sb_add(&g->b, "\t\t# publish \"%s\": same address, "
				      "protocol and port as an earlier one\n",
			       name);
			continue;
		}
		sb_add(&g->b, "\t\t%s daddr ",
		       pb->family == AF_INET ? "ip" : "ip6");
		if (pb->family == AF_INET)
			add_addr4(&g->b, pb->v4);
		else
			add_addr6(&g->b, pb->v6);
		char raw[sizeof(name) + sizeof(fname) + 20], cm[NFT_COMMENT_MAX];
		snprintf(raw, sizeof(raw), "publish %s to farm %s", name, fname);
		sb_add(&g->b, " %s dport %u jump %s comment \"%s\"\n",
		       tr_l4(pb->tr), pb->port,
		       publish_chain_name(pb, cn, sizeof(cn)),
		       nft_text(raw, cm, sizeof(cm)));
	}
	sb_add(&g->b,
	       "\t}\n"
	       "\tchain nat_prerouting {\n"
	       "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	       "\t\tjump publish_nat\n"
	       "\t}\n"
	       "\tchain nat_output {\n"
	       "\t\ttype nat hook output priority -100; policy accept;\n"
	       "\t\tjump publish_nat comment \"the gateway's own sessions to "
	       "a public address\"\n"
	       "\t}\n\n");
}

char *farm_chain_script(const struct ruleset_opts *o, const struct publish *pb,
			const bool *up)
{
	struct sbuf b = {NULL, 0, 0};
	char cn[96];
	publish_chain_name(pb, cn, sizeof(cn));
	char *prefix = xasprintf("add rule inet %s %s ", o->table, cn);
	sb_add(&b, "flush chain inet %s %s\n", o->table, cn);
	pub_rules(&b, prefix, pb, up);
	free(prefix);
	return sb_take(&b);
}

/* ---- flood mitigation (ruleset_opts.flood) --------------------------------------- */

static bool flood_on(const struct flood_cfg *f)
{
	return f && (f->tcp_connect_rate || f->tcp_concurrent ||
		     f->tcp_half_open || f->udp_rate);
}

/* The key of a source, into BUF: the IPv4 source address, the IPv6 one cut
 * to the flood's prefix. RAW reads them as network-header bytes
 * (@nh,96,32 is the IPv4 saddr, @nh,64,128 the IPv6 one), for a set
 * statement's key: in an inet table `ip saddr` carries its own `meta
 * nfproto` compare, and the flood chains are entered only through
 * decide_new's dispatch, which has tested the family (flood_dispatch).
 * A lookup needs the typed form (nft 1.0.6 refuses an integer key
 * against an address set). */
static const char *flood_src(const struct flood_cfg *f, int fam, bool raw,
			     char *buf, size_t len)
{
	u128 m = f->prefix_v6 == 0 ? 0 : ~(u128)0 << (128 - f->prefix_v6);
	if (fam == 4)
		snprintf(buf, len, "%s", raw ? "@nh,96,32" : "ip saddr");
	else if (f->prefix_v6 >= 128)
		snprintf(buf, len, "%s", raw ? "@nh,64,128" : "ip6 saddr");
	else if (raw)
		snprintf(buf, len, "@nh,64,128 & 0x%016llx%016llx",
			 (unsigned long long)(m >> 64), (unsigned long long)m);
	else {
		struct sbuf b = {NULL, 0, 0};
		add_addr6(&b, m);
		snprintf(buf, len, "ip6 saddr & %s", b.s);
		free(b.s);
	}
	return buf;
}

/* The exceptions set of family FAM (4 or 6), with F's exception
 * addresses. */
static void flood_exceptions(struct gen *g, const struct flood_cfg *f,
			     int fam)
{
	int af = fam == 4 ? AF_INET : AF_INET6;
	sb_add(&g->b, "\tset flood_exceptions%d {\n\t\ttype %s; flags "
		      "interval;\n", fam, fam == 4 ? "ipv4_addr" : "ipv6_addr");
	const struct addrset *a = f->exc ? &f->exc->addrs : NULL;
	size_t n = !a ? 0 : fam == 4 ? a->n4 : a->n6;
	if (n) {
		sb_add(&g->b, "\t\telements = %s", n == 1 ? "{ " : "");
		add_addrs(&g->b, a, af);
		sb_add(&g->b, "%s\n", n == 1 ? " }" : "");
	}
	sb_add(&g->b, "\t}\n");
}

/* The rules that refuse a source SRC (a set key of family FAM) one limit
 * stopped, each after LEAD: it is marked limited (listed by `sluicectl
 * floods`) and dropped, counted by the named counter CNT; when
 * flood_limited4/6 is full the marking cannot add it and that rule does
 * not match, so the next drops it all the same (unlisted, counted). */
static void flood_refuse(struct sbuf *b, int fam, const char *src,
			 const char *lead, const char *cnt)
{
	sb_add(b,
	       "%supdate @flood_limited%d { %s } counter name %s drop\n"
	       "%scounter name %s drop comment \"flood_limited%d full\"\n",
	       lead, fam, src, cnt, lead, cnt, fam);
}

/* One limit's rules for family FAM (4 or 6) into B, each after LEAD
 * (the table's indent, or "add rule inet T CHAIN "): a source (F's key)
 * within the limit (the set statement STMT after the source key in set
 * SET, whose first letter says a(dd) or u(pdate)) leaves with verdict
 * NEXT (`return`, or `goto` the next limit's chain); every other one —
 * over the limit, or not in the set because it is full (a dynamic set
 * statement that cannot add does not match) — is marked limited and
 * dropped, counted by the named counter CNT. So a meter filled by a flood
 * of spoofed sources holds every new source to nothing, as a full
 * conntrack table does, instead of to no limit. The protocol and family
 * are the chain's (flood_dispatch). */
static void flood_rule(struct sbuf *b, const struct flood_cfg *f, int fam,
		       const char *lead, const char *set, const char *stmt,
		       const char *cnt, const char *next)
{
	char src[96];
	flood_src(f, fam, true, src, sizeof(src));
	sb_add(b, "%s%s @%s%d { %s %s } %s\n",
	       lead, set[0] == 'a' ? "add" : "update", set + 1, fam, src, stmt,
	       next);
	flood_refuse(b, fam, src, lead, cnt);
}

/* tcp-half-open's rule for family FAM into B, after LEAD: a source sluiced
 * put into flood_half_open4/6 (src/sluiced/halfopen.c: it holds more
 * unanswered TCP sessions than the limit) has its new TCP sessions
 * dropped, counted by flood_tcp_half_open, and is marked limited. */
static void flood_half_open_rule(struct sbuf *b, const struct flood_cfg *f,
				 int fam, const char *lead)
{
	char src[96];
	flood_src(f, fam, false, src, sizeof(src));
	sb_add(b, "%s%s @flood_half_open%d goto flood_half_open_refuse%d\n",
	       lead, src, fam, fam);
}

/* tcp-half-open's refusal of family FAM (flood_half_open_refuse4/6), gone
 * to from flood_tcp4/6's lookup (flood_half_open_rule). */
static void flood_half_open_chain(struct gen *g, int fam)
{
	const struct flood_cfg *f = g->o->flood;
	char src[96];
	if (!f->tcp_half_open)
		return;
	flood_src(f, fam, false, src, sizeof(src));
	sb_add(&g->b, "\tchain flood_half_open_refuse%d {\n", fam);
	flood_refuse(&g->b, fam, src, "\t\t", "flood_tcp_half_open");
	sb_add(&g->b, "\t}\n\n");
}

uint32_t flood_tcp_burst(uint32_t rate)
{
	return rate / 10 ? rate / 10 : 1;
}

uint32_t flood_half_open_wait_s(uint64_t cpu_ns)
{
	const uint64_t ns = 1000000000u / FLOOD_HALF_OPEN_CPU_SHARE;
	uint64_t s = cpu_ns / ns + (cpu_ns % ns != 0); /* rounded up */
	if (s > FLOOD_HALF_OPEN_WAIT_MAX_S)
		s = FLOOD_HALF_OPEN_WAIT_MAX_S;
	return s ? (uint32_t)s : 1;
}

static bool flood_tcp_on(const struct flood_cfg *f)
{
	return f->tcp_connect_rate || f->tcp_concurrent || f->tcp_half_open;
}

/* The exceptions' rule of family FAM into B, after LEAD, when F names some
 * of that family: their sessions return before any limit. */
static void flood_exceptions_rule(struct sbuf *b, const struct flood_cfg *f,
				  int fam, const char *lead)
{
	const struct addrset *a = f->exc ? &f->exc->addrs : NULL;
	if (!a || !(fam == 4 ? a->n4 : a->n6))
		return;
	sb_add(b, "%s%s @flood_exceptions%d return\n", lead,
	       fam == 4 ? "ip saddr" : "ip6 saddr", fam);
}

/* The rules of flood_tcp4/6 (FAM 4 or 6) into B, each after LEAD: F's
 * exceptions, tcp-half-open's lookup when HALF_OPEN (and F has it), then
 * tcp-connect-rate; tcp-concurrent is the chain flood_tcp_concurrent4/6
 * (flood_tcp_concurrent_chain), gone to from here. */
static void flood_tcp_rules(struct sbuf *b, const struct flood_cfg *f,
			    int fam, const char *lead, bool half_open)
{
	char stmt[128], next[48] = "return";
	if (f->tcp_concurrent)
		snprintf(next, sizeof(next), "goto flood_tcp_concurrent%d", fam);
	flood_exceptions_rule(b, f, fam, lead);
	if (f->tcp_half_open && half_open)
		flood_half_open_rule(b, f, fam, lead);
	if (f->tcp_connect_rate) {
		snprintf(stmt, sizeof(stmt), "limit rate %u/minute burst %u "
			 "packets", f->tcp_connect_rate,
			 flood_tcp_burst(f->tcp_connect_rate));
		flood_rule(b, f, fam, lead, "uflood_tcp_rate", stmt,
			   "flood_tcp_rate", next);
	} else if (f->tcp_concurrent) {
		sb_add(b, "%s%s\n", lead, next);
	}
}

/* tcp-concurrent's chain of family FAM (flood_tcp_concurrent4/6), gone
 * to from flood_tcp4/6 (never rewritten: the half-open lookup is there). */
static void flood_tcp_concurrent_chain(struct gen *g, int fam)
{
	const struct flood_cfg *f = g->o->flood;
	char stmt[64];
	if (!f->tcp_concurrent)
		return;
	snprintf(stmt, sizeof(stmt), "ct count %u", f->tcp_concurrent);
	sb_add(&g->b, "\tchain flood_tcp_concurrent%d {\n", fam);
	flood_rule(&g->b, f, fam, "\t\t", "aflood_tcp_conns", stmt,
		   "flood_tcp_concurrent", "return");
	sb_add(&g->b, "\t}\n\n");
}

/* The TCP limits' chain of family FAM (flood_tcp4, flood_tcp6), entered
 * from decide_new's dispatch for a new TCP session of that family. A new
 * ruleset has tcp-half-open's lookup; sluiced takes it out while
 * flood_half_open4/6 is empty (flood_tcp_chain_script). */
static void flood_tcp_chain(struct gen *g, int fam)
{
	sb_add(&g->b, "\tchain flood_tcp%d {\n", fam);
	flood_tcp_rules(&g->b, g->o->flood, fam, "\t\t", true);
	sb_add(&g->b, "\t}\n\n");
}

char *flood_tcp_chain_script(const struct ruleset_opts *o, int fam,
			     bool half_open)
{
	const struct flood_cfg *f = o->flood;
	if (!f || !flood_tcp_on(f) || (fam != 4 && fam != 6))
		return NULL;
	struct sbuf b = {NULL, 0, 0};
	char *lead = xasprintf("add rule inet %s flood_tcp%d ", o->table, fam);
	sb_add(&b, "flush chain inet %s flood_tcp%d\n", o->table, fam);
	flood_tcp_rules(&b, f, fam, lead, half_open);
	free(lead);
	return sb_take(&b);
}

/* The non-TCP limit's chain of family FAM (flood4, flood6), entered from
 * decide_new's dispatch for a new non-TCP session of that family: the
 * exceptions, then udp-rate. */
static void flood_chain(struct gen *g, int fam)
{
	const struct flood_cfg *f = g->o->flood;
	char stmt[128];
	snprintf(stmt, sizeof(stmt), "limit rate %u/second burst %u packets",
		 f->udp_rate, f->udp_rate);
	sb_add(&g->b, "\tchain flood%d {\n", fam);
	flood_exceptions_rule(&g->b, f, fam, "\t\t");
	flood_rule(&g->b, f, fam, "\t\t", "uflood_udp_rate", stmt,
		   "flood_udp_rate", "return");
	sb_add(&g->b, "\t}\n\n");
}

/* In decide_new: a new session from outside (the output hook has no iif:
 * the gateway's own sessions are never limited; a kernel that reads no
 * iif there breaks the rule, no jump either) goes to its family's TCP or
 * non-TCP limits. One map lookup on protocol and family, so an IPv4 SYN
 * meets no IPv6 rule and the limits' rules need no family test of their
 * own (flood_src). The non-TCP rule tests the protocol first: a SYN back
 * from flood_tcp4/6 leaves it at that compare. */
static void flood_dispatch(struct gen *g)
{
	const struct flood_cfg *f = g->o->flood;
	if (!flood_on(f))
		return;
	if (flood_tcp_on(f))
		sb_add(&g->b, "\t\tmeta iif != 0 meta l4proto . meta nfproto "
			      "vmap { tcp . ipv4 : jump flood_tcp4, tcp . ipv6 "
			      ": jump flood_tcp6 } comment \"per-source TCP "
			      "limits before anything is queued\"\n");
	if (f->udp_rate)
		sb_add(&g->b, "\t\tmeta l4proto != tcp meta iif != 0 meta "
			      "nfproto vmap { ipv4 : jump flood4, ipv6 : jump "
			      "flood6 } comment \"per-source udp-rate before "
			      "anything is queued\"\n");
}

/*
 * The flood chains (flood4, flood6; TCP's flood_tcp4, flood_tcp6) and
 * their state: per-source meters
 * (dynamic sets keyed by the source, IPv6 by prefix), `ct count` for
 * concurrent TCP sessions, the exceptions, the sources being limited
 * (flood_limited4/6, read by `sluicectl floods`) and one named counter
 * per limit. decide_new jumps here first, so nothing a limit refuses is
 * queued.
 */
static void gen_flood(struct gen *g)
{
	const struct flood_cfg *f = g->o->flood;
	if (!flood_on(f))
		return;
	sb_add(&g->b, "\t# Flood mitigation (flood { }): per source, before "
		      "anything is queued.\n");
	for (int fam = 4; fam <= 6; fam += 2)
		flood_exceptions(g, f, fam);
	static const char *const meters[] = {"flood_tcp_rate", "flood_udp_rate"};
	for (int fam = 4; fam <= 6; fam += 2) {
		const char *ty = fam == 4 ? "ipv4_addr" : "ipv6_addr";
		for (int k = 0; k < 2; k++)
			sb_add(&g->b,
			       "\tset %s%d {\n\t\ttype %s; size 65536; flags "
			       "dynamic, timeout; timeout %s;\n\t}\n",
			       meters[k], fam, ty, k == 0 ? "2m" : "10s");
		sb_add(&g->b,
		       "\tset flood_tcp_conns%d {\n\t\ttype %s; size 65536; "
		       "flags dynamic;\n\t}\n"
		       "\tset flood_limited%d {\n\t\ttype %s; size 65536; "
		       "flags dynamic, timeout; timeout %us; counter;\n\t}\n",
		       fam, ty, fam, ty, FLOOD_LIMITED_TIMEOUT_S);
		sb_add(&g->b,
		       "\tset flood_half_open%d {\n\t\ttype %s; size %u; "
		       "flags timeout; timeout %us;\n\t}\n",
		       fam, ty, FLOOD_HALF_OPEN_SIZE, FLOOD_HALF_OPEN_TIMEOUT_S);
	}
	sb_add(&g->b, "\tcounter flood_tcp_rate {}\n\tcounter "
		      "flood_tcp_concurrent {}\n\tcounter flood_udp_rate {}\n"
		      "\tcounter flood_tcp_half_open {}\n");
	for (int fam = 4; fam <= 6; fam += 2) {
		if (flood_tcp_on(f)) {
			flood_half_open_chain(g, fam);
			flood_tcp_concurrent_chain(g, fam);
			flood_tcp_chain(g, fam);
		}
		if (f->udp_rate)
			flood_chain(g, fam);
	}
}

/* ---- fast denials: the deny memory and rejects (ruleset_opts) ------------------ */

/* The key of a session in the deny memory, for family FAM (4 or 6). */
static const char *deny_key(int fam)
{
	return fam == 4 ? "ip saddr . ip daddr . meta l4proto . th sport . "
			  "th dport"
			: "ip6 saddr . ip6 daddr . meta l4proto . th sport . "
			  "th dport";
}

/* The sets of the deny memory: TCP/UDP sessions sluiced denied (rejected),
 * by 5-tuple, each kept deny_memory_s. None when the memory is off. */
static void gen_deny_sets(struct gen *g)
{
	static const char *const kind[2] = {"denied", "rejected"};
	if (!g->o->deny_memory_s)
		return;
	sb_add(&g->b, "\t# Deny memory: sessions sluiced denied or rejected; "
		      "their retransmits end\n"
		      "\t# here (decide_new), never queued or logged again.\n");
	for (int k = 0; k < 2; k++)
		for (int fam = 4; fam <= 6; fam += 2)
			sb_add(&g->b,
			       "\tset %s%d {\n"
			       "\t\ttype %s . %s . inet_proto . inet_service . "
			       "inet_service; size 65536;\n"
			       "\t\tflags dynamic, timeout; timeout %us;\n"
			       "\t}\n",
			       kind[k], fam, fam == 4 ? "ipv4_addr" : "ipv6_addr",
			       fam == 4 ? "ipv4_addr" : "ipv6_addr",
			       g->o->deny_memory_s);
	sb_add(&g->b, "\n");
}

/* In decide_new, after the creation elements: a remembered session's
 * next packet (retransmitted SYN, repeated first datagram). */
static void gen_deny_lookups(struct gen *g)
{
	if (!g->o->deny_memory_s)
		return;
	for (int fam = 4; fam <= 6; fam += 2)
		sb_add(&g->b,
		       "\t\tmeta l4proto { tcp, udp } %s @rejected%d counter "
		       "goto reject_send comment \"deny memory: retransmit of "
		       "a rejected session\"\n",
		       deny_key(fam), fam);
	for (int fam = 4; fam <= 6; fam += 2)
		sb_add(&g->b,
		       "\t\tmeta l4proto { tcp, udp } %s @denied%d counter drop "
		       "comment \"deny memory: retransmit of a denied "
		       "session\"\n",
		       deny_key(fam), fam);
}

/* One kind of sluiced's DENY verdicts in queue_bypassed: the sessions whose
 * mark & MASK == MARK, remembered (deny-memory) in SET4/SET6, then ACTION. */
static void gen_post_denial(struct gen *g, uint32_t mask, uint32_t mark,
			    const char *set, const char *action)
{
	for (int fam = 4; g->o->deny_memory_s && fam <= 6; fam += 2)
		sb_add(&g->b,
		       "\t\tmeta mark & 0x%08x == 0x%08x meta l4proto { tcp, udp "
		       "} add @%s%d { %s }\n",
		       mask, mark, set, fam, deny_key(fam));
	sb_add(&g->b, "\t\tmeta mark & 0x%08x == 0x%08x counter %s\n", mask,
	       mark, action);
}

/* In queue_bypassed: sluiced's DENY verdicts (NF_REPEAT, let through by
 * the xt SLUICE chain): remembered, then rejected (rule id RS_ID_REJECT)
 * or dropped. */
static void gen_post_denials(struct gen *g)
{
	const struct ruleset_opts *o = g->o;

	gen_post_denial(g, rs_mark_own(o), rs_mark(o, RS_DEC_DENY, RS_ID_REJECT),
			"rejected",
			"goto reject_send comment \"rejected by sluiced\"");
	gen_post_denial(g, mark_dec_mask(o), rs_mark(o, RS_DEC_DENY, 0),
			"denied", "drop comment \"denied by sluiced\"");
}

/* The one place rejects are sent, rate-limited (ruleset_opts.reject_rate):
 * a TCP reset to TCP, ICMP(v6) administratively prohibited to the rest
 * (icmpx: the family's own type and code). Beyond the rate: dropped. */
static void gen_reject_chain(struct gen *g)
{
	uint32_t rate = g->o->reject_rate ? g->o->reject_rate : 1;
	sb_add(&g->b,
	       "\tchain reject_send {\n"
	       "\t\tlimit rate over %u/second burst %u packets counter drop "
	       "comment \"rejects beyond reject-rate: dropped\"\n"
	       "\t\tmeta l4proto tcp counter reject with tcp reset\n"
	       "\t\tcounter reject with icmpx admin-prohibited\n"
	       "\t}\n\n",
	       rate, rate);
}

/* Output chain: the reset or ICMP error the gateway sends for a reject.
 * The kernel attaches it to the rejected packet's conntrack entry
 * (nf_ct_attach: RELATED, reply direction), which carries no decision or,
 * for a queued session, the QUEUE mark; like the gateway's own ICMP errors
 * (gen_own_icmp_errors), only the output hook sees such a packet. */
static void gen_own_rejects(struct gen *g)
{
	uint32_t dm = mark_dec_mask(g->o), q = rs_mark(g->o, RS_DEC_QUEUE, 0);
	uint32_t d = rs_mark(g->o, RS_DEC_DENY, 0);
	/* a queued session's entry holds QUEUE, or DENY once SLUICE saved
	 * sluiced's DENY verdict (ruleset_xt_from()) */
	sb_add(&g->b,
	       "\t\tct state related ct direction reply ct mark & 0x%08x { 0x0, "
	       "0x%08x, 0x%08x } tcp flags & rst == rst accept comment \"the "
	       "gateway's reset for a reject\"\n"
	       "\t\tct state related ct direction reply ct mark & 0x%08x { "
	       "0x%08x, 0x%08x } icmp type destination-unreachable accept "
	       "comment \"the gateway's ICMP error for a rejected queued "
	       "session\"\n"
	       "\t\tct state related ct direction reply ct mark & 0x%08x { "
	       "0x%08x, 0x%08x } icmpv6 type destination-unreachable accept "
	       "comment \"the gateway's ICMPv6 error for a rejected queued "
	       "session\"\n",
	       dm, d, q, dm, d, q, dm, d, q);
}

static void gen_decided(struct gen *g)
{
	const struct ruleset_opts *o = g->o;
	uint32_t dm = mark_dec_mask(o), keep = mark_keep(o);
	uint32_t cr = rs_mark(o, RS_DEC_ALLOW, RS_ID_CREATION);

	sb_add(&g->b,
	       "\t# Common head of every hook: decided sessions first; a new "
	       "session falls\n"
	       "\t# through to the hook's rules chain.\n"
	       "\tchain decided {\n");
	if (policy_filters_ftp(g->p))
		gen_ftp_related(g);
	sb_add(&g->b,
	       "\t\ttcp flags & (fin | syn | rst | ack) == syn ct state != new "
	       "ct mark set ct mark & 0x%08x goto decide_new comment \"a SYN "
	       "reusing an old conntrack entry is a new session\"\n"
	       "%s",
	       keep,
	       policy_filters_dns(g->p) ? "\t\tjump dns_filter\n" : "");
	gen_ftp_readonly(g);
	sb_add(&g->b,
	       "\t\tct mark & 0x%08x == 0x%08x accept comment \"session "
	       "allowed\"\n"
	       "\t\tct mark & 0x%08x == 0x%08x counter drop comment \"session "
	       "denied/revoked\"\n"
	       "\t\tct state invalid counter drop\n"
	       "\t\tct state != new counter drop comment \"established/related "
	       "without a decision\"\n"
	       "\t\ttcp flags & (fin | syn | rst | ack) != syn counter drop "
	       "comment \"NEW but not a SYN: never queue mid-stream\"\n"
	       "\t\tgoto decide_new\n"
	       "\t}\n\n",
	       dm, rs_mark(o, RS_DEC_ALLOW, 0), dm, rs_mark(o, RS_DEC_DENY, 0));
	/* nft finds an IPv6 packet's transport with ipv6_find_hdr(...,
	 * IP6_FH_F_AUTH), which stops at AH; conntrack skips AH and tracks
	 * the protocol inside. A rule would judge such a session as AH and
	 * its decision land on, say, a TCP/80 entry that a plain SYN then
	 * rides (tests/kernel/21_packet_classify.sh) */
	sb_add(&g->b,
	       "\tchain decide_new {\n"
	       "\t\tmeta l4proto ah ct protocol != ah counter drop comment "
	       "\"IPv6 AH: nft reads AH, conntrack the protocol inside; no "
	       "rule can judge it\"\n"
	       "\t\tmeta l4proto udp ct timeout set \"udp_session\"\n");
	flood_dispatch(g);
	gen_published(g);
	sb_add(&g->b,
	       "\t\tip daddr . meta l4proto . th dport @creations4 ct mark set "
	       "ct mark & 0x%08x | 0x%08x accept comment \"creation\"\n"
	       "\t\tip saddr . ip daddr . meta l4proto . th dport @creations4s "
	       "ct mark set ct mark & 0x%08x | 0x%08x accept comment "
	       "\"creation\"\n"
	       "\t\tip6 daddr . meta l4proto . th dport @creations6 ct mark set "
	       "ct mark & 0x%08x | 0x%08x accept comment \"creation\"\n"
	       "\t\tip6 saddr . ip6 daddr . meta l4proto . th dport "
	       "@creations6s ct mark set ct mark & 0x%08x | 0x%08x accept "
	       "comment \"creation\"\n",
	       keep, cr, keep, cr, keep, cr, keep, cr);
	gen_deny_lookups(g);
	sb_add(&g->b, "\t}\n\n");
}

/* Adoption (ruleset_opts.adopt): a session picked up mid-stream is judged
 * as a new one, by the hook's rules chain (which always ends in a verdict). */
static void gen_adopt(struct gen *g)
{
	if (!g->o->adopt)
		return;
	for (int ch = 0; ch < CH_COUNT; ch++)
		sb_add(&g->b,
		       "\tchain adopt_%s {\n"
		       "\t\tjump decide_new\n"
		       "\t\tjump rules_%s\n"
		       "\t}\n\n",
		       chain_names[ch], chain_names[ch]);
}

/*
 * Output chain: the gateway's own ICMP errors about a packet it could not
 * forward or deliver. The kernel checks the MTU (RFC 1191 fragmentation
 * needed, RFC 8201 packet too big), the TTL / hop limit (time exceeded) and
 * the route (unreachable) before the forward hook, so the session's first
 * packet never got a decision and its conntrack entry (unconfirmed, ct mark
 * without a decision) is attached to the error as RELATED in the reply
 * direction. RFC 4890 §4.3.1: packet too big must not be dropped. Only the
 * output hook sees these: an ICMP error from outside (forward, input) is
 * still judged by its master's ct mark (DENY or no decision: dropped; no
 * conntrack entry: invalid, dropped), so a forged error opens nothing; and
 * passing a RELATED reply never confirms the entry it is attached to.
 */
static void gen_own_icmp_errors(struct gen *g)
{
	uint32_t dm = mark_dec_mask(g->o);
	sb_add(&g->b,
	       "\t\tct state related ct direction reply ct mark & 0x%08x == 0 "
	       "icmp type { destination-unreachable, time-exceeded, "
	       "parameter-problem } accept comment \"the gateway's own ICMP "
	       "error about an undecided first packet\"\n"
	       "\t\tct state related ct direction reply ct mark & 0x%08x == 0 "
	       "icmpv6 type { destination-unreachable, packet-too-big, "
	       "time-exceeded, parameter-problem } accept comment \"the "
	       "gateway's own ICMPv6 error (RFC 4890)\"\n",
	       dm, dm);
}

static void gen_hooks(struct gen *g)
{
	const struct ruleset_opts *o = g->o;
	uint32_t dm = mark_dec_mask(o), own = rs_mark_own(o);
	static const char nd[] =
	    "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, "
	    "nd-router-solicit, nd-router-advert, mld-listener-query, "
	    "mld-listener-report, mld2-listener-report } accept comment "
	    "\"IPv6 ND and MLD have no conntrack\"\n";

	for (int ch = 0; ch < CH_COUNT; ch++) {
		sb_add(&g->b,
		       "\tchain %s {\n"
		       "\t\ttype filter hook %s priority filter - 10; policy "
		       "accept;\n",
		       chain_names[ch], chain_names[ch]);
		if (ch == CH_INPUT)
			sb_add(&g->b, "\t\tiif \"lo\" accept\n%s", nd);
		if (ch == CH_OUTPUT) {
			sb_add(&g->b, "\t\toif \"lo\" accept\n%s", nd);
			sb_add(&g->b,
			       "\t\tmeta mark & 0x%08x == 0x%08x ct mark set ct "
			       "mark & 0x%08x | 0x%08x accept comment "
			       "\"sluiced's own sockets (SO_MARK)\"\n",
			       own, o->self_mark & own, mark_keep(o),
			       o->self_mark & own);
			gen_own_icmp_errors(g);
			gen_own_rejects(g);
		}
		if (o->nft_queue)
			sb_add(&g->b,
			       "\t\tmeta mark & 0x%08x == 0x%08x ct mark set "
			       "meta mark & 0x%08x accept comment \"verdict of "
			       "sluiced (NF_REPEAT); nft 1.0.6 cannot OR two "
			       "registers: low ct mark bits reset\"\n",
			       dm, rs_mark(o, RS_DEC_ALLOW, 0), own);
		if (o->nft_queue)
			gen_post_denials(g);
		if (o->adopt)
			sb_add(&g->b,
			       "\t\tct state new tcp flags & (fin | syn | rst | "
			       "ack) != syn jump adopt_%s comment \"older than "
			       "sluiced, picked up mid-stream: adoption\"\n",
			       chain_names[ch]);
		sb_add(&g->b, "\t\tjump decided\n\t\tjump rules_%s\n\t}\n\n",
		       chain_names[ch]);
	}
}

/*
 * The stage after the xtables filter chains (priority filter + 10), in every
 * fail mode: "undecided means dropped, whatever else is in the kernel".
 * Another manager (Docker, libvirt, firewalld, a VPN script) may insert an
 * ACCEPT above the jump to SLUICE in the xt FORWARD/INPUT/OUTPUT chain; the
 * packet then leaves the xt stage unqueued, still marked QUEUE, and on the
 * NF_REPEAT re-run the same rule can skip SLUICE's DROP or its CONNMARK
 * save. Here:
 *   packet mark DENY                 → drop (sluiced said no)
 *   packet mark ALLOW, ct mark QUEUE → the verdict's save was skipped: save
 *                                      it (exactly when the low ct mark bits
 *                                      are 0, else the decision bits only)
 *   packet mark QUEUE, ct mark QUEUE → the packet reached SLUICE's queue
 *                                      rule (it saves QUEUE into the ct mark
 *                                      first) and came back undecided: no
 *                                      listener (bypass) or queue full
 *                                      (FAIL_OPEN): the fail mode
 *   packet mark QUEUE otherwise      → never reached the queue: drop
 * With nft `queue` (no xt part) nothing can skip the queue: a QUEUE mark
 * here is always the bypass. Then, in each <hook>_post chain, a new
 * session whose ct mark is not ALLOW is dropped, whatever its packet mark:
 * another program's chain before the xt stage (the QUEUE mark taken away,
 * sluice's ALLOW bit written) or after it (a DENY verdict's mark cleared:
 * SLUICE saved the DENY into the ct mark) decides nothing. A packet of a
 * decided session (no decision mark, not new) leaves after two matches.
 */
static void gen_post_undecided(struct gen *g)
{
	const struct ruleset_opts *o = g->o;
	uint32_t dm = mark_dec_mask(o), own = rs_mark_own(o);
	uint32_t keep = mark_keep(o), q = rs_mark(o, RS_DEC_QUEUE, 0);
	char queued[64] = "";

	if (!o->nft_queue)
		snprintf(queued, sizeof(queued), "ct mark & 0x%08x == 0x%08x ",
			 dm, q);
	sb_add(&g->b,
	       "\t# After the xt stage (priority 0), in every fail mode: a "
	       "packet still\n"
	       "\t# carrying a decision mark was not (or not fully) handled "
	       "by SLUICE's xt\n"
	       "\t# chain, e.g. a foreign rule above the jump to SLUICE "
	       "accepted it.\n"
	       "\tchain queue_bypassed {\n");
	gen_post_denials(g);
	if (!o->nft_queue)
		sb_add(&g->b,
		       "\t\tmeta mark & 0x%08x == 0x%08x %sct mark & 0x%08x == "
		       "0 ct mark set meta mark & 0x%08x counter accept comment "
		       "\"allowed by sluiced, save skipped\"\n"
		       "\t\tmeta mark & 0x%08x == 0x%08x %sct mark set ct mark & "
		       "0x%08x | 0x%08x counter accept comment \"allowed by "
		       "sluiced, save skipped\"\n",
		       dm, rs_mark(o, RS_DEC_ALLOW, 0), queued, keep, own, dm,
		       rs_mark(o, RS_DEC_ALLOW, 0), queued,
		       ~rs_mark(o, RS_DEC_DENY, 0),
		       rs_mark(o, RS_DEC_ALLOW, 0));
	if (o->fail_open)
		sb_add(&g->b,
		       "\t\tmeta mark & 0x%08x == 0x%08x %sct mark set ct mark "
		       "& 0x%08x | 0x%08x counter accept comment \"not decided "
		       "by sluiced: fail open\"\n",
		       dm, q, queued, keep,
		       rs_mark(o, RS_DEC_ALLOW, RS_ID_FAILOPEN));
	sb_add(&g->b,
	       "\t\tmeta mark & 0x%08x == 0x%08x counter drop comment \"%s\"\n"
	       "\t}\n",
	       dm, q,
	       o->fail_open ? "undecided: never reached the queue"
			    : "not decided by sluiced: fail closed");
	static const char *const not_lo[CH_COUNT] = {
	    [CH_FORWARD] = "", [CH_INPUT] = "iif != \"lo\" ",
	    [CH_OUTPUT] = "oif != \"lo\" "};
	for (int ch = 0; ch < CH_COUNT; ch++)
		sb_add(&g->b,
		       "\tchain %s_post {\n"
		       "\t\ttype filter hook %s priority filter + 10; policy "
		       "accept;\n"
		       "\t\tmeta mark & 0x%08x != 0 jump queue_bypassed\n"
		       "\t\t%sct state new ct mark & 0x%08x != 0x%08x counter "
		       "drop comment \"" MARK_REWRITTEN_COMMENT ": its mark was "
		       "rewritten by another program\"\n"
		       "\t}\n",
		       chain_names[ch], chain_names[ch], dm, not_lo[ch], dm,
		       rs_mark(o, RS_DEC_ALLOW, 0));
}

/* ---- networks on interfaces, nat rules (policy netbind.c) --------------------- */

/* The interfaces networks are bound to, each once, in policy order. */
static size_t bound_ifaces(const struct policy *p, const char ***out)
{
	const char **v = NULL;
	size_t n = 0;
	for (size_t i = 0; i < p->nnets; i++)
		for (size_t k = 0; k < p->nets[i]->nifaces; k++) {
			const char *ifn = p->nets[i]->ifaces[k];
			size_t j = 0;
			while (j < n && strcmp(v[j], ifn) != 0)
				j++;
			if (j == n) {
				v = xrealloc(v, (n + 1) * sizeof(*v));
				v[n++] = ifn;
			}
		}
	*out = v;
	return n;
}

/* `{ "a", "b" }` (or `"a"`) of V[0..N), plus "lo" when WITH_LO. */
static void add_ifaces(struct sbuf *b, const char *const *v, size_t n,
		       bool with_lo)
{
	size_t all = n + with_lo;
	sb_add(b, all > 1 ? "{ " : "");
	for (size_t i = 0; i < n; i++)
		sb_add(b, "%s\"%s\"", i ? ", " : "", v[i]);
	if (with_lo)
		sb_add(b, "%s\"lo\"", n ? ", " : "");
	sb_add(b, all > 1 ? " }" : "");
}

static bool fam_has(const struct addrset *s, int family)
{
	return family == AF_INET ? s->n4 > 0 : s->n6 > 0;
}

static const char *fam_kw(int family)
{
	return family == AF_INET ? "ip" : "ip6";
}

/* The rules of one bound interface IFN: a source outside every network
 * bound to it is spoofed. */
static void antispoof_iface(struct gen *g, const char *ifn)
{
	struct addrset allowed = {0};
	char names[NFT_COMMENT_MAX] = "", raw[NFT_COMMENT_MAX + 32];
	size_t used = 0;
	for (size_t i = 0; i < g->p->nnets; i++) {
		const struct netset *n = g->p->nets[i];
		bool on = false;
		for (size_t k = 0; k < n->nifaces; k++)
			on = on || strcmp(n->ifaces[k], ifn) == 0;
		if (!on)
			continue;
		addrset_add(&allowed, &n->addrs);
		int w = snprintf(names + used, sizeof(names) - used, "%s%s",
				 used ? " " : "", n->name);
		if (w > 0 && (size_t)w < sizeof(names) - used)
			used += (size_t)w;
	}
	addrset_normalize(&allowed);
	snprintf(raw, sizeof(raw), "on %s only: %s", ifn, names);
	char cm[NFT_COMMENT_MAX];
	nft_text(raw, cm, sizeof(cm));
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		sb_add(&g->b, "\t\tiifname \"%s\" ", ifn);
		if (fam_has(&allowed, fam)) {
			sb_add(&g->b, "%s saddr != ", fam_kw(fam));
			add_addrs(&g->b, &allowed, fam);
		} else {
			sb_add(&g->b, "meta nfproto %s",
			       fam == AF_INET ? "ipv4" : "ipv6");
		}
		sb_add(&g->b, " jump spoofed comment \"%s\"\n", cm);
	}
	addrset_free(&allowed);
}

/* spoofing { reverse-path }: strict, the packet's source must be routed
 * back through the interface it arrived on (RFC 3704 §2.2, the kernel's
 * rp_filter=1 as nftables writes it, the packet mark taken into account
 * for policy routing); loose, routed at all (§2.4). A client that sends
 * its own session's reply with the server's address (a DNS answer, an
 * FTP 227 reply it forged, which the gateway would turn back to it) or a
 * host outside that claims an inside address is dropped before
 * conntrack. */
static void antispoof_reverse_path(struct gen *g)
{
	switch (g->p->spoofing.reverse_path) {
	case RPATH_STRICT:
		sb_add(&g->b, "\t\tfib saddr . mark . iif oif missing jump "
			      "spoofed comment \"reverse path: the source is "
			      "not routed back through the interface it came "
			      "in on\"\n");
		break;
	case RPATH_LOOSE:
		sb_add(&g->b, "\t\tfib saddr . mark oif missing jump spoofed "
			      "comment \"reverse path: the source is not "
			      "routed\"\n");
		break;
	default:
		break;
	}
}

/*
 * Spoofing detection (ISA): a packet arriving on an interface a network is
 * bound to must come from one of the networks bound to it; a packet from a
 * bound network's addresses must arrive on one of that network's
 * interfaces. Interfaces bound to no network are the external side. Then,
 * on every interface, the reverse path (antispoof_reverse_path). Before
 * conntrack (priority raw - 10): a spoofed packet leaves no entry.
 */
static void gen_antispoof(struct gen *g)
{
	const char **ifs;
	size_t nifs = bound_ifaces(g->p, &ifs);
	if (!nifs && g->p->spoofing.reverse_path == RPATH_OFF) {
		free(ifs);
		return;
	}
	struct addrset bound = {0};
	for (size_t i = 0; i < g->p->nnets; i++)
		if (g->p->nets[i]->nifaces)
			addrset_add(&bound, &g->p->nets[i]->addrs);
	addrset_normalize(&bound);
	sb_add(&g->b,
	       "\t# Spoofing detection (networks bound to interfaces, the "
	       "reverse path): a source\n"
	       "\t# address that does not belong on the interface it arrived "
	       "on is dropped before conntrack.\n"
	       "\tchain spoofed {\n"
	       "\t\tlimit rate 10/second burst 20 packets log prefix \"sluice "
	       "spoofed: \" level warn\n"
	       "\t\tcounter drop comment \"spoofed source\"\n"
	       "\t}\n"
	       "\tchain antispoof {\n"
	       "\t\ttype filter hook prerouting priority raw - 10; policy "
	       "accept;\n"
	       "\t\tiif \"lo\" accept\n"
	       "\t\tip6 saddr { ::, fe80::/10 } accept comment \"IPv6 "
	       "link-local and unspecified (ND, DAD)\"\n"
	       "\t\tip saddr 0.0.0.0 udp dport 67 accept comment \"DHCP "
	       "client without an address\"\n");
	for (size_t i = 0; i < nifs; i++)
		antispoof_iface(g, ifs[i]);
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		if (!fam_has(&bound, fam))
			continue;
		sb_add(&g->b, "\t\tiifname != ");
		add_ifaces(&g->b, ifs, nifs, false);
		sb_add(&g->b, " %s saddr ", fam_kw(fam));
		add_addrs(&g->b, &bound, fam);
		sb_add(&g->b, " jump spoofed comment \"a bound network's "
			      "address on another interface\"\n");
	}
	antispoof_reverse_path(g);
	sb_add(&g->b, "\t}\n\n");
	addrset_free(&bound);
	free(ifs);
}

/* One family's rule of nat rule NR, when both sides have addresses of it. */
static void nat_rule_fam(struct gen *g, const struct natrule *nr, int fam,
			 const char *const *ifs, size_t nifs)
{
	const struct policy *p = g->p;
	const struct addrset *dst = nr->dst ? &nr->dst->addrs : &p->external;
	bool by_if = nr->dst ? nr->dst->nifaces > 0 : nifs > 0;
	char raw[NFT_COMMENT_MAX], cm[NFT_COMMENT_MAX], via[INET6_ADDRSTRLEN];

	if (!fam_has(&nr->src->addrs, fam) || (nr->via && nr->family != fam) ||
	    (!by_if && !fam_has(dst, fam)))
		return;
	sb_add(&g->b, "\t\t%s saddr ", fam_kw(fam));
	add_addrs(&g->b, &nr->src->addrs, fam);
	if (by_if && nr->dst) {
		sb_add(&g->b, " oifname ");
		add_ifaces(&g->b, (const char *const *)nr->dst->ifaces,
			   nr->dst->nifaces, false);
	} else if (by_if) {
		sb_add(&g->b, " oifname != ");
		add_ifaces(&g->b, ifs, nifs, true);
	} else {
		sb_add(&g->b, " %s daddr ", fam_kw(fam));
		add_addrs(&g->b, dst, fam);
	}
	if (nr->via) {
		format_addr(nr->family, nr->v4, nr->v6, via, sizeof(via));
		sb_add(&g->b, " counter snat %s to %s", fam_kw(fam), via);
		snprintf(raw, sizeof(raw), "nat %s to %s via %s", nr->src->name,
			 nr->dst ? nr->dst->name : "external", via);
	} else {
		sb_add(&g->b, " counter masquerade");
		snprintf(raw, sizeof(raw), "nat %s to %s", nr->src->name,
			 nr->dst ? nr->dst->name : "external");
	}
	sb_add(&g->b, " comment \"%s\"\n", nft_text(raw, cm, sizeof(cm)));
}

/*
 * The nat rules: the first packet of a session from the source network to
 * the destination (by the destination network's interfaces when it is
 * bound; `external` by an interface bound to no network) leaves with the
 * gateway's address (masquerade) or the via address (snat). Postrouting,
 * after the filter hooks: the access rules judged the original addresses.
 */
static void gen_nat(struct gen *g)
{
	const char **ifs;
	size_t nifs = bound_ifaces(g->p, &ifs);
	sb_add(&g->b,
	       "\t# Network rules (nat NETWORK to NETWORK [via ADDRESS]): "
	       "source translation\n"
	       "\t# of a session's first packet; the access rules still "
	       "decide every session.\n"
	       "\tchain nat_postrouting {\n"
	       "\t\ttype nat hook postrouting priority srcnat; policy "
	       "accept;\n");
	for (size_t i = 0; i < g->p->nnats; i++) {
		nat_rule_fam(g, g->p->nats[i], AF_INET, ifs, nifs);
		nat_rule_fam(g, g->p->nats[i], AF_INET6, ifs, nifs);
	}
	sb_add(&g->b, "\t}\n\n");
	free(ifs);
}

/* ---- the login portal's redirect ------------------------------------------------- */

/* The address of portal { listen } ("A:P", "[A]:P") into OUT; its family,
 * or -1 when unreadable or a wildcard (0.0.0.0, ::: `check` refuses it,
 * the redirect needs the gateway's own address). */
static int portal_addr(const char *listen, char *out, size_t outlen)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	if (!colon)
		return -1;
	size_t n = (size_t)(colon - listen);
	const char *a = listen;
	if (n >= 2 && a[0] == '[' && a[n - 1] == ']') {
		a++;
		n -= 2;
	}
	if (n >= outlen)
		return -1;
	memcpy(out, a, n);
	out[n] = '\0';
	unsigned char bin[16], zero[16] = {0};
	if (inet_pton(AF_INET, out, bin) == 1)
		return memcmp(bin, zero, 4) ? AF_INET : -1;
	if (inet_pton(AF_INET6, out, bin) == 1)
		return memcmp(bin, zero, 16) ? AF_INET6 : -1;
	return -1;
}

/* The clients the portal is for: the sources of every rule that needs a
 * user (RULE ... users ...), the gateway itself left out. */
static void portal_clients(const struct policy *p, struct addrset *out)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = p->rules[i];
		if (r->needs_identity && !r->src.local)
			addrset_add(out, &r->src.addrs);
	}
	addrset_normalize(out);
}

/*
 * portal { listen }: a web session (tcp 80) from a client of a rule that
 * needs a user, whose address is not in portal_known4/6 (sluiced keeps
 * them equal to the identity table: portal_sync_script()), to anywhere
 * but the gateway is sent to the portal's HTTP responder (port
 * PORTAL_HTTP_PORT of the portal's address, clients of its family), which
 * answers with a redirect to the HTTPS page. Prerouting
 * (dstnat): only a session's first packet passes; the session to the
 * gateway is then judged by the policy on input like any other.
 */
static void gen_portal(struct gen *g)
{
	char addr[INET6_ADDRSTRLEN + 1];
	int fam = portal_addr(g->p->portal.listen, addr, sizeof(addr));
	struct addrset clients = {0};
	portal_clients(g->p, &clients);
	sb_add(&g->b,
	       "\t# The login portal: identified client addresses (the identity "
	       "table,\n\t# kept here by sluiced) and the redirect of the "
	       "others' web sessions.\n"
	       "\tset portal_known4 {\n\t\ttype ipv4_addr; flags interval;\n\t}\n"
	       "\tset portal_known6 {\n\t\ttype ipv6_addr; flags interval;\n\t}\n"
	       "\tchain portal_redirect {\n"
	       "\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
	if (fam > 0 && fam_has(&clients, fam)) {
		sb_add(&g->b, "\t\t%s saddr ", fam_kw(fam));
		add_addrs(&g->b, &clients, fam);
		sb_add(&g->b, " %s saddr != @portal_known%d tcp dport 80 fib "
			      "daddr type != local counter ",
		       fam_kw(fam), fam == AF_INET ? 4 : 6);
		sb_add(&g->b, fam == AF_INET ? "dnat ip to %s:%u"
					     : "dnat ip6 to [%s]:%u",
		       addr, PORTAL_HTTP_PORT);
		sb_add(&g->b, " comment \"portal: unidentified web sessions\"\n");
	}
	sb_add(&g->b, "\t}\n\n");
	addrset_free(&clients);
}

char *portal_sync_script(const struct ruleset_opts *o, const char *const *v4,
			 size_t n4, const char *const *v6, size_t n6)
{
	struct sbuf b = {NULL, 0, 0};
	for (int f = 0; f < 2; f++) {
		const char *const *v = f ? v6 : v4;
		size_t n = f ? n6 : n4;
		sb_add(&b, "flush set inet %s portal_known%d\n", o->table,
		       f ? 6 : 4);
		for (size_t i = 0; i < n; i += 256) {
			sb_add(&b, "add element inet %s portal_known%d { ",
			       o->table, f ? 6 : 4);
			for (size_t j = i; j < n && j < i + 256; j++)
				sb_add(&b, "%s%s", j > i ? ", " : "", v[j]);
			sb_add(&b, " }\n");
		}
	}
	return sb_take(&b);
}

char *ruleset_nft(const struct policy *p, const struct ruleset_opts *o)
{
	struct gen g = {{NULL, 0, 0}, o, p};
	struct twin **tw = xcalloc(p->nrules + 1, sizeof(*tw));
	size_t *ntw = xcalloc(p->nrules + 1, sizeof(*ntw));

	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i]->sched)
			ntw[i] = sched_windows(p->rules[i]->sched, o, &tw[i]);
	gen_head(&g);
	gen_klog_limit(&g);
	if (policy_filters_ftp(p))
		gen_ftp_helper_obj(&g);
	gen_deny_sets(&g);
	gen_flood(&g);
	for (int ch = 0; ch < CH_COUNT; ch++) {
		if (ch == 0)
			sb_add(&g.b, "\t# The policy, per hook, in order; first "
				     "match wins.\n");
		gen_rules_chain(&g, (enum chain_kind)ch, tw, ntw);
	}
	if (policy_filters_dns(p))
		gen_dns_filter(&g);
	gen_reject_chain(&g);
	gen_decided(&g);
	if (p->npublishes)
		gen_publish(&g);
	gen_antispoof(&g);
	if (p->nnats)
		gen_nat(&g);
	if (p->portal.listen)
		gen_portal(&g);
	gen_adopt(&g);
	gen_hooks(&g);
	gen_post_undecided(&g);
	sb_add(&g.b, "}\n");
	for (size_t i = 0; i < p->nrules; i++)
		free(tw[i]);
	free(tw);
	free(ntw);
	return sb_take(&g.b);
}

char *ruleset_nft_update(const char *next, const struct ruleset_opts *o,
			 const char *installed)
{
	char *out = NULL;
	char *teardown = ruleset_nft_teardown(o->table, installed, next);
	char *replace = replace_table(o);
	char *at = teardown ? strstr(next, replace) : NULL;
	if (at)
		out = xasprintf("%.*s%s%s", (int)(at - next), next, teardown,
				at + strlen(replace));
	free(replace);
	free(teardown);
	return out;
}

/* ---- the xtables part ---------------------------------------------------------------- */

static const char *const xt_hooks[3] = {"FORWARD", "INPUT", "OUTPUT"};

/* The jump into SLUICE, after "-A HOOK" / "-I HOOK 1": only packets that
 * carry a decision mark, so a decided session's packets cost one match. */
static char *xt_jump(const struct ruleset_opts *o)
{
	return xasprintf("-m mark ! --mark 0x0/0x%08x -j SLUICE",
			 mark_dec_mask(o));
}

/* Per hook, from iptables-save text: the positions (1-based, ascending) of
 * the rules that jump to SLUICE in any form (older versions jumped
 * unconditionally), except a first rule that is the jump WANT (kept). */
struct xt_state {
	bool chain; /* :SLUICE exists */
	size_t nsluice; /* rules in SLUICE ("-A SLUICE ...") */
	size_t nfqueue; /* of them NFQUEUE rules (decisions, DNS filter) */
	bool first[3];
	int *jumps[3];
	size_t njumps[3];
};

static void xt_state_free(struct xt_state *st)
{
	for (int h = 0; h < 3; h++)
		free(st->jumps[h]);
}

/* Deletes the jumps of hook H, last first (positions shift). */
static void xt_delete_jumps(struct sbuf *b, const struct xt_state *st, int h)
{
	for (size_t k = st->njumps[h]; k-- > 0;)
		sb_add(b, "-D %s %d\n", xt_hooks[h], st->jumps[h][k]);
}

static void xt_scan(const char *cur, const char *want, struct xt_state *st)
{
	static const char tail[] = " -j SLUICE";
	const size_t tl = sizeof(tail) - 1;
	int nrules[3] = {0, 0, 0};
	memset(st, 0, sizeof(*st));
	if (!cur)
		return;
	bool in_filter = false;
	for (const char *l = cur; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (n && l[0] == '*')
			in_filter = n == 7 && strncmp(l, "*filter", 7) == 0;
		else if (in_filter && n >= 8 && strncmp(l, ":SLUICE ", 8) == 0)
			st->chain = true;
		else if (in_filter && n > 10 && strncmp(l, "-A SLUICE ", 10) == 0) {
			st->nsluice++;
			if (memmem(l, n, " -j NFQUEUE", 11))
				st->nfqueue++;
		} else if (in_filter && n > 3 && strncmp(l, "-A ", 3) == 0)
			for (int h = 0; h < 3; h++) {
				size_t hl = strlen(xt_hooks[h]);
				if (n < 3 + hl + 1 ||
				    strncmp(l + 3, xt_hooks[h], hl) != 0 ||
				    l[3 + hl] != ' ')
					continue;
				const char *spec = l + 3 + hl + 1;
				size_t sn = n - 3 - hl - 1;
				bool jump = n >= tl &&
					    strncmp(l + n - tl, tail, tl) == 0;
				int pos = ++nrules[h];
				if (!jump)
					continue;
				if (pos == 1 && want && strlen(want) == sn &&
				    strncmp(spec, want, sn) == 0)
					st->first[h] = true;
				else
					VEC_PUSH(st->jumps[h], st->njumps[h], pos);
			}
		l = e ? e + 1 : NULL;
	}
}

/* The DNS and FTP filters' queue rules, first in SLUICE (before the QUEUE mark is
 * saved into the ct mark): never bypassed. */
static void xt_dns_queue(struct sbuf *b, const struct ruleset_opts *o)
{
	sb_add(b, "-A SLUICE -m mark --mark 0x%08x/0x%08x -j NFQUEUE "
		  "--queue-num %u\n",
	       rs_mark(o, RS_DEC_QUEUE, RS_ID_DNS), rs_mark_own(o),
	       rs_dns_queue(o));
	sb_add(b, "-A SLUICE -m mark --mark 0x%08x/0x%08x -j NFQUEUE "
		  "--queue-num %u\n",
	       rs_mark(o, RS_DEC_QUEUE, RS_ID_FTP), rs_mark_own(o),
	       rs_ftp_queue(o));
}

char *ruleset_xt_from(const struct ruleset_opts *o, int family,
		      const char *current)
{
	struct sbuf b = {NULL, 0, 0};
	struct xt_state st;
	uint32_t dm = mark_dec_mask(o), own = rs_mark_own(o);

	if (o->nft_queue)
		return NULL;
	char *want = xt_jump(o);
	xt_scan(current, want, &st);
	sb_add(&b, "# sluice xtables part (%s): NFQUEUE, verdict to ct mark\n",
	       family == AF_INET6 ? "ip6tables" : "iptables");
	sb_add(&b, "*filter\n:SLUICE - [0:0]\n");
	if (st.chain)
		sb_add(&b, "-F SLUICE\n");
	xt_dns_queue(&b, o);
	/* the QUEUE mark into the ct mark first: the stage after the xt
	 * chains (queue_bypassed) tells a packet that reached the queue and
	 * came back undecided (bypass, queue full) from one that a foreign
	 * rule above SLUICE let through */
	sb_add(&b,
	       "-A SLUICE -m mark --mark 0x%08x/0x%08x -j CONNMARK --save-mark "
	       "--mask 0x%08x\n",
	       rs_mark(o, RS_DEC_QUEUE, 0), dm, own);
	sb_add(&b, "-A SLUICE -m mark --mark 0x%08x/0x%08x -j NFQUEUE ",
	       rs_mark(o, RS_DEC_QUEUE, 0), dm);
	if (o->queue_count > 1)
		sb_add(&b, "--queue-balance %u:%u", o->queue_num,
		       o->queue_num + o->queue_count - 1);
	else
		sb_add(&b, "--queue-num %u", o->queue_num);
	/* bypass only for fail open: closed, the kernel itself drops what
	 * no listener or a full queue cannot take */
	sb_add(&b, "%s\n", o->fail_open ? " --queue-bypass" : "");
	/* a verdict is saved only over the QUEUE saved above: an ALLOW mark
	 * that another program wrote before SLUICE (not sluiced's verdict)
	 * never reaches the ct mark, and a DENY verdict is in the ct mark
	 * before anything after the xt stage can rewrite the packet mark, so
	 * the <hook>_post chains drop it whatever mark it carries there */
	sb_add(&b,
	       "-A SLUICE -m mark --mark 0x%08x/0x%08x -m connmark --mark "
	       "0x%08x/0x%08x -j CONNMARK --save-mark --mask 0x%08x\n",
	       rs_mark(o, RS_DEC_ALLOW, 0), dm, rs_mark(o, RS_DEC_QUEUE, 0),
	       dm, own);
	sb_add(&b,
	       "-A SLUICE -m mark --mark 0x%08x/0x%08x -m connmark --mark "
	       "0x%08x/0x%08x -j CONNMARK --save-mark --mask 0x%08x\n",
	       rs_mark(o, RS_DEC_DENY, 0), dm, rs_mark(o, RS_DEC_QUEUE, 0),
	       dm, own);
	/* a DENY verdict (NF_REPEAT) goes on to queue_bypassed, which
	 * remembers the session (deny memory), rejects or drops it */
	sb_add(&b, "-A SLUICE -m mark --mark 0x%08x/0x%08x -j ACCEPT\n",
	       rs_mark(o, RS_DEC_DENY, 0), dm);
	for (int h = 0; h < 3; h++) {
		xt_delete_jumps(&b, &st, h);
		if (!st.first[h])
			sb_add(&b, "-I %s 1 %s\n", xt_hooks[h], want);
	}
	sb_add(&b, "COMMIT\n");
	xt_state_free(&st);
	free(want);
	return sb_take(&b);
}

bool ruleset_xt_intact(const struct ruleset_opts *o, const char *current)
{
	struct xt_state st;
	char *want = xt_jump(o);
	xt_scan(current, want, &st);
	/* the NFQUEUE (DNS), NFQUEUE (FTP), CONNMARK (QUEUE), NFQUEUE,
	 * CONNMARK (ALLOW), CONNMARK (DENY) and ACCEPT (DENY) rules */
	bool ok = st.chain && st.nsluice == 7 && st.nfqueue == 3;
	for (int h = 0; h < 3; h++)
		ok = ok && st.first[h] && st.njumps[h] == 0;
	xt_state_free(&st);
	free(want);
	return ok;
}

bool ruleset_xt_emptied(const struct ruleset_opts *o, const char *current)
{
	struct xt_state st;
	char *want = xt_jump(o);
	xt_scan(current, want, &st);
	bool emptied = st.chain && st.nsluice == 0;
	for (int h = 0; h < 3; h++)
		emptied = emptied && !st.first[h] && st.njumps[h] == 0;
	xt_state_free(&st);
	free(want);
	return emptied;
}

char *ruleset_xt(const struct ruleset_opts *o, int family)
{
	return ruleset_xt_from(o, family, NULL);
}

char *ruleset_xt_remove(const struct ruleset_opts *o, int family,
			const char *current)
{
	struct sbuf b = {NULL, 0, 0};
	struct xt_state st;
	(void)o;
	(void)family;
	xt_scan(current, NULL, &st);
	if (!st.chain && !st.njumps[0] && !st.njumps[1] && !st.njumps[2]) {
		xt_state_free(&st);
		return NULL;
	}
	sb_add(&b, "*filter\n");
	for (int h = 0; h < 3; h++)
		xt_delete_jumps(&b, &st, h);
	if (st.chain)
		sb_add(&b, "-F SLUICE\n-X SLUICE\n");
	sb_add(&b, "COMMIT\n");
	xt_state_free(&st);
	return sb_take(&b);
}
