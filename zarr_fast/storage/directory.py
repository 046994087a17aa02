"""File-system stores: ``DirectoryStore``, ``NestedDirectoryStore`` and ``TempStore``.

Each key is one file under the store's root directory, with ``/`` in a key mapping to a
sub-directory. Writes are atomic: a value goes to a temporary file in the destination
directory and is then moved into place with ``os.replace``, so a reader sees either the
old file or the new one, never a torn one, and a failed write leaves the old file intact
and no temporary file behind.

Keys are checked before the file system is touched. A key that is not a ``str``, is
empty, is absolute, carries a drive, contains a backslash or NUL, or has an empty, ``.``
or ``..`` segment is refused with ``InvalidKeyError`` (both a ``KeyError`` and a
``ValueError``), so no key can name a file outside the root. ``__contains__`` answers
False for such keys. Symbolic links already inside the root are followed, as the file
system does.

The batch methods (``getitems``, ``setitems``, ``delitems``) spread the keys over the
shared worker pool with at most ``config.get_threads()`` file operations in flight; each
key is still handled exactly as the single-key method handles it, so a batch write is a
set of atomic writes, not one atomic write. ``read_into`` reads a chunk file straight into
a caller's buffer and ``key_path`` hands compiled code the validated path of a key.
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import stat as _stat
import tempfile
import time
import uuid
from typing import List

import numpy as np
from numcodecs.compat import ensure_contiguous_ndarray_like

from zarr_fast import config
from zarr_fast.errors import FSPathExistNotDir
from zarr_fast.storage.base import (
    Store,
    array_meta_key,
    map_bounded,
    name_key,
    normalize_storage_path,
)

_NUMBER = re.compile(r"^\d+$")

# getitems' marker for "no file for this key" (None could be confused with a stored value)
_ABSENT = object()


class InvalidKeyError(KeyError, ValueError):
    """A key that cannot name a file inside the store's root directory.

    Subclasses both ``KeyError`` (what mapping callers catch) and ``ValueError`` (the key
    itself is malformed).
    """

    def __str__(self):
        # KeyError would show repr() of the message; the message already quotes the key
        return str(self.args[0]) if self.args else ""


def _key_segments(key) -> List[str]:
    # Validate a key and split it into path segments. Pure string work: runs before any
    # file-system call so a hostile key never reaches open()/makedirs()/rmtree().
    if not isinstance(key, str):
        raise InvalidKeyError(f"store keys must be str, found {type(key).__name__}: {key!r}")
    if not key:
        raise InvalidKeyError(f"store key must not be empty: {key!r}")
    if "\x00" in key:
        raise InvalidKeyError(f"store key must not contain NUL: {key!r}")
    if "\\" in key:
        raise InvalidKeyError(f"store key must not contain a backslash: {key!r}")
    if key.startswith("/") or os.path.isabs(key) or os.path.splitdrive(key)[0]:
        raise InvalidKeyError(f"store key must be relative, found absolute key {key!r}")
    segments = key.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidKeyError(
                f"store key must not have an empty, '.' or '..' segment: {key!r}"
            )
    return segments


def _replace_with_retry(src: str, dst: str, attempts: int = 10, wait: float = 0.1) -> None:
    # On Windows a virus scanner or indexer can hold the destination open for a moment;
    # retry PermissionError a few times before giving up, as zarr 2.18 does.
    for attempt in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts - 1 or os.name != "nt":
                raise
            time.sleep(wait)


class DirectoryStore(Store):
    """A store of one file per key under a directory on the local file system.

    Parameters
    ----------
    path : str or os.PathLike
        Root directory of the store; created on the first write if absent.
    normalize_keys : bool, optional
        If True, keys are lower-cased, so 'foo' and 'FOO' are the same key.
    dimension_separator : {'.', '/'}, optional
        Separator placed between the dimensions of a chunk key.

    Raises
    ------
    FSPathExistNotDir
        If ``path`` exists and is not a directory.

    Notes
    -----
    Writes are atomic (temporary file, then ``os.replace``). Files are open only while
    being read or written, so there is nothing to close. Safe to use from several
    threads or processes.

    Examples
    --------
    >>> import tempfile, os
    >>> from zarr_fast.storage import DirectoryStore
    >>> root = tempfile.mkdtemp()
    >>> store = DirectoryStore(root)
    >>> store["foo/0.0"] = b"abc"
    >>> os.listdir(os.path.join(root, "foo"))
    ['0.0']
    >>> store["foo/0.0"]
    b'abc'
    >>> store["../escape"] = b"x"
    Traceback (most recent call last):
    ...
    zarr_fast.storage.InvalidKeyError: store key must not have an empty, '.' or '..' segment: '../escape'
    """

    def __init__(self, path, normalize_keys=False, dimension_separator=None):
        path = os.path.abspath(os.fspath(path))
        if os.path.exists(path) and not os.path.isdir(path):
            raise FSPathExistNotDir(path)
        self.path = path
        self.normalize_keys = normalize_keys
        self._dimension_separator = dimension_separator

    # -- keys <-> files ----------------------------------------------------------------

    def _normalize_key(self, key):
        return key.lower() if self.normalize_keys and isinstance(key, str) else key

    def _file_path(self, key) -> str:
        return os.path.join(self.path, *_key_segments(self._normalize_key(key)))

    @staticmethod
    def _fromfile(fn):
        """Return the whole content of file ``fn`` as bytes (subclasses may override)."""
        with open(fn, "rb") as f:
            return f.read()

    @staticmethod
    def _tofile(a, fn):
        """Write buffer ``a`` to a new file ``fn`` (subclasses may override)."""
        # 'xb': the temporary name is unique, so an existing file means a logic error
        with open(fn, "xb") as f:
            f.write(a)

    # -- mapping -----------------------------------------------------------------------

    def __getitem__(self, key):
        file_path = self._file_path(key)
        try:
            return self._fromfile(file_path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            # absent, a directory (not a key), or a parent that is a file
            raise KeyError(key) from None
        except PermissionError:
            # Windows reports opening a directory as PermissionError
            if os.path.isdir(file_path):
                raise KeyError(key) from None
            raise

    def __setitem__(self, key, value):
        file_path = self._file_path(key)
        buffer = _as_writable_buffer(value)
        if os.path.isdir(file_path):
            # a key replaces a directory of the same name, as in zarr 2.18
            shutil.rmtree(file_path)
        dir_path, file_name = os.path.split(file_path)
        try:
            os.makedirs(dir_path, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            # some parent segment is a file: the key cannot be a file under it
            raise KeyError(key) from None
        # not tempfile.NamedTemporaryFile: it creates files readable by the owner only
        temp_path = os.path.join(dir_path, f"{file_name}.{uuid.uuid4().hex}.partial")
        try:
            self._tofile(buffer, temp_path)
            _replace_with_retry(temp_path, file_path)
        finally:
            # after a failed write or move, leave no temporary file behind
            if os.path.lexists(temp_path):
                os.remove(temp_path)

    def __delitem__(self, key):
        file_path = self._file_path(key)
        if os.path.isfile(file_path):
            os.remove(file_path)
        elif os.path.isdir(file_path):
            # deleting a "directory" key removes the subtree, as zarr 2.18 allows
            shutil.rmtree(file_path)
        else:
            raise KeyError(key)

    def __contains__(self, key):
        try:
            file_path = self._file_path(key)
        except InvalidKeyError:
            return False
        return os.path.isfile(file_path)

    def __eq__(self, other):
        return isinstance(other, DirectoryStore) and self.path == other.path

    def keys(self):
        if os.path.isdir(self.path):
            yield from self._walk_keys(self.path)

    @staticmethod
    def _walk_keys(root, walker=os.walk):
        for dir_path, _, file_names in walker(root):
            rel = os.path.relpath(dir_path, root)
            if rel == os.curdir:
                yield from file_names
            else:
                prefix = rel.replace(os.sep, "/") + "/"
                for name in file_names:
                    yield prefix + name

    # zarr 2.18's name for the same walk; callers may pass a stand-in for os.walk.
    _keys_fast = _walk_keys

    def __iter__(self):
        return self.keys()

    def __len__(self):
        return sum(1 for _ in self.keys())

    def __repr__(self):
        return f"{type(self).__name__}({self.path!r})"

    # -- batch API and direct file access -----------------------------------------------

    def key_path(self, key) -> str:
        """Return the absolute file path that holds ``key``.

        The key is validated exactly as ``__getitem__`` validates it (and lower-cased with
        ``normalize_keys``), so the path is always inside the store's root. Whether the file
        exists is not checked.

        Parameters
        ----------
        key : str
            A store key, e.g. ``'foo/0.0'``.

        Returns
        -------
        str
            Absolute path of the key's file.

        Raises
        ------
        InvalidKeyError
            If ``key`` cannot name a file inside the root.

        Examples
        --------
        >>> import os, tempfile
        >>> from zarr_fast.storage import DirectoryStore
        >>> root = tempfile.mkdtemp()
        >>> DirectoryStore(root).key_path("foo/0.0") == os.path.join(root, "foo", "0.0")
        True
        """
        return self._file_path(key)

    def read_into(self, key, buffer) -> int:
        """Read the file of ``key`` straight into ``buffer``; return the number of bytes read.

        The bytes go from the file into the caller's memory with no intermediate bytes
        object, so a chunk can land in its decode buffer (or, uncompressed, in the output).

        Parameters
        ----------
        key : str
            A store key.
        buffer : writable, C-contiguous buffer
            Destination; its size in bytes must equal the file's size.

        Returns
        -------
        int
            The number of bytes read, always ``len`` of ``buffer`` in bytes.

        Raises
        ------
        KeyError
            If no file holds ``key``.
        ValueError
            If the file's size differs from the size of ``buffer`` (the message names the
            key and both sizes); ``buffer`` may then hold part of the file.
        TypeError
            If ``buffer`` is read-only or not contiguous.

        Examples
        --------
        >>> import tempfile
        >>> from zarr_fast.storage import DirectoryStore
        >>> store = DirectoryStore(tempfile.mkdtemp())
        >>> store["a/0"] = b"abcd"
        >>> buf = bytearray(4)
        >>> store.read_into("a/0", buf)
        4
        >>> bytes(buf)
        b'abcd'
        """
        view = _writable_bytes(buffer)
        nbytes = view.nbytes
        if type(self)._fromfile is not DirectoryStore._fromfile:
            # a subclass that transforms file content must keep doing so here
            return _copy_value_into(key, self[key], view)
        file_path = self._file_path(key)
        try:
            fd = os.open(file_path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None
        except PermissionError:
            if os.path.isdir(file_path):
                raise KeyError(key) from None
            raise
        try:
            info = os.fstat(fd)
            is_file = _stat.S_ISREG(info.st_mode)
        except BaseException:
            os.close(fd)
            raise
        if not is_file:
            # POSIX opens directories read-only; a directory is not a key
            os.close(fd)
            raise KeyError(key)
        with open(fd, "rb", buffering=0) as f:
            if info.st_size != nbytes:
                raise ValueError(
                    f"chunk file for key {key!r} holds {info.st_size} bytes, "
                    f"but the buffer takes {nbytes}"
                )
            nread = 0
            while nread < nbytes:
                # readinto may return short counts (signals, network file systems)
                count = f.readinto(view[nread:])
                if not count:
                    break
                nread += count
        if nread != nbytes:
            raise ValueError(
                f"chunk file for key {key!r} shrank while being read: "
                f"{nread} of {nbytes} bytes read"
            )
        return nread

    def _read_or_absent(self, key):
        try:
            return self[key]
        except KeyError:
            return _ABSENT
        except Exception as exc:
            raise name_key(exc, key, "reading")

    def getitems(self, keys, *, contexts=None):
        """Read several keys at once, at most ``config.get_threads()`` files at a time.

        Parameters
        ----------
        keys : iterable of str
            Keys to read.
        contexts : mapping, optional
            Per-key hints; not needed by files, ignored.

        Returns
        -------
        dict
            The keys that have a file, mapped to its bytes; absent keys are left out.

        Raises
        ------
        Exception
            The first error reading a present key raised (naming the key); ``KeyError``
            only means "absent" and is never raised.
        """
        keys = list(keys)
        values = map_bounded(self._read_or_absent, keys, config.get_threads())
        return {key: value for key, value in zip(keys, values) if value is not _ABSENT}

    def _write_named(self, item):
        key, value = item
        try:
            self[key] = value
        except Exception as exc:
            raise name_key(exc, key, "writing")

    def setitems(self, values) -> None:
        """Write every ``key: value`` pair, at most ``config.get_threads()`` files at a time.

        Each key is written atomically (temporary file, then ``os.replace``).

        Raises
        ------
        Exception
            The first write that failed, naming its key. No new write starts after a
            failure and the writes already running finish, so on return every key holds
            either its old file or its complete new one, and no temporary file is left.
        """
        map_bounded(self._write_named, list(values.items()), config.get_threads())

    def _delete_named(self, key):
        try:
            del self[key]
        except (KeyError, FileNotFoundError):
            # absent, or removed by a concurrent delete of the same file
            pass
        except Exception as exc:
            raise name_key(exc, key, "deleting")

    def delitems(self, keys) -> None:
        """Delete every key in ``keys``, at most ``config.get_threads()`` at a time.

        Keys already absent are skipped. The first failure is raised (naming its key) after
        the deletions already running finish.
        """
        map_bounded(self._delete_named, list(keys), config.get_threads())

    # -- hierarchy ---------------------------------------------------------------------

    def dir_path(self, path=None) -> str:
        """Return the file-system directory of logical ``path`` under the root."""
        store_path = normalize_storage_path(path)
        if store_path:
            return os.path.join(self.path, *store_path.split("/"))
        return self.path

    def listdir(self, path=None) -> List[str]:
        """Return the sorted names of the direct children of ``path``.

        With ``'/'`` as dimension separator, the nested chunk files of an array are listed
        as chunk keys relative to the array (for example ``'0/1'``), as in zarr 2.18.
        """
        if self._dimension_separator == "/":
            return self._nested_listdir(path)
        return self._flat_listdir(path)

    def _flat_listdir(self, path=None) -> List[str]:
        dir_path = self.dir_path(path)
        if os.path.isdir(dir_path):
            return sorted(os.listdir(dir_path))
        return []

    def _nested_listdir(self, path=None) -> List[str]:
        children = self._flat_listdir(path)
        if array_meta_key not in children:
            return children
        root = self.dir_path(path)
        entries = []
        for name in children:
            entry_path = os.path.join(root, name)
            if _NUMBER.match(name) and os.path.isdir(entry_path):
                # numeric directories hold the nested chunk files: list them as keys
                for sub_key in self._walk_keys(entry_path):
                    entries.append(name + "/" + sub_key)
            else:
                entries.append(name)
        return sorted(entries)

    def rename(self, src_path, dst_path) -> None:
        """Move the file or directory at ``src_path`` to ``dst_path``.

        Missing parent directories of ``dst_path`` are created and emptied parents of
        ``src_path`` are pruned (``os.renames``).
        """
        os.renames(self.dir_path(src_path), self.dir_path(dst_path))

    def rmdir(self, path=None) -> None:
        """Delete the directory at ``path`` and everything under it (no-op if absent)."""
        dir_path = self.dir_path(path)
        if os.path.isdir(dir_path):
            shutil.rmtree(dir_path)

    def getsize(self, path=None) -> int:
        """Return the size in bytes of the file at ``path``, or of the files directly in it."""
        fs_path = self.dir_path(path)
        if os.path.isfile(fs_path):
            return os.path.getsize(fs_path)
        if os.path.isdir(fs_path):
            with os.scandir(fs_path) as entries:
                return sum(e.stat().st_size for e in entries if e.is_file())
        return 0

    def clear(self):
        """Delete the root directory and everything in it."""
        if os.path.isdir(self.path):
            shutil.rmtree(self.path)


def _writable_bytes(buffer) -> memoryview:
    # A flat, writable byte view of ``buffer`` sharing its memory. NumPy arrays go through
    # NumPy, which also flattens F-contiguous arrays and dtypes the buffer protocol cannot
    # export (datetime64); anything else must export a C-contiguous buffer.
    if isinstance(buffer, np.ndarray):
        if not buffer.flags.writeable:
            raise TypeError("read_into needs a writable buffer, found a read-only array")
        if not (buffer.flags.c_contiguous or buffer.flags.f_contiguous):
            raise TypeError("read_into needs a contiguous buffer, found a strided array")
        return memoryview(buffer.reshape(-1, order="A").view(np.uint8))
    view = memoryview(buffer)
    if view.readonly:
        raise TypeError(f"read_into needs a writable buffer, found a read-only {type(buffer).__name__}")
    if not view.c_contiguous:
        raise TypeError(f"read_into needs a contiguous buffer, found a strided {type(buffer).__name__}")
    return view.cast("B") if (view.ndim != 1 or view.format != "B") else view


def _copy_value_into(key, value, view) -> int:
    # read_into for stores whose files need _fromfile's transformation: one copy, same checks
    source = memoryview(_as_writable_buffer(value)).cast("B")
    if source.nbytes != view.nbytes:
        raise ValueError(
            f"chunk file for key {key!r} holds {source.nbytes} bytes, "
            f"but the buffer takes {view.nbytes}"
        )
    view[:] = source
    return source.nbytes


def _as_writable_buffer(value):
    # Return something file.write accepts without copying where possible: bytes and
    # C-contiguous buffers go through as they are; anything else is made contiguous by
    # numcodecs' public helper, which raises for layouts that cannot be flattened.
    if isinstance(value, (bytes, bytearray)):
        return value
    try:
        view = memoryview(value)
    except (TypeError, ValueError):
        # no buffer export (e.g. datetime64 or object arrays): let numcodecs view it
        view = None
    if view is not None and view.c_contiguous:
        return view.cast("B") if view.ndim != 1 or view.itemsize != 1 else view
    return ensure_contiguous_ndarray_like(value)


class NestedDirectoryStore(DirectoryStore):
    """A ``DirectoryStore`` whose chunk keys use ``'/'``, nesting chunks in directories.

    Parameters
    ----------
    path : str or os.PathLike
        Root directory of the store.
    normalize_keys : bool, optional
        If True, keys are lower-cased.
    dimension_separator : {'/'}, optional
        Must be ``'/'`` (or None, meaning ``'/'``).

    Raises
    ------
    ValueError
        If ``dimension_separator`` is not ``'/'``.
    """

    def __init__(self, path, normalize_keys=False, dimension_separator="/"):
        super().__init__(path, normalize_keys=normalize_keys)
        if dimension_separator is None:
            dimension_separator = "/"
        elif dimension_separator != "/":
            raise ValueError("NestedDirectoryStore only supports '/' as dimension_separator")
        self._dimension_separator = dimension_separator

    def __eq__(self, other):
        return isinstance(other, NestedDirectoryStore) and self.path == other.path


def _remove_tree_at_exit(path):
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)


class TempStore(DirectoryStore):
    """A ``DirectoryStore`` in a new temporary directory, removed at interpreter exit.

    Parameters
    ----------
    suffix, prefix, dir : str, optional
        Passed to ``tempfile.mkdtemp``.
    normalize_keys : bool, optional
        If True, keys are lower-cased.
    dimension_separator : {'.', '/'}, optional
        Separator placed between the dimensions of a chunk key.
    """

    def __init__(self, suffix="", prefix="zarr", dir=None, normalize_keys=False,
                 dimension_separator=None):
        path = tempfile.mkdtemp(suffix=suffix, prefix=prefix, dir=dir)
        atexit.register(_remove_tree_at_exit, path)
        # zarr 2.18 drops dimension_separator here; we honour it
        super().__init__(path, normalize_keys=normalize_keys,
                         dimension_separator=dimension_separator)
