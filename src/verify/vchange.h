/*
 * vchange.h — what operators ask of a verifier beyond its state: when the
 * state last changed and how long a member has been down (HAProxy's
 * `lastchg` and `downtime`), and the drained members kept in a state file
 * so that drains survive a restart of the daemon.
 *
 * Times are wall-clock milliseconds (CLOCK_REALTIME) given by the caller,
 * so that tests can drive them.
 */
#ifndef SLUICE_VCHANGE_H
#define SLUICE_VCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "verify/verify.h"

struct vchange {
	int64_t changed_ms;	/* last state change; 0 = none yet */
	int64_t down_since_ms;	/* went down at; 0 = not down */
	uint64_t down_total_ms; /* time down before down_since_ms */
	uint64_t changes;	/* state changes seen */
};

/* Records a state change PREV -> NOW at NOW_MS (unknown -> up counts as a
 * change; a repeated state is ignored). */
void vchange_note(struct vchange *c, enum vstate prev, enum vstate now,
		  int64_t now_ms);

/* Seconds since the last state change at NOW_MS, or -1 when none. */
int64_t vchange_lastchg_s(const struct vchange *c, int64_t now_ms);

/* Total time down (ms) up to NOW_MS, the current stretch included. */
uint64_t vchange_downtime_ms(const struct vchange *c, int64_t now_ms);

/* The longest name vdrains_* accept (bytes, without the NUL). */
#define VDRAINS_NAME_MAX 256
/* The most names a drain file may hold. */
#define VDRAINS_MAX 4096

/*
 * Writes the N names (e.g. "FARM/MEMBER") to PATH, one a line, through
 * common/statefile.h (0600, in a folder of the daemon's own, whole or not
 * at all); with N == 0 the file is removed. Returns 0, or -1 with errno
 * (EINVAL for a name that is empty, too long or holds a control
 * character; the statefile errors otherwise).
 */
int vdrains_save(const char *path, const char *const *names, size_t n);

/*
 * Reads the names PATH holds into a new array (*N of them; to free with
 * vdrains_free). A missing file is an empty list (NULL, *N = 0, returns 0).
 * Lines that are empty, too long or hold a control character are skipped,
 * at most VDRAINS_MAX are kept. Returns 0, or -1 with errno from
 * statefile_read (a file that is not the daemon's own is not trusted).
 */
int vdrains_load(const char *path, char ***names, size_t *n);

void vdrains_free(char **names, size_t n);

#endif
