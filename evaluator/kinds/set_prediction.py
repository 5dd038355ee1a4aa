"""set-prediction: one site -> a set of ids (GeoLifeCLEF / GeoPlant species).

Reference: scikit-learn ``f1_score(MultiLabelBinarizer().fit_transform(...),
average="samples", zero_division=1.0)`` (tests/evaluator/test_set_prediction.py).

- ``samples_f1`` (primary): mean over sites of F1_i = 2·|P_i ∩ T_i| / (|P_i| + |T_i|),
  where P_i is the predicted and T_i the true set of site i. A site with an empty
  true set *and* an empty prediction scores 1 (sklearn ``zero_division=1.0``); an
  empty prediction for a non-empty truth (or the reverse) scores 0.
- ``mean_predicted``: mean size of the (truncated) predicted sets, for context.

Formats: predictions CSV ``id,predicted`` (Kaggle's ``Id,Predicted`` works: the
header is case-insensitive), where ``predicted`` is a space-separated list of
species ids in the participant's order of confidence, possibly empty. Truth CSV
``id,predicted`` or ``id,species`` with the true set, plus optional host columns
(``split`` ignored; ``block`` = spatial block id, exposed as
``Evaluation.blocks`` for the blocked bootstrap). Ids are opaque tokens (no
whitespace); repeating an id within one row counts it once (a set), keeping its
first position. An id absent from every true set is simply a false positive.

Option ``top_k`` (None): keep only the first K listed ids of each prediction
before scoring (GeoLifeCLEF 2023 capped submissions at 30; K is stated in the
output).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.ids import unique_id_rows
from evaluator.io import Source, iter_csv
from evaluator.kinds.base import Evaluation, Kind
from evaluator.kinds.classification import align
from evaluator.registry import register

#: an abusive submission could list millions of ids per site
MAX_SET_SIZE = 100_000


def parse_set(text: str, where: str, lineno: int) -> list[str]:
    """Unique ids in first-listed order."""
    items = list(dict.fromkeys(text.split()))
    if len(items) > MAX_SET_SIZE:
        raise ValidationError(
            f"{where} line {lineno}: {len(items)} ids exceed the limit of {MAX_SET_SIZE}"
        )
    return items


def read_sets(
    source: Source, *, role: str
) -> tuple[list[str], list[list[str]], list[str] | None, str]:
    """Ids, sets (as ordered lists), block ids (truth only) and where."""
    name = source.single((".csv",))
    where = source.where(name)
    header, rows = iter_csv(source, name)
    low = [h.lower() for h in header]
    second = ("predicted",) if role == "predictions" else ("predicted", "species")
    if len(low) < 2 or low[0] != "id" or low[1] not in second:
        want = "id,predicted" if role == "predictions" else "id,predicted|species[,…]"
        raise ValidationError(
            f"{where} line 1: header must be {want!r}, found {','.join(header)!r}"
        )
    if role == "predictions" and len(low) != 2:
        raise ValidationError(
            f"{where} line 1: header must be 'id,predicted', found {','.join(header)!r}"
        )
    block_col = low.index("block") if "block" in low[2:] else None
    ids: list[str] = []
    sets: list[list[str]] = []
    blocks: list[str] = []
    for lineno, sid, row in unique_id_rows(rows, where):
        ids.append(sid)
        sets.append(parse_set(row[1], where, lineno))
        if block_col is not None:
            if not row[block_col]:
                raise ValidationError(
                    f"{where} line {lineno}: empty block id for {sid!r}"
                )
            blocks.append(row[block_col])
    if not ids:
        raise ValidationError(f"{where}: no data rows")
    return ids, sets, (blocks if block_col is not None else None), where


def set_counts(
    truth: list[list[str]], pred: list[list[str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per site |P ∩ T|, |P|, |T|."""
    inter = np.array(
        [len(set(p).intersection(t)) for p, t in zip(pred, truth, strict=True)],
        dtype=np.int64,
    )
    n_pred = np.array([len(p) for p in pred], dtype=np.int64)
    n_true = np.array([len(t) for t in truth], dtype=np.int64)
    return inter, n_pred, n_true


def site_f1(inter: np.ndarray, n_pred: np.ndarray, n_true: np.ndarray) -> np.ndarray:
    den = n_pred + n_true
    # empty vs empty = 1 (sklearn zero_division=1.0)
    return np.divide(2.0 * inter, den, out=np.ones(len(den)), where=den > 0)


class SetPredictionEvaluation(Evaluation):
    def __init__(self, ids, inter, n_pred, n_true, top_k, blocks):
        self.sample_ids = ids
        self.f1 = site_f1(inter, n_pred, n_true)
        self.inter = inter
        self.n_pred = n_pred
        self.n_true = n_true
        self.top_k = top_k
        self.blocks = blocks

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        f1 = self.f1 if index is None else self.f1[index]
        n_pred = self.n_pred if index is None else self.n_pred[index]
        if len(f1) == 0:
            raise ValidationError("no samples to score")
        return {
            "samples_f1": float(f1.mean()),
            "mean_predicted": float(n_pred.mean()),
            "n_samples": int(len(f1)),
            "top_k": self.top_k,
            "empty_vs_empty": 1.0,
            "primary": "samples_f1",
        }

    def samples(self) -> dict[str, list]:
        return {
            "f1": self.f1.tolist(),
            "n_correct": self.inter.tolist(),
            "n_predicted": self.n_pred.tolist(),
            "n_true": self.n_true.tolist(),
        }


@register
class SetPrediction(Kind):
    """Set prediction per site (species): samples-averaged F1."""

    name = "set-prediction"
    options = {"top_k": None}
    metrics = {"samples_f1": "max"}
    primary = "samples_f1"
    prediction_bytes_per_sample = 64 << 10  # a set of ids per sample
    formats = ["CSV id,predicted (space-separated ids)"]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        top_k = options["top_k"]
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise ValidationError(
                f"option top_k must be a positive integer, got {top_k!r}"
            )
        t_ids, t_sets, blocks, _ = read_sets(truth, role="truth")
        p_ids, p_sets, _, p_where = read_sets(predictions, role="predictions")
        idx = align(t_ids, p_ids, p_where)
        pred = [p_sets[i] for i in idx]
        if top_k is not None:
            pred = [p[:top_k] for p in pred]
        inter, n_pred, n_true = set_counts(t_sets, pred)
        return SetPredictionEvaluation(t_ids, inter, n_pred, n_true, top_k, blocks)
