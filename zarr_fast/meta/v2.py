"""Zarr v2 metadata documents (``.zarray``, ``.zgroup``, ``.zattrs``) to values and back.

What it does
    ``decode_array_metadata`` reads and validates a ``.zarray`` document into an
    :class:`~zarr_fast.meta.common.ArrayMeta`; ``encode_array_metadata`` writes one back,
    byte-identical to what zarr-python 2.18.7 writes for the same array. ``build_array_meta``
    turns the arguments of ``zarr.create`` into an ``ArrayMeta`` exactly as zarr 2.18's
    ``init_array`` does. ``json_dumps``/``json_loads`` are the JSON conventions of every v2
    document, user attributes included.

What callers guarantee
    Documents come from a store as bytes/str, or already parsed as a mapping (consolidated
    metadata). ``encode_array_metadata`` receives an ``ArrayMeta`` whose values were normalised
    (by ``build_array_meta`` or ``decode_array_metadata``).

What it refuses
    A document that is not JSON, is not version 2, or has a missing or malformed field raises
    :class:`~zarr_fast.errors.MetadataError` naming the field. Codec ids are not looked up here
    (the codec pipeline does that), except for the rare structured dtype holding objects, whose
    fill value needs the object codec. No I/O happens here.
"""
from __future__ import annotations

import copy
import json
import numbers
import warnings
from collections.abc import Mapping

import numpy as np

from zarr_fast import util
from zarr_fast.errors import BadCompressorError, MetadataError
from zarr_fast.meta.common import ArrayMeta, GroupMeta
from zarr_fast.meta.dtypes import (
    decode_dtype,
    decode_fill_value,
    encode_dtype,
    encode_fill_value,
    normalize_dtype,
    normalize_fill_value,
)

__all__ = [
    "Metadata2",
    "ARRAY_META_KEY",
    "GROUP_META_KEY",
    "ATTRS_KEY",
    "ZARR_FORMAT",
    "DEFAULT_COMPRESSOR_CONFIG",
    "json_dumps",
    "json_loads",
    "decode_array_metadata",
    "encode_array_metadata",
    "decode_group_metadata",
    "encode_group_metadata",
    "build_array_meta",
]

ARRAY_META_KEY = ".zarray"
GROUP_META_KEY = ".zgroup"
ATTRS_KEY = ".zattrs"
ZARR_FORMAT = 2

# numcodecs.Blosc()'s configuration under numcodecs < 0.16, which zarr 2.18 writes for
# compressor='default'. Spelled out so newer numcodecs (whose Blosc may report more keys)
# cannot change the bytes of new .zarray documents.
DEFAULT_COMPRESSOR_CONFIG = {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}

_ARRAY_FIELDS = ("shape", "chunks", "dtype", "compressor", "fill_value", "order", "filters")


class _NumberEncoder(json.JSONEncoder):
    # NumPy integers and floats (e.g. in shapes or attributes) are written as plain numbers.
    def default(self, o):
        if isinstance(o, numbers.Integral):
            return int(o)
        if isinstance(o, numbers.Real):
            return float(o)
        return super().default(o)


def json_dumps(obj):
    """Return ``obj`` as the JSON bytes zarr 2.x writes: sorted keys, 4-space indent, ASCII.

    Examples
    --------
    >>> json_dumps({"b": np.int64(1), "a": [1.5]})
    b'{\\n    "a": [\\n        1.5\\n    ],\\n    "b": 1\\n}'
    """
    text = json.dumps(
        obj, indent=4, sort_keys=True, ensure_ascii=True, separators=(",", ": "), cls=_NumberEncoder
    )
    return text.encode("ascii")


def json_loads(data):
    """Parse JSON from ``str`` or any bytes-like object (decoded as UTF-8).

    Examples
    --------
    >>> json_loads(b'{"zarr_format": 2}')
    {'zarr_format': 2}
    """
    if isinstance(data, Mapping):
        # already parsed (a consolidated store's document): a copy, so callers may mutate it
        return copy.deepcopy(dict(data))
    if not isinstance(data, str):
        data = bytes(memoryview(data).cast("B")).decode("utf-8")
    return json.loads(data)


def _error(detail):
    return MetadataError(f"error decoding metadata: {detail}")


def _field_error(field, detail):
    return _error(f"field {field!r}: {detail}")


def _parse_document(doc):
    if isinstance(doc, Mapping):
        return doc
    try:
        parsed = json_loads(doc)
    except (ValueError, TypeError) as e:
        # ValueError covers both JSONDecodeError and UnicodeDecodeError.
        raise _error(f"not a valid JSON document ({e})") from e
    if not isinstance(parsed, Mapping):
        raise _error(f"expected a JSON object, found {type(parsed).__name__}")
    return parsed


def _check_zarr_format(doc):
    zarr_format = doc.get("zarr_format", None)
    if zarr_format != ZARR_FORMAT or isinstance(zarr_format, bool):
        raise MetadataError(f"unsupported zarr format: {zarr_format}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _decode_int_list(doc, field, minimum):
    value = doc[field]
    if not isinstance(value, (list, tuple)) or not all(_is_int(v) for v in value):
        raise _field_error(field, f"expected a list of integers, found {value!r}")
    if any(v < minimum for v in value):
        raise _field_error(field, f"expected integers >= {minimum}, found {value!r}")
    return tuple(value)


def _decode_codec_config(field, config):
    if not isinstance(config, Mapping) or not isinstance(config.get("id"), str):
        raise _field_error(field, f"expected a codec configuration with an 'id', found {config!r}")
    return dict(config)


def decode_array_metadata(doc):
    """Read and validate a v2 ``.zarray`` document.

    Parameters
    ----------
    doc : bytes, str or Mapping
        The JSON document, or an already-parsed mapping (consolidated metadata).

    Returns
    -------
    ArrayMeta

    Raises
    ------
    MetadataError
        If the document is not JSON, its ``zarr_format`` is not 2, or a field is missing or
        malformed; the message names the field.

    Examples
    --------
    >>> meta = decode_array_metadata(
    ...     b'{"zarr_format": 2, "shape": [10], "chunks": [5], "dtype": "<i4",'
    ...     b' "compressor": null, "fill_value": 0, "order": "C", "filters": null}'
    ... )
    >>> meta.shape, meta.chunks, meta.dtype, meta.fill_value, meta.dimension_separator
    ((10,), (5,), dtype('int32'), np.int32(0), '.')
    """
    doc = _parse_document(doc)
    _check_zarr_format(doc)
    for field in _ARRAY_FIELDS:
        if field not in doc:
            raise _field_error(field, "missing")

    shape = _decode_int_list(doc, "shape", 0)
    chunks = _decode_int_list(doc, "chunks", 1)
    dtype = decode_dtype(doc["dtype"])
    # like zarr 2.18, the document is taken as written here; whether it describes an array
    # we can address (order, one chunk length per axis) is ``check_array_meta``'s question
    order = doc["order"]

    compressor = doc["compressor"]
    if compressor is not None:
        compressor = _decode_codec_config("compressor", compressor)

    filters = doc["filters"]
    if filters is not None:
        if not isinstance(filters, list):
            raise _field_error("filters", f"expected null or a list of codecs, found {filters!r}")
        filters = [_decode_codec_config("filters", f) for f in filters]
    if dtype.hasobject and not filters:
        raise _field_error("filters", "an object dtype needs its object codec as the first filter")

    separator = doc.get("dimension_separator", None)
    if separator is not None and separator not in (".", "/"):
        raise _field_error("dimension_separator", f"expected '.' or '/', found {separator!r}")

    object_codec = None
    if dtype.kind == "V" and dtype.hasobject:
        # Only this fill value is stored through the object codec; look it up just here.
        object_codec = _get_codec("filters", filters[0])
    fill_value = decode_fill_value(doc["fill_value"], dtype, object_codec)

    return ArrayMeta(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor,
        fill_value=fill_value,
        order=order,
        filters=filters,
        dimension_separator=separator or ".",
        zarr_format=ZARR_FORMAT,
        has_dimension_separator_key=separator is not None,
    )


def check_array_meta(meta):
    """Refuse metadata that decodes but cannot describe an addressable array.

    Raises
    ------
    MetadataError
        Naming the field: ``chunks`` without one length per axis of ``shape``, or an
        ``order`` other than 'C' or 'F'.
    """
    if len(meta.chunks) != len(meta.shape):
        raise _field_error(
            "chunks", f"expected {len(meta.shape)} chunk lengths to match shape {list(meta.shape)}, "
            f"found {list(meta.chunks)}"
        )
    if meta.order not in ("C", "F"):
        raise _field_error("order", f"expected 'C' or 'F', found {meta.order!r}")
    return meta


def _get_codec(field, config):
    import numcodecs

    try:
        return numcodecs.get_codec(dict(config))
    except Exception as e:
        raise _field_error(field, f"codec {config!r} is not available ({e})") from e


def encode_array_metadata(meta):
    """Return the ``.zarray`` bytes for ``meta``, as zarr 2.18.7 writes them.

    A subarray dtype (``dtype.subdtype``) is written as its base dtype with the subarray's
    axes appended to the shape, as zarr 2.x does. The ``dimension_separator`` key is written
    when ``meta.has_dimension_separator_key``; zarr 2.18 writes it on every rewrite of an
    existing array's metadata, so callers rewriting (resize, append) should set it to True.

    Examples
    --------
    >>> meta = build_array_meta((4,), chunks=2, dtype="u1", compressor=None)
    >>> encode_array_metadata(meta)[:44]
    b'{\\n    "chunks": [\\n        2\\n    ],\\n    "comp'
    """
    if isinstance(meta, Mapping):
        meta = _array_meta_from_mapping(meta)
    dtype = meta.dtype
    shape = tuple(meta.shape)
    if dtype.subdtype is not None:
        dtype, item_shape = dtype.subdtype
        shape = shape + item_shape
    object_codec = None
    if dtype.kind == "V" and dtype.hasobject:
        object_codec = _get_codec("filters", meta.filters[0])
    doc = {
        "zarr_format": ZARR_FORMAT,
        "shape": shape,
        "chunks": tuple(meta.chunks),
        "dtype": encode_dtype(dtype),
        "compressor": meta.compressor,
        "fill_value": encode_fill_value(meta.fill_value, dtype, object_codec),
        "order": meta.order,
        "filters": meta.filters,
    }
    if meta.has_dimension_separator_key:
        doc["dimension_separator"] = meta.dimension_separator
    return json_dumps(doc)


def _array_meta_from_mapping(meta):
    # zarr 2.18's dict form (already-normalised values); a separator key is written only when
    # the dict names one, as zarr 2.18 does.
    separator = meta.get("dimension_separator")
    return ArrayMeta(
        shape=tuple(meta["shape"]),
        chunks=tuple(meta["chunks"]),
        dtype=np.dtype(meta["dtype"]),
        compressor=meta["compressor"],
        fill_value=meta["fill_value"],
        order=meta["order"],
        filters=meta.get("filters"),
        dimension_separator=separator or ".",
        has_dimension_separator_key=bool(separator),
    )


def decode_group_metadata(doc):
    """Read and validate a v2 ``.zgroup`` document.

    Raises
    ------
    MetadataError
        If the document is not a JSON object or its ``zarr_format`` is not 2.

    Examples
    --------
    >>> decode_group_metadata(b'{"zarr_format": 2}')
    GroupMeta(zarr_format=2)
    """
    _check_zarr_format(_parse_document(doc))
    return GroupMeta(zarr_format=ZARR_FORMAT)


def encode_group_metadata(meta=None):
    """Return the ``.zgroup`` bytes, as zarr 2.18.7 writes them.

    Examples
    --------
    >>> encode_group_metadata(GroupMeta())
    b'{\\n    "zarr_format": 2\\n}'
    """
    return json_dumps({"zarr_format": ZARR_FORMAT})


def _compressor_config(compressor, shape):
    if shape == ():
        # A 0-d array is a single value; compressing it gains nothing, so zarr 2.x never does.
        return None
    if isinstance(compressor, str) and compressor == "none":
        return None
    if isinstance(compressor, str) and compressor == "default":
        return dict(DEFAULT_COMPRESSOR_CONFIG)
    if not compressor:
        return None
    try:
        get_config = compressor.get_config
    except AttributeError as e:
        raise BadCompressorError(compressor) from e
    return get_config()


def build_array_meta(
    shape,
    chunks=True,
    dtype=None,
    compressor="default",
    fill_value=0,
    order="C",
    filters=None,
    object_codec=None,
    dimension_separator=None,
):
    """Turn ``zarr.create``-style arguments into an :class:`ArrayMeta`, as zarr 2.18 does.

    Parameters
    ----------
    shape : int or tuple of ints
    chunks : True, False, None, int or tuple, optional
        See :func:`zarr_fast.util.normalize_chunks`; guessed by default.
    dtype : str, type or np.dtype, optional
        See :func:`zarr_fast.meta.dtypes.normalize_dtype`; a subarray dtype's axes are
        appended to ``shape``.
    compressor : Codec, 'default', 'none' or None, optional
        'default' is Blosc (lz4, clevel 5, shuffle). 0-d arrays are never compressed.
    fill_value : object, optional
        See :func:`zarr_fast.meta.dtypes.normalize_fill_value`. ``zarr.create`` passes 0 by
        default and ``init_array`` None; pass what the user gave.
    order : {'C', 'F'}, optional
    filters : sequence of Codec, optional
    object_codec : Codec, optional
        Required for object dtypes; becomes the first filter.
    dimension_separator : {'.', '/', None}, optional
        None means '.', and then the document does not spell the key out (as zarr 2.18).

    Returns
    -------
    ArrayMeta

    Raises
    ------
    BadCompressorError
        If ``compressor`` is not a codec.
    ValueError
        For an object dtype without an object codec (and no filters), chunk lengths below 1,
        or any invalid dtype, order, fill value or separator.

    Warns
    -----
    FutureWarning
        Object dtype without ``object_codec`` but with filters (zarr 2.18 tolerates it).
    UserWarning
        ``object_codec`` given for a non-object dtype.

    Examples
    --------
    >>> meta = build_array_meta((100, 100), chunks=(10, -1), dtype="f4")
    >>> meta.chunks, meta.fill_value, meta.compressor["cname"]
    ((10, 100), np.float32(0.0), 'lz4')
    >>> build_array_meta(10, dtype=str).filters
    [{'id': 'vlen-utf8'}]
    """
    dtype, object_codec = normalize_dtype(dtype, object_codec)
    shape = util.normalize_shape(shape) + dtype.shape
    dtype = dtype.base
    chunks = util.normalize_chunks(chunks, shape, dtype.itemsize)
    if any(c < 1 for c in chunks):
        # zarr 2.18 would write such a document and fail on first use; refuse it up front.
        raise ValueError(f"chunks must be positive integers, found {chunks!r}")
    order = util.normalize_order(order)
    fill_value = normalize_fill_value(fill_value, dtype)
    dimension_separator = util.normalize_dimension_separator(dimension_separator)
    compressor_config = _compressor_config(compressor, shape)

    filter_configs = [f.get_config() for f in filters] if filters else []
    if dtype.hasobject:
        if object_codec is not None:
            filter_configs.insert(0, object_codec.get_config())
        elif not filters:
            raise ValueError("missing object_codec for object array")
        else:
            # One of the filters may well be the object codec; zarr 2.18 only warns here.
            warnings.warn(
                "missing object_codec for object array; this will raise a "
                "ValueError in version 3.0",
                FutureWarning,
                stacklevel=2,
            )
    elif object_codec is not None:
        warnings.warn("an object_codec is only needed for object arrays", stacklevel=2)

    return ArrayMeta(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor_config,
        fill_value=fill_value,
        order=order,
        filters=filter_configs or None,
        dimension_separator=dimension_separator or ".",
        zarr_format=ZARR_FORMAT,
        has_dimension_separator_key=dimension_separator is not None,
    )


class Metadata2:
    """zarr 2.18's ``Metadata2`` namespace (what ``store._metadata_class`` returns).

    Decoded documents are ``ArrayMeta``/``GroupMeta`` values, which also read by field name
    (``meta["shape"]``) as 2.18's dicts did; encoders accept either form.
    """

    ZARR_FORMAT = ZARR_FORMAT

    @staticmethod
    def parse_metadata(doc):
        return _parse_document(doc)

    decode_array_metadata = staticmethod(decode_array_metadata)
    encode_array_metadata = staticmethod(encode_array_metadata)
    decode_group_metadata = staticmethod(decode_group_metadata)
    encode_group_metadata = staticmethod(encode_group_metadata)
    decode_dtype = staticmethod(decode_dtype)
    encode_dtype = staticmethod(encode_dtype)
    decode_fill_value = staticmethod(decode_fill_value)
    encode_fill_value = staticmethod(encode_fill_value)
