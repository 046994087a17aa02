"""init_array / init_group and the storage functions, differential against zarr 2.18.7.

Every case runs the same call on a zarr_fast store and on zarr-python's, then compares the
whole key -> bytes content of both stores, or the exception type raised.
"""
import os
import warnings

import numcodecs
import numpy as np
import pytest

import zarr_fast.storage as storage
from zarr_fast.errors import BadCompressorError, ContainsArrayError, ContainsGroupError
from zarr_fast.storage import (
    DirectoryStore,
    KVStore,
    MemoryStore,
    NestedDirectoryStore,
    contains_array,
    contains_group,
    init_array,
    init_group,
    normalize_store_arg,
)


def _content(store):
    return {k: bytes(store[k]) for k in store.keys()}


def _both(zarr2, fn_name, kwargs, ours=None, theirs=None):
    """Run ``fn_name(store, **kwargs)`` on both libraries; return (ours, theirs) results."""
    ours = KVStore(dict()) if ours is None else ours
    theirs = zarr2.storage.KVStore(dict()) if theirs is None else theirs
    outcome = []
    for module, store in ((storage, ours), (zarr2.storage, theirs)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                getattr(module, fn_name)(store, **kwargs)
                outcome.append(("ok", _content(store)))
            except Exception as e:  # noqa: BLE001 - the type is what is compared
                outcome.append(("raised", type(e).__name__))
    return outcome


ARRAY_CASES = [
    dict(shape=(10000, 10000), chunks=(1000, 1000)),
    dict(shape=100000000, chunks=1000000, dtype="i1", path="foo"),
    dict(shape=(100, 37), dtype="f4"),
    dict(shape=(20,), chunks=True, dtype="<u2", fill_value=7, order="F"),
    dict(shape=(5, 5), chunks=False, dtype=">i8", fill_value=-1),
    dict(shape=(), dtype="f8", fill_value=1.5),
    dict(shape=(3,), dtype="f8", fill_value=np.nan),
    dict(shape=(3,), dtype="f8", fill_value=-np.inf),
    dict(shape=(4,), dtype="c16", fill_value=1 + 2j),
    dict(shape=(4,), dtype="S5", fill_value=b"ab"),
    dict(shape=(4,), dtype="U3", fill_value="xy"),
    dict(shape=(4,), dtype="M8[ns]"),
    dict(shape=(4,), dtype="m8[s]", fill_value=3),
    dict(shape=(4,), dtype="bool", fill_value=True),
    dict(shape=(4,), dtype=[("a", "<i4"), ("b", "<f8")], fill_value=None),
    dict(shape=(4, 2), dtype="(3,)i2"),
    dict(shape=(10,), dtype=object, object_codec=numcodecs.VLenUTF8()),
    dict(shape=(10,), dtype=str),
    dict(shape=(10,), dtype=object, filters=[numcodecs.VLenBytes()]),
    dict(shape=(10,), compressor=None),
    dict(shape=(10,), compressor=[]),
    dict(shape=(10,), compressor="none"),
    dict(shape=(10,), compressor=numcodecs.Zlib(level=3)),
    dict(shape=(10,), compressor=numcodecs.Blosc(cname="zstd", clevel=1, shuffle=2)),
    dict(shape=(10,), filters=[numcodecs.Delta(dtype="f8")], compressor=numcodecs.Zlib()),
    dict(shape=(10, 10), dimension_separator="/"),
    dict(shape=(10, 10), dimension_separator="."),
    dict(shape=(10, 10), path="a/b/c"),
    dict(shape=(10, 10), path="/a//b/"),
    dict(shape=(0, 10)),
    dict(shape=(10,), chunks=(-1,)),
    dict(shape=(10,), dtype="i4", object_codec=numcodecs.VLenUTF8()),
]


@pytest.mark.parametrize("kwargs", ARRAY_CASES, ids=lambda kw: repr(kw)[:60])
def test_init_array_bytes_match_zarr(zarr2, kwargs):
    ours, theirs = _both(zarr2, "init_array", kwargs)
    assert ours[0] == "ok"
    assert ours == theirs


ERROR_CASES = [
    dict(shape=(10,), dtype=object),
    dict(shape=(10,), order="X"),
    dict(shape=(10,), compressor="zlib"),
    dict(shape=(10,), compressor=42),
    dict(shape=(10,), dtype="not-a-dtype"),
    dict(shape=(10,), dimension_separator="-"),
    dict(shape=(10,), chunks=(2, 2)),
    dict(shape=(10,), path="a/../b"),
    dict(shape=(10,), fill_value="abc", dtype="i4"),
]


@pytest.mark.parametrize("kwargs", ERROR_CASES, ids=lambda kw: repr(kw)[:60])
def test_init_array_errors_match_zarr(zarr2, kwargs):
    ours, theirs = _both(zarr2, "init_array", kwargs)
    assert ours[0] == "raised"
    assert ours == theirs


def test_bad_compressor_type():
    with pytest.raises(BadCompressorError):
        init_array(KVStore(dict()), shape=10, compressor=42)


def test_failed_init_array_leaves_store_untouched():
    store = KVStore(dict())
    init_array(store, shape=10, path="x/arr")
    store["x/arr/0"] = b"chunk"
    before = dict(store._mutable_mapping)
    with pytest.raises(ValueError):
        init_array(store, shape=10, dtype=object, path="x/arr", overwrite=True)
    assert dict(store._mutable_mapping) == before


def _prepare(kind):
    def run(module, store):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind in ("array", "array_parent"):
                module.init_array(store, shape=10, path="g/a")
                store["g/a/0"] = b"chunk"
            elif kind == "group":
                module.init_group(store, path="g/a")
            elif kind == "root_array":
                module.init_array(store, shape=10)
    return run


@pytest.mark.parametrize("existing", ["array", "group", "root_array"])
@pytest.mark.parametrize("target", ["g/a", "g", "", "g/a/b"])
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("fn", ["init_array", "init_group"])
def test_existing_nodes_match_zarr(zarr2, existing, target, overwrite, fn):
    ours, theirs = KVStore(dict()), zarr2.storage.KVStore(dict())
    _prepare(existing)(storage, ours)
    _prepare(existing)(zarr2.storage, theirs)
    kwargs = dict(path=target, overwrite=overwrite)
    if fn == "init_array":
        kwargs["shape"] = (4,)
    result = _both(zarr2, fn, kwargs, ours, theirs)
    assert result[0] == result[1]


def test_existing_node_exception_types():
    store = KVStore(dict())
    init_array(store, shape=10, path="arr")
    init_group(store, path="grp")
    with pytest.raises(ContainsArrayError, match="path 'arr' contains an array"):
        init_array(store, shape=10, path="arr")
    with pytest.raises(ContainsGroupError, match="path 'grp' contains a group"):
        init_array(store, shape=10, path="grp")
    with pytest.raises(ContainsArrayError, match="'arr'"):
        init_group(store, path="arr/sub")
    with pytest.raises(ContainsGroupError):
        init_group(store)  # the root group was created as a parent


def test_overwrite_removes_chunks_in_chunk_store(zarr2):
    store, chunk_store = KVStore(dict()), KVStore(dict())
    init_array(store, shape=10, chunks=5, path="a", chunk_store=chunk_store)
    chunk_store["a/0"] = b"c0"
    chunk_store["b/0"] = b"other"
    init_array(store, shape=20, chunks=5, path="a", chunk_store=chunk_store, overwrite=True)
    assert dict(chunk_store._mutable_mapping) == {"b/0": b"other"}
    assert b"20" in store["a/.zarray"]


@pytest.mark.parametrize("make", [
    lambda root: MemoryStore(dimension_separator="/"),
    lambda root: DirectoryStore(root, dimension_separator="/"),
    lambda root: NestedDirectoryStore(root),
])
def test_store_separator_is_the_default(tmp_path, zarr2, make):
    ours = make(str(tmp_path / "ours"))
    init_array(ours, shape=(4, 4), chunks=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = zarr2.storage.NestedDirectoryStore(str(tmp_path / "theirs"))
        zarr2.storage.init_array(theirs, shape=(4, 4), chunks=2)
    assert b'"dimension_separator": "/"' in ours[".zarray"]
    assert ours[".zarray"] == theirs[".zarray"]


def test_reassigned_default_compressor(monkeypatch):
    monkeypatch.setattr(storage.hierarchy, "default_compressor", numcodecs.Zlib(level=1))
    store = KVStore(dict())
    init_array(store, shape=10)
    assert b'"id": "zlib"' in store[".zarray"]


def test_storage_transformers_refused():
    with pytest.raises(ValueError):
        init_array(KVStore(dict()), shape=10, storage_transformers=["x"])


def test_init_group_bytes_and_parents(zarr2):
    ours, theirs = _both(zarr2, "init_group", dict(path="a/b/c"))
    assert ours == theirs
    assert ours[1][".zgroup"] == b'{\n    "zarr_format": 2\n}'
    assert sorted(ours[1]) == [".zgroup", "a/.zgroup", "a/b/.zgroup", "a/b/c/.zgroup"]


def test_written_array_opens_in_zarr(tmp_path, zarr2):
    store = DirectoryStore(str(tmp_path))
    init_array(store, shape=(6, 4), chunks=(3, 2), dtype="i2", fill_value=5, path="g/x")
    z = zarr2.open_array(str(tmp_path), path="g/x", mode="r")
    assert z.shape == (6, 4) and z.chunks == (3, 2) and z.dtype == np.dtype("i2")
    np.testing.assert_array_equal(z[:], np.full((6, 4), 5, dtype="i2"))
    assert zarr2.open_group(str(tmp_path), mode="r")["g"]["x"].shape == (6, 4)


def test_contains_functions():
    store = KVStore(dict())
    init_group(store, path="g")
    init_array(store, shape=3, path="g/a")
    assert contains_group(store) and contains_group(store, "/g/")
    assert not contains_group(store, "g/a")
    assert contains_array(store, "g/a") and not contains_array(store, "g")
    # plain mappings work too
    assert contains_array(dict(store._mutable_mapping), "g/a")


def test_storage_functions_on_plain_mapping():
    d = {"a/b": b"12", "a/c/d": b"3", "e": b"4"}
    with pytest.warns(UserWarning, match="listdir"):
        assert storage.listdir(d, "a") == ["b", "c"]
    assert storage.getsize(d, "a") == 2
    assert storage.getsize(d, "e") == 1
    assert storage.getsize(object()) == -1
    storage.rename(d, "a", "z")
    assert sorted(d) == ["e", "z/b", "z/c/d"]
    storage.rmdir(d, "z")
    assert d == {"e": b"4"}


def test_getsize_of_non_buffer_value_is_minus_one():
    assert storage.getsize(KVStore({"a": 1.5})) == -1


def test_normalize_store_arg(tmp_path):
    assert isinstance(normalize_store_arg(None), KVStore)
    d = {}
    wrapped = normalize_store_arg(d)
    assert isinstance(wrapped, KVStore) and wrapped._mutable_mapping is d
    mem = MemoryStore()
    assert normalize_store_arg(mem) is mem
    ds = normalize_store_arg(str(tmp_path / "x"))
    assert isinstance(ds, DirectoryStore) and ds.path == str(tmp_path / "x")
    assert normalize_store_arg(tmp_path / "y").path == str(tmp_path / "y")
    # URLs and .zip paths: their stores (imported lazily), with the mode passed on
    pytest.importorskip("fsspec")
    from zarr_fast.storage.fsstore import FSStore
    from zarr_fast.storage.zip import ZipStore

    mem = normalize_store_arg("memory://normalize-x", mode="r")
    assert isinstance(mem, FSStore) and mem.mode == "r" and mem.path == "/normalize-x"
    local = normalize_store_arg(f"file://{tmp_path}/u", mode="w")
    assert isinstance(local, FSStore) and local.path == f"{tmp_path}/u"
    opts = normalize_store_arg("memory://normalize-y", storage_options={"skip_instance_cache": True})
    assert isinstance(opts, FSStore)
    zipped = normalize_store_arg(str(tmp_path / "a.zip"), mode="w")
    assert isinstance(zipped, ZipStore)
    zipped.close()
    with pytest.raises(ValueError, match="storage_options"):
        normalize_store_arg(str(tmp_path), storage_options={"a": 1})
    with pytest.raises(ValueError):
        normalize_store_arg(42)
    with pytest.raises(NotImplementedError):
        normalize_store_arg(None, zarr_version=3)
    assert not os.path.exists(tmp_path / "x")  # no directory created until a write
