"""Convenience functions: open, save/load, copy_store/copy/copy_all, tree.

Most tests run one scenario through zarr_fast and through zarr-python 2.18.7 and compare
what matters to a caller: return tuples, log lines, the data read back, and the stored
keys and bytes. Bad input: existing destinations, unknown ``if_exists``, non-group
destinations, an array whose data cannot be read halfway through a copy.
"""
import io

import numpy as np
import pytest

import zarr_fast
from zarr_fast.errors import ContainsGroupError, CopyError, PathNotFoundError


def _source(lib, store=None):
    root = lib.group(store=store if store is not None else lib.MemoryStore())
    root.attrs["top"] = True
    foo = root.create_group("foo")
    foo.attrs["x"] = "y"
    bar = foo.create_group("bar")
    baz = bar.create_dataset("baz", shape=(100,), chunks=(10,), dtype="i8", fill_value=7)
    baz[:55] = np.arange(55)
    baz.attrs["units"] = "s"
    foo.create_dataset("spam", data=np.arange(1000).reshape(10, 100), chunks=(3, 30))
    root.create_dataset("scalar", data=np.float32(3.5), shape=())
    root.create_dataset("text", data=np.array(["a", "bb", "ccc"]), chunks=(2,))
    return root


def _run(lib, action):
    """Run ``action(lib, src, dst, log)``; return its result, the log and dst's items."""
    src = _source(lib)
    dst = lib.group(store=lib.MemoryStore())
    lines = []
    result = action(lib, src, dst, lines.append)
    return result, lines, {k: bytes(v) for k, v in dst.store.items()}


def _same(zarr2, action):
    ours = _run(zarr_fast, action)
    theirs = _run(zarr2, action)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert ours[2] == theirs[2]
    return ours


# ------------------------------------------------------------------------------ open/save


def test_open_returns_group_or_array(tmp_path):
    path = str(tmp_path / "data.zarr")
    root = zarr_fast.open(path, mode="w")
    assert isinstance(root, zarr_fast.Group)
    root.create_dataset("a", data=np.arange(4))
    assert isinstance(zarr_fast.open(path, mode="r"), zarr_fast.Group)
    assert isinstance(zarr_fast.open(path, mode="a"), zarr_fast.Group)
    arr = zarr_fast.open(path, mode="r", path="a")
    assert isinstance(arr, zarr_fast.Array)
    assert arr[:].tolist() == [0, 1, 2, 3]
    created = zarr_fast.open(path, mode="a", path="b", shape=(3,), dtype="u1")
    assert isinstance(created, zarr_fast.Array) and created.shape == (3,)


def test_open_missing_path_in_read_modes(tmp_path):
    for mode in ("r", "r+"):
        with pytest.raises(PathNotFoundError):
            zarr_fast.open(str(tmp_path / "missing"), mode=mode)


def test_open_array_on_group_refused():
    store = zarr_fast.MemoryStore()
    zarr_fast.group(store=store)
    with pytest.raises(ContainsGroupError):
        zarr_fast.open_array(store, mode="a")


def test_save_array_bytes_match_zarr2(zarr2):
    data = np.arange(2000, dtype="<i4").reshape(40, 50)
    ours, theirs = zarr_fast.MemoryStore(), zarr2.MemoryStore()
    zarr_fast.save_array(ours, data, chunks=(16, 16))
    zarr2.save_array(theirs, data, chunks=(16, 16))
    assert dict(ours) == dict(theirs)
    np.testing.assert_array_equal(zarr_fast.load(ours), data)


def test_save_group_and_load_lazily(zarr2, tmp_path):
    a, b = np.arange(10), np.linspace(0, 1, 5)
    zarr_fast.save(str(tmp_path / "ours"), a, b, named=np.ones(3, dtype="u2"))
    zarr2.save(str(tmp_path / "theirs"), a, b, named=np.ones(3, dtype="u2"))
    loader = zarr_fast.load(str(tmp_path / "ours"))
    assert isinstance(loader, zarr_fast.LazyLoader)
    assert repr(loader) == "<LazyLoader: arr_0, arr_1, named>"
    assert repr(loader) == repr(zarr2.load(str(tmp_path / "theirs")))
    assert len(loader) == 3 and "named" in loader and "nope" not in loader
    assert loader.cache == {}
    np.testing.assert_array_equal(loader["arr_1"], b)
    assert list(loader.cache) == ["arr_1"]
    # zarr 2.18 reads what we saved, byte for byte the same files
    theirs = zarr2.load(str(tmp_path / "ours"))
    np.testing.assert_array_equal(theirs["named"], np.ones(3, dtype="u2"))
    for name in ("arr_0", "arr_1", "named"):
        for key in (".zarray", "0"):
            assert (tmp_path / "ours" / name / key).read_bytes() == (
                tmp_path / "theirs" / name / key
            ).read_bytes()


def test_save_one_array_and_load_missing(tmp_path):
    zarr_fast.save(str(tmp_path / "one"), np.arange(3))
    assert zarr_fast.load(str(tmp_path / "one")).tolist() == [0, 1, 2]
    assert zarr_fast.load(zarr_fast.MemoryStore()) is None


@pytest.mark.parametrize("func", ["save", "save_group"])
def test_save_without_data_refused(func):
    with pytest.raises(ValueError, match="at least one array must be provided"):
        getattr(zarr_fast, func)(zarr_fast.MemoryStore())


# ------------------------------------------------------------------------------- copy_store


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"source_path": "foo", "dest_path": "copied/here"},
        {"excludes": "spam", "includes": r"spam/\.z"},
        {"excludes": ["BAR", r"\.zattrs"], "flags": 2},  # re.IGNORECASE
        {"dry_run": True},
    ],
)
def test_copy_store_matches_zarr2(zarr2, kwargs):
    def action(lib, src, dst, log):
        return lib.copy_store(src.store, dst.store, log=log, if_exists="replace", **kwargs)

    result, lines, _ = _same(zarr2, action)
    assert lines[-1].startswith("dry run: " if kwargs.get("dry_run") else "all done: ")
    assert result[0] == len(lines) - 1


@pytest.mark.parametrize("if_exists", ["skip", "replace"])
def test_copy_store_if_exists(zarr2, if_exists):
    def action(lib, src, dst, log):
        lib.copy_store(src.store, dst.store, source_path="foo/bar", dest_path="foo/bar")
        dst.store["foo/bar/baz/0"] = b"old"
        return lib.copy_store(src.store, dst.store, if_exists=if_exists, log=log)

    result, lines, items = _same(zarr2, action)
    assert ("skip foo/bar/baz/0" in lines) == (if_exists == "skip")
    assert (items["foo/bar/baz/0"] == b"old") == (if_exists == "skip")


def test_copy_store_raise_names_key_and_keeps_earlier_keys():
    src = {"a": b"1", "b": b"22", "c": b"333"}
    dest = {"b": b"x"}
    with pytest.raises(CopyError, match="key 'b' exists in destination"):
        zarr_fast.copy_store(src, dest)
    assert dest == {"a": b"1", "b": b"x"}


def test_copy_store_log_to_file_and_bad_args(tmp_path):
    log_path = tmp_path / "log.txt"
    assert zarr_fast.copy_store({"k": b"abc"}, {}, log=str(log_path)) == (1, 0, 3)
    assert log_path.read_text() == "copy k\nall done: 1 copied, 0 skipped, 3 bytes copied\n"
    stream = io.StringIO()
    zarr_fast.copy_store({"k": b"abc"}, {}, log=stream, dry_run=True)
    assert stream.getvalue() == "copy k\ndry run: 1 copied, 0 skipped\n"
    with pytest.raises(ValueError, match="if_exists must be one of"):
        zarr_fast.copy_store({}, {}, if_exists="skip_initialized")
    with pytest.raises(TypeError, match="log must be a callable"):
        zarr_fast.copy_store({}, {}, log=42)


def test_copy_store_many_keys_between_directories(tmp_path):
    src = zarr_fast.DirectoryStore(str(tmp_path / "src"))
    arr = zarr_fast.create(shape=(1000,), chunks=(1,), dtype="u1", store=src)
    arr[:] = np.arange(1000) % 251
    dest = zarr_fast.DirectoryStore(str(tmp_path / "dst"))
    n_copied, n_skipped, n_bytes = zarr_fast.copy_store(src, dest)
    assert (n_copied, n_skipped) == (1001, 0)
    assert n_bytes == sum(len(src[k]) for k in src)
    np.testing.assert_array_equal(zarr_fast.open(dest, mode="r")[:], np.arange(1000) % 251)


# ------------------------------------------------------------------------------ copy


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"name": "renamed"},
        {"shallow": True},
        {"without_attrs": True},
        {"dry_run": True},
        {"chunks": (4, 4)},  # rechunk: goes through the Array API
        {"compressor": None},
    ],
)
def test_copy_group_matches_zarr2(zarr2, kwargs):
    def action(lib, src, dst, log):
        source = src["foo"] if "chunks" not in kwargs else src["foo/spam"]
        return lib.copy(source, dst, log=log, **kwargs)

    _same(zarr2, action)


def test_copy_array_and_scalar_match_zarr2(zarr2):
    def action(lib, src, dst, log):
        out = [lib.copy(src["foo/bar/baz"], dst, log=log)]
        out.append(lib.copy(src["scalar"], dst, log=log))
        out.append(lib.copy(src["text"], dst, log=log))
        return out

    _, _, items = _same(zarr2, action)
    assert "baz/9" in items  # chunks never written are copied as the fill value, as 2.18


@pytest.mark.parametrize("if_exists", ["skip", "replace", "skip_initialized"])
def test_copy_if_exists_matches_zarr2(zarr2, if_exists):
    def action(lib, src, dst, log):
        lib.copy(src["foo"], dst)
        dst["foo/bar/baz"][0] = -5
        partial = dst.create_dataset("foo/spam", shape=(10, 100), chunks=(3, 30), overwrite=True)
        partial[0, 0] = 1
        return lib.copy(src["foo"], dst, log=log, if_exists=if_exists)

    result, lines, items = _same(zarr2, action)
    if if_exists == "skip_initialized":
        assert "skip /foo/bar/baz (100,) int64" in lines
        assert "copy /foo/spam (10, 100) int64" in lines


def test_copy_raise_names_existing_object(zarr2):
    for lib in (zarr_fast, zarr2):
        src = _source(lib)
        dst = lib.group()
        lib.copy(src["foo"], dst)
        with pytest.raises(lib.errors.CopyError, match="an object 'baz' already exists in destination '/foo/bar'"):
            lib.copy(src["foo"], dst)
        dst.create_dataset("g", shape=(1,))
        with pytest.raises(lib.errors.CopyError, match="an array 'g' already exists in destination '/'"):
            lib.copy(src["foo"], dst, name="g")


def test_copy_all_matches_zarr2(zarr2):
    def action(lib, src, dst, log):
        first = lib.copy_all(src, dst, log=log)
        second = lib.copy_all(src, dst, log=log, if_exists="skip")
        return first, second, dict(dst.attrs)

    (first, second, attrs), _, _ = _same(zarr2, action)
    assert first == (6, 0, 8000 + 800 + 4 + 3 * np.dtype("<U3").itemsize)
    assert second == (2, 4, 0)
    assert attrs == {"top": True}


def test_copy_between_libraries(zarr2):
    # zarr 2.18 source into a zarr_fast group (data through the Array API) and back
    theirs = _source(zarr2)
    ours = zarr_fast.group()
    assert zarr_fast.copy_all(theirs, ours) == zarr2.copy_all(theirs, zarr2.group())
    np.testing.assert_array_equal(ours["foo/bar/baz"][:], theirs["foo/bar/baz"][:])
    back = zarr2.group()
    zarr2.copy_all(ours, back)
    np.testing.assert_array_equal(back["foo/spam"][:], theirs["foo/spam"][:])
    assert back["foo"].attrs["x"] == "y"


def test_copy_raw_path_copies_chunk_bytes(tmp_path):
    src = zarr_fast.open(str(tmp_path / "src"), mode="w")
    arr = src.create_dataset("a", shape=(64, 64), chunks=(8, 16), dtype="f4", fill_value=np.nan)
    arr[:40] = np.random.default_rng(0).random((40, 64))
    dst = zarr_fast.open(zarr_fast.NestedDirectoryStore(str(tmp_path / "dst")), mode="w")
    assert zarr_fast.copy(arr, dst) == (1, 0, 64 * 64 * 4)
    out = dst["a"]
    assert out.nchunks_initialized == out.nchunks
    np.testing.assert_array_equal(out[:], arr[:])
    # same bytes under the other separator
    assert dst.store["a/0/0"] == src.store["a/0.0"]


def test_copy_dest_must_be_group():
    src = _source(zarr_fast)
    with pytest.raises(ValueError, match="dest must be a group"):
        zarr_fast.copy(src["foo"], zarr_fast.zeros(3))
    with pytest.raises(ValueError, match="if_exists must be one of"):
        zarr_fast.copy(src["foo"], zarr_fast.group(), if_exists="never")


class _FailingStore(zarr_fast.KVStore):
    """A store whose reads of one key fail, as a broken disk would."""

    def __init__(self, mapping, bad_key):
        super().__init__(mapping)
        self.bad_key = bad_key

    def __getitem__(self, key):
        if key == self.bad_key:
            raise OSError("disk error")
        return super().__getitem__(key)


def test_failed_copy_names_array_and_keeps_finished_ones():
    src_dict = {}
    root = zarr_fast.group(store=zarr_fast.KVStore(src_dict))
    root.create_dataset("a_first", data=np.arange(20), chunks=(5,))
    root.create_dataset("b_broken", data=np.arange(20), chunks=(5,))
    source = zarr_fast.open_group(_FailingStore(src_dict, "b_broken/2"), mode="r")
    dst = zarr_fast.group()
    stream = io.StringIO()
    with pytest.raises(CopyError, match="b_broken") as info:
        zarr_fast.copy_all(source, dst, log=stream)
    assert isinstance(info.value.__cause__, OSError)
    assert dst["a_first"][:].tolist() == list(range(20))
    assert stream.getvalue().splitlines() == ["copy /a_first (20,) int64", "copy /b_broken (20,) int64"]
    # re-running with if_exists='skip' leaves the finished array alone
    dst_ok = zarr_fast.group()
    zarr_fast.copy(root["a_first"], dst_ok)
    assert zarr_fast.copy_all(root, dst_ok, if_exists="skip") == (1, 1, 160)


# ---------------------------------------------------------------------------------- tree


def test_tree_matches_zarr2(zarr2):
    ours, theirs = _source(zarr_fast), _source(zarr2)
    assert str(zarr_fast.tree(ours)) == str(zarr2.tree(theirs))
    assert str(zarr_fast.tree(ours, level=1)) == str(zarr2.tree(theirs, level=1))
    assert repr(zarr_fast.tree(ours["foo"])) == repr(zarr2.tree(theirs["foo"]))


@pytest.mark.parametrize("block_nbytes", [1, 200, 10**9])
def test_copy_through_array_api_any_block_size(monkeypatch, block_nbytes):
    # block sizes below one chunk row fall back to chunk-by-chunk; larger ones use slabs
    from zarr_fast import convenience

    monkeypatch.setattr(convenience, "_BLOCK_NBYTES", block_nbytes)
    data = np.arange(37 * 23, dtype="i2").reshape(37, 23)
    src = zarr_fast.group()
    src.create_dataset("a", data=data, chunks=(5, 7))
    dst = zarr_fast.group()
    assert zarr_fast.copy(src["a"], dst, chunks=(4, 6)) == (1, 0, data.nbytes)
    assert dst["a"].chunks == (4, 6)
    np.testing.assert_array_equal(dst["a"][:], data)
