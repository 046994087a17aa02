"""The ``zarr_fast.Array`` API surface, compared against zarr-python 2.18.7 doing the same.

Covers the properties (shape, chunks, dtype, codecs, sizes, names, info text), resize and
append (including the chunk deletion a shrinking resize performs), view and astype, digests,
iteration, NumPy conversion, equality, pickling, ``write_empty_chunks`` and read-only refusal.
"""

import pickle

import numpy as np
import pytest
from numcodecs import Blosc, Delta, Zlib

import zarr_fast
from zarr_fast.errors import ReadOnlyError


def _pair(zarr2, shape=(10, 8), chunks=(3, 3), dtype="<i4", **kwargs):
    """One array per library on dict stores, filled with the same values."""
    ours_store, theirs_store = {}, {}
    ours = zarr_fast.create(shape=shape, chunks=chunks, dtype=dtype, store=ours_store, **kwargs)
    theirs = zarr2.create(shape=shape, chunks=chunks, dtype=dtype, store=theirs_store, **kwargs)
    return ours, theirs, ours_store, theirs_store


def _fill_both(ours, theirs, region=Ellipsis):
    values = np.arange(int(np.prod(ours.shape)), dtype=ours.dtype).reshape(ours.shape)
    ours[region] = values[region]
    theirs[region] = values[region]
    return values


def test_properties_match_zarr(zarr2):
    compressor = Blosc(cname="zstd", clevel=2, shuffle=Blosc.BITSHUFFLE)
    ours, theirs, _, _ = _pair(zarr2, shape=(10, 8), chunks=(3, 3), fill_value=4,
                               compressor=compressor, filters=[Delta(dtype="<i4")], order="F")
    for name in ("shape", "chunks", "dtype", "fill_value", "order", "nchunks", "nchunks_initialized",
                 "cdata_shape", "nbytes", "nbytes_stored", "size", "itemsize", "ndim", "name",
                 "basename", "read_only", "_dimension_separator"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.shape == (10, 8) and ours.chunks == (3, 3) and ours.cdata_shape == (4, 3)
    assert ours.nchunks == 12 and ours.nchunks_initialized == 0
    assert ours.nbytes == 320 and ours.size == 80 and ours.itemsize == 4 and ours.ndim == 2
    assert ours.compressor.get_config() == theirs.compressor.get_config()
    assert [f.get_config() for f in ours.filters] == [f.get_config() for f in theirs.filters]
    _fill_both(ours, theirs, (slice(0, 4), slice(None)))
    assert ours.nchunks_initialized == theirs.nchunks_initialized == 6
    assert ours.nbytes_stored == theirs.nbytes_stored


def test_name_and_basename_in_hierarchy_path(zarr2):
    ours = zarr_fast.zeros((4,), chunks=(2,), store={}, path="a/b/c")
    theirs = zarr2.zeros((4,), chunks=(2,), store={}, path="a/b/c")
    assert ours.name == theirs.name == "/a/b/c"
    assert ours.basename == theirs.basename == "c"
    assert ours.path == "a/b/c"
    root = zarr_fast.zeros((4,), store={})
    assert root.name is None and root.basename is None  # zarr 2.18: no path, no name


def test_info_text_matches(zarr2):
    ours, theirs, _, _ = _pair(zarr2, compressor=Zlib(level=1), fill_value=0)
    _fill_both(ours, theirs, (slice(0, 5),))

    def normalise(text):
        lines = [line for line in str(text).splitlines() if not line.startswith("Type")]
        return [line.replace("zarr_fast.", "zarr.") for line in lines]

    assert normalise(ours.info) == normalise(theirs.info)
    assert any(line.startswith("Chunks initialized : 6/12") for line in str(ours.info).splitlines())


def test_shape_setter_and_resize_delete_chunks(zarr2):
    ours, theirs, ours_store, theirs_store = _pair(zarr2, compressor=None)
    values = _fill_both(ours, theirs)
    ours.shape = (5, 4)
    theirs.shape = (5, 4)
    assert ours.shape == (5, 4)
    np.testing.assert_array_equal(ours[...], values[:5, :4])
    assert sorted(ours_store) == sorted(theirs_store)
    assert "3.0" not in ours_store and "0.2" not in ours_store and "1.1" in ours_store
    ours.resize(7, 6)
    theirs.resize((7, 6))
    np.testing.assert_array_equal(ours[...], theirs[...])
    # As in zarr 2.18, only chunks wholly outside the shrunk shape were deleted: chunk
    # (1, 1) survived with its old values, while chunk row 2 reads as the fill value.
    np.testing.assert_array_equal(ours[:6, :6], values[:6, :6])
    assert (ours[6, :] == 0).all()
    assert {k: ours_store[k] for k in ours_store} == {k: theirs_store[k] for k in theirs_store}


@pytest.mark.parametrize("axis", [0, 1])
def test_append(axis, zarr2):
    ours, theirs, ours_store, theirs_store = _pair(zarr2, shape=(5, 4), chunks=(2, 3), compressor=None)
    values = _fill_both(ours, theirs)
    extra_shape = (3, 4) if axis == 0 else (5, 3)
    extra = np.full(extra_shape, 9, dtype="<i4")
    assert ours.append(extra, axis=axis) == theirs.append(extra, axis=axis)
    np.testing.assert_array_equal(ours[...], np.concatenate([values, extra], axis=axis))
    assert ours_store == theirs_store
    with pytest.raises(ValueError):
        ours.append(np.zeros((2, 2), dtype="<i4"), axis=axis)


def test_view_and_astype(zarr2):
    data = np.arange(24, dtype="<f8").reshape(4, 6) / 4
    store = {}
    z = zarr_fast.array(data, chunks=(3, 4), store=store)
    as_u8 = z.view(dtype="<u8")
    np.testing.assert_array_equal(as_u8[...], data.view("<u8"))
    reshaped = z.view(shape=(6, 4), chunks=(3, 4))
    assert reshaped.shape == (6, 4)
    ro = z.view(read_only=True)
    assert ro.read_only
    with pytest.raises(ReadOnlyError):
        ro[0, 0] = 1
    as_f4 = z.astype("<f4")
    got = as_f4[...]
    assert got.dtype == np.dtype("<f4")
    np.testing.assert_array_equal(got, data.astype("<f4"))
    filled = z.view(fill_value=-1.0)
    assert filled.fill_value == -1.0
    theirs = zarr2.open_array(store, mode="r").view(dtype="<u8")
    np.testing.assert_array_equal(theirs[...], as_u8[...])


def test_digest_hexdigest_match(zarr2):
    ours, theirs, _, _ = _pair(zarr2, compressor=Zlib(level=1))
    _fill_both(ours, theirs)
    ours.attrs["k"] = 1
    theirs.attrs["k"] = 1
    assert ours.digest() == theirs.digest()
    assert ours.hexdigest() == theirs.hexdigest()
    assert ours.hexdigest("sha256") == theirs.hexdigest("sha256")
    assert isinstance(ours.digest(), bytes) and len(ours.hexdigest()) == 40


def test_iteration_len_and_islice():
    data = np.arange(35).reshape(7, 5)
    z = zarr_fast.array(data, chunks=(3, 2))
    assert len(z) == 7
    rows = list(z)
    assert len(rows) == 7
    for row, expected in zip(rows, data):
        np.testing.assert_array_equal(row, expected)
    np.testing.assert_array_equal(np.stack(list(z.islice(2, 6))), data[2:6])
    assert [int(v) for v in zarr_fast.array(np.arange(5), chunks=2)] == [0, 1, 2, 3, 4]
    z0 = zarr_fast.zeros(())
    with pytest.raises(TypeError):
        len(z0)


def test_array_protocol_and_eq():
    data = np.arange(12, dtype="<i2").reshape(3, 4)
    store = {}
    z = zarr_fast.array(data, chunks=(2, 2), store=store)
    converted = np.asarray(z)
    assert converted.dtype == data.dtype
    np.testing.assert_array_equal(converted, data)
    np.testing.assert_array_equal(np.array(z, dtype="f8"), data.astype("f8"))
    assert z == zarr_fast.open_array(store)
    assert not (z == zarr_fast.array(data + 1, chunks=(2, 2)))
    assert z != zarr_fast.array(data, chunks=(2, 2), store={}, path="other")


def test_pickle_roundtrip_is_store_and_path(tmp_path):
    data = np.random.default_rng(0).integers(0, 1000, (256, 256))
    store = zarr_fast.storage.DirectoryStore(str(tmp_path / "arr"))
    z = zarr_fast.array(data, chunks=(64, 64), store=store, path="p")
    blob = pickle.dumps(z)
    assert len(blob) < 2000, len(blob)  # no chunk data, only store + path (+ flags)
    back = pickle.loads(blob)
    assert back.shape == z.shape and back.path == "p"
    np.testing.assert_array_equal(back[...], data)
    back[0, 0] = -5
    assert z[0, 0] == -5


def test_pickle_memory_store():
    z = zarr_fast.array(np.arange(10), chunks=3)
    back = pickle.loads(pickle.dumps(z))
    np.testing.assert_array_equal(back[...], np.arange(10))


@pytest.mark.parametrize("write_empty_chunks", [True, False])
def test_write_empty_chunks(write_empty_chunks, zarr2):
    stores = []
    for module in (zarr_fast, zarr2):
        store = {}
        z = module.full((8,), 1.0, chunks=(4,), dtype="f8", store=store,
                         write_empty_chunks=write_empty_chunks, compressor=None)
        z[...] = 2.0
        z[:4] = 1.0  # first chunk now entirely the fill value
        z[4] = 1.0
        stores.append(store)
    assert sorted(stores[0]) == sorted(stores[1])
    if write_empty_chunks:
        assert "0" in stores[0] and "1" in stores[0]
    else:
        assert "0" not in stores[0] and "1" in stores[0]
    z = zarr_fast.open_array(stores[0], mode="r")
    np.testing.assert_array_equal(z[...], [1, 1, 1, 1, 1, 2, 2, 2])


def test_write_empty_chunks_nan_fill():
    store = {}
    z = zarr_fast.full((6,), np.nan, chunks=(3,), dtype="f4", store=store, write_empty_chunks=False)
    z[...] = 5
    z[:3] = np.nan
    assert sorted(k for k in store if not k.startswith(".")) == ["1"]
    assert np.isnan(z[:3]).all()


def test_read_only_refusal(tmp_path):
    path = str(tmp_path / "ro")
    zarr_fast.array(np.arange(10), chunks=4, store=zarr_fast.storage.DirectoryStore(path))
    z = zarr_fast.open_array(path, mode="r")
    assert z.read_only
    before = z[...]
    for action in (
        lambda: z.__setitem__(0, 1),
        lambda: z.set_orthogonal_selection([1, 2], 3),
        lambda: z.vindex.__setitem__([1], 2),
        lambda: z.resize(20),
        lambda: z.append(np.arange(3)),
    ):
        with pytest.raises(ReadOnlyError):
            action()
    with pytest.raises(PermissionError):  # zarr 2.18 raises a plain PermissionError here
        z.attrs["a"] = 1
    np.testing.assert_array_equal(z[...], before)
    z.read_only = False
    z[0] = 42
    assert z[0] == 42


def test_repr_matches_modulo_module(zarr2):
    for kwargs in (dict(shape=(10, 8), chunks=(3, 3), dtype="i4"),
                   dict(shape=(2,), dtype="f8", path="a/b"),
                   dict(shape=(), dtype="S3")):
        ours = zarr_fast.zeros(store={}, **kwargs)
        theirs = zarr2.zeros(store={}, **kwargs)
        assert repr(ours).replace("zarr_fast.", "zarr.") == repr(theirs)


def test_selection_methods_agree(zarr2):
    """Named get_/set_ methods give the same as the index properties, on both libraries."""
    data = np.arange(60, dtype="<f4").reshape(6, 10)
    ours = zarr_fast.array(data, chunks=(4, 3), store={})
    theirs = zarr2.array(data, chunks=(4, 3), store={})
    coords = ([0, 5, 2], [9, 0, 3])
    for z in (ours, theirs):
        z.set_coordinate_selection(coords, [-1, -2, -3])
        z.set_orthogonal_selection(([1, 4], slice(2, 8, 3)), 100)
        z.set_block_selection((1, 2), np.full((2, 3), 7, dtype="<f4"))
        z.set_basic_selection((slice(None), 9), 0.5)
    np.testing.assert_array_equal(ours[...], theirs[...])
    np.testing.assert_array_equal(ours.get_coordinate_selection(coords), theirs.vindex[coords])
    np.testing.assert_array_equal(ours.get_block_selection((slice(0, 2), 1)), theirs.blocks[:2, 1])
    np.testing.assert_array_equal(ours.get_orthogonal_selection(([5, 0], [True] * 10)),
                                  theirs.oindex[[5, 0], :])
    expected = data.copy()
    expected[coords] = [-1, -2, -3]
    expected[np.ix_([1, 4], [2, 5])] = 100
    expected[4:6, 6:9] = 7
    expected[:, 9] = 0.5
    np.testing.assert_array_equal(ours[...], expected)
