/*
 * fuzz_control.c — libFuzzer harness for the control socket's request
 * parser (src/control/request.c) and the escaping of what the daemon sends
 * back (common/text.h). Any bytes must give a request or a one-line error,
 * never a crash, a leak or undefined behaviour; a request's arguments are
 * checked against specs of every argument type; the escaped form of any
 * bytes is valid UTF-8 with no control character but '\n'.
 */
#include "control/control.h"
#include "common/text.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct control_arg spec_all[] = {
    {"address", CA_ADDR, true}, {"user", CA_NAME, true},
    {"groups", CA_NAMES, false}, {"ttl", CA_UINT, false}, {NULL, 0, false}};
static const struct control_arg spec_optional[] = {
    {"name", CA_NAME, false}, {"from", CA_ADDR, false},
    {"port", CA_UINT, false}, {"members", CA_NAMES, false},
    {NULL, 0, false}};

/* The escaped form holds no control character but '\n' and is UTF-8. */
static void check_escape(const char *s, size_t n)
{
	char *e = text_escape_dup(s, n, true);
	size_t len = strlen(e);
	if (!utf8_valid(e, len))
		abort();
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)e[i] < 0x20 && e[i] != '\n') || e[i] == 0x7f)
			abort();
	free(e);
	e = text_escape_json_dup(s, n);
	len = strlen(e);
	if (!utf8_valid(e, len))
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)e[i] < 0x20 && e[i] != '\n')
			abort();
	free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	check_escape(text, size);
	struct control_request req;
	char err[256];
	if (control_parse_request(text, size, &req, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)))
			abort();
		return 0;
	}
	if (!req.command || !req.args)
		abort();
	const struct control_arg *specs[] = {spec_all, spec_optional, NULL};
	for (size_t i = 0; i < 3; i++) {
		if (control_check_args(req.args, specs[i], err, sizeof(err)) < 0)
			continue;
		/* what passed is what the handlers may rely on */
		const char *u = control_arg_str(req.args, "user");
		if (u && text_name_problem(u))
			abort();
		for (size_t k = 0; k < control_arg_count(req.args, "groups"); k++)
			if (text_name_problem(control_arg_item(req.args, "groups", k)))
				abort();
		uint32_t v;
		control_arg_uint(req.args, "ttl", &v);
	}
	control_request_free(&req);
	return 0;
}
