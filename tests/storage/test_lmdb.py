"""LMDBStore: environments interchangeable with zarr 2.18.7's, values that never dangle, batches
in one transaction, read-only environments, named LMDB errors, the missing-package message."""
import pickle
import sys
import threading
import warnings

import numpy as np
import pytest

import zarr_fast
from zarr_fast.errors import ReadOnlyError
from zarr_fast.storage import getsize

lmdb = pytest.importorskip("lmdb")
from zarr_fast.storage.lmdb import LMDBStore  # noqa: E402


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "data.lmdb")


def _zarr2_store(zarr2, path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # 2.18 deprecates the class
        return zarr2.storage.LMDBStore(path, **kwargs)


def _fill(store):
    store.update({"a": b"aaa", "b/c": b"cc", "b/d/e": b"eeeee", "b/f": b"f",
                    "ba/x": b"x", "b.": b"dot"})


def test_written_by_zarr2_read_by_us(zarr2, path):
    data = np.arange(240, dtype=">i4").reshape(12, 20)
    with _zarr2_store(zarr2, path) as theirs:
        root = zarr2.group(store=theirs)
        root.create_dataset("g/x", data=data, chunks=(5, 8))
    with LMDBStore(path, readonly=True) as store:
        arr = zarr_fast.open_group(store, mode="r")["g/x"]
        np.testing.assert_array_equal(arr[...], data)
        assert store.listdir("g/x") == [".zarray"] + [f"{i}.{j}" for i in range(3) for j in range(3)]


def test_written_by_us_read_by_zarr2(zarr2, path):
    data = np.arange(100, dtype="<f8")
    with LMDBStore(path) as store:
        zarr_fast.array(data, chunks=30, store=store, path="p/q")
    with _zarr2_store(zarr2, path, buffers=False) as theirs:
        np.testing.assert_array_equal(zarr2.open_array(theirs, mode="r", path="p/q")[...], data)
        assert sorted(theirs.keys()) == [".zgroup", "p/.zgroup", "p/q/.zarray",
                                         "p/q/0", "p/q/1", "p/q/2", "p/q/3"]


def test_hierarchy_operations_agree_with_zarr2(zarr2, tmp_path):
    ours = LMDBStore(str(tmp_path / "a"))
    theirs = _zarr2_store(zarr2, str(tmp_path / "b"))
    for s in (ours, theirs):
        _fill(s)
    for p in (None, "b", "/b/", "b/d", "a", "zz"):
        assert ours.listdir(p) == theirs.listdir(p), p
        assert getsize(ours, p) == zarr2.storage.getsize(theirs, p), p
    assert len(ours) == len(theirs) == 6
    ours.close()
    theirs.close()


@pytest.mark.parametrize("buffers", [True, False])
def test_values_never_dangle(path, buffers):
    with LMDBStore(path, buffers=buffers) as store:
        store["k"] = b"A" * 4096
        first = store["k"]
        got = store.getitems(["k"])["k"]
        for i in range(20):
            # rewrites and deletes let LMDB reuse the pages the first read came from
            store["k"] = bytes([i]) * 4096
            store.setitems({f"pad/{j}": bytes([j]) * 4096 for j in range(8)})
            store.delitems([f"pad/{j}" for j in range(8)])
        assert bytes(first) == b"A" * 4096 and bytes(got) == b"A" * 4096
        assert type(first) is bytes


def test_batches_and_ranges(path):
    with LMDBStore(path) as store:
        _fill(store)
        store.setitems({f"c/{i}": i.to_bytes(2, "little") for i in range(500)})
        got = store.getitems(["c/1", "c/499", "c/none", "a"])
        assert got == {"c/1": b"\x01\x00", "c/499": b"\xf3\x01", "a": b"aaa"}
        store.delitems([f"c/{i}" for i in range(500)] + ["c/none"])
        store["arr"] = np.arange(3, dtype="<u2")
        assert store["arr"] == np.arange(3, dtype="<u2").tobytes()
        del store["arr"]
        with pytest.raises(KeyError):
            del store["arr"]
        # 'ba/x' and 'b.' sort right next to 'b/...': range scans must stop at the prefix
        store.rmdir("b")
        assert sorted(store) == ["a", "b.", "ba/x"]
        store.rename("ba", "z/y")
        assert sorted(store) == ["a", "b.", "z/y/x"]
        store.rename("a", "q")
        assert store["q"] == b"aaa" and "a" not in store
        store.clear()
        assert len(store) == 0 and list(store) == []
        store.rmdir()  # an empty database: nothing to do
        assert store.listdir() == []


def test_read_only_environment_refuses_writes(path):
    with LMDBStore(path) as store:
        _fill(store)
    with LMDBStore(path, readonly=True) as ro:
        assert not ro.is_writeable()
        assert ro["b/c"] == b"cc"
        for write in (lambda: ro.__setitem__("b/c", b"x"), lambda: ro.setitems({"n": b"1"}),
                      lambda: ro.__delitem__("a"), lambda: ro.delitems(["a"]),
                      lambda: ro.rmdir("b"), lambda: ro.rename("b", "c"), ro.clear):
            with pytest.raises(ReadOnlyError, match="read-only"):
                write()
        ro.flush()  # nothing to sync: not an error
        assert len(ro) == 6


def test_readers_full_names_store_and_key(path):
    # no spare transactions: an aborted one gives its reader slot back at once
    store = LMDBStore(path, max_readers=1, max_spare_txns=0)
    store["k"] = b"v"
    held = store.db.begin()  # takes the only reader slot
    try:
        with pytest.raises(lmdb.ReadersFullError) as info:
            store["k"]
        assert path in str(info.value) and "'k'" in str(info.value)
        with pytest.raises(lmdb.ReadersFullError, match="'k'"):
            store.getitems(["k"])
    finally:
        held.abort()
        store.close()


def test_closed_store_is_not_absent(path):
    store = LMDBStore(path)
    store["k"] = b"v"
    store.close()
    with pytest.raises(lmdb.Error, match="'k'") as info:
        store["k"]
    assert not isinstance(info.value, KeyError)
    with pytest.raises(lmdb.Error):
        store.getitems(["k"])


def test_open_failure_names_the_path(tmp_path):
    missing = str(tmp_path / "missing")
    with pytest.raises(lmdb.Error, match="missing"):
        LMDBStore(missing, readonly=True)


def test_missing_package_says_what_to_install(path, monkeypatch):
    monkeypatch.setitem(sys.modules, "lmdb", None)  # import lmdb now raises ImportError
    with pytest.raises(ImportError, match=r"'lmdb'.*pip install zarr-fast\[lmdb\]"):
        LMDBStore(path)


def test_pickle_after_close(path):
    store = LMDBStore(path, buffers=False, dimension_separator="/", map_size=2**24)
    _fill(store)
    dump = pickle.dumps(store)
    store.close()
    assert pickle.dumps(store) == dump
    clone = pickle.loads(dump)
    try:
        assert clone == store and clone.buffers is False
        assert clone._dimension_separator == "/" and clone.kwargs["map_size"] == 2**24
        assert clone["b/d/e"] == b"eeeee"
    finally:
        clone.close()


def test_threads(path):
    errors = []
    with LMDBStore(path) as store:
        def work(t):
            try:
                for i in range(30):
                    store.setitems({f"t{t}/{i}": bytes([t, i])})
                    assert store[f"t{t}/{i}"] == bytes([t, i])
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(store) == 180 and store.listdir() == [f"t{t}" for t in range(6)]


def test_array_api(path):
    with LMDBStore(path) as store:
        z = zarr_fast.zeros((10, 10), chunks=(5, 5), store=store, dtype="u2")
        z[...] = 42
        z[0, :] = 1
        assert z.nchunks_initialized == 4
    with LMDBStore(path, readonly=True) as store:
        z = zarr_fast.open_array(store, mode="r")
        assert z[0, 3] == 1 and z[9, 9] == 42


def test_corrupt_environment_names_the_path(tmp_path):
    bad = tmp_path / "bad.lmdb"
    bad.mkdir()
    (bad / "data.mdb").write_bytes(b"not an lmdb file" * 1024)
    with pytest.raises(lmdb.Error, match="bad.lmdb"):
        LMDBStore(str(bad))
