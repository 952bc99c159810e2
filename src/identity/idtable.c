/* idtable.c — see idtable.h. A hash table (common/htable.h) under a
 * rwlock; the per-source counters sit under the same lock (the rejections,
 * counted without touching the table, are atomic). */
#include "identity/idtable.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/text.h"
#include "common/hash.h"
#include "common/htable.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define NBUCKETS_MIN 4096 /* the table's first size (it grows) */
#define STATE_VERSION 1

struct ipentry {
	int family;
	uint8_t plen; /* FULL(family) for an address */
	uint8_t addr[16];
	struct identity id;
	struct htable_node hn; /* in idtable.h, by (family, plen, addr) */
};

/* A key of the table: ADDR (masked to PLEN) of FAMILY. */
struct ipkey {
	int family;
	unsigned plen;
	const uint8_t *addr;
};

struct idtable {
	pthread_rwlock_t lock;
	struct htable h; /* struct ipentry by struct ipkey */
	size_t n;
	time_t full_logged; /* the last "table full" line (once a minute) */
	uint64_t version;
	uint64_t removed; /* entries unlinked: logouts, replacements, expiry */
	char **ignore;
	size_t nignore;
	struct own_realms realms; /* names compare under these (username.h) */
	struct id_source_stats st[IDS_COUNT];
	uint32_t nplen[2][129]; /* entries by family (v4, v6) and length */
};

#define FULL(family) ((family) == AF_INET ? 32u : 128u)
#define FAM(family) ((family) == AF_INET ? 0 : 1)

static const char *const source_names[IDS_COUNT] = {"manual", "api",
						     "radius", "portal"};

const char *id_source_name(enum id_source s)
{
	return (unsigned)s < IDS_COUNT ? source_names[s] : "unknown";
}

int id_source_parse(const char *name)
{
	for (int i = 0; i < IDS_COUNT; i++)
		if (strcmp(name, source_names[i]) == 0)
			return i;
	return -1;
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* The table's seeded hash of a struct ipkey (common/htable.h): a remote
 * party choosing addresses cannot aim at one bucket. */
static uint64_t ipkey_hash(const struct hash_key *hk, const void *key)
{
	const struct ipkey *ik = key;
	uint8_t k[18] = {(uint8_t)ik->family, (uint8_t)ik->plen};
	memcpy(k + 2, ik->addr, addr_len(ik->family));
	return hash_bytes_keyed(hk, k, 2 + addr_len(ik->family));
}

static bool ipkey_equal(const struct htable_node *n, const void *key)
{
	const struct ipentry *e = HTABLE_ENTRY(n, const struct ipentry, hn);
	const struct ipkey *ik = key;
	return e->family == ik->family && e->plen == ik->plen &&
	       memcmp(e->addr, ik->addr, addr_len(ik->family)) == 0;
}

static const struct htable_ops ipkey_ops = {ipkey_hash, ipkey_equal};


struct idtable *idtable_new(void)
{
	struct idtable *t = xcalloc(1, sizeof(*t));
	htable_init(&t->h, &ipkey_ops, NBUCKETS_MIN);
	pthread_rwlock_init(&t->lock, NULL);
	return t;
}

void identity_clear(struct identity *id)
{
	free(id->user);
	for (size_t i = 0; i < id->ngroups; i++)
		free(id->groups[i]);
	free(id->groups);
	memset(id, 0, sizeof(*id));
}

/* Deep copy of SRC into DST. */
static void identity_copy(struct identity *dst, const struct identity *src)
{
	*dst = *src;
	dst->user = xstrdup(src->user);
	dst->groups = xcalloc(src->ngroups + 1, sizeof(char *));
	for (size_t i = 0; i < src->ngroups; i++)
		dst->groups[i] = xstrdup(src->groups[i]);
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void idtable_free(struct idtable *t)
{
	if (!t)
		return;
	struct htable_iter it;
	for (struct htable_node *n = htable_first(&t->h, &it); n;
	     n = htable_next(&it)) {
		struct ipentry *e = HTABLE_ENTRY(n, struct ipentry, hn);
		htable_remove(&t->h, n);
		identity_clear(&e->id);
		free(e);
	}
	htable_fini(&t->h);
	free_names(t->ignore, t->nignore);
	own_realms_free(&t->realms);
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

void idtable_set_ignore(struct idtable *t, const char *const *names,
			size_t n, const struct own_realms *own)
{
	char **v = n ? xcalloc(n, sizeof(*v)) : NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(names[i]);
	struct own_realms realms = {0};
	own_realms_copy(&realms, own);
	pthread_rwlock_wrlock(&t->lock);
	char **old = t->ignore;
	size_t nold = t->nignore;
	struct own_realms oldr = t->realms;
	t->ignore = v;
	t->nignore = n;
	t->realms = realms;
	pthread_rwlock_unlock(&t->lock);
	free_names(old, nold);
	own_realms_free(&oldr);
}

/* Under the lock: A and B are one user (user_name_equal under the
 * table's own realms). */
static bool same_user(const struct idtable *t, const char *a, const char *b)
{
	return user_name_equal(&t->realms, a, b);
}

/* Under the lock: USER is on the ignore list, in any spelling of one
 * account (user_name_listed: RADIUS clients spell names as they please;
 * an own realm or domain is dropped, another one's account is not ours;
 * a spelling the directory folds to a listed account, `ｎagios`, is it). */
static bool ignored(const struct idtable *t, const char *user)
{
	return user_name_listed(&t->realms, t->ignore, t->nignore, user);
}

/* Under the write lock: unlinks and frees OLD, keeping the counts. */
static void unlink_entry(struct idtable *t, struct ipentry *old)
{
	htable_remove(&t->h, &old->hn);
	if ((unsigned)old->id.source < IDS_COUNT)
		t->st[old->id.source].entries--;
	t->nplen[FAM(old->family)][old->plen]--;
	identity_clear(&old->id);
	free(old);
	t->n--;
	t->version++;
	t->removed++;
}

/* Under the write lock: links a new entry for ADDR/PLEN (ADDR masked)
 * holding a copy of ID. */
static void link_entry(struct idtable *t, int family, const uint8_t *addr,
		       unsigned plen, const struct identity *id)
{
	struct ipentry *ne = xcalloc(1, sizeof(*ne));
	ne->family = family;
	ne->plen = (uint8_t)plen;
	memcpy(ne->addr, addr, addr_len(family));
	identity_copy(&ne->id, id);
	t->nplen[FAM(family)][plen]++;
	struct ipkey k = {family, plen, ne->addr};
	htable_insert(&t->h, &ne->hn, &k);
	t->n++;
	t->version++;
	t->st[id->source].entries++;
}

/* The entry of ADDR/PLEN (ADDR masked), live or not; NULL when none. */
static struct ipentry *find(struct idtable *t, int family,
			    const uint8_t *addr, unsigned plen)
{
	struct ipkey k = {family, plen, addr};
	return HTABLE_ENTRY(htable_find(&t->h, &k), struct ipentry, hn);
}

/* Under a lock: the live entry ADDR falls under: its own, else the
 * longest prefix holding it (one hash probe a prefix length in use). */
static const struct ipentry *lookup(struct idtable *t, int family,
				    const uint8_t *addr, time_t now)
{
	unsigned full = FULL(family);
	struct ipentry *pe = find(t, family, addr, full);
	if (pe && pe->id.expires > now)
		return pe;
	for (unsigned l = full; l-- > 0;) {
		if (!t->nplen[FAM(family)][l])
			continue;
		uint8_t m[16];
		prefix_cut(m, addr, l);
		pe = find(t, family, m, l);
		if (pe && pe->id.expires > now)
			return pe;
	}
	return NULL;
}

/* Under the write lock: renews E from L (same user, same source). */
static void refresh(struct idtable *t, struct ipentry *e,
		    const struct id_login *l, time_t now)
{
	for (size_t i = 0; i < e->id.ngroups; i++)
		free(e->id.groups[i]);
	free(e->id.groups);
	e->id.groups = xcalloc(l->ngroups + 1, sizeof(char *));
	for (size_t i = 0; i < l->ngroups; i++)
		e->id.groups[i] = xstrdup(l->groups[i]);
	e->id.ngroups = l->ngroups;
	e->id.seen = now;
	e->id.expires = now + (time_t)l->ttl_s;
	t->version++;
}

enum login_result idtable_login(struct idtable *t, const struct id_login *l)
{
	time_t now = time(NULL);
	unsigned plen = l->plen && l->plen < FULL(l->family) ? l->plen
							     : FULL(l->family);
	uint8_t key[16];
	prefix_cut(key, l->addr, plen);
	struct identity id = {.user = (char *)l->user,
			      .groups = (char **)l->groups,
			      .ngroups = l->ngroups,
			      .expires = now + (time_t)l->ttl_s,
			      .learned = now,
			      .seen = now,
			      .source = l->source};
	char *was_user = NULL;
	enum id_source was_src = IDS_MANUAL;
	enum login_result r;
	pthread_rwlock_wrlock(&t->lock);
	struct id_source_stats *st = &t->st[l->source];
	struct ipentry *pe = find(t, l->family, key, plen);
	bool live = pe && pe->id.expires > now;
	if (ignored(t, l->user)) {
		st->ignored++;
		r = LOGIN_IGNORED;
	} else if (live && pe->id.source == l->source &&
		   same_user(t, pe->id.user, l->user)) {
		refresh(t, pe, l, now);
		st->logins++;
		r = LOGIN_REFRESHED;
	} else if (!pe && t->n >= IDTABLE_LOGINS_MAX &&
		   l->source != IDS_MANUAL) {
		st->rejected_full++;
		r = LOGIN_FULL;
	} else {
		if (pe) {
			if (live) {
				was_user = xstrdup(pe->id.user);
				was_src = pe->id.source;
			}
			unlink_entry(t, pe);
		}
		link_entry(t, l->family, key, plen, &id);
		st->logins++;
		r = was_user ? LOGIN_REPLACED : LOGIN_NEW;
		if (was_user)
			st->replaced++;
	}
	bool say_full = r == LOGIN_FULL && now - t->full_logged >= 60;
	if (say_full)
		t->full_logged = now;
	pthread_rwlock_unlock(&t->lock);
	char ab[INET6_ADDRSTRLEN + 16];
	inet_ntop(l->family, key, ab, INET6_ADDRSTRLEN);
	if (plen < FULL(l->family))
		snprintf(ab + strlen(ab), sizeof(ab) - strlen(ab), "/%u", plen);
	if (r == LOGIN_REPLACED)
		log_info("identity %s: %s (%s) replaces %s (%s)", ab, l->user,
			 id_source_name(l->source), was_user,
			 id_source_name(was_src));
	else if (r == LOGIN_IGNORED)
		log_debug("identity %s: %s (%s) is on the ignore list", ab,
			  l->user, id_source_name(l->source));
	else if (say_full)
		log_warnx("identity %s: %s (%s) refused: the table holds %u "
			  "entries, the most logins may fill (counted "
			  "rejected_full; said once a minute)",
			  ab, l->user, id_source_name(l->source),
			  IDTABLE_LOGINS_MAX);
	free(was_user);
	return r;
}

bool idtable_logout(struct idtable *t, int family, const uint8_t *addr,
		    const char *user, enum id_source source)
{
	return idtable_logout_prefix(t, family, addr, FULL(family), user,
				     source);
}

bool idtable_logout_prefix(struct idtable *t, int family, const uint8_t *addr,
			   unsigned plen, const char *user,
			   enum id_source source)
{
	bool found = false;
	if (plen > FULL(family))
		return false;
	uint8_t key[16];
	prefix_cut(key, addr, plen);
	pthread_rwlock_wrlock(&t->lock);
	struct ipentry *pe = find(t, family, key, plen);
	if (pe && (!user || same_user(t, pe->id.user, user))) {
		unlink_entry(t, pe);
		t->st[source].logouts++;
		found = true;
	}
	pthread_rwlock_unlock(&t->lock);
	return found;
}

void idtable_reject(struct idtable *t, enum id_source source,
		    enum id_reject why)
{
	struct id_source_stats *st = &t->st[source];
	uint64_t *c = why == IDR_SECRET	     ? &st->rejected_secret
		      : why == IDR_CLIENT    ? &st->rejected_client
		      : why == IDR_MALFORMED ? &st->rejected_malformed
					     : &st->replayed;
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

void idtable_source_stats(struct idtable *t, struct id_source_stats *out)
{
	pthread_rwlock_rdlock(&t->lock);
	for (int i = 0; i < IDS_COUNT; i++) {
		out[i] = t->st[i];
		out[i].rejected_secret = __atomic_load_n(
		    &t->st[i].rejected_secret, __ATOMIC_RELAXED);
		out[i].rejected_client = __atomic_load_n(
		    &t->st[i].rejected_client, __ATOMIC_RELAXED);
		out[i].rejected_malformed = __atomic_load_n(
		    &t->st[i].rejected_malformed, __ATOMIC_RELAXED);
		out[i].replayed = __atomic_load_n(&t->st[i].replayed,
						  __ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&t->lock);
}

void idtable_set(struct idtable *t, int family, const uint8_t *addr,
		 const char *user, const char *const *groups, size_t ngroups,
		 uint32_t ttl_s)
{
	idtable_login(t, &(struct id_login){family, addr, user, groups,
					    ngroups, ttl_s, IDS_MANUAL, 0});
}

bool idtable_del(struct idtable *t, int family, const uint8_t *addr)
{
	return idtable_logout(t, family, addr, NULL, IDS_MANUAL);
}

bool idtable_get(struct idtable *t, int family, const uint8_t *addr,
		 struct identity *out)
{
	pthread_rwlock_rdlock(&t->lock);
	const struct ipentry *e = lookup(t, family, addr, time(NULL));
	if (e)
		identity_copy(out, &e->id);
	pthread_rwlock_unlock(&t->lock);
	return e != NULL;
}

int idtable_with(struct idtable *t, int family, const uint8_t *addr,
		 int (*fn)(void *arg, const struct identity *id), void *arg)
{
	pthread_rwlock_rdlock(&t->lock);
	const struct ipentry *e = lookup(t, family, addr, time(NULL));
	int r = fn(arg, e ? &e->id : NULL);
	pthread_rwlock_unlock(&t->lock);
	return r;
}

void idtable_each(struct idtable *t,
		  void (*fn)(void *arg, int family, const uint8_t *addr,
			     unsigned plen, const struct identity *id),
		  void *arg)
{
	time_t now = time(NULL);
	pthread_rwlock_rdlock(&t->lock);
	struct htable_iter it;
	for (struct htable_node *hn = htable_first(&t->h, &it); hn;
	     hn = htable_next(&it)) {
		const struct ipentry *e = HTABLE_ENTRY(hn, struct ipentry, hn);
		if (e->id.expires > now)
			fn(arg, e->family, e->addr, e->plen, &e->id);
	}
	pthread_rwlock_unlock(&t->lock);
}

size_t idtable_expire(struct idtable *t)
{
	size_t n = 0;
	time_t now = time(NULL);
	pthread_rwlock_wrlock(&t->lock);
	struct htable_iter it;
	for (struct htable_node *hn = htable_first(&t->h, &it); hn;
	     hn = htable_next(&it)) {
		struct ipentry *e = HTABLE_ENTRY(hn, struct ipentry, hn);
		if (e->id.expires <= now) {
			unlink_entry(t, e);
			n++;
		}
	}
	pthread_rwlock_unlock(&t->lock);
	return n;
}

size_t idtable_count(struct idtable *t)
{
	pthread_rwlock_rdlock(&t->lock);
	size_t n = t->n;
	pthread_rwlock_unlock(&t->lock);
	return n;
}

uint64_t idtable_removed(struct idtable *t)
{
	pthread_rwlock_rdlock(&t->lock);
	uint64_t v = t->removed;
	pthread_rwlock_unlock(&t->lock);
	return v;
}

uint64_t idtable_version(struct idtable *t)
{
	pthread_rwlock_rdlock(&t->lock);
	uint64_t v = t->version;
	pthread_rwlock_unlock(&t->lock);
	return v;
}

/* ---- the state file ------------------------------------------------------ */

int idtable_parse_prefix(const char *text, uint8_t addr[16], unsigned *plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n = strlen(text);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n + 1);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(addr, 0, 16);
	int family = inet_pton(AF_INET, buf, addr) == 1	 ? AF_INET
		     : inet_pton(AF_INET6, buf, addr) == 1 ? AF_INET6
							   : -1;
	if (family < 0)
		return -1;
	*plen = FULL(family);
	if (slash) {
		const char *d = slash + 1;
		unsigned v = 0;
		if (!*d || strlen(d) > 3)
			return -1;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return -1;
			v = v * 10 + (unsigned)(*d - '0');
		}
		if (v > FULL(family))
			return -1;
		uint8_t m[16];
		prefix_cut(m, addr, v);
		if (memcmp(m, addr, 16) != 0)
			return -1; /* host bits set */
		*plen = v;
	}
	return family;
}

/* One entry of a snapshot: an ipentry's key and identity, its strings
 * as offsets into the snapshot's arena (user, then each group). */
struct snap_entry {
	int family;
	uint8_t plen;
	uint8_t addr[16];
	time_t expires, learned, seen;
	enum id_source source;
	size_t user;	/* offset of the user in the arena */
	size_t ngroups; /* the groups follow the user, NUL-separated */
};

struct idtable_snapshot {
	struct snap_entry *v;
	size_t n;
	char *arena;
	size_t len, cap;
};

/* Appends S with its NUL to the arena of SN; returns its offset. */
static size_t arena_add(struct idtable_snapshot *sn, const char *s)
{
	size_t l = strlen(s) + 1, at = sn->len;
	if (sn->len + l > sn->cap) {
		sn->cap = (sn->len + l) * 2;
		sn->arena = xrealloc(sn->arena, sn->cap);
	}
	memcpy(sn->arena + at, s, l);
	sn->len += l;
	return at;
}

struct idtable_snapshot *idtable_snapshot(struct idtable *t, time_t now)
{
	struct idtable_snapshot *sn = xcalloc(1, sizeof(*sn));
	pthread_rwlock_rdlock(&t->lock);
	struct htable_iter it;
	for (struct htable_node *hn = htable_first(&t->h, &it); hn;
	     hn = htable_next(&it)) {
		const struct ipentry *e = HTABLE_ENTRY(hn, struct ipentry, hn);
		if (e->id.expires <= now)
			continue;
		struct snap_entry x = {.family = e->family,
				       .plen = e->plen,
				       .expires = e->id.expires,
				       .learned = e->id.learned,
				       .seen = e->id.seen,
				       .source = e->id.source,
				       .user = arena_add(sn, e->id.user),
				       .ngroups = e->id.ngroups};
		memcpy(x.addr, e->addr, sizeof(x.addr));
		for (size_t i = 0; i < e->id.ngroups; i++)
			arena_add(sn, e->id.groups[i]);
		VEC_PUSH(sn->v, sn->n, x);
	}
	pthread_rwlock_unlock(&t->lock);
	return sn;
}

void idtable_snapshot_free(struct idtable_snapshot *sn)
{
	if (!sn)
		return;
	free(sn->v);
	free(sn->arena);
	free(sn);
}

size_t idtable_snapshot_count(const struct idtable_snapshot *sn)
{
	return sn->n;
}

/* Group names a snapshot entry shows FN without an allocation; an entry
 * with more has its list allocated. */
#define SNAP_GROUPS_INLINE 16

size_t idtable_snapshot_each(const struct idtable_snapshot *sn, size_t from,
			     size_t n,
			     void (*fn)(void *arg, int family,
					const uint8_t *addr, unsigned plen,
					const struct identity *id),
			     void *arg)
{
	size_t end = from >= sn->n ? sn->n : n < sn->n - from ? from + n : sn->n;
	for (size_t i = from; i < end; i++) {
		const struct snap_entry *e = &sn->v[i];
		char *inline_groups[SNAP_GROUPS_INLINE + 1];
		char **groups = e->ngroups < SNAP_GROUPS_INLINE
				    ? inline_groups
				    : xcalloc(e->ngroups + 1, sizeof(*groups));
		char *g = sn->arena + e->user;
		for (size_t k = 0; k < e->ngroups; k++) {
			g += strlen(g) + 1;
			groups[k] = g;
		}
		groups[e->ngroups] = NULL;
		struct identity id = {.user = sn->arena + e->user,
				      .groups = groups,
				      .ngroups = e->ngroups,
				      .expires = e->expires,
				      .learned = e->learned,
				      .seen = e->seen,
				      .source = e->source};
		fn(arg, e->family, e->addr, e->plen, &id);
		if (groups != inline_groups)
			free(groups);
	}
	return end;
}

static json_t *entry_json(const struct idtable_snapshot *sn,
			  const struct snap_entry *e)
{
	char ab[INET6_ADDRSTRLEN + 16];
	inet_ntop(e->family, e->addr, ab, INET6_ADDRSTRLEN);
	if (e->plen < FULL(e->family))
		snprintf(ab + strlen(ab), sizeof(ab) - strlen(ab), "/%u", e->plen);
	json_t *groups = json_array();
	const char *g = sn->arena + e->user;
	for (size_t i = 0; i < e->ngroups; i++) {
		g += strlen(g) + 1;
		json_array_append_new(groups, json_string(g));
	}
	return json_pack("{s:s, s:s, s:o, s:s, s:I, s:I, s:I}", "address", ab,
			 "user", sn->arena + e->user, "groups", groups, "source",
			 id_source_name(e->source), "learned",
			 (json_int_t)e->learned, "seen", (json_int_t)e->seen,
			 "expires", (json_int_t)e->expires);
}

char *idtable_snapshot_save(const struct idtable_snapshot *sn, size_t *len)
{
	json_t *entries = json_array();
	for (size_t i = 0; i < sn->n; i++)
		json_array_append_new(entries, entry_json(sn, &sn->v[i]));
	json_t *root = json_pack("{s:i, s:o}", "version", STATE_VERSION,
				 "entries", entries);
	char *text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		fatalx("out of memory");
	*len = strlen(text);
	return text;
}

char *idtable_save(struct idtable *t, size_t *len)
{
	struct idtable_snapshot *sn = idtable_snapshot(t, time(NULL));
	char *text = idtable_snapshot_save(sn, len);
	idtable_snapshot_free(sn);
	return text;
}

/* One entry of the state file into the table; false when it does not
 * read right or has expired. */
static bool load_entry(struct idtable *t, json_t *o, time_t now)
{
	const char *address, *user, *source;
	json_t *groups;
	json_int_t learned, seen, expires;
	if (json_unpack(o, "{s:s, s:s, s:o, s:s, s:I, s:I, s:I}", "address",
			&address, "user", &user, "groups", &groups, "source",
			&source, "learned", &learned, "seen", &seen, "expires",
			&expires) < 0 ||
	    !json_is_array(groups) || text_name_problem(user) ||
	    expires <= now || learned > seen || seen > expires)
		return false;
	int src = id_source_parse(source);
	uint8_t addr[16] = {0};
	unsigned plen;
	int family = idtable_parse_prefix(address, addr, &plen);
	size_t ng = json_array_size(groups);
	if (src < 0 || family < 0 || ng > 4096)
		return false;
	const char **gv = xcalloc(ng + 1, sizeof(*gv));
	for (size_t i = 0; i < ng; i++) {
		gv[i] = json_string_value(json_array_get(groups, i));
		if (!gv[i] || text_name_problem(gv[i])) {
			free(gv);
			return false;
		}
	}
	struct identity id = {.user = (char *)user,
			      .groups = (char **)gv,
			      .ngroups = ng,
			      .expires = (time_t)expires,
			      .learned = (time_t)learned,
			      .seen = (time_t)seen,
			      .source = (enum id_source)src};
	pthread_rwlock_wrlock(&t->lock);
	struct ipentry *pe = find(t, family, addr, plen);
	if (pe)
		unlink_entry(t, pe);
	link_entry(t, family, addr, plen, &id);
	pthread_rwlock_unlock(&t->lock);
	free(gv);
	return true;
}

long idtable_load(struct idtable *t, const char *text, size_t len,
		  time_t now)
{
	json_error_t err;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	json_t *entries = json_object_get(root, "entries");
	json_t *ver = json_object_get(root, "version");
	if (!json_is_array(entries) || json_integer_value(ver) != STATE_VERSION) {
		json_decref(root);
		return -1;
	}
	long n = 0;
	size_t i;
	json_t *o;
	json_array_foreach(entries, i, o) {
		if (load_entry(t, o, now))
			n++;
	}
	json_decref(root);
	return n;
}
