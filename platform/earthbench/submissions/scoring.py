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
    """Evaluate once, then metrics, intervals and samples per split (pure: no
    database, no settings; runs in the scoring child)."""
    from evaluator.api import subset_index
    from evaluator.stats import bootstrap_distribution, percentile_interval

    ev = evaluator.evaluate(kind, predictions_path, truth_path, options)
    # Spatial blocks for the bootstrap: from the kind (e.g. a truth `block`
    # column) or from the installed dataset's metadata.
    blocks = getattr(ev, "blocks", None)
    if blocks is None and meta_blocks:
        blocks = [meta_blocks.get(sid) for sid in ev.sample_ids]
    samples = ev.samples()
    out: dict[str, dict[str, Any]] = {}
    for name, ids in splits.items():
        idx = subset_index(ev, ids)
        metrics = ev.compute(idx)
        draws = bootstrap_distribution(
            ev,
            numeric,
            index=idx,
            n_resamples=n_resamples,
            seed=0,
            blocks=blocks,
        )
        ci = {k: v for k, v in ((k, percentile_interval(d)) for k, d in draws.items()) if v}
        split_samples = {
            k: [v[i] for i in idx]
            for k, v in samples.items()
            if isinstance(v, list) and len(v) == len(ev.sample_ids)
        }
        value = metrics.get(primary)
        out[name] = {
            "metrics": metrics,
            "primary_value": float(value) if isinstance(value, int | float) else None,
            "ci": {k: list(v) for k, v in ci.items()},
            "primary_draws": [round(float(x), 6) for x in draws.get(primary, [])],
            "samples": split_samples,
        }
    return out
