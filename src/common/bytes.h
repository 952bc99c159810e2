/*
 * bytes.h — loads of big-endian (network order) fields from byte buffers,
 * at any alignment; defined once for the packet parser and the conntrack
 * reader. And an address cut to its prefix, for everything that counts a
 * source by its subnet.
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

/* B[0..4) = V, big-endian. */
static inline void store32(uint8_t *b, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

/* B[0..16) = V, big-endian (an IPv6 address from its number). */
static inline void store128(uint8_t *b, unsigned __int128 v)
{
	for (int i = 15; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

/* DST (16 bytes) = the first BITS bits of SRC (16 bytes: an IPv4 address
 * in its first 4), every later bit zero: an address cut to its /BITS
 * prefix. BITS 0..128; DST may be SRC. */
static inline void prefix_cut(uint8_t *dst, const uint8_t *src,
			      unsigned bits)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = bits > 8 * i ? bits - 8 * i : 0;
		dst[i] = keep >= 8 ? src[i]
			 : (uint8_t)(src[i] & (0xff00u >> keep));
	}
}

#endif
