"""Referring segmentation demo data: expressions that name exactly one object of a
synthetic scene ("the largest building", "the ship in the north-east", "the vehicle
parked at a building"), one mask per expression.

Params: ``size`` (128), ``n_train`` (4) and ``n_test`` (8) scenes, ``per_image`` (4)
expressions per scene, ``categories`` (object categories that may be referred to;
default all).

Public: ``{train,test}/images/<image>.png``, ``{train,test}/expressions.csv``
(id, image, expression), ``train/masks/<id>.png`` (0/1), ``sample_submission.zip``.
Hidden: ``truth/<id>.png`` (0/1 per expression id). Baseline: for every expression,
the mask of the largest object of the named category in the image (right for
"the largest …", a guess otherwise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData, stable_seed
from benchmarks.generators.scene.make import make_scene
from benchmarks.generators.scene.model import OBJECT_CATEGORIES, Scene
from benchmarks.generators.scene.referring import display_name, referring_expressions
from benchmarks.writers import write_csv, write_png, write_readme, zip_folder


def named_category(text: str) -> str | None:
    """The object category an expression names (longest display name found)."""
    found = [c for c in OBJECT_CATEGORIES if display_name(c) in text]
    return max(found, key=len) if found else None


def largest_of(scene: Scene, category: str | None) -> int | None:
    idx = [i for i, o in enumerate(scene.objects) if o.category == category]
    return max(idx, key=lambda i: scene.objects[i].area) if idx else None


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    size = int(params.get("size", 128))
    n_train, n_test = int(params.get("n_train", 4)), int(params.get("n_test", 8))
    per_image = int(params.get("per_image", 4))
    categories = params.get("categories")
    public, private = out_dir / "public", out_dir / "private"
    rng = np.random.default_rng(stable_seed(seed, "referring-segmentation"))
    ids: list[str] = []
    for split, n in (("train", n_train), ("test", n_test)):
        rows = []
        for k in range(n):
            scene = make_scene(rng, size, urban=bool(rng.random() < 0.7))
            image = f"{split}_{k:04d}"
            write_png(public / split / "images" / f"{image}.png", scene.render(3))
            for e, (obj, text) in enumerate(
                referring_expressions(scene, rng, per_image, categories)
            ):
                eid = f"{image}_e{e}"
                rows.append((eid, image, text))
                mask = scene.object_mask(obj).astype(np.uint8)
                if split == "train":
                    write_png(public / "train" / "masks" / f"{eid}.png", mask)
                    continue
                ids.append(eid)
                write_png(private / "truth" / f"{eid}.png", mask)
                write_png(out_dir / "sample" / f"{eid}.png", np.zeros_like(mask))
                guess = largest_of(scene, named_category(text))
                pred = (
                    scene.object_mask(guess)
                    if guess is not None
                    else np.zeros_like(mask, bool)
                )
                write_png(out_dir / "baseline" / f"{eid}.png", pred.astype(np.uint8))
        write_csv(
            public / split / "expressions.csv", ["id", "image", "expression"], rows
        )
    zip_folder(out_dir / "sample", public / "sample_submission.zip")
    zip_folder(out_dir / "baseline", out_dir / "baseline.zip")
    write_readme(
        public,
        """
Synthetic demo data for referring image segmentation.
{train,test}/images/<image>.png: RGB scenes.
{train,test}/expressions.csv: id,image,expression - each expression names exactly one object.
train/masks/<id>.png: the referred object's mask (1 = object, 0 = elsewhere).
Submit a ZIP of <id>.png masks (non-zero = object), one per test expression id, same size
as the image; sample_submission.zip has the layout.
""",
    )
    return DemoData(
        public_dir=public,
        truth_path=private / "truth",
        sample_ids=ids,
        baseline_path=out_dir / "baseline.zip",
        baseline_name="Largest object of the named category",
    )
