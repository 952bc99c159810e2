/*
 * watch.c — `sluicectl counters --watch`: a performance-monitor view. Asks
 * the daemon for `counters --json` over the control socket, rebuilds the
 * snapshot, and redraws the same table in place.
 */
#include "sluicectl/sluicectl.h"
#include "common/util.h"
#include "control/control.h"
#include "stats/json.h"
#include "stats/table.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One frame: the table and the firing alerts of document J. */
static void draw(const struct json *j, unsigned interval_ms)
{
	struct stats_snapshot *s = calloc(1, sizeof(*s));
	struct evbuffer *out = evbuffer_new();
	if (!s || !out)
		goto done;
	stats_from_json(j, s);
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S", &tm);
	evbuffer_add_printf(out, "\033[H\033[2Jsluice counters  %s  (every "
			    "%.1f s; ! = past threshold)\n\n", now,
			    interval_ms / 1000.0);
	stats_render_text(s, NULL, out);
	/* the alerts firing now, and counters they watch */
	const struct json *al = json_get(j, "alerts");
	bool any = false;
	for (const struct json *a = al ? al->child : NULL; a; a = a->next) {
		const struct json *f = json_get(a, "firing");
		const struct json *n = json_get(a, "name");
		const struct json *c = json_get(a, "condition");
		if (!f || f->type != JSON_BOOL || !f->b || !n || !c)
			continue;
		if (!any)
			evbuffer_add_printf(out, "\nalerts firing\n");
		any = true;
		evbuffer_add_printf(out, "! %-22s %s\n", n->str ? n->str : "?",
				    c->str ? c->str : "");
	}
	fwrite(evbuffer_pullup(out, -1), 1, evbuffer_get_length(out), stdout);
	fflush(stdout);
done:
	if (out)
		evbuffer_free(out);
	free(s);
}

int counters_watch(const char *socket_path, unsigned interval_ms,
		   unsigned count)
{
	if (interval_ms < 100)
		interval_ms = 100;
	for (unsigned i = 0; count == 0 || i < count; i++) {
		if (i) {
			struct timespec ts = {interval_ms / 1000,
					      (long)(interval_ms % 1000) * 1000000};
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		char *body;
		int rc = control_call(socket_path, "counters", NULL, true, &body);
		if (rc) {
			fprintf(stderr, "sluicectl: %s%s", body,
				body[0] && body[strlen(body) - 1] == '\n' ? ""
									  : "\n");
			free(body);
			return rc;
		}
		struct json *j = json_parse(body);
		free(body);
		if (!j) {
			fprintf(stderr, "sluicectl: bad answer from sluiced\n");
			return 1;
		}
		draw(j, interval_ms);
		json_free(j);
	}
	return 0;
}
