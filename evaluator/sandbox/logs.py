"""Container output: streamed through a size-capped buffer, only the tail kept."""

from __future__ import annotations

from collections import deque


class TailBuffer:
    """Keeps the last ``cap`` bytes written; counts everything."""

    def __init__(self, cap: int):
        self.cap = cap
        self.total = 0
        self._chunks: deque[bytes] = deque()
        self._kept = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        if len(data) >= self.cap:
            self._chunks.clear()
            data = data[-self.cap :]
            self._kept = 0
        self._chunks.append(data)
        self._kept += len(data)
        while self._kept - len(self._chunks[0]) >= self.cap:
            self._kept -= len(self._chunks.popleft())

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def tail(self, max_lines: int = 200) -> str:
        """The last lines kept, at most ``cap`` bytes, decoded leniently."""
        data = b"".join(self._chunks)[-self.cap :]
        lines = data.decode("utf-8", errors="replace").splitlines()
        if self.truncated and lines:
            lines = lines[1:]  # the first kept line is usually cut in half
        return "\n".join(lines[-max_lines:])
