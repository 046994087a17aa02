"""Runtime settings: the one thread budget every parallel chunk operation draws from.

The budget defaults to the CPUs available to this process (``os.sched_getaffinity``), can be
set with the ``ZARR_FAST_THREADS`` environment variable, with ``set_threads(n)``, or for a
block with ``with zarr_fast.config.threads(n):``. The worker pool is created lazily, resized
when the budget changes, and replaced by a fresh one in a child after ``fork``.

An optional decoded-chunk cache, off by default (``ZARR_FAST_CHUNK_CACHE_BYTES`` or
``set_chunk_cache_bytes``), bounds in bytes what each array keeps to serve repeated
single-item reads of hot chunks.

Large read results (32 MiB and more) are made on pages kept from earlier results that were
freed, so a loop of large reads does not fault in and zero a new result every time
(``_resultpool``). Kept pages are lent back to the kernel (``MADV_FREE``), which reclaims them
under memory pressure; the pool keeps at most an eighth of physical memory, for at most 10 s
(``ZARR_FAST_RESULT_POOL_BYTES`` or ``set_result_pool_bytes``; 0 turns it off), and
``release_result_pool()`` unmaps what it holds.
"""
from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from . import _resultpool

ENV_THREADS = "ZARR_FAST_THREADS"
ENV_CHUNK_CACHE = "ZARR_FAST_CHUNK_CACHE_BYTES"
ENV_RESULT_POOL = "ZARR_FAST_RESULT_POOL_BYTES"


def _available_cpus():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _budget_from_env():
    value = os.environ.get(ENV_THREADS)
    if value is None or value.strip() == "":
        return _available_cpus()
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{ENV_THREADS} must be a positive integer, found {value!r}") from None
    if n < 1:
        raise ValueError(f"{ENV_THREADS} must be a positive integer, found {value!r}")
    return n


class _State(threading.local):
    """Per-thread override stack, so ``threads(n)`` in one thread does not leak into another."""

    def __init__(self):
        self.override = None


_state = _State()
_global_threads = _budget_from_env()
_pool = None
_pool_size = 0
_pool_lock = threading.Lock()


def get_threads() -> int:
    """The thread budget in force in the calling thread."""
    return _state.override if _state.override is not None else _global_threads


def set_threads(n: int) -> None:
    """Set the process-wide thread budget (>= 1)."""
    global _global_threads
    _global_threads = _check_threads(n)


def _check_threads(n):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the thread budget must be a positive integer, found {n!r}")
    return n


@contextlib.contextmanager
def threads(n: int):
    """Use a budget of ``n`` threads for the operations run inside the block (this thread only)."""
    previous = _state.override
    _state.override = _check_threads(n)
    try:
        yield n
    finally:
        _state.override = previous


def _bytes_from_env(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a non-negative integer, found {value!r}") from None
    if n < 0:
        raise ValueError(f"{name} must be a non-negative integer, found {value!r}")
    return n


def _check_nbytes(what, n):
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{what} must be a non-negative integer, found {n!r}")
    return n


_chunk_cache_bytes = _bytes_from_env(ENV_CHUNK_CACHE, 0)


def get_chunk_cache_bytes() -> int:
    """Bytes of decoded chunks each array may keep for repeated single-item reads (0: off)."""
    return _chunk_cache_bytes


def set_chunk_cache_bytes(n: int) -> None:
    """Bound each array's decoded-chunk cache to ``n`` bytes (0 turns it off)."""
    global _chunk_cache_bytes
    _chunk_cache_bytes = _check_nbytes("the chunk cache size", n)


def _physical_memory_nbytes():
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 0


_resultpool.configure(_bytes_from_env(ENV_RESULT_POOL, _physical_memory_nbytes() // 8))


def get_result_pool_bytes() -> int:
    """Bytes of freed large results kept to serve the next ones (0: off)."""
    return _resultpool.stats()["limit_nbytes"]


def set_result_pool_bytes(n: int) -> None:
    """Keep at most ``n`` bytes of freed large results for reuse (0 turns the pool off)."""
    _resultpool.configure(_check_nbytes("the result pool size", n))


def release_result_pool() -> None:
    """Hand every kept result page back to the kernel now."""
    _resultpool.release()


def get_pool(nthreads: int) -> ThreadPoolExecutor:
    """The shared worker pool, grown to at least ``nthreads`` workers.

    Callers submit at most ``nthreads`` tasks at a time, so the budget bounds concurrency even
    when the pool is larger (it never shrinks, so threads are not churned).
    """
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < nthreads:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=nthreads, thread_name_prefix="zarr_fast")
            _pool_size = nthreads
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def _reset_after_fork():
    # the parent's worker threads do not exist in the child: start from a fresh pool
    global _pool, _pool_size, _pool_lock
    _pool = None
    _pool_size = 0
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
