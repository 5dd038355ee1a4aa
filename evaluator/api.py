"""Library entry points used by the CLI, the platform worker and the tests."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from evaluator.io import Source, open_source
from evaluator.kinds.base import Evaluation
from evaluator.registry import get_kind


def _as_source(obj: Source | str | os.PathLike, label: str) -> Source:
    return obj if isinstance(obj, Source) else open_source(obj, label=label)


def evaluate(
    kind: str,
    predictions: Source | str | os.PathLike,
    truth: Source | str | os.PathLike,
    options: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Read and validate once; returns per-sample state for any subset."""
    impl = get_kind(kind)
    opts = impl.resolve_options(options)
    return impl.evaluate(
        _as_source(predictions, "predictions"), _as_source(truth, "truth"), opts
    )


def subset_index(evaluation: Evaluation, ids: Collection[str]) -> np.ndarray:
    wanted = set(ids)
    return np.array(
        [i for i, sid in enumerate(evaluation.sample_ids) if sid in wanted],
        dtype=np.int64,
    )


def score(
    kind: str,
    predictions: Source | str | os.PathLike,
    truth: Source | str | os.PathLike,
    options: Mapping[str, Any] | None = None,
    subsets: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """Metrics over all samples, or ``{subset: metrics}`` when subsets are given."""
    ev = evaluate(kind, predictions, truth, options)
    if subsets is None:
        return ev.compute(None)
    return {name: ev.compute(subset_index(ev, ids)) for name, ids in subsets.items()}
