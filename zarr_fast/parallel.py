"""Run a batch of independent work items on the shared pool within the thread budget.

``run_ranges(task, nitems)`` splits ``range(nitems)`` into contiguous ranges (one per thread,
or several that the threads take in turn) and calls ``task(start, stop)`` for each, with at
most ``config.get_threads()`` running at once, so the budget bounds concurrency. The first
exception raised by any range is re-raised in the caller after every range has stopped
(ranges share a ``cancel`` event that tasks may poll to stop early); results come back in
range order.
"""
from __future__ import annotations

import threading

import numpy as np

from . import config

# per-thread scratch kept between calls up to this size (every thread that ever wrote keeps
# up to two such buffers); larger ones are allocated per use, where the fresh pages cost
# little beside encoding that much data
_MAX_KEPT_SCRATCH_NBYTES = 16 << 20
_scratch = threading.local()


class Cancelled(Exception):
    """Raised by a task that saw the batch's cancel event (never reaches the caller)."""


def split(nitems, nparts):
    """``nparts`` contiguous ``(start, stop)`` ranges covering ``range(nitems)``, sizes within one."""
    nparts = max(1, min(nparts, nitems))
    base, extra = divmod(nitems, nparts)
    ranges, start = [], 0
    for i in range(nparts):
        stop = start + base + (1 if i < extra else 0)
        ranges.append((start, stop))
        start = stop
    return ranges


def run_ranges(task, nitems, nthreads=None, min_items_per_range=1, pieces_per_thread=1):
    """Call ``task(start, stop, cancel)`` over ``range(nitems)`` split across the budget.

    Parameters
    ----------
    task : callable
        ``task(start, stop, cancel) -> result``; ``cancel`` is a ``threading.Event`` set as
        soon as another range failed, so long tasks can stop early.
    nitems : int
        Number of work items.
    nthreads : int, optional
        Budget to use (default: ``config.get_threads()``).
    min_items_per_range : int, optional
        Do not split finer than this (small batches run inline).
    pieces_per_thread : int, optional
        Split into this many ranges per thread, which the threads take in turn as each
        finishes one: a thread slowed by uneven chunks or by another process on its core
        leaves its remaining pieces to the others. Still at most ``nthreads`` at a time.

    Returns
    -------
    list
        The results of each range, in range order.
    """
    nthreads = config.get_threads() if nthreads is None else nthreads
    nworkers = min(nthreads, max(1, nitems // max(1, min_items_per_range)))
    cancel = threading.Event()
    if nworkers <= 1 or nitems <= 1:
        return [task(0, nitems, cancel)] if nitems else []
    ranges = split(nitems, nworkers * max(1, pieces_per_thread))
    pool = config.get_pool(nworkers)
    results = [None] * len(ranges)
    next_piece = iter(range(len(ranges)))
    lock = threading.Lock()

    def worker():
        while not cancel.is_set():
            with lock:
                index = next(next_piece, None)
            if index is None:
                return
            try:
                results[index] = task(*ranges[index], cancel)
            except BaseException:
                cancel.set()
                raise

    # the caller's thread works too: one fewer hand-off, same budget
    futures = [pool.submit(worker) for _ in range(nworkers - 1)]
    error = None
    try:
        worker()
    except BaseException as e:
        error = e
    for future in futures:
        try:
            future.result()
        except Cancelled:
            pass
        except BaseException as e:
            if error is None or isinstance(error, Cancelled):
                error = e
    if error is not None:
        raise error
    return results


def thread_scratch(slot, nbytes):
    """A uint8 array of ``nbytes`` owned by the calling thread, reused by its next call for
    the same ``slot``, so its pages are faulted in once (fresh pages cost the kernel a
    zeroing pass over them). The caller must be done with it before asking again."""
    kept = getattr(_scratch, slot, None)
    if kept is not None and kept.shape[0] >= nbytes:
        return kept[:nbytes]
    buffer = np.empty(nbytes, dtype=np.uint8)
    if nbytes <= _MAX_KEPT_SCRATCH_NBYTES:
        setattr(_scratch, slot, buffer)
    return buffer
