"""Suite aggregation: min–max normalisation, IQM, stratified bootstrap CI."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import trim_mean

from evaluator.kinds.classification import ClassificationEvaluation
from evaluator.stats import bootstrap_distribution
from evaluator.suite import iqm, normalise, reference_range, suite_scores

REFS = {
    "A": {"direction": "max", "min": 0.60, "max": 0.90},  # e.g. OA
    "B": {"direction": "min", "scores": [3.0, 2.0, 4.0]},  # e.g. RMSE
    "C": {"direction": "max", "min": 0.40, "max": 0.80},
    "D": {"direction": "max", "scores": [0.5, 0.7, 0.6]},
}


def test_hand_computed_example():
    scores = {
        # A: (0.84-0.6)/0.3 = 0.8; B: (4-2.5)/2 = 0.75; C: 0.25; D: (0.75-0.5)/0.2 = 1.25
        "x": {"A": 0.84, "B": 2.5, "C": 0.5, "D": 0.75},
        # 0, 0, 1, 0.5
        "y": {"A": 0.60, "B": 4.0, "C": 0.8, "D": 0.6},
        "z": {"A": 0.70, "B": 3.0, "C": 0.6},
    }
    out = suite_scores(scores, REFS)
    assert out["x"]["normalised"] == pytest.approx(
        {"A": 0.8, "B": 0.75, "C": 0.25, "D": 1.25}
    )
    # B = 4 -> drop one value at each end: mean(0.75, 0.8)
    assert out["x"]["iqm"] == pytest.approx(0.775)
    assert out["y"]["iqm"] == pytest.approx(0.25)  # mean(0, 0.5)
    assert out["z"]["iqm"] is None and out["z"]["missing"] == ["D"]
    assert out["x"]["ci"] is None  # no bootstrap draws given


def test_iqm_definition():
    assert iqm([3.0, 1.0, 2.0]) == pytest.approx(2.0)  # B < 4: plain mean
    assert iqm([0.0, 1.0, 2.0, 3.0, 100.0]) == pytest.approx(2.0)  # drop 0 and 100
    x = np.random.default_rng(0).random(11)
    assert iqm(x) == pytest.approx(np.sort(x)[2:9].mean())  # floor(2.75) = 2 per end
    assert iqm(x) == pytest.approx(trim_mean(x, 0.25))


def test_normalise_and_reference_range():
    assert reference_range({"min": 1, "max": 3}) == (1.0, 3.0)
    assert reference_range([5, 1, 2]) == (1.0, 5.0)
    assert normalise(2.0, 1.0, 3.0, "max") == 0.5
    assert normalise(1.0, 1.0, 3.0, "min") == 1.0  # lower error = best reference
    assert normalise(3.5, 1.0, 3.0, "max") == 1.25  # not clipped
    with pytest.raises(ValueError, match="empty"):
        reference_range({"min": 1, "max": 1})
    with pytest.raises(ValueError, match="direction"):
        normalise(1.0, 0.0, 2.0, "up")


def test_ci_collapses_when_every_draw_is_the_score():
    scores = {"x": {"A": 0.84, "B": 2.5, "C": 0.5, "D": 0.75}}
    draws = {"x": {b: [v] * 7 for b, v in scores["x"].items()}}
    out = suite_scores(scores, REFS, draws=draws, n_resamples=50)
    assert out["x"]["ci"] == pytest.approx((0.775, 0.775))


def test_ci_single_benchmark_spans_its_draws():
    refs = {"A": {"direction": "max", "min": 0.0, "max": 1.0}}
    out = suite_scores(
        {"x": {"A": 0.5}}, refs, draws={"x": {"A": [0.4, 0.6]}}, n_resamples=2000
    )
    assert out["x"]["ci"] == pytest.approx((0.4, 0.6))


def test_ci_follows_the_documented_formula():
    rng0 = np.random.default_rng(1)
    scores = {"x": {"A": 0.8, "B": 2.6, "C": 0.55, "D": 0.66}}
    draws = {
        "x": {
            b: v + rng0.normal(scale=0.02, size=40 + i)
            for i, (b, v) in enumerate(scores["x"].items())
        }
    }
    out = suite_scores(scores, REFS, draws=draws, n_resamples=500, seed=9)
    # θ*_r = IQM over benchmarks (sorted by name) of one normalised draw each.
    rng = np.random.default_rng(9)
    cols = []
    for b in sorted(REFS):
        lo, hi = reference_range(REFS[b])
        d = draws["x"][b]
        pick = d[rng.integers(0, len(d), 500)]
        cols.append(normalise(pick, lo, hi, REFS[b]["direction"]))
    theta = [trim_mean(row, 0.25) for row in np.column_stack(cols)]
    assert out["x"]["ci"] == pytest.approx(
        tuple(np.quantile(theta, [0.025, 0.975])), abs=1e-12
    )
    # Same seed, same CI regardless of the other entries listed.
    both = suite_scores(
        {**scores, "w": scores["x"]},
        REFS,
        draws={**draws, "w": draws["x"]},
        n_resamples=500,
        seed=9,
    )
    assert both["x"]["ci"] == out["x"]["ci"] == both["w"]["ci"]


def test_ci_from_per_sample_bootstrap_of_real_evaluations():
    # Per-benchmark draws come from resampling each benchmark's test samples.
    rng = np.random.default_rng(5)
    draws, point = {}, {}
    for b, acc in zip("ACD", (0.8, 0.6, 0.65), strict=True):
        y = rng.integers(0, 2, 300)
        p = np.where(rng.random(300) < acc, y, 1 - y)
        ev = ClassificationEvaluation(
            [str(i) for i in range(300)], y, p, ["n", "y"], "oa"
        )
        point[b] = ev.compute()["oa"]
        draws[b] = bootstrap_distribution(ev, ["oa"], n_resamples=300, seed=0)["oa"]
    refs = {b: REFS[b] for b in "ACD"}
    narrow = suite_scores({"x": point}, refs, draws={"x": draws})["x"]
    lo, hi = narrow["ci"]
    assert lo < narrow["iqm"] < hi
    # Wider per-benchmark uncertainty -> wider suite interval.
    spread = {b: point[b] + 3 * (d - d.mean()) for b, d in draws.items()}
    wide = suite_scores({"x": point}, refs, draws={"x": spread})["x"]["ci"]
    assert wide[1] - wide[0] > 2 * (hi - lo)
