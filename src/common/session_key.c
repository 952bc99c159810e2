/* session_key.c — see session_key.h. */
#include "common/session_key.h"
#include "common/hash.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

uint64_t session_key_hash(const struct session_key *k)
{
	return hash_bytes(k, sizeof(*k));
}

const char *session_key_format(const struct session_key *k, char *buf,
			       size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	const char *pn;
	char pbuf[8];
	inet_ntop(k->family, k->src, s, sizeof(s));
	inet_ntop(k->family, k->dst, d, sizeof(d));
	switch (k->proto) {
	case IPPROTO_TCP: pn = "tcp"; break;
	case IPPROTO_UDP: pn = "udp"; break;
	case IPPROTO_ICMP: pn = "icmp"; break;
	case IPPROTO_ICMPV6: pn = "icmpv6"; break;
	default:
		snprintf(pbuf, sizeof(pbuf), "%u", k->proto);
		pn = pbuf;
	}
	bool v6 = k->family == AF_INET6;
	if (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP)
		snprintf(buf, len, "%s %s%s%s:%u -> %s%s%s:%u", pn,
			 v6 ? "[" : "", s, v6 ? "]" : "", k->sport,
			 v6 ? "[" : "", d, v6 ? "]" : "", k->dport);
	else if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
		snprintf(buf, len, "%s %s -> %s type %u", pn, s, d, k->dport);
	else
		snprintf(buf, len, "%s %s -> %s", pn, s, d);
	return buf;
}
