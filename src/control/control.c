/* control.c — see control.h. */
#include "control/control.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct control {
	struct evconnlistener *lis;
	char *path;
	control_fn fn;
	void *arg;
};

static void conn_close(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}

static void on_written(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

/* Splits LINE into words (double quotes group); returns argc. */
static int split(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line;
	while (*p && argc < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			argv[argc++] = ++p;
			while (*p && *p != '"')
				p++;
		} else {
			argv[argc++] = p;
			while (*p && *p != ' ' && *p != '\t')
				p++;
		}
		if (*p)
			*p++ = '\0';
	}
	return argc;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct control *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (!line) {
		if (evbuffer_get_length(in) > CONTROL_MAX_REQUEST)
			bufferevent_free(bev);
		return;
	}
	char *argv[CONTROL_MAX_ARGS];
	int argc = split(line, argv, CONTROL_MAX_ARGS);
	bool json = false;
	int k = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			argv[k++] = argv[i];
	}
	argc = k;
	struct evbuffer *body = evbuffer_new();
	int rc = argc ? c->fn(c->arg, argc, argv, json, body) : -1;
	if (!argc)
		evbuffer_add_printf(body, "empty request");
	struct evbuffer *out = bufferevent_get_output(bev);
	if (rc == 0) {
		evbuffer_add_printf(out, "ok\n");
	} else {
		evbuffer_add_printf(out, "error ");
	}
	evbuffer_add_buffer(out, body);
	if (rc != 0)
		evbuffer_add_printf(out, "\n");
	evbuffer_free(body);
	free(line);
	bufferevent_setcb(bev, NULL, on_written, conn_close, c);
	bufferevent_disable(bev, EV_READ);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct control *c = arg;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    cred.uid != 0) {
		log_warnx("control: refused a client with uid %d",
			  cl == sizeof(cred) ? (int)cred.uid : -1);
		close(fd);
		return;
	}
	struct event_base *base = evconnlistener_get_base(lis);
	struct bufferevent *bev =
	    bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	struct timeval tv = {5, 0};
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, on_read, NULL, conn_close, c);
	bufferevent_enable(bev, EV_READ);
}

struct control *control_listen(struct event_base *base, const char *path,
			       control_fn fn, void *arg)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sun.sun_path, path);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	free(dir);
	unlink(path); /* a stale socket of a killed daemon */
	mode_t old = umask(077);
	struct control *c = xcalloc(1, sizeof(*c));
	c->lis = evconnlistener_new_bind(
	    base, on_accept, c,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (!c->lis) {
		free(c);
		return NULL;
	}
	c->path = xstrdup(path);
	c->fn = fn;
	c->arg = arg;
	return c;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	evconnlistener_free(c->lis);
	unlink(c->path);
	free(c->path);
	free(c);
}

