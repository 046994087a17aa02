"""Tests of zarr_fast.meta.dtypes: dtype and fill-value normalisation and JSON encoding.

Compared with zarr-python 2.18.7's ``zarr.util.normalize_dtype``/``normalize_fill_value`` and
``Metadata2`` encoders where zarr is installed; the JSON forms are also checked literally.
"""
import math
import warnings

import numcodecs
import numpy as np
import pytest

from zarr_fast.errors import MetadataError
from zarr_fast.meta.dtypes import (
    decode_dtype,
    decode_fill_value,
    encode_dtype,
    encode_fill_value,
    normalize_dtype,
    normalize_fill_value,
)

zarr = pytest.importorskip("zarr")
from zarr.meta import Metadata2  # noqa: E402
from zarr.util import normalize_dtype as zarr_normalize_dtype  # noqa: E402
from zarr.util import normalize_fill_value as zarr_normalize_fill_value  # noqa: E402

STRUCTURED = np.dtype([("a", "<i4"), ("b", [("c", ">f8"), ("d", "S2")]), ("e", "u1", (2, 3))])


@pytest.mark.parametrize(
    "dtype",
    [None, "f4", "<i8", ">u2", np.float32, float, int, bool, "M8[ns]", "m8[D]", "S3", "U5",
     "V7", STRUCTURED, ("i2", (3,)), np.dtype("c16")],
)
def test_normalize_dtype_matches_zarr(dtype):
    assert normalize_dtype(dtype) == zarr_normalize_dtype(dtype, None)


@pytest.mark.parametrize(
    "dtype,codec",
    [
        (str, numcodecs.VLenUTF8()),
        ("str", numcodecs.VLenUTF8()),
        (bytes, numcodecs.VLenBytes()),
        ("bytes", numcodecs.VLenBytes()),
        ("array:i4", numcodecs.VLenArray("i4")),
        ("array:<f8", numcodecs.VLenArray("<f8")),
    ],
)
def test_normalize_dtype_object_shorthands(dtype, codec):
    ours = normalize_dtype(dtype)
    assert ours == (np.dtype(object), codec)
    assert ours == zarr_normalize_dtype(dtype, None)


def test_normalize_dtype_explicit_codec_wins():
    codec = numcodecs.MsgPack()
    assert normalize_dtype(str, codec) == (np.dtype(object), codec)
    assert normalize_dtype(object) == (np.dtype(object), None)
    assert normalize_dtype("object", codec) == (np.dtype(object), codec)
    assert normalize_dtype("i4", codec) == (np.dtype("i4"), codec)


@pytest.mark.parametrize("dtype", ["M8", "m8", np.datetime64])
def test_normalize_dtype_generic_datetime(dtype):
    with pytest.raises(ValueError, match="generic units"):
        normalize_dtype(dtype)


@pytest.mark.parametrize("dtype", ["json2", "not-a-dtype", "i3"])
def test_normalize_dtype_garbage(dtype):
    with pytest.raises(TypeError):
        normalize_dtype(dtype)
    with pytest.raises(TypeError):
        zarr_normalize_dtype(dtype, None)


FILL_CASES = [
    (None, "f8"), (0, "f8"), (0, "i2"), (0, "S3"), (0, "U3"), (0, "V4"), (0, STRUCTURED),
    (0, "M8[ns]"), (0, "c8"), (0, "b1"), (0, "O"), ("x", "O"), (None, "O"),
    (1.5, "f4"), ("NaN", "f8"), (np.nan, "f2"), ("Infinity", "f4"), ("-inf", "f8"),
    (-7, "i1"), (2**63, "u8"), (3.7, "i4"), (True, "b1"), (1 + 1j, "c16"),
    (b"abc", "S3"), (b"ab", "S5"), ("xy", "S3"), ("héllo", "U5"), ("", "U3"),
    (b"\x01\x02\x03\x04", "V4"), (b"\x00" * STRUCTURED.itemsize, STRUCTURED),
    ((1, (2.0, b"x"), np.ones((2, 3))), STRUCTURED), ("2001-02-03", "M8[D]"), ("NaT", "m8[s]"),
    (np.datetime64(5, "ns"), "M8[ns]"),
]


def _same(a, b):
    if isinstance(a, np.void):
        return isinstance(b, np.void) and a.tobytes() == b.tobytes() and a.dtype == b.dtype
    if isinstance(a, (float, np.floating)) and math.isnan(a):
        return type(a) is type(b) and math.isnan(b)
    if isinstance(a, (np.datetime64, np.timedelta64)) and np.isnat(a):
        return type(b) is type(a) and np.isnat(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value,dtype", FILL_CASES)
def test_normalize_fill_value_matches_zarr(value, dtype):
    dtype = np.dtype(dtype)
    assert _same(normalize_fill_value(value, dtype), zarr_normalize_fill_value(value, dtype))


@pytest.mark.parametrize("value,dtype", [(5, "U3"), (b"x", "U3"), ("abc", "i4"), ("x", "M8[s]")])
def test_normalize_fill_value_invalid(value, dtype):
    with pytest.raises(ValueError, match="is not valid for dtype"):
        normalize_fill_value(value, np.dtype(dtype))


@pytest.mark.parametrize("value,dtype", [c for c in FILL_CASES if np.dtype(c[1]).kind != "O"])
def test_encode_fill_value_matches_zarr(value, dtype):
    dtype = np.dtype(dtype)
    normalised = normalize_fill_value(value, dtype)
    ours = encode_fill_value(normalised, dtype)
    theirs = Metadata2.encode_fill_value(normalised, dtype)
    if isinstance(theirs, tuple):
        theirs = list(theirs)
    assert ours == theirs and type(ours) is type(theirs)
    # And back: what we read is what zarr 2.18 reads (complex checked separately).
    if dtype.kind != "c":
        assert _same(decode_fill_value(ours, dtype), Metadata2.decode_fill_value(ours, dtype))


@pytest.mark.parametrize(
    "value,dtype,expected",
    [
        (np.float64(np.nan), "f8", "NaN"),
        (np.float32(np.inf), "f4", "Infinity"),
        (np.float16(-np.inf), "f2", "-Infinity"),
        (np.float32(0.1), "f4", 0.10000000149011612),
        (np.int8(-3), "i1", -3),
        (np.uint64(2**64 - 1), "u8", 2**64 - 1),
        (np.bool_(True), "b1", True),
        (np.complex64(1 - 2j), "c8", [1.0, -2.0]),
        (np.complex128(complex(np.nan, np.inf)), "c16", ["NaN", "Infinity"]),
        (np.bytes_(b"ab"), "S4", "YWI="),
        (np.void(b"\x00\xff"), "V2", "AP8="),
        ("héllo", "U5", "héllo"),
        (np.datetime64(7, "ms"), "M8[ms]", 7),
        (np.datetime64("NaT", "ns"), "M8[ns]", -(2**63)),
        (np.timedelta64(-2, "s"), "m8[s]", -2),
        (None, "f8", None),
    ],
)
def test_encode_fill_value_literal(value, dtype, expected):
    assert encode_fill_value(value, np.dtype(dtype)) == expected


@pytest.mark.parametrize(
    "value,dtype,expected",
    [
        ("NaN", "f4", np.nan),
        ("Infinity", "f8", np.inf),
        ("-Infinity", "f2", -np.inf),
        (1.5, "f4", np.float32(1.5)),
        (3, "u1", np.uint8(3)),
        (True, "b1", np.bool_(True)),
        ([1.0, "-Infinity"], "c8", np.complex64(complex(1, -np.inf))),
        ("YWI=", "S4", np.bytes_(b"ab")),
        (0, "S3", np.bytes_(b"0")),  # lenient, as zarr 2.x, for pre-base64 stores
        ("AP8=", "V2", np.void(b"\x00\xff")),
        ("text", "U4", "text"),
        (86400, "M8[s]", np.datetime64("1970-01-02T00:00:00", "s")),
        ({"any": "json"}, "O", {"any": "json"}),
        (None, "i4", None),
    ],
)
def test_decode_fill_value_literal(value, dtype, expected):
    decoded = decode_fill_value(value, np.dtype(dtype))
    assert _same(decoded, expected) or (isinstance(decoded, np.void) and
                                        decoded.tobytes() == expected.tobytes())


def test_fill_value_structured_with_objects_uses_object_codec(monkeypatch):
    # Newer numcodecs refuse to unpickle unless told the data is trusted (it is, we made it).
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", True, raising=False)
    dtype = np.dtype([("a", "i4"), ("b", object)])
    codec = numcodecs.Pickle()
    value = np.array((5, "x"), dtype=dtype)[()]
    encoded = encode_fill_value(value, dtype, codec)
    assert encoded == Metadata2.encode_fill_value(value, dtype, codec)
    decoded = decode_fill_value(encoded, dtype, codec)
    assert decoded["a"] == 5 and decoded["b"] == "x"
    with pytest.raises(ValueError, match="missing object_codec"):
        encode_fill_value(value, dtype)
    with pytest.raises(MetadataError, match="fill_value"):
        decode_fill_value(encoded, dtype)


@pytest.mark.parametrize(
    "value,dtype",
    [("banana", "f8"), ("x", "i4"), ([1], "c8"), (3, "c16"), ("!!", "V2"), ("AAAA", "V2"),
     ([1, 2], "f4"), ({"a": 1}, "i8"), ("nope", "M8[ns]")],
)
def test_decode_fill_value_malformed(value, dtype):
    with pytest.raises(MetadataError, match="field 'fill_value'"):
        decode_fill_value(value, np.dtype(dtype))


@pytest.mark.parametrize(
    "dtype,expected",
    [
        ("<i4", "<i4"), (">f8", ">f8"), ("b1", "|b1"), ("S7", "|S7"), ("<U3", "<U3"),
        ("V5", "|V5"), ("M8[us]", "<M8[us]"), ("O", "|O"),
        ([("x", "<u2"), ("y", ">i8")], [("x", "<u2"), ("y", ">i8")]),
    ],
)
def test_encode_dtype_literal(dtype, expected):
    assert encode_dtype(np.dtype(dtype)) == expected


@pytest.mark.parametrize(
    "dtype",
    ["<i4", ">c8", "|b1", "<M8[ns]", "|V3", STRUCTURED, np.dtype([("a", STRUCTURED, (2,))])],
)
def test_dtype_json_roundtrip_matches_zarr(dtype):
    from zarr_fast.meta.v2 import json_dumps, json_loads

    dtype = np.dtype(dtype)
    encoded = encode_dtype(dtype)
    assert encoded == Metadata2.encode_dtype(dtype)
    from_json = json_loads(json_dumps(encoded))
    assert decode_dtype(from_json) == dtype == Metadata2.decode_dtype(from_json)


@pytest.mark.parametrize("obj", [5, None, "<q7", "not a dtype", [["a"]], [["a", "i4", "x"]],
                                 [1, 2], {"a": "i4"}])
def test_decode_dtype_garbage(obj):
    with pytest.raises(MetadataError, match="field 'dtype'"):
        decode_dtype(obj)


def test_normalize_then_encode_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for value, dtype in FILL_CASES:
            dtype = np.dtype(dtype)
            if dtype.kind != "O":
                encode_fill_value(normalize_fill_value(value, dtype), dtype)
