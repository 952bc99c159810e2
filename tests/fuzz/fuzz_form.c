/*
 * fuzz_form.c — libFuzzer harness for the login portal's form reader
 * (src/portal/form.c, the body of a sign-in). Any bytes: each key gives
 * absent, too long / bad escape, or a value that fits its buffer, is
 * NUL-terminated and no longer than the bytes it came from — never a
 * crash, an overread or undefined behaviour, whatever the buffer size.
 */
#include "portal/portal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the body */
	char *body = malloc(size ? size : 1);
	if (!body)
		return 0;
	memcpy(body, data, size);
	static const char *const keys[] = {"user", "password", "", "a"};
	static const size_t sizes[] = {1, 2, 16, 1025};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			char *out = malloc(sizes[s]);
			size_t len = 0;
			int rc = form_value(body, size, keys[k], out, sizes[s],
					    &len);
			if (rc == 0 && (len >= sizes[s] || len > size ||
					out[len] != '\0'))
				abort();
			if (rc != 0 && rc != -1 && rc != -2)
				abort();
			free(out);
		}
	free(body);
	return 0;
}
