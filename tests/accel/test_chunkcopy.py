"""Differential tests of zarr_fast._chunkcopy against the NumPy expressions it replaces.

Results are compared as bytes (``tobytes``) so NaN payloads, non-canonical bools and
structured items must come through untouched, exactly as a byte copy moves them.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarr_fast import _chunkcopy

DTYPES = [
    "u1", "<i2", ">i4", "<i8", "<f4", ">f8", "<f2", "<c8", ">c16", "?",
    "<M8[ns]", ">m8[s]", "S3", "<U2", ">U3", "V5",
    [("a", "<i2"), ("b", ">f8"), ("c", "S1")],
]

SETTINGS = settings(deadline=None, max_examples=250)


def _random_array(rng, shape, dtype, order):
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = rng.integers(0, 256, size=nbytes, dtype=np.uint8)
    return np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape, order=order).copy(order=order)


@st.composite
def layouts(draw, shape):
    """An array of ``shape`` in C or F order, optionally a strided view of a larger one."""
    order = draw(st.sampled_from("CF"))
    steps = tuple(draw(st.integers(1, 3)) for _ in shape)
    starts = tuple(draw(st.integers(0, 2)) for _ in shape)
    return order, steps, starts


def _make(rng, shape, dtype, layout):
    order, steps, starts = layout
    base_shape = tuple(s + n * k for n, k, s in zip(shape, steps, starts))
    base = _random_array(rng, base_shape, dtype, order)
    view = base[tuple(slice(s, s + n * k, k) for n, k, s in zip(shape, steps, starts)) + (Ellipsis,)]
    assert view.shape == tuple(shape)
    return view


def _offsets(indices, arr):
    return [np.asarray(ix, dtype=np.int64) * stride for ix, stride in zip(indices, arr.strides)]


@st.composite
def orthogonal_cases(draw):
    ndim = draw(st.integers(0, 4))
    src_shape = tuple(draw(st.integers(0, 6)) for _ in range(ndim))
    dst_shape = tuple(draw(st.integers(0, 6)) for _ in range(ndim))
    src_indices, dst_indices = [], []
    for n_src, n_dst in zip(src_shape, dst_shape):
        n = draw(st.integers(0, min(n_src, n_dst)))
        # Ranges (possibly stepped) make an axis arithmetic, which the kernel coalesces
        # with its neighbours or turns into runs; lists exercise the offset tables.
        if draw(st.booleans()) and n:
            step = draw(st.integers(1, max(1, (n_src - 1) // max(n - 1, 1))))
            s0 = draw(st.integers(0, n_src - 1 - (n - 1) * step))
            src_indices.append(np.arange(s0, s0 + n * step, step)[:n])
        else:
            src_indices.append(np.array(
                draw(st.lists(st.integers(0, max(n_src - 1, 0)), min_size=n, max_size=n)),
                dtype=np.int64))
        if draw(st.booleans()) and n:
            step = draw(st.integers(1, max(1, (n_dst - 1) // max(n - 1, 1))))
            d0 = draw(st.integers(0, n_dst - 1 - (n - 1) * step))
            dst_indices.append(np.arange(d0, d0 + n * step, step)[:n])
        else:
            # Destination indices are distinct: with repeats NumPy's write order is unspecified.
            dst_indices.append(np.array(
                draw(st.permutations(range(n_dst)))[:n], dtype=np.int64))
    return (src_shape, dst_shape, src_indices, dst_indices, draw(st.sampled_from(DTYPES)),
            draw(layouts(src_shape)), draw(layouts(dst_shape)), draw(st.integers(0, 2**32 - 1)))


@SETTINGS
@given(orthogonal_cases())
def test_copy_orthogonal_matches_numpy(case):
    src_shape, dst_shape, src_ix, dst_ix, dtype, src_layout, dst_layout, seed = case
    rng = np.random.default_rng(seed)
    src = _make(rng, src_shape, dtype, src_layout)
    dst = _make(rng, dst_shape, dtype, dst_layout)
    expected = dst.copy()
    if src_ix:
        expected[np.ix_(*dst_ix)] = src[np.ix_(*src_ix)]
    else:
        expected[...] = src
    _chunkcopy.copy_orthogonal(src, dst, _offsets(src_ix, src), _offsets(dst_ix, dst))
    assert dst.tobytes() == expected.tobytes()


@SETTINGS
@given(orthogonal_cases(), st.booleans())
def test_fill_matches_numpy(case, zero_fill):
    _, dst_shape, _, dst_ix, dtype, _, dst_layout, seed = case
    rng = np.random.default_rng(seed)
    dst = _make(rng, dst_shape, dtype, dst_layout)
    fill = np.zeros((), dtype=dtype) if zero_fill else _random_array(rng, (), dtype, "C")
    expected = dst.copy()
    if dst_ix:
        expected[np.ix_(*dst_ix)] = fill
    else:
        expected[()] = fill
    zeros = [np.zeros(len(ix), dtype=np.int64) for ix in dst_ix]
    _chunkcopy.copy_orthogonal(fill, dst, zeros, _offsets(dst_ix, dst))
    assert dst.tobytes() == expected.tobytes()


def test_whole_chunk_into_region():
    src = np.arange(24, dtype="<i4").reshape(2, 3, 4)
    dst = np.zeros((5, 3, 4), dtype="<i4")
    ix = [np.arange(1, 3), np.arange(3), np.arange(4)]
    _chunkcopy.copy_orthogonal(src, dst, _offsets([np.arange(2), *ix[1:]], src),
                               _offsets(ix, dst))
    np.testing.assert_array_equal(dst[1:3], src)
    assert not dst[0].any() and not dst[3:].any()
    # Offsets may come as tuples too.
    _chunkcopy.copy_orthogonal(src, dst, tuple(_offsets([np.arange(2), *ix[1:]], src)),
                               tuple(_offsets([np.arange(3, 5), *ix[1:]], dst)))
    np.testing.assert_array_equal(dst[3:], src)


def test_fill_one_item_source_and_nonbyte_pattern():
    dst = np.zeros((4, 5), dtype="<f8")
    fill = np.array([1.5])  # a one-item 1-D source is a fill too
    ix = [np.array([0, 2, 3]), np.arange(1, 5)]
    _chunkcopy.copy_orthogonal(fill, dst, [np.zeros(3, np.int64), np.zeros(4, np.int64)],
                               _offsets(ix, dst))
    expected = np.zeros((4, 5))
    expected[np.ix_(*ix)] = 1.5
    np.testing.assert_array_equal(dst, expected)


@st.composite
def point_cases(draw):
    src_shape = tuple(draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 4))))
    dst_shape = tuple(draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 3))))
    dst_size = int(np.prod(dst_shape, dtype=np.int64))
    n = draw(st.integers(0, dst_size))
    src_flat = draw(st.lists(st.integers(0, int(np.prod(src_shape, dtype=np.int64)) - 1),
                             min_size=n, max_size=n))
    dst_flat = draw(st.permutations(range(dst_size)))[:n]
    return (src_shape, dst_shape, src_flat, dst_flat, draw(st.sampled_from(DTYPES)),
            draw(layouts(src_shape)), draw(layouts(dst_shape)), draw(st.integers(0, 2**32 - 1)))


@SETTINGS
@given(point_cases())
def test_copy_points_matches_fancy_indexing(case):
    src_shape, dst_shape, src_flat, dst_flat, dtype, src_layout, dst_layout, seed = case
    rng = np.random.default_rng(seed)
    src = _make(rng, src_shape, dtype, src_layout)
    dst = _make(rng, dst_shape, dtype, dst_layout)
    src_coords = np.unravel_index(np.array(src_flat, dtype=np.int64), src_shape)
    dst_coords = np.unravel_index(np.array(dst_flat, dtype=np.int64), dst_shape)
    expected = dst.copy()
    if len(dst_flat):
        expected[dst_coords] = src[src_coords]
    src_offsets = sum((c * s for c, s in zip(src_coords, src.strides)),
                      np.zeros(len(src_flat), dtype=np.int64))
    dst_offsets = sum((c * s for c, s in zip(dst_coords, dst.strides)),
                      np.zeros(len(dst_flat), dtype=np.int64))
    _chunkcopy.copy_points(src, dst, src_offsets, dst_offsets)
    assert dst.tobytes() == expected.tobytes()


# --- validation --------------------------------------------------------------------------

def _ok_offsets():
    return [np.array([0, 8], dtype=np.int64)]


def test_offset_out_of_range_is_refused():
    src = np.zeros(2)
    dst = np.zeros(2)
    with pytest.raises(ValueError, match="dst_offsets"):
        _chunkcopy.copy_orthogonal(src, dst, _ok_offsets(), [np.array([0, 9], np.int64)])
    with pytest.raises(ValueError, match="src_offsets"):
        _chunkcopy.copy_orthogonal(src, dst, [np.array([-8, 0], np.int64)], _ok_offsets())
    with pytest.raises(ValueError, match="src_offsets"):
        _chunkcopy.copy_points(src, dst, np.array([16]), np.array([0]))
    # Sums across axes are what must stay in range, not each axis alone.
    src2 = np.zeros((2, 2))
    with pytest.raises(ValueError, match="src_offsets"):
        _chunkcopy.copy_orthogonal(src2, np.zeros((2, 2)),
                                   [np.array([0, 16], np.int64), np.array([0, 16], np.int64)],
                                   [np.array([0, 16], np.int64), np.array([0, 8], np.int64)])
    np.testing.assert_array_equal(src2, 0)


def test_readonly_dst_object_dtype_and_itemsize_are_refused():
    dst = np.zeros(2)
    dst.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _chunkcopy.copy_orthogonal(np.zeros(2), dst, _ok_offsets(), _ok_offsets())
    with pytest.raises(TypeError, match="object"):
        _chunkcopy.copy_orthogonal(np.zeros(2, object), np.zeros(2, object),
                                   _ok_offsets(), _ok_offsets())
    with pytest.raises(ValueError, match="itemsize"):
        _chunkcopy.copy_points(np.zeros(2, "f4"), np.zeros(2, "f8"), [0], [0])
    with pytest.raises(TypeError, match="object"):
        _chunkcopy.is_fill(np.zeros(2, object), np.array(0, object))
    with pytest.raises(ValueError, match="byte order"):
        _chunkcopy.copy_points(np.zeros(2, ">f8"), np.zeros(2, "<f8"), [0], [0])
    # Reinterpreting views of the same width are allowed: the copy is bytewise.
    dst = np.zeros(2, "V8")
    _chunkcopy.copy_points(np.array([1.5, 2.5]), dst, [8], [0])
    assert dst.view("<f8")[0] == 2.5


def test_mismatched_lengths_and_bad_offsets_are_refused():
    a = np.zeros((2, 2))
    with pytest.raises(ValueError, match="one entry per axis"):
        _chunkcopy.copy_orthogonal(a, a.copy(), _ok_offsets(), _ok_offsets() * 2)
    with pytest.raises(ValueError, match="equal lengths"):
        _chunkcopy.copy_orthogonal(a, a.copy(), _ok_offsets(), [np.array([0], np.int64)])
    with pytest.raises(TypeError, match="integer"):
        _chunkcopy.copy_orthogonal(a, a.copy(), [np.array([0.0])], [np.array([0.0])])
    with pytest.raises(ValueError, match="1-D"):
        _chunkcopy.copy_points(a, a.copy(), np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64))
    with pytest.raises(ValueError, match="non-negative strides"):
        _chunkcopy.copy_orthogonal(np.zeros(3)[::-1], np.zeros(3), _ok_offsets(), _ok_offsets())


def test_empty_selection_touches_nothing():
    dst = np.ones((3, 0))
    _chunkcopy.copy_orthogonal(np.zeros((3, 4)), dst, [np.array([0, 8], np.int64),
                               np.empty(0, np.int64)], [np.array([0, 8], np.int64),
                               np.empty(0, np.int64)])
    dst = np.ones(3)
    _chunkcopy.copy_points(np.zeros(3), dst, np.empty(0, np.int64), np.empty(0, np.int64))
    np.testing.assert_array_equal(dst, 1)


# --- is_fill, against zarr 2.18's own rule -----------------------------------------------

zarr_util = pytest.importorskip("zarr.util")

FILL_DTYPES = ["<f8", ">f4", "<f2", ">f8", "<c16", ">c8", "<i4", ">u2", "?", "S3",
               "<M8[ns]", "<m8[s]"]
SPECIAL_FLOATS = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1.5]


@st.composite
def fill_cases(draw):
    dtype = np.dtype(draw(st.sampled_from(FILL_DTYPES)))
    if dtype.kind in "fc":
        values = SPECIAL_FLOATS
        if dtype.kind == "c":
            values = values + [complex(0.0, np.nan), complex(-0.0, 0.0)]
    elif dtype.kind in "mM":
        values = [0, 7, "NaT"]
    elif dtype.kind == "S":
        values = [b"", b"ab", b"abc"]
    elif dtype.kind == "b":
        values = [False, True]
    else:
        values = [0, 1, 200]
    if dtype.kind in "mM":
        unit = np.datetime_data(dtype)[0]
        make = (np.datetime64 if dtype.kind == "M" else np.timedelta64)
        values = [make(v, unit) if v != "NaT" else make("NaT", unit) for v in values]
    fill = np.array(draw(st.sampled_from(values)), dtype=dtype)
    shape = tuple(draw(st.integers(0, 4)) for _ in range(draw(st.integers(0, 3))))
    items = draw(st.lists(st.sampled_from(values), min_size=int(np.prod(shape)),
                          max_size=int(np.prod(shape))))
    if draw(st.booleans()):
        items = [fill[()]] * len(items)
    chunk = np.array(items, dtype=dtype).reshape(shape, order=draw(st.sampled_from("CF")))
    return chunk, fill


@settings(deadline=None, max_examples=300)
@given(fill_cases())
def test_is_fill_matches_zarr_all_equal(case):
    chunk, fill = case
    with np.errstate(invalid="ignore"):
        expected = bool(zarr_util.all_equal(fill[()], chunk))
    assert _chunkcopy.is_fill(chunk, fill) is expected


def test_is_fill_examples():
    assert _chunkcopy.is_fill(np.full((3, 4), np.nan), np.array(np.nan))
    nan_payload = np.array([0x7FF8000000000001, 0xFFF8000000000000], dtype="<u8").view("<f8")
    assert _chunkcopy.is_fill(nan_payload, np.array(np.nan))
    assert not _chunkcopy.is_fill(np.array([np.nan, np.inf]), np.array(np.nan))
    assert _chunkcopy.is_fill(np.array([0.0, -0.0]), np.array(-0.0))
    assert not _chunkcopy.is_fill(np.array([1, 2], ">i4"), np.array(1, ">i4"))
    assert _chunkcopy.is_fill(np.array([b"ab"] * 3, "S2"), np.array(b"ab", "S2"))
    struct = np.dtype([("a", "<i2"), ("b", ">f8")])
    assert _chunkcopy.is_fill(np.zeros(3, struct), np.zeros((), struct))
    assert not _chunkcopy.is_fill(np.array([(0, 0.0), (0, 1.0)], struct), np.zeros((), struct))
    assert _chunkcopy.is_fill(np.arange(12.0).reshape(3, 4)[:, :0], np.array(5.0))
    strided = np.full((4, 4), 3, "<i8")[::2, ::3]
    assert _chunkcopy.is_fill(strided, np.array(3))
    assert not _chunkcopy.is_fill(np.array([1, 3]), 3)
    assert _chunkcopy.is_fill(np.array([3, 3], ">i2"), 3)  # a Python scalar fill is cast
    assert not _chunkcopy.is_fill(np.zeros(3), None)  # no fill value: never empty


def test_concurrent_copies_into_disjoint_regions():
    """The kernels run without the GIL; threads writing disjoint parts of one output must
    not interfere (this is how the read path spreads chunks over its pool)."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(0)
    chunks = [rng.random((32, 48)) for _ in range(16)]
    out = np.zeros((4 * 32, 4 * 48))

    def place(k):
        row, col = divmod(k, 4)
        chunk = chunks[k]
        src = _offsets([np.arange(32), np.arange(48)], chunk)
        dst = _offsets([np.arange(row * 32, row * 32 + 32), np.arange(col * 48, col * 48 + 48)], out)
        for _ in range(20):
            _chunkcopy.copy_orthogonal(chunk, out, src, dst)
            _chunkcopy.copy_points(chunk, out, src[0] + src[1][5], dst[0] + dst[1][5])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(place, range(16)))
    np.testing.assert_array_equal(out, np.block([chunks[4 * r:4 * r + 4] for r in range(4)]))


# Runs of 2 KiB and more go through zf_copy_bytes (a loop that aligns the destination, not
# glibc's memcpy), and with stream runs of 256 bytes and more through zf_stream_bytes: every
# start alignment and length around their thresholds and their 64-byte step.
@pytest.mark.parametrize("dst_shift", [0, 1, 4, 15, 16, 48, 63])
@pytest.mark.parametrize("src_shift", [0, 3, 16])
@pytest.mark.parametrize("nbytes", [255, 256, 257, 2047, 2048, 2049, 2063, 2111, 4096, 4097, 10_000])
@pytest.mark.parametrize("stream", [False, True])
def test_long_runs_at_every_alignment(dst_shift, src_shift, nbytes, stream):
    rng = np.random.default_rng(nbytes)
    src_buf = rng.integers(0, 256, nbytes + 64, dtype=np.uint8)
    dst_buf = np.zeros(nbytes + 128, dtype=np.uint8)
    s0 = (-src_buf.ctypes.data) % 64 + src_shift
    d0 = (-dst_buf.ctypes.data) % 64 + dst_shift
    src_buf = np.concatenate([src_buf, src_buf])  # room for any shift
    src = src_buf[s0:s0 + nbytes]
    dst = dst_buf[d0:d0 + nbytes]
    whole = [np.arange(nbytes, dtype=np.int64)]
    _chunkcopy.copy_orthogonal(src, dst, whole, whole, stream=stream)
    np.testing.assert_array_equal(dst, src)
    assert not dst_buf[:d0].any() and not dst_buf[d0 + nbytes:].any()  # nothing outside the run
    # rows of the run's length, strided in both (the per-row loop of the copy)
    rows = np.zeros((3, nbytes + 5), dtype=np.uint8)
    source = rng.integers(0, 256, (3, nbytes + 9), dtype=np.uint8)
    _chunkcopy.copy_orthogonal(source[:, 2:2 + nbytes], rows[:, 1:1 + nbytes],
                               [np.arange(3) * source.strides[0], np.arange(nbytes)],
                               [np.arange(3) * rows.strides[0], np.arange(nbytes)], stream=stream)
    np.testing.assert_array_equal(rows[:, 1:1 + nbytes], source[:, 2:2 + nbytes])
    assert not rows[:, 0].any() and not rows[:, 1 + nbytes:].any()
