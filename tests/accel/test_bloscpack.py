"""zarr_fast._bloscpack against numcodecs: encoding a strided region gives numcodecs' bytes.

numcodecs' Blosc encode of the gathered (contiguous) chunk is the oracle, byte for byte, on
every dtype width, order, clevel, shuffle, block layout (several blocks, a partial last
block) and kind of data (compressible, raw streams, memcpyed frames).
"""
import numcodecs
import numcodecs.blosc
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zarr_fast
from zarr_fast import _bloscpack
from zarr_fast.storage import DirectoryStore, MemoryStore


@pytest.fixture(autouse=True)
def _numcodecs_single_threaded(monkeypatch):
    # blosc's own threads write blocks in the order they finish: one thread is the oracle
    monkeypatch.setattr(numcodecs.blosc, "use_threads", False)


def _data(rng, shape, dtype, kind):
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if kind == "random":
        raw = rng.integers(0, 256, nbytes, dtype=np.uint8)
    elif kind == "zeros":
        raw = np.zeros(nbytes, dtype=np.uint8)
    elif kind == "mixed":   # compressible planes next to incompressible ones
        raw = rng.integers(0, 256, nbytes, dtype=np.uint8)
        raw[::2] = 0
    else:
        raw = (np.arange(nbytes) // 7 % 251).astype(np.uint8)
    return raw.view(dtype).reshape(shape)


def _expected(region, order, clevel, shuffle, blocksize=0):
    return numcodecs.Blosc("lz4", clevel, shuffle, blocksize).encode(np.array(region, order=order))


@pytest.mark.parametrize("dtype", ["u1", "<i2", "<f4", ">f8", "<c16", "V3", "V12"])
@pytest.mark.parametrize("kind", ["smooth", "random", "zeros", "mixed"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_region_encodes_as_numcodecs(dtype, kind, order):
    rng = np.random.default_rng(3)
    data = np.asarray(_data(rng, (310, 290), dtype, kind), order=order)
    for chunk in [(256, 200), (17, 290), (300, 3)]:
        region = data[5:5 + chunk[0], 7:7 + chunk[1]] if chunk[1] < 290 else data[5:5 + chunk[0]]
        for clevel, shuffle in [(1, 1), (5, 1), (9, 0), (5, -1)]:
            layout = _bloscpack.frame_layout(region.nbytes, region.dtype.itemsize, "lz4", clevel, shuffle)
            if layout is None:
                assert (dtype == "u1" and shuffle == -1) or region.nbytes < 128   # bit shuffle / tiny
                continue
            assert _bloscpack.is_walkable(region, order)
            got = _bloscpack.encode_region(layout, region, order)
            assert got == _expected(region, order, clevel, shuffle), (chunk, clevel, shuffle)


@pytest.mark.parametrize("blocksize", [0, 4096, 100_000])
def test_forced_block_sizes_and_a_partial_last_block(blocksize):
    rng = np.random.default_rng(4)
    data = _data(rng, (90, 70, 33), "<f8", "mixed")
    region = data[1:81, 3:64, :]
    layout = _bloscpack.frame_layout(region.nbytes, 8, "lz4", 5, 1, blocksize)
    assert layout is not None
    out = np.empty(region.nbytes + 16, dtype=np.uint8)
    got = _bloscpack.encode_region(layout, region, "C", out=out)
    assert isinstance(got, np.ndarray) and np.shares_memory(got, out)
    assert got.tobytes() == _expected(region, "C", 5, 1, blocksize)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    data=st.data(),
    itemsize=st.sampled_from([1, 2, 4, 8, 16, 5]),
    clevel=st.integers(1, 9),
    shuffle=st.sampled_from([0, 1]),
    kind=st.sampled_from(["smooth", "random", "zeros", "mixed"]),
    order=st.sampled_from(["C", "F"]),
)
def test_random_regions_encode_as_numcodecs(shape, data, itemsize, clevel, shuffle, kind, order):
    starts = [data.draw(st.integers(0, n - 1)) for n in shape]
    stops = [data.draw(st.integers(s + 1, n)) for s, n in zip(starts, shape)]
    steps = [data.draw(st.sampled_from([1, 1, 2])) for _ in shape]
    steps[0 if order == "F" else -1] = 1   # the innermost axis of the walk stays contiguous
    base = np.asarray(_data(np.random.default_rng(len(shape)), shape, f"V{itemsize}", kind), order=order)
    region = base[tuple(slice(a, b, s) for a, b, s in zip(starts, stops, steps))]
    layout = _bloscpack.frame_layout(region.nbytes, itemsize, "lz4", clevel, shuffle)
    if layout is None:   # chunks too small for its sample chunk to compress are refused
        assert region.nbytes < 4096
        return
    assert _bloscpack.encode_region(layout, region, order) == _expected(region, order, clevel, shuffle)


@pytest.mark.parametrize("cname, clevel, shuffle, typesize, nbytes", [
    ("zstd", 5, 1, 4, 4096), ("lz4hc", 5, 1, 4, 4096), ("lz4", 0, 1, 4, 4096),
    ("lz4", 5, 2, 4, 4096), ("lz4", 5, -1, 1, 4096), ("lz4", 5, 1, 32, 4096), ("lz4", 5, 1, 4, 64),
])
def test_parameters_it_does_not_take(cname, clevel, shuffle, typesize, nbytes):
    assert _bloscpack.frame_layout(nbytes, typesize, cname, clevel, shuffle) is None


def test_bad_regions_are_refused():
    layout = _bloscpack.frame_layout(4096, 4, "lz4", 5, 1)
    data = np.zeros((64, 64), dtype="<f4")
    with pytest.raises(ValueError, match="4096 bytes"):
        _bloscpack.encode_region(layout, data[:10], "C")
    with pytest.raises(ValueError, match="walkable"):
        _bloscpack.encode_region(layout, data[:, :16], "F")     # F walk: rows are not contiguous
    with pytest.raises(ValueError, match="out must be"):
        _bloscpack.encode_region(layout, data[:16], "C", out=np.empty(100, dtype=np.uint8))
    assert not _bloscpack.is_walkable(data[:, ::2], "C")
    assert not _bloscpack.is_walkable(data[::-1], "C")
    assert not _bloscpack.is_walkable(np.empty(4, dtype=object), "C")


@pytest.mark.parametrize("kind_of_store", ["directory", "memory"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_array_writes_of_strided_values_store_numcodecs_bytes(tmp_path, kind_of_store, order):
    """A whole-chunk write from a bigger array stores exactly what numcodecs would."""
    store = DirectoryStore(str(tmp_path)) if kind_of_store == "directory" else MemoryStore()
    values = _data(np.random.default_rng(5), (96, 80), "<f4", "smooth") + np.float32(0.5)
    z = zarr_fast.create((96, 80), chunks=(32, 40), dtype="<f4", order=order, store=store)
    assert z._pipeline.can_encode_region(values[:32, :40] if order == "C" else np.asfortranarray(values)[:32, :40])
    z[...] = values
    codec = numcodecs.Blosc()   # zarr's default: lz4, clevel 5, byte shuffle
    for i in range(3):
        for j in range(2):
            chunk = np.array(values[32 * i:32 * (i + 1), 40 * j:40 * (j + 1)], order=order)
            assert bytes(store[f"{i}.{j}"]) == codec.encode(chunk)
    np.testing.assert_array_equal(zarr_fast.open_array(store, mode="r")[...], values)
