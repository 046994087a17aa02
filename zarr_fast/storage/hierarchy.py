"""Storage functions over any v2 store: node tests, listing, removal, and node creation.

``contains_array``/``contains_group`` look for the ``.zarray``/``.zgroup`` documents;
``listdir``/``rmdir``/``rename``/``getsize`` use the store's own method when it has one
and walk its keys otherwise; ``init_array``/``init_group`` write a new node's metadata
document, creating parent groups as zarr 2.18 does. ``normalize_store_arg`` turns what a
user passed as ``store`` into a ``BaseStore``: URLs become ``FSStore`` and ``.zip`` paths
``ZipStore``, both imported only when needed (fsspec is optional).

Callers may pass plain mappings wherever a store is expected. Paths are normalised here
(``..`` segments are refused with ``ValueError``). Only the v2 format is handled: a
``zarr_version`` other than 2, and ``.n5`` paths, raise ``NotImplementedError``.

``init_array`` validates all of its arguments before it writes or deletes anything, so a
call that fails on a bad dtype or chunk shape leaves the store as it was (zarr 2.18 may
already have removed the old node or written parent groups by then). Exceptions, and the
order in which conditions are checked, are those of zarr 2.18.
"""
from __future__ import annotations

import os
import sys
import warnings
from collections.abc import MutableMapping
from typing import List

from zarr_fast.errors import ContainsArrayError, ContainsGroupError
from zarr_fast.meta.common import GroupMeta
from zarr_fast.meta.v2 import build_array_meta, encode_array_metadata, encode_group_metadata
from zarr_fast.storage.base import (
    BaseStore,
    _getsize_from_keys,
    _listdir_from_keys,
    _path_to_prefix,
    _rename_from_keys,
    _rmdir_from_keys,
    array_meta_key,
    group_meta_key,
    normalize_storage_path,
)
from zarr_fast.storage.directory import DirectoryStore
from zarr_fast.storage.memory import KVStore

try:
    from numcodecs import Blosc as _DefaultCodec
except ImportError:  # pragma: no cover - numcodecs built without Blosc
    from numcodecs import Zlib as _DefaultCodec

#: Compressor used when ``compressor='default'``; reassign it to change the default, as
#: with ``zarr.storage.default_compressor`` in zarr 2.x.
default_compressor = _DefaultCodec()
# kept to tell whether a user replaced ``default_compressor``: if not, 'default' is left to
# meta.v2, which writes zarr 2.18's fixed config whatever this numcodecs version reports
_BUILTIN_DEFAULT_COMPRESSOR = default_compressor


def contains_array(store, path=None) -> bool:
    """Return True if ``store`` holds an array (a ``.zarray`` document) at ``path``.

    Examples
    --------
    >>> from zarr_fast.storage import KVStore, contains_array, init_array
    >>> store = KVStore(dict())
    >>> init_array(store, shape=10, path="a/b")
    >>> contains_array(store, "a/b"), contains_array(store, "a")
    (True, False)
    """
    return _path_to_prefix(normalize_storage_path(path)) + array_meta_key in store


def contains_group(store, path=None, explicit_only=True) -> bool:
    """Return True if ``store`` holds a group (a ``.zgroup`` document) at ``path``.

    ``explicit_only`` is accepted for zarr 2.x compatibility; v2 groups are always explicit.
    """
    return _path_to_prefix(normalize_storage_path(path)) + group_meta_key in store


def listdir(store, path=None) -> List[str]:
    """Return the sorted names of the direct children of ``path`` in ``store``.

    A mapping without a ``listdir`` method is listed by walking its keys, with a warning
    suggesting a ``Store`` subclass, as in zarr 2.18.
    """
    path = normalize_storage_path(path)
    if hasattr(store, "listdir"):
        return store.listdir(path)
    warnings.warn(
        f"Store {store} has no `listdir` method. From zarr 2.9 onwards "
        "may want to inherit from `Store`.",
        stacklevel=2,
    )
    return _listdir_from_keys(store, path)


def rmdir(store, path=None) -> None:
    """Remove everything under ``path`` in ``store`` (the whole store if ``path`` is empty)."""
    path = normalize_storage_path(path)
    if hasattr(store, "rmdir") and store.is_erasable():
        store.rmdir(path)
    else:
        _rmdir_from_keys(store, path)


def rename(store, src_path, dst_path) -> None:
    """Move everything under ``src_path`` in ``store`` to ``dst_path``."""
    src_path = normalize_storage_path(src_path)
    dst_path = normalize_storage_path(dst_path)
    if hasattr(store, "rename"):
        store.rename(src_path, dst_path)
    else:
        _rename_from_keys(store, src_path, dst_path)


def getsize(store, path=None) -> int:
    """Return the size in bytes stored at ``path`` (its direct children for a "directory").

    Returns -1 when the size cannot be known (a non-mapping store, or a value with no
    byte size).
    """
    if hasattr(store, "getsize"):
        return store.getsize(normalize_storage_path(path))
    if isinstance(store, MutableMapping):
        try:
            return _getsize_from_keys(store, normalize_storage_path(path))
        except TypeError:
            return -1
    return -1


def _as_fsspec_mapper(store):
    # an fsspec FSMap, recognised without importing fsspec: a user holding one has
    # imported it already, and everyone else does not pay for the import
    fsspec = sys.modules.get("fsspec")
    if fsspec is None:
        return None
    mapper_class = getattr(getattr(fsspec, "mapping", None), "FSMap", None)
    if mapper_class is not None and isinstance(store, mapper_class):
        return store
    return None


def normalize_store_arg(store, storage_options=None, mode="r", *, zarr_version=None) -> BaseStore:
    """Turn what a user passed as ``store`` into a v2 ``BaseStore``.

    Parameters
    ----------
    store : BaseStore, MutableMapping, fsspec.FSMap, str, os.PathLike or None
        None gives a new in-memory ``KVStore``; a URL (``'s3://b/x'``, ``'memory://x'``,
        ``'file:///tmp/x'``, chained ``'simplecache::s3://...'``) gives an ``FSStore``; a path
        ending in ``.zip`` gives a ``ZipStore``; any other path gives a ``DirectoryStore``;
        an fsspec ``FSMap`` gives an ``FSStore`` on the same file system and root; a
        mapping that is not a ``BaseStore`` is wrapped in a ``KVStore``.
    storage_options : dict, optional
        Options for the fsspec file system of a URL (credentials, endpoint, ...).
    mode : str, optional
        Passed to ``FSStore`` and ``ZipStore`` (``'r'`` makes them read-only); the local
        stores do not use it.
    zarr_version : {None, 2}, optional
        Format version; only 2 is supported.

    Raises
    ------
    NotImplementedError
        For ``.n5`` paths and ``zarr_version=3``.
    ValueError
        For a store of another format version, ``storage_options`` with a local path, or
        an object that is not mapping-like.
    ImportError
        For a URL when ``fsspec`` (or the protocol's package, e.g. ``s3fs``) is missing.

    Examples
    --------
    >>> from zarr_fast.storage import normalize_store_arg
    >>> type(normalize_store_arg(None)).__name__
    'KVStore'
    >>> type(normalize_store_arg({})).__name__
    'KVStore'
    >>> type(normalize_store_arg("memory://doc-normalize", mode="w")).__name__
    'FSStore'
    """
    if zarr_version is None:
        zarr_version = getattr(store, "_store_version", 2)
    if zarr_version == 3:
        raise NotImplementedError("Zarr v3 stores are not supported by zarr_fast yet")
    if zarr_version != 2:
        raise ValueError("zarr_version must be either 2 or 3")
    if store is None:
        return KVStore(dict())
    if isinstance(store, os.PathLike):
        store = os.fspath(store)
    if isinstance(store, bytes):
        store = os.fsdecode(store)
    mapper = _as_fsspec_mapper(store)
    if mapper is not None:
        from zarr_fast.storage.fsstore import FSStore

        return FSStore(
            mapper.root,
            fs=mapper.fs,
            mode=mode,
            check=mapper.check,
            create=mapper.create,
            missing_exceptions=mapper.missing_exceptions,
            **(storage_options or {}),
        )
    if isinstance(store, str):
        if "://" in store or "::" in store:
            # imported here: fsspec is optional, and plain paths never need it
            from zarr_fast.storage.fsstore import FSStore

            return FSStore(store, mode=mode, **(storage_options or {}))
        if storage_options:
            raise ValueError("storage_options passed with non-fsspec path")
        if store.endswith(".zip"):
            from zarr_fast.storage.zip import ZipStore

            return ZipStore(store, mode=mode)
        if store.endswith(".n5"):
            raise NotImplementedError(
                f"N5Store is not supported by zarr_fast. Got {store!r}"
            )
        return DirectoryStore(store)
    return BaseStore._ensure_store(store)


# -- node creation ---------------------------------------------------------------------


def _parent_paths(path: str) -> List[str]:
    # '' (the root) first, then each ancestor of a normalised path, excluding path itself
    if not path:
        return []
    segments = path.split("/")
    return ["/".join(segments[:i]) for i in range(len(segments))]


def _check_parents(store, path: str, overwrite: bool) -> None:
    # zarr 2.18 turns an array that sits where a parent group should be into a group
    # only when overwriting; otherwise that is ContainsArrayError naming the parent.
    if overwrite:
        return
    for parent in _parent_paths(path):
        if contains_array(store, parent):
            raise ContainsArrayError(parent)


def _check_target(store, path: str) -> None:
    if contains_array(store, path):
        raise ContainsArrayError(path)
    if contains_group(store, path, explicit_only=False):
        raise ContainsGroupError(path)


def _write_group_document(store, path: str) -> None:
    store[_path_to_prefix(path) + group_meta_key] = encode_group_metadata(GroupMeta())


def _remove_node(store, chunk_store, path: str) -> None:
    rmdir(store, path)
    if chunk_store is not None:
        rmdir(chunk_store, path)


def _require_parent_groups(store, chunk_store, path: str, overwrite: bool) -> None:
    # Every ancestor becomes a group: a missing one gets a .zgroup; with overwrite, an
    # array in the way is removed (with its chunks) and replaced by a group.
    for parent in _parent_paths(path):
        if contains_array(store, parent):
            if not overwrite:
                raise ContainsArrayError(parent)
            _remove_node(store, chunk_store, parent)
            _write_group_document(store, parent)
        elif not contains_group(store, parent):
            _write_group_document(store, parent)


def init_array(
    store,
    shape,
    chunks=True,
    dtype=None,
    compressor="default",
    fill_value=None,
    order="C",
    overwrite=False,
    path=None,
    chunk_store=None,
    filters=None,
    object_codec=None,
    dimension_separator=None,
    storage_transformers=(),
) -> None:
    """Write the metadata of a new array at ``path`` in ``store``.

    A low-level function: user code normally calls ``zarr.create`` and friends.

    Parameters
    ----------
    store : MutableMapping
        Where the ``.zarray`` document goes.
    shape : int or tuple of ints
        Array shape.
    chunks : bool, int or tuple of ints, optional
        Chunk shape; True guesses one from ``shape`` and ``dtype``, False means one chunk.
    dtype : str or numpy.dtype, optional
        Element type (float64 by default).
    compressor : Codec or None, optional
        Primary compressor; ``'default'`` means ``default_compressor`` (Blosc).
    fill_value : object, optional
        Value of chunks that were never written.
    order : {'C', 'F'}, optional
        Memory layout within each chunk.
    overwrite : bool, optional
        If True, first remove whatever is stored at ``path`` (in ``chunk_store`` too).
    path : str, optional
        Logical path of the array within the store.
    chunk_store : MutableMapping, optional
        Separate store for the chunks, only used here to remove old chunks.
    filters : sequence of Codec, optional
        Filters applied before compression.
    object_codec : Codec, optional
        Codec for object arrays.
    dimension_separator : {'.', '/'}, optional
        Separator between chunk indices in chunk keys; defaults to the store's own.
    storage_transformers : sequence, optional
        Must be empty (a Zarr v3 feature).

    Raises
    ------
    ContainsArrayError
        If an array is at ``path`` or at one of its parents, and ``overwrite`` is False.
    ContainsGroupError
        If a group is at ``path`` and ``overwrite`` is False.
    ValueError
        For invalid arguments, or a path with ``.``/``..`` segments.

    Examples
    --------
    >>> from zarr_fast.storage import KVStore, init_array
    >>> store = KVStore(dict())
    >>> init_array(store, shape=(100, 100), chunks=(10, 10), dtype="i4", path="foo")
    >>> sorted(store.keys())
    ['.zgroup', 'foo/.zarray']
    """
    path = normalize_storage_path(path)
    if storage_transformers:
        raise ValueError("storage_transformers are only supported for Zarr v3 arrays")

    # checks first, in zarr 2.18's order; nothing has been written yet
    _check_parents(store, path, overwrite)
    if not overwrite:
        _check_target(store, path)

    if not compressor:
        # legacy spellings of "no compressor", e.g. compressor=[]
        compressor = None
    elif (isinstance(compressor, str) and compressor == "default"
          and default_compressor is not _BUILTIN_DEFAULT_COMPRESSOR):
        # the module attribute is read at call time so that reassigning it takes effect
        compressor = default_compressor
    if dimension_separator is None:
        dimension_separator = getattr(store, "_dimension_separator", None)
    meta = build_array_meta(
        shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor,
        fill_value=fill_value,
        order=order,
        filters=filters,
        object_codec=object_codec,
        dimension_separator=dimension_separator,
    )
    document = encode_array_metadata(meta)

    _require_parent_groups(store, chunk_store, path, overwrite)
    if overwrite:
        _remove_node(store, chunk_store, path)
    store[_path_to_prefix(path) + array_meta_key] = document


#: zarr 1.x name of :func:`init_array`, kept by zarr 2.x.
init_store = init_array


def init_group(store, overwrite=False, path=None, chunk_store=None) -> None:
    """Write the metadata of a new group at ``path`` in ``store``.

    Parameters
    ----------
    store : MutableMapping
        Where the ``.zgroup`` document goes.
    overwrite : bool, optional
        If True, first remove whatever is stored at ``path`` (in ``chunk_store`` too).
    path : str, optional
        Logical path of the group within the store.
    chunk_store : MutableMapping, optional
        Separate chunk store, only used here to remove old chunks.

    Raises
    ------
    ContainsArrayError
        If an array is at ``path`` or at one of its parents, and ``overwrite`` is False.
    ContainsGroupError
        If a group is at ``path`` and ``overwrite`` is False.

    Examples
    --------
    >>> from zarr_fast.storage import KVStore, init_group
    >>> store = KVStore(dict())
    >>> init_group(store, path="a/b")
    >>> sorted(store.keys())
    ['.zgroup', 'a/.zgroup', 'a/b/.zgroup']
    """
    path = normalize_storage_path(path)
    _check_parents(store, path, overwrite)
    if not overwrite:
        _check_target(store, path)
    _require_parent_groups(store, chunk_store, path, overwrite)
    if overwrite:
        _remove_node(store, chunk_store, path)
    _write_group_document(store, path)
