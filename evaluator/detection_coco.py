"""COCO mode of the detection kind: areas, area ranges and the twelve summary
numbers of pycocotools ``COCOeval.summarize()``.

Areas (pycocotools' conventions):

- IoU of COCO ``bbox`` rectangles uses the areas ``w·h`` of the boxes as given
  (``maskUtils.iou`` order of operations: ``i = w_i·h_i``,
  ``u = (area_det + area_gt) − i``, ``iou = i / u``), not ``(x2 − x1)·(y2 − y1)``
  recomputed from corners, so an IoU that is mathematically a threshold (0.75)
  rounds to the same side as in pycocotools.
- Area *ranges* use the truth's ``area`` field (COCO instances; ``w·h`` of its
  ``bbox`` when the field is missing) and ``w·h`` of a result's ``bbox``
  (``loadRes``); other formats use the area of the scored geometry (polygon area
  with ``box=obb``, enclosing-box area with ``box=hbb``).
- Ranges are closed intervals: all [0, 1e10], small [0, 32²], medium [32², 96²],
  large [96², 1e10]. A ground truth outside the range is ignored; an unmatched
  detection outside it is ignored (neither TP nor FP) — also for "all", where a
  box larger than 1e10 is thus ignored as in pycocotools.
"""

from __future__ import annotations

import math

import numpy as np

AREA_RANGES = {
    "all": (0.0, 1e10),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e10),
}
RANGES = tuple(AREA_RANGES)  # order of the first axis of per-range arrays
AR_MAX_DETS = (1, 10, 100)


def json_areas(items: list, with_area: bool = True) -> dict[str, np.ndarray]:
    """``box_area`` (w·h of each item's ``bbox``) and ``area`` (the ``area``
    field; not read when ``with_area`` is false) of validated COCO annotations
    or results; NaN where absent."""
    n = len(items)
    box_area = np.full(n, math.nan)
    area = np.full(n, math.nan)
    for k, it in enumerate(items):
        b = it.get("bbox")
        if b is not None:
            box_area[k] = float(b[2]) * float(b[3])
        a = it.get("area") if with_area else None
        if isinstance(a, (int, float)) and not isinstance(a, bool):
            area[k] = float(a)
    return {"box_area": box_area, "area": area}


def pick(first: np.ndarray | None, fallback: np.ndarray) -> np.ndarray:
    """``first`` where it is finite, else ``fallback``."""
    if first is None or len(first) != len(fallback):
        return fallback
    return np.where(np.isfinite(first), first, fallback)


def out_of_ranges(area: np.ndarray) -> np.ndarray:
    """(len(RANGES), n) True where ``area`` is outside each range."""
    return np.stack(
        [(area < lo) | (area > hi) for lo, hi in AREA_RANGES.values()]
    ).reshape(len(RANGES), -1)


def group_rank(group: np.ndarray) -> np.ndarray:
    """Position of each detection inside its (image, class) group, detections
    being in (image, descending score) order already."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    start = np.r_[0, np.flatnonzero(np.diff(g)) + 1] if len(g) else np.zeros(0, int)
    rank = np.empty(len(group), np.int64)
    rank[order] = np.arange(len(g)) - np.repeat(start, np.diff(np.r_[start, len(g)]))
    return rank


def mean_present(vals: np.ndarray) -> float | None:
    """Mean over classes with a value (pycocotools averages ``s > -1``)."""
    vals = vals[~np.isnan(vals)]
    return float(vals.mean()) if vals.size else None


def recall(tp: np.ndarray, cls: np.ndarray, npos: np.ndarray) -> np.ndarray:
    """(T, n_classes) recall: TP count per class / non-ignored GT; NaN where a
    class has no GT (pycocotools' -1)."""
    n_cls = len(npos)
    hits = np.stack([np.bincount(cls[row], minlength=n_cls) for row in tp])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = hits / npos[None, :].astype(np.float64)
    out[:, npos == 0] = np.nan
    return out


def summary(ap_per_range, ar_all_by_k: dict, ar_by_range) -> dict[str, float | None]:
    """The twelve numbers, pycocotools ``summarize()`` order."""
    ap_all = ap_per_range[0]  # (T, K) per range
    out = {
        "map": mean_present(ap_all.mean(0)),
        "ap50": mean_present(ap_all[0]),
        "ap75": mean_present(ap_all[5]),
    }
    for name, aps in zip(RANGES[1:], ap_per_range[1:], strict=True):
        out[f"ap_{name}"] = mean_present(aps.mean(0))
    for k, rec in ar_all_by_k.items():
        out[f"ar{k}"] = mean_present(rec.mean(0))
    for name, rec in zip(RANGES[1:], ar_by_range[1:], strict=True):
        out[f"ar_{name}"] = mean_present(rec.mean(0))
    return out


def match_ranges(
    match, pd, pg, iou, group, ignore, crowd, thresholds, gt_area, det_area
) -> dict:
    """pycocotools ``evaluateImg`` for every area range: ``match`` (the kind's
    ``match_coco``) with out-of-range GT ignored, then unmatched out-of-range
    detections ignored (``dtIg``). Returns ``status`` (R, T, n_det),
    ``gt_out`` (R, n_gt) and ``group_rank`` (n_det)."""
    from evaluator.detection_matching import FP, IGNORED

    gt_out, det_out = out_of_ranges(gt_area), out_of_ranges(det_area)
    status = []
    for r in range(len(RANGES)):
        st = match(
            pd, pg, iou, len(group), group, ignore | gt_out[r], crowd, thresholds
        )
        st[(st == FP) & det_out[r][None, :]] = IGNORED
        status.append(st)
    return {
        "status": np.stack(status),
        "gt_out": gt_out,
        "group_rank": group_rank(group),
    }


def summarize(ev, index: np.ndarray, aps_all: np.ndarray) -> dict:
    """The twelve numbers of a ``DetectionEvaluation`` in COCO mode on ``index``:
    AP per area range from its TP/FP flags, AR = TP count / GT count, AR@k over
    the first k detections of each image and class (pycocotools truncates the
    score-sorted detections of ``evaluateImg`` to ``maxDets`` in ``accumulate``)."""
    from evaluator.detection_matching import TP

    c = ev.coco
    aps = [aps_all] + [
        ev._class_aps(index, c["status"][r], c["npos"][r])
        for r in range(1, len(RANGES))
    ]
    pos = ev._gather(index)
    cls, rank = ev.det_cls[pos], c["group_rank"][pos]
    tp = c["status"][:, :, pos] == TP
    npos = c["npos"][:, index].sum(1)
    by_k = {k: recall(tp[0][:, rank < k], cls[rank < k], npos[0]) for k in AR_MAX_DETS}
    by_range = [recall(tp[r], cls, npos[r]) for r in range(len(RANGES))]
    return summary(aps, by_k, by_range)
