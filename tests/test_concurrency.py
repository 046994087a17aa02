"""Concurrent readers and writers of one array, in threads and processes.

1. Readers never see a torn chunk while writers replace whole chunks (directory store).
2. Writers of interleaved, unaligned element sets that share chunks lose no update with a
   synchronizer (every element ends at its writer's last round), over every write path; without
   one the same workload loses updates (shown, not asserted strictly).
3. ``append`` from several processes: exact final length, every block present once, intact.

Processes start with "forkserver" (or "spawn"): a fork would copy this process's thread pool.
Every wait is bounded, so a deadlock fails the test instead of hanging the suite.
"""
import threading
import time

import numpy as np
import pytest

import zarr_fast
from zarr_fast.storage import DirectoryStore
from zarr_fast.sync import ProcessSynchronizer, ThreadSynchronizer


def _start(ctx, target, args_list):
    procs = [ctx.Process(target=target, args=args) for args in args_list]
    for p in procs:
        p.start()
    return procs


def _join(procs, threads=(), timeout=18.0):
    """Wait for all workers at most ``timeout`` s in all; processes must exit 0."""
    deadline = time.monotonic() + timeout
    try:
        for w in list(procs) + list(threads):
            w.join(max(0.0, deadline - time.monotonic()))
        assert not any(w.is_alive() for w in list(procs) + list(threads)), "a worker did not finish in time"
        assert [p.exitcode for p in procs] == [0] * len(procs)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(1)


# ------------------------------------------------------------- 1. readers vs chunk writers

SHAPE, CHUNKS = (32, 24), (8, 6)
NROUNDS_ALIGNED = 10


def _chunk_grid():
    return [(i, j) for i in range(SHAPE[0] // CHUNKS[0]) for j in range(SHAPE[1] // CHUNKS[1])]


def _chunk_region(i, j):
    return slice(i * CHUNKS[0], (i + 1) * CHUNKS[0]), slice(j * CHUNKS[1], (j + 1) * CHUNKS[1])


def _check_snapshot(data, last_rounds):
    """Count torn or impossible chunks in one full read; track each chunk's round (never back)."""
    nrows, ncols = SHAPE[0] // CHUNKS[0], SHAPE[1] // CHUNKS[1]
    blocks = data.reshape(nrows, CHUNKS[0], ncols, CHUNKS[1]).transpose(0, 2, 1, 3).reshape(nrows * ncols, -1)
    first = blocks[:, 0]
    chunk_ids, rounds = np.divmod(first, 1000)
    is_bad = (
        (blocks != first[:, None]).any(axis=1)       # torn: two versions inside one chunk
        | (chunk_ids != np.arange(len(first)))
        | (rounds > NROUNDS_ALIGNED)
        | (rounds < last_rounds)                     # a replaced chunk never goes back a round
    )
    np.maximum(last_rounds, rounds, out=last_rounds)
    return int(is_bad.sum())


def _read_until(path, stop, results):
    z = zarr_fast.open_array(path, mode="r")
    last_rounds = np.zeros(len(_chunk_grid()), dtype=np.int64)
    reads = bad = 0
    while True:
        is_last = stop.is_set()
        bad += _check_snapshot(z[...], last_rounds)
        reads += 1
        if is_last:
            break
    results.put((reads, bad))


def _write_chunks_of(path, owner, nowners):
    z = zarr_fast.open_array(path, mode="r+")
    for rnd in range(1, NROUNDS_ALIGNED + 1):
        for n, (i, j) in enumerate(_chunk_grid()):
            if n % nowners == owner:
                z[_chunk_region(i, j)] = n * 1000 + rnd


def test_readers_never_see_torn_chunks(tmp_path, mp_context):
    path = str(tmp_path / "a.zarr")
    z = zarr_fast.open_array(path, mode="w", shape=SHAPE, chunks=CHUNKS, dtype="i4")
    for n, (i, j) in enumerate(_chunk_grid()):
        z[_chunk_region(i, j)] = n * 1000
    ctx = mp_context
    stop, results = ctx.Event(), ctx.Queue()
    nowners = 3  # two writer threads here, one writer process
    reader_procs = _start(ctx, _read_until, [(path, stop, results)] * 2)
    writer_procs = _start(ctx, _write_chunks_of, [(path, 2, nowners)])
    reader_threads = [threading.Thread(target=_read_until, args=(path, stop, results)) for _ in range(2)]
    writer_threads = [threading.Thread(target=_write_chunks_of, args=(path, w, nowners)) for w in range(2)]
    for t in reader_threads + writer_threads:
        t.start()
    try:
        _join(writer_procs, writer_threads, timeout=15)
    finally:
        stop.set()
    _join(reader_procs, reader_threads, timeout=10)
    stats = [results.get(timeout=5) for _ in range(4)]
    assert sum(bad for _, bad in stats) == 0, stats
    assert all(reads >= 1 for reads, _ in stats)
    final = zarr_fast.open_array(path, mode="r")[...]
    for n, (i, j) in enumerate(_chunk_grid()):
        assert (final[_chunk_region(i, j)] == n * 1000 + NROUNDS_ALIGNED).all()


# -------------------------------------------- 2. interleaved writers sharing unaligned chunks

NWRITERS = 3
NROUNDS = 12
ROWS_INTERLEAVED = 18  # rows 0..17: writer w owns columns w::NWRITERS (every chunk is shared)
BAND = 5               # rows 18..32: writer w owns rows [18 + 5w, 23 + 5w), straddling chunk rows
SHARED_SHAPE, SHARED_CHUNKS = (ROWS_INTERLEAVED + NWRITERS * BAND, 20), (7, 6)
# each round a writer stores its interleaved set through one of these paths, then its band
PATHS = ("oindex", "vindex", "mask", "basic")


def _owned_mask(w):
    mask = np.zeros(SHARED_SHAPE, dtype=bool)
    mask[:ROWS_INTERLEAVED, w::NWRITERS] = True
    mask[ROWS_INTERLEAVED + w * BAND:ROWS_INTERLEAVED + (w + 1) * BAND, :] = True
    return mask


def _write_rounds(z, w, start=None):
    """Writer ``w``'s workload: ``NROUNDS`` rounds of its own elements, value w*1000 + round."""
    rows = np.arange(ROWS_INTERLEAVED)
    cols = np.arange(w, SHARED_SHAPE[1], NWRITERS)
    interleaved = np.zeros(SHARED_SHAPE, dtype=bool)
    interleaved[:ROWS_INTERLEAVED, w::NWRITERS] = True
    coords = np.nonzero(interleaved)
    band = slice(ROWS_INTERLEAVED + w * BAND, ROWS_INTERLEAVED + (w + 1) * BAND)
    if start is not None:
        start.wait(10)
    for rnd in range(1, NROUNDS + 1):
        value = w * 1000 + rnd
        path = PATHS[rnd % len(PATHS)]
        if path == "oindex":
            z.oindex[rows, cols] = value
        elif path == "vindex":
            z.vindex[coords] = np.full(len(coords[0]), value, dtype=z.dtype)
        elif path == "mask":
            z.set_mask_selection(interleaved, value)
        else:
            z[:ROWS_INTERLEAVED, w::NWRITERS] = value  # basic selection, step > 1
        z[band, :] = np.full((BAND, SHARED_SHAPE[1]), value, dtype=z.dtype)


def _writer_process(path, w, sync_path, start):
    sync = ProcessSynchronizer(sync_path) if sync_path is not None else None
    z = zarr_fast.open_array(path, mode="r+", synchronizer=sync)
    _write_rounds(z, w, start)


def _lost_updates(path):
    """Elements not holding their writer's last round value, and the total owned."""
    data = zarr_fast.open_array(path, mode="r")[...]
    lost = owned = 0
    for w in range(NWRITERS):
        mask = _owned_mask(w)
        owned += int(mask.sum())
        lost += int((data[mask] != w * 1000 + NROUNDS).sum())
    return lost, owned


def _make_shared(path):
    # fill 0: an element never written (or written and then lost to a stale chunk) shows as 0
    zarr_fast.open_array(path, mode="w", shape=SHARED_SHAPE, chunks=SHARED_CHUNKS, dtype="i4", fill_value=0)


def _run_writer_processes(tmp_path, sync_path, mp_context):
    path = str(tmp_path / "shared.zarr")
    _make_shared(path)
    ctx = mp_context
    start = ctx.Barrier(NWRITERS)
    procs = _start(ctx, _writer_process, [(path, w, sync_path, start) for w in range(NWRITERS)])
    _join(procs, timeout=18)
    return _lost_updates(path)


def test_interleaved_writers_processes_lose_nothing(tmp_path, mp_context):
    lost, owned = _run_writer_processes(tmp_path, str(tmp_path / "sync"), mp_context)
    # writers=3, regions: 18x20 interleaved columns + three 5-row bands over 7x6 chunks,
    # updates = 3 writers x 12 rounds x 2 writes (interleaved via oindex/vindex/mask/basic + band)
    assert (lost, owned) == (0, SHARED_SHAPE[0] * SHARED_SHAPE[1])


def test_interleaved_writers_threads_lose_nothing():
    # threads of one process; a store without the directory fast path, so old chunks are
    # fetched per batch under the locks (the process test covers the directory store's path)
    store = zarr_fast.storage.MemoryStore()
    z0 = zarr_fast.open_array(store, mode="w", shape=SHARED_SHAPE, chunks=SHARED_CHUNKS, dtype="i4", fill_value=0)
    sync = ThreadSynchronizer()
    start = threading.Barrier(NWRITERS)
    threads = [
        threading.Thread(target=_write_rounds, args=(zarr_fast.open_array(store, mode="r+", synchronizer=sync), w, start))
        for w in range(NWRITERS)
    ]
    for t in threads:
        t.start()
    _join([], threads, timeout=18)
    data = z0[...]
    for w in range(NWRITERS):
        assert (data[_owned_mask(w)] == w * 1000 + NROUNDS).all()


@pytest.mark.xfail(strict=False, reason="a race: usually loses updates, but timing may spare it")
def test_without_synchronizer_updates_are_lost(tmp_path, mp_context):
    # Seen on a shared 2-core machine (load ~7): 50, 54, 108, 184 of 660 elements lost in 4 runs.
    lost, owned = _run_writer_processes(tmp_path, None, mp_context)
    assert lost > 0, f"no update lost this time ({owned} elements)"


# --------------------------------------------------------------------- 3. parallel appends

NAPPENDERS, NBLOCKS = 3, 8


def _block_length(w, j):
    return 1 + (w * 3 + j) % 5  # 1..5 rows: appends straddle the 4-row chunks


def _appender(path, sync_path, w, start):
    z = zarr_fast.open_array(path, mode="a", synchronizer=ProcessSynchronizer(sync_path))
    start.wait(10)
    for j in range(NBLOCKS):
        n = _block_length(w, j)
        block = np.empty((n, 3), dtype="i4")
        block[:, 0] = w * 100 + j + 1  # block id (0 is the fill value)
        block[:, 1] = np.arange(n)     # row inside the block: detects torn or reordered blocks
        block[:, 2] = n
        z.append(block)


def test_parallel_appends_keep_every_block(tmp_path, mp_context):
    path = str(tmp_path / "log.zarr")
    zarr_fast.open_array(path, mode="w", shape=(0, 3), chunks=(4, 3), dtype="i4", fill_value=0)
    ctx = mp_context
    start = ctx.Barrier(NAPPENDERS)
    procs = _start(ctx, _appender, [(path, str(tmp_path / "sync"), w, start) for w in range(NAPPENDERS)])
    _join(procs, timeout=18)
    data = zarr_fast.open_array(path, mode="r")[...]
    expected = {w * 100 + j + 1: _block_length(w, j) for w in range(NAPPENDERS) for j in range(NBLOCKS)}
    assert data.shape == (sum(expected.values()), 3)
    seen, row = [], 0
    while row < data.shape[0]:
        block_id, n = int(data[row, 0]), int(data[row, 2])
        assert expected.get(block_id) == n, (row, data[row])
        block = data[row:row + n]
        assert (block[:, 0] == block_id).all() and (block[:, 2] == n).all()
        np.testing.assert_array_equal(block[:, 1], np.arange(n))
        seen.append(block_id)
        row += n
    assert sorted(seen) == sorted(expected)
    # each writer's blocks appear in the order it appended them
    for w in range(NAPPENDERS):
        mine = [b for b in seen if b // 100 == w]
        assert mine == sorted(mine)


# ------------------------------------------------------------- other write paths, deadlocks

def test_field_writers_lose_nothing(tmp_path):
    # writer w rewrites field f{w} of every element: each write merges into every chunk
    dtype = np.dtype([("f0", "i4"), ("f1", "i4"), ("f2", "i4")])
    store = DirectoryStore(str(tmp_path / "fields.zarr"))
    zarr_fast.open_array(store, mode="w", shape=(30, 7), chunks=(8, 3), dtype=dtype)
    sync = ThreadSynchronizer()

    def write(w):
        z = zarr_fast.open_array(store, mode="r+", synchronizer=sync)
        for rnd in range(1, 9):
            if rnd % 2:
                z.set_basic_selection(Ellipsis, w * 1000 + rnd, fields=f"f{w}")
            else:
                z.set_orthogonal_selection((slice(None), [0, 1, 2, 3, 4, 5, 6]), w * 1000 + rnd, fields=f"f{w}")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    _join([], threads, timeout=15)
    data = zarr_fast.open_array(store, mode="r")[...]
    for w in range(3):
        assert (data[f"f{w}"] == w * 1000 + 8).all()


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_writers_locking_many_chunks_in_opposite_orders_finish(tmp_path, kind):
    # 100 chunks: more than one lock batch (64); the two writers list the chunks in opposite orders
    sync = ThreadSynchronizer() if kind == "thread" else ProcessSynchronizer(str(tmp_path / "sync"))
    n = 100
    z = zarr_fast.open_array(str(tmp_path / "a.zarr"), mode="w", shape=(n, 2), chunks=(1, 2), dtype="i4")
    ascending, descending = np.arange(n), np.arange(n)[::-1]

    def write(column, index):
        a = zarr_fast.open_array(str(tmp_path / "a.zarr"), mode="r+", synchronizer=sync)
        for rnd in range(1, 3):
            a.vindex[index, np.full(n, column)] = index * 10 + rnd

    threads = [threading.Thread(target=write, args=(0, ascending)), threading.Thread(target=write, args=(1, descending))]
    for t in threads:
        t.start()
    _join([], threads, timeout=15)
    np.testing.assert_array_equal(z[...], np.stack([np.arange(n) * 10 + 2] * 2, axis=1))
