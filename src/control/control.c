/* control.c — the control socket's server side; see control.h. */
#include "control/control.h"
#include "common/fds.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "policy/policy.h"

#include <errno.h>
#include <jansson.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

struct conn;

struct control {
	struct evconnlistener *lis;
	struct event *resume; /* re-enables the listener after EMFILE */
	char *path;
	struct control_access access;
	const struct control_command *table;
	void *arg;
	uint32_t nclients;
	uint64_t refused;
	LIST_HEAD(, conn) conns; /* open connections: closed by control_close */
};

struct conn {
	struct control *c;
	struct bufferevent *bev;
	LIST_ENTRY(conn) link;
	enum control_level level;
	uid_t uid; /* the peer's (SO_PEERCRED), for its share of the slots */
	struct control_stream stream; /* an answer in parts, while streaming */
	bool streaming;
	bool waiting; /* its stream said CONTROL_PART_WAIT, no wake yet */
};

/* ---- access ------------------------------------------------------------------ */

static bool gid_in(gid_t g, const gid_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == g)
			return true;
	return false;
}

enum control_level control_level_of(const struct control_access *a,
				    uid_t self_uid, uid_t uid, gid_t gid,
				    const gid_t *gids, size_t ngids)
{
	if (uid == 0 || uid == self_uid)
		return CONTROL_ADMIN;
	bool op = gid_in(gid, a->operator_gids, a->noperator);
	bool rd = gid_in(gid, a->read_gids, a->nread);
	for (size_t i = 0; i < ngids; i++) {
		op = op || gid_in(gids[i], a->operator_gids, a->noperator);
		rd = rd || gid_in(gids[i], a->read_gids, a->nread);
	}
	return op ? CONTROL_OPERATOR : rd ? CONTROL_READ : CONTROL_NONE;
}

/* Resolves group names NAMES into *OUT; -1 with *ERR. */
static int resolve_groups(char **names, size_t n, gid_t **out, size_t *nout,
			  char **err)
{
	*out = n ? xcalloc(n, sizeof(gid_t)) : NULL;
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		struct group gr, *res = NULL;
		char buf[4096];
		if (getgrnam_r(names[i], &gr, buf, sizeof(buf), &res) != 0 ||
		    !res) {
			*err = xasprintf("control: no group '%s'", names[i]);
			return -1;
		}
		(*out)[(*nout)++] = res->gr_gid;
	}
	return 0;
}

int control_access_resolve(const struct control_cfg *cfg,
			   struct control_access *a, char **err)
{
	memset(a, 0, sizeof(*a));
	a->owner = geteuid();
	a->group = getegid();
	a->mode = cfg->socket_mode;
	a->max_clients = cfg->max_clients ? cfg->max_clients : 16;
	a->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
	if (cfg->socket_owner) {
		struct passwd pw, *res = NULL;
		char buf[4096];
		if (getpwnam_r(cfg->socket_owner, &pw, buf, sizeof(buf), &res) ||
		    !res) {
			*err = xasprintf("control: no user '%s'", cfg->socket_owner);
			return -1;
		}
		a->owner = res->pw_uid;
	}
	if (cfg->socket_group) {
		struct group gr, *res = NULL;
		char buf[4096];
		if (getgrnam_r(cfg->socket_group, &gr, buf, sizeof(buf), &res) ||
		    !res) {
			*err = xasprintf("control: no group '%s'", cfg->socket_group);
			return -1;
		}
		a->group = res->gr_gid;
	}
	if (resolve_groups(cfg->operator_groups, cfg->noperator_groups,
			   &a->operator_gids, &a->noperator, err) < 0 ||
	    resolve_groups(cfg->read_only_groups, cfg->nread_only_groups,
			   &a->read_gids, &a->nread, err) < 0) {
		control_access_free(a);
		return -1;
	}
	return 0;
}

void control_access_free(struct control_access *a)
{
	free(a->operator_gids);
	free(a->read_gids);
	memset(a, 0, sizeof(*a));
}

static void access_copy(struct control_access *dst,
			const struct control_access *src)
{
	*dst = *src;
	dst->operator_gids = NULL;
	dst->read_gids = NULL;
	if (src->noperator) {
		dst->operator_gids = xcalloc(src->noperator, sizeof(gid_t));
		memcpy(dst->operator_gids, src->operator_gids,
		       src->noperator * sizeof(gid_t));
	}
	if (src->nread) {
		dst->read_gids = xcalloc(src->nread, sizeof(gid_t));
		memcpy(dst->read_gids, src->read_gids, src->nread * sizeof(gid_t));
	}
}

/* The level of the peer on FD. */
static enum control_level peer_level(const struct control *c, int fd,
				     uid_t *uid_out)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	*uid_out = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    cl != sizeof(cred))
		return CONTROL_NONE;
	*uid_out = cred.uid;
	gid_t gids[256];
	socklen_t gl = sizeof(gids);
	size_t ngids = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids, &gl) == 0)
		ngids = gl / sizeof(gid_t);
	return control_level_of(&c->access, geteuid(), cred.uid, cred.gid,
				gids, ngids);
}

uint32_t control_uid_share(const struct control_access *a)
{
	return a->max_clients / 4 ? a->max_clients / 4 : 1;
}

uint32_t control_operator_reserve(const struct control_access *a)
{
	return a->max_clients / 4;
}

const char *control_admits(const struct control_access *a,
			   enum control_level level, uint32_t nclients,
			   uint32_t uid_held)
{
	if (level == CONTROL_ADMIN)
		return nclients < a->max_clients + CONTROL_ADMIN_RESERVE
			   ? NULL
			   : "too many control clients";
	uint32_t room = a->max_clients;
	if (level < CONTROL_OPERATOR)
		room -= control_operator_reserve(a);
	if (nclients >= room)
		return "too many control clients";
	if (uid_held >= control_uid_share(a))
		return "too many control clients of this user";
	return NULL;
}

/* Connections of C open for UID. */
static uint32_t held_by(const struct control *c, uid_t uid)
{
	uint32_t n = 0;
	const struct conn *k;
	LIST_FOREACH(k, &c->conns, link)
		n += k->uid == uid;
	return n;
}

/* ---- one connection ----------------------------------------------------------- */

/* Ends K's stream (sent or abandoned): its state is freed once. */
static void stream_end(struct conn *k)
{
	if (k->streaming && k->stream.free)
		k->stream.free(k->stream.state);
	k->streaming = false;
}

static void conn_free(struct bufferevent *bev, struct conn *k)
{
	stream_end(k);
	k->c->nclients--;
	LIST_REMOVE(k, link);
	free(k);
	bufferevent_free(bev);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	conn_free(bev, arg);
}

static void on_written(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(bev, arg);
}

/* The reply to send: {"ok": true, "output": the JSON value OUTPUT holds}
 * or {"ok": false, "error": OUTPUT as escaped text (lines kept, no
 * trailing newline)}; an OK
 * OUTPUT that is not one JSON value (a handler's bug) becomes an error.
 * Compact ASCII JSON text with '\n', to free. */
static char *reply_text(bool ok, const char *output, size_t len)
{
	if (!output) /* an empty buffer */
		output = "", len = 0;
	json_t *v = ok ? json_loadb(output, len, 0, NULL) : NULL;
	if (ok && !v) { /* bytes that are not UTF-8 in a string: as \xNN */
		char *safe = text_escape_json_dup(output, len);
		v = json_loads(safe, 0, NULL);
		free(safe);
	}
	json_t *r;
	if (ok && v) {
		r = json_pack("{s:b,s:o}", "ok", 1, "output", v);
	} else {
		if (ok)
			log_warnx("control: a command answered with text, "
				  "not JSON");
		char *safe = ok ? xstrdup("sluiced built an answer that is "
					  "not JSON (a bug)")
				: text_escape_dup(output, len, true);
		size_t n = strlen(safe);
		while (n && (safe[n - 1] == '\n' || safe[n - 1] == ' '))
			safe[--n] = '\0';
		r = json_pack("{s:b,s:s}", "ok", 0, "error", safe);
		free(safe);
	}
	char *text = r ? json_dumps(r, JSON_COMPACT | JSON_ENSURE_ASCII |
					   JSON_PRESERVE_ORDER)
		       : NULL;
	json_decref(r);
	char *line = xasprintf("%s\n", text ? text
					     : "{\"ok\":false,\"error\":\"out "
					       "of memory\"}");
	free(text);
	return line;
}

/* Enables BEV's writing with its write timeout counted from now: libevent
 * counts a timeout from the time it cached when the loop's turn began,
 * and after a command that took longer than the timeout (a large answer
 * on a slow host) the reply was cut before its first byte. */
static void write_from_now(struct bufferevent *bev)
{
	event_base_update_cache_time(bufferevent_get_base(bev));
	bufferevent_enable(bev, EV_WRITE);
}

/* Queues the reply (OK with OUTPUT, or the error OUTPUT) and closes after
 * it is sent. */
static void reply(struct bufferevent *bev, struct conn *k, bool ok,
		  const char *output, size_t len)
{
	char *text = reply_text(ok, output, len);
	evbuffer_add(bufferevent_get_output(bev), text, strlen(text));
	free(text);
	bufferevent_setcb(bev, NULL, on_written, on_event, k);
	bufferevent_disable(bev, EV_READ);
	write_from_now(bev);
}

static const struct control_command *find_command(const struct control *c,
						  const char *name)
{
	for (const struct control_command *t = c->table; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* Adds parts of K's stream to BEV's output until CONTROL_STREAM_BUFFERED
 * bytes wait there, the stream waits for its data, or the answer is
 * complete; then the reply's end, and the connection closes once it is
 * sent. */
static void stream_fill(struct bufferevent *bev, struct conn *k)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	enum control_part r = CONTROL_PART_MORE;
	while (r == CONTROL_PART_MORE &&
	       evbuffer_get_length(out) < CONTROL_STREAM_BUFFERED)
		r = k->stream.next(k->stream.state, out);
	k->waiting = r == CONTROL_PART_WAIT;
	if (r != CONTROL_PART_DONE)
		return;
	evbuffer_add(out, "}\n", 2);
	stream_end(k);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_setcb(bev, NULL, on_written, on_event, k);
}

/* The client took part of the stream: the next parts, unless the stream
 * waits for its data (its wake fills). */
static void on_stream_written(struct bufferevent *bev, void *arg)
{
	struct conn *k = arg;
	if (!k->waiting)
		stream_fill(bev, k);
}

/* K's stream has data again (control_stream.wake). */
static void on_stream_wake(void *arg)
{
	struct conn *k = arg;
	if (k->streaming && k->waiting)
		stream_fill(k->bev, k);
}

/* Starts the answer of a stream K->stream: the reply's head, then parts
 * as the client takes them (the write callback runs when no more than
 * half of CONTROL_STREAM_BUFFERED waits). */
static void stream_start(struct bufferevent *bev, struct conn *k)
{
	static const char head[] = "{\"ok\":true,\"output\":";
	k->streaming = true;
	evbuffer_add(bufferevent_get_output(bev), head, sizeof(head) - 1);
	bufferevent_setwatermark(bev, EV_WRITE, CONTROL_STREAM_BUFFERED / 2, 0);
	bufferevent_setcb(bev, NULL, on_stream_written, on_event, k);
	bufferevent_disable(bev, EV_READ);
	write_from_now(bev);
	stream_fill(bev, k);
}

/* Runs request TEXT for connection K; the output goes to OUT. Returns 0
 * (OUT holds the answer), 1 (K->stream holds it: a stream command) or -1
 * (OUT holds the error). */
static int run(struct conn *k, const char *text, size_t len,
	       struct evbuffer *out)
{
	struct control_request req;
	char err[256];
	if (control_parse_request(text, len, &req, err, sizeof(err)) < 0) {
		evbuffer_add_printf(out, "%s", err);
		return -1;
	}
	int rc = -1;
	const struct control_command *cmd = find_command(k->c, req.command);
	if (!cmd) {
		evbuffer_add_printf(out, "unknown command '%s'", req.command);
	} else if (k->level < cmd->level) {
		evbuffer_add_printf(out, "permission denied: '%s' needs the %s "
				    "level, this connection has %s",
				    cmd->name, control_level_name(cmd->level),
				    control_level_name(k->level));
		log_info("control: refused '%s' to a %s client", cmd->name,
			 control_level_name(k->level));
	} else if (control_check_args(req.args, cmd->args, err,
				      sizeof(err)) < 0) {
		evbuffer_add_printf(out, "%s: %s", cmd->name, err);
	} else if (cmd->stream) {
		k->stream = (struct control_stream){
		    .wake = {on_stream_wake, k}};
		rc = cmd->stream(k->c->arg, req.args, &k->stream, out);
		rc = rc == 0 ? 1 : -1;
	} else {
		rc = cmd->fn(k->c->arg, req.args, out);
	}
	control_request_free(&req);
	return rc;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr nl = evbuffer_search(in, "\n", 1, NULL);
	if (nl.pos < 0) {
		if (evbuffer_get_length(in) >= CONTROL_MAX_REQUEST) {
			static const char m[] = "request too long";
			reply(bev, k, false, m, sizeof(m) - 1);
		}
		return;
	}
	size_t len = (size_t)nl.pos + 1;
	char *line = xmalloc(len + 1);
	evbuffer_remove(in, line, len);
	line[len] = '\0';
	struct evbuffer *body = evbuffer_new();
	int rc = run(k, line, len, body);
	free(line);
	if (rc == 1) {
		evbuffer_free(body);
		stream_start(bev, k);
		return;
	}
	size_t blen = evbuffer_get_length(body);
	reply(bev, k, rc == 0, (const char *)evbuffer_pullup(body, -1), blen);
	evbuffer_free(body);
}

/* ---- the listener --------------------------------------------------------------- */

static void refuse(struct control *c, int fd, const char *why)
{
	c->refused++;
	json_t *r = json_pack("{s:b,s:s}", "ok", 0, "error", why);
	char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
	json_decref(r);
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s\n", text ? text : "{\"ok\":false}");
	if (n > 0 && (size_t)n < sizeof(buf) && write(fd, buf, (size_t)n) < 0) {
		/* the client is gone: nothing to tell */
	}
	free(text);
	close(fd);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct control *c = arg;
	/* one more kept: an answer read from a kernel dump as it is sent
	 * (sessions, floods) holds a netlink socket of its own */
	if (!fd_below_reserve(fd, FD_RESERVE_KERNEL + 1)) {
		log_warnx("control: refused a client: descriptors nearly "
			  "exhausted");
		refuse(c, fd, "sluiced is out of descriptors");
		return;
	}
	uid_t uid;
	enum control_level level = peer_level(c, fd, &uid);
	if (level == CONTROL_NONE) {
		log_warnx("control: refused a client with uid %ld (in no "
			  "control group)", (long)(int)uid);
		refuse(c, fd, "permission denied");
		return;
	}
	const char *full = control_admits(&c->access, level, c->nclients,
					  level == CONTROL_ADMIN
					      ? 0
					      : held_by(c, uid));
	if (full) {
		refuse(c, fd, full);
		return;
	}
	struct event_base *base = evconnlistener_get_base(lis);
	struct bufferevent *bev =
	    bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	struct conn *k = xcalloc(1, sizeof(*k));
	k->c = c;
	k->bev = bev;
	k->level = level;
	k->uid = uid;
	c->nclients++;
	LIST_INSERT_HEAD(&c->conns, k, link);
	struct timeval tv = {c->access.timeout_ms / 1000,
			     (long)(c->access.timeout_ms % 1000) * 1000};
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, on_read, NULL, on_event, k);
	bufferevent_enable(bev, EV_READ);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	evconnlistener_enable(c->lis);
}

/* accept() failed: out of descriptors or memory is transient; wait a
 * little instead of spinning (libevent retries at once) or exiting. */
static void on_accept_error(struct evconnlistener *lis, void *arg)
{
	struct control *c = arg;
	int e = EVUTIL_SOCKET_ERROR();
	c->refused++;
	log_warnx("control: accept: %s; pausing 100 ms", strerror(e));
	evconnlistener_disable(lis);
	struct timeval tv = {0, 100000};
	event_add(c->resume, &tv);
}

/* Owner, group and mode of the socket file; only what differs is changed
 * (after sluiced -u drops root, a reload with the same control { } block
 * changes nothing and needs no privilege). The mode first, while the file
 * is still the caller's own: chmod(2) of a file given away needs
 * CAP_FOWNER, which the unit's bounding set leaves out. */
static int apply_perms(const char *path, const struct control_access *a,
		       char **err)
{
	struct stat st;
	errno = 0;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		*err = xasprintf("control socket %s: %s", path,
				 errno ? strerror(errno) : "no longer a socket");
		return -1;
	}
	bool owned = st.st_uid == a->owner && st.st_gid == a->group;
	bool moded = (st.st_mode & 07777) == (mode_t)a->mode;
	if (!moded && chmod(path, (mode_t)a->mode) < 0) {
		*err = xasprintf("control socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!owned && lchown(path, a->owner, a->group) < 0) {
		int e = errno;
		/* the socket keeps its access whole, as the caller says: the
		 * old mode back (the file is still ours) */
		if (!moded)
			(void)chmod(path, st.st_mode & 07777);
		*err = xasprintf("control socket %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

/* Whether the folder DIR of the control socket keeps the socket ours: a
 * folder (no link), owned by root, by this process's user or by the
 * socket's owner in A, and writable by nobody else unless sticky (as
 * /tmp): else another user could put a listener of its own under the name
 * sluicectl connects to, and answer root's commands. *ERR says why. */
static bool folder_safe(const char *dir, const struct control_access *a,
			char **err)
{
	struct stat st;
	if (lstat(dir, &st) < 0) {
		*err = xasprintf("control socket folder %s: %s", dir,
				 strerror(errno));
		return false;
	}
	bool owner_ok = st.st_uid == 0 || st.st_uid == geteuid() ||
			st.st_uid == a->owner;
	bool shared = (st.st_mode & 022) && !(st.st_mode & S_ISVTX);
	if (S_ISDIR(st.st_mode) && owner_ok && !shared)
		return true;
	*err = xasprintf("control socket folder %s: %s: another user could "
			 "replace the socket (use a folder of root's or "
			 "sluiced's own, e.g. /run/sluice)", dir,
			 !S_ISDIR(st.st_mode) ? "not a folder"
			 : !owner_ok	      ? "owned by another user"
					      : "writable by others, not sticky");
	return false;
}

struct control *control_listen(struct event_base *base, const char *path,
			       const struct control_access *access,
			       const struct control_command *table, void *arg)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sun.sun_path, path);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/'), *why = NULL;
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, access->mode & 077 ? 0755 : 0700);
	} else {
		free(dir); /* "/sock" or "sock": the root or this folder */
		dir = xstrdup(slash ? "/" : ".");
	}
	if (!folder_safe(dir, access, &why)) {
		log_warnx("%s", why);
		free(why);
		free(dir);
		errno = EPERM;
		return NULL;
	}
	free(dir);
	unlink(path); /* a stale socket of a killed daemon */
	mode_t old = umask(077); /* no window with a wider socket */
	struct control *c = xcalloc(1, sizeof(*c));
	LIST_INIT(&c->conns);
	c->lis = evconnlistener_new_bind(
	    base, on_accept, c,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (!c->lis) {
		free(c);
		return NULL;
	}
	char *err = NULL;
	if (apply_perms(path, access, &err) < 0) {
		log_warnx("%s", err);
		free(err);
		evconnlistener_free(c->lis);
		unlink(path);
		free(c);
		errno = EPERM;
		return NULL;
	}
	evconnlistener_set_error_cb(c->lis, on_accept_error);
	c->resume = evtimer_new(base, on_resume, c);
	c->path = xstrdup(path);
	access_copy(&c->access, access);
	c->table = table;
	c->arg = arg;
	return c;
}

int control_reconfigure(struct control *c, const struct control_access *a,
			char **err)
{
	if (apply_perms(c->path, a, err) < 0)
		return -1;
	control_access_free(&c->access);
	access_copy(&c->access, a);
	return 0;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	/* connections still open (an answer still being sent, a stream with
	 * its snapshot) go with it */
	while (!LIST_EMPTY(&c->conns))
		conn_free(LIST_FIRST(&c->conns)->bev, LIST_FIRST(&c->conns));
	evconnlistener_free(c->lis);
	event_free(c->resume);
	unlink(c->path);
	control_access_free(&c->access);
	free(c->path);
	free(c);
}

uint64_t control_refused(const struct control *c)
{
	return c ? c->refused : 0;
}
