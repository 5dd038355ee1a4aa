"""Synthetic detection cases and the reference scorers (DOTA devkit
``voc_eval``, pycocotools) the detection tests compare against."""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path

import numpy as np

from evaluator.formats.voc_xml import rotated_rect_corners

REPO = Path(__file__).resolve().parents[2]
CLASSES = ["plane", "ship", "small-vehicle"]


# --- synthetic data ---------------------------------------------------------------


def rboxes(rng, n, spread=400.0):
    """n random rotated rectangles as DOTA 8-number polygons."""
    c = rng.uniform(20, spread, (n, 2))
    wh = rng.uniform(8, 60, (n, 2))
    th = rng.uniform(0, np.pi, n)
    return np.array(
        [rotated_rect_corners(*c[i], *wh[i], th[i]) for i in range(n)]
    ).reshape(n, 8)


def jitter(rng, polys, scale):
    return polys + rng.normal(0, scale, polys.shape)


def make_dota_case(rng, n_img=12):
    """GT {img: [(poly, cls, difficult)]} and detections {cls: [(img, score, poly)]}."""
    gt, dets = {}, {c: [] for c in CLASSES}
    for i in range(n_img):
        img = f"P{i:04d}"
        n = int(rng.integers(0, 15)) if i else 0  # first image has no objects
        polys = rboxes(rng, n)
        cls = rng.choice(CLASSES, n)
        diff = rng.random(n) < 0.15
        gt[img] = list(zip(polys, cls, diff, strict=True))
        for p, c in zip(jitter(rng, polys, 6.0), cls, strict=True):
            if rng.random() < 0.8:  # detected, possibly twice
                for _ in range(1 + int(rng.random() < 0.2)):
                    dets[c].append((img, rng.random(), p + rng.normal(0, 2, 8)))
        for p in rboxes(rng, int(rng.integers(0, 6))):  # false positives
            dets[str(rng.choice(CLASSES))].append((img, rng.random(), p))
    for c in CLASSES:  # every class needs a positive for the devkit (else NaN)
        gt["P0001"].append((rboxes(rng, 1)[0], c, False))
    return gt, dets


def fmt(v) -> str:
    return " ".join(f"{x:.6f}" for x in v)


def write_labeltxt(root: Path, gt) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for img, objs in gt.items():
        lines = ["imagesource:GoogleEarth", "gsd:0.5"]
        lines += [f"{fmt(p)} {c} {int(d)}" for p, c, d in objs]
        (root / f"{img}.txt").write_text("\n".join(lines) + "\n")
    return root


def write_task1(root: Path, dets, classes=CLASSES) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for c in classes:
        lines = [f"{img} {s:.6f} {fmt(p)}" for img, s, p in dets.get(c, [])]
        (root / f"Task1_{c}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    return root


def zip_dir(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    return path


# --- DOTA devkit reference ----------------------------------------------------------


def devkit_aps(det_dir: Path, gt_dir: Path, classes, use_07: bool) -> dict:
    from dotadevkit.evaluate.task1 import voc_eval

    imageset = det_dir.parent / "imageset.txt"
    imageset.write_text("\n".join(sorted(p.stem for p in gt_dir.glob("*.txt"))) + "\n")
    out = {}
    with contextlib.redirect_stdout(io.StringIO()):  # the devkit prints TP/FP arrays
        for c in classes:
            _, _, ap = voc_eval(
                str(det_dir / "Task1_{:s}.txt"),
                str(gt_dir / "{:s}.txt"),
                str(imageset),
                c,
                ovthresh=0.5,
                use_07_metric=use_07,
            )
            out[c] = float(ap)
    return out


# --- pycocotools reference ----------------------------------------------------------


def make_coco_case(rng, n_img=15, n_cat=3, crowd=True):
    images = [
        {"id": i + 1, "file_name": f"img{i + 1}.png", "width": 500, "height": 500}
        for i in range(n_img)
    ]
    cats = [{"id": k * 2 + 1, "name": f"cat{k}"} for k in range(n_cat)]
    anns, dets = [], []
    for img in images:
        n = int(rng.integers(0, 12)) if img["id"] != 3 else 0
        for _ in range(n):
            x, y = rng.uniform(0, 400, 2)
            w, h = rng.uniform(5, 80, 2)
            cat = int(rng.choice([c["id"] for c in cats]))
            is_crowd = int(crowd and rng.random() < 0.1)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img["id"],
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": is_crowd,
                }
            )
            for _ in range(int(rng.integers(0, 3))):
                b = [
                    x + rng.normal(0, 5),
                    y + rng.normal(0, 5),
                    w * rng.uniform(0.7, 1.3),
                    h * rng.uniform(0.7, 1.3),
                ]
                dets.append(
                    {
                        "image_id": img["id"],
                        "category_id": cat,
                        "bbox": b,
                        "score": float(rng.random()),
                    }
                )
        for _ in range(int(rng.integers(0, 8))):
            x, y = rng.uniform(0, 400, 2)
            w, h = rng.uniform(5, 80, 2)
            dets.append(
                {
                    "image_id": img["id"],
                    "category_id": int(rng.choice([1, 3, 5][:n_cat])),
                    "bbox": [x, y, w, h],
                    "score": float(rng.random()),
                }
            )
    return {"images": images, "annotations": anns, "categories": cats}, dets


def pycoco_reference(gt_path: Path, dets: list, max_dets: int) -> dict:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(gt_path))
        res = coco.loadRes(dets)
        ev = COCOeval(coco, res, "bbox")
        ev.params.maxDets = [max_dets]
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval["precision"][:, :, :, 0, 0]  # T, R, K (areaRng all, maxDets)

    def mean(p):
        return float(p[p > -1].mean())

    per = {
        cat["name"]: mean(prec[:, :, k])
        for k, cat in enumerate(coco.dataset["categories"])
        if (prec[:, :, k] > -1).any()
    }
    return {
        "map": mean(prec),
        "ap50": mean(prec[0]),
        "ap75": mean(prec[5]),
        "per_class": per,
    }
