/*
 * fuzz_nflog.c — libFuzzer harness for the NFLOG record reader
 * (kernel/nflog.c): the kernel hands sluiced the first packet of a session
 * a `log` rule decided, and the packet is from anywhere. Any bytes, read
 * as a netlink datagram the way the reader reads one (mnl_cb_run), must
 * give a record or be refused; never a read past the end, a crash or
 * undefined behaviour. What reads is checked for sense.
 */
#include "kernel/nflog.h"
#include "common/nlwalk.h"

#include <stddef.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct nflog_rec r;
	if (nflog_parse_msg(nlh, &r)) {
		if (r.rule_id == 0 || r.rule_id > 0x3fff)
			abort();
		if (r.action != ACT_ALLOW && r.action != ACT_DENY &&
		    r.action != ACT_REJECT)
			abort();
		if (r.flow.family != AF_INET && r.flow.family != AF_INET6)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the reader's datagram buffer: aligned, at most 64 KiB */
	static _Alignas(NLMSG_ALIGNTO) char buf[65536];
	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	nlwalk(buf, size, on_msg, NULL);
	return 0;
}
