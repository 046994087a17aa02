"""DirectoryStore batch I/O on the thread budget, ``read_into`` and ``key_path``.

Concurrency is measured with real threads: ``_fromfile``/``_tofile`` are wrapped to count
how many calls overlap, so the budget is checked where the files are touched.
"""
import errno
import os
import threading
import time
from concurrent.futures import wait

import numpy as np
import pytest

from zarr_fast import config
from zarr_fast.storage import DirectoryStore, InvalidKeyError, NestedDirectoryStore
from zarr_fast.storage.base import map_bounded


class Overlap:
    """Counts concurrent calls and remembers which threads made them."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.lock = threading.Lock()
        self.current = 0
        self.peak = 0
        self.threads = set()

    def __call__(self, func):
        def wrapped(*args):
            with self.lock:
                self.current += 1
                self.peak = max(self.peak, self.current)
                self.threads.add(threading.current_thread().name)
            try:
                time.sleep(self.delay)
                return func(*args)
            finally:
                with self.lock:
                    self.current -= 1
        return staticmethod(wrapped)


def _temp_files(root):
    return [f for _, _, fs in os.walk(root) for f in fs if f.endswith(".partial")]


@pytest.fixture
def filled(tmp_path):
    store = DirectoryStore(str(tmp_path))
    values = {f"a/{i}.{j}": bytes([i * 8 + j]) * (100 + i + j) for i in range(4) for j in range(8)}
    for key, value in values.items():
        store[key] = value
    return store, values


@pytest.mark.parametrize("nthreads", [1, 2, 8])
def test_getitems_matches_single_reads(filled, nthreads):
    store, values = filled
    keys = list(values) + ["a/missing", "b/0.0", "a"]  # absent file, absent dir, a directory
    with config.threads(nthreads):
        got = store.getitems(keys, contexts={})
    assert got == values
    assert list(got) == list(values)  # order of the request


@pytest.mark.parametrize("nthreads", [1, 2, 3, 5])
def test_getitems_stays_within_budget(filled, monkeypatch, nthreads):
    store, values = filled
    overlap = Overlap(delay=0.01)
    monkeypatch.setattr(DirectoryStore, "_fromfile", overlap(DirectoryStore._fromfile))
    with config.threads(nthreads):
        got = store.getitems(list(values))
    assert got == values
    assert 1 <= overlap.peak <= nthreads
    if nthreads > 1:
        # sleeping readers overlap even on one core
        assert overlap.peak >= 2


def test_single_key_or_budget_one_reads_inline(filled, monkeypatch):
    store, values = filled
    overlap = Overlap()
    monkeypatch.setattr(DirectoryStore, "_fromfile", overlap(DirectoryStore._fromfile))
    main = threading.current_thread().name
    with config.threads(8):
        assert store.getitems(["a/0.0"]) == {"a/0.0": values["a/0.0"]}
    with config.threads(1):
        assert store.getitems(list(values)) == values
    assert overlap.threads == {main}


def test_getitems_error_names_key_and_stops(filled, monkeypatch):
    store, values = filled
    original = DirectoryStore._fromfile

    def failing(fn):
        if fn.endswith("2.5"):
            raise OSError(errno.EIO, "Input/output error")
        return original(fn)

    monkeypatch.setattr(DirectoryStore, "_fromfile", staticmethod(failing))
    for nthreads in (1, 4):
        with config.threads(nthreads):
            with pytest.raises(OSError, match=r"'a/2\.5'") as info:
                store.getitems(list(values))
        assert info.value.errno == errno.EIO


@pytest.mark.parametrize("nthreads", [1, 2, 8])
def test_setitems_writes_every_key_whole(tmp_path, nthreads):
    store = NestedDirectoryStore(str(tmp_path))
    values = {f"x/{i}/{j}": os.urandom(50 + 13 * i + j) for i in range(5) for j in range(5)}
    values["x/.zarray"] = b"{}"
    with config.threads(nthreads):
        store.setitems(values)
    assert {k: store[k] for k in values} == values
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("nthreads", [2, 3])
def test_setitems_stays_within_budget(tmp_path, monkeypatch, nthreads):
    store = DirectoryStore(str(tmp_path))
    overlap = Overlap(delay=0.01)
    monkeypatch.setattr(DirectoryStore, "_tofile", overlap(DirectoryStore._tofile))
    values = {f"{i}": bytes([i]) * 10 for i in range(12)}
    with config.threads(nthreads):
        store.setitems(values)
    assert 2 <= overlap.peak <= nthreads
    assert store.getitems(list(values)) == values


@pytest.mark.parametrize("nthreads", [1, 4])
def test_setitems_failure_names_key_and_leaves_whole_files(tmp_path, monkeypatch, nthreads):
    store = DirectoryStore(str(tmp_path))
    old = {f"c/{i}": b"old" * (i + 1) for i in range(16)}
    store.setitems(old)
    new = {key: b"new-value" * (50 + i) for i, key in enumerate(old)}
    original = DirectoryStore._tofile

    def failing(a, fn):
        if os.path.basename(fn).startswith("7."):
            with open(fn, "xb") as f:  # a partial temporary file, then the failure
                f.write(b"ne")
            raise OSError(errno.ENOSPC, "No space left on device", fn)
        time.sleep(0.002)
        return original(a, fn)

    monkeypatch.setattr(DirectoryStore, "_tofile", staticmethod(failing))
    with config.threads(nthreads):
        with pytest.raises(OSError, match=r"'c/7'") as info:
            store.setitems(new)
    assert info.value.errno == errno.ENOSPC
    assert _temp_files(tmp_path) == []
    assert store["c/7"] == old["c/7"]
    for key in old:
        assert store[key] in (old[key], new[key])


def test_setitems_error_of_other_types_reaches_caller(tmp_path):
    store = DirectoryStore(str(tmp_path))
    store["f"] = b"file"
    with config.threads(4):
        with pytest.raises(KeyError):
            # 'f' is a file, so 'f/0' cannot be created under it
            store.setitems({"g/0": b"1", "f/0": b"2", "g/1": b"3"})
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("nthreads", [1, 3])
def test_delitems(filled, nthreads):
    store, values = filled
    doomed = [k for k in values if k.endswith(("1", "3"))] + ["a/missing", "nowhere/0"]
    with config.threads(nthreads):
        store.delitems(doomed)
    assert sorted(store.keys()) == sorted(k for k in values if k not in doomed)


def test_batches_from_inside_pool_tasks_do_not_deadlock(filled):
    # every pool worker runs a batch that wants the pool too: the callers drain their own
    # batches and cancel their queued helpers instead of waiting on them
    store, values = filled
    with config.threads(2):
        pool = config.get_pool(2)

        def task():
            with config.threads(2):
                return store.getitems(list(values))

        futures = [pool.submit(task) for _ in range(6)]
        done, pending = wait(futures, timeout=20)
    assert not pending
    assert all(f.result() == values for f in futures)


def test_map_bounded_order_and_first_error():
    assert map_bounded(lambda x: x * 2, range(50), 4) == [x * 2 for x in range(50)]
    assert map_bounded(lambda x: x, [], 4) == []
    started = []

    def boom(x):
        started.append(x)
        if x == 0:
            raise ZeroDivisionError("first item fails")
        time.sleep(0.001)
        return x

    with pytest.raises(ZeroDivisionError):
        map_bounded(boom, range(200), 3)
    # no new call starts after the failure: only the calls already running finish
    assert len(started) < 200


# -- read_into / key_path ------------------------------------------------------------------


def test_read_into_fills_buffers(tmp_path):
    store = DirectoryStore(str(tmp_path))
    data = np.arange(24, dtype="<f8").reshape(4, 6)
    store["arr/0.0"] = data
    for buffer in (bytearray(data.nbytes), np.empty((4, 6), "<f8"), np.empty((6, 4), "<f8", order="F"),
                   np.empty(data.nbytes // 8, "M8[ns]")):
        assert store.read_into("arr/0.0", buffer) == data.nbytes
        assert bytes(np.asarray(buffer).reshape(-1, order="A").view("u1")) == data.tobytes()
    empty = DirectoryStore(str(tmp_path / "e"))
    empty["z"] = b""
    assert empty.read_into("z", bytearray()) == 0


def test_read_into_refusals(tmp_path):
    store = DirectoryStore(str(tmp_path))
    store["g/0"] = b"12345678"
    with pytest.raises(KeyError):
        store.read_into("g/1", bytearray(8))
    with pytest.raises(KeyError):
        store.read_into("g", bytearray(8))  # a directory is not a key
    with pytest.raises(KeyError):
        store.read_into("g/0/x", bytearray(8))  # a file is not a directory
    for size in (7, 9):
        with pytest.raises(ValueError, match=r"'g/0'.*8 bytes.*" + str(size)):
            store.read_into("g/0", bytearray(size))
    with pytest.raises(TypeError):
        store.read_into("g/0", b"\0" * 8)
    with pytest.raises(TypeError):
        store.read_into("g/0", np.zeros(16, "u1")[::2])
    with pytest.raises(InvalidKeyError):
        store.read_into("../g/0", bytearray(8))


def test_read_into_honours_subclass_fromfile(tmp_path):
    class Reversed(DirectoryStore):
        @staticmethod
        def _fromfile(fn):
            with open(fn, "rb") as f:
                return f.read()[::-1]

    store = Reversed(str(tmp_path))
    store["k"] = b"abc"
    buffer = bytearray(3)
    assert store.read_into("k", buffer) == 3
    assert buffer == b"cba" == store["k"]
    with pytest.raises(ValueError, match="'k'"):
        store.read_into("k", bytearray(4))


def test_key_path(tmp_path):
    store = DirectoryStore(str(tmp_path))
    assert store.key_path("a/b/0.0") == os.path.join(str(tmp_path), "a", "b", "0.0")
    assert os.path.isabs(store.key_path("x"))
    lower = DirectoryStore(str(tmp_path), normalize_keys=True)
    lower["A/B"] = b"1"
    assert lower.key_path("A/B") == os.path.join(str(tmp_path), "a", "b")
    assert open(lower.key_path("A/B"), "rb").read() == b"1"
    for bad in ("../x", "/abs", "a//b", "", "a\\b"):
        with pytest.raises(InvalidKeyError):
            store.key_path(bad)
    with pytest.raises(InvalidKeyError):
        store.key_path(3)


def test_name_key_keeps_class_and_errno():
    from zarr_fast.storage.base import name_key

    original = PermissionError(errno.EACCES, "Permission denied", "/r/a/0")
    named = name_key(original, "a/0", "reading")
    assert type(named) is PermissionError and named.errno == errno.EACCES
    assert "'a/0'" in str(named) and named.filename == "/r/a/0" and named.__cause__ is original
    already = OSError(errno.EIO, "failed for 'a/0'")
    assert name_key(already, "a/0", "reading") is already
    other = name_key(TypeError("not a buffer"), "a/0", "writing")
    assert isinstance(other, TypeError) and other.__notes__ == ["while writing key 'a/0'"]
