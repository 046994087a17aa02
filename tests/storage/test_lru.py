"""LRUStoreCache: differential against zarr 2.18.7's, batch reads, eviction, invalidation.

The generic mapping/hierarchy behaviour is covered by ``test_store_contract.py``.
"""
import pickle
import random
import threading
from collections import Counter

import numpy as np
import pytest

import zarr_fast
from zarr_fast.storage import KVStore, MemoryStore
from zarr_fast.storage.lru import LRUStoreCache


class CountingStore(KVStore):
    """A dict-backed store that counts the calls the cache makes on it."""

    def __init__(self):
        super().__init__(dict())
        self.counter = Counter()
        self.batches = []

    def __getitem__(self, key):
        self.counter["__getitem__", key] += 1
        return super().__getitem__(key)

    def __contains__(self, key):
        self.counter["__contains__", key] += 1
        return super().__contains__(key)

    def keys(self):
        self.counter["keys"] += 1
        return super().keys()

    def getitems(self, keys, *, contexts=None):
        keys = list(keys)
        self.batches.append((keys, contexts))
        return {k: self._mutable_mapping[k] for k in keys if k in self._mutable_mapping}


# -- differential against zarr 2.18.7 -----------------------------------------------------


def _run_ops(cache, ops):
    trace = []
    for op, key, value in ops:
        try:
            if op == "get":
                trace.append(bytes(cache[key]))
            elif op == "set":
                cache[key] = value
            elif op == "del":
                del cache[key]
            elif op == "contains":
                trace.append(key in cache)
            elif op == "keys":
                trace.append(sorted(cache.keys()))
            elif op == "len":
                trace.append(len(cache))
            elif op == "invalidate":
                cache.invalidate()
            elif op == "invalidate_keys":
                cache.invalidate_keys()
        except KeyError:
            trace.append("KeyError")
        trace.append((cache.hits, cache.misses))
    return trace


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("max_size", [None, 0, 5, 12, 40])
def test_same_hits_misses_and_values_as_zarr2(zarr2, seed, max_size):
    rng = random.Random(seed)
    keys = ["a", "b", "c/0", "c/1", "d"]
    ops = []
    for _ in range(80):
        op = rng.choice(["get"] * 6 + ["set"] * 2 + ["del", "contains", "keys", "len",
                                                   "invalidate", "invalidate_keys"])
        ops.append((op, rng.choice(keys), bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))))
    inner_ours, inner_theirs = CountingStore(), zarr2.storage.KVStore(dict())
    for inner in (inner_ours, inner_theirs):
        inner["a"] = b"xyz"
        inner["c/0"] = b"0123456"
    ours = LRUStoreCache(inner_ours, max_size=max_size)
    theirs = zarr2.storage.LRUStoreCache(inner_theirs, max_size=max_size)
    assert _run_ops(ours, ops) == _run_ops(theirs, ops)


def test_getitems_counts_like_zarr2(zarr2):
    inner_ours, inner_theirs = MemoryStore(), zarr2.storage.MemoryStore()
    for inner in (inner_ours, inner_theirs):
        inner.update({"x/0": b"00", "x/1": b"11", "x/2": b"22"})
    ours = LRUStoreCache(inner_ours, max_size=None)
    theirs = zarr2.storage.LRUStoreCache(inner_theirs, max_size=None)
    for batch in (["x/0", "x/9"], ["x/0", "x/1", "x/2"], ["x/2", "x/9"], ["x/1"]):
        got_ours = ours.getitems(batch, contexts={})
        got_theirs = theirs.getitems(batch, contexts={})
        assert {k: bytes(v) for k, v in got_ours.items()} == {k: bytes(v) for k, v in got_theirs.items()}
        assert (ours.hits, ours.misses) == (theirs.hits, theirs.misses)
    assert (ours.hits, ours.misses) == (3, 3)


# -- batch reads ---------------------------------------------------------------------------


def test_getitems_fetches_only_missing_keys_in_one_inner_call():
    inner = CountingStore()
    inner.update({"k0": b"0", "k1": b"1", "k2": b"2"})
    cache = LRUStoreCache(inner, max_size=None)
    assert cache["k0"] == b"0"
    got = cache.getitems(["k0", "k1", "k2", "k1", "nope"], contexts={"k1": {"a": 1}, "k0": {}})
    assert got == {"k0": b"0", "k1": b"1", "k2": b"2"}
    assert inner.batches == [(["k1", "k2", "nope"], {"k1": {"a": 1}})]
    assert (cache.hits, cache.misses) == (1, 3)
    # everything present is cached now, and "nope" is known to be absent: no inner call
    assert cache.getitems(["k2", "nope", "k1"]) == {"k2": b"2", "k1": b"1"}
    assert len(inner.batches) == 1
    assert (cache.hits, cache.misses) == (3, 3)
    assert "nope" not in cache and inner.counter["__contains__", "nope"] == 0
    # a write makes the absent key worth asking for again
    cache["nope"] = b"here"
    cache.invalidate_values()
    assert cache.getitems(["nope"]) == {"nope": b"here"}
    assert inner.batches[-1] == (["nope"], None)


def test_getitems_propagates_inner_errors_and_caches_nothing():
    class Failing(MemoryStore):
        def getitems(self, keys, *, contexts=None):
            raise OSError("server unreachable")

    inner = Failing()
    inner["k"] = b"v"
    cache = LRUStoreCache(inner, max_size=None)
    with pytest.raises(OSError, match="unreachable"):
        cache.getitems(["k"])
    assert (cache.hits, cache.misses) == (0, 0)
    assert cache._values_cache == {}


def test_array_reads_go_through_the_cache():
    inner = CountingStore()
    cache = LRUStoreCache(inner, max_size=None)
    z = zarr_fast.zeros((10, 10), chunks=(5, 5), dtype="i4", store=cache)
    z[:] = np.arange(100).reshape(10, 10)
    cache.invalidate_values()
    inner.batches.clear()
    np.testing.assert_array_equal(z[:], np.arange(100).reshape(10, 10))
    np.testing.assert_array_equal(z[:], np.arange(100).reshape(10, 10))
    chunk_batches = [keys for keys, _ in inner.batches if any(k[0].isdigit() for k in keys)]
    assert chunk_batches == [["0.0", "0.1", "1.0", "1.1"]]  # the second read is all hits
    assert cache.hits >= 4


# -- values, eviction, invalidation --------------------------------------------------------


def test_lru_eviction_order_and_oversized_values():
    inner = CountingStore()
    inner.update({"a": b"aaaa", "b": b"bbbb", "c": b"cccc", "big": b"x" * 20})
    cache = LRUStoreCache(inner, max_size=10)
    cache["a"], cache["b"], cache["a"]  # b is now the least recently used
    cache["c"]  # evicts b
    assert list(cache._values_cache) == ["a", "c"] and cache._current_size == 8
    assert cache["big"] == b"x" * 20  # bigger than the cache: passed through, not cached
    assert list(cache._values_cache) == ["a", "c"]
    cache["b"]
    assert inner.counter["__getitem__", "b"] == 2
    assert list(cache._values_cache) == ["c", "b"]


def test_values_are_cached_as_immutable_bytes():
    cache = LRUStoreCache(MemoryStore(), max_size=None)
    buf = bytearray(b"abc")
    cache["k"] = buf
    buf[0] = ord("z")
    assert cache["k"] == b"abc" and isinstance(cache["k"], bytes)
    cache["arr"] = np.arange(3, dtype="<u2")
    assert cache["arr"] == np.arange(3, dtype="<u2").tobytes()


def test_invalidate_values_resets_the_size():
    # zarr 2.18 keeps counting the dropped values, then evicts everything too early
    inner = MemoryStore()
    inner.update({"a": b"aaaa", "b": b"bbbb"})
    cache = LRUStoreCache(inner, max_size=8)
    cache["a"], cache["b"]
    cache.invalidate_values()
    assert cache._current_size == 0
    cache["a"], cache["b"]
    assert sorted(cache._values_cache) == ["a", "b"] and cache._current_size == 8


def test_a_write_during_a_read_never_caches_the_old_value():
    class Racing(MemoryStore):
        cache = None

        def __getitem__(self, key):
            old = super().__getitem__(key)
            if key == "k" and old == b"old":
                self.cache["k"] = b"new"  # another writer gets in while we read
            return old

    inner = Racing()
    inner["k"] = b"old"
    cache = Racing.cache = LRUStoreCache(inner, max_size=None)
    assert cache["k"] == b"old"
    assert cache["k"] == b"new" and cache.hits == 1


def test_keys_contains_listdir_cached_and_invalidated_by_writes():
    inner = CountingStore()
    inner.update({"g/a": b"1", "g/b": b"2"})
    cache = LRUStoreCache(inner, max_size=None)
    assert cache.listdir("g") == ["a", "b"] and cache.listdir("/g/") == ["a", "b"]
    assert sorted(cache) == ["g/a", "g/b"] and len(cache) == 2
    # one listing for both spellings of the path, one shared by iter and len
    assert inner.counter["keys"] == 2
    assert cache.listdir("g") == ["a", "b"] and sorted(cache) == ["g/a", "g/b"]
    assert inner.counter["keys"] == 2
    cache["g/c"] = b"3"
    assert cache.listdir("g") == ["a", "b", "c"]
    assert inner.counter["keys"] == 3


def test_rmdir_rename_clear_delegate_and_drop_cache():
    inner = MemoryStore()
    cache = LRUStoreCache(inner, max_size=None)
    cache.setitems({"g/a": b"1", "g/b/c": b"2", "h": b"3"})
    assert inner["g/a"] == b"1"
    cache.rename("g", "k")
    assert sorted(inner) == ["h", "k/a", "k/b/c"]
    with pytest.raises(KeyError):
        cache["g/a"]
    assert cache["k/a"] == b"1"
    cache.rmdir("k")
    assert sorted(cache) == ["h"] and "k/a" not in cache
    cache.delitems(["h", "absent"])
    assert list(inner) == [] and cache._values_cache == {}
    cache["z"] = b"1"
    cache.clear()
    assert list(inner) == [] and len(cache) == 0 and cache._current_size == 0


def test_capabilities_follow_the_wrapped_store(tmp_path):
    from zarr_fast.storage.zip import ZipStore

    path = str(tmp_path / "s.zip")
    ZipStore(path, mode="w").close()
    with ZipStore(path, mode="r") as zs:
        cache = LRUStoreCache(zs, max_size=None)
        assert cache.is_readable() and not cache.is_writeable() and not cache.is_erasable()
    assert LRUStoreCache(dict(), max_size=None).is_erasable()


def test_pickle_keeps_cache_and_counters():
    cache = LRUStoreCache(MemoryStore(), max_size=100)
    cache["a"] = b"xyz"
    cache["a"], cache.get("missing")
    clone = pickle.loads(pickle.dumps(cache))
    assert (clone.hits, clone.misses) == (1, 0)
    assert clone["a"] == b"xyz" and clone.hits == 2
    clone["b"] = b"1"
    assert "b" not in cache


def test_threads_keep_the_size_accounting_exact():
    inner = MemoryStore()
    inner.update({f"k{i}": bytes(i % 7 + 1) for i in range(40)})
    cache = LRUStoreCache(inner, max_size=60)
    errors = []

    def work(seed):
        rng = random.Random(seed)
        try:
            for _ in range(300):
                key = f"k{rng.randrange(40)}"
                if rng.random() < 0.2:
                    cache[key] = bytes(rng.randrange(1, 8))
                elif rng.random() < 0.5:
                    cache.getitems([key, f"k{rng.randrange(40)}"])
                else:
                    assert len(cache[key]) in range(1, 8)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache._current_size == sum(len(v) for v in cache._values_cache.values()) <= 60
    for key, value in cache._values_cache.items():
        assert inner[key] == value
