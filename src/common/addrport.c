/*
 * addrport.c — see addrport.h.
 */
#include "common/addrport.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *addrport_split(const char *s, char *host, size_t hostlen,
			   unsigned *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1])
		return "expected ADDRESS:PORT";
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (*end || errno || !isdigit((unsigned char)colon[1]) || p > 65535)
		return "the port must be 1 to 65535";
	const char *h = s;
	size_t hl = (size_t)(colon - s);
	if (s[0] == '[') { /* "[" V6 "]" ":" PORT, one ']' */
		if (colon[-1] != ']' || hl < 3 || memchr(s + 1, ']', hl - 2))
			return "an IPv6 address goes in brackets: "
			       "[ADDRESS]:PORT";
		h = s + 1;
		hl -= 2;
	} else if (memchr(s, ':', hl) || memchr(s, ']', hl)) {
		return "an IPv6 address goes in brackets: [ADDRESS]:PORT";
	}
	if (hl >= hostlen)
		return "the address is too long";
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned)p;
	return NULL;
}
