/*
 * probe_tcp.c — TCP connect probes: a non-blocking connect() and one
 * libevent event that fires on writability or on the timeout.
 *
 * The socket is closed with SO_LINGER 0 (a RST), as HAProxy does for its
 * checks: no TIME_WAIT piles up on the checker's side, so frequent checks
 * never run out of ephemeral ports.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "verify/verify_int.h"

static void tcp_close(struct vprobe *p)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (p->m.tcp.ev) {
		event_free(p->m.tcp.ev);
		p->m.tcp.ev = NULL;
	}
	if (p->m.tcp.fd >= 0) {
		setsockopt(p->m.tcp.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(p->m.tcp.fd);
		p->m.tcp.fd = -1;
	}
}

static void tcp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vprobe *p = arg;
	enum vresult r = VR_OK;
	int err = 0;
	socklen_t len = sizeof(err);
	char detail[64] = "";

	if (what & EV_TIMEOUT) {
		r = VR_TIMEOUT;
		snprintf(detail, sizeof(detail), "no answer in %u ms",
			 p->t.timeout_ms);
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		if (!err)
			err = errno;
		r = verrno_result(err);
		snprintf(detail, sizeof(detail), "%s", strerror(err));
	}
	tcp_close(p);
	vprobe_done(p, r, (uint32_t)(vnow_us() - p->start_us), detail);
}

static int tcp_prepare(struct vprobe *p, const struct verify_spec *s,
		       const struct vtarget *t)
{
	(void)s;
	(void)t;
	p->m.tcp.fd = -1;
	p->m.tcp.ev = NULL;
	return 0;
}

static void tcp_start(struct vprobe *p)
{
	struct timeval tv = {.tv_sec = p->t.timeout_ms / 1000,
			     .tv_usec = (p->t.timeout_ms % 1000) * 1000};
	int fd = socket(p->t.sa.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0) {
		vprobe_done_soon(p, VR_OTHER, strerror(errno));
		return;
	}
	p->m.tcp.fd = fd;
	if (p->v->o.so_mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &p->v->o.so_mark,
			   sizeof(p->v->o.so_mark));
	if (connect(fd, (struct sockaddr *)&p->t.sa, p->t.salen) < 0 &&
	    errno != EINPROGRESS) {
		int err = errno;

		tcp_close(p);
		vprobe_done_soon(p, verrno_result(err), strerror(err));
		return;
	}
	/* connected or in progress: writability tells either way */
	if (!(p->m.tcp.ev = event_new(p->v->base, fd, EV_WRITE, tcp_cb, p)) ||
	    event_add(p->m.tcp.ev, &tv) < 0) {
		tcp_close(p);
		vprobe_done_soon(p, VR_OTHER, "event_add failed");
	}
}

static void tcp_cancel(struct vprobe *p)
{
	tcp_close(p);
}

const struct vprobe_ops vprobe_tcp_ops = {
	.prepare = tcp_prepare,
	.start = tcp_start,
	.cancel = tcp_cancel,
	.release = tcp_cancel,
};
