"""Image writers, torchmetrics wrappers and PROBA-V brute-force references
shared by the super-resolution tests."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import tifffile
import torch
from PIL import Image
from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

KIND = "super-resolution"
REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- helpers


def write(folder: Path, name: str, arr: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".png"):
        Image.fromarray(arr).save(path)
    elif arr.ndim == 3:
        tifffile.imwrite(path, arr, photometric="minisblack", planarconfig="contig")
    else:
        tifffile.imwrite(path, arr)
    return path


def zip_folder(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
    return out


def chw(arr: np.ndarray) -> torch.Tensor:
    """(H, W[, C]) -> (1, C, H, W) float64 tensor, the torchmetrics layout."""
    a = arr[:, :, None] if arr.ndim == 2 else arr
    return torch.from_numpy(np.moveaxis(a, -1, 0).astype(np.float64))[None]


def tm_ssim_one(p, t, data_range):
    return float(
        tm_ssim(
            chw(p),
            chw(t),
            gaussian_kernel=True,
            sigma=1.5,
            kernel_size=11,
            data_range=data_range,
        )
    )


def pairs_uint(rng, n, shape, dtype, noise):
    hi = np.iinfo(dtype).max
    out = []
    for _ in range(n):
        t = rng.integers(0, hi, shape, endpoint=True).astype(dtype)
        p = np.clip(t + rng.normal(0, noise, shape), 0, hi).round().astype(dtype)
        out.append((t, p))
    return out


def make_sets(tmp_path, pairs, ext=".tif", masks=None, mask_style="suffix"):
    truth, pred = tmp_path / "truth", tmp_path / "pred"
    for i, (t, p) in enumerate(pairs):
        write(truth, f"img{i:02d}{ext}", t)
        write(pred, f"img{i:02d}{ext}", p)
        if masks is not None and masks[i] is not None:
            m = masks[i].astype(np.uint8) * 255
            name = (
                f"img{i:02d}.mask.png"
                if mask_style == "suffix"
                else f"masks/img{i:02d}.png"
            )
            write(truth, name, m)
    return pred, truth


def probav_brute(sr, hr, mask, s, data_range):
    """PROBA-V cPSNR/offset straight from the Kelvins text, numpy loops."""
    hr, sr = hr.astype(np.float64) / data_range, sr.astype(np.float64) / data_range
    if hr.ndim == 2:
        hr, sr = hr[:, :, None], sr[:, :, None]
    h, w, _ = hr.shape
    hc, wc = h - 2 * s, w - 2 * s
    sr_c = sr[s : s + hc, s : s + wc]
    best, where = math.inf, None
    for u in range(2 * s + 1):
        for v in range(2 * s + 1):
            hr_c = hr[u : u + hc, v : v + wc]
            m = mask[u : u + hc, v : v + wc]
            diff = (hr_c - sr_c)[m]  # (n_clear, C)
            b = diff.mean(axis=0)
            cmse = ((diff - b) ** 2).mean()
            if cmse < best:
                best, where = cmse, [u - s, v - s]
    return -10 * math.log10(best), where
