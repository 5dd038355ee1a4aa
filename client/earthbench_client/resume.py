"""Where a chunked upload can be picked up again by a later run of the CLI.

A small JSON file maps (server URL, file sha256, size) to the id of the open
upload, so a CI job re-run after a crash continues the same upload instead of
sending the file again. It lives at ``$XDG_CACHE_HOME/earthbench/uploads.json``
(default ``~/.cache/earthbench/uploads.json``). Losing it only costs a fresh
upload, so every I/O problem here is reported and otherwise ignored.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

# Open uploads older than this are not worth remembering (servers expire them).
MAX_AGE_S = 7 * 24 * 3600


def state_path(env: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/earthbench/uploads.json``, else under ``~/.cache``."""
    xdg = (env.get("XDG_CACHE_HOME") or "").strip()
    # The XDG spec says to ignore a relative value.
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    else:
        home = (env.get("HOME") or "").strip()
        base = (Path(home) if home else Path.home()) / ".cache"
    return base / "earthbench" / "uploads.json"


class UploadState:
    """The saved upload ids; each call re-reads the file (another run may write it)."""

    def __init__(
        self,
        path: Path,
        *,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.path = path
        self.log = log or (lambda _msg: None)
        self.clock = clock
        self._warned = False

    @staticmethod
    def key(url: str, sha256: str, size: int) -> str:
        return f"{url.rstrip('/')} {sha256.lower()} {size}"

    def get(self, url: str, sha256: str, size: int) -> str | None:
        entry = self._load().get(self.key(url, sha256, size))
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            return entry["id"]
        return None

    def put(self, url: str, sha256: str, size: int, upload_id: str) -> None:
        entries = self._load()
        entries[self.key(url, sha256, size)] = {"id": upload_id, "saved": self.clock()}
        self._save(entries)

    def remove(self, url: str, sha256: str, size: int) -> None:
        entries = self._load()
        if entries.pop(self.key(url, sha256, size), None) is not None:
            self._save(entries)

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            self._warn(f"ignoring unreadable upload state {self.path}: {exc}")
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, entries: dict) -> None:
        now = self.clock()
        fresh = {
            k: v
            for k, v in entries.items()
            if isinstance(v, dict) and now - float(v.get("saved") or 0) < MAX_AGE_S
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a crash mid-write never leaves half a file.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".uploads-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(fresh, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:
            self._warn(f"cannot save upload state to {self.path}: {exc}")

    def _warn(self, msg: str) -> None:
        if not self._warned:
            self._warned = True
            self.log(msg)
