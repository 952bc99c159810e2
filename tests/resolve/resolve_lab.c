/*
 * resolve_lab.c — the resolver against a real dnsmasq (started by run.sh on
 * 127.0.0.1 / ::1, a high port, --no-resolv, records in run.sh).
 *
 * Usage: resolve_lab PORT DNSMASQ_PID QUERY_LOG [--slow]
 *   --slow: under valgrind; timing bounds are widened, not dropped.
 *
 * Every step prints "ok"/"FAIL" lines and the numbers the report needs;
 * the exit status is 0 when every check passed. Every wait is bounded.
 * The program stops and continues dnsmasq itself (SIGSTOP/SIGCONT, by the
 * pid it was given) for the dead-server steps, and always continues it
 * before exiting.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "resolve/resolver.h"

#define MARK 0x5a1u
#define TIMEOUT_MS 300u

static int failures, checks;
static bool slow;
static pid_t dns_pid;
static int lab_port;

#define CHECK(c, ...)                                                       \
	do {                                                                \
		checks++;                                                   \
		if (!(c)) {                                                 \
			failures++;                                         \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #c); \
			printf(__VA_ARGS__);                                \
			printf("\n");                                       \
		}                                                           \
	} while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the ticker: proves the loop keeps running ------------------------- */

#define TICK_MS 50
static struct {
	uint64_t last, ticks, max_late;
} tick;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	uint64_t t = now_ms();
	if (tick.last && t > tick.last + TICK_MS &&
	    t - tick.last - TICK_MS > tick.max_late)
		tick.max_late = t - tick.last - TICK_MS;
	tick.last = t;
	tick.ticks++;
}

/* ---- requests ----------------------------------------------------------- */

struct res {
	int calls;
	enum rstatus st;
	char name[1024]; /* the names, joined by ' ' */
	size_t n;
	bool partial;
	uint64_t at;
};

static void on_name(void *arg, enum rstatus st, const struct rnames *names)
{
	struct res *r = arg;
	r->calls++;
	r->st = st;
	r->at = now_ms();
	r->name[0] = '\0';
	r->n = names ? names->n : 0;
	r->partial = names && names->partial;
	for (size_t i = 0; names && i < names->n; i++) {
		size_t l = strlen(r->name);
		snprintf(r->name + l, sizeof(r->name) - l, "%s%s", i ? " " : "",
			 names->v[i]);
		/* the contract: sorted, no duplicates */
		if (i && strcmp(names->v[i - 1], names->v[i]) >= 0)
			r->calls += 100;
	}
	if ((st == RS_OK) != (names != NULL) || (names && names->n == 0))
		r->calls += 100; /* a contract breach shows as a count */
}

static struct event_base *base;
static struct resolver *res;

static void addr_of(const char *s, int *fam, uint8_t a[16])
{
	memset(a, 0, 16);
	*fam = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(*fam, s, a) != 1)
		abort();
}

static int ask(const char *addr, struct res *out, struct resolver_req **req)
{
	int fam;
	uint8_t a[16];
	addr_of(addr, &fam, a);
	memset(out, 0, sizeof(*out));
	return resolver_reverse(res, fam, a, on_name, out, req);
}

/* Runs the loop until every one of N results (or PRED) is in, at most
 * MAX_MS. Returns true when done. */
static bool wait_all(struct res *r, size_t n, uint64_t max_ms)
{
	uint64_t end = now_ms() + max_ms;
	for (;;) {
		size_t done = 0;
		for (size_t i = 0; i < n; i++)
			done += r[i].calls > 0;
		if (done == n)
			return true;
		if (now_ms() >= end)
			return false;
		event_base_loop(base, EVLOOP_ONCE);
	}
}

static void run_for(uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	while (now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

static struct resolver_stats stats(void)
{
	struct resolver_stats s;
	resolver_stats(res, &s);
	return s;
}

/* Lines of the dnsmasq query log containing NEEDLE (waits up to 1 s for
 * the count to reach AT_LEAST, since dnsmasq logs asynchronously). */
static int log_count(const char *path, const char *needle, int at_least)
{
	int n = 0;
	for (int round = 0; round < 20; round++) {
		FILE *f = fopen(path, "r");
		char line[1024];
		n = 0;
		if (f) {
			while (fgets(line, sizeof(line), f))
				n += strstr(line, needle) != NULL;
			fclose(f);
		}
		if (n >= at_least)
			break;
		usleep(50000);
	}
	return n;
}

/* The marks of this process's UDP sockets connected to PORT: returns how
 * many such sockets there are, *MARKED how many carry MARK. */
static int socket_marks(int port, int *marked)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	*marked = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name), type;
		struct sockaddr_storage ss;
		socklen_t l = sizeof(type);
		uint32_t mark = 0;
		if (e->d_name[0] == '.' ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
			continue;
		l = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &l) < 0)
			continue;
		int p = ss.ss_family == AF_INET
				? ntohs(((struct sockaddr_in *)&ss)->sin_port)
				: ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		if (p != port)
			continue;
		n++;
		l = sizeof(mark);
		if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &l) == 0 &&
		    mark == MARK)
			(*marked)++;
	}
	closedir(d);
	return n;
}

/* ---- steps ---------------------------------------------------------------- */

static void step_basic(void)
{
	struct res r;
	struct resolver_req *req;
	CHECK(ask("198.18.10.1", &r, &req) == 0 && r.calls == 0 && req,
	      "a miss returns a handle and calls back later");
	CHECK(wait_all(&r, 1, 3000), "no answer");
	CHECK(r.calls == 1 && r.st == RS_OK && !strcmp(r.name, "good.example"),
	      "forward-confirmed: calls %d st %s name '%s'", r.calls,
	      rstatus_str(r.st), r.name);
	CHECK(ask("198.18.10.1", &r, &req) == 0 && r.calls == 1 && !req &&
		      r.st == RS_OK && !strcmp(r.name, "good.example"),
	      "cache hit is synchronous: calls %d", r.calls);

	CHECK(ask("198.18.10.11", &r, NULL) == 0 && wait_all(&r, 1, 3000), "request");
	CHECK(r.st == RS_NONAME && r.calls == 1,
	      "spoofed PTR (good.example resolves elsewhere): %s",
	      rstatus_str(r.st));

	CHECK(ask("198.18.10.12", &r, NULL) == 0 && wait_all(&r, 1, 3000), "request");
	CHECK(r.st == RS_OK && !strcmp(r.name, "ok2.example"),
	      "two PTRs, one confirms: %s '%s'", rstatus_str(r.st), r.name);

	CHECK(ask("198.18.10.20", &r, NULL) == 0 && wait_all(&r, 1, 3000), "request");
	CHECK(r.st == RS_NONAME, "no PTR: %s", rstatus_str(r.st));
	uint64_t neg = stats().negative_hits;
	CHECK(ask("198.18.10.20", &r, NULL) == 0 && r.calls == 1 &&
		      r.st == RS_NONAME && stats().negative_hits == neg + 1,
	      "negative cache hit is synchronous");

	/* outside dnsmasq's local zones and no upstream: REFUSED */
	CHECK(ask("198.19.0.1", &r, NULL) == 0 && wait_all(&r, 1, 3000),
	      "request");
	CHECK(r.st == RS_SERVFAIL, "refused: %s", rstatus_str(r.st));
	CHECK(ask("198.19.0.1", &r, NULL) == 0 && r.calls == 1 &&
		      r.st == RS_SERVFAIL &&
		      stats().negative_hits == neg + 2,
	      "servfail is negative-cached");

	CHECK(ask("2001:db8:10::1", &r, NULL) == 0 && wait_all(&r, 1, 3000), "request");
	CHECK(r.st == RS_OK && !strcmp(r.name, "v6.example"),
	      "IPv6 (ip6.arpa): %s '%s'", rstatus_str(r.st), r.name);
	CHECK(ask("2001:db8:10::11", &r, NULL) == 0 && wait_all(&r, 1, 3000),
	      "request");
	CHECK(r.st == RS_NONAME, "IPv6 spoofed PTR: %s", rstatus_str(r.st));

	int fam;
	uint8_t a[16];
	addr_of("198.18.10.1", &fam, a);
	errno = 0;
	CHECK(resolver_reverse(res, AF_UNIX, a, on_name, &r, NULL) == -1 &&
		      errno == EAFNOSUPPORT,
	      "bad family");
	printf("-- basic: good, spoofed, multi-PTR, no-PTR + negative hit, "
	       "refused + negative hit, IPv6\n");
}

static void step_shared(const char *log)
{
	enum { N = 100, NCANCEL = 10 };
	static struct res r[N];
	struct resolver_req *req[N];
	struct resolver_stats s0 = stats(), s1;
	for (int i = 0; i < N; i++)
		CHECK(ask("198.18.10.50", &r[i], &req[i]) == 0 && req[i], "request");
	for (int i = 0; i < NCANCEL; i++) /* sessions that ended */
		resolver_cancel(res, req[i * 7]);
	s1 = stats();
	CHECK(s1.lookups == s0.lookups + 1 && s1.shared == s0.shared + N - 1 &&
		      s1.in_flight == 1 && s1.waiters == N - NCANCEL,
	      "lookups +%llu shared +%llu in_flight %llu waiters %llu",
	      (unsigned long long)(s1.lookups - s0.lookups),
	      (unsigned long long)(s1.shared - s0.shared),
	      (unsigned long long)s1.in_flight,
	      (unsigned long long)s1.waiters);
	run_for(0);
	uint64_t end = now_ms() + 3000;
	while (stats().in_flight && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	int called = 0, cancelled_called = 0, ok = 0;
	for (int i = 0; i < N; i++) {
		bool cancelled = i % 7 == 0 && i / 7 < NCANCEL;
		if (cancelled)
			cancelled_called += r[i].calls;
		else {
			called += r[i].calls == 1;
			ok += r[i].st == RS_OK &&
			      !strcmp(r[i].name, "many.example");
		}
	}
	CHECK(called == N - NCANCEL && ok == N - NCANCEL &&
		      cancelled_called == 0,
	      "fan-out: %d called once, %d ok, cancelled called %d", called, ok,
	      cancelled_called);
	int q = log_count(log, "query[PTR] 50.10.18.198.in-addr.arpa", 1);
	int qa = log_count(log, "query[A] many.example", 1);
	CHECK(q == 1 && qa == 1, "upstream PTR queries %d, A queries %d", q,
	      qa);
	s1 = stats();
	printf("-- shared: %d requests (%d cancelled) -> lookups +%llu, "
	       "shared +%llu, upstream PTR queries %d, A queries %d\n",
	       N, NCANCEL, (unsigned long long)(s1.lookups - s0.lookups),
	       (unsigned long long)(s1.shared - s0.shared), q, qa);
}

static void step_mark(void)
{
	struct res r;
	int marked, n;
	uint64_t q0 = stats().queries;
	CHECK(ask("198.18.10.2", &r, NULL) == 0, "request");
	/* the PTR query goes out from the loop; catch the socket in flight */
	uint64_t end = now_ms() + 1000;
	while (stats().queries == q0 && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	n = socket_marks(lab_port, &marked);
	CHECK(n >= 1 && marked == n, "DNS sockets %d, with mark 0x%x: %d", n,
	      MARK, marked);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ss -uanpe 'dport = :%d' 2>/dev/null",
		 lab_port);
	FILE *p = popen(cmd, "r");
	char line[1024];
	int ss_marked = 0;
	while (p && fgets(line, sizeof(line), p))
		if (strstr(line, "fwmark:0x5a1")) {
			ss_marked++;
			printf("   ss: %s", line);
		}
	if (p)
		pclose(p);
	printf("-- mark: %d DNS socket(s) in flight, %d with SO_MARK 0x%x "
	       "(getsockopt), %d shown by ss -e\n",
	       n, marked, MARK, ss_marked);
	wait_all(&r, 1, 3000);
}

static void step_ttl(const char *log)
{
	struct res r;
	struct resolver_req *req;
	uint64_t l0 = stats().lookups;
	CHECK(ask("198.18.10.30", &r, NULL) == 0 && wait_all(&r, 1, 3000) &&
		      r.st == RS_OK && !strcmp(r.name, "short.example"),
	      "short: %s", rstatus_str(r.st));
	CHECK(ask("198.18.10.30", &r, &req) == 0 && r.calls == 1,
	      "cached within TTL");
	run_for(2300); /* TTL 2 s */
	CHECK(ask("198.18.10.30", &r, &req) == 0 && r.calls == 0 && req,
	      "expired after TTL: calls %d", r.calls);
	CHECK(wait_all(&r, 1, 3000) && r.st == RS_OK, "request");
	int q = log_count(log, "query[PTR] 30.10.18.198.in-addr.arpa", 2);
	CHECK(q == 2 && stats().lookups == l0 + 2,
	      "PTR queries for the 2 s name: %d", q);
	printf("-- ttl: TTL-2 entry hit at once, missed after 2.3 s; "
	       "upstream PTR queries %d\n", q);
}

static void step_prefetch(const char *log)
{
	const char *set1[] = {"pf1.example", "pf2.example", "nx.example",
			      "PF1.Example.", "pfs.example"};
	const char *names[8];
	int fam;
	uint8_t a[16];
	resolver_prefetch(res, set1, 5);
	uint64_t end = now_ms() + 3000;
	while (stats().prefetched_addrs < 4 && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	struct resolver_stats s = stats();
	CHECK(s.prefetched_names == 4 && s.prefetched_addrs == 4,
	      "names %llu addrs %llu", (unsigned long long)s.prefetched_names,
	      (unsigned long long)s.prefetched_addrs);
	addr_of("198.18.10.40", &fam, a);
	bool partial;
	size_t n = resolver_known_names(res, fam, a, names, 8, &partial);
	bool has1 = false, has2 = false;
	for (size_t i = 0; i < n && i < 8; i++) {
		has1 |= !strcmp(names[i], "pf1.example");
		has2 |= !strcmp(names[i], "pf2.example");
	}
	CHECK(n == 2 && has1 && has2, "198.18.10.40 -> %zu names", n);
	addr_of("2001:db8:10::40", &fam, a);
	n = resolver_known_names(res, fam, a, names, 8, &partial);
	CHECK(n == 1 && !strcmp(names[0], "pf1.example"), "v6 -> %zu", n);
	addr_of("198.18.10.1", &fam, a);
	CHECK(resolver_known_names(res, fam, a, names, 8, &partial) == 0 &&
		      !partial,
	      "unknown");
	/* refresh: pfs.example has TTL 2, refresh_min 1 */
	int before = log_count(log, "query[A] pfs.example", 1);
	run_for(4500);
	int after = log_count(log, "query[A] pfs.example", before + 2);
	int pf1 = log_count(log, "query[A] pf1.example", 1);
	CHECK(after >= before + 2 && pf1 == 1,
	      "pfs.example (TTL 2) asked %d times, pf1 (TTL 600) %d", after,
	      pf1);
	const char *set2[] = {"pf2.example"};
	resolver_prefetch(res, set2, 1);
	s = stats();
	CHECK(s.prefetched_names == 1 && s.prefetched_addrs == 1,
	      "after reload: names %llu addrs %llu",
	      (unsigned long long)s.prefetched_names,
	      (unsigned long long)s.prefetched_addrs);
	printf("-- prefetch: 4 names (1 dup merged, nx empty) -> 4 addresses; "
	       "TTL-2 name refreshed %d times in 4.5 s, TTL-600 name once; "
	       "reload keeps 1\n",
	       after - before);
}

/* Every confirmed name, in a stable order; a bound stops work but never
 * makes "no name". */
static void step_names(const char *log)
{
	struct res r;
	CHECK(ask("198.18.12.100", &r, NULL) == 0 && wait_all(&r, 1, 5000),
	      "request");
	CHECK(r.calls == 1 && r.st == RS_OK && r.n == 3 && !r.partial &&
		      !strcmp(r.name, "a1.example a2.example a3.example"),
	      "three PTR names: %s n %zu partial %d '%s'", rstatus_str(r.st),
	      r.n, r.partial, r.name);
	/* the cached set is the same set */
	CHECK(ask("198.18.12.100", &r, NULL) == 0 && r.calls == 1 &&
		      !strcmp(r.name, "a1.example a2.example a3.example"),
	      "cached: '%s'", r.name);
	printf("-- names: 198.18.12.100 (PTR a3, a1, a2) -> %s '%s'\n",
	       rstatus_str(r.st), r.name);

	/* the 35th of 40 round-robin addresses (an answer over 512 bytes,
	 * so c-ares asks again over TCP): every address is read */
	CHECK(ask("198.18.12.35", &r, NULL) == 0 && wait_all(&r, 1, 5000),
	      "request");
	CHECK(r.st == RS_OK && !strcmp(r.name, "rr40.example") && !r.partial,
	      "35th of 40 addresses: %s '%s'", rstatus_str(r.st), r.name);
	printf("-- names: 198.18.12.35 (one of 40 addresses) -> %s '%s'\n",
	       rstatus_str(r.st), r.name);

	/* a CNAME chain on the way back */
	CHECK(ask("198.18.12.110", &r, NULL) == 0 && wait_all(&r, 1, 5000),
	      "request");
	CHECK(r.st == RS_OK && !strcmp(r.name, "alias1.example"),
	      "CNAME chain: %s '%s'", rstatus_str(r.st), r.name);
	printf("-- names: 198.18.12.110 (PTR alias1 -> alias2 -> target) -> "
	       "%s '%s'\n", rstatus_str(r.st), r.name);

	/* 20 PTR names past the bound of 16, none resolving back: unknown
	 * (RS_INCOMPLETE), never RS_NONAME — also from the cache */
	uint64_t b0 = stats().bounded;
	int fwd0 = log_count(log, "query[A] nx", 0);
	CHECK(ask("198.18.12.101", &r, NULL) == 0 && wait_all(&r, 1, 8000),
	      "request");
	CHECK(r.st == RS_INCOMPLETE && stats().bounded == b0 + 1,
	      "20 unconfirmed PTR names: %s (bounded +%llu)",
	      rstatus_str(r.st), (unsigned long long)(stats().bounded - b0));
	CHECK(ask("198.18.12.101", &r, NULL) == 0 && r.calls == 1 &&
		      r.st == RS_INCOMPLETE,
	      "cached: %s", rstatus_str(r.st));
	int fwd = log_count(log, "query[A] nx", fwd0 + RESOLVER_MAX_PTR) - fwd0;
	CHECK(fwd == RESOLVER_MAX_PTR, "forward queries %d", fwd);
	printf("-- names: 198.18.12.101 (20 PTR names, none resolve back) -> "
	       "%s after %d forward queries\n", rstatus_str(r.st), fwd);

	/* 20 PTR names that all resolve back: the first 16 confirmed, the set
	 * marked partial */
	CHECK(ask("198.18.12.102", &r, NULL) == 0 && wait_all(&r, 1, 8000),
	      "request");
	CHECK(r.st == RS_OK && r.n == RESOLVER_MAX_PTR && r.partial,
	      "20 confirmed PTR names: %s n %zu partial %d", rstatus_str(r.st),
	      r.n, r.partial);
	printf("-- names: 198.18.12.102 (20 PTR names, all resolve back) -> "
	       "%s, %zu names, partial %d\n", rstatus_str(r.st), r.n,
	       r.partial);

	/* prefetch of the 40-address name: every address maps back */
	const char *set[] = {"rr40.example"}, *names[4];
	resolver_prefetch(res, set, 1);
	uint64_t end = now_ms() + 5000;
	while (stats().prefetched_addrs < 40 && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	int fam, found = 0;
	bool partial = true;
	uint8_t a[16];
	char ip[32];
	for (int i = 1; i <= 40; i++) {
		snprintf(ip, sizeof(ip), "198.18.12.%d", i);
		addr_of(ip, &fam, a);
		found += resolver_known_names(res, fam, a, names, 4,
					      &partial) == 1 &&
			 !partial && !strcmp(names[0], "rr40.example");
	}
	CHECK(found == 40 && stats().prefetched_addrs == 40,
	      "prefetched addresses %d of 40 (index %llu)", found,
	      (unsigned long long)stats().prefetched_addrs);
	printf("-- names: prefetched rr40.example -> %d of 40 addresses map "
	       "back\n", found);
	resolver_prefetch(res, NULL, 0);
}

static void step_dead(void)
{
	enum { N = 5 };
	struct res r[N], hit;
	const char *addrs[N] = {"198.18.10.60", "198.18.10.61", "198.18.10.62",
				"2001:db8:10::60", "198.18.10.63"};
	kill(dns_pid, SIGSTOP);
	uint64_t t0 = now_ms(), ticks0 = tick.ticks;
	tick.max_late = 0;
	for (int i = 0; i < N; i++)
		CHECK(ask(addrs[i], &r[i], NULL) == 0, "request");
	/* the cache still answers during the outage, at once */
	CHECK(ask("198.18.10.1", &hit, NULL) == 0 && hit.calls == 1 &&
		      hit.st == RS_OK,
	      "cache during outage");
	bool done = wait_all(r, N, 10000);
	uint64_t el = 0;
	int to = 0;
	for (int i = 0; i < N; i++) {
		to += r[i].st == RS_TIMEOUT;
		if (r[i].at - t0 > el)
			el = r[i].at - t0;
	}
	uint64_t ticks = tick.ticks - ticks0;
	uint64_t expect_ticks = el / TICK_MS;
	CHECK(done && to == N, "timeouts %d of %d", to, N);
	/* c-ares 1.18 doubles the per-try timeout after a round over the
	 * servers: one server, 2 tries = T + 2T */
	uint64_t lo = TIMEOUT_MS * 2, hi = TIMEOUT_MS * 3 + (slow ? 1500 : 300);
	CHECK(el >= lo && el <= hi, "timed out after %llu ms (want %llu..%llu)",
	      (unsigned long long)el, (unsigned long long)lo,
	      (unsigned long long)hi);
	/* a loop blocked by the stalled server would be late by a whole
	 * try (TIMEOUT_MS); 100 ms leaves room for a busy shared host */
	CHECK(ticks + 2 >= expect_ticks &&
		      tick.max_late <= (uint64_t)(slow ? 200 : 100),
	      "ticker: %llu ticks in %llu ms, max late %llu ms",
	      (unsigned long long)ticks, (unsigned long long)el,
	      (unsigned long long)tick.max_late);
	printf("-- dead server: %d lookups -> RS_TIMEOUT after %llu ms "
	       "(timeout %u ms x %d tries); ticker %llu/%llu ticks, max "
	       "lateness %llu ms\n",
	       to, (unsigned long long)el, TIMEOUT_MS, RESOLVER_TRIES,
	       (unsigned long long)ticks, (unsigned long long)expect_ticks,
	       (unsigned long long)tick.max_late);
	kill(dns_pid, SIGCONT);
	run_for(200);
	struct res again;
	CHECK(ask("198.18.10.60", &again, NULL) == 0 && again.calls == 0,
	      "a timeout is not cached");
	CHECK(wait_all(&again, 1, 3000) && again.st == RS_OK &&
		      !strcmp(again.name, "later.example"),
	      "after SIGCONT: %s '%s'", rstatus_str(again.st), again.name);
	printf("-- recovery: after SIGCONT 198.18.10.60 -> %s %s\n",
	       rstatus_str(again.st), again.name);
}

/* resolver_free with lookups queued, on the wire and a prefetch round out:
 * every waiter hears RS_CANCELED once; valgrind checks the rest. */
static void step_free_in_flight(void)
{
	enum { N = 20 };
	static struct res r[N];
	char a[64];
	const char *pf[] = {"pf1.example", "pf2.example", "zz.example"};
	const char *pf2[] = {"pf3.example"};
	kill(dns_pid, SIGSTOP);
	for (int i = 0; i < N / 2; i++) { /* on the wire */
		snprintf(a, sizeof(a), "198.18.11.%d", i / 2 + 1);
		CHECK(ask(a, &r[i], NULL) == 0, "request");
	}
	resolver_prefetch(res, pf, 3);
	run_for(100);
	resolver_prefetch(res, pf2, 1); /* zombies with queries out */
	for (int i = N / 2; i < N; i++) { /* still queued */
		snprintf(a, sizeof(a), "2001:db8:11::%d", i);
		CHECK(ask(a, &r[i], NULL) == 0, "request");
	}
	struct resolver_stats s = stats();
	resolver_free(res);
	res = NULL;
	int once = 0;
	for (int i = 0; i < N; i++)
		once += r[i].calls == 1 && r[i].st == RS_CANCELED;
	CHECK(once == N, "%d of %d cancelled once", once, N);
	printf("-- free in flight: %llu lookups in flight, %llu waiters -> "
	       "%d RS_CANCELED callbacks\n",
	       (unsigned long long)s.in_flight, (unsigned long long)s.waiters,
	       once);
	kill(dns_pid, SIGCONT);
}

static struct resolver *make(const char *server)
{
	char *servers[1] = {(char *)server};
	struct resolver_cfg cfg = {.servers = servers, .nservers = 1,
				   .timeout_ms = TIMEOUT_MS, .cache = 1000,
				   .negative_ttl_s = 300, .refresh_min_s = 1};
	return resolver_new(base, &cfg, MARK);
}

int main(int argc, char **argv)
{
	char srv[64];
	if (argc < 4) {
		fprintf(stderr, "usage: resolve_lab PORT DNSMASQ_PID LOG [--slow]\n");
		return 2;
	}
	lab_port = atoi(argv[1]);
	dns_pid = (pid_t)atoi(argv[2]);
	slow = argc > 4 && !strcmp(argv[4], "--slow");
	setvbuf(stdout, NULL, _IOLBF, 0);
	base = event_base_new();
	struct event *t = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(t, &tv);

	/* bad settings */
	{
		char *bad[1] = {(char *)"300.1.2.3"};
		struct resolver_cfg cfg = {.servers = bad, .nservers = 1};
		errno = 0;
		CHECK(!resolver_new(base, &cfg, 0) && errno == EINVAL,
		      "bad server refused");
	}
	/* IPv6 transport */
	snprintf(srv, sizeof(srv), "[::1]:%d", lab_port);
	res = make(srv);
	CHECK(res != NULL, "resolver over [::1]");
	if (res) {
		struct res r;
		CHECK(ask("198.18.10.1", &r, NULL) == 0 &&
			      wait_all(&r, 1, 3000) && r.st == RS_OK,
		      "over IPv6 transport: %s", rstatus_str(r.st));
		printf("-- server [::1]:%d: %s %s\n", lab_port,
		       rstatus_str(r.st), r.name);
		resolver_free(res);
	}

	snprintf(srv, sizeof(srv), "127.0.0.1:%d", lab_port);
	res = make(srv);
	if (!res) {
		printf("FAIL resolver_new: %s\n", strerror(errno));
		kill(dns_pid, SIGCONT);
		return 1;
	}
	step_basic();
	step_shared(argv[3]);
	step_mark();
	step_ttl(argv[3]);
	step_prefetch(argv[3]);
	step_names(argv[3]);
	step_dead();
	struct resolver_stats s = stats();
	printf("stats: lookups %llu shared %llu cache_hits %llu misses %llu "
	       "negative_hits %llu timeouts %llu servfails %llu unconfirmed "
	       "%llu bounded %llu queries %llu mark_failures %llu in_flight %llu "
	       "cache_entries %llu prefetched %llu/%llu\n",
	       (unsigned long long)s.lookups, (unsigned long long)s.shared,
	       (unsigned long long)s.cache_hits,
	       (unsigned long long)s.cache_misses,
	       (unsigned long long)s.negative_hits,
	       (unsigned long long)s.timeouts, (unsigned long long)s.servfails,
	       (unsigned long long)s.unconfirmed,
	       (unsigned long long)s.bounded,
	       (unsigned long long)s.queries,
	       (unsigned long long)s.mark_failures,
	       (unsigned long long)s.in_flight,
	       (unsigned long long)s.cache_entries,
	       (unsigned long long)s.prefetched_names,
	       (unsigned long long)s.prefetched_addrs);
	step_free_in_flight();
	event_free(t);
	event_base_free(base);
	kill(dns_pid, SIGCONT);
	printf("%s: %d checks, %d failed\n", failures ? "FAIL" : "PASS", checks,
	       failures);
	return failures ? 1 : 0;
}
