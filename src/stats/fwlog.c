/*
 * fwlog.c — the firewall log: a bounded ring filled by the queue workers,
 * drained by one writer thread; see fwlog.h.
 */
#include "stats/fwlog.h"
#include "common/text.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

/* One buffered record: the caller's strings copied, cut to size. */
struct slot {
	enum fwlog_event event;
	struct fwlog_counts counts;
	struct timespec time;
	struct flow flow;
	enum verdict action;
	enum reason reason;
	uint32_t latency_us;
	char src_net[FWLOG_NET_MAX], dst_net[FWLOG_NET_MAX];
	char rule[FWLOG_RULE_MAX], user[FWLOG_USER_MAX], name[FWLOG_NAME_MAX];
	char witness[16];
};

struct fwlog {
	enum log_format format;
	char *path;
	bool to_syslog;
	char gateway[256];
	FILE *f; /* the writer's */

	pthread_mutex_t mu;
	pthread_cond_t more; /* records, stop or reopen for the writer */
	pthread_cond_t done; /* the writer advanced tail */
	struct slot *ring;
	size_t cap;
	uint64_t head, tail; /* under mu; slots [tail, head) are full */
	bool stop, stall;
	uint64_t reopen_req, reopen_done; /* generations */
	pthread_t thr;

	_Atomic uint64_t written, dropped;
};

/* ---- formatting --------------------------------------------------------------- */

const char *fwlog_event_name(enum fwlog_event e)
{
	switch (e) {
	case FWLOG_KERNEL_DECIDED: return "kernel-decided";
	case FWLOG_SESSION_END: return "session-end";
	default: return "decided";
	}
}

static const char *transport_of(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	default: snprintf(buf, len, "%u", proto); return buf;
	}
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/* "addr:port", "[v6]:port", or the address alone (no ports). */
static void endpoint_text(const struct flow *f, bool dst, char *buf,
			  size_t len)
{
	char a[64];
	format_addr(f->family, dst ? f->dst4 : f->src4, dst ? f->dst6 : f->src6,
		    a, sizeof(a));
	if (!has_ports(f->proto))
		snprintf(buf, len, "%s", a);
	else if (f->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, dst ? f->dport : f->sport);
	else
		snprintf(buf, len, "%s:%u", a, dst ? f->dport : f->sport);
}

/* A bounded writer into a char buffer. */
struct out {
	char *p, *end;
};

static void put(struct out *o, const char *s)
{
	while (*s && o->p < o->end)
		*o->p++ = *s++;
}

static void __attribute__((format(printf, 2, 3)))
putf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p, (size_t)(o->end - o->p) + 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->p += (size_t)n < (size_t)(o->end - o->p) ? (size_t)n
							    : (size_t)(o->end - o->p);
}

/* A JSON string; a name from outside with bytes that are not UTF-8 or
 * with control characters stays valid JSON and UTF-8 (common/text.h):
 * such a byte is written as the text \\xNN. */
static void put_json_str(struct out *o, const char *s)
{
	if (!s || !s[0]) {
		put(o, "null");
		return;
	}
	put(o, "\"");
	const unsigned char *c = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(c + i, n - i);
		if (!l) {
			putf(o, "\\\\x%02x", c[i]);
			i++;
		} else if (c[i] == '"' || c[i] == '\\') {
			putf(o, "\\%c", c[i]);
			i++;
		} else if (c[i] < 0x20 || c[i] == 0x7f ||
			   (l == 2 && c[i] == 0xc2 && c[i + 1] < 0xa0)) {
			putf(o, "\\u%04x", l == 2 ? c[i + 1] : c[i]);
			i += l;
		} else {
			for (size_t k = 0; k < l && o->p < o->end; k++)
				*o->p++ = (char)c[i + k];
			i += l;
		}
	}
	put(o, "\"");
}

/* A W3C field: '-' when empty; tabs and line ends become spaces; other
 * control characters and bytes that are not UTF-8 are written \xNN. */
static void put_w3c(struct out *o, const char *s)
{
	if (!s || !s[0]) {
		put(o, "-");
		return;
	}
	char in[256], buf[4 * sizeof(in) + 1];
	size_t n = 0;
	for (; s[n] && n < sizeof(in); n++)
		in[n] = (s[n] == '\t' || s[n] == '\n' || s[n] == '\r') ? ' ' : s[n];
	text_escape(buf, sizeof(buf), in, n, false);
	put(o, buf);
}

/* The ICMP (ICMPv6 with V6) type answering TYPE, as the Community ID spec
 * pairs them (requests and replies, solicitations and advertisements);
 * -1 for a type without one (its flows are one-way). */
static int icmp_counterpart(uint8_t type, bool v6)
{
	static const uint8_t v4[][2] = {{8, 0}, {13, 14}, {15, 16}, {10, 9},
					{17, 18}};
	static const uint8_t v6p[][2] = {{128, 129}, {133, 134}, {135, 136},
					 {130, 131}, {139, 140}, {144, 145}};
	const uint8_t (*t)[2] = v6 ? v6p : v4;
	size_t n = v6 ? sizeof(v6p) / sizeof(v6p[0]) : sizeof(v4) / sizeof(v4[0]);
	for (size_t i = 0; i < n; i++) {
		if (t[i][0] == type)
			return t[i][1];
		if (t[i][1] == type)
			return t[i][0];
	}
	return -1;
}

/*
 * The Community ID (v1, seed 0) of F: "1:" + base64 of the SHA-1 of the
 * seed, the two endpoints in order (the smaller address and port first),
 * the protocol, a zero byte and the ports, all in network order
 * (https://github.com/corelight/community-id-spec). TCP and UDP; ICMP and
 * ICMPv6 with the type and its counterpart as the ports (the types that
 * have one: the flows conntrack tracks; a one-way type would need the
 * code, which a flow does not carry): false for others.
 */
static bool community_id(const struct flow *f, char *buf, size_t len)
{
	int icmp = -1;
	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) {
		icmp = icmp_counterpart(f->icmp_type,
					f->proto == IPPROTO_ICMPV6);
		if (icmp < 0)
			return false;
	} else if (!has_ports(f->proto)) {
		return false;
	}
	if (len < 33)
		return false;
	uint8_t a[16], b[16], in[2 + 32 + 2 + 4];
	size_t al = f->family == AF_INET ? 4 : 16;
	if (f->family == AF_INET) {
		uint32_t s4 = htonl(f->src4), d4 = htonl(f->dst4);
		memcpy(a, &s4, 4);
		memcpy(b, &d4, 4);
	} else {
		for (int i = 0; i < 16; i++) { /* most significant byte first */
			a[i] = (uint8_t)(f->src6 >> (8 * (15 - i)));
			b[i] = (uint8_t)(f->dst6 >> (8 * (15 - i)));
		}
	}
	uint16_t sp = icmp < 0 ? f->sport : f->icmp_type;
	uint16_t dp = icmp < 0 ? f->dport : (uint16_t)icmp;
	int c = memcmp(a, b, al);
	bool swap = c > 0 || (c == 0 && sp > dp);
	size_t n = 0;
	in[n++] = 0, in[n++] = 0; /* seed */
	memcpy(in + n, swap ? b : a, al), n += al;
	memcpy(in + n, swap ? a : b, al), n += al;
	in[n++] = f->proto;
	in[n++] = 0;
	uint16_t p1 = htons(swap ? dp : sp), p2 = htons(swap ? sp : dp);
	memcpy(in + n, &p1, 2), n += 2;
	memcpy(in + n, &p2, 2), n += 2;
	unsigned char md[SHA_DIGEST_LENGTH];
	SHA1(in, n, md);
	memcpy(buf, "1:", 2);
	EVP_EncodeBlock((unsigned char *)buf + 2, md, SHA_DIGEST_LENGTH);
	return true;
}

/* One record in the Elastic Common Schema (ECS 8.x field names, nested
 * objects): what a log shipper reads without a parser. */
static void format_ecs(const struct fwlog *l, const struct slot *s,
		       struct out *o, const char *date, const char *tod, int ms)
{
	char a[64], tb[8], cid[40];
	const char *tr = transport_of(s->flow.proto, tb, sizeof(tb));
	bool allow = s->action == VERDICT_ALLOW;
	bool end = s->event == FWLOG_SESSION_END;
	bool timed = s->event == FWLOG_DECIDED; /* has a decision latency */
	unsigned long long dur_ns = end ? s->counts.duration_ms * 1000000ull
					: (unsigned long long)s->latency_us * 1000ull;
	putf(o, "{\"@timestamp\":\"%sT%s.%03dZ\",\"ecs\":{\"version\":\"8.11.0\"},"
	     "\"event\":{\"kind\":\"event\",\"category\":[\"network\"],"
	     "\"type\":[\"connection\",\"%s\"],\"action\":\"%s\","
	     "\"outcome\":\"success\",\"reason\":\"%s\"",
	     date, tod, ms, end ? "end" : allow ? "allowed" : "denied",
	     end ? "session-end" : allow ? "allow" : "deny",
	     reason_log_name(s->reason));
	if (end || timed)
		putf(o, ",\"duration\":%llu", dur_ns);
	put(o, "},");
	put(o, "\"observer\":{\"type\":\"firewall\",\"product\":\"sluice\","
	    "\"hostname\":");
	put_json_str(o, l->gateway);
	putf(o, "},\"source\":{\"ip\":\"%s\"",
	     format_addr(s->flow.family, s->flow.src4, s->flow.src6, a,
			 sizeof(a)));
	if (has_ports(s->flow.proto))
		putf(o, ",\"port\":%u", s->flow.sport);
	if (end)
		putf(o, ",\"bytes\":%llu,\"packets\":%llu",
		     (unsigned long long)s->counts.bytes_out,
		     (unsigned long long)s->counts.packets_out);
	put(o, "},\"destination\":{");
	putf(o, "\"ip\":\"%s\"",
	     format_addr(s->flow.family, s->flow.dst4, s->flow.dst6, a,
			 sizeof(a)));
	if (has_ports(s->flow.proto))
		putf(o, ",\"port\":%u", s->flow.dport);
	if (s->name[0]) {
		put(o, ",\"domain\":");
		put_json_str(o, s->name);
	}
	if (end)
		putf(o, ",\"bytes\":%llu,\"packets\":%llu",
		     (unsigned long long)s->counts.bytes_in,
		     (unsigned long long)s->counts.packets_in);
	putf(o, "},\"network\":{\"transport\":\"%s\",\"type\":\"%s\"", tr,
	     s->flow.family == AF_INET ? "ipv4" : "ipv6");
	if (end)
		putf(o, ",\"bytes\":%llu,\"packets\":%llu",
		     (unsigned long long)(s->counts.bytes_out + s->counts.bytes_in),
		     (unsigned long long)(s->counts.packets_out +
					  s->counts.packets_in));
	if (community_id(&s->flow, cid, sizeof(cid)))
		putf(o, ",\"community_id\":\"%s\"", cid);
	put(o, "}");
	if (s->rule[0]) {
		put(o, ",\"rule\":{\"name\":");
		put_json_str(o, s->rule);
		put(o, "}");
	}
	if (s->user[0]) {
		put(o, ",\"user\":{\"name\":");
		put_json_str(o, s->user);
		put(o, "}");
	}
	putf(o, ",\"sluice\":{\"event\":\"%s\",\"source_network\":",
	     fwlog_event_name(s->event));
	put_json_str(o, s->src_net);
	put(o, ",\"destination_network\":");
	put_json_str(o, s->dst_net);
	if (timed)
		putf(o, ",\"latency_ms\":%.3f", s->latency_us / 1000.0);
	put(o, "}}");
}

/* The separator and, in JSON, the key of the next field: `,"KEY":` in a
 * JSON record, a tab in a W3C one. */
static void put_key(struct out *o, bool json, const char *key)
{
	if (json)
		putf(o, ",\"%s\":", key);
	else
		put(o, "\t");
}

/* Field KEY with text V: a JSON string (null when empty) or a W3C field
 * ("-" when empty). */
static void put_field(struct out *o, bool json, const char *key,
		      const char *v)
{
	put_key(o, json, key);
	if (json)
		put_json_str(o, v);
	else
		put_w3c(o, v);
}

/* The fields the JSON and W3C records share, in their one order: from the
 * source network to the flow id CID (W3C_FIELDS names them for W3C). */
static void put_text_fields(struct out *o, bool json, const struct slot *s,
			    const char *cid)
{
	put_field(o, json, "source_network", s->src_net);
	put_field(o, json, "destination_network", s->dst_net);
	put_field(o, json, "action",
		  s->action == VERDICT_ALLOW ? "allow" : "deny");
	put_field(o, json, "rule", s->rule);
	put_field(o, json, "user", s->user);
	put_field(o, json, "name", s->name);
	put_field(o, json, "witness", s->witness);
	put_field(o, json, "reason", reason_log_name(s->reason));
	put_key(o, json, "latency_ms");
	if (s->event == FWLOG_DECIDED)
		putf(o, "%.3f", s->latency_us / 1000.0);
	else
		put(o, json ? "null" : "-");
	put_field(o, json, "event", fwlog_event_name(s->event));
	put_field(o, json, "flow_id", cid);
}

/* The #Fields directive's names, separated by tabs as the records' values
 * are (TMG's W3C files do the same): a value may hold spaces (a rule
 * named "staff web"), so a reader splits both on tabs alone. */
#define W3C_FIELDS                                                         \
	"date\ttime\ts-computername\tcs-transport\tc-ip\tc-port\tr-ip\t"    \
	"r-port\tx-src-network\tx-dst-network\taction\trule\tcs-username\t" \
	"r-host\tx-name-witness\tx-reason\tx-latency-ms\tx-event\t"         \
	"x-flow-id\tcs-bytes\tsc-bytes\tx-cs-packets\tx-sc-packets\t"      \
	"x-duration-ms"

static void format_slot(const struct fwlog *l, const struct slot *s,
			char *buf, size_t len)
{
	struct out o = {buf, buf + len - 1};
	char date[16], tod[16], tb[8], cl[80], ds[80], cid[40] = "";
	struct tm tm;
	gmtime_r(&s->time.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	strftime(tod, sizeof(tod), "%H:%M:%S", &tm);
	int ms = (int)(s->time.tv_nsec / 1000000);
	const char *tr = transport_of(s->flow.proto, tb, sizeof(tb));
	/* the flow id that joins a session's start and end records */
	if (!community_id(&s->flow, cid, sizeof(cid)))
		cid[0] = '\0';
	if (l->format == LOGF_ECS) {
		format_ecs(l, s, &o, date, tod, ms);
	} else if (l->format == LOGF_JSON) {
		endpoint_text(&s->flow, false, cl, sizeof(cl));
		endpoint_text(&s->flow, true, ds, sizeof(ds));
		putf(&o, "{\"time\":\"%sT%s.%03dZ\",\"gateway\":", date, tod, ms);
		put_json_str(&o, l->gateway);
		putf(&o, ",\"transport\":\"%s\",\"client\":\"%s\","
		     "\"destination\":\"%s\"", tr, cl, ds);
		put_text_fields(&o, true, s, cid);
		if (s->event == FWLOG_SESSION_END)
			putf(&o, ",\"bytes_out\":%llu,\"packets_out\":%llu,"
			     "\"bytes_in\":%llu,\"packets_in\":%llu,"
			     "\"duration_ms\":%llu",
			     (unsigned long long)s->counts.bytes_out,
			     (unsigned long long)s->counts.packets_out,
			     (unsigned long long)s->counts.bytes_in,
			     (unsigned long long)s->counts.packets_in,
			     (unsigned long long)s->counts.duration_ms);
		put(&o, "}");
	} else {
		char a[64], sp[8] = "-", dp[8] = "-";
		if (has_ports(s->flow.proto)) {
			snprintf(sp, sizeof(sp), "%u", s->flow.sport);
			snprintf(dp, sizeof(dp), "%u", s->flow.dport);
		}
		putf(&o, "%s\t%s.%03d\t", date, tod, ms);
		put_w3c(&o, l->gateway);
		putf(&o, "\t%s\t%s\t%s\t", tr,
		     format_addr(s->flow.family, s->flow.src4, s->flow.src6, a,
				 sizeof(a)), sp);
		putf(&o, "%s\t%s", format_addr(s->flow.family, s->flow.dst4,
					       s->flow.dst6, a, sizeof(a)), dp);
		put_text_fields(&o, false, s, cid);
		if (s->event == FWLOG_SESSION_END)
			putf(&o, "\t%llu\t%llu\t%llu\t%llu\t%llu",
			     (unsigned long long)s->counts.bytes_out,
			     (unsigned long long)s->counts.bytes_in,
			     (unsigned long long)s->counts.packets_out,
			     (unsigned long long)s->counts.packets_in,
			     (unsigned long long)s->counts.duration_ms);
		else
			put(&o, "\t-\t-\t-\t-\t-");
	}
	*o.p = '\0';
}

static void copy_str(char *dst, size_t len, const char *src)
{
	if (!src) {
		dst[0] = '\0';
		return;
	}
	size_t n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void rec_to_slot(const struct fwlog_rec *r, struct slot *s)
{
	s->event = r->event;
	s->counts = r->event == FWLOG_SESSION_END ? r->counts
						  : (struct fwlog_counts){0};
	s->time = r->time;
	if (!s->time.tv_sec && !s->time.tv_nsec)
		clock_gettime(CLOCK_REALTIME, &s->time);
	s->flow = r->flow;
	s->action = r->action;
	s->reason = r->reason;
	s->latency_us = r->latency_us;
	copy_str(s->src_net, sizeof(s->src_net), r->src_net);
	copy_str(s->dst_net, sizeof(s->dst_net), r->dst_net);
	copy_str(s->rule, sizeof(s->rule), r->rule);
	copy_str(s->user, sizeof(s->user), r->user);
	copy_str(s->name, sizeof(s->name), r->name);
	copy_str(s->witness, sizeof(s->witness), r->witness);
}

void fwlog_format(const struct fwlog *l, const struct fwlog_rec *r, char *buf,
		  size_t len)
{
	struct slot s;
	rec_to_slot(r, &s);
	format_slot(l, &s, buf, len);
}

/* ---- the writer ------------------------------------------------------------------ */

/* Opens (or reopens) the file; a new or empty W3C file gets its header.
 * On failure the old file (if any) is kept; -1 with errno (ELOOP: the
 * path is a symbolic link, log_file_follows; EINVAL: a named path that is
 * not a regular file (a FIFO, a socket); EPERM: a file not owned by root
 * or by sluiced's own user). */
static int open_file(struct fwlog *l)
{
	/* not world-readable: the log names users and where they went */
	bool follows = log_file_follows(l->path); /* an open descriptor's name */
	/* O_NONBLOCK: a FIFO another user made under the name must not
	 * hold the open (and with it start, reload and SIGTERM) forever */
	int fd = open(l->path,
		      O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK |
			  (follows ? 0 : O_NOFOLLOW | O_CREAT),
		      0640);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	/* a named file: a regular one of root or our own user only (not a
	 * FIFO, nor another user's file in a shared folder, which it would
	 * read and forge lines in); a device such as /dev/null stays
	 * allowed when root owns it */
	if (!follows &&
	    ((!S_ISREG(st.st_mode) && !(S_ISCHR(st.st_mode) && st.st_uid == 0)) ||
	     (st.st_uid != 0 && st.st_uid != geteuid()))) {
		close(fd);
		errno = S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) ? EPERM
								   : EINVAL;
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	/* an older file too; never a device or FIFO (a log sent to
	 * /dev/null must not take /dev/null's permissions away) */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0007))
		(void)fchmod(fd, st.st_mode & 0770);
	FILE *f = fdopen(fd, "a");
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (l->f)
		fclose(l->f);
	l->f = f;
	if (l->format == LOGF_W3C && ftell(f) == 0) {
		char date[32];
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(f, "#Software: sluice %s\n#Version: 1.0\n#Date: %s\n"
			"#Fields: %s\n", SLUICE_VERSION, date, W3C_FIELDS);
		fflush(f);
	}
	return 0;
}

/* Writes slots [from, to) of the ring (outside the lock: producers never
 * touch them until tail moves past). */
static void write_batch(struct fwlog *l, uint64_t from, uint64_t to)
{
	char line[FWLOG_LINE_MAX];
	uint64_t bad = 0;
	for (uint64_t i = from; i < to; i++) {
		format_slot(l, &l->ring[i % l->cap], line, sizeof(line));
		if (l->to_syslog)
			syslog(LOG_INFO, "%s", line);
		if (l->f && fprintf(l->f, "%s\n", line) < 0)
			bad++;
	}
	if (l->f && (fflush(l->f) != 0 || ferror(l->f))) {
		bad = to - from;
		clearerr(l->f);
	}
	atomic_fetch_add(&l->written, to - from - bad);
	atomic_fetch_add(&l->dropped, bad);
}

static void *writer(void *arg)
{
	struct fwlog *l = arg;
	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->stop && l->reopen_req == l->reopen_done &&
		       (l->head == l->tail || l->stall))
			pthread_cond_wait(&l->more, &l->mu);
		if (l->reopen_req != l->reopen_done) {
			uint64_t gen = l->reopen_req;
			pthread_mutex_unlock(&l->mu);
			if (l->path && open_file(l) < 0)
				syslog(LOG_ERR, "firewall log: cannot reopen "
				       "%s: %m", l->path);
			pthread_mutex_lock(&l->mu);
			l->reopen_done = gen;
			pthread_cond_broadcast(&l->done);
			continue;
		}
		if (l->head == l->tail) {
			if (l->stop)
				break;
			continue;
		}
		uint64_t from = l->tail, to = l->head;
		pthread_mutex_unlock(&l->mu);
		write_batch(l, from, to);
		pthread_mutex_lock(&l->mu);
		l->tail = to;
		pthread_cond_broadcast(&l->done);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- the API -------------------------------------------------------------------- */

struct fwlog *fwlog_open(const struct log_cfg *cfg, const char *gateway)
{
	if (!cfg->file && !cfg->syslog) {
		errno = EINVAL;
		return NULL;
	}
	struct fwlog *l = xcalloc(1, sizeof(*l));
	l->format = cfg->format;
	l->to_syslog = cfg->syslog;
	l->cap = cfg->buffer ? cfg->buffer : 4096;
	if (gateway)
		snprintf(l->gateway, sizeof(l->gateway), "%s", gateway);
	else if (gethostname(l->gateway, sizeof(l->gateway) - 1) < 0)
		snprintf(l->gateway, sizeof(l->gateway), "-");
	if (cfg->file) {
		l->path = xstrdup(cfg->file);
		if (open_file(l) < 0) {
			int e = errno;
			free(l->path);
			free(l);
			errno = e;
			return NULL;
		}
	}
	l->ring = xcalloc(l->cap, sizeof(*l->ring));
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->more, NULL);
	pthread_cond_init(&l->done, NULL);
	int rc = pthread_create(&l->thr, NULL, writer, l);
	if (rc) {
		if (l->f)
			fclose(l->f);
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->more);
		pthread_cond_destroy(&l->done);
		free(l->ring);
		free(l->path);
		free(l);
		errno = rc;
		return NULL;
	}
	return l;
}

void fwlog_close(struct fwlog *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	l->stall = false;
	pthread_cond_signal(&l->more);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thr, NULL);
	if (l->f)
		fclose(l->f);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->more);
	pthread_cond_destroy(&l->done);
	free(l->ring);
	free(l->path);
	free(l);
}

void fwlog_record(struct fwlog *l, const struct fwlog_rec *r)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	if (l->head - l->tail >= l->cap) {
		pthread_mutex_unlock(&l->mu);
		atomic_fetch_add(&l->dropped, 1);
		return;
	}
	rec_to_slot(r, &l->ring[l->head % l->cap]);
	bool was_empty = l->head == l->tail;
	l->head++;
	if (was_empty)
		pthread_cond_signal(&l->more);
	pthread_mutex_unlock(&l->mu);
}

size_t fwlog_room(struct fwlog *l)
{
	if (!l)
		return 0;
	pthread_mutex_lock(&l->mu);
	size_t room = l->cap - (size_t)(l->head - l->tail);
	pthread_mutex_unlock(&l->mu);
	return room;
}

void fwlog_reopen(struct fwlog *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->reopen_req++;
	pthread_cond_signal(&l->more);
	pthread_mutex_unlock(&l->mu);
}

void fwlog_flush(struct fwlog *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	uint64_t target = l->head;
	pthread_cond_signal(&l->more);
	uint64_t reopen = l->reopen_req;
	/* a held writer (fwlog_hold) would never get there */
	while ((l->tail < target || l->reopen_done < reopen) && !l->stall)
		pthread_cond_wait(&l->done, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

void fwlog_stats(const struct fwlog *l, uint64_t *written, uint64_t *dropped)
{
	*written = l ? atomic_load(&l->written) : 0;
	*dropped = l ? atomic_load(&l->dropped) : 0;
}

void fwlog_hold(struct fwlog *l, bool hold)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stall = hold;
	pthread_cond_signal(&l->more);
	pthread_mutex_unlock(&l->mu);
}
