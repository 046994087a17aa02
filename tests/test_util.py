"""Tests of zarr_fast.util against zarr-python 2.18.7's zarr.util, value for value."""
import itertools
import warnings

import numpy as np
import pytest

from zarr_fast import util

zarr = pytest.importorskip("zarr")
import zarr.util as zutil  # noqa: E402


def _both(fn_name, *args):
    """Call the function in both modules; return (ours, theirs) as values or exception types."""
    results = []
    for module in (util, zutil):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = getattr(module, fn_name)(*args)
            except Exception as e:  # noqa: BLE001 - the exception type is the result
                value = (type(e), str(e))
        results.append((value, [str(w.message) for w in caught]))
    return results


@pytest.mark.parametrize("shape", [10, np.int32(4), (), (3, 4), [5, np.int64(6)], (2.0, 3),
                                   (0,), None])
def test_normalize_shape(shape):
    ours, theirs = _both("normalize_shape", shape)
    assert ours == theirs


def test_normalize_shape_values():
    assert util.normalize_shape(7) == (7,)
    assert util.normalize_shape([1, 2, 3]) == (1, 2, 3)
    with pytest.warns(UserWarning, match="non-integer"):
        assert util.normalize_shape((2.7,)) == (2,)
    with pytest.raises(TypeError, match="shape is None"):
        util.normalize_shape(None)


SHAPES = [(), (0,), (1,), (100,), (10000,), (10**7,), (10**9,), (1000, 1000), (10000, 10000),
          (7, 13, 19), (512, 512, 512), (100, 0, 100), (1, 1, 10**8), (3000, 2, 7, 11),
          (2**40,), (10**6, 10**6, 10**3)]


@pytest.mark.parametrize("shape,typesize", list(itertools.product(SHAPES, [1, 2, 8, 13, 2**20, 2**27])))
def test_guess_chunks_matches_zarr(shape, typesize):
    assert util.guess_chunks(shape, typesize) == zutil.guess_chunks(shape, typesize)


def test_guess_chunks_values():
    assert util.guess_chunks((100,), 8) == (100,)
    assert util.guess_chunks((0, 0), 4) == (1, 1)
    chunks = util.guess_chunks((10**6, 10**6), 8)
    assert all(isinstance(c, int) for c in chunks)
    assert np.prod(chunks) * 8 < util.CHUNK_MAX


@pytest.mark.parametrize(
    "chunks,shape",
    [
        (True, (100, 100)), (None, (10000,)), (False, (7, 8)), (5, (20, 30)), (np.int64(5), (20,)),
        ((3, 4), (10, 10)), ([3, 4], (10, 10)), ((3,), (10, 11)), ((-1, 4), (10, 10)),
        ((None, 4), (10, 10)), ((2.5, -1), (10, 10)), ((2.5, 4), (10, 10)), ((1, 2, 3), (10, 10)),
        ((), (4, 5)), (0, (4,)), ((-2,), (4,)),
    ],
)
def test_normalize_chunks_matches_zarr(chunks, shape):
    ours, theirs = _both("normalize_chunks", chunks, shape, 8)
    assert ours == theirs


def test_normalize_chunks_values():
    assert util.normalize_chunks(5, (10, 20), 1) == (5, 5)
    assert util.normalize_chunks((4, -1), (10, 20), 1) == (4, 20)
    assert util.normalize_chunks((4,), (10, 20), 1) == (4, 20)
    assert util.normalize_chunks(False, (10, 20), 1) == (10, 20)
    with pytest.raises(ValueError, match="too many dimensions in chunks"):
        util.normalize_chunks((1, 2, 3), (10, 20), 1)


@pytest.mark.parametrize("order", ["C", "F", "c", "f", "K", "", None, 1])
def test_normalize_order(order):
    ours, theirs = _both("normalize_order", order)
    assert ours == theirs


@pytest.mark.parametrize("separator", [".", "/", None, "-", "", "__"])
def test_normalize_dimension_separator(separator):
    ours, theirs = _both("normalize_dimension_separator", separator)
    assert ours == theirs


@pytest.mark.parametrize(
    "path",
    [None, "", "/", "//", "foo", "/foo/bar/", "foo//bar///baz", "\\foo\\bar\\", b"foo/bar",
     "a/./b", "a/../b", "..", ".", "a/.b/c..", "..a", 42, "é/ü", "a\\\\b", "///a///"],
)
def test_normalize_storage_path(path):
    ours, theirs = _both("normalize_storage_path", path)
    assert ours == theirs


def test_normalize_storage_path_values():
    assert util.normalize_storage_path("//foo\\bar//baz/") == "foo/bar/baz"
    assert util.normalize_storage_path(None) == ""
    with pytest.raises(ValueError, match="'.' or '..' segment"):
        util.normalize_storage_path("foo/../bar")


@pytest.mark.parametrize(
    "old_shape,args",
    [((10,), (20,)), ((10,), ((20,),)), ((10, 5), (20, None)), ((10, 5), ((None, 7),)),
     ((10, 5), ([3, 4],)), ((10, 5), (3,)), ((10,), (1, 2)), ((10,), (np.int64(4),))],
)
def test_normalize_resize_args(old_shape, args):
    ours, theirs = _both("normalize_resize_args", old_shape, *args)
    assert ours == theirs


def test_normalize_resize_args_values():
    assert util.normalize_resize_args((10, 20), 5, None) == (5, 20)
    with pytest.raises(ValueError, match="same number of dimensions"):
        util.normalize_resize_args((10, 20), 5)


@pytest.mark.parametrize(
    "size",
    [0, 1, 1023, 1024, 1536, 2**20 - 1, 2**20, 5 * 2**30, 2**40 + 1, 2**50 - 1, 2**50, 2**60,
     1000.5],
)
def test_human_readable_size(size):
    assert util.human_readable_size(size) == zutil.human_readable_size(size)


def test_human_readable_size_values():
    assert util.human_readable_size(100) == "100"
    assert util.human_readable_size(1536) == "1.5K"
    assert util.human_readable_size(3 * 2**20) == "3.0M"
    assert util.human_readable_size(2**50) == "1.0P"


@pytest.mark.parametrize(
    "item,shape",
    [
        (Ellipsis, (10,)), (slice(None), (10,)), (slice(0, 10), (10,)), (slice(0, 10, 1), (10,)),
        (slice(0, 9), (10,)), (slice(1, 11), (10,)), (slice(0, 10, 2), (10,)),
        ((slice(0, 10), slice(None)), (10, 5)), ((slice(0, 10), slice(0, 4)), (10, 5)),
        ((0, slice(None)), (1, 5)), ((0, slice(None)), (2, 5)), ((1, slice(None)), (1, 5)),
        ((), (3,)),
    ],
)
def test_is_total_slice(item, shape):
    assert util.is_total_slice(item, shape) == zutil.is_total_slice(item, shape)


def test_is_total_slice_rejects_other_types():
    with pytest.raises(TypeError, match="expected slice or tuple of slices"):
        util.is_total_slice([slice(None)], (10,))


class _HasInfo:
    def info_items(self):
        return [
            ("Type", "zarr.core.Array"),
            ("Data type", "float64"),
            ("Shape", "(100, 100)"),
            ("Compressor", "Blosc(cname='lz4', clevel=5, shuffle=SHUFFLE, blocksize=0) " * 3),
            ("No. bytes", "80000 (78.1K)"),
            ("Read-only", False),
        ]


def test_info_reporter_matches_zarr():
    obj = _HasInfo()
    ours, theirs = util.InfoReporter(obj), zutil.InfoReporter(obj)
    assert repr(ours) == repr(theirs)
    assert ours._repr_html_() == theirs._repr_html_()
    assert ours.items == obj.info_items()
    assert repr(ours).splitlines()[0] == "Type       : zarr.core.Array"
    assert all(len(line) <= 80 for line in repr(ours).splitlines())


def test_info_reporter_from_items():
    items = [("Name", "/"), ("Read-only", False)]
    reporter = util.InfoReporter(items)
    assert repr(reporter) == "Name      : /\nRead-only : False\n"
    assert reporter._repr_html_() == (
        '<table class="zarr-info"><tbody>'
        '<tr><th style="text-align: left">Name</th><td style="text-align: left">/</td></tr>'
        '<tr><th style="text-align: left">Read-only</th>'
        '<td style="text-align: left">False</td></tr></tbody></table>'
    )
    assert util.info_text_report(items) == zutil.info_text_report(items)
    assert util.info_html_report(items) == zutil.info_html_report(items)


def test_reexports():
    from zarr_fast.meta import dtypes, v2

    assert util.normalize_dtype is dtypes.normalize_dtype
    assert util.normalize_fill_value is dtypes.normalize_fill_value
    assert util.json_dumps is v2.json_dumps and util.json_loads is v2.json_loads
    with pytest.raises(AttributeError):
        util.no_such_name  # noqa: B018
