/*
 * verify_int.h — private structures of the verifier engine, shared by its
 * files and by the unit tests (which drive the engine without a network by
 * replacing a method's probe_ops, see vengine_set_ops()).
 *
 * Files: vengine.c (subscriptions, dedup, scheduling, the one result path),
 * vstate.c (rise/fall state machine, history), vkey.c (targets and
 * vprobe_cfg_equal), curl_loop.c (libcurl multi-socket on libevent), probe_http.c,
 * probe_tcp.c, probe_icmp.c, probe_dns.c (one file per probe method).
 */
#ifndef SLUICE_VERIFY_INT_H
#define SLUICE_VERIFY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "common/htable.h"
#include "verify/verify.h"

struct event;
struct vprobe;
struct vcurl;
struct vicmp;
struct vhttp;
struct vdns;

/* ---- vstate.c: the rise/fall state machine of one subscription ---------- */

struct vsm {
	enum vstate state;
	uint32_t rise, fall;
	uint32_t ok_run, fail_run; /* consecutive successes / failures */
	uint8_t hist[VERIFY_HISTORY]; /* ring of enum vresult */
	unsigned hist_next, nhist;
};

/* Starts SM in VS_UNKNOWN; RISE/FALL of 0 take the defaults. */
void vsm_init(struct vsm *sm, uint32_t rise, uint32_t fall);
/* Feeds one result; returns true when the state changed (then *PREV is the
 * state before). */
bool vsm_feed(struct vsm *sm, enum vresult r, enum vstate *prev);
/* Copies the history, oldest first, into OUT; returns how many. */
unsigned vsm_history(const struct vsm *sm, uint8_t out[VERIFY_HISTORY]);

/* ---- vkey.c: where a probe goes, and what makes two probes identical ---- */

/* The effective target of a spec for one member. Strings are owned. */
struct vtarget {
	enum verify_method method;
	uint32_t every_ms, timeout_ms; /* defaults applied */
	/* icmp, tcp, dns */
	struct sockaddr_storage sa; /* port set for tcp and dns */
	socklen_t salen;
	char addr[64]; /* numeric, as used */
	/* http */
	char *url;	  /* '*' replaced; host = SNI name when one is set */
	char *connect_to; /* CURLOPT_CONNECT_TO entry, or NULL */
	char *host_hdr;	  /* "Host: x" header, or NULL */
	bool https;
};

/* Computes T from SPEC and MEMBER (may be NULL). Returns 0, or -1 with
 * errno EINVAL (with *WHY set to a static reason) or ENOMEM. */
int vtarget_build(const struct verify_spec *spec, const char *member,
		  struct vtarget *t, const char **why);
void vtarget_clear(struct vtarget *t);
/* The port a check of S goes to: tcp's `port`, dns's or 53, else 0. */
uint16_t vspec_port(const struct verify_spec *s);
/* The HTTP status ranges that pass for S: its `expect`, or 200-399 when it
 * has none (the one home of that default). Sets *N. */
const struct portrange *vspec_expect(const struct verify_spec *s, size_t *n);
/* True when the probe of SPEC A with target TA and that of B with TB are
 * the same: every field that changes what goes on the wire, how the answer
 * is judged, or when the probe runs (defaults applied: none expected means
 * 200-399). Subscriber-side fields (rise, fall, warn_ms) are not compared.
 * A new option of struct verify_spec belongs here when it changes the
 * probe (verify_vstate checks every row of verify_settings). */
bool vprobe_cfg_equal(const struct verify_spec *a, const struct vtarget *ta,
		      const struct verify_spec *b, const struct vtarget *tb);
/* A hash of T consistent with vprobe_cfg_equal (equal probes, equal
 * hashes). */
uint64_t vprobe_cfg_hash(const struct vtarget *t);

/* ---- probe methods --------------------------------------------------------- */

struct vprobe_ops {
	/* Sets up method state for P from SPEC/T at creation; 0 or -1/errno. */
	int (*prepare)(struct vprobe *p, const struct verify_spec *spec,
		       const struct vtarget *t);
	/* Begins one round. The method ends it exactly once with
	 * vprobe_done() (from an event callback) or vprobe_done_soon() (from
	 * inside start itself). */
	void (*start)(struct vprobe *p);
	/* Aborts a running round without reporting; frees round state. */
	void (*cancel)(struct vprobe *p);
	/* Frees the method state set up by prepare. */
	void (*release)(struct vprobe *p);
};

extern const struct vprobe_ops vprobe_icmp_ops, vprobe_tcp_ops,
	vprobe_http_ops, vprobe_dns_ops;
/* The built-in probe of method M (vengine.c's table), or NULL. */
const struct vprobe_ops *vprobe_method_ops(enum verify_method m);

enum vphase { P_IDLE, P_QUEUED, P_RUNNING };

struct vprobe {
	struct vengine *v;
	struct verify_spec spec; /* owned copy: what vprobe_cfg_equal compares */
	struct htable_node hn;	 /* in vengine.probes, by (spec, t) */
	struct vtarget t;
	const struct vprobe_ops *ops;

	struct vsub **subs; /* subscribers */
	size_t nsubs, capsubs;

	enum vphase phase;
	struct event *timer;   /* next round, or a deferred result */
	uint64_t due_us;       /* scheduled start of this/next round */
	uint64_t start_us;     /* actual start of the running round */
	TAILQ_ENTRY(vprobe) fifo;
	int fanout;	       /* > 0 while callbacks run */
	bool dead;	       /* unsubscribed; free once fanout is 0 */
	bool soon;	       /* a vprobe_done_soon() result is pending */

	/* result of the latest round */
	enum vresult last;
	uint32_t last_us;
	int http_status;
	char detail[128];

	/* method state */
	union {
		struct {
			int fd;
			struct event *ev;
		} tcp;
		struct {
			uint16_t seq;
			uint64_t token;
			bool pending;
			struct event *tmo;
			LIST_ENTRY(vprobe) link;
		} icmp;
		struct vhttp *http;
		struct vdns *dns;
	} m;
};

struct vsub {
	int id;
	char *name;
	vresult_cb cb;
	void *arg;
	struct vprobe *p;
	struct vsm sm;
	uint32_t warn_ms;
	bool slow;
	uint64_t runs, failures;
};

#define LATE_RING 1024

struct vengine {
	struct event_base *base;
	struct vengine_opts o;
	const struct vprobe_ops *ops[VM_COUNT]; /* by enum verify_method */
	uint64_t rng;

	struct vsub **slots; /* by id & SLOT_MASK */
	size_t nslots;
	int *freeslots;
	size_t nfree;
	uint32_t gen;

	struct htable probes; /* struct vprobe by struct vprobe_key */

	TAILQ_HEAD(, vprobe) fifo;
	unsigned inflight, waiting;
	bool closing; /* vengine_free() running: start nothing */

	struct vcurl *curl;  /* created on the first HTTP probe */
	struct vicmp *icmp;  /* created on the first ICMP probe */

	struct vengine_stats st;
	uint64_t late[LATE_RING];
	unsigned nlate, late_pos;
};

/* Ends the running round of P with result R after US µs; DETAIL may be
 * NULL. The single completion path: updates state, fans out, reschedules. */
void vprobe_done(struct vprobe *p, enum vresult r, uint32_t us,
		 const char *detail);
/* The same, deferred to the next loop iteration (for results known inside
 * ops->start, so that start never re-enters the engine). */
void vprobe_done_soon(struct vprobe *p, enum vresult r, const char *detail);
/* Replaces the ops of METHOD (tests). Only before the first vengine_add(). */
void vengine_set_ops(struct vengine *v, enum verify_method m,
		     const struct vprobe_ops *ops);

/* Monotonic clock in µs. */
uint64_t vnow_us(void);
/* Maps an errno from connect/sendto to a result. */
enum vresult verrno_result(int err);

/* ---- check_dns.c ------------------------------------------------------------- */

/* Judges the DNS message BUF/LEN (from the network: any bytes), the answer
 * to a query of TYPE (ns_t_a or ns_t_aaaa) for NAME: VR_OK when it holds a
 * record of the type for the name (CNAMEs inside the answer followed, by
 * c-ares's parser) and, when WANT is not NULL, that address (4 or 16
 * bytes) among them; else VR_ANSWER (none of the type, or not WANT),
 * VR_DNS (malformed) or VR_OTHER (out of memory), with DETAIL (DLEN bytes)
 * saying why ("" for VR_OK). Reads nothing past LEN; frees what it takes. */
enum vresult vdns_judge_answer(int type, const char *name,
			       const unsigned char *want,
			       const unsigned char *buf, int len, char *detail,
			       size_t dlen);

/* ---- curl_loop.c ------------------------------------------------------------ */

typedef void (*vcurl_done_fn)(void *easy, int curlcode);
struct vcurl *vcurl_new(struct event_base *base, long maxconnects,
			vcurl_done_fn done);
/* The shared handle easy handles attach (SSL sessions, DNS). */
void *vcurl_share(struct vcurl *c);
int vcurl_add(struct vcurl *c, void *easy);
void vcurl_remove(struct vcurl *c, void *easy);
/* Number of sockets libcurl currently watches. */
unsigned vcurl_nsockets(const struct vcurl *c);
void vcurl_free(struct vcurl *c);

/* ---- probe_icmp.c ------------------------------------------------------------ */

void vicmp_free(struct vicmp *ic);

#endif
