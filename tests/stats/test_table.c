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
#include "stats/json.h"
#include "policy/policy.h"
#include "sluicectl/sluicectl.h"

#include <event2/buffer.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char *drain(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

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
	stats_render_text(&s, a, b);
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
	struct json *j = json_parse(text);
	assert_non_null(j);
	const struct json *c = json_get(j, "counters");
	assert_non_null(c);
	assert_true(json_get(c, "packets_queued")->num == 42);
	const struct json *h = json_get(c, "decision_latency_seconds");
	assert_true(json_get(h, "count")->num == 100);
	assert_true(json_get(json_get(h, "buckets"), "+Inf")->num == 100);
	const struct json *al = json_get(j, "alerts");
	assert_int_equal(al->type, JSON_ARR);
	bool backlog_firing = false;
	for (const struct json *e = al->child; e; e = e->next)
		if (!strcmp(json_get(e, "name")->str, "backlog"))
			backlog_firing = json_get(e, "firing")->b;
	assert_true(backlog_firing);
	const struct json *past = json_get(j, "past_threshold");
	assert_string_equal(past->child->str, "packets_backlogged");
	assert_null(past->child->next);

	assert_int_equal(stats_from_json(j, &back), 0);
	assert_memory_equal(&s.decision_latency_seconds.buckets,
			    &back.decision_latency_seconds.buckets,
			    sizeof(back.decision_latency_seconds.buckets));
	s.decision_latency_seconds.sum = back.decision_latency_seconds.sum = 0;
	assert_memory_equal(&s, &back, sizeof(s));
	json_free(j);
	free(text);
	alerts_free(a);
	evbuffer_free(b);
}

/* ---- --watch against a fake daemon ---------------------------------------------- */

struct fake {
	int lfd;
	int answers;
	char request[256];
};

static void *fake_daemon(void *arg)
{
	struct fake *f = arg;
	struct stats_snapshot s;
	synthetic(&s);
	struct evbuffer *b = evbuffer_new();
	stats_render_json(&s, NULL, b);
	char *doc = drain(b);
	evbuffer_free(b);
	/* the control protocol's answer: {"ok":true,"output":"<doc>"} */
	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"ok\":true,\"output\":");
	json_put_string(b, doc);
	evbuffer_add_printf(b, "}\n");
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

static void test_watch(void **state)
{
	(void)state;
	char sock[] = "/tmp/sluice-watch-XXXXXX";
	assert_non_null(mkdtemp(sock));
	char path[108];
	snprintf(path, sizeof(path), "%s/s", sock);
	struct fake f = {.answers = 3};
	f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f.lfd, 4), 0);
	pthread_t t;
	pthread_create(&t, NULL, fake_daemon, &f);

	/* stdout to a file for the watch */
	char out[128];
	snprintf(out, sizeof(out), "%s/out", sock);
	fflush(stdout);
	int saved = dup(1);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	int rc = counters_watch(path, 100, 3);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	pthread_join(t, NULL);
	close(f.lfd);
	assert_int_equal(rc, 0);
	assert_string_equal(f.request, "{\"command\":\"counters\",\"json\":true}\n");

	FILE *fp = fopen(out, "r");
	char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	int frames = 0;
	for (char *p = buf; (p = strstr(p, "\033[H\033[2J")); p++)
		frames++;
	assert_int_equal(frames, 3);
	assert_non_null(strstr(buf, "\n! packets_backlogged "));
	assert_non_null(strstr(buf, "  packets_queued "));

	/* no daemon: 3 */
	unlink(path);
	assert_int_equal(counters_watch(path, 100, 1), 3);
	unlink(out);
	rmdir(sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_watch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
