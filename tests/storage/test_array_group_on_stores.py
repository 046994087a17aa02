"""Arrays and groups on every store kind: the same operations, the same answers.

Each test runs once per store kind (``store_kind``, parametrized by tests/conftest.py) and
compares against NumPy, or against the same calls on a MemoryStore, so a store that loses,
reorders or misnames keys shows up as wrong values rather than as a missing feature.
"""
import numpy as np
import pytest

import zarr_fast
from zarr_fast.storage import MemoryStore


def _values(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-1000, 1000, size=shape).astype("i4")


def test_array_every_indexing_mode(store_kind, make_store):
    store = make_store(store_kind)
    expected = _values((23, 17))
    z = zarr_fast.zeros((23, 17), chunks=(5, 4), dtype="i4", store=store)
    z[:] = expected
    np.testing.assert_array_equal(z[:], expected)
    np.testing.assert_array_equal(z[3:19:2, -7:], expected[3:19:2, -7:])
    rows, cols = [0, 4, 5, 22], [16, 1, 3]
    np.testing.assert_array_equal(z.oindex[rows, cols], expected[np.ix_(rows, cols)])
    np.testing.assert_array_equal(z.vindex[rows, [1, 2, 3, 16]], expected[rows, [1, 2, 3, 16]])
    mask = expected > 500
    np.testing.assert_array_equal(z.get_mask_selection(mask), expected[mask])
    np.testing.assert_array_equal(z.blocks[1, 2], expected[5:10, 8:12])

    # partial-chunk writes read, merge and re-store existing chunks
    z[2:9, 3:6] = -1
    expected[2:9, 3:6] = -1
    z.oindex[[1, 20], [0, 15]] = 7
    expected[np.ix_([1, 20], [0, 15])] = 7
    z.vindex[[0, 22], [16, 0]] = 9
    expected[[0, 22], [16, 0]] = 9
    np.testing.assert_array_equal(z[:], expected)

    again = zarr_fast.open_array(store, mode="r")
    np.testing.assert_array_equal(again[:], expected)
    assert again.nchunks_initialized == again.nchunks == 25


def test_array_matches_memory_store_bytes(store_kind, make_store):
    store = make_store(store_kind)
    # a nested store writes '/'-separated chunk keys (and says so in .zarray): mirror it
    reference = MemoryStore(dimension_separator=getattr(store, "_dimension_separator", None))
    data = _values((40, 30), seed=1)
    for s in (store, reference):
        z = zarr_fast.array(data, chunks=(16, 16), store=s, fill_value=0)
        z.attrs["units"] = "m"
    ours, ref = zarr_fast.open_array(store), zarr_fast.open_array(reference)
    assert ours.hexdigest() == ref.hexdigest()
    assert ours.nbytes_stored == ref.nbytes_stored
    assert sorted(k.replace("\\", "/") for k in store.keys()) == sorted(reference.keys())
    assert dict(ours.attrs) == {"units": "m"}


def test_resize_append_and_empty_chunks(store_kind, make_store):
    store = make_store(store_kind)
    z = zarr_fast.zeros((10, 4), chunks=(4, 4), dtype="f8", store=store, write_empty_chunks=False)
    z[:] = 1.5
    z.append(np.full((6, 4), 2.5))
    assert z.shape == (16, 4)
    z.resize(12, 4)
    expected = np.concatenate([np.full((10, 4), 1.5), np.full((2, 4), 2.5)])
    np.testing.assert_array_equal(z[:], expected)
    assert "3.0" not in store  # chunk beyond the new shape removed
    z[:4] = 0  # all fill value: not stored with write_empty_chunks=False
    assert "0.0" not in store
    np.testing.assert_array_equal(zarr_fast.open_array(store, mode="r")[:4], np.zeros((4, 4)))


def test_group_hierarchy(store_kind, make_store):
    store = make_store(store_kind)
    root = zarr_fast.group(store=store)
    a = root.create_group("a")
    a.attrs["title"] = "first"
    x = a.zeros("x", shape=(6,), chunks=(4,), dtype="u2")
    x[:] = np.arange(6)
    root.require_group("b/c").ones("y", shape=(2, 2), chunks=(1, 2))
    assert sorted(root.group_keys()) == ["a", "b"]
    assert [p for p, _ in root.arrays(recurse=True)] == ["x", "y"]
    seen = []
    root.visitkeys(seen.append)
    assert seen == ["a", "a/x", "b", "b/c", "b/c/y"]
    np.testing.assert_array_equal(root["a/x"][:], np.arange(6))
    np.testing.assert_array_equal(root["b/c/y"][:], np.ones((2, 2)))

    root.move("a/x", "b/x")
    assert "a/x" not in root and "b/x" in root
    np.testing.assert_array_equal(root["b/x"][:], np.arange(6))
    del root["b/c"]
    assert sorted(root["b"].keys()) == ["x"]
    assert root["a"].attrs["title"] == "first"


def test_consolidated_metadata(store_kind, make_store):
    store = make_store(store_kind)
    root = zarr_fast.group(store=store)
    root.create_group("g").zeros("z", shape=(3,), chunks=(2,), dtype="i8")[:] = [4, 5, 6]
    root.attrs["k"] = 1
    zarr_fast.consolidate_metadata(store)
    view = zarr_fast.open_consolidated(store, mode="r")
    assert view.attrs["k"] == 1
    np.testing.assert_array_equal(view["g/z"][:], [4, 5, 6])
