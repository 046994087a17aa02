"""FSStore over local paths, ``file://`` and ``memory://`` URLs, differential against zarr 2.18.7.

Checks real values read back, the files written (same bytes as zarr 2.18's FSStore and
DirectoryStore), chunk-key separators, read-only mode, and that a failed read is an error
naming the store and key, never a silent fill value.
"""
import itertools
import os
import pickle

import numpy as np
import pytest

pytest.importorskip("fsspec")

import fsspec  # noqa: E402

import zarr_fast  # noqa: E402
from zarr_fast.errors import ReadOnlyError  # noqa: E402
from zarr_fast.storage import DirectoryStore, normalize_store_arg  # noqa: E402
from zarr_fast.storage.fsstore import FSStore  # noqa: E402

_NAMES = itertools.count()


@pytest.fixture
def memory_url():
    """A fresh ``memory://`` root, emptied afterwards (the memory file system is global)."""
    path = f"/zf-test-{os.getpid()}-{next(_NAMES)}"
    yield "memory://" + path
    fs = fsspec.filesystem("memory")
    if fs.exists(path):
        fs.rm(path, recursive=True)


def _files(root):
    """``{relative path: bytes}`` of every file under a local directory."""
    out = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, root).replace(os.sep, "/")] = f.read()
    return out


def _data(shape=(7, 9), dtype="i4"):
    return np.arange(np.prod(shape), dtype=dtype).reshape(shape)


# -- mapping basics ----------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["path", "file_url"])
def test_local_round_trip_and_layout(tmp_path, spelling):
    root = tmp_path / "store"
    url = str(root) if spelling == "path" else f"file://{root}"
    store = FSStore(url)
    assert store.path == str(root)
    store["a/b/c"] = b"abc"
    store["x"] = np.arange(3, dtype="<i2")
    assert store["a/b/c"] == b"abc"
    assert store["x"] == np.arange(3, dtype="<i2").tobytes()
    assert _files(root) == {"a/b/c": b"abc", "x": b"\x00\x00\x01\x00\x02\x00"}
    assert sorted(store) == ["a/b/c", "x"] and len(store) == 2
    assert store.listdir() == ["a", "x"] and store.listdir("a") == ["b"]
    assert "a/b" not in store and "a/b/c" in store
    with pytest.raises(KeyError):
        store["a/b"]  # a directory is not a key
    with pytest.raises(KeyError):
        store["nope"]


def test_memory_url_round_trip(memory_url):
    store = FSStore(memory_url)
    store.setitems({"g/0.0": b"1", "g/0.1": bytearray(b"22"), "g/.zattrs": memoryview(b"{}")})
    assert store.getitems(["g/0.0", "g/0.1", "g/9.9"]) == {"g/0.0": b"1", "g/0.1": b"22"}
    assert sorted(store) == ["g/.zattrs", "g/0.0", "g/0.1"]
    assert store.getsize("g") == 5
    store.delitems(["g/0.0", "g/absent"])
    assert sorted(store) == ["g/.zattrs", "g/0.1"]
    store.clear()
    assert list(store) == []


def test_batch_calls_are_one_file_system_call_each(memory_url, monkeypatch):
    store = FSStore(memory_url)
    calls = []
    original_pipe = store.fs.pipe

    def counting_pipe(*args, **kwargs):
        calls.append("pipe")
        return original_pipe(*args, **kwargs)

    monkeypatch.setattr(store.fs, "pipe", counting_pipe)
    store.setitems({f"k{i}": bytes([i]) for i in range(10)})
    assert calls == ["pipe"]
    assert store.getitems([f"k{i}" for i in range(10)]) == {f"k{i}": bytes([i]) for i in range(10)}


def test_normalize_keys_lower_cases(memory_url):
    store = FSStore(memory_url, normalize_keys=True)
    store["Foo/BAR"] = b"1"
    assert sorted(store) == ["foo/bar"]
    assert store["FOO/bar"] == b"1"


def test_fs_argument(tmp_path):
    fs = fsspec.filesystem("file", auto_mkdir=True)
    store = FSStore(str(tmp_path / "s"), fs=fs)
    store["k/v"] = b"1"
    assert (tmp_path / "s" / "k" / "v").read_bytes() == b"1"
    with pytest.raises(ValueError, match="both fs and storage_options"):
        FSStore(str(tmp_path / "s"), fs=fs, auto_mkdir=True)


def test_pickle_and_equality(tmp_path, memory_url):
    for url in (str(tmp_path / "p"), memory_url):
        store = FSStore(url)
        store["a/0.0"] = b"zz"
        clone = pickle.loads(pickle.dumps(store))
        assert clone == store and clone["a/0.0"] == b"zz"
        assert FSStore(url, mode="r") != store
    assert FSStore(str(tmp_path / "p")) != FSStore(str(tmp_path / "q"))


# -- separators ----------------------------------------------------------------------------


@pytest.mark.parametrize("kwarg", ["key_separator", "dimension_separator"])
def test_nested_chunk_keys(tmp_path, kwarg):
    root = tmp_path / "nested"
    store = FSStore(str(root), **{kwarg: "/"})
    assert store.key_separator == "/" and store._dimension_separator == "/"
    arr = zarr_fast.create(store=store, shape=(4, 6), chunks=(2, 3), dtype="u1", path="arr")
    arr[:] = _data((4, 6), "u1")
    files = _files(root)
    assert json_separator(files["arr/.zarray"]) == "/"
    assert sorted(k for k in files if not k.endswith(".zarray")) == [
        ".zgroup", "arr/0/0", "arr/0/1", "arr/1/0", "arr/1/1"]
    # listdir maps nested chunk directories back to chunk keys, as zarr 2.18 does
    assert store.listdir("arr") == [".zarray", "0.0", "0.1", "1.0", "1.1"]
    # "." chunk keys are rewritten, other keys are left alone
    store["arr/0.0"] = files["arr/0/0"]
    assert sorted(_files(root)) == sorted(files)
    store["other.name"] = b"x"
    assert (root / "other.name").read_bytes() == b"x"
    np.testing.assert_array_equal(zarr_fast.open_array(store, path="arr")[:], _data((4, 6), "u1"))


def json_separator(document):
    import json

    return json.loads(document).get("dimension_separator")


def test_default_separator_is_dot(tmp_path):
    store = FSStore(str(tmp_path / "d"))
    assert store.key_separator == "." and store._dimension_separator is None
    arr = zarr_fast.zeros((4,), chunks=(2,), store=store)
    arr[:] = 1
    assert sorted(_files(tmp_path / "d")) == [".zarray", "0", "1"]


# -- read-only mode ------------------------------------------------------------------------


def test_mode_r_refuses_every_write(tmp_path):
    writer = FSStore(str(tmp_path / "r"))
    writer["a/b"] = b"1"
    store = FSStore(str(tmp_path / "r"), mode="r")
    assert store["a/b"] == b"1" and store.getitems(["a/b"]) == {"a/b": b"1"}
    for write in (
        lambda: store.__setitem__("c", b"2"),
        lambda: store.__delitem__("a/b"),
        lambda: store.setitems({"c": b"2"}),
        lambda: store.delitems(["a/b"]),
        lambda: store.rmdir("a"),
        store.clear,
        lambda: store.rename("a", "z"),
    ):
        with pytest.raises(ReadOnlyError):
            write()
    assert _files(tmp_path / "r") == {"a/b": b"1"}


def test_open_url_read_only_array(tmp_path):
    url = f"file://{tmp_path}/ro"
    arr = zarr_fast.open_array(url, mode="w", shape=(5,), chunks=(2,), dtype="f8")
    arr[:] = np.arange(5.0)
    ro = zarr_fast.open_array(url, mode="r")
    assert isinstance(ro.store, FSStore) and ro.store.mode == "r"
    np.testing.assert_array_equal(ro[:], np.arange(5.0))
    with pytest.raises(ReadOnlyError):
        ro[0] = 9


# -- errors are not fill values --------------------------------------------------------------


def test_failed_read_names_store_and_key(memory_url, monkeypatch):
    store = FSStore(memory_url)
    arr = zarr_fast.full((6,), -1, chunks=(2,), dtype="i4", store=store)
    arr[:] = np.arange(6)
    original = store.fs.cat_file

    def denied(path, *args, **kwargs):
        if path.endswith("/1"):
            raise PermissionError(13, "Access Denied")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(store.fs, "cat_file", denied)
    with pytest.raises(PermissionError, match="Access Denied") as info:
        store["1"]
    assert memory_url in str(info.value) and "'1'" in str(info.value)
    assert isinstance(info.value.__cause__, PermissionError)
    with pytest.raises(PermissionError, match=r"key '1'"):
        store.getitems(["0", "1", "2"])
    with pytest.raises(PermissionError):
        arr[:]  # not the fill value
    np.testing.assert_array_equal(arr[:2], [0, 1])  # other chunks still read


def test_other_failures_become_named_oserror(memory_url, monkeypatch):
    store = FSStore(memory_url)
    store["k"] = b"v"

    def broken(path, *args, **kwargs):
        raise RuntimeError("socket closed")

    monkeypatch.setattr(store.fs, "cat_file", broken)
    monkeypatch.setattr(store.fs, "info", broken)
    with pytest.raises(OSError, match="RuntimeError: socket closed") as info:
        store["k"]
    assert memory_url in str(info.value)
    with pytest.raises(OSError, match="looking up key 'k'"):
        "k" in store


def test_missing_fsspec_is_a_clear_import_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(ImportError, match=r"pip install zarr-fast\[fsspec\]"):
        FSStore("memory://x")


def test_missing_protocol_package_names_the_extra(monkeypatch):
    def no_s3fs(*args, **kwargs):
        raise ImportError("Install s3fs to access S3")

    monkeypatch.setattr(fsspec, "get_mapper", no_s3fs)
    with pytest.raises(ImportError, match=r"s3fs.*pip install zarr-fast\[s3\]"):
        FSStore("s3://bucket/x")
    with pytest.raises(ImportError, match=r"pip install zarr-fast\[s3\]"):
        FSStore("simplecache::s3://bucket/x")
    with pytest.raises(ImportError, match="'gcs' protocol"):
        FSStore("gcs://bucket/x")


# -- interop with zarr 2.18.7 ---------------------------------------------------------------


@pytest.mark.parametrize("separator", [".", "/"])
def test_same_files_as_zarr_fsstore(tmp_path, zarr2, separator):
    data = _data((7, 9), "<f8")
    ours = FSStore(str(tmp_path / "ours"), key_separator=separator)
    theirs = zarr2.storage.FSStore(str(tmp_path / "theirs"), key_separator=separator)
    for module, store in ((zarr_fast, ours), (zarr2, theirs)):
        root = module.group(store=store)
        arr = root.create_dataset("x/y", shape=data.shape, chunks=(3, 4), dtype=data.dtype)
        arr[:] = data
        root.attrs["k"] = 1
    assert _files(tmp_path / "ours") == _files(tmp_path / "theirs")
    assert ours.listdir("x/y") == theirs.listdir("x/y")
    assert ours.getsize("x/y") == theirs.getsize("x/y")
    assert sorted(ours) == sorted(theirs)


def test_zarr_reads_ours_and_we_read_zarrs(tmp_path, zarr2):
    data = _data((10, 5), "i8")
    url = f"file://{tmp_path}/a"
    arr = zarr_fast.open_array(url, mode="w", shape=data.shape, chunks=(4, 2), dtype="i8")
    arr[:] = data
    np.testing.assert_array_equal(zarr2.open_array(url, mode="r")[:], data)

    url2 = f"file://{tmp_path}/b"
    theirs = zarr2.open_array(url2, mode="w", shape=data.shape, chunks=(3, 3), dtype="i8",
                              fill_value=7)
    theirs[:5] = data[:5]
    got = zarr_fast.open_array(url2, mode="r")
    np.testing.assert_array_equal(got[:], np.concatenate([data[:5], np.full((5, 5), 7)]))


def test_groups_and_consolidated_metadata_on_memory(memory_url):
    root = zarr_fast.open_group(memory_url, mode="w")
    root.create_dataset("a", data=np.arange(10), chunks=5)
    root.create_group("sub").zeros("b", shape=(3, 3), chunks=(2, 2))
    zarr_fast.consolidate_metadata(memory_url)
    assert ".zmetadata" in FSStore(memory_url)
    opened = zarr_fast.open_consolidated(memory_url, mode="r")
    np.testing.assert_array_equal(opened["a"][:], np.arange(10))
    assert opened["sub/b"].shape == (3, 3)
    assert sorted(opened) == ["a", "sub"]


# -- normalize_store_arg ----------------------------------------------------------------------


def test_normalize_store_arg_urls_and_mappers(tmp_path, memory_url):
    store = normalize_store_arg(memory_url, mode="w")
    assert isinstance(store, FSStore) and store.mode == "w"
    chained = normalize_store_arg(f"simplecache::file://{tmp_path}/c", mode="r")
    assert isinstance(chained, FSStore)
    mapper = fsspec.get_mapper(memory_url)
    from_mapper = normalize_store_arg(mapper, mode="r")
    assert isinstance(from_mapper, FSStore) and from_mapper.fs is mapper.fs
    assert from_mapper.map.root == mapper.root and from_mapper.mode == "r"
    assert isinstance(normalize_store_arg(str(tmp_path / "plain")), DirectoryStore)
    with pytest.raises(ValueError, match="storage_options"):
        normalize_store_arg(str(tmp_path / "plain"), storage_options={"anon": True})


def test_write_under_a_value_is_key_error_other_write_failures_are_not(memory_url, tmp_path,
                                                                       monkeypatch):
    for store in (FSStore(memory_url), FSStore(str(tmp_path / "w"))):
        store["a/b"] = b"1"
        with pytest.raises(KeyError):
            store["a/b/c"] = b"2"  # a value sits where the directory must go
        with pytest.raises(KeyError):
            del store["a/b/c"]
        assert sorted(store) == ["a/b"]

    store = FSStore(memory_url)

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Access Denied")

    monkeypatch.setattr(store.fs, "pipe_file", denied)
    with pytest.raises(PermissionError, match="writing key 'x'") as info:
        store["x"] = b"1"
    assert not isinstance(info.value, KeyError)
