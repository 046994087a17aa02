"""``LMDBStore``: a Zarr v2 store kept in an LMDB environment (a directory holding one database).

Keys are stored ASCII-encoded and values as raw bytes in the environment's main database,
the layout zarr 2.18's ``LMDBStore`` uses, so an environment written by either opens in the
other. The ``lmdb`` package is optional (``pip install zarr-fast[lmdb]``); this module imports
without it and the store's constructor says what to install.

Values returned are always ``bytes`` owned by the caller. With ``buffers=True`` LMDB hands out
views into its memory map that are valid only until their transaction ends (later writes may
reuse those pages), so the store copies each value out while the transaction is still open;
zarr 2.18 returned the view itself, which could change under the caller.

Batches are real batches: ``getitems`` reads every key in one read transaction, and
``setitems``, ``delitems``, ``rmdir`` and ``rename`` each commit one write transaction, so they
are applied all at once or not at all. ``listdir`` and ``rmdir`` scan only the sorted key range
under their path.

Refused: writes to a store opened with ``readonly=True`` raise
``zarr_fast.errors.ReadOnlyError`` before LMDB is touched. Any LMDB failure (lock or reader
table trouble, a full map, a closed environment, a corrupt file) is re-raised as the same
``lmdb`` exception class with the store path and the key in its message, never as
``KeyError``, which means only "absent".
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Any, Dict, Iterable, List, Mapping, Optional

from numcodecs.compat import ensure_contiguous_ndarray_like

from zarr_fast.errors import ReadOnlyError
from zarr_fast.storage.base import Store, _path_to_prefix, normalize_storage_path
from zarr_fast.storage.dbm import open_error_named

__all__ = ["LMDBStore"]


def _import_lmdb():
    try:
        import lmdb
    except ImportError as exc:
        raise ImportError(
            "LMDBStore requires the 'lmdb' package, which is not installed; "
            "install it with: pip install zarr-fast[lmdb]"
        ) from exc
    return lmdb


def _encode_key(key):
    return key.encode("ascii") if isinstance(key, str) else key


def _decode_key(key) -> str:
    return bytes(key).decode("ascii")


def _batch_label(keys):
    """How an error message names a batch: its one key, or the list of its keys."""
    return keys[0] if len(keys) == 1 else keys


def _value_buffer(value):
    """``value`` as something ``txn.put`` accepts, without copying contiguous buffers."""
    if isinstance(value, bytes):
        return value
    return memoryview(ensure_contiguous_ndarray_like(value)).cast("B")


class LMDBStore(Store):
    """Storage class using LMDB. Requires the `lmdb <https://lmdb.readthedocs.io/>`_ package.

    Parameters
    ----------
    path : str
        Location of the database (a directory, created if missing unless ``readonly``).
    buffers : bool, optional
        If True (default), read through LMDB's zero-copy views; values are still copied out
        before their transaction ends, so what the caller gets never changes under it.
    dimension_separator : {'.', '/'}, optional
        Separator placed between the dimensions of a chunk.
    **kwargs
        Keyword arguments passed to ``lmdb.open`` (``map_size``, ``readonly``, ``lock``,
        ``max_readers``, ...). Defaults as in zarr 2.18: a 1 TiB map (256 MiB on 32-bit),
        ``meminit=False``, ``writemap`` on Linux, no syncing on every commit
        (``metasync=False, sync=False, map_async=False``), ``max_spare_txns`` = CPU count.

    Raises
    ------
    ImportError
        If the ``lmdb`` package is not installed.
    lmdb.Error
        If the environment cannot be opened, with the path in the message.

    Notes
    -----
    Commits are not synced to disk by default: call ``flush()`` or ``close()`` (or use the
    store as a context manager) to make them durable.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "example.lmdb")
    >>> with LMDBStore(path) as store:
    ...     store.setitems({"foo/0.0": b"abc", "foo/0.1": b"de"})
    ...     store.listdir("foo"), store["foo/0.1"]
    (['0.0', '0.1'], b'de')
    """

    def __init__(self, path, buffers=True, dimension_separator=None, **kwargs):
        lmdb = _import_lmdb()
        # a map far larger than lmdb's 10 MiB default, which no real array fits in; the file
        # is sparse, so the size costs nothing up front (the defaults follow zarr 2.18/zict)
        kwargs.setdefault("map_size", 2**40 if sys.maxsize >= 2**32 else 2**28)
        kwargs.setdefault("meminit", False)
        # writemap needs sparse files, or the whole map is reserved on disk
        kwargs.setdefault("writemap", sys.platform.startswith("linux"))
        # syncing on every commit costs a lot; flush()/close() sync instead
        kwargs.setdefault("metasync", False)
        kwargs.setdefault("sync", False)
        kwargs.setdefault("map_async", False)
        kwargs.setdefault("max_spare_txns", multiprocessing.cpu_count())
        path = os.path.abspath(os.fspath(path))
        try:
            self.db = lmdb.open(path, **kwargs)
        except lmdb.Error as exc:
            raise open_error_named(exc, f"LMDBStore could not open {path!r}") from exc
        self._lmdb = lmdb
        self.buffers = buffers
        self.path = path
        self.kwargs = kwargs
        self._dimension_separator = dimension_separator
        self._writeable = not kwargs.get("readonly", False)

    # -- errors ----------------------------------------------------------------------------

    def _fail(self, exc: BaseException, key, action) -> BaseException:
        if isinstance(exc, self._lmdb.ReadonlyError):
            return ReadOnlyError(f"LMDBStore at {self.path!r} is read-only; cannot {action} "
                                 f"key {key!r} ({exc})")
        return open_error_named(exc, f"LMDBStore at {self.path!r}: {action} key {key!r} failed")

    def _refuse_write(self, key, action):
        if not self._writeable:
            raise ReadOnlyError(f"LMDBStore at {self.path!r} is opened read-only "
                                f"(readonly=True); cannot {action} key {key!r}")

    # -- pickling and life cycle -----------------------------------------------------------

    def __getstate__(self):
        try:
            self.flush()  # the reopened store must see every commit
        except Exception:  # noqa: BLE001 - a closed environment has nothing to flush
            pass
        return self.path, self.buffers, self.kwargs, self._dimension_separator

    def __setstate__(self, state):
        path, buffers, kwargs, *rest = state
        self.__init__(path=path, buffers=buffers, dimension_separator=rest[0] if rest else None,
                      **kwargs)

    def close(self):
        """Close the underlying environment (pending commits are synced first)."""
        self.db.close()

    def flush(self):
        """Sync committed data to the file system."""
        if self._writeable:
            self.db.sync()

    def __eq__(self, other):
        return isinstance(other, LMDBStore) and self.path == other.path

    # -- mapping ---------------------------------------------------------------------------

    def __getitem__(self, key):
        encoded = _encode_key(key)
        try:
            with self.db.begin(buffers=self.buffers) as txn:
                value = txn.get(encoded)
                if value is not None:
                    # copy out while the transaction still pins the pages
                    value = bytes(value)
        except self._lmdb.Error as exc:
            raise self._fail(exc, key, "read") from exc
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        self.setitems({key: value})

    def __delitem__(self, key):
        self._refuse_write(key, "delete")
        encoded = _encode_key(key)
        try:
            with self.db.begin(write=True) as txn:
                deleted = txn.delete(encoded)
        except self._lmdb.Error as exc:
            raise self._fail(exc, key, "delete") from exc
        if not deleted:
            raise KeyError(key)

    def __contains__(self, key):
        try:
            encoded = _encode_key(key)
        except (UnicodeEncodeError, AttributeError):
            return False
        try:
            with self.db.begin(buffers=True) as txn:
                return txn.get(encoded) is not None
        except self._lmdb.Error as exc:
            raise self._fail(exc, key, "look up") from exc

    def _scan(self, prefix: bytes, *, values: bool):
        """``[(key, value)]`` (or ``[key]``) for every key starting with ``prefix``, in key order."""
        out = []
        try:
            with self.db.begin(buffers=self.buffers) as txn, txn.cursor() as cursor:
                if not cursor.set_range(prefix):
                    return out
                # iternext yields (key, value) pairs, or bare keys when values=False
                for item in cursor.iternext(keys=True, values=values):
                    k = bytes(item[0] if values else item)
                    if not k.startswith(prefix):
                        break  # keys are sorted: the range under the prefix is over
                    out.append((k, bytes(item[1])) if values else k)
        except self._lmdb.Error as exc:
            raise self._fail(exc, prefix.decode("ascii"), "list") from exc
        return out

    def keys(self):
        # a snapshot, so no read transaction stays open while the caller iterates or writes
        return iter([_decode_key(k) for k in self._scan(b"", values=False)])

    def __iter__(self):
        return self.keys()

    def items(self):
        for key in self.keys():
            try:
                yield key, self[key]
            except KeyError:
                continue  # deleted since the snapshot

    def values(self):
        for _, value in self.items():
            yield value

    def __len__(self):
        try:
            return self.db.stat()["entries"]
        except self._lmdb.Error as exc:
            raise self._fail(exc, "", "count") from exc

    # -- batch API: one transaction per batch ----------------------------------------------

    def getitems(self, keys: Iterable[str], *, contexts: Optional[Mapping] = None) -> Dict[str, Any]:
        """Read several keys in one read transaction; absent keys are left out."""
        if type(self).__getitem__ is not _OWN_GETITEM:
            # __getitem__ was replaced (a subclass, instrumentation): batches read through it
            return super().getitems(keys, contexts=contexts)
        keys = list(keys)
        out = {}
        # until the loop runs (or after it: the commit) a failure concerns the whole batch
        failed = _batch_label(keys)
        try:
            with self.db.begin(buffers=self.buffers) as txn:
                for failed in keys:
                    value = txn.get(_encode_key(failed))
                    if value is not None:
                        out[failed] = bytes(value)
                failed = _batch_label(keys)
        except self._lmdb.Error as exc:
            raise self._fail(exc, failed, "read") from exc
        return out

    def setitems(self, values: Mapping[str, Any]) -> None:
        """Write every ``key: value`` pair in one write transaction."""
        if not values:
            return
        for key in values:
            self._refuse_write(key, "write")
        items = [(key, _encode_key(key), _value_buffer(value)) for key, value in values.items()]
        failed = _batch_label(list(values))
        try:
            with self.db.begin(write=True) as txn:
                for failed, encoded, value in items:
                    txn.put(encoded, value)
                failed = _batch_label(list(values))
        except self._lmdb.Error as exc:
            raise self._fail(exc, failed, "write") from exc

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete every key in ``keys`` in one write transaction; absent keys are skipped."""
        keys = list(keys)
        if not keys:
            return
        self._refuse_write(keys[0], "delete")
        failed = _batch_label(keys)
        try:
            with self.db.begin(write=True) as txn:
                for failed in keys:
                    txn.delete(_encode_key(failed))
                failed = _batch_label(keys)
        except self._lmdb.Error as exc:
            raise self._fail(exc, failed, "delete") from exc

    # -- hierarchy: sorted key ranges ------------------------------------------------------

    def listdir(self, path=None) -> List[str]:
        """Return the sorted names of the direct children of ``path``."""
        prefix = _path_to_prefix(normalize_storage_path(path)).encode("ascii")
        children = set()
        for k in self._scan(prefix, values=False):
            rest = k[len(prefix):]
            if rest:
                children.add(rest.split(b"/", 1)[0].decode("ascii"))
        return sorted(children)

    def rmdir(self, path=None) -> None:
        """Delete every key under ``path`` (everything when ``path`` is empty), in one transaction."""
        path = normalize_storage_path(path)
        self._refuse_write(path, "remove the keys under")
        prefix = _path_to_prefix(path).encode("ascii")
        try:
            with self.db.begin(write=True) as txn, txn.cursor() as cursor:
                if cursor.set_range(prefix):
                    # delete() moves the cursor to the next key, so no explicit step
                    while bytes(cursor.key()).startswith(prefix):
                        if not cursor.delete():
                            break
                        if not cursor.key():
                            break  # deleted the last key of the database
        except self._lmdb.Error as exc:
            raise self._fail(exc, path, "remove the keys under") from exc

    def rename(self, src_path, dst_path) -> None:
        """Move ``src_path`` (a value, or every key under it) to ``dst_path`` in one transaction."""
        src = normalize_storage_path(src_path)
        dst = normalize_storage_path(dst_path)
        self._refuse_write(src, "rename")
        src_prefix = _path_to_prefix(src).encode("ascii")
        dst_prefix = _path_to_prefix(dst).encode("ascii")
        try:
            # the scan runs inside the write transaction, so the move is all or nothing
            with self.db.begin(write=True, buffers=False) as txn:
                if src:
                    # a single value moves too, as in the other stores
                    value = txn.get(src.encode("ascii"))
                    if value is not None:
                        txn.delete(src.encode("ascii"))
                        txn.put(dst.encode("ascii"), value)
                moves = []
                with txn.cursor() as cursor:
                    if cursor.set_range(src_prefix):
                        for old, value in cursor.iternext(keys=True, values=True):
                            if not old.startswith(src_prefix):
                                break  # keys are sorted: the range under the prefix is over
                            moves.append((old, dst_prefix + old[len(src_prefix):], value))
                for old, _, _ in moves:
                    txn.delete(old)
                for _, new, value in moves:
                    txn.put(new, value)
        except self._lmdb.Error as exc:
            raise self._fail(exc, src_path, "rename") from exc

    def clear(self):
        """Delete every key, in one transaction."""
        self.rmdir("")


# the batch path reads the backend directly only while __getitem__ is this one
_OWN_GETITEM = LMDBStore.__getitem__
