"""Consolidated metadata: ``.zmetadata`` bytes, ``open_consolidated`` and the read-only view.

Differential against zarr-python 2.18.7: the same hierarchy is written by both libraries,
consolidated by each, and the ``.zmetadata`` bytes compared; each library opens what the
other consolidated. Bad input: a missing or wrong-format document, stale documents, writes
through the consolidated view.
"""
import numpy as np
import pytest

import zarr_fast
from zarr_fast.errors import MetadataError, ReadOnlyError
from zarr_fast.storage import ConsolidatedMetadataStore


def _build(lib, store):
    root = lib.group(store=store, overwrite=True)
    root.attrs["title"] = "tree ü"
    foo = root.create_group("foo")
    foo.attrs["n"] = 3
    arr = foo.create_dataset("bar", shape=(20, 6), chunks=(7, 4), dtype="i4", fill_value=-1)
    arr[:10] = np.arange(60).reshape(10, 6)
    arr.attrs["units"] = "m"
    root.create_dataset("f", data=np.linspace(0, 1, 9), chunks=(4,))
    root.create_group("empty")
    return root


def _stores(lib, kind, tmp_path, tag):
    if kind == "memory":
        return lib.MemoryStore()
    if kind == "directory":
        return lib.DirectoryStore(str(tmp_path / tag))
    return lib.NestedDirectoryStore(str(tmp_path / tag))


@pytest.mark.parametrize("kind", ["memory", "directory", "nested"])
def test_zmetadata_bytes_match_zarr2(zarr2, tmp_path, kind):
    ours = _stores(zarr_fast, kind, tmp_path, "ours")
    theirs = _stores(zarr2, kind, tmp_path, "theirs")
    _build(zarr_fast, ours)
    _build(zarr2, theirs)
    group = zarr_fast.consolidate_metadata(ours)
    zarr2.consolidate_metadata(theirs)
    assert ours[".zmetadata"] == theirs[".zmetadata"]
    assert isinstance(group, zarr_fast.Group)
    assert group["foo/bar"][:2, :3].tolist() == [[0, 1, 2], [6, 7, 8]]


def test_consolidate_a_zarr2_hierarchy_byte_identical(zarr2):
    # same input store, each library consolidates it: identical bytes, different key names
    store = zarr2.MemoryStore()
    _build(zarr2, store)
    zarr2.consolidate_metadata(store, metadata_key="theirs")
    zarr_fast.consolidate_metadata(store, metadata_key="ours")
    assert store["ours"] == store["theirs"]


def test_each_opens_what_the_other_consolidated(zarr2):
    ours = zarr_fast.MemoryStore()
    _build(zarr_fast, ours)
    zarr_fast.consolidate_metadata(ours)
    theirs_view = zarr2.open_consolidated(zarr2.KVStore(dict(ours)), mode="r")
    assert theirs_view["foo/bar"][:].tolist() == zarr_fast.open(ours, mode="r")["foo/bar"][:].tolist()
    assert theirs_view.attrs["title"] == "tree ü"

    theirs = zarr2.MemoryStore()
    _build(zarr2, theirs)
    zarr2.consolidate_metadata(theirs)
    view = zarr_fast.open_consolidated(zarr_fast.KVStore(dict(theirs)), mode="r")
    assert sorted(view.group_keys()) == ["empty", "foo"]
    assert view["foo"].attrs["n"] == 3
    assert view["foo/bar"].attrs["units"] == "m"
    assert view["foo/bar"].fill_value == -1
    np.testing.assert_array_equal(view["f"][:], np.linspace(0, 1, 9))


def test_open_consolidated_reads_metadata_from_one_key_only():
    store = zarr_fast.MemoryStore()
    _build(zarr_fast, store)
    zarr_fast.consolidate_metadata(store)
    # drop every metadata document from the store: the view still knows the hierarchy
    for key in [k for k in store if k.endswith((".zarray", ".zgroup", ".zattrs"))]:
        del store[key]
    view = zarr_fast.open_consolidated(store, mode="r")
    assert view["foo/bar"][1, :].tolist() == [6, 7, 8, 9, 10, 11]
    assert view.attrs["title"] == "tree ü"


def test_mode_r_plus_writes_data_but_not_metadata():
    store = zarr_fast.MemoryStore()
    _build(zarr_fast, store)
    zarr_fast.consolidate_metadata(store)
    view = zarr_fast.open_consolidated(store, mode="r+")
    view["foo/bar"][15:, 0] = 99
    assert zarr_fast.open(store, mode="r")["foo/bar"][15:, 0].tolist() == [99] * 5
    with pytest.raises(ReadOnlyError):
        view.attrs["x"] = 1
    with pytest.raises(ReadOnlyError):
        view.create_group("new")
    with pytest.raises(ReadOnlyError):
        view["foo/bar"].resize(30, 6)
    assert "new" not in zarr_fast.open(store, mode="r")


def test_mode_r_refuses_data_writes():
    store = zarr_fast.MemoryStore()
    _build(zarr_fast, store)
    zarr_fast.consolidate_metadata(store)
    view = zarr_fast.open_consolidated(store, mode="r")
    with pytest.raises(ReadOnlyError):
        view["foo/bar"][0, 0] = 5


@pytest.mark.parametrize("mode", ["a", "w", "w-"])
def test_open_consolidated_refuses_other_modes(zarr2, mode):
    store = zarr_fast.MemoryStore()
    _build(zarr_fast, store)
    zarr_fast.consolidate_metadata(store)
    with pytest.raises(ValueError, match="invalid mode"):
        zarr_fast.open_consolidated(store, mode=mode)
    with pytest.raises(ValueError, match="invalid mode"):
        zarr2.open_consolidated(zarr2.KVStore(dict(store)), mode=mode)


def test_missing_document_is_keyerror():
    store = zarr_fast.MemoryStore()
    _build(zarr_fast, store)
    with pytest.raises(KeyError):
        zarr_fast.open_consolidated(store)


def test_wrong_format_is_metadataerror():
    store = zarr_fast.MemoryStore()
    store[".zmetadata"] = b'{"metadata": {}, "zarr_consolidated_format": 2}'
    with pytest.raises(MetadataError, match="unsupported zarr consolidated metadata format: 2"):
        ConsolidatedMetadataStore(store)


def test_stale_document_reports_consolidated_state(zarr2):
    # a .zmetadata that disagrees with the files: both libraries believe the document
    results = []
    for lib in (zarr_fast, zarr2):
        store = lib.MemoryStore()
        root = _build(lib, store)
        lib.consolidate_metadata(store)
        root["foo/bar"].resize(40, 6)
        root.create_group("later")
        view = lib.open_consolidated(store, mode="r")
        results.append((view["foo/bar"].shape, "later" in view, sorted(view.group_keys())))
        with pytest.raises(KeyError):
            view["later"]
    assert results[0] == results[1] == ((20, 6), False, ["empty", "foo"])


def test_store_view_is_read_only_mapping():
    store = zarr_fast.MemoryStore()
    _build(zarr_fast, store)
    zarr_fast.consolidate_metadata(store, metadata_key="meta")
    view = ConsolidatedMetadataStore(store, metadata_key="meta")
    assert ".zgroup" in view and "foo/bar/0.0" not in view
    assert sorted(view.listdir("foo")) == [".zattrs", ".zgroup", "bar"]
    assert len(view) == len(list(view)) == 8
    assert zarr_fast.open(view, mode="r")["foo/bar"].shape == (20, 6)
    with pytest.raises(ReadOnlyError):
        view[".zgroup"] = b"{}"
    with pytest.raises(ReadOnlyError):
        del view[".zgroup"]


def test_consolidate_with_path_opens_subgroup():
    store = zarr_fast.MemoryStore()
    _build(zarr_fast, store)
    sub = zarr_fast.consolidate_metadata(store, path="foo")
    assert sub.path == "foo"
    assert list(sub.array_keys()) == ["bar"]


def test_store_hands_out_parsed_documents_as_zarr_does(zarr2):
    """``ConsolidatedMetadataStore[key]`` is the parsed document (a dict), as in 2.18, and
    arrays read through it still digest their metadata."""
    import numpy as np

    import zarr_fast
    from zarr_fast.storage import ConsolidatedMetadataStore, MemoryStore

    store = MemoryStore()
    root = zarr_fast.group(store=store)
    arr = root.zeros("a", shape=(5,), chunks=(2,), dtype="i2")
    arr[:] = np.arange(5)
    arr.attrs["units"] = "m"
    zarr_fast.consolidate_metadata(store)
    ours = ConsolidatedMetadataStore(store)
    theirs = zarr2.storage.ConsolidatedMetadataStore(dict(store.items()))
    for key in ("a/.zarray", "a/.zattrs", ".zgroup"):
        assert isinstance(ours[key], dict)
        assert ours[key] == theirs[key]
    view = zarr_fast.open_consolidated(store, mode="r")
    assert view["a"].attrs.asdict() == {"units": "m"}
    assert view["a"].hexdigest() == arr.hexdigest()
    view["a"].attrs.asdict()["units"] = "changed"  # callers get copies
    assert ours["a/.zattrs"] == {"units": "m"}
