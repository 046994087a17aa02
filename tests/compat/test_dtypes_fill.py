"""Every dtype, fill value, order, separator and codec chain, against zarr-python 2.18.7.

For each case both libraries run the same creation call on separate dict stores. The
``.zarray`` bytes must be identical, written values must read back equal, chunks never written
must read as the fill value, and (where the codec is deterministic) every chunk's bytes must
match what zarr-python wrote.
"""

import math

import numpy as np
import pytest
from numcodecs import BZ2, LZ4, Blosc, Delta, FixedScaleOffset, GZip, Quantize, Shuffle, Zlib, Zstd

import zarr_fast

NESTED = np.dtype([("x", "<i2"), ("inner", [("p", "<f4"), ("q", "u1")])])
SUBARRAY = np.dtype([("a", "<i4", (2,)), ("b", "S2"), ("c", ">f8")])
DTYPES = [
    "bool", "i1", "<i2", "<i4", "<i8", "u1", "<u2", "<u4", "<u8",
    "<f2", "<f4", "<f8", "<c8", "<c16",
    ">i2", ">i4", ">u8", ">f4", ">f8", ">c16",
    "<M8[ns]", "<M8[s]", "<M8[D]", ">M8[ms]", "<m8[ms]", "<m8[us]", ">m8[s]",
    "S7", "<U4", ">U3", "V6", NESTED, SUBARRAY,
]


def _create_pair(zarr2, **kwargs):
    """The same creation call through zarr_fast and zarr; returns ((ours, store), (theirs, store))."""
    ours_store, theirs_store = {}, {}
    ours = zarr_fast.create(store=ours_store, **kwargs)
    theirs = zarr2.create(store=theirs_store, **kwargs)
    return (ours, ours_store), (theirs, theirs_store)


def _assert_same_keys_and_bytes(ours_store, theirs_store, compare_chunks=True):
    assert sorted(ours_store) == sorted(theirs_store)
    for key in theirs_store:
        if compare_chunks or key.startswith("."):
            assert bytes(ours_store[key]) == bytes(theirs_store[key]), f"bytes differ for {key!r}"


def _dtype_id(dtype):
    return np.dtype(dtype).str if np.dtype(dtype).fields is None else "struct-" + str(len(np.dtype(dtype)))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES, ids=_dtype_id)
def test_dtype_roundtrip_and_metadata(dtype, order, zarr2, make_values):
    dtype = np.dtype(dtype)
    (ours, ours_store), (theirs, theirs_store) = _create_pair(
        zarr2, shape=(7, 6), chunks=(3, 4), dtype=dtype, order=order, compressor=Zlib(level=1)
    )
    assert ours_store[".zarray"] == theirs_store[".zarray"]
    assert ours.dtype == theirs.dtype == dtype
    values = make_values(dtype, (5, 6), seed=1)
    ours[:5] = values
    theirs[:5] = values
    np.testing.assert_array_equal(ours[:5], values)
    np.testing.assert_array_equal(zarr2.open_array(ours_store, mode="r")[:5], values)
    np.testing.assert_array_equal(ours[5:], theirs[5:])  # never written: fill value on both
    _assert_same_keys_and_bytes(ours_store, theirs_store)


FILL_CASES = [
    ("<i4", 0), ("<i4", -7), ("<u8", 2**64 - 1), ("<i4", None),
    ("<f8", 0.0), ("<f8", float("nan")), ("<f8", float("inf")), ("<f8", -float("inf")),
    ("<f4", float("nan")), ("<f2", -float("inf")), ("<f8", None), ("<f8", 1.25),
    ("<c16", 1 + 2j), ("<c8", 0), ("bool", True),
    ("S5", b"ab"), ("S5", b""), ("<U3", "zé"), ("V4", b"\x01\x02\x03\x04"),
    ("<M8[ns]", 0), ("<m8[s]", 5),
]


@pytest.mark.parametrize("dtype,fill_value", FILL_CASES, ids=[f"{d}-{f!r}" for d, f in FILL_CASES])
def test_fill_values(dtype, fill_value, zarr2, make_values):
    (ours, ours_store), (theirs, theirs_store) = _create_pair(
        zarr2, shape=(6, 5), chunks=(4, 2), dtype=dtype, fill_value=fill_value, compressor=None
    )
    assert ours_store[".zarray"] == theirs_store[".zarray"]
    if fill_value is None:
        assert ours.fill_value is None
    elif isinstance(fill_value, float) and math.isnan(fill_value):
        assert np.isnan(ours.fill_value)
    else:
        assert ours.fill_value == theirs.fill_value
    values = make_values(dtype, (2, 2), seed=2)
    ours[1:3, 1:3] = values
    theirs[1:3, 1:3] = values
    np.testing.assert_array_equal(ours[1:3, 1:3], values)
    if fill_value is not None:
        expected = np.full((6, 5), fill_value, dtype=dtype)
        expected[1:3, 1:3] = values
        np.testing.assert_array_equal(ours[...], expected)
        np.testing.assert_array_equal(ours[4:, 3:], theirs[4:, 3:])
    _assert_same_keys_and_bytes(ours_store, theirs_store)


def test_structured_fill_value(zarr2, make_values):
    fill = np.array((3, (1.5, 7)), dtype=NESTED)[()]
    (ours, ours_store), (theirs, theirs_store) = _create_pair(
        zarr2, shape=(5,), chunks=(2,), dtype=NESTED, fill_value=fill, compressor=None
    )
    assert ours_store[".zarray"] == theirs_store[".zarray"]
    ours[0] = make_values(NESTED, (), seed=3)
    got = ours[...]
    assert got[4]["x"] == 3 and got[4]["inner"]["p"] == 1.5 and got[4]["inner"]["q"] == 7
    np.testing.assert_array_equal(got[1:], theirs[1:])


CODEC_CASES = {
    "delta-zlib": dict(dtype="<i4", filters=[Delta(dtype="<i4")], compressor=Zlib(level=2)),
    "fixedscaleoffset-blosc-zstd": dict(
        dtype="<f8",
        filters=[FixedScaleOffset(offset=100, scale=10, dtype="<f8", astype="<i4")],
        compressor=Blosc(cname="zstd", clevel=3, shuffle=Blosc.BITSHUFFLE),
    ),
    "quantize-zstd": dict(dtype="<f8", filters=[Quantize(digits=3, dtype="<f8")], compressor=Zstd(level=1)),
    "shuffle-lz4": dict(dtype="<f8", filters=[Shuffle(elementsize=8)], compressor=LZ4(acceleration=1)),
    "gzip": dict(dtype="<u2", compressor=GZip(level=5)),
    "bz2": dict(dtype="<i8", compressor=BZ2(level=1)),
    "blosc-blosclz-noshuffle": dict(dtype="<i2", compressor=Blosc(cname="blosclz", clevel=9,
                                                                  shuffle=Blosc.NOSHUFFLE)),
    "blosc-lz4-shuffle": dict(dtype="<f4", compressor=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)),
    "blosc-zlib-auto": dict(dtype=">i4", compressor=Blosc(cname="zlib", clevel=1, shuffle=Blosc.AUTOSHUFFLE)),
    "delta-then-shuffle-no-compressor": dict(dtype="<i8", filters=[Delta(dtype="<i8"), Shuffle(elementsize=8)],
                                             compressor=None),
    "default-compressor": dict(dtype="<f8"),
}


@pytest.mark.parametrize("separator", [".", "/"])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("case", sorted(CODEC_CASES))
def test_codec_chains(case, order, separator, zarr2):
    kwargs = dict(CODEC_CASES[case])
    dtype = np.dtype(kwargs["dtype"])
    (ours, ours_store), (theirs, theirs_store) = _create_pair(
        zarr2, shape=(11, 9), chunks=(4, 5), order=order, dimension_separator=separator,
        fill_value=3, **kwargs
    )
    assert ours_store[".zarray"] == theirs_store[".zarray"]
    base = np.add.outer(np.arange(8), np.arange(9) * 0.5)
    values = (base * 4).astype(dtype) if dtype.kind in "iu" else np.round(base, 1).astype(dtype)
    ours[:8] = values
    theirs[:8] = values
    np.testing.assert_array_equal(ours[:8], theirs[:8])
    if "filters" not in kwargs or case.startswith("delta"):
        np.testing.assert_array_equal(ours[:8], values)  # lossless chain
    else:
        np.testing.assert_allclose(ours[:8], values, atol=0.01)
    np.testing.assert_array_equal(ours[8:], np.full((3, 9), 3, dtype=dtype))
    np.testing.assert_array_equal(zarr2.open_array(ours_store, mode="r")[...], ours[...])
    _assert_same_keys_and_bytes(ours_store, theirs_store)
