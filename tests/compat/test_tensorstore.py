"""TensorStore (an independent zarr v2 implementation) reads what zarr_fast writes.

zarr_fast writes arrays to a DirectoryStore or NestedDirectoryStore; TensorStore opens the same
directory with its ``zarr`` driver over the ``file`` kvstore and must read equal values,
including fill values for chunks never written. Skipped when tensorstore is not installed.
"""

import numpy as np
import pytest
from numcodecs import Blosc, GZip, Zlib

import zarr_fast

ts = pytest.importorskip("tensorstore")

CASES = {
    "f8-blosc": dict(dtype="<f8", compressor=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)),
    "i4-zlib-F": dict(dtype="<i4", compressor=Zlib(level=1), order="F"),
    "u1-raw": dict(dtype="u1", compressor=None),
    # numcodecs' Zstd config carries a "checksum" member that tensorstore refuses, so GZip here.
    "i2-bigendian": dict(dtype=">i2", compressor=GZip(level=1)),
    "f4-nested": dict(dtype="<f4", compressor=None, dimension_separator="/"),
    "c16": dict(dtype="<c16", compressor=Zlib(level=1)),
    "bool": dict(dtype="bool", compressor=None),
    "u8-blosc-zstd": dict(dtype="<u8", compressor=Blosc(cname="zstd", clevel=1, shuffle=Blosc.BITSHUFFLE)),
    # Fixed-length bytes are left out: TensorStore's Python binding returns "char" as |S0.
    "f2-F": dict(dtype="<f2", compressor=Zlib(level=1), order="F"),
}


def _values(dtype, shape):
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    if dtype.kind == "b":
        return (np.arange(n) % 3 == 0).reshape(shape)
    if dtype.kind == "c":
        return (np.arange(n) + 0.5j * np.arange(n)).astype(dtype).reshape(shape)
    return (np.arange(n) % 250).astype(dtype).reshape(shape)


def _open_with_tensorstore(path):
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)}}
    return ts.open(spec, read=True).result()


@pytest.mark.parametrize("case", sorted(CASES))
def test_tensorstore_reads_zarr_fast(case, tmp_path):
    kwargs = dict(CASES[case])
    dtype = np.dtype(kwargs.pop("dtype"))
    fill = True if dtype.kind == "b" else 3
    store = zarr_fast.storage.DirectoryStore(str(tmp_path / "arr"))
    z = zarr_fast.create(shape=(13, 10), chunks=(4, 3), dtype=dtype, fill_value=fill,
                         store=store, **kwargs)
    values = _values(dtype, (9, 10))
    z[:9] = values
    z.resize(15, 10)
    expected = np.full((15, 10), fill, dtype=dtype)
    expected[:9] = values
    got = _open_with_tensorstore(tmp_path / "arr").read().result()
    assert got.shape == (15, 10)
    assert got.dtype == dtype.newbyteorder("=") or got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


def test_tensorstore_reads_nested_directory_store(tmp_path):
    store = zarr_fast.storage.NestedDirectoryStore(str(tmp_path / "nested"))
    z = zarr_fast.zeros((6, 6, 6), chunks=(5, 5, 5), dtype="<i8", store=store)
    values = np.arange(216, dtype="<i8").reshape(6, 6, 6)
    z[...] = values
    assert (tmp_path / "nested" / "1" / "1" / "1").is_file()
    got = _open_with_tensorstore(tmp_path / "nested").read().result()
    np.testing.assert_array_equal(got, values)


def test_tensorstore_reads_zero_dimensional(tmp_path):
    store = zarr_fast.storage.DirectoryStore(str(tmp_path / "scalar"))
    z = zarr_fast.create(shape=(), dtype="<f8", store=store)
    z[...] = 2.5
    got = _open_with_tensorstore(tmp_path / "scalar").read().result()
    assert got.shape == () and float(got) == 2.5
