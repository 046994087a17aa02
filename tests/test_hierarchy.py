"""Tests of zarr_fast.hierarchy: Group, group, open_group and the tree view.

Most tests run over each store kind (plain dict, MemoryStore, DirectoryStore,
NestedDirectoryStore) and compare with zarr-python 2.18.7 doing the same operations:
the store documents must be byte-identical and each library must read what the other wrote.
"""
import pickle

import numpy as np
import pytest
import zarr as zarr_ref

import zarr_fast
from zarr_fast import Array, Group, group, open_group
from zarr_fast.errors import (
    ContainsArrayError,
    ContainsGroupError,
    GroupNotFoundError,
    ReadOnlyError,
)
from zarr_fast.storage import DirectoryStore, MemoryStore, NestedDirectoryStore

STORE_KINDS = ["dict", "memory", "directory", "nested"]


def make_store(kind, tmp_path, lib=zarr_fast, name="data"):
    """A fresh store of ``kind`` from ``lib`` (zarr_fast or zarr 2.18)."""
    if kind == "dict":
        return {}
    if kind == "memory":
        return lib.storage.MemoryStore()
    if kind == "directory":
        return lib.storage.DirectoryStore(str(tmp_path / name))
    return lib.storage.NestedDirectoryStore(str(tmp_path / name))


@pytest.fixture(params=STORE_KINDS)
def store(request, tmp_path):
    return make_store(request.param, tmp_path)


def build(lib, store):
    """The same small hierarchy, built through ``lib``'s Group API."""
    root = lib.group(store)
    root.attrs["title"] = "root"
    foo = root.create_group("foo")
    foo.attrs.update(a=1, b=[1, 2])
    bar = foo.create_group("bar")
    bar.zeros("baz", shape=(10, 4), chunks=(5, 2), dtype="i4")
    root.array("data", np.arange(12, dtype="f8").reshape(3, 4), chunks=(2, 2))
    root.require_group("quux/deep")
    root.full("q/filled", shape=5, chunks=2, fill_value=7, dtype="u2")
    root["data"][0, 0] = -1.0
    return root


def store_contents(store):
    """Every key and value of a store (values as bytes)."""
    return {k: bytes(store[k]) for k in store.keys()}


# -- interop and bytes -------------------------------------------------------------------


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_same_store_bytes_as_zarr(kind, tmp_path):
    ours = make_store(kind, tmp_path, zarr_fast, "ours")
    theirs = make_store(kind, tmp_path, zarr_ref, "theirs")
    build(zarr_fast, ours)
    build(zarr_ref, theirs)
    got, want = store_contents(ours), store_contents(theirs)
    assert sorted(got) == sorted(want)
    for key in want:
        if key.endswith((".zgroup", ".zattrs", ".zarray")):
            assert got[key] == want[key], key
    # chunks decode to the same values
    assert np.array_equal(zarr_ref.open_array(ours, path="data", mode="r")[...],
                          zarr_ref.open_array(theirs, path="data", mode="r")[...])


@pytest.mark.parametrize("kind", ["dict", "directory", "nested"])
def test_zarr_reads_ours_and_we_read_theirs(kind, tmp_path):
    ours = make_store(kind, tmp_path, zarr_fast, "ours")
    theirs = make_store(kind, tmp_path, zarr_ref, "theirs")
    build(zarr_fast, ours)
    build(zarr_ref, theirs)
    # zarr 2.18 walks what we wrote, and we walk what it wrote, with equal results
    ref_view = zarr_ref.open_group(ours, mode="r")
    our_view = open_group(theirs, mode="r")
    ref_paths, our_paths = [], []
    ref_view.visit(ref_paths.append)
    our_view.visit(our_paths.append)
    assert ref_paths == our_paths == [
        "data", "foo", "foo/bar", "foo/bar/baz", "q", "q/filled", "quux", "quux/deep"]
    assert dict(ref_view["foo"].attrs) == dict(our_view["foo"].attrs) == {"a": 1, "b": [1, 2]}
    assert np.array_equal(ref_view["data"][...], our_view["data"][...])
    assert our_view["data"][0, 0] == -1.0
    assert np.array_equal(our_view["q/filled"][...], np.full(5, 7, dtype="u2"))
    assert str(ref_view.tree()) == str(our_view.tree())
    assert bytes(ref_view.tree()) == bytes(our_view.tree())


def test_tree_text_matches_zarr(tmp_path):
    ours, theirs = build(zarr_fast, {}), build(zarr_ref, {})
    for level in (None, 0, 1, 2):
        assert repr(ours.tree(level=level)) == repr(theirs.tree(level=level))
        assert bytes(ours.tree(level=level)) == bytes(theirs.tree(level=level))
    assert repr(ours["foo"].tree()) == repr(theirs["foo"].tree())
    assert repr(ours.tree()) == (
        "/\n"
        " ├── data (3, 4) float64\n"
        " ├── foo\n"
        " │   └── bar\n"
        " │       └── baz (10, 4) int32\n"
        " ├── q\n"
        " │   └── filled (5,) uint16\n"
        " └── quux\n"
        "     └── deep"
    )
    assert repr(zarr_fast.group().tree()) == "/"


def test_tree_html_has_no_dependencies():
    root = build(zarr_fast, {})
    text = root.tree()._repr_html_()
    assert text.startswith('<ul class="zarr-tree"')
    assert "baz (10, 4) int32" in text and "<details open><summary>/</summary>" in text
    assert "<details open><summary>foo" not in text
    assert "<details open><summary>foo" in root.tree(expand=True)._repr_html_()
    assert "deep" not in root.tree(level=1)._repr_html_()


def test_info_matches_zarr():
    ours, theirs = build(zarr_fast, {}), build(zarr_ref, {})
    ours_items = [(k, v.replace("zarr_fast.", "zarr.")) if isinstance(v, str) else (k, v)
                  for k, v in ours.info_items()]
    assert ours_items == theirs.info_items()
    assert repr(ours.info).startswith("Name        : /\nType        : zarr_fast.hierarchy.Group")
    assert "zarr-info" in ours.info._repr_html_()


# -- the Group surface -----------------------------------------------------------------


def test_properties_and_repr(store):
    root = build(zarr_fast, store)
    foo = root["foo"]
    assert (foo.path, foo.name, foo.basename) == ("foo", "/foo", "foo")
    assert (root.path, root.name, root.basename) == ("", "/", "")
    assert repr(root) == "<zarr_fast.hierarchy.Group '/'>"
    assert repr(open_group(store, mode="r", path="foo")) == (
        "<zarr_fast.hierarchy.Group '/foo' read-only>")
    assert root.read_only is False and root.synchronizer is None
    assert root.chunk_store is root.store
    assert root.meta_array.shape == () and isinstance(root.meta_array, np.ndarray)
    assert root.attrs["title"] == "root"
    assert root == zarr_fast.open_group(store) and root != foo


def test_membership_and_iteration(store):
    root = build(zarr_fast, store)
    assert list(root) == ["data", "foo", "q", "quux"] == list(root.keys())
    assert len(root) == 4
    assert "foo/bar/baz" in root and "/foo/bar" in root["quux"]
    assert "nope" not in root and "foo/nope" not in root
    assert list(root.group_keys()) == ["foo", "q", "quux"]
    assert [name for name, g in root.groups()] == ["foo", "q", "quux"]
    assert all(isinstance(g, Group) for _, g in root.groups())
    assert list(root.array_keys()) == ["data"]
    assert list(root.array_keys(recurse=True)) == ["data", "baz", "filled"]
    assert [(n, a.shape) for n, a in root.arrays(recurse=True)] == [
        ("data", (3, 4)), ("baz", (10, 4)), ("filled", (5,))]
    assert [type(v).__name__ for v in root.values()] == ["Array", "Group", "Group", "Group"]
    assert [k for k, _ in root.items()] == list(root)


def test_getitem_nested_and_absolute(store):
    root = build(zarr_fast, store)
    baz = root["foo/bar/baz"]
    assert isinstance(baz, Array) and baz.name == "/foo/bar/baz"
    assert root["foo"]["bar/baz"].shape == (10, 4)
    assert root["foo"]["/data"].name == "/data"
    assert isinstance(root["foo/bar"], Group)
    with pytest.raises(KeyError, match="foo/nope"):
        root["foo/nope"]


def test_attribute_access_and_completion(store):
    root = build(zarr_fast, store)
    assert root.foo.bar.baz.shape == (10, 4)
    assert root.foo == root["foo"]
    with pytest.raises(AttributeError):
        root.nope
    names = dir(root)
    assert {"foo", "data", "quux", "create_group"} <= set(names)
    assert root._ipython_key_completions_() == ["data", "foo", "q", "quux"]
    root.create_group("not-a-name")
    assert "not-a-name" not in dir(root) and "not-a-name" in root._ipython_key_completions_()


def test_setitem_delitem(store):
    root = build(zarr_fast, store)
    root["new/arr"] = np.arange(5)
    assert np.array_equal(root["new/arr"][...], np.arange(5))
    root["data"] = [1, 2, 3]   # replaces the existing array
    assert root["data"].shape == (3,)
    del root["foo"]
    assert "foo" not in root and "foo/bar/baz" not in root
    with pytest.raises(KeyError, match="missing"):
        del root["missing"]
    assert list(root) == ["data", "new", "q", "quux"]


def test_visit_functions(store):
    root = build(zarr_fast, store)
    seen = []
    assert root.visit(seen.append) is None
    assert seen == ["data", "foo", "foo/bar", "foo/bar/baz", "q", "q/filled", "quux",
                    "quux/deep"]
    keys = []
    root["foo"].visitkeys(keys.append)
    assert keys == ["bar", "bar/baz"]
    items = []
    root["foo"].visititems(lambda p, o: items.append((p, type(o).__name__)))
    assert items == [("bar", "Group"), ("bar/baz", "Array")]
    values = []
    root.visitvalues(lambda o: values.append(o.name))
    assert values[:3] == ["/data", "/foo", "/foo/bar"]
    # a value that is not None stops the walk and is returned
    assert root.visit(lambda p: p if p.endswith("baz") else None) == "foo/bar/baz"


def test_create_and_require_groups(store):
    root = group(store)
    a, b = root.create_groups("a", "b/c")
    assert (a.name, b.name) == ("/a", "/b/c")
    with pytest.raises(ContainsGroupError, match="'a'"):
        root.create_group("a")
    assert root.create_group("a", overwrite=True).name == "/a"
    assert root.require_group("a") == a
    x, y = root.require_groups("a", "x/y")
    assert x == a and y.path == "x/y"
    root.zeros("arr", shape=3)
    with pytest.raises(ContainsArrayError, match="'arr'"):
        root.create_group("arr")
    with pytest.raises(ContainsArrayError, match="'arr'"):
        root.require_group("arr/sub")
    assert root.require_group("arr", overwrite=True).path == "arr"
    assert isinstance(root["arr"], Group)


def test_array_creation_methods(store):
    root = group(store)
    base = np.arange(6, dtype="i2").reshape(2, 3)
    assert root.create("c", shape=4, chunks=2, dtype="f4").dtype == np.float32
    assert root.empty("e", shape=4, dtype="u1").shape == (4,)
    assert np.all(root.zeros("z", shape=4)[...] == 0)
    assert np.all(root.ones("o", shape=4)[...] == 1)
    assert np.all(root.full("f", fill_value=3, shape=4)[...] == 3)
    assert np.array_equal(root.array("a", base, chunks=(1, 3))[...], base)
    assert root.empty_like("el", base).shape == (2, 3)
    assert np.all(root.zeros_like("zl", base)[...] == 0)
    like = root.ones_like("ol", root["a"])
    assert like.dtype == np.int16 and like.chunks == (1, 3) and np.all(like[...] == 1)
    assert np.all(root.full_like("fl", base, fill_value=9)[...] == 9)
    ds = root.create_dataset("d/s", shape=(5,), chunks=5, dtype="i8")
    assert ds.name == "/d/s" and isinstance(root["d"], Group)
    filled = root.create_dataset("ds2", data=np.arange(3))
    assert np.array_equal(filled[...], np.arange(3))
    with pytest.raises(ContainsArrayError):
        root.zeros("z", shape=4)
    assert sorted(root.array_keys()) == sorted(
        ["c", "e", "z", "o", "f", "a", "el", "zl", "ol", "fl", "ds2"])


def test_require_dataset_checks():
    root = group()
    first = root.require_dataset("x", shape=(10,), dtype="i4", chunks=5)
    again = root.require_dataset("x", shape=10, dtype="i2")
    assert again.dtype == np.int32 and again.chunks == (5,) and first.path == again.path
    with pytest.raises(TypeError, match="shape do not match existing array; "
                                        r"expected \(10,\), got \(11,\)"):
        root.require_dataset("x", shape=11, dtype="i4")
    with pytest.raises(TypeError, match=r"dtypes \(float64, int32\) cannot be safely cast"):
        root.require_dataset("x", shape=10, dtype="f8")
    with pytest.raises(TypeError, match="dtypes do not match exactly; expected int32, got int16"):
        root.require_dataset("x", shape=10, dtype="i2", exact=True)
    assert root.require_dataset("x", shape=10, dtype="i4", exact=True).dtype == np.int32


def test_require_dataset_errors_match_zarr():
    ref = zarr_ref.group()
    ref.require_dataset("x", shape=(10,), dtype="i4")
    ours = group()
    ours.require_dataset("x", shape=(10,), dtype="i4")
    for kwargs in ({"shape": 11, "dtype": "i4"}, {"shape": 10, "dtype": "f8"},
                   {"shape": 10, "dtype": "i2", "exact": True}):
        with pytest.raises(TypeError) as want:
            ref.require_dataset("x", **kwargs)
        with pytest.raises(TypeError) as got:
            ours.require_dataset("x", **kwargs)
        assert str(got.value) == str(want.value)


def test_move(store):
    root = build(zarr_fast, store)
    root.move("foo", "moved/here")
    assert "foo" not in root and isinstance(root["moved"], Group)
    assert root["moved/here/bar/baz"].shape == (10, 4)
    root["moved"].move("here/bar/baz", "baz2")
    assert root["moved/baz2"].shape == (10, 4)
    with pytest.raises(ValueError, match='The source, "nope", does not exist.'):
        root.move("nope", "x")
    with pytest.raises(ValueError, match='The dest, "quux", already exists.'):
        root.move("data", "quux")


def test_read_only_refuses_writes(store):
    build(zarr_fast, store)
    ro = open_group(store, mode="r")
    assert ro.read_only and ro["foo"].read_only and ro["data"].read_only
    for call in (lambda: ro.create_group("x"), lambda: ro.require_group("y"),
                 lambda: ro.zeros("z", shape=1), lambda: ro.__delitem__("foo"),
                 lambda: ro.__setitem__("v", [1]), lambda: ro.move("foo", "bar2"),
                 lambda: ro.create_dataset("d", shape=1),
                 lambda: ro.require_dataset("d", shape=1)):
        with pytest.raises(ReadOnlyError):
            call()
    with pytest.raises(PermissionError):
        ro.attrs["x"] = 1
    assert list(ro) == ["data", "foo", "q", "quux"]


def test_context_manager_and_pickle(tmp_path):
    with group(DirectoryStore(str(tmp_path / "g"))) as g:
        g.zeros("a", shape=3)
    assert list(open_group(str(tmp_path / "g"), mode="r")) == ["a"]
    root = build(zarr_fast, MemoryStore())
    clone = pickle.loads(pickle.dumps(root))
    assert clone == root and list(clone) == list(root)
    assert clone.attrs.asdict() == {"title": "root"}
    sub = pickle.loads(pickle.dumps(open_group(str(tmp_path / "g"), mode="r")))
    assert sub.read_only and list(sub) == ["a"]


# -- group / open_group --------------------------------------------------------------------


def test_group_function(store):
    g = group(store)
    assert isinstance(g, Group) and g.path == ""
    g.zeros("x", shape=2)
    assert list(group(store)) == ["x"]          # an existing group is kept
    assert list(group(store, overwrite=True)) == []
    sub = group(store, path="a/b")
    assert sub.name == "/a/b" and "a/b" in group(store)
    assert isinstance(group().store, MemoryStore)


def test_group_with_chunk_store():
    store, chunks = {}, {}
    g = group(store, chunk_store=chunks)
    g.array("x", np.arange(4), chunks=2)
    assert "x/0" in chunks and "x/0" not in store and "x/.zarray" in store
    assert np.array_equal(g["x"][...], np.arange(4))
    assert "Chunk store type" in dict(g.info_items())
    g.move("x", "y")
    assert "y/0" in chunks and np.array_equal(g["y"][...], np.arange(4))


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_open_group_modes(kind, tmp_path):
    store = make_store(kind, tmp_path)
    with pytest.raises(GroupNotFoundError, match="group not found at path ''"):
        open_group(store, mode="r")
    with pytest.raises(GroupNotFoundError):
        open_group(store, mode="r+")
    g = open_group(store, mode="a")
    g.zeros("arr", shape=3)
    assert list(open_group(store, mode="a")) == ["arr"]
    assert list(open_group(store, mode="r+")) == ["arr"]
    with pytest.raises(ContainsGroupError, match="path '' contains a group"):
        open_group(store, mode="w-")
    with pytest.raises(ContainsGroupError):
        open_group(store, mode="x")
    for mode in ("r", "r+", "a", "w-"):
        with pytest.raises(ContainsArrayError, match="path 'arr' contains an array"):
            open_group(store, mode=mode, path="arr")
    assert list(open_group(store, mode="w")) == []
    assert open_group(store, mode="w-", path="new").path == "new"


def test_open_group_errors_match_zarr():
    cases = [("r", ""), ("r+", ""), ("r", "arr"), ("a", "arr"), ("w-", ""), ("x", "arr"),
             ("w-", "arr")]
    for mode, path in cases:
        ref_store, our_store = {}, {}
        zarr_ref.group(ref_store).zeros("arr", shape=1)
        group(our_store).zeros("arr", shape=1)
        if mode in ("r", "r+") and not path:
            ref_store, our_store = {}, {}
        with pytest.raises(Exception) as want:
            zarr_ref.open_group(ref_store, mode=mode, path=path)
        with pytest.raises(Exception) as got:
            open_group(our_store, mode=mode, path=path)
        assert type(got.value).__name__ == type(want.value).__name__
        assert str(got.value) == str(want.value)


def test_group_class_guards():
    store = {}
    with pytest.raises(GroupNotFoundError):
        Group(store)
    zarr_fast.zeros(3, store=store, path="arr")
    with pytest.raises(ContainsArrayError):
        Group(store, path="arr")
    assert Group(store).path == ""   # creating the array wrote the root group


def test_directory_paths_interop_both_ways(tmp_path):
    # plain directory paths, as users pass them: each library opens the other's files
    ours_dir, theirs_dir = str(tmp_path / "ours"), str(tmp_path / "theirs")
    build(zarr_fast, ours_dir)
    build(zarr_ref, theirs_dir)
    by_ref = zarr_ref.open_group(ours_dir, mode="r")
    by_us = open_group(theirs_dir, mode="r")
    assert list(by_ref.array_keys(recurse=True)) == list(by_us.array_keys(recurse=True))
    assert np.array_equal(by_ref["foo/bar/baz"][...], by_us["foo/bar/baz"][...])
    assert by_ref.attrs.asdict() == by_us.attrs.asdict() == {"title": "root"}
    # and each writes into the other's hierarchy
    open_group(theirs_dir, mode="a")["foo"].array("added", np.arange(3))
    assert np.array_equal(zarr_ref.open_group(theirs_dir, mode="r")["foo/added"][...],
                          np.arange(3))
    for name in (".zgroup", "foo/.zattrs", "foo/bar/baz/.zarray", "q/filled/.zarray"):
        with open(f"{ours_dir}/{name}", "rb") as ours, open(f"{theirs_dir}/{name}", "rb") as ref:
            assert ours.read() == ref.read(), name


def test_open_returns_groups(store):
    assert isinstance(zarr_fast.open(store, mode="w"), Group)
    g = zarr_fast.open(store, mode="a")
    assert isinstance(g, Group) and not g.read_only
    g.zeros("x", shape=2)
    ro = zarr_fast.open(store, mode="r")
    assert isinstance(ro, Group) and ro.read_only and list(ro) == ["x"]
    assert isinstance(zarr_fast.open(store, mode="r", path="x"), Array)


class _CountingSynchronizer:
    """A synchronizer with one lock per key (as zarr's ThreadSynchronizer) that records keys."""

    def __init__(self):
        import collections
        import threading
        self.keys = []
        self._locks = collections.defaultdict(threading.Lock)

    def __getitem__(self, key):
        self.keys.append(key)
        return self._locks[key]


def test_synchronizer_locks_on_root_group_key():
    sync = _CountingSynchronizer()
    root = group(synchronizer=sync)
    assert root.synchronizer is sync
    sub = root.create_group("a")
    assert sub.synchronizer is sync and sync.keys == [".zgroup"]
    z = root.zeros("a/z", shape=4, chunks=2)
    assert sync.keys.count(".zgroup") == 2 and z.synchronizer is sync
    z[:] = 1
    assert "a/z/0" in sync.keys and "a/z/1" in sync.keys
    assert "Synchronizer type" in dict(root.info_items())


def test_meta_array_and_cache_attrs_are_passed_on():
    root = group(cache_attrs=False, meta_array=np.empty(3, dtype="f4"))
    root.create_group("a")
    assert root.meta_array.shape == () and root.meta_array.dtype == np.float32
    child = root["a"]
    assert child.attrs.cache is False and child.meta_array.dtype == np.float32
    # without the cache, another view's attribute writes are seen at once
    other = Group(root.store)
    other.attrs["k"] = 1
    assert root.attrs["k"] == 1
