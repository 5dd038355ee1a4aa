"""grounding: one box (or mask) per referring expression; Acc@0.5 and mean IoU.

Definitions (per expression i, matched to the truth by ``id``):

- ``box=hbb``: IoU_i of the predicted and true ``[x1, y1, x2, y2]`` boxes
  (continuous coordinates, no +1; torchvision ``box_iou`` convention).
- ``box=obb``: exact polygon IoU of 8-number quadrilaterals (same values as the
  DOTA devkit's ``polyiou``; see :mod:`evaluator.geometry`). A ``box`` given in
  obb mode is read as its 4-corner polygon.
- ``box=mask``: IoU_i = |P∩T| / |P∪T| of binary masks (non-zero = foreground);
  an empty union gives IoU_i = 1 (both empty), as in referring segmentation.

Metrics: ``acc_at_0_5`` = share of expressions with IoU_i ≥ ``iou_threshold``
(the key keeps its name when the threshold is changed; the threshold is
recorded), ``miou`` = mean IoU_i; for masks also ``giou`` = mean IoU_i and
``ciou`` = ΣI / ΣU (cumulative IoU). Primary: ``acc_at_0_5``.

Formats: JSONL, one object per line: ``{"id": ..., "box": [x1, y1, x2, y2]}`` or
``{"id": ..., "polygon": [x1, y1, …, x4, y4]}``; masks as a ZIP/folder of PNG/TIFF
``<id>.png`` or NPZ keyed by id, or JSONL ``{"id", "rle": {"size": [h, w],
"counts": ...}}`` (COCO RLE). Truth uses the same formats (extra keys such as the
expression text are ignored). Every truth id needs exactly one prediction.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.geometry import hbb_to_poly, pair_iou
from evaluator.ids import unique_id_rows
from evaluator.images import ArraySet
from evaluator.io import Source, parse_json, preview, read_text
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _geometry(obj: dict, box: str, where: str) -> list[float]:
    """The record's box (4 numbers) or polygon (8 numbers), validated."""
    if box == "hbb":
        if "box" not in obj:
            raise ValidationError(f"{where}: missing 'box' [x1, y1, x2, y2] (box=hbb)")
        key, n = "box", 4
    elif "polygon" in obj:
        key, n = "polygon", 8
    elif "box" in obj:
        key, n = "box", 4
    else:
        raise ValidationError(
            f"{where}: missing 'polygon' (8 numbers) or 'box' (box=obb)"
        )
    vals = obj[key]
    if (
        not isinstance(vals, list)
        or len(vals) != n
        or not all(_is_num(v) for v in vals)
    ):
        shape = "[x1, y1, x2, y2]" if n == 4 else "[x1, y1, x2, y2, x3, y3, x4, y4]"
        found = f"{len(vals)} values" if isinstance(vals, list) else repr(vals)
        raise ValidationError(
            f"{where}: {key!r} must be {n} finite numbers {shape}, found {found}"
        )
    vals = [float(v) for v in vals]
    if n == 4 and (vals[2] < vals[0] or vals[3] < vals[1]):
        raise ValidationError(
            f"{where}: 'box' needs x2 >= x1 and y2 >= y1, found {vals}"
        )
    if box == "obb" and n == 4:
        vals = hbb_to_poly(np.array(vals))[0].tolist()
    return vals


def read_jsonl(source: Source) -> tuple[str, dict[str, tuple[dict, str]]]:
    """``(member, {id: (record, where)})`` from the one .jsonl member."""
    name = source.single((".jsonl", ".json"))
    fn = source.where(name)

    def records():
        for lineno, line in enumerate(read_text(source, name).splitlines(), 1):
            if not line.strip():
                continue
            where = f"{fn} line {lineno}"
            try:
                obj = parse_json(line, where)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"{where}: invalid JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or "id" not in obj:
                raise ValidationError(f"{where}: expected an object with an 'id'")
            yield lineno, obj

    out = {
        sid: (obj, f"{fn} line {lineno}")
        for lineno, sid, obj in unique_id_rows(
            records(), fn, id_of=lambda obj: str(obj["id"])
        )
    }
    if not out:
        raise ValidationError(f"{fn}: no records")
    return name, out


def check_ids(truth_ids, pred_ids, display: str) -> None:
    extra = sorted(set(pred_ids) - set(truth_ids))
    if extra:
        raise ValidationError(
            f"{display}: {len(extra)} id(s) not in the test set: {preview(extra)}"
        )
    missing = sorted(set(truth_ids) - set(pred_ids))
    if missing:
        raise ValidationError(
            f"{display}: {len(missing)} test id(s) missing: {preview(missing)}"
        )


def _decode_rle(
    obj: dict, where: str, expect: tuple[int, ...] | None = None
) -> np.ndarray:
    from pycocotools import mask as mask_utils

    rle = obj.get("rle")
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValidationError(
            f"{where}: 'rle' must be {{'size': [h, w], 'counts': ...}}"
        )
    try:
        counts = rle["counts"]
        size = [int(x) for x in rle["size"]]
        if expect is not None and tuple(size) != tuple(expect[:2]):
            raise ValidationError(
                f"{where}: mask shape {size[0]}x{size[1]} differs from the ground "
                f"truth {expect[0]}x{expect[1]} (the RLE 'size', checked before decoding)"
            )
        rle = {
            "size": list(rle["size"]),
            "counts": counts.encode() if isinstance(counts, str) else counts,
        }
        if isinstance(rle["counts"], list):
            rle = mask_utils.frPyObjects(rle, *rle["size"])
        return mask_utils.decode(rle).astype(bool)
    except (ValidationError, MemoryError):
        raise
    except Exception as exc:  # pycocotools raises assorted types on bad RLE
        raise ValidationError(f"{where}: unreadable RLE ({exc})") from None


class _Masks:
    """``id -> bool mask`` from image files/NPZ or a JSONL of RLEs."""

    def __init__(self, source: Source):
        files = source.files()
        self.rle = None
        if len(files) == 1 and files[0].lower().endswith((".jsonl", ".json")):
            _, self.rle = read_jsonl(source)
            self.display = source.display
        else:
            self.arrays = ArraySet(source)
            self.display = source.display

    def ids(self) -> list[str]:
        return sorted(self.rle) if self.rle is not None else self.arrays.ids()

    def where(self, sid: str) -> str:
        return self.rle[sid][1] if self.rle is not None else self.arrays.where(sid)

    def get(self, sid: str, expect: tuple[int, ...] | None = None) -> np.ndarray:
        if self.rle is not None:
            return _decode_rle(*self.rle[sid], expect=expect)
        arr = self.arrays.get(sid, expect=expect, what="mask shape")
        if arr.ndim == 3:
            if arr.shape[2] != 1:
                raise ValidationError(
                    f"{self.where(sid)}: expected a single-band mask, found {arr.shape[2]} bands"
                )
            arr = arr[..., 0]
        return arr != 0


class GroundingEvaluation(Evaluation):
    def __init__(self, ids, iou, inter, union, threshold, box):
        self.sample_ids = ids
        self.iou = iou
        self.inter = inter
        self.union = union
        self.threshold = threshold
        self.box = box

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        sel = slice(None) if index is None else np.asarray(index, np.int64)
        iou = self.iou[sel]
        if len(iou) == 0:
            raise ValidationError("no samples to score")
        out: dict[str, Any] = {
            "acc_at_0_5": float(np.mean(iou >= self.threshold)),
            "miou": float(iou.mean()),
        }
        if self.box == "mask":
            union = float(self.union[sel].sum())
            out["giou"] = out["miou"]
            out["ciou"] = float(self.inter[sel].sum() / union) if union > 0 else 1.0
        out.update(
            primary="acc_at_0_5",
            n_samples=int(len(iou)),
            iou_threshold=self.threshold,
            box=self.box,
            iou="polygon" if self.box == "obb" else self.box,
        )
        return out

    def samples(self) -> dict[str, list]:
        return {"iou": self.iou.tolist()}


@register
class Grounding(Kind):
    """Visual grounding (HBB/OBB/mask): Acc@0.5 and mean IoU (gIoU/cIoU for masks)."""

    name = "grounding"
    options = {"box": "hbb", "iou_threshold": 0.5}
    metrics = {"acc_at_0_5": "max", "miou": "max", "giou": "max", "ciou": "max"}
    primary = "acc_at_0_5"
    prediction_bytes_per_sample = 4 << 20  # a box line, an RLE or a mask image
    formats = [
        'JSONL {"id", "box": [x1, y1, x2, y2]} or {"id", "polygon": [8 numbers]}',
        'masks: ZIP of <id>.png, NPZ keyed by id, or JSONL {"id", "rle"}',
    ]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        box = options["box"]
        if box not in ("hbb", "obb", "mask"):
            raise ValidationError(
                f"option box must be 'hbb', 'obb' or 'mask', found {box!r}"
            )
        thr = options["iou_threshold"]
        if not _is_num(thr) or not 0 < thr <= 1:
            raise ValidationError(
                f"option iou_threshold must be a number in (0, 1], found {thr!r}"
            )
        if box == "mask":
            return self._masks(predictions, truth, float(thr))
        _, gt = read_jsonl(truth)
        _, pr = read_jsonl(predictions)
        # Validate every record first, so a malformed line is reported as such.
        t_geo = {s: _geometry(obj, box, where) for s, (obj, where) in gt.items()}
        p_geo = {s: _geometry(obj, box, where) for s, (obj, where) in pr.items()}
        check_ids(list(gt), list(pr), predictions.display)
        ids = list(gt)
        t = np.array([t_geo[s] for s in ids])
        p = np.array([p_geo[s] for s in ids])
        iou = pair_iou(p, t, box)
        return GroundingEvaluation(ids, iou, None, None, float(thr), box)

    def _masks(
        self, predictions: Source, truth: Source, thr: float
    ) -> GroundingEvaluation:
        gt, pr = _Masks(truth), _Masks(predictions)
        ids = gt.ids()
        check_ids(ids, pr.ids(), pr.display)
        inter = np.zeros(len(ids))
        union = np.zeros(len(ids))
        for i, sid in enumerate(ids):
            t = gt.get(sid)
            p = pr.get(sid, expect=t.shape)
            if t.shape != p.shape:
                raise ValidationError(
                    f"{pr.where(sid)}: mask shape {p.shape[0]}x{p.shape[1]} differs from "
                    f"the ground truth {t.shape[0]}x{t.shape[1]}"
                )
            inter[i] = np.count_nonzero(t & p)
            union[i] = np.count_nonzero(t | p)
        iou = np.divide(inter, union, out=np.ones_like(inter), where=union > 0)
        return GroundingEvaluation(ids, iou, inter, union, thr, "mask")
