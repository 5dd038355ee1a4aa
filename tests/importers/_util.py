"""Shared helpers of the importer tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.importers import run_importer
from evaluator import api


def run(name: str, source: Path, tmp_path: Path, **params):
    out = tmp_path / f"out-{name}"
    out.mkdir(parents=True, exist_ok=True)
    return run_importer(name, source=source, out_dir=out, params=params)


def self_score(kind: str, data, pred, options: dict | None = None) -> dict:
    """Score ``pred`` against the imported truth; check the sample ids match."""
    ev = api.evaluate(kind, pred, data.truth_path, options or {})
    assert sorted(ev.sample_ids) == sorted(data.sample_ids)
    return ev.compute(None)


def png(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
