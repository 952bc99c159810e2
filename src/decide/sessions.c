/*
 * sessions.c — see sessions.h. A hash table (common/htable.h, seeded, O(1)
 * removal) plus a FIFO ring for eviction: evicting the oldest unlinks only
 * it, and the table, sized for the ring, never grows. An entry's facts are
 * one packed buffer ("user\0name\0group\0group\0..."), kept and reused by
 * its ring slot, so a put allocates only when a slot meets longer facts
 * than it held before.
 */
#include "decide/sessions.h"
#include "common/htable.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sentry {
	struct session_key key;
	struct htable_node hn; /* in sessions.h while live */
	bool live;
	int rule;
	uint64_t gen;
	time_t decided;
	enum fact_source source;
	bool groups_unknown, has_user, has_name;
	size_t ngroups;
	char *facts; /* packed: user, name (each "" when absent), groups */
	size_t len, cap;
};

struct sessions {
	pthread_mutex_t lock;
	struct htable h; /* live ring entries by key */
	struct sentry *ring; /* max entries, reused in order */
	size_t max, head, n;
};

const char *fact_source_name(enum fact_source s)
{
	switch (s) {
	case IDSRC_TABLE: return "table";
	case IDSRC_DIRECTORY: return "directory";
	case IDSRC_LOCAL: return "local";
	case IDSRC_NONE: break;
	}
	return "none";
}

static uint64_t key_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, sizeof(struct session_key));
}

static bool key_equal(const struct htable_node *n, const void *key)
{
	return memcmp(&HTABLE_ENTRY(n, const struct sentry, hn)->key, key,
		      sizeof(struct session_key)) == 0;
}

static const struct htable_ops key_ops = {key_hash, key_equal};

struct sessions *sessions_new(size_t max)
{
	struct sessions *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->max = max ? max : 1;
	htable_init(&s->h, &key_ops, s->max);
	s->ring = xcalloc(s->max, sizeof(*s->ring));
	return s;
}

void sessions_free(struct sessions *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	for (size_t i = 0; i < s->max; i++)
		free(s->ring[i].facts);
	htable_fini(&s->h);
	free(s->ring);
	free(s);
}

/* The live entry of K (hash H), or NULL. */
static struct sentry *find(struct sessions *s, const struct session_key *k,
			   uint64_t h)
{
	return HTABLE_ENTRY(htable_find_hashed(&s->h, h, k), struct sentry, hn);
}

static void unlink_entry(struct sessions *s, struct sentry *e)
{
	htable_remove(&s->h, &e->hn);
	e->live = false;
	s->n--;
}

/* Appends STR and its terminator to E's facts (room was made). */
static void put_str(struct sentry *e, const char *str)
{
	size_t n = strlen(str) + 1;
	memcpy(e->facts + e->len, str, n);
	e->len += n;
}

/* Bytes F takes packed: user, name, and the groups when KEEP_GROUPS. */
static size_t facts_len(const struct session_facts *f, bool keep_groups)
{
	size_t n = strlen(f->user ? f->user : "") + 1 +
		   strlen(f->name ? f->name : "") + 1;
	for (size_t i = 0; keep_groups && i < f->ngroups; i++)
		n += strlen(f->groups[i]) + 1;
	return n;
}

/* Writes F into E (the lock held). */
static void set_facts(struct sentry *e, int rule, uint64_t gen,
		      time_t decided, const struct session_facts *f)
{
	static const struct session_facts none = {0};
	if (!f)
		f = &none;
	e->rule = rule;
	e->gen = gen;
	e->decided = decided;
	e->source = f->source;
	e->has_user = f->user != NULL;
	e->has_name = f->name != NULL;
	bool keep = facts_len(f, true) <= SESSIONS_FACTS_MAX;
	size_t need = facts_len(f, keep);
	e->groups_unknown = f->groups_unknown || !keep;
	e->ngroups = keep ? f->ngroups : 0;
	if (need > e->cap) {
		e->cap = need < 64 ? 64 : need;
		e->facts = xrealloc(e->facts, e->cap);
	}
	e->len = 0;
	put_str(e, f->user ? f->user : "");
	put_str(e, f->name ? f->name : "");
	for (size_t i = 0; i < e->ngroups; i++)
		put_str(e, f->groups[i]);
}

void sessions_put(struct sessions *s, const struct session_key *k, int rule,
		  uint64_t gen, time_t decided, const struct session_facts *f)
{
	pthread_mutex_lock(&s->lock);
	uint64_t h = htable_hash(&s->h, k);
	struct sentry *e = find(s, k, h);
	if (e) {
		set_facts(e, rule, gen, decided, f);
	} else {
		e = &s->ring[s->head];
		if (e->live)
			unlink_entry(s, e);
		s->head = (s->head + 1) % s->max;
		e->key = *k;
		set_facts(e, rule, gen, decided, f);
		e->live = true;
		htable_insert_hashed(&s->h, &e->hn, h);
		s->n++;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Unpacks E into OUT (a copy of its facts). */
static void get_facts(const struct sentry *e, struct session_info *out)
{
	out->rule = e->rule;
	out->gen = e->gen;
	out->decided = e->decided;
	out->source = e->source;
	out->groups_unknown = e->groups_unknown;
	out->mem = xmalloc(e->len ? e->len : 1);
	memcpy(out->mem, e->facts, e->len);
	char *p = out->mem;
	out->user = e->has_user ? p : NULL;
	p += strlen(p) + 1;
	out->name = e->has_name ? p : NULL;
	p += strlen(p) + 1;
	out->ngroups = e->ngroups;
	out->groups = xcalloc(e->ngroups + 1, sizeof(char *));
	for (size_t i = 0; i < e->ngroups; i++) {
		out->groups[i] = p;
		p += strlen(p) + 1;
	}
}

bool sessions_get(struct sessions *s, const struct session_key *k,
		  struct session_info *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	struct sentry *e = find(s, k, htable_hash(&s->h, k));
	bool found = e != NULL;
	if (found)
		get_facts(e, out);
	pthread_mutex_unlock(&s->lock);
	return found;
}

void session_info_clear(struct session_info *out)
{
	free(out->mem);
	free(out->groups);
	memset(out, 0, sizeof(*out));
}

void sessions_del(struct sessions *s, const struct session_key *k)
{
	pthread_mutex_lock(&s->lock);
	struct sentry *e = find(s, k, htable_hash(&s->h, k));
	if (e)
		unlink_entry(s, e);
	pthread_mutex_unlock(&s->lock);
}

size_t sessions_count(struct sessions *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}
