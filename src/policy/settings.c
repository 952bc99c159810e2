/*
 * settings.c — tables of the service settings blocks. Each row holds its
 * key, type, field, range, help and default: the one home of each default
 * (the parser, the verifier library and docs/sluice.conf.5.md read them).
 */
#include "policy/settings.h"
#include "policy/internal.h"
#include "common/mark.h"
#include "common/util.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define P(field) offsetof(struct policy, field)
#define V(field) offsetof(struct verify_spec, field)

static const char *const ondl_enum[] = {"deny", "skip", NULL};
static const char *const denyact_enum[] = {"drop", "reject", NULL};
static const char *const fail_enum[] = {"closed", "open", NULL};
static const char *const revoke_enum[] = {"on", "off", NULL};
static const char *const exit_enum[] = {"remove", "fail-closed", NULL};
static const char *const logf_enum[] = {"json", "w3c", "ecs", NULL};
static const char *const schema_enum[] = {"rfc2307", "ad", NULL};
static const char *const rebind_enum[] = {"refuse", "allow", NULL};
/* by enum reverse_path */
static const char *const rpath_enum[] = {"strict", "loose", "off", NULL};
static const char *const auth_enum[] = {"none", "basic", "digest", "ntlm",
					"negotiate", NULL};
/* by enum dns_qtype */
static const char *const qtype_enum[] = {"a", "aaaa", NULL};

#define MAXU 0xffffffffu
#define DAY_MS (86400u * 1000u)

static const struct setting decisions_table[] = {
    {"slots", ST_UINT, P(decisions.slots), 0, 1, 1000000, NULL,
     "decision slots: sessions decided in user space at once",
     .def = 4096,
     .reload = RELOAD_LIVE},
    {"reserve-local", ST_PERCENT, P(decisions.reserve_local_pct), 0, 0, 90,
     NULL, "share of slots kept for sessions the gateway itself opens",
     .def = 10,
     .reload = RELOAD_LIVE},
    {"per-source", ST_UINT, P(decisions.per_source), 0, 1, 1000000, NULL,
     "slots one source (its prefix, below) may hold, sessions to the "
     "gateway included",
     .def = 256,
     .reload = RELOAD_LIVE},
    {"per-source-prefix-v4", ST_UINT, P(decisions.per_source_prefix_v4), 0,
     1, 32, NULL, "IPv4 sources counted together by this prefix length",
     .def = 32,
     .reload = RELOAD_LIVE},
    {"per-source-prefix-v6", ST_UINT, P(decisions.per_source_prefix_v6), 0,
     1, 128, NULL, "IPv6 sources counted together by this prefix length "
     "(64: one subnet, which one host may fill with addresses)",
     .def = 64,
     .reload = RELOAD_LIVE},
    {"deadline", ST_DURATION_MS, P(decisions.deadline_ms), 0, 10, 600000,
     NULL, "longest time a decision may wait for lookups",
     .def = 3000,
     .reload = RELOAD_LIVE},
    {"on-deadline", ST_ENUM, P(decisions.on_deadline), 0, 0, 0, ondl_enum,
     "deny: drop the session; skip: treat an unanswered user or name "
     "lookup as not matching and go on (an unanswered filter rejects)",
     .def = ONDL_DENY,
     .reload = RELOAD_LIVE},
    {"deny-action", ST_ENUM, P(decisions.deny_action), 0, 0, 0, denyact_enum,
     "what the implicit final deny and deadline denials send: drop "
     "(silence), or reject (TCP reset, ICMP administratively prohibited)",
     .def = DENYACT_DROP,
     .reload = RELOAD_LIVE},
    {"deny-memory", ST_DURATION_S, P(decisions.deny_memory_s), 0, 0, 3600,
     NULL, "the kernel drops (or rejects) the retransmits of a session "
     "sluiced denied for this long, without asking again (0: off)",
     .def = 10,
     .reload = RELOAD_LIVE},
    {"reject-rate", ST_UINT, P(decisions.reject_rate), 0, 1, 1000000, NULL,
     "resets and ICMP errors the kernel sends per second for rejects; "
     "beyond, rejected packets are only dropped",
     .def = 100,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

/* Flood mitigation, in the kernel (ruleset.c "flood"); TMG's defaults. */
static const char *const per_min[] = {"min", NULL};
static const char *const per_s[] = {"s", NULL};
static const struct setting flood_table[] = {
    {"tcp-connect-rate", ST_RATE, P(flood.tcp_connect_rate), 0, 0, 100000000,
     per_min, "new TCP sessions (SYNs) one source may open a minute; "
     "beyond, its SYNs are dropped (0: no limit)",
     .def = 600,
     .reload = RELOAD_LIVE},
    {"tcp-concurrent", ST_UINT, P(flood.tcp_concurrent), 0, 0, 1000000,
     NULL, "TCP sessions one source may hold open at once (conntrack "
     "count); beyond, its new SYNs are dropped (0: no limit)",
     .def = 160,
     .reload = RELOAD_LIVE},
    {"tcp-half-open", ST_UINT, P(flood.tcp_half_open), 0, 0, 1000000,
     NULL, "TCP sessions of one source that may be unanswered at once "
     "(SYN sent, no reply yet); beyond, its new SYNs are dropped (0: no "
     "limit)",
     .def = 80,
     .reload = RELOAD_LIVE},
    {"udp-rate", ST_RATE, P(flood.udp_rate), 0, 0, 1000000, per_s,
     "new non-TCP sessions (UDP, ICMP, others) one source may open a "
     "second; beyond, dropped (0: no limit)",
     .def = 1000,
     .reload = RELOAD_LIVE},
    {"exceptions", ST_STRING, P(flood.exceptions), 0, 0, 0, NULL,
     "a network or computers set whose addresses are never limited "
     "(servers that open many sessions)", .def = 0,
     .reload = RELOAD_LIVE, .example = "servers"},
    {"prefix-v6", ST_UINT, P(flood.prefix_v6), 0, 1, 128, NULL,
     "IPv6 sources counted together by this prefix length",
     .def = 64,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

/* Spoofing detection beyond networks bound to interfaces (ruleset.c
 * gen_antispoof). */
static const struct setting spoofing_table[] = {
    {"reverse-path", ST_ENUM, P(spoofing.reverse_path), 0, 0, 0, rpath_enum,
     "strict: a packet whose source is not routed back through the "
     "interface it arrived on is dropped as spoofed; loose: one whose "
     "source is not routed at all; off: no check",
     .def = RPATH_STRICT,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

static const struct setting resolver_table[] = {
    {"servers", ST_STRLIST, P(resolver.servers), P(resolver.nservers), 0, 0,
     NULL, "DNS servers (default: /etc/resolv.conf)", .def = 0,
     .reload = RELOAD_LIVE, .example = "198.18.3.3 198.18.3.4"},
    {"timeout", ST_DURATION_MS, P(resolver.timeout_ms), 0, 10, 60000, NULL,
     "per-query timeout",
     .def = 2000,
     .reload = RELOAD_LIVE},
    {"cache", ST_UINT, P(resolver.cache), 0, 0, 10000000, NULL,
     "cache entries (0 = no cache)",
     .def = 10000,
     .reload = RELOAD_LIVE},
    {"negative-ttl", ST_DURATION_S, P(resolver.negative_ttl_s), 0, 0, 86400,
     NULL, "how long a failed lookup is remembered",
     .def = 300,
     .reload = RELOAD_LIVE},
    {"refresh-min", ST_DURATION_S, P(resolver.refresh_min_s), 0, 1, 86400,
     NULL, "shortest refresh of names resolved ahead of time",
     .def = 30,
     .reload = RELOAD_LIVE},
    {"dns-rebinding", ST_ENUM, P(resolver.dns_rebinding), 0, 0, 0,
     rebind_enum, "refuse: a client's DNS answer pointing a name at a "
     "private, loopback, link-local or the gateway's own address binds "
     "nothing (filter dns); allow: it binds",
     .def = REBIND_REFUSE,
     .reload = RELOAD_LIVE},
    {"dns-trusted", ST_STRING, P(resolver.dns_trusted), 0, 0, 0, NULL,
     "a network or computers set: the DNS servers whose answers (read by "
     "filter dns) bind names; default: the resolver's servers",
     .def = 0,
     .reload = RELOAD_LIVE, .example = "infra"},
    {"dns-grace", ST_DURATION_S, P(resolver.dns_grace_s), 0, 0, 86400, NULL,
     "how long a name learnt from a client's DNS answer outlives its TTL",
     .def = 60,
     .reload = RELOAD_LIVE},
    {"verify-name", ST_STRING, P(resolver.verify_name), 0, 0, 0, NULL,
     "a dns verifier per server asks for this name (resolver/ADDRESS)",
     .def = 0,
     .reload = RELOAD_LIVE, .example = "www.example.org"},
    {"verify-every", ST_DURATION_MS, P(resolver.verify_every_ms), 0, 1000,
     DAY_MS, NULL, "interval of the verify-name checks", .def = 10000,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

static const struct setting directory_table[] = {
    {"uri", ST_STRING, P(directory.uri), 0, 0, 0, NULL,
     "ldap://ADDRESS[:PORT], ldaps://ADDRESS[:PORT] or ldapi://PATH",
     .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "ldap://198.18.4.3:389"},
    {"base", ST_STRING, P(directory.base), 0, 0, 0, NULL, "search base",
     .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "dc=example,dc=org"},
    {"bind-dn", ST_STRING, P(directory.bind_dn), 0, 0, 0, NULL,
     "DN to bind as (default: anonymous)", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "cn=sluice,dc=example,dc=org"},
    {"password-file", ST_STRING, P(directory.password_file), 0, 0, 0, NULL,
     "file holding the bind password", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "/etc/sluice/ldap.secret",
     .file = SF_SECRET},
    {"schema", ST_ENUM, P(directory.schema), 0, 0, 0, schema_enum,
     "rfc2307: posixAccount/posixGroup (memberUid, gidNumber) and "
     "groupOfNames; ad: Active Directory (sAMAccountName, nested member, "
     "primaryGroupID)",
     .def = SCHEMA_RFC2307,
     .reload = RELOAD_LIVE, .portal = true},
    {"user-filter", ST_STRING, P(directory.user_filter), 0, 0, 0, NULL,
     "filter finding a user's entry; %s is the user", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "(&(objectClass=person)(uid=%s))"},
    {"group-filter", ST_STRING, P(directory.group_filter), 0, 0, 0, NULL,
     "filter finding a user's groups; %s is the user, %D the entry's DN",
     .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "(&(objectClass=posixGroup)(memberUid=%s))"},
    {"starttls", ST_BOOL, P(directory.starttls), 0, 0, 0, NULL,
     "upgrade ldap:// with StartTLS before binding", .def = 0,
     .reload = RELOAD_LIVE, .portal = true},
    {"tls-verify", ST_BOOL, P(directory.tls_verify), 0, 0, 0, NULL,
     "the server's certificate must verify against tls-ca", .def = 1,
     .reload = RELOAD_LIVE, .portal = true},
    {"tls-ca", ST_STRING, P(directory.tls_ca), 0, 0, 0, NULL,
     "file of CA certificates (default: the system's)", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "/etc/sluice/ldap-ca.pem",
     .file = SF_READ},
    {"keytab", ST_STRING, P(directory.keytab), 0, 0, 0, NULL,
     "bind with SASL GSSAPI (Kerberos) using the keys in this keytab "
     "(instead of bind-dn)", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "/etc/sluice/sluice.keytab",
     .file = SF_SECRET},
    {"principal", ST_STRING, P(directory.principal), 0, 0, 0, NULL,
     "the Kerberos principal whose keys the keytab holds", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "sluice/gw.example.org@EXAMPLE.ORG"},
    {"kerberos-host", ST_STRING, P(directory.kerberos_host), 0, 0, 0, NULL,
     "the directory server's host name: its service principal is "
     "ldap/HOST, and a TLS certificate must name it", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "dc1.example.org"},
    {"timeout", ST_DURATION_MS, P(directory.timeout_ms), 0, 10, 60000, NULL,
     "per-search timeout",
     .def = 2000,
     .reload = RELOAD_LIVE, .portal = true},
    {"cache-ttl", ST_DURATION_S, P(directory.cache_ttl_s), 0, 0, 86400, NULL,
     "how long a user's groups are kept",
     .def = 300,
     .reload = RELOAD_LIVE, .portal = true},
    {.key = NULL},
};

static const struct setting identity_table[] = {
    {"ttl", ST_DURATION_S, P(identity.ttl_s), 0, 1, 30 * 86400, NULL,
     "default lifetime of an address-to-user entry",
     .def = 8 * 3600,
     .reload = RELOAD_LIVE},
    {"nss-workers", ST_UINT, P(identity.nss_workers), 0, 1, 64, NULL,
     "threads answering NSS lookups (which may block)",
     .def = 4,
     .reload = RELOAD_LIVE},
    {"nss-timeout", ST_DURATION_MS, P(identity.nss_timeout_ms), 0, 10,
     60000, NULL, "deadline of one NSS lookup",
     .def = 2000,
     .reload = RELOAD_LIVE},
    {"cache-ttl", ST_DURATION_S, P(identity.cache_ttl_s), 0, 0, 86400, NULL,
     "how long a uid's name and groups are kept",
     .def = 300,
     .reload = RELOAD_LIVE},
    {"ignore-users", ST_STRLIST, P(identity.ignore_users),
     P(identity.nignore_users), 0, 0, NULL,
     "service accounts whose logins are never recorded", .def = 0,
     .reload = RELOAD_LIVE, .example = "svc-backup svc-monitor"},
    {"own-realms", ST_STRLIST, P(identity.own_realms),
     P(identity.nown_realms), 0, 0, NULL,
     "the site's own realms and NetBIOS domains: only these are dropped "
     "from user@REALM and DOMAIN\\user (default: derived from directory "
     "base and principal)", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "CORP.EXAMPLE CORP"},
    {"radius-listen", ST_STRING, P(identity.radius_listen), 0, 0, 0, NULL,
     "address:port of the RADIUS accounting listener (off when unset)",
     .def = 0,
     .reload = RELOAD_LIVE, .example = "198.18.1.1:1813"},
    {"radius-secret-file", ST_STRING, P(identity.radius_secret_file), 0, 0,
     0, NULL, "file holding the RADIUS clients' shared secret", .def = 0,
     .reload = RELOAD_LIVE, .example = "/etc/sluice/radius.secret",
     .file = SF_SECRET},
    {"radius-clients", ST_STRLIST, P(identity.radius_clients),
     P(identity.nradius_clients), 0, 0, NULL,
     "addresses or prefixes allowed to send accounting", .def = 0,
     .reload = RELOAD_LIVE, .example = "198.18.1.2 198.18.1.0/28"},
    {"api-listen", ST_STRING, P(identity.api_listen), 0, 0, 0, NULL,
     "address:port of the JSON-over-HTTP push API (off when unset)",
     .def = 0,
     .reload = RELOAD_LIVE, .example = "127.0.0.1:8081"},
    {"api-token-file", ST_STRING, P(identity.api_token_file), 0, 0, 0, NULL,
     "file holding the bearer token push API requests must carry",
     .def = 0,
     .reload = RELOAD_LIVE, .example = "/etc/sluice/api.token",
     .file = SF_SECRET},
    {"api-max-connections", ST_UINT, P(identity.api_max_connections), 0, 1,
     4096, NULL, "push API connections served at once", .def = 16,
     .reload = RELOAD_LIVE},
    {"api-timeout", ST_DURATION_MS, P(identity.api_timeout_ms), 0, 100,
     600000, NULL, "a push API client must send its request, and take the "
     "answer, within", .def = 5000,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

static const struct setting queue_table[] = {
    {"num", ST_UINT, P(queue.num), 0, 0, 65000, NULL, "first queue number",
     .def = 0,
     .reload = RELOAD_RESTART},
    {"count", ST_UINT, P(queue.count), 0, 1, 64, NULL,
     "queues (one worker thread each, queue-balance)",
     .def = 1,
     .reload = RELOAD_RESTART},
    {"length", ST_UINT, P(queue.length), 0, 16, 1000000, NULL,
     "kernel queue length in packets",
     .def = 8192,
     .reload = RELOAD_LIVE},
    {"buffer", ST_UINT, P(queue.bufsize_kb), 0, 64, 1048576, NULL,
     "netlink socket receive buffer in KiB",
     .def = 4096,
     .reload = RELOAD_LIVE},
    {"udp-timeout", ST_DURATION_S, P(queue.udp_timeout_s), 0, 1, 86400,
     NULL, "a UDP/ICMP session ends after this much silence",
     .def = 60,
     .reload = RELOAD_LIVE},
    {"watchdog", ST_DURATION_MS, P(queue.watchdog_ms), 0, 10, 600000, NULL,
     "a queued packet without verdict this long gets the fail verdict",
     .def = 5000,
     .reload = RELOAD_LIVE},
    {"fail", ST_ENUM, P(queue.fail), 0, 0, 0, fail_enum,
     "closed: drop what cannot be decided; open: accept it",
     .def = FAIL_CLOSED,
     .reload = RELOAD_LIVE},
    {"revoke", ST_ENUM, P(queue.revoke), 0, 0, 0, revoke_enum,
     "on reload, cut sessions the new policy no longer allows",
     .def = REVOKE_ON,
     .reload = RELOAD_LIVE},
    {"on-exit", ST_ENUM, P(queue.on_exit), 0, 0, 0, exit_enum,
     "on a clean stop: remove every rule, or keep decided sessions and "
     "drop new ones",
     .def = EXIT_FAIL_CLOSED,
     .reload = RELOAD_LIVE},
    {"adopt-window", ST_DURATION_S, P(queue.adopt_window_s), 0, 0, 3600,
     NULL, "after a start: how long sessions older than sluiced are "
     "adopted and kept waiting for their facts (0: none)",
     .def = 120,
     .reload = RELOAD_RESTART},
    {.key = NULL},
};

static const struct setting log_table[] = {
    {"format", ST_ENUM, P(log.format), 0, 0, 0, logf_enum,
     "json lines, W3C extended, or ECS (Elastic Common Schema) json lines",
     .def = LOGF_JSON,
     .reload = RELOAD_LIVE},
    {"file", ST_STRING, P(log.file), 0, 0, 0, NULL,
     "firewall log file (reopened on SIGUSR1)", .def = 0,
     .reload = RELOAD_LIVE, .example = "/etc/sluice/firewall.log"},
    {"syslog", ST_BOOL, P(log.syslog), 0, 0, 0, NULL,
     "also send records to syslog",
     .def = false,
     .reload = RELOAD_LIVE},
    {"buffer", ST_UINT, P(log.buffer), 0, 16, 10000000, NULL,
     "records held when the writer lags; beyond, counted as dropped",
     .def = 4096,
     .reload = RELOAD_LIVE},
    {"nflog-group", ST_UINT, P(log.nflog_group), 0, 0, 65535, NULL,
     "NFLOG group through which the kernel hands sluiced the sessions "
     "`log` rules decide alone",
     .def = 1714,
     .reload = RELOAD_LIVE},
    {"kernel-rate", ST_UINT, P(log.kernel_rate), 0, 1, 1000000, NULL,
     "records a second of sessions the kernel decides, for the whole "
     "gateway (burst twice as many); beyond, not logged",
     .def = 1000,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

static const struct setting metrics_table[] = {
    {"listen", ST_STRING, P(metrics.listen), 0, 0, 0, NULL,
     "address:port of the Prometheus endpoint (off when unset)", .def = 0,
     .reload = RELOAD_LIVE, .example = "127.0.0.1:9129"},
    {"max-connections", ST_UINT, P(metrics.max_connections), 0, 1, 4096,
     NULL, "connections served at once; more are closed at once",
     .def = 16,
     .reload = RELOAD_LIVE},
    {"timeout", ST_DURATION_MS, P(metrics.timeout_ms), 0, 100, 600000,
     NULL, "a client must send its request, and take the answer, within",
     .def = 5000,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

static const struct setting control_table[] = {
    {"socket-owner", ST_STRING, P(control.socket_owner), 0, 0, 0, NULL,
     "user owning the control socket (default: the daemon's)", .def = 0,
     .reload = RELOAD_LIVE, .example = "root"},
    {"socket-group", ST_STRING, P(control.socket_group), 0, 0, 0, NULL,
     "group of the control socket (default: the daemon's)", .def = 0,
     .reload = RELOAD_LIVE, .example = "adm"},
    {"socket-mode", ST_MODE, P(control.socket_mode), 0, 0, 0777, NULL,
     "permission bits of the control socket, octal", .def = 0600,
     .reload = RELOAD_LIVE},
    {"operator-groups", ST_STRLIST, P(control.operator_groups),
     P(control.noperator_groups), 0, 0, NULL,
     "members may add and remove identities, drain and resume, and read",
     .def = 0,
     .reload = RELOAD_LIVE, .example = "netops helpdesk"},
    {"read-only-groups", ST_STRLIST, P(control.read_only_groups),
     P(control.nread_only_groups), 0, 0, NULL,
     "members may read status, lists and counters", .def = 0,
     .reload = RELOAD_LIVE, .example = "monitoring"},
    {"max-clients", ST_UINT, P(control.max_clients), 0, 1, 1024, NULL,
     "connections served at once", .def = 16,
     .reload = RELOAD_LIVE},
    {"timeout", ST_DURATION_MS, P(control.timeout_ms), 0, 100, 600000, NULL,
     "a client must send its request, and let the answer move on, within",
     .def = 5000,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

const struct setting verify_settings[] = {
    {"port", ST_UINT, V(port), 0, 1, 65535, NULL,
     "TCP port (tcp); the DNS server's port (dns, default 53)", .def = 0,
     .reload = RELOAD_LIVE},
    {"every", ST_DURATION_MS, V(every_ms), 0, 1000, DAY_MS, NULL,
     "interval between checks",
     .def = 30000,
     .reload = RELOAD_LIVE},
    {"timeout", ST_DURATION_MS, V(timeout_ms), 0, 10, 600000, NULL,
     "a check without answer this long fails",
     .def = 5000,
     .reload = RELOAD_LIVE},
    {"warn", ST_DURATION_MS, V(warn_ms), 0, 0, 600000, NULL,
     "response time above which the check warns",
     .def = 0,
     .reload = RELOAD_LIVE},
    {"rise", ST_UINT, V(rise), 0, 1, 100, NULL,
     "successes in a row that bring a server up",
     .def = 2,
     .reload = RELOAD_LIVE},
    {"fall", ST_UINT, V(fall), 0, 1, 100, NULL,
     "failures in a row that take a server down",
     .def = 3,
     .reload = RELOAD_LIVE},
    {"expect", ST_STATUSLIST, V(expect), V(nexpect), 0, 0, NULL,
     "HTTP status codes that pass (default 200-399)", .def = 0,
     .reload = RELOAD_LIVE},
    {"body", ST_STRING, V(body), 0, 0, 0, NULL,
     "text the response body must contain", .def = 0,
     .reload = RELOAD_LIVE},
    {"host", ST_STRING, V(host), 0, 0, 0, NULL, "Host header", .def = 0,
     .reload = RELOAD_LIVE},
    {"sni", ST_STRING, V(sni), 0, 0, 0, NULL, "TLS server name", .def = 0,
     .reload = RELOAD_LIVE},
    {"ca", ST_STRING, V(ca), 0, 0, 0, NULL, "CA bundle to verify with",
     .def = 0,
     .reload = RELOAD_LIVE, .file = SF_READ},
    {"cert", ST_STRING, V(cert), 0, 0, 0, NULL, "client certificate", .def = 0,
     .reload = RELOAD_LIVE, .file = SF_READ},
    {"key", ST_STRING, V(key), 0, 0, 0, NULL, "client key", .def = 0,
     .reload = RELOAD_LIVE, .file = SF_SECRET},
    {"insecure", ST_FLAG, V(insecure), 0, 0, 0, NULL,
     "do not verify the server's certificate",
     .def = false,
     .reload = RELOAD_LIVE},
    {"auth", ST_ENUM, V(auth), 0, 0, 0, auth_enum, "HTTP authentication",
     .def = AUTH_NONE,
     .reload = RELOAD_LIVE},
    {"user", ST_STRING, V(user), 0, 0, 0, NULL, "user for basic, digest, ntlm",
     .def = 0,
     .reload = RELOAD_LIVE},
    {"password-file", ST_STRING, V(password_file), 0, 0, 0, NULL,
     "file holding the password", .def = 0,
     .reload = RELOAD_LIVE, .file = SF_SECRET},
    {"notify", ST_STRING, V(notify), 0, 0, 0, NULL,
     "command run at every state change (no shell; as nobody)", .def = 0,
     .reload = RELOAD_LIVE,
     .file = SF_EXEC},
    {"name", ST_STRING, V(qname), 0, 0, 0, NULL, "name to query (dns)",
     .def = 0,
     .reload = RELOAD_LIVE},
    {"type", ST_ENUM, V(qtype), 0, 0, 0, qtype_enum,
     "record type to query (dns)", .def = DNSQ_A,
     .reload = RELOAD_LIVE},
    {"answer", ST_STRING, V(answer), 0, 0, 0, NULL,
     "an address the answer must hold (dns)", .def = 0,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

#define A(field) offsetof(struct alert_def, field)

/* `rearm manual` and `for N events` are read by the parser around these
 * rows: the table gives the key, the field and the range. */
const struct setting alert_settings[] = {
    {"for", ST_UINT, A(events), 0, 1, 100000, NULL,
     "for N events: fire when the condition held at N ticks",
     .def = 1,
     .reload = RELOAD_LIVE},
    {"within", ST_DURATION_MS, A(within_ms), 0, 1000, DAY_MS, NULL,
     "count only the events of this sliding window", .def = 0,
     .reload = RELOAD_LIVE},
    {"rearm", ST_DURATION_MS, A(rearm_ms), 0, 0, 30 * DAY_MS, NULL,
     "time before the alert may fire again (0 = at once; manual)",
     .def = 5 * 60 * 1000,
     .reload = RELOAD_LIVE},
    {"run", ST_STRING, A(run), 0, 0, 0, NULL,
     "command to run, with the alert in its environment (no shell)", .def = 0,
     .reload = RELOAD_LIVE,
     .file = SF_EXEC},
    {"log", ST_FLAG, A(log), 0, 0, 0, NULL,
     "log the alert (the default when no other action is given)", .def = 0,
     .reload = RELOAD_LIVE},
    {.key = NULL},
};

static const struct setting portal_table[] = {
    {"listen", ST_STRING, P(portal.listen), 0, 0, 0, NULL,
     "address:port of the login portal's HTTPS page (off when unset)",
     .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "198.18.1.1:8443"},
    {"certificate", ST_STRING, P(portal.certificate), 0, 0, 0, NULL,
     "PEM file of the page's certificate (and its chain)", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "/etc/sluice/portal.crt",
     .file = SF_READ},
    {"key", ST_STRING, P(portal.key), 0, 0, 0, NULL,
     "PEM file of the certificate's private key", .def = 0,
     .reload = RELOAD_LIVE, .portal = true, .example = "/etc/sluice/portal.key",
     .file = SF_SECRET},
    {"lifetime", ST_DURATION_S, P(portal.lifetime_s), 0, 60, 30 * 86400,
     NULL, "a sign-in lasts at most this long", .def = 8 * 3600,
     .reload = RELOAD_LIVE, .portal = true},
    {"idle", ST_DURATION_S, P(portal.idle_s), 0, 30, 86400, NULL,
     "a sign-in ends when its page has not been seen this long",
     .def = 900,
     .reload = RELOAD_LIVE, .portal = true},
    {.key = NULL},
};

enum { B_FLOOD, B_DECISIONS, B_RESOLVER, B_DIRECTORY, B_IDENTITY, B_QUEUE, B_LOG,
       B_METRICS, B_CONTROL, B_PORTAL, B_SPOOFING };

static const struct settings_block blocks[] = {
    {"decisions", B_DECISIONS, decisions_table},
    {"flood", B_FLOOD, flood_table},
    {"spoofing", B_SPOOFING, spoofing_table},
    {"resolver", B_RESOLVER, resolver_table},
    {"directory", B_DIRECTORY, directory_table},
    {"identity", B_IDENTITY, identity_table},
    {"queue", B_QUEUE, queue_table},
    {"log", B_LOG, log_table},
    {"metrics", B_METRICS, metrics_table},
    {"control", B_CONTROL, control_table},
    {"portal", B_PORTAL, portal_table},
    {NULL, 0, NULL},
};

const struct setting *setting_find(const struct setting *table,
				   const char *key)
{
	for (; table->key; table++)
		if (strcmp(table->key, key) == 0)
			return table;
	return NULL;
}

const char *setting_names(const struct setting *table)
{
	static char buf[512];
	buf[0] = '\0';
	for (const struct setting *s = table; s->key; s++) {
		if (s != table)
			strncat(buf, ", ", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, s->key, sizeof(buf) - strlen(buf) - 1);
	}
	return buf;
}

const struct settings_block *settings_block_find(const char *name)
{
	for (const struct settings_block *b = blocks; b->name; b++)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

const struct settings_block *settings_blocks(void)
{
	return blocks;
}

enum setting_storage setting_storage(enum setting_type t)
{
	switch (t) {
	case ST_UINT:
	case ST_PERCENT:
	case ST_DURATION_MS:
	case ST_DURATION_S:
	case ST_MODE:
	case ST_RATE:
		return SS_U32;
	case ST_BOOL:
	case ST_FLAG:
		return SS_BOOL;
	case ST_ENUM:
		return SS_INT;
	case ST_STRING:
		return SS_STRING;
	case ST_STRLIST:
		return SS_STRLIST;
	case ST_STATUSLIST:
		return SS_RANGES;
	}
	return SS_U32; /* not reached: every type is listed */
}

uint32_t setting_get(const struct setting *s, const void *base)
{
	const void *field = (const char *)base + s->off;
	switch (setting_storage(s->type)) {
	case SS_U32:
		return *(const uint32_t *)field;
	case SS_BOOL:
		return *(const bool *)field;
	case SS_INT:
		return (uint32_t)*(const int *)field;
	default:
		return 0;
	}
}

void setting_set(const struct setting *s, void *base, uint32_t v)
{
	void *field = (char *)base + s->off;
	switch (setting_storage(s->type)) {
	case SS_U32:
		*(uint32_t *)field = v;
		break;
	case SS_BOOL:
		*(bool *)field = v != 0;
		break;
	case SS_INT:
		*(int *)field = (int)v;
		break;
	default:
		break; /* none: NULL / empty, as calloc leaves them */
	}
}

void settings_apply_defaults(const struct setting *table, void *base)
{
	for (const struct setting *s = table; s->key; s++)
		setting_set(s, base, s->def);
}

uint32_t setting_default(const struct setting *table, const char *key)
{
	const struct setting *s = setting_find(table, key);
	return s ? s->def : 0;
}

void verify_spec_init(struct verify_spec *v)
{
	memset(v, 0, sizeof(*v));
	settings_apply_defaults(verify_settings, v);
}

void settings_defaults(struct policy *p)
{
	for (const struct settings_block *b = blocks; b->name; b++)
		settings_apply_defaults(b->table, p);
	/* not a setting: the kernel's mark layout (kernel/ruleset.h) */
	p->queue.mark_shift = MARK_SHIFT_DEFAULT;
}

/* ---- comparing, showing and pinning rows (reload) ------------------------ */

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool setting_equal(const struct setting *s, const void *a, const void *b)
{
	const void *fa = (const char *)a + s->off, *fb = (const char *)b + s->off;
	size_t na = 0, nb = 0;
	if (s->type == ST_STRLIST || s->type == ST_STATUSLIST) {
		na = *(const size_t *)((const char *)a + s->off2);
		nb = *(const size_t *)((const char *)b + s->off2);
		if (na != nb)
			return false;
	}
	switch (setting_storage(s->type)) {
	case SS_U32:
	case SS_BOOL:
	case SS_INT:
		return setting_get(s, a) == setting_get(s, b);
	case SS_STRING:
		return str_same(*(char *const *)fa, *(char *const *)fb);
	case SS_STRLIST:
		for (size_t i = 0; i < na; i++)
			if (!str_same((*(char **const *)fa)[i],
				      (*(char **const *)fb)[i]))
				return false;
		return true;
	case SS_RANGES:
		for (size_t i = 0; i < na; i++) {
			const struct portrange *ra = *(struct portrange *const *)fa;
			const struct portrange *rb = *(struct portrange *const *)fb;
			if (ra[i].lo != rb[i].lo || ra[i].hi != rb[i].hi)
				return false;
		}
		return true;
	}
	return false;
}

/* Appends the printf-formatted text to BUF (LEN bytes, holding *AT). */
static void put(char *buf, size_t len, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	if (*at >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at = *at + (size_t)n < len ? *at + (size_t)n : len - 1;
}

const char *setting_format(const struct setting *s, const void *base,
			   char *buf, size_t len)
{
	const void *f = (const char *)base + s->off;
	size_t at = 0, n = 0;
	uint32_t v = setting_get(s, base);
	buf[0] = '\0';
	if (s->type == ST_STRLIST || s->type == ST_STATUSLIST)
		n = *(const size_t *)((const char *)base + s->off2);
	switch (s->type) {
	case ST_UINT: put(buf, len, &at, "%u", v); break;
	case ST_PERCENT: put(buf, len, &at, "%u%%", v); break;
	case ST_DURATION_MS: put(buf, len, &at, "%ums", v); break;
	case ST_DURATION_S: put(buf, len, &at, "%us", v); break;
	case ST_MODE: put(buf, len, &at, "0%o", v); break;
	case ST_RATE: put(buf, len, &at, "%u/%s", v, s->enums[0]); break;
	case ST_BOOL:
	case ST_FLAG: put(buf, len, &at, "%s", v ? "yes" : "no"); break;
	case ST_ENUM:
		for (uint32_t i = 0; s->enums[i]; i++)
			if (i == v)
				put(buf, len, &at, "%s", s->enums[i]);
		break;
	case ST_STRING:
		if (*(char *const *)f)
			put(buf, len, &at, "%s", *(char *const *)f);
		break;
	case ST_STRLIST:
		for (size_t i = 0; i < n; i++)
			put(buf, len, &at, "%s%s", i ? " " : "",
			    (*(char **const *)f)[i]);
		break;
	case ST_STATUSLIST:
		for (size_t i = 0; i < n; i++) {
			const struct portrange *r = *(struct portrange *const *)f;
			if (r[i].lo == r[i].hi)
				put(buf, len, &at, "%s%u", i ? " " : "", r[i].lo);
			else
				put(buf, len, &at, "%s%u-%u", i ? " " : "",
				    r[i].lo, r[i].hi);
		}
		break;
	}
	return buf;
}

size_t settings_reload_pin(struct policy *p, const struct policy *old,
			   settings_change_fn fn, void *arg)
{
	bool portal = p->portal.listen || old->portal.listen;
	size_t n = 0;
	for (const struct settings_block *b = blocks; b->name; b++)
		for (const struct setting *s = b->table; s->key; s++) {
			if (setting_equal(s, p, old))
				continue;
			char asked[256], running[256];
			setting_format(s, p, asked, sizeof(asked));
			setting_format(s, old, running, sizeof(running));
			if (s->reload == RELOAD_RESTART) {
				fn(arg, b, s, RELOAD_RESTART, asked, running);
				setting_set(s, p, setting_get(s, old));
				n++;
			} else if (s->portal && portal) {
				fn(arg, b, s, RELOAD_LIVE, asked, running);
				n++;
			}
		}
	return n;
}
