"""Rank uncertainty from paired bootstrap draws (challengeR style).

Every entry of one leaderboard split is scored on the *same* bootstrap
resamples of the test samples (same index, same spatial blocks, same seed:
``evaluator.stats.bootstrap_distribution``), so column ``r`` of the matrix of
draws ``D[t, r]`` (entry ``t``, resample ``r``) holds every entry's primary
metric on one and the same resample. From it:

- **rank of entry t on resample r** = 1 + the number of entries strictly
  better on that resample (competition ranking: equal values share a rank);
  a draw that is undefined on a resample (NaN) ranks last on it;
- **rank interval** = the 2.5 % and 97.5 % quantiles of entry t's ranks over
  the resamples (``numpy.quantile(..., method="inverted_cdf")``: always an
  observed rank), so a clearly dominant entry gets [1, 1];
- **P(first)** = the share of resamples on which t ranks first; k entries
  tied first on a resample get 1/k each, so the shares sum to 1 and tied
  entries get equal shares;
- **paired difference** of entries a and b: the percentile interval of
  ``better(a) - better(b)`` over the common resamples (``better`` flips the
  sign of lower-is-better metrics), with the point estimate from the observed
  values; the difference is *significant* when the interval excludes 0. This
  is the paired bootstrap test, which replaces "the two marginal intervals
  overlap" (a test that is much too conservative when entries are correlated,
  as methods scored on the same images are).

See docs/confidence-intervals.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluator.better import oriented, sign

SHARE_FLOOR = 0.005


@dataclass(frozen=True)
class RankStats:
    rank_low: np.ndarray  # (T,) int
    rank_high: np.ndarray  # (T,) int
    p_first: np.ndarray  # (T,) float, sums to 1 over entries
    # per entry: rank -> share of resamples, for shares of at least
    # SHARE_FLOOR (a blob plot cannot show smaller ones; it keeps storage small)
    rank_shares: list[dict[int, float]]


@dataclass(frozen=True)
class PairedDifference:
    estimate: float | None  # observed better(a) - better(b)
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_list(self) -> list:
        return [self.estimate, self.low, self.high]


def draws_matrix(rows: Sequence[Sequence[float | None]]) -> np.ndarray:
    """A (T, R) float matrix from per-entry draw lists (None -> NaN).

    Every entry must have the same number of draws: draws of different lengths
    cannot come from the same resamples.
    """
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise ValueError(f"entries have different numbers of draws: {sorted(lengths)}")
    if not rows:
        return np.empty((0, 0))
    return np.array(rows, dtype=np.float64)


def competition_ranks(draws: np.ndarray, direction: str) -> np.ndarray:
    """(T, R) ranks: 1 + the number of entries strictly better on each resample."""
    better = oriented(np.asarray(draws, dtype=np.float64), direction)
    # Lower key is better; an undefined draw is worse than every defined one.
    key = np.where(np.isnan(better), np.inf, -better)
    n_entries = key.shape[0]
    order = np.argsort(key, axis=0, kind="stable")
    ordered = np.take_along_axis(key, order, axis=0)
    # In each column, a run of equal values shares the rank of its first position.
    starts = np.ones_like(ordered, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    position = np.arange(n_entries)[:, None]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=0)
    ranks = np.empty(key.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, first + 1, axis=0)
    return ranks


def rank_statistics(
    draws: np.ndarray, direction: str, *, confidence: float = 0.95
) -> RankStats:
    """Rank interval, P(first) and rank distribution of every entry."""
    draws = np.asarray(draws, dtype=np.float64)
    if draws.ndim != 2 or draws.shape[1] == 0:
        raise ValueError(f"need a (entries, resamples) matrix of draws, got shape {draws.shape}")
    ranks = competition_ranks(draws, direction)
    alpha = (1 - confidence) / 2
    low = np.quantile(ranks, alpha, axis=1, method="inverted_cdf").astype(np.int64)
    high = np.quantile(ranks, 1 - alpha, axis=1, method="inverted_cdf").astype(np.int64)
    first = ranks == 1
    n_first = first.sum(axis=0)  # entries tied first on each resample (>= 1)
    p_first = (first / np.maximum(n_first, 1)).mean(axis=1)
    n_entries, n_resamples = ranks.shape
    # Rank histogram of every entry in one bincount: cell (t, rank).
    width = n_entries + 1
    counts = np.bincount(
        (np.arange(n_entries)[:, None] * width + ranks).ravel(), minlength=n_entries * width
    ).reshape(n_entries, width)
    shown = counts >= max(1, SHARE_FLOOR * n_resamples)
    rows, ranks_shown = np.nonzero(shown)
    values = counts[rows, ranks_shown] / n_resamples
    shares: list[dict[int, float]] = [{} for _ in range(n_entries)]
    for t, rank, share in zip(rows.tolist(), ranks_shown.tolist(), values.tolist(), strict=True):
        shares[t][rank] = share
    return RankStats(rank_low=low, rank_high=high, p_first=p_first, rank_shares=shares)


def paired_difference(
    a_draws: np.ndarray,
    b_draws: np.ndarray,
    direction: str,
    *,
    a_value: float | None = None,
    b_value: float | None = None,
    confidence: float = 0.95,
) -> PairedDifference | None:
    """Paired bootstrap interval of better(a) - better(b); None without common draws."""
    a = oriented(np.asarray(a_draws, dtype=np.float64), direction)
    b = oriented(np.asarray(b_draws, dtype=np.float64), direction)
    if a.shape != b.shape:
        raise ValueError(f"paired draws need equal lengths, got {a.shape} and {b.shape}")
    diff = a - b
    diff = diff[~np.isnan(diff)]
    if len(diff) == 0:
        return None
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(diff, [alpha, 1 - alpha])
    estimate = None
    if a_value is not None and b_value is not None:
        estimate = sign(direction) * (float(a_value) - float(b_value))
    return PairedDifference(estimate=estimate, low=float(lo), high=float(hi))



def paired_differences_to_leader_and_above(
    draws: np.ndarray,
    direction: str,
    values: Sequence[float | None],
    *,
    confidence: float = 0.95,
) -> tuple[list[PairedDifference | None], list[PairedDifference | None]]:
    """Entries in rank order: for each row i >= 1 the paired difference of the
    leader (row 0) minus row i and of row i-1 minus row i, as
    :func:`paired_difference` gives them, vectorised over all rows (row 0 gets
    None in both lists)."""
    better = oriented(np.asarray(draws, dtype=np.float64), direction)
    flip = sign(direction)
    alpha = (1 - confidence) / 2

    def estimate(a, b):
        return None if a is None or b is None else flip * (float(a) - float(b))

    results = []
    for reference_rows in (np.zeros(len(better) - 1, dtype=np.int64), np.arange(len(better) - 1)):
        diff = better[reference_rows] - better[1:]
        quantile = np.nanquantile if np.isnan(diff).any() else np.quantile
        row_results: list[PairedDifference | None] = [None]
        if len(diff):
            lo, hi = quantile(diff, [alpha, 1 - alpha], axis=1)
            for i in range(1, len(better)):
                if np.isnan(lo[i - 1]):
                    row_results.append(None)
                    continue
                ref = int(reference_rows[i - 1])
                row_results.append(PairedDifference(
                    estimate=estimate(values[ref], values[i]),
                    low=float(lo[i - 1]),
                    high=float(hi[i - 1]),
                ))
        results.append(row_results)
    return results[0], results[1]
