"""Issue 18's load target on the embedded default stack (`make demo`'s runserver
+ solo worker with beat, SQLite database and broker): 50 parallel submits from
10 users, with a slow chunk PUT streaming meanwhile → no errors, every
submission scored exactly once, quotas consistent. bench/embedded_load.py
does the work; docs/reliability.md has its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow(17)
def test_fifty_parallel_submits_on_the_embedded_stack():
    proc = subprocess.run(
        [sys.executable, "bench/embedded_load.py", "--users", "10", "--per-user", "5",
         "--slow-put-seconds", "5", "--max-seconds", "240"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.stdout.strip(), proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["statuses"] == {"201": 50}, result
    assert result["errors"] == 0 and result["server_500s"] == 0
    assert result["scored"] == 50 and result["not_exactly_once"] == []
    assert result["quota_consistent"] is True
    assert result["slow_put"]["status"] == 200
    assert result["oversize_anonymous_post"]["status"] == 413
    assert result["oversize_anonymous_post"]["temp_dir_bytes"] == 0
    assert result["oversize_anonymous_post"]["closed"] is True  # the body is not drained
    assert result["ok"] is True and proc.returncode == 0
