"""Redis hands a dead worker's message on only when an idle worker sweeps the
unacknowledged ones; the settings make that sweep run often enough for the
visibility timeout (tests/integration/test_faults.py runs it for real)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kombu.transport.redis import Channel

REPO = Path(__file__).resolve().parents[2]


def transport_options(tmp_path, **env) -> dict:
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"
    )
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "EARTHBENCH_"))}
    full.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.dev",
        EARTHBENCH_VAR_DIR=str(tmp_path),
        PYTHONPATH=f"{REPO}:{REPO / 'platform'}",
        **env,
    )
    r = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=REPO, env=full, capture_output=True, text=True, check=True,
    )
    return json.loads(r.stdout)


@pytest.mark.parametrize(
    ("visibility", "interval"), [(None, 10), ("3", 1), ("6", 1), ("30", 7), ("3600", 10)]
)
def test_redis_workers_sweep_at_a_quarter_of_the_visibility_timeout(tmp_path, visibility, interval):
    env = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    if visibility:
        env["CELERY_VISIBILITY_TIMEOUT"] = visibility
    opts = transport_options(tmp_path, **env)
    assert opts["unacked_restore_interval"] == interval
    # kombu 5.7 scans only every 10th tick by default (a 100 s period).
    assert opts["unacked_restore_throttle"] == 1
    assert opts["unacked_mutex_expire"] == 30
    # Names kombu's Redis channel reads (a renamed option would be ignored silently).
    for name in ("unacked_restore_throttle", "unacked_mutex_expire", "unacked_restore_interval"):
        assert name in Channel.from_transport_options


def test_the_embedded_broker_gets_no_redis_options(tmp_path):
    opts = transport_options(tmp_path)
    assert not any(k.startswith("unacked") for k in opts)
