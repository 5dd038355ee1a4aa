"""Bootstrap confidence intervals over per-sample contributions.

Any kind's :class:`~evaluator.kinds.base.Evaluation` can be resampled: the
metric is recomputed on ``n_resamples`` index resamples (with replacement) of
the scored subset, and the percentile interval is reported. With ``blocks``
(a block/region id per sample) whole blocks are resampled (spatial block
bootstrap), so spatially correlated samples do not narrow the interval falsely.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evaluator.kinds.base import Evaluation


def _resample(index: np.ndarray, blocks, rng) -> np.ndarray:
    if blocks is None:
        return index[rng.integers(0, len(index), len(index))]
    groups: dict = {}
    for i in index:
        groups.setdefault(blocks[i], []).append(i)
    keys = list(groups)
    pick = rng.integers(0, len(keys), len(keys))
    return np.concatenate([np.asarray(groups[keys[k]], dtype=np.int64) for k in pick])


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
    """Percentile CI for each metric in ``metrics`` (top-level numeric keys)."""
    if index is None:
        index = np.arange(len(evaluation.sample_ids), dtype=np.int64)
    if len(index) == 0:
        return {}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {m: [] for m in metrics}
    for _ in range(n_resamples):
        res = evaluation.compute(_resample(index, blocks, rng))
        for m in metrics:
            v = res.get(m)
            if isinstance(v, int | float) and np.isfinite(v):
                draws[m].append(float(v))
    alpha = (1 - confidence) / 2
    out = {}
    for m, vals in draws.items():
        if vals:
            lo, hi = np.quantile(np.asarray(vals), [alpha, 1 - alpha])
            out[m] = (float(lo), float(hi))
    return out
