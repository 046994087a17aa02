# cython: language_level=3, wraparound=False, cdivision=True, embedsignature=True
# boundscheck and initializedcheck come from setup.py's directives.
"""A batch of chunks, fetched, decoded and scattered into the output without the GIL.

``read_orthogonal`` serves an orthogonal plan (basic, orthogonal and block selections) and
``read_points`` a coordinate plan, each for one contiguous range of the plan's chunks, so a
caller runs one call per worker thread and touches no Python object per chunk. Sources are
chunk files (``_chunkfiles`` opens, sizes and reads them) or in-memory encoded chunks; chunks
are raw bytes (no compressor) or blosc frames (through ``_blosc``). Anything else takes the
Python path.
An lz4 blosc chunk read by many workers is decoded block by block into cache-sized scratch
and its selected rows go straight to the output (``_scatter_by_blocks``): the decoded chunk
never crosses memory whole, and blocks holding no selected row are never decoded.

Callers guarantee: the offset tables and bounds come from one plan, already multiplied by
the chunk's and the output's byte strides. The def wrappers check every table against the
chunk size and the output's extent before the loop; everything read from a file or frame
is validated by ``_blosc`` or by a size check before use. A chunk that fails stops the
batch and is reported as ``(chunk index, code, errno)``; absent chunks read as the fill.
"""
import numpy as np

cimport numpy as cnp
from libc.errno cimport errno
from libc.stdint cimport uint8_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memmove
from posix.unistd cimport close

from zarr_fast._blosc cimport (
    ERR_IO,
    ERR_SIZE,
    BloscBlocks,
    blosc_block_planes,
    blosc_blocks_open,
    blosc_decode_block,
    blosc_ready,
    decode_blosc,
)
from zarr_fast._bloscitems cimport decode_blosc_items, decode_blosc_items_from_fd
from zarr_fast._chunkcopy cimport (
    copy_items,
    copy_outer_product,
    zf_copy_bytes,
    zf_is_line_aligned,
    zf_stream_fence,
)
from zarr_fast._chunkfiles cimport (
    AT_FDCWD,
    IS_MISSING,
    RUNS_PER_CALL,
    ChunkFiles,
    Encoded,
    Scratch,
    Source,
    acquire_chunk,
    alloc_lines,
    iovec,
    open_chunk,
    preadv_all,
    read_all,
    reserve_bytes,
    reserve_file,
)
from zarr_fast._indexing cimport counting_sort_keys
from zarr_fast._types cimport offset_t

cnp.import_array()

CODEC_RAW = 0
CODEC_BLOSC = 1

cdef enum:
    NOT_RUNS = 2             # not an error: a raw chunk that is not whole rows; take the general path
    MAX_AXES = 64
    # a chunk of which at most this many items are selected, and at most 1/16 of its
    # bytes, decodes only the blosc blocks holding them
    SPARSE_MAX_ITEMS = 4096
    # a chunk with more points than this gathers them block by block from decoded planes
    # (_gather_points_by_blocks); fewer decode just the stream prefixes they need
    POINTS_SPARSE_MAX = 256

# reads that select at least this many bytes write them with streaming stores
# (zf_stream_bytes in csrc/zf_copy.h): a result this large is out of the cache by the time
# the read returns, so reading its lines in before writing them buys nothing
cdef size_t STREAM_MIN_NBYTES = 32 << 20

# error codes, as the Python side names them
ERROR_NAMES = {-1: "not a valid blosc frame", -2: "size mismatch", -3: "decompression failed",
               -4: "I/O error", -5: "blosc unavailable"}


def _set_stream_min_nbytes_for_tests(size_t nbytes):
    """Stream reads that select at least ``nbytes`` (0: every read); returns the old bound."""
    global STREAM_MIN_NBYTES
    previous = STREAM_MIN_NBYTES
    STREAM_MIN_NBYTES = nbytes
    return previous


def is_ready():
    """True when the compiled path can decode blosc frames (raw chunks always work)."""
    return blosc_ready() != 0


cdef int _decode_frame(const unsigned char* frame, size_t frame_nbytes, char* dst,
                       size_t chunk_nbytes, int codec, int codec_threads) noexcept nogil:
    if codec == 0:
        if frame_nbytes != chunk_nbytes:
            return ERR_SIZE
        zf_copy_bytes(dst, frame, chunk_nbytes)
        return 0
    return decode_blosc(frame, frame_nbytes, dst, chunk_nbytes, codec_threads)


cdef int _load_chunk(Source* src, Scratch* s, char* dst, size_t chunk_nbytes, int codec,
                     int codec_threads, const offset_t* items, Py_ssize_t nitems,
                     Py_ssize_t itemsize, int* err_no) noexcept nogil:
    # Decode one chunk into dst. With items (sparse), only the items at those byte offsets
    # need to come out right, so only the blosc blocks holding them are read and decoded.
    # Returns 0, IS_MISSING, or a negative error code.
    cdef size_t file_nbytes = 0
    cdef int fd, rc
    cdef Encoded enc
    if items != NULL and codec == 1:
        if src.path != NULL:
            fd = open_chunk(src, &file_nbytes, err_no)
            if fd < 0:
                return IS_MISSING if fd == -IS_MISSING else fd
            rc = reserve_file(s, file_nbytes if file_nbytes > 0 else 1)
            if rc == 0:
                rc = decode_blosc_items_from_fd(fd, file_nbytes, s.file, dst, chunk_nbytes,
                                                items, nitems, itemsize)
            close(fd)
            return rc
        if src.frame == NULL:
            return IS_MISSING
        return decode_blosc_items(src.frame, src.frame_nbytes, dst, chunk_nbytes, items,
                                  nitems, itemsize)
    if codec == 0 and src.path != NULL and zf_is_line_aligned(dst):
        # a raw chunk file is its own decoded bytes: one kernel copy into dst (into a dst
        # off a cache line the kernel's copy is slow: read into scratch and copy instead)
        fd = open_chunk(src, &file_nbytes, err_no)
        if fd < 0:
            return IS_MISSING if fd == -IS_MISSING else fd
        rc = ERR_SIZE if file_nbytes != chunk_nbytes else read_all(
            fd, <unsigned char*>dst, chunk_nbytes, err_no)
        close(fd)
        return rc
    rc = acquire_chunk(src, s, &enc, err_no)
    if rc != 0:
        return rc
    rc = _decode_frame(enc.data, enc.nbytes, dst, chunk_nbytes, codec, codec_threads)
    return rc


cdef int _read_raw_whole(const Source* src, char* out_data, int naxes,
                         const offset_t** src_ptrs, const offset_t** dst_ptrs,
                         const offset_t* lengths, Py_ssize_t itemsize, size_t chunk_nbytes,
                         int* err_no) noexcept nogil:
    # A raw chunk selected whole, read from its file straight into its strided region of
    # the output: one preadv per RUNS_PER_CALL rows, so the bytes cross memory once (no
    # scratch). Returns 0, IS_MISSING, a negative error code, or NOT_RUNS when the chunk is
    # not laid out as runs, or a run starts off a cache line (the kernel's copy is slow
    # there): the caller takes the general path, the file read into scratch and copied.
    cdef iovec iov[RUNS_PER_CALL]
    cdef offset_t counters[MAX_AXES]
    cdef offset_t run_items = lengths[naxes - 1], k, dst_item, src_item
    cdef size_t run_nbytes = <size_t>(run_items * itemsize), file_offset = 0, batch_offset = 0
    cdef size_t file_nbytes = 0
    cdef int d, n = 0, fd, rc = 0
    cdef const offset_t* last_src = src_ptrs[naxes - 1]
    cdef const offset_t* last_dst = dst_ptrs[naxes - 1]
    cdef size_t starts = <size_t>out_data + <size_t>last_dst[0]   # every run start, OR-ed
    # the last axis must be one contiguous run in both the chunk and the output
    for k in range(run_items):
        if last_src[k] != last_src[0] + k * itemsize or last_dst[k] != last_dst[0] + k * itemsize:
            return NOT_RUNS
    for d in range(naxes - 1):
        for k in range(lengths[d]):
            starts |= <size_t>dst_ptrs[d][k]
    if not zf_is_line_aligned(<void*>starts):
        return NOT_RUNS
    fd = open_chunk(src, &file_nbytes, err_no)
    if fd < 0:
        return IS_MISSING if fd == -IS_MISSING else fd
    if file_nbytes != chunk_nbytes:
        close(fd)
        return ERR_SIZE
    for d in range(naxes):
        counters[d] = 0
    while True:
        src_item = 0
        dst_item = 0
        for d in range(naxes - 1):
            src_item += src_ptrs[d][counters[d]]
            dst_item += dst_ptrs[d][counters[d]]
        src_item += last_src[0]
        dst_item += last_dst[0]
        if <size_t>src_item != file_offset:
            rc = NOT_RUNS        # rows not in file order: not a whole, in-order chunk
            break
        if n == 0:
            batch_offset = file_offset
        iov[n].iov_base = out_data + dst_item
        iov[n].iov_len = run_nbytes
        n += 1
        file_offset += run_nbytes
        d = naxes - 2
        while d >= 0:
            counters[d] += 1
            if counters[d] < lengths[d]:
                break
            counters[d] = 0
            d -= 1
        if n == RUNS_PER_CALL or d < 0:
            rc = preadv_all(fd, iov, n, batch_offset, err_no)
            n = 0
            if rc != 0 or d < 0:
                break
    close(fd)
    if rc == 0 and file_offset != chunk_nbytes:
        rc = NOT_RUNS
    return rc


cdef extern from "zf_unshuffle.h" nogil:
    void zf_unshuffle_planes(size_t typesize, const unsigned char* const* planes, size_t first,
                             size_t count, unsigned char* dst, int stream)


cdef int _unshuffle_rows(const BloscBlocks* blocks, Scratch* s, char* out_data, int outer,
                         const offset_t** src_ptrs, const offset_t** dst_ptrs,
                         const offset_t* lengths, Py_ssize_t itemsize, bint stream) noexcept nogil:
    # Two axes, each selected row one run contiguous in the chunk and in out, rows never
    # straddling blocks: each needed block's planes are decoded (raw ones stay in the frame)
    # and every selected row is unshuffled straight to its place in out, no copy between.
    # Returns 0 or NOT_RUNS (a block failed to decode; the caller decodes whole).
    cdef const unsigned char* planes[256]
    cdef size_t nplanes = 1, b, current = <size_t>-1, block_lo = 0, block_nbytes = 0, byte
    cdef int inner = 1 - outer
    cdef const offset_t* rows = src_ptrs[outer]
    cdef size_t run_src = <size_t>src_ptrs[inner][0], run_dst = <size_t>dst_ptrs[inner][0]
    cdef size_t run_nbytes = <size_t>(lengths[inner] * itemsize)
    cdef Py_ssize_t got
    cdef offset_t e
    for e in range(lengths[outer]):
        b = <size_t>rows[e] // blocks.blocksize
        if b != current:
            got = blosc_block_planes(blocks, b, s.planes, planes, &nplanes)
            if got <= 0:
                return NOT_RUNS
            current = b
            block_lo = b * blocks.blocksize
            block_nbytes = <size_t>got
        byte = <size_t>rows[e] - block_lo + run_src
        if byte + run_nbytes > block_nbytes:
            return NOT_RUNS
        zf_unshuffle_planes(nplanes, planes, byte // nplanes, run_nbytes // nplanes,
                            <unsigned char*>(out_data + dst_ptrs[outer][e] + run_dst), stream)
    return 0


cdef bint _is_one_run(const offset_t* offsets, offset_t n, Py_ssize_t itemsize) noexcept nogil:
    cdef offset_t k
    for k in range(1, n):
        if offsets[k] != offsets[0] + k * itemsize:
            return False
    return True


cdef int _scatter_by_blocks(const BloscBlocks* blocks, Scratch* s, char* out_data, int naxes,
                            int outer, size_t row_nbytes, const offset_t** src_ptrs,
                            const offset_t** dst_ptrs, const offset_t* lengths,
                            Py_ssize_t itemsize, bint stream) noexcept nogil:
    # A blosc chunk decoded one block at a time into a small window that stays in cache, its
    # selected rows (slabs of the outer axis) copied out as soon as they are complete: the
    # decoded chunk never crosses memory whole, and blocks holding no selected row are never
    # decoded. The outer axis's offsets must be sorted (rows in file order) and each row no
    # larger than a block. Returns 0, ERR_IO (no memory), or NOT_RUNS when the selection
    # does not suit or a block fails to decode (the caller decodes the chunk whole: c-blosc
    # then rewrites every selected row, or names the fault).
    cdef const offset_t* rows = src_ptrs[outer]
    cdef const offset_t* sub_src[MAX_AXES]
    cdef const offset_t* sub_dst[MAX_AXES]
    cdef offset_t sub_len[MAX_AXES]
    cdef offset_t n = lengths[outer], e = 0, e_end, k
    cdef size_t lo, hi, win_lo = 0, win_hi = 0, b, blocksize = blocks.blocksize
    cdef Py_ssize_t got
    cdef int d
    if row_nbytes > blocksize:
        return NOT_RUNS
    for k in range(1, n):
        if rows[k] < rows[k - 1]:
            return NOT_RUNS
    if reserve_bytes(&s.planes, &s.planes_capacity, blocksize) != 0:
        return ERR_IO
    if (naxes == 2 and blocksize % row_nbytes == 0 and itemsize % blocks.typesize == 0
            and _is_one_run(src_ptrs[1 - outer], lengths[1 - outer], itemsize)
            and _is_one_run(dst_ptrs[1 - outer], lengths[1 - outer], itemsize)):
        return _unshuffle_rows(blocks, s, out_data, outer, src_ptrs, dst_ptrs, lengths, itemsize,
                               stream)
    if reserve_bytes(&s.window, &s.window_capacity, blocksize + row_nbytes) != 0:
        return ERR_IO
    for d in range(naxes):
        sub_src[d] = src_ptrs[d]
        sub_dst[d] = dst_ptrs[d]
        sub_len[d] = lengths[d]
    while e < n:
        lo = <size_t>rows[e]
        hi = lo + row_nbytes
        if win_lo <= lo and hi <= win_hi:
            # every row held whole by the window goes out in one copy
            e_end = e + 1
            while e_end < n and <size_t>rows[e_end] + row_nbytes <= win_hi:
                e_end += 1
            sub_src[outer] = rows + e
            sub_dst[outer] = dst_ptrs[outer] + e
            sub_len[outer] = e_end - e
            # offsets are chunk bytes; the window holds chunk bytes [win_lo, win_hi)
            copy_outer_product(<const char*>(<size_t>s.window - win_lo), out_data, naxes,
                               sub_src, sub_dst, sub_len, itemsize, False, -1, stream)
            e = e_end
            continue
        if lo < win_lo or lo >= win_hi:
            # the row starts in a block not held: start afresh at that block
            b = lo // blocksize
            win_lo = win_hi = b * blocksize
        else:
            # the row starts in the window and runs on: keep its head, append the next block
            if lo > win_lo:
                memmove(s.window, s.window + (lo - win_lo), win_hi - lo)
                win_lo = lo
            b = win_hi // blocksize
        got = blosc_decode_block(blocks, b, s.window + (win_hi - win_lo), s.planes, False)
        if got <= 0:
            return NOT_RUNS
        win_hi += <size_t>got
    return 0


cdef int _stream_blocks(const Encoded* enc, Scratch* s, char* dst,
                        size_t chunk_nbytes) noexcept nogil:
    # A blosc frame decoded block by block straight into dst with streaming stores (the
    # chunk's region of a result larger than the cache, in the chunk's layout). Returns 0,
    # ERR_IO (no memory) or NOT_RUNS (the frame does not suit, or a block fails to decode:
    # the caller decodes it whole with c-blosc, which also names the fault).
    cdef BloscBlocks blocks
    cdef size_t b
    cdef Py_ssize_t got
    if blosc_blocks_open(&blocks, enc.data, enc.nbytes, chunk_nbytes) != 0:
        return NOT_RUNS
    if reserve_bytes(&s.planes, &s.planes_capacity, blocks.blocksize) != 0:
        return ERR_IO
    for b in range(blocks.nblocks):
        got = blosc_decode_block(&blocks, b, <unsigned char*>dst + b * blocks.blocksize,
                                 s.planes, True)
        if got <= 0:
            return NOT_RUNS
    return 0


cdef int _scatter_blosc(const Encoded* enc, Scratch* s, char* out_data, int naxes, int outer,
                        size_t row_nbytes, const offset_t** src_ptrs, const offset_t** dst_ptrs,
                        const offset_t* lengths, Py_ssize_t itemsize,
                        size_t chunk_nbytes, bint stream) noexcept nogil:
    # A blosc frame decoded block by block and scattered: 0, ERR_IO or NOT_RUNS.
    cdef BloscBlocks blocks
    if blosc_blocks_open(&blocks, enc.data, enc.nbytes, chunk_nbytes) != 0:
        return NOT_RUNS
    return _scatter_by_blocks(&blocks, s, out_data, naxes, outer, row_nbytes, src_ptrs,
                              dst_ptrs, lengths, itemsize, stream)


cdef void _gather_item(const unsigned char* const* planes, size_t nplanes, size_t byte,
                       Py_ssize_t itemsize, char* dst) noexcept nogil:
    # The item at decoded byte ``byte`` of a block, from its planes: byte k of every
    # nplanes-byte unit sits in plane k (one plane: the block's bytes as they are).
    cdef size_t k, position
    if nplanes == 1:
        memcpy(dst, planes[0] + byte, itemsize)
    elif <size_t>itemsize == nplanes and byte % nplanes == 0:
        position = byte // nplanes
        for k in range(nplanes):
            dst[k] = planes[k][position]
    else:
        for k in range(<size_t>itemsize):
            position = byte + k
            dst[k] = planes[position % nplanes][position // nplanes]


cdef int _gather_points_by_blocks(const Encoded* enc, Scratch* s, char* out_data,
                                  const offset_t* src, const offset_t* dst, offset_t count,
                                  Py_ssize_t itemsize, size_t chunk_nbytes) noexcept nogil:
    # Points of one blosc chunk, gathered block by block straight from each block's decoded
    # planes (which stay in cache): no unshuffle, no decoded chunk in memory, and blocks
    # holding no point are never decoded. The points are first grouped by block with the
    # planner's counting sort. Returns 0, ERR_IO (no memory) or NOT_RUNS when the frame does
    # not suit, a point straddles two blocks or a block fails to decode (the caller decodes
    # the chunk whole, which rewrites every point or names the fault).
    cdef BloscBlocks blocks
    cdef const unsigned char* planes[256]
    cdef size_t nplanes = 1, b, blocksize, nblocks, byte
    cdef offset_t i, j
    cdef offset_t* block_of
    cdef offset_t* order
    cdef offset_t* starts
    cdef Py_ssize_t got
    if blosc_blocks_open(&blocks, enc.data, enc.nbytes, chunk_nbytes) != 0:
        return NOT_RUNS
    blocksize = blocks.blocksize
    nblocks = blocks.nblocks
    if (reserve_bytes(&s.planes, &s.planes_capacity, blocksize) != 0 or reserve_bytes(
            &s.pairs, &s.pairs_capacity, sizeof(offset_t) * (2 * <size_t>count + nblocks + 1)) != 0):
        return ERR_IO
    block_of = <offset_t*>s.pairs
    order = block_of + count
    starts = order + count
    for i in range(count):
        block_of[i] = <offset_t>(<size_t>src[i] // blocksize)
        if (<size_t>src[i] % blocksize) + <size_t>itemsize > blocksize:
            return NOT_RUNS
    for b in range(nblocks + 1):
        starts[b] = 0
    # block b's points are order[starts[b]:starts[b + 1]]
    counting_sort_keys(block_of, count, starts, nblocks + 1, order, NULL, NULL)
    for b in range(nblocks):
        if starts[b] == starts[b + 1]:
            continue
        got = blosc_block_planes(&blocks, b, s.planes, planes, &nplanes)
        if got <= 0:
            return NOT_RUNS
        for j in range(starts[b], starts[b + 1]):
            i = order[j]
            byte = <size_t>src[i] - b * blocksize
            if byte + <size_t>itemsize > <size_t>got:
                return NOT_RUNS    # the last block is shorter than its points reach
            _gather_item(planes, nplanes, byte, itemsize, out_data + dst[i])
    return 0


cdef void _outer_items(int naxes, const offset_t** offsets, const offset_t* lengths,
                       offset_t* items) noexcept nogil:
    # Enumerate the outer product of per-axis byte offsets (every lengths[d] >= 1).
    cdef offset_t counters[MAX_AXES]
    cdef Py_ssize_t n = 0
    cdef offset_t total
    cdef int d
    for d in range(naxes):
        counters[d] = 0
    while True:
        total = 0
        for d in range(naxes):
            total += offsets[d][counters[d]]
        items[n] = total
        n += 1
        d = naxes - 1
        while d >= 0:
            counters[d] += 1
            if counters[d] < lengths[d]:
                break
            counters[d] = 0
            d -= 1
        if d < 0:
            return


cdef class _Batch:
    """Sources and scratch of one call, acquired with the GIL and used without it."""
    cdef Source* sources
    cdef Scratch scratch
    cdef Py_ssize_t count
    cdef list keep

    def __cinit__(self, object sources, bint from_files, Py_ssize_t start, Py_ssize_t stop,
                  Py_ssize_t chunk_nbytes):
        cdef Py_ssize_t i
        cdef const unsigned char[::1] view
        cdef ChunkFiles files
        cdef const char* packed
        self.count = stop - start
        self.keep = [sources]
        self.sources = <Source*>calloc(self.count + 1, sizeof(Source))
        self.scratch.chunk = <char*>alloc_lines(chunk_nbytes)
        self.scratch.items = <offset_t*>malloc(sizeof(offset_t) * SPARSE_MAX_ITEMS)
        if self.sources == NULL or self.scratch.chunk == NULL or self.scratch.items == NULL:
            raise MemoryError()
        if from_files:
            if not isinstance(sources, ChunkFiles):
                raise TypeError(f"chunk files must be a ChunkFiles, found {type(sources)!r}")
            files = <ChunkFiles>sources
            if files.dirfd < 0:
                return          # no folder: every chunk is absent
            packed = files.packed
            for i in range(self.count):
                self.sources[i].dirfd = files.dirfd
                self.sources[i].path = packed + files.starts[start + i]
            return
        for i in range(self.count):
            src = sources[start + i]
            if src is None:
                continue
            view = memoryview(src).cast("B")
            self.keep.append(view)
            self.sources[i].frame_nbytes = view.shape[0]
            self.sources[i].frame = &view[0] if view.shape[0] else <const unsigned char*>b""

    def __dealloc__(self):
        free(self.sources)
        free(self.scratch.chunk)
        free(self.scratch.file)
        free(self.scratch.items)
        free(self.scratch.window)
        free(self.scratch.planes)
        free(self.scratch.pairs)


cdef Py_ssize_t _out_extent(cnp.ndarray out) except -1:
    cdef Py_ssize_t extent = out.itemsize
    cdef int d
    if not cnp.PyArray_ISWRITEABLE(out):
        raise ValueError("out must be writeable")
    for d in range(out.ndim):
        if out.strides[d] < 0:
            raise ValueError("out must have non-negative strides")
        if out.shape[d] == 0:
            return 0
        extent += (out.shape[d] - 1) * out.strides[d]
    return extent


cdef object _fill_item(object fill, Py_ssize_t itemsize):
    if fill is None:
        return None
    fill = np.ascontiguousarray(fill)
    if fill.itemsize != itemsize:
        raise ValueError(f"fill item has {fill.itemsize} bytes, expected {itemsize}")
    return fill


def read_orthogonal(object sources, bint from_files, const offset_t[:, ::1] positions,
                    list bounds, list src_offsets, list dst_offsets, list whole,
                    cnp.ndarray out, object fill, int codec, Py_ssize_t chunk_nbytes,
                    bint direct_ok, int codec_threads, Py_ssize_t start, Py_ssize_t stop,
                    int outer=-1, Py_ssize_t row_nbytes=0):
    """Decode chunks ``start:stop`` of an orthogonal plan into ``out``; return error records.

    ``sources`` is a ``ChunkFiles`` (with ``from_files``) or a list holding, per chunk, its
    encoded bytes (a buffer) or None (absent). ``positions[i, d]`` is chunk i's index k into axis d's
    tables: ``bounds[d]`` (the k-th chunk's entries are ``bounds[d][k]:bounds[d][k+1]``),
    byte offsets ``src_offsets[d]`` (in the chunk) and ``dst_offsets[d]`` (in ``out``), and
    ``whole[d][k]`` (that chunk is selected whole and in order). With ``direct_ok``, a chunk
    selected whole decodes straight into ``out`` (its region has the chunk's layout).
    ``outer`` (an axis, or -1) and ``row_nbytes`` describe the chunk's layout: that axis's
    offsets are multiples of ``row_nbytes`` and the other axes' stay inside one such row (a
    C-order chunk: axis 0, its stride); blosc chunks are then decoded block by block
    straight into ``out`` where the frame allows. Tables that break this just turn it off.

    Checks: one table per axis, consistent lengths, offsets inside the chunk and ``out``,
    positions in range, ``out`` writeable with non-negative strides, blosc available.
    Returns a list of ``(index, code, errno)``; empty when every chunk went well.
    """
    cdef int naxes = positions.shape[1], d, rc = 0, err_no = 0
    cdef Py_ssize_t i, k, m = positions.shape[0], itemsize = out.itemsize
    cdef const offset_t* src_tab[MAX_AXES]
    cdef const offset_t* dst_tab[MAX_AXES]
    cdef const offset_t* bound_tab[MAX_AXES]
    cdef const uint8_t* whole_tab[MAX_AXES]
    cdef const offset_t* src_ptrs[MAX_AXES]
    cdef const offset_t* dst_ptrs[MAX_AXES]
    cdef const offset_t* zero_ptrs[MAX_AXES]
    cdef offset_t lengths[MAX_AXES]
    cdef offset_t first, nitems, dst_base, src_reach = 0, dst_reach = 0, longest = 1
    cdef bint is_whole, all_whole
    cdef Py_ssize_t out_extent = _out_extent(out)
    cdef char* out_data = <char*>cnp.PyArray_DATA(out)
    cdef const offset_t[::1] view
    cdef const uint8_t[::1] wview
    cdef const char* fill_data = NULL
    cdef Encoded enc
    cdef size_t selected_nbytes = <size_t>itemsize
    cdef bint stream

    if naxes < 1 or naxes > MAX_AXES or not (
            len(bounds) == len(src_offsets) == len(dst_offsets) == len(whole) == naxes):
        raise ValueError(f"expected one table per axis for {naxes} axes")
    if not (0 <= start <= stop <= m) or len(sources) != m:
        raise ValueError(f"bad chunk range {start}:{stop} for {m} chunks")
    if codec == CODEC_BLOSC and not blosc_ready():
        raise RuntimeError("blosc is not available to the compiled chunk path")
    fill = _fill_item(fill, itemsize)
    if fill is not None:
        fill_data = <const char*>cnp.PyArray_DATA(fill)
    tables = []
    for d in range(naxes):
        b = np.ascontiguousarray(bounds[d], dtype=np.int64)
        s = np.ascontiguousarray(src_offsets[d], dtype=np.int64)
        t = np.ascontiguousarray(dst_offsets[d], dtype=np.int64)
        w = np.ascontiguousarray(whole[d], dtype=np.uint8)
        n = s.shape[0]
        if (t.shape[0] != n or b.shape[0] < 2 or b[0] != 0 or b[b.shape[0] - 1] != n
                or w.shape[0] != b.shape[0] - 1 or np.any(np.diff(b) < 0)):
            raise ValueError(f"inconsistent plan tables for axis {d}")
        if n == 0:
            return []
        if s.min() < 0 or t.min() < 0:
            raise ValueError(f"negative byte offset on axis {d}")
        src_reach += s.max()
        dst_reach += t.max()
        longest = max(longest, n)
        selected_nbytes *= <size_t>n
        tables += [b, s, t, w]
        view = b
        bound_tab[d] = &view[0]
        view = s
        src_tab[d] = &view[0]
        view = t
        dst_tab[d] = &view[0]
        wview = w
        whole_tab[d] = &wview[0]
        for k in range(start, stop):
            if positions[k, d] < 0 or positions[k, d] >= b.shape[0] - 1:
                raise ValueError(f"chunk {k} has position {positions[k, d]} outside axis {d}")
    if src_reach + itemsize > chunk_nbytes or dst_reach + itemsize > out_extent:
        raise ValueError("plan offsets reach outside the chunk or the output")
    if not (0 <= outer < naxes and 0 < row_nbytes and chunk_nbytes % row_nbytes == 0):
        outer = -1
    else:
        # the window of _scatter_by_blocks holds whole rows: offsets must respect them
        row_table = tables[4 * outer + 1]
        inner_reach = sum(int(tables[4 * d + 1].max()) for d in range(naxes) if d != outer)
        if inner_reach + itemsize > row_nbytes or np.any(row_table % row_nbytes):
            outer = -1
    zeros = np.zeros(longest, dtype=np.int64)
    view = zeros
    for d in range(naxes):
        zero_ptrs[d] = &view[0]
    stream = selected_nbytes >= STREAM_MIN_NBYTES
    batch = _Batch(sources, from_files, start, stop, chunk_nbytes)
    cdef _Batch b_ = <_Batch>batch
    with nogil:
        for i in range(start, stop):
            all_whole = True
            nitems = 1
            dst_base = 0
            for d in range(naxes):
                first = bound_tab[d][positions[i, d]]
                lengths[d] = bound_tab[d][positions[i, d] + 1] - first
                src_ptrs[d] = src_tab[d] + first
                dst_ptrs[d] = dst_tab[d] + first
                nitems *= lengths[d]
                all_whole = all_whole and whole_tab[d][positions[i, d]] != 0
                if lengths[d] > 0:
                    dst_base += dst_ptrs[d][0]
            if nitems == 0:
                continue
            is_whole = direct_ok and all_whole
            if is_whole and stream and codec == 1 and codec_threads <= 1:
                rc = acquire_chunk(&b_.sources[i - start], &b_.scratch, &enc, &err_no)
                if rc == 0:
                    rc = _stream_blocks(&enc, &b_.scratch, out_data + dst_base, chunk_nbytes)
                    if rc == NOT_RUNS:
                        rc = _decode_frame(enc.data, enc.nbytes, out_data + dst_base, chunk_nbytes,
                                           codec, codec_threads)
            elif is_whole:
                rc = _load_chunk(&b_.sources[i - start], &b_.scratch, out_data + dst_base,
                                 chunk_nbytes, codec, codec_threads, NULL, 0, itemsize, &err_no)
            elif codec == 0:
                rc = NOT_RUNS
                if all_whole and b_.sources[i - start].path != NULL:
                    rc = _read_raw_whole(&b_.sources[i - start], out_data, naxes, src_ptrs,
                                         dst_ptrs, lengths, itemsize, chunk_nbytes, &err_no)
                if rc == NOT_RUNS:
                    # raw chunks scatter from their bytes (the file read into scratch)
                    rc = acquire_chunk(&b_.sources[i - start], &b_.scratch, &enc, &err_no)
                    if rc == 0:
                        if enc.nbytes == <size_t>chunk_nbytes:
                            copy_outer_product(<const char*>enc.data, out_data, naxes, src_ptrs,
                                               dst_ptrs, lengths, itemsize, False, -1, stream)
                        else:
                            rc = ERR_SIZE
                if rc == 0:
                    continue
            elif codec == 1 and nitems <= SPARSE_MAX_ITEMS and nitems * itemsize * 16 <= chunk_nbytes:
                _outer_items(naxes, src_ptrs, lengths, b_.scratch.items)
                rc = _load_chunk(&b_.sources[i - start], &b_.scratch, b_.scratch.chunk, chunk_nbytes,
                                 codec, codec_threads, b_.scratch.items, nitems, itemsize, &err_no)
            elif codec == 1 and outer >= 0 and codec_threads <= 1:
                rc = acquire_chunk(&b_.sources[i - start], &b_.scratch, &enc, &err_no)
                if rc == 0:
                    rc = _scatter_blosc(&enc, &b_.scratch, out_data, naxes, outer, row_nbytes,
                                        src_ptrs, dst_ptrs, lengths, itemsize, chunk_nbytes,
                                        stream)
                    if rc == NOT_RUNS:
                        rc = _decode_frame(enc.data, enc.nbytes, b_.scratch.chunk, chunk_nbytes,
                                           codec, codec_threads)
                        if rc == 0:
                            copy_outer_product(b_.scratch.chunk, out_data, naxes, src_ptrs,
                                               dst_ptrs, lengths, itemsize, False, -1, stream)
                if rc == 0:
                    continue
            else:
                rc = _load_chunk(&b_.sources[i - start], &b_.scratch, b_.scratch.chunk, chunk_nbytes,
                                 codec, codec_threads, NULL, 0, itemsize, &err_no)
            if rc == IS_MISSING:
                if fill_data != NULL:
                    copy_outer_product(fill_data, out_data, naxes, zero_ptrs, dst_ptrs, lengths,
                                       itemsize, True, -1, False)
                rc = 0
            elif rc == 0 and not is_whole:
                copy_outer_product(b_.scratch.chunk, out_data, naxes, src_ptrs, dst_ptrs,
                                   lengths, itemsize, False, -1, stream)
            if rc != 0:
                break
        if stream:
            zf_stream_fence()
    return [(i, rc, err_no)] if rc != 0 else []


def read_points(object sources, bint from_files, const offset_t[::1] bounds,
                const offset_t[::1] src_offsets, const offset_t[::1] dst_offsets,
                cnp.ndarray out, object fill, int codec, Py_ssize_t chunk_nbytes,
                int codec_threads, Py_ssize_t start, Py_ssize_t stop):
    """Decode chunks ``start:stop`` of a point plan and copy their points into ``out``.

    Chunk i's points are entries ``bounds[i]:bounds[i+1]`` of ``src_offsets`` (byte offsets
    in the chunk) and ``dst_offsets`` (byte offsets in ``out``). Sources as in
    ``read_orthogonal``. Checks: table lengths, offsets inside the chunk and ``out``.
    Returns a list of ``(index, code, errno)``.
    """
    cdef Py_ssize_t i, m = bounds.shape[0] - 1, itemsize = out.itemsize, n
    cdef Py_ssize_t out_extent = _out_extent(out)
    cdef char* out_data = <char*>cnp.PyArray_DATA(out)
    cdef const char* fill_data = NULL
    cdef offset_t first, count
    cdef int rc = 0, err_no = 0
    cdef Encoded enc
    if m < 0 or not (0 <= start <= stop <= m) or len(sources) != m:
        raise ValueError(f"bad chunk range {start}:{stop} for {m} chunks")
    n = src_offsets.shape[0]
    if dst_offsets.shape[0] != n or bounds[0] != 0 or bounds[m] != n:
        raise ValueError("inconsistent point tables")
    if codec == CODEC_BLOSC and not blosc_ready():
        raise RuntimeError("blosc is not available to the compiled chunk path")
    if n == 0:
        return []
    # only this call's chunks are read, so only their entries need checking
    mine = np.asarray(bounds[start:stop + 1])
    if np.any(np.diff(mine) < 0) or mine[0] < 0 or mine[mine.shape[0] - 1] > n:
        raise ValueError("point bounds are not increasing")
    first_entry, stop_entry = mine[0], mine[mine.shape[0] - 1]
    if stop_entry > first_entry:
        src_mine = np.asarray(src_offsets[first_entry:stop_entry])
        dst_mine = np.asarray(dst_offsets[first_entry:stop_entry])
        if (src_mine.min() < 0 or dst_mine.min() < 0 or src_mine.max() + itemsize > chunk_nbytes
                or dst_mine.max() + itemsize > out_extent):
            raise ValueError("point offsets reach outside the chunk or the output")
    fill = _fill_item(fill, itemsize)
    if fill is not None:
        fill_data = <const char*>cnp.PyArray_DATA(fill)
    # source offsets of the fill item: one per point of the largest chunk here
    zeros = np.zeros(max(1, int(np.diff(mine).max(initial=0))), dtype=np.int64)
    cdef const offset_t[::1] zero_view = zeros
    batch = _Batch(sources, from_files, start, stop, chunk_nbytes)
    cdef _Batch b_ = <_Batch>batch
    with nogil:
        for i in range(start, stop):
            first = bounds[i]
            count = bounds[i + 1] - first
            if count == 0:
                continue
            if codec == 1 and count <= POINTS_SPARSE_MAX and count * itemsize * 16 <= chunk_nbytes:
                rc = _load_chunk(&b_.sources[i - start], &b_.scratch, b_.scratch.chunk, chunk_nbytes,
                                 codec, codec_threads, &src_offsets[first], count, itemsize, &err_no)
            elif codec == 1 and codec_threads <= 1:
                rc = acquire_chunk(&b_.sources[i - start], &b_.scratch, &enc, &err_no)
                if rc == 0:
                    rc = _gather_points_by_blocks(&enc, &b_.scratch, out_data, &src_offsets[first],
                                                  &dst_offsets[first], count, itemsize, chunk_nbytes)
                    if rc == NOT_RUNS:
                        rc = _decode_frame(enc.data, enc.nbytes, b_.scratch.chunk, chunk_nbytes,
                                           codec, codec_threads)
                        if rc == 0:
                            copy_items(b_.scratch.chunk, out_data, &src_offsets[first],
                                       &dst_offsets[first], count, itemsize)
                if rc == 0:
                    continue
            else:
                rc = _load_chunk(&b_.sources[i - start], &b_.scratch, b_.scratch.chunk, chunk_nbytes,
                                 codec, codec_threads, NULL, 0, itemsize, &err_no)
            if rc == IS_MISSING:
                if fill_data != NULL:
                    copy_items(fill_data, out_data, &zero_view[0], &dst_offsets[first], count, itemsize)
                rc = 0
            elif rc == 0:
                copy_items(b_.scratch.chunk, out_data, &src_offsets[first], &dst_offsets[first],
                           count, itemsize)
            if rc != 0:
                break
    return [(i, rc, err_no)] if rc != 0 else []


cdef extern from "<unistd.h>" nogil:
    Py_ssize_t pread(int fd, void* buf, size_t count, long offset)


def read_item(object source, bint from_files, int codec, Py_ssize_t chunk_nbytes,
              Py_ssize_t item_offset, cnp.ndarray out, object fill, int codec_threads):
    """Read the one item at byte ``item_offset`` of a chunk into ``out``'s first item.

    ``source`` is the chunk's file path (bytes, ``from_files``), its encoded bytes, or None.
    A raw chunk file is read at the item only; a blosc chunk decodes just what the item
    needs. Checks: the item lies inside the chunk, ``out`` is writeable and contiguous with
    the fill's item size. Returns ``(code, errno)``: ``(0, 0)`` on success.
    """
    cdef Py_ssize_t itemsize = out.itemsize
    cdef Source src
    cdef Scratch scratch
    cdef offset_t item = item_offset
    cdef int rc = 0, err_no = 0, fd
    cdef size_t file_nbytes = 0
    cdef Py_ssize_t got
    cdef char* out_data = <char*>cnp.PyArray_DATA(out)
    cdef const unsigned char[::1] view
    if item_offset < 0 or item_offset + itemsize > chunk_nbytes or out.size < 1:
        raise ValueError(f"item at byte {item_offset} is outside a chunk of {chunk_nbytes} bytes")
    if not cnp.PyArray_ISWRITEABLE(out) or not cnp.PyArray_IS_C_CONTIGUOUS(out):
        raise ValueError("out must be writeable and contiguous")
    if codec == CODEC_BLOSC and not blosc_ready():
        raise RuntimeError("blosc is not available to the compiled chunk path")
    src.dirfd = AT_FDCWD
    src.path = NULL
    src.frame = NULL
    src.frame_nbytes = 0
    keep = source
    if source is not None:
        if from_files:
            if not isinstance(source, bytes):
                raise TypeError("a chunk path must be bytes")
            src.path = <const char*>(<bytes>source)
        else:
            view = memoryview(source).cast("B")
            keep = view
            src.frame_nbytes = view.shape[0]
            src.frame = &view[0] if view.shape[0] else <const unsigned char*>b""
    scratch.chunk = NULL
    scratch.file = NULL
    scratch.file_capacity = 0
    scratch.items = NULL
    scratch.window = NULL
    scratch.window_capacity = 0
    scratch.planes = NULL
    scratch.planes_capacity = 0
    scratch.pairs = NULL
    scratch.pairs_capacity = 0
    try:
        with nogil:
            if codec == 0 and src.path != NULL:
                fd = open_chunk(&src, &file_nbytes, &err_no)
                if fd < 0:
                    rc = IS_MISSING if fd == -IS_MISSING else fd
                else:
                    if file_nbytes != <size_t>chunk_nbytes:
                        rc = ERR_SIZE
                    else:
                        got = pread(fd, out_data, itemsize, item_offset)
                        if got != itemsize:
                            err_no = errno
                            rc = ERR_IO
                    close(fd)
            elif codec == 0:
                if src.frame == NULL:
                    rc = IS_MISSING
                elif src.frame_nbytes != <size_t>chunk_nbytes:
                    rc = ERR_SIZE
                else:
                    memcpy(out_data, src.frame + item_offset, itemsize)
            else:
                scratch.chunk = <char*>alloc_lines(chunk_nbytes)
                if scratch.chunk == NULL:
                    rc = ERR_IO
                else:
                    rc = _load_chunk(&src, &scratch, scratch.chunk, chunk_nbytes, codec,
                                     codec_threads, &item, 1, itemsize, &err_no)
                    if rc == 0:
                        memcpy(out_data, scratch.chunk + item_offset, itemsize)
    finally:
        free(scratch.chunk)
        free(scratch.file)
    if rc == IS_MISSING:
        if fill is not None:
            fill = np.ascontiguousarray(fill)
            if fill.itemsize != itemsize:
                raise ValueError("fill item size differs from out's")
            memcpy(out_data, cnp.PyArray_DATA(fill), itemsize)
        return (0, 0)
    return (rc, err_no)
