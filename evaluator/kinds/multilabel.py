"""multilabel: one sample -> a score in [0, 1] for each class.

Reference: scikit-learn (``average_precision_score``, ``f1_score``), matched to
1e-9 on seeded random data with tied scores (tests/evaluator/test_multilabel.py).

- ``per_class``: AP of each class = sklearn ``average_precision_score`` (step-wise,
  no interpolation): AP = sum_k (R_k - R_{k-1}) P_k over the distinct score
  thresholds in decreasing order; samples with tied scores enter together. A
  class with no positive sample in the scored subset has AP ``None``.
- ``macro_map`` (primary): mean of the per-class AP over classes with at least
  one positive in the scored subset.
- ``micro_map``: AP of the flattened (sample, class) pairs.
- ``macro_f1`` / ``micro_f1`` at option ``threshold`` (0.5): a score >= threshold
  is a positive prediction (then sklearn ``f1_score`` on the 0/1 matrix).
  ``macro_f1`` averages over the classes present in the truth or the binarised
  predictions of the scored subset (sklearn ``labels=`` those classes; a class
  with neither is left out instead of counting as 0 — on a full test split where
  every class occurs this equals sklearn's default). ``micro_f1`` =
  2·TP / (2·TP + FP + FN) over all pairs.
- ``samples_f1``: mean over samples of the per-sample F1 at the threshold
  (sklearn ``f1_score(average="samples", zero_division=1.0)``: a sample with no
  true and no predicted class scores 1).

Formats: predictions CSV ``id,<class1>,<class2>,…`` with scores in [0, 1];
truth CSV ``id,<class1>,…`` with 0/1 values. Columns are matched by name (order
free); a missing or unknown class column is an error. Options: ``classes``
(default: the truth header order), ``threshold`` (0.5).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.ids import unique_id_rows
from evaluator.io import Source, iter_csv, preview
from evaluator.kinds.base import Evaluation, Kind
from evaluator.kinds.classification import align
from evaluator.registry import register


class RankedColumns:
    """Scores sorted once per column, so AP of any resample needs no new sort.

    A resample (or subset) is a weight per original sample (its multiplicity);
    AP of the resampled data equals the weighted AP computed here. Arrays are
    kept class-major (classes × samples) so cumulative sums run contiguously.
    """

    def __init__(self, y: np.ndarray, s: np.ndarray):
        n, c = s.shape
        st = np.ascontiguousarray(s.T)
        self.order = np.argsort(-st, axis=1, kind="stable")
        ss = np.take_along_axis(st, self.order, axis=1)
        self.y_sorted = np.take_along_axis(
            np.ascontiguousarray(y.T), self.order, axis=1
        ).astype(np.float64)
        # Position i closes a tie group when the next score differs (or it is
        # last); every position points at the end of its group: the threshold
        # that admits it. Without ties that is the position itself.
        closes = np.ones_like(ss, dtype=bool)
        closes[:, :-1] = ss[:, :-1] != ss[:, 1:]
        self.ties = not closes.all()
        if self.ties:
            end = np.where(closes, np.arange(n)[None, :], n)
            end = np.minimum.accumulate(end[:, ::-1], axis=1)[:, ::-1]
            self.end_flat = (end + (np.arange(c) * n)[:, None]).ravel()

    def average_precision(self, w: np.ndarray) -> np.ndarray:
        """Per-column AP for sample weights ``w``; NaN where no weighted positive.

        AP = sum over positives of w_i * precision(end of i's tie group) / P,
        which is sklearn's sum_k (R_k - R_{k-1}) P_k.
        """
        ws = w[self.order]
        wy = ws * self.y_sorted
        tps = np.cumsum(wy, axis=1)
        tot = np.cumsum(ws, axis=1)
        if self.ties:
            tp_end = tps.ravel()[self.end_flat].reshape(tps.shape)
            tot_end = tot.ravel()[self.end_flat].reshape(tot.shape)
        else:
            tp_end, tot_end = tps, tot
        # tot_end > 0 wherever wy > 0; elsewhere the term is 0 anyway.
        prec = np.divide(tp_end, tot_end, out=np.zeros_like(tp_end), where=wy > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (wy * prec).sum(axis=1) / tps[:, -1]


def average_precision_columns(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """sklearn ``average_precision_score`` of every column of ``s`` vs ``y``."""
    return RankedColumns(y, s).average_precision(np.ones(s.shape[0]))


class MultilabelStats:
    """Everything ``compute`` needs, prepared once from truth and scores."""

    def __init__(self, y: np.ndarray, s: np.ndarray, threshold: float):
        self.y = y
        self.ranked = RankedColumns(y, s)
        self.ranked_flat = RankedColumns(y.reshape(-1, 1), s.reshape(-1, 1))
        p = s >= threshold
        self.tp = (y & p).astype(np.float64)
        self.fp = (~y & p).astype(np.float64)
        self.fn = (y & ~p).astype(np.float64)
        den = y.sum(axis=1) + p.sum(axis=1)
        # empty truth and empty prediction -> 1 (sklearn zero_division=1.0)
        self.sample_f1 = np.divide(
            2.0 * self.tp.sum(axis=1), den, out=np.ones(len(den)), where=den > 0
        )

    def metrics(self, w: np.ndarray, classes: list[str]) -> dict[str, Any]:
        """Metrics of the samples weighted by multiplicity ``w``."""
        n = w.sum()
        if n == 0:
            raise ValidationError("no samples to score")
        ap = self.ranked.average_precision(w)
        has_pos = (w @ self.y) > 0
        n_cls = self.y.shape[1]
        micro = self.ranked_flat.average_precision(np.repeat(w, n_cls))[0]
        tp, fp, fn = w @ self.tp, w @ self.fp, w @ self.fn
        denom = 2 * tp + fp + fn
        present = denom > 0
        f1 = np.divide(2 * tp, denom, out=np.zeros(n_cls), where=present)
        micro_den = denom.sum()
        return {
            "macro_map": float(ap[has_pos].mean()) if has_pos.any() else None,
            "micro_map": float(micro) if np.isfinite(micro) else None,
            "macro_f1": float(f1[present].mean()) if present.any() else None,
            "micro_f1": float(2 * tp.sum() / micro_den) if micro_den else None,
            "samples_f1": float(w @ self.sample_f1 / n),
            "per_class": {
                c: (float(ap[i]) if has_pos[i] else None) for i, c in enumerate(classes)
            },
            "n_samples": int(n),
            "n_classes_scored": int(has_pos.sum()),
        }


def multilabel_metrics(
    y: np.ndarray, s: np.ndarray, classes: list[str], threshold: float
) -> dict[str, Any]:
    """All multilabel metrics of truth ``y`` (bool) and scores ``s``."""
    return MultilabelStats(y, s, threshold).metrics(np.ones(len(y)), classes)


def read_matrix(
    source: Source, classes: list[str] | None, *, role: str
) -> tuple[list[str], list[str], np.ndarray, list[int], str]:
    """Ids, class header, values (float64, header order), line numbers, where."""
    name = source.single((".csv",))
    where = source.where(name)
    header, rows = iter_csv(source, name)
    if not header or header[0].lower() != "id" or len(header) < 2:
        raise ValidationError(
            f"{where} line 1: header must be 'id,<class1>,<class2>,…', "
            f"found {','.join(header)!r}"
        )
    cols = header[1:]
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise ValidationError(
            f"{where} line 1: duplicate class column(s) {preview(dup)}"
        )
    if classes is not None:
        missing = [c for c in classes if c not in cols]
        extra = [c for c in cols if c not in set(classes)]
        if missing:
            raise ValidationError(
                f"{where} line 1: {len(missing)} class column(s) missing: {preview(missing)}"
            )
        if extra:
            raise ValidationError(
                f"{where} line 1: {len(extra)} unknown class column(s): {preview(extra)} "
                f"(expected the {len(classes)} classes {preview(classes)})"
            )
    ids: list[str] = []
    cells: list[list[str]] = []
    lines: list[int] = []
    for lineno, sid, row in unique_id_rows(rows, where):
        ids.append(sid)
        cells.append(row[1:])
        lines.append(lineno)
    if not ids:
        raise ValidationError(f"{where}: no data rows")
    values = _to_float(cells, cols, lines, where)
    _check_values(values, cols, ids, lines, where, role=role)
    return ids, cols, values, lines, where


def _to_float(
    cells: list[list[str]], cols: list[str], lines: list[int], where: str
) -> np.ndarray:
    try:
        return np.asarray(cells, dtype=np.float64)
    except ValueError:
        pass
    # Slow path only to name the offending cell.
    for r, row in enumerate(cells):
        for c, v in enumerate(row):
            try:
                float(v)
            except ValueError:
                raise ValidationError(
                    f"{where} line {lines[r]}, column {cols[c]!r}: {v!r} is not a number"
                ) from None
    raise ValidationError(f"{where}: values are not numbers")  # pragma: no cover


def _check_values(
    values: np.ndarray,
    cols: list[str],
    ids: list[str],
    lines: list[int],
    where: str,
    *,
    role: str,
) -> None:
    if role == "truth":
        bad = (values != 0) & (values != 1)
        what = "must be 0 or 1"
    else:
        bad = ~((values >= 0) & (values <= 1))  # NaN fails both comparisons
        what = "must be a score in [0, 1]"
    if bad.any():
        r, c = np.argwhere(bad)[0]
        found = "" if role == "truth" else f", found {float(values[r, c])!r}"
        raise ValidationError(
            f"{where} line {lines[r]}, id {ids[r]!r}, column {cols[c]!r}: value "
            f"{what}{found} ({int(bad.sum())} such value(s))"
        )


class MultilabelEvaluation(Evaluation):
    def __init__(self, ids, y, scores, classes, threshold):
        self.sample_ids = ids
        self.classes = classes
        self.threshold = threshold
        self.blocks = None
        self.stats = MultilabelStats(y, scores, threshold)

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        n = len(self.sample_ids)
        if index is None:
            w = np.ones(n)
        else:
            # A subset or resample = a multiplicity per sample.
            w = np.bincount(np.asarray(index, dtype=np.int64), minlength=n)
            w = w.astype(np.float64)
        out = self.stats.metrics(w, self.classes)
        out["primary"] = "macro_map"
        out["threshold"] = self.threshold
        out["threshold_rule"] = "score >= threshold"
        return out

    def samples(self) -> dict[str, list]:
        return {
            "f1": self.stats.sample_f1.tolist(),
            "n_true": self.stats.y.sum(axis=1).tolist(),
        }


@register
class Multilabel(Kind):
    """Multi-label classification: macro/micro mAP, F1 at a threshold, samples-F1."""

    name = "multilabel"
    options = {"classes": None, "threshold": 0.5}
    metrics = {
        "macro_map": "max",
        "micro_map": "max",
        "macro_f1": "max",
        "micro_f1": "max",
        "samples_f1": "max",
    }
    primary = "macro_map"
    prediction_bytes_per_sample = 4 << 10  # one score per class
    formats = ["CSV id,<class1>,<class2>,… (scores in [0,1]; truth 0/1)"]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        threshold = options["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValidationError(
                f"option threshold must be a number, got {threshold!r}"
            )
        if not math.isfinite(threshold):
            raise ValidationError(f"option threshold must be finite, got {threshold!r}")
        classes = options["classes"]
        if classes is not None:
            classes = [str(c) for c in classes]
        t_ids, t_cols, t_vals, _, _ = read_matrix(truth, classes, role="truth")
        classes = classes or t_cols
        p_ids, p_cols, p_vals, _, p_where = read_matrix(
            predictions, classes, role="predictions"
        )
        idx = align(t_ids, p_ids, p_where)
        y = t_vals[:, [t_cols.index(c) for c in classes]].astype(bool)
        s = p_vals[:, [p_cols.index(c) for c in classes]][idx]
        return MultilabelEvaluation(t_ids, y, s, classes, float(threshold))
