"""Bootstrap confidence intervals over per-sample contributions.

Any kind's :class:`~evaluator.kinds.base.Evaluation` can be resampled: the
metrics are recomputed by ``evaluation.compute(index*)`` on ``n_resamples``
resamples ``index*`` (with replacement) of the scored subset ``index``, and the
percentile interval of the recomputed values is reported (percentile
bootstrap, Efron & Tibshirani 1993, ch. 13):

    lo, hi = quantile(draws, (1 - confidence) / 2), quantile(draws, (1 + confidence) / 2)

with numpy's default (linear) quantile interpolation. The random generator is
``numpy.random.default_rng(seed)``, so a fixed seed gives identical intervals.

With ``blocks`` (a block/region id per sample, aligned with
``evaluation.sample_ids``) whole blocks are resampled instead of samples
(spatial block bootstrap): if the subset holds B distinct blocks, each resample
draws B blocks with replacement and takes all their samples. Spatially
correlated samples (pixels of one field, tiles of one scene) then do not narrow
the interval falsely. Every metric is recomputed dataset-level on the resample
(e.g. mIoU from the summed confusion matrix), never averaged per sample.

See docs/confidence-intervals.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from evaluator.kinds.base import Evaluation


class Resampler:
    """Draws bootstrap resamples of ``index`` (plain or block-wise)."""

    def __init__(self, index: np.ndarray, blocks: Sequence | None):
        self.index = np.asarray(index, dtype=np.int64)
        self.blocked = blocks is not None
        if not self.blocked:
            return
        labels = np.asarray([str(b) for b in blocks])[self.index]
        _, codes = np.unique(labels, return_inverse=True)
        # Members of each block laid out contiguously: a block is (start, count).
        order = np.argsort(codes, kind="stable")
        self.sorted_index = self.index[order]
        self.counts = np.bincount(codes)
        self.starts = np.cumsum(self.counts) - self.counts

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        n = len(self.index)
        if not self.blocked:
            return self.index[rng.integers(0, n, n)]
        nb = len(self.counts)
        pick = rng.integers(0, nb, nb)
        lens = self.counts[pick]
        # Position j of the output, inside picked block k, maps to
        # starts[k] + (j - first output position of k): ranges without a loop.
        first = np.cumsum(lens) - lens
        pos = np.repeat(self.starts[pick] - first, lens) + np.arange(lens.sum())
        return self.sorted_index[pos]


def resample_plan_key(
    sample_ids: Sequence,
    index: np.ndarray,
    blocks: Sequence | None,
    *,
    n_resamples: int,
    seed: int,
) -> str:
    """A fingerprint of the resamples that ``bootstrap_distribution`` draws.

    The resamples depend only on the scored samples in index order, their blocks,
    the count and the seed; two evaluations with the same key were resampled
    identically (resample r took the same samples for both), so their draws are
    paired.
    """
    index = np.asarray(index, dtype=np.int64)
    h = hashlib.sha256()
    h.update("\x1e".join(str(sample_ids[i]) for i in index).encode())
    if blocks is not None:
        h.update(b"\x1dblocks")
        h.update("\x1e".join(str(blocks[i]) for i in index).encode())
    h.update(f"\x1d{n_resamples}\x1d{seed}".encode())
    return h.hexdigest()[:32]


def metric_value(result: dict[str, Any], key: str) -> float | None:
    """A numeric metric from a result; ``a.b`` reads nested keys (``per_class.x``)."""
    value: Any = result
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def bootstrap_distribution(
    evaluation: Evaluation,
    metrics: Sequence[str],
    *,
    index: np.ndarray | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    blocks: Sequence | None = None,
    keep_undefined: bool = False,
) -> dict[str, np.ndarray]:
    """Recomputed values of each metric over ``n_resamples`` resamples.

    Resamples where a metric is undefined (None / missing, e.g. a class absent
    from the resample) are left out of that metric's array, or with
    ``keep_undefined`` kept as NaN so that position r is resample r for every
    entry scored on the same split (paired draws, ``evaluator.rank_stats``).
    """
    if blocks is not None and len(blocks) != len(evaluation.sample_ids):
        raise ValueError(
            f"blocks has {len(blocks)} entries for {len(evaluation.sample_ids)} samples"
        )
    if index is None:
        index = np.arange(len(evaluation.sample_ids), dtype=np.int64)
    draws: dict[str, list[float]] = {m: [] for m in metrics}
    if len(index) == 0:
        return {m: np.empty(0) for m in metrics}
    resampler = Resampler(index, blocks)
    rng = np.random.default_rng(seed)
    for _ in range(n_resamples):
        res = evaluation.compute(resampler.draw(rng))
        for m in metrics:
            v = metric_value(res, m)
            if v is not None:
                draws[m].append(v)
            elif keep_undefined:
                draws[m].append(float("nan"))
    return {m: np.asarray(v, dtype=np.float64) for m, v in draws.items()}


def percentile_interval(
    draws: np.ndarray, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Percentile interval of bootstrap draws; None when there are none."""
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws[~np.isnan(draws)]
    if len(draws) == 0:
        return None
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(draws, [alpha, 1 - alpha])
    return float(lo), float(hi)


def bootstrap_ci(
    evaluation: Evaluation,
    metrics: Sequence[str],
    *,
    index: np.ndarray | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    blocks: Sequence | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile CI for each metric in ``metrics`` (numeric keys; ``a.b`` nests).

    ``blocks`` (aligned with ``evaluation.sample_ids``) switches to the spatial
    block bootstrap; kinds expose theirs as ``evaluation.blocks``. Metrics that
    are undefined on every resample are absent from the result.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    dist = bootstrap_distribution(
        evaluation,
        metrics,
        index=index,
        n_resamples=n_resamples,
        seed=seed,
        blocks=blocks,
    )
    out = {}
    for m, vals in dist.items():
        ci = percentile_interval(vals, confidence)
        if ci is not None:
            out[m] = ci
    return out
