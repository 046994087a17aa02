"""DirectoryStore specifics: key safety, atomic writes, on-disk layout, zarr 2.18 parity.

Safety tests check the file system itself: a refused key must leave nothing behind,
inside or outside the store root.
"""
import os
import warnings

import numpy as np
import pytest

from zarr_fast.errors import FSPathExistNotDir
from zarr_fast.storage import (
    DirectoryStore,
    InvalidKeyError,
    NestedDirectoryStore,
    TempStore,
)

BAD_KEYS = [
    "../escape",
    "a/../../escape",
    "a/..",
    "..",
    ".",
    "./a",
    "/abs/escape",
    "/",
    "a\\..\\..\\escape",
    "..\\escape",
    "a\x00b",
    "",
    "a//b",
    "a/",
]


def _all_files(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    ) + sorted(os.path.relpath(os.path.join(d, x), root) for d, xs, _ in os.walk(root) for x in xs)


@pytest.fixture
def sandbox(tmp_path):
    """(store, sandbox dir): the store root is sandbox/inner/root; sandbox must stay clean."""
    root = tmp_path / "inner" / "root"
    root.mkdir(parents=True)
    return DirectoryStore(str(root)), tmp_path


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_refused_before_touching_files(sandbox, key):
    store, base = sandbox
    before = _all_files(base)
    with pytest.raises(InvalidKeyError) as info:
        store[key] = b"x"
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert repr(key) in str(info.value)
    with pytest.raises(KeyError):
        store[key]
    with pytest.raises(KeyError):
        del store[key]
    assert key not in store
    assert store.getitems([key]) == {}
    assert _all_files(base) == before
    assert not (base / "escape").exists() and not os.path.exists("/abs/escape")


def test_non_str_key_refused(sandbox):
    store, _ = sandbox
    with pytest.raises(InvalidKeyError):
        store[b"bytes"] = b"x"
    assert 3 not in store


def test_bad_key_cannot_delete_outside_root(sandbox):
    store, base = sandbox
    victim = base / "inner" / "victim"
    victim.write_bytes(b"keep me")
    with pytest.raises(KeyError):
        del store["../victim"]
    with pytest.raises(KeyError):
        store["../victim"] = b"overwritten"
    assert victim.read_bytes() == b"keep me"


def test_atomic_write_failure_keeps_old_value(tmp_path, monkeypatch):
    store = DirectoryStore(str(tmp_path))
    store["a/0.0"] = b"old"

    def boom(src, dst):
        raise OSError("replace failed")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="replace failed"):
        store["a/0.0"] = b"new"
    monkeypatch.undo()
    assert store["a/0.0"] == b"old"
    assert sorted(os.listdir(tmp_path / "a")) == ["0.0"]  # no temporary file left


def test_write_failure_inside_tofile_leaves_no_temp(tmp_path, monkeypatch):
    store = DirectoryStore(str(tmp_path))
    store["k"] = b"old"

    def half_write(a, fn):
        with open(fn, "wb") as f:
            f.write(b"ne")
        raise OSError("disk full")

    monkeypatch.setattr(DirectoryStore, "_tofile", staticmethod(half_write))
    with pytest.raises(OSError, match="disk full"):
        store["k"] = b"new"
    assert store["k"] == b"old"
    assert os.listdir(tmp_path) == ["k"]


def test_files_on_disk_and_buffers(tmp_path):
    store = DirectoryStore(tmp_path)  # os.PathLike accepted
    assert store.path == str(tmp_path)
    data = np.arange(12, dtype="<f8").reshape(3, 4)
    store["arr/0.0"] = data
    with pytest.raises(ValueError):
        store["arr/0.1"] = data[:, 1:3]  # not contiguous: refused, as zarr 2.18 does
    assert "arr/0.1" not in store
    store["arr/1.0"] = np.asfortranarray(data)
    store["dt"] = np.array(["2020-01-01"], dtype="M8[D]")
    assert (tmp_path / "arr" / "0.0").read_bytes() == data.tobytes()
    assert store["arr/1.0"] == data.tobytes(order="F")
    assert store["dt"] == np.array(["2020-01-01"], dtype="M8[D]").view("i8").tobytes()


def test_key_replaces_directory_and_file_parent_refused(tmp_path):
    store = DirectoryStore(str(tmp_path))
    store["d/x"] = b"1"
    store["d"] = b"2"  # a directory in the way is replaced, as zarr 2.18 does
    assert store["d"] == b"2"
    with pytest.raises(KeyError):
        store["d/y"] = b"3"  # parent is a file
    with pytest.raises(KeyError):
        store["d/y"]


def test_directory_key_raises_keyerror_and_delete_removes_tree(tmp_path):
    store = DirectoryStore(str(tmp_path))
    store["g/a/0"] = b"1"
    with pytest.raises(KeyError):
        store["g/a"]
    del store["g"]
    assert list(store) == []


def test_path_exists_not_dir(tmp_path):
    f = tmp_path / "file"
    f.write_bytes(b"")
    with pytest.raises(FSPathExistNotDir):
        DirectoryStore(str(f))


def test_normalize_keys(tmp_path):
    store = DirectoryStore(str(tmp_path), normalize_keys=True)
    store["FOO/Bar"] = b"1"
    assert store["foo/bar"] == b"1"
    assert "Foo/BAR" in store
    assert os.listdir(tmp_path / "foo") == ["bar"]


def test_dir_path_and_eq(tmp_path):
    store = DirectoryStore(str(tmp_path))
    assert store.dir_path() == str(tmp_path)
    assert store.dir_path("a/b") == os.path.join(str(tmp_path), "a", "b")
    with pytest.raises(ValueError):
        store.dir_path("../x")
    assert store == DirectoryStore(str(tmp_path))
    assert store != DirectoryStore(str(tmp_path / "other"))
    assert NestedDirectoryStore(str(tmp_path)) != store


def test_nested_store_separator_and_listdir(tmp_path, zarr2):
    with pytest.raises(ValueError):
        NestedDirectoryStore(str(tmp_path), dimension_separator=".")
    assert NestedDirectoryStore(str(tmp_path), dimension_separator=None)._dimension_separator == "/"
    ours = NestedDirectoryStore(str(tmp_path / "ours"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = zarr2.storage.NestedDirectoryStore(str(tmp_path / "theirs"))
    for s in (ours, theirs):
        s["arr/.zarray"] = b"{}"
        s["arr/0/0"] = b"a"
        s["arr/0/1"] = b"b"
        s["arr/1/0"] = b"c"
        s["grp/x/y"] = b"d"
    for path in (None, "arr", "grp", "grp/x", "nope"):
        assert ours.listdir(path) == theirs.listdir(path)
        assert ours.getsize(path) == theirs.getsize(path)
    assert ours.listdir("arr") == [".zarray", "0/0", "0/1", "1/0"]
    assert sorted(ours) == sorted(theirs)


def test_directory_matches_zarr(tmp_path, zarr2):
    ours = DirectoryStore(str(tmp_path / "ours"))
    theirs = zarr2.storage.DirectoryStore(str(tmp_path / "theirs"))
    for s in (ours, theirs):
        s["a"] = b"12345"
        s["g/b"] = b"xy"
        s["g/h/c"] = b"z"
    for path in (None, "g", "g/h", "a", "zz"):
        assert ours.listdir(path) == theirs.listdir(path)
        assert ours.getsize(path) == theirs.getsize(path)
    assert sorted(ours) == sorted(theirs)
    for s in (ours, theirs):
        s.rename("g", "m/n")
    assert sorted(ours) == sorted(theirs) == ["a", "m/n/b", "m/n/h/c"]
    assert not os.path.exists(tmp_path / "ours" / "g")


def test_tempstore_location_and_cleanup_registration(tmp_path):
    store = TempStore(prefix="zf", suffix=".t", dir=str(tmp_path), dimension_separator="/")
    assert os.path.dirname(store.path) == str(tmp_path)
    base = os.path.basename(store.path)
    assert base.startswith("zf") and base.endswith(".t")
    assert store._dimension_separator == "/"
    store["x"] = b"1"
    assert (tmp_path / base / "x").read_bytes() == b"1"


@pytest.mark.parametrize("path", ["..", "../x", "a/../..", "a\\..\\.."])
def test_path_operations_refuse_escaping_paths(sandbox, path):
    store, base = sandbox
    (base / "inner" / "x").mkdir()
    (base / "inner" / "x" / "keep").write_bytes(b"1")
    before = _all_files(base)
    for op in (store.rmdir, store.listdir, store.getsize, lambda p: store.rename(p, "y"),
               lambda p: store.rename("y", p)):
        with pytest.raises(ValueError):
            op(path)
    assert _all_files(base) == before


def test_concurrent_writers_never_tear_values(tmp_path):
    import threading

    store = DirectoryStore(str(tmp_path))
    values = [bytes([65 + i]) * 200_000 for i in range(4)]
    store["k"] = values[0]
    stop = threading.Event()
    seen, errors = set(), []

    def writer(value):
        for _ in range(20):
            store["k"] = value

    def reader():
        while not stop.is_set():
            try:
                v = store["k"]
            except Exception as e:  # noqa: BLE001
                errors.append(e)
                return
            if v not in values:
                errors.append(ValueError(f"torn value of length {len(v)}"))
                return
            seen.add(v[:1])

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(v,)) for v in values]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert store["k"] in values
    assert os.listdir(tmp_path) == ["k"]
