/*
 * test_ftpfilter.c — `filter ftp read-only`: the client's command stream
 * judged in place (src/sluiced/ftpfilter.c ftp_stream_judge()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* ---- the sessions (ftpfilter_judge) ---- */

/* An IPv4 TCP packet in BUF: 198.18.C.H:SPORT → 198.18.9.1:21 (REPLY: the
 * other way), FLAGS (TH_SYN 2, TH_ACK 16), SEQ, ACK, payload TEXT. Its
 * length. */
static size_t pkt4(uint8_t *buf, uint8_t c, uint8_t h, uint16_t sport,
		   bool reply, uint8_t flags, uint32_t seq, uint32_t ack,
		   const char *text)
{
	size_t n = strlen(text), len = 40 + n;
	uint8_t cli[4] = {198, 18, c, h}, srv[4] = {198, 18, 9, 1};
	uint16_t cp = sport, sp = 21;
	memset(buf, 0, 40);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[8] = 64;
	buf[9] = 6;
	memcpy(buf + 12, reply ? srv : cli, 4);
	memcpy(buf + 16, reply ? cli : srv, 4);
	uint16_t a = reply ? sp : cp, b = reply ? cp : sp;
	buf[20] = (uint8_t)(a >> 8), buf[21] = (uint8_t)a;
	buf[22] = (uint8_t)(b >> 8), buf[23] = (uint8_t)b;
	for (int i = 0; i < 4; i++) {
		buf[24 + i] = (uint8_t)(seq >> (24 - 8 * i));
		buf[28 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	buf[32] = 5 << 4;
	buf[33] = flags;
	memcpy(buf + 40, text, n);
	return len;
}

/* The server's SYN/ACK of client 198.18.C.H:SPORT at NOW (its ack 1001). */
static int synack(struct ftpfilter *f, uint8_t c, uint8_t h, uint16_t sport,
		  long long now)
{
	uint8_t b[128];
	size_t n = pkt4(b, c, h, sport, true, 0x12, 5000, 1001, "");
	return ftpfilter_judge(f, b, n, now);
}

/* The client's segment TEXT at 1001 from 198.18.C.H:SPORT at NOW. */
static int client(struct ftpfilter *f, uint8_t c, uint8_t h, uint16_t sport,
		  const char *text, long long now)
{
	uint8_t b[256];
	size_t n = pkt4(b, c, h, sport, false, 0x18, 1001, 5001, text);
	return ftpfilter_judge(f, b, n, now);
}

/* A flood of handshake-only sessions (SYN/ACKs whose clients never send)
 * from many addresses fills the table; a real session still finds a slot
 * (the oldest handshake-only one is reclaimed), while the sessions that
 * judged bytes are never taken. */
static void test_slots_reclaim(void **state)
{
	(void)state;
	struct ftpfilter *f = ftpfilter_new(0);
	struct ftpfilter_stats st;
	/* 10 real sessions that judged bytes */
	for (uint16_t i = 0; i < 10; i++) {
		assert_int_equal(synack(f, 1, (uint8_t)(100 + i), 40000, 0), 0);
		assert_int_equal(client(f, 1, (uint8_t)(100 + i), 40000,
					"USER a\r\n", 0), 0);
	}
	/* the flood: 1,050 spoofed clients in the same /24, one port each */
	for (unsigned i = 0; i < 1050; i++)
		assert_int_equal(synack(f, 2, (uint8_t)(i % 250),
					(uint16_t)(1024 + i), 1 + i / 100), 0);
	/* a new real session still gets a slot and is judged */
	assert_int_equal(synack(f, 3, 7, 50000, 20), 0);
	assert_int_equal(client(f, 3, 7, 50000, "DELE x\r\n", 20), 1);
	/* the first real sessions were kept */
	for (uint16_t i = 0; i < 10; i++)
		assert_int_equal(client(f, 1, (uint8_t)(100 + i), 40000,
					"USER a\r\n", 20), 0);
	ftpfilter_stats(f, &st);
	assert_int_equal(st.reclaimed, 10 + 1050 + 1 - FTP_SESSIONS);
	assert_int_equal(st.no_slot, 0);
	ftpfilter_free(f);
}

/* One source holds at most FTP_PER_SOURCE slots: past that its new session
 * takes one of its own handshake-only slots; when all of its slots judged
 * bytes, its new session finds none (dropped), others still do. */
static void test_slots_per_source(void **state)
{
	(void)state;
	struct ftpfilter *f = ftpfilter_new(0);
	ftpfilter_set_prefix(f, 24, 64);
	for (unsigned i = 0; i < FTP_PER_SOURCE; i++) {
		uint16_t port = (uint16_t)(2000 + i);
		assert_int_equal(synack(f, 4, (uint8_t)i, port, 0), 0);
		assert_int_equal(client(f, 4, (uint8_t)i, port, "NOOP\r\n", 0),
				 0);
	}
	/* the /24 is full of sessions that judged bytes: refused */
	assert_int_equal(synack(f, 4, 200, 3000, 1), -1);
	/* another /24 is not */
	assert_int_equal(synack(f, 5, 1, 3000, 1), 0);
	assert_int_equal(client(f, 5, 1, 3000, "NOOP\r\n", 1), 0);
	/* a whole /24 of handshake-only sessions churns its own share only */
	for (unsigned i = 0; i < 3 * FTP_PER_SOURCE; i++)
		assert_int_equal(synack(f, 6, (uint8_t)(i % 250),
					(uint16_t)(4000 + i), 2), 0);
	assert_int_equal(client(f, 5, 1, 3000, "NOOP\r\n", 3), 0);
	for (unsigned i = 0; i < FTP_PER_SOURCE; i++)
		assert_int_equal(client(f, 4, (uint8_t)i, (uint16_t)(2000 + i),
					"NOOP\r\n", 3), 0);
	/* 10 minutes later the judged sessions are still theirs */
	assert_int_equal(synack(f, 4, 200, 3000, 600), -1);
	/* after IDLE_S (900 s) silent, one is taken again */
	assert_int_equal(synack(f, 4, 200, 3000, 1000), 0);
	ftpfilter_free(f);
}

/* A handshake-only slot is forgotten after 60 s: a client byte then finds
 * no stream (dropped). */
static void test_slots_handshake_timeout(void **state)
{
	(void)state;
	struct ftpfilter *f = ftpfilter_new(0);
	assert_int_equal(synack(f, 7, 1, 1234, 0), 0);
	assert_int_equal(client(f, 7, 1, 1234, "NOOP\r\n", 59), 0);
	assert_int_equal(synack(f, 7, 2, 1234, 0), 0);
	assert_int_equal(client(f, 7, 2, 1234, "NOOP\r\n", 61), -1);
	ftpfilter_free(f);
}

/* The client's SYN: plain passes, with data (TCP Fast Open) is dropped. */
static void test_syn_data(void **state)
{
	(void)state;
	struct ftpfilter *f = ftpfilter_new(0);
	uint8_t b[128];
	size_t n = pkt4(b, 8, 1, 1500, false, 0x02, 1000, 0, "");
	assert_int_equal(ftpfilter_judge(f, b, n, 0), 0);
	n = pkt4(b, 8, 1, 1501, false, 0x02, 1000, 0, "DELE x\r\n");
	assert_int_equal(ftpfilter_judge(f, b, n, 0), -1);
	n = pkt4(b, 8, 1, 1501, false, 0x02, 1000, 0, "RETR x\r\n");
	assert_int_equal(ftpfilter_judge(f, b, n, 0), -1);
	struct ftpfilter_stats st;
	ftpfilter_stats(f, &st);
	assert_int_equal(st.syn_data, 2);
	assert_int_equal(st.dropped, 2);
	/* the plain handshake after it is judged as usual */
	assert_int_equal(synack(f, 8, 1, 1501, 0), 0);
	assert_int_equal(client(f, 8, 1, 1501, "DELE x\r\n", 0), 1);
	ftpfilter_free(f);
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
	    cmocka_unit_test(test_slots_reclaim),
	    cmocka_unit_test(test_slots_per_source),
	    cmocka_unit_test(test_slots_handshake_timeout),
	    cmocka_unit_test(test_syn_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
