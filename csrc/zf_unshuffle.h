/* Byte unshuffle of c-blosc 1.x blocks, for decoding a chunk block by block.
 *
 * c-blosc's byte shuffle stores byte k of every typesize-unit of a block together
 * ("planes"): plane k holds byte k of units 0, 1, 2, ... This turns planes back into units:
 * dst[i * typesize + k] = planes[k][first + i] for i < count. Planes are separate pointers
 * because a block's planes need not sit together: c-blosc stores a plane it cannot shrink
 * raw, and the decoder reads such a plane where it lies in the frame instead of copying it.
 *
 * c-blosc keeps its own unshuffle private (hidden symbol), so zarr_fast has its own. The
 * common widths (2, 4, 8 bytes) interleave 16 units per step with SSE2 unpacks, which any
 * x86-64 CPU has; other widths and other CPUs take the plain loop, which gives the same
 * bytes. Callers guarantee: typesize <= 255 planes of first + count bytes each, dst holds
 * count * typesize bytes, and dst overlaps no plane.
 */
#ifndef ZF_UNSHUFFLE_H
#define ZF_UNSHUFFLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "zf_copy.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static void zf_unshuffle_scalar(size_t typesize, const uint8_t* const* planes, size_t first,
                                size_t done, size_t count, uint8_t* dst)
{
    size_t i, k;
    for (i = done; i < count; i++) {
        for (k = 0; k < typesize; k++) {
            dst[i * typesize + k] = planes[k][first + i];
        }
    }
}

#if defined(__SSE2__)
/* Each function handles units [0, count - count % 16) and returns how many it did; with
 * stream, dst is 16-byte aligned and written with streaming stores (zf_stream_bytes). */

#define ZF_LOAD(k) _mm_loadu_si128((const __m128i*)(planes[k] + first + i))

static inline size_t zf_unshuffle2_sse2(const uint8_t* const* planes, size_t first,
                                        size_t count, uint8_t* dst, int stream)
{
    size_t i;
    for (i = 0; i + 16 <= count; i += 16) {
        __m128i a0 = ZF_LOAD(0), a1 = ZF_LOAD(1);
        zf_store16(dst + 2 * i, _mm_unpacklo_epi8(a0, a1), stream);
        zf_store16(dst + 2 * i + 16, _mm_unpackhi_epi8(a0, a1), stream);
    }
    return i;
}

static inline size_t zf_unshuffle4_sse2(const uint8_t* const* planes, size_t first,
                                        size_t count, uint8_t* dst, int stream)
{
    size_t i;
    for (i = 0; i + 16 <= count; i += 16) {
        __m128i a0 = ZF_LOAD(0), a1 = ZF_LOAD(1), a2 = ZF_LOAD(2), a3 = ZF_LOAD(3);
        /* byte pairs (0,1) and (2,3) of units 0-7 and 8-15 ... */
        __m128i lo01 = _mm_unpacklo_epi8(a0, a1), hi01 = _mm_unpackhi_epi8(a0, a1);
        __m128i lo23 = _mm_unpacklo_epi8(a2, a3), hi23 = _mm_unpackhi_epi8(a2, a3);
        /* ... then the pairs joined into whole 4-byte units, four per store */
        uint8_t* out = dst + 4 * i;
        zf_store16(out, _mm_unpacklo_epi16(lo01, lo23), stream);
        zf_store16(out + 16, _mm_unpackhi_epi16(lo01, lo23), stream);
        zf_store16(out + 32, _mm_unpacklo_epi16(hi01, hi23), stream);
        zf_store16(out + 48, _mm_unpackhi_epi16(hi01, hi23), stream);
    }
    return i;
}

static inline size_t zf_unshuffle8_sse2(const uint8_t* const* planes, size_t first,
                                        size_t count, uint8_t* dst, int stream)
{
    size_t i;
    int k;
    for (i = 0; i + 16 <= count; i += 16) {
        __m128i a[8], b[8], c[8];
        uint8_t* out = dst + 8 * i;
        for (k = 0; k < 8; k++) {
            a[k] = ZF_LOAD(k);
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
            zf_store16(out + 32 * k, _mm_unpacklo_epi32(c[k], c[k + 4]), stream);
            zf_store16(out + 32 * k + 16, _mm_unpackhi_epi32(c[k], c[k + 4]), stream);
        }
    }
    return i;
}

#undef ZF_LOAD
#endif

/* The rows of zf_unshuffle_planes with stream: units before the first 16-byte boundary
 * of dst go one by one, the rest with streaming stores; a dst that no unit boundary
 * brings onto a 16-byte boundary is written with ordinary stores. */
static void zf_unshuffle_streamed(size_t typesize, const uint8_t* const* planes, size_t first,
                                  size_t count, uint8_t* dst)
{
    size_t done = 0;
#if defined(__SSE2__)
    size_t misaligned = (uintptr_t)dst & 15, head;
    int stream = misaligned % typesize == 0;
    if (stream) {
        head = ((16 - misaligned) & 15) / typesize;
        if (head > count) {
            head = count;
        }
        zf_unshuffle_scalar(typesize, planes, first, 0, head, dst);
        first += head;
        count -= head;
        dst += head * typesize;
    }
    if (typesize == 2) {
        done = zf_unshuffle2_sse2(planes, first, count, dst, stream);
    } else if (typesize == 4) {
        done = zf_unshuffle4_sse2(planes, first, count, dst, stream);
    } else if (typesize == 8) {
        done = zf_unshuffle8_sse2(planes, first, count, dst, stream);
    }
#endif
    zf_unshuffle_scalar(typesize, planes, first, done, count, dst);
}

/* With stream, rows of at least ZF_STREAM_MIN bytes are written with streaming stores
 * where dst's alignment allows (see zf_stream_bytes in zf_copy.h; the caller fences). */
static inline void zf_unshuffle_planes(size_t typesize, const uint8_t* const* planes,
                                       size_t first, size_t count, uint8_t* dst, int stream)
{
    size_t done = 0;
    if (typesize == 1) {
        zf_put_bytes(dst, planes[0] + first, count, stream);
        return;
    }
    if (stream && count * typesize >= ZF_STREAM_MIN) {
        zf_unshuffle_streamed(typesize, planes, first, count, dst);
        return;
    }
#if defined(__SSE2__)
    if (typesize == 2) {
        done = zf_unshuffle2_sse2(planes, first, count, dst, 0);
    } else if (typesize == 4) {
        done = zf_unshuffle4_sse2(planes, first, count, dst, 0);
    } else if (typesize == 8) {
        done = zf_unshuffle8_sse2(planes, first, count, dst, 0);
    }
#endif
    zf_unshuffle_scalar(typesize, planes, first, done, count, dst);
}

#endif /* ZF_UNSHUFFLE_H */
