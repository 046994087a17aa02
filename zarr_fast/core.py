"""``Array``: a chunked, compressed N-d array in a store, with zarr-python 2.18's API.

The array owns its metadata (``ArrayMeta``), its store(s) and a ``CodecPipeline``. A read
normalises the selection into a plan (``indexing``), fetches the chunk keys in one batch,
then decodes each chunk straight into the output where the layout allows, otherwise into a
scratch chunk that ``_chunkcopy`` copies from. A write builds each touched chunk (wholly from
the value, or by merging into the stored chunk) and stores the batch. Object dtypes and field
selections take the NumPy path, chosen up front by ``_is_kernel_path``.

Callers may pass any ``MutableMapping`` as store. Only ``resize``, ``append`` and the
``fill_value`` setter rewrite metadata; a write touches only the chunks it selects.

With a synchronizer (``zarr_fast.sync``), every chunk a write touches is read, merged, encoded
and stored while its lock is held (locks taken in sorted key order, one batch at a time, so
concurrent writers neither deadlock nor lose updates), and ``resize``/``append`` hold the
metadata key's lock and re-read the stored metadata first, so appends from several processes
each reserve their own region even when this object's metadata is cached.
"""
from __future__ import annotations

import binascii
import collections
import hashlib
import itertools
import math
import re
from collections.abc import Mapping

import numpy as np

from . import _chunkcopy, _indexing, _resultpool, chunkio, config
from .attrs import Attributes
from .codecs.pipeline import BLOSC_HEADER_NBYTES, CodecPipeline
from .context import Context
from .errors import ArrayNotFoundError, BoundsCheckError, MetadataError, ReadOnlyError, err_too_many_indices
from .indexing import (
    BlockIndex,
    OIndex,
    OrthogonalSelection,
    VIndex,
    basic_selection,
    block_selection,
    check_fields,
    check_no_multi_fields,
    coordinate_selection,
    ensure_tuple,
    is_pure_fancy_indexing,
    is_pure_orthogonal_indexing,
    is_scalar,
    mask_selection,
    orthogonal_selection,
    pop_fields,
)
from .parallel import Cancelled, run_ranges, thread_scratch
from .meta.dtypes import object_chunk_is_fill
from .meta.v2 import (
    ARRAY_META_KEY,
    ATTRS_KEY,
    check_array_meta,
    decode_array_metadata,
    encode_array_metadata,
    json_dumps,
)
from .storage import getsize, listdir, normalize_store_arg
from .util import (
    ConstantMap,
    InfoReporter,
    human_readable_size,
    normalize_resize_args,
    normalize_storage_path,
)


_META_CACHE = collections.OrderedDict()
_META_CACHE_SIZE = 256


def _decode_cached(meta_bytes):
    """Decode (and check) a ``.zarray`` document, remembering recent ones: reopening an
    array costs a dict lookup instead of a JSON parse (``ArrayMeta`` is immutable)."""
    if isinstance(meta_bytes, Mapping):
        # a parsed document (consolidated metadata): nothing to key a cache on
        return check_array_meta(decode_array_metadata(meta_bytes))
    raw = bytes(meta_bytes)
    meta = _META_CACHE.get(raw)
    if meta is None:
        meta = check_array_meta(decode_array_metadata(raw))
        _META_CACHE[raw] = meta
        if len(_META_CACHE) > _META_CACHE_SIZE:
            _META_CACHE.popitem(last=False)
    return meta


def _check_array_shape(param, array, shape):
    if not hasattr(array, "shape"):
        raise TypeError(f"parameter {param!r}: expected an array-like object, got {type(array)!r}")
    if array.shape != shape:
        raise ValueError(f"parameter {param!r}: expected array with shape {shape!r}, got {array.shape!r}")


def _layout_strides(shape, itemsize, order):
    """Byte strides of a contiguous array of ``shape`` in ``order``."""
    strides = [0] * len(shape)
    step = itemsize
    axes = range(len(shape) - 1, -1, -1) if order == "C" else range(len(shape))
    for d in axes:
        strides[d] = step
        step *= shape[d]
    return tuple(strides)


def _has_nonnegative_strides(a):
    return all(s >= 0 for s in a.strides)


class _AxisTable:
    """Per-axis, per-chunk views of an orthogonal plan, computed once per call.

    ``whole[d]`` (uint8 per chunk along axis ``d``): that chunk's full length is selected in
    order, so the chunk maps onto a box of the output. ``local[d][k]`` / ``out[d][k]``
    (chunk-local indices and output positions of the ``k``-th chunk) are built on first use,
    for the Python path only.
    """

    def __init__(self, selection, chunks):
        self._plans = selection.dim_plans
        self.whole = [
            _indexing.whole_flags(bounds, local, out, chunk_len)
            for (_, bounds, local, out), chunk_len in zip(selection.dim_plans, chunks)
        ]
        self._local = self._out = None

    def split_per_chunk(self):
        """Build ``local`` and ``out`` (idempotent; call before sharing across threads)."""
        if self._local is not None:
            return
        self._local, self._out = [], []
        for _, bounds, local, out in self._plans:
            edges = bounds.tolist()
            self._local.append([local[a:b] for a, b in zip(edges[:-1], edges[1:])])
            self._out.append([out[a:b] for a, b in zip(edges[:-1], edges[1:])])

    @property
    def local(self):
        self.split_per_chunk()
        return self._local

    @property
    def out(self):
        self.split_per_chunk()
        return self._out

    def is_whole(self, positions):
        return all(self.whole[d][k] for d, k in enumerate(positions))


class Array:
    """An N-dimensional array of chunks in a store, as zarr-python 2.18's ``zarr.core.Array``.

    Parameters
    ----------
    store : MutableMapping
        Array store, already initialised (see ``zarr_fast.storage.init_array``).
    path : str, optional
        Storage path of the array inside the store.
    read_only : bool, optional
        True if any modification should be refused with ``ReadOnlyError``.
    chunk_store : MutableMapping, optional
        Separate store for chunk data; by default chunks live in ``store``.
    synchronizer : object, optional
        Provides locks per key (``synchronizer[key]``) for concurrent writers.
    cache_metadata : bool, optional
        If False, metadata is re-read before every data access.
    cache_attrs : bool, optional
        If False, attributes are re-read on every access.
    partial_decompress : bool, optional
        Accepted for compatibility; decoding only what a selection needs is automatic.
    write_empty_chunks : bool, optional
        If False, a chunk equal to the fill value everywhere is deleted instead of written.
    meta_array : array-like, optional
        Accepted for compatibility; results are NumPy arrays.

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> z = zarr.zeros((100, 100), chunks=(10, 10), dtype="i4")
    >>> z[0, :3] = [1, 2, 3]
    >>> z[0, :4]
    array([1, 2, 3, 0], dtype=int32)
    """

    def __init__(
        self,
        store,
        path=None,
        read_only=False,
        chunk_store=None,
        synchronizer=None,
        cache_metadata=True,
        cache_attrs=True,
        partial_decompress=None,
        write_empty_chunks=True,
        zarr_version=None,
        meta_array=None,
    ):
        if zarr_version not in (None, 2):
            raise ValueError(f"zarr_version {zarr_version!r} is not supported by this Array (expected 2)")
        self._store = normalize_store_arg(store)
        self._chunk_store = normalize_store_arg(chunk_store) if chunk_store is not None else None
        self._path = normalize_storage_path(path)
        self._key_prefix = self._path + "/" if self._path else ""
        self._read_only = bool(read_only)
        self._synchronizer = synchronizer
        self._cache_metadata = cache_metadata
        self._is_view = False
        self._partial_decompress = partial_decompress
        self._write_empty_chunks = write_empty_chunks
        self._meta_array = np.empty_like(meta_array, shape=()) if meta_array is not None else np.empty(())
        self._version = 2
        self._load_metadata()
        self._attrs = Attributes(
            self._store,
            key=self._key_prefix + ATTRS_KEY,
            read_only=read_only,
            synchronizer=synchronizer,
            cache=cache_attrs,
        )
        self._oindex = OIndex(self)
        self._vindex = VIndex(self)
        self._blocks = BlockIndex(self)

    # ------------------------------------------------------------------------------ metadata

    def _load_metadata(self):
        if self._synchronizer is None:
            self._load_metadata_nosync()
        else:
            with self._synchronizer[self._key_prefix + ARRAY_META_KEY]:
                self._load_metadata_nosync()

    def _load_metadata_nosync(self):
        self._set_meta(self._read_metadata_nosync())

    def _read_metadata_nosync(self):
        """The stored ``ArrayMeta`` (the store's separator filled in for older documents)."""
        key = self._key_prefix + ARRAY_META_KEY
        try:
            meta_bytes = self._store[key]
        except KeyError as e:
            raise ArrayNotFoundError(self._path) from e
        try:
            meta = _decode_cached(meta_bytes)
        except MetadataError as e:
            raise MetadataError(f"{key!r}: {e}") from e
        if not meta.has_dimension_separator_key:
            # an older document: the store's own separator (nested stores) is the truth
            store_separator = getattr(self._store, "_dimension_separator", None)
            if store_separator is not None:
                meta = meta.replace(dimension_separator=store_separator)
        return meta

    def _set_meta(self, meta):
        self._meta = meta
        self._shape = tuple(meta.shape)
        self._chunks = tuple(meta.chunks)
        self._dtype = meta.dtype
        self._order = meta.order
        self._fill_value = meta.fill_value
        self._dimension_separator = meta.dimension_separator
        self._pipeline = CodecPipeline(meta)
        self._compressor = self._pipeline.compressor
        self._filters = self._pipeline.filters or None
        self._chunk_strides = _layout_strides(self._chunks, self._dtype.itemsize, self._order)
        self._chunk_source = None   # chunkio.source_of's answer for this metadata
        self._fill_item = np.array(meta.fill_value, dtype=self._dtype) if (
            meta.fill_value is not None and not self._dtype.hasobject) else None
        # decoded chunks kept for repeated item reads (config.set_chunk_cache_bytes); new
        # metadata or another process's writes are not seen through it, so it is opt-in
        self._chunk_cache = collections.OrderedDict()
        self._chunk_cache_nbytes = 0

    def _refresh_metadata(self):
        if not self._cache_metadata:
            self._load_metadata()

    def _refresh_metadata_nosync(self):
        if not self._cache_metadata and not self._is_view:
            self._load_metadata_nosync()

    def _flush_metadata_nosync(self):
        if self._is_view:
            raise PermissionError("operation not permitted for views")
        # zarr 2.18 always names the separator when it rewrites the document
        meta = self._meta.replace(has_dimension_separator_key=True)
        self._store[self._key_prefix + ARRAY_META_KEY] = encode_array_metadata(meta)

    # ---------------------------------------------------------------------------- properties

    @property
    def store(self):
        """A MutableMapping providing the underlying storage for the array."""
        return self._store

    @property
    def path(self):
        """Storage path."""
        return self._path

    @property
    def name(self):
        """Array name following the h5py convention (``'/path'``), or None at the root."""
        if self.path:
            return self.path if self.path[0] == "/" else "/" + self.path
        return None

    @property
    def basename(self):
        """Final component of name."""
        return self.name.split("/")[-1] if self.name is not None else None

    @property
    def read_only(self):
        return self._read_only

    @read_only.setter
    def read_only(self, value):
        self._read_only = bool(value)

    @property
    def chunk_store(self):
        """A MutableMapping providing the underlying storage for array chunks."""
        return self._chunk_store if self._chunk_store is not None else self._store

    @property
    def shape(self):
        """A tuple of integers describing the length of each dimension of the array."""
        self._refresh_metadata()
        return self._shape

    @shape.setter
    def shape(self, value):
        self.resize(value)

    @property
    def chunks(self):
        return self._chunks

    @property
    def dtype(self):
        return self._dtype

    @property
    def compressor(self):
        """Primary compression codec (a numcodecs ``Codec`` or None)."""
        return self._compressor

    @property
    def fill_value(self):
        return self._fill_value

    @fill_value.setter
    def fill_value(self, new):
        self._set_meta(self._meta.replace(fill_value=new))
        self._flush_metadata_nosync()

    @property
    def order(self):
        return self._order

    @property
    def filters(self):
        return self._filters

    @property
    def _filters(self):
        return self._pipeline.filters or None

    @_filters.setter
    def _filters(self, filters):
        # zarr 2.18 reads ``_filters`` on every chunk, and code that swaps it (its own tests
        # do) expects the next read or write to use the new chain.
        self._pipeline.filters = list(filters or [])
        self._pipeline.can_decode_into = not self._pipeline.filters and not self._pipeline.is_object

    @property
    def synchronizer(self):
        return self._synchronizer

    @property
    def attrs(self):
        return self._attrs

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def _size(self):
        return math.prod(self._shape)

    @property
    def size(self):
        self._refresh_metadata()
        return self._size

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def _nbytes(self):
        return self._size * self.itemsize

    @property
    def nbytes(self):
        self._refresh_metadata()
        return self._nbytes

    @property
    def nbytes_stored(self):
        """Bytes stored for the array: metadata, attributes and chunks (-1 if unknown)."""
        m = getsize(self._store, self._path)
        if self._chunk_store is None:
            return m
        n = getsize(self._chunk_store, self._path)
        return -1 if m < 0 or n < 0 else m + n

    @property
    def _cdata_shape(self):
        if self._shape == ():
            return (1,)
        return tuple(math.ceil(s / c) for s, c in zip(self._shape, self._chunks))

    @property
    def cdata_shape(self):
        self._refresh_metadata()
        return self._cdata_shape

    @property
    def _nchunks(self):
        return math.prod(self._cdata_shape)

    @property
    def nchunks(self):
        self._refresh_metadata()
        return self._nchunks

    @property
    def nchunks_initialized(self):
        """The number of chunks that have been initialised with some data."""
        ndim = max(self.ndim, 1)
        sep = re.escape(self._dimension_separator)
        pattern = re.compile(r"\d+" + (sep + r"\d+") * (ndim - 1))
        if self._dimension_separator == "/" and ndim > 1:
            prefix = self._key_prefix
            keys = (k[len(prefix):] for k in self.chunk_store.keys() if k.startswith(prefix))
        else:
            keys = listdir(self.chunk_store, self._path)
        return sum(1 for k in keys if pattern.fullmatch(k))

    initialized = nchunks_initialized

    @property
    def is_view(self):
        return self._is_view

    @property
    def oindex(self):
        """Orthogonal (outer) indexing: ``z.oindex[[0, 2], :]``."""
        return self._oindex

    @property
    def vindex(self):
        """Vectorised (coordinate or mask) indexing: ``z.vindex[[0, 2], [1, 3]]``."""
        return self._vindex

    @property
    def blocks(self):
        """Block (chunk) indexing: ``z.blocks[1, :2]``."""
        return self._blocks

    @property
    def write_empty_chunks(self) -> bool:
        return self._write_empty_chunks

    @property
    def meta_array(self):
        return self._meta_array

    def __eq__(self, other):
        return (
            isinstance(other, Array)
            and self.store == other.store
            and self.read_only == other.read_only
            and self.path == other.path
            and not self._is_view
        )

    def __hash__(self):
        return hash((type(self), id(self._store), self._path))

    def __array__(self, dtype=None, copy=None):
        a = self[...]
        if dtype is not None and a.dtype != dtype:
            a = a.astype(dtype)
        return np.asarray(a)

    # ----------------------------------------------------------------------------- iteration

    def islice(self, start=None, end=None):
        """Yield items along the first axis, decoding each chunk once."""
        if len(self.shape) == 0:
            raise TypeError("iteration over a 0-d array")
        start = 0 if start is None else start
        if end is None or end > self.shape[0]:
            end = self.shape[0]
        if not isinstance(start, int) or start < 0:
            raise ValueError("start must be a nonnegative integer")
        if not isinstance(end, int) or end < 0:
            raise ValueError("end must be a nonnegative integer")
        chunk_len = self.chunks[0]
        block, block_start = None, None
        for j in range(start, end):
            if block is None or not (block_start <= j < block_start + chunk_len):
                block_start = j - j % chunk_len
                block = self[block_start : block_start + chunk_len]
            yield block[j - block_start]

    def __iter__(self):
        return self.islice()

    def __len__(self):
        if self.shape:
            return self.shape[0]
        raise TypeError("len() of unsized object")

    # ------------------------------------------------------------------------------ get API

    def __getitem__(self, selection):
        """Read a region: NumPy-style basic indexing, plus integer-array and mask indexing."""
        if type(selection) is tuple and self._cache_metadata and self._shape and len(selection) == len(self._shape) and all(
            type(s) is int or isinstance(s, np.integer) for s in selection
        ):
            # one item: skip planning, read (a few blocks of) one chunk
            return self._read_item(selection)
        fields, pure_selection = pop_fields(selection)
        if is_pure_fancy_indexing(pure_selection, self.ndim):
            return self.vindex[selection]
        if is_pure_orthogonal_indexing(pure_selection, self.ndim):
            return self.get_orthogonal_selection(pure_selection, fields=fields)
        return self.get_basic_selection(pure_selection, fields=fields)

    def get_basic_selection(self, selection=Ellipsis, out=None, fields=None):
        """Read ints, slices (step >= 1) and Ellipsis; see zarr 2.18 for the full semantics."""
        self._refresh_metadata()
        check_fields(fields, self._dtype)
        if self._shape == ():
            return self._get_basic_selection_zd(selection, out=out, fields=fields)
        plan = basic_selection(selection, self._shape, self._chunks)
        return self._get_selection(plan, out=out, fields=fields)

    def get_orthogonal_selection(self, selection, out=None, fields=None):
        """Read the outer product of per-axis selections (ints, slices, int or bool arrays)."""
        self._refresh_metadata()
        check_fields(fields, self._dtype)
        plan = orthogonal_selection(selection, self._shape, self._chunks)
        return self._get_selection(plan, out=out, fields=fields)

    def get_coordinate_selection(self, selection, out=None, fields=None):
        """Read points given by one integer array per axis (broadcast together)."""
        self._refresh_metadata()
        check_fields(fields, self._dtype)
        plan = coordinate_selection(selection, self._shape, self._chunks, self._chunk_strides)
        if out is not None:
            out = out.reshape(-1)
        result = self._get_selection(plan, out=out, fields=fields)
        return result.reshape(plan.sel_shape)

    def get_block_selection(self, selection, out=None, fields=None):
        """Read whole chunks by chunk index (ints and step-1 slices per axis)."""
        self._refresh_metadata()
        check_fields(fields, self._dtype)
        plan = block_selection(selection, self._shape, self._chunks)
        return self._get_selection(plan, out=out, fields=fields)

    def get_mask_selection(self, selection, out=None, fields=None):
        """Read the items where a Boolean array of the array's shape is True."""
        self._refresh_metadata()
        check_fields(fields, self._dtype)
        plan = mask_selection(selection, self._shape, self._chunks, self._chunk_strides)
        return self._get_selection(plan, out=out, fields=fields)

    def _read_item(self, selection):
        """The item at integer coordinates ``selection`` (one per axis), as a NumPy scalar."""
        chunk_coords, item_offset = [], 0
        for index, dim_len, chunk_len, stride in zip(selection, self._shape, self._chunks, self._chunk_strides):
            index = int(index)
            if index < 0:
                index += dim_len
            if not 0 <= index < dim_len:
                raise BoundsCheckError(dim_len)
            chunk_coords.append(index // chunk_len)
            item_offset += (index % chunk_len) * stride
        key = self._chunk_key(chunk_coords)
        if config.get_chunk_cache_bytes() and not self._dtype.hasobject:
            chunk = self._cached_chunk(key)
            return chunk.reshape(-1, order="A").view(np.uint8)[item_offset:item_offset + self.itemsize].view(
                self._dtype)[0]
        out = np.empty(1, dtype=self._dtype)
        if not chunkio.is_compiled_path(self, None, out):
            return self.get_basic_selection(selection)
        chunkio.read_item(self, key, item_offset, out)
        return out[0]

    def _cached_chunk(self, key):
        """The decoded chunk ``key`` from this array's bounded LRU cache (read on a miss)."""
        cache = self._chunk_cache
        chunk = cache.pop(key, None)
        if chunk is None:
            chunk = self._read_or_new_chunk(key)
            chunk.flags.writeable = False
            self._chunk_cache_nbytes += chunk.nbytes
        cache[key] = chunk   # most recently used last
        limit = config.get_chunk_cache_bytes()
        while self._chunk_cache_nbytes > limit and len(cache) > 1:
            _, evicted = cache.popitem(last=False)
            self._chunk_cache_nbytes -= evicted.nbytes
        return chunk

    def _forget_cached_chunks(self, keys):
        for key in keys:
            evicted = self._chunk_cache.pop(key, None)
            if evicted is not None:
                self._chunk_cache_nbytes -= evicted.nbytes

    def _get_basic_selection_zd(self, selection, out=None, fields=None):
        selection = ensure_tuple(selection)
        if selection not in ((), (Ellipsis,)):
            err_too_many_indices(selection, ())
        chunk = self._read_or_new_chunk(self._chunk_key((0,)), shape=())
        if fields:
            chunk = chunk[fields]
        if out is None:
            return chunk[selection]
        out[selection] = chunk[selection]
        return out

    def _get_selection(self, plan, out=None, fields=None):
        out_dtype = check_fields(fields, self._dtype)
        if out is None:
            # object arrays without a fill value read missing chunks as None (np.empty), as zarr 2.18
            allocate = _resultpool.empty if self._fill_value is not None or self._dtype.hasobject else np.zeros
            out = allocate(plan.shape, dtype=out_dtype, order=self._order)
        else:
            _check_array_shape("out", out, plan.shape)
            if not isinstance(out, np.ndarray):
                # An array-like destination without strides (another Array, say): the kernels
                # write into NumPy memory, so read into NumPy and assign once.
                out[...] = self._get_selection(plan, fields=fields)
                return out
        if math.prod(plan.shape) > 0:
            if isinstance(plan, OrthogonalSelection):
                self._read_orthogonal(plan, out, fields)
            else:
                self._read_points(plan, out, fields)
        return out if out.shape else out[()]

    # ----------------------------------------------------------------------------- chunk I/O

    def _chunk_key(self, chunk_coords):
        return self._key_prefix + self._dimension_separator.join(map(str, chunk_coords))

    def _fetch(self, keys):
        """Stored bytes for ``keys`` (absent keys are left out); store errors propagate."""
        contexts = {}
        if not isinstance(self._meta_array, np.ndarray):
            # Only a non-NumPy meta_array is worth telling the store about (as zarr 2.18).
            contexts = ConstantMap(keys, constant=Context(meta_array=self._meta_array))
        # chunk stores are normalised to BaseStore, which always has getitems
        return self.chunk_store.getitems(keys, contexts=contexts)

    def _is_kernel_path(self, fields, *arrays):
        """True when byte-level kernels can serve this call (else the NumPy path does)."""
        return (
            not fields
            and not self._dtype.hasobject
            and all(isinstance(a, np.ndarray) and _has_nonnegative_strides(a) for a in arrays)
        )

    def _new_chunk(self, shape=None):
        """A chunk holding the fill value (zeros when there is none), in the array's order."""
        shape = self._chunks if shape is None else shape
        if self._fill_value is not None:
            chunk = np.empty(shape, dtype=self._dtype, order=self._order)
            chunk.fill(self._fill_value)
        elif self._dtype.kind == "O" and shape != ():
            # zarr 2.18 starts an object chunk from None, but a 0-d one from zeros (it reads 0)
            chunk = np.empty(shape, dtype=self._dtype, order=self._order)
        else:
            chunk = np.zeros(shape, dtype=self._dtype, order=self._order)
        return chunk

    def _read_or_new_chunk(self, key, shape=None):
        cdata = self._fetch([key]).get(key)
        if cdata is None:
            return self._new_chunk(shape)
        chunk = self._pipeline.decode(cdata, key)
        return chunk.reshape(shape) if shape is not None else chunk

    # ------------------------------------------------------------------------ orthogonal read

    def _orthogonal_chunks(self, plan):
        """``(positions, keys)``: every chunk of ``plan`` in C order, as per-axis plan
        positions (int64 ``(nchunks, ndim)``) and store keys."""
        counts = [len(dim_plan[0]) for dim_plan in plan.dim_plans]
        grids = np.meshgrid(*[np.arange(n, dtype=np.int64) for n in counts], indexing="ij")
        positions = np.ascontiguousarray(np.stack([g.reshape(-1) for g in grids], axis=1))
        axis_names = [[str(c) for c in dim_plan[0].tolist()] for dim_plan in plan.dim_plans]
        sep, prefix = self._dimension_separator, self._key_prefix
        keys = [prefix + sep.join(parts) for parts in itertools.product(*axis_names)]
        return positions, keys

    def _read_orthogonal(self, plan, out, fields):
        full_out = np.expand_dims(out, plan.drop_axes) if plan.drop_axes else out
        table = _AxisTable(plan, self._chunks)
        positions, keys = self._orthogonal_chunks(plan)
        if chunkio.is_compiled_path(self, fields, full_out):
            chunkio.read_orthogonal(self, plan, full_out, keys, positions, table)
            return
        rows = positions.tolist()
        if not self._is_kernel_path(fields, out):
            # object dtypes and field selections: NumPy does the copies, one chunk at a time
            cdatas = self._fetch(keys)
            for row, key in zip(rows, keys):
                self._read_chunk_numpy(cdatas.get(key), key, full_out, table, row, fields)
            return
        chunk_strides, out_strides = self._chunk_strides, full_out.strides
        fill = self._fill_item

        def copy_chunk(i, chunk):
            row = rows[i]
            srcs = [table.local[d][k] * chunk_strides[d] for d, k in enumerate(row)]
            dsts = [table.out[d][k] * out_strides[d] for d, k in enumerate(row)]
            if chunk is not None:
                _chunkcopy.copy_orthogonal(chunk, full_out, srcs, dsts)
            elif fill is not None:
                _chunkcopy.copy_orthogonal(fill, full_out, [np.zeros_like(x) for x in srcs], dsts)

        table.split_per_chunk()  # once, before the workers share the table
        chunkio.decode_in_workers(self, keys, copy_chunk)

    def _read_chunk_numpy(self, cdata, key, full_out, table, positions, fields):
        out_index = np.ix_(*[table.out[d][k] for d, k in enumerate(positions)])
        if cdata is None:
            if self._fill_value is not None:
                full_out[out_index] = self._fill_value[fields] if fields else self._fill_value
            return
        chunk = self._pipeline.decode(cdata, key)
        if fields:
            chunk = chunk[fields]
        full_out[out_index] = chunk[np.ix_(*[table.local[d][k] for d, k in enumerate(positions)])]

    # ---------------------------------------------------------------------------- point read

    def _point_offsets(self, plan):
        """Chunk-local byte offsets of every point, in chunk-grouped order."""
        if plan.offsets is not None:
            return plan.offsets
        return _indexing.point_chunk_offsets(plan.coords, plan.order, self._chunks, self._chunk_strides)

    def _point_locals(self, plan, a, b):
        """Chunk-local coordinates of the points ``plan.order[a:b]`` (NumPy path)."""
        chunks = np.asarray(self._chunks, dtype=np.int64)[:, None]
        return tuple(plan.coords[:, plan.order[a:b]] % chunks)

    def _read_points(self, plan, out, fields):
        keys = [self._chunk_key(tuple(c)) for c in plan.chunk_coords.tolist()]
        bounds = plan.bounds.tolist()
        if self._is_kernel_path(fields, out):
            chunk_offsets = self._point_offsets(plan)
            if chunkio.is_compiled_path(self, fields, out):
                chunkio.read_points(self, plan, out, keys, chunk_offsets)
                return
            out_offsets = plan.order * out.strides[0]
            fill = self._fill_item

            def copy_chunk(k, chunk):
                a, b = bounds[k], bounds[k + 1]
                if chunk is not None:
                    _chunkcopy.copy_points(chunk, out, chunk_offsets[a:b], out_offsets[a:b])
                elif fill is not None:
                    _chunkcopy.copy_points(fill, out, np.zeros(b - a, dtype=np.int64), out_offsets[a:b])

            chunkio.decode_in_workers(self, keys, copy_chunk)
            return
        cdatas = self._fetch(keys)
        for k, key in enumerate(keys):
            a, b = bounds[k], bounds[k + 1]
            cdata = cdatas.get(key)
            points = plan.order[a:b]
            if cdata is None:
                if self._fill_value is not None:
                    out[points] = self._fill_value[fields] if fields else self._fill_value
                continue
            chunk = self._pipeline.decode(cdata, key)
            if fields:
                chunk = chunk[fields]
            out[points] = chunk[self._point_locals(plan, a, b)]

    # ------------------------------------------------------------------------------ set API

    def __setitem__(self, selection, value):
        """Write a region: NumPy-style basic indexing, plus integer-array and mask indexing."""
        fields, pure_selection = pop_fields(selection)
        if is_pure_fancy_indexing(pure_selection, self.ndim):
            self.vindex[selection] = value
        elif is_pure_orthogonal_indexing(pure_selection, self.ndim):
            self.set_orthogonal_selection(pure_selection, value, fields=fields)
        else:
            self.set_basic_selection(pure_selection, value, fields=fields)

    def _check_writable(self):
        if self._read_only:
            raise ReadOnlyError()
        if not self._cache_metadata:
            self._load_metadata_nosync()

    def set_basic_selection(self, selection, value, fields=None):
        """Write ints, slices (step >= 1) and Ellipsis."""
        self._check_writable()
        if self._shape == ():
            return self._set_basic_selection_zd(selection, value, fields=fields)
        plan = basic_selection(selection, self._shape, self._chunks)
        self._set_selection(plan, value, fields=fields)

    def set_orthogonal_selection(self, selection, value, fields=None):
        """Write the outer product of per-axis selections."""
        self._check_writable()
        plan = orthogonal_selection(selection, self._shape, self._chunks)
        self._set_selection(plan, value, fields=fields)

    def set_coordinate_selection(self, selection, value, fields=None):
        """Write points given by one integer array per axis."""
        self._check_writable()
        plan = coordinate_selection(selection, self._shape, self._chunks, self._chunk_strides)
        if not is_scalar(value, self._dtype):
            value = np.asanyarray(value)
            if value.ndim > 1:
                value = value.reshape(-1)
        self._set_selection(plan, value, fields=fields)

    def set_block_selection(self, selection, value, fields=None):
        """Write whole chunks by chunk index."""
        self._check_writable()
        plan = block_selection(selection, self._shape, self._chunks)
        self._set_selection(plan, value, fields=fields)

    def set_mask_selection(self, selection, value, fields=None):
        """Write the items where a Boolean array of the array's shape is True."""
        self._check_writable()
        plan = mask_selection(selection, self._shape, self._chunks, self._chunk_strides)
        self._set_selection(plan, value, fields=fields)

    def _set_basic_selection_zd(self, selection, value, fields=None):
        selection = ensure_tuple(selection)
        if selection not in ((), (Ellipsis,)):
            err_too_many_indices(selection, self._shape)
        check_fields(fields, self._dtype)
        fields = check_no_multi_fields(fields)
        key = self._chunk_key((0,))

        def build(_, cdata):
            chunk = self._new_chunk(()) if cdata is None else self._pipeline.decode(cdata, key).reshape(()).copy()
            if fields:
                chunk[fields][selection] = value
            else:
                chunk[selection] = value
            return chunk

        self._write_chunks([key], build, [True])

    def _set_selection(self, plan, value, fields=None):
        check_fields(fields, self._dtype)
        fields = check_no_multi_fields(fields)
        sel_shape = plan.shape
        if sel_shape == () or is_scalar(value, self._dtype):
            value_array = self._scalar_value(value, fields)
            is_scalar_value = True
        else:
            if not hasattr(value, "shape"):
                value = np.asanyarray(value)
            _check_array_shape("value", value, sel_shape)
            value_array = value
            is_scalar_value = False
        if math.prod(self._shape) == 0 or math.prod(sel_shape) == 0:
            return
        if isinstance(plan, OrthogonalSelection):
            self._write_orthogonal(plan, value_array, is_scalar_value, fields)
        else:
            self._write_points(plan, value_array, is_scalar_value, fields)

    def _scalar_value(self, value, fields):
        dtype = self._dtype[fields] if fields else self._dtype
        if isinstance(value, np.ndarray) and value.shape == ():
            return value.astype(dtype, copy=False)
        if dtype.kind == "O":
            arr = np.empty((), dtype=object)
            arr[()] = value
            return arr
        return np.array(value, dtype=dtype)

    def _value_for_kernel(self, value, dtype):
        """The value cast to the target dtype with non-negative strides (copied only if needed)."""
        value = np.asarray(value)
        if value.dtype != dtype:
            value = value.astype(dtype)
        if not _has_nonnegative_strides(value):
            value = value.copy()
        return value

    def _write_chunks(self, keys, build, needs_old):
        """Build, encode and store the chunks ``keys`` on the worker pool.

        ``build(i, old_cdata)`` returns the new chunk ``i`` (``old_cdata`` is the stored chunk,
        or None, when ``needs_old[i]``). Chunks equal to the fill value are deleted instead
        when ``write_empty_chunks`` is False. Batches bound memory to a few chunks per worker;
        a directory store is written by the workers themselves (each file atomically), other
        stores once per batch. The first failure cancels the rest and reaches the caller.
        """
        store = self.chunk_store
        self._forget_cached_chunks(keys)
        is_threadsafe = chunkio.is_directory_store(store)
        file_root = chunkio.writable_directory_of(store)
        nthreads = config.get_threads()
        batch_size = max(_WRITE_BATCH, 8 * nthreads)
        for first in range(0, len(keys), batch_size):
            batch = range(first, min(first + batch_size, len(keys)))
            with _locks(self, [keys[i] for i in batch]):
                old = {}
                if not is_threadsafe:
                    old = self._fetch([keys[i] for i in batch if needs_old[i]])

                def task(start, stop, cancel):
                    results = {}
                    # chunk files are written as soon as they are encoded, so one frame
                    # buffer per thread serves every chunk (no bytes object per chunk)
                    frame = None
                    if file_root is not None:
                        frame = thread_scratch("frame", self._pipeline.chunk_nbytes + BLOSC_HEADER_NBYTES)
                    for i in batch[start:stop]:
                        if cancel.is_set():
                            raise Cancelled()
                        key = keys[i]
                        cdata = None
                        if needs_old[i]:
                            cdata = self._fetch([key]).get(key) if is_threadsafe else old.get(key)
                        chunk = build(i, cdata)
                        if not self._write_empty_chunks and self._is_fill_only(chunk):
                            encoded = None
                        else:
                            encoded = self._pipeline.encode(chunk, frame)
                        if file_root is not None and encoded is not None:
                            chunkio.write_chunk_files(store, file_root, {key: encoded})
                        elif is_threadsafe:
                            _put_chunk(store, key, encoded)
                        else:
                            results[key] = encoded
                    return results

                results = run_ranges(task, len(batch), nthreads)
                if not is_threadsafe:
                    merged = {}
                    for part in results:
                        merged.update(part)
                    self._put_chunks(store, merged)

    def _scratch_chunk(self):
        """An uninitialised chunk for a build that ``_write_chunks`` encodes before the same
        thread builds the next one: its memory is reused rather than faulted in anew."""
        if self._dtype.hasobject:
            return np.empty(self._chunks, dtype=self._dtype, order=self._order)
        raw = thread_scratch("chunk", self._pipeline.chunk_nbytes)
        return raw.view(self._dtype).reshape(self._chunks, order=self._order)

    @staticmethod
    def _put_chunks(store, encoded):
        """Store ``{key: bytes}``; a None value deletes the key (absent keys are fine)."""
        for key in [k for k, v in encoded.items() if v is None]:
            _put_chunk(store, key, None)
        present = {k: v for k, v in encoded.items() if v is not None}
        if not present:
            return
        if hasattr(store, "setitems"):
            store.setitems(present)
        else:
            for key, cdata in present.items():
                store[key] = cdata

    def _is_fill_only(self, chunk):
        if self._fill_value is None:
            return False
        if self._dtype.kind == "O":
            return object_chunk_is_fill(chunk, self._fill_value)
        return _chunkcopy.is_fill(np.ascontiguousarray(chunk).reshape(-1), self._fill_item)

    # ------------------------------------------------------------------------ orthogonal write

    def _write_orthogonal(self, plan, value, is_scalar_value, fields):
        table = _AxisTable(plan, self._chunks)
        positions, keys = self._orthogonal_chunks(plan)
        rows = positions.tolist()
        use_kernel = self._is_kernel_path(fields)
        if is_scalar_value:
            value_full = value
        else:
            if use_kernel:
                value = self._value_for_kernel(value, self._dtype)
            value_full = np.expand_dims(value, plan.drop_axes) if plan.drop_axes else value
        # per axis once, then per chunk: every position of the chunk is written
        covers = [
            [bool(whole) or self._covers_chunk(local, chunk_len) for whole, local in zip(table.whole[d], table.local[d])]
            for d, chunk_len in enumerate(self._chunks)
        ]
        is_total = [not fields and all(covers[d][k] for d, k in enumerate(row)) for row in rows]
        chunk_strides = self._chunk_strides

        is_layout = self._order == "C" and "C_CONTIGUOUS" or "F_CONTIGUOUS"

        def build(i, cdata):
            row = rows[i]
            if is_total[i]:
                if use_kernel and not is_scalar_value and table.is_whole(row):
                    # the value already holds this chunk's bytes in the chunk's layout, or blosc
                    # can shuffle them out of its rows: encode straight from it, no gather
                    region = value_full[tuple(
                        slice(int(table.out[d][k][0]), int(table.out[d][k][0]) + n)
                        for d, (k, n) in enumerate(zip(row, self._chunks))
                    )]
                    if region.flags[is_layout] or self._pipeline.can_encode_region(region):
                        return region
                chunk = self._scratch_chunk()
                if is_scalar_value:
                    chunk.fill(value[()])
                    return chunk
            else:
                chunk = self._new_chunk() if cdata is None else self._pipeline.decode(cdata, keys[i])
                if not chunk.flags.writeable:
                    chunk = chunk.copy(order="K")
            locals_k = [table.local[d][k] for d, k in enumerate(row)]
            if is_scalar_value:
                outs_k = [np.zeros(len(lk), dtype=np.int64) for lk in locals_k]
            else:
                outs_k = [table.out[d][k] for d, k in enumerate(row)]
            if use_kernel:
                srcs = outs_k if is_scalar_value else [o * s for o, s in zip(outs_k, value_full.strides)]
                dsts = [lk * s for lk, s in zip(locals_k, chunk_strides)]
                _chunkcopy.copy_orthogonal(value_full, chunk, srcs, dsts)
            else:
                target = chunk[fields] if fields else chunk
                # a scalar stays 0-d so NumPy broadcasts it (an object value may be a list)
                target[np.ix_(*locals_k)] = value_full if is_scalar_value else value_full[np.ix_(*outs_k)]
            return chunk

        self._write_chunks(keys, build, [not total for total in is_total])

    @staticmethod
    def _covers_chunk(local, chunk_len):
        """True when chunk-local indices hit every position of the chunk (any order)."""
        if len(local) < chunk_len:
            return False
        return np.unique(local).size == chunk_len

    # ----------------------------------------------------------------------------- point write

    def _write_points(self, plan, value, is_scalar_value, fields):
        keys = [self._chunk_key(tuple(c)) for c in plan.chunk_coords.tolist()]
        bounds = plan.bounds.tolist()
        chunk_offsets = self._point_offsets(plan)
        use_kernel = self._is_kernel_path(fields)
        value_offsets = None
        if not is_scalar_value:
            value = value.reshape(-1)
            if value.shape[0] != plan.coords.shape[1]:
                raise ValueError(
                    f"parameter 'value': expected array with shape {plan.shape!r}, got {value.shape!r}"
                )
            if use_kernel:
                value = self._value_for_kernel(value, self._dtype)
                value_offsets = plan.order * value.strides[0]

        def build(k, cdata):
            a, b = bounds[k], bounds[k + 1]
            chunk = self._new_chunk() if cdata is None else self._pipeline.decode(cdata, keys[k])
            if not chunk.flags.writeable:
                chunk = chunk.copy(order="K")
            if use_kernel:
                srcs = np.zeros(b - a, dtype=np.int64) if is_scalar_value else value_offsets[a:b]
                _chunkcopy.copy_points(value, chunk, srcs, chunk_offsets[a:b])
            else:
                target = chunk[fields] if fields else chunk
                target[self._point_locals(plan, a, b)] = value if is_scalar_value else value[plan.order[a:b]]
            return chunk

        self._write_chunks(keys, build, [True] * len(keys))

    # ----------------------------------------------------------------------------------- info

    def __repr__(self):
        t = type(self)
        r = f"<{t.__module__}.{t.__name__}"
        if self.name:
            r += f" {self.name!r}"
        r += f" {str(self.shape)} {self.dtype}"
        if self._read_only:
            r += " read-only"
        return r + ">"

    @property
    def info(self):
        """Diagnostic information about the array (a report that prints as text or HTML)."""
        return InfoReporter(self)

    def info_items(self):
        return self._synchronized_op(self._info_items_nosync)

    def _info_items_nosync(self):
        def typestr(o):
            return f"{type(o).__module__}.{type(o).__name__}"

        def bytestr(n):
            return f"{n} ({human_readable_size(n)})" if n > 2**10 else str(n)

        items = []
        if self.name is not None:
            items.append(("Name", self.name))
        items += [
            ("Type", typestr(self)),
            ("Data type", str(self.dtype)),
            ("Shape", str(self._shape)),
            ("Chunk shape", str(self.chunks)),
            ("Order", self.order),
            ("Read-only", str(self.read_only)),
        ]
        for i, f in enumerate(self.filters or []):
            items.append((f"Filter [{i}]", repr(f)))
        items.append(("Compressor", repr(self.compressor)))
        if self._synchronizer is not None:
            items.append(("Synchronizer type", typestr(self._synchronizer)))
        # the nosync values: the caller holds the metadata lock (not re-entrant) and refreshed
        nbytes, nbytes_stored = self._nbytes, self.nbytes_stored
        items.append(("Store type", typestr(self._store)))
        if self._chunk_store is not None:
            items.append(("Chunk store type", typestr(self._chunk_store)))
        items.append(("No. bytes", bytestr(nbytes)))
        if nbytes_stored > 0:
            items += [
                ("No. bytes stored", bytestr(nbytes_stored)),
                ("Storage ratio", f"{nbytes / nbytes_stored:.1f}"),
            ]
        items.append(("Chunks initialized", f"{self.nchunks_initialized}/{self._nchunks}"))
        return items

    def digest(self, hashname="sha1"):
        """A digest of the stored chunks, metadata and attributes (as zarr 2.18 computes it)."""
        h = hashlib.new(hashname)
        for coords in itertools.product(*[range(s) for s in self.cdata_shape]):
            h.update(self.chunk_store.get(self._chunk_key(coords), b""))
        for key in (self._key_prefix + ARRAY_META_KEY, self.attrs.key):
            document = self.store.get(key, b"")
            # a consolidated store hands out parsed documents: hash their JSON encoding
            h.update(json_dumps(document) if isinstance(document, Mapping) else document)
        return h.digest()

    def hexdigest(self, hashname="sha1"):
        """The digest as a hex string."""
        checksum = binascii.hexlify(self.digest(hashname=hashname))
        return checksum.decode("utf-8") if not isinstance(checksum, str) else checksum

    # ------------------------------------------------------------------------------ pickling

    def __getstate__(self):
        return {
            "store": self._store,
            "path": self._path,
            "read_only": self._read_only,
            "chunk_store": self._chunk_store,
            "synchronizer": self._synchronizer,
            "cache_metadata": self._cache_metadata,
            "cache_attrs": self._attrs.cache,
            "partial_decompress": self._partial_decompress,
            "write_empty_chunks": self._write_empty_chunks,
            "zarr_version": self._version,
            "meta_array": self._meta_array,
        }

    def __setstate__(self, state):
        self.__init__(**state)

    # ---------------------------------------------------------------------- resize / append

    def _synchronized_op(self, f, *args, **kwargs):
        if self._synchronizer is None:
            self._refresh_metadata_nosync()
            return f(*args, **kwargs)
        with self._synchronizer[self._key_prefix + ARRAY_META_KEY]:
            self._refresh_metadata_nosync()
            return f(*args, **kwargs)

    def _write_op(self, f, *args, **kwargs):
        if self._read_only:
            raise ReadOnlyError()
        return self._synchronized_op(f, *args, **kwargs)

    def _metadata_write_op(self, f, *args, **kwargs):
        """Run ``f`` (resize, append) holding the metadata key's lock, on fresh metadata.

        With a synchronizer, other processes may have resized the array since this object read
        its metadata, so the document is re-read under the lock even with ``cache_metadata``:
        the new shape is computed from the stored one and no append is lost or overwritten.
        """
        if self._read_only:
            raise ReadOnlyError()
        if self._synchronizer is None:
            self._refresh_metadata_nosync()
            return f(*args, **kwargs)
        with self._synchronizer[self._key_prefix + ARRAY_META_KEY]:
            if not self._is_view:
                self._reload_metadata_nosync()
            return f(*args, **kwargs)

    def _reload_metadata_nosync(self):
        """Re-read the stored metadata, keeping this object's state when nothing changed."""
        meta = self._read_metadata_nosync()
        # unchanged bytes decode to the very same (cached, immutable) ArrayMeta
        if meta is not self._meta:
            self._set_meta(meta)

    def resize(self, *args):
        """Change the shape; chunks wholly outside the new shape are deleted from the store."""
        return self._metadata_write_op(self._resize_nosync, *args)

    def _resize_nosync(self, *args):
        old_shape = self._shape
        new_shape = normalize_resize_args(old_shape, *args)
        old_cdata_shape = self._cdata_shape
        self._set_meta(self._meta.replace(shape=new_shape))
        self._flush_metadata_nosync()
        new_cdata_shape = self._cdata_shape
        store = self.chunk_store
        # walk each axis that shrank, removing the chunk slabs beyond its new extent
        kept = list(old_cdata_shape)
        for axis, (n_old, n_new) in enumerate(zip(old_cdata_shape, new_cdata_shape)):
            if n_new >= n_old:
                continue
            ranges = [range(n_new, n_old) if d == axis else range(kept[d]) for d in range(len(kept))]
            for coords in itertools.product(*ranges):
                try:
                    del store[self._chunk_key(coords)]
                except KeyError:
                    pass
            kept[axis] = n_new

    def append(self, data, axis=0):
        """Append ``data`` along ``axis``; returns the new shape."""
        return self._metadata_write_op(self._append_nosync, data, axis=axis)

    def _append_nosync(self, data, axis=0):
        if not hasattr(data, "shape"):
            data = np.asanyarray(data)
        kept_self = tuple(s for i, s in enumerate(self._shape) if i != axis)
        kept_data = tuple(s for i, s in enumerate(data.shape) if i != axis)
        if kept_self != kept_data:
            raise ValueError(
                "shape of data to append is not compatible with the array; all dimensions must "
                "match except for the dimension being appended"
            )
        old_shape = self._shape
        new_shape = tuple(s + data.shape[i] if i == axis else s for i, s in enumerate(old_shape))
        self._resize_nosync(new_shape)
        append_selection = tuple(
            slice(old_shape[i], new_shape[i]) if i == axis else slice(None) for i in range(len(new_shape))
        )
        self[append_selection] = data
        return new_shape

    # ------------------------------------------------------------------------- views / astype

    def view(self, shape=None, chunks=None, dtype=None, fill_value=None, filters=None, read_only=None,
             synchronizer=None):
        """An array sharing this one's store but reading it with other metadata."""
        a = Array(
            store=self._store,
            path=self._path,
            chunk_store=self._chunk_store,
            read_only=self._read_only if read_only is None else read_only,
            synchronizer=self._synchronizer if synchronizer is None else synchronizer,
            cache_metadata=True,
        )
        a._is_view = True
        changes = {}
        if dtype is not None:
            dtype = np.dtype(dtype)
            changes["dtype"] = dtype
        if shape is not None:
            changes["shape"] = tuple(shape) if not isinstance(shape, int) else (shape,)
        if chunks is not None:
            changes["chunks"] = tuple(chunks) if not isinstance(chunks, int) else (chunks,)
        if fill_value is not None:
            changes["fill_value"] = fill_value
        if filters is not None:
            changes["filters"] = [f.get_config() for f in filters] or None
        if changes:
            a._set_meta(a._meta.replace(**changes))
        return a

    def astype(self, dtype):
        """A read-only view converting the data to ``dtype`` on the fly."""
        from numcodecs import AsType

        dtype = np.dtype(dtype)
        filters = [AsType(encode_dtype=self._dtype, decode_dtype=dtype)] + list(self._filters or [])
        return self.view(filters=filters, dtype=dtype, read_only=True)



# chunks built per batch: bounds a write's memory to this many decoded chunks at a time
_WRITE_BATCH = 64


def _put_chunk(store, key, cdata):
    """Store one encoded chunk, or delete it (if present) when ``cdata`` is None."""
    if cdata is not None:
        store[key] = cdata
        return
    try:
        del store[key]
    except KeyError:
        pass


class _locks:
    """Hold the synchronizer's lock of every key in a batch while the batch is read-merged-stored.

    Locks are taken in sorted key order, so two writers whose batches share chunks never wait on
    each other in a cycle; a thread holds one batch's locks at a time, and the pool workers that
    build the batch take no lock themselves, so they never wait on a writer. If taking a lock
    fails, the ones already taken are released before the error propagates.
    """

    def __init__(self, array, keys):
        sync = array._synchronizer
        self._locks = [] if sync is None else [sync[k] for k in sorted(set(keys))]
        self._held = []

    def __enter__(self):
        try:
            for lock in self._locks:
                lock.__enter__()
                self._held.append(lock)
        except BaseException:
            self._release()
            raise
        return self

    def _release(self):
        while self._held:
            self._held.pop().__exit__(None, None, None)

    def __exit__(self, *exc):
        self._release()
        return False
