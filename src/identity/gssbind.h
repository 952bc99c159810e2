/*
 * gssbind.h — a SASL GSSAPI (Kerberos V5, RFC 4752) bind of a libldap
 * handle with the keys of a keytab, on a credential cache private to the
 * caller.
 *
 * The ticket-granting ticket is obtained from the keytab (no password,
 * nothing typed) into CCACHE, a MEMORY: cache named by gssbind_ccache_name
 * for one directory client, and kept there: a bind reuses it while it is
 * valid for GSSBIND_RENEW_MARGIN_S more, else gets a new one first, and a
 * failed bind with a kept ticket gets a new one and binds once more (the
 * KDC may have changed the keys or revoked the ticket). The GSSAPI
 * mechanism is told to use CCACHE through gss_krb5_ccache_name(), which is
 * per thread: binds of several clients on several threads never see each
 * other's credentials, and no process environment (KRB5CCNAME,
 * KRB5_CLIENT_KTNAME) is touched.
 *
 * The server is named by the host in the handle's URI (libldap's
 * LDAP_OPT_X_SASL_NOCANON: no reverse DNS), so its service principal is
 * ldap/HOST. The SASL security layer is the strongest the server offers,
 * at least integrity (minssf=1): the connection is signed or sealed by
 * GSSAPI itself, never left unprotected. The connection must not be under
 * TLS: Active Directory and Samba refuse GSSAPI signing and sealing
 * inside TLS, and a bind with no layer leaks the SASL context in Debian
 * 12's libldap 2.5 / Cyrus SASL 2.1.28 (about 17 KiB a bind, measured
 * with valgrind), so a keytab takes a plain ldap:// URI.
 */
#ifndef SLUICE_GSSBIND_H
#define SLUICE_GSSBIND_H

#include <ldap.h>
#include <stdbool.h>
#include <time.h>

#define GSSBIND_RENEW_MARGIN_S 300 /* a ticket this close to its end is renewed */

struct gssbind_cfg {
	const char *keytab;    /* path of the client's keytab */
	const char *principal; /* the client, e.g. svc-sluice@AD.EXAMPLE */
	const char *ccache;    /* gssbind_ccache_name() */
};

/*
 * Binds LD (connected, not under TLS) with SASL GSSAPI as C->principal.
 * Blocking: the KDC and the server are asked and waited for (libldap's
 * network timeout, the KDC's own timeouts); call it from a thread of its
 * own. Returns LDAP_SUCCESS, or an LDAP result code (LDAP_LOCAL_ERROR for
 * a Kerberos failure) with *WHY a new string saying what failed (the
 * caller frees it); *WHY is NULL on success.
 */
int gssbind_run(LDAP *ld, const struct gssbind_cfg *c, char **why);

/*
 * True when credential cache CCACHE holds PRINCIPAL's ticket-granting
 * ticket (krbtgt/...) valid for more than GSSBIND_RENEW_MARGIN_S seconds
 * after NOW (seconds since the epoch): a bind then reuses it, else a new
 * one is obtained from the keytab first. False for an empty or missing
 * cache, another principal's cache, or a bad name.
 */
bool gssbind_ticket_fresh(const char *ccache, const char *principal,
			  time_t now);

/* A new name for a private credential cache, "MEMORY:sluice-ldap-PID-N",
 * unique in the process. The caller frees it. */
char *gssbind_ccache_name(void);

/* Destroys the credential cache CCACHE and the tickets in it (NULL: a
 * no-op). */
void gssbind_ccache_drop(const char *ccache);

#endif
