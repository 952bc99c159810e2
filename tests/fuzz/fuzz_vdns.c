/*
 * fuzz_vdns.c — libFuzzer harness for the DNS verifier's judge of an answer
 * (src/verify/probe_dns.c vdns_judge_answer, on c-ares's parser). Any
 * bytes, as the answer to an A and to an AAAA query, with and without an
 * expected address, must end as one of the verifier's results — never a
 * read past the end, a crash, a leak or undefined behaviour — and VR_OK
 * only with an empty detail; an expected address nobody could have sent
 * (the input is too short to hold it) is never ok.
 */
#include <arpa/nameser.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verify/verify_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void judge(int type, const uint8_t *want, const uint8_t *data,
		  size_t size)
{
	char detail[128];
	enum vresult r = vdns_judge_answer(type, "fuzz.example", want, data,
					   (int)size, detail, sizeof(detail));

	if (r != VR_OK && r != VR_ANSWER && r != VR_DNS && r != VR_OTHER)
		abort();
	if (r == VR_OK && detail[0])
		abort();
	if (r != VR_OK && !detail[0])
		abort();
	/* an answer of fewer bytes than a header and a record cannot hold
	 * any address, let alone the expected one */
	if (r == VR_OK && size < 12 + 1 + 4 + 10 + 4)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t want[16] = {198, 18, 0, 10};

	if (size > 65535)
		return 0;
	judge(ns_t_a, NULL, data, size);
	judge(ns_t_aaaa, NULL, data, size);
	judge(ns_t_a, want, data, size);
	judge(ns_t_aaaa, want, data, size);
	return 0;
}
