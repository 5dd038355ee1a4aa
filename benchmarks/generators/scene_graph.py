"""Scene graph demo data: objects of the shared synthetic scene with the relations
derived from their geometry (:data:`PREDICATES`: next-to, parks-on, docks-at, on,
near).

Params: ``box`` (``obb`` | ``hbb``), ``size`` (192: scene graphs come from large
images), ``n_train`` (3), ``n_test`` (6).

Public: ``{train,test}/images/<id>.png``, ``train/graphs.json`` (the truth format),
``sample_submission.json``. Hidden: ``truth.json`` keyed by image id:
``{"boxes": [...], "labels": [...], "triplets": [[s, predicate, o], ...]}``.
Baseline: the ground-truth boxes jittered, 70% of the true triplets (10% with a
wrong predicate) and random object pairs with random predicates, scored so that
true triplets rank higher on average.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData, stable_seed
from benchmarks.generators.detection import clip_polygon, jitter_polygon
from benchmarks.generators.scene.make import make_scene
from benchmarks.generators.scene.model import PREDICATES, Scene
from benchmarks.writers import write_png, write_readme


def box_of(polygon: np.ndarray, box: str) -> list[float]:
    if box == "obb":
        return [round(float(v), 2) for v in polygon.ravel()]
    x1, y1 = polygon.min(axis=0)
    x2, y2 = polygon.max(axis=0)
    return [round(float(v), 2) for v in (x1, y1, x2, y2)]


def graph(scene: Scene, box: str) -> dict:
    return {
        "boxes": [box_of(o.polygon, box) for o in scene.objects],
        "labels": [o.category for o in scene.objects],
        "triplets": [[s, p, o] for s, p, o in scene.relations],
    }


def _noisy_graph(scene: Scene, box: str, rng: np.random.Generator) -> dict:
    boxes = [
        box_of(clip_polygon(jitter_polygon(o.polygon, rng), scene.size), box)
        for o in scene.objects
    ]
    triplets = []
    for s, p, o in scene.relations:
        if rng.random() < 0.3:
            continue
        pred = (
            p if rng.random() > 0.1 else PREDICATES[int(rng.integers(len(PREDICATES)))]
        )
        triplets.append([s, pred, o, round(float(rng.uniform(0.3, 1.0)), 4)])
    n = len(scene.objects)
    for _ in range(int(rng.poisson(2 * len(scene.relations) + 2)) if n > 1 else 0):
        s, o = rng.choice(n, size=2, replace=False)
        pred = PREDICATES[int(rng.integers(len(PREDICATES)))]
        triplets.append([int(s), pred, int(o), round(float(rng.uniform(0.0, 0.6)), 4)])
    triplets.sort(key=lambda t: -t[3])
    return {
        "boxes": boxes,
        "labels": [o.category for o in scene.objects],
        "triplets": triplets,
    }


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    box = str(params.get("box", "obb"))
    size = int(params.get("size", 192))
    n_train, n_test = int(params.get("n_train", 3)), int(params.get("n_test", 6))
    public, private = out_dir / "public", out_dir / "private"
    rng = np.random.default_rng(stable_seed(seed, "scene-graph", box))
    graphs: dict[str, dict] = {"train": {}, "test": {}}
    baseline, sample = {}, {}
    for split, n in (("train", n_train), ("test", n_test)):
        for k in range(n):
            sid = f"{split}_{k:04d}"
            scene = make_scene(rng, size, urban=bool(rng.random() < 0.8))
            write_png(public / split / "images" / f"{sid}.png", scene.render(3))
            graphs[split][sid] = graph(scene, box)
            if split == "test":
                baseline[sid] = _noisy_graph(scene, box, rng)
                sample[sid] = {"boxes": [], "labels": [], "triplets": []}
    _json(public / "train" / "graphs.json", graphs["train"])
    _json(public / "sample_submission.json", sample)
    _json(private / "truth.json", graphs["test"])
    _json(out_dir / "baseline.json", baseline)
    write_readme(public, _readme(box))
    return DemoData(
        public,
        private / "truth.json",
        list(graphs["test"]),
        out_dir / "baseline.json",
        "Noisy triplets (reference baseline)",
    )


def _json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")


def _readme(box: str) -> str:
    shape = (
        "[x1, y1, x2, y2, x3, y3, x4, y4] (oriented)"
        if box == "obb"
        else "[x1, y1, x2, y2]"
    )
    return f"""
Synthetic demo data for scene graph generation.
{{train,test}}/images/<id>.png: RGB scenes.
train/graphs.json: {{image id: {{"boxes": [...], "labels": [...], "triplets": [[subject, predicate, object], ...]}}}}
with boxes {shape} in pixels and 0-based box indices in the triplets.
Predicates: {", ".join(PREDICATES)}.
Submit one JSON in the same layout for the test images, each triplet with a fourth entry,
its score: [subject, predicate, object, score]; sample_submission.json has the layout.
"""
