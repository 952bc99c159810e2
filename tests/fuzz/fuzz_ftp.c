/*
 * fuzz_ftp.c — `filter ftp read-only` (src/sluiced/ftpfilter.c) against
 * any client byte stream cut into any segments, in any order, overlapping
 * and retransmitted: the input is a list of segments (2-byte offset,
 * 1-byte length, bytes), judged by ftp_stream_judge() in that order. A
 * receiver like the server's TCP takes each byte the first time it is
 * reached in order. The property: the server's stream never holds a line
 * whose command word is one read-only refuses (STOR, DELE, ...), and a
 * segment judged again reads the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sluiced/ftpfilter.h"
#include "ftp_writers.h"

#define STREAM 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ftp_stream st;
	static uint8_t server[STREAM];
	uint8_t seg[256], again[256];
	size_t have = 0; /* bytes the server holds, in order */
	const uint32_t isn = 1000;

	ftp_stream_init(&st);
	ftp_stream_judge(&st, isn, seg, 0); /* the handshake's ACK */
	while (size >= 3) {
		size_t off = (size_t)(data[0] << 8 | data[1]) % STREAM;
		size_t len = data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		memcpy(seg, data, len);
		data += len;
		size -= len;
		int r = ftp_stream_judge(&st, isn + (uint32_t)off, seg, len);
		if (r < 0 || off > have || off + len > STREAM)
			continue;
		/* judged again (a retransmission): the same bytes */
		memcpy(again, data - len, len);
		if (ftp_stream_judge(&st, isn + (uint32_t)off, again, len) < 0 ||
		    memcmp(again, seg, len) != 0)
			abort();
		if (off + len > have) {
			memcpy(server + have, seg + (have - off), off + len - have);
			have = off + len;
		}
		ftp_check_no_writer(server, have);
	}
	return 0;
}
