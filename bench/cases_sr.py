"""Super-resolution cases: PSNR + SSIM against torchmetrics, cPSNR (PROBA-V)
against a numpy loop of its definition, whole call and shift search alone.

EarthBench is timed from files (``api.score``) except in ``sr-cpsnr-search``,
where both sides get the same in-memory arrays.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bench.common import Case, Prepared, Ref, eb_score, flat, warm_torch_evaluator

SR_SIDE = 128


def _sr_pairs(rng: np.random.Generator, n: int, shape, dtype, noise: float):
    hi = np.iinfo(dtype).max
    out = []
    for _ in range(n):
        base = rng.integers(0, hi, (shape[0] // 8, shape[1] // 8) + shape[2:])
        t = np.clip(base.repeat(8, 0).repeat(8, 1) + rng.normal(0, noise, shape), 0, hi)
        p = np.clip(t + rng.normal(noise, 2 * noise, shape), 0, hi)
        out.append((t.astype(dtype), p.astype(dtype)))
    return out


def _write_set(work: Path, pairs, ext: str):
    import tifffile
    from PIL import Image

    for side in ("truth", "pred"):
        (work / side).mkdir()
    for i, (t, p) in enumerate(pairs):
        for side, arr in (("truth", t), ("pred", p)):
            path = work / side / f"s{i:05d}{ext}"
            if ext == ".png":
                Image.fromarray(arr).save(path)
            else:
                tifffile.imwrite(path, arr)
    return work / "pred", work / "truth"


def _chw(a: np.ndarray):
    import torch

    a = a[:, :, None] if a.ndim == 2 else a
    return torch.from_numpy(np.moveaxis(a, -1, 0).astype(np.float64))[None]


def _prepare_sr(size: int, work: Path) -> Prepared:
    rng = np.random.default_rng(size)
    pairs = _sr_pairs(rng, size, (SR_SIDE, SR_SIDE, 3), np.uint8, 6.0)
    pred, truth = _write_set(work, pairs, ".png")

    def setup():
        import torch
        from torchmetrics.functional.image import peak_signal_noise_ratio  # noqa: F401

        torch.set_num_threads(1)  # 10x faster than 2 threads on small images here
        return [(_chw(p), _chw(t)) for t, p in pairs]

    def run(tensors):
        from torchmetrics.functional.image import peak_signal_noise_ratio as psnr
        from torchmetrics.functional.image import (
            structural_similarity_index_measure as ssim,
        )

        ps = [float(psnr(p, t, data_range=255.0)) for p, t in tensors]
        ss = [
            float(
                ssim(
                    p,
                    t,
                    gaussian_kernel=True,
                    sigma=1.5,
                    kernel_size=11,
                    data_range=255.0,
                )
            )
            for p, t in tensors
        ]
        return {"psnr": float(np.mean(ps)), "ssim": float(np.mean(ss))}

    return Prepared(
        eb=eb_score(
            "super-resolution", pred, truth, {}, lambda o: flat(o, ["psnr", "ssim"])
        ),
        eb_setup=warm_torch_evaluator,
        refs=[
            Ref(
                "torchmetrics PSNR + SSIM (functional)",
                run,
                setup,
                "per-image psnr + ssim on in-memory float64 tensors",
            )
        ],
        eb_timed="api.score from PNG folders (variant plain: psnr, ssim)",
        size_note=f"{SR_SIDE}x{SR_SIDE}x3 uint8",
    )


def _probav_cpsnr(sr: np.ndarray, hr: np.ndarray, s: int, data_range: float) -> float:
    """PROBA-V cPSNR from the Kelvins definition, one offset at a time (no mask)."""
    hr, sr = hr.astype(np.float64) / data_range, sr.astype(np.float64) / data_range
    h, w = hr.shape
    sr_c = sr[s : h - s, s : w - s]
    best = math.inf
    for u in range(2 * s + 1):
        for v in range(2 * s + 1):
            diff = hr[u : u + h - 2 * s, v : v + w - 2 * s] - sr_c
            best = min(best, float(((diff - diff.mean()) ** 2).mean()))
    return -10 * math.log10(best)


def _prepare_cpsnr(size: int, work: Path) -> Prepared:
    rng = np.random.default_rng(size)
    pairs = _sr_pairs(rng, size, (SR_SIDE, SR_SIDE), np.uint16, 300.0)
    pred, truth = _write_set(work, pairs, ".tif")

    def run(_):
        vals = [_probav_cpsnr(p, t, 3, 65535.0) for t, p in pairs]
        return {"cpsnr": float(np.mean(vals))}

    return Prepared(
        eb=eb_score(
            "super-resolution",
            pred,
            truth,
            {"variant": "probav", "metrics": ["cpsnr"]},
            lambda o: flat(o, ["cpsnr"]),
        ),
        eb_setup=warm_torch_evaluator,
        refs=[
            Ref(
                "numpy loop of the PROBA-V cPSNR definition",
                run,
                timed="49 offsets per in-memory image, bias-corrected MSE (no torchmetrics cPSNR exists)",
            )
        ],
        eb_timed="api.score from TIFF folders, variant probav, metrics [cpsnr] (a cPSNR-only benchmark: no psnr/ssim/sam)",
        size_note=f"{SR_SIDE}x{SR_SIDE} uint16",
    )


def _prepare_cpsnr_search(size: int, work: Path) -> Prepared:
    """cPSNR alone, both sides on in-memory arrays: the vectorised shift search
    (evaluator/cpsnr.py) against the per-offset loop (same images as above)."""
    rng = np.random.default_rng(size)
    pairs = _sr_pairs(rng, size, (SR_SIDE, SR_SIDE), np.uint16, 300.0)

    def eb(_):
        from evaluator import cpsnr

        vals = []
        for t, p in pairs:
            mse, _at = cpsnr.search(
                p[None].astype(np.float64), t[None].astype(np.float64), 3
            )
            vals.append(10 * math.log10(65535.0**2 / mse))
        return {"cpsnr": float(np.mean(vals))}

    def loop(_):
        return {"cpsnr": float(np.mean([_probav_cpsnr(p, t, 3, 65535.0) for t, p in pairs]))}

    return Prepared(
        eb=eb,
        eb_setup=lambda: __import__("evaluator.cpsnr"),
        refs=[
            Ref(
                "numpy loop of the PROBA-V cPSNR definition",
                loop,
                timed="49 offsets per in-memory image, bias-corrected MSE",
            )
        ],
        eb_timed="evaluator.cpsnr.search per in-memory image (uint16 -> float64 inside the timer)",
        size_note=f"{SR_SIDE}x{SR_SIDE} uint16",
    )



def _read_tiffs(folder: Path) -> list:
    import tifffile

    return [tifffile.imread(f) for f in sorted(folder.iterdir())]


def _prepare_cpsnr_files(size: int, work: Path) -> Prepared:
    """cPSNR from files on both sides: what a scorer must at least pay (reading
    the TIFFs) and the numpy loop when it reads them too."""
    rng = np.random.default_rng(size)
    pairs = _sr_pairs(rng, size, (SR_SIDE, SR_SIDE), np.uint16, 300.0)
    pred, truth = _write_set(work, pairs, ".tif")

    def read(_):
        n = sum(a.size for folder in (pred, truth) for a in _read_tiffs(folder))
        return {"pixels": float(n)}

    def read_loop(_):
        ps, ts = _read_tiffs(pred), _read_tiffs(truth)
        vals = [_probav_cpsnr(p, t, 3, 65535.0) for t, p in zip(ts, ps, strict=True)]
        return {"cpsnr": float(np.mean(vals))}

    tiff = lambda: __import__("tifffile")  # noqa: E731
    return Prepared(
        eb=eb_score(
            "super-resolution", pred, truth, {"variant": "probav", "metrics": ["cpsnr"]},
            lambda o: flat(o, ["cpsnr"]),
        ),
        eb_setup=warm_torch_evaluator,
        refs=[
            Ref(
                "tifffile read + numpy loop",
                read_loop,
                tiff,
                "tifffile.imread of both folders, then the 49-offset loop per image",
            ),
            Ref(
                "tiff-read",
                read,
                tiff,
                "tifffile.imread of both folders and nothing else (the floor)",
                compare=False,
            ),
        ],
        eb_timed="api.score from TIFF folders, variant probav, metrics [cpsnr]",
        size_note=f"{SR_SIDE}x{SR_SIDE} uint16",
    )



CASES = [
    Case(
        "super-resolution",
        "sr-psnr-ssim",
        "images",
        (25, 100, 400),
        (10, 40),
        _prepare_sr,
    ),
    Case(
        "super-resolution",
        "sr-cpsnr-probav",
        "images",
        (10, 40, 160),
        (5, 20),
        _prepare_cpsnr,
    ),
    Case(
        "super-resolution",
        "sr-cpsnr-search",
        "images",
        (10, 40, 160),
        (5, 20),
        _prepare_cpsnr_search,
    ),
    Case(
        "super-resolution",
        "sr-cpsnr-files",
        "images",
        (10, 40, 160),
        (5, 20),
        _prepare_cpsnr_files,
    ),
]
