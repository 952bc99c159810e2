/*
 * guard.c — see portal.h: the portal's password-guessing throttle, kept
 * apart from the loop so that tests/unit/test_portal.c can drive it with
 * its own clock.
 */
#include "common/util.h"
#include "portal/portal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

/* Refused sign-ins of one key (an address, a prefix or a user name) in
 * the window that began at FIRST. */
struct gcount {
	TAILQ_ENTRY(gcount) link; /* oldest first */
	char key[GUARD_KEY_MAX];
	unsigned n;
	time_t first, last;
};

struct guard {
	TAILQ_HEAD(, gcount) list;
	size_t n;
};

struct guard *guard_new(void)
{
	struct guard *g = xcalloc(1, sizeof(*g));
	TAILQ_INIT(&g->list);
	return g;
}

static void drop(struct guard *g, struct gcount *c)
{
	TAILQ_REMOVE(&g->list, c, link);
	g->n--;
	free(c);
}

void guard_free(struct guard *g)
{
	if (!g)
		return;
	while (!TAILQ_EMPTY(&g->list))
		drop(g, TAILQ_FIRST(&g->list));
	free(g);
}

/* Forgets windows that are over (the oldest come first). */
static void expire(struct guard *g, time_t now)
{
	struct gcount *c;
	while ((c = TAILQ_FIRST(&g->list)) &&
	       now - c->first >= GUARD_WINDOW_S)
		drop(g, c);
}

static struct gcount *find(struct guard *g, const char *key, time_t now)
{
	expire(g, now);
	struct gcount *c;
	TAILQ_FOREACH(c, &g->list, link)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

/* One more refusal for KEY at NOW. */
static void note(struct guard *g, const char *key, time_t now)
{
	struct gcount *c = find(g, key, now);
	if (!c) {
		if (g->n >= GUARD_TRACKED)
			drop(g, TAILQ_FIRST(&g->list));
		c = xcalloc(1, sizeof(*c));
		snprintf(c->key, sizeof(c->key), "%s", key);
		c->first = now;
		TAILQ_INSERT_TAIL(&g->list, c, link);
		g->n++;
	}
	c->n++;
	c->last = now;
}

int guard_keys(struct guard_keys *k, const struct sockaddr *sa,
	       unsigned plen4, unsigned plen6, const char *user)
{
	uint8_t a[16] = {0};
	int family = sa->sa_family;
	if (family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (family == AF_INET6) {
		const struct in6_addr *b =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(b)) {
			family = AF_INET;
			memcpy(a, &b->s6_addr[12], 4);
		} else {
			memcpy(a, b, 16);
		}
	} else {
		return -1;
	}
	unsigned bits = family == AF_INET ? 32 : 128;
	unsigned plen = family == AF_INET ? plen4 : plen6;
	if (plen < 1 || plen > bits)
		plen = bits;
	char text[INET6_ADDRSTRLEN];
	inet_ntop(family, a, text, sizeof(text));
	snprintf(k->addr, sizeof(k->addr), "a %s", text);
	for (unsigned i = plen; i < bits; i++)
		a[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	inet_ntop(family, a, text, sizeof(text));
	snprintf(k->prefix, sizeof(k->prefix), "p %s/%u", text, plen);
	size_t i = 0;
	k->user[i++] = 'u', k->user[i++] = ' ';
	for (; *user && i + 1 < sizeof(k->user); user++)
		k->user[i++] = (char)tolower((unsigned char)*user);
	k->user[i] = '\0';
	return 0;
}

enum guard_verdict guard_check(struct guard *g, const struct guard_keys *k,
			       time_t now)
{
	const struct gcount *a = find(g, k->addr, now);
	const struct gcount *p = find(g, k->prefix, now);
	const struct gcount *u = find(g, k->user, now);
	if (a && a->n >= GUARD_ADDR_MAX)
		return GUARD_ADDR;
	if (p && p->n >= GUARD_PREFIX_MAX)
		return GUARD_PREFIX;
	/* a client with no refusal of its own is always let try: the real
	 * user, at a clean address, is never locked out by guesses at the
	 * name from elsewhere */
	if (a && u && u->n >= GUARD_USER_MAX &&
	    now - u->last < GUARD_USER_BACKOFF_S)
		return GUARD_USER;
	return GUARD_OK;
}

void guard_refused(struct guard *g, const struct guard_keys *k, time_t now)
{
	note(g, k->addr, now);
	note(g, k->prefix, now);
	note(g, k->user, now);
}

void guard_signed_in(struct guard *g, const struct guard_keys *k, time_t now)
{
	struct gcount *c;
	if ((c = find(g, k->addr, now)))
		drop(g, c);
	if ((c = find(g, k->user, now)))
		drop(g, c);
}
