/*
 * instance.h — one sluiced per network namespace.
 *
 * Two sluiced in one network namespace would each install table inet
 * sluice and "repair" the other's (sluiced(8), SINGLE INSTANCE). The guard
 * is an abstract unix socket, "\0sluiced": abstract names live in the
 * network namespace (one per namespace, so the tests' several sluiced in
 * several namespaces do not see each other) and go with the last
 * descriptor, so a kill -9 leaves no stale lock.
 */
#ifndef SLUICE_INSTANCE_H
#define SLUICE_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>

/* The abstract name, without its leading NUL. */
#define INSTANCE_NAME "sluiced"

/*
 * Takes this network namespace's sluiced name. A holder that is just
 * exiting (kill -9, a restart) is waited for, up to about one second.
 * Returns the listening descriptor (close-on-exec) on success. When
 * another sluiced holds it, returns -1 with errno EADDRINUSE and WHO
 * filled with what the holder says about itself ("pid N, policy P,
 * control S"), or "pid unknown: it did not answer" when it did not answer
 * in time; any other failure returns -1 with errno set and WHO empty.
 * Touches nothing in the kernel's ruleset.
 */
int instance_lock(char *who, size_t whosz);

/*
 * True when another sluiced holds this network namespace's name (WHO as
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
