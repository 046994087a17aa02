"""Differential tests of zarr_fast.meta.v2 against the documents zarr-python 2.18.7 writes.

Every case creates an array with zarr 2.18.7 into a dict store, then checks that
(1) decoding and re-encoding its ``.zarray`` gives the same bytes, (2) building the metadata
from the same arguments with ``build_array_meta`` gives the same bytes, and (3) the decoded
values equal what zarr 2.18 decodes.
"""
import math
import warnings

import numcodecs
import numpy as np
import pytest

from zarr_fast.errors import BadCompressorError, MetadataError
from zarr_fast.meta import (
    ARRAY_META_KEY,
    ATTRS_KEY,
    GROUP_META_KEY,
    ZARR_FORMAT,
    ArrayMeta,
    GroupMeta,
    build_array_meta,
    check_array_meta,
    decode_array_metadata,
    decode_group_metadata,
    encode_array_metadata,
    encode_group_metadata,
    json_dumps,
    json_loads,
)

zarr = pytest.importorskip("zarr")
if not zarr.__version__.startswith("2."):
    pytest.skip("needs zarr-python 2.x as the oracle", allow_module_level=True)
from zarr.meta import Metadata2  # noqa: E402
from zarr.util import json_dumps as zarr_json_dumps  # noqa: E402

STRUCTURED = np.dtype([("a", "<i4"), ("b", ">f8")])
NESTED = np.dtype([("x", [("p", "u1"), ("q", "S3")]), ("y", "<i2", (2, 3))])

# (shape, kwargs for zarr.create); zarr.create and build_array_meta share their defaults.
CASES = [
    ((100,), {}),
    ((), {}),
    ((0,), {}),
    ((0, 5), {}),
    ((10000, 10000), {}),
    ((300, 200, 100), {"dtype": "u1"}),
    ((7, 11), {"chunks": (3, -1)}),
    ((7, 11), {"chunks": (3, None)}),
    ((7, 11), {"chunks": (3,)}),
    ((7, 11), {"chunks": 4}),
    ((7, 11), {"chunks": False}),
    ((50,), {"order": "F"}),
    ((5, 6), {"order": "f", "chunks": 2}),
    ((20,), {"dimension_separator": "."}),
    ((20, 4), {"dimension_separator": "/"}),
    ((20,), {"compressor": None}),
    ((20,), {"compressor": "none"}),
    ((20,), {"compressor": numcodecs.Zlib(level=3)}),
    ((20,), {"compressor": numcodecs.GZip(level=9)}),
    ((20,), {"compressor": numcodecs.BZ2()}),
    ((20,), {"compressor": numcodecs.LZMA()}),
    ((20,), {"compressor": numcodecs.LZ4(acceleration=3)}),
    ((20,), {"compressor": numcodecs.Zstd(level=7)}),
    ((20,), {"compressor": numcodecs.Blosc(cname="zstd", clevel=9, shuffle=2, blocksize=256)}),
    ((20,), {"dtype": "i4", "filters": [numcodecs.Delta(dtype="i4")]}),
    ((20,), {"dtype": "f8", "filters": [numcodecs.Quantize(3, "f8"), numcodecs.Shuffle(8)]}),
    ((20,), {"dtype": "f8", "filters": [numcodecs.FixedScaleOffset(1, 10, "f8", "i2")]}),
    ((20,), {"dtype": "f4", "filters": [numcodecs.AsType("f4", "f8")], "compressor": None}),
    ((20,), {"dtype": "f8", "filters": []}),
]
for _dtype in ["b1", "i1", "u1", "<i2", ">u2", "<i4", ">i4", "<u4", "<i8", ">u8", "<f2", ">f4",
               "<f8", ">f8", "<c8", "<c16", ">c16", "S5", "<U7", ">U3", "V6", "<M8[ns]",
               ">m8[s]", "<M8[D]", STRUCTURED, NESTED, np.dtype(("<i4", (2,)))]:
    CASES.append(((15, 4), {"dtype": _dtype, "chunks": (4, 4)}))
    CASES.append(((15, 4), {"dtype": _dtype, "fill_value": None}))

CASES += [
    ((10,), {"dtype": "f8", "fill_value": np.nan}),
    ((10,), {"dtype": "f4", "fill_value": "NaN"}),
    ((10,), {"dtype": "f8", "fill_value": np.inf}),
    ((10,), {"dtype": "f2", "fill_value": -np.inf}),
    ((10,), {"dtype": "f4", "fill_value": 0.1}),
    ((10,), {"dtype": "f8", "fill_value": -3.25e100}),
    ((10,), {"dtype": "i8", "fill_value": -(2**62)}),
    ((10,), {"dtype": "u8", "fill_value": 2**64 - 1}),
    ((10,), {"dtype": "i2", "fill_value": 7.0}),
    ((10,), {"dtype": "b1", "fill_value": True}),
    ((10,), {"dtype": "b1", "fill_value": False}),
    ((10,), {"dtype": "c8", "fill_value": 1 - 2j}),
    ((10,), {"dtype": "c16", "fill_value": complex(np.nan, 1.5)}),
    ((10,), {"dtype": "c16", "fill_value": complex(np.inf, -np.inf)}),
    ((10,), {"dtype": "S4", "fill_value": b"ab"}),
    ((10,), {"dtype": "S4", "fill_value": b"abcd"}),
    ((10,), {"dtype": "U4", "fill_value": "héé"}),
    ((10,), {"dtype": "U4", "fill_value": ""}),
    ((10,), {"dtype": "V3", "fill_value": b"\x00\xff\x10"}),
    ((10,), {"dtype": "M8[ns]", "fill_value": np.datetime64("2020-01-02", "ns")}),
    ((10,), {"dtype": "M8[D]", "fill_value": "NaT"}),
    ((10,), {"dtype": "m8[ms]", "fill_value": np.timedelta64(-5, "ms")}),
    ((10,), {"dtype": STRUCTURED, "fill_value": (3, 2.5)}),
    ((10,), {"dtype": STRUCTURED, "fill_value": np.zeros((), STRUCTURED).tobytes()}),
    ((10,), {"dtype": NESTED, "fill_value": None}),
    ((10,), {"dtype": str}),
    ((10,), {"dtype": str, "fill_value": None}),
    ((10,), {"dtype": "str", "fill_value": "x"}),
    ((10,), {"dtype": bytes}),
    ((10,), {"dtype": "array:i4"}),
    ((10,), {"dtype": object, "object_codec": numcodecs.JSON()}),
    ((10,), {"dtype": object, "object_codec": numcodecs.MsgPack(), "fill_value": None}),
    ((10,), {"dtype": object, "object_codec": numcodecs.Pickle(),
             "filters": [numcodecs.Zlib(1)]}),
    ((10,), {"dtype": str, "compressor": None, "order": "F", "dimension_separator": "/"}),
]


def _zarr_document(shape, kwargs):
    store = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.create(shape, store=store, **kwargs)
    return store[".zarray"]


def _same_fill(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, np.void) or isinstance(b, np.void):
        return bytes(a) == bytes(b)
    if isinstance(a, (float, np.floating)) and math.isnan(a):
        return isinstance(b, (float, np.floating)) and math.isnan(b)
    if isinstance(a, np.datetime64) and np.isnat(a):
        return np.isnat(b)
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("shape,kwargs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_roundtrip_and_build_match_zarr_bytes(shape, kwargs):
    expected = _zarr_document(shape, kwargs)
    meta = decode_array_metadata(expected)
    assert encode_array_metadata(meta) == expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = build_array_meta(shape, **kwargs)
    assert encode_array_metadata(built) == expected
    assert built.shape == meta.shape and built.chunks == meta.chunks
    assert built.dtype == meta.dtype
    # Compared through JSON: codec configs may hold tuples that the document stores as lists.
    assert json_loads(json_dumps(built.filters)) == meta.filters


@pytest.mark.parametrize("shape,kwargs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_decoded_values_match_zarr(shape, kwargs):
    document = _zarr_document(shape, kwargs)
    ours = decode_array_metadata(document)
    theirs = Metadata2.decode_array_metadata(document)
    assert ours.shape == theirs["shape"]
    assert ours.chunks == theirs["chunks"]
    assert ours.dtype == theirs["dtype"]
    assert ours.compressor == theirs["compressor"]
    assert ours.filters == theirs["filters"]
    assert ours.order == theirs["order"]
    assert ours.dimension_separator == theirs.get("dimension_separator", ".")
    assert ours.has_dimension_separator_key == ("dimension_separator" in theirs)
    if ours.dtype.kind != "c":
        assert _same_fill(ours.fill_value, theirs["fill_value"])


def test_decode_complex_nan_imaginary_keeps_real_part():
    # zarr 2.18 computes re + 1j*im, which turns (1, NaN) into (NaN, NaN); we keep both parts.
    document = _zarr_document((3,), {"dtype": "c16", "fill_value": complex(1.0, np.nan)})
    fill = decode_array_metadata(document).fill_value
    assert fill.real == 1.0 and np.isnan(fill.imag)
    assert type(fill) is np.complex128


def test_decode_accepts_str_and_mapping():
    document = _zarr_document((6, 4), {"chunks": (2, 2), "dtype": "<u2", "fill_value": 9})
    from_str = decode_array_metadata(document.decode())
    from_mapping = decode_array_metadata(json_loads(document))
    assert from_str == from_mapping
    assert from_str.fill_value == 9 and type(from_str.fill_value) is np.uint16
    assert from_str.compressor == {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1,
                                   "blocksize": 0}


def test_rewritten_meta_spells_out_separator():
    # zarr 2.18's Array always rewrites metadata (resize, append) with the separator key, even
    # when the document it read had none; core does the same by setting the flag on rewrite.
    store = {}
    z = zarr.zeros(10, chunks=3, store=store)
    meta = decode_array_metadata(store[".zarray"])
    assert not meta.has_dimension_separator_key
    z.resize(25)
    rewritten = meta.replace(shape=(25,), has_dimension_separator_key=True)
    assert encode_array_metadata(rewritten) == store[".zarray"]


def test_hand_built_meta_writes_separator_key():
    meta = ArrayMeta(shape=(4,), chunks=(2,), dtype=np.dtype("i1"), compressor=None,
                     fill_value=np.int8(0))
    doc = json_loads(encode_array_metadata(meta))
    assert doc == {"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "|i1",
                   "compressor": None, "fill_value": 0, "order": "C", "filters": None,
                   "dimension_separator": "."}


def _valid_doc(**changes):
    doc = {"zarr_format": 2, "shape": [10, 20], "chunks": [5, 5], "dtype": "<f8",
           "compressor": None, "fill_value": 0.0, "order": "C", "filters": None}
    doc.update(changes)
    return {k: v for k, v in doc.items() if v != "DROP"}


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"shape": "DROP"}, "shape"),
        ({"chunks": "DROP"}, "chunks"),
        ({"dtype": "DROP"}, "dtype"),
        ({"fill_value": "DROP"}, "fill_value"),
        ({"filters": "DROP"}, "filters"),
        ({"shape": [10.0, 20]}, "shape"),
        ({"shape": [-1, 20]}, "shape"),
        ({"shape": 10}, "shape"),
        ({"shape": [True, 20]}, "shape"),
        ({"chunks": [5]}, "chunks"),
        ({"chunks": [5, 0]}, "chunks"),
        ({"chunks": [5, "5"]}, "chunks"),
        ({"dtype": "<q9"}, "dtype"),
        ({"dtype": 5}, "dtype"),
        ({"dtype": [["a"]]}, "dtype"),
        ({"fill_value": "banana"}, "fill_value"),
        ({"fill_value": [1, 2]}, "fill_value"),
        ({"dtype": "<c8", "fill_value": 3}, "fill_value"),
        ({"dtype": "V4", "fill_value": "not base64!"}, "fill_value"),
        ({"order": "K"}, "order"),
        ({"compressor": "zlib"}, "compressor"),
        ({"compressor": {"level": 1}}, "compressor"),
        ({"filters": {"id": "delta"}}, "filters"),
        ({"filters": ["delta"]}, "filters"),
        ({"dtype": "|O", "filters": None, "fill_value": None}, "filters"),
        ({"dimension_separator": "-"}, "dimension_separator"),
    ],
)
def test_decode_bad_field_names_field(changes, field):
    # decoding is as lenient as zarr 2.18 for order and chunk-count; the array-open check is not
    with pytest.raises(MetadataError, match=f"field '{field}'"):
        check_array_meta(decode_array_metadata(_valid_doc(**changes)))


@pytest.mark.parametrize(
    "document",
    [b'{"zarr_format": 2, "shape": [1', b"", b"\xff\xfe", b"[1, 2]", b"null", "{'a': 1}"],
)
def test_decode_bad_json(document):
    with pytest.raises(MetadataError, match="error decoding metadata"):
        decode_array_metadata(document)


@pytest.mark.parametrize("version", [None, 1, 3, "2", True])
def test_decode_wrong_format(version):
    doc = _valid_doc(zarr_format=version)
    with pytest.raises(MetadataError, match="unsupported zarr format"):
        decode_array_metadata(doc)
    with pytest.raises(MetadataError, match="unsupported zarr format"):
        decode_group_metadata({"zarr_format": version})


def test_decode_unknown_codec_is_not_checked():
    meta = decode_array_metadata(_valid_doc(compressor={"id": "no-such-codec", "x": 1},
                                            filters=[{"id": "nope"}]))
    assert meta.compressor == {"id": "no-such-codec", "x": 1}
    assert meta.filters == [{"id": "nope"}]


def test_decode_ignores_unknown_keys_and_null_separator():
    meta = decode_array_metadata(_valid_doc(extra=1, dimension_separator=None))
    assert meta.dimension_separator == "." and not meta.has_dimension_separator_key


def test_group_metadata_matches_zarr():
    store = {}
    zarr.group(store=store)
    assert encode_group_metadata(GroupMeta()) == store[".zgroup"]
    assert encode_group_metadata() == store[".zgroup"]
    assert decode_group_metadata(store[".zgroup"]) == GroupMeta(zarr_format=2)
    assert decode_group_metadata(store[".zgroup"].decode()) == GroupMeta()
    with pytest.raises(MetadataError):
        decode_group_metadata(b"{")


def test_constants():
    assert (ARRAY_META_KEY, GROUP_META_KEY, ATTRS_KEY, ZARR_FORMAT) == (
        ".zarray", ".zgroup", ".zattrs", 2)


@pytest.mark.parametrize(
    "obj",
    [
        {"b": 1, "a": [1.5, "x"], "c": {"z": None, "y": True}},
        {"unicode": "héllo ☃", "n": np.int64(5), "f": np.float32(0.1), "u": np.uint8(255)},
        [np.int16(-3), np.float64(2.5), 1e300, -0.0],
        {"nested": [[{"k": np.int32(1)}]]},
        "plain",
        {},
    ],
)
def test_json_dumps_matches_zarr(obj):
    assert json_dumps(obj) == zarr_json_dumps(obj)


def test_json_dumps_refuses_what_zarr_refuses():
    for obj in [{"a": np.array([1, 2])}, {"a": object()}, {"a": np.bool_(True)}]:
        with pytest.raises(TypeError):
            zarr_json_dumps(obj)
        with pytest.raises(TypeError):
            json_dumps(obj)


def test_json_loads_inputs():
    text = '{"a": [1, 2.5, "\\u00e9"]}'
    expected = {"a": [1, 2.5, "é"]}
    assert json_loads(text) == expected
    assert json_loads(text.encode()) == expected
    assert json_loads(bytearray(text.encode())) == expected
    assert json_loads(memoryview(text.encode())) == expected
    assert json_loads(np.frombuffer(text.encode(), dtype="u1")) == expected
    assert json_loads('{"é": 1}'.encode("utf-8")) == {"é": 1}


def test_build_defaults():
    meta = build_array_meta((1000, 1000))
    assert meta.dtype == np.dtype("f8")
    assert meta.chunks == (250, 500) or meta.chunks == zarr.util.guess_chunks((1000, 1000), 8)
    assert meta.compressor == {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1,
                               "blocksize": 0}
    assert meta.fill_value == 0.0 and type(meta.fill_value) is np.float64
    assert meta.order == "C" and meta.filters is None
    assert meta.dimension_separator == "." and not meta.has_dimension_separator_key


def test_build_subarray_dtype_extends_shape():
    meta = build_array_meta((5,), chunks=2, dtype=("u2", (3, 4)))
    assert meta.shape == (5, 3, 4) and meta.chunks == (2, 2, 2) and meta.dtype == np.dtype("u2")


def test_build_zero_dim_is_never_compressed():
    assert build_array_meta((), compressor=numcodecs.Zlib()).compressor is None


@pytest.mark.parametrize("compressor", ["zlib", {"id": "zlib"}, 5])
def test_build_bad_compressor(compressor):
    with pytest.raises(BadCompressorError, match="bad compressor"):
        build_array_meta(10, compressor=compressor)
    with pytest.raises(Exception) as theirs:
        zarr.create(10, compressor=compressor, store={})
    assert type(theirs.value).__name__ == "BadCompressorError"


@pytest.mark.parametrize("compressor", [False, 0, ""])
def test_build_falsy_compressor_means_none(compressor):
    assert build_array_meta(10, compressor=compressor).compressor is None


def test_build_object_codec_rules():
    with pytest.raises(ValueError, match="missing object_codec for object array"):
        build_array_meta(10, dtype=object)
    with pytest.warns(FutureWarning, match="missing object_codec"):
        meta = build_array_meta(10, dtype=object, filters=[numcodecs.JSON()])
    assert meta.filters == [numcodecs.JSON().get_config()]
    with pytest.warns(UserWarning, match="only needed for object arrays"):
        meta = build_array_meta(10, dtype="i4", object_codec=numcodecs.JSON())
    assert meta.filters is None
    meta = build_array_meta(10, dtype=str, object_codec=numcodecs.MsgPack())
    assert meta.filters == [numcodecs.MsgPack().get_config()]
    meta = build_array_meta(10, dtype=str, filters=[numcodecs.Zlib(2)])
    assert meta.filters == [{"id": "vlen-utf8"}, {"id": "zlib", "level": 2}]


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"order": "X"}, "order must be either 'C' or 'F'"),
        ({"dimension_separator": "-"}, "dimension_separator must be either"),
        ({"dtype": "M8"}, "generic units"),
        ({"dtype": "U3", "fill_value": 5}, "must be a  unicode string"),
        ({"dtype": "i4", "fill_value": "abc"}, "is not valid for dtype"),
        ({"chunks": (2, 3)}, "too many dimensions in chunks"),
        ({"chunks": 0}, "chunks must be positive"),
    ],
)
def test_build_errors(kwargs, error):
    with pytest.raises(ValueError, match=error):
        build_array_meta(10, **kwargs)
