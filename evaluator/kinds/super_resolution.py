"""super-resolution: image quality of super-resolved images against the truth.

Inputs: predictions are a ZIP or folder of ``<id>.png`` / ``<id>.tif`` (16-bit and
multi-band TIFF kept as decoded; an NPZ keyed by id also works). The truth is the
same, plus optional clear-pixel masks: ``<id>.mask.png|.tif`` next to the image or
``masks/<id>.png|.tif`` anywhere in the truth; non-zero = clear. Without a mask
every pixel is clear. Masks apply to every metric.

Options: ``data_range`` R (default from the truth dtype: 255 for uint8, 65535 for
uint16, 1.0 for float; required for other dtypes), ``border`` (px cropped on each
side before psnr/ssim/sam/ergas), ``variant`` (``plain`` | ``probav`` |
``worldstrat``), ``shift`` (±px searched by ``worldstrat``; ``probav`` always uses
3), ``scale`` (HR/LR factor; ERGAS is ``None`` without it), ``cssim`` (``false`` by
default: cSSIM is an SSIM per offset, (2s+1)² per image, ≈ 20× the cost of cPSNR;
a benchmark that lists ``cssim`` sets it to ``true``, otherwise ``cssim`` is ``None``),
``metrics`` (``null`` by default: every metric below; or a list of the keys
``psnr``, ``ssim``, ``cpsnr``, ``cssim``, ``sam_deg``, ``ergas`` to compute, the
others being left out of the result: a benchmark sets it to the keys its catalog
entry lists, so a cPSNR-only benchmark pays for the reads and the shift search
alone; listing ``cssim`` needs ``cssim: true``, ``cpsnr``/``cssim`` a shifted variant).

Metrics, each computed per image, then averaged over images (never pooled MSE:
``PeakSignalNoiseRatio(dim=None)`` pools the batch, 17.3 vs 27.2 dB on a toy case):

- ``psnr``: ``10·log10(R²/MSE)``, MSE over channels and clear pixels (torchmetrics
  ``peak_signal_noise_ratio(data_range=R)`` on one image). Zero error is capped at
  ``psnr_cap_db`` (100 dB) so that means stay finite.
- ``ssim``: Gaussian 11×11, σ 1.5, K1 0.01, K2 0.03, reflect padding, averaged
  over channels and clear pixels (torchmetrics ``structural_similarity_index_measure``
  with ``gaussian_kernel=True, sigma=1.5, kernel_size=11, data_range=R``).
- ``cpsnr`` / ``cssim`` (``probav``, ``worldstrat``; ``None`` for ``plain``):
  PROBA-V Kelvins scoring. The prediction is cropped by s px per side (s = 3 for
  ``probav``, ``shift`` for ``worldstrat``); for every one of the (2s+1)² offsets
  (u, v) the truth window ``HR[u:u+H-2s, v:v+W-2s]`` and the same window of its
  clear mask are compared: per band ``b = mean(HR − SR)`` over clear pixels,
  ``cMSE = mean((HR − SR − b)²)`` over channels and clear pixels, ``cPSNR =
  −10·log10(cMSE/R²)`` (data normalised to [0, 1]); the best offset is kept.
  cSSIM is the max over the same offsets of SSIM(SR crop + b, HR window) over
  clear pixels (HighRes-net's cSSIM). Differences from the published codes:
  WorldStrat's own code takes the min MSE over shifts *without* the bias term;
  here both variants use the bias-corrected PROBA-V formula, as METRICS.md states.
  The bias is per band (PROBA-V has one band).
- ``sam_deg``: spectral angle in degrees (torchmetrics ``spectral_angle_mapper``
  returns radians), mean over clear pixels with non-zero spectra, pooled over the
  scored images; ``None`` for single-band images.
- ``ergas``: torchmetrics ``error_relative_global_dimensionless_synthesis`` with
  ``ratio = scale``, per image, then mean over images where it is defined.
- ``lpips``: always the string ``"unavailable"`` with ``lpips_reason`` (its
  backbone weights cannot be loaded offline); never approximated.

Validation: prediction dtype equal to the truth dtype for integer truth (float
truth needs float predictions: finite, within [−R, 2R] as a scale check);
shape and band count equal to the truth; missing/extra ids; corrupt images.
"""

from __future__ import annotations

import math
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.images import IMAGE_SUFFIXES, ArraySet, read_image
from evaluator.io import Source
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register

if TYPE_CHECKING:  # torch is imported lazily: other kinds' CLI runs skip its cost
    import torch

VARIANTS = ("plain", "probav", "worldstrat")
METRIC_KEYS = ("psnr", "ssim", "cpsnr", "cssim", "sam_deg", "ergas")
PROBAV_SHIFT = 3
LPIPS_REASON = (
    "LPIPS needs pretrained AlexNet/VGG backbone weights, which are not available "
    "offline in the scoring sandbox; it is not approximated"
)
_DEFAULT_RANGE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_MASK_SUFFIXES = tuple(".mask" + s for s in IMAGE_SUFFIXES)


def _shape(arr: np.ndarray) -> str:
    return "x".join(str(d) for d in arr.shape[:2])


def _bands(arr: np.ndarray) -> int:
    return 1 if arr.ndim == 2 else arr.shape[2]


def default_data_range(dtype: np.dtype, where: str) -> float:
    """255 for uint8, 65535 for uint16, 1.0 for float; else the option is needed."""
    dtype = np.dtype(dtype)
    if dtype in _DEFAULT_RANGE:
        return _DEFAULT_RANGE[dtype]
    if dtype.kind == "f":
        return 1.0
    raise ValidationError(
        f"{where}: no default data_range for dtype {dtype}; set the data_range option"
    )


def split_truth(source: Source) -> tuple[dict[str, str], dict[str, str]]:
    """``(images, masks)``, each ``id -> member``; masks by suffix or ``masks/``."""
    images: dict[str, str] = {}
    masks: dict[str, str] = {}
    for f in source.files():
        path = PurePosixPath(f)
        low = path.name.lower()
        mask_suffix = next((s for s in _MASK_SUFFIXES if low.endswith(s)), None)
        img_suffix = next((s for s in IMAGE_SUFFIXES if low.endswith(s)), None)
        if mask_suffix:
            sid, target = path.name[: -len(mask_suffix)], masks
        elif img_suffix and "masks" in path.parts[:-1]:
            sid, target = path.name[: -len(img_suffix)], masks
        elif img_suffix:
            sid, target = path.name[: -len(img_suffix)], images
        else:
            continue
        if sid in target:
            raise ValidationError(
                f"{source.display}: two files for id {sid!r} ({target[sid]}, {f})"
            )
        target[sid] = f
    if not images:
        raise ValidationError(
            f"{source.display}: no {'/'.join(IMAGE_SUFFIXES)} files found"
        )
    orphans = sorted(set(masks) - set(images))
    if orphans:
        raise ValidationError(
            f"{source.display}: mask {masks[orphans[0]]} has no image {orphans[0]!r}"
        )
    return images, masks


def check_ndim(arr: np.ndarray, where: str) -> None:
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ValidationError(
            f"{where}: expected a height x width [x bands] image, found shape {arr.shape}"
        )


def check_pair(
    pred: np.ndarray, truth: np.ndarray, where: str, data_range: float
) -> None:
    """Shape, band count, dtype and value-range checks of one prediction."""
    check_ndim(pred, where)
    if pred.shape[:2] != truth.shape[:2]:
        raise ValidationError(
            f"{where}: shape {_shape(pred)} differs from the ground truth {_shape(truth)}"
            " (height x width; resample to the truth size before submitting)"
        )
    if _bands(pred) != _bands(truth):
        raise ValidationError(
            f"{where}: {_bands(pred)} band(s), the ground truth has {_bands(truth)}"
        )
    if truth.dtype.kind in "iub":
        if pred.dtype != truth.dtype:
            raise ValidationError(
                f"{where}: dtype {pred.dtype} differs from the ground truth's "
                f"{truth.dtype} (submit values on the same scale, same dtype)"
            )
        return
    if pred.dtype.kind != "f":
        raise ValidationError(
            f"{where}: dtype {pred.dtype}, expected floating point values like the "
            f"ground truth ({truth.dtype}, data range {data_range:g})"
        )
    if not np.isfinite(pred).all():
        raise ValidationError(f"{where}: contains NaN or infinite values")
    lo, hi = float(pred.min()), float(pred.max())
    if lo < -data_range or hi > 2 * data_range:
        raise ValidationError(
            f"{where}: values span [{lo:g}, {hi:g}], far outside the data range "
            f"[0, {data_range:g}] (wrong scaling?)"
        )


def read_mask(source: Source, member: str, truth: np.ndarray) -> np.ndarray:
    mask = read_image(source, member)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    where = source.where(member)
    if mask.ndim != 2:
        raise ValidationError(f"{where}: a clear-pixel mask must have one band")
    if mask.shape != truth.shape[:2]:
        raise ValidationError(
            f"{where}: mask shape {_shape(mask)} differs from its image {_shape(truth)}"
        )
    return mask != 0


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return (
        x[..., border : x.shape[-2] - border, border : x.shape[-1] - border]
        if border
        else x
    )


def score_image(
    pred: np.ndarray,
    truth: np.ndarray,
    mask: np.ndarray | None,
    *,
    data_range: float,
    border: int,
    shift: int | None,
    scale: float | None,
    device: torch.device,
    cssim: bool = False,
    metrics: frozenset[str] = frozenset(METRIC_KEYS),
) -> dict[str, Any]:
    """Per-image values (NaN where undefined or not in ``metrics``) for one
    validated pair; only the metrics named in ``metrics`` are computed."""
    import torch

    from evaluator import quality

    p = quality.to_tensor(pred, device)
    t = quality.to_tensor(truth, device)
    m = None if mask is None else torch.from_numpy(mask).to(device)
    out: dict[str, Any] = {
        "cpsnr": math.nan, "cssim": math.nan, "shift": None, "psnr": math.nan,
        "ssim": math.nan, "sam_sum": math.nan, "sam_n": 0, "ergas": math.nan,
    }
    if shift is not None and metrics & {"cpsnr", "cssim"}:
        with_ssim = cssim and "cssim" in metrics
        out.update(quality.shift_search(p, t, data_range, shift, m, with_ssim=with_ssim))
    if not metrics & {"psnr", "ssim", "sam_deg", "ergas"}:
        return out
    pc, tc = _crop(p, border), _crop(t, border)
    mc = None if m is None else _crop(m, border)
    if "psnr" in metrics:
        out["psnr"] = quality.psnr(pc, tc, data_range, mc)
    if "ssim" in metrics:
        out["ssim"] = quality.ssim(pc, tc, data_range, mc)
    if "sam_deg" in metrics:
        out["sam_sum"], out["sam_n"] = quality.sam_sum(pc, tc, mc)
    if "ergas" in metrics and scale:
        out["ergas"] = quality.ergas(pc, tc, scale, mc)
    return out


def _mean(values: np.ndarray) -> float | None:
    ok = values[np.isfinite(values)]
    return float(ok.mean()) if ok.size else None


def _json(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


class SuperResolutionEvaluation(Evaluation):
    def __init__(self, ids: list[str], values: dict[str, np.ndarray], shifts, info,
                 metrics: frozenset[str] = frozenset(METRIC_KEYS)):
        self.sample_ids = ids
        self.values = values
        self.shifts = shifts
        self.info = info
        self.metrics = metrics  # the computed ones; the others are left out

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        idx = np.arange(len(self.sample_ids)) if index is None else np.asarray(index)
        v = {k: a[idx] for k, a in self.values.items()}
        sam_n = v["sam_n"].sum()
        out: dict[str, Any] = {
            "psnr": _mean(v["psnr"]),
            "ssim": _mean(v["ssim"]),
            "cpsnr": _mean(v["cpsnr"]),
            "cssim": _mean(v["cssim"]),
            "sam_deg": float(np.degrees(v["sam_sum"].sum() / sam_n)) if sam_n else None,
            "ergas": _mean(v["ergas"]),
            "lpips": "unavailable",
            "lpips_reason": LPIPS_REASON,
            "primary": "psnr" if self.info["variant"] == "plain" else "cpsnr",
            "n_samples": int(len(idx)),
        }
        out = {k: v for k, v in out.items() if k not in METRIC_KEYS or k in self.metrics}
        return {**out, **self.info}

    def samples(self) -> dict[str, list]:
        out = {
            k: [_json(x) for x in self.values[k]]
            for k in ("psnr", "ssim", "cpsnr", "cssim", "ergas")
            if k in self.metrics
        }
        if "sam_deg" in self.metrics:
            n = self.values["sam_n"]
            sam = np.degrees(
                np.divide(
                    self.values["sam_sum"], n, where=n > 0, out=np.full(len(n), np.nan)
                )
            )
            out["sam_deg"] = [_json(x) for x in sam]
        out["shift"] = [list(s) if s is not None else None for s in self.shifts]
        return out


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    variant = options["variant"]
    if variant not in VARIANTS:
        raise ValidationError(
            f"option variant={variant!r} is not one of {list(VARIANTS)}"
        )
    for key in ("border", "shift"):
        val = options[key]
        if not isinstance(val, int) or isinstance(val, bool) or val < 0:
            raise ValidationError(
                f"option {key}={val!r} must be a non-negative integer"
            )
    for key in ("data_range", "scale"):
        val = options[key]
        if val is not None and (
            not isinstance(val, int | float) or isinstance(val, bool) or not val > 0
        ):
            raise ValidationError(f"option {key}={val!r} must be a positive number")
    if not isinstance(options["cssim"], bool):
        raise ValidationError(f"option cssim={options['cssim']!r} must be true or false")
    if options["cssim"] and variant == "plain":
        raise ValidationError(
            "option cssim=true needs variant probav or worldstrat (cSSIM is shift-corrected)"
        )
    shift = {"plain": None, "probav": PROBAV_SHIFT, "worldstrat": options["shift"]}[
        variant
    ]
    return {**options, "shift": shift, "metrics": _check_metrics(options)}


def _check_metrics(options: dict[str, Any]) -> frozenset[str]:
    """The ``metrics`` option: ``None`` (every metric) or a list of known keys."""
    listed = options["metrics"]
    if listed is None:
        return frozenset(METRIC_KEYS)
    if (
        not isinstance(listed, list | tuple)
        or not listed
        or not all(isinstance(k, str) for k in listed)
    ):
        raise ValidationError(
            f"option metrics={listed!r} must be null or a non-empty list of metric keys"
        )
    unknown = [k for k in listed if k not in METRIC_KEYS]
    if unknown:
        raise ValidationError(
            f"option metrics: {unknown[0]!r} is not one of {list(METRIC_KEYS)}"
        )
    if "cssim" in listed and not options["cssim"]:
        raise ValidationError("option metrics lists cssim: set the option cssim: true too")
    if options["variant"] == "plain" and {"cpsnr", "cssim"} & set(listed):
        raise ValidationError(
            "option metrics lists cpsnr/cssim, which need variant probav or worldstrat"
        )
    return frozenset(listed)


@register
class SuperResolution(Kind):
    """Super-resolution: per-image PSNR/SSIM, cPSNR/cSSIM (PROBA-V), SAM°, ERGAS."""

    name = "super-resolution"
    options = {
        "data_range": None,
        "border": 0,
        "variant": "plain",
        "shift": 2,
        "scale": None,
        "cssim": False,
        "metrics": None,
    }
    metrics = {
        "psnr": "max",
        "ssim": "max",
        "cpsnr": "max",
        "cssim": "max",
        "sam_deg": "min",
        "ergas": "min",
    }
    primary = "psnr"
    prediction_bytes_per_sample = 128 << 20  # a float32 multi-band image per sample
    formats = [
        "ZIP/folder of <id>.png or <id>.tif (16-bit and multi-band TIFF allowed)",
        "NPZ keyed by id",
    ]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        from evaluator import quality

        opts = _check_options(options)
        images, masks = split_truth(truth)
        ids = sorted(images)
        preds = ArraySet(predictions)
        preds.check_ids(ids)
        device = quality.resolve_device()
        keys = ("psnr", "ssim", "cpsnr", "cssim", "ergas", "sam_sum", "sam_n")
        values = {k: np.full(len(ids), np.nan) for k in keys}
        shifts: list = []
        ranges: set[float] = set()
        # Streaming: one pair decoded at a time; only per-image numbers are kept.
        # One torch thread on CPU: see quality.cpu_single_thread.
        with quality.cpu_single_thread(device):
            for i, sid in enumerate(ids):
                t = read_image(truth, images[sid])
                where_t = truth.where(images[sid])
                check_ndim(t, where_t)
                r = float(opts["data_range"] or default_data_range(t.dtype, where_t))
                ranges.add(r)
                p = preds.get(sid, expect=t.shape)
                check_pair(p, t, preds.where(sid), r)
                m = read_mask(truth, masks[sid], t) if sid in masks else None
                self._check_size(t, opts, where_t)
                res = score_image(
                    p,
                    t,
                    m,
                    data_range=r,
                    border=opts["border"],
                    shift=opts["shift"],
                    scale=opts["scale"],
                    device=device,
                    cssim=opts["cssim"],
                    metrics=opts["metrics"],
                )
                for k in keys:
                    values[k][i] = res[k]
                shifts.append(res["shift"])
        info = {
            "variant": opts["variant"],
            "data_range": ranges.pop() if len(ranges) == 1 else sorted(ranges),
            "border": opts["border"],
            "shift": opts["shift"],
            "scale": opts["scale"],
            "psnr_cap_db": quality.PSNR_CAP_DB,
        }
        return SuperResolutionEvaluation(ids, values, shifts, info, opts["metrics"])

    @staticmethod
    def _check_size(truth: np.ndarray, opts: dict[str, Any], where: str) -> None:
        h, w = truth.shape[:2]
        need = max(2 * opts["border"], 2 * (opts["shift"] or 0)) + 1
        if min(h, w) < need:
            raise ValidationError(
                f"{where}: image {h}x{w} is too small for border={opts['border']} "
                f"and shift={opts['shift']}"
            )
