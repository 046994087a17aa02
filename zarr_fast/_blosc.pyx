# cython: language_level=3, wraparound=False, cdivision=True, embedsignature=True
# boundscheck and initializedcheck come from setup.py's directives (off; on when
# ZARR_FAST_CYTHON_DEBUG=1): a file header would override the debug switch.
"""C-level blosc (c-blosc 1.x frames) for the compiled chunk pipeline, GIL released.

At import this module binds, with ``dlopen(RTLD_NOLOAD)`` + ``dlsym``, the c-blosc symbols
that numcodecs' own ``numcodecs.blosc`` extension links statically and exports, so we add
no dependency and vendor no c-blosc. It offers: whole-frame decode into any buffer,
encode byte-identical to ``numcodecs.Blosc(...).encode`` (with one internal thread), and
item-level partial decode (from memory or straight from an open file with ``pread``) that
decodes only the blosc blocks holding the requested items. In lz4/lz4hc frames (not
bitshuffled) a block holding few requested items is not even decoded whole: c-blosc stores
a block as ``typesize`` separately compressed streams (stream k holds byte k of every item
when byte-shuffled), so each stream is decoded with LZ4's partial decoder only up to the
last byte the items need, and only those streams are read from the file. Such a decode
checks what c-blosc would check on the streams it reads in full (stream sizes fill the
block; one stream's decoded size is verified by walking its sequences), but a corrupt byte
inside the unread tail of a stream goes unnoticed where a whole-block decode might fail.

lz4/lz4hc frames (byte-shuffled or not, or stored raw) can also be decoded one block at a
time (``blosc_blocks_open`` + ``blosc_block_planes``): each stream with ``LZ4_decompress_safe``
into a block-sized scratch, raw streams read where they lie, the planes unshuffled by
``csrc/zf_unshuffle.h``. The chunk pipeline uses it to decode straight into the result and
to skip blocks holding nothing selected; on anything it does not take it defers to c-blosc.

Callers guarantee: frames are passed with exactly their stored length; destination
buffers are writeable, contiguous and do not overlap the source; ``frame_buf`` has room
for the whole file. Every header field, size and block-start entry is checked before it is
trusted, so corrupt input yields a negative code (``ValueError`` in the wrappers), never an
out-of-bounds access.

Refused: frames whose ``nbytes`` differs from the destination size; compressed frames whose
block size or size is not a multiple of their typesize (never written by numcodecs) for the
item-level decode. When the symbols cannot be bound (a numcodecs without blosc, or hidden
symbols) ``blosc_ready()`` is 0 and the ``def`` wrappers fall back to numcodecs' Python API.
"""
import os

import numpy as np

from libc.stdint cimport int64_t, uint32_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memcpy
from libc.errno cimport errno, EINTR
from posix.dlfcn cimport dlopen, dlsym, RTLD_NOW
from posix.types cimport off_t
from posix.unistd cimport pread

cdef extern from "<dlfcn.h>" nogil:
    const int RTLD_NOLOAD

ctypedef int (*compress_ctx_t)(int, int, size_t, size_t, const void*, void*, size_t,
                               const char*, size_t, int) noexcept nogil
ctypedef int (*decompress_ctx_t)(const void*, void*, size_t, int) noexcept nogil
ctypedef int (*getitem_t)(const void*, int, int, void*) noexcept nogil
ctypedef int (*validate_t)(const void*, size_t, size_t*) noexcept nogil
ctypedef int (*lz4_partial_t)(const char*, char*, int, int, int) noexcept nogil
ctypedef int (*lz4_version_t)() noexcept nogil
ctypedef int (*lz4_safe_t)(const char*, char*, int, int) noexcept nogil

cdef enum:
    _HEADER_NBYTES = 16   # BLOSC_MIN_HEADER_LENGTH == BLOSC_MAX_OVERHEAD in c-blosc 1.x
    _FLAG_MEMCPYED = 0x02
    _FLAG_RESERVED = 0x08
    _FLAG_BYTE_SHUFFLE = 0x01
    _FLAG_BIT_SHUFFLE = 0x04
    _FLAG_DONT_SPLIT = 0x10    # set by the encoder when a block is one stream, not typesize
    _LZ4_FORMAT = 1            # flags bits 5-7; lz4 and lz4hc share the lz4 block format
    _MAX_SPLITS = 16           # c-blosc splits only types of at most 16 bytes ...
    _MIN_BUFFERSIZE = 128      # ... into streams of at least 128 bytes
    _MAX_PARTIAL_ITEMS = 64    # more items per block than this: decode the whole block
    _WHOLE_STREAM_RATIO = 8    # streams shrunk this much or more are decoded whole (below)
    _INT_MAX = 2147483647

cdef compress_ctx_t _compress_ctx = NULL
cdef decompress_ctx_t _decompress_ctx = NULL
cdef getitem_t _getitem = NULL
cdef validate_t _validate = NULL
cdef lz4_partial_t _lz4_partial = NULL
cdef lz4_safe_t _lz4_safe = NULL
cdef int _has_symbols = 0
cdef int _is_partial_enabled = 1   # tests and benchmarks switch the partial decode off
cdef int _is_bound = 0
cdef int _is_blockwise_enabled = 1  # ... and the block-by-block decode of compressed frames
cdef void* _library = NULL          # numcodecs' blosc extension, kept open for its symbols


cdef int _bind_symbols():
    # numcodecs.blosc is imported first so that RTLD_NOLOAD finds it already mapped: we
    # only borrow the copy of c-blosc that numcodecs loaded, never load a second one.
    global _compress_ctx, _decompress_ctx, _getitem, _validate, _lz4_partial, _lz4_safe, _library
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
    # Optional: LZ4's partial decoder lets one item cost a stream prefix instead of a whole
    # block. Before lz4 1.9 it could write past targetOutputSize, so older copies are not used.
    cdef lz4_version_t lz4_version = <lz4_version_t>dlsym(handle, b"LZ4_versionNumber")
    if lz4_version != NULL and lz4_version() >= 10900:
        _lz4_safe = <lz4_safe_t>dlsym(handle, b"LZ4_decompress_safe")
        if _lz4_safe != NULL:
            _lz4_partial = <lz4_partial_t>dlsym(handle, b"LZ4_decompress_safe_partial")
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
    if frame_nbytes < _HEADER_NBYTES or _validate(frame, frame_nbytes, &nbytes) != 0:
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
    if (src[2] & _FLAG_MEMCPYED) and src_nbytes != nbytes + _HEADER_NBYTES:
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
    if dst_capacity < src_nbytes + _HEADER_NBYTES or src_nbytes > _INT_MAX - _HEADER_NBYTES:
        return ERR_SIZE
    if shuffle == -1:
        # numcodecs' AUTOSHUFFLE: bit shuffle for single bytes, byte shuffle otherwise.
        shuffle = 2 if typesize == 1 else 1
    # numcodecs gives c-blosc exactly nbytes + 16 bytes of room: a larger room would let an
    # incompressible chunk keep raw streams where numcodecs' frame stores it memcpyed
    ret = _compress_ctx(clevel, shuffle, typesize, src_nbytes, src, dst,
                        src_nbytes + _HEADER_NBYTES, cname, blocksize,
                        nthreads if nthreads > 0 else 1)
    if ret <= 0:
        return ERR_DECOMPRESS
    return ret


cdef int _pread_full(int fd, unsigned char* buf, size_t nbytes, size_t file_offset) noexcept nogil:
    # Read exactly nbytes at file_offset into buf, retrying short reads and EINTR.
    cdef ssize_t got
    while nbytes > 0:
        got = pread(fd, buf, nbytes, <off_t>file_offset)
        if got < 0:
            if errno == EINTR:
                continue
            return ERR_IO
        if got == 0:  # the file is shorter than the length the caller promised
            return ERR_IO
        buf += got
        nbytes -= <size_t>got
        file_offset += <size_t>got
    return 0


cdef inline int _read_range(int fd, unsigned char* frame, size_t start, size_t stop) noexcept nogil:
    # Fill frame[start:stop] from the same bytes of the file; fd < 0 means the frame is
    # already in memory and there is nothing to read.
    if fd < 0 or start >= stop:
        return 0
    return _pread_full(fd, frame + start, stop - start, start)


cdef int _cmp_int64(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0]
    cdef int64_t y = (<const int64_t*>b)[0]
    return (x > y) - (x < y)


cdef struct _BlockLayout:
    # How one compressed block stores its decoded bytes (see _block_layout).
    size_t block_nbytes   # decoded bytes in this block (less than blocksize for a leftover)
    size_t nstreams       # separately compressed streams, one after another
    size_t stream_nbytes  # decoded bytes per stream
    size_t typesize
    int is_shuffled       # byte shuffle: stream bytes are planes of byte k of every unit


cdef inline void _block_layout(_BlockLayout* layout, unsigned char flags, size_t typesize,
                               size_t blocksize, size_t block_nbytes) noexcept nogil:
    # c-blosc 1.x's rules: a byte-shuffled block (typesize > 1) is first permuted so that
    # byte k of every typesize-unit comes together; then a block is cut into typesize
    # streams unless the frame says "don't split", the type is wider than 16 bytes, the
    # streams would be shorter than 128 bytes, or it is the short last (leftover) block.
    cdef int is_split = (not (flags & _FLAG_DONT_SPLIT) and typesize <= _MAX_SPLITS
                         and block_nbytes // typesize >= _MIN_BUFFERSIZE
                         and block_nbytes == blocksize)
    layout.block_nbytes = block_nbytes
    layout.nstreams = typesize if is_split else 1
    layout.stream_nbytes = block_nbytes // layout.nstreams
    layout.typesize = typesize
    layout.is_shuffled = (flags & _FLAG_BYTE_SHUFFLE) != 0 and typesize > 1


cdef inline size_t _stream_position(const _BlockLayout* layout, size_t byte) noexcept nogil:
    # Where in-block decoded byte `byte` sits in the concatenated streams.
    if layout.is_shuffled:
        return ((byte % layout.typesize) * (layout.block_nbytes // layout.typesize)
                + byte // layout.typesize)
    return byte



cdef inline bint _lz4_length_goes_on(const unsigned char** ip, const unsigned char* end,
                                     size_t* length) noexcept nogil:
    # An LZ4 length of 15 goes on in bytes until one is not 255; False if the input ends first.
    cdef unsigned int extra
    while True:
        if ip[0] >= end:
            return False
        extra = ip[0][0]
        ip[0] += 1
        length[0] += extra
        if extra != 255:
            return True

cdef bint _is_lz4_block_of(const unsigned char* src, size_t src_nbytes,
                            size_t expected_nbytes) noexcept nogil:
    # Walk the sequences of one LZ4 block (token, literal run, 2-byte offset, match) without
    # decoding: true when they consume exactly src_nbytes bytes, every match offset points
    # into bytes already produced, and they produce exactly expected_nbytes bytes. This is
    # the size check c-blosc makes after decoding a whole stream, which a partial decode
    # cannot make, at a cost per sequence instead of per byte.
    cdef const unsigned char* ip = src
    cdef const unsigned char* end = src + src_nbytes
    cdef size_t produced = 0, length, offset
    cdef unsigned int token
    while ip < end:
        token = ip[0]
        ip += 1
        length = token >> 4
        if length == 15 and not _lz4_length_goes_on(&ip, end, &length):
            return False
        if length > <size_t>(end - ip):
            return False
        ip += length
        produced += length
        if ip == end:          # the last sequence is literals only
            return produced == expected_nbytes
        if end - ip < 2:
            return False
        offset = ip[0] | (<size_t>ip[1] << 8)
        ip += 2
        if offset - 1 >= produced:   # offset 0 wraps around and is refused with the rest
            return False
        length = token & 15
        if length == 15 and not _lz4_length_goes_on(&ip, end, &length):
            return False
        produced += length + 4       # LZ4's shortest match is 4 bytes
        if produced > expected_nbytes:
            return False
    return False


cdef int _decode_block_items(int fd, unsigned char* frame, size_t block_start,
                             size_t block_cnbytes, unsigned char* dst_block,
                             const _BlockLayout* layout, const int64_t* offsets,
                             Py_ssize_t n_items, Py_ssize_t itemsize, int64_t block_first_byte,
                             unsigned char** scratch, size_t* scratch_nbytes) noexcept nogil:
    # An lz4/lz4hc block (not bitshuffled) decoded only as far as the items need: each
    # needed stream up to its last needed byte with LZ4's partial decoder (streams stored
    # raw are read in place), then each item's bytes gathered into dst_block (the block's
    # first byte in the chunk); no other dst byte is written. offsets are the chunk byte
    # offsets of the items touching this block. The block's compressed bytes are
    # frame[block_start:block_start + block_cnbytes]; with fd >= 0 only the stream sizes,
    # the needed streams and the needed bytes of raw streams are read into frame.
    # A needed stream shrunk _WHOLE_STREAM_RATIO times or more is decoded whole instead:
    # its long runs cost LZ4 little in a whole decode, but the partial decoder copies an
    # overlapping match that reaches the target byte by byte (4x slower than a whole-block
    # decode on a ramp of int32), and such streams are cheap to decode whole anyway.
    # Checks: stream sizes are positive and fill the block exactly, as c-blosc writes them;
    # the partial decoder gives every byte asked for; and one compressed stream (one decoded
    # whole, or else the smallest, by walking its sequences) decodes to exactly the stream
    # size, which a header with a wrong block size, type size or split flag fails (every
    # stream of a block has the same size).
    # *scratch (malloc'd, *scratch_nbytes long) is grown as needed and freed by the caller.
    cdef size_t first_needed[_MAX_SPLITS]
    cdef size_t needed[_MAX_SPLITS]
    cdef size_t stream_cnbytes[_MAX_SPLITS]
    cdef size_t stream_start[_MAX_SPLITS]
    cdef const unsigned char* plane[_MAX_SPLITS]
    cdef size_t nstreams = layout.nstreams, stream_nbytes = layout.stream_nbytes
    cdef size_t j, byte, first, stop, position, total = 0, read = 0
    cdef size_t checked = _MAX_SPLITS
    cdef bint is_whole[_MAX_SPLITS]
    cdef bint is_checked_whole = False
    cdef unsigned char* block = frame + block_start
    cdef unsigned char* grown
    cdef int64_t offset
    cdef Py_ssize_t i
    cdef int got, ret
    for j in range(nstreams):
        needed[j] = 0
        first_needed[j] = stream_nbytes
    for i in range(n_items):
        offset = offsets[i] - block_first_byte
        first = <size_t>offset if offset > 0 else 0
        stop = <size_t>(offset + itemsize)
        if stop > layout.block_nbytes:
            stop = layout.block_nbytes
        for byte in range(first, stop):
            position = _stream_position(layout, byte)
            j = position // stream_nbytes
            position = position % stream_nbytes
            if position >= needed[j]:
                needed[j] = position + 1
            if position < first_needed[j]:
                first_needed[j] = position
    # The stream sizes, each in front of its stream: read one by one, skipping the data.
    for j in range(nstreams):
        if block_cnbytes - read < 4:
            return ERR_DECOMPRESS
        ret = _read_range(fd, frame, block_start + read, block_start + read + 4)
        if ret != 0:
            return ret
        stream_cnbytes[j] = _le32(block + read)
        read += 4
        stream_start[j] = read
        if stream_cnbytes[j] == 0 or stream_cnbytes[j] > block_cnbytes - read:
            return ERR_DECOMPRESS
        read += stream_cnbytes[j]
        if stream_cnbytes[j] != stream_nbytes and (
                checked == _MAX_SPLITS or stream_cnbytes[j] < stream_cnbytes[checked]):
            checked = j
    if read != block_cnbytes:
        return ERR_DECOMPRESS
    for j in range(nstreams):
        is_whole[j] = (needed[j] != 0 and stream_cnbytes[j] != stream_nbytes
                       and stream_cnbytes[j] * _WHOLE_STREAM_RATIO <= stream_nbytes)
        if is_whole[j]:
            checked = j          # its whole decode checks its size: no walk needed
            is_checked_whole = True
    if checked != _MAX_SPLITS and not is_checked_whole:
        ret = _read_range(fd, frame, block_start + stream_start[checked],
                          block_start + stream_start[checked] + stream_cnbytes[checked])
        if ret != 0:
            return ret
        if not _is_lz4_block_of(block + stream_start[checked], stream_cnbytes[checked],
                                stream_nbytes):
            return ERR_DECOMPRESS
    for j in range(nstreams):
        if is_whole[j]:
            total += stream_nbytes
        elif stream_cnbytes[j] != stream_nbytes:
            total += needed[j]
    if total > scratch_nbytes[0]:
        grown = <unsigned char*>malloc(total)
        if grown == NULL:
            return ERR_SIZE
        free(scratch[0])
        scratch[0] = grown
        scratch_nbytes[0] = total
    total = 0
    for j in range(nstreams):
        if not needed[j]:
            continue
        if stream_cnbytes[j] == stream_nbytes:   # c-blosc stores a stream it cannot shrink raw
            ret = _read_range(fd, frame, block_start + stream_start[j] + first_needed[j],
                              block_start + stream_start[j] + needed[j])
            if ret != 0:
                return ret
            plane[j] = block + stream_start[j]
            continue
        if j != checked or is_checked_whole:
            ret = _read_range(fd, frame, block_start + stream_start[j],
                              block_start + stream_start[j] + stream_cnbytes[j])
            if ret != 0:
                return ret
        if is_whole[j]:
            got = _lz4_safe(<const char*>(block + stream_start[j]), <char*>(scratch[0] + total),
                            <int>stream_cnbytes[j], <int>stream_nbytes)
            if got < 0 or <size_t>got != stream_nbytes:
                return ERR_DECOMPRESS
            plane[j] = scratch[0] + total
            total += stream_nbytes
            continue
        got = _lz4_partial(<const char*>(block + stream_start[j]),
                           <char*>(scratch[0] + total), <int>stream_cnbytes[j],
                           <int>needed[j], <int>needed[j])
        if got < 0 or <size_t>got != needed[j]:
            return ERR_DECOMPRESS
        plane[j] = scratch[0] + total
        total += needed[j]
    for i in range(n_items):
        offset = offsets[i] - block_first_byte
        first = <size_t>offset if offset > 0 else 0
        stop = <size_t>(offset + itemsize)
        if stop > layout.block_nbytes:
            stop = layout.block_nbytes
        for byte in range(first, stop):
            position = _stream_position(layout, byte)
            dst_block[byte] = plane[position // stream_nbytes][position % stream_nbytes]
    return 0


cdef inline Py_ssize_t _lower_bound(const int64_t* sorted_offsets, Py_ssize_t n,
                                    int64_t value) noexcept nogil:
    # Index of the first sorted offset >= value.
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_offsets[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int _decode_blocks(int fd, unsigned char* frame, size_t frame_nbytes, unsigned char* dst,
                        size_t blocksize, size_t nblocks, size_t nbytes, size_t typesize,
                        const unsigned char* is_needed, const int64_t* item_byte_offsets,
                        Py_ssize_t n_items, Py_ssize_t itemsize) noexcept nogil:
    # Compressed frame: check the whole bstarts table, then read and decode only the needed
    # blocks. A block's compressed bytes run to the next larger start (blocks compressed by
    # several threads need not be stored in order) or to the end of the frame. A block
    # holding few items of an lz4 frame decodes just those items (_decode_block_items);
    # any other needed block is decoded whole by blosc_getitem.
    cdef size_t table_stop = _HEADER_NBYTES + 4 * nblocks
    cdef size_t b, lo, hi, mid, start, stop, block_nbytes, scratch_nbytes = 0
    cdef int64_t* starts
    cdef int64_t* sorted_offsets = NULL
    cdef unsigned char* scratch = NULL
    cdef Py_ssize_t first_item, stop_item
    cdef _BlockLayout layout
    cdef int ret = 0, got
    cdef unsigned char flags = frame[2]
    if table_stop > frame_nbytes:
        return ERR_HEADER
    ret = _read_range(fd, frame, _HEADER_NBYTES, table_stop)
    if ret != 0:
        return ret
    starts = <int64_t*>malloc(nblocks * sizeof(int64_t))
    if starts == NULL:
        return ERR_SIZE
    for b in range(nblocks):
        starts[b] = _le32(frame + _HEADER_NBYTES + 4 * b)
        if starts[b] < <int64_t>table_stop or starts[b] >= <int64_t>frame_nbytes:
            free(starts)
            return ERR_HEADER
    qsort(starts, nblocks, sizeof(int64_t), _cmp_int64)
    for b in range(1, nblocks):
        if starts[b] == starts[b - 1]:  # two blocks cannot share their first byte
            free(starts)
            return ERR_HEADER
    # Items sorted by offset, so each block's items are one run found by binary search.
    # With more items than the blocks could take partially there is no point sorting.
    if (_lz4_partial != NULL and _is_partial_enabled and (flags >> 5) == _LZ4_FORMAT
            and not (flags & _FLAG_BIT_SHUFFLE)
            and <size_t>n_items <= _MAX_PARTIAL_ITEMS * nblocks):
        sorted_offsets = <int64_t*>malloc(n_items * sizeof(int64_t))
        if sorted_offsets != NULL:
            memcpy(sorted_offsets, item_byte_offsets, n_items * sizeof(int64_t))
            qsort(sorted_offsets, n_items, sizeof(int64_t), _cmp_int64)
    for b in range(nblocks):
        if not is_needed[b]:
            continue
        start = _le32(frame + _HEADER_NBYTES + 4 * b)
        lo = 0
        hi = nblocks   # binary search: the first sorted start greater than this one
        while lo < hi:
            mid = (lo + hi) // 2
            if starts[mid] <= <int64_t>start:
                lo = mid + 1
            else:
                hi = mid
        stop = <size_t>starts[lo] if lo < nblocks else frame_nbytes
        block_nbytes = blocksize if (b + 1) * blocksize <= nbytes else nbytes - b * blocksize
        if sorted_offsets != NULL:
            # Items overlapping this block: those starting less than itemsize bytes before it.
            first_item = _lower_bound(sorted_offsets, n_items,
                                      <int64_t>(b * blocksize) - itemsize + 1)
            stop_item = _lower_bound(sorted_offsets, n_items, <int64_t>((b + 1) * blocksize))
            _block_layout(&layout, flags, typesize, blocksize, block_nbytes)
            # A byte-shuffled block kept as one stream spreads every item over all of it:
            # a prefix would be nearly the whole block, so blosc_getitem does it better.
            if (stop_item - first_item <= _MAX_PARTIAL_ITEMS
                    and not (layout.is_shuffled and layout.nstreams == 1)):
                ret = _decode_block_items(fd, frame, start, stop - start, dst + b * blocksize,
                                          &layout, sorted_offsets + first_item,
                                          stop_item - first_item, itemsize,
                                          <int64_t>(b * blocksize), &scratch, &scratch_nbytes)
                if ret != 0:
                    break
                continue
        ret = _read_range(fd, frame, start, stop)
        if ret != 0:
            break
        got = _getitem(frame, <int>(b * blocksize // typesize), <int>(block_nbytes // typesize),
                       dst + b * blocksize)
        if got < 0 or <size_t>got != block_nbytes:
            ret = ERR_DECOMPRESS
            break
    free(scratch)
    free(sorted_offsets)
    free(starts)
    return ret


cdef int _decode_items(int fd, unsigned char* frame, size_t frame_nbytes, void* dst_chunk,
                       size_t dst_nbytes, const int64_t* item_byte_offsets,
                       Py_ssize_t n_items, Py_ssize_t itemsize) noexcept nogil:
    # Shared by the file and memory entry points: with fd >= 0 only the header, the bstarts
    # table and the needed blocks are read into frame; with fd < 0 frame is the whole frame.
    cdef size_t nbytes = 0, blocksize, typesize, nblocks, b, run_start, stop
    cdef unsigned char* dst = <unsigned char*>dst_chunk
    cdef unsigned char* is_needed
    cdef Py_ssize_t i
    cdef int64_t offset
    cdef int ret
    if not _is_bound:
        return ERR_UNBOUND
    if frame_nbytes < _HEADER_NBYTES or itemsize <= 0:
        return ERR_HEADER if itemsize > 0 else ERR_SIZE
    ret = _read_range(fd, frame, 0, _HEADER_NBYTES)
    if ret != 0:
        return ret
    if _validate(frame, frame_nbytes, &nbytes) != 0:
        return ERR_HEADER
    if nbytes != dst_nbytes:
        return ERR_SIZE
    for i in range(n_items):
        offset = item_byte_offsets[i]
        if offset < 0 or <size_t>itemsize > dst_nbytes or <size_t>offset > dst_nbytes - itemsize:
            return ERR_SIZE
    if n_items == 0:
        return 0
    typesize = frame[3]
    blocksize = _le32(frame + 8)
    # Flag 0x08 is reserved in c-blosc 1.x and its whole-frame decode refuses it; so do we.
    if blocksize == 0 or blocksize > nbytes or frame[2] & _FLAG_RESERVED:
        return ERR_HEADER
    nblocks = (nbytes + blocksize - 1) // blocksize
    # An item may straddle two blocks when blocksize is not a multiple of itemsize.
    is_needed = <unsigned char*>calloc(nblocks, 1)
    if is_needed == NULL:
        return ERR_SIZE
    for i in range(n_items):
        offset = item_byte_offsets[i]
        for b in range(<size_t>offset // blocksize, <size_t>(offset + itemsize - 1) // blocksize + 1):
            is_needed[b] = 1
    if frame[2] & _FLAG_MEMCPYED:
        # Stored raw after the header: copy runs of needed blocks, straight from the file.
        if frame_nbytes != nbytes + _HEADER_NBYTES:
            ret = ERR_HEADER
        b = 0
        while ret == 0 and b < nblocks:
            if not is_needed[b]:
                b += 1
                continue
            run_start = b
            while b < nblocks and is_needed[b]:
                b += 1
            stop = b * blocksize if b * blocksize < nbytes else nbytes
            if fd >= 0:
                ret = _pread_full(fd, dst + run_start * blocksize, stop - run_start * blocksize,
                                  _HEADER_NBYTES + run_start * blocksize)
            else:
                memcpy(dst + run_start * blocksize, frame + _HEADER_NBYTES + run_start * blocksize,
                       stop - run_start * blocksize)
    elif typesize == 0 or blocksize % typesize != 0 or nbytes % typesize != 0:
        ret = ERR_HEADER   # blosc_getitem counts in typesize units: blocks must align
    else:
        ret = _decode_blocks(fd, frame, frame_nbytes, dst, blocksize, nblocks, nbytes,
                             typesize, is_needed, item_byte_offsets, n_items, itemsize)
    free(is_needed)
    return ret


cdef int decode_blosc_items_from_fd(int fd, size_t file_nbytes, unsigned char* frame_buf,
                                    void* dst_chunk, size_t dst_nbytes,
                                    const int64_t* item_byte_offsets, Py_ssize_t n_items,
                                    Py_ssize_t itemsize) noexcept nogil:
    if fd < 0:
        return ERR_IO
    return _decode_items(fd, frame_buf, file_nbytes, dst_chunk, dst_nbytes,
                         item_byte_offsets, n_items, itemsize)


cdef int decode_blosc_items(const unsigned char* src, size_t src_nbytes, void* dst_chunk,
                            size_t dst_nbytes, const int64_t* item_byte_offsets,
                            Py_ssize_t n_items, Py_ssize_t itemsize) noexcept nogil:
    # fd = -1: nothing is read, so the const frame is never written through this cast.
    return _decode_items(-1, <unsigned char*>src, src_nbytes, dst_chunk, dst_nbytes,
                         item_byte_offsets, n_items, itemsize)


cdef extern from "zf_unshuffle.h" nogil:
    void zf_unshuffle_planes(size_t typesize, const unsigned char* const* planes, size_t first,
                             size_t count, unsigned char* dst)


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
    if nbytes == 0 or blocks.typesize == 0 or flags & _FLAG_RESERVED:
        return NOT_BLOCKWISE
    if flags & _FLAG_MEMCPYED:
        if frame_nbytes != nbytes + _HEADER_NBYTES:
            return ERR_HEADER
    elif ((flags >> 5) != _LZ4_FORMAT or flags & _FLAG_BIT_SHUFFLE or _lz4_safe == NULL
          or not _is_blockwise_enabled):
        return NOT_BLOCKWISE
    if (blocks.blocksize == 0 or blocks.blocksize > nbytes
            or blocks.blocksize % blocks.typesize or nbytes % blocks.typesize):
        return NOT_BLOCKWISE
    blocks.nblocks = (nbytes + blocks.blocksize - 1) // blocks.blocksize
    if not (flags & _FLAG_MEMCPYED) and _HEADER_NBYTES + 4 * blocks.nblocks > frame_nbytes:
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
    cdef _BlockLayout layout
    cdef int got
    if b >= blocks.nblocks:
        return ERR_SIZE
    block_nbytes = min(blocksize, blocks.nbytes - b * blocksize)
    nplanes[0] = 1
    if blocks.flags & _FLAG_MEMCPYED:
        planes[0] = frame + _HEADER_NBYTES + b * blocksize
        return <Py_ssize_t>block_nbytes
    start = _le32(frame + _HEADER_NBYTES + 4 * b)
    if start < _HEADER_NBYTES + 4 * blocks.nblocks or start >= blocks.frame_nbytes:
        return ERR_HEADER
    _block_layout(&layout, blocks.flags, blocks.typesize, blocksize, block_nbytes)
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
                                   unsigned char* tmp) noexcept nogil:
    cdef const unsigned char* planes[256]
    cdef size_t nplanes = 1
    cdef Py_ssize_t got = blosc_block_planes(blocks, b, tmp, planes, &nplanes)
    if got > 0:
        zf_unshuffle_planes(nplanes, planes, 0, <size_t>got // nplanes, dst)
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


cdef int _check(int code, str what) except -1:
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


def _set_partial_decode_for_tests(is_enabled=True):
    """Allow (or forbid) decoding single items from lz4 stream prefixes; returns the old flag."""
    global _is_partial_enabled
    previous = bool(_is_partial_enabled)
    _is_partial_enabled = 1 if is_enabled else 0
    return previous


def _set_blockwise_decode_for_tests(is_enabled=True):
    """Switch the block-by-block decode of lz4 frames on or off; returns the previous state."""
    global _is_blockwise_enabled
    previous = bool(_is_blockwise_enabled)
    _is_blockwise_enabled = 1 if is_enabled else 0
    return previous


def has_partial_decode():
    """True when lz4 frames can decode single items from stream prefixes (lz4 >= 1.9)."""
    return _lz4_partial != NULL and bool(_is_partial_enabled)


cdef object _byte_view(object arr, bint is_writeable):
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
    if frame.shape[0] < _HEADER_NBYTES:
        raise ValueError(f"a blosc frame has a 16-byte header, found {frame.shape[0]} bytes")
    return dict(nbytes=_le32(&frame[4]), cbytes=_le32(&frame[12]),
                blocksize=_le32(&frame[8]), typesize=frame[3], flags=frame[2])


def decode_into(src, dst, int nthreads=1):
    """Decode the whole frame ``src`` into ``dst`` (writeable, contiguous, same nbytes)."""
    cdef const unsigned char[::1] frame = memoryview(src).cast("B")
    cdef unsigned char[::1] out = _byte_view(dst, True)
    cdef int code
    cdef const unsigned char* src_ptr = _cptr(frame)
    cdef unsigned char* dst_ptr = _ptr(out)
    if not _is_bound:
        _fallback_decode(src, out)
        return dst
    with nogil:
        code = decode_blosc(src_ptr, frame.shape[0], dst_ptr, out.shape[0], nthreads)
    _check(code, "decode_into")
    return dst


def decode_by_blocks(src, dst):
    """Decode the whole frame ``src`` into ``dst`` one block at a time, as the read path
    does; False (``dst`` untouched) when the frame is not one it decodes that way.

    Exists so tests can hold the block decoder against c-blosc's whole-frame decode."""
    cdef const unsigned char[::1] frame = memoryview(src).cast("B")
    cdef unsigned char[::1] out = _byte_view(dst, True)
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
    _check(code, "decode_by_blocks")
    tmp = <unsigned char*>malloc(blocks.blocksize)
    if tmp == NULL:
        raise MemoryError()
    try:
        with nogil:
            for b in range(blocks.nblocks):
                got = blosc_decode_block(&blocks, b, dst_ptr + b * blocks.blocksize, tmp)
                if got < 0:
                    break
    finally:
        free(tmp)
    _check(<int>got if got < 0 else 0, "decode_by_blocks")
    return True


def encode(arr, cname="lz4", int clevel=5, int shuffle=1, int blocksize=0, int nthreads=1,
           out=None):
    """Encode a contiguous array as ``numcodecs.Blosc(cname, clevel, shuffle, blocksize)``.

    Returns bytes; with ``out`` (a writeable uint8 array of at least ``arr.nbytes + 16``
    bytes, reused across calls so its pages are already in place) the frame is written
    there and the view ``out[:frame size]`` is returned instead, with no copy.
    """
    cdef const unsigned char[::1] data = _byte_view(arr, False)
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
        out = np.empty(data.shape[0] + _HEADER_NBYTES, dtype=np.uint8)
    elif (not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.ndim != 1
            or out.shape[0] < data.shape[0] + _HEADER_NBYTES):
        raise ValueError(f"out must be a 1-D uint8 array of at least "
                         f"{data.shape[0] + _HEADER_NBYTES} bytes")
    cdef unsigned char[::1] dst = out
    cdef const char* cname_ptr = name
    cdef const unsigned char* src_ptr = _cptr(data)
    with nogil:
        cbytes = encode_blosc(src_ptr, data.shape[0], itemsize, &dst[0], dst.shape[0],
                              clevel, shuffle, cname_ptr, blocksize, nthreads)
    _check(<int>cbytes if cbytes < 0 else 0, "encode")
    return out[:cbytes].tobytes() if is_returned_as_bytes else out[:cbytes]


cdef object _offsets_array(item_byte_offsets):
    return np.ascontiguousarray(item_byte_offsets, dtype=np.int64).reshape(-1)


def decode_items(src, dst, item_byte_offsets):
    """Decode only the blocks of frame ``src`` holding the items at these byte offsets."""
    cdef const unsigned char[::1] frame = memoryview(src).cast("B")
    cdef unsigned char[::1] out = _byte_view(dst, True)
    cdef const int64_t[::1] offsets = _offsets_array(item_byte_offsets)
    cdef Py_ssize_t itemsize = dst.dtype.itemsize
    cdef int code
    cdef const int64_t* offsets_ptr = &offsets[0] if offsets.shape[0] else NULL
    cdef const unsigned char* src_ptr = _cptr(frame)
    cdef unsigned char* dst_ptr = _ptr(out)
    if not _is_bound:
        _fallback_decode_items(bytes(src), out, offsets, itemsize)
        return dst
    with nogil:
        code = decode_blosc_items(src_ptr, frame.shape[0], dst_ptr, out.shape[0],
                                  offsets_ptr, offsets.shape[0], itemsize)
    _check(code, "decode_items")
    return dst


def decode_items_from_file(path, dst, item_byte_offsets):
    """Like ``decode_items`` but reads only the needed parts of the chunk file at ``path``."""
    cdef unsigned char[::1] out = _byte_view(dst, True)
    cdef const int64_t[::1] offsets = _offsets_array(item_byte_offsets)
    cdef Py_ssize_t itemsize = dst.dtype.itemsize
    cdef const int64_t* offsets_ptr = &offsets[0] if offsets.shape[0] else NULL
    cdef unsigned char[::1] frame_buf
    cdef int code, fd
    cdef size_t file_nbytes
    cdef unsigned char* dst_ptr = _ptr(out)
    if not _is_bound:
        with open(path, "rb") as file:
            _fallback_decode_items(file.read(), out, offsets, itemsize)
        return dst
    fd = os.open(path, os.O_RDONLY)
    try:
        file_nbytes = os.fstat(fd).st_size
        # Uninitialised on purpose: only the header, the table and needed blocks are read.
        frame_buf = np.empty(max(file_nbytes, 1), dtype=np.uint8)
        with nogil:
            code = decode_blosc_items_from_fd(fd, file_nbytes, &frame_buf[0], dst_ptr,
                                              out.shape[0], offsets_ptr, offsets.shape[0],
                                              itemsize)
    finally:
        os.close(fd)
    _check(code, "decode_items_from_file")
    return dst


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


cdef _fallback_decode_items(bytes src, unsigned char[::1] out, const int64_t[::1] offsets,
                            Py_ssize_t itemsize):
    # Decode the whole frame, then copy only the blocks holding the items, so the caller
    # sees the same bytes touched as with the bound path.
    info = frame_info(src)
    if info["nbytes"] != out.shape[0]:
        raise ValueError(f"decode_items: frame holds {info['nbytes']} bytes, destination "
                         f"has {out.shape[0]}")
    whole = np.empty(out.shape[0], dtype=np.uint8)
    _fallback_decode(src, whole)
    values = np.asarray(offsets)
    if values.size and (values.min() < 0 or values.max() + itemsize > out.shape[0]):
        raise ValueError("decode_items: an item offset lies outside the chunk")
    blocksize = max(int(info["blocksize"]), 1)
    dst = np.asarray(out)
    for b in np.unique(np.concatenate([values // blocksize,
                                       (values + itemsize - 1) // blocksize])):
        dst[b * blocksize:(b + 1) * blocksize] = whole[b * blocksize:(b + 1) * blocksize]
