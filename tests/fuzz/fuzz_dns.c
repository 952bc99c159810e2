/*
 * fuzz_dns.c — libFuzzer harness for the DNS filter's message parser and
 * bookkeeping (src/resolve/dnsbind.c). Any bytes, as a query and as the
 * answer to it (the question of the input itself is asked first, so the
 * answer paths past matching are reached), must be refused or bound —
 * never a read past the end, a crash, a leak or undefined behaviour — and
 * whatever binds must come back from dnsbind_names() as sane names.
 */
#include "resolve/dnsbind.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dnsbind_cfg cfg = {.grace_s = 5,
					       .query_timeout_ms = 1000,
					       .max_queries = 8,
					       .max_bindings = 32,
					       .refuse_private = true};
	struct dnsbind *b = dnsbind_new(&cfg);
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
	dnsbind_expire(b, UINT64_MAX / 2);
	struct dnsbind_stats s;
	dnsbind_stats(b, &s);
	if (s.bindings || s.queries_pending)
		abort(); /* everything expired */
	dnsbind_free(b);
	return 0;
}
