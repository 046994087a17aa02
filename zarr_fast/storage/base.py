"""Store base classes and the key-walking fallbacks shared by every Zarr v2 store.

``BaseStore`` is a ``MutableMapping`` from ``str`` keys to bytes-like values, plus the
capability flags, context-manager protocol and the batch API (``getitems``, ``setitems``,
``delitems``) that ``core.Array`` calls once per selection. ``Store`` adds the
hierarchy operations (``listdir``, ``rmdir``, ``rename``, ``getsize``) implemented by
walking keys; concrete stores override them when they can do better.

Callers guarantee that paths handed to the ``*_from_keys`` helpers are already
normalised (``zarr_fast.util.normalize_storage_path``); the public methods normalise
themselves. Only the v2 layout is handled here: a store whose ``_store_version`` is not
2 is refused by ``BaseStore._ensure_store``.

``map_bounded`` runs a per-key function for a batch with at most the thread budget
(``zarr_fast.config``) in flight; stores whose per-key work releases the GIL (files,
sockets) build their parallel batch methods on it. The batch methods here stay serial:
a plain mapping gains nothing from threads.
"""
from __future__ import annotations

import threading
from collections.abc import MutableMapping
from typing import Any, Dict, Iterable, List, Mapping, Optional


from zarr_fast import config
from zarr_fast.meta.v2 import Metadata2

# re-exported for the sibling modules; the rules live in util only
from zarr_fast.util import buffer_size, normalize_storage_path  # noqa: F401

# v2 metadata document keys, spelled as in zarr 2.x.
array_meta_key = ".zarray"
group_meta_key = ".zgroup"
attrs_key = ".zattrs"


def name_key(exc: BaseException, key: str, action: str) -> BaseException:
    """Return ``exc`` with ``key`` in its message, so a batch failure says which key failed.

    A built-in ``OSError`` is rebuilt as the same class with the same ``errno`` (callers that test
    ``errno`` or the class keep working) and the original chained as its cause; other
    exceptions, whose constructors vary, get a note (shown in the traceback) instead.
    """
    if repr(key) in str(exc):
        return exc
    if isinstance(exc, OSError) and exc.errno is not None and type(exc).__module__ == "builtins":
        named = type(exc)(exc.errno, f"{exc.strerror} while {action} key {key!r}", exc.filename)
        named.__cause__ = exc
        return named
    exc.add_note(f"while {action} key {key!r}")
    return exc


def map_bounded(func, items, nthreads: int) -> list:
    """Return ``[func(item) for item in items]``, running at most ``nthreads`` calls at once.

    The calling thread works too, alongside at most ``nthreads - 1`` tasks on the shared pool
    (``config.get_pool``); one item or a budget of 1 runs inline with no pool at all. Workers
    take the next item from a shared cursor, so uneven items balance themselves.

    Raises
    ------
    BaseException
        The first exception any call raised. Once a call has failed no new call starts; calls
        already running finish before this returns, so nothing runs behind the caller's back.
    """
    items = list(items)
    nworkers = min(nthreads, len(items))
    if nworkers <= 1:
        return [func(item) for item in items]
    results = [None] * len(items)
    lock = threading.Lock()
    cursor = 0
    failures = []

    def drain():
        nonlocal cursor
        while True:
            with lock:
                if failures or cursor >= len(items):
                    return
                index = cursor
                cursor += 1
            try:
                results[index] = func(items[index])
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                with lock:
                    failures.append(exc)
                return

    pool = config.get_pool(nworkers - 1)
    futures = []
    for _ in range(nworkers - 1):
        try:
            futures.append(pool.submit(drain))
        except RuntimeError:
            # the pool was replaced (budget grown elsewhere) or the interpreter is exiting:
            # the caller drains the rest alone
            break
    try:
        drain()
    finally:
        for future in futures:
            # A task still queued (the pool busy with other work, possibly work waiting on
            # us) is cancelled rather than awaited, so a batch started from inside a pool
            # task cannot deadlock; the cursor is exhausted, so it had nothing left to do.
            if not future.cancel():
                future.result()
    if failures:
        raise failures[0]
    return results


def _path_to_prefix(path: Optional[str]) -> str:
    # '' means the root; any other normalised path becomes 'path/'
    return path + "/" if path else ""


def _listdir_from_keys(store: Mapping, path: Optional[str] = None) -> List[str]:
    prefix = _path_to_prefix(path)
    children = set()
    for key in list(store.keys()):
        if key.startswith(prefix) and len(key) > len(prefix):
            children.add(key[len(prefix):].split("/", 1)[0])
    return sorted(children)


def _rmdir_from_keys(store: MutableMapping, path: Optional[str] = None) -> None:
    prefix = _path_to_prefix(path)
    # materialise the key list first: deleting while iterating a live view is undefined
    for key in [k for k in store.keys() if k.startswith(prefix)]:
        del store[key]


def _rename_from_keys(store: MutableMapping, src_path: str, dst_path: str) -> None:
    src_prefix = _path_to_prefix(src_path)
    dst_prefix = _path_to_prefix(dst_path)
    if src_path and src_path in store:
        # a single value moves too, as MemoryStore and DirectoryStore allow
        store[dst_path] = store.pop(src_path)
    for key in [k for k in store.keys() if k.startswith(src_prefix)]:
        # slice off the prefix; zarr 2.18 uses str.lstrip here, which strips a character
        # set and so mangles keys such as 'foo/ofo' -- we keep the suffix intact
        store[dst_prefix + key[len(src_prefix):]] = store.pop(key)


def _getsize_from_keys(store: Mapping, path: Optional[str] = None) -> int:
    # a key names one value; a path names the direct children of a "directory"
    if path and path in store:
        return buffer_size(store[path])
    path = path or ""
    if hasattr(store, "listdir"):
        members = store.listdir(path)
    else:
        members = _listdir_from_keys(store, path)
    prefix = _path_to_prefix(path)
    size = 0
    for member in members:
        try:
            value = store[prefix + member]
        except KeyError:
            # a child "directory", not a value
            continue
        try:
            size += buffer_size(value)
        except TypeError:
            # zarr 2.18 reports -1 when some value has no byte size
            return -1
    return size


class BaseStore(MutableMapping):
    """Abstract base class of every zarr_fast store.

    A ``MutableMapping`` from ``str`` keys to bytes-like values that also says whether it
    is readable, writeable, listable and erasable, can be used as a context manager
    (closing on the last exit), and offers a batch API used by ``Array`` for chunk I/O.

    Examples
    --------
    >>> from zarr_fast.storage import KVStore
    >>> store = KVStore(dict())
    >>> store.setitems({"a": b"1", "b": b"2"})
    >>> store.getitems(["a", "b", "missing"])
    {'a': b'1', 'b': b'2'}
    """

    _readable = True
    _writeable = True
    _erasable = True
    _listable = True
    _store_version = 2
    _metadata_class = Metadata2  # as zarr 2.18's stores: decode/encode the v2 documents

    def is_readable(self) -> bool:
        """Return True if values can be read."""
        return self._readable

    def is_writeable(self) -> bool:
        """Return True if values can be written."""
        return self._writeable

    def is_listable(self) -> bool:
        """Return True if keys can be listed."""
        return self._listable

    def is_erasable(self) -> bool:
        """Return True if values can be deleted."""
        return self._erasable

    def __enter__(self):
        # nested ``with`` blocks share one store: close only when the outermost exits
        self._open_count = getattr(self, "_open_count", 0) + 1
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self._open_count -= 1
        if self._open_count == 0:
            self.close()

    def close(self) -> None:
        """Release resources held by the store (nothing by default)."""

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move every key under ``src_path`` to the same suffix under ``dst_path``."""
        if not self.is_erasable():
            raise NotImplementedError(f'{type(self)} is not erasable, cannot call "rename"')
        _rename_from_keys(self, normalize_storage_path(src_path), normalize_storage_path(dst_path))

    @staticmethod
    def _ensure_store(store: Any) -> "BaseStore":
        """Return ``store`` as a v2 ``BaseStore``, wrapping plain mappings in ``KVStore``.

        Raises
        ------
        ValueError
            If ``store`` is a store of another format version, or is not mapping-like.
        """
        from zarr_fast.storage.memory import KVStore

        if isinstance(store, BaseStore):
            if store._store_version != 2:
                raise ValueError(
                    f"cannot initialize a v2 store with a v{store._store_version} store"
                )
            return store
        if isinstance(store, MutableMapping):
            return KVStore(store)
        required = ("keys", "values", "get", "__setitem__", "__getitem__", "__delitem__",
                    "__contains__")
        if all(hasattr(store, name) for name in required):
            return KVStore(store)
        raise ValueError(
            "Starting with Zarr 2.11.0, stores must be subclasses of "
            "BaseStore, if your store exposes the MutableMapping interface "
            f"wrap it in Zarr.storage.KVStore. Got {store}"
        )

    # -- batch API ---------------------------------------------------------------------

    def getitems(self, keys: Iterable[str], *, contexts: Optional[Mapping] = None) -> Dict[str, Any]:
        """Read several keys at once.

        Parameters
        ----------
        keys : iterable of str
            Keys to read.
        contexts : mapping, optional
            Per-key hints for stores that use them; ignored here.

        Returns
        -------
        dict
            The keys that are present, mapped to their values. Absent keys are left out.

        Raises
        ------
        Exception
            Whatever reading a present key raised (only ``KeyError`` means "absent", so a
            value that exists but cannot be read is never silently dropped).
        """
        out = {}
        for key in keys:
            try:
                out[key] = self[key]
            except KeyError:
                pass
        return out

    def setitems(self, values: Mapping[str, Any]) -> None:
        """Write every ``key: value`` pair of ``values``."""
        for key, value in values.items():
            self[key] = value

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete every key in ``keys``; keys already absent are skipped.

        Skipping absent keys lets an array drop chunks equal to the fill value without first
        asking whether they were ever written.
        """
        for key in keys:
            try:
                del self[key]
            except KeyError:
                pass


class Store(BaseStore):
    """A ``BaseStore`` with hierarchy operations (``listdir``, ``rmdir``, ``getsize``).

    The implementations here walk every key; subclasses that know their layout override
    them.
    """

    def listdir(self, path: Optional[str] = None) -> List[str]:
        """Return the sorted names of the direct children of ``path``."""
        return _listdir_from_keys(self, normalize_storage_path(path))

    def rmdir(self, path: Optional[str] = None) -> None:
        """Delete every key under ``path`` (the whole store when ``path`` is empty)."""
        if not self.is_erasable():
            raise NotImplementedError(f'{type(self)} is not erasable, cannot call "rmdir"')
        _rmdir_from_keys(self, normalize_storage_path(path))

    def getsize(self, path: Optional[str] = None) -> int:
        """Return the size in bytes of the value at ``path``, or of its direct children.

        Returns -1 when some value has no byte size, as zarr 2.18 does.
        """
        return _getsize_from_keys(self, normalize_storage_path(path))
