"""Without c-blosc's C API (a numcodecs that hides it), arrays still read and write the same
bytes through numcodecs' Python API."""
import numpy as np
import pytest

import zarr_fast
from zarr_fast import _blosc, _chunkio


@pytest.fixture
def unbound():
    was_bound = _blosc._force_unbound_for_tests(True)
    yield
    _blosc._force_unbound_for_tests(not was_bound)


def test_fallback_reads_and_writes_the_same_bytes(tmp_path, unbound):
    assert not _chunkio.is_ready()
    values = np.random.default_rng(0).random((50, 40)).astype("f4")
    fallback = zarr_fast.open_array(str(tmp_path / "a"), mode="w", shape=(50, 40), chunks=(16, 16), dtype="f4")
    fallback[...] = values
    np.testing.assert_array_equal(fallback[...], values)
    np.testing.assert_array_equal(fallback.vindex[[1, 49], [2, 39]], values[[1, 49], [2, 39]])
    assert fallback[10, 10] == values[10, 10]
    _blosc._force_unbound_for_tests(False)
    bound = zarr_fast.open_array(str(tmp_path / "b"), mode="w", shape=(50, 40), chunks=(16, 16), dtype="f4")
    bound[...] = values
    assert fallback.store["0.0"] == bound.store["0.0"]
    np.testing.assert_array_equal(zarr_fast.open_array(str(tmp_path / "a"), mode="r")[...], values)
