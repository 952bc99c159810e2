/*
 * fuzz_radius.c — libFuzzer harness for the RADIUS accounting reader
 * (src/identity/radius.c) and the identity state file reader
 * (idtable_load). The first byte picks what the rest is:
 *   0-127  a datagram as it came (almost always a bad authenticator);
 *   128-253 a datagram signed here with the shared secret first (its
 *          Length field kept), so the attribute parser is reached;
 *   254-255 a state file.
 * Any bytes must give a drop or an answer, never a crash, a leak or
 * undefined behaviour; an answer is 20 bytes of code 5 and the request's
 * identifier; a stranger is never answered; whatever reaches the table is
 * a valid name (common/text.h), and no IPv6 prefix it learns from RADIUS
 * is wider than RADIUS_V6_PLEN_MIN.
 */
#include "common/text.h"
#include "identity/idtable.h"
#include "identity/radius.h"
#include "policy/internal.h"

#include <nettle/md5.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t SECRET[] = "fuzzing-secret";

static void check_entry(void *arg, int family, const uint8_t *addr,
			unsigned plen, const struct identity *id)
{
	if (text_name_problem(id->user) || id->source >= IDS_COUNT)
		abort();
	/* RADIUS never teaches an IPv6 prefix wider than one subscriber's */
	if (id->source == IDS_RADIUS && family == AF_INET6 &&
	    plen < RADIUS_V6_PLEN_MIN)
		abort();
}

static void datagram(struct idtable *t, const uint8_t *pkt, size_t len,
		     bool sign)
{
	uint8_t buf[RADIUS_MAX + 64], resp[RADIUS_HDR];
	if (len > sizeof(buf))
		len = sizeof(buf);
	memcpy(buf, pkt, len);
	if (sign && len >= RADIUS_HDR) {
		size_t plen = (size_t)buf[2] << 8 | buf[3];
		if (plen > len)
			plen = len;
		memset(buf + 4, 0, 16);
		struct md5_ctx c;
		md5_init(&c);
		md5_update(&c, plen, buf);
		md5_update(&c, sizeof(SECRET) - 1, SECRET);
		md5_digest(&c, 16, buf + 4);
	}
	struct addrset clients = {0};
	char *err = NULL;
	if (addrset_parse_elem(&clients, "127.0.0.0/8", &err) < 0)
		abort();
	addrset_normalize(&clients);
	/* the replay memory, as the listener has it: one for the run */
	static struct radius_seen *seen;
	if (!seen)
		seen = radius_seen_new();
	struct radius_ctx ctx = {.ids = t, .clients = &clients, .ttl_s = 60,
				 .seen = seen};
	memcpy(ctx.secret, SECRET, sizeof(SECRET) - 1);
	ctx.slen = sizeof(SECRET) - 1;
	const uint8_t lo[4] = {127, 0, 0, 1}, far[4] = {198, 18, 0, 1};
	int64_t now = (int64_t)time(NULL);
	if (radius_handle(&ctx, AF_INET, far, buf, len, now, resp) !=
	    RADIUS_DROPPED_CLIENT)
		abort();
	if (radius_handle(&ctx, AF_INET, lo, buf, len, now, resp) ==
		RADIUS_ANSWERED &&
	    (resp[0] != RADIUS_ACCT_RESPONSE || resp[1] != buf[1] ||
	     resp[3] != RADIUS_HDR))
		abort();
	addrset_free(&clients);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct idtable *t = idtable_new();
	const char *ign[] = {"nagios"};
	char *own_v[] = {"CORP.EXAMPLE", "CORP"};
	const struct own_realms own = {own_v, 2};
	idtable_set_ignore(t, ign, 1, &own);
	if (data[0] >= 254)
		idtable_load(t, (const char *)data + 1, size - 1, 0);
	else
		datagram(t, data + 1, size - 1, data[0] >= 128);
	idtable_each(t, check_entry, NULL);
	size_t len;
	free(idtable_save(t, &len));
	idtable_free(t);
	return 0;
}
