"""Argument normalisation and small helpers shared by the API modules (zarr 2.18's ``zarr.util``).

What it does
    Turns the loose forms users pass (``shape=10``, ``chunks=True``, ``order='f'``, a path
    with stray slashes) into the canonical values the rest of zarr_fast works from, with
    zarr-python 2.18.7's results, warnings and error messages. ``guess_chunks`` follows the
    same algorithm so auto-chunked ``.zarray`` documents are identical. ``InfoReporter``
    renders ``Array.info`` / ``Group.info`` as zarr 2.18 does.

What callers guarantee
    ``normalize_chunks`` and ``guess_chunks`` receive a shape already normalised by
    ``normalize_shape``; ``is_total_slice`` receives a normalised selection of slices.

What it refuses
    Bad values raise the exceptions zarr 2.18 raises (``TypeError``/``ValueError``).
    No I/O happens here. Tree views of groups live with the groups, not here.
"""
from __future__ import annotations

import numbers
import textwrap
import time
import warnings
from collections.abc import Mapping

import numpy as np
from numcodecs.compat import ensure_ndarray_like

__all__ = [
    "normalize_shape",
    "guess_chunks",
    "normalize_chunks",
    "normalize_order",
    "normalize_dimension_separator",
    "normalize_storage_path",
    "normalize_resize_args",
    "normalize_dtype",
    "normalize_fill_value",
    "human_readable_size",
    "is_total_slice",
    "info_text_report",
    "info_html_report",
    "InfoReporter",
    "json_dumps",
    "json_loads",
    "flatten",
    "buffer_size",
    "all_equal",
    "retry_call",
    "ConstantMap",
]

# Chunk-size targets for guess_chunks, in bytes (the h5py heuristic zarr 2.x adopted).
CHUNK_BASE = 256 * 1024
CHUNK_MIN = 128 * 1024
CHUNK_MAX = 64 * 1024 * 1024


def normalize_shape(shape):
    """Return ``shape`` as a tuple of ints; an int means a 1-d shape.

    Raises
    ------
    TypeError
        If ``shape`` is None.

    Warns
    -----
    UserWarning
        If an entry is not an integer (it is truncated with ``int``).

    Examples
    --------
    >>> normalize_shape(10)
    (10,)
    >>> normalize_shape([2, np.int64(3)])
    (2, 3)
    """
    if shape is None:
        raise TypeError("shape is None")
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    if not all(isinstance(dim, numbers.Integral) for dim in shape):
        warnings.warn("shape contains non-integer value(s)", UserWarning, stacklevel=2)
    return tuple(int(dim) for dim in shape)


def guess_chunks(shape, typesize):
    """Guess a chunk shape for an array of ``shape`` with ``typesize``-byte items.

    Starts from the whole array and halves the axes in turn (first axis first) until a chunk
    is under, or within 50% of, a target that grows with the array's size (between 128 KiB and
    64 MiB), and is under 64 MiB. Results equal zarr 2.18's, so auto-chunked metadata matches.

    Examples
    --------
    >>> guess_chunks((10000, 10000), 8)
    (313, 625)
    >>> guess_chunks((0,), 4)
    (1,)
    """
    ndim = len(shape)
    # Zero-length axes still need a chunk length of at least 1.
    chunks = [max(int(dim), 1) for dim in shape]
    nitems = 1
    for dim in chunks:
        nitems *= dim
    # The target is computed in float64 through NumPy so its bits equal zarr 2.18's exactly.
    array_nbytes = np.float64(nitems) * typesize
    target_nbytes = CHUNK_BASE * (2 ** np.log10(array_nbytes / (1024.0 * 1024)))
    target_nbytes = min(max(float(target_nbytes), CHUNK_MIN), CHUNK_MAX)

    axis_turn = 0
    while True:
        chunk_nitems = 1
        for dim in chunks:
            chunk_nitems *= dim
        chunk_nbytes = chunk_nitems * typesize
        is_near_target = (
            chunk_nbytes < target_nbytes
            or abs(chunk_nbytes - target_nbytes) / target_nbytes < 0.5
        )
        if is_near_target and chunk_nbytes < CHUNK_MAX:
            return tuple(chunks)
        if chunk_nitems == 1:
            # A single item is already larger than CHUNK_MAX; nothing left to halve.
            return tuple(chunks)
        axis = axis_turn % ndim
        chunks[axis] = (chunks[axis] + 1) // 2
        axis_turn += 1


def normalize_chunks(chunks, shape, typesize):
    """Return the chunk shape for an array of ``shape`` from the user's ``chunks`` argument.

    ``True``/``None`` guess chunks, ``False`` means one chunk, an int applies to every axis,
    a short tuple is completed with the array's own lengths, and ``-1``/``None`` entries mean
    the whole axis.

    Raises
    ------
    ValueError
        If ``chunks`` has more entries than ``shape`` has axes.

    Examples
    --------
    >>> normalize_chunks(5, (10, 20), 8)
    (5, 5)
    >>> normalize_chunks((5, -1), (10, 20), 8)
    (5, 20)
    >>> normalize_chunks((4,), (10, 20), 8)
    (4, 20)
    """
    if chunks is None or chunks is True:
        return guess_chunks(shape, typesize)
    if chunks is False:
        return tuple(shape)
    if isinstance(chunks, numbers.Integral):
        chunks = (int(chunks),) * len(shape)
    chunks = tuple(chunks)
    if len(chunks) > len(shape):
        raise ValueError("too many dimensions in chunks")
    chunks = chunks + tuple(shape[len(chunks):])
    if -1 in chunks or None in chunks:
        # zarr 2.18 converts the other entries to int here, before the non-integer check.
        chunks = tuple(
            dim if (c is None or c == -1) else int(c) for dim, c in zip(shape, chunks)
        )
    if not all(isinstance(c, numbers.Integral) for c in chunks):
        warnings.warn("chunks contains non-integer value(s)", UserWarning, stacklevel=2)
    return tuple(int(c) for c in chunks)


def normalize_order(order):
    """Return ``'C'`` or ``'F'`` (case-insensitive input).

    Examples
    --------
    >>> normalize_order("f")
    'F'
    """
    order = str(order).upper()
    if order not in ("C", "F"):
        raise ValueError(f"order must be either 'C' or 'F', found: {order!r}")
    return order


def normalize_dimension_separator(separator):
    """Return ``separator`` if it is ``'.'``, ``'/'`` or None; raise ``ValueError`` otherwise.

    None is kept (not turned into ``'.'``) because zarr 2.18 writes the
    ``dimension_separator`` key only when one was chosen.

    Examples
    --------
    >>> normalize_dimension_separator("/")
    '/'
    """
    if separator is None or separator in (".", "/"):
        return separator
    raise ValueError(f"dimension_separator must be either '.' or '/', found: {separator!r}")


def normalize_storage_path(path):
    """Return ``path`` as a canonical store path: '/'-separated, no leading/trailing or repeated '/'.

    Bytes are decoded as ASCII, other non-str values go through ``str``, backslashes become
    '/', and None or '' give ''.

    Raises
    ------
    ValueError
        If a segment is ``'.'`` or ``'..'``.

    Examples
    --------
    >>> normalize_storage_path("//foo\\\\bar//baz/")
    'foo/bar/baz'
    >>> normalize_storage_path(None)
    ''
    """
    if isinstance(path, bytes):
        path = str(path, "ascii")
    if path is not None and not isinstance(path, str):
        path = str(path)
    if not path:
        return ""
    # Splitting on '/' and dropping empty segments strips the ends and collapses repeats at once.
    segments = [segment for segment in path.replace("\\", "/").split("/") if segment]
    if any(segment in (".", "..") for segment in segments):
        raise ValueError("path containing '.' or '..' segment not allowed")
    return "/".join(segments)


def normalize_resize_args(old_shape, *args):
    """Return the new shape for ``resize(*args)``; None entries keep the old length.

    Examples
    --------
    >>> normalize_resize_args((10, 20), 5, None)
    (5, 20)
    >>> normalize_resize_args((10,), 30)
    (30,)
    """
    new_shape = args[0] if len(args) == 1 else args
    if isinstance(new_shape, int):
        new_shape = (new_shape,)
    else:
        new_shape = tuple(new_shape)
    if len(new_shape) != len(old_shape):
        raise ValueError("new shape must have same number of dimensions")
    return tuple(old if new is None else int(new) for old, new in zip(old_shape, new_shape))


_SIZE_UNITS = ("K", "M", "G", "T")


def human_readable_size(size):
    """Return ``size`` in bytes as zarr 2.18's info reports do (``'1.5K'``, ``'3.0M'``, ``'17'``).

    Examples
    --------
    >>> human_readable_size(1000)
    '1000'
    >>> human_readable_size(1536)
    '1.5K'
    >>> human_readable_size(2**50)
    '1.0P'
    """
    if size < 2**10:
        return f"{size}"
    for power, unit in enumerate(_SIZE_UNITS, start=1):
        if size < 2 ** (10 * (power + 1)):
            return f"{size / float(2 ** (10 * power)):.1f}{unit}"
    return f"{size / float(2**50):.1f}P"


def is_total_slice(item, shape):
    """Return whether ``item`` (a slice or tuple of slices) selects every element of ``shape``.

    An integer 0 on a length-1 axis also counts, as in zarr 2.18.

    Raises
    ------
    TypeError
        If ``item`` is neither Ellipsis, a slice nor a tuple.

    Examples
    --------
    >>> is_total_slice((slice(0, 10), slice(None)), (10, 5))
    True
    >>> is_total_slice((slice(0, 9),), (10,))
    False
    """
    if item is Ellipsis or item == slice(None):
        return True
    if isinstance(item, slice):
        item = (item,)
    if not isinstance(item, tuple):
        raise TypeError(f"expected slice or tuple of slices, found {item!r}")
    return all(_covers_axis(dim_sel, dim_len) for dim_sel, dim_len in zip(item, shape))


def _covers_axis(dim_sel, dim_len):
    if isinstance(dim_sel, slice):
        if dim_sel == slice(None):
            return True
        return dim_sel.stop - dim_sel.start == dim_len and dim_sel.step in (1, None)
    return isinstance(dim_sel, int) and dim_sel == 0 and dim_len == 1


def info_text_report(items):
    """Render (name, value) pairs as aligned ``name : value`` lines wrapped at 80 columns."""
    name_width = max(len(name) for name, _ in items)
    lines = []
    for name, value in items:
        wrapper = textwrap.TextWrapper(
            width=80,
            initial_indent=name.ljust(name_width) + " : ",
            subsequent_indent=" " * name_width + " : ",
        )
        lines.append(wrapper.fill(str(value)) + "\n")
    return "".join(lines)


def info_html_report(items):
    """Render (name, value) pairs as the ``<table class="zarr-info">`` zarr 2.18 shows in notebooks."""
    rows = "".join(
        f'<tr><th style="text-align: left">{name}</th>'
        f'<td style="text-align: left">{value}</td></tr>'
        for name, value in items
    )
    return f'<table class="zarr-info"><tbody>{rows}</tbody></table>'


class InfoReporter:
    """What ``Array.info`` and ``Group.info`` return: a report shown as text or HTML.

    Parameters
    ----------
    obj : object with ``info_items()``, or a sequence of (name, value) pairs
        The items are read once, when the reporter is made (as zarr 2.18 does).

    Examples
    --------
    >>> print(repr(InfoReporter([("Name", "/"), ("Read-only", False)])), end="")
    Name      : /
    Read-only : False
    """

    def __init__(self, obj):
        self.obj = obj
        info_items = getattr(obj, "info_items", None)
        self.items = list(info_items() if callable(info_items) else obj)

    def __repr__(self):
        return info_text_report(self.items)

    def _repr_html_(self):
        return info_html_report(self.items)


def flatten(arg):
    """Yield the leaves of arbitrarily nested iterables; strings inside ``arg`` are leaves.

    Examples
    --------
    >>> list(flatten(["0", ["1", ["2", [3]]]]))
    ['0', '1', '2', 3]
    >>> list(flatten("ab"))
    ['a', 'b']
    """
    for element in arg:
        if isinstance(element, (str, bytes)) or not hasattr(element, "__iter__"):
            yield element
        else:
            yield from flatten(element)


def buffer_size(value):
    """Return the size in bytes of any buffer-like ``value`` (bytes, ndarray, memoryview).

    Examples
    --------
    >>> buffer_size(b"abcd"), buffer_size(np.zeros(3, dtype="f8"))
    (4, 24)
    """
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    # numcodecs' helper handles every buffer type zarr 2.18 accepts, object arrays included
    return ensure_ndarray_like(value).nbytes


def all_equal(value, array):
    """True when every element of ``array`` equals ``value``; NaN equals NaN, None equals nothing.

    Used to decide whether a chunk holds only the fill value.

    Examples
    --------
    >>> all_equal(0, np.zeros(4)), all_equal(np.nan, np.array([np.nan, 1.0]))
    (True, False)
    """
    if value is None:
        return False
    array = np.asarray(array)
    if array.dtype == object:
        return all(element == value for element in array.flat)
    if array.dtype.kind in "fc":
        try:
            value_is_nan = bool(np.isnan(value))
        except TypeError:
            value_is_nan = False
        if value_is_nan:
            return bool(np.isnan(array).all())
    if array.dtype.kind in "mM" and not isinstance(value, (np.datetime64, np.timedelta64)):
        # A fill value stored as an integer compares against the raw int64 values.
        return bool(np.all(array.view("i8") == value))
    return bool(np.all(array == value))


def retry_call(callabl, args=None, kwargs=None, exceptions=(), retries=10, wait=0.1):
    """Call ``callabl(*args, **kwargs)``, retrying on ``exceptions`` up to ``retries`` attempts.

    Sleeps ``wait`` seconds between attempts; the last attempt's exception propagates.
    """
    args = () if args is None else args
    kwargs = {} if kwargs is None else kwargs
    for attempt in range(1, retries + 1):
        try:
            return callabl(*args, **kwargs)
        except exceptions:
            if attempt == retries:
                raise
            time.sleep(wait)


class ConstantMap(Mapping):
    """A read-only mapping from a fixed set of keys to one shared value.

    Examples
    --------
    >>> m = ConstantMap(["a", "b"], constant=1)
    >>> dict(m)
    {'a': 1, 'b': 1}
    """

    def __init__(self, keys, constant):
        self._keys = dict.fromkeys(keys)  # ordered, for a repr like the equivalent dict's
        self._constant = constant

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return self._constant

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def __repr__(self):
        return repr(dict(self))


def __getattr__(name):
    # Re-exported lazily: meta.v2 imports this module, so importing meta here would be circular.
    if name in ("normalize_dtype", "normalize_fill_value"):
        from zarr_fast.meta import dtypes

        return getattr(dtypes, name)
    if name in ("json_dumps", "json_loads"):
        from zarr_fast.meta import v2

        return getattr(v2, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
