"""Scoring: a predictions path → per-split results (no database writes).

What the evaluator composes (``evaluator.scoring.score_files``: per-split
metrics, bootstrap intervals, paired draws) runs in a forked child under
``EARTHBENCH_SCORING_MEMORY_MB`` / ``EARTHBENCH_SCORING_CPU_S``
(``isolation.run_limited``), after the size cap; ``attempt.run_attempt``
records what it returns.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from earthbench.benchmarks import layout
from earthbench.benchmarks.models import Benchmark
from earthbench.submissions.isolation import run_limited


def compute_scores(*, benchmark: Benchmark, predictions_path) -> dict[str, dict[str, Any]]:
    """Score a predictions path on every split in one pass.

    Everything read from the database and the storage area is read here, in
    the worker, before the fork.
    """
    from evaluator.limits import check_prediction_size
    from evaluator.scoring import score_files

    data = layout.require(benchmark)
    # Refused before anything parses it: size against the kind's per-sample cap.
    check_prediction_size(predictions_path, layout.prediction_cap_of(benchmark, data.splits))
    return run_limited(
        score_files,
        benchmark.task_kind,
        predictions_path,
        data.truth_path,
        benchmark.options,
        data.splits,
        primary=benchmark.primary_metric,
        metrics=[m["key"] for m in benchmark.metrics],
        n_resamples=settings.EARTHBENCH_BOOTSTRAP_RESAMPLES,
        seed=0,
        blocks=data.blocks,
        memory_mb=settings.EARTHBENCH_SCORING_MEMORY_MB,
        cpu_s=settings.EARTHBENCH_SCORING_CPU_S,
        wall_s=settings.EARTHBENCH_SCORING_TIMEOUT_S,
    )
