"""Map <-> optical image matching demo data (MapGlue-like).

For each pair a scene is drawn twice: as a *map* (flat class colours, objects as
outlined symbols, no noise) -- the source image -- and as an optical image warped
by a random homography -- the target. The homography H maps source pixel
coordinates (x, y, 1) (pixel index = coordinate) to target coordinates; it comes
from a random rotation (10-35 deg either way) and scale (0.85-1.15) about the centre plus
moves of the four corners by up to ``max_shift`` (10%) of the size.

Public: ``source/<pair>.png`` (map), ``target/<pair>.png`` (optical),
``pairs.csv`` (pair_id,source,target,width,height), ``sample_submission.json``
(identity for every pair). Hidden: ``truth.json``
``{pair_id: {"H": 3x3, "width": W, "height": H}}`` (W x H of the source).
Baseline: a simulated matcher -- the true homography with corner noise of a
per-pair scale (0.3-6 px), and the identity for a fifth of the pairs (failed
matching).

Params: ``size`` (64), ``n_pairs`` (24), ``max_shift`` (0.1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from benchmarks.generators import DemoData
from benchmarks.generators.scene.make import make_scene
from benchmarks.writers import write_csv, write_json, write_png, write_readme

# Map palette per terrain class (OSM-like flat colours) and object symbols.
_MAP_RGB = np.array(
    [[242, 239, 233], [217, 208, 201], [255, 255, 255], [170, 211, 223], [173, 209, 158],
     [238, 240, 213], [222, 214, 196]],
    dtype=np.uint8,
)  # fmt: skip
_SYMBOL = {
    "vehicle": (90, 90, 90),
    "ship": (40, 60, 140),
    "storage-tank": (160, 120, 90),
    "tree": (60, 140, 60),
}


def homography_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 H (h33 = 1) with dst ~ H src for 4 point pairs (DLT, exact)."""
    A, b = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    h = np.linalg.solve(np.array(A, float), np.array(b, float))
    return np.append(h, 1.0).reshape(3, 3)


def _corners(w: int, h: int) -> np.ndarray:
    return np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)


def _target_corners(c: np.ndarray, size: int, shift: float, rng) -> np.ndarray:
    """Corners after a random similarity (rotation 10-35 deg either way, scale 0.85-1.15,
    about the centre) plus independent corner moves of up to ``shift`` px."""
    ang = np.deg2rad(rng.uniform(10, 35) * rng.choice([-1, 1]))
    scale = rng.uniform(0.85, 1.15)
    R = scale * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    mid = (size - 1) / 2
    return (c - mid) @ R.T + mid + rng.uniform(-shift, shift, c.shape)


def _warp(img: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Target image: target pixel p shows the source at H^-1 p (bilinear)."""
    h, w = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(float)
    pts = np.linalg.inv(H) @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    sx, sy = pts[0] / pts[2], pts[1] / pts[2]
    out = np.stack(
        [
            ndimage.map_coordinates(
                img[..., c].astype(float), [sy, sx], order=1, cval=0.0
            )
            for c in range(img.shape[2])
        ],
        axis=-1,
    )
    return np.clip(np.round(out), 0, 255).astype(np.uint8).reshape(img.shape)


def _map(scene) -> np.ndarray:
    img = _MAP_RGB[scene.label_map].copy()
    for k, o in enumerate(scene.objects):
        if o.category in _SYMBOL:
            img[scene.object_mask(k)] = _SYMBOL[o.category]
    return img


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    size, n_pairs = int(params.get("size", 64)), int(params.get("n_pairs", 24))
    shift = float(params.get("max_shift", 0.1)) * size
    public = out_dir / "public"
    truth, base, rows = {}, {}, []
    c = _corners(size, size)
    for k in range(n_pairs):
        pid = f"pair_{k:04d}"
        scene = make_scene(rng, size)
        H = homography_from_points(c, _target_corners(c, size, shift, rng))
        write_png(public / "source" / f"{pid}.png", _map(scene))
        write_png(public / "target" / f"{pid}.png", _warp(scene.render(rng=rng), H))
        rows.append([pid, f"source/{pid}.png", f"target/{pid}.png", size, size])
        truth[pid] = {"H": H.tolist(), "width": size, "height": size}
        if rng.uniform() < 0.2:
            P = np.eye(3)
        else:
            noisy = (H @ np.c_[c, np.ones(4)].T).T
            noisy = noisy[:, :2] / noisy[:, 2:] + rng.normal(
                0, rng.uniform(0.3, 6.0), (4, 2)
            )
            P = homography_from_points(c, noisy)
        base[pid] = np.round(P, 10).tolist()
    write_csv(
        public / "pairs.csv", ["pair_id", "source", "target", "width", "height"], rows
    )
    write_json(
        public / "sample_submission.json", {r[0]: np.eye(3).tolist() for r in rows}
    )
    write_readme(
        public,
        """
Map <-> optical image matching (generated demo scenes). source/<pair>.png: map rendering;
target/<pair>.png: optical image of the same place seen under a homography.
Submit JSON {pair_id: [[h11,h12,h13],[h21,h22,h23],[h31,h32,h33]]} where H maps source
pixel coordinates (x, y, 1) to target coordinates (see sample_submission.json).
Scored by the AUC of the mean corner error up to 3 / 5 / 10 px.
""",
    )
    truth_path = write_json(out_dir / "private" / "truth.json", truth)
    baseline = write_json(out_dir / "baseline.json", base)
    return DemoData(
        public_dir=public,
        truth_path=truth_path,
        sample_ids=[r[0] for r in rows],
        baseline_path=baseline,
        baseline_name="Simulated matcher (noisy corners, 20% failures)",
    )
