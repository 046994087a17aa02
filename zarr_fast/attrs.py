"""User attributes of an array or group, stored as JSON under ``.zattrs``.

Reads go through a cached dict when ``cache=True``; every write re-reads the stored document,
applies the change and writes the whole document back (the store's write is atomic for the
directory store), so two writers of different keys only race if they run at the same time;
pass a synchronizer to serialise them.
"""
from __future__ import annotations

import warnings
from collections.abc import MutableMapping

from .meta.v2 import ATTRS_KEY, json_dumps, json_loads
from .storage.base import BaseStore


class Attributes(MutableMapping):
    """Dict-like access to the attributes stored under ``key`` in ``store``.

    Parameters
    ----------
    store : MutableMapping
        The store holding the attributes document.
    key : str, optional
        Key of the document (``'.zattrs'`` or ``'path/.zattrs'``).
    read_only : bool, optional
        If True, writes raise ``PermissionError``.
    cache : bool, optional
        If True (default), the document is read once and kept.
    synchronizer : object, optional
        Provides a lock per key for writers in several threads or processes.
    """

    def __init__(self, store, key=ATTRS_KEY, read_only=False, cache=True, synchronizer=None, cached_dict=None):
        # A plain dict is wrapped in KVStore, as zarr 2.18 does.
        self.store = BaseStore._ensure_store(store)
        self.key = key
        self.read_only = read_only
        self.cache = cache
        self._cached_asdict = cached_dict if cache else None
        self.synchronizer = synchronizer

    def _get_nosync(self):
        try:
            data = self.store[self.key]
        except KeyError:
            return {}
        return json_loads(data)

    def asdict(self):
        """Return all attributes as a dict."""
        if self.cache and self._cached_asdict is not None:
            return self._cached_asdict
        d = self._get_nosync()
        if self.cache:
            self._cached_asdict = d
        return d

    def refresh(self):
        """Re-read the attributes from the store."""
        if self.cache:
            self._cached_asdict = self._get_nosync()

    def __contains__(self, x):
        return x in self.asdict()

    def __getitem__(self, item):
        return self.asdict()[item]

    def _write_op(self, f, *args, **kwargs):
        if self.read_only:
            raise PermissionError("attributes are read-only")
        if self.synchronizer is None:
            return f(*args, **kwargs)
        with self.synchronizer[self.key]:
            return f(*args, **kwargs)

    def __setitem__(self, item, value):
        self._write_op(self._modify_nosync, lambda d: d.__setitem__(item, value))

    def __delitem__(self, item):
        self._write_op(self._modify_nosync, lambda d: d.__delitem__(item))

    def update(self, *args, **kwargs):
        """Update several attributes in one write."""
        self._write_op(self._modify_nosync, lambda d: d.update(*args, **kwargs))

    def put(self, d):
        """Replace all attributes with ``d`` in one write."""
        self._write_op(self._put_nosync, d)

    def _modify_nosync(self, change):
        d = self._get_nosync()
        change(d)
        self._put_nosync(d)

    def _put_nosync(self, d):
        if not all(isinstance(k, str) for k in d):
            warnings.warn(
                "only attribute keys of type 'string' will be allowed in the future",
                DeprecationWarning,
                stacklevel=3,
            )
            try:
                d = {str(k): v for k, v in d.items()}
            except TypeError as ex:
                raise TypeError("attribute keys can not be stringified") from ex
        self.store[self.key] = json_dumps(d)
        if self.cache:
            self._cached_asdict = d

    def keys(self):
        return self.asdict().keys()

    def __iter__(self):
        return iter(self.asdict())

    def __len__(self):
        return len(self.asdict())

    def _ipython_key_completions_(self):
        return sorted(self)
