"""The ``zarr-fast`` command line: ``info``, ``tree`` and ``copy`` of stored data, and a ``bench``.

``zarr-fast info URL`` prints what zarr 2.18's ``Array.info`` shows plus chunk statistics read
from the store (chunk keys present, min/median/max stored chunk size, compression ratio).
``zarr-fast tree URL`` prints a hierarchy as ``Group.tree()`` does. ``zarr-fast copy SRC DST``
copies an array or a hierarchy (optionally rechunked/recompressed) with ``zarr_fast.copy``/
``copy_all``; nodes already in DST are skipped, so a re-run finishes an interrupted copy. It
draws a live bar (bytes and chunks per second, ETA) on stderr when stderr is a terminal
(``--progress``/``--no-progress`` force it) and prints one summary line on stdout.
``zarr-fast bench`` writes a seeded, compressible test array to a scratch directory and times
whole/window/point/orthogonal/coordinate reads and a whole write, optionally side by side with
zarr-python 2.18.7 (``--compare``).

Every URL or path is turned into a store by ``zarr_fast.storage.normalize_store_arg`` (read
mode for sources, ``'a'`` for a copy's destination), so whatever stores it knows (directories,
``.zip`` files, fsspec URLs with ``--storage-options JSON``) work here too.

Callers (the console script, tests) pass ``argv`` without the program name; :func:`main`
returns the exit status instead of exiting. It refuses arrays with other than two dimensions in
``bench`` and reports errors of ``info``/``tree``/``copy`` (missing path, not a Zarr node, a
store that cannot be opened) as one line on stderr with exit status 1, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time

import numpy as np

from zarr_fast._progress import Progress, TransferProgress
from zarr_fast._progress import format_bytes as _human_bytes

__all__ = ["main", "make_data", "make_compressor", "chunk_stats", "run_bench"]

COMPRESSOR_CHOICES = ("blosc-lz4", "zstd", "none")


def _version():
    import zarr_fast

    version = getattr(zarr_fast, "__version__", None)
    if version:
        return version
    try:
        from importlib.metadata import version as dist_version

        return dist_version("zarr-fast")
    except Exception:  # not installed as a distribution (plain source checkout)
        return "unknown"


# ---------------------------------------------------------------------------------------------
# Formatting helpers


def _format_seconds(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _format_table(rows):
    """Left-align the first column, right-align the others; ``rows[0]`` is the header."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [str(row[0]).ljust(widths[0])]
        cells += [str(cell).rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _format_items(items):
    """Key/value lines aligned on the colon, the layout of zarr's ``InfoReporter``."""
    width = max((len(str(key)) for key, _ in items), default=0)
    return "\n".join(f"{str(key).ljust(width)} : {value}" for key, value in items)


# ---------------------------------------------------------------------------------------------
# info


def _stored_size(store, key):
    """Bytes stored under ``key``; stats a file directly when the store is a directory."""
    root = getattr(store, "path", None)
    if isinstance(root, str) and os.path.isdir(root):
        try:
            return os.path.getsize(os.path.join(root, *key.split("/")))
        except OSError:
            pass  # not a plain file layout after all; ask the store
    return len(store[key])


def chunk_stats(arr):
    """Count and size the chunks an array has in its store.

    Parameters
    ----------
    arr : Array
        An array exposing ``store``/``chunk_store``, ``path``, ``ndim``, ``chunks``,
        ``itemsize`` and ``nchunks`` as zarr 2.18's ``Array`` does.

    Returns
    -------
    list of (str, str)
        Rows ``(name, value)``: chunk keys present vs ``nchunks``, min/median/max and total
        stored chunk bytes, and the compression ratio of the present chunks (decoded bytes of
        a full chunk times chunks present, over stored bytes).
    """
    store = getattr(arr, "chunk_store", None)
    if store is None:
        store = arr.store
    prefix = f"{arr.path}/" if arr.path else ""
    # A chunk key is ndim integers joined by '.' or '/'; anything else (metadata, child nodes)
    # is skipped. A 0-d array has the single key "0".
    ndim = arr.ndim
    pattern = re.compile(r"^0$" if ndim == 0 else r"^\d+" + r"[./]\d+" * (ndim - 1) + r"$")
    sizes = []
    for key in store.keys():
        if prefix and not key.startswith(prefix):
            continue
        if pattern.match(key[len(prefix):]):
            sizes.append(_stored_size(store, key))
    nchunks = arr.nchunks
    rows = [("Chunk keys present", f"{len(sizes)}/{nchunks}")]
    if not sizes:
        rows.append(("Stored chunk bytes", "no chunks stored"))
        return rows
    sizes = np.asarray(sizes, dtype=np.int64)
    total = int(sizes.sum())
    rows.append(
        (
            "Stored chunk bytes",
            f"min {int(sizes.min())} / median {int(np.median(sizes))} / max {int(sizes.max())}",
        )
    )
    rows.append(("Stored chunk bytes total", f"{total} ({_human_bytes(total)})" if total > 1024 else str(total)))
    chunk_nbytes = math.prod(arr.chunks) * arr.itemsize
    ratio = len(sizes) * chunk_nbytes / total if total else float("inf")
    rows.append(("Compression ratio", f"{ratio:.2f}"))
    return rows


def _info_lines(node):
    """The info table of an array or group, as zarr 2.18 prints it."""
    info_items = getattr(node, "info_items", None)
    if callable(info_items):
        return list(info_items())
    return None


def _cmd_info(args, out, err):
    import zarr_fast

    store = None
    try:
        store = _open_store(args.path, args.storage_options, "r")
        node = zarr_fast.open(store, mode="r")
        items = _info_lines(node)
        is_array = hasattr(node, "nchunks") and hasattr(node, "chunks")
        if is_array:
            rows = (items if items is not None else []) + chunk_stats(node)
            if items is None:
                out.write(f"{node.info if hasattr(node, 'info') else repr(node)}\n")
            out.write(_format_items(rows) + "\n")
            return 0
        # A group (or another node): its own info, then chunk statistics per array inside.
        if items is not None:
            out.write(_format_items(items) + "\n")
        else:
            out.write(f"{getattr(node, 'info', repr(node))}\n")
        arrays = getattr(node, "arrays", None)
        if callable(arrays):
            try:
                members = list(arrays(recurse=True))
            except TypeError:  # an arrays() without the recurse keyword
                members = list(arrays())
            for name, child in members:
                out.write(f"\n[{getattr(child, 'name', name)}]\n")
                out.write(_format_items(chunk_stats(child)) + "\n")
        return 0
    except Exception as exc:  # any failure to open/read is reported, not traced back
        message = str(exc) or type(exc).__name__
        err.write(f"zarr-fast info: error: {args.path}: {type(exc).__name__}: {message}\n")
        return 1
    finally:
        if store is not None:
            _close_store(store)


# ---------------------------------------------------------------------------------------------
# bench


def make_compressor(name, clevel=5):
    """The numcodecs compressor for a ``--compressor`` choice.

    ``blosc-lz4`` is Blosc/LZ4 with byte shuffle, ``zstd`` is the numcodecs Zstd codec and
    ``none`` means no compressor (``None``).
    """
    import numcodecs

    if name == "blosc-lz4":
        return numcodecs.Blosc(cname="lz4", clevel=clevel, shuffle=numcodecs.Blosc.SHUFFLE)
    if name == "zstd":
        return numcodecs.Zstd(level=3)
    if name == "none":
        return None
    raise ValueError(f"compressor must be one of {COMPRESSOR_CHOICES}, got {name!r}")


def make_data(shape, dtype="float32", seed=0):
    """A seeded 2-d field that compresses like real data: smooth waves plus quantised noise.

    Values are rounded to multiples of 1/1024 so the low mantissa bytes repeat, which is what
    makes measured data compressible with a byte shuffle; the noise keeps it from being trivial.
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    rows, cols = shape
    dim_y = np.sin(np.linspace(0, 4 * np.pi, rows, dtype=np.float32))[:, None]
    dim_x = np.cos(np.linspace(0, 6 * np.pi, cols, dtype=np.float32))[None, :]
    field = dim_y * dim_x
    field += np.float32(0.05) * rng.standard_normal(shape, dtype=np.float32)
    np.round(field * np.float32(1024), out=field)
    field /= np.float32(1024)
    if dtype.kind == "f":
        return field.astype(dtype, copy=False)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(field * 100 + (0 if dtype.kind == "i" else 128), info.min, info.max).astype(dtype)
    raise ValueError(f"bench data needs a numeric dtype (int, uint or float), got {dtype}")


def _parse_dims(text, option):
    try:
        dims = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{option} expects N or N,M with integers, got {text!r}")
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"{option} expects one or two positive integers, got {text!r}")
    return dims


def _parse_chunks(text):
    """``C`` (every axis) or ``C,D,...`` (one per axis) for ``zarr-fast copy --chunks``."""
    try:
        dims = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--chunks expects C or C,D,... with integers, got {text!r}")
    if min(dims) < 1:
        raise argparse.ArgumentTypeError(f"--chunks expects positive integers, got {text!r}")
    return dims[0] if len(dims) == 1 else dims


def _implementations(compare, err):
    import zarr_fast

    impls = [("zarr_fast", zarr_fast)]
    if compare:
        try:
            import zarr
        except Exception as exc:  # zarr-python missing or broken against this numcodecs
            err.write(f"zarr-fast bench: --compare skipped: cannot import zarr ({exc})\n")
        else:
            impls.append((f"zarr {zarr.__version__}", zarr))
    return impls


def _workloads(shape, itemsize, seed):
    """The timed operations as ``(name, kind, selection, selected bytes, ops per call)``."""
    rows, cols = shape
    rng = np.random.default_rng(seed + 1)
    row_margin, col_margin = rows * 500 // 10000, cols * 700 // 10000
    window = (slice(row_margin, rows - row_margin), slice(col_margin, cols - col_margin))
    window_nitems = (rows - 2 * row_margin) * (cols - 2 * col_margin)
    npoints = 2000
    points = (rng.integers(0, rows, npoints), rng.integers(0, cols, npoints))
    orth = (
        np.sort(rng.choice(rows, min(2000, rows), replace=False)),
        np.sort(rng.choice(cols, min(2000, cols), replace=False)),
    )
    ncoords = 1_000_000
    coords = (rng.integers(0, rows, ncoords), rng.integers(0, cols, ncoords))
    whole = rows * cols * itemsize
    return [
        ("write whole", "write", None, whole, 1),
        ("read whole", "read", (slice(None), slice(None)), whole, 1),
        (
            f"read window [{row_margin}:{rows - row_margin}, {col_margin}:{cols - col_margin}]",
            "read",
            window,
            window_nitems * itemsize,
            1,
        ),
        (f"random single-element reads x{npoints}", "points", points, npoints * itemsize, npoints),
        (f"oindex {len(orth[0])}x{len(orth[1])} sorted ints", "oindex", orth, orth[0].size * orth[1].size * itemsize, 1),
        (f"vindex {ncoords:,} random points", "vindex", coords, ncoords * itemsize, 1),
    ]


def _expected(data, kind, selection):
    if kind == "read":
        return data[selection]
    if kind == "oindex":
        return data[np.ix_(*selection)]
    if kind == "vindex":
        return data[selection]
    return None


def _run_once(arr, kind, selection, data):
    """Run one workload on ``arr``; returns (seconds, result or None)."""
    start = time.perf_counter()
    result = None
    if kind == "write":
        arr[...] = data
    elif kind == "read":
        result = arr[selection]
    elif kind == "points":
        dim_rows, dim_cols = selection
        for i, j in zip(dim_rows.tolist(), dim_cols.tolist()):
            arr[i, j]
    elif kind == "oindex":
        result = arr.oindex[selection]
    elif kind == "vindex":
        result = arr.vindex[selection]
    return time.perf_counter() - start, result


def run_bench(shape=(8192, 8192), chunks=(1024, 1024), dtype="float32", compressor="blosc-lz4",
              repeat=3, compare=False, directory=None, seed=0, out=None, err=None):
    """Time the standard workloads and print a table; returns the measured medians.

    Parameters
    ----------
    shape, chunks : tuple of two ints
        Array and chunk shape.
    dtype : str
        Numeric NumPy dtype of the array.
    compressor : {'blosc-lz4', 'zstd', 'none'}
        Codec of the chunks (see :func:`make_compressor`).
    repeat : int
        Repeats per workload; the table shows the median.
    compare : bool
        Also run zarr-python (when importable), interleaved with zarr_fast on the same data.
    directory : str, optional
        Where to put the scratch stores; a temporary directory (removed afterwards) if None.
    seed : int
        Seed of the data and of the random selections.
    out, err : file-like, optional
        Streams for the table and the progress bar; ``sys.stdout``/``sys.stderr`` by default.

    Returns
    -------
    dict
        ``{(workload name, implementation name): median seconds}``.

    Raises
    ------
    RuntimeError
        If an implementation reads back values different from what was written.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    impls = _implementations(compare, err)
    codec = make_compressor(compressor)
    data = make_data(shape, dtype, seed)
    workloads = _workloads(shape, data.itemsize, seed)
    owns_directory = directory is None
    root = tempfile.mkdtemp(prefix="zarr-fast-bench-") if owns_directory else directory
    os.makedirs(root, exist_ok=True)
    timings = {}
    try:
        paths = {}
        arrays = {}
        for index, (impl_name, module) in enumerate(impls):
            paths[impl_name] = os.path.join(root, f"bench-{index}.zarr")
            arrays[impl_name] = module.open_array(
                paths[impl_name], mode="w", shape=shape, chunks=chunks, dtype=data.dtype,
                compressor=codec, fill_value=0,
            )
        # Reads of every implementation go to one store (the first one's), so they decode the
        # same bytes in the same layout.
        readers = None
        with Progress(len(workloads) * repeat * len(impls), "bench", stream=err) as bar:
            for name, kind, selection, _, _ in workloads:
                if kind != "write" and readers is None:
                    readers = {impl_name: module.open_array(paths[impls[0][0]], mode="r")
                               for impl_name, module in impls}
                expected = _expected(data, kind, selection)
                samples = {impl_name: [] for impl_name, _ in impls}
                for round_index in range(repeat):
                    # Interleave implementations so drift (page cache, turbo) hits all alike.
                    for impl_name, _ in impls:
                        arr = arrays[impl_name] if kind == "write" else readers[impl_name]
                        seconds, result = _run_once(arr, kind, selection, data)
                        if round_index == 0 and expected is not None and not np.array_equal(result, expected):
                            raise RuntimeError(f"{impl_name} returned wrong values for {name!r}")
                        samples[impl_name].append(seconds)
                        bar.advance(status=f"{name} ({impl_name})")
                for impl_name, values in samples.items():
                    timings[(name, impl_name)] = float(np.median(values))
    finally:
        if owns_directory:
            shutil.rmtree(root, ignore_errors=True)

    out.write(
        f"zarr-fast bench: shape {shape}, chunks {chunks}, {np.dtype(dtype)}, {compressor}, "
        f"median of {repeat}, {len(impls)} implementation(s)\n"
        f"throughput is GB/s (1e9 bytes) of selected data\n\n"
    )
    header = ["workload", "selected"]
    for impl_name, _ in impls:
        header += [f"{impl_name} time", f"{impl_name} GB/s"]
    if len(impls) > 1:
        header.append(f"ratio {impls[1][0].split()[0]}/zarr_fast")
    rows = [header]
    for name, kind, _, selected_nbytes, nops in workloads:
        row = [name, _human_bytes(selected_nbytes)]
        for impl_name, _ in impls:
            seconds = timings[(name, impl_name)]
            shown = f"{seconds / nops * 1e6:.1f} µs/read" if nops > 1 else _format_seconds(seconds)
            row += [shown, f"{selected_nbytes / seconds / 1e9:.3g}" if seconds > 0 else "inf"]
        if len(impls) > 1:
            base = timings[(name, impls[0][0])]
            row.append(f"{timings[(name, impls[1][0])] / base:.2f}x" if base > 0 else "n/a")
        rows.append(row)
    out.write(_format_table(rows) + "\n")
    return timings


def _cmd_bench(args, out, err):
    try:
        np.dtype(args.dtype)
    except TypeError as exc:
        err.write(f"zarr-fast bench: error: bad --dtype {args.dtype!r}: {exc}\n")
        return 1
    if args.repeat < 1:
        err.write("zarr-fast bench: error: --repeat must be at least 1\n")
        return 1
    run_bench(shape=args.shape, chunks=args.chunks, dtype=args.dtype, compressor=args.compressor,
              repeat=args.repeat, compare=args.compare, directory=args.dir, seed=args.seed,
              out=out, err=err)
    return 0


# ---------------------------------------------------------------------------------------------
# tree and copy


def _is_url(text):
    # the test normalize_store_arg applies: fsspec URLs and chained URLs
    return isinstance(text, str) and ("://" in text or "::" in text)


def _parse_storage_options(text):
    """``--storage-options`` is a JSON object, e.g. ``'{"anon": true}'``."""
    try:
        options = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--storage-options expects a JSON object, got {text!r}: {exc}")
    if not isinstance(options, dict):
        raise argparse.ArgumentTypeError(f"--storage-options expects a JSON object, got {text!r}")
    return options


def _open_store(location, storage_options, mode, *, is_explicit=True):
    """The store at a path or URL, as ``normalize_store_arg`` builds it for ``mode``.

    Storage options go to URLs only. Given explicitly for a local path they are refused
    (as ``normalize_store_arg`` does); the shared ``--storage-options`` of ``copy`` is simply
    not applied to a local side (``is_explicit=False``).
    """
    from zarr_fast.storage import normalize_store_arg

    if storage_options and not _is_url(location):
        if is_explicit:
            raise ValueError(f"storage options apply to URLs only; {location!r} is a local path")
        storage_options = None
    return normalize_store_arg(location, storage_options=storage_options or None, mode=mode)


def _close_store(store):
    close = getattr(store, "close", None)
    if callable(close):
        close()


def _cmd_tree(args, out, err):
    import zarr_fast

    store = None
    try:
        store = _open_store(args.path, args.storage_options, "r")
        node = zarr_fast.open(store, mode="r")
        if not hasattr(node, "tree"):
            out.write(f"{node!r}\n")
            return 0
        tree = node.tree(level=args.level)
        out.write((bytes(tree).decode("ascii") if args.ascii else str(tree)) + "\n")
        return 0
    except Exception as exc:
        err.write(f"zarr-fast tree: error: {args.path}: {type(exc).__name__}: {exc}\n")
        return 1
    finally:
        if store is not None:
            _close_store(store)


def _source_nbytes(node):
    """Decoded bytes of every array in ``node`` (an array or a group, walked recursively)."""
    if hasattr(node, "shape"):
        return int(np.prod(node.shape, dtype=np.int64)) * np.dtype(node.dtype).itemsize
    total = 0
    for _, child in node.arrays(recurse=True):
        total += int(np.prod(child.shape, dtype=np.int64)) * np.dtype(child.dtype).itemsize
    return total


class _NullStream:
    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def _cmd_copy(args, out, err):
    """Copy an array or a whole hierarchy; finished nodes are skipped on a re-run."""
    import zarr_fast
    from zarr_fast.convenience import _observe_copy

    create_kws = {}
    if args.chunks is not None:
        create_kws["chunks"] = args.chunks
    if args.compressor is not None:
        create_kws["compressor"] = make_compressor(args.compressor)
    show_bar = err.isatty() if args.progress is None and hasattr(err, "isatty") else bool(args.progress)

    source_store = dest_store = None
    try:
        source_options = args.src_storage_options if args.src_storage_options is not None else args.storage_options
        dest_options = args.dst_storage_options if args.dst_storage_options is not None else args.storage_options
        source_store = _open_store(args.source, source_options, "r",
                                   is_explicit=args.src_storage_options is not None)
        dest_store = _open_store(args.dest, dest_options, "a",
                                 is_explicit=args.dst_storage_options is not None)
        source = zarr_fast.open(source_store, mode="r")
        dest = zarr_fast.open_group(dest_store, mode="a")
        # Without a bar the counts still feed the summary line; nothing is drawn.
        bar = TransferProgress(_source_nbytes(source), label="copy",
                               stream=err if show_bar else _NullStream(), is_interactive=show_bar)
        log = None
        if args.verbose:
            # above a live bar, the bar clears its line first; otherwise straight to stderr
            log = bar.write if show_bar else (lambda line: err.write(line + "\n"))
        with _observe_copy(bar), bar:
            if hasattr(source, "tree"):
                counts = zarr_fast.copy_all(source, dest, log=log, if_exists=args.if_exists, **create_kws)
            else:
                name = args.name or source.basename or "array"
                counts = zarr_fast.copy(source, dest, name=name, log=log, if_exists=args.if_exists,
                                        **create_kws)
    except Exception as exc:
        err.write(f"zarr-fast copy: error: {type(exc).__name__}: {exc}\n")
        return 1
    finally:
        # a zip destination is only complete once closed
        for store in (dest_store, source_store):
            if store is not None:
                try:
                    _close_store(store)
                except Exception as exc:
                    err.write(f"zarr-fast copy: error closing store: {type(exc).__name__}: {exc}\n")
    n_copied, n_skipped, n_bytes = counts
    seconds, byte_rate, chunk_rate = bar.rates()
    out.write(f"copied {n_copied} items ({_human_bytes(n_bytes)}, {bar.nchunks} chunks), "
              f"skipped {n_skipped}, in {_format_seconds(seconds)} "
              f"({_human_bytes(byte_rate)}/s, {chunk_rate:.1f} chunks/s)\n")
    return 0


# ---------------------------------------------------------------------------------------------
# entry point


def _add_storage_options(parser, target="the URL"):
    parser.add_argument("--storage-options", type=_parse_storage_options, default=None, metavar="JSON",
                        help=f"fsspec options (a JSON object) for {target}, e.g. '{{\"anon\": true}}'")


def _parser():
    parser = argparse.ArgumentParser(
        prog="zarr-fast",
        description="Inspect Zarr arrays and benchmark zarr_fast (a drop-in zarr-python 2.18).",
    )
    parser.add_argument("--version", action="version", version=f"zarr-fast {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = commands.add_parser("info", help="print an array's info and chunk statistics")
    info.add_argument("path", metavar="URL", help="path or store URL of a Zarr v2 array or group")
    _add_storage_options(info)

    bench = commands.add_parser("bench", help="time common read/write workloads")
    bench.add_argument("--dir", default=None, help="scratch directory (default: a temporary one, removed)")
    bench.add_argument("--shape", type=lambda t: _parse_dims(t, "--shape"), default=(8192, 8192),
                       help="N or N,M (default 8192: 256 MiB of float32)")
    bench.add_argument("--chunks", type=lambda t: _parse_dims(t, "--chunks"), default=(1024, 1024),
                       help="C or C,D (default 1024)")
    bench.add_argument("--dtype", default="float32", help="numeric dtype (default float32)")
    bench.add_argument("--compressor", choices=COMPRESSOR_CHOICES, default="blosc-lz4",
                       help="chunk codec (default blosc-lz4: clevel 5, byte shuffle)")
    bench.add_argument("--repeat", type=int, default=3, help="repeats per workload; median shown")
    bench.add_argument("--seed", type=int, default=0, help="seed of data and selections")
    bench.add_argument("--compare", action="store_true",
                       help="also run zarr-python 2.18.7 and show the ratio zarr time / zarr_fast time")

    tree = commands.add_parser("tree", help="print a group's hierarchy as zarr's Group.tree() does")
    tree.add_argument("path", metavar="URL", help="path or store URL of a Zarr v2 group or array")
    _add_storage_options(tree)
    tree.add_argument("--level", type=int, default=None, help="how many levels to show")
    tree.add_argument("--ascii", action="store_true", help="ASCII instead of unicode lines")

    copy = commands.add_parser("copy", help="copy (and optionally rechunk/recompress) an array or group")
    copy.add_argument("source", metavar="SRC", help="path or store URL of the array or group to copy")
    copy.add_argument("dest", metavar="DST",
                      help="path or store URL of the destination group (created if missing)")
    copy.add_argument("--name", default=None, help="name of a copied array inside DST (default: its own)")
    copy.add_argument("--chunks", type=_parse_chunks, default=None,
                      help="new chunk shape for every array (default: keep)")
    copy.add_argument("--compressor", choices=COMPRESSOR_CHOICES, default=None,
                      help="new compressor for every array (default: keep)")
    copy.add_argument("--if-exists", choices=["skip", "skip_initialized", "replace", "raise"], default="skip",
                      help="what to do with nodes already in DST (default skip: safe to re-run)")
    copy.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="live progress bar on stderr (default: when stderr is a terminal)")
    copy.add_argument("-v", "--verbose", action="store_true",
                      help="log every array and group copied or skipped on stderr")
    _add_storage_options(copy, "SRC and DST when they are URLs")
    copy.add_argument("--src-storage-options", type=_parse_storage_options, default=None, metavar="JSON",
                      help="fsspec options for SRC only (overrides --storage-options)")
    copy.add_argument("--dst-storage-options", type=_parse_storage_options, default=None, metavar="JSON",
                      help="fsspec options for DST only (overrides --storage-options)")
    return parser


def main(argv=None, out=None, err=None):
    """Run the ``zarr-fast`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` if None.
    out, err : file-like, optional
        Output and error streams; ``sys.stdout``/``sys.stderr`` if None.

    Returns
    -------
    int
        Exit status: 0 on success, 1 on a reported error. Usage errors exit through argparse
        (``SystemExit(2)``), as does ``--version`` (``SystemExit(0)``).

    Examples
    --------
    >>> main(["--version"])  # doctest: +SKIP
    zarr-fast 0.1.0
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        return _cmd_info(args, out, err)
    if args.command == "bench":
        return _cmd_bench(args, out, err)
    if args.command == "tree":
        return _cmd_tree(args, out, err)
    if args.command == "copy":
        return _cmd_copy(args, out, err)
    parser.print_help(out)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
