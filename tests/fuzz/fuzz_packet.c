/*
 * fuzz_packet.c — libFuzzer harness for the queued-packet parser. Any bytes
 * must parse into header facts or be refused (-1: the decider then denies
 * the packet and counts it in packets_misread); never a read past the end,
 * a crash or undefined behaviour. The first byte of an input says where
 * the copy is cut, as NFQUEUE's copy range would cut it; the rest is the
 * packet. What parses is formatted, hashed and evaluated against a small
 * policy, as the decider would.
 */
#include "policy/policy.h"
#include "packet/packet.h"

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

/* Parses LEN bytes of a packet WIRE bytes long from a private copy (the
 * parser must not read beyond LEN) and uses what it found. */
static void one(const uint8_t *data, size_t len, size_t wire)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, data, len);
	struct flow f;
	struct session_key k;
	if (packet_parse(copy, len, wire, &f, &k) == 0) {
		char buf[160];
		session_key_format(&k, buf, sizeof(buf));
		(void)session_key_hash(&k);
		struct decision dec;
		engine_eval(engine(), &f, NULL, &dec);
	}
	free(copy);
}

/* The first byte is where NFQUEUE's copy range cuts the packet: 0xff not
 * at all, else after that many times 8 bytes; the rest is the packet. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t wire = size - 1, cut = (size_t)data[0] * 8;
	one(data + 1, data[0] == 0xff || cut > wire ? wire : cut, wire);
	return 0;
}
