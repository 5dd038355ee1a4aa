"""Rank uncertainty: hand-computed cases and the statistical honesty of the paired test."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator.kinds.base import Evaluation
from evaluator.rank_stats import (
    competition_ranks,
    draws_matrix,
    paired_difference,
    rank_statistics,
)
from evaluator.stats import (
    bootstrap_distribution,
    percentile_interval,
    resample_plan_key,
)


def test_competition_ranks_by_hand():
    # three entries, two resamples; higher is better
    d = np.array([[0.9, 0.5], [0.8, 0.5], [0.7, np.nan]])
    assert competition_ranks(d, "max").tolist() == [[1, 1], [2, 1], [3, 3]]
    # lower is better flips the order; NaN still ranks last
    assert competition_ranks(d, "min").tolist() == [[3, 1], [2, 1], [1, 3]]


def test_dominant_entry_has_rank_interval_one_one_and_p_first_one():
    rng = np.random.default_rng(1)
    strong = 0.9 + rng.normal(0, 0.005, 1000)
    others = 0.6 + rng.normal(0, 0.05, (4, 1000))
    stats = rank_statistics(np.vstack([strong, others]), "max")
    assert (stats.rank_low[0], stats.rank_high[0]) == (1, 1)
    assert stats.p_first[0] == 1.0
    assert stats.rank_shares[0] == {1: 1.0}
    assert stats.p_first.sum() == pytest.approx(1.0)
    assert all(lo >= 2 for lo in stats.rank_low[1:])


def test_ties_give_symmetric_p_first():
    rng = np.random.default_rng(2)
    same = rng.normal(0.7, 0.02, 500)
    stats = rank_statistics(np.vstack([same, same, same - 0.5]), "max")
    assert stats.p_first[0] == stats.p_first[1] == pytest.approx(0.5)
    assert stats.p_first[2] == 0.0
    assert (stats.rank_low[0], stats.rank_high[0]) == (1, 1)  # tied = shared rank 1


def test_exchangeable_entries_have_symmetric_p_first():
    rng = np.random.default_rng(3)
    d = rng.normal(0.5, 0.1, (2, 20000))
    stats = rank_statistics(d, "min")
    assert abs(stats.p_first[0] - stats.p_first[1]) < 0.03


def test_rank_interval_is_an_observed_rank_quantile():
    # entry 0 ranks 1 on 90% of resamples and 2 on 10%: interval [1, 2]
    d = np.array([[1.0] * 90 + [0.0] * 10, [0.5] * 100])
    stats = rank_statistics(d, "max")
    assert (stats.rank_low[0], stats.rank_high[0]) == (1, 2)
    assert stats.rank_shares[0] == {1: 0.9, 2: 0.1}
    assert stats.p_first.tolist() == pytest.approx([0.9, 0.1])


def test_draws_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="different numbers of draws"):
        draws_matrix([[0.1, 0.2], [0.3]])
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference(np.zeros(3), np.zeros(4), "max")


def test_paired_difference_orientation_and_estimate():
    a = np.array([0.2, 0.3, 0.25, 0.22])
    b = a + 0.1  # b is larger every time
    d = paired_difference(a, b, "min", a_value=0.2, b_value=0.3)  # lower is better: a better
    assert d.estimate == pytest.approx(0.1) and d.low == pytest.approx(0.1) and d.significant
    d = paired_difference(a, b, "max", a_value=0.2, b_value=0.3)
    assert d.estimate == pytest.approx(-0.1) and d.high == pytest.approx(-0.1) and d.significant


class _Accuracy(Evaluation):
    """Per-sample correctness; compute(index) = accuracy on those samples."""

    def __init__(self, correct: np.ndarray):
        self.correct = np.asarray(correct, dtype=np.float64)
        self.sample_ids = [f"s{i}" for i in range(len(self.correct))]

    def compute(self, index=None):
        idx = np.arange(len(self.correct)) if index is None else index
        return {"acc": float(self.correct[idx].mean())}

    def samples(self):
        return {}


def _simulate(p_a: float, p_b: float, *, n: int, sims: int, resamples: int, shared: float, seed: int):
    """Rejection rates of the paired test and of 'marginal intervals do not overlap'.

    Each simulated test set has ``n`` samples, a share ``shared`` of which are
    hard for both methods (errors are correlated, as for methods scored on the
    same images); a method is correct on a sample with probability p.
    """
    rng = np.random.default_rng(seed)
    paired = overlap = 0
    for s in range(sims):
        hard = rng.random(n) < shared
        u = rng.random(n)
        a = np.where(hard, u < p_a - 0.3, rng.random(n) < p_a + 0.3 * shared / (1 - shared))
        b = np.where(hard, u < p_b - 0.3, rng.random(n) < p_b + 0.3 * shared / (1 - shared))
        ev_a, ev_b = _Accuracy(a), _Accuracy(b)
        da = bootstrap_distribution(ev_a, ["acc"], n_resamples=resamples, seed=s)["acc"]
        db = bootstrap_distribution(ev_b, ["acc"], n_resamples=resamples, seed=s)["acc"]
        paired += paired_difference(da, db, "max").significant
        (alo, ahi), (blo, bhi) = percentile_interval(da), percentile_interval(db)
        overlap += not (alo <= bhi and blo <= ahi)
    return paired / sims, overlap / sims


@pytest.mark.slow
def test_paired_test_false_positive_rate_is_near_five_percent():
    fpr, _ = _simulate(0.75, 0.75, n=400, sims=300, resamples=400, shared=0.3, seed=10)
    assert 0.01 <= fpr <= 0.10, fpr


@pytest.mark.slow
def test_paired_test_has_power_where_marginal_overlap_has_little():
    power, overlap_power = _simulate(0.78, 0.72, n=400, sims=200, resamples=400, shared=0.3, seed=11)
    assert power >= 0.8, power
    assert overlap_power < power - 0.2, (power, overlap_power)


def test_same_split_resamples_share_a_plan_key_and_are_paired():
    rng = np.random.default_rng(4)
    a, b = _Accuracy(rng.random(50) < 0.8), _Accuracy(rng.random(50) < 0.6)
    idx = np.arange(0, 50, 2)
    blocks = [f"b{i // 5}" for i in range(50)]
    key_a = resample_plan_key(a.sample_ids, idx, blocks, n_resamples=100, seed=0)
    assert key_a == resample_plan_key(b.sample_ids, idx, blocks, n_resamples=100, seed=0)
    assert key_a != resample_plan_key(a.sample_ids, idx, None, n_resamples=100, seed=0)
    assert key_a != resample_plan_key(a.sample_ids, idx[1:], blocks, n_resamples=100, seed=0)
    assert key_a != resample_plan_key(a.sample_ids, idx, blocks, n_resamples=100, seed=1)
    # equal keys: resample r took the same samples for both, so a's draw minus b's
    # draw equals the accuracy difference on that resample
    both = _Accuracy(a.correct - b.correct)
    da = bootstrap_distribution(a, ["acc"], index=idx, n_resamples=100, blocks=blocks)["acc"]
    db = bootstrap_distribution(b, ["acc"], index=idx, n_resamples=100, blocks=blocks)["acc"]
    dd = bootstrap_distribution(both, ["acc"], index=idx, n_resamples=100, blocks=blocks)["acc"]
    np.testing.assert_allclose(da - db, dd, atol=1e-12)


def test_undefined_draws_keep_their_position():
    class Sometimes(_Accuracy):
        def compute(self, index=None):
            res = super().compute(index)
            return {"acc": None} if res["acc"] > 0.8 else res

    ev = Sometimes(np.random.default_rng(5).random(30) < 0.7)
    kept = bootstrap_distribution(ev, ["acc"], n_resamples=200, seed=0, keep_undefined=True)["acc"]
    dropped = bootstrap_distribution(ev, ["acc"], n_resamples=200, seed=0)["acc"]
    assert len(kept) == 200 and np.isnan(kept).any()
    np.testing.assert_array_equal(kept[~np.isnan(kept)], dropped)
    assert percentile_interval(kept) == percentile_interval(dropped)


@pytest.mark.parametrize("direction", ["max", "min"])
def test_vectorised_differences_equal_pairwise_ones(direction):
    from evaluator.rank_stats import paired_differences_to_leader_and_above

    rng = np.random.default_rng(6)
    d = rng.normal(0.5, 0.05, (6, 300))
    d[3, :7] = np.nan  # undefined on a few resamples
    values = [0.6, 0.55, 0.5, None, 0.45, 0.4]
    vs_leader, vs_above = paired_differences_to_leader_and_above(d, direction, values)
    assert vs_leader[0] is None and vs_above[0] is None
    for i in range(1, 6):
        for got, ref in ((vs_leader[i], 0), (vs_above[i], i - 1)):
            want = paired_difference(d[ref], d[i], direction, a_value=values[ref], b_value=values[i])
            assert got.low == pytest.approx(want.low) and got.high == pytest.approx(want.high)
            assert got.estimate == (None if want.estimate is None else pytest.approx(want.estimate))
