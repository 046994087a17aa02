"""Minimal progress bars for the command line, written to stderr, with no dependency.

``Progress`` counts steps of a known total (``zarr-fast bench``). ``TransferProgress``
counts bytes and chunks of a data transfer (``zarr-fast copy``) and shows the fraction done,
bytes and chunks per second and the time left. Callers give the total up front and report
what finished; neither bar raises on over-advancing (they clamp), and when the stream is not
a terminal (unless forced) they print nothing but one summary line at the end, so captured
output in tests and CI logs stays short.
"""
from __future__ import annotations

import sys
import time

__all__ = ["Progress", "TransferProgress", "format_bytes", "format_duration"]


class Progress:
    """Count finished steps of a known total and draw a bar on a stream.

    Parameters
    ----------
    total : int
        Number of steps expected; values below 1 are treated as 1.
    label : str
        Short text shown before the bar.
    stream : file-like, optional
        Where to draw; defaults to ``sys.stderr``.
    width : int
        Number of characters in the bar itself.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> with Progress(3, "demo", stream=buf) as bar:
    ...     for _ in range(3):
    ...         bar.advance()
    >>> buf.getvalue().startswith("demo: 3/3")
    True
    """

    def __init__(self, total, label="", stream=None, width=30):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.count = 0
        self.status = ""
        self._start = time.perf_counter()
        # Redrawing in place only makes sense on a terminal; elsewhere \r litters logs.
        isatty = getattr(self.stream, "isatty", None)
        self.is_interactive = bool(isatty and isatty())
        self._is_closed = False

    def advance(self, steps=1, status=None):
        """Mark ``steps`` more steps finished and redraw; ``status`` replaces the trailing text."""
        self.count = min(self.count + steps, self.total)
        if status is not None:
            self.status = status
        if self.is_interactive:
            self._draw("\r")

    def _draw(self, lead):
        filled = int(self.width * self.count / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.perf_counter() - self._start
        text = f"{lead}{self.label}: [{bar}] {self.count}/{self.total} {elapsed:6.1f} s {self.status}"
        # Pad so a shorter status fully overwrites a longer previous one.
        self.stream.write(text.ljust(self.width + len(self.label) + 40))
        self.stream.flush()

    def close(self):
        """Print the final state once and end the line."""
        if self._is_closed:
            return
        self._is_closed = True
        elapsed = time.perf_counter() - self._start
        if self.is_interactive:
            self._draw("\r")
            self.stream.write("\n")
        else:
            self.stream.write(f"{self.label}: {self.count}/{self.total} steps in {elapsed:.1f} s\n")
        self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


def format_bytes(nbytes):
    """Binary units as zarr's info table writes them, e.g. ``'512'``, ``'1.5K'``, ``'3.0G'``.

    Examples
    --------
    >>> format_bytes(512), format_bytes(1536), format_bytes(3 * 2**30)
    ('512', '1.5K', '3.0G')
    """
    value = float(nbytes)
    for unit in ("", "K", "M", "G", "T"):
        if abs(value) < 1024 or unit == "T":
            return f"{int(value)}" if unit == "" else f"{value:.1f}{unit}"
        value /= 1024
    return str(nbytes)  # pragma: no cover


def format_duration(seconds):
    """``M:SS`` below an hour, ``H:MM:SS`` above; ``'--:--'`` when unknown (None or inf).

    Examples
    --------
    >>> format_duration(75), format_duration(3725), format_duration(None)
    ('1:15', '1:02:05', '--:--')
    """
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class TransferProgress:
    """Bytes and chunks moved out of a known total, drawn as a live bar on a terminal.

    The live line reads ``copy [#####.....]  50%  1.0M/2.0M  4.1M/s  12.0 chunks/s
    ETA 0:01  /name``: bytes done and total, byte and chunk rates since the start, and the
    time left at the current byte rate. Elsewhere only :meth:`close` writes, one line.

    Parameters
    ----------
    total_nbytes : int
        Bytes expected; :meth:`skip` lowers it for work that turns out not to be needed.
    label : str
        Short text shown first.
    stream : file-like, optional
        Where to draw; defaults to ``sys.stderr``.
    is_interactive : bool, optional
        Draw the live bar (True) or only the summary (False); by default, whether ``stream``
        is a terminal.
    width : int
        Number of characters in the bar itself.
    min_interval : float
        Seconds between redraws, so millions of small chunks do not flood the terminal;
        the final state is always drawn.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> with TransferProgress(2048, stream=buf) as bar:
    ...     bar.advance(2048, 2)
    >>> buf.getvalue().startswith("copy: 2.0K in 2 chunks")
    True
    """

    def __init__(self, total_nbytes, label="copy", stream=None, is_interactive=None, width=24,
                 min_interval=0.1):
        self.total_nbytes = max(int(total_nbytes), 0)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        if is_interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            is_interactive = bool(isatty and isatty())
        self.is_interactive = bool(is_interactive)
        self.width = width
        self.min_interval = min_interval
        self.nbytes = 0
        self.nchunks = 0
        self.status = ""
        self._start = time.perf_counter()
        self._last_draw = None
        self._last_width = 0
        self._is_closed = False

    # -- what the copy reports -------------------------------------------------------

    def begin(self, name):
        """Show ``name`` as the item being worked on."""
        self.status = str(name)
        self._maybe_draw()

    def advance(self, nbytes, nchunks=0):
        """Count ``nbytes`` more bytes and ``nchunks`` more chunks as done."""
        self.nbytes += int(nbytes)
        self.nchunks += int(nchunks)
        self._maybe_draw()

    def skip(self, nbytes):
        """Drop ``nbytes`` from the total: work that will not be done (already there)."""
        self.total_nbytes = max(self.total_nbytes - int(nbytes), 0)
        self._maybe_draw()

    def write(self, line):
        """Print a log line above the live bar (or plainly when there is no bar)."""
        if self.is_interactive and self._last_draw is not None:
            self.stream.write("\r" + " " * self._last_width + "\r")
        self.stream.write(line + "\n")
        if self.is_interactive and self._last_draw is not None:
            self._draw()
        else:
            self.stream.flush()

    # -- drawing ---------------------------------------------------------------------

    def rates(self):
        """``(elapsed seconds, bytes per second, chunks per second)`` since the start."""
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        return elapsed, self.nbytes / elapsed, self.nchunks / elapsed

    def line(self):
        """The text of the live bar for the current state."""
        elapsed, byte_rate, chunk_rate = self.rates()
        total = max(self.total_nbytes, self.nbytes)
        fraction = self.nbytes / total if total else 1.0
        filled = int(self.width * fraction)
        bar = "#" * filled + "." * (self.width - filled)
        eta = (total - self.nbytes) / byte_rate if byte_rate > 0 else (0 if fraction >= 1 else None)
        text = (f"{self.label} [{bar}] {fraction * 100:3.0f}%  "
                f"{format_bytes(self.nbytes)}/{format_bytes(total)}  "
                f"{format_bytes(byte_rate)}/s  {chunk_rate:.1f} chunks/s  "
                f"ETA {format_duration(eta)}")
        if self.status:
            text += f"  {self.status}"
        return text

    def _maybe_draw(self):
        if not self.is_interactive:
            return
        now = time.perf_counter()
        if self._last_draw is not None and now - self._last_draw < self.min_interval:
            return
        self._draw()

    def _draw(self):
        text = self.line()
        # Pad so a shorter line fully overwrites a longer previous one.
        self.stream.write("\r" + text.ljust(self._last_width))
        self.stream.flush()
        self._last_width = len(text)
        self._last_draw = time.perf_counter()

    def summary(self):
        """One line: bytes and chunks moved, the time taken and the rates."""
        elapsed, byte_rate, chunk_rate = self.rates()
        return (f"{self.label}: {format_bytes(self.nbytes)} in {self.nchunks} chunks, "
                f"{elapsed:.1f} s ({format_bytes(byte_rate)}/s, {chunk_rate:.1f} chunks/s)")

    def close(self):
        """Draw the final state and end the bar's line, or write the summary line."""
        if self._is_closed:
            return
        self._is_closed = True
        if self.is_interactive:
            self.status = ""
            self._draw()
            self.stream.write("\n")
        else:
            self.stream.write(self.summary() + "\n")
        self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False
