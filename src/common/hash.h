/*
 * hash.h — the one hash function of sluice's hash tables: SipHash-2-4
 * (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012; the
 * reference implementation's test vectors) under a 128-bit key drawn once
 * per process from getrandom(2). A remote party choosing ports, addresses
 * or names cannot aim its entries at one bucket of the 5-tuple tables
 * (decide's pending table, the sessions table), the address tables
 * (identity, resolver, DNS bindings) or the user cache: without the key it
 * cannot compute where anything lands, and the key differs between runs.
 */
#ifndef SLUICE_COMMON_HASH_H
#define SLUICE_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash_key {
	uint64_t k0, k1;
};

/* SipHash-2-4 of the LEN bytes at P under KEY. */
uint64_t hash_bytes_keyed(const struct hash_key *key, const void *p,
			  size_t len);

/* The same under the process key (drawn at the first call, thread-safe;
 * when getrandom(2) fails, from the clock, the pid and an address). */
uint64_t hash_bytes(const void *p, size_t len);

/* hash_bytes() of the string S without its NUL. */
uint64_t hash_str(const char *s);

/* The process key (for tests). */
void hash_process_key(struct hash_key *out);

#endif
