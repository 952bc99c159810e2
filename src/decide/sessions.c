/*
 * sessions.c — see sessions.h. A hash table plus a FIFO ring for eviction.
 * Entries are doubly linked in their chain, so evicting the oldest touches
 * only it and its neighbour; a put writes only the bytes its strings use
 * (the ring is cold memory: every line written is a cache miss).
 */
#include "decide/sessions.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sentry {
	struct session_key key;
	struct sentry *next, **pprev; /* pprev: the pointer that points here */
	bool live;
	struct session_info info; /* last: its strings are written to length */
};

struct sessions {
	pthread_mutex_t lock;
	struct sentry **b;
	size_t nb;
	struct sentry *ring; /* max entries, reused in order */
	size_t max, head, n;
};

struct sessions *sessions_new(size_t max)
{
	struct sessions *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->max = max ? max : 1;
	s->nb = 1;
	while (s->nb < s->max)
		s->nb <<= 1;
	s->b = xcalloc(s->nb, sizeof(*s->b));
	s->ring = xcalloc(s->max, sizeof(*s->ring));
	return s;
}

void sessions_free(struct sessions *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->b);
	free(s->ring);
	free(s);
}

static struct sentry **slot(struct sessions *s, const struct session_key *k)
{
	struct sentry **pp = &s->b[session_key_hash(k) & (s->nb - 1)];
	for (; *pp; pp = &(*pp)->next)
		if (memcmp(&(*pp)->key, k, sizeof(*k)) == 0)
			break;
	return pp;
}

static void unlink_entry(struct sessions *s, struct sentry *e)
{
	*e->pprev = e->next;
	if (e->next)
		e->next->pprev = e->pprev;
	e->live = false;
	s->n--;
}

/* Copies SRC into DST (SIZE bytes) up to its terminator only. */
static void copy_str(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void set_info(struct session_info *dst, int rule, uint64_t gen,
		     time_t decided, const char *user, const char *name)
{
	dst->rule = rule;
	dst->gen = gen;
	dst->decided = decided;
	copy_str(dst->user, user ? user : "", sizeof(dst->user));
	copy_str(dst->name, name ? name : "", sizeof(dst->name));
}

void sessions_put(struct sessions *s, const struct session_key *k, int rule,
		  uint64_t gen, time_t decided, const char *user,
		  const char *name)
{
	pthread_mutex_lock(&s->lock);
	struct sentry **pp = slot(s, k);
	if (*pp) {
		set_info(&(*pp)->info, rule, gen, decided, user, name);
	} else {
		struct sentry *e = &s->ring[s->head];
		if (e->live) {
			if (&e->next == pp)
				pp = e->pprev; /* K's place was behind E */
			unlink_entry(s, e);
		}
		s->head = (s->head + 1) % s->max;
		e->key = *k;
		set_info(&e->info, rule, gen, decided, user, name);
		e->live = true;
		e->next = *pp;
		if (e->next)
			e->next->pprev = &e->next;
		e->pprev = pp;
		*pp = e;
		s->n++;
	}
	pthread_mutex_unlock(&s->lock);
}

bool sessions_get(struct sessions *s, const struct session_key *k,
		  struct session_info *out)
{
	pthread_mutex_lock(&s->lock);
	struct sentry **pp = slot(s, k);
	bool found = *pp != NULL;
	if (found)
		*out = (*pp)->info;
	pthread_mutex_unlock(&s->lock);
	return found;
}

void sessions_del(struct sessions *s, const struct session_key *k)
{
	pthread_mutex_lock(&s->lock);
	struct sentry **pp = slot(s, k);
	if (*pp)
		unlink_entry(s, *pp);
	pthread_mutex_unlock(&s->lock);
}

size_t sessions_count(struct sessions *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}
