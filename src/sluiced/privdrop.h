/*
 * privdrop.h — sluiced gives up root after setup (sluiced -u USER): the
 * process becomes USER (its uid, its primary gid, no supplementary groups)
 * with CAP_NET_ADMIN and CAP_NET_RAW only, on libcap-ng.
 */
#ifndef SLUICED_PRIVDROP_H
#define SLUICED_PRIVDROP_H

#include "control/control.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <sys/types.h>

/* The account sluiced runs as after setup. */
struct privuser {
	uid_t uid;
	gid_t gid;
	const char *name; /* borrowed from the caller (argv) */
};

/* Looks NAME up (getpwnam) into *U, before anything else is set up, so a
 * wrong -u fails the start at once. Returns 0, or -1 with a message in
 * ERR (ERRLEN bytes): no such user, or NAME is root (nothing would be
 * dropped). */
int privdrop_lookup(const char *name, struct privuser *u, char *err,
		    size_t errlen);

/*
 * Becomes U in every thread and keeps CAP_NET_ADMIN and CAP_NET_RAW
 * (effective, permitted, inheritable) in the calling thread only; clears
 * the bounding set and sets no_new_privs, so nothing sluiced runs can get
 * root back. Threads that exist already become U with no capabilities at
 * all (the kernel clears them on the uid change): start the threads that
 * need netlink (the queue workers) after this. Programs sluiced runs get
 * no capabilities, except the netfilter tools of kernel/install.c, which
 * raise the two as ambient capabilities in their child. Returns 0, or -1
 * with a message in ERR.
 */
int privdrop_apply(const struct privuser *u, char *err, size_t errlen);

/* The user that owns the folder of PATH (the control socket's): the
 * user a sluiced -u USER ran as, whose state files lie there. Returns 1
 * with *U filled (name "folder owner") when that is not root, 0 when it is
 * root or the folder cannot be read. */
int privdrop_folder_owner(const char *path, struct privuser *u);

/* The control socket's owner and group in A, where the control { } block
 * CFG names none, become U's: what control_access_resolve gives once
 * sluiced runs as U, so a reload finds them unchanged. */
void privdrop_socket_owner(const struct privuser *u,
			   const struct control_cfg *cfg,
			   struct control_access *a);

/* The regular file at PATH, when root owns it (sluiced made it, as root,
 * before the drop: the firewall log), becomes U's, its group and mode
 * kept, so U can open it again on a reload or SIGUSR1. Not followed
 * through a symbolic link; a file of another owner, or with another name
 * (a hard link: /etc/shadow under the log's name), is left alone. 0, or
 * -1 with errno (said in the log by the caller). */
int privdrop_give_file(const struct privuser *u, const char *path);

/* True when the calling thread may still act as root (uid 0 or any
 * capability beyond the two kept): what a test asks after the drop. */
bool privdrop_has_more_than_netadmin(void);

#endif
