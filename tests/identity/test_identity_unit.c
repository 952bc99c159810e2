/*
 * test_identity_unit.c — cmocka unit tests of the identity sources that need
 * no server: RFC 4515 filter escaping and expansion (ldapdir), the GSSAPI
 * bind's ticket renewal decision (gssbind, a MEMORY: cache), the answer
 * cache both sources share (idcache), and the NSS pool's cache, sharing, queue bound and deadline with a fake lookup
 * function and an injected clock (nsspool).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <krb5.h>

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "identity/gssbind.h"
#include "identity/idcache.h"
#include "identity/ldapdir.h"
#include "identity/nsspool.h"

/* ---- gssbind ------------------------------------------------------------- */

/* Stores in CCACHE (initialised for CLIENT) a credential for SERVER that
 * ends at END. */
static void store_cred(const char *ccache, const char *client,
		       const char *server, time_t end, bool init)
{
	krb5_context ctx;
	krb5_ccache cc;
	krb5_creds cr;
	memset(&cr, 0, sizeof(cr));
	assert_int_equal(krb5_init_context(&ctx), 0);
	assert_int_equal(krb5_cc_resolve(ctx, ccache, &cc), 0);
	assert_int_equal(krb5_parse_name(ctx, client, &cr.client), 0);
	assert_int_equal(krb5_parse_name(ctx, server, &cr.server), 0);
	if (init)
		assert_int_equal(krb5_cc_initialize(ctx, cc, cr.client), 0);
	cr.times.authtime = cr.times.starttime = (krb5_timestamp)(end - 36000);
	cr.times.endtime = (krb5_timestamp)end;
	assert_int_equal(krb5_cc_store_cred(ctx, cc, &cr), 0);
	krb5_free_cred_contents(ctx, &cr);
	krb5_cc_close(ctx, cc);
	krb5_free_context(ctx);
}

/* The renewal decision: a kept ticket-granting ticket is reused while it
 * has more than GSSBIND_RENEW_MARGIN_S to live, for its own principal
 * only; a service ticket alone, an empty or unknown cache are not fresh;
 * gssbind_ccache_drop empties the cache; names are unique. */
static void test_gssbind_ticket_fresh(void **state)
{
	(void)state;
	const char *me = "svc@AD.TEST", *tgs = "krbtgt/AD.TEST@AD.TEST";
	char *a = gssbind_ccache_name(), *b = gssbind_ccache_name();
	assert_string_not_equal(a, b);
	assert_false(gssbind_ticket_fresh(a, me, 1000000));
	store_cred(a, me, "ldap/dc1.ad.test@AD.TEST", 2000000, true);
	assert_false(gssbind_ticket_fresh(a, me, 1000000)); /* no TGT */
	store_cred(a, me, tgs, 2000000, false);
	assert_true(gssbind_ticket_fresh(a, me, 1000000));
	assert_true(gssbind_ticket_fresh(
	    a, me, 2000000 - GSSBIND_RENEW_MARGIN_S - 1));
	assert_false(gssbind_ticket_fresh(a, me,
					  2000000 - GSSBIND_RENEW_MARGIN_S));
	assert_false(gssbind_ticket_fresh(a, "other@AD.TEST", 1000000));
	assert_false(gssbind_ticket_fresh(b, me, 1000000)); /* private */
	gssbind_ccache_drop(a);
	assert_false(gssbind_ticket_fresh(a, me, 1000000));
	gssbind_ccache_drop(b);
	gssbind_ccache_drop(NULL);
	free(a);
	free(b);
}

/* ---- idcache -------------------------------------------------------------- */

/* An answer lives TTL seconds; a put replaces; ENOENT is kept too. */
static void test_idcache_ttl(void **state)
{
	(void)state;
	struct idcache *c = idcache_new(10, 100);
	char *g[] = {"staff", "vpn"};
	idcache_put(c, "carol", 1000, 0, "carol", g, 2);
	idcache_put(c, "nobody", 1000, ENOENT, NULL, NULL, 0);
	const struct idanswer *a = idcache_get(c, "carol", 10999);
	assert_non_null(a);
	assert_int_equal(a->status, 0);
	assert_string_equal(a->user, "carol");
	assert_int_equal(a->ngroups, 2);
	assert_string_equal(a->groups[1], "vpn");
	assert_null(a->groups[2]);
	a = idcache_get(c, "nobody", 5000);
	assert_non_null(a);
	assert_int_equal(a->status, ENOENT);
	assert_null(a->user);
	assert_int_equal(a->ngroups, 0);
	assert_null(idcache_get(c, "dave", 5000));
	/* expired at put + 10 s: dropped */
	assert_null(idcache_get(c, "carol", 11000));
	assert_int_equal(idcache_size(c), 1);
	/* a new answer replaces the old one and its deadline */
	idcache_put(c, "nobody", 9000, 0, "nobody", g, 1);
	a = idcache_get(c, "nobody", 18999);
	assert_non_null(a);
	assert_int_equal(a->status, 0);
	assert_int_equal(a->ngroups, 1);
	assert_int_equal(idcache_size(c), 1);
	idcache_free(c);
}

/* Beyond MAX the least recently used answer goes; TTL 0 keeps nothing. */
static void test_idcache_lru(void **state)
{
	(void)state;
	struct idcache *c = idcache_new(60, 3);
	idcache_put(c, "a", 0, 0, "a", NULL, 0);
	idcache_put(c, "b", 0, 0, "b", NULL, 0);
	idcache_put(c, "c", 0, 0, "c", NULL, 0);
	assert_non_null(idcache_get(c, "a", 1)); /* a is now the most recent */
	idcache_put(c, "d", 1, 0, "d", NULL, 0); /* evicts b */
	assert_int_equal(idcache_size(c), 3);
	assert_null(idcache_get(c, "b", 2));
	assert_non_null(idcache_get(c, "a", 2));
	assert_non_null(idcache_get(c, "c", 2));
	assert_non_null(idcache_get(c, "d", 2));
	idcache_free(c);

	c = idcache_new(0, 3);
	idcache_put(c, "a", 0, 0, "a", NULL, 0);
	assert_int_equal(idcache_size(c), 0);
	assert_null(idcache_get(c, "a", 0));
	idcache_free(c);
	idcache_free(NULL);
}

/* ---- ldapdir filters ---------------------------------------------------- */

static void test_escape(void **state)
{
	(void)state;
	struct {
		const char *in, *out;
	} v[] = {
		{"alice", "alice"},
		{"a*b", "a\\2ab"},
		{"(x)", "\\28x\\29"},
		{"back\\slash", "back\\5cslash"},
		{"*)(uid=*", "\\2a\\29\\28uid=\\2a"},
		{"", ""},
		{"caf\xc3\xa9", "caf\xc3\xa9"}, /* UTF-8 passes */
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *s = ldapdir_escape(v[i].in);
		assert_string_equal(s, v[i].out);
		free(s);
	}
}

static void test_filter(void **state)
{
	(void)state;
	char *f = ldapdir_filter("(&(objectClass=posixGroup)(memberUid=%s))",
				 "ev*l)", NULL);
	assert_string_equal(f, "(&(objectClass=posixGroup)(memberUid=ev\\2al\\29))");
	free(f);
	f = ldapdir_filter("(member=%D)", "x", "uid=a(1),dc=t");
	assert_string_equal(f, "(member=uid=a\\281\\29,dc=t)");
	free(f);
	f = ldapdir_filter("(|(a=%s)(b=%D)(c=100%%))", "u", "d");
	assert_string_equal(f, "(|(a=u)(b=d)(c=100%))");
	free(f);
	f = ldapdir_filter(LDAPDIR_GROUP_FILTER, "bob", "uid=bob,dc=x");
	assert_non_null(f);
	free(f);
	errno = 0;
	assert_null(ldapdir_filter("(uid=%x)", "u", NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(ldapdir_filter("uid=%s", "u", NULL));
	assert_null(ldapdir_filter("(uid=%", "u", NULL));
}

/* Every spelling of one account in the own realms gives one key; another
 * realm's or domain's account keeps its realm; nothing left → NULL. */
static void test_user_key(void **state)
{
	(void)state;
	char *own_v[] = {"LAB.TEST", "LAB"};
	const struct own_realms own = {own_v, 2};
	const char *same[] = {"carol", "Carol", "CAROL", "carol ", "  carol\t",
			      "LAB\\carol", "lab\\Carol ", "carol@LAB.TEST",
			      "Carol@lab.test ", "LAB\\carol@LAB.TEST"};
	for (size_t i = 0; i < ARRAY_SIZE(same); i++) {
		char *k = ldapdir_user_key(&own, same[i]);
		assert_non_null(k);
		assert_string_equal(k, "carol");
		free(k);
	}
	/* the guest's own entry, never the local carol's */
	const char *other[][2] = {
	    {"carol@guest.example", "carol@guest.example"},
	    {"Carol@GUEST.example ", "carol@guest.example"},
	    {"GUEST\\Carol", "guest\\carol"},
	    {"LAB\\carol@guest.example", "lab\\carol@guest.example"}};
	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		char *k = ldapdir_user_key(&own, other[i][0]);
		assert_non_null(k);
		assert_string_equal(k, other[i][1]);
		free(k);
	}
	/* no own realm: every realm is another's */
	char *k0 = ldapdir_user_key(NULL, "carol@LAB.TEST");
	assert_string_equal(k0, "carol@lab.test");
	free(k0);
	const char *empty[] = {"", "   ", "LAB\\", "@LAB", " @x", "@", "\\",
			       "carol@", "\\carol"};
	for (size_t i = 0; i < ARRAY_SIZE(empty); i++)
		assert_null(ldapdir_user_key(&own, empty[i]));
	/* any length: nothing is cut */
	char longname[900];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	char *k = ldapdir_user_key(&own, longname);
	assert_int_equal(strlen(k), sizeof(longname) - 1);
	free(k);
}

/* The primary group's SID: the user's domain SID with the RID replaced,
 * escaped byte by byte; malformed SIDs give NULL. */
static void test_primary_sid(void **state)
{
	(void)state;
	/* S-1-5-21-1-2-3-1105 */
	const unsigned char sid[] = {1, 5, 0, 0, 0, 0, 0, 5,
				     21, 0, 0, 0, 1, 0, 0, 0,
				     2, 0, 0, 0, 3, 0, 0, 0,
				     0x51, 4, 0, 0};
	char *v = ldapdir_primary_sid(sid, sizeof(sid), 513);
	assert_string_equal(v, "\\01\\05\\00\\00\\00\\00\\00\\05"
			       "\\15\\00\\00\\00\\01\\00\\00\\00"
			       "\\02\\00\\00\\00\\03\\00\\00\\00"
			       "\\01\\02\\00\\00");
	free(v);
	assert_null(ldapdir_primary_sid(sid, sizeof(sid) - 1, 513));
	assert_null(ldapdir_primary_sid(sid, 4, 513));
	unsigned char bad[sizeof(sid)];
	memcpy(bad, sid, sizeof(sid));
	bad[0] = 2;
	assert_null(ldapdir_primary_sid(bad, sizeof(bad), 513));
}

/* sluicectl check and sluiced accept the same URIs. */
static void test_uri_problem(void **state)
{
	(void)state;
	const char *good[] = {"ldap://198.18.4.2", "ldap://198.18.4.2:389/",
			      "ldaps://198.18.4.2:636", "ldaps://[2001:db8::1]",
			      "ldap://[2001:db8::1]:3268/",
			      "ldapi://%2Frun%2Fslapd%2Fldapi"};
	const char *bad[] = {"ldap://dc1.example.com", "ldaps://dc1/",
			     "http://198.18.4.2", "ldap://198.18.4.2:0",
			     "ldap://198.18.4.2:99999", "ldap://[::1",
			     "ldap://198.18.4.2/dc=x?uid", "", "ldapi://"};
	struct event_base *base = event_base_new();
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		assert_null(directory_uri_problem(good[i]));
		struct directory_cfg c = {.uri = (char *)good[i],
					  .base = "dc=x"};
		struct ldapdir *l = ldapdir_new(base, &c, 0);
		assert_non_null(l);
		ldapdir_free(l);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_non_null(directory_uri_problem(bad[i]));
		struct directory_cfg c = {.uri = (char *)bad[i], .base = "dc=x"};
		assert_null(ldapdir_new(base, &c, 0));
	}
	event_base_free(base);
}

/* A password file others may read is refused. */
static void test_secret_file(void **state)
{
	(void)state;
	char path[] = "/tmp/sluice-pw-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0600), 0);
	assert_null(secret_file_problem(path));
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(secret_file_problem(path));
	assert_int_equal(chmod(path, 0644), 0);
	assert_non_null(secret_file_problem(path));
	assert_int_equal(chmod(path, 0660), 0);
	assert_non_null(secret_file_problem(path));
	unlink(path);
	assert_null(secret_file_problem(path)); /* missing: the open says */
}

static void test_ldapdir_new_rejects(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct directory_cfg cfg = {.uri = "ldap://dc1.example.com/",
				    .base = "dc=x", .timeout_ms = 100};
	assert_null(ldapdir_new(base, &cfg, 0)); /* a name: could block */
	cfg.uri = "ldap://127.0.0.1:1/";
	cfg.group_filter = "(member=%q)";
	assert_null(ldapdir_new(base, &cfg, 0));
	cfg.group_filter = NULL;
	struct ldapdir *l = ldapdir_new(base, &cfg, 0);
	assert_non_null(l);
	ldapdir_free(l);
	cfg.uri = "ldap://[::1]:1/";
	l = ldapdir_new(base, &cfg, 0);
	assert_non_null(l);
	ldapdir_free(l);
	event_base_free(base);
}

/* Connection refused: EIO, then fail-fast EIO before return. */
struct res {
	int calls, status;
	size_t n;
	char user[64];
	char groups[8][32];
};

static void groups_done(void *arg, int status, const char *user,
			const char *const *g, size_t n)
{
	struct res *r = arg;
	snprintf(r->user, sizeof(r->user), "%s", user ? user : "");
	r->calls++;
	r->status = status;
	r->n = n;
	for (size_t i = 0; i < n && i < 8; i++)
		snprintf(r->groups[i], sizeof(r->groups[i]), "%s", g[i]);
}

static void test_ldapdir_refused(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct directory_cfg cfg = {.uri = "ldap://127.0.0.1:1/",
				    .base = "dc=x", .timeout_ms = 300};
	struct ldapdir *l = ldapdir_new(base, &cfg, 0);
	struct res r1 = {0}, r2 = {0};
	assert_int_equal(ldapdir_groups(l, "alice", groups_done, &r1), 0);
	event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r1.status, EIO);
	assert_int_equal(ldapdir_groups(l, "bob", groups_done, &r2), 0);
	assert_int_equal(r2.calls, 1); /* fail fast, before return */
	assert_int_equal(r2.status, EIO);
	assert_int_equal(ldapdir_groups(l, "", groups_done, &r2), -1);
	assert_int_equal(errno, EINVAL);
	ldapdir_free(l);
	event_base_free(base);
}

/* ---- nsspool with a fake NSS -------------------------------------------- */

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static int fake_calls;
static bool fake_block; /* uid 666 blocks while set */

static int fake_lookup(uint32_t uid, char **user, char ***groups, size_t *n)
{
	pthread_mutex_lock(&fake_mu);
	fake_calls++;
	while (uid == 666 && fake_block)
		pthread_cond_wait(&fake_cv, &fake_mu);
	pthread_mutex_unlock(&fake_mu);
	if (uid >= 5000)
		return ENOENT;
	if (uid == 4242) { /* more groups than kept: a list it cannot give */
		*user = xstrdup("many");
		return EOVERFLOW;
	}
	*user = xasprintf("user%u", uid);
	*groups = xcalloc(2, sizeof(char *));
	(*groups)[0] = xstrdup("staff");
	(*groups)[1] = xasprintf("g%u", uid);
	*n = 2;
	return 0;
}

static void release_fake(void)
{
	pthread_mutex_lock(&fake_mu);
	fake_block = false;
	pthread_cond_broadcast(&fake_cv);
	pthread_mutex_unlock(&fake_mu);
}

static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void uid_done(void *arg, int status, const char *user,
		     const char *const *g, size_t n)
{
	struct res *r = arg;
	r->calls++;
	r->status = status;
	r->n = n;
	snprintf(r->user, sizeof(r->user), "%s", user ? user : "");
	for (size_t i = 0; i < n && i < 8; i++)
		snprintf(r->groups[i], sizeof(r->groups[i]), "%s", g[i]);
}

/* Runs BASE until *CALLS reaches WANT (bounded: 5 s). */
static void run_until(struct event_base *base, int *calls, int want)
{
	for (int i = 0; i < 500 && *calls < want; i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void test_nss_cache_ttl(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct identity_cfg cfg = {.nss_workers = 2, .nss_timeout_ms = 2000,
				   .cache_ttl_s = 60};
	struct nsspool *p = nsspool_new(base, &cfg);
	nsspool_set_lookup(p, fake_lookup);
	nsspool_set_clock(p, fake_clock, NULL);
	fake_now = 1000000;
	fake_calls = 0;
	struct res r[3] = {0};
	for (int i = 0; i < 3; i++)
		assert_int_equal(nsspool_uid(p, 42, uid_done, &r[i]), 0);
	run_until(base, &r[2].calls, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_string_equal(r[i].user, "user42");
		assert_int_equal(r[i].n, 2);
		assert_string_equal(r[i].groups[1], "g42");
	}
	struct nsspool_stats st;
	nsspool_stats(p, &st);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.shared, 2);
	/* within TTL: answered before return, no NSS call */
	struct res h = {0};
	fake_now += 59999;
	nsspool_uid(p, 42, uid_done, &h);
	assert_int_equal(h.calls, 1);
	assert_string_equal(h.user, "user42");
	/* expired: asks again */
	fake_now += 1;
	struct res x = {0};
	nsspool_uid(p, 42, uid_done, &x);
	assert_int_equal(x.calls, 0);
	run_until(base, &x.calls, 1);
	assert_int_equal(x.status, 0);
	/* negative cache */
	struct res n1 = {0}, n2 = {0};
	nsspool_uid(p, 9999, uid_done, &n1);
	run_until(base, &n1.calls, 1);
	assert_int_equal(n1.status, ENOENT);
	nsspool_uid(p, 9999, uid_done, &n2);
	assert_int_equal(n2.calls, 1);
	assert_int_equal(n2.status, ENOENT);
	nsspool_stats(p, &st);
	assert_int_equal(st.lookups, 3);
	assert_int_equal(st.cache_hits, 2);
	assert_int_equal(fake_calls, 3);
	/* an incomplete group list: the user, groups unknown (never a
	 * shorter list), counted, and cached like an answer */
	struct res o1 = {0}, o2 = {0};
	nsspool_uid(p, 4242, uid_done, &o1);
	run_until(base, &o1.calls, 1);
	assert_int_equal(o1.status, EOVERFLOW);
	assert_string_equal(o1.user, "many");
	assert_int_equal(o1.n, 0);
	nsspool_uid(p, 4242, uid_done, &o2);
	assert_int_equal(o2.calls, 1);
	assert_int_equal(o2.status, EOVERFLOW);
	assert_string_equal(o2.user, "many");
	nsspool_stats(p, &st);
	assert_int_equal(st.incomplete, 1);
	nsspool_free(p);
	event_base_free(base);
}

static void test_nss_queue_full_cancel(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct identity_cfg cfg = {.nss_workers = 1, .nss_timeout_ms = 60000,
				   .cache_ttl_s = 0};
	struct nsspool *p = nsspool_new(base, &cfg);
	nsspool_set_lookup(p, fake_lookup);
	fake_block = true;
	static struct res r[NSSPOOL_QUEUE_MAX + 2];
	memset(r, 0, sizeof(r));
	nsspool_uid(p, 666, uid_done, &r[0]);
	/* wait (bounded) until the worker holds uid 666 */
	struct nsspool_stats st = {0};
	for (int i = 0; i < 500 && !st.busy_workers; i++) {
		struct timeval tv = {0, 1000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		nsspool_stats(p, &st);
	}
	assert_int_equal(st.busy_workers, 1);
	for (uint32_t i = 1; i <= NSSPOOL_QUEUE_MAX; i++)
		nsspool_uid(p, 1000 + i, uid_done, &r[i]);
	nsspool_stats(p, &st);
	assert_int_equal(st.queued, NSSPOOL_QUEUE_MAX);
	struct res full = {0};
	nsspool_uid(p, 7, uid_done, &full);
	assert_int_equal(full.calls, 1);
	assert_int_equal(full.status, ENOBUFS);
	/* cancel one waiter: it never runs */
	nsspool_cancel(p, uid_done, &r[5]);
	release_fake();
	run_until(base, &r[NSSPOOL_QUEUE_MAX].calls, 1);
	run_until(base, &r[1].calls, 1);
	assert_int_equal(r[0].status, 0);
	assert_int_equal(r[5].calls, 0);
	assert_int_equal(r[NSSPOOL_QUEUE_MAX].status, 0);
	nsspool_free(p);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idcache_ttl),
		cmocka_unit_test(test_idcache_lru),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_ldapdir_new_rejects),
		cmocka_unit_test(test_user_key),
		cmocka_unit_test(test_primary_sid),
		cmocka_unit_test(test_uri_problem),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_ldapdir_refused),
		cmocka_unit_test(test_gssbind_ticket_fresh),
		cmocka_unit_test(test_nss_cache_ttl),
		cmocka_unit_test(test_nss_queue_full_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
