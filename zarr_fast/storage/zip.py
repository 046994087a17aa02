"""``ZipStore``: a Zarr v2 store kept in a single zip archive, as zarr 2.18's ``ZipStore``.

Each key is one member of the archive. The constructor, modes (``'r'``, ``'w'``, ``'a'``,
``'x'``), ``close``/``flush``, pickling and ``__eq__`` behave as in zarr 2.18.7, with one
deliberate difference: rewriting or deleting a key never leaves a second member of the same
name behind (zarr 2.18 appends a duplicate with a ``UserWarning``, and other zip readers
reject or misread such archives).

How that is done -- a journal, then a commit:

* The archive on disk (the *committed* archive) is only ever read between commits, through
  a ``zipfile.ZipFile`` opened in mode ``'r'``.
* Every write goes to a *journal*: an anonymous temporary file next to the archive that
  holds the raw (uncompressed) values appended one after another, indexed by key. A key
  written again appends again and the index moves on; the journal is scratch space, so
  dead bytes in it do not matter. A write or delete of a key the committed archive holds
  marks that member *stale*; reads never see a stale member.
* ``flush()`` (also run by ``close()`` and by pickling) commits. Normally the live members
  and the journal are written to a temporary file in the archive's directory, which is
  fsync'ed and moved over the archive with ``os.replace``: readers see the old archive or
  the new one, never a mix, and a failed commit leaves the old archive untouched. Only when
  no committed member went stale and the archive on disk is larger than the new data is the
  journal appended to the archive in place (what any zip writer does), so that adding a
  little to a big archive does not copy it all. An archive that
  already held duplicate names (written by zarr 2.18) is rewritten the same way at its
  first commit with changes, keeping only the member zip readers resolve each name to
  (the last one).

A store that is never closed commits when it is garbage collected or, at the latest, when
the interpreter exits (an ``atexit`` hook), as zarr 2.18's does through ``zipfile``'s own
finalizer; ``close()`` remains the way to know the data is on disk.

So after every ``flush``/``close`` the file is a valid zip holding each key once; a crash
loses the writes since the last commit (as zarr 2.18 loses everything before ``close``),
and only an interrupted in-place append can damage the file, as with any zip writer. The
usual session -- create with mode 'w', write, close -- always commits by replacement.

Other differences from zarr 2.18.7, all on purpose: ``__delitem__``, ``pop``, ``rmdir``
and ``rename`` work (so ``is_erasable()`` is True unless the mode is 'r'); using the store
after ``close()`` reopens the committed archive instead of raising ``ValueError``; zarr's
mode names 'r+' and 'w-' are accepted; a pickle keeps ``dimension_separator``.

Callers guarantee that only one store object (one process) writes to a given archive at a
time; several readers are fine. Refused: writes, deletes and ``clear`` in mode 'r'
(``ReadOnlyError``), and keys containing NUL (``ValueError``). A file that is not a zip
archive, or a member whose bytes are corrupt (bad CRC, truncated), raises
``zipfile.BadZipFile`` naming the archive and the key -- never ``KeyError``, which only
ever means "no such key".
"""
from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
import time
import zipfile
import weakref
import zlib
from threading import RLock
from typing import Dict, List, Optional, Tuple

from numcodecs.compat import ensure_contiguous_ndarray_like

from zarr_fast.errors import ReadOnlyError
from zarr_fast.storage.base import (
    Store,
    _listdir_from_keys,
    _path_to_prefix,
    normalize_storage_path,
)

_MODES = ("r", "w", "a", "x")
# copy members between archives in pieces this size, so a rewrite never holds a whole member
_COPY_NBYTES = 1 << 20


# stores that may hold uncommitted writes; committed at exit if their owner never closed them
# (by id: ZipStore defines __eq__ and so is unhashable, which rules out a WeakSet)
_OPEN_WRITERS: "Dict[int, weakref.ref]" = {}


@atexit.register
def _close_open_writers() -> None:
    # runs before module teardown, so zipfile and tempfile still work
    for ref in list(_OPEN_WRITERS.values()):
        store = ref()
        if store is not None:
            store.close()


def _member_info(key: str, date_time, compress_type: int) -> zipfile.ZipInfo:
    # Build the member header ourselves: writestr(name, ...) would give 0o600 permissions,
    # which zarr 2.18 works around in the same way (0o644 files, 0o40775 directories).
    info = zipfile.ZipInfo(filename=key, date_time=date_time)
    info.compress_type = compress_type
    if key.endswith("/"):
        info.external_attr = (0o40775 << 16) | 0x10  # drwxrwxr-x plus the MS-DOS directory flag
    else:
        info.external_attr = 0o644 << 16
    return info


def _default_file_mode() -> int:
    # what open() would give a new file: 0o666 less the process umask
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class ZipStore(Store):
    """A store kept in one zip archive on the local file system.

    Parameters
    ----------
    path : str or os.PathLike
        Location of the zip file.
    compression : int, optional
        Compression of the members written (``zipfile.ZIP_STORED``, ``ZIP_DEFLATED``, ...).
    allowZip64 : bool, optional
        If True (the default), use the ZIP64 extensions when the archive or a member needs
        them; if False, such a write raises ``zipfile.LargeZipFile``.
    mode : {'a', 'r', 'w', 'x', 'r+', 'w-'}, optional
        'r' reads an existing archive, 'w' truncates or creates, 'a' (the default) reads
        and extends an existing archive or creates one, 'x' creates a new archive and fails
        if the file exists. zarr's 'r+' (an existing archive, read and write) is taken as
        'a' and 'w-' as 'x'.
    dimension_separator : {'.', '/'}, optional
        Separator placed between the dimensions of a chunk key.

    Raises
    ------
    zipfile.BadZipFile
        If the file exists (modes 'r' and 'a') but is not a readable zip archive.
    FileNotFoundError
        In modes 'r' and 'r+', if the file does not exist.
    FileExistsError
        In mode 'x', if the file exists.

    Notes
    -----
    Writes are collected in a journal and committed by ``flush()`` or ``close()``: call
    ``close()`` (or use the store as a context manager) when done, as with zarr 2.18.
    Unlike zarr 2.18, keys can be overwritten and deleted; the committed archive never
    holds two members of the same name (see the module docstring). Safe to use from
    several threads (one lock serialises archive access), but only one writer per file.

    Examples
    --------
    >>> import os, tempfile, zipfile
    >>> from zarr_fast.storage.zip import ZipStore
    >>> path = os.path.join(tempfile.mkdtemp(), "example.zip")
    >>> with ZipStore(path, mode="w") as store:
    ...     store["foo/0"] = b"first"
    ...     store["foo/0"] = b"second"
    ...     del store["foo/0"]
    ...     store["foo/1"] = b"kept"
    >>> zipfile.ZipFile(path).namelist()
    ['foo/1']
    >>> ZipStore(path, mode="r")["foo/1"]
    b'kept'
    """

    def __init__(
        self,
        path,
        compression=zipfile.ZIP_STORED,
        allowZip64=True,
        mode="a",
        dimension_separator=None,
    ):
        path = os.path.abspath(os.fspath(path))
        # zarr's own mode names, as normalize_store_arg passes them on: 'r+' is read/write of
        # an existing archive, 'w-' is exclusive creation (zipfile knows neither)
        if mode == "r+":
            if not os.path.exists(path):
                raise FileNotFoundError(f"ZipStore: mode 'r+' needs an existing file: {path!r}")
            mode = "a"
        elif mode == "w-":
            mode = "x"
        if mode not in _MODES:
            raise ValueError(
                f"ZipStore mode must be one of 'r', 'w', 'a', 'x' (or zarr's 'r+', 'w-'), "
                f"found {mode!r}"
            )
        self.path = path
        self.compression = compression
        self.allowZip64 = allowZip64
        self.mode = mode
        self._dimension_separator = dimension_separator
        # zipfile objects are not thread-safe; one re-entrant lock guards every access
        self.mutex = RLock()
        self._zf: Optional[zipfile.ZipFile] = None
        self._journal = None  # anonymous temporary file, created at the first write
        self._journal_nbytes = 0
        self._pending: Dict[str, Tuple[int, int, tuple]] = {}  # key -> (offset, nbytes, date_time)
        self._stale: set = set()
        self._members: Dict[str, zipfile.ZipInfo] = {}
        self._has_duplicates = False
        self._is_closed = False

        if mode in ("w", "x"):
            # 'x' refuses an existing file here, as zipfile does; 'w' truncates
            with open(path, mode + "b") as f:
                zipfile.ZipFile(f, mode="w").close()
        elif mode == "a" and not os.path.exists(path):
            with open(path, "xb") as f:
                zipfile.ZipFile(f, mode="w").close()
        self._open_committed()

    # -- the committed archive -----------------------------------------------------------

    def _open_committed(self) -> None:
        try:
            zf = zipfile.ZipFile(self.path, mode="r", allowZip64=self.allowZip64)
        except zipfile.BadZipFile as exc:
            raise zipfile.BadZipFile(
                f"ZipStore: {self.path!r} is not a valid zip archive ({exc})"
            ) from exc
        infos = zf.infolist()
        # zipfile resolves a duplicated name to its last member; so do we
        self._members = {info.filename: info for info in infos}
        self._has_duplicates = len(self._members) != len(infos)
        self._zf = zf

    def _check_open(self) -> None:
        # Using a closed store reopens the committed archive (never truncating it again, whatever
        # the mode), so a store handed on after ``with ZipStore(...) as store:`` keeps working;
        # zarr 2.18 raises ValueError there instead.
        if self._is_closed:
            with self.mutex:
                if self._is_closed:
                    self._open_committed()
                    self._is_closed = False

    def _check_writeable(self) -> None:
        if self.mode == "r":
            raise ReadOnlyError(f"ZipStore {self.path!r} was opened read-only (mode 'r')")
        self._check_open()

    @property
    def zf(self) -> zipfile.ZipFile:
        """The committed archive, open for reading (writes since the last flush are not in it)."""
        return self._zf

    # -- pickling ------------------------------------------------------------------------

    def __getstate__(self):
        # as zarr 2.18: commit, then travel as the arguments to reopen the file
        self.flush()
        return self.path, self.compression, self.allowZip64, self.mode, self._dimension_separator

    def __setstate__(self, state):
        path, compression, allowZip64, mode, dimension_separator = state
        # a copy must not truncate what the original wrote: 'w' and 'x' reopen as 'a'
        if mode in ("w", "x"):
            mode = "a"
        self.__init__(path, compression=compression, allowZip64=allowZip64, mode=mode,
                      dimension_separator=dimension_separator)

    # -- commit --------------------------------------------------------------------------

    def _read_journal(self, offset: int, nbytes: int) -> bytes:
        self._journal.seek(offset)
        data = self._journal.read(nbytes)
        if len(data) != nbytes:
            raise OSError(
                f"ZipStore {self.path!r}: journal truncated, read {len(data)} of {nbytes} bytes"
            )
        return data

    def _write_pending(self, out: zipfile.ZipFile) -> None:
        for key, (offset, nbytes, date_time) in self._pending.items():
            info = _member_info(key, date_time, self.compression)
            out.writestr(info, self._read_journal(offset, nbytes))

    def _copy_live_members(self, out: zipfile.ZipFile) -> None:
        for info in self._zf.infolist():
            name = info.filename
            if name in self._stale or self._members.get(name) is not info:
                continue  # superseded, deleted, or an earlier duplicate
            copy = zipfile.ZipInfo(filename=name, date_time=info.date_time)
            copy.compress_type = info.compress_type
            copy.external_attr = info.external_attr
            copy.comment = info.comment
            copy.file_size = info.file_size
            try:
                with self._zf.open(info) as src, out.open(copy, mode="w") as dst:
                    shutil.copyfileobj(src, dst, _COPY_NBYTES)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise zipfile.BadZipFile(
                    f"ZipStore: cannot copy corrupt member {name!r} of {self.path!r} ({exc})"
                ) from exc

    def _rewrite(self) -> None:
        directory = os.path.dirname(self.path)
        fd, tmp_path = tempfile.mkstemp(
            dir=directory, prefix="." + os.path.basename(self.path) + ".", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w+b") as f:
                with zipfile.ZipFile(f, mode="w", compression=self.compression,
                                     allowZip64=self.allowZip64) as out:
                    self._copy_live_members(out)
                    self._write_pending(out)
                f.flush()
                os.fsync(f.fileno())
            try:
                file_mode = stat.S_IMODE(os.stat(self.path).st_mode)
            except FileNotFoundError:
                file_mode = _default_file_mode()
            # mkstemp creates 0o600; keep the archive's own permissions
            os.chmod(tmp_path, file_mode)
            self._zf.close()
            os.replace(tmp_path, self.path)
        except BaseException:
            try:
                os.remove(tmp_path)
            except FileNotFoundError:
                pass
            raise

    def _append_in_place(self) -> None:
        self._zf.close()
        with zipfile.ZipFile(self.path, mode="a", compression=self.compression,
                             allowZip64=self.allowZip64) as out:
            self._write_pending(out)

    def flush(self) -> None:
        """Commit the writes and deletes made since the last commit to the zip file.

        A no-op in mode 'r', on a closed store, or when nothing changed.
        """
        if self.mode == "r":
            return
        with self.mutex:
            if self._is_closed or (not self._pending and not self._stale):
                return
            try:
                pending_nbytes = sum(nbytes for _, nbytes, _ in self._pending.values())
                # copying the archive costs at most as much again as writing the new data:
                # then the atomic replacement is worth it
                if (self._stale or self._has_duplicates
                        or os.path.getsize(self.path) <= pending_nbytes):
                    self._rewrite()
                else:
                    self._append_in_place()
            finally:
                # whatever happened, read back what the file now holds
                if self._zf is not None:
                    self._zf.close()
                self._open_committed()
            self._pending.clear()
            self._stale.clear()
            if self._journal is not None:
                # the journal's content is committed now; reuse the file from the start
                self._journal.seek(0)
                self._journal.truncate()
            self._journal_nbytes = 0

    def close(self) -> None:
        """Commit pending writes and close the zip file; later use reopens it."""
        with self.mutex:
            if self._is_closed:
                return
            try:
                self.flush()
            finally:
                self._is_closed = True
                _OPEN_WRITERS.pop(id(self), None)
                if self._zf is not None:
                    self._zf.close()
                if self._journal is not None:
                    self._journal.close()
                    self._journal = None

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def __del__(self):
        # zarr 2.18's archive is completed by zipfile's finalizer when the user forgets
        # close(); keep that promise for the journal (an error here is printed, not lost)
        if not getattr(self, "_is_closed", True) and (self._pending or self._stale):
            self.close()

    # -- mapping -------------------------------------------------------------------------

    def _is_live_member(self, key) -> bool:
        return key in self._members and key not in self._stale

    def __getitem__(self, key):
        with self.mutex:
            self._check_open()
            if key in self._pending:
                offset, nbytes, _ = self._pending[key]
                return self._read_journal(offset, nbytes)
            if not self._is_live_member(key):
                raise KeyError(key)
            try:
                with self._zf.open(self._members[key]) as f:
                    return f.read()
            except (zipfile.BadZipFile, zlib.error, EOFError, KeyError,
                    NotImplementedError, RuntimeError) as exc:
                # the member is listed, so any failure is a damaged member, not an absent key
                raise zipfile.BadZipFile(
                    f"ZipStore: cannot read key {key!r} from {self.path!r} ({exc})"
                ) from exc

    def getitems(self, keys, *, contexts=None):
        """Read several keys under one lock hold: a consistent view even with writers about."""
        with self.mutex:
            return super().getitems(keys, contexts=contexts)

    def __setitem__(self, key, value):
        self._check_writeable()
        if not isinstance(key, str):
            raise TypeError(f"ZipStore keys must be str, found {type(key).__name__}: {key!r}")
        if "\x00" in key:
            raise ValueError(f"ZipStore keys must not contain NUL: {key!r}")
        data = memoryview(ensure_contiguous_ndarray_like(value).view("u1"))
        if not self.allowZip64 and data.nbytes * 1.05 > zipfile.ZIP64_LIMIT:
            # refuse now, as zarr 2.18 does, rather than at the commit
            raise zipfile.LargeZipFile(f"value for key {key!r} would require ZIP64 extensions")
        date_time = time.localtime(time.time())[:6]
        with self.mutex:
            self._check_open()
            if self._journal is None:
                self._journal = tempfile.TemporaryFile(
                    dir=os.path.dirname(self.path), prefix=".zipstore-journal-"
                )
            offset = self._journal_nbytes
            if self._journal.tell() != offset:
                # only after a read: a seek flushes the write buffer, so avoid it otherwise
                self._journal.seek(offset)
            self._journal.write(data)
            self._journal_nbytes = offset + data.nbytes
            self._pending[key] = (offset, data.nbytes, date_time)
            _OPEN_WRITERS[id(self)] = weakref.ref(self)
            if key in self._members:
                self._stale.add(key)

    def __delitem__(self, key):
        self._check_writeable()
        with self.mutex:
            if key in self._pending:
                del self._pending[key]
            elif self._is_live_member(key):
                self._stale.add(key)
            else:
                raise KeyError(key)

    def __contains__(self, key):
        with self.mutex:
            self._check_open()
            return key in self._pending or self._is_live_member(key)

    def __eq__(self, other):
        return (
            isinstance(other, ZipStore)
            and self.path == other.path
            and self.compression == other.compression
            and self.allowZip64 == other.allowZip64
        )

    def keylist(self) -> List[str]:
        """Return the sorted list of keys, including writes not yet committed."""
        with self.mutex:
            self._check_open()
            live = {name for name in self._members if name not in self._stale}
            live.update(self._pending)
            return sorted(live)

    def keys(self):
        yield from self.keylist()

    def __iter__(self):
        return self.keys()

    def __len__(self):
        return len(self.keylist())

    def is_erasable(self) -> bool:
        """Return True unless opened read-only: keys can be deleted (unlike zarr 2.18)."""
        return self.mode != "r"

    def is_writeable(self) -> bool:
        """Return True unless opened read-only."""
        return self.mode != "r"

    # -- hierarchy -----------------------------------------------------------------------

    def listdir(self, path=None) -> List[str]:
        """Return the sorted names of the direct children of ``path``."""
        return _listdir_from_keys(self, normalize_storage_path(path))

    def rmdir(self, path=None) -> None:
        """Delete every key under ``path`` (every key when ``path`` is empty)."""
        self._check_writeable()
        prefix = _path_to_prefix(normalize_storage_path(path))
        with self.mutex:
            for key in [k for k in self.keylist() if k.startswith(prefix)]:
                del self[key]

    def _member_nbytes(self, key) -> int:
        # stored (compressed) size, as zarr 2.18 reports; a pending value is not compressed
        # yet, so its size is known exactly only for ZIP_STORED -- getsize commits otherwise
        if key in self._pending:
            return self._pending[key][1]
        return self._members[key].compress_size

    def getsize(self, path=None) -> int:
        """Return the stored (compressed) size of the value at ``path``, or of its direct children.

        Missing paths give 0, as in zarr 2.18.
        """
        path = normalize_storage_path(path)
        with self.mutex:
            self._check_open()
            if self._pending and self.compression != zipfile.ZIP_STORED and self.mode != "r":
                self.flush()
            children = self.listdir(path)
            prefix = _path_to_prefix(path)
            if children:
                return sum(self._member_nbytes(prefix + child) for child in children
                           if prefix + child in self)
            if path and path in self:
                return self._member_nbytes(path)
            return 0

    def clear(self) -> None:
        """Remove every key; the archive becomes an empty zip file at the next commit."""
        self._check_writeable()
        with self.mutex:
            self._pending.clear()
            self._stale.update(self._members)
