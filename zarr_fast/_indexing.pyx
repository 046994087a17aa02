# cython: language_level=3, wraparound=False, cdivision=True, embedsignature=True
# boundscheck and initializedcheck come from setup.py's directives (off; on when
# ZARR_FAST_CYTHON_DEBUG=1): a file header would override the debug switch.
"""Per-axis chunk plans: which chunks a selection touches and where each item goes.

A plan for one axis is a tuple ``(chunk_ix, bounds, local, out)`` of int64 1-D arrays:
``chunk_ix[m]`` the chunk indices touched along the axis, increasing; ``bounds[m + 1]``
so that the entries of ``chunk_ix[k]`` are ``bounds[k]:bounds[k + 1]``; ``local[n]`` the
chunk-local index of each entry; ``out[n]`` its position in the output along the axis.
Entries are grouped by chunk so that each chunk is decoded once.

For coordinate (vindex) selections, ``plan_points`` groups points by flat chunk id instead.

Callers guarantee: slices are already normalised (``0 <= start <= stop <= dim_len``,
``step >= 1``); integer indices are non-negative (negatives already wrapped). Indices out
of range raise IndexError; anything else malformed raises ValueError / TypeError.
Boolean masks are not handled here: ``np.nonzero(mask)[0]`` turns one into ``plan_int``
input.
"""
import numpy as np

cimport numpy as cnp

from zarr_fast._types cimport offset_t

cnp.import_array()

# Above this many chunks per indexed item, a counting sort's per-chunk table costs more
# than it saves, and a stable argsort is used instead (same result).
cdef offset_t _COUNTING_SORT_RATIO = 8


cdef object _as_int64(object values, str name, int ndim):
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, found dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, found {arr.ndim}-D")
    return np.ascontiguousarray(arr, dtype=np.int64)


cdef int _check_lengths(offset_t dim_len, offset_t chunk_len) except -1:
    if dim_len < 0:
        raise ValueError(f"dim_len must be >= 0, found {dim_len}")
    if chunk_len < 1:
        raise ValueError(f"chunk_len must be >= 1, found {chunk_len}")
    return 0


cdef offset_t _first_out_of_range(const offset_t* values, Py_ssize_t n, offset_t size,
                                  Py_ssize_t* where) noexcept nogil:
    # Contract: returns 0 when every value lies in [0, size), else 1 with *where set to
    # the position of the first offender. GIL not needed.
    cdef Py_ssize_t i
    for i in range(n):
        if values[i] < 0 or values[i] >= size:
            where[0] = i
            return 1
    return 0


def plan_slice(offset_t start, offset_t stop, offset_t step, offset_t dim_len,
               offset_t chunk_len):
    """Plan one axis selected by a normalised slice; output positions are 0..count-1.

    Checks: ``0 <= start <= stop <= dim_len``, ``step >= 1``, ``chunk_len >= 1``
    (ValueError). An empty slice gives a plan with no chunks (``bounds == [0]``).
    """
    _check_lengths(dim_len, chunk_len)
    if not (0 <= start <= stop <= dim_len) or step < 1:
        raise ValueError(
            f"expected a normalised slice with 0 <= start <= stop <= {dim_len} and "
            f"step >= 1, found start={start}, stop={stop}, step={step}")
    cdef offset_t count = (stop - start + step - 1) // step
    cdef offset_t max_chunks = count
    if count > 0:
        # Chunks spanned by [start, stop) bound the number touched, whatever the step.
        max_chunks = min(count, (stop - 1) // chunk_len - start // chunk_len + 1)
    chunk_ix_arr = np.empty(max_chunks, dtype=np.int64)
    bounds_arr = np.empty(max_chunks + 1, dtype=np.int64)
    local_arr = np.empty(count, dtype=np.int64)
    out_arr = np.arange(count, dtype=np.int64)
    cdef offset_t[::1] chunk_ix = chunk_ix_arr
    cdef offset_t[::1] bounds = bounds_arr
    cdef offset_t[::1] local = local_arr
    cdef offset_t i, index, chunk, m = 0, previous = -1
    with nogil:
        bounds[0] = 0
        index = start
        for i in range(count):
            chunk = index // chunk_len
            if chunk != previous:
                if previous >= 0:
                    bounds[m] = i
                chunk_ix[m] = chunk
                m += 1
                previous = chunk
            local[i] = index - chunk * chunk_len
            index += step
        bounds[m] = count
    return chunk_ix_arr[:m], bounds_arr[:m + 1], local_arr, out_arr


cdef void counting_sort_keys(const offset_t* keys, Py_ssize_t n, offset_t* counts,
                             Py_ssize_t ncounts, offset_t* order, const offset_t* payload,
                             offset_t* sorted_payload) noexcept nogil:
    # Contract: keys in [0, ncounts - 1); counts zeroed on entry, ncounts == nkeys + 1. Writes into order[0:n] the positions 0..n-1 stably sorted by key, and
    # leaves counts[k] = start of key k (exclusive prefix sum). With payload (else NULL),
    # sorted_payload[j] = payload[order[j]], written in the same pass: its reads stay
    # sequential where a gather afterwards would read at random. O(n + nkeys), no GIL.
    cdef Py_ssize_t i
    cdef offset_t k, total = 0, c
    for i in range(n):
        counts[keys[i] + 1] += 1
    for k in range(ncounts):
        total += counts[k]
        counts[k] = total
    for i in range(n):
        c = keys[i]
        order[counts[c]] = i
        if payload != NULL:
            sorted_payload[counts[c]] = payload[i]
        counts[c] += 1
    # counts[k] now holds the end of key k; shift back to starts.
    for k in range(ncounts - 1, 0, -1):
        counts[k] = counts[k - 1]
    counts[0] = 0


cdef object _stable_group(object keys_arr, offset_t nkeys, object payload_arr=None):
    # Group positions by key, stably; returns (order, unique keys, bounds, sorted payload),
    # the last payload_arr[order] (None without a payload).
    cdef Py_ssize_t n = keys_arr.shape[0]
    cdef const offset_t[::1] keys = keys_arr
    cdef offset_t[::1] counts_view
    cdef offset_t[::1] order_view
    cdef const offset_t[::1] payload_view
    cdef offset_t[::1] sorted_view
    cdef const offset_t* payload = NULL
    cdef offset_t* sorted_payload = NULL
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(1, dtype=np.int64), None if payload_arr is None else empty.copy()
    if nkeys <= _COUNTING_SORT_RATIO * n + 1024:
        counts = np.zeros(nkeys + 1, dtype=np.int64)
        order = np.empty(n, dtype=np.int64)
        counts_view = counts
        order_view = order
        sorted_arr = None
        if payload_arr is not None:
            sorted_arr = np.empty(n, dtype=np.int64)
            payload_view = payload_arr
            sorted_view = sorted_arr
            payload = &payload_view[0]
            sorted_payload = &sorted_view[0]
        with nogil:
            counting_sort_keys(&keys[0], n, &counts_view[0], nkeys + 1, &order_view[0],
                               payload, sorted_payload)
        # counts[k] is the start of key k and counts[nkeys] == n; a key is present when
        # its run is non-empty.
        present = np.flatnonzero(counts[1:] > counts[:nkeys])
        bounds = np.append(counts[present], n)
        return order, present.astype(np.int64), bounds, sorted_arr
    order = np.argsort(keys_arr, kind="stable").astype(np.int64)
    sorted_keys = keys_arr[order]
    is_new = np.empty(n, dtype=bool)
    is_new[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:n - 1], out=is_new[1:])
    starts = np.flatnonzero(is_new)
    bounds = np.append(starts, n).astype(np.int64)
    return order, sorted_keys[starts], bounds, None if payload_arr is None else payload_arr[order]


cdef bint _is_sorted(const offset_t* values, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(1, n):
        if values[i] < values[i - 1]:
            return False
    return True


cdef Py_ssize_t _plan_sorted(const offset_t* values, Py_ssize_t n, offset_t chunk_len,
                             offset_t* chunk_ix, offset_t* bounds,
                             offset_t* local) noexcept nogil:
    # Contract: values non-decreasing and in range; chunk_ix and bounds have room for one
    # entry per distinct chunk (+1 for bounds). Returns the number of chunks. Sorted input
    # (a boolean mask's nonzero, most often) is already grouped, so no sort is needed.
    cdef Py_ssize_t i, m = 0
    cdef offset_t chunk, previous = -1
    for i in range(n):
        chunk = values[i] // chunk_len
        if chunk != previous:
            bounds[m] = i
            chunk_ix[m] = chunk
            m += 1
            previous = chunk
        local[i] = values[i] - chunk * chunk_len
    bounds[m] = n
    return m


cdef void _plan_counting(const offset_t* values, Py_ssize_t n, offset_t chunk_len,
                         offset_t* counts, Py_ssize_t ncounts, offset_t* order,
                         offset_t* local) noexcept nogil:
    # Contract: values in range; counts zeroed, ncounts == nchunks + 1. A counting sort by
    # chunk that writes each entry's original position and chunk-local index in one pass;
    # on return counts[k] is the start of chunk k. Chunks are recomputed rather than
    # stored, which saves an n-sized temporary.
    cdef Py_ssize_t i
    cdef offset_t k, total = 0, chunk, position
    for i in range(n):
        counts[values[i] // chunk_len + 1] += 1
    for k in range(ncounts):
        total += counts[k]
        counts[k] = total
    for i in range(n):
        chunk = values[i] // chunk_len
        position = counts[chunk]
        counts[chunk] = position + 1
        order[position] = i
        local[position] = values[i] - chunk * chunk_len
    for k in range(ncounts - 1, 0, -1):
        counts[k] = counts[k - 1]
    counts[0] = 0


def plan_int(index, offset_t dim_len, offset_t chunk_len):
    """Plan one axis selected by an integer array (any order, duplicates allowed).

    Entries are grouped by chunk in increasing chunk order and keep their original order
    within a chunk; ``out`` is each entry's position in ``index``. O(n + nchunks).

    Checks: ``index`` is a 1-D integer array with values in ``[0, dim_len)`` (IndexError
    otherwise), ``chunk_len >= 1``.
    """
    _check_lengths(dim_len, chunk_len)
    index_arr = _as_int64(index, "index", 1)
    cdef const offset_t[::1] values = index_arr
    cdef Py_ssize_t n = index_arr.shape[0], i, m, where = 0
    cdef offset_t bad = 0
    cdef bint is_sorted = True
    cdef offset_t nchunks = (dim_len + chunk_len - 1) // chunk_len
    cdef offset_t[::1] chunk_view
    cdef offset_t[::1] bounds_view
    cdef offset_t[::1] local_view
    cdef offset_t[::1] order_view
    cdef offset_t[::1] counts_view
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, np.zeros(1, dtype=np.int64), empty.copy(), empty.copy()
    with nogil:
        bad = _first_out_of_range(&values[0], n, dim_len, &where)
        if not bad:
            is_sorted = _is_sorted(&values[0], n)
    if bad:
        raise IndexError(
            f"index {values[where]} is out of bounds for axis with size {dim_len}")
    local = np.empty(n, dtype=np.int64)
    local_view = local
    if is_sorted:
        max_chunks = min(n, nchunks)
        chunk_ix = np.empty(max_chunks, dtype=np.int64)
        bounds = np.empty(max_chunks + 1, dtype=np.int64)
        chunk_view = chunk_ix
        bounds_view = bounds
        with nogil:
            m = _plan_sorted(&values[0], n, chunk_len, &chunk_view[0], &bounds_view[0],
                             &local_view[0])
        return chunk_ix[:m], bounds[:m + 1], local, np.arange(n, dtype=np.int64)
    if nchunks <= _COUNTING_SORT_RATIO * n + 1024:
        counts = np.zeros(nchunks + 1, dtype=np.int64)
        order = np.empty(n, dtype=np.int64)
        counts_view = counts
        order_view = order
        with nogil:
            _plan_counting(&values[0], n, chunk_len, &counts_view[0], nchunks + 1,
                           &order_view[0], &local_view[0])
        # counts[k] is the start of chunk k and counts[nchunks] == n.
        present = np.flatnonzero(counts[1:] > counts[:nchunks])
        return present.astype(np.int64), np.append(counts[present], n), local, order
    # Far more chunks than entries: a stable argsort avoids the per-chunk table.
    keys_arr = index_arr // chunk_len
    order, chunk_ix, bounds, _ = _stable_group(keys_arr, nchunks)
    local = index_arr[order]
    local -= keys_arr[order] * chunk_len
    return chunk_ix, bounds, local, order


def wrap_coords(offset_t[:, ::1] coords, shape):
    """Wrap negative coordinates in place (``-1`` is the last index) and bounds-check them.

    ``coords`` is ``(ndim, n)``, one row per axis of ``shape``. Returns -1 when every
    coordinate now lies in ``[0, shape[d])``, else the first axis holding one that does not
    (the caller raises the error it names). One pass per axis.
    """
    cdef Py_ssize_t ndim = coords.shape[0], n = coords.shape[1], i
    cdef int d
    cdef offset_t dim_len, value
    if len(shape) != ndim:
        raise ValueError(f"coords must have one row per dimension of shape {tuple(shape)}, "
                         f"found {ndim} rows")
    for d in range(ndim):
        dim_len = shape[d]
        with nogil:
            for i in range(n):
                value = coords[d, i]
                if value < 0:
                    value += dim_len
                    coords[d, i] = value
                if value < 0 or value >= dim_len:
                    break
            else:
                continue
        return d
    return -1


cdef inline offset_t _divide(offset_t value, offset_t divisor, double inverse) noexcept nogil:
    # value // divisor for 0 <= value < 2**52 by a multiply: an integer division costs
    # ~25 cycles, and a million points take two per axis. The float quotient is off by at
    # most one either way; the two corrections make it exact.
    cdef offset_t q = <offset_t>(<double>value * inverse)
    if q * divisor > value:
        q -= 1
    elif (q + 1) * divisor <= value:
        q += 1
    return q


def plan_points(coords, shape, chunks, chunk_strides=None):
    """Group coordinate-selected points by the chunk that holds them.

    ``coords`` is an integer array of shape ``(ndim, n)``. Returns ``(chunk_ids, bounds,
    order, offsets)``: ``chunk_ids[m]`` the distinct flat chunk ids (C order over the chunk
    grid ``ceil(shape / chunks)``), increasing; points ``order[bounds[k]:bounds[k + 1]]``
    lie in chunk ``chunk_ids[k]``, in their original order. With ``chunk_strides`` (bytes
    per step along each axis of a chunk), ``offsets[i]`` is the byte offset of point
    ``order[i]`` inside its chunk (what ``point_chunk_offsets`` returns); else None. Use
    ``unravel_chunk_ids`` (or ``np.unravel_index``) to get chunk coordinates back.

    Checks: ``coords`` is 2-D with one row per dimension, every coordinate lies in
    ``[0, shape[d])`` (IndexError naming the axis), chunk lengths >= 1, one stride per axis.
    """
    coords_arr = _as_int64(coords, "coords", 2)
    cdef Py_ssize_t ndim = len(shape), n = coords_arr.shape[1], i, where = 0
    cdef int d
    cdef offset_t bad = 0, dim_len, chunk_len, grid_stride = 1, q, stride = 0
    cdef double inverse
    cdef bint has_offsets = chunk_strides is not None, is_float_exact
    if coords_arr.shape[0] != ndim or len(chunks) != ndim:
        raise ValueError(
            f"coords must have one row per dimension of shape {tuple(shape)} and chunks "
            f"{tuple(chunks)}, found {coords_arr.shape[0]} rows")
    if has_offsets and len(chunk_strides) != ndim:
        raise ValueError(f"chunk_strides must have {ndim} entries, found {len(chunk_strides)}")
    ids_arr = np.zeros(n, dtype=np.int64)
    local_arr = np.zeros(n if has_offsets else 1, dtype=np.int64)
    cdef offset_t[::1] ids = ids_arr
    cdef offset_t[::1] local = local_arr
    cdef const offset_t[:, ::1] values = coords_arr
    # Walk dimensions last to first so each one's grid stride is the product of the later
    # grid extents (C order over the chunk grid).
    for d in range(ndim - 1, -1, -1):
        dim_len = shape[d]
        chunk_len = chunks[d]
        _check_lengths(dim_len, chunk_len)
        if has_offsets:
            stride = chunk_strides[d]
        if n > 0:
            with nogil:
                bad = _first_out_of_range(&values[d, 0], n, dim_len, &where)
            if bad:
                raise IndexError(
                    f"index {values[d, where]} is out of bounds for axis {d} with size "
                    f"{dim_len}")
        inverse = 1.0 / <double>chunk_len
        is_float_exact = dim_len < (<offset_t>1 << 52)
        with nogil:
            for i in range(n):
                if is_float_exact:
                    q = _divide(values[d, i], chunk_len, inverse)
                else:
                    q = values[d, i] // chunk_len
                ids[i] += q * grid_stride
                if has_offsets:
                    local[i] += (values[d, i] - q * chunk_len) * stride
        grid_stride *= (dim_len + chunk_len - 1) // chunk_len
    order, chunk_ids, bounds, offsets = _stable_group(
        ids_arr, grid_stride, local_arr if has_offsets else None)
    return chunk_ids, bounds, order, offsets


def unravel_chunk_ids(chunk_ids, cdata_shape):
    """Turn flat chunk ids (C order over ``cdata_shape``) into an int64 ``(m, ndim)``
    array of chunk coordinates; the same as ``np.stack(np.unravel_index(...), axis=1)``.

    Checks: ids in ``[0, prod(cdata_shape))`` (IndexError).
    """
    ids_arr = _as_int64(chunk_ids, "chunk_ids", 1)
    cdef Py_ssize_t ndim = len(cdata_shape), m = ids_arr.shape[0], i, where = 0
    cdef int d
    cdef offset_t total = 1, rest, extent, bad = 0
    for d in range(ndim):
        total *= cdata_shape[d]
    cdef const offset_t[::1] ids = ids_arr
    if m > 0:
        with nogil:
            bad = _first_out_of_range(&ids[0], m, total, &where)
    if bad:
        raise IndexError(f"chunk id {ids[where]} is out of bounds for a grid of {total} chunks")
    grid = np.asarray(cdata_shape, dtype=np.int64).reshape(-1)
    cdef const offset_t[::1] extents = grid
    coords_arr = np.empty((m, ndim), dtype=np.int64)
    cdef offset_t[:, ::1] coords = coords_arr
    with nogil:
        for i in range(m):
            rest = ids[i]
            for d in range(ndim - 1, -1, -1):
                extent = extents[d]
                coords[i, d] = rest % extent
                rest = rest // extent
    return coords_arr


def point_chunk_offsets(coords, order, chunks, chunk_strides):
    """Byte offset of each point inside its chunk, in the grouped order of ``plan_points``.

    Returns int64 ``offsets[i] = sum_d (coords[d, order[i]] % chunks[d]) * chunk_strides[d]``
    so a chunk's points are ``offsets[bounds[k]:bounds[k + 1]]``, ready for ``copy_points``.

    Checks: ``coords`` is ``(ndim, n)`` with ``ndim == len(chunks) == len(chunk_strides)``,
    ``order`` holds ``n`` indices in ``[0, n)``, chunk lengths >= 1.
    """
    coords_arr = _as_int64(coords, "coords", 2)
    order_arr = _as_int64(order, "order", 1)
    cdef Py_ssize_t ndim = coords_arr.shape[0], n = coords_arr.shape[1], i, where = 0
    cdef int d
    if len(chunks) != ndim or len(chunk_strides) != ndim:
        raise ValueError(f"chunks and chunk_strides must have {ndim} entries")
    if order_arr.shape[0] != n:
        raise ValueError(f"order must have {n} entries, found {order_arr.shape[0]}")
    cdef const offset_t[::1] perm = order_arr
    if n > 0 and _first_out_of_range(&perm[0], n, n, &where):
        raise IndexError(f"order entry {perm[where]} is out of range for {n} points")
    chunk_arr = np.ascontiguousarray(chunks, dtype=np.int64)
    stride_arr = np.ascontiguousarray(chunk_strides, dtype=np.int64)
    cdef const offset_t[::1] dim_chunks = chunk_arr
    cdef const offset_t[::1] strides = stride_arr
    for d in range(ndim):
        if dim_chunks[d] < 1:
            raise ValueError(f"chunk length must be >= 1, found {dim_chunks[d]}")
    cdef const offset_t[:, ::1] values = coords_arr
    offsets_arr = np.zeros(n, dtype=np.int64)
    cdef offset_t[::1] offsets = offsets_arr
    cdef offset_t j
    with nogil:
        for i in range(n):
            j = perm[i]
            for d in range(ndim):
                offsets[i] += (values[d, j] % dim_chunks[d]) * strides[d]
    return offsets_arr


def whole_flags(bounds, local, out, offset_t chunk_len):
    """Per chunk of an axis plan: 1 when its entries select the chunk's full length in order
    onto consecutive output positions (the chunk maps onto a box of the output), else 0.

    Checks: ``bounds`` starts at 0, never decreases and ends at ``len(local) == len(out)``.
    """
    bounds_arr = _as_int64(bounds, "bounds", 1)
    local_arr = _as_int64(local, "local", 1)
    out_arr = _as_int64(out, "out", 1)
    cdef Py_ssize_t m = bounds_arr.shape[0] - 1, n = local_arr.shape[0], k, j
    if m < 0 or out_arr.shape[0] != n:
        raise ValueError("bounds, local and out do not describe one axis plan")
    cdef const offset_t[::1] b = bounds_arr
    cdef const offset_t[::1] lo = local_arr
    cdef const offset_t[::1] ou = out_arr
    if b[0] != 0 or b[m] != n:
        raise ValueError("bounds must start at 0 and end at the number of entries")
    for k in range(m):
        if b[k + 1] < b[k]:
            raise ValueError("bounds must not decrease")
    flags_arr = np.zeros(m, dtype=np.uint8)
    cdef unsigned char[::1] flags = flags_arr
    cdef bint is_whole
    with nogil:
        for k in range(m):
            if b[k + 1] - b[k] != chunk_len or lo[b[k]] != 0:
                continue
            is_whole = True
            for j in range(b[k] + 1, b[k + 1]):
                if lo[j] != lo[j - 1] + 1 or ou[j] != ou[j - 1] + 1:
                    is_whole = False
                    break
            flags[k] = is_whole
    return flags_arr
