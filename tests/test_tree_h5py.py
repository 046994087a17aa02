"""``tree()`` of h5py-like groups, as zarr 2.18's TreeViewer draws them.

h5py is not a dependency, so the objects here imitate its API: a ``File``/``Group`` has an
absolute ``name``, ``keys``/``values``/``items`` in name order, ``__getitem__`` and
``visititems``; a ``Dataset`` has ``name``, ``shape`` and ``dtype`` and no ``values``. The
text is compared with zarr 2.18.7's own TreeViewer on the same objects when zarr imports.
"""
import numpy as np
import pytest

import zarr_fast
from zarr_fast.hierarchy import TreeViewer


class FakeDataset:
    def __init__(self, name, shape, dtype):
        self.name = name
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)


class FakeGroup:
    def __init__(self, name="/"):
        self.name = name
        self._members = {}

    def _child_name(self, key):
        return ("" if self.name == "/" else self.name) + "/" + key

    def create_group(self, key):
        node = FakeGroup(self._child_name(key))
        self._members[key] = node
        return node

    def create_dataset(self, key, shape, dtype="f8"):
        node = FakeDataset(self._child_name(key), shape, dtype)
        self._members[key] = node
        return node

    # h5py lists members in name order (the default link index of HDF5).
    def keys(self):
        return sorted(self._members)

    def values(self):
        return [self._members[key] for key in self.keys()]

    def items(self):
        return [(key, self._members[key]) for key in self.keys()]

    def __getitem__(self, key):
        return self._members[key]

    def visititems(self, func):
        for key, node in self.items():
            result = func(node.name.lstrip("/"), node)
            if result is not None:
                return result
            if isinstance(node, FakeGroup):
                result = node.visititems(func)
                if result is not None:
                    return result
        return None


@pytest.fixture
def h5file():
    root = FakeGroup("/")
    root.create_group("foo")
    bar = root.create_group("bar")
    bar.create_group("baz")
    qux = bar.create_group("qux")
    qux.create_dataset("baz", shape=(100,), dtype="f8")
    qux.create_dataset("scalar", shape=(), dtype="<i4")
    root.create_dataset("z", shape=(3, 4), dtype="u1")
    return root


EXPECTED_UNICODE = """\
/
 ├── bar
 │   ├── baz
 │   └── qux
 │       ├── baz (100,) float64
 │       └── scalar () int32
 ├── foo
 └── z (3, 4) uint8"""


def test_tree_of_h5py_like_file(h5file):
    view = zarr_fast.tree(h5file)
    assert isinstance(view, TreeViewer)
    assert str(view) == EXPECTED_UNICODE
    assert repr(view) == EXPECTED_UNICODE
    assert bytes(view).decode("ascii") == (
        EXPECTED_UNICODE.replace("├", "+").replace("└", "+").replace("─", "-").replace("│", "|")
    )


def test_tree_of_h5py_like_subgroup_and_level(h5file):
    bar = h5file["bar"]
    assert str(zarr_fast.tree(bar)) == "bar\n ├── baz\n └── qux\n     ├── baz (100,) float64\n     └── scalar () int32"
    assert str(zarr_fast.tree(h5file, level=1)) == "/\n ├── bar\n ├── foo\n └── z (3, 4) uint8"
    assert str(zarr_fast.tree(h5file, level=0)) == "/"


def test_tree_of_h5py_like_dataset_is_a_leaf(h5file):
    assert str(zarr_fast.tree(h5file["z"])) == "z (3, 4) uint8"


def test_tree_html_of_h5py_like_file(h5file):
    html = zarr_fast.tree(h5file, expand=True)._repr_html_()
    assert html.count("<details open>") == 5  # the root, bar, baz, qux, foo
    assert "<li>baz (100,) float64</li>" in html
    assert "<li>z (3, 4) uint8</li>" in html


def test_tree_of_h5py_like_same_as_zarr_218(h5file):
    zarr = pytest.importorskip("zarr")
    from zarr.util import TreeViewer as ZarrTreeViewer

    for level in (None, 0, 1, 2):
        ours = zarr_fast.tree(h5file, level=level)
        theirs = ZarrTreeViewer(h5file, level=level)
        assert str(ours) == str(theirs)
        assert bytes(ours) == bytes(theirs)


def test_tree_of_zarr_group_copied_from_h5py_like_layout(h5file):
    # The same layout built as a zarr group draws the same text.
    g = zarr_fast.group()
    g.create_group("foo")
    qux = g.create_group("bar").create_group("qux")
    g["bar"].create_group("baz")
    qux.zeros("baz", shape=(100,), dtype="f8")
    qux.zeros("scalar", shape=(), dtype="<i4")
    g.zeros("z", shape=(3, 4), dtype="u1")
    assert str(zarr_fast.tree(g)) == EXPECTED_UNICODE == str(g.tree())
