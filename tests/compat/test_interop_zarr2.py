"""Interoperability with zarr-python 2.18.7, both ways, over every store kind.

Each test runs one fixed sequence of operations (create, several writes, resize, append,
attribute updates) and mirrors it on a NumPy array. Then:

* what zarr_fast wrote, zarr-python reads back equal (values, attrs, hexdigest), and the reverse;
* when both libraries run the same sequence on separate stores, every key's bytes are equal:
  ``.zarray``, ``.zattrs`` and the chunks (the compressors used here are deterministic).

Stores: a plain dict, MemoryStore, DirectoryStore and NestedDirectoryStore. A hypothesis test
also draws whole operation sequences (writes, fill-value writes, resizes, attribute updates)
and requires byte-identical stores from the two libraries.
"""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numcodecs import Blosc, Zlib

import zarr_fast

STORE_KINDS = ["dict", "memory", "directory", "nested"]
CODECS = {
    "none": lambda: None,
    "zlib": lambda: Zlib(level=3),
    "blosc-lz4": lambda: Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),
    "default": lambda: "default",
}


def _run_sequence(module, store, codec, dtype="<i4"):
    """Apply the fixed operation sequence with ``module`` (zarr_fast or zarr) on ``store``.

    Returns the NumPy mirror of the final contents.
    """
    kwargs = {} if codec == "default" else {"compressor": CODECS[codec]()}
    z = module.create(shape=(20, 13), chunks=(6, 5), dtype=dtype, fill_value=-1, store=store,
                      **kwargs)
    expected = np.full((20, 13), -1, dtype=dtype)
    block = np.arange(20 * 13, dtype=dtype).reshape(20, 13)
    z[2:17, 1:11] = block[2:17, 1:11]
    expected[2:17, 1:11] = block[2:17, 1:11]
    z[3:9, 2] = 7
    expected[3:9, 2] = 7
    z.oindex[[1, 5], [0, 12]] = 3
    expected[np.ix_([1, 5], [0, 12])] = 3
    z.resize(25, 10)
    grown = np.full((25, 10), -1, dtype=dtype)
    grown[:20, :10] = expected[:, :10]
    expected = grown
    extra = np.arange(40, dtype=dtype).reshape(4, 10) * 3
    z.append(extra, axis=0)
    expected = np.concatenate([expected, extra], axis=0)
    column = np.full((29, 2), 5, dtype=dtype)
    z.append(column, axis=1)
    expected = np.concatenate([expected, column], axis=1)
    z.attrs["title"] = "interop"
    z.attrs.update({"units": "m", "scale": [1.5, 2], "nested": {"a": None}})
    return expected


def _shared_store(module, kind, store):
    """Open the same location as ``store`` through ``module``'s own store class."""
    if kind in ("dict", "memory"):
        return store
    cls = module.storage.DirectoryStore if kind == "directory" else module.storage.NestedDirectoryStore
    return cls(store.path)


EXPECTED_ATTRS = {"title": "interop", "units": "m", "scale": [1.5, 2], "nested": {"a": None}}


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("kind", STORE_KINDS)
def test_zarr_fast_writes_zarr_reads(kind, codec, store_pair, zarr2):
    zf_store, _ = store_pair(kind)
    expected = _run_sequence(zarr_fast, zf_store, codec)
    theirs = zarr2.open_array(_shared_store(zarr2, kind, zf_store), mode="r")
    ours = zarr_fast.open_array(zf_store, mode="r")
    assert theirs.shape == ours.shape == expected.shape
    assert theirs.chunks == (6, 5)
    np.testing.assert_array_equal(theirs[...], expected)
    np.testing.assert_array_equal(ours[...], expected)
    assert theirs.attrs.asdict() == EXPECTED_ATTRS
    assert theirs.hexdigest() == ours.hexdigest()
    assert theirs.hexdigest("md5") == ours.hexdigest("md5")


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("kind", STORE_KINDS)
def test_zarr_writes_zarr_fast_reads(kind, codec, store_pair, zarr2):
    _, zarr_store = store_pair(kind)
    expected = _run_sequence(zarr2, zarr_store, codec)
    ours = zarr_fast.open_array(_shared_store(zarr_fast, kind, zarr_store), mode="r")
    theirs = zarr2.open_array(zarr_store, mode="r")
    assert ours.shape == expected.shape
    assert ours.dtype == np.dtype("<i4")
    assert ours.fill_value == -1
    np.testing.assert_array_equal(ours[...], expected)
    np.testing.assert_array_equal(ours[5:27:3, ::2], expected[5:27:3, ::2])
    assert ours.attrs.asdict() == EXPECTED_ATTRS
    assert ours.hexdigest() == theirs.hexdigest()
    assert ours.digest() == theirs.digest()


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("kind", STORE_KINDS)
def test_same_operations_same_bytes(kind, codec, store_pair, store_items, zarr2):
    zf_store, zarr_store = store_pair(kind)
    expected_ours = _run_sequence(zarr_fast, zf_store, codec)
    expected_theirs = _run_sequence(zarr2, zarr_store, codec)
    np.testing.assert_array_equal(expected_ours, expected_theirs)
    ours, theirs = store_items(zf_store), store_items(zarr_store)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        assert ours[key] == theirs[key], f"bytes differ for key {key!r}"
    meta = json.loads(theirs[".zarray"])
    assert meta["shape"] == [29, 12] and meta["chunks"] == [6, 5]
    assert json.loads(theirs[".zattrs"]) == EXPECTED_ATTRS


@pytest.mark.parametrize("kind", ["dict", "directory", "nested"])
def test_mixed_writers_on_one_array(kind, store_pair, zarr2):
    """Alternate writers on a single array: each sees the other's chunks and metadata."""
    zf_store, _ = store_pair(kind)
    ours = zarr_fast.zeros((10, 10), chunks=(4, 4), dtype="f8", store=zf_store)
    theirs = zarr2.open_array(_shared_store(zarr2, kind, zf_store), mode="r+")
    ours[:5] = 1.5
    theirs[5:] = 2.5
    theirs.attrs["by"] = "zarr"
    ours = zarr_fast.open_array(zf_store, mode="r+")
    assert ours.attrs["by"] == "zarr"
    ours.resize(12, 10)
    ours[10:] = 3.5
    theirs = zarr2.open_array(_shared_store(zarr2, kind, zf_store), mode="r")
    expected = np.concatenate([np.full((5, 10), 1.5), np.full((5, 10), 2.5), np.full((2, 10), 3.5)])
    np.testing.assert_array_equal(theirs[...], expected)
    assert theirs.hexdigest() == ours.hexdigest()


@pytest.mark.parametrize("kind", STORE_KINDS)
@pytest.mark.parametrize("separator", [".", "/"])
def test_resize_shrink_deletes_same_keys(kind, separator, store_pair, store_items, zarr2):
    zf_store, zarr_store = store_pair(kind)
    if kind == "nested" and separator == ".":
        # The nested store fixes the separator to "/" and refuses a conflicting one.
        for module, store in ((zarr_fast, zf_store), (zarr2, zarr_store)):
            with pytest.raises(ValueError):
                module.create((9, 9), chunks=(2, 4), store=store, dimension_separator=".")
        return
    for module, store in ((zarr_fast, zf_store), (zarr2, zarr_store)):
        z = module.create((9, 9), chunks=(2, 4), dtype="u2", store=store,
                          dimension_separator=separator, compressor=None)
        z[...] = np.arange(81, dtype="u2").reshape(9, 9)
        z.resize(3, 5)
    ours, theirs = store_items(zf_store), store_items(zarr_store)
    assert ours == theirs
    chunk_keys = sorted(k for k in theirs if not k.startswith("."))
    sep = "/" if kind == "nested" else separator
    assert chunk_keys == sorted(f"{i}{sep}{j}" for i in range(2) for j in range(2))


# ------------------------------------------------------------- drawn operation sequences

OPERATION_DTYPES = ["<i2", ">i4", "<u8", "<f4", ">f8", "<c8", "bool", "S3", "<U2", "<M8[us]"]


def _operation_values(dtype, shape, seed):
    """Deterministic values of ``dtype``; strings and dates built from small integers."""
    dtype = np.dtype(dtype)
    ints = (np.arange(int(np.prod(shape))) * 7 + seed) % 50
    if dtype.kind == "S":
        return np.array([b"k%d" % i for i in ints], dtype=dtype).reshape(shape)
    if dtype.kind == "U":
        return np.array(["é%d" % (i % 10) for i in ints], dtype=dtype).reshape(shape)
    if dtype.kind == "b":
        return (ints % 3 == 0).reshape(shape)
    if dtype.kind == "M":
        return ints.astype("<M8[us]").astype(dtype).reshape(shape)
    return ints.astype(dtype).reshape(shape)


@st.composite
def operation_sequences(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 8)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, d + 1)) for d in shape)
    create = dict(
        shape=shape, chunks=chunks,
        dtype=draw(st.sampled_from(OPERATION_DTYPES)),
        order=draw(st.sampled_from("CF")),
        dimension_separator=draw(st.sampled_from([".", "/"])),
        write_empty_chunks=draw(st.booleans()),
    )
    create["compressor"] = draw(st.sampled_from(["none", "zlib", "blosc-lz4"]))
    operations = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["write", "write", "fill", "resize", "attrs"]))
        if kind in ("write", "fill"):
            region = []
            for d in shape:
                start = draw(st.integers(0, d - 1))
                region.append((start, draw(st.integers(start + 1, d))))
            operations.append((kind, tuple(region), draw(st.integers(0, 99))))
        elif kind == "resize":
            new_shape = tuple(draw(st.integers(1, 9)) for _ in shape)
            operations.append(("resize", new_shape, 0))
            shape = new_shape
        else:
            operations.append(("attrs", draw(st.integers(0, 9)), 0))
    return create, operations


def _replay(module, store, create, operations):
    kwargs = dict(create)
    kwargs["compressor"] = CODECS[kwargs["compressor"]]()
    z = module.create(store=store, **kwargs)
    for kind, arg, seed in operations:
        if kind in ("write", "fill"):
            region = tuple(slice(a, b) for a, b in arg)
            shape = tuple(b - a for a, b in arg)
            if kind == "write":
                z[region] = _operation_values(z.dtype, shape, seed)
            else:
                z[region] = z.fill_value  # may empty a chunk (write_empty_chunks=False deletes it)
        elif kind == "resize":
            z.resize(*arg)
        else:
            z.attrs[f"k{arg}"] = {"v": arg, "list": [arg, None]}
    return z


@given(drawn=operation_sequences())
def test_drawn_operations_write_identical_stores(drawn, zarr2):
    create, operations = drawn
    ours_store, theirs_store = {}, {}
    ours = _replay(zarr_fast, ours_store, create, operations)
    theirs = _replay(zarr2, theirs_store, create, operations)
    assert sorted(ours_store) == sorted(theirs_store)
    for key in theirs_store:
        assert bytes(ours_store[key]) == bytes(theirs_store[key]), f"bytes differ for {key!r}"
    np.testing.assert_array_equal(ours[...], theirs[...])
    np.testing.assert_array_equal(zarr2.open_array(ours_store, mode="r")[...], theirs[...])
