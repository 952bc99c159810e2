/*
 * dns_bind — the DNS filter's figures (BENCHMARKS.md): DNS answers
 * bound per second on one core, through the same function the DNS queue
 * thread calls for each queued packet (dnsfilter_packet: IPv4 + UDP header,
 * DNS parse, query match, bind), and the memory one binding costs.
 *
 * Usage: dns_bind [CLIENTS [ROUNDS [ADDRS_PER_ANSWER]]]
 *   (defaults 1000 clients, 1000 rounds, 1 address per answer)
 * Each round every client sends one query (a new source port and id) for a
 * name of its own and gets one answer with ADDRS_PER_ANSWER A records;
 * answers are timed apart from queries. Memory: malloc's bytes in use
 * (mallinfo2) with every binding held, less before, over the bindings.
 */
#include "sluiced/dnsfilter.h"
#include "resolve/dnsbind.h"
#include "../tests/resolve/dnsbind_trust.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t put_name(uint8_t *p, const char *name)
{
	size_t n = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

/* An IPv4/UDP packet SRC:SPORT → DST:DPORT carrying DNS[0..DLEN). */
static size_t udp4(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport,
		   uint16_t dport, const uint8_t *dns, size_t dlen)
{
	size_t tot = 20 + 8 + dlen;
	memset(out, 0, 28);
	out[0] = 0x45;
	out[2] = (uint8_t)(tot >> 8);
	out[3] = (uint8_t)tot;
	out[8] = 64;
	out[9] = 17;
	uint32_t s = htonl(src), d = htonl(dst);
	memcpy(out + 12, &s, 4);
	memcpy(out + 16, &d, 4);
	out[20] = (uint8_t)(sport >> 8);
	out[21] = (uint8_t)sport;
	out[22] = (uint8_t)(dport >> 8);
	out[23] = (uint8_t)dport;
	out[24] = (uint8_t)((8 + dlen) >> 8);
	out[25] = (uint8_t)(8 + dlen);
	memcpy(out + 28, dns, dlen);
	return tot;
}

/* Query (QR 0) or answer (QR 1, NADDR A records from FIRST) for NAME. */
static size_t dns_msg(uint8_t *p, uint16_t id, bool answer, const char *name,
		      int naddr, uint32_t first)
{
	size_t n = 0;
	p[n++] = (uint8_t)(id >> 8);
	p[n++] = (uint8_t)id;
	p[n++] = answer ? 0x81 : 0x01;
	p[n++] = answer ? 0x80 : 0x00;
	uint8_t hdr[8] = {0, 1, 0, (uint8_t)(answer ? naddr : 0), 0, 0, 0, 0};
	memcpy(p + n, hdr, 8);
	n += 8;
	n += put_name(p + n, name);
	static const uint8_t qtail[4] = {0, 1, 0, 1};
	memcpy(p + n, qtail, 4);
	n += 4;
	for (int i = 0; answer && i < naddr; i++) {
		static const uint8_t rr[12] = {0xc0, 0x0c, 0, 1, 0, 1,
					       0, 0, 0x0e, 0x10, 0, 4};
		memcpy(p + n, rr, 12);
		n += 12;
		uint32_t a = htonl(first + (uint32_t)i);
		memcpy(p + n, &a, 4);
		n += 4;
	}
	return n;
}

int main(int argc, char **argv)
{
	int clients = argc > 1 ? atoi(argv[1]) : 1000;
	int rounds = argc > 2 ? atoi(argv[2]) : 1000;
	int naddr = argc > 3 ? atoi(argv[3]) : 1;
	if (clients < 1 || rounds < 1 || naddr < 1 || naddr > 64) {
		fprintf(stderr, "usage: dns_bind [CLIENTS [ROUNDS [ADDRS]]]\n");
		return 2;
	}
	struct dnsbind_cfg cfg = {.grace_s = 60,
				  .max_ttl_s = 86400,
				  .query_timeout_ms = 10000,
				  .max_queries = 1024,
				  .max_bindings = 1u << 20,
				  .refuse_private = true};
	struct mallinfo2 m0 = mallinfo2();
	struct dnsbind *b = trusting_all(dnsbind_new(&cfg));
	uint32_t server = 0xc6120302; /* 198.18.3.2 */
	uint8_t *qpk = malloc((size_t)clients * 600), *apk =
	    malloc((size_t)clients * 1600);
	size_t *qlen = malloc(sizeof(size_t) * (size_t)clients),
	       *alen = malloc(sizeof(size_t) * (size_t)clients);
	double tq = 0, ta = 0;
	uint64_t answers = 0, now = 1000;
	bool not_dns, unread;
	size_t refused = 0;
	for (int r = 0; r < rounds; r++) {
		for (int c = 0; c < clients; c++) {
			char name[64];
			uint8_t dns[1400];
			snprintf(name, sizeof(name), "h%d-%d.work.example.com",
				 r % 50, c);
			uint32_t cli = 0xc6120000u + 256u + (uint32_t)c; /* 198.18.1.x+ */
			uint16_t sport = (uint16_t)(1024 + (r * 7 + c) % 60000);
			uint16_t id = (uint16_t)(r * 31 + c);
			/* addresses: 198.19.x.y, one block of NADDR per (round%50, client) */
			uint32_t first = 0xc6130000u +
					 (uint32_t)(((r % 50) * clients + c) * naddr) % 65000u;
			size_t dl = dns_msg(dns, id, false, name, 0, 0);
			qlen[c] = udp4(qpk + (size_t)c * 600, cli, server, sport, 53,
				       dns, dl);
			dl = dns_msg(dns, id, true, name, naddr, first);
			alen[c] = udp4(apk + (size_t)c * 1600, server, cli, 53, sport,
				       dns, dl);
		}
		double t0 = now_s();
		for (int c = 0; c < clients; c++)
			dnsfilter_packet(b, NULL, qpk + (size_t)c * 600, qlen[c], now,
					 &not_dns, &unread);
		double t1 = now_s();
		for (int c = 0; c < clients; c++)
			refused += !dnsfilter_packet(b, NULL, apk + (size_t)c * 1600,
						     alen[c], now, &not_dns,
						     &unread);
		double t2 = now_s();
		tq += t1 - t0;
		ta += t2 - t1;
		answers += (uint64_t)clients;
		now += 1; /* 1 ms a round: nothing expires during the run */
	}
	struct dnsbind_stats st;
	dnsbind_stats(b, &st);
	struct mallinfo2 m1 = mallinfo2();
	double per_binding = st.bindings
				 ? (double)(m1.uordblks - m0.uordblks -
					    (size_t)clients * 2200 -
					    sizeof(size_t) * 2 * (size_t)clients) /
				       (double)st.bindings
				 : 0;
	printf("clients %d rounds %d addrs/answer %d\n", clients, rounds, naddr);
	printf("answers %llu bound-ok %llu unmatched %llu malformed %llu "
	       "dropped %zu\n",
	       (unsigned long long)answers,
	       (unsigned long long)(st.answers - st.answers_unmatched -
				    st.answers_malformed - st.answers_not_bound),
	       (unsigned long long)st.answers_unmatched,
	       (unsigned long long)st.answers_malformed, refused);
	printf("queries/s %.0f  answers bound/s %.0f  (ns/answer %.0f)\n",
	       (double)answers / tq, (double)answers / ta,
	       ta * 1e9 / (double)answers);
	printf("bindings held %llu  bytes/binding %.0f\n",
	       (unsigned long long)st.bindings, per_binding);
	dnsbind_free(b);
	free(qpk);
	free(apk);
	free(qlen);
	free(alen);
	return st.answers_unmatched || st.answers_malformed ? 1 : 0;
}
