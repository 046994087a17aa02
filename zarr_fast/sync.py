"""Synchronizers: a lock per store key, for writers in several threads or processes.

``synchronizer[key]`` returns a lock (a context manager with ``acquire``/``release``) that
serialises everything done to ``key`` while it is held. ``Array`` holds the lock of every chunk
it reads-modifies-writes (sorted, so writers never deadlock), the metadata key's lock while it
resizes or appends, and ``Attributes`` the ``.zattrs`` key's lock while it rewrites it.

``ThreadSynchronizer`` serves the threads of one process. ``ProcessSynchronizer(path)`` serves
processes sharing a file system, and the threads inside each of them: one lock file per key in
the directory ``path`` (created on demand), locked with ``flock`` (``msvcrt.locking`` on
Windows), behind a per-process thread lock for the same file. Callers guarantee that every
writer of a store uses a synchronizer of the same kind on the same ``path``; a writer without
one is not serialised. Neither lock is re-entrant: a thread that already holds ``sync[key]``
must not ask for it again. Keys are mapped to flat file names that stay inside ``path``
whatever the key holds (``/``, ``..``, upper case, very long keys); the lock files are never
removed, since removing one while another process waits on it would break exclusion.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections import defaultdict

__all__ = ["Synchronizer", "ThreadSynchronizer", "ProcessSynchronizer"]

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
    import msvcrt


class Synchronizer:
    """Base class of synchronizers: ``synchronizer[key]`` is a lock for ``key``."""

    def __getitem__(self, key):  # pragma: no cover - abstract
        raise NotImplementedError


class ThreadSynchronizer(Synchronizer):
    """Provides synchronization using thread locks (one ``threading.Lock`` per key).

    Locks are created on first use; the same key always gives the same lock. Pickling keeps
    no lock: the copy starts with fresh ones, as zarr 2.18 does (a lock cannot cross a process).

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> from zarr_fast.sync import ThreadSynchronizer
    >>> sync = ThreadSynchronizer()
    >>> sync["0.0"] is sync["0.0"]
    True
    >>> z = zarr.zeros(10, chunks=5, synchronizer=sync)
    >>> z[3:7] = 1
    >>> z[:]
    array([0., 0., 0., 1., 1., 1., 1., 0., 0., 0.])
    """

    def __init__(self):
        self.mutex = threading.Lock()
        self.locks = defaultdict(threading.Lock)

    def __getitem__(self, key):
        # the mutex makes "create on first use" atomic: two threads get the same lock
        with self.mutex:
            return self.locks[key]

    def __getstate__(self):
        return True

    def __setstate__(self, state):
        self.__init__()

    def __repr__(self):
        return f"{type(self).__module__}.{type(self).__name__}()"


# --------------------------------------------------------------------------------- key names

_NAME_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")
# longer names are shortened (most file systems allow 255 bytes per name)
_NAME_MAX = 200
_NAME_KEEP = 120


def lock_file_name(key):
    """The flat file name, inside the synchronizer's directory, of ``key``'s lock file.

    Every byte outside ``[a-z0-9_.-]`` (so ``/``, ``\\``, ``%``, upper case) becomes ``%xx``, and
    so does a leading ``.``, so no name is ``.``, ``..``, hidden, or equal under case folding to
    another key's name. The empty key is ``%``; a name longer than 200 characters keeps its first
    120 and adds ``%%`` and the key's SHA-256 (``%%`` never occurs in an unshortened name).
    """
    if not isinstance(key, str):
        raise TypeError(f"synchronizer keys must be str, got {type(key).__name__}")
    if key == "":
        return "%"
    parts = []
    for i, byte in enumerate(key.encode("utf-8")):
        char = chr(byte)
        if char in _NAME_SAFE and not (i == 0 and char == "."):
            parts.append(char)
        else:
            parts.append(f"%{byte:02x}")
    name = "".join(parts)
    if len(name) > _NAME_MAX:
        name = name[:_NAME_KEEP] + "%%" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return name


# ------------------------------------------------------------------------------- file locks

# One thread lock per lock file in this process, taken before the file lock: flock excludes
# threads only when each opens the file anew, and msvcrt/NFS emulations exclude processes only.
_THREAD_LOCKS_MUTEX = threading.Lock()
_THREAD_LOCKS = {}


def _thread_lock_for(file_path):
    with _THREAD_LOCKS_MUTEX:
        lock = _THREAD_LOCKS.get(file_path)
        if lock is None:
            lock = _THREAD_LOCKS[file_path] = threading.Lock()
        return lock


def _reset_after_fork():
    # a lock held by another thread of the parent would never be released in the child
    global _THREAD_LOCKS_MUTEX, _THREAD_LOCKS
    _THREAD_LOCKS_MUTEX = threading.Lock()
    _THREAD_LOCKS = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _lock_fd(fd, blocking):
    """Lock the open file ``fd``; False when ``blocking`` is False and another holder has it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True
    import time  # pragma: no cover - Windows

    while True:  # pragma: no cover - Windows
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            if not blocking:
                return False
            time.sleep(0.001)


def _unlock_fd(fd):
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:  # pragma: no cover - Windows
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class FileLock:
    """An exclusive lock on one lock file, across processes and the threads of each.

    Use it as a context manager, or call ``acquire()``/``release()``. Not re-entrant.
    """

    def __init__(self, path):
        self.path = path
        self._fd = None
        self._thread_lock = None

    def acquire(self, blocking=True):
        """Take the lock; with ``blocking=False`` return False at once if it is held."""
        thread_lock = _thread_lock_for(self.path)
        if not thread_lock.acquire(blocking):
            return False
        try:
            fd = self._open()
            try:
                is_locked = _lock_fd(fd, blocking)
            except BaseException:
                os.close(fd)
                raise
            if not is_locked:
                os.close(fd)
                thread_lock.release()
                return False
        except BaseException:
            if thread_lock.locked():
                thread_lock.release()
            raise
        self._fd, self._thread_lock = fd, thread_lock
        return True

    def _open(self):
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            # the directory is created on first use (or was removed since)
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise OSError(e.errno, f"ProcessSynchronizer: cannot open lock file {self.path!r}: {e.strerror}") from e

    def release(self):
        """Give the lock back (the holder only)."""
        if self._fd is None:
            raise RuntimeError(f"release of an unheld lock {self.path!r}")
        fd, thread_lock = self._fd, self._thread_lock
        self._fd = self._thread_lock = None
        try:
            _unlock_fd(fd)
        finally:
            os.close(fd)  # closing also drops the flock if the unlock failed
            thread_lock.release()

    @property
    def acquired(self):
        """True while this object holds the lock."""
        return self._fd is not None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    def __repr__(self):
        return f"<{type(self).__name__} {self.path!r}{' held' if self.acquired else ''}>"


class ProcessSynchronizer(Synchronizer):
    """Provides synchronization using file locks, for processes sharing a file system.

    Parameters
    ----------
    path : str
        Directory holding one lock file per key (created on demand). Give every process the
        same path; it should not be the array's own directory store, whose keys it would
        shadow.

    Notes
    -----
    Locks are ``flock`` locks (``msvcrt`` on Windows); they also exclude threads of one process.
    They are dropped by the operating system if the holder dies. The synchronizer pickles as its
    path, so it can be handed to worker processes along with an array.

    Examples
    --------
    >>> import tempfile, zarr_fast as zarr
    >>> from zarr_fast.sync import ProcessSynchronizer
    >>> sync = ProcessSynchronizer(tempfile.mkdtemp())
    >>> z = zarr.zeros(10, chunks=5, synchronizer=sync)
    >>> with sync["0"]:
    ...     pass
    >>> z.append([1, 2])
    (12,)
    """

    def __init__(self, path):
        self.path = os.fspath(path)

    def __getitem__(self, key):
        return FileLock(os.path.join(self.path, lock_file_name(key)))

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"])

    def __repr__(self):
        return f"{type(self).__module__}.{type(self).__name__}({self.path!r})"
