/*
 * test_idsources.c — cmocka unit tests of the identity table's sources
 * (idtable: source, learned, idle, replace, ignore list, logout, per-source
 * counters, state file round trip) and of RADIUS accounting (radius.c:
 * authenticators of RFC 2866 §3, attribute parsing, the response, the
 * mapping of Start / Interim-Update / Stop, drops and their counters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <nettle/md5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "identity/idtable.h"
#include "identity/radius.h"
#include "policy/internal.h"

static const uint8_t A1[16] = {198, 18, 0, 2};
static const uint8_t A2[16] = {198, 18, 0, 3};

static struct id_login login_of(const uint8_t *addr, const char *user,
				enum id_source src)
{
	return (struct id_login){AF_INET, addr, user, NULL, 0, 60, src, 0};
}

static struct id_source_stats stats_of(struct idtable *t, enum id_source s)
{
	struct id_source_stats st[IDS_COUNT];
	idtable_source_stats(t, st);
	return st[s];
}

/* Logins fill the table up to IDTABLE_LOGINS_MAX entries: past it a new
 * address is refused (LOGIN_FULL, counted rejected_full) while refreshes
 * and replacements of entries held go on, and a manual entry still goes
 * in; a logout makes room. */
static void test_logins_bounded(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
	for (uint32_t i = 0; i < IDTABLE_LOGINS_MAX; i++) {
		a[12] = (uint8_t)(i >> 24), a[13] = (uint8_t)(i >> 16);
		a[14] = (uint8_t)(i >> 8), a[15] = (uint8_t)i;
		assert_int_equal(idtable_login(t, &(struct id_login){
						      AF_INET6, a, "u", NULL, 0,
						      60, IDS_API, 128}),
				 LOGIN_NEW);
	}
	uint8_t next[16] = {0x20, 0x01, 0x0d, 0xb8, 1};
	assert_int_equal(idtable_login(t, &(struct id_login){AF_INET6, next,
							     "u", NULL, 0, 60,
							     IDS_RADIUS, 128}),
			 LOGIN_FULL);
	assert_int_equal(stats_of(t, IDS_RADIUS).rejected_full, 1);
	assert_int_equal(idtable_count(t), IDTABLE_LOGINS_MAX);
	/* the last one held: refreshed, then replaced by another user */
	assert_int_equal(idtable_login(t, &(struct id_login){AF_INET6, a, "u",
							     NULL, 0, 60,
							     IDS_API, 128}),
			 LOGIN_REFRESHED);
	assert_int_equal(idtable_login(t, &(struct id_login){AF_INET6, a, "v",
							     NULL, 0, 60,
							     IDS_API, 128}),
			 LOGIN_REPLACED);
	/* a manual entry is the administrator's: not held to the bound */
	idtable_set(t, AF_INET6, next, "w", NULL, 0, 60);
	assert_int_equal(idtable_count(t), IDTABLE_LOGINS_MAX + 1);
	/* a logout makes room */
	assert_true(idtable_logout(t, AF_INET6, a, "v", IDS_API));
	idtable_del(t, AF_INET6, next);
	uint8_t other[16] = {0x20, 0x01, 0x0d, 0xb8, 2};
	assert_int_equal(idtable_login(t, &(struct id_login){AF_INET6, other,
							     "x", NULL, 0, 60,
							     IDS_PORTAL, 128}),
			 LOGIN_NEW);
	idtable_free(t);
}

/* A login records source and times; the same user and source refreshes
 * (learned kept); another source replaces and is counted. */
static void test_login_refresh_replace(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	struct id_login l = login_of(A1, "carol", IDS_MANUAL);
	assert_int_equal(idtable_login(t, &l), LOGIN_NEW);
	struct identity id;
	assert_true(idtable_get(t, AF_INET, A1, &id));
	assert_string_equal(id.user, "carol");
	assert_int_equal(id.source, IDS_MANUAL);
	assert_true(id.learned > 0 && id.seen >= id.learned);
	assert_true(id.expires >= id.seen + 59);
	identity_clear(&id);
	assert_int_equal(idtable_login(t, &l), LOGIN_REFRESHED);
	struct id_login r = login_of(A1, "carol", IDS_RADIUS);
	assert_int_equal(idtable_login(t, &r), LOGIN_REPLACED);
	assert_true(idtable_get(t, AF_INET, A1, &id));
	assert_int_equal(id.source, IDS_RADIUS);
	identity_clear(&id);
	struct id_login d = login_of(A1, "dave", IDS_RADIUS);
	assert_int_equal(idtable_login(t, &d), LOGIN_REPLACED);
	assert_int_equal(idtable_count(t), 1);
	assert_int_equal(stats_of(t, IDS_RADIUS).logins, 2);
	assert_int_equal(stats_of(t, IDS_RADIUS).replaced, 2);
	assert_int_equal(stats_of(t, IDS_RADIUS).entries, 1);
	assert_int_equal(stats_of(t, IDS_MANUAL).entries, 0);
	assert_int_equal(stats_of(t, IDS_MANUAL).logins, 2);
	idtable_free(t);
}

/* Ignore-listed users (any case, an own realm or domain) never record nor
 * replace; the same name in another realm is another account. */
static void test_ignore_list(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	const char *ign[] = {"svc_backup", "nagios"};
	char *own_v[] = {"CORP.EXAMPLE", "CORP"};
	const struct own_realms own = {own_v, 2};
	idtable_set_ignore(t, ign, 2, &own);
	const char *ours[] = {"nagios@corp.example", "CORP\\Nagios",
			      " nagios@CORP.EXAMPLE "};
	for (size_t i = 0; i < 3; i++) {
		struct id_login o = login_of(A2, ours[i], IDS_RADIUS);
		assert_int_equal(idtable_login(t, &o), LOGIN_IGNORED);
	}
	const char *theirs[] = {"nagios@partner.example", "PARTNER\\nagios"};
	for (size_t i = 0; i < 2; i++) {
		struct id_login o = login_of(A2, theirs[i], IDS_RADIUS);
		assert_int_not_equal(idtable_login(t, &o), LOGIN_IGNORED);
	}
	/* a Stop in another spelling of the user ends the entry */
	assert_true(idtable_logout(t, AF_INET, A2, "PARTNER\\NAGIOS",
				   IDS_RADIUS));
	struct id_login l = login_of(A1, "carol", IDS_RADIUS);
	idtable_login(t, &l);
	struct id_login s = login_of(A1, "NAGIOS", IDS_API);
	assert_int_equal(idtable_login(t, &s), LOGIN_IGNORED);
	struct id_login s2 = login_of(A2, "svc_backup", IDS_RADIUS);
	assert_int_equal(idtable_login(t, &s2), LOGIN_IGNORED);
	struct identity id;
	assert_true(idtable_get(t, AF_INET, A1, &id));
	assert_string_equal(id.user, "carol");
	identity_clear(&id);
	assert_false(idtable_get(t, AF_INET, A2, &id));
	assert_int_equal(stats_of(t, IDS_API).ignored, 1);
	assert_int_equal(stats_of(t, IDS_RADIUS).ignored, 4);
	idtable_set_ignore(t, NULL, 0, NULL);
	assert_int_equal(idtable_login(t, &s2), LOGIN_NEW);
	idtable_free(t);
}

/* A logout of another user leaves the newer one; of the user, removes. */
static void test_logout(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	struct id_login l = login_of(A1, "dave", IDS_RADIUS);
	idtable_login(t, &l);
	assert_false(idtable_logout(t, AF_INET, A1, "carol", IDS_RADIUS));
	assert_int_equal(idtable_count(t), 1);
	assert_true(idtable_logout(t, AF_INET, A1, "dave", IDS_RADIUS));
	assert_false(idtable_logout(t, AF_INET, A1, "dave", IDS_RADIUS));
	assert_int_equal(idtable_count(t), 0);
	assert_int_equal(stats_of(t, IDS_RADIUS).logouts, 1);
	assert_int_equal(stats_of(t, IDS_RADIUS).entries, 0);
	idtable_free(t);
}

/* Save and load keep user, groups, source and times; expired entries and
 * broken ones are skipped; a foreign document is refused. */
static void test_state_roundtrip(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	const char *g[] = {"staff", "vpn"};
	idtable_login(t, &(struct id_login){AF_INET, A1, "carol", g, 2, 600,
					    IDS_RADIUS, 0});
	uint8_t v6[16];
	inet_pton(AF_INET6, "2001:db8::7", v6);
	idtable_login(t, &(struct id_login){AF_INET6, v6, "dave", NULL, 0, 600,
					    IDS_API, 0});
	struct identity before;
	assert_true(idtable_get(t, AF_INET, A1, &before));
	size_t len;
	char *text = idtable_save(t, &len);
	struct idtable *u = idtable_new();
	assert_int_equal(idtable_load(u, text, len, time(NULL)), 2);
	struct identity id;
	assert_true(idtable_get(u, AF_INET, A1, &id));
	assert_string_equal(id.user, "carol");
	assert_int_equal(id.ngroups, 2);
	assert_string_equal(id.groups[1], "vpn");
	assert_int_equal(id.source, IDS_RADIUS);
	assert_int_equal(id.learned, before.learned);
	assert_int_equal(id.expires, before.expires);
	identity_clear(&id);
	identity_clear(&before);
	assert_true(idtable_get(u, AF_INET6, v6, &id));
	assert_int_equal(id.source, IDS_API);
	identity_clear(&id);
	assert_int_equal(stats_of(u, IDS_RADIUS).entries, 1);
	idtable_free(u);
	/* read back after they expired: nothing */
	u = idtable_new();
	assert_int_equal(idtable_load(u, text, len, time(NULL) + 601), 0);
	assert_int_equal(idtable_count(u), 0);
	idtable_free(u);
	free(text);
	u = idtable_new();
	const char *bad =
	    "{\"version\": 1, \"entries\": ["
	    "{\"address\": \"198.18.0.9\", \"user\": \"a\\u0001b\", "
	    "\"groups\": [], \"source\": \"radius\", \"learned\": 1, "
	    "\"seen\": 1, \"expires\": 99999999999},"
	    "{\"address\": \"nowhere\", \"user\": \"x\", \"groups\": [], "
	    "\"source\": \"radius\", \"learned\": 1, \"seen\": 1, "
	    "\"expires\": 99999999999},"
	    "{\"address\": \"198.18.0.9\", \"user\": \"x\", \"groups\": [], "
	    "\"source\": \"elsewhere\", \"learned\": 1, \"seen\": 1, "
	    "\"expires\": 99999999999},"
	    "{\"address\": \"198.18.0.9\", \"user\": \"ok\", \"groups\": [], "
	    "\"source\": \"portal\", \"learned\": 1, \"seen\": 1, "
	    "\"expires\": 99999999999}]}";
	assert_int_equal(idtable_load(u, bad, strlen(bad), time(NULL)), 1);
	assert_int_equal(idtable_load(u, "[]", 2, time(NULL)), -1);
	assert_int_equal(idtable_load(u, "{\"version\": 2, \"entries\": []}",
				      30, time(NULL)), -1);
	assert_int_equal(idtable_load(u, "{", 1, time(NULL)), -1);
	idtable_free(u);
	idtable_free(t);
}

/* A prefix entry stands for the addresses without their own entry; the
 * longest prefix wins; it is saved, read back and logged out as a prefix. */
static void test_prefix(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	uint8_t p16[16], p24[16], a[16], b[16], c[16];
	unsigned l;
	assert_int_equal(idtable_parse_prefix("198.18.0.0/16", p16, &l), AF_INET);
	assert_int_equal(l, 16);
	assert_int_equal(idtable_parse_prefix("198.18.7.0/24", p24, &l), AF_INET);
	assert_int_equal(idtable_parse_prefix("198.18.7.9", a, &l), AF_INET);
	assert_int_equal(l, 32);
	assert_int_equal(idtable_parse_prefix("198.18.8.9", b, &l), AF_INET);
	assert_int_equal(idtable_parse_prefix("198.19.0.1", c, &l), AF_INET);
	assert_int_equal(idtable_parse_prefix("198.18.7.1/24", p24, &l), -1);
	assert_int_equal(idtable_parse_prefix("198.18.7.0/33", p24, &l), -1);
	assert_int_equal(idtable_parse_prefix("198.18.7.0/", p24, &l), -1);
	assert_int_equal(idtable_parse_prefix("2001:db8::/129", p24, &l), -1);
	assert_int_equal(idtable_parse_prefix("198.18.7.0/24", p24, &l), AF_INET);
	idtable_login(t, &(struct id_login){AF_INET, p16, "pool", NULL, 0, 60,
					    IDS_API, 16});
	idtable_login(t, &(struct id_login){AF_INET, p24, "vpn", NULL, 0, 60,
					    IDS_API, 24});
	struct identity id;
	assert_true(idtable_get(t, AF_INET, a, &id));
	assert_string_equal(id.user, "vpn");
	identity_clear(&id);
	assert_true(idtable_get(t, AF_INET, b, &id));
	assert_string_equal(id.user, "pool");
	identity_clear(&id);
	assert_false(idtable_get(t, AF_INET, c, &id));
	struct id_login own = login_of(a, "carol", IDS_RADIUS);
	idtable_login(t, &own);
	assert_true(idtable_get(t, AF_INET, a, &id));
	assert_string_equal(id.user, "carol");
	identity_clear(&id);
	size_t len;
	char *text = idtable_save(t, &len);
	assert_non_null(strstr(text, "\"198.18.7.0/24\""));
	struct idtable *u = idtable_new();
	assert_int_equal(idtable_load(u, text, len, time(NULL)), 3);
	free(text);
	assert_true(idtable_get(u, AF_INET, b, &id));
	assert_string_equal(id.user, "pool");
	identity_clear(&id);
	idtable_free(u);
	assert_false(idtable_logout_prefix(t, AF_INET, p24, 24, "pool", IDS_API));
	assert_true(idtable_logout_prefix(t, AF_INET, p24, 24, NULL, IDS_API));
	idtable_logout(t, AF_INET, a, NULL, IDS_RADIUS);
	assert_true(idtable_get(t, AF_INET, a, &id));
	assert_string_equal(id.user, "pool");
	identity_clear(&id);
	idtable_free(t);
}

/* ---- RADIUS ---------------------------------------------------------------- */

static const uint8_t SECRET[] = "testing123";
#define SLEN (sizeof(SECRET) - 1)

/* Builds an Accounting-Request in BUF from ATTRS (ALEN bytes) with ID,
 * signed with SECRET; returns its length. */
/* The wall clock radius_handle is given (Unix seconds). */
#define NOW 1700000000

static size_t build(uint8_t *buf, uint8_t id, const uint8_t *attrs,
		    size_t alen, const uint8_t *secret, size_t slen)
{
	size_t len = RADIUS_HDR + alen;
	buf[0] = RADIUS_ACCT_REQUEST;
	buf[1] = id;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	memset(buf + 4, 0, 16);
	memcpy(buf + RADIUS_HDR, attrs, alen);
	struct md5_ctx c;
	md5_init(&c);
	md5_update(&c, len, buf);
	md5_update(&c, slen, secret);
	md5_digest(&c, 16, buf + 4);
	return len;
}

/* Acct-Status-Type S, User-Name USER, Framed-IP-Address A into OUT. */
static size_t attrs_of(uint8_t *out, uint32_t s, const char *user,
		       const uint8_t *a)
{
	size_t n = 0, ul = strlen(user);
	out[n++] = 40, out[n++] = 6;
	out[n++] = 0, out[n++] = 0, out[n++] = 0, out[n++] = (uint8_t)s;
	out[n++] = 1, out[n++] = (uint8_t)(ul + 2);
	memcpy(out + n, user, ul);
	n += ul;
	out[n++] = 8, out[n++] = 6;
	memcpy(out + n, a, 4);
	return n + 4;
}

static void test_radius_parse(void **state)
{
	(void)state;
	uint8_t at[300], pkt[400];
	size_t al = attrs_of(at, RADIUS_START, "carol", A1);
	/* an IPv6 address and a /64 prefix */
	at[al++] = 168, at[al++] = 18;
	inet_pton(AF_INET6, "2001:db8::9", at + al);
	al += 16;
	at[al++] = 97, at[al++] = 12, at[al++] = 0, at[al++] = 64;
	inet_pton(AF_INET6, "2001:db8::", at + al); /* first 8 bytes used */
	al += 8;
	at[al++] = 44, at[al++] = 5, at[al++] = 'x', at[al++] = 'y',
	at[al++] = 'z'; /* Acct-Session-Id: not ours */
	size_t len = build(pkt, 7, at, al, SECRET, SLEN);
	struct radius_acct a;
	assert_int_equal(radius_parse_acct(pkt, len, SECRET, SLEN, &a),
			 RADIUS_OK);
	assert_int_equal(a.id, 7);
	assert_int_equal(a.status, RADIUS_START);
	assert_string_equal(a.user, "carol");
	assert_true(a.has_v4);
	assert_memory_equal(a.v4, A1, 4);
	uint8_t v6[16];
	assert_int_equal(a.n6, 2);
	inet_pton(AF_INET6, "2001:db8::9", v6);
	assert_memory_equal(a.v6[0].addr, v6, 16);
	assert_int_equal(a.v6[0].plen, 128);
	inet_pton(AF_INET6, "2001:db8::", v6);
	assert_memory_equal(a.v6[1].addr, v6, 16);
	assert_int_equal(a.v6[1].plen, 64);
	/* padding after Length is ignored */
	pkt[len] = 0xee;
	assert_int_equal(radius_parse_acct(pkt, len + 1, SECRET, SLEN, &a),
			 RADIUS_OK);
	/* the wrong secret */
	assert_int_equal(radius_parse_acct(pkt, len, (const uint8_t *)"x", 1,
					   &a),
			 RADIUS_BAD_AUTH);
	/* one changed byte */
	pkt[len - 1] ^= 1;
	assert_int_equal(radius_parse_acct(pkt, len, SECRET, SLEN, &a),
			 RADIUS_BAD_AUTH);
	/* too short, Length beyond the datagram, another code */
	assert_int_equal(radius_parse_acct(pkt, 19, SECRET, SLEN, &a),
			 RADIUS_MALFORMED);
	len = build(pkt, 7, at, al, SECRET, SLEN);
	assert_int_equal(radius_parse_acct(pkt, len - 1, SECRET, SLEN, &a),
			 RADIUS_MALFORMED);
	pkt[0] = 1;
	assert_int_equal(radius_parse_acct(pkt, len, SECRET, SLEN, &a),
			 RADIUS_MALFORMED);
}

/* Signed but malformed inside: each must be RADIUS_MALFORMED. */
static void test_radius_malformed(void **state)
{
	(void)state;
	static const struct {
		uint8_t b[24];
		size_t n;
	} bad[] = {
	    {{1, 1}, 2},		       /* empty User-Name */
	    {{1, 4, 'a', 0}, 4},	       /* NUL in User-Name */
	    {{1, 4, 'a', 7}, 4},	       /* control character */
	    {{1, 3, 0xff}, 3},		       /* not UTF-8 */
	    {{8, 5, 1, 2, 3}, 5},	       /* short Framed-IP-Address */
	    {{40, 6, 0, 0, 0, 1, 40, 6, 0, 0, 0, 2}, 12}, /* status twice */
	    {{1, 0}, 2},		       /* attribute length 0 */
	    {{1, 9, 'a'}, 3},		       /* past the end */
	    {{44}, 1},			       /* half a header */
	    {{97, 4, 0, 129}, 4},	       /* prefix length > 128 */
	    {{97, 4, 0, 64}, 4},	       /* prefix shorter than its length */
	    {{168, 6, 1, 2, 3, 4}, 6},	       /* short IPv6 address */
	    {{97, 3, 0}, 3},		       /* prefix attribute too short */
	    {{97, 2}, 2},		       /* prefix attribute empty */
	    {{123, 4, 0, 200}, 4},	       /* delegated: length > 128 */
	    {{123, 7, 0, 48, 0x20, 1, 0xd}, 7}, /* delegated: 3 of 6 bytes */
	    {{97, 4, 0, 0}, 4},		       /* ::/0: not one subscriber */
	    {{123, 8, 0, 31, 0x20, 1, 0xd, 0xb8}, 8}, /* wider than /32 */
	};
	uint8_t pkt[64];
	struct radius_acct a;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = build(pkt, 1, bad[i].b, bad[i].n, SECRET, SLEN);
		assert_int_equal(radius_parse_acct(pkt, len, SECRET, SLEN, &a),
				 RADIUS_MALFORMED);
	}
}

/* The response authenticator of RFC 2866 §4 (checked against the MD5 of
 * the bytes it stands for). */
static void test_radius_response(void **state)
{
	(void)state;
	uint8_t at[64], pkt[128], resp[RADIUS_HDR];
	size_t len = build(pkt, 42, at, attrs_of(at, 1, "c", A1), SECRET, SLEN);
	radius_acct_response(pkt, SECRET, SLEN, resp);
	assert_int_equal(resp[0], RADIUS_ACCT_RESPONSE);
	assert_int_equal(resp[1], 42);
	assert_int_equal(resp[2] << 8 | resp[3], 20);
	uint8_t m[20 + SLEN], want[16];
	memcpy(m, resp, 4);
	memcpy(m + 4, pkt + 4, 16);
	memcpy(m + 20, SECRET, SLEN);
	struct md5_ctx c;
	md5_init(&c);
	md5_update(&c, sizeof(m), m);
	md5_digest(&c, 16, want);
	assert_memory_equal(resp + 4, want, 16);
	(void)len;
}

/* CLIENTS as 127.0.0.0/8 and a listener's context on T with it and
 * the test secret (SEEN: its replay memory, or NULL). */
static struct radius_ctx lo_ctx(struct idtable *t, struct addrset *clients,
				struct radius_seen *seen)
{
	char *err = NULL;
	memset(clients, 0, sizeof(*clients));
	assert_int_equal(addrset_parse_elem(clients, "127.0.0.0/8", &err), 0);
	addrset_normalize(clients);
	struct radius_ctx ctx = {.ids = t, .clients = clients, .ttl_s = 300,
				 .seen = seen};
	memcpy(ctx.secret, SECRET, SLEN);
	ctx.slen = SLEN;
	return ctx;
}

/* Start logs in, a retransmit changes nothing, Interim refreshes, Stop
 * logs out; strangers, bad secrets and malformed packets are dropped and
 * counted. */
static void test_radius_handle(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	struct addrset clients;
	struct radius_ctx ctx = lo_ctx(t, &clients, NULL);
	const uint8_t lo[4] = {127, 0, 0, 1}, far[4] = {198, 18, 9, 9};
	uint8_t mapped[16] = {0};
	mapped[10] = mapped[11] = 0xff;
	memcpy(mapped + 12, lo, 4);
	uint8_t at[64], pkt[128], resp[RADIUS_HDR];
	size_t len = build(pkt, 1, at, attrs_of(at, RADIUS_START, "carol", A1),
			   SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED);
	assert_int_equal(radius_handle(&ctx, AF_INET6, mapped, pkt, len, NOW, resp),
			 RADIUS_ANSWERED); /* the retransmit */
	struct identity id;
	assert_true(idtable_get(t, AF_INET, A1, &id));
	assert_string_equal(id.user, "carol");
	assert_int_equal(id.source, IDS_RADIUS);
	identity_clear(&id);
	assert_int_equal(idtable_count(t), 1);
	len = build(pkt, 2, at, attrs_of(at, RADIUS_INTERIM, "carol", A1),
		    SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED);
	assert_int_equal(radius_handle(&ctx, AF_INET, far, pkt, len, NOW, resp),
			 RADIUS_DROPPED_CLIENT);
	size_t bl = build(pkt, 3, at, attrs_of(at, RADIUS_STOP, "carol", A1),
			  (const uint8_t *)"wrong", 5);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, bl, NOW, resp),
			 RADIUS_DROPPED_AUTH);
	assert_int_equal(idtable_count(t), 1);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, 7, NOW, resp),
			 RADIUS_DROPPED_MALFORMED);
	len = build(pkt, 4, at, attrs_of(at, RADIUS_STOP, "carol", A1), SECRET,
		    SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED); /* a repeated Stop: harmless */
	assert_int_equal(idtable_count(t), 0);
	struct id_source_stats s = stats_of(t, IDS_RADIUS);
	assert_int_equal(s.logins, 3);
	assert_int_equal(s.logouts, 1);
	assert_int_equal(s.rejected_client, 1);
	assert_int_equal(s.rejected_secret, 1);
	assert_int_equal(s.rejected_malformed, 1);
	assert_int_equal(s.entries, 0);
	addrset_free(&clients);
	idtable_free(t);
}

/* An IPv6 prefix attribute: Reserved, LEN, the first NBYTES of P. */
static size_t prefix_attr(uint8_t *out, uint8_t type, const char *p,
			  unsigned len, size_t nbytes)
{
	uint8_t a[16];
	assert_int_equal(inet_pton(AF_INET6, p, a), 1);
	out[0] = type, out[1] = (uint8_t)(4 + nbytes), out[2] = 0;
	out[3] = (uint8_t)len;
	memcpy(out + 4, a, nbytes);
	return 4 + nbytes;
}

/* Replays (RFC 5080 §2.2.2): with the listener's memory of requests
 * taken, a byte-identical request is answered and not applied again, so
 * an old Start replayed after a Stop and another user's Start changes
 * nothing; one sent (Event-Timestamp + Acct-Delay-Time) over 15 min ago
 * or 5 min ahead is answered and not applied; each counted `replayed`. */
static void test_radius_replay(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	struct addrset clients;
	struct radius_ctx ctx = lo_ctx(t, &clients, radius_seen_new());
	const uint8_t lo[4] = {127, 0, 0, 1};
	uint8_t at[96], start[128], pkt[128], resp[RADIUS_HDR];
	size_t slen = build(start, 1, at,
			    attrs_of(at, RADIUS_START, "alice", A1), SECRET,
			    SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, start, slen, NOW, resp),
			 RADIUS_ANSWERED);
	size_t len = build(pkt, 2, at, attrs_of(at, RADIUS_STOP, "alice", A1),
			   SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED);
	len = build(pkt, 3, at, attrs_of(at, RADIUS_START, "bob", A1), SECRET,
		    SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED);
	/* alice's Start again, hours later: answered, bob stays */
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, start, slen,
				       NOW + 8 * 3600, resp),
			 RADIUS_ANSWERED);
	struct identity id;
	assert_true(idtable_get(t, AF_INET, A1, &id));
	assert_string_equal(id.user, "bob");
	identity_clear(&id);
	assert_int_equal(stats_of(t, IDS_RADIUS).replayed, 1);
	/* sent (Event-Timestamp + Acct-Delay-Time) too long ago, too far
	 * ahead: answered (the NAS moves on), not applied; fresh, and an old
	 * event the NAS re-sends from its buffer with the delay raised:
	 * applied */
	static const struct {
		int64_t ts;
		uint32_t delay;
		const char *user, *after;
	} v[] = {
	    {NOW - 901, 0, "carol", "bob"},
	    {NOW + 301, 0, "carol", "bob"},
	    {NOW - 7200, 6000, "carol", "bob"},
	    {NOW - 899, 0, "carol", "carol"},
	    {NOW - 7200, 7190, "dave", "dave"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = attrs_of(at, RADIUS_START, v[i].user, A1);
		at[n++] = 55, at[n++] = 6;
		for (int b = 3; b >= 0; b--)
			at[n++] = (uint8_t)((uint64_t)v[i].ts >> (8 * b));
		at[n++] = 41, at[n++] = 6;
		for (int b = 3; b >= 0; b--)
			at[n++] = (uint8_t)(v[i].delay >> (8 * b));
		len = build(pkt, (uint8_t)(10 + i), at, n, SECRET, SLEN);
		assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW,
					       resp),
				 RADIUS_ANSWERED);
		assert_true(idtable_get(t, AF_INET, A1, &id));
		if (strcmp(id.user, v[i].after))
			fail_msg("case %zu: %s, want %s", i, id.user,
				 v[i].after);
		identity_clear(&id);
	}
	assert_int_equal(stats_of(t, IDS_RADIUS).replayed, 4);
	/* an Event-Timestamp twice, or not 4 bytes: malformed */
	size_t n = attrs_of(at, RADIUS_START, "carol", A1);
	at[n++] = 55, at[n++] = 5, at[n++] = 1, at[n++] = 2, at[n++] = 3;
	len = build(pkt, 20, at, n, SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_DROPPED_MALFORMED);
	/* a restart: the memory exported (oldest first) and imported into a
	 * new one keeps alice's Start a replay; a fresh one is taken */
	uint8_t *saved = malloc(RADIUS_SEEN_SAVE_MAX);
	size_t ns = radius_seen_export(ctx.seen, saved);
	/* 3 at first, 2 fresh of the 5 and the one ahead (remembered, so
	 * that it is refused once now reaches it); one NAS key (none named) */
	assert_int_equal(ns, RADIUS_SEEN_SAVE_HEAD + RADIUS_SEEN_SAVE_NAS +
				 6 * RADIUS_SEEN_SAVE_REC);
	assert_memory_equal(saved + RADIUS_SEEN_SAVE_HEAD + RADIUS_SEEN_SAVE_NAS,
			    start + 4, 16);
	assert_int_equal(radius_seen_taken(ctx.seen), 6);
	radius_seen_free(ctx.seen);
	ctx.seen = radius_seen_new();
	assert_int_equal(radius_seen_import(ctx.seen, saved, ns), 0);
	assert_int_equal(radius_seen_taken(ctx.seen), 6);
	uint8_t again[RADIUS_SEEN_SAVE_HEAD + RADIUS_SEEN_SAVE_NAS +
		      RADIUS_SEEN_SAVE_REC * 8];
	assert_int_equal(radius_seen_export(ctx.seen, again), ns);
	assert_memory_equal(again, saved, ns);
	/* bytes of another shape are refused, the memory left as it was */
	assert_int_equal(radius_seen_import(ctx.seen, saved, ns - 1), -1);
	assert_int_equal(radius_seen_taken(ctx.seen), 6);
	free(saved);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, start, slen,
				       NOW + 9 * 3600, resp),
			 RADIUS_ANSWERED);
	assert_true(idtable_get(t, AF_INET, A1, &id));
	assert_string_equal(id.user, "dave");
	identity_clear(&id);
	assert_int_equal(stats_of(t, IDS_RADIUS).replayed, 5);
	len = build(pkt, 40, at, attrs_of(at, RADIUS_START, "erin", A1),
		    SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED);
	assert_true(idtable_get(t, AF_INET, A1, &id));
	assert_string_equal(id.user, "erin");
	identity_clear(&id);
	radius_seen_free(ctx.seen);
	addrset_free(&clients);
	idtable_free(t);
}

/* IPv6 prefixes at their edges: host bits cleared, the full 16 bytes or
 * only those the length needs, /128 as an address, oversized values and
 * too many attributes malformed. */
static void test_radius_prefix6_parse(void **state)
{
	(void)state;
	uint8_t at[400], pkt[512], want[16];
	struct radius_acct a;
	size_t al = attrs_of(at, RADIUS_START, "erin", A1);
	/* host bits past /60 in a full 16-byte prefix: cleared */
	al += prefix_attr(at + al, 97, "2001:db8:1:ff:1::1", 60, 16);
	/* a /56 delegated prefix in its 7 bytes */
	al += prefix_attr(at + al, 123, "2001:db8:7:ab00::", 56, 7);
	/* a /128 prefix is an address */
	al += prefix_attr(at + al, 97, "2001:db8::5", 128, 16);
	size_t len = build(pkt, 1, at, al, SECRET, SLEN);
	assert_int_equal(radius_parse_acct(pkt, len, SECRET, SLEN, &a),
			 RADIUS_OK);
	assert_int_equal(a.n6, 3);
	inet_pton(AF_INET6, "2001:db8:1:f0::", want);
	assert_memory_equal(a.v6[0].addr, want, 16);
	assert_int_equal(a.v6[0].plen, 60);
	inet_pton(AF_INET6, "2001:db8:7:ab00::", want);
	assert_memory_equal(a.v6[1].addr, want, 16);
	assert_int_equal(a.v6[1].plen, 56);
	inet_pton(AF_INET6, "2001:db8::5", want);
	assert_memory_equal(a.v6[2].addr, want, 16);
	assert_int_equal(a.v6[2].plen, 128);
	/* a prefix value of 17 bytes (over 16) */
	al = prefix_attr(at, 97, "2001:db8::", 64, 16);
	at[1] = 21, at[al++] = 0;
	len = build(pkt, 2, at, al, SECRET, SLEN);
	assert_int_equal(radius_parse_acct(pkt, len, SECRET, SLEN, &a),
			 RADIUS_MALFORMED);
	/* the smallest and widest prefixes taken */
	al = prefix_attr(at, 123, "2001:db8::", RADIUS_V6_PLEN_MIN, 4);
	al += prefix_attr(at + al, 97, "2001:db8::", 64, 8);
	len = build(pkt, 3, at, al, SECRET, SLEN);
	assert_int_equal(radius_parse_acct(pkt, len, SECRET, SLEN, &a),
			 RADIUS_OK);
	assert_int_equal(a.n6, 2);
	assert_int_equal(a.v6[0].plen, RADIUS_V6_PLEN_MIN);
	/* RADIUS_V6_MAX IPv6 attributes read; one more is malformed */
	al = 0;
	for (int i = 0; i < RADIUS_V6_MAX; i++)
		al += prefix_attr(at + al, i % 2 ? 97 : 168, "2001:db8::1",
				  i % 2 ? 64 : 128, i % 2 ? 8 : 16);
	for (size_t i = 0; i < al;) /* Framed-IPv6-Address: no Reserved+len */
		if (at[i] == 168) {
			memmove(at + i + 2, at + i + 4, al - i - 4);
			at[i + 1] = 18;
			al -= 2;
			i += 18;
		} else {
			i += at[i + 1];
		}
	len = build(pkt, 4, at, al, SECRET, SLEN);
	assert_int_equal(radius_parse_acct(pkt, len, SECRET, SLEN, &a),
			 RADIUS_OK);
	assert_int_equal(a.n6, RADIUS_V6_MAX);
	al += prefix_attr(at + al, 123, "2001:db8:9::", 48, 6);
	len = build(pkt, 5, at, al, SECRET, SLEN);
	assert_int_equal(radius_parse_acct(pkt, len, SECRET, SLEN, &a),
			 RADIUS_MALFORMED);
}

/* A Start with Framed-IPv6-Prefix and Delegated-IPv6-Prefix makes the
 * user known at every address inside them (an address's own entry wins);
 * a Stop of another user keeps them, the user's Stop ends them; a
 * malformed prefix is dropped and counted, nothing recorded. */
static void test_radius_prefix6_handle(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	struct addrset clients = {0};
	char *err = NULL;
	assert_int_equal(addrset_parse_elem(&clients, "127.0.0.1", &err), 0);
	addrset_normalize(&clients);
	struct radius_ctx ctx = {.ids = t, .clients = &clients, .ttl_s = 300};
	memcpy(ctx.secret, SECRET, SLEN);
	ctx.slen = SLEN;
	const uint8_t lo[4] = {127, 0, 0, 1};
	uint8_t at[200], pkt[256], resp[RADIUS_HDR], in64[16], in56[16],
	    out[16], own[16];
	inet_pton(AF_INET6, "2001:db8:1::2", in64);
	inet_pton(AF_INET6, "2001:db8:7:abff:1::9", in56);
	inet_pton(AF_INET6, "2001:db8:1:1::2", out);
	inet_pton(AF_INET6, "2001:db8:1::77", own);
	assert_int_equal(idtable_login(t, &(struct id_login){AF_INET6, own,
							     "frank", NULL, 0,
							     60, IDS_API, 0}),
			 LOGIN_NEW);
	size_t al = attrs_of(at, RADIUS_START, "erin", A2);
	al += prefix_attr(at + al, 97, "2001:db8:1::", 64, 8);
	al += prefix_attr(at + al, 123, "2001:db8:7:ab00::", 56, 7);
	size_t len = build(pkt, 1, at, al, SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED);
	struct identity id;
	assert_true(idtable_get(t, AF_INET6, in64, &id));
	assert_string_equal(id.user, "erin");
	assert_int_equal(id.source, IDS_RADIUS);
	identity_clear(&id);
	assert_true(idtable_get(t, AF_INET6, in56, &id));
	assert_string_equal(id.user, "erin");
	identity_clear(&id);
	assert_false(idtable_get(t, AF_INET6, out, &id));
	assert_true(idtable_get(t, AF_INET6, own, &id));
	assert_string_equal(id.user, "frank"); /* its own entry wins */
	identity_clear(&id);
	assert_int_equal(idtable_count(t), 4);
	/* a late Stop of another user at the same prefixes changes nothing */
	al = attrs_of(at, RADIUS_STOP, "dave", A2);
	al += prefix_attr(at + al, 97, "2001:db8:1::", 64, 8);
	len = build(pkt, 2, at, al, SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED);
	assert_int_equal(idtable_count(t), 4);
	/* erin's Stop names the /64 with host bits: it is still the /64 */
	al = attrs_of(at, RADIUS_STOP, "erin", A2);
	al += prefix_attr(at + al, 97, "2001:db8:1::2", 64, 16);
	al += prefix_attr(at + al, 123, "2001:db8:7:ab00::", 56, 7);
	len = build(pkt, 3, at, al, SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_ANSWERED);
	assert_false(idtable_get(t, AF_INET6, in64, &id));
	assert_false(idtable_get(t, AF_INET6, in56, &id));
	assert_int_equal(idtable_count(t), 1);
	/* a prefix length over 128: dropped, counted, nothing recorded */
	al = attrs_of(at, RADIUS_START, "erin", A2);
	al += prefix_attr(at + al, 97, "2001:db8:1::", 64, 8);
	at[al - 8 - 1] = 129;
	len = build(pkt, 4, at, al, SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp),
			 RADIUS_DROPPED_MALFORMED);
	assert_int_equal(idtable_count(t), 1);
	struct id_source_stats s = stats_of(t, IDS_RADIUS);
	assert_int_equal(s.logins, 3);
	assert_int_equal(s.logouts, 3);
	assert_int_equal(s.rejected_malformed, 1);
	assert_int_equal(s.entries, 0);
	addrset_free(&clients);
	idtable_free(t);
}

/* AUTH number I: 16 distinct bytes. */
static void auth_of(uint8_t auth[16], uint32_t i)
{
	memset(auth, 0xa5, 16);
	memcpy(auth, &i, sizeof(i));
}

/* The replay memory full (RFC 5080 §2.2.2): the oldest is forgotten and
 * its sending time becomes the floor; a request sent no later than the
 * floor is refused although the memory no longer holds it (the attack:
 * a captured Start replayed inside its 15-minute window after RADIUS_SEEN
 * other requests), a later one is taken; the floor moves with what is
 * forgotten, and survives an export and import. */
static void test_radius_seen_floor(void **state)
{
	(void)state;
	struct radius_seen *s = radius_seen_new();
	uint8_t a[16], start[16];
	auth_of(start, 0xffffffffu);
	assert_int_equal(radius_seen_floor(s), INT64_MIN);
	assert_int_equal(radius_seen_take(s, start, true, NOW), RADIUS_SEEN_NEW);
	assert_int_equal(radius_seen_take(s, start, true, NOW),
			 RADIUS_SEEN_AGAIN);
	/* RADIUS_SEEN others, each sent a second later: the Start goes */
	for (uint32_t i = 0; i < RADIUS_SEEN; i++) {
		auth_of(a, i);
		assert_int_equal(radius_seen_take(s, a, true, NOW + 1 + i / 64),
				 RADIUS_SEEN_NEW);
	}
	assert_int_equal(radius_seen_floor(s), NOW);
	assert_int_equal(radius_seen_take(s, start, true, NOW),
			 RADIUS_SEEN_FLOOR);
	assert_int_equal(radius_seen_refused_floor(s), 1);
	/* one newer is taken; the next forgotten (auth 0, sent NOW + 1)
	 * raises the floor, and one sent then is refused */
	auth_of(a, 1000000);
	assert_int_equal(radius_seen_take(s, a, true, NOW + 1),
			 RADIUS_SEEN_NEW);
	assert_int_equal(radius_seen_floor(s), NOW + 1);
	auth_of(a, 1000001);
	assert_int_equal(radius_seen_take(s, a, true, NOW + 1),
			 RADIUS_SEEN_FLOOR);
	assert_int_equal(radius_seen_refused_floor(s), 2);
	/* still remembered: a replay, whatever the floor */
	auth_of(a, RADIUS_SEEN - 1);
	assert_int_equal(radius_seen_take(s, a, true, NOW + 1 +
					  (RADIUS_SEEN - 1) / 64),
			 RADIUS_SEEN_AGAIN);
	/* a restart keeps the floor */
	uint8_t *saved = malloc(RADIUS_SEEN_SAVE_MAX);
	size_t n = radius_seen_export(s, saved);
	assert_int_equal(n, RADIUS_SEEN_SAVE_HEAD + RADIUS_SEEN_SAVE_NAS +
				(size_t)RADIUS_SEEN * RADIUS_SEEN_SAVE_REC);
	struct radius_seen *r = radius_seen_new();
	assert_int_equal(radius_seen_import(r, saved, n), 0);
	assert_int_equal(radius_seen_floor(r), NOW + 1);
	assert_int_equal(radius_seen_take(r, start, true, NOW),
			 RADIUS_SEEN_FLOOR);
	/* a memory that could not be read back: held at a time */
	struct radius_seen *e = radius_seen_new();
	radius_seen_hold(e, NOW);
	assert_int_equal(radius_seen_take(e, start, true, NOW),
			 RADIUS_SEEN_FLOOR);
	assert_int_equal(radius_seen_take(e, start, true, NOW + 1),
			 RADIUS_SEEN_NEW);
	radius_seen_free(e);
	radius_seen_free(r);
	free(saved);
	radius_seen_free(s);
}

/* Requests without Event-Timestamp: taken while the memory has forgotten
 * none of them; once one was forgotten, every one is refused (no age to
 * tell a replay by), timed ones still taken. */
static void test_radius_seen_untimed(void **state)
{
	(void)state;
	struct radius_seen *s = radius_seen_new();
	uint8_t a[16], u[16];
	auth_of(u, 0xfffffff0u);
	assert_int_equal(radius_seen_take(s, u, false, 0), RADIUS_SEEN_NEW);
	for (uint32_t i = 0; i < RADIUS_SEEN - 2; i++) {
		auth_of(a, i);
		assert_int_equal(radius_seen_take(s, a, true, NOW),
				 RADIUS_SEEN_NEW);
	}
	auth_of(a, 0xfffffff1u);
	assert_int_equal(radius_seen_take(s, a, false, 0), RADIUS_SEEN_NEW);
	assert_int_equal(radius_seen_take(s, u, false, 0), RADIUS_SEEN_AGAIN);
	/* one more: u (untimed) is forgotten */
	auth_of(a, 0xfffffff2u);
	assert_int_equal(radius_seen_take(s, a, true, NOW + 1), RADIUS_SEEN_NEW);
	assert_int_equal(radius_seen_take(s, u, false, 0),
			 RADIUS_SEEN_UNTIMED);
	auth_of(a, 0xfffffff3u);
	assert_int_equal(radius_seen_take(s, a, false, 0),
			 RADIUS_SEEN_UNTIMED);
	assert_int_equal(radius_seen_refused_untimed(s), 2);
	assert_int_equal(radius_seen_floor(s), INT64_MIN); /* no timed one gone */
	assert_int_equal(radius_seen_take(s, a, true, NOW + 2), RADIUS_SEEN_NEW);
	radius_seen_free(s);
}

/* Through radius_handle: alice's captured Start, replayed after the Stop
 * and RADIUS_SEEN other authentic requests inside its 15-minute window,
 * is answered and not applied (counted `replayed`); the tree before held
 * only the count. */
static void test_radius_replay_after_many(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	struct addrset clients;
	struct radius_ctx ctx = lo_ctx(t, &clients, radius_seen_new());
	const uint8_t lo[4] = {127, 0, 0, 1};
	uint8_t at[96], start[128], pkt[128], resp[RADIUS_HDR];
	size_t n = attrs_of(at, RADIUS_START, "alice", A1);
	uint32_t ts = htonl((uint32_t)NOW);
	at[n++] = 55, at[n++] = 6;
	memcpy(at + n, &ts, 4);
	n += 4;
	size_t slen = build(start, 1, at, n, SECRET, SLEN);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, start, slen, NOW,
				       resp), RADIUS_ANSWERED);
	size_t len = build(pkt, 2, at, attrs_of(at, RADIUS_STOP, "alice", A1),
			   SECRET, SLEN);
	radius_handle(&ctx, AF_INET, lo, pkt, len, NOW, resp);
	struct identity id;
	assert_false(idtable_get(t, AF_INET, A1, &id));
	/* the others: Stops of nobody, one a second later each 64 */
	for (uint32_t i = 0; i < RADIUS_SEEN + 16; i++) {
		n = attrs_of(at, RADIUS_STOP, "filler", A1);
		ts = htonl((uint32_t)(NOW + 1 + i / 64));
		at[n++] = 55, at[n++] = 6;
		memcpy(at + n, &ts, 4);
		n += 4;
		at[n++] = 41, at[n++] = 6; /* Acct-Delay-Time: distinct bytes */
		uint32_t d = htonl(i % 64);
		memcpy(at + n, &d, 4);
		n += 4;
		len = build(pkt, (uint8_t)i, at, n, SECRET, SLEN);
		radius_handle(&ctx, AF_INET, lo, pkt, len, NOW + 1 + i / 64,
			      resp);
	}
	uint64_t before = stats_of(t, IDS_RADIUS).replayed;
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, start, slen,
				       NOW + 600, resp), RADIUS_ANSWERED);
	assert_false(idtable_get(t, AF_INET, A1, &id));
	assert_int_equal(stats_of(t, IDS_RADIUS).replayed, before + 1);
	radius_seen_free(ctx.seen);
	addrset_free(&clients);
	idtable_free(t);
}

/* A request of NAS-Identifier NAS: status ST for USER at A, sent at TS
 * with Acct-Delay-Time DELAY (distinct bytes), signed, into PKT. */
static size_t nas_req(uint8_t *pkt, const char *nas, uint32_t st,
		      const char *user, const uint8_t *a, int64_t ts,
		      uint32_t delay)
{
	uint8_t at[128];
	size_t n = attrs_of(at, st, user, a), nl = strlen(nas);
	at[n++] = 32, at[n++] = (uint8_t)(nl + 2);
	memcpy(at + n, nas, nl);
	n += nl;
	uint32_t v = htonl((uint32_t)ts);
	at[n++] = 55, at[n++] = 6;
	memcpy(at + n, &v, 4);
	n += 4;
	v = htonl(delay);
	at[n++] = 41, at[n++] = 6;
	memcpy(at + n, &v, 4);
	n += 4;
	return build(pkt, (uint8_t)delay, at, n, SECRET, SLEN);
}

/* attack76 F2: one authentic request stamped 290 s ahead (NAS "fast"),
 * forgotten after RADIUS_SEEN others, raised the floor of every NAS:
 * alice's correctly-timed Start from NAS "good" was refused. Floors are
 * per NAS key now: alice's is applied; the forward-stamped request stays
 * refused when replayed, also from another client's address (the key is
 * what the authenticator covers, not the source); "fast" alone is held
 * to its floor. A request stamped beyond the allowed skew is refused and
 * remembered: the same bytes, once now reaches their window, are still
 * refused (before, not remembered, they were applied then); one stamped
 * over RADIUS_REMEMBER_AHEAD_S ahead is refused and not remembered. */
static void test_radius_floor_per_nas(void **state)
{
	(void)state;
	struct idtable *t = idtable_new();
	struct addrset clients;
	struct radius_ctx ctx = lo_ctx(t, &clients, radius_seen_new());
	const uint8_t lo[4] = {127, 0, 0, 1}, other[4] = {127, 0, 0, 9};
	uint8_t fast[160], pkt[160], resp[RADIUS_HDR];
	size_t flen = nas_req(fast, "fast", RADIUS_START, "bob", A2, NOW + 290,
			      0);
	assert_int_equal(radius_handle(&ctx, AF_INET, lo, fast, flen, NOW, resp),
			 RADIUS_ANSWERED);
	struct identity id;
	assert_true(idtable_get(t, AF_INET, A2, &id)); /* inside the skew */
	identity_clear(&id);
	/* the fleet, 256 a second: the forward-stamped one is forgotten */
	for (uint32_t i = 0; i < RADIUS_SEEN + 16; i++) {
		int64_t now = NOW + i / 256;
		char user[16];
		snprintf(user, sizeof(user), "f%u", i); /* distinct bytes */
		size_t len = nas_req(pkt, "good", RADIUS_STOP, user, A1, now, 0);
		radius_handle(&ctx, AF_INET, lo, pkt, len, now, resp);
	}
	int64_t now = NOW + 130;
	assert_int_equal(radius_seen_floor_of(ctx.seen, 0), INT64_MIN);
	uint64_t replayed = stats_of(t, IDS_RADIUS).replayed;
	size_t len = nas_req(pkt, "good", RADIUS_START, "alice", A1, now, 0);
	radius_handle(&ctx, AF_INET, lo, pkt, len, now, resp);
	assert_true(idtable_get(t, AF_INET, A1, &id));
	assert_string_equal(id.user, "alice");
	identity_clear(&id);
	assert_int_equal(stats_of(t, IDS_RADIUS).replayed, replayed);
	/* bob's Stop (from "fast") is refused by its own floor; the forward
	 * request replayed, from either address, too */
	len = nas_req(pkt, "fast", RADIUS_STOP, "bob", A2, now, 1);
	radius_handle(&ctx, AF_INET, lo, pkt, len, now, resp);
	radius_handle(&ctx, AF_INET, other, fast, flen, now, resp);
	radius_handle(&ctx, AF_INET, lo, fast, flen, now, resp);
	assert_int_equal(stats_of(t, IDS_RADIUS).replayed, replayed + 3);
	/* too far ahead: refused now, and still when now reaches it */
	len = nas_req(pkt, "good", RADIUS_START, "mallory", A1, now + 400, 2);
	radius_handle(&ctx, AF_INET, lo, pkt, len, now, resp);
	radius_handle(&ctx, AF_INET, other, pkt, len, now + 200, resp);
	assert_true(idtable_get(t, AF_INET, A1, &id));
	assert_string_equal(id.user, "alice");
	identity_clear(&id);
	assert_int_equal(stats_of(t, IDS_RADIUS).replayed, replayed + 5);
	/* over RADIUS_REMEMBER_AHEAD_S ahead: refused, not remembered (its
	 * floor would hold back "good" until then) */
	uint64_t taken = radius_seen_taken(ctx.seen);
	len = nas_req(pkt, "good", RADIUS_START, "mallory", A1,
		      now + RADIUS_REMEMBER_AHEAD_S + 1, 3);
	radius_handle(&ctx, AF_INET, lo, pkt, len, now, resp);
	assert_int_equal(radius_seen_taken(ctx.seen), taken);
	assert_int_equal(stats_of(t, IDS_RADIUS).replayed, replayed + 6);
	radius_seen_free(ctx.seen);
	addrset_free(&clients);
	idtable_free(t);
}

/* Bounded keys: with every NAS slot counting a remembered request, a new
 * key's request is remembered without a slot; when it is forgotten, the
 * lost floor (every key without a slot) and the slot its key got
 * meanwhile are raised, so its replay is refused. */
static void test_radius_seen_nas_slots(void **state)
{
	(void)state;
	struct radius_seen *s = radius_seen_new();
	uint8_t a[16], x1[16], x2[16];
	const uint64_t X = 0x5eed5eedu;
	uint32_t i = 0;
	for (; i < RADIUS_SEEN_NAS; i++) {
		auth_of(a, i);
		assert_int_equal(radius_seen_take_nas(s, i + 1, a, true, NOW),
				 RADIUS_SEEN_NEW);
	}
	auth_of(x1, 0xfffffff0u);
	assert_int_equal(radius_seen_take_nas(s, X, x1, true, NOW + 100),
			 RADIUS_SEEN_NEW);
	for (; i < RADIUS_SEEN - 1; i++) { /* the ring full: key 1 */
		auth_of(a, i);
		assert_int_equal(radius_seen_take_nas(s, 1, a, true, NOW + 1),
				 RADIUS_SEEN_NEW);
	}
	for (uint32_t j = 0; j < 100; j++, i++) { /* keys 1..100 forgotten */
		auth_of(a, i);
		assert_int_equal(radius_seen_take_nas(s, 1, a, true, NOW + 2),
				 RADIUS_SEEN_NEW);
	}
	assert_int_equal(radius_seen_floor_of(s, 50), NOW);
	assert_int_equal(radius_seen_floor_of(s, X), INT64_MIN);
	/* X gets the slot of one counting nothing (key 2: lost is NOW) */
	auth_of(x2, 0xfffffff1u);
	assert_int_equal(radius_seen_take_nas(s, X, x2, true, NOW + 50),
			 RADIUS_SEEN_NEW);
	assert_int_equal(radius_seen_floor_of(s, X), NOW);
	assert_int_equal(radius_seen_floor_of(s, 2), NOW);
	while (radius_seen_floor_of(s, X) == NOW) { /* up to x1 forgotten */
		auth_of(a, i++);
		assert_int_equal(radius_seen_take_nas(s, 1, a, true, NOW + 2),
				 RADIUS_SEEN_NEW);
		assert_true(i < 2 * RADIUS_SEEN);
	}
	assert_int_equal(radius_seen_floor_of(s, X), NOW + 100);
	assert_int_equal(radius_seen_floor_of(s, 0xdead), NOW + 100);
	assert_int_equal(radius_seen_take_nas(s, X, x1, true, NOW + 100),
			 RADIUS_SEEN_FLOOR);
	/* the floors per key survive an export and import */
	uint8_t *saved = malloc(RADIUS_SEEN_SAVE_MAX);
	size_t n = radius_seen_export(s, saved);
	struct radius_seen *r = radius_seen_new();
	assert_int_equal(radius_seen_import(r, saved, n), 0);
	assert_int_equal(radius_seen_floor_of(r, X), NOW + 100);
	assert_int_equal(radius_seen_floor_of(r, 50), NOW);
	assert_int_equal(radius_seen_floor_of(r, 0xdead), NOW + 100);
	assert_int_equal(radius_seen_take_nas(r, X, x1, true, NOW + 100),
			 RADIUS_SEEN_FLOOR);
	assert_int_equal(radius_seen_take_nas(r, X, x2, true, NOW + 200),
			 RADIUS_SEEN_AGAIN);
	radius_seen_free(r);
	free(saved);
	radius_seen_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_login_refresh_replace),
	    cmocka_unit_test(test_ignore_list),
	    cmocka_unit_test(test_logout),
	    cmocka_unit_test(test_state_roundtrip),
	    cmocka_unit_test(test_prefix),
	    cmocka_unit_test(test_radius_parse),
	    cmocka_unit_test(test_radius_malformed),
	    cmocka_unit_test(test_radius_response),
	    cmocka_unit_test(test_radius_handle),
	    cmocka_unit_test(test_radius_replay),
	    cmocka_unit_test(test_radius_seen_floor),
	    cmocka_unit_test(test_radius_seen_untimed),
	    cmocka_unit_test(test_radius_replay_after_many),
	    cmocka_unit_test(test_radius_floor_per_nas),
	    cmocka_unit_test(test_radius_seen_nas_slots),
	    cmocka_unit_test(test_logins_bounded),
	    cmocka_unit_test(test_radius_prefix6_parse),
	    cmocka_unit_test(test_radius_prefix6_handle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
