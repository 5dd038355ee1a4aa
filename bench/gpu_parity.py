"""CUDA vs CPU parity and timing for the evaluator's torch paths (device check).

    EARTHBENCH_DEVICE is switched per call: ``numpy``/``cpu`` vs ``cuda``.
    python bench/gpu_parity.py [--masks 200] [--size 512]

Prints one JSON object: for each kind, whether the CUDA result equals the CPU
result (exactly for integer confusion matrices, to 1e-6 for image quality), and
the time of each path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluator.api import score  # noqa: E402


def _masks(root: Path, n: int, size: int, classes: int, seed: int, ignore: bool) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        m = rng.integers(0, classes, (size, size), dtype=np.uint8)
        if ignore:
            m[rng.random((size, size)) < 0.05] = 255
        Image.fromarray(m).save(root / f"{i:05d}.png")
    return root


def _images(root: Path, n: int, size: int, seed: int, noise: float) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    base = np.random.default_rng(99).integers(0, 255, (n, size, size, 3))
    for i in range(n):
        img = np.clip(base[i] + rng.normal(0, noise, base[i].shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(root / f"{i:04d}.png")
    return root


def _run(kind, pred, truth, options, device):
    os.environ["EARTHBENCH_DEVICE"] = device
    t = time.perf_counter()
    out = score(kind, pred, truth, options)
    return out, time.perf_counter() - t


def _max_diff(a, b, path="") -> float:
    if isinstance(a, dict):
        return max((_max_diff(a[k], b.get(k), f"{path}.{k}") for k in a), default=0.0)
    if isinstance(a, list):
        return max((_max_diff(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b)
    return 0.0 if a == b else float("inf")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--masks", type=int, default=200)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--images", type=int, default=20)
    args = ap.parse_args()
    import torch

    report = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        report["gpu"] = torch.cuda.get_device_name(0)
    tmp = Path(tempfile.mkdtemp())
    cases = [
        ("segmentation", _masks(tmp / "sp", args.masks, args.size, 6, 1, True),
         _masks(tmp / "st", args.masks, args.size, 6, 2, True), {"num_classes": 6}, "numpy", 0.0),
        ("change-detection", _masks(tmp / "cp", args.masks, args.size, 2, 3, False),
         _masks(tmp / "ct", args.masks, args.size, 2, 4, False), {"variant": "binary"}, "numpy", 0.0),
        ("super-resolution", _images(tmp / "rp", args.images, 256, 5, 12.0),
         _images(tmp / "rt", args.images, 256, 6, 0.0), {}, "cpu", 1e-6),
    ]
    ok = True
    for kind, pred, truth, opts, cpu_dev, tol in cases:
        cpu, t_cpu = _run(kind, pred, truth, opts, cpu_dev)
        entry = {"cpu_s": round(t_cpu, 3)}
        if torch.cuda.is_available():
            _run(kind, pred, truth, opts, "cuda")  # warm-up (CUDA context, kernels)
            gpu, t_gpu = _run(kind, pred, truth, opts, "cuda")
            diff = _max_diff(cpu, gpu)
            entry.update(cuda_s=round(t_gpu, 3), max_abs_diff=diff, equal=diff <= tol,
                         primary=cpu.get(cpu.get("primary")))
            ok &= diff <= tol
        report[kind] = entry
    report["ok"] = ok
    print(json.dumps(report, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
