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

static void test_lines(void **state)
{
	(void)state;
	struct ftp_stream *s = malloc(sizeof(*s));
	char out[256];
	ftp_stream_init(s);
	assert_int_equal(judge(s, 1000, "", out), 0); /* the handshake ACK */
	assert_int_equal(judge(s, 1000, "USER anonymous\r\n", out), 0);
	assert_string_equal(out, "USER anonymous\r\n");
	assert_int_equal(judge(s, 1016, "RETR a\r\nSTOR b\r\ndele c\r\n", out), 2);
	assert_string_equal(out, "RETR a\r\nSTXX b\r\nXXXX c\r\n");
	/* a command word passes as far as it starts a reader (ST of STAT),
	 * the rest is refused: the server sees no known command */
	/* a retransmission gets what was judged, whatever it now says */
	assert_int_equal(judge(s, 1024, "NOOP x\r\n", out), 0);
	assert_string_equal(out, "STXX b\r\n");
	/* an overlap: old bytes as judged, the new ones judged */
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
	struct ftp_stream *s = malloc(sizeof(*s));
	char out[64];
	ftp_stream_init(s);
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
	free(bout);
	assert_int_equal(judge(s, 38, "LIST\r\n", out), -1);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
