/* Byte unshuffle of one c-blosc 1.x block, for decoding a chunk block by block.
 *
 * c-blosc's byte shuffle stores byte k of every typesize-unit of a block together
 * ("planes"): plane k is src[k * n : (k + 1) * n] with n = nbytes / typesize, and the
 * nbytes % typesize bytes left over are stored as they are, after the planes. This turns
 * the planes back into units: dst[i * typesize + k] = src[k * n + i].
 *
 * c-blosc keeps its own unshuffle private (hidden symbol), so zarr_fast has its own. The
 * common widths (2, 4, 8 bytes) interleave 16 units per step with SSE2 unpacks, which any
 * x86-64 CPU has; other widths and other CPUs take the plain loop, which gives the same
 * bytes. Callers guarantee: src and dst hold nbytes bytes each and do not overlap.
 */
#ifndef ZF_UNSHUFFLE_H
#define ZF_UNSHUFFLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static void zf_unshuffle_scalar(size_t typesize, size_t n, size_t first,
                                const uint8_t* src, uint8_t* dst)
{
    size_t i, k;
    for (i = first; i < n; i++) {
        for (k = 0; k < typesize; k++) {
            dst[i * typesize + k] = src[k * n + i];
        }
    }
}

#if defined(__SSE2__)
/* Each function handles units [0, n - n % 16) and returns how many it did. */

static size_t zf_unshuffle2_sse2(size_t n, const uint8_t* src, uint8_t* dst)
{
    size_t i;
    for (i = 0; i + 16 <= n; i += 16) {
        __m128i a0 = _mm_loadu_si128((const __m128i*)(src + i));
        __m128i a1 = _mm_loadu_si128((const __m128i*)(src + n + i));
        _mm_storeu_si128((__m128i*)(dst + 2 * i), _mm_unpacklo_epi8(a0, a1));
        _mm_storeu_si128((__m128i*)(dst + 2 * i + 16), _mm_unpackhi_epi8(a0, a1));
    }
    return i;
}

static size_t zf_unshuffle4_sse2(size_t n, const uint8_t* src, uint8_t* dst)
{
    size_t i;
    for (i = 0; i + 16 <= n; i += 16) {
        __m128i a0 = _mm_loadu_si128((const __m128i*)(src + i));
        __m128i a1 = _mm_loadu_si128((const __m128i*)(src + n + i));
        __m128i a2 = _mm_loadu_si128((const __m128i*)(src + 2 * n + i));
        __m128i a3 = _mm_loadu_si128((const __m128i*)(src + 3 * n + i));
        /* byte pairs (0,1) and (2,3) of units 0-7 and 8-15 ... */
        __m128i lo01 = _mm_unpacklo_epi8(a0, a1), hi01 = _mm_unpackhi_epi8(a0, a1);
        __m128i lo23 = _mm_unpacklo_epi8(a2, a3), hi23 = _mm_unpackhi_epi8(a2, a3);
        /* ... then the pairs joined into whole 4-byte units, four per store */
        uint8_t* out = dst + 4 * i;
        _mm_storeu_si128((__m128i*)(out), _mm_unpacklo_epi16(lo01, lo23));
        _mm_storeu_si128((__m128i*)(out + 16), _mm_unpackhi_epi16(lo01, lo23));
        _mm_storeu_si128((__m128i*)(out + 32), _mm_unpacklo_epi16(hi01, hi23));
        _mm_storeu_si128((__m128i*)(out + 48), _mm_unpackhi_epi16(hi01, hi23));
    }
    return i;
}

static size_t zf_unshuffle8_sse2(size_t n, const uint8_t* src, uint8_t* dst)
{
    size_t i;
    int k;
    for (i = 0; i + 16 <= n; i += 16) {
        __m128i a[8], b[8], c[8];
        uint8_t* out = dst + 8 * i;
        for (k = 0; k < 8; k++) {
            a[k] = _mm_loadu_si128((const __m128i*)(src + k * n + i));
        }
        /* bytes -> pairs -> quads -> whole 8-byte units, as in the 4-byte case */
        for (k = 0; k < 4; k++) {
            b[2 * k] = _mm_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
            b[2 * k + 1] = _mm_unpackhi_epi8(a[2 * k], a[2 * k + 1]);
        }
        /* b[0], b[1]: bytes 0-1 of units 0-7 / 8-15; b[2], b[3]: bytes 2-3; ... */
        for (k = 0; k < 2; k++) {
            c[4 * k] = _mm_unpacklo_epi16(b[4 * k], b[4 * k + 2]);
            c[4 * k + 1] = _mm_unpackhi_epi16(b[4 * k], b[4 * k + 2]);
            c[4 * k + 2] = _mm_unpacklo_epi16(b[4 * k + 1], b[4 * k + 3]);
            c[4 * k + 3] = _mm_unpackhi_epi16(b[4 * k + 1], b[4 * k + 3]);
        }
        /* c[0..3]: bytes 0-3 of units 0-3, 4-7, 8-11, 12-15; c[4..7]: bytes 4-7 of the same */
        for (k = 0; k < 4; k++) {
            _mm_storeu_si128((__m128i*)(out + 32 * k), _mm_unpacklo_epi32(c[k], c[k + 4]));
            _mm_storeu_si128((__m128i*)(out + 32 * k + 16), _mm_unpackhi_epi32(c[k], c[k + 4]));
        }
    }
    return i;
}
#endif

static void zf_unshuffle(size_t typesize, size_t nbytes, const uint8_t* src, uint8_t* dst)
{
    size_t n, done = 0, tail;
    if (typesize <= 1) {
        memcpy(dst, src, nbytes);
        return;
    }
    n = nbytes / typesize;
    tail = nbytes - n * typesize;
#if defined(__SSE2__)
    if (typesize == 2) {
        done = zf_unshuffle2_sse2(n, src, dst);
    } else if (typesize == 4) {
        done = zf_unshuffle4_sse2(n, src, dst);
    } else if (typesize == 8) {
        done = zf_unshuffle8_sse2(n, src, dst);
    }
#endif
    zf_unshuffle_scalar(typesize, n, done, src, dst);
    if (tail) {
        memcpy(dst + n * typesize, src + n * typesize, tail);
    }
}

#endif /* ZF_UNSHUFFLE_H */
