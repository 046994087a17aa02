"""ZipStore: modes, the journal-and-commit scheme (no duplicate members), corruption, interop.

The generic mapping/hierarchy behaviour is covered by ``test_store_contract.py``; here are
the zip-specific promises, checked against ``zipfile`` itself and against zarr 2.18.7.
"""
import gc
import os
import pickle
import stat
import subprocess
import sys
import threading
import warnings
import zipfile

import numpy as np
import pytest

import zarr_fast
from zarr_fast.errors import ReadOnlyError
from zarr_fast.storage.zip import ZipStore


def _members(path):
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return zf.namelist(), {name: zf.read(name) for name in zf.namelist()}


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "store.zip")


# -- modes ------------------------------------------------------------------------------


def test_mode_w_truncates_and_x_refuses_existing(path):
    with ZipStore(path, mode="w") as store:
        store["a"] = b"1"
    with pytest.raises(FileExistsError):
        ZipStore(path, mode="x")
    with ZipStore(path, mode="w") as store:
        assert list(store) == []
    assert _members(path)[0] == []


def test_mode_r_refuses_writes_deletes_and_clear(path):
    with ZipStore(path, mode="w") as store:
        store["a"] = b"1"
    store = ZipStore(path, mode="r")
    for action in (lambda: store.__setitem__("b", b"2"), lambda: store.__delitem__("a"),
                   store.clear, lambda: store.rmdir("")):
        with pytest.raises(ReadOnlyError, match="read-only"):
            action()
    assert not store.is_writeable() and not store.is_erasable()
    assert store["a"] == b"1"
    store.flush()  # a no-op
    store.close()


def test_mode_r_missing_file_and_bad_mode(path):
    with pytest.raises(FileNotFoundError):
        ZipStore(path, mode="r")
    with pytest.raises(ValueError, match="mode"):
        ZipStore(path, mode="q")


def test_zarr_mode_names(path):
    with pytest.raises(FileNotFoundError):
        ZipStore(path, mode="r+")
    with ZipStore(path, mode="w-") as store:
        assert store.mode == "x"
        store["a"] = b"1"
    with pytest.raises(FileExistsError):
        ZipStore(path, mode="w-")
    with ZipStore(path, mode="r+") as store:
        assert store.mode == "a" and store["a"] == b"1"
        store["a"] = b"2"
    assert _members(path)[1] == {"a": b"2"}


def test_mode_a_creates_then_extends(path):
    with ZipStore(path) as store:
        store["a"] = b"1"
    with ZipStore(path, mode="a") as store:
        assert store["a"] == b"1"
        store["b"] = b"2"
    assert _members(path) == (["a", "b"], {"a": b"1", "b": b"2"})


# -- no duplicate members -----------------------------------------------------------------


def test_overwrite_and_delete_leave_each_key_once(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zarr 2.18 warns "Duplicate name" here
        with ZipStore(path, mode="w") as store:
            store["a"] = b"first"
            store["b"] = b"keep"
            store["a"] = b"second"
            store["c"] = b"gone"
            del store["c"]
            assert store["a"] == b"second"
            assert sorted(store) == ["a", "b"]
            store.flush()
            assert _members(path) == (["a", "b"], {"a": b"second", "b": b"keep"})
            # overwrite a committed member, delete another, commit again
            store["a"] = b"third"
            del store["b"]
            assert "b" not in store
            with pytest.raises(KeyError):
                store["b"]
            with pytest.raises(KeyError):
                del store["b"]
    names, values = _members(path)
    assert names == ["a"] and values == {"a": b"third"}


def test_append_only_commits_keep_order_and_no_duplicates(path, monkeypatch):
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda *a: (replaced.append(a), real_replace(*a)))
    store = ZipStore(path, mode="w")
    store["x/0"] = b"0" * 1000
    store.flush()
    assert len(replaced) == 1  # new data larger than the archive: atomic replacement
    store["x/1"] = b"1"
    store.flush()
    store["x/2"] = b"2"
    store.close()
    assert len(replaced) == 1  # a little added to a bigger archive: appended in place
    assert _members(path)[0] == ["x/0", "x/1", "x/2"]


def test_clear_rmdir_rename_commit_cleanly(path):
    with ZipStore(path, mode="w") as store:
        store.setitems({"g/a": b"1", "g/b/c": b"2", "h": b"3"})
        store.flush()
        store.rename("g", "k")
        assert sorted(store) == ["h", "k/a", "k/b/c"]
        store.rmdir("k/b")
    assert _members(path) == (["h", "k/a"], {"h": b"3", "k/a": b"1"})
    with ZipStore(path, mode="a") as store:
        store.clear()
        assert list(store) == []
    assert _members(path)[0] == []


def test_failed_rewrite_leaves_archive_and_no_temporary_file(path, monkeypatch, tmp_path):
    with ZipStore(path, mode="w") as store:
        store["a"] = b"old"
    before = open(path, "rb").read()
    store = ZipStore(path, mode="a")
    store["a"] = b"new"

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.flush()
    monkeypatch.undo()
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["store.zip"]
    assert store["a"] == b"new"  # the write is still pending, and commits next time
    store.close()
    assert _members(path)[1] == {"a": b"new"}
    assert os.listdir(tmp_path) == ["store.zip"]


def test_rewrite_keeps_file_permissions(path):
    with ZipStore(path, mode="w") as store:
        store["a"] = b"1"
    os.chmod(path, 0o640)
    with ZipStore(path) as store:
        store["a"] = b"2"  # forces a rewrite through a temporary file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_member_permissions_and_compression(path):
    with ZipStore(path, mode="w", compression=zipfile.ZIP_DEFLATED) as store:
        store["foo"] = b"x" * 1000
        store["baz/"] = b""
        store["foo"] = b"y" * 1000
    with zipfile.ZipFile(path) as zf:
        assert oct(zf.getinfo("foo").external_attr >> 16) == "0o644"
        assert oct(zf.getinfo("baz/").external_attr >> 16) == "0o40775"
        assert zf.getinfo("foo").compress_type == zipfile.ZIP_DEFLATED
        assert zf.read("foo") == b"y" * 1000


def test_archive_with_duplicates_from_zarr2(path, zarr2):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = zarr2.storage.ZipStore(path, mode="w")
        theirs["a"] = b"one"
        theirs["a"] = b"two"
        theirs["b"] = b"bee"
        theirs.close()
    before = open(path, "rb").read()
    with ZipStore(path, mode="a") as store:
        assert store["a"] == b"two"  # the member zip readers resolve the name to
        assert sorted(store) == ["a", "b"]
    assert open(path, "rb").read() == before  # nothing written: file untouched
    with ZipStore(path, mode="a") as store:
        store["c"] = b"sea"
    assert _members(path) == (["a", "b", "c"], {"a": b"two", "b": b"bee", "c": b"sea"})


# -- corruption: clear errors, never KeyError ---------------------------------------------


def test_not_a_zip_file_names_the_path(path):
    with open(path, "wb") as f:
        f.write(b"this is not a zip archive")
    for mode in ("r", "a"):
        with pytest.raises(zipfile.BadZipFile, match="store.zip"):
            ZipStore(path, mode=mode)


def test_truncated_zip_file(path):
    with ZipStore(path, mode="w") as store:
        store["a"] = b"x" * 100
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(zipfile.BadZipFile, match="store.zip"):
        ZipStore(path, mode="r")


def test_corrupt_member_raises_not_keyerror(path):
    payload = b"abcdefghij" * 10
    with ZipStore(path, mode="w") as store:
        store["k"] = payload
        store["ok"] = b"fine"
    data = bytearray(open(path, "rb").read())
    at = data.index(payload)
    data[at + 5] ^= 0xFF  # flip a byte of the stored value: the CRC no longer matches
    with open(path, "wb") as f:
        f.write(bytes(data))
    store = ZipStore(path, mode="r")
    assert "k" in store
    with pytest.raises(zipfile.BadZipFile, match=r"'k'.*store\.zip") as info:
        store["k"]
    assert not isinstance(info.value, KeyError)
    with pytest.raises(zipfile.BadZipFile):
        store.getitems(["ok", "k"])
    assert store.getitems(["ok", "missing"]) == {"ok": b"fine"}
    store.close()
    # a rewrite refuses to copy the damaged member rather than dropping it silently
    store = ZipStore(path, mode="a")
    store["ok"] = b"new"
    with pytest.raises(zipfile.BadZipFile, match="'k'"):
        store.flush()
    store.clear()  # dropping the damaged member is an explicit choice
    store.close()
    assert _members(path)[0] == []


# -- lifecycle ----------------------------------------------------------------------------


def test_pickle_reopens_in_append_mode(path):
    store = ZipStore(path, mode="w", dimension_separator="/")
    store["a"] = b"1"
    clone = pickle.loads(pickle.dumps(store))  # pickling commits first
    assert clone.mode == "a" and clone["a"] == b"1"  # as zarr 2.18: never truncate again
    assert clone._dimension_separator == "/"
    assert clone == store and store == clone
    clone.close()
    store.close()
    assert _members(path)[1] == {"a": b"1"}


def test_equality(path, tmp_path):
    a = ZipStore(path, mode="w")
    assert a == ZipStore(path, mode="r")
    assert a != ZipStore(path, mode="r", compression=zipfile.ZIP_DEFLATED)
    assert a != ZipStore(str(tmp_path / "other.zip"), mode="w")
    assert a != {}


def test_use_after_close_reopens_without_truncating(path):
    with ZipStore(path, mode="w") as store:
        store["a"] = b"1"
    assert store["a"] == b"1"
    store["b"] = b"2"
    store.close()
    store.close()  # twice is fine
    assert _members(path)[1] == {"a": b"1", "b": b"2"}


def test_getsize_is_stored_size(path, zarr2):
    with ZipStore(path, mode="w", compression=zipfile.ZIP_DEFLATED) as store:
        store.setitems({"a": b"a" * 500, "d/b": b"b" * 300, "d/c": b"xyz"})
        sizes = {p: store.getsize(p) for p in ("", "a", "d", "d/b", "missing")}
        listings = {p: store.listdir(p) for p in ("", "d", "a", "missing")}
    theirs = zarr2.storage.ZipStore(path, mode="r")
    assert sizes == {p: theirs.getsize(p) for p in ("", "a", "d", "d/b", "missing")}
    assert listings == {p: theirs.listdir(p) for p in ("", "d", "a", "missing")}
    assert list(ZipStore(path, mode="r").keys()) == list(theirs.keys()) == ["a", "d/b", "d/c"]
    assert sizes["a"] < 500  # compressed size, as zarr 2.18 reports
    theirs.close()


def test_threads_write_and_overwrite(path):
    store = ZipStore(path, mode="w")

    def work(t):
        for i in range(30):
            store[f"t{t}/{i}"] = bytes([t, i])
            store[f"t{t}/{i % 5}"] = bytes([t, i, 0])

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    names, values = _members(path)
    assert len(names) == len(set(names)) == 6 * 30
    assert values["t3/2"] == bytes([3, 27, 0]) and values["t3/7"] == bytes([3, 7])


def test_unclosed_store_commits_when_collected(path):
    store = ZipStore(path, mode="w")
    store["a"] = b"1"
    store["a"] = b"2"
    del store
    gc.collect()
    assert _members(path)[1] == {"a": b"2"}


def test_unclosed_store_commits_at_exit(path):
    code = (
        "import builtins\n"
        "from zarr_fast.storage.zip import ZipStore\n"
        f"builtins.kept = ZipStore({path!r}, mode='w')\n"  # alive until the interpreter ends
        "builtins.kept['k'] = b'v'\n"
    )
    # run beside the zarr_fast under test: `python -c` puts the working directory first on
    # sys.path, and a checkout's uncompiled source tree must not shadow the installed package
    beside_package = os.path.dirname(os.path.dirname(zarr_fast.__file__))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=beside_package)
    assert _members(path)[1] == {"k": b"v"}


def test_no_journal_left_behind(path, tmp_path):
    with ZipStore(path, mode="w") as store:
        store["a"] = b"1"
        store["a"] = b"2"
        assert len(os.listdir(tmp_path)) == 1  # the journal is an anonymous file
    assert os.listdir(tmp_path) == ["store.zip"]


# -- interop with zarr 2.18.7 -------------------------------------------------------------


def test_array_written_here_read_by_zarr2(path, zarr2):
    data = np.arange(300, dtype="<i4").reshape(15, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ZipStore(path, mode="w") as store:
            z = zarr_fast.zeros((15, 20), chunks=(4, 6), dtype="<i4", store=store)
            z[5:15] = data[5:15]
            z[:7] = data[:7]  # overlaps chunks written above: rewrites, no duplicates
    names, _ = _members(path)
    assert len(names) == len(set(names))
    theirs = zarr2.storage.ZipStore(path, mode="r")
    np.testing.assert_array_equal(zarr2.open_array(theirs, mode="r")[:], data)
    theirs.close()


def test_group_written_by_zarr2_read_here(path, zarr2):
    data = np.linspace(0, 1, 50).reshape(5, 10)
    with zarr2.storage.ZipStore(path, mode="w") as theirs:
        root = zarr2.group(store=theirs)
        arr = root.create_group("foo").zeros("bar", shape=(5, 10), chunks=(2, 3), dtype="f8")
        arr[...] = data
        arr.attrs["units"] = "m"
    with ZipStore(path, mode="r") as store:
        root = zarr_fast.open_group(store, mode="r")
        np.testing.assert_array_equal(root["foo/bar"][:], data)
        assert root["foo/bar"].attrs["units"] == "m"
        assert zarr_fast.open_array(store, path="foo/bar", mode="r")[1, 2] == data[1, 2]


def test_zarr2_appends_to_an_archive_written_here(path, zarr2):
    with ZipStore(path, mode="w") as store:
        zarr_fast.full((4,), 7, chunks=(2,), dtype="i2", store=store, path="a")
    with zarr2.storage.ZipStore(path, mode="a") as theirs:
        zarr2.full((3,), 9, chunks=(2,), dtype="i2", store=theirs, path="b")
    with ZipStore(path, mode="r") as store:
        assert zarr_fast.open_array(store, path="a", mode="r")[:].tolist() == [7] * 4
        assert zarr_fast.open_array(store, path="b", mode="r")[:].tolist() == [9] * 3
