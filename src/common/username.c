/*
 * username.c — see username.h: the canonical form of a user name.
 */
#include "common/username.h"
#include "common/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

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

static bool own_realm_has_folded(const struct own_realms *own,
				 const char *realm, size_t len);

/* The canonical part of [B, E) under OWN (user_name_span); *LEN 0: no
 * name. FOLDED: [B, E) is prepared (prep) and OWN's entries compare
 * prepared too. */
static const char *span_of(const struct own_realms *own, bool folded,
			   const char *b, const char *e, size_t *len)
{
	bool (*has)(const struct own_realms *, const char *, size_t) =
	    folded ? own_realm_has_folded : own_realm_has;
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
	bool own_dom = !bs || has(own, b, (size_t)(bs - b));
	bool own_realm = !at || has(own, at + 1, (size_t)(e - at - 1));
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
	const char *s = span_of(own, false, name, name + strlen(name), len);
	size_t again;
	/* one step, never two: `carol@OWN@OWN` is not carol (the portal's
	 * canonical form, canonicalised again by sluiced, would be) */
	if (*len &&
	    (span_of(own, false, s, s + *len, &again) != s || again != *len))
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

/* Printable ASCII but the space (0x21..0x7e) only: what prep() only
 * lower-cases. */
static bool ascii_word(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* RFC 4518 §2.2: mapped to SPACE (white space controls, NEL, and every
 * separator: Zs, Zl, Zp). */
static bool maps_to_space(ucs4_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x85 ||
	       uc_is_general_category(c, UC_CATEGORY_Zs) ||
	       uc_is_general_category(c, UC_CATEGORY_Zl) ||
	       uc_is_general_category(c, UC_CATEGORY_Zp);
}

/* RFC 4518 §2.2: mapped to nothing (soft hyphens, the combining grapheme
 * joiner, variation selectors, the object replacement character, zero
 * width space, every other control and format character: Cc, Cf). */
static bool maps_to_nothing(ucs4_t c)
{
	return c == 0x00ad || c == 0x1806 || c == 0x034f || c == 0x200b ||
	       c == 0xfffc || (c >= 0x180b && c <= 0x180d) ||
	       (c >= 0xfe00 && c <= 0xfe0f) ||
	       uc_is_general_category(c, UC_CATEGORY_Cc) ||
	       uc_is_general_category(c, UC_CATEGORY_Cf);
}

/* RFC 4518 §2.4: prohibited (unassigned, private use, non-characters,
 * the replacement character; surrogates are no UTF-8). */
static bool prohibited(ucs4_t c)
{
	return c == 0xfffd || uc_is_property_not_a_character(c) ||
	       uc_is_general_category(c, UC_CATEGORY_Cn) ||
	       uc_is_general_category(c, UC_CATEGORY_Co);
}

/* The N bytes at S mapped (RFC 4518 §2.2, but for case): a new string of
 * at most N bytes (caller frees), *OUT its length. S is valid UTF-8. */
static uint8_t *prep_map(const uint8_t *s, size_t n, size_t *out)
{
	uint8_t *m = xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		ucs4_t c;
		int l = u8_mbtouc(&c, s + i, n - i);
		if (maps_to_space(c))
			m[o++] = ' ';
		else if (!maps_to_nothing(c)) {
			memcpy(m + o, s + i, (size_t)l);
			o += (size_t)l;
		}
		i += (size_t)l;
	}
	*out = o;
	return m;
}

/* The N prepared bytes at F without prohibited code points and with
 * insignificant spaces handled (RFC 4518 §2.6.1: none at either end, one
 * for each inner run): a new string, NULL when F holds a prohibited code
 * point or nothing but spaces. */
static char *prep_spaces(const uint8_t *f, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;
	bool space = false;
	for (size_t i = 0; i < n;) {
		ucs4_t c;
		int l = u8_mbtouc(&c, f + i, n - i);
		if (prohibited(c)) {
			free(out);
			return NULL;
		}
		if (c == ' ') {
			space = k > 0;
		} else {
			if (space)
				out[k++] = ' ';
			space = false;
			memcpy(out + k, f + i, (size_t)l);
			k += (size_t)l;
		}
		i += (size_t)l;
	}
	out[k] = '\0';
	if (!k) {
		free(out);
		return NULL;
	}
	return out;
}

/* NAME prepared as RFC 4518 §2 prepares a caseIgnoreMatch value: mapped
 * (§2.2), case folded and NFKC-normalised (§2.2, §2.3: libunistring's
 * u8_casefold), prohibited code points refused (§2.4), insignificant
 * spaces handled (§2.6.1). A new string (caller frees), NULL when NAME is
 * not UTF-8, holds a prohibited code point or prepares to nothing. */
static char *prep(const char *name)
{
	size_t n = strlen(name);
	if (ascii_word(name)) { /* the common case: only case to fold */
		char *k = n ? xstrndup(name, n) : NULL;
		for (char *p = k; p && *p; p++)
			*p = ascii_lower(*p);
		return k;
	}
	const uint8_t *s = (const uint8_t *)name;
	if (u8_check(s, n))
		return NULL;
	size_t mlen, flen;
	uint8_t *m = prep_map(s, n, &mlen);
	uint8_t *f = u8_casefold(m, mlen, NULL, UNINORM_NFKC, NULL, &flen);
	free(m);
	if (!f)
		return NULL; /* ENOMEM */
	char *out = prep_spaces(f, flen);
	free(f);
	return out;
}

/* REALM (LEN prepared bytes) is one of OWN's entries, prepared. */
static bool own_realm_has_folded(const struct own_realms *own,
				 const char *realm, size_t len)
{
	bool hit = false;
	for (size_t i = 0; own && len && i < own->n && !hit; i++) {
		if (ascii_word(own->v[i])) {
			hit = strlen(own->v[i]) == len &&
			      ascii_equal(own->v[i], realm, len);
			continue;
		}
		char *f = prep(own->v[i]);
		hit = f && strlen(f) == len && memcmp(f, realm, len) == 0;
		free(f);
	}
	return hit;
}

char *user_name_fold(const struct own_realms *own, const char *name)
{
	char *f = name ? prep(name) : NULL;
	if (!f)
		return NULL;
	size_t n;
	const char *s = span_of(own, true, f, f + strlen(f), &n);
	char *k = n ? xstrndup(s, n) : NULL;
	free(f);
	if (!k)
		return NULL;
	/* one step, never two (as user_name_span): prepared and made
	 * canonical again, the form is itself */
	char *again = prep(k);
	size_t n2 = 0;
	const char *s2 =
	    again ? span_of(own, true, again, again + strlen(again), &n2) : NULL;
	bool fixed = s2 && n2 == strlen(k) && memcmp(s2, k, n2) == 0;
	free(again);
	if (!fixed) {
		free(k);
		return NULL;
	}
	return k;
}

/* OWN's entries are all ascii_word()s. */
static bool own_ascii(const struct own_realms *own)
{
	for (size_t i = 0; own && i < own->n; i++)
		if (!ascii_word(own->v[i]))
			return false;
	return true;
}

bool user_name_listed(const struct own_realms *own, char *const *list,
		      size_t n, const char *name)
{
	bool ascii = name && ascii_word(name) && own_ascii(own);
	for (size_t i = 0; i < n; i++) {
		if (user_name_equal(own, list[i], name))
			return true;
		ascii = ascii && ascii_word(list[i]);
	}
	if (!n || !name || ascii) /* folded, nothing more would match */
		return false;
	char *k = user_name_fold(own, name);
	bool hit = false;
	for (size_t i = 0; k && i < n && !hit; i++) {
		char *e = user_name_fold(own, list[i]);
		hit = e && strcmp(e, k) == 0;
		free(e);
	}
	free(k);
	return hit;
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
