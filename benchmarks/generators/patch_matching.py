"""Visible <-> long-wave-infrared patch matching demo data (VIS-LWIR-like).

A few large scenes are rendered twice: a visible grey image and an LWIR-like
"thermal" image (per-class temperatures -- hot roads and roofs, cool water and
forest -- blurred, with sensor noise), so the two modalities have different and
partly inverted contrasts. A matching pair is the same location in both (with
+-1 px jitter); a non-matching pair takes the LWIR patch from another random
location. Half the pairs match.

Public: ``vis_patches.npy`` and ``lwir_patches.npy`` (uint8, N x P x P; row i is
pair i of ``pairs.csv``), ``pairs.csv`` (pair_id,index,split), ``train_labels.csv``
(pair_id,is_match for the training pairs), ``sample_submission.csv``
(pair_id,distance for the test pairs). Hidden: ``truth.csv`` (pair_id,is_match).
Baseline: distance = 1 - normalised cross-correlation of the gradient magnitudes.

Params: ``patch`` (32), ``n_scenes`` (3), ``scene_size`` (128), ``n_train`` (200),
``n_test`` (300) pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from benchmarks.generators import DemoData
from benchmarks.generators.scene.make import make_scene
from benchmarks.writers import write_csv, write_readme

# Relative radiometric temperature per terrain class (scene.TERRAIN order).
_TEMP = np.array([0.55, 0.8, 0.9, 0.15, 0.3, 0.5, 0.7])
_OBJ_TEMP = {"vehicle": 0.95, "ship": 0.6, "storage-tank": 0.4, "tree": 0.3}


def _lwir(scene, rng) -> np.ndarray:
    t = _TEMP[scene.label_map].copy()
    for k, o in enumerate(scene.objects):
        if o.category in _OBJ_TEMP:
            t[scene.object_mask(k)] = _OBJ_TEMP[o.category]
    t = ndimage.gaussian_filter(t, 1.2) + rng.normal(0, 0.04, t.shape)
    return np.clip(t * 255, 0, 255).astype(np.uint8)


def _ncc_grad(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise normalised cross-correlation of gradient magnitudes (N x P x P)."""

    def grad(x):
        x = x.astype(np.float64)
        gy, gx = np.gradient(x, axis=(1, 2))
        g = np.hypot(gx, gy).reshape(len(x), -1)
        g -= g.mean(1, keepdims=True)
        return g / (np.linalg.norm(g, axis=1, keepdims=True) + 1e-9)

    return (grad(a) * grad(b)).sum(1)


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    P = int(params.get("patch", 32))
    n_scenes, S = int(params.get("n_scenes", 3)), int(params.get("scene_size", 128))
    n_train, n_test = int(params.get("n_train", 200)), int(params.get("n_test", 300))
    vis, ir = [], []
    for _ in range(n_scenes):
        scene = make_scene(rng, S)
        vis.append(scene.render(rng=rng).astype(np.float64).mean(-1).astype(np.uint8))
        ir.append(_lwir(scene, rng))
    n = n_train + n_test
    match = rng.permutation(np.arange(n) % 2 == 0)
    sc = rng.integers(n_scenes, size=n)
    xy = rng.integers(1, S - P - 1, size=(n, 2))
    jit = np.where(match[:, None], rng.integers(-1, 2, size=(n, 2)), 0)
    other = rng.integers(1, S - P - 1, size=(n, 2))
    other_sc = rng.integers(n_scenes, size=n)
    ir_xy = np.where(match[:, None], xy + jit, other)
    ir_sc = np.where(match, sc, other_sc)
    vp = np.stack(
        [vis[s][y : y + P, x : x + P] for s, (x, y) in zip(sc, xy, strict=True)]
    )
    lp = np.stack(
        [ir[s][y : y + P, x : x + P] for s, (x, y) in zip(ir_sc, ir_xy, strict=True)]
    )
    ids = [f"pair_{k:05d}" for k in range(n)]
    split = ["train"] * n_train + ["test"] * n_test
    public = out_dir / "public"
    public.mkdir(parents=True, exist_ok=True)
    np.save(public / "vis_patches.npy", vp)
    np.save(public / "lwir_patches.npy", lp)
    write_csv(
        public / "pairs.csv",
        ["pair_id", "index", "split"],
        [[s, k, split[k]] for k, s in enumerate(ids)],
    )
    write_csv(
        public / "train_labels.csv",
        ["pair_id", "is_match"],
        [[ids[k], int(match[k])] for k in range(n_train)],
    )
    test = range(n_train, n)
    write_csv(
        public / "sample_submission.csv",
        ["pair_id", "distance"],
        [[ids[k], "0.5"] for k in test],
    )
    write_readme(
        public,
        f"""
Visible <-> LWIR patch matching (generated demo data). vis_patches.npy, lwir_patches.npy:
uint8 arrays N x {P} x {P}; row i belongs to pair i of pairs.csv (column split = train/test).
train_labels.csv: is_match of the training pairs.
Submit CSV pair_id,distance for every test pair (lower = more likely the same place; see
sample_submission.csv). Scored by FPR95 (false positive rate at 95% recall; lower is better).
""",
    )
    truth = write_csv(
        out_dir / "private" / "truth.csv",
        ["pair_id", "is_match"],
        [[ids[k], int(match[k])] for k in test],
    )
    dist = 1.0 - _ncc_grad(vp[n_train:], lp[n_train:])
    baseline = write_csv(
        out_dir / "baseline.csv",
        ["pair_id", "distance"],
        [[ids[k], f"{d:.6f}"] for k, d in zip(test, dist, strict=True)],
    )
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=[ids[k] for k in test],
        baseline_path=baseline,
        baseline_name="1 - NCC of gradient magnitudes",
    )
