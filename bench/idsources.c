/*
 * idsources.c — the identity figures: RADIUS accounting ingested per second,
 * and the address table at 100,000 entries.
 *
 *   build/bench/idsources [PACKETS] [ENTRIES]    (defaults 200000, 100000)
 *
 * 1. RADIUS: a server thread pinned to CPU 0 runs the loop sluiced runs
 *    (src/sluiced/idsources.c: recvfrom, radius_handle — client check,
 *    authenticator, attributes, the table — and sendto of the
 *    Accounting-Response) on a loopback UDP socket; a client thread pinned
 *    to CPU 1 keeps 64 signed Accounting-Requests in flight (Start, then
 *    Interim-Update, for PACKETS/2 users at distinct addresses) and checks
 *    every response's authenticator. Prints answered requests per second
 *    (replies included) and the server thread's CPU time per request.
 * 2. The table: heap bytes per entry (mallinfo2) with ENTRIES entries of a
 *    user and one group, and the mean time of a lookup (idtable_with, the
 *    queue workers' fast path) of the same 1,000 present addresses with
 *    1,000 and with ENTRIES entries in the table (the table's own cost),
 *    of all ENTRIES addresses in random order (memory latency added), and
 *    of an absent address with a /16 prefix entry present (the
 *    longest-prefix probe); and the state file of ENTRIES entries: the
 *    copy sluiced's event loop makes under the lock (idtable_snapshot),
 *    the text its save thread makes of it (idtable_snapshot_save), and
 *    the reading back at start (idtable_load).
 */
#include "identity/idtable.h"
#include "identity/radius.h"
#include "policy/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <nettle/md5.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 64
static const uint8_t SECRET[] = "bench-secret";
#define SLEN (sizeof(SECRET) - 1)

static double now_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct server {
	int fd;
	struct radius_ctx ctx;
	volatile int stop;
	double cpu_s;
	unsigned long handled;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	pin(0);
	double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	uint8_t buf[RADIUS_MAX + 1], resp[RADIUS_HDR];
	while (!s->stop) {
		struct pollfd p = {s->fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		for (int i = 0; i < 256; i++) { /* as sluiced: a batch a wake-up */
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			ssize_t n = recvfrom(s->fd, buf, sizeof(buf), MSG_DONTWAIT,
					     (struct sockaddr *)&ss, &sl);
			if (n < 0)
				break;
			const uint8_t *from =
			    (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
			if (radius_handle(&s->ctx, AF_INET, from, buf, (size_t)n,
					  (int64_t)time(NULL),
					  resp) == RADIUS_ANSWERED)
				sendto(s->fd, resp, sizeof(resp), MSG_DONTWAIT,
				       (struct sockaddr *)&ss, sl);
			s->handled++;
		}
	}
	s->cpu_s = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	return NULL;
}

/* Request number I (Start for the first half, Interim-Update after) into
 * PKT, signed; returns its length. */
static size_t request(uint8_t *pkt, unsigned long i, unsigned long users,
		      uint8_t id)
{
	unsigned long u = i % users;
	char name[32];
	int nl = snprintf(name, sizeof(name), "user%lu", u);
	uint8_t *a = pkt + RADIUS_HDR;
	size_t n = 0;
	a[n++] = 40, a[n++] = 6, a[n++] = 0, a[n++] = 0, a[n++] = 0;
	a[n++] = i < users ? RADIUS_START : RADIUS_INTERIM;
	a[n++] = 1, a[n++] = (uint8_t)(nl + 2);
	memcpy(a + n, name, (size_t)nl);
	n += (size_t)nl;
	a[n++] = 8, a[n++] = 6, a[n++] = 10, a[n++] = (uint8_t)(u >> 16);
	a[n++] = (uint8_t)(u >> 8), a[n++] = (uint8_t)u;
	size_t len = RADIUS_HDR + n;
	pkt[0] = RADIUS_ACCT_REQUEST, pkt[1] = id;
	pkt[2] = (uint8_t)(len >> 8), pkt[3] = (uint8_t)len;
	memset(pkt + 4, 0, 16);
	struct md5_ctx c;
	md5_init(&c);
	md5_update(&c, len, pkt);
	md5_update(&c, SLEN, SECRET);
	md5_digest(&c, 16, pkt + 4);
	return len;
}

struct client {
	struct sockaddr_in to;
	unsigned long packets, answered, bad, resent;
	double secs;
};

static void *client(void *arg)
{
	struct client *c = arg;
	pin(1);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t auth[256][16], pkt[256], buf[64];
	unsigned long users = c->packets / 2, sent = 0;
	int inflight = 0;
	double t0 = now_s(CLOCK_MONOTONIC);
	while (c->answered < c->packets) {
		while (inflight < WINDOW && sent < c->packets) {
			uint8_t id = (uint8_t)sent;
			size_t len = request(pkt, sent, users, id);
			memcpy(auth[id], pkt + 4, 16);
			sendto(fd, pkt, len, 0, (struct sockaddr *)&c->to,
			       sizeof(c->to));
			sent++, inflight++;
		}
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 1000) <= 0) { /* lost: send that many again */
			c->resent += (unsigned long)inflight;
			sent -= (unsigned long)inflight;
			inflight = 0;
			continue;
		}
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n != RADIUS_HDR)
			continue;
		uint8_t want[16];
		struct md5_ctx m;
		md5_init(&m);
		md5_update(&m, 4, buf);
		md5_update(&m, 16, auth[buf[1]]);
		md5_update(&m, SLEN, SECRET);
		md5_digest(&m, 16, want);
		if (buf[0] != RADIUS_ACCT_RESPONSE || memcmp(want, buf + 4, 16))
			c->bad++;
		c->answered++, inflight--;
	}
	c->secs = now_s(CLOCK_MONOTONIC) - t0;
	close(fd);
	return NULL;
}

static void bench_radius(unsigned long packets)
{
	struct idtable *t = idtable_new();
	struct addrset clients = {0};
	char *err = NULL;
	addrset_parse_elem(&clients, "127.0.0.0/8", &err);
	addrset_normalize(&clients);
	/* with the listener's replay memory, as sluiced runs it */
	struct server s = {.ctx = {.ids = t, .clients = &clients, .ttl_s = 3600,
				   .seen = radius_seen_new()}};
	memcpy(s.ctx.secret, SECRET, SLEN);
	s.ctx.slen = SLEN;
	s.fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int big = 4 << 20;
	setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(s.fd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("bind");
		exit(1);
	}
	struct client c = {.to = sa, .packets = packets};
	pthread_t ts, tc;
	pthread_create(&ts, NULL, serve, &s);
	pthread_create(&tc, NULL, client, &c);
	pthread_join(tc, NULL);
	s.stop = 1;
	pthread_join(ts, NULL);
	printf("radius: %lu requests answered in %.3f s: %.0f requests/s "
	       "(replies included; %lu resent, %lu bad replies); server thread "
	       "CPU %.2f us/request; table %zu entries\n",
	       c.answered, c.secs, (double)c.answered / c.secs, c.resent, c.bad,
	       s.cpu_s * 1e6 / (double)s.handled, idtable_count(t));
	close(s.fd);
	radius_seen_free(s.ctx.seen);
	addrset_free(&clients);
	idtable_free(t);
}

static int found(void *arg, const struct identity *id)
{
	return id != NULL;
}

/* Mean ns of a lookup of the N present addresses 10.x.y.z (random order). */
static double lookup_ns(struct idtable *t, unsigned long n, unsigned long rounds,
			uint32_t base)
{
	unsigned long hits = 0;
	uint32_t x = 12345;
	double t0 = now_s(CLOCK_MONOTONIC);
	for (unsigned long i = 0; i < rounds; i++) {
		x = x * 1103515245u + 12345u;
		uint32_t a = htonl(base + (uint32_t)((x >> 4) % n));
		uint8_t addr[16] = {0};
		memcpy(addr, &a, 4);
		hits += (unsigned long)idtable_with(t, AF_INET, addr, found, NULL);
	}
	double ns = (now_s(CLOCK_MONOTONIC) - t0) * 1e9 / (double)rounds;
	if (base == 0x0a000000u && hits != rounds)
		fprintf(stderr, "lookups: %lu of %lu found\n", hits, rounds);
	return ns;
}

static void fill(struct idtable *t, unsigned long from, unsigned long to)
{
	const char *g[] = {"staff"};
	for (unsigned long i = from; i < to; i++) {
		uint32_t a = htonl(0x0a000000u + (uint32_t)i);
		uint8_t addr[16] = {0};
		memcpy(addr, &a, 4);
		char user[32];
		snprintf(user, sizeof(user), "user%lu", i);
		idtable_login(t, &(struct id_login){AF_INET, addr, user, g, 1,
						    3600, IDS_RADIUS, 0});
	}
}

static void bench_table(unsigned long entries)
{
	const unsigned long rounds = 2000000;
	struct mallinfo2 m0 = mallinfo2();
	struct idtable *t = idtable_new();
	fill(t, 0, 1000);
	double small = lookup_ns(t, 1000, rounds, 0x0a000000u);
	fill(t, 1000, entries);
	struct mallinfo2 m1 = mallinfo2();
	double large = lookup_ns(t, entries, rounds, 0x0a000000u);
	double hot = lookup_ns(t, 1000, rounds, 0x0a000000u);
	double s0 = now_s(CLOCK_MONOTONIC);
	struct idtable_snapshot *sn = idtable_snapshot(t, time(NULL));
	double s1 = now_s(CLOCK_MONOTONIC);
	size_t slen;
	char *saved = idtable_snapshot_save(sn, &slen);
	double s2 = now_s(CLOCK_MONOTONIC);
	idtable_snapshot_free(sn);
	struct idtable *back = idtable_new();
	long nback = idtable_load(back, saved, slen, time(NULL));
	double s3 = now_s(CLOCK_MONOTONIC);
	printf("state file: %lu entries, %zu bytes; the copy under the lock "
	       "(idtable_snapshot, sluiced's main thread) %.1f ms, the text "
	       "(idtable_snapshot_save, its save thread) %.0f ms, read back "
	       "(idtable_load, %ld entries) %.0f ms\n",
	       entries, slen, (s1 - s0) * 1e3, (s2 - s1) * 1e3, nback,
	       (s3 - s2) * 1e3);
	free(saved);
	idtable_free(back);
	uint8_t p16[16] = {172, 16};
	idtable_login(t, &(struct id_login){AF_INET, p16, "pool", NULL, 0, 3600,
					    IDS_API, 16});
	double miss = lookup_ns(t, 65536, rounds, 0xc0a80000u); /* 192.168/16 */
	printf("table: %zu entries, %.0f heap bytes/entry (user \"userN\", one "
	       "group); lookup of 1000 addresses: %.0f ns with 1000 entries, "
	       "%.0f ns with %lu; of all %lu (random, beyond the CPU caches): "
	       "%.0f ns; an absent address with a /16 entry present %.0f ns\n",
	       idtable_count(t),
	       (double)(m1.uordblks - m0.uordblks) / (double)entries, small,
	       hot, entries, entries, large, miss);
	idtable_free(t);
}

int main(int argc, char **argv)
{
	unsigned long packets = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	unsigned long entries = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	if (packets < 2 || entries < 1000) {
		fprintf(stderr, "usage: idsources [PACKETS>=2] [ENTRIES>=1000]\n");
		return 2;
	}
	bench_radius(packets);
	bench_table(entries);
	return 0;
}
