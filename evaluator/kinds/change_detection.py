"""change-detection: bi-temporal change masks, scored on counts summed over the
split (never averaged per image). Option ``variant`` picks one of three tasks.

``binary`` (LEVIR-CD, WHU-CD, ...; reference: scikit-learn on the flattened
pixels, BIT-CD/ChangeFormer ``ConfuseMatrixMeter`` without its epsilon):
  TP/FP/FN/TN of the *change* class summed over every image;
  precision = TP/(TP+FP), recall = TP/(TP+FN), f1 = 2TP/(2TP+FP+FN),
  iou = TP/(TP+FP+FN), oa = (TP+TN)/N, kappa = (p_o − p_e)/(1 − p_e) (1 when
  p_e = 1, i.e. truth and prediction are one identical constant). A ratio whose
  denominator is 0 is ``null``.
  Label values: 0 = no change; 1 = change. LEVIR-CD/WHU-CD ship 0/255 PNGs, so
  255 also means change, with this rule (``truth_encoding``, default ``auto``):
  when ``ignore_index`` is 255, each ground-truth mask is classified on its own —
  a mask with the value 1 is 0/1 (255 = ignore), a mask with 255 and no 1 is
  0/255 (255 = change); a split holding both kinds is refused with an error
  naming the first mask of the rarer kind (set ``truth_encoding`` explicitly),
  so one odd file never changes the meaning of the whole split. All 0/1 → 255
  is ignore; otherwise 255 is change.
  ``truth_encoding: "0/1"`` forces 255 = ignore, ``"0/255"`` forces 255 = change
  (and rejects 1). Predictions: 0 = no change, 1 or 255 = change (bool allowed).

``conditional`` (MapFormer, Bernhard et al. ICCV 2023, ``scd_eval_metrics``):
  one single-band mask per pair for truth and prediction: 0 = no change,
  k in 1..num_classes−1 = changed, post-change semantic class k.
  ``bc_iou``/``bc_precision``/``bc_recall``/``bc_f1``: binary change (value > 0)
  as above. ``sc_miou``: on pixels that changed in the ground truth, IoU_k =
  I_k/U_k for each class k ≥ 1 (I_k: truth = prediction = k; U_k: truth = k or
  prediction = k), averaged over classes with U_k > 0 (MapFormer's plain mean
  gives NaN there); a prediction of 0 on a changed pixel matches no class.
  ``scs`` = (bc_iou + sc_miou)/2. ``num_classes`` counts the values, 0 included.

``referring`` (referring change detection on SECOND-style classes; reference:
  SECOND ``SCDD_eval_all``, Yang et al., "Asymmetric Siamese Networks for
  Semantic Change Detection", TGRS 2021): one mask per (pair, prompt) id,
  0 = no change, k = changed into class k (the prompt's class). One
  num_classes × num_classes histogram over the split, then
  ``miou`` = mean IoU of {no change, change} (binary collapse),
  ``kappa_n0`` = Cohen's kappa of the histogram with its (no change, no change)
  cell set to 0 (0 when empty or p_e = 1, as the reference),
  ``sek`` = kappa_n0 · exp(IoU_change) / e, ``score`` = 0.3·miou + 0.7·sek,
  ``fscd`` = harmonic mean of the semantic-change precision/recall of
  SCDD_eval_all.

Ground-truth pixels equal to ``ignore_index`` (255; null for none) are left out.
In ``conditional``/``referring`` predictions must be in 0..num_classes−1.
Formats: ZIP/folder of single-band PNG/GeoTIFF ``<id>.png|.tif`` or NPZ keyed
by id, for both truth and predictions. Per-sample contributions: binary
TP/FP/FN/TN; conditional/referring: the per-image histogram (flattened).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evaluator.counting import bincount_codes, clip_max
from evaluator.errors import ValidationError
from evaluator.io import Source
from evaluator.kinds.base import Evaluation, Kind
from evaluator.kinds.segmentation import resolve_classes, resolve_ignore
from evaluator.masks import CountStore, check_values, confusion, iter_mask_pairs
from evaluator.registry import register

VARIANTS = ("binary", "conditional", "referring")
ENCODINGS = ("auto", "0/1", "0/255")
PRIMARY = {"binary": "f1", "conditional": "bc_iou", "referring": "score"}

# Binary truth codes: value 0, value 1, value 255, the ignore value, invalid.
_T0, _T1, _T255, _TIGN, _TBAD = 0, 1, 2, 3, 4


def _div(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def binary_metrics(tp: int, fp: int, fn: int, tn: int) -> dict[str, Any]:
    n = tp + fp + fn + tn
    out: dict[str, Any] = {
        "f1": _div(2 * tp, 2 * tp + fp + fn),
        "iou": _div(tp, tp + fp + fn),
        "precision": _div(tp, tp + fp),
        "recall": _div(tp, tp + fn),
        "oa": _div(tp + tn, n),
        "kappa": None,
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "tn": int(tn),
    }
    if n:
        po = (tp + tn) / n
        pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
        out["kappa"] = 1.0 if pe == 1 else float((po - pe) / (1 - pe))
    return out


def cal_kappa(hist: np.ndarray) -> float:
    """Cohen's kappa as SECOND's ``cal_kappa``: 0 for an empty matrix or p_e = 1."""
    total = hist.sum()
    if total == 0:
        return 0.0
    po = np.trace(hist) / total
    pe = float(hist.sum(axis=1) @ hist.sum(axis=0)) / float(total) ** 2
    return 0.0 if pe == 1 else float((po - pe) / (1 - pe))


def _change_counts(cm: np.ndarray) -> tuple[int, int, int, int]:
    """TP, FP, FN, TN of "changed" (value > 0); rows truth, columns prediction."""
    tn = int(cm[0, 0])
    fp = int(cm[0, 1:].sum())
    fn = int(cm[1:, 0].sum())
    tp = int(cm[1:, 1:].sum())
    return tp, fp, fn, tn


def conditional_metrics(cm: np.ndarray, classes: list[str]) -> dict[str, Any]:
    tp, fp, fn, tn = _change_counts(cm)
    b = binary_metrics(tp, fp, fn, tn)
    changed = cm[1:, :]  # ground-truth changed pixels only
    inter = np.diag(cm)[1:].astype(np.float64)
    union = changed.sum(axis=1) + changed[:, 1:].sum(axis=0) - inter
    iou = [float(i / u) if u else None for i, u in zip(inter, union, strict=True)]
    defined = [v for v in iou if v is not None]
    sc = float(np.mean(defined)) if defined else None
    scs = 0.5 * (b["iou"] + sc) if b["iou"] is not None and sc is not None else None
    return {
        "bc_iou": b["iou"],
        "bc_precision": b["precision"],
        "bc_recall": b["recall"],
        "bc_f1": b["f1"],
        "sc_miou": sc,
        "scs": scs,
        "per_class": {
            name: {"sc_iou": v} for name, v in zip(classes[1:], iou, strict=True)
        },
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def referring_metrics(cm: np.ndarray) -> dict[str, Any]:
    """SECOND's SCDD_eval_all on a truth × prediction histogram."""
    hist = cm.astype(np.float64)
    tp, fp, fn, tn = _change_counts(cm)
    iou_nc = _div(tn, tn + fp + fn)
    iou_c = _div(tp, tp + fp + fn)
    defined = [v for v in (iou_nc, iou_c) if v is not None]
    miou = float(np.mean(defined)) if defined else None
    hist_n0 = hist.copy()
    hist_n0[0, 0] = 0
    kappa_n0 = cal_kappa(hist_n0)
    sek = kappa_n0 * math.exp(iou_c) / math.e if iou_c is not None else None
    score = 0.3 * miou + 0.7 * sek if miou is not None and sek is not None else None
    total = hist.sum()
    sc_tp = np.trace(hist[1:, 1:])
    precision = _div(sc_tp, total - hist[:, 0].sum())
    recall = _div(sc_tp, total - hist[0, :].sum())
    fscd = None
    if precision is not None and recall is not None:
        fscd = (
            0.0 if precision == 0 or recall == 0 else 2 / (1 / precision + 1 / recall)
        )
    return {
        "score": score,
        "miou": miou,
        "sek": sek,
        "kappa_n0": kappa_n0,
        "iou_change": iou_c,
        "iou_no_change": iou_nc,
        "fscd": fscd,
        "oa": _div(np.trace(hist), total),
    }


def binary_truth_codes(truth: np.ndarray, ignore: int | None) -> np.ndarray:
    """uint8 codes of a binary ground truth (see the ``_T*`` constants)."""
    lut = np.full(256, _TBAD, dtype=np.uint8)
    lut[0], lut[1], lut[255] = _T0, _T1, _T255
    if ignore is not None and 0 <= ignore < 256 and ignore not in (0, 1, 255):
        lut[ignore] = _TIGN
    if truth.dtype == np.uint8:
        return lut[truth]
    t = truth.astype(np.int64)
    inside = (t >= 0) & (t < 256)
    codes = np.full(t.shape, _TBAD, dtype=np.uint8)
    codes[inside] = lut[t[inside]]
    if ignore is not None and not 0 <= ignore < 256:
        codes[t == ignore] = _TIGN
    return codes


def binary_pred(pred: np.ndarray, where: str) -> np.ndarray:
    """0/1 uint8 change map from a 0/1 or 0/255 prediction."""
    bad = (pred != 0) & (pred != 1) & (pred != 255)
    if bad.any():
        raise ValidationError(
            f"{where}: value {int(pred[bad].ravel()[0])} is not a binary change label "
            f"(expected 0 = no change, 1 or 255 = change); {int(bad.sum())} pixel(s)"
        )
    return (pred != 0).view(np.uint8)


def binary_table(
    truth: np.ndarray, pred: np.ndarray, ignore: int | None, t_where: str, p_where: str
) -> np.ndarray:
    """The 4x2 table (truth code x predicted change) of one mask pair, after
    checking both masks' values."""
    fast = _binary_table_uint8(truth, pred, ignore)
    if fast is not None:
        return fast
    codes = binary_truth_codes(truth, ignore)
    if (codes == _TBAD).any():
        allowed = "0, 1, 255" + ("" if ignore is None else f" or {ignore}")
        raise ValidationError(f"{t_where}: values other than {allowed} (binary change)")
    return confusion(codes, binary_pred(pred, p_where), 4, 2)


def _outside_0_1_255(arr: np.ndarray) -> bool:
    """Any uint8 value in 2..254 (``v - 2`` wraps 0, 1, 255 to 254, 255, 253)."""
    return bool(int(arr.max()) > 1 and ((arr - np.uint8(2)) < 253).any())


def _binary_table_uint8(truth, pred, ignore) -> np.ndarray | None:
    """:func:`binary_table` for uint8/bool masks whose ignore index is 255, none
    or outside 0..255, in a few one-byte passes; None when anything is unusual
    (another dtype or ignore value, a value to report), left to the general path.
    Truth codes 0, 1, 255 -> min(v, 2) = ``_T0``, ``_T1``, ``_T255``."""
    if truth.dtype != np.uint8 or pred.dtype not in (np.uint8, np.bool_):
        return None
    if ignore is not None and 0 <= ignore < 255:
        return None
    if pred.dtype == np.bool_:
        pred = pred.view(np.uint8)
    if _outside_0_1_255(truth) or _outside_0_1_255(pred):
        return None
    code = clip_max(truth, _T255)
    code += code  # 2 * code + (pred != 0): codes 0..5 of the 4 x 2 table
    code += clip_max(pred, 1)
    return bincount_codes(code, 8).astype(np.int64).reshape(4, 2)


class BinaryEvaluation(Evaluation):
    def __init__(self, ids, store: CountStore, change_255: bool, info):
        self.sample_ids = ids
        self.store = store
        self.info = info
        # Rows of the 4x2 (truth code x predicted change) table that count.
        self.change_rows = [_T1, _T255] if change_255 else [_T1]
        self.nochange_rows = [_T0]

    def _counts(self, flat: np.ndarray) -> tuple[int, int, int, int]:
        t = flat.reshape(4, 2)
        ch, nc = t[self.change_rows].sum(axis=0), t[self.nochange_rows].sum(axis=0)
        return int(ch[1]), int(nc[1]), int(ch[0]), int(nc[0])

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        out = binary_metrics(*self._counts(self.store.total(index)))
        out.update(self.info)
        out["n_samples"] = len(self.sample_ids) if index is None else int(len(index))
        out["primary"] = PRIMARY["binary"]
        return out

    def samples(self) -> dict[str, list]:
        rows = [self._counts(self.store.sample(i)) for i in range(len(self.store))]
        return {k: [r[j] for r in rows] for j, k in enumerate(("tp", "fp", "fn", "tn"))}


class MulticlassEvaluation(Evaluation):
    def __init__(self, ids, store: CountStore, classes, variant, info):
        self.sample_ids = ids
        self.store = store
        self.classes = classes
        self.variant = variant
        self.info = info

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        n = len(self.classes)
        cm = self.store.total(index).reshape(n, n)
        if self.variant == "conditional":
            out = conditional_metrics(cm, self.classes)
        else:
            out = referring_metrics(cm)
        out.update(self.info)
        out["n_samples"] = len(self.sample_ids) if index is None else int(len(index))
        out["primary"] = PRIMARY[self.variant]
        return out

    def samples(self) -> dict[str, list]:
        return {
            "confusion": [self.store.sample(i).tolist() for i in range(len(self.store))]
        }


def _refuse_mixed(with_one: list[str], only_255: list[str]) -> None:
    """``truth_encoding: auto`` met 0/1 masks and 0/255 masks in one split."""
    if len(with_one) <= len(only_255):
        odd, kind, other, n_other, other_kind = (
            with_one[0],
            "0/1 (contains 1)",
            only_255[0],
            len(only_255),
            "0/255",
        )
    else:
        odd, kind, other, n_other, other_kind = (
            only_255[0],
            "0/255 (contains 255, no 1)",
            with_one[0],
            len(with_one),
            "0/1",
        )
    raise ValidationError(
        f"ground truth {odd}: mask is {kind} while {n_other} other mask(s) are "
        f"{other_kind} (e.g. {other}); mixed truth encodings — re-save the odd "
        "mask(s) or set truth_encoding to '0/1' (255 = ignore) or '0/255' (255 = change)"
    )


def _evaluate_binary(predictions, truth, ignore, encoding) -> BinaryEvaluation:
    if ignore in (0, 1):
        raise ValidationError(f"option ignore_index={ignore} is a change label (0/1)")
    store = CountStore(4 * 2)
    ids: list[str] = []
    with_one: list[str] = []  # masks holding the value 1 (0/1 evidence)
    only_255: list[str] = []  # masks holding 255 but no 1 (0/255 evidence)
    for pair in iter_mask_pairs(predictions, truth):
        where = f"ground truth {pair.truth_where}"
        table = binary_table(pair.truth, pair.pred, ignore, where, pair.pred_where)
        has_one, has_255 = table[_T1].sum() > 0, table[_T255].sum() > 0
        if encoding == "0/255" and has_one:
            raise ValidationError(f"{where}: value 1 in a 0/255 ground truth")
        if encoding == "0/1" and has_255 and ignore != 255:
            raise ValidationError(f"{where}: value 255 in a 0/1 ground truth")
        if has_one:
            with_one.append(pair.truth_where)
        elif has_255:
            only_255.append(pair.truth_where)
        store.add(table)
        ids.append(pair.sid)
    if encoding == "auto":
        if ignore == 255 and with_one and only_255:
            _refuse_mixed(with_one, only_255)
        change_255 = not (ignore == 255 and with_one)
    else:
        change_255 = encoding == "0/255"
    info = {
        "variant": "binary",
        "ignore_index": ignore,
        "truth_encoding": "0/255" if change_255 else "0/1",
    }
    return BinaryEvaluation(ids, store, change_255, info)


def _evaluate_multiclass(predictions, truth, ignore, classes, variant):
    n = len(classes)
    if n < 2:
        raise ValidationError("option num_classes must be at least 2 (0 = no change)")
    if ignore is not None and 0 <= ignore < n:
        raise ValidationError(
            f"option ignore_index={ignore} is a class value (0..{n - 1})"
        )
    store = CountStore(n * n)
    ids: list[str] = []
    for pair in iter_mask_pairs(predictions, truth):
        check_values(
            pair.truth,
            n,
            f"ground truth {pair.truth_where}",
            allowed_extra=ignore,
            hide_value=True,
        )
        check_values(pair.pred, n, pair.pred_where, what="change class")
        store.add(confusion(pair.truth, pair.pred, n, n))
        ids.append(pair.sid)
    info = {"variant": variant, "ignore_index": ignore}
    return MulticlassEvaluation(ids, store, classes, variant, info)


@register
class ChangeDetection(Kind):
    """Change detection: binary (F1/IoU/P/R/OA/kappa), conditional (MapFormer BC/SC), referring (SECOND SeK/Score)."""

    name = "change-detection"
    options = {
        "variant": "binary",
        "ignore_index": 255,
        "num_classes": None,
        "classes": None,
        "truth_encoding": "auto",
    }
    metrics = {
        "f1": "max",
        "iou": "max",
        "precision": "max",
        "recall": "max",
        "oa": "max",
        "kappa": "max",
        "bc_iou": "max",
        "bc_precision": "max",
        "bc_recall": "max",
        "bc_f1": "max",
        "sc_miou": "max",
        "scs": "max",
        "score": "max",
        "miou": "max",
        "sek": "max",
        "fscd": "max",
    }
    primary = "f1"
    prediction_bytes_per_sample = 64 << 20  # a mask per sample, up to 8192² uint8 uncompressed
    formats = [
        "ZIP/folder of single-band PNG or GeoTIFF masks <id>.png|.tif",
        "NPZ keyed by id",
    ]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        variant = options["variant"]
        if variant not in VARIANTS:
            raise ValidationError(
                f"option variant={variant!r} is not one of {VARIANTS}"
            )
        ignore = resolve_ignore(options["ignore_index"])
        if variant == "binary":
            encoding = options["truth_encoding"]
            if encoding not in ENCODINGS:
                raise ValidationError(
                    f"option truth_encoding={encoding!r} is not one of {ENCODINGS}"
                )
            return _evaluate_binary(predictions, truth, ignore, encoding)
        classes = resolve_classes(options)
        return _evaluate_multiclass(predictions, truth, ignore, classes, variant)
