"""``DBMStore``: a Zarr v2 store kept in one DBM-style database file (``dbm``, ``dbm.dumb``, ...).

Keys are ``str`` and are stored ASCII-encoded, values are stored as bytes, exactly as zarr
2.18's ``DBMStore`` lays them out, so a database written by either opens in the other (when
both use the same ``open`` function: the DBM flavours do not read each other's files).

Callers guarantee that keys are ASCII (a non-ASCII key raises ``UnicodeEncodeError``, as in
zarr 2.18) and that they call ``close()`` (or use ``with``) after writing: some DBM flavours
(``dbm.dumb``) only write their index then.

Refused: any write to a store opened with ``flag="r"`` raises ``zarr_fast.errors.ReadOnlyError``
before the database is touched. A failed read is never reported as ``KeyError`` (which means
only "absent" and would make an array read its fill value): the backend's error is re-raised
with the store path and the key in its message.

``open_error_named`` is shared with the SQLite and LMDB stores: it restates a backend error
with the store and key it concerns, keeping the exception class so callers' ``except``
clauses keep matching.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Dict, Iterable, Mapping, Optional

from numcodecs.compat import ensure_bytes

from zarr_fast.errors import ReadOnlyError
from zarr_fast.storage.base import Store, _rmdir_from_keys, normalize_storage_path

__all__ = ["DBMStore"]


def open_error_named(exc: BaseException, message: str) -> BaseException:
    """Return an exception of ``exc``'s class whose message is ``message: <original message>``.

    A built-in ``OSError`` keeps its ``errno`` and file name; a class whose constructor does not
    take a single message gets ``message`` as a note instead. The original is chained as the
    cause by the caller (``raise ... from exc``).
    """
    text = f"{message}: {exc}"
    if isinstance(exc, OSError) and type(exc).__module__ == "builtins" and exc.errno is not None:
        return type(exc)(exc.errno, f"{message}: {exc.strerror}", exc.filename)
    try:
        named = type(exc)(text)
    except Exception:  # noqa: BLE001 - constructors vary; fall back to a note
        exc.add_note(message)
        return exc
    if str(named) != text:
        # some classes format their arguments; a note keeps the original intact
        exc.add_note(message)
        return exc
    # attributes set on the instance (sqlite3's sqlite_errorcode/sqlite_errorname) carry over
    named.__dict__.update(vars(exc))
    return named


class _NoLock:
    """A do-nothing stand-in for ``threading.Lock`` (``write_lock=False``)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def _encode_key(key):
    # keys go to the database as ASCII bytes, as zarr 2.18 writes them
    return key.encode("ascii") if isinstance(key, str) else key


class DBMStore(Store):
    """Storage class using a DBM-style database.

    Parameters
    ----------
    path : str
        Location of the database file.
    flag : str, optional
        Flag passed to ``open``: ``'r'`` (read-only), ``'w'``, ``'c'`` (default: create if
        missing) or ``'n'`` (always start empty).
    mode : int, optional
        File mode used if a new file is created.
    open : callable, optional
        Function that opens the database, called as ``open(path, flag, mode, **open_kwargs)``.
        Defaults to :func:`dbm.open`.
    write_lock : bool, optional
        Serialise access from several threads with a lock (True by default).
    dimension_separator : {'.', '/'}, optional
        Separator placed between the dimensions of a chunk.
    **open_kwargs
        Keyword arguments passed to ``open``.

    Raises
    ------
    Exception
        Whatever ``open`` raised, with the database path in its message.

    Notes
    -----
    Call ``close()`` (or use the store as a context manager) when done writing: some DBM
    flavours only save their index then. With ``write_lock=True`` the store is safe to use
    from several threads.

    Examples
    --------
    >>> import dbm.dumb, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "example.db")
    >>> with DBMStore(path, open=dbm.dumb.open) as store:
    ...     store["foo/0.0"] = b"abc"
    >>> with DBMStore(path, flag="r", open=dbm.dumb.open) as store:
    ...     store["foo/0.0"], sorted(store)
    (b'abc', ['foo/0.0'])
    """

    def __init__(
        self,
        path,
        flag="c",
        mode=0o666,
        open=None,
        write_lock=True,
        dimension_separator=None,
        **open_kwargs,
    ):
        if open is None:
            import dbm

            open = dbm.open
        path = os.path.abspath(os.fspath(path))
        try:
            self.db = open(path, flag, mode, **open_kwargs)
        except Exception as exc:
            raise open_error_named(exc, f"DBMStore could not open {path!r} (flag={flag!r})") from exc
        self.path = path
        self.flag = flag
        self.mode = mode
        self.open = open
        self.write_lock = write_lock
        # Some DBM flavours (dbm.dumb, pure Python) keep an in-memory index that a concurrent
        # write can change under a read, so the lock covers reads too.
        self.write_mutex = threading.Lock() if write_lock else _NoLock()
        self.open_kwargs = open_kwargs
        self._dimension_separator = dimension_separator
        self._writeable = not flag.startswith("r")

    # -- pickling ----------------------------------------------------------------------

    def __getstate__(self):
        try:
            self.flush()  # ndbm (and dbm.dumb's index) only reach the file on sync/close
        except Exception:  # noqa: BLE001 - a closed database has nothing to flush
            pass
        return (self.path, self.flag, self.mode, self.open, self.write_lock, self.open_kwargs,
                self._dimension_separator)

    def __setstate__(self, state):
        path, flag, mode, open, write_lock, open_kwargs, *rest = state
        if flag.startswith("n"):
            flag = "c" + flag[1:]  # reopening must not truncate the database
        self.__init__(path=path, flag=flag, mode=mode, open=open, write_lock=write_lock,
                      dimension_separator=rest[0] if rest else None, **open_kwargs)

    # -- life cycle --------------------------------------------------------------------

    def close(self):
        """Close the underlying database file (this also writes out dbm.dumb's index)."""
        if hasattr(self.db, "close"):
            with self.write_mutex:
                self.db.close()

    def flush(self):
        """Write pending changes to the database file."""
        if not self._writeable:
            return
        with self.write_mutex:
            if hasattr(self.db, "sync"):
                self.db.sync()
            else:
                # ndbm has no sync: closing and reopening writes it out
                flag = "c" + self.flag[1:] if self.flag.startswith("n") else self.flag
                self.db.close()
                self.db = self.open(self.path, flag, self.mode, **self.open_kwargs)

    # -- mapping -----------------------------------------------------------------------

    def _refuse_write(self, key, action):
        if not self._writeable:
            raise ReadOnlyError(
                f"DBMStore at {self.path!r} is opened read-only (flag={self.flag!r}); "
                f"cannot {action} key {key!r}"
            )

    def _read(self, key):
        # the caller holds write_mutex
        try:
            return self.db[_encode_key(key)]
        except KeyError:
            raise KeyError(key) from None
        except UnicodeEncodeError:
            raise
        except Exception as exc:
            raise open_error_named(exc, f"DBMStore at {self.path!r}: reading key {key!r} failed") from exc

    def _write(self, key, value):
        # the caller holds write_mutex
        try:
            self.db[_encode_key(key)] = value
        except UnicodeEncodeError:
            raise
        except Exception as exc:
            raise open_error_named(exc, f"DBMStore at {self.path!r}: writing key {key!r} failed") from exc

    def __getitem__(self, key):
        with self.write_mutex:
            return self._read(key)

    def __setitem__(self, key, value):
        self._refuse_write(key, "write")
        value = ensure_bytes(value)
        with self.write_mutex:
            self._write(key, value)

    def __delitem__(self, key):
        self._refuse_write(key, "delete")
        with self.write_mutex:
            try:
                del self.db[_encode_key(key)]
            except KeyError:
                raise KeyError(key) from None
            except UnicodeEncodeError:
                raise
            except Exception as exc:
                raise open_error_named(
                    exc, f"DBMStore at {self.path!r}: deleting key {key!r} failed") from exc

    def __contains__(self, key):
        try:
            encoded = _encode_key(key)
        except UnicodeEncodeError:
            return False  # no ASCII-only database can hold it
        with self.write_mutex:
            return encoded in self.db

    def __eq__(self, other):
        # flag and mode may differ: the same file opened the same way is the same store
        return (
            isinstance(other, DBMStore)
            and self.path == other.path
            and self.open == other.open
            and self.open_kwargs == other.open_kwargs
        )

    def keys(self):
        with self.write_mutex:
            # a snapshot, so callers may write while iterating
            keys = list(self.db.keys())
        return iter([k.decode("ascii") if isinstance(k, bytes) else k for k in keys])

    def __iter__(self):
        return self.keys()

    def __len__(self):
        with self.write_mutex:
            return len(self.db)

    # -- batch API: one lock hold for the whole batch ----------------------------------

    def getitems(self, keys: Iterable[str], *, contexts: Optional[Mapping] = None) -> Dict[str, Any]:
        """Read several keys under one hold of the lock; absent keys are left out."""
        if type(self).__getitem__ is not _OWN_GETITEM:
            # __getitem__ was replaced (a subclass, instrumentation): batches read through it
            return super().getitems(keys, contexts=contexts)
        out = {}
        with self.write_mutex:
            for key in keys:
                try:
                    out[key] = self._read(key)
                except KeyError:
                    pass
        return out

    def setitems(self, values: Mapping[str, Any]) -> None:
        """Write every ``key: value`` pair under one hold of the lock."""
        for key in values:
            self._refuse_write(key, "write")
        encoded = {key: ensure_bytes(value) for key, value in values.items()}
        with self.write_mutex:
            for key, value in encoded.items():
                self._write(key, value)

    # -- hierarchy ---------------------------------------------------------------------

    def rmdir(self, path: str = "") -> None:
        """Delete every key under ``path`` (the whole database when ``path`` is empty)."""
        self._refuse_write(path, "remove the keys under")
        _rmdir_from_keys(self, normalize_storage_path(path))

    def clear(self):
        """Delete every key."""
        self.rmdir("")


# the batch path reads the backend directly only while __getitem__ is this one
_OWN_GETITEM = DBMStore.__getitem__
