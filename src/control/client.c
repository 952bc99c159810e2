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

int control_fetch(const char *path, const char *request, char **body)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*body = xasprintf("cannot reach sluiced at %s: %s\n", path,
				  strerror(errno));
		if (fd >= 0)
			close(fd);
		return 3;
	}
	char *req = xasprintf("%s\n", request);
	size_t rl = strlen(req);
	ssize_t w = write(fd, req, rl);
	free(req);
	if (w != (ssize_t)rl) {
		*body = xasprintf("write: %s\n", strerror(errno));
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
	int rc = 3;
	if (strncmp(buf, "ok\n", 3) == 0) {
		*body = xstrdup(buf + 3);
		rc = 0;
	} else if (strncmp(buf, "error ", 6) == 0) {
		*body = xstrdup(buf + 6);
		rc = 1;
	} else {
		*body = xstrdup("no answer from sluiced\n");
	}
	free(buf);
	return rc;
}

int control_request(const char *path, int argc, char **argv, bool json)
{
	char *req = xstrdup("");
	for (int i = 0; i < argc; i++) {
		bool quote = strchr(argv[i], ' ') != NULL;
		char *r = xasprintf("%s%s%s%s%s", req, i ? " " : "",
				    quote ? "\"" : "", argv[i], quote ? "\"" : "");
		free(req);
		req = r;
	}
	if (json) {
		char *r = xasprintf("%s --json", req);
		free(req);
		req = r;
	}
	/* never cut: a shortened request could still mean something */
	if (strlen(req) + 1 > CONTROL_MAX_REQUEST) {
		fprintf(stderr, "sluicectl: request too long (%zu bytes; at "
			"most %d)\n", strlen(req) + 1, CONTROL_MAX_REQUEST);
		free(req);
		return 2;
	}
	char *body;
	int rc = control_fetch(path, req, &body);
	free(req);
	if (rc == 0)
		fputs(body, stdout);
	else
		fprintf(stderr, "sluicectl: %s", body);
	free(body);
	return rc;
}
