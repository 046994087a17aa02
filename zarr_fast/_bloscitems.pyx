# cython: language_level=3, wraparound=False, cdivision=True, embedsignature=True
# boundscheck and initializedcheck come from setup.py's directives (off; on when
# ZARR_FAST_CYTHON_DEBUG=1): a file header would override the debug switch.
"""Item-level partial decode of c-blosc 1.x frames: only the blocks holding the items.

A read of a few elements decodes only the blosc blocks that hold them, from a frame in
memory or straight from an open chunk file with ``pread`` (only the header, the block-start
table and the needed blocks are read). In lz4/lz4hc frames (not bitshuffled) a block
holding few requested items is not even decoded whole: c-blosc stores a block as
``typesize`` separately compressed streams (stream k holds byte k of every item when
byte-shuffled), and an item's byte is found in its stream without decoding it: the
stream's LZ4 sequences are walked (no bytes copied) up to the byte, and the byte is read
from the sequence's literals, or, inside a match, looked up again that many bytes back.
Only the needed streams are read from the file. Such a read checks what c-blosc would check
on the streams it reads in full (stream sizes fill the block; one stream's decoded size is
verified by walking all its sequences), but a corrupt byte in the unwalked tail of a stream
goes unnoticed where a whole-block decode might fail. Other blocks are decoded by c-blosc's
``blosc_getitem``, from the c-blosc ``_blosc`` binds (``blosc_library_symbol``).

Callers guarantee: frames are passed with exactly their stored length; ``frame_buf`` has
room for the whole file; destinations are writeable, contiguous chunk buffers. Every header
field, size and block-start entry is checked before it is trusted, so corrupt input yields
a negative code (``ValueError`` in the wrappers), never an out-of-bounds access.

Refused: frames whose ``nbytes`` differs from the destination size; compressed frames whose
block size or size is not a multiple of their typesize (never written by numcodecs). When
the symbols are not bound the ``def`` wrappers decode the whole frame with numcodecs.
"""
import os

import numpy as np

from libc.stdint cimport int64_t, uint32_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memcpy
from libc.errno cimport errno, EINTR
from posix.types cimport off_t
from posix.unistd cimport pread

from ._blosc cimport (
    ERR_DECOMPRESS,
    ERR_HEADER,
    ERR_IO,
    ERR_SIZE,
    ERR_UNBOUND,
    FLAG_BIT_SHUFFLE,
    FLAG_BYTE_SHUFFLE,
    FLAG_MEMCPYED,
    FLAG_RESERVED,
    HEADER_NBYTES,
    LZ4_FORMAT,
    MAX_SPLITS,
    BlockLayout,
    block_layout,
    blosc_library_symbol,
    blosc_ready,
    byte_view,
    check_code,
    getitem_t,
    validate_t,
)
from ._chunkfiles cimport reserve_bytes

from ._blosc import decode_into, frame_info

cdef enum:
    _MAX_PARTIAL_ITEMS = 64    # more items per block than this: decode the whole block
    _INT_MAX = 2147483647

cdef getitem_t _getitem = <getitem_t>blosc_library_symbol(b"blosc_getitem")
cdef validate_t _validate = <validate_t>blosc_library_symbol(b"blosc_cbuffer_validate")
cdef int _is_partial_enabled = 1   # tests and benchmarks switch the partial decode off


cdef inline uint32_t _le32(const unsigned char* p) noexcept nogil:
    return p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


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


cdef inline size_t _stream_position(const BlockLayout* layout, size_t byte) noexcept nogil:
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

cdef inline int _lz4_sequence(const unsigned char** ip, const unsigned char* end,
                              size_t produced, size_t expected_nbytes,
                              const unsigned char** literals, size_t* literal_nbytes,
                              size_t* offset, size_t* match_nbytes) noexcept nogil:
    # One sequence of an LZ4 block (token, literal run, 2-byte offset, match) at ip[0],
    # checked and stepped over, after `produced` output bytes: 1 for the last sequence
    # (literals only), 0 when a match follows its literals, -1 when it overruns the input,
    # points before the output or would make more than expected_nbytes.
    cdef unsigned int token = ip[0][0]
    cdef size_t length = token >> 4
    ip[0] += 1
    if length == 15 and not _lz4_length_goes_on(ip, end, &length):
        return -1
    if length > <size_t>(end - ip[0]) or length > expected_nbytes - produced:
        return -1
    literals[0] = ip[0]
    literal_nbytes[0] = length
    ip[0] += length
    produced += length
    if ip[0] == end:
        return 1
    if end - ip[0] < 2:
        return -1
    offset[0] = ip[0][0] | (<size_t>ip[0][1] << 8)
    ip[0] += 2
    if offset[0] - 1 >= produced:   # offset 0 wraps around and is refused with the rest
        return -1
    length = token & 15
    if length == 15 and not _lz4_length_goes_on(ip, end, &length):
        return -1
    if length + 4 > expected_nbytes - produced:   # LZ4's shortest match is 4 bytes
        return -1
    match_nbytes[0] = length + 4
    return 0


cdef bint _is_lz4_block_of(const unsigned char* src, size_t src_nbytes,
                            size_t expected_nbytes) noexcept nogil:
    # Walk the sequences of one LZ4 block without decoding: true when they consume exactly
    # src_nbytes bytes, every match offset points into bytes already produced, and they
    # produce exactly expected_nbytes bytes. This is the size check c-blosc makes after
    # decoding a whole stream, at a cost per sequence instead of per byte.
    cdef const unsigned char* ip = src
    cdef const unsigned char* end = src + src_nbytes
    cdef const unsigned char* literals
    cdef size_t produced = 0, literal_nbytes, offset, match_nbytes
    cdef int kind
    while ip < end:
        kind = _lz4_sequence(&ip, end, produced, expected_nbytes, &literals, &literal_nbytes,
                             &offset, &match_nbytes)
        if kind < 0:
            return False
        produced += literal_nbytes
        if kind == 1:
            return produced == expected_nbytes
        produced += match_nbytes
    return False


cdef struct _Sequence:
    # One LZ4 sequence: literals make output [out_start, match_start) from the input at
    # literal_at; its match makes [match_start, out_stop), copied from offset bytes back.
    uint32_t out_start
    uint32_t match_start
    uint32_t out_stop
    uint32_t literal_at
    uint32_t offset


cdef Py_ssize_t _index_lz4(const unsigned char* src, size_t src_nbytes, size_t expected_nbytes,
                           size_t upto, _Sequence* seqs) noexcept nogil:
    # Walk the sequences of one LZ4 block (checked by _lz4_sequence) until they have produced
    # byte `upto`, recording each: the count, or -1 for a malformed stream or one that ends
    # first. seqs has room for src_nbytes // 3 + 2 entries: every sequence but the last
    # takes at least 3 input bytes (token and offset).
    cdef const unsigned char* ip = src
    cdef const unsigned char* end = src + src_nbytes
    cdef const unsigned char* literals
    cdef size_t produced = 0, literal_nbytes, offset = 0, match_nbytes = 0
    cdef Py_ssize_t n = 0
    cdef int kind
    while ip < end:
        kind = _lz4_sequence(&ip, end, produced, expected_nbytes, &literals, &literal_nbytes,
                             &offset, &match_nbytes)
        if kind < 0:
            return -1
        seqs[n].out_start = <uint32_t>produced
        seqs[n].literal_at = <uint32_t>(literals - src)
        produced += literal_nbytes
        seqs[n].match_start = <uint32_t>produced
        if kind == 1:
            seqs[n].out_stop = <uint32_t>produced
            seqs[n].offset = 0
            return n + 1 if produced > upto else -1
        produced += match_nbytes
        seqs[n].out_stop = <uint32_t>produced
        seqs[n].offset = <uint32_t>offset
        n += 1
        if produced > upto:
            return n
    return -1


cdef inline unsigned char _lz4_byte_at(const _Sequence* seqs, Py_ssize_t n,
                                       const unsigned char* src, size_t position) noexcept nogil:
    # The decoded byte at `position` (below the out_stop of seqs[n - 1]), found without
    # decoding: a byte inside a match is the byte offset back, and inside an overlapping
    # match that repeats with period offset, so each step lands before the match starts
    # and the walk back ends in some sequence's literals.
    cdef Py_ssize_t lo, hi, mid
    cdef size_t start
    while True:
        lo = 0
        hi = n
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if seqs[mid].out_start <= position:
                lo = mid
            else:
                hi = mid
        start = seqs[lo].match_start
        if position < start:
            return src[seqs[lo].literal_at + position - seqs[lo].out_start]
        position = start - seqs[lo].offset + (position - start) % seqs[lo].offset


cdef inline void _item_byte_range(int64_t offset, Py_ssize_t itemsize, size_t block_nbytes,
                                  size_t* first, size_t* stop) noexcept nogil:
    # The in-block bytes [first, stop) of an item starting `offset` bytes into the block
    # (negative: it began in the block before).
    first[0] = <size_t>offset if offset > 0 else 0
    stop[0] = <size_t>(offset + itemsize)
    if stop[0] > block_nbytes:
        stop[0] = block_nbytes


cdef int _decode_block_items(int fd, unsigned char* frame, size_t block_start,
                             size_t block_cnbytes, unsigned char* dst_block,
                             const BlockLayout* layout, const int64_t* offsets,
                             Py_ssize_t n_items, Py_ssize_t itemsize, int64_t block_first_byte,
                             unsigned char** scratch, size_t* scratch_nbytes) noexcept nogil:
    # The items of an lz4/lz4hc block (not bitshuffled), with nothing decoded: each needed
    # compressed stream's sequences are indexed up to its last needed byte (_index_lz4) and
    # each item byte looked up in them (_lz4_byte_at); streams stored raw are read in
    # place. The bytes go into dst_block (the block's first byte in the chunk); no other dst
    # byte is written. offsets are the chunk byte offsets of the items touching this block.
    # The block's compressed bytes are frame[block_start:block_start + block_cnbytes]; with
    # fd >= 0 only the stream sizes, the needed streams and the needed bytes of raw streams
    # are read into frame. Walking sequences instead of decoding skips LZ4's copies: W4's
    # 2,000 single-item reads went from 108 to 91 µs each (LZ4's partial decoder, before).
    # Checks: stream sizes are positive and fill the block exactly, as c-blosc writes them;
    # every walked sequence stays inside its stream and the bytes already produced, and the
    # needed bytes are produced; and the smallest compressed stream is walked whole and must
    # decode to exactly the stream size, which a header with a wrong block size, type size or
    # split flag fails (every stream of a block has the same size).
    # *scratch (*scratch_nbytes long, holds the sequence tables) is grown as needed
    # (reserve_bytes) and freed by the caller.
    cdef size_t first_needed[MAX_SPLITS]
    cdef size_t needed[MAX_SPLITS]
    cdef size_t stream_cnbytes[MAX_SPLITS]
    cdef size_t stream_start[MAX_SPLITS]
    cdef const unsigned char* plane[MAX_SPLITS]
    cdef size_t nstreams = layout.nstreams, stream_nbytes = layout.stream_nbytes
    cdef size_t j, byte, first, stop, position, total = 0, read = 0
    cdef size_t checked = MAX_SPLITS
    cdef _Sequence* sequences[MAX_SPLITS]
    cdef Py_ssize_t nsequences[MAX_SPLITS]
    cdef unsigned char* block = frame + block_start
    cdef int64_t offset
    cdef Py_ssize_t i
    cdef int got, ret
    for j in range(nstreams):
        needed[j] = 0
        first_needed[j] = stream_nbytes
    for i in range(n_items):
        _item_byte_range(offsets[i] - block_first_byte, itemsize, layout.block_nbytes,
                         &first, &stop)
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
                checked == MAX_SPLITS or stream_cnbytes[j] < stream_cnbytes[checked]):
            checked = j
    if read != block_cnbytes:
        return ERR_DECOMPRESS
    if checked != MAX_SPLITS:
        ret = _read_range(fd, frame, block_start + stream_start[checked],
                          block_start + stream_start[checked] + stream_cnbytes[checked])
        if ret != 0:
            return ret
        if not _is_lz4_block_of(block + stream_start[checked], stream_cnbytes[checked],
                                stream_nbytes):
            return ERR_DECOMPRESS
    for j in range(nstreams):
        if needed[j] and stream_cnbytes[j] != stream_nbytes:
            total += (stream_cnbytes[j] // 3 + 2) * sizeof(_Sequence)
    if reserve_bytes(scratch, scratch_nbytes, total) != 0:
        return ERR_SIZE
    total = 0
    for j in range(nstreams):
        plane[j] = NULL
        if not needed[j]:
            continue
        if stream_cnbytes[j] == stream_nbytes:   # c-blosc stores a stream it cannot shrink raw
            ret = _read_range(fd, frame, block_start + stream_start[j] + first_needed[j],
                              block_start + stream_start[j] + needed[j])
            if ret != 0:
                return ret
            plane[j] = block + stream_start[j]
            continue
        if j != checked:
            ret = _read_range(fd, frame, block_start + stream_start[j],
                              block_start + stream_start[j] + stream_cnbytes[j])
            if ret != 0:
                return ret
        sequences[j] = <_Sequence*>(scratch[0] + total)
        total += (stream_cnbytes[j] // 3 + 2) * sizeof(_Sequence)
        nsequences[j] = _index_lz4(block + stream_start[j], stream_cnbytes[j], stream_nbytes,
                                   needed[j] - 1, sequences[j])
        if nsequences[j] < 0:
            return ERR_DECOMPRESS
    for i in range(n_items):
        _item_byte_range(offsets[i] - block_first_byte, itemsize, layout.block_nbytes,
                         &first, &stop)
        for byte in range(first, stop):
            position = _stream_position(layout, byte)
            j = position // stream_nbytes
            if plane[j] != NULL:
                dst_block[byte] = plane[j][position % stream_nbytes]
            else:
                dst_block[byte] = _lz4_byte_at(sequences[j], nsequences[j],
                                               block + stream_start[j], position % stream_nbytes)
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
    cdef size_t table_stop = HEADER_NBYTES + 4 * nblocks
    cdef size_t b, lo, hi, mid, start, stop, block_nbytes, scratch_nbytes = 0
    cdef int64_t* starts
    cdef int64_t* sorted_offsets = NULL
    cdef unsigned char* scratch = NULL
    cdef Py_ssize_t first_item, stop_item
    cdef BlockLayout layout
    cdef int ret = 0, got
    cdef unsigned char flags = frame[2]
    if table_stop > frame_nbytes:
        return ERR_HEADER
    ret = _read_range(fd, frame, HEADER_NBYTES, table_stop)
    if ret != 0:
        return ret
    starts = <int64_t*>malloc(nblocks * sizeof(int64_t))
    if starts == NULL:
        return ERR_SIZE
    for b in range(nblocks):
        starts[b] = _le32(frame + HEADER_NBYTES + 4 * b)
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
    if (_is_partial_enabled and (flags >> 5) == LZ4_FORMAT
            and not (flags & FLAG_BIT_SHUFFLE)
            and <size_t>n_items <= _MAX_PARTIAL_ITEMS * nblocks):
        sorted_offsets = <int64_t*>malloc(n_items * sizeof(int64_t))
        if sorted_offsets != NULL:
            memcpy(sorted_offsets, item_byte_offsets, n_items * sizeof(int64_t))
            qsort(sorted_offsets, n_items, sizeof(int64_t), _cmp_int64)
    for b in range(nblocks):
        if not is_needed[b]:
            continue
        start = _le32(frame + HEADER_NBYTES + 4 * b)
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
            block_layout(&layout, flags, typesize, blocksize, block_nbytes)
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
    if not blosc_ready():
        return ERR_UNBOUND
    if frame_nbytes < HEADER_NBYTES or itemsize <= 0:
        return ERR_HEADER if itemsize > 0 else ERR_SIZE
    ret = _read_range(fd, frame, 0, HEADER_NBYTES)
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
    if blocksize == 0 or blocksize > nbytes or frame[2] & FLAG_RESERVED:
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
    if frame[2] & FLAG_MEMCPYED:
        # Stored raw after the header: copy runs of needed blocks, straight from the file.
        if frame_nbytes != nbytes + HEADER_NBYTES:
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
                                  HEADER_NBYTES + run_start * blocksize)
            else:
                memcpy(dst + run_start * blocksize, frame + HEADER_NBYTES + run_start * blocksize,
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


def _set_partial_decode_for_tests(is_enabled=True):
    """Allow (or forbid) decoding single items from lz4 stream prefixes; returns the old flag."""
    global _is_partial_enabled
    previous = bool(_is_partial_enabled)
    _is_partial_enabled = 1 if is_enabled else 0
    return previous


def has_partial_decode():
    """True when lz4 frames can decode single items from stream prefixes (lz4 >= 1.9)."""
    return bool(_is_partial_enabled)

cdef unsigned char _EMPTY[1]


cdef inline unsigned char* _ptr(unsigned char[::1] view) noexcept:
    return &view[0] if view.shape[0] else _EMPTY


cdef inline const unsigned char* _cptr(const unsigned char[::1] view) noexcept:
    return &view[0] if view.shape[0] else _EMPTY


cdef object _offsets_array(item_byte_offsets):
    return np.ascontiguousarray(item_byte_offsets, dtype=np.int64).reshape(-1)


def decode_items(src, dst, item_byte_offsets):
    """Decode only the blocks of frame ``src`` holding the items at these byte offsets."""
    cdef const unsigned char[::1] frame = memoryview(src).cast("B")
    cdef unsigned char[::1] out = byte_view(dst, True)
    cdef const int64_t[::1] offsets = _offsets_array(item_byte_offsets)
    cdef Py_ssize_t itemsize = dst.dtype.itemsize
    cdef int code
    cdef const int64_t* offsets_ptr = &offsets[0] if offsets.shape[0] else NULL
    cdef const unsigned char* src_ptr = _cptr(frame)
    cdef unsigned char* dst_ptr = _ptr(out)
    if not blosc_ready():
        _fallback_decode_items(bytes(src), out, offsets, itemsize)
        return dst
    with nogil:
        code = decode_blosc_items(src_ptr, frame.shape[0], dst_ptr, out.shape[0],
                                  offsets_ptr, offsets.shape[0], itemsize)
    check_code(code, "decode_items")
    return dst


def decode_items_from_file(path, dst, item_byte_offsets):
    """Like ``decode_items`` but reads only the needed parts of the chunk file at ``path``."""
    cdef unsigned char[::1] out = byte_view(dst, True)
    cdef const int64_t[::1] offsets = _offsets_array(item_byte_offsets)
    cdef Py_ssize_t itemsize = dst.dtype.itemsize
    cdef const int64_t* offsets_ptr = &offsets[0] if offsets.shape[0] else NULL
    cdef unsigned char[::1] frame_buf
    cdef int code, fd
    cdef size_t file_nbytes
    cdef unsigned char* dst_ptr = _ptr(out)
    if not blosc_ready():
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
    check_code(code, "decode_items_from_file")
    return dst


cdef _fallback_decode_items(bytes src, unsigned char[::1] out, const int64_t[::1] offsets,
                            Py_ssize_t itemsize):
    # Decode the whole frame, then copy only the blocks holding the items, so the caller
    # sees the same bytes touched as with the bound path.
    info = frame_info(src)
    if info["nbytes"] != out.shape[0]:
        raise ValueError(f"decode_items: frame holds {info['nbytes']} bytes, destination "
                         f"has {out.shape[0]}")
    whole = np.empty(out.shape[0], dtype=np.uint8)
    decode_into(src, whole)
    values = np.asarray(offsets)
    if values.size and (values.min() < 0 or values.max() + itemsize > out.shape[0]):
        raise ValueError("decode_items: an item offset lies outside the chunk")
    blocksize = max(int(info["blocksize"]), 1)
    dst = np.asarray(out)
    for b in np.unique(np.concatenate([values // blocksize,
                                       (values + itemsize - 1) // blocksize])):
        dst[b * blocksize:(b + 1) * blocksize] = whole[b * blocksize:(b + 1) * blocksize]
