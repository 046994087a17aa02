"""Differential tests of zarr_fast._blosc against numcodecs' Blosc codec and NumPy.

numcodecs is the oracle for bytes (encode must match it exactly) and for values (decode,
whole or item-level, must give what numcodecs' decode gives). Corrupt frames must only ever
raise ValueError or give correct values, never crash.
"""
import struct
from concurrent.futures import ThreadPoolExecutor

import numcodecs
import numcodecs.blosc
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarr_fast import _blosc

CNAMES = ["lz4", "lz4hc", "zstd", "zlib", "blosclz"]
SHUFFLES = [-1, 0, 1, 2]
DTYPES = ["u1", "<i2", "<f4", ">f8", "<c16", "S7", "<M8[ns]",
          [("a", "<i4"), ("b", "S3")], "V300"]


@pytest.fixture(autouse=True)
def _numcodecs_single_threaded(monkeypatch):
    # numcodecs compresses with blosc's global thread pool on the main thread; with several
    # threads the block order (and so the bytes) depends on timing. One thread is what
    # zarr's own worker threads use, and what the pipeline compares against.
    monkeypatch.setattr(numcodecs.blosc, "use_threads", False)


def _array(rng, nitems, dtype, kind):
    dtype = np.dtype(dtype)
    if kind == "random":   # incompressible: c-blosc stores it raw (MEMCPYED)
        raw = rng.integers(0, 256, size=nitems * dtype.itemsize, dtype=np.uint8)
    else:                  # compressible, but not constant
        raw = (np.arange(nitems * dtype.itemsize) // 7 % 13).astype(np.uint8)
    return np.frombuffer(raw.tobytes(), dtype=dtype).copy()


@pytest.mark.parametrize("cname", CNAMES)
@pytest.mark.parametrize("shuffle", SHUFFLES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_encode_is_byte_identical_and_decodes(cname, shuffle, dtype):
    rng = np.random.default_rng(0)
    for nitems, blocksize, kind in [(5000, 0, "pattern"), (3001, 2048, "random"),
                                    (7, 0, "pattern"), (0, 0, "pattern")]:
        arr = _array(rng, nitems, dtype, kind)
        expected = numcodecs.Blosc(cname, 5, shuffle, blocksize).encode(arr)
        frame = _blosc.encode(arr, cname, 5, shuffle, blocksize)
        assert frame == bytes(expected)
        out = np.empty_like(arr)
        _blosc.decode_into(expected, out)
        assert out.tobytes() == arr.tobytes()


def test_encode_levels_blocksizes_and_orders():
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 50, size=(60, 70)).astype("<i4")
    for clevel in (0, 1, 9):
        for blocksize in (0, 256, 100000):
            expected = numcodecs.Blosc("zstd", clevel, 1, blocksize).encode(arr)
            assert _blosc.encode(arr, "zstd", clevel, 1, blocksize) == bytes(expected)
    fortran = np.asfortranarray(arr)
    assert _blosc.encode(fortran) == bytes(numcodecs.Blosc().encode(fortran))
    out = np.empty((60, 70), dtype="<i4", order="F")
    _blosc.decode_into(_blosc.encode(fortran), out)
    np.testing.assert_array_equal(out, arr)


def test_encode_refuses_bad_input():
    arr = np.arange(100, dtype="<i8")
    with pytest.raises(ValueError, match="contiguous"):
        _blosc.encode(arr[::2])
    with pytest.raises(ValueError, match="compressor not supported"):
        _blosc.encode(arr, "nope")
    with pytest.raises(ValueError, match="clevel"):
        _blosc.encode(arr, "lz4", 10)
    with pytest.raises(TypeError, match="objects"):
        _blosc.encode(np.array(["a", 1], dtype=object))


def test_frame_info_reads_the_header():
    arr = np.arange(10000, dtype="<f8")
    frame = bytes(numcodecs.Blosc("lz4", 5, 1, 4096).encode(arr))
    info = _blosc.frame_info(frame)
    version, versionlz, flags, typesize, nbytes, blocksize, cbytes = struct.unpack(
        "<BBBBiii", frame[:16])
    assert version == 2 and versionlz == 1
    assert info == dict(nbytes=arr.nbytes, cbytes=len(frame), blocksize=blocksize,
                        typesize=8, flags=flags)
    assert flags & 0x01 and not flags & 0x02   # byte-shuffled, not stored raw
    with pytest.raises(ValueError, match="16-byte header"):
        _blosc.frame_info(frame[:10])


def _several_block_frames():
    rng = np.random.default_rng(2)
    pattern = (np.arange(60000) % 1000).astype("<i8")
    noise = rng.integers(0, 2**62, size=30001).astype("<i8")
    bytes_ = ((np.arange(300001) % 251) ^ rng.integers(0, 4, size=300001)).astype("u1")
    structured = _array(rng, 9000, "V300", "pattern")
    previous = numcodecs.blosc.use_threads
    threads = numcodecs.blosc.set_nthreads(4)
    try:
        # c-blosc's thread pool stores blocks in the order they finish, so this frame's
        # block starts may be out of order: the item-level decode must not assume otherwise.
        numcodecs.blosc.use_threads = True
        threaded = numcodecs.Blosc("lz4", 5, 1, 4096).encode(pattern)
        numcodecs.blosc.use_threads = False
        return [
            (pattern, numcodecs.Blosc("lz4", 5, 1, 8192).encode(pattern)),
            (pattern, numcodecs.Blosc("zstd", 3, 2, 65536).encode(pattern)),
            (noise, numcodecs.Blosc("blosclz", 5, 0, 4096).encode(noise)),  # MEMCPYED
            (bytes_, numcodecs.Blosc("zlib", 1, -1, 1024).encode(bytes_)),
            (structured, numcodecs.Blosc("lz4hc", 5, 1, 10000).encode(structured)),
            (pattern, threaded),
        ]
    finally:
        numcodecs.blosc.set_nthreads(threads)
        numcodecs.blosc.use_threads = previous


FRAMES = _several_block_frames()


@pytest.mark.parametrize("index", range(len(FRAMES)))
@pytest.mark.parametrize("from_file", [False, True])
def test_decode_items_values_and_untouched_blocks(index, from_file, tmp_path):
    arr, frame = FRAMES[index]
    info = _blosc.frame_info(frame)
    blocksize, itemsize = info["blocksize"], arr.itemsize
    assert info["nbytes"] > 2 * blocksize, "the frame must have several blocks"
    path = tmp_path / "chunk"
    path.write_bytes(frame)
    rng = np.random.default_rng(index)
    for n in (1, 3, 20):
        items = rng.choice(arr.size, size=n, replace=False)
        out = np.frombuffer(b"\xa5" * arr.nbytes, dtype=arr.dtype).copy()
        offsets = (items * itemsize).astype(np.int64)
        if from_file:
            _blosc.decode_items_from_file(str(path), out, offsets)
        else:
            _blosc.decode_items(frame, out, offsets)
        assert out[items].tobytes() == arr[items].tobytes()
        # Exactly the blocks holding requested bytes were written; the rest is sentinel.
        needed = np.zeros(-(-arr.nbytes // blocksize), dtype=bool)
        for offset in offsets:
            needed[offset // blocksize:(offset + itemsize - 1) // blocksize + 1] = True
        raw, expected = out.view(np.uint8), arr.view(np.uint8)
        for b in range(needed.size):
            block = slice(b * blocksize, (b + 1) * blocksize)
            if needed[b]:
                assert raw[block].tobytes() == expected[block].tobytes()
            else:
                assert (raw[block] == 0xA5).all()


def _reverse_block_order(frame):
    # The same frame with its compressed blocks stored last-to-first (as c-blosc's thread
    # pool may store them): still valid, but block starts now decrease.
    frame = bytes(frame)
    info = _blosc.frame_info(frame)
    nblocks = -(-info["nbytes"] // info["blocksize"])
    table_stop = 16 + 4 * nblocks
    starts = list(struct.unpack(f"<{nblocks}i", frame[16:table_stop]))
    stops = starts[1:] + [len(frame)]
    new_starts, body, position = [0] * nblocks, b"", table_stop
    for b in reversed(range(nblocks)):
        new_starts[b] = position
        body += frame[starts[b]:stops[b]]
        position += stops[b] - starts[b]
    return frame[:16] + struct.pack(f"<{nblocks}i", *new_starts) + body


@pytest.mark.parametrize("from_file", [False, True])
def test_decode_items_blocks_stored_out_of_order(from_file, tmp_path):
    arr, frame = FRAMES[0]
    shuffled = _reverse_block_order(frame)
    assert shuffled != bytes(frame)
    whole = np.empty_like(arr)
    _blosc.decode_into(shuffled, whole)
    np.testing.assert_array_equal(whole, arr)
    path = tmp_path / "chunk"
    path.write_bytes(shuffled)
    items = np.array([0, 1, 20000, 41000, arr.size - 1])
    out = np.zeros_like(arr)
    if from_file:
        _blosc.decode_items_from_file(str(path), out, items * 8)
    else:
        _blosc.decode_items(shuffled, out, items * 8)
    np.testing.assert_array_equal(out[items], arr[items])


def test_decode_items_empty_and_bad_offsets(tmp_path):
    arr, frame = FRAMES[0]
    out = np.zeros_like(arr)
    _blosc.decode_items(frame, out, np.array([], dtype=np.int64))
    assert not out.any()
    for bad in ([-8], [arr.nbytes], [arr.nbytes - 4]):
        with pytest.raises(ValueError, match="item offset"):
            _blosc.decode_items(frame, out, np.array(bad, dtype=np.int64))
    with pytest.raises(ValueError, match="sizes disagree"):
        _blosc.decode_items(frame, np.zeros(10, dtype=arr.dtype), [0])
    path = tmp_path / "short"
    path.write_bytes(frame[:-5])
    with pytest.raises(ValueError, match="decode_items_from_file"):
        _blosc.decode_items_from_file(str(path), out, [0])


def _corruptions(frame):
    info = _blosc.frame_info(frame)
    wrong_nbytes = bytearray(frame)
    wrong_nbytes[4:8] = (info["nbytes"] + 8).to_bytes(4, "little")
    garbage_table = bytearray(frame)
    garbage_table[16:24] = b"\xff\xff\xff\x7f\x10\x00\x00\x00"
    bad_version = bytearray(frame)
    bad_version[0] = 99
    return {"short": frame[:12], "truncated": frame[:-1], "padded": frame + b"\0",
            "wrong_nbytes": bytes(wrong_nbytes), "garbage_bstarts": bytes(garbage_table),
            "bad_version": bytes(bad_version)}


@pytest.mark.parametrize("kind", ["short", "truncated", "padded", "wrong_nbytes",
                                  "garbage_bstarts", "bad_version"])
def test_corrupt_frames_raise(kind, tmp_path):
    arr, frame = FRAMES[0]
    bad = _corruptions(bytes(frame))[kind]
    out = np.zeros_like(arr)
    with pytest.raises(ValueError):
        _blosc.decode_into(bad, out)
    with pytest.raises(ValueError):
        _blosc.decode_items(bad, out, [0, arr.nbytes - 8])
    path = tmp_path / kind
    path.write_bytes(bad)
    with pytest.raises(ValueError):
        _blosc.decode_items_from_file(str(path), out, [0, arr.nbytes - 8])


@settings(deadline=None, max_examples=150)
@given(index=st.sampled_from([0, 1, 2, 4]), data=st.data())
def test_corrupt_header_or_bstarts_never_crash(index, data):
    arr, frame = FRAMES[index]
    info = _blosc.frame_info(frame)
    nblocks = -(-info["nbytes"] // info["blocksize"])
    # A frame stored raw has no table: bytes after its header are data, unchecked by design.
    metadata_stop = 16 if info["flags"] & 0x02 else 16 + 4 * nblocks
    frame = bytearray(frame)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, metadata_stop - 1))
        frame[position] = data.draw(st.integers(0, 255))
    frame = bytes(frame)
    items = data.draw(st.lists(st.integers(0, arr.size - 1), min_size=1, max_size=5))
    offsets = np.array(items, dtype=np.int64) * arr.itemsize
    # What a full decode of the same bytes gives, when it succeeds. (Not numcodecs' own
    # decode: it trusts the header's sizes and can crash on exactly these frames.)
    whole = np.empty_like(arr)
    try:
        _blosc.decode_into(frame, whole)
    except ValueError:
        whole = None
    out = np.zeros_like(arr)
    try:
        _blosc.decode_items(frame, out, offsets)
    except ValueError:
        return
    got = out[items].tobytes()
    assert got == arr[items].tobytes() or (whole is not None and got == whole[items].tobytes())


def test_many_threads_at_once(tmp_path):
    arr, frame = FRAMES[0]
    path = tmp_path / "chunk"
    path.write_bytes(frame)
    offsets = np.arange(0, arr.nbytes, 40007 * 8, dtype=np.int64)

    def work(i):
        whole = np.empty_like(arr)
        _blosc.decode_into(frame, whole)
        some = np.zeros_like(arr)
        _blosc.decode_items_from_file(str(path), some, offsets)
        return whole.tobytes() == arr.tobytes(), some[offsets // 8].tolist(), \
            _blosc.encode(arr, "zstd", 3, 2, 0)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(32)))
    expected_frame = bytes(numcodecs.Blosc("zstd", 3, 2, 0).encode(arr))
    for is_equal, values, encoded in results:
        assert is_equal and values == arr[offsets // 8].tolist() and encoded == expected_frame


def test_decode_into_nthreads_and_size_mismatch():
    arr, frame = FRAMES[1]
    out = np.empty_like(arr)
    _blosc.decode_into(frame, out, nthreads=4)
    np.testing.assert_array_equal(out, arr)
    with pytest.raises(ValueError, match="sizes disagree"):
        _blosc.decode_into(frame, np.empty(arr.size - 1, dtype=arr.dtype))
    with pytest.raises(ValueError, match="read-only"):
        out.flags.writeable = False
        _blosc.decode_into(frame, out)


def test_fallback_when_unbound(tmp_path):
    arr, frame = FRAMES[0]
    path = tmp_path / "chunk"
    path.write_bytes(frame)
    was_bound = _blosc._force_unbound_for_tests()
    try:
        assert not _blosc.is_ready()
        assert _blosc.encode(arr, "lz4", 5, 1, 8192) == bytes(frame)
        out = np.empty_like(arr)
        _blosc.decode_into(frame, out)
        np.testing.assert_array_equal(out, arr)
        some = np.zeros_like(arr)
        _blosc.decode_items_from_file(str(path), some, [8, arr.nbytes - 8])
        assert some[1] == arr[1] and some[-1] == arr[-1]
        with pytest.raises(ValueError):
            _blosc.decode_into(frame[:-1], out)
    finally:
        _blosc._force_unbound_for_tests(not was_bound)
    assert _blosc.is_ready() == was_bound
