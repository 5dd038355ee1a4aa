"""Suites: one leaderboard over several benchmarks (GEO-Bench style).

For an entry e and the suite's benchmarks b = 1..B (each with its primary
metric, its direction and stored reference results):

1. Min–max normalisation against the reference range [lo_b, hi_b] (given as
   ``{"min": lo, "max": hi}`` or as a list of reference scores, whose min and max
   are taken):

       higher-is-better:  n_b = (s_b - lo_b) / (hi_b - lo_b)
       lower-is-better:   n_b = (hi_b - s_b) / (hi_b - lo_b)

   so 0 is the worst and 1 the best reference in both directions. Values are
   not clipped: an entry better than every reference scores above 1.
2. Aggregate: IQM_e = interquartile mean of (n_1 … n_B) =
   ``scipy.stats.trim_mean(n, 0.25)``: sort, drop ⌊0.25·B⌋ values at each end,
   average the rest (as rliable / GEO-Bench; with B < 4 nothing is dropped and
   it is the plain mean).
3. 95% stratified bootstrap CI. GEO-Bench resamples repeated training seeds
   within each task; we have one submission per benchmark, but each benchmark's
   primary metric has a per-sample bootstrap distribution
   D_b = (d_b1 … d_bM_b) (``evaluator.stats.bootstrap_distribution``, test
   samples resampled, blocks respected). The strata are the benchmarks: for
   r = 1..R, draw one index j_rb ~ Uniform{1..M_b} independently for every
   benchmark and set

       θ*_r = IQM_b( norm_b(d_{b, j_rb}) ),

   then CI = (quantile_{α/2}(θ*), quantile_{1-α/2}(θ*)) with α = 1 - confidence
   (numpy linear quantiles). Draws use ``numpy.random.default_rng(seed)``; the
   index vectors are drawn benchmark by benchmark in sorted benchmark-name
   order, each of length R. Every entry uses the same seed (common random
   numbers), so its CI does not depend on which other entries are listed.

An entry missing a benchmark gets ``iqm: None`` and ``missing: [...]``; an entry
without draws for some benchmark gets ``ci: None``. An entry with a CI also gets
``draws`` (θ*_1 … θ*_R), paired across entries for rank uncertainty
(``evaluator.rank_stats``). See docs/suites.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import trim_mean

from evaluator.better import oriented


def reference_range(
    reference: Mapping[str, Any] | Sequence[float],
) -> tuple[float, float]:
    """(lo, hi) from ``{"min", "max"}``, ``{"scores": [...]}`` or a plain list."""
    if isinstance(reference, Mapping):
        if "scores" in reference:
            values = [float(v) for v in reference["scores"]]
        else:
            values = [float(reference["min"]), float(reference["max"])]
    else:
        values = [float(v) for v in reference]
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"reference results must be finite numbers: {reference!r}")
    lo, hi = min(values), max(values)
    if hi <= lo:
        raise ValueError(f"reference range is empty (min = max = {lo})")
    return lo, hi


def normalise(
    score: float | np.ndarray, lo: float, hi: float, direction: str
) -> float | np.ndarray:
    """Min–max normalised score: 0 = worst reference, 1 = best, either direction."""
    worst = min(oriented(lo, direction), oriented(hi, direction))
    return (oriented(score, direction) - worst) / (hi - lo)


def iqm(values: Sequence[float] | np.ndarray, axis: int | None = None) -> Any:
    """Interquartile mean: ``scipy.stats.trim_mean(values, 0.25)``."""
    return trim_mean(np.asarray(values, dtype=np.float64), 0.25, axis=axis)


def stratified_bootstrap_iqm(
    draws: Mapping[str, np.ndarray],
    ranges: Mapping[str, tuple[float, float, str]],
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """θ*_r for r = 1..R: IQM over benchmarks of one normalised draw per benchmark."""
    rng = np.random.default_rng(seed)
    columns = []
    for bench in sorted(draws):
        d = np.asarray(draws[bench], dtype=np.float64)
        if d.ndim != 1 or len(d) == 0:
            raise ValueError(f"no bootstrap draws for benchmark {bench!r}")
        lo, hi, direction = ranges[bench]
        pick = rng.integers(0, len(d), n_resamples)
        columns.append(normalise(d[pick], lo, hi, direction))
    return iqm(np.column_stack(columns), axis=1)


def suite_scores(
    scores: Mapping[str, Mapping[str, float]],
    references: Mapping[str, Mapping[str, Any]],
    *,
    draws: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Normalised scores, IQM and stratified-bootstrap CI for every entry.

    ``scores[entry][benchmark]`` is the entry's primary metric on that benchmark;
    ``references[benchmark]`` holds ``direction`` ("max"/"min") and either
    ``min``/``max`` or ``scores``; ``draws[entry][benchmark]`` (optional) is the
    bootstrap distribution of that primary metric.
    """
    ranges = {
        b: (*reference_range(ref), ref.get("direction", "max"))
        for b, ref in references.items()
    }
    alpha = (1 - confidence) / 2
    out: dict[str, dict[str, Any]] = {}
    for entry, per_bench in scores.items():
        missing = sorted(set(ranges) - set(per_bench))
        normed = {
            b: float(normalise(float(per_bench[b]), *ranges[b]))
            for b in sorted(ranges)
            if b in per_bench
        }
        row: dict[str, Any] = {
            "normalised": normed,
            "missing": missing,
            "iqm": None,
            "ci": None,
        }
        if not missing:
            row["iqm"] = float(iqm(list(normed.values())))
            entry_draws = (draws or {}).get(entry, {})
            if all(b in entry_draws and len(entry_draws[b]) for b in ranges):
                theta = stratified_bootstrap_iqm(
                    {b: entry_draws[b] for b in ranges},
                    ranges,
                    n_resamples=n_resamples,
                    seed=seed,
                )
                lo, hi = np.nanquantile(theta, [alpha, 1 - alpha])
                row["ci"] = (float(lo), float(hi))
                # Common random numbers: resample r is the same for every entry
                # (when members have equal draw counts), so draws are paired.
                row["draws"] = theta
        out[entry] = row
    return out
