/*
 * idsources.c — the identity table's life in sluiced: its ignore list
 * from `identity { ignore-users }`, its state file (kept across restarts
 * and read back at start), and the RADIUS accounting listener
 * (`identity { radius-listen radius-secret-file radius-clients }`) on the
 * main loop. The table itself lives across reloads (d->ids).
 */
#include "sluiced/daemon.h"
#include "common/addrport.h"
#include "common/log.h"
#include "common/statefile.h"
#include "common/text.h"
#include "common/util.h"
#include "identity/idtable.h"
#include "identity/radius.h"
#include "stats/prom.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest state file read back (100,000 entries of ~200 bytes, and more). */
#define STATE_MAX (256u << 20)
/* Datagrams read in one wake-up before the loop serves others. */
#define RADIUS_BATCH 256

struct radius_srv {
	int fd;
	struct event *ev;
	char *addr; /* what radius-listen said */
	struct radius_ctx ctx; /* ctx.seen: d->radius_seen */
	uint64_t drops_logged, last_log;
};

static struct radius_srv *srv_of(struct daemon *d)
{
	return d->radius;
}

/* Where the RADIUS listener's replay memory is kept: the control
 * socket's path plus ".radius-seen": SEEN_MAGIC, then radius_seen_export's
 * bytes (the floor, then each authenticator with its sending time, oldest
 * first). */
static char *seen_path(const struct daemon *d)
{
	return xasprintf("%s.radius-seen", d->socket_path);
}
static const char SEEN_MAGIC[] = "sluice radius-seen 3\n";
#define SEEN_MAGIC_LEN (sizeof(SEEN_MAGIC) - 1)

/* Reads the replay memory saved by a sluiced before into SEEN (a new
 * listener's). An absent file is none (a first start; /run after a
 * reboot). One that cannot be read or is of another shape (the version-1
 * and -2 files of an older sluiced, without sending times or NAS keys)
 * is logged, and
 * requests sent before now are refused (the floor raised to now): what
 * was taken before is unknown, and a Start captured then must not apply. */
static void seen_restore(struct daemon *d, struct radius_seen *seen)
{
	char *path = seen_path(d);
	size_t len;
	char *b = statefile_read(path, SEEN_MAGIC_LEN + RADIUS_SEEN_SAVE_MAX,
				 &len);
	bool ok = false;
	if (!b) {
		ok = errno == ENOENT;
		if (!ok)
			log_warn("radius: replay memory %s not read (requests "
				 "sent before now are refused)", path);
	} else if (len < SEEN_MAGIC_LEN || memcmp(b, SEEN_MAGIC, SEEN_MAGIC_LEN) ||
		   radius_seen_import(seen, (const uint8_t *)b + SEEN_MAGIC_LEN,
				      len - SEEN_MAGIC_LEN) < 0) {
		log_warnx("radius: %s is not this sluiced's replay memory; "
			  "ignored (requests sent before now are refused)",
			  path);
	} else {
		ok = true;
		d->seen_saved = radius_seen_taken(seen);
		log_info("radius: %llu request authenticators read back from "
			 "%s (replays of them are refused)",
			 (unsigned long long)d->seen_saved, path);
	}
	if (!ok)
		radius_seen_hold(seen, (int64_t)time(NULL));
	free(b);
	free(path);
}

/* Where the table is kept: the control socket's path plus ".identities"
 * (one file per daemon, in the folder sluiced owns, as the ICMP state). */
static char *state_path(const struct daemon *d)
{
	return xasprintf("%s.identities", d->socket_path);
}

/* The policy file the table belongs to, as the state file names it: the
 * absolute path (a relative -c is taken from the working directory), with
 * each byte that is not valid UTF-8 written as \xNN (text_escape), as a
 * JSON string must be UTF-8: a UTF-8 path is kept as it is. */
static char *policy_id(const struct daemon *d)
{
	char *abs = realpath(d->config_path, NULL);
	const char *p = abs ? abs : d->config_path;
	char *id = text_escape_dup(p, strlen(p), false);
	free(abs);
	return id;
}

/* A state file at PATH that cannot be read back (unreadable, refused by
 * statefile_read: a link, writable by others; not a state file of
 * sluiced) is renamed PATH.bad-SECONDS before anything is written under
 * its name, so the next save does not replace what it held: it is there
 * to look at, and nothing is lost. */
static void set_aside(const char *path)
{
	char *bad = xasprintf("%s.bad-%lld", path, (long long)time(NULL));
	if (rename(path, bad) == 0)
		log_warnx("identities: %s set aside as %s (the table starts "
			  "empty)", path, bad);
	else if (errno != ENOENT)
		log_warn("identities: %s could not be set aside", path);
	free(bad);
}

/*
 * The state file is {"policy": PATH, "table": <idtable_save()>}: the table
 * is read back only by a sluiced started with the same policy file. Who is
 * at an address was learnt for that policy's networks and sources; a start
 * under another policy (another gateway's, a lab's) begins with an empty
 * table instead of carrying identities into rules they were never meant
 * for.
 */
void idsources_restore(struct daemon *d)
{
	char *path = state_path(d);
	size_t len;
	char *text = statefile_read(path, STATE_MAX, &len);
	if (!text) {
		if (errno != ENOENT) {
			log_warn("identities: %s not read", path);
			set_aside(path);
		}
		free(path);
		return;
	}
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	const char *pol = json_string_value(json_object_get(doc, "policy"));
	json_t *table = json_object_get(doc, "table");
	char *me = policy_id(d);
	char *inner = table ? json_dumps(table, JSON_COMPACT) : NULL;
	long n = -1;
	d->ids_foreign = pol && inner && strcmp(pol, me) != 0;
	if (d->ids_foreign)
		log_info("identities: %s belongs to policy %s, not %s; not read "
			 "back (and kept while this table stays empty)", path,
			 pol, me);
	else if (pol && inner)
		n = idtable_load(d->ids, inner, strlen(inner), time(NULL));
	if (n < 0 && !(pol && inner && strcmp(pol, me) != 0)) {
		log_warnx("identities: %s is not a state file of sluiced; "
			  "ignored", path);
		set_aside(path);
	} else if (n >= 0)
		log_info("identities: %ld read back from %s", n, path);
	free(inner);
	free(me);
	json_decref(doc);
	d->ids_saved = idtable_version(d->ids);
	free(path);
}

/*
 * A save of the table (idsources_save): the snapshot is taken on the main
 * thread (idtable_snapshot: a copy under the lock, about 50 ms at
 * 262,144 entries), the text made and written (about 1 s and 37 MB
 * there, with the fsync) on a thread of its own, so the event loop does
 * not stop for it. The thread touches nothing of the daemon's.
 */
struct id_save {
	pthread_t tid;
	bool thread; /* run on tid (else on the caller's thread) */
	struct idtable_snapshot *sn; /* NULL: the table is not written */
	char *policy;	  /* policy_id() */
	char *path;	  /* state_path() */
	uint64_t version; /* idtable_version() of the snapshot */
	uint8_t *seen;	  /* the replay memory's file, or NULL */
	size_t seen_len;
	char *seen_path;      /* seen_path() */
	uint64_t seen_taken;  /* radius_seen_taken() of it */
	atomic_bool done;
	int rc, err; /* statefile_write()'s result and errno */
	int seen_rc, seen_err; /* the same for the replay memory */
};

/* The state document {"policy": POLICY, "table": TABLE}: TABLE (LEN
 * bytes of idtable text) is put in as it is, not parsed and printed
 * again. NULL when POLICY is not UTF-8 (jansson refuses it; policy_id()
 * never gives such). */
static char *state_text(const char *policy, const char *table, size_t len)
{
	json_t *p = json_string(policy);
	char *ps = p ? json_dumps(p, JSON_ENCODE_ANY) : NULL;
	json_decref(p);
	if (!ps)
		return NULL;
	size_t pl = strlen(ps);
	static const char a[] = "{\"policy\":", b[] = ",\"table\":";
	char *out = xcalloc(1, sizeof(a) + pl + sizeof(b) + len + 2);
	char *w = out;
	w = mempcpy(w, a, sizeof(a) - 1);
	w = mempcpy(w, ps, pl);
	w = mempcpy(w, b, sizeof(b) - 1);
	w = mempcpy(w, table, len);
	*w = '}';
	free(ps);
	return out;
}

static void *save_run(void *arg)
{
	struct id_save *j = arg;
	if (j->sn) {
		size_t len;
		char *table = idtable_snapshot_save(j->sn, &len);
		char *text = state_text(j->policy, table, len);
		j->rc = text ? statefile_write(j->path, text, strlen(text)) : -1;
		j->err = text ? errno : EILSEQ;
		free(text);
		free(table);
	}
	if (j->seen) {
		j->seen_rc = statefile_write(j->seen_path, j->seen, j->seen_len);
		j->seen_err = errno;
	}
	atomic_store(&j->done, true);
	return NULL;
}

/* Ends the save under way, waiting for it when WAIT, else only when it is
 * done: logs a failure, or marks its version saved. True when no save is
 * left under way. */
static bool save_reap(struct daemon *d, bool wait)
{
	struct id_save *j = d->ids_job;
	if (!j)
		return true;
	if (j->thread && !wait && !atomic_load(&j->done))
		return false;
	if (j->thread)
		pthread_join(j->tid, NULL);
	if (j->sn && j->rc < 0) {
		errno = j->err;
		log_warn("identities: %s not written", j->path);
	} else if (j->sn && j->version > d->ids_saved) {
		d->ids_saved = j->version;
	}
	if (j->seen && j->seen_rc < 0) {
		errno = j->seen_err;
		log_warn("radius: replay memory %s not written", j->seen_path);
	} else if (j->seen) {
		d->seen_saved = j->seen_taken;
	}
	idtable_snapshot_free(j->sn);
	free(j->policy);
	free(j->path);
	free(j->seen);
	free(j->seen_path);
	free(j);
	d->ids_job = NULL;
	return true;
}

void idsources_save(struct daemon *d, bool force)
{
	if (!save_reap(d, force))
		return; /* the last one is still writing: the next tick */
	uint64_t v = idtable_version(d->ids);
	/* unchanged; another policy's file stays as it is */
	bool table = !((!force || d->ids_foreign) && v == d->ids_saved);
	/* the replay memory, also while no listener runs (radius_seen_open) */
	const struct radius_seen *seen = d->radius_seen;
	bool replays = seen && radius_seen_taken(seen) != d->seen_saved;
	if (!table && !replays)
		return;
	struct id_save *j = xcalloc(1, sizeof(*j));
	if (table) {
		d->ids_foreign = false;
		j->sn = idtable_snapshot(d->ids, time(NULL));
		j->policy = policy_id(d);
		j->path = state_path(d);
		j->version = v;
	}
	if (replays) { /* a copy: 768 KiB at most */
		j->seen = xmalloc(SEEN_MAGIC_LEN + RADIUS_SEEN_SAVE_MAX);
		memcpy(j->seen, SEEN_MAGIC, SEEN_MAGIC_LEN);
		j->seen_len = SEEN_MAGIC_LEN +
			      radius_seen_export(seen, j->seen + SEEN_MAGIC_LEN);
		j->seen_path = seen_path(d);
		j->seen_taken = radius_seen_taken(seen);
	}
	atomic_init(&j->done, false);
	d->ids_job = j;
	/* forced (the last save before stopping): here, to its end */
	j->thread = !force && pthread_create(&j->tid, NULL, save_run, j) == 0;
	if (!j->thread) {
		save_run(j);
		save_reap(d, true);
	}
}

/* ---- RADIUS accounting ---------------------------------------------------- */

/* A drop, logged at most once a second (with how many since). */
static void log_drop(struct radius_srv *s, const char *why, const char *from)
{
	uint64_t now = (uint64_t)time(NULL);
	s->drops_logged++;
	if (now == s->last_log)
		return;
	log_warnx("radius: dropped a request from %s: %s (%llu dropped since "
		  "the last such line)", from, why,
		  (unsigned long long)s->drops_logged);
	s->drops_logged = 0;
	s->last_log = now;
}

static void on_radius(evutil_socket_t fd, short what, void *arg)
{
	struct radius_srv *s = arg;
	uint8_t buf[RADIUS_MAX + 1], resp[RADIUS_HDR];
	for (int i = 0; i < RADIUS_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error of a reply */
		int family = ss.ss_family;
		const uint8_t *from =
		    family == AF_INET
			? (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr
			: (const uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (family != AF_INET && family != AF_INET6)
			continue;
		enum radius_outcome o = radius_handle(
		    &s->ctx, family, from, buf, (size_t)n, (int64_t)time(NULL),
		    resp);
		if (o == RADIUS_ANSWERED) {
			sendto(fd, resp, sizeof(resp), MSG_DONTWAIT,
			       (struct sockaddr *)&ss, sl);
			continue;
		}
		char host[NI_MAXHOST] = "?";
		getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL,
			    0, NI_NUMERICHOST);
		log_drop(s,
			 o == RADIUS_DROPPED_CLIENT ? "not a radius-client"
			 : o == RADIUS_DROPPED_AUTH
			     ? "bad authenticator (wrong secret?)"
			     : "malformed",
			 host);
	}
}

/* The replay memory, made (and what a sluiced before took read back)
 * with the first listener of this run, and kept by the daemon from then
 * on: a reload that stops the listener and one that starts it again keep
 * it (else a Start captured before would replay after its Stop), and it
 * is still saved meanwhile (idsources_save). */
static void radius_seen_open(struct daemon *d)
{
	if (d->radius_seen)
		return;
	d->radius_seen = radius_seen_new();
	seen_restore(d, d->radius_seen);
}

/* Stops the listener; its replay memory stays (d->radius_seen). */
static void radius_close(struct daemon *d)
{
	struct radius_srv *s = srv_of(d);
	if (!s)
		return;
	event_free(s->ev);
	close(s->fd);
	free(s->addr); /* d->radius_seen stays (radius_seen_open) */
	explicit_bzero(&s->ctx, sizeof(s->ctx));
	free(s);
	d->radius = NULL;
}

/* A UDP socket bound to ADDR ("A:P", "[A]:P"); -1 when it cannot be. */
static int radius_bind(const char *addr)
{
	char host[128], port_s[8];
	unsigned port;
	if (addrport_split(addr, host, sizeof(host), &port)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(port_s, sizeof(port_s), "%u", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV |
					     AI_NUMERICHOST},
			*ai = NULL;
	if (getaddrinfo(host, port_s, &hints, &ai) != 0 || !ai) {
		errno = EINVAL; /* a literal address only (AI_NUMERICHOST) */
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Starts, moves, stops or re-keys the listener as P says. A secret that
 * cannot be read, or a new address that cannot be bound, keeps the running
 * listener on its address (with its secret when the new one cannot be
 * read; the clients and ttl are P's), said in the reload's reply. */
static void radius_configure(struct daemon *d, const struct policy *p)
{
	const struct identity_cfg *c = &p->identity;
	struct radius_srv *s = srv_of(d);
	if (!c->radius_listen) {
		if (s)
			radius_close(d);
		return;
	}
	bool moving = s && strcmp(c->radius_listen, s->addr) != 0;
	struct radius_ctx ctx = {.ids = d->ids, .clients = &c->radius_nets,
				 .ttl_s = c->ttl_s};
	if (radius_read_secret(&ctx, c->radius_secret_file) < 0) {
		int e = errno;
		if (!s) {
			daemon_warn(d, 0, "radius: secret file %s: %s; no "
				    "listener: RADIUS accounting is off",
				    c->radius_secret_file, strerror(e));
			return;
		}
		daemon_warn(d, 0, "radius: secret file %s: %s; %s%s%s",
			    c->radius_secret_file, strerror(e),
			    moving ? "the listener stays on " : "the previous "
								"secret stays",
			    moving ? s->addr : "",
			    moving ? " with its secret" : "");
		memcpy(ctx.secret, s->ctx.secret, sizeof(ctx.secret));
		ctx.slen = s->ctx.slen; /* keeps the one it had */
		moving = false;
	}
	if (!s || moving) {
		/* a move binds the new address before the old one is let go;
		 * the same port on a wider address needs the old one gone */
		int fd = radius_bind(c->radius_listen);
		if (fd < 0 && moving && errno == EADDRINUSE) {
			radius_close(d);
			s = NULL;
			fd = radius_bind(c->radius_listen);
		}
		if (fd < 0) {
			int e = errno;
			if (s) { /* moving: the old listener goes on */
				daemon_warn(d, 0, "radius: cannot listen on "
					    "%s: %s; the listener stays on %s",
					    c->radius_listen, strerror(e),
					    s->addr);
				s->ctx = ctx;
				s->ctx.seen = d->radius_seen;
			} else {
				daemon_warn(d, e, "radius: cannot listen on %s",
					    c->radius_listen);
			}
			explicit_bzero(&ctx, sizeof(ctx));
			return;
		}
		radius_seen_open(d);
		radius_close(d);
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->addr = xstrdup(c->radius_listen);
		s->ev = event_new(d->base, fd, EV_READ | EV_PERSIST, on_radius, s);
		event_add(s->ev, NULL);
		d->radius = s;
		log_info("radius: accounting on %s, %zu client entries",
			 c->radius_listen, c->nradius_clients);
	}
	s->ctx = ctx; /* the clients point into P, which outlives this */
	s->ctx.seen = d->radius_seen; /* it outlives a reload */
	explicit_bzero(&ctx, sizeof(ctx));
}

/* ---- the login portal's sets of identified addresses ------------------- */

#define PORTAL_RESYNC_MS 30000 /* also after a ruleset rebuilt by itself */

struct addr_lists {
	char **v[2]; /* [0] IPv4, [1] IPv6: "ADDR" or "ADDR/LEN" */
	size_t n[2], cap[2];
};

static void collect_addr(void *arg, int family, const uint8_t *addr,
			 unsigned plen, const struct identity *id)
{
	struct addr_lists *l = arg;
	int f = family == AF_INET6;
	char text[INET6_ADDRSTRLEN];
	if (!inet_ntop(family, addr, text, sizeof(text)))
		return;
	if (l->n[f] == l->cap[f]) {
		l->cap[f] = l->cap[f] ? 2 * l->cap[f] : 64;
		l->v[f] = xrealloc(l->v[f], l->cap[f] * sizeof(char *));
	}
	l->v[f][l->n[f]++] = plen == (f ? 128u : 32u)
				 ? xstrdup(text)
				 : xasprintf("%s/%u", text, plen);
}

/* With portal { listen }: makes the kernel's portal_known4/6 hold the
 * identity table's addresses and prefixes (those are not redirected to
 * the portal) when the table changed, the ruleset was rebuilt, or every
 * PORTAL_RESYNC_MS. */
static void portal_sync(struct daemon *d)
{
	const struct policy *p = d->gen->policy;
	uint64_t v = idtable_version(d->ids), now = mono_ms();
	if (!p->portal.listen ||
	    (v == d->portal_synced && d->portal_gen == (const void *)d->gen &&
	     now - d->portal_sync_ms < PORTAL_RESYNC_MS))
		return;
	struct addr_lists l = {0};
	idtable_each(d->ids, collect_addr, &l);
	char *script = portal_sync_script(
	    &d->kopts, (const char *const *)l.v[0], l.n[0],
	    (const char *const *)l.v[1], l.n[1]);
	char *err = NULL;
	if (nft_apply(script, &err) < 0) {
		log_warnx("portal: identified addresses not written to the "
			  "kernel: %s", err ? err : "?");
	} else {
		d->portal_synced = v;
		d->portal_gen = d->gen;
		d->portal_sync_ms = now;
		log_debug("portal: %zu+%zu identified addresses in the kernel",
			  l.n[0], l.n[1]);
	}
	free(err);
	free(script);
	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < l.n[f]; i++)
			free(l.v[f][i]);
		free(l.v[f]);
	}
}

/* Entries went since the last look: revoke what they allowed. */
static void on_idrevoke(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	portal_sync(d);
	uint64_t removed = idtable_removed(d->ids);
	if (removed == d->ids_removed_seen)
		return;
	d->ids_removed_seen = removed;
	if (d->gen->policy->queue.revoke != REVOKE_ON)
		return;
	size_t cut = daemon_revoke(d);
	if (!cut)
		log_debug("identities changed: no session to revoke");
	else
		log_info("identities changed: %zu session(s) revoked", cut);
}

void idsources_configure(struct daemon *d, const struct policy *p)
{
	if (!d->ev_idrevoke) {
		d->ids_removed_seen = idtable_removed(d->ids);
		d->ev_idrevoke = event_new(d->base, -1, EV_PERSIST, on_idrevoke, d);
		struct timeval tv = {1, 0};
		event_add(d->ev_idrevoke, &tv);
	}
	idtable_set_ignore(d->ids, (const char *const *)p->identity.ignore_users,
			   p->identity.nignore_users, &p->identity.realms);
	radius_configure(d, p);
	idapi_configure(d, p);
}

void idsources_close(struct daemon *d)
{
	idapi_close(d);
	if (d->ev_idrevoke)
		event_free(d->ev_idrevoke);
	d->ev_idrevoke = NULL;
	/* the replay memory (kept while no listener runs) is saved too */
	idsources_save(d, true);
	radius_close(d);
	radius_seen_free(d->radius_seen);
	d->radius_seen = NULL;
}
