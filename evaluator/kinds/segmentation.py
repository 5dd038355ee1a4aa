"""segmentation: semantic segmentation masks, scored on one dataset-level
confusion matrix.

Definition (reference: scikit-learn ``confusion_matrix`` and torchmetrics
``MulticlassJaccardIndex(average=None, ignore_index=...)``, which accumulate one
matrix over all pixels; *not* ``torchmetrics.segmentation.MeanIoU``, which
averages per image):

- C is the confusion matrix summed over every image of the scored split,
  rows = ground-truth class, columns = predicted class. Ground-truth pixels equal
  to ``ignore_index`` (default 255) are left out. With ``erode_px`` = r > 0,
  ground-truth pixels whose Euclidean disc of radius r contains more than one
  ground-truth value are left out too (ISPRS Vaihingen/Potsdam "eroded boundary"
  evaluation, r = 3 there); image borders are not boundaries.
- IoU_c = C_cc / (row_c + col_c − C_cc); F1_c = 2·C_cc / (row_c + col_c);
  precision_c = C_cc / col_c; recall_c = C_cc / row_c.
- ``miou`` / ``mf1``: mean over the classes with row_c + col_c > 0 in the scored
  split (classes absent from both truth and prediction are undefined, not 0 —
  mmsegmentation's ``nanmean`` convention). Option ``mean_over`` restricts the
  mean to listed classes (e.g. ISPRS tables that leave out clutter).
- ``oa`` = trace(C) / sum(C).
- A prediction pixel equal to ``ignore_index`` is "no prediction": always
  wrong (it counts in row_c of its true class, in no column).

Per-class values are under ``per_class`` (``null`` when undefined). Per-sample
contributions (``samples()``): per image and class, intersection C_cc and union
row_c + col_c − C_cc, so per-image or bootstrap statistics need no masks.

Formats: ZIP or folder of single-band PNG/GeoTIFF masks ``<id>.png|.tif`` (palette
PNGs are read as indices), or one NPZ keyed by id; same for the ground truth.
Options: ``num_classes`` (or ``classes``, a list of names; one is required),
``ignore_index`` (255; ``null`` for none), ``erode_px`` (0), ``mean_over``
(null = all classes; list of indices or names).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.io import Source
from evaluator.kinds.base import Evaluation, Kind
from evaluator.masks import (
    CountStore,
    boundary_keep,
    check_values,
    confusion,
    iter_mask_pairs,
)
from evaluator.registry import register


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den with NaN where den == 0 (undefined, reported as null)."""
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def segmentation_metrics(
    cm: np.ndarray, classes: list[str], mean_mask: np.ndarray | None = None
) -> dict[str, Any]:
    """Metrics of an (n, n) or (n, n+1) matrix; column n = "no prediction"."""
    n = len(classes)
    cm = np.asarray(cm, dtype=np.int64)
    tp = np.diag(cm[:, :n])
    row = cm.sum(axis=1)
    col = cm[:, :n].sum(axis=0)
    iou = _ratio(tp, row + col - tp)
    f1 = _ratio(2 * tp, row + col)
    present = (row + col) > 0
    if mean_mask is not None:
        present &= mean_mask
    total = cm.sum()
    return {
        "miou": _num(iou[present].mean()) if present.any() else None,
        "mf1": _num(f1[present].mean()) if present.any() else None,
        "oa": _num(tp.sum() / total) if total else None,
        "per_class": {
            name: {
                "iou": _num(iou[i]),
                "f1": _num(f1[i]),
                "precision": _num(_ratio(tp[i : i + 1], col[i : i + 1])[0]),
                "recall": _num(_ratio(tp[i : i + 1], row[i : i + 1])[0]),
            }
            for i, name in enumerate(classes)
        },
        "n_classes_averaged": int(present.sum()),
        "n_pixels": int(total),
    }


def resolve_classes(options: dict[str, Any]) -> list[str]:
    """Class names from ``classes`` and/or ``num_classes`` (consistent)."""
    names, num = options.get("classes"), options.get("num_classes")
    if names is not None:
        if not isinstance(names, list) or not names:
            raise ValidationError("option classes must be a non-empty list of names")
        names = [str(c) for c in names]
    if num is not None:
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ValidationError(
                f"option num_classes must be a positive integer, got {num!r}"
            )
        if names is not None and len(names) != num:
            raise ValidationError(
                f"option classes lists {len(names)} names but num_classes is {num}"
            )
    if names is None and num is None:
        raise ValidationError(
            "option num_classes (or classes) is required for this kind"
        )
    return names if names is not None else [str(i) for i in range(num)]


def resolve_ignore(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"option ignore_index must be an integer or null, got {value!r}"
        )
    return value


def _mean_mask(mean_over: Any, classes: list[str]) -> np.ndarray | None:
    if mean_over is None:
        return None
    if not isinstance(mean_over, list) or not mean_over:
        raise ValidationError("option mean_over must be a non-empty list of classes")
    mask = np.zeros(len(classes), dtype=bool)
    for c in mean_over:
        if isinstance(c, int) and not isinstance(c, bool) and 0 <= c < len(classes):
            mask[c] = True
        elif str(c) in classes:
            mask[classes.index(str(c))] = True
        else:
            raise ValidationError(
                f"option mean_over: {c!r} is not a class index or name"
            )
    return mask


class SegmentationEvaluation(Evaluation):
    def __init__(self, ids, store: CountStore, classes, mean_mask, info):
        self.sample_ids = ids
        self.store = store
        self.classes = classes
        self.mean_mask = mean_mask
        self.info = info

    def _matrix(self, flat: np.ndarray) -> np.ndarray:
        n = len(self.classes)
        return flat.reshape(n, n + 1)

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        cm = self._matrix(self.store.total(index))
        out = segmentation_metrics(cm, self.classes, self.mean_mask)
        out.update(self.info)
        out["n_samples"] = len(self.sample_ids) if index is None else int(len(index))
        out["primary"] = "miou"
        return out

    def samples(self) -> dict[str, list]:
        n = len(self.classes)
        inter, union = [], []
        for i in range(len(self.store)):
            cm = self._matrix(self.store.sample(i))
            tp = np.diag(cm[:, :n])
            inter.append(tp.tolist())
            union.append((cm.sum(axis=1) + cm[:, :n].sum(axis=0) - tp).tolist())
        return {"intersection": inter, "union": union}


def score_mask_pair(
    truth: np.ndarray,
    pred: np.ndarray,
    n: int,
    ignore: int | None,
    erode_px: int,
    truth_where: str,
    pred_where: str,
) -> np.ndarray:
    """(n, n+1) counts for one image after value checks."""
    check_values(
        truth, n, f"ground truth {truth_where}", allowed_extra=ignore, hide_value=True
    )
    check_values(pred, n, pred_where, allowed_extra=ignore)
    if ignore is not None and (int(pred.max()) >= n or int(pred.min()) < 0):
        pred = np.where(pred == ignore, n, pred)  # the "no prediction" column
    keep = boundary_keep(truth, erode_px)
    return confusion(truth, pred, n, n + 1, keep)


@register
class Segmentation(Kind):
    """Semantic segmentation: dataset-level confusion matrix → IoU, mIoU, OA, F1, mF1."""

    name = "segmentation"
    options = {
        "num_classes": None,
        "classes": None,
        "ignore_index": 255,
        "erode_px": 0,
        "mean_over": None,
    }
    metrics = {"miou": "max", "mf1": "max", "oa": "max"}
    primary = "miou"
    prediction_bytes_per_sample = 64 << 20  # a mask per sample, up to 8192² uint8 uncompressed
    formats = [
        "ZIP/folder of single-band PNG or GeoTIFF masks <id>.png|.tif",
        "NPZ keyed by id",
    ]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        classes = resolve_classes(options)
        n = len(classes)
        ignore = resolve_ignore(options["ignore_index"])
        if ignore is not None and 0 <= ignore < n:
            raise ValidationError(
                f"option ignore_index={ignore} is a class index (0..{n - 1}); "
                "the ignore value must lie outside the classes (e.g. remap a "
                "0 = no-data label to 255)"
            )
        erode = options["erode_px"]
        if isinstance(erode, bool) or not isinstance(erode, int) or erode < 0:
            raise ValidationError(
                f"option erode_px must be an integer >= 0, got {erode!r}"
            )
        mean_mask = _mean_mask(options["mean_over"], classes)
        store = CountStore(n * (n + 1))
        ids = []
        for pair in iter_mask_pairs(predictions, truth):
            store.add(
                score_mask_pair(
                    pair.truth,
                    pair.pred,
                    n,
                    ignore,
                    erode,
                    pair.truth_where,
                    pair.pred_where,
                )
            )
            ids.append(pair.sid)
        info = {
            "ignore_index": ignore,
            "erode_px": erode,
            "miou_over": "classes with row+col>0"
            + ("" if mean_mask is None else " among mean_over"),
        }
        return SegmentationEvaluation(ids, store, classes, mean_mask, info)
