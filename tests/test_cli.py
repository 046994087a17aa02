"""Tests of the ``zarr-fast`` command line (``zarr_fast.cli.main``) and its progress bar."""
import io
import os

import numpy as np
import pytest

import zarr_fast
from zarr_fast import cli
from zarr_fast._progress import Progress


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(argv, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def _items(text):
    """Parse ``key : value`` lines into a dict (the info table layout)."""
    items = {}
    for line in text.splitlines():
        if " : " in line:
            key, value = line.split(" : ", 1)
            items[key.strip()] = value.strip()
    return items


@pytest.fixture
def stored_array(tmp_path):
    """A 100x100 float32 array in 30x30 chunks with the first 50 rows written (8 of 16 chunks)."""
    path = str(tmp_path / "a.zarr")
    arr = zarr_fast.open_array(path, mode="w", shape=(100, 100), chunks=(30, 30), dtype="f4")
    arr[:50] = np.arange(50 * 100, dtype="f4").reshape(50, 100)
    return path


def test_info_array_shows_zarr_info_and_chunk_stats(stored_array):
    status, out, err = _run(["info", stored_array])
    assert status == 0, err
    items = _items(out)
    assert items["Data type"] == "float32"
    assert items["Shape"] == "(100, 100)"
    assert items["Chunk shape"] == "(30, 30)"
    assert items["Order"] == "C"
    assert items["Chunks initialized"] == "8/16"
    assert items["Chunk keys present"] == "8/16"
    # The stats must agree with the files on disk.
    sizes = sorted(
        os.path.getsize(os.path.join(stored_array, name))
        for name in os.listdir(stored_array)
        if not name.startswith(".")
    )
    assert len(sizes) == 8
    assert items["Stored chunk bytes"] == (
        f"min {sizes[0]} / median {int(np.median(sizes))} / max {sizes[-1]}"
    )
    ratio = 8 * 30 * 30 * 4 / sum(sizes)
    assert items["Compression ratio"] == f"{ratio:.2f}"


def test_info_empty_array_has_no_chunks(tmp_path):
    path = str(tmp_path / "empty.zarr")
    zarr_fast.open_array(path, mode="w", shape=(10,), chunks=(4,), dtype="i8")
    status, out, _ = _run(["info", path])
    assert status == 0
    items = _items(out)
    assert items["Chunk keys present"] == "0/3"
    assert items["Stored chunk bytes"] == "no chunks stored"


def test_info_nested_separator_counts_nested_keys(tmp_path):
    path = str(tmp_path / "nested.zarr")
    arr = zarr_fast.open_array(path, mode="w", shape=(8, 8), chunks=(4, 4), dtype="u1",
                               dimension_separator="/")
    arr[...] = 7
    status, out, _ = _run(["info", path])
    assert status == 0
    assert _items(out)["Chunk keys present"] == "4/4"


def test_info_missing_path_exits_1_without_traceback(tmp_path):
    missing = str(tmp_path / "does-not-exist")
    status, out, err = _run(["info", missing])
    assert status == 1
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("zarr-fast info: error:")
    assert missing in err


def test_info_plain_directory_is_an_error(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("not zarr")
    status, _, err = _run(["info", str(plain)])
    assert status == 1
    assert "error" in err and "Traceback" not in err


def test_bench_tiny_prints_every_row(tmp_path):
    status, out, err = _run(["bench", "--shape", "256", "--chunks", "64", "--repeat", "1",
                             "--dir", str(tmp_path)])
    assert status == 0, err
    for row in ("write whole", "read whole", "read window [12:244, 17:239]",
                "random single-element reads x2000", "oindex 256x256 sorted ints",
                "vindex 1,000,000 random points"):
        assert row in out
    assert "µs/read" in out
    assert "shape (256, 256), chunks (64, 64), float32, blosc-lz4" in out
    assert "bench: 6/6" in err  # progress summary on stderr, not stdout
    # The caller's directory is kept (only a temporary one is removed).
    assert tmp_path.exists()


def test_bench_uncompressed_int_dtype(tmp_path):
    status, out, _ = _run(["bench", "--shape", "64,96", "--chunks", "32", "--repeat", "1",
                           "--dtype", "int16", "--compressor", "none", "--dir", str(tmp_path)])
    assert status == 0
    assert "shape (64, 96), chunks (32, 32), int16, none" in out


def test_bench_compare_adds_ratio_column(tmp_path):
    pytest.importorskip("zarr")
    status, out, _ = _run(["bench", "--shape", "128", "--chunks", "64", "--repeat", "1",
                           "--compare", "--dir", str(tmp_path)])
    assert status == 0
    header = out.splitlines()[3]
    assert "zarr_fast time" in header and "ratio zarr/zarr_fast" in header
    rows = out.splitlines()[5:]
    assert len(rows) == 6
    assert all(row.endswith("x") for row in rows)


def test_bench_rejects_bad_arguments():
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["bench", "--shape", "1,2,3"], out=io.StringIO(), err=io.StringIO())
    assert excinfo.value.code == 2
    status, _, err = _run(["bench", "--dtype", "notadtype"])
    assert status == 1 and "--dtype" in err
    status, _, err = _run(["bench", "--repeat", "0"])
    assert status == 1 and "--repeat" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out.startswith("zarr-fast ")


def test_make_data_is_seeded_and_compressible():
    first = cli.make_data((64, 80), "float32", seed=3)
    again = cli.make_data((64, 80), "float32", seed=3)
    other = cli.make_data((64, 80), "float32", seed=4)
    assert first.dtype == np.float32 and first.shape == (64, 80)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # Quantised to 1/1024 steps: the low mantissa bits repeat, which shuffle+lz4 exploits.
    np.testing.assert_array_equal(first * 1024, np.round(first * 1024))
    assert cli.make_data((4, 4), "uint8").dtype == np.uint8


def test_make_compressor_choices():
    assert cli.make_compressor("none") is None
    blosc = cli.make_compressor("blosc-lz4")
    assert blosc.get_config()["cname"] == "lz4"
    assert blosc.get_config()["clevel"] == 5
    assert cli.make_compressor("zstd").get_config()["id"] == "zstd"
    with pytest.raises(ValueError, match="compressor must be one of"):
        cli.make_compressor("lzma")


def test_progress_non_interactive_prints_one_summary_line():
    buf = io.StringIO()
    with Progress(4, "work", stream=buf) as bar:
        for _ in range(6):  # over-advancing clamps
            bar.advance(status="x")
    assert buf.getvalue().startswith("work: 4/4 steps in ")
    assert buf.getvalue().count("\n") == 1


def _cli(argv):
    import io

    from zarr_fast.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_tree_prints_the_hierarchy_as_group_tree_does(tmp_path):
    import zarr_fast

    root = zarr_fast.open_group(str(tmp_path / "h"), mode="w")
    root.create_group("a").zeros("x", shape=(4, 5), chunks=(2, 2))
    root.create_group("b")
    code, out, _ = _cli(["tree", str(tmp_path / "h")])
    assert code == 0
    assert out.strip() == str(root.tree()).strip()
    code, out, _ = _cli(["tree", "--ascii", str(tmp_path / "h")])
    assert code == 0 and out.strip() == bytes(root.tree()).decode("ascii").strip()
    code, _, err = _cli(["tree", str(tmp_path / "missing")])
    assert code == 1 and "missing" in err


def test_copy_rechunks_recompresses_and_is_safe_to_rerun(tmp_path):
    import numpy as np

    import zarr_fast

    src = zarr_fast.open_group(str(tmp_path / "src"), mode="w")
    values = np.arange(60 * 50, dtype="i4").reshape(60, 50)
    src.array("g/v", values, chunks=(7, 9))
    src.array("w", np.arange(10.0), chunks=3)
    code, out, _ = _cli(["copy", str(tmp_path / "src"), str(tmp_path / "dst"), "--chunks", "16",
                         "--compressor", "zstd"])
    assert code == 0 and "copied" in out
    dst = zarr_fast.open_group(str(tmp_path / "dst"), mode="r")
    np.testing.assert_array_equal(dst["g/v"][...], values)
    assert dst["g/v"].chunks == (16, 16) and dst["w"].chunks == (16,)
    assert dst["g/v"].compressor.codec_id == "zstd"
    code, out, _ = _cli(["copy", str(tmp_path / "src"), str(tmp_path / "dst")])
    assert code == 0 and "skipped" in out
    np.testing.assert_array_equal(zarr_fast.open_group(str(tmp_path / "dst"), mode="r")["g/v"][...], values)


def test_copy_of_one_array(tmp_path):
    import numpy as np

    import zarr_fast

    zarr_fast.array(np.arange(20), chunks=5, store=zarr_fast.DirectoryStore(str(tmp_path / "a")))
    code, _, _ = _cli(["copy", str(tmp_path / "a"), str(tmp_path / "d"), "--name", "arr"])
    assert code == 0
    np.testing.assert_array_equal(zarr_fast.open(str(tmp_path / "d"), mode="r")["arr"][...], np.arange(20))


# ---------------------------------------------------------------------------------------------
# copy: progress bar, summary line, store URLs


class _Terminal(io.StringIO):
    """A captured stream that says it is a terminal, as stderr is in an interactive shell."""

    def isatty(self):
        return True


def _hierarchy(root):
    src = zarr_fast.open_group(str(root), mode="w")
    values = np.arange(64 * 40, dtype="i4").reshape(64, 40)
    src.array("g/v", values, chunks=(16, 10))  # 16 chunks, 10240 bytes
    src.array("w", np.arange(12.0), chunks=5)  # 3 chunks, 96 bytes
    return values


def test_copy_forced_progress_draws_bytes_and_chunk_rates(tmp_path):
    values = _hierarchy(tmp_path / "src")
    code, out, err = _run(["copy", "--progress", str(tmp_path / "src"), str(tmp_path / "dst")])
    assert code == 0, err
    np.testing.assert_array_equal(zarr_fast.open(str(tmp_path / "dst"), mode="r")["g/v"][...], values)
    draws = [line for line in err.split("\r") if line.strip()]
    assert draws, err
    for line in draws:
        assert line.startswith("copy [") and "chunks/s" in line and "ETA " in line
    final = draws[-1].rstrip("\n").rstrip()
    # every byte of both arrays, out of the total, and the bar full
    assert "10.1K/10.1K" in final and "100%" in final and "#" * 24 in final
    assert err.endswith("\n")
    assert "copied 3 items (10.1K, 19 chunks), skipped 0" in out and "chunks/s" in out


def test_copy_progress_follows_a_terminal_and_no_progress_wins(tmp_path):
    _hierarchy(tmp_path / "src")
    out, err = io.StringIO(), _Terminal()
    assert cli.main(["copy", str(tmp_path / "src"), str(tmp_path / "d1")], out=out, err=err) == 0
    assert "\r" in err.getvalue() and "chunks/s" in err.getvalue()
    out, err = io.StringIO(), _Terminal()
    assert cli.main(["copy", "--no-progress", str(tmp_path / "src"), str(tmp_path / "d2")],
                    out=out, err=err) == 0
    assert err.getvalue() == ""
    assert out.getvalue().count("\n") == 1 and out.getvalue().startswith("copied 3 items")


def test_copy_without_terminal_prints_one_summary_line(tmp_path):
    _hierarchy(tmp_path / "src")
    code, out, err = _run(["copy", str(tmp_path / "src"), str(tmp_path / "dst")])
    assert code == 0 and err == ""
    assert out.count("\n") == 1
    assert out.startswith("copied 3 items (10.1K, 19 chunks), skipped 0, in ")
    # the re-run skips both arrays: no bytes, no chunks
    code, out, err = _run(["copy", str(tmp_path / "src"), str(tmp_path / "dst")])
    assert code == 0 and out.startswith("copied 1 items (0, 0 chunks), skipped 2")


def test_copy_rechunked_counts_destination_chunks(tmp_path):
    _hierarchy(tmp_path / "src")
    code, out, err = _run(["copy", "--chunks", "32", str(tmp_path / "src"), str(tmp_path / "dst")])
    assert code == 0, err
    # g/v: 2x2 chunks of 32x32; w: one chunk of 32
    assert "(10.1K, 5 chunks)" in out


def test_copy_verbose_logs_nodes_above_the_bar(tmp_path):
    _hierarchy(tmp_path / "src")
    code, _, err = _run(["copy", "-v", str(tmp_path / "src"), str(tmp_path / "dst")])
    assert code == 0
    assert "copy /g/v (64, 40) int32\n" in err and "copy /w (12,) float64\n" in err
    assert "all done: 3 copied, 0 skipped, 10,336 bytes copied" in err
    out, err = io.StringIO(), _Terminal()
    assert cli.main(["copy", "-v", "--if-exists", "replace", str(tmp_path / "src"), str(tmp_path / "dst")],
                    out=out, err=err) == 0
    # a log line first clears the bar, then the bar is drawn again below it
    assert "copy /w (12,) float64\n" in err.getvalue() and "\r" in err.getvalue()


def test_transfer_progress_live_lines():
    from zarr_fast._progress import TransferProgress

    buf = _Terminal()
    with TransferProgress(4096, stream=buf, min_interval=0) as bar:
        bar.begin("/a")
        bar.advance(1024, 1)
        bar.skip(1024)  # the total shrinks to 3072
        bar.advance(2048, 3)
    draws = [line for line in buf.getvalue().split("\r") if line.strip()]
    assert "  0%  0/4.0K" in draws[0] and draws[0].rstrip().endswith("/a")
    assert " 25%  1.0K/4.0K" in draws[1] and "chunks/s" in draws[1]
    assert " 33%  1.0K/3.0K" in draws[2]
    assert "100%  3.0K/3.0K" in draws[-1] and "ETA 0:00" in draws[-1]
    assert bar.nchunks == 4 and bar.nbytes == 3072
    quiet = io.StringIO()
    with TransferProgress(10, stream=quiet) as bar:
        bar.advance(10, 2)
    assert quiet.getvalue().startswith("copy: 10 in 2 chunks, ") and quiet.getvalue().count("\n") == 1


def test_copy_observer_sees_every_byte_and_chunk():
    from zarr_fast.convenience import _observe_copy

    class Recorder:
        def __init__(self):
            self.events = []

        def begin(self, name):
            self.events.append(("begin", name))

        def advance(self, nbytes, nchunks):
            self.events.append(("advance", nbytes, nchunks))

        def skip(self, nbytes):
            self.events.append(("skip", nbytes))

    src = zarr_fast.group()
    src.array("a", np.arange(50, dtype="u2").reshape(5, 10), chunks=(2, 3))  # 3x4 chunks
    src.array("s", np.array(7.0))
    # raw chunk copy (same layout), then through blocks (new chunks, new compressor)
    for create_kws, nchunks in (({}, 12), ({"chunks": (5, 5)}, 2), ({"compressor": None}, 12)):
        recorder = Recorder()
        with _observe_copy(recorder):
            zarr_fast.copy(src["a"], zarr_fast.group(), **create_kws)
            if "chunks" not in create_kws:  # a 0-d array takes no 2-d chunks
                zarr_fast.copy(src["s"], zarr_fast.group(), **create_kws)
        advances = [e for e in recorder.events if e[0] == "advance"]
        assert ("begin", "/a") in recorder.events
        if "chunks" in create_kws:
            assert sum(e[1] for e in advances) == 100 and sum(e[2] for e in advances) == nchunks
        else:
            assert ("begin", "/s") in recorder.events
            assert sum(e[1] for e in advances) == 100 + 8
            assert sum(e[2] for e in advances) == nchunks + 1
    recorder = Recorder()
    dest = zarr_fast.group()
    zarr_fast.copy_all(src, dest)
    with _observe_copy(recorder):
        zarr_fast.copy_all(src, dest, if_exists="skip")
        zarr_fast.copy(src["a"], zarr_fast.group(), dry_run=True)
    assert recorder.events == [("skip", 100), ("skip", 8), ("skip", 100)]


def test_copy_and_tree_storage_options_checks(tmp_path):
    _hierarchy(tmp_path / "src")
    code, _, err = _run(["tree", "--storage-options", '{"anon": true}', str(tmp_path / "src")])
    assert code == 1 and "storage options apply to URLs only" in err
    code, _, err = _run(["info", "--storage-options", '{"anon": true}', str(tmp_path / "src")])
    assert code == 1 and "storage options apply to URLs only" in err
    # the shared option is not applied to local sides of a copy
    code, out, err = _run(["copy", "--storage-options", '{"anon": true}', str(tmp_path / "src"),
                           str(tmp_path / "dst")])
    assert code == 0, err
    code, _, err = _run(["copy", "--dst-storage-options", '{"anon": true}', str(tmp_path / "src"),
                         str(tmp_path / "dst2")])
    assert code == 1 and "storage options apply to URLs only" in err
    for bad in ("[1, 2]", "{not json"):
        with pytest.raises(SystemExit) as info:
            cli.main(["tree", "--storage-options", bad, "x"], out=io.StringIO(), err=io.StringIO())
        assert info.value.code == 2


def test_copy_reports_a_missing_source(tmp_path):
    code, out, err = _run(["copy", str(tmp_path / "nothing"), str(tmp_path / "dst")])
    assert code == 1 and out == ""
    assert err.startswith("zarr-fast copy: error: ") and "Traceback" not in err


def test_info_tree_copy_through_store_urls(tmp_path):
    pytest.importorskip("zarr_fast.storage.fsstore")
    pytest.importorskip("fsspec")
    from zarr_fast.storage import normalize_store_arg

    try:
        normalize_store_arg("memory://h6-probe")
    except NotImplementedError:
        pytest.skip("normalize_store_arg does not route URLs to FSStore yet")
    values = _hierarchy(tmp_path / "src")
    src_url = "file://" + str(tmp_path / "src")
    code, out, err = _run(["tree", src_url])
    assert code == 0, err
    assert out.strip() == str(zarr_fast.open_group(str(tmp_path / "src"), mode="r").tree())
    code, out, err = _run(["info", src_url + "/g/v"])
    assert code == 0, err
    assert _items(out)["Chunk keys present"] == "16/16"
    # file:// to memory:// and back to a plain directory
    code, out, err = _run(["copy", src_url, "memory://h6-cli-copy"])
    assert code == 0, err
    assert out.startswith("copied 3 items (10.1K, 19 chunks)")
    code, out, err = _run(["copy", "memory://h6-cli-copy", str(tmp_path / "back")])
    assert code == 0, err
    np.testing.assert_array_equal(zarr_fast.open(str(tmp_path / "back"), mode="r")["g/v"][...], values)
    code, out, err = _run(["tree", "--storage-options", '{"auto_mkdir": true}', src_url])
    assert code == 0, err


def test_copy_into_and_out_of_a_zip_file(tmp_path):
    pytest.importorskip("zarr_fast.storage.zip")
    from zarr_fast.storage.zip import ZipStore

    values = _hierarchy(tmp_path / "src")
    target = str(tmp_path / "h.zip")
    code, out, err = _run(["copy", str(tmp_path / "src"), target])
    assert code == 0, err
    assert out.startswith("copied 3 items (10.1K, 19 chunks)")
    # the zip is complete (closed by the command) and readable by tree, info and copy
    with ZipStore(target, mode="r") as store:
        np.testing.assert_array_equal(zarr_fast.open(store, mode="r")["g/v"][...], values)
    code, out, err = _run(["tree", target])
    assert code == 0, err
    assert out.strip() == str(zarr_fast.open_group(str(tmp_path / "src"), mode="r").tree())
    code, out, err = _run(["copy", target, str(tmp_path / "back")])
    assert code == 0, err
    np.testing.assert_array_equal(zarr_fast.open(str(tmp_path / "back"), mode="r")["w"][...], np.arange(12.0))
