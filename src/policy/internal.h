/*
 * internal.h — declarations shared inside the policy library only.
 */
#ifndef SLUICE_POLICY_INTERNAL_H
#define SLUICE_POLICY_INTERNAL_H

#include "policy/policy.h"

#include <stdarg.h>

/* addr.c */
int addrset_parse_elem(struct addrset *s, const char *text, char **err);
void addrset_normalize(struct addrset *s);
void addrset_add(struct addrset *dst, const struct addrset *src);
void addrset_fill(struct addrset *s);
void addrset_complement(const struct addrset *in, struct addrset *out);
bool addrset_covers(const struct addrset *a, const struct addrset *b);
bool addrset_empty(const struct addrset *s);
void addrset_free(struct addrset *s);

/* lex.c: the tokenizer. Words are maximal runs of characters other than
 * white space, braces, quotes, ';' and '#'; the parser gives them meaning by
 * position. */
enum tok_kind { TK_EOF, TK_WORD, TK_STRING, TK_LBRACE, TK_RBRACE, TK_SEMI };

struct token {
	enum tok_kind kind;
	char *text; /* word or string contents (escapes resolved) */
	struct loc loc;
	bool line_start; /* first token on its line */
};

struct lexer {
	const char *src, *end, *p;
	const char *file;
	int line, col;
	bool at_line_start;
	struct diags *d;
};

void lexer_init(struct lexer *lx, const char *file, const char *src,
		size_t len, struct diags *d);
/* Reads the next token into T (T->text is allocated; caller frees). */
void lexer_next(struct lexer *lx, struct token *t);

/* parse.c */
int parse_policy_text(struct policy *p, const char *file, const char *text,
		      size_t len, int depth);

/* diag.c: moving a load's messages to the caller (policy_load). */
/* diags_add() with the arguments in AP. */
void diags_vadd(struct diags *d, enum diag_sev sev, const struct loc *loc,
		const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
void diags_copy(struct diags *to, const struct diags *from);
void diags_clear_messages(struct diags *d);

/* settings.c */
void settings_defaults(struct policy *p);

/* validate.c: whole-policy validation after parsing (endpoints, settings'
 * cross-references, shadowing); diagnostics go to P->diags. */
void policy_validate(struct policy *p);
/* shadow.c: warns (P->diags) of every rule that can never match: a side
 * empty, or an earlier rule covering it (rule_covers). Needs the rules'
 * compiled addresses (policy_validate runs it). */
void policy_warn_shadowed(struct policy *p);
/* The checks of interface bindings and nat rules (netbind.c); run by
 * policy_validate once `external` is known. Diagnostics go to P->diags. */
void policy_validate_nets(struct policy *p);
/* True when every session rule B could match (every flow and facts) is
 * matched by rule A: with A before B, B never decides. Exact on the
 * engine's dimensions: protocols and ports, both sides' addresses and
 * domain sets, users, schedule. May say false for a cover it cannot prove
 * (never true for one that does not hold: tests/unit/test_covers.c). */
bool rule_covers(const struct rule *a, const struct rule *b);

/* ivtree.c: which of a fixed set of inclusive ranges hold a point. */
struct ivrange {
	u128 lo, hi; /* inclusive */
	uint32_t id; /* the caller's */
};
struct ivnode;
struct ivtree {
	struct ivnode *nodes;
	size_t nnodes;
	struct ivrange *by_lo, *by_hi; /* each node's ranges, two orders */
	size_t n;
	long root; /* -1 = empty */
};
/* Builds T from the N ranges of V (V is reordered; T keeps copies). */
void ivtree_build(struct ivtree *t, struct ivrange *v, size_t n);
/* Calls HIT(id, ARG) once for every range holding P, in no order. */
void ivtree_stab(const struct ivtree *t, u128 p,
		 void (*hit)(uint32_t id, void *arg), void *arg);
void ivtree_free(struct ivtree *t);

/* model.c */
int merge_portranges(struct portrange *v, size_t n);
int merge_minranges(struct minrange *v, size_t n);

/* eval.c: shared by the linear evaluator and the compiled engine. */
bool rule_decide(const struct rule *r, const struct flow *f,
		 const struct facts *facts, struct decision *out);
/* The decision when no rule matched: deny, by no rule, needing nothing. */
void decide_no_rule(struct decision *out);
void decide_matched(const struct rule *r, const struct flow *f,
		    const struct facts *facts, struct decision *out);

/* Domain names: lower case and no trailing dot. */
void name_normalize(char *s);

#endif
