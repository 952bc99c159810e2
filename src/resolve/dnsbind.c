/*
 * dnsbind.c — see dnsbind.h.
 *
 * Three tables, each a common/htable.h over a fixed-size key (seeded per
 * process, so remote parties cannot aim at one bucket): clients
 * (their counts and partial marks), outstanding queries (client, server,
 * ports, id), and bindings (client, address → up to DNSBIND_MAX_NAMES names
 * with their own expiry). Queries age out in arrival order (one list, one
 * timeout); bindings are swept by dnsbind_expire() and skipped when met
 * expired.
 */
#include "resolve/dnsbind.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "common/bytes.h"
#include "common/htable.h"
#include "common/util.h"

/* ---- the tables ------------------------------------------------------------- */

struct ckey {
	uint8_t family, a[16];
};
struct qkey {
	uint8_t family, cli[16], srv[16], cport[2], sport[2], id[2];
};
struct bkey {
	uint8_t family, cli[16], dst[16];
};

struct client {
	struct htable_node hn;
	struct ckey k;
	uint32_t nqueries, nbindings;
	uint64_t partial_until; /* a bound dropped work until then */
};

struct query {
	struct htable_node hn;
	struct qkey k;
	TAILQ_ENTRY(query) age;
	struct client *c;
	uint64_t expires;
	uint16_t qtype;
	char qname[DNSBIND_NAME_MAX + 1];
};

struct bname {
	char *name;
	uint64_t expires;
};

struct binding {
	struct htable_node hn;
	struct bkey k;
	TAILQ_ENTRY(binding) all;
	struct client *c;
	int n;
	struct bname v[DNSBIND_MAX_NAMES];
};

struct dnsbind {
	struct dnsbind_cfg cfg;
	struct htable clients, queries, binds; /* by ckey, qkey, bkey */
	TAILQ_HEAD(, query) qage;
	TAILQ_HEAD(, binding) ball;
	int *lfam;
	uint8_t (*laddr)[16];
	size_t nlocal;
	struct dnsbind_range *trusted; /* dnsbind_set_trusted */
	size_t ntrusted;
	struct dnsbind_stats st;
	uint64_t partial_all_until; /* every client partial (a re-cut) */
};

static void key_addr(uint8_t out[16], int family, const uint8_t a[16])
{
	memset(out, 0, 16);
	memcpy(out, a, family == AF_INET6 ? 16 : 4);
}

static void put16(uint8_t o[2], uint16_t v)
{
	o[0] = (uint8_t)(v >> 8);
	o[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The tables' hash and equality: KEY's bytes, the entry's k member. */
#define KEY_OPS(name, type, ktype)                                             \
	static uint64_t name##_hash(const struct hash_key *hk,                 \
				    const void *key)                           \
	{                                                                      \
		return hash_bytes_keyed(hk, key, sizeof(ktype));               \
	}                                                                      \
	static bool name##_equal(const struct htable_node *n, const void *key) \
	{                                                                      \
		return memcmp(&HTABLE_ENTRY(n, const type, hn)->k, key,        \
			      sizeof(ktype)) == 0;                             \
	}                                                                      \
	static const struct htable_ops name##_ops = {name##_hash, name##_equal}

KEY_OPS(client, struct client, struct ckey);
KEY_OPS(query, struct query, struct qkey);
KEY_OPS(binding, struct binding, struct bkey);

/* CFG with its zeros made what they mean (dnsbind.h). */
static struct dnsbind_cfg cfg_norm(const struct dnsbind_cfg *cfg)
{
	struct dnsbind_cfg c = *cfg;
	if (!c.max_ttl_s)
		c.max_ttl_s = 86400;
	if (!c.max_queries_total)
		c.max_queries_total = UINT32_MAX;
	if (!c.max_bindings_total)
		c.max_bindings_total = UINT32_MAX;
	return c;
}

struct dnsbind *dnsbind_new(const struct dnsbind_cfg *cfg)
{
	struct dnsbind *b = xcalloc(1, sizeof(*b));
	b->cfg = cfg_norm(cfg);
	htable_init(&b->clients, &client_ops, 0);
	htable_init(&b->queries, &query_ops, 0);
	htable_init(&b->binds, &binding_ops, 0);
	TAILQ_INIT(&b->qage);
	TAILQ_INIT(&b->ball);
	return b;
}

void dnsbind_configure(struct dnsbind *b, const struct dnsbind_cfg *cfg)
{
	struct dnsbind_cfg c = cfg_norm(cfg);
	if (c.prefix_v4 != b->cfg.prefix_v4 || c.prefix_v6 != b->cfg.prefix_v6) {
		/* sources are cut anew: a partial mark kept under the old
		 * cut would not be found, so until the last one is over
		 * every client's names are partial (unknown, never absent) */
		struct htable_iter it;
		for (struct htable_node *n = htable_first(&b->clients, &it); n;
		     n = htable_next(&it)) {
			const struct client *cl =
			    HTABLE_ENTRY(n, const struct client, hn);
			if (cl->partial_until > b->partial_all_until)
				b->partial_all_until = cl->partial_until;
		}
	}
	b->cfg = c;
}

/* The client entry of (FAMILY, A) cut to the configured source prefix
 * (cfg prefix_v4/v6: the caps count a source as the decision slots do,
 * so the addresses of one IPv6 subnet share them), made when MAKE. */
static struct client *client_get(struct dnsbind *b, int family,
				 const uint8_t a[16], bool make)
{
	struct ckey k = {.family = (uint8_t)family};
	key_addr(k.a, family, a);
	unsigned full = family == AF_INET6 ? 128 : 32;
	unsigned plen = family == AF_INET6 ? b->cfg.prefix_v6 : b->cfg.prefix_v4;
	prefix_cut(k.a, k.a, plen && plen < full ? plen : full);
	uint64_t h = htable_hash(&b->clients, &k);
	struct client *c = HTABLE_ENTRY(htable_find_hashed(&b->clients, h, &k),
					struct client, hn);
	if (!c && make) {
		c = xcalloc(1, sizeof(*c));
		c->k = k;
		htable_insert_hashed(&b->clients, &c->hn, h);
	}
	return c;
}

/* Frees C when nothing refers to it and its partial mark is over. */
static void client_put(struct dnsbind *b, struct client *c, uint64_t now)
{
	if (c->nqueries || c->nbindings || c->partial_until > now)
		return;
	htable_remove(&b->clients, &c->hn);
	free(c);
}

/* A bound stopped work of C that would have lived until UNTIL. */
static void bounded(struct dnsbind *b, struct client *c, uint64_t until)
{
	b->st.bounded++;
	if (until > c->partial_until)
		c->partial_until = until;
}

static void query_drop(struct dnsbind *b, struct query *q, uint64_t now)
{
	htable_remove(&b->queries, &q->hn);
	TAILQ_REMOVE(&b->qage, q, age);
	b->st.queries_pending--;
	q->c->nqueries--;
	client_put(b, q->c, now);
	free(q);
}

static void binding_drop(struct dnsbind *b, struct binding *x, uint64_t now)
{
	htable_remove(&b->binds, &x->hn);
	TAILQ_REMOVE(&b->ball, x, all);
	b->st.bindings--;
	for (int i = 0; i < x->n; i++)
		free(x->v[i].name);
	x->c->nbindings--;
	client_put(b, x->c, now);
	free(x);
}

void dnsbind_free(struct dnsbind *b)
{
	if (!b)
		return;
	struct query *q;
	struct binding *x;
	while ((q = TAILQ_FIRST(&b->qage)))
		query_drop(b, q, UINT64_MAX);
	while ((x = TAILQ_FIRST(&b->ball)))
		binding_drop(b, x, UINT64_MAX);
	struct htable_iter it; /* clients left: partial marks only */
	for (struct htable_node *n = htable_first(&b->clients, &it); n;
	     n = htable_next(&it)) {
		htable_remove(&b->clients, n);
		free(HTABLE_ENTRY(n, struct client, hn));
	}
	htable_fini(&b->clients);
	htable_fini(&b->queries);
	htable_fini(&b->binds);
	free(b->lfam);
	free(b->laddr);
	free(b->trusted);
	free(b);
}

void dnsbind_set_local(struct dnsbind *b, const int *families,
		       const uint8_t (*addrs)[16], size_t n)
{
	free(b->lfam);
	free(b->laddr);
	b->lfam = n ? xcalloc(n, sizeof(*b->lfam)) : NULL;
	b->laddr = n ? xcalloc(n, sizeof(*b->laddr)) : NULL;
	for (size_t i = 0; i < n; i++) {
		b->lfam[i] = families[i];
		key_addr(b->laddr[i], families[i], addrs[i]);
	}
	b->nlocal = n;
}

void dnsbind_set_trusted(struct dnsbind *b, const struct dnsbind_range *v,
			 size_t n)
{
	free(b->trusted);
	b->trusted = n ? xcalloc(n, sizeof(*b->trusted)) : NULL;
	if (n)
		memcpy(b->trusted, v, n * sizeof(*v));
	b->ntrusted = n;
}

/* True when server (FAMILY, A) is in the trusted list. */
static bool trusted(const struct dnsbind *b, int family, const uint8_t a[16])
{
	uint8_t k[16];
	key_addr(k, family, a);
	for (size_t i = 0; i < b->ntrusted; i++) {
		const struct dnsbind_range *r = &b->trusted[i];
		if (r->family == family && memcmp(k, r->lo, 16) >= 0 &&
		    memcmp(k, r->hi, 16) <= 0)
			return true;
	}
	return false;
}

/* ---- the DNS message parser (RFC 1035 §4.1) ------------------------------- */

int dnsbind_read_name(const uint8_t *msg, size_t len, size_t *off, char *out)
{
	size_t p = *off, o = 0, end = 0, wire = 1, lowest = *off;
	bool jumped = false;
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t l = msg[p];
		if ((l & 0xc0) == 0xc0) { /* a pointer: strictly backwards */
			if (p + 1 >= len)
				return -1;
			size_t t = (size_t)(l & 0x3f) << 8 | msg[p + 1];
			if (t >= lowest)
				return -1;
			if (!jumped)
				end = p + 2;
			jumped = true;
			lowest = p = t;
			continue;
		}
		if (l & 0xc0) /* 0x40, 0x80: extended label types */
			return -1;
		if (l == 0)
			break;
		if (p + 1 + l > len || (wire += 1u + l) > 255)
			return -1;
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			char c = (char)msg[p + 1 + i];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '_'))
				return -1;
			out[o++] = c;
		}
		p += 1u + l;
	}
	out[o] = '\0';
	*off = jumped ? end : p + 1;
	return 0;
}

/* A message's header and its one question. */
struct dhead {
	uint16_t id, flags, qtype, qclass, ancount, nscount, arcount;
	size_t off; /* after the question */
	char qname[DNSBIND_NAME_MAX + 1];
};

#define F_QR 0x8000u
#define F_TC 0x0200u
#define OPCODE(f) (((f) >> 11) & 0xfu)
#define RCODE(f) ((f)&0xfu)
#define T_A 1
#define T_CNAME 5
#define T_AAAA 28
#define T_IXFR 251
#define T_AXFR 252
#define C_IN 1

static int parse_head(const uint8_t *m, size_t len, struct dhead *h)
{
	if (len < 12)
		return -1;
	h->id = get16(m);
	h->flags = get16(m + 2);
	h->ancount = get16(m + 6);
	h->nscount = get16(m + 8);
	h->arcount = get16(m + 10);
	if (get16(m + 4) != 1 || OPCODE(h->flags) != 0)
		return -1; /* one question, a standard QUERY */
	h->off = 12;
	if (dnsbind_read_name(m, len, &h->off, h->qname) < 0 ||
	    !h->qname[0] || h->off + 4 > len)
		return -1;
	h->qtype = get16(m + h->off);
	h->qclass = get16(m + h->off + 2);
	h->off += 4;
	return 0;
}

/* One resource record (RFC 1035 §4.1.3). */
struct rrv {
	uint16_t type, class;
	uint32_t ttl;
	size_t rdoff, rdlen;
	char owner[DNSBIND_NAME_MAX + 1];
};

static int rr_next(const uint8_t *m, size_t len, size_t *off, struct rrv *r)
{
	if (dnsbind_read_name(m, len, off, r->owner) < 0 || *off + 10 > len)
		return -1;
	const uint8_t *p = m + *off;
	r->type = get16(p);
	r->class = get16(p + 2);
	r->ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		 (uint32_t)p[6] << 8 | p[7];
	if (r->ttl > 0x7fffffffu) /* RFC 2181 §8 */
		r->ttl = 0;
	r->rdlen = get16(p + 8);
	r->rdoff = *off + 10;
	if (r->rdoff + r->rdlen > len)
		return -1;
	*off = r->rdoff + r->rdlen;
	return 0;
}

/* Steps *OFF over a name's wire form (RFC 1035 §4.1.4) without reading
 * its characters — any octet is valid in a label (RFC 2181 §11): a
 * DNS-SD instance's space, a wildcard NSEC's '*', RFC 2317's '/' — and
 * without following its pointer: the framing needs only where the name
 * ends, and a pointer must point before itself. Linear in the bytes
 * stepped over (a chain of pointers followed for each of thousands of
 * records would cost a client's 64 KB message tens of milliseconds).
 * -1 when malformed. */
static int skip_name(const uint8_t *m, size_t len, size_t *off)
{
	size_t p = *off, wire = 1;
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t l = m[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len ||
			    ((size_t)(l & 0x3f) << 8 | m[p + 1]) >= p)
				return -1;
			*off = p + 2;
			return 0;
		}
		if (l & 0xc0)
			return -1;
		if (l == 0)
			break;
		if (p + 1 + l > len || (wire += 1u + l) > 255)
			return -1;
		p += 1u + l;
	}
	*off = p + 1;
	return 0;
}

/* True when the records H counts (answer, authority and additional
 * sections, RFC 1035 §4.1) are all framed well (skip_name: their owner
 * names' characters are not judged here) and end exactly at LEN: a
 * message with bytes after its last record, or fewer records than it
 * counts, is not DNS as a server reads it (BIND answers such a query
 * FORMERR), and the DNS filter does not pass it. At most 3 × 65,535
 * records, each at least 11 bytes, so the walk is bounded by LEN. */
static bool sections_whole(const uint8_t *m, size_t len, const struct dhead *h)
{
	size_t off = h->off;
	unsigned n = (unsigned)h->ancount + h->nscount + h->arcount;
	for (unsigned i = 0; i < n; i++) {
		if (skip_name(m, len, &off) < 0 || off + 10 > len)
			return false;
		size_t rdlen = get16(m + off + 8);
		off += 10;
		if (off + rdlen > len)
			return false;
		off += rdlen;
	}
	return off == len;
}

/* ---- queries ----------------------------------------------------------------- */

static void qkey_make(struct qkey *k, int family, const uint8_t cli[16],
		      uint16_t cport, const uint8_t srv[16], uint16_t sport,
		      uint16_t id)
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)family;
	key_addr(k->cli, family, cli);
	key_addr(k->srv, family, srv);
	put16(k->cport, cport);
	put16(k->sport, sport);
	put16(k->id, id);
}

enum dnsbind_res dnsbind_query(struct dnsbind *b, const struct dns_ends *e,
			       const uint8_t *msg, size_t len, uint64_t now)
{
	struct dhead h;
	b->st.queries++;
	if (parse_head(msg, len, &h) < 0 || (h.flags & F_QR) ||
	    !sections_whole(msg, len, &h)) {
		b->st.queries_malformed++;
		return DB_MALFORMED;
	}
	if (h.qtype == T_AXFR || h.qtype == T_IXFR) {
		b->st.queries_xfr++;
		return DB_XFR;
	}
	if (!trusted(b, e->family, e->dst)) { /* its answer will bind nothing */
		b->st.queries_untrusted++;
		return DB_UNTRUSTED;
	}
	struct qkey k;
	qkey_make(&k, e->family, e->src, e->sport, e->dst, e->dport, h.id);
	uint64_t hq = htable_hash(&b->queries, &k);
	struct query *q = HTABLE_ENTRY(htable_find_hashed(&b->queries, hq, &k),
				       struct query, hn);
	if (q) { /* a retransmission, or the id used again: the latest */
		TAILQ_REMOVE(&b->qage, q, age);
	} else {
		struct client *c = client_get(b, e->family, e->src, true);
		if (c->nqueries >= b->cfg.max_queries ||
		    b->st.queries_pending >= b->cfg.max_queries_total) {
			b->st.queries_full++;
			bounded(b, c, now + b->cfg.query_timeout_ms);
			return DB_FULL;
		}
		q = xcalloc(1, sizeof(*q));
		q->k = k;
		q->c = c;
		c->nqueries++;
		htable_insert_hashed(&b->queries, &q->hn, hq);
		b->st.queries_pending++;
	}
	q->qtype = h.qclass == C_IN ? h.qtype : 0; /* other classes bind nothing */
	memcpy(q->qname, h.qname, sizeof(q->qname));
	q->expires = now + b->cfg.query_timeout_ms;
	TAILQ_INSERT_TAIL(&b->qage, q, age);
	return DB_OK;
}

/* ---- answers ------------------------------------------------------------------ */

/* True when (FAMILY, A) must not be an answer (DNS rebinding): loopback,
 * private, link-local, CGNAT, unspecified, multicast, reserved, or one of
 * the gateway's own addresses. */
static bool refused_addr(const struct dnsbind *b, int family,
			 const uint8_t a[16])
{
	uint8_t k[16];
	key_addr(k, family, a);
	for (size_t i = 0; i < b->nlocal; i++)
		if (b->lfam[i] == family && !memcmp(b->laddr[i], k, 16))
			return true;
	const uint8_t *v4 = a;
	if (family == AF_INET6) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0,
						   0, 0, 0, 0, 0xff, 0xff};
		static const uint8_t zero[15] = {0};
		if (!memcmp(a, zero, 15) && a[15] <= 1)
			return true; /* :: and ::1 */
		if ((a[0] & 0xfe) == 0xfc || a[0] == 0xff ||
		    (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
			return true; /* fc00::/7, ff00::/8, fe80::/10 */
		if (memcmp(a, mapped, 12))
			return false;
		v4 = a + 12;
	}
	return v4[0] == 0 || v4[0] == 10 || v4[0] == 127 || v4[0] >= 224 ||
	       (v4[0] == 100 && (v4[1] & 0xc0) == 64) ||
	       (v4[0] == 169 && v4[1] == 254) ||
	       (v4[0] == 172 && (v4[1] & 0xf0) == 16) ||
	       (v4[0] == 192 && v4[1] == 168);
}

/* Binds (CLI, FAMILY ADDR) to NAMES[0..N) until EXPIRES; CLI is the
 * client's own address (key_addr form), C its source's entry (the caps). */
static void bind_addr(struct dnsbind *b, struct client *c,
		      const uint8_t cli[16], int family, const uint8_t addr[16],
		      char (*names)[DNSBIND_NAME_MAX + 1], int n,
		      uint64_t expires)
{
	struct bkey k = {.family = (uint8_t)family};
	memcpy(k.cli, cli, 16);
	key_addr(k.dst, family, addr);
	uint64_t h = htable_hash(&b->binds, &k);
	struct binding *x = HTABLE_ENTRY(htable_find_hashed(&b->binds, h, &k),
					 struct binding, hn);
	if (!x) {
		if (c->nbindings >= b->cfg.max_bindings ||
		    b->st.bindings >= b->cfg.max_bindings_total) {
			bounded(b, c, expires);
			return;
		}
		x = xcalloc(1, sizeof(*x));
		x->k = k;
		x->c = c;
		c->nbindings++;
		htable_insert_hashed(&b->binds, &x->hn, h);
		TAILQ_INSERT_TAIL(&b->ball, x, all);
		b->st.bindings++;
	}
	for (int i = 0; i < n; i++) {
		int j = 0;
		while (j < x->n && strcmp(x->v[j].name, names[i]))
			j++;
		if (j == x->n) {
			if (x->n == DNSBIND_MAX_NAMES) {
				bounded(b, c, expires);
				continue;
			}
			x->v[x->n++].name = xstrdup(names[i]);
		}
		if (expires > x->v[j].expires)
			x->v[j].expires = expires;
		b->st.bound++;
	}
}

/* Is NAME one of CHAIN[0..N)? */
static bool in_chain(char (*chain)[DNSBIND_NAME_MAX + 1], int n,
		     const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(chain[i], name))
			return true;
	return false;
}

/*
 * Follows the CNAMEs of the answer section (at H->off, H->ancount records)
 * from CHAIN[0]: adds every alias target to CHAIN (at most
 * DNSBIND_MAX_CHAIN names; *CUT when there were more) and lowers *TTL to
 * the smallest CNAME TTL used. Records may come in any order. Returns the
 * chain length, or -1 when the section is malformed.
 */
static int follow_chain(const uint8_t *m, size_t len, const struct dhead *h,
			char (*chain)[DNSBIND_NAME_MAX + 1], uint32_t *ttl,
			bool *cut)
{
	int n = 1;
	bool grew = true;
	while (grew) {
		grew = false;
		size_t off = h->off;
		for (unsigned i = 0; i < h->ancount; i++) {
			struct rrv r;
			char target[DNSBIND_NAME_MAX + 1];
			if (rr_next(m, len, &off, &r) < 0)
				return -1;
			if (r.type != T_CNAME || r.class != C_IN ||
			    !in_chain(chain, n, r.owner))
				continue;
			size_t t = r.rdoff;
			if (dnsbind_read_name(m, len, &t, target) < 0 ||
			    t != r.rdoff + r.rdlen || !target[0])
				return -1;
			if (in_chain(chain, n, target))
				continue; /* a loop, or seen: nothing new */
			if (n == DNSBIND_MAX_CHAIN) {
				*cut = true;
				continue;
			}
			memcpy(chain[n++], target, sizeof(chain[0]));
			if (r.ttl < *ttl)
				*ttl = r.ttl;
			grew = true;
		}
	}
	return n;
}

enum dnsbind_res dnsbind_answer(struct dnsbind *b, const struct dns_ends *e,
				const uint8_t *msg, size_t len, uint64_t now)
{
	struct dhead h;
	b->st.answers++;
	/* a truncated (TC) answer is let through as it is: it binds nothing,
	 * and the client needs its TC bit to ask again over TCP */
	if (parse_head(msg, len, &h) < 0 || !(h.flags & F_QR) ||
	    (!(h.flags & F_TC) && !sections_whole(msg, len, &h))) {
		b->st.answers_malformed++;
		return DB_MALFORMED;
	}
	if (!trusted(b, e->family, e->src)) {
		b->st.answers_untrusted++;
		return DB_UNTRUSTED;
	}
	/* the answer travels server → client */
	struct qkey k;
	qkey_make(&k, e->family, e->dst, e->dport, e->src, e->sport, h.id);
	struct query *q =
	    HTABLE_ENTRY(htable_find(&b->queries, &k), struct query, hn);
	if (!q || q->expires <= now || strcmp(q->qname, h.qname) ||
	    (q->qtype && q->qtype != h.qtype) || h.qclass != C_IN) {
		b->st.answers_unmatched++;
		return DB_UNMATCHED;
	}
	/* the whole answer section is read (and checked) before the query
	 * is consumed: a malformed answer leaves the genuine one its chance */
	char chain[DNSBIND_MAX_CHAIN][DNSBIND_NAME_MAX + 1];
	uint32_t ttl = UINT32_MAX;
	bool cut = false;
	memcpy(chain[0], h.qname, sizeof(chain[0]));
	int n = follow_chain(msg, len, &h, chain, &ttl, &cut);
	if (n < 0) {
		b->st.answers_malformed++;
		return DB_MALFORMED;
	}
	struct client *c = q->c;
	uint16_t qtype = q->qtype;
	uint8_t cli[16];
	memcpy(cli, q->k.cli, sizeof(cli));
	c->nqueries++; /* hold C past the query */
	query_drop(b, q, now);
	enum dnsbind_res res = DB_OK;
	if ((h.flags & F_TC) || RCODE(h.flags) != 0 ||
	    (qtype != T_A && qtype != T_AAAA)) {
		b->st.answers_not_bound++;
		res = DB_NOT_BOUND;
		goto out;
	}
	int family = qtype == T_A ? AF_INET : AF_INET6;
	size_t alen = qtype == T_A ? 4 : 16;
	uint64_t longest = now;
	size_t off = h.off;
	for (unsigned i = 0; i < h.ancount; i++) {
		struct rrv r;
		if (rr_next(msg, len, &off, &r) < 0) /* checked above */
			break;
		if (r.type != qtype || r.class != C_IN || r.rdlen != alen ||
		    !in_chain(chain, n, r.owner))
			continue;
		uint8_t addr[16] = {0};
		memcpy(addr, msg + r.rdoff, alen);
		if (b->cfg.refuse_private && refused_addr(b, family, addr)) {
			b->st.rebind_refused++;
			continue;
		}
		uint32_t t = r.ttl < ttl ? r.ttl : ttl;
		if (t > b->cfg.max_ttl_s)
			t = b->cfg.max_ttl_s;
		uint64_t exp = now + ((uint64_t)t + b->cfg.grace_s) * 1000u;
		if (exp > longest)
			longest = exp;
		bind_addr(b, c, cli, family, addr, chain, n, exp);
	}
	if (cut) /* aliases past the chain bound stay unknown */
		bounded(b, c, longest);
out:
	c->nqueries--;
	client_put(b, c, now);
	return res;
}

size_t dnsbind_names(struct dnsbind *b, int family, const uint8_t client[16],
		     const uint8_t addr[16], uint64_t now, const char **names,
		     size_t max, bool *partial)
{
	struct bkey k = {.family = (uint8_t)family};
	key_addr(k.cli, family, client);
	key_addr(k.dst, family, addr);
	struct client *c = client_get(b, family, client, false);
	if (partial)
		*partial = (c && c->partial_until > now) ||
			   b->partial_all_until > now;
	struct binding *x =
	    HTABLE_ENTRY(htable_find(&b->binds, &k), struct binding, hn);
	size_t n = 0;
	for (int i = 0; x && i < x->n; i++) {
		if (x->v[i].expires <= now)
			continue;
		if (n < max)
			names[n] = x->v[i].name;
		n++;
	}
	return n;
}

void dnsbind_expire(struct dnsbind *b, uint64_t now)
{
	struct query *q;
	while ((q = TAILQ_FIRST(&b->qage)) && q->expires <= now)
		query_drop(b, q, now);
	struct binding *x, *next;
	for (x = TAILQ_FIRST(&b->ball); x; x = next) {
		next = TAILQ_NEXT(x, all);
		int j = 0;
		for (int i = 0; i < x->n; i++) {
			if (x->v[i].expires <= now)
				free(x->v[i].name);
			else
				x->v[j++] = x->v[i];
		}
		x->n = j;
		if (j == 0)
			binding_drop(b, x, now);
	}
	/* clients held only by a partial mark that is over */
	struct htable_iter it;
	for (struct htable_node *n = htable_first(&b->clients, &it); n;
	     n = htable_next(&it))
		client_put(b, HTABLE_ENTRY(n, struct client, hn), now);
}

void dnsbind_stats(const struct dnsbind *b, struct dnsbind_stats *out)
{
	*out = b->st;
}
