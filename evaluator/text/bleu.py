"""Corpus BLEU-1..4 exactly as pycocoevalcap ``Bleu(4)`` computes it.

Per image: hypothesis length, the *closest* reference length (ties -> the shorter
one), and for n = 1..4 the number of hypothesis n-grams (``guess``) and of clipped
matches (``correct``, clipped by the maximum count in any single reference). The
corpus score sums these over images, then
``BLEU_n = (prod_{m<=n} (correct_m + 1e-15) / (guess_m + 1e-9)) ** (1/n)``
times the brevity penalty ``exp(1 - 1/ratio)`` when
``ratio = (testlen + 1e-15) / (reflen + 1e-9) < 1`` (pycocoevalcap's smoothing
constants, kept on purpose).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

N = 4
TINY = 1e-15
SMALL = 1e-9


def ngram_counts(words: list[str], n: int = N) -> Counter:
    """Counts of all 1..n-grams (tuples) of a token list."""
    counts: Counter = Counter()
    for k in range(1, n + 1):
        counts.update(tuple(words[i : i + k]) for i in range(len(words) - k + 1))
    return counts


def image_stats(hyp: str, refs: list[str]) -> np.ndarray:
    """``[testlen, reflen, guess_1..4, correct_1..4]`` for one image."""
    words = hyp.split()
    testlen = len(words)
    reflens = []
    maxcounts: dict = {}
    for ref in refs:
        rw = ref.split()
        reflens.append(len(rw))
        for ng, c in ngram_counts(rw).items():
            if c > maxcounts.get(ng, 0):
                maxcounts[ng] = c
    reflen = min((abs(rl - testlen), rl) for rl in reflens)[1]
    guess = [max(0, testlen - k + 1) for k in range(1, N + 1)]
    correct = [0] * N
    for ng, c in ngram_counts(words).items():
        correct[len(ng) - 1] += min(maxcounts.get(ng, 0), c)
    return np.array([testlen, reflen, *guess, *correct], dtype=np.float64)


def corpus_bleu(stats: np.ndarray) -> list[float]:
    """BLEU-1..4 from summed per-image stats (rows = images)."""
    tot = stats.sum(axis=0)
    testlen, reflen = tot[0], tot[1]
    guess, correct = tot[2 : 2 + N], tot[2 + N : 2 + 2 * N]
    bleus = []
    prod = 1.0
    for k in range(N):
        prod *= float(correct[k] + TINY) / float(guess[k] + SMALL)
        bleus.append(prod ** (1.0 / (k + 1)))
    ratio = (testlen + TINY) / (reflen + SMALL)
    if ratio < 1:
        bleus = [b * float(np.exp(1 - 1 / ratio)) for b in bleus]
    return [float(b) for b in bleus]
