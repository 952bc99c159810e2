/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * connrate — TCP new-connection rate: what a first-packet decider costs.
 *
 *   connrate server ADDR PORT [--threads T]
 *   connrate client ADDR PORT [--conns N] [--parallel P] [--seconds S]
 *                             [--rate R]
 *
 * server: T threads (default 2) accept() on one SO_REUSEPORT listener each
 *         and close every connection at once; runs until SIGINT/SIGTERM.
 * client: P threads (default 1), each doing connect() + close() one after
 *         the other, until N connections in total (default 10000) or S
 *         seconds (default 10) have passed. Prints one line:
 *           conns C errors E seconds T rate R/s connect_us median M p99 Q max X
 *         (latency = time connect() took, blocking socket, 3 s connect
 *         timeout: a dropped SYN counts as an error). Exit 0 when at
 *         least one connection succeeded.
 *         --from A[,B...]: thread i connects from source address i mod
 *         the list's length (IPv4 literals of the client's own addresses,
 *         IP_BIND_ADDRESS_NO_PORT: the port is still chosen at connect),
 *         so P clients can be P sources of a gateway.
 *         --rate R: an offered load of R connections/s in total (each
 *         thread starts one every P/R s, on a fixed schedule; a thread
 *         behind it starts the next at once), to compare set-ups at the
 *         same load: the rate printed is then what was achieved.
 * ADDR is an IPv4 or IPv6 literal.
 *
 * Ephemeral ports: the client closes with SO_LINGER {on, 0}, which sends a
 * RST and frees the 4-tuple at once instead of leaving it in TIME_WAIT for
 * 60 s, so a run of 100k+ connections never runs out of source ports (and the
 * server side, which closes second, does not pile up TIME_WAIT either).
 * The cost: each connection ends with RST instead of FIN, which a firewall
 * sees as one extra packet of an established session, never a new one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage addr;
static socklen_t addrlen;
static atomic_long budget;		/* connections left to attempt */
static atomic_long n_ok, n_err;
static double deadline;
static double interval;			/* --rate: s between a thread's starts */
static volatile sig_atomic_t stop;

#define MAX_FROM 64
static struct in_addr from[MAX_FROM];	/* --from, in order */
static int n_from;

struct worker {
	pthread_t tid;
	int idx;			/* thread number: its --from address */
	uint32_t *lat;			/* connect latencies in µs */
	size_t n, cap;
	int lfd;			/* server: listening socket */
};

static void on_signal(int sig) { (void)sig; stop = 1; }

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *host, const char *port)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	if (*end || p == 0 || p > 65535)
		return -1;
	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		addrlen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		addrlen = sizeof(*a6);
	} else {
		return -1;
	}
	return 0;
}

static void *server_thread(void *arg)
{
	struct worker *w = arg;
	int fd;

	while (!stop) {
		fd = accept(w->lfd, NULL, NULL);
		if (fd >= 0) {
			close(fd);
			atomic_fetch_add(&n_ok, 1);
		} else if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
			atomic_fetch_add(&n_err, 1);
		}
	}
	return NULL;
}

static int listener(void)
{
	int one = 1, fd = socket(addr.ss_family, SOCK_STREAM, 0);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* accept() wakes every 200 ms to look at the stop flag */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&addr, addrlen) < 0 || listen(fd, 4096) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int run_server(int threads)
{
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	int i;

	if (!w)
		return 1;
	for (i = 0; i < threads; i++) {
		w[i].lfd = listener();
		if (w[i].lfd < 0) {
			perror("connrate: listen");
			return 1;
		}
	}
	for (i = 0; i < threads; i++)
		pthread_create(&w[i].tid, NULL, server_thread, &w[i]);
	fprintf(stderr, "connrate: server ready (%d threads)\n", threads);
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].tid, NULL);
		close(w[i].lfd);
	}
	printf("accepted %ld errors %ld\n", atomic_load(&n_ok), atomic_load(&n_err));
	free(w);
	return 0;
}

/* Binds FD to --from address IDX mod n_from, port chosen at connect.
 * 0, or -1 with errno. */
static int bind_from(int fd, int idx)
{
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr = from[idx % n_from]};

	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(fd, (struct sockaddr *)&sa, sizeof(sa));
}

/* Parses --from's comma-separated IPv4 literals into from[]. 0 or -1. */
static int parse_from(const char *list)
{
	char buf[1024], *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n_from == MAX_FROM || inet_pton(AF_INET, t, &from[n_from]) != 1)
			return -1;
		n_from++;
	}
	return n_from ? 0 : -1;
}

static void *client_thread(void *arg)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct worker *w = arg;
	double t0, t1, slot = now();
	int fd;

	while (!stop && atomic_fetch_sub(&budget, 1) > 0 && now() < deadline) {
		if (interval > 0) { /* the next start of the schedule */
			double wait = slot - now();
			if (wait > 0) {
				struct timespec ts = {(time_t)wait,
						      (long)((wait - (time_t)wait) * 1e9)};
				nanosleep(&ts, NULL);
			}
			slot += interval;
		}
		fd = socket(addr.ss_family, SOCK_STREAM, 0);
		if (fd < 0) {
			atomic_fetch_add(&n_err, 1);
			continue;
		}
		/* close() sends RST and frees the port (see the top comment) */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		/* a dropped SYN fails after 3 s instead of ~2 minutes of
		 * kernel retries (counted as an error) */
		struct timeval cto = {3, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &cto, sizeof(cto));
		if (n_from && bind_from(fd, w->idx) < 0) {
			atomic_fetch_add(&n_err, 1);
			close(fd);
			continue;
		}
		t0 = now();
		if (connect(fd, (struct sockaddr *)&addr, addrlen) == 0) {
			t1 = now();
			atomic_fetch_add(&n_ok, 1);
			if (w->n == w->cap) {
				size_t cap = w->cap ? w->cap * 2 : 4096;
				uint32_t *p = realloc(w->lat, cap * sizeof(*p));

				if (!p) {
					close(fd);
					break;
				}
				w->lat = p;
				w->cap = cap;
			}
			w->lat[w->n++] = (uint32_t)((t1 - t0) * 1e6);
		} else {
			atomic_fetch_add(&n_err, 1);
		}
		close(fd);
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int run_client(long conns, int parallel, double seconds, double rate)
{
	struct worker *w = calloc((size_t)parallel, sizeof(*w));
	uint32_t *all, med = 0, p99 = 0, max = 0;
	size_t total = 0, k;
	double t0, el;
	int i;

	if (!w)
		return 1;
	atomic_store(&budget, conns);
	interval = rate > 0 ? parallel / rate : 0;
	t0 = now();
	deadline = t0 + seconds;
	for (i = 0; i < parallel; i++) {
		w[i].idx = i;
		pthread_create(&w[i].tid, NULL, client_thread, &w[i]);
	}
	for (i = 0; i < parallel; i++) {
		pthread_join(w[i].tid, NULL);
		total += w[i].n;
	}
	el = now() - t0;
	all = malloc((total ? total : 1) * sizeof(*all));
	if (!all)
		return 1;
	for (i = 0, k = 0; i < parallel; i++) {
		if (w[i].n)
			memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
		k += w[i].n;
		free(w[i].lat);
	}
	if (total) {
		qsort(all, total, sizeof(*all), cmp_u32);
		med = all[total / 2];
		p99 = all[(total * 99) / 100 < total ? (total * 99) / 100 : total - 1];
		max = all[total - 1];
	}
	printf("conns %ld errors %ld seconds %.3f rate %.0f/s connect_us median %u p99 %u max %u\n",
	       atomic_load(&n_ok), atomic_load(&n_err), el,
	       el > 0 ? (double)atomic_load(&n_ok) / el : 0.0, med, p99, max);
	free(all);
	free(w);
	return atomic_load(&n_ok) > 0 ? 0 : 1;
}

static void usage(void)
{
	fputs("usage: connrate server ADDR PORT [--threads T]\n"
	      "       connrate client ADDR PORT [--conns N] [--parallel P] [--seconds S]\n"
	      "                                 [--rate R] [--from A[,B...]]\n",
	      stderr);
	exit(2);
}

int main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = on_signal };
	long conns = 10000;
	int threads = 2, parallel = 1, i;
	double seconds = 10, rate = 0;

	if (argc < 4 || parse_addr(argv[2], argv[3]) < 0)
		usage();
	for (i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--conns"))
			conns = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--parallel"))
			parallel = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--rate"))
			rate = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--from")) {
			if (parse_from(argv[i + 1]) < 0 || addr.ss_family != AF_INET)
				usage();
		} else
			usage();
	}
	if (i != argc || threads < 1 || threads > 256 || parallel < 1 || parallel > 4096 ||
	    conns < 1 || seconds <= 0 || rate < 0)
		usage();
	sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART: accept() sees EINTR */
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!strcmp(argv[1], "server"))
		return run_server(threads);
	if (!strcmp(argv[1], "client"))
		return run_client(conns, parallel, seconds, rate);
	usage();
	return 2;
}
