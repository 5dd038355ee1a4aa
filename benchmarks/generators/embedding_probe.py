"""Frozen-embedding probe demo data: images whose class shows in spectrum and
texture (the classification generator's recipe), labels hidden from everyone.

Public: ``images/<id>.npy`` (float32 bands x H x W) for every train and test id,
``train_ids.txt``, ``test_ids.txt`` (no labels: the platform fits the probes),
``sample_submission.npz`` (``ids`` + zero ``embeddings``). Hidden: a folder with
``train.csv`` and ``test.csv`` (id,label). Baseline: an NPZ of hand-made
embeddings (per-band means) for all ids.

Params: ``classes`` (list of names, or an int; default 6 names), ``bands`` (13),
``size`` (32), ``n_train_per_class`` (15), ``n_test_per_class`` (10),
``separation`` (0.006), ``jitter`` (0.006), ``noise`` (0.1).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData
from benchmarks.generators.classification import _TEXTURES, _texture
from benchmarks.writers import write_csv, write_readme

DEFAULT_CLASSES = ["cropland", "forest", "grassland", "urban", "water", "wetland"]


def _embeddings_npz(path: Path, ids: list[str], emb: np.ndarray) -> Path:
    buf = io.BytesIO()
    np.savez(buf, ids=np.array(ids, dtype=str), embeddings=emb.astype(np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def _embed(img: np.ndarray) -> np.ndarray:
    """Per-band means (texture is ignored)."""
    return img.mean(axis=(1, 2))


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    cl = params.get("classes", DEFAULT_CLASSES)
    classes = [f"class_{k:02d}" for k in range(cl)] if isinstance(cl, int) else list(cl)
    bands, size = int(params.get("bands", 13)), int(params.get("size", 32))
    n_tr, n_te = (
        int(params.get("n_train_per_class", 15)),
        int(params.get("n_test_per_class", 10)),
    )
    noise = float(params.get("noise", 0.1))
    jitter = float(params.get("jitter", 0.006))
    k = len(classes)
    base = rng.uniform(0.1, 0.5, bands)
    signatures = base + rng.normal(
        0, float(params.get("separation", 0.006)), (k, bands)
    )
    textures = [_TEXTURES[i % len(_TEXTURES)] for i in range(k)]
    items = [
        (c, s)
        for s in ("train", "test")
        for c in range(k)
        for _ in range(n_tr if s == "train" else n_te)
    ]
    order = rng.permutation(len(items))
    public, truth = out_dir / "public", out_dir / "private" / "truth"
    (public / "images").mkdir(parents=True, exist_ok=True)
    rows: dict[str, list] = {"train": [], "test": []}
    ids, emb = [], []
    for n, t in enumerate(order):
        ci, split = items[t]
        tex = _texture(textures[ci], size, rng)
        # Illumination and per-sample spectral jitter make the classes overlap.
        sig = signatures[ci] * rng.uniform(0.8, 1.2) + rng.normal(0, jitter, bands)
        img = sig[:, None, None] * (0.6 + 0.8 * tex[None]) + rng.normal(
            0, noise, (bands, size, size)
        )
        img = img.astype(np.float32)
        sid = f"img_{n:05d}"
        np.save(public / "images" / f"{sid}.npy", img)
        rows[split].append((sid, classes[ci]))
        ids.append(sid)
        emb.append(_embed(img))
    for split in ("train", "test"):
        (public / f"{split}_ids.txt").write_text(
            "".join(f"{s}\n" for s, _ in rows[split])
        )
        write_csv(truth / f"{split}.csv", ["id", "label"], rows[split])
    _embeddings_npz(public / "sample_submission.npz", ids, np.zeros((len(ids), 8)))
    write_readme(
        public,
        """
Frozen-embedding probe (generated demo data). images/<id>.npy: float32 arrays (bands, H, W).
train_ids.txt / test_ids.txt: which ids the platform fits its probes on and scores;
the labels stay hidden. Submit an NPZ with `ids` (string array) and `embeddings`
(float32, N x D) covering every id of both lists (see sample_submission.npz).
Scored by the accuracy of a 5-NN (cosine) and a logistic-regression probe fitted on the train ids.
""",
    )
    baseline = _embeddings_npz(out_dir / "baseline.npz", ids, np.stack(emb))
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=[s for s, _ in rows["test"]],
        baseline_path=baseline,
        baseline_name="Band-means embedding",
    )
