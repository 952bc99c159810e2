/*
 * settings.c — tables of the service settings blocks and their defaults.
 */
#include "policy/settings.h"
#include "policy/internal.h"
#include "common/util.h"

#include <stddef.h>
#include <string.h>

#define P(field) offsetof(struct policy, field)
#define V(field) offsetof(struct verify_spec, field)

static const char *const ondl_enum[] = {"deny", "skip", NULL};
static const char *const fail_enum[] = {"closed", "open", NULL};
static const char *const revoke_enum[] = {"on", "off", NULL};
static const char *const exit_enum[] = {"remove", "fail-closed", NULL};
static const char *const logf_enum[] = {"json", "w3c", NULL};
static const char *const auth_enum[] = {"none", "basic", "digest", "ntlm",
					"negotiate", NULL};

#define MAXU 0xffffffffu
#define DAY_MS (86400u * 1000u)

static const struct setting decisions_table[] = {
    {"slots", ST_UINT, P(decisions.slots), 0, 1, 1000000, NULL,
     "decision slots: sessions decided in user space at once"},
    {"reserve-local", ST_PERCENT, P(decisions.reserve_local_pct), 0, 0, 90,
     NULL, "share of slots kept for traffic from/to the gateway itself"},
    {"per-source", ST_UINT, P(decisions.per_source), 0, 1, 1000000, NULL,
     "slots one source address may hold"},
    {"deadline", ST_DURATION_MS, P(decisions.deadline_ms), 0, 10, 600000,
     NULL, "longest time a decision may wait for lookups"},
    {"on-deadline", ST_ENUM, P(decisions.on_deadline), 0, 0, 0, ondl_enum,
     "deny: drop the session; skip: treat an unanswered user or name "
     "lookup as not matching and go on (an unanswered filter rejects)"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct setting resolver_table[] = {
    {"servers", ST_STRLIST, P(resolver.servers), P(resolver.nservers), 0, 0,
     NULL, "DNS servers (default: /etc/resolv.conf)"},
    {"timeout", ST_DURATION_MS, P(resolver.timeout_ms), 0, 10, 60000, NULL,
     "per-query timeout"},
    {"cache", ST_UINT, P(resolver.cache), 0, 0, 10000000, NULL,
     "cache entries (0 = no cache)"},
    {"negative-ttl", ST_DURATION_S, P(resolver.negative_ttl_s), 0, 0, 86400,
     NULL, "how long a failed lookup is remembered"},
    {"refresh-min", ST_DURATION_S, P(resolver.refresh_min_s), 0, 1, 86400,
     NULL, "shortest refresh of names resolved ahead of time"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct setting directory_table[] = {
    {"uri", ST_STRING, P(directory.uri), 0, 0, 0, NULL, "ldap://host:port"},
    {"base", ST_STRING, P(directory.base), 0, 0, 0, NULL, "search base"},
    {"bind-dn", ST_STRING, P(directory.bind_dn), 0, 0, 0, NULL,
     "DN to bind as (default: anonymous)"},
    {"password-file", ST_STRING, P(directory.password_file), 0, 0, 0, NULL,
     "file holding the bind password"},
    {"user-filter", ST_STRING, P(directory.user_filter), 0, 0, 0, NULL,
     "filter finding a user's entry; %s is the user"},
    {"group-filter", ST_STRING, P(directory.group_filter), 0, 0, 0, NULL,
     "filter finding a user's groups; %s is the user"},
    {"timeout", ST_DURATION_MS, P(directory.timeout_ms), 0, 10, 60000, NULL,
     "per-search timeout"},
    {"cache-ttl", ST_DURATION_S, P(directory.cache_ttl_s), 0, 0, 86400, NULL,
     "how long a user's groups are kept"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct setting identity_table[] = {
    {"ttl", ST_DURATION_S, P(identity.ttl_s), 0, 1, 30 * 86400, NULL,
     "default lifetime of an address-to-user entry"},
    {"nss-workers", ST_UINT, P(identity.nss_workers), 0, 1, 64, NULL,
     "threads answering NSS lookups (which may block)"},
    {"nss-timeout", ST_DURATION_MS, P(identity.nss_timeout_ms), 0, 10,
     60000, NULL, "deadline of one NSS lookup"},
    {"cache-ttl", ST_DURATION_S, P(identity.cache_ttl_s), 0, 0, 86400, NULL,
     "how long a uid's name and groups are kept"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct setting queue_table[] = {
    {"num", ST_UINT, P(queue.num), 0, 0, 65000, NULL, "first queue number"},
    {"count", ST_UINT, P(queue.count), 0, 1, 64, NULL,
     "queues (one worker thread each, queue-balance)"},
    {"length", ST_UINT, P(queue.length), 0, 16, 1000000, NULL,
     "kernel queue length in packets"},
    {"buffer", ST_UINT, P(queue.bufsize_kb), 0, 64, 1048576, NULL,
     "netlink socket receive buffer in KiB"},
    {"udp-timeout", ST_DURATION_S, P(queue.udp_timeout_s), 0, 1, 86400,
     NULL, "a UDP/ICMP session ends after this much silence"},
    {"watchdog", ST_DURATION_MS, P(queue.watchdog_ms), 0, 10, 600000, NULL,
     "a queued packet without verdict this long gets the fail verdict"},
    {"fail", ST_ENUM, P(queue.fail), 0, 0, 0, fail_enum,
     "closed: drop what cannot be decided; open: accept it"},
    {"revoke", ST_ENUM, P(queue.revoke), 0, 0, 0, revoke_enum,
     "on reload, cut sessions the new policy no longer allows"},
    {"on-exit", ST_ENUM, P(queue.on_exit), 0, 0, 0, exit_enum,
     "on a clean stop: remove every rule, or keep decided sessions and "
     "drop new ones"},
    {"adopt-window", ST_DURATION_S, P(queue.adopt_window_s), 0, 0, 3600,
     NULL, "after a start: how long sessions older than sluiced are "
     "adopted and kept waiting for their facts (0: none)"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct setting log_table[] = {
    {"format", ST_ENUM, P(log.format), 0, 0, 0, logf_enum,
     "json lines or W3C extended"},
    {"file", ST_STRING, P(log.file), 0, 0, 0, NULL,
     "firewall log file (reopened on SIGUSR1)"},
    {"syslog", ST_BOOL, P(log.syslog), 0, 0, 0, NULL,
     "also send records to syslog"},
    {"buffer", ST_UINT, P(log.buffer), 0, 16, 10000000, NULL,
     "records held when the writer lags; beyond, counted as dropped"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct setting metrics_table[] = {
    {"listen", ST_STRING, P(metrics.listen), 0, 0, 0, NULL,
     "address:port of the Prometheus endpoint (off when unset)"},
    {"max-connections", ST_UINT, P(metrics.max_connections), 0, 1, 4096,
     NULL, "connections served at once; more are closed at once"},
    {"timeout", ST_DURATION_MS, P(metrics.timeout_ms), 0, 100, 600000,
     NULL, "a client must send its request, and take the answer, within"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct setting control_table[] = {
    {"socket-owner", ST_STRING, P(control.socket_owner), 0, 0, 0, NULL,
     "user owning the control socket (default: the daemon's)"},
    {"socket-group", ST_STRING, P(control.socket_group), 0, 0, 0, NULL,
     "group of the control socket (default: the daemon's)"},
    {"socket-mode", ST_MODE, P(control.socket_mode), 0, 0, 0777, NULL,
     "permission bits of the control socket, octal"},
    {"operator-groups", ST_STRLIST, P(control.operator_groups),
     P(control.noperator_groups), 0, 0, NULL,
     "members may add and remove identities, drain and resume, and read"},
    {"read-only-groups", ST_STRLIST, P(control.read_only_groups),
     P(control.nread_only_groups), 0, 0, NULL,
     "members may read status, lists and counters"},
    {"max-clients", ST_UINT, P(control.max_clients), 0, 1, 1024, NULL,
     "connections served at once"},
    {"timeout", ST_DURATION_MS, P(control.timeout_ms), 0, 100, 600000, NULL,
     "a client must send its request, and take the answer, within"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

const struct setting verify_settings[] = {
    {"port", ST_UINT, V(port), 0, 1, 65535, NULL, "TCP port (tcp)"},
    {"every", ST_DURATION_MS, V(every_ms), 0, 1000, DAY_MS, NULL,
     "interval between checks"},
    {"timeout", ST_DURATION_MS, V(timeout_ms), 0, 10, 600000, NULL,
     "a check without answer this long fails"},
    {"warn", ST_DURATION_MS, V(warn_ms), 0, 0, 600000, NULL,
     "response time above which the check warns"},
    {"rise", ST_UINT, V(rise), 0, 1, 100, NULL,
     "successes in a row that bring a server up"},
    {"fall", ST_UINT, V(fall), 0, 1, 100, NULL,
     "failures in a row that take a server down"},
    {"expect", ST_STATUSLIST, V(expect), V(nexpect), 0, 0, NULL,
     "HTTP status codes that pass (default 200-399)"},
    {"body", ST_STRING, V(body), 0, 0, 0, NULL,
     "text the response body must contain"},
    {"host", ST_STRING, V(host), 0, 0, 0, NULL, "Host header"},
    {"sni", ST_STRING, V(sni), 0, 0, 0, NULL, "TLS server name"},
    {"ca", ST_STRING, V(ca), 0, 0, 0, NULL, "CA bundle to verify with"},
    {"cert", ST_STRING, V(cert), 0, 0, 0, NULL, "client certificate"},
    {"key", ST_STRING, V(key), 0, 0, 0, NULL, "client key"},
    {"insecure", ST_FLAG, V(insecure), 0, 0, 0, NULL,
     "do not verify the server's certificate"},
    {"auth", ST_ENUM, V(auth), 0, 0, 0, auth_enum, "HTTP authentication"},
    {"user", ST_STRING, V(user), 0, 0, 0, NULL, "user for basic, digest, ntlm"},
    {"password-file", ST_STRING, V(password_file), 0, 0, 0, NULL,
     "file holding the password"},
    {"notify", ST_STRING, V(notify), 0, 0, 0, NULL,
     "command run at every state change (no shell; as nobody)"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

#define A(field) offsetof(struct alert_def, field)

/* `rearm manual` and `for N events` are read by the parser around these
 * rows: the table gives the key, the field and the range. */
const struct setting alert_settings[] = {
    {"for", ST_UINT, A(events), 0, 1, 100000, NULL,
     "for N events: fire when the condition held at N ticks"},
    {"within", ST_DURATION_MS, A(within_ms), 0, 1000, DAY_MS, NULL,
     "count only the events of this sliding window"},
    {"rearm", ST_DURATION_MS, A(rearm_ms), 0, 0, 30 * DAY_MS, NULL,
     "time before the alert may fire again (0 = at once; manual)"},
    {"run", ST_STRING, A(run), 0, 0, 0, NULL,
     "command to run, with the alert in its environment (no shell)"},
    {"log", ST_FLAG, A(log), 0, 0, 0, NULL,
     "log the alert (the default when no other action is given)"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

enum { B_DECISIONS, B_RESOLVER, B_DIRECTORY, B_IDENTITY, B_QUEUE, B_LOG,
       B_METRICS, B_CONTROL };

static const struct settings_block blocks[] = {
    {"decisions", B_DECISIONS, decisions_table},
    {"resolver", B_RESOLVER, resolver_table},
    {"directory", B_DIRECTORY, directory_table},
    {"identity", B_IDENTITY, identity_table},
    {"queue", B_QUEUE, queue_table},
    {"log", B_LOG, log_table},
    {"metrics", B_METRICS, metrics_table},
    {"control", B_CONTROL, control_table},
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

void verify_spec_defaults(struct verify_spec *v)
{
	memset(v, 0, sizeof(*v));
	v->every_ms = 30000;
	v->timeout_ms = 5000;
	v->rise = 2;
	v->fall = 3;
}

/* Defaults follow the seeds: TMG's DNS cache of 10,000 and negative TTL of
 * 300 s; decisions sized in thousands with 10 % for the gateway itself. */
void settings_defaults(struct policy *p)
{
	p->decisions = (struct decisions_cfg){.slots = 4096,
					      .reserve_local_pct = 10,
					      .per_source = 256,
					      .deadline_ms = 3000,
					      .on_deadline = ONDL_DENY};
	p->resolver = (struct resolver_cfg){.timeout_ms = 2000,
					    .cache = 10000,
					    .negative_ttl_s = 300,
					    .refresh_min_s = 30};
	p->directory = (struct directory_cfg){.timeout_ms = 2000,
					      .cache_ttl_s = 300};
	p->identity = (struct identity_cfg){.ttl_s = 8 * 3600,
					    .nss_workers = 4,
					    .nss_timeout_ms = 2000,
					    .cache_ttl_s = 300};
	p->queue = (struct queue_cfg){.num = 0,
				      .count = 1,
				      .length = 8192,
				      .bufsize_kb = 4096,
				      .udp_timeout_s = 60,
				      .watchdog_ms = 5000,
				      .mark_shift = 16,
				      .fail = FAIL_CLOSED,
				      .revoke = REVOKE_ON,
				      .on_exit = EXIT_FAIL_CLOSED,
				      .adopt_window_s = 120};
	p->log = (struct log_cfg){.format = LOGF_JSON, .buffer = 4096};
	p->metrics = (struct metrics_cfg){.max_connections = 16,
					  .timeout_ms = 5000};
	p->control = (struct control_cfg){.socket_mode = 0600,
					  .max_clients = 16,
					  .timeout_ms = 5000};
}
