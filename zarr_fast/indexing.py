"""Normalise a user selection into a per-axis chunk plan.

Every indexing mode zarr-python 2.18 offers reduces to one of two plans:

* ``OrthogonalSelection`` (basic, orthogonal, block): for each axis, the chunks touched and,
  per chunk, the chunk-local indices and output positions (``_indexing.plan_slice`` /
  ``plan_int``). The chunks touched are the product of the axes.
* ``PointSelection`` (coordinate, mask): points grouped by chunk once
  (``_indexing.plan_points``), with the permutation back to the caller's order.

Callers get the exceptions zarr 2.18 raises for bad selections (``IndexError`` family). No
Python object is made per chunk here: ``core`` walks the plans.
"""
from __future__ import annotations

import itertools
import numbers

import numpy as np

from . import _indexing
from .errors import (
    ArrayIndexError,
    BoundsCheckError,
    NegativeStepError,
    VindexInvalidSelectionError,
    err_too_many_indices,
)

# --------------------------------------------------------------------------------------------
# predicates (same meaning as zarr 2.18's, used to route __getitem__ / __setitem__)


def is_integer(x):
    """True for Python and NumPy integers (bool included, as in 2.18)."""
    return isinstance(x, numbers.Integral)


def is_integer_list(x):
    return isinstance(x, list) and len(x) > 0 and is_integer(x[0])


def is_integer_array(x, ndim=None):
    is_int = not np.isscalar(x) and hasattr(x, "shape") and hasattr(x, "dtype") and x.dtype.kind in "ui"
    return is_int and (ndim is None or len(x.shape) == ndim)


def is_bool_array(x, ndim=None):
    is_bool = hasattr(x, "shape") and hasattr(x, "dtype") and x.dtype == bool
    return is_bool and (ndim is None or len(x.shape) == ndim)


def is_scalar(value, dtype):
    if np.isscalar(value):
        return True
    if isinstance(value, tuple) and dtype.names and len(value) == len(dtype.names):
        return True
    return dtype.kind == "O" and not isinstance(value, np.ndarray)


def is_pure_fancy_indexing(selection, ndim):
    """True when ``selection`` is only integers and integer arrays (at least one array)."""
    if ndim == 1 and (is_integer_list(selection) or is_integer_array(selection)):
        return True
    if not (isinstance(selection, tuple) and len(selection) == ndim):
        return False
    if any(isinstance(s, slice) or s is Ellipsis for s in selection):
        return False
    return all(is_integer(s) or is_integer_list(s) or is_integer_array(s) for s in selection) and any(
        is_integer_list(s) or is_integer_array(s) for s in selection
    )


def is_pure_orthogonal_indexing(selection, ndim):
    if not ndim:
        return False
    if is_integer_list(selection) or is_integer_array(selection, ndim=1):
        return True
    return (
        isinstance(selection, tuple)
        and len(selection) == ndim
        and sum(is_integer_list(s) or is_integer_array(s) for s in selection) <= 1
        and all(is_integer_list(s) or is_integer_array(s) or isinstance(s, (int, slice)) for s in selection)
    )


def is_total_slice(item, shape):
    """True if ``item`` (ints/slices) selects every element of an array of ``shape``."""
    if item == Ellipsis or item == slice(None):
        return True
    item = ensure_tuple(item)
    if len(item) != len(shape):
        return False
    return all(
        isinstance(s, slice)
        and (s == slice(None) or ((s.stop - s.start == n) and (s.step in (1, None))))
        for s, n in zip(item, shape)
    )


# --------------------------------------------------------------------------------------------
# normalisation helpers (public in zarr.indexing, kept for code that imports them)


def ensure_tuple(v):
    return v if isinstance(v, tuple) else (v,)


def replace_lists(selection):
    return tuple(np.asarray(s) if isinstance(s, list) else s for s in selection)


def normalize_integer_selection(dim_sel, dim_len):
    dim_sel = int(dim_sel)
    if dim_sel < 0:
        dim_sel += dim_len
    if dim_sel >= dim_len or dim_sel < 0:
        raise BoundsCheckError(dim_len)
    return dim_sel


def replace_ellipsis(selection, shape):
    """Expand a single Ellipsis and pad with full slices to ``len(shape)`` items."""
    selection = ensure_tuple(selection)
    n_ellipsis = sum(1 for s in selection if s is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_ellipsis == 1:
        at = next(i for i, s in enumerate(selection) if s is Ellipsis)
        n_items = len(selection) - 1
        if n_items >= len(shape):
            selection = selection[:at] + selection[at + 1 :]
        else:
            selection = selection[:at] + (slice(None),) * (len(shape) - n_items) + selection[at + 1 :]
    if len(selection) < len(shape):
        selection += (slice(None),) * (len(shape) - len(selection))
    if len(selection) > len(shape):
        err_too_many_indices(selection, shape)
    return selection


def pop_fields(selection):
    """Split field names (strings) out of a selection: returns ``(fields, selection)``."""
    if isinstance(selection, str):
        return selection, ()
    if not isinstance(selection, tuple):
        return None, selection
    fields = [s for s in selection if isinstance(s, str)]
    fields = fields[0] if len(fields) == 1 else fields
    selection = tuple(s for s in selection if not isinstance(s, str))
    selection = selection[0] if len(selection) == 1 else selection
    return fields, selection


def check_fields(fields, dtype):
    """Return the output dtype for ``fields`` of ``dtype`` (``dtype`` itself when no fields)."""
    if fields is None:
        return dtype
    if not isinstance(fields, (str, list, tuple)):
        raise IndexError(f"'fields' argument must be a string or list of strings; found {type(fields)!r}")
    if not fields:
        return dtype
    if dtype.names is None:
        raise IndexError("invalid 'fields' argument, array does not have any fields")
    try:
        if isinstance(fields, str):
            return dtype[fields]
        return np.dtype([(f, dtype[f]) for f in fields])
    except KeyError as e:
        raise IndexError(f"invalid 'fields' argument, field not found: {e!r}") from e


def check_no_multi_fields(fields):
    if isinstance(fields, list):
        if len(fields) == 1:
            return fields[0]
        if len(fields) > 1:
            raise IndexError("multiple fields are not supported for this operation")
    return fields


# --------------------------------------------------------------------------------------------
# plans


class OrthogonalSelection:
    """Per-axis chunk plan for basic, orthogonal and block selections.

    ``dim_plans[d]`` is ``(chunk_ix, bounds, local, out)`` (int64 arrays, see
    ``_indexing``); ``shape`` is the result shape, ``full_shape`` the same with a length-1
    axis kept for each integer-indexed axis (listed in ``drop_axes``), so the result can be
    filled through a plain N-d view and reshaped at the end.
    """

    __slots__ = ("dim_plans", "shape", "full_shape", "drop_axes", "is_basic")

    def __init__(self, dim_plans, full_shape, drop_axes, is_basic):
        self.dim_plans = dim_plans
        self.full_shape = tuple(full_shape)
        self.drop_axes = tuple(drop_axes)
        self.shape = tuple(n for d, n in enumerate(full_shape) if d not in self.drop_axes)
        self.is_basic = is_basic

    @property
    def nchunks(self):
        n = 1
        for plan in self.dim_plans:
            n *= len(plan[0])
        return n


class PointSelection:
    """Points grouped by chunk for coordinate and mask selections.

    ``coords`` is ``(ndim, n)`` int64 (normalised, in bounds); points
    ``order[bounds[k]:bounds[k+1]]`` lie in chunk ``chunk_coords[k]``; the flat result is
    reshaped to ``sel_shape``. ``offsets`` (when the planner was given chunk strides) holds
    each point's byte offset inside its chunk, in grouped order.
    """

    __slots__ = ("coords", "chunk_coords", "bounds", "order", "sel_shape", "shape", "offsets")

    def __init__(self, coords, chunk_coords, bounds, order, sel_shape, offsets=None):
        self.coords = coords
        self.offsets = offsets
        self.chunk_coords = chunk_coords
        self.bounds = bounds
        self.order = order
        self.sel_shape = sel_shape
        self.shape = (coords.shape[1],)

    @property
    def nchunks(self):
        return len(self.chunk_coords)


def _plan_slice(dim_sel, dim_len, dim_chunk_len):
    start, stop, step = dim_sel.indices(dim_len)
    if step < 1:
        raise NegativeStepError()
    if stop < start:
        stop = start
    return _indexing.plan_slice(start, stop, step, dim_len, dim_chunk_len)


def _plan_integer(dim_sel, dim_len, dim_chunk_len):
    i = normalize_integer_selection(dim_sel, dim_len)
    return _indexing.plan_slice(i, i + 1, 1, dim_len, dim_chunk_len)


def _checked_int_array(dim_sel, dim_len):
    """``dim_sel`` as an integer array whose values all fit in int64 (not yet wrapped)."""
    idx = np.asarray(dim_sel)
    if idx.dtype.kind not in "ui":
        raise IndexError(f"expected an integer array, got dtype {idx.dtype}")
    if idx.dtype.kind == "u" and idx.size and idx.max() > np.iinfo(np.int64).max:
        raise BoundsCheckError(dim_len)
    return idx


def _normalize_int_array(dim_sel, dim_len):
    idx = _checked_int_array(dim_sel, dim_len).astype(np.int64, copy=True)
    negative = idx < 0
    if negative.any():
        idx[negative] += dim_len
    if idx.size and (idx.min() < 0 or idx.max() >= dim_len):
        raise BoundsCheckError(dim_len)
    return idx


def basic_selection(selection, shape, chunks):
    """Plan a basic selection (integers, slices with step >= 1, one Ellipsis)."""
    selection = replace_ellipsis(selection, shape)
    dim_plans, full_shape, drop_axes = [], [], []
    for d, (dim_sel, dim_len, dim_chunk_len) in enumerate(zip(selection, shape, chunks)):
        if is_integer(dim_sel):
            dim_plans.append(_plan_integer(dim_sel, dim_len, dim_chunk_len))
            drop_axes.append(d)
            full_shape.append(1)
        elif isinstance(dim_sel, slice):
            plan = _plan_slice(dim_sel, dim_len, dim_chunk_len)
            dim_plans.append(plan)
            full_shape.append(len(plan[2]))
        else:
            raise IndexError(
                "unsupported selection item for basic indexing; "
                f"expected integer or slice, got {type(dim_sel)!r}"
            )
    return OrthogonalSelection(dim_plans, full_shape, drop_axes, True)


def orthogonal_selection(selection, shape, chunks):
    """Plan an orthogonal (outer) selection: per axis an int, slice, int array or bool array."""
    selection = replace_lists(replace_ellipsis(selection, shape))
    dim_plans, full_shape, drop_axes = [], [], []
    is_basic = True
    for d, (dim_sel, dim_len, dim_chunk_len) in enumerate(zip(selection, shape, chunks)):
        if is_integer(dim_sel):
            dim_plans.append(_plan_integer(dim_sel, dim_len, dim_chunk_len))
            drop_axes.append(d)
            full_shape.append(1)
            continue
        if isinstance(dim_sel, slice):
            plan = _plan_slice(dim_sel, dim_len, dim_chunk_len)
        elif is_integer_array(dim_sel):
            if dim_sel.ndim != 1:
                raise IndexError("integer arrays in an orthogonal selection must be 1-dimensional only")
            plan = _indexing.plan_int(_normalize_int_array(dim_sel, dim_len), dim_len, dim_chunk_len)
            is_basic = False
        elif is_bool_array(dim_sel):
            if dim_sel.ndim != 1:
                raise IndexError("Boolean arrays in an orthogonal selection must be 1-dimensional only")
            if dim_sel.shape[0] != dim_len:
                raise IndexError(
                    "Boolean array has the wrong length for dimension; "
                    f"expected {dim_len}, got {dim_sel.shape[0]}"
                )
            idx = np.flatnonzero(dim_sel).astype(np.int64)
            plan = _indexing.plan_int(idx, dim_len, dim_chunk_len)
            is_basic = False
        else:
            raise IndexError(
                "unsupported selection item for orthogonal indexing; expected integer, slice, "
                f"integer array or Boolean array, got {type(dim_sel)!r}"
            )
        dim_plans.append(plan)
        full_shape.append(len(plan[2]))
    return OrthogonalSelection(dim_plans, full_shape, drop_axes, is_basic)


def block_selection(selection, shape, chunks):
    """Plan a block selection: per axis a chunk index or a step-1 slice of chunk indices."""
    selection = replace_lists(replace_ellipsis(selection, shape))
    dim_plans, full_shape = [], []
    for dim_sel, dim_len, dim_chunk_len in zip(selection, shape, chunks):
        dim_nchunks = -(-dim_len // dim_chunk_len)
        if is_integer(dim_sel):
            block = int(dim_sel)
            if block < 0:
                block += dim_nchunks
            start, stop = block * dim_chunk_len, (block + 1) * dim_chunk_len
        elif isinstance(dim_sel, slice):
            if dim_sel.step not in (1, None):
                raise IndexError(
                    "unsupported selection item for block indexing; "
                    f"expected integer or slice with step=1, got {type(dim_sel)!r}"
                )
            first = dim_sel.start if dim_sel.start is not None else 0
            last = dim_sel.stop if dim_sel.stop is not None else dim_nchunks
            first = first + dim_nchunks if first < 0 else first
            last = last + dim_nchunks if last < 0 else last
            start, stop = first * dim_chunk_len, last * dim_chunk_len
        else:
            raise IndexError(
                "unsupported selection item for block indexing; "
                f"expected integer or slice, got {type(dim_sel)!r}"
            )
        if start >= dim_len or start < 0:
            raise BoundsCheckError(dim_len)
        plan = _plan_slice(slice(start, stop), dim_len, dim_chunk_len)
        dim_plans.append(plan)
        full_shape.append(len(plan[2]))
    return OrthogonalSelection(dim_plans, full_shape, (), True)


def is_coordinate_selection(selection, shape):
    return len(selection) == len(shape) and all(is_integer(s) or is_integer_array(s) for s in selection)


def is_mask_selection(selection, shape):
    return len(selection) == 1 and is_bool_array(selection[0]) and selection[0].shape == tuple(shape)


def _point_selection(coords, sel_shape, shape, chunks, chunk_strides):
    cdata_shape = tuple(-(-s // c) for s, c in zip(shape, chunks))
    chunk_ids, bounds, order, offsets = _indexing.plan_points(coords, shape, chunks, chunk_strides)
    chunk_coords = np.stack(np.unravel_index(chunk_ids, cdata_shape), axis=1) if len(chunk_ids) else (
        np.empty((0, len(shape)), dtype=np.int64)
    )
    return PointSelection(coords, chunk_coords, bounds, order, sel_shape, offsets)


def coordinate_selection(selection, shape, chunks, chunk_strides=None):
    """Plan a coordinate (vectorised) selection: one integer array per axis, broadcast.

    With ``chunk_strides`` (bytes), the plan also carries each point's offset in its chunk.
    """
    selection = ensure_tuple(selection)
    selection = tuple([s] if is_integer(s) else s for s in selection)
    selection = replace_lists(selection)
    if not is_coordinate_selection(selection, shape):
        raise IndexError(
            "invalid coordinate selection; expected one integer (coordinate) array per "
            f"dimension of the target array, got {selection!r}"
        )
    arrays = [_checked_int_array(s, n) for s, n in zip(selection, shape)]
    broadcast = np.broadcast_arrays(*arrays)
    sel_shape = broadcast[0].shape if broadcast[0].shape else (1,)
    if broadcast:
        # one int64 copy per axis, then negatives wrapped and bounds checked in one pass
        coords = np.empty((len(broadcast), broadcast[0].size), dtype=np.int64)
        for d, b in enumerate(broadcast):
            coords[d] = b.reshape(-1)
        bad_axis = _indexing.wrap_coords(coords, shape)
        if bad_axis >= 0:
            raise BoundsCheckError(shape[bad_axis])
    else:
        coords = np.empty((0, 1), dtype=np.int64)
    return _point_selection(coords, sel_shape, shape, chunks, chunk_strides)


def mask_selection(selection, shape, chunks, chunk_strides=None):
    """Plan a mask selection: one Boolean array with the array's shape (``chunk_strides``
    as in ``coordinate_selection``)."""
    selection = replace_lists(ensure_tuple(selection))
    if not is_mask_selection(selection, shape):
        raise IndexError(
            "invalid mask selection; expected one Boolean (mask)array with the same shape "
            f"as the target array, got {selection!r}"
        )
    coords = np.ascontiguousarray(np.stack(np.nonzero(selection[0])).astype(np.int64, copy=False))
    return _point_selection(coords, (coords.shape[1],), shape, chunks, chunk_strides)


# --------------------------------------------------------------------------------------------
# NumPy-level helpers kept from zarr.indexing's public surface


def _ix(selection, shape):
    selection = replace_ellipsis(selection, shape)
    items = [
        range(*s.indices(n)) if isinstance(s, slice) else [s] if is_integer(s) else s
        for s, n in zip(selection, shape)
    ]
    return np.ix_(*items)


def oindex(a, selection):
    """Orthogonal indexing of a NumPy array (the oracle our tests compare against)."""
    selection = replace_ellipsis(selection, a.shape)
    drop_axes = tuple(i for i, s in enumerate(selection) if is_integer(s))
    result = a[_ix(selection, a.shape)]
    return result.squeeze(axis=drop_axes) if drop_axes else result


def oindex_set(a, selection, value):
    selection = replace_ellipsis(selection, a.shape)
    drop_axes = tuple(i for i, s in enumerate(selection) if is_integer(s))
    if not np.isscalar(value) and drop_axes:
        value = np.expand_dims(np.asanyarray(value), drop_axes)
    a[_ix(selection, a.shape)] = value


# --------------------------------------------------------------------------------------------
# the .oindex / .vindex / .blocks accessors


class OIndex:
    def __init__(self, array):
        self.array = array

    def __getitem__(self, selection):
        fields, selection = pop_fields(selection)
        selection = replace_lists(ensure_tuple(selection))
        return self.array.get_orthogonal_selection(selection, fields=fields)

    def __setitem__(self, selection, value):
        fields, selection = pop_fields(selection)
        selection = replace_lists(ensure_tuple(selection))
        return self.array.set_orthogonal_selection(selection, value, fields=fields)


class VIndex:
    def __init__(self, array):
        self.array = array

    def __getitem__(self, selection):
        fields, selection = pop_fields(selection)
        selection = replace_lists(ensure_tuple(selection))
        if is_coordinate_selection(selection, self.array.shape):
            return self.array.get_coordinate_selection(selection, fields=fields)
        if is_mask_selection(selection, self.array.shape):
            return self.array.get_mask_selection(selection, fields=fields)
        raise VindexInvalidSelectionError(selection)

    def __setitem__(self, selection, value):
        fields, selection = pop_fields(selection)
        selection = replace_lists(ensure_tuple(selection))
        if is_coordinate_selection(selection, self.array.shape):
            self.array.set_coordinate_selection(selection, value, fields=fields)
        elif is_mask_selection(selection, self.array.shape):
            self.array.set_mask_selection(selection, value, fields=fields)
        else:
            raise VindexInvalidSelectionError(selection)


class BlockIndex:
    def __init__(self, array):
        self.array = array

    def __getitem__(self, selection):
        fields, selection = pop_fields(selection)
        selection = replace_lists(ensure_tuple(selection))
        return self.array.get_block_selection(selection, fields=fields)

    def __setitem__(self, selection, value):
        fields, selection = pop_fields(selection)
        selection = replace_lists(ensure_tuple(selection))
        return self.array.set_block_selection(selection, value, fields=fields)


# --------------------------------------------------------------------------------------------
# helpers kept for zarr 2.18 API parity (partial chunk reads)


def make_slice_selection(selection):
    """Return ``selection`` with integers (and length-1 integer arrays) as unit slices.

    Raises
    ------
    ArrayIndexError
        For an integer array of any length other than 1.

    Examples
    --------
    >>> make_slice_selection((np.uint64(3), slice(None)))
    [slice(3, 4, 1), slice(None, None, None)]
    """
    slices = []
    for dim_sel in selection:
        if is_integer(dim_sel):
            slices.append(slice(int(dim_sel), int(dim_sel) + 1, 1))
        elif isinstance(dim_sel, np.ndarray):
            if len(dim_sel) != 1:
                raise ArrayIndexError(
                    f"expected an integer array of length 1, found length {len(dim_sel)}"
                )
            slices.append(slice(int(dim_sel[0]), int(dim_sel[0]) + 1, 1))
        else:
            slices.append(dim_sel)
    return slices


class PartialChunkIterator:
    """Iterate the contiguous C-order runs that a selection covers inside one chunk.

    Each item is ``(start, nitems, dim_sel)``: the run's first element as a flat C-order
    offset into a chunk of ``arr_shape``, its length in elements, and the slices (array
    coordinates, one per axis up to the run's axis) that the run covers. Trailing axes that
    are selected whole are folded into the run, so a selection of whole rows gives one run
    per row. Missing trailing axes count as whole.

    Parameters
    ----------
    selection : tuple of int or slice
    arr_shape : tuple of int

    Raises
    ------
    IndexError
        If the selection has more axes than ``arr_shape`` or reaches past an axis.

    Examples
    --------
    >>> list(PartialChunkIterator((slice(1, 3), slice(0, 4)), (4, 4)))
    [(4, 8, (slice(1, 3, 1),))]
    """

    def __init__(self, selection, arr_shape):
        arr_shape = tuple(int(dim_len) for dim_len in arr_shape)
        selection = make_slice_selection(ensure_tuple(selection))
        if len(selection) > len(arr_shape):
            err_too_many_indices(selection, arr_shape)
        dim_ranges = []
        for axis, dim_len in enumerate(arr_shape):
            dim_sel = selection[axis] if axis < len(selection) else slice(None)
            start, stop, step = dim_sel.indices(dim_len)
            if dim_sel.start is not None and not (0 <= dim_sel.start < dim_len):
                raise IndexError(
                    f"slice start {dim_sel.start} is out of bounds for axis {axis} with size {dim_len}"
                )
            if dim_sel.stop is not None and dim_sel.stop > dim_len:
                raise IndexError(
                    f"slice stop {dim_sel.stop} is out of bounds for axis {axis} with size {dim_len}"
                )
            if step < 1:
                raise NegativeStepError()
            dim_ranges.append(range(start, stop, step))
        self.arr_shape = arr_shape
        self.dim_ranges = dim_ranges

        # The run axis: the last axis not selected whole (axis 0 when all are whole).
        # Everything after it is whole and folds into the run.
        run_axis = 0
        for axis, (dim_range, dim_len) in enumerate(zip(dim_ranges, arr_shape)):
            if not (dim_range.start == 0 and dim_range.stop == dim_len and dim_range.step == 1):
                run_axis = axis
        if dim_ranges and dim_ranges[run_axis].step != 1 and run_axis + 1 < len(arr_shape):
            # A strided axis cannot be one run: walk it element by element instead.
            run_axis += 1
        self.run_axis = run_axis

    def __iter__(self):
        ndim = len(self.arr_shape)
        if ndim == 0:
            yield (0, 1, ())
            return
        strides = [1] * ndim
        for axis in range(ndim - 2, -1, -1):
            strides[axis] = strides[axis + 1] * self.arr_shape[axis + 1]
        run_axis = self.run_axis
        run_range = self.dim_ranges[run_axis]
        if run_range.step == 1:
            run_slices = [(slice(run_range.start, run_range.stop, 1), run_range.start, len(run_range))]
        else:
            # only reached when the strided axis is the last one: unit runs
            run_slices = [(slice(i, i + 1, 1), i, 1) for i in run_range]
        for outer in itertools.product(*self.dim_ranges[:run_axis]):
            outer_offset = sum(i * stride for i, stride in zip(outer, strides))
            outer_sel = tuple(slice(i, i + 1, 1) for i in outer)
            for run_sel, run_start, run_len in run_slices:
                yield (
                    outer_offset + run_start * strides[run_axis],
                    run_len * strides[run_axis],
                    outer_sel + (run_sel,),
                )
