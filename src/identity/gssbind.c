/*
 * gssbind.c — see gssbind.h. Kerberos through MIT krb5 (the ticket from
 * the keytab), the bind through libldap's SASL (Cyrus SASL's GSSAPI
 * mechanism, libsasl2-modules-gssapi-mit).
 */
#include "identity/gssbind.h"
#include "common/util.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <sasl/sasl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *gssbind_ccache_name(void)
{
	static atomic_uint next;
	return xasprintf("MEMORY:sluice-ldap-%ld-%u", (long)getpid(),
			 atomic_fetch_add(&next, 1));
}

void gssbind_ccache_drop(const char *ccache)
{
	krb5_context ctx;
	krb5_ccache cc;
	if (!ccache || krb5_init_context(&ctx))
		return;
	if (krb5_cc_resolve(ctx, ccache, &cc) == 0)
		krb5_cc_destroy(ctx, cc);
	krb5_free_context(ctx);
}

/* A new "WHAT: krb5's message for CODE" string. */
static char *krb_why(krb5_context ctx, const char *what, krb5_error_code code)
{
	const char *m = krb5_get_error_message(ctx, code);
	char *r = xasprintf("%s: %s", what, m);
	krb5_free_error_message(ctx, m);
	return r;
}

/* True when CC holds CLIENT's ticket-granting ticket valid for
 * GSSBIND_RENEW_MARGIN_S more after NOW. */
static bool tgt_fresh(krb5_context ctx, krb5_ccache cc,
		      krb5_principal client, time_t now)
{
	krb5_principal have = NULL;
	if (krb5_cc_get_principal(ctx, cc, &have))
		return false;
	bool same = krb5_principal_compare(ctx, have, client);
	krb5_free_principal(ctx, have);
	krb5_cc_cursor cur;
	if (!same || krb5_cc_start_seq_get(ctx, cc, &cur))
		return false;
	bool fresh = false;
	krb5_creds cr;
	while (!fresh && krb5_cc_next_cred(ctx, cc, &cur, &cr) == 0) {
		char *server = NULL;
		if (krb5_unparse_name(ctx, cr.server, &server) == 0 &&
		    strncmp(server, "krbtgt/", 7) == 0 &&
		    (time_t)cr.times.endtime - now > GSSBIND_RENEW_MARGIN_S)
			fresh = true;
		krb5_free_unparsed_name(ctx, server);
		krb5_free_cred_contents(ctx, &cr);
	}
	krb5_cc_end_seq_get(ctx, cc, &cur);
	return fresh;
}

bool gssbind_ticket_fresh(const char *ccache, const char *principal,
			  time_t now)
{
	krb5_context ctx;
	if (krb5_init_context(&ctx))
		return false;
	krb5_principal client = NULL;
	krb5_ccache cc = NULL;
	bool fresh = krb5_parse_name(ctx, principal, &client) == 0 &&
		     krb5_cc_resolve(ctx, ccache, &cc) == 0 &&
		     tgt_fresh(ctx, cc, client, now);
	if (cc)
		krb5_cc_close(ctx, cc);
	krb5_free_principal(ctx, client);
	krb5_free_context(ctx);
	return fresh;
}

/* Gets CLIENT's ticket-granting ticket with the keys in KEYTAB into CC
 * (replacing what it held). Returns 0, or -1 with *WHY set. */
static int tgt_get(krb5_context ctx, krb5_ccache cc, krb5_principal client,
		   const char *keytab, char **why)
{
	char *ktname = xasprintf("FILE:%s", keytab);
	krb5_keytab kt = NULL;
	krb5_get_init_creds_opt *opt = NULL;
	krb5_creds cr;
	memset(&cr, 0, sizeof(cr));
	krb5_error_code e = krb5_kt_resolve(ctx, ktname, &kt);
	if (e)
		*why = krb_why(ctx, "keytab", e);
	if (!e && (e = krb5_get_init_creds_opt_alloc(ctx, &opt)))
		*why = krb_why(ctx, "krb5", e);
	if (!e && (e = krb5_get_init_creds_keytab(ctx, &cr, client, kt, 0,
						   NULL, opt)))
		*why = krb_why(ctx, "ticket from the keytab", e);
	if (!e && ((e = krb5_cc_initialize(ctx, cc, client)) ||
		   (e = krb5_cc_store_cred(ctx, cc, &cr))))
		*why = krb_why(ctx, "credential cache", e);
	krb5_free_cred_contents(ctx, &cr);
	if (opt)
		krb5_get_init_creds_opt_free(ctx, opt);
	if (kt)
		krb5_kt_close(ctx, kt);
	free(ktname);
	return e ? -1 : 0;
}

/* Makes sure C->ccache holds a usable ticket (a new one when FORCE).
 * Returns 0 (*GOT: a new one was obtained), or -1 with *WHY set. */
static int tgt_ensure(const struct gssbind_cfg *c, bool force, bool *got,
		      char **why)
{
	krb5_context ctx;
	krb5_error_code e = krb5_init_context(&ctx);
	if (e) {
		*why = xasprintf("krb5: cannot start (%d)", (int)e);
		return -1;
	}
	krb5_principal client = NULL;
	krb5_ccache cc = NULL;
	int rc = -1;
	*got = false;
	if ((e = krb5_parse_name(ctx, c->principal, &client)))
		*why = krb_why(ctx, "principal", e);
	else if ((e = krb5_cc_resolve(ctx, c->ccache, &cc)))
		*why = krb_why(ctx, "credential cache", e);
	else if (!force && tgt_fresh(ctx, cc, client, time(NULL)))
		rc = 0;
	else if (tgt_get(ctx, cc, client, c->keytab, why) == 0) {
		rc = 0;
		*got = true;
	}
	if (cc)
		krb5_cc_close(ctx, cc);
	krb5_free_principal(ctx, client);
	krb5_free_context(ctx);
	return rc;
}

/* Cyrus SASL's questions: GSSAPI asks at most for an authorization id;
 * none (empty) binds as the principal itself. */
static int interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	(void)ld;
	(void)flags;
	(void)defaults;
	for (sasl_interact_t *q = in; q->id != SASL_CB_LIST_END; q++) {
		q->result = "";
		q->len = 0;
	}
	return LDAP_SUCCESS;
}

/* One SASL GSSAPI bind on LD with the thread's credential cache. */
static int sasl_bind(LDAP *ld, char **why)
{
	int rc = ldap_set_option(ld, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON);
	if (rc == LDAP_OPT_SUCCESS)
		rc = ldap_set_option(ld, LDAP_OPT_X_SASL_SECPROPS, "minssf=1");
	if (rc != LDAP_OPT_SUCCESS) {
		*why = xstrdup("cannot set the SASL options");
		return LDAP_LOCAL_ERROR;
	}
	rc = ldap_sasl_interactive_bind_s(ld, NULL, "GSSAPI", NULL, NULL,
					  LDAP_SASL_QUIET, interact, NULL);
	if (rc != LDAP_SUCCESS) {
		char *msg = NULL;
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg);
		*why = xasprintf("SASL GSSAPI bind: %s%s%s",
				 ldap_err2string(rc), msg && *msg ? ": " : "",
				 msg ? msg : "");
		ldap_memfree(msg);
	}
	return rc;
}

int gssbind_run(LDAP *ld, const struct gssbind_cfg *c, char **why)
{
	*why = NULL;
	OM_uint32 minor;
	if (gss_krb5_ccache_name(&minor, c->ccache, NULL) != GSS_S_COMPLETE) {
		*why = xstrdup("GSSAPI: cannot select the credential cache");
		return LDAP_LOCAL_ERROR;
	}
	bool got;
	if (tgt_ensure(c, false, &got, why) < 0)
		return LDAP_LOCAL_ERROR;
	int rc = sasl_bind(ld, why);
	if (rc == LDAP_SUCCESS || got || rc == LDAP_SERVER_DOWN ||
	    rc == LDAP_TIMEOUT)
		return rc;
	/* a kept ticket failed: a new one, and once more */
	char *first = *why;
	*why = NULL;
	if (tgt_ensure(c, true, &got, why) < 0) {
		free(first);
		return LDAP_LOCAL_ERROR;
	}
	free(first);
	return sasl_bind(ld, why);
}
