/*
 * statefile.h — small state files a root daemon keeps between runs,
 * written so that nobody else can redirect them: never through a symlink
 * (O_NOFOLLOW, O_EXCL), only in a folder owned by the daemon's user that no
 * one else may write to, whole or not at all (a temporary file in the same
 * folder, fsync'd, renamed over the old one; openat on the folder's
 * descriptor, so the folder cannot be swapped in between).
 */
#ifndef SLUICE_STATEFILE_H
#define SLUICE_STATEFILE_H

#include <stddef.h>

/* Writes the LEN bytes of DATA to PATH (mode 0600). Returns 0, or -1 with
 * errno: EPERM when PATH's folder is not owned by the effective user or
 * is writable by group or others, ELOOP when a name is a symlink. */
int statefile_write(const char *path, const void *data, size_t len);

/* Reads PATH (at most MAX bytes) into a new NUL-terminated buffer (to
 * free), *LEN its length; NULL with errno when absent (ENOENT), a symlink
 * (ELOOP), not a regular file owned by the effective user (EPERM), in a
 * folder others may write to (EPERM), or longer than MAX (EFBIG). */
char *statefile_read(const char *path, size_t max, size_t *len);

/* Removes PATH when it is a file in a folder as statefile_write wants;
 * -1 with errno otherwise. */
int statefile_remove(const char *path);

#endif
