"""``LRUStoreCache``: a least-recently-used cache in front of another store, as zarr 2.18's.

Three things are cached: the key listing (``keys``/``__iter__``/``__len__``), the answers of
``__contains__`` and ``listdir``, and values, up to ``max_size`` bytes in total (``None``:
no bound), evicting the least recently used value first. A value larger than ``max_size`` is
passed through and never cached. Writes and deletes go through to the wrapped store first and
then update the cache: a write drops the cached listings and caches the new value. ``hits``
and ``misses`` count value reads served from the cache and from the wrapped store, in the
same sequence as zarr 2.18.7 for the same operations.

Differences from zarr 2.18.7, all on purpose:

* ``getitems`` serves the cached keys and fetches all the others with ONE ``getitems`` call
  on the wrapped store (zarr 2.18 asks ``__contains__`` and ``__getitem__`` once per key). A
  key already known to be absent (cached ``__contains__`` False) is not asked for again.
* Values are cached as immutable ``bytes`` (a caller's ``bytearray`` or NumPy array is
  copied), so changing a buffer after writing or reading it cannot change the cache.
* ``invalidate_values()`` also resets the cached size (2.18 forgets to, and then evicts
  too early); a value read from the wrapped store is not cached when a write, delete or
  invalidation happened while it was being read, so a stale value is never cached.
* ``rmdir`` and ``rename`` are handed to the wrapped store (in one call, not key by key),
  and the capability flags (``is_writeable`` ...) are the wrapped store's.

Callers guarantee that the wrapped store is changed only through this cache while it is in
use (or call ``invalidate()`` after changing it behind the cache's back): nothing here can
notice outside changes. Thread-safe: one lock guards the cache; the wrapped store is called
outside it, so slow reads do not serialise.
"""
from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any, Dict, Iterable, List, Mapping, Optional

from zarr_fast.storage.base import BaseStore, Store, buffer_size, normalize_storage_path


def _as_cached(value):
    # the cache keeps immutable bytes; a value with no buffer (rare: an object stored in a
    # plain dict) is kept as it is, as zarr 2.18 keeps every value
    if isinstance(value, bytes):
        return value
    try:
        return memoryview(value).tobytes()
    except TypeError:
        return value


class LRUStoreCache(Store):
    """A least-recently-used (LRU) cache layer over another store.

    Intended for stores that are slow to access, such as remote object stores.

    Parameters
    ----------
    store : BaseStore or MutableMapping
        The store holding the data; a plain mapping is wrapped in ``KVStore``.
    max_size : int or None
        Largest total size of the cached values, in bytes; None for no bound.

    Attributes
    ----------
    hits : int
        Value reads answered from the cache.
    misses : int
        Value reads answered by the wrapped store.

    Examples
    --------
    >>> from zarr_fast.storage import MemoryStore
    >>> from zarr_fast.storage.lru import LRUStoreCache
    >>> inner = MemoryStore()
    >>> inner["a"] = b"xxx"
    >>> cache = LRUStoreCache(inner, max_size=2**20)
    >>> cache["a"], cache["a"]
    (b'xxx', b'xxx')
    >>> cache.hits, cache.misses
    (1, 1)
    >>> sorted(cache.getitems(["a", "missing"]))
    ['a']
    >>> cache.hits
    2
    """

    def __init__(self, store, max_size: Optional[int]):
        self._store: BaseStore = BaseStore._ensure_store(store)
        self._max_size = max_size
        self._current_size = 0
        self._keys_cache: Optional[List[str]] = None
        self._contains_cache: Dict[Any, bool] = {}
        self._listdir_cache: Dict[str, List[str]] = {}
        self._values_cache: "OrderedDict[str, Any]" = OrderedDict()
        # bumped by every write, delete and invalidation: a read that started before a bump
        # must not cache what it read (it may be the old value)
        self._generation = 0
        self._mutex = Lock()
        self.hits = self.misses = 0

    # -- pickling ------------------------------------------------------------------------

    def __getstate__(self):
        return (self._store, self._max_size, self._current_size, self._keys_cache,
                self._contains_cache, self._listdir_cache, self._values_cache,
                self.hits, self.misses)

    def __setstate__(self, state):
        (self._store, self._max_size, self._current_size, self._keys_cache,
         self._contains_cache, self._listdir_cache, self._values_cache,
         self.hits, self.misses) = state
        self._generation = 0
        self._mutex = Lock()

    # -- capabilities: those of the wrapped store ----------------------------------------

    def _inner_flag(self, name: str) -> bool:
        method = getattr(self._store, name, None)
        return True if method is None else bool(method())

    def is_readable(self) -> bool:
        return self._inner_flag("is_readable")

    def is_writeable(self) -> bool:
        return self._inner_flag("is_writeable")

    def is_listable(self) -> bool:
        return self._inner_flag("is_listable")

    def is_erasable(self) -> bool:
        return self._inner_flag("is_erasable")

    # -- keys ----------------------------------------------------------------------------

    def _keys(self) -> List[str]:
        # caller holds the lock
        if self._keys_cache is None:
            self._keys_cache = list(self._store.keys())
        return self._keys_cache

    def keys(self):
        with self._mutex:
            return iter(self._keys())

    def __iter__(self):
        return self.keys()

    def __len__(self):
        with self._mutex:
            return len(self._keys())

    def __contains__(self, key):
        with self._mutex:
            if key not in self._contains_cache:
                self._contains_cache[key] = key in self._store
            return self._contains_cache[key]

    def listdir(self, path=None) -> List[str]:
        """Return the direct children of ``path``, from the cache when listed before."""
        from zarr_fast.storage.hierarchy import listdir

        path = normalize_storage_path(path)
        with self._mutex:
            try:
                return list(self._listdir_cache[path])
            except KeyError:
                listing = listdir(self._store, path)
                self._listdir_cache[path] = listing
                return list(listing)

    def getsize(self, path=None) -> int:
        """Return the wrapped store's answer (sizes are never cached)."""
        from zarr_fast.storage.hierarchy import getsize

        return getsize(self._store, path)

    # -- the value cache (caller holds the lock) -----------------------------------------

    def _accommodate_value(self, value_nbytes: int) -> None:
        if self._max_size is None:
            return
        # the front of the ordered dict is the least recently used value
        while self._values_cache and self._current_size + value_nbytes > self._max_size:
            _, evicted = self._values_cache.popitem(last=False)
            self._current_size -= buffer_size(evicted)

    def _cache_value(self, key, value) -> None:
        value_nbytes = buffer_size(value)
        # a value bigger than the whole cache would only flush everything else out
        if self._max_size is None or value_nbytes <= self._max_size:
            self._accommodate_value(value_nbytes)
            self._values_cache[key] = value
            self._current_size += value_nbytes

    def _invalidate_value(self, key) -> None:
        if key in self._values_cache:
            self._current_size -= buffer_size(self._values_cache.pop(key))

    def _invalidate_keys(self) -> None:
        self._keys_cache = None
        self._contains_cache.clear()
        self._listdir_cache.clear()

    def invalidate(self) -> None:
        """Completely clear the cache."""
        with self._mutex:
            self._generation += 1
            self._values_cache.clear()
            self._current_size = 0
            self._invalidate_keys()

    def invalidate_values(self) -> None:
        """Clear the values cache."""
        with self._mutex:
            self._generation += 1
            self._values_cache.clear()
            self._current_size = 0

    def invalidate_keys(self) -> None:
        """Clear the cached key listing, ``__contains__`` and ``listdir`` answers."""
        with self._mutex:
            self._invalidate_keys()

    # -- reads ---------------------------------------------------------------------------

    def __getitem__(self, key):
        with self._mutex:
            try:
                value = self._values_cache[key]
            except KeyError:
                generation = self._generation
            else:
                self.hits += 1
                self._values_cache.move_to_end(key)  # now the most recently used
                return value
        value = _as_cached(self._store[key])  # KeyError (absent) goes to the caller
        with self._mutex:
            self.misses += 1
            # another thread may have cached it meanwhile, or written over it
            if generation == self._generation and key not in self._values_cache:
                self._cache_value(key, value)
        return value

    def getitems(self, keys: Iterable[str], *, contexts: Optional[Mapping] = None) -> Dict[str, Any]:
        """Read several keys: cached ones from the cache, the rest in one wrapped-store batch.

        Parameters
        ----------
        keys : iterable of str
            Keys to read.
        contexts : mapping, optional
            Per-key hints, passed on to the wrapped store for the keys it is asked for.

        Returns
        -------
        dict
            The keys that are present, mapped to their values; absent keys are left out.
        """
        out: Dict[str, Any] = {}
        wanted: List[str] = []
        seen = set()
        with self._mutex:
            for key in keys:
                if key in seen:
                    continue
                seen.add(key)
                try:
                    value = self._values_cache[key]
                except KeyError:
                    if self._contains_cache.get(key) is not False:
                        wanted.append(key)
                else:
                    self.hits += 1
                    self._values_cache.move_to_end(key)
                    out[key] = value
            generation = self._generation
        if not wanted:
            return out
        if contexts is not None:
            contexts = {key: contexts[key] for key in wanted if key in contexts}
        fetched = self._store.getitems(wanted, contexts=contexts)
        with self._mutex:
            is_current = generation == self._generation
            for key in wanted:
                if key not in fetched:
                    if is_current:
                        self._contains_cache[key] = False
                    continue
                value = _as_cached(fetched[key])
                out[key] = value
                self.misses += 1
                if is_current:
                    self._contains_cache[key] = True
                    if key not in self._values_cache:
                        self._cache_value(key, value)
        return out

    # -- writes: through to the wrapped store, then the cache ----------------------------

    def __setitem__(self, key, value):
        self._store[key] = value
        with self._mutex:
            self._generation += 1
            self._invalidate_keys()
            self._invalidate_value(key)
            self._cache_value(key, _as_cached(value))

    def setitems(self, values: Mapping[str, Any]) -> None:
        """Write every ``key: value`` pair through to the wrapped store in one batch."""
        values = dict(values)
        if not values:
            return
        self._store.setitems(values)
        with self._mutex:
            self._generation += 1
            self._invalidate_keys()
            for key, value in values.items():
                self._invalidate_value(key)
                self._cache_value(key, _as_cached(value))

    def __delitem__(self, key):
        del self._store[key]
        with self._mutex:
            self._generation += 1
            self._invalidate_keys()
            self._invalidate_value(key)

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete ``keys`` from the wrapped store in one batch; absent keys are skipped."""
        keys = list(keys)
        if not keys:
            return
        try:
            self._store.delitems(keys)
        finally:
            # even a failed batch may have deleted some keys
            with self._mutex:
                self._generation += 1
                self._invalidate_keys()
                for key in keys:
                    self._invalidate_value(key)

    def _drop_everything_cached(self) -> None:
        with self._mutex:
            self._generation += 1
            self._values_cache.clear()
            self._current_size = 0
            self._invalidate_keys()

    def rmdir(self, path=None) -> None:
        """Remove everything under ``path`` in the wrapped store, then clear the cache."""
        from zarr_fast.storage.hierarchy import rmdir

        try:
            rmdir(self._store, path)
        finally:
            self._drop_everything_cached()

    def rename(self, src_path, dst_path) -> None:
        """Move everything under ``src_path`` in the wrapped store, then clear the cache."""
        from zarr_fast.storage.hierarchy import rename

        try:
            rename(self._store, src_path, dst_path)
        finally:
            self._drop_everything_cached()

    def clear(self) -> None:
        """Remove every key from the wrapped store and clear the cache."""
        try:
            self._store.clear()
        finally:
            self._drop_everything_cached()
