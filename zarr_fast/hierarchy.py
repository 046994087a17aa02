"""Groups: the nodes of a Zarr hierarchy, and ``group``/``open_group`` to make or open them.

A ``Group`` is a view of one path in a store holding a ``.zgroup`` document. It lists,
creates, moves and deletes its children (arrays and groups) through the storage functions
in ``zarr_fast.storage``; array creation is delegated to ``zarr_fast.creation``, so this
module holds no array logic. ``tree()`` renders the hierarchy as zarr 2.18 prints it;
its ``TreeViewer`` also draws h5py-like groups (anything with ``name`` and ``values()``),
duck-typed so h5py is never imported.

Callers guarantee that ``store`` is a v2 store or mapping (anything
``storage.normalize_store_arg`` accepts). Refused, with zarr 2.18's exceptions:
a Group over a path holding an array (``ContainsArrayError``) or nothing
(``GroupNotFoundError``), any write through a read-only group (``ReadOnlyError``),
and the v3 format (``NotImplementedError`` from ``normalize_store_arg``).

One deliberate difference from 2.18: ``group(store, path=p)`` creates the group at ``p``
when it is missing; 2.18 looked only at the root and then failed with
``GroupNotFoundError`` when the root existed but ``p`` did not.
"""
from __future__ import annotations

import html
from collections.abc import MutableMapping
from itertools import islice
from keyword import iskeyword

import numpy as np

from .attrs import Attributes
from .core import Array
from .creation import (
    array as _create_array_from,
    create as _create,
    empty as _empty,
    empty_like as _empty_like,
    full as _full,
    full_like as _full_like,
    ones as _ones,
    ones_like as _ones_like,
    zeros as _zeros,
    zeros_like as _zeros_like,
)
from .errors import (
    ArrayNotFoundError,
    ContainsArrayError,
    ContainsGroupError,
    GroupNotFoundError,
    ReadOnlyError,
)
from .meta.v2 import ATTRS_KEY
from .storage import (
    MemoryStore,
    contains_array,
    contains_group,
    group_meta_key,
    init_group,
    listdir,
    normalize_store_arg,
    rename,
    rmdir,
)
from .util import InfoReporter, normalize_shape, normalize_storage_path

__all__ = ["Group", "group", "open_group", "TreeViewer"]


def _normalize_group_store(store, storage_options=None, mode="r", zarr_version=None):
    # zarr 2.18 gives a new group a MemoryStore (not the KVStore arrays get) when none is passed
    if store is None and zarr_version in (None, 2):
        return MemoryStore()
    return normalize_store_arg(store, storage_options=storage_options, mode=mode,
                               zarr_version=zarr_version)


def _typestr(obj):
    return f"{type(obj).__module__}.{type(obj).__name__}"


class _NoLock:
    # stands in for a synchronizer's lock when there is none
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_LOCK = _NoLock()


class Group(MutableMapping):
    """A group of arrays and sub-groups at one path of a store.

    Parameters
    ----------
    store : MutableMapping
        Store holding the group (a ``.zgroup`` document must exist at ``path``).
    path : str, optional
        Path of the group within the store.
    read_only : bool, optional
        If True, every modification raises ``ReadOnlyError``.
    chunk_store : MutableMapping, optional
        Separate store for the chunks of member arrays.
    cache_attrs : bool, optional
        If True (default), user attributes are read once and cached.
    synchronizer : object, optional
        Provides locks; writes lock on the root group's ``.zgroup`` key, as in 2.18.
    zarr_version : {None, 2}, optional
        Format version; only 2 is supported.
    meta_array : array-like, optional
        Passed on to member arrays (an empty NumPy array by default).

    Raises
    ------
    ContainsArrayError
        If an array is stored at ``path``.
    GroupNotFoundError
        If no group is stored at ``path``.

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> g = zarr.group()
    >>> foo = g.create_group("foo")
    >>> g.zeros("foo/bar", shape=(4,), chunks=2).shape
    (4,)
    >>> sorted(g["foo"])
    ['bar']
    """

    def __init__(self, store, path=None, read_only=False, chunk_store=None, cache_attrs=True,
                 synchronizer=None, zarr_version=None, *, meta_array=None):
        store = _normalize_group_store(store, zarr_version=zarr_version)
        if chunk_store is not None:
            chunk_store = _normalize_group_store(chunk_store, zarr_version=zarr_version)
        self._store = store
        self._chunk_store = chunk_store
        self._path = normalize_storage_path(path)
        self._key_prefix = self._path + "/" if self._path else ""
        self._read_only = read_only
        self._synchronizer = synchronizer
        self._meta_array = (np.empty_like(meta_array, shape=()) if meta_array is not None
                            else np.empty(()))
        self._version = 2

        if contains_array(store, path=self._path):
            raise ContainsArrayError(path)
        if self._key_prefix + group_meta_key not in store:
            raise GroupNotFoundError(path)
        self._attrs = Attributes(store, key=self._key_prefix + ATTRS_KEY, read_only=read_only,
                                 cache=cache_attrs, synchronizer=synchronizer)

    # -- properties ------------------------------------------------------------------

    @property
    def store(self):
        """The store holding the group."""
        return self._store

    @property
    def path(self):
        """Storage path of the group ('' for the root)."""
        return self._path

    @property
    def name(self):
        """Group name following h5py convention: the path with a leading '/'."""
        return "/" + self._path if self._path else "/"

    @property
    def basename(self):
        """Final component of ``name``."""
        return self.name.split("/")[-1]

    @property
    def read_only(self):
        """True if modifications are refused."""
        return self._read_only

    @property
    def chunk_store(self):
        """The store for member chunks (``store`` unless a separate one was given)."""
        return self._store if self._chunk_store is None else self._chunk_store

    @property
    def synchronizer(self):
        """The synchronizer, or None."""
        return self._synchronizer

    @property
    def attrs(self):
        """User attributes (JSON-serialisable values) of the group."""
        return self._attrs

    @property
    def info(self):
        """A report on the group (text repr, HTML in notebooks)."""
        return InfoReporter(self)

    @property
    def meta_array(self):
        """The array-like whose type member arrays' data takes."""
        return self._meta_array

    # -- mapping protocol --------------------------------------------------------------

    def __eq__(self, other):
        return (isinstance(other, Group) and self._store == other.store
                and self._read_only == other.read_only and self._path == other.path)

    __hash__ = None  # mutable mapping, as in 2.18

    def _child_names(self):
        return sorted(listdir(self._store, self._path))

    def __iter__(self):
        """Iterate over member names (arrays and groups), sorted."""
        for name in self._child_names():
            path = self._key_prefix + name
            if contains_array(self._store, path) or contains_group(self._store, path):
                yield name

    def __len__(self):
        """Number of members."""
        return sum(1 for _ in self)

    def __repr__(self):
        r = f"<{_typestr(self)} {self.name!r}"
        if self._read_only:
            r += " read-only"
        return r + ">"

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        # closing the group closes its store (a no-op for in-memory stores), as in 2.18
        self.store.close()

    def info_items(self):
        """Return the (name, value) pairs shown by ``info``."""
        items = [("Name", self.name), ("Type", _typestr(self)),
                 ("Read-only", str(self.read_only))]
        if self._synchronizer is not None:
            items.append(("Synchronizer type", _typestr(self._synchronizer)))
        items.append(("Store type", _typestr(self._store)))
        if self._chunk_store is not None:
            items.append(("Chunk store type", _typestr(self._chunk_store)))
        items.append(("No. members", len(self)))
        array_names = sorted(self.array_keys())
        group_names = sorted(self.group_keys())
        items.append(("No. arrays", len(array_names)))
        items.append(("No. groups", len(group_names)))
        if array_names:
            items.append(("Arrays", ", ".join(array_names)))
        if group_names:
            items.append(("Groups", ", ".join(group_names)))
        return items

    def __getstate__(self):
        return {
            "store": self._store,
            "path": self._path,
            "read_only": self._read_only,
            "chunk_store": self._chunk_store,
            "cache_attrs": self._attrs.cache,
            "synchronizer": self._synchronizer,
            "zarr_version": self._version,
            "meta_array": self._meta_array,
        }

    def __setstate__(self, state):
        self.__init__(**state)

    def _item_path(self, item):
        # '/a/b' is absolute (from the store root); 'a/b' is relative to this group
        is_absolute = isinstance(item, str) and item.startswith("/")
        path = normalize_storage_path(item)
        if not is_absolute and self._path:
            path = self._key_prefix + path
        return path

    def _child_kwargs(self):
        return dict(read_only=self._read_only, chunk_store=self._chunk_store,
                    synchronizer=self._synchronizer, cache_attrs=self._attrs.cache,
                    zarr_version=self._version, meta_array=self._meta_array)

    def _node_at(self, path):
        try:
            return Array(self._store, path=path, **self._child_kwargs())
        except ArrayNotFoundError:
            pass
        try:
            return Group(self._store, path=path, **self._child_kwargs())
        except GroupNotFoundError:
            return None

    def __contains__(self, item):
        """True if an array or group is stored at ``item`` (a name or a nested path)."""
        path = self._item_path(item)
        return contains_array(self._store, path) or contains_group(self._store, path)

    def __getitem__(self, item):
        """Return the array or group at ``item`` (a name, nested path, or absolute path).

        Raises
        ------
        KeyError
            If nothing is stored there.
        """
        node = self._node_at(self._item_path(item))
        if node is None:
            raise KeyError(item)
        return node

    def __setitem__(self, item, value):
        """Store ``value`` as a new array at ``item``, replacing whatever is there."""
        self.array(item, value, overwrite=True)

    def __delitem__(self, item):
        """Remove the member at ``item`` and everything below it."""
        return self._write_op(self._delete_member, item)

    def _delete_member(self, item):
        path = self._item_path(item)
        if not (contains_array(self._store, path) or contains_group(self._store, path)):
            raise KeyError(item)
        rmdir(self._store, path)

    def __getattr__(self, item):
        # only called when normal lookup fails: members become attributes (g.foo).
        # Jupyter probes these two names; answering fast avoids a store lookup.
        if "_store" not in self.__dict__:
            # not initialised yet (e.g. during unpickling): there are no members to find
            raise AttributeError(item)
        if item.startswith("__") or item in ("_ipython_canary_method_should_not_exist_",
                                             "_ipython_display_"):
            raise AttributeError(item)
        try:
            return self.__getitem__(item)
        except KeyError as e:
            raise AttributeError(item) from e

    def __dir__(self):
        names = set(super().__dir__()) | set(self)
        return [n for n in sorted(names) if n.isidentifier() and not iskeyword(n)]

    def _ipython_key_completions_(self):
        return sorted(self)

    # -- members by kind ---------------------------------------------------------------

    def group_keys(self):
        """Iterate over the names of member groups, sorted."""
        for name in self._child_names():
            if contains_group(self._store, self._key_prefix + name):
                yield name

    def groups(self):
        """Iterate over (name, Group) pairs of member groups, sorted by name."""
        for name in self._child_names():
            path = self._key_prefix + name
            if contains_group(self._store, path):
                yield name, Group(self._store, path=path, **self._child_kwargs())

    def array_keys(self, recurse=False):
        """Iterate over the names of member arrays (of all descendants with ``recurse``)."""
        return self._walk_arrays(names_only=True, recurse=recurse)

    def arrays(self, recurse=False):
        """Iterate over (name, Array) pairs of member arrays (descendants with ``recurse``)."""
        return self._walk_arrays(names_only=False, recurse=recurse)

    def _walk_arrays(self, names_only, recurse):
        # recursive results carry only the leaf name, as 2.18's do
        for name in self._child_names():
            path = self._key_prefix + name
            if contains_array(self._store, path):
                yield name if names_only else (name, self[name])
            elif recurse and contains_group(self._store, path):
                yield from self[name]._walk_arrays(names_only, recurse)

    # -- visiting ------------------------------------------------------------------------

    def visitvalues(self, func):
        """Call ``func(node)`` on every descendant, depth first in sorted order.

        Stops and returns the first value of ``func`` that is not None.
        """
        def descend(node):
            yield node
            if isinstance(node, Group):
                for name in sorted(node.keys()):
                    yield from descend(node[name])

        for node in islice(descend(self), 1, None):
            value = func(node)
            if value is not None:
                return value

    def visit(self, func):
        """Call ``func(path)`` with every descendant's path relative to this group."""
        base_len = len(self.name)
        return self.visitvalues(lambda node: func(node.name[base_len:].lstrip("/")))

    def visitkeys(self, func):
        """An alias of :meth:`visit`."""
        return self.visit(func)

    def visititems(self, func):
        """Call ``func(path, node)`` on every descendant (path relative to this group)."""
        base_len = len(self.name)
        return self.visitvalues(lambda node: func(node.name[base_len:].lstrip("/"), node))

    def tree(self, expand=False, level=None):
        """Return a printable view of the hierarchy below this group.

        Parameters
        ----------
        expand : bool, optional
            Only used by the HTML view: if True, every node is shown open.
        level : int, optional
            Maximum depth to descend to.

        Examples
        --------
        >>> import zarr_fast as zarr
        >>> g = zarr.group()
        >>> _ = g.create_group("foo").zeros("bar", shape=(3,))
        >>> print(g.tree())
        /
         └── foo
             └── bar (3,) float64
        """
        return TreeViewer(self, expand=expand, level=level)

    # -- creation --------------------------------------------------------------------------

    def _write_op(self, func, *args, **kwargs):
        if self._read_only:
            raise ReadOnlyError()
        # one lock for the whole hierarchy: the root's .zgroup key, as 2.18 does
        lock = _NO_LOCK if self._synchronizer is None else self._synchronizer[group_meta_key]
        with lock:
            return func(*args, **kwargs)

    def _subgroup(self, path):
        kwargs = self._child_kwargs()
        kwargs.pop("meta_array")  # 2.18 does not pass it on to new sub-groups
        return Group(self._store, path=path, **kwargs)

    def create_group(self, name, overwrite=False):
        """Create and return a sub-group at ``name``.

        Raises
        ------
        ContainsArrayError, ContainsGroupError
            If a node is there already and ``overwrite`` is False.
        """
        return self._write_op(self._create_group_locked, name, overwrite)

    def _create_group_locked(self, name, overwrite):
        path = self._item_path(name)
        init_group(self._store, path=path, chunk_store=self._chunk_store, overwrite=overwrite)
        return self._subgroup(path)

    def create_groups(self, *names, **kwargs):
        """Create several sub-groups; returns them as a tuple."""
        return tuple(self.create_group(name, **kwargs) for name in names)

    def require_group(self, name, overwrite=False):
        """Return the sub-group at ``name``, creating it if it does not exist."""
        return self._write_op(self._require_group_locked, name, overwrite)

    def _require_group_locked(self, name, overwrite):
        path = self._item_path(name)
        if not contains_group(self._store, path):
            init_group(self._store, path=path, chunk_store=self._chunk_store,
                       overwrite=overwrite)
        return self._subgroup(path)

    def require_groups(self, *names):
        """Require several sub-groups; returns them as a tuple."""
        return tuple(self.require_group(name) for name in names)

    def _array_kwargs(self, name, kwargs):
        kwargs.setdefault("synchronizer", self._synchronizer)
        kwargs.setdefault("cache_attrs", self._attrs.cache)
        kwargs.update(store=self._store, path=self._item_path(name),
                      chunk_store=self._chunk_store)
        return kwargs

    def create_dataset(self, name, **kwargs):
        """Create an array at ``name`` (h5py's name); with ``data=...``, filled from it.

        Keyword arguments are those of :func:`zarr_fast.create` (``shape`` is required
        unless ``data`` is given).
        """
        if "mode" in kwargs:
            raise TypeError("create_dataset() got an unexpected keyword argument 'mode'")
        return self._write_op(self._create_dataset_locked, name, **kwargs)

    def _create_dataset_locked(self, name, data=None, **kwargs):
        kwargs = self._array_kwargs(name, kwargs)
        if data is None:
            return _create(**kwargs)
        return _create_array_from(data, **kwargs)

    def require_dataset(self, name, shape, dtype=None, exact=False, **kwargs):
        """Return the array at ``name``, creating it if needed.

        An existing array must have ``shape`` and a dtype ``dtype`` can be cast to safely
        (equal dtypes when ``exact``).

        Raises
        ------
        TypeError
            If the existing array's shape or dtype does not match.
        """
        return self._write_op(self._require_dataset_locked, name, shape, dtype, exact, kwargs)

    def _require_dataset_locked(self, name, shape, dtype, exact, kwargs):
        path = self._item_path(name)
        if not contains_array(self._store, path):
            return self._create_dataset_locked(name, shape=shape, dtype=dtype, **kwargs)
        existing = Array(
            self._store, path=path, read_only=self._read_only, chunk_store=self._chunk_store,
            synchronizer=kwargs.get("synchronizer", self._synchronizer),
            cache_metadata=kwargs.get("cache_metadata", True),
            cache_attrs=kwargs.get("cache_attrs", self._attrs.cache),
            meta_array=self._meta_array,
        )
        shape = normalize_shape(shape)
        if shape != existing.shape:
            raise TypeError(f"shape do not match existing array; expected {existing.shape}, "
                            f"got {shape}")
        dtype = np.dtype(dtype)
        if exact:
            if dtype != existing.dtype:
                raise TypeError(f"dtypes do not match exactly; expected {existing.dtype}, "
                                f"got {dtype}")
        elif not np.can_cast(dtype, existing.dtype):
            raise TypeError(f"dtypes ({dtype}, {existing.dtype}) cannot be safely cast")
        return existing

    def create(self, name, **kwargs):
        """Create an array at ``name``; keyword arguments as :func:`zarr_fast.create`."""
        return self._write_op(lambda: _create(**self._array_kwargs(name, kwargs)))

    def empty(self, name, **kwargs):
        """Create an empty array at ``name``; keyword arguments as :func:`zarr_fast.empty`."""
        return self._write_op(lambda: _empty(**self._array_kwargs(name, kwargs)))

    def zeros(self, name, **kwargs):
        """Create an array of zeros at ``name``; keyword arguments as :func:`zarr_fast.zeros`."""
        return self._write_op(lambda: _zeros(**self._array_kwargs(name, kwargs)))

    def ones(self, name, **kwargs):
        """Create an array of ones at ``name``; keyword arguments as :func:`zarr_fast.ones`."""
        return self._write_op(lambda: _ones(**self._array_kwargs(name, kwargs)))

    def full(self, name, fill_value, **kwargs):
        """Create an array at ``name`` filled with ``fill_value``."""
        return self._write_op(
            lambda: _full(fill_value=fill_value, **self._array_kwargs(name, kwargs)))

    def array(self, name, data, **kwargs):
        """Create an array at ``name`` holding ``data``; keywords as :func:`zarr_fast.array`."""
        return self._write_op(lambda: _create_array_from(data, **self._array_kwargs(name, kwargs)))

    def empty_like(self, name, data, **kwargs):
        """Create an empty array at ``name`` shaped like ``data``."""
        return self._write_op(lambda: _empty_like(data, **self._array_kwargs(name, kwargs)))

    def zeros_like(self, name, data, **kwargs):
        """Create an array of zeros at ``name`` shaped like ``data``."""
        return self._write_op(lambda: _zeros_like(data, **self._array_kwargs(name, kwargs)))

    def ones_like(self, name, data, **kwargs):
        """Create an array of ones at ``name`` shaped like ``data``."""
        return self._write_op(lambda: _ones_like(data, **self._array_kwargs(name, kwargs)))

    def full_like(self, name, data, **kwargs):
        """Create a filled array at ``name`` shaped like ``data``."""
        return self._write_op(lambda: _full_like(data, **self._array_kwargs(name, kwargs)))

    def move(self, source, dest):
        """Move the member at ``source`` to ``dest`` (both relative to this group).

        Missing groups on the way to ``dest`` are created.

        Raises
        ------
        ValueError
            If nothing is at ``source`` or something is already at ``dest``.
        """
        source = self._item_path(source)
        dest = self._item_path(dest)
        if not (contains_array(self._store, source) or contains_group(self._store, source)):
            raise ValueError(f'The source, "{source}", does not exist.')
        if contains_array(self._store, dest) or contains_group(self._store, dest):
            raise ValueError(f'The dest, "{dest}", already exists.')
        if "/" in dest:
            self.require_group("/" + dest.rsplit("/", 1)[0])
        self._write_op(self._move_locked, source, dest)

    def _move_locked(self, source, dest):
        rename(self._store, source, dest)
        if self._chunk_store is not None:
            rename(self._chunk_store, source, dest)

    # Jupyter tries these before repr(); None tells it to fall back to repr (2.18, GH1716).
    def _repr_html_(self):
        return None

    _repr_latex_ = _repr_markdown_ = _repr_json_ = _repr_javascript_ = _repr_html_
    _repr_svg_ = _repr_png_ = _repr_jpeg_ = _repr_pdf_ = _repr_html_

    def _repr_mimebundle_(self, **kwargs):
        return None


# -- tree view ----------------------------------------------------------------------------

_UNICODE_BOX = {"last": "\u2514", "middle": "\u251c", "horizontal": "\u2500",
                "vertical": "\u2502"}
_ASCII_BOX = {"last": "+", "middle": "+", "horizontal": "-", "vertical": "|"}


def _node_children(node):
    """The children of a group-like node, in the order its ``values()`` gives them.

    zarr 2.18 walked any object with a ``values`` method, so ``tree()`` also draws h5py
    ``File``/``Group`` objects (whose ``values()`` yields groups and datasets); a zarr Array
    or an h5py ``Dataset`` has no ``values`` and is a leaf. Duck-typed: h5py is never imported.
    """
    if isinstance(node, Array):
        return None
    values = getattr(node, "values", None)
    if not callable(values):
        return None
    return list(values())


def _node_label(node):
    # h5py names are absolute ("/a/b"), like Group.name, so the last part is the label.
    label = str(node.name).split("/")[-1] or "/"
    if hasattr(node, "shape"):
        label += f" {tuple(node.shape)} {node.dtype}"
    return label


def _tree_lines(node, box, depth, level):
    # Each child is drawn as " ├── label"; the lines below it are prefixed by " │  " (or
    # four spaces under the last child), which gives 2.18's layout at any depth.
    lines = [_node_label(node)]
    if level is not None and depth >= level:
        return lines
    children = _node_children(node)
    if not children:
        return lines
    for i, child in enumerate(children):
        is_last = i == len(children) - 1
        head = " " + (box["last"] if is_last else box["middle"]) + box["horizontal"] * 2 + " "
        tail = " " + (" " if is_last else box["vertical"]) + "  "
        child_lines = _tree_lines(child, box, depth + 1, level)
        lines.append(head + child_lines[0])
        lines.extend(tail + line for line in child_lines[1:])
    return lines


class TreeViewer:
    """What ``Group.tree()`` returns: the hierarchy as text (unicode ``str``, ascii ``bytes``).

    ``group`` is a zarr Group or any group-like object with ``name`` and ``values()`` (an
    h5py ``File`` or ``Group``, as zarr 2.18 allowed); leaves show ``shape`` and ``dtype``.

    ``_repr_html_`` shows the same text in a notebook, folded into ``<details>`` elements
    (opened when ``expand`` is True), with no dependencies beyond the standard library.
    """

    def __init__(self, group, expand=False, level=None):
        self.group = group
        self.expand = expand
        self.level = level

    def __bytes__(self):
        return "\n".join(_tree_lines(self.group, _ASCII_BOX, 0, self.level)).encode()

    def __unicode__(self):
        return "\n".join(_tree_lines(self.group, _UNICODE_BOX, 0, self.level))

    def __repr__(self):
        return self.__unicode__()

    def _html_node(self, node, depth, is_root):
        label = html.escape(_node_label(node))
        children = _node_children(node)
        if children is None:
            return f"<li>{label}</li>"
        if self.level is not None and depth >= self.level:
            children = []
        is_open = is_root or self.expand is True or (
            isinstance(self.expand, int) and not isinstance(self.expand, bool)
            and depth < self.expand)
        inner = "".join(self._html_node(c, depth + 1, False) for c in children)
        return (f"<li><details{' open' if is_open else ''}><summary>{label}</summary>"
                f"<ul>{inner}</ul></details></li>")

    def _repr_html_(self):
        return ('<ul class="zarr-tree" style="list-style: none">'
                + self._html_node(self.group, 0, True) + "</ul>")


# -- functions ----------------------------------------------------------------------------


def group(store=None, overwrite=False, chunk_store=None, cache_attrs=True, synchronizer=None,
          path=None, *, zarr_version=None, meta_array=None):
    """Create a group (or open the one already there).

    Parameters
    ----------
    store : MutableMapping or str, optional
        Store or directory path; a new ``MemoryStore`` by default.
    overwrite : bool, optional
        If True, delete whatever is at ``path`` first.
    chunk_store : MutableMapping, optional
        Separate store for member chunks.
    cache_attrs : bool, optional
        If True (default), cache user attributes.
    synchronizer : object, optional
        Array synchronizer.
    path : str, optional
        Group path within the store.
    zarr_version : {None, 2}, optional
        Format version.
    meta_array : array-like, optional
        Type of member arrays' data (NumPy by default).

    Returns
    -------
    Group

    Raises
    ------
    ContainsArrayError
        If an array is at ``path`` (or a parent) and ``overwrite`` is False.

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> zarr.group()
    <zarr_fast.hierarchy.Group '/'>
    """
    store = _normalize_group_store(store, mode="w", zarr_version=zarr_version)
    path = normalize_storage_path(path)
    if overwrite or not contains_group(store, path):
        init_group(store, overwrite=overwrite, chunk_store=chunk_store, path=path)
    return Group(store, read_only=False, chunk_store=chunk_store, cache_attrs=cache_attrs,
                 synchronizer=synchronizer, path=path, zarr_version=zarr_version,
                 meta_array=meta_array)


def open_group(store=None, mode="a", cache_attrs=True, synchronizer=None, path=None,
               chunk_store=None, storage_options=None, *, zarr_version=None, meta_array=None):
    """Open a group with file-mode semantics.

    Parameters
    ----------
    store : MutableMapping or str, optional
        Store or directory path.
    mode : {'r', 'r+', 'a', 'w', 'w-', 'x'}, optional
        'r' read only, must exist; 'r+' read/write, must exist; 'a' read/write, created
        if missing; 'w' created, replacing what is there; 'w-'/'x' created, must not exist.
    cache_attrs : bool, optional
        If True (default), cache user attributes.
    synchronizer : object, optional
        Array synchronizer.
    path : str, optional
        Group path within the store.
    chunk_store : MutableMapping or str, optional
        Separate store for member chunks.
    storage_options : dict, optional
        For fsspec URLs (not supported yet).
    zarr_version : {None, 2}, optional
        Format version.
    meta_array : array-like, optional
        Type of member arrays' data (NumPy by default).

    Returns
    -------
    Group

    Raises
    ------
    GroupNotFoundError
        In modes 'r'/'r+' when there is no group at ``path``.
    ContainsArrayError
        When an array is at ``path`` (in every mode but 'w').
    ContainsGroupError
        In modes 'w-'/'x' when a group is already at ``path``.

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> store = {}
    >>> zarr.open_group(store, mode="w")
    <zarr_fast.hierarchy.Group '/'>
    >>> zarr.open_group(store, mode="r")
    <zarr_fast.hierarchy.Group '/' read-only>
    """
    store = _normalize_group_store(store, storage_options=storage_options, mode=mode,
                                   zarr_version=zarr_version)
    if chunk_store is not None:
        chunk_store = _normalize_group_store(chunk_store, storage_options=storage_options,
                                             mode=mode, zarr_version=zarr_version)
    path = normalize_storage_path(path)
    if mode in ("r", "r+"):
        if not contains_group(store, path=path):
            if contains_array(store, path=path):
                raise ContainsArrayError(path)
            raise GroupNotFoundError(path)
    elif mode == "w":
        init_group(store, overwrite=True, path=path, chunk_store=chunk_store)
    elif mode == "a":
        if not contains_group(store, path=path):
            if contains_array(store, path=path):
                raise ContainsArrayError(path)
            init_group(store, path=path, chunk_store=chunk_store)
    elif mode in ("w-", "x"):
        if contains_array(store, path=path):
            raise ContainsArrayError(path)
        if contains_group(store, path=path):
            raise ContainsGroupError(path)
        init_group(store, path=path, chunk_store=chunk_store)
    return Group(store, read_only=(mode == "r"), cache_attrs=cache_attrs,
                 synchronizer=synchronizer, path=path, chunk_store=chunk_store,
                 zarr_version=zarr_version, meta_array=meta_array)
