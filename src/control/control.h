/*
 * control.h — the control socket of sluiced and its client.
 *
 * A unix stream socket. A client sends one request, a JSON object on one
 * line (RFC 8259, UTF-8, at most CONTROL_MAX_REQUEST bytes with the '\n'):
 *
 *   {"command": "identity-add",
 *    "args": {"address": "198.18.1.2", "user": "carol", "groups": ["staff"]},
 *    "json": false}
 *
 * "args" (an object) may be left out; "json" is accepted and ignored (the
 * answer is JSON either way; older clients send it); any other member is
 * an error. The server answers one JSON object on one line (ASCII: other
 * characters as \u escapes), {"ok": true, "output": VALUE} or {"ok": false,
 * "error": MESSAGE}, and closes. VALUE is the command's answer as JSON (an
 * object with "schema_version", or for `identity-list` an array; see
 * sluicectl(8)): sluicectl renders the text for people from it. Names
 * are JSON strings: no quoting or splitting, so a name can never become
 * another argument; every name is checked (text.h) on both sides. Text
 * from outside in VALUE and MESSAGE has control characters and invalid
 * UTF-8 escaped as \xNN.
 *
 * Each command has an access level; a connection gets its level from the
 * peer's credentials (SO_PEERCRED / SO_PEERGROUPS): root and the daemon's
 * own user are admin, members of an operator group operator, members of a
 * read-only group read-only; anyone else is refused at connect.
 */
#ifndef SLUICE_CONTROL_H
#define SLUICE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct evbuffer;
struct control;
/* jansson's value (<jansson.h>) */
typedef struct json_t json_t;

#define SLUICE_SOCKET "/run/sluice/sluiced.sock"
#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_COMMAND 32 /* bytes of a command name */

/* What a connection may do; each level includes the ones below. */
enum control_level {
	CONTROL_NONE = 0,
	CONTROL_READ = 1,     /* status, lists, counters */
	CONTROL_OPERATOR = 2, /* identities, drains, alert resets */
	CONTROL_ADMIN = 3,    /* reload, creation elements, everything */
};
/* "none", "read-only", "operator", "admin". */
const char *control_level_name(enum control_level l);

/* The kinds of argument a command takes. */
enum control_arg_type {
	CA_NAME,  /* a string that passes text_name_problem() */
	CA_ADDR,  /* an IPv4 or IPv6 address (inet_pton) */
	CA_UINT,  /* a JSON integer 0..2^32-1 */
	CA_NAMES, /* an array of at most CONTROL_MAX_NAMES CA_NAMEs */
	CA_COUNT, /* a JSON integer 0..2^53-1 (a counter's value) */
};
#define CONTROL_MAX_NAMES 64

struct control_arg {
	const char *key;
	enum control_arg_type type;
	bool required;
};

/* One parsed request; ROOT owns the strings the others point into. */
struct control_request {
	json_t *root;
	const char *command;
	json_t *args; /* an object, possibly empty */
	bool json; /* its "json" member: read, not used (answers are JSON) */
};

/*
 * Parses the request TEXT (LEN bytes; a trailing '\n' allowed): one JSON
 * object as above, with a command of 1..CONTROL_MAX_COMMAND of [a-z-].
 * Returns 0 with REQ filled (free with control_request_free), or -1 with a
 * one-line reason in ERR (ERRLEN bytes). Never trusts TEXT: any bytes give
 * one of the two.
 */
int control_parse_request(const char *text, size_t len,
			  struct control_request *req, char *err,
			  size_t errlen);
void control_request_free(struct control_request *req);

/*
 * Checks ARGS (an object) against SPEC (ends with a NULL key; NULL = no
 * arguments): every member is in SPEC with its type, every required one is
 * there. Returns 0, or -1 with the reason in ERR.
 */
int control_check_args(const json_t *args, const struct control_arg *spec,
		       char *err, size_t errlen);

/* After control_check_args: the string KEY of ARGS, or NULL when absent. */
const char *control_arg_str(const json_t *args, const char *key);
/* ... the number KEY into *V; false when absent. */
bool control_arg_uint(const json_t *args, const char *key, uint32_t *v);
/* ... the names of list KEY: how many (0 when absent), and the I-th. */
size_t control_arg_count(const json_t *args, const char *key);
const char *control_arg_item(const json_t *args, const char *key, size_t i);

/* ---- server (sluiced) ----------------------------------------------------- */

/* Handles one checked request: writes its answer to OUT, one JSON value
 * (built with jansson; text that is not JSON is a bug the server turns
 * into an error; sluicectl renders the text for people), and returns 0;
 * or returns -1 with a one-line message in OUT. */
typedef int (*control_fn)(void *arg, const json_t *args,
			  struct evbuffer *out);

/*
 * A large answer made in parts, so that the event loop goes on between
 * them and holds at most about CONTROL_STREAM_BUFFERED bytes of it for a
 * client (a whole identity table is 45 MB of JSON; composed at once it
 * stopped sluiced for seconds). NEXT adds the next part of the answer's
 * one JSON value to OUT, compact ASCII JSON text (jansson's
 * JSON_COMPACT | JSON_ENSURE_ASCII) that continues the part before, and
 * returns CONTROL_PART_DONE when the value is complete, CONTROL_PART_MORE
 * when it has more to give, or CONTROL_PART_WAIT when it has nothing to
 * give yet (its data still arriving: a kernel dump read as it comes, so
 * that no read of a large table stops the loop). The server asks for a
 * part whenever the client has taken what came before, except after
 * CONTROL_PART_WAIT: then not before the stream calls WAKE.fn(WAKE.arg)
 * from the event loop (never from inside NEXT); a waiting stream must
 * call it in bounded time. Unlike control_fn's output the parts are not
 * parsed again: a stream makes them from jansson values. FREE (may be
 * NULL) is called with STATE once, when the answer is sent or the client
 * goes away; after it, WAKE must not be called.
 */
enum control_part {
	CONTROL_PART_MORE,
	CONTROL_PART_DONE,
	CONTROL_PART_WAIT,
};
struct control_wake {
	void (*fn)(void *arg);
	void *arg;
};
struct control_stream {
	enum control_part (*next)(void *state, struct evbuffer *out);
	void (*free)(void *state);
	void *state;
	/* set by the server before the command's control_stream_fn runs;
	 * that fn keeps it where NEXT's STATE can reach it */
	struct control_wake wake;
};
#define CONTROL_STREAM_BUFFERED (256u << 10)

/* Handles one checked request whose answer is a stream: fills S's next,
 * free and state (its wake is the server's) and returns 0, or returns -1
 * with a one-line message in ERR (S untouched). */
typedef int (*control_stream_fn)(void *arg, const json_t *args,
				 struct control_stream *s,
				 struct evbuffer *err);

/* A row of the server's command table (ends with a NULL name): FN, or
 * STREAM for a command whose answer can be large (FN NULL). */
struct control_command {
	const char *name;
	enum control_level level;
	const struct control_arg *args;
	control_fn fn;
	control_stream_fn stream;
};

/* Connections an admin (root, the daemon's user) may open beyond
 * max_clients: read-only or operator clients holding every slot never
 * lock out `sluicectl reload` (cf. PostgreSQL's
 * superuser_reserved_connections). */
#define CONTROL_ADMIN_RESERVE 2

/* Who may connect and how many at once (control { } in sluice.conf(5)),
 * with names resolved. */
struct control_access {
	uid_t owner;
	gid_t group;
	uint32_t mode;
	gid_t *operator_gids, *read_gids;
	size_t noperator, nread;
	uint32_t max_clients, timeout_ms;
};

struct control_cfg;
/* Resolves CFG's user and group names into A (free with
 * control_access_free); -1 with *ERR (to free) naming the unknown one. */
int control_access_resolve(const struct control_cfg *cfg,
			   struct control_access *a, char **err);
void control_access_free(struct control_access *a);

/*
 * Whether a peer of LEVEL (not CONTROL_NONE) whose uid already holds
 * UID_HELD of the NCLIENTS connections open may open one more under A's
 * max_clients: NULL if so, else the refusal's message (a static string).
 * An admin may use CONTROL_ADMIN_RESERVE slots beyond max_clients and has
 * no share; any other uid holds at most control_uid_share(A) connections,
 * and read-only peers all together leave control_operator_reserve(A)
 * slots free for operators: one uid reconnecting as fast as it is cut
 * never holds every slot, and a read-only group never locks out
 * `sluicectl identity add`.
 */
const char *control_admits(const struct control_access *a,
			   enum control_level level, uint32_t nclients,
			   uint32_t uid_held);
/* A quarter of A's max_clients, at least 1. */
uint32_t control_uid_share(const struct control_access *a);
/* A quarter of A's max_clients (0 below 4). */
uint32_t control_operator_reserve(const struct control_access *a);

/*
 * Listens on PATH (a stale socket replaced; its folder made if missing,
 * 0755 when the mode gives others access, else 0700) with owner, group and
 * mode from ACCESS, serving the commands of TABLE (kept, not copied) with
 * ARG. NULL with errno on failure; EPERM (logged) when the folder is not
 * a folder, is owned by a user other than root, this process's or the
 * socket's owner, or others may write it without the sticky bit: another
 * user could replace the socket there.
 */
struct control *control_listen(struct event_base *base, const char *path,
			       const struct control_access *access,
			       const struct control_command *table, void *arg);
/* Applies new ACCESS (owner, group, mode of the socket, the groups, the
 * limits); connections already open keep their level. -1 with *ERR. */
int control_reconfigure(struct control *c, const struct control_access *access,
			char **err);
/* Stops listening, closes every connection still open (an answer being
 * sent is cut; a stream's state freed), frees C; NULL is fine. */
void control_close(struct control *c);
/* Connections refused so far: over max-clients or a uid's share
 * (control_admits), past the descriptor reserve, accept errors, callers
 * without access. */
uint64_t control_refused(const struct control *c);

/* The level a peer with UID, primary GID and supplementary GIDS gets from
 * ACCESS; SELF_UID is the daemon's effective uid. */
enum control_level control_level_of(const struct control_access *access,
				    uid_t self_uid, uid_t uid, gid_t gid,
				    const gid_t *gids, size_t ngids);

/* ---- client (sluicectl) ------------------------------------------------- */

/*
 * Sends COMMAND with ARGS (an object or NULL; not taken) to the daemon at
 * PATH and waits for the answer. Returns 0 with *OUTPUT the answer's JSON
 * value (a new reference) and *ERR NULL; or *OUTPUT NULL and *ERR the
 * daemon's error message or what went wrong (escaped text, allocated, to
 * free; ends with '\n') and returns 1 the daemon said error, 2 the request
 * is too long (nothing sent), 3 no daemon reachable or no valid answer.
 * (Named for what it gives: the control_call of old gave text.)
 */
int control_call_json(const char *path, const char *command, const json_t *args,
		 json_t **output, char **err);

#endif
