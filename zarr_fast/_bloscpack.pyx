# cython: language_level=3, wraparound=False, cdivision=True, embedsignature=True
# boundscheck and initializedcheck come from setup.py's directives (off; on when
# ZARR_FAST_CYTHON_DEBUG=1): a file header would override the debug switch.
"""Blosc-LZ4 encoding of a chunk straight from a strided region of the caller's array.

A whole-chunk write of a region that is not contiguous (a 1024 x 1024 chunk of a 16384 x
16384 array) would first gather the region into a chunk buffer for c-blosc, which then reads
it again to shuffle it: a copy of every written byte through memory. Here each blosc block is
shuffled straight from the region's contiguous runs into one block-sized scratch (it stays in
cache), and each byte plane is compressed with the LZ4 of numcodecs' own c-blosc (bound through
``_blosc.blosc_library_symbol``).

The frame is byte-identical to ``numcodecs.Blosc('lz4', clevel, shuffle, blocksize).encode``
of the gathered chunk. What c-blosc decides from the parameters alone (block size, split flag,
header bytes) is read from a frame c-blosc encodes for the same parameters (``FrameLayout``);
the per-block rules follow c-blosc 1.x: acceleration ``10 - clevel``, one stream per byte
plane unless the frame says not to split (and never in the last, partial block), a stream
LZ4 cannot shrink stored raw, and the whole chunk stored raw (``memcpyed``) when the frame
would outgrow ``nbytes + 16``. ``frame_layout`` checks byte identity with c-blosc on sample
chunks (compressible, and not) once per parameter set and returns None when anything
differs, so a different c-blosc never yields a different frame: callers then gather and call
c-blosc as before.

Callers guarantee: the region's items are the chunk's, in the array's order, the innermost
axis of that order contiguous (stride == itemsize) and every stride non-negative
(``is_walkable``). Refused (``frame_layout`` returns None): other codecs than lz4, bit
shuffle, clevel 0, typesizes above 16, chunks over 2 GiB, and chunks so small (under 128
bytes, or a few KiB of wide items) that c-blosc stores even the compressible sample raw.
"""
import numpy as np

from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from ._blosc cimport (
    FLAG_BYTE_SHUFFLE,
    FLAG_DONT_SPLIT,
    FLAG_MEMCPYED,
    HEADER_NBYTES,
    MAX_SPLITS,
    MIN_BUFFERSIZE,
    blosc_library_symbol,
    blosc_ready,
    encode_blosc,
)

cdef extern from "zf_shuffle.h" nogil:
    void zf_shuffle_units(size_t typesize, const unsigned char* src, size_t count,
                          unsigned char* planes, size_t plane_nbytes, size_t first)

ctypedef int (*lz4_compress_t)(const char*, char*, int, int, int) noexcept nogil

cdef enum:
    _MAX_AXES = 32
    _INT_MAX = 2147483647
    _INCOMPRESSIBLE = -1        # the frame would outgrow nbytes + 16: store it memcpyed
    _LZ4_FAILED = -2

cdef lz4_compress_t _lz4_compress = NULL
if blosc_ready():
    _lz4_compress = <lz4_compress_t>blosc_library_symbol(b"LZ4_compress_fast")


cdef struct Layout:
    unsigned char header[12]    # c-blosc's bytes 0-11: versions, flags, typesize, sizes
    Py_ssize_t nbytes
    Py_ssize_t blocksize
    Py_ssize_t nblocks
    Py_ssize_t typesize
    int accel
    bint is_shuffled
    bint is_split


# The region as runs of contiguous bytes in the chunk's order: an odometer over the outer
# axes (last fastest) gives each run's start.
cdef struct Walk:
    const unsigned char* run
    Py_ssize_t run_nbytes
    Py_ssize_t offset           # bytes of the current run already taken
    int ndim
    Py_ssize_t shape[_MAX_AXES]
    Py_ssize_t strides[_MAX_AXES]
    Py_ssize_t index[_MAX_AXES]


cdef inline void _store_le32(unsigned char* p, Py_ssize_t value) noexcept nogil:
    cdef uint32_t v = <uint32_t>value
    p[0] = v & 0xFF
    p[1] = (v >> 8) & 0xFF
    p[2] = (v >> 16) & 0xFF
    p[3] = (v >> 24) & 0xFF


cdef inline void _next_run(Walk* walk) noexcept nogil:
    cdef int d = walk.ndim - 1
    walk.offset = 0
    while d >= 0:
        walk.index[d] += 1
        walk.run += walk.strides[d]
        if walk.index[d] < walk.shape[d]:
            return
        walk.run -= walk.strides[d] * walk.shape[d]
        walk.index[d] = 0
        d -= 1


cdef void _take_bytes(Walk* walk, unsigned char* dst, Py_ssize_t nbytes, Py_ssize_t typesize,
                      bint is_shuffled) noexcept nogil:
    # The next nbytes of the region into dst: as byte planes of nbytes / typesize bytes when
    # shuffled, else as they are. Runs and blocks hold whole items.
    cdef Py_ssize_t done = 0, piece
    cdef Py_ssize_t plane_nbytes = nbytes // typesize
    while done < nbytes:
        if walk.offset == walk.run_nbytes:
            _next_run(walk)
        piece = min(walk.run_nbytes - walk.offset, nbytes - done)
        if is_shuffled:
            zf_shuffle_units(typesize, walk.run + walk.offset, piece // typesize, dst,
                             plane_nbytes, done // typesize)
        else:
            memcpy(dst + done, walk.run + walk.offset, piece)
        walk.offset += piece
        done += piece


cdef Py_ssize_t _compress_blocks(const Layout* layout, Walk* walk, unsigned char* dst,
                                 unsigned char* block) noexcept nogil:
    # c-blosc's serial compression loop; dst has nbytes + 16 bytes of room, as numcodecs
    # gives c-blosc, and every size check below is c-blosc's against that room.
    cdef Py_ssize_t maxbytes = layout.nbytes + HEADER_NBYTES
    cdef Py_ssize_t ntbytes = HEADER_NBYTES + 4 * layout.nblocks
    cdef Py_ssize_t j, k, block_nbytes, nsplits, stream_nbytes, maxout, cbytes
    cdef bint is_last_partial
    for j in range(layout.nblocks):
        _store_le32(dst + HEADER_NBYTES + 4 * j, ntbytes)
        block_nbytes = layout.blocksize
        is_last_partial = j == layout.nblocks - 1 and layout.nbytes % layout.blocksize != 0
        if is_last_partial:
            block_nbytes = layout.nbytes % layout.blocksize
        _take_bytes(walk, block, block_nbytes, layout.typesize, layout.is_shuffled)
        nsplits = layout.typesize if layout.is_split and not is_last_partial else 1
        stream_nbytes = block_nbytes // nsplits
        for k in range(nsplits):
            ntbytes += 4
            maxout = stream_nbytes
            if ntbytes + maxout > maxbytes:
                maxout = maxbytes - ntbytes
                if maxout <= 0:
                    return _INCOMPRESSIBLE
            cbytes = _lz4_compress(<const char*>block + k * stream_nbytes,
                                   <char*>dst + ntbytes, <int>stream_nbytes, <int>maxout,
                                   layout.accel)
            if cbytes < 0 or cbytes > maxout:
                return _LZ4_FAILED
            if cbytes == 0 or cbytes == stream_nbytes:
                if ntbytes + stream_nbytes > maxbytes:
                    return _INCOMPRESSIBLE
                memcpy(dst + ntbytes, block + k * stream_nbytes, stream_nbytes)
                cbytes = stream_nbytes
            _store_le32(dst + ntbytes - 4, cbytes)
            ntbytes += cbytes
    return ntbytes


cdef Py_ssize_t _encode_walk(const Layout* layout, Walk* walk, unsigned char* dst,
                             unsigned char* block) noexcept nogil:
    # The whole frame into dst (nbytes + 16 bytes); returns its size or _LZ4_FAILED.
    cdef Walk start = walk[0]
    cdef Py_ssize_t cbytes = _compress_blocks(layout, walk, dst, block)
    memcpy(dst, layout.header, 12)
    if cbytes == _INCOMPRESSIBLE:
        walk[0] = start
        dst[2] |= FLAG_MEMCPYED
        _take_bytes(walk, dst + HEADER_NBYTES, layout.nbytes, layout.typesize, False)
        cbytes = layout.nbytes + HEADER_NBYTES
    if cbytes > 0:
        _store_le32(dst + 12, cbytes)
    return cbytes


cdef int _init_walk(Walk* walk, object region) except -1:
    # Outer axes of the region in walk order, trailing axes merged into the run while they
    # continue it contiguously; axes of length 1 dropped.
    cdef Py_ssize_t itemsize = region.dtype.itemsize
    cdef Py_ssize_t run_nbytes = itemsize
    cdef int d = region.ndim - 1, n = 0
    shape = region.shape
    strides = region.strides
    while d >= 0 and (shape[d] == 1 or strides[d] == run_nbytes):
        run_nbytes *= shape[d]
        d -= 1
    outer = [(shape[a], strides[a]) for a in range(d + 1) if shape[a] != 1]
    if len(outer) > _MAX_AXES:
        raise ValueError(f"expected at most {_MAX_AXES} non-contiguous axes, found {len(outer)}")
    walk.ndim = len(outer)
    for n, (length, stride) in enumerate(outer):
        walk.shape[n] = length
        walk.strides[n] = stride
        walk.index[n] = 0
    walk.run_nbytes = run_nbytes
    walk.offset = 0
    walk.run = <const unsigned char*><size_t>region.__array_interface__["data"][0]
    return 0


def is_walkable(region, order):
    """True when ``region`` (an ndarray) can be encoded by ``encode_region`` in ``order``."""
    if not isinstance(region, np.ndarray) or region.dtype.hasobject or region.ndim > _MAX_AXES:
        return False
    walked = region.T if order == "F" else region
    if walked.ndim == 0:
        return True
    return walked.strides[walked.ndim - 1] == walked.dtype.itemsize and all(s >= 0 for s in walked.strides)


cdef class FrameLayout:
    """What c-blosc writes for one parameter set, checked byte-identical here (see module)."""
    cdef Layout layout


cdef object _encode_array(FrameLayout frame_layout, object walked, unsigned char[::1] dst):
    cdef Walk walk
    cdef Py_ssize_t cbytes
    cdef unsigned char* block = <unsigned char*>malloc(frame_layout.layout.blocksize)
    if block == NULL:
        raise MemoryError()
    try:
        _init_walk(&walk, walked)
        with nogil:
            cbytes = _encode_walk(&frame_layout.layout, &walk, &dst[0], block)
    finally:
        free(block)
    if cbytes < 0:
        raise ValueError("LZ4 failed to compress a blosc stream")
    return cbytes


def encode_region(FrameLayout frame_layout, region, order="C", out=None):
    """Encode ``region`` (the chunk, walkable in ``order``) as one blosc frame.

    Returns bytes; with ``out`` (a uint8 array of at least nbytes + 16 bytes) the frame is
    written there and the view ``out[:frame size]`` returned instead.
    """
    walked = region.T if order == "F" else region
    if (region.nbytes != frame_layout.layout.nbytes
            or region.dtype.itemsize != frame_layout.layout.typesize
            or not is_walkable(region, order)):
        raise ValueError(f"expected a walkable region of {frame_layout.layout.nbytes} bytes of "
                         f"{frame_layout.layout.typesize}-byte items, found {region.nbytes} bytes "
                         f"of {region.dtype}, strides {region.strides}")
    is_returned_as_bytes = out is None
    room = frame_layout.layout.nbytes + HEADER_NBYTES
    if is_returned_as_bytes:
        out = np.empty(room, dtype=np.uint8)
    elif (not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.ndim != 1
            or out.shape[0] < room or not out.flags.c_contiguous):
        raise ValueError(f"out must be a contiguous 1-D uint8 array of at least {room} bytes")
    cbytes = _encode_array(frame_layout, walked, out)
    return out[:cbytes].tobytes() if is_returned_as_bytes else out[:cbytes]


cdef object _sample_chunks(Py_ssize_t nbytes):
    # Bytes that exercise every rule: smooth and repeating stretches LZ4 shrinks, random
    # ones it cannot (raw streams), then all random (the frame stored memcpyed).
    rng = np.random.default_rng(20260)
    mixed = np.empty(nbytes, dtype=np.uint8)
    third = nbytes // 3
    mixed[:third] = (np.arange(third) // 97).astype(np.uint8)
    mixed[third:2 * third] = rng.integers(0, 256, 2 * third - third, dtype=np.uint8)
    mixed[2 * third:] = np.resize(np.frombuffer(b"zarr_fast blosc ", dtype=np.uint8), nbytes - 2 * third)
    return [mixed, rng.integers(0, 256, nbytes, dtype=np.uint8)]


cdef object _cblosc_frame(object sample, Py_ssize_t typesize, bytes cname, int clevel,
                          int shuffle, Py_ssize_t blocksize):
    cdef const unsigned char[::1] src = sample
    frame = np.empty(sample.shape[0] + HEADER_NBYTES, dtype=np.uint8)
    cdef unsigned char[::1] dst = frame
    cdef Py_ssize_t cbytes = encode_blosc(&src[0], src.shape[0], typesize, &dst[0], dst.shape[0],
                                          clevel, shuffle, cname, blocksize, 1)
    return None if cbytes <= 0 else frame[:cbytes]


_layouts = {}


def frame_layout(Py_ssize_t nbytes, Py_ssize_t typesize, cname, int clevel, int shuffle,
                 Py_ssize_t blocksize=0):
    """The ``FrameLayout`` for numcodecs.Blosc(cname, clevel, shuffle, blocksize) chunks of
    ``nbytes`` bytes of ``typesize``-byte items, or None where this module does not apply or
    does not reproduce c-blosc's bytes. Cached per parameter set."""
    key = (nbytes, typesize, cname, clevel, shuffle, blocksize)
    if key not in _layouts:
        _layouts[key] = _checked_layout(nbytes, typesize, str(cname), clevel, shuffle, blocksize)
    return _layouts[key]


cdef object _checked_layout(Py_ssize_t nbytes, Py_ssize_t typesize, str cname, int clevel,
                            int shuffle, Py_ssize_t blocksize):
    if shuffle == -1:
        shuffle = 2 if typesize == 1 else 1
    if (_lz4_compress == NULL or cname != "lz4" or not 1 <= clevel <= 9 or shuffle not in (0, 1)
            or not 1 <= typesize <= MAX_SPLITS or not MIN_BUFFERSIZE <= nbytes <= _INT_MAX - 64
            or nbytes % typesize != 0 or blocksize < 0):
        return None
    samples = _sample_chunks(nbytes)
    expected = [_cblosc_frame(sample, typesize, b"lz4", clevel, shuffle, blocksize) for sample in samples]
    reference = expected[0]
    if reference is None or reference[2] & FLAG_MEMCPYED or expected[1] is None:
        return None
    cdef FrameLayout result = FrameLayout()
    cdef Layout* layout = &result.layout
    header = bytes(reference[:12])
    memcpy(layout.header, <const char*>header, 12)
    layout.nbytes = nbytes
    layout.typesize = typesize
    layout.blocksize = int.from_bytes(header[8:12], "little")
    if (header[3] != typesize or int.from_bytes(header[4:8], "little") != nbytes
            or not 0 < layout.blocksize <= nbytes or layout.blocksize % typesize != 0):
        return None
    layout.nblocks = (nbytes + layout.blocksize - 1) // layout.blocksize
    layout.accel = 10 - clevel
    layout.is_shuffled = (header[2] & FLAG_BYTE_SHUFFLE) != 0 and typesize > 1
    layout.is_split = (header[2] & FLAG_DONT_SPLIT) == 0
    for sample, frame in zip(samples, expected):
        if encode_region(result, sample.view(f"V{typesize}")) != frame.tobytes():
            return None
    return result
