"""Multi-label scene demo data (BigEarthNet / reBEN / M3LEO-like).

A scene's labels are the terrain classes covering at least ``min_fraction`` (10%) of
it (``background`` excluded) plus the object categories present in it
(``building`` counts once). Images are multispectral ``.npy`` arrays
(bands, H, W); with ``modality: sar+multispectral`` two SAR bands (VV, VH in dB)
come first, followed by the optical bands.

Public: ``train/<id>.npy`` + ``train.csv`` (id, one 0/1 column per class),
``test/<id>.npy``, ``sample_submission.csv`` (id + one score column per class).
Hidden: ``truth.csv`` (id + 0/1 columns). Baseline: one logistic regression per
class on per-band means (scikit-learn), scores = its
probabilities.

Params: ``size`` (48), ``bands`` (12), ``n_train`` (50), ``n_test`` (40),
``min_fraction`` (0.1), ``modality`` (multispectral).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from benchmarks.generators import DemoData
from benchmarks.generators.scene.make import make_scene
from benchmarks.generators.scene.model import OBJECT_CATEGORIES, TERRAIN
from benchmarks.generators.text import render_sar
from benchmarks.writers import write_csv, write_readme

CLASSES = [t for t in TERRAIN if t != "background"] + [
    c for c in OBJECT_CATEGORIES if c != "building"
]


def _labels(scene, min_fraction: float) -> np.ndarray:
    fr, counts = scene.fractions(), scene.counts()
    on = {t for t in TERRAIN if t != "background" and fr[t] >= min_fraction}
    on |= {c for c, n in counts.items() if n > 0}
    return np.array([c in on for c in CLASSES], dtype=np.int64)


def _image(scene, rng, bands: int, modality: str) -> np.ndarray:
    ms = scene.render(bands=bands, rng=rng)
    if modality == "sar+multispectral":
        ms = np.concatenate([render_sar(scene, rng), ms], axis=-1)
    return np.ascontiguousarray(ms.transpose(2, 0, 1)).astype(np.float32)


def _features(img: np.ndarray) -> np.ndarray:
    return img.mean(axis=(1, 2))


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    size, bands = int(params.get("size", 48)), int(params.get("bands", 12))
    n_train, n_test = int(params.get("n_train", 50)), int(params.get("n_test", 40))
    min_fraction = float(params.get("min_fraction", 0.1))
    modality = params.get("modality", "multispectral")
    public, private = out_dir / "public", out_dir / "private"
    data: dict[str, tuple[list, list, list]] = {}
    for split, n in (("train", n_train), ("test", n_test)):
        ids, ys, xs = [], [], []
        (public / split).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            scene = make_scene(rng, size)
            img = _image(scene, rng, bands, modality)
            sid = f"{split}_{k:05d}"
            np.save(public / split / f"{sid}.npy", img)
            ids.append(sid)
            ys.append(_labels(scene, min_fraction))
            xs.append(_features(img))
        data[split] = (ids, ys, xs)
    header = ["id", *CLASSES]
    tr_ids, tr_y, tr_x = data["train"]
    te_ids, te_y, te_x = data["test"]
    write_csv(
        public / "train.csv",
        header,
        [[s, *y] for s, y in zip(tr_ids, tr_y, strict=True)],
    )
    write_csv(
        public / "sample_submission.csv",
        header,
        [[s] + ["0.5"] * len(CLASSES) for s in te_ids],
    )
    truth = write_csv(
        private / "truth.csv",
        header,
        [[s, *y] for s, y in zip(te_ids, te_y, strict=True)],
    )
    write_readme(
        public,
        f"""
Multi-label scene classification (generated demo data). train/, test/: float32 .npy arrays
(bands, H, W){"; bands 0-1 are SAR VV/VH in dB, the rest optical reflectance" if modality != "multispectral" else ", optical reflectance"}.
train.csv: id + one 0/1 column per class ({", ".join(CLASSES)}).
Submit CSV id,<class>... with a score in [0, 1] per class (see sample_submission.csv).
Scored by macro mAP (also micro mAP, F1 at 0.5).
""",
    )
    # Baseline: per-class logistic regression on band statistics.
    X, Y, Xt = np.asarray(tr_x), np.asarray(tr_y), np.asarray(te_x)
    mu, sd = X.mean(0), X.std(0) + 1e-9
    scores = np.full((len(Xt), len(CLASSES)), 0.0)
    for c in range(len(CLASSES)):
        if Y[:, c].min() == Y[:, c].max():  # one-valued class: its prevalence
            scores[:, c] = Y[0, c]
            continue
        clf = LogisticRegression(C=0.1, max_iter=500).fit((X - mu) / sd, Y[:, c])
        scores[:, c] = clf.predict_proba((Xt - mu) / sd)[:, 1]
    baseline = write_csv(
        out_dir / "baseline.csv",
        header,
        [
            [s, *(f"{v:.5f}" for v in row)]
            for s, row in zip(te_ids, scores, strict=True)
        ],
    )
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=te_ids,
        baseline_path=baseline,
        baseline_name="Per-class logistic regression on band means",
    )
