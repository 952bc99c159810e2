/* diag.c — located diagnostics, collected and printed together. */
#include "policy/internal.h"
#include "common/log.h"
#include "common/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

void diags_add(struct diags *d, enum diag_sev sev, const struct loc *loc,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diags_vadd(d, sev, loc, fmt, ap);
	va_end(ap);
}

void diags_vadd(struct diags *d, enum diag_sev sev, const struct loc *loc,
		const char *fmt, va_list ap)
{
	struct diag g = {.sev = sev};

	if (loc) {
		g.loc = *loc;
		if (loc->file)
			g.loc.file = diags_intern(d, loc->file);
	}
	if (vasprintf(&g.msg, fmt, ap) < 0)
		g.msg = xstrdup("(out of memory formatting a message)");
	VEC_PUSH(d->v, d->n, g);
	if (sev == DIAG_ERROR)
		d->errors++;
	else if (sev == DIAG_WARNING)
		d->warnings++;
}

static const char *sev_name(enum diag_sev s)
{
	return s == DIAG_ERROR ? "error" : s == DIAG_WARNING ? "warning" : "note";
}

void diags_print(const struct diags *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		if (g->loc.file)
			fprintf(out, "%s:%d:%d: %s: %s\n", g->loc.file,
				g->loc.line, g->loc.col, sev_name(g->sev),
				g->msg);
		else
			fprintf(out, "sluice: %s: %s\n", sev_name(g->sev),
				g->msg);
	}
}

void diags_log(const struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		int pri = g->sev == DIAG_ERROR	   ? LOG_ERR
			  : g->sev == DIAG_WARNING ? LOG_WARNING
						   : LOG_NOTICE;
		if (g->loc.file)
			log_at(pri, "%s:%d:%d: %s: %s", g->loc.file,
			       g->loc.line, g->loc.col, sev_name(g->sev),
			       g->msg);
		else
			log_at(pri, "%s: %s", sev_name(g->sev), g->msg);
	}
}

const char *diags_intern(struct diags *d, const char *name)
{
	for (size_t i = 0; i < d->nfiles; i++)
		if (strcmp(d->files[i], name) == 0)
			return d->files[i];
	char *s = xstrdup(name);
	VEC_PUSH(d->files, d->nfiles, s);
	return s;
}

/* Appends every message of FROM to TO (file names interned in TO). */
void diags_copy(struct diags *to, const struct diags *from)
{
	for (size_t i = 0; i < from->n; i++)
		diags_add(to, from->v[i].sev, &from->v[i].loc, "%s",
			  from->v[i].msg);
}

/* Drops the messages of D and their counts; keeps the interned names. */
void diags_clear_messages(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
	d->errors = d->warnings = 0;
}

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	for (size_t i = 0; i < d->nfiles; i++)
		free(d->files[i]);
	free(d->v);
	free(d->files);
	memset(d, 0, sizeof(*d));
}
