/*
 * instance.h — one sluiced per network namespace.
 *
 * Two sluiced in one network namespace would each install table inet
 * sluice and "repair" the other's (sluiced(8), SINGLE INSTANCE). The guard
 * is a lock (flock(2)) on a file of INSTANCE_DIR named by the network
 * namespace's identity (its /proc/self/ns/net device and inode), so the
 * tests' several sluiced in several namespaces do not see each other, a
 * kill -9 leaves no stale lock, and only root can take it (the directory
 * is root's). Beside it sluiced binds the abstract unix socket
 * "\0sluiced" (abstract names live in the network namespace) to tell a
 * later start who runs; any user may bind that name first, which then
 * only loses that answer.
 */
#ifndef SLUICE_INSTANCE_H
#define SLUICE_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>

/* The abstract name, without its leading NUL. */
#define INSTANCE_NAME "sluiced"
/* Where the lock files are (root's; the control socket's directory). */
#define INSTANCE_DIR "/run/sluice"

/*
 * Takes this network namespace's sluiced lock. A holder that is just
 * exiting (kill -9, a restart) is waited for, up to about one second.
 * Returns the lock's descriptor (close-on-exec; held until exit) and in
 * *SOCK the abstract name's listening descriptor for instance_serve(), or
 * -1 when another process holds the name (then no later start is told
 * who runs, nothing else changes). When another sluiced holds the lock,
 * returns -1 with errno EADDRINUSE and WHO filled with what the holder
 * says about itself ("pid N, policy P, control S"), or "pid unknown: it
 * did not answer"; any other failure (INSTANCE_DIR cannot be made or
 * opened) returns -1 with errno set and WHO empty. Touches nothing in the
 * kernel's ruleset.
 */
int instance_lock(char *who, size_t whosz, int *sock);

/*
 * True when a sluiced holds this network namespace's lock (WHO as
 * instance_lock fills it); false when none runs. Takes nothing.
 */
bool instance_running(char *who, size_t whosz);

/*
 * Serves FD (instance_lock's) on BASE: each later start that asks is told
 * SELF (one line: "pid N, policy P, control S"), then closed. Returns the
 * event (event_free() it), NULL on error.
 */
struct event *instance_serve(struct event_base *base, int fd,
			     const char *self);

#endif
