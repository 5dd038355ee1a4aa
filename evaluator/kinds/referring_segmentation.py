"""referring-segmentation: one binary mask per referring expression.

Definition (reference: the LAVT/ReLA/RRSIS evaluation loops; gIoU/cIoU names as
in GRES, Liu et al. CVPR 2023; RRSIS-D papers call them mIoU and oIoU):

- For expression i, I_i = |pred ∩ truth|, U_i = |pred ∪ truth| at the original
  resolution (prediction and truth shapes must match); any non-zero pixel is
  foreground in both.
- IoU_i = I_i / U_i. U_i = 0 happens only when truth and prediction are both
  empty; option ``empty_target`` decides: ``iou_one_if_both_empty`` (default,
  GRES: a correctly empty prediction for a no-target expression scores 1),
  ``iou_zero_if_both_empty``, or ``exclude`` (left out of ``giou`` and the
  ``prec_at_*``; it adds nothing to cIoU anyway). An empty truth with a non-empty
  prediction has U_i > 0 and IoU 0.
- ``giou`` = mean IoU_i; ``ciou`` = ΣI_i / ΣU_i; ``prec_at_0_5`` …
  ``prec_at_0_9`` = share of expressions with IoU_i ≥ t (compared exactly in
  integers, 10·I_i ≥ 10t·U_i).
- When the split has no-target expressions (empty truth): ``n_acc`` = share of
  them predicted empty, ``t_acc`` = share of the others predicted non-empty
  (GRES N-acc / T-acc); otherwise ``null``.

Formats: ZIP/folder of single-band PNG (or GeoTIFF) masks ``<expression id>.png``,
or NPZ keyed by expression id; ground truth the same. Per-sample contributions:
``intersection``, ``union`` and ``iou`` per expression.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.io import Source
from evaluator.kinds.base import Evaluation, Kind
from evaluator.masks import iter_mask_pairs
from evaluator.registry import register

EMPTY_RULES = ("iou_one_if_both_empty", "iou_zero_if_both_empty", "exclude")
THRESHOLDS = (5, 6, 7, 8, 9)  # tenths


def expression_iou(inter: np.ndarray, union: np.ndarray, rule: str) -> np.ndarray:
    """IoU per expression; NaN marks an excluded (both-empty, ``exclude``) one."""
    both_empty = union == 0
    fill = {"iou_one_if_both_empty": 1.0, "iou_zero_if_both_empty": 0.0}.get(
        rule, np.nan
    )
    iou = np.divide(
        inter.astype(np.float64),
        union.astype(np.float64),
        out=np.zeros(len(inter)),
        where=~both_empty,
    )
    iou[both_empty] = fill
    return iou


def referring_metrics(
    inter: np.ndarray,
    union: np.ndarray,
    truth_area: np.ndarray,
    pred_area: np.ndarray,
    rule: str,
) -> dict[str, Any]:
    iou = expression_iou(inter, union, rule)
    counted = ~np.isnan(iou)
    both_empty = union == 0
    out: dict[str, Any] = {
        "giou": float(iou[counted].mean()) if counted.any() else None,
        "ciou": float(inter.sum() / union.sum()) if union.sum() else None,
    }
    for t in THRESHOLDS:
        hit = 10 * inter >= t * union
        hit = np.where(both_empty, rule == "iou_one_if_both_empty", hit)
        out[f"prec_at_0_{t}"] = float(hit[counted].mean()) if counted.any() else None
    no_target = truth_area == 0
    out["n_acc"] = (
        float((pred_area[no_target] == 0).mean()) if no_target.any() else None
    )
    out["t_acc"] = (
        float((pred_area[~no_target] > 0).mean()) if (~no_target).any() else None
    )
    out["n_no_target"] = int(no_target.sum())
    return out


class ReferringEvaluation(Evaluation):
    def __init__(self, ids, stats: np.ndarray, rule: str):
        self.sample_ids = ids
        self.stats = stats  # (n, 4) int64: intersection, union, truth area, pred area
        self.rule = rule

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        s = self.stats if index is None else self.stats[index]
        out = referring_metrics(s[:, 0], s[:, 1], s[:, 2], s[:, 3], self.rule)
        out["empty_target"] = self.rule
        out["n_samples"] = int(len(s))
        out["primary"] = "giou"
        return out

    def samples(self) -> dict[str, list]:
        iou = expression_iou(self.stats[:, 0], self.stats[:, 1], self.rule)
        return {
            "intersection": self.stats[:, 0].tolist(),
            "union": self.stats[:, 1].tolist(),
            "iou": [None if np.isnan(v) else float(v) for v in iou],
        }


@register
class ReferringSegmentation(Kind):
    """Referring segmentation: per-expression IoU → gIoU, cIoU, Prec@0.5…0.9."""

    name = "referring-segmentation"
    options = {"empty_target": "iou_one_if_both_empty"}
    metrics = {
        "giou": "max",
        "ciou": "max",
        **{f"prec_at_0_{t}": "max" for t in THRESHOLDS},
        "n_acc": "max",
        "t_acc": "max",
    }
    primary = "giou"
    prediction_bytes_per_sample = 64 << 20  # a mask per expression
    formats = ["ZIP/folder of binary PNG masks <expression id>.png", "NPZ keyed by id"]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        rule = options["empty_target"]
        if rule not in EMPTY_RULES:
            raise ValidationError(
                f"option empty_target={rule!r} is not one of {EMPTY_RULES}"
            )
        ids: list[str] = []
        rows: list[tuple[int, int, int, int]] = []
        for pair in iter_mask_pairs(predictions, truth):
            t, p = pair.truth != 0, pair.pred != 0
            inter = int(np.count_nonzero(t & p))
            t_area, p_area = int(np.count_nonzero(t)), int(np.count_nonzero(p))
            rows.append((inter, t_area + p_area - inter, t_area, p_area))
            ids.append(pair.sid)
        stats = np.array(rows, dtype=np.int64).reshape(-1, 4)
        return ReferringEvaluation(ids, stats, rule)
