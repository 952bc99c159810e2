/*
 * policy.h — the sluice policy library: parse, check, compile, evaluate.
 *
 * One library, linked by sluiced, sluicectl, the tests and the benchmarks.
 * The pipeline is
 *
 *     text --policy_load()--> struct policy (checked model)
 *          --engine_build()--> struct engine (compiled, indexed)
 *          --engine_eval()--> struct decision
 *
 * Error convention of this layer: functions that can fail on input return
 * NULL or -1 and record located diagnostics in a struct diags; functions that
 * can only fail on memory abort (xmalloc). Nothing here prints by itself.
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include "common/username.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef unsigned __int128 u128;

/* ---- diagnostics --------------------------------------------------------- */

struct loc {
	const char *file; /* interned: owned by the struct diags or the
			   * struct policy whose names it came from */
	int line, col;    /* 1-based */
};

enum diag_sev { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

struct diag {
	enum diag_sev sev;
	struct loc loc;
	char *msg;
};

struct diags {
	struct diag *v;
	size_t n, cap;
	int errors, warnings;
	char **files; /* interned file names, freed with the diags */
	size_t nfiles;
};

/* Records one diagnostic; printf-style message. LOC (may be NULL) is copied
 * and its file name interned in D, so D never points into a policy. Never
 * fails. */
void diags_add(struct diags *d, enum diag_sev sev, const struct loc *loc,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Prints every diagnostic as "file:line:col: error: message", one a line. */
void diags_print(const struct diags *d, FILE *out);
/* The same through log_at() (common/log.h), each at its priority: error
 * LOG_ERR, warning LOG_WARNING, note LOG_NOTICE; for standard error that
 * is journald's stream (log_journal()), where the priority is the "<N>". */
void diags_log(const struct diags *d);
/* Returns an interned copy of NAME that lives as long as D. */
const char *diags_intern(struct diags *d, const char *name);
void diags_free(struct diags *d);

/* ---- addresses, ports, times -------------------------------------------- */

struct range4 {
	uint32_t lo, hi; /* host byte order, inclusive */
};
struct range6 {
	u128 lo, hi; /* host byte order (big-endian value), inclusive */
};

/* A set of addresses: sorted, merged, non-overlapping inclusive ranges. */
struct addrset {
	struct range4 *v4;
	size_t n4;
	struct range6 *v6;
	size_t n6;
};

struct portrange {
	uint16_t lo, hi; /* inclusive; for ICMP the type 0..255 */
};

/* Minutes of the week: 0 = Monday 00:00, 10079 = Sunday 23:59. */
#define MINUTES_PER_WEEK (7 * 24 * 60)
struct minrange {
	uint16_t lo, hi; /* inclusive */
};

/* ---- the model ------------------------------------------------------------ */

enum transport { TR_TCP, TR_UDP, TR_ICMP, TR_ICMPV6, TR_COUNT };

struct netset { /* `network` or `computers` */
	char *name;
	struct loc loc;
	bool is_network; /* `network` (counts for `external`) vs `computers` */
	struct addrset addrs;
	bool used;
	/* `network NAME { ... } on IFNAME` / `on { IF1 IF2 }`: the interfaces
	 * the network lies behind (networks only; none = not bound). A packet
	 * from these addresses arriving on another interface, or arriving on
	 * one of these interfaces from outside every network bound to it, is
	 * spoofed (docs/sluice.conf.5.md NETWORKS AND INTERFACES). */
	char **ifaces;
	size_t nifaces;
};

/* `nat SRC to DST [via ADDRESS]` (ISA's network rule "NAT"): sessions from
 * network SRC to network DST (NULL = `external`) leave with the gateway's
 * address on the outgoing interface (masquerade) or, with `via`, with
 * ADDRESS (TMG's enhanced NAT: SNAT, in ADDRESS's family only). Address
 * translation only: the access rules still decide every session. */
struct natrule {
	struct loc loc;
	struct netset *src;
	struct netset *dst; /* NULL = external */
	bool via;
	int family;	    /* of the via address: AF_INET or AF_INET6 */
	uint32_t v4;
	u128 v6;
};

struct domainset {
	char *name;
	struct loc loc;
	char **exact; /* lower case, no trailing dot */
	size_t nexact;
	char **suffix; /* "*.example.com" stored as "example.com" */
	size_t nsuffix;
	bool used;
};

struct userset {
	char *name;
	struct loc loc;
	char **users;
	size_t nusers;
	char **groups;
	size_t ngroups;
	bool used;
	/* the policy's identity.realms, which `user` entries and a session's
	 * user are compared under (set by policy_validate; NULL: none) */
	const struct own_realms *realms;
};

struct protocol {
	char *name;
	struct loc loc;
	enum transport tr;
	struct portrange *ports; /* destination ports or ICMP types; merged */
	size_t nports;		 /* 0 = every port / type */
	char *filter;		 /* application filter name, or NULL */
	bool filter_read_only;	 /* `filter ftp read-only` */
	bool used;
};

struct schedule {
	char *name;
	struct loc loc;
	struct minrange *v; /* merged */
	size_t n;
	bool used;
};

/* One side of a rule: `from X` or `to X`. */
struct endpoint {
	bool any;	/* `any` */
	bool local;	/* `localhost`: the gateway's own addresses */
	bool external;	/* `external`: in no network, not the gateway */
	struct netset **sets;
	size_t nsets;
	struct domainset **doms; /* destinations only */
	size_t ndoms;
	struct addrset literal; /* addresses written in the rule itself */
	struct addrset addrs;	/* compiled: every address this side matches
				 * when the side is not the gateway itself */
};

/* ACT_REJECT: a deny that answers the client at once (TCP reset, ICMP
 * administratively prohibited), rate-limited; docs/sluice.conf.5.md. */
enum action { ACT_ALLOW, ACT_DENY, ACT_REJECT };

struct rule {
	char *name;
	struct loc loc;
	int index; /* 0-based position in the policy */
	enum action action;
	struct protocol **protos; /* NULL/0 = any protocol */
	size_t nprotos;
	struct endpoint src, dst;
	struct userset **users; /* user sets; see users_auth */
	size_t nusers;
	bool users_auth; /* `authenticated` is among the user sets */
	bool needs_identity; /* has a users clause other than plain `all` */
	struct schedule *sched;
	bool log;
};

/* ---- service settings (parsed and checked now, used by the service) ---- */

enum on_deadline { ONDL_DENY, ONDL_SKIP };
/* decisions { deny-action }: denials no rule spells out (the implicit
 * final deny, deadlines) are dropped, or rejected like a reject rule. */
enum deny_action { DENYACT_DROP, DENYACT_REJECT };
enum fail_mode { FAIL_CLOSED, FAIL_OPEN };
enum revoke_mode { REVOKE_ON, REVOKE_OFF };
enum exit_mode { EXIT_REMOVE, EXIT_FAIL_CLOSED };
enum log_format { LOGF_JSON, LOGF_W3C, LOGF_ECS };

struct decisions_cfg {
	uint32_t slots, reserve_local_pct, per_source, deadline_ms;
	/* a "source" of per-source: the client address cut to this prefix */
	uint32_t per_source_prefix_v4, per_source_prefix_v6;
	enum on_deadline on_deadline;
	enum deny_action deny_action; /* what denials no rule spells out send */
	uint32_t deny_memory_s; /* a denied session's retransmits are dropped
				 * (rejected) by the kernel this long; 0 = off */
	uint32_t reject_rate;	/* rejects sent per second, all rules */
};
/* spoofing { reverse-path }: the source address of every packet that
 * arrives must be routed back through the interface it came in on
 * (strict, RFC 3704 §2.2), routed at all (loose, §2.4), or is not checked
 * (off). docs/kernel.md §l. */
enum reverse_path { RPATH_STRICT, RPATH_LOOSE, RPATH_OFF };
struct spoofing_cfg {
	int reverse_path; /* enum reverse_path */
};
/* flood { } (docs/sluice.conf.5.md): per-source limits the kernel
 * enforces before anything is queued; 0 = that limit off. */
struct flood_cfg {
	uint32_t tcp_connect_rate; /* SYNs per minute */
	uint32_t tcp_concurrent, tcp_half_open; /* sessions at once */
	uint32_t udp_rate;	   /* new non-TCP sessions per second */
	uint32_t prefix_v6;	   /* IPv6 sources counted by this prefix */
	char *exceptions;	   /* a network/computers name, or NULL */
	const struct netset *exc; /* resolved by the checker */
};
struct resolver_cfg {
	char **servers; /* addresses as written; none = /etc/resolv.conf */
	size_t nservers;
	uint32_t timeout_ms, cache, negative_ttl_s, refresh_min_s;
	int dns_rebinding;    /* enum rebinding (filter dns) */
	uint32_t dns_grace_s; /* a DNS answer's binding outlives its TTL */
	char *verify_name;    /* a dns verifier per server asks for it, or
			       * NULL (src/sluiced/farms.c) */
	uint32_t verify_every_ms; /* ... this often */
	char *dns_trusted; /* a network/computers name whose servers' answers
			    * bind names (filter dns), or NULL: servers */
};
/* resolver { dns-rebinding }: answers pointing names at private ranges or
 * the gateway (DNS rebinding) bind nothing, or bind. */
enum rebinding { REBIND_REFUSE, REBIND_ALLOW };
/* The application filter `filter dns`: the session is allowed and its DNS
 * answers are read (names learnt per client, src/sluiced/dnsfilter.c). */
#define FILTER_DNS "dns"
/* The application filter `filter ftp`: the control session is allowed and
 * the kernel's FTP conntrack helper reads it; the data connections it
 * expects are related sessions that carry the control session's decision
 * (ruleset.c, docs/kernel.md "FTP"). */
#define FILTER_FTP "ftp"
/* The directory's shape: which filters and attributes find users and
 * groups (src/identity/ldapdir.h). */
enum dir_schema { SCHEMA_RFC2307, SCHEMA_AD };
struct directory_cfg {
	bool enabled;
	char *uri, *base, *bind_dn, *password_file;
	char *user_filter, *group_filter;
	uint32_t timeout_ms, cache_ttl_s;
	enum dir_schema schema;
	bool starttls;	 /* ldap:// upgraded with StartTLS before the bind */
	bool tls_verify; /* the server's certificate must verify (default) */
	char *tls_ca;	 /* CA certificates file (default: the system's) */
	/* SASL GSSAPI bind (instead of bind-dn's simple bind): the client's
	 * keys, its name, and the server's host name in ldap/HOST */
	char *keytab, *principal, *kerberos_host;
};

/* True when A and B are the same resolver configuration: every field,
 * server lists and strings by value. The one comparison of resolver
 * settings: a reload rebuilds the resolver only when it says false. */
bool resolver_cfg_equal(const struct resolver_cfg *a,
			const struct resolver_cfg *b);
/* Deep copy of SRC into DST (aborts on memory exhaustion); DST is
 * overwritten without being freed. Free with resolver_cfg_clear. */
void resolver_cfg_copy(struct resolver_cfg *dst, const struct resolver_cfg *src);
/* Frees what C owns and zeroes it. */
void resolver_cfg_clear(struct resolver_cfg *c);
/* The same three for the directory: equal when every field (enabled
 * included) is, strings by value. */
bool directory_cfg_equal(const struct directory_cfg *a,
			 const struct directory_cfg *b);
void directory_cfg_copy(struct directory_cfg *dst,
			const struct directory_cfg *src);
void directory_cfg_clear(struct directory_cfg *c);

/*
 * Checks a directory URI the way the service will use it: ldap:// or
 * ldaps:// with a literal IPv4 address or [IPv6] address and an optional
 * port (resolving a name could block or itself need a decision), or
 * ldapi:// with a socket path. Returns NULL when good, else a static
 * message saying what is wrong. `sluicectl check` and sluiced both use it.
 */
const char *directory_uri_problem(const char *uri);

/*
 * True when the log file PATH may be a symbolic link the writer follows:
 * exactly /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N (links
 * the kernel keeps to an open descriptor; a prefix would let
 * "/dev/../x" or the world-writable /dev/shm through). Any other path's
 * last component is opened with O_NOFOLLOW: sluiced opens its log as
 * root, in a folder its own unprivileged user may write
 * (/var/log/sluice), so a link planted there must not send root's
 * appends (and the file's mode change) elsewhere.
 */
bool log_file_follows(const char *path);

/*
 * Checks that a secret file (bind password, keytab) is not readable or
 * writable by others, nor owned by a user other than root or the caller's
 * effective user. Returns NULL when good (or when PATH cannot be examined: the
 * daemon then reports the open failure), else a static message.
 */
const char *secret_file_problem(const char *path);
struct identity_cfg {
	uint32_t ttl_s, nss_workers, nss_timeout_ms, cache_ttl_s;
	char **ignore_users; /* service accounts never recorded */
	size_t nignore_users;
	char **own_realms; /* own-realms as written; NULL: derive them */
	size_t nown_realms;
	struct own_realms realms; /* in force: own_realms, or derived from
				   * the directory's base and principal
				   * (policy_validate); every user name is
				   * compared under these (username.h) */
	char *radius_listen;	  /* "ADDR:PORT"; NULL = no RADIUS */
	char *radius_secret_file; /* the clients' shared secret */
	char **radius_clients;	  /* addresses or prefixes that may send */
	size_t nradius_clients;
	struct addrset radius_nets; /* compiled radius_clients (normalized) */
	char *api_listen;     /* push API "ADDR:PORT"; NULL = off */
	char *api_token_file; /* the bearer token its requests carry */
	uint32_t api_max_connections, api_timeout_ms;
};
struct queue_cfg {
	uint32_t num, count, length, bufsize_kb, udp_timeout_s, watchdog_ms;
	uint32_t mark_shift; /* sluice owns mark bits [shift, shift+16) */
	enum fail_mode fail;
	enum revoke_mode revoke;
	enum exit_mode on_exit;
	uint32_t adopt_window_s; /* sessions older than sluiced: how long
				  * they are adopted (sluiced(8) START-UP) */
};
struct log_cfg {
	enum log_format format;
	char *file;
	bool syslog;
	uint32_t buffer;
	uint32_t nflog_group; /* NFLOG group of rules the kernel decides */
	uint32_t kernel_rate; /* their records a second, for the gateway */
};
struct metrics_cfg {
	char *listen; /* "127.0.0.1:9109"; NULL = off */
	uint32_t max_connections; /* open at once; more are closed at accept */
	uint32_t timeout_ms;	  /* a request must arrive (and be sent) within */
};
/* The control socket: who may connect and what each may do (sluiced(8)).
 * Names are resolved by the service when it applies the block. */
struct control_cfg {
	char *socket_owner, *socket_group; /* NULL = the daemon's user/group */
	uint32_t socket_mode;		   /* permission bits, 0600 */
	char **operator_groups;		   /* members: identities, drains */
	size_t noperator_groups;
	char **read_only_groups;	   /* members: status, lists, counters */
	size_t nread_only_groups;
	uint32_t max_clients; /* connections at once */
	uint32_t timeout_ms;  /* a request and its reply within */
};

/* The login portal (src/portal, sluice-portal(8)): an HTTPS page where a
 * user signs in with the directory password. NULL listen = no portal.
 * Its HTTP responder, where the kernel sends unidentified clients' web
 * sessions, is on PORTAL_HTTP_PORT of the same address. */
#define PORTAL_HTTP_PORT 80u
/* sluice-portal reports its counters to sluiced (control: portal-report)
 * every PORTAL_REPORT_S seconds; sluiced counts the portal's users signed
 * in as 0 once no report came for PORTAL_REPORT_STALE_MS (the portal
 * stopped, and its sign-ins with it). */
#define PORTAL_REPORT_S 2
#define PORTAL_REPORT_STALE_MS 10000u
struct portal_cfg {
	char *listen;		  /* "ADDR:PORT" of the HTTPS page */
	char *certificate, *key;  /* PEM files of the page's certificate */
	uint32_t lifetime_s;	  /* a sign-in lasts at most this long */
	uint32_t idle_s;	  /* ... and ends when the page is gone this long */
};

/* Verifier methods. Adding one: docs/hacking.md (a name in model.c's
 * table, a vprobe_ops in src/verify/vengine.c's table; both are sized by
 * VM_COUNT and checked by tests). */
enum verify_method { VM_ICMP, VM_TCP, VM_HTTP, VM_DNS, VM_COUNT };
enum http_auth { AUTH_NONE, AUTH_BASIC, AUTH_DIGEST, AUTH_NTLM, AUTH_NEGOTIATE };
/* The record type a dns check asks for (the `type` option). */
enum dns_qtype { DNSQ_A, DNSQ_AAAA };

struct verify_spec {
	enum verify_method method;
	char *target;	/* address (icmp, tcp, dns: the DNS server) or URL
			 * (http, https); a `*` in a farm's URL stands for
			 * the member */
	uint32_t port;	/* tcp, 1..65535; dns, 0 = 53 (uint32_t: the
			 * settings table stores every whole number as one) */
	uint32_t every_ms, timeout_ms, warn_ms;
	uint32_t rise, fall;
	struct portrange *expect; /* HTTP status ranges; none = 200-399 */
	size_t nexpect;
	char *body;		  /* substring the body must hold */
	char *host, *sni, *ca, *cert, *key;
	bool insecure;
	enum http_auth auth;
	char *user, *password_file;
	char *notify; /* command run at every state change (verify/vnotify.h) */
	/* dns: the name asked for, its record type, and an address the
	 * answer must hold (NULL: any record of the type will do) */
	char *qname;
	enum dns_qtype qtype;
	char *answer;
};

/* The name of method M as written in a policy ("icmp"), or NULL for a
 * value out of range. */
const char *verify_method_name(enum verify_method m);
/* The method written WORD (a name, or an alias: "ping", "https"); -1 for
 * none. */
int verify_method_parse(const char *word);
/* True when A and B are the same check configuration: every field,
 * strings and status ranges by value. The one comparison of specs (the
 * farm manager decides with it whether a check runs on unchanged). */
bool verify_spec_cfg_equal(const struct verify_spec *a,
			   const struct verify_spec *b);

/* Deep copy of SRC into DST (strings and ranges duplicated; aborts on
 * memory exhaustion like the rest of this library). DST is overwritten
 * without being freed; free it with verify_spec_free. */
void verify_spec_copy(struct verify_spec *dst, const struct verify_spec *src);
/* Frees what SPEC owns and zeroes it. */
void verify_spec_free(struct verify_spec *s);

struct verifier {
	char *name;
	struct loc loc;
	struct verify_spec spec;
};

enum balance { BAL_SOURCE_HASH, BAL_ROUND_ROBIN };
enum on_down { ONDOWN_KEEP, ONDOWN_FLUSH };

struct farm_member {
	char *name;
	struct loc loc;
	int family;
	uint32_t v4;
	u128 v6;
	uint16_t port; /* 0 = the published port */
};

struct farm {
	char *name;
	struct loc loc;
	struct farm_member *members;
	size_t nmembers;
	enum balance balance;
	bool has_verify;
	struct verify_spec verify;
	char *sorry; /* address of a sorry server, or NULL: all down → deny */
	enum on_down on_down;
	bool used;
};

struct publish {
	char *name;
	struct loc loc;
	enum transport tr;
	uint16_t port, to_port;
	int family;
	uint32_t v4;
	u128 v6;
	struct farm *farm;
	bool filter_ftp; /* `filter ftp`: the kernel's FTP helper reads it */
};

/* alert NAME when COUNTER[/s] OP VALUE [% of COUNTER] [options]
 * alert NAME when COUNTER grows over DURATION [options]
 * alert NAME off
 * (docs/counters.md). COUNTER is a name of the counters table
 * (policy/counters_names.h); the service evaluates the alert each tick. */
enum alert_op { ALERT_GT, ALERT_GE, ALERT_LT, ALERT_LE, ALERT_GROWS };

struct alert_def {
	char *name;
	struct loc loc;
	bool off;	    /* `off`: disables the default alert of that name */
	char *counter;	    /* the counter's name, without "/s" */
	bool rate;	    /* COUNTER/s: its increase per second */
	enum alert_op op;
	double value;	    /* threshold; a percentage when `of` is set */
	char *of;	    /* `N% of COUNTER`: relative to another counter */
	uint32_t window_ms; /* `grows over`: the window of the trend */
	uint32_t events;    /* `for N events`: ticks the condition holds */
	uint32_t within_ms; /* `within D`: ... inside a sliding window */
	uint32_t rearm_ms;  /* `rearm D`: 0 = fire again at once */
	bool rearm_manual;  /* `rearm manual`: until `sluicectl alerts reset` */
	char *run;	    /* `run "cmd args"`: no shell; NULL = none */
	bool log;	    /* `log` (also when no action is given) */
};

struct policy {
	/* Owned, freed by policy_free: the interned file names every loc.file
	 * of the model points into. While loading, also the messages, which
	 * the loader then copies to the caller's diags and drops here. */
	struct diags diags;
	struct netset **nets;
	size_t nnets;
	struct domainset **doms;
	size_t ndoms;
	struct userset **usersets;
	size_t nusersets;
	struct protocol **protos;
	size_t nprotos;
	struct schedule **scheds;
	size_t nscheds;
	struct rule **rules;
	size_t nrules;
	struct verifier **verifiers;
	size_t nverifiers;
	struct farm **farms;
	size_t nfarms;
	struct publish **publishes;
	size_t npublishes;
	struct alert_def **alerts;
	size_t nalerts;
	struct natrule **nats;
	size_t nnats;

	struct addrset external; /* every address in no `network` */

	struct decisions_cfg decisions;
	struct flood_cfg flood;
	struct spoofing_cfg spoofing;
	struct resolver_cfg resolver;
	struct directory_cfg directory;
	struct identity_cfg identity;
	struct queue_cfg queue;
	struct log_cfg log;
	struct metrics_cfg metrics;
	struct control_cfg control;
	struct portal_cfg portal;
};

/*
 * Loads, parses and checks the policy in PATH (following `include`s).
 * Every error and warning goes to D, located; D stays the caller's and may
 * be freed before or after the policy. Returns the policy when there is no
 * error (warnings allowed), NULL otherwise; the caller frees it with
 * policy_free, which frees everything the policy holds.
 */
struct policy *policy_load(const char *path, struct diags *d);
/* The same from a buffer; NAME is the file name used in diagnostics and the
 * base of relative includes. */
struct policy *policy_load_buffer(const char *name, const char *text,
				  size_t len, struct diags *d);
void policy_free(struct policy *p);

/* Looks up a rule by name; NULL when absent. */
const struct rule *policy_rule(const struct policy *p, const char *name);

/* ---- evaluation ----------------------------------------------------------- */

/* The header facts of a new session. Addresses in host byte order. */
struct flow {
	int family;    /* AF_INET or AF_INET6 */
	uint8_t proto; /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, or other */
	uint32_t src4, dst4;
	u128 src6, dst6;
	uint16_t sport, dport;
	uint8_t icmp_type;
	bool src_local, dst_local; /* from / to the gateway itself */
	uint16_t minute;	   /* minute of the week, gateway local time */
};

enum need { NEED_IDENTITY = 1, NEED_NAME = 2, NEED_FILTER = 4 };

/* Facts found by lookups, for the second call. */
struct facts {
	unsigned known;	   /* NEED_* bits: which of the below are given */
	const char *user;  /* identity known: user name, NULL = nobody */
	const char *const *groups;
	size_t ngroups;
	bool groups_unknown; /* the user is known, the group lookup failed:
			      * rules that need a group stay undecided */
	/* name known: every name the destination is known by (forward-
	 * confirmed reverse names, names resolved ahead of time), in any
	 * order, duplicates allowed; none = nnames 0. A destination matches a
	 * domain set when any of its names does. NAMES_PARTIAL: some evidence
	 * could not be had (a bound stopped the work, a query failed), so a
	 * rule that no known name matches stays undecided (NEED_NAME) instead
	 * of "no" — a bound never becomes a negative answer. */
	const char *const *names;
	size_t nnames;
	bool names_partial;
	bool filter_ok;	   /* filter known: the filter accepts the session */
};

enum verdict { VERDICT_ALLOW, VERDICT_DENY, VERDICT_PENDING };

struct decision {
	enum verdict verdict;
	int rule;	/* deciding or waiting rule index; -1 = implicit deny */
	unsigned needs; /* pending: NEED_* still missing for RULE */
	const char *filter; /* NEED_FILTER: the filter's name */
	const char *name; /* the destination name by which RULE's domain sets
			   * matched (the first of FACTS' names that does, in
			   * FACTS' order; points into FACTS), or NULL when RULE
			   * matched by address or has no domain sets */
};

/*
 * The reference evaluator: a plain linear scan, the definition of what a
 * policy means. First matching rule decides; none → deny. A rule whose
 * header matches but which needs a fact not in FACTS stops evaluation with
 * VERDICT_PENDING and the missing NEED_* bits; FACTS may be NULL.
 */
void policy_eval_linear(const struct policy *p, const struct flow *f,
			const struct facts *facts, struct decision *out);

/* Rule-level predicates shared by both evaluators. */
bool rule_header_match(const struct rule *r, const struct flow *f);
const struct protocol *rule_proto_match(const struct rule *r,
					const struct flow *f, bool *matched);
bool endpoint_addr_match(const struct endpoint *e, const struct flow *f,
			 bool dst);
bool users_match(const struct rule *r, const struct facts *facts);
/* User names compare in their canonical form under the policy's own
 * realms: common/username.h (user_name_equal). */
/* 1 the users clause matches, 0 it does not, -1 unknown (groups unknown). */
int users_match3(const struct rule *r, const struct facts *facts);
bool domainset_match(const struct domainset *d, const char *name);
/* The first of NAMES[0..N) that one of the domain sets DOMS[0..NDOMS)
 * matches, or NULL. */
const char *domainsets_match_any(struct domainset *const *doms, size_t ndoms,
				 const char *const *names, size_t n);
bool addrset_has4(const struct addrset *s, uint32_t a);
bool addrset_has6(const struct addrset *s, u128 a);

/* True when the kernel can decide R from header facts alone (a filter
 * that only watches the session, filter_watches(), does not stop it). */
bool rule_kernel_decidable(const struct rule *r);
/* True for an application filter that reads an allowed session instead of
 * deciding it (`filter dns`, `filter ftp`): the session is allowed at its
 * start. */
bool filter_watches(const char *filter);
/* True when R allows with `filter ftp` on one of its protocols: its control
 * sessions get the kernel's FTP helper (ruleset.c). */
bool rule_filters_ftp(const struct rule *r);
/* True when R allows with `filter dns` on one of its protocols: its
 * sessions' DNS messages go to sluiced (ruleset.c gen_dns_filter). */
bool rule_filters_dns(const struct rule *r);

/* The compiled engine: same answers as policy_eval_linear, indexed. */
struct engine;
struct engine *engine_build(const struct policy *p);
void engine_eval(const struct engine *e, const struct flow *f,
		 const struct facts *facts, struct decision *out);
/* True when a rule of E's policy allows with `filter dns` (rule_filters_dns):
 * the decision path keeps a session's first packet for the DNS filter only
 * then (decide.c may_filter_dns). */
bool engine_filters_dns(const struct engine *e);
size_t engine_memory(const struct engine *e);
void engine_free(struct engine *e);

/* Whether some allow rule of P admits a new PROTO (IPPROTO_*) session to
 * port PORT (host order) of the gateway itself from some source of
 * FAMILY (AF_INET, AF_INET6; AF_UNSPEC: either), its users clause and
 * schedule aside (validate.c). The anti-lockout checks ask it: `sluicectl
 * check` for tcp 22, `check --host` for the ports this host's sshd
 * listens on, in the families it listens in. */
bool policy_admits_to_gateway(const struct policy *p, int family,
			      uint8_t proto, uint16_t port);

/* Networks and interfaces (src/policy/netbind.c). True when interface
 * IFNAME has a network bound to it. */
bool policy_iface_bound(const struct policy *p, const char *ifname);
/* The nat rule that translates a session from SRC to DST (addresses of
 * FAMILY in host byte order, as in struct flow) leaving by interface OIF
 * (NULL or "" = unknown: a destination network bound to interfaces is then
 * matched by its addresses), or NULL: the session is routed. */
const struct natrule *policy_nat_match(const struct policy *p,
				       const struct flow *f, const char *oif);
/* True when F's source does not belong on interface IIF (the packet
 * arrived there): IIF is bound and the source is in no network bound to
 * it, or IIF is not bound and the source is in a bound network. The same
 * test as the kernel's antispoof chain. False for "lo", NULL or "". */
bool policy_spoofed(const struct policy *p, const struct flow *f,
		    const char *iif);
/* The network (is_network) that holds the address of F's source (DST
 * false) or destination (DST true); NULL = external. The first one in the
 * policy's order when networks overlap. */
const struct netset *policy_network_of(const struct policy *p,
				       const struct flow *f, bool dst);

/* ---- helpers shared by the CLI and the service ---------------------------- */

/*
 * Parses a flow written as "tcp 10.1.2.3:40000 -> 203.0.113.7:443" (udp the
 * same; "icmp A -> B [type T]", icmpv6 likewise, "[v6]:port" for IPv6, a
 * protocol number for others) into F. Returns 0, or -1 with an allocated
 * message in *ERR. Local flags and the minute are left zero.
 */
int flow_parse(const char *text, struct flow *f, char **err);
/* Parses "mon 09:30" into a minute of the week; -1 on error. */
int parse_week_time(const char *s);
/* Current local minute of the week. */
uint16_t week_minute_now(void);
/* Parses an IPv4 or IPv6 address (no brackets); returns AF_* or 0. */
int parse_addr(const char *s, uint32_t *v4, u128 *v6);
/* True when NAME is a DNS name a query can ask for (1..253 characters,
 * labels of 1..63 letters, digits, `-`, `_`; one trailing dot allowed). */
bool dns_name_ok(const char *name);
/* Formats an address into BUF (INET6_ADDRSTRLEN bytes at least). */
const char *format_addr(int family, uint32_t v4, u128 v6, char *buf,
			size_t len);
const char *verdict_name(enum verdict v);
const char *transport_name(enum transport t);

#endif
