"""FSStore: a v2 store over any fsspec file system (local paths, ``memory://``, ``s3://``, ...).

What it does: maps zarr keys to files under one root of an fsspec file system, with zarr
2.18's ``FSStore`` surface (same constructor, ``key_separator``/``dimension_separator``
handling of chunk keys, ``mode="r"``, ``listdir``/``rmdir``/``getsize``, batch
``getitems``/``setitems``/``delitems``, pickling, equality). A batch read is ONE
``fs.cat_ranges`` call, which async file systems (s3fs, http) run concurrently.

What callers guarantee: keys are ``str``; values are contiguous bytes-like objects (bytes,
bytearray, memoryview, NumPy arrays). ``fsspec`` is installed (``pip install
zarr-fast[fsspec]``), plus the protocol's own package (``s3fs`` for ``s3://``: ``pip install
zarr-fast[s3]``); a missing one is an ``ImportError`` naming the package and the extra.

What it refuses, deliberately safer than zarr 2.18: only a truly absent key (the
file system's ``FileNotFoundError``, ``IsADirectoryError``, ``NotADirectoryError``, or the
``missing_exceptions`` given) reads as ``KeyError``. Any other failure -- permission denied,
an unreachable server, a timeout -- propagates as an ``OSError`` naming the store URL and the
key, with the original exception as its ``__cause__``. zarr 2.18 turns ``PermissionError``
and ``IOError`` into ``KeyError``, so a failed chunk read there silently returns the fill
value; here it is an error. The ``exceptions`` parameter is kept for signature compatibility
only. A store opened with ``mode="r"`` refuses every write with ``ReadOnlyError``.
"""
from __future__ import annotations

import posixpath
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

from zarr_fast.config import get_threads
from zarr_fast.errors import ReadOnlyError
from zarr_fast.storage.base import (
    Store,
    _rename_from_keys,
    array_meta_key,
    attrs_key,
    group_meta_key,
    map_bounded,
    normalize_storage_path,
)

# a v2 chunk key with at least two indices ("0.1", "3.0.2"): the only keys whose dots become
# key_separator. zarr 2.18 rewrites the dots of any last segment except the three metadata
# keys, which mangles e.g. ".zmetadata" to "/zmetadata" under "/"; chunk keys are what the
# separator is about, and for them the bytes on disk are the same.
_CHUNK_KEY = re.compile(r"^[0-9]+(\.[0-9]+)+$")
# a directory holding nested chunk keys of an array ("0/1/2" under "0")
_CHUNK_INDEX = re.compile(r"^[0-9]+$")
_METADATA_KEYS = (array_meta_key, group_meta_key, attrs_key)
# what fsspec's own mapper treats as "no such key"
_DEFAULT_MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)
# protocols served by s3fs, for the install hint
_S3_PROTOCOLS = ("s3", "s3a")
# raised when a key's parent path is a value, not a directory
_PATH_CONFLICTS = (FileExistsError, NotADirectoryError)
# marks a key found absent inside a batch
_ABSENT = object()


def _import_fsspec():
    try:
        import fsspec
    except ImportError as exc:
        raise ImportError(
            "FSStore needs the 'fsspec' package, which is not installed: "
            "pip install zarr-fast[fsspec]"
        ) from exc
    return fsspec


def _protocols_of(url: str) -> List[str]:
    # every protocol of a URL, chained ("simplecache::s3://...") or not; [] for a path
    return [part.split("://", 1)[0] for part in url.split("::") if "://" in part]


def _as_bytes_like(value) -> Any:
    # bytes go through untouched; other buffers become bytes, because some file systems
    # (s3fs, http) hand the value to a client that only accepts bytes
    if isinstance(value, bytes):
        return value
    from numcodecs.compat import ensure_bytes

    return ensure_bytes(value)


def _named_error(exc: BaseException, url: str, key: str, action: str) -> OSError:
    """An ``OSError`` saying which store and key failed, chained to ``exc``.

    A built-in ``OSError`` subclass (``PermissionError``, ``ConnectionError``, ...) keeps its
    class and ``errno`` so that callers testing either still work; anything else (a botocore
    connection error, a client misconfiguration) becomes a plain ``OSError``.
    """
    message = f"FSStore at {url!r} failed {action} key {key!r}: {type(exc).__name__}: {exc}"
    if isinstance(exc, OSError) and type(exc).__module__ == "builtins":
        if exc.errno is not None:
            named = type(exc)(exc.errno, message)
        else:
            named = type(exc)(message)
    else:
        named = OSError(message)
    named.__cause__ = exc
    return named


class FSStore(Store):
    """A store over an fsspec file system, as ``zarr.storage.FSStore`` in zarr 2.18.

    Parameters
    ----------
    url : str
        Where the store's root is: a URL with protocol (``"s3://bucket/root"``,
        ``"memory://x"``, ``"file:///tmp/x"``) or a local path. With ``fs`` given, a path
        within that file system.
    normalize_keys : bool, optional
        If True, keys are lower-cased before use.
    key_separator : {'.', '/'}, optional
        Older spelling of ``dimension_separator``; wins when both are given.
    mode : {'w', 'r'}, optional
        ``"r"`` makes the store read-only: every write raises ``ReadOnlyError``.
    exceptions : tuple of exception classes, optional
        Accepted for compatibility with zarr 2.18 and kept as ``self.exceptions``, but NOT
        used to hide read errors: only missing-key exceptions become ``KeyError``.
    dimension_separator : {'.', '/'}, optional
        Separator between chunk indices in chunk keys. With ``'/'``, the chunk key ``"0.1"``
        is stored at ``0/1``. Arrays created in this store default to it.
    fs : fsspec.AbstractFileSystem, optional
        An existing file system to use; cannot be combined with ``storage_options``.
    check : bool, optional
        Touch and remove a file at the root to check write access (fsspec's mapper option).
    create : bool, optional
        Create the root directory if it does not exist (fsspec's mapper option).
    missing_exceptions : tuple of exception classes, optional
        Exceptions that mean "no such key"; defaults to fsspec's mapper choice
        (``FileNotFoundError``, ``IsADirectoryError``, ``NotADirectoryError``).
    **storage_options
        Passed to the file system (for S3: ``key``, ``secret``, ``client_kwargs``, ...).

    Raises
    ------
    ImportError
        If ``fsspec``, or the package for the URL's protocol, is not installed.
    ValueError
        If both ``fs`` and ``storage_options`` are given.

    Examples
    --------
    >>> from zarr_fast.storage.fsstore import FSStore
    >>> store = FSStore("memory://doc-fsstore", key_separator="/")
    >>> store["arr/0.1"] = b"chunk"
    >>> sorted(store.keys())
    ['arr/0/1']
    >>> store.getitems(["arr/0.1", "arr/9.9"])
    {'arr/0.1': b'chunk'}
    >>> store.clear()
    """

    _array_meta_key = array_meta_key
    _group_meta_key = group_meta_key
    _attrs_key = attrs_key

    def __init__(
        self,
        url,
        normalize_keys=False,
        key_separator=None,
        mode="w",
        exceptions=(KeyError, PermissionError, IOError),
        dimension_separator=None,
        fs=None,
        check=False,
        create=False,
        missing_exceptions=None,
        **storage_options,
    ):
        fsspec = _import_fsspec()
        url = str(url)
        mapper_options = {"check": check, "create": create}
        if missing_exceptions is not None:
            mapper_options["missing_exceptions"] = missing_exceptions
        if fs is None:
            protocol, _ = fsspec.core.split_protocol(url)
            if protocol in (None, "file") and not storage_options.get("auto_mkdir"):
                # nested keys need their parent directories, as zarr 2.18 arranges
                storage_options["auto_mkdir"] = True
            try:
                self.map = fsspec.get_mapper(url, **mapper_options, **storage_options)
            except ImportError as exc:
                raise self._missing_protocol_package(url, exc) from exc
            self.fs = self.map.fs
            self.path = self.fs._strip_protocol(url)
        else:
            if storage_options:
                raise ValueError("Cannot specify both fs and storage_options")
            self.fs = fs
            self.path = self.fs._strip_protocol(url)
            self.map = self.fs.get_mapper(self.path, **mapper_options)

        self.normalize_keys = normalize_keys
        self.mode = mode
        self.exceptions = exceptions
        self.missing_exceptions = tuple(missing_exceptions or _DEFAULT_MISSING)
        if key_separator is not None:
            dimension_separator = key_separator
        # key_separator is never None (zarr 2.18's public attribute); _dimension_separator
        # stays None when unset so that arrays created here keep their own default
        self.key_separator = dimension_separator if dimension_separator is not None else "."
        self._dimension_separator = dimension_separator

    # -- construction helpers ------------------------------------------------------------

    @staticmethod
    def _missing_protocol_package(url: str, exc: ImportError) -> ImportError:
        protocols = _protocols_of(url)
        if any(protocol in _S3_PROTOCOLS for protocol in protocols):
            return ImportError(
                f"FSStore({url!r}) needs the 's3fs' package, which is not installed: "
                "pip install zarr-fast[s3]"
            )
        return ImportError(
            f"FSStore({url!r}) needs a package for the {'::'.join(protocols)!r} protocol "
            f"that is not installed ({exc}); fsspec itself comes with "
            "pip install zarr-fast[fsspec]"
        )

    @classmethod
    def _fsspec_installed(cls) -> bool:
        """Return True if ``fsspec`` can be imported (kept from zarr 2.18)."""
        import importlib.util

        return importlib.util.find_spec("fsspec") is not None

    @property
    def url(self) -> str:
        """The root of the store as a URL with protocol, used in error messages."""
        try:
            return self.fs.unstrip_protocol(self.path)
        except Exception:  # noqa: BLE001 - a message helper must not fail
            return str(self.path)

    # -- keys ----------------------------------------------------------------------------

    def _normalize_key(self, key: str) -> str:
        key = normalize_storage_path(key).lstrip("/")
        if key and self.key_separator != ".":
            head, _, last = key.rpartition("/")
            if last not in _METADATA_KEYS and _CHUNK_KEY.match(last):
                last = last.replace(".", self.key_separator)
                key = f"{head}/{last}" if head else last
        return key.lower() if self.normalize_keys else key

    def dir_path(self, path=None) -> str:
        """Return the file-system path of the store path ``path`` (the root when empty)."""
        return self.map._key_to_str(normalize_storage_path(path))

    def _key_path(self, key: str) -> str:
        return self.map._key_to_str(self._normalize_key(key))

    def _check_writeable(self) -> None:
        if self.mode == "r":
            raise ReadOnlyError(f"FSStore at {self.url!r} is read-only (mode='r')")

    # -- reads ---------------------------------------------------------------------------

    def __getitem__(self, key):
        path = self._key_path(key)
        try:
            return self.fs.cat_file(path)
        except self.missing_exceptions as exc:
            raise KeyError(key) from exc
        except Exception as exc:  # noqa: BLE001 - named and re-raised, never hidden
            raise _named_error(exc, self.url, key, "reading") from exc

    def getitems(
        self, keys: Iterable[str], *, contexts: Optional[Mapping] = None
    ) -> Dict[str, Any]:
        """Read several keys at once; absent keys are left out.

        An async file system (s3fs, http) gets ONE ``fs.cat_ranges`` call, which fetches the
        keys concurrently. ``cat_ranges`` is used rather than ``fs.cat`` because ``cat``
        first expands every path (on S3 a HEAD and often a LIST per key) and fails outright
        when none of the keys exists. A synchronous file system reads key by key, as
        ``self[key]``, over the thread budget.

        Parameters
        ----------
        keys : iterable of str
            Keys to read.
        contexts : mapping, optional
            Accepted for zarr 2.18 compatibility; unused.

        Returns
        -------
        dict
            The present keys mapped to their bytes.

        Raises
        ------
        OSError
            If a key exists but cannot be read (permission, connection, ...); the message
            names the store URL and the key, and the original is the ``__cause__``.
        """
        keys = list(keys)
        if not keys:
            return {}
        if not getattr(self.fs, "async_impl", False):
            # a synchronous file system reads one file per call anyway: spread the keys
            # over the thread budget, each read as ``self[key]`` does
            def read(key):
                try:
                    return self[key]
                except KeyError:
                    return _ABSENT

            values = map_bounded(read, keys, get_threads())
            return {key: value for key, value in zip(keys, values) if value is not _ABSENT}
        paths = [self._key_path(key) for key in keys]
        try:
            values = self.fs.cat_ranges(paths, None, None, on_error="return")
        except Exception as exc:  # noqa: BLE001 - the batch itself failed
            raise _named_error(exc, self.url, keys[0], "reading") from exc
        out = {}
        for key, value in zip(keys, values):
            if isinstance(value, self.missing_exceptions):
                continue
            if isinstance(value, BaseException):
                raise _named_error(value, self.url, key, "reading") from value
            out[key] = value
        return out

    def __contains__(self, key) -> bool:
        path = self._key_path(key)
        try:
            info = self.fs.info(path)
        except self.missing_exceptions:
            return False
        except Exception as exc:  # noqa: BLE001 - "cannot tell" is not "absent"
            raise _named_error(exc, self.url, key, "looking up") from exc
        return info.get("type") != "directory"

    def keys(self):
        """Iterate over every key in the store (nested chunk keys as stored, with '/')."""
        root = self.map.root
        try:
            found = self.fs.find(root)
        except self.missing_exceptions:
            found = []
        # find() returns paths under root only; strip it to get keys
        return iter([p[len(root):].lstrip("/") for p in found])

    def __iter__(self):
        return self.keys()

    def __len__(self) -> int:
        return len(list(self.keys()))

    def listdir(self, path=None) -> List[str]:
        """Return the sorted names of the direct children of ``path``.

        With ``key_separator='/'``, the nested chunk directories of an array are listed as
        its ``.``-separated chunk keys (``0/1`` as ``"0.1"``), as zarr 2.18 does.
        """
        dir_path = self.dir_path(path)
        try:
            entries = self.fs.ls(dir_path, detail=False)
        except self.missing_exceptions:
            return []
        # listing a file gives the file itself: a leaf has no children
        own = dir_path.rstrip("/")
        children = sorted(
            p.rstrip("/").rsplit("/", 1)[-1] for p in entries if p.rstrip("/") != own
        )
        if self.key_separator != "/" or self._array_meta_key not in children:
            return children
        listed = []
        for name in children:
            entry_path = posixpath.join(dir_path, name)
            if _CHUNK_INDEX.match(name) and self.fs.isdir(entry_path):
                for file_path in self.fs.find(entry_path):
                    relative = file_path[len(dir_path):].lstrip("/")
                    listed.append(relative.replace("/", "."))
            else:
                listed.append(name)
        return sorted(listed)

    def getsize(self, path=None) -> int:
        """Return the total size in bytes of the value at ``path``, or of its direct children."""
        store_path = self.dir_path(path)
        try:
            return self.fs.du(store_path, total=True, maxdepth=1)
        except self.missing_exceptions:
            return 0

    # -- writes --------------------------------------------------------------------------

    def _forget_listings(self, paths: Iterable[str]) -> None:
        # file systems that cache directory listings (s3fs) drop the entries of each
        # written path and its ancestors, so listdir/keys see our own writes
        for path in paths:
            self.fs.invalidate_cache(path)

    def __setitem__(self, key, value):
        self._check_writeable()
        path = self._key_path(key)
        value = _as_bytes_like(value)
        try:
            if self.fs.isdir(path):
                # a key replaces a "directory" of the same name, as in zarr 2.18
                self.fs.rm(path, recursive=True)
            if not getattr(self.fs, "async_impl", False):
                self.fs.mkdirs(self.fs._parent(path), exist_ok=True)
            self.fs.pipe_file(path, value)
        except _PATH_CONFLICTS as exc:
            # a value sits where a parent "directory" of the key must go: the key cannot
            # exist in this hierarchy, KeyError as with MemoryStore and DirectoryStore
            raise KeyError(key) from exc
        except Exception as exc:  # noqa: BLE001 - any other failed write is never a KeyError
            raise _named_error(exc, self.url, key, "writing") from exc
        finally:
            self._forget_listings([path])

    def setitems(self, values: Mapping[str, Any]) -> None:
        """Write every ``key: value`` pair of ``values`` with one ``fs.pipe`` call."""
        self._check_writeable()
        if not values:
            return
        by_path = {self._key_path(key): _as_bytes_like(value) for key, value in values.items()}
        try:
            if not getattr(self.fs, "async_impl", False):
                for parent in {self.fs._parent(path) for path in by_path}:
                    self.fs.mkdirs(parent, exist_ok=True)
            self.fs.pipe(by_path)
        except Exception as exc:  # noqa: BLE001 - named and re-raised
            raise _named_error(exc, self.url, next(iter(values)), "writing") from exc
        finally:
            self._forget_listings(by_path)

    def __delitem__(self, key):
        self._check_writeable()
        path = self._key_path(key)
        try:
            info = self.fs.info(path)
            if info.get("type") == "directory":
                self.fs.rm(path, recursive=True)
            else:
                self.fs.rm_file(path)
        except self.missing_exceptions as exc:
            raise KeyError(key) from exc
        except Exception as exc:  # noqa: BLE001 - named and re-raised
            raise _named_error(exc, self.url, key, "deleting") from exc
        finally:
            self._forget_listings([path])

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete every key in ``keys`` with one ``fs.rm`` call; absent keys are skipped."""
        self._check_writeable()
        keys = list(keys)
        paths = [self._key_path(key) for key in keys]
        if not paths:
            return
        try:
            try:
                # S3 deletes absent keys silently, so the common case is one bulk request
                self.fs.rm(paths)
            except self.missing_exceptions:
                # a local file system stops at the first absent file: finish one by one
                for path in paths:
                    try:
                        self.fs.rm_file(path)
                    except self.missing_exceptions:
                        pass
        except Exception as exc:  # noqa: BLE001 - named and re-raised
            raise _named_error(exc, self.url, keys[0], "deleting") from exc
        finally:
            self._forget_listings(paths)

    def rmdir(self, path=None) -> None:
        """Delete everything under ``path``; the root itself (a bucket, say) is kept."""
        self._check_writeable()
        store_path = self.dir_path(path)
        try:
            if store_path == self.map.root.rstrip("/"):
                # clear the contents, not the root: it may be a bucket or a mount point
                targets = self.fs.ls(store_path, detail=False)
            elif self.fs.info(store_path).get("type") == "directory":
                targets = [store_path]
            else:
                # a value, not a "directory": nothing under it to remove, as in zarr 2.18
                return
            if targets:
                self.fs.rm(targets, recursive=True)
        except self.missing_exceptions:
            return
        except Exception as exc:  # noqa: BLE001 - named and re-raised
            raise _named_error(exc, self.url, normalize_storage_path(path), "removing") from exc
        finally:
            self.fs.invalidate_cache(store_path)
            self._forget_listings([store_path])

    def clear(self) -> None:
        """Delete every key in the store."""
        self.rmdir()

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move every key under ``src_path`` to the same suffix under ``dst_path``."""
        self._check_writeable()
        _rename_from_keys(self, normalize_storage_path(src_path), normalize_storage_path(dst_path))

    # -- identity ------------------------------------------------------------------------

    def __eq__(self, other) -> bool:
        # the same root of the same file system, in the same mode; comparing contents
        # (as a Mapping would) would read every value
        return (
            type(self) is type(other)
            and self.fs == other.fs
            and self.map.root == other.map.root
            and self.mode == other.mode
        )

    def __hash__(self):
        return hash((type(self), self.map.root, self.mode))

    def __repr__(self) -> str:
        return f"FSStore({self.url!r}, mode={self.mode!r})"
