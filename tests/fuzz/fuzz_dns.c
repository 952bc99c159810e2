/*
 * fuzz_dns.c — libFuzzer harness for the DNS filter's message parser and
 * bookkeeping (src/resolve/dnsbind.c). Any bytes, as a query and as the
 * answer to it (the question of the input itself is asked first, so the
 * answer paths past matching are reached), must be refused or bound —
 * never a read past the end, a crash, a leak or undefined behaviour — and
 * whatever binds must come back from dnsbind_names() as sane names.
 *
 * The input is also a DNS-over-TCP stream (src/resolve/dnstcp.c): its
 * first byte picks where it is cut into segments and how they are sent
 * (repeated, swapped, one left out and sent later), the rest is the
 * stream. The messages put together must be those the whole stream in one
 * segment gives, in order (a prefix of them when a cap stops the work):
 * never another message; the caps hold; every message goes to the
 * bindings as the DNS filter shows it.
 */
#include "resolve/dnsbind.h"
#include "resolve/dnstcp.h"
#include "../resolve/dnsbind_trust.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_names(struct dnsbind *b, const struct dns_ends *q,
			const uint8_t *addr)
{
	const char *v[DNSBIND_MAX_NAMES + 1];
	bool partial;
	size_t n = dnsbind_names(b, q->family, q->src, addr, 1, v,
				 DNSBIND_MAX_NAMES + 1, &partial);
	if (n > DNSBIND_MAX_NAMES)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]);
		if (l == 0 || l > DNSBIND_NAME_MAX)
			abort();
		for (size_t k = 0; k < l; k++) {
			char c = v[i][k];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '_' || c == '.'))
				abort();
		}
	}
}

#define MAX_MSGS 256
#define MAX_SEGS 32

struct heard { /* the messages a table handed over, by hash */
	struct dnsbind *b;
	size_t n;
	uint64_t h[MAX_MSGS];
};

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ n;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static const struct dns_ends CLIENT = {.family = AF_INET, .sport = 40000,
				       .dport = 53, .src = {198, 18, 1, 2},
				       .dst = {198, 18, 3, 2}};
static const struct dns_ends SERVER = {.family = AF_INET, .sport = 53,
				       .dport = 40000, .src = {198, 18, 3, 2},
				       .dst = {198, 18, 1, 2}};

static bool heard(void *arg, const struct dns_ends *e, const uint8_t *m,
		  size_t len)
{
	struct heard *h = arg;
	(void)e;
	if (h->n < MAX_MSGS)
		h->h[h->n] = fnv(m, len);
	h->n++;
	if (len >= 12 && (m[2] & 0x80))
		return dnsbind_answer(h->b, &SERVER, m, len, 0) != DB_MALFORMED;
	return dnsbind_query(h->b, &CLIENT, m, len, 0) != DB_MALFORMED;
}

static void check_caps(const struct dnstcp *t, const struct dnstcp_cfg *c)
{
	struct dnstcp_stats st;
	dnstcp_stats(t, &st);
	if (st.bytes > c->total_cap || st.streams > c->max_streams)
		abort();
}

static const struct dnsbind_cfg BIND_CFG = {.grace_s = 5,
					    .query_timeout_ms = 1000,
					    .max_queries = 8,
					    .max_bindings = 32,
					    .refuse_private = true};

/* DATA[0..SIZE) as a TCP stream cut into segments, see the top. Each way
 * of cutting it is read by a table of its own and heard by a binding
 * table of its own, fresh: what an answer means depends on the queries
 * heard before it (one that matches a query is read whole and may be
 * malformed; one that matches none is only unmatched), so the passes
 * compare alike only from the same start. */
static void tcp_stream(const uint8_t *data, size_t size)
{
	if (size < 2)
		return;
	uint8_t ctl = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	uint32_t isn = 0xffffff00u + ctl; /* the sequence wraps inside */
	/* the whole stream in one segment: what must be heard */
	static const struct dnstcp_cfg big = {.total_cap = 1u << 20,
					      .max_streams = 4,
					      .idle_ms = 1000};
	struct dnstcp *t = dnstcp_new(&big);
	struct heard whole = {.b = trusting_all(dnsbind_new(&BIND_CFG))};
	dnstcp_segment(t, &CLIENT, isn, 0, p, n, 0, heard, &whole);
	dnstcp_free(t);
	dnsbind_free(whole.b);
	/* segments: cuts from the stream's own bytes */
	size_t cut[MAX_SEGS + 1], ns = 0, at = 0;
	cut[0] = 0;
	while (at < n && ns < MAX_SEGS - 1) {
		at += 1 + (size_t)(p[at] * (ctl % 7 + 1)) % 97;
		if (at > n)
			at = n;
		cut[++ns] = at;
	}
	if (at < n)
		cut[++ns] = n;
	/* in order, plain: the same messages */
	t = dnstcp_new(&big);
	struct heard inorder = {.b = trusting_all(dnsbind_new(&BIND_CFG))};
	for (size_t i = 0; i < ns; i++)
		if (dnstcp_segment(t, &CLIENT, isn + (uint32_t)cut[i], 0,
				   p + cut[i], cut[i + 1] - cut[i], 0, heard,
				   &inorder) == DNSTCP_GAP)
			abort();
	if (inorder.n != whole.n)
		abort();
	for (size_t i = 0; i < whole.n && i < MAX_MSGS; i++)
		if (inorder.h[i] != whole.h[i])
			abort();
	dnstcp_free(t);
	dnsbind_free(inorder.b);
	/* small caps, one segment left out then sent, copies and swaps:
	 * what is heard is a prefix of the whole stream's messages */
	const struct dnstcp_cfg small = {.session_cap = 64 + ctl,
					 .total_cap = 96 + 2 * (size_t)ctl,
					 .max_streams = 2,
					 .idle_ms = 1000};
	t = dnstcp_new(&small);
	struct heard mixed = {.b = trusting_all(dnsbind_new(&BIND_CFG))};
	/* its SYN: the stream's start is known, whatever comes first */
	dnstcp_segment(t, &CLIENT, isn - 1, DNSTCP_SYN, NULL, 0, 0, heard,
		       &mixed);
	size_t skip = ns ? ctl % ns : 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < ns; k++) {
			size_t i = k;
			if ((ctl & 0x80) && k + 1 < ns && (k & 1) == 0)
				i = k + 1; /* swapped pairs */
			else if ((ctl & 0x80) && (k & 1))
				i = k - 1;
			if (pass == 0 && i == skip)
				continue;
			dnstcp_segment(t, &CLIENT, isn + (uint32_t)cut[i], 0,
				       p + cut[i], cut[i + 1] - cut[i], 0,
				       heard, &mixed);
			check_caps(t, &small);
		}
	if (mixed.n > whole.n)
		abort();
	for (size_t i = 0; i < mixed.n && i < MAX_MSGS; i++)
		if (mixed.h[i] != whole.h[i])
			abort();
	/* a RST ends it; then the idle rest is forgotten */
	dnstcp_segment(t, &SERVER, 0, DNSTCP_RST, NULL, 0, 0, heard, &mixed);
	dnstcp_expire(t, 10000);
	struct dnstcp_stats st;
	dnstcp_stats(t, &st);
	if (st.streams || st.bytes)
		abort();
	dnstcp_free(t);
	dnsbind_free(mixed.b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsbind *b = trusting_all(dnsbind_new(&BIND_CFG));
	struct dns_ends q = {.family = AF_INET, .sport = 40000, .dport = 53,
			     .src = {198, 18, 1, 2}, .dst = {198, 18, 3, 2}};
	struct dns_ends a = {.family = AF_INET, .sport = 53, .dport = 40000,
			     .src = {198, 18, 3, 2}, .dst = {198, 18, 1, 2}};
	/* the input as a query; then its question asked as a query (QR
	 * cleared), and the input as the answer */
	dnsbind_query(b, &q, data, size, 0);
	if (size >= 4) {
		uint8_t *m = malloc(size);
		memcpy(m, data, size);
		m[2] &= 0x7f;
		dnsbind_query(b, &q, m, size, 0);
		free(m);
	}
	dnsbind_answer(b, &a, data, size, 0);
	/* every 4 bytes of the input as an address the client may ask about */
	for (size_t i = 0; i + 4 <= size && i < 64; i += 4) {
		uint8_t addr[16] = {0};
		memcpy(addr, data + i, 4);
		check_names(b, &q, addr);
	}
	char name[DNSBIND_NAME_MAX + 1];
	size_t off = size > 12 ? 12 : 0;
	dnsbind_read_name(data, size, &off, name);
	tcp_stream(data, size);
	dnsbind_expire(b, UINT64_MAX / 2);
	struct dnsbind_stats s;
	dnsbind_stats(b, &s);
	if (s.bindings || s.queries_pending)
		abort(); /* everything expired */
	dnsbind_free(b);
	return 0;
}
