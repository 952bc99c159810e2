/*
 * test_ftpfilter.c — `filter ftp read-only`: the client's command stream
 * judged in place (src/sluiced/ftpfilter.c ftp_stream_judge()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sluiced/ftpfilter.h"

/* Judges TEXT as the segment at SEQ of S; the rewritten text in OUT. */
static int judge(struct ftp_stream *s, uint32_t seq, const char *text,
		 char *out)
{
	size_t n = strlen(text);
	memcpy(out, text, n + 1);
	return ftp_stream_judge(s, seq, (uint8_t *)out, n);
}

static void test_commands(void **state)
{
	(void)state;
	assert_true(ftp_command_reads("RETR", 4));
	assert_true(ftp_command_reads("retr", 4));
	assert_true(ftp_command_reads("EpSv", 4));
	assert_true(ftp_command_reads("CWD", 3));
	static const char *const refused[] = {
	    "STOR", "STOU", "APPE", "DELE", "RMD", "XRMD", "MKD", "XMKD",
	    "RNFR", "RNTO", "SITE", "AUTH", "ALLO", "STORE", "RET", ""};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_false(ftp_command_reads(refused[i], strlen(refused[i])));
}

/* A stream started by the server's SYN/ACK acknowledging ACK. */
static struct ftp_stream *started(uint32_t ack)
{
	struct ftp_stream *s = malloc(sizeof(*s));
	assert_non_null(s);
	ftp_stream_init(s);
	assert_int_equal(ftp_stream_start(s, ack), 0);
	return s;
}

static void test_lines(void **state)
{
	(void)state;
	struct ftp_stream *s = started(1000);
	char out[256];
	assert_int_equal(judge(s, 1000, "", out), 0); /* the handshake ACK */
	assert_int_equal(judge(s, 1000, "USER anonymous\r\n", out), 0);
	assert_string_equal(out, "USER anonymous\r\n");
	assert_int_equal(judge(s, 1016, "RETR a\r\nSTOR b\r\ndele c\r\n", out), 2);
	assert_string_equal(out, "RETR a\r\nSTXX b\r\nXXXX c\r\n");
	/* a retransmission of the same bytes gets what was judged */
	assert_int_equal(judge(s, 1024, "STOR b\r\n", out), 0);
	assert_string_equal(out, "STXX b\r\n");
	/* an overlap: old bytes (the same) as judged, the new ones judged */
	assert_int_equal(judge(s, 1038, "\r\nMKD d\r\n", out), 1);
	assert_string_equal(out, "\r\nMXX d\r\n");
	/* ahead of the stream: dropped */
	assert_int_equal(judge(s, 5000, "LIST\r\n", out), -1);
	free(s);
}

/* A command split over segments: the server never sees it whole. */
static void test_split(void **state)
{
	(void)state;
	struct ftp_stream *s = started(1);
	char out[64];
	assert_int_equal(judge(s, 1, "ST", out), 0); /* start of STAT */
	assert_string_equal(out, "ST");
	assert_int_equal(judge(s, 3, "OR x\r\n", out), 1);
	assert_string_equal(out, "XX x\r\n");
	assert_int_equal(judge(s, 9, "RE", out), 0);
	assert_int_equal(judge(s, 11, "TR y\r\n", out), 0);
	assert_string_equal(out, "TR y\r\n");
	/* an argument that reads like a command stays an argument */
	assert_int_equal(judge(s, 17, "RETR STOR\r\n", out), 0);
	/* a word longer than any command */
	assert_int_equal(judge(s, 28, "RETRRETR\r\n", out), 1);
	assert_string_equal(out, "RETRXXXX\r\n");
	/* before the kept window: dropped */
	char big[FTP_WINDOW + 8];
	memset(big, 'a', sizeof(big));
	memcpy(big, "LIST ", 5);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = 0;
	char *bout = malloc(sizeof(big));
	assert_int_equal(judge(s, 38, big, bout), 0);
	/* the tail of the window, as sent, is still compared */
	uint32_t end = 38 + (uint32_t)strlen(big);
	assert_int_equal(judge(s, end - 2, "a\n", out), 0);
	assert_int_equal(judge(s, end - 2, "b\n", out), -1);
	free(bout);
	assert_int_equal(judge(s, 38, "LIST\r\n", out), -1);
	free(s);
}

/* The attack of /work/attack68 finding 3: the first data segment starts 5
 * bytes before ISN + 1 ("NOOP " + "STOR evil.txt"): the server would read
 * only "STOR evil.txt". Dropped; the in-order resend is judged. */
static void test_before_start(void **state)
{
	(void)state;
	struct ftp_stream *s = started(1001); /* ISN 1000 */
	char out[64];
	assert_int_equal(judge(s, 996, "NOOP STOR evil.txt\r\n", out), -1);
	assert_int_equal(judge(s, 1000, "NSTOR evil.txt\r\n", out), -1);
	assert_int_equal(judge(s, 1001, "STOR evil.txt\r\n", out), 1);
	assert_string_equal(out, "STXX evil.txt\r\n");
	/* far before the start (a negative serial distance): dropped */
	assert_int_equal(judge(s, 1001u + 0x80000000u, "STOR x\r\n", out), -1);
	free(s);
}

/* Overlapping data that differs from what was judged: dropped, the stream
 * unchanged (the server keeps its first copy or takes the judged one). */
static void test_overlap_differs(void **state)
{
	(void)state;
	struct ftp_stream *s = started(100);
	char out[64];
	assert_int_equal(judge(s, 100, "NOOP\r\n", out), 0);
	/* the judged segment never reached the server (its TTL expired
	 * past the gateway); the retransmission says something else */
	assert_int_equal(judge(s, 100, "STOR\r\n", out), -1);
	/* a partial overlap whose old part differs */
	assert_int_equal(judge(s, 104, "XXSTOR y\r\n", out), -1);
	/* whole retransmission, one byte differs in case only */
	assert_int_equal(judge(s, 100, "noop\r\n", out), -1);
	/* the same old bytes plus new ones: the new ones judged */
	assert_int_equal(judge(s, 104, "\r\nSTOR y\r\n", out), 1);
	assert_string_equal(out, "\r\nSTXX y\r\n");
	assert_int_equal(judge(s, 100, "NOOP\r\nSTOR y\r\n", out), 0);
	assert_string_equal(out, "NOOP\r\nSTXX y\r\n");
	free(s);
}

/* A segment after a gap: dropped unjudged, nothing learnt from it. */
static void test_gap(void **state)
{
	(void)state;
	struct ftp_stream *s = started(7);
	char out[64];
	assert_int_equal(judge(s, 7, "NO", out), 0);
	assert_int_equal(judge(s, 10, "P STOR z\r\n", out), -1);
	assert_int_equal(judge(s, 9, "OP\r\nDELE z\r\n", out), 1);
	assert_string_equal(out, "OP\r\nXXXX z\r\n");
	free(s);
}

/* Sequence numbers wrap (RFC 1982 serial arithmetic). */
static void test_wrap(void **state)
{
	(void)state;
	struct ftp_stream *s = started(0xfffffffcu);
	char out[64];
	assert_int_equal(judge(s, 0xfffffffcu, "NOOP\r\n", out), 0);
	/* next is 2 now: new bytes and then a retransmission across the wrap */
	assert_int_equal(judge(s, 0xfffffffeu, "OP\r\nRMD q\r\n", out), 1);
	assert_string_equal(out, "OP\r\nRXX q\r\n");
	assert_int_equal(judge(s, 0xfffffffeu, "OP\r\nRMD q\r\n", out), 0);
	assert_string_equal(out, "OP\r\nRXX q\r\n");
	assert_int_equal(judge(s, 0xfffffffeu, "OP\r\nRMD r\r\n", out), -1);
	/* before the start, across the wrap */
	assert_int_equal(judge(s, 0xfffffff0u, "xxxxxxxxxxxxNOOP\r\n", out), -1);
	/* after a gap, across the wrap */
	assert_int_equal(judge(s, 100, "LIST\r\n", out), -1);
	assert_int_equal(judge(s, 9, "LIST\r\n", out), 0);
	free(s);
}

/* No SYN/ACK seen: nothing judged, every segment with data dropped; a
 * second SYN/ACK that moves the start is refused. */
static void test_start(void **state)
{
	(void)state;
	struct ftp_stream *s = malloc(sizeof(*s));
	char out[64];
	ftp_stream_init(s);
	assert_int_equal(judge(s, 1, "NOOP\r\n", out), -1);
	assert_int_equal(ftp_stream_start(s, 50), 0);
	assert_int_equal(ftp_stream_start(s, 50), 0); /* retransmitted */
	assert_int_equal(ftp_stream_start(s, 45), -1);
	assert_int_equal(judge(s, 45, "NOOP STOR a\r\n", out), -1);
	assert_int_equal(judge(s, 50, "STOR a\r\n", out), 1);
	assert_int_equal(ftp_stream_start(s, 50), 0);
	assert_int_equal(ftp_stream_start(s, 58), -1);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_before_start),
	    cmocka_unit_test(test_overlap_differs),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
