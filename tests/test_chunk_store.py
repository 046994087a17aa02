"""``chunk_store=``: chunks go to a separate store, metadata and attributes stay in ``store``.

Every case runs the same calls through zarr 2.18.7 and compares where each key lands, the
metadata bytes and the values read back.
"""
import warnings

import numpy as np
import pytest

import zarr_fast
from zarr_fast.storage.sqlite import SQLiteStore

DATA = np.arange(7 * 9, dtype="<i4").reshape(7, 9)


def _same_layout(ours, theirs):
    """Both (store, chunk_store) pairs hold the same keys with the same bytes."""
    for mine, other in zip(ours, theirs):
        assert sorted(mine) == sorted(other)
        for key in other:
            assert bytes(mine[key]) == bytes(other[key]), key


@pytest.mark.parametrize("path", [None, "a/b"])
def test_create(zarr2, path):
    layouts = []
    for lib in (zarr_fast, zarr2):
        store, chunk_store = {}, {}
        z = lib.create(shape=DATA.shape, chunks=(3, 4), dtype=DATA.dtype, store=store,
                       chunk_store=chunk_store, path=path, fill_value=-1)
        z[...] = DATA
        z.attrs["unit"] = "m"
        assert z.nchunks_initialized == 9
        np.testing.assert_array_equal(z[...], DATA)
        layouts.append((store, chunk_store))
    (store, chunk_store), theirs = layouts
    prefix = f"{path}/" if path else ""
    assert f"{prefix}.zarray" in store and f"{prefix}.zattrs" in store
    assert all(k.startswith(prefix) and not k.rsplit("/", 1)[-1].startswith(".")
               for k in chunk_store)
    assert len(chunk_store) == 9
    _same_layout((store, chunk_store), theirs)


def test_zeros_and_reopen(zarr2):
    layouts = []
    for lib in (zarr_fast, zarr2):
        store, chunk_store = {}, {}
        z = lib.zeros((10, 10), chunks=(5, 5), dtype="f8", store=store, chunk_store=chunk_store)
        z[0:5, 0:5] = 1.5
        layouts.append((store, chunk_store))
        # reopened with the same pair, read by either library
        for reader in (zarr_fast, zarr2):
            again = reader.open_array(store, mode="r", chunk_store=chunk_store)
            assert again[...].sum() == 25 * 1.5
    (store, chunk_store), theirs = layouts
    assert sorted(store) == [".zarray"] and sorted(chunk_store) == ["0.0"]
    _same_layout((store, chunk_store), theirs)


def test_open_array_write_then_partial_write(zarr2):
    layouts = []
    for lib in (zarr_fast, zarr2):
        store, chunk_store = {}, {}
        z = lib.open_array(store, mode="w", shape=(12,), chunks=(5,), dtype="u2",
                           chunk_store=chunk_store)
        z[3:8] = 7
        z = lib.open_array(store, mode="r+", chunk_store=chunk_store)
        z[10:] = 9
        expected = np.zeros(12, dtype="u2")
        expected[3:8] = 7
        expected[10:] = 9
        np.testing.assert_array_equal(z[...], expected)
        layouts.append((store, chunk_store))
    (store, chunk_store), theirs = layouts
    assert sorted(chunk_store) == ["0", "1", "2"] and sorted(store) == [".zarray"]
    _same_layout((store, chunk_store), theirs)


def test_group_create_dataset(zarr2):
    layouts = []
    for lib in (zarr_fast, zarr2):
        store, chunk_store = {}, {}
        root = lib.group(store, chunk_store=chunk_store)
        sub = root.create_group("g")
        x = sub.create_dataset("x", data=DATA, chunks=(4, 5))
        y = root.zeros("y", shape=(4,), chunks=(2,), dtype="i1")
        y[:] = [1, 2, 3, 4]
        assert x.chunk_store is not None and x.nchunks_initialized == 4
        reopened = lib.open_group(store, mode="r", chunk_store=chunk_store)
        np.testing.assert_array_equal(reopened["g/x"][...], DATA)
        np.testing.assert_array_equal(reopened["y"][...], [1, 2, 3, 4])
        layouts.append((store, chunk_store))
    (store, chunk_store), theirs = layouts
    assert sorted(store) == [".zgroup", "g/.zgroup", "g/x/.zarray", "y/.zarray"]
    assert sorted(chunk_store) == ["g/x/0.0", "g/x/0.1", "g/x/1.0", "g/x/1.1", "y/0", "y/1"]
    _same_layout((store, chunk_store), theirs)


def test_resize_and_delete_touch_only_chunk_store(zarr2):
    layouts = []
    for lib in (zarr_fast, zarr2):
        store, chunk_store = {}, {}
        z = lib.create(shape=(10,), chunks=(3,), dtype="i8", store=store, chunk_store=chunk_store)
        z[:] = np.arange(10)
        z.resize(4)  # chunks wholly past the new end go, from the chunk store
        z.append(np.arange(3))
        np.testing.assert_array_equal(z[...], [0, 1, 2, 3, 0, 1, 2])
        layouts.append((store, chunk_store))
    (store, chunk_store), theirs = layouts
    assert sorted(store) == [".zarray"] and sorted(chunk_store) == ["0", "1", "2"]
    _same_layout((store, chunk_store), theirs)


def test_chunks_in_a_database_metadata_in_memory(tmp_path):
    chunk_store = SQLiteStore(str(tmp_path / "chunks.sqldb"))
    store = {}
    z = zarr_fast.create(shape=DATA.shape, chunks=(4, 4), dtype=DATA.dtype, store=store,
                         chunk_store=chunk_store)
    z[...] = DATA
    assert sorted(store) == [".zarray"]
    assert sorted(chunk_store) == [f"{i}.{j}" for i in range(2) for j in range(3)]
    again = zarr_fast.open_array(store, mode="r", chunk_store=chunk_store)
    np.testing.assert_array_equal(again[...], DATA)
    chunk_store.close()


def test_info_names_the_chunk_store(zarr2):
    z = zarr_fast.zeros((4,), chunks=(2,), store={}, chunk_store={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z2 = zarr2.zeros((4,), chunks=(2,), store={}, chunk_store={})
    def fields(info):
        return {k.strip(): v.strip() for k, v in
                (line.split(" : ", 1) for line in repr(info).splitlines())}

    ours, theirs = fields(z.info), fields(z2.info)
    assert ours["Chunk store type"] == "zarr_fast.storage.KVStore"
    assert theirs["Chunk store type"] == "zarr.storage.KVStore"
    assert ours["No. bytes stored"] == theirs["No. bytes stored"]


def test_overwrite_clears_old_chunks_in_chunk_store(zarr2):
    layouts = []
    for lib in (zarr_fast, zarr2):
        store, chunk_store = {}, {}
        z = lib.create(shape=(6,), chunks=(2,), dtype="u1", store=store, chunk_store=chunk_store,
                       path="arr")
        z[:] = 5
        z = lib.create(shape=(3,), chunks=(3,), dtype="u1", store=store, chunk_store=chunk_store,
                       path="arr", overwrite=True)
        np.testing.assert_array_equal(z[...], [0, 0, 0])
        layouts.append((store, chunk_store))
    (store, chunk_store), theirs = layouts
    assert sorted(chunk_store) == [] and sorted(store) == [".zgroup", "arr/.zarray"]
    _same_layout((store, chunk_store), theirs)


def test_group_array_and_require_dataset(zarr2):
    layouts = []
    for lib in (zarr_fast, zarr2):
        store, chunk_store = {}, {}
        root = lib.group(store, chunk_store=chunk_store)
        root.array("a", np.arange(5, dtype="<i2"), chunks=(2,))
        again = root.require_dataset("a", shape=(5,), dtype="<i2")
        np.testing.assert_array_equal(again[...], np.arange(5))
        assert again.nbytes_stored == root["a"].nbytes_stored
        layouts.append((store, chunk_store))
    (store, chunk_store), theirs = layouts
    assert sorted(chunk_store) == ["a/0", "a/1", "a/2"]
    _same_layout((store, chunk_store), theirs)
