/* radius.c — see radius.h. */
#include "common/util.h"
#include "identity/radius.h"
#include "common/text.h"
#include "common/htable.h"

#include <errno.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Attribute types used (RFC 2865 §5, RFC 2866 §5, RFC 3162, RFC 4818,
 * RFC 6911). */
enum { AT_USER_NAME = 1, AT_NAS_IP = 4, AT_FRAMED_IP = 8,
       AT_NAS_IDENTIFIER = 32, AT_STATUS_TYPE = 40,
       AT_DELAY_TIME = 41, AT_EVENT_TIMESTAMP = 55,
       AT_NAS_IPV6 = 95, AT_FRAMED_IPV6_PREFIX = 97,
       AT_DELEGATED_IPV6_PREFIX = 123,
       AT_FRAMED_IPV6_ADDRESS = 168 };

static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t diff = 0; /* in constant time */
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* MD5(HEAD[0..4), AUTH[16], BODY[BLEN], SECRET) into OUT. */
static void authenticator(const uint8_t *head, const uint8_t *auth,
			  const uint8_t *body, size_t blen,
			  const uint8_t *secret, size_t slen, uint8_t out[16])
{
	struct md5_ctx c;
	md5_init(&c);
	md5_update(&c, 4, head);
	md5_update(&c, 16, auth);
	md5_update(&c, blen, body);
	md5_update(&c, slen, secret);
	md5_digest(&c, 16, out);
}

/* Appends ADDR/PLEN to OUT (only ADDR's first PLEN bits are read: the
 * rest is cleared); false when OUT is full. */
static bool add_v6(struct radius_acct *out, const uint8_t *addr,
		   unsigned plen)
{
	if (out->n6 >= RADIUS_V6_MAX)
		return false;
	struct radius_v6 *v = &out->v6[out->n6++];
	memset(v->addr, 0, 16);
	memcpy(v->addr, addr, plen / 8);
	if (plen % 8)
		v->addr[plen / 8] = addr[plen / 8] &
				    (uint8_t)(0xff00u >> (plen % 8));
	v->plen = (uint8_t)plen;
	return true;
}

/* A Framed-IPv6-Prefix or Delegated-IPv6-Prefix value (VLEN bytes:
 * Reserved, Prefix-Length, Prefix of 0..16 bytes; RFC 3162 §2.3, RFC 4818
 * §3) into OUT; false when malformed (see radius_parse_acct). */
static bool prefix6(struct radius_acct *out, const uint8_t *val, size_t vlen)
{
	if (vlen < 2 || vlen > 18)
		return false;
	unsigned plen = val[1];
	if (plen > 128 || plen < RADIUS_V6_PLEN_MIN ||
	    (plen + 7) / 8 > vlen - 2)
		return false;
	return add_v6(out, val + 2, plen);
}

/* One attribute (TYPE, VAL, VLEN) into OUT; SEEN marks the single-valued
 * types read. false when malformed. */
static bool attribute(struct radius_acct *out, uint8_t type,
		      const uint8_t *val, size_t vlen, uint32_t *seen)
{
	int bit = type == AT_USER_NAME		? 0
		  : type == AT_FRAMED_IP	? 1
		  : type == AT_STATUS_TYPE	? 2
		  : type == AT_EVENT_TIMESTAMP	? 3
		  : type == AT_DELAY_TIME	? 4
						: -1;
	if (bit >= 0) {
		if (*seen & (1u << bit))
			return false; /* twice: which one counts? */
		*seen |= 1u << bit;
	}
	switch (type) {
	case AT_USER_NAME:
		if (vlen < 1 || vlen >= sizeof(out->user))
			return false;
		memcpy(out->user, val, vlen);
		out->user[vlen] = '\0';
		return strlen(out->user) == vlen && !text_name_problem(out->user);
	case AT_FRAMED_IP:
		if (vlen != 4)
			return false;
		memcpy(out->v4, val, 4);
		out->has_v4 = true;
		return true;
	case AT_STATUS_TYPE:
		if (vlen != 4)
			return false;
		out->status = (uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 |
			      (uint32_t)val[2] << 8 | val[3];
		return true;
	case AT_EVENT_TIMESTAMP:
	case AT_DELAY_TIME: {
		if (vlen != 4)
			return false;
		uint32_t v = (uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 |
			     (uint32_t)val[2] << 8 | val[3];
		if (type == AT_DELAY_TIME) {
			out->delay_s = v;
			return true;
		}
		out->event_ts = v;
		out->has_event_ts = true;
		return true;
	}
	case AT_FRAMED_IPV6_ADDRESS:
		return vlen == 16 && add_v6(out, val, 128);
	case AT_FRAMED_IPV6_PREFIX:
	case AT_DELEGATED_IPV6_PREFIX:
		return prefix6(out, val, vlen);
	default:
		return true; /* not ours */
	}
}

/* TYPE names the NAS (RFC 2865 §5.4, §5.32; RFC 3162 §2.1). */
static bool is_nas_attr(uint8_t type)
{
	return type == AT_NAS_IP || type == AT_NAS_IDENTIFIER ||
	       type == AT_NAS_IPV6;
}

/* The NAS key of the attributes hashed into C: 8 bytes of the digest,
 * never 0 (the key of requests naming no NAS). */
static uint64_t nas_key(struct md5_ctx *c)
{
	uint8_t d[16];
	md5_digest(c, 16, d);
	uint64_t k = 0;
	for (int i = 0; i < 8; i++)
		k = k << 8 | d[i];
	return k ? k : 1;
}

enum radius_result radius_parse_acct(const uint8_t *pkt, size_t len,
				     const uint8_t *secret, size_t slen,
				     struct radius_acct *out)
{
	if (len < RADIUS_HDR)
		return RADIUS_MALFORMED;
	size_t plen = (size_t)pkt[2] << 8 | pkt[3];
	if (plen < RADIUS_HDR || plen > RADIUS_MAX || plen > len ||
	    pkt[0] != RADIUS_ACCT_REQUEST)
		return RADIUS_MALFORMED;
	static const uint8_t zero[16];
	uint8_t want[16];
	authenticator(pkt, zero, pkt + RADIUS_HDR, plen - RADIUS_HDR, secret,
		      slen, want);
	if (!same_bytes(want, pkt + 4, 16))
		return RADIUS_BAD_AUTH;
	struct radius_acct a = {.id = pkt[1]};
	uint32_t seen = 0;
	struct md5_ctx nas;
	md5_init(&nas);
	bool named = false;
	for (size_t off = RADIUS_HDR; off < plen;) {
		if (plen - off < 2 || pkt[off + 1] < 2 ||
		    pkt[off + 1] > plen - off)
			return RADIUS_MALFORMED;
		if (!attribute(&a, pkt[off], pkt + off + 2,
			       (size_t)pkt[off + 1] - 2, &seen))
			return RADIUS_MALFORMED;
		if (is_nas_attr(pkt[off])) {
			md5_update(&nas, pkt[off + 1], pkt + off);
			named = true;
		}
		off += pkt[off + 1];
	}
	a.nas = named ? nas_key(&nas) : 0;
	*out = a;
	return RADIUS_OK;
}

void radius_acct_response(const uint8_t *req, const uint8_t *secret,
			  size_t slen, uint8_t resp[RADIUS_HDR])
{
	uint8_t head[4] = {RADIUS_ACCT_RESPONSE, req[1], 0, RADIUS_HDR};
	uint8_t auth[16];
	authenticator(head, req + 4, NULL, 0, secret, slen, auth);
	memcpy(resp, head, 4);
	memcpy(resp + 4, auth, 16);
}

/* FROM is one of CTX's clients. */
static bool is_client(const struct radius_ctx *ctx, int family,
		      const uint8_t *from)
{
	if (family == AF_INET6) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0,
						   0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(from, mapped, 12) != 0) {
			u128 a = 0;
			for (int i = 0; i < 16; i++)
				a = a << 8 | from[i];
			return addrset_has6(ctx->clients, a);
		}
		from += 12;
	}
	uint32_t a = (uint32_t)from[0] << 24 | (uint32_t)from[1] << 16 |
		     (uint32_t)from[2] << 8 | from[3];
	return addrset_has4(ctx->clients, a);
}

/* Logs A's user in at (LOGIN) or out of FAMILY's ADDR/PLEN. */
static void record(struct radius_ctx *ctx, const struct radius_acct *a,
		   bool login, int family, const uint8_t *addr, unsigned plen)
{
	if (login)
		idtable_login(ctx->ids,
			      &(struct id_login){family, addr, a->user, NULL, 0,
						 ctx->ttl_s, IDS_RADIUS,
						 (uint8_t)plen});
	else
		idtable_logout_prefix(ctx->ids, family, addr, plen, a->user,
				      IDS_RADIUS);
}

/* Applies A (authentic) to the table. */
static void apply(struct radius_ctx *ctx, const struct radius_acct *a)
{
	bool login = a->status == RADIUS_START || a->status == RADIUS_INTERIM;
	if ((!login && a->status != RADIUS_STOP) || !a->user[0])
		return; /* Accounting-On/Off, no user: nothing to record */
	if (a->has_v4) {
		uint8_t addr[16] = {0};
		memcpy(addr, a->v4, 4);
		record(ctx, a, login, AF_INET, addr, 32);
	}
	for (size_t i = 0; i < a->n6; i++)
		record(ctx, a, login, AF_INET6, a->v6[i].addr, a->v6[i].plen);
}

/* ---- replays -------------------------------------------------------------- */

#define SEEN_UNTIMED INT64_MIN /* a request without Event-Timestamp */
#define SEEN_NO_NAS UINT32_MAX /* an entry whose NAS has no slot */
#define SEEN_EVICT_LOOK 16     /* slots looked at for one to give up */

struct seen_entry {
	struct htable_node hn;
	uint8_t auth[16];
	int64_t sent; /* Event-Timestamp plus Acct-Delay-Time; SEEN_UNTIMED */
	uint64_t nas; /* its NAS key (radius_acct.nas) */
	uint32_t slot; /* s->nas[slot] counts it; SEEN_NO_NAS: none did */
	bool used;
};

/* One NAS key's floor. */
struct seen_nas {
	struct htable_node hn;
	uint64_t key;
	int64_t floor; /* latest sending time of its forgotten; SEEN_UNTIMED */
	uint32_t refs; /* entries of the ring it counts */
};

struct radius_seen {
	struct htable t;  /* entries by auth */
	struct htable nt; /* NAS slots by key */
	struct seen_entry v[RADIUS_SEEN];
	struct seen_nas nas[RADIUS_SEEN_NAS];
	size_t nnas;	   /* slots in use (they are never emptied, reused) */
	size_t hand;	   /* where the next slot to give up is looked for */
	size_t next;	   /* the oldest, written over next */
	uint64_t taken;	   /* authenticators remembered, in all */
	int64_t lost;	   /* the floor of every key without a slot */
	bool untimed_lost; /* a request without Event-Timestamp was forgotten */
	uint64_t refused_floor, refused_untimed;
};

static uint64_t seen_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, 16);
}

static bool seen_equal(const struct htable_node *n, const void *key)
{
	return memcmp(HTABLE_ENTRY(n, const struct seen_entry, hn)->auth, key,
		      16) == 0;
}

static const struct htable_ops seen_ops = {seen_hash, seen_equal};

static uint64_t nas_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, sizeof(uint64_t));
}

static bool nas_equal(const struct htable_node *n, const void *key)
{
	return HTABLE_ENTRY(n, const struct seen_nas, hn)->key ==
	       *(const uint64_t *)key;
}

static const struct htable_ops nas_ops = {nas_hash, nas_equal};

struct radius_seen *radius_seen_new(void)
{
	struct radius_seen *s = xcalloc(1, sizeof(*s));
	htable_init(&s->t, &seen_ops, RADIUS_SEEN);
	htable_init(&s->nt, &nas_ops, RADIUS_SEEN_NAS);
	s->lost = SEEN_UNTIMED;
	return s;
}

void radius_seen_free(struct radius_seen *s)
{
	if (!s)
		return;
	htable_fini(&s->t);
	htable_fini(&s->nt);
	free(s);
}

static void raise_to(int64_t *floor, int64_t t)
{
	if (t > *floor)
		*floor = t;
}

/* KEY's slot, or NULL (its requests are judged by s->lost). */
static struct seen_nas *nas_find(struct radius_seen *s, uint64_t key)
{
	return HTABLE_ENTRY(htable_find(&s->nt, &key), struct seen_nas, hn);
}

/* The floor KEY's requests are judged by. */
static int64_t nas_floor(struct radius_seen *s, uint64_t key)
{
	struct seen_nas *n = nas_find(s, key);
	return n ? n->floor : s->lost;
}

/* A slot to give up: one counting no entry, among the next
 * SEEN_EVICT_LOOK; its floor goes into s->lost (its key is judged by
 * that from now on). NULL when all of those count entries. */
static struct seen_nas *nas_evict(struct radius_seen *s)
{
	for (int i = 0; i < SEEN_EVICT_LOOK; i++) {
		struct seen_nas *n = &s->nas[s->hand];
		s->hand = (s->hand + 1) % RADIUS_SEEN_NAS;
		if (n->refs)
			continue;
		raise_to(&s->lost, n->floor);
		htable_remove(&s->nt, &n->hn);
		return n;
	}
	return NULL;
}

/* KEY's slot, made when there is room (starting at s->lost, the floor
 * it was judged by until now); NULL when there is none. */
static struct seen_nas *nas_get(struct radius_seen *s, uint64_t key)
{
	struct seen_nas *n = nas_find(s, key);
	if (n)
		return n;
	n = s->nnas < RADIUS_SEEN_NAS ? &s->nas[s->nnas++] : nas_evict(s);
	if (!n)
		return NULL;
	n->key = key;
	n->floor = s->lost;
	n->refs = 0;
	htable_insert(&s->nt, &n->hn, &n->key);
	return n;
}

/* Forgets E (the oldest), keeping what it leaves unknown: its sending
 * time raises its NAS key's floor (s->lost's when it had no slot, and
 * the slot its key may have got since); without one, untimed requests
 * are lost. */
static void seen_forget(struct radius_seen *s, struct seen_entry *e)
{
	htable_remove(&s->t, &e->hn);
	e->used = false;
	struct seen_nas *n = NULL;
	if (e->slot != SEEN_NO_NAS) {
		n = &s->nas[e->slot];
		n->refs--;
	}
	if (e->sent == SEEN_UNTIMED) {
		s->untimed_lost = true;
		return;
	}
	if (!n) {
		raise_to(&s->lost, e->sent);
		n = nas_find(s, e->nas);
	}
	if (n)
		raise_to(&n->floor, e->sent);
}

/* Remembers AUTH (of NAS key NAS, sent at SENT, or SEEN_UNTIMED) in
 * place of the oldest. */
static void seen_remember(struct radius_seen *s, const uint8_t *auth,
			  uint64_t nas, int64_t sent)
{
	struct seen_entry *e = &s->v[s->next];
	s->next = (s->next + 1) % RADIUS_SEEN;
	if (e->used)
		seen_forget(s, e);
	struct seen_nas *n = nas_get(s, nas);
	memcpy(e->auth, auth, 16);
	e->sent = sent;
	e->nas = nas;
	e->slot = n ? (uint32_t)(n - s->nas) : SEEN_NO_NAS;
	if (n)
		n->refs++;
	e->used = true;
	htable_insert(&s->t, &e->hn, e->auth);
	s->taken++;
}

enum radius_seen_verdict radius_seen_take_nas(struct radius_seen *s,
					      uint64_t nas,
					      const uint8_t *auth, bool timed,
					      int64_t sent)
{
	if (htable_find(&s->t, auth))
		return RADIUS_SEEN_AGAIN;
	int64_t floor = nas_floor(s, nas);
	if (timed && floor != SEEN_UNTIMED && sent <= floor) {
		s->refused_floor++;
		return RADIUS_SEEN_FLOOR;
	}
	if (!timed && s->untimed_lost) {
		s->refused_untimed++;
		return RADIUS_SEEN_UNTIMED;
	}
	/* INT64_MIN stays the mark of "no time": a time that low is none */
	seen_remember(s, auth, nas,
		      timed && sent != SEEN_UNTIMED ? sent : SEEN_UNTIMED);
	return RADIUS_SEEN_NEW;
}

enum radius_seen_verdict radius_seen_take(struct radius_seen *s,
					  const uint8_t *auth, bool timed,
					  int64_t sent)
{
	return radius_seen_take_nas(s, 0, auth, timed, sent);
}

uint64_t radius_seen_refused_floor(const struct radius_seen *s)
{
	return s->refused_floor;
}

uint64_t radius_seen_refused_untimed(const struct radius_seen *s)
{
	return s->refused_untimed;
}

int64_t radius_seen_floor_of(const struct radius_seen *s, uint64_t nas)
{
	return nas_floor((struct radius_seen *)s, nas);
}

int64_t radius_seen_floor(const struct radius_seen *s)
{
	return radius_seen_floor_of(s, 0);
}

void radius_seen_hold(struct radius_seen *s, int64_t floor)
{
	raise_to(&s->lost, floor);
	for (size_t i = 0; i < s->nnas; i++)
		raise_to(&s->nas[i].floor, floor);
}

static void put_be64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (uint8_t)u;
}

static int64_t get_be64(const uint8_t *p)
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (int64_t)u;
}

size_t radius_seen_export(const struct radius_seen *s, uint8_t *out)
{
	put_be64(out, s->lost);
	out[8] = s->untimed_lost ? 1 : 0;
	put_be64(out + 9, (int64_t)s->nnas);
	size_t len = RADIUS_SEEN_SAVE_HEAD;
	for (size_t i = 0; i < s->nnas; i++, len += RADIUS_SEEN_SAVE_NAS) {
		put_be64(out + len, (int64_t)s->nas[i].key);
		put_be64(out + len + 8, s->nas[i].floor);
	}
	for (size_t i = 0; i < RADIUS_SEEN; i++) {
		const struct seen_entry *e = &s->v[(s->next + i) % RADIUS_SEEN];
		if (!e->used)
			continue;
		memcpy(out + len, e->auth, 16);
		put_be64(out + len + 16, e->sent);
		put_be64(out + len + 24, (int64_t)e->nas);
		len += RADIUS_SEEN_SAVE_REC;
	}
	return len;
}

/* The number of NAS slots the LEN bytes at V hold, or -1: not
 * radius_seen_export's bytes. */
static int64_t import_nslots(const uint8_t *v, size_t len)
{
	if (len < RADIUS_SEEN_SAVE_HEAD || len > RADIUS_SEEN_SAVE_MAX ||
	    v[8] > 1)
		return -1;
	uint64_t k = (uint64_t)get_be64(v + 9);
	if (k > RADIUS_SEEN_NAS ||
	    len - RADIUS_SEEN_SAVE_HEAD < k * RADIUS_SEEN_SAVE_NAS ||
	    (len - RADIUS_SEEN_SAVE_HEAD - k * RADIUS_SEEN_SAVE_NAS) %
		RADIUS_SEEN_SAVE_REC ||
	    (len - RADIUS_SEEN_SAVE_HEAD - k * RADIUS_SEEN_SAVE_NAS) /
		    RADIUS_SEEN_SAVE_REC > RADIUS_SEEN)
		return -1;
	return (int64_t)k;
}

int radius_seen_import(struct radius_seen *s, const uint8_t *v, size_t len)
{
	int64_t k = import_nslots(v, len);
	if (k < 0) {
		errno = EINVAL;
		return -1;
	}
	s->untimed_lost = s->untimed_lost || v[8];
	size_t o = RADIUS_SEEN_SAVE_HEAD;
	/* the slots first, at their own floors (a new slot starts at the
	 * lost floor, which may be above theirs) */
	for (int64_t i = 0; i < k; i++, o += RADIUS_SEEN_SAVE_NAS) {
		struct seen_nas *n = nas_get(s, (uint64_t)get_be64(v + o));
		if (n) /* else judged by s->lost, raised past its floor */
			raise_to(&n->floor, get_be64(v + o + 8));
		else
			raise_to(&s->lost, get_be64(v + o + 8));
	}
	raise_to(&s->lost, get_be64(v));
	for (; o < len; o += RADIUS_SEEN_SAVE_REC)
		if (!htable_find(&s->t, v + o))
			seen_remember(s, v + o, (uint64_t)get_be64(v + o + 24),
				      get_be64(v + o + 16));
	return 0;
}

uint64_t radius_seen_taken(const struct radius_seen *s)
{
	return s->taken;
}

/* When A was sent: its Event-Timestamp plus Acct-Delay-Time (a NAS
 * re-sending a buffered record raises the delay, and a replay cannot
 * change it without the secret; RFC 2869 §5.3, RFC 2866 §5.2). */
static int64_t sent_at(const struct radius_acct *a)
{
	return (int64_t)a->event_ts + a->delay_s;
}

/* A was sent too long before NOW: its replay is older still. */
static bool too_old(const struct radius_acct *a, int64_t now)
{
	return a->has_event_ts && sent_at(a) < now - RADIUS_MAX_AGE_S;
}

/* A was sent too far after NOW (a NAS clock ahead, or a request made to
 * be replayed later): refused now; remembered (up to
 * RADIUS_REMEMBER_AHEAD_S ahead), so that it stays refused once NOW
 * reaches its window (radius.h, "Replays"). */
static bool too_far_ahead(const struct radius_acct *a, int64_t now)
{
	return a->has_event_ts && sent_at(a) > now + RADIUS_MAX_AHEAD_S;
}

/* Too far ahead to be remembered: its floor, once forgotten, would hold
 * back its NAS until then. */
static bool beyond_memory(const struct radius_acct *a, int64_t now)
{
	return a->has_event_ts && sent_at(a) > now + RADIUS_REMEMBER_AHEAD_S;
}

/* A (authentic, with authenticator AUTH) may be applied: not too old,
 * not ahead, and new to the replay memory (which takes it). */
static bool fresh(struct radius_ctx *ctx, const struct radius_acct *a,
		  const uint8_t *auth, int64_t now)
{
	if (too_old(a, now) || beyond_memory(a, now))
		return false;
	bool taken = !ctx->seen ||
		     radius_seen_take_nas(ctx->seen, a->nas, auth,
					  a->has_event_ts,
					  sent_at(a)) == RADIUS_SEEN_NEW;
	return taken && !too_far_ahead(a, now);
}

enum radius_outcome radius_handle(struct radius_ctx *ctx, int family,
				  const uint8_t *from, const uint8_t *pkt,
				  size_t len, int64_t now,
				  uint8_t resp[RADIUS_HDR])
{
	if (!is_client(ctx, family, from)) {
		idtable_reject(ctx->ids, IDS_RADIUS, IDR_CLIENT);
		return RADIUS_DROPPED_CLIENT;
	}
	struct radius_acct a;
	switch (radius_parse_acct(pkt, len, ctx->secret, ctx->slen, &a)) {
	case RADIUS_BAD_AUTH:
		idtable_reject(ctx->ids, IDS_RADIUS, IDR_SECRET);
		return RADIUS_DROPPED_AUTH;
	case RADIUS_MALFORMED:
		idtable_reject(ctx->ids, IDS_RADIUS, IDR_MALFORMED);
		return RADIUS_DROPPED_MALFORMED;
	case RADIUS_OK:
		break;
	}
	/* answered either way, so a NAS does not send it again and again
	 * (holding back what it queued behind it) */
	if (fresh(ctx, &a, pkt + 4, now))
		apply(ctx, &a);
	else
		idtable_reject(ctx->ids, IDS_RADIUS, IDR_REPLAY);
	radius_acct_response(pkt, ctx->secret, ctx->slen, resp);
	return RADIUS_ANSWERED;
}

int radius_read_secret(struct radius_ctx *ctx, const char *path)
{
	int len = secret_read_into(path, ctx->secret, sizeof(ctx->secret));
	if (len < 0)
		return -1;
	ctx->slen = (size_t)len;
	return 0;
}
