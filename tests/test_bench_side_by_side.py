"""bench/side_by_side.py end to end on a tiny array, and its workers' failure paths.

What it checks: the script completes with each implementation in its own worker process and
writes its JSON report; a worker that raises or dies aborts the coordinator's call with a
``WorkerError`` (carrying the traceback) instead of a hang.

What callers guarantee: zarr_fast and zarr 2.18.7 are importable (skipped otherwise). Runs take
a few seconds (256 x 256 array, one repeat, no machine limits).
"""
import json
import multiprocessing
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


@pytest.fixture(scope="module")
def side_by_side():
    pytest.importorskip("zarr_fast")
    if BENCH not in sys.path:
        sys.path.insert(0, BENCH)  # spawned workers inherit it, to unpickle side_by_side._serve
    import side_by_side

    return side_by_side


def test_script_runs_each_impl_in_its_worker(tmp_path, zarr2):
    report = tmp_path / "report.json"
    # the children see what this process imports (the checkout, when zarr_fast is not installed)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    done = subprocess.run(
        [sys.executable, os.path.join(BENCH, "side_by_side.py"), "--scale", "256", "--repeat", "1",
         "--row-budget", "5", "--only", "W1,W2", "--impls", "zarr_fast,zarr",
         "--dir", str(tmp_path), "--json", str(report)],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "each implementation in its own process" in done.stdout
    rows = json.loads(report.read_text())["workloads"]
    assert [row["id"] for row in rows] == ["W1", "W2"]
    assert all(set(row["samples_s"]) == {"zarr_fast", "zarr"} for row in rows)
    # W1 and W2 are judged against their limit timed in their own rounds
    assert [sorted(row["limit_samples_s"]) for row in rows] == [["encode", "new_files"], ["decode", "decode_fresh"]]
    assert all(len(paced) == 1 and paced[0] > 0 for row in rows for paced in row["limit_samples_s"].values())
    assert all("of limit" in row["detail"] for row in rows)


def test_worker_error_and_death_abort_the_call(side_by_side):
    worker = side_by_side.Worker(multiprocessing.get_context("spawn"), "zarr_fast", None)
    try:
        assert worker.answer("start-up")[0] == "ready"
        with pytest.raises(side_by_side.WorkerError, match="KeyError: 'W2'"):
            worker.call("run", "W2")  # nothing built yet
        worker.process.kill()
        with pytest.raises(side_by_side.WorkerError, match="died"):
            worker.call("run", "W2")
    finally:
        worker.close()
