"""Format-neutral metadata values shared by the v2 (and later v3) codecs of metadata.

Pure values, no I/O. ``ArrayMeta`` is what ``core.Array`` works from whatever the on-disk
format; ``meta.v2`` (and later ``meta.v3``) turn documents into these values and back.
Both also read like zarr 2.18's metadata dicts (``meta["shape"]``, ``meta.get(...)``), since
``zarr.meta.decode_array_metadata`` callers index the result by field name.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np


@dataclasses.dataclass(frozen=True)
class ArrayMeta:
    """Everything needed to address, decode and encode an array's chunks.

    ``compressor`` is a numcodecs config dict (``codec.get_config()``) or None; ``filters`` is
    a list of such dicts or None; ``fill_value`` is already decoded (a NumPy scalar, a Python
    scalar, bytes for ``S``/``V``, a 0-d structured value, or None).
    ``dimension_separator`` is always ``'.'`` or ``'/'``; ``has_dimension_separator_key``
    only says whether the v2 ``.zarray`` spells it out.
    """

    shape: tuple
    chunks: tuple
    dtype: np.dtype
    compressor: Optional[dict]
    fill_value: Any
    order: str = "C"
    filters: Optional[list] = None
    dimension_separator: str = "."
    zarr_format: int = 2
    # Whether the v2 document carries a "dimension_separator" key. zarr 2.18's init_array writes
    # it only when a separator was chosen, but its Array spells it out whenever it rewrites the
    # metadata (resize, append): set this to True when rewriting to get the same bytes.
    has_dimension_separator_key: bool = True

    def replace(self, **changes) -> "ArrayMeta":
        return dataclasses.replace(self, **changes)

    def keys(self):
        """The v2 document's field names, for read access like zarr 2.18's dict metadata."""
        names = ("zarr_format", "shape", "chunks", "dtype", "compressor", "fill_value", "order",
                 "filters")
        return names + ("dimension_separator",) if self.has_dimension_separator_key else names

    def __getitem__(self, key):
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key):
        return key in self.keys()

    def get(self, key, default=None):
        return self[key] if key in self.keys() else default


@dataclasses.dataclass(frozen=True)
class GroupMeta:
    zarr_format: int = 2

    def keys(self):
        """The v2 document's field names, for read access like zarr 2.18's dict metadata."""
        return ("zarr_format",)

    def __getitem__(self, key):
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key):
        return key in self.keys()

    def get(self, key, default=None):
        return self[key] if key in self.keys() else default
