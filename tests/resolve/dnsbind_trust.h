/*
 * dnsbind_trust.h — tests: make a dnsbind table trust the DNS servers of
 * a test (dnsbind_set_trusted takes ranges of addresses).
 */
#ifndef SLUICE_TEST_DNSBIND_TRUST_H
#define SLUICE_TEST_DNSBIND_TRUST_H

#include "resolve/dnsbind.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* B trusting the addresses LO4..HI4 and LO6..HI6 (text; NULL: none of
 * that family); returns B. */
static inline struct dnsbind *trusting(struct dnsbind *b, const char *lo4,
				       const char *hi4, const char *lo6,
				       const char *hi6)
{
	struct dnsbind_range r[2];
	size_t n = 0;
	memset(r, 0, sizeof(r));
	if (lo4) {
		r[n].family = AF_INET;
		inet_pton(AF_INET, lo4, r[n].lo);
		inet_pton(AF_INET, hi4, r[n++].hi);
	}
	if (lo6) {
		r[n].family = AF_INET6;
		inet_pton(AF_INET6, lo6, r[n].lo);
		inet_pton(AF_INET6, hi6, r[n++].hi);
	}
	dnsbind_set_trusted(b, r, n);
	return b;
}

/* B trusting every server (fuzzers, benchmarks: the whole path runs). */
static inline struct dnsbind *trusting_all(struct dnsbind *b)
{
	return trusting(b, "0.0.0.0", "255.255.255.255", "::",
			"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

#endif
