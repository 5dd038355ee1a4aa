"""The evaluator's part of scoring: pure, no database, no Django settings.

It runs in the scoring child (``isolation.run_limited``), called by
``services.compute_scores`` with plain values read in the worker.
"""

from __future__ import annotations

from typing import Any

import evaluator


def score_splits(
    *,
    kind: str,
    predictions_path,
    truth_path,
    options: dict,
    splits: dict[str, list[str]],
    numeric: list[str],
    primary: str,
    meta_blocks: dict | None,
    n_resamples: int,
) -> dict[str, dict[str, Any]]:
    """Evaluate once, then ``evaluator.scoring.score_splits``: metrics,
    intervals, paired draws and samples per split (pure: no database, no
    settings; runs in the scoring child)."""
    from evaluator.scoring import score_splits as evaluator_score_splits

    ev = evaluator.evaluate(kind, predictions_path, truth_path, options)
    return evaluator_score_splits(
        ev,
        splits,
        primary=primary,
        metrics=numeric,
        n_resamples=n_resamples,
        seed=0,
        blocks=meta_blocks,
    )
