"""Cross-view geo-localisation demo data (CVUSA-like).

Each scene gives an aerial tile (the optical rendering) and a ground-level
"panorama" strip seen from the tile centre: a polar unwrapping of the terrain
(columns = azimuth, rows = distance, far at the top under a sky band) drawn with a
different, ground-level palette, so the two views share layout but not colours.
With ``fov`` < 360 only a window of that many degrees at a random heading is kept
(BEV-CV's limited field of view).

Public: ``train/ground/<id>.png`` + ``train/aerial/<id>.png`` (same id = same
place), ``test/ground/<query>.png``, ``test/aerial/<gallery>.png`` (shuffled
gallery ids), ``sample_submission.zip``. Hidden: ``truth.csv``
(query_id,gallery_id). Baseline: colour histograms of both views, the ground one
mapped to the aerial one by ridge regression fitted on the training pairs;
similarity = cosine (ZIP with ``similarity.npy``, ``query_ids.txt``,
``gallery_ids.txt``).

Params: ``size`` (64, aerial), ``pano_width`` (128), ``pano_height`` (32),
``fov`` (360), ``n_train`` (30), ``n_test`` (24).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData
from benchmarks.generators.scene.make import make_scene
from benchmarks.generators.text import apply_map, cosine_matrix, ridge_map
from benchmarks.writers import npy_bytes, write_csv, write_png, write_readme, write_zip

# Ground-level look of each terrain class (scene.TERRAIN order): facades, asphalt...
_GROUND_RGB = np.array(
    [
        [120, 150, 80],
        [150, 120, 100],
        [80, 80, 85],
        [90, 120, 150],
        [30, 70, 35],
        [170, 170, 90],
        [150, 130, 100],
    ],
    dtype=np.float64,
)
_SKY = np.array([170, 200, 235], dtype=np.float64)


def _panorama(scene, rng, width: int, height: int, fov: float) -> np.ndarray:
    n_cols = max(8, int(round(width * fov / 360.0)))
    heading = rng.uniform(0, 2 * np.pi)
    az = heading + np.linspace(0, np.deg2rad(fov), n_cols, endpoint=False)
    sky = height // 4
    ground_rows = height - sky
    dist = (scene.size / 2 - 1) * (
        1 - (np.arange(ground_rows) + 0.5) / ground_rows
    )  # far at top
    c = scene.size / 2
    xs = np.clip((c + dist[:, None] * np.cos(az)[None]).astype(int), 0, scene.size - 1)
    ys = np.clip((c + dist[:, None] * np.sin(az)[None]).astype(int), 0, scene.size - 1)
    ground = _GROUND_RGB[scene.label_map[ys, xs]]
    img = np.concatenate([np.broadcast_to(_SKY, (sky, n_cols, 3)), ground], axis=0)
    img = img * rng.uniform(0.85, 1.15) + rng.normal(0, 8, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _hist(img: np.ndarray) -> np.ndarray:
    q = (img.reshape(-1, 3) // 64).astype(np.int64)  # 4 levels per channel
    h = np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64).astype(float)
    return np.sqrt(h / h.sum())


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    size = int(params.get("size", 64))
    pw, ph = int(params.get("pano_width", 128)), int(params.get("pano_height", 32))
    fov = float(params.get("fov", 360))
    n_train, n_test = int(params.get("n_train", 30)), int(params.get("n_test", 24))
    public = out_dir / "public"
    feats: dict[str, list] = {"train": [], "test": []}
    for split, n in (("train", n_train), ("test", n_test)):
        for _ in range(n):
            scene = make_scene(rng, size)
            aerial, ground = scene.render(rng=rng), _panorama(scene, rng, pw, ph, fov)
            feats[split].append(
                (_hist(ground[ph // 4 :]), _hist(aerial), ground, aerial)
            )
    for k, (_, _, g, a) in enumerate(feats["train"]):
        write_png(public / "train" / "ground" / f"train_{k:04d}.png", g)
        write_png(public / "train" / "aerial" / f"train_{k:04d}.png", a)
    perm = rng.permutation(n_test)  # query k's aerial tile is gallery item perm[k]
    q_ids = [f"q{k:04d}" for k in range(n_test)]
    g_ids = [f"g{k:04d}" for k in range(n_test)]
    gallery = [None] * n_test
    for k, p in enumerate(perm):
        write_png(public / "test" / "ground" / f"{q_ids[k]}.png", feats["test"][k][2])
        gallery[p] = feats["test"][k][1]
        write_png(public / "test" / "aerial" / f"{g_ids[p]}.png", feats["test"][k][3])
    truth = write_csv(
        out_dir / "private" / "truth.csv",
        ["query_id", "gallery_id"],
        [[q_ids[k], g_ids[perm[k]]] for k in range(n_test)],
    )
    W = ridge_map(
        np.stack([f[0] for f in feats["train"]]),
        np.stack([f[1] for f in feats["train"]]),
        alpha=3.0,
    )
    sim = cosine_matrix(
        apply_map(np.stack([f[0] for f in feats["test"]]), W), np.stack(gallery)
    )

    def matrix_zip(path, m):
        members = {"similarity.npy": npy_bytes(m.astype(np.float32))}
        members["query_ids.txt"] = "\n".join(q_ids) + "\n"
        members["gallery_ids.txt"] = "\n".join(g_ids) + "\n"
        return write_zip(path, members)

    matrix_zip(public / "sample_submission.zip", np.zeros_like(sim))
    write_readme(
        public,
        f"""
Cross-view geo-localisation (generated demo scenes). train/ground + train/aerial: pairs with
the same id. test/ground/<query>.png: ground panoramas ({fov:g} degree field of view, unknown
heading); test/aerial/<gallery>.png: the shuffled aerial tiles.
Submit a ZIP like sample_submission.zip: similarity.npy (queries x gallery, float32, higher =
more similar), query_ids.txt and gallery_ids.txt in row / column order.
Scored by R@1 (also R@5, R@10, R@1%).
""",
    )
    baseline = matrix_zip(out_dir / "baseline.zip", sim)
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=q_ids,
        baseline_path=baseline,
        baseline_name="Colour histograms + ridge map ground -> aerial",
    )
