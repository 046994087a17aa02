# cython: language_level=3, wraparound=False, cdivision=True, embedsignature=True
# boundscheck and initializedcheck come from setup.py's directives (off; on when
# ZARR_FAST_CYTHON_DEBUG=1): a file header would override the debug switch.
"""Byte-level copies between decoded chunks and the output array, and the fill test.

Every copy moves ``itemsize`` bytes per item, so one code path serves every fixed-size
dtype (numbers, bool, datetimes, ``S``/``U``/``V``, structured, either byte order).
Offsets are in bytes, relative to each array's data pointer.

Callers guarantee: ``src`` and ``dst`` do not overlap in memory. Everything else is checked
by the ``def`` wrappers with the GIL held (lengths, itemsize, writeability, offsets inside
each array's byte extent) before the ``nogil`` kernels run; the kernels never raise.

Refused: object dtype (items are references, not bytes), arrays with negative strides
(their byte extent does not start at the data pointer), and more than ``MAX_AXES`` axes.
"""
import numpy as np

cimport numpy as cnp
from libc.string cimport memcmp, memcpy, memset

from zarr_fast._types cimport float_bits_t, offset_t, uint8_t, uint16_t, uint32_t, uint64_t

cnp.import_array()

# NumPy's own limit on ndim; the odometer keeps its counters on the stack.
cdef enum:
    _MAX_AXES = 64
MAX_AXES = _MAX_AXES


# ---------------------------------------------------------------------------------------
# Validation helpers (GIL held)
# ---------------------------------------------------------------------------------------

cdef Py_ssize_t _extent_nbytes(cnp.ndarray arr, str name) except -1:
    # Bytes from the data pointer to the end of the last item: the range an offset into
    # ``arr`` may address. An empty array has no addressable bytes.
    cdef Py_ssize_t nbytes = arr.dtype.itemsize
    cdef int d
    for d in range(arr.ndim):
        if arr.shape[d] == 0:
            return 0
        if arr.shape[d] > 1:
            if arr.strides[d] < 0:
                raise ValueError(
                    f"{name} must have non-negative strides, found strides {(<object>arr).strides}")
            nbytes += (arr.shape[d] - 1) * arr.strides[d]
    return nbytes


cdef Py_ssize_t _check_pair(cnp.ndarray src, cnp.ndarray dst) except -1:
    # Shared preconditions of the copy kernels; returns the common itemsize.
    if src.dtype.hasobject or dst.dtype.hasobject:
        raise TypeError(
            f"object dtypes cannot be copied bytewise, found src {src.dtype}, dst {dst.dtype}")
    if src.dtype.itemsize != dst.dtype.itemsize:
        raise ValueError(
            f"src and dst must have the same itemsize, found {src.dtype.itemsize} "
            f"and {dst.dtype.itemsize}")
    if src.dtype.itemsize == 0:
        raise ValueError(f"itemsize must be positive, found dtype {src.dtype}")
    if not dst.flags.writeable:
        raise ValueError("dst is read-only")
    if (src.dtype != dst.dtype and src.dtype.kind == dst.dtype.kind
            and src.dtype.newbyteorder("=") == dst.dtype.newbyteorder("=")):
        # Same type, different byte order: a byte copy would silently swap values.
        raise ValueError(
            f"src and dst differ only in byte order ({src.dtype.str} vs {dst.dtype.str}); "
            "convert one first")
    return src.dtype.itemsize


cdef object _as_offsets(object values, str name):
    # Offsets are int64 so that the kernel reads them without conversion; integer arrays of
    # another width are converted once here, anything else is a caller bug.
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, found dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, found {arr.ndim}-D")
    return np.ascontiguousarray(arr, dtype=np.int64)


cdef void _min_max(const offset_t* values, Py_ssize_t n,
                   offset_t* low, offset_t* high) noexcept nogil:
    # Contract: n >= 1; writes the smallest and largest of values[0:n].
    cdef Py_ssize_t i
    cdef offset_t v
    low[0] = values[0]
    high[0] = values[0]
    for i in range(1, n):
        v = values[i]
        if v < low[0]:
            low[0] = v
        elif v > high[0]:
            high[0] = v


cdef int _check_range(offset_t low, offset_t high, Py_ssize_t itemsize,
                      Py_ssize_t extent, str name) except -1:
    if low < 0 or high + itemsize > extent:
        raise ValueError(
            f"{name} address bytes [{low}, {high + itemsize}) but the array spans "
            f"bytes [0, {extent})")
    return 0


# ---------------------------------------------------------------------------------------
# Kernels (nogil, noexcept)
# ---------------------------------------------------------------------------------------

cdef inline void _copy_item(char* dst, const char* src, Py_ssize_t nbytes) noexcept nogil:
    # Contract: copies nbytes bytes; constant sizes let the compiler emit a single move
    # instead of a memcpy call, which dominates element-wise copies.
    if nbytes == 8:
        memcpy(dst, src, 8)
    elif nbytes == 4:
        memcpy(dst, src, 4)
    elif nbytes == 1:
        dst[0] = src[0]
    elif nbytes == 2:
        memcpy(dst, src, 2)
    elif nbytes == 16:
        memcpy(dst, src, 16)
    else:
        zf_copy_bytes(dst, src, nbytes)


cdef inline void _fill_run(char* dst, const char* item, Py_ssize_t itemsize,
                           Py_ssize_t run_nbytes, int fill_byte) noexcept nogil:
    # Contract: run_nbytes is a multiple of itemsize; writes the item pattern over
    # dst[0:run_nbytes]. fill_byte >= 0 means every byte of the item equals it (memset).
    cdef Py_ssize_t filled, step
    if fill_byte >= 0:
        memset(dst, fill_byte, run_nbytes)
        return
    _copy_item(dst, item, itemsize)
    filled = itemsize
    # Doubling keeps the number of memcpy calls logarithmic in the run length.
    while filled < run_nbytes:
        step = filled if filled <= run_nbytes - filled else run_nbytes - filled
        zf_copy_bytes(dst + filled, dst, step)
        filled += step


cdef inline bint _is_step(const offset_t* offsets, offset_t n, offset_t step) noexcept nogil:
    cdef offset_t i
    for i in range(1, n):
        if offsets[i] - offsets[i - 1] != step:
            return False
    return True


ctypedef fused _word_t:
    uint8_t
    uint16_t
    uint32_t
    uint64_t


cdef inline void _copy_table_words(_word_t* width, char* dst, const char* src,
                                   const offset_t* dst_offsets, const offset_t* src_offsets,
                                   offset_t n) noexcept nogil:
    # Contract: one word of sizeof(_word_t) bytes per entry (``width`` only picks the
    # specialisation); memcpy of a constant size compiles to one unaligned load/store.
    cdef offset_t i
    cdef _word_t word
    for i in range(n):
        memcpy(&word, src + src_offsets[i], sizeof(_word_t))
        memcpy(dst + dst_offsets[i], &word, sizeof(_word_t))


cdef inline void _copy_strided_words(_word_t* width, char* dst, const char* src,
                                     offset_t dst_step, offset_t src_step,
                                     offset_t n) noexcept nogil:
    cdef offset_t i
    cdef _word_t w0, w1, w2, w3
    # Unrolled by four: the steps are only known at run time, so the compiler cannot
    # vectorise, but independent loads still overlap.
    for i in range(n // 4):
        memcpy(&w0, src, sizeof(_word_t))
        memcpy(&w1, src + src_step, sizeof(_word_t))
        memcpy(&w2, src + 2 * src_step, sizeof(_word_t))
        memcpy(&w3, src + 3 * src_step, sizeof(_word_t))
        memcpy(dst, &w0, sizeof(_word_t))
        memcpy(dst + dst_step, &w1, sizeof(_word_t))
        memcpy(dst + 2 * dst_step, &w2, sizeof(_word_t))
        memcpy(dst + 3 * dst_step, &w3, sizeof(_word_t))
        src += 4 * src_step
        dst += 4 * dst_step
    for i in range(n % 4):
        memcpy(&w0, src, sizeof(_word_t))
        memcpy(dst, &w0, sizeof(_word_t))
        src += src_step
        dst += dst_step


cdef void _copy_table(char* dst, const char* src, const offset_t* dst_offsets,
                      const offset_t* src_offsets, offset_t n,
                      Py_ssize_t nbytes, bint stream) noexcept nogil:
    # Contract: n runs of nbytes bytes at per-entry byte offsets; GIL not needed. With
    # stream, runs go out with streaming stores (zf_stream_bytes).
    cdef offset_t i
    if nbytes == 8:
        _copy_table_words(<uint64_t*>NULL, dst, src, dst_offsets, src_offsets, n)
    elif nbytes == 4:
        _copy_table_words(<uint32_t*>NULL, dst, src, dst_offsets, src_offsets, n)
    elif nbytes == 2:
        _copy_table_words(<uint16_t*>NULL, dst, src, dst_offsets, src_offsets, n)
    elif nbytes == 1:
        _copy_table_words(<uint8_t*>NULL, dst, src, dst_offsets, src_offsets, n)
    else:
        for i in range(n):
            zf_put_bytes(dst + dst_offsets[i], src + src_offsets[i], nbytes, stream)


cdef void _copy_strided(char* dst, const char* src, offset_t dst_step, offset_t src_step,
                        offset_t n, Py_ssize_t nbytes, bint stream) noexcept nogil:
    # Contract: n runs of nbytes bytes at constant byte steps (src_step may be 0: a fill).
    cdef offset_t i
    if nbytes == 8:
        _copy_strided_words(<uint64_t*>NULL, dst, src, dst_step, src_step, n)
    elif nbytes == 4:
        _copy_strided_words(<uint32_t*>NULL, dst, src, dst_step, src_step, n)
    elif nbytes == 2:
        _copy_strided_words(<uint16_t*>NULL, dst, src, dst_step, src_step, n)
    elif nbytes == 1:
        _copy_strided_words(<uint8_t*>NULL, dst, src, dst_step, src_step, n)
    else:
        for i in range(n):
            zf_put_bytes(dst + i * dst_step, src + i * src_step, nbytes, stream)


cdef inline bint _step_of(const offset_t* offsets, offset_t n, offset_t* step) noexcept nogil:
    # True when offsets[0:n] (n >= 2) is an arithmetic progression; its step goes to *step.
    step[0] = offsets[1] - offsets[0]
    return _is_step(offsets, n, step[0])


cdef inline offset_t _offset_at(const offset_t* table, offset_t step, offset_t i) noexcept nogil:
    # A virtual axis is either a table of offsets or (table == NULL) a constant step.
    return table[i] if table != NULL else i * step


cdef void copy_outer_product(const char* src, char* dst, int naxes,
                             const offset_t** src_offsets, const offset_t** dst_offsets,
                             const offset_t* lengths, Py_ssize_t itemsize,
                             bint is_fill, int fill_byte, bint stream) noexcept nogil:
    # Contract: offsets in bytes, already checked to stay inside both buffers; every
    # lengths[d] >= 1. With is_fill, every src offset is 0 and src points at the item to
    # repeat. GIL not needed.
    #
    # First the axes are rewritten as "virtual axes", as NumPy's iterator coalesces: an
    # axis whose offsets are arithmetic in both buffers becomes (first offset folded into
    # the base, constant steps); neighbours with step_outer == n_inner * step_inner in both
    # buffers merge into one; length-one axes vanish. A trailing virtual axis that is
    # contiguous in both buffers becomes one run of bytes, so a whole C-contiguous chunk
    # into a contiguous region is a single memcpy and views like a[..., ::2] loop once.
    cdef offset_t v_len[_MAX_AXES]
    cdef offset_t v_src_step[_MAX_AXES]
    cdef offset_t v_dst_step[_MAX_AXES]
    cdef const offset_t* v_src_table[_MAX_AXES]
    cdef const offset_t* v_dst_table[_MAX_AXES]
    cdef offset_t counters[_MAX_AXES]
    cdef offset_t src_partial[_MAX_AXES + 1]
    cdef offset_t dst_partial[_MAX_AXES + 1]
    cdef offset_t run_nbytes = itemsize, src_base = 0, dst_base = 0
    cdef offset_t n, i, src_step = 0, dst_step = 0, src_row, dst_row
    cdef int nv = 0, inner, d, last
    cdef char* first_run = NULL
    cdef char* target

    for d in range(naxes):
        n = lengths[d]
        if n == 1:
            src_base += src_offsets[d][0]
            dst_base += dst_offsets[d][0]
            continue
        if _step_of(src_offsets[d], n, &src_step) and _step_of(dst_offsets[d], n, &dst_step):
            src_base += src_offsets[d][0]
            dst_base += dst_offsets[d][0]
            last = nv - 1
            if (last >= 0 and v_src_table[last] == NULL
                    and v_src_step[last] == n * src_step and v_dst_step[last] == n * dst_step):
                v_len[last] *= n
                v_src_step[last] = src_step
                v_dst_step[last] = dst_step
                continue
            v_src_table[nv] = NULL
            v_dst_table[nv] = NULL
        else:
            v_src_table[nv] = src_offsets[d]
            v_dst_table[nv] = dst_offsets[d]
            src_step = 0
            dst_step = 0
        v_len[nv] = n
        v_src_step[nv] = src_step
        v_dst_step[nv] = dst_step
        nv += 1

    if nv > 0:
        last = nv - 1
        if (v_src_table[last] == NULL and v_dst_step[last] == itemsize
                and (v_src_step[last] == itemsize or is_fill)):
            run_nbytes = v_len[last] * itemsize
            nv = last

    if nv == 0:
        if is_fill:
            _fill_run(dst + dst_base, src, itemsize, run_nbytes, fill_byte)
        else:
            zf_put_bytes(dst + dst_base, src + src_base, run_nbytes, stream)
        return

    # Odometer over virtual axes 0..inner-1; the innermost one is looped directly (as
    # constant steps or through its tables), so bookkeeping is paid once per row.
    # src_partial[d] / dst_partial[d] hold the row offset from axes 0..d-1, so advancing
    # the odometer recomputes only the levels that changed.
    inner = nv - 1
    n = v_len[inner]
    # A fill with runs longer than one item writes the pattern once, then copies that run;
    # with one-item runs the zero src offsets make it an ordinary copy.
    is_fill = is_fill and run_nbytes > itemsize
    src_partial[0] = src_base
    dst_partial[0] = dst_base
    for d in range(inner):
        counters[d] = 0
        src_partial[d + 1] = src_partial[d] + _offset_at(v_src_table[d], v_src_step[d], 0)
        dst_partial[d + 1] = dst_partial[d] + _offset_at(v_dst_table[d], v_dst_step[d], 0)
    while True:
        src_row = src_partial[inner]
        dst_row = dst_partial[inner]
        if is_fill:
            for i in range(n):
                if first_run == NULL:
                    first_run = dst + dst_row + _offset_at(v_dst_table[inner], v_dst_step[inner], i)
                    _fill_run(first_run, src, itemsize, run_nbytes, fill_byte)
                else:
                    # a repeated destination offset may hit first_run itself: nothing to copy
                    target = dst + dst_row + _offset_at(v_dst_table[inner], v_dst_step[inner], i)
                    if target != first_run:
                        zf_copy_bytes(target, first_run, run_nbytes)
        elif v_src_table[inner] == NULL:
            _copy_strided(dst + dst_row, src + src_row, v_dst_step[inner], v_src_step[inner],
                          n, run_nbytes, stream)
        else:
            _copy_table(dst + dst_row, src + src_row, v_dst_table[inner], v_src_table[inner],
                        n, run_nbytes, stream)
        d = inner - 1
        while d >= 0:
            counters[d] += 1
            if counters[d] < v_len[d]:
                break
            counters[d] = 0
            d -= 1
        if d < 0:
            return
        while d < inner:
            src_partial[d + 1] = src_partial[d] + _offset_at(v_src_table[d], v_src_step[d],
                                                             counters[d])
            dst_partial[d + 1] = dst_partial[d] + _offset_at(v_dst_table[d], v_dst_step[d],
                                                             counters[d])
            d += 1


cdef void copy_items(const char* src, char* dst, const offset_t* src_offsets,
                     const offset_t* dst_offsets, Py_ssize_t n,
                     Py_ssize_t itemsize) noexcept nogil:
    # Contract: byte offsets already checked against both buffers; GIL not needed.
    _copy_table(dst, src, dst_offsets, src_offsets, n, itemsize, False)


# ---------------------------------------------------------------------------------------
# Python entry points
# ---------------------------------------------------------------------------------------

def copy_orthogonal(cnp.ndarray src, cnp.ndarray dst, src_offsets, dst_offsets,
                    bint stream=False):
    """Copy the items at the outer product of per-axis byte offsets from src into dst.

    For every index tuple ``(i_0, ..., i_{k-1})`` copies ``itemsize`` bytes from
    ``src.data + sum_d src_offsets[d][i_d]`` to ``dst.data + sum_d dst_offsets[d][i_d]``;
    ``k == 0`` copies one item at offset 0. A 0-d or one-item ``src`` with all-zero
    offsets fills the selected part of ``dst``. With ``stream``, runs of bytes are written
    with streaming stores, as reads into large results do (same bytes).

    Checks: equal numbers of axes and equal per-axis lengths, equal itemsize, ``dst``
    writeable, no object dtype, non-negative strides, and every addressed item inside
    each array's byte extent (ValueError / TypeError otherwise).
    """
    cdef Py_ssize_t itemsize = _check_pair(src, dst)
    src_offsets = list(src_offsets)  # a list or tuple with one array per axis
    dst_offsets = list(dst_offsets)
    cdef int naxes = len(src_offsets)
    cdef int d
    cdef const offset_t* src_ptrs[_MAX_AXES]
    cdef const offset_t* dst_ptrs[_MAX_AXES]
    cdef offset_t lengths[_MAX_AXES]
    cdef offset_t low, high, src_low = 0, src_high = 0, dst_low = 0, dst_high = 0
    cdef const offset_t[::1] view
    cdef bint is_fill = True
    cdef int fill_byte = -1
    cdef const char* src_data = <const char*>cnp.PyArray_DATA(src)
    cdef char* dst_data = <char*>cnp.PyArray_DATA(dst)

    if len(dst_offsets) != naxes:
        raise ValueError(
            f"src_offsets and dst_offsets must have one entry per axis, found "
            f"{naxes} and {len(dst_offsets)}")
    if naxes > _MAX_AXES:
        raise ValueError(f"at most {_MAX_AXES} axes are supported, found {naxes}")
    src_extent = _extent_nbytes(src, "src")
    dst_extent = _extent_nbytes(dst, "dst")

    # Keep the converted offset arrays alive for as long as the kernel reads them.
    keep_alive = []
    is_empty = False
    for d in range(naxes):
        src_axis = _as_offsets(src_offsets[d], f"src_offsets[{d}]")
        dst_axis = _as_offsets(dst_offsets[d], f"dst_offsets[{d}]")
        if src_axis.shape[0] != dst_axis.shape[0]:
            raise ValueError(
                f"src_offsets[{d}] and dst_offsets[{d}] must have equal lengths, found "
                f"{src_axis.shape[0]} and {dst_axis.shape[0]}")
        keep_alive.append(src_axis)
        keep_alive.append(dst_axis)
        lengths[d] = src_axis.shape[0]
        if lengths[d] == 0:
            is_empty = True
    if is_empty:
        return

    for d in range(naxes):
        view = keep_alive[2 * d]
        src_ptrs[d] = &view[0]
        with nogil:
            _min_max(src_ptrs[d], lengths[d], &low, &high)
        src_low += low
        src_high += high
        if low != 0 or high != 0:
            is_fill = False
        view = keep_alive[2 * d + 1]
        dst_ptrs[d] = &view[0]
        with nogil:
            _min_max(dst_ptrs[d], lengths[d], &low, &high)
        dst_low += low
        dst_high += high
    _check_range(src_low, src_high, itemsize, src_extent, "src_offsets")
    _check_range(dst_low, dst_high, itemsize, dst_extent, "dst_offsets")

    if is_fill:
        # A fill whose item is one repeated byte (zeros, most often) becomes memset.
        item = (<char*>src_data)[:itemsize]
        if item.count(item[:1]) == itemsize:
            fill_byte = item[0]
    with nogil:
        copy_outer_product(src_data, dst_data, naxes, src_ptrs, dst_ptrs, lengths,
                           itemsize, is_fill, fill_byte, stream)
        if stream:
            zf_stream_fence()


def copy_points(cnp.ndarray src, cnp.ndarray dst, src_offsets, dst_offsets):
    """Copy one item per point: ``itemsize`` bytes from ``src.data + src_offsets[i]`` to
    ``dst.data + dst_offsets[i]`` for every i.

    Checks: equal lengths, equal itemsize, ``dst`` writeable, no object dtype, non-negative
    strides, every offset inside each array's byte extent (ValueError / TypeError).
    """
    cdef Py_ssize_t itemsize = _check_pair(src, dst)
    cdef const offset_t[::1] src_view
    cdef const offset_t[::1] dst_view
    cdef offset_t low, high
    cdef Py_ssize_t n
    src_axis = _as_offsets(src_offsets, "src_offsets")
    dst_axis = _as_offsets(dst_offsets, "dst_offsets")
    if src_axis.shape[0] != dst_axis.shape[0]:
        raise ValueError(
            f"src_offsets and dst_offsets must have equal lengths, found "
            f"{src_axis.shape[0]} and {dst_axis.shape[0]}")
    src_extent = _extent_nbytes(src, "src")
    dst_extent = _extent_nbytes(dst, "dst")
    n = src_axis.shape[0]
    if n == 0:
        return
    src_view = src_axis
    dst_view = dst_axis
    with nogil:
        _min_max(&src_view[0], n, &low, &high)
    _check_range(low, high, itemsize, src_extent, "src_offsets")
    with nogil:
        _min_max(&dst_view[0], n, &low, &high)
    _check_range(low, high, itemsize, dst_extent, "dst_offsets")
    with nogil:
        copy_items(<const char*>cnp.PyArray_DATA(src), <char*>cnp.PyArray_DATA(dst),
                     &src_view[0], &dst_view[0], n, itemsize)



# ---------------------------------------------------------------------------------------
# Fill test (write_empty_chunks=False)
# ---------------------------------------------------------------------------------------

cdef bint is_repeated_item(const char* data, Py_ssize_t nbytes, const char* item,
                           Py_ssize_t itemsize) noexcept nogil:
    # Contract: nbytes is a positive multiple of itemsize. True when every item equals
    # ``item`` bytewise: the first item matches and the buffer equals itself shifted by
    # one item, which is two memcmp calls instead of one per item.
    if memcmp(data, item, itemsize) != 0:
        return False
    return memcmp(data + itemsize, data, nbytes - itemsize) == 0


cdef bint _all_words_match(const char* data, Py_ssize_t nwords, float_bits_t mask,
                           float_bits_t want, float_bits_t mantissa) noexcept nogil:
    # Contract: data holds nwords unaligned words of float_bits_t width; masks are already
    # in the data's byte order. Every word must satisfy (w & mask) == want and, when
    # mantissa != 0, (w & mantissa) != 0 (a NaN: exponent all ones, mantissa not zero).
    cdef Py_ssize_t i
    cdef float_bits_t word
    for i in range(nwords):
        memcpy(&word, data + i * sizeof(float_bits_t), sizeof(float_bits_t))
        if (word & mask) != want:
            return False
        if mantissa != 0 and (word & mantissa) == 0:
            return False
    return True


cdef object _swap_mask(object value, int nbytes, bint is_native):
    # Masks are applied to raw words, so a non-native array needs byte-swapped masks.
    if is_native:
        return value
    return int.from_bytes(value.to_bytes(nbytes, "little"), "big")


cdef bint _words_test(const char* data, Py_ssize_t nbytes, int width, bint is_native,
                      bint is_nan_test) except -1:
    # width is the byte size of one float (a complex has two). Zero test: all bits but
    # the sign are 0, so -0.0 counts as zero like it does for ``not np.any``.
    nbits = 8 * width  # a Python int: the masks need 64 unsigned bits
    sign = 1 << (nbits - 1)
    exponent_bits = {2: 5, 4: 8, 8: 11}[width]
    exponent = ((1 << exponent_bits) - 1) << (nbits - 1 - exponent_bits)
    if is_nan_test:
        mask = exponent
        want = exponent
        mantissa = (1 << (nbits - 1 - exponent_bits)) - 1
    else:
        mask = ((1 << nbits) - 1) ^ sign
        want = 0
        mantissa = 0
    mask = _swap_mask(mask, width, is_native)
    want = _swap_mask(want, width, is_native)
    mantissa = _swap_mask(mantissa, width, is_native)
    cdef Py_ssize_t nwords = nbytes // width
    cdef bint result
    cdef uint16_t m16 = 0, w16 = 0, n16 = 0
    cdef uint32_t m32 = 0, w32 = 0, n32 = 0
    cdef uint64_t m64 = 0, w64 = 0, n64 = 0
    if width == 2:
        m16, w16, n16 = mask, want, mantissa
        with nogil:
            result = _all_words_match(data, nwords, m16, w16, n16)
    elif width == 4:
        m32, w32, n32 = mask, want, mantissa
        with nogil:
            result = _all_words_match(data, nwords, m32, w32, n32)
    else:
        m64, w64, n64 = mask, want, mantissa
        with nogil:
            result = _all_words_match(data, nwords, m64, w64, n64)
    return result


def is_fill(cnp.ndarray chunk, fill):
    """True when every item of ``chunk`` equals ``fill`` the way zarr 2.18 decides that a
    chunk is empty (``zarr.util.all_equal``).

    Items are compared bytewise, except: for float dtypes a NaN fill matches any NaN
    payload and a zero fill matches +0.0 and -0.0; for complex dtypes a zero fill matches
    signed zeros in either part and a fill with a NaN part never matches; a NaT fill never
    matches (NaT != NaT). An empty chunk is all fill. ``fill`` (0-d or one item) is cast to
    ``chunk.dtype``; a non-contiguous chunk is copied first. A ``None`` fill (no fill
    value) matches nothing, as in zarr 2.18.

    Checks: no object dtype (TypeError).
    """
    if chunk.dtype.hasobject:
        raise TypeError(f"is_fill needs a fixed-size dtype, found {chunk.dtype}")
    if fill is None:
        return False
    fill_arr = np.asarray(fill)
    if fill_arr.dtype != chunk.dtype:
        fill_arr = fill_arr.astype(chunk.dtype)
    if fill_arr.size != 1:
        raise ValueError(f"fill must hold one item, found shape {fill_arr.shape}")
    if not (chunk.flags.c_contiguous or chunk.flags.f_contiguous):
        chunk = np.ascontiguousarray(chunk)
    cdef Py_ssize_t nbytes = chunk.nbytes
    if nbytes == 0:
        return True
    cdef bytes item = fill_arr.tobytes()
    cdef Py_ssize_t itemsize = chunk.dtype.itemsize
    cdef const char* data = <const char*>cnp.PyArray_DATA(chunk)
    cdef const char* item_ptr = item
    cdef bint result
    with nogil:
        result = is_repeated_item(data, nbytes, item_ptr, itemsize)
    kind = chunk.dtype.kind
    if result:
        # Identical bytes are equal values, except that NaN (or NaT) never equals itself.
        if kind == "c" or kind in "mM":
            value = fill_arr.reshape(())[()]
            return not (value != value)
        return True
    is_native = chunk.dtype.isnative
    if kind == "f" and itemsize in (2, 4, 8):
        value = fill_arr.reshape(())[()]
        if value != value:
            return _words_test(data, nbytes, itemsize, is_native, True)
        if value == 0:
            return _words_test(data, nbytes, itemsize, is_native, False)
    elif kind == "c" and itemsize in (8, 16):
        value = fill_arr.reshape(())[()]
        if value != value:
            return False
        if value == 0:
            return _words_test(data, nbytes, itemsize // 2, is_native, False)
    return False
