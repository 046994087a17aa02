"""The compiled read path over directory stores: the file layouts it reads itself."""
import os

import numpy as np
import pytest

import zarr_fast
from zarr_fast import _chunkio
from zarr_fast.storage import DirectoryStore, NestedDirectoryStore


@pytest.mark.parametrize("compressor", ["default", None])
@pytest.mark.parametrize("store_cls, separator", [(DirectoryStore, "."), (DirectoryStore, "/"),
                                                 (NestedDirectoryStore, "/")])
def test_paths_and_separators(tmp_path, compressor, store_cls, separator):
    values = np.arange(30 * 20, dtype="<i8").reshape(30, 20)
    store = store_cls(str(tmp_path))
    z = zarr_fast.create((30, 20), chunks=(7, 6), dtype="<i8", store=store, path="deep/arr",
                         compressor=compressor, dimension_separator=separator, fill_value=-1)
    z[3:25, 2:19] = values[3:25, 2:19]
    expected = np.full((30, 20), -1, dtype="<i8")
    expected[3:25, 2:19] = values[3:25, 2:19]
    again = zarr_fast.open_array(store_cls(str(tmp_path)), mode="r", path="deep/arr")
    np.testing.assert_array_equal(again[...], expected)
    np.testing.assert_array_equal(again.oindex[[0, 5, 29], [1, 19]], expected[np.ix_([0, 5, 29], [1, 19])])
    np.testing.assert_array_equal(again.vindex[[0, 5, 29], [1, 19, 7]], expected[[0, 5, 29], [1, 19, 7]])
    assert again[4, 7] == expected[4, 7] and again[29, 19] == -1


def test_a_folder_where_a_chunk_would_be_reads_as_fill(tmp_path):
    z = zarr_fast.full((4, 4), 7, chunks=(2, 2), dtype="i4", store=DirectoryStore(str(tmp_path)))
    z[0:2, 0:2] = 1
    os.mkdir(tmp_path / "1.1")
    np.testing.assert_array_equal(z[2:, 2:], np.full((2, 2), 7))
    assert z[3, 3] == 7


def test_unreadable_chunk_raises_oserror_naming_the_key(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    z = zarr_fast.zeros((4, 4), chunks=(2, 2), dtype="i4", store=DirectoryStore(str(tmp_path)))
    z[...] = 1
    os.chmod(tmp_path / "0.0", 0)
    with pytest.raises(OSError, match="0.0"):
        z[...]


@pytest.mark.parametrize("compressor", ["default", None])
def test_a_chunk_file_that_cannot_be_opened_names_its_path(tmp_path, compressor):
    # a symlink loop fails to open even for root: an I/O error, never the fill value
    z = zarr_fast.zeros((4, 4), chunks=(2, 2), dtype="i4", store=DirectoryStore(str(tmp_path)),
                        compressor=compressor)
    z[...] = 1
    os.remove(tmp_path / "1.0")
    os.symlink("1.0", tmp_path / "1.0")
    with pytest.raises(OSError, match=r"1\.0") as info:
        z[...]
    assert info.value.filename == os.path.join(str(tmp_path), "1.0")
    with pytest.raises(OSError, match=r"1\.0"):
        z.vindex[[0, 3], [0, 1]]


def test_a_chunk_store_folder_not_made_yet_reads_as_fill(tmp_path):
    chunk_root = tmp_path / "chunks-not-there"
    z = zarr_fast.create((6, 5), chunks=(4, 4), dtype="f8", fill_value=2.5,
                         store=DirectoryStore(str(tmp_path / "meta")),
                         chunk_store=DirectoryStore(str(chunk_root)))
    assert not chunk_root.exists()
    np.testing.assert_array_equal(z[...], np.full((6, 5), 2.5))
    np.testing.assert_array_equal(z.vindex[[0, 5], [4, 1]], [2.5, 2.5])


def test_array_paths_beyond_ascii(tmp_path):
    store = DirectoryStore(str(tmp_path))
    values = np.arange(48, dtype="<u2").reshape(8, 6)
    z = zarr_fast.create((8, 6), chunks=(3, 4), dtype="<u2", store=store, path="grüße/naïve arr")
    z[...] = values
    again = zarr_fast.open_array(DirectoryStore(str(tmp_path)), mode="r", path="grüße/naïve arr")
    np.testing.assert_array_equal(again[...], values)
    np.testing.assert_array_equal(again.vindex[[7, 0], [5, 0]], [47, 0])


def test_chunk_files_pack_keys_and_refuse_nul(tmp_path):
    from zarr_fast import _chunkfiles

    files = _chunkfiles.ChunkFiles(os.fsencode(str(tmp_path)), ["0.0", "a/1.2", "é"])
    assert len(files) == 3
    assert files.path(1) == os.fsencode(str(tmp_path)) + b"/a/1.2"
    assert files.path(2) == os.fsencode(str(tmp_path) + "/é")
    with pytest.raises(IndexError):
        files.path(3)
    with pytest.raises(ValueError, match="NUL"):
        _chunkfiles.ChunkFiles(b"/tmp", ["0.0", "bad\0key"])


# Raw chunks selected whole are read from their files straight into their strided region of
# the result (rows gathered by the kernel) when every row starts on a cache line; everything
# else reads the file into scratch and copies.
RAW_LAYOUTS = [
    ((50,), (7,)),
    ((40, 30), (8, 10)),
    ((40, 30), (40, 6)),
    ((12, 9, 10), (4, 3, 5)),
    ((3, 2050), (1, 2050)),   # one wide run per chunk
    ((2100, 2), (2100, 1)),   # 2,100 one-item runs per chunk: more than one preadv batch
]


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("shape, chunks", RAW_LAYOUTS)
def test_raw_chunks_read_whole_into_strided_results(tmp_path, shape, chunks, nthreads):
    values = np.random.default_rng(3).integers(-99, 99, shape).astype("<i4")
    z = zarr_fast.array(values, chunks=chunks, compressor=None, store=DirectoryStore(str(tmp_path)))
    with zarr_fast.config.threads(nthreads):
        np.testing.assert_array_equal(z[...], values)
        out = np.zeros(shape[::-1], dtype="<i4").T  # Fortran order: no chunk is a run of it
        z.get_basic_selection(Ellipsis, out=out)
        np.testing.assert_array_equal(out, values)
        if len(shape) > 1:
            rows = np.r_[1:shape[0], 0]  # whole chunks, rows out of order in the result
            np.testing.assert_array_equal(z.oindex[rows, :], values[rows, :])
            np.testing.assert_array_equal(z[1:, 1:], values[1:, 1:])


def _at_shift(shape, dtype, shift):
    # an array whose data starts shift bytes past a 64-byte boundary
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buf = np.zeros(nbytes + 128, dtype=np.uint8)
    start = (-buf.ctypes.data) % 64 + shift
    return buf[start:start + nbytes].view(dtype).reshape(shape)


@pytest.mark.parametrize("shift", [0, 4, 16, 64])
@pytest.mark.parametrize("shape, chunks", [((64, 1024), (16, 512)), ((64, 1024), (16, 1024)),
                                            ((40, 30), (8, 10))])
@pytest.mark.parametrize("stream", [False, True])
def test_raw_reads_into_outputs_at_any_alignment(tmp_path, shape, chunks, shift, stream):
    # aligned rows go by preadv, others by reading the file into scratch and copying (with
    # streaming stores into large results): the values must not depend on which
    values = np.random.default_rng(5).integers(-99, 99, shape).astype("<i4")
    z = zarr_fast.array(values, chunks=chunks, compressor=None, store=DirectoryStore(str(tmp_path)))
    previous = _chunkio._set_stream_min_nbytes_for_tests(0 if stream else 1 << 62)
    try:
        _check_raw_reads(z, values, shape, shift)
    finally:
        _chunkio._set_stream_min_nbytes_for_tests(previous)


def _check_raw_reads(z, values, shape, shift):
    for nthreads in (1, 2):
        with zarr_fast.config.threads(nthreads):
            out = _at_shift(shape, "<i4", shift)
            z.get_basic_selection(Ellipsis, out=out)
            np.testing.assert_array_equal(out, values)
            part = _at_shift((shape[0] - 3, shape[1]), "<i4", shift)
            z.get_basic_selection(np.s_[3:], out=part)
            np.testing.assert_array_equal(part, values[3:])


@pytest.mark.parametrize("mangle", [lambda raw: raw[:-4], lambda raw: raw + b"\0" * 4, lambda raw: b""])
def test_raw_chunk_file_of_wrong_size_names_its_key(tmp_path, mangle):
    values = np.arange(40 * 30, dtype="<i4").reshape(40, 30)
    z = zarr_fast.array(values, chunks=(8, 10), compressor=None, store=DirectoryStore(str(tmp_path)))
    path = tmp_path / "1.2"
    path.write_bytes(mangle(path.read_bytes()))
    with pytest.raises(ValueError, match=r"1\.2"):
        z[...]
    np.testing.assert_array_equal(z[:8], values[:8])  # other chunks still read
