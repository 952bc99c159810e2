/*
 * ftp_writers.h — the fuzz harnesses' own oracle for `filter ftp
 * read-only` (fuzz_ftp.c, fuzz_filterpkt.c): the FTP commands that write,
 * written here independently of src/sluiced/ftpfilter.c's list of commands
 * that read.
 */
#ifndef SLUICE_FUZZ_FTP_WRITERS_H
#define SLUICE_FUZZ_FTP_WRITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const ftp_writers[] = {"STOR", "STOU", "APPE", "DELE",
					  "RMD",  "XRMD", "MKD",  "XMKD",
					  "RNFR", "RNTO", "SITE", "AUTH"};

/* Aborts when a line of S[0..N) starts with a whole command word that
 * writes (one the server has seen end). */
static inline void ftp_check_no_writer(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t w = i;
		while (w < n && s[w] != ' ' && s[w] != '\r' && s[w] != '\n')
			w++;
		bool whole = w < n;
		for (size_t k = 0;
		     whole && k < sizeof(ftp_writers) / sizeof(*ftp_writers); k++)
			if (w - i == strlen(ftp_writers[k]) &&
			    strncasecmp((const char *)s + i, ftp_writers[k],
					w - i) == 0)
				abort();
		while (w < n && s[w] != '\n')
			w++;
		i = w + 1;
	}
}

#endif
