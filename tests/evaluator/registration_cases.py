"""Independent references (OverlapPredator benchmark code) and log writers
shared by the registration tests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[2]


# ---- independent references (Predator lib/benchmark.py, with scipy quaternions)


def ref_transformation_err(trans, info):
    """Predator ``computeTransformationErr`` with nibabel's mat2quat replaced by
    scipy (canonical = w >= 0, the same quaternion)."""
    t = trans[:3, 3]
    x, y, z, w = Rotation.from_matrix(trans[:3, :3]).as_quat(canonical=True)
    er = np.concatenate([t, [x, y, z]])
    return (er.reshape(1, 6) @ info @ er.reshape(6, 1) / info[0, 0]).item()


def ref_scene(gt_pairs, gt, gt_info, est, err2=0.2):
    """Predator ``evaluate_registration`` recall + RRE/RTE over successes,
    without its first-pair off-by-one (see the kind's card)."""
    err2 = err2**2
    n_gt = good = 0
    rre, rte = [], []
    for idx, (i, j) in enumerate(gt_pairs):
        if j - i <= 1:
            continue
        n_gt += 1
        p = ref_transformation_err(np.linalg.inv(gt[idx]) @ est[(i, j)], gt_info[idx])
        if p <= err2:
            good += 1
            R_ = gt[idx][:3, :3].T @ est[(i, j)][:3, :3]
            rre.append(math.degrees(math.acos(np.clip((np.trace(R_) - 1) / 2, -1, 1))))
            rte.append(np.linalg.norm(gt[idx][:3, 3] - est[(i, j)][:3, 3]))
    return good / n_gt, (np.mean(rre) if rre else None), (np.mean(rte) if rte else None)


# ---- writers ----------------------------------------------------------------


def fmt_block(i, j, n, M) -> str:
    rows = "\n".join("\t".join(f"{v: .12e}" for v in row) for row in M)
    return f"{i}\t {j}\t {n}\t\n{rows}\n"


def write_log(path: Path, blocks) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(fmt_block(i, j, n, M) for i, j, n, M in blocks))
    return path


def info_matrix(rng, n_pts=3000):
    """Information matrix of a random fragment: sum of J'J with J = [I, -[p]x]."""
    P = rng.normal([0.5, -0.3, 2.0], 0.8, (n_pts, 3))
    info = np.zeros((6, 6))
    info[:3, :3] = n_pts * np.eye(3)
    S = np.zeros((n_pts, 3, 3))
    S[:, 0, 1], S[:, 0, 2], S[:, 1, 2] = -P[:, 2], P[:, 1], -P[:, 0]
    S = S - np.swapaxes(S, 1, 2)
    info[:3, 3:] = -S.sum(0)
    info[3:, :3] = info[:3, 3:].T
    info[3:, 3:] = np.einsum("nji,njk->ik", S, S)
    return info


def rigid(rot: Rotation, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = rot.as_matrix()
    T[:3, 3] = t
    return T


def synthetic_scene(rng, n_frag=12, n_pairs=30):
    pairs = set()
    while len(pairs) < n_pairs:
        i, j = sorted(rng.choice(n_frag, 2, replace=False).tolist())
        pairs.add((i, j))
    pairs = sorted(pairs)
    gt = [rigid(Rotation.random(random_state=rng), rng.normal(0, 1, 3)) for _ in pairs]
    info = [info_matrix(rng) for _ in pairs]
    est = {}
    for (i, j), T in zip(pairs, gt, strict=True):
        angle = rng.uniform(0, 12)
        P = rigid(
            Rotation.from_rotvec(np.radians(angle) * _unit(rng)),
            rng.uniform(0, 0.35) * _unit(rng),
        )
        est[(i, j)] = T @ P
    return pairs, gt, info, est, n_frag


def _unit(rng):
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def write_scene(truth_root: Path, pred_root: Path, name, scene):
    pairs, gt, info, est, n = scene
    write_log(
        truth_root / name / "gt.log",
        [(i, j, n, T) for (i, j), T in zip(pairs, gt, strict=True)],
    )
    write_log(
        truth_root / name / "gt.info",
        [(i, j, n, M) for (i, j), M in zip(pairs, info, strict=True)],
    )
    write_log(pred_root / f"{name}.log", [(i, j, n, est[(i, j)]) for i, j in pairs])
