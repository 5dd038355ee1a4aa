"""detection: horizontal (HBB) or oriented (OBB) object detection, mAP.

Matching (per image and class, detections by descending score):

- ``ap_mode`` ``voc07`` / ``voc12`` — DOTA devkit ``voc_eval`` (``dota_evaluation_task1``)
  semantics: each detection takes the ground truth (GT) of its class with the
  highest IoU (first in file order on ties). If that IoU ≥ ``iou_threshold``: a
  *difficult* GT makes the detection ignored (neither TP nor FP); otherwise it is
  a TP if that GT is not yet matched, else an FP. Below the threshold: FP.
  ``npos`` counts non-difficult GT. (The devkit tests ``IoU > threshold``; we use
  ``≥``, which differs only for an IoU exactly equal to the threshold.)
  Tied scores: the devkit's order (:mod:`evaluator.detection_ties`: per class,
  rows in submission order, ``np.argsort(-confidence)``), both for which
  detection claims a GT and for the ranking behind AP.
  AP: ``voc07`` = 11-point interpolation (DOTA Task1), ``voc12`` = area under the
  monotone precision envelope (all points). ``map`` = mean AP over classes at
  ``iou_threshold``; ``ap50`` = the same at IoU 0.5.
- ``ap_mode`` ``coco`` — pycocotools ``COCOeval`` (bbox, ``areaRng=all``,
  ``maxDets=max_dets`` per image and class): a detection matches the unmatched
  non-ignored GT with the highest IoU ≥ t (later GT on ties), else an ignored GT
  (``iscrowd``; DOTA *difficult* objects are treated as ``iscrowd=1``, whose IoU is
  intersection / detection area and which absorb any number of detections;
  matches to them are ignored). AP = mean over t ∈ {0.50, 0.55, …, 0.95} of the
  101-point interpolated precision (recall thresholds 0:0.01:1), precision =
  tp / (tp + fp + spacing(1)) as in pycocotools. The twelve numbers of
  ``summarize()`` (:mod:`evaluator.detection_coco`: area ranges, areas, AR):
  ``map`` = AP@[.5:.95], ``ap50``, ``ap75``, ``ap_small|medium|large``,
  ``ar1``, ``ar10``, ``ar100``, ``ar_small|medium|large``; ``iou_threshold`` is
  not used.

IoU: ``box=hbb`` → axis-aligned IoU, continuous coordinates (no +1), DOTA
polygons replaced by their enclosing boxes (``iou: "hbb"``; COCO boxes use their
``w·h`` areas, pycocotools' arithmetic); ``box=obb`` → exact
polygon IoU (``iou: "polygon"``, same values as DOTA ``polyiou``; COCO ``bbox``
rectangles become 4-corner polygons).

Classes: ``classes`` option, else the truth's (DOTA: sorted names; COCO:
category order). mAP averages classes that have at least one non-difficult GT
in the scored subset (pycocotools' rule; the DOTA devkit would produce NaN for
such a class). ``per_class`` holds those APs (``None`` for the others).
``max_dets`` (default 1000, ``null`` = no limit) keeps the highest-scoring
detections per image and class, in every mode.

Exact on subsets: each image stores its detections' scores, classes and
TP/FP/ignored flags at every IoU threshold, plus its non-difficult GT count per
class; ``compute(index)`` concatenates those (image order of ``index``, then a
stable sort by score as pycocotools) and computes AP, so a split's mAP equals
scoring that split alone. Sample ids = all truth images (also those without GT).

Formats: see :mod:`evaluator.formats` (DOTA Task1/Task2 ZIP, COCO
results JSON; truth DOTA labelTxt, COCO instances JSON, DIOR-R/HRSC XML).
References: DOTA devkit ``voc_eval`` (package ``dotadevkit``), pycocotools.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluator import detection_coco as dc
from evaluator.detection_matching import (
    COCO_IOUS,
    FP,
    IGNORED,
    TP,
    candidate_pairs,
    coco_ap,
    match_coco,
    match_voc,
    voc_ap,
)
from evaluator.detection_options import check_options, class_codes
from evaluator.detection_ties import devkit_rank
from evaluator.errors import ValidationError
from evaluator.formats.boxes import Table, Truth
from evaluator.formats.detection import read_predictions, read_truth
from evaluator.geometry import (
    hbb_area,
    pair_iou,
    poly_area,
    poly_to_hbb,
)
from evaluator.io import Source
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register

# --- evaluation -------------------------------------------------------------------


class DetectionEvaluation(Evaluation):
    """``status`` (T, n_det) and ``npos`` (n_images, n_classes) are those of the
    scored area range "all"; ``det_rank`` (VOC modes) the devkit's tie order;
    ``coco`` (COCO mode) holds ``status`` (R, T, n_det) and ``npos``
    (R, n_images, n_classes) for every area range and ``group_rank`` (n_det)."""

    def __init__(
        self,
        ids,
        classes,
        thresholds,
        det_img,
        det_cls,
        det_score,
        status,
        npos,
        meta,
        det_rank=None,
        coco=None,
    ):
        self.sample_ids = ids
        self.classes = classes
        self.thresholds = thresholds
        order = np.argsort(det_img, kind="stable")  # contiguous per image
        self.det_cls = det_cls[order]
        self.det_score = det_score[order]
        self.status = status[:, order]
        self.det_rank = None if det_rank is None else det_rank[order]
        self.coco = None
        if coco is not None:
            self.coco = {
                "status": coco["status"][:, :, order],
                "npos": coco["npos"],
                "group_rank": coco["group_rank"][order],
            }
        self.counts = np.bincount(det_img, minlength=len(ids))
        self.offsets = np.concatenate(([0], np.cumsum(self.counts)[:-1]))
        self.npos = npos  # (n_images, n_classes) non-difficult GT
        self.meta = meta

    def _gather(self, index: np.ndarray) -> np.ndarray:
        lengths = self.counts[index]
        total = int(lengths.sum())
        starts = np.repeat(
            self.offsets[index] - (np.cumsum(lengths) - lengths), lengths
        )
        return starts + np.arange(total)

    def _class_aps(self, index: np.ndarray, status=None, npos=None) -> np.ndarray:
        """AP (n_thresholds, n_classes); NaN where a class has no positives."""
        pos = self._gather(index)
        status = self.status if status is None else status
        npos = self.npos if npos is None else npos
        cls, score, status = self.det_cls[pos], self.det_score[pos], status[:, pos]
        if self.det_rank is not None:  # VOC: the devkit's order (detection_ties)
            order = np.lexsort((self.det_rank[pos], cls))
        else:  # COCO: stable, ties keep image order (pycocotools' mergesort)
            order = np.lexsort((-score, cls))
        cls, status = cls[order], status[:, order]
        bounds = np.searchsorted(cls, np.arange(len(self.classes) + 1))
        npos = npos[index].sum(0)
        mode = self.meta["ap_mode"]
        aps = np.full((len(self.thresholds), len(self.classes)), np.nan)
        for c in np.flatnonzero(npos > 0):
            seg = status[:, bounds[c] : bounds[c + 1]]
            for ti in range(len(self.thresholds)):
                s = seg[ti][seg[ti] != IGNORED]
                tp, fp = s == TP, s == FP
                aps[ti, c] = (
                    coco_ap(tp, fp, npos[c])
                    if mode == "coco"
                    else voc_ap(tp, fp, npos[c], mode == "voc07")
                )
        return aps

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        index = (
            np.arange(len(self.sample_ids))
            if index is None
            else np.asarray(index, np.int64)
        )
        aps = self._class_aps(index)
        present = ~np.isnan(aps[0])

        def mean(rows) -> float | None:
            vals = aps[rows][:, present]
            return float(vals.mean()) if vals.size else None

        ths = list(self.thresholds)
        if self.meta["ap_mode"] == "coco":
            per = aps.mean(0)
            out = dc.summarize(self, index, aps)
        else:
            per = aps[0]
            out = {"map": mean([0]), "ap50": mean([ths.index(0.5)])}
        out["per_class"] = {
            c: (None if np.isnan(per[i]) else float(per[i]))
            for i, c in enumerate(self.classes)
        }
        out.update(self.meta)
        out["primary"] = "map"
        out["n_samples"] = int(len(index))
        out["n_gt"] = int(self.npos[index].sum())
        out["n_detections"] = int(self.counts[index].sum())
        return out

    def samples(self) -> dict[str, list]:
        t0 = self.status[0]
        img = np.repeat(np.arange(len(self.sample_ids)), self.counts)
        n = len(self.sample_ids)
        return {
            "tp": np.bincount(img[t0 == TP], minlength=n).tolist(),
            "fp": np.bincount(img[t0 == FP], minlength=n).tolist(),
            "n_gt": self.npos.sum(1).tolist(),
        }


def _by_image(table: Table, ids: list[str]) -> np.ndarray:
    pos = {sid: i for i, sid in enumerate(ids)}
    return np.array([pos[s] for s in table.image], dtype=np.int64)


def _truncate(img, cls, score, max_dets):
    """Order detections by (image, descending score), stable; keep the top
    ``max_dets`` per image and class."""
    order = np.lexsort((-score, img))
    if max_dets is None:
        return order
    o2 = np.lexsort((-score[order], cls[order], img[order]))
    key = img[order][o2] * (cls.max(initial=0) + 1) + cls[order][o2]
    start = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    rank = np.arange(len(key)) - np.repeat(start, np.diff(np.r_[start, len(key)]))
    keep = np.zeros(len(order), bool)
    keep[o2[rank < max_dets]] = True
    return order[keep]


def _npos(gt_img, gt_cls, counted, n_img: int, n_cls: int) -> np.ndarray:
    npos = np.zeros((n_img, n_cls), np.int64)
    np.add.at(npos, (gt_img[counted], gt_cls[counted]), 1)
    return npos


def _areas(table: Table, boxes: np.ndarray, box: str, keep=None) -> dict:
    """Areas for IoU (``w·h`` of COCO boxes as given, else the geometry's) and
    for area ranges (COCO ``area`` field first); see ``detection_coco``."""
    geom = hbb_area(boxes) if box == "hbb" else poly_area(boxes)
    extra = getattr(table, "extra", {})
    given_wh, given_area = extra.get("box_area"), extra.get("area")
    if keep is not None:
        given_wh = None if given_wh is None else given_wh[keep]
        given_area = None if given_area is None else given_area[keep]
    wh = dc.pick(given_wh, geom)
    return {"iou": wh, "range": dc.pick(given_area, wh)}


@register
class Detection(Kind):
    """Object detection (HBB/OBB): mAP as DOTA voc_eval (VOC07/VOC12) or COCO AP@[.5:.95]."""

    name = "detection"
    options = {
        "box": "obb",
        "ap_mode": "voc07",
        "iou_threshold": 0.5,
        "classes": None,
        "max_dets": 1000,
    }
    metrics = {
        "map": "max",
        "ap50": "max",
        "ap75": "max",
        **{f"ap_{r}": "max" for r in dc.RANGES[1:]},
        **{f"ar{k}": "max" for k in dc.AR_MAX_DETS},
        **{f"ar_{r}": "max" for r in dc.RANGES[1:]},
    }
    primary = "map"
    prediction_bytes_per_sample = 1 << 20  # up to thousands of boxes per image
    formats = [
        "ZIP of DOTA Task1_<class>.txt (imgname score x1 y1 … x4 y4) or Task2_<class>.txt",
        "COCO results JSON [{image_id, category_id, bbox [x,y,w,h], score}]",
    ]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        check_options(options)
        gt: Truth = read_truth(truth)
        classes = (
            [str(c) for c in options["classes"]] if options["classes"] else gt.classes
        )
        if len(set(classes)) != len(classes):
            raise ValidationError("option classes has duplicate names")
        gt_cls = class_codes(gt.table, classes, "truth")
        pred = read_predictions(predictions, gt)
        pred_cls = class_codes(pred, classes, "predictions")
        box = options["box"]
        mode = options["ap_mode"]
        if mode == "coco":
            thresholds = COCO_IOUS
        else:
            thr = float(options["iou_threshold"])
            thresholds = np.array([thr] if thr == 0.5 else [thr, 0.5])
        n_img = len(gt.ids)
        gt_img = _by_image(gt.table, gt.ids)
        gt_box = gt.table.arrays(box)
        difficult = gt.table.column("difficult")
        crowd = gt.table.column("crowd") | difficult  # COCO: difficult = iscrowd
        p_img = _by_image(pred, gt.ids)
        p_score = pred.column("score")
        keep = _truncate(p_img, pred_cls, p_score, options["max_dets"])
        coco = mode == "coco"
        rank = None
        if not coco:  # ties as the devkit; claims of a GT follow that order too
            full = devkit_rank(pred_cls, p_score)
            keep = keep[np.lexsort((full[keep], pred_cls[keep]))]
            rank = full[keep]
        p_img, p_cls, p_score = p_img[keep], pred_cls[keep], p_score[keep]
        p_box = pred.arrays(box)[keep]
        n_cls = len(classes)
        pd, pg = candidate_pairs(
            p_img * n_cls + p_cls,
            p_box if box == "hbb" else poly_to_hbb(p_box),
            gt_img * n_cls + gt_cls,
            gt_box if box == "hbb" else poly_to_hbb(gt_box),
        )
        p_area = _areas(pred, p_box, box, keep)
        g_area = _areas(gt.table, gt_box, box)
        areas = (p_area["iou"][pd], g_area["iou"][pg]) if box == "hbb" else None
        iou = pair_iou(
            p_box[pd], gt_box[pg], box, crowd[pg] if coco else None, areas=areas
        )
        coco_arrays = None
        if coco:
            ign = difficult | crowd
            coco_arrays = dc.match_ranges(
                match_coco,
                pd,
                pg,
                iou,
                p_img * n_cls + p_cls,
                ign,
                crowd,
                thresholds,
                g_area["range"],
                p_area["range"],
            )
            coco_arrays["npos"] = np.stack(
                [
                    _npos(gt_img, gt_cls, ~(ign | out), n_img, n_cls)
                    for out in coco_arrays.pop("gt_out")
                ]
            )
            status, npos = coco_arrays["status"][0], coco_arrays["npos"][0]
        else:
            status = match_voc(pd, pg, iou, len(p_img), difficult, thresholds)
            npos = _npos(gt_img, gt_cls, ~difficult, n_img, n_cls)
        meta = {
            "ap_mode": mode,
            "iou": "polygon" if box == "obb" else "hbb",
            "iou_threshold": "0.50:0.95" if coco else float(thresholds[0]),
            "max_dets": options["max_dets"],
        }
        return DetectionEvaluation(
            gt.ids,
            classes,
            thresholds,
            p_img,
            p_cls,
            p_score,
            status,
            npos,
            meta,
            det_rank=rank,
            coco=coco_arrays,
        )
