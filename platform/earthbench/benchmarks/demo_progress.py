"""Progress of the demo's background set-up (``manage.py demo_background``),
shown on the site while `make demo` already serves it.

One small JSON file in ``EARTHBENCH_VAR_DIR`` (``demo-progress.json``), written
atomically by the background process and read by the catalog page: the steps
(baselines scored, downloads built), how far each is, and what failed. No file:
nothing is running and nothing is shown.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from django.conf import settings

FILENAME = "demo-progress.json"


def path() -> Path:
    return Path(settings.VAR_DIR) / FILENAME


def write(state: dict) -> None:
    target = path()
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**state, "updated": time.time()}))
    os.replace(tmp, target)


def read() -> dict | None:
    """The last state written, or None (no background set-up, or unreadable)."""
    try:
        state = json.loads(path().read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("steps"), list) else None


def pending(state: dict | None) -> list[dict]:
    """The steps to show: not finished yet, or finished with failures (each
    ``{name, label, done, total, finished, failed}``)."""
    if not state:
        return []
    return [s for s in state["steps"] if not s.get("finished") or s.get("failed")]
