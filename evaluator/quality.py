"""Functional cores of image-quality metrics (PSNR, SSIM, cPSNR/cSSIM, SAM, ERGAS).

Every function takes one image pair as torch tensors of shape ``(C, H, W)`` in
float64 (use :func:`to_tensor`) and an optional clear-pixel mask ``(H, W)`` (bool;
``None`` = all pixels clear), and returns plain Python floats. They run on the
device chosen by :func:`resolve_device` (env ``EARTHBENCH_DEVICE``: ``auto``
(default: CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``); CPU and CUDA give
the same numbers up to float64 rounding.

References matched (tests compare to 1e-6):

- PSNR: torchmetrics ``peak_signal_noise_ratio(p, t, data_range=R)`` on one image,
  i.e. ``10·log10(R² / MSE)`` with the MSE over all channels and pixels.
- SSIM: torchmetrics ``structural_similarity_index_measure`` with
  ``gaussian_kernel=True, sigma=1.5, kernel_size=11, data_range=R`` on one image:
  Gaussian window 11×11 σ 1.5 (separable), K1 = 0.01, K2 = 0.03, reflect padding of
  5 px, map averaged over channels and pixels.
- SAM: torchmetrics ``spectral_angle_mapper`` (radians), converted to degrees by the
  caller; pixels whose spectrum has zero norm are excluded (angle undefined).
- ERGAS: torchmetrics ``error_relative_global_dimensionless_synthesis`` with
  ``ratio`` = scale factor: ``100/ratio · sqrt(mean_c (RMSE_c / mean(truth_c))²)``.
- cPSNR: PROBA-V (Kelvins) scoring — the prediction is cropped by ``s`` px on each
  side, compared with every ``(2s+1)²`` window of the truth (and its clear mask),
  brightness bias removed, best window kept.

Infinite PSNR (zero error) is capped at :data:`PSNR_CAP_DB` so that averages stay
finite and a perfect image ranks best.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

#: PSNR/cPSNR value reported when the (corrected) MSE is zero or tiny.
PSNR_CAP_DB = 100.0

SSIM_SIGMA = 1.5
SSIM_KERNEL = 11  # torchmetrics: int(3.5·σ + 0.5)·2 + 1 = 11 for σ = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
_PAD = (SSIM_KERNEL - 1) // 2
#: Smallest side SSIM can be computed on (reflect padding needs side > pad).
SSIM_MIN_SIDE = _PAD + 1


@contextlib.contextmanager
def cpu_single_thread(device: torch.device) -> Iterator[None]:
    """Run torch on one intra-op thread on a CPU device, restoring the setting.

    Per-image tensors here are small (an image is at most a few MB) and the
    kernels are elementwise: on a 2-core worker OpenMP's fork/join costs more
    than it saves, and under load (other processes on the cores) it was 10x
    slower (1 ms instead of 0.1 ms per 57k-element ``add_``; bench/run.py).
    """
    if device.type != "cpu":
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def resolve_device(setting: str | None = None) -> torch.device:
    """Device from ``setting`` or env ``EARTHBENCH_DEVICE`` (``auto`` by default)."""
    value = (setting or os.environ.get("EARTHBENCH_DEVICE") or "auto").strip().lower()
    if value == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if value.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"EARTHBENCH_DEVICE={value!r} but CUDA is not available")
    return torch.device(value)


def to_tensor(array: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """``(H, W)`` or ``(H, W, C)`` array -> ``(C, H, W)`` float64 tensor."""
    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    arr = np.ascontiguousarray(np.moveaxis(arr, -1, 0), dtype=np.float64)
    return torch.from_numpy(arr).to(device)


def _clear(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """Mask as float64 ``(H, W)``; all ones when ``mask`` is None."""
    if mask is None:
        return torch.ones(like.shape[-2:], dtype=torch.float64, device=like.device)
    return mask.to(dtype=torch.float64, device=like.device)


def psnr_from_mse(mse: float, data_range: float) -> float:
    """``10·log10(R²/MSE)`` in dB, capped at :data:`PSNR_CAP_DB`; NaN if undefined."""
    if not math.isfinite(mse):
        return math.nan
    floor = data_range**2 * 10.0 ** (-PSNR_CAP_DB / 10.0)
    if mse <= floor:
        return PSNR_CAP_DB
    return 10.0 * math.log10(data_range**2 / mse)


def mse(
    pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor | None = None
) -> float:
    """Mean squared error over channels and clear pixels (NaN if none is clear)."""
    w = _clear(mask, truth)
    n = float(w.sum()) * truth.shape[0]
    if n == 0:
        return math.nan
    return float((((pred - truth) ** 2) * w).sum()) / n


def psnr(
    pred: torch.Tensor,
    truth: torch.Tensor,
    data_range: float,
    mask: torch.Tensor | None = None,
) -> float:
    """PSNR (dB) of one image on ``data_range``, over clear pixels."""
    return psnr_from_mse(mse(pred, truth, mask), data_range)


def _gaussian_1d(device: torch.device) -> torch.Tensor:
    # Same construction as torchmetrics' _gaussian, in float64.
    half = (SSIM_KERNEL - 1) / 2
    dist = torch.arange(-half, half + 1, dtype=torch.float64, device=device)
    g = torch.exp(-((dist / SSIM_SIGMA) ** 2) / 2)
    return g / g.sum()


def _gauss_filter(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filter over the last two axes.

    A weighted sum of 11 shifted slices per axis: the same sum as torchmetrics'
    2-D conv, several times faster than float64 ``conv2d`` on CPU.
    """
    k = g.numel()
    h = x.shape[-2] - k + 1
    w = x.shape[-1] - k + 1
    rows = x[..., 0:h, :] * g[0]
    for i in range(1, k):
        rows.add_(x[..., i : i + h, :], alpha=float(g[i]))
    out = rows[..., 0:w] * g[0]
    for i in range(1, k):
        out.add_(rows[..., i : i + w], alpha=float(g[i]))
    return out


def _pad(x: torch.Tensor) -> torch.Tensor:
    return F.pad(x, (_PAD, _PAD, _PAD, _PAD), mode="reflect")


def _ssim_from_stats(mu_p, mu_t, var_p, var_t, cov, data_range: float) -> torch.Tensor:
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    num = (2 * mu_p * mu_t + c1) * (2 * cov + c2)
    return num / ((mu_p * mu_p + mu_t * mu_t + c1) * (var_p + var_t + c2))


def ssim_maps(
    pred: torch.Tensor, truth: torch.Tensor, data_range: float
) -> torch.Tensor:
    """SSIM map of one ``(C, H, W)`` image pair (same shape out).

    Equal to torchmetrics' full SSIM image: reflect padding of 5 px, Gaussian
    11×11 σ 1.5, variances clamped at 0 (rounding can make them negative).
    """
    if min(pred.shape[-2:]) < SSIM_MIN_SIDE:
        raise ValueError(f"SSIM needs images of at least {SSIM_MIN_SIDE} px per side")
    g = _gaussian_1d(pred.device)
    p, t = _pad(pred[None])[0], _pad(truth[None])[0]
    mu_p, mu_t, e_pp, e_tt, e_pt = _gauss_filter(
        torch.stack((p, t, p * p, t * t, p * t)), g
    )
    var_p = torch.clamp(e_pp - mu_p * mu_p, min=0.0)
    var_t = torch.clamp(e_tt - mu_t * mu_t, min=0.0)
    return _ssim_from_stats(mu_p, mu_t, var_p, var_t, e_pt - mu_p * mu_t, data_range)


def ssim(
    pred: torch.Tensor,
    truth: torch.Tensor,
    data_range: float,
    mask: torch.Tensor | None = None,
) -> float:
    """Mean SSIM of one image over channels and clear pixels; NaN if undefined."""
    if min(truth.shape[-2:]) < SSIM_MIN_SIDE:
        return math.nan
    w = _clear(mask, truth)
    n = float(w.sum()) * truth.shape[0]
    if n == 0:
        return math.nan
    return float((ssim_maps(pred, truth, data_range) * w).sum()) / n


def sam_sum(
    pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[float, int]:
    """Sum of spectral angles (radians) and count over clear, defined pixels.

    Pixels where either spectrum has zero norm are left out: the angle is 0/0
    there (torchmetrics would return NaN for the whole image).
    """
    if truth.shape[0] < 2:
        return 0.0, 0
    dot = (pred * truth).sum(dim=0)
    norms = pred.norm(dim=0) * truth.norm(dim=0)
    valid = norms > 0
    if mask is not None:
        valid &= mask.to(device=truth.device, dtype=torch.bool)
    cos = torch.clamp(dot[valid] / norms[valid], -1.0, 1.0)
    return float(torch.acos(cos).sum()), int(valid.sum())


def ergas(
    pred: torch.Tensor,
    truth: torch.Tensor,
    ratio: float,
    mask: torch.Tensor | None = None,
) -> float:
    """ERGAS of one image (``ratio`` = HR/LR scale); NaN if a band mean is 0."""
    w = _clear(mask, truth)
    n = float(w.sum())
    if n == 0:
        return math.nan
    rmse_c = torch.sqrt((((pred - truth) ** 2) * w).sum(dim=(1, 2)) / n)
    mean_c = (truth * w).sum(dim=(1, 2)) / n
    if bool((mean_c == 0).any()):
        return math.nan
    return float(100.0 / ratio * torch.sqrt(((rmse_c / mean_c) ** 2).mean()))


def shift_search(
    pred: torch.Tensor,
    truth: torch.Tensor,
    data_range: float,
    shift: int,
    mask: torch.Tensor | None = None,
    *,
    with_ssim: bool = True,
) -> dict[str, float | tuple[int, int] | None]:
    """cPSNR / cSSIM with brightness-bias correction over ``(2·shift+1)²`` shifts.

    PROBA-V convention: the prediction is cropped by ``shift`` px on each side;
    for each offset (u, v) the truth window ``truth[:, u:u+H', v:v+W']`` and the
    same window of the clear mask are compared with it. Per band, the bias
    ``b = mean(HR − SR)`` over clear pixels is removed, ``cMSE = mean((HR − SR −
    b)²)`` over channels and clear pixels, ``cPSNR = −10·log10(cMSE / R²)``; the
    best (max) over offsets is kept. cSSIM is the max over offsets of SSIM between
    the bias-corrected crop and the truth window, averaged over clear pixels.
    ``shift`` = 0 gives the bias-corrected score without a shift search.

    Returns ``cpsnr``, ``cssim`` (NaN if undefined) and ``shift`` = the best
    offset ``(du, dv)`` relative to perfect alignment (rows, columns).
    """
    c, h, w = truth.shape
    hc, wc = h - 2 * shift, w - 2 * shift
    if hc < 1 or wc < 1:
        raise ValueError(f"image {h}x{w} too small for a ±{shift} px shift search")
    from evaluator import cpsnr

    # The offsets are searched vectorised in numpy (evaluator/cpsnr.py).
    best_mse, best = cpsnr.search(
        pred.cpu().numpy(),
        truth.cpu().numpy(),
        shift,
        None if mask is None else mask.cpu().numpy().astype(bool),
    )
    out: dict[str, float | tuple[int, int] | None] = {
        "cpsnr": psnr_from_mse(best_mse, data_range) if best is not None else math.nan,
        "shift": best,
        "cssim": math.nan,
    }
    if with_ssim and best is not None and min(hc, wc) >= SSIM_MIN_SIDE:
        sr = pred[:, shift : shift + hc, shift : shift + wc]
        out["cssim"] = _shift_ssim(sr, truth, _clear(mask, truth), shift, data_range)
    return out


def _shift_ssim(sr, truth, clear, shift: int, data_range: float) -> float:
    """Max over offsets of masked SSIM(SR crop + bias, truth window).

    SSIM(p + b, t) only changes the luminance term (variance and covariance are
    shift-invariant), so the crop's own statistics are filtered once and each
    offset needs three filtered maps (mean, square, product with the crop).
    """
    c, hc, wc = sr.shape
    g = _gaussian_1d(sr.device)
    p = _pad(sr[None])[0]
    mu_p, e_pp = _gauss_filter(torch.stack((p, p * p)), g)
    var_p = torch.clamp(e_pp - mu_p * mu_p, min=0.0)
    best = -math.inf
    for u in range(2 * shift + 1):
        for v in range(2 * shift + 1):
            m = clear[u : u + hc, v : v + wc]
            n = float(m.sum())
            if n == 0:
                continue
            hr = truth[:, u : u + hc, v : v + wc]
            bias = ((hr - sr) * m).sum(dim=(1, 2)) / n
            t = _pad(hr[None])[0]
            mu_t, e_tt, e_pt = _gauss_filter(torch.stack((t, t * t, p * t)), g)
            var_t = torch.clamp(e_tt - mu_t * mu_t, min=0.0)
            # cov(p + b, t) = cov(p, t); the mean of p + b is mu_p + b.
            cov = e_pt - mu_p * mu_t
            maps = _ssim_from_stats(
                mu_p + bias[:, None, None], mu_t, var_p, var_t, cov, data_range
            )
            best = max(best, float((maps * m).sum()) / (n * c))
    return best if math.isfinite(best) else math.nan
