/* Byte shuffle into c-blosc 1.x planes, for encoding a chunk straight from a strided array.
 *
 * The inverse of zf_unshuffle.h: plane k of a block holds byte k of every typesize-unit,
 * planes[k * plane_nbytes + first + i] = src[i * typesize + k] for i < count. The encoder
 * calls it once per contiguous run of the source that falls in a block, so `first` is the
 * run's first unit within the block and runs land in the planes without a gathered copy.
 *
 * Typesizes 2, 4, 8 and 16 transpose 16 units per step with SSE2 (any x86-64 CPU): the
 * 16 * typesize bytes of 16 units, as typesize vectors, go through four rounds of a perfect
 * riffle (unpacklo/unpackhi of vector j with vector j + typesize/2). A riffle rotates a byte's
 * position bits left by one, and position = unit * typesize + byte has 4 unit bits above
 * log2(typesize) byte bits, so four rounds put byte k of unit i at k * 16 + i: vector k is
 * 16 units of plane k. Other typesizes and CPUs take the plain loop, which gives the same
 * bytes. Callers guarantee: plane_nbytes >= first + count, the planes buffer holds typesize
 * planes of plane_nbytes bytes, and it overlaps no source byte.
 */
#ifndef ZF_SHUFFLE_H
#define ZF_SHUFFLE_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static void zf_shuffle_scalar(size_t typesize, const uint8_t* src, size_t done, size_t count,
                              uint8_t* planes, size_t plane_nbytes, size_t first)
{
    size_t i, k;
    for (k = 0; k < typesize; k++) {
        uint8_t* plane = planes + k * plane_nbytes + first;
        for (i = done; i < count; i++) {
            plane[i] = src[i * typesize + k];
        }
    }
}

#if defined(__SSE2__)
/* Units [0, count - count % 16); returns how many it did. `typesize` is a constant at every
 * call site, so the compiler unrolls the rounds for each width. */
static inline size_t zf_shuffle_riffle(const size_t typesize, const uint8_t* src, size_t count,
                                       uint8_t* planes, size_t plane_nbytes, size_t first)
{
    size_t i, j, round;
    const size_t half = typesize / 2;
    __m128i v[16], w[16];
    for (i = 0; i + 16 <= count; i += 16) {
        for (j = 0; j < typesize; j++) {
            v[j] = _mm_loadu_si128((const __m128i*)(src + i * typesize + 16 * j));
        }
        for (round = 0; round < 4; round++) {
            for (j = 0; j < half; j++) {
                w[2 * j] = _mm_unpacklo_epi8(v[j], v[j + half]);
                w[2 * j + 1] = _mm_unpackhi_epi8(v[j], v[j + half]);
            }
            for (j = 0; j < typesize; j++) {
                v[j] = w[j];
            }
        }
        for (j = 0; j < typesize; j++) {
            _mm_storeu_si128((__m128i*)(planes + j * plane_nbytes + first + i), v[j]);
        }
    }
    return i;
}
#endif

static void zf_shuffle_units(size_t typesize, const uint8_t* src, size_t count,
                             uint8_t* planes, size_t plane_nbytes, size_t first)
{
    size_t done = 0;
#if defined(__SSE2__)
    switch (typesize) {
    case 2: done = zf_shuffle_riffle(2, src, count, planes, plane_nbytes, first); break;
    case 4: done = zf_shuffle_riffle(4, src, count, planes, plane_nbytes, first); break;
    case 8: done = zf_shuffle_riffle(8, src, count, planes, plane_nbytes, first); break;
    case 16: done = zf_shuffle_riffle(16, src, count, planes, plane_nbytes, first); break;
    default: break;
    }
#endif
    zf_shuffle_scalar(typesize, src, done, count, planes, plane_nbytes, first);
}

#endif /* ZF_SHUFFLE_H */
