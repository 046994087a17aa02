"""Creation functions against zarr-python 2.18.7: same call, same store bytes, same values.

Covers create, empty, zeros, ones, full, array, the ``*_like`` family, open_like,
open_array in every mode (r, r+, a, w, w-, x) and ``zarr_fast.open`` for arrays, plus the
automatic chunk shape chosen for ``chunks=True``.
"""

import numpy as np
import pytest
from numcodecs import Zlib

import zarr_fast
from zarr_fast.errors import ArrayNotFoundError, ContainsArrayError, ContainsGroupError

CALLS = {
    "create": lambda m, s: m.create((9, 7), chunks=(4, 3), dtype="<i8", fill_value=5, store=s),
    "create-codec": lambda m, s: m.create(100, chunks=30, dtype="<f4", compressor=Zlib(level=2), store=s),
    "empty": lambda m, s: m.empty((6, 6), chunks=(5, 5), dtype="<u2", store=s),
    "zeros": lambda m, s: m.zeros((5, 4, 3), chunks=(2, 2, 2), dtype="<f8", store=s, order="F"),
    "ones": lambda m, s: m.ones((7,), chunks=(3,), dtype="<i2", store=s),
    "full": lambda m, s: m.full((4, 4), fill_value=-2.5, chunks=(3, 3), dtype="<f4", store=s),
    "full-nan": lambda m, s: m.full((4, 4), fill_value=np.nan, chunks=(3, 3), dtype="<f8", store=s),
    "full-str": lambda m, s: m.full((3,), fill_value="ab", chunks=(2,), dtype="<U2", store=s),
    "array": lambda m, s: m.array(np.arange(30, dtype="<i4").reshape(5, 6), chunks=(2, 4), store=s),
    "array-autochunk": lambda m, s: m.array(np.linspace(0, 1, 1000), store=s),
    "array-separator": lambda m, s: m.array(np.eye(5), chunks=(2, 2), store=s, dimension_separator="/"),
    "zero-d": lambda m, s: m.array(np.float32(3.5), store=s),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_creation_same_as_zarr(name, zarr2, store_items):
    ours_store, theirs_store = {}, {}
    ours = CALLS[name](zarr_fast, ours_store)
    theirs = CALLS[name](zarr2, theirs_store)
    assert isinstance(ours, zarr_fast.Array)
    assert store_items(ours_store) == store_items(theirs_store)
    assert (ours.shape, ours.chunks, ours.dtype, ours.order) == (
        theirs.shape, theirs.chunks, theirs.dtype, theirs.order)
    if name != "empty":
        np.testing.assert_array_equal(ours[...], theirs[...])


@pytest.mark.parametrize("shape,dtype", [
    ((100,), "i1"), ((10000, 10000), "f8"), ((3, 1000000), "u2"), ((50, 60, 70), "c16"), ((0,), "f4"),
    ((1,), "S100"),
])
def test_auto_chunks_match(shape, dtype, zarr2):
    ours = zarr_fast.create(shape, dtype=dtype, store={})
    theirs = zarr2.create(shape, dtype=dtype, store={})
    assert ours.chunks == theirs.chunks
    if 0 not in shape:  # zarr 2.18 would make a zero-sized chunk here; refusing it is fine
        whole = zarr_fast.create(shape, dtype=dtype, chunks=False, store={}).chunks
        assert whole == zarr2.create(shape, dtype=dtype, chunks=False, store={}).chunks == shape


@pytest.mark.parametrize("like", ["zeros_like", "ones_like", "empty_like", "full_like", "open_like"])
def test_like_functions(like, zarr2, tmp_path, store_items):
    source_values = np.arange(12, dtype="<f4").reshape(3, 4)
    results = []
    for module, tag in ((zarr_fast, "ours"), (zarr2, "theirs")):
        src = module.array(source_values, chunks=(2, 3), fill_value=1.5, compressor=Zlib(level=1),
                           store={})
        if like == "open_like":
            made = module.open_like(src, str(tmp_path / tag))
        elif like == "full_like":
            made = module.full_like(src, fill_value=7.0, store={})
        else:
            made = getattr(module, like)(src, store={})
        results.append(made)
    ours, theirs = results
    assert isinstance(ours, zarr_fast.Array)
    assert ours.shape == theirs.shape == (3, 4)
    assert ours.chunks == theirs.chunks
    assert ours.dtype == theirs.dtype
    assert ours.fill_value == theirs.fill_value
    assert ours.compressor.get_config() == theirs.compressor.get_config()
    if like != "empty_like":
        np.testing.assert_array_equal(ours[...], theirs[...])
    assert store_items(ours.store)[".zarray"] == store_items(theirs.store)[".zarray"]


def _prepare(module, path):
    module.array(np.arange(10), chunks=4, store=module.storage.DirectoryStore(path))


def test_open_array_mode_r(tmp_path, zarr2):
    missing = str(tmp_path / "missing")
    with pytest.raises(ArrayNotFoundError):
        zarr_fast.open_array(missing, mode="r")
    with pytest.raises(zarr2.errors.ArrayNotFoundError):
        zarr2.open_array(missing, mode="r")
    path = str(tmp_path / "a")
    _prepare(zarr2, path)
    z = zarr_fast.open_array(path, mode="r")
    assert z.read_only
    np.testing.assert_array_equal(z[...], np.arange(10))


def test_open_array_mode_r_plus(tmp_path):
    with pytest.raises(ArrayNotFoundError):
        zarr_fast.open_array(str(tmp_path / "missing"), mode="r+")
    path = str(tmp_path / "a")
    _prepare(zarr_fast, path)
    z = zarr_fast.open_array(path, mode="r+")
    z[:3] = -1
    np.testing.assert_array_equal(zarr_fast.open_array(path, mode="r")[:4], [-1, -1, -1, 3])


def test_open_array_mode_a(tmp_path, zarr2):
    path = str(tmp_path / "a")
    created = zarr_fast.open_array(path, mode="a", shape=(6,), chunks=(4,), dtype="i2", fill_value=3)
    created[0] = 1
    reopened = zarr_fast.open_array(path, mode="a", shape=(99,))  # existing: shape ignored
    assert reopened.shape == (6,)
    np.testing.assert_array_equal(zarr2.open_array(path, mode="r")[...], [1, 3, 3, 3, 3, 3])
    group_path = str(tmp_path / "g")
    zarr2.open_group(group_path, mode="w")
    with pytest.raises(ContainsGroupError):
        zarr_fast.open_array(group_path, mode="a")


def test_open_array_mode_w_overwrites(tmp_path, zarr2, store_items):
    path = str(tmp_path / "a")
    _prepare(zarr_fast, path)
    z = zarr_fast.open_array(path, mode="w", shape=(3,), chunks=(2,), dtype="f8")
    assert z.shape == (3,)
    np.testing.assert_array_equal(z[...], [0, 0, 0])
    keys = sorted(store_items(zarr_fast.storage.DirectoryStore(path)))
    assert keys == [".zarray"]  # old chunks are gone
    theirs_path = str(tmp_path / "b")
    zarr2.open_array(theirs_path, mode="w", shape=(3,), chunks=(2,), dtype="f8")
    assert (store_items(zarr_fast.storage.DirectoryStore(path))
            == store_items(zarr2.storage.DirectoryStore(theirs_path)))


@pytest.mark.parametrize("mode", ["w-", "x"])
def test_open_array_exclusive_modes(mode, tmp_path):
    path = str(tmp_path / "a")
    z = zarr_fast.open_array(path, mode=mode, shape=(4,), chunks=(2,))
    assert z.shape == (4,)
    with pytest.raises(ContainsArrayError):
        zarr_fast.open_array(path, mode=mode, shape=(4,), chunks=(2,))
    group_path = str(tmp_path / "g")
    zarr_fast.storage.DirectoryStore(group_path)[".zgroup"] = b'{\n    "zarr_format": 2\n}'
    with pytest.raises(ContainsGroupError):
        zarr_fast.open_array(group_path, mode=mode, shape=(4,))


def test_open_array_bad_mode(tmp_path):
    with pytest.raises(ValueError):
        zarr_fast.open_array(str(tmp_path / "a"), mode="q", shape=(2,))


def test_open_returns_array(tmp_path, zarr2):
    path = str(tmp_path / "a")
    z = zarr_fast.open(path, mode="w", shape=(5, 5), chunks=(2, 2), dtype="u1")
    assert isinstance(z, zarr_fast.Array)
    z[...] = 7
    again = zarr_fast.open(path)
    assert isinstance(again, zarr_fast.Array)
    np.testing.assert_array_equal(again[...], np.full((5, 5), 7, dtype="u1"))
    np.testing.assert_array_equal(zarr2.open(path, mode="r")[...], again[...])
    ro = zarr_fast.open(path, mode="r")
    assert ro.read_only
    with pytest.raises(zarr_fast.errors.PathNotFoundError):
        zarr_fast.open(str(tmp_path / "nothing"), mode="r")
