/*
 * parse.c — sluice.conf statements into the model.
 *
 * A recursive-descent parser over the word tokens of lex.c. Names are
 * resolved as they are read (define before use, one namespace for every
 * rule element). Every error is recorded with its location; after an error
 * the parser skips to the next statement keyword at the start of a line, so
 * one run reports every error in the file.
 */
#include "policy/internal.h"
#include "common/htable.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_INCLUDE_DEPTH 16
#define MAX_POLICY_FILE (64u << 20)
/* Files one policy may include in all, and their bytes in all: a tree of
 * includes that fans out (each file including the next twice) stops here,
 * not at the memory's end. */
#define MAX_INCLUDES 256
#define MAX_INCLUDED_BYTES (64u << 20)

/* ---- symbol table: every named element, one namespace ------------------ */

enum sym_kind { SYM_NET, SYM_DOM, SYM_USERS, SYM_PROTO, SYM_SCHED, SYM_FARM,
		SYM_RULE };

struct sym {
	const char *name; /* owned by the element */
	enum sym_kind kind;
	void *ptr;
	struct loc loc;
	struct htable_node hn; /* in its symtab, by name */
};

/* Names to symbols: common/htable.h, its buckets made at the first add (a
 * zeroed symtab is empty). */
struct symtab {
	struct htable h;
};

static uint64_t name_hash(const struct hash_key *hk, const void *key)
{
	return hash_bytes_keyed(hk, key, strlen(key));
}

static bool name_equal(const struct htable_node *n, const void *key)
{
	return strcmp(HTABLE_ENTRY(n, const struct sym, hn)->name, key) == 0;
}

static const struct htable_ops name_ops = {name_hash, name_equal};

static struct sym *sym_find(const struct symtab *t, const char *name)
{
	if (!htable_count(&t->h)) /* also never added to */
		return NULL;
	return HTABLE_ENTRY(htable_find(&t->h, name), struct sym, hn);
}

static void sym_add(struct symtab *t, const char *name, enum sym_kind kind,
		    void *ptr, const struct loc *loc)
{
	if (!t->h.b)
		htable_init(&t->h, &name_ops, 256);
	struct sym *s = xcalloc(1, sizeof(*s));
	s->name = name;
	s->kind = kind;
	s->ptr = ptr;
	s->loc = *loc;
	htable_insert(&t->h, &s->hn, name);
}

static void symtab_free(struct symtab *t)
{
	struct htable_iter it;
	for (struct htable_node *n = htable_first(&t->h, &it); n;
	     n = htable_next(&it)) {
		htable_remove(&t->h, n);
		free(HTABLE_ENTRY(n, struct sym, hn));
	}
	htable_fini(&t->h);
}

/* ---- parser state -------------------------------------------------------- */

struct ctx { /* shared by a file and the files it includes */
	struct policy *p;
	struct diags *d;
	struct symtab syms;  /* rule elements */
	struct symtab rules; /* rule names */
	bool seen_block[16];
	size_t nincludes;      /* files included so far */
	size_t included_bytes; /* their size in all */
	struct { dev_t dev; ino_t ino; } open[MAX_INCLUDE_DEPTH + 1];
	int nopen; /* the files being read, outermost first: cycles */
};

#define LOOKAHEAD 3
struct parser {
	struct ctx *c;
	struct lexer lx;
	struct token la[LOOKAHEAD]; /* la[0] is the current token */
	int depth;
	bool failed; /* an error in the current statement */
};

static void fill(struct parser *ps, int i)
{
	lexer_next(&ps->lx, &ps->la[i]);
}

/* Moves to the next token. */
static void next(struct parser *ps)
{
	free(ps->la[0].text);
	memmove(&ps->la[0], &ps->la[1], sizeof(ps->la[0]) * (LOOKAHEAD - 1));
	fill(ps, LOOKAHEAD - 1);
}

static struct token *cur(struct parser *ps)
{
	return &ps->la[0];
}

static struct token *peek(struct parser *ps, int k)
{
	return &ps->la[k];
}

static bool is_word(const struct token *t, const char *w)
{
	return t->kind == TK_WORD && strcmp(t->text, w) == 0;
}

static const char *describe(const struct token *t)
{
	return t->kind == TK_EOF ? "end of file" : t->text;
}

/* Records an error at token T and marks the statement failed. */
static void __attribute__((format(printf, 3, 4)))
err_at(struct parser *ps, const struct loc *loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diags_vadd(ps->c->d, DIAG_ERROR, loc, fmt, ap);
	va_end(ap);
	ps->failed = true;
}

static void __attribute__((format(printf, 3, 4)))
warn_at(struct parser *ps, const struct loc *loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diags_vadd(ps->c->d, DIAG_WARNING, loc, fmt, ap);
	va_end(ap);
}

/*
 * Option KEY of WHAT seen at LOC, once per PLACE ("block" or "statement"):
 * an error at the repetition naming the first's line when *FIRST already
 * holds where it was given, as a repeated value would silently replace
 * the first (`fail closed fail open`, `during workhours during always`).
 * The one check for every single-valued option of the language; false on
 * a repetition.
 */
static bool given_once(struct parser *ps, struct loc *first,
		       const struct loc *loc, const char *what,
		       const char *key, const char *place)
{
	if (first->line) {
		err_at(ps, loc, "%s %s: set twice in one %s (first at line "
		       "%d); remove one", what, key, place, first->line);
		return false;
	}
	*first = *loc;
	return true;
}

static const char *const stmt_keywords[] = {
    "network", "computers", "domains", "users",	   "protocol", "schedule",
    "rule",    "decisions", "resolver", "directory", "identity", "queue",
    "log",     "metrics",   "verifier", "farm",	   "publish",  "include",
    "alert",   "control",   "nat",     "flood",    "portal",
    "spoofing",
};

static bool is_stmt_keyword(const struct token *t)
{
	if (t->kind != TK_WORD)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(stmt_keywords); i++)
		if (strcmp(t->text, stmt_keywords[i]) == 0)
			return true;
	return false;
}

/* After an error: skips to the next statement keyword that starts a line
 * outside any brace block (or to the end of the file). */
static void recover(struct parser *ps, int nesting)
{
	for (;;) {
		struct token *t = cur(ps);
		if (t->kind == TK_EOF)
			return;
		if (nesting <= 0 && t->line_start && is_stmt_keyword(t))
			return;
		if (t->kind == TK_LBRACE)
			nesting++;
		else if (t->kind == TK_RBRACE)
			nesting--;
		next(ps);
	}
}

/* Expects a word and returns a copy of it, or NULL after an error that
 * names WHAT was expected. */
static char *expect_word(struct parser *ps, const char *what)
{
	struct token *t = cur(ps);
	if (t->kind != TK_WORD) {
		err_at(ps, &t->loc, "expected %s, found '%s'", what,
		       describe(t));
		return NULL;
	}
	char *s = xstrdup(t->text);
	next(ps);
	return s;
}

/* A name: a word or a string. */
static char *expect_name(struct parser *ps, const char *what)
{
	struct token *t = cur(ps);
	if (t->kind == TK_STRING) {
		if (!t->text[0]) {
			err_at(ps, &t->loc, "%s must not be empty", what);
			return NULL;
		}
		char *s = xstrdup(t->text);
		next(ps);
		return s;
	}
	return expect_word(ps, what);
}

/* A word or string value. */
static char *expect_value(struct parser *ps, const char *what)
{
	struct token *t = cur(ps);
	if (t->kind == TK_STRING) {
		char *s = xstrdup(t->text);
		next(ps);
		return s;
	}
	return expect_word(ps, what);
}

static bool expect_kind(struct parser *ps, enum tok_kind k, const char *what)
{
	struct token *t = cur(ps);
	if (t->kind != k) {
		err_at(ps, &t->loc, "expected %s, found '%s'", what,
		       describe(t));
		return false;
	}
	next(ps);
	return true;
}

static const char *const reserved_names[] = {"any", "localhost", "external",
					     "all", "authenticated"};

/* Checks a new element name: syntax, reserved words, duplicates. */
static bool check_new_name(struct parser *ps, const char *name,
			   const struct loc *loc, struct symtab *t,
			   const char *what)
{
	bool ok = isalpha((unsigned char)name[0]) || name[0] == '_';
	for (const char *s = name; ok && *s; s++)
		ok = isalnum((unsigned char)*s) || *s == '_' || *s == '-' ||
		     *s == '.';
	if (!ok && t == &ps->c->syms) {
		err_at(ps, loc,
		       "bad %s name '%s' (a letter, then letters, digits, "
		       "'_', '-', '.')",
		       what, name);
		return false;
	}
	for (size_t i = 0; t == &ps->c->syms && i < ARRAY_SIZE(reserved_names);
	     i++)
		if (strcmp(name, reserved_names[i]) == 0) {
			err_at(ps, loc, "'%s' is a built-in name", name);
			return false;
		}
	struct sym *old = sym_find(t, name);
	if (old) {
		err_at(ps, loc, "duplicate %s name '%s'", what, name);
		diags_add(ps->c->d, DIAG_NOTE, &old->loc,
			  "'%s' was first defined here", name);
		return false;
	}
	return true;
}

/* Levenshtein distance, capped; for "did you mean" hints. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	size_t prev[65], row[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t c = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = row[j - 1] + 1;
			row[j] = c < del ? (c < ins ? c : ins)
					 : (del < ins ? del : ins);
		}
		memcpy(prev, row, sizeof(row[0]) * (lb + 1));
	}
	return prev[lb];
}

/* The closest known name of one of KINDS (bit mask), or NULL. */
static const char *suggest(struct parser *ps, const char *name, unsigned kinds)
{
	const char *best = NULL;
	size_t bd = strlen(name) / 3 + 1;
	const struct symtab *t = &ps->c->syms;
	struct htable_iter it;
	for (struct htable_node *n = htable_first(&t->h, &it); n;
	     n = htable_next(&it)) {
		const struct sym *s = HTABLE_ENTRY(n, struct sym, hn);
		if (!(kinds & (1u << s->kind)))
			continue;
		size_t dd = edit_distance(name, s->name);
		if (dd <= bd &&
		    (!best || dd < bd || strcmp(s->name, best) < 0)) {
			best = s->name;
			bd = dd;
		}
	}
	return best;
}

/* Looks up NAME among KINDS; reports an unknown name (what, hint). */
static struct sym *resolve(struct parser *ps, const char *name,
			   const struct loc *loc, unsigned kinds,
			   const char *what)
{
	struct sym *s = sym_find(&ps->c->syms, name);
	if (s && (kinds & (1u << s->kind)))
		return s;
	if (s) {
		err_at(ps, loc, "'%s' is not a %s", name, what);
		return NULL;
	}
	const char *hint = suggest(ps, name, kinds);
	if (hint)
		err_at(ps, loc, "unknown %s '%s'; did you mean '%s'?", what,
		       name, hint);
	else
		err_at(ps, loc, "unknown %s '%s'", what, name);
	return NULL;
}

/* Reads either one word or a brace list of words, calling FN on each.
 * STOP, if given, ends an unbraced single item list early (never used for
 * braces). Returns false after a syntax error. */
typedef void (*item_fn)(struct parser *ps, struct token *t, void *arg);

static bool each_item(struct parser *ps, const char *what, item_fn fn,
		      void *arg)
{
	struct token *t = cur(ps);
	if (t->kind == TK_LBRACE) {
		next(ps);
		while (cur(ps)->kind != TK_RBRACE) {
			t = cur(ps);
			if (t->kind != TK_WORD && t->kind != TK_STRING) {
				err_at(ps, &t->loc, "expected %s or '}', found '%s'",
				       what, describe(t));
				return false;
			}
			fn(ps, t, arg);
			next(ps);
		}
		next(ps);
		return true;
	}
	if (t->kind != TK_WORD && t->kind != TK_STRING) {
		err_at(ps, &t->loc, "expected %s, found '%s'", what,
		       describe(t));
		return false;
	}
	fn(ps, t, arg);
	next(ps);
	return true;
}

/* ---- numbers, durations -------------------------------------------------- */

/* Parses an unsigned decimal in [min,max]; -1 on error. */
static long parse_uint(const char *s, long min, long max)
{
	char *end;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end || errno || v < min || v > max)
		return -1;
	return v;
}

/* Parses "30s", "500ms", "5m", "1h", "2d" or bare seconds into ms; -1 on
 * error. */
static long long parse_duration_ms(const char *s)
{
	char *end;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || v < 0 || v > 100000000)
		return -1;
	if (!*end || strcmp(end, "s") == 0)
		return v * 1000;
	if (strcmp(end, "ms") == 0)
		return v;
	if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		return v * 60000;
	if (strcmp(end, "h") == 0)
		return v * 3600000;
	if (strcmp(end, "d") == 0)
		return v * 86400000;
	return -1;
}

/* Parses "N" or "N-M" within [0,max] into R; false on error. */
static bool parse_num_range(const char *s, long max, struct portrange *r)
{
	char buf[32];
	const char *dash = strchr(s, '-');
	long a, b;
	if (strlen(s) >= sizeof(buf))
		return false;
	if (dash) {
		memcpy(buf, s, (size_t)(dash - s));
		buf[dash - s] = '\0';
		a = parse_uint(buf, 0, max);
		b = parse_uint(dash + 1, 0, max);
		if (a < 0 || b < 0 || a > b)
			return false;
	} else {
		a = b = parse_uint(s, 0, max);
		if (a < 0)
			return false;
	}
	r->lo = (uint16_t)a;
	r->hi = (uint16_t)b;
	return true;
}

/* ---- rule elements -------------------------------------------------------- */

struct addr_arg {
	struct addrset *set;
	bool is_network;
};

static void netset_item(struct parser *ps, struct token *t, void *arg)
{
	struct addr_arg *a = arg;
	char *err = NULL;
	const char *txt = t->text;

	if (t->kind == TK_WORD && (isalpha((unsigned char)txt[0]) ||
				   txt[0] == '_') && !strchr(txt, ':')) {
		struct sym *s = resolve(ps, txt, &t->loc, 1u << SYM_NET,
					"network or computer set");
		if (s)
			addrset_add(a->set, &((struct netset *)s->ptr)->addrs);
		return;
	}
	if (addrset_parse_elem(a->set, txt, &err) < 0) {
		err_at(ps, &t->loc, "%s", err);
		free(err);
	}
}

/* An interface name as the kernel takes it (IFNAMSIZ - 1 = 15 bytes, no
 * '/', no white space) and as nft can quote it: letters, digits, '_', '-',
 * '.'. "lo" is the gateway itself (localhost), never a network's side. */
static bool iface_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' &&
		    *s != '.')
			return false;
	return true;
}

static void iface_item(struct parser *ps, struct token *t, void *arg)
{
	struct netset *n = arg;
	if (!iface_name_ok(t->text)) {
		err_at(ps, &t->loc, "bad interface name '%s' (1 to 15 letters, "
		       "digits, '_', '-', '.')", t->text);
		return;
	}
	if (strcmp(t->text, "lo") == 0) {
		err_at(ps, &t->loc, "network '%s' on lo: the loopback interface "
		       "is the gateway itself (localhost)", n->name);
		return;
	}
	for (size_t i = 0; i < n->nifaces; i++)
		if (strcmp(n->ifaces[i], t->text) == 0) {
			warn_at(ps, &t->loc, "interface '%s' named twice for "
				"network '%s'", t->text, n->name);
			return;
		}
	VEC_PUSH(n->ifaces, n->nifaces, xstrdup(t->text));
}

/* ... on IFNAME  |  ... on { IFNAME ... }  after a network's addresses. */
static void parse_net_on(struct parser *ps, struct netset *n)
{
	struct loc loc = cur(ps)->loc;
	next(ps);
	if (!n->is_network) {
		err_at(ps, &loc, "computer set '%s': only a network lies behind "
		       "an interface ('network NAME { ... } on IFNAME')",
		       n->name);
		return;
	}
	each_item(ps, "an interface name", iface_item, n);
	if (!ps->failed && !n->nifaces)
		err_at(ps, &loc, "network '%s': 'on' names no interface",
		       n->name);
}

/* network NAME { ADDR ... }  |  computers NAME { ADDR ... } */
static void parse_netset(struct parser *ps, bool is_network)
{
	const char *what = is_network ? "network" : "computer set";
	struct loc loc = cur(ps)->loc;
	char *name = expect_word(ps, "a name");
	if (!name)
		return;
	bool fresh = check_new_name(ps, name, &loc, &ps->c->syms, what);
	struct netset *n = xcalloc(1, sizeof(*n));
	n->name = name;
	n->loc = loc;
	n->is_network = is_network;
	if (cur(ps)->kind != TK_LBRACE) {
		err_at(ps, &cur(ps)->loc, "expected '{' after %s '%s', found '%s'",
		       what, name, describe(cur(ps)));
	} else {
		struct addr_arg a = {&n->addrs, is_network};
		each_item(ps, "an address", netset_item, &a);
		addrset_normalize(&n->addrs);
		if (!ps->failed && addrset_empty(&n->addrs))
			warn_at(ps, &loc, "%s '%s' is empty", what, name);
		if (!ps->failed && is_word(cur(ps), "on"))
			parse_net_on(ps, n);
	}
	VEC_PUSH(ps->c->p->nets, ps->c->p->nnets, n);
	if (fresh)
		sym_add(&ps->c->syms, n->name, SYM_NET, n, &loc);
}

static void domain_item(struct parser *ps, struct token *t, void *arg)
{
	struct domainset *d = arg;
	char *s = t->text;
	bool wild = strncmp(s, "*.", 2) == 0;
	const char *host = wild ? s + 2 : s;
	size_t n = strlen(host);
	bool ok = n > 0 && n <= 253;
	for (const char *c = host; ok && *c; c++)
		ok = isalnum((unsigned char)*c) || *c == '-' || *c == '.' ||
		     *c == '_';
	if (ok && (host[0] == '.' || strstr(host, "..")))
		ok = false;
	if (!ok) {
		err_at(ps, &t->loc,
		       "'%s' is not a domain name (name, or *.name for every "
		       "name below it)",
		       s);
		return;
	}
	char *v = xstrdup(host);
	name_normalize(v);
	if (wild)
		VEC_PUSH(d->suffix, d->nsuffix, v);
	else
		VEC_PUSH(d->exact, d->nexact, v);
}

/* domains NAME { example.com *.example.com } */
static void parse_domains(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *name = expect_word(ps, "a name");
	if (!name)
		return;
	bool fresh = check_new_name(ps, name, &loc, &ps->c->syms,
				    "domain set");
	struct domainset *d = xcalloc(1, sizeof(*d));
	d->name = name;
	d->loc = loc;
	if (cur(ps)->kind != TK_LBRACE)
		err_at(ps, &cur(ps)->loc, "expected '{' after domains '%s'",
		       name);
	else
		each_item(ps, "a domain name", domain_item, d);
	VEC_PUSH(ps->c->p->doms, ps->c->p->ndoms, d);
	if (fresh)
		sym_add(&ps->c->syms, d->name, SYM_DOM, d, &loc);
}

/* users NAME { user alice group staff ... } */
static void parse_users(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *name = expect_word(ps, "a name");
	if (!name)
		return;
	bool fresh = check_new_name(ps, name, &loc, &ps->c->syms, "user set");
	struct userset *u = xcalloc(1, sizeof(*u));
	u->name = name;
	u->loc = loc;
	VEC_PUSH(ps->c->p->usersets, ps->c->p->nusersets, u);
	if (fresh)
		sym_add(&ps->c->syms, u->name, SYM_USERS, u, &loc);
	if (!expect_kind(ps, TK_LBRACE, "'{'"))
		return;
	while (cur(ps)->kind != TK_RBRACE) {
		struct token *t = cur(ps);
		bool user = is_word(t, "user"), group = is_word(t, "group");
		if (!user && !group) {
			err_at(ps, &t->loc,
			       "expected 'user NAME', 'group NAME' or '}', "
			       "found '%s'",
			       describe(t));
			return;
		}
		next(ps);
		char *v = expect_value(ps, user ? "a user name" : "a group name");
		if (!v)
			return;
		if (user)
			VEC_PUSH(u->users, u->nusers, v);
		else
			VEC_PUSH(u->groups, u->ngroups, v);
	}
	next(ps);
	if (!u->nusers && !u->ngroups)
		warn_at(ps, &loc, "user set '%s' is empty: no user matches it",
			name);
}

struct icmp_name {
	const char *name;
	uint8_t v4, v6; /* 255 = none */
};

static const struct icmp_name icmp_names[] = {
    {"echo-reply", 0, 129},
    {"destination-unreachable", 3, 1},
    {"source-quench", 4, 255},
    {"redirect", 5, 137},
    {"echo-request", 8, 128},
    {"router-advertisement", 9, 134},
    {"router-solicitation", 10, 133},
    {"time-exceeded", 11, 3},
    {"parameter-problem", 12, 4},
    {"timestamp-request", 13, 255},
    {"timestamp-reply", 14, 255},
    {"packet-too-big", 255, 2},
    {"neighbor-solicitation", 255, 135},
    {"neighbor-advertisement", 255, 136},
};

struct port_arg {
	struct protocol *p;
};

static void port_item(struct parser *ps, struct token *t, void *arg)
{
	struct protocol *p = ((struct port_arg *)arg)->p;
	struct portrange r;
	bool icmp = p->tr == TR_ICMP || p->tr == TR_ICMPV6;

	if (icmp && !isdigit((unsigned char)t->text[0])) {
		for (size_t i = 0; i < ARRAY_SIZE(icmp_names); i++) {
			if (strcmp(icmp_names[i].name, t->text) != 0)
				continue;
			uint8_t v = p->tr == TR_ICMP ? icmp_names[i].v4
						     : icmp_names[i].v6;
			if (v == 255)
				break;
			r.lo = r.hi = v;
			VEC_PUSH(p->ports, p->nports, r);
			return;
		}
		err_at(ps, &t->loc, "unknown %s type '%s'",
		       transport_name(p->tr), t->text);
		return;
	}
	if (!parse_num_range(t->text, icmp ? 255 : 65535, &r) ||
	    (!icmp && r.lo == 0)) {
		err_at(ps, &t->loc, "bad %s '%s' (%s)",
		       icmp ? "type" : "port", t->text,
		       icmp ? "0..255 or a type name" : "1..65535 or N-M");
		return;
	}
	VEC_PUSH(p->ports, p->nports, r);
}

static const char *const known_filters[] = {FILTER_DNS, FILTER_FTP};

/* protocol NAME tcp|udp [PORTS] [filter F [read-only]] | icmp|icmpv6 [TYPES] */
static void parse_protocol(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *name = expect_word(ps, "a name");
	if (!name)
		return;
	bool fresh = check_new_name(ps, name, &loc, &ps->c->syms, "protocol");
	struct protocol *p = xcalloc(1, sizeof(*p));
	p->name = name;
	p->loc = loc;
	VEC_PUSH(ps->c->p->protos, ps->c->p->nprotos, p);
	if (fresh)
		sym_add(&ps->c->syms, p->name, SYM_PROTO, p, &loc);

	struct token *t = cur(ps);
	if (is_word(t, "tcp"))
		p->tr = TR_TCP;
	else if (is_word(t, "udp"))
		p->tr = TR_UDP;
	else if (is_word(t, "icmp"))
		p->tr = TR_ICMP;
	else if (is_word(t, "icmpv6"))
		p->tr = TR_ICMPV6;
	else {
		err_at(ps, &t->loc,
		       "expected tcp, udp, icmp or icmpv6, found '%s'",
		       describe(t));
		return;
	}
	next(ps);
	t = cur(ps);
	bool icmp = p->tr == TR_ICMP || p->tr == TR_ICMPV6;
	bool has_spec = t->kind == TK_LBRACE ||
			(t->kind == TK_WORD && !is_word(t, "filter") &&
			 !is_stmt_keyword(t) &&
			 (isdigit((unsigned char)t->text[0]) || icmp));
	if (has_spec) {
		struct port_arg a = {p};
		if (!each_item(ps, icmp ? "an ICMP type" : "a port", port_item,
			       &a))
			return;
		p->nports = (size_t)merge_portranges(p->ports, p->nports);
	}
	if (is_word(cur(ps), "filter")) {
		next(ps);
		struct loc floc = cur(ps)->loc;
		char *f = expect_word(ps, "a filter name");
		if (!f)
			return;
		bool known = false;
		char list[64] = "";
		for (size_t i = 0; i < ARRAY_SIZE(known_filters); i++) {
			known = known || strcmp(f, known_filters[i]) == 0;
			strncat(list, i ? ", " : "",
				sizeof(list) - strlen(list) - 1);
			strncat(list, known_filters[i],
				sizeof(list) - strlen(list) - 1);
		}
		if (!known)
			err_at(ps, &floc,
			       "unknown application filter '%s' (known: %s)",
			       f, list);
		p->filter = f;
		if (is_word(cur(ps), "read-only")) {
			if (strcmp(f, FILTER_FTP) != 0)
				err_at(ps, &cur(ps)->loc,
				       "read-only belongs to filter ftp");
			p->filter_read_only = true;
			next(ps);
		}
	}
}

static const char *const day_names[7][2] = {
    {"mon", "monday"},	 {"tue", "tuesday"}, {"wed", "wednesday"},
    {"thu", "thursday"}, {"fri", "friday"},   {"sat", "saturday"},
    {"sun", "sunday"},
};

static int day_index(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		for (int k = 0; k < 2; k++)
			if (strlen(day_names[i][k]) == n &&
			    strncmp(day_names[i][k], s, n) == 0)
				return i;
	return -1;
}

/* Parses "mon-fri", "sat,sun", "daily", "weekdays" into a day mask. */
static int parse_days(const char *s)
{
	if (strcmp(s, "daily") == 0 || strcmp(s, "every-day") == 0)
		return 0x7f;
	if (strcmp(s, "weekdays") == 0)
		return 0x1f;
	if (strcmp(s, "weekends") == 0)
		return 0x60;
	int mask = 0;
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		const char *dash = memchr(s, '-', len);
		int a, b;
		if (dash) {
			a = day_index(s, (size_t)(dash - s));
			b = day_index(dash + 1, len - (size_t)(dash - s) - 1);
		} else {
			a = b = day_index(s, len);
		}
		if (a < 0 || b < 0)
			return -1;
		for (int d = a;; d = (d + 1) % 7) { /* fri-mon wraps */
			mask |= 1 << d;
			if (d == b)
				break;
		}
		s += len;
		if (*s == ',')
			s++;
	}
	return mask;
}

/* Parses "HH:MM" (00:00..24:00) into minutes; -1 on error. */
static int parse_hhmm(const char *s, size_t n)
{
	if (n != 5 || s[2] != ':' || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m))
		return -1;
	return h * 60 + m;
}

int parse_week_time(const char *s)
{
	const char *sp = strchr(s, ' ');
	if (!sp)
		return -1;
	int d = day_index(s, (size_t)(sp - s));
	while (*sp == ' ')
		sp++;
	int m = parse_hhmm(sp, strlen(sp));
	if (d < 0 || m < 0 || m >= 1440)
		return -1;
	return d * 1440 + m;
}

static void add_minutes(struct schedule *s, int from, int to)
{
	struct minrange r = {(uint16_t)from, (uint16_t)(to - 1)};
	VEC_PUSH(s->v, s->n, r);
}

/* schedule NAME { DAYS [HH:MM-HH:MM] ... } */
static void parse_schedule(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *name = expect_word(ps, "a name");
	if (!name)
		return;
	bool fresh = check_new_name(ps, name, &loc, &ps->c->syms, "schedule");
	struct schedule *s = xcalloc(1, sizeof(*s));
	s->name = name;
	s->loc = loc;
	VEC_PUSH(ps->c->p->scheds, ps->c->p->nscheds, s);
	if (fresh)
		sym_add(&ps->c->syms, s->name, SYM_SCHED, s, &loc);
	if (!expect_kind(ps, TK_LBRACE, "'{'"))
		return;
	while (cur(ps)->kind != TK_RBRACE) {
		struct token *t = cur(ps);
		if (t->kind != TK_WORD) {
			err_at(ps, &t->loc, "expected days (e.g. mon-fri) or "
			       "'}', found '%s'", describe(t));
			return;
		}
		int days = parse_days(t->text);
		if (days < 0) {
			err_at(ps, &t->loc, "bad days '%s' (mon..sun, ranges "
			       "like mon-fri, lists like sat,sun, daily)",
			       t->text);
			return;
		}
		next(ps);
		int from = 0, to = 1440;
		t = cur(ps);
		if (t->kind == TK_WORD && isdigit((unsigned char)t->text[0])) {
			const char *dash = strchr(t->text, '-');
			from = dash ? parse_hhmm(t->text,
						 (size_t)(dash - t->text))
				    : -1;
			to = dash ? parse_hhmm(dash + 1, strlen(dash + 1)) : -1;
			if (from < 0 || to < 0 || from == to || from == 1440) {
				err_at(ps, &t->loc, "bad time range '%s' "
				       "(HH:MM-HH:MM, 00:00..24:00)", t->text);
				return;
			}
			next(ps);
		}
		for (int d = 0; d < 7; d++) {
			if (!(days & (1 << d)))
				continue;
			int base = d * 1440;
			if (from < to) {
				add_minutes(s, base + from, base + to);
			} else { /* past midnight into the next day */
				add_minutes(s, base + from, base + 1440);
				if (to > 0) {
					int nb = ((d + 1) % 7) * 1440;
					add_minutes(s, nb, nb + to);
				}
			}
		}
	}
	next(ps);
	s->n = (size_t)merge_minranges(s->v, s->n);
	if (!s->n)
		warn_at(ps, &loc, "schedule '%s' is empty: it never applies",
			name);
}

/* ---- rules ----------------------------------------------------------------- */

struct side_arg {
	struct endpoint *e;
	bool dst;
};

static void side_item(struct parser *ps, struct token *t, void *arg)
{
	struct side_arg *a = arg;
	struct endpoint *e = a->e;
	const char *w = t->text;
	char *err = NULL;

	if (strcmp(w, "any") == 0) {
		e->any = true;
	} else if (strcmp(w, "localhost") == 0) {
		e->local = true;
	} else if (strcmp(w, "external") == 0) {
		e->external = true;
	} else if (isdigit((unsigned char)w[0]) || strchr(w, ':')) {
		if (addrset_parse_elem(&e->literal, w, &err) < 0) {
			err_at(ps, &t->loc, "%s", err);
			free(err);
		}
	} else {
		unsigned kinds = (1u << SYM_NET) | (a->dst ? 1u << SYM_DOM : 0);
		struct sym *s = resolve(ps, w, &t->loc, kinds,
					a->dst ? "network, computer set or "
						 "domain set"
					       : "network or computer set");
		if (!s) {
			struct sym *d = sym_find(&ps->c->syms, w);
			if (d && d->kind == SYM_DOM && !a->dst)
				diags_add(ps->c->d, DIAG_NOTE, &t->loc,
					  "domain sets match destinations only");
			return;
		}
		if (s->kind == SYM_NET) {
			struct netset *n = s->ptr;
			n->used = true;
			VEC_PUSH(e->sets, e->nsets, n);
		} else {
			struct domainset *d = s->ptr;
			d->used = true;
			VEC_PUSH(e->doms, e->ndoms, d);
		}
	}
}

static void proto_item(struct parser *ps, struct token *t, void *arg)
{
	struct rule *r = arg;
	if (strcmp(t->text, "any") == 0)
		return;
	struct sym *s = resolve(ps, t->text, &t->loc, 1u << SYM_PROTO,
				"protocol");
	if (s) {
		struct protocol *p = s->ptr;
		p->used = true;
		VEC_PUSH(r->protos, r->nprotos, p);
	}
}

struct user_arg {
	struct rule *r;
	bool all; /* `all` was named: anyone, identified or not */
};

static void user_item(struct parser *ps, struct token *t, void *arg)
{
	struct user_arg *ua = arg;
	struct rule *r = ua->r;
	if (strcmp(t->text, "all") == 0) {
		ua->all = true;
		return;
	}
	if (strcmp(t->text, "authenticated") == 0) {
		r->users_auth = true;
		return;
	}
	struct sym *s = resolve(ps, t->text, &t->loc, 1u << SYM_USERS,
				"user set");
	if (s) {
		struct userset *u = s->ptr;
		u->used = true;
		VEC_PUSH(r->users, r->nusers, u);
	}
}

/* True when the current `users` word starts a clause of the rule rather than
 * a new `users NAME {` definition. */
static bool users_is_clause(struct parser *ps)
{
	return peek(ps, 1)->kind == TK_LBRACE ||
	       peek(ps, 2)->kind != TK_LBRACE;
}

static void rule_free(struct rule *r);

/* rule NAME allow|deny|reject [PROTOS] from SIDE to SIDE [users U] [during S] [log] */
static void parse_rule(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *name = expect_name(ps, "a rule name");
	if (!name)
		return;
	struct rule *r = xcalloc(1, sizeof(*r));
	r->name = name;
	r->loc = loc;
	bool fresh = check_new_name(ps, name, &loc, &ps->c->rules, "rule");
	struct loc users_at = {0}, during_at = {0}, log_at = {0};
	char what[300];
	snprintf(what, sizeof(what), "rule '%s'", name);

	struct token *t = cur(ps);
	if (is_word(t, "allow"))
		r->action = ACT_ALLOW;
	else if (is_word(t, "deny"))
		r->action = ACT_DENY;
	else if (is_word(t, "reject"))
		r->action = ACT_REJECT;
	else {
		err_at(ps, &t->loc, "expected allow, deny or reject, found '%s'",
		       describe(t));
		goto out;
	}
	next(ps);
	if (!is_word(cur(ps), "from") &&
	    !each_item(ps, "a protocol", proto_item, r))
		goto out;
	if (!is_word(cur(ps), "from")) {
		err_at(ps, &cur(ps)->loc, "expected 'from', found '%s'",
		       describe(cur(ps)));
		goto out;
	}
	next(ps);
	struct side_arg sa = {&r->src, false};
	if (!each_item(ps, "a source", side_item, &sa))
		goto out;
	if (!is_word(cur(ps), "to")) {
		err_at(ps, &cur(ps)->loc, "expected 'to', found '%s'",
		       describe(cur(ps)));
		goto out;
	}
	next(ps);
	struct side_arg da = {&r->dst, true};
	if (!each_item(ps, "a destination", side_item, &da))
		goto out;
	for (;;) {
		t = cur(ps);
		if (is_word(t, "users") && users_is_clause(ps)) {
			given_once(ps, &users_at, &t->loc, what, "users",
				   "statement");
			next(ps);
			struct user_arg ua = {r, false};
			if (!each_item(ps, "a user set", user_item, &ua))
				goto out;
			r->needs_identity =
			    !ua.all && (r->nusers || r->users_auth);
		} else if (is_word(t, "during")) {
			given_once(ps, &during_at, &t->loc, what, "during",
				   "statement");
			next(ps);
			struct loc sloc = cur(ps)->loc;
			char *s = expect_word(ps, "a schedule");
			if (!s)
				goto out;
			struct sym *sy = resolve(ps, s, &sloc, 1u << SYM_SCHED,
						 "schedule");
			if (sy) {
				r->sched = sy->ptr;
				r->sched->used = true;
			}
			free(s);
		} else if (is_word(t, "log") && peek(ps, 1)->kind != TK_LBRACE) {
			given_once(ps, &log_at, &t->loc, what, "log",
				   "statement");
			r->log = true;
			next(ps);
		} else {
			break;
		}
	}
	t = cur(ps);
	if (t->kind == TK_SEMI) {
		next(ps);
	} else if (t->kind != TK_EOF && !is_stmt_keyword(t)) {
		err_at(ps, &t->loc, "unexpected '%s' in rule '%s' (expected "
		       "users, during, log or a new statement)",
		       describe(t), name);
	}
out:
	if (ps->failed) {
		rule_free(r);
		return;
	}
	r->index = (int)ps->c->p->nrules;
	VEC_PUSH(ps->c->p->rules, ps->c->p->nrules, r);
	if (fresh)
		sym_add(&ps->c->rules, r->name, SYM_RULE, r, &loc);
}

static void rule_free(struct rule *r)
{
	free(r->name);
	free(r->protos);
	free(r->src.sets);
	free(r->src.doms);
	addrset_free(&r->src.literal);
	addrset_free(&r->src.addrs);
	free(r->dst.sets);
	free(r->dst.doms);
	addrset_free(&r->dst.literal);
	addrset_free(&r->dst.addrs);
	free(r->users);
	free(r);
}

/* ---- settings blocks (tables in settings.c) ------------------------------- */

#include "policy/settings.h"

/* Reads one setting value of type S into BASE. */
/* log { file PATH }: its folder must exist and be a folder, at `check`
 * as at start and reload, so that records are never lost silently; PATH
 * itself no symbolic link the writer would refuse (log_file_follows). */
static void check_log_folder(struct parser *ps, const struct loc *loc,
			     const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash) { /* (a new string: PATH may be shorter than ".") */
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	struct stat st;
	if (stat(dir, &st) < 0)
		err_at(ps, loc, "log file: its folder '%s': %s", dir,
		       strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		err_at(ps, loc, "log file: '%s' is not a folder", dir);
	else if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX) &&
		 !log_file_follows(path))
		warn_at(ps, loc,
			"log file: its folder '%s' may be written by users other "
			"than its owner (mode %03o, not sticky): another user "
			"could replace the log between two opens; use a folder "
			"only root or sluiced's user may write, as "
			"/var/log/sluice",
			dir, (unsigned)(st.st_mode & 0777));
	free(dir);
	if (!log_file_follows(path) && lstat(path, &st) == 0 &&
	    S_ISLNK(st.st_mode))
		err_at(ps, loc,
		       "log file: '%s' is a symbolic link, which sluiced does "
		       "not follow (but for /dev/stdout, /dev/stderr, /dev/fd/N "
		       "and /proc/self/fd/N): name the file itself",
		       path);
}

/* True when S, past PREFIX, is a file descriptor's number (1 to 4
 * digits, nothing after). */
static bool fd_name(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(s, prefix, n) != 0)
		return false;
	s += n;
	size_t d = strspn(s, "0123456789");
	return d >= 1 && d <= 4 && s[d] == '\0';
}

bool log_file_follows(const char *path)
{
	return strcmp(path, "/dev/stdout") == 0 ||
	       strcmp(path, "/dev/stderr") == 0 || fd_name(path, "/dev/fd/") ||
	       fd_name(path, "/proc/self/fd/");
}

/* A rate setting (ST_RATE): "N/UNIT" with the row's unit (enums[0]), or a
 * bare N, within the row's range, into FIELD (uint32_t). */
static void parse_rate_value(struct parser *ps, const struct setting *s,
			     void *field, const char *block)
{
	struct token *t = cur(ps);
	const char *unit = s->enums[0];
	char buf[64];
	if (t->kind != TK_WORD) {
		err_at(ps, &t->loc, "%s %s: expected N/%s, found '%s'", block,
		       s->key, unit, describe(t));
		return;
	}
	snprintf(buf, sizeof(buf), "%s", t->text);
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (strcmp(slash + 1, unit) != 0) {
			err_at(ps, &t->loc, "%s %s: '%s': the rate is per %s "
			       "(N/%s)", block, s->key, t->text, unit, unit);
			return;
		}
	}
	long long v = parse_uint(buf, 0, LONG_MAX);
	if (v < (long long)s->min || v > (long long)s->max) {
		err_at(ps, &t->loc, "%s %s: bad value '%s' (%u/%s..%u/%s)",
		       block, s->key, t->text, s->min, unit, s->max, unit);
		return;
	}
	*(uint32_t *)field = (uint32_t)v;
	next(ps);
}

static void parse_setting_value(struct parser *ps,
				const struct setting *table,
				const struct setting *s, void *base,
				const char *block)
{
	struct token *t = cur(ps);
	void *field = (char *)base + s->off;
	long long v;

	switch (s->type) {
	case ST_FLAG:
		*(bool *)field = true;
		return;
	case ST_BOOL: {
		static const char *const yes[] = {"yes", "on", "true"};
		static const char *const no[] = {"no", "off", "false"};
		for (size_t i = 0; i < 3; i++) {
			if (is_word(t, yes[i]) || is_word(t, no[i])) {
				*(bool *)field = is_word(t, yes[i]);
				next(ps);
				return;
			}
		}
		err_at(ps, &t->loc, "%s %s: expected yes or no, found '%s'",
		       block, s->key, describe(t));
		return;
	}
	case ST_ENUM:
		for (int i = 0; s->enums[i]; i++)
			if (is_word(t, s->enums[i])) {
				*(int *)field = i;
				next(ps);
				return;
			}
		{
			char list[256] = "";
			for (int i = 0; s->enums[i]; i++) {
				strncat(list, i ? ", " : "",
					sizeof(list) - strlen(list) - 1);
				strncat(list, s->enums[i],
					sizeof(list) - strlen(list) - 1);
			}
			err_at(ps, &t->loc, "%s %s: expected one of %s, found "
			       "'%s'", block, s->key, list, describe(t));
		}
		return;
	case ST_MODE: {
		char *end = NULL;
		errno = 0;
		unsigned long m = t->kind == TK_WORD && t->text[0] == '0'
				      ? strtoul(t->text, &end, 8) : 0;
		if (!end || *end || errno || m > s->max) {
			err_at(ps, &t->loc, "%s %s: expected octal permission "
			       "bits like 0660, found '%s'", block, s->key,
			       describe(t));
			return;
		}
		*(uint32_t *)field = (uint32_t)m;
		next(ps);
		return;
	}
	case ST_RATE:
		parse_rate_value(ps, s, field, block);
		return;
	case ST_UINT:
	case ST_PERCENT:
	case ST_DURATION_MS:
	case ST_DURATION_S: {
		if (t->kind != TK_WORD) {
			err_at(ps, &t->loc, "%s %s: expected a value, found '%s'",
			       block, s->key, describe(t));
			return;
		}
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", t->text);
		if (s->type == ST_PERCENT) {
			size_t n = strlen(buf);
			if (n && buf[n - 1] == '%')
				buf[n - 1] = '\0';
			v = parse_uint(buf, 0, 100);
		} else if (s->type == ST_UINT) {
			v = parse_uint(buf, 0, LONG_MAX);
		} else {
			v = parse_duration_ms(buf);
			if (v >= 0 && s->type == ST_DURATION_S) {
				if (v % 1000) {
					err_at(ps, &t->loc, "%s %s: '%s' is "
					       "finer than a second", block,
					       s->key, t->text);
					return;
				}
				v /= 1000;
			}
		}
		if (v < 0 || v < (long long)s->min || v > (long long)s->max) {
			const char *unit = s->type == ST_DURATION_MS ? "ms"
					   : s->type == ST_DURATION_S ? "s"
					   : s->type == ST_PERCENT    ? "%"
								      : "";
			err_at(ps, &t->loc, "%s %s: bad value '%s' (%u%s..%u%s)",
			       block, s->key, t->text, s->min, unit, s->max,
			       unit);
			return;
		}
		*(uint32_t *)field = (uint32_t)v;
		next(ps);
		return;
	}
	case ST_STRING: {
		struct loc vloc = t->loc; /* the value's place, before it is read */
		char *val = expect_value(ps, "a value");
		if (val && strcmp(block, "log") == 0 && strcmp(s->key, "file") == 0)
			check_log_folder(ps, &vloc, val);
		if (val) {
			free(*(char **)field);
			*(char **)field = val;
		}
		return;
	}
	case ST_STRLIST:
	case ST_STATUSLIST: {
		/* One word, a brace list, or words up to the next key. */
		bool braced = t->kind == TK_LBRACE;
		if (braced)
			next(ps);
		size_t count = 0;
		for (;; count++) {
			t = cur(ps);
			if (braced && t->kind == TK_RBRACE) {
				next(ps);
				break;
			}
			if (t->kind != TK_WORD && t->kind != TK_STRING)
				break;
			if (!braced && (count > 0 && (setting_find(table, t->text) ||
						  is_stmt_keyword(t))))
				break;
			if (s->type == ST_STRLIST) {
				char ***vp = field;
				size_t *np = (size_t *)((char *)base + s->off2);
				char *val = xstrdup(t->text);
				VEC_PUSH(*vp, *np, val);
			} else {
				struct portrange **vp = field;
				size_t *np = (size_t *)((char *)base + s->off2);
				struct portrange r;
				if (!parse_num_range(t->text, 999, &r) ||
				    r.lo < 100) {
					err_at(ps, &t->loc, "%s %s: bad HTTP "
					       "status '%s' (100..999 or N-M)",
					       block, s->key, t->text);
				} else {
					VEC_PUSH(*vp, *np, r);
				}
			}
			next(ps);
		}
		if (count == 0)
			err_at(ps, &t->loc, "%s %s: expected a value, found '%s'",
			       block, s->key, describe(t));
		return;
	}
	}
}

/* The number of rows of settings TABLE (up to its NULL key). */
static size_t settings_count(const struct setting *table)
{
	size_t n = 0;
	while (table[n].key)
		n++;
	return n;
}

/* A setting S of TABLE seen at LOC in one block or statement (FIRST[row]
 * holds where each row was given): given_once, but lists add up and may
 * repeat. */
static void note_setting(struct parser *ps, const struct setting *table,
			 const struct setting *s, struct loc *first,
			 const struct loc *loc, const char *what,
			 const char *place)
{
	if (s->type == ST_STRLIST || s->type == ST_STATUSLIST)
		return;
	given_once(ps, &first[s - table], loc, what, s->key, place);
}

/* Where each row of TABLE was given in one block or statement: all unset
 * (free() it). */
static struct loc *settings_seen(const struct setting *table)
{
	return xcalloc(settings_count(table) + 1, sizeof(struct loc));
}

/* Reads KEY VALUE pairs of TABLE up to '}' into BASE; a key other than a
 * list's set twice is an error. */
static void parse_settings_body(struct parser *ps, const struct setting *table,
				void *base, const char *block)
{
	if (!expect_kind(ps, TK_LBRACE, "'{'"))
		return;
	struct loc *first = settings_seen(table);
	while (cur(ps)->kind != TK_RBRACE) {
		struct token *t = cur(ps);
		if (t->kind == TK_SEMI) {
			next(ps);
			continue;
		}
		const struct setting *s =
		    t->kind == TK_WORD ? setting_find(table, t->text) : NULL;
		if (!s) {
			err_at(ps, &t->loc, "unknown setting '%s' in %s (known: "
			       "%s)", describe(t), block,
			       setting_names(table));
			free(first);
			return;
		}
		note_setting(ps, table, s, first, &t->loc, block, "block");
		next(ps);
		int errors = ps->c->d->errors;
		struct loc vloc = cur(ps)->loc;
		parse_setting_value(ps, table, s, base, block);
		/* A bad value: report it, skip it, and read on in the block. */
		if (ps->c->d->errors > errors && cur(ps)->loc.line == vloc.line &&
		    cur(ps)->loc.col == vloc.col &&
		    (cur(ps)->kind == TK_WORD || cur(ps)->kind == TK_STRING))
			next(ps);
	}
	free(first);
	next(ps);
}

static void parse_block(struct parser *ps, const char *kw)
{
	const struct settings_block *b = settings_block_find(kw);
	struct loc loc = cur(ps)->loc;
	if (strcmp(kw, "directory") == 0) {
		if (!is_word(cur(ps), "ldap")) {
			err_at(ps, &cur(ps)->loc, "expected 'ldap' after "
			       "directory, found '%s'", describe(cur(ps)));
			return;
		}
		next(ps);
		ps->c->p->directory.enabled = true;
	}
	if (ps->c->seen_block[b->id])
		warn_at(ps, &loc, "second %s block: its settings override the "
			"first", kw);
	ps->c->seen_block[b->id] = true;
	parse_settings_body(ps, b->table, ps->c->p, kw);
}

/* Reads the options of a verify spec (shared by verifier and farm). */
static void parse_verify_opts(struct parser *ps, struct verify_spec *v,
			      const char *what)
{
	struct loc at = cur(ps)->loc; /* the last option: where to warn */
	struct loc *first = settings_seen(verify_settings);
	for (;;) {
		struct token *t = cur(ps);
		const struct setting *s =
		    t->kind == TK_WORD ? setting_find(verify_settings, t->text)
				       : NULL;
		if (!s)
			break;
		at = t->loc;
		note_setting(ps, verify_settings, s, first, &t->loc, what,
			     "statement");
		next(ps);
		int errors = ps->c->d->errors;
		parse_setting_value(ps, verify_settings, s, v, what);
		if (ps->c->d->errors > errors)
			break;
	}
	free(first);
	if (!ps->failed && v->timeout_ms >= v->every_ms)
		warn_at(ps, &at, "%s: timeout should be shorter "
			"than the interval", what);
}

/* The options of a dns check (verifier or farm verify) at LOC: a name to
 * ask for, and an `answer` of the family of its `type`. */
static void check_dns_opts(struct parser *ps, const struct loc *loc,
			   const struct verify_spec *v, const char *what)
{
	if (v->method != VM_DNS)
		return;
	if (!v->qname) {
		err_at(ps, loc, "%s: dns needs 'name NAME'", what);
		return;
	}
	if (!dns_name_ok(v->qname))
		err_at(ps, loc, "%s: '%s' is not a DNS name", what, v->qname);
	if (v->answer) {
		uint32_t a4;
		u128 a6;
		int fam = parse_addr(v->answer, &a4, &a6);
		int want = v->qtype == DNSQ_AAAA ? AF_INET6 : AF_INET;
		if (fam != want)
			err_at(ps, loc, "%s: answer '%s' is not an %s address "
			       "(type %s)", what, v->answer,
			       want == AF_INET ? "IPv4" : "IPv6",
			       v->qtype == DNSQ_AAAA ? "aaaa" : "a");
	}
}

/* Reads METHOD [TARGET]; TARGET may be absent (farm: the member). */
static bool parse_verify_head(struct parser *ps, struct verify_spec *v,
			      bool target_optional)
{
	struct token *t = cur(ps);
	int m = t->kind == TK_WORD ? verify_method_parse(t->text) : -1;
	if (m < 0) {
		char list[128] = "";
		for (int i = 0; i < VM_COUNT; i++) {
			strncat(list, i == 0 ? "" : i + 1 < VM_COUNT ? ", " : " or ",
				sizeof(list) - strlen(list) - 1);
			strncat(list, verify_method_name((enum verify_method)i),
				sizeof(list) - strlen(list) - 1);
		}
		err_at(ps, &t->loc, "expected %s, found '%s'", list,
		       describe(t));
		return false;
	}
	v->method = (enum verify_method)m;
	next(ps);
	t = cur(ps);
	bool has_target = t->kind == TK_STRING ||
			  (t->kind == TK_WORD &&
			   !setting_find(verify_settings, t->text) &&
			   !is_stmt_keyword(t) && t->line_start == false &&
			   (v->method == VM_HTTP || isdigit((unsigned char)t->text[0]) ||
			    strchr(t->text, ':')));
	if (!has_target) {
		if (!target_optional) {
			err_at(ps, &t->loc, "expected the %s to verify, found "
			       "'%s'", v->method == VM_HTTP ? "URL"
				       : v->method == VM_DNS ? "DNS server's address"
							     : "address",
			       describe(t));
			return false;
		}
		return true;
	}
	struct loc tloc = t->loc;
	v->target = xstrdup(t->text);
	next(ps);
	if (v->method == VM_HTTP) {
		if (strncmp(v->target, "http://", 7) &&
		    strncmp(v->target, "https://", 8)) {
			err_at(ps, &tloc, "'%s' is not an http:// or https:// URL",
			       v->target);
			return false;
		}
	} else {
		uint32_t a4;
		u128 a6;
		if (!parse_addr(v->target, &a4, &a6) &&
		    !(target_optional && strcmp(v->target, "*") == 0)) {
			err_at(ps, &tloc, "'%s' is not an address", v->target);
			return false;
		}
	}
	return true;
}

/* verifier NAME METHOD TARGET [options] */
static void parse_verifier(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *name = expect_name(ps, "a verifier name");
	if (!name)
		return;
	struct verifier *v = xcalloc(1, sizeof(*v));
	v->name = name;
	v->loc = loc;
	verify_spec_init(&v->spec);
	VEC_PUSH(ps->c->p->verifiers, ps->c->p->nverifiers, v);
	for (size_t i = 0; i + 1 < ps->c->p->nverifiers; i++)
		if (strcmp(ps->c->p->verifiers[i]->name, name) == 0) {
			err_at(ps, &loc, "duplicate verifier name '%s'", name);
			diags_add(ps->c->d, DIAG_NOTE,
				  &ps->c->p->verifiers[i]->loc,
				  "'%s' was first defined here", name);
		}
	if (!parse_verify_head(ps, &v->spec, false))
		return;
	char what[300];
	snprintf(what, sizeof(what), "verifier '%s'", name);
	parse_verify_opts(ps, &v->spec, what);
	if (!ps->failed && v->spec.method == VM_TCP && !v->spec.port)
		err_at(ps, &loc, "verifier '%s': tcp needs 'port N'", name);
	if (!ps->failed)
		check_dns_opts(ps, &loc, &v->spec, what);
}

/* Parses an address word into FAMILY/V4/V6; false after an error. */
static bool take_addr(struct parser *ps, int *family, uint32_t *v4, u128 *v6)
{
	struct token *t = cur(ps);
	int f = t->kind == TK_WORD ? parse_addr(t->text, v4, v6) : 0;
	if (!f) {
		err_at(ps, &t->loc, "expected an address, found '%s'",
		       describe(t));
		return false;
	}
	*family = f;
	next(ps);
	return true;
}

static bool take_port(struct parser *ps, uint16_t *port)
{
	struct token *t = cur(ps);
	long v = t->kind == TK_WORD ? parse_uint(t->text, 1, 65535) : -1;
	if (v < 0) {
		err_at(ps, &t->loc, "expected a port (1..65535), found '%s'",
		       describe(t));
		return false;
	}
	*port = (uint16_t)v;
	next(ps);
	return true;
}

/* Where a farm's single-valued options were given in its block. */
struct farm_seen {
	struct loc balance, verify, sorry, on_down;
};

/* The FARM_SEEN slot of the farm option at T; NULL for `server` (one or
 * more) and for a word that is no option. */
static struct loc *farm_option(struct farm_seen *seen, const struct token *t)
{
	if (is_word(t, "balance"))
		return &seen->balance;
	if (is_word(t, "verify"))
		return &seen->verify;
	if (is_word(t, "sorry"))
		return &seen->sorry;
	if (is_word(t, "on-down"))
		return &seen->on_down;
	return NULL;
}

/* farm NAME { server N ADDR [port P] | balance B | verify ... | sorry ADDR |
 * on-down keep|flush } */
static void parse_farm(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *name = expect_word(ps, "a farm name");
	if (!name)
		return;
	bool fresh = check_new_name(ps, name, &loc, &ps->c->syms, "farm");
	struct farm *f = xcalloc(1, sizeof(*f));
	f->name = name;
	f->loc = loc;
	char what[300];
	snprintf(what, sizeof(what), "farm '%s'", name);
	VEC_PUSH(ps->c->p->farms, ps->c->p->nfarms, f);
	if (fresh)
		sym_add(&ps->c->syms, f->name, SYM_FARM, f, &loc);
	if (!expect_kind(ps, TK_LBRACE, "'{'"))
		return;
	struct farm_seen seen = {0};
	while (!ps->failed && cur(ps)->kind != TK_RBRACE) {
		struct token *t = cur(ps);
		struct loc *first = farm_option(&seen, t);
		if (first && !given_once(ps, first, &t->loc, what, t->text,
					 "block"))
			return;
		if (is_word(t, "server")) {
			next(ps);
			struct farm_member m = {.loc = cur(ps)->loc};
			m.name = expect_word(ps, "a server name");
			if (!m.name)
				return;
			for (size_t i = 0; i < f->nmembers; i++)
				if (strcmp(f->members[i].name, m.name) == 0)
					err_at(ps, &m.loc, "duplicate server "
					       "'%s' in farm '%s'", m.name, name);
			if (!take_addr(ps, &m.family, &m.v4, &m.v6) ||
			    (is_word(cur(ps), "port") &&
			     (next(ps), !take_port(ps, &m.port)))) {
				free(m.name);
				return;
			}
			VEC_PUSH(f->members, f->nmembers, m);
		} else if (is_word(t, "balance")) {
			next(ps);
			if (is_word(cur(ps), "source-hash"))
				f->balance = BAL_SOURCE_HASH;
			else if (is_word(cur(ps), "round-robin"))
				f->balance = BAL_ROUND_ROBIN;
			else {
				err_at(ps, &cur(ps)->loc, "expected source-hash "
				       "or round-robin, found '%s'",
				       describe(cur(ps)));
				return;
			}
			next(ps);
		} else if (is_word(t, "verify")) {
			struct loc vloc = t->loc;
			next(ps);
			verify_spec_free(&f->verify);
			verify_spec_init(&f->verify);
			f->has_verify = true;
			if (!parse_verify_head(ps, &f->verify, true))
				return;
			char vwhat[320];
			snprintf(vwhat, sizeof(vwhat), "%s verify", what);
			parse_verify_opts(ps, &f->verify, vwhat);
			if (!ps->failed)
				check_dns_opts(ps, &vloc, &f->verify, vwhat);
		} else if (is_word(t, "sorry")) {
			next(ps);
			uint32_t a4;
			u128 a6;
			int fam;
			struct loc sl = cur(ps)->loc;
			if (!take_addr(ps, &fam, &a4, &a6))
				return;
			char buf[64];
			free(f->sorry);
			f->sorry = xstrdup(format_addr(fam, a4, a6, buf,
						       sizeof(buf)));
			(void)sl;
		} else if (is_word(t, "on-down")) {
			next(ps);
			if (is_word(cur(ps), "keep"))
				f->on_down = ONDOWN_KEEP;
			else if (is_word(cur(ps), "flush"))
				f->on_down = ONDOWN_FLUSH;
			else {
				err_at(ps, &cur(ps)->loc, "expected keep or "
				       "flush, found '%s'", describe(cur(ps)));
				return;
			}
			next(ps);
		} else {
			err_at(ps, &t->loc, "expected server, balance, verify, "
			       "sorry, on-down or '}', found '%s'",
			       describe(t));
			return;
		}
	}
	if (ps->failed)
		return;
	next(ps);
	if (!f->nmembers)
		err_at(ps, &loc, "farm '%s' has no server", name);
}

/* publish NAME tcp|udp PORT on ADDR to FARM [port P] */
/* publish NAME tcp|udp PORT on ADDRESS to FARM [port PORT] [filter ftp] */
static void parse_publish(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *name = expect_name(ps, "a publishing rule name");
	if (!name)
		return;
	struct publish *pb = xcalloc(1, sizeof(*pb));
	pb->name = name;
	pb->loc = loc;
	VEC_PUSH(ps->c->p->publishes, ps->c->p->npublishes, pb);
	struct token *t = cur(ps);
	if (is_word(t, "tcp"))
		pb->tr = TR_TCP;
	else if (is_word(t, "udp"))
		pb->tr = TR_UDP;
	else {
		err_at(ps, &t->loc, "expected tcp or udp, found '%s'",
		       describe(t));
		return;
	}
	next(ps);
	if (!take_port(ps, &pb->port))
		return;
	if (!is_word(cur(ps), "on")) {
		err_at(ps, &cur(ps)->loc, "expected 'on ADDRESS', found '%s'",
		       describe(cur(ps)));
		return;
	}
	next(ps);
	if (!take_addr(ps, &pb->family, &pb->v4, &pb->v6))
		return;
	if (!is_word(cur(ps), "to")) {
		err_at(ps, &cur(ps)->loc, "expected 'to FARM', found '%s'",
		       describe(cur(ps)));
		return;
	}
	next(ps);
	struct loc floc = cur(ps)->loc;
	char *fname = expect_word(ps, "a farm name");
	if (!fname)
		return;
	struct sym *s = resolve(ps, fname, &floc, 1u << SYM_FARM, "farm");
	free(fname);
	if (!s)
		return;
	pb->farm = s->ptr;
	pb->farm->used = true;
	if (is_word(cur(ps), "port")) {
		next(ps);
		take_port(ps, &pb->to_port);
	}
	if (is_word(cur(ps), "filter")) {
		next(ps);
		struct token *ft = cur(ps);
		if (!is_word(ft, FILTER_FTP) || pb->tr != TR_TCP)
			err_at(ps, &ft->loc, "a publication takes 'filter ftp' "
			       "(tcp) only, found '%s'", describe(ft));
		else
			pb->filter_ftp = true;
		next(ps);
	}
	for (size_t i = 0; !ps->failed && i < pb->farm->nmembers; i++)
		if (pb->farm->members[i].family != pb->family)
			err_at(ps, &floc, "farm '%s' has a server of another "
			       "address family than %s", pb->farm->name, name);
}

/* A network named by a nat rule at LOC; `external` (when EXTERNAL_OK)
 * gives *EXT true and NULL. NULL after an error. */
static struct netset *nat_side(struct parser *ps, bool external_ok, bool *ext)
{
	struct loc loc = cur(ps)->loc;
	char *w = expect_word(ps, "a network name");
	struct netset *n = NULL;
	*ext = false;
	if (!w)
		return NULL;
	if (strcmp(w, "external") == 0) {
		if (external_ok)
			*ext = true;
		else
			err_at(ps, &loc, "nat from external: a session from "
			       "outside reaches an inside server by 'publish'");
	} else {
		struct sym *s = resolve(ps, w, &loc, 1u << SYM_NET, "network");
		n = s ? s->ptr : NULL;
		if (n && !n->is_network) {
			err_at(ps, &loc, "'%s' is a computer set; nat rules "
			       "join networks", w);
			n = NULL;
		}
		if (n)
			n->used = true;
	}
	free(w);
	return n;
}

/* nat SRC to DST [via ADDRESS] */
static void parse_nat(struct parser *ps)
{
	struct natrule *nr = xcalloc(1, sizeof(*nr));
	bool ext;
	nr->loc = cur(ps)->loc;
	VEC_PUSH(ps->c->p->nats, ps->c->p->nnats, nr);
	nr->src = nat_side(ps, false, &ext);
	if (!nr->src)
		return;
	if (!is_word(cur(ps), "to")) {
		err_at(ps, &cur(ps)->loc, "expected 'to NETWORK', found '%s'",
		       describe(cur(ps)));
		return;
	}
	next(ps);
	nr->dst = nat_side(ps, true, &ext);
	if (!nr->dst && !ext)
		return;
	if (nr->dst == nr->src) {
		err_at(ps, &nr->loc, "nat %s to %s: a network to itself",
		       nr->src->name, nr->src->name);
		return;
	}
	if (is_word(cur(ps), "via")) {
		next(ps);
		nr->via = true;
		take_addr(ps, &nr->family, &nr->v4, &nr->v6);
	}
}

/* ---- alerts ------------------------------------------------------------------- */

#include "policy/counters_names.h"

/* The kind of counter NAME ('c', 'g', 'h'), or 0 when there is none. */
static char counter_kind(const char *name)
{
	for (const struct policy_counter_name *c = policy_counter_names;
	     c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c->kind;
	return 0;
}

/* Reads a counter name at the current token (with "/s" when RATE is not
 * NULL) and checks it against the counters table; NULL after an error. */
static char *take_counter(struct parser *ps, bool *rate)
{
	struct token *t = cur(ps);
	struct loc loc = t->loc;
	char *name = expect_word(ps, "a counter name");
	if (!name)
		return NULL;
	size_t n = strlen(name);
	bool per_s = rate && n > 2 && strcmp(name + n - 2, "/s") == 0;
	if (per_s)
		name[n - 2] = '\0';
	char kind = counter_kind(name);
	if (!kind) {
		const char *best = NULL;
		size_t bd = strlen(name) / 3 + 1;
		for (const struct policy_counter_name *c = policy_counter_names;
		     c->name; c++) {
			size_t dd = edit_distance(name, c->name);
			if (dd <= bd && (!best || dd < bd)) {
				best = c->name;
				bd = dd;
			}
		}
		if (best)
			err_at(ps, &loc, "unknown counter '%s'; did you mean "
			       "'%s'?", name, best);
		else
			err_at(ps, &loc, "unknown counter '%s' (see sluicectl "
			       "counters)", name);
	} else if (kind == 'h') {
		err_at(ps, &loc, "'%s' is a histogram; an alert watches a "
		       "counter or a gauge", name);
	} else if (per_s && kind != 'c') {
		err_at(ps, &loc, "'%s' is a gauge; only a counter has a rate "
		       "(/s)", name);
	} else {
		if (rate)
			*rate = per_s;
		return name;
	}
	free(name);
	return NULL;
}

/* OP VALUE [of COUNTER]  |  grows over DURATION */
static bool parse_alert_condition(struct parser *ps, struct alert_def *a)
{
	static const struct {
		const char *w;
		enum alert_op op;
	} ops[] = {{">", ALERT_GT}, {">=", ALERT_GE}, {"<", ALERT_LT},
		   {"<=", ALERT_LE}};
	struct token *t = cur(ps);
	if (is_word(t, "grows")) {
		next(ps);
		if (!is_word(cur(ps), "over")) {
			err_at(ps, &cur(ps)->loc, "expected 'over DURATION' "
			       "after grows, found '%s'", describe(cur(ps)));
			return false;
		}
		next(ps);
		t = cur(ps);
		long long ms = t->kind == TK_WORD ? parse_duration_ms(t->text)
						  : -1;
		if (ms < 60000 || ms > 30LL * 86400000) {
			err_at(ps, &t->loc, "alert '%s': bad window '%s' "
			       "(1m..30d)", a->name, describe(t));
			return false;
		}
		a->op = ALERT_GROWS;
		a->window_ms = (uint32_t)ms;
		next(ps);
		return true;
	}
	size_t i = 0;
	while (i < ARRAY_SIZE(ops) && !is_word(t, ops[i].w))
		i++;
	if (i == ARRAY_SIZE(ops)) {
		err_at(ps, &t->loc, "expected >, >=, <, <= or 'grows over' "
		       "after the counter, found '%s'", describe(t));
		return false;
	}
	a->op = ops[i].op;
	next(ps);
	t = cur(ps);
	char buf[64] = "";
	if (t->kind == TK_WORD)
		snprintf(buf, sizeof(buf), "%s", t->text);
	size_t n = strlen(buf);
	bool pct = n > 1 && buf[n - 1] == '%';
	if (pct)
		buf[n - 1] = '\0';
	char *end = NULL;
	double v = buf[0] ? strtod(buf, &end) : -1;
	if (!buf[0] || !isdigit((unsigned char)buf[0]) || *end || !(v >= 0) ||
	    v > 1e18) {
		err_at(ps, &t->loc, "alert '%s': expected a number or N%% of "
		       "COUNTER, found '%s'", a->name, describe(t));
		return false;
	}
	a->value = v;
	next(ps);
	if (!pct)
		return true;
	if (!is_word(cur(ps), "of")) {
		err_at(ps, &cur(ps)->loc, "expected 'of COUNTER' after %s%%, "
		       "found '%s'", buf, describe(cur(ps)));
		return false;
	}
	next(ps);
	a->of = take_counter(ps, NULL);
	return a->of != NULL;
}

/* The options of an alert, from alert_settings; `rearm manual` and
 * `for N events` around the table's rows. */
static void parse_alert_opts(struct parser *ps, struct alert_def *a)
{
	char what[300];
	snprintf(what, sizeof(what), "alert '%s'", a->name);
	bool seen_for = false;
	struct loc *first = settings_seen(alert_settings);
	for (;;) {
		struct token *t = cur(ps);
		if (t->kind == TK_EOF || t->kind == TK_SEMI ||
		    (t->line_start && is_stmt_keyword(t)))
			break;
		const struct setting *s =
		    t->kind == TK_WORD ? setting_find(alert_settings, t->text)
				       : NULL;
		if (!s) {
			err_at(ps, &t->loc, "%s: unknown option '%s' (known: "
			       "%s)", what, describe(t),
			       setting_names(alert_settings));
			break;
		}
		note_setting(ps, alert_settings, s, first, &t->loc, what,
			     "statement");
		next(ps);
		if (strcmp(s->key, "rearm") == 0 && is_word(cur(ps), "manual")) {
			a->rearm_manual = true;
			next(ps);
			continue;
		}
		int errors = ps->c->d->errors;
		parse_setting_value(ps, alert_settings, s, a, what);
		if (ps->c->d->errors > errors)
			break;
		if (strcmp(s->key, "for") == 0) {
			seen_for = true;
			if (is_word(cur(ps), "events") || is_word(cur(ps), "event"))
				next(ps);
		}
	}
	free(first);
	if (ps->failed)
		return;
	if (a->within_ms && !seen_for)
		err_at(ps, &a->loc, "%s: 'within' counts events; it needs "
		       "'for N events'", what);
	if (a->run && a->run[strspn(a->run, " \t")] != '/')
		err_at(ps, &a->loc, "%s: run needs a command with an absolute "
		       "path (no shell)", what);
	if (!a->run)
		a->log = true;
}

/* alert NAME when CONDITION [options]  |  alert NAME off */
static void parse_alert(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *name = expect_name(ps, "an alert name");
	if (!name)
		return;
	struct alert_def *a = xcalloc(1, sizeof(*a));
	a->name = name;
	a->loc = loc;
	settings_apply_defaults(alert_settings, a);
	VEC_PUSH(ps->c->p->alerts, ps->c->p->nalerts, a);
	for (size_t i = 0; i + 1 < ps->c->p->nalerts; i++)
		if (strcmp(ps->c->p->alerts[i]->name, name) == 0) {
			err_at(ps, &loc, "duplicate alert name '%s'", name);
			diags_add(ps->c->d, DIAG_NOTE, &ps->c->p->alerts[i]->loc,
				  "'%s' was first defined here", name);
			return;
		}
	if (is_word(cur(ps), "off")) {
		a->off = true;
		next(ps);
		return;
	}
	if (!is_word(cur(ps), "when")) {
		err_at(ps, &cur(ps)->loc, "expected 'when COUNTER ...' or 'off' "
		       "after alert '%s', found '%s'", name, describe(cur(ps)));
		return;
	}
	next(ps);
	a->counter = take_counter(ps, &a->rate);
	if (!a->counter || !parse_alert_condition(ps, a))
		return;
	if (a->rate && a->op == ALERT_GROWS) {
		err_at(ps, &loc, "alert '%s': 'grows' watches a value, not a "
		       "rate", name);
		return;
	}
	parse_alert_opts(ps, a);
}

/* ---- files and includes ------------------------------------------------------ */

static int parse_file(struct ctx *c, const char *file, const char *text,
		      size_t len, int depth);

/* Reads a whole regular file; NULL with errno on failure (EINVAL: not a
 * regular file, EFBIG: longer than MAX_POLICY_FILE). *ST gets its
 * status. Opened non-blocking, so a FIFO or a device never stalls. */
static char *read_file(const char *path, size_t *len, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	int e = 0;
	if (fstat(fd, st) < 0)
		e = errno;
	else if (S_ISDIR(st->st_mode))
		e = EISDIR;
	else if (!S_ISREG(st->st_mode))
		e = EINVAL;
	else if ((size_t)st->st_size > MAX_POLICY_FILE)
		e = EFBIG;
	if (e) {
		close(fd);
		errno = e;
		return NULL;
	}
	char *buf = xmalloc((size_t)st->st_size + 1);
	size_t n = read_upto(fd, buf, (size_t)st->st_size, NULL);
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Why read_file failed, in words. */
static const char *read_error(int e)
{
	return e == EINVAL ? "not a regular file"
	       : e == EFBIG ? "larger than 64 MiB"
			    : strerror(e);
}

/* include "file": relative to the including file's folder. */
static void parse_include(struct parser *ps)
{
	struct loc loc = cur(ps)->loc;
	char *rel = expect_value(ps, "a file name");
	if (!rel)
		return;
	char *path;
	if (rel[0] == '/') {
		path = xstrdup(rel);
	} else {
		const char *slash = strrchr(ps->lx.file, '/');
		path = slash ? xasprintf("%.*s/%s", (int)(slash - ps->lx.file),
					 ps->lx.file, rel)
			     : xstrdup(rel);
	}
	free(rel);
	if (ps->depth + 1 > MAX_INCLUDE_DEPTH) {
		err_at(ps, &loc, "includes nested more than %d deep (a cycle?)",
		       MAX_INCLUDE_DEPTH);
		free(path);
		return;
	}
	struct ctx *c = ps->c;
	if (c->nincludes >= MAX_INCLUDES) {
		err_at(ps, &loc, "more than %d includes in all; '%s' not read",
		       MAX_INCLUDES, path);
		free(path);
		return;
	}
	c->nincludes++;
	size_t len;
	struct stat st;
	char *text = read_file(path, &len, &st);
	if (!text) {
		err_at(ps, &loc, "cannot read '%s': %s", path,
		       read_error(errno));
		free(path);
		return;
	}
	for (int i = 0; i < c->nopen; i++) {
		if (c->open[i].dev == st.st_dev && c->open[i].ino == st.st_ino) {
			err_at(ps, &loc, "'%s' includes itself (an include "
			       "cycle)", path);
			free(text);
			free(path);
			return;
		}
	}
	if (len > MAX_INCLUDED_BYTES - c->included_bytes) {
		err_at(ps, &loc, "included files exceed 64 MiB in all; '%s' not "
		       "read", path);
		free(text);
		free(path);
		return;
	}
	c->included_bytes += len;
	const char *ipath = diags_intern(c->d, path);
	free(path);
	c->open[c->nopen].dev = st.st_dev;
	c->open[c->nopen].ino = st.st_ino;
	c->nopen++;
	parse_file(c, ipath, text, len, ps->depth + 1);
	c->nopen--;
	free(text);
}

/* Parses one statement starting at the current keyword. */
static void parse_statement(struct parser *ps)
{
	struct token *t = cur(ps);
	if (t->kind == TK_SEMI) {
		next(ps);
		return;
	}
	if (t->kind != TK_WORD || !is_stmt_keyword(t)) {
		err_at(ps, &t->loc, "expected a statement (network, computers, "
		       "domains, users, protocol, schedule, rule, farm, "
		       "publish, nat, verifier, include or a settings block), found "
		       "'%s'", describe(t));
		return;
	}
	char *kw = xstrdup(t->text);
	next(ps);
	if (strcmp(kw, "network") == 0)
		parse_netset(ps, true);
	else if (strcmp(kw, "computers") == 0)
		parse_netset(ps, false);
	else if (strcmp(kw, "domains") == 0)
		parse_domains(ps);
	else if (strcmp(kw, "users") == 0)
		parse_users(ps);
	else if (strcmp(kw, "protocol") == 0)
		parse_protocol(ps);
	else if (strcmp(kw, "schedule") == 0)
		parse_schedule(ps);
	else if (strcmp(kw, "rule") == 0)
		parse_rule(ps);
	else if (strcmp(kw, "verifier") == 0)
		parse_verifier(ps);
	else if (strcmp(kw, "farm") == 0)
		parse_farm(ps);
	else if (strcmp(kw, "publish") == 0)
		parse_publish(ps);
	else if (strcmp(kw, "include") == 0)
		parse_include(ps);
	else if (strcmp(kw, "alert") == 0)
		parse_alert(ps);
	else if (strcmp(kw, "nat") == 0)
		parse_nat(ps);
	else
		parse_block(ps, kw);
	free(kw);
}

static int parse_file(struct ctx *c, const char *file, const char *text,
		      size_t len, int depth)
{
	struct parser ps = {.c = c, .depth = depth};
	lexer_init(&ps.lx, file, text, len, c->d);
	for (int i = 0; i < LOOKAHEAD; i++)
		fill(&ps, i);
	while (cur(&ps)->kind != TK_EOF) {
		ps.failed = false;
		parse_statement(&ps);
		if (ps.failed) {
			recover(&ps, 0);
		} else if (!(cur(&ps)->kind == TK_EOF || is_stmt_keyword(cur(&ps)) ||
			     cur(&ps)->kind == TK_SEMI || cur(&ps)->line_start)) {
			err_at(&ps, &cur(&ps)->loc, "unexpected '%s' after the "
			       "statement", describe(cur(&ps)));
			recover(&ps, 0);
		}
	}
	for (int i = 0; i < LOOKAHEAD; i++)
		free(ps.la[i].text);
	return c->d->errors ? -1 : 0;
}

int parse_policy_text(struct policy *p, const char *file, const char *text,
		      size_t len, int depth)
{
	struct ctx c = {.p = p, .d = &p->diags};
	struct stat st;
	/* the top file counts for cycles when it is a file */
	if (file && stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
		c.open[0].dev = st.st_dev;
		c.open[0].ino = st.st_ino;
		c.nopen = 1;
	}
	int rc = parse_file(&c, file, text, len, depth);
	symtab_free(&c.syms);
	symtab_free(&c.rules);
	return rc;
}

/* ---- entry points -------------------------------------------------------------- */

static struct policy *policy_new(void)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	settings_defaults(p);
	return p;
}

/* Checks P, hands its messages to the caller's D and keeps only the file
 * names; frees P and returns NULL when there was an error. */
static struct policy *finish(struct policy *p, struct diags *d)
{
	if (p->diags.errors == 0)
		policy_validate(p);
	int errors = p->diags.errors;
	diags_copy(d, &p->diags);
	diags_clear_messages(&p->diags);
	if (errors) {
		policy_free(p);
		return NULL;
	}
	return p;
}

struct policy *policy_load_buffer(const char *name, const char *text,
				  size_t len, struct diags *d)
{
	struct policy *p = policy_new();
	parse_policy_text(p, diags_intern(&p->diags, name), text, len, 0);
	return finish(p, d);
}

struct policy *policy_load(const char *path, struct diags *d)
{
	size_t len;
	struct stat st;
	char *text = read_file(path, &len, &st);
	if (!text) {
		diags_add(d, DIAG_ERROR, NULL, "cannot read '%s': %s", path,
			  read_error(errno));
		return NULL;
	}
	struct policy *p = policy_load_buffer(path, text, len, d);
	free(text);
	return p;
}
