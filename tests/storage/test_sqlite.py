"""SQLiteStore: files interchangeable with zarr 2.18.7's, SQL hierarchy operations, batches,
read-only and locked databases, threads and pickling."""
import pickle
import sqlite3
import threading
import warnings

import numpy as np
import pytest

import zarr_fast
from zarr_fast.errors import ReadOnlyError
from zarr_fast.storage.sqlite import SQLiteStore


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "data.sqldb")


def _zarr2_store(zarr2, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # 2.18 deprecates the class
        return zarr2.storage.SQLiteStore(path)


def _fill(store):
    store.update({"a": b"aaa", "b/c": b"cc", "b/d/e": b"eeeee", "b/f": b"f"})


def test_written_by_zarr2_read_by_us(zarr2, path):
    data = np.arange(300, dtype="<f8").reshape(15, 20)
    theirs = _zarr2_store(zarr2, path)
    root = zarr2.group(store=theirs)
    root.create_dataset("g/x", data=data, chunks=(4, 7))
    root["g/x"].attrs["unit"] = "m"
    theirs.close()

    store = SQLiteStore(path)
    try:
        arr = zarr_fast.open_array(store, mode="r", path="g/x")
        np.testing.assert_array_equal(arr[...], data)
        assert arr.attrs["unit"] == "m"
        assert store.listdir("g/x")[:3] == [".zarray", ".zattrs", "0.0"]
    finally:
        store.close()


def test_written_by_us_read_by_zarr2(zarr2, path):
    data = np.arange(120, dtype="<i4").reshape(10, 12)
    store = SQLiteStore(path)
    arr = zarr_fast.create(shape=data.shape, chunks=(3, 5), dtype=data.dtype, store=store, path="x")
    arr[...] = data
    store.close()

    theirs = _zarr2_store(zarr2, path)
    try:
        np.testing.assert_array_equal(zarr2.open_array(theirs, mode="r", path="x")[...], data)
        # the same rows, keys as TEXT and values as BLOB
        assert {".zgroup", "x/.zarray", "x/0.0", "x/3.2"} <= set(theirs.keys())
        kinds = theirs.cursor.execute("SELECT DISTINCT typeof(k), typeof(v) FROM zarr").fetchall()
        assert kinds == [("text", "blob")]
    finally:
        theirs.close()


def test_same_table_schema_as_zarr2(zarr2, tmp_path):
    ours, theirs = SQLiteStore(str(tmp_path / "a.db")), _zarr2_store(zarr2, str(tmp_path / "b.db"))
    query = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    assert ours.db.execute(query).fetchall() == theirs.db.execute(query).fetchall()
    ours.close()
    theirs.close()


def test_hierarchy_operations_agree_with_zarr2(zarr2, tmp_path):
    ours, theirs = SQLiteStore(str(tmp_path / "a.db")), _zarr2_store(zarr2, str(tmp_path / "b.db"))
    for s in (ours, theirs):
        _fill(s)
    for p in (None, "", "b", "/b/", "b/d", "a", "zz"):
        assert ours.listdir(p) == theirs.listdir(p), p
        assert ours.getsize(p) == theirs.getsize(p), p
    ours.rmdir("b/d")
    theirs.rmdir("b/d")
    assert sorted(ours) == sorted(theirs) == ["a", "b/c", "b/f"]
    ours.close()
    theirs.close()


def test_paths_with_like_wildcards_and_case(path):
    # LIKE would treat '_' and '%' as wildcards and ignore case; we compare prefixes exactly
    store = SQLiteStore(path)
    store.setitems({"a_b/x": b"1", "axb/y": b"22", "A_B/z": b"333", "a%/w": b"4", "a_bc": b"55"})
    assert store.listdir("a_b") == ["x"]
    assert store.listdir("a%") == ["w"]
    assert store.listdir() == ["A_B", "a%", "a_b", "a_bc", "axb"]
    assert store.getsize("a_b") == 1
    assert store.getsize("a_bc") == 2
    store.rmdir("a_b")
    assert sorted(store) == ["A_B/z", "a%/w", "a_bc", "axb/y"]
    store.close()


def test_rename_in_one_statement_overwrites_destination(path):
    store = SQLiteStore(path)
    _fill(store)
    store["x/c"] = b"old"
    store.rename("b", "x")
    assert sorted(store) == ["a", "x/c", "x/d/e", "x/f"]
    assert store["x/c"] == b"cc"
    store.rename("a", "q/a")  # a single value
    assert store["q/a"] == b"aaa" and "a" not in store
    store.close()


def test_batches(path):
    store = SQLiteStore(path)
    values = {f"c/{i}": i.to_bytes(2, "little") for i in range(2000)}
    store.setitems(values)
    wanted = [f"c/{i}" for i in range(0, 2000, 3)] + ["c/missing"]
    got = store.getitems(wanted)
    assert list(got) == wanted[:-1]  # the caller's order, absent key left out
    assert all(got[k] == values[k] for k in got)
    store.delitems([f"c/{i}" for i in range(1000)] + ["c/missing"])
    assert len(store) == 1000
    store["arr"] = np.arange(3, dtype="<u2")  # any contiguous buffer becomes a BLOB
    assert store["arr"] == np.arange(3, dtype="<u2").tobytes()
    store.close()


def test_read_only_database_refuses_writes(path):
    store = SQLiteStore(path)
    _fill(store)
    store.close()
    ro = SQLiteStore(f"file:{path}?mode=ro", uri=True)
    try:
        assert ro["b/c"] == b"cc"
        assert ro.listdir("b") == ["c", "d", "f"]
        with pytest.raises(ReadOnlyError, match="b/c"):
            ro["b/c"] = b"new"
        with pytest.raises(ReadOnlyError, match="read-only"):
            ro.setitems({"k1": b"1", "k2": b"2"})
        with pytest.raises(ReadOnlyError):
            del ro["a"]
        with pytest.raises(ReadOnlyError):
            ro.rmdir("b")
        with pytest.raises(ReadOnlyError):
            ro.clear()
        assert ro["b/c"] == b"cc" and len(ro) == 4
    finally:
        ro.close()


def test_read_only_file_without_table(path):
    sqlite3.connect(path).close()  # an empty database: no zarr table, and we may not create it
    with pytest.raises(ReadOnlyError, match="no zarr table"):
        SQLiteStore(f"file:{path}?mode=ro", uri=True)


def test_locked_database_names_store_and_key(path):
    store = SQLiteStore(path, timeout=0.05)
    store["k"] = b"v"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked") as info:
            store["k"]
        assert path in str(info.value) and "'k'" in str(info.value)
        assert not isinstance(info.value, KeyError)
        assert info.value.sqlite_errorname == "SQLITE_BUSY"  # the code survives the renaming
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.getitems(["k"])
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store["k"] = b"w"
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store["k"] == b"v"
    store.close()


def test_not_a_database(path):
    with open(path, "wb") as f:
        f.write(b"this is not an sqlite file" * 100)
    with pytest.raises(sqlite3.DatabaseError, match="not a database") as info:
        SQLiteStore(path)
    assert path in str(info.value)


def test_closed_store_is_not_absent(path):
    store = SQLiteStore(path)
    store["k"] = b"v"
    store.close()
    store.close()  # twice is harmless
    with pytest.raises(sqlite3.ProgrammingError, match="'k'"):
        store["k"]
    with pytest.raises(sqlite3.ProgrammingError):
        store.getitems(["k"])


def test_threads_share_one_connection(path):
    store = SQLiteStore(path)
    errors = []

    def work(t):
        try:
            for i in range(12):  # each write is a synced commit: keep it small
                store[f"t{t}/{i}"] = bytes([t, i])
                assert store[f"t{t}/{i}"] == bytes([t, i])
                assert store.getitems([f"t{t}/{i}"]) == {f"t{t}/{i}": bytes([t, i])}
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store) == 60 and store.listdir() == [f"t{t}" for t in range(5)]
    store.close()


def test_pickle(path):
    store = SQLiteStore(path, dimension_separator="/")
    _fill(store)
    clone = pickle.loads(pickle.dumps(store))
    assert clone == store and clone._dimension_separator == "/"
    assert clone["b/d/e"] == b"eeeee"
    clone.close()
    store.close()
    memory = SQLiteStore(":memory:")
    memory["k"] = b"v"
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(memory)
    assert memory != SQLiteStore(":memory:")


def test_array_and_group_api(path):
    with SQLiteStore(path) as store:
        root = zarr_fast.group(store=store)
        arr = root.zeros("foo/bar", shape=(10, 10), chunks=(5, 5), dtype="i2")
        arr[...] = 42
        arr[2:7, 3] = 7
    with SQLiteStore(path) as store:
        arr = zarr_fast.open_group(store, mode="r")["foo/bar"]
        expected = np.full((10, 10), 42, dtype="i2")
        expected[2:7, 3] = 7
        np.testing.assert_array_equal(arr[...], expected)
        assert arr.nchunks_initialized == 4
