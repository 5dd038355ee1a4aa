"""``--fail-under``: does a scored submission reach the threshold?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from earthbench_client.errors import UsageError


@dataclass(frozen=True)
class Check:
    metric: str
    split: str
    direction: str  # "max": higher is better; "min": lower is better
    threshold: float
    value: float | None

    @property
    def passed(self) -> bool:
        # An undefined value (e.g. no samples on that split) never passes.
        if self.value is None:
            return False
        if self.direction == "min":
            return self.value <= self.threshold
        return self.value >= self.threshold

    def describe(self) -> str:
        shown = "undefined" if self.value is None else f"{self.value:.6g}"
        if self.direction == "min":
            need = f"at most {self.threshold:g} (lower is better)"
        else:
            need = f"at least {self.threshold:g}"
        verdict = "ok" if self.passed else "FAILED"
        return f"{self.metric} on {self.split} = {shown}, required {need}: {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def resolve_metric(benchmark: dict, metric: str | None) -> tuple[str, str]:
    """The metric key and its direction; the primary metric when ``metric`` is None."""
    primary = benchmark.get("primary_metric")
    if metric is None or metric == primary:
        return primary, benchmark.get("primary_direction") or "max"
    directions = {
        m.get("key"): m.get("direction", "max")
        for m in benchmark.get("metrics") or []
        if isinstance(m, dict)
    }
    if metric not in directions:
        known = ", ".join(k for k in directions if k) or primary
        raise UsageError(
            f"{benchmark.get('slug')} has no metric {metric!r}; choose one of: {known}"
        )
    return metric, directions[metric]


def check_submission(
    submission: dict,
    benchmark: dict,
    *,
    threshold: float,
    metric: str | None = None,
    split: str = "public",
) -> Check:
    key, direction = resolve_metric(benchmark, metric)
    scores = {s.get("split"): s for s in submission.get("scores") or []}
    score = scores.get(split)
    if score is None:
        shown = ", ".join(sorted(k for k in scores if k)) or "none"
        raise UsageError(
            f"submission #{submission.get('id')} has no visible score on split "
            f"{split!r} (visible: {shown}); the private split is hidden until the deadline"
        )
    if metric is None or key == benchmark.get("primary_metric"):
        value = score.get("primary_value")
        if value is None:
            value = (score.get("metrics") or {}).get(key)
    else:
        metrics = score.get("metrics") or {}
        if key not in metrics:
            raise UsageError(f"the score on {split!r} has no metric {key!r}")
        value = metrics[key]
    if value is not None and not isinstance(value, int | float):
        raise UsageError(f"metric {key!r} is not a single number: {value!r}")
    return Check(
        metric=key,
        split=split,
        direction=direction,
        threshold=threshold,
        value=None if value is None else float(value),
    )
