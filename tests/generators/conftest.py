"""Fixtures shared by the demo-generator tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest


def tree_digest(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under root (or of root itself)."""
    root = Path(root)
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def digest():
    return tree_digest


def check_demo(
    kind: str,
    generator: str,
    params: dict,
    options: dict,
    tmp_path: Path,
    *,
    perfect=None,
    chance=None,
):
    """Generate twice (identical bytes), then score baseline, truth (perfect) and a
    chance-level submission; returns (DemoData, baseline metrics).

    perfect: predictions Path equal to the truth (default: the truth itself);
    chance: chance-level predictions (default: the public sample submission)."""
    from benchmarks.generators import generate
    from evaluator.api import evaluate, score

    a = generate(generator, params=params, out_dir=tmp_path / "a", seed=7)
    generate(generator, params=params, out_dir=tmp_path / "b", seed=7)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    assert (a.public_dir / "README.txt").is_file()
    ev = evaluate(kind, a.baseline_path, a.truth_path, options)
    assert sorted(a.sample_ids) == sorted(ev.sample_ids)
    assert len(set(a.sample_ids)) == len(a.sample_ids)
    base = ev.compute(None)
    primary = base["primary"]
    best = score(kind, perfect(a) if perfect else a.truth_path, a.truth_path, options)
    if chance is None:
        chance_path = next(a.public_dir.glob("sample_submission.*"))
    else:
        chance_path = chance(a)
    low = score(kind, chance_path, a.truth_path, options)
    return a, base, best, low, primary


@pytest.fixture
def demo_check():
    return check_demo
