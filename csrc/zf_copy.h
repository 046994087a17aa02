/* One copy of a run of bytes that stays fast whatever the destination's alignment.
 *
 * glibc's memcpy moves runs of a few KiB and more with `rep movsb`, and on AMD Zen 3
 * (measured on an EPYC VM) that runs about 3.5x slower when the destination is not
 * 64-byte aligned: 1 GiB as 4 KiB rows into a destination 16 bytes off a cache line took
 * 415 ms against 114 ms for the loop below. Arrays NumPy allocates start 16 bytes past
 * a page, and slices of them anywhere, so reads into them hit this case all the time.
 * The loop aligns the destination to 16 bytes, then moves 64 bytes per step with
 * unaligned loads and aligned stores (SSE2, part of every x86-64). Short runs, and other
 * architectures, keep memcpy.
 */
#ifndef ZF_COPY_H
#define ZF_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* runs shorter than this go to memcpy, which does not use `rep movsb` for them */
#define ZF_COPY_LOOP_MIN 2048

/* Runs at least this long are streamed by zf_stream_bytes; shorter ones are copied. A
 * run's first and last cache lines are mostly partial, and streaming part of a line costs
 * more than storing it: with 256-byte rows (chunks of 64 x 64 float32), streaming made a
 * whole read 5% slower. */
#define ZF_STREAM_MIN 2048

#if defined(__SSE2__)
/* 16 bytes to p: an ordinary store, or with stream a streaming one (p 16-byte aligned). */
static inline void zf_store16(unsigned char *p, __m128i v, int stream)
{
    if (stream) {
        _mm_stream_si128((__m128i *)p, v);
    } else {
        _mm_storeu_si128((__m128i *)p, v);
    }
}
#endif

/* The loop of zf_copy_bytes and zf_stream_bytes: the bytes before dst's first 16-byte
 * boundary by memcpy, then 64 bytes per step with unaligned loads and aligned stores. */
static inline void zf_copy_run(void *dst, const void *src, size_t n, int stream)
{
#if defined(__SSE2__)
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    size_t head = (size_t)(-(uintptr_t)d) & 15;
    size_t i;
    memcpy(d, s, head);
    d += head;
    s += head;
    n -= head;
    for (i = 0; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
        __m128i e = _mm_loadu_si128((const __m128i *)(s + i + 48));
        zf_store16(d + i, a, stream);
        zf_store16(d + i + 16, b, stream);
        zf_store16(d + i + 32, c, stream);
        zf_store16(d + i + 48, e, stream);
    }
    memcpy(d + i, s + i, n - i);
#else
    (void)stream;
    memcpy(dst, src, n);
#endif
}

static inline void zf_copy_bytes(void *dst, const void *src, size_t n)
{
    if (n >= ZF_COPY_LOOP_MIN) {
        zf_copy_run(dst, src, n, 0);
    } else {
        memcpy(dst, src, n);
    }
}

/* Copy with non-temporal ("streaming") stores: the bytes go to memory without the
 * destination's lines being read into the cache first, as an ordinary store does (and
 * written back later). Into an array bigger than the cache that halves the memory
 * traffic: 1 GiB unshuffled as 4 KiB rows into an existing array took 51 ms against
 * 103 ms with ordinary stores (one thread, EPYC VM). Only for bytes nobody reads soon:
 * reads whose result is larger than the cache. Streaming stores are weakly ordered, so
 * zf_stream_fence() must run before another thread may read what they wrote. */
static inline void zf_stream_bytes(void *dst, const void *src, size_t n)
{
    if (n >= ZF_STREAM_MIN) {
        zf_copy_run(dst, src, n, 1);
    } else {
        zf_copy_bytes(dst, src, n);
    }
}

/* zf_stream_bytes with stream, else zf_copy_bytes. */
static inline void zf_put_bytes(void *dst, const void *src, size_t n, int stream)
{
    if (stream) {
        zf_stream_bytes(dst, src, n);
    } else {
        zf_copy_bytes(dst, src, n);
    }
}

/* Orders every streaming store before the stores that follow it (a worker's results are
 * then complete before it reports back). */
static inline void zf_stream_fence(void)
{
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

/* True when p starts a 64-byte cache line. The kernel's copy to user memory (read,
 * preadv) is `rep movsb` too, so reads from files go straight to a destination only
 * when it is aligned so. */
static inline int zf_is_line_aligned(const void *p)
{
    return ((uintptr_t)p & 63) == 0;
}

#endif
