/*
 * control.h — the control socket: a unix stream socket, root only. A client
 * sends one request line ("COMMAND ARG... [--json]"), the server answers
 * with a status line ("ok" or "error MESSAGE") and a body, then closes.
 */
#ifndef SLUICE_CONTROL_H
#define SLUICE_CONTROL_H

#include <stdbool.h>

struct event_base;
struct evbuffer;
struct control;

/* Handles one request: ARGV[0] is the command. Writes the body to OUT and
 * returns 0, or returns -1 with a one-line message in OUT. */
typedef int (*control_fn)(void *arg, int argc, char **argv, bool json,
			  struct evbuffer *out);

/* Listens on PATH (replacing a stale socket); NULL with errno. */
struct control *control_listen(struct event_base *base, const char *path,
			       control_fn fn, void *arg);
void control_close(struct control *c);

/* Client side (sluicectl): sends the request ARGV to PATH, prints the body
 * to stdout (errors to stderr). Returns 0 ok, 1 the daemon said error, 2 the
 * request is longer than CONTROL_MAX_REQUEST (nothing sent), 3 no daemon
 * reachable. */
int control_request(const char *path, int argc, char **argv, bool json);

/* Client side: sends the one-line REQUEST (no newline) to PATH; *BODY gets
 * the answer's body, or the daemon's error message, or what went wrong
 * (allocated, to free). Returns 0 ok, 1 the daemon said error, 3 no daemon
 * reachable. */
int control_fetch(const char *path, const char *request, char **body);

#define SLUICE_SOCKET "/run/sluice/sluiced.sock"
#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_ARGS 32

#endif
