"""classification: one label per sample.

Metrics (reference: scikit-learn ``accuracy_score``, ``f1_score(average="macro")``,
``cohen_kappa_score``, and per-class recall = per-class accuracy):

- ``oa``: share of samples whose predicted label equals the true label.
- ``macro_f1``: unweighted mean over classes of F1; a class with no true and no
  predicted sample in the scored subset is left out (sklearn's ``labels`` = classes
  present in truth or predictions).
- ``kappa``: Cohen's kappa, (p_o - p_e) / (1 - p_e).
- ``per_class``: accuracy (recall) of each class present in the truth.

Formats: CSV ``id,label`` for predictions and truth; labels are class names.
The truth may carry extra columns for hosts: ``split`` (ignored by the scorer) and
``block`` (a spatial block / region id per sample, exposed as
``Evaluation.blocks`` so confidence intervals resample whole blocks).

Options: ``classes`` (default: sorted truth labels), ``primary`` (``oa`` |
``kappa`` | ``macro_f1``), ``partial`` (False: a missing id is an error; True: a
missing id is scored as wrong — an extra "no prediction" label that is never
correct, counted in kappa's chance agreement and as a false negative of the true
class, but not averaged into macro-F1), ``zero_shot`` (False; informational,
recorded in the output: the benchmark gives no training labels).

What a sample is does not matter to the scorer: an image, a frame sequence
(temporal inputs: the id is the sequence id) or a pixel (per-pixel tabular
samples such as S1/S2 fusion: the id is the pixel id, and ``block`` groups
neighbouring pixels).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.ids import unique_id_rows
from evaluator.io import Source, align_ids, iter_csv, preview
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """n×n counts, rows = truth, columns = prediction (int64, via bincount)."""
    return np.bincount(y_true * n + y_pred, minlength=n * n).reshape(n, n)


def classification_metrics(cm: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Metrics from a confusion matrix whose first ``len(classes)`` rows/columns
    are the classes (an extra trailing row/column may hold "no prediction")."""
    cm = cm.astype(np.float64)
    total = cm.sum()
    if total == 0:
        raise ValidationError("no samples to score")
    n = len(classes)
    pe = float((cm.sum(axis=1) * cm.sum(axis=0)).sum() / (total * total))
    tp = np.diag(cm)[:n]
    true_c = cm.sum(axis=1)[:n]
    pred_c = cm.sum(axis=0)[:n]
    oa = tp.sum() / total
    present = (true_c + pred_c) > 0
    denom = true_c + pred_c
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    macro_f1 = float(f1[present].mean())
    kappa = 1.0 if pe == 1 else float((oa - pe) / (1 - pe))
    per_class = {
        c: float(tp[i] / true_c[i]) for i, c in enumerate(classes) if true_c[i] > 0
    }
    return {
        "oa": float(oa),
        "macro_f1": macro_f1,
        "kappa": kappa,
        "per_class": per_class,
        "n_samples": int(total),
    }


def read_label_csv(
    source: Source, classes: list[str] | None, *, role: str
) -> tuple[list[str], list[str]]:
    """Ids and labels from an ``id,label`` CSV, with precise validation."""
    ids, labels, _ = read_label_table(source, classes, role=role)
    return ids, labels


def read_label_table(
    source: Source,
    classes: list[str] | None,
    *,
    role: str,
    name: str | None = None,
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Ids, labels and the extra columns (truth only) of an ``id,label`` CSV."""
    name = name or source.single((".csv",))
    where = source.where(name)
    header, rows = iter_csv(source, name)
    lowered = [h.lower() for h in header]
    if lowered[:2] != ["id", "label"] or (role == "predictions" and len(header) != 2):
        want = "id,label" if role == "predictions" else "id,label[,split]"
        raise ValidationError(
            f"{where} line 1: header must be {want!r}, found {','.join(header)!r}"
        )
    ids: list[str] = []
    labels: list[str] = []
    extra_names = [h.lower() for h in header[2:]]
    extras: dict[str, list[str]] = {h: [] for h in extra_names}
    known = set(classes) if classes is not None else None
    for lineno, sid, row in unique_id_rows(rows, where):
        label = row[1]
        if known is not None and label not in known:
            shown = ", ".join(classes[:10]) + (", …" if len(classes) > 10 else "")
            raise ValidationError(
                f"{where} line {lineno}: label {label!r} is not one of the "
                f"{len(classes)} classes ({shown})"
            )
        if not label:
            raise ValidationError(f"{where} line {lineno}: empty label for id {sid!r}")
        ids.append(sid)
        labels.append(label)
        for h, v in zip(extra_names, row[2:], strict=True):
            if h == "block" and not v:
                raise ValidationError(
                    f"{where} line {lineno}: empty block id for {sid!r}"
                )
            extras[h].append(v)
    if not ids:
        raise ValidationError(f"{where}: no data rows")
    return ids, labels, extras


def align(
    truth_ids: list[str], pred_ids: list[str], pred_where: str, *, partial: bool = False
) -> np.ndarray:
    """Index into predictions for each truth id; -1 where missing (if partial)."""
    return align_ids(truth_ids, pred_ids, pred_where, partial=partial)


class ClassificationEvaluation(Evaluation):
    def __init__(
        self, ids, y_true, y_pred, classes, primary, *, blocks=None, zero_shot=False
    ):
        self.sample_ids = ids
        self.y_true = y_true
        self.y_pred = y_pred
        self.classes = classes
        self.primary = primary
        #: spatial block id per sample (aligned with sample_ids) or None
        self.blocks = blocks
        self.zero_shot = zero_shot

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        yt = self.y_true if index is None else self.y_true[index]
        yp = self.y_pred if index is None else self.y_pred[index]
        n = len(self.classes)
        # Code n = no prediction (partial submissions): always wrong, and an
        # extra label for kappa, as sklearn would treat it.
        out = classification_metrics(confusion_matrix(yt, yp, n + 1), self.classes)
        out["primary"] = self.primary
        out["n_missing"] = int((yp == n).sum())
        out["zero_shot"] = self.zero_shot
        return out

    def samples(self) -> dict[str, list]:
        return {"correct": (self.y_true == self.y_pred).astype(int).tolist()}


@register
class Classification(Kind):
    """Single-label classification: OA, macro-F1, Cohen's kappa, per-class accuracy."""

    name = "classification"
    options = {"classes": None, "primary": "oa", "partial": False, "zero_shot": False}
    metrics = {"oa": "max", "macro_f1": "max", "kappa": "max"}
    primary = "oa"
    prediction_bytes_per_sample = 512  # one "id,label" line
    formats = ["CSV id,label"]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        classes = options["classes"]
        t_ids, t_labels, extras = read_label_table(truth, None, role="truth")
        blocks = extras.get("block")
        if classes is None:
            classes = sorted(set(t_labels))
        else:
            classes = [str(c) for c in classes]
            bad = sorted(set(t_labels) - set(classes))
            if bad:
                raise ValidationError(
                    f"truth has labels outside `classes`: {preview(bad)}"
                )
        if options["primary"] not in self.metrics:
            raise ValidationError(
                f"option primary={options['primary']!r} is not one of {sorted(self.metrics)}"
            )
        p_ids, p_labels = read_label_csv(predictions, classes, role="predictions")
        where = predictions.where(predictions.single((".csv",)))
        idx = align(t_ids, p_ids, where, partial=bool(options["partial"]))
        lut = {c: i for i, c in enumerate(classes)}
        y_true = np.array([lut[x] for x in t_labels], dtype=np.int64)
        p_codes = np.array([lut[x] for x in p_labels], dtype=np.int64)
        y_pred = np.where(idx >= 0, p_codes[np.maximum(idx, 0)], len(classes))
        return ClassificationEvaluation(
            t_ids,
            y_true,
            y_pred,
            classes,
            options["primary"],
            blocks=blocks,
            zero_shot=bool(options["zero_shot"]),
        )
