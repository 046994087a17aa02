"""Thread safety of the chunk pipeline, through the public API only.

Written against ``zarr_fast.open_array`` and ``zarr_fast.config.threads`` so it holds for
any correct pipeline, serial or parallel: results must not depend on the thread budget,
the budget must bound concurrent store calls, no threads may leak, worker errors must reach
the caller, a failed write must never tear a chunk, a forked child must work, and one Array
must serve many reader threads at once.

Every test runs under a SIGALRM deadline, so a deadlock fails the test instead of hanging
the suite (lock waits are interrupted by signals on POSIX).
"""
import hashlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import MutableMapping

import numpy as np
import pytest
from numcodecs import Blosc, Zlib

import zarr_fast
from zarr_fast.config import threads
from zarr_fast.errors import ChunkDecodeError

BUDGETS = (1, 2, 8)
DEADLINE_S = 30


@pytest.fixture(autouse=True)
def deadline():
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise TimeoutError(f"test still running after {DEADLINE_S} s (deadlock?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(DEADLINE_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- data ---------------------------------------------------------------------------------

STRUCT = np.dtype([("a", "<i4"), ("b", "<f8", (2,)), ("c", "S3")])

COMPRESSORS = {
    "blosc": Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),
    "zlib": Zlib(level=1),
    "none": None,
}

# (dtype, shape, chunks): edge chunks on every axis, 64x64 chunks, many tiny chunks
LAYOUTS = [
    ("<i4", (97, 131), (10, 17)),
    (">f8", (200, 300), (64, 64)),
    ("u1", (64, 64), (4, 4)),
    ("<c8", (33, 20), (8, 7)),
    ("?", (50, 61), (16, 16)),
    ("M8[s]", (40, 45), (9, 10)),
    (STRUCT, (37, 29), (8, 6)),
    ("<u2", (7, 11, 13), (3, 4, 5)),
]

# writes touch every file three times per budget: 8x8 chunks keep the tiny-chunk case quick
WRITE_LAYOUTS = LAYOUTS[:2] + [("u1", (64, 64), (8, 8))] + LAYOUTS[6:]


def _values(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    if dtype.fields:
        out = np.zeros(n, dtype)
        out["a"] = rng.integers(-1000, 1000, n)
        out["b"] = rng.standard_normal((n, 2))
        out["c"] = rng.choice([b"x", b"yz", b"abc", b""], n)
        return out.reshape(shape)
    if dtype.kind == "M":
        return rng.integers(0, 2**31, n).astype(dtype).reshape(shape)
    if dtype.kind == "b":
        return (rng.random(n) < 0.3).reshape(shape)
    if dtype.kind == "c":
        return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dtype).reshape(shape)
    if dtype.kind == "f":
        return rng.standard_normal(n).astype(dtype).reshape(shape)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, n, endpoint=True).astype(dtype).reshape(shape)


def _fill(dtype):
    dtype = np.dtype(dtype)
    return None if dtype.fields else np.zeros((), dtype)[()]


def _create(store, data, chunks, order, compressor, fill_value=0):
    arr = zarr_fast.open_array(
        store, mode="w", shape=data.shape, chunks=chunks, dtype=data.dtype,
        compressor=COMPRESSORS[compressor], fill_value=fill_value, order=order,
    )
    return arr


def _selections(shape):
    """Named selections of every kind the pipeline serves, valid for ``shape``."""
    rng = np.random.default_rng(1)
    window = tuple(slice(1, max(2, d - 2), 2 if i == 0 else 1) for i, d in enumerate(shape))
    oindex = tuple(np.sort(rng.choice(d, size=min(d, 7), replace=False)) for d in shape)
    points = tuple(rng.integers(0, d, 40) for d in shape)
    mask = rng.random(shape[0]) < 0.4
    return {
        "whole": ("basic", Ellipsis),
        "window": ("basic", window),
        "row": ("basic", (shape[0] // 2,)),
        "oindex": ("oindex", oindex),
        "oindex_mask": ("oindex", (mask,) + tuple(slice(None) for _ in shape[1:])),
        "vindex": ("vindex", points),
    }


def _read(arr, kind, sel):
    if kind == "basic":
        return arr[sel]
    return getattr(arr, kind)[sel]


def _expected(data, kind, sel):
    if kind == "oindex":
        return data[np.ix_(*[np.arange(d)[s] for d, s in zip(data.shape, sel)])]
    return data[sel]


def _as_bytes(value):
    # values in C order: a read may return the array's order, which NumPy's result lacks
    value = np.asarray(value)
    return value.dtype.str, value.shape, value.tobytes(order="C")


def _layout(value):
    value = np.asarray(value)
    return value.flags.c_contiguous, value.flags.f_contiguous


def _store_digest(root):
    out = {}
    for dir_path, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dir_path, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


# -- results do not depend on the budget --------------------------------------------------


@pytest.mark.parametrize("compressor", sorted(COMPRESSORS))
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype, shape, chunks", LAYOUTS, ids=lambda v: str(v))
def test_reads_are_identical_for_every_budget(tmp_path, dtype, shape, chunks, order, compressor):
    data = _values(dtype, shape)
    arr = _create(str(tmp_path / "a"), data, chunks, order, compressor, _fill(dtype))
    with threads(1):
        arr[...] = data
    for name, (kind, sel) in _selections(shape).items():
        expected = _expected(data, kind, sel)
        results, layouts = {}, {}
        for n in BUDGETS:
            with threads(n):
                got = _read(arr, kind, sel)
            results[n], layouts[n] = _as_bytes(got), _layout(got)
        assert results[1] == _as_bytes(expected), name
        assert results[2] == results[1] == results[8], name
        assert layouts[2] == layouts[1] == layouts[8], name


@pytest.mark.parametrize("compressor", sorted(COMPRESSORS))
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype, shape, chunks", WRITE_LAYOUTS, ids=lambda v: str(v))
def test_writes_give_byte_identical_stores_for_every_budget(tmp_path, dtype, shape, chunks, order,
                                                             compressor):
    data = _values(dtype, shape, seed=2)
    update = _values(dtype, shape, seed=3)
    sels = _selections(shape)
    digests, contents = {}, {}
    for n in BUDGETS:
        root = str(tmp_path / f"t{n}")
        with threads(n):
            arr = _create(root, data, chunks, order, compressor, _fill(dtype))
            arr[...] = data
            kind, sel = sels["window"]
            arr[sel] = update[sel]
            kind, sel = sels["oindex"]
            arr.oindex[sel] = _expected(update, kind, sel)
            kind, sel = sels["vindex"]
            arr.vindex[sel] = update[sel]
            contents[n] = _as_bytes(arr[...])
        digests[n] = _store_digest(root)
    expected = data.copy()
    for kind, sel in (sels["window"], sels["oindex"], sels["vindex"]):
        if kind == "oindex":
            expected[np.ix_(*sel)] = update[np.ix_(*sel)]
        else:
            expected[sel] = update[sel]
    assert contents[1] == _as_bytes(expected)
    assert contents[2] == contents[1] == contents[8]
    assert digests[2] == digests[1] == digests[8]
    assert len(digests[1]) > 1


# -- the budget bounds concurrency; no threads leak ----------------------------------------


class CountingStore(MutableMapping):
    """A dict-backed store that records how many of its calls overlap in time."""

    def __init__(self, delay=0.002):
        self.data = {}
        self.delay = delay
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def _enter(self):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def _exit(self):
        with self.lock:
            self.active -= 1

    def reset(self):
        with self.lock:
            self.peak = 0

    def __getitem__(self, key):
        self._enter()
        try:
            if not key.startswith("."):
                time.sleep(self.delay)  # a slow device, so overlapping calls really overlap
            return self.data[key]
        finally:
            self._exit()

    def getitems(self, keys, *, contexts=None):
        out = {}
        for key in keys:
            try:
                out[key] = self[key]
            except KeyError:
                pass
        return out

    def __setitem__(self, key, value):
        self._enter()
        try:
            if not key.startswith("."):
                time.sleep(self.delay)
            self.data[key] = bytes(value)
        finally:
            self._exit()

    def __delitem__(self, key):
        del self.data[key]

    def __iter__(self):
        return iter(list(self.data))

    def __len__(self):
        return len(self.data)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_budget_bounds_concurrent_store_calls(n):
    store = CountingStore()
    data = _values("<i4", (64, 64))
    arr = _create(store, data, (8, 8), "C", "blosc")
    with threads(n):
        store.reset()
        arr[...] = data
        assert 1 <= store.peak <= n
        store.reset()
        assert np.array_equal(arr[...], data)
        assert np.array_equal(arr.oindex[[1, 9, 40], :], data[[1, 9, 40], :])
        assert np.array_equal(arr.vindex[[0, 63], [5, 60]], data[[0, 63], [5, 60]])
        assert 1 <= store.peak <= n
        store.reset()
        arr[3:61, 5:59] = data[3:61, 5:59] + 1  # partial chunks: read, then write
        assert 1 <= store.peak <= n


@pytest.mark.parametrize("n", [1, 2, 3])
def test_budget_bounds_directory_store_file_reads(tmp_path, n):
    # the directory store reads files in parallel itself: the budget must still hold when
    # the pipeline and the store both draw on it (``_fromfile`` is zarr 2.18's subclass hook)
    active, peak, lock = [0], [0], threading.Lock()

    class SlowFiles(zarr_fast.DirectoryStore):
        @staticmethod
        def _fromfile(fn):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            try:
                time.sleep(0.002)
                with open(fn, "rb") as f:
                    return f.read()
            finally:
                with lock:
                    active[0] -= 1

    data = _values("<i4", (64, 64))
    arr = _create(SlowFiles(str(tmp_path / "a")), data, (8, 8), "C", "zlib")
    arr[...] = data
    with threads(n):
        peak[0] = 0
        assert np.array_equal(arr[...], data)
        assert np.array_equal(arr[3:61, 2:50], data[3:61, 2:50])
    assert peak[0] <= n


def _extra_threads(baseline):
    return [t for t in threading.enumerate() if t.ident not in baseline and t.is_alive()]


def _settled_extra(baseline, limit, wait_s=3.0):
    # a pool replaced when the budget grew lets its idle workers exit asynchronously
    deadline = time.monotonic() + wait_s
    extra = _extra_threads(baseline)
    while len(extra) > limit and time.monotonic() < deadline:
        time.sleep(0.02)
        extra = _extra_threads(baseline)
    return extra


def test_no_leaked_threads(tmp_path):
    baseline = {t.ident for t in threading.enumerate() if not t.name.startswith("zarr_fast")}
    data = _values("<f8", (128, 128))
    arr = _create(str(tmp_path / "a"), data, (16, 16), "C", "blosc")
    largest = max(BUDGETS)

    def work():
        for n in BUDGETS:
            with threads(n):
                arr[...] = data
                assert np.array_equal(arr[...], data)
                assert np.array_equal(arr.oindex[::3, [1, 2, 50]], data[::3][:, [1, 2, 50]])

    work()
    first = _settled_extra(baseline, largest)
    # at most one pool's worth of extra threads: main + pool
    assert len(first) <= largest, [t.name for t in first]
    for _ in range(5):
        work()
    again = _settled_extra(baseline, len(first))
    assert len(again) <= len(first), [t.name for t in again]


# -- errors in workers reach the caller ----------------------------------------------------


class FailingStore(CountingStore):
    """Raises ``OSError`` on reads or writes of chosen keys."""

    def __init__(self):
        super().__init__(delay=0.0)
        self.bad_reads = set()
        self.bad_writes = set()

    def __getitem__(self, key):
        if key in self.bad_reads:
            raise OSError(5, f"injected read failure for {key!r}")
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        if key in self.bad_writes:
            raise OSError(28, f"injected write failure for {key!r}")
        super().__setitem__(key, value)


@pytest.mark.parametrize("n", BUDGETS)
def test_store_error_on_one_chunk_reaches_caller(n):
    store = FailingStore()
    data = _values("<i4", (40, 40))
    arr = _create(store, data, (10, 10), "C", "zlib")
    arr[...] = data
    store.bad_reads.add("2.1")
    with threads(n):
        with pytest.raises(OSError, match="injected read failure"):
            arr[...]
        with pytest.raises(OSError, match="injected read failure"):
            arr.vindex[[0, 25], [0, 15]]
        # chunks away from the bad one still read
        assert np.array_equal(arr[:20], data[:20])


@pytest.mark.parametrize("compressor", ["blosc", "zlib", "none"])
@pytest.mark.parametrize("n", BUDGETS)
def test_corrupt_chunk_raises_chunk_decode_error_naming_key(tmp_path, compressor, n):
    root = tmp_path / "a"
    data = _values("<f8", (30, 30))
    arr = _create(str(root), data, (10, 10), "C", compressor)
    arr[...] = data
    # a wrong-length payload cannot decode to 10x10 float64 under any codec
    (root / "1.2").write_bytes(b"\x02\x01garbage, not a chunk")
    with threads(n):
        with pytest.raises(ChunkDecodeError, match=r"'1\.2'") as info:
            arr[...]
        assert isinstance(info.value, ValueError)
        with pytest.raises(ChunkDecodeError, match=r"'1\.2'"):
            arr.oindex[[0, 15, 25], [1, 28]]
        assert np.array_equal(arr[:10], data[:10])


@pytest.mark.parametrize("n", BUDGETS)
def test_failed_write_never_tears_a_chunk(n):
    store = FailingStore()
    shape, chunks = (48, 40), (8, 10)
    old = _values("<i8", shape, seed=5)
    new = _values("<i8", shape, seed=6)
    arr = _create(store, old, chunks, "C", "blosc")
    arr[...] = old
    store.bad_writes.add("3.2")
    with threads(n):
        with pytest.raises(OSError, match="injected write failure"):
            arr[...] = new
    codec = COMPRESSORS["blosc"]
    outcomes = set()
    for i in range(shape[0] // chunks[0]):
        for j in range(shape[1] // chunks[1]):
            key = f"{i}.{j}"
            region = (slice(i * chunks[0], (i + 1) * chunks[0]), slice(j * chunks[1], (j + 1) * chunks[1]))
            stored = np.frombuffer(codec.decode(store.data[key]), "<i8").reshape(chunks)
            if np.array_equal(stored, old[region]):
                outcomes.add("old")
            else:
                assert np.array_equal(stored, new[region]), f"chunk {key} is torn"
                outcomes.add("new")
    assert np.array_equal(
        np.frombuffer(codec.decode(store.data["3.2"]), "<i8").reshape(chunks), old[24:32, 20:30]
    )
    assert "old" in outcomes


# -- fork ----------------------------------------------------------------------------------


def _child_reads_and_writes(path, queue):
    try:
        with threads(4):
            arr = zarr_fast.open_array(path, mode="r+")
            before = arr[...]
            arr[5:50, 3:40] = before[5:50, 3:40] * 2
            queue.put(("ok", before.tobytes(), arr[...].tobytes()))
    except BaseException as exc:  # noqa: BLE001 - report anything to the parent
        queue.put(("error", repr(exc), None))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_fork_after_pool_started(tmp_path):
    path = str(tmp_path / "a")
    data = _values("<i4", (64, 48)) // 4
    arr = _create(path, data, (8, 8), "C", "blosc")
    with threads(4):
        arr[...] = data  # the parent's pool (if any) is running now
        assert np.array_equal(arr[...], data)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_reads_and_writes, args=(path, queue))
    child.start()
    try:
        status, before, after = queue.get(timeout=25)
    finally:
        child.join(5)
        if child.is_alive():
            child.kill()
    assert status == "ok", before
    expected = data.copy()
    expected[5:50, 3:40] *= 2
    assert before == data.tobytes()
    assert after == expected.tobytes()
    assert child.exitcode == 0
    # the parent still works, and sees the child's write
    with threads(4):
        assert np.array_equal(arr[...], expected)


# -- many threads, one Array --------------------------------------------------------------


@pytest.mark.parametrize("compressor", ["blosc", "none"])
def test_many_threads_read_one_array(tmp_path, compressor):
    data = _values("<i4", (120, 90), seed=9)
    arr = _create(str(tmp_path / "a"), data, (16, 16), "C", compressor)
    arr[...] = data
    errors = []
    start = threading.Barrier(8)

    def reader(seed):
        rng = np.random.default_rng(seed)
        try:
            start.wait(10)
            with threads(1 + seed % 3):
                for _ in range(20):
                    a, b = sorted(rng.integers(0, 121, 2))
                    c, d = sorted(rng.integers(0, 91, 2))
                    if not np.array_equal(arr[a:b, c:d], data[a:b, c:d]):
                        errors.append(f"window {a}:{b}, {c}:{d}")
                    rows = rng.integers(0, 120, 5)
                    if not np.array_equal(arr.oindex[rows, c:d], data[rows, c:d]):
                        errors.append(f"oindex {rows}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(repr(exc))

    workers = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(25)
    assert not any(t.is_alive() for t in workers)
    assert errors == []


def test_thread_scratch_is_reused_per_thread_and_slot():
    from zarr_fast.parallel import thread_scratch

    first = thread_scratch("test-slot", 1000)
    again = thread_scratch("test-slot", 600)
    assert first.dtype == np.uint8 and first.shape == (1000,) and again.shape == (600,)
    assert np.shares_memory(first, again)
    assert not np.shares_memory(first, thread_scratch("test-other-slot", 1000))
    bigger = thread_scratch("test-slot", 5000)
    assert bigger.shape == (5000,)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(thread_scratch("test-slot", 5000)))
    worker.start()
    worker.join()
    assert not np.shares_memory(seen[0], bigger)
    # past the size kept, every call gets its own memory
    huge = 17 << 20
    assert not np.shares_memory(thread_scratch("test-huge", huge), thread_scratch("test-huge", huge))


def test_run_ranges_in_pieces_covers_every_item_once_in_order_within_the_budget():
    import time as _time

    from zarr_fast.parallel import run_ranges

    active, peak, seen = [0], [0], []
    lock = threading.Lock()

    def task(start, stop, cancel):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        _time.sleep(0.002 * (start % 3))   # uneven pieces
        with lock:
            active[0] -= 1
            seen.extend(range(start, stop))
        return (start, stop)

    results = run_ranges(task, 103, nthreads=3, pieces_per_thread=4)
    assert len(results) == 12
    assert [r[0] for r in results] == sorted(r[0] for r in results)
    assert results[0][0] == 0 and results[-1][1] == 103
    assert all(a[1] == b[0] for a, b in zip(results, results[1:]))
    assert sorted(seen) == list(range(103))
    assert peak[0] <= 3


def test_run_ranges_in_pieces_stops_at_the_first_error():
    from zarr_fast.parallel import run_ranges

    started = []

    def task(start, stop, cancel):
        started.append(start)
        if start == 0:
            raise ValueError("piece 0 failed")
        return start

    with pytest.raises(ValueError, match="piece 0 failed"):
        run_ranges(task, 1000, nthreads=2, pieces_per_thread=50)
    assert len(started) < 100   # the others saw the cancel and took no more pieces
