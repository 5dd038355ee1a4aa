"""patch-matching: a distance per patch pair; low distance = "the patches match".

Metrics (METRICS.md; the Brown/HPatches/VIS-LWIR convention):

- ``fpr95`` (primary, lower is better): the false positive *rate* FP / (FP + TN)
  at the smallest distance threshold t at which the true positive rate
  TP / (TP + FN) first reaches 0.95, a pair being called a match when its
  ``distance <= t``. Not the false-*discovery*-rate variant FP / (TP + FP) that
  some code copies. No interpolation between ROC points.
- ``roc_auc``: area under the ROC curve of the score ``-distance`` (equal to
  scikit-learn ``roc_auc_score(is_match, -distance)``; tied distances count 1/2).

Ties: the thresholds are the distinct distance values, so all pairs with an equal
distance fall on the same side of the threshold together. This equals scikit-learn
``fpr, tpr, _ = roc_curve(is_match, -distance, drop_intermediate=False)`` and
``fpr[argmax(tpr >= 0.95)]``. TPR >= 0.95 is tested exactly in integers
(20 * TP >= 19 * P).

Formats: predictions CSV ``pair_id,distance`` (finite or +inf real numbers; NaN is
an error); truth CSV ``pair_id,is_match`` (``0``/``1``, also ``true``/``false``).
A missing pair makes the submission invalid unless option ``partial`` is true, in
which case it gets distance +inf (never matched before any predicted pair).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from scipy.stats import rankdata

from evaluator.errors import ValidationError
from evaluator.ids import unique_id_rows
from evaluator.io import Source, align_ids, iter_csv
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register

_BOOL = {"0": False, "1": True, "false": False, "true": True}


def fpr_at_tpr(is_match: np.ndarray, distance: np.ndarray, tpr: float = 0.95) -> float:
    """FP/(FP+TN) at the first distinct-distance threshold where TPR >= ``tpr``."""
    y = np.asarray(is_match, dtype=bool)
    order = np.argsort(distance, kind="stable")
    d = np.asarray(distance)[order]
    y = y[order]
    tps = np.cumsum(y)
    fps = np.cumsum(~y)
    # Last index of each run of equal distances: ties move together.
    ends = np.r_[np.flatnonzero(d[1:] != d[:-1]), len(d) - 1]
    n_pos, n_neg = int(tps[-1]), int(fps[-1])
    num, den = _as_ratio(tpr)
    reached = tps[ends] * den >= num * n_pos
    first = ends[int(np.argmax(reached))]
    return float(fps[first] / n_neg)


def _as_ratio(x: float) -> tuple[int, int]:
    """``x`` as a small integer ratio (0.95 -> 19/20) for an exact comparison."""
    f = Fraction(x).limit_denominator(10_000)
    return f.numerator, f.denominator


def roc_auc(is_match: np.ndarray, distance: np.ndarray) -> float:
    """ROC-AUC of ``-distance`` (Mann-Whitney U with mid-ranks for ties)."""
    y = np.asarray(is_match, dtype=bool)
    ranks = rankdata(-np.asarray(distance, dtype=np.float64), method="average")
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def read_pair_csv(
    source: Source, column: str
) -> tuple[list[str], list[str], list[int], str]:
    """Pair ids, raw values and line numbers of a ``pair_id,<column>`` CSV."""
    name = source.single((".csv",))
    where = source.where(name)
    _, rows = iter_csv(source, name, header=["pair_id", column])
    ids: list[str] = []
    values: list[str] = []
    lines: list[int] = []
    for lineno, pid, (_, value) in unique_id_rows(rows, where, noun="pair_id"):
        ids.append(pid)
        values.append(value)
        lines.append(lineno)
    if not ids:
        raise ValidationError(f"{where}: no data rows")
    return ids, values, lines, where


def parse_distances(values: list[str], lines: list[int], ids: list[str], where: str):
    out = np.empty(len(values), dtype=np.float64)
    for i, (v, lineno, pid) in enumerate(zip(values, lines, ids, strict=True)):
        try:
            x = float(v)
        except ValueError:
            x = math.nan
            if v.lower() != "nan":
                raise ValidationError(
                    f"{where} line {lineno}: distance {v!r} of pair {pid!r} is not a number"
                ) from None
        if math.isnan(x) or x == -math.inf:
            raise ValidationError(
                f"{where} line {lineno}: distance {v!r} of pair {pid!r} must be a "
                "real number (finite or inf), not NaN or -inf"
            )
        out[i] = x
    return out


def parse_labels(values: list[str], lines: list[int], where: str) -> np.ndarray:
    out = np.empty(len(values), dtype=bool)
    for i, (v, lineno) in enumerate(zip(values, lines, strict=True)):
        try:
            out[i] = _BOOL[v.lower()]
        except KeyError:
            raise ValidationError(
                f"{where} line {lineno}: is_match must be 0 or 1, found {v!r}"
            ) from None
    return out


class PatchMatchingEvaluation(Evaluation):
    def __init__(self, ids: list[str], is_match: np.ndarray, distance: np.ndarray):
        self.sample_ids = ids
        self.is_match = is_match
        self.distance = distance

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        y = self.is_match if index is None else self.is_match[index]
        d = self.distance if index is None else self.distance[index]
        if len(y) == 0:
            raise ValidationError("no samples to score")
        n_pos = int(y.sum())
        both = 0 < n_pos < len(y)
        # Undefined (None) when a subset or resample lacks positives or negatives.
        return {
            "fpr95": fpr_at_tpr(y, d) if both else None,
            "roc_auc": roc_auc(y, d) if both else None,
            "n_samples": int(len(y)),
            "n_positive": n_pos,
            "fpr95_variant": "fpr_at_first_tpr_ge_0.95",
            "primary": "fpr95",
        }

    def samples(self) -> dict[str, list]:
        return {
            "distance": [
                None if not np.isfinite(x) else float(x) for x in self.distance
            ],
            "is_match": self.is_match.astype(int).tolist(),
        }


@register
class PatchMatching(Kind):
    """Cross-modal patch matching: FPR at 95% recall (lower is better) and ROC-AUC."""

    name = "patch-matching"
    options = {"partial": False}
    metrics = {"fpr95": "min", "roc_auc": "max"}
    primary = "fpr95"
    prediction_bytes_per_sample = 512  # one "pair_id,distance" line
    formats = ["CSV pair_id,distance (lower = more likely a match)"]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        t_ids, t_vals, t_lines, t_where = read_pair_csv(truth, "is_match")
        is_match = parse_labels(t_vals, t_lines, t_where)
        if is_match.all() or not is_match.any():
            raise ValidationError(
                f"{t_where}: truth needs both matching and non-matching pairs"
            )
        p_ids, p_vals, p_lines, p_where = read_pair_csv(predictions, "distance")
        dist = parse_distances(p_vals, p_lines, p_ids, p_where)
        idx = align_ids(
            t_ids, p_ids, p_where, partial=bool(options["partial"]), noun="pair id"
        )
        distance = np.where(idx >= 0, dist[np.maximum(idx, 0)], np.inf)
        return PatchMatchingEvaluation(t_ids, is_match, distance)
