"""Detection cases: oriented-box VOC AP (DOTA devkit) and COCO box AP
(pycocotools, faster-coco-eval).

Both sides read the same files: the DOTA devkit's ``voc_eval`` parses the Task1
and labelTxt files itself, pycocotools / faster-coco-eval load the same JSON
files; EarthBench's ``api.score`` reads them too. Timed: everything from files
to the AP numbers (imports excluded).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np

from bench.common import Case, Prepared, Ref, eb_score, flat, per_class, warm_evaluator

DOTA_CLASSES = ["plane", "ship", "small-vehicle", "harbor", "tank"]
DETS_PER_IMAGE = 40


def rotated_boxes(rng: np.random.Generator, n: int, spread: float = 1000.0):
    """(n, 8) DOTA polygons of random rotated rectangles (vectorised)."""
    c = rng.uniform(30, spread, (n, 1, 2))
    wh = rng.uniform(8, 60, (n, 1, 2))
    th = rng.uniform(0, np.pi, n)
    unit = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    local = unit[None] * wh  # (n, 4, 2)
    cos, sin = np.cos(th)[:, None], np.sin(th)[:, None]
    x = local[..., 0] * cos - local[..., 1] * sin
    y = local[..., 0] * sin + local[..., 1] * cos
    return (np.stack([x, y], -1) + c).reshape(n, 8)


def _fmt(rows: np.ndarray) -> list[str]:
    return [" ".join(f"{v:.2f}" for v in r) for r in rows]


def write_dota(work: Path, n_dets: int, rng: np.random.Generator):
    """labelTxt truth (25 objects per image, 10% difficult) and Task1 files."""
    n_img = max(2, n_dets // DETS_PER_IMAGE)
    gt_dir, det_dir = work / "labelTxt", work / "dets"
    gt_dir.mkdir()
    det_dir.mkdir()
    by_cls: dict[str, list[str]] = {c: [] for c in DOTA_CLASSES}
    for i in range(n_img):
        img = f"P{i:05d}"
        gt = rotated_boxes(rng, 25)
        cls = rng.choice(DOTA_CLASSES, 25)
        diff = rng.random(25) < 0.1
        lines = ["imagesource:GoogleEarth", "gsd:0.5"]
        lines += [
            f"{p} {c} {int(d)}" for p, c, d in zip(_fmt(gt), cls, diff, strict=True)
        ]
        (gt_dir / f"{img}.txt").write_text("\n".join(lines) + "\n")
        hit = rng.random(25) < 0.8
        det = np.concatenate(
            [
                gt[hit] + rng.normal(0, 3, (hit.sum(), 8)),
                rotated_boxes(rng, DETS_PER_IMAGE - hit.sum()),
            ]
        )
        dcls = np.concatenate(
            [cls[hit], rng.choice(DOTA_CLASSES, DETS_PER_IMAGE - hit.sum())]
        )
        for p, c, s in zip(_fmt(det), dcls, rng.random(len(det)), strict=True):
            by_cls[c].append(f"{img} {s:.6f} {p}")
    for c, lines in by_cls.items():
        (det_dir / f"Task1_{c}.txt").write_text("\n".join(lines) + "\n")
    imageset = work / "imageset.txt"
    imageset.write_text("\n".join(f"P{i:05d}" for i in range(n_img)) + "\n")
    return gt_dir, det_dir, imageset, n_img


def _devkit(det_dir: Path, gt_dir: Path, imageset: Path):
    def run(_):
        from dotadevkit.evaluate.task1 import voc_eval

        aps = {}
        with contextlib.redirect_stdout(io.StringIO()):  # it prints arrays
            for c in DOTA_CLASSES:
                aps[c] = voc_eval(
                    str(det_dir / "Task1_{:s}.txt"),
                    str(gt_dir / "{:s}.txt"),
                    str(imageset),
                    c,
                    ovthresh=0.5,
                    use_07_metric=True,
                )[2]
        out = {f"ap[{c}]": float(v) for c, v in aps.items()}
        out["map"] = float(np.mean(list(aps.values())))
        return out

    return run


def _prepare_obb(size: int, work: Path) -> Prepared:
    rng = np.random.default_rng(size)
    gt_dir, det_dir, imageset, n_img = write_dota(work, size, rng)
    ref = Ref(
        "DOTA devkit voc_eval (dotadevkit)",
        _devkit(det_dir, gt_dir, imageset),
        lambda: __import__("dotadevkit.evaluate.task1"),
        "voc_eval per class: parses Task1 + labelTxt, polyiou matching, VOC07 AP",
    )
    return Prepared(
        eb=eb_score(
            "detection",
            det_dir,
            gt_dir,
            {"box": "obb", "ap_mode": "voc07"},
            lambda out: flat(out, ["map"]) | per_class(out),
        ),
        eb_setup=warm_evaluator,
        refs=[ref],
        eb_timed="api.score from the Task1 folder + labelTxt folder",
        size_note=f"{n_img} images, {len(DOTA_CLASSES)} classes, 25 GT/image",
    )


def write_coco(work: Path, n_dets: int, rng: np.random.Generator):
    n_img = max(2, n_dets // DETS_PER_IMAGE)
    cats = [{"id": k + 1, "name": f"c{k}"} for k in range(5)]
    images, anns, dets = [], [], []
    for i in range(1, n_img + 1):
        images.append({"id": i, "file_name": f"{i}.png", "width": 1024, "height": 1024})
        xy = rng.uniform(0, 900, (20, 2))
        wh = rng.uniform(4, 120, (20, 2))  # small, medium and large objects
        cat = rng.integers(1, 6, 20)
        crowd = rng.random(20) < 0.05
        for b, c, cr in zip(np.hstack([xy, wh]), cat, crowd, strict=True):
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": int(c),
                    "bbox": [round(float(v), 2) for v in b],
                    "area": float(b[2] * b[3]),
                    "iscrowd": int(cr),
                }
            )
        hit = rng.random(20) < 0.8
        jit = np.hstack(
            [
                xy[hit] + rng.normal(0, 3, (hit.sum(), 2)),
                wh[hit] * rng.uniform(0.85, 1.15, (hit.sum(), 2)),
            ]
        )
        extra = DETS_PER_IMAGE - hit.sum()
        fp = np.hstack(
            [rng.uniform(0, 900, (extra, 2)), rng.uniform(4, 120, (extra, 2))]
        )
        dcat = np.concatenate([cat[hit], rng.integers(1, 6, extra)])
        for b, c, s in zip(
            np.vstack([jit, fp]), dcat, rng.random(DETS_PER_IMAGE), strict=True
        ):
            dets.append(
                {
                    "image_id": i,
                    "category_id": int(c),
                    "bbox": [round(float(v), 2) for v in b],
                    "score": round(float(s), 6),
                }
            )
    gt_path, det_path = work / "instances.json", work / "results.json"
    gt_path.write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats})
    )
    det_path.write_text(json.dumps(dets))
    return gt_path, det_path, n_img


def _coco_out(ev, cats) -> dict[str, float]:
    prec = ev.eval["precision"][:, :, :, 0, -1]  # T, R, K at areaRng all

    def mean(p):
        return float(p[p > -1].mean())

    out = {"map": mean(prec), "ap50": mean(prec[0]), "ap75": mean(prec[5])}
    for k, c in enumerate(cats):
        if (prec[:, :, k] > -1).any():
            out[f"ap[{c['name']}]"] = mean(prec[:, :, k])
    return out


def _pycoco(gt_path: Path, det_path: Path, max_dets: int):
    def run(_):
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO(str(gt_path))
            ev = COCOeval(gt, gt.loadRes(str(det_path)), "bbox")
            ev.params.maxDets = [max_dets]
            ev.params.areaRng = [ev.params.areaRng[0]]
            ev.params.areaRngLbl = ["all"]
            ev.evaluate()
            ev.accumulate()
        return _coco_out(ev, gt.dataset["categories"])

    return run


def _faster(gt_path: Path, det_path: Path, max_dets: int):
    def run(_):
        from faster_coco_eval import COCO, COCOeval_faster

        gt = COCO(str(gt_path))
        ev = COCOeval_faster(gt, gt.loadRes(str(det_path)), "bbox")
        ev.params.maxDets = [max_dets]
        ev.params.areaRng = [ev.params.areaRng[0]]
        ev.params.areaRngLbl = ["all"]
        ev.evaluate()
        ev.accumulate()
        return _coco_out(ev, gt.dataset["categories"])

    return run


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _prepare_coco(size: int, work: Path) -> Prepared:
    rng = np.random.default_rng(10_000 + size)
    gt_path, det_path, n_img = write_coco(work, size, rng)
    max_dets = 100
    refs = [
        Ref(
            "pycocotools COCOeval",
            _pycoco(gt_path, det_path, max_dets),
            lambda: __import__("pycocotools.cocoeval"),
            "COCO(gt.json) + loadRes(results.json) + evaluate + accumulate (areaRng all)",
        )
    ]
    if _has("faster_coco_eval"):
        refs.append(
            Ref(
                "faster-coco-eval COCOeval_faster",
                _faster(gt_path, det_path, max_dets),
                lambda: __import__("faster_coco_eval"),
                "same calls, C++ evaluate/accumulate",
            )
        )
    return Prepared(
        eb=eb_score(
            "detection",
            det_path,
            gt_path,
            {"box": "hbb", "ap_mode": "coco", "max_dets": max_dets},
            lambda out: flat(out, ["map", "ap50", "ap75"]) | per_class(out),
        ),
        eb_setup=warm_evaluator,
        refs=refs,
        eb_timed="api.score from results JSON + instances JSON",
        size_note=f"{n_img} images, 5 categories, 20 GT/image, maxDets {max_dets}",
    )


CASES = [
    Case(
        "detection",
        "obb-voc07",
        "boxes",
        (2000, 10_000, 40_000),
        (400, 2000),
        _prepare_obb,
    ),
    Case(
        "detection",
        "hbb-coco",
        "boxes",
        (2000, 10_000, 40_000),
        (400, 2000),
        _prepare_coco,
    ),
]
