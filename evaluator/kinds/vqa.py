"""vqa: visual question answering, OA / AA / per-type accuracy (RSVQA convention).

- A prediction is correct when its normalised answer equals the normalised truth
  answer. Open mode (``mode: open``), ``answer_match: vqa`` (default): the
  official VQA evaluation's normalisation (punctuation rules that keep a period
  between digits, number words none/zero..ten -> digits, articles dropped,
  contractions restored); ``answer_match: exact``: strip + lowercase only, for
  closed vocabularies; see ``evaluator.text.answers``. Choice mode
  (``mode: choice``): the option letter, case-insensitive, brackets / trailing
  ``.`` ignored ("(b)." == "B").
- ``oa``: correct / all scored questions. ``per_type``: accuracy per question
  type. ``aa`` (primary): unweighted mean of the per-type accuracies of the types
  present in the scored subset.
- RSVQA types: the JSON's ``comp`` -> ``comparison``; ``presence``, ``count``,
  ``rural_urban`` (LR), ``area`` (HR) as they are. Inactive questions, inactive
  answers and (when ``*_images.json`` is given) questions of inactive images are
  excluded, as in the RSVQA loaders. Option ``types`` (list) restricts scoring to
  those types (default: all types in the truth); XLRS-Bench / AgroMind-style
  sub-task accuracies use the same ``type`` field.

Formats: predictions JSONL ``{"question_id", "answer"}``, one line per question
(missing ``answer`` key, invalid JSON line, duplicate/unknown/missing question ids
are errors; an empty answer is allowed and simply wrong; lines for inactive
questions are ignored). Truth: a folder/ZIP with
RSVQA ``*_questions.json`` + ``*_answers.json`` (+ optional ``*_images.json``), or
a JSONL ``{"question_id", "answer", "type"}`` file (``type`` optional).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.formats.vqa import read_vqa_predictions, read_vqa_truth
from evaluator.io import Source, preview
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register
from evaluator.text.answers import normalize_answer, normalize_choice, normalize_exact

MATCHERS = {"vqa": normalize_answer, "exact": normalize_exact}


class VqaEvaluation(Evaluation):
    def __init__(self, ids, correct, type_idx, types, mode, fmt, match=None):
        self.sample_ids = ids
        self.correct = correct
        self.type_idx = type_idx
        self.types = types
        self.mode = mode
        self.fmt = fmt
        self.match = match

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        c = self.correct if index is None else self.correct[index]
        t = self.type_idx if index is None else self.type_idx[index]
        if len(c) == 0:
            raise ValidationError("no samples to score")
        n = len(self.types)
        hits = np.bincount(t, weights=c, minlength=n)
        counts = np.bincount(t, minlength=n)
        per_type = {
            self.types[i]: float(hits[i] / counts[i]) for i in range(n) if counts[i] > 0
        }
        return {
            "oa": float(c.mean()),
            "aa": float(np.mean(list(per_type.values()))),
            "per_type": per_type,
            "primary": "aa",
            "mode": self.mode,
            "answer_match": self.match if self.mode == "open" else "option letter",
            "truth_format": self.fmt,
            "n_samples": int(len(c)),
        }

    def samples(self) -> dict[str, list]:
        return {
            "correct": self.correct.astype(int).tolist(),
            "type": [self.types[i] for i in self.type_idx],
        }


@register
class Vqa(Kind):
    """Visual question answering: OA, AA (mean per-type accuracy), per-type accuracy."""

    name = "vqa"
    options = {"mode": "open", "types": None, "answer_match": "vqa"}
    metrics = {"aa": "max", "oa": "max"}
    primary = "aa"
    prediction_bytes_per_sample = 1 << 10  # one answer line per question
    formats = ['JSONL {"question_id","answer"}']

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        mode = options["mode"]
        if mode not in ("open", "choice"):
            raise ValidationError(f"option mode={mode!r} must be 'open' or 'choice'")
        match = options["answer_match"]
        if match not in MATCHERS:
            raise ValidationError(
                f"option answer_match={match!r} must be 'vqa' or 'exact'"
            )
        t = read_vqa_truth(truth)
        ids, answers, qtypes = t.ids, t.answers, t.types
        wanted = options["types"]
        if wanted is not None:
            if not isinstance(wanted, list) or not all(
                isinstance(x, str) for x in wanted
            ):
                raise ValidationError(
                    f"option types={wanted!r} must be a list of type names"
                )
            absent = [x for x in wanted if x not in set(qtypes)]
            if absent:
                raise ValidationError(
                    f"option types: not in the truth: {preview(absent)}"
                )
            keep = [i for i, x in enumerate(qtypes) if x in set(wanted)]
            ids = [ids[i] for i in keep]
            answers = [answers[i] for i in keep]
            qtypes = [qtypes[i] for i in keep]
        # Predictions for all truth questions are required, restricted or not.
        preds = read_vqa_predictions(predictions, t.ids, t.excluded)
        norm = normalize_choice if mode == "choice" else MATCHERS[match]
        correct = np.array(
            [norm(preds[q]) == norm(a) for q, a in zip(ids, answers, strict=True)],
            dtype=np.float64,
        )
        types = list(wanted) if wanted is not None else list(dict.fromkeys(qtypes))
        lut = {x: i for i, x in enumerate(types)}
        type_idx = np.array([lut[x] for x in qtypes], dtype=np.int64)
        return VqaEvaluation(ids, correct, type_idx, types, mode, t.fmt, match)
