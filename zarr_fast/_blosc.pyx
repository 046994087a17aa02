# cython: language_level=3, wraparound=False, cdivision=True, embedsignature=True
# boundscheck and initializedcheck come from setup.py's directives (off; on when
# ZARR_FAST_CYTHON_DEBUG=1): a file header would override the debug switch.
"""C-level blosc (c-blosc 1.x frames) for the compiled chunk pipeline, GIL released.

At import this module binds, with ``dlopen(RTLD_NOLOAD)`` + ``dlsym``, the c-blosc symbols
that numcodecs' own ``numcodecs.blosc`` extension links statically and exports, so we add
no dependency and vendor no c-blosc; ``_bloscitems`` and ``_bloscpack`` reach them through
``blosc_library_symbol``. It offers: whole-frame decode into any
buffer, encode byte-identical to ``numcodecs.Blosc(...).encode`` (with one internal thread),
and the block-by-block decode of lz4/lz4hc frames (byte-shuffled or not, or stored raw):
``blosc_blocks_open`` + ``blosc_block_planes`` decode each stream with
``LZ4_decompress_safe`` into a block-sized scratch, read raw streams where they lie, and
unshuffle the planes with ``csrc/zf_unshuffle.h``. The chunk pipeline uses it to decode
straight into the result and to skip blocks holding nothing selected; on anything it does
not take it defers to c-blosc.

Callers guarantee: frames are passed with exactly their stored length; destination
buffers are writeable, contiguous and do not overlap the source. Every header field, size
and block-start entry is checked before it is trusted, so corrupt input yields a negative
code (``ValueError`` in the wrappers), never an out-of-bounds access.

Refused: frames whose ``nbytes`` differs from the destination size. When the symbols cannot
be bound (a numcodecs without blosc, or hidden symbols) ``blosc_ready()`` is 0 and the
``def`` wrappers fall back to numcodecs' Python API.
"""
import os

import numpy as np

from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from posix.dlfcn cimport dlopen, dlsym, RTLD_NOW

cdef extern from "<dlfcn.h>" nogil:
    const int RTLD_NOLOAD

ctypedef int (*compress_ctx_t)(int, int, size_t, size_t, const void*, void*, size_t,
                               const char*, size_t, int) noexcept nogil
ctypedef int (*decompress_ctx_t)(const void*, void*, size_t, int) noexcept nogil
ctypedef int (*lz4_version_t)() noexcept nogil

cdef enum:
    _INT_MAX = 2147483647

cdef compress_ctx_t _compress_ctx = NULL
cdef decompress_ctx_t _decompress_ctx = NULL
cdef getitem_t _getitem = NULL
cdef validate_t _validate = NULL
cdef lz4_safe_t _lz4_safe = NULL
cdef int _has_symbols = 0
cdef int _is_bound = 0
cdef int _is_blockwise_enabled = 1  # tests and benchmarks switch the block-by-block decode off
cdef void* _library = NULL          # numcodecs' blosc extension, kept open for its symbols


cdef int _bind_symbols():
    # numcodecs.blosc is imported first so that RTLD_NOLOAD finds it already mapped: we
    # only borrow the copy of c-blosc that numcodecs loaded, never load a second one.
    global _compress_ctx, _decompress_ctx, _getitem, _validate, _lz4_safe, _library
    try:
        import numcodecs.blosc as numcodecs_blosc
        path = os.fsencode(numcodecs_blosc.__file__)
    except Exception:  # no blosc in this numcodecs: the Python fallback is all there is
        return 0
    cdef void* handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD)
    if handle == NULL:
        return 0
    _library = handle
    _compress_ctx = <compress_ctx_t>dlsym(handle, b"blosc_compress_ctx")
    _decompress_ctx = <decompress_ctx_t>dlsym(handle, b"blosc_decompress_ctx")
    _getitem = <getitem_t>dlsym(handle, b"blosc_getitem")
    _validate = <validate_t>dlsym(handle, b"blosc_cbuffer_validate")
    # Optional: LZ4's own decoder, for the block-by-block decode; copies older than lz4 1.9
    # are left unused, as before the item-level decode stopped needing LZ4.
    cdef lz4_version_t lz4_version = <lz4_version_t>dlsym(handle, b"LZ4_versionNumber")
    if lz4_version != NULL and lz4_version() >= 10900:
        _lz4_safe = <lz4_safe_t>dlsym(handle, b"LZ4_decompress_safe")
    # The handle is deliberately kept open: the pointers must outlive this function.
    return (_compress_ctx != NULL and _decompress_ctx != NULL and _getitem != NULL
            and _validate != NULL)


_has_symbols = _bind_symbols()
_is_bound = _has_symbols


cdef int blosc_ready() noexcept nogil:
    return _is_bound


cdef void* blosc_library_symbol(const char* name) noexcept:
    if _library == NULL:
        return NULL
    return dlsym(_library, name)


cdef inline uint32_t _le32(const unsigned char* p) noexcept nogil:
    # Header integers are little-endian whatever the host byte order.
    return p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef int _check_frame(const unsigned char* frame, size_t frame_nbytes,
                      size_t dst_nbytes) noexcept nogil:
    # What every whole-frame decode checks first: blosc bound, a valid header for exactly
    # this stored length, and the decoded size the caller expects. 0 or an error code.
    cdef size_t nbytes = 0
    if not _is_bound:
        return ERR_UNBOUND
    if frame_nbytes < HEADER_NBYTES or _validate(frame, frame_nbytes, &nbytes) != 0:
        return ERR_HEADER
    if nbytes != dst_nbytes:
        return ERR_SIZE
    return 0


cdef int decode_blosc(const unsigned char* src, size_t src_nbytes, void* dst,
                      size_t dst_nbytes, int nthreads) noexcept nogil:
    cdef size_t nbytes = dst_nbytes
    cdef int ret = _check_frame(src, src_nbytes, dst_nbytes)
    if ret != 0:
        return ret
    if (src[2] & FLAG_MEMCPYED) and src_nbytes != nbytes + HEADER_NBYTES:
        return ERR_HEADER
    ret = _decompress_ctx(src, dst, dst_nbytes, nthreads if nthreads > 0 else 1)
    if ret < 0 or <size_t>ret != dst_nbytes:
        return ERR_DECOMPRESS
    return 0


cdef Py_ssize_t encode_blosc(const void* src, size_t src_nbytes, size_t typesize,
                             void* dst, size_t dst_capacity, int clevel, int shuffle,
                             const char* cname, size_t blocksize,
                             int nthreads) noexcept nogil:
    cdef int ret
    if not _is_bound:
        return ERR_UNBOUND
    if dst_capacity < src_nbytes + HEADER_NBYTES or src_nbytes > _INT_MAX - HEADER_NBYTES:
        return ERR_SIZE
    if shuffle == -1:
        # numcodecs' AUTOSHUFFLE: bit shuffle for single bytes, byte shuffle otherwise.
        shuffle = 2 if typesize == 1 else 1
    # numcodecs gives c-blosc exactly nbytes + 16 bytes of room: a larger room would let an
    # incompressible chunk keep raw streams where numcodecs' frame stores it memcpyed
    ret = _compress_ctx(clevel, shuffle, typesize, src_nbytes, src, dst,
                        src_nbytes + HEADER_NBYTES, cname, blocksize,
                        nthreads if nthreads > 0 else 1)
    if ret <= 0:
        return ERR_DECOMPRESS
    return ret


cdef void block_layout(BlockLayout* layout, unsigned char flags, size_t typesize,
                               size_t blocksize, size_t block_nbytes) noexcept nogil:
    # c-blosc 1.x's rules: a byte-shuffled block (typesize > 1) is first permuted so that
    # byte k of every typesize-unit comes together; then a block is cut into typesize
    # streams unless the frame says "don't split", the type is wider than 16 bytes, the
    # streams would be shorter than 128 bytes, or it is the short last (leftover) block.
    cdef int is_split = (not (flags & FLAG_DONT_SPLIT) and typesize <= MAX_SPLITS
                         and block_nbytes // typesize >= MIN_BUFFERSIZE
                         and block_nbytes == blocksize)
    layout.block_nbytes = block_nbytes
    layout.nstreams = typesize if is_split else 1
    layout.stream_nbytes = block_nbytes // layout.nstreams
    layout.typesize = typesize
    layout.is_shuffled = (flags & FLAG_BYTE_SHUFFLE) != 0 and typesize > 1


cdef extern from "zf_unshuffle.h" nogil:
    void zf_unshuffle_planes(size_t typesize, const unsigned char* const* planes, size_t first,
                             size_t count, unsigned char* dst, int stream)


cdef int blosc_blocks_open(BloscBlocks* blocks, const unsigned char* frame,
                           size_t frame_nbytes, size_t dst_nbytes) noexcept nogil:
    # The header checks of decode_blosc, then the limits of what blosc_decode_block does.
    cdef size_t nbytes = dst_nbytes
    cdef unsigned char flags
    cdef int ret = _check_frame(frame, frame_nbytes, dst_nbytes)
    if ret != 0:
        return ret
    flags = frame[2]
    blocks.frame = frame
    blocks.frame_nbytes = frame_nbytes
    blocks.nbytes = nbytes
    blocks.flags = flags
    blocks.typesize = frame[3]
    blocks.blocksize = _le32(frame + 8)
    if nbytes == 0 or blocks.typesize == 0 or flags & FLAG_RESERVED:
        return NOT_BLOCKWISE
    if flags & FLAG_MEMCPYED:
        if frame_nbytes != nbytes + HEADER_NBYTES:
            return ERR_HEADER
    elif ((flags >> 5) != LZ4_FORMAT or flags & FLAG_BIT_SHUFFLE or _lz4_safe == NULL
          or not _is_blockwise_enabled):
        return NOT_BLOCKWISE
    if (blocks.blocksize == 0 or blocks.blocksize > nbytes
            or blocks.blocksize % blocks.typesize or nbytes % blocks.typesize):
        return NOT_BLOCKWISE
    blocks.nblocks = (nbytes + blocks.blocksize - 1) // blocks.blocksize
    if not (flags & FLAG_MEMCPYED) and HEADER_NBYTES + 4 * blocks.nblocks > frame_nbytes:
        return ERR_HEADER
    return 0


cdef Py_ssize_t blosc_block_planes(const BloscBlocks* blocks, size_t b, unsigned char* tmp,
                                   const unsigned char** planes, size_t* nplanes) noexcept nogil:
    # c-blosc 1.x's block format: a block is nstreams streams one after another, each a
    # little-endian 4-byte compressed size and then that many bytes, stored raw when the
    # size equals the stream's decoded size. Compressed streams are decoded into tmp; raw
    # planes of a shuffled block are left where they lie in the frame (no copy).
    cdef const unsigned char* frame = blocks.frame
    cdef const unsigned char* stream
    cdef size_t blocksize = blocks.blocksize, start, position, stream_cnbytes, j, k
    cdef size_t block_nbytes, plane_nbytes
    cdef BlockLayout layout
    cdef int got
    if b >= blocks.nblocks:
        return ERR_SIZE
    block_nbytes = min(blocksize, blocks.nbytes - b * blocksize)
    nplanes[0] = 1
    if blocks.flags & FLAG_MEMCPYED:
        planes[0] = frame + HEADER_NBYTES + b * blocksize
        return <Py_ssize_t>block_nbytes
    start = _le32(frame + HEADER_NBYTES + 4 * b)
    if start < HEADER_NBYTES + 4 * blocks.nblocks or start >= blocks.frame_nbytes:
        return ERR_HEADER
    block_layout(&layout, blocks.flags, blocks.typesize, blocksize, block_nbytes)
    if layout.stream_nbytes > _INT_MAX:
        return ERR_SIZE
    plane_nbytes = block_nbytes // layout.typesize   # blocks_open made it exact
    planes[0] = tmp
    position = start
    for j in range(layout.nstreams):
        if blocks.frame_nbytes - position < 4:
            return ERR_DECOMPRESS
        stream_cnbytes = _le32(frame + position)
        position += 4
        if stream_cnbytes == 0 or stream_cnbytes > blocks.frame_nbytes - position:
            return ERR_DECOMPRESS
        stream = tmp + j * layout.stream_nbytes
        if stream_cnbytes != layout.stream_nbytes:
            got = _lz4_safe(<const char*>(frame + position), <char*>stream,
                            <int>stream_cnbytes, <int>layout.stream_nbytes)
            if got < 0 or <size_t>got != layout.stream_nbytes:
                return ERR_DECOMPRESS
        elif layout.is_shuffled or layout.nstreams == 1:
            stream = frame + position
        else:
            # unshuffled streams are consecutive pieces of the block: keep them together
            memcpy(<unsigned char*>stream, frame + position, stream_cnbytes)
        if layout.is_shuffled:
            if layout.nstreams == 1:
                for k in range(layout.typesize):
                    planes[k] = stream + k * plane_nbytes
            else:
                planes[j] = stream
        elif layout.nstreams == 1:
            planes[0] = stream
        position += stream_cnbytes
    if layout.is_shuffled:
        nplanes[0] = layout.typesize
    return <Py_ssize_t>block_nbytes


cdef Py_ssize_t blosc_decode_block(const BloscBlocks* blocks, size_t b, unsigned char* dst,
                                   unsigned char* tmp, bint stream) noexcept nogil:
    cdef const unsigned char* planes[256]
    cdef size_t nplanes = 1
    cdef Py_ssize_t got = blosc_block_planes(blocks, b, tmp, planes, &nplanes)
    if got > 0:
        zf_unshuffle_planes(nplanes, planes, 0, <size_t>got // nplanes, dst, stream)
    return got


# ---------------------------------------------------------------------------------------
# Python wrappers (GIL held for checks, released around the C calls)
# ---------------------------------------------------------------------------------------

_MESSAGES = {
    ERR_HEADER: "not a valid blosc frame, or its header disagrees with the stored length",
    ERR_SIZE: "sizes disagree (frame nbytes vs destination, capacity, or an item offset "
              "outside the chunk)",
    ERR_DECOMPRESS: "c-blosc reported an error (corrupt data or unsupported codec)",
    ERR_IO: "reading the chunk file failed or the file is shorter than expected",
    ERR_UNBOUND: "the c-blosc symbols are not bound",
}


cdef int check_code(int code, str what) except -1:
    if code < 0:
        raise ValueError(f"{what}: {_MESSAGES.get(code, 'error')} (code {code})")
    return 0


def is_ready():
    """True when the c-blosc symbols are bound (otherwise the wrappers use numcodecs)."""
    return bool(_is_bound)


def _force_unbound_for_tests(is_unbound=True):
    """Switch the bound flag off (or back on, when binding succeeded); returns the old flag."""
    global _is_bound
    previous = bool(_is_bound)
    _is_bound = 0 if is_unbound else _has_symbols
    return previous


def _set_blockwise_decode_for_tests(is_enabled=True):
    """Switch the block-by-block decode of lz4 frames on or off; returns the previous state."""
    global _is_blockwise_enabled
    previous = bool(_is_blockwise_enabled)
    _is_blockwise_enabled = 1 if is_enabled else 0
    return previous


cdef object byte_view(object arr, bint is_writeable):
    # A flat uint8 view of a C- or F-contiguous array's memory (the layout blosc sees).
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected a numpy.ndarray, found {type(arr).__name__}")
    if arr.dtype.hasobject:
        raise TypeError(f"expected a fixed-size dtype, found {arr.dtype} (holds objects)")
    if is_writeable and not arr.flags.writeable:
        raise ValueError("destination array is read-only")
    if arr.flags.c_contiguous:
        flat = arr.reshape(-1)
    elif arr.flags.f_contiguous:
        flat = arr.T.reshape(-1)
    else:
        raise ValueError("expected a contiguous array (C or F order), found a strided one")
    return flat.view(np.uint8)


cdef unsigned char _EMPTY[1]


cdef inline unsigned char* _ptr(unsigned char[::1] view) noexcept:
    return &view[0] if view.shape[0] else _EMPTY


cdef inline const unsigned char* _cptr(const unsigned char[::1] view) noexcept:
    return &view[0] if view.shape[0] else _EMPTY


def frame_info(src):
    """Header fields of a blosc frame: dict(nbytes, cbytes, blocksize, typesize, flags)."""
    cdef const unsigned char[::1] frame = memoryview(src).cast("B")
    if frame.shape[0] < HEADER_NBYTES:
        raise ValueError(f"a blosc frame has a 16-byte header, found {frame.shape[0]} bytes")
    return dict(nbytes=_le32(&frame[4]), cbytes=_le32(&frame[12]),
                blocksize=_le32(&frame[8]), typesize=frame[3], flags=frame[2])


def decode_into(src, dst, int nthreads=1):
    """Decode the whole frame ``src`` into ``dst`` (writeable, contiguous, same nbytes)."""
    cdef const unsigned char[::1] frame = memoryview(src).cast("B")
    cdef unsigned char[::1] out = byte_view(dst, True)
    cdef int code
    cdef const unsigned char* src_ptr = _cptr(frame)
    cdef unsigned char* dst_ptr = _ptr(out)
    if not _is_bound:
        _fallback_decode(src, out)
        return dst
    with nogil:
        code = decode_blosc(src_ptr, frame.shape[0], dst_ptr, out.shape[0], nthreads)
    check_code(code, "decode_into")
    return dst


def decode_by_blocks(src, dst):
    """Decode the whole frame ``src`` into ``dst`` one block at a time, as the read path
    does; False (``dst`` untouched) when the frame is not one it decodes that way.

    Exists so tests can hold the block decoder against c-blosc's whole-frame decode."""
    cdef const unsigned char[::1] frame = memoryview(src).cast("B")
    cdef unsigned char[::1] out = byte_view(dst, True)
    cdef const unsigned char* src_ptr = _cptr(frame)
    cdef unsigned char* dst_ptr = _ptr(out)
    cdef BloscBlocks blocks
    cdef unsigned char* tmp
    cdef Py_ssize_t got = 0
    cdef size_t b
    cdef int code
    with nogil:
        code = blosc_blocks_open(&blocks, src_ptr, frame.shape[0], out.shape[0])
    if code == NOT_BLOCKWISE:
        return False
    check_code(code, "decode_by_blocks")
    tmp = <unsigned char*>malloc(blocks.blocksize)
    if tmp == NULL:
        raise MemoryError()
    try:
        with nogil:
            for b in range(blocks.nblocks):
                got = blosc_decode_block(&blocks, b, dst_ptr + b * blocks.blocksize, tmp, False)
                if got < 0:
                    break
    finally:
        free(tmp)
    check_code(<int>got if got < 0 else 0, "decode_by_blocks")
    return True


def encode(arr, cname="lz4", int clevel=5, int shuffle=1, int blocksize=0, int nthreads=1,
           out=None):
    """Encode a contiguous array as ``numcodecs.Blosc(cname, clevel, shuffle, blocksize)``.

    Returns bytes; with ``out`` (a writeable uint8 array of at least ``arr.nbytes + 16``
    bytes, reused across calls so its pages are already in place) the frame is written
    there and the view ``out[:frame size]`` is returned instead, with no copy.
    """
    cdef const unsigned char[::1] data = byte_view(arr, False)
    cdef bytes name
    cdef Py_ssize_t cbytes
    cdef size_t itemsize = arr.dtype.itemsize
    if not _is_bound:
        import numcodecs
        return numcodecs.Blosc(cname, clevel, shuffle, blocksize).encode(arr)
    if not 0 <= clevel <= 9 or shuffle not in (-1, 0, 1, 2) or blocksize < 0:
        raise ValueError(f"expected clevel in 0..9, shuffle in -1..2 and blocksize >= 0, "
                         f"found {clevel}, {shuffle}, {blocksize}")
    import numcodecs.blosc
    if cname not in numcodecs.blosc.list_compressors():
        raise ValueError(f"compressor not supported: {cname!r}")
    name = cname.encode("ascii")
    is_returned_as_bytes = out is None
    if is_returned_as_bytes:
        out = np.empty(data.shape[0] + HEADER_NBYTES, dtype=np.uint8)
    elif (not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.ndim != 1
            or out.shape[0] < data.shape[0] + HEADER_NBYTES):
        raise ValueError(f"out must be a 1-D uint8 array of at least "
                         f"{data.shape[0] + HEADER_NBYTES} bytes")
    cdef unsigned char[::1] dst = out
    cdef const char* cname_ptr = name
    cdef const unsigned char* src_ptr = _cptr(data)
    with nogil:
        cbytes = encode_blosc(src_ptr, data.shape[0], itemsize, &dst[0], dst.shape[0],
                              clevel, shuffle, cname_ptr, blocksize, nthreads)
    check_code(<int>cbytes if cbytes < 0 else 0, "encode")
    return out[:cbytes].tobytes() if is_returned_as_bytes else out[:cbytes]


cdef _fallback_decode(src, unsigned char[::1] out):
    # numcodecs' Python API, used only when the symbols are not bound.
    # numcodecs trusts the header's cbytes, so the stored length is checked here first.
    import numcodecs.blosc
    info = frame_info(src)
    if info["cbytes"] != memoryview(src).nbytes or info["nbytes"] != out.shape[0]:
        raise ValueError(f"decode_into: frame header says {info['cbytes']} stored / "
                         f"{info['nbytes']} decoded bytes, found {memoryview(src).nbytes} / "
                         f"{out.shape[0]}")
    try:
        numcodecs.blosc.decompress(src, np.asarray(out))
    except RuntimeError as error:
        raise ValueError(f"decode_into: {error}") from error

