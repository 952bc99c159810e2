/*
 * flow.c — the text form of a session's header facts, as `sluicectl check
 * --flow` and the tests write it:
 *
 *     tcp 10.1.2.3:40000 -> 203.0.113.7:443
 *     udp [2001:db8::1]:5353 -> [2001:db8::2]:53
 *     icmp 10.1.2.3 -> 10.2.0.1 type echo-request
 *     47 10.0.0.1 -> 10.0.0.2            (any other IP protocol by number)
 */
#include "policy/internal.h"
#include "common/util.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Parses "ADDR[:PORT]" or "[V6][:PORT]"; returns the family or 0. */
static int parse_endpoint(const char *s, bool want_port, uint32_t *v4,
			  u128 *v6, uint16_t *port, char **err)
{
	char buf[128];
	const char *addr = s, *ps = NULL;
	if (strlen(s) >= sizeof(buf)) {
		*err = xasprintf("'%s' is too long for an endpoint", s);
		return 0;
	}
	strcpy(buf, s);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close) {
			*err = xasprintf("missing ']' in '%s'", s);
			return 0;
		}
		*close = '\0';
		addr = buf + 1;
		if (close[1] == ':')
			ps = close + 2;
		else if (close[1]) {
			*err = xasprintf("unexpected text after ']' in '%s'", s);
			return 0;
		}
	} else {
		char *colon = strchr(buf, ':');
		if (colon && !strchr(colon + 1, ':')) { /* IPv4:port */
			*colon = '\0';
			ps = colon + 1;
		}
		addr = buf;
	}
	int fam = parse_addr(addr, v4, v6);
	if (!fam) {
		*err = xasprintf("'%s' is not an address", addr);
		return 0;
	}
	*port = 0;
	if (want_port) {
		char *end;
		long v = ps ? strtol(ps, &end, 10) : -1;
		if (!ps || !*ps || *end || v < 0 || v > 65535) {
			*err = xasprintf("'%s' needs a port (ADDR:PORT, "
					 "[V6ADDR]:PORT)", s);
			return 0;
		}
		*port = (uint16_t)v;
	} else if (ps) {
		*err = xasprintf("'%s': this protocol has no ports", s);
		return 0;
	}
	return fam;
}

static const struct {
	const char *name;
	uint8_t v4, v6;
} icmp_types[] = {
    {"echo-reply", 0, 129},	  {"destination-unreachable", 3, 1},
    {"redirect", 5, 137},	  {"echo-request", 8, 128},
    {"time-exceeded", 11, 3},	  {"parameter-problem", 12, 4},
    {"router-solicitation", 10, 133}, {"router-advertisement", 9, 134},
    {"neighbor-solicitation", 255, 135},
    {"neighbor-advertisement", 255, 136}, {"packet-too-big", 255, 2},
    {"source-quench", 4, 255},	  {"timestamp-request", 13, 255},
    {"timestamp-reply", 14, 255},
};

int flow_parse(const char *text, struct flow *f, char **err)
{
	char *copy = xstrdup(text), *save = NULL;
	char *w[8];
	int n = 0;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	*err = NULL;
	for (char *t = strtok_r(copy, " \t", &save); t && n < 8;
	     t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	if (n != 4 && n != 6) {
		*err = xasprintf("expected 'PROTO SRC -> DST' (e.g. 'tcp "
				 "10.1.2.3:40000 -> 203.0.113.7:443'), got "
				 "'%s'", text);
		goto out;
	}
	bool ports = false, icmp = false;
	if (strcmp(w[0], "tcp") == 0) {
		f->proto = IPPROTO_TCP;
		ports = true;
	} else if (strcmp(w[0], "udp") == 0) {
		f->proto = IPPROTO_UDP;
		ports = true;
	} else if (strcmp(w[0], "icmp") == 0) {
		f->proto = IPPROTO_ICMP;
		icmp = true;
	} else if (strcmp(w[0], "icmpv6") == 0) {
		f->proto = IPPROTO_ICMPV6;
		icmp = true;
	} else {
		char *end;
		long v = strtol(w[0], &end, 10);
		if (!isdigit((unsigned char)w[0][0]) || *end || v < 0 ||
		    v > 255) {
			*err = xasprintf("unknown protocol '%s' (tcp, udp, "
					 "icmp, icmpv6 or a number)", w[0]);
			goto out;
		}
		f->proto = (uint8_t)v;
	}
	if (strcmp(w[2], "->") != 0) {
		*err = xasprintf("expected '->' between source and "
				 "destination, got '%s'", w[2]);
		goto out;
	}
	int fs = parse_endpoint(w[1], ports, &f->src4, &f->src6, &f->sport, err);
	if (!fs)
		goto out;
	int fd = parse_endpoint(w[3], ports, &f->dst4, &f->dst6, &f->dport, err);
	if (!fd)
		goto out;
	if (fs != fd) {
		*err = xasprintf("source and destination mix IPv4 and IPv6");
		goto out;
	}
	f->family = fs;
	if ((f->proto == IPPROTO_ICMP && fs != AF_INET) ||
	    (f->proto == IPPROTO_ICMPV6 && fs != AF_INET6)) {
		*err = xasprintf("%s goes with %s addresses", w[0],
				 f->proto == IPPROTO_ICMP ? "IPv4" : "IPv6");
		goto out;
	}
	if (n == 6) {
		if (!icmp || strcmp(w[4], "type") != 0) {
			*err = xasprintf("unexpected '%s %s' (only icmp and "
					 "icmpv6 take 'type N')", w[4], w[5]);
			goto out;
		}
		char *end;
		long v = strtol(w[5], &end, 10);
		if (isdigit((unsigned char)w[5][0]) && !*end && v <= 255) {
			f->icmp_type = (uint8_t)v;
		} else {
			size_t i;
			for (i = 0; i < ARRAY_SIZE(icmp_types); i++) {
				uint8_t t = f->proto == IPPROTO_ICMP
						? icmp_types[i].v4
						: icmp_types[i].v6;
				if (t != 255 &&
				    strcmp(icmp_types[i].name, w[5]) == 0) {
					f->icmp_type = t;
					break;
				}
			}
			if (i == ARRAY_SIZE(icmp_types)) {
				*err = xasprintf("unknown %s type '%s'", w[0],
						 w[5]);
				goto out;
			}
		}
	} else if (icmp) {
		f->icmp_type = f->proto == IPPROTO_ICMP ? 8 : 128;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}
