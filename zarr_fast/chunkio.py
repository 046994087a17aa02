"""Drive a read over many chunks: sources, per-axis tables, threads, and errors.

``read_orthogonal`` and ``read_points`` take a plan from ``indexing`` and fill ``out``.
Two paths, chosen once per call by ``is_compiled_path``:

* compiled: raw or blosc chunks without filters, a fixed-size dtype, and the chunk bytes
  either in files of a directory store (opened and read by ``_chunkfiles`` itself) or in any
  other store (fetched in one ``getitems`` batch). Each worker thread handles a contiguous
  range of chunks in one call that never takes the GIL.
* Python: any other codec chain; chunks are decoded by the ``CodecPipeline`` on the same
  workers (numcodecs releases the GIL while it decompresses) and copied by ``_chunkcopy``.

Errors from any chunk reach the caller naming the chunk key (``ChunkDecodeError``) or the
file (``OSError``); the other workers stop at their next chunk.
"""
from __future__ import annotations

import os

import numpy as np

from . import _chunkfiles, _chunkio, config
from .errors import ChunkDecodeError
from .parallel import Cancelled, run_ranges

# below this many chunk bytes per worker, threads cost more than they save
_MIN_BYTES_PER_RANGE = 1 << 20
# reads hand out this many ranges per thread: chunks that cost unequal work (edge chunks,
# missing ones) or a core taken by another process then leave no thread idle at the end
_PIECES_PER_THREAD = 4


def _codec_kind(pipeline):
    if pipeline.filters or pipeline.is_object:
        return None
    if pipeline.compressor is None:
        return _chunkio.CODEC_RAW
    if pipeline.compressor.codec_id == "blosc" and _chunkio.is_ready():
        return _chunkio.CODEC_BLOSC
    return None


def is_directory_store(store):
    """True for stores whose keys are plain files, safe to read and write from many threads."""
    from .storage import DirectoryStore

    return isinstance(store, DirectoryStore)


def writable_directory_of(store):
    """The root folder (bytes) when chunk files may be written here directly, else None."""
    from .storage import DirectoryStore

    root = _directory_of(store)
    if root is None or type(store)._tofile is not DirectoryStore._tofile:
        return None
    if type(store).__setitem__ is not DirectoryStore.__setitem__:
        return None
    return root


def write_chunk_files(store, root, encoded):
    """Write ``{key: bytes}`` as chunk files under ``root`` without the GIL, atomically per
    file; a file that fails (a folder not made yet, say) goes through the store instead,
    which creates folders or raises naming the key."""
    keys = list(encoded)
    paths = [root + b"/" + os.fsencode(k) for k in keys]
    for index, _ in _chunkfiles.write_files(paths, [encoded[k] for k in keys]):
        store[keys[index]] = bytes(encoded[keys[index]])


def _directory_of(store):
    """The root folder when ``store`` keeps each key in a plain file we may read ourselves."""
    from .storage import DirectoryStore

    if not isinstance(store, DirectoryStore) or getattr(store, "normalize_keys", False):
        return None
    if type(store)._fromfile is not DirectoryStore._fromfile:
        return None   # a subclass that transforms file contents
    return os.fsencode(os.path.abspath(store.path))


class ChunkSources:
    """Where each chunk of a read comes from: file paths, fetched buffers, or None (absent)."""

    def __init__(self, array, keys):
        self.keys = keys
        self.codec, root = source_of(array)
        self.from_files = root is not None
        if self.from_files:
            # keys are built from digits, separators and a validated path: safe as file names
            self.items = _chunkfiles.ChunkFiles(root, keys)
        else:
            fetched = array._fetch(keys)
            self.items = [fetched.get(k) for k in keys]

    def describe_error(self, index, code, err_no):
        key = self.keys[index]
        if code == -4 and err_no:
            path = os.fsdecode(self.items.path(index)) if self.from_files else key
            return OSError(err_no, f"{os.strerror(err_no)} (chunk {key!r})", path)
        reason = _chunkio.ERROR_NAMES.get(code, f"error {code}")
        return ChunkDecodeError(key, reason)


def is_compiled_path(array, fields, out):
    """True when ``_chunkio`` can serve this read (see the module docstring)."""
    return (
        not fields
        and not array._dtype.hasobject
        and _codec_kind(array._pipeline) is not None
        and isinstance(out, np.ndarray)
        and all(s >= 0 for s in out.strides)
    )


def _threads_for(array, nchunks):
    """``(workers, codec threads each)``: many chunks get one codec thread per worker, a
    single chunk gets the whole budget inside the codec."""
    budget = config.get_threads()
    return _nthreads_for(nchunks * array._pipeline.chunk_nbytes), budget if nchunks == 1 else 1


def _nthreads_for(nbytes):
    budget = config.get_threads()
    return max(1, min(budget, nbytes // _MIN_BYTES_PER_RANGE or 1))


def _raise_first(sources, results):
    for errors in results:
        for index, code, err_no in errors or ():
            raise sources.describe_error(index, code, err_no)


def read_orthogonal(array, plan, full_out, keys, positions, table):
    """Fill ``full_out`` from the chunks of an orthogonal plan on the compiled path.

    ``positions`` is ``(nchunks, ndim)`` int64 (each chunk's index into every axis's plan),
    ``keys`` the matching chunk keys, ``table`` an ``_AxisTable``-like object with per-axis
    ``whole`` flags.
    """
    sources = ChunkSources(array, keys)
    chunk_strides, out_strides = array._chunk_strides, full_out.strides
    bounds, src_offsets, dst_offsets = [], [], []
    for d, (chunk_ix, dim_bounds, local, out) in enumerate(plan.dim_plans):
        bounds.append(dim_bounds)
        src_offsets.append(local * chunk_strides[d])
        dst_offsets.append(out * out_strides[d])
    # a whole chunk may decode into ``out`` when its region there has the chunk's layout
    direct_ok = all(
        n == 1 or out_strides[d] == chunk_strides[d] for d, n in enumerate(array._chunks)
    )
    nthreads, codec_threads = _threads_for(array, len(keys))
    # the chunk's outermost axis (largest stride): blosc blocks hold whole slabs of it
    outer = int(np.argmax(chunk_strides)) if len(chunk_strides) else -1
    row_nbytes = chunk_strides[outer] if outer >= 0 else 0

    def task(start, stop, cancel):
        return _chunkio.read_orthogonal(
            sources.items, sources.from_files, positions, bounds, src_offsets, dst_offsets,
            table.whole, full_out, array._fill_item, sources.codec, array._pipeline.chunk_nbytes,
            direct_ok, codec_threads, start, stop, outer, row_nbytes,
        )

    _raise_first(sources, run_ranges(task, len(keys), nthreads, pieces_per_thread=_PIECES_PER_THREAD))


def read_points(array, plan, out, keys, chunk_offsets):
    """Fill ``out`` (1-D) from the chunks of a point plan on the compiled path."""
    sources = ChunkSources(array, keys)
    dst_offsets = np.ascontiguousarray(plan.order * out.strides[0], dtype=np.int64)
    nthreads, codec_threads = _threads_for(array, len(keys))

    def task(start, stop, cancel):
        return _chunkio.read_points(
            sources.items, sources.from_files, plan.bounds, chunk_offsets, dst_offsets, out,
            array._fill_item, sources.codec, array._pipeline.chunk_nbytes, codec_threads, start, stop,
        )

    _raise_first(sources, run_ranges(task, len(keys), nthreads, pieces_per_thread=_PIECES_PER_THREAD))


def source_of(array):
    """``(codec, root)`` for the array's chunks, worked out once per array (and metadata):
    the compiled codec kind (or None) and the folder of a directory store (or None)."""
    found = array._chunk_source
    if found is None:
        codec = _codec_kind(array._pipeline)
        root = _directory_of(array.chunk_store) if codec is not None else None
        found = array._chunk_source = (codec, root)
    return found


def read_item(array, key, item_offset, out):
    """Read the one item at byte ``item_offset`` of chunk ``key`` into ``out[0]``."""
    codec, root = source_of(array)
    if root is not None:
        source = root + b"/" + os.fsencode(key)
    else:
        source = array._fetch([key]).get(key)
    code, err_no = _chunkio.read_item(
        source, root is not None, codec, array._pipeline.chunk_nbytes, item_offset, out, array._fill_item,
        config.get_threads(),
    )
    if code:
        if code == -4 and err_no:
            raise OSError(err_no, f"{os.strerror(err_no)} (chunk {key!r})", os.fsdecode(source) if root else key)
        raise ChunkDecodeError(key, _chunkio.ERROR_NAMES.get(code, f"error {code}"))


def decode_in_workers(array, keys, handle_chunk):
    """Python path: fetch ``keys`` once, then ``handle_chunk(index, chunk_or_None)`` per chunk
    on the pool (decoding releases the GIL in numcodecs; copies release it in ``_chunkcopy``).
    """
    fetched = array._fetch(keys)
    pipeline = array._pipeline
    total = len(keys) * pipeline.chunk_nbytes
    nthreads = _nthreads_for(total)

    def task(start, stop, cancel):
        for i in range(start, stop):
            if cancel.is_set():
                raise Cancelled()
            key = keys[i]
            cdata = fetched.get(key)
            handle_chunk(i, None if cdata is None else pipeline.decode(cdata, key))

    run_ranges(task, len(keys), nthreads)

