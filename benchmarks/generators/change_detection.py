"""Change detection demo data: two dates of the shared synthetic scene.

The second date (:func:`~benchmarks.generators.scene.make.change_scene`) has new
buildings on farmland/bare soil, demolished buildings (now bare soil) and sometimes
a new road, plus different illumination and noise; the change is exactly where the
terrain label differs.

Params: ``variant`` (``binary`` | ``conditional`` | ``referring``), ``size`` (128),
``n_train`` (4), ``n_test`` (8), ``bands`` (3).

- binary (LEVIR-CD layout): public ``train/{A,B,label}/<id>.png`` (label 0/255),
  ``test/{A,B}/<id>.png``; truth ``<id>.png`` with 0 = no change, 1 = change.
- conditional (MapFormer): adds ``pre_map/<id>.png`` (pre-change terrain class
  index, :data:`TERRAIN`); truth/label 0 = no change, k = changed into terrain class
  k − 1 (option ``classes`` = ``["no change", *TERRAIN]``).
- referring: ``prompts.csv`` (id, pair, prompt) with one row per (pair, prompt) for
  every prompt in :data:`PROMPTS`; truth one mask per id: 0 = no change, k = the
  prompt's class index in :data:`REFERRING_CLASSES`.

Baseline: per-pixel colour difference after matching band means, box-smoothed, with the threshold that
maximises F1 on the training pairs; conditional/referring assign the post-change
class by the nearest class colour mean (fitted on the training B images).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData, stable_seed
from benchmarks.generators.scene.make import change_scene, make_scene
from benchmarks.generators.scene.model import BARE, BUILDING, ROAD, TERRAIN
from benchmarks.writers import write_csv, write_png, write_readme, zip_folder

CONDITIONAL_CLASSES = ["no change", *TERRAIN]
# Referring prompts: text → (class name, terrain class the pixel changed into).
PROMPTS = {
    "new buildings": ("building", BUILDING),
    "demolished buildings": ("demolished", BARE),
    "new roads": ("road", ROAD),
}
REFERRING_CLASSES = ["no change", "building", "demolished", "road"]


def _box_mean(x: np.ndarray, r: int = 1) -> np.ndarray:
    """Mean over a (2r+1)² window (edge padded), via cumulative sums."""
    p = np.pad(x, r, mode="edge").cumsum(0).cumsum(1)
    p = np.pad(p, ((1, 0), (1, 0)))
    k = 2 * r + 1
    return (p[k:, k:] - p[:-k, k:] - p[k:, :-k] + p[:-k, :-k]) / (k * k)


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute colour difference after matching each date's band means."""
    a = a.astype(np.float32) / (a.mean(axis=(0, 1)) + 1e-6)
    b = b.astype(np.float32) / (b.mean(axis=(0, 1)) + 1e-6)
    d = 100 * np.abs(a - b).mean(axis=-1)
    return _box_mean(d, 1)


def _best_threshold(diffs: list[np.ndarray], masks: list[np.ndarray]) -> float:
    d = np.concatenate([x.ravel() for x in diffs])
    m = np.concatenate([x.ravel() for x in masks])
    best, best_f1 = float(np.median(d)), -1.0
    for t in np.quantile(d, np.linspace(0.5, 0.995, 60)):
        pred = d > t
        tp = np.sum(pred & m)
        f1 = 2 * tp / max(pred.sum() + m.sum(), 1)
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    variant = str(params.get("variant", "binary"))
    if variant not in ("binary", "conditional", "referring"):
        raise ValueError(f"change-detection generator: unknown variant {variant!r}")
    size = int(params.get("size", 128))
    n_train, n_test = int(params.get("n_train", 4)), int(params.get("n_test", 8))
    public, private = out_dir / "public", out_dir / "private"
    rng = np.random.default_rng(stable_seed(seed, "change-detection", variant))

    def pair(split: str, k: int):
        before = make_scene(rng, size, urban=bool(rng.random() < 0.7))
        after, change = change_scene(before, rng)
        sid = f"{split}_{k:04d}"
        a, b = before.render(3), after.render(3)
        write_png(public / split / "A" / f"{sid}.png", a)
        write_png(public / split / "B" / f"{sid}.png", b)
        if variant == "conditional":
            write_png(public / split / "pre_map" / f"{sid}.png", before.label_map)
        return sid, before, after, change, a, b

    train = [pair("train", k) for k in range(n_train)]
    for sid, _, after, change, _, _ in train:
        write_png(
            public / "train" / "label" / f"{sid}.png",
            _encode(variant, change, after.label_map, 255),
        )
    threshold = _best_threshold(
        [_difference(a, b) for *_, a, b in train], [t[3] for t in train]
    )
    colour_means = _class_colours(
        [t[5] for t in train], [t[2].label_map for t in train]
    )

    test = [pair("test", k) for k in range(n_test)]
    ids, prompt_rows = [], []
    for sid, _, after, change, a, b in test:
        pred_change = _difference(a, b) > threshold
        pred_class = _nearest_class(b, colour_means)
        if variant == "referring":
            for p, (text, (_, terrain)) in enumerate(PROMPTS.items()):
                pid = f"{sid}_p{p}"
                value = REFERRING_CLASSES.index(PROMPTS[text][0])
                truth = np.where(
                    change & (after.label_map == terrain), value, 0
                ).astype(np.uint8)
                pred = np.where(pred_change & (pred_class == terrain), value, 0).astype(
                    np.uint8
                )
                _write_sample(out_dir, private, pid, truth, pred, size)
                prompt_rows.append((pid, sid, text))
                ids.append(pid)
        else:
            truth = _encode(variant, change, after.label_map, 1)
            pred = _encode(variant, pred_change, pred_class, 1)
            _write_sample(out_dir, private, sid, truth, pred, size)
            ids.append(sid)
    if variant == "referring":
        write_csv(
            public / "test" / "prompts.csv", ["id", "pair", "prompt"], prompt_rows
        )
        train_rows = [
            (f"{t[0]}_p{p}", t[0], text)
            for t in train
            for p, text in enumerate(PROMPTS)
        ]
        write_csv(
            public / "train" / "prompts.csv", ["id", "pair", "prompt"], train_rows
        )
    zip_folder(out_dir / "sample", public / "sample_submission.zip")
    zip_folder(out_dir / "baseline", out_dir / "baseline.zip")
    write_readme(public, _readme(variant))
    return DemoData(
        public_dir=public,
        truth_path=private / "truth",
        sample_ids=ids,
        baseline_path=out_dir / "baseline.zip",
        baseline_name="Thresholded image difference",
    )


def _encode(
    variant: str, change: np.ndarray, post_label: np.ndarray, change_value: int
) -> np.ndarray:
    """binary: 0/change_value; conditional: 0 or post-change terrain class + 1.
    (Referring training labels use the conditional encoding too: one map per pair.)"""
    if variant == "binary":
        return (change * change_value).astype(np.uint8)
    return np.where(change, post_label.astype(np.int16) + 1, 0).astype(np.uint8)


def _write_sample(
    out_dir: Path, private: Path, sid: str, truth, pred, size: int
) -> None:
    write_png(private / "truth" / f"{sid}.png", truth)
    write_png(out_dir / "baseline" / f"{sid}.png", pred)
    write_png(out_dir / "sample" / f"{sid}.png", np.zeros((size, size), np.uint8))


def _class_colours(images: list[np.ndarray], labels: list[np.ndarray]) -> np.ndarray:
    x = np.concatenate([i.reshape(-1, 3) for i in images]).astype(np.float32)
    y = np.concatenate([lab.ravel() for lab in labels])
    means = np.full((len(TERRAIN), 3), np.inf, dtype=np.float32)
    for c in np.unique(y):
        means[c] = x[y == c].mean(axis=0)
    return means


def _nearest_class(img: np.ndarray, means: np.ndarray) -> np.ndarray:
    d = ((img.astype(np.float32)[:, :, None, :] - means[None, None]) ** 2).sum(-1)
    return np.nan_to_num(d, nan=np.inf, posinf=np.inf).argmin(-1).astype(np.uint8)


def _readme(variant: str) -> str:
    lines = [
        "Synthetic demo data for a bi-temporal change detection benchmark.",
        "{train,test}/A/<id>.png and {train,test}/B/<id>.png: the two dates (RGB).",
    ]
    if variant == "binary":
        lines.append(
            "train/label/<id>.png: 255 = changed, 0 = unchanged (LEVIR-CD style)."
        )
        lines.append(
            "Submit a ZIP of <id>.png masks: 0 = no change, 1 (or 255) = change."
        )
    elif variant == "conditional":
        lines.append(
            "{train,test}/pre_map/<id>.png: pre-change map, class index: "
            + ", ".join(f"{i}: {c}" for i, c in enumerate(TERRAIN))
        )
        lines.append(
            "train/label/<id>.png: 0 = no change, k = changed into map class k - 1; 255 never used."
        )
        lines.append(
            "Submit a ZIP of <id>.png masks in the same encoding as train/label."
        )
    else:
        lines.append(
            "{train,test}/prompts.csv: id,pair,prompt - one row per (pair, text prompt)."
        )
        lines.append(
            "train/label/<pair>.png: 0 = no change, k = changed into map class k - 1 ("
            + ", ".join(f"{i + 1}: {c}" for i, c in enumerate(TERRAIN))
            + ")."
        )
        lines.append(
            "Submit a ZIP of <prompt id>.png masks: 0 = no change, k = the prompt's class ("
            + ", ".join(f"{i}: {c}" for i, c in enumerate(REFERRING_CLASSES) if i)
            + ") where the prompted change happened."
        )
    lines.append("sample_submission.zip has the layout.")
    return "\n".join(lines)
