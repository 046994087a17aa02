# C-level blosc calls of zarr_fast._blosc that other compiled modules may cimport (the
# chunk pipeline decodes and encodes on worker threads with the GIL released).
#
# The functions bind, at import time, the c-blosc 1.x symbols exported by numcodecs' own
# blosc extension; when that fails blosc_ready() is 0 and every other function returns
# ERR_UNBOUND, so callers must check blosc_ready() and fall back to numcodecs' Python API.
# Sizes are in bytes unless named *items*; none of these take the GIL or raise: they return
# 0 (or a size) on success and one of the negative codes below on failure.
from libc.stdint cimport int64_t

cdef enum:
    ERR_HEADER = -1      # not a blosc frame, or its header disagrees with the stored length
    ERR_SIZE = -2        # frame size / destination size / capacity mismatch, bad offsets
    ERR_DECOMPRESS = -3  # c-blosc reported an error (corrupt data, unknown codec)
    ERR_IO = -4          # pread failed or the file is shorter than promised
    ERR_UNBOUND = -5     # the c-blosc symbols could not be bound

# 1 when the c-blosc symbols are bound and the functions below do real work.
cdef int blosc_ready() noexcept nogil

# A symbol of the c-blosc copy bound above (numcodecs' blosc extension, which also exports
# the LZ4 it bundles), or NULL when none is bound or it lacks the name. Call with the GIL.
cdef void* blosc_library_symbol(const char* name) noexcept

# Decompress the whole frame src[0:src_nbytes] (exactly the stored length) into
# dst[0:dst_nbytes]; the frame's uncompressed size must equal dst_nbytes.
cdef int decode_blosc(const unsigned char* src, size_t src_nbytes, void* dst,
                      size_t dst_nbytes, int nthreads) noexcept nogil

# Compress src[0:src_nbytes] into dst (capacity >= src_nbytes + 16), byte-identical to
# numcodecs.Blosc(cname, clevel, shuffle, blocksize).encode; shuffle is 0, 1, 2 or -1
# (auto). Returns the compressed size or a negative code.
cdef Py_ssize_t encode_blosc(const void* src, size_t src_nbytes, size_t typesize,
                             void* dst, size_t dst_capacity, int clevel, int shuffle,
                             const char* cname, size_t blocksize,
                             int nthreads) noexcept nogil

# Decode only the items at item_byte_offsets (byte offsets into the decoded chunk, each a
# multiple of itemsize) of the frame stored in the open file fd (file_nbytes long) into
# dst_chunk at the same offsets, reading just the blocks that hold them. frame_buf has room
# for file_nbytes bytes; only the ranges read are written. The requested items come out
# right; other dst bytes of the blocks holding them are undefined (a block may be decoded
# whole, or, in lz4 frames, only the items' bytes written), and dst bytes of blocks holding
# no requested item stay untouched.
cdef int decode_blosc_items_from_fd(int fd, size_t file_nbytes, unsigned char* frame_buf,
                                    void* dst_chunk, size_t dst_nbytes,
                                    const int64_t* item_byte_offsets, Py_ssize_t n_items,
                                    Py_ssize_t itemsize) noexcept nogil

# The same for a frame already in memory (src_nbytes is exactly the stored length).
cdef int decode_blosc_items(const unsigned char* src, size_t src_nbytes, void* dst_chunk,
                            size_t dst_nbytes, const int64_t* item_byte_offsets,
                            Py_ssize_t n_items, Py_ssize_t itemsize) noexcept nogil

# A frame opened for decoding block by block (blosc_blocks_open fills it). c-blosc 1.x
# blocks are independent: block b holds decoded bytes [b * blocksize, ...) of the chunk.
cdef struct BloscBlocks:
    const unsigned char* frame
    size_t frame_nbytes
    size_t nbytes            # decoded size
    size_t blocksize
    size_t nblocks
    size_t typesize
    unsigned char flags

# 0 when the frame frame[0:frame_nbytes] (its stored length), decoding to dst_nbytes bytes,
# can be decoded block by block here (lz4/lz4hc blocks, byte shuffle or none, or stored raw,
# blocksize and size multiples of the typesize); NOT_BLOCKWISE when it looks valid but is
# another kind (the caller decodes it whole with decode_blosc, which also names any fault);
# a negative code for a header that is not a blosc frame of that size.
cdef enum:
    NOT_BLOCKWISE = 1
cdef int blosc_blocks_open(BloscBlocks* blocks, const unsigned char* frame,
                           size_t frame_nbytes, size_t dst_nbytes) noexcept nogil

# Decode block b's streams, with tmp (blocksize bytes) as scratch. Returns the block's
# decoded size (or a negative code; every stream size and offset is checked against the
# frame first) and its planes: *nplanes (the typesize, or 1 for a block not byte-shuffled)
# pointers, each to size / *nplanes bytes in tmp or in the frame, such that unshuffling
# them (zf_unshuffle_planes in csrc/zf_unshuffle.h) gives the block. planes has room for
# 256 pointers.
cdef Py_ssize_t blosc_block_planes(const BloscBlocks* blocks, size_t b, unsigned char* tmp,
                                   const unsigned char** planes, size_t* nplanes) noexcept nogil

# Decode block b into dst (room for blocksize bytes), with tmp (blocksize bytes) as scratch.
# Returns the block's decoded size or a negative code.
cdef Py_ssize_t blosc_decode_block(const BloscBlocks* blocks, size_t b, unsigned char* dst,
                                   unsigned char* tmp) noexcept nogil
