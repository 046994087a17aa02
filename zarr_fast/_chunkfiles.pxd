# Declarations of zarr_fast._chunkfiles that _chunkio cimports.
from zarr_fast._types cimport offset_t

cdef enum:
    IS_MISSING = 1           # not an error: the chunk is absent and reads as the fill value
    RUNS_PER_CALL = 1024     # Linux's IOV_MAX: iovecs one preadv may take


cdef extern from "<fcntl.h>" nogil:
    int openat(int dirfd, const char* path, int flags, ...)
    int AT_FDCWD
    int O_DIRECTORY


cdef extern from "<sys/uio.h>" nogil:
    struct iovec:
        void* iov_base
        size_t iov_len
    Py_ssize_t preadv(int fd, const iovec* iov, int iovcnt, long offset)


cdef struct Scratch:
    # per-call buffers of one thread, reused across its chunks so fresh pages are faulted
    # in once
    char* chunk              # one decoded chunk
    unsigned char* file      # one encoded chunk read from a file
    size_t file_capacity
    offset_t* items          # item byte offsets of a sparse orthogonal selection
    unsigned char* window    # decoded blocks of one chunk (see _chunkio._scatter_by_blocks)
    size_t window_capacity
    unsigned char* planes    # one block's shuffled planes
    size_t planes_capacity
    unsigned char* pairs     # points of one chunk sorted by block (_gather_points_by_blocks)
    size_t pairs_capacity


cdef struct Source:
    int dirfd                        # the folder path is relative to (or AT_FDCWD)
    const char* path                 # a chunk file, or NULL
    const unsigned char* frame       # an in-memory encoded chunk, or NULL
    size_t frame_nbytes


cdef struct Encoded:
    const unsigned char* data
    size_t nbytes


# n bytes on a 64-byte line (free() them), or NULL; *buf grown to at least n bytes on one
# (its contents not kept): 0, or ERR_IO when out of memory.
cdef void* alloc_lines(size_t n) noexcept nogil
cdef int reserve_bytes(unsigned char** buf, size_t* capacity, size_t n) noexcept nogil
cdef int reserve_file(Scratch* s, size_t n) noexcept nogil
# An open descriptor (>= 0) of the chunk's file, or -IS_MISSING / ERR_IO with err_no set.
cdef int open_chunk(const Source* src, size_t* file_nbytes, int* err_no) noexcept nogil
# Fill every iovec from the file at offset on, resuming short reads: 0, ERR_IO or ERR_SIZE.
cdef int preadv_all(int fd, iovec* iov, int count, size_t offset, int* err_no) noexcept nogil
cdef int read_all(int fd, unsigned char* buf, size_t nbytes, int* err_no) noexcept nogil
# One chunk's encoded bytes into *enc (its in-memory frame, or its file read into s.file):
# 0, IS_MISSING or a negative error code.
cdef int acquire_chunk(Source* src, Scratch* s, Encoded* enc, int* err_no) noexcept nogil


cdef class ChunkFiles:
    cdef readonly bytes root
    cdef bytes packed
    cdef object starts_arr
    cdef const offset_t* starts
    cdef int dirfd
    cdef Py_ssize_t count
