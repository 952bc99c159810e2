/*
 * main.c — sluice-portal (docs/sluice-portal.8.md): the login portal.
 *
 * Reads portal { } and directory ldap { } from the policy, opens the HTTPS
 * page on portal { listen } and the HTTP responder on port 80 of the same
 * address (where the kernel sends unidentified clients' web sessions:
 * src/kernel/ruleset.c gen_portal), then drops to an unprivileged user
 * (-u; no capability left) and serves. A sign-in is an LDAP bind as the
 * user (pauth.c); it becomes an identity at the client's address through
 * sluiced's control socket (`identity-login`, source portal, operator
 * level: the user's groups must include one of control { operator-groups
 * }). The identity is pushed with a lifetime of at most `idle` and pushed
 * again while the signed-in page (which reloads itself) is seen, up to
 * `lifetime`: when the page goes away, or this process does, the identity
 * ends by itself within `idle`. Sign-out, idle and lifetime log it out.
 */
#include "common/log.h"
#include "common/addrport.h"
#include "common/text.h"
#include "common/util.h"
#include "control/control.h"
#include "portal/portal.h"
#include "stats/httpsrv.h"

#include <arpa/inet.h>
#include <cap-ng.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORTAL_MAX_BODY 4096	    /* a sign-in form */
#define PORTAL_USER_MAX 256	    /* bytes of a user name typed */
#define PORTAL_PASSWORD_MAX 1024    /* bytes of a password */
#define PORTAL_MAX_SESSIONS 65536   /* signed-in addresses */
#define PORTAL_SWEEP_S 2	    /* idle and lifetime checked this often */
#define PORTAL_MAX_JOBS 16	    /* sign-ins checked by the directory at once */
#define PORTAL_MAX_CONNS 256	    /* connections open at once, each listener */
#define PORTAL_CONNS_PER_ADDR 4	    /* ... from one client address */
#define PORTAL_CONNS_PER_PREFIX 16  /* ... from one source prefix */
#define PORTAL_REQUEST_MS 5000	    /* to send a request (TLS handshake too) */

/* One signed-in client address. */
struct psess {
	LIST_ENTRY(psess) link;
	char addr[INET6_ADDRSTRLEN];
	char user[PORTAL_USER_MAX];
	time_t started, seen, pushed; /* CLOCK_MONOTONIC seconds */
};

/* What the portal counts (logged on SIGUSR1 and at exit). */
struct pcounters {
	unsigned long long signins, refused, unavailable, errors, signouts,
	    idle, expired, redirects, push_failed, busy, throttled;
};

struct portal {
	struct policy *p;
	const struct portal_cfg *cfg;
	char *bind_password;
	const char *socket;
	char base_url[INET6_ADDRSTRLEN + 16]; /* https://ADDR:PORT */
	char hdr[INET6_ADDRSTRLEN + 96];      /* a redirect's header lines */
	SSL_CTX *tls;
	struct http_server *https, *http;
	struct event *sweep, *sigusr1, *sigterm, *sigint;
	LIST_HEAD(, psess) sessions;
	size_t nsessions;
	struct guard *guard; /* refused sign-ins (password guessing) */
	struct event_base *base;
	LIST_HEAD(, pjob) jobs; /* sign-ins the directory is checking */
	size_t njobs;
	struct pcounters n;
	struct event *report; /* push_report() every PORTAL_REPORT_S */
	bool report_failing;  /* the last portal-report failed (logged) */
};

static time_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ---- sluiced's identity push API (control socket, operator level) ------ */

/* COMMAND with ARGS (taken: freed here) on sluiced's control socket; 0,
 * or -1 with *ERR a message to free (control_call_json). */
static int call(const struct portal *P, const char *command, json_t *args,
		char **err)
{
	json_t *answer = NULL;
	*err = NULL;
	int rc = control_call_json(P->socket, command, args, &answer, err);
	json_decref(args);
	json_decref(answer);
	return rc ? -1 : 0;
}

/* identity-login of USER at ADDR for LIFETIME seconds, source portal. */
static bool push_login(struct portal *P, const char *addr, const char *user,
		       unsigned lifetime)
{
	char *err;
	int rc = call(P, "identity-login",
		      json_pack("{s:s, s:s, s:I, s:s}", "address", addr,
				"user", user, "lifetime", (json_int_t)lifetime,
				"source", "portal"),
		      &err);
	if (rc) {
		log_warnx("portal: identity-login %s %s: %s", addr, user,
			  err ? err : "?");
		P->n.push_failed++;
	}
	free(err);
	return rc == 0;
}

static void push_logout(struct portal *P, const char *addr, const char *user)
{
	char *err;
	if (call(P, "identity-logout",
		 json_pack("{s:s, s:s, s:s}", "address", addr, "user", user,
			   "source", "portal"),
		 &err) < 0) {
		log_warnx("portal: identity-logout %s %s: %s", addr, user,
			  err ? err : "?");
		P->n.push_failed++;
	}
	free(err);
}

/* The lifetime to push for S now: until it idles out, never past its
 * lifetime; 0 when the lifetime is over. */
static unsigned push_lifetime(const struct portal *P, const struct psess *s,
			      time_t now)
{
	time_t end = s->started + (time_t)P->cfg->lifetime_s;
	if (now >= end)
		return 0;
	time_t left = end - now;
	return (unsigned)(left < (time_t)P->cfg->idle_s ? left
							 : (time_t)P->cfg->idle_s);
}

/* ---- signed-in addresses ------------------------------------------------ */

static struct psess *sess_find(struct portal *P, const char *addr)
{
	struct psess *s;
	LIST_FOREACH(s, &P->sessions, link)
		if (strcmp(s->addr, addr) == 0)
			return s;
	return NULL;
}

static void sess_end(struct portal *P, struct psess *s, const char *why)
{
	log_info("portal: %s at %s signed out (%s)", s->user, s->addr, why);
	push_logout(P, s->addr, s->user);
	LIST_REMOVE(s, link);
	P->nsessions--;
	free(s);
}

/* The counters to sluiced (control: portal-report), for its counters
 * portal_* (docs/counters.md); a failure is logged once until a report
 * goes through again. */
static void push_report(struct portal *P)
{
	const struct pcounters *n = &P->n;
	char *err;
	int rc = call(P, "portal-report",
		      json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				"signed_in", (json_int_t)P->nsessions,
				"signins", (json_int_t)n->signins, "refused",
				(json_int_t)n->refused, "throttled",
				(json_int_t)n->throttled,
				"directory_unavailable",
				(json_int_t)n->unavailable, "push_failed",
				(json_int_t)n->push_failed, "busy",
				(json_int_t)n->busy),
		      &err);
	if (rc && !P->report_failing)
		log_warnx("portal: portal-report: %s (the counters portal_* "
			  "stay as they were)", err ? err : "?");
	P->report_failing = rc != 0;
	free(err);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	push_report(arg);
}

/* Ends sign-ins past their lifetime or idle. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct portal *P = arg;
	time_t now = mono_s();
	struct psess *s, *next;
	for (s = LIST_FIRST(&P->sessions); s; s = next) {
		next = LIST_NEXT(s, link);
		if (now >= s->started + (time_t)P->cfg->lifetime_s) {
			P->n.expired++;
			sess_end(P, s, "lifetime");
		} else if (now - s->seen >= (time_t)P->cfg->idle_s) {
			P->n.idle++;
			sess_end(P, s, "idle");
		}
	}
}

/* The page of S was seen: push the identity again when a quarter of idle
 * has passed since the last push. */
static void sess_seen(struct portal *P, struct psess *s)
{
	time_t now = mono_s();
	s->seen = now;
	unsigned life = push_lifetime(P, s, now);
	if (life && now - s->pushed >= (time_t)P->cfg->idle_s / 4 &&
	    push_login(P, s->addr, s->user, life))
		s->pushed = now;
}

/* ---- pages --------------------------------------------------------------- */

/* S as HTML text (&, <, >, ", ' escaped; control bytes as '?'). */
static void add_html(struct evbuffer *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': evbuffer_add_printf(b, "&amp;"); break;
		case '<': evbuffer_add_printf(b, "&lt;"); break;
		case '>': evbuffer_add_printf(b, "&gt;"); break;
		case '"': evbuffer_add_printf(b, "&quot;"); break;
		case '\'': evbuffer_add_printf(b, "&#39;"); break;
		default:
			evbuffer_add(b, (unsigned char)*s < 0x20 ? "?" : s, 1);
		}
	}
}

#define PAGE_HEADERS                                                          \
	"Cache-Control: no-store\r\n"                                         \
	"X-Frame-Options: DENY\r\n"                                           \
	"Referrer-Policy: same-origin\r\n"                                    \
	"Content-Security-Policy: default-src 'none'; style-src "             \
	"'unsafe-inline'; form-action 'self'; frame-ancestors 'none'\r\n"

static void page_start(struct http_reply *rp, int status, const char *title,
		       unsigned refresh_s)
{
	rp->status = status;
	rp->ctype = "text/html; charset=utf-8";
	rp->headers = PAGE_HEADERS;
	evbuffer_add_printf(rp->body,
			    "<!DOCTYPE html>\n<html lang=\"en\"><head>"
			    "<meta charset=\"utf-8\">"
			    "<meta name=\"viewport\" content=\"width=device-"
			    "width\">");
	if (refresh_s)
		evbuffer_add_printf(rp->body,
				    "<meta http-equiv=\"refresh\" "
				    "content=\"%u\">", refresh_s);
	evbuffer_add_printf(rp->body,
			    "<title>%s</title><style>body{font-family:sans-"
			    "serif;max-width:28em;margin:3em auto;padding:0 "
			    "1em}input{display:block;width:100%%;margin:.3em 0 "
			    "1em;padding:.4em}.msg{padding:.6em;background:"
			    "#fdd;border:1px solid #c66}.ok{padding:.6em;"
			    "background:#dfd;border:1px solid #6a6}</style>"
			    "</head><body><h1>%s</h1>\n", title, title);
}

static void page_signin(struct portal *P, struct http_reply *rp, int status,
			const char *msg)
{
	page_start(rp, status, "Sign in", 0);
	if (msg) {
		evbuffer_add_printf(rp->body, "<p class=\"msg\" id=\"msg\">");
		add_html(rp->body, msg);
		evbuffer_add_printf(rp->body, "</p>\n");
	}
	evbuffer_add_printf(
	    rp->body,
	    "<p>Sign in with your directory account to use the network.</p>"
	    "<form method=\"post\" action=\"/login\">"
	    "<label>User<input id=\"user\" name=\"user\" autocomplete="
	    "\"username\" maxlength=\"%d\" required></label>"
	    "<label>Password<input id=\"password\" name=\"password\" type="
	    "\"password\" autocomplete=\"current-password\" maxlength=\"%d\" "
	    "required></label><button id=\"signin\" type=\"submit\">Sign in"
	    "</button></form></body></html>\n",
	    PORTAL_USER_MAX - 1, PORTAL_PASSWORD_MAX);
}

static void page_status(struct portal *P, struct http_reply *rp,
			const struct psess *s)
{
	unsigned refresh = P->cfg->idle_s / 3 > 10 ? P->cfg->idle_s / 3 : 10;
	time_t left = s->started + (time_t)P->cfg->lifetime_s - mono_s();
	page_start(rp, 200, "Signed in", refresh);
	evbuffer_add_printf(rp->body, "<p class=\"ok\" id=\"state\">Signed in "
				      "as <b id=\"who\">");
	add_html(rp->body, s->user);
	evbuffer_add_printf(rp->body, "</b> at %s.</p>", s->addr);
	evbuffer_add_printf(
	    rp->body,
	    "<p>Keep this page open: the sign-in ends %u minute(s) after it "
	    "is closed, and in any case in %lld minute(s).</p>"
	    "<form method=\"post\" action=\"/logout\"><button id=\"signout\" "
	    "type=\"submit\">Sign out</button></form></body></html>\n",
	    (P->cfg->idle_s + 59) / 60, (long long)(left > 0 ? (left + 59) / 60 : 0));
}

/* A 302 to URL (at most a base_url and a path); its header lines live in
 * P until the next answer. */
static void redirect(struct portal *P, struct http_reply *rp, const char *url)
{
	snprintf(P->hdr, sizeof(P->hdr), "Location: %s\r\nCache-Control: "
		 "no-store\r\n", url);
	rp->status = 302;
	rp->ctype = "text/html; charset=utf-8";
	rp->headers = P->hdr;
	evbuffer_add_printf(rp->body, "<!DOCTYPE html>\n<html><head><title>"
			    "Sign in</title></head><body><a href=\"%s\">Sign "
			    "in to use the network</a></body></html>\n", url);
}

/* ---- the HTTPS page ------------------------------------------------------ */

/* The client's address (an IPv4-mapped IPv6 address as IPv4) into OUT;
 * false when there is none. */
static bool peer_text(const struct sockaddr *sa, char *out, size_t len)
{
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET,
				 &((const struct sockaddr_in *)sa)->sin_addr,
				 out, (socklen_t)len);
	if (sa->sa_family != AF_INET6)
		return false;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a))
		return inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)len);
	return inet_ntop(AF_INET6, a, out, (socklen_t)len);
}

/* One sign-in being checked by the directory, on a thread of its own
 * (the loop never waits on the directory). */
struct pjob {
	LIST_ENTRY(pjob) link;
	struct portal *P;
	struct http_later *later; /* the request's answer, to come */
	struct event *done;	  /* made active by the thread when it ends */
	pthread_t thread;
	char addr[INET6_ADDRSTRLEN], user[PORTAL_USER_MAX];
	char key[PORTAL_USER_MAX]; /* USER's canonical form: what is searched */
	struct guard_keys keys; /* for the throttle */
	char name[PORTAL_USER_MAX], why[256];
	char pw[PORTAL_PASSWORD_MAX + 1];
	size_t pwlen;
	enum pauth_result r;
};

static void *job_run(void *arg)
{
	struct pjob *j = arg;
	j->r = pauth_check(&j->P->p->directory, j->P->bind_password, j->key,
			   j->pw, j->pwlen, j->name, sizeof(j->name), j->why,
			   sizeof(j->why));
	explicit_bzero(j->pw, sizeof(j->pw));
	event_active(j->done, EV_READ, 0);
	return NULL;
}

/* The directory's answer R for USER at ADDR (NAME: the directory's name
 * for the user) into RP: a sign-in, or a page saying why not. */
static void login_result(struct portal *P, const struct pjob *j,
			 struct http_reply *rp)
{
	if (j->r == PAUTH_REFUSED) {
		P->n.refused++;
		guard_refused(P->guard, &j->keys, mono_s());
		log_info("portal: sign-in of %s at %s refused: %s", j->user,
			 j->addr, j->why);
		page_signin(P, rp, 403, "Sign-in refused: wrong user name "
					"or password.");
		return;
	}
	if (j->r != PAUTH_OK) {
		bool down = j->r == PAUTH_UNAVAILABLE;
		if (down)
			P->n.unavailable++;
		else
			P->n.errors++;
		log_warnx("portal: sign-in of %s at %s failed: %s "
			  "(directory unavailable: %llu, errors: %llu)", j->user,
			  j->addr, j->why, P->n.unavailable, P->n.errors);
		page_signin(P, rp, 503, down ? "The directory does not answer "
					       "just now; please try again in "
					       "a minute."
					     : "Signing in does not work just "
					       "now; please tell the help "
					       "desk.");
		return;
	}
	struct psess *s = sess_find(P, j->addr);
	if (!s && P->nsessions >= PORTAL_MAX_SESSIONS) {
		P->n.busy++;
		page_signin(P, rp, 503, "Too many people are signed in.");
		return;
	}
	time_t now = mono_s();
	struct psess fresh = {.started = now, .seen = now, .pushed = now};
	if (!push_login(P, j->addr, j->name, push_lifetime(P, &fresh, now))) {
		page_signin(P, rp, 503, "The firewall did not take the "
					"sign-in; please try again.");
		return;
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		LIST_INSERT_HEAD(&P->sessions, s, link);
		P->nsessions++;
	}
	snprintf(s->addr, sizeof(s->addr), "%s", j->addr);
	snprintf(s->user, sizeof(s->user), "%s", j->name);
	s->started = s->seen = s->pushed = now;
	P->n.signins++;
	guard_signed_in(P->guard, &j->keys, now);
	log_info("portal: %s signed in at %s", j->name, j->addr);
	redirect(P, rp, "/");
}

/* Waits for J's thread, frees J; answers its request with RP (NULL: no
 * answer). */
static void job_free(struct pjob *j, const struct http_reply *rp)
{
	pthread_join(j->thread, NULL);
	LIST_REMOVE(j, link);
	j->P->njobs--;
	http_answer_later(j->later, rp);
	event_free(j->done);
	explicit_bzero(j, sizeof(*j));
	free(j);
}

static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
	struct pjob *j = arg;
	struct http_reply rp = {200, "text/html; charset=utf-8", NULL,
				evbuffer_new(), NULL};
	pthread_join(j->thread, NULL); /* it has ended: its last act woke us */
	login_result(j->P, j, &rp);
	LIST_REMOVE(j, link);
	j->P->njobs--;
	http_answer_later(j->later, &rp);
	evbuffer_free(rp.body);
	event_free(j->done);
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* The name the directory is asked about for USER, typed at the sign-in
 * form, into KEY (SIZE bytes): its canonical form under the policy's own
 * realms (common/username.h), as sluiced keys its own lookups, so that
 * `CORP\carol` signs in as carol and `carol@guest.example` only as that
 * entry. False when USER is no name. */
static bool user_key(const struct portal *P, const char *user, char *key,
		     size_t size)
{
	char *k = user_name_canon(&P->p->identity.realms, user);
	bool ok = k && strlen(k) < size;
	if (ok)
		memcpy(key, k, strlen(k) + 1);
	free(k);
	return ok;
}

/* Whether the throttle holds back the sign-in of J (its keys made from
 * RQ's peer): answers RP with a 429 and counts it when it does. */
static bool throttled(struct portal *P, struct pjob *j,
		      const struct http_request *rq, const char *addr,
		      struct http_reply *rp)
{
	static const char *const why[] = {
	    [GUARD_ADDR] = "this address",
	    [GUARD_PREFIX] = "this address's network",
	    [GUARD_USER] = "this user name, here and elsewhere"};
	/* the user's key is the folded form: every spelling the directory
	 * takes for one account (`ａlice`, `alice` and a no-break space)
	 * shares its budget; a name that folds to none keeps its own */
	char *fold = user_name_fold(&P->p->identity.realms, j->key);
	int k = guard_keys(&j->keys, rq->peer,
			   P->p->decisions.per_source_prefix_v4,
			   P->p->decisions.per_source_prefix_v6,
			   fold ? fold : j->key);
	free(fold);
	if (k < 0)
		return false;
	enum guard_verdict v = guard_check(P->guard, &j->keys, mono_s());
	if (v == GUARD_OK)
		return false;
	P->n.throttled++;
	log_info("portal: sign-in of %s at %s not tried: too many refused "
		 "lately for %s (throttled: %llu)", j->user, addr, why[v],
		 P->n.throttled);
	page_signin(P, rp, 429, v == GUARD_USER
				    ? "Too many refused sign-ins for this user "
				      "name; please wait a few seconds."
				    : "Too many refused sign-ins from this "
				      "address; please wait a minute.");
	return true;
}

/* POST /login: the form's user and password, checked by the directory on
 * a thread; the answer comes when it has answered (on_job_done). */
static void do_login(struct portal *P, const char *addr,
		     const struct http_request *rq, struct http_reply *rp)
{
	struct pjob *j = xcalloc(1, sizeof(*j));
	size_t ulen;
	const char *problem = NULL;
	if (form_value(rq->body, rq->body_len, "user", j->user,
		       sizeof(j->user), &ulen) < 0 ||
	    form_value(rq->body, rq->body_len, "password", j->pw,
		       sizeof(j->pw), &j->pwlen) < 0)
		problem = "Send a user name and a password.";
	else if (strlen(j->user) != ulen || text_name_problem(j->user) ||
		 !user_key(P, j->user, j->key, sizeof(j->key)))
		problem = "That is not a user name.";
	if (!problem && throttled(P, j, rq, addr, rp)) {
		/* answered */
	} else if (problem) {
		P->n.refused++;
		page_signin(P, rp, 400, problem);
	} else if (P->njobs >= PORTAL_MAX_JOBS) {
		P->n.busy++;
		page_signin(P, rp, 503, "Too many sign-ins at once; please "
					"try again.");
	} else {
		j->P = P;
		snprintf(j->addr, sizeof(j->addr), "%s", addr);
		j->done = event_new(P->base, -1, 0,
				    on_job_done, j);
		if (pthread_create(&j->thread, NULL, job_run, j) == 0) {
			j->later = http_defer(rq);
			LIST_INSERT_HEAD(&P->jobs, j, link);
			P->njobs++;
			return;
		}
		event_free(j->done);
		P->n.errors++;
		page_signin(P, rp, 503, "Signing in does not work just now; "
					"please try again.");
	}
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* A POST must come from the portal's own page: an Origin, when sent, is
 * the portal's (a form elsewhere cannot sign a visitor in or out). */
static bool same_origin(const struct portal *P, const struct http_request *rq)
{
	char origin[sizeof(P->base_url) + 8];
	return !http_header(rq, "Origin", origin, sizeof(origin)) ||
	       strcmp(origin, P->base_url) == 0;
}

static void serve_https(void *arg, const struct http_request *rq,
			struct http_reply *rp)
{
	struct portal *P = arg;
	char addr[INET6_ADDRSTRLEN];
	size_t plen = strcspn(rq->target, "?#");
	bool get = strcmp(rq->method, "GET") == 0 ||
		   strcmp(rq->method, "HEAD") == 0;
	bool post = strcmp(rq->method, "POST") == 0;
	if (!peer_text(rq->peer, addr, sizeof(addr))) {
		page_signin(P, rp, 400, "No client address.");
		return;
	}
	struct psess *s = sess_find(P, addr);
	if (plen == 1 && rq->target[0] == '/' && get) {
		if (s) {
			sess_seen(P, s);
			page_status(P, rp, s);
		} else {
			page_signin(P, rp, 200, NULL);
		}
	} else if (plen == 6 && !strncmp(rq->target, "/login", 6) && post) {
		if (!same_origin(P, rq))
			page_signin(P, rp, 403, "Sign in from this page.");
		else
			do_login(P, addr, rq, rp);
	} else if (plen == 7 && !strncmp(rq->target, "/logout", 7) && post) {
		if (!same_origin(P, rq)) {
			page_signin(P, rp, 403, "Sign out from this page.");
			return;
		}
		if (s) {
			P->n.signouts++;
			sess_end(P, s, "sign-out");
		}
		redirect(P, rp, "/");
	} else if (get || post) {
		redirect(P, rp, "/");
	} else {
		rp->status = 405;
		rp->allow = "GET, HEAD, POST";
		evbuffer_add_printf(rp->body, "GET or POST\n");
	}
}

/* ---- the HTTP responder: every request goes to the HTTPS page ------------ */

/* Every path, the operating systems' captive-portal probes among them
 * (/generate_204, /hotspot-detect.html, /connecttest.txt, /ncsi.txt), is
 * answered with a redirect to the page: a probe that gets anything but
 * its expected answer makes the system open the page. */
static void serve_http(void *arg, const struct http_request *rq,
		       struct http_reply *rp)
{
	struct portal *P = arg;
	P->n.redirects++;
	char url[sizeof(P->base_url) + 2];
	snprintf(url, sizeof(url), "%s/", P->base_url);
	redirect(P, rp, url);
}

/* ---- set-up -------------------------------------------------------------- */

static struct bufferevent *tls_wrap(void *arg, struct event_base *base, int fd)
{
	struct portal *P = arg;
	SSL *ssl = SSL_new(P->tls);
	struct bufferevent *b =
	    ssl ? bufferevent_openssl_socket_new(base, fd, ssl,
						 BUFFEREVENT_SSL_ACCEPTING,
						 BEV_OPT_CLOSE_ON_FREE)
		: NULL;
	if (!b) {
		if (ssl)
			SSL_free(ssl);
		close(fd);
	}
	return b;
}

static SSL_CTX *tls_open(const struct portal_cfg *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, c->certificate) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		unsigned long e = ERR_get_error();
		log_warnx("portal: certificate %s / key %s: %s", c->certificate,
			  c->key, e ? ERR_error_string(e, NULL) : "?");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Becomes USER (its groups, which let it reach the control socket),
 * without any capability and unable to gain one. */
static int drop_to(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw || pw->pw_uid == 0) {
		log_warnx("portal: user %s: %s", user,
			  pw ? "is root" : "no such user");
		return -1;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
			    CAPNG_INIT_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || geteuid() == 0 ||
	    setuid(0) == 0 || capng_have_capabilities(CAPNG_SELECT_CAPS) !=
				  CAPNG_NONE) {
		log_warnx("portal: cannot become %s without privileges", user);
		return -1;
	}
	return 0;
}

/* The portal's address (from listen "A:P" or "[A]:P") into P->base_url. */
static int portal_urls(struct portal *P, char *http_addr, size_t len)
{
	char host[INET6_ADDRSTRLEN + 2];
	unsigned port;
	unsigned char bin[16], zero[16] = {0};
	if (addrport_split(P->cfg->listen, host, sizeof(host), &port))
		return -1;
	bool v6 = inet_pton(AF_INET6, host, bin) == 1;
	if (!v6 && inet_pton(AF_INET, host, bin) != 1)
		return -1;
	if (!memcmp(bin, zero, v6 ? 16 : 4)) {
		log_warnx("portal: listen %s: the redirect needs the gateway's "
			  "own address, not a wildcard", P->cfg->listen);
		return -1;
	}
	snprintf(P->base_url, sizeof(P->base_url), v6 ? "https://[%s]:%u"
						      : "https://%s:%u",
		 host, port);
	snprintf(http_addr, len, v6 ? "[%s]:%u" : "%s:%u", host,
		 PORTAL_HTTP_PORT);
	return 0;
}

static void log_counters(const struct portal *P)
{
	const struct pcounters *n = &P->n;
	log_info("portal: signed in %zu; sign-ins %llu, refused %llu, "
		 "directory unavailable %llu, errors %llu, sign-outs %llu, "
		 "idle %llu, expired %llu, redirects %llu, push failed %llu, "
		 "busy %llu, throttled %llu; connections refused %llu (%llu "
		 "by the per-source limits)",
		 P->nsessions, n->signins, n->refused, n->unavailable,
		 n->errors, n->signouts, n->idle, n->expired, n->redirects,
		 n->push_failed, n->busy, n->throttled,
		 (unsigned long long)(http_refused(P->https) +
				      http_refused(P->http)),
		 (unsigned long long)(http_refused_source(P->https) +
				      http_refused_source(P->http)));
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct portal *P = arg;
	if (sig == SIGUSR1) {
		log_counters(P);
		return;
	}
	event_base_loopbreak(event_get_base(P->sweep));
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sluice-portal -c FILE [-s SOCKET] [-u USER] [-f] [-v]\n"
		"  -c FILE    policy (sluice.conf(5)): portal { } and directory "
		"ldap { }\n"
		"  -s SOCKET  sluiced's control socket (default %s)\n"
		"  -u USER    after opening the listeners run as USER "
		"(needed when started as root)\n"
		"  -f         log to stderr\n"
		"  -v         more logging\n",
		SLUICE_SOCKET);
	exit(2);
}

/* Opens what needs privileges, drops them, serves until SIGTERM/SIGINT. */
static int run(struct portal *P, struct event_base *base, const char *user)
{
	char http_addr[INET6_ADDRSTRLEN + 16];
	if (portal_urls(P, http_addr, sizeof(http_addr)) < 0) {
		log_warnx("portal: bad listen '%s'", P->cfg->listen);
		return 1;
	}
	if (!(P->tls = tls_open(P->cfg)))
		return 1;
	if (P->p->directory.bind_dn && P->p->directory.password_file &&
	    !(P->bind_password = secret_read_line(P->p->directory.password_file, 1023))) {
		log_warn("portal: directory password-file %s",
			 P->p->directory.password_file);
		return 1;
	}
	P->https = http_listen(base, P->cfg->listen, "portal", PORTAL_MAX_BODY,
			       serve_https, P);
	P->http = http_listen(base, http_addr, "portal redirect", 0,
			      serve_http, P);
	if (!P->https || !P->http) {
		log_warn("portal: cannot listen on %s and %s", P->cfg->listen,
			 http_addr);
		return 1;
	}
	http_set_wrap(P->https, tls_wrap, P);
	/* a request (and the TLS handshake before it) within
	 * PORTAL_REQUEST_MS; a sign-in's answer waits longer, for the
	 * directory: connect, StartTLS, service bind, search and user bind,
	 * each within its timeout */
	uint64_t wait_ms = 5000 + 5 * (uint64_t)P->p->directory.timeout_ms;
	http_limits(P->https, PORTAL_MAX_CONNS, PORTAL_REQUEST_MS);
	http_answer_wait(P->https,
			 wait_ms < 600000 ? (unsigned)wait_ms : 600000);
	http_limits(P->http, PORTAL_MAX_CONNS, PORTAL_REQUEST_MS);
	/* no host, nor one IPv6 subnet, holds every connection */
	for (int i = 0; i < 2; i++)
		http_source_limits(i ? P->http : P->https,
				   PORTAL_CONNS_PER_ADDR,
				   PORTAL_CONNS_PER_PREFIX,
				   P->p->decisions.per_source_prefix_v4,
				   P->p->decisions.per_source_prefix_v6);
	P->base = base;
	if (geteuid() == 0 && (!user || drop_to(user) < 0)) {
		if (!user)
			log_warnx("portal: started as root: say -u USER");
		return 1;
	}
	P->sweep = event_new(base, -1, EV_PERSIST, on_sweep, P);
	struct timeval tv = {PORTAL_SWEEP_S, 0};
	event_add(P->sweep, &tv);
	push_report(P);
	P->report = event_new(base, -1, EV_PERSIST, on_report, P);
	struct timeval rtv = {PORTAL_REPORT_S, 0};
	event_add(P->report, &rtv);
	P->sigusr1 = evsignal_new(base, SIGUSR1, on_signal, P);
	P->sigterm = evsignal_new(base, SIGTERM, on_signal, P);
	P->sigint = evsignal_new(base, SIGINT, on_signal, P);
	event_add(P->sigusr1, NULL);
	event_add(P->sigterm, NULL);
	event_add(P->sigint, NULL);
	log_info("portal: %s (redirects from %s), signing in against %s as "
		 "uid %u", P->base_url, http_addr, P->p->directory.uri,
		 (unsigned)geteuid());
	event_base_dispatch(base);
	log_counters(P);
	return 0;
}

static void portal_free(struct portal *P)
{
	while (!LIST_EMPTY(&P->jobs)) /* each ends within the directory's timeouts */
		job_free(LIST_FIRST(&P->jobs), NULL);
	struct psess *s;
	while ((s = LIST_FIRST(&P->sessions))) { /* they end by idle */
		LIST_REMOVE(s, link);
		free(s);
	}
	guard_free(P->guard);
	http_close(P->https);
	http_close(P->http);
	if (P->sweep)
		event_free(P->sweep);
	if (P->report)
		event_free(P->report);
	if (P->sigusr1)
		event_free(P->sigusr1);
	if (P->sigterm)
		event_free(P->sigterm);
	if (P->sigint)
		event_free(P->sigint);
	SSL_CTX_free(P->tls);
	if (P->bind_password) {
		explicit_bzero(P->bind_password, strlen(P->bind_password));
		free(P->bind_password);
	}
	policy_free(P->p);
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *user = NULL;
	bool fg = false;
	int verbose = 0, c;
	struct portal P = {.socket = SLUICE_SOCKET};
	while ((c = getopt(argc, argv, "c:s:u:fv")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 's': P.socket = optarg; break;
		case 'u': user = optarg; break;
		case 'f': fg = true; break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	if (!conf || optind != argc)
		usage();
	log_init("sluice-portal", fg, verbose);
	signal(SIGPIPE, SIG_IGN);
	struct diags d = {0};
	P.p = policy_load(conf, &d);
	if (!P.p) {
		diags_print(&d, stderr);
		diags_free(&d);
		return 1;
	}
	diags_free(&d);
	P.cfg = &P.p->portal;
	if (!P.cfg->listen) {
		log_warnx("portal: %s has no portal { listen }", conf);
		policy_free(P.p);
		return 1;
	}
	LIST_INIT(&P.sessions);
	P.guard = guard_new();
	LIST_INIT(&P.jobs);
	if (evthread_use_pthreads() < 0) {
		log_warnx("portal: libevent has no thread support");
		policy_free(P.p);
		return 1;
	}
	struct event_base *base = event_base_new();
	int rc = run(&P, base, user);
	portal_free(&P);
	event_base_free(base);
	return rc;
}
