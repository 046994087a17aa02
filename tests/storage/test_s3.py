"""FSStore against a real S3-compatible server (moto, on 127.0.0.1; see conftest.py).

Arrays and groups round-trip, zarr 2.18.7 reads what zarr_fast wrote and the reverse, nested
chunk keys and consolidated metadata work on S3, and every failure that is not "key absent"
-- an unreachable endpoint, a denied read -- reaches the caller as an error naming the store
URL, never as a silent fill value.
"""
import socket

import numpy as np
import pytest

pytest.importorskip("s3fs")

import zarr_fast  # noqa: E402
from zarr_fast.errors import ReadOnlyError  # noqa: E402
from zarr_fast.storage.fsstore import FSStore  # noqa: E402


def _data(shape=(10, 12), dtype="<i4"):
    return np.arange(np.prod(shape), dtype=dtype).reshape(shape)


def _closed_port():
    # a port nothing listens on: bound once to get a free number, then released
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_array_and_group_round_trip(s3_store_factory, s3_options):
    store = s3_store_factory()
    root = zarr_fast.group(store=store)
    arr = root.create_dataset("a/x", shape=(10, 12), chunks=(4, 5), dtype="<i4", fill_value=-1)
    arr[:7] = _data()[:7]
    root["a"].attrs["units"] = "m"
    again = zarr_fast.open_group(FSStore(s3_store_factory.last_url, **s3_options), mode="r")
    expected = _data()
    expected[7:] = -1  # never written: the fill value, because those keys are truly absent
    np.testing.assert_array_equal(again["a/x"][:], expected)
    assert again["a"].attrs["units"] == "m"
    assert sorted(store.listdir("a/x")) == [".zarray", "0.0", "0.1", "0.2", "1.0", "1.1", "1.2"]
    assert store.getsize("a/x") > 0


def test_chunks_are_fetched_in_one_batch(s3_store_factory, monkeypatch):
    store = s3_store_factory()
    arr = zarr_fast.create(store=store, shape=(20,), chunks=(2,), dtype="u1")
    arr[:] = np.arange(20, dtype="u1")
    calls = []
    original = store.fs.cat_ranges

    def counting(paths, *args, **kwargs):
        calls.append(len(paths))
        return original(paths, *args, **kwargs)

    monkeypatch.setattr(store.fs, "cat_ranges", counting)
    np.testing.assert_array_equal(arr[:], np.arange(20, dtype="u1"))
    assert calls == [10]


def test_zarr_reads_ours_and_we_read_zarrs(s3_store_factory, s3_options, zarr2):
    data = _data((9, 7), "<f8")
    ours = s3_store_factory("ours")
    arr = zarr_fast.create(store=ours, shape=data.shape, chunks=(4, 4), dtype="<f8")
    arr[:] = data
    theirs_view = zarr2.open_array(s3_store_factory.last_url, mode="r", storage_options=s3_options)
    np.testing.assert_array_equal(theirs_view[:], data)

    s3_store_factory("theirs")
    url = s3_store_factory.last_url
    written = zarr2.open_array(url, mode="w", shape=data.shape, chunks=(3, 5), dtype="<f8",
                               storage_options=s3_options)
    written[:] = data
    got = zarr_fast.open_array(url, mode="r", storage_options=s3_options)
    assert isinstance(got.store, FSStore) and got.store.mode == "r"
    np.testing.assert_array_equal(got[:], data)


def test_nested_dimension_separator(s3_store_factory, s3_options, zarr2):
    store = s3_store_factory(key_separator="/")
    arr = zarr_fast.create(store=store, shape=(4, 4), chunks=(2, 2), dtype="i2", path="n")
    arr[:] = _data((4, 4), "i2")
    assert sorted(store) == [".zgroup", "n/.zarray", "n/0/0", "n/0/1", "n/1/0", "n/1/1"]
    assert store.listdir("n") == [".zarray", "0.0", "0.1", "1.0", "1.1"]
    theirs = zarr2.storage.FSStore(s3_store_factory.last_url, key_separator="/", **s3_options)
    np.testing.assert_array_equal(zarr2.open_array(theirs, path="n", mode="r")[:],
                                  _data((4, 4), "i2"))


def test_consolidated_metadata(s3_store_factory, s3_options):
    store = s3_store_factory()
    root = zarr_fast.group(store=store)
    root.create_dataset("a", data=np.arange(6), chunks=3)
    root.create_group("g").attrs["k"] = [1, 2]
    zarr_fast.consolidate_metadata(store)
    opened = zarr_fast.open_consolidated(s3_store_factory.last_url, mode="r",
                                         storage_options=s3_options)
    np.testing.assert_array_equal(opened["a"][:], np.arange(6))
    assert opened["g"].attrs["k"] == [1, 2]


def test_read_only_store_refuses_writes(s3_store_factory, s3_options):
    store = s3_store_factory()
    store["k"] = b"v"
    ro = FSStore(s3_store_factory.last_url, mode="r", **s3_options)
    assert ro["k"] == b"v"
    with pytest.raises(ReadOnlyError):
        ro["k"] = b"w"
    with pytest.raises(ReadOnlyError):
        ro.setitems({"k": b"w"})
    with pytest.raises(ReadOnlyError):
        ro.delitems(["k"])
    assert store["k"] == b"v"


def test_unreachable_endpoint_is_an_error_not_fill(s3_store_factory):
    good = s3_store_factory()
    arr = zarr_fast.create(store=good, shape=(6,), chunks=(3,), dtype="i4", fill_value=0)
    arr[:] = np.arange(1, 7)
    url = s3_store_factory.last_url
    dead_endpoint = f"http://127.0.0.1:{_closed_port()}"
    dead = FSStore(
        url,
        key="k",
        secret="s",
        skip_instance_cache=True,
        client_kwargs={"endpoint_url": dead_endpoint},
        config_kwargs={"connect_timeout": 1, "read_timeout": 1, "retries": {"max_attempts": 1}},
    )
    with pytest.raises(OSError, match="s3://") as info:
        zarr_fast.open_array(dead, mode="r")
    assert url.split("://")[1] in str(info.value)
    # metadata from the live server, chunks from the dead one: the read must fail loudly
    split = zarr_fast.Array(good, chunk_store=dead, read_only=True)
    with pytest.raises(OSError, match="Could not connect") as info:
        split[:]
    assert url in str(info.value) and "key '0'" in str(info.value)


def test_denied_key_reaches_the_caller(s3_store_factory, monkeypatch):
    store = s3_store_factory()
    arr = zarr_fast.create(store=store, shape=(6,), chunks=(2,), dtype="i4", fill_value=-1)
    arr[:] = np.arange(6)
    original = store.fs._cat_file

    async def denied(path, *args, **kwargs):
        if path.endswith("/1"):
            raise PermissionError(13, "Access Denied")
        return await original(path, *args, **kwargs)

    # the file system is shared by every S3 test: monkeypatch puts the original back
    monkeypatch.setattr(store.fs, "_cat_file", denied)
    with pytest.raises(PermissionError, match="key '1'") as info:
        arr[:]
    assert s3_store_factory.last_url in str(info.value)
    assert "Access Denied" in str(info.value)
    np.testing.assert_array_equal(arr[4:], [4, 5])
