"""Property tests: every zarr_fast selection mode against NumPy on the same data.

Hypothesis draws an array layout (ndim 0-4, shapes with zero-length and size-1 axes, odd
chunks that may exceed the axis, many dtypes, order C/F, several compressors, both
dimension separators) and then a selection of one kind: basic, orthogonal, coordinate, mask
or block. Reads must equal NumPy's result exactly (dtype, shape, values); writes must leave
the array equal to a NumPy array that received the same assignment.

The selections drawn are the ones zarr-python 2.18 supports: no newaxis, no negative steps,
block slices with step 1, and no duplicate coordinates for writes (their result is not
defined by NumPy either).
"""

import atexit
import itertools
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import basic_indices

import zarr_fast
from numcodecs import Blosc, Zlib

STRUCTURED = np.dtype([("a", "<i4"), ("b", "<f8"), ("c", "S3")])
DTYPES = [
    "bool", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
    "f2", "f4", "f8", "c8", "c16", "M8[ns]", "S5", "U3", STRUCTURED,
]
COMPRESSORS = {
    "none": lambda: None,
    "blosc-lz4": lambda: Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),
    "zlib": lambda: Zlib(level=1),
}


# directory stores take the compiled file paths (chunk files opened and written by the
# workers, reused write buffers); each example gets a fresh folder under one root
_STORE_ROOT = tempfile.mkdtemp(prefix="zarr-fast-props-")
atexit.register(shutil.rmtree, _STORE_ROOT, ignore_errors=True)
_STORE_SERIAL = itertools.count()


def _new_store(kind):
    if kind == "memory":
        return zarr_fast.storage.MemoryStore()
    return zarr_fast.storage.DirectoryStore(f"{_STORE_ROOT}/{next(_STORE_SERIAL)}")


def _values(dtype, shape, seed):
    """Deterministic NaN-free values (a local copy of conftest's builder, for @given use)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dtype.fields is not None:
        out = np.zeros(shape, dtype=dtype)
        for name in dtype.names:
            out[name] = _values(dtype.fields[name][0], shape, seed + 1)
        return out
    kind = dtype.kind
    if kind == "b":
        vals = rng.integers(0, 2, n).astype(bool)
    elif kind in "iu":
        info = np.iinfo(dtype)
        vals = rng.integers(info.min, info.max, n, endpoint=True,
                            dtype=np.int64 if kind == "i" else np.uint64)
    elif kind == "f":
        vals = np.round(rng.standard_normal(n) * 100, 2)
    elif kind == "c":
        vals = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    elif kind == "M":
        vals = rng.integers(-(10**15), 10**15, n)
    elif kind == "S":
        vals = [b"x" * int(k) + b"q" for k in rng.integers(0, dtype.itemsize, n)]
    else:  # "U"
        vals = ["é" * int(k) + "z" for k in rng.integers(0, dtype.itemsize // 4, n)]
    return np.asarray(vals).astype(dtype).reshape(shape)


@st.composite
def layouts(draw, min_ndim=0, nonempty=False, dtypes=DTYPES):
    """An array layout plus its NumPy contents and the matching zarr_fast array."""
    ndim = draw(st.integers(min_ndim, 4))
    low = 1 if nonempty else 0
    shape = tuple(draw(st.lists(st.integers(low, 9), min_size=ndim, max_size=ndim)))
    chunks = tuple(draw(st.integers(1, max(d, 1) + 2)) for d in shape)
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    order = draw(st.sampled_from("CF"))
    codec = draw(st.sampled_from(sorted(COMPRESSORS)))
    separator = draw(st.sampled_from([".", "/"]))
    store_kind = draw(st.sampled_from(["memory", "directory"]))
    seed = draw(st.integers(0, 2**16))
    data = _values(dtype, shape, seed)
    z = zarr_fast.create(
        shape=shape, chunks=chunks, dtype=dtype, order=order,
        compressor=COMPRESSORS[codec](), dimension_separator=separator,
        store=_new_store(store_kind),
    )
    z[...] = data
    return z, data


def _assert_same(actual, expected):
    """Exact equality: type of result (scalar vs array), dtype, shape and values."""
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), type(actual)
        assert actual.shape == expected.shape
    else:
        assert np.ndim(actual) == 0, type(actual)
    assert np.asarray(actual).dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


def _unwrap_like_zarr(expected, ndim):
    """zarr 2.18 returns a NumPy scalar for any 0-d result of an n-d array (n > 0)."""
    if ndim > 0 and np.ndim(expected) == 0:
        return np.asarray(expected)[()]
    return expected


def _no_negative_steps(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(p, slice) or p.step is None or p.step > 0 for p in parts)


def _assignment_value(data, expected_shape, draw_scalar, seed):
    """A scalar or full-shape value with ``data``'s dtype to assign to a selection."""
    fresh = _values(data.dtype, expected_shape, seed + 7)
    if draw_scalar or fresh.size == 0:
        source = _values(data.dtype, (1,), seed + 11)
        return source[0]
    return fresh


# --------------------------------------------------------------------------- basic


@given(layout=layouts(), data=st.data())
def test_basic_get(layout, data):
    z, arr = layout
    index = data.draw(basic_indices(arr.shape, allow_newaxis=False, allow_ellipsis=True))
    assume(_no_negative_steps(index))
    expected = _unwrap_like_zarr(arr[index], arr.ndim)
    _assert_same(z[index], expected)
    _assert_same(z.get_basic_selection(index), expected)


@given(layout=layouts(), data=st.data(), is_scalar=st.booleans(), seed=st.integers(0, 999))
def test_basic_set(layout, data, is_scalar, seed):
    z, arr = layout
    index = data.draw(basic_indices(arr.shape, allow_newaxis=False, allow_ellipsis=True))
    assume(_no_negative_steps(index))
    value = _assignment_value(arr, np.shape(arr[index]), is_scalar, seed)
    expected = arr.copy()
    expected[index] = value
    z[index] = value
    _assert_same(z[...], expected)


@given(layout=layouts(), data=st.data())
def test_basic_get_with_out(layout, data):
    z, arr = layout
    index = data.draw(basic_indices(arr.shape, allow_newaxis=False, allow_ellipsis=False))
    assume(_no_negative_steps(index))
    expected = arr[index]
    assume(isinstance(expected, np.ndarray) and expected.ndim > 0)
    out = np.zeros(expected.shape, dtype=arr.dtype)
    z.get_basic_selection(index, out=out)
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------------- orthogonal


@st.composite
def orthogonal_selections(draw, shape, unique=False):
    """Per-axis int, slice, int array (unsorted, negative, duplicates) or bool mask."""
    selection, numpy_axes = [], []
    for dim in shape:
        # zarr 2.18 refuses boolean arrays on zero-length axes, so only slices go there.
        kinds = ["slice"] + (["int", "ints", "bool"] if dim > 0 else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            i = draw(st.integers(-dim, dim - 1))
            selection.append(i)
            numpy_axes.append(i)
        elif kind == "slice":
            start = draw(st.none() | st.integers(-dim - 2, dim + 2))
            stop = draw(st.none() | st.integers(-dim - 2, dim + 2))
            step = draw(st.none() | st.integers(1, 3))
            s = slice(start, stop, step)
            selection.append(s)
            numpy_axes.append(np.arange(dim)[s])
        elif kind == "bool":
            mask = np.array(draw(st.lists(st.booleans(), min_size=dim, max_size=dim)), dtype=bool)
            selection.append(mask)
            numpy_axes.append(np.nonzero(mask)[0])
        else:
            if unique:
                perm = draw(st.permutations(range(dim)))
                k = draw(st.integers(1, dim))
                ints = np.array(perm[:k], dtype=np.int64)
                ints = np.where(draw(st.booleans()), ints - dim, ints)
            else:
                ints = np.array(
                    draw(st.lists(st.integers(-dim, dim - 1), min_size=1, max_size=6)),
                    dtype=np.int64,
                )
            selection.append(ints)
            numpy_axes.append(ints)
    return tuple(selection), numpy_axes


def _numpy_orthogonal(arr, numpy_axes):
    """Outer indexing in NumPy: take along each axis, last axis first so numbering holds."""
    out = arr
    for axis in reversed(range(len(numpy_axes))):
        out = np.take(out, numpy_axes[axis], axis=axis)
    return out


@given(layout=layouts(min_ndim=1), data=st.data())
def test_orthogonal_get(layout, data):
    z, arr = layout
    selection, numpy_axes = data.draw(orthogonal_selections(arr.shape))
    expected = _numpy_orthogonal(arr, numpy_axes)
    _assert_same(np.asarray(z.oindex[selection]), np.asarray(expected))
    _assert_same(np.asarray(z.get_orthogonal_selection(selection)), np.asarray(expected))


@given(layout=layouts(min_ndim=1), data=st.data(), is_scalar=st.booleans(), seed=st.integers(0, 999))
def test_orthogonal_set(layout, data, is_scalar, seed):
    z, arr = layout
    selection, numpy_axes = data.draw(orthogonal_selections(arr.shape, unique=True))
    target_shape = np.shape(_numpy_orthogonal(arr, numpy_axes))
    value = _assignment_value(arr, target_shape, is_scalar, seed)
    expected = arr.copy()
    # np.ix_ needs 1-d arrays; ints become length-1 arrays and the value gains those axes.
    ix_axes = [np.atleast_1d(a) for a in numpy_axes]
    expanded = np.asarray(value)
    if expanded.ndim:
        for axis, a in enumerate(numpy_axes):
            if np.ndim(a) == 0:
                expanded = np.expand_dims(expanded, axis)
    expected[np.ix_(*ix_axes)] = expanded
    z.oindex[selection] = value
    _assert_same(z[...], expected)


@given(layout=layouts(min_ndim=1, nonempty=True), data=st.data())
def test_orthogonal_get_with_out(layout, data):
    z, arr = layout
    selection, numpy_axes = data.draw(orthogonal_selections(arr.shape))
    expected = np.asarray(_numpy_orthogonal(arr, numpy_axes))
    assume(expected.ndim > 0)
    out = np.zeros(expected.shape, dtype=arr.dtype)
    z.get_orthogonal_selection(selection, out=out)
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------------- coordinate


@st.composite
def coordinate_selections(draw, shape, unique=False):
    """Integer arrays, one per axis, broadcast to a common 1-d or 2-d shape."""
    if unique:
        size = int(np.prod(shape))
        k = draw(st.integers(1, min(size, 12)))
        flat = np.array(draw(st.permutations(range(size)))[:k], dtype=np.int64)
        coords = np.unravel_index(flat, shape)
        return tuple(np.asarray(c, dtype=np.int64) for c in coords)
    out_shape = draw(st.sampled_from([(1,), (5,), (2, 3)]))
    selection = []
    for axis, dim in enumerate(shape):
        # One axis may be given as a length-1 array so broadcasting is exercised.
        axis_shape = (1,) if axis == 0 and draw(st.booleans()) else out_shape
        ints = draw(st.lists(st.integers(-dim, dim - 1), min_size=int(np.prod(axis_shape)),
                             max_size=int(np.prod(axis_shape))))
        selection.append(np.array(ints, dtype=np.int64).reshape(axis_shape))
    return tuple(selection)


@given(layout=layouts(min_ndim=1, nonempty=True), data=st.data())
def test_coordinate_get(layout, data):
    z, arr = layout
    selection = data.draw(coordinate_selections(arr.shape))
    expected = arr[selection]
    _assert_same(z.vindex[selection], expected)
    _assert_same(z.get_coordinate_selection(selection), expected)


@given(layout=layouts(min_ndim=1, nonempty=True), data=st.data(), is_scalar=st.booleans(),
       seed=st.integers(0, 999))
def test_coordinate_set(layout, data, is_scalar, seed):
    z, arr = layout
    selection = data.draw(coordinate_selections(arr.shape, unique=True))
    value = _assignment_value(arr, arr[selection].shape, is_scalar, seed)
    expected = arr.copy()
    expected[selection] = value
    z.vindex[selection] = value
    _assert_same(z[...], expected)


# ---------------------------------------------------------------------------- mask


@given(layout=layouts(min_ndim=1), data=st.data(), is_scalar=st.booleans(), seed=st.integers(0, 999))
def test_mask_get_and_set(layout, data, is_scalar, seed):
    z, arr = layout
    bits = data.draw(st.lists(st.booleans(), min_size=arr.size, max_size=arr.size))
    mask = np.array(bits, dtype=bool).reshape(arr.shape)
    _assert_same(z.vindex[mask], arr[mask])
    _assert_same(z.get_mask_selection(mask), arr[mask])
    value = _assignment_value(arr, arr[mask].shape, is_scalar, seed)
    expected = arr.copy()
    expected[mask] = value
    if data.draw(st.booleans()):
        z.vindex[mask] = value
    else:
        z.set_mask_selection(mask, value)
    _assert_same(z[...], expected)


# --------------------------------------------------------------------------- block


@given(layout=layouts(min_ndim=1, nonempty=True), data=st.data())
def test_block_get(layout, data):
    z, arr = layout
    selection, numpy_index = [], []
    for dim, chunk in zip(arr.shape, z.chunks):
        nblocks = -(-dim // chunk)
        if data.draw(st.booleans()):
            b = data.draw(st.integers(-nblocks, nblocks - 1))
            selection.append(b)
            b %= nblocks
            numpy_index.append(slice(b * chunk, min((b + 1) * chunk, dim)))
        else:
            # zarr 2.18 bounds-checks the block slice start, even for an empty slice.
            start = data.draw(st.integers(0, nblocks - 1))
            stop = data.draw(st.integers(start, nblocks))
            selection.append(slice(start, stop))
            numpy_index.append(slice(start * chunk, min(stop * chunk, dim)))
    expected = arr[tuple(numpy_index)]
    _assert_same(z.blocks[tuple(selection)], expected)
    _assert_same(z.get_block_selection(tuple(selection)), expected)


@given(layout=layouts(min_ndim=1, nonempty=True), data=st.data(), seed=st.integers(0, 999))
def test_block_set(layout, data, seed):
    z, arr = layout
    selection, numpy_index = [], []
    for dim, chunk in zip(arr.shape, z.chunks):
        nblocks = -(-dim // chunk)
        b = data.draw(st.integers(0, nblocks - 1))
        selection.append(b)
        numpy_index.append(slice(b * chunk, min((b + 1) * chunk, dim)))
    expected = arr.copy()
    value = _values(arr.dtype, expected[tuple(numpy_index)].shape, seed)
    expected[tuple(numpy_index)] = value
    z.blocks[tuple(selection)] = value
    _assert_same(z[...], expected)


# ---------------------------------------------------------------- fields, 0-d, out


@given(layout=layouts(dtypes=[STRUCTURED]), data=st.data())
def test_fields_on_structured(layout, data):
    z, arr = layout
    index = data.draw(basic_indices(arr.shape, allow_newaxis=False, allow_ellipsis=True))
    assume(_no_negative_steps(index))
    _assert_same(z.get_basic_selection(index, fields="b"), _unwrap_like_zarr(arr["b"][index], arr.ndim))
    both = z.get_basic_selection(index, fields=["a", "c"])
    np.testing.assert_array_equal(np.asarray(both)["a"], np.asarray(arr[index])["a"])
    np.testing.assert_array_equal(np.asarray(both)["c"], np.asarray(arr[index])["c"])
    assert np.asarray(both).dtype.names == ("a", "c")


def test_fields_on_structured_orthogonal_and_set():
    arr = _values(STRUCTURED, (7, 5), 3)
    z = zarr_fast.array(arr, chunks=(3, 2))
    np.testing.assert_array_equal(z.get_orthogonal_selection(([4, 0], slice(None)), fields="a"),
                                  arr["a"][[4, 0]])
    np.testing.assert_array_equal(z["a"], arr["a"])
    z.set_basic_selection((slice(1, 3), 1), 99, fields="a")
    arr["a"][1:3, 1] = 99
    np.testing.assert_array_equal(z[...], arr)


@pytest.mark.parametrize("dtype", ["i4", "f8", "S5", "U3", "M8[ns]", STRUCTURED])
def test_zero_dimensional(dtype):
    value = _values(dtype, (), 5)
    z = zarr_fast.create(shape=(), dtype=dtype, store=zarr_fast.storage.MemoryStore())
    z[...] = value
    # The default selection is Ellipsis, which keeps the 0-d array as NumPy does; () unwraps.
    got = z.get_basic_selection()
    assert isinstance(got, np.ndarray) and got.shape == () and got.dtype == np.dtype(dtype)
    assert got == value
    scalar = z[()]
    assert not isinstance(scalar, np.ndarray) and scalar == value[()]
    assert isinstance(z.get_basic_selection(()), np.generic)
    full = z[...]
    assert isinstance(full, np.ndarray) and full.shape == () and full == value
    out = np.zeros((), dtype=dtype)
    z.get_basic_selection(Ellipsis, out=out)
    assert out == value
    z[()] = value[()]
    assert z[()] == value[()]
