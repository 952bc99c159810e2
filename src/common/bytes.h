/*
 * bytes.h — loads of big-endian (network order) fields from byte buffers,
 * at any alignment; defined once for the packet parser and the conntrack
 * reader.
 */
#ifndef SLUICE_BYTES_H
#define SLUICE_BYTES_H

#include <stdint.h>

/* The 16-bit big-endian value at B. */
static inline uint16_t load16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* The 32-bit big-endian value at B. */
static inline uint32_t load32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/* The 128-bit big-endian value at B (an IPv6 address as a number). */
static inline unsigned __int128 load128(const uint8_t *b)
{
	unsigned __int128 v = 0;
	for (int i = 0; i < 16; i++)
		v = (v << 8) | b[i];
	return v;
}

#endif
