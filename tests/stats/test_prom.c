/* test_prom.c — the Prometheus exposition parses (a validator of the text
 * format below), and the /metrics endpoint answers a real HTTP GET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats/prom.h"
#include "stats/jsonstr.h"
#include "evbuf_text.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

/* ---- a validator of the text format 0.0.4 ------------------------------- */

struct family {
	char name[128];
	char type[16];
	bool help, has_type;
};

static bool name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	       (!first && isdigit((unsigned char)c));
}

/* Checks TEXT; fails the test with a message on the first bad line.
 * Returns the number of samples. */
static int validate(const char *text)
{
	struct family fams[128];
	size_t nf = 0;
	int samples = 0, lineno = 0;
	double last_le = -INFINITY, last_bucket = -1, inf_bucket = -1;
	char hist[128] = "";
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl); /* every line ends with \n */
		char line[1024];
		size_t len = (size_t)(nl - p);
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		lineno++;
		if (line[0] == '#') {
			char kw[8], name[128], rest[512];
			int n = sscanf(line, "# %7s %127s %511[^\n]", kw, name, rest);
			assert_true(n >= 2);
			struct family *f = NULL;
			for (size_t i = 0; i < nf; i++)
				if (strcmp(fams[i].name, name) == 0)
					f = &fams[i];
			if (!f) {
				f = &fams[nf++];
				memset(f, 0, sizeof(*f));
				snprintf(f->name, sizeof(f->name), "%s", name);
			}
			if (strcmp(kw, "HELP") == 0) {
				assert_false(f->help);
				f->help = true;
			} else if (strcmp(kw, "TYPE") == 0) {
				assert_false(f->has_type);
				assert_int_equal(n, 3);
				assert_true(strcmp(rest, "counter") == 0 ||
					    strcmp(rest, "gauge") == 0 ||
					    strcmp(rest, "histogram") == 0);
				snprintf(f->type, sizeof(f->type), "%.15s", rest);
				f->has_type = true;
			}
			continue;
		}
		/* name{labels} value */
		char *c = line;
		assert_true(name_char(*c, true));
		while (name_char(*c, false))
			c++;
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(c - line), line);
		double le = NAN;
		if (*c == '{') {
			char *close = strchr(c, '}');
			assert_non_null(close);
			char *q = strstr(c, "le=\"");
			if (q && q < close) {
				if (strncmp(q + 4, "+Inf\"", 5) == 0)
					le = INFINITY;
				else
					le = strtod(q + 4, NULL);
			}
			c = close + 1;
		}
		assert_int_equal(*c, ' ');
		char *end;
		double v = strtod(c + 1, &end);
		if (end == c + 1)
			fail_msg("line %d: bad value in '%s'", lineno, line);
		assert_int_equal(*end, '\0');
		samples++;
		/* its family: the name, or the name less a histogram suffix */
		struct family *f = NULL;
		for (size_t i = 0; i < nf && !f; i++) {
			size_t fl = strlen(fams[i].name);
			if (strcmp(fams[i].name, name) == 0 ||
			    (strncmp(fams[i].name, name, fl) == 0 &&
			     strcmp(fams[i].type, "histogram") == 0 &&
			     (!strcmp(name + fl, "_bucket") ||
			      !strcmp(name + fl, "_sum") ||
			      !strcmp(name + fl, "_count"))))
				f = &fams[i];
		}
		if (!f || !f->help || !f->has_type)
			fail_msg("line %d: sample '%s' before its HELP/TYPE",
				 lineno, name);
		if (strcmp(f->type, "counter") == 0) {
			size_t n = strlen(name);
			assert_true(n > 6 && strcmp(name + n - 6, "_total") == 0);
			assert_true(v >= 0);
		}
		if (strcmp(f->type, "histogram") == 0) {
			if (strcmp(hist, f->name) != 0) {
				snprintf(hist, sizeof(hist), "%s", f->name);
				last_le = -INFINITY;
				last_bucket = -1;
				inf_bucket = -1;
			}
			size_t fl = strlen(f->name);
			if (!strcmp(name + fl, "_bucket")) {
				assert_false(isnan(le));
				assert_true(le > last_le); /* ordered bounds */
				assert_true(v >= last_bucket); /* monotonic */
				last_le = le;
				last_bucket = v;
				if (isinf(le))
					inf_bucket = v;
			} else if (!strcmp(name + fl, "_count")) {
				assert_true(isinf(last_le)); /* ended at +Inf */
				assert_true(v == inf_bucket);
			}
		}
	}
	for (size_t i = 0; i < nf; i++)
		assert_true(strncmp(fams[i].name, "sluice_", 7) == 0 ||
			    strncmp(fams[i].name, "process_", 8) == 0);
	return samples;
}

static int count_of(const char *text, const char *what)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* Label values: escapes, and bytes that are not UTF-8 become U+FFFD. */
static void test_label_value(void **state)
{
	(void)state;
	char buf[64];
	prom_label_value(buf, sizeof(buf), "a\"b\\c\nd");
	assert_string_equal(buf, "a\\\"b\\\\c\\nd");
	prom_label_value(buf, sizeof(buf), "Ren\xE9");
	assert_string_equal(buf, "Ren\xEF\xBF\xBD");
	prom_label_value(buf, sizeof(buf), "Ren\xC3\xA9\xED\xA0\x80");
	assert_string_equal(buf, "Ren\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	prom_label_value(buf, 6, "abcdefgh"); /* cut, still terminated */
	assert_string_equal(buf, "abcde");
	prom_label_value(buf, 5, "ab\xC3\xA9\xC3\xA9"); /* never half a char */
	assert_string_equal(buf, "ab\xC3\xA9");
}

/* json_put_string (stats/jsonstr.h): always valid JSON and UTF-8. */
static void test_json_string(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"Ren\xE9", "\"Ren\\\\xe9\""},		    /* not UTF-8: text */
	    {"Ren\xC3\xA9", "\"Ren\\u00E9\""},		    /* UTF-8 */
	    {"a\"b\\c", "\"a\\\"b\\\\c\""},		    /* escapes */
	    {"x\x01y\n", "\"x\\\\x01y\\n\""},		    /* controls */
	    {"\xF0\x9F\x98\x80", "\"\\uD83D\\uDE00\""}, /* a pair */
	    {"\xED\xA0\x80", "\"\\\\xed\\\\xa0\\\\x80\""}, /* surrogate */
	    {NULL, "\"\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct evbuffer *b = evbuffer_new();
		json_put_string(b, cases[i].in);
		char *t = drain(b);
		evbuffer_free(b);
		assert_string_equal(t, cases[i].want);
		free(t);
	}
}

static void synthetic(struct stats_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->packets_queued = 123456;
	s->packets_backlogged = 12;
	s->verdicts_allow = 100;
	s->slots_total = 4096;
	s->slots_available = 4000;
	s->verifier_response_seconds = 0.0125;
	s->process_uptime_seconds = 3600.5;
	s->process_resident_memory_bytes = 1ull << 40;
	for (int i = 0; i < 1000; i++)
		stats_hist_observe(&s->decision_latency_seconds,
				   (double)i * 0.0004);
}

static void test_render_parses(void **state)
{
	(void)state;
	struct stats_snapshot s;
	synthetic(&s);
	struct evbuffer *b = evbuffer_new();
	prom_render(&s, b);
	char *text = drain(b);
	int n = validate(text);
	/* one sample a scalar, 12 buckets + sum + count for the histogram */
	size_t rows = 0;
	for (const struct stats_counter *c = stats_counters; c->name; c++)
		rows++;
	assert_int_equal(n, (int)(rows - 1 + STATS_LAT_BUCKETS + 2));
	assert_non_null(strstr(text, "\nsluice_packets_queued_total 123456\n"));
	assert_non_null(strstr(text, "\nsluice_packets_backlogged 12\n"));
	assert_non_null(strstr(text, "# TYPE sluice_decision_latency_seconds "
				     "histogram\n"));
	assert_non_null(strstr(text, "sluice_decision_latency_seconds_bucket"
				     "{le=\"+Inf\"} 1000\n"));
	assert_non_null(strstr(text, "sluice_decision_latency_seconds_bucket"
				     "{le=\"0.0001\"} 1\n"));
	assert_non_null(strstr(text, "sluice_decision_latency_seconds_count 1000\n"));
	assert_non_null(strstr(text, "sluice_verifier_response_seconds 0.0125"));
	assert_non_null(strstr(text, "\nprocess_resident_memory_bytes "
				     "1099511627776\n"));
	/* one family a quantity, a label a value (no gauge named _total) */
	assert_non_null(strstr(text, "\nsluice_verdicts_total{verdict=\"allow\"} 100\n"));
	assert_non_null(strstr(text, "\nsluice_decision_slots 4096\n"));
	assert_non_null(strstr(text, "\nsluice_decision_slots_free{share=\"all\"} 4000\n"));
	assert_null(strstr(text, "sluice_slots_total"));
	assert_null(strstr(text, "sluice_verdicts_allow"));
	assert_int_equal(count_of(text, "# TYPE sluice_verdicts_total counter\n"), 1);
	free(text);

	/* an empty snapshot too */
	memset(&s, 0, sizeof(s));
	prom_render(&s, b);
	text = drain(b);
	validate(text);
	free(text);
	evbuffer_free(b);
}

/* ---- the endpoint, over a real TCP connection ----------------------------- */

struct reply {
	int status;
	char ctype[128];
	char *body;
	struct event_base *base;
	int fills;
};

static void fill(void *arg, struct stats_snapshot *s)
{
	struct reply *r = arg;
	r->fills++;
	synthetic(s);
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct reply *r = arg;
	if (req) {
		r->status = evhttp_request_get_response_code(req);
		const char *ct = evhttp_find_header(
		    evhttp_request_get_input_headers(req), "Content-Type");
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct ? ct : "");
		r->body = drain(evhttp_request_get_input_buffer(req));
	}
	event_base_loopexit(r->base, NULL);
}

static void get(struct event_base *base, const char *host, unsigned port,
		const char *path, struct reply *r)
{
	struct evhttp_connection *conn =
	    evhttp_connection_base_new(base, NULL, host, (uint16_t)port);
	evhttp_connection_set_timeout(conn, 5);
	struct evhttp_request *req = evhttp_request_new(on_reply, r);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
	assert_int_equal(evhttp_make_request(conn, req, EVHTTP_REQ_GET, path), 0);
	event_base_dispatch(base);
	evhttp_connection_free(conn);
}

static void serve_and_get(const char *listen, const char *host)
{
	struct event_base *base = event_base_new();
	struct reply r = {.base = base};
	struct metrics_server *m = metrics_listen(base, listen, fill, &r);
	if (!m && strchr(listen, '[')) {
		event_base_free(base);
		skip(); /* no IPv6 loopback here */
	}
	assert_non_null(m);
	unsigned port = metrics_port(m);
	assert_true(port > 0);

	get(base, host, port, "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(r.body);
	validate(r.body);
	assert_non_null(strstr(r.body, "sluice_packets_queued_total 123456\n"));
	assert_int_equal(r.fills, 1);
	free(r.body);
	r.body = NULL;

	get(base, host, port, "/other", &r);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.fills, 1);
	free(r.body);

	metrics_close(m);
	event_base_free(base);
}

static void test_endpoint_v4(void **state)
{
	(void)state;
	serve_and_get("127.0.0.1:0", "127.0.0.1");
}

static void test_endpoint_v6(void **state)
{
	(void)state;
	serve_and_get("[::1]:0", "::1");
}

/* ---- limits: max-connections, the deadline, oversized heads ------------- */

struct limits_run {
	unsigned port;
	int done_fd;
	int closed_at_once; /* of the connections over the limit */
	int cut_by_deadline; /* of those within it, sending nothing */
	char big[64], post[64], get[64];
	uint64_t ms_to_cut;
};

static int connect_to(unsigned port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends REQ on a new connection; the status line of the answer to OUT. */
static void ask(unsigned port, const char *req, size_t len, char *out,
		size_t outlen)
{
	int fd = connect_to(port);
	assert_true(write(fd, req, len) == (ssize_t)len);
	ssize_t n = read(fd, out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\r")] = '\0';
	close(fd);
}

static void *limits_client(void *arg)
{
	struct limits_run *r = arg;
	int fds[4];
	for (int i = 0; i < 4; i++)
		fds[i] = connect_to(r->port);
	/* the two over the limit (2) are closed at once: EOF */
	char b[16];
	for (int i = 2; i < 4; i++)
		r->closed_at_once += read(fds[i], b, sizeof(b)) == 0;
	/* the two within it are cut by the deadline (300 ms), well before
	 * the 5 s receive timeout */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 2; i++)
		r->cut_by_deadline += read(fds[i], b, sizeof(b)) == 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ms_to_cut = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000 +
				  (t1.tv_nsec - t0.tv_nsec) / 1000000);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	static char big[9000];
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 27);
	memset(big + 27, 'a', sizeof(big) - 27);
	ask(r->port, big, sizeof(big), r->big, sizeof(r->big));
	static const char post[] = "POST /metrics HTTP/1.1\r\n\r\n";
	ask(r->port, post, sizeof(post) - 1, r->post, sizeof(r->post));
	static const char get[] = "GET /metrics?x=1 HTTP/1.0\r\n\r\n";
	ask(r->port, get, sizeof(get) - 1, r->get, sizeof(r->get));
	if (write(r->done_fd, "x", 1) < 0)
		abort();
	return NULL;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void test_endpoint_limits(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct reply rep = {.base = base};
	struct metrics_server *m = metrics_listen(base, "127.0.0.1:0", fill, &rep);
	assert_non_null(m);
	metrics_limits(m, 2, 300);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct event *ev = event_new(base, p[0], EV_READ, on_done, base);
	event_add(ev, NULL);
	struct limits_run r = {.port = metrics_port(m), .done_fd = p[1]};
	pthread_t t;
	pthread_create(&t, NULL, limits_client, &r);
	event_base_dispatch(base);
	pthread_join(t, NULL);
	assert_int_equal(r.closed_at_once, 2);
	assert_int_equal(r.cut_by_deadline, 2);
	assert_true(r.ms_to_cut < 4000);
	assert_true(metrics_refused(m) >= 2);
	assert_string_equal(r.big, "HTTP/1.1 431 Request Header Fields Too Large");
	assert_string_equal(r.post, "HTTP/1.1 405 Method Not Allowed");
	assert_string_equal(r.get, "HTTP/1.1 200 OK");
	event_free(ev);
	close(p[0]);
	close(p[1]);
	metrics_close(m);
	event_base_free(base);
}

static void test_listen_errors(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	assert_null(metrics_listen(base, "nonsense", fill, NULL));
	assert_null(metrics_listen(base, "192.0.2.1:9109", fill, NULL));
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_parses),
	    cmocka_unit_test(test_label_value),
	    cmocka_unit_test(test_json_string),
	    cmocka_unit_test(test_endpoint_v4),
	    cmocka_unit_test(test_endpoint_v6),
	    cmocka_unit_test(test_endpoint_limits),
	    cmocka_unit_test(test_listen_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
