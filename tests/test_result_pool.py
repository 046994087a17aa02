"""Large read results on reused pages (``zarr_fast._resultpool``, ``config.set_result_pool_bytes``).

The pool hands a freed result's pages to the next result of about the same size, so these
tests check what a caller could notice: the arrays are ordinary NumPy arrays, a reused block
never leaks an earlier result's values into a read, and the limit, decay and release bound
what is kept. ``MIN_NBYTES`` is lowered so that small arrays exercise the pool.
"""
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import zarr_fast
from zarr_fast import _resultpool, config

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import get_handler_name

POOL = "zarr_fast_result_pool"
pytestmark = pytest.mark.skipif(not _resultpool.SUPPORTED, reason="no MADV_FREE on this platform")


def _python(code, env=None):
    # beside the zarr_fast under test, so that a checkout's source tree cannot shadow it
    beside_package = os.path.dirname(os.path.dirname(zarr_fast.__file__))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          cwd=beside_package)


@pytest.fixture(autouse=True)
def small_pool(monkeypatch):
    saved = config.get_result_pool_bytes()
    monkeypatch.setattr(_resultpool, "MIN_NBYTES", 1 << 20)
    config.release_result_pool()
    config.set_result_pool_bytes(64 << 20)
    yield
    config.set_result_pool_bytes(saved)
    config.release_result_pool()


def test_large_results_are_ordinary_arrays_on_pooled_pages():
    for order in "CF":
        a = _resultpool.empty((512, 1024), "<f4", order=order)
        assert get_handler_name(a) == POOL
        assert a.shape == (512, 1024) and a.dtype == np.dtype("<f4")
        assert a.flags.owndata and a.base is None and a.flags.writeable
        assert a.flags["C_CONTIGUOUS" if order == "C" else "F_CONTIGUOUS"]
        assert a.ctypes.data % 4096 == 0
        a[...] = np.arange(a.size, dtype="<f4").reshape(a.shape)
        assert a[-1, -1] == a.size - 1


def test_shapes_are_taken_as_numpy_takes_them():
    for shape in (1 << 20, np.int64(1 << 20), [1 << 20], (np.int32(1024), 1024)):
        a = _resultpool.empty(shape, "f4")
        assert get_handler_name(a) == POOL and a.shape == np.empty(shape, "f4").shape
    with pytest.raises(ValueError):
        _resultpool.empty((-1, 4), "f4")


def test_small_and_object_results_keep_numpys_allocator():
    assert get_handler_name(_resultpool.empty(10, "f8")) != POOL
    assert get_handler_name(_resultpool.empty((1 << 20,), object)) != POOL
    config.set_result_pool_bytes(0)
    assert get_handler_name(_resultpool.empty((1 << 20,), "f8")) != POOL


def test_a_freed_block_serves_the_next_result_of_its_size():
    a = _resultpool.empty((1 << 20,), "f4")
    data = a.ctypes.data
    del a
    before = _resultpool.stats()
    assert before["pooled_blocks"] == 1
    b = _resultpool.empty((1 << 20,), "f4")
    after = _resultpool.stats()
    assert b.ctypes.data == data and after["hits"] == before["hits"] + 1 and after["pooled_blocks"] == 0
    # far larger: a new mapping, not the kept block
    c = _resultpool.empty((4 << 20,), "f4")
    assert c.ctypes.data != data


def test_limit_and_release_bound_what_is_kept():
    blocks = [_resultpool.empty((4 << 20,), "u1") for _ in range(4)]
    del blocks
    assert 0 < _resultpool.stats()["pooled_nbytes"] <= 64 << 20
    config.set_result_pool_bytes(8 << 20)  # below what is kept: everything goes
    assert _resultpool.stats()["pooled_nbytes"] == 0
    big = _resultpool.empty((16 << 20,), "u1")  # over the limit: unmapped when freed
    del big
    assert _resultpool.stats()["pooled_nbytes"] == 0
    small = _resultpool.empty((2 << 20,), "u1")
    del small
    assert _resultpool.stats()["pooled_blocks"] == 1
    config.release_result_pool()
    assert _resultpool.stats()["pooled_nbytes"] == 0


def test_blocks_idle_past_the_decay_are_unmapped():
    _resultpool.configure(64 << 20, decay_s=0.0)
    try:
        a = _resultpool.empty((1 << 20,), "f4")
        del a
        b = _resultpool.empty((3 << 20,), "f4")  # any pool call drops the idle block
        assert _resultpool.stats()["pooled_blocks"] == 0
        del b
        _resultpool.empty(16, "f4")  # and so does a small result
        assert _resultpool.stats()["pooled_blocks"] == 0
    finally:
        _resultpool.configure(64 << 20)


def test_resize_in_place_keeps_values():
    a = _resultpool.empty((1 << 20,), "i4")
    a[...] = np.arange(a.size, dtype="i4")
    a.resize((3 << 20,), refcheck=False)  # beyond the block: moved to a larger one
    assert np.array_equal(a[: 1 << 20], np.arange(1 << 20, dtype="i4")) and not a[1 << 20:].any()
    a.resize((1 << 10,), refcheck=False)
    assert np.array_equal(a, np.arange(1 << 10, dtype="i4"))


def test_tracemalloc_sees_pooled_results():
    tracemalloc.start()
    try:
        a = _resultpool.empty((1 << 20,), "f8")
        current, _ = tracemalloc.get_traced_memory()
        assert current >= a.nbytes
        del a
        assert tracemalloc.get_traced_memory()[0] < 1 << 20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fill_value", [7, None])
def test_a_reused_block_never_shows_an_earlier_result(tmp_path, fill_value):
    full = zarr_fast.open_array(str(tmp_path / "full"), mode="w", shape=(1024, 1024), chunks=(256, 256), dtype="i4")
    full[...] = -1
    sparse = zarr_fast.open_array(
        str(tmp_path / "sparse"), mode="w", shape=(1024, 1024), chunks=(256, 256), dtype="i4", fill_value=fill_value
    )
    sparse[:256, :256] = 1  # one chunk stored, the rest missing
    expected = np.full((1024, 1024), 0 if fill_value is None else fill_value, dtype="i4")
    expected[:256, :256] = 1
    for _ in range(3):
        first = full[...]
        assert (first == -1).all()
        del first
        second = sparse[...]
        assert np.array_equal(second, expected)
        del second
    assert _resultpool.stats()["hits"] > 0


def test_reads_into_pooled_results_match_numpy(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.standard_normal((1000, 1100)).astype("f4")
    z = zarr_fast.open_array(str(tmp_path / "a"), mode="w", shape=data.shape, chunks=(128, 300), dtype="f4")
    z[...] = data
    for sel in [np.s_[...], np.s_[1:999, 3:1097], np.s_[::3, 5:]]:
        for _ in range(2):
            got = z[sel]
            assert np.array_equal(got, data[sel])
    rows, cols = np.arange(0, 1000, 2), np.arange(1, 1100)
    for _ in range(2):
        assert np.array_equal(z.oindex[rows, cols], data[np.ix_(rows, cols)])
    assert get_handler_name(z[...]) == POOL


def test_a_forked_child_uses_the_pool():
    code = (
        "import os, numpy as np\n"
        "from zarr_fast import _resultpool, config\n"
        "_resultpool.MIN_NBYTES = 1 << 20\n"
        "config.set_result_pool_bytes(64 << 20)\n"
        "a = _resultpool.empty((1 << 20,), 'f4'); a[:] = 1; del a\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    b = _resultpool.empty((1 << 20,), 'f4'); b[:] = 2; ok = b.sum() == 2 * b.size; del b\n"
        "    c = _resultpool.empty((1 << 20,), 'f4'); del c\n"
        "    os._exit(0 if ok and _resultpool.stats()['hits'] >= 2 else 1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "raise SystemExit(os.waitstatus_to_exitcode(status))\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr


def test_settings_are_checked():
    for bad in (-1, 1.5, "1", None, True):
        with pytest.raises(ValueError, match="result pool size"):
            config.set_result_pool_bytes(bad)
    env = dict(os.environ, **{config.ENV_RESULT_POOL: "lots"})
    result = _python("import zarr_fast", env)
    assert result.returncode != 0 and config.ENV_RESULT_POOL in result.stderr
    env[config.ENV_RESULT_POOL] = "0"
    result = _python("from zarr_fast import config; print(config.get_result_pool_bytes())", env)
    assert result.stdout.strip() == "0"


def test_a_mapping_that_fails_first_drops_what_the_pool_keeps():
    # under an address-space limit that holds one block and not two, the kept block is
    # unmapped to make room instead of the read failing
    code = (
        "import resource\n"
        "from zarr_fast import _resultpool, config\n"
        "config.set_result_pool_bytes(1 << 30)\n"
        "vm = int([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmSize')][0]) * 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (vm + (300 << 20), resource.RLIM_INFINITY))\n"
        "a = _resultpool.empty((200 << 20,), 'u1'); a[::4096] = 1; del a\n"
        "assert _resultpool.stats()['pooled_blocks'] == 1\n"
        "b = _resultpool.empty((250 << 20,), 'u1'); b[::4096] = 2\n"
        "s = _resultpool.stats()\n"
        "assert s['pooled_blocks'] == 0 and s['unmapped'] >= 1, s\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
