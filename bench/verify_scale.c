/*
 * verify_scale.c — the scale figures for the verifier engine: N
 * verifiers at a 30 s interval on one event loop, over D seconds.
 *
 * usage: verify_scale N SECONDS HTTP_PORT HTTPS_PORT CA_FILE [EVERY_MS]
 *
 * Run by bench/verify_scale.sh, which starts the local nginx (HTTP on
 * HTTP_PORT, HTTPS with a lab CA on HTTPS_PORT) inside a network namespace
 * that has only `lo`, and calls this program twice: N = 0 (the idle engine,
 * the baseline) and N.
 *
 * The N verifiers are all distinct probes (the engine's dedup would share
 * identical ones; "probes" in the output must equal N):
 *   70 % HTTP GET   http://127.0.0.1:HTTP_PORT/health?i=I
 *   20 % TCP connect  to HTTP_PORT on 127.0.x.y (a distinct loopback
 *                   address per check: the namespace's lo answers all 127/8)
 *   10 % HTTPS GET  https://127.0.0.1:HTTPS_PORT/health?i=I, lab CA verified
 * every EVERY_MS (30,000) ± 20 % jitter, timeout 5 s, at most 64 in flight,
 * libcurl connection cache 128 (the engine's default, 2 × in flight).
 *
 * Measured (all in this process; nginx is not counted here):
 *   CPU share   (ru_utime + ru_stime) / wall time, over the whole run (from
 *               the end of the adds to the end) and over the steady state
 *               (from EVERY_MS on, i.e. after the first, spread-out round);
 *               the adds are reported separately.
 *   memory      RSS (/proc/self/statm) and bytes malloc has in use
 *               (mallinfo2: uordblks + hblkhd) after vengine_new() ("before"),
 *               after the N adds and at the end; per verifier = difference
 *               / N. The program's own bookkeeping is allocated and touched
 *               before "before".
 *   lateness    start − scheduled start of every round, recorded by a shim
 *               around each method's start op (verify_int.h, as the unit
 *               tests do): the same quantity the engine's own stats keep
 *               (timer delay + waiting for a free in-flight slot), but every
 *               sample, so p99 is exact. Printed for all rounds and for the
 *               steady state. Also the event loop's own lag: a 100 ms
 *               one-shot canary timer, re-armed each time (this is the only
 *               lateness figure an idle engine has).
 * Output: "key value" lines (the script joins the two runs into a table).
 */
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "verify/verify.h"
#include "verify/verify_int.h"
#include "../tests/lab/measure.h"

#define MAX_INFLIGHT 64
#define JITTER_PCT 20
#define TIMEOUT_MS 5000
#define CANARY_MS 100

struct sample {
	uint32_t t_ms;	  /* start, ms after the run began */
	uint32_t late_us; /* start − scheduled */
};

static struct event_base *base;
static struct vengine *eng;
static uint64_t t0_us;		/* run start (after the adds), vnow_us() */
static unsigned every_ms = 30000;

static struct sample *samples;
static size_t nsamples, capsamples, dropped;
static uint32_t *lag;		/* canary lag, µs */
static size_t nlag, caplag;
static uint64_t canary_due_us;
static struct event *canary, *steady_ev, *end_ev;
static unsigned peak_inflight, peak_waiting;
static uint64_t ups, downs;	/* state changes to up / down */

static const struct vprobe_ops *real_ops[3];
static struct vprobe_ops shim_ops[3];

struct cpu_mark {
	double wall, cpu, user, sys;
};
static struct cpu_mark m_add0, m_run0, m_steady, m_end;
static int steady_taken;

static struct cpu_mark mark(void)
{
	struct rusage ru;
	struct cpu_mark m;

	getrusage(RUSAGE_SELF, &ru);
	m.wall = now_s();
	m.user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	m.sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	m.cpu = m.user + m.sys;
	return m;
}

static long hwm_kib(void)
{
	char line[256];
	long v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* ---- lateness bookkeeping ------------------------------------------------- */

static void shim_start(struct vprobe *p)
{
	struct vengine *v = p->v;

	if (nsamples < capsamples) {
		uint64_t late = p->start_us > p->due_us ? p->start_us - p->due_us
							: 0;

		samples[nsamples].t_ms =
			p->start_us > t0_us
				? (uint32_t)((p->start_us - t0_us) / 1000u)
				: 0;
		samples[nsamples].late_us =
			late > UINT32_MAX ? UINT32_MAX : (uint32_t)late;
		nsamples++;
	} else {
		dropped++;
	}
	/* probe_start() counted this one already */
	if (v->inflight > peak_inflight)
		peak_inflight = v->inflight;
	real_ops[p->t.method]->start(p);
}

static void install_shims(void)
{
	real_ops[VM_ICMP] = &vprobe_icmp_ops;
	real_ops[VM_TCP] = &vprobe_tcp_ops;
	real_ops[VM_HTTP] = &vprobe_http_ops;
	for (int m = 0; m < 3; m++) {
		shim_ops[m] = *real_ops[m];
		shim_ops[m].start = shim_start;
		vengine_set_ops(eng, (enum verify_method)m, &shim_ops[m]);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* p50, p99, max of V[0..N) (sorted in place), in ms, into OUT. */
static void pct3(uint32_t *v, size_t n, char *out, size_t len)
{
	if (!n) {
		snprintf(out, len, "-");
		return;
	}
	qsort(v, n, sizeof(*v), cmp_u32);
	snprintf(out, len, "%.2f/%.2f/%.2f", v[n / 2] / 1000.0,
		 v[(size_t)((double)(n - 1) * 0.99)] / 1000.0,
		 v[n - 1] / 1000.0);
}

/* ---- events ---------------------------------------------------------------- */

static void arm_canary(void)
{
	struct timeval tv = {0, CANARY_MS * 1000};

	/* evtimer_add() counts from the loop's cached time, which is older
	 * than vnow_us() inside a callback: refresh it so both agree */
	event_base_update_cache_time(base);
	canary_due_us = vnow_us() + CANARY_MS * 1000u;
	evtimer_add(canary, &tv);
}

static void canary_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = vnow_us();

	(void)fd;
	(void)what;
	(void)arg;
	if (nlag < caplag)
		lag[nlag++] = now > canary_due_us ? (uint32_t)(now - canary_due_us)
						  : 0;
	if (eng->waiting > peak_waiting)
		peak_waiting = eng->waiting;
	arm_canary();
}

static void steady_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	m_steady = mark();
	steady_taken = 1;
}

static void end_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	m_end = mark();
	event_base_loopbreak(base);
}

static void on_change(const struct vstatus *st, void *arg)
{
	(void)arg;
	if (st->state == VS_UP)
		ups++;
	else if (st->state == VS_DOWN)
		downs++;
}

/* ---- the verifiers ---------------------------------------------------------- */

enum kind { K_HTTP, K_TCP, K_HTTPS };

static enum kind kind_of(long i)
{
	long r = i % 10;

	return r < 7 ? K_HTTP : r < 9 ? K_TCP : K_HTTPS;
}

static int add_all(long n, int ph, int ps, const char *ca, int *ids,
		   long counts[3])
{
	long ntcp = 0;

	for (long i = 0; i < n; i++) {
		struct verify_spec sp = {0};
		char target[128], name[32];
		enum kind k = kind_of(i);

		sp.every_ms = every_ms;
		sp.timeout_ms = TIMEOUT_MS;
		sp.target = target;
		switch (k) {
		case K_HTTP:
			sp.method = VM_HTTP;
			snprintf(target, sizeof(target),
				 "http://127.0.0.1:%d/health?i=%ld", ph, i);
			break;
		case K_TCP: {
			/* 127.A.B.C, C in 1..250: a distinct address each */
			long j = ntcp++;

			sp.method = VM_TCP;
			sp.port = (uint16_t)ph;
			snprintf(target, sizeof(target), "127.%ld.%ld.%ld",
				 j / 62500, (j / 250) % 250, 1 + j % 250);
			break;
		}
		case K_HTTPS:
			sp.method = VM_HTTP;
			sp.ca = (char *)ca;
			snprintf(target, sizeof(target),
				 "https://127.0.0.1:%d/health?i=%ld", ps, i);
			break;
		}
		counts[k]++;
		snprintf(name, sizeof(name), "v%ld", i);
		if ((ids[i] = vengine_add(eng, name, &sp, NULL, on_change,
					  NULL)) < 0) {
			fprintf(stderr, "verify_scale: vengine_add %s: %s\n",
				target, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void touch(void *p, size_t len)
{
	memset(p, 0, len);
}

int main(int argc, char **argv)
{
	struct vengine_opts o = {.max_inflight = MAX_INFLIGHT,
				 .jitter_pct = JITTER_PCT};
	struct vengine_stats st;
	long n, secs, counts[3] = {0, 0, 0};
	int ph, ps, *ids;
	long rss0, rss1, rss2;
	size_t heap0, heap1, heap2;
	struct timeval tv;
	uint32_t *tmp;
	size_t nall = 0, nsteady = 0;
	char buf[512];
	uint64_t up_end = 0, down_end = 0;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: verify_scale N SECONDS HTTP_PORT "
				"HTTPS_PORT CA_FILE [EVERY_MS]\n");
		return 2;
	}
	n = atol(argv[1]);
	secs = atol(argv[2]);
	ph = atoi(argv[3]);
	ps = atoi(argv[4]);
	if (argc == 7 && atoi(argv[6]) > 0)
		every_ms = (unsigned)atoi(argv[6]);
	if (n < 0 || n > 1000000 || secs < 1 || secs > 3600 || ph <= 0 ||
	    ph > 65535 || ps <= 0 || ps > 65535) {
		fprintf(stderr, "verify_scale: N 0..1e6, SECONDS 1..3600, "
				"ports 1..65535\n");
		return 2;
	}

	/* bookkeeping first, touched, so that it is in "before" */
	capsamples = (size_t)n * ((size_t)secs * 1000u / (every_ms * 8u / 10u) + 2u) +
		     1024u;
	caplag = (size_t)secs * 1000u / CANARY_MS + 64u;
	samples = malloc(capsamples * sizeof(*samples));
	lag = malloc(caplag * sizeof(*lag));
	tmp = malloc((capsamples > caplag ? capsamples : caplag) * sizeof(*tmp));
	ids = malloc(((size_t)n + 1) * sizeof(*ids));
	if (!samples || !lag || !tmp || !ids) {
		fprintf(stderr, "verify_scale: out of memory\n");
		return 1;
	}
	touch(samples, capsamples * sizeof(*samples));
	touch(lag, caplag * sizeof(*lag));
	touch(tmp, (capsamples > caplag ? capsamples : caplag) * sizeof(*tmp));
	touch(ids, ((size_t)n + 1) * sizeof(*ids));

	curl_global_init(CURL_GLOBAL_DEFAULT);
	base = event_base_new();
	if (!base || !(eng = vengine_new(base, &o))) {
		fprintf(stderr, "verify_scale: engine: %s\n", strerror(errno));
		return 1;
	}
	install_shims();
	canary = evtimer_new(base, canary_cb, NULL);
	steady_ev = evtimer_new(base, steady_cb, NULL);
	end_ev = evtimer_new(base, end_cb, NULL);
	if (!canary || !steady_ev || !end_ev)
		return 1;

	rss0 = rss_kib();
	heap0 = heap_bytes();
	m_add0 = mark();
	t0_us = vnow_us(); /* provisional: adds arm timers from now */
	if (add_all(n, ph, ps, argv[5], ids, counts) < 0)
		return 1;
	m_run0 = mark();
	rss1 = rss_kib();
	heap1 = heap_bytes();
	t0_us = vnow_us();

	tv.tv_sec = every_ms / 1000;
	tv.tv_usec = (suseconds_t)(every_ms % 1000) * 1000;
	if ((long)every_ms < secs * 1000)
		evtimer_add(steady_ev, &tv);
	tv.tv_sec = secs;
	tv.tv_usec = 0;
	evtimer_add(end_ev, &tv); /* bounded: the loop ends here */
	arm_canary();
	event_base_dispatch(base);
	if (!m_end.wall)
		m_end = mark();

	rss2 = rss_kib();
	heap2 = heap_bytes();
	vengine_stats(eng, &st);
	for (long i = 0; i < n; i++) {
		struct vstatus vs;

		if (vengine_status(eng, ids[i], &vs) == 0) {
			if (vs.state == VS_UP)
				up_end++;
			else if (vs.state == VS_DOWN)
				down_end++;
		}
	}

#define KV(k, ...)                                         \
	do {                                               \
		snprintf(buf, sizeof(buf), __VA_ARGS__);   \
		printf("%-28s %s\n", k, buf);              \
	} while (0)

	KV("verifiers", "%ld", n);
	KV("  http/tcp/https", "%ld/%ld/%ld", counts[K_HTTP], counts[K_TCP],
	   counts[K_HTTPS]);
	KV("distinct_probes", "%u", st.probes);
	KV("seconds", "%.1f", m_end.wall - m_run0.wall);
	KV("add_all_ms(cpu_ms)", "%.0f(%.0f)", (m_run0.wall - m_add0.wall) * 1e3,
	   (m_run0.cpu - m_add0.cpu) * 1e3);
	KV("cpu_%1core_whole_run", "%.2f",
	   100.0 * (m_end.cpu - m_run0.cpu) / (m_end.wall - m_run0.wall));
	if (steady_taken) {
		double w = m_end.wall - m_steady.wall;

		KV("cpu_%1core_steady", "%.2f",
		   100.0 * (m_end.cpu - m_steady.cpu) / w);
		KV("  user/sys_steady", "%.2f/%.2f",
		   100.0 * (m_end.user - m_steady.user) / w,
		   100.0 * (m_end.sys - m_steady.sys) / w);
	} else {
		KV("cpu_%1core_steady", "-");
		KV("  user/sys_steady", "-");
	}
	KV("rss_KiB_before/added/end", "%ld/%ld/%ld", rss0, rss1, rss2);
	KV("rss_KiB_peak(VmHWM)", "%ld", hwm_kib());
	KV("heap_KiB_before/added/end", "%zu/%zu/%zu", heap0 / 1024, heap1 / 1024,
	   heap2 / 1024);
	if (n) {
		KV("B/verifier_heap_added/end", "%.0f/%.0f",
		   ((double)heap1 - (double)heap0) / (double)n,
		   ((double)heap2 - (double)heap0) / (double)n);
		KV("B/verifier_rss_added/end", "%.0f/%.0f",
		   (double)(rss1 - rss0) * 1024.0 / (double)n,
		   (double)(rss2 - rss0) * 1024.0 / (double)n);
	} else {
		KV("B/verifier_heap_added/end", "-");
		KV("B/verifier_rss_added/end", "-");
	}
	KV("checks_run", "%llu", (unsigned long long)st.runs);
	KV("  per_second", "%.1f", (double)st.runs / (m_end.wall - m_run0.wall));
	KV("failures", "%llu", (unsigned long long)st.failures);
	{
		char res[256] = "";
		size_t off = 0;

		for (int r = 0; r < VR_COUNT; r++)
			if (st.by_result[r] && off < sizeof(res))
				off += (size_t)snprintf(
					res + off, sizeof(res) - off, "%s%s=%llu",
					off ? "," : "",
					vresult_name((enum vresult)r),
					(unsigned long long)st.by_result[r]);
		for (char *c = res; *c; c++)
			if (*c == ' ')
				*c = '_';
		KV("  by_result", "%s", off ? res : "-");
	}
	KV("up/down_at_end", "%llu/%llu", (unsigned long long)up_end,
	   (unsigned long long)down_end);

	for (size_t i = 0; i < nsamples; i++)
		tmp[nall++] = samples[i].late_us;
	pct3(tmp, nall, buf, sizeof(buf));
	printf("%-28s %s\n", "late_ms_all_p50/p99/max", buf);
	for (size_t i = 0; i < nsamples; i++)
		if (samples[i].t_ms >= every_ms)
			tmp[nsteady++] = samples[i].late_us;
	pct3(tmp, nsteady, buf, sizeof(buf));
	printf("%-28s %s\n", "late_ms_steady_p50/p99/max", buf);
	KV("  rounds_all/steady", "%zu/%zu", nall, nsteady);
	{
		size_t over = 0;

		for (size_t i = 0; i < nsamples; i++)
			if (samples[i].late_us >= 1000000u)
				over++;
		KV("  rounds_late_>=1s", "%zu", over);
	}
	KV("engine_late_ms_med/max", "%.2f/%.2f", st.late_median_us / 1000.0,
	   st.late_max_us / 1000.0);
	KV("rounds_queued", "%llu", (unsigned long long)st.queued);
	KV("peak_inflight/waiting", "%u/%u", peak_inflight, peak_waiting);
	memcpy(tmp, lag, nlag * sizeof(*tmp));
	pct3(tmp, nlag, buf, sizeof(buf));
	printf("%-28s %s\n", "loop_lag_ms_p50/p99/max", buf);
	KV("state_changes_up/down", "%llu/%llu", (unsigned long long)ups,
	   (unsigned long long)downs);
	if (dropped)
		KV("samples_dropped", "%zu", dropped);
	fflush(stdout);

	event_free(canary);
	event_free(steady_ev);
	event_free(end_ev);
	vengine_free(eng);
	event_base_free(base);
	curl_global_cleanup();
	free(samples);
	free(lag);
	free(tmp);
	free(ids);
	return 0;
}
