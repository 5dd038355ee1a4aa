"""scene-graph: triplet recall R@K and mean recall mR@K (scene graph generation).

Matching, per image: predicted triplets are ranked by score (descending,
stable: file order on ties) and the top K kept. A ground-truth (GT) triplet
⟨s, p, o⟩ is *recalled* at K if one of those predicted triplets has the same
subject class, predicate and object class, and its subject box and object box
each have IoU ≥ ``iou_threshold`` with the GT subject and object boxes
(``box=hbb``: axis-aligned IoU; ``box=obb``: exact polygon IoU, as for STAR). As
in neural-motifs / Scene-Graph-Benchmark.pytorch, a predicted triplet may
recall several GT triplets (no one-to-one assignment), and triplets are taken
as submitted (several predicates per pair are allowed: "no graph constraint" is
the submitter's choice).

Metrics for each K in ``k`` (default [50, 100]):

- ``r_at_K``: per-image recall (recalled / GT triplets of the image), averaged
  over the images that have at least one GT triplet.
- ``mr_at_K``: for each predicate class, its per-image recall averaged over the
  images whose GT contains that predicate; then the mean over the predicate
  classes present in the scored subset's GT (Scene-Graph-Benchmark's
  ``SGMeanRecall`` averages over all predicate classes of the dataset and counts
  an absent one as 0; on a split where every predicate occurs the two agree).
- ``per_class``: per-predicate recall at the first K.

Primary: ``mr_at_<first K>`` (``mr_at_50`` by default).

Format (predictions; the truth is the same without scores): one JSON object
keyed by image id::

    {"<image_id>": {
        "boxes":    [[x1, y1, x2, y2], ...],        # or 8-number polygons (box=obb)
        "labels":   ["car", "road", ...],           # one class per box (str or int)
        "triplets": [[subj_idx, "predicate", obj_idx, score], ...]
    }, ...}

``subj_idx``/``obj_idx`` index ``boxes`` (0-based). Truth triplets have 3
entries (a 4th is ignored). Every truth image needs an entry in the predictions
(an empty ``triplets`` list is allowed); unknown image ids are rejected.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.geometry import iou_matrix
from evaluator.ids import parse_id_object
from evaluator.io import Source, parse_json, read_text
from evaluator.kinds.base import Evaluation, Kind
from evaluator.kinds.grounding import check_ids
from evaluator.registry import register


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class Graph:
    """One image: boxes (n, 4|8), labels (n,), triplets (m, 3) ints, scores (m,)."""

    def __init__(self, boxes, labels, subj, pred, obj, scores):
        self.boxes, self.labels = boxes, labels
        self.subj, self.pred, self.obj, self.scores = subj, pred, obj, scores


def _parse_graph(entry, where: str, box: str, scored: bool) -> Graph:
    if not isinstance(entry, dict):
        raise ValidationError(
            f"{where}: expected an object with boxes, labels, triplets"
        )
    for key in ("boxes", "labels", "triplets"):
        if not isinstance(entry.get(key), list):
            raise ValidationError(f"{where}: {key!r} must be a list")
    width = 8 if box == "obb" else 4
    boxes = entry["boxes"]
    for i, b in enumerate(boxes):
        if not isinstance(b, list) or len(b) != width or not all(_is_num(v) for v in b):
            n = len(b) if isinstance(b, list) else type(b).__name__
            raise ValidationError(
                f"{where}: boxes[{i}] must be {width} finite numbers (box={box}), found {n}"
            )
        if width == 4 and (b[2] < b[0] or b[3] < b[1]):
            raise ValidationError(f"{where}: boxes[{i}] needs x2 >= x1 and y2 >= y1")
    labels = entry["labels"]
    if len(labels) != len(boxes):
        raise ValidationError(
            f"{where}: {len(labels)} labels for {len(boxes)} boxes (one label per box)"
        )
    subj, pred, obj, scores = [], [], [], []
    for j, t in enumerate(entry["triplets"]):
        want = 4 if scored else 3
        if not isinstance(t, list) or len(t) < want or len(t) > 4:
            raise ValidationError(
                f"{where}: triplets[{j}] must be [subj_idx, predicate, obj_idx"
                f"{', score' if scored else ''}], found {t!r}"
            )
        for pos in (0, 2):
            idx = t[pos]
            if (
                not isinstance(idx, int)
                or isinstance(idx, bool)
                or not 0 <= idx < len(boxes)
            ):
                raise ValidationError(
                    f"{where}: triplets[{j}] box index {idx!r} is not in 0..{len(boxes) - 1}"
                )
        if scored and not _is_num(t[3]):
            raise ValidationError(
                f"{where}: triplets[{j}] score must be a finite number, found {t[3]!r}"
            )
        subj.append(t[0])
        pred.append(str(t[1]))
        obj.append(t[2])
        scores.append(float(t[3]) if scored else 0.0)
    return Graph(
        np.asarray(boxes, np.float64).reshape(-1, width),
        [str(x) for x in labels],
        np.asarray(subj, np.int64),
        pred,
        np.asarray(obj, np.int64),
        np.asarray(scores),
    )


def read_graphs(source: Source, box: str, scored: bool) -> dict[str, Graph]:
    name = source.single((".json",))
    fn = source.where(name)
    try:
        data = parse_id_object(read_text(source, name), fn, parse_json)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{fn} line {exc.lineno}: invalid JSON ({exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(f"{fn}: expected a JSON object keyed by image id")
    return {
        str(k): _parse_graph(v, f"{fn}[{k!r}]", box, scored) for k, v in data.items()
    }


def first_hit_rank(gt: Graph, pr: Graph, box: str, thr: float, top: int) -> np.ndarray:
    """For each GT triplet, the rank (0-based) of the first predicted triplet
    that recalls it among the top ``top``; ``top`` if none does."""
    g = len(gt.subj)
    if g == 0 or len(pr.subj) == 0:
        return np.full(g, top)
    order = np.argsort(-pr.scores, kind="stable")[:top]
    ps, po = pr.subj[order], pr.obj[order]
    pp = np.asarray(pr.pred, object)[order]
    plab, glab = np.asarray(pr.labels, object), np.asarray(gt.labels, object)
    same = (
        (glab[gt.subj][:, None] == plab[ps][None, :])
        & (np.asarray(gt.pred, object)[:, None] == pp[None, :])
        & (glab[gt.obj][:, None] == plab[po][None, :])
    )
    ious = iou_matrix(gt.boxes, pr.boxes, box)
    hit = same & (ious[gt.subj][:, ps] >= thr) & (ious[gt.obj][:, po] >= thr)
    return np.where(hit.any(1), hit.argmax(1), top)


class SceneGraphEvaluation(Evaluation):
    def __init__(self, ids, ks, predicates, recall, pred_recall, meta):
        self.sample_ids = ids
        self.ks = ks
        self.predicates = predicates
        self.recall = recall  # (n_k, n_img), NaN for images without GT triplets
        self.pred_recall = pred_recall  # (n_k, n_img, n_pred), NaN where absent
        self.meta = meta

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        sel = slice(None) if index is None else np.asarray(index, np.int64)
        rec, prec = self.recall[:, sel], self.pred_recall[:, sel]
        has = ~np.isnan(rec[0])
        present = (~np.isnan(prec[0])).any(0)
        out: dict[str, Any] = {}
        per_pred = np.full((len(self.ks), len(self.predicates)), np.nan)
        for ki, k in enumerate(self.ks):
            out[f"r_at_{k}"] = float(rec[ki, has].mean()) if has.any() else None
            if present.any():
                per_pred[ki, present] = np.nanmean(prec[ki][:, present], axis=0)
            out[f"mr_at_{k}"] = (
                float(per_pred[ki, present].mean()) if present.any() else None
            )
        out["per_class"] = {
            p: float(per_pred[0, i])
            for i, p in enumerate(self.predicates)
            if present[i]
        }
        out.update(self.meta)
        out["primary"] = f"mr_at_{self.ks[0]}"
        out["n_samples"] = int(rec.shape[1])
        out["n_images_with_triplets"] = int(has.sum())
        return out

    def samples(self) -> dict[str, list]:
        return {
            f"r_at_{k}": [None if np.isnan(v) else float(v) for v in self.recall[i]]
            for i, k in enumerate(self.ks)
        }


def _check_options(options) -> list[int]:
    ks = options["k"]
    ks = [ks] if isinstance(ks, int) and not isinstance(ks, bool) else ks
    if (
        not isinstance(ks, list)
        or not ks
        or not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 for k in ks)
    ):
        raise ValidationError(
            f"option k must be a positive integer or a list of them, found {ks!r}"
        )
    if options["box"] not in ("hbb", "obb"):
        raise ValidationError(
            f"option box must be 'hbb' or 'obb', found {options['box']!r}"
        )
    thr = options["iou_threshold"]
    if not _is_num(thr) or not 0 < thr <= 1:
        raise ValidationError(
            f"option iou_threshold must be a number in (0, 1], found {thr!r}"
        )
    return ks


@register
class SceneGraph(Kind):
    """Scene graph generation: triplet R@K and mean recall mR@K (boxes HBB or OBB)."""

    name = "scene-graph"
    options = {"k": [50, 100], "iou_threshold": 0.5, "box": "hbb"}
    metrics = {
        "r_at_20": "max",
        "r_at_50": "max",
        "r_at_100": "max",
        "mr_at_20": "max",
        "mr_at_50": "max",
        "mr_at_100": "max",
    }
    primary = "mr_at_50"
    prediction_bytes_per_sample = 1 << 20  # boxes, labels and ranked triplets per image
    formats = [
        'JSON {image_id: {"boxes", "labels", "triplets": [[s, predicate, o, score]]}}'
    ]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        ks = _check_options(options)
        box, thr = options["box"], float(options["iou_threshold"])
        gt = read_graphs(truth, box, scored=False)
        pr = read_graphs(predictions, box, scored=True)
        check_ids(list(gt), list(pr), predictions.display)
        ids = list(gt)
        predicates = sorted({p for g in gt.values() for p in g.pred})
        code = {p: i for i, p in enumerate(predicates)}
        recall = np.full((len(ks), len(ids)), np.nan)
        pred_recall = np.full((len(ks), len(ids), len(predicates)), np.nan)
        for i, sid in enumerate(ids):
            g = gt[sid]
            if len(g.subj) == 0:
                continue
            rank = first_hit_rank(g, pr[sid], box, thr, max(ks))
            pc = np.array([code[p] for p in g.pred])
            count = np.bincount(pc, minlength=len(predicates))
            for ki, k in enumerate(ks):
                hit = rank < k
                recall[ki, i] = hit.mean()
                hits = np.bincount(pc, weights=hit, minlength=len(predicates))
                pred_recall[ki, i, count > 0] = hits[count > 0] / count[count > 0]
        meta = {
            "k": ks,
            "iou_threshold": thr,
            "box": box,
            "iou": "polygon" if box == "obb" else "hbb",
        }
        return SceneGraphEvaluation(ids, ks, predicates, recall, pred_recall, meta)
