# cython: language_level=3, wraparound=False, cdivision=True, embedsignature=True
# boundscheck and initializedcheck come from setup.py's directives.
"""Large read results on reused pages: the NumPy allocator of ``csrc/zf_resultpool.h``.

``empty`` is ``np.empty`` for a read's result. At ``MIN_NBYTES`` and more it makes the array
with the pool's NumPy handler in force (NEP 49), so the array is an ordinary one (it owns
its data, ``base`` is None, tracemalloc sees it) whose pages go back to the pool when it
dies and serve the next result of about the same size without a page fault. Smaller
results, and object arrays (NumPy zeroes those), keep NumPy's own allocator.
``config.set_result_pool_bytes`` sets the pool's limit (0 turns it off).
"""
import math

import numpy as np

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_New

cnp.import_array()


cdef extern from "zf_resultpool.h":
    ctypedef struct zf_pool_state:
        size_t limit_nbytes
        double decay_s
        size_t pooled_nbytes
        int count
        unsigned long long hits
        unsigned long long misses
        unsigned long long mapped
        unsigned long long unmapped
    ctypedef struct PyDataMem_Handler:
        pass
    int ZF_POOL_SUPPORTED
    PyDataMem_Handler zf_pool_handler
    int zf_pool_init()
    void zf_pool_configure(size_t limit_nbytes, double decay_s)
    void zf_pool_drop(int everything)
    zf_pool_state zf_pool_stats()


cdef extern from "numpy/arrayobject.h":
    object PyDataMem_SetHandler(object handler)


# glibc already reuses what it frees below its largest mmap threshold (32 MiB)
MIN_NBYTES = 32 << 20
SUPPORTED = bool(ZF_POOL_SUPPORTED)

if SUPPORTED and zf_pool_init() != 0:
    raise ImportError("zarr_fast._resultpool: pthread_atfork failed")
_HANDLER = PyCapsule_New(<void*>&zf_pool_handler, b"mem_handler", NULL) if SUPPORTED else None


def empty(shape, dtype, order="C"):
    """``np.empty(shape, dtype, order)``, on pooled pages when it is large."""
    dtype = np.dtype(dtype)
    try:
        dims = tuple(shape)
    except TypeError:  # one dimension, as NumPy takes it
        dims = (shape,)
    if (_HANDLER is None or dtype.hasobject or zf_pool_stats().limit_nbytes == 0
            or math.prod(dims) * dtype.itemsize < MIN_NBYTES):
        zf_pool_drop(0)  # so that blocks do not outlive the decay while only small reads run
        return np.empty(dims, dtype=dtype, order=order)
    previous = PyDataMem_SetHandler(_HANDLER)
    try:
        return np.empty(dims, dtype=dtype, order=order)
    finally:
        PyDataMem_SetHandler(previous)


def configure(limit_nbytes, decay_s=10.0):
    """Keep at most ``limit_nbytes`` of freed results, each for at most ``decay_s`` seconds."""
    if limit_nbytes < 0 or decay_s < 0:
        raise ValueError("the result pool's limit and decay must be non-negative")
    zf_pool_configure(limit_nbytes, decay_s)


def release():
    """Unmap every block the pool keeps."""
    zf_pool_drop(1)


def stats():
    """The pool's settings and counters, as a dict."""
    cdef zf_pool_state s = zf_pool_stats()
    return {
        "supported": SUPPORTED, "limit_nbytes": s.limit_nbytes, "decay_s": s.decay_s,
        "pooled_nbytes": s.pooled_nbytes, "pooled_blocks": s.count, "hits": s.hits,
        "misses": s.misses, "mapped": s.mapped, "unmapped": s.unmapped,
    }
