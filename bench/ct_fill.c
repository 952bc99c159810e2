/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ct_fill — fills this network namespace's conntrack table with N
 * established TCP sessions, for the reload-at-scale figure
 * (bench/reload_scale.sh).
 *
 *   ct_fill N SRC_BASE DST DPORT MARK
 *
 * Session i goes from SRC_BASE + i / 50000 (IPv4, host part counted up)
 * port 10000 + i % 50000 to DST:DPORT, state ESTABLISHED with the status
 * of a completed handshake (IPS_SEEN_REPLY | IPS_ASSURED), timeout 600 s,
 * ct mark MARK (e.g. 0x40020000: ALLOW by rule id 2). Prints
 * "ct_fill: created C failed F seconds T". Exit 0 when every one was
 * created. One libnetfilter_conntrack handle, one NFCT_Q_CREATE each.
 */
#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One established session SRC:SPORT -> DST:DPORT with MARK; 0 or -1. */
static int create_one(struct nfct_handle *h, uint32_t src, uint16_t sport,
		      uint32_t dst, uint16_t dport, uint32_t mark)
{
	struct nf_conntrack *ct = nfct_new();
	if (!ct)
		return -1;
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, htonl(src));
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, htonl(dst));
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(sport));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(dport));
	nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_SEEN_REPLY | IPS_ASSURED);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 600);
	nfct_set_attr_u32(ct, ATTR_MARK, mark);
	int rc = nfct_query(h, NFCT_Q_CREATE, ct);
	nfct_destroy(ct);
	return rc;
}

int main(int argc, char **argv)
{
	struct in_addr sb, d;
	if (argc != 6 || inet_pton(AF_INET, argv[2], &sb) != 1 ||
	    inet_pton(AF_INET, argv[3], &d) != 1) {
		fprintf(stderr, "usage: ct_fill N SRC_BASE DST DPORT MARK\n");
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	uint16_t dport = (uint16_t)strtoul(argv[4], NULL, 10);
	uint32_t mark = (uint32_t)strtoul(argv[5], NULL, 0);
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	if (!h) {
		perror("ct_fill: nfct_open");
		return 1;
	}
	long ok = 0, bad = 0;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		uint32_t src = ntohl(sb.s_addr) + (uint32_t)(i / 50000);
		uint16_t sport = (uint16_t)(10000 + i % 50000);
		if (create_one(h, src, sport, ntohl(d.s_addr), dport, mark) == 0)
			ok++;
		else if (bad++ == 0)
			perror("ct_fill: first failure");
	}
	printf("ct_fill: created %ld failed %ld seconds %.2f\n", ok, bad,
	       now_s() - t0);
	nfct_close(h);
	return bad ? 1 : 0;
}
