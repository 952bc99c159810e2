/*
 * lex.c — tokenizer for sluice.conf.
 *
 * The language has no reserved punctuation but braces, quotes, ';' and '#'
 * comments, so addresses (10.1.0.0/16, fd00:1::/64, 10.1.6.1-10.1.6.20),
 * port ranges, days (mon-fri) and times (08:00-18:00) are single words.
 */
#include "policy/internal.h"
#include "common/util.h"

#include <ctype.h>
#include <string.h>

void lexer_init(struct lexer *lx, const char *file, const char *src,
		size_t len, struct diags *d)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = lx->p = src;
	lx->end = src + len;
	lx->file = file;
	lx->line = 1;
	lx->col = 1;
	lx->at_line_start = true;
	lx->d = d;
}

/* Advances one character, keeping line and column. */
static void adv(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
		lx->at_line_start = true;
	} else {
		lx->col++;
	}
	lx->p++;
}

static bool is_word_char(char c)
{
	return c && !isspace((unsigned char)c) && c != '{' && c != '}' &&
	       c != '"' && c != '#' && c != ';';
}

/* Skips white space and comments. */
static void skip_blank(struct lexer *lx)
{
	while (lx->p < lx->end) {
		if (isspace((unsigned char)*lx->p)) {
			adv(lx);
		} else if (*lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				adv(lx);
		} else {
			break;
		}
	}
}

/* Reads a quoted string; the opening quote is at lx->p. */
static char *read_string(struct lexer *lx, const struct loc *start)
{
	size_t cap = 16, n = 0;
	char *s = xmalloc(cap);

	adv(lx);
	for (;;) {
		if (lx->p >= lx->end || *lx->p == '\n') {
			diags_add(lx->d, DIAG_ERROR, start,
				  "unterminated string");
			break;
		}
		char c = *lx->p;
		if (c == '"') {
			adv(lx);
			break;
		}
		if (c == '\\' && lx->p + 1 < lx->end &&
		    (lx->p[1] == '"' || lx->p[1] == '\\')) {
			adv(lx);
			c = *lx->p;
		}
		if (c == '\0') {
			diags_add(lx->d, DIAG_ERROR, start,
				  "NUL byte in string");
			c = '?';
		}
		if (n + 2 > cap)
			s = xrealloc(s, cap *= 2);
		s[n++] = c;
		adv(lx);
	}
	s[n] = '\0';
	return s;
}

void lexer_next(struct lexer *lx, struct token *t)
{
again:
	skip_blank(lx);
	memset(t, 0, sizeof(*t));
	t->loc.file = lx->file;
	t->loc.line = lx->line;
	t->loc.col = lx->col;
	t->line_start = lx->at_line_start;
	lx->at_line_start = false;
	if (lx->p >= lx->end) {
		t->kind = TK_EOF;
		t->text = xstrdup("end of file");
		return;
	}
	switch (*lx->p) {
	case '{':
		t->kind = TK_LBRACE;
		t->text = xstrdup("{");
		adv(lx);
		return;
	case '}':
		t->kind = TK_RBRACE;
		t->text = xstrdup("}");
		adv(lx);
		return;
	case ';':
		t->kind = TK_SEMI;
		t->text = xstrdup(";");
		adv(lx);
		return;
	case '"':
		t->kind = TK_STRING;
		t->text = read_string(lx, &t->loc);
		return;
	}
	const char *start = lx->p;
	while (lx->p < lx->end && is_word_char(*lx->p))
		adv(lx);
	if (lx->p == start) { /* a NUL byte: report and skip it */
		diags_add(lx->d, DIAG_ERROR, &t->loc, "NUL byte in input");
		adv(lx);
		goto again;
	}
	t->kind = TK_WORD;
	t->text = xstrndup(start, (size_t)(lx->p - start));
}
