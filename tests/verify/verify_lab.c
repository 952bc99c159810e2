/*
 * verify_lab.c — runs verifier checks against real servers and compares each
 * check's result with the expected one.
 *
 * usage: verify_lab CHECKFILE [--flap NAME --stop CMD --start CMD
 *                             [--down-result RESULT]] [--deadline SECONDS]
 *
 * CHECKFILE has one check a line, `#` comments:
 *   NAME EXPECTED METHOD TARGET [key=value | flag]...
 * EXPECTED is a result name with `_` for spaces (ok, timeout, refused,
 * unreachable, address_error, tls_error, status_mismatch, body_mismatch,
 * auth_failed, dns_error, answer_mismatch, other). METHOD is icmp, tcp,
 * http or dns. Keys: port, member, expect (lo-hi[,lo-hi]), body, host, sni,
 * ca, cert, key, auth (basic|digest|ntlm|negotiate), user, pwfile, name,
 * type (a|aaaa), answer, every, timeout, warn, rise, fall, rounds (results
 * to wait for, default 1; 0: not waited for nor judged, so that it is
 * still running when the engine is freed); flag: insecure. A line may end in `detail=TEXT`
 * (the rest of the line): the last result's detail must contain TEXT.
 *
 * Every check must reach `rounds` results and end with the expected result.
 * With --flap, once NAME is up CMD --stop runs; NAME must go down, then
 * --start runs and NAME must come back up; both delays are printed and
 * must stay within fall × (every + jitter) + timeout (resp. rise × ...) plus
 * one second of slack for the commands themselves. With --down-result, the
 * result that took NAME down must be RESULT (e.g. timeout).
 *
 * Exit status 0 when everything matched, 1 otherwise, 2 on usage errors.
 * All servers are started by the driver (run_lab.sh) on loopback or in its
 * namespace; this program only connects.
 */
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "verify/verify.h"
#include "../lab/measure.h"

#define MAXCHECKS 256

struct lcheck {
	char *line;
	char *name;
	enum vresult want;
	struct verify_spec spec;
	struct portrange expect[8];
	char *member;
	char *want_detail; /* the last detail must contain it, or NULL */
	unsigned rounds;
	int id;
	int changes;
	bool done;
	struct vstatus last;
	char detail[160];
};

static struct lcheck checks[MAXCHECKS];
static int nchecks;
static struct event_base *base;
static struct vengine *eng;

/* flap state */
static const char *flap_name, *stop_cmd, *start_cmd;
static struct lcheck *flap;
static int flap_phase; /* 0 wait up, 1 wait down, 2 wait up, 3 done */
static double t_stop, t_start, d_down = -1, d_up = -1;
static const char *down_result; /* --down-result, or NULL */
static enum vresult down_want, down_got = VR_COUNT;

static int parse_result(const char *s, enum vresult *r)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *p = buf; *p; p++)
		if (*p == '_')
			*p = ' ';
	for (int i = 0; i < VR_COUNT; i++) {
		if (!strcmp(buf, vresult_name((enum vresult)i))) {
			*r = (enum vresult)i;
			return 0;
		}
	}
	return -1;
}

static int parse_line(struct lcheck *c, char *line, int lineno)
{
	char *save = NULL, *tok[4], *kv;

	c->line = strdup(line);
	if ((kv = strstr(line, " detail="))) { /* the rest of the line */
		c->want_detail = strdup(kv + 8);
		*kv = '\0';
	}
	for (int i = 0; i < 4; i++) {
		if (!(tok[i] = strtok_r(i ? NULL : line, " \t", &save))) {
			fprintf(stderr, "line %d: need NAME EXPECTED METHOD TARGET\n",
				lineno);
			return -1;
		}
	}
	c->name = strdup(tok[0]);
	if (parse_result(tok[1], &c->want) < 0) {
		fprintf(stderr, "line %d: unknown result %s\n", lineno, tok[1]);
		return -1;
	}
	if (!strcmp(tok[2], "icmp"))
		c->spec.method = VM_ICMP;
	else if (!strcmp(tok[2], "tcp"))
		c->spec.method = VM_TCP;
	else if (!strcmp(tok[2], "http"))
		c->spec.method = VM_HTTP;
	else if (!strcmp(tok[2], "dns"))
		c->spec.method = VM_DNS;
	else {
		fprintf(stderr, "line %d: unknown method %s\n", lineno, tok[2]);
		return -1;
	}
	c->spec.target = strdup(tok[3]);
	c->rounds = 1;
	while ((kv = strtok_r(NULL, " \t", &save))) {
		char *v = strchr(kv, '=');

		if (v)
			*v++ = '\0';
		if (!strcmp(kv, "insecure")) {
			c->spec.insecure = true;
		} else if (!v) {
			fprintf(stderr, "line %d: %s needs a value\n", lineno, kv);
			return -1;
		} else if (!strcmp(kv, "port")) {
			c->spec.port = (uint16_t)atoi(v);
		} else if (!strcmp(kv, "member")) {
			c->member = strdup(v);
		} else if (!strcmp(kv, "expect")) {
			char *s2 = NULL;

			for (char *r = strtok_r(v, ",", &s2);
			     r && c->spec.nexpect < 8; r = strtok_r(NULL, ",", &s2)) {
				unsigned lo, hi;

				if (sscanf(r, "%u-%u", &lo, &hi) != 2)
					hi = lo = (unsigned)atoi(r);
				c->expect[c->spec.nexpect].lo = (uint16_t)lo;
				c->expect[c->spec.nexpect++].hi = (uint16_t)hi;
			}
			c->spec.expect = c->expect;
		} else if (!strcmp(kv, "body")) {
			c->spec.body = strdup(v);
		} else if (!strcmp(kv, "host")) {
			c->spec.host = strdup(v);
		} else if (!strcmp(kv, "sni")) {
			c->spec.sni = strdup(v);
		} else if (!strcmp(kv, "ca")) {
			c->spec.ca = strdup(v);
		} else if (!strcmp(kv, "cert")) {
			c->spec.cert = strdup(v);
		} else if (!strcmp(kv, "key")) {
			c->spec.key = strdup(v);
		} else if (!strcmp(kv, "user")) {
			c->spec.user = strdup(v);
		} else if (!strcmp(kv, "pwfile")) {
			c->spec.password_file = strdup(v);
		} else if (!strcmp(kv, "auth")) {
			c->spec.auth = !strcmp(v, "basic")    ? AUTH_BASIC
				       : !strcmp(v, "digest") ? AUTH_DIGEST
				       : !strcmp(v, "ntlm")   ? AUTH_NTLM
				       : !strcmp(v, "negotiate")
					       ? AUTH_NEGOTIATE
					       : AUTH_NONE;
		} else if (!strcmp(kv, "every")) {
			c->spec.every_ms = (uint32_t)atoi(v);
		} else if (!strcmp(kv, "timeout")) {
			c->spec.timeout_ms = (uint32_t)atoi(v);
		} else if (!strcmp(kv, "warn")) {
			c->spec.warn_ms = (uint32_t)atoi(v);
		} else if (!strcmp(kv, "rise")) {
			c->spec.rise = (uint32_t)atoi(v);
		} else if (!strcmp(kv, "fall")) {
			c->spec.fall = (uint32_t)atoi(v);
		} else if (!strcmp(kv, "name")) {
			c->spec.qname = strdup(v);
		} else if (!strcmp(kv, "type")) {
			c->spec.qtype = !strcmp(v, "aaaa") ? DNSQ_AAAA : DNSQ_A;
		} else if (!strcmp(kv, "answer")) {
			c->spec.answer = strdup(v);
		} else if (!strcmp(kv, "rounds")) {
			c->rounds = (unsigned)atoi(v);
		} else {
			fprintf(stderr, "line %d: unknown key %s\n", lineno, kv);
			return -1;
		}
	}
	return 0;
}

static void free_check(struct lcheck *c)
{
	struct verify_spec *s = &c->spec;

	free(c->line);
	free(c->name);
	free(c->member);
	free(c->want_detail);
	s->expect = NULL; /* c->expect: not allocated */
	verify_spec_free(s);
}

static void run_cmd(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fprintf(stderr, "lab: command failed (%d): %s\n", rc, cmd);
}

static void on_change(const struct vstatus *st, void *arg)
{
	struct lcheck *c = arg;
	double t = now_s();

	c->changes++;
	printf("  change %-18s %s -> %s (%s, %u us%s%s)\n", c->name,
	       vstate_name(st->prev), vstate_name(st->state),
	       vresult_name(st->last), st->last_us, st->detail[0] ? ": " : "",
	       st->detail);
	if (c != flap)
		return;
	if (flap_phase == 0 && st->state == VS_UP) {
		printf("  flap: %s up, stopping the server\n", c->name);
		run_cmd(stop_cmd); /* returns once the server is gone */
		t_stop = now_s();
		flap_phase = 1;
	} else if (flap_phase == 1 && st->state == VS_DOWN) {
		d_down = t - t_stop;
		down_got = st->last;
		printf("  flap: down %.3f s after stop, starting the server\n",
		       d_down);
		run_cmd(start_cmd); /* returns once the server listens */
		t_start = now_s();
		flap_phase = 2;
	} else if (flap_phase == 2 && st->state == VS_UP) {
		d_up = t - t_start;
		printf("  flap: up %.3f s after start\n", d_up);
		flap_phase = 3;
	}
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	bool all = true;

	(void)fd;
	(void)what;
	(void)arg;
	for (int i = 0; i < nchecks; i++) {
		struct lcheck *c = &checks[i];

		if (!c->done && c->rounds == 0) { /* runs on, not judged */
			c->done = true;
		} else if (!c->done &&
			   vengine_status(eng, c->id, &c->last) == 0 &&
			   c->last.runs >= c->rounds) {
			c->done = true;
			snprintf(c->detail, sizeof(c->detail), "%s",
				 c->last.detail);
		}
		all = all && c->done;
	}
	if (all && (!flap || flap_phase == 3))
		event_base_loopbreak(base);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fprintf(stderr, "lab: deadline reached\n");
	event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
	struct vengine_opts o = {.max_inflight = 32, .jitter_pct = 10};
	struct vengine_stats st;
	struct event *poll_ev, *dl_ev;
	struct timeval poll_tv = {0, 20000}, dl_tv = {60, 0};
	FILE *f;
	char line[2048];
	int lineno = 0, fails = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: verify_lab CHECKFILE [--flap NAME "
				"--stop CMD --start CMD] [--deadline S]\n");
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--flap"))
			flap_name = argv[i + 1];
		else if (!strcmp(argv[i], "--stop"))
			stop_cmd = argv[i + 1];
		else if (!strcmp(argv[i], "--start"))
			start_cmd = argv[i + 1];
		else if (!strcmp(argv[i], "--down-result"))
			down_result = argv[i + 1];
		else if (!strcmp(argv[i], "--deadline"))
			dl_tv.tv_sec = atoi(argv[i + 1]);
	}
	if (down_result && parse_result(down_result, &down_want) < 0) {
		fprintf(stderr, "--down-result: unknown result %s\n", down_result);
		return 2;
	}
	if (flap_name && (!stop_cmd || !start_cmd)) {
		fprintf(stderr, "--flap needs --stop and --start\n");
		return 2;
	}
	if (!(f = fopen(argv[1], "r"))) {
		perror(argv[1]);
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		lineno++;
		p[strcspn(p, "\r\n")] = '\0';
		if (!*p || *p == '#')
			continue;
		if (nchecks == MAXCHECKS || parse_line(&checks[nchecks], p, lineno) < 0) {
			fclose(f);
			return 2;
		}
		nchecks++;
	}
	fclose(f);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	base = event_base_new();
	o.no_spread = true;
	eng = vengine_new(base, &o);
	if (!eng) {
		perror("vengine_new");
		return 2;
	}
	for (int i = 0; i < nchecks; i++) {
		struct lcheck *c = &checks[i];

		c->id = vengine_add(eng, c->name, &c->spec, c->member, on_change, c);
		if (c->id < 0) {
			fprintf(stderr, "lab: %s: vengine_add: %s\n", c->name,
				strerror(errno));
			return 2;
		}
		if (flap_name && !strcmp(flap_name, c->name))
			flap = c;
	}
	if (flap_name && !flap) {
		fprintf(stderr, "lab: no check named %s\n", flap_name);
		return 2;
	}
	poll_ev = event_new(base, -1, EV_PERSIST, poll_cb, NULL);
	dl_ev = evtimer_new(base, deadline_cb, NULL);
	event_add(poll_ev, &poll_tv);
	evtimer_add(dl_ev, &dl_tv);
	event_base_dispatch(base);

	printf("%-20s %-16s %-16s %10s %5s  %s\n", "check", "expected", "got",
	       "time_us", "http", "detail");
	for (int i = 0; i < nchecks; i++) {
		struct lcheck *c = &checks[i];
		bool ok = c->rounds == 0 ||
			  (c->done && c->last.last == c->want && c->changes > 0 &&
			   (!c->want_detail || strstr(c->detail, c->want_detail)));

		if (c->rounds == 0) {
			printf("%-20s (not waited for: still running when the "
			       "engine is freed)\n", c->name);
			continue;
		}

		printf("%-20s %-16s %-16s %10u %5d  %s%s\n", c->name,
		       vresult_name(c->want),
		       c->done ? vresult_name(c->last.last) : "(no result)",
		       c->last.last_us, c->last.http_status, c->detail,
		       ok ? "" : "   <-- FAIL");
		if (!ok)
			fails++;
	}
	if (flap) {
		const struct verify_spec *s = &flap->spec;
		double every = (s->every_ms ? s->every_ms : 30000) * 1.1 / 1000,
		       tmo = (s->timeout_ms ? s->timeout_ms : 5000) / 1000.0;
		double lim_down = (s->fall ? s->fall : 3) * every + tmo + 1,
		       lim_up = (s->rise ? s->rise : 2) * every + tmo + 1;
		bool ok = flap_phase == 3 && d_down <= lim_down && d_up <= lim_up &&
			  (!down_result || down_got == down_want);

		printf("flap %s: down after %.3f s (limit %.3f) as %s%s%s, up "
		       "after %.3f s (limit %.3f)%s\n",
		       flap->name, d_down, lim_down,
		       down_got < VR_COUNT ? vresult_name(down_got) : "-",
		       down_result ? ", expected " : "",
		       down_result ? down_result : "", d_up, lim_up,
		       ok ? "" : "   <-- FAIL");
		if (!ok)
			fails++;
	}
	vengine_stats(eng, &st);
	printf("stats: runs %llu failures %llu probes %u subscriptions %u "
	       "state-changes %llu queued %llu late max %llu us median %llu us\n",
	       (unsigned long long)st.runs, (unsigned long long)st.failures,
	       st.probes, st.subscriptions,
	       (unsigned long long)st.state_changes,
	       (unsigned long long)st.queued,
	       (unsigned long long)st.late_max_us,
	       (unsigned long long)st.late_median_us);
	vengine_free(eng);
	event_free(poll_ev);
	event_free(dl_ev);
	event_base_free(base);
	curl_global_cleanup();
	for (int i = 0; i < nchecks; i++)
		free_check(&checks[i]);
	printf("%s: %d check(s), %d failure(s)\n", fails ? "FAIL" : "PASS",
	       nchecks, fails);
	return fails ? 1 : 0;
}
