"""Blosc-lz4 chunks decoded block by block straight into the result (``_scatter_by_blocks``).

NumPy is the oracle, and so is the same read with the block decoder switched off (c-blosc
decodes each chunk whole): both must give identical results for every layout the block
path takes or declines (rows straddling blocks, rows larger than a block, unsorted rows,
F order, chunks stored raw, missing and corrupt chunks).
"""
import numcodecs
import numpy as np
import pytest

import zarr_fast
from zarr_fast import _blosc, _chunkio
from zarr_fast.errors import ChunkDecodeError
from zarr_fast.storage import DirectoryStore, MemoryStore


@pytest.fixture(params=[True, False], ids=["blockwise", "whole"])
def blockwise(request):
    previous = _blosc._set_blockwise_decode_for_tests(request.param)
    yield request.param
    _blosc._set_blockwise_decode_for_tests(previous)


@pytest.fixture(params=[False, True], ids=["stores", "streams"])
def streaming(request):
    # reads of results larger than the cache write with streaming stores; here every read
    # does, so the small arrays below take that path too
    previous = _chunkio._set_stream_min_nbytes_for_tests(0 if request.param else 1 << 62)
    yield request.param
    _chunkio._set_stream_min_nbytes_for_tests(previous)


def _values(shape, dtype, rng):
    # compressible but not constant, so c-blosc keeps several streams per block
    values = (np.arange(np.prod(shape)).reshape(shape) % 251).astype(dtype)
    noise = rng.integers(0, 3, size=shape).astype(dtype)
    return values + noise


LAYOUTS = [
    # shape, chunks, dtype, order; every chunk is compressed with numcodecs.Blosc("lz4", 5,
    # SHUFFLE, blocksize=4096), which c-blosc turns into 64 KiB blocks (its minimum when it
    # splits streams), so each chunk below spans several blocks
    ((700, 260), (256, 100), "<f4", "C"),      # 400-byte rows straddle the blocks
    ((300, 40000), (128, 16384), "<i2", "C"),  # rows half a block: they tile it
    ((40, 20000), (8, 10000), "<f8", "C"),     # rows larger than a block: whole decode
    ((300, 700), (100, 256), "<f4", "F"),      # F order: the outer axis is the last
    ((35, 64, 64), (16, 40, 50), "<i8", "C"),
    ((50000,), (40000,), "<u2", "C"),
    ((400, 900), (200, 400), "u1", "C"),
    ((120, 900), (50, 400), "<c16", "C"),
]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda l: f"{l[0]}-{l[1]}-{l[2]}-{l[3]}")
@pytest.mark.parametrize("where_stored", ["directory", "memory"])
def test_selections_match_numpy(layout, where_stored, blockwise, streaming, tmp_path):
    shape, chunks, dtype, order = layout
    rng = np.random.default_rng(3)
    values = _values(shape, dtype, rng)
    store = DirectoryStore(str(tmp_path)) if where_stored == "directory" else MemoryStore()
    z = zarr_fast.create(shape, chunks=chunks, dtype=dtype, order=order, store=store,
                         compressor=numcodecs.Blosc("lz4", 5, 1, 4096), fill_value=7)
    z[...] = values
    info = _blosc.frame_info(z.store["0" + ".0" * (len(shape) - 1)])
    assert info["blocksize"] < info["nbytes"]
    slices = [
        Ellipsis,
        tuple(slice(3, n - 2) for n in shape),
        tuple(slice(1, None, 3) for n in shape),
        tuple(slice(n // 2, n // 2 + 1) for n in shape),
    ]
    for selection in slices:
        np.testing.assert_array_equal(z[selection], values[selection])
    sorted_ix = tuple(np.sort(rng.integers(0, n, size=min(n, 40))) for n in shape)   # with repeats
    unsorted_ix = tuple(rng.permutation(n)[: min(n, 30)] for n in shape)
    for ix in (sorted_ix, unsorted_ix):
        np.testing.assert_array_equal(z.oindex[ix], values[np.ix_(*ix)])
    # into a strided, F-ordered out=
    out = np.zeros(tuple(n * 2 for n in shape), dtype=dtype, order="F")[tuple(slice(None, None, 2) for _ in shape)]
    z.get_basic_selection(Ellipsis, out=out)
    np.testing.assert_array_equal(out, values)
    # into outputs starting at every offset from a 16-byte boundary (streaming stores need
    # one; rows that no item boundary brings onto it are written the ordinary way)
    for shift in (1, 3, 4, 8, 12):
        buf = np.zeros(values.nbytes + 64, dtype=np.uint8)
        start = (-buf.ctypes.data) % 16 + shift
        out = buf[start:start + values.nbytes].view(dtype).reshape(shape, order=order)
        z.get_basic_selection(Ellipsis, out=out)
        np.testing.assert_array_equal(out, values)
        assert not buf[:start].any() and not buf[start + values.nbytes:].any()


def test_missing_chunks_and_raw_frames(tmp_path, blockwise, streaming):
    rng = np.random.default_rng(4)
    z = zarr_fast.create((600, 300), chunks=(200, 100), dtype="<f8", store=DirectoryStore(str(tmp_path)),
                         compressor=numcodecs.Blosc("lz4", 5, 0, 2048), fill_value=-1.5)
    # random bytes do not shrink: c-blosc stores that chunk raw (MEMCPYED)
    noise = rng.integers(0, 256, size=200 * 100 * 8, dtype=np.uint8).view("<f8").reshape(200, 100)
    z[0:200, 0:100] = noise
    z[200:400, 100:200] = 3.0
    expected = np.full((600, 300), -1.5)
    expected[0:200, 0:100] = noise
    expected[200:400, 100:200] = 3.0
    assert _blosc.frame_info(z.store["0.0"])["flags"] & 0x02
    np.testing.assert_array_equal(z[1:599, 1:299], expected[1:599, 1:299])
    np.testing.assert_array_equal(z[...], expected)


@pytest.mark.parametrize("where", ["stream", "table"])
def test_a_corrupt_chunk_names_its_key(tmp_path, blockwise, streaming, where):
    z = zarr_fast.create((512, 256), chunks=(256, 256), dtype="<f4", store=DirectoryStore(str(tmp_path)),
                         compressor=numcodecs.Blosc("lz4", 5, 1, 4096))
    z[...] = _values((512, 256), "<f4", np.random.default_rng(5))
    path = tmp_path / "1.0"
    frame = bytearray(path.read_bytes())
    nblocks = 4
    if where == "stream":
        frame[16 + 4 * nblocks + 4: 16 + 4 * nblocks + 40] = b"\xff" * 36
    else:
        frame[16 + 8: 16 + 12] = (len(frame) + 100).to_bytes(4, "little")
    path.write_bytes(bytes(frame))
    with pytest.raises(ChunkDecodeError, match="1.0"):
        z[...]
    np.testing.assert_array_equal(z[:256], _values((512, 256), "<f4", np.random.default_rng(5))[:256])


def test_threads_give_identical_results(tmp_path):
    values = _values((512, 300), "<f4", np.random.default_rng(6))
    z = zarr_fast.create((512, 300), chunks=(200, 100), dtype="<f4", store=DirectoryStore(str(tmp_path)),
                         compressor=numcodecs.Blosc("lz4", 5, 1, 4096))
    z[...] = values
    results = []
    for threads in (1, 2, 8):
        with zarr_fast.config.threads(threads):
            results.append(z[5:500, 3:297])
    for result in results:
        assert result.tobytes() == values[5:500, 3:297].tobytes()


def test_only_blocks_holding_selected_rows_are_decoded(tmp_path, blockwise):
    # The last block of chunk 0.0 is damaged. Rows in the first block still read right when
    # blocks are decoded one by one (the damaged one is never touched); a whole decode fails.
    # (One thread: a lone chunk read with more gets c-blosc's multi-threaded whole decode.)
    values = _values((256, 256), "<f4", np.random.default_rng(7))
    z = zarr_fast.create((256, 256), chunks=(256, 256), dtype="<f4", store=DirectoryStore(str(tmp_path)),
                         compressor=numcodecs.Blosc("lz4", 5, 1, 4096))
    z[...] = values
    path = tmp_path / "0.0"
    frame = bytearray(path.read_bytes())
    assert _blosc.frame_info(bytes(frame))["blocksize"] == 64 * 256 * 4       # 4 blocks of 64 rows
    last_start = int.from_bytes(frame[16 + 4 * 3: 16 + 4 * 4], "little")
    frame[last_start + 4: last_start + 24] = b"\xff" * 20
    path.write_bytes(bytes(frame))
    with zarr_fast.config.threads(1):
        if blockwise:
            np.testing.assert_array_equal(z[2:140, 5:60], values[2:140, 5:60])
        else:
            with pytest.raises(ChunkDecodeError, match="0.0"):
                z[2:140, 5:60]
        with pytest.raises(ChunkDecodeError, match="0.0"):
            z[190:200]


POINT_LAYOUTS = LAYOUTS + [
    ((60, 50), (30, 25), "S300", "C"),          # typesize 1 (over 255 bytes): items straddle blocks
    ((90, 80), (45, 40), [("a", "<i4"), ("b", "<f8")], "C"),   # 12-byte items, typesize 12
]


@pytest.mark.parametrize("layout", POINT_LAYOUTS, ids=lambda l: f"{l[0]}-{l[1]}-{l[2]}-{l[3]}")
@pytest.mark.parametrize("where_stored", ["directory", "memory"])
def test_points_gathered_by_block_match_numpy(layout, where_stored, blockwise, tmp_path):
    # enough points per chunk for the block-by-block gather (> 256), plus a chunk with a
    # handful (the partial-stream path) and one missing chunk (the fill value)
    shape, chunks, dtype, order = layout
    rng = np.random.default_rng(5)
    dtype = np.dtype(dtype)
    if dtype.kind == "S":
        values = rng.integers(0, 4, size=shape + (dtype.itemsize,), dtype=np.uint8).view(dtype)[..., 0]
    elif dtype.names:
        values = np.zeros(shape, dtype=dtype)
        values["a"] = _values(shape, "<i4", rng)
        values["b"] = _values(shape, "<f8", rng) / 3
    else:
        values = _values(shape, dtype, rng)
    store = DirectoryStore(str(tmp_path)) if where_stored == "directory" else MemoryStore()
    z = zarr_fast.create(shape, chunks=chunks, dtype=dtype, order=order, store=store,
                         compressor=numcodecs.Blosc("lz4", 5, 1, 4096))
    z[...] = values
    last_chunk = ".".join(str((n - 1) // c) for n, c in zip(shape, chunks))
    del z.store[last_chunk]
    expected = values.copy()
    expected[tuple(slice(((n - 1) // c) * c, None) for n, c in zip(shape, chunks))] = z.fill_value
    npoints = 4000
    coords = tuple(rng.integers(0, n, size=npoints) for n in shape)
    np.testing.assert_array_equal(z.vindex[coords], expected[coords])
    few = tuple(rng.integers(0, min(n, c), size=5) for n, c in zip(shape, chunks))
    np.testing.assert_array_equal(z.vindex[few], expected[few])
    mask = rng.random(shape) < 0.3
    np.testing.assert_array_equal(z.vindex[mask], expected[mask])
