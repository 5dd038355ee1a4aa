"""Per-split scores with intervals and paired draws: the leaderboard's composition.

The one place that turns (kind, predictions, truth, options, split assignment,
resamples, seed) into what a leaderboard stores for each split: the metrics, the
primary value, the percentile bootstrap interval of every numeric metric, the
primary metric's draws (aligned by resample, ``None`` where undefined) and the
key of the resamples they came from, plus the per-sample contributions. The
platform stores exactly this (``submissions`` → ``Score``) and
``python -m evaluator score --ids FILE --bootstrap N --seed S`` prints it, so a
local run reproduces a leaderboard score exactly.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from evaluator.api import evaluate, subset_index
from evaluator.kinds.base import Evaluation
from evaluator.stats import (
    bootstrap_distribution,
    metric_value,
    percentile_interval,
    resample_plan_key,
)


def numeric_metrics(result: Mapping[str, Any]) -> list[str]:
    """Top-level numeric metric keys of a result (what a CLI run bootstraps)."""
    return [k for k in result if metric_value(result, k) is not None]


def evaluation_blocks(
    evaluation: Evaluation, blocks: Mapping[str, str] | None = None
) -> list | None:
    """Spatial blocks for the bootstrap: the kind's own (a truth ``block``
    column), else ``blocks`` (id -> block, e.g. from the installed dataset)."""
    if evaluation.blocks is not None:
        return list(evaluation.blocks)
    if blocks:
        return [blocks.get(sid) for sid in evaluation.sample_ids]
    return None


def score_splits(
    evaluation: Evaluation,
    splits: Mapping[str, Collection[str]],
    *,
    primary: str,
    metrics: Sequence[str] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    blocks: Mapping[str, str] | None = None,
    confidence: float = 0.95,
) -> dict[str, dict[str, Any]]:
    """``{split: {metrics, primary_value, ci, primary_draws, draws_key, samples}}``.

    ``metrics`` lists the keys to give intervals (default: every top-level
    numeric metric of the split's result); ``n_resamples=0`` gives no intervals.
    """
    block_list = evaluation_blocks(evaluation, blocks)
    samples = evaluation.samples()
    n = len(evaluation.sample_ids)
    out: dict[str, dict[str, Any]] = {}
    for name, ids in splits.items():
        idx = subset_index(evaluation, ids)
        result = evaluation.compute(idx)
        keys = list(metrics) if metrics is not None else numeric_metrics(result)
        if primary not in keys and metric_value(result, primary) is not None:
            keys.append(primary)
        draws: dict[str, np.ndarray] = {}
        if n_resamples > 0:
            draws = bootstrap_distribution(
                evaluation, keys, index=idx, n_resamples=n_resamples, seed=seed,
                blocks=block_list, keep_undefined=True,
            )
        ci = {}
        for key, values in draws.items():
            interval = percentile_interval(values, confidence)
            if interval is not None:
                ci[key] = list(interval)
        value = result.get(primary)
        out[name] = {
            "metrics": result,
            "primary_value": float(value) if isinstance(value, int | float) else None,
            "ci": ci,
            "primary_draws": [
                None if math.isnan(x) else round(float(x), 6) for x in draws.get(primary, [])
            ],
            "draws_key": (
                resample_plan_key(evaluation.sample_ids, idx, block_list,
                                  n_resamples=n_resamples, seed=seed)
                if n_resamples > 0 else ""
            ),
            "samples": {
                k: [v[i] for i in idx]
                for k, v in samples.items()
                if isinstance(v, list) and len(v) == n
            },
        }
    return out


def score_files(
    kind: str,
    predictions: str | os.PathLike,
    truth: str | os.PathLike,
    options: Mapping[str, Any] | None,
    splits: Mapping[str, Collection[str]],
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """:func:`score_splits` of a predictions file against a truth file."""
    return score_splits(evaluate(kind, predictions, truth, options), splits, **kwargs)
