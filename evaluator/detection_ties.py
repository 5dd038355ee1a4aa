"""Order of tied detections in ``ap_mode`` voc07/voc12: the DOTA devkit's rule.

The devkit's ``voc_eval`` reads one class file (``Task1_<class>.txt``), keeps its
lines in file order, and ranks them with ``np.argsort(-confidence)`` — numpy's
default sort (``kind="quicksort"``: introsort, or a SIMD sort on CPUs that have
one), which is *not* stable: detections with equal scores come out in an order
that depends on the whole array, not on image ids or line numbers. That order
decides which of two tied detections claims a ground truth and where a tied TP
sits relative to a tied FP, so it moves AP (a 2-image example: 1.0 with ties by
image, 0.5 in the devkit).

:func:`devkit_rank` reproduces it exactly: the rows of each class in submission
order (DOTA: the lines of the class file, in order; COCO results JSON: list
order), then the same ``np.argsort`` call on the negated scores — the same
function on the same array gives the same permutation. The rank is computed
once, on every detection of the submission (before ``max_dets``), so a subset
of images uses the whole split's order restricted to its images.

Kept in its own module on purpose: anything that speeds up VOC AP must still
rank detections with :func:`devkit_rank` (or prove the same permutation).
"""

from __future__ import annotations

import numpy as np


def devkit_rank(cls: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Position of each row in its class's ``voc_eval`` order.

    ``cls`` (n,) class codes and ``score`` (n,) float64 confidences, rows in
    submission order. Returns (n,) int64: 0 for the first detection of its class
    in ``np.argsort(-confidence)`` of that class's rows, 1 for the next, …
    """
    cls = np.asarray(cls)
    score = np.asarray(score, dtype=np.float64)
    rank = np.empty(len(cls), np.int64)
    by_cls = np.argsort(cls, kind="stable")  # file order inside each class
    bounds = np.flatnonzero(np.r_[True, np.diff(cls[by_cls]) != 0, True])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        rows = by_cls[lo:hi]
        confidence = score[rows]
        sorted_ind = np.argsort(-confidence)  # the devkit's call, default kind
        rank[rows[sorted_ind]] = np.arange(hi - lo)
    return rank
