/*
 * sessions.h — what the service remembers of sessions it allowed: rule,
 * and the facts of the decision (user, groups, where they came from, the
 * destination's name), keyed by the session 5-tuple. The kernel's conntrack
 * table is the truth about which sessions exist; this adds who and why, for
 * `sluicectl sessions` and for revocation on reload (which judges a session
 * with the facts of its own decision). Bounded: the oldest entries go
 * first. Thread-safe.
 */
#ifndef SLUICE_SESSIONS_H
#define SLUICE_SESSIONS_H

#include "packet/packet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sessions;

/* Where a decision's identity came from. */
enum fact_source {
	IDSRC_NONE,	 /* the decision did not ask who the user is */
	IDSRC_TABLE,	 /* address table: user and groups (or no entry) */
	IDSRC_DIRECTORY, /* address table's user, groups from the directory */
	IDSRC_LOCAL,	 /* the gateway's own socket: uid → user, groups (NSS) */
};
const char *fact_source_name(enum fact_source s);

/* The facts a decision was made with (all borrowed by sessions_put). */
struct session_facts {
	enum fact_source source;
	const char *user; /* NULL = nobody (or not asked: IDSRC_NONE) */
	const char *const *groups;
	size_t ngroups;
	bool groups_unknown; /* the user's groups could not be had */
	const char *name;    /* forward-confirmed name; NULL = none */
};

/* A remembered session; its strings are the caller's, freed with
 * session_info_clear(). */
struct session_info {
	int rule; /* index in generation GEN */
	uint64_t gen;
	time_t decided;
	enum fact_source source;
	bool groups_unknown;
	char *user; /* NULL = none */
	char *name; /* NULL = none */
	char **groups;
	size_t ngroups;
	char *mem; /* the storage USER, NAME and GROUPS point into */
};

/* Facts beyond this many bytes (user, name and groups with their
 * terminators) are not kept: the session's groups become unknown. */
#define SESSIONS_FACTS_MAX 65536

/* A table remembering the last MAX sessions (at least 1). */
struct sessions *sessions_new(size_t max);
void sessions_free(struct sessions *s);
/* Remembers (or updates) K's decision: RULE of generation GEN, decided at
 * DECIDED, with the facts F (copied; NULL = none). Groups that would not
 * fit in SESSIONS_FACTS_MAX are dropped and marked unknown. */
void sessions_put(struct sessions *s, const struct session_key *k, int rule,
		  uint64_t gen, time_t decided, const struct session_facts *f);
/* Copies K's entry into OUT (free with session_info_clear); false (OUT
 * zeroed) when K is not remembered. */
bool sessions_get(struct sessions *s, const struct session_key *k,
		  struct session_info *out);
/* Frees OUT's strings and zeroes it. */
void session_info_clear(struct session_info *out);
void sessions_del(struct sessions *s, const struct session_key *k);
size_t sessions_count(struct sessions *s);

#endif
