"""``SQLiteStore``: a Zarr v2 store kept in one SQLite database file.

Every key is one row of the table ``zarr(k TEXT PRIMARY KEY, v BLOB)``, the layout zarr 2.18's
``SQLiteStore`` uses, so a database written by either opens in the other. The connection runs
in autocommit mode (``isolation_level=None``), as 2.18's does; the batch methods wrap their
statements in one transaction, so a batch is written all at once or not at all.

``listdir``, ``getsize``, ``rmdir`` and ``rename`` run as single SQL statements. Keys under a
path are matched by comparing the key's leading characters (``substr``), not with ``LIKE``:
``LIKE`` treats ``_`` and ``%`` in a path as wildcards and ignores ASCII case, so it would
match keys outside the path.

Callers guarantee nothing beyond ``str`` keys. One connection is shared by every thread
(``check_same_thread=False`` where SQLite allows it, as 2.18 decides) and every statement
runs under the store's lock, so the store is safe to use from several threads.

Refused: a write to a read-only database (a read-only file, or ``uri=True`` with
``mode=ro``) raises ``zarr_fast.errors.ReadOnlyError``. Any other SQLite failure (a locked
database, a file that is not a database, a closed store) is re-raised as the same
``sqlite3`` exception class with the store path and the key in its message, never as
``KeyError``, which means only "absent".
"""
from __future__ import annotations

import os
import pickle
import sqlite3
import threading
from typing import Any, Dict, Iterable, List, Mapping, Optional

from numcodecs.compat import ensure_contiguous_ndarray_like

from zarr_fast.errors import ReadOnlyError
from zarr_fast.storage.base import Store, normalize_storage_path
from zarr_fast.storage.dbm import open_error_named

__all__ = ["SQLiteStore"]

# Host parameters per statement: SQLite builds before 3.32 allow at most 999.
_MAX_PARAMS = 900


def _blob(value):
    """``value`` as a flat byte buffer SQLite binds as a BLOB (no copy when already contiguous)."""
    if isinstance(value, bytes):
        return value
    return memoryview(ensure_contiguous_ndarray_like(value)).cast("B")


def _prefix(path: str) -> str:
    # '' is the root; any other normalised path names the keys under 'path/'
    return path + "/" if path else ""


def _is_read_only_error(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith("SQLITE_READONLY") or "readonly database" in str(exc)


class SQLiteStore(Store):
    """Storage class using SQLite.

    Parameters
    ----------
    path : str
        Location of the database file, ``":memory:"`` for a private in-memory database, or a
        ``file:`` URI when ``uri=True`` is passed (for example ``"file:data.db?mode=ro"``).
    dimension_separator : {'.', '/'}, optional
        Separator placed between the dimensions of a chunk.
    **kwargs
        Keyword arguments passed to :func:`sqlite3.connect` (``timeout``, ``uri``, ...).

    Raises
    ------
    sqlite3.Error
        If the database cannot be opened or the table cannot be created, with the path in
        the message.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "example.sqldb")
    >>> with SQLiteStore(path) as store:
    ...     store.setitems({"foo/0.0": b"abc", "foo/0.1": b"de"})
    ...     store.listdir("foo"), store.getsize("foo")
    (['0.0', '0.1'], 5)
    """

    def __init__(self, path, dimension_separator=None, **kwargs):
        self._dimension_separator = dimension_separator
        path = os.fspath(path)
        # a URI keeps its query (mode=ro ...); a plain file name is made absolute as in 2.18
        is_uri = bool(kwargs.get("uri")) and path.startswith("file:")
        if path != ":memory:" and not is_uri:
            path = os.path.abspath(path)
        self.path = path
        self.kwargs = kwargs
        # SQLite is thread-safe from 3.3.1 on; older builds must stay on one thread
        check_same_thread = sqlite3.sqlite_version_info < (3, 3, 1)
        # one lock for every statement: the connection and its cursor are shared by threads
        self.lock = threading.Lock()
        try:
            self.db = sqlite3.connect(self.path, detect_types=0, isolation_level=None,
                                      check_same_thread=check_same_thread, **kwargs)
        except sqlite3.Error as exc:
            raise open_error_named(exc, f"SQLiteStore could not open {self.path!r}") from exc
        self.db.text_factory = str
        self.cursor = self.db.cursor()
        try:
            with self.lock:
                self.cursor.execute("CREATE TABLE IF NOT EXISTS zarr(k TEXT PRIMARY KEY, v BLOB)")
        except sqlite3.Error as exc:
            self.db.close()
            if _is_read_only_error(exc):
                raise ReadOnlyError(
                    f"SQLiteStore at {self.path!r} is read-only and has no zarr table") from exc
            raise open_error_named(exc, f"SQLiteStore could not open {self.path!r}") from exc

    # -- statements ----------------------------------------------------------------------

    def _fail(self, exc: sqlite3.Error, key, action) -> BaseException:
        if _is_read_only_error(exc):
            return ReadOnlyError(f"SQLiteStore at {self.path!r} is read-only; cannot {action} "
                                 f"key {key!r} ({exc})")
        return open_error_named(exc, f"SQLiteStore at {self.path!r}: {action} key {key!r} failed")

    def _query(self, sql, params=(), *, key=None, action="read"):
        """Run one statement under the lock and return all its rows."""
        try:
            with self.lock:
                return self.cursor.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc, key, action) from exc

    def _transaction(self, statements, *, key=None, action="write"):
        """Run ``(sql, params_list)`` pairs with ``executemany`` in one transaction."""
        try:
            with self.lock:
                self.cursor.execute("BEGIN")
                try:
                    for sql, params_list in statements:
                        self.cursor.executemany(sql, params_list)
                except BaseException:
                    self.cursor.execute("ROLLBACK")
                    raise
                self.cursor.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._fail(exc, key, action) from exc

    # -- pickling and life cycle ---------------------------------------------------------

    def __getstate__(self):
        if self.path == ":memory:":
            raise pickle.PicklingError("Cannot pickle in-memory SQLite databases")
        return self.path, self.kwargs, self._dimension_separator

    def __setstate__(self, state):
        path, kwargs, *rest = state
        self.__init__(path=path, dimension_separator=rest[0] if rest else None, **kwargs)

    def close(self):
        """Close the underlying database."""
        with self.lock:
            # closing twice is harmless: the connection's close is idempotent, the cursor's
            # is not once its connection has gone
            self.db.close()

    def __eq__(self, other):
        # an in-memory database is private to its connection: equal only to itself
        if self.path == ":memory:":
            return other is self
        return isinstance(other, SQLiteStore) and self.path == other.path

    # -- mapping -------------------------------------------------------------------------

    def __getitem__(self, key):
        rows = self._query("SELECT v FROM zarr WHERE k = ?", (key,), key=key)
        if not rows:
            raise KeyError(key)
        return rows[0][0]

    def __setitem__(self, key, value):
        self.setitems({key: value})

    def __delitem__(self, key):
        try:
            with self.lock:
                self.cursor.execute("DELETE FROM zarr WHERE k = ?", (key,))
                deleted = self.cursor.rowcount
        except sqlite3.Error as exc:
            raise self._fail(exc, key, "delete") from exc
        if deleted < 1:
            raise KeyError(key)

    def __contains__(self, key):
        if not isinstance(key, str):
            return False
        return bool(self._query("SELECT 1 FROM zarr WHERE k = ? LIMIT 1", (key,), key=key))

    def keys(self):
        # a snapshot: the lock is not held while the caller iterates (and maybe writes)
        return iter([k for (k,) in self._query("SELECT k FROM zarr")])

    def __iter__(self):
        return self.keys()

    def items(self):
        for key, value in self._query("SELECT k, v FROM zarr"):
            yield key, value

    def values(self):
        for (value,) in self._query("SELECT v FROM zarr"):
            yield value

    def __len__(self):
        return self._query("SELECT COUNT(*) FROM zarr")[0][0]

    def update(self, *args, **kwargs):
        """Write every pair of the given mappings (and keyword arguments) in one transaction."""
        values = {}
        for mapping in args + (kwargs,):
            values.update(mapping)
        self.setitems(values)

    # -- batch API: one query or one transaction per batch -------------------------------

    def getitems(self, keys: Iterable[str], *, contexts: Optional[Mapping] = None) -> Dict[str, Any]:
        """Read several keys with one ``SELECT ... IN`` per 900 keys; absent keys are left out."""
        if type(self).__getitem__ is not _OWN_GETITEM:
            # __getitem__ was replaced (a subclass, instrumentation): batches read through it
            return super().getitems(keys, contexts=contexts)
        keys = list(dict.fromkeys(keys))
        out = {}
        for start in range(0, len(keys), _MAX_PARAMS):
            part = keys[start:start + _MAX_PARAMS]
            marks = ",".join("?" * len(part))
            rows = self._query(f"SELECT k, v FROM zarr WHERE k IN ({marks})", part,
                               key=part[0] if len(part) == 1 else part)
            out.update(rows)
        # keep the caller's order
        return {key: out[key] for key in keys if key in out}

    def setitems(self, values: Mapping[str, Any]) -> None:
        """Write every ``key: value`` pair in one transaction."""
        if not values:
            return
        rows = [(key, _blob(value)) for key, value in values.items()]
        self._transaction([("REPLACE INTO zarr VALUES (?, ?)", rows)],
                          key=rows[0][0] if len(rows) == 1 else list(values), action="write")

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete every key in ``keys`` in one transaction; absent keys are skipped."""
        keys = list(keys)
        if keys:
            self._transaction([("DELETE FROM zarr WHERE k = ?", [(k,) for k in keys])],
                              key=keys[0] if len(keys) == 1 else keys, action="delete")

    # -- hierarchy, in SQL ----------------------------------------------------------------

    def listdir(self, path=None) -> List[str]:
        """Return the sorted names of the direct children of ``path``."""
        prefix = _prefix(normalize_storage_path(path))
        rows = self._query(
            """
            SELECT DISTINCT substr(rest, 1, instr(rest || '/', '/') - 1) AS child FROM (
                SELECT substr(k, length(?1) + 1) AS rest FROM zarr
                WHERE substr(k, 1, length(?1)) = ?1 AND length(k) > length(?1)
            ) ORDER BY child
            """,
            (prefix,), key=path, action="list",
        )
        return [child for (child,) in rows]

    def getsize(self, path=None) -> int:
        """Return the size in bytes of the value at ``path``, or the sum over its direct children."""
        path = normalize_storage_path(path)
        rows = self._query(
            """
            SELECT COALESCE(SUM(length(v)), 0) FROM zarr
            WHERE k = ?1 OR (substr(k, 1, length(?2)) = ?2
                             AND instr(substr(k, length(?2) + 1), '/') = 0)
            """,
            (path, _prefix(path)), key=path, action="measure",
        )
        return rows[0][0]

    def rmdir(self, path=None) -> None:
        """Delete every key under ``path`` (the whole table when ``path`` is empty)."""
        path = normalize_storage_path(path)
        if not path:
            self.clear()
            return
        prefix = _prefix(path)
        self._query("DELETE FROM zarr WHERE substr(k, 1, length(?1)) = ?1", (prefix,),
                    key=path, action="remove the keys under")

    def rename(self, src_path, dst_path) -> None:
        """Move ``src_path`` (a value, or every key under it) to ``dst_path`` in one transaction."""
        src = normalize_storage_path(src_path)
        dst = normalize_storage_path(dst_path)
        statements = []
        if src:
            # a single value moves too, as in the other stores
            statements.append(("REPLACE INTO zarr SELECT ?2, v FROM zarr WHERE k = ?1", [(src, dst)]))
            statements.append(("DELETE FROM zarr WHERE k = ?1 AND ?1 != ?2", [(src, dst)]))
        src_prefix, dst_prefix = _prefix(src), _prefix(dst)
        statements.append((
            # OR REPLACE: a key already at the destination is overwritten, as a move would
            "UPDATE OR REPLACE zarr SET k = ?2 || substr(k, length(?1) + 1) "
            "WHERE substr(k, 1, length(?1)) = ?1",
            [(src_prefix, dst_prefix)],
        ))
        self._transaction(statements, key=src_path, action="rename")

    def clear(self):
        """Delete every key (the table and its layout stay)."""
        self._query("DELETE FROM zarr", key="", action="clear")


# the batch path reads the backend directly only while __getitem__ is this one
_OWN_GETITEM = SQLiteStore.__getitem__
