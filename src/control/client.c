/* client.c — the control socket's client side (sluicectl); see control.h. */
#include "control/control.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int control_request(const char *path, int argc, char **argv, bool json)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "sluicectl: cannot reach sluiced at %s: %s\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 3;
	}
	char req[CONTROL_MAX_REQUEST];
	size_t n = 0;
	for (int i = 0; i < argc && n < sizeof(req) - 16; i++) {
		bool quote = strchr(argv[i], ' ') != NULL;
		n += (size_t)snprintf(req + n, sizeof(req) - n, "%s%s%s%s",
				      i ? " " : "", quote ? "\"" : "", argv[i],
				      quote ? "\"" : "");
	}
	n += (size_t)snprintf(req + n, sizeof(req) - n, "%s\n",
			      json ? " --json" : "");
	if (write(fd, req, n) != (ssize_t)n) {
		fprintf(stderr, "sluicectl: write: %s\n", strerror(errno));
		close(fd);
		return 3;
	}
	/* read everything: status line, then the body */
	size_t cap = 65536, len = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (len + 4096 > cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	int rc;
	if (strncmp(buf, "ok\n", 3) == 0) {
		fputs(buf + 3, stdout);
		rc = 0;
	} else if (strncmp(buf, "error ", 6) == 0) {
		fprintf(stderr, "sluicectl: %s", buf + 6);
		rc = 1;
	} else {
		fprintf(stderr, "sluicectl: no answer from sluiced\n");
		rc = 3;
	}
	free(buf);
	return rc;
}
