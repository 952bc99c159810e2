/*
 * remote.c — sluicectl subcommands answered by the running sluiced over its
 * control socket. Each row of the table below is one form of a command:
 * its words, the control request it becomes, its positional arguments and
 * its options. The command line is parsed here, completely, before anything
 * is sent: a usage error (an unknown option, a missing or extra word, a bad
 * name or number) exits 2 and sends nothing; --help prints the usage and
 * sends nothing.
 */
#include "sluicectl/sluicectl.h"
#include "common/log.h"
#include "sluicectl/render.h"
#include "common/text.h"
#include "common/util.h"
#include "control/control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

const char *ctl_socket = SLUICE_SOCKET;

enum atype {
	A_NAME,	 /* a name (text.h rules) */
	A_ADDR,	 /* an IPv4 or IPv6 address */
	A_PROTO, /* tcp or udp */
	A_UINT,	 /* a whole number */
	A_NAMES, /* names, comma separated */
};

struct apos {
	const char *key, *what; /* request key; how usage errors name it */
	enum atype type;
	bool optional;
};

struct aopt {
	const char *flag, *key;
	enum atype type;
};

struct form {
	const char *word;    /* the command */
	const char *sub;     /* its subcommand; NULL: the command alone */
	const char *request; /* the control command sent */
	struct apos pos[4];
	struct aopt opts[4];
};

static const struct form forms[] = {
    {"status", NULL, "status", {{0}}, {{0}}},
    {"sessions", NULL, "sessions", {{0}}, {{0}}},
    {"pending", NULL, "pending", {{0}}, {{0}}},
    {"reload", NULL, "reload", {{0}}, {{"--confirm", "confirm", A_NAME}}},
    {"confirm", NULL, "confirm", {{0}}, {{0}}},
    {"verifiers", NULL, "verifiers", {{0}}, {{0}}},
    {"identity", NULL, "identity-list", {{0}}, {{0}}},
    {"identity", "list", "identity-list", {{0}}, {{0}}},
    {"identity", "sources", "identity-sources", {{0}}, {{0}}},
    {"identity", "add", "identity-add",
     {{"address", "ADDR", A_ADDR, false}, {"user", "USER", A_NAME, false}},
     {{"--groups", "groups", A_NAMES}, {"--ttl", "ttl", A_UINT}}},
    {"identity", "del", "identity-del",
     {{"address", "ADDR", A_ADDR, false}}, {{0}}},
    {"identity", "login", "identity-login",
     {{"address", "ADDR", A_ADDR, false}, {"user", "USER", A_NAME, false}},
     {{"--prefix", "prefix", A_UINT}, {"--groups", "groups", A_NAMES},
      {"--lifetime", "lifetime", A_UINT}, {"--source", "source", A_NAME}}},
    {"identity", "logout", "identity-logout",
     {{"address", "ADDR", A_ADDR, false}, {"user", "USER", A_NAME, true}},
     {{"--prefix", "prefix", A_UINT}, {"--source", "source", A_NAME}}},
    {"floods", NULL, "floods", {{0}}, {{0}}},
    {"settings", NULL, "settings", {{0}}, {{0}}},
    {"creations", NULL, "creations-list", {{0}}, {{0}}},
    {"creations", "list", "creations-list", {{0}}, {{0}}},
    {"creations", "add", "creations-add",
     {{"address", "ADDR", A_ADDR, false},
      {"protocol", "tcp|udp", A_PROTO, false},
      {"port", "PORT", A_UINT, false}},
     {{"--from", "from", A_ADDR}, {"--timeout", "timeout", A_UINT}}},
    {"creations", "del", "creations-del",
     {{"address", "ADDR", A_ADDR, false},
      {"protocol", "tcp|udp", A_PROTO, false},
      {"port", "PORT", A_UINT, false}},
     {{"--from", "from", A_ADDR}}},
    {"alerts", NULL, "alerts", {{0}}, {{0}}},
    {"alerts", "reset", "alerts-reset", {{"name", "NAME", A_NAME, true}},
     {{0}}},
    {"farm", NULL, "farm-list", {{0}}, {{0}}},
    {"farm", "list", "farm-list", {{0}}, {{0}}},
    {"farm", "drain", "farm-drain", {{"member", "MEMBER", A_NAME, false}},
     {{0}}},
    {"farm", "resume", "farm-resume", {{"member", "MEMBER", A_NAME, false}},
     {{0}}},
};

/* Prints a usage error about COMMAND and returns EXIT_USAGE. */
static int usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sluicectl: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: sluicectl %s\n", sluicectl_usage(command));
	return EXIT_USAGE;
}

/* Converts the word ARG of type T into a JSON value; NULL with a usage
 * message printed. */
static json_t *convert(const char *command, const char *what, enum atype t,
		       const char *arg)
{
	const char *why;
	switch (t) {
	case A_NAME:
		if ((why = text_name_problem(arg))) {
			usage_error(command, "%s %s", what, why);
			return NULL;
		}
		return json_string(arg);
	case A_ADDR: {
		unsigned char b[16];
		if (inet_pton(AF_INET, arg, b) != 1 &&
		    inet_pton(AF_INET6, arg, b) != 1) {
			char *e = text_escape_dup(arg, strlen(arg), false);
			usage_error(command, "%s: '%s' is not an IPv4 or IPv6 "
				    "address", what, e);
			free(e);
			return NULL;
		}
		return json_string(arg);
	}
	case A_PROTO:
		if (strcmp(arg, "tcp") && strcmp(arg, "udp")) {
			usage_error(command, "expected tcp or udp");
			return NULL;
		}
		return json_string(arg);
	case A_UINT: {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(arg, &end, 10);
		if (!arg[0] || arg[0] == '-' || *end || errno || v > 0xffffffffULL) {
			usage_error(command, "%s must be a whole number", what);
			return NULL;
		}
		return json_integer((json_int_t)v);
	}
	case A_NAMES: {
		json_t *a = json_array();
		char *copy = xstrdup(arg), *p = copy;
		for (;;) {
			char *comma = strchr(p, ',');
			if (comma)
				*comma = '\0';
			if ((why = text_name_problem(p)) ||
			    json_array_size(a) >= CONTROL_MAX_NAMES) {
				usage_error(command, "%s: a name %s", what,
					    why ? why : "too many");
				json_decref(a);
				free(copy);
				return NULL;
			}
			json_array_append_new(a, json_string(p));
			if (!comma)
				break;
			p = comma + 1;
		}
		free(copy);
		return a;
	}
	}
	return NULL;
}

/* The form of ARGV[0] with subcommand SUB (NULL: none). */
static const struct form *find_form(const char *word, const char *sub)
{
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++)
		if (strcmp(forms[i].word, word) == 0 &&
		    (sub ? forms[i].sub && strcmp(forms[i].sub, sub) == 0
			 : !forms[i].sub))
			return &forms[i];
	return NULL;
}

/* Parses ARGV (ARGV[0] the command) into *FORM, a new *ARGS and *JSON.
 * Returns -1 to go on, or an exit code (usage printed, help shown). */
static int parse(int argc, char **argv, const struct form **form,
		 json_t **args, bool *json)
{
	const char *cmd = argv[0];
	int i = 1;
	const char *sub = NULL;
	if (argc > 1 && argv[1][0] != '-' && find_form(cmd, argv[1])) {
		sub = argv[1];
		i = 2;
	}
	const struct form *f = find_form(cmd, sub);
	if (!f)
		return usage_error(cmd, "unknown form of '%s'", cmd);
	*args = json_object();
	*json = false;
	size_t npos = 0;
	bool opts_done = false;
	for (; i < argc; i++) {
		const char *a = argv[i];
		const struct aopt *o = NULL;
		if (!opts_done && a[0] == '-' && a[1]) {
			if (strcmp(a, "--") == 0) {
				opts_done = true;
				continue;
			}
			if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
				printf("usage: sluicectl %s\n", sluicectl_usage(cmd));
				return EXIT_OK;
			}
			if (strcmp(a, "--json") == 0) {
				*json = true;
				continue;
			}
			for (size_t k = 0; k < ARRAY_SIZE(f->opts) && f->opts[k].flag; k++)
				if (strcmp(f->opts[k].flag, a) == 0)
					o = &f->opts[k];
			if (!o) {
				char *e = text_escape_dup(a, strlen(a), false);
				int rc = usage_error(cmd, "unknown option '%s'", e);
				free(e);
				return rc;
			}
			if (i + 1 >= argc)
				return usage_error(cmd, "%s needs a value", a);
			if (json_object_get(*args, o->key))
				return usage_error(cmd, "%s given twice", a);
			json_t *v = convert(cmd, o->flag, o->type, argv[++i]);
			if (!v)
				return EXIT_USAGE;
			json_object_set_new(*args, o->key, v);
			continue;
		}
		if (npos >= ARRAY_SIZE(f->pos) || !f->pos[npos].key) {
			char *e = text_escape_dup(a, strlen(a), false);
			int rc = usage_error(cmd, "unexpected word '%s'", e);
			free(e);
			return rc;
		}
		const struct apos *p = &f->pos[npos++];
		json_t *v = convert(cmd, p->what, p->type, a);
		if (!v)
			return EXIT_USAGE;
		json_object_set_new(*args, p->key, v);
	}
	if (npos < ARRAY_SIZE(f->pos) && f->pos[npos].key && !f->pos[npos].optional)
		return usage_error(cmd, "missing %s", f->pos[npos].what);
	*form = f;
	return -1;
}

/* TEXT, one log line at priority PRI per line (common/log.h): sluiced's
 * answer to a refused request, on journald's stream. */
static void log_lines(int pri, const char *text)
{
	for (const char *l = text, *e; *l; l = *e ? e + 1 : e) {
		e = l + strcspn(l, "\n");
		log_at(pri, "%.*s", (int)(e - l), l);
	}
}

/* Prints V, the answer to REQUEST: as JSON (one line, ASCII) with JSON,
 * else as text for people (render.h). Returns the exit code: an answer
 * of a shape sluicectl does not know (a sluiced of another version) is
 * printed as JSON, with a note on stderr, and gives EXIT_FAIL. */
static int show(const char *request, const json_t *v, bool json)
{
	int rc = EXIT_OK;
	struct evbuffer *out = evbuffer_new();
	if (!out)
		return EXIT_FAIL;
	if (!json && render_answer(request, v, out) < 0) {
		fprintf(stderr, "sluicectl: the answer to '%s' has a shape this "
			"sluicectl does not know; here it is as JSON\n", request);
		evbuffer_drain(out, evbuffer_get_length(out));
		json = true;
		rc = EXIT_FAIL;
	}
	if (json) {
		char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII |
					    JSON_PRESERVE_ORDER);
		evbuffer_add_printf(out, "%s\n", t ? t : "null");
		free(t);
	}
	fwrite(evbuffer_pullup(out, -1), 1, evbuffer_get_length(out), stdout);
	evbuffer_free(out);
	/* a list sent in parts whose source failed midway ends with "error"
	 * beside it (jsonout.h json_parts_pulled): what came is printed, and
	 * said to be incomplete */
	const char *cut = json_is_object(v)
			      ? json_string_value(json_object_get(v, "error"))
			      : NULL;
	if (cut) {
		char *e = text_escape_dup(cut, strlen(cut), false);
		fprintf(stderr, "sluicectl: the answer to '%s' is incomplete: "
			"%s\n", request, e);
		free(e);
		rc = EXIT_FAIL;
	}
	return rc;
}

/* Sends the request and prints its answer; returns the exit code. */
static int call(const char *request, const json_t *args, bool json)
{
	json_t *v = NULL;
	char *err = NULL;
	int rc = control_call_json(ctl_socket, request, args, &v, &err);
	if (rc == 0) {
		rc = show(request, v, json);
		json_decref(v);
		return rc;
	}
	if (log_journal()) /* ExecReload: each line an error */
		log_lines(LOG_ERR, err);
	else
		fprintf(stderr, "sluicectl: %s", err);
	if (json) { /* stdout stays JSON: the error as an object */
		json_t *e = json_pack("{s:i,s:b,s:s?}", "schema_version", 1, "ok",
				      0, "error",
				      utf8_valid(err, strlen(err)) ? err : NULL);
		char *t = e ? json_dumps(e, JSON_ENSURE_ASCII) : NULL;
		if (t)
			printf("%s\n", t);
		free(t);
		json_decref(e);
	}
	free(err);
	return rc == 1 ? EXIT_INVALID : rc == 2 ? EXIT_USAGE : rc;
}

int cmd_remote(int argc, char **argv)
{
	const struct form *f = NULL;
	json_t *args = NULL;
	bool json;
	int rc = parse(argc, argv, &f, &args, &json);
	if (rc < 0)
		rc = call(f->request, args, json);
	json_decref(args);
	return rc;
}

/* counters: one table, --json, or --watch (refreshes in place every
 * --interval ms, WATCH_INTERVAL_MIN_MS..WATCH_INTERVAL_MAX_MS: a value out
 * of range is a usage error, exit 2, never clamped). */
int cmd_counters(int argc, char **argv)
{
	unsigned long interval = 1000, count = 0;
	bool watch = false, json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		unsigned long *into = strcmp(a, "--interval") == 0 ? &interval
				      : strcmp(a, "--count") == 0  ? &count
								   : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			printf("usage: sluicectl %s\n", sluicectl_usage(argv[0]));
			return EXIT_OK;
		} else if (strcmp(a, "--watch") == 0) {
			watch = true;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (into) {
			char *end;
			if (i + 1 >= argc)
				return usage_error(argv[0], "%s needs a value", a);
			errno = 0;
			*into = strtoul(argv[++i], &end, 10);
			if (!argv[i][0] || argv[i][0] == '-' || *end || errno ||
			    *into > UINT_MAX)
				return usage_error(argv[0], "%s must be a whole "
						   "number", a);
		} else {
			char *e = text_escape_dup(a, strlen(a), false);
			int rc = usage_error(argv[0], "unexpected '%s'", e);
			free(e);
			return rc;
		}
	}
	if (watch && json)
		return usage_error(argv[0], "--watch and --json exclude each other");
	if (!watch && (interval != 1000 || count))
		return usage_error(argv[0], "--interval and --count go with --watch");
	if (interval < WATCH_INTERVAL_MIN_MS || interval > WATCH_INTERVAL_MAX_MS)
		return usage_error(argv[0], "--interval %lu: out of range "
				   "(%u..%u ms)", interval,
				   WATCH_INTERVAL_MIN_MS, WATCH_INTERVAL_MAX_MS);
	if (count > WATCH_COUNT_MAX)
		return usage_error(argv[0], "--count %lu: out of range (0..%u; "
				   "0: until interrupted)", count,
				   WATCH_COUNT_MAX);
	if (watch)
		return counters_watch(ctl_socket, (unsigned)interval,
				      (unsigned)count);
	return call("counters", NULL, json);
}
