/*
 * addrport.h — the one reading of the ADDRESS:PORT values of the policy
 * and the listeners that use them (metrics listen, identity api-listen and
 * radius-listen, portal listen, resolver servers): "HOST:PORT" with HOST an
 * IPv4 address or a name, or "[IPV6]:PORT" (RFC 3986 §3.2.2's brackets:
 * an IPv6 address's own colons never read as the port's).
 */
#ifndef SLUICE_COMMON_ADDRPORT_H
#define SLUICE_COMMON_ADDRPORT_H

#include <stddef.h>

/*
 * Splits S into HOST (a NUL-terminated copy of what is before the port,
 * brackets removed; HOSTLEN bytes of room) and *PORT (0..65535: a caller
 * that needs a real port refuses 0 itself). Returns NULL, or why S is not
 * of that form, a static message: "expected ADDRESS:PORT", "the port must
 * be 1 to 65535" (not digits alone, or past 65535), "an IPv6 address goes
 * in brackets: [ADDRESS]:PORT", "the address is too long". HOST and *PORT
 * are left alone on an error.
 */
const char *addrport_split(const char *s, char *host, size_t hostlen,
			   unsigned *port);

#endif
