"""captioning: image and change captioning, matching pycocoevalcap exactly.

Metrics (reference: ``pycocoevalcap`` 1.2 ``Bleu(4)``, ``Meteor``, ``Rouge``,
``Cider`` after its ``PTBTokenizer``; the tests compare to it to 1e-6 on RSICD):

- Tokenisation: pycocoevalcap's PTB tokenizer (CoreNLP 3.4.1 jar run with Java,
  ``-preserveLines -lowerCase``, punctuation tokens dropped); without Java a Python
  re-implementation (token-for-token equal to the jar on a 12,000-caption
  conformance corpus and the RSICD/Sydney references). ``tokenizer`` in
  the output says which ran.
- ``bleu_1`` .. ``bleu_4``: corpus BLEU with pycocoevalcap's "closest" reference
  length and its smoothing constants (1e-15 / 1e-9).
- ``meteor``: METEOR 1.5 via pycocoevalcap's jar (one JVM per evaluation). The
  corpus value is the jar's aggregate over summed statistics (not the mean of
  per-image scores); subsets re-aggregate the stored per-image statistics. Without
  Java (or when the jar fails, or ``meteor: false``) the output says
  ``"meteor": "unavailable"`` — never 0 — and ``s_m`` is ``"unavailable"`` too.
- ``rouge_l``: mean over images of ROUGE-L (beta 1.2, max P and max R over refs).
- ``cider_d``: pycocoevalcap's Cider (= CIDEr-D: sigma 6, clipped, x10), with IDF
  from the references of the images being scored; ``compute(index)`` recomputes
  document frequencies for that subset, exactly as scoring the subset alone would.
- ``s_m`` (``variant: change``): mean(BLEU-4, METEOR, ROUGE-L, CIDEr-D), the S*m of
  change captioning (LEVIR-CC).

Formats: predictions = COCO results JSON ``[{"image_id", "caption"}]`` (one per
test image; empty captions, duplicates, unknown or missing ids are errors). Truth is
auto-detected: COCO-caption JSON (``images`` + ``annotations``); RSICD
``dataset_rsicd.json`` or LEVIR-CC ``LevirCCcaptions.json`` (``images`` with
``filename``, ``imgid``, ``split``, ``sentences[{raw, tokens}]``; ``raw`` is used,
else the joined ``tokens``). For RSICD/LEVIR-CC only images of split ``split``
(option; default ``test`` when present) are scored, and a prediction's ``image_id``
may be the ``filename``, its stem, or the ``imgid``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.formats.captions import read_caption_predictions, read_caption_truth
from evaluator.io import Source
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register
from evaluator.text import bleu, cider, meteor, rouge
from evaluator.text.tokenizer import tokenize

UNAVAILABLE = "unavailable"


class CaptionEvaluation(Evaluation):
    def __init__(self, ids, bleu_stats, rouge_scores, cider_stats, meteor_stats, info):
        self.sample_ids = ids
        self.bleu_stats = bleu_stats
        self.rouge_scores = rouge_scores
        self.cider_stats = cider_stats
        self.meteor_stats = meteor_stats  # None when unavailable
        self.info = info
        self._cider_full = cider_stats.image_scores(None)

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        idx = np.arange(len(self.sample_ids)) if index is None else np.asarray(index)
        if len(idx) == 0:
            raise ValidationError("no samples to score")
        b = bleu.corpus_bleu(self.bleu_stats[idx])
        out: dict[str, Any] = {f"bleu_{k + 1}": b[k] for k in range(4)}
        met = (
            meteor.aggregate(self.meteor_stats, idx)
            if self.meteor_stats is not None
            else UNAVAILABLE
        )
        out["meteor"] = met
        out["rouge_l"] = float(self.rouge_scores[idx].mean())
        out["cider_d"] = self.cider_stats.corpus(None if index is None else idx)
        if self.info["variant"] == "change":
            parts = [out["bleu_4"], met, out["rouge_l"], out["cider_d"]]
            out["s_m"] = UNAVAILABLE if met == UNAVAILABLE else float(np.mean(parts))
        out.update(self.info)
        out["n_samples"] = int(len(idx))
        return out

    def samples(self) -> dict[str, list]:
        out = {
            "cider_d": self._cider_full.tolist(),
            "rouge_l": self.rouge_scores.tolist(),
        }
        if self.meteor_stats is not None:
            out["meteor"] = [meteor.score_from_stats(s) for s in self.meteor_stats]
        return out


@register
class Captioning(Kind):
    """Image / change captioning: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D (+ S*m)."""

    name = "captioning"
    options = {"variant": "caption", "split": None, "meteor": True}
    metrics = {
        "bleu_1": "max",
        "bleu_2": "max",
        "bleu_3": "max",
        "bleu_4": "max",
        "meteor": "max",
        "rouge_l": "max",
        "cider_d": "max",
        "s_m": "max",
    }
    primary = "cider_d"
    prediction_bytes_per_sample = 4 << 10  # one caption per image
    formats = ['COCO results JSON [{"image_id","caption"}]']

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        variant = options["variant"]
        if variant not in ("caption", "change"):
            raise ValidationError(
                f"option variant={variant!r} must be 'caption' or 'change'"
            )
        t = read_caption_truth(truth, options["split"])
        preds = read_caption_predictions(predictions, t)
        hyps_raw = [preds[s] for s in t.ids]
        # One tokenizer call for references and hypotheses (pycocoevalcap makes
        # two; tokenisation is per line, so the result is the same — except a
        # trailing context across the one boundary line, e.g. "No." + "5").
        flat = [c for refs in t.refs for c in refs] + hyps_raw
        toks, tokenizer_used = tokenize(flat)
        refs, pos = [], 0
        for r in t.refs:
            refs.append(toks[pos : pos + len(r)])
            pos += len(r)
        hyps = toks[pos:]
        bleu_stats = np.array(
            [bleu.image_stats(h, r) for h, r in zip(hyps, refs, strict=True)]
        )
        rouge_scores = np.array(
            [rouge.rouge_l(h, r) for h, r in zip(hyps, refs, strict=True)]
        )
        cider_stats = cider.CiderStats(hyps, refs)
        info: dict[str, Any] = {
            "primary": "s_m" if variant == "change" else "cider_d",
            "variant": variant,
            "tokenizer": tokenizer_used,
            "truth_format": t.fmt,
        }
        meteor_stats = None
        if not options["meteor"]:
            info["meteor_note"] = "disabled by option meteor=false"
        else:
            try:
                meteor_stats, _, _ = meteor.run_meteor(hyps, refs)
            except meteor.MeteorUnavailable as exc:
                info["meteor_note"] = str(exc)
        return CaptionEvaluation(
            t.ids, bleu_stats, rouge_scores, cider_stats, meteor_stats, info
        )
