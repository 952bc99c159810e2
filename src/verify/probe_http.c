/*
 * probe_http.c — HTTP/HTTPS GET probes through libcurl's multi interface.
 *
 * One easy handle per probe, made once and re-added to the multi handle each
 * round, so that options are set once and connection-bound authentication
 * (NTLM, Negotiate) can reuse the authenticated connection: FORBID_REUSE and
 * FRESH_CONNECT are never set, and the auth scheme is always one specific
 * scheme, never CURLAUTH_ANY (which prevents reuse).
 *
 * The answer is judged on the final response of the round (a header callback
 * resets the body state on every status line, so 401 rounds of an auth
 * exchange or a 100 Continue do not count): status in the expected ranges
 * (vspec_expect(): default 200-399), then the body substring. At most
 * VERIFY_BODY_CAP bytes of body are read: the substring search stops at the
 * first hit, later bytes are only counted, and past the cap the transfer is
 * aborted (and the answer decided on what was seen).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <unistd.h>

#include "verify/verify_int.h"
#include "common/util.h"

struct vhttp {
	CURL *easy;
	struct curl_slist *hdrs, *connect_to;
	struct portrange *expect;
	size_t nexpect;
	char *body; /* substring, or NULL */
	size_t bodylen;
	bool auth;
	char *user, *pass;

	/* per round */
	char *buf; /* body window, only with a body check */
	size_t len, cap, seen;
	bool found, aborted;
	unsigned auth_legs; /* 401/407 answers this round (not reset by
			     * round_reset: they span the responses) */
	bool auth_loop;	    /* stopped after VERIFY_AUTH_LEGS of them */
	char err[CURL_ERROR_SIZE];
};

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void round_reset(struct vhttp *h)
{
	free(h->buf);
	h->buf = NULL;
	h->len = h->cap = h->seen = 0;
	h->found = h->aborted = false;
}

/* The status code of an HTTP status line PTR (LEN bytes, not
 * NUL-terminated), or 0 when it has none. */
static long status_of(const char *ptr, size_t len)
{
	const char *sp = memchr(ptr, ' ', len);
	long code = 0;

	if (!sp)
		return 0;
	for (sp++; sp < ptr + len && *sp >= '0' && *sp <= '9' && code < 1000;
	     sp++)
		code = code * 10 + (*sp - '0');
	return code;
}

/*
 * libcurl: every header line of every response of a round. A status line
 * starts a new response. With authentication, the 401/407 answers of one
 * round are counted: a server that drops the connection between the legs
 * of a connection-bound handshake (NTLM, Negotiate with keep-alive off)
 * makes libcurl start over without end; after VERIFY_AUTH_LEGS of them the
 * round stops (returning less than given aborts the transfer) and is judged
 * an authentication failure.
 */
static size_t header_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct vprobe *p = arg;
	struct vhttp *h = p->m.http;
	long status;

	if (size * n < 5 || strncmp(ptr, "HTTP/", 5))
		return size * n;
	round_reset(h); /* a new response begins */
	status = status_of(ptr, size * n);
	if (h->auth && (status == 401 || status == 407) &&
	    ++h->auth_legs > VERIFY_AUTH_LEGS) {
		h->auth_loop = true;
		return 0;
	}
	return size * n;
}

static size_t write_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct vprobe *p = arg;
	struct vhttp *h = p->m.http;
	size_t len = size * n;

	h->seen += len;
	if (h->body && !h->found && h->len < VERIFY_BODY_CAP) {
		size_t take = VERIFY_BODY_CAP - h->len, from;

		if (take > len)
			take = len;
		if (h->len + take > h->cap) { /* grow by doubling, to the cap */
			size_t cap = h->cap ? h->cap : 4096;
			while (cap < h->len + take)
				cap *= 2;
			if (cap > VERIFY_BODY_CAP)
				cap = VERIFY_BODY_CAP;
			h->buf = xrealloc(h->buf, cap);
			h->cap = cap;
		}
		memcpy(h->buf + h->len, ptr, take);
		from = h->len >= h->bodylen ? h->len - (h->bodylen - 1) : 0;
		h->len += take;
		if (memmem(h->buf + from, h->len - from, h->body, h->bodylen)) {
			h->found = true;
			free(h->buf); /* decided: keep no more */
			h->buf = NULL;
			h->cap = 0;
		}
	}
	if (h->seen > VERIFY_BODY_CAP) {
		h->aborted = true; /* decided on what was seen */
		return 0;
	}
	return len;
}

static bool status_expected(const struct vhttp *h, long status)
{
	for (size_t i = 0; i < h->nexpect; i++)
		if (status >= h->expect[i].lo && status <= h->expect[i].hi)
			return true;
	return false;
}

static enum vresult map_curl(CURL *e, CURLcode code)
{
	long oserr = 0;

	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		return VR_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return VR_ADDR;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return VR_TLS;
	case CURLE_LOGIN_DENIED:
	case CURLE_AUTH_ERROR:
		return VR_AUTH;
	default:
		curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &oserr);
		if (oserr)
			return verrno_result((int)oserr);
		return code == CURLE_COULDNT_CONNECT ? VR_REFUSED : VR_OTHER;
	}
}

/* The done function of the curl loop: judges the round and reports it. */
static void http_done(void *easy, int code)
{
	struct vprobe *p = NULL;
	struct vhttp *h;
	enum vresult r = VR_OK;
	char detail[sizeof(p->detail)];
	long status = 0;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&p);
	if (!p)
		return;
	h = p->m.http;
	vcurl_remove(p->v->curl, easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	p->http_status = (int)status;
	detail[0] = '\0';
	if (h->auth_loop) {
		r = VR_AUTH;
		snprintf(detail, sizeof(detail),
			 "no authentication after %u answers HTTP %ld (does the "
			 "server close the connection between the legs?)",
			 h->auth_legs, status);
	} else if (code != CURLE_OK &&
		   !(code == CURLE_WRITE_ERROR && h->aborted)) {
		r = map_curl(easy, (CURLcode)code);
		snprintf(detail, sizeof(detail), "%.*s",
			 (int)sizeof(detail) - 1,
			 h->err[0] ? h->err : curl_easy_strerror((CURLcode)code));
	} else if (h->auth && (status == 401 || status == 407)) {
		r = VR_AUTH;
		snprintf(detail, sizeof(detail), "HTTP %ld after authenticating",
			 status);
	} else if (!status_expected(h, status)) {
		r = VR_STATUS;
		snprintf(detail, sizeof(detail), "HTTP %ld", status);
	} else if (h->body && !h->found) {
		r = VR_BODY;
		snprintf(detail, sizeof(detail),
			 "body lacks the expected text (%zu bytes read)",
			 h->seen);
	}
	round_reset(h);
	h->auth_legs = 0;
	h->auth_loop = false;
	vprobe_done(p, r, (uint32_t)(vnow_us() - p->start_us), detail);
}

/* libcurl: marks each new socket before it connects. */
static int mark_socket(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	const struct vengine *v = clientp;
	(void)purpose;
	if (v->o.so_mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &v->o.so_mark,
			   sizeof(v->o.so_mark));
	return CURL_SOCKOPT_OK;
}

static int http_prepare(struct vprobe *p, const struct verify_spec *s,
			const struct vtarget *t)
{
	struct vengine *v = p->v;
	struct vhttp *h;
	CURL *e;
	long auth = CURLAUTH_NONE;

	if (!v->curl && !(v->curl = vcurl_new(v->base, v->o.maxconnects,
					      http_done)))
		return -1;
	h = xcalloc(1, sizeof(*h));
	p->m.http = h;
	if (!(h->easy = e = curl_easy_init()))
		goto nomem;
	{ /* the ranges that pass, the default included */
		size_t n;
		const struct portrange *ex = vspec_expect(s, &n);

		h->expect = xcalloc(n, sizeof(*h->expect));
		memcpy(h->expect, ex, n * sizeof(*h->expect));
		h->nexpect = n;
	}
	if (s->body && s->body[0]) {
		h->body = xstrdup(s->body);
		h->bodylen = strlen(h->body);
	}
	switch (s->auth) {
	case AUTH_NONE:
		break;
	case AUTH_BASIC:
		auth = CURLAUTH_BASIC;
		break;
	case AUTH_DIGEST:
		auth = CURLAUTH_DIGEST;
		break;
	case AUTH_NTLM:
		auth = CURLAUTH_NTLM;
		break;
	case AUTH_NEGOTIATE:
		auth = CURLAUTH_NEGOTIATE;
		break;
	}
	if (auth != CURLAUTH_NONE && auth != CURLAUTH_NEGOTIATE) {
		if (!s->user || !s->password_file) {
			errno = EINVAL;
			goto fail;
		}
		h->user = xstrdup(s->user);
		if (!(h->pass = secret_read_line(s->password_file, 1024)))
			goto fail; /* errno from open/read */
	}
	h->auth = auth != CURLAUTH_NONE;
	if (t->host_hdr && !(h->hdrs = curl_slist_append(NULL, t->host_hdr)))
		goto nomem;
	if (t->connect_to &&
	    !(h->connect_to = curl_slist_append(NULL, t->connect_to)))
		goto nomem;

	curl_easy_setopt(e, CURLOPT_URL, t->url);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, mark_socket);
	curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, p->v);
	curl_easy_setopt(e, CURLOPT_PRIVATE, p);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->err);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, p);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sluice-verify/1");
	curl_easy_setopt(e, CURLOPT_SHARE, vcurl_share(v->curl));
#if LIBCURL_VERSION_NUM >= 0x075700 /* 7.87.0 */
	curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 3600L);
#endif
	if (h->hdrs)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->hdrs);
	if (h->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, h->connect_to);
	if (s->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (s->ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, s->ca);
	if (s->cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, s->cert);
	if (s->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, s->key);
	if (h->auth) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, auth);
		if (auth == CURLAUTH_NEGOTIATE) {
			/* credentials come from the Kerberos ccache */
			curl_easy_setopt(e, CURLOPT_USERPWD, ":");
			curl_easy_setopt(e, CURLOPT_GSSAPI_DELEGATION,
					 CURLGSSAPI_DELEGATION_NONE);
		} else {
			curl_easy_setopt(e, CURLOPT_USERNAME, h->user);
			curl_easy_setopt(e, CURLOPT_PASSWORD, h->pass);
		}
	}
	return 0;
nomem:
	errno = ENOMEM;
fail: {
	int err = errno;

	p->ops->release(p);
	errno = err;
	return -1;
}
}

static void http_start(struct vprobe *p)
{
	struct vhttp *h = p->m.http;

	round_reset(h);
	h->auth_legs = 0;
	h->auth_loop = false;
	h->err[0] = '\0';
	p->http_status = 0;
	if (vcurl_add(p->v->curl, h->easy) < 0)
		vprobe_done_soon(p, VR_OTHER, "curl_multi_add_handle failed");
}

static void http_cancel(struct vprobe *p)
{
	vcurl_remove(p->v->curl, p->m.http->easy);
	round_reset(p->m.http);
}

static void http_release(struct vprobe *p)
{
	struct vhttp *h = p->m.http;

	if (!h)
		return;
	if (h->easy)
		curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->hdrs);
	curl_slist_free_all(h->connect_to);
	free(h->expect);
	free(h->body);
	free(h->user);
	wipe_free(h->pass);
	round_reset(h);
	free(h);
	p->m.http = NULL;
}

const struct vprobe_ops vprobe_http_ops = {
	.prepare = http_prepare,
	.start = http_start,
	.cancel = http_cancel,
	.release = http_release,
};
