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
    HEADER_NBYTES = 16       # BLOSC_MIN_HEADER_LENGTH == BLOSC_MAX_OVERHEAD in c-blosc 1.x
    FLAG_BYTE_SHUFFLE = 0x01
    FLAG_MEMCPYED = 0x02
    FLAG_BIT_SHUFFLE = 0x04
    FLAG_RESERVED = 0x08
    FLAG_DONT_SPLIT = 0x10   # set by the encoder when a block is one stream, not typesize
    LZ4_FORMAT = 1           # flags bits 5-7; lz4 and lz4hc share the lz4 block format
    MAX_SPLITS = 16          # c-blosc splits only types of at most 16 bytes ...
    MIN_BUFFERSIZE = 128     # ... into streams of at least 128 bytes

cdef enum:
    ERR_HEADER = -1      # not a blosc frame, or its header disagrees with the stored length
    ERR_SIZE = -2        # frame size / destination size / capacity mismatch, bad offsets
    ERR_DECOMPRESS = -3  # c-blosc reported an error (corrupt data, unknown codec)
    ERR_IO = -4          # pread failed or the file is shorter than promised
    ERR_UNBOUND = -5     # the c-blosc symbols could not be bound

# 1 when the c-blosc symbols are bound and the functions below do real work.
cdef int blosc_ready() noexcept nogil

# Signatures of c-blosc's and LZ4's entry points, as bound here and in _bloscitems.
ctypedef int (*getitem_t)(const void*, int, int, void*) noexcept nogil
ctypedef int (*validate_t)(const void*, size_t, size_t*) noexcept nogil
ctypedef int (*lz4_safe_t)(const char*, char*, int, int) noexcept nogil

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

cdef struct BlockLayout:
    # How one compressed block stores its decoded bytes (see block_layout).
    size_t block_nbytes   # decoded bytes in this block (less than blocksize for a leftover)
    size_t nstreams       # separately compressed streams, one after another
    size_t stream_nbytes  # decoded bytes per stream
    size_t typesize
    int is_shuffled       # byte shuffle: stream bytes are planes of byte k of every unit


# c-blosc 1.x's split rules for one block of block_nbytes decoded bytes (see _blosc.pyx).
cdef void block_layout(BlockLayout* layout, unsigned char flags, size_t typesize,
                       size_t blocksize, size_t block_nbytes) noexcept nogil

# A flat uint8 view of a C- or F-contiguous array (TypeError / ValueError otherwise), and
# the ValueError for a negative code of the functions here (what names the caller).
cdef object byte_view(object arr, bint is_writeable)
cdef int check_code(int code, str what) except -1

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

# Decode block b into dst (room for blocksize bytes), with tmp (blocksize bytes) as scratch;
# with stream, dst is written with streaming stores (zf_copy.h; the caller fences).
# Returns the block's decoded size or a negative code.
cdef Py_ssize_t blosc_decode_block(const BloscBlocks* blocks, size_t b, unsigned char* dst,
                                   unsigned char* tmp, bint stream) noexcept nogil
