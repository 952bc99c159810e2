/*
 * sessions.h — what the service remembers of sessions it allowed: rule,
 * user and name, keyed by the session 5-tuple. The kernel's conntrack table
 * is the truth about which sessions exist; this adds who and why, for
 * `sluicectl sessions` and for revocation on reload. Bounded: the oldest
 * entries go first. Thread-safe.
 */
#ifndef SLUICE_SESSIONS_H
#define SLUICE_SESSIONS_H

#include "queue/packet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sessions;

struct session_info {
	int rule; /* index in generation GEN */
	uint64_t gen;
	char user[64]; /* "" = none */
	char name[256];
	time_t decided;
};

struct sessions *sessions_new(size_t max);
void sessions_free(struct sessions *s);
/* Remembers (or updates) K's decision: RULE of generation GEN, USER and
 * NAME (NULL = none; cut to the fields' sizes), decided at DECIDED. */
void sessions_put(struct sessions *s, const struct session_key *k, int rule,
		  uint64_t gen, time_t decided, const char *user,
		  const char *name);
bool sessions_get(struct sessions *s, const struct session_key *k,
		  struct session_info *out);
void sessions_del(struct sessions *s, const struct session_key *k);
size_t sessions_count(struct sessions *s);

#endif
