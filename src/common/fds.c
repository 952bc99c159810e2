/* fds.c — see fds.h. */
#include "common/fds.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

long fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 1024;
	return (long)rl.rlim_cur;
}

bool fd_below_reserve(int fd, unsigned reserve)
{
	return fd >= 0 && (long)fd + (long)reserve < fd_limit();
}

bool fd_room(unsigned n)
{
	int got[64];
	unsigned k = 0;
	if (n > 64)
		n = 64;
	while (k < n) {
		int fd = fcntl(2, F_DUPFD_CLOEXEC, 0);
		if (fd < 0 && errno == EBADF)
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		got[k++] = fd;
	}
	bool ok = k == n;
	while (k)
		close(got[--k]);
	return ok;
}
