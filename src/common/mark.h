/*
 * mark.h — the one definition of sluice's packet/conntrack mark layout,
 * used by the ruleset generator (kernel/ruleset.c), the decider
 * (decide/decide.c) and the daemon's conntrack walks (sluiced/).
 *
 * For mark shift S (MARK_SHIFT_DEFAULT unless the policy's queue block says
 * otherwise; S is general, 0..16, larger values are taken as 16): sluice
 * owns bits [S, S+16) and preserves every other bit.
 *   bits S+15..S+14  decision: MARK_DEC_* (QUEUE on the packet mark only:
 *                    "ask sluiced")
 *   bits S+13..S     rule id: rule index + 1, saturating at MARK_ID_LAST;
 *                    reserved ids MARK_ID_SELF (sluiced's own traffic,
 *                    SO_MARK), MARK_ID_CREATION (a creation element),
 *                    MARK_ID_PUBLISHED (a published server, DNAT to a farm)
 *                    and MARK_ID_FAILOPEN (the queue had no listener).
 * docs/kernel.md describes the rules that set and read these bits.
 */
#ifndef SLUICE_COMMON_MARK_H
#define SLUICE_COMMON_MARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MARK_SHIFT_DEFAULT 16u

/* How the *_post chains' rule that drops a new session whose packet mark
 * lost its decision (another program rewrote the mark) begins its comment;
 * the counter packets_mark_rewritten sums those rules. */
#define MARK_REWRITTEN_COMMENT "new, without a decision"
#define MARK_WIDTH 16u	     /* bits sluice owns */
#define MARK_ID_BITS 14u     /* rule id field; the decision is above it */

#define MARK_DEC_NONE 0u
#define MARK_DEC_ALLOW 1u
#define MARK_DEC_DENY 2u
#define MARK_DEC_QUEUE 3u

#define MARK_ID_MASK ((1u << MARK_ID_BITS) - 1u) /* 0x3fff */
#define MARK_ID_SELF 0u
#define MARK_ID_LAST 0x3ffeu	  /* rule ids saturate here */
#define MARK_ID_CREATION 0x3ffdu  /* overlaps only policies > 16380 rules */
/* Packet mark QUEUE with this id: a DNS message of a session a `filter dns`
 * rule allowed, for sluiced's DNS queue (kernel/ruleset.c rs_dns_queue());
 * never in a ct mark. Overlaps only policies > 16378 rules. */
#define MARK_ID_DNS 0x3ffbu
/* With the DENY decision, in a verdict's packet mark only: the kernel
 * rejects the packet (TCP reset / ICMP administratively prohibited) and
 * remembers the session as rejected. Overlaps only policies > 16377 rules
 * (their DENY verdicts then reject; sluiced logs the exact rule). */
#define MARK_ID_REJECT 0x3ffau
/* Packet mark QUEUE with this id: a client packet of an FTP control session
 * a `filter ftp read-only` rule allowed, for sluiced's FTP queue
 * (kernel/ruleset.c rs_ftp_queue()); never in a ct mark. Overlaps only
 * policies > 16376 rules. */
#define MARK_ID_FTP 0x3ff9u
#define MARK_ID_FAILOPEN 0x3fffu
#define MARK_ID_PUBLISHED 0x3ffcu /* overlaps only policies > 16379 rules */

_Static_assert(MARK_ID_FAILOPEN == MARK_ID_MASK, "ids fit the id field");
_Static_assert(MARK_ID_BITS + 2u == MARK_WIDTH, "decision above the id");

/* The shift actually used for configured shift SHIFT (at most 16). */
static inline uint32_t mark_shift_of(uint32_t shift)
{
	return shift > 32u - MARK_WIDTH ? 32u - MARK_WIDTH : shift;
}

/* The mask of the bits sluice owns at SHIFT. */
static inline uint32_t mark_owned(uint32_t shift)
{
	return (uint32_t)(0xffffu << mark_shift_of(shift));
}

/* The owned bits holding decision DEC (MARK_DEC_*) and rule id ID. */
static inline uint32_t mark_make(uint32_t shift, unsigned dec, unsigned id)
{
	return (uint32_t)((((dec & 3u) << MARK_ID_BITS) | (id & MARK_ID_MASK))
			  << mark_shift_of(shift));
}

/* OLD with its owned bits replaced by DEC and ID (the others kept). */
static inline uint32_t mark_set(uint32_t shift, uint32_t old, unsigned dec,
				unsigned id)
{
	return (old & ~mark_owned(shift)) | mark_make(shift, dec, id);
}

/* The decision (MARK_DEC_*) and the rule id carried in MARK. */
static inline unsigned mark_dec(uint32_t shift, uint32_t mark)
{
	return (mark >> (mark_shift_of(shift) + MARK_ID_BITS)) & 3u;
}

static inline unsigned mark_id(uint32_t shift, uint32_t mark)
{
	return (mark >> mark_shift_of(shift)) & MARK_ID_MASK;
}

/* True when MARK says ALLOW by a policy rule (of this run or another):
 * not sluiced's own traffic, a creation element's, a published server's
 * or the fail-open path's. Adoption judges such a session again at a
 * start (src/sluiced/adopt.c), as sluicectl check --host does. */
static inline bool mark_allowed_by_rule(uint32_t shift, uint32_t mark)
{
	unsigned id = mark_id(shift, mark);
	return mark_dec(shift, mark) == MARK_DEC_ALLOW && id != MARK_ID_SELF &&
	       id != MARK_ID_CREATION && id != MARK_ID_FAILOPEN &&
	       id != MARK_ID_PUBLISHED;
}

/* The rule id for policy rule index INDEX (index + 1, saturating at
 * MARK_ID_LAST); a negative index (no rule, the default) is MARK_ID_SELF. */
static inline unsigned mark_rule_id(long index)
{
	if (index < 0)
		return MARK_ID_SELF;
	return (unsigned long)index + 1 >= MARK_ID_LAST
		   ? MARK_ID_LAST
		   : (unsigned)index + 1;
}

#endif
