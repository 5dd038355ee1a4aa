"""ROUGE-L (beta = 1.2) per image exactly as pycocoevalcap ``Rouge``.

Tokens are ``caption.split(" ")`` (so an empty caption is one empty token, as in
pycocoevalcap). Per reference: LCS length; P = LCS/len(hyp), R = LCS/len(ref);
the image score uses the maximum P and maximum R over references (possibly from
different references): ``(1+b^2) P R / (R + b^2 P)``, 0 if either is 0. The corpus
score is the mean over images.
"""

from __future__ import annotations

BETA = 1.2


def lcs_length(a: list[str], b: list[str]) -> int:
    """LCS length via the bit-parallel algorithm (Hyyrö 2004): O(len(b)) big-int ops."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    s = full
    for tok in b:
        u = s & masks.get(tok, 0)
        s = ((s + u) | (s - u)) & full
    return len(a) - bin(s).count("1")


def rouge_l(hyp: str, refs: list[str]) -> float:
    """ROUGE-L F-score of one hypothesis against its references."""
    tc = hyp.split(" ")
    prec, rec = [], []
    for ref in refs:
        tr = ref.split(" ")
        lcs = lcs_length(tr, tc)
        prec.append(lcs / float(len(tc)))
        rec.append(lcs / float(len(tr)))
    p, r = max(prec), max(rec)
    if p != 0 and r != 0:
        return ((1 + BETA**2) * p * r) / float(r + BETA**2 * p)
    return 0.0
