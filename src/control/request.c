/* request.c — parsing and checking control requests; see control.h. Kept
 * free of libevent so the fuzzer (tests/fuzz/fuzz_control.c) links it
 * alone. */
#include "control/control.h"
#include "common/text.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

const char *control_level_name(enum control_level l)
{
	static const char *const names[] = {"none", "read-only", "operator",
					    "admin"};
	return (unsigned)l < 4 ? names[l] : "none";
}

static bool command_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CONTROL_MAX_COMMAND)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return false;
	return true;
}

int control_parse_request(const char *text, size_t len,
			  struct control_request *req, char *err,
			  size_t errlen)
{
	memset(req, 0, sizeof(*req));
	if (len && text[len - 1] == '\n')
		len--;
	if (len == 0)
		return fail(err, errlen, "empty request");
	if (len >= CONTROL_MAX_REQUEST)
		return fail(err, errlen, "request longer than %d bytes",
			    CONTROL_MAX_REQUEST - 1);
	json_error_t je;
	/* jansson checks UTF-8 and refuses NUL in strings unless asked */
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return fail(err, errlen, "request is not JSON: %s", je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "request is not a JSON object");
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "command") && strcmp(key, "args") &&
		    strcmp(key, "json")) {
			char *k = text_escape_dup(key, strlen(key), false);
			fail(err, errlen, "unknown member '%.64s' in the request", k);
			free(k);
			json_decref(root);
			return -1;
		}
	}
	json_t *cmd = json_object_get(root, "command");
	json_t *args = json_object_get(root, "args");
	json_t *js = json_object_get(root, "json");
	if (!json_is_string(cmd) || !command_ok(json_string_value(cmd))) {
		json_decref(root);
		return fail(err, errlen, "'command' must be a command name");
	}
	if (args && !json_is_object(args)) {
		json_decref(root);
		return fail(err, errlen, "'args' must be an object");
	}
	if (js && !json_is_boolean(js)) {
		json_decref(root);
		return fail(err, errlen, "'json' must be true or false");
	}
	if (!args) {
		args = json_object();
		json_object_set_new(root, "args", args);
	}
	req->root = root;
	req->command = json_string_value(cmd);
	req->args = args;
	req->json = js && json_is_true(js);
	return 0;
}

void control_request_free(struct control_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

/* Checks one name; -1 with the reason. */
static int check_name(const char *key, const json_t *v, char *err,
		      size_t errlen)
{
	if (!json_is_string(v))
		return fail(err, errlen, "'%s' must be a string", key);
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return fail(err, errlen, "'%s' contains a NUL character", key);
	const char *why = text_name_problem(s);
	if (why)
		return fail(err, errlen, "'%s' %s", key, why);
	return 0;
}

static int check_one(const struct control_arg *a, const json_t *v, char *err,
		     size_t errlen)
{
	switch (a->type) {
	case CA_NAME:
		return check_name(a->key, v, err, errlen);
	case CA_ADDR: {
		unsigned char buf[16];
		const char *s = json_string_value(v);
		if (!json_is_string(v) || strlen(s) > 64 ||
		    (inet_pton(AF_INET, s, buf) != 1 &&
		     inet_pton(AF_INET6, s, buf) != 1))
			return fail(err, errlen, "'%s' must be an IPv4 or "
				    "IPv6 address", a->key);
		return 0;
	}
	case CA_UINT:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 0xffffffffLL)
			return fail(err, errlen, "'%s' must be a whole number "
				    "0..4294967295", a->key);
		return 0;
	case CA_COUNT:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > (1LL << 53) - 1)
			return fail(err, errlen, "'%s' must be a whole number "
				    "0..9007199254740991", a->key);
		return 0;
	case CA_NAMES: {
		if (!json_is_array(v) || json_array_size(v) > CONTROL_MAX_NAMES)
			return fail(err, errlen, "'%s' must be a list of at "
				    "most %d names", a->key, CONTROL_MAX_NAMES);
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
			if (check_name(a->key, e, err, errlen) < 0)
				return -1;
		return 0;
	}
	}
	return fail(err, errlen, "'%s': unknown type", a->key);
}

int control_check_args(const json_t *args, const struct control_arg *spec,
		       char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)args, key, v) {
		const struct control_arg *a = spec;
		while (a && a->key && strcmp(a->key, key))
			a++;
		if (!a || !a->key) {
			char *k = text_escape_dup(key, strlen(key), false);
			fail(err, errlen, "unknown argument '%.64s'", k);
			free(k);
			return -1;
		}
		if (check_one(a, v, err, errlen) < 0)
			return -1;
	}
	for (const struct control_arg *a = spec; a && a->key; a++)
		if (a->required && !json_object_get(args, a->key))
			return fail(err, errlen, "missing argument '%s'", a->key);
	return 0;
}

const char *control_arg_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

bool control_arg_uint(const json_t *args, const char *key, uint32_t *v)
{
	json_t *j = json_object_get(args, key);
	if (!json_is_integer(j))
		return false;
	*v = (uint32_t)json_integer_value(j);
	return true;
}

size_t control_arg_count(const json_t *args, const char *key)
{
	return json_array_size(json_object_get(args, key));
}

const char *control_arg_item(const json_t *args, const char *key, size_t i)
{
	return json_string_value(json_array_get(json_object_get(args, key), i));
}
