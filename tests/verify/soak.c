/*
 * soak.c — runs N verifier rounds against a local nginx and watches the
 * process's memory and file descriptors.
 *
 * usage: verify_soak N HTTP_PORT HTTPS_PORT CLOSED_PORT BLACKHOLE_PORT
 *                    CA_FILE GOOD_PWFILE BAD_PWFILE [EVERY_MS]
 *
 * The mix (VARIANTS distinct URLs per kind, each probe subscribed twice so
 * dedup is exercised): plain HTTP with a body check, HTTPS with the lab CA,
 * Basic auth good and bad, refused, timeout (a listener that never
 * answers), status mismatch, TCP connect, ICMP echo; and, when their peers'
 * ports are in the environment, the authenticated kinds:
 *   SOAK_GSS_PORT      Apache + mod_auth_gssapi (Kerberos): Negotiate with
 *                      the process's ticket to /gss/ (ok) and to /gss-deny/
 *                      whose user is someone else (auth failed);
 *   SOAK_NTLM_PORT     lab_peers.py's NTLM peer: libcurl's own NTLM as
 *                      user bob (ok) and as eve (auth failed);
 *   SOAK_SSP_PORTS     OK_PORT,BAD_PORT: Apache + mod_auth_gssapi with
 *                      gss-ntlmssp: Negotiate falling back to NTLMSSP with
 *                      the process's NTLM_USER_FILE, whose password the
 *                      first server has (ok) and the second not (auth
 *                      failed).
 *   SOAK_DNS_PORT      dnsmasq on 127.0.0.1: a name it answers (dns ok)
 *                      and one under its local zone it lacks (NXDOMAIN,
 *                      dns error); with the base kinds only.
 * SOAK_NO_BASE=1 leaves out the kinds above the authenticated ones.
 * SOAK_MIDWAY_CMD, when set, is run (sh -c) once half the rounds are done,
 * e.g. to stop the KDC: checks must then keep their results.
 * Every EVERY_MS (50)
 * ± 20 %,
 * MAX_INFLIGHT probes at once. Every CHURN_EVERY rounds a few random
 * subscriptions are removed and added again, so probes are cancelled in
 * flight and recreated (the reconfiguration path).
 *
 * After a warm-up (25 % of N, at least 5,000 rounds: long enough for
 * libcurl's connection cache to reach its working size) and at the end, RSS
 * (/proc/self/statm) and the open fd count (/proc/self/fd) are sampled 50
 * times over one second (fds: floor and ceiling); a progress line every
 * 10 % shows the trend. Exit 1 when
 *   - RSS grew by more than 1 MiB between warm-up and end, measured right
 *     after malloc_trim(0) so that pages glibc keeps after a transient peak
 *     (fragmentation, not a leak) do not count — the raw RSS is printed
 *     too — or the bytes malloc has in use grew by more than 1 MiB;
 *   - the fd ceiling exceeded the design bound: fds before the engine +
 *     MAX_INFLIGHT (one socket per running probe) + MAXCONNECTS (idle
 *     connections libcurl may cache) — a leak of one fd per 1,000 rounds
 *     crosses it within 150k rounds, and the next check catches any leak;
 *   - the fd count after vengine_free() differs from the count before
 *     vengine_new() (exact: nothing the engine opened may survive it);
 *   - a kind of check changed state to a result other than its own;
 *   - the default `memory-growth` alert (src/stats/alerts.c, the one
 *     sluiced runs on process_resident_memory_bytes) fired: from half-way
 *     to the end it is fed this process's RSS (after malloc_trim, see
 *     feed_alerts), heap and fds every 100 ms
 *     on a clock running SOAK_ALERT_SCALE (600) times faster, so that its
 *     2-hour window spans 12 s of soak (not from warm-up: the allocator
 *     settles for some seconds after it, a rise of ~1.5 % of this small
 *     process that the compressed clock would stretch into two hours of
 *     steady growth). With SOAK_EXPECT_ALERT=1 the
 *     opposite: it fails when the alert did NOT fire (a leaking build or
 *     library, where the growth is real);
 * 0 otherwise.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stats/alerts.h"
#include "stats/counters.h"
#include "verify/verify.h"
#include "../lab/measure.h"

#define VARIANTS 12
static unsigned every_ms = 50;
#define MAX_INFLIGHT 64
#define MAXCONNECTS 64
#define CHURN_EVERY 500
#define SAMPLES 50

enum kind { K_HTTP, K_TLS, K_BASIC_OK, K_BASIC_BAD, K_REFUSED, K_TIMEOUT,
	    K_STATUS, K_TCP, K_ICMP, K_GSS_OK, K_GSS_BAD, K_NTLM_OK, K_NTLM_BAD,
	    K_SSP_OK, K_SSP_BAD, K_DNS_OK, K_DNS_NX, K_COUNT };
#define K_FIRST_AUTH K_GSS_OK
static const char *const kind_name[K_COUNT] = {
	"http ok", "tls ok", "basic ok", "basic bad", "refused", "timeout",
	"status", "tcp ok", "icmp ok", "negotiate ok", "negotiate denied",
	"ntlm ok", "ntlm bad user", "ntlmssp ok", "ntlmssp bad password",
	"dns ok", "dns nxdomain"};
static const enum vresult kind_want[K_COUNT] = {
	VR_OK, VR_OK, VR_OK, VR_AUTH, VR_REFUSED, VR_TIMEOUT, VR_STATUS,
	VR_OK, VR_OK, VR_OK, VR_AUTH, VR_OK, VR_AUTH, VR_OK, VR_AUTH,
	VR_OK, VR_DNS};
static bool kind_on[K_COUNT];
static int gss_port, ntlm_port, ssp_ok_port, ssp_bad_port, dns_port;
static const char *midway_cmd;
static struct alerts *alerts;
static double alert_scale = 600; /* alert clock ms per real ms */
static unsigned alert_ticks;

struct sub {
	enum kind k;
	struct verify_spec spec;
	char url[160];
	char qname[64]; /* dns */
	const char *member;
	int id;
};

#define MAXSUBS (K_COUNT * VARIANTS * 2)
static struct sub subs[MAXSUBS];
static int nsubs;
static struct event_base *base;
static struct vengine *eng;
static unsigned long long target_runs, churned, next_churn, next_progress;
static uint64_t seen_by_kind[K_COUNT][VR_COUNT];
static uint32_t rng = 12345;

struct sample {
	long rss_kib;	  /* as the kernel reports it */
	long trim_kib;	  /* after malloc_trim(0): pages malloc keeps free */
	size_t heap_kib; /* malloc'd and in use (mallinfo2), the floor over
			  * the window: probes in flight come and go */
	int fd_min, fd_max;
	unsigned long long runs;
	double t;
};
static struct sample warm, end;
static int fds_before, fds_after; /* around vengine_new() .. vengine_free() */
static struct sample *cur; /* window being sampled */
static int nsamples;
static double t0;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* The soak feeds only the process counters: print what they fire. */
static void alert_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	if (strstr(msg, "'memory-growth'"))
		printf("soak: alert log <%d> %s\n", prio, msg);
}

/* The process's own counters, as sluiced reads them, to the alerts at the
 * scaled clock. RSS is read after malloc_trim(0), as the soak's own check
 * reads it: pages glibc keeps free after peaks of probes in flight drift
 * up by a percent or two on a busy machine (the heap in use stays flat),
 * which the compressed clock would turn into hours of steady growth. */
static void feed_alerts(void)
{
	struct stats_snapshot s = {0};

	malloc_trim(0);
	s.process_resident_memory_bytes = (uint64_t)rss_kib() * 1024;
	s.process_heap_bytes = mallinfo2().uordblks;
	s.process_open_fds = (uint64_t)fd_count();
	alerts_tick(alerts, &s,
		    (int64_t)((now_s() - t0) * 1000.0 * alert_scale));
}

/* Counts results by kind: vengine_status of every subscription. */
static void on_change(const struct vstatus *st, void *arg)
{
	struct sub *s = arg;

	seen_by_kind[s->k][st->last]++;
}

static int add_sub(struct sub *s)
{
	s->id = vengine_add(eng, kind_name[s->k], &s->spec, s->member,
			    on_change, s);
	if (s->id < 0)
		fprintf(stderr, "soak: vengine_add %s: %s\n", s->url,
			strerror(errno));
	return s->id;
}

static void churn(void)
{
	for (int i = 0; i < 4; i++) {
		struct sub *s = &subs[rnd() % (unsigned)nsubs];

		if (vengine_remove(eng, s->id) < 0 || add_sub(s) < 0) {
			fprintf(stderr, "soak: churn failed\n");
			event_base_loopbreak(base);
			return;
		}
		churned++;
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vengine_stats st;

	(void)fd;
	(void)what;
	(void)arg;
	vengine_stats(eng, &st);
	if (st.runs >= next_progress) {
		struct mallinfo2 mi = mallinfo2();

		printf("soak: progress %llu rounds, %.1f s: RSS %ld KiB, heap in "
		       "use %zu KiB, fds %d, in flight %u\n",
		       (unsigned long long)st.runs, now_s() - t0, rss_kib(),
		       mi.uordblks / 1024, fd_count(), st.inflight);
		fflush(stdout);
		next_progress += target_runs / 10;
	}
	if (warm.t && !end.t && st.runs >= target_runs / 2 &&
	    ++alert_ticks % 5 == 0)
		feed_alerts(); /* every 100 ms from half-way to the end */
	if (midway_cmd && st.runs >= target_runs / 2) {
		int rc = system(midway_cmd);

		printf("soak: at %llu rounds ran \"%s\": exit %d\n",
		       (unsigned long long)st.runs, midway_cmd, rc);
		midway_cmd = NULL;
	}
	if (st.runs >= next_churn) {
		churn();
		next_churn = st.runs + CHURN_EVERY;
	}
	if (!cur) {
		unsigned long long w = target_runs / 4;

		if (w < 5000)
			w = 5000;
		if (w > target_runs / 2)
			w = target_runs / 2;
		if (!warm.t && st.runs >= w)
			cur = &warm;
		else if (warm.t && st.runs >= target_runs)
			cur = &end;
		if (cur) {
			nsamples = 0;
			cur->fd_min = 1 << 30;
			cur->fd_max = 0;
		}
	}
	if (cur) {
		int n = fd_count();

		if (n < cur->fd_min)
			cur->fd_min = n;
		if (n > cur->fd_max)
			cur->fd_max = n;
		{
			size_t h = mallinfo2().uordblks / 1024;

			if (!nsamples || h < cur->heap_kib)
				cur->heap_kib = h;
		}
		if (++nsamples == SAMPLES) {
			cur->rss_kib = rss_kib();
			malloc_trim(0);
			cur->trim_kib = rss_kib();
			cur->runs = st.runs;
			cur->t = now_s() - t0;
			printf("soak: %s at %llu rounds, %.1f s: RSS %ld KiB "
			       "(%ld after trim), heap in use %zu KiB, fds "
			       "%d..%d\n",
			       cur == &warm ? "warm-up" : "end", cur->runs,
			       cur->t, cur->rss_kib, cur->trim_kib,
			       cur->heap_kib, cur->fd_min, cur->fd_max);
			fflush(stdout);
			if (cur == &end)
				event_base_loopbreak(base);
			cur = NULL;
		}
	}
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fprintf(stderr, "soak: deadline reached\n");
	event_base_loopbreak(base);
}

static void make_subs(char **argv)
{
	int ph = atoi(argv[2]), ps = atoi(argv[3]), pc = atoi(argv[4]),
	    pb = atoi(argv[5]);
	const char *ca = argv[6], *good = argv[7], *bad = argv[8];
	static struct portrange ok200 = {200, 299};
	int n = 0;

	for (int k = 0; k < K_COUNT; k++) {
		if (!kind_on[k])
			continue;
		for (int v = 0; v < VARIANTS; v++) {
			for (int twin = 0; twin < 2; twin++) {
				struct sub *s = &subs[n++];
				struct verify_spec *sp = &s->spec;

				s->k = (enum kind)k;
				sp->every_ms = every_ms;
				/* generous: a busy machine must not turn a
				 * slow answer into a wrong kind of result */
				sp->timeout_ms = 5000;
				sp->method = VM_HTTP;
				sp->target = s->url;
				sp->rise = twin ? 1 : 2; /* not compared: the probe is shared */
				switch (s->k) {
				case K_HTTP:
					snprintf(s->url, sizeof(s->url),
						 "http://127.0.0.1:%d/ok?v=%d", ph, v);
					sp->body = "hello";
					break;
				case K_TLS:
					snprintf(s->url, sizeof(s->url),
						 "https://www.lab.test:%d/ok?v=%d",
						 ps, v);
					/* the name stays in Host and SNI, the
					 * connection goes to the member */
					s->member = "127.0.0.1";
					sp->ca = (char *)ca;
					break;
				case K_BASIC_OK:
				case K_BASIC_BAD:
					snprintf(s->url, sizeof(s->url),
						 "http://127.0.0.1:%d/secret/?v=%d",
						 ph, v);
					sp->auth = AUTH_BASIC;
					sp->user = "alice";
					sp->password_file = (char *)(
						s->k == K_BASIC_OK ? good : bad);
					break;
				case K_REFUSED:
					snprintf(s->url, sizeof(s->url),
						 "http://127.0.0.1:%d/?v=%d", pc, v);
					break;
				case K_TIMEOUT:
					snprintf(s->url, sizeof(s->url),
						 "http://127.0.0.1:%d/?v=%d", pb, v);
					sp->timeout_ms = 100;
					break;
				case K_STATUS:
					snprintf(s->url, sizeof(s->url),
						 "http://127.0.0.1:%d/missing?v=%d",
						 ph, v);
					sp->expect = &ok200;
					sp->nexpect = 1;
					break;
				case K_TCP:
					snprintf(s->url, sizeof(s->url),
						 "127.0.0.%d", 1 + v);
					sp->method = VM_TCP;
					sp->port = (uint16_t)ph;
					break;
				case K_ICMP:
					snprintf(s->url, sizeof(s->url),
						 "127.0.0.%d", 1 + v);
					sp->method = VM_ICMP;
					break;
				case K_GSS_OK:
				case K_GSS_BAD:
					/* the name gives the SPN HTTP/localhost */
					snprintf(s->url, sizeof(s->url),
						 "http://localhost:%d/%s/?v=%d",
						 gss_port,
						 s->k == K_GSS_OK ? "gss"
								  : "gss-deny",
						 v);
					s->member = "127.0.0.1";
					sp->auth = AUTH_NEGOTIATE;
					break;
				case K_NTLM_OK:
				case K_NTLM_BAD:
					snprintf(s->url, sizeof(s->url),
						 "http://127.0.0.1:%d/?v=%d",
						 ntlm_port, v);
					sp->auth = AUTH_NTLM;
					sp->user = s->k == K_NTLM_OK ? "bob"
								     : "eve";
					sp->password_file = (char *)good;
					break;
				case K_SSP_OK:
				case K_SSP_BAD:
					snprintf(s->url, sizeof(s->url),
						 "http://127.0.0.1:%d/ntlm/?v=%d",
						 s->k == K_SSP_OK ? ssp_ok_port
								  : ssp_bad_port,
						 v);
					sp->auth = AUTH_NEGOTIATE;
					break;
				case K_DNS_OK:
				case K_DNS_NX:
					/* one question per variant, to dnsmasq */
					snprintf(s->url, sizeof(s->url), "127.0.0.1");
					sp->method = VM_DNS;
					sp->port = (uint32_t)dns_port;
					sp->qname = s->qname;
					snprintf(s->qname, sizeof(s->qname),
						 "v%d.%s.lab.test", v,
						 s->k == K_DNS_OK ? "ok" : "nx");
					break;
				case K_COUNT:
					break;
				}
			}
		}
	}
	nsubs = n;
}

/* Which kinds run: the base kinds unless SOAK_NO_BASE, each authenticated
 * kind when its peer's port is in the environment. */
static void choose_kinds(void)
{
	const char *e;

	for (int k = 0; k < K_FIRST_AUTH; k++)
		kind_on[k] = !getenv("SOAK_NO_BASE");
	if ((e = getenv("SOAK_GSS_PORT")) && (gss_port = atoi(e)) > 0)
		kind_on[K_GSS_OK] = kind_on[K_GSS_BAD] = true;
	if ((e = getenv("SOAK_NTLM_PORT")) && (ntlm_port = atoi(e)) > 0)
		kind_on[K_NTLM_OK] = kind_on[K_NTLM_BAD] = true;
	if ((e = getenv("SOAK_SSP_PORTS")) &&
	    sscanf(e, "%d,%d", &ssp_ok_port, &ssp_bad_port) == 2)
		kind_on[K_SSP_OK] = kind_on[K_SSP_BAD] = true;
	if ((e = getenv("SOAK_DNS_PORT")) && (dns_port = atoi(e)) > 0 &&
	    !getenv("SOAK_NO_BASE"))
		kind_on[K_DNS_OK] = kind_on[K_DNS_NX] = true;
	midway_cmd = getenv("SOAK_MIDWAY_CMD");
	if ((e = getenv("SOAK_ALERT_SCALE")) && atof(e) >= 1)
		alert_scale = atof(e);
	printf("soak: kinds:");
	for (int k = 0; k < K_COUNT; k++)
		if (kind_on[k])
			printf(" [%s]", kind_name[k]);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct vengine_opts o = {.max_inflight = MAX_INFLIGHT,
				 .jitter_pct = 20,
				 .maxconnects = MAXCONNECTS};
	struct vengine_stats st;
	struct event *tick, *dl;
	struct timeval tick_tv = {0, 20000}, dl_tv;
	int fails = 0;

	if (argc != 9 && argc != 10) {
		fprintf(stderr, "usage: verify_soak N HTTP_PORT HTTPS_PORT "
				"CLOSED_PORT BLACKHOLE_PORT CA GOOD_PW BAD_PW "
				"[EVERY_MS]\n");
		return 2;
	}
	if (argc == 10 && atoi(argv[9]) > 0)
		every_ms = (unsigned)atoi(argv[9]);
	target_runs = strtoull(argv[1], NULL, 10);
	if (target_runs < 100)
		target_runs = 100;
	/* bounded: at least 200 rounds/s expected, plus a minute */
	setvbuf(stdout, NULL, _IOLBF, 0);
	dl_tv.tv_sec = (time_t)(target_runs / 200 + 60);
	dl_tv.tv_usec = 0;
	choose_kinds();
	make_subs(argv);

	alerts = alerts_new(NULL, alert_log, NULL); /* the defaults */
	if (!alerts || alerts_fired_count(alerts, "memory-growth") < 0) {
		fprintf(stderr, "soak: no memory-growth alert\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	base = event_base_new();
	fds_before = fd_count();
	eng = vengine_new(base, &o);
	if (!nsubs) {
		fprintf(stderr, "soak: no kind of check chosen\n");
		return 2;
	}
	for (int i = 0; i < nsubs; i++)
		if (add_sub(&subs[i]) < 0)
			return 2;
	next_churn = CHURN_EVERY;
	next_progress = target_runs / 10;
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	dl = evtimer_new(base, deadline_cb, NULL);
	event_add(tick, &tick_tv);
	evtimer_add(dl, &dl_tv);
	t0 = now_s();
	event_base_dispatch(base);

	vengine_stats(eng, &st);
	printf("soak: %llu rounds in %.1f s = %.0f rounds/s; %u probes, %u "
	       "subscriptions, %llu churned\n",
	       (unsigned long long)st.runs, now_s() - t0,
	       (double)st.runs / (now_s() - t0), st.probes, st.subscriptions,
	       churned);
	printf("soak: results:");
	for (int r = 0; r < VR_COUNT; r++)
		if (st.by_result[r])
			printf(" %s=%llu", vresult_name((enum vresult)r),
			       (unsigned long long)st.by_result[r]);
	printf("\nsoak: state changes %llu, queued %llu, lateness max %llu us "
	       "median %llu us\n",
	       (unsigned long long)st.state_changes,
	       (unsigned long long)st.queued,
	       (unsigned long long)st.late_max_us,
	       (unsigned long long)st.late_median_us);

	/* every kind reached (only) its expected result at state changes */
	for (int k = 0; k < K_COUNT; k++) {
		uint64_t total = 0;

		if (!kind_on[k])
			continue;
		for (int r = 0; r < VR_COUNT; r++)
			total += seen_by_kind[k][r];
		if (!seen_by_kind[k][kind_want[k]] ||
		    seen_by_kind[k][kind_want[k]] != total) {
			printf("soak: kind %s: expected only %s at changes:",
			       kind_name[k], vresult_name(kind_want[k]));
			for (int r = 0; r < VR_COUNT; r++)
				if (seen_by_kind[k][r])
					printf(" %s=%llu",
					       vresult_name((enum vresult)r),
					       (unsigned long long)seen_by_kind[k][r]);
			printf("   <-- FAIL\n");
			fails++;
		}
	}
	if (!end.t) {
		printf("soak: did not reach %llu rounds   <-- FAIL\n", target_runs);
		fails++;
	} else {
		long grow = end.trim_kib - warm.trim_kib;
		long heap = (long)end.heap_kib - (long)warm.heap_kib;

		printf("soak: RSS %ld -> %ld KiB (%+ld KiB raw), after trim %ld "
		       "-> %ld KiB (%+ld KiB), heap in use %zu -> %zu KiB "
		       "(%+ld KiB), fds %d..%d -> %d..%d\n",
		       warm.rss_kib, end.rss_kib, end.rss_kib - warm.rss_kib,
		       warm.trim_kib, end.trim_kib, grow, warm.heap_kib,
		       end.heap_kib, heap, warm.fd_min, warm.fd_max,
		       end.fd_min, end.fd_max);
		if (grow > 1024 || heap > 1024) {
			printf("soak: memory grew by more than 1 MiB   <-- FAIL\n");
			fails++;
		}
		/* running: idle connections in libcurl's cache (at most
		 * MAXCONNECTS) plus one socket per probe in flight */
		if (end.fd_max > fds_before + MAX_INFLIGHT + MAXCONNECTS + 2) {
			printf("soak: more fds than cache + in flight   <-- FAIL\n");
			fails++;
		}
	}
	{
		long fired = alerts_fired_count(alerts, "memory-growth");
		bool want = getenv("SOAK_EXPECT_ALERT") != NULL;

		printf("soak: alert memory-growth fired %ld time(s) (%s)\n",
		       fired, want ? "expected: a real growth"
				   : "expected: none");
		if ((fired > 0) != want) {
			printf("soak: memory-growth alert %s   <-- FAIL\n",
			       want ? "stayed quiet" : "fired");
			fails++;
		}
	}
	alerts_free(alerts);
	vengine_free(eng);
	fds_after = fd_count();
	printf("soak: fds before vengine_new %d, after vengine_free %d\n",
	       fds_before, fds_after);
	if (fds_after != fds_before) {
		printf("soak: fds leaked   <-- FAIL\n");
		fails++;
	}
	event_free(tick);
	event_free(dl);
	event_base_free(base);
	curl_global_cleanup();
	printf("soak: %s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
}
