/*
 * dnstcp.c — see dnstcp.h. The directions are in a common/htable.h by
 * 5-tuple (seeded: a client choosing ports cannot aim at one chain) and on
 * an age list.
 */
#include "resolve/dnstcp.h"

#include "common/htable.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#define EVICT_LOOK 64 /* idle directions looked at for one to evict */

struct skey { /* one direction: SRC:SPORT → DST:DPORT */
	uint8_t family, pad;
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
};

struct stream {
	struct htable_node hn;	 /* in dnstcp.h, by k */
	TAILQ_ENTRY(stream) age; /* most recently used first */
	struct skey k;
	uint32_t next;	   /* the sequence number of the next byte to read */
	bool refused;	   /* a message was refused: refuse all data */
	uint8_t *buf;	   /* the part of one message read so far */
	size_t len, size;  /* bytes in buf, bytes allocated */
	bool split;	   /* buf's message came in more than one segment */
	uint64_t seen_ms;
};

struct dnstcp {
	struct dnstcp_cfg cfg;
	struct htable h; /* struct stream by k */
	TAILQ_HEAD(agelist, stream) age;
	struct dnstcp_stats st;
};

static uint64_t skey_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, sizeof(struct skey));
}

static bool skey_equal(const struct htable_node *n, const void *key)
{
	return memcmp(&HTABLE_ENTRY(n, const struct stream, hn)->k, key,
		      sizeof(struct skey)) == 0;
}

static const struct htable_ops skey_ops = {skey_hash, skey_equal};

struct dnstcp *dnstcp_new(const struct dnstcp_cfg *cfg)
{
	struct dnstcp *t = xcalloc(1, sizeof(*t));
	t->cfg = *cfg;
	if (!t->cfg.session_cap || t->cfg.session_cap > DNSTCP_MSG_MAX)
		t->cfg.session_cap = DNSTCP_MSG_MAX;
	htable_init(&t->h, &skey_ops,
		    t->cfg.max_streams < (1u << 16) ? t->cfg.max_streams
						    : (1u << 16));
	TAILQ_INIT(&t->age);
	return t;
}

static void key_of(struct skey *k, const struct dns_ends *e, bool reverse)
{
	size_t n = e->family == AF_INET6 ? 16 : 4;
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)e->family;
	memcpy(k->src, reverse ? e->dst : e->src, n);
	memcpy(k->dst, reverse ? e->src : e->dst, n);
	k->sport = reverse ? e->dport : e->sport;
	k->dport = reverse ? e->sport : e->dport;
}

static struct stream *find(struct dnstcp *t, const struct skey *k)
{
	return HTABLE_ENTRY(htable_find(&t->h, k), struct stream, hn);
}

static void drop_buf(struct dnstcp *t, struct stream *s)
{
	t->st.bytes -= s->size;
	free(s->buf);
	s->buf = NULL;
	s->len = s->size = 0;
	s->split = false;
}

static void forget(struct dnstcp *t, struct stream *s)
{
	drop_buf(t, s);
	htable_remove(&t->h, &s->hn);
	TAILQ_REMOVE(&t->age, s, age);
	t->st.streams--;
	free(s);
}

/* Room for one more direction: evicts the longest idle one holding no
 * partial message (it is at a message boundary, so meeting it again as
 * new reads it right). False when none of the idlest is. */
static bool make_room(struct dnstcp *t)
{
	if (t->st.streams < t->cfg.max_streams)
		return true;
	struct stream *s = TAILQ_LAST(&t->age, agelist);
	for (int i = 0; s && i < EVICT_LOOK; i++) {
		struct stream *prev = TAILQ_PREV(s, agelist, age);
		if (!s->len && !s->refused) {
			forget(t, s);
			t->st.evicted++;
			return true;
		}
		s = prev;
	}
	return false;
}

static struct stream *add(struct dnstcp *t, const struct skey *k,
			  uint32_t next, uint64_t now_ms)
{
	if (!t->cfg.max_streams || !make_room(t))
		return NULL;
	struct stream *s = xcalloc(1, sizeof(*s));
	s->k = *k;
	s->next = next;
	s->seen_ms = now_ms;
	htable_insert(&t->h, &s->hn, &s->k);
	TAILQ_INSERT_HEAD(&t->age, s, age);
	t->st.streams++;
	return s;
}

/* The length a message's first bytes P[0..N) announce, with its prefix;
 * 0 while N < 2. */
static size_t want(const uint8_t *p, size_t n)
{
	return n < 2 ? 0 : 2 + ((size_t)p[0] << 8 | p[1]);
}

/* The length of S's message with its prefix, from the bytes S holds and
 * then P (together at least 2). */
static size_t announced(const struct stream *s, const uint8_t *p)
{
	uint8_t hd[2];
	for (size_t i = 0; i < 2; i++)
		hd[i] = i < s->len ? s->buf[i] : p[i - s->len];
	return want(hd, 2);
}

/* Appends P[0..N) to S's buffer, growing it within the caps. */
static bool buffer(struct dnstcp *t, struct stream *s, const uint8_t *p,
		   size_t n)
{
	size_t need = s->len + n;
	if (need > s->size) {
		size_t size = 2; /* the length first, then */
		if (need >= 2) /* the whole message at once */
			size = announced(s, p);
		if (size > t->cfg.session_cap ||
		    t->st.bytes - s->size + size > t->cfg.total_cap)
			return false;
		s->buf = xrealloc(s->buf, size);
		t->st.bytes += size - s->size;
		s->size = size;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return true;
}

/*
 * Reads P[0..N), the new bytes of S in order: hands over every message
 * they complete. Returns DNSTCP_READ, DNSTCP_OVER (nothing changed
 * beyond the messages handed over before) or DNSTCP_REFUSED.
 */
static enum dnstcp_res read_bytes(struct dnstcp *t, struct stream *s,
				  const struct dns_ends *e, const uint8_t *p,
				  size_t n, dnstcp_msg_fn msg, void *arg)
{
	while (n) {
		if (!s->len && want(p, n) && want(p, n) <= n) {
			/* a whole message in the segment: read in place */
			size_t w = want(p, n);
			t->st.messages++;
			if (!msg(arg, e, p + 2, w - 2))
				return DNSTCP_REFUSED;
			p += w;
			n -= w;
			s->next += (uint32_t)w;
			continue;
		}
		size_t take = n;
		if (s->len + n >= 2) {
			size_t w = announced(s, p);
			if (w - s->len < take)
				take = w - s->len;
		}
		bool had = s->len > 0;
		if (!buffer(t, s, p, take))
			return DNSTCP_OVER;
		s->split |= had;
		p += take;
		n -= take;
		s->next += (uint32_t)take;
		if (s->len >= 2 && s->len == want(s->buf, s->len)) {
			t->st.messages++;
			t->st.reassembled += s->split;
			bool ok = msg(arg, e, s->buf + 2, s->len - 2);
			drop_buf(t, s);
			if (!ok)
				return DNSTCP_REFUSED;
		}
	}
	return DNSTCP_READ;
}

enum dnstcp_res dnstcp_segment(struct dnstcp *t, const struct dns_ends *e,
			       uint32_t seq, unsigned flags,
			       const uint8_t *data, size_t len, uint64_t now_ms,
			       dnstcp_msg_fn msg, void *arg)
{
	struct skey k;
	key_of(&k, e, false);
	struct stream *s = find(t, &k);
	if (flags & DNSTCP_RST) {
		struct skey r;
		key_of(&r, e, true);
		struct stream *rs = find(t, &r);
		if (s)
			forget(t, s);
		if (rs)
			forget(t, rs);
		return len ? DNSTCP_DUP : DNSTCP_EMPTY; /* RST data is no data */
	}
	if (flags & DNSTCP_SYN) {
		seq++; /* the SYN takes one number; data (TFO) follow it */
		if (s && s->next != seq) {
			forget(t, s); /* a new session on the same ports */
			s = NULL;
		}
		if (!s)
			s = add(t, &k, seq, now_ms); /* untracked when full: read later */
	}
	if (!len)
		return DNSTCP_EMPTY;
	t->st.segments++;
	if (!s && !(s = add(t, &k, seq, now_ms))) {
		t->st.over++;
		return DNSTCP_OVER;
	}
	s->seen_ms = now_ms;
	TAILQ_REMOVE(&t->age, s, age);
	TAILQ_INSERT_HEAD(&t->age, s, age);
	if (s->refused) {
		t->st.refused++;
		return DNSTCP_REFUSED;
	}
	int32_t ahead = (int32_t)(seq - s->next);
	if (ahead > 0) {
		t->st.gap++;
		return DNSTCP_GAP;
	}
	size_t old = (size_t)-(int64_t)ahead;
	if (old >= len) {
		t->st.dup++;
		return DNSTCP_DUP;
	}
	enum dnstcp_res r =
	    read_bytes(t, s, e, data + old, len - old, msg, arg);
	if (r == DNSTCP_OVER)
		t->st.over++;
	if (r == DNSTCP_REFUSED) {
		t->st.refused++;
		s->refused = true;
		drop_buf(t, s);
	}
	return r;
}

void dnstcp_expire(struct dnstcp *t, uint64_t now_ms)
{
	struct stream *s;
	while ((s = TAILQ_LAST(&t->age, agelist)) &&
	       now_ms - s->seen_ms >= t->cfg.idle_ms)
		forget(t, s);
}

void dnstcp_stats(const struct dnstcp *t, struct dnstcp_stats *out)
{
	*out = t->st;
}

void dnstcp_free(struct dnstcp *t)
{
	if (!t)
		return;
	struct stream *s;
	while ((s = TAILQ_FIRST(&t->age)))
		forget(t, s);
	htable_fini(&t->h);
	free(t);
}
