/* Large read results whose pages are reused instead of faulted in again.
 *
 * A read that returns a new array of hundreds of MiB spends a large share of its time in
 * the kernel: every page of fresh anonymous memory faults on first write and is zeroed
 * before the read overwrites it (W2, a 1 GiB read, measured 183 ms into an existing
 * array against 254 ms into a new one on two threads; W3's 324 MB window 62 against
 * 76 ms). glibc maps every block of 32 MiB and more afresh and unmaps it on free, so a
 * loop of large reads pays this on every call. This is the NumPy allocator (NEP 49
 * handler) that zarr_fast's read path installs only while it creates a large result:
 * such a block is an mmap of its own, and when the array dies its pages are kept in a
 * small pool for the next result of about the same size, as jemalloc and mimalloc keep
 * freed pages. Kept pages are given to the kernel with MADV_FREE: they stay mapped and
 * are rewritten without a fault, yet the kernel takes them back under memory pressure
 * (a page taken back reads as zeros, which an uninitialised result allows). Blocks idle
 * longer than the decay time are unmapped at the next pool call, and the pool never
 * holds more than its byte limit.
 *
 * A block is [one header page | data]: the header page records the mapping, so free()
 * needs nothing but the pointer, and the data starts on a page (on a cache line, so the
 * kernel's file reads into it run at full speed: zf_copy.h). Mappings start on 2 MiB so
 * that transparent huge pages cover them, as NumPy asks for its own large blocks.
 */
#ifndef ZF_RESULTPOOL_H
#define ZF_RESULTPOOL_H

#include <Python.h>
#include <numpy/ndarraytypes.h>
#include <stdint.h>
#include <string.h>

#if defined(__linux__) || defined(__APPLE__)
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#endif

#if (defined(__linux__) || defined(__APPLE__)) && defined(MADV_FREE)
#define ZF_POOL_SUPPORTED 1
#else
#define ZF_POOL_SUPPORTED 0
#endif

#define ZF_POOL_HEADER ((size_t)4096)
#define ZF_POOL_ALIGN ((size_t)2 << 20)
#define ZF_POOL_SLOTS 8
#define ZF_POOL_MAGIC 0x7a66706f6f6c3031ULL /* "zfpool01" */

typedef struct {
    uint64_t magic;
    size_t map_nbytes; /* the whole mapping, header page included */
} zf_block_header;

typedef struct {
    unsigned char *base;
    size_t map_nbytes;
    double freed_at;
} zf_pool_slot;

typedef struct {
    size_t limit_nbytes; /* 0: the pool is off and every block is unmapped on free */
    double decay_s;
    size_t pooled_nbytes;
    int count;
    uint64_t hits, misses, mapped, unmapped;
} zf_pool_state;

#if ZF_POOL_SUPPORTED

static pthread_mutex_t zf_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static zf_pool_slot zf_pool_slots[ZF_POOL_SLOTS];
static zf_pool_state zf_pool = {0, 10.0, 0, 0, 0, 0, 0, 0};

static double zf_pool_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void zf_pool_unmap(unsigned char *base, size_t map_nbytes)
{
    munmap(base, map_nbytes);
    __atomic_add_fetch(&zf_pool.unmapped, 1, __ATOMIC_RELAXED);
}

/* Takes slot i out of the pool (lock held); the caller owns its mapping. */
static void zf_pool_remove(int i, unsigned char **base, size_t *map_nbytes)
{
    *base = zf_pool_slots[i].base;
    *map_nbytes = zf_pool_slots[i].map_nbytes;
    zf_pool.pooled_nbytes -= *map_nbytes;
    zf_pool_slots[i] = zf_pool_slots[--zf_pool.count];
}

/* Moves every block idle longer than the decay, or all of them with everything set, into
 * the caller's list (lock held), to be unmapped after the lock is released. */
static int zf_pool_collect(zf_pool_slot *out, int everything)
{
    int n = 0, i = 0;
    double now = everything ? 0.0 : zf_pool_now();
    while (i < zf_pool.count) {
        if (everything || now - zf_pool_slots[i].freed_at > zf_pool.decay_s) {
            zf_pool_remove(i, &out[n].base, &out[n].map_nbytes);
            n++;
        } else {
            i++;
        }
    }
    return n;
}

static void zf_pool_unmap_all(zf_pool_slot *list, int n)
{
    for (int i = 0; i < n; i++) {
        zf_pool_unmap(list[i].base, list[i].map_nbytes);
    }
}

static void zf_pool_drop(int everything);

/* A new mapping of map_nbytes starting on ZF_POOL_ALIGN, or NULL. */
static unsigned char *zf_pool_map(size_t map_nbytes)
{
    size_t padded = map_nbytes + ZF_POOL_ALIGN;
    unsigned char *p, *aligned;
    size_t head, tail;
    if (padded < map_nbytes) {
        return NULL;
    }
    p = (unsigned char *)mmap(NULL, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == (unsigned char *)MAP_FAILED) {
        return NULL;
    }
    aligned = (unsigned char *)(((uintptr_t)p + ZF_POOL_ALIGN - 1) & ~(uintptr_t)(ZF_POOL_ALIGN - 1));
    head = (size_t)(aligned - p);
    tail = padded - head - map_nbytes;
    if (head) {
        munmap(p, head);
    }
    if (tail) {
        munmap(aligned + map_nbytes, tail);
    }
#ifdef MADV_HUGEPAGE
    madvise(aligned, map_nbytes, MADV_HUGEPAGE);
#endif
    __atomic_add_fetch(&zf_pool.mapped, 1, __ATOMIC_RELAXED);
    return aligned;
}

/* The data of a block of at least nbytes, or NULL; *reused tells whether it held a result. */
static void *zf_pool_take(size_t nbytes, int *reused)
{
    size_t need, best_nbytes = 0;
    int best = -1, nexpired;
    unsigned char *base = NULL;
    zf_pool_slot expired[ZF_POOL_SLOTS];
    zf_block_header *header;

    *reused = 0;
    if (nbytes > SIZE_MAX - ZF_POOL_HEADER - ZF_POOL_ALIGN) {
        return NULL;
    }
    need = (nbytes + ZF_POOL_HEADER + ZF_POOL_ALIGN - 1) & ~(ZF_POOL_ALIGN - 1);

    pthread_mutex_lock(&zf_pool_lock);
    nexpired = zf_pool_collect(expired, 0);
    for (int i = 0; i < zf_pool.count; i++) {
        size_t have = zf_pool_slots[i].map_nbytes;
        /* big enough, and not wasting more than an eighth of it */
        if (have >= need && have - need <= need / 8 && (best < 0 || have < best_nbytes)) {
            best = i;
            best_nbytes = have;
        }
    }
    if (best >= 0) {
        zf_pool_remove(best, &base, &need);
        zf_pool.hits++;
        *reused = 1;
    } else {
        zf_pool.misses++;
    }
    pthread_mutex_unlock(&zf_pool_lock);
    zf_pool_unmap_all(expired, nexpired);

    if (base == NULL) {
        base = zf_pool_map(need);
        if (base == NULL) {
            /* out of address space or memory: what the pool keeps goes first */
            zf_pool_drop(1);
            base = zf_pool_map(need);
        }
        if (base == NULL) {
            return NULL;
        }
        header = (zf_block_header *)base;
        header->magic = ZF_POOL_MAGIC;
        header->map_nbytes = need;
    }
    return base + ZF_POOL_HEADER;
}

static zf_block_header *zf_pool_header(void *data)
{
    zf_block_header *header = (zf_block_header *)((unsigned char *)data - ZF_POOL_HEADER);
    if (header->magic != ZF_POOL_MAGIC) {
        /* not one of ours: NumPy hands a block back to the handler that made it, so this
         * is memory corruption, and unmapping a guess would make it worse */
        Py_FatalError("zarr_fast: a result buffer's header is corrupt");
    }
    return header;
}

static void zf_pool_give(void *data)
{
    zf_block_header *header;
    unsigned char *base;
    size_t map_nbytes;
    int nexpired, kept = 0;
    zf_pool_slot expired[ZF_POOL_SLOTS + 1];

    if (data == NULL) {
        return;
    }
    header = zf_pool_header(data);
    base = (unsigned char *)header;
    map_nbytes = header->map_nbytes;

    pthread_mutex_lock(&zf_pool_lock);
    nexpired = zf_pool_collect(expired, 0);
    if (map_nbytes <= zf_pool.limit_nbytes &&
        madvise(base + ZF_POOL_HEADER, map_nbytes - ZF_POOL_HEADER, MADV_FREE) == 0) {
        /* make room: the oldest blocks go first */
        while (zf_pool.count > 0 &&
               (zf_pool.count == ZF_POOL_SLOTS || zf_pool.pooled_nbytes + map_nbytes > zf_pool.limit_nbytes)) {
            int oldest = 0;
            for (int i = 1; i < zf_pool.count; i++) {
                if (zf_pool_slots[i].freed_at < zf_pool_slots[oldest].freed_at) {
                    oldest = i;
                }
            }
            zf_pool_remove(oldest, &expired[nexpired].base, &expired[nexpired].map_nbytes);
            nexpired++;
        }
        zf_pool_slots[zf_pool.count].base = base;
        zf_pool_slots[zf_pool.count].map_nbytes = map_nbytes;
        zf_pool_slots[zf_pool.count].freed_at = zf_pool_now();
        zf_pool.count++;
        zf_pool.pooled_nbytes += map_nbytes;
        kept = 1;
    }
    pthread_mutex_unlock(&zf_pool_lock);
    zf_pool_unmap_all(expired, nexpired);
    if (!kept) {
        zf_pool_unmap(base, map_nbytes);
    }
}

/* ---- the NumPy handler ---- */

static void *zf_pool_malloc(void *ctx, size_t nbytes)
{
    int reused;
    (void)ctx;
    return zf_pool_take(nbytes, &reused);
}

static void *zf_pool_calloc(void *ctx, size_t nelem, size_t elsize)
{
    int reused;
    void *p;
    (void)ctx;
    if (elsize != 0 && nelem > SIZE_MAX / elsize) {
        return NULL;
    }
    p = zf_pool_take(nelem * elsize, &reused);
    if (p != NULL && reused) {
        memset(p, 0, nelem * elsize); /* a new mapping is zero already */
    }
    return p;
}

static void *zf_pool_realloc(void *ctx, void *data, size_t nbytes)
{
    size_t capacity;
    void *grown;
    if (data == NULL) {
        return zf_pool_malloc(ctx, nbytes);
    }
    capacity = zf_pool_header(data)->map_nbytes - ZF_POOL_HEADER;
    if (nbytes <= capacity) {
        return data;
    }
    grown = zf_pool_malloc(ctx, nbytes);
    if (grown != NULL) {
        memcpy(grown, data, capacity);
        zf_pool_give(data);
    }
    return grown;
}

static void zf_pool_free(void *ctx, void *data, size_t nbytes)
{
    (void)ctx;
    (void)nbytes;
    zf_pool_give(data);
}

static PyDataMem_Handler zf_pool_handler = {
    "zarr_fast_result_pool",
    1,
    {NULL, zf_pool_malloc, zf_pool_calloc, zf_pool_realloc, zf_pool_free},
};

/* ---- settings, seen from Python ---- */

static void zf_pool_after_fork_in_child(void)
{
    /* another thread may have held the lock at fork; the blocks are the child's own copies */
    pthread_mutex_init(&zf_pool_lock, NULL);
}

static int zf_pool_init(void)
{
    return pthread_atfork(NULL, NULL, zf_pool_after_fork_in_child);
}

/* Unmaps the blocks idle longer than the decay, or all of them with everything set
 * (every read drops the idle ones, large or not). */
static void zf_pool_drop(int everything)
{
    zf_pool_slot dropped[ZF_POOL_SLOTS];
    int n;
    if (__atomic_load_n(&zf_pool.count, __ATOMIC_RELAXED) == 0) {
        return;
    }
    pthread_mutex_lock(&zf_pool_lock);
    n = zf_pool_collect(dropped, everything);
    pthread_mutex_unlock(&zf_pool_lock);
    zf_pool_unmap_all(dropped, n);
}

/* Sets the limit and decay; blocks over the new limit, and expired ones, are unmapped. */
static void zf_pool_configure(size_t limit_nbytes, double decay_s)
{
    int over;
    pthread_mutex_lock(&zf_pool_lock);
    zf_pool.limit_nbytes = limit_nbytes;
    zf_pool.decay_s = decay_s;
    over = zf_pool.pooled_nbytes > limit_nbytes;
    pthread_mutex_unlock(&zf_pool_lock);
    zf_pool_drop(over);
}

static zf_pool_state zf_pool_stats(void)
{
    zf_pool_state copy;
    pthread_mutex_lock(&zf_pool_lock);
    copy = zf_pool;
    pthread_mutex_unlock(&zf_pool_lock);
    return copy;
}

#else /* no MADV_FREE: NumPy's own allocator serves every result */

static PyDataMem_Handler zf_pool_handler;
static zf_pool_state zf_pool = {0, 10.0, 0, 0, 0, 0, 0, 0};
static int zf_pool_init(void) { return 0; }
static void zf_pool_configure(size_t limit_nbytes, double decay_s) { (void)limit_nbytes; (void)decay_s; }
static void zf_pool_drop(int everything) { (void)everything; }
static zf_pool_state zf_pool_stats(void) { return zf_pool; }

#endif /* ZF_POOL_SUPPORTED */

#endif /* ZF_RESULTPOOL_H */
