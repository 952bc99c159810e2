/*
 * randpolicy.h — deterministic random policies and flows, shared by the
 * differential test (tests/unit/test_differential.c) and the evaluation
 * benchmark (bench/bench_eval.c).
 *
 * A generator made from a seed writes valid sluice.conf(5) text
 * with about NRULES rules and the element definitions they use, then draws
 * flows and facts aimed at that policy: addresses from inside and at the
 * edges of the generated ranges, ports and ICMP types of the generated
 * protocols, minutes at schedule boundaries, users, groups and names of the
 * generated sets — with a share of unrelated values. Same seed, same text,
 * same flows, on every machine (own PRNG, no rand()).
 */
#ifndef SLUICE_RANDPOLICY_H
#define SLUICE_RANDPOLICY_H

#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct randpolicy;

/* Generates a policy of NRULES rules from SEED. Never fails. */
struct randpolicy *randpolicy_new(uint64_t seed, size_t nrules);
void randpolicy_free(struct randpolicy *rp);

/* The policy text (NUL-terminated; *LEN gets its length when LEN is set). */
const char *randpolicy_text(const struct randpolicy *rp, size_t *len);

/* One test case. FACTS points into the case itself: don't copy a case
 * after randpolicy_case() filled it. */
struct randcase {
	struct flow flow;
	bool has_facts;
	struct facts facts;
	const char *groups[4];
	char name[3][96];	/* the destination's names (0..3) */
	const char *names[3];
};

/* The facts of C, or NULL when the case has none. */
static inline const struct facts *randcase_facts(const struct randcase *c)
{
	return c->has_facts ? &c->facts : NULL;
}

/* Draws the next case (the generator's own case stream). */
void randpolicy_case(struct randpolicy *rp, struct randcase *c);
/* Draws the next flow only (no facts). */
void randpolicy_flow(struct randpolicy *rp, struct flow *f);

/* Formats C's flow and facts into BUF, one line, for failure messages. */
const char *randcase_format(const struct randcase *c, char *buf, size_t len);

#endif
