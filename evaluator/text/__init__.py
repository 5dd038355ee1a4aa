"""Text metrics for captioning and VQA, matching pycocoevalcap where it is the reference.

- :mod:`tokenizer`: pycocoevalcap's PTB tokenisation (Stanford CoreNLP jar shipped
  in the pycocoevalcap package, run with Java; a pure-Python fallback otherwise).
- :mod:`bleu`, :mod:`rouge`, :mod:`cider`: in-process BLEU-1..4, ROUGE-L and CIDEr-D
  with per-image sufficient statistics so any subset / resample is scored fast.
- :mod:`meteor`: METEOR 1.5 through pycocoevalcap's jar (one JVM per evaluation),
  with the jar's aggregation re-implemented so subsets need no JVM.
- :mod:`answers`: VQA answer normalisation.
"""
