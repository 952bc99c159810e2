/*
 * flight.h — coalesced lookups: one lookup in flight per key, every asker
 * of that key attached to it as a waiter, its result delivered to each
 * waiter once. Shared by the resolver (reverse lookups by address), the
 * LDAP directory (groups by user) and the NSS pool (user by uid).
 *
 * The helper holds no result and calls nothing: the owner embeds a struct
 * flight in its own lookup, keeps the waiters' callbacks in them as
 * `void (*)(void)` (cast back to the owner's callback type when it
 * delivers) and decides when the lookup ends. The life of a flight:
 *   flight_start()  — the key is in flight: flight_find() returns it and
 *                     later askers flight_join() it;
 *   flight_land()   — the answer is there: the key leaves the table (an
 *                     asker from now on starts a new lookup), the waiters
 *                     stay attached;
 *   flight_pop()    — the owner takes the waiters one at a time, in
 *                     arrival order, and calls each; a callback may
 *                     flight_leave() a later waiter (cancel) or start new
 *                     lookups, even of the same key.
 * Keys are the owner's bytes (compared with memcmp; the table is
 * common/htable.h, seeded, so a remote party choosing keys cannot aim them
 * at one bucket); they must stay valid while the flight is in its
 * table. Not thread-safe: one thread (the event loop) owns a table.
 */
#ifndef SLUICE_COMMON_FLIGHT_H
#define SLUICE_COMMON_FLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "common/htable.h"

/* A generic callback pointer; the owner casts it back to its own type. */
typedef void (*flight_fn)(void);

/* One asker. The memory is the owner's (alone, or the first member of a
 * larger struct); the helper only links it. */
struct flight_waiter {
	TAILQ_ENTRY(flight_waiter) link;
	flight_fn fn;
	void *arg;
};

struct flight_table;

/* One lookup's shared part, embedded in the owner's lookup. */
struct flight {
	struct htable_node hn;	/* in t->h, by key */
	struct flight_table *t; /* the table it is in, NULL once landed */
	const void *key;
	size_t keylen;
	TAILQ_HEAD(, flight_waiter) waiters;
	size_t nwaiters;
};

/* The lookups in flight, by key. Zero it or flight_table_init() it. */
struct flight_table {
	struct htable h; /* struct flight by key; set up at the first start */
};

void flight_table_init(struct flight_table *t);
/* Frees the buckets. Flights still in the table are forgotten (land them
 * first when their waiters must hear). */
void flight_table_fini(struct flight_table *t);

/* The flight of KEY (KEYLEN bytes) in T, or NULL when none is in flight. */
struct flight *flight_find(const struct flight_table *t, const void *key,
			   size_t keylen);
/* Puts F (the owner's, not yet started or landed) in flight for KEY with
 * no waiters. KEY must not be in flight in T already (flight_find first)
 * and must stay valid until flight_land. Aborts on memory exhaustion. */
void flight_start(struct flight_table *t, struct flight *f, const void *key,
		  size_t keylen);
/* Takes F out of its table (idempotent); its waiters stay attached. */
void flight_land(struct flight *f);

/* Attaches W (owner's memory) to F, last in arrival order, with the
 * callback FN and its ARG. */
void flight_join(struct flight *f, struct flight_waiter *w, flight_fn fn,
		 void *arg);
/* Detaches W from F (a cancel); W's memory stays the owner's. */
void flight_leave(struct flight *f, struct flight_waiter *w);
/* Detaches and returns F's first waiter, or NULL when none is left. */
struct flight_waiter *flight_pop(struct flight *f);
/* F's first waiter with callback FN and ARG, or NULL. */
struct flight_waiter *flight_waiter_find(struct flight *f, flight_fn fn,
					 const void *arg);

#endif
