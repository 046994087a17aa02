"""A minimal progress bar for the command line, written to stderr.

Used by ``zarr-fast bench`` so a long run shows it is alive without adding a runtime
dependency (tqdm is only a ``bench`` extra). Callers give the total number of steps up front
and call :meth:`Progress.advance` once per finished step; the bar never raises on
over-advancing (it clamps) and prints nothing but one summary line when the stream is not a
terminal, so captured output in tests and CI logs stays short.
"""
from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


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
