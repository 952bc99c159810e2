/*
 * text.h — names and text from outside (a portal, RADIUS, a directory, DNS)
 * checked and made safe to print. A name may hold any valid UTF-8 except
 * control characters; what is shown of text that breaks those rules is
 * escaped, never written raw to a terminal, a log or a JSON document.
 */
#ifndef SLUICE_TEXT_H
#define SLUICE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Longest name (user, group, member, alert) in bytes, as the control
 * protocol and the identity table take it. */
#define TEXT_NAME_MAX 256

/* Length of the valid UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF) starting at S (N bytes available): 1-4, or
 * 0 when S does not start one. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* True when the N bytes at S are valid UTF-8 (RFC 3629). */
bool utf8_valid(const char *s, size_t n);

/* True when code point CP is a control character: C0 (U+0000-U+001F),
 * DEL (U+007F) or C1 (U+0080-U+009F). */
bool text_is_control(unsigned cp);

/* True when code point CP is a Unicode format character (general
 * category Cf, libunistring): bidi overrides and isolates (U+202A-U+202E,
 * U+2066-U+2069), zero-width characters (U+200B-U+200F, U+2060, U+FEFF),
 * the soft hyphen U+00AD and others; invisible, or reordering what is
 * shown around them. */
bool text_is_format(unsigned cp);

/*
 * Checks the name S (NUL-terminated): not empty, at most TEXT_NAME_MAX
 * bytes, valid UTF-8, no control character, no format character
 * (text_is_format: a name shown as another, `admin` + U+202E + `gpj.exe`
 * printed as "adminexe.jpg"). Returns NULL when good, else a static
 * phrase saying what is wrong ("contains a control character").
 */
const char *text_name_problem(const char *s);

/*
 * Writes the N bytes of SRC to DST (DSTLEN bytes, always NUL-terminated
 * when DSTLEN > 0) with each control character and each byte that is not
 * part of valid UTF-8 written as \xNN (a C1 control as the \xNN of each of
 * its two bytes); a '\n' is kept when KEEP_NEWLINE. Output that does not
 * fit is cut at a character boundary. Returns the length written.
 */
size_t text_escape(char *dst, size_t dstlen, const char *src, size_t n,
		   bool keep_newline);

/* The same into a new string (to free); never NULL. */
char *text_escape_dup(const char *src, size_t n, bool keep_newline);

/*
 * For JSON text whose strings may hold bytes from outside: returns a copy
 * of the N bytes of SRC (to free) where a byte that is not valid UTF-8
 * becomes the six characters \\xNN (inside a JSON string: the text
 * "\xNN") and a control character other than '\n' becomes \u00NN.
 * Valid JSON in stays valid JSON out, and the result is UTF-8.
 */
char *text_escape_json_dup(const char *src, size_t n);

#endif
