/*
 * verify.h — connectivity verifiers: ICMP echo, TCP connect, HTTP(S) GET and
 * DNS query checks on one libevent loop, with rise/fall state, deduplication and an
 * in-flight cap.
 *
 * The engine is a library: sluiced links it to drive farm membership, the
 * tests and the soak program link the same code.
 *
 * Model
 *   A *subscription* is what vengine_add() returns: a name, a callback and
 *   its own up/down state machine (rise, fall, warn_ms from the spec).
 *   A *probe* is what goes on the wire. Subscriptions whose specs would send
 *   the same probe at the same cadence (same method, effective target and
 *   member, port, expected answer, TLS and auth settings, timeout and
 *   interval — see vkey.c) share one probe: it runs once per round and its
 *   result is fanned out to every subscriber. The probe lives while at least
 *   one subscription refers to it.
 *
 * Scheduling
 *   Each probe runs every every_ms (default 30 s), each round jittered by
 *   ±jitter_pct. The first run is spread uniformly over the first interval
 *   (unless opts.no_spread). At most max_inflight probes run at once; further
 *   due probes wait in a FIFO and their lateness (start − scheduled time) is
 *   recorded in the stats.
 *
 * State
 *   unknown until the first result, which decides at once (up or down);
 *   afterwards `fall` consecutive failures take an up check down and `rise`
 *   consecutive successes bring a down check up. Defaults rise 2, fall 3 (as
 *   HAProxy). A result slower than warn_ms sets the `slow` flag but is still
 *   a success. The callback fires on every state change, never otherwise.
 *
 * Errors: functions returning int return -1 and set errno; constructors
 * return NULL and set errno (bad options, or a library's own failure:
 * libcurl, c-ares, libevent). Allocation failure aborts, as everywhere in
 * sluice (xmalloc, common/util.h); it is never an error return. Memory:
 * every object the engine allocates is freed by vengine_remove() /
 * vengine_free(), whatever state its probe is in.
 *
 * Threads: an engine belongs to the thread that runs its event_base.
 * libcurl must be initialised (curl_global_init) by the program before the
 * first engine is created.
 */
#ifndef SLUICE_VERIFY_H
#define SLUICE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct event_base;
struct vengine;

/* A spec field every, timeout, rise or fall left at 0 takes the default
 * of its row in verify_settings (policy/settings.h), its one home. */
#define VERIFY_HISTORY 16		 /* results kept per subscription */
#define VERIFY_BODY_CAP (64u * 1024u) /* bytes of a response body examined */
#define VERIFY_AUTH_LEGS 4u /* 401/407 answers one HTTP round accepts */
#define VERIFY_DNS_PORT 53  /* a dns check's port without `port` */

/* Outcome of one probe. Every failure path maps to exactly one of these. */
enum vresult {
	VR_OK,
	VR_TIMEOUT,	/* no answer within timeout_ms */
	VR_REFUSED,	/* TCP RST / connection refused */
	VR_UNREACHABLE, /* host or network unreachable (ICMP error, no route) */
	VR_ADDR,	/* bad address, name not resolved, malformed URL */
	VR_TLS,		/* handshake, certificate or CA problem */
	VR_STATUS,	/* HTTP status outside the expected ranges */
	VR_BODY,	/* body lacks the expected substring */
	VR_AUTH,	/* authentication failed (401/407 after trying) */
	VR_OTHER,	/* anything else; see the detail string */
	VR_DNS,		/* DNS error answer: NXDOMAIN, SERVFAIL, FORMERR, NOTIMP,
			 * or a malformed answer (REFUSED is VR_REFUSED) */
	VR_ANSWER,	/* DNS answer without a record of the type, or without
			 * the expected address */
	VR_COUNT
};

enum vstate { VS_UNKNOWN, VS_UP, VS_DOWN };

/* What a callback (and vengine_status()) sees. Pointers are valid only
 * during the call. */
struct vstatus {
	int id;			/* subscription id */
	const char *name;	/* as given to vengine_add() */
	enum vstate state, prev;
	enum vresult last;	/* result of the latest probe */
	uint32_t last_us;	/* its response time, µs */
	int http_status;	/* latest HTTP status, 0 = none */
	bool slow;		/* latest success took longer than warn_ms */
	const char *detail;	/* short text for the latest failure, or "" */
	uint8_t history[VERIFY_HISTORY]; /* enum vresult, oldest first */
	unsigned nhistory;
	uint64_t runs, failures; /* results seen by this subscription */
};

typedef void (*vresult_cb)(const struct vstatus *st, void *arg);

struct vengine_opts {
	unsigned max_inflight; /* probes running at once; 0 = 64 */
	unsigned jitter_pct;   /* ± per round, 0..50; 0 = none */
	long maxconnects;      /* libcurl connection cache; 0 = 2 × max_inflight,
				* at least 16 */
	bool no_spread;	       /* run each probe's first round at once */
	uint32_t seed;	       /* PRNG seed for spread and jitter; 0 = random */
	uint32_t so_mark;      /* SO_MARK on every check's socket (before
				* connect), so the gateway's ruleset exempts
				* the checks; 0 = none */
};

/* Engine-wide counters; see vengine_stats(). */
struct vengine_stats {
	uint64_t runs;		/* probes finished */
	uint64_t failures;	/* of which not VR_OK */
	uint64_t by_result[VR_COUNT];
	uint64_t state_changes; /* callbacks fired */
	uint64_t queued;	/* rounds that waited for a free slot */
	unsigned inflight;	/* probes running now */
	unsigned waiting;	/* probes in the FIFO now */
	unsigned probes;	/* distinct probes */
	unsigned subscriptions;
	uint64_t late_max_us;	/* max start − scheduled */
	uint64_t late_median_us; /* median over the last 1024 rounds */
};

/*
 * Creates an engine on BASE (not owned). O may be NULL for the defaults.
 * Returns NULL with errno set on failure (EINVAL for bad opts).
 */
struct vengine *vengine_new(struct event_base *base,
			    const struct vengine_opts *o);

/*
 * Subscribes NAME to the check SPEC (copied; the caller keeps ownership).
 * MEMBER, when not NULL, is the numeric address of a farm member: it
 * replaces a `*` in an HTTP URL's host, is the target of an ICMP/TCP/DNS
 * check,
 * and for a URL with a real host name it is where the connection goes while
 * Host and SNI keep the name (CURLOPT_CONNECT_TO).
 * HTTP only: SPEC->sni, when set, is the name sent as SNI and verified in the
 * certificate; SPEC->host overrides the Host header; the password is read
 * from SPEC->password_file (first line) now, not at each probe.
 * CB is called with ARG on every state change of this subscription.
 * DNS only: SPEC->qname is asked for (type SPEC->qtype, class IN) from the
 * target or MEMBER, port SPEC->port or 53 (probe_dns.c).
 * Returns a subscription id ≥ 0, or -1 with errno: EINVAL (bad spec, `*`
 * without MEMBER, non-numeric ICMP/TCP/DNS target, dns without a name or
 * with an `answer` that is no address of its type), ENOENT/EACCES
 * (password file), ENOSPC (no subscription id left), ENOMEM (a library
 * that could not allocate: libcurl, c-ares, libevent).
 * An identical probe already present is shared, not started again.
 */
int vengine_add(struct vengine *v, const char *name,
		const struct verify_spec *spec, const char *member,
		vresult_cb cb, void *arg);

/*
 * Ends subscription ID. When it was the probe's last subscriber the probe
 * is cancelled whatever it is doing (queued, connecting, mid-TLS, waiting
 * for an ICMP reply) and everything it holds is freed: easy handle, socket,
 * events, buffers. Safe from inside a callback, including for the
 * subscription being reported. Returns 0, or -1/ENOENT for an unknown id.
 */
int vengine_remove(struct vengine *v, int id);

/*
 * Starts subscription ID's state machine from STATE instead of unknown (a
 * check whose configuration changed on reload keeps what was known of its
 * server: a down server then needs `rise` successes to come up, as if the
 * check had run all along). Call right after vengine_add(), before its
 * first result. Returns 0 or -1/ENOENT.
 */
int vengine_seed_state(struct vengine *v, int id, enum vstate state);

/* Copies the current status of ID into *OUT (the pointers in it stay valid
 * until the next engine call). Returns 0 or -1/ENOENT. */
int vengine_status(struct vengine *v, int id, struct vstatus *out);

/* Fills *OUT with engine-wide counters. */
void vengine_stats(struct vengine *v, struct vengine_stats *out);

/* Frees the engine and every subscription and probe, in flight or not.
 * Must not be called from inside a callback. NULL is allowed. */
void vengine_free(struct vengine *v);

/* Short lower-case names, e.g. "ok", "timeout", "status mismatch". */
const char *vresult_name(enum vresult r);
const char *vstate_name(enum vstate s);

#endif
