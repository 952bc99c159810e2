/*
 * fuzz_http.c — libFuzzer harness for the request reader of the capped
 * HTTP server (src/stats/httpsrv.c: the metrics endpoint and the identity
 * push API). Any bytes, read whole and in two pieces, must give "more",
 * a complete request inside the bytes, or one of the statuses the server
 * answers — never a crash, a leak or undefined behaviour; a prefix of a
 * complete request is never complete with a different split.
 */
#include "stats/httpsrv.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(const char *buf, size_t len)
{
	size_t hlen = 0, blen = 0;
	int rc = http_parse_request(buf, len, 16384, &hlen, &blen);
	switch (rc) {
	case 0:
		if (hlen < 2 || hlen > 8192 + 2 || blen > 16384 ||
		    hlen + blen > len)
			abort();
		break;
	case 1: case 400: case 411: case 413: case 431:
		break;
	default:
		abort();
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int whole = check((const char *)data, size);
	size_t cut = size / 2;
	int part = check((const char *)data, cut);
	/* what is complete in the first half is complete, the same, whole */
	if (part == 0 && whole != 0)
		abort();
	return 0;
}
