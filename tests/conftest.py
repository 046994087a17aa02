"""Shared pytest configuration for the zarr_fast test suite.

What it does: registers the hypothesis profiles (``default`` and ``ci``, chosen by the
``HYPOTHESIS_PROFILE`` environment variable) and provides fixtures used across test files:
the zarr-python 2.18.7 oracle module, a flag telling whether ``zarr_fast`` is really
zarr-python (a local, uncommitted shim used to validate the tests themselves), paired store
factories, and value builders for every dtype the differential tests draw.

What callers guarantee: tests are collected with ``--import-mode=importlib``, so nothing here
is imported by test modules; everything shared is handed out as a fixture.

What it refuses: it never patches ``zarr_fast``; tests that need zarr-python skip when it is
not installed.
"""

import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Child processes (multiprocessing's spawn and forkserver) unpickle their target by module name,
# e.g. "tests.test_sync", so the checkout's root must be importable in them; they inherit this
# sys.path. Appended, not prepended: the installed zarr_fast still wins over the checkout's
# uncompiled source tree.
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _CHECKOUT not in sys.path:
    sys.path.append(_CHECKOUT)

settings.register_profile(
    "default",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config):
    # zarr-python 2.18 deprecates NestedDirectoryStore; zarr_fast keeps it for compatibility.
    config.addinivalue_line(
        "filterwarnings", "ignore:The NestedDirectoryStore is deprecated:FutureWarning"
    )


@pytest.fixture(scope="session")
def zarr2():
    """zarr-python 2.18.x, the oracle for behaviour and on-disk bytes."""
    zarr = pytest.importorskip("zarr")
    if not zarr.__version__.startswith("2."):
        pytest.skip(f"zarr-python 2.x needed as the oracle, found {zarr.__version__}")
    return zarr


@pytest.fixture(scope="session")
def is_shim():
    """True when ``zarr_fast`` is zarr-python itself (validating the tests, not the package).

    Tests that ask more than zarr 2.18 gives (chunk keys in decode errors, refusal of
    escaping DirectoryStore keys) mark themselves xfail in that case.
    """
    import zarr_fast

    return zarr_fast.__name__ == "zarr"


def _new_store(module, kind, root):
    """A fresh store of ``kind`` from ``module`` (zarr_fast or zarr), rooted under ``root``."""
    if kind == "dict":
        return {}
    if kind == "memory":
        return module.storage.MemoryStore()
    if kind == "directory":
        return module.storage.DirectoryStore(str(root))
    if kind == "nested":
        return module.storage.NestedDirectoryStore(str(root))
    raise ValueError(f"unknown store kind {kind!r}")


# Every store kind the project ships; tests that take a ``store_kind`` argument run once per kind.
ALL_STORE_KINDS = ["kv", "memory", "directory", "nested", "temp",
                   "zip", "lru", "dbm", "sqlite", "lmdb", "fsspec", "s3"]


def pytest_generate_tests(metafunc):
    if "store_kind" in metafunc.fixturenames:
        metafunc.parametrize("store_kind", ALL_STORE_KINDS)


def _store_class(module, name):
    """``zarr_fast.storage.<module>.<name>``, or skip while that store is not built."""
    mod = pytest.importorskip(f"zarr_fast.storage.{module}")
    if not hasattr(mod, name):
        pytest.skip(f"zarr_fast.storage.{module}.{name} not available")
    return getattr(mod, name)


@pytest.fixture
def make_store(request, tmp_path):
    """``make(kind) -> store``: a fresh, empty zarr_fast store of ``kind``, closed at teardown.

    The "s3" kind needs the S3 server fixtures of tests/storage/conftest.py, so only tests under
    tests/storage can ask for it.
    """
    from zarr_fast.storage import DirectoryStore, KVStore, MemoryStore, NestedDirectoryStore, TempStore

    made = []
    counter = [0]

    def make(kind):
        counter[0] += 1
        root = tmp_path / f"store{counter[0]}"
        if kind == "kv":
            s = KVStore(dict())
        elif kind == "memory":
            s = MemoryStore()
        elif kind == "directory":
            s = DirectoryStore(str(root))
        elif kind == "nested":
            s = NestedDirectoryStore(str(root))
        elif kind == "temp":
            s = TempStore(dir=str(tmp_path))
        elif kind == "zip":
            s = _store_class("zip", "ZipStore")(str(root) + ".zip", mode="w")
        elif kind == "lru":
            s = _store_class("lru", "LRUStoreCache")(MemoryStore(), max_size=2**20)
        elif kind == "dbm":
            import dbm.dumb

            s = _store_class("dbm", "DBMStore")(str(root) + ".dbm", open=dbm.dumb.open)
        elif kind == "sqlite":
            s = _store_class("sqlite", "SQLiteStore")(str(root) + ".sqldb")
        elif kind == "lmdb":
            pytest.importorskip("lmdb")
            s = _store_class("lmdb", "LMDBStore")(str(root) + ".lmdb")
        elif kind == "fsspec":
            pytest.importorskip("fsspec")
            s = _store_class("fsstore", "FSStore")(str(root))
        elif kind == "s3":
            try:
                factory = request.getfixturevalue("s3_store_factory")
            except pytest.FixtureLookupError:
                pytest.skip("no S3 server fixture here")
            s = factory()
        else:
            raise ValueError(f"unknown store kind {kind!r}")
        made.append(s)
        return s

    yield make
    for s in made:
        close = getattr(s, "close", None)
        if close is not None:
            close()


@pytest.fixture(scope="session")
def mp_context():
    """A multiprocessing context that does not copy this process's threads (fork would)."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["numpy", "zarr_fast"])
    return ctx


@pytest.fixture
def store_pair(tmp_path, zarr2):
    """``make(kind) -> (zarr_fast store, zarr store)`` over separate fresh locations."""
    import zarr_fast

    counter = [0]

    def make(kind):
        counter[0] += 1
        base = tmp_path / f"pair{counter[0]}"
        return (
            _new_store(zarr_fast, kind, base / "zf"),
            _new_store(zarr2, kind, base / "zarr"),
        )

    return make


@pytest.fixture
def store_items():
    """``items(store) -> {key: bytes}`` for any MutableMapping store, keys '/'-normalised."""

    def items(store):
        return {str(k).replace(os.sep, "/"): bytes(store[k]) for k in sorted(store.keys())}

    return items


def _values_for(dtype, shape, rng):
    """Deterministic, non-degenerate values of ``dtype`` (no NaN, so == comparisons hold)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dtype.fields is not None:
        out = np.zeros(shape, dtype=dtype)
        for name in dtype.names:
            sub = dtype.fields[name][0]
            if sub.shape:
                vals = _values_for(sub.base, tuple(shape) + sub.shape, rng)
            else:
                vals = _values_for(sub, shape, rng)
            out[name] = vals
        return out
    kind = dtype.kind
    if kind == "b":
        vals = rng.integers(0, 2, n).astype(bool)
    elif kind in "iu":
        info = np.iinfo(dtype)
        vals = rng.integers(info.min, info.max, n, endpoint=True, dtype=np.int64 if kind == "i" else np.uint64)
    elif kind == "f":
        vals = np.round(rng.standard_normal(n) * 100, 2)
    elif kind == "c":
        vals = rng.standard_normal(n) * 10 + 1j * rng.standard_normal(n)
    elif kind in "mM":
        vals = rng.integers(-(10**9), 10**9, n)
    elif kind == "S":
        alphabet = np.array(list(b"abcxyz019"), dtype=np.uint8)
        vals = [bytes(rng.choice(alphabet, rng.integers(0, dtype.itemsize + 1))) for _ in range(n)]
    elif kind == "U":
        alphabet = list("abcé中z9 ")
        width = dtype.itemsize // 4
        vals = ["".join(rng.choice(alphabet, rng.integers(0, width + 1))) for _ in range(n)]
    elif kind == "V":
        vals = [bytes(rng.integers(0, 256, dtype.itemsize, dtype=np.uint8)) for _ in range(n)]
    else:  # pragma: no cover - only the kinds above are drawn
        raise ValueError(f"no value builder for dtype {dtype}")
    return np.asarray(vals).astype(dtype).reshape(shape)


@pytest.fixture(scope="session")
def make_values():
    """``make(dtype, shape, seed=0) -> ndarray`` of deterministic, NaN-free values."""

    def make(dtype, shape, seed=0):
        return _values_for(dtype, tuple(shape), np.random.default_rng(seed))

    return make
