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

from zarr_fast import _blosc, _bloscitems

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
            _bloscitems.decode_items_from_file(str(path), out, offsets)
        else:
            _bloscitems.decode_items(frame, out, offsets)
        assert out[items].tobytes() == arr[items].tobytes()
        # Only blocks holding requested bytes may be written (wholly, or just the items
        # when an lz4 block is decoded from stream prefixes); the rest is sentinel.
        needed = np.zeros(-(-arr.nbytes // blocksize), dtype=bool)
        for offset in offsets:
            needed[offset // blocksize:(offset + itemsize - 1) // blocksize + 1] = True
        raw = out.view(np.uint8)
        for b in np.flatnonzero(~needed):
            assert (raw[b * blocksize:(b + 1) * blocksize] == 0xA5).all()


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
        _bloscitems.decode_items_from_file(str(path), out, items * 8)
    else:
        _bloscitems.decode_items(shuffled, out, items * 8)
    np.testing.assert_array_equal(out[items], arr[items])


def test_decode_items_empty_and_bad_offsets(tmp_path):
    arr, frame = FRAMES[0]
    out = np.zeros_like(arr)
    _bloscitems.decode_items(frame, out, np.array([], dtype=np.int64))
    assert not out.any()
    for bad in ([-8], [arr.nbytes], [arr.nbytes - 4]):
        with pytest.raises(ValueError, match="item offset"):
            _bloscitems.decode_items(frame, out, np.array(bad, dtype=np.int64))
    with pytest.raises(ValueError, match="sizes disagree"):
        _bloscitems.decode_items(frame, np.zeros(10, dtype=arr.dtype), [0])
    path = tmp_path / "short"
    path.write_bytes(frame[:-5])
    with pytest.raises(ValueError, match="decode_items_from_file"):
        _bloscitems.decode_items_from_file(str(path), out, [0])


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
        _bloscitems.decode_items(bad, out, [0, arr.nbytes - 8])
    path = tmp_path / kind
    path.write_bytes(bad)
    with pytest.raises(ValueError):
        _bloscitems.decode_items_from_file(str(path), out, [0, arr.nbytes - 8])


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
        _bloscitems.decode_items(frame, out, offsets)
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
        _bloscitems.decode_items_from_file(str(path), some, offsets)
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
        _bloscitems.decode_items_from_file(str(path), some, [8, arr.nbytes - 8])
        assert some[1] == arr[1] and some[-1] == arr[-1]
        with pytest.raises(ValueError):
            _blosc.decode_into(frame[:-1], out)
    finally:
        _blosc._force_unbound_for_tests(not was_bound)
    assert _blosc.is_ready() == was_bound


# --- Item-level decode from lz4 stream prefixes ------------------------------------------
# For lz4/lz4hc frames a block holding few requested items is decoded only up to the last
# byte each of its streams must give; these compare that path with numcodecs' full decode
# over the layouts c-blosc writes (split or not, byte-shuffled or not, leftover blocks,
# streams stored raw) and with the whole-block path it replaces.

PARTIAL_DTYPES = ["u1", "<i2", "<f4", "S3", "<f8", "V12", "<c16", "V17"]


def _partial_array(rng, nitems, dtype, kind):
    dtype = np.dtype(dtype)
    if kind == "smooth":   # a smooth field with noise in the low bytes, like W4's data
        values = np.sin(np.arange(nitems * dtype.itemsize) / 50.0) * 100
        raw = (values + rng.normal(0, 0.01, values.size)).astype("<f4").view(np.uint8)
        raw = raw[:nitems * dtype.itemsize]
    else:
        raw = _array(rng, nitems, dtype, kind).view(np.uint8)
    return np.frombuffer(raw.tobytes(), dtype=dtype).copy()


def _check_items(frame, arr, item_sets, tmp_path):
    expected = np.empty_like(arr)
    numcodecs.blosc.decompress(frame, expected)
    assert expected.tobytes() == arr.tobytes()
    path = tmp_path / "chunk"
    path.write_bytes(frame)
    for items in item_sets:
        offsets = np.asarray(items, dtype=np.int64) * arr.itemsize
        for from_file in (False, True):
            out = np.zeros_like(arr)
            if from_file:
                _bloscitems.decode_items_from_file(str(path), out, offsets)
            else:
                _bloscitems.decode_items(frame, out, offsets)
            assert out[items].tobytes() == arr[items].tobytes()


@pytest.mark.parametrize("cname", ["lz4", "lz4hc", "zstd", "blosclz"])
@pytest.mark.parametrize("shuffle", [0, 1, 2])
@pytest.mark.parametrize("dtype", PARTIAL_DTYPES, ids=str)
def test_decode_items_matches_numcodecs(cname, shuffle, dtype, tmp_path):
    rng = np.random.default_rng(len(cname) * 100 + shuffle * 10 + np.dtype(dtype).itemsize)
    itemsize = np.dtype(dtype).itemsize
    # c-blosc picks lz4 block sizes itself (64 KiB at clevel 1): 70001 items leave a short
    # leftover block; 100 items of 8 bytes or more are too few to split into streams;
    # zstd and blosclz take the forced sizes; random bytes are stored raw.
    for nitems, clevel, blocksize, kind in [(4099, 5, 0, "smooth"), (70001, 1, 0, "smooth"),
                                            (100, 5, 0, "pattern"),
                                            (3001, 5, 128 * itemsize + itemsize, "pattern"),
                                            (1500, 5, 256, "random")]:
        arr = _partial_array(rng, nitems, dtype, kind)
        frame = bytes(numcodecs.Blosc(cname, clevel, shuffle, blocksize).encode(arr))
        some = np.concatenate([[0, nitems - 1], rng.integers(0, nitems, 7)])
        # Every third item: more than 64 per block, so those blocks are decoded whole.
        _check_items(frame, arr, [some, some[2:3], np.arange(0, nitems, 3)], tmp_path)


def test_partial_decode_writes_only_the_items():
    if not _bloscitems.has_partial_decode():
        pytest.skip("lz4 partial decoding is not available in this numcodecs")
    rng = np.random.default_rng(5)
    arr = _partial_array(rng, 1 << 16, "<f4", "smooth")
    frame = bytes(numcodecs.Blosc().encode(arr))
    info = _blosc.frame_info(frame)
    assert info["flags"] == 0x21      # lz4, byte shuffle, split: the W4 layout
    items = np.array([5, 4000, 40000, 65535])
    out = np.full_like(arr, np.nan)
    _bloscitems.decode_items(frame, out, items * 4)
    assert out[items].tobytes() == arr[items].tobytes()
    untouched = np.ones(arr.size, dtype=bool)
    untouched[items] = False
    assert np.isnan(out[untouched]).all()
    # The whole-block path gives the same items and fills the blocks.
    previous = _bloscitems._set_partial_decode_for_tests(False)
    try:
        whole = np.full_like(arr, np.nan)
        _bloscitems.decode_items(frame, whole, items * 4)
    finally:
        _bloscitems._set_partial_decode_for_tests(previous)
    assert whole[items].tobytes() == arr[items].tobytes()
    block = info["blocksize"] // 4
    assert not np.isnan(whole[items[0] // block * block:][:block]).any()


def test_items_straddling_blocks_and_streams(tmp_path):
    # Decoded as 12-byte items, a typesize-4 frame with 1000-byte blocks has items that
    # start in one block and end in the next: both blocks give their part.
    rng = np.random.default_rng(6)
    values = _partial_array(rng, 3 * 40000, "<f4", "smooth")
    for cname in ("lz4", "lz4hc", "zstd"):
        # lz4 at clevel 1 takes 64 KiB blocks (65536 is no multiple of 12), zstd 1000.
        frame = bytes(numcodecs.Blosc(cname, 1, 1, 1000).encode(values))
        blocksize = _blosc.frame_info(frame)["blocksize"]
        assert blocksize % 12 != 0
        arr = values.view("V12")
        straddling = [b * blocksize // 12 for b in range(1, 4)]
        _check_items(frame, arr, [[0, 39999] + straddling, straddling[:1]], tmp_path)


def test_blocks_stored_raw_inside_a_compressed_frame(tmp_path):
    # Noise in the low bytes: those streams do not shrink and are stored raw, the
    # exponent streams compress; both kinds appear within one block.
    rng = np.random.default_rng(7)
    arr = (1000 + rng.random(1 << 15)).astype("<f4")
    frame = bytes(numcodecs.Blosc("lz4", 9, 1, 1 << 14).encode(arr))
    info = _blosc.frame_info(frame)
    assert not info["flags"] & 0x02 and info["cbytes"] > arr.nbytes // 2
    _check_items(frame, arr, [rng.integers(0, arr.size, 12)], tmp_path)


@settings(deadline=None, max_examples=200)
@given(cname=st.sampled_from(["lz4", "lz4hc"]), data=st.data())
def test_corrupt_lz4_streams_never_crash(cname, data):
    # Bytes anywhere in the block data (stream sizes, lz4 tokens, offsets) are changed:
    # the item-level decode must raise ValueError or return, never read out of bounds.
    rng = np.random.default_rng(8)
    arr = _partial_array(rng, 8192, "<f4", "smooth")
    frame = bytearray(numcodecs.Blosc(cname, 5, 1, 8192).encode(arr))
    nblocks = -(-arr.nbytes // 8192)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(16 + 4 * nblocks, len(frame) - 1))
        frame[position] = data.draw(st.integers(0, 255))
    items = data.draw(st.lists(st.integers(0, arr.size - 1), min_size=1, max_size=6))
    out = np.zeros_like(arr)
    try:
        _bloscitems.decode_items(bytes(frame), out, np.array(items, dtype=np.int64) * 4)
    except ValueError:
        pass


# --- block-by-block decode (the read path's decoder for lz4 frames) ---

@pytest.mark.parametrize("cname", ["lz4", "lz4hc"])
@pytest.mark.parametrize("shuffle", [0, 1])
@pytest.mark.parametrize("dtype", ["u1", "<i2", "<f4", ">f8", "<c16", "S7", "V24"], ids=str)
def test_decode_by_blocks_matches_c_blosc(cname, shuffle, dtype):
    rng = np.random.default_rng(11)
    itemsize = np.dtype(dtype).itemsize
    for nitems, blocksize, kind in [(5000, 0, "pattern"), (3001, 0, "random"), (100000, 1 << 12, "pattern"),
                                    (20000, 1 << 14, "random"), (3, 0, "pattern")]:
        arr = _array(rng, nitems, dtype, kind)
        frame = bytes(numcodecs.Blosc(cname, 5, shuffle, blocksize * itemsize).encode(arr))
        expected = np.empty_like(arr)
        _blosc.decode_into(frame, expected)
        out = np.zeros_like(arr)
        assert _blosc.decode_by_blocks(frame, out) is True
        assert out.tobytes() == arr.tobytes() == expected.tobytes()


@pytest.mark.parametrize("cname,shuffle", [("zstd", 1), ("blosclz", 1), ("zlib", 0), ("lz4", 2)])
def test_decode_by_blocks_declines_other_codecs(cname, shuffle):
    arr = np.arange(5000, dtype="<i4")
    frame = bytes(numcodecs.Blosc(cname, 5, shuffle).encode(arr))
    out = np.zeros_like(arr)
    assert _blosc.decode_by_blocks(frame, out) is False
    assert not out.any()


def test_decode_by_blocks_refuses_bad_headers():
    arr, frame = FRAMES[0]
    out = np.zeros_like(arr)
    for kind in ("short", "truncated", "padded", "wrong_nbytes", "garbage_bstarts", "bad_version"):
        bad = _corruptions(bytes(frame))[kind]
        with pytest.raises(ValueError):
            _blosc.decode_by_blocks(bad, out)


@settings(deadline=None, max_examples=300)
@given(cname=st.sampled_from(["lz4", "lz4hc"]), shuffle=st.sampled_from([0, 1]), data=st.data())
def test_corrupt_frames_decode_by_blocks_as_c_blosc_or_raise(cname, shuffle, data):
    # Any byte of the table or the streams changed: the block decoder raises ValueError, or
    # gives exactly what c-blosc's own decode gives for the same bytes -- never other
    # values, and never an access outside the frame.
    rng = np.random.default_rng(12)
    arr = _partial_array(rng, 8192, "<f4", "smooth")
    frame = bytearray(numcodecs.Blosc(cname, 5, shuffle, 8192).encode(arr))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(16, len(frame) - 1))
        frame[position] = data.draw(st.integers(0, 255))
    frame = bytes(frame)
    out = np.zeros_like(arr)
    try:
        assert _blosc.decode_by_blocks(frame, out) is True
    except ValueError:
        return
    whole = np.empty_like(arr)
    _blosc.decode_into(frame, whole)   # c-blosc must accept what the block decoder accepted
    assert out.tobytes() == whole.tobytes()


def test_encode_into_a_reused_frame_gives_the_same_bytes():
    rng = np.random.default_rng(11)
    frame = np.empty(64 * 64 * 4 + 16, dtype=np.uint8)
    for seed in range(3):
        chunk = (rng.standard_normal((64, 64)) * (seed + 1)).round(2).astype("<f4")
        view = _blosc.encode(chunk, "lz4", 5, 1, 0, 1, out=frame)
        assert view.base is frame or view.base is frame.base or np.shares_memory(view, frame)
        assert bytes(view) == _blosc.encode(chunk, "lz4", 5, 1, 0, 1)
        assert bytes(view) == numcodecs.Blosc("lz4", 5, 1).encode(chunk)


def test_encode_refuses_a_frame_too_small():
    chunk = np.zeros(100, dtype="<i8")
    with pytest.raises(ValueError, match="at least 816 bytes"):
        _blosc.encode(chunk, "lz4", 5, 1, 0, 1, out=np.empty(815, dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        _blosc.encode(chunk, "lz4", 5, 1, 0, 1, out=np.empty(816, dtype=np.int8))


@settings(max_examples=60, deadline=None)
@given(
    period=st.integers(1, 40),
    noise=st.sampled_from([0.0, 0.01, 0.3, 1.0]),
    cname=st.sampled_from(["lz4", "lz4hc"]),
    dtype=st.sampled_from(["<u2", "<f4", "<i8"]),
    seed=st.integers(0, 2**16),
)
def test_items_read_from_lz4_sequences_match_the_data(period, noise, cname, dtype, seed):
    """Items of lz4 streams are found by walking back through matches (overlapping ones
    repeat with their offset as period): runs of short periods and sparse noise make every
    kind of match, and every item must come out as stored."""
    rng = np.random.default_rng(seed)
    itemsize = np.dtype(dtype).itemsize
    raw = np.resize(rng.integers(0, 256, period, dtype=np.uint8), 40_000 * itemsize)
    flip = rng.random(raw.size) < noise
    raw[flip] = rng.integers(0, 256, int(flip.sum()), dtype=np.uint8)
    arr = raw.view(dtype)
    frame = bytes(numcodecs.Blosc(cname, 5, 1).encode(arr))
    items = np.unique(np.concatenate([[0, arr.size - 1], rng.integers(0, arr.size, 40)]))
    out = np.zeros_like(arr)
    _bloscitems.decode_items(frame, out, items * itemsize)
    assert out[items].tobytes() == arr[items].tobytes()
