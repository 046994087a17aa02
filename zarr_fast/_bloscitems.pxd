# C-level item decode of zarr_fast._bloscitems that _chunkio cimports (GIL released).
# Sizes are in bytes; both return 0 or one of _blosc's negative codes and never raise.
from libc.stdint cimport int64_t

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
