"""Time the "Speed" issue workloads W0-W8 with zarr_fast, zarr 2.18.7 and tensorstore, side by side.

Workloads, on a float32 N x N array (default N = 16384, ~1 GiB) in 1024x1024 chunks, Blosc LZ4
clevel 5 with byte shuffle; ``--scale N`` shrinks the array and every chunk side by N / 16384:

    W0 open existing array          W5 oindex, two sorted random int arrays of 2,000
    W1 write whole, a new array     W6 vindex, 1,000,000 random points
    W2 read whole                   W7 same data in 64x64 chunks: read whole (W7r), write whole (W7w)
    W3 read [500:9500, 700:9700]    W8 uncompressed, read whole
    W4 2,000 random single-element reads (time per read)
    W1o write whole over the chunks of an existing array (not an issue workload: each file is
        renamed over its old self, which on ext4 starts writing it back at once)

W1 creates its array anew (zarr's ``mode="w"``, removing the last run's chunks) before every
run, outside the clock, as ``zarr.save`` / ``open(mode="w")`` users write a whole array.

How the numbers are kept honest on a small, noisy VM:

- Each implementation runs in its own worker process, which imports only that implementation
  (tensorstore's thread pools and allocator made zarr_fast ~2x slower in a shared process). The
  coordinator asks one worker at a time to run a workload once; the others idle on their pipe.
  Timing and checks happen in the worker; only seconds come back.
- Every workload first runs once per implementation unrecorded (the warm-up): fresh memory
  costs a page fault per page the first time it is touched, which on a VM can cost more than the
  work being timed. The warm-up result is also the one checked for correctness.
- Dirty file pages are flushed (``os.sync``) after the stores are built and after every run of
  a write workload, outside the clock: the kernel's background writeback of 65,536 freshly
  written chunk files otherwise lands, CPU and all, in whichever read is being timed later.
- Each repeat then runs every implementation back to back (interleaved), so drift of the machine
  hits all alike; the table shows medians (``--repeat``, default 5). An implementation whose
  warm-up is too slow for ``--row-budget`` gets fewer repeats for that row, and the table says so
  (``n=``).
- zarr_fast and zarr 2.18.7 read the very same store, written by zarr 2.18.7 with the data of
  :func:`benchmarks.common.make_data` (smooth field plus noise, seeded; the compression ratio is
  printed). tensorstore reads its own copy of the same data, written through its zarr driver.
- Each read result is compared with NumPy's answer on the same data, every repeat; each written
  store is read back once after the warm-up, and zarr_fast's chunk files are compared byte for
  byte with zarr 2.18.7's (Blosc frames whose blocks a multi-threaded compressor stored in
  another order count as equal when their headers match and they decode the same). A wrong answer aborts the run: a fast wrong answer is not a result.

After the workload table come the machine's limits on the same chunk bytes (numcodecs Blosc
decode and encode of every chunk on a thread pool of all cores, one Blosc thread per call, and a
plain memory copy of the whole array; with W7w, the cost of storing W7's chunk files alone),
measured in a worker of their own with no implementation imported, and
W2 / W1 as a percentage of them. The same worker also times the decode (W2) and encode (W1)
limits once per round of those rows, between the implementations' samples, and their verdicts
use that median: the machine's speed drifts between rows. Each row carries the
issue's target and a verdict; the targets were set for a 2-core machine.

Callers run it as a script (``python bench/side_by_side.py --scale 4096``); the code under test
is whatever ``import zarr_fast`` finds in its worker (set ``PYTHONPATH`` for an in-place build;
workers inherit the environment). It refuses implementations that are not importable (skipped
with a note) and a ``--only`` naming no workload. A worker that raises or dies aborts the run
with its traceback.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import gc
import importlib.util
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmarks import common  # noqa: E402

FULL_SIDE = 16384
FULL_CHUNK = 1024
FULL_SMALL_CHUNK = 64
SMALL_CHUNK_FLOOR = 4  # below this, per-chunk overhead is all a W7 run would measure
OPENS_PER_SAMPLE = 50
WORKLOAD_IDS = ("W0", "W1", "W1o", "W2", "W3", "W4", "W5", "W6", "W7w", "W7r", "W8")
NAMES = {"zarr_fast": "zarr_fast", "zarr": "zarr 2.18.7", "tensorstore": "tensorstore"}


# ---------------------------------------------------------------------------------------------
# small helpers, shared with thread_scaling.py


def format_seconds(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def format_table(rows, nleft=1):
    """Columns padded to width; the first ``nleft`` are labels (left-aligned), the rest numbers."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [str(c).ljust(w) if i < nleft else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# workloads moving at least this many bytes get back_memory() before each timed call
BACK_MEMORY_MIN_NBYTES = 64 << 20


def back_memory(nbytes):
    """Touch ``nbytes`` of new memory and free it, outside every clock.

    A read's result is new memory, and so is much of what a write allocates. On this VM the
    guest hands freed memory back to the host within seconds (free page reporting), and
    memory the host must back again costs several times more to touch: 1 GiB on two threads
    took 370-390 ms after an idle gap of 3-5 s against 75-78 ms when the same amount had just
    been touched and freed. Between one implementation's samples the others run for seconds,
    so without this each sample paid that host cost or not depending on timing. Touching and
    freeing the same amount first leaves backed pages on the kernel's free lists: the timed
    call still pays the kernel's zeroing of every page it touches first, as on any machine.
    Every implementation gets the same step, as does the limits worker's fresh-result bound.
    """
    block = np.empty(nbytes, dtype=np.uint8)
    block.fill(0)
    del block


def timed(fn):
    """``(seconds, result)`` of one call, with the cyclic GC kept out of the timed region."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    finally:
        gc.enable()
    return seconds, result


def scaled_chunks(side, chunk_side=None, small_chunk_side=None):
    """Chunk sides for an N x N array: 1024 and 64 at 16384, proportionally smaller below."""
    if chunk_side is None:
        chunk_side = max(1, FULL_CHUNK * side // FULL_SIDE)
    if small_chunk_side is None:
        small_chunk_side = max(min(SMALL_CHUNK_FLOOR, side), FULL_SMALL_CHUNK * side // FULL_SIDE)
    return chunk_side, small_chunk_side


def window(side):
    """W3's [500:9500, 700:9700] of a 16384-wide array, scaled to ``side``."""
    return tuple(slice(round(start * side / FULL_SIDE), round(stop * side / FULL_SIDE))
                 for start, stop in ((500, 9500), (700, 9700)))


def available(names):
    """The implementations among ``names`` that import; a note on stderr for the others."""
    impls = []
    for name in names:
        try:
            common.import_impl(name)
        except NotImplementedError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        impls.append(name)
    return impls


def write_store(writer, path, data, chunks, codec):
    """Create ``path`` with ``writer`` and write ``data`` into it whole; returns ``path``."""
    arr = common.create_array(writer, path, data.shape, chunks, codec, data.dtype)
    arr[...] = data
    return path


def store_nbytes(path):
    """Bytes of chunk files (everything but the .z* metadata) under a v2 directory store."""
    total = 0
    for dirpath, _, filenames in os.walk(path):
        total += sum(os.path.getsize(os.path.join(dirpath, name)) for name in filenames if not name.startswith(".z"))
    return total


def source_commit():
    """``(commit, is_dirty)`` of the package ``import zarr_fast`` comes from, or ``(None, None)``.

    The commit is the last one that touched the package directory, its C sources or its build
    (bench-only commits move HEAD but not the code under test); dirty means those have
    uncommitted changes.
    """
    try:
        # found, not imported: side_by_side's coordinator keeps every implementation out of its process
        package = os.path.dirname(os.path.abspath(importlib.util.find_spec("zarr_fast").origin))
        code = [".", "../csrc", "../setup.py"]
        commit = subprocess.run(["git", "-C", package, "log", "-1", "--format=%h", "--", *code], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", package, "status", "--porcelain", "--", *code], capture_output=True,
                               text=True, check=True).stdout.strip()
        return commit or None, bool(dirty)
    except Exception:  # not a git checkout, or git missing: the report just says unknown
        return None, None


def set_zarr_fast_threads(threads):
    """Pin zarr_fast's thread budget; returns the budget in force."""
    import zarr_fast.config

    if threads is not None:
        zarr_fast.config.set_threads(threads)
    return zarr_fast.config.get_threads()


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------
# workloads


class Workload:
    """One row for one implementation: the call to time, the selected bytes, and how to check it.

    ``fn`` and ``check`` exist only in the worker that built them; the coordinator gets the row
    as :meth:`describe`'s plain dict, since nothing callable crosses a pipe. ``check(result)``
    raises ``AssertionError`` on a wrong read. ``written`` names the stores a write fills,
    ``{written}-{impl}.zarr`` in the scratch directory, which are read back after the warm-up.
    ``prepare()``, when given, runs before every call of ``fn``, outside the clock.
    """

    def __init__(self, wid, label, nbytes, nops=1, written=None, fn=None, check=None, prepare=None):
        self.wid, self.label, self.nbytes, self.nops, self.written = wid, label, nbytes, nops, written
        self.fn, self.check, self.prepare = fn, check, prepare

    def describe(self):
        return {"wid": self.wid, "label": self.label, "nbytes": self.nbytes, "nops": self.nops,
                "written": self.written}


def _expect_equal(wid, impl, result, expected):
    result = np.asarray(result)
    if result.shape != expected.shape or not np.array_equal(result, expected):
        raise AssertionError(f"{NAMES[impl]} returned wrong values in {wid}: shape {result.shape}, "
                             f"expected {expected.shape}; first differences at "
                             f"{np.argwhere(result != expected)[:3].tolist() if result.shape == expected.shape else '-'}")


def _chunk_files(path):
    return sorted(os.path.relpath(os.path.join(d, n), path) for d, _, names in os.walk(path)
                  for n in names if not n.startswith(".z"))


def _same_chunk_bytes(path_a, path_b):
    """None when the two stores hold the same chunk files, else a description of the first difference.

    Files must be byte-identical, except that multi-threaded Blosc (zarr 2.18.7 compressing in
    the main thread) stores its blocks in the order its threads finish them: such a pair counts
    as the same when the 16-byte Blosc headers are equal and both decode to the same bytes.
    """
    import numcodecs

    files_a, files_b = _chunk_files(path_a), _chunk_files(path_b)
    if files_a != files_b:
        return f"different chunk keys ({len(files_a)} vs {len(files_b)} files)"
    with open(os.path.join(path_a, ".zarray")) as f:
        compressor = json.load(f)["compressor"]
    codec = numcodecs.get_codec(compressor) if compressor else None
    for name in files_a:
        with open(os.path.join(path_a, name), "rb") as fa, open(os.path.join(path_b, name), "rb") as fb:
            bytes_a, bytes_b = fa.read(), fb.read()
        if bytes_a == bytes_b:
            continue
        if codec is None or compressor["id"] != "blosc" or bytes_a[:16] != bytes_b[:16]:
            return f"chunk {name} differs"
        if bytes(codec.decode(bytes_a)) != bytes(codec.decode(bytes_b)):
            return f"chunk {name} decodes differently"
    return None


def store_paths(impls, root, wanted):
    """``({(layout, impl): path}, shared_writer)``: the store each implementation reads, per layout.

    zarr_fast and zarr 2.18.7 share stores written by ``shared_writer`` (zarr 2.18.7; zarr_fast
    when zarr is not run); tensorstore gets its own copies, written through its zarr driver. When
    W7w runs, W7r reads what W7w's runs wrote (W7w comes first), which saves writing 64x64
    chunks twice. Pure: it names paths, the workers write them (see :func:`build_workloads`).
    """
    others = [impl for impl in impls if impl != "tensorstore"] or list(impls)
    shared_writer = "zarr" if "zarr" in impls else others[0]
    needed = {"main": True, "small": "W7r" in wanted and "W7w" not in wanted, "raw": "W8" in wanted}
    paths = {}
    for layout in (layout for layout, is_needed in needed.items() if is_needed):
        for impl in impls:
            owner = "tensorstore" if impl == "tensorstore" else "shared"
            paths[(layout, impl)] = os.path.join(root, f"read-{layout}-{owner}.zarr")
    if "W7w" in wanted:
        for impl in impls:
            writer = "tensorstore" if impl == "tensorstore" else shared_writer
            paths[("small", impl)] = os.path.join(root, f"write-small-{writer}.zarr")
    return paths, shared_writer


def build_workloads(impl, data, root, chunks, small_chunks, wanted, paths, shared_writer, seed=1):
    """``impl``'s rows for the ``wanted`` workloads, in table order, reading the stores of ``paths``.

    Runs in ``impl``'s worker. ``shared_writer`` and tensorstore first write the read stores
    they own (``read-*``) and every implementation creates its empty write stores here, so the
    coordinator builds the shared writer first: the others open what it wrote, including the
    W7w store their W7r reads. Every worker draws the same selections from ``seed``.
    """
    shape, itemsize, side = data.shape, data.itemsize, data.shape[0]
    layouts = {"main": (chunks, "blosc-lz4"), "small": (small_chunks, "blosc-lz4"), "raw": (chunks, "none")}
    if impl in (shared_writer, "tensorstore"):
        for (layout, reader), path in paths.items():
            if reader == impl and os.path.basename(path).startswith("read-") and not os.path.exists(path):
                print(f"  writing {path} ...", file=sys.stderr)
                write_store(impl, path, data, *layouts[layout])

    workloads = []

    def add(wid, label, nbytes, fn, expected=None, **kwargs):
        def check(result):
            _expect_equal(wid, impl, result, expected)
        workloads.append(Workload(wid, label, nbytes, fn=fn, check=None if expected is None else check, **kwargs))

    def write_whole(name, store_chunks):
        arr = common.create_array(impl, os.path.join(root, f"{name}-{impl}.zarr"), shape, store_chunks, "blosc-lz4")
        return lambda: arr.__setitem__(Ellipsis, data)

    def write_new(name, store_chunks):
        """``(prepare, fn)``: a new empty array at the same path, then the write."""
        made = {}

        def prepare():
            made["arr"] = common.create_array(impl, os.path.join(root, f"{name}-{impl}.zarr"), shape,
                                              store_chunks, "blosc-lz4")
            os.sync()  # the old chunks' removal (and its discards) settled outside the clock

        return prepare, lambda: made["arr"].__setitem__(Ellipsis, data)

    def read_whole(layout):
        arr = common.open_existing(impl, paths[(layout, impl)])
        return lambda: arr[...]

    rng = np.random.default_rng(seed)
    rows = rng.integers(0, shape[0], 2000)
    cols = rng.integers(0, shape[1], 2000)
    points = list(zip(rows.tolist(), cols.tolist()))
    orth = tuple(np.sort(rng.choice(n, min(2000, n), replace=False)) for n in shape)
    coords = (rng.integers(0, shape[0], 1_000_000), rng.integers(0, shape[1], 1_000_000))
    box = window(side)
    box_label = f"[{box[0].start}:{box[0].stop}, {box[1].start}:{box[1].stop}]"
    whole = data.nbytes
    main = common.open_existing(impl, paths[("main", impl)])

    def read_points():
        # what a user loop does: one __getitem__ per element, values kept
        return [main[i, j] for i, j in points]

    if "W0" in wanted:
        def check_open(result):
            if tuple(result.shape) != shape or np.dtype(result.dtype) != data.dtype:
                raise AssertionError(f"{NAMES[impl]} opened {result.shape} {result.dtype} in W0, "
                                     f"expected {shape} {data.dtype}")
        def open_many():
            # a single open lasts a few hundred µs, mostly cache misses after another worker
            # ran: time a run of opens, as W4 does for reads, and report the time per open
            for _ in range(OPENS_PER_SAMPLE - 1):
                common.open_existing(impl, paths[("main", impl)])
            return common.open_existing(impl, paths[("main", impl)])

        workloads.append(Workload("W0", f"open existing array ({OPENS_PER_SAMPLE} times)", 0, check=check_open,
                                  fn=open_many, nops=OPENS_PER_SAMPLE))
    if "W1" in wanted:
        prepare, fn = write_new("write-main", chunks)
        add("W1", "write whole, a new array", whole, fn, written="write-main", prepare=prepare)
    if "W1o" in wanted:
        add("W1o", "write whole over existing chunks", whole, write_whole("write-over", chunks), written="write-over")
    if "W2" in wanted:
        add("W2", "read whole", whole, lambda: main[...], data)
    if "W3" in wanted:
        add("W3", f"read {box_label}", data[box].nbytes, lambda: main[box], data[box])
    if "W4" in wanted:
        add("W4", "2,000 random single-element reads", 2000 * itemsize, read_points, data[rows, cols], nops=2000)
    if "W5" in wanted:
        expected = data[np.ix_(*orth)]
        add("W5", f"oindex {orth[0].size:,} x {orth[1].size:,} sorted ints", expected.nbytes,
            lambda: main.oindex[orth], expected)
    if "W6" in wanted:
        add("W6", "vindex 1,000,000 random points", coords[0].size * itemsize, lambda: main.vindex[coords],
            data[coords])
    small_label = f"{small_chunks[0]}x{small_chunks[1]} chunks"
    if "W7w" in wanted:
        add("W7w", f"{small_label}: write whole", whole, write_whole("write-small", small_chunks), written="write-small")
    if "W7r" in wanted:
        add("W7r", f"{small_label}: read whole", whole, read_whole("small"), data)
    if "W8" in wanted:
        add("W8", "uncompressed: read whole", whole, read_whole("raw"), data)
    return workloads


# ---------------------------------------------------------------------------------------------
# worker processes: one per implementation, one for the machine limits


class WorkerError(RuntimeError):
    """A worker raised (the message carries its traceback) or died."""


class ImplWorker:
    """One implementation's side of the protocol; lives in that implementation's own process.

    Only ``impl`` is imported here: tensorstore's thread pools and allocator made zarr_fast ~2x
    slower when they shared a process, so :meth:`build` refuses a worker that finds another
    implementation imported. Results stay in the worker (a whole read is the size of the
    array): :meth:`run` checks them and answers seconds only.
    """

    def __init__(self, impl, threads):
        common.import_impl(impl)  # NotImplementedError: reported as not importable
        self.impl, self.workloads = impl, {}
        self.threads = set_zarr_fast_threads(threads) if impl == "zarr_fast" else None

    def hello(self):
        return {"threads": self.threads}

    def build(self, data_path, root, chunks, small_chunks, wanted, paths, shared_writer):
        """Load the data, write this worker's stores, open its arrays; returns the rows' descriptions."""
        # a private copy, not mmap: the data is then anonymous memory, as when it was generated in-process
        self.data, self.root = np.load(data_path), root
        workloads = build_workloads(self.impl, self.data, root, chunks, small_chunks, wanted, paths, shared_writer)
        foreign = [name for name in common.IMPLS if name != self.impl and name in sys.modules]
        if foreign:
            raise RuntimeError(f"{self.impl}'s worker has {', '.join(foreign)} imported too: timings not isolated")
        self.workloads = {w.wid: w for w in workloads}
        return [w.describe() for w in workloads]

    def run(self, wid):
        """Seconds of one call of ``wid``; the result is checked after the clock stops."""
        workload = self.workloads[wid]
        if workload.prepare is not None:
            workload.prepare()
        if workload.nbytes >= BACK_MEMORY_MIN_NBYTES:
            back_memory(workload.nbytes)
        seconds, result = timed(workload.fn)
        if workload.check is not None:
            workload.check(result)
        return seconds

    def verify(self, wid):
        """Read back what ``wid`` wrote, with this implementation, and compare it with the data."""
        path = os.path.join(self.root, f"{self.workloads[wid].written}-{self.impl}.zarr")
        _expect_equal(wid, self.impl, common.open_existing(self.impl, path)[...], self.data)


class LimitsWorker:
    """The machine limits, measured in a process with no implementation imported (numcodecs only).

    Besides the table of limits at the end (:meth:`measure`), it times the W1 and W2 limits in
    the same rounds as the implementations (:meth:`prepare`, :meth:`run`): this VM's speed
    drifts by tens of percent within minutes, so W1 and W2 are judged against the limit
    measured between their own samples, not against one taken later.
    """

    # the limits timed in each round of a row; the first is the one its verdict uses
    PACED = {"W1": ("encode", "new_files"), "W1o": ("encode", "main_files"), "W2": ("decode", "decode_fresh")}

    def hello(self):
        return {}

    def prepare(self, data_path, chunks, main_path, threads):
        self.inputs = blosc_limit_inputs(np.load(data_path), chunks, main_path)
        self.pool = concurrent.futures.ThreadPoolExecutor(threads)
        self.folder = tempfile.mkdtemp(prefix="paced-files-", dir=os.path.dirname(main_path))
        single_threaded_blosc()

    def run(self, wid):
        """``{limit name: seconds}`` of one pass of each of ``wid``'s limits."""
        codec, encoded, scratch, blocks = self.inputs
        new_folder = os.path.join(self.folder, "new")
        passes = {
            "encode": lambda: encode_all(self.pool, codec, blocks),
            "decode": lambda: decode_all(self.pool, codec, encoded, scratch),
            "decode_fresh": lambda: decode_fresh_all(self.pool, codec, encoded, scratch[0].nbytes),
            "main_files": lambda: rewrite_files(self.pool, encoded, self.folder),
            "new_files": lambda: rewrite_files(self.pool, encoded, new_folder),
        }
        seconds = {}
        for name in self.PACED[wid]:
            if name == "new_files":  # a new folder, as W1's new array: nothing to rename over
                shutil.rmtree(new_folder, ignore_errors=True)
                os.mkdir(new_folder)
                settle_writeback()
            if name == "decode_fresh":  # as the implementations' reads get (back_memory)
                back_memory(scratch[0].nbytes * len(scratch))
            seconds[name] = timed(passes[name])[0]
            if name.endswith("_files"):
                settle_writeback()
        return seconds

    def measure(self, data_path, chunks, main_path, repeat, threads, root, small_chunks=None):
        """:func:`machine_limits`, plus :func:`file_write_limit` when ``small_chunks`` is given."""
        data = np.load(data_path)
        limits = machine_limits(data, chunks, main_path, repeat, threads)
        if small_chunks is not None:
            limits["files"] = file_write_limit(data, small_chunks, root, repeat, threads)
        return limits


def _serve(conn, role, args):
    """A worker's main loop: build ``role``'s state, then answer ``(method, args)`` until ``None``.

    Every answer is ``(status, value)``: ``ready`` with the state's hello, ``unavailable`` with the
    reason (the worker then exits), ``ok`` with a method's return value, or ``error`` with the
    traceback, so that the coordinator can abort with it instead of waiting.
    """
    try:
        state = LimitsWorker() if role == "limits" else ImplWorker(role, *args)
    except NotImplementedError as exc:
        conn.send(("unavailable", str(exc)))
        return
    except Exception:
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ready", state.hello()))
    while (message := conn.recv()) is not None:
        method, method_args = message
        try:
            conn.send(("ok", getattr(state, method)(*method_args)))
        except Exception:
            conn.send(("error", traceback.format_exc()))


class Worker:
    """The coordinator's handle on one worker process; :meth:`call` blocks until it answers.

    Workers are spawned (a fresh interpreter: nothing the coordinator imported comes along) and
    idle on their pipe between calls, so only the one called is working.
    """

    def __init__(self, context, role, *args):
        self.role = role
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_conn, role, args), daemon=True,
                                       name=f"side_by_side-{role}")
        self.process.start()
        child_conn.close()  # our copy of its end: once the worker dies, recv() sees EOF, not a hang

    def answer(self, doing):
        """``(status, value)`` of the worker's next answer; ``WorkerError`` when it failed or died."""
        name = NAMES.get(self.role, self.role)
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError):  # EOF, or a reset when it died with our request unread
            self.process.join(5)
            raise WorkerError(f"the {name} worker died (exit code {self.process.exitcode}) during {doing}") from None
        if status == "error":
            raise WorkerError(f"the {name} worker failed during {doing}:\n{value}")
        return status, value

    def call(self, method, *args):
        try:
            self.conn.send((method, args))
        except OSError:  # it has died: answer() reports how
            pass
        return self.answer(method)[1]

    def close(self):
        if self.process.is_alive():
            try:
                self.conn.send(None)
            except OSError:  # it is exiting anyway
                pass
            self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.conn.close()


def settle_writeback():
    """Flush dirty file pages now, outside every timing.

    The kernel writes stored chunks back to disk in the background, half a minute later and
    with CPU time of its own. Unflushed, the stores written while building (and by each write
    workload) are written back while later workloads are timed, and hurt whichever
    implementation is running then, most of all one that keeps every core busy.
    """
    os.sync()


def run_workload(workload, workers, repeat, row_budget, root, pacer=None):
    """Warm up and check each implementation in its worker, then interleaved repeats.

    ``workers`` maps each implementation to its :class:`Worker`, in table order; ``pacer``, the
    limits worker, adds the row's limit to every round (W1 and W2). Returns
    ``({impl: [seconds]}, {impl: warm-up seconds}, [impls timed by the warm-up only])``, the
    pacer's samples under ``"limits"`` (``{limit name: [seconds]}``) in the first. An
    implementation whose warm-up alone takes more than its share of ``row_budget`` gets fewer
    repeats; one whose warm-up takes more than the whole share keeps the warm-up as its only
    sample (at that length the first-touch cost the warm-up exists for is a few percent at most).
    """
    impls = list(workers)

    def run_once(impl):
        seconds = workers[impl].call("run", workload.wid)
        if workload.written:
            settle_writeback()
        return seconds

    warm = {impl: run_once(impl) for impl in impls}
    if workload.written:  # after every warm-up: zarr_fast's store is compared with zarr 2.18.7's
        for impl in impls:
            workers[impl].call("verify", workload.wid)
        if "zarr_fast" in workers and "zarr" in workers:
            difference = _same_chunk_bytes(*(os.path.join(root, f"{workload.written}-{impl}.zarr")
                                             for impl in ("zarr_fast", "zarr")))
            if difference:
                raise AssertionError(f"{workload.wid}: zarr_fast's store differs from zarr 2.18.7's: {difference}")
    share = row_budget / len(impls)
    nrepeat = {impl: min(repeat, int(share / max(warm[impl], 1e-9))) for impl in impls}
    samples = {impl: [] if nrepeat[impl] else [warm[impl]] for impl in impls}
    if pacer is not None:
        samples["limits"] = {name: [] for name in pacer.call("run", workload.wid)}  # its warm-up
    for round_index in range(max(1, max(nrepeat.values()))):
        for impl in impls:
            if round_index < nrepeat[impl]:
                samples[impl].append(run_once(impl))
        if pacer is not None:
            for name, seconds in pacer.call("run", workload.wid).items():
                samples["limits"][name].append(seconds)
    return samples, warm, [impl for impl in impls if not nrepeat[impl]]


# ---------------------------------------------------------------------------------------------
# machine limits


def blosc_limit_inputs(data, chunks, main_path):
    """What the Blosc limits work on: ``(codec, frames, decode slots, contiguous chunks)``.

    The frames are every chunk file of ``main_path``; each decodes into a slot of its own
    (already touched, as a read into ``out=`` writes); each chunk of ``data`` is one contiguous
    array, as the encoder of a gathered chunk sees it.
    """
    codec = common.numcodecs_compressor("blosc-lz4")
    encoded = []
    for name in sorted(_chunk_files(main_path)):
        with open(os.path.join(main_path, name), "rb") as f:
            encoded.append(f.read())
    chunk_nbytes = int(np.prod(chunks)) * data.itemsize
    scratch = [np.empty(chunk_nbytes, dtype=np.uint8) for _ in encoded]
    blocks = [np.ascontiguousarray(data[r:r + chunks[0], c:c + chunks[1]])
              for r in range(0, data.shape[0], chunks[0]) for c in range(0, data.shape[1], chunks[1])]
    return codec, encoded, scratch, blocks


def decode_all(pool, codec, encoded, scratch):
    return list(pool.map(lambda pair: codec.decode(pair[0], out=pair[1]), zip(encoded, scratch)))


def decode_fresh_all(pool, codec, encoded, chunk_nbytes):
    """The decode limit when the chunks land in a new result, each in one contiguous slot (no
    scatter at all): a read whose result is on new pages cannot be faster, as it also pays for
    the pages the kernel zeroes on first touch (zarr_fast's result pool reuses a freed result's
    pages instead, so this bounds its first read, not its repeats)."""
    result = np.empty((len(encoded), chunk_nbytes), dtype=np.uint8)
    return list(pool.map(lambda pair: codec.decode(pair[0], out=result[pair[1]]),
                         zip(encoded, range(len(encoded)))))


def encode_all(pool, codec, blocks):
    return list(pool.map(codec.encode, blocks))


def rewrite_files(pool, encoded, folder):
    """What any write of the whole array pays besides encoding: its chunk files, each a temp
    file renamed over the one the previous pass left (ext4 starts writing a file's data back
    when it is renamed over another, so this also waits on the disk)."""
    def write_one(index):
        path = os.path.join(folder, str(index))
        with open(path + ".partial", "wb") as f:
            f.write(encoded[index])
        os.replace(path + ".partial", path)
    return list(pool.map(write_one, range(len(encoded))))


def single_threaded_blosc():
    """Switch numcodecs' own Blosc threads off (the pool gives the parallelism, as in
    zarr_fast); returns the previous setting for :func:`restore_blosc_threads`."""
    from numcodecs import blosc as blosc_module
    previous = getattr(blosc_module, "use_threads", None)
    if hasattr(blosc_module, "use_threads"):
        blosc_module.use_threads = False
    return previous


def restore_blosc_threads(previous):
    from numcodecs import blosc as blosc_module
    if hasattr(blosc_module, "use_threads"):
        blosc_module.use_threads = previous


def machine_limits(data, chunks, main_path, repeat, threads):
    """Blosc decode/encode of every chunk of ``main_path`` on a pool of ``threads``, and a memory copy.

    numcodecs calls Blosc's context functions (one internal thread) from non-main threads; we
    also switch ``use_threads`` off, so the parallelism comes from the pool alone, as in zarr_fast.
    Returns ``{name: {"label", "seconds", "nbytes", "gbps"}}`` with medians after one warm-up.
    """
    codec, encoded, scratch, blocks = blosc_limit_inputs(data, chunks, main_path)
    chunk_nbytes = scratch[0].nbytes
    previous = single_threaded_blosc()
    target = np.empty_like(data)
    results = {}
    folder = None
    try:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            def decode():
                return decode_all(pool, codec, encoded, scratch)

            def encode():
                return encode_all(pool, codec, blocks)

            def decode_fresh():
                return decode_fresh_all(pool, codec, encoded, chunk_nbytes)

            def fresh_result():
                # what any read of the whole array pays besides decoding: a new result whose
                # pages the kernel zeroes on first touch, then written once, band per thread
                result = np.empty_like(data)
                bands = np.array_split(np.arange(data.shape[0]), threads)
                list(pool.map(lambda rows: result[rows[0]:rows[-1] + 1].fill(1), [b for b in bands if b.size]))

            folder = tempfile.mkdtemp(prefix="main-files-", dir=os.path.dirname(main_path))

            def write_files():
                return rewrite_files(pool, encoded, folder)

            cases = [
                ("decode", f"Blosc decode of all chunks, {threads} threads", decode, chunk_nbytes * len(encoded)),
                ("encode", f"Blosc encode of all chunks, {threads} threads", encode, data.nbytes),
                ("copy", "memory copy of the whole array (np.copyto)", lambda: np.copyto(target, data), data.nbytes),
                ("fresh", f"first touch + fill of a new result array, {threads} threads", fresh_result, data.nbytes),
                ("decode_fresh", f"Blosc decode of all chunks into a new result, {threads} threads", decode_fresh,
                 chunk_nbytes * len(encoded)),
                ("main_files", f"rewrite the {len(encoded)} chunk files (temp + rename), {threads} threads",
                 write_files, data.nbytes),
            ]
            for name, label, fn, nbytes in cases:
                timed(fn)  # warm-up: first touch of the scratch buffers and the pool
                seconds = statistics.median(timed(fn)[0] for _ in range(repeat))
                results[name] = {"label": label, "seconds": seconds, "nbytes": nbytes, "gbps": nbytes / seconds / 1e9}
    finally:
        restore_blosc_threads(previous)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def file_write_limit(data, small_chunks, root, repeat, threads, sample=4096):
    """Time to store W7's chunk files alone: temp file + rename per chunk, on a pool of ``threads``.

    Every W7w write pays this per chunk whatever the library does (65,536 files at full size).
    ``sample`` files (the first chunk's Blosc frame, repeated) are written into a fresh
    directory; the time is scaled to the array's chunk count. Returns the same entry as
    :func:`machine_limits`.
    """
    codec = common.numcodecs_compressor("blosc-lz4")
    frame = codec.encode(np.ascontiguousarray(data[:small_chunks[0], :small_chunks[1]]))
    nchunks = -(-data.shape[0] // small_chunks[0]) * -(-data.shape[1] // small_chunks[1])
    count = min(sample, nchunks)
    folder = tempfile.mkdtemp(prefix="file-limit-", dir=root)

    def write_one(index):
        path = os.path.join(folder, f"{index // 256}.{index % 256}")
        with open(path + ".partial", "wb") as f:
            f.write(frame)
        os.replace(path + ".partial", path)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        def write_all():
            list(pool.map(write_one, range(count)))

        timed(write_all)  # warm-up: the directory's entries exist from here on, as in a rewrite
        seconds = statistics.median(timed(write_all)[0] for _ in range(repeat)) * nchunks / count
    shutil.rmtree(folder, ignore_errors=True)
    return {"label": f"write {nchunks:,} chunk files (temp + rename), {threads} threads, from {count:,}",
            "seconds": seconds, "nbytes": data.nbytes, "gbps": data.nbytes / seconds / 1e9}


# ---------------------------------------------------------------------------------------------
# targets


def _ratio(medians, wid, other):
    if ("zarr_fast", wid) not in medians or (other, wid) not in medians:
        return None
    return medians[(other, wid)] / medians[("zarr_fast", wid)]


def _beats(medians, wid, other, factor, parts):
    ratio = _ratio(medians, wid, other)
    name = NAMES[other]
    wording = f">= {factor:g}x {name}" if factor > 1 else f"ahead of {name}"
    if ratio is None:
        parts.append((None, f"{wording}: n/a"))
    elif factor > 1:
        parts.append((ratio >= factor, f"{wording}: {ratio:.2f}x"))
    else:
        parts.append((ratio > 1, f"{wording}: {ratio:.2f}x"))


def verdict(wid, medians, limits, nbytes, nops):
    """``(target text, ok, detail)`` for one row: ok is True, False, None when it cannot be
    judged."""
    parts = []
    if wid == "W0":
        _beats(medians, wid, "zarr", 1, parts)
        target = "faster than zarr 2.18.7"
    elif wid in ("W1", "W2"):
        limit_name, share = ("encode", 0.75) if wid == "W1" else ("decode", 0.80)
        target = f">= {share:.0%} of the all-core {'compress' if wid == 'W1' else 'decompress'} limit"
        limit_seconds = medians.get((limit_name, wid)) or limits.get(limit_name, {}).get("seconds")
        if ("zarr_fast", wid) in medians and limit_seconds:
            fraction = limit_seconds / medians[("zarr_fast", wid)]
            parts.append((fraction >= share, f"{fraction:.0%} of limit"))
        else:
            parts.append((None, "n/a"))
    elif wid in ("W3", "W5", "W6"):
        target = ">= 3x zarr 2.18.7, ahead of tensorstore"
        _beats(medians, wid, "zarr", 3, parts)
        _beats(medians, wid, "tensorstore", 1, parts)
    elif wid == "W4":
        target = "<= 100 µs/read"
        if ("zarr_fast", wid) in medians:
            per_read = medians[("zarr_fast", wid)] / nops * 1e6
            parts.append((per_read <= 100, f"{per_read:.0f} µs/read"))
    elif wid == "W7r":
        target = ">= 4x zarr 2.18.7, ahead of tensorstore"
        _beats(medians, wid, "zarr", 4, parts)
        _beats(medians, wid, "tensorstore", 1, parts)
    elif wid in ("W7w", "W1o"):
        target = "ahead of zarr 2.18.7 and tensorstore"
        _beats(medians, wid, "zarr", 1, parts)
        _beats(medians, wid, "tensorstore", 1, parts)
    elif wid == "W8":
        target = ">= 4x zarr 2.18.7"
        _beats(medians, wid, "zarr", 4, parts)
    else:  # pragma: no cover - every id above has a target
        target = "-"
    judged = [ok for ok, _ in parts if ok is not None]
    ok = None if not judged else all(judged)
    return target, ok, "; ".join(text for _, text in parts)


# ---------------------------------------------------------------------------------------------
# report


def print_report(info, workloads, impls, samples, limits, out=sys.stdout):
    medians = {(impl, w.wid): statistics.median(samples[w.wid][impl]) for w in workloads for impl in impls}
    medians.update({(name, w.wid): statistics.median(paced)
                    for w in workloads for name, paced in samples[w.wid].get("limits", {}).items()})
    print(f"shape {info['shape']} float32, chunks {info['chunks']} (W7: {info['small_chunks']}), "
          f"blosc lz4 clevel 5 byte shuffle; compression ratio {info['compression_ratio']:.2f}x "
          f"({info['stored_nbytes'] / 2**20:.0f} MiB stored)", file=out)
    print(f"{info['cpus']} CPUs, zarr_fast thread budget {info['zarr_fast_threads']}, "
          f"zarr_fast commit {info['commit']}{' (dirty tree)' if info['dirty'] else ''}; "
          f"median of {info['repeat']} interleaved repeats after one warm-up (n= where fewer); "
          f"each implementation in its own process", file=out)
    if info["skipped"]:
        print(f"NOT RUN (not importable): {', '.join(info['skipped'])}", file=out)
    print("GB/s = 1e9 bytes of selected data per second; 'vs X' = X's time / zarr_fast's time "
          "(> 1: zarr_fast faster)", file=out)
    others = [impl for impl in ("zarr", "tensorstore") if impl in impls and "zarr_fast" in impls]
    header = ["id", "workload"] + [NAMES[impl] for impl in impls]
    if "zarr_fast" in impls:
        header.append("zarr_fast GB/s")
    header += [f"vs {NAMES[impl]}" for impl in others] + ["target", "verdict"]
    rows = [header]
    rows_json = []
    for w in workloads:
        row = [w.wid, w.label]
        for impl in impls:
            seconds = medians[(impl, w.wid)]
            unit = "open" if w.wid == "W0" else "read"
            text = f"{seconds / w.nops * 1e6:.1f} µs/{unit}" if w.nops > 1 else format_seconds(seconds)
            n = len(samples[w.wid][impl])
            if impl in samples["_warm_only"][w.wid]:
                text += " (warm-up only)"
            elif n < info["repeat"]:
                text += f" (n={n})"
            row.append(text)
        if "zarr_fast" in impls:
            seconds = medians[("zarr_fast", w.wid)]
            row.append(f"{w.nbytes / seconds / 1e9:.3g}" if w.nbytes else "-")
        for impl in others:
            row.append(f"{_ratio(medians, w.wid, impl):.2f}x")
        target, ok, detail = verdict(w.wid, medians, limits, w.nbytes, w.nops)
        word = {True: "ok", False: "MISS", None: "n/a"}.get(ok, ok)
        row += [target, word + (f" ({detail})" if detail else "")]
        rows.append(row)
        rows_json.append({
            "id": w.wid, "label": w.label, "selected_nbytes": w.nbytes, "ops": w.nops,
            "samples_s": {impl: samples[w.wid][impl] for impl in impls},
            "warmup_s": {impl: samples["_warm"][w.wid][impl] for impl in impls},
            "warmup_only": samples["_warm_only"][w.wid],
            "median_s": {impl: medians[(impl, w.wid)] for impl in impls},
            "ratio_vs": {impl: _ratio(medians, w.wid, impl) for impl in others},
            "target": target, "ok": ok, "detail": detail,
            **({"limit_samples_s": samples[w.wid]["limits"]} if samples[w.wid].get("limits") else {}),
        })
    print(format_table(rows, nleft=2), file=out)
    if limits:
        print(file=out)
        limit_rows = [["machine limit on the same chunk bytes", "time", "GB/s"]]
        for entry in limits.values():
            limit_rows.append([entry["label"], format_seconds(entry["seconds"]), f"{entry['gbps']:.3g}"])
        print(format_table(limit_rows), file=out)
        for w in workloads:
            if w.wid in ("W2", "W1", "W1o") and "zarr_fast" in impls:
                name, share = ("decode", 80) if w.wid == "W2" else ("encode", 75)
                gbps = w.nbytes / medians[("zarr_fast", w.wid)] / 1e9
                print(f"{w.wid} {w.label}: zarr_fast {gbps:.3g} GB/s = {gbps / limits[name]['gbps']:.0%} of the "
                      f"all-core Blosc {name} limit in the table above"
                      f"{f' (target >= {share}%)' if w.wid != 'W1o' else ''}", file=out)
                paced = samples[w.wid].get("limits", {})
                if name in paced:
                    print(f"   the same limit timed in the row's own rounds (the verdict's): median "
                          f"{format_seconds(medians[(name, w.wid)])} of "
                          f"{', '.join(format_seconds(x) for x in paced[name])}; zarr_fast at "
                          f"{medians[(name, w.wid)] / medians[('zarr_fast', w.wid)]:.0%} of it", file=out)
                files = "main_files" if "main_files" in paced else "new_files"
                if files in paced:
                    store = medians[(files, w.wid)]
                    how = "rewrite, temp + rename" if files == "main_files" else "into a new folder, temp + rename"
                    print(f"   storing the chunk files alone ({how}), in the same rounds: median "
                          f"{format_seconds(store)} of {', '.join(format_seconds(x) for x in paced[files])}; "
                          f"a write cannot beat it, and it is {medians[(name, w.wid)] / store:.0%} of the encode "
                          f"limit's speed (75% is out of reach wherever it is below 75%); zarr_fast at "
                          f"{store / medians[('zarr_fast', w.wid)]:.0%} of the slower of the two bounds"
                          if store >= medians[(name, w.wid)] else
                          f"   storing the chunk files alone ({how}), in the same rounds: median "
                          f"{format_seconds(store)}; encode + store one after the other "
                          f"{format_seconds(store + medians[(name, w.wid)])}, zarr_fast at "
                          f"{(store + medians[(name, w.wid)]) / medians[('zarr_fast', w.wid)]:.0%} of that", file=out)
                if "decode_fresh" in paced:
                    best = medians[("decode_fresh", w.wid)]
                    print(f"   Blosc decoding straight into a new result (each chunk in a contiguous slot, no "
                          f"scatter), in the same rounds: median {format_seconds(best)} of "
                          f"{', '.join(format_seconds(x) for x in paced['decode_fresh'])} = "
                          f"{medians[(name, w.wid)] / best:.0%} of the paced decode limit's speed (the least that a "
                          f"read onto new pages does, in the same conditions); zarr_fast's W2 runs at "
                          f"{best / medians[('zarr_fast', w.wid)]:.0%} of it", file=out)
                extra = limits.get({"W2": "fresh", "W1o": "main_files"}.get(w.wid))
                if extra is not None:
                    floor = limits[name]["seconds"] + extra["seconds"]
                    what = "a fresh result" if w.wid == "W2" else "its chunk files"
                    print(f"   {name} limit + {what}, one after the other on the same cores: "
                          f"{format_seconds(floor)} = {limits[name]['seconds'] / floor:.0%} of the {name} limit's "
                          f"speed; zarr_fast, which overlaps them, runs at "
                          f"{floor / medians[('zarr_fast', w.wid)]:.0%} of that", file=out)
    return rows_json


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=FULL_SIDE,
                        help=f"side N of the N x N array (default {FULL_SIDE}); chunk sides scale by N/{FULL_SIDE}")
    parser.add_argument("--chunks", type=int, default=None, help="override the (scaled) 1024 chunk side")
    parser.add_argument("--small-chunks", type=int, default=None, help="override the (scaled) 64 chunk side of W7")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per workload after the warm-up (default 5)")
    parser.add_argument("--row-budget", type=float, default=90.0,
                        help="seconds one row may take; slower implementations get fewer repeats (default 90)")
    parser.add_argument("--threads", type=int, default=None,
                        help="pin zarr_fast's thread budget (zarr_fast.config.set_threads); default: its own")
    parser.add_argument("--limit-threads", type=int, default=None,
                        help="pool size for the machine limits (default: all CPUs)")
    parser.add_argument("--only", default=None, help="comma-separated workloads, e.g. W2,W7 (W7 = W7r and W7w)")
    parser.add_argument("--impls", default=",".join(common.IMPLS), help="comma-separated implementations")
    parser.add_argument("--dir", default=None, help="parent of the scratch directory (removed afterwards)")
    parser.add_argument("--no-limits", action="store_true", help="skip the machine limits")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write all samples and verdicts as JSON")
    args = parser.parse_args(argv)

    if args.only:
        asked = [part.strip().lower() for part in args.only.split(",") if part.strip()]
        wanted = {wid for wid in WORKLOAD_IDS for part in asked if part in (wid.lower(), wid.rstrip("rw").lower())}
        if not wanted:
            parser.error(f"--only {args.only!r} names no workload; choose from {', '.join(WORKLOAD_IDS)} or W7")
    else:
        wanted = set(WORKLOAD_IDS)
    requested = [name for name in args.impls.split(",") if name]
    side = args.scale
    chunk_side, small_side = scaled_chunks(side, args.chunks, args.small_chunks)
    shape, chunks, small_chunks = (side, side), (chunk_side, chunk_side), (small_side, small_side)
    commit, dirty = source_commit()
    context = multiprocessing.get_context("spawn")
    root = tempfile.mkdtemp(prefix="zarr-fast-sbs-", dir=args.dir)
    started = time.perf_counter()
    spawned = []  # every worker, closed on the way out whatever happens
    try:
        # started together: their interpreters start while the data is made; nothing is timed yet
        spawned += [Worker(context, impl, args.threads) for impl in requested]
        print(f"preparing {shape} float32 data and stores in {root} ...", file=sys.stderr)
        data_path = os.path.join(root, "data.npy")
        data = common.make_data(shape)
        data_nbytes = data.nbytes
        np.save(data_path, data)
        del data  # the workers load their own copies; the coordinator needs none
        workers, hellos = {}, {}
        for worker in spawned:
            status, hello = worker.answer("start-up")
            if status == "unavailable":
                print(f"skipping {worker.role}: {hello}", file=sys.stderr)
            else:
                workers[worker.role], hellos[worker.role] = worker, hello
        impls = list(workers)
        if not impls:
            print("no implementation available", file=sys.stderr)
            return 1
        threads = hellos["zarr_fast"]["threads"] if "zarr_fast" in hellos else None
        paths, shared_writer = store_paths(impls, root, wanted)
        # the shared writer first: the others open the stores it writes
        rows = {impl: workers[impl].call("build", data_path, root, chunks, small_chunks, wanted, paths, shared_writer)
                for impl in sorted(impls, key=lambda impl: impl != shared_writer)}
        settle_writeback()
        workloads = [Workload(**row) for row in rows[impls[0]]]
        # the store zarr_fast and zarr 2.18.7 share (tensorstore's own copy when it runs alone)
        main_path = paths[("main", next((i for i in impls if i != "tensorstore"), impls[0]))]
        stored = store_nbytes(main_path)
        pacer = None
        if not args.no_limits and wanted & set(LimitsWorker.PACED):
            spawned.append(Worker(context, "limits"))
            spawned[-1].answer("start-up")
            pacer = spawned[-1]
            pacer.call("prepare", data_path, chunks, main_path, args.limit_threads or cpu_count())
        samples = {"_warm": {}, "_warm_only": {}}
        for w in workloads:
            row_start = time.perf_counter()
            samples[w.wid], samples["_warm"][w.wid], samples["_warm_only"][w.wid] = run_workload(
                w, workers, args.repeat, args.row_budget, root, pacer if w.wid in LimitsWorker.PACED else None)
            print(f"  {w.wid} done in {time.perf_counter() - row_start:.1f} s", file=sys.stderr)
        for worker in list(workers.values()) + ([pacer] if pacer is not None else []):
            worker.close()  # their memory back before the limits run
        limits = {}
        if not args.no_limits:
            spawned.append(Worker(context, "limits"))
            spawned[-1].answer("start-up")
            limits = spawned[-1].call("measure", data_path, chunks, main_path, args.repeat,
                                      args.limit_threads or cpu_count(), root,
                                      small_chunks if "W7w" in wanted else None)
    finally:
        for worker in spawned:
            worker.close()
        shutil.rmtree(root, ignore_errors=True)

    info = {
        "shape": shape, "chunks": chunks, "small_chunks": small_chunks, "dtype": "float32",
        "codec": "blosc lz4 clevel 5 byte shuffle", "compression_ratio": data_nbytes / stored, "stored_nbytes": stored,
        "cpus": cpu_count(), "zarr_fast_threads": threads, "commit": commit, "dirty": dirty,
        "repeat": args.repeat, "row_budget_s": args.row_budget, "impls": impls,
        "skipped": [name for name in requested if name not in impls],
        "python": platform.python_version(), "machine": platform.machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "total_s": time.perf_counter() - started,
    }
    rows_json = print_report(info, workloads, impls, samples, limits)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "workloads": rows_json, "limits": limits}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
