/* client.c — the control socket's client side (sluicectl); see control.h. */
#include "control/control.h"
#include "common/text.h"
#include "common/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Longest answer read (a session list of a busy gateway fits). */
#define CONTROL_MAX_REPLY (256u << 20)

/* Reads until EOF; NULL with errno when the answer is too long. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 65536;
	char *buf = xmalloc(cap);
	*len = 0;
	for (;;) {
		if (*len + 4096 > cap) {
			if (cap >= CONTROL_MAX_REPLY) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			buf = xrealloc(buf, cap *= 2);
		}
		ssize_t r = read(fd, buf + *len, cap - *len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	buf[*len] = '\0';
	return buf;
}

/* A copy of S ending with one '\n'. */
static char *line_of(const char *s)
{
	size_t n = strlen(s);
	return n && s[n - 1] == '\n' ? xstrdup(s) : xasprintf("%s\n", s);
}

/* Interprets the answer TEXT; see control_call_json. */
static int decode_reply(const char *text, size_t len, json_t **output,
			char **err)
{
	json_error_t je;
	json_t *r = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	json_t *ok = json_object_get(r, "ok");
	json_t *o = json_object_get(r, "output");
	const char *s;
	int rc;
	if (json_is_true(ok) && o) {
		*output = json_incref(o);
		rc = 0;
	} else if (json_is_false(ok) &&
		   (s = json_string_value(json_object_get(r, "error")))) {
		/* sluiced sends no control character; whatever answers on
		 * the socket, none reaches the terminal raw */
		char *e = text_escape_dup(s, strlen(s), true);
		*err = line_of(e);
		free(e);
		rc = 1;
	} else {
		*err = xstrdup("no valid answer from sluiced\n");
		rc = 3;
	}
	json_decref(r);
	return rc;
}

int control_call_json(const char *path, const char *command, const json_t *args,
		 json_t **output, char **err)
{
	*output = NULL;
	*err = NULL;
	json_t *req = json_object();
	json_object_set_new(req, "command", json_string(command));
	if (args)
		json_object_set(req, "args", (json_t *)args);
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text) {
		*err = xstrdup("cannot encode the request (not UTF-8?)\n");
		return 2;
	}
	/* never cut: a shortened request could still mean something */
	size_t tl = strlen(text);
	if (tl + 1 > CONTROL_MAX_REQUEST) {
		*err = xasprintf("request too long (%zu bytes; at most %d)\n",
				  tl + 1, CONTROL_MAX_REQUEST);
		free(text);
		return 2;
	}
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*err = xasprintf("cannot reach sluiced at %s: %s\n", path,
				  strerror(errno));
		if (fd >= 0)
			close(fd);
		free(text);
		return 3;
	}
	text[tl] = '\n'; /* the NUL becomes the request's end of line */
	int w = write_all(fd, text, tl + 1);
	free(text);
	size_t len = 0;
	char *buf = read_all(fd, &len);
	int e = errno;
	close(fd);
	if (!buf) {
		*err = xasprintf("reading the answer: %s\n", strerror(e));
		return 3;
	}
	int rc;
	if (len == 0 && w < 0) {
		*err = xasprintf("write: %s\n", strerror(e));
		rc = 3;
	} else {
		rc = decode_reply(buf, len, output, err);
	}
	free(buf);
	return rc;
}
