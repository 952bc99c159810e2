/*
 * fuzz_filterpkt.c — libFuzzer harness for the application filters'
 * packet readers: the bytes of a packet the kernel queued for a filter
 * come from a remote party.
 *
 * The first byte picks the reader, the rest is the packet:
 *   even  dnsfilter_packet() (src/sluiced/dnsfilter.c: IPv4/IPv6 header,
 *         UDP/TCP header, then the DNS messages into the bindings; TCP
 *         through the reassembly of src/resolve/dnstcp.c), the packet shown
 *         twice (a retransmission);
 *   odd   ftp_read_tcp() (src/sluiced/ftpfilter.c: IPv4/IPv6 + TCP
 *         header), its payload then judged by ftp_stream_judge() as the
 *         first segment of a control session (started at its sequence
 *         number).
 * Any bytes must be read or refused — never a read past the end, a crash,
 * a leak or undefined behaviour. Properties: a DNS packet that is no whole
 * IPv4/IPv6 packet is dropped and counted as not DNS; the FTP reader's
 * header and payload lie inside the packet, and a payload judged whole
 * holds no line starting with a command that writes.
 */
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "resolve/dnsbind.h"
#include "resolve/dnstcp.h"
#include "../resolve/dnsbind_trust.h"
#include "sluiced/dnsfilter.h"
#include "sluiced/ftpfilter.h"
#include "ftp_writers.h"

#define MAXPKT 65536

static void fuzz_dns(const uint8_t *pkt, size_t len)
{
	static const struct dnsbind_cfg bc = {.grace_s = 60,
					      .query_timeout_ms = 5000,
					      .max_queries = 8,
					      .max_bindings = 32,
					      .refuse_private = true};
	static const struct dnstcp_cfg tc = {.total_cap = 1u << 20,
					     .max_streams = 4,
					     .idle_ms = 1000};
	struct dnsbind *b = trusting_all(dnsbind_new(&bc));
	struct dnstcp *t = dnstcp_new(&tc);
	if (!b || !t)
		abort();
	for (int round = 0; round < 2; round++) {
		bool not_dns = false, unread = false;
		bool ok = dnsfilter_packet(b, round ? t : NULL, pkt, len,
					   1000 + (uint64_t)round, &not_dns,
					   &unread);
		bool ip = len >= 1 && (pkt[0] >> 4 == 4 || pkt[0] >> 4 == 6);
		if (!ip && (ok || !not_dns))
			abort(); /* no IP packet: dropped, not DNS */
	}
	dnstcp_free(t);
	dnsbind_free(b);
}

static void fuzz_ftp(const uint8_t *data, size_t len)
{
	uint8_t *pkt = malloc(len ? len : 1);
	if (!pkt)
		abort();
	memcpy(pkt, data, len);
	int fam = 0;
	struct tcphdr *tcp = NULL;
	uint8_t *pay = NULL;
	size_t plen = 0;
	if (ftp_read_tcp(pkt, len, &fam, &tcp, &pay, &plen)) {
		size_t th = (size_t)((const uint8_t *)tcp - pkt);
		size_t po = (size_t)(pay - pkt);
		if ((fam != 4 && fam != 6) || th > len ||
		    len - th < sizeof(*tcp) || po < th + sizeof(*tcp) ||
		    po > len || len - po < plen)
			abort();
		static struct ftp_stream st;
		ftp_stream_init(&st);
		(void)ftp_stream_start(&st, 1000); /* the server's SYN/ACK */
		int r = ftp_stream_judge(&st, 1000, pay, plen);
		if (r < -1)
			abort();
		/* whole lines judged from a line start: none that writes */
		size_t whole = plen;
		while (whole && pay[whole - 1] != '\n')
			whole--;
		if (r >= 0)
			ftp_check_no_writer(pay, whole);
	}
	free(pkt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAXPKT + 1)
		return 0;
	if (data[0] & 1)
		fuzz_ftp(data + 1, size - 1);
	else
		fuzz_dns(data + 1, size - 1);
	return 0;
}
