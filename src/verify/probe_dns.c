/*
 * check_dns.c — DNS checks: one query (class IN, type A or AAAA) to one
 * server, through c-ares on the engine's libevent loop; the answer is
 * judged here.
 *
 * Each probe owns a c-ares channel whose only server is the probe's
 * target (or farm member) and port, made once in prepare and destroyed in
 * release: one try (tries 1), the check's timeout as c-ares's, no search
 * list, no /etc/hosts (ares_query never reads it), responses with an error
 * code handed back at once (ARES_FLAG_NOCHECKRESP: a single server, no
 * other to try). c-ares matches the answer's id and question to the query
 * (RFC 5452 §9.1) and parses it (ares_parse_a_reply/aaaa_reply, which
 * follow a CNAME chain inside the answer); a malformed answer is a
 * failure, never an up.
 *
 * Driving c-ares (common/aresev.h, shared with src/resolve/resolver.c):
 * ARES_OPT_SOCK_STATE_CB says which sockets to watch, each gets a
 * persistent event calling
 * ares_process_fd(); one timer runs c-ares's own timeouts, capped by the
 * round's deadline (start + timeout): at the deadline the query is
 * cancelled and the round ends as a timeout, whatever c-ares would do.
 *
 * Results (verify.h): an answer holding at least one record of the type
 * (and, with `answer`, that address) is ok; no record of the type
 * (NOERROR/NODATA) or not the address is VR_ANSWER; NXDOMAIN, SERVFAIL,
 * FORMERR, NOTIMP and malformed answers are VR_DNS; REFUSED (the rcode, or
 * an ICMP port unreachable: ECONNREFUSED) is VR_REFUSED; no answer in time
 * is VR_TIMEOUT. The detail names the code and the name.
 *
 * c-ares calls back from inside ares_process_fd()/ares_query(): the result
 * always goes through vprobe_done_soon(), so that the engine (which may
 * free this probe and its channel) never runs inside c-ares.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/aresev.h"
#include "common/util.h"
#include "verify/verify_int.h"

/* Addresses of one answer examined, at most: `answer` must be among the
 * first 256 records of the type (a 64 KiB TCP answer could hold 4,000). */
#define DNS_MAX_ADDRS 256

struct vdns {
	struct vprobe *p;
	ares_channel ch;
	struct aresev ae; /* c-ares's sockets on the engine's base */
	struct event *tmo;    /* c-ares's next timeout, capped by deadline */
	uint64_t deadline_us; /* this round's end */
	int type;	      /* ns_t_a or ns_t_aaaa */
	unsigned char want[16]; /* the `answer` address, when has_want */
	bool has_want;
	bool waiting;	/* a query of this round is out */
	bool expired;	/* the deadline cancelled it */
	bool quiet;	/* cancel/destroy: callbacks report nothing */
};

/* ---- judging an answer --------------------------------------------------- */

/* The addresses of type TYPE in answer BUF/LEN, into OUT (room for
 * DNS_MAX_ADDRS of 16 bytes); their count, or an ARES_E* code < 0. */
static int answer_addrs(int type, const unsigned char *buf, int len,
			unsigned char (*out)[16])
{
	int n = DNS_MAX_ADDRS, rc;

	if (type == ns_t_a) {
		struct ares_addrttl *a = xcalloc(DNS_MAX_ADDRS, sizeof(*a));

		rc = ares_parse_a_reply(buf, len, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			memcpy(out[i], &a[i].ipaddr, 4);
		free(a);
	} else {
		struct ares_addr6ttl *a = xcalloc(DNS_MAX_ADDRS, sizeof(*a));

		rc = ares_parse_aaaa_reply(buf, len, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			memcpy(out[i], &a[i].ip6addr, 16);
		free(a);
	}
	return rc == ARES_SUCCESS ? n : -rc;
}

static const char *type_name(int type)
{
	return type == ns_t_a ? "A" : "AAAA";
}

enum vresult vdns_judge_answer(int type, const char *name,
			       const unsigned char *want,
			       const unsigned char *buf, int len, char *detail,
			       size_t dlen)
{
	unsigned char(*addrs)[16] = xcalloc(DNS_MAX_ADDRS, sizeof(*addrs));
	int family = type == ns_t_a ? AF_INET : AF_INET6;
	char first[INET6_ADDRSTRLEN] = "", wanted[INET6_ADDRSTRLEN] = "";
	enum vresult r = VR_OK;
	int n;

	detail[0] = '\0';
	n = answer_addrs(type, buf, len, addrs);
	if (n == -ARES_ENODATA || n == 0) {
		snprintf(detail, dlen, "no %s record for %s", type_name(type),
			 name);
		r = VR_ANSWER;
	} else if (n < 0) {
		snprintf(detail, dlen, "malformed answer for %s: %s", name,
			 ares_strerror(-n));
		r = n == -ARES_ENOMEM ? VR_OTHER : VR_DNS;
	} else if (want) {
		size_t alen = family == AF_INET ? 4 : 16;
		bool found = false;

		for (int i = 0; i < n && !found; i++)
			found = !memcmp(addrs[i], want, alen);
		if (!found) {
			inet_ntop(family, addrs[0], first, sizeof(first));
			inet_ntop(family, want, wanted, sizeof(wanted));
			snprintf(detail, dlen, "%s %s: %s not in the answer (%s%s)",
				 name, type_name(type), wanted, first,
				 n > 1 ? ", ..." : "");
			r = VR_ANSWER;
		}
	}
	free(addrs);
	return r;
}

/* Maps the end of a query (c-ares STATUS) to a result and a detail. */
static enum vresult judge(const struct vdns *d, int status,
			  const unsigned char *buf, int len, char *detail,
			  size_t dlen)
{
	const char *name = d->p->spec.qname;

	switch (status) {
	case ARES_SUCCESS:
		return vdns_judge_answer(d->type, name,
					 d->has_want ? d->want : NULL, buf, len,
					 detail, dlen);
	case ARES_ENODATA:
		snprintf(detail, dlen, "no %s record for %s", type_name(d->type),
			 name);
		return VR_ANSWER;
	case ARES_ENOTFOUND:
		snprintf(detail, dlen, "NXDOMAIN: %s does not exist", name);
		return VR_DNS;
	case ARES_ESERVFAIL:
		snprintf(detail, dlen, "SERVFAIL for %s", name);
		return VR_DNS;
	case ARES_EFORMERR:
		snprintf(detail, dlen, "FORMERR for %s", name);
		return VR_DNS;
	case ARES_ENOTIMP:
		snprintf(detail, dlen, "NOTIMP for %s", name);
		return VR_DNS;
	case ARES_EBADRESP:
		snprintf(detail, dlen, "malformed answer for %s", name);
		return VR_DNS;
	case ARES_EREFUSED:
		snprintf(detail, dlen, "REFUSED for %s", name);
		return VR_REFUSED;
	case ARES_ECONNREFUSED:
		snprintf(detail, dlen, "connection refused");
		return VR_REFUSED;
	case ARES_ETIMEOUT:
		snprintf(detail, dlen, "no answer in %u ms", d->p->t.timeout_ms);
		return VR_TIMEOUT;
	case ARES_ECANCELLED:
		if (d->expired) {
			snprintf(detail, dlen, "no answer in %u ms",
				 d->p->t.timeout_ms);
			return VR_TIMEOUT;
		}
		break;
	case ARES_EBADNAME:
		snprintf(detail, dlen, "bad name %s", name);
		return VR_ADDR;
	default:
		break;
	}
	snprintf(detail, dlen, "%s", ares_strerror(status));
	return VR_OTHER;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *buf,
		      int len)
{
	struct vdns *d = arg;
	char detail[128] = "";
	enum vresult r;

	(void)timeouts;
	if (d->quiet || !d->waiting)
		return;
	d->waiting = false;
	evtimer_del(d->tmo);
	r = judge(d, status, buf, len, detail, sizeof(detail));
	/* never re-enter the engine from inside c-ares */
	vprobe_done_soon(d->p, r, r == VR_OK ? NULL : detail);
}

/* ---- driving c-ares from libevent ------------------------------------------- */

/* Re-arms the timer: c-ares's next timeout, at most the round's end. */
static void arm_timer(struct vdns *d)
{
	struct timeval max, tv, *tp;
	uint64_t now = vnow_us(),
		 left = d->deadline_us > now ? d->deadline_us - now : 0;

	if (!d->waiting) {
		evtimer_del(d->tmo);
		return;
	}
	max.tv_sec = (time_t)(left / 1000000u);
	max.tv_usec = (suseconds_t)(left % 1000000u);
	tp = ares_timeout(d->ch, &max, &tv);
	evtimer_add(d->tmo, tp);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct vdns *d = arg;

	(void)fd;
	(void)what;
	if (d->waiting && vnow_us() >= d->deadline_us) {
		d->expired = true;
		ares_cancel(d->ch); /* on_answer: ARES_ECANCELLED, a timeout */
		return;
	}
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm_timer(d);
}

/* aresev's AFTER hook: c-ares processed a socket; re-arm the timer. */
static void after_sock(void *arg)
{
	arm_timer(arg);
}

/* c-ares: a new socket, before connect(): the engine's mark, so that the
 * gateway's own ruleset lets the check through (as the TCP check). */
static int sock_config(ares_socket_t fd, int type, void *data)
{
	const struct vdns *d = data;
	uint32_t mark = d->p->v->o.so_mark;

	(void)type;
	if (mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	return 0;
}

/* ---- probe ops ------------------------------------------------------------------- */

/* The only server of D's channel: the probe's target and port. */
static int set_server(struct vdns *d, const struct vtarget *t)
{
	struct ares_addr_port_node srv = {.family = t->sa.ss_family};

	if (t->sa.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&t->sa;

		memcpy(&srv.addr.addr4, &s->sin_addr, 4);
		srv.udp_port = srv.tcp_port = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&t->sa;

		memcpy(&srv.addr.addr6, &s->sin6_addr, 16);
		srv.udp_port = srv.tcp_port = ntohs(s->sin6_port);
	}
	return ares_set_servers_ports(d->ch, &srv) == ARES_SUCCESS ? 0 : -1;
}

static void dns_free(struct vdns *d)
{
	if (!d)
		return;
	d->quiet = true;
	if (d->ch) {
		/* calls back ARES_EDESTRUCTION (quiet) and closes the sockets
		 * through aresev_sock_state, which frees their events */
		ares_destroy(d->ch);
		ares_library_cleanup();
	}
	aresev_fini(&d->ae); /* defensive: c-ares closed them all */
	if (d->tmo)
		event_free(d->tmo);
	free(d);
}

static int dns_prepare(struct vprobe *p, const struct verify_spec *s,
		       const struct vtarget *t)
{
	struct vdns *d = xcalloc(1, sizeof(*d));
	struct ares_options o = {
	    .flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES |
		     ARES_FLAG_NOCHECKRESP,
	    .timeout = (int)t->timeout_ms,
	    .tries = 1,
	    .lookups = (char *)"b", /* DNS only, never /etc/hosts */
	    .sock_state_cb = aresev_sock_state,
	};
	int err = EINVAL;

	d->p = p;
	aresev_init(&d->ae, p->v->base, after_sock, d);
	d->type = s->qtype == DNSQ_AAAA ? ns_t_aaaa : ns_t_a;
	if (!s->qname ||
	    (s->answer && inet_pton(s->qtype == DNSQ_AAAA ? AF_INET6 : AF_INET,
				    s->answer, d->want) != 1))
		goto fail;
	d->has_want = s->answer != NULL;
	err = ENOMEM;
	if (!(d->tmo = evtimer_new(p->v->base, on_timer, d)))
		goto fail;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		goto fail;
	o.sock_state_cb_data = &d->ae;
	if (ares_init_options(&d->ch, &o,
			      ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
				  ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
				  ARES_OPT_SOCK_STATE_CB) != ARES_SUCCESS) {
		d->ch = NULL;
		ares_library_cleanup();
		goto fail;
	}
	d->ae.ch = d->ch;
	if (set_server(d, t) < 0)
		goto fail;
	ares_set_socket_configure_callback(d->ch, sock_config, d);
	p->m.dns = d;
	return 0;
fail:
	dns_free(d);
	errno = err;
	return -1;
}

static void dns_start(struct vprobe *p)
{
	struct vdns *d = p->m.dns;

	d->expired = false;
	d->waiting = true;
	d->deadline_us = p->start_us + (uint64_t)p->t.timeout_ms * 1000u;
	/* may call on_answer at once (no socket): vprobe_done_soon then */
	ares_query(d->ch, p->spec.qname, ns_c_in, d->type, on_answer, d);
	arm_timer(d);
}

static void dns_cancel(struct vprobe *p)
{
	struct vdns *d = p->m.dns;

	if (!d)
		return;
	d->quiet = true;
	ares_cancel(d->ch); /* ends the query; c-ares closes its sockets */
	d->quiet = false;
	d->waiting = false;
	evtimer_del(d->tmo);
}

static void dns_release(struct vprobe *p)
{
	dns_free(p->m.dns);
	p->m.dns = NULL;
}

const struct vprobe_ops vprobe_dns_ops = {
	.prepare = dns_prepare,
	.start = dns_start,
	.cancel = dns_cancel,
	.release = dns_release,
};
