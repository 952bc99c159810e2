/*
 * tables_dump.c — prints the code's settings and counters tables, one row a
 * line, tab-separated, for tests/docs/check_tables.py to hold the docs'
 * tables (docs/sluice.conf.5.md, docs/counters.md) to:
 *
 *   setting BLOCK KEY TYPE MIN MAX DEFAULT ENUMS RELOAD EXAMPLE FILE
 *   counter NAME TYPE UNIT HELP HEALTHY SOURCE THRESHOLD
 *
 * TYPE of a setting is its enum setting_type name; MIN/MAX/DEFAULT are in
 * the field's unit (ms, s, a number, an enum's index, a bool 0/1); ENUMS
 * the enum's words, comma separated ("" for others); RELOAD what a
 * reload does with it as the docs' `reload` column says: "yes", "restart",
 * or "yes; sluice-portal: restart" (a row sluice-portal reads too);
 * EXAMPLE the row's example value ("" for none; tests/kernel/57 writes
 * it into a policy); FILE what the row names (settings.h enum
 * setting_file): "", "file", "secret" or "exec". BLOCK `verifier` is
 * the options of `verifier` and a farm's `verify`; BLOCK `alert` the
 * options of an `alert` statement.
 */
#include "policy/settings.h"
#include "stats/counters.h"

#include <stdio.h>

static const char *const type_names[] = {
    [ST_UINT] = "uint",	      [ST_PERCENT] = "percent",
    [ST_DURATION_MS] = "ms",  [ST_DURATION_S] = "s",
    [ST_STRING] = "string",   [ST_STRLIST] = "strlist",
    [ST_STATUSLIST] = "statuslist", [ST_BOOL] = "bool",
    [ST_FLAG] = "flag",	      [ST_ENUM] = "enum",
    [ST_MODE] = "mode",	      [ST_RATE] = "rate",
};
/* a new setting type (appended to enum setting_type) needs its name here */
_Static_assert(sizeof(type_names) / sizeof(type_names[0]) == ST_RATE + 1,
	       "type_names: one name per enum setting_type");

static const char *const file_names[] = {
    [SF_NONE] = "", [SF_READ] = "file", [SF_SECRET] = "secret",
    [SF_EXEC] = "exec",
};
_Static_assert(sizeof(file_names) / sizeof(file_names[0]) == SF_EXEC + 1,
	       "file_names: one name per enum setting_file");

/* The docs' `reload` cell of row S (an undecided row: "?", which no docs
 * cell matches). */
static const char *reload_word(const struct setting *s)
{
	if (s->reload == RELOAD_RESTART)
		return "restart";
	if (s->reload != RELOAD_LIVE)
		return "?";
	return s->portal ? "yes; sluice-portal: restart" : "yes";
}

static void dump_table(const char *block, const struct setting *t)
{
	for (const struct setting *s = t; s->key; s++) {
		printf("setting\t%s\t%s\t%s\t%u\t%u\t%u\t", block, s->key,
		       type_names[s->type], s->min, s->max, s->def);
		for (int i = 0; s->enums && s->enums[i]; i++)
			printf("%s%s", i ? "," : "", s->enums[i]);
		printf("\t%s\t%s\t%s\n", reload_word(s),
		       s->example ? s->example : "", file_names[s->file]);
	}
}

static const char *const stats_type_names[] = {
    [STATS_COUNTER] = "counter", [STATS_GAUGE] = "gauge",
    [STATS_HISTOGRAM] = "histogram",
};

int main(void)
{
	for (const struct settings_block *b = settings_blocks(); b->name; b++)
		dump_table(b->name, b->table);
	dump_table("verifier", verify_settings);
	dump_table("alert", alert_settings);
	for (const struct stats_counter *c = stats_counters; c->name; c++)
		printf("counter\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c->name,
		       stats_type_names[c->type], c->unit, c->help,
		       c->healthy, c->source, stats_threshold_text(c));
	return 0;
}
