/*
 * test_dnsbind.c — names from the clients' own DNS answers (dnsbind.c):
 * only answers to a query that client sent bind, per client, with TTL and
 * grace; CNAME chains; rebinding refused; malformed, truncated, looping and
 * oversized messages refused and counted; bounds make names partial, never
 * absent. No network: messages are built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "resolve/dnsbind.h"
#include "dnsbind_trust.h"

/* ---- a message builder --------------------------------------------------- */

struct mb {
	uint8_t b[65536];
	size_t n;
};

static void u8(struct mb *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void u16(struct mb *m, unsigned v)
{
	u8(m, v >> 8);
	u8(m, v & 0xff);
}
static void u32(struct mb *m, uint32_t v)
{
	u16(m, v >> 16);
	u16(m, v & 0xffff);
}
/* NAME as labels (no compression). */
static void name(struct mb *m, const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		u8(m, (unsigned)l);
		memcpy(m->b + m->n, s, l);
		m->n += l;
		s += l + (dot ? 1 : 0);
	}
	u8(m, 0);
}
/* Header + one question (QNAME at offset 12). */
static void head(struct mb *m, unsigned id, unsigned flags, unsigned an,
		 const char *qname, unsigned qtype)
{
	m->n = 0;
	u16(m, id);
	u16(m, flags);
	u16(m, 1);
	u16(m, an);
	u16(m, 0);
	u16(m, 0);
	name(m, qname);
	u16(m, qtype);
	u16(m, 1);
}
/* An A record owned by OWNER (NULL: a pointer to the question name). */
static void rr_a(struct mb *m, const char *owner, uint32_t ttl,
		 const char *addr)
{
	if (owner)
		name(m, owner);
	else
		u16(m, 0xc00c);
	u16(m, 1);
	u16(m, 1);
	u32(m, ttl);
	u16(m, 4);
	inet_pton(AF_INET, addr, m->b + m->n);
	m->n += 4;
}
static void rr_cname(struct mb *m, const char *owner, uint32_t ttl,
		     const char *target)
{
	if (owner)
		name(m, owner);
	else
		u16(m, 0xc00c);
	u16(m, 5);
	u16(m, 1);
	u32(m, ttl);
	size_t at = m->n;
	u16(m, 0);
	name(m, target);
	size_t l = m->n - at - 2;
	m->b[at] = (uint8_t)(l >> 8);
	m->b[at + 1] = (uint8_t)l;
}

#define QR 0x8180u
#define Q 0x0100u

static const struct dnsbind_cfg cfg = {.grace_s = 10,
				       .query_timeout_ms = 5000,
				       .max_queries = 4,
				       .max_bindings = 64,
				       .refuse_private = true};

static struct dns_ends ends(const char *src, uint16_t sport, const char *dst,
			    uint16_t dport)
{
	struct dns_ends e = {.family = AF_INET, .sport = sport, .dport = dport};
	inet_pton(AF_INET, src, e.src);
	inet_pton(AF_INET, dst, e.dst);
	return e;
}

#define CLI "198.18.1.2"
#define CLI2 "198.18.1.3"
#define SRV "198.18.3.2"
/* the lab's DNS network: the servers trusted */
#define LAB_DNS "198.18.3.0", "198.18.3.255", "2001:db8:3::", "2001:db8:3::ffff:ffff:ffff:ffff"

static struct dns_ends to_srv(const char *cli, uint16_t port)
{
	return ends(cli, port, SRV, 53);
}
static struct dns_ends to_cli(const char *cli, uint16_t port)
{
	return ends(SRV, 53, cli, port);
}

/* The names CLI was told ADDR has, joined by ' ' (sorted as stored). */
static const char *told(struct dnsbind *b, const char *cli, const char *addr,
			uint64_t now, bool *partial)
{
	static char out[1024];
	uint8_t c[16] = {0}, a[16] = {0};
	const char *v[16];
	inet_pton(AF_INET, cli, c);
	inet_pton(AF_INET, addr, a);
	size_t n = dnsbind_names(b, AF_INET, c, a, now, v, 16, partial);
	out[0] = '\0';
	for (size_t i = 0; i < n && i < 16; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, v[i]);
	}
	return out;
}

static void ask(struct dnsbind *b, const char *cli, uint16_t port,
		unsigned id, const char *qname, uint64_t now)
{
	struct mb m;
	struct dns_ends e = to_srv(cli, port);
	head(&m, id, Q, 0, qname, 1);
	assert_int_equal(dnsbind_query(b, &e, m.b, m.n, now), DB_OK);
}

/* A CDN's shape: the site is an alias of the CDN's edge name; the client
 * that asked is told both names for every address; another client is told
 * nothing; the binding lives TTL + grace. */
static void binds_per_client(void **state)
{
	struct dnsbind *b = trusting(dnsbind_new(&cfg), LAB_DNS);
	uint64_t t = 1000000;
	ask(b, CLI, 40000, 0x1234, "WWW.Example.com", t);
	struct mb m;
	head(&m, 0x1234, QR, 3, "www.example.com", 1);
	rr_cname(&m, NULL, 300, "edge.cdn.net");
	rr_a(&m, "edge.cdn.net", 60, "198.18.2.50");
	rr_a(&m, "edge.cdn.net", 60, "198.18.2.51");
	struct dns_ends e = to_cli(CLI, 40000);
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, t + 5), DB_OK);
	bool partial = true;
	assert_string_equal(told(b, CLI, "198.18.2.50", t + 10, &partial),
			    "www.example.com edge.cdn.net");
	assert_false(partial);
	assert_string_equal(told(b, CLI, "198.18.2.51", t + 10, NULL),
			    "www.example.com edge.cdn.net");
	assert_string_equal(told(b, CLI2, "198.18.2.50", t + 10, NULL), "");
	assert_string_equal(told(b, CLI, "198.18.2.52", t + 10, NULL), "");
	/* TTL 60 + grace 10 */
	assert_string_equal(told(b, CLI, "198.18.2.50", t + 5 + 69999, NULL),
			    "www.example.com edge.cdn.net");
	assert_string_equal(told(b, CLI, "198.18.2.50", t + 5 + 70000, NULL),
			    "");
	struct dnsbind_stats s;
	dnsbind_stats(b, &s);
	assert_int_equal(s.bindings, 2);
	dnsbind_expire(b, t + 5 + 70000);
	dnsbind_stats(b, &s);
	assert_int_equal(s.bindings, 0);
	assert_int_equal(s.queries_pending, 0);
	dnsbind_free(b);
}

/* Only an answer to a query that client sent to that server binds: wrong
 * id, port, server, client, question or a second answer bind nothing. */
static void only_trusted_answers(void **state)
{
	struct dnsbind *b = trusting(dnsbind_new(&cfg), LAB_DNS);
	uint64_t t = 5000;
	ask(b, CLI, 40001, 7, "site.example", t);
	struct mb m;
	struct dns_ends e = to_cli(CLI, 40001);
	head(&m, 8, QR, 1, "site.example", 1); /* wrong id */
	rr_a(&m, NULL, 60, "198.18.2.60");
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, t), DB_UNMATCHED);
	head(&m, 7, QR, 1, "other.example", 1); /* wrong question */
	rr_a(&m, NULL, 60, "198.18.2.60");
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, t), DB_UNMATCHED);
	struct dns_ends port = to_cli(CLI, 40002), cli2 = to_cli(CLI2, 40001),
			srv2 = ends("198.18.3.9", 53, CLI, 40001),
			sport = ends(SRV, 5353, CLI, 40001);
	head(&m, 7, QR, 1, "site.example", 1);
	rr_a(&m, NULL, 60, "198.18.2.60");
	assert_int_equal(dnsbind_answer(b, &port, m.b, m.n, t), DB_UNMATCHED);
	assert_int_equal(dnsbind_answer(b, &cli2, m.b, m.n, t), DB_UNMATCHED);
	assert_int_equal(dnsbind_answer(b, &srv2, m.b, m.n, t), DB_UNMATCHED);
	assert_int_equal(dnsbind_answer(b, &sport, m.b, m.n, t), DB_UNMATCHED);
	assert_string_equal(told(b, CLI, "198.18.2.60", t, NULL), "");
	/* a query as an answer (QR clear) is malformed */
	head(&m, 7, Q, 1, "site.example", 1);
	rr_a(&m, NULL, 60, "198.18.2.60");
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, t), DB_MALFORMED);
	/* the genuine answer binds, once */
	head(&m, 7, QR, 1, "site.example", 1);
	rr_a(&m, NULL, 60, "198.18.2.60");
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, t), DB_OK);
	assert_string_equal(told(b, CLI, "198.18.2.60", t, NULL),
			    "site.example");
	head(&m, 7, QR, 1, "site.example", 1);
	rr_a(&m, NULL, 60, "198.18.2.61");
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, t), DB_UNMATCHED);
	assert_string_equal(told(b, CLI, "198.18.2.61", t, NULL), "");
	/* too late: the query was forgotten */
	ask(b, CLI, 40003, 9, "late.example", t);
	struct dns_ends e3 = to_cli(CLI, 40003);
	head(&m, 9, QR, 1, "late.example", 1);
	rr_a(&m, NULL, 60, "198.18.2.62");
	assert_int_equal(dnsbind_answer(b, &e3, m.b, m.n, t + 5000),
			 DB_UNMATCHED);
	struct dnsbind_stats s;
	dnsbind_stats(b, &s);
	assert_int_equal(s.answers_unmatched, 8);
	assert_int_equal(s.answers_malformed, 1);
	dnsbind_free(b);
}

/* A client that asks a server of its own (not among the trusted ones)
 * binds nothing, however well its answer matches: the query is not
 * remembered and the answer is refused as untrusted; a server trusted
 * later (a reload) binds from then on; with no server trusted nothing
 * binds. */
static void own_resolver_binds_nothing(void **state)
{
	struct dnsbind *b = trusting(dnsbind_new(&cfg), LAB_DNS);
	uint64_t t = 7000;
	struct mb m;
	struct dns_ends q = ends(CLI, 40010, "198.18.9.9", 53),
			a = ends("198.18.9.9", 53, CLI, 40010);
	head(&m, 11, Q, 0, "www.work.example", 1);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, t), DB_UNTRUSTED);
	head(&m, 11, QR, 1, "www.work.example", 1);
	rr_a(&m, NULL, 60, "198.18.2.2");
	assert_int_equal(dnsbind_answer(b, &a, m.b, m.n, t), DB_UNTRUSTED);
	assert_string_equal(told(b, CLI, "198.18.2.2", t, NULL), "");
	/* a zone transfer to it is still refused */
	head(&m, 12, Q, 0, "work.example", 252); /* AXFR */
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, t), DB_XFR);
	/* trusted after a reload: binds */
	trusting(b, "198.18.9.9", "198.18.9.9", NULL, NULL);
	head(&m, 13, Q, 0, "www.work.example", 1);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, t), DB_OK);
	head(&m, 13, QR, 1, "www.work.example", 1);
	rr_a(&m, NULL, 60, "198.18.2.2");
	assert_int_equal(dnsbind_answer(b, &a, m.b, m.n, t), DB_OK);
	assert_string_equal(told(b, CLI, "198.18.2.2", t, NULL),
			    "www.work.example");
	/* the lab's server is no longer trusted: its answers bind nothing */
	struct dns_ends lab = to_cli(CLI, 40011);
	head(&m, 14, QR, 1, "www.work.example", 1);
	rr_a(&m, NULL, 60, "198.18.2.3");
	assert_int_equal(dnsbind_answer(b, &lab, m.b, m.n, t), DB_UNTRUSTED);
	/* none trusted */
	dnsbind_set_trusted(b, NULL, 0);
	head(&m, 15, Q, 0, "www.work.example", 1);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, t), DB_UNTRUSTED);
	struct dnsbind_stats st;
	dnsbind_stats(b, &st);
	assert_int_equal(st.queries_untrusted, 2);
	assert_int_equal(st.answers_untrusted, 2);
	dnsbind_free(b);
}

/* DNS rebinding: an allowed name pointed at private, loopback or the
 * gateway's own addresses is refused (the rest of the answer binds). */
static void rebinding_refused(void **state)
{
	struct dnsbind *b = trusting(dnsbind_new(&cfg), LAB_DNS);
	uint8_t gw[1][16] = {{198, 18, 1, 1}};
	int fam[1] = {AF_INET};
	dnsbind_set_local(b, fam, (const uint8_t(*)[16])gw, 1);
	ask(b, CLI, 40010, 1, "work.example", 0);
	struct mb m;
	head(&m, 1, QR, 5, "work.example", 1);
	rr_a(&m, NULL, 60, "10.1.2.3");
	rr_a(&m, NULL, 60, "127.0.0.1");
	rr_a(&m, NULL, 60, "192.168.1.1");
	rr_a(&m, NULL, 60, "198.18.1.1");
	rr_a(&m, NULL, 60, "198.18.2.70");
	struct dns_ends e = to_cli(CLI, 40010);
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, 1), DB_OK);
	assert_string_equal(told(b, CLI, "10.1.2.3", 2, NULL), "");
	assert_string_equal(told(b, CLI, "198.18.1.1", 2, NULL), "");
	assert_string_equal(told(b, CLI, "198.18.2.70", 2, NULL),
			    "work.example");
	struct dnsbind_stats s;
	dnsbind_stats(b, &s);
	assert_int_equal(s.rebind_refused, 4);
	dnsbind_free(b);
}

/* Malformed messages are refused and counted, bind nothing, and leave the
 * genuine answer its chance. */
static void malformed_refused(void **state)
{
	struct dnsbind *b = trusting(dnsbind_new(&cfg), LAB_DNS);
	struct mb m;
	struct dns_ends e = to_cli(CLI, 40020);
	ask(b, CLI, 40020, 3, "x.example", 0);
	head(&m, 3, QR, 1, "x.example", 1);
	rr_a(&m, NULL, 60, "198.18.2.80");
	/* every truncation of the genuine answer */
	for (size_t l = 0; l < m.n; l++)
		assert_int_equal(dnsbind_answer(b, &e, m.b, l, 1),
				 DB_MALFORMED);
	/* an owner that points at itself (a loop), and forwards */
	struct mb bad = m;
	size_t owner = 12 + 11 + 4; /* after the question */
	bad.b[owner] = 0xc0;
	bad.b[owner + 1] = (uint8_t)owner;
	assert_int_equal(dnsbind_answer(b, &e, bad.b, bad.n, 1), DB_MALFORMED);
	bad.b[owner + 1] = (uint8_t)(owner + 4);
	assert_int_equal(dnsbind_answer(b, &e, bad.b, bad.n, 1), DB_MALFORMED);
	/* extended label types, two questions */
	bad = m;
	bad.b[12] = 0x41;
	assert_int_equal(dnsbind_answer(b, &e, bad.b, bad.n, 1), DB_MALFORMED);
	bad = m;
	bad.b[5] = 2;
	assert_int_equal(dnsbind_answer(b, &e, bad.b, bad.n, 1), DB_MALFORMED);
	/* bytes after the last record, a record fewer than counted */
	bad = m;
	u8(&bad, 0);
	assert_int_equal(dnsbind_answer(b, &e, bad.b, bad.n, 1), DB_MALFORMED);
	bad = m;
	bad.b[11] = 1; /* ARCOUNT 1, no additional record */
	assert_int_equal(dnsbind_answer(b, &e, bad.b, bad.n, 1), DB_MALFORMED);
	/* the genuine answer still binds */
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, 1), DB_OK);
	assert_string_equal(told(b, CLI, "198.18.2.80", 2, NULL), "x.example");

	/* names: a label of 64, a name over 255 bytes, a bad character */
	char name64[80], long_name[300], bad_char[] = "a b.example";
	memset(name64, 'a', 64);
	strcpy(name64 + 64, ".example");
	long_name[0] = '\0';
	for (int i = 0; i < 26; i++)
		strcat(long_name, "abcdefghi.");
	strcat(long_name, "example");
	const char *bad_names[] = {long_name, bad_char};
	struct dns_ends q = to_srv(CLI, 40021);
	head(&m, 4, Q, 0, "ok.example", 1);
	m.b[12] = 64; /* the first label claims 64 bytes */
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_MALFORMED);
	(void)name64;
	for (int i = 0; i < 2; i++) {
		head(&m, 4, Q, 0, bad_names[i], 1);
		assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1),
				 DB_MALFORMED);
	}
	/* a query with bytes after its question (junk, or a record it does
	 * not count), then with an EDNS OPT record it counts (RFC 6891) */
	head(&m, 4, Q, 0, "ok.example", 1);
	struct mb opt = m;
	u32(&m, 0x58585858u);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_MALFORMED);
	u8(&opt, 0);	    /* owner: the root */
	u16(&opt, 41);	    /* OPT */
	u16(&opt, 1232);    /* the UDP payload size */
	u32(&opt, 0);	    /* extended RCODE, version, flags */
	u16(&opt, 0);	    /* no options */
	m = opt;
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_MALFORMED);
	m.b[11] = 1; /* ARCOUNT 1 */
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_OK);
	/* a zone transfer is refused */
	head(&m, 5, Q, 0, "example", 252);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_XFR);
	head(&m, 5, Q, 0, "example", 251);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_XFR);
	struct dnsbind_stats s;
	dnsbind_stats(b, &s);
	assert_int_equal(s.queries_malformed, 5);
	assert_int_equal(s.queries_xfr, 2);
	dnsbind_free(b);
}

/* TC and error answers consume the query and bind nothing; records in any
 * order; a CNAME loop ends; a chain past the bound makes names partial. */
static void answers_and_chains(void **state)
{
	struct dnsbind *b = trusting(dnsbind_new(&cfg), LAB_DNS);
	struct mb m;
	struct dns_ends e = to_cli(CLI, 40030);
	ask(b, CLI, 40030, 1, "tc.example", 0);
	head(&m, 1, QR | 0x0200, 0, "tc.example", 1);
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, 1), DB_NOT_BOUND);
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, 1), DB_UNMATCHED);
	ask(b, CLI, 40030, 2, "nx.example", 0);
	head(&m, 2, QR | 3, 0, "nx.example", 1);
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, 1), DB_NOT_BOUND);

	/* out of order: the address first, then the aliases; and a loop */
	ask(b, CLI, 40030, 3, "a.example", 0);
	head(&m, 3, QR, 4, "a.example", 1);
	rr_a(&m, "c.example", 30, "198.18.2.90");
	rr_cname(&m, "b.example", 30, "c.example");
	rr_cname(&m, NULL, 30, "b.example");
	rr_cname(&m, "c.example", 30, "a.example");
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, 1), DB_OK);
	bool partial = true;
	assert_string_equal(told(b, CLI, "198.18.2.90", 2, &partial),
			    "a.example b.example c.example");
	assert_false(partial);

	/* a chain of 10 aliases: the first 8 names bind, partial */
	ask(b, CLI, 40030, 4, "n0.example", 0);
	head(&m, 4, QR, 10, "n0.example", 1);
	char o[32], t2[32];
	for (int i = 0; i < 9; i++) {
		snprintf(o, sizeof(o), "n%d.example", i);
		snprintf(t2, sizeof(t2), "n%d.example", i + 1);
		rr_cname(&m, o, 30, t2);
	}
	rr_a(&m, "n7.example", 30, "198.18.2.91");
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, 1), DB_OK);
	const char *names = told(b, CLI, "198.18.2.91", 2, &partial);
	assert_non_null(strstr(names, "n0.example"));
	assert_non_null(strstr(names, "n7.example"));
	assert_null(strstr(names, "n8.example"));
	assert_true(partial);
	dnsbind_free(b);
}

/* Round-robin: 40 addresses all bind; a full table stops work and makes
 * the client's names partial (unknown), never just absent. */
static void bounds_are_partial(void **state)
{
	struct dnsbind_cfg small = cfg;
	small.max_bindings = 16;
	small.max_queries = 2;
	struct dnsbind *b = trusting(dnsbind_new(&cfg), LAB_DNS), *s = trusting(dnsbind_new(&small), LAB_DNS);
	struct mb m;
	char ip[32];
	head(&m, 9, QR, 40, "rr40.example", 1);
	for (int i = 1; i <= 40; i++) {
		snprintf(ip, sizeof(ip), "198.18.12.%d", i);
		rr_a(&m, NULL, 60, ip);
	}
	struct dns_ends e = to_cli(CLI, 40040);
	ask(b, CLI, 40040, 9, "rr40.example", 0);
	ask(s, CLI, 40040, 9, "rr40.example", 0);
	assert_int_equal(dnsbind_answer(b, &e, m.b, m.n, 1), DB_OK);
	assert_int_equal(dnsbind_answer(s, &e, m.b, m.n, 1), DB_OK);
	bool partial = true;
	assert_string_equal(told(b, CLI, "198.18.12.40", 2, &partial),
			    "rr40.example");
	assert_false(partial);
	assert_string_equal(told(s, CLI, "198.18.12.40", 2, &partial), "");
	assert_true(partial); /* dropped by the bound: unknown */
	assert_string_equal(told(s, CLI, "198.18.12.1", 2, &partial),
			    "rr40.example");
	/* another client is not affected */
	assert_string_equal(told(s, CLI2, "198.18.12.40", 2, &partial), "");
	assert_false(partial);
	/* the query table: 2 outstanding, the third refused */
	ask(s, CLI, 1, 1, "q1.example", 3);
	ask(s, CLI, 2, 2, "q2.example", 3);
	struct dns_ends q = to_srv(CLI, 3);
	head(&m, 3, Q, 0, "q3.example", 1);
	assert_int_equal(dnsbind_query(s, &q, m.b, m.n, 3), DB_FULL);
	/* the partial mark ends when what was dropped would have expired */
	assert_true(told(s, CLI, "198.18.12.40", 70000, &partial) && partial);
	dnsbind_expire(s, 70002);
	told(s, CLI, "198.18.12.40", 70002, &partial);
	assert_false(partial);
	dnsbind_free(b);
	dnsbind_free(s);
}

/* The bounds count a source as the decision slots do: two addresses of
 * one IPv6 /64 share them (one host cannot multiply them with its
 * subnet's addresses), another /64 has its own; and the totals bound all
 * sources together. */
static void bounds_per_source_prefix(void **state)
{
	(void)state;
	struct dnsbind_cfg c = cfg;
	c.max_queries = 2;
	c.prefix_v6 = 64;
	c.max_queries_total = 3;
	struct dnsbind *b = trusting(dnsbind_new(&c), LAB_DNS);
	struct mb m;
	const char *from[] = {"2001:db8:1::10", "2001:db8:1::11",
			      "2001:db8:1::12", "2001:db8:2::10",
			      "2001:db8:3::10"};
	enum dnsbind_res want[] = {DB_OK, DB_OK, DB_FULL, DB_OK, DB_FULL};
	for (int i = 0; i < 5; i++) {
		struct dns_ends e = {.family = AF_INET6, .sport = 1000,
				     .dport = 53};
		inet_pton(AF_INET6, from[i], e.src);
		inet_pton(AF_INET6, "2001:db8:3::53", e.dst);
		head(&m, (uint16_t)(10 + i), Q, 0, "q.example", 28);
		enum dnsbind_res r = dnsbind_query(b, &e, m.b, m.n, 1);
		if (r != want[i])
			fail_msg("query %d from %s: %d, want %d", i, from[i], r,
				 want[i]);
	}
	/* the third of the first /64 by its bound, the last by the total */
	struct dnsbind_stats st;
	dnsbind_stats(b, &st);
	assert_int_equal(st.queries_pending, 3);
	assert_int_equal(st.queries_full, 2);
	/* the first /64 is partial (a query past its bound); a new cut on
	 * reload keeps every client partial until that mark is over */
	uint8_t cli[16], dst[16] = {198, 18, 2, 1};
	inet_pton(AF_INET6, "2001:db8:1::10", cli);
	const char *names[2];
	bool partial = false;
	dnsbind_names(b, AF_INET6, cli, dst, 2, names, 2, &partial);
	assert_true(partial);
	c.prefix_v6 = 128;
	dnsbind_configure(b, &c);
	partial = false;
	dnsbind_names(b, AF_INET6, cli, dst, 2, names, 2, &partial);
	assert_true(partial);
	inet_pton(AF_INET6, "2001:db8:2::10", cli);
	dnsbind_names(b, AF_INET6, cli, dst, 2, names, 2, &partial);
	assert_true(partial);
	dnsbind_names(b, AF_INET6, cli, dst, 1 + c.query_timeout_ms, names, 2,
		      &partial);
	assert_false(partial);
	dnsbind_free(b);
}


/* attack89: legitimate answers with records beyond the answer section */
static void rr_raw(struct mb *m, const char *owner, unsigned type,
		   const uint8_t *rd, size_t rdlen)
{
	name(m, owner);
	u16(m, type);
	u16(m, type == 41 ? 1232 : 1);
	u32(m, 300);
	u16(m, (unsigned)rdlen);
	memcpy(m->b + m->n, rd, rdlen);
	m->n += rdlen;
}
static void a89_legit(void **state)
{
	(void)state;
	struct dnsbind *b = trusting(dnsbind_new(&cfg), LAB_DNS);
	struct mb m;
	struct dns_ends q = to_srv(CLI, 40001), a = to_cli(CLI, 40001);
	uint8_t rd[64] = {0};
	/* 1: unicast DNS-SD browse: PTR answer, SRV of the instance in the
	 * additional section (RFC 6763 12.1); instance name has a space */
	head(&m, 1, Q, 0, "_ipp._tcp.example.com", 12);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_OK);
	head(&m, 1, QR, 1, "_ipp._tcp.example.com", 12);
	m.b[11] = 1;
	{
		struct mb t = {.n = 0};
		name(&t, "Office Printer._ipp._tcp.example.com");
		rr_raw(&m, "_ipp._tcp.example.com", 12, t.b, t.n);
	}
	{
		struct mb t = {.n = 0};
		u16(&t, 0); u16(&t, 0); u16(&t, 631);
		name(&t, "printer.example.com");
		rr_raw(&m, "Office Printer._ipp._tcp.example.com", 33, t.b, t.n);
	}
	assert_int_equal(dnsbind_answer(b, &a, m.b, m.n, 2), DB_NOT_BOUND);
	/* 2: DNSSEC NODATA from a wildcard: NSEC owned by *.example.com in
	 * the authority section (RFC 4035 3.1.3.4) */
	head(&m, 2, Q, 0, "foo.example.com", 28);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_OK);
	head(&m, 2, QR, 0, "foo.example.com", 28);
	m.b[9] = 1;
	rd[0] = 3; memcpy(rd + 1, "zzz", 3); rd[4] = 0; /* next: zzz. */
	rd[5] = 0; rd[6] = 1; rd[7] = 0x40; /* bitmap: A */
	rr_raw(&m, "*.example.com", 47, rd, 8);
	assert_int_equal(dnsbind_answer(b, &a, m.b, m.n, 2), DB_OK);
	/* 3: RFC 2317 classless reverse: authority NS owned by 0/25.2.0.192... */
	head(&m, 3, Q, 0, "example.com", 1);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_OK);
	head(&m, 3, QR, 1, "example.com", 1);
	rr_a(&m, NULL, 60, "192.0.2.7");
	m.b[9] = 1;
	{
		struct mb t = {.n = 0};
		name(&t, "ns.example.com");
		rr_raw(&m, "0/25.2.0.192.in-addr.arpa", 2, t.b, t.n);
	}
	assert_int_equal(dnsbind_answer(b, &a, m.b, m.n, 2), DB_OK);
	/* 4: OPT with a cookie and padding, TSIG: fine */
	head(&m, 4, Q, 0, "example.com", 1);
	m.b[11] = 1;
	u8(&m, 0); u16(&m, 41); u16(&m, 1232); u32(&m, 0);
	u16(&m, 4 + 8 + 4 + 20); u16(&m, 10); u16(&m, 8); u32(&m, 1); u32(&m, 2);
	u16(&m, 12); u16(&m, 20); for (int i = 0; i < 20; i++) u8(&m, 0);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_OK);
	/* 5: junk as a counted record: a query carrying a NULL record */
	head(&m, 5, Q, 0, "example.com", 1);
	m.b[11] = 1;
	memset(rd, 'J', sizeof(rd));
	rr_raw(&m, "x", 10, rd, sizeof(rd));
	print_message("query with a junk NULL record: %d\n", dnsbind_query(b, &q, m.b, m.n, 1));
	/* 6: TC answer with junk after the question */
	q = to_srv(CLI2, 40001); a = to_cli(CLI2, 40001);
	head(&m, 6, Q, 0, "tc.example.com", 1);
	assert_int_equal(dnsbind_query(b, &q, m.b, m.n, 1), DB_OK);
	head(&m, 6, QR | 0x200, 0, "tc.example.com", 1);
	memcpy(m.b + m.n, rd, sizeof(rd)); m.n += sizeof(rd);
	print_message("TC answer + junk: %d\n", dnsbind_answer(b, &a, m.b, m.n, 2));
	/* 7: junk answer from an untrusted source / unmatched: result */
	head(&m, 7, QR, 0, "nq.example.com", 1);
	memcpy(m.b + m.n, rd, sizeof(rd)); m.n += sizeof(rd);
	print_message("unmatched answer + junk: %d\n", dnsbind_answer(b, &a, m.b, m.n, 2));
	dnsbind_free(b);
}

/* attack89: a query whose records' owners each follow a long chain of
 * compression pointers: the cost of sections_whole */
static struct mb big;
static void a89_pointer_chain(void **state)
{
	(void)state;
	struct dnsbind *b = trusting(dnsbind_new(&cfg), LAB_DNS);
	struct dns_ends q = to_srv("198.18.1.9", 40009);
	struct mb *m = &big;
	head(m, 9, Q, 0, "a.example", 1);   /* name at 12 */
	unsigned K = 16000, R = 0;
	m->b[7] = 0; /* ancount 0 */
	/* record 1: owner root, type NULL, rdata = the pointer chain */
	u8(m, 0); u16(m, 10); u16(m, 1); u32(m, 0); u16(m, 2 * K);
	size_t c0 = m->n;
	for (unsigned i = 0; i < K; i++) {
		size_t to = i ? c0 + 2 * (i - 1) : 12;
		u8(m, 0xc0 | (unsigned)(to >> 8));
		u8(m, to & 0xff);
	}
	size_t last = c0 + 2 * (K - 1);
	while (m->n + 12 <= 65535 - 0 && m->n + 12 <= sizeof(big.b)) {
		u8(m, 0xc0 | (unsigned)(last >> 8)); u8(m, last & 0xff);
		u16(m, 10); u16(m, 1); u32(m, 0); u16(m, 0);
		R++;
	}
	unsigned n = 1 + R;
	m->b[10] = (uint8_t)(n >> 8); m->b[11] = (uint8_t)n;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	enum dnsbind_res r = dnsbind_query(b, &q, m->b, m->n, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("pointer-chain query: %zu bytes, K=%u R=%u: res %d in %.1f ms\n",
		      m->n, K, R, r, ms);
	assert_true(ms < 5.0);
	dnsbind_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bounds_per_source_prefix),
	    cmocka_unit_test(binds_per_client),
	    cmocka_unit_test(only_trusted_answers),
	    cmocka_unit_test(own_resolver_binds_nothing),
	    cmocka_unit_test(rebinding_refused),
	    cmocka_unit_test(malformed_refused),
	    cmocka_unit_test(answers_and_chains),
	    cmocka_unit_test(bounds_are_partial),
	    cmocka_unit_test(a89_legit),
	    cmocka_unit_test(a89_pointer_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
