"""Differential tests of zarr_fast._indexing plans against straightforward NumPy references."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarr_fast import _indexing

SETTINGS = settings(deadline=None, max_examples=200)


def _reference_plan(index, chunk_len):
    """Group positions of ``index`` by chunk with a stable argsort: the plan's definition."""
    index = np.asarray(index, dtype=np.int64)
    chunk = index // chunk_len
    order = np.argsort(chunk, kind="stable")
    chunk_ix, starts = np.unique(chunk[order], return_index=True)
    bounds = np.append(starts, len(index))
    return chunk_ix, bounds, index[order] - chunk[order] * chunk_len, order


def _assert_plan_equal(plan, reference):
    assert len(plan) == len(reference)
    for got, want in zip(plan, reference):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)


@st.composite
def slices(draw):
    dim_len = draw(st.integers(0, 60))
    chunk_len = draw(st.integers(1, 13))
    start = draw(st.integers(0, dim_len))
    stop = draw(st.integers(start, dim_len))
    step = draw(st.integers(1, 20))
    return start, stop, step, dim_len, chunk_len


@SETTINGS
@given(slices())
def test_plan_slice_matches_reference(case):
    start, stop, step, dim_len, chunk_len = case
    plan = _indexing.plan_slice(start, stop, step, dim_len, chunk_len)
    index = np.arange(dim_len)[start:stop:step]
    _assert_plan_equal(plan, _reference_plan(index, chunk_len))
    np.testing.assert_array_equal(plan[3], np.arange(len(index)))


def test_plan_slice_examples():
    chunk_ix, bounds, local, out = _indexing.plan_slice(3, 17, 4, 20, 5)
    assert chunk_ix.tolist() == [0, 1, 2, 3]
    assert bounds.tolist() == [0, 1, 2, 3, 4]
    assert local.tolist() == [3, 2, 1, 0]
    assert out.tolist() == [0, 1, 2, 3]
    # A step larger than a chunk skips chunks entirely.
    chunk_ix, bounds, local, _ = _indexing.plan_slice(0, 20, 7, 20, 3)
    assert chunk_ix.tolist() == [0, 2, 4]
    assert local.tolist() == [0, 1, 2]
    empty = _indexing.plan_slice(4, 4, 1, 10, 3)
    assert [a.tolist() for a in empty] == [[], [0], [], []]


def test_plan_slice_refuses_unnormalised():
    with pytest.raises(ValueError, match="normalised"):
        _indexing.plan_slice(5, 3, 1, 10, 2)
    with pytest.raises(ValueError, match="normalised"):
        _indexing.plan_slice(0, 11, 1, 10, 2)
    with pytest.raises(ValueError, match="normalised"):
        _indexing.plan_slice(0, 5, 0, 10, 2)
    with pytest.raises(ValueError, match="chunk_len"):
        _indexing.plan_slice(0, 5, 1, 10, 0)


@st.composite
def int_indices(draw):
    dim_len = draw(st.integers(1, 80))
    chunk_len = draw(st.integers(1, 17))
    index = draw(st.lists(st.integers(0, dim_len - 1), max_size=60))
    if draw(st.booleans()):
        index.sort()  # sorted input (a mask's nonzero) takes the no-sort path
    dtype = draw(st.sampled_from([np.int64, np.int32, np.uint16]))
    return np.array(index, dtype=dtype), dim_len, chunk_len


@SETTINGS
@given(int_indices())
def test_plan_int_matches_stable_argsort(case):
    index, dim_len, chunk_len = case
    plan = _indexing.plan_int(index, dim_len, chunk_len)
    _assert_plan_equal(plan, _reference_plan(index, chunk_len))


@SETTINGS
@given(int_indices())
def test_plan_int_round_trips(case):
    """Reading through the plan chunk by chunk rebuilds ``data[index]``."""
    index, dim_len, chunk_len = case
    data = np.arange(dim_len) * 10
    chunk_ix, bounds, local, out = _indexing.plan_int(index, dim_len, chunk_len)
    result = np.full(len(index), -1)
    for k, c in enumerate(chunk_ix):
        chunk = data[c * chunk_len:(c + 1) * chunk_len]
        part = slice(bounds[k], bounds[k + 1])
        result[out[part]] = chunk[local[part]]
    np.testing.assert_array_equal(result, data[index])


def test_plan_int_sparse_grid_uses_same_result():
    # Far more chunks than indices: the argsort path must give the counting-sort answer.
    index = np.array([10**9 - 1, 5, 10**9 - 1, 3, 700_000_000], dtype=np.int64)
    plan = _indexing.plan_int(index, 10**9, 1)
    _assert_plan_equal(plan, _reference_plan(index, 1))
    index = np.sort(index)
    _assert_plan_equal(_indexing.plan_int(index, 10**9, 7), _reference_plan(index, 7))


def test_plan_int_refuses_out_of_bounds():
    with pytest.raises(IndexError, match="index 10 is out of bounds for axis with size 10"):
        _indexing.plan_int(np.array([1, 10]), 10, 3)
    with pytest.raises(IndexError, match="index -1 is out of bounds"):
        _indexing.plan_int(np.array([-1]), 10, 3)
    with pytest.raises(TypeError, match="integer"):
        _indexing.plan_int(np.array([1.0]), 10, 3)
    with pytest.raises(ValueError, match="1-D"):
        _indexing.plan_int(np.zeros((1, 1), np.int64), 10, 3)


@st.composite
def point_sets(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 12)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    n = draw(st.integers(0, 40))
    coords = np.array([draw(st.lists(st.integers(0, s - 1), min_size=n, max_size=n))
                       for s in shape], dtype=np.int64).reshape(ndim, n)
    return coords, shape, chunks


@SETTINGS
@given(point_sets())
def test_plan_points_matches_reference(case):
    coords, shape, chunks = case
    chunk_ids, bounds, order, _ = _indexing.plan_points(coords, shape, chunks)
    cdata_shape = tuple(-(-s // c) for s, c in zip(shape, chunks))
    chunk_coords = coords // np.array(chunks)[:, None]
    flat = (np.ravel_multi_index(chunk_coords, cdata_shape) if coords.shape[1]
            else np.empty(0, np.int64))
    ref_order = np.argsort(flat, kind="stable")
    ref_ids, ref_starts = np.unique(flat[ref_order], return_index=True)
    _assert_plan_equal((chunk_ids, bounds, order),
                       (ref_ids, np.append(ref_starts, len(flat)), ref_order))
    unravelled = _indexing.unravel_chunk_ids(chunk_ids, cdata_shape)
    assert unravelled.shape == (len(chunk_ids), len(shape))
    if len(chunk_ids):
        np.testing.assert_array_equal(
            unravelled, np.stack(np.unravel_index(chunk_ids, cdata_shape), axis=1))


@SETTINGS
@given(point_sets(), st.booleans())
def test_plan_points_offsets_match_point_chunk_offsets(case, is_fortran):
    coords, shape, chunks = case
    itemsize = 4
    strides = [itemsize] * len(chunks)
    axes = range(len(chunks)) if is_fortran else range(len(chunks) - 1, -1, -1)
    step = itemsize
    for d in axes:
        strides[d] = step
        step *= chunks[d]
    _, _, order, offsets = _indexing.plan_points(coords, shape, chunks, strides)
    np.testing.assert_array_equal(
        offsets, _indexing.point_chunk_offsets(coords, order, chunks, strides))


@pytest.mark.parametrize("chunk_len", [1, 3, 7, 1000, 1024, 65521, 2**31 - 1])
def test_plan_points_division_is_exact_near_multiples(chunk_len):
    # the float reciprocal must never be off by one, right at and around chunk boundaries
    dim_len = 2**40
    near = np.array([0, 1, chunk_len - 1, chunk_len, chunk_len + 1], dtype=np.int64)
    multiples = np.array([1, 2, 1000, 2**20, (dim_len - 1) // chunk_len], dtype=np.int64)
    values = (multiples[:, None] * chunk_len + np.array([-1, 0, 1])).ravel()
    values = np.concatenate([near, values, [dim_len - 1]])
    values = values[(values >= 0) & (values < dim_len)]
    coords = values[None, :]
    chunk_ids, bounds, order, offsets = _indexing.plan_points(coords, (dim_len,), (chunk_len,), (8,))
    expected_ids = values // chunk_len
    got_ids = np.repeat(chunk_ids, np.diff(bounds))
    np.testing.assert_array_equal(got_ids, expected_ids[order])
    np.testing.assert_array_equal(offsets, (values[order] % chunk_len) * 8)


def test_plan_points_rejects_wrong_stride_count():
    with pytest.raises(ValueError, match="chunk_strides must have 2 entries"):
        _indexing.plan_points(np.array([[0], [0]]), (10, 4), (3, 2), (8,))


def test_plan_points_example_and_errors():
    coords = np.array([[0, 5, 1, 9], [3, 0, 3, 1]])
    chunk_ids, bounds, order, _ = _indexing.plan_points(coords, (10, 4), (3, 2))
    assert chunk_ids.tolist() == [1, 2, 6]
    assert bounds.tolist() == [0, 2, 3, 4]
    assert order.tolist() == [0, 2, 1, 3]
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 4"):
        _indexing.plan_points(np.array([[0], [4]]), (10, 4), (3, 2))
    with pytest.raises(IndexError, match="axis 0"):
        _indexing.plan_points(np.array([[-1], [0]]), (10, 4), (3, 2))
    with pytest.raises(ValueError, match="one row per dimension"):
        _indexing.plan_points(np.array([[0]]), (10, 4), (3, 2))


def test_unravel_chunk_ids_examples():
    got = _indexing.unravel_chunk_ids([0, 5, 7], (4, 2))
    assert got.tolist() == [[0, 0], [2, 1], [3, 1]]
    assert _indexing.unravel_chunk_ids([0], ()).shape == (1, 0)
    with pytest.raises(IndexError, match="chunk id 8"):
        _indexing.unravel_chunk_ids([8], (4, 2))


def test_wrap_coords_wraps_negatives_and_names_the_bad_axis():
    coords = np.array([[0, -1, -10, 9], [3, -4, 0, 2]], dtype=np.int64)
    assert _indexing.wrap_coords(coords, (10, 4)) == -1
    assert coords.tolist() == [[0, 9, 0, 9], [3, 0, 0, 2]]
    assert _indexing.wrap_coords(np.array([[0, 1], [4, 0]], dtype=np.int64), (10, 4)) == 1
    assert _indexing.wrap_coords(np.array([[-11], [0]], dtype=np.int64), (10, 4)) == 0
    with pytest.raises(ValueError, match="one row per dimension"):
        _indexing.wrap_coords(np.zeros((1, 2), dtype=np.int64), (10, 4))


def test_vindex_wraps_negatives_and_rejects_out_of_bounds():
    import zarr_fast
    from zarr_fast.errors import BoundsCheckError

    values = np.arange(60, dtype="<i4").reshape(6, 10)
    z = zarr_fast.array(values, chunks=(4, 3))
    rows, cols = np.array([-1, 0, -6, 5]), np.array([[-10], [9]])   # broadcast to (2, 4)
    np.testing.assert_array_equal(z.vindex[rows, cols], values[rows, cols])
    np.testing.assert_array_equal(z.vindex[[5, 0], np.array([9, 0], dtype=np.uint64)], values[[5, 0], [9, 0]])
    with pytest.raises(BoundsCheckError, match="length 10"):
        z.vindex[[0, 1], [0, 10]]
    with pytest.raises(BoundsCheckError, match="length 6"):
        z.vindex[[-7, 1], [0, 1]]
    with pytest.raises(BoundsCheckError, match="length 10"):
        z.vindex[[0], np.array([2**63 + 5], dtype=np.uint64)]
