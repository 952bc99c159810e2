/*
 * watch.c — `sluicectl counters --watch`: a performance-monitor view. Asks
 * the daemon for `counters --json` over the control socket, rebuilds the
 * snapshot, and redraws the same table in place.
 */
#include "sluicectl/sluicectl.h"
#include "common/text.h"
#include "common/util.h"
#include "control/control.h"
#include "stats/table.h"

#include <errno.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One frame: the table and the firing alerts of document J. */
static void draw(const json_t *j, unsigned interval_ms)
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
	stats_render_text(s, json_object_get(j, "alerts"), out);
	/* the alerts firing now, and counters they watch */
	bool any = false;
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(j, "alerts"), i, a) {
		const char *n = json_string_value(json_object_get(a, "name"));
		const char *c = json_string_value(json_object_get(a, "condition"));
		if (!json_is_true(json_object_get(a, "firing")) || !n || !c)
			continue;
		if (!any)
			evbuffer_add_printf(out, "\nalerts firing\n");
		any = true;
		char *en = text_escape_dup(n, strlen(n), false),
		     *ec = text_escape_dup(c, strlen(c), false);
		evbuffer_add_printf(out, "! %-22s %s\n", en, ec);
		free(en);
		free(ec);
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
	if (interval_ms < WATCH_INTERVAL_MIN_MS)
		interval_ms = WATCH_INTERVAL_MIN_MS;
	for (unsigned i = 0; count == 0 || i < count; i++) {
		if (i) {
			struct timespec ts = {interval_ms / 1000,
					      (long)(interval_ms % 1000) * 1000000};
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		json_t *j = NULL;
		char *err = NULL;
		int rc = control_call_json(socket_path, "counters", NULL, &j, &err);
		if (rc) {
			fprintf(stderr, "sluicectl: %s", err);
			free(err);
			return rc;
		}
		if (!json_is_object(j)) {
			fprintf(stderr, "sluicectl: bad answer from sluiced: not "
				"a JSON object\n");
			json_decref(j);
			return 1;
		}
		draw(j, interval_ms);
		json_decref(j);
	}
	return 0;
}
