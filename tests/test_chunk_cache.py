"""The optional decoded-chunk cache: same values as uncached reads, bounded, invalidated by writes."""
import numpy as np
import pytest

import zarr_fast
from zarr_fast import config


@pytest.fixture
def cache_bytes():
    previous = config.get_chunk_cache_bytes()
    yield config.set_chunk_cache_bytes
    config.set_chunk_cache_bytes(previous)


@pytest.mark.parametrize("order", ["C", "F"])
def test_cached_item_reads_equal_numpy(cache_bytes, order):
    cache_bytes(3 * 10 * 10 * 8)
    values = np.random.default_rng(0).random((95, 67))
    z = zarr_fast.array(values, chunks=(10, 10), order=order)
    rng = np.random.default_rng(1)
    for i, j in rng.integers(0, [95, 67], size=(300, 2)):
        assert z[int(i), int(j)] == values[i, j]
    assert z._chunk_cache_nbytes <= 3 * 10 * 10 * 8
    assert len(z._chunk_cache) == 3


def test_writes_and_resize_invalidate(cache_bytes):
    cache_bytes(1 << 20)
    z = zarr_fast.zeros((20, 20), chunks=(5, 5), dtype="i4")
    assert z[3, 3] == 0
    z[3, 3] = 7
    assert z[3, 3] == 7
    z.resize(30, 30)
    z[25, 25] = 9
    assert z[25, 25] == 9 and z[3, 3] == 7


def test_invalid_size_refused():
    with pytest.raises(ValueError):
        config.set_chunk_cache_bytes(-1)
