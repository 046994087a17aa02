"""zarr_fast reads the stores zarr-python 2.18.7 wrote under ``tests/fixtures/zarr2``.

The stores and the values zarr-python read back from them (``tests/fixtures/expected``) are
committed; ``tests/fixtures/make_fixtures.py`` regenerates both. Each store must open with the
recorded metadata and read back exactly the recorded values, through every selection mode.
Replaying the same recipe with zarr_fast must write the same metadata bytes, and the same chunk
bytes for codecs whose output does not depend on the library build.
"""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

import zarr_fast

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures"
MANIFEST = json.loads((FIXTURES / "expected" / "manifest.json").read_text())
# Chunk bytes from these codecs are fixed by the format, not by a compressor library version.
BYTE_STABLE = {"u1_raw_1d", "bool_raw", "f4_zero_d", "i4_zlib_order_f_slash", "i2_bigendian_nested",
               "u4_bz2", "m8_resized"}


def _recipes():
    spec = importlib.util.spec_from_file_location("zf_make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _open(name, mode="r"):
    path = str(FIXTURES / "zarr2" / name)
    if MANIFEST[name]["store"] == "nested":
        return zarr_fast.open_array(zarr_fast.storage.NestedDirectoryStore(path), mode=mode)
    return zarr_fast.open_array(path, mode=mode)


def _dir_items(path):
    root = pathlib.Path(path)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_fixture_reads_expected(name):
    facts = MANIFEST[name]
    expected = np.load(FIXTURES / "expected" / f"{name}.npy", allow_pickle=False)
    z = _open(name)
    assert z.read_only
    assert list(z.shape) == facts["shape"]
    assert list(z.chunks) == facts["chunks"]
    assert z.dtype == expected.dtype
    assert z.order == facts["order"]
    assert z.attrs.asdict() == facts["attrs"]
    # zarr 2.18 miscounts in two cases: 0-d arrays (it counts ".zarray" as well) and "/"
    # separators in a plain DirectoryStore (it counts top-level folders). The true count, the
    # chunk files on disk, is accepted as well as zarr's.
    root = FIXTURES / "zarr2" / name
    on_disk = sum(1 for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert z.nchunks_initialized in (on_disk, facts["nchunks_initialized"])
    assert z.hexdigest() == facts["hexdigest"]
    got = z[...]
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", sorted(n for n in MANIFEST if MANIFEST[n]["shape"]))
def test_fixture_selections(name):
    expected = np.load(FIXTURES / "expected" / f"{name}.npy", allow_pickle=False)
    z = _open(name)
    rng = np.random.default_rng(len(name))
    ints = tuple(np.sort(rng.integers(0, d, 3)) for d in expected.shape)
    np.testing.assert_array_equal(z.oindex[ints], expected[np.ix_(*ints)])
    np.testing.assert_array_equal(z.vindex[ints], expected[ints])
    step = tuple(slice(1, None, 2) for _ in expected.shape)
    np.testing.assert_array_equal(z[step], expected[step])
    first = tuple(slice(0, c) for c in z.chunks)
    np.testing.assert_array_equal(z.blocks[(0,) * z.ndim], expected[first])


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_replay_writes_same_bytes(name, tmp_path):
    recipes = _recipes()
    path = recipes.build(zarr_fast, tmp_path, name)
    ours, theirs = _dir_items(path), _dir_items(FIXTURES / "zarr2" / name)
    assert sorted(ours) == sorted(theirs)
    assert ours[".zarray"] == theirs[".zarray"]
    if ".zattrs" in theirs:
        assert ours[".zattrs"] == theirs[".zattrs"]
    if name in BYTE_STABLE:
        for key in theirs:
            assert ours[key] == theirs[key], f"bytes differ for {key!r}"
    expected = np.load(FIXTURES / "expected" / f"{name}.npy", allow_pickle=False)
    np.testing.assert_array_equal(zarr_fast.open_array(
        zarr_fast.storage.NestedDirectoryStore(str(path)) if MANIFEST[name]["store"] == "nested"
        else str(path), mode="r")[...], expected)
