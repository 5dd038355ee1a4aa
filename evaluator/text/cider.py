"""CIDEr-D exactly as pycocoevalcap ``Cider`` computes it, fast on any subset.

pycocoevalcap's ``Cider`` is the CIDEr-D formulation: n = 1..4, TF-IDF vectors with
``w(g) = log(N) - log(max(1, df(g)))`` where N is the number of images scored and
df(g) the number of those images whose references contain g; clipped numerator
``min(v_hyp, v_ref) * v_ref``; Gaussian length penalty ``exp(-d^2 / (2 sigma^2))``,
sigma = 6, where d is the difference in *bigram* counts (pycocoevalcap's "length"
counts n-grams with n = 2 — a quirk kept on purpose); mean over n and references,
times 10; corpus score = mean over images.

Because IDF depends on the scored set, :class:`CiderStats` stores per-image n-gram
counts once and recomputes document frequencies for every subset with vectorised
sums. A resample with repeats counts a repeated image as that many images (in N,
in df and in the mean), as if the duplicated set were scored.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

N = 4
SIGMA = 6.0


def _counts(sentence: str) -> Counter:
    words = sentence.split()
    c: Counter = Counter()
    for k in range(1, N + 1):
        c.update(tuple(words[i : i + k]) for i in range(len(words) - k + 1))
    return c


class CiderStats:
    """Sparse per-image statistics from which CIDEr-D of any subset follows."""

    def __init__(self, hyps: list[str], refs: list[list[str]]):
        vocab: dict[tuple, int] = {}

        def gid(ng: tuple) -> int:
            return vocab.setdefault(ng, len(vocab))

        df_img, df_ng = [], []
        h_img, h_key, h_ng, h_tf2 = [], [], [], []
        r_key, r_ng, r_tf2 = [], [], []
        o_key, o_ng, o_val = [], [], []
        pair_img, pair_delta = [], []
        n_refs = np.zeros(len(hyps), dtype=np.float64)
        for i, (hyp, rs) in enumerate(zip(hyps, refs, strict=True)):
            hc = _counts(hyp)
            h_len = sum(c for ng, c in hc.items() if len(ng) == 2)
            for ng, c in hc.items():
                h_img.append(i)
                h_key.append(i * N + len(ng) - 1)
                h_ng.append(gid(ng))
                h_tf2.append(c * c)
            n_refs[i] = len(rs)
            seen: set[int] = set()
            for ref in rs:
                p = len(pair_img)
                rc = _counts(ref)
                r_len = sum(c for ng, c in rc.items() if len(ng) == 2)
                pair_img.append(i)
                pair_delta.append(float(h_len - r_len))
                for ng, c in rc.items():
                    g = gid(ng)
                    seen.add(g)
                    r_key.append(p * N + len(ng) - 1)
                    r_ng.append(g)
                    r_tf2.append(c * c)
                    hcount = hc.get(ng, 0)
                    if hcount:
                        o_key.append(p * N + len(ng) - 1)
                        o_ng.append(g)
                        o_val.append(min(hcount, c) * c)
            df_img.extend([i] * len(seen))
            df_ng.extend(seen)

        def arr(x, dt=np.int64):
            return np.asarray(x, dtype=dt)

        self.n_images = len(hyps)
        self.vocab_size = len(vocab)
        self.df_img, self.df_ng = arr(df_img), arr(df_ng)
        self.h_key, self.h_ng, self.h_tf2 = arr(h_key), arr(h_ng), arr(h_tf2, float)
        self.r_key, self.r_ng, self.r_tf2 = arr(r_key), arr(r_ng), arr(r_tf2, float)
        self.o_key, self.o_ng, self.o_val = arr(o_key), arr(o_ng), arr(o_val, float)
        self.pair_img = arr(pair_img)
        self.penalty = np.exp(-(arr(pair_delta, float) ** 2) / (2 * SIGMA**2))
        self.n_refs = n_refs

    def image_scores(self, index: np.ndarray | None = None) -> np.ndarray:
        """CIDEr-D of every image when IDF comes from the images ``index``."""
        n_img = self.n_images
        mult = (
            np.ones(n_img)
            if index is None
            else np.bincount(index, minlength=n_img).astype(np.float64)
        )
        total = mult.sum()
        ref_len = np.log(total)
        df = np.bincount(
            self.df_ng, weights=mult[self.df_img], minlength=self.vocab_size
        )
        w2 = (ref_len - np.log(np.maximum(1.0, df))) ** 2
        n_pairs = len(self.pair_img)
        norm_h = np.sqrt(
            np.bincount(self.h_key, self.h_tf2 * w2[self.h_ng], minlength=n_img * N)
        ).reshape(n_img, N)
        norm_r = np.sqrt(
            np.bincount(self.r_key, self.r_tf2 * w2[self.r_ng], minlength=n_pairs * N)
        ).reshape(n_pairs, N)
        # astype: bincount of an empty array is int64 even with float weights
        # (no candidate word found in any reference).
        num = (
            np.bincount(self.o_key, self.o_val * w2[self.o_ng], minlength=n_pairs * N)
            .astype(np.float64)
            .reshape(n_pairs, N)
        )
        denom = norm_h[self.pair_img] * norm_r
        # pycocoevalcap divides only when both norms are non-zero (else num is 0).
        val = np.divide(num, denom, out=num.copy(), where=denom != 0)
        val *= self.penalty[:, None]
        per_img = np.bincount(self.pair_img, val.mean(axis=1), minlength=n_img)
        return per_img / self.n_refs * 10.0

    def corpus(self, index: np.ndarray | None = None) -> float:
        """Mean CIDEr-D over ``index`` (all images if None), IDF from that set."""
        scores = self.image_scores(index)
        return float(scores.mean() if index is None else scores[index].mean())
