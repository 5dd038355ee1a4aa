"""Shared machinery for the mask kinds (segmentation, change detection,
referring segmentation).

- :func:`iter_mask_pairs` streams ``(id, truth, prediction)`` pairs one at a time,
  after checking ids, band count, dtype and shape, so a split of thousands of
  masks is never held in memory.
- :func:`confusion` counts ``(truth, prediction)`` pixel pairs with a numpy
  ``bincount`` or, on a GPU host, ``torch.bincount`` (same integers either way).
- :class:`CountStore` keeps each sample's counts sparsely and sums them over any
  index (subsets, bootstrap resamples with repeats) without touching masks again.
- :func:`boundary_keep` drops pixels near ground-truth class boundaries (ISPRS
  eroded-boundary evaluation).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from evaluator.counting import bincount_codes, clip_max
from evaluator.errors import ValidationError
from evaluator.images import ArraySet
from evaluator.io import Source

# ---------------------------------------------------------------------------
# Reading and validation


@dataclass
class MaskPair:
    sid: str
    truth: np.ndarray
    pred: np.ndarray
    truth_where: str
    pred_where: str


def as_mask(arr: np.ndarray, where: str) -> np.ndarray:
    """A 2-D integer (or bool) array, or a ValidationError naming ``where``."""
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3:
        raise ValidationError(
            f"{where}: image has {arr.shape[-1]} channels; expected a single-band "
            "mask of class indices (not an RGB/colour rendering)"
        )
    if arr.ndim != 2:
        raise ValidationError(
            f"{where}: array has {arr.ndim} dimensions {_shape(arr.shape)}; "
            "expected a 2-D mask"
        )
    if arr.dtype == np.bool_:
        return arr.view(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValidationError(
            f"{where}: dtype {arr.dtype} is not an integer type; expected integer "
            "class indices (e.g. uint8), not scores or probabilities"
        )
    return arr


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def iter_mask_pairs(predictions: Source, truth: Source) -> Iterator[MaskPair]:
    """Validated pairs in sorted truth-id order; ids must match exactly."""
    truth_set = ArraySet(truth)
    pred_set = ArraySet(predictions)
    ids = truth_set.ids()
    pred_set.check_ids(ids)
    for sid in ids:
        t_where, p_where = truth_set.where(sid), pred_set.where(sid)
        t = as_mask(truth_set.get(sid), f"ground truth {t_where}")
        p = as_mask(pred_set.get(sid, expect=t.shape), p_where)
        if p.shape != t.shape:
            raise ValidationError(
                f"{p_where}: shape {_shape(p.shape)} differs from the ground truth "
                f"{_shape(t.shape)} (height x width)"
            )
        yield MaskPair(sid, t, p, t_where, p_where)


def truth_ids(truth: Source) -> list[str]:
    return ArraySet(truth).ids()


def first_bad_value(arr: np.ndarray, bad: np.ndarray) -> int:
    return int(arr[bad].ravel()[0])


def check_values(
    arr: np.ndarray,
    n: int,
    where: str,
    *,
    allowed_extra: int | None = None,
    what: str = "class index",
    hide_value: bool = False,
) -> None:
    """All values in ``[0, n)`` or equal to ``allowed_extra`` (e.g. the ignore index).

    min/max are checked first (cheap); the offending value is located only on
    the error path. ``hide_value`` keeps ground-truth values out of messages.
    """
    unsigned = arr.dtype.kind in "ub"
    lo, hi = 0 if unsigned else int(arr.min()), int(arr.max())
    if lo >= 0 and hi < n:
        return
    bad = arr >= n if unsigned else (arr < 0) | (arr >= n)
    if allowed_extra is not None:
        bad &= arr != allowed_extra
    if not bad.any():
        return
    extra = (
        f" (or {allowed_extra}, the ignore index)" if allowed_extra is not None else ""
    )
    found = "" if hide_value else f"value {first_bad_value(arr, bad)} is "
    raise ValidationError(
        f"{where}: {found}outside the {what} range 0..{n - 1}{extra}; "
        f"{int(bad.sum())} pixel(s) affected"
    )


# ---------------------------------------------------------------------------
# Confusion counts: numpy (default) or torch (GPU hosts)


def backend() -> str:
    """``numpy``, ``torch-cpu`` or ``cuda``, from ``EARTHBENCH_DEVICE`` or the host.

    ``EARTHBENCH_DEVICE=cpu``/``numpy`` forces numpy, ``cuda`` forces torch on
    the GPU, ``torch`` runs the torch path on the CPU (used to test it). Unset:
    torch on the GPU when ``torch.cuda.is_available()``, numpy otherwise.
    """
    env = os.environ.get("EARTHBENCH_DEVICE", "").strip().lower()
    if env in ("cpu", "numpy"):
        return "numpy"
    if env == "torch":
        return "torch-cpu"
    if env == "cuda":
        return "cuda"
    return "cuda" if _cuda_available() else "numpy"


# Device files a CUDA (or ROCm / WSL) GPU exposes; without any of them
# ``torch.cuda.is_available()`` is False, so torch (≈ 1.5 s and 230 MB to import)
# is not loaded just to learn that.
_GPU_NODES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def _gpu_visible() -> bool:
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return any(os.path.exists(node) for node in _GPU_NODES)


@lru_cache(maxsize=1)
def _cuda_available() -> bool:
    import importlib.util
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        if not _gpu_visible() or importlib.util.find_spec("torch") is None:
            return False
        import torch

    return bool(torch.cuda.is_available())


def confusion(
    truth: np.ndarray,
    pred: np.ndarray,
    n_true: int,
    n_pred: int,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    """(n_true, n_pred) int64 counts of truth × prediction pixel pairs.

    Pixels whose truth is outside ``[0, n_true)`` (the ignore index) or where
    ``keep`` is False are skipped. Predictions must already be in ``[0, n_pred)``.
    """
    mode = backend()
    if mode == "numpy":
        return confusion_numpy(truth, pred, n_true, n_pred, keep)
    return confusion_torch(
        truth,
        pred,
        n_true,
        n_pred,
        keep,
        device="cpu" if mode == "torch-cpu" else "cuda",
    )


def _valid(
    truth: np.ndarray, n_true: int, keep: np.ndarray | None
) -> np.ndarray | None:
    """Boolean mask of counted pixels, or None when every pixel counts."""
    valid = truth < n_true
    if np.issubdtype(truth.dtype, np.signedinteger):
        valid &= truth >= 0
    if keep is not None:
        valid &= keep
    return None if valid.all() else valid


def confusion_numpy(
    truth: np.ndarray,
    pred: np.ndarray,
    n_true: int,
    n_pred: int,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    if truth.dtype.kind == "u" and pred.dtype.kind in "ub":
        return _confusion_unsigned(truth, pred, n_true, n_pred, keep)
    valid = _valid(truth, n_true, keep)
    t = truth.ravel() if valid is None else truth[valid]
    p = pred.ravel() if valid is None else pred[valid]
    # uint16 codes when they fit: cheaper than intp for the multiply/add pass.
    wide = np.uint16 if n_true * n_pred <= np.iinfo(np.uint16).max else np.intp
    code = t.astype(wide) * wide(n_pred)
    code += p.astype(wide, copy=False)
    counts = np.bincount(code, minlength=n_true * n_pred)
    return counts.astype(np.int64, copy=False).reshape(n_true, n_pred)


def _code_dtype(n_codes: int) -> type:
    for dt in (np.uint8, np.uint16, np.uint32):
        if n_codes <= int(np.iinfo(dt).max) + 1:
            return dt
    return np.intp


def _confusion_unsigned(truth, pred, n_true, n_pred, keep) -> np.ndarray:
    """Unsigned masks (uint8 PNGs): no boolean selection, which copies twice.

    Truth values >= ``n_true`` (the ignore index) are clipped into one extra
    row ``n_true`` that is counted and dropped; so are pixels where ``keep`` is
    False. Codes ``truth * n_pred + pred`` stay in the narrowest unsigned type
    (uint8 for up to 15 classes), so each pass touches one byte per pixel, and
    are counted by :func:`evaluator.counting.bincount_codes`.
    """
    n_codes = (n_true + 1) * n_pred
    dt = _code_dtype(n_codes)
    if pred.dtype == np.bool_:
        pred = pred.view(np.uint8)
    if n_true <= np.iinfo(truth.dtype).max:
        code = clip_max(truth, n_true).astype(dt, copy=False)
    else:  # every value of the dtype is a class
        code = truth.astype(dt)
    code *= dt(n_pred)
    code += pred.astype(dt, copy=False)
    if keep is not None:
        np.putmask(code, ~keep, dt(n_true * n_pred))
    counts = bincount_codes(code, n_codes)[: n_true * n_pred]
    return counts.astype(np.int64, copy=False).reshape(n_true, n_pred)


def _to_torch(arr: np.ndarray, device: str):
    import torch

    # torch lacks most ops on uint16/uint32; widen those on the host.
    if arr.dtype in (np.uint16, np.uint32, np.uint64):
        arr = arr.astype(np.int64)
    # Decoded images are often read-only views; torch wants writable memory.
    return torch.from_numpy(np.require(arr, requirements=["C", "W"])).to(device).long()


def confusion_torch(
    truth: np.ndarray,
    pred: np.ndarray,
    n_true: int,
    n_pred: int,
    keep: np.ndarray | None = None,
    *,
    device: str = "cuda",
) -> np.ndarray:
    """Same integers as :func:`confusion_numpy`, computed with ``torch.bincount``."""
    import torch

    t = _to_torch(truth, device).reshape(-1)
    p = _to_torch(pred, device).reshape(-1)
    valid = (t >= 0) & (t < n_true)
    if keep is not None:
        valid &= (
            torch.from_numpy(np.require(keep, requirements=["C", "W"]))
            .to(device)
            .reshape(-1)
        )
    code = t[valid] * n_pred + p[valid]
    counts = torch.bincount(code, minlength=n_true * n_pred)
    return counts.cpu().numpy().astype(np.int64).reshape(n_true, n_pred)


# ---------------------------------------------------------------------------
# ISPRS eroded-boundary evaluation


def disc(radius: int) -> np.ndarray:
    r = int(radius)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (yy * yy + xx * xx) <= r * r


def boundary_keep(truth: np.ndarray, radius: int) -> np.ndarray | None:
    """False for pixels within ``radius`` (Euclidean disc) of a label change.

    A pixel is dropped when the disc centred on it contains more than one
    ground-truth value, i.e. the ISPRS "eroded boundaries" reference (disc of
    radius 3 px for Vaihingen/Potsdam). Image borders are not boundaries.
    """
    if radius <= 0:
        return None
    from scipy import ndimage

    fp = disc(radius)
    hi = ndimage.maximum_filter(truth, footprint=fp, mode="nearest")
    lo = ndimage.minimum_filter(truth, footprint=fp, mode="nearest")
    return hi == lo


# ---------------------------------------------------------------------------
# Per-sample counts, stored sparsely, summed over any index


class CountStore:
    """Per-sample non-negative integer count vectors of a fixed length.

    Only non-zero cells are kept (a per-image confusion matrix of a few classes
    has few), so 10,000 images cost kilobytes to megabytes, never masks.
    """

    def __init__(self, length: int):
        self.length = int(length)
        self._cells: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._final: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._cells)

    def add(self, counts: np.ndarray) -> None:
        flat = np.asarray(counts, dtype=np.int64).ravel()
        if flat.size != self.length:
            raise ValueError(f"expected {self.length} counts, got {flat.size}")
        nz = np.flatnonzero(flat)
        self._cells.append(nz.astype(np.int32))
        self._counts.append(flat[nz])
        self._final = None

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._final is None:
            sizes = np.array([len(c) for c in self._cells], dtype=np.int64)
            owner = np.repeat(np.arange(len(self._cells)), sizes)
            cells = (
                np.concatenate(self._cells) if self._cells else np.zeros(0, np.int32)
            )
            counts = (
                np.concatenate(self._counts) if self._counts else np.zeros(0, np.int64)
            )
            self._final = (owner, cells, counts)
        return self._final

    def sample(self, i: int) -> np.ndarray:
        out = np.zeros(self.length, dtype=np.int64)
        out[self._cells[i]] = self._counts[i]
        return out

    def dense(self) -> np.ndarray:
        """(n_samples, length) int64 — for small lengths only (samples())."""
        owner, cells, counts = self._arrays()
        out = np.zeros((len(self), self.length), dtype=np.int64)
        out[owner, cells] = counts
        return out

    def total(self, index: np.ndarray | None = None) -> np.ndarray:
        """Sum over ``index`` (repeats count repeatedly); None = all samples."""
        owner, cells, counts = self._arrays()
        if index is None:
            weights = counts
        else:
            mult = np.bincount(np.asarray(index, dtype=np.int64), minlength=len(self))
            weights = counts * mult[owner]
        # float64 weights are exact below 2**53 pixels, far above any split.
        out = np.bincount(cells, weights=weights, minlength=self.length)
        return np.rint(out).astype(np.int64)
