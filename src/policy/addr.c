/*
 * addr.c — addresses and address sets.
 *
 * An addrset is kept as sorted, merged, inclusive ranges per family. Builders
 * append unsorted ranges and call addrset_normalize() once at the end.
 */
#include "policy/internal.h"
#include "common/util.h"

#include <ctype.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static u128 u128_from_bytes(const unsigned char b[16])
{
	u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = (v << 8) | b[i];
	return v;
}

static void u128_to_bytes(u128 v, unsigned char b[16])
{
	for (int i = 15; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

int parse_addr(const char *s, uint32_t *v4, u128 *v6)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		*v4 = ntohl(a4.s_addr);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		*v6 = u128_from_bytes(a6.s6_addr);
		return AF_INET6;
	}
	return 0;
}

const char *format_addr(int family, uint32_t v4, u128 v6, char *buf,
			size_t len)
{
	if (family == AF_INET) {
		struct in_addr a = {.s_addr = htonl(v4)};
		inet_ntop(AF_INET, &a, buf, (socklen_t)len);
	} else {
		struct in6_addr a;
		u128_to_bytes(v6, a.s6_addr);
		inet_ntop(AF_INET6, &a, buf, (socklen_t)len);
	}
	return buf;
}

/*
 * Parses one address element: "A", "A/len" or "A-B". On success appends the
 * range to S and returns 0; on error returns -1 with a message in *ERR
 * (allocated, caller frees).
 */
int addrset_parse_elem(struct addrset *s, const char *text, char **err)
{
	char buf[128], *slash, *dash;
	uint32_t a4, b4;
	u128 a6, b6;
	int fa, fb;

	if (strlen(text) >= sizeof(buf)) {
		*err = xasprintf("'%s' is not an address", text);
		return -1;
	}
	strcpy(buf, text);
	if ((slash = strchr(buf, '/'))) {
		char *end;
		*slash = '\0';
		fa = parse_addr(buf, &a4, &a6);
		long len = strtol(slash + 1, &end, 10);
		int max = fa == AF_INET ? 32 : 128;
		if (!fa) {
			*err = xasprintf("'%s' is not an address", buf);
			return -1;
		}
		if (*end || slash[1] == '\0' || len < 0 || len > max) {
			*err = xasprintf("bad prefix length in '%s' (0..%d)",
					 text, max);
			return -1;
		}
		if (fa == AF_INET) {
			uint32_t host = len == 32 ? 0 : (0xffffffffu >> len);
			if (a4 & host) {
				char nb[64];
				*err = xasprintf(
				    "'%s' has host bits set; did you mean %s/%ld?",
				    text, format_addr(AF_INET, a4 & ~host, 0, nb,
						      sizeof(nb)),
				    len);
				return -1;
			}
			struct range4 r = {a4, a4 | host};
			VEC_PUSH(s->v4, s->n4, r);
		} else {
			u128 host = len == 128 ? 0 : (~(u128)0 >> len);
			if (a6 & host) {
				char nb[64];
				*err = xasprintf(
				    "'%s' has host bits set; did you mean %s/%ld?",
				    text, format_addr(AF_INET6, 0, a6 & ~host,
						      nb, sizeof(nb)),
				    len);
				return -1;
			}
			struct range6 r = {a6, a6 | host};
			VEC_PUSH(s->v6, s->n6, r);
		}
		return 0;
	}
	/* A '-' may only separate two addresses (IPv6 never contains '-'). */
	if ((dash = strchr(buf, '-'))) {
		*dash = '\0';
		fa = parse_addr(buf, &a4, &a6);
		fb = parse_addr(dash + 1, &b4, &b6);
		if (!fa || !fb) {
			*err = xasprintf("'%s' is not an address range",
					 text);
			return -1;
		}
		if (fa != fb) {
			*err = xasprintf("range '%s' mixes IPv4 and IPv6", text);
			return -1;
		}
		if (fa == AF_INET ? a4 > b4 : a6 > b6) {
			*err = xasprintf("range '%s' ends before it starts",
					 text);
			return -1;
		}
		if (fa == AF_INET) {
			struct range4 r = {a4, b4};
			VEC_PUSH(s->v4, s->n4, r);
		} else {
			struct range6 r = {a6, b6};
			VEC_PUSH(s->v6, s->n6, r);
		}
		return 0;
	}
	fa = parse_addr(buf, &a4, &a6);
	if (fa == AF_INET) {
		struct range4 r = {a4, a4};
		VEC_PUSH(s->v4, s->n4, r);
	} else if (fa == AF_INET6) {
		struct range6 r = {a6, a6};
		VEC_PUSH(s->v6, s->n6, r);
	} else {
		*err = xasprintf("'%s' is not an address", text);
		return -1;
	}
	return 0;
}

static int cmp4(const void *a, const void *b)
{
	const struct range4 *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp6(const void *a, const void *b)
{
	const struct range6 *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges the ranges of S (overlapping or adjacent ones join). */
void addrset_normalize(struct addrset *s)
{
	size_t k = 0;

	if (s->n4) {
		xqsort(s->v4, s->n4, sizeof(*s->v4), cmp4);
		for (size_t i = 1; i < s->n4; i++) {
			struct range4 *last = &s->v4[k];
			if (last->hi == UINT32_MAX ||
			    s->v4[i].lo <= last->hi + 1) {
				if (s->v4[i].hi > last->hi)
					last->hi = s->v4[i].hi;
			} else {
				s->v4[++k] = s->v4[i];
			}
		}
		s->n4 = k + 1;
	}
	k = 0;
	if (s->n6) {
		xqsort(s->v6, s->n6, sizeof(*s->v6), cmp6);
		for (size_t i = 1; i < s->n6; i++) {
			struct range6 *last = &s->v6[k];
			if (last->hi == ~(u128)0 ||
			    s->v6[i].lo <= last->hi + 1) {
				if (s->v6[i].hi > last->hi)
					last->hi = s->v6[i].hi;
			} else {
				s->v6[++k] = s->v6[i];
			}
		}
		s->n6 = k + 1;
	}
}

/* Appends every range of SRC to DST (normalize afterwards). */
void addrset_add(struct addrset *dst, const struct addrset *src)
{
	for (size_t i = 0; i < src->n4; i++)
		VEC_PUSH(dst->v4, dst->n4, src->v4[i]);
	for (size_t i = 0; i < src->n6; i++)
		VEC_PUSH(dst->v6, dst->n6, src->v6[i]);
}

/* Makes S the full address space of both families. */
void addrset_fill(struct addrset *s)
{
	struct range4 r4 = {0, UINT32_MAX};
	struct range6 r6 = {0, ~(u128)0};
	VEC_PUSH(s->v4, s->n4, r4);
	VEC_PUSH(s->v6, s->n6, r6);
}

/* Sets OUT to the complement of the normalized set IN. */
void addrset_complement(const struct addrset *in, struct addrset *out)
{
	uint32_t next4 = 0;
	bool done4 = false;
	for (size_t i = 0; i < in->n4; i++) {
		if (in->v4[i].lo > next4) {
			struct range4 r = {next4, in->v4[i].lo - 1};
			VEC_PUSH(out->v4, out->n4, r);
		}
		if (in->v4[i].hi == UINT32_MAX) {
			done4 = true;
			break;
		}
		next4 = in->v4[i].hi + 1;
	}
	if (!done4) {
		struct range4 r = {next4, UINT32_MAX};
		VEC_PUSH(out->v4, out->n4, r);
	}
	u128 next6 = 0;
	bool done6 = false;
	for (size_t i = 0; i < in->n6; i++) {
		if (in->v6[i].lo > next6) {
			struct range6 r = {next6, in->v6[i].lo - 1};
			VEC_PUSH(out->v6, out->n6, r);
		}
		if (in->v6[i].hi == ~(u128)0) {
			done6 = true;
			break;
		}
		next6 = in->v6[i].hi + 1;
	}
	if (!done6) {
		struct range6 r = {next6, ~(u128)0};
		VEC_PUSH(out->v6, out->n6, r);
	}
}

/* True when every address of the normalized set B is in the normalized A. */
bool addrset_covers(const struct addrset *a, const struct addrset *b)
{
	size_t j = 0;
	for (size_t i = 0; i < b->n4; i++) {
		while (j < a->n4 && a->v4[j].hi < b->v4[i].lo)
			j++;
		if (j == a->n4 || a->v4[j].lo > b->v4[i].lo ||
		    a->v4[j].hi < b->v4[i].hi)
			return false;
	}
	j = 0;
	for (size_t i = 0; i < b->n6; i++) {
		while (j < a->n6 && a->v6[j].hi < b->v6[i].lo)
			j++;
		if (j == a->n6 || a->v6[j].lo > b->v6[i].lo ||
		    a->v6[j].hi < b->v6[i].hi)
			return false;
	}
	return true;
}

bool addrset_has4(const struct addrset *s, uint32_t a)
{
	size_t lo = 0, hi = s->n4;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->v4[mid].hi < a)
			lo = mid + 1;
		else if (s->v4[mid].lo > a)
			hi = mid;
		else
			return true;
	}
	return false;
}

bool addrset_has6(const struct addrset *s, u128 a)
{
	size_t lo = 0, hi = s->n6;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->v6[mid].hi < a)
			lo = mid + 1;
		else if (s->v6[mid].lo > a)
			hi = mid;
		else
			return true;
	}
	return false;
}

bool addrset_empty(const struct addrset *s)
{
	return s->n4 == 0 && s->n6 == 0;
}

void addrset_free(struct addrset *s)
{
	free(s->v4);
	free(s->v6);
	s->v4 = NULL;
	s->v6 = NULL;
	s->n4 = s->n6 = 0;
}

/* True when NAME is a DNS name a check can ask for: 1..253 characters of
 * letters, digits, `-` and `_` in dot-separated labels of 1..63 (RFC 1035
 * §2.3.4; `_` for service names), one trailing dot allowed. */
bool dns_name_ok(const char *name)
{
	size_t n = strlen(name), label = 0;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}
