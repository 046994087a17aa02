"""DBMStore: files interchangeable with zarr 2.18.7's, read-only flag, key encoding, pickling
without truncation, named backend errors and threads."""
import dbm.dumb
import pickle
import threading
import warnings

import numpy as np
import pytest

import zarr_fast
from zarr_fast.errors import ReadOnlyError
from zarr_fast.storage.dbm import DBMStore


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "data.db")


def _zarr2_store(zarr2, path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # 2.18 deprecates the class
        return zarr2.storage.DBMStore(path, open=dbm.dumb.open, **kwargs)


def test_written_by_zarr2_read_by_us(zarr2, path):
    data = np.arange(200, dtype="<i8").reshape(10, 20)
    with _zarr2_store(zarr2, path) as theirs:
        root = zarr2.group(store=theirs)
        root.create_dataset("a/x", data=data, chunks=(3, 6))
    with DBMStore(path, flag="r", open=dbm.dumb.open) as store:
        np.testing.assert_array_equal(zarr_fast.open_group(store, mode="r")["a/x"][...], data)
        assert {".zgroup", "a/.zgroup", "a/x/.zarray", "a/x/3.3"} <= set(store)


def test_written_by_us_read_by_zarr2(zarr2, path):
    data = np.linspace(0, 1, 77).astype("<f4")
    with DBMStore(path, open=dbm.dumb.open) as store:
        zarr_fast.array(data, chunks=10, store=store)
    with _zarr2_store(zarr2, path, flag="r") as theirs:
        np.testing.assert_array_equal(zarr2.open_array(theirs, mode="r")[...], data)
        # keys are ASCII bytes in the database itself
        assert b"7" in theirs.db.keys() and b".zarray" in theirs.db.keys()


def test_default_open_and_mapping(path):
    with DBMStore(path) as store:  # dbm.open picks whatever flavour is installed
        store["a/b"] = np.arange(3, dtype="<u1")
        store.setitems({"c": b"c", "d/e": bytearray(b"de")})
        assert store["a/b"] == b"\x00\x01\x02"
        assert store.getitems(["c", "d/e", "nope"]) == {"c": b"c", "d/e": b"de"}
        assert len(store) == 3 and sorted(store) == ["a/b", "c", "d/e"]
        assert store.listdir() == ["a", "c", "d"]
        store.rmdir("d")
        assert sorted(store) == ["a/b", "c"]


def test_read_only_flag_refuses_writes(path):
    with DBMStore(path, open=dbm.dumb.open) as store:
        store["k"] = b"v"
        store["g/k"] = b"w"
    with DBMStore(path, flag="r", open=dbm.dumb.open) as ro:
        assert not ro.is_writeable()
        assert ro["k"] == b"v"
        with pytest.raises(ReadOnlyError, match="'k'") as info:
            ro["k"] = b"new"
        assert path in str(info.value)
        with pytest.raises(ReadOnlyError):
            ro.setitems({"x": b"1"})
        with pytest.raises(ReadOnlyError):
            del ro["k"]
        with pytest.raises(ReadOnlyError):
            ro.rmdir("g")
        with pytest.raises(ReadOnlyError):
            ro.clear()
        ro.flush()  # nothing to write: not an error
        assert sorted(ro) == ["g/k", "k"]


def test_keys_are_ascii(path):
    with DBMStore(path, open=dbm.dumb.open) as store:
        with pytest.raises(UnicodeEncodeError):
            store["é"] = b"1"
        assert "é" not in store
        with pytest.raises(KeyError):
            store["missing"]


def test_pickle_reopens_without_truncating(path):
    store = DBMStore(path, flag="n", open=dbm.dumb.open, dimension_separator="/")
    store["a/b"] = b"ab"
    dump = pickle.dumps(store)
    store.close()
    clone = pickle.loads(dump)
    try:
        assert clone == store  # same file, same open function
        assert clone["a/b"] == b"ab" and clone._dimension_separator == "/"
        assert clone.flag == "c"
    finally:
        clone.close()


def test_open_failure_names_the_path(tmp_path):
    missing = str(tmp_path / "missing.db")
    with pytest.raises(Exception, match="missing.db") as info:
        DBMStore(missing, flag="r", open=dbm.dumb.open)
    assert not isinstance(info.value, KeyError)


def test_read_failure_is_not_absent(path):
    store = DBMStore(path, open=dbm.dumb.open)
    store["k"] = b"v"
    store.close()
    # a closed database: the failure names the store and key and is never a KeyError
    with pytest.raises(Exception, match="'k'") as info:
        store["k"]
    assert not isinstance(info.value, KeyError)
    assert path in str(info.value)
    with pytest.raises(Exception) as info:
        store.getitems(["k"])
    assert not isinstance(info.value, KeyError)


def test_threads_write_under_the_lock(path):
    errors = []
    with DBMStore(path, open=dbm.dumb.open) as store:
        def work(t):
            try:
                for i in range(30):
                    store[f"t{t}/{i}"] = bytes([t, i])
                    assert store[f"t{t}/{i}"] == bytes([t, i])
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(store) == 180
    with DBMStore(path, flag="r", open=dbm.dumb.open) as store:
        assert store.getitems(["t5/29"]) == {"t5/29": bytes([5, 29])}


def test_equality(path, tmp_path):
    with DBMStore(path, open=dbm.dumb.open) as a, \
            DBMStore(str(tmp_path / "other.db"), open=dbm.dumb.open) as b:
        assert a == a and a != b
        assert a != {"k": b"v"}


def test_corrupt_index_names_the_path(path):
    with DBMStore(path, open=dbm.dumb.open) as store:
        store["k"] = b"v"
    with open(path + ".dir", "w") as f:
        f.write("this is not an index {{{\n")
    with pytest.raises(Exception, match="data.db") as info:
        DBMStore(path, open=dbm.dumb.open)
    assert not isinstance(info.value, KeyError)
