/* test_table.c — `sluicectl counters`: the text table marks values past
 * their thresholds, the JSON parses and reads back, and --watch redraws
 * from a (fake) daemon's control socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats/table.h"
#include "stats/alerts.h"
#include "stats/jsonstr.h"

#include <jansson.h>
#include "policy/policy.h"
#include "sluicectl/sluicectl.h"
#include "evbuf_text.h"

#include <event2/buffer.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void synthetic(struct stats_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->packets_queued = 42;
	s->packets_backlogged = 11; /* past 10 */
	s->slots_total = 4096;
	s->slots_available = 4000;
	s->slots_local_available = 400;
	s->worker_threads = 6;
	s->process_resident_memory_bytes = 50u << 20;
	s->verifier_response_seconds = 0.0125;
	for (int i = 0; i < 100; i++)
		stats_hist_observe(&s->decision_latency_seconds, 0.002);
}

/* The table's line of counter NAME. */
static const char *row(const char *text, const char *name, char *buf,
		       size_t len)
{
	char key[80];
	snprintf(key, sizeof(key), " %s ", name);
	const char *p = strstr(text, key);
	assert_non_null(p);
	while (p > text && p[-1] != '\n')
		p--;
	size_t n = strcspn(p, "\n");
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

static void test_text(void **state)
{
	(void)state;
	struct stats_snapshot s;
	synthetic(&s);
	struct evbuffer *b = evbuffer_new();
	stats_render_text(&s, NULL, b);
	char *text = drain(b), line[256];
	fputs(text, stderr);
	assert_int_equal(strncmp(text, "packet engine\n", 14), 0);
	assert_int_equal(row(text, "packets_backlogged", line, sizeof(line))[0], '!');
	assert_non_null(strstr(line, "[alert > 10]"));
	assert_int_equal(row(text, "packets_queued", line, sizeof(line))[0], ' ');
	assert_non_null(strstr(line, " 42  "));
	assert_int_equal(row(text, "slots_available", line, sizeof(line))[0], ' ');
	assert_non_null(strstr(row(text, "process_resident_memory_bytes", line,
				   sizeof(line)), "50.0 MiB"));
	assert_non_null(strstr(row(text, "decision_latency_seconds", line,
				   sizeof(line)), "n=100"));
	assert_non_null(strstr(row(text, "verifier_response_seconds", line,
				   sizeof(line)), "12.5 ms"));
	/* human units, and every line fits 100 columns */
	s.process_uptime_seconds = 20.7298;
	s.process_resident_memory_bytes = 16977900;
	s.process_heap_bytes = 1ull << 40;
	free(text);
	stats_render_text(&s, NULL, b);
	text = drain(b);
	assert_non_null(strstr(row(text, "process_uptime_seconds", line,
				   sizeof(line)), " 20.7 s "));
	assert_non_null(strstr(row(text, "process_resident_memory_bytes", line,
				   sizeof(line)), " 16.2 MiB "));
	assert_non_null(strstr(row(text, "process_heap_bytes", line,
				   sizeof(line)), " 1.0 TiB "));
	for (const char *p = text; *p;) {
		size_t cols = 0; /* characters: UTF-8 lead bytes */
		for (; *p && *p != '\n'; p++)
			cols += ((unsigned char)*p & 0xC0) != 0x80;
		if (cols > 100)
			fail_msg("a line of %zu columns", cols);
		if (*p)
			p++;
	}
	free(text);

	/* a firing alert marks its counter too */
	struct alert_def d = {.name = (char *)"q", .counter = (char *)"packets_queued",
			      .op = ALERT_GT, .value = 1, .events = 1,
			      .rearm_ms = 1000};
	const struct alert_def *v[] = {&d};
	struct alerts *a = alerts_new_defs(v, 1, false, NULL, NULL);
	alerts_tick(a, &s, 1);
	json_t *al = alerts_json(a);
	stats_render_text(&s, al, b);
	json_decref(al);
	text = drain(b);
	assert_int_equal(row(text, "packets_queued", line, sizeof(line))[0], '!');
	free(text);
	alerts_free(a);
	evbuffer_free(b);
}

static void test_json_round_trip(void **state)
{
	(void)state;
	struct stats_snapshot s, back = {0};
	synthetic(&s);
	struct alerts *a = alerts_new(NULL, NULL, NULL);
	alerts_tick(a, &s, 1);
	struct evbuffer *b = evbuffer_new();
	stats_render_json(&s, a, b);
	char *text = drain(b);
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	const json_t *c = json_object_get(j, "counters");
	assert_non_null(c);
	assert_true(json_number_value(json_object_get(c, "packets_queued")) == 42);
	const json_t *h = json_object_get(c, "decision_latency_seconds");
	assert_true(json_number_value(json_object_get(h, "count")) == 100);
	assert_true(json_number_value(json_object_get(json_object_get(h, "buckets"), "+Inf")) == 100);
	const json_t *al = json_object_get(j, "alerts");
	assert_int_equal(json_typeof(al), JSON_ARRAY);
	bool backlog_firing = false;
	size_t i;
	const json_t *e;
	json_array_foreach(al, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), "backlog"))
			backlog_firing = json_is_true(json_object_get(e, "firing"));
	assert_true(backlog_firing);
	const json_t *past = json_object_get(j, "past_threshold");
	assert_int_equal(json_array_size(past), 1);
	assert_string_equal(json_string_value(json_array_get(past, 0)),
			    "packets_backlogged");

	assert_int_equal(stats_from_json(j, &back), 0);
	assert_memory_equal(&s.decision_latency_seconds.buckets,
			    &back.decision_latency_seconds.buckets,
			    sizeof(back.decision_latency_seconds.buckets));
	s.decision_latency_seconds.sum = back.decision_latency_seconds.sum = 0;
	assert_memory_equal(&s, &back, sizeof(s));
	json_decref(j);
	free(text);
	alerts_free(a);
	evbuffer_free(b);
}

/* ---- --watch against a fake daemon ---------------------------------------------- */

struct fake {
	int lfd;
	int answers;
	const char *doc; /* the counters document it answers; NULL: synthetic */
	char request[256];
};

static void *fake_daemon(void *arg)
{
	struct fake *f = arg;
	struct stats_snapshot s;
	synthetic(&s);
	struct evbuffer *b = evbuffer_new();
	if (f->doc)
		evbuffer_add_printf(b, "%s", f->doc);
	else
		stats_render_json(&s, NULL, b);
	char *doc = drain(b);
	evbuffer_free(b);
	/* the control protocol's answer: {"ok":true,"output":<doc>} */
	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"ok\":true,\"output\":%s}\n", doc);
	free(doc);
	char *answer = drain(b);
	evbuffer_free(b);
	for (int i = 0; i < f->answers; i++) {
		int c = accept(f->lfd, NULL, NULL);
		if (c < 0)
			break;
		ssize_t n = read(c, f->request, sizeof(f->request) - 1);
		f->request[n > 0 ? n : 0] = '\0';
		ssize_t w = write(c, answer, strlen(answer));
		(void)w;
		close(c);
	}
	free(answer);
	return NULL;
}

/* Runs `counters --watch` COUNT times against a fake daemon answering DOC
 * (NULL: the synthetic snapshot); its stdout into OUT (LEN bytes), the
 * request it sent into REQUEST. Returns its exit code. */
static int run_watch(const char *doc, int count, char *out, size_t len,
		     char *request, size_t rlen)
{
	char sock[] = "/tmp/sluice-watch-XXXXXX";
	assert_non_null(mkdtemp(sock));
	char path[108];
	snprintf(path, sizeof(path), "%s/s", sock);
	struct fake f = {.answers = count, .doc = doc};
	f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f.lfd, 4), 0);
	pthread_t t;
	pthread_create(&t, NULL, fake_daemon, &f);

	/* stdout to a file for the watch */
	char file[128];
	snprintf(file, sizeof(file), "%s/out", sock);
	fflush(stdout);
	int saved = dup(1);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	int rc = counters_watch(path, 100, (unsigned)count);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	if (rc) { /* stopped early: let the fake's other accepts end */
		shutdown(f.lfd, SHUT_RDWR);
	}
	pthread_join(t, NULL);
	close(f.lfd);
	snprintf(request, rlen, "%s", f.request);

	FILE *fp = fopen(file, "r");
	size_t n = fread(out, 1, len - 1, fp);
	out[n] = '\0';
	fclose(fp);
	unlink(file);
	unlink(path);
	rmdir(sock);
	return rc;
}

static void test_watch(void **state)
{
	(void)state;
	static char buf[65536];
	char request[256];
	assert_int_equal(run_watch(NULL, 3, buf, sizeof(buf), request,
				   sizeof(request)), 0);
	assert_string_equal(request, "{\"command\":\"counters\"}\n");
	int frames = 0;
	for (char *p = buf; (p = strstr(p, "\033[H\033[2J")); p++)
		frames++;
	assert_int_equal(frames, 3);
	assert_non_null(strstr(buf, "\n! packets_backlogged "));
	assert_non_null(strstr(buf, "  packets_queued "));

	/* no daemon: 3 */
	assert_int_equal(counters_watch("/nonexistent/sluice.sock", 100, 1), 3);
}

/* --watch given hostile answers by the daemon: what is not one JSON
 * object (jansson's parser: bad syntax, invalid UTF-8, duplicate keys, an
 * array, nesting beyond its limit) stops it before drawing: exit 1 (not
 * an object) or 3 (no valid answer at all);
 * members of the wrong type, negative, huge or unknown are drawn as 0,
 * and an alert name with control characters cannot reach the terminal. */
static void test_watch_hostile(void **state)
{
	(void)state;
	static char buf[65536], deep[8192];
	char request[256];
	size_t n = 0;
	for (; n < 3000; n++)
		deep[n] = '[';
	deep[n] = '\0';
	const char *bad[] = {
	    "{\"counters\": {", "[1, 2]", "\"text\"", "{\"a\":1,\"a\":2}",
	    "{\"counters\": {\"packets_queued\": 1e}}", deep,
	    "{\"counters\": {\"x\": \"\\ud800\"}}", /* a lone surrogate */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = run_watch(bad[i], 1, buf, sizeof(buf), request,
				   sizeof(request));
		assert_true(rc == 1 || rc == 3);
		assert_null(strstr(buf, "\033[H\033[2J"));
	}
	const char *odd =
	    "{\"counters\": {\"packets_queued\": -5, \"slots_available\": "
	    "\"many\", \"pending\": 1e300, \"no_such\": 7,"
	    " \"decision_latency_seconds\": {\"count\": [1], \"sum\": "
	    "\"x\", \"buckets\": {\"0.001\": 9, \"+Inf\": 3}}},"
	    " \"alerts\": [{\"name\": \"\\u001b[2Jevil\", \"condition\": \"c\","
	    " \"firing\": true}, 5, {\"name\": 1, \"firing\": true}]}";
	assert_int_equal(run_watch(odd, 1, buf, sizeof(buf), request,
				   sizeof(request)), 0);
	assert_non_null(strstr(buf, "packets_queued "));
	assert_null(strstr(buf, "e+"));
	assert_non_null(strstr(buf, "\\x1b[2Jevil"));
	assert_null(strstr(buf, "\033[2Jevil"));

	/* the reader alone: the odd members leave 0 */
	json_t *j = json_loads(odd, 0, NULL);
	struct stats_snapshot s = {0};
	assert_int_equal(stats_from_json(j, &s), 0);
	assert_true(s.packets_queued == 0);
	assert_true(s.decision_latency_seconds.count == 0);
	assert_true(s.decision_latency_seconds.sum == 0);
	uint64_t total = 0;
	for (size_t i = 0; i < STATS_LAT_BUCKETS; i++)
		total += s.decision_latency_seconds.buckets[i];
	assert_true(total == 9); /* 9 at 1 ms; +Inf's 3 below it counts 0 */
	json_decref(j);
	j = json_loads("{\"alerts\": []}", 0, NULL);
	assert_int_equal(stats_from_json(j, &s), -1);
	json_decref(j);
}

/* Numbers for people: units that suit the size, never e-notation; cells
 * escaped, cut with "…", padded by columns (not bytes). */
static void test_human_cells(void **state)
{
	(void)state;
	char b[64];
	stats_human(16977900, "bytes", b, sizeof(b));
	assert_string_equal(b, "16.2 MiB");
	stats_human(20.72978, "seconds", b, sizeof(b));
	assert_string_equal(b, "20.7 s");
	stats_human(0.0125, "seconds", b, sizeof(b));
	assert_string_equal(b, "12.5 ms");
	stats_human(1.69779e7, NULL, b, sizeof(b));
	assert_string_equal(b, "16977900");
	stats_human(1e22, "", b, sizeof(b));
	assert_null(strchr(b, 'e'));
	stats_human(0.5, NULL, b, sizeof(b));
	assert_string_equal(b, "0.50");
	stats_human(NAN, NULL, b, sizeof(b));
	assert_string_equal(b, "-");

	struct evbuffer *e = evbuffer_new();
	assert_int_equal(stats_put_cell(e, "caf\xc3\xa9", 6, CELL_LEFT), 6);
	assert_int_equal(stats_put_cell(e, "x", 3, CELL_RIGHT), 3);
	assert_int_equal(stats_put_cell(e, "Ren\xe9 \x1b[2J long name", 10,
					CELL_LAST), 10);
	assert_int_equal(stats_put_cell(e, NULL, 4, CELL_LAST), 1);
	char *t = drain(e);
	assert_string_equal(t, "caf\xc3\xa9    xRen\\xe9 \\" "\xe2\x80\xa6-");
	free(t);
	evbuffer_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_watch),
	    cmocka_unit_test(test_watch_hostile),
	    cmocka_unit_test(test_human_cells),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
