"""Scene classification demo data: small multispectral patches whose class is
carried by a spectral signature and a texture, so a model can learn it.

Public: ``train/<id>.npy`` + ``train.csv`` (id,label), ``test/<id>.npy``,
``sample_submission.csv``. Hidden: ``truth.csv`` (id,label). Baseline: a
nearest-centroid classifier on per-band means fitted on the training set.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData

_TEXTURES = ("stripes", "smooth", "blobs", "line", "grid", "noise")


def _texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, np.pi)
    u = x * np.cos(angle) + y * np.sin(angle)
    if kind == "stripes":
        return 0.5 + 0.5 * np.sin(2 * np.pi * 6 * u)
    if kind == "line":
        return np.exp(-(((u - rng.uniform(0.3, 0.7)) / 0.06) ** 2))
    if kind == "grid":
        v = -x * np.sin(angle) + y * np.cos(angle)
        return ((np.sin(2 * np.pi * 5 * u) > 0.6) | (np.sin(2 * np.pi * 5 * v) > 0.6)).astype(float)
    if kind == "blobs":
        out = np.zeros((size, size))
        for _ in range(4):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.08, 0.2)
            out += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / r**2)
        return np.clip(out, 0, 1)
    if kind == "noise":
        return rng.uniform(0, 1, (size, size))
    return np.full((size, size), 0.5)


def _write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    classes: list[str] = list(params["classes"])
    bands = int(params.get("bands", 13))
    size = int(params.get("size", 32))
    n_train = int(params.get("n_train_per_class", 20))
    n_test = int(params.get("n_test_per_class", 20))
    noise = float(params.get("noise", 0.08))
    rng = np.random.default_rng(seed)
    k = len(classes)
    # Class signatures overlap on purpose: the task is learnable, not trivial.
    base = rng.uniform(0.1, 0.5, bands)
    signatures = base + rng.normal(0, float(params.get("separation", 0.03)), (k, bands))
    textures = [_TEXTURES[i % len(_TEXTURES)] for i in range(k)]

    public = out_dir / "public"
    for sub in ("train", "test"):
        (public / sub).mkdir(parents=True, exist_ok=True)

    def sample(ci: int) -> np.ndarray:
        tex = _texture(textures[ci], size, rng)
        sig = signatures[ci] * rng.uniform(0.75, 1.25)  # illumination
        img = sig[:, None, None] * (0.6 + 0.8 * tex[None]) + rng.normal(0, noise, (bands, size, size))
        return img.astype(np.float32)

    train_rows, train_x, train_y = [], [], []
    for ci, c in enumerate(classes):
        for j in range(n_train):
            sid = f"train_{ci:02d}_{j:04d}"
            img = sample(ci)
            np.save(public / "train" / f"{sid}.npy", img)
            train_rows.append((sid, c))
            train_x.append(img.mean(axis=(1, 2)))
            train_y.append(ci)
    test_items = [(ci, j) for ci in range(k) for j in range(n_test)]
    order = rng.permutation(len(test_items))
    truth_rows, test_x = [], []
    for n, t in enumerate(order):
        ci, _ = test_items[t]
        sid = f"test_{n:05d}"
        img = sample(ci)
        np.save(public / "test" / f"{sid}.npy", img)
        truth_rows.append((sid, classes[ci]))
        test_x.append(img.mean(axis=(1, 2)))

    _write_csv(public / "train.csv", ["id", "label"], train_rows)
    _write_csv(
        public / "sample_submission.csv", ["id", "label"], [(sid, classes[0]) for sid, _ in truth_rows]
    )
    private = out_dir / "private"
    private.mkdir(parents=True, exist_ok=True)
    truth = private / "truth.csv"
    _write_csv(truth, ["id", "label"], truth_rows)

    # Baseline: nearest centroid of per-band means.
    tx, ty = np.asarray(train_x), np.asarray(train_y)
    centroids = np.stack([tx[ty == ci].mean(axis=0) for ci in range(k)])
    d = ((np.asarray(test_x)[:, None, :] - centroids[None]) ** 2).sum(-1)
    pred = d.argmin(axis=1)
    baseline = out_dir / "baseline.csv"
    _write_csv(baseline, ["id", "label"], [(sid, classes[p]) for (sid, _), p in zip(truth_rows, pred)])
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=[sid for sid, _ in truth_rows],
        baseline_path=baseline,
        baseline_name="Nearest centroid (band means)",
    )
