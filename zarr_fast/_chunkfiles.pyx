# cython: language_level=3, wraparound=False, cdivision=True, embedsignature=True
# boundscheck and initializedcheck come from setup.py's directives.
"""Chunk files: opening, sizing and reading them without the GIL, and writing them atomically.

The layer under ``_chunkio``'s kernels. ``acquire_chunk`` hands out one chunk's encoded bytes
(an in-memory frame, or the file read into the caller's scratch);
``ChunkFiles`` packs the keys of one read into a single buffer and opens the store folder
once, so each chunk is opened relative to it with no Python object per chunk;
``write_files`` writes encoded chunks to temporary files and renames them into place.

Callers guarantee: scratch buffers belong to one thread; paths are NUL-free (``ChunkFiles``
refuses keys holding NUL). Nothing read from a file is trusted here: sizes come from
``fstat`` and short reads are resumed or reported, never assumed.
"""
import numpy as np

from libc.errno cimport EINTR, ENOENT, ENOTDIR, errno
from libc.stdlib cimport calloc, free, malloc
from posix.fcntl cimport O_CLOEXEC, O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, open
from posix.stat cimport S_ISDIR, fstat, struct_stat
from posix.unistd cimport close, getpid, unlink, write

from zarr_fast._blosc cimport ERR_IO, ERR_SIZE
from zarr_fast._types cimport offset_t


cdef extern from "<stdlib.h>" nogil:
    int posix_memalign(void** memptr, size_t alignment, size_t size)


cdef void* alloc_lines(size_t n) noexcept nogil:
    # n bytes (at least one) starting on a 64-byte cache line, or NULL; free() releases them.
    # malloc's large blocks start 16 bytes past a page, and the kernel's copy into such a
    # buffer (every file read) runs at a fraction of its speed on some CPUs (zf_copy.h).
    cdef void* p = NULL
    if posix_memalign(&p, 64, n if n > 0 else 1) != 0:
        return NULL
    return p


cdef int reserve_bytes(unsigned char** buf, size_t* capacity, size_t n) noexcept nogil:
    # At least n bytes in *buf, on a cache line; what it held is not kept when it grows.
    cdef unsigned char* p
    if n <= capacity[0]:
        return 0
    p = <unsigned char*>alloc_lines(n)
    if p == NULL:
        return ERR_IO
    free(buf[0])
    buf[0] = p
    capacity[0] = n
    return 0


cdef int reserve_file(Scratch* s, size_t n) noexcept nogil:
    return reserve_bytes(&s.file, &s.file_capacity, n)


cdef int open_chunk(const Source* src, size_t* file_nbytes, int* err_no) noexcept nogil:
    # An open descriptor (>= 0), or -IS_MISSING / ERR_IO (negative) with err_no set.
    # Relative to the store's folder, opened once per read: the kernel walks one name.
    cdef int fd = openat(src.dirfd, src.path, O_RDONLY | O_CLOEXEC)
    cdef struct_stat st
    if fd < 0:
        err_no[0] = errno
        return -IS_MISSING if errno == ENOENT or errno == ENOTDIR else ERR_IO
    if fstat(fd, &st) != 0:
        err_no[0] = errno
        close(fd)
        return ERR_IO
    if S_ISDIR(st.st_mode):
        # a folder where a chunk would be is not a chunk (the store says KeyError too)
        close(fd)
        return -IS_MISSING
    file_nbytes[0] = <size_t>st.st_size
    return fd


cdef int preadv_all(int fd, iovec* iov, int count, size_t offset, int* err_no) noexcept nogil:
    # Fill every iovec from the file at offset on, resuming after short reads.
    cdef int i = 0
    cdef Py_ssize_t got
    cdef size_t left
    while i < count:
        got = preadv(fd, iov + i, count - i, <long>offset)
        if got < 0:
            if errno == EINTR:
                continue
            err_no[0] = errno
            return ERR_IO
        if got == 0:
            return ERR_SIZE      # the file shrank while we read it
        offset += <size_t>got
        left = <size_t>got
        while i < count and left >= iov[i].iov_len:
            left -= iov[i].iov_len
            i += 1
        if left:
            iov[i].iov_base = <char*>iov[i].iov_base + left
            iov[i].iov_len -= left
    return 0


cdef int read_all(int fd, unsigned char* buf, size_t nbytes, int* err_no) noexcept nogil:
    # The first nbytes of the file (a descriptor just opened), resuming after short reads.
    cdef iovec whole
    whole.iov_base = buf
    whole.iov_len = nbytes
    return preadv_all(fd, &whole, 1, 0, err_no) if nbytes else 0


cdef int acquire_chunk(Source* src, Scratch* s, Encoded* enc, int* err_no) noexcept nogil:
    # The encoded bytes of one chunk: its frame in memory, or its file read into s.file (a
    # reused buffer on a cache line). Files are read, never mapped: populating and unmapping
    # a mapping cost more than the copy it saves (1 GiB of raw chunks into a result: 144 ms
    # mapped against 101 ms read and copied, A/B on this session's VM), and a file truncated
    # under a mapping kills the process with SIGBUS where a read reports an error.
    # Returns 0, IS_MISSING or a negative error code.
    cdef size_t file_nbytes = 0
    cdef int fd, rc = 0
    if src.path == NULL:
        if src.frame == NULL:
            return IS_MISSING
        enc.data = src.frame
        enc.nbytes = src.frame_nbytes
        return 0
    fd = open_chunk(src, &file_nbytes, err_no)
    if fd < 0:
        return IS_MISSING if fd == -IS_MISSING else fd
    rc = reserve_file(s, file_nbytes if file_nbytes > 0 else 1)
    if rc == 0:
        rc = read_all(fd, s.file, file_nbytes, err_no)
    close(fd)
    enc.data = s.file
    enc.nbytes = file_nbytes
    return rc


cdef class ChunkFiles:
    """The chunk files of one read: a store folder and the keys below it, packed.

    One bytes buffer holds every key NUL-terminated, so a read of many small chunks makes
    no Python object per chunk, and the folder is opened once: each chunk is then opened
    relative to it. A folder that does not exist makes every chunk absent (fill value).
    Refuses keys holding NUL; raises OSError when the folder cannot be opened otherwise.
    """
    def __cinit__(self, bytes root, list keys):
        import os
        import sys
        self.dirfd = -1
        self.root = root
        self.count = len(keys)
        self.packed = ("\0".join(keys) + "\0").encode(sys.getfilesystemencoding(), "surrogateescape")
        ends = np.flatnonzero(np.frombuffer(self.packed, dtype=np.uint8) == 0)
        if ends.shape[0] != self.count:
            raise ValueError("chunk keys must not contain NUL")
        starts = np.empty(self.count + 1, dtype=np.int64)
        starts[0] = 0
        starts[1:] = ends + 1
        self.starts_arr = starts
        cdef const offset_t[::1] view = starts
        self.starts = &view[0]
        cdef const char* root_ptr = root
        with nogil:
            self.dirfd = open(root_ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if self.dirfd < 0 and errno != ENOENT and errno != ENOTDIR:
            error = errno
            raise OSError(error, os.strerror(error), os.fsdecode(root))

    def __dealloc__(self):
        if self.dirfd >= 0:
            close(self.dirfd)

    def __len__(self):
        return self.count

    def path(self, Py_ssize_t index):
        """The file path (bytes) of chunk ``index``."""
        if not 0 <= index < self.count:
            raise IndexError(index)
        return self.root + b"/" + self.packed[self.starts[index]:self.starts[index + 1] - 1]



cdef extern from "<stdio.h>" nogil:
    int rename(const char* old_path, const char* new_path)
    int snprintf(char* buf, size_t size, const char* fmt, ...)

cdef extern from "<pthread.h>" nogil:
    ctypedef unsigned long pthread_t
    pthread_t pthread_self()


cdef int _write_file(const char* path, const unsigned char* data, size_t nbytes,
                     char* temp_path, size_t temp_capacity, unsigned long long serial) noexcept nogil:
    # Write data to a fresh temporary file beside path, then rename it over path, so a
    # reader sees the old file or the new one, never a torn one. Returns 0 or an errno.
    cdef int fd, err = 0
    cdef size_t done = 0
    cdef Py_ssize_t put
    if <size_t>snprintf(temp_path, temp_capacity, "%s.%d.%lx.%llx.partial", path, getpid(),
                        <unsigned long>pthread_self(), serial) >= temp_capacity:
        return 36   # ENAMETOOLONG
    fd = open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    if fd < 0:
        return errno
    while done < nbytes:
        put = write(fd, data + done, nbytes - done)
        if put < 0:
            if errno == EINTR:
                continue
            err = errno
            break
        done += put
    if close(fd) != 0 and err == 0:
        err = errno
    if err == 0 and rename(temp_path, path) != 0:
        err = errno
    if err != 0:
        unlink(temp_path)
    return err


_serial = [0]


def write_files(list paths, list buffers):
    """Write ``buffers[i]`` to file ``paths[i]`` (bytes) atomically, without the GIL.

    Each file is written to a unique temporary name in the same folder and renamed into
    place. Returns ``[(i, errno), ...]`` for the files that failed (nothing of them is left
    behind; the caller may retry them through the store, which creates missing folders).
    """
    cdef Py_ssize_t i, n = len(paths)
    if len(buffers) != n:
        raise ValueError("paths and buffers differ in length")
    cdef const char** path_ptrs = <const char**>malloc(sizeof(char*) * (n + 1))
    cdef const unsigned char** data_ptrs = <const unsigned char**>malloc(sizeof(char*) * (n + 1))
    cdef size_t* sizes = <size_t*>malloc(sizeof(size_t) * (n + 1))
    cdef int* errs = <int*>calloc(n + 1, sizeof(int))
    cdef size_t longest = 0
    cdef char* temp_path = NULL
    cdef const unsigned char[::1] view
    cdef unsigned long long serial
    keep = []
    try:
        if path_ptrs == NULL or data_ptrs == NULL or sizes == NULL or errs == NULL:
            raise MemoryError()
        for i in range(n):
            path = paths[i]
            if not isinstance(path, bytes) or b"\0" in path:
                raise ValueError(f"file paths must be bytes without NUL, found {path!r}")
            view = memoryview(buffers[i]).cast("B")
            keep.append(view)
            path_ptrs[i] = <const char*>(<bytes>path)
            data_ptrs[i] = &view[0] if view.shape[0] else <const unsigned char*>b""
            sizes[i] = view.shape[0]
            longest = max(longest, len(path))
        temp_path = <char*>malloc(longest + 128)
        if temp_path == NULL:
            raise MemoryError()
        _serial[0] += n
        serial = _serial[0]
        with nogil:
            for i in range(n):
                errs[i] = _write_file(path_ptrs[i], data_ptrs[i], sizes[i], temp_path,
                                      longest + 128, serial + i)
        return [(i, errs[i]) for i in range(n) if errs[i] != 0]
    finally:
        free(path_ptrs)
        free(data_ptrs)
        free(sizes)
        free(errs)
        free(temp_path)
