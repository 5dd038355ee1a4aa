"""image-matching: a homography per image pair, scored by corner error.

Definition (METRICS.md; HPatches protocol of D2-Net / Patch2Pix / LoFTR / DKM):

- For pair p with source image size W x H, the four corners
  (0, 0), (W-1, 0), (W-1, H-1), (0, H-1) (option ``corners="pixel"``, the
  Patch2Pix/DKM convention; ``"edge"`` uses W and H instead of W-1 and H-1) are
  mapped with the predicted and with the true homography (homogeneous divide).
  The **corner error** e_p is the mean Euclidean distance between the two mapped
  corner sets, in pixels of the target image.
- ``auc_at_<t>`` for t in option ``thresholds_px`` (default 3, 5, 10): the area
  under the cumulative error curve (recall of pairs with e <= x, for x in
  [0, t]) divided by t, exactly SuperGlue's ``pose_auc`` / LoFTR's ``error_auc``:
  errors sorted, recall = (1..n)/n, both prefixed with 0, trapezoid integration
  up to t (the curve is held flat from the last error below t to t).
- ``success_at_<t>``: share of pairs with e < t (strict).
- ``mean_corner_error``: mean of the finite e_p (None if none is finite), with
  ``n_degenerate`` the number of pairs whose e_p is infinite.

A missing pair (only allowed with option ``partial``; otherwise the submission is
invalid), a ``null`` homography, or a degenerate one counts as e = +inf:
degenerate = any non-finite entry, singular (smallest / largest singular value
< 1e-13), or a corner mapped to infinity (|w| <= 1e-9 of the scale of the
third row's terms, or a non-finite mapped corner). Primary: ``auc_at_10`` (the
largest threshold when 10 is not among ``thresholds_px``).

Formats: predictions JSON ``{pair_id: [[h11,h12,h13],[h21,h22,h23],[h31,h32,h33]]}``
(a flat list of 9 numbers or ``null`` are accepted too); H maps source pixel
coordinates (x, y, 1) to target coordinates. Truth JSON
``{pair_id: {"H": [[...]], "width": W, "height": H}}`` with W x H the size of
the *source* image.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.ids import parse_id_object
from evaluator.io import Source, parse_json, preview, read_text
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register

SINGULAR_RATIO = 1e-13
W_EPS = 1e-9


def error_auc(errors: np.ndarray, thresholds: list[float]) -> list[float]:
    """SuperGlue ``pose_auc`` / LoFTR ``error_auc``: normalised area under the
    recall-vs-error curve up to each threshold (errors may be +inf)."""
    e = np.sort(np.asarray(errors, dtype=np.float64))
    recall = np.arange(len(e) + 1, dtype=np.float64) / len(e)
    e = np.r_[0.0, e]
    out = []
    for t in thresholds:
        last = int(np.searchsorted(e, t))
        r = np.r_[recall[:last], recall[last - 1]]
        x = np.r_[e[:last], t]
        out.append(float(np.trapezoid(r, x=x) / t))
    return out


def image_corners(width: np.ndarray, height: np.ndarray, convention: str) -> np.ndarray:
    """(n, 4, 3) homogeneous corners of each source image."""
    off = 1.0 if convention == "pixel" else 0.0
    w = np.asarray(width, dtype=np.float64) - off
    h = np.asarray(height, dtype=np.float64) - off
    z = np.zeros_like(w)
    xs = np.stack([z, w, w, z], axis=1)
    ys = np.stack([z, z, h, h], axis=1)
    return np.stack([xs, ys, np.ones_like(xs)], axis=2)


def warp(corners: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mapped (n, 4, 2) corners and a per-pair "degenerate" flag."""
    with np.errstate(all="ignore"):
        p = np.einsum("nij,nkj->nki", H, corners)
        w = p[..., 2]
        scale = np.einsum("nj,nkj->nk", np.abs(H[:, 2, :]), np.abs(corners))
        xy = p[..., :2] / w[..., None]
        bad = ~np.isfinite(H).all(axis=(1, 2))
        safe = np.where(bad[:, None, None], np.eye(3), H)
        sv = np.linalg.svd(safe, compute_uv=False)
        bad |= sv[:, -1] < SINGULAR_RATIO * sv[:, 0]
        bad |= (np.abs(w) <= W_EPS * scale).any(axis=1)
        bad |= ~np.isfinite(xy).all(axis=(1, 2))
    return xy, bad


def corner_errors(
    H_true: np.ndarray,
    H_pred: np.ndarray,
    width: np.ndarray,
    height: np.ndarray,
    convention: str = "pixel",
) -> np.ndarray:
    """Mean corner distance per pair; +inf where the prediction is degenerate."""
    corners = image_corners(width, height, convention)
    xy_t, bad_t = warp(corners, H_true)
    if bad_t.any():
        raise ValueError(
            f"degenerate ground-truth homography at {np.flatnonzero(bad_t)}"
        )
    xy_p, bad_p = warp(corners, H_pred)
    with np.errstate(all="ignore"):
        err = np.linalg.norm(xy_p - xy_t, axis=2).mean(axis=1)
    err[bad_p | ~np.isfinite(err)] = np.inf
    return err


def parse_homography(value: Any, where: str, pid: str) -> np.ndarray:
    """A 3x3 float array from a nested or flat list; NaN-filled for ``null``."""
    if value is None:
        return np.full((3, 3), np.nan)
    rows = value
    if (
        isinstance(value, list)
        and len(value) == 9
        and not any(isinstance(v, list) for v in value)
    ):
        rows = [value[0:3], value[3:6], value[6:9]]
    ok = (
        isinstance(rows, list)
        and len(rows) == 3
        and all(isinstance(r, list) and len(r) == 3 for r in rows)
    )
    if not ok:
        raise ValidationError(
            f"{where}: pair {pid!r}: expected a 3x3 homography (3 lists of 3 numbers, "
            f"or 9 numbers, or null), found {_shape_of(value)}"
        )
    flat = [v for r in rows for v in r]
    for v in flat:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValidationError(
                f"{where}: pair {pid!r}: homography entries must be numbers, found {v!r}"
            )
    return np.array(flat, dtype=np.float64).reshape(3, 3)


def _shape_of(value: Any) -> str:
    if isinstance(value, list):
        inner = [len(v) if isinstance(v, list) else type(v).__name__ for v in value[:4]]
        return f"a list of {len(value)} ({inner})"
    return type(value).__name__


def load_json_object(source: Source) -> tuple[dict[str, Any], str]:
    name = source.single((".json",))
    where = source.where(name)
    try:
        data = parse_id_object(read_text(source, name), where, parse_json, noun="pair_id")
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{where} line {exc.lineno}: not valid JSON ({exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(
            f"{where}: expected a JSON object {{pair_id: homography}}, "
            f"found {type(data).__name__}"
        )
    if not data:
        raise ValidationError(f"{where}: no pairs")
    return data, where


def read_truth(source: Source) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    data, where = load_json_object(source)
    ids = list(data)
    Hs = np.empty((len(ids), 3, 3))
    sizes = np.empty((len(ids), 2))
    for i, pid in enumerate(ids):
        entry = data[pid]
        if not isinstance(entry, dict) or not {"H", "width", "height"} <= set(entry):
            raise ValidationError(
                f"{where}: pair {pid!r}: expected an object with H, width and height"
            )
        Hs[i] = parse_homography(entry["H"], where, pid)
        for j, key in enumerate(("width", "height")):
            v = entry[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ValidationError(
                    f"{where}: pair {pid!r}: {key} must be > 0, found {v!r}"
                )
            sizes[i, j] = v
    return ids, Hs, sizes[:, 0], sizes[:, 1]


def threshold_key(t: float) -> str:
    return str(int(t)) if float(t).is_integer() else str(t).replace(".", "_")


def parse_thresholds(value: Any) -> list[float]:
    vals = value if isinstance(value, list | tuple) else [value]
    good = vals and all(
        not isinstance(t, bool)
        and isinstance(t, int | float)
        and math.isfinite(t)
        and t > 0
        for t in vals
    )
    if not good:
        raise ValidationError(
            f"option thresholds_px must be a list of positive numbers, got {value!r}"
        )
    return sorted({float(t) for t in vals})


class ImageMatchingEvaluation(Evaluation):
    def __init__(self, ids: list[str], errors: np.ndarray, thresholds: list[float]):
        self.sample_ids = ids
        self.errors = errors
        self.thresholds = thresholds

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        e = self.errors if index is None else self.errors[index]
        if len(e) == 0:
            raise ValidationError("no samples to score")
        out: dict[str, Any] = {}
        for t, auc in zip(self.thresholds, error_auc(e, self.thresholds), strict=True):
            out[f"auc_at_{threshold_key(t)}"] = auc
        for t in self.thresholds:
            out[f"success_at_{threshold_key(t)}"] = float(np.mean(e < t))
        finite = e[np.isfinite(e)]
        out["mean_corner_error"] = float(finite.mean()) if len(finite) else None
        out["n_degenerate"] = int(len(e) - len(finite))
        out["n_samples"] = int(len(e))
        primary_t = 10.0 if 10.0 in self.thresholds else self.thresholds[-1]
        out["primary"] = f"auc_at_{threshold_key(primary_t)}"
        return out

    def samples(self) -> dict[str, list]:
        return {
            "corner_error": [float(x) if np.isfinite(x) else None for x in self.errors]
        }


@register
class ImageMatching(Kind):
    """Image matching by homography: AUC of the corner error at 3/5/10 px."""

    name = "image-matching"
    options = {"thresholds_px": [3, 5, 10], "partial": False, "corners": "pixel"}
    metrics = {
        "auc_at_3": "max",
        "auc_at_5": "max",
        "auc_at_10": "max",
        "success_at_3": "max",
        "success_at_5": "max",
        "success_at_10": "max",
        "mean_corner_error": "min",
    }
    primary = "auc_at_10"
    prediction_bytes_per_sample = 1 << 10  # nine numbers per pair
    formats = [
        "JSON {pair_id: [[h11,h12,h13],[h21,h22,h23],[h31,h32,h33]]} (or 9 numbers)"
    ]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        thresholds = parse_thresholds(options["thresholds_px"])
        if options["corners"] not in ("pixel", "edge"):
            raise ValidationError(
                f"option corners must be 'pixel' or 'edge', got {options['corners']!r}"
            )
        ids, H_true, width, height = read_truth(truth)
        try:
            corner_errors(H_true, H_true, width, height, options["corners"])
        except ValueError:
            raise ValidationError("truth contains a degenerate homography") from None
        data, where = load_json_object(predictions)
        known = set(ids)
        extra = [pid for pid in data if pid not in known]
        if extra:
            raise ValidationError(
                f"{where}: {len(extra)} pair id(s) not in the test set: {preview(extra)}"
            )
        missing = [pid for pid in ids if pid not in data]
        if missing and not options["partial"]:
            raise ValidationError(
                f"{where}: {len(missing)} test pair id(s) missing: {preview(missing)}"
            )
        H_pred = np.stack([parse_homography(data.get(pid), where, pid) for pid in ids])
        errors = corner_errors(H_true, H_pred, width, height, options["corners"])
        return ImageMatchingEvaluation(ids, errors, thresholds)
