/*
 * fuzz_policy.c — libFuzzer harness for the policy parser and checker.
 * Any input must give either a policy or located errors; never a crash, a
 * leak or undefined behaviour. Includes are read relative to a name that
 * does not exist, so the fuzzer cannot reach real files beyond that.
 */
#include "policy/policy.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = {0};
	struct policy *p =
	    policy_load_buffer("/nonexistent/fuzz.conf", (const char *)data,
			       size, &d);
	if (p) {
		struct engine *e = engine_build(p);
		struct flow f = {.family = 2, .proto = 6, .dport = 80};
		struct decision dec;
		engine_eval(e, &f, NULL, &dec);
		engine_free(e);
	}
	policy_free(p);
	diags_free(&d);
	return 0;
}
