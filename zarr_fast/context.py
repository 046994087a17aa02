"""Per-key context handed to a store's ``getitems`` (zarr 2.18's ``zarr.context``).

``Array`` passes one ``Context`` per chunk key when it was opened with a non-NumPy
``meta_array``, so stores that can place bytes on another device know where the chunk is
going. Plain dict at run time; the ``TypedDict`` only documents the keys. No behaviour here.
"""
from __future__ import annotations

from typing import Any, TypedDict


class Context(TypedDict, total=False):
    """Information about the array a store request is made for.

    Keys
    ----
    meta_array
        An array-like of the type the caller wants the chunk decoded into (as given to
        ``Array(meta_array=...)``).

    Examples
    --------
    >>> Context(meta_array=None)
    {'meta_array': None}
    """

    meta_array: Any
