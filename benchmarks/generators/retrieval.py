"""Image-text retrieval demo data from synthetic scenes.

``variant: pairs`` (RSICD / RSITMD-like, default): each test image has ``captions``
(5) captions; truth ``truth.json`` = ``{caption_id: image_id}``; the evaluator's
samples are the test images. ``variant: change`` (LEVIR-CC retrieval): the items are
before/after pairs and the texts change captions. ``variant: graded`` (text -> SAR /
multispectral, CrisisLandMark-like): one text query per query scene, a gallery of
images in ``modality`` (``sar`` | ``multispectral`` | ``optical``), and graded TREC
qrels ``truth.qrels``: 3 = the scene the text was written from, 2 / 1 = gallery
scenes with the same setting and a similar terrain mix (cosine of terrain
fractions >= 0.97 / 0.9); the samples are the queries with a relevant item.

Public: ``train/`` images + ``train_captions.csv`` (caption_id,image_id,caption) to
learn from, ``test/`` images (``test/A``, ``test/B`` for change pairs) or
``gallery/``, ``test_captions.csv`` / ``queries.csv`` (caption_id|query_id,caption)
and ``sample_submission.zip`` (similarity.npy + id lists, the layout the retrieval
kind reads). Baseline: ridge regression from hand-made image features (colour /
band histograms) to the bag-of-words of the captions, fitted on the training pairs;
similarity = cosine between the predicted and the real bag of words.

Params: ``variant``, ``size`` (64), ``n_train`` (30), ``n_test`` (24),
``captions`` (5), ``modality`` (graded: ``sar``), ``bands`` (13, multispectral).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData
from benchmarks.generators.captioning import _near_terrain, _same_scene
from benchmarks.generators.scene.make import change_scene, make_scene
from benchmarks.generators.scene.model import TERRAIN
from benchmarks.generators.text import (
    apply_map,
    bag_of_words,
    band_features,
    change_captions,
    cosine_matrix,
    modality_range,
    render_as,
    ridge_map,
    scene_captions,
    tokens,
)
from benchmarks.writers import (
    npy_bytes,
    write_csv,
    write_json,
    write_png,
    write_readme,
    write_zip,
)


def _save(path_stem: Path, img: np.ndarray) -> None:
    if img.dtype == np.uint8:
        write_png(path_stem.with_suffix(".png"), img)
    else:
        path_stem.parent.mkdir(parents=True, exist_ok=True)
        np.save(
            path_stem.with_suffix(".npy"), np.ascontiguousarray(img.transpose(2, 0, 1))
        )


def _matrix_zip(
    path: Path, sim: np.ndarray, rows: list[str], cols: list[str], names
) -> Path:
    return write_zip(
        path,
        {
            "similarity.npy": npy_bytes(sim.astype(np.float32)),
            names[0]: "\n".join(rows) + "\n",
            names[1]: "\n".join(cols) + "\n",
        },
    )


def _change_features(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Illumination-normalised absolute difference: mean and tail shares."""
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    d = np.abs(fa / fa.mean() - fb / fb.mean()).mean(-1)
    return np.array([d.mean(), (d > 0.2).mean(), (d > 0.4).mean(), (d > 0.6).mean()])


def _items(rng, variant, size, n, modality, bands, n_caps):
    """[(features, captions, scene, images)] for n scenes (pairs for change)."""
    out = []
    for _ in range(n):
        scene = make_scene(rng, size)
        if variant == "change":
            if rng.uniform() < 0.5:
                after, mask = _same_scene(scene, rng), np.zeros((size, size), bool)
            else:
                after, mask = change_scene(scene, rng)
            a, b = scene.render(rng=rng), after.render(rng=rng)
            feats = np.concatenate([_change_features(a, b), band_features(b)])
            caps = change_captions(
                scene.counts(), after.counts(), _near_terrain(scene, mask), rng, n_caps
            )
            out.append((feats, caps, scene, (a, b)))
        else:
            img = render_as(scene, modality, rng, bands)
            out.append(
                (
                    band_features(img, value_range=modality_range(modality)),
                    scene_captions(scene, rng, n_caps),
                    scene,
                    (img,),
                )
            )
    return out


def _write_images(folder: Path, ids: list[str], items, variant) -> None:
    for sid, (_, _, _, imgs) in zip(ids, items, strict=True):
        if variant == "change":
            _save(folder / "A" / sid, imgs[0])
            _save(folder / "B" / sid, imgs[1])
        else:
            _save(folder / sid, imgs[0])


def _baseline_model(train):
    caps = [c for _, cs, _, _ in train for c in cs]
    vocab = sorted({w for c in caps for w in tokens(c)})
    x = np.stack([f for f, cs, _, _ in train for _ in cs])
    W = ridge_map(x, bag_of_words(caps, vocab), alpha=5.0)
    return vocab, W


def _relevance(qs, gs) -> np.ndarray:
    """Graded relevance (n_q, n_g) from terrain mixes and setting."""

    def frac(s):
        return np.array([s.fractions()[t] for t in TERRAIN])

    fq, fg = np.stack([frac(s) for s in qs]), np.stack([frac(s) for s in gs])
    cos = cosine_matrix(fq, fg)
    same = np.array([[a.is_urban == b.is_urban for b in gs] for a in qs])
    rel = np.where(same & (cos >= 0.97), 2, np.where(same & (cos >= 0.9), 1, 0))
    return rel


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    variant = params.get("variant", "pairs")
    size = int(params.get("size", 64))
    n_train, n_test = int(params.get("n_train", 30)), int(params.get("n_test", 24))
    n_caps = int(params.get("captions", 5 if variant != "graded" else 1))
    modality = params.get("modality", "sar" if variant == "graded" else "optical")
    bands = int(params.get("bands", 13))
    public, private = out_dir / "public", out_dir / "private"

    train = _items(rng, variant, size, n_train, modality, bands, n_caps)
    train_ids = [f"train_{k:04d}" for k in range(n_train)]
    _write_images(public / "train", train_ids, train, variant)
    write_csv(
        public / "train_captions.csv",
        ["caption_id", "image_id", "caption"],
        [
            [f"{sid}_c{j}", sid, c]
            for sid, (_, cs, _, _) in zip(train_ids, train, strict=True)
            for j, c in enumerate(cs)
        ],
    )
    vocab, W = _baseline_model(train)
    test = _items(
        rng, variant, size, n_test, modality, bands, 5 if variant != "graded" else 1
    )
    test_ids = [f"test_{k:04d}" for k in range(n_test)]
    img_pred = apply_map(np.stack([f for f, _, _, _ in test]), W)

    if variant == "graded":
        # The gallery is shuffled; query k was written from gallery item perm[k].
        perm = rng.permutation(n_test)
        g_ids = [f"g{k:04d}" for k in range(n_test)]
        gallery = [None] * n_test
        for k, p in enumerate(perm):
            gallery[p] = test[k]
        _write_images(public / "gallery", g_ids, gallery, variant)
        q_ids = [f"q{k:04d}" for k in range(n_test)]
        queries = [test[k][1][0] for k in range(n_test)]
        write_csv(
            public / "queries.csv",
            ["query_id", "caption"],
            zip(q_ids, queries, strict=True),
        )
        rel = _relevance([t[2] for t in test], [g[2] for g in gallery])
        rel[np.arange(n_test), perm] = 3
        lines = [
            f"{q_ids[i]} 0 {g_ids[j]} {rel[i, j]}"
            for i in range(n_test)
            for j in np.flatnonzero(rel[i])
        ]
        truth = private / "truth.qrels"
        truth.parent.mkdir(parents=True, exist_ok=True)
        truth.write_text("\n".join(lines) + "\n")
        g_pred = np.empty_like(img_pred)
        g_pred[perm] = img_pred
        sim = cosine_matrix(bag_of_words(queries, vocab), g_pred)
        names = ("query_ids.txt", "gallery_ids.txt")
        base = _matrix_zip(out_dir / "baseline.zip", sim, q_ids, g_ids, names)
        _matrix_zip(
            public / "sample_submission.zip", np.zeros_like(sim), q_ids, g_ids, names
        )
        sample_ids, what = (
            q_ids,
            f"text queries -> {modality} gallery/ (graded nDCG@10)",
        )
    else:
        order = rng.permutation(n_test * 5)
        caps = [
            (f"{test_ids[k]}_c{j}", test_ids[k], c)
            for k, (_, cs, _, _) in enumerate(test)
            for j, c in enumerate(cs)
        ]
        caps = [caps[i] for i in order]
        cap_ids = [f"cap_{k:05d}" for k in range(len(caps))]
        _write_images(public / "test", test_ids, test, variant)
        write_csv(
            public / "test_captions.csv",
            ["caption_id", "caption"],
            [(cid, c) for cid, (_, _, c) in zip(cap_ids, caps, strict=True)],
        )
        truth = write_json(
            private / "truth.json",
            {cid: img for cid, (_, img, _) in zip(cap_ids, caps, strict=True)},
        )
        sim = cosine_matrix(img_pred, bag_of_words([c for _, _, c in caps], vocab))
        names = ("image_ids.txt", "caption_ids.txt")
        base = _matrix_zip(out_dir / "baseline.zip", sim, test_ids, cap_ids, names)
        _matrix_zip(
            public / "sample_submission.zip",
            np.zeros_like(sim),
            test_ids,
            cap_ids,
            names,
        )
        sample_ids, what = (
            test_ids,
            "test images <-> test captions (R@1/5/10 both ways, mR)",
        )
    write_readme(
        public,
        f"""
Retrieval demo ({what}); generated scenes.
train/ + train_captions.csv: training items and their captions.
Submit a ZIP like sample_submission.zip: similarity.npy (float32, rows x columns, higher =
more similar) with {names[0]} (row ids) and {names[1]} (column ids), one id per line.
Images: PNG (optical) or .npy arrays (bands, H, W). Change pairs: A/ before, B/ after.
""",
    )
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=sample_ids,
        baseline_path=base,
        baseline_name="Ridge map: image histograms -> caption bag-of-words",
    )
