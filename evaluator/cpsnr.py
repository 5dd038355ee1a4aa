"""cPSNR's shift search, vectorised over the ``(2s+1)²`` offsets (numpy, float64).

The PROBA-V definition (see :func:`evaluator.quality.shift_search`) compares the
prediction cropped by ``s`` px per side, ``S`` (C, h, w), with every truth window
``T[:, u:u+h, v:v+w]`` and the same window ``M`` of the clear mask: per band the
bias-corrected sum of squares is

    SSE = Σ M·(T − S)² − (Σ M·(T − S))² / Σ M

Every term is a window sum or a valid-mode correlation with a (2s+1)² output:
``Σ M``, ``Σ M·T`` and ``Σ M·T²`` are box sums (integral images); ``Σ M·S``,
``Σ M·S²`` and ``Σ M·T·S`` are correlations of the mask / masked truth with the
crop (FFT; without a mask the first two are constants and one correlation is
left). SSE is invariant to a constant added to T or to S, so both are centred
first (per band), which keeps the cancellation in ``SSE`` small.

The FFT sums are only used to *rank* the offsets: every offset whose cMSE lies
within a rounding bound of the smallest is then recomputed directly from its
window (the definition, one pass), and the first smallest in loop order (u, then
v) is kept. The value returned is therefore the definition's value at the
definition's best offset (bench/cases_misc.py and tests assert it to 1e-9).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft as sfft

#: Offsets whose FFT cMSE is within this relative distance of the minimum (plus
#: an absolute rounding bound) are recomputed exactly before picking the best.
RECHECK_REL = 1e-7


def _window_sums_1d(a: np.ndarray, w: int, axis: int) -> np.ndarray:
    """Sums of every length-``w`` run along ``axis`` (few runs: ``len − w + 1``).

    The whole-axis sum minus what lies left and right of each run: one pass over
    ``a`` plus work on the ``2·(len − w)`` edge slices, not a full cumulative sum.
    """
    a = np.moveaxis(a, axis, -1)
    k = a.shape[-1] - w + 1
    out = np.repeat(a.sum(axis=-1)[..., None], k, axis=-1)
    if k > 1:
        out[..., 1:] -= np.cumsum(a[..., : k - 1], axis=-1)  # left of run v: [0, v)
        out[..., : k - 1] -= np.cumsum(a[..., w:][..., ::-1], axis=-1)[..., ::-1]
    return np.moveaxis(out, -1, axis)


def _box_sums(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums of every ``h × w`` window of ``a`` (..., H, W) -> (..., H-h+1, W-w+1)."""
    return _window_sums_1d(_window_sums_1d(a, w, -1), h, -2)


def _correlate_valid(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``out[..., u, v] = Σ_ij a[..., u+i, v+j] · k[..., i, j]`` (valid mode, FFT)."""
    big_h, big_w = a.shape[-2:]
    h, w = k.shape[-2:]
    shape = (sfft.next_fast_len(big_h, real=True), sfft.next_fast_len(big_w, real=True))
    fa = sfft.rfft2(a, s=shape)
    fk = sfft.rfft2(k[..., ::-1, ::-1], s=shape)
    full = sfft.irfft2(fa * fk, s=shape)
    # Circular size >= big_h: the valid outputs never wrap.
    return full[..., h - 1 : big_h, w - 1 : big_w]


def _exact_cmse(sr: np.ndarray, truth: np.ndarray, clear: np.ndarray | None,
                u: int, v: int) -> float:
    """The definition at one offset (as the former per-offset loop computed it)."""
    c, h, w = sr.shape
    diff = truth[:, u : u + h, v : v + w] - sr
    if clear is None:
        n = float(h * w)
        bias = diff.sum(axis=(1, 2)) / n
        resid = diff - bias[:, None, None]
    else:
        m = clear[u : u + h, v : v + w]
        n = float(m.sum())
        bias = (diff * m).sum(axis=(1, 2)) / n
        resid = (diff - bias[:, None, None]) * m
    return float((resid * resid).sum()) / (n * c)


def search(
    pred: np.ndarray, truth: np.ndarray, shift: int, clear: np.ndarray | None = None
) -> tuple[float, tuple[int, int] | None]:
    """Smallest bias-corrected MSE over the offsets and its offset ``(du, dv)``.

    ``pred``, ``truth``: (C, H, W) float64; ``clear``: (H, W) bool or None (all
    clear). Returns ``(inf, None)`` when no offset has a clear pixel.
    """
    c, big_h, big_w = truth.shape
    h, w = big_h - 2 * shift, big_w - 2 * shift
    sr = pred[:, shift : shift + h, shift : shift + w]
    k = 2 * shift + 1
    if k == 1:
        if clear is not None and not clear.any():
            return math.inf, None
        return _exact_cmse(sr, truth, clear, 0, 0), (0, 0)
    m = None if clear is None or clear.all() else clear.astype(np.float64)
    if m is None:
        t0 = truth - truth.mean(axis=(1, 2), keepdims=True)
    else:
        n_all = m.sum()
        if n_all == 0:
            return math.inf, None
        t0 = truth - ((truth * m).sum(axis=(1, 2)) / n_all)[:, None, None]
    s0 = sr - sr.mean(axis=(1, 2), keepdims=True)
    if m is None:
        n = np.full((k, k), float(h * w))
        mt = t0
        sum_s = s0.sum(axis=(1, 2))[:, None, None]
        sum_ss = (s0 * s0).sum(axis=(1, 2))[:, None, None]
    else:
        n = _box_sums(m, h, w)
        mt = t0 * m
        sum_s = _correlate_valid(m, s0)
        sum_ss = _correlate_valid(m, s0 * s0)
    sum_t = _box_sums(mt, h, w)
    sum_tt = _box_sums(mt * t0, h, w)
    sum_ts = _correlate_valid(mt, s0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = sum_t - sum_s
        sse = (sum_tt - 2.0 * sum_ts + sum_ss) - sd * sd / n
        cmse = np.where(n > 0, np.maximum(sse, 0.0).sum(axis=0) / (n * c), np.inf)
    low = float(cmse.min())
    if not math.isfinite(low):
        return math.inf, None
    # Rounding of the window sums: a few ulps of the largest sums per pixel.
    scale = float(sum_tt.max() + sum_ss.max()) / (h * w * c)
    bound = low * RECHECK_REL + 1e-12 * scale
    best_mse, best = math.inf, None
    for u, v in zip(*np.nonzero(cmse <= low + bound), strict=True):  # row-major
        val = _exact_cmse(sr, truth, clear, int(u), int(v))
        if val < best_mse:
            best_mse, best = val, (int(u) - shift, int(v) - shift)
    return best_mse, best
