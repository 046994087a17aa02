"""Convenience entry points (``open``); save/load/copy/tree arrive with the hierarchy work.

``open`` returns an ``Array`` for a path that holds (or, with ``shape``, will hold) an array.
A path holding a group raises ``ContainsGroupError`` until groups are supported.
"""
from __future__ import annotations

from .creation import open_array
from .errors import ContainsGroupError, PathNotFoundError
from .storage import contains_array, contains_group, normalize_store_arg
from .util import normalize_storage_path


def open(store=None, mode="a", *, zarr_version=None, path=None, **kwargs):
    """Open an array at ``store``/``path`` with file-mode semantics (see ``open_array``).

    Raises
    ------
    PathNotFoundError
        In mode 'r' or 'r+' when nothing is stored at the path.
    """
    store = normalize_store_arg(store, storage_options=kwargs.pop("storage_options", {}), mode=mode)
    path = normalize_storage_path(path)
    kwargs["path"] = path
    if mode in {"w", "w-", "x"} or "shape" in kwargs:
        return open_array(store, mode=mode, **kwargs)
    if contains_array(store, path):
        return open_array(store, mode=mode, **kwargs)
    if contains_group(store, path):
        raise ContainsGroupError(path)
    if mode in {"r", "r+"}:
        raise PathNotFoundError(path)
    return open_array(store, mode=mode, **kwargs)
