/*
 * username.c — see username.h: the canonical form of a user name.
 */
#include "common/username.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static bool ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The LEN bytes at A and B are equal with ASCII case folded. */
static bool ascii_equal(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

bool own_realm_has(const struct own_realms *own, const char *realm,
		   size_t len)
{
	for (size_t i = 0; own && len && i < own->n; i++)
		if (strlen(own->v[i]) == len &&
		    ascii_equal(own->v[i], realm, len))
			return true;
	return false;
}

/* The last C in [B, E), or NULL. */
static const char *last_of(const char *b, const char *e, char c)
{
	for (const char *p = e; p > b; p--)
		if (p[-1] == c)
			return p - 1;
	return NULL;
}

/* [*B, *E) without the white space around it. */
static void trim(const char **b, const char **e)
{
	while (*b < *e && ascii_space(**b))
		(*b)++;
	while (*e > *b && ascii_space((*e)[-1]))
		(*e)--;
}

/* The canonical part of [B, E) under OWN (user_name_span); *LEN 0: no
 * name. */
static const char *span_of(const struct own_realms *own, const char *b,
			   const char *e, size_t *len)
{
	*len = 0;
	trim(&b, &e);
	/* DOMAIN\user (MS-ADTS down-level logon name): the first `\` */
	const char *bs = memchr(b, '\\', (size_t)(e - b));
	const char *u = bs ? bs + 1 : b;
	/* user@REALM (RFC 7542 NAI, Kerberos principal, UPN): the last `@` */
	const char *at = last_of(u, e, '@');
	const char *ue = at ? at : e;
	if (u == ue || (bs && bs == b) || (at && at + 1 == e))
		return b; /* an empty user, domain or realm: no name */
	bool own_dom = !bs || own_realm_has(own, b, (size_t)(bs - b));
	bool own_realm = !at || own_realm_has(own, at + 1, (size_t)(e - at - 1));
	if (!own_dom || !own_realm) { /* another organisation's account */
		*len = (size_t)(e - b);
		return b;
	}
	*len = (size_t)(ue - u);
	return u;
}

const char *user_name_span(const struct own_realms *own, const char *name,
			   size_t *len)
{
	*len = 0;
	if (!name)
		return name;
	const char *s = span_of(own, name, name + strlen(name), len);
	size_t again;
	/* one step, never two: `carol@OWN@OWN` is not carol (the portal's
	 * canonical form, canonicalised again by sluiced, would be) */
	if (*len && (span_of(own, s, s + *len, &again) != s || again != *len))
		*len = 0;
	return s;
}

bool user_name_equal(const struct own_realms *own, const char *a,
		     const char *b)
{
	size_t la, lb;
	const char *pa = user_name_span(own, a, &la);
	const char *pb = user_name_span(own, b, &lb);
	return la && la == lb && ascii_equal(pa, pb, la);
}

char *user_name_canon(const struct own_realms *own, const char *name)
{
	size_t n;
	const char *b = user_name_span(own, name, &n);
	if (!n)
		return NULL;
	char *k = xstrndup(b, n);
	for (char *p = k; *p; p++)
		*p = ascii_lower(*p);
	return k;
}

void own_realms_add(struct own_realms *own, const char *realm, size_t len)
{
	if (!len || own_realm_has(own, realm, len))
		return;
	VEC_PUSH(own->v, own->n, xstrndup(realm, len));
}

void own_realms_copy(struct own_realms *dst, const struct own_realms *src)
{
	own_realms_free(dst);
	for (size_t i = 0; src && i < src->n; i++)
		own_realms_add(dst, src->v[i], strlen(src->v[i]));
}

bool own_realms_equal(const struct own_realms *a, const struct own_realms *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strlen(a->v[i]) != strlen(b->v[i]) ||
		    !ascii_equal(a->v[i], b->v[i], strlen(a->v[i])))
			return false;
	return true;
}

void own_realms_free(struct own_realms *own)
{
	for (size_t i = 0; i < own->n; i++)
		free(own->v[i]);
	free(own->v);
	own->v = NULL;
	own->n = 0;
}
