"""Object detection demo data: oriented objects of the shared synthetic scene.

Params: ``box`` (``obb`` | ``hbb``), ``classes`` (object categories annotated, default
all of :data:`OBJECT_CATEGORIES`), ``class_map`` ({category: benchmark class name},
e.g. ``{"vehicle": "small-vehicle"}``; categories left out are not annotated),
``size`` (128), ``n_train`` (4), ``n_test`` (8), ``truth_format`` (``dota`` |
``coco``), ``difficult_area`` (12 px²: smaller objects are flagged difficult / crowd),
``modalities`` (``["sar"]`` adds a co-registered single-band SAR image per sample).

Public: ``{train,test}/images/<id>.png`` (+ ``{train,test}/sar/<id>.png``),
``train/labelTxt/<id>.txt`` (DOTA: ``x1 y1 … x4 y4 class difficult``),
``sample_submission.zip`` (DOTA Task1 files for ``obb``, Task2 for ``hbb``).
Hidden: DOTA ``labelTxt/`` folder or a COCO instances JSON (image ids 1…n,
``file_name`` = ``<id>.png``; 8-number segmentation = the oriented box).
Baseline: the ground truth with 25% of the objects dropped, the rest jittered
(position, size, angle), class swaps and false positives, with scores that rank
true boxes higher on average — a DOTA Task1/Task2 ZIP.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData, stable_seed
from benchmarks.generators.scene.geometry import rect_polygon
from benchmarks.generators.scene.make import make_scene
from benchmarks.generators.scene.model import OBJECT_CATEGORIES, SceneObject
from benchmarks.writers import write_png, write_readme, zip_folder


def class_names(params: dict) -> dict[str, str]:
    """{scene category: benchmark class name} of the annotated categories."""
    if params.get("class_map"):
        return {str(k): str(v) for k, v in params["class_map"].items()}
    return {c: c for c in params.get("classes", OBJECT_CATEGORIES)}


def jitter_polygon(
    poly: np.ndarray,
    rng: np.random.Generator,
    shift: float = 0.1,
    scale: float = 0.08,
    angle: float = 4.0,
) -> np.ndarray:
    """The rectangle ``poly`` moved (σ = shift × its short side), resized (log σ =
    scale) and turned (σ = angle degrees)."""
    o = SceneObject("x", poly)
    (cx, cy), (w, h) = o.center, o.size_wh
    dx, dy = rng.normal(0, shift * min(w, h), 2)
    sw, sh = np.exp(rng.normal(0, scale, 2))
    return rect_polygon(
        cx + dx, cy + dy, w * sw, h * sh, o.angle_deg + rng.normal(0, angle)
    )


def clip_polygon(poly: np.ndarray, size: int) -> np.ndarray:
    return np.clip(poly, 0, size)


def fmt(values) -> str:
    return " ".join(f"{v:.1f}" for v in np.asarray(values).ravel())


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    names = class_names(params)
    box = str(params.get("box", "obb"))
    size = int(params.get("size", 128))
    n_train, n_test = int(params.get("n_train", 4)), int(params.get("n_test", 8))
    truth_format = str(params.get("truth_format", "dota"))
    tiny = float(params.get("difficult_area", 12.0))
    modalities = [str(m) for m in params.get("modalities", [])]
    public, private = out_dir / "public", out_dir / "private"
    rng = np.random.default_rng(stable_seed(seed, "detection"))

    ids, coco_images, coco_anns = [], [], []
    detections: dict[str, list[str]] = {n: [] for n in sorted(set(names.values()))}
    for split, n in (("train", n_train), ("test", n_test)):
        for k in range(n):
            sid = f"{split}_{k:04d}"
            scene = make_scene(rng, size, urban=bool(rng.random() < 0.75))
            write_png(public / split / "images" / f"{sid}.png", scene.render(3))
            if "sar" in modalities:
                write_png(public / split / "sar" / f"{sid}.png", _sar(scene, rng))
            objs = [
                (names[o.category], o.polygon, int(o.area < tiny))
                for o in scene.objects
                if o.category in names
            ]
            lines = [f"{fmt(p)} {c} {d}" for c, p, d in objs]
            if split == "train":
                _write_lines(public / "train" / "labelTxt" / f"{sid}.txt", lines)
                continue
            ids.append(sid)
            _write_lines(private / "labelTxt" / f"{sid}.txt", lines)
            image_id = len(ids)
            coco_images.append(
                {
                    "id": image_id,
                    "file_name": f"{sid}.png",
                    "width": size,
                    "height": size,
                }
            )
            for c, p, d in objs:
                coco_anns.append(
                    _coco_ann(len(coco_anns) + 1, image_id, c, p, d, sorted(detections))
                )
            for c, p, score in _baseline(objs, rng, size, sorted(detections)):
                detections[c].append(f"{sid} {score:.4f} " + _pred_coords(p, box))
    prefix = "Task1" if box == "obb" else "Task2"
    for c, rows in detections.items():
        _write_lines(out_dir / "baseline" / f"{prefix}_{c}.txt", rows)
        _write_lines(out_dir / "sample" / f"{prefix}_{c}.txt", [])
    zip_folder(out_dir / "sample", public / "sample_submission.zip")
    zip_folder(out_dir / "baseline", out_dir / "baseline.zip")
    if truth_format == "coco":
        cats = [{"id": i + 1, "name": c} for i, c in enumerate(sorted(detections))]
        truth = private / "instances_test.json"
        truth.write_text(
            json.dumps(
                {"images": coco_images, "annotations": coco_anns, "categories": cats}
            )
        )
        sample_ids = [str(im["id"]) for im in coco_images]
    else:
        truth, sample_ids = private / "labelTxt", ids
    write_readme(public, _readme(box, sorted(detections), modalities))
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=sample_ids,
        baseline_path=out_dir / "baseline.zip",
        baseline_name="Perturbed ground truth (reference baseline)",
    )


def _sar(scene, rng) -> np.ndarray:
    """Single-band uint8 SAR-like amplitude: bright buildings/ships/vehicles, dark water."""
    base = np.array([70, 170, 50, 15, 90, 65, 55], float)[scene.label_map]
    for i, o in enumerate(scene.objects):
        if o.category in ("vehicle", "ship", "storage-tank"):
            base[scene.object_mask(i)] = 220
    return np.clip(base * rng.gamma(4.0, 0.25, base.shape), 0, 255).astype(np.uint8)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _coco_ann(
    ann_id: int, image_id: int, c: str, p: np.ndarray, difficult: int, cats: list[str]
) -> dict:
    x1, y1 = p.min(axis=0)
    x2, y2 = p.max(axis=0)
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": cats.index(c) + 1,
        "bbox": [
            round(float(x1), 2),
            round(float(y1), 2),
            round(float(x2 - x1), 2),
            round(float(y2 - y1), 2),
        ],
        "segmentation": [[round(float(v), 2) for v in p.ravel()]],
        "area": round(float(SceneObject(c, p).area), 2),
        "iscrowd": difficult,
    }


def _pred_coords(p: np.ndarray, box: str) -> str:
    if box == "obb":
        return fmt(p)
    return fmt([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()])


def _baseline(objs, rng: np.random.Generator, size: int, classes: list[str]):
    """(class, polygon, score): kept objects jittered, some class swaps, false positives."""
    out = []
    for c, p, _ in objs:
        if rng.random() < 0.25:
            continue
        cls = c if rng.random() > 0.08 else classes[int(rng.integers(len(classes)))]
        out.append(
            (
                cls,
                clip_polygon(jitter_polygon(p, rng), size),
                float(rng.uniform(0.35, 1.0)),
            )
        )
    for _ in range(int(rng.poisson(0.3 * len(objs) + 1))):
        c, p, _ = (
            objs[int(rng.integers(len(objs)))]
            if objs
            else (classes[0], rect_polygon(8, 8, 6, 4, 0), 0)
        )
        w, h = SceneObject(c, p).size_wh
        q = rect_polygon(*rng.uniform(w, size - w, 2), w, h, float(rng.uniform(0, 180)))
        out.append((c, clip_polygon(q, size), float(rng.uniform(0.0, 0.7))))
    return out


def _readme(box: str, classes: list[str], modalities: list[str]) -> str:
    lines = [
        f"Synthetic demo data for {'oriented' if box == 'obb' else 'horizontal'} object detection.",
        "{train,test}/images/<id>.png: RGB images. Classes: "
        + ", ".join(classes)
        + ".",
        "train/labelTxt/<id>.txt: DOTA format, one object per line: x1 y1 x2 y2 x3 y3 x4 y4 class difficult.",
    ]
    if "sar" in modalities:
        lines.append(
            "{train,test}/sar/<id>.png: co-registered single-band SAR amplitude."
        )
    if box == "obb":
        lines.append(
            "Submit a ZIP of DOTA Task1 files Task1_<class>.txt: 'imgname score x1 y1 x2 y2 x3 y3 x4 y4'."
        )
    else:
        lines.append(
            "Submit a ZIP of DOTA Task2 files Task2_<class>.txt: 'imgname score xmin ymin xmax ymax'."
        )
    lines.append(
        "imgname is the image id without extension; sample_submission.zip has the layout."
    )
    return "\n".join(lines)
