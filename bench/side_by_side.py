"""Run the issue-3 workloads W0-W8 with every installed implementation, interleaved, in one table.

Implementations: zarr_fast, zarr-python 2.18.7 and tensorstore (each skipped when missing).
Workloads, on a float32 square array (default 16384x16384, ~1 GiB; ``--scale N`` for N x N),
1024x1024 chunks, Blosc LZ4 clevel 5 with byte shuffle:

    W0 open existing array          W5 oindex, two sorted random int arrays of 2,000
    W1 write whole                  W6 vindex, 1,000,000 random points
    W2 read whole                   W7 same data in 64x64 chunks: read whole, write whole
    W3 read [500:9500, 700:9700]    W8 uncompressed, read whole
    W4 2,000 random single-element reads (time per read)

Each repeat runs every implementation back to back, so drift affects all alike; the table
shows medians and the ratio of each other implementation's time to zarr_fast's. Reads of all
implementations decode the same store. After the table come the machine's limits on the same
chunk bytes: numcodecs Blosc decode and encode of every chunk over a thread pool of all cores,
and a plain memory copy of the whole array.

Run from anywhere: ``python bench/side_by_side.py --scale 4096 --repeat 3``. Results that differ
from NumPy's on the first repeat abort the run (a fast wrong answer is not a result).
"""
import argparse
import concurrent.futures
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmarks import common  # noqa: E402


def _format_seconds(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _format_table(rows, nleft=1):
    """Columns padded to width; the first ``nleft`` are labels (left-aligned), the rest numbers."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [str(c).ljust(w) if i < nleft else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _window(shape):
    """[500:9500, 700:9700] when it fits, else the same margins scaled to the shape."""
    if min(shape) >= 10000:
        return (slice(500, 9500), slice(700, 9700))
    return tuple(slice(n * m // 10000, n - n * m // 10000) for n, m in zip(shape, (500, 700)))


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _available(names):
    impls = []
    for name in names:
        try:
            common.import_impl(name)
        except NotImplementedError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        impls.append(name)
    return impls


def build_workloads(impls, data, root, chunks):
    """Create the stores and return ``[(id, label, {impl: fn}, selected bytes, ops, expected)]``."""
    shape = data.shape
    itemsize = data.itemsize
    writer = "zarr" if "zarr" in impls else impls[0]

    def shared_store(name, store_chunks, codec):
        path = os.path.join(root, name)
        arr = common.create_array(writer, path, shape, store_chunks, codec)
        arr[...] = data
        return path

    main_path = shared_store("read-1024.zarr", chunks, "blosc-lz4")
    small_path = shared_store("read-64.zarr", (64, 64), "blosc-lz4")
    raw_path = shared_store("read-raw.zarr", chunks, "none")
    readers = {impl: common.open_existing(impl, main_path) for impl in impls}
    small_readers = {impl: common.open_existing(impl, small_path) for impl in impls}
    raw_readers = {impl: common.open_existing(impl, raw_path) for impl in impls}
    writers = {impl: common.create_array(impl, os.path.join(root, f"write-{impl}.zarr"), shape, chunks,
                                         "blosc-lz4") for impl in impls}
    small_writers = {impl: common.create_array(impl, os.path.join(root, f"write64-{impl}.zarr"), shape,
                                               (64, 64), "blosc-lz4") for impl in impls}

    rng = np.random.default_rng(1)
    window = _window(shape)
    points = list(zip(rng.integers(0, shape[0], 2000).tolist(), rng.integers(0, shape[1], 2000).tolist()))
    orth = tuple(np.sort(rng.choice(n, min(2000, n), replace=False)) for n in shape)
    coords = (rng.integers(0, shape[0], 1_000_000), rng.integers(0, shape[1], 1_000_000))
    whole = data.nbytes

    def read_points(arr):
        for i, j in points:
            arr[i, j]

    def write(arrs):
        return {impl: (lambda a=a: a.__setitem__(Ellipsis, data)) for impl, a in arrs.items()}

    def read(arrs, selection):
        return {impl: (lambda a=a: a[selection]) for impl, a in arrs.items()}

    window_label = f"[{window[0].start}:{window[0].stop}, {window[1].start}:{window[1].stop}]"
    return [
        ("W0", "open existing array", {impl: (lambda i=impl: common.open_existing(i, main_path)) for impl in impls},
         0, 1, None),
        ("W1", "write whole", write(writers), whole, 1, None),
        ("W2", "read whole", read(readers, Ellipsis), whole, 1, data),
        ("W3", f"read {window_label}", read(readers, window),
         data[window].nbytes, 1, data[window]),
        ("W4", "2,000 random single-element reads", {impl: (lambda a=a: read_points(a)) for impl, a in readers.items()},
         2000 * itemsize, 2000, None),
        ("W5", f"oindex {orth[0].size:,} x {orth[1].size:,} sorted ints", {impl: (lambda a=a: a.oindex[orth]) for impl, a in readers.items()},
         orth[0].size * orth[1].size * itemsize, 1, data[np.ix_(*orth)]),
        ("W6", "vindex 1,000,000 random points", {impl: (lambda a=a: a.vindex[coords]) for impl, a in readers.items()},
         coords[0].size * itemsize, 1, data[coords]),
        ("W7r", "64x64 chunks: read whole", read(small_readers, Ellipsis), whole, 1, data),
        ("W7w", "64x64 chunks: write whole", write(small_writers), whole, 1, None),
        ("W8", "uncompressed: read whole", read(raw_readers, Ellipsis), whole, 1, data),
    ], main_path


def machine_limits(data, chunks, main_path, repeat, threads):
    """Medians of Blosc decode/encode of every chunk on a thread pool and of one memory copy."""
    from numcodecs import blosc as blosc_module

    codec = common.numcodecs_compressor("blosc-lz4")
    keys = [name for name in os.listdir(main_path) if not name.startswith(".")]
    encoded = []
    for key in keys:
        with open(os.path.join(main_path, key), "rb") as f:
            encoded.append(f.read())
    chunk_nbytes = int(np.prod(chunks)) * data.itemsize
    scratch = [np.empty(chunk_nbytes, dtype=np.uint8) for _ in encoded]
    blocks = [np.ascontiguousarray(data[r:r + chunks[0], c:c + chunks[1]])
              for r in range(0, data.shape[0], chunks[0]) for c in range(0, data.shape[1], chunks[1])]
    decoded_nbytes = chunk_nbytes * len(encoded)
    # Single-threaded Blosc per call: the parallelism comes from the pool, as in zarr_fast.
    has_switch = hasattr(blosc_module, "use_threads")
    previous = getattr(blosc_module, "use_threads", None)
    if has_switch:
        blosc_module.use_threads = False
    results = []
    try:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            decode = lambda: list(pool.map(lambda pair: codec.decode(pair[0], out=pair[1]), zip(encoded, scratch)))
            encode = lambda: list(pool.map(codec.encode, blocks))
            for label, fn, nbytes in ((f"Blosc decode of all chunks, {threads} threads", decode, decoded_nbytes),
                                      (f"Blosc encode of all chunks, {threads} threads", encode, data.nbytes)):
                times = [_timed(fn)[0] for _ in range(repeat)]
                results.append((label, statistics.median(times), nbytes))
    finally:
        if has_switch:
            blosc_module.use_threads = previous
    target = np.empty_like(data)
    times = [_timed(lambda: np.copyto(target, data))[0] for _ in range(repeat)]
    results.append(("memory copy of the whole array", statistics.median(times), data.nbytes))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=16384, help="side N of the N x N array (default 16384)")
    parser.add_argument("--chunks", type=int, default=1024, help="chunk side (default 1024)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per workload; medians shown")
    parser.add_argument("--dir", default=None, help="scratch directory (default: temporary, removed)")
    parser.add_argument("--impls", default=",".join(common.IMPLS), help="comma-separated implementations")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="pool size for the machine limits")
    args = parser.parse_args(argv)

    impls = _available([name for name in args.impls.split(",") if name])
    if not impls:
        print("no implementation available", file=sys.stderr)
        return 1
    shape, chunks = (args.scale, args.scale), (args.chunks, args.chunks)
    root = tempfile.mkdtemp(prefix="zarr-fast-sbs-", dir=args.dir)
    try:
        print(f"preparing {shape} float32 data and stores in {root} ...", file=sys.stderr)
        data = common.make_data(shape)
        workloads, main_path = build_workloads(impls, data, root, chunks)
        medians = {}
        for wid, label, fns, _, _, expected in workloads:
            samples = {impl: [] for impl in impls}
            for round_index in range(args.repeat):
                for impl in impls:
                    seconds, result = _timed(fns[impl])
                    if round_index == 0 and expected is not None and not np.array_equal(result, expected):
                        raise SystemExit(f"{impl} returned wrong values in {wid} ({label})")
                    samples[impl].append(seconds)
            for impl in impls:
                medians[(wid, impl)] = statistics.median(samples[impl])
            print(f"  {wid} done", file=sys.stderr)
        limits = machine_limits(data, chunks, main_path, args.repeat, args.threads)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"shape {shape} float32, chunks {chunks}, blosc lz4 clevel 5 shuffle, median of {args.repeat}; "
          f"GB/s = 1e9 bytes of selected data per second; ratio = other time / zarr_fast time")
    header = ["", "workload"]
    for impl in impls:
        header += [f"{impl} time", f"{impl} GB/s"]
    others = [impl for impl in impls if impl != "zarr_fast"] if "zarr_fast" in impls else []
    header += [f"{impl}/zarr_fast" for impl in others]
    rows = [header]
    for wid, label, _, nbytes, nops, _ in workloads:
        row = [wid, label]
        for impl in impls:
            seconds = medians[(wid, impl)]
            row.append(f"{seconds / nops * 1e6:.1f} µs/read" if nops > 1 else _format_seconds(seconds))
            row.append(f"{nbytes / seconds / 1e9:.3g}" if nbytes and seconds > 0 else "-")
        for impl in others:
            row.append(f"{medians[(wid, impl)] / medians[(wid, 'zarr_fast')]:.2f}x")
        rows.append(row)
    print(_format_table(rows, nleft=2))
    print()
    limit_rows = [["machine limit on the same chunk bytes", "time", "GB/s"]]
    for label, seconds, nbytes in limits:
        limit_rows.append([label, _format_seconds(seconds), f"{nbytes / seconds / 1e9:.3g}"])
    print(_format_table(limit_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
