/*
 * bench_eval.c — the compiled engine against the linear evaluator on
 * random policies (tests/unit/randpolicy.c) of 10, 1,000 and 10,000 rules.
 *
 * For each size: load time (the fastest of 3 loads, wall and the thread's
 * CPU time), build time, the engine's memory, and the median
 * over REPS passes of the nanoseconds per evaluation for engine_eval() and
 * policy_eval_linear() on the same random flows, measured side by side in
 * one run. The main figures evaluate without facts (header only, the hot
 * path of the service); the last line evaluates the largest policy with
 * random facts. Every decision of both evaluators is compared as it goes.
 *
 * Usage: bench_eval [SCALE]  — SCALE (default 1) multiplies the flow counts.
 */
#include "policy/policy.h"
#include "randpolicy.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 5

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of the calling thread: what a load costs, whatever else the
 * machine runs (the wall time of a load on a busy host varies 3-fold). */
static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Loads TEXT LOADS times; returns the last policy (the others freed) and
 * the fastest load's wall and CPU times in ns. */
static struct policy *load_best(const char *text, size_t len, struct diags *d,
				double *wall, double *cpu)
{
	enum { LOADS = 3 };
	struct policy *p = NULL;
	*wall = *cpu = 0;
	for (int i = 0; i < LOADS; i++) {
		policy_free(p);
		diags_free(d);
		double w0 = now_ns(), c0 = cpu_ns();
		p = policy_load_buffer("bench.conf", text, len, d);
		double w = now_ns() - w0, c = cpu_ns() - c0;
		if (i == 0 || w < *wall) {
			*wall = w;
			*cpu = c;
		}
		if (!p)
			break;
	}
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct subject {
	const struct policy *p;
	const struct engine *e;
};

/* Evaluations are folded into a sink so none is optimised away. */
static volatile long sink;

/*
 * Nanoseconds per evaluation (median of REPS passes) over N flows, with
 * FACTS[i] (or none when FACTS is NULL), by the engine or the linear scan.
 */
static double time_eval(const struct subject *s, bool engine,
			const struct flow *flows,
			const struct facts *const *facts, size_t n)
{
	double t[REPS];
	for (int r = 0; r < REPS; r++) {
		long acc = 0;
		double t0 = now_ns();
		for (size_t i = 0; i < n; i++) {
			struct decision d;
			const struct facts *fa = facts ? facts[i] : NULL;
			if (engine)
				engine_eval(s->e, &flows[i], fa, &d);
			else
				policy_eval_linear(s->p, &flows[i], fa, &d);
			acc += d.rule + (long)d.verdict;
		}
		t[r] = (now_ns() - t0) / (double)n;
		sink += acc;
	}
	return median(t, REPS);
}

/* Counts the flows on which the evaluators differ, and the implicit
 * denies and the mean deciding rule, for the table. */
static size_t compare(const struct subject *s, const struct flow *flows,
		      const struct facts *const *facts, size_t n,
		      double *implicit, double *meanrule)
{
	size_t bad = 0, nimp = 0;
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		struct decision a, b;
		const struct facts *fa = facts ? facts[i] : NULL;
		engine_eval(s->e, &flows[i], fa, &a);
		policy_eval_linear(s->p, &flows[i], fa, &b);
		if (a.verdict != b.verdict || a.rule != b.rule ||
		    a.needs != b.needs || a.filter != b.filter)
			bad++;
		if (b.rule < 0)
			nimp++;
		else
			sum += b.rule;
	}
	*implicit = 100.0 * (double)nimp / (double)n;
	*meanrule = n > nimp ? sum / (double)(n - nimp) : 0;
	return bad;
}

struct size_spec {
	size_t rules, flows;
	uint64_t seed;
};

static int run(const struct size_spec *sz, double scale, bool with_facts)
{
	struct randpolicy *rp = randpolicy_new(sz->seed, sz->rules);
	struct diags d = {0};
	size_t len, n = (size_t)((double)sz->flows * scale);
	const char *text = randpolicy_text(rp, &len);

	if (n < 100)
		n = 100;
	double tload, tload_cpu;
	struct policy *p = load_best(text, len, &d, &tload, &tload_cpu);
	if (!p) {
		diags_print(&d, stderr);
		fprintf(stderr, "bench_eval: the random policy does not load\n");
		exit(1);
	}
	double t0 = now_ns();
	struct engine *e = engine_build(p);
	double tbuild = now_ns() - t0;

	struct flow *flows = xmalloc(n * sizeof(*flows));
	struct randcase *cases = NULL;
	const struct facts **facts = NULL;
	if (with_facts) {
		cases = xmalloc(n * sizeof(*cases));
		facts = xmalloc(n * sizeof(*facts));
		for (size_t i = 0; i < n; i++) {
			randpolicy_case(rp, &cases[i]);
			flows[i] = cases[i].flow;
			facts[i] = randcase_facts(&cases[i]);
		}
	} else {
		for (size_t i = 0; i < n; i++)
			randpolicy_flow(rp, &flows[i]);
	}

	struct subject s = {p, e};
	double implicit, meanrule;
	size_t bad = compare(&s, flows, facts, n, &implicit, &meanrule);
	double te = time_eval(&s, true, flows, facts, n);
	double tl = time_eval(&s, false, flows, facts, n);

	printf("%6zu %-5s %8zu %10.1f %11.1f %8.1fx %9.2f %9.2f %9.2f %9.2f "
	       "%8.1f%% %8.1f %s\n",
	       sz->rules, with_facts ? "yes" : "no", n, te, tl, tl / te,
	       tload / 1e6, tload_cpu / 1e6, tbuild / 1e6,
	       (double)engine_memory(e) / 1e6,
	       implicit, meanrule, bad ? "MISMATCH" : "ok");

	free(flows);
	free(cases);
	free(facts);
	engine_free(e);
	policy_free(p);
	diags_free(&d);
	randpolicy_free(rp);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct size_spec sizes[] = {
	    {10, 1000000, 11},
	    {1000, 100000, 12},
	    {10000, 40000, 13},
	};
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	int bad = 0;

	if (scale <= 0)
		scale = 1.0;
	printf("ns per evaluation, median of %d passes; same flows for both "
	       "evaluators\n\n", REPS);
	printf("%6s %-5s %8s %10s %11s %9s %9s %9s %9s %9s %9s %8s %s\n",
	       "rules", "facts", "flows", "engine_ns", "linear_ns", "speedup",
	       "load_ms", "load_cpu", "build_ms", "mem_MB", "implicit",
	       "meanrule", "check");
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		bad |= run(&sizes[i], scale, false);
	bad |= run(&sizes[ARRAY_SIZE(sizes) - 1], scale, true);
	return bad;
}
