"""The mask kinds and the CLI do not import torch on a host without a GPU
(issue 23: importing it cost ≈ 1.5 s and 230 MB on every ``python -m
evaluator score`` run). Each case runs ``evaluator.cli.main`` in a fresh
interpreter and reports whether ``torch`` is in ``sys.modules`` at exit."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]

_RUN = """
import json, sys
from evaluator.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "torch": "torch" in sys.modules}))
"""


def _zip(path: Path, masks: dict[str, np.ndarray]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for sid, arr in masks.items():
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, format="PNG")
            zf.writestr(f"{sid}.png", buf.getvalue())
    return path


def _cpu_only_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "EARTHBENCH_DEVICE"}
    env["PYTHONPATH"] = f"{REPO}:{REPO / 'client'}"
    # A GPU host keeps its GPU for the torch path; hide it so the case is the
    # CPU-only host's on every machine.
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def _cli(args: list[str], env: dict[str, str]) -> dict:
    r = subprocess.run([sys.executable, "-c", _RUN, *args], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("kind", "values", "options"),
    [
        ("segmentation", 3, {"num_classes": 3}),
        ("change-detection", 2, {"variant": "binary"}),
        ("referring-segmentation", 2, {}),
    ],
)
def test_mask_kind_cli_does_not_import_torch(tmp_path, kind, values, options):
    rng = np.random.default_rng(0)
    masks = lambda: {f"s{i}": rng.integers(0, values, (16, 16), dtype=np.uint8) for i in range(3)}  # noqa: E731
    t, p = _zip(tmp_path / "t.zip", masks()), _zip(tmp_path / "p.zip", masks())
    out = _cli(["score", "--kind", kind, "--predictions", str(p), "--truth", str(t),
                "--options", json.dumps(options)], _cpu_only_env())
    assert out == {"rc": 0, "torch": False}


def test_cli_listing_does_not_import_torch():
    assert _cli(["kinds"], _cpu_only_env()) == {"rc": 0, "torch": False}


def test_the_check_sees_torch_when_the_torch_path_is_taken(tmp_path):
    """The probe can fail: forcing the torch backend does load torch."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    masks = lambda: {f"s{i}": rng.integers(0, 3, (16, 16), dtype=np.uint8) for i in range(2)}  # noqa: E731
    t, p = _zip(tmp_path / "t.zip", masks()), _zip(tmp_path / "p.zip", masks())
    env = _cpu_only_env() | {"EARTHBENCH_DEVICE": "torch"}
    out = _cli(["score", "--kind", "segmentation", "--predictions", str(p), "--truth", str(t),
                "--options", json.dumps({"num_classes": 3})], env)
    assert out == {"rc": 0, "torch": True}
