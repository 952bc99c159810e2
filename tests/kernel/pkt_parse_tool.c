/*
 * pkt_parse_tool — reads lines "NAME HEX" (a packet from its network
 * header) on stdin and prints, per line, how packet_parse() reads it:
 *   NAME ok PROTO PORT     PORT: the destination port, "type:N" for ICMP,
 *                          "-" for a protocol without ports
 *   NAME unreadable        packet_parse() refused it (sluiced denies it)
 * The driver of tests/kernel/21_packet_classify.sh, which compares this
 * with what the kernel's nftables matched on the same packets.
 */
#include "packet/packet.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes HEX into OUT (room for CAP bytes); the length, or -1. */
static long unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex), k = 0;
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;
		if (sscanf(hex + i, "%2x", &v) != 1)
			return -1;
		out[k++] = (uint8_t)v;
	}
	return (long)k;
}

int main(void)
{
	static char line[300000];
	static uint8_t pkt[PACKET_COPY_MAX + 4];
	while (fgets(line, sizeof(line), stdin)) {
		char name[64], *hex = malloc(strlen(line) + 1);
		if (!hex || sscanf(line, "%63s %s", name, hex) != 2) {
			free(hex);
			continue;
		}
		long n = unhex(hex, pkt, sizeof(pkt));
		free(hex);
		if (n < 0) {
			printf("%s bad-input\n", name);
			continue;
		}
		struct flow f;
		struct session_key k;
		if (packet_parse(pkt, (size_t)n, (size_t)n, &f, &k) < 0) {
			printf("%s unreadable\n", name);
			continue;
		}
		printf("%s ok %u ", name, f.proto);
		if (f.proto == IPPROTO_ICMP || f.proto == IPPROTO_ICMPV6)
			printf("type:%u\n", f.icmp_type);
		else if (f.proto == IPPROTO_TCP || f.proto == IPPROTO_UDP ||
			 f.proto == IPPROTO_UDPLITE || f.proto == IPPROTO_SCTP ||
			 f.proto == IPPROTO_DCCP)
			printf("%u\n", f.dport);
		else
			printf("-\n");
	}
	return 0;
}
