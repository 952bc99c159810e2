/*
 * render.h — sluicectl's text for people, rendered from the JSON answer of
 * sluiced (the daemon sends JSON only; sluicectl(8) gives each shape).
 * One small renderer a kind of answer; each writes lines of at most 100
 * columns, durations and sizes in human units (stats/table.h: "20.7 s",
 * "16.2 MiB"), and every text that came from outside (names, paths,
 * details) escaped and cut as a table cell (stats_put_cell: control
 * characters and bytes that are not UTF-8 as \xNN, "…" for a cut).
 */
#ifndef SLUICECTL_RENDER_H
#define SLUICECTL_RENDER_H

struct evbuffer;
/* jansson's value (<jansson.h>) */
typedef struct json_t json_t;

/*
 * Appends to OUT the text of V, the answer of control command REQUEST
 * (its name on the wire: "status", "farm-list", ...). Returns 0, or -1
 * when V has not the shape REQUEST answers with (OUT may hold part of a
 * table then; the caller shows the JSON instead). A command without a
 * renderer of its own (the actions: reload, identity-add, ...) prints the
 * "messages" of its answer, one a line.
 */
int render_answer(const char *request, const json_t *v, struct evbuffer *out);

#endif
