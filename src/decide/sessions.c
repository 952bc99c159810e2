/* sessions.c — see sessions.h. A hash table plus a FIFO ring for eviction. */
#include "decide/sessions.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sentry {
	struct session_key key;
	struct session_info info;
	struct sentry *next;
	bool live;
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
	struct sentry **pp = slot(s, &e->key);
	if (*pp == e) {
		*pp = e->next;
		e->live = false;
		s->n--;
	}
}

void sessions_put(struct sessions *s, const struct session_key *k,
		  const struct session_info *info)
{
	pthread_mutex_lock(&s->lock);
	struct sentry **pp = slot(s, k);
	if (*pp) {
		(*pp)->info = *info;
	} else {
		struct sentry *e = &s->ring[s->head];
		if (e->live)
			unlink_entry(s, e);
		s->head = (s->head + 1) % s->max;
		e->key = *k;
		e->info = *info;
		e->live = true;
		pp = slot(s, k); /* unlinking may have changed the chain */
		e->next = *pp;
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
