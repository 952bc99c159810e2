/*
 * fuzz_packet.c — libFuzzer harness for the queued-packet parser. Any bytes
 * must parse into header facts or be refused (-1: the decider then denies
 * the packet and counts it as malformed); never a read past the end,
 * a crash or undefined behaviour. What parses is formatted, hashed and
 * evaluated against a small policy, as the decider would.
 */
#include "policy/policy.h"
#include "queue/packet.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_text[] =
    "network clients { 198.18.1.0/24 2001:db8:1::/64 }\n"
    "network servers { 198.18.2.0/24 2001:db8:2::/64 }\n"
    "users staff { group staff }\n"
    "protocol web tcp { 80 443 }\n"
    "protocol voice udp 5301\n"
    "protocol ping icmp echo-request\n"
    "protocol ping6 icmpv6 echo-request\n"
    "rule \"staff web\" allow web from clients to servers users staff\n"
    "rule \"voice\" allow voice from clients to servers\n"
    "rule \"ping\" allow { ping ping6 } from any to any\n";

static struct engine *engine(void)
{
	static struct policy *p; /* both kept for the whole run */
	static struct engine *e;
	if (!e) {
		struct diags d = {0};
		p = policy_load_buffer("fuzz.conf", policy_text,
				       strlen(policy_text), &d);
		if (!p)
			abort();
		e = engine_build(p);
		diags_free(&d);
	}
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy: the parser must not read beyond SIZE */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	struct flow f;
	struct session_key k;
	if (packet_parse(copy, size, &f, &k) == 0) {
		char buf[160];
		session_key_format(&k, buf, sizeof(buf));
		(void)session_key_hash(&k);
		struct decision dec;
		engine_eval(engine(), &f, NULL, &dec);
	}
	free(copy);
	return 0;
}
