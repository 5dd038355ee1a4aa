"""Point-cloud fragment registration in the 3DMatch layout.

Each synthetic "room" (floor, walls, ceiling-less, a few boxes as furniture and a
table) is sampled into points; fragments are the points seen from successive
viewpoints along a path (a ball around the viewpoint, so fragments i and i+2
still overlap), each expressed in its own random local frame. For pair (i, j)
the ground-truth transform maps fragment j's points into fragment i's frame
(``P_i = T @ P_j``), as in 3DMatch's ``gt.log``; ``gt.info`` holds the 6x6
information matrix of the overlapping points of fragment j
(sum of A'A, A = [I | -2 [x]x], the Redwood convention), so the evaluator's
RMSE approximation applies.

Public: ``fragments/<scene>/cloud_bin_<k>.npy`` (float32, N x 3, metres),
``fragments/<scene>/pairs.txt`` ("i j n" per pair to register),
``sample_submission.zip`` (identity ``<scene>.log`` per scene). Hidden:
``truth/<scene>/gt.log`` + ``gt.info``. Baseline: a ZIP of ``<scene>.log`` where
a share of the pairs is the truth plus small noise and the rest a wrong pose.

Params: ``n_scenes`` (3), ``n_fragments`` (6), ``points`` (1500 per fragment),
``success_rate`` (0.6, baseline), ``lo_overlap`` (false: 3DLoMatch-like pairs
further apart are listed as well).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from benchmarks.generators import DemoData
from benchmarks.writers import npy_bytes, write_readme, write_zip

ROOM_NAMES = ["demo-kitchen", "demo-office", "demo-lounge", "demo-studio", "demo-lab"]


def _box_surface(rng, lo, hi, n) -> np.ndarray:
    """n points uniformly on the 5 visible faces (no bottom) of an axis box."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    d = hi - lo
    areas = np.array([d[0] * d[1], d[0] * d[2], d[0] * d[2], d[1] * d[2], d[1] * d[2]])
    face = rng.choice(5, n, p=areas / areas.sum())
    u = rng.uniform(size=(n, 3)) * d + lo
    u[face == 0, 2] = hi[2]
    u[face == 1, 1] = lo[1]
    u[face == 2, 1] = hi[1]
    u[face == 3, 0] = lo[0]
    u[face == 4, 0] = hi[0]
    return u


def _room(rng: np.random.Generator, n: int) -> np.ndarray:
    w, d, h = rng.uniform(4, 6), rng.uniform(4, 6), 2.5
    parts = []
    floor = rng.uniform([0, 0, 0], [w, d, 0], (n // 3, 3))
    parts.append(floor)
    for axis, val in ((0, 0.0), (0, w), (1, 0.0), (1, d)):
        m = n // 10
        p = rng.uniform([0, 0, 0], [w, d, h], (m, 3))
        p[:, axis] = val
        parts.append(p)
    for _ in range(int(rng.integers(4, 7))):
        size = rng.uniform([0.4, 0.4, 0.4], [1.5, 1.2, 1.8])
        pos = rng.uniform([0.2, 0.2, 0], [w - size[0] - 0.2, d - size[1] - 0.2, 0])
        parts.append(_box_surface(rng, pos, pos + size, n // 12))
    pts = np.concatenate(parts)
    return pts + rng.normal(0, 0.004, pts.shape)


def _rotation(rng: np.random.Generator, max_deg: float = 180.0) -> np.ndarray:
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    ang = np.deg2rad(rng.uniform(-max_deg, max_deg))
    k = np.array(
        [[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]]
    )
    return np.eye(3) + np.sin(ang) * k + (1 - np.cos(ang)) * k @ k


def _rigid(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return T


def _apply(T: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p @ T[:3, :3].T + T[:3, 3]


def _info(points_j: np.ndarray) -> np.ndarray:
    """Redwood information matrix: sum over points of A'A, A = [I | -2 [x]x]."""
    x, y, z = points_j.T
    n = len(points_j)
    A = np.zeros((n, 3, 6))
    A[:, 0, 0] = A[:, 1, 1] = A[:, 2, 2] = 1.0
    A[:, 0, 4], A[:, 0, 5] = 2 * z, -2 * y
    A[:, 1, 3], A[:, 1, 5] = -2 * z, 2 * x
    A[:, 2, 3], A[:, 2, 4] = 2 * y, -2 * x
    return np.einsum("nki,nkj->ij", A, A)


def _block(i: int, j: int, n: int, M: np.ndarray, fmt: str) -> str:
    rows = "\n".join("\t".join(fmt % v for v in r) for r in M)
    return f"{i}\t{j}\t{n}\n{rows}\n"


def _noisy(T: np.ndarray, rng, deg: float, metres: float) -> np.ndarray:
    noise = _rigid(_rotation(rng, deg), rng.normal(0, metres, 3))
    return T @ noise


def _scene(rng, name, n_frag, n_points, max_gap):
    world = _room(rng, n_points * 8)
    span = world.max(0) - world.min(0)
    centre = world.min(0) + span / 2
    ang = rng.uniform(0, 2 * np.pi)
    frags, poses = [], []
    for k in range(n_frag):
        # Viewpoints along an arc through the room; radius 2.2 m balls.
        a = ang + 0.35 * k
        view = centre + np.array([1.0 * np.cos(a), 1.0 * np.sin(a), 0.0])
        sel = np.flatnonzero(np.linalg.norm(world[:, :2] - view[:2], axis=1) < 2.2)
        sel = rng.choice(sel, min(n_points, len(sel)), replace=False)
        pose = _rigid(_rotation(rng), -view + rng.normal(0, 0.3, 3))  # world -> local
        frags.append(_apply(pose, world[sel]).astype(np.float32))
        poses.append(pose)
    pairs, T_gt, infos = [], [], []
    for i in range(n_frag):
        tree = cKDTree(_apply(np.linalg.inv(poses[i]), frags[i].astype(float)))
        for j in range(i + 1, min(n_frag, i + 1 + max_gap)):
            T = poses[i] @ np.linalg.inv(poses[j])  # j-local -> i-local
            pj_world = _apply(np.linalg.inv(poses[j]), frags[j].astype(float))
            dist, _ = tree.query(pj_world)
            overlap = frags[j][dist < 0.05].astype(float)
            if len(overlap) < 0.1 * len(frags[j]):
                continue
            pairs.append((i, j))
            T_gt.append(T)
            infos.append(_info(overlap))
    return frags, pairs, T_gt, infos


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    n_scenes = int(params.get("n_scenes", 3))
    n_frag = int(params.get("n_fragments", 6))
    n_points = int(params.get("points", 1500))
    rate = float(params.get("success_rate", 0.6))
    max_gap = 4 if params.get("lo_overlap") else 3
    public, truth = out_dir / "public", out_dir / "private" / "truth"
    ids: list[str] = []
    baseline: dict[str, str] = {}
    sample: dict[str, str] = {}
    for s in range(n_scenes):
        name = ROOM_NAMES[s % len(ROOM_NAMES)] + (
            "" if s < len(ROOM_NAMES) else f"-{s}"
        )
        frags, pairs, T_gt, infos = _scene(rng, name, n_frag, n_points, max_gap)
        fdir = public / "fragments" / name
        fdir.mkdir(parents=True, exist_ok=True)
        for k, f in enumerate(frags):
            (fdir / f"cloud_bin_{k}.npy").write_bytes(npy_bytes(f))
        (fdir / "pairs.txt").write_text(
            "".join(f"{i} {j} {n_frag}\n" for i, j in pairs)
        )
        (truth / name).mkdir(parents=True, exist_ok=True)
        (truth / name / "gt.log").write_text(
            "".join(
                _block(i, j, n_frag, T, "%.10e")
                for (i, j), T in zip(pairs, T_gt, strict=True)
            )
        )
        (truth / name / "gt.info").write_text(
            "".join(
                _block(i, j, n_frag, M, "%.8e")
                for (i, j), M in zip(pairs, infos, strict=True)
            )
        )
        ids += [f"{name}/{i}_{j}" for i, j in pairs if j > i + 1]
        est = []
        for T in T_gt:
            good = rng.uniform() < rate
            P = _noisy(T, rng, 2.0, 0.02) if good else _noisy(T, rng, 120.0, 0.8)
            est.append(P)
        baseline[f"{name}.log"] = "".join(
            _block(i, j, n_frag, P, "%.10e")
            for (i, j), P in zip(pairs, est, strict=True)
        )
        sample[f"{name}.log"] = "".join(
            _block(i, j, n_frag, np.eye(4), "%.1f") for i, j in pairs
        )
    write_zip(public / "sample_submission.zip", sample)
    write_readme(
        public,
        """
Point-cloud fragment registration, 3DMatch layout (generated demo rooms).
fragments/<scene>/cloud_bin_<k>.npy: float32 N x 3 points in metres, each fragment
in its own frame. fragments/<scene>/pairs.txt: the pairs "i j n" to register.
Submit a ZIP with one <scene>.log per scene: for each pair a header line "i j n"
followed by the 4x4 rigid transform that maps fragment j's points into fragment
i's frame (see sample_submission.zip). Scored by registration recall (pairs with
j > i + 1; RMSE < 0.2 m), plus RRE / RTE of the successful pairs.
""",
    )
    base = write_zip(out_dir / "baseline.zip", baseline)
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=ids,
        baseline_path=base,
        baseline_name=f"Simulated registration ({rate:.0%} near-correct poses)",
    )
