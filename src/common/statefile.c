/* statefile.c — see statefile.h. */
#include "common/statefile.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens the folder of PATH (no symlink as its last part) when it is ours
 * and closed to others; *BASE gets the file's name within it. -1 with
 * errno. */
static int open_dir(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
			  : xstrdup(".");
	*base = slash ? slash + 1 : path;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return -1;
	struct stat st;
	if (fstat(dfd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || !**base || strcmp(*base, ".") == 0 ||
	    strcmp(*base, "..") == 0) {
		close(dfd);
		errno = EPERM;
		return -1;
	}
	return dfd;
}

int statefile_write(const char *path, const void *data, size_t len)
{
	const char *base;
	int dfd = open_dir(path, &base);
	if (dfd < 0)
		return -1;
	char *tmp = xasprintf(".%s.tmp", base);
	unlinkat(dfd, tmp, 0); /* a stale one (or a planted symlink) */
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				      O_CLOEXEC, 0600);
	int rc = -1, e = 0;
	if (fd >= 0) {
		if (write_all(fd, data, len) == 0 && fsync(fd) == 0 &&
		    close(fd) == 0) {
			fd = -1;
			rc = renameat(dfd, tmp, dfd, base);
		}
		e = errno;
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			unlinkat(dfd, tmp, 0);
	} else {
		e = errno;
	}
	free(tmp);
	close(dfd);
	errno = e;
	return rc;
}

char *statefile_read(const char *path, size_t max, size_t *len)
{
	const char *base;
	int dfd = open_dir(path, &base);
	if (dfd < 0)
		return NULL;
	int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int e = errno;
	close(dfd);
	if (fd < 0) {
		errno = e;
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022) ||
	    (size_t)st.st_size > max) {
		e = (size_t)st.st_size > max && S_ISREG(st.st_mode) ? EFBIG : EPERM;
		close(fd);
		errno = e;
		return NULL;
	}
	char *buf = xmalloc((size_t)st.st_size + 1);
	size_t n = read_upto(fd, buf, (size_t)st.st_size, NULL);
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

int statefile_remove(const char *path)
{
	const char *base;
	int dfd = open_dir(path, &base);
	if (dfd < 0)
		return -1;
	int rc = unlinkat(dfd, base, 0);
	int e = errno;
	close(dfd);
	errno = e;
	return rc;
}
