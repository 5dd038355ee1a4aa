"""Progress on stderr without extra dependencies.

On a terminal the line is redrawn in place; in a CI log (not a TTY) a line is
printed every 10 % (or every 100 MiB when the total is unknown) so logs stay short.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, TextIO


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class Progress:
    """Counts bytes and reports them; ``total=None`` when the size is unknown."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        interactive: bool | None = None,
    ):
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        if interactive is None:
            interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interactive = interactive
        self._last_draw = 0.0
        self._last_step = -1
        self._printed: str | None = None  # the last line printed in a CI log

    def reset(self) -> None:
        """Start over (an upload being retried from the first byte)."""
        self.done = 0
        self._last_step = -1

    def set(self, done: int) -> None:
        """Jump to ``done`` bytes (a chunked upload resumed at the server's offset)."""
        self.done = done
        if self.total:
            self._last_step = min(self._last_step, int(done * 10 / self.total))

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.interactive:
            now = time.monotonic()
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                self.stream.write("\r" + self._text())
                self.stream.flush()
            return
        step = (
            int(self.done * 10 / self.total) if self.total else self.done // (100 << 20)
        )
        if step > self._last_step:
            self._last_step = step
            self._write_line(self._text())

    def finish(self) -> None:
        if not self.enabled:
            return
        if self.interactive:
            self.stream.write("\r" + self._text() + "\n")
            self.stream.flush()
        elif self._printed != self._text():
            self._write_line(self._text())

    def _write_line(self, text: str) -> None:
        self._printed = text
        self.stream.write(text + "\n")
        self.stream.flush()

    def _text(self) -> str:
        if self.total:
            pct = 100.0 * self.done / self.total
            return (
                f"{self.label}: {human_bytes(self.done)} / "
                f"{human_bytes(self.total)} ({pct:.0f}%)"
            )
        return f"{self.label}: {human_bytes(self.done)}"


class ProgressReader:
    """A binary file wrapper that reports bytes as httpx reads them.

    It keeps ``fileno`` so httpx can size the body from ``fstat`` and send a
    ``Content-Length`` (Django's dev server cannot read chunked request bodies),
    and ``seek`` so a retried request replays the file from the start.
    """

    def __init__(self, fileobj: IO[bytes], progress: Progress):
        self._f = fileobj
        self.progress = progress
        self.max_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self.max_read = max(self.max_read, len(data))
        self.progress.update(len(data))
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        pos = self._f.seek(offset, whence)
        if pos == 0:
            self.progress.reset()
        return pos

    def tell(self) -> int:
        return self._f.tell()

    def fileno(self) -> int:
        return self._f.fileno()

    @property
    def name(self) -> str:
        return getattr(self._f, "name", "file")
