# Kernels of zarr_fast._chunkcopy that other compiled modules may cimport (for example a
# decoder that copies a scratch chunk into the output without returning to Python).
# All offsets and sizes are in bytes; none of these take the GIL or raise, so callers must
# validate ranges first (the def wrappers in _chunkcopy.pyx show how).
from zarr_fast._types cimport offset_t


cdef extern from "zf_copy.h" nogil:
    # memcpy for runs of bytes, fast whatever the destination's alignment (see the header)
    void zf_copy_bytes(void* dst, const void* src, size_t n)
    # the same with streaming stores, for results larger than the cache; fence after them
    void zf_stream_bytes(void* dst, const void* src, size_t n)
    void zf_put_bytes(void* dst, const void* src, size_t n, bint stream)
    void zf_stream_fence()
    bint zf_is_line_aligned(const void* p)

# Copy (or, with is_fill, repeat the item at src into) the outer product of per-axis byte
# offsets; every lengths[d] >= 1, naxes <= 64. fill_byte >= 0: the fill item is that byte
# repeated, so runs are memset. stream: runs are copied with streaming stores (the caller
# calls zf_stream_fence before anyone reads dst).
cdef void copy_outer_product(const char* src, char* dst, int naxes,
                             const offset_t** src_offsets, const offset_t** dst_offsets,
                             const offset_t* lengths, Py_ssize_t itemsize,
                             bint is_fill, int fill_byte, bint stream) noexcept nogil

# One item per point: itemsize bytes from src + src_offsets[i] to dst + dst_offsets[i].
cdef void copy_items(const char* src, char* dst, const offset_t* src_offsets,
                     const offset_t* dst_offsets, Py_ssize_t n,
                     Py_ssize_t itemsize) noexcept nogil

# True when data[0:nbytes] (nbytes a positive multiple of itemsize) is item repeated.
cdef bint is_repeated_item(const char* data, Py_ssize_t nbytes, const char* item,
                           Py_ssize_t itemsize) noexcept nogil
