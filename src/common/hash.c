/* hash.c — SipHash-2-4 and the process key; see hash.h. */
#include "common/hash.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline __attribute__((always_inline)) void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

/* The 8 little-endian bytes at P as a number. */
static uint64_t le64(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--)
		x = (x << 8) | p[i];
	return x;
}

uint64_t hash_bytes_keyed(const struct hash_key *key, const void *p,
			  size_t len)
{
	const uint8_t *in = p;
	uint64_t v[4] = {key->k0 ^ 0x736f6d6570736575ull,
			 key->k1 ^ 0x646f72616e646f6dull,
			 key->k0 ^ 0x6c7967656e657261ull,
			 key->k1 ^ 0x7465646279746573ull};
	size_t whole = len - len % 8;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = le64(in + i);
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t)in[whole + i] << (8 * i);
	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
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
