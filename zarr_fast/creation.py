"""Array creation functions with zarr-python 2.18's signatures: argument normalisation only.

Each function resolves its arguments, lets ``storage.init_array`` write the metadata
document, and returns an ``Array`` on the store. Existing nodes are refused as in 2.18
(``ContainsArrayError``, ``ContainsGroupError``, ``ArrayNotFoundError``).
"""
from __future__ import annotations

from warnings import warn

import numpy as np
from numcodecs.registry import codec_registry

from .core import Array
from .errors import ArrayNotFoundError, ContainsArrayError, ContainsGroupError
from .storage import contains_array, contains_group, default_compressor, init_array, normalize_store_arg
from .util import normalize_dimension_separator, normalize_storage_path


def create(
    shape,
    chunks=True,
    dtype=None,
    compressor="default",
    fill_value=0,
    order="C",
    store=None,
    synchronizer=None,
    overwrite=False,
    path=None,
    chunk_store=None,
    filters=None,
    cache_metadata=True,
    cache_attrs=True,
    read_only=False,
    object_codec=None,
    dimension_separator=None,
    write_empty_chunks=True,
    *,
    zarr_version=None,
    meta_array=None,
    storage_transformers=(),
    **kwargs,
):
    """Create an array.

    Parameters
    ----------
    shape : int or tuple of ints
        Array shape.
    chunks : int, tuple of ints or bool, optional
        Chunk shape; True guesses one, False means a single chunk.
    dtype : str or dtype, optional
        NumPy dtype.
    compressor : Codec, optional
        Primary compressor ('default' is Blosc lz4, clevel 5, byte shuffle).
    fill_value : object
        Value of uninitialised regions.
    order : {'C', 'F'}, optional
        Memory layout of each chunk.
    store : MutableMapping or str, optional
        Store or path to a directory; an in-memory store by default.
    overwrite : bool, optional
        If True, delete whatever is at ``path`` first.
    dimension_separator : {'.', '/'}, optional
        Separator of chunk key components.
    write_empty_chunks : bool, optional
        If False, chunks equal to the fill value everywhere are not stored.

    Returns
    -------
    Array

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> z = zarr.create((10000, 10000), chunks=(1000, 1000), dtype="i4")
    >>> z.nchunks
    100
    """
    if zarr_version not in (None, 2):
        raise ValueError(f"zarr_version {zarr_version!r} is not supported (expected 2)")
    store = normalize_store_arg(store, mode="w")
    compressor, fill_value = _kwargs_compat(compressor, fill_value, kwargs)
    dimension_separator = _resolve_separator(store, dimension_separator)
    init_array(
        store,
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor,
        fill_value=fill_value,
        order=order,
        overwrite=overwrite,
        path=path,
        chunk_store=chunk_store,
        filters=filters,
        object_codec=object_codec,
        dimension_separator=dimension_separator,
        storage_transformers=storage_transformers,
    )
    return Array(
        store,
        path=path,
        chunk_store=chunk_store,
        synchronizer=synchronizer,
        cache_metadata=cache_metadata,
        cache_attrs=cache_attrs,
        read_only=read_only,
        write_empty_chunks=write_empty_chunks,
        meta_array=meta_array,
    )


def _resolve_separator(store, dimension_separator):
    store_separator = getattr(store, "_dimension_separator", None)
    if dimension_separator is None:
        dimension_separator = store_separator
    elif store_separator not in (None, dimension_separator):
        raise ValueError(
            f"Specified dimension_separator: {dimension_separator}"
            f"conflicts with store's separator: {store_separator}"
        )
    return normalize_dimension_separator(dimension_separator)


def _kwargs_compat(compressor, fill_value, kwargs):
    """Honour h5py-style ``compression``/``compression_opts``/``fillvalue`` keywords."""
    if compressor != "default":
        for k in ("compression", "compression_opts"):
            if k in kwargs:
                warn(f"{k!r} keyword argument overridden by 'compressor'", stacklevel=3)
                del kwargs[k]
    elif "compression" in kwargs:
        compression = kwargs.pop("compression")
        opts = kwargs.pop("compression_opts", None)
        if compression is None or compression == "none":
            compressor = None
        elif compression == "default":
            compressor = default_compressor
        elif isinstance(compression, str):
            codec_cls = codec_registry[compression]
            if isinstance(opts, dict):
                compressor = codec_cls(**opts)
            elif isinstance(opts, (list, tuple)):
                compressor = codec_cls(*opts)
            elif opts is None:
                compressor = codec_cls()
            else:
                compressor = codec_cls(opts)
        elif hasattr(compression, "get_config"):
            compressor = compression
        else:
            raise ValueError(f"bad value for compression: {compression!r}")
    if "fillvalue" in kwargs:
        fill_value = kwargs.pop("fillvalue")
    for k in kwargs:
        warn(f"ignoring keyword argument {k!r}", stacklevel=2)
    return compressor, fill_value


def empty(shape, **kwargs):
    """Create an empty array (no fill value)."""
    return create(shape=shape, fill_value=None, **kwargs)


def zeros(shape, **kwargs):
    """Create an array filled with zeros."""
    return create(shape=shape, fill_value=0, **kwargs)


def ones(shape, **kwargs):
    """Create an array filled with ones."""
    return create(shape=shape, fill_value=1, **kwargs)


def full(shape, fill_value, **kwargs):
    """Create an array filled with ``fill_value``."""
    return create(shape=shape, fill_value=fill_value, **kwargs)


def _get_shape_chunks(a):
    shape = chunks = None
    if hasattr(a, "shape") and isinstance(a.shape, tuple):
        shape = a.shape
        if hasattr(a, "chunks") and isinstance(a.chunks, tuple) and len(a.chunks) == len(a.shape):
            chunks = a.chunks
        elif hasattr(a, "chunklen"):
            chunks = (a.chunklen,) + a.shape[1:]
    return shape, chunks


def array(data, **kwargs):
    """Create an array filled with ``data`` (shape, dtype and chunks taken from it by default)."""
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        data = np.asanyarray(data)
    if kwargs.get("dtype") is None:
        kwargs["dtype"] = data.dtype
    data_shape, data_chunks = _get_shape_chunks(data)
    kwargs["shape"] = data_shape
    if kwargs.get("chunks") is None:
        kwargs["chunks"] = data_chunks
    read_only = kwargs.pop("read_only", False)
    z = create(**kwargs)
    z[...] = data
    z.read_only = read_only
    return z


def open_array(
    store=None,
    mode="a",
    shape=None,
    chunks=True,
    dtype=None,
    compressor="default",
    fill_value=0,
    order="C",
    synchronizer=None,
    filters=None,
    cache_metadata=True,
    cache_attrs=True,
    path=None,
    object_codec=None,
    chunk_store=None,
    storage_options=None,
    partial_decompress=None,
    write_empty_chunks=True,
    *,
    zarr_version=None,
    dimension_separator=None,
    meta_array=None,
    **kwargs,
):
    """Open an array using file-mode-like semantics.

    Parameters
    ----------
    store : MutableMapping or str
        Store or path to a directory.
    mode : {'r', 'r+', 'a', 'w', 'w-', 'x'}, optional
        'r' read only (must exist); 'r+' read/write (must exist); 'a' read/write (create if
        missing); 'w' create (overwrite if present); 'w-'/'x' create (fail if present).

    Returns
    -------
    Array

    Raises
    ------
    ArrayNotFoundError, ContainsArrayError, ContainsGroupError
        As zarr-python 2.18 does for each mode.
    """
    if zarr_version not in (None, 2):
        raise ValueError(f"zarr_version {zarr_version!r} is not supported (expected 2)")
    store = normalize_store_arg(store, storage_options=storage_options, mode=mode)
    if chunk_store is not None:
        chunk_store = normalize_store_arg(chunk_store, storage_options=storage_options, mode=mode)
    if dimension_separator is None:
        # a store without the attribute gets '.' written explicitly, as in 2.18
        dimension_separator = getattr(store, "_dimension_separator", ".")
    path = normalize_storage_path(path)
    compressor, fill_value = _kwargs_compat(compressor, fill_value, kwargs)
    if fill_value is not None:
        fill_value = np.array(fill_value, dtype=dtype)[()]
    init_kwargs = dict(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor,
        fill_value=fill_value,
        order=order,
        filters=filters,
        path=path,
        object_codec=object_codec,
        chunk_store=chunk_store,
        dimension_separator=dimension_separator,
    )
    if mode in ("r", "r+"):
        # read the metadata straight away: one store access instead of a check and a read
        try:
            return Array(
                store,
                read_only=mode == "r",
                synchronizer=synchronizer,
                cache_metadata=cache_metadata,
                cache_attrs=cache_attrs,
                path=path,
                chunk_store=chunk_store,
                write_empty_chunks=write_empty_chunks,
                meta_array=meta_array,
            )
        except ArrayNotFoundError:
            if contains_group(store, path=path):
                raise ContainsGroupError(path) from None
            raise
    elif mode == "w":
        init_array(store, overwrite=True, **init_kwargs)
    elif mode == "a":
        if not contains_array(store, path=path):
            if contains_group(store, path=path):
                raise ContainsGroupError(path)
            init_array(store, **init_kwargs)
    elif mode in ("w-", "x"):
        if contains_group(store, path=path):
            raise ContainsGroupError(path)
        if contains_array(store, path=path):
            raise ContainsArrayError(path)
        init_array(store, **init_kwargs)
    else:
        raise ValueError(f"invalid mode {mode!r}; expected one of 'r', 'r+', 'a', 'w', 'w-', 'x'")
    return Array(
        store,
        read_only=mode == "r",
        synchronizer=synchronizer,
        cache_metadata=cache_metadata,
        cache_attrs=cache_attrs,
        path=path,
        chunk_store=chunk_store,
        write_empty_chunks=write_empty_chunks,
        meta_array=meta_array,
    )


def _like_args(a, kwargs):
    shape, chunks = _get_shape_chunks(a)
    if shape is not None:
        kwargs.setdefault("shape", shape)
    if chunks is not None:
        kwargs.setdefault("chunks", chunks)
    if hasattr(a, "dtype"):
        kwargs.setdefault("dtype", a.dtype)
    if isinstance(a, Array):
        kwargs.setdefault("compressor", a.compressor)
        kwargs.setdefault("order", a.order)
        kwargs.setdefault("filters", a.filters)
        kwargs.setdefault("zarr_version", a._version)
    else:
        kwargs.setdefault("compressor", "default")
        kwargs.setdefault("order", "C")


def empty_like(a, **kwargs):
    """Create an empty array like ``a``."""
    _like_args(a, kwargs)
    return empty(**kwargs)


def zeros_like(a, **kwargs):
    """Create an array of zeros like ``a``."""
    _like_args(a, kwargs)
    return zeros(**kwargs)


def ones_like(a, **kwargs):
    """Create an array of ones like ``a``."""
    _like_args(a, kwargs)
    return ones(**kwargs)


def full_like(a, **kwargs):
    """Create a filled array like ``a`` (its fill value unless one is given)."""
    _like_args(a, kwargs)
    if isinstance(a, Array):
        kwargs.setdefault("fill_value", a.fill_value)
    return full(**kwargs)


def open_like(a, path, **kwargs):
    """Open a persistent array like ``a``."""
    _like_args(a, kwargs)
    if isinstance(a, Array):
        kwargs.setdefault("fill_value", a.fill_value)
    return open_array(path, **kwargs)
