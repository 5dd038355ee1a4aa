"""Semantic segmentation demo data from the shared synthetic scene.

Terrain classes (and optionally object categories such as vehicles or trees) are
mapped onto the benchmark's ``classes``; unmapped terrain goes to class 0.

Params: ``classes`` (required), ``class_map`` ({terrain or object category: class
name}; default: match by name/synonym), ``bands`` (3 → RGB PNG; more → float32 TIFF
reflectance), ``test_bands`` (a different sensor at test time, cross-sensor track),
``size`` (128), ``n_train`` (8), ``n_test`` (8), ``modalities`` (extra inputs:
``dsm`` normalised heights, ``sar`` two-band VV/VH backscatter; float32 TIFFs),
``labelled_fraction`` (1.0; semi-supervised tracks release masks for a share of
the training images only), ``ignore_index`` (255).

Public: ``train/images/<id>``, ``train/masks/<id>.png``, ``train/<modality>/<id>.tif``,
``test/images/<id>``, ``test/<modality>/<id>.tif``, ``sample_submission.zip``,
``README.txt``. Hidden: ``truth/<id>.png``. Baseline: a per-pixel nearest-mean
classifier on band values (and modalities) fitted on the training pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData, stable_seed
from benchmarks.generators.scene.geometry import window_mask
from benchmarks.generators.scene.make import make_scene
from benchmarks.generators.scene.model import OBJECT_CATEGORIES, TERRAIN, Scene
from benchmarks.writers import write_png, write_readme, write_tiff, zip_folder

# Benchmark class names that mean a terrain class (lower case, matched by substring).
_SYNONYMS = {
    "background": ("background", "other", "unlabel", "clutter", "no-data"),
    "building": ("building", "residential", "roof", "urban", "built"),
    "road": ("road", "impervious", "street", "pavement", "transport"),
    "water": ("water", "river", "sea", "lake"),
    "forest": ("forest", "wood", "tree", "high vegetation"),
    "farmland": ("farm", "crop", "agric", "low vegetation", "grass", "meadow"),
    "bare": ("bare", "soil", "barren", "sand"),
}


def class_lookup(classes: list[str], class_map: dict | None) -> dict[str, int]:
    """{terrain or object category: benchmark class index}."""
    out: dict[str, int] = {}
    if class_map:
        for src, dst in class_map.items():
            out[src] = dst if isinstance(dst, int) else classes.index(dst)
        for t in TERRAIN:
            out.setdefault(t, 0)
        return out
    lowered = [c.lower() for c in classes]
    for t in TERRAIN:
        out[t] = 0
        for ci, c in enumerate(lowered):
            if c == t or any(s in c for s in _SYNONYMS[t]):
                out[t] = ci
                break
    return out


def label_image(scene: Scene, lookup: dict[str, int]) -> np.ndarray:
    lut = np.array([lookup[t] for t in TERRAIN], dtype=np.uint8)
    label = lut[scene.label_map]
    for o in scene.objects:  # objects with their own class are painted over terrain
        if o.category in lookup and o.category != "building":
            window = window_mask(o.polygon, scene.size)
            if window is not None:
                label[window[0]][window[1]] = lookup[o.category]
    return label


def sar_image(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 2) float32 VV/VH backscatter in dB-like units with speckle."""
    base_vv = np.array([-10, -3, -12, -22, -8, -11, -13], float)
    base_vh = np.array([-17, -9, -20, -28, -13, -17, -21], float)
    vv = base_vv[scene.label_map]
    vh = base_vh[scene.label_map]
    speckle = rng.gamma(4.0, 0.25, (2,) + vv.shape)  # 4-look multiplicative speckle
    out = np.stack(
        [vv + 10 * np.log10(speckle[0]), vh + 10 * np.log10(speckle[1])], axis=-1
    )
    return out.astype(np.float32)


def _features(img: np.ndarray, extras: list[np.ndarray]) -> np.ndarray:
    feats = [img.astype(np.float32).reshape(img.shape[0], img.shape[1], -1)]
    feats += [e.reshape(e.shape[0], e.shape[1], -1) for e in extras]
    f = np.concatenate(feats, axis=-1)
    return f.reshape(-1, f.shape[-1])


def _write_sample(
    folder: Path, sid: str, scene: Scene, bands: int, modalities, rng
) -> list[np.ndarray]:
    img = scene.render(bands, rng)
    if img.dtype == np.uint8:
        write_png(folder / "images" / f"{sid}.png", img)
    else:
        write_tiff(folder / "images" / f"{sid}.tif", img)
    extras = []
    for m in modalities:
        arr = scene.heights(rng) if m == "dsm" else sar_image(scene, rng)
        write_tiff(folder / m / f"{sid}.tif", arr)
        extras.append(arr)
    return [img, *extras]


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    classes = [str(c) for c in params["classes"]]
    lookup = class_lookup(classes, params.get("class_map"))
    bands = int(params.get("bands", 3))
    test_bands = int(params.get("test_bands", bands))
    size = int(params.get("size", 128))
    n_train, n_test = int(params.get("n_train", 8)), int(params.get("n_test", 8))
    modalities = [str(m) for m in params.get("modalities", [])]
    unknown = set(modalities) - {"dsm", "sar"}
    if unknown:
        raise ValueError(
            f"segmentation generator: unknown modalities {sorted(unknown)}"
        )
    labelled = float(params.get("labelled_fraction", 1.0))
    public, private = out_dir / "public", out_dir / "private"

    rng = np.random.default_rng(stable_seed(seed, "segmentation"))
    n_labelled = max(1, int(round(labelled * n_train)))
    fit_x, fit_y = [], []
    for k in range(n_train):
        scene = make_scene(rng, size)
        sid = f"train_{k:04d}"
        is_labelled = k < n_labelled
        folder = public / ("train" if is_labelled else "train_unlabelled")
        arrays = _write_sample(folder, sid, scene, bands, modalities, rng)
        if is_labelled:
            label = label_image(scene, lookup)
            write_png(folder / "masks" / f"{sid}.png", label)
            # Subsample pixels for the baseline fit (keeps it fast on large tiles).
            pick = rng.choice(size * size, size=min(size * size, 4096), replace=False)
            fit_x.append(_features(arrays[0], arrays[1:])[pick])
            fit_y.append(label.ravel()[pick])

    test_x, ids = [], []
    for k in range(n_test):
        scene = make_scene(rng, size)
        sid = f"test_{k:04d}"
        arrays = _write_sample(public / "test", sid, scene, test_bands, modalities, rng)
        write_png(private / "truth" / f"{sid}.png", label_image(scene, lookup))
        write_png(out_dir / "sample" / f"{sid}.png", np.zeros((size, size), np.uint8))
        test_x.append(_features(arrays[0], arrays[1:]))
        ids.append(sid)
    zip_folder(out_dir / "sample", public / "sample_submission.zip")

    baseline = _nearest_mean_baseline(
        np.concatenate(fit_x), np.concatenate(fit_y), test_x, bands, test_bands
    )
    pred_dir = out_dir / "baseline"
    for sid, pred in zip(ids, baseline, strict=True):
        write_png(pred_dir / f"{sid}.png", pred.reshape(size, size).astype(np.uint8))
    zip_folder(pred_dir, out_dir / "baseline.zip")
    write_readme(
        public, _readme(classes, bands, test_bands, modalities, labelled < 1.0)
    )
    return DemoData(
        public_dir=public,
        truth_path=private / "truth",
        sample_ids=ids,
        baseline_path=out_dir / "baseline.zip",
        baseline_name="Per-pixel nearest class mean",
    )


def _nearest_mean_baseline(x, y, test_x, bands, test_bands) -> list[np.ndarray]:
    classes = np.unique(y)
    means = np.stack([x[y == c].mean(axis=0) for c in classes])
    scale = (
        x.std(axis=0) + 1e-6
    )  # features have different units (reflectance, metres, dB)
    out = []
    for tx in test_x:
        if test_bands != bands:
            # Cross-sensor: resample each test spectrum onto the training band grid.
            spec, rest = tx[:, :test_bands], tx[:, test_bands:]
            src, dst = np.linspace(0, 1, test_bands), np.linspace(0, 1, bands)
            weights = np.stack(
                [np.interp(dst, src, e) for e in np.eye(test_bands)]
            )  # linear
            spec = spec @ weights
            tx = np.concatenate([spec, rest], axis=1)
        d = (((tx[:, None, :] - means[None]) / scale) ** 2).sum(-1)
        out.append(classes[d.argmin(axis=1)])
    return out


def _readme(classes, bands, test_bands, modalities, semi) -> str:
    img = (
        "RGB PNG (uint8)"
        if bands == 3
        else f"{bands}-band float32 TIFF (reflectance, H×W×bands)"
    )
    lines = [
        "Synthetic demo data for a semantic segmentation benchmark.",
        f"train/images/<id>: {img}; train/masks/<id>.png: class index per pixel.",
        "Classes (index: name): "
        + ", ".join(f"{i}: {c}" for i, c in enumerate(classes)),
    ]
    if semi:
        lines.append(
            "train_unlabelled/images/<id>: training images released without masks."
        )
    if test_bands != bands:
        lines.append(
            f"test/images/<id>: another sensor with {test_bands} bands over the same range."
        )
    else:
        lines.append("test/images/<id>: test images, same format as train.")
    for m in modalities:
        what = (
            "normalised surface height in metres"
            if m == "dsm"
            else "VV, VH backscatter (dB)"
        )
        lines.append(
            f"{{train,test}}/{m}/<id>.tif: float32 {what}, aligned with the image."
        )
    lines.append(
        "Submit a ZIP of single-band PNG masks <id>.png (values = class index), one per test "
        "image, same size as the image; sample_submission.zip has the layout."
    )
    return "\n".join(lines)


__all__ = ["generate", "class_lookup", "label_image", "OBJECT_CATEGORIES"]
