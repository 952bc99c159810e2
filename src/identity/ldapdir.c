/*
 * ldapdir.c — see ldapdir.h. One connection, a list of lookups (each a small
 * state machine: wait for the connection → user search → group search →
 * done), an LRU cache. Everything runs on the base's thread.
 */
#include "identity/ldapdir.h"
#include "common/flight.h"
#include "common/log.h"
#include "common/username.h"
#include "common/util.h"
#include "identity/gssbind.h"
#include "identity/idcache.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ldap.h>
#include <netinet/in.h>
#include <openldap.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_BURST 256	   /* messages read per readable event */

/* ---- types ---------------------------------------------------------------- */

enum lstate { LK_WAIT_CONN, LK_USER, LK_PRIMARY, LK_GROUPS, LK_DONE };

struct lookup {
	struct flight fl;  /* in l->inflight until done; its waiters */
	struct ldapdir *l;
	char *user;	   /* the canonical key (ldapdir_user_key) */
	enum lstate st;
	int msgid;	   /* search on the wire, -1 none */
	uint64_t sent_ms;  /* when that search was sent */
	char *dn;	   /* the user's DN (step 1) */
	char *name;	   /* the directory's own name for the user (step 1) */
	char *primary;	   /* the primary group's filter term (step 1) */
	char *primary_dn;  /* its DN (ad: step 1b), for groups nesting it */
	unsigned nprimary; /* entries step 1b found */
	unsigned nusers;   /* entries step 1 found */
	bool incomplete;   /* the answer may lack entries (see ldapdir.h) */
	unsigned named_gen; /* l->named_gen its group search asked about */
	struct berval *cookie; /* paged results: where the next page starts */
	char **groups;
	size_t ngroups;
	struct event *timer; /* the deadline */
	LIST_ENTRY(lookup) link; /* l->lookups */
};

enum cstate { C_DOWN, C_CONNECTING, C_TLS, C_BINDING, C_READY };

/*
 * The blocking part of a connection on a thread of its own: a TLS
 * handshake (ldaps://, or StartTLS and the handshake; `tls`), then a SASL
 * GSSAPI bind (`gss`: the KDC and the server are waited for). libldap's
 * calls wait on the socket (at most the network timeout), and the event
 * loop must not. The thread has the LDAP handle to itself until it is
 * done; it then writes a byte to SV[1]. Whoever learns last that the other
 * side is gone frees the handle (an abandoned job) and the job (REFS).
 */
struct tlsjob {
	pthread_mutex_t mu;
	int refs;
	bool done, abandoned, tls, starttls, gss;
	LDAP *ld;
	int rc;
	char *why;	      /* the GSSAPI bind's failure, or NULL */
	char *keytab, *principal, *ccache; /* the job's own copies */
	int sv[2];
};

struct ldapdir {
	struct event_base *base;
	char *uri, *base_dn, *bind_dn, *password_file;
	char *keytab, *principal; /* a SASL GSSAPI bind instead */
	char *ldap_uri;	      /* the URI libldap is told (kerberos-host) */
	char *ccache;	      /* the private credential cache */
	char *user_filter, *group_filter;
	uint32_t timeout_ms, so_mark;
	enum dir_schema schema;
	uint32_t cache_ttl_s;
	bool restricted;     /* only the groups in NAMED are asked about */
	char **named;
	size_t nnamed;
	unsigned named_gen;  /* bumped when RESTRICTED or NAMED change */
	struct own_realms realms; /* user names are keyed under these */

	/* where to connect */
	bool ipc;
	bool tls;	      /* ldaps://: TLS from the first byte */
	bool starttls;	      /* ldap:// then StartTLS */
	bool tls_verify;
	char *tls_ca;
	struct sockaddr_storage sa;
	socklen_t salen;

	/* the connection */
	enum cstate cst;
	int fd;		      /* ours while connecting, libldap's after */
	LDAP *ld;
	struct event *io;     /* EV_WRITE while connecting, EV_READ after */
	struct event *ctimer; /* connect + bind deadline */
	struct tlsjob *tls_job; /* the handshake in progress (C_TLS) */
	struct event *tls_ev;	/* its end, on tls_job->sv[0] */
	int bind_msgid;
	unsigned gen;	      /* bumped at every close */
	uint64_t last_rx_ms;  /* last message read */
	uint64_t retry_at_ms; /* fail fast until then */
	unsigned suspect;     /* silent timeouts in a row */
	uint64_t nconnects;

	LIST_HEAD(, lookup) lookups;
	struct flight_table inflight; /* the lookups not done, by user key */
	struct idcache *cache;

	struct ldapdir_stats st;
	bool closing;
	struct msclock clock;
};

static void conn_close(struct ldapdir *l, bool fail_fast, int status);
static void tls_abandon(struct ldapdir *l);
static void lookup_start(struct lookup *lk);

/* ---- clock ---------------------------------------------------------------- */

static uint64_t now(const struct ldapdir *l)
{
	return msclock_now(&l->clock);
}

void ldapdir_set_clock(struct ldapdir *l, uint64_t (*now_ms)(void *arg),
		       void *arg)
{
	l->clock = (struct msclock){now_ms, now_ms ? arg : NULL};
}

static struct timeval ms_tv(uint32_t ms)
{
	return (struct timeval){.tv_sec = ms / 1000,
				.tv_usec = (ms % 1000) * 1000};
}

/* ---- filters -------------------------------------------------------------- */

/* Appends the RFC 4515 escape of V to the buffer *B (length *N, cap *C). */
static void put_escaped(char **b, size_t *n, size_t *c, const char *v)
{
	for (; v && *v; v++) {
		unsigned char ch = (unsigned char)*v;
		if (*n + 4 >= *c) {
			*c = *c * 2 + 16;
			*b = xrealloc(*b, *c);
		}
		if (ch == '*' || ch == '(' || ch == ')' || ch == '\\')
			*n += (size_t)sprintf(*b + *n, "\\%02x", ch);
		else
			(*b)[(*n)++] = (char)ch;
	}
	(*b)[*n] = '\0';
}

char *ldapdir_escape(const char *value)
{
	size_t n = 0, c = strlen(value) + 1;
	char *b = xmalloc(c);
	b[0] = '\0';
	put_escaped(&b, &n, &c, value);
	return b;
}

char *ldapdir_filter(const char *filter, const char *user, const char *dn)
{
	size_t len = strlen(filter);
	if (len < 2 || filter[0] != '(' || filter[len - 1] != ')') {
		errno = EINVAL;
		return NULL;
	}
	size_t n = 0, c = len + 64;
	char *b = xmalloc(c);
	for (const char *p = filter; *p; p++) {
		const char *sub = NULL;
		if (*p == '%') {
			p++;
			if (*p == 's')
				sub = user ? user : "";
			else if (*p == 'D')
				sub = dn ? dn : "";
			else if (*p != '%') {
				free(b);
				errno = EINVAL;
				return NULL;
			}
		}
		if (sub) {
			put_escaped(&b, &n, &c, sub);
			continue;
		}
		if (n + 2 >= c) {
			c *= 2;
			b = xrealloc(b, c);
		}
		b[n++] = *p;
	}
	b[n] = '\0';
	return b;
}

/* ---- helpers ------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- lookups -------------------------------------------------------------- */

/* Ends LK: caches a real answer, runs every waiter once, frees LK. Waiters
 * are popped one at a time so that a callback may cancel the others. */
static void lookup_finish(struct lookup *lk, int status)
{
	struct ldapdir *l = lk->l;
	if (lk->st == LK_DONE)
		return;
	lk->st = LK_DONE;
	flight_land(&lk->fl);
	evtimer_del(lk->timer);
	l->st.in_flight--;
	bool named = status == 0 || status == EOVERFLOW;
	const char *user = named ? (lk->name ? lk->name : lk->user) : NULL;
	if (named || status == ENOENT)
		idcache_put(l->cache, lk->user, now(l), status, user,
			    lk->groups, status ? 0 : lk->ngroups);
	if (status == EIO)
		l->st.errors++;
	if (status == EOVERFLOW)
		l->st.incomplete++;
	struct flight_waiter *w;
	while ((w = flight_pop(&lk->fl))) {
		groups_cb cb = (groups_cb)w->fn;
		void *arg = w->arg;
		free(w);
		if (status == 0)
			cb(arg, 0, user, (const char *const *)lk->groups,
			   lk->ngroups);
		else
			cb(arg, status, user, NULL, 0);
	}
	LIST_REMOVE(lk, link);
	event_free(lk->timer);
	free(lk->user);
	free(lk->dn);
	free(lk->name);
	free(lk->primary);
	free(lk->primary_dn);
	ber_bvfree(lk->cookie);
	free_strv(lk->groups, lk->ngroups);
	free(lk);
}

/* Sends one search (FILTER, ready) for LK, a page of results when PAGED
 * (from lk->cookie); on a local failure ends LK with EIO. */
static void lookup_search(struct lookup *lk, const char *filter,
			  char **attrs, int sizelimit, bool paged)
{
	struct ldapdir *l = lk->l;
	LDAPControl *page = NULL;
	int rc = LDAP_SUCCESS;
	if (paged)
		rc = ldap_create_page_control(l->ld, LDAPDIR_PAGE_SIZE,
					      lk->cookie, 0, &page);
	LDAPControl *ctrls[] = {page, NULL};
	if (rc == LDAP_SUCCESS)
		rc = filter ? ldap_search_ext(l->ld, l->base_dn,
					      LDAP_SCOPE_SUBTREE, filter, attrs,
					      0, page ? ctrls : NULL, NULL,
					      NULL, sizelimit, &lk->msgid)
			    : LDAP_FILTER_ERROR;
	if (page)
		ldap_control_free(page);
	if (rc != LDAP_SUCCESS) {
		log_warnx("ldap: search for %s: %s", lk->user,
			  ldap_err2string(rc));
		lk->msgid = -1;
		lookup_finish(lk, EIO);
		return;
	}
	lk->sent_ms = now(l);
}

/* The attribute naming a user in L's schema. */
static const char *name_attr(const struct ldapdir *l)
{
	return l->schema == SCHEMA_AD ? "sAMAccountName" : "uid";
}

/* Step 1 on a ready connection: find the user's entry. */
static void lookup_start(struct lookup *lk)
{
	static char *rfc2307_attrs[] = {"uid", "gidNumber", NULL};
	static char *ad_attrs[] = {"sAMAccountName", "objectSid",
				   "primaryGroupID", NULL};
	lk->st = LK_USER;
	char *filter = ldapdir_filter(lk->l->user_filter, lk->user, NULL);
	lookup_search(lk, filter,
		      lk->l->schema == SCHEMA_AD ? ad_attrs : rfc2307_attrs, 2,
		      false);
	free(filter);
}

/* "(|(cn=A)(cn=B)...)" for the policy's groups, values escaped. */
static char *named_filter(const struct ldapdir *l)
{
	char *any = xstrdup("(|");
	for (size_t i = 0; i < l->nnamed; i++) {
		char *v = ldapdir_escape(l->named[i]);
		char *t = xasprintf("%s(cn=%s)", any, v);
		free(v);
		free(any);
		any = t;
	}
	char *r = xasprintf("%s)", any);
	free(any);
	return r;
}

/*
 * Step 2's filter: the group filter (the user's own name for %s, the DN
 * for %D), OR the primary group when known, AND the policy's groups when
 * restricted. NULL when the template is bad.
 */
static char *group_search_filter(const struct lookup *lk)
{
	const struct ldapdir *l = lk->l;
	const char *name = lk->name ? lk->name : lk->user;
	char *base = ldapdir_filter(l->group_filter, name, lk->dn);
	if (!base)
		return NULL;
	if (lk->primary_dn) { /* and the groups that hold the primary one */
		char *p = ldapdir_filter(l->group_filter, name, lk->primary_dn);
		char *both = p ? xasprintf("(|%s%s)", base, p) : NULL;
		free(p);
		free(base);
		if (!both)
			return NULL;
		base = both;
	}
	char *f = lk->primary ? xasprintf("(|%s%s)", base, lk->primary)
			      : xstrdup(base);
	free(base);
	if (!l->restricted)
		return f;
	char *any = named_filter(l);
	char *r = xasprintf("(&%s%s)", f, any);
	free(any);
	free(f);
	return r;
}

/* Step 1b (ad): the primary group's DN, so that the groups nesting it
 * count too (AD never lists a primary group in `member`). */
static void lookup_primary(struct lookup *lk)
{
	static char *no_attrs[] = {LDAP_NO_ATTRS, NULL};
	lk->st = LK_PRIMARY;
	lookup_search(lk, lk->primary, no_attrs, 2, false);
}

/* Step 2: the user's groups, a page at a time. */
static void lookup_groups(struct lookup *lk)
{
	static char *cn_attr[] = {"cn", NULL};
	lk->st = LK_GROUPS;
	if (!lk->cookie) /* the first page: the groups asked about now */
		lk->named_gen = lk->l->named_gen;
	char *filter = group_search_filter(lk);
	lookup_search(lk, filter, cn_attr, 0, true);
	free(filter);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct lookup *lk = arg;
	struct ldapdir *l = lk->l;
	l->st.timeouts++;
	bool on_wire = lk->msgid >= 0 && l->ld && l->cst == C_READY;
	bool silent = on_wire && l->last_rx_ms <= lk->sent_ms;
	if (on_wire) {
		ldap_abandon_ext(l->ld, lk->msgid, NULL, NULL);
		lk->msgid = -1;
	}
	lookup_finish(lk, ETIMEDOUT);
	if (silent && ++l->suspect >= LDAPDIR_SUSPECT_TIMEOUTS) {
		log_warnx("ldap: %s silent for %u lookups, reconnecting",
			  l->uri, l->suspect);
		conn_close(l, false, EIO);
	}
}

/* ---- the connection ------------------------------------------------------- */

/*
 * Closes the connection (if any). Lookups waiting for it or running on it
 * end with STATUS. FAIL_FAST: refuse new requests for LDAPDIR_RETRY_MS.
 */
static void conn_close(struct ldapdir *l, bool fail_fast, int status)
{
	if (l->io) {
		event_free(l->io);
		l->io = NULL;
	}
	if (l->tls_job) {
		tls_abandon(l);
		l->ld = NULL; /* the job's now */
		l->fd = -1;
	}
	evtimer_del(l->ctimer);
	if (l->ld)
		ldap_unbind_ext(l->ld, NULL, NULL); /* closes the fd */
	else if (l->fd >= 0)
		close(l->fd);
	l->ld = NULL;
	l->fd = -1;
	l->cst = C_DOWN;
	l->gen++;
	l->suspect = 0;
	if (fail_fast)
		l->retry_at_ms = now(l) + LDAPDIR_RETRY_MS;
	/* restart the scan after each finish: callbacks may edit the list */
	for (;;) {
		struct lookup *lk = LIST_FIRST(&l->lookups);
		while (lk && lk->st == LK_DONE)
			lk = LIST_NEXT(lk, link);
		if (!lk)
			break;
		lk->msgid = -1;
		lookup_finish(lk, status);
	}
}

static void conn_ready(struct ldapdir *l)
{
	l->cst = C_READY;
	evtimer_del(l->ctimer);
	if (l->nconnects++ > 0)
		l->st.reconnects++;
	unsigned gen = l->gen;
	for (struct lookup *lk = LIST_FIRST(&l->lookups), *nx; lk; lk = nx) {
		nx = LIST_NEXT(lk, link);
		if (lk->st != LK_WAIT_CONN)
			continue;
		lookup_start(lk); /* may finish LK (EIO), never others */
		if (l->gen != gen)
			return;
	}
}

static struct lookup *lookup_by_msgid(struct ldapdir *l, int msgid)
{
	struct lookup *lk;
	LIST_FOREACH(lk, &l->lookups, link)
		if (lk->msgid == msgid && lk->st != LK_DONE)
			return lk;
	return NULL;
}

/* Adds group NAME (LEN bytes, not terminated) to LK, spelled as the
 * policy spells it when restricted; beyond LDAPDIR_MAX_GROUPS the answer
 * is incomplete. */
static void push_group(struct lookup *lk, const char *name, size_t len)
{
	const struct ldapdir *l = lk->l;
	if (memchr(name, '\0', len))
		return; /* not a name a rule can hold */
	if (l->restricted) {
		size_t i;
		for (i = 0; i < l->nnamed; i++)
			if (strlen(l->named[i]) == len &&
			    strncasecmp(l->named[i], name, len) == 0)
				break;
		if (i == l->nnamed)
			return; /* not asked about */
		name = l->named[i];
	}
	for (size_t i = 0; i < lk->ngroups; i++)
		if (strlen(lk->groups[i]) == len &&
		    memcmp(lk->groups[i], name, len) == 0)
			return;
	if (lk->ngroups >= LDAPDIR_MAX_GROUPS) {
		lk->incomplete = true;
		return;
	}
	VEC_PUSH(lk->groups, lk->ngroups, xstrndup(name, len));
}

/* The next page's cookie from a search result's controls (RFC 2696):
 * kept in lk->cookie, NULL when the search is complete. */
static void take_cookie(struct lookup *lk, LDAPControl **sctrls)
{
	ber_bvfree(lk->cookie);
	lk->cookie = NULL;
	LDAPControl *c = sctrls ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS,
						    sctrls, NULL)
				: NULL;
	struct berval cookie = {0, NULL};
	ber_int_t count = 0;
	if (!c || ldap_parse_pageresponse_control(lk->l->ld, c, &count,
						  &cookie) != LDAP_SUCCESS)
		return;
	if (cookie.bv_len)
		lk->cookie = ber_bvdup(&cookie);
	ber_memfree(cookie.bv_val);
}

/* Result codes that say the answer is cut short, not wrong. */
static bool err_truncates(int err)
{
	return err == LDAP_SIZELIMIT_EXCEEDED ||
	       err == LDAP_ADMINLIMIT_EXCEEDED || err == LDAP_REFERRAL ||
	       err == LDAP_TIMELIMIT_EXCEEDED;
}

/* Step 1's result: the user is one entry, or none, or it is unknown. */
static void user_result(struct lookup *lk, int err)
{
	struct ldapdir *l = lk->l;
	if (lk->nusers > 1 || (err != LDAP_SUCCESS && lk->dn)) {
		log_warnx("ldap: %s: more than one entry matches the user "
			  "filter; not using any", lk->user);
		lookup_finish(lk, EIO);
		return;
	}
	if (err != LDAP_SUCCESS || (!lk->dn && lk->incomplete)) {
		/* cut short, or a referral not followed: "no such user"
		 * cannot be told */
		log_warnx("ldap: lookup of %s: %s", lk->user,
			  err != LDAP_SUCCESS ? ldap_err2string(err)
					      : "referral not followed");
		lookup_finish(lk, EIO);
		return;
	}
	if (!lk->dn) {
		lookup_finish(lk, ENOENT);
		return;
	}
	lk->incomplete = false;
	if (l->restricted && l->nnamed == 0) {
		lookup_finish(lk, 0); /* the policy names no group */
		return;
	}
	if (l->schema == SCHEMA_AD && lk->primary)
		lookup_primary(lk);
	else
		lookup_groups(lk);
}

/* Step 1b's result: one primary group (its DN kept), none (the primary
 * group's id names no group: nothing nests it), or unknown. */
static void primary_result(struct lookup *lk, int err)
{
	if (err != LDAP_SUCCESS || lk->incomplete || lk->nprimary > 1) {
		log_warnx("ldap: primary group of %s: %s; the groups are "
			  "unknown", lk->user,
			  err != LDAP_SUCCESS ? ldap_err2string(err)
			  : lk->incomplete    ? "referral not followed"
					      : "more than one group");
		lookup_finish(lk, EOVERFLOW);
		return;
	}
	lookup_groups(lk);
}

/*
 * The policy's groups changed (ldapdir_set_groups) while LK's group search
 * was on the wire: that search asked about other groups, so its answer,
 * complete or not, is no answer for these. Starts step 2 over.
 */
static void groups_again(struct lookup *lk)
{
	struct ldapdir *l = lk->l;
	free_strv(lk->groups, lk->ngroups);
	lk->groups = NULL;
	lk->ngroups = 0;
	lk->incomplete = false;
	ber_bvfree(lk->cookie);
	lk->cookie = NULL;
	if (l->restricted && l->nnamed == 0)
		lookup_finish(lk, 0); /* the policy names no group */
	else
		lookup_groups(lk);
}

/* A search's final result: next step, next page, or the end of LK. */
static void lookup_result(struct lookup *lk, LDAPMessage *msg)
{
	struct ldapdir *l = lk->l;
	int err = LDAP_OTHER;
	LDAPControl **sctrls = NULL;
	lk->msgid = -1;
	if (ldap_parse_result(l->ld, msg, &err, NULL, NULL, NULL, &sctrls,
			      0) != LDAP_SUCCESS)
		err = LDAP_OTHER;
	if (err != LDAP_SUCCESS && !err_truncates(err)) {
		ldap_controls_free(sctrls);
		log_warnx("ldap: lookup of %s: %s", lk->user,
			  ldap_err2string(err));
		lookup_finish(lk, EIO);
		return;
	}
	if (lk->st == LK_USER || lk->st == LK_PRIMARY) {
		ldap_controls_free(sctrls);
		if (lk->st == LK_USER)
			user_result(lk, err);
		else
			primary_result(lk, err);
		return;
	}
	if (lk->named_gen != l->named_gen) {
		ldap_controls_free(sctrls);
		groups_again(lk);
		return;
	}
	take_cookie(lk, sctrls);
	ldap_controls_free(sctrls);
	if (err != LDAP_SUCCESS)
		lk->incomplete = true;
	if (lk->incomplete) {
		log_warnx("ldap: groups of %s: the answer is incomplete (%s, "
			  "%zu groups so far); the groups are unknown",
			  lk->user,
			  err != LDAP_SUCCESS ? ldap_err2string(err)
			  : lk->ngroups >= LDAPDIR_MAX_GROUPS
			      ? "more groups than kept"
			      : "referral not followed",
			  lk->ngroups);
		lookup_finish(lk, EOVERFLOW);
		return;
	}
	if (lk->cookie) {
		lookup_groups(lk); /* the next page */
		return;
	}
	lookup_finish(lk, 0);
}

/* The directory's own name for the user from entry MSG: the value of the
 * name attribute equal to the key (any case), else the first. */
static void take_name(struct lookup *lk, LDAPMessage *msg)
{
	struct ldapdir *l = lk->l;
	struct berval **v = ldap_get_values_len(l->ld, msg, name_attr(l));
	size_t pick = 0;
	for (size_t i = 0; v && v[i]; i++)
		if (v[i]->bv_len == strlen(lk->user) &&
		    strncasecmp(v[i]->bv_val, lk->user, v[i]->bv_len) == 0) {
			pick = i;
			break;
		}
	if (v && v[0] && v[pick]->bv_len &&
	    !memchr(v[pick]->bv_val, '\0', v[pick]->bv_len))
		lk->name = xstrndup(v[pick]->bv_val, v[pick]->bv_len);
	ldap_value_free_len(v);
}

/* Reads one single-valued attribute ATTR of MSG as a string (NULL when
 * absent or not text). */
static char *attr_text(struct ldapdir *l, LDAPMessage *msg, const char *attr)
{
	struct berval **v = ldap_get_values_len(l->ld, msg, attr);
	char *r = NULL;
	if (v && v[0] && v[0]->bv_len && v[0]->bv_len < 32 &&
	    !memchr(v[0]->bv_val, '\0', v[0]->bv_len))
		r = xstrndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	return r;
}

/* A decimal number of at most 10 digits fitting in 32 bits, or -1. */
static int64_t parse_u32(const char *s)
{
	if (!s || !*s || strlen(s) > 10 || strspn(s, "0123456789") != strlen(s))
		return -1;
	int64_t v = strtoll(s, NULL, 10);
	return v <= UINT32_MAX ? v : -1;
}

/* The primary group's filter term from the user's entry MSG. */
static void take_primary(struct lookup *lk, LDAPMessage *msg)
{
	struct ldapdir *l = lk->l;
	if (l->schema == SCHEMA_RFC2307) {
		char *gid = attr_text(l, msg, "gidNumber");
		int64_t g = parse_u32(gid);
		if (g >= 0)
			lk->primary = xasprintf("(&(objectClass=posixGroup)"
						"(gidNumber=%lld))",
						(long long)g);
		free(gid);
		return;
	}
	char *rid = attr_text(l, msg, "primaryGroupID");
	int64_t r = parse_u32(rid);
	free(rid);
	struct berval **sid = ldap_get_values_len(l->ld, msg, "objectSid");
	if (r >= 0 && sid && sid[0]) {
		char *v = ldapdir_primary_sid(
		    (const unsigned char *)sid[0]->bv_val, sid[0]->bv_len,
		    (uint32_t)r);
		if (v)
			lk->primary =
			    xasprintf("(&(objectClass=group)(objectSid=%s))", v);
		free(v);
	}
	ldap_value_free_len(sid);
}

static void lookup_entry(struct lookup *lk, LDAPMessage *msg)
{
	struct ldapdir *l = lk->l;
	if (lk->st == LK_USER) {
		if (lk->nusers++ == 0) {
			char *dn = ldap_get_dn(l->ld, msg);
			if (dn) {
				lk->dn = xstrdup(dn);
				ldap_memfree(dn);
			}
			take_name(lk, msg);
			take_primary(lk, msg);
		}
		return;
	}
	if (lk->st == LK_PRIMARY) {
		if (lk->nprimary++ == 0) {
			char *dn = ldap_get_dn(l->ld, msg);
			if (dn) {
				lk->primary_dn = xstrdup(dn);
				ldap_memfree(dn);
			}
		}
		return;
	}
	struct berval **vals = ldap_get_values_len(l->ld, msg, "cn");
	if (vals && vals[0] && vals[0]->bv_len)
		push_group(lk, vals[0]->bv_val, vals[0]->bv_len);
	ldap_value_free_len(vals);
}

/* One message from the server. */
static void conn_message(struct ldapdir *l, int type, LDAPMessage *msg)
{
	int msgid = ldap_msgid(msg);
	if (l->cst == C_BINDING && msgid == l->bind_msgid) {
		int err = LDAP_OTHER;
		if (ldap_parse_result(l->ld, msg, &err, NULL, NULL, NULL, NULL,
				      0) != LDAP_SUCCESS || err != LDAP_SUCCESS) {
			log_warnx("ldap: bind to %s as %s: %s", l->uri,
				  l->bind_dn, ldap_err2string(err));
			conn_close(l, true, EIO);
			return;
		}
		conn_ready(l);
		return;
	}
	struct lookup *lk = lookup_by_msgid(l, msgid);
	if (!lk)
		return; /* an abandoned search's late answer */
	if (type == LDAP_RES_SEARCH_ENTRY)
		lookup_entry(lk, msg);
	else if (type == LDAP_RES_SEARCH_REFERENCE)
		lk->incomplete = true; /* never chased: entries may be missing */
	else if (type == LDAP_RES_SEARCH_RESULT)
		lookup_result(lk, msg);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ldapdir *l = arg;
	unsigned gen = l->gen;
	for (int i = 0; i < READ_BURST && l->ld && l->gen == gen; i++) {
		struct timeval zero = {0, 0};
		LDAPMessage *msg = NULL;
		int type = ldap_result(l->ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero,
				       &msg);
		if (type == 0)
			return;
		if (type < 0) {
			int err = LDAP_SERVER_DOWN;
			ldap_get_option(l->ld, LDAP_OPT_RESULT_CODE, &err);
			log_warnx("ldap: connection to %s lost: %s", l->uri,
				  ldap_err2string(err));
			ldap_msgfree(msg);
			conn_close(l, false, EIO);
			return;
		}
		l->last_rx_ms = now(l);
		l->suspect = 0;
		conn_message(l, type, msg);
		ldap_msgfree(msg);
	}
	/* burst used up: libldap may hold more already read; come back */
	if (l->io && l->gen == gen)
		event_active(l->io, EV_READ, 0);
}

/* Reads the first line of the password file into a new string, or NULL. */
static char *read_password(const char *path)
{
	const char *why = secret_file_problem(path);
	if (why) {
		log_warnx("ldap: password file %s %s; not binding", path, why);
		return NULL;
	}
	char *r = secret_read_line(path, 1023);
	if (!r)
		log_warn("ldap: password file %s", path);
	return r;
}

static void conn_secure(struct ldapdir *l);

static void tlsjob_unref(struct tlsjob *j)
{
	pthread_mutex_lock(&j->mu);
	bool last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (!last)
		return;
	close(j->sv[0]);
	close(j->sv[1]);
	pthread_mutex_destroy(&j->mu);
	free(j->why);
	free(j->keytab);
	free(j->principal);
	free(j->ccache);
	free(j);
}

static void *tls_thread(void *arg)
{
	struct tlsjob *j = arg;
	int rc = LDAP_SUCCESS;
	char *why = NULL;
	if (j->tls)
		rc = j->starttls ? ldap_start_tls_s(j->ld, NULL, NULL)
				 : ldap_install_tls(j->ld);
	if (rc == LDAP_SUCCESS && j->gss) {
		struct gssbind_cfg g = {.keytab = j->keytab,
					.principal = j->principal,
					.ccache = j->ccache};
		rc = gssbind_run(j->ld, &g, &why);
	}
	pthread_mutex_lock(&j->mu);
	j->why = why;
	j->rc = rc;
	j->done = true;
	bool abandoned = j->abandoned;
	pthread_mutex_unlock(&j->mu);
	if (abandoned)
		ldap_unbind_ext(j->ld, NULL, NULL);
	else if (send(j->sv[1], "", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the loop learns it at the connect deadline */
	}
	tlsjob_unref(j);
	return NULL;
}

/* Closes a handshake in progress: its handle goes with whoever is last. */
static void tls_abandon(struct ldapdir *l)
{
	struct tlsjob *j = l->tls_job;
	event_free(l->tls_ev);
	l->tls_ev = NULL;
	l->tls_job = NULL;
	pthread_mutex_lock(&j->mu);
	j->abandoned = true;
	bool done = j->done;
	pthread_mutex_unlock(&j->mu);
	if (done)
		ldap_unbind_ext(j->ld, NULL, NULL);
	tlsjob_unref(j);
}

/* The handshake thread is done (main thread). */
static void on_tls_done(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct ldapdir *l = arg;
	struct tlsjob *j = l->tls_job;
	char b;
	if (recv(fd, &b, 1, MSG_DONTWAIT) < 0)
		return;
	pthread_mutex_lock(&j->mu);
	int rc = j->rc;
	char *why = j->why;
	j->why = NULL;
	pthread_mutex_unlock(&j->mu);
	event_free(l->tls_ev);
	l->tls_ev = NULL;
	l->tls_job = NULL;
	tlsjob_unref(j); /* the thread is done: the handle is ours again */
	if (why) { /* the GSSAPI bind failed */
		log_warnx("ldap: bind to %s as %s: %s", l->uri, l->principal,
			  why);
		free(why);
		conn_close(l, true, EIO);
		return;
	}
	if (rc != LDAP_SUCCESS) {
		char *msg = NULL;
		ldap_get_option(l->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg);
		log_warnx("ldap: TLS with %s: %s%s%s", l->uri,
			  ldap_err2string(rc), msg && *msg ? ": " : "",
			  msg ? msg : "");
		ldap_memfree(msg);
		conn_close(l, true, EIO);
		return;
	}
	conn_secure(l);
}

/* Sets L's TLS options on its handle and starts the thread that makes the
 * handshake and the GSSAPI bind (as configured). */
static void tls_start(struct ldapdir *l)
{
	int req = l->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	int zero = 0;
	const char *why;
	if (l->keytab && (why = secret_file_problem(l->keytab))) {
		log_warnx("ldap: keytab %s %s; not binding", l->keytab, why);
		conn_close(l, true, EIO);
		return;
	}
	if ((l->tls || l->starttls) && ((l->tls_ca && ldap_set_option(l->ld, LDAP_OPT_X_TLS_CACERTFILE,
					  l->tls_ca) != LDAP_OPT_SUCCESS) ||
	    ldap_set_option(l->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) !=
		LDAP_OPT_SUCCESS ||
	    ldap_set_option(l->ld, LDAP_OPT_X_TLS_NEWCTX, &zero) !=
		LDAP_OPT_SUCCESS)) {
		log_warnx("ldap: %s: cannot set up TLS (tls-ca %s)", l->uri,
			  l->tls_ca ? l->tls_ca : "default");
		conn_close(l, true, EIO);
		return;
	}
	struct tlsjob *j = xcalloc(1, sizeof(*j));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, j->sv) < 0) {
		log_warn("ldap: socketpair");
		free(j);
		conn_close(l, true, EIO);
		return;
	}
	pthread_mutex_init(&j->mu, NULL);
	j->refs = 2;
	j->ld = l->ld;
	j->tls = l->tls || l->starttls;
	j->starttls = l->starttls;
	j->gss = l->keytab != NULL;
	j->keytab = dup_or_null(l->keytab);
	j->principal = dup_or_null(l->principal);
	j->ccache = dup_or_null(l->ccache);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int err = pthread_create(&t, &attr, tls_thread, j);
	pthread_attr_destroy(&attr);
	if (err) {
		log_warnx("ldap: TLS thread: %s", strerror(err));
		j->refs = 1;
		tlsjob_unref(j);
		conn_close(l, true, EIO);
		return;
	}
	l->tls_job = j;
	l->tls_ev = event_new(l->base, j->sv[0], EV_READ, on_tls_done, l);
	event_add(l->tls_ev, NULL);
	l->cst = C_TLS;
}

/* The socket is connected: hand it to libldap, secure it, bind. */
static void conn_connected(struct ldapdir *l)
{
	if (l->io) {
		event_free(l->io);
		l->io = NULL;
	}
	int rc = ldap_init_fd(l->fd, l->ipc ? LDAP_PROTO_IPC : LDAP_PROTO_TCP,
			      l->ldap_uri, &l->ld);
	if (rc != LDAP_SUCCESS) {
		log_warnx("ldap: %s: %s", l->uri, ldap_err2string(rc));
		l->ld = NULL;
		conn_close(l, true, EIO);
		return;
	}
	int v3 = LDAP_VERSION3;
	struct timeval nt = ms_tv(l->timeout_ms);
	ldap_set_option(l->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(l->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(l->ld, LDAP_OPT_NETWORK_TIMEOUT, &nt);
	ldap_set_option(l->ld, LDAP_OPT_TIMEOUT, &nt);
	if (l->tls || l->starttls || l->keytab)
		tls_start(l);
	else
		conn_secure(l);
}

/* The connection is as secure as configured: read it, bind if configured. */
static void conn_secure(struct ldapdir *l)
{
	int rc;
	l->io = event_new(l->base, l->fd, EV_READ | EV_PERSIST, on_readable, l);
	event_add(l->io, NULL);
	l->last_rx_ms = now(l);
	if (!l->bind_dn || l->keytab) { /* anonymous, or bound by the job */
		conn_ready(l);
		return;
	}
	char *pw = l->password_file ? read_password(l->password_file)
				    : xstrdup("");
	if (!pw) {
		conn_close(l, true, EIO);
		return;
	}
	struct berval cred = {.bv_len = strlen(pw), .bv_val = pw};
	rc = ldap_sasl_bind(l->ld, l->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL,
			    NULL, &l->bind_msgid);
	explicit_bzero(pw, cred.bv_len);
	free(pw);
	if (rc != LDAP_SUCCESS) {
		log_warnx("ldap: bind to %s: %s", l->uri, ldap_err2string(rc));
		conn_close(l, true, EIO);
		return;
	}
	l->cst = C_BINDING;
}

static void on_connect(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct ldapdir *l = arg;
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		log_warnx("ldap: connect to %s: %s", l->uri, strerror(err));
		conn_close(l, true, EIO);
		return;
	}
	conn_connected(l);
}

static void on_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ldapdir *l = arg;
	log_warnx("ldap: %s: no connection within %u ms", l->uri,
		  l->timeout_ms);
	conn_close(l, true, ETIMEDOUT);
}

/* Starts a connection: marked non-blocking socket, connect(). */
static void conn_open(struct ldapdir *l)
{
	l->fd = socket(l->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
					       SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		log_warn("ldap: socket");
		conn_close(l, true, EIO);
		return;
	}
	if (l->so_mark && !l->ipc &&
	    setsockopt(l->fd, SOL_SOCKET, SO_MARK, &l->so_mark,
		       sizeof(l->so_mark)) < 0) {
		log_warn("ldap: SO_MARK %#x", l->so_mark);
		conn_close(l, true, EIO);
		return;
	}
	l->cst = C_CONNECTING;
	struct timeval tv = ms_tv(l->timeout_ms);
	evtimer_add(l->ctimer, &tv);
	if (connect(l->fd, (struct sockaddr *)&l->sa, l->salen) == 0) {
		conn_connected(l);
		return;
	}
	if (errno != EINPROGRESS) {
		log_warn("ldap: connect to %s", l->uri);
		conn_close(l, true, EIO);
		return;
	}
	l->io = event_new(l->base, l->fd, EV_WRITE, on_connect, l);
	event_add(l->io, NULL);
}

/* ---- public --------------------------------------------------------------- */

/* Fills L's address from its URI; -1 when not literal / not supported. */
static int parse_uri(struct ldapdir *l)
{
	LDAPURLDesc *lud = NULL;
	if (ldap_url_parse(l->uri, &lud) != LDAP_URL_SUCCESS)
		return -1;
	int rc = -1;
	memset(&l->sa, 0, sizeof(l->sa));
	if (strcmp(lud->lud_scheme, "ldapi") == 0 && lud->lud_host &&
	    *lud->lud_host) {
		struct sockaddr_un *un = (struct sockaddr_un *)&l->sa;
		if (strlen(lud->lud_host) < sizeof(un->sun_path)) {
			un->sun_family = AF_UNIX;
			strcpy(un->sun_path, lud->lud_host);
			l->salen = sizeof(*un);
			l->ipc = true;
			rc = 0;
		}
	} else if ((strcmp(lud->lud_scheme, "ldap") == 0 ||
		    strcmp(lud->lud_scheme, "ldaps") == 0) && lud->lud_host) {
		l->tls = strcmp(lud->lud_scheme, "ldaps") == 0;
		uint16_t port = lud->lud_port ? (uint16_t)lud->lud_port
				: l->tls      ? 636
					      : 389;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&l->sa;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->sa;
		if (inet_pton(AF_INET, lud->lud_host, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			l->salen = sizeof(*s4);
			rc = 0;
		} else if (inet_pton(AF_INET6, lud->lud_host,
				     &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			l->salen = sizeof(*s6);
			rc = 0;
		}
	}
	ldap_free_urldesc(lud);
	return rc;
}

/*
 * The URI libldap is told, and the GSSAPI bind's credential cache. With a
 * keytab the server is named by cfg->kerberos_host (its service principal
 * ldap/HOST), the connection still goes to the URI's address (parse_uri).
 * -1 when the GSSAPI settings are incomplete or the connection is not
 * plain ldap:// (gssbind.h: GSSAPI signs and seals it itself).
 */
static int gss_setup(struct ldapdir *l, const struct directory_cfg *cfg)
{
	if (!l->keytab) {
		l->ldap_uri = xstrdup(l->uri);
		return 0;
	}
	const char *host = cfg->kerberos_host;
	if (!l->principal || !host || !*host || l->ipc || l->tls ||
	    l->starttls ||
	    strpbrk(host, "/:[]@ ") || l->sa.ss_family == AF_UNIX)
		return -1;
	uint16_t port = l->sa.ss_family == AF_INET6
			    ? ((struct sockaddr_in6 *)&l->sa)->sin6_port
			    : ((struct sockaddr_in *)&l->sa)->sin_port;
	l->ldap_uri = xasprintf("ldap://%s:%u", host, ntohs(port));
	l->ccache = gssbind_ccache_name();
	return 0;
}

struct ldapdir *ldapdir_new(struct event_base *base,
			    const struct directory_cfg *cfg, uint32_t so_mark)
{
	if (!cfg->uri) {
		errno = EINVAL;
		return NULL;
	}
	struct ldapdir *l = xcalloc(1, sizeof(*l));
	LIST_INIT(&l->lookups);
	l->base = base;
	l->uri = xstrdup(cfg->uri);
	l->base_dn = xstrdup(cfg->base ? cfg->base : "");
	l->bind_dn = dup_or_null(cfg->bind_dn);
	l->password_file = dup_or_null(cfg->password_file);
	l->keytab = dup_or_null(cfg->keytab);
	l->principal = dup_or_null(cfg->principal);
	bool ad = cfg->schema == SCHEMA_AD;
	l->schema = cfg->schema;
	l->user_filter = xstrdup(cfg->user_filter && *cfg->user_filter
					 ? cfg->user_filter
				 : ad ? LDAPDIR_AD_USER_FILTER
				      : LDAPDIR_USER_FILTER);
	l->group_filter = xstrdup(cfg->group_filter && *cfg->group_filter
					  ? cfg->group_filter
				  : ad ? LDAPDIR_AD_GROUP_FILTER
				       : LDAPDIR_GROUP_FILTER);
	l->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 2000;
	l->starttls = cfg->starttls;
	l->tls_verify = cfg->tls_verify;
	l->tls_ca = dup_or_null(cfg->tls_ca);
	l->cache_ttl_s = cfg->cache_ttl_s;
	l->cache = idcache_new(cfg->cache_ttl_s, LDAPDIR_CACHE_MAX);
	l->so_mark = so_mark;
	l->fd = -1;
	l->ctimer = evtimer_new(base, on_conn_deadline, l);
	char *t1 = ldapdir_filter(l->user_filter, "x", "y");
	char *t2 = ldapdir_filter(l->group_filter, "x", "y");
	bool ok = t1 && t2 && !directory_uri_problem(l->uri) &&
		  parse_uri(l) == 0 && !(l->starttls && (l->tls || l->ipc)) &&
		  gss_setup(l, cfg) == 0;
	free(t1);
	free(t2);
	if (!ok) {
		ldapdir_free(l);
		errno = EINVAL;
		return NULL;
	}
	return l;
}

void ldapdir_free(struct ldapdir *l)
{
	if (!l)
		return;
	l->closing = true;
	conn_close(l, false, ECANCELED);
	struct lookup *lk;
	/* none left: conn_close ended them all */
	while ((lk = LIST_FIRST(&l->lookups)))
		lookup_finish(lk, ECANCELED);
	idcache_free(l->cache);
	event_free(l->ctimer);
	free(l->uri);
	free(l->base_dn);
	free(l->bind_dn);
	free(l->password_file);
	free(l->keytab);
	free(l->principal);
	free(l->ldap_uri);
	gssbind_ccache_drop(l->ccache);
	free(l->ccache);
	free(l->tls_ca);
	free(l->user_filter);
	free(l->group_filter);
	for (size_t i = 0; i < l->nnamed; i++)
		free(l->named[i]);
	free(l->named);
	own_realms_free(&l->realms);
	flight_table_fini(&l->inflight);
	free(l);
}

int ldapdir_groups(struct ldapdir *l, const char *user, groups_cb cb,
		   void *arg)
{
	if (l->closing) {
		errno = ESHUTDOWN;
		return -1;
	}
	char *key = user && strlen(user) <= LDAPDIR_USER_MAX
			    ? ldapdir_user_key(&l->realms, user)
			    : NULL;
	if (!key) {
		errno = EINVAL;
		return -1;
	}
	const struct idanswer *e = idcache_get(l->cache, key, now(l));
	if (e) {
		free(key);
		l->st.cache_hits++;
		cb(arg, e->status, e->user,
		   e->status ? NULL : (const char *const *)e->groups,
		   e->status ? 0 : e->ngroups);
		return 0;
	}
	struct flight_waiter *w = xcalloc(1, sizeof(*w));
	struct flight *f = flight_find(&l->inflight, key, strlen(key));
	if (f) {
		flight_join(f, w, (flight_fn)cb, arg);
		l->st.shared++;
		free(key);
		return 0;
	}
	struct lookup *lk = xcalloc(1, sizeof(*lk));
	lk->l = l;
	lk->user = key;
	lk->msgid = -1;
	flight_start(&l->inflight, &lk->fl, key, strlen(key));
	flight_join(&lk->fl, w, (flight_fn)cb, arg);
	lk->st = LK_WAIT_CONN;
	lk->timer = evtimer_new(l->base, on_deadline, lk);
	struct timeval tv = ms_tv(l->timeout_ms);
	evtimer_add(lk->timer, &tv);
	LIST_INSERT_HEAD(&l->lookups, lk, link);
	l->st.searches++;
	l->st.in_flight++;
	switch (l->cst) {
	case C_READY:
		lookup_start(lk);
		break;
	case C_DOWN:
		if (now(l) < l->retry_at_ms)
			lookup_finish(lk, EIO); /* fail fast: dead server */
		else
			conn_open(l);
		break;
	default:
		break; /* started when the connection is ready */
	}
	return 0;
}

void ldapdir_cancel(struct ldapdir *l, groups_cb cb, void *arg)
{
	struct lookup *lk;
	LIST_FOREACH(lk, &l->lookups, link) {
		struct flight_waiter *w;
		while ((w = flight_waiter_find(&lk->fl, (flight_fn)cb, arg))) {
			flight_leave(&lk->fl, w);
			free(w);
		}
	}
}

void ldapdir_stats(const struct ldapdir *l, struct ldapdir_stats *out)
{
	*out = l->st;
}

void ldapdir_set_groups(struct ldapdir *l, const char *const *names, size_t n)
{
	bool restricted = names && n <= LDAPDIR_MAX_NAMED;
	bool same = restricted == l->restricted &&
		    (!restricted || n == l->nnamed);
	for (size_t i = 0; same && restricted && i < n; i++)
		same = strcmp(names[i], l->named[i]) == 0;
	if (same)
		return;
	for (size_t i = 0; i < l->nnamed; i++)
		free(l->named[i]);
	free(l->named);
	l->named = NULL;
	l->nnamed = 0;
	l->restricted = restricted;
	l->named_gen++; /* group searches on the wire asked about others */
	for (size_t i = 0; restricted && i < n; i++)
		VEC_PUSH(l->named, l->nnamed, xstrdup(names[i]));
	/* answers made for other groups are not answers for these */
	idcache_free(l->cache);
	l->cache = idcache_new(l->cache_ttl_s, LDAPDIR_CACHE_MAX);
}

char *ldapdir_user_key(const struct own_realms *own, const char *user)
{
	return user_name_canon(own, user);
}

bool ldapdir_set_realms(struct ldapdir *l, const struct own_realms *own)
{
	struct own_realms none = {0};
	if (own_realms_equal(&l->realms, own ? own : &none))
		return false;
	own_realms_copy(&l->realms, own);
	/* an answer keyed under other realms may be another account's */
	idcache_free(l->cache);
	l->cache = idcache_new(l->cache_ttl_s, LDAPDIR_CACHE_MAX);
	return true;
}

char *ldapdir_primary_sid(const unsigned char *sid, size_t len, uint32_t rid)
{
	/* revision 1, count of sub-authorities, 6-byte authority, then the
	 * sub-authorities, 4 bytes little endian each (MS-DTYP 2.4.2.2) */
	if (len < 8 || sid[0] != 1 || sid[1] == 0 || sid[1] > 15 ||
	    len != 8 + 4u * sid[1])
		return NULL;
	unsigned char v[8 + 4 * 15];
	memcpy(v, sid, len);
	for (int i = 0; i < 4; i++)
		v[len - 4 + (size_t)i] = (unsigned char)(rid >> (8 * i));
	char *r = xmalloc(len * 3 + 1);
	for (size_t i = 0; i < len; i++)
		sprintf(r + 3 * i, "\\%02x", v[i]);
	return r;
}
