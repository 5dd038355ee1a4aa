"""Bootstrap confidence intervals: reproducibility, coverage, blocked resampling."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator.kinds.base import Evaluation
from evaluator.kinds.classification import ClassificationEvaluation
from evaluator.stats import (
    Resampler,
    bootstrap_ci,
    bootstrap_distribution,
    metric_value,
    percentile_interval,
)


class FlagsEvaluation(Evaluation):
    """Accuracy over per-sample correct flags (the simplest real Evaluation)."""

    def __init__(self, correct: np.ndarray):
        self.correct = np.asarray(correct, dtype=np.float64)
        self.sample_ids = [f"s{i}" for i in range(len(correct))]
        self.seen: list[np.ndarray] = []

    def compute(self, index=None):
        c = self.correct if index is None else self.correct[index]
        if index is not None:
            self.seen.append(np.asarray(index))
        return {"oa": float(c.mean()), "n_samples": len(c), "nested": {"x": 1.0}}


def test_fixed_seed_is_reproducible_and_seed_matters():
    ev = FlagsEvaluation(np.random.default_rng(0).random(300) < 0.7)
    a = bootstrap_ci(ev, ["oa"], n_resamples=300, seed=5)
    b = bootstrap_ci(ev, ["oa"], n_resamples=300, seed=5)
    c = bootstrap_ci(ev, ["oa"], n_resamples=300, seed=6)
    assert a == b and a != c
    lo, hi = a["oa"]
    assert lo < ev.compute()["oa"] < hi


def test_percentile_interval_follows_the_documented_algorithm():
    correct = np.random.default_rng(1).random(50) < 0.6
    ev = FlagsEvaluation(correct)
    index = np.arange(10, 50)
    got = bootstrap_ci(ev, ["oa"], index=index, n_resamples=200, confidence=0.9, seed=3)
    rng = np.random.default_rng(3)
    draws = [correct[index[rng.integers(0, 40, 40)]].mean() for _ in range(200)]
    assert got["oa"] == pytest.approx(
        tuple(np.quantile(draws, [0.05, 0.95])), abs=1e-15
    )


def test_degenerate_and_undefined_metrics():
    ev = FlagsEvaluation(np.ones(20))
    out = bootstrap_ci(ev, ["oa", "nested.x", "n_samples", "absent"], n_resamples=20)
    assert out["oa"] == (1.0, 1.0) and out["nested.x"] == (1.0, 1.0)
    assert out["n_samples"] == (20.0, 20.0)
    assert "absent" not in out
    assert bootstrap_ci(ev, ["oa"], index=np.array([], dtype=np.int64)) == {}
    assert percentile_interval(np.empty(0)) is None
    assert metric_value({"a": {"b": True}}, "a.b") is None
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(ev, ["oa"], confidence=1.5)
    with pytest.raises(ValueError, match="blocks has 3 entries for 20 samples"):
        bootstrap_ci(ev, ["oa"], blocks=["a", "b", "c"])


def test_coverage_of_bernoulli_accuracy():
    # 200 simulated test sets of 150 samples with P(correct) = 0.8: the 95%
    # percentile interval should cover 0.8 in roughly 90–99% of them.
    rng = np.random.default_rng(2024)
    covered = 0
    for k in range(200):
        ev = FlagsEvaluation(rng.random(150) < 0.8)
        lo, hi = bootstrap_ci(ev, ["oa"], n_resamples=300, seed=k)["oa"]
        covered += lo <= 0.8 <= hi
    assert 0.90 <= covered / 200 <= 0.99


def test_blocked_resamples_whole_blocks():
    blocks = [f"b{i // 5}" for i in range(40)]  # 8 blocks of 5
    ev = FlagsEvaluation(np.zeros(40))
    index = np.arange(10, 40)  # 6 blocks in the subset
    bootstrap_distribution(
        ev, ["oa"], index=index, n_resamples=30, blocks=blocks, seed=1
    )
    for idx in ev.seen:
        assert len(idx) == 30 and idx.min() >= 10
        labels, counts = np.unique([blocks[i] for i in idx], return_counts=True)
        assert all(c % 5 == 0 for c in counts)  # whole blocks only
        # block b2 = samples 10..14: each occurrence brings all five members
        members, member_counts = np.unique(
            idx[(idx >= 10) & (idx < 15)], return_counts=True
        )
        assert len(members) in (0, 5) and len(set(member_counts)) <= 1


def test_resampler_handles_unequal_blocks():
    blocks = ["a"] * 1 + ["b"] * 4 + ["c"] * 2
    r = Resampler(np.arange(7), blocks)
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = r.draw(rng)
        groups = {"a": {0}, "b": {1, 2, 3, 4}, "c": {5, 6}}
        got = [blocks[i] for i in idx]
        for name, members in groups.items():
            taken = [i for i in idx if i in members]
            assert len(taken) == got.count(name)
            assert len(taken) % len(members) == 0


def test_blocked_bootstrap_is_wider_on_block_correlated_data():
    # 30 blocks of 20 samples; within a block all samples share one outcome
    # (e.g. pixels of one field): the effective sample size is 30, not 600.
    rng = np.random.default_rng(7)
    block_outcome = rng.random(30) < 0.7
    correct = np.repeat(block_outcome, 20)
    blocks = np.repeat(np.arange(30), 20).tolist()
    ev = FlagsEvaluation(correct)
    iid = bootstrap_ci(ev, ["oa"], n_resamples=400)["oa"]
    blk = bootstrap_ci(ev, ["oa"], n_resamples=400, blocks=blocks)["oa"]
    assert (blk[1] - blk[0]) > 3 * (iid[1] - iid[0])


def test_works_with_a_real_kind_evaluation():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 200)
    p = np.where(rng.random(200) < 0.75, y, rng.integers(0, 3, 200))
    ev = ClassificationEvaluation(
        [str(i) for i in range(200)], y, p, ["a", "b", "c"], "oa"
    )
    out = bootstrap_ci(ev, ["oa", "kappa", "macro_f1", "per_class.a"], n_resamples=200)
    full = ev.compute()
    for key in ("oa", "kappa", "macro_f1"):
        assert out[key][0] < full[key] < out[key][1]
    assert out["per_class.a"][0] <= full["per_class"]["a"] <= out["per_class.a"][1]
