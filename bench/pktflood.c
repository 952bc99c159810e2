/*
 * pktflood.c — a SYN or UDP flood from one or more IPv4 sources, for
 * bench/flood_rate.sh (the flood figures of BENCHMARKS.md).
 *
 *   pktflood syn|udp DST PORT SRC NSOURCES PPS SECONDS
 *
 * Sends TCP SYNs (or 16-byte UDP datagrams) to DST:PORT from NSOURCES
 * consecutive addresses starting at SRC, round robin, each packet with a
 * new source port (so each is a new session to conntrack), PPS packets a
 * second (0: as fast as it can) for SECONDS, in batches of up to 64 per
 * sendmmsg(2) every millisecond or so. Prints "sent N secs S pps P".
 * Raw socket (IPPROTO_RAW, the IP header is ours): root, in a lab
 * namespace, lab addresses only. Stops on SIGINT/SIGTERM too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PKT_MAX 48 /* IP 20 + TCP 20 or UDP 8 + 16 */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The Internet checksum of B[0..N) added to SUM (RFC 1071), folded. */
static uint16_t csum(const uint8_t *b, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)(b[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Builds one packet in P; returns its length. SRC/DST network order. */
static size_t build(uint8_t *p, int udp, uint32_t src, uint32_t dst,
		    uint16_t sport, uint16_t dport, uint32_t seq)
{
	size_t l4 = udp ? 8 + 16 : 20;
	memset(p, 0, 20 + l4);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(20 + l4));
	p[8] = 64;
	p[9] = udp ? IPPROTO_UDP : IPPROTO_TCP;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
	put16(p + 10, csum(p, 20, 0));
	uint8_t *t = p + 20;
	put16(t, sport);
	put16(t + 2, dport);
	if (udp) {
		put16(t + 4, (uint16_t)l4);
		memcpy(t + 8, "sluice pktflood\n", 16);
	} else {
		t[4] = (uint8_t)(seq >> 24);
		t[5] = (uint8_t)(seq >> 16);
		t[6] = (uint8_t)(seq >> 8);
		t[7] = (uint8_t)seq;
		t[12] = 5 << 4;
		t[13] = 0x02; /* SYN */
		put16(t + 14, 64240);
	}
	/* pseudo header: addresses, protocol, length */
	uint32_t sum = 0;
	for (int i = 12; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	sum += p[9] + (uint32_t)l4;
	put16(t + (udp ? 6 : 16), csum(t, l4, sum));
	return 20 + l4;
}

int main(int argc, char **argv)
{
	if (argc != 8 || (strcmp(argv[1], "syn") && strcmp(argv[1], "udp"))) {
		fprintf(stderr, "usage: pktflood syn|udp DST PORT SRC NSOURCES "
				"PPS SECONDS\n");
		return 2;
	}
	int udp = strcmp(argv[1], "udp") == 0;
	struct in_addr dst, src;
	if (inet_pton(AF_INET, argv[2], &dst) != 1 ||
	    inet_pton(AF_INET, argv[4], &src) != 1) {
		fprintf(stderr, "pktflood: bad address\n");
		return 2;
	}
	long port = strtol(argv[3], NULL, 10), nsrc = strtol(argv[5], NULL, 10);
	double pps = strtod(argv[6], NULL), secs = strtod(argv[7], NULL);
	if (port < 1 || port > 65535 || nsrc < 1 || nsrc > 65536 || pps < 0 ||
	    secs <= 0 || secs > 3600) {
		fprintf(stderr, "pktflood: bad argument\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s < 0) {
		perror("pktflood: raw socket");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	static uint8_t pkts[BATCH][PKT_MAX];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = dst};
	uint32_t base = ntohl(src.s_addr);
	uint64_t sent = 0, k = 0;
	double t0 = now_s(), end = t0 + secs;
	while (!stop) {
		double t = now_s();
		if (t >= end)
			break;
		/* how many are due now (all of a batch when unpaced) */
		uint64_t due = pps > 0 ? (uint64_t)((t - t0) * pps) + 1 : sent + BATCH;
		if (due <= sent) {
			struct timespec ts = {0, 200000}; /* 0.2 ms */
			nanosleep(&ts, NULL);
			continue;
		}
		unsigned n = due - sent > BATCH ? BATCH : (unsigned)(due - sent);
		for (unsigned i = 0; i < n; i++, k++) {
			uint32_t a = htonl(base + (uint32_t)(k % (uint64_t)nsrc));
			uint16_t sport =
			    (uint16_t)(1024 + (k / (uint64_t)nsrc) % 64000);
			size_t len = build(pkts[i], udp, a, dst.s_addr, sport,
					   (uint16_t)port, (uint32_t)k);
			iov[i] = (struct iovec){pkts[i], len};
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_name = &to;
			msgs[i].msg_hdr.msg_namelen = sizeof(to);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(s, msgs, n, 0);
		if (r > 0)
			sent += (uint64_t)r;
		else if (r < 0 && errno != ENOBUFS && errno != EAGAIN &&
			 errno != EINTR) {
			perror("pktflood: sendmmsg");
			break;
		} else {
			sent += n; /* a full device queue drops: counted offered */
		}
	}
	double el = now_s() - t0;
	printf("sent %llu secs %.2f pps %.0f\n", (unsigned long long)sent, el,
	       el > 0 ? (double)sent / el : 0.0);
	close(s);
	return 0;
}
