"""Where a whole-array read's time goes: decode, copy, or the output's fresh memory.

Measures, on the W2 layout (float32 N x N, 1024-scaled chunks, blosc lz4 clevel 5 byte
shuffle) and on W8 (the same, uncompressed), medians of interleaved repeats:

* the all-core Blosc decode limit three ways: into one reused buffer per thread (the bytes
  stay in cache), into one existing buffer per chunk (``side_by_side.py``'s limit: the
  decoded gigabyte is written to memory that is already in place, as a read into ``out=``
  does), and into one new array (what a read that returns a new result must at least pay);
* zarr_fast reading the whole array into a fresh result (``z[...]``, what W2 times);
* zarr_fast reading it into a preallocated, already-touched array (``get_basic_selection(...,
  out=)``): the same decode and copies, without first-touching a new output;
* allocating and first-touching an array of the output's size (``np.empty`` + fill), which
  every implementation pays on a fresh result.

Run: ``python bench/w2_breakdown.py [--scale 16384] [--repeat 5] [--dir /tmp]``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmarks.common import make_data  # noqa: E402


def timed(fn, repeat):
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=16384)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args(argv)

    import numcodecs

    import zarr_fast

    n = args.scale
    chunk = max(1, 1024 * n // 16384)
    root = tempfile.mkdtemp(prefix="zarr-fast-w2-", dir=args.dir)
    try:
        data = make_data((n, n))
        rows = []
        for name, compressor in (("W2 blosc-lz4", "default"), ("W8 uncompressed", None)):
            path = os.path.join(root, name.split()[0])
            z = zarr_fast.open_array(path, mode="w", shape=(n, n), chunks=(chunk, chunk), dtype="f4",
                                     compressor=compressor)
            z[...] = data
            z = zarr_fast.open_array(path, mode="r")
            out = np.empty((n, n), dtype="f4")
            out.fill(0)
            fresh = timed(lambda: z[...], args.repeat)
            into = timed(lambda: z.get_basic_selection(Ellipsis, out=out), args.repeat)
            touch = timed(lambda: np.empty((n, n), dtype="f4").fill(1), args.repeat)
            rows.append((name, fresh, into, touch))
            if compressor is not None:
                frames = [z.store[k] for k in z.store.keys() if not k.startswith(".")]
                codec = numcodecs.Blosc()
                nthreads = len(os.sched_getaffinity(0))
                scratch = [np.empty(chunk * chunk, dtype="f4") for _ in range(nthreads)]

                def decode_all():
                    with ThreadPoolExecutor(nthreads) as pool:
                        list(pool.map(lambda i: codec.decode(frames[i], out=scratch[i % nthreads]),
                                      range(len(frames))))

                limit = timed(decode_all, args.repeat)
                # side_by_side.py's limit: every chunk into a buffer of its own, all touched
                # before (1 GiB of existing memory, as a read into ``out=`` writes)
                slots = np.ones((len(frames), chunk * chunk), dtype="f4")

                def decode_into(target):
                    with ThreadPoolExecutor(nthreads) as pool:
                        list(pool.map(lambda i: codec.decode(frames[i], out=target[i]), range(len(frames))))

                limit_slots = timed(lambda: decode_into(slots), args.repeat)
                limit_new = timed(lambda: decode_into(np.empty_like(slots)), args.repeat)
        nbytes = n * n * 4
        print(f"{n}x{n} float32, chunks {chunk}x{chunk}, median of {args.repeat}, "
              f"{len(os.sched_getaffinity(0))} CPUs")
        print(f"all-core Blosc decode limit: {limit * 1e3:.1f} ms ({nbytes / limit / 1e9:.2f} GB/s) into one "
              f"reused buffer per thread; {limit_slots * 1e3:.1f} ms into one existing buffer per chunk "
              f"(side_by_side.py's limit); {limit_new * 1e3:.1f} ms into one new array")
        print(f"{'workload':18s} {'fresh result':>14s} {'into out=':>12s} {'touch output':>14s} "
              f"{'fresh vs slots':>16s} {'into out= vs slots':>20s}")
        for name, fresh, into, touch in rows:
            shares = (f"{limit_slots / fresh:.0%}", f"{limit_slots / into:.0%}") if name.startswith("W2") else ("-", "-")
            print(f"{name:18s} {fresh * 1e3:11.1f} ms {into * 1e3:9.1f} ms {touch * 1e3:11.1f} ms "
                  f"{shares[0]:>16s} {shares[1]:>20s}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
