"""Visual grounding demo data: each expression names exactly one object of a
synthetic scene; the answer is its box (``hbb``), oriented box (``obb``) or mask.

Params: ``box`` (``hbb`` | ``obb`` | ``mask``), ``size`` (128), ``n_train`` (4),
``n_test`` (8) scenes, ``per_image`` (4) expressions, ``categories`` (default all).

Public: ``{train,test}/images/<image>.png``, ``{train,test}/expressions.csv`` (id,
image, expression), ``train/annotations.jsonl`` (the answers, same format as a
submission), ``sample_submission.*``. Hidden: ``truth.jsonl`` (``{"id", "box"}`` or
``{"id", "polygon"}``) or ``truth/<id>.png`` masks. Baseline: the right object with
a jittered box for about 60% of the expressions, another object of the same
category for 25%, a random box otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData, stable_seed
from benchmarks.generators.detection import clip_polygon, jitter_polygon
from benchmarks.generators.scene.geometry import polygon_mask, rect_polygon
from benchmarks.generators.scene.make import make_scene
from benchmarks.generators.scene.referring import referring_expressions
from benchmarks.writers import write_csv, write_png, write_readme, zip_folder


def answer(polygon: np.ndarray, box: str) -> dict:
    if box == "obb":
        return {"polygon": [round(float(v), 2) for v in polygon.ravel()]}
    x1, y1 = polygon.min(axis=0)
    x2, y2 = polygon.max(axis=0)
    return {"box": [round(float(v), 2) for v in (x1, y1, x2, y2)]}


def _guess(scene, obj: int, rng: np.random.Generator) -> np.ndarray:
    o = scene.objects[obj]
    u = rng.random()
    if u < 0.6:
        return clip_polygon(jitter_polygon(o.polygon, rng), scene.size)
    peers = [
        i for i, p in enumerate(scene.objects) if p.category == o.category and i != obj
    ]
    if u < 0.85 and peers:
        return scene.objects[peers[int(rng.integers(len(peers)))]].polygon
    w, h = o.size_wh
    return rect_polygon(
        *rng.uniform(w, scene.size - w, 2), w, h, float(rng.uniform(0, 180))
    )


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    box = str(params.get("box", "hbb"))
    if box not in ("hbb", "obb", "mask"):
        raise ValueError(f"grounding generator: unknown box {box!r}")
    size = int(params.get("size", 128))
    n_train, n_test = int(params.get("n_train", 4)), int(params.get("n_test", 8))
    per_image = int(params.get("per_image", 4))
    public, private = out_dir / "public", out_dir / "private"
    rng = np.random.default_rng(stable_seed(seed, "grounding", box))
    ids: list[str] = []
    truth_lines, pred_lines, sample_lines, train_lines = [], [], [], []
    for split, n in (("train", n_train), ("test", n_test)):
        rows = []
        for k in range(n):
            scene = make_scene(rng, size, urban=bool(rng.random() < 0.7))
            image = f"{split}_{k:04d}"
            write_png(public / split / "images" / f"{image}.png", scene.render(3))
            for e, (obj, text) in enumerate(
                referring_expressions(scene, rng, per_image, params.get("categories"))
            ):
                eid = f"{image}_e{e}"
                rows.append((eid, image, text))
                poly = scene.objects[obj].polygon
                if split == "train":
                    if box == "mask":
                        write_png(
                            public / "train" / "masks" / f"{eid}.png",
                            scene.object_mask(obj).astype(np.uint8),
                        )
                    else:
                        train_lines.append({"id": eid, **answer(poly, box)})
                    continue
                ids.append(eid)
                guess = _guess(scene, obj, rng)
                if box == "mask":
                    write_png(
                        private / "truth" / f"{eid}.png",
                        scene.object_mask(obj).astype(np.uint8),
                    )
                    write_png(
                        out_dir / "baseline" / f"{eid}.png",
                        polygon_mask(guess, size).astype(np.uint8),
                    )
                    write_png(
                        out_dir / "sample" / f"{eid}.png",
                        np.zeros((size, size), np.uint8),
                    )
                else:
                    truth_lines.append({"id": eid, **answer(poly, box)})
                    pred_lines.append({"id": eid, **answer(guess, box)})
                    sample_lines.append(
                        {
                            "id": eid,
                            **answer(rect_polygon(size / 2, size / 2, 8, 8, 0), box),
                        }
                    )
        write_csv(
            public / split / "expressions.csv", ["id", "image", "expression"], rows
        )
    if box == "mask":
        zip_folder(out_dir / "sample", public / "sample_submission.zip")
        zip_folder(out_dir / "baseline", out_dir / "baseline.zip")
        truth, baseline = private / "truth", out_dir / "baseline.zip"
    else:
        _jsonl(public / "train" / "annotations.jsonl", train_lines)
        _jsonl(public / "sample_submission.jsonl", sample_lines)
        truth, baseline = private / "truth.jsonl", out_dir / "baseline.jsonl"
        _jsonl(truth, truth_lines)
        _jsonl(baseline, pred_lines)
    write_readme(public, _readme(box))
    return DemoData(
        public, truth, ids, baseline, "Jittered or confused boxes (reference baseline)"
    )


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _readme(box: str) -> str:
    answer_text = {
        "hbb": 'one JSON line per expression: {"id": ..., "box": [x1, y1, x2, y2]} (pixels)',
        "obb": 'one JSON line per expression: {"id": ..., "polygon": [x1, y1, ..., x4, y4]} (pixels)',
        "mask": "a ZIP of <id>.png masks (non-zero = object), same size as the image",
    }[box]
    train = "train/masks/<id>.png" if box == "mask" else "train/annotations.jsonl"
    return f"""
Synthetic demo data for visual grounding: find the one object an expression describes.
{{train,test}}/images/<image>.png: RGB scenes; {{train,test}}/expressions.csv: id,image,expression.
{train}: the answers for the training expressions.
Submit {answer_text}; sample_submission.* has the layout.
"""
