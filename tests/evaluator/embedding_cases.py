"""Synthetic embedding-probe cases and the direct scikit-learn reference shared
by the embedding-probe tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def make_case(seed: int, n: int = 120, d: int = 16, n_classes: int = 4):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    centres = rng.normal(size=(n_classes, d))
    emb = (centres[labels] + rng.normal(scale=1.5, size=(n, d))).astype(np.float32)
    ids = [f"img_{i:04d}" for i in range(n)]
    names = [f"class_{k}" for k in labels]
    is_train = rng.random(n) < 0.6
    return ids, emb, names, is_train


def write_truth(root: Path, ids, names, is_train, blocks=None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split, flag in (("train", True), ("test", False)):
        rows = [
            (i, sid, lab)
            for i, (sid, lab, t) in enumerate(zip(ids, names, is_train, strict=True))
            if t == flag
        ]
        head = "id,label" + (",block" if blocks and split == "test" else "")
        body = [
            f"{sid},{lab}" + (f",{blocks[i]}" if blocks and split == "test" else "")
            for i, sid, lab in rows
        ]
        (root / f"{split}.csv").write_text("\n".join([head, *body]) + "\n")
    return root


def write_npz(path: Path, ids, emb, **extra) -> Path:
    np.savez(path, ids=np.asarray(ids), embeddings=emb, **extra)
    return path


def reference(emb, names, is_train, knn_k=5, seed=0):
    """The probes fitted directly with scikit-learn (float64, as documented)."""
    x = emb.astype(np.float64)
    y = np.asarray(names)
    tr, te = is_train, ~is_train
    knn = KNeighborsClassifier(n_neighbors=knn_k, metric="cosine").fit(x[tr], y[tr])
    lin = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)
    ).fit(x[tr], y[tr])
    return {
        "knn_oa": float((knn.predict(x[te]) == y[te]).mean()),
        "linear_oa": float((lin.predict(x[te]) == y[te]).mean()),
    }
