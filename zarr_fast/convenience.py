"""Convenience entry points of zarr 2.18: open, save/load, copy, consolidated metadata, tree.

``open`` returns an ``Array`` or a ``Group`` with zarr 2.18's file-mode rules;
``save``/``save_array``/``save_group`` write NumPy data; ``load`` reads an array (or, for a
group, returns a ``LazyLoader`` that reads each array on first access);
``copy_store``/``copy``/``copy_all`` copy keys, arrays and groups with zarr 2.18's log lines,
``if_exists`` rules and ``(n_copied, n_skipped, n_bytes_copied)`` results;
``consolidate_metadata``/``open_consolidated`` write and read ``.zmetadata`` byte for byte
as zarr 2.18 does. ``tree`` draws zarr groups and h5py-like ones. A progress observer set
with the private ``_observe_copy`` context (the command line's bar) hears of every batch of
chunks ``copy``/``copy_all`` store, without changing their zarr 2.18 signatures.

Groups come from ``zarr_fast.hierarchy``, imported when first needed (it is the newer
half of this work). Callers guarantee that group-like arguments of ``copy``/``copy_all``
offer zarr 2.18's ``Group`` surface (``keys``, ``attrs``, ``create_dataset``,
``require_group``, ``__contains__``, ``__getitem__``, ``__delitem__``).

Refused, as in zarr 2.18: an unknown ``if_exists`` (``ValueError``), an existing
destination with ``if_exists='raise'`` (``CopyError`` naming it), a non-group ``dest``
(``ValueError``), ``open_consolidated`` modes other than 'r' and 'r+' (``ValueError``), and
``save*`` without data (``ValueError``). A failure while copying an array's data raises
``CopyError`` naming that array; arrays finished before it stay complete and readable.
"""
from __future__ import annotations

import builtins
import contextlib
import contextvars
import itertools
import os
import re
from collections.abc import Mapping

import numpy as np

from .creation import open_array
from .errors import CopyError, PathNotFoundError
from .meta.v2 import json_dumps, json_loads
from .storage import contains_array, contains_group, normalize_store_arg
from .storage.base import buffer_size
from .storage.consolidated import ConsolidatedMetadataStore
from .util import normalize_storage_path

__all__ = [
    "open",
    "save",
    "save_array",
    "save_group",
    "load",
    "LazyLoader",
    "tree",
    "copy_store",
    "copy",
    "copy_all",
    "consolidate_metadata",
    "open_consolidated",
]

# Bytes per block when array data goes through the Array API (decode + re-encode): large
# enough that the parallel pipeline has many chunks per call, small enough to bound memory.
_BLOCK_NBYTES = 64 * 2**20
# Chunk keys per batch on the raw (no decode) copy path and in copy_store.
_KEY_BATCH = 256

# Who watches ``copy``/``copy_all`` move data (the command line's progress bar). A context
# variable rather than a parameter: zarr 2.18's signatures pass unknown keywords on to
# ``create_dataset``, so a new keyword would change what they mean.
_copy_observer = contextvars.ContextVar("zarr_fast_copy_observer", default=None)


@contextlib.contextmanager
def _observe_copy(observer):
    """Report the data moved by ``copy``/``copy_all`` in this context to ``observer``.

    ``observer`` offers ``begin(name)`` (an array's copy starts), ``advance(nbytes,
    nchunks)`` (decoded bytes and destination chunks just written) and ``skip(nbytes)``
    (an array of that many bytes is skipped or only logged in a dry run). Calls come from
    the calling thread, after each batch of chunks is stored.
    """
    token = _copy_observer.set(observer)
    try:
        yield observer
    finally:
        _copy_observer.reset(token)


def _array_nbytes(source):
    return int(np.prod(source.shape, dtype=np.int64)) * np.dtype(source.dtype).itemsize


def _hierarchy():
    """The hierarchy module, or None while it does not exist yet."""
    try:
        from . import hierarchy
    except ImportError:
        return None
    return hierarchy


def _open_group(store, mode, **kwargs):
    hierarchy = _hierarchy()
    if hierarchy is None or not hasattr(hierarchy, "open_group"):
        raise NotImplementedError("groups are not available: zarr_fast.hierarchy is missing")
    return hierarchy.open_group(store, mode=mode, **kwargs)


def open(store=None, mode="a", *, zarr_version=None, path=None, **kwargs):
    """Open an array or group with file-mode semantics.

    Parameters
    ----------
    store : MutableMapping or str, optional
        Store or path to a directory in the file system.
    mode : {'r', 'r+', 'a', 'w', 'w-', 'x'}, optional
        Persistence mode, as for ``open_array`` and ``open_group``.
    zarr_version : {None, 2}, optional
        Only version 2 is supported.
    path : str, optional
        Path inside the store.
    **kwargs
        Passed to ``open_array`` (when the path holds, or with ``shape`` will hold, an
        array) or to ``open_group``.

    Returns
    -------
    Array or Group

    Raises
    ------
    PathNotFoundError
        In mode 'r' or 'r+' when nothing is stored at the path.

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> z = zarr.open(mode="w", shape=(4,), chunks=(2,), dtype="i4")
    >>> z.shape
    (4,)
    """
    store = normalize_store_arg(store, storage_options=kwargs.pop("storage_options", {}), mode=mode)
    path = normalize_storage_path(path)
    kwargs["path"] = path
    has_groups = _hierarchy() is not None
    if mode in {"w", "w-", "x"}:
        if "shape" in kwargs or not has_groups:
            return open_array(store, mode=mode, **kwargs)
        return _open_group(store, mode, **kwargs)
    if mode == "a":
        if "shape" in kwargs or contains_array(store, path) or not has_groups:
            return open_array(store, mode=mode, **kwargs)
        return _open_group(store, mode, **kwargs)
    if contains_array(store, path):
        return open_array(store, mode=mode, **kwargs)
    if contains_group(store, path):
        return _open_group(store, mode, **kwargs)
    raise PathNotFoundError(path)


def _might_close(store):
    # a store built here from a file-system path is ours to close (zip files need it)
    return isinstance(store, (str, os.PathLike))


def save_array(store, arr, *, zarr_version=None, path=None, **kwargs):
    """Save a NumPy array to ``store`` (overwriting what is at ``path``).

    Parameters
    ----------
    store : MutableMapping or str
        Store or path to a directory in the file system.
    arr : ndarray
        Data to save.
    path : str, optional
        Path inside the store.
    **kwargs
        Passed to ``zarr_fast.array`` (``chunks``, ``compressor``, ...).

    Examples
    --------
    >>> import numpy as np, zarr_fast as zarr
    >>> from zarr_fast.storage import MemoryStore
    >>> store = MemoryStore()
    >>> zarr.save_array(store, np.arange(5))
    >>> zarr.load(store)
    array([0, 1, 2, 3, 4])
    """
    from .creation import array

    may_close = _might_close(store)
    store = normalize_store_arg(store, mode="w")
    path = normalize_storage_path(path)
    try:
        array(arr, store=store, overwrite=True, path=path, **kwargs)
    finally:
        if may_close:
            store.close()


def save_group(store, *args, zarr_version=None, path=None, **kwargs):
    """Save NumPy arrays as the children of a new group (overwriting what is at ``path``).

    Positional arrays are named ``arr_0``, ``arr_1``, ...; keyword arrays by their keyword.

    Raises
    ------
    ValueError
        If no array is given.
    """
    if not args and not kwargs:
        raise ValueError("at least one array must be provided")
    hierarchy = _hierarchy()
    may_close = _might_close(store)
    store = normalize_store_arg(store, mode="w")
    path = normalize_storage_path(path)
    try:
        group = hierarchy.group(store, path=path, overwrite=True)
        named = [(f"arr_{i}", data) for i, data in enumerate(args)] + list(kwargs.items())
        for name, data in named:
            group.create_dataset(name, data=data, overwrite=True)
    finally:
        if may_close:
            store.close()


def save(store, *args, zarr_version=None, path=None, **kwargs):
    """Save one array (as ``save_array``) or several (as ``save_group``).

    Raises
    ------
    ValueError
        If no array is given.
    """
    if not args and not kwargs:
        raise ValueError("at least one array must be provided")
    if len(args) == 1 and not kwargs:
        save_array(store, args[0], zarr_version=zarr_version, path=path)
    else:
        save_group(store, *args, zarr_version=zarr_version, path=path, **kwargs)


class LazyLoader(Mapping):
    """A read-only mapping over a group's arrays that reads each one on first access.

    Parameters
    ----------
    grp : Group
        The group whose arrays are loaded.
    """

    def __init__(self, grp):
        self.grp = grp
        self.cache = {}

    def __getitem__(self, item):
        if item not in self.cache:
            self.cache[item] = self.grp[item][...]
        return self.cache[item]

    def __len__(self):
        return len(self.grp)

    def __iter__(self):
        return iter(self.grp)

    def __contains__(self, item):
        return item in self.grp

    def __repr__(self):
        return "<LazyLoader: " + ", ".join(sorted(self.grp.array_keys())) + ">"


def load(store, zarr_version=None, path=None):
    """Load an array into memory, or return a ``LazyLoader`` over a group's arrays.

    Returns
    -------
    ndarray or LazyLoader or None
        None when nothing is stored at ``path`` (as zarr 2.18).
    """
    from .core import Array

    store = normalize_store_arg(store)
    path = normalize_storage_path(path)
    if contains_array(store, path=path):
        return Array(store=store, path=path)[...]
    if contains_group(store, path=path):
        return LazyLoader(_hierarchy().Group(store=store, path=path))
    return None


def tree(grp, expand=False, level=None):
    """Return a printable view of the hierarchy under ``grp`` (see ``Group.tree``).

    Parameters
    ----------
    grp : Group or group-like
        A zarr Group, or any object with ``name`` and ``values()`` such as an h5py ``File``
        or ``Group`` (leaves with ``shape`` and ``dtype`` show them), as in zarr 2.18.
    expand : bool or int, optional
        Only used by the HTML view: open every node (True) or the first ``expand`` levels.
    level : int, optional
        Maximum depth to descend to.

    Returns
    -------
    TreeViewer
        ``str()`` gives unicode lines, ``bytes()`` ASCII ones.

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> g = zarr.group()
    >>> _ = g.create_group("foo").zeros("bar", shape=(3,))
    >>> print(zarr.tree(g))
    /
     └── foo
         └── bar (3,) float64
    """
    return _hierarchy().TreeViewer(grp, expand=expand, level=level)


# ------------------------------------------------------------------------------- copying


class _LogWriter:
    """Send log lines to a callable, a file path (opened here, closed on exit) or a file."""

    def __init__(self, log):
        self.log_func = None
        self.log_file = None
        self.needs_closing = False
        if log is None:
            pass
        elif callable(log):
            self.log_func = log
        elif isinstance(log, str):
            self.log_file = builtins.open(log, mode="w")
            self.needs_closing = True
        elif hasattr(log, "write"):
            self.log_file = log
        else:
            raise TypeError(
                f"log must be a callable function, file path or file-like object, found {log!r}"
            )

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.needs_closing:
            self.log_file.close()

    def __call__(self, *args, **kwargs):
        if self.log_file is not None:
            print(*args, file=self.log_file, **kwargs)
            if hasattr(self.log_file, "flush"):
                # a long copy should show progress as it goes
                self.log_file.flush()
        elif self.log_func is not None:
            self.log_func(*args, **kwargs)


def _log_summary(log, dry_run, n_copied, n_skipped, n_bytes_copied):
    head = "dry run: " if dry_run else "all done: "
    message = f"{head}{n_copied:,} copied, {n_skipped:,} skipped"
    if not dry_run:
        message += f", {n_bytes_copied:,} bytes copied"
    log(message)


def _as_pattern_list(patterns, flags):
    if patterns is None:
        patterns = []
    elif isinstance(patterns, str):
        patterns = [patterns]
    return [re.compile(p, flags) for p in patterns]


def _check_if_exists(if_exists, allowed):
    if if_exists not in allowed:
        raise ValueError(f"if_exists must be one of {allowed!r}; found {if_exists!r}")


def copy_store(
    source,
    dest,
    source_path="",
    dest_path="",
    excludes=None,
    includes=None,
    flags=0,
    if_exists="raise",
    dry_run=False,
    log=None,
):
    """Copy every key under ``source_path`` of one store to ``dest_path`` of another.

    Keys are visited in sorted order. A key matching an ``excludes`` pattern is skipped
    unless it also matches an ``includes`` pattern (``re.search`` with ``flags``).

    Parameters
    ----------
    source, dest : MutableMapping
        Stores to copy from and to.
    source_path, dest_path : str, optional
        Paths inside each store.
    excludes, includes : str or list of str, optional
        Regular expressions over source keys.
    flags : int, optional
        ``re`` flags for the patterns.
    if_exists : {'raise', 'replace', 'skip'}, optional
        What to do with a key already in ``dest``.
    dry_run : bool, optional
        Log and count, but read and write nothing.
    log : callable, file path or file-like object, optional
        Receives one line per key and a summary line.

    Returns
    -------
    n_copied, n_skipped, n_bytes_copied : int

    Raises
    ------
    CopyError
        With ``if_exists='raise'``, on the first key already in ``dest`` (keys before it
        are copied).

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> src = {"a/.zgroup": b"{}", "a/x": b"12"}
    >>> zarr.copy_store(src, {}, source_path="a", dest_path="b")
    (2, 0, 4)
    """
    source_path = normalize_storage_path(source_path)
    dest_path = normalize_storage_path(dest_path)
    source_prefix = source_path + "/" if source_path else ""
    dest_prefix = dest_path + "/" if dest_path else ""
    excludes = _as_pattern_list(excludes, flags)
    includes = _as_pattern_list(includes, flags)
    _check_if_exists(if_exists, ["raise", "replace", "skip"])
    if getattr(source, "_store_version", 2) != getattr(dest, "_store_version", 2):
        raise ValueError("zarr stores must share the same protocol version")

    counts = [0, 0, 0]  # copied, skipped, bytes
    pending = []  # (source_key, dest_key) whose log line is out, data not yet moved

    def flush():
        # Reads and writes go in batches so stores with batch I/O serve them in parallel.
        if not pending:
            return
        source_keys = [s for s, _ in pending]
        if hasattr(source, "getitems"):
            values = source.getitems(source_keys)
        else:
            values = {k: source[k] for k in source_keys}
        out = {}
        for source_key, dest_key in pending:
            data = values[source_key]
            counts[2] += buffer_size(data)
            out[dest_key] = data
        if hasattr(dest, "setitems"):
            dest.setitems(out)
        else:
            for key, data in out.items():
                dest[key] = data
        pending.clear()

    with _LogWriter(log) as log:
        try:
            for source_key in sorted(source.keys()):
                if not source_key.startswith(source_prefix):
                    continue
                if any(p.search(source_key) for p in excludes) and not any(
                    p.search(source_key) for p in includes
                ):
                    continue
                dest_key = dest_prefix + source_key[len(source_prefix):]
                label = source_key if dest_key == source_key else f"{source_key} -> {dest_key}"
                if if_exists != "replace" and dest_key in dest:
                    if if_exists == "raise":
                        raise CopyError(f"key {dest_key!r} exists in destination")
                    log(f"skip {label}")
                    counts[1] += 1
                    continue
                log(f"copy {label}")
                counts[0] += 1
                if not dry_run:
                    pending.append((source_key, dest_key))
                    if len(pending) >= _KEY_BATCH:
                        flush()
        finally:
            # keys announced before an error are still copied, as zarr 2.18 copies each
            # key before looking at the next
            if not dry_run:
                flush()
        _log_summary(log, dry_run, *counts)
    return tuple(counts)


def _check_dest_is_group(dest):
    if not hasattr(dest, "create_dataset"):
        raise ValueError(f"dest must be a group, got {dest!r}")


def copy(
    source,
    dest,
    name=None,
    shallow=False,
    without_attrs=False,
    log=None,
    if_exists="raise",
    dry_run=False,
    **create_kws,
):
    """Copy an array or group (recursively, unless ``shallow``) into the group ``dest``.

    Parameters
    ----------
    source : Array or Group
        What to copy (zarr or h5py-like objects).
    dest : Group
        Group to copy into.
    name : str, optional
        Name of the copy; by default the source's base name.
    shallow : bool, optional
        Copy only the immediate children of a group.
    without_attrs : bool, optional
        Leave user attributes behind.
    log : callable, file path or file-like object, optional
        Receives one line per object and a summary line.
    if_exists : {'raise', 'replace', 'skip', 'skip_initialized'}, optional
        What to do with an object already in ``dest``.
    dry_run : bool, optional
        Log and count, but write nothing.
    **create_kws
        Passed to ``dest.create_dataset`` (``chunks``, ``compressor``, ...).

    Returns
    -------
    n_copied, n_skipped, n_bytes_copied : int

    Raises
    ------
    CopyError
        If an object exists and ``if_exists='raise'``, or copying an array's data failed
        (the message names the array).
    ValueError
        If ``dest`` is not a group or ``if_exists`` is unknown.
    """
    _check_dest_is_group(dest)
    with _LogWriter(log) as log:
        counts = _copy(log, source, dest, name, True, shallow, without_attrs, if_exists,
                       dry_run, **create_kws)
        _log_summary(log, dry_run, *counts)
    return counts


def copy_all(
    source,
    dest,
    shallow=False,
    without_attrs=False,
    log=None,
    if_exists="raise",
    dry_run=False,
    **create_kws,
):
    """Copy every child of the group ``source`` into the group ``dest``, then its attributes.

    Parameters and results are those of ``copy``.
    """
    _check_dest_is_group(dest)
    n_copied = n_skipped = n_bytes_copied = 0
    with _LogWriter(log) as log:
        for key in source.keys():
            c, s, b = _copy(log, source[key], dest, key, False, shallow, without_attrs,
                            if_exists, dry_run, **create_kws)
            n_copied += c
            n_skipped += s
            n_bytes_copied += b
        if getattr(source, "_version", 2) == 2:
            dest.attrs.update(**source.attrs)
        _log_summary(log, dry_run, n_copied, n_skipped, n_bytes_copied)
    return n_copied, n_skipped, n_bytes_copied


def _is_h5py(obj):
    return obj is not None and type(obj).__module__.startswith("h5py.")


def _copy(log, source, dest, name, root, shallow, without_attrs, if_exists, dry_run, **create_kws):
    n_copied = n_skipped = n_bytes_copied = 0
    source_h5py = _is_h5py(source)
    dest_h5py = _is_h5py(dest)
    _check_if_exists(if_exists, ["raise", "replace", "skip", "skip_initialized"])
    if dest_h5py and if_exists == "skip_initialized":
        raise ValueError(f"{if_exists!r} can only be used when copying to zarr")
    if name is None:
        name = source.name.split("/")[-1]
        if not name:
            raise TypeError(
                "source has no name, please provide the `name` "
                "parameter to indicate a name to copy to"
            )

    if hasattr(source, "shape"):
        exists = dest is not None and name in dest
        is_copied = True
        if exists:
            if if_exists == "raise":
                raise CopyError(f"an object {name!r} already exists in destination {dest.name!r}")
            if if_exists == "skip":
                is_copied = False
            elif if_exists == "skip_initialized":
                existing = dest[name]
                is_copied = existing.nchunks_initialized != existing.nchunks
        observer = _copy_observer.get()
        if not is_copied:
            log(f"skip {source.name} {source.shape} {source.dtype}")
            if observer is not None:
                observer.skip(_array_nbytes(source))
            return 0, 1, 0
        log(f"copy {source.name} {source.shape} {source.dtype}")
        if observer is not None:
            if dry_run:
                observer.skip(_array_nbytes(source))
            else:
                observer.begin(source.name)
        if not dry_run:
            if exists:
                del dest[name]
            kws = _array_create_kws(source, source_h5py, dest_h5py, create_kws)
            ds = dest.create_dataset(name, shape=source.shape, dtype=source.dtype, **kws)
            try:
                _copy_array_data(source, ds)
            except Exception as exc:
                raise CopyError(
                    f"failed to copy array {source.name!r} to {getattr(ds, 'name', name)!r}: {exc}"
                ) from exc
            n_bytes_copied += ds.size * ds.dtype.itemsize
            if not without_attrs:
                attrs = source.attrs
                if dest_h5py and "filters" in attrs:
                    attrs = dict(attrs.asdict())
                    attrs.pop("filters", None)
                ds.attrs.update(attrs)
        return 1, 0, n_bytes_copied

    if not (root or not shallow):
        return 0, 0, 0

    exists_array = dest is not None and name in dest and hasattr(dest[name], "shape")
    if exists_array and if_exists == "raise":
        raise CopyError(f"an array {name!r} already exists in destination {dest.name!r}")
    if exists_array and if_exists == "skip":
        log(f"skip {source.name}")
        return 0, 1, 0
    log(f"copy {source.name}")
    if not dry_run:
        if exists_array:
            del dest[name]
        group = dest.require_group(name)
        if not without_attrs:
            group.attrs.update(source.attrs)
    else:
        group = dest.get(name, None) if dest is not None else None
    for key in source.keys():
        c, s, b = _copy(log, source[key], group, key, False, shallow, without_attrs, if_exists,
                        dry_run, **create_kws)
        n_copied += c
        n_skipped += s
        n_bytes_copied += b
    return n_copied + 1, n_skipped, n_bytes_copied


def _array_create_kws(source, source_h5py, dest_h5py, create_kws):
    """Creation arguments for the copy of ``source``: the caller's, then the source's."""
    kws = dict(create_kws)
    kws.setdefault("chunks", source.chunks)
    if source_h5py and dest_h5py:
        for key in ("compression", "compression_opts", "shuffle", "fletcher32", "fillvalue"):
            kws.setdefault(key, getattr(source, key))
    elif source_h5py:
        kws.setdefault("fill_value", source.fillvalue)
    elif dest_h5py:
        kws.setdefault("chunks", True)
        kws.setdefault("compression", "gzip")
        kws.setdefault("compression_opts", 1)
        kws.setdefault("shuffle", False)
        kws.setdefault("fillvalue", source.fill_value)
    else:
        kws.setdefault("compressor", source.compressor)
        kws.setdefault("filters", source.filters)
        kws.setdefault("order", source.order)
        kws.setdefault("fill_value", source.fill_value)
    return kws


def _stored_layout(array):
    """The ``.zarray`` document of a zarr_fast array minus what does not affect chunk bytes."""
    document = json_loads(array.store[array._key_prefix + ".zarray"])
    document.pop("dimension_separator", None)
    return document


def _can_copy_raw(source, ds):
    """True when ``ds`` stores chunks byte-identical to ``source``'s (no decode needed)."""
    from .core import Array

    if type(source) is not Array or type(ds) is not Array:
        return False
    if source.is_view or ds.is_view or source.synchronizer is not None:
        return False
    try:
        return _stored_layout(source) == _stored_layout(ds)
    except (KeyError, ValueError):
        return False


def _copy_array_data(source, ds):
    """Fill the freshly created ``ds`` with the data of ``source``."""
    if _can_copy_raw(source, ds):
        _copy_chunks_raw(source, ds)
    else:
        _copy_blocks(source, ds)


def _copy_chunks_raw(source, ds):
    # Same chunking, dtype, order, fill value and codecs: chunk bytes are moved as they are,
    # batch by batch; chunks never written stay missing and so read as the fill value.
    source_store = source.chunk_store
    dest_store = ds.chunk_store
    grid = [range(n) for n in source.cdata_shape] if source.ndim else [range(1)]
    coords = itertools.product(*grid)
    fill_chunk = None
    observer = _copy_observer.get()
    itemsize = np.dtype(source.dtype).itemsize
    while True:
        batch = list(itertools.islice(coords, _KEY_BATCH))
        if not batch:
            break
        if source.ndim == 0:
            # a 0-d array stores its one chunk under '0', as zarr 2 does
            batch = [(0,)]
        keys = {source._chunk_key(c): (ds._chunk_key(c), c) for c in batch}
        values = source_store.getitems(list(keys))
        out = {keys[k][0]: v for k, v in values.items()}
        if ds.write_empty_chunks and len(values) < len(keys):
            # zarr 2.18 writes every chunk of the copy (missing ones as the fill value), so
            # the copy counts as fully initialised for if_exists='skip_initialized'. Every
            # fill chunk encodes to the same bytes: make them once through the Array API.
            for source_key, (dest_key, chunk_coords) in keys.items():
                if source_key in values:
                    continue
                if fill_chunk is None:
                    sel = tuple(slice(i * c, min(n, (i + 1) * c))
                                for i, n, c in zip(chunk_coords, ds.shape, ds.chunks))
                    ds[sel] = source.fill_value if source.fill_value is not None else 0
                    fill_chunk = dest_store[dest_key]
                else:
                    out[dest_key] = fill_chunk
        if out:
            dest_store.setitems(out)
        if observer is not None:
            # decoded bytes of the chunks just handled, edge chunks clipped to the shape
            nitems = sum(
                int(np.prod([min(n, (i + 1) * c) - i * c
                             for i, n, c in zip(chunk_coords, source.shape, source.chunks)],
                            dtype=np.int64))
                for chunk_coords in batch
            ) if source.ndim else 1
            observer.advance(nitems * itemsize, len(batch))
        if source.ndim == 0:
            break


def _copy_blocks(source, ds):
    # Through the Array API, in blocks aligned to the destination's chunks so each chunk
    # is written once; each block spans many chunks so the pipeline runs them in parallel.
    shape = ds.shape
    observer = _copy_observer.get()
    itemsize = np.dtype(ds.dtype).itemsize or 1
    if len(shape) == 0:
        ds[...] = source[...]
        if observer is not None:
            observer.advance(itemsize, 1)
        return
    chunks = ds.chunks

    def report(sel):
        # blocks start on destination chunk boundaries, so chunks = ceil(extent / chunk)
        if observer is not None:
            extents = [s.stop - s.start for s in sel]
            observer.advance(int(np.prod(extents, dtype=np.int64)) * itemsize,
                             int(np.prod([-(-e // c) for e, c in zip(extents, chunks)],
                                         dtype=np.int64)))
    row_nbytes = chunks[0] * itemsize * int(np.prod(shape[1:], dtype=np.int64))
    if row_nbytes <= _BLOCK_NBYTES:
        # slabs along the first axis: whole chunk rows, as many as fit in the budget
        step = chunks[0] * max(1, _BLOCK_NBYTES // max(row_nbytes, 1))
        for start in range(0, shape[0], step):
            sel = (slice(start, min(shape[0], start + step)),) + tuple(slice(0, n) for n in shape[1:])
            ds[sel] = source[sel]
            report(sel)
        return
    offsets = [range(0, n, c) for n, c in zip(shape, chunks)]
    for offset in itertools.product(*offsets):
        sel = tuple(slice(o, min(n, o + c)) for o, n, c in zip(offset, shape, chunks))
        ds[sel] = source[sel]
        report(sel)


# ------------------------------------------------------------------- consolidated metadata


def _is_metadata_key(key):
    return key.endswith(".zarray") or key.endswith(".zgroup") or key.endswith(".zattrs")


def consolidate_metadata(store, metadata_key=".zmetadata", *, path=""):
    """Gather every metadata document of ``store`` under ``metadata_key``.

    The document is ``{"metadata": {key: document, ...}, "zarr_consolidated_format": 1}``
    in zarr 2.18's JSON layout, so both libraries read what either writes.

    Parameters
    ----------
    store : MutableMapping or str
        Store or path to a directory in the file system.
    metadata_key : str, optional
        Key to write the consolidated document to.
    path : str, optional
        Path of the group to open afterwards.

    Returns
    -------
    Group
        The group at ``path``, opened through the consolidated metadata (see
        ``open_consolidated``).
    """
    store = normalize_store_arg(store, mode="w")
    documents = {key: json_loads(store[key]) for key in store if _is_metadata_key(key)}
    store[metadata_key] = json_dumps({"zarr_consolidated_format": 1, "metadata": documents})
    return open_consolidated(store, metadata_key=metadata_key, path=path)


def open_consolidated(store, metadata_key=".zmetadata", mode="r+", **kwargs):
    """Open a group (or array) whose metadata are read from one consolidated key.

    Parameters
    ----------
    store : MutableMapping or str
        Store or path to a directory in the file system.
    metadata_key : str, optional
        Key of the consolidated document.
    mode : {'r', 'r+'}, optional
        'r+' allows writing data; metadata can never be changed through this view.
    **kwargs
        Passed to ``open`` (``path``, ``chunk_store``, ...).

    Raises
    ------
    ValueError
        If ``mode`` is not 'r' or 'r+'.
    KeyError
        If ``metadata_key`` is missing.
    MetadataError
        If the consolidated document's format is not 1.
    """
    store = normalize_store_arg(store, storage_options=kwargs.get("storage_options"), mode=mode)
    if mode not in {"r", "r+"}:
        raise ValueError(f"invalid mode, expected either 'r' or 'r+'; found {mode!r}")
    path = kwargs.pop("path", None)
    meta_store = ConsolidatedMetadataStore(store, metadata_key=metadata_key)
    chunk_store = kwargs.pop("chunk_store", None) or store
    return open(store=meta_store, chunk_store=chunk_store, mode=mode, path=path, **kwargs)
