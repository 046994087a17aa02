"""In-memory stores: ``KVStore`` (wraps any mapping) and ``MemoryStore`` (nested dicts).

``KVStore`` passes every call straight to the wrapped ``MutableMapping`` and stores values
as given. ``MemoryStore`` keeps one nested mapping per path segment, as zarr 2.18 does,
so ``listdir``/``rmdir``/``rename`` are dictionary operations; it copies values to
``bytes`` on write so that later changes to the caller's buffer cannot reach the store.

Callers guarantee ``str`` keys. ``MemoryStore`` refuses (``KeyError``) a key whose
parent segment is a value rather than a "directory".
"""
from __future__ import annotations

import threading
import warnings
from typing import List, Optional

from numcodecs.compat import ensure_bytes

from zarr_fast.storage.base import Store, buffer_size, normalize_storage_path


class KVStore(Store):
    """A store over any ``MutableMapping`` (a plain ``dict`` works).

    Parameters
    ----------
    mutablemapping : MutableMapping
        The mapping that holds the values; it is used, not copied.

    Examples
    --------
    >>> from zarr_fast.storage import KVStore
    >>> d = {}
    >>> store = KVStore(d)
    >>> store["foo/bar"] = b"xyz"
    >>> d
    {'foo/bar': b'xyz'}
    >>> store.listdir()
    ['foo']
    """

    def __init__(self, mutablemapping):
        self._mutable_mapping = mutablemapping

    def __getitem__(self, key):
        return self._mutable_mapping[key]

    def __setitem__(self, key, value):
        self._mutable_mapping[key] = value

    def __delitem__(self, key):
        del self._mutable_mapping[key]

    def __contains__(self, key):
        return key in self._mutable_mapping

    def get(self, key, default=None):
        return self._mutable_mapping.get(key, default)

    def values(self):
        return self._mutable_mapping.values()

    def __iter__(self):
        return iter(self._mutable_mapping)

    def __len__(self):
        return len(self._mutable_mapping)

    def __repr__(self):
        return f"<{type(self).__name__}: \n{self._mutable_mapping!r}\n at {id(self):#x}>"

    def __eq__(self, other):
        if isinstance(other, KVStore):
            return self._mutable_mapping == other._mutable_mapping
        return NotImplemented


def _walk_nested_keys(mapping, prefix, container_cls):
    # depth-first over nested containers, yielding 'a/b/c' keys of the leaf values
    for name, value in mapping.items():
        if isinstance(value, container_cls):
            yield from _walk_nested_keys(value, prefix + name + "/", container_cls)
        else:
            yield prefix + name


class MemoryStore(Store):
    """A store held in main memory as nested mappings, one level per path segment.

    Parameters
    ----------
    root : MutableMapping, optional
        An existing nested mapping to use as the root.
    cls : type, optional
        Mapping type used for each level (``dict`` by default).
    dimension_separator : {'.', '/'}, optional
        Separator placed between the dimensions of a chunk key.

    Notes
    -----
    Safe to write from several threads: writes hold a lock.

    Examples
    --------
    >>> from zarr_fast.storage import MemoryStore
    >>> store = MemoryStore()
    >>> store["foo/bar"] = b"xyz"
    >>> store.root
    {'foo': {'bar': b'xyz'}}
    >>> store.listdir("foo")
    ['bar']
    """

    def __init__(self, root=None, cls=dict, dimension_separator=None):
        self.root = cls() if root is None else root
        self.cls = cls
        self.write_mutex = threading.Lock()
        self._dimension_separator = dimension_separator

    def __getstate__(self):
        # the lock cannot be pickled; a new one is made on unpickling
        return self.root, self.cls, self._dimension_separator

    def __setstate__(self, state):
        root, cls, *rest = state
        self.__init__(root=root, cls=cls, dimension_separator=rest[0] if rest else None)

    def _get_parent(self, item: str):
        parent = self.root
        segments = item.split("/")
        for name in segments[:-1]:
            parent = parent[name]
            if not isinstance(parent, self.cls):
                raise KeyError(item)
        return parent, segments[-1]

    def _require_parent(self, item: str):
        parent = self.root
        segments = item.split("/")
        for name in segments[:-1]:
            child = parent.get(name)
            if child is None:
                child = parent[name] = self.cls()
            elif not isinstance(child, self.cls):
                raise KeyError(item)
            parent = child
        return parent, segments[-1]

    def __getitem__(self, item: str):
        parent, name = self._get_parent(item)
        try:
            value = parent[name]
        except KeyError as e:
            raise KeyError(item) from e
        if isinstance(value, self.cls):
            raise KeyError(item)
        return value

    def __setitem__(self, item: str, value):
        value = ensure_bytes(value)
        with self.write_mutex:
            parent, name = self._require_parent(item)
            parent[name] = value

    def __delitem__(self, item: str):
        with self.write_mutex:
            parent, name = self._get_parent(item)
            try:
                del parent[name]
            except KeyError as e:
                raise KeyError(item) from e

    def __contains__(self, item):
        try:
            parent, name = self._get_parent(item)
            value = parent[name]
        except (KeyError, AttributeError, TypeError):
            return False
        return not isinstance(value, self.cls)

    def __eq__(self, other):
        return isinstance(other, MemoryStore) and self.root == other.root and self.cls == other.cls

    def keys(self):
        yield from _walk_nested_keys(self.root, "", self.cls)

    def __iter__(self):
        return self.keys()

    def __len__(self) -> int:
        return sum(1 for _ in self.keys())

    def _node(self, path: str):
        # the value or container at a normalised path, or None if absent
        if not path:
            return self.root
        try:
            parent, name = self._get_parent(path)
            return parent[name]
        except KeyError:
            return None

    def listdir(self, path: Optional[str] = None) -> List[str]:
        """Return the sorted names of the direct children of ``path``."""
        node = self._node(normalize_storage_path(path))
        if isinstance(node, self.cls):
            return sorted(node.keys())
        return []

    def rename(self, src_path, dst_path) -> None:
        """Move the value or subtree at ``src_path`` to ``dst_path``.

        Raises
        ------
        KeyError
            If nothing is stored at ``src_path``.
        """
        src_path = normalize_storage_path(src_path)
        dst_path = normalize_storage_path(dst_path)
        with self.write_mutex:
            src_parent, src_name = self._get_parent(src_path)
            dst_parent, dst_name = self._require_parent(dst_path)
            dst_parent[dst_name] = src_parent.pop(src_name)

    def rmdir(self, path: Optional[str] = None) -> None:
        """Delete the subtree at ``path`` (everything when ``path`` is empty).

        A value (rather than a subtree) at ``path`` is left alone, as in zarr 2.18.
        """
        path = normalize_storage_path(path)
        with self.write_mutex:
            if not path:
                self.root = self.cls()
                return
            try:
                parent, name = self._get_parent(path)
                node = parent[name]
            except KeyError:
                return
            if isinstance(node, self.cls):
                del parent[name]

    def getsize(self, path: Optional[str] = None) -> int:
        """Return the size in bytes of the value at ``path``, or of its direct child values."""
        node = self._node(normalize_storage_path(path))
        if node is None:
            return 0
        if isinstance(node, self.cls):
            return sum(buffer_size(v) for v in node.values() if not isinstance(v, self.cls))
        return buffer_size(node)

    def clear(self):
        with self.write_mutex:
            self.root.clear()


class DictStore(MemoryStore):
    """Deprecated alias of :class:`MemoryStore` (renamed in zarr 2.4)."""

    def __init__(self, *args, **kwargs):
        warnings.warn(
            "DictStore has been renamed to MemoryStore in 2.4.0 and "
            "will be removed in the future. Please use MemoryStore.",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(*args, **kwargs)
