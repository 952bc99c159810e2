/*
 * ruleset_update.c — a reload that replaces the contents of table inet
 * sluice instead of the table itself (ruleset.h ruleset_nft_update).
 *
 * Why: deleting a `ct timeout` object makes the kernel walk the whole
 * conntrack table to detach it from the entries that use it
 * (nf_ct_untimeout(); 167–287 ms with 200,000 entries, BENCHMARKS.md
 * "Reload at scale"), and `delete table` deletes the object with the
 * table. Re-declaring an existing object is a no-op in nf_tables (its
 * values do not change: tried with nft 1.0.6 on 6.x), so an object whose
 * declaration is the same text stays, and one whose values changed is
 * deleted and declared again (one walk, on that reload only).
 *
 * The teardown is derived from the text that put the table in place (the
 * earlier ruleset_nft() output): every top-level declaration of its table
 * block, one tab in ("\tchain NAME {", "\tset NAME {", "\tcounter NAME {}",
 * ...), is deleted after `flush table` removed every rule: sets and maps
 * first (a map's elements may jump to chains), then named objects, then
 * flowtables, then chains. A declaration of a kind not known here makes
 * the whole update fail over to the full replacement (NULL).
 */
#include "kernel/ruleset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

/* Top-level declarations of an nft table, with the order group of their
 * deletion (0 sets/maps, 1 named objects, 2 flowtables, 3 chains). */
static const struct decl_kind {
	const char *word; /* as written, with its trailing space */
	int group;
} decl_kinds[] = {
    {"set ", 0},	{"map ", 0},	       {"counter ", 1},
    {"quota ", 1},	{"limit ", 1},	       {"ct helper ", 1},
    {"ct timeout ", 1}, {"ct expectation ", 1}, {"secmark ", 1},
    {"synproxy ", 1},	{"flowtable ", 2},     {"chain ", 3},
};
#define DECL_GROUPS 4

/* One top-level declaration: its kind, name and whole text (from the tab
 * before the keyword to the end of the line that closes it). */
struct decl {
	const struct decl_kind *kind;
	const char *name;
	size_t name_len;
	const char *text;
	size_t text_len;
};

/* The start of the table block of TABLE in SCRIPT (the line after
 * "table inet TABLE {"), or NULL. */
static const char *table_body(const char *script, const char *table)
{
	char *head = xasprintf("table inet %s {\n", table);
	size_t hl = strlen(head);
	const char *s = script, *found = NULL;
	while (s && *s && !found) {
		if (strncmp(s, head, hl) == 0)
			found = s + hl;
		s = strchr(s, '\n');
		s = s ? s + 1 : NULL;
	}
	free(head);
	return found;
}

/* The end of the line at S (after its '\n', or at the final NUL). */
static const char *line_end(const char *s)
{
	const char *nl = strchr(s, '\n');
	return nl ? nl + 1 : s + strlen(s);
}

/* Reads the declaration at LINE (a line of a table block starting with one
 * tab and a letter) into D; returns the end of its text, or NULL when the
 * kind is unknown or the text ends inside it. */
static const char *decl_read(const char *line, struct decl *d)
{
	const char *w = line + 1;
	d->kind = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(decl_kinds) && !d->kind; i++)
		if (strncmp(w, decl_kinds[i].word,
			    strlen(decl_kinds[i].word)) == 0)
			d->kind = &decl_kinds[i];
	if (!d->kind)
		return NULL;
	d->name = w + strlen(d->kind->word);
	if (*d->name == '"') {
		const char *q = strchr(d->name + 1, '"');
		if (!q)
			return NULL;
		d->name_len = (size_t)(q + 1 - d->name);
	} else {
		d->name_len = strcspn(d->name, " {\n");
	}
	if (!d->name_len)
		return NULL;
	const char *end = line_end(line);
	/* a block opened on this line and not closed on it ends at "\t}" */
	if (end - line >= 2 && strncmp(end - 2, "{\n", 2) == 0) {
		const char *s = end;
		while (*s && strncmp(s, "\t}\n", 3) != 0)
			s = line_end(s);
		if (!*s)
			return NULL;
		end = s + 3;
	}
	d->text = line;
	d->text_len = (size_t)(end - line);
	return end;
}

/* Calls FN(D, ARG) for every declaration in the table block of TABLE in
 * SCRIPT; -1 when there is no such block or it holds something not known
 * here (or FN returns -1), else 0. */
static int decl_each(const char *script, const char *table,
		     int (*fn)(const struct decl *d, void *arg), void *arg)
{
	const char *s = table_body(script, table);
	if (!s)
		return -1;
	while (*s && *s != '}') {
		struct decl d;
		if (s[0] == '\n' || (s[0] == '\t' && s[1] == '#')) {
			s = line_end(s);
			continue;
		}
		if (s[0] != '\t' || !(s = decl_read(s, &d)) || fn(&d, arg) < 0)
			return -1;
	}
	return *s == '}' ? 0 : -1; /* an unclosed block is not ours */
}

/* decl_each() state of ruleset_nft_teardown(). */
struct teardown {
	const char *table, *next;
	FILE *cmds[DECL_GROUPS]; /* the delete commands of each group */
	const struct decl *want; /* decl_same(): the declaration looked for */
	bool same;
};

static int decl_same(const struct decl *d, void *arg)
{
	struct teardown *t = arg;
	if (d->kind == t->want->kind && d->name_len == t->want->name_len &&
	    !memcmp(d->name, t->want->name, d->name_len))
		t->same = d->text_len == t->want->text_len &&
			  !memcmp(d->text, t->want->text, d->text_len);
	return 0;
}

static int decl_delete(const struct decl *d, void *arg)
{
	struct teardown *t = arg;
	if (strcmp(d->kind->word, "ct timeout ") == 0) {
		t->want = d;
		t->same = false;
		decl_each(t->next, t->table, decl_same, t);
		if (t->same) /* declared again unchanged: the object stays */
			return 0;
	}
	fprintf(t->cmds[d->kind->group], "delete %sinet %s %.*s\n",
		d->kind->word, t->table, (int)d->name_len, d->name);
	return 0;
}

char *ruleset_nft_teardown(const char *table, const char *installed,
			   const char *next)
{
	struct teardown t = {table, next, {NULL}, NULL, false};
	char *text[DECL_GROUPS] = {NULL}, *out = NULL;
	size_t len[DECL_GROUPS];
	for (int g = 0; g < DECL_GROUPS; g++)
		if (!(t.cmds[g] = open_memstream(&text[g], &len[g])))
			fatal("ruleset_nft_teardown: open_memstream");
	int rc = decl_each(installed, table, decl_delete, &t);
	/* NEXT must be a ruleset of the same table too */
	if (rc == 0 && !table_body(next, table))
		rc = -1;
	for (int g = 0; g < DECL_GROUPS; g++)
		fclose(t.cmds[g]);
	if (rc == 0)
		out = xasprintf("flush table inet %s\n%s%s%s%s", table,
				text[0], text[1], text[2], text[3]);
	for (int g = 0; g < DECL_GROUPS; g++)
		free(text[g]);
	return out;
}
