"""How zarr_fast's whole-array reads scale with its thread budget: W2 and W7r at 1, 2, 4, 8, 16 threads.

W2 reads a float32 N x N array (default 16384, ~1 GiB) in 1024x1024 chunks; W7r reads the same
data in 64x64 chunks (both Blosc LZ4 clevel 5 byte shuffle, chunk sides scaled by N / 16384 with
``--scale``, as in ``side_by_side.py``). Budgets above the CPU count are skipped: on a machine
with fewer cores they measure oversubscription, not scaling. The budget is set with
``zarr_fast.config.threads(n)`` around each call.

Same rules as ``side_by_side.py``: the stores are written by zarr 2.18.7 (by zarr_fast when
zarr is missing), one unrecorded warm-up per budget, budgets interleaved within each repeat,
medians of ``--repeat``, and every result compared with the data. The table gives the median
time, GB/s and the speedup over a budget of 1. Refuses to run without zarr_fast.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmarks import common  # noqa: E402
from side_by_side import (FULL_SIDE, available, cpu_count, format_seconds, format_table, scaled_chunks,  # noqa: E402
                          source_commit, timed, write_store)

BUDGETS = (1, 2, 4, 8, 16)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=FULL_SIDE, help=f"side N of the N x N array (default {FULL_SIDE})")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per budget after the warm-up (default 5)")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)), help="comma-separated thread budgets")
    parser.add_argument("--dir", default=None, help="parent of the scratch directory (removed afterwards)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the samples as JSON")
    args = parser.parse_args(argv)

    if "zarr_fast" not in available(["zarr_fast"]):
        return 1
    import zarr_fast.config

    cpus = cpu_count()
    asked = [int(part) for part in args.budgets.split(",") if part.strip()]
    budgets = [n for n in asked if n <= cpus]
    skipped = [n for n in asked if n > cpus]
    writer = "zarr" if available(["zarr"]) else "zarr_fast"
    side = args.scale
    chunk_side, small_side = scaled_chunks(side)
    root = tempfile.mkdtemp(prefix="zarr-fast-threads-", dir=args.dir)
    results = {}
    try:
        print(f"preparing ({side}, {side}) float32 data and stores in {root} ...", file=sys.stderr)
        data = common.make_data((side, side))
        cases = []
        for wid, chunk in (("W2", chunk_side), ("W7r", small_side)):
            path = write_store(writer, os.path.join(root, f"{wid}.zarr"), data, (chunk, chunk), "blosc-lz4")
            cases.append((wid, f"read whole, {chunk}x{chunk} chunks", zarr_fast.open_array(path, mode="r")))
        for wid, label, arr in cases:
            def read(n, arr=arr):
                with zarr_fast.config.threads(n):
                    return arr[...]

            samples = {n: [] for n in budgets}
            for n in budgets:  # warm-up, and the correctness check
                _, result = timed(lambda: read(n))
                if not np.array_equal(result, data):
                    raise SystemExit(f"zarr_fast returned wrong values in {wid} with {n} threads")
                del result
            for _ in range(args.repeat):
                for n in budgets:
                    seconds, result = timed(lambda: read(n))
                    del result
                    samples[n].append(seconds)
            results[wid] = {"label": label, "samples_s": samples,
                            "median_s": {n: statistics.median(samples[n]) for n in budgets}}
            print(f"  {wid} done", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    commit, dirty = source_commit()
    print(f"zarr_fast thread scaling: ({side}, {side}) float32, blosc lz4 clevel 5 byte shuffle, {cpus} CPUs, "
          f"commit {commit}{' (dirty tree)' if dirty else ''}; median of {args.repeat} after one warm-up")
    if skipped:
        print(f"budgets above the CPU count skipped: {', '.join(map(str, skipped))}")
    header = ["threads"]
    for wid, entry in results.items():
        header += [f"{wid} {entry['label']}", "GB/s", "speedup"]
    rows = [header]
    for n in budgets:
        row = [str(n)]
        for entry in results.values():
            seconds = entry["median_s"][n]
            row += [format_seconds(seconds), f"{data.nbytes / seconds / 1e9:.3g}",
                    f"{entry['median_s'][budgets[0]] / seconds:.2f}x"]
        rows.append(row)
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shape": [side, side], "cpus": cpus, "commit": commit, "dirty": dirty,
                       "budgets": budgets, "skipped_budgets": skipped,
                       "results": {wid: {**entry, "samples_s": {str(k): v for k, v in entry["samples_s"].items()},
                                         "median_s": {str(k): v for k, v in entry["median_s"].items()}}
                                   for wid, entry in results.items()}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
