"""The contract every task kind implements.

A kind reads and validates a submission against the ground truth once
(``evaluate``), producing an :class:`Evaluation` that holds per-sample
contributions. Metrics for any subset of samples (the public split, the private
split, a bootstrap resample) are then computed from those contributions by
``Evaluation.compute(index)`` without re-reading files. This is how all splits
are scored in one pass and how confidence intervals are obtained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from evaluator.errors import ValidationError
from evaluator.io import Source


class Evaluation:
    """Per-sample state of one scored submission.

    ``sample_ids`` names the samples in a fixed order; ``compute(index)`` returns
    the metrics over ``sample_ids[index]`` (an integer array; repeats allowed, for
    bootstrap). ``index=None`` means all samples.

    ``blocks`` (aligned with ``sample_ids``, or None) gives each sample's spatial
    block where the kind reads one (a truth ``block`` column): the bootstrap then
    resamples whole blocks (``evaluator.stats``).
    """

    sample_ids: Sequence[str]
    blocks: Sequence[str] | None = None

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def samples(self) -> dict[str, list]:
        """Per-sample contributions, JSON-serialisable, aligned with sample_ids."""
        return {}


class Kind:
    """A task kind: formats, validation and metric computation."""

    name: ClassVar[str] = ""
    #: option name -> default value; anything else passed in is an error
    options: ClassVar[dict[str, Any]] = {}
    #: metric key -> "max" (higher is better) or "min"
    metrics: ClassVar[dict[str, str]] = {}
    primary: ClassVar[str] = ""
    #: human-readable accepted prediction formats
    formats: ClassVar[list[str]] = []
    #: Largest prediction accepted = this x test samples + prediction_slack_bytes
    #: (evaluator/limits.py), checked before parsing. Generous for any valid file.
    prediction_bytes_per_sample: ClassVar[int] = 4096
    prediction_slack_bytes: ClassVar[int] = 16 << 20

    def resolve_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            allowed = ", ".join(sorted(self.options)) or "none"
            raise ValidationError(
                f"unknown option {unknown[0]!r} for kind {self.name!r} "
                f"(allowed: {allowed})"
            )
        return {**self.options, **options}

    def evaluate(
        self, predictions: Source, truth: Source, options: dict[str, Any]
    ) -> Evaluation:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.name,
            "options": self.options,
            "metrics": self.metrics,
            "primary": self.primary,
            "formats": self.formats,
            "card": (self.__doc__ or "").strip().splitlines()[0] if self.__doc__ else "",
        }
