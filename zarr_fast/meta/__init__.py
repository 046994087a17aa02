"""Metadata: pure values (``ArrayMeta``, ``GroupMeta``) and the v2 documents that store them.

No I/O: callers read and write the store; this package turns bytes into values and back,
and user arguments into values. Everything here is importable from ``zarr_fast.meta``.
"""
from zarr_fast.meta.chunk_keys import chunk_key
from zarr_fast.meta.common import ArrayMeta, GroupMeta
from zarr_fast.meta.dtypes import (
    decode_dtype,
    decode_fill_value,
    encode_dtype,
    encode_fill_value,
    normalize_dtype,
    normalize_fill_value,
)
from zarr_fast.meta.v2 import (
    ARRAY_META_KEY,
    ATTRS_KEY,
    DEFAULT_COMPRESSOR_CONFIG,
    GROUP_META_KEY,
    ZARR_FORMAT,
    Metadata2,
    build_array_meta,
    check_array_meta,
    decode_array_metadata,
    decode_group_metadata,
    encode_array_metadata,
    encode_group_metadata,
    json_dumps,
    json_loads,
)

__all__ = [
    "ArrayMeta",
    "GroupMeta",
    "chunk_key",
    "normalize_dtype",
    "normalize_fill_value",
    "encode_dtype",
    "decode_dtype",
    "encode_fill_value",
    "decode_fill_value",
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
    "check_array_meta",
    "Metadata2",
]
