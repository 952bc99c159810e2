/*
 * settings.h — the service settings blocks as tables: one row a key, with
 * its type, where it lands, its range, its default and what a reload does
 * with a change (applied, or kept until a restart and said so). The parser
 * reads any block through its table; docs/sluice.conf.5 lists the same
 * rows.
 */
#ifndef SLUICE_POLICY_SETTINGS_H
#define SLUICE_POLICY_SETTINGS_H

#include "policy/policy.h"

enum setting_type {
	ST_UINT,	/* a whole number */
	ST_PERCENT,	/* 0..100, "10%" or "10" */
	ST_DURATION_MS, /* 30s, 500ms, 5m, 1h; stored in ms */
	ST_DURATION_S,	/* the same, stored in s */
	ST_STRING,	/* a word or "string" */
	ST_STRLIST,	/* words, or { words } */
	ST_STATUSLIST,	/* HTTP status codes and ranges */
	ST_BOOL,	/* yes/no */
	ST_FLAG,	/* the key alone sets it */
	ST_ENUM,	/* one of enums[], stored as int */
	ST_MODE,	/* file permission bits in octal (0660), as uint32 */
	ST_RATE,	/* N/UNIT, UNIT = enums[0] ("s", "min"); stored as N */
	/* new types go last (tests/docs/tables_dump.c names each) */
};

/* How a setting type is stored in its field: the one mapping from the
 * types above to C types (settings.c setting_storage). */
enum setting_storage {
	SS_U32,	    /* uint32_t */
	SS_BOOL,    /* bool */
	SS_INT,	    /* int (an enum's index) */
	SS_STRING,  /* char *, NULL = unset */
	SS_STRLIST, /* char **, count at off2 (size_t) */
	SS_RANGES,  /* struct portrange *, count at off2 (size_t) */
};

/* What a reload of sluiced does with a changed value of a row. Every row
 * says which (tests/unit/test_settings.c fails on a row left
 * RELOAD_UNSET): a setting is never silently ignored on reload. */
enum setting_reload {
	RELOAD_UNSET = 0, /* not decided yet: refused by the unit test */
	RELOAD_LIVE,	  /* the running sluiced applies it */
	RELOAD_RESTART,	  /* sluiced reads it at its start only: a reload that
			   * changes it keeps the running value and names the
			   * setting in its reply (settings_reload_pin) */
};

/* What a string row names when it is a file sluiced or sluice-portal
 * reads (validate.c check_files holds every such row to it). */
enum setting_file {
	SF_NONE = 0, /* not a file that must exist (or one sluiced makes) */
	SF_READ,     /* read: a missing file or a directory is a warning */
	SF_SECRET,   /* a secret (a password, a key): as SF_READ, and an
		      * error when others may read or write it or its group
		      * write it (chmod 600 or 640), or it is no regular file
		      * (a FIFO would block the read) */
	SF_EXEC,     /* a command: its first word the program sluiced runs
		      * (no PATH search): as SF_READ, and an error when its
		      * group or others may write it; a warning when others
		      * may not execute it (a notify runs as nobody); an
		      * empty command (none) is not checked */
	/* every kind: a relative path is an error (sluiced runs from /) */
};

struct setting {
	const char *key;
	enum setting_type type;
	size_t off;  /* field offset in the block's base struct */
	size_t off2; /* the count field for lists */
	uint32_t min, max;
	const char *const *enums;
	const char *help;
	/* The default, stored as settings_apply_defaults() does: numbers in
	 * the field's unit, an enum's index, a bool 0/1. Strings and lists
	 * have none (NULL / empty). */
	uint32_t def;
	enum setting_reload reload;
	/* sluice-portal reads it at its own start (it has no reload): a
	 * reload of a policy with a portal that changes it says so */
	bool portal;
	/* A valid value other than the default, as a policy writes it:
	 * needed by every string and list row of a block (the unit test
	 * checks; numbers are changed by tests without one). Paths are
	 * under /etc/sluice/. */
	const char *example;
	enum setting_file file;
};

struct settings_block {
	const char *name;
	int id;
	const struct setting *table; /* ends with a NULL key */
};

extern const struct setting verify_settings[];
/* The options of an `alert` statement (base: struct alert_def). */
extern const struct setting alert_settings[];

/* The row of TABLE named KEY, or NULL. */
const struct setting *setting_find(const struct setting *table,
				   const char *key);
/* The keys of TABLE, comma separated (a static buffer). */
const char *setting_names(const struct setting *table);
/* The block named NAME (decisions, resolver, ...); NULL if none. */
const struct settings_block *settings_block_find(const char *name);
/* Every block, NULL-terminated, for documentation and dumps. */
const struct settings_block *settings_blocks(void);
/* How fields of type T are stored. */
enum setting_storage setting_storage(enum setting_type t);
/* The number held by row S's field in BASE: a uint32 as is, a bool 0/1, an
 * enum's index. 0 for string and list rows. */
uint32_t setting_get(const struct setting *s, const void *base);
/* Stores V into row S's field in BASE in the field's own type (see
 * setting_get); string and list rows are left as they are. */
void setting_set(const struct setting *s, void *base, uint32_t v);
/* Stores the default of every row of TABLE into BASE (the table's base
 * struct). String and list fields are left as they are. */
void settings_apply_defaults(const struct setting *table, void *base);
/* The default of row KEY of TABLE (0 when there is no such row). */
uint32_t setting_default(const struct setting *table, const char *key);
/* Zeroes V and stores the defaults of verify_settings: a spec as the
 * parser starts every verifier and farm check. */
void verify_spec_init(struct verify_spec *v);

/* True when row S's field holds the same value in A and B (two bases of
 * the row's struct): numbers, strings (NULL = unset) and lists compared
 * element by element. */
bool setting_equal(const struct setting *s, const void *a, const void *b);
/* Writes row S's value in BASE into BUF (LEN bytes, cut to fit, always
 * terminated) as a policy writes it: 3000ms, 300s, 10%, 600/min, 0600, an
 * enum's word, yes/no, a string as is, list elements separated by one
 * space; "" for an unset string or an empty list. Returns BUF. */
const char *setting_format(const struct setting *s, const void *base,
			   char *buf, size_t len);

/* Called by settings_reload_pin for a changed row S of block B that the
 * running daemon does not apply: WHY is RELOAD_RESTART (sluiced keeps
 * RUNNING and needs a restart for ASKED), or RELOAD_LIVE when only
 * sluice-portal (which reads it at its start) needs a restart. */
typedef void (*settings_change_fn)(void *arg, const struct settings_block *b,
				   const struct setting *s,
				   enum setting_reload why, const char *asked,
				   const char *running);
/*
 * What a reload from policy OLD to policy P cannot apply, by the rows of
 * every block: each RELOAD_RESTART row whose value differs is reported to
 * FN and gets OLD's value back in P (so P holds what runs; these rows are
 * numbers: the unit test checks); each `portal` row that differs, when
 * either policy has portal { listen }, is reported too. Returns the number
 * of rows reported.
 */
size_t settings_reload_pin(struct policy *p, const struct policy *old,
			   settings_change_fn fn, void *arg);

#endif
