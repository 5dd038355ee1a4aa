"""Image and change captioning demo data from synthetic scenes.

``variant: caption`` (RSICD-like): each scene gets ``refs`` (5) reference captions
with varied phrasing (urban / rural setting, dominant terrain, object counts).
Public: ``train/<id>.png`` + ``captions_train.json`` (RSICD ``dataset_rsicd.json``
layout, split ``train``), ``test/<id>.png``, ``sample_submission.json`` (COCO
results). Hidden: ``truth.json`` in the same RSICD layout with the test images
(split ``test``). Baseline: a template caption "this is a(n) <setting> area with
<terrain>." whose setting and terrain come from colour statistics matched to the
training images (nearest class centroid of mean colour features).

``variant: change`` (LEVIR-CC-like): pairs ``A/<id>.png`` (before) and
``B/<id>.png`` (after) made with ``scene.change_scene``; half the pairs (option
``unchanged_fraction``) are re-renderings of the same scene with "no change"
captions. Truth: ``LevirCCcaptions.json`` layout (``filepath``, ``filename``,
``split``, ``sentences``). Baseline: "there is no difference." when the mean
absolute A/B difference is below a threshold fitted on the training pairs, else
"some buildings are built.".

Params: ``variant`` (caption), ``size`` (64), ``n_train`` (20), ``n_test`` (30),
``refs`` (5), ``unchanged_fraction`` (0.5, change only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from benchmarks.generators import DemoData
from benchmarks.generators.scene.make import change_scene, make_scene
from benchmarks.generators.scene.model import TERRAIN, Scene
from benchmarks.generators.text import (
    TERRAIN_WORDS,
    change_captions,
    ranked_terrain,
    scene_captions,
    tokens,
)
from benchmarks.writers import write_json, write_png, write_readme


def _entry(
    k: int, filename: str, split: str, sents: list[str], filepath: str | None
) -> dict:
    e = {"filename": filename, "imgid": k, "split": split}
    if filepath is not None:
        e["filepath"] = filepath
    e["sentences"] = [
        {"raw": s, "tokens": tokens(s), "imgid": k, "sentid": 10 * k + n}
        for n, s in enumerate(sents)
    ]
    e["sentids"] = [10 * k + n for n in range(len(sents))]
    return e


def _dominant(scene: Scene) -> str:
    order = [t for t in ranked_terrain(scene.fractions(), 0.03) if t != "background"]
    return order[0] if order else "background"


def _colour_features(img: np.ndarray) -> np.ndarray:
    """Mean RGB, RGB std, and shares of bright-grey / blue / green pixels."""
    x = img.reshape(-1, 3).astype(np.float64) / 255.0
    r, g, b = x.T
    grey = (np.abs(r - g) < 0.06) & (np.abs(g - b) < 0.06) & (r > 0.55)
    blue = (b > r + 0.1) & (b > g)
    green = (g > r + 0.05) & (g > b + 0.05)
    return np.concatenate(
        [x.mean(0), x.std(0), [grey.mean(), blue.mean(), green.mean()]]
    )


def _nearest_centroid(train_x, train_y, test_x) -> list:
    labels = sorted(set(train_y))
    tx, ty = np.asarray(train_x), np.asarray(train_y)
    mu, sd = tx.mean(0), tx.std(0) + 1e-9
    cents = np.stack([((tx[ty == c] - mu) / sd).mean(0) for c in labels])
    d = ((((np.asarray(test_x) - mu) / sd)[:, None] - cents[None]) ** 2).sum(-1)
    return [labels[i] for i in d.argmin(1)]


def _caption_variant(rng, public, size, n_train, n_test, n_refs):
    train, test, feats = [], [], {}
    for split, n in (("train", n_train), ("test", n_test)):
        for k in range(n):
            scene = make_scene(rng, size)
            img = scene.render()
            name = f"{split}_{k:04d}.png"
            write_png(public / split / name, img)
            caps = scene_captions(scene, rng, n_refs)
            (train if split == "train" else test).append((name, caps, scene))
            feats[name] = _colour_features(img)
    entries = [_entry(k, n, "train", c, None) for k, (n, c, _) in enumerate(train)]
    write_json(public / "captions_train.json", {"images": entries, "dataset": "demo"})
    truth = {
        "images": [
            _entry(n_train + k, n, "test", c, None) for k, (n, c, _) in enumerate(test)
        ],
        "dataset": "demo",
    }
    # Baseline: terrain word and setting from colour statistics.
    tx = [feats[n] for n, _, _ in train]
    terr = _nearest_centroid(
        tx, [_dominant(s) for _, _, s in train], [feats[n] for n, _, _ in test]
    )
    urb = _nearest_centroid(
        tx, [s.is_urban for _, _, s in train], [feats[n] for n, _, _ in test]
    )
    base = []
    for (n, _, _), t, u in zip(test, terr, urb, strict=True):
        setting = "an urban" if u else "a rural"
        base.append(
            {
                "image_id": n[:-4],
                "caption": f"this is {setting} area with {TERRAIN_WORDS[t]}.",
            }
        )
    return truth, base, [n for n, _, _ in test]


def _same_scene(scene: Scene, rng) -> Scene:
    """A second date without change: same content, new noise and illumination."""
    return Scene(
        size=scene.size,
        label_map=scene.label_map.copy(),
        objects=list(scene.objects),
        relations=list(scene.relations),
        is_urban=scene.is_urban,
        seed=int(rng.integers(2**31)),
        illumination=float(rng.uniform(0.85, 1.15)),
        _texture=scene.texture(),
    )


def _near_terrain(before: Scene, change: np.ndarray) -> str | None:
    """Terrain next to the changed area ('road' when a road is close)."""
    if not change.any():
        return None
    ring = ndimage.binary_dilation(change, iterations=6) & ~change
    lab = before.label_map[ring]
    if (lab == TERRAIN.index("road")).any():
        return "road"
    hist = np.bincount(lab, minlength=len(TERRAIN))
    hist[TERRAIN.index("building")] = 0
    return TERRAIN[int(hist.argmax())] if hist.any() else None


def _change_variant(rng, public, size, n_train, n_test, n_refs, unchanged):
    rows, diffs = {"train": [], "test": []}, {"train": [], "test": []}
    for split, n in (("train", n_train), ("test", n_test)):
        for k in range(n):
            before = make_scene(rng, size)
            if rng.uniform() < unchanged:
                after, mask = _same_scene(before, rng), np.zeros((size, size), bool)
            else:
                after, mask = change_scene(before, rng)
            a, b = before.render(), after.render()
            name = f"{split}_{k:04d}.png"
            write_png(public / split / "A" / name, a)
            write_png(public / split / "B" / name, b)
            caps = change_captions(
                before.counts(),
                after.counts(),
                _near_terrain(before, mask),
                rng,
                n_refs,
            )
            rows[split].append((name, caps, bool(mask.any())))
            diffs[split].append(float(np.abs(a.astype(float) - b.astype(float)).mean()))
    entries = [
        _entry(k, n, "train", c, "train") for k, (n, c, _) in enumerate(rows["train"])
    ]
    write_json(public / "captions_train.json", {"images": entries})
    truth = {
        "images": [
            _entry(n_train + k, n, "test", c, "test")
            for k, (n, c, _) in enumerate(rows["test"])
        ]
    }
    # Baseline threshold: midpoint between the mean differences of the two groups.
    d, changed = np.array(diffs["train"]), np.array([c for _, _, c in rows["train"]])
    thr = (
        (d[changed].mean() + d[~changed].mean()) / 2
        if changed.any() and (~changed).any()
        else d.mean()
    )
    base = [
        {
            "image_id": n[:-4],
            "caption": "some buildings are built."
            if dv > thr
            else "there is no difference.",
        }
        for (n, _, _), dv in zip(rows["test"], diffs["test"], strict=True)
    ]
    return truth, base, [n for n, _, _ in rows["test"]]


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    variant = params.get("variant", "caption")
    size = int(params.get("size", 64))
    n_train, n_test = int(params.get("n_train", 20)), int(params.get("n_test", 30))
    n_refs = int(params.get("refs", 5))
    public = out_dir / "public"
    if variant == "change":
        unchanged = float(params.get("unchanged_fraction", 0.5))
        truth, base, ids = _change_variant(
            rng, public, size, n_train, n_test, n_refs, unchanged
        )
        truth_path = write_json(out_dir / "private" / "LevirCCcaptions.json", truth)
        name = "Difference threshold: 'no change' or 'buildings are built'"
        layout = (
            "train/A, train/B (before / after) and test/A, test/B: PNG image pairs."
        )
    else:
        truth, base, ids = _caption_variant(rng, public, size, n_train, n_test, n_refs)
        truth_path = write_json(out_dir / "private" / "dataset_rsicd.json", truth)
        name = "Colour-statistics template caption"
        layout = "train/, test/: PNG images."
    sample_caption = (
        "there is no difference." if variant == "change" else "an area with buildings."
    )
    write_json(
        public / "sample_submission.json",
        [{"image_id": n[:-4], "caption": sample_caption} for n in ids],
    )
    write_readme(
        public,
        f"""
{"Change" if variant == "change" else "Image"} captioning (generated demo scenes).
{layout}
captions_train.json: reference captions of the training {"pairs" if variant == "change" else "images"}
(RSICD / LEVIR-CC layout: images[].filename, images[].sentences[].raw).
Submit a COCO results JSON list [{{"image_id": "<test file stem>", "caption": "..."}}] with one
caption per test {"pair" if variant == "change" else "image"} (see sample_submission.json).
Scored by CIDEr-D, BLEU-1..4, ROUGE-L{" and S*m" if variant == "change" else ""}.
""",
    )
    baseline = write_json(out_dir / "baseline.json", base)
    return DemoData(
        public_dir=public,
        truth_path=truth_path,
        sample_ids=ids,
        baseline_path=baseline,
        baseline_name=name,
    )
