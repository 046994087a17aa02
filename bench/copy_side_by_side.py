"""`copy` of one array between two directory stores: zarr_fast against zarr-python 2.18.7.

The source (float32 N x N, 1024-scaled chunks, blosc lz4 clevel 5 byte shuffle) is written
once by zarr 2.18.7; each repeat copies it into a fresh destination group with each library's
``copy`` (zarr_fast's ``zarr-fast copy`` runs the same function), implementations interleaved,
and checks the copy. Two cases: the same layout (a plain copy) and a rechunk to 512-scaled
chunks with zstd (what ``zarr-fast copy --chunks --compressor`` does).

Run: ``python bench/copy_side_by_side.py [--scale 16384] [--repeat 3] [--dir /tmp]``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmarks.common import make_data  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=16384)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args(argv)

    import numcodecs
    import zarr

    import zarr_fast

    n = args.scale
    chunk = max(1, 1024 * n // 16384)
    root = tempfile.mkdtemp(prefix="zarr-fast-copy-", dir=args.dir)
    try:
        data = make_data((n, n))
        source_path = os.path.join(root, "source")
        zarr.open_group(source_path, mode="w").array("data", data, chunks=(chunk, chunk))
        cases = {
            "same layout": {},
            "rechunk + zstd": {"chunks": (chunk // 2, chunk // 2), "compressor": numcodecs.Zstd(level=1)},
        }
        libraries = {"zarr_fast": zarr_fast, "zarr 2.18.7": zarr}
        results = {}
        for case, create_kws in cases.items():
            for rep in range(args.repeat + 1):   # the first round is a warm-up
                for name, lib in libraries.items():
                    dest_path = os.path.join(root, f"dest-{rep}-{name.split()[0]}")
                    source = lib.open_group(source_path, mode="r")["data"]
                    dest = lib.open_group(dest_path, mode="w")
                    start = time.perf_counter()
                    lib.copy(source, dest, name="data", **create_kws)
                    seconds = time.perf_counter() - start
                    copied = zarr.open_group(dest_path, mode="r")["data"]
                    if rep == 0 and not np.array_equal(copied[...], data):
                        raise AssertionError(f"{name} copied wrong values ({case})")
                    if rep > 0:
                        results.setdefault((case, name), []).append(seconds)
                    shutil.rmtree(dest_path)
        nbytes = n * n * 4
        print(f"copy of a {n}x{n} float32 array ({nbytes / 2**30:.2f} GiB), chunks {chunk}x{chunk}, "
              f"blosc lz4; median of {args.repeat} after a warm-up; {len(os.sched_getaffinity(0))} CPUs")
        print(f"{'case':16s} {'zarr_fast':>10s} {'zarr 2.18.7':>12s} {'ratio':>7s}")
        for case in cases:
            ours = statistics.median(results[(case, "zarr_fast")])
            theirs = statistics.median(results[(case, "zarr 2.18.7")])
            print(f"{case:16s} {ours:9.2f}s {theirs:11.2f}s {theirs / ours:6.1f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
