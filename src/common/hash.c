/* hash.c — SipHash-2-4 and the process key; see hash.h. */
#include "common/hash.h"

#include <endian.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* One SipRound on the state V0..V3 (variables, so that the compiler keeps
 * them in registers: a function over an array was called, and its state
 * loaded and stored, 8 to 14 times a hash). */
#define SIPROUND(v0, v1, v2, v3)                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

/* The 8 little-endian bytes at P as a number. */
static inline uint64_t le64(const uint8_t *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return le64toh(x);
}

uint64_t hash_bytes_keyed(const struct hash_key *key, const void *p,
			  size_t len)
{
	const uint8_t *in = p;
	uint64_t v0 = key->k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = key->k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = key->k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = key->k1 ^ 0x7465646279746573ull;
	size_t whole = len - len % 8;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = le64(in + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t)in[whole + i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static struct hash_key process_key;
static pthread_once_t process_key_once = PTHREAD_ONCE_INIT;

static void process_key_init(void)
{
	if (getrandom(&process_key, sizeof(process_key), GRND_NONBLOCK) ==
	    (ssize_t)sizeof(process_key))
		return;
	/* no entropy source: still differs per run and per process */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	struct hash_key k = {(uint64_t)ts.tv_nsec ^ (uint64_t)getpid(),
			     (uint64_t)(uintptr_t)&ts ^ (uint64_t)ts.tv_sec};
	process_key.k0 = hash_bytes_keyed(&k, &k, sizeof(k));
	process_key.k1 = hash_bytes_keyed(&k, &process_key.k0, 8);
}

void hash_process_key(struct hash_key *out)
{
	pthread_once(&process_key_once, process_key_init);
	*out = process_key;
}

uint64_t hash_bytes(const void *p, size_t len)
{
	pthread_once(&process_key_once, process_key_init);
	return hash_bytes_keyed(&process_key, p, len);
}

uint64_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s));
}
