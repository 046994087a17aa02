"""Array builders shared by the asv benchmarks and ``bench/side_by_side.py``.

``make_array(impl, shape, chunks, codec)`` returns an array-like with ``[...]``, ``.oindex``
and ``.vindex`` for ``impl`` in ``zarr_fast``, ``zarr`` (2.18.7) or ``tensorstore``, backed by
a Zarr v2 directory store filled with :func:`make_data`. Stores are cached on disk under
:data:`ROOT` by their parameters, so asv's per-process ``setup`` writes each one once.

Callers guarantee 2-d shapes and a codec name from :data:`CODECS`. An implementation that is
not importable raises ``NotImplementedError``, which asv reports as a skipped benchmark.
"""
import os
import tempfile

import numpy as np

IMPLS = ("zarr_fast", "zarr", "tensorstore")
CODECS = ("blosc-lz4", "zstd", "none")
ROOT = os.environ.get("ZARR_FAST_BENCH_DIR", os.path.join(tempfile.gettempdir(), "zarr-fast-asv"))


def make_data(shape, dtype="float32", seed=0):
    """Seeded smooth field plus noise, quantised to 1/1024 so it compresses like measured data."""
    rng = np.random.default_rng(seed)
    dim_y = np.sin(np.linspace(0, 4 * np.pi, shape[0], dtype=np.float32))[:, None]
    dim_x = np.cos(np.linspace(0, 6 * np.pi, shape[1], dtype=np.float32))[None, :]
    field = dim_y * dim_x
    field += np.float32(0.05) * rng.standard_normal(shape, dtype=np.float32)
    np.round(field * np.float32(1024), out=field)
    field /= np.float32(1024)
    return field.astype(dtype, copy=False)


def numcodecs_compressor(codec):
    """The numcodecs object for a codec name (``None`` for ``'none'``)."""
    import numcodecs

    if codec == "blosc-lz4":
        return numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
    if codec == "zstd":
        return numcodecs.Zstd(level=3)
    if codec == "none":
        return None
    raise ValueError(f"codec must be one of {CODECS}, got {codec!r}")


def import_impl(impl):
    """The module behind ``impl``; ``NotImplementedError`` when it is not installed."""
    try:
        if impl == "zarr_fast":
            import zarr_fast as module
        elif impl == "zarr":
            import zarr as module

            if not module.__version__.startswith("2."):
                raise NotImplementedError(f"zarr 2.x needed, found {module.__version__}")
        elif impl == "tensorstore":
            import tensorstore as module
        else:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    except ImportError as exc:
        raise NotImplementedError(f"{impl} is not installed: {exc}") from exc
    return module


class TensorStoreArray:
    """Adapter giving a tensorstore handle the NumPy-returning indexing of a zarr array."""

    def __init__(self, store):
        self.store = store
        self.shape = tuple(store.shape)
        self.dtype = np.dtype(store.dtype.numpy_dtype)

    def __getitem__(self, selection):
        return self.store[selection].read().result()

    def __setitem__(self, selection, value):
        self.store[selection].write(value).result()

    @property
    def oindex(self):
        return _TensorStoreIndexer(self.store.oindex)

    @property
    def vindex(self):
        return _TensorStoreIndexer(self.store.vindex)


class _TensorStoreIndexer:
    def __init__(self, indexer):
        self.indexer = indexer

    def __getitem__(self, selection):
        return self.indexer[selection].read().result()

    def __setitem__(self, selection, value):
        self.indexer[selection].write(value).result()


def tensorstore_compressor(codec):
    """The zarr v2 ``compressor`` metadata tensorstore expects for a codec name."""
    if codec == "blosc-lz4":
        return {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}
    if codec == "zstd":
        return {"id": "zstd", "level": 3}
    return None


def open_existing(impl, path, mode="r"):
    """Open the Zarr v2 array stored at ``path`` with ``impl``."""
    module = import_impl(impl)
    if impl == "tensorstore":
        spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": path}}
        return TensorStoreArray(module.open(spec, read=True, write=(mode != "r")).result())
    return module.open_array(path, mode=mode)


def create_array(impl, path, shape, chunks, codec, dtype="float32"):
    """Create (overwriting) an empty Zarr v2 array at ``path`` with ``impl``."""
    module = import_impl(impl)
    dtype = np.dtype(dtype)
    if impl == "tensorstore":
        spec = {
            "driver": "zarr",
            "kvstore": {"driver": "file", "path": path},
            "metadata": {
                "shape": list(shape), "chunks": list(chunks), "dtype": dtype.str,
                "compressor": tensorstore_compressor(codec), "fill_value": 0, "order": "C",
                "filters": None, "dimension_separator": ".",
            },
        }
        store = module.open(spec, create=True, delete_existing=True).result()
        return TensorStoreArray(store)
    return module.open_array(path, mode="w", shape=shape, chunks=chunks, dtype=dtype,
                             compressor=numcodecs_compressor(codec), fill_value=0)


def store_path(kind, shape, chunks, codec, dtype="float32", impl=""):
    name = "x".join(map(str, shape)) + "-c" + "x".join(map(str, chunks)) + f"-{codec}-{dtype}"
    return os.path.join(ROOT, kind + ("-" + impl if impl else ""), name + ".zarr")


def make_array(impl, shape, chunks, codec, dtype="float32", populate=True):
    """An array of ``impl`` with ``shape``/``chunks``/``codec``, filled with :func:`make_data`.

    With ``populate=True`` the stored data are written once (by zarr-python when available,
    else by ``impl``) and reused; every implementation then reads the same bytes. With
    ``populate=False`` a fresh empty array private to ``impl`` is created for write benchmarks.
    """
    import_impl(impl)  # skip early when impl is missing
    shape, chunks = tuple(shape), tuple(chunks)
    if not populate:
        path = store_path("write", shape, chunks, codec, dtype, impl)
        return create_array(impl, path, shape, chunks, codec, dtype)
    path = store_path("read", shape, chunks, codec, dtype)
    if not os.path.exists(os.path.join(path, ".zarray")):
        writer = _first_available(("zarr", "zarr_fast", impl))
        tmp = path + f".tmp{os.getpid()}"
        arr = create_array(writer, tmp, shape, chunks, codec, dtype)
        arr[...] = make_data(shape, dtype)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            os.rename(tmp, path)  # atomic publish: a half-written store is never reused
        except OSError:
            pass  # another process published it first
    return open_existing(impl, path)


def _first_available(impls):
    for impl in impls:
        try:
            import_impl(impl)
            return impl
        except NotImplementedError:
            continue
    raise NotImplementedError(f"none of {impls} is installed")
