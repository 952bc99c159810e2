/*
 * pauth.c — see portal.h: a user's password checked by an LDAP simple
 * bind (RFC 4513 §5.1.3) as the user's entry, which a search finds as the
 * `directory ldap` block says (user-filter, or the schema's).
 */
#include "portal/portal.h"
#include "identity/ldapdir.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The result of an LDAP call RC: a directory that did not answer, or
 * another failure. */
static enum pauth_result unavailable_or(int rc, enum pauth_result other)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ||
		       rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE ||
		       rc == LDAP_BUSY || rc == LDAP_TIMELIMIT_EXCEEDED
		   ? PAUTH_UNAVAILABLE
		   : other;
}

/* A connection to C's directory, TLS as C says (ldaps://, StartTLS), every
 * network wait bounded by C's timeout; NULL with WHY. */
static LDAP *pauth_connect(const struct directory_cfg *c, int *rc, char *why,
			   size_t whylen)
{
	LDAP *ld = NULL;
	if ((*rc = ldap_initialize(&ld, c->uri)) != LDAP_SUCCESS) {
		snprintf(why, whylen, "directory uri: %s", ldap_err2string(*rc));
		return NULL;
	}
	int v3 = LDAP_VERSION3, zero = 0;
	int req = c->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	struct timeval tv = {(time_t)(c->timeout_ms / 1000),
			     (suseconds_t)(c->timeout_ms % 1000) * 1000};
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req);
	if (c->tls_ca)
		ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, c->tls_ca);
	ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	if (c->starttls &&
	    (*rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		snprintf(why, whylen, "StartTLS: %s", ldap_err2string(*rc));
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	return ld;
}

/* A simple bind as DN with the LEN bytes of PASSWORD. */
static int simple_bind(LDAP *ld, const char *dn, const char *password,
		       size_t len)
{
	struct berval cred = {(ber_len_t)len, (char *)password};
	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
				NULL);
}

/* The one entry C's user filter finds for USER: its DN (to free) and the
 * directory's own name for the user into NAME. */
static enum pauth_result find_user(LDAP *ld, const struct directory_cfg *c,
				   const char *user, char **dn, char *name,
				   size_t namelen, char *why, size_t whylen)
{
	const char *tmpl = c->user_filter ? c->user_filter
			   : c->schema == SCHEMA_AD ? LDAPDIR_AD_USER_FILTER
						    : LDAPDIR_USER_FILTER;
	const char *attr = c->schema == SCHEMA_AD ? "sAMAccountName" : "uid";
	char *filter = ldapdir_filter(tmpl, user, NULL);
	if (!filter) {
		snprintf(why, whylen, "bad user-filter");
		return PAUTH_ERROR;
	}
	char *attrs[] = {(char *)attr, NULL};
	struct timeval tv = {(time_t)(c->timeout_ms / 1000),
			     (suseconds_t)(c->timeout_ms % 1000) * 1000};
	LDAPMessage *res = NULL;
	int rc = ldap_search_ext_s(ld, c->base, LDAP_SCOPE_SUBTREE, filter,
				   attrs, 0, NULL, NULL, &tv, 2, &res);
	free(filter);
	enum pauth_result r = PAUTH_REFUSED;
	int n = res ? ldap_count_entries(ld, res) : 0;
	if (rc != LDAP_SUCCESS && !(rc == LDAP_SIZELIMIT_EXCEEDED && n)) {
		snprintf(why, whylen, "user search: %s", ldap_err2string(rc));
		r = unavailable_or(rc, PAUTH_ERROR);
	} else if (n != 1) {
		snprintf(why, whylen, n ? "more than one entry for the user"
					: "no such user");
	} else {
		LDAPMessage *e = ldap_first_entry(ld, res);
		struct berval **v = ldap_get_values_len(ld, e, attr);
		char *d = ldap_get_dn(ld, e);
		if (d && v && v[0] && v[0]->bv_len < namelen &&
		    !memchr(v[0]->bv_val, '\0', v[0]->bv_len)) {
			memcpy(name, v[0]->bv_val, v[0]->bv_len);
			name[v[0]->bv_len] = '\0';
			*dn = strdup(d);
			r = *dn ? PAUTH_OK : PAUTH_ERROR;
		} else {
			snprintf(why, whylen, "the entry has no usable %s",
				 attr);
		}
		ldap_value_free_len(v);
		ldap_memfree(d);
	}
	ldap_msgfree(res);
	return r;
}

enum pauth_result pauth_check(const struct directory_cfg *c,
			      const char *bind_password, const char *user,
			      const char *password, size_t pwlen, char *name,
			      size_t namelen, char *why, size_t whylen)
{
	why[0] = '\0';
	if (!pwlen) { /* an unauthenticated bind would "succeed" (RFC 4513) */
		snprintf(why, whylen, "empty password");
		return PAUTH_REFUSED;
	}
	int rc;
	LDAP *ld = pauth_connect(c, &rc, why, whylen);
	if (!ld)
		return unavailable_or(rc, PAUTH_ERROR);
	enum pauth_result r = PAUTH_OK;
	if (c->bind_dn && bind_password &&
	    (rc = simple_bind(ld, c->bind_dn, bind_password,
			      strlen(bind_password))) != LDAP_SUCCESS) {
		snprintf(why, whylen, "service bind: %s", ldap_err2string(rc));
		r = unavailable_or(rc, PAUTH_ERROR);
	}
	char *dn = NULL;
	if (r == PAUTH_OK)
		r = find_user(ld, c, user, &dn, name, namelen, why, whylen);
	if (r == PAUTH_OK) {
		rc = simple_bind(ld, dn, password, pwlen);
		if (rc == LDAP_INVALID_CREDENTIALS) {
			snprintf(why, whylen, "wrong password");
			r = PAUTH_REFUSED;
		} else if (rc != LDAP_SUCCESS) {
			snprintf(why, whylen, "user bind: %s",
				 ldap_err2string(rc));
			r = unavailable_or(rc, PAUTH_REFUSED);
		}
	}
	free(dn);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return r;
}
