/*
 * resolve_int.h — internals of the resolver shared by its files: the
 * address-keyed hash table (hash.c), the LRU answer cache (cache.c) and
 * the parts of struct resolver the prefetcher (prefetch.c) uses.
 */
#ifndef SLUICE_RESOLVE_INT_H
#define SLUICE_RESOLVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/htable.h"
#include "resolve/resolver.h"

/* An address as a key: zero-initialise, then family and 4 or 16 bytes. */
struct rkey {
	uint8_t family; /* AF_INET, AF_INET6 */
	uint8_t addr[16];
};

/* Builds the key of (FAMILY, ADDR); IPv4 keeps the first 4 bytes only. */
void rkey_make(struct rkey *k, int family, const uint8_t addr[16]);
bool rkey_eq(const struct rkey *a, const struct rkey *b);

/* ---- hash.c: common/htable.h keyed by struct rkey --------------------- */

/* Embed in the element; the table never allocates elements. */
struct rhnode {
	struct htable_node hn;
	struct rkey key;
};

struct rhash {
	struct htable t; /* struct rhnode by key */
};

void rhash_init(struct rhash *h);
/* Frees the bucket array only (the elements belong to the caller). */
void rhash_fini(struct rhash *h);
/* Inserts N (its key set); duplicates are allowed (a multimap). */
void rhash_insert(struct rhash *h, struct rhnode *n);
/* The first element with key K, or NULL. */
struct rhnode *rhash_find(const struct rhash *h, const struct rkey *k);
/* The next element after N (in H) with N's key, or NULL. */
struct rhnode *rhash_next(const struct rhash *h, const struct rhnode *n);
/* Unlinks N (which must be in H). */
void rhash_remove(struct rhash *h, struct rhnode *n);

/* ---- cache.c: bounded LRU cache of reverse-lookup answers ------------- */

struct rcache;

struct rcache_hit {
	enum rstatus st;  /* RS_OK, RS_NONAME, RS_SERVFAIL or RS_INCOMPLETE */
	struct rnames names; /* RS_OK: the names, valid until the next call */
	uint64_t expires_ms;
};

/* A cache of at most MAX entries (0: a cache that keeps nothing). */
struct rcache *rcache_new(size_t max);
void rcache_free(struct rcache *c);
/*
 * Looks K up at time NOW_MS. A live entry fills HIT, becomes the most
 * recently used and 1 is returned; an expired entry is dropped; 0 when
 * there is none.
 */
int rcache_get(struct rcache *c, const struct rkey *k, uint64_t now_ms,
	       struct rcache_hit *hit);
/*
 * Stores (ST, NAMES) for K until EXPIRES_MS (replacing an entry for K),
 * evicting the least recently used entry when full. NAMES (RS_OK only, else
 * NULL) is copied as given (already a sorted set). Nothing is stored when
 * EXPIRES_MS <= NOW_MS or the cache holds nothing.
 */
void rcache_put(struct rcache *c, const struct rkey *k, enum rstatus st,
		const struct rnames *names, uint64_t expires_ms,
		uint64_t now_ms);
size_t rcache_size(const struct rcache *c);

/* ---- shared by resolver.c and prefetch.c ------------------------------ */

struct prefetch; /* prefetch.c */

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t resolve_now_ms(void);

/* One DNS answer record of the type asked (or a CNAME on the way). */
struct rr {
	int type;       /* T_A, T_AAAA, T_PTR, T_CNAME */
	uint32_t ttl;
	uint8_t addr[16]; /* A, AAAA */
	char *name;       /* PTR: target, lower case, no trailing dot */
};

/*
 * Parses the answer section of the DNS message BUF[0..LEN) (RFC 1035 §4.1,
 * names through ares_expand_name, which refuses pointer loops): fills the
 * first min(count, MAX) records of type TYPE, class IN, into OUT (PTR names
 * allocated: free with rr_free(); OUT may be NULL when MAX is 0), and
 * *MIN_TTL with the smallest TTL of the records of TYPE and of CNAMEs.
 * Returns how many records of TYPE the answer holds — possibly more than
 * MAX: the caller then knows its view is cut — or -1 when the message is
 * malformed anywhere (then nothing is left allocated).
 */
int rr_parse(const unsigned char *buf, int len, int type, struct rr *out,
	     int max, uint32_t *min_ttl);
void rr_free(struct rr *rr, int n);

/* Lower-cases S in place and strips one trailing dot. */
void name_normalise(char *s);

/*
 * Sends a query for NAME of TYPE (class IN) on R's channel; CB gets the
 * c-ares status and the raw answer. Counted in stats.queries.
 */
typedef void (*rquery_cb)(void *arg, int status, int timeouts,
			  unsigned char *abuf, int alen);
void resolver_query(struct resolver *r, const char *name, int type,
		    rquery_cb cb, void *arg);
/* True while resolver_free() tears the channel down: query callbacks must
 * then only release their own memory. */
bool resolver_dying(const struct resolver *r);
struct event_base *resolver_base(const struct resolver *r);
const struct resolver_cfg *resolver_cfg_of(const struct resolver *r);
/* Maps a c-ares status to an rstatus. */
enum rstatus rstatus_of_ares(int status);

struct prefetch *prefetch_new(struct resolver *r);
void prefetch_free(struct prefetch *p);
void prefetch_set(struct prefetch *p, const char *const *names, size_t n);
size_t prefetch_lookup(struct prefetch *p, const struct rkey *k,
		       const char **names, size_t max, bool *partial);
void prefetch_counts(const struct prefetch *p, uint64_t *names,
		     uint64_t *addrs, uint64_t *bounded);
/* GEN (may be NULL) is incremented (atomically) whenever the index
 * changes: see resolver_watch_known. */
void prefetch_watch(struct prefetch *p, uint64_t *gen);

#endif
