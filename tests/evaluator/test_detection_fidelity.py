"""detection kind, fidelity to the references where they are subtle:

- ``ap_mode`` voc07/voc12: tied scores ranked as the DOTA devkit's ``voc_eval``
  (``np.argsort`` of the negated confidences of a class file, in file order) —
  compared with ``dotadevkit`` on the same files, for several line orders;
- COCO mode: pycocotools' twelve summary numbers (AP, AP50, AP75, AP S/M/L,
  AR@1/10/100, AR S/M/L), its "all" area range [0, 1e10], and its IoU
  arithmetic at a threshold (an IoU that is 0.75 on paper).
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from evaluator import api
from evaluator.geometry import pair_iou
from tests.evaluator.detection_cases import (
    CLASSES,
    devkit_aps,
    make_dota_case,
    write_labeltxt,
)

pytest.importorskip("dotadevkit")
pytest.importorskip("pycocotools")


# --- DOTA devkit tie order ---------------------------------------------------------


def write_task1_lines(root, lines_by_class: dict[str, list[str]]):
    root.mkdir(parents=True, exist_ok=True)
    for c, lines in lines_by_class.items():
        (root / f"Task1_{c}.txt").write_text("".join(line + "\n" for line in lines))
    return root


def square(x: float, y: float, s: float = 20.0) -> str:
    return f"{x} {y} {x + s} {y} {x + s} {y + s} {x} {y + s}"


@pytest.mark.parametrize("ap_mode", ["voc07", "voc12"])
def test_voc_tied_scores_two_images_as_devkit(tmp_path, ap_mode):
    # One GT (image A). Equal scores: the miss in image B is first in the file.
    # Ranked by image id the hit comes first (AP 1.0); the devkit ranks the
    # file's lines with argsort(-confidence): miss first, AP 0.5 (voc12).
    gt = {"A": [(np.array([0, 0, 20, 0, 20, 20, 0, 20.0]), "plane", False)], "B": []}
    gt_dir = write_labeltxt(tmp_path / "labelTxt", gt)
    det_dir = write_task1_lines(
        tmp_path / "dets",
        {"plane": [f"B 0.9 {square(200, 200)}", f"A 0.9 {square(0, 0)}"]},
    )
    ref = devkit_aps(det_dir, gt_dir, ["plane"], ap_mode == "voc07")
    out = api.score("detection", det_dir, gt_dir, {"ap_mode": ap_mode})
    assert out["per_class"]["plane"] == pytest.approx(ref["plane"], abs=1e-12)
    if ap_mode == "voc12":
        assert ref["plane"] == pytest.approx(0.5)


def _tied_case(seed: int):
    rng = np.random.default_rng(seed)
    gt, dets = make_dota_case(rng, n_img=14)
    lines = {
        # scores on a coarse grid: many ties, within and across images
        c: [
            f"{img} {round(s * 4) / 4:.2f} {' '.join(f'{v:.6f}' for v in p)}"
            for img, s, p in dets[c]
        ]
        for c in CLASSES
    }
    for c in CLASSES:  # duplicates of a detection (same score, same image)
        lines[c] += lines[c][: len(lines[c]) // 4]
    return rng, gt, lines


@pytest.mark.parametrize("ap_mode", ["voc07", "voc12"])
@pytest.mark.parametrize("seed", [0, 1])
def test_voc_ties_equal_devkit_for_every_line_order(tmp_path, seed, ap_mode):
    rng, gt, lines = _tied_case(seed)
    gt_dir = write_labeltxt(tmp_path / "labelTxt", gt)
    assert max(len(v) for v in lines.values()) > 16  # beyond insertion-sort sizes
    for k in range(4):  # the file order decides: file as written, then shuffled
        if k:
            lines = {c: list(rng.permutation(v)) for c, v in lines.items()}
        det_dir = write_task1_lines(tmp_path / f"dets{k}", lines)
        ref = devkit_aps(det_dir, gt_dir, CLASSES, ap_mode == "voc07")
        out = api.score("detection", det_dir, gt_dir, {"ap_mode": ap_mode})
        for c in CLASSES:
            assert out["per_class"][c] == pytest.approx(ref[c], abs=1e-12), (k, c)


# --- pycocotools: the twelve numbers ---------------------------------------------------

KEYS = [
    "map",
    "ap50",
    "ap75",
    "ap_small",
    "ap_medium",
    "ap_large",
    "ar1",
    "ar10",
    "ar100",
    "ar_small",
    "ar_medium",
    "ar_large",
]


def coco_case(rng, n_img=14, n_cat=3):
    """Boxes from 4 to 220 px (small, medium and large), crowd regions, GT
    ``area`` fields different from w·h (as segmentation areas are), dense images."""
    images = [{"id": i + 1, "width": 800, "height": 800} for i in range(n_img)]
    cats = [{"id": k + 1, "name": f"c{k}"} for k in range(n_cat)]
    anns, dets = [], []
    for img in images:
        for _ in range(int(rng.integers(0, 25)) if img["id"] != 2 else 0):
            x, y = rng.uniform(0, 600, 2)
            w, h = np.exp(rng.uniform(np.log(4), np.log(220), 2))
            cat = int(rng.integers(1, n_cat + 1))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img["id"],
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": float(w * h * rng.uniform(0.6, 1.0)),
                    "iscrowd": int(rng.random() < 0.05),
                }
            )
            for _ in range(int(rng.integers(0, 3))):
                b = [x + rng.normal(0, 3), y + rng.normal(0, 3)]
                b += [w * rng.uniform(0.75, 1.3), h * rng.uniform(0.75, 1.3)]
                dets.append({"image_id": img["id"], "category_id": cat, "bbox": b})
        for _ in range(int(rng.integers(0, 10))):
            x, y = rng.uniform(0, 600, 2)
            w, h = np.exp(rng.uniform(np.log(4), np.log(220), 2))
            dets.append(
                {
                    "image_id": img["id"],
                    "category_id": int(rng.integers(1, n_cat + 1)),
                    "bbox": [x, y, w, h],
                }
            )
    for d in dets:
        d["score"] = float(np.round(rng.random(), 2))  # some ties
    return {"images": images, "annotations": anns, "categories": cats}, dets


def pycoco_twelve(gt_path, dets, max_dets: int) -> dict:
    """pycocotools' summary numbers with ``maxDets`` [1, 10, 100] capped at
    ``max_dets`` (detections kept per image and category) and ``max_dets``
    last: AP and AR S/M/L at ``max_dets``; AR@k at min(k, max_dets)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    md = sorted({min(k, max_dets) for k in (1, 10, 100)} | {max_dets})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(gt_path))
        ev = COCOeval(coco, coco.loadRes(dets), "bbox")
        ev.params.maxDets = md
        ev.evaluate()
        ev.accumulate()
        if md == [1, 10, 100]:
            ev.summarize()  # the real summarize(): only valid for these maxDets
    p, prec, rec = ev.params, ev.eval["precision"], ev.eval["recall"]

    def mean(s):
        return float(np.mean(s[s > -1])) if (s > -1).any() else None

    area = {n: i for i, n in enumerate(p.areaRngLbl)}
    last = len(md) - 1
    out = {
        "map": mean(prec[:, :, :, 0, last]),
        "ap50": mean(prec[0, :, :, 0, last]),
        "ap75": mean(prec[5, :, :, 0, last]),
    }
    for n in ("small", "medium", "large"):
        out[f"ap_{n}"] = mean(prec[:, :, :, area[n], last])
        out[f"ar_{n}"] = mean(rec[:, :, area[n], last])
    for k in (1, 10, 100):
        out[f"ar{k}"] = mean(rec[:, :, 0, md.index(min(k, max_dets))])
    if md == [1, 10, 100]:
        mine = [-1 if out[k] is None else out[k] for k in KEYS]  # -1: no GT
        assert mine == pytest.approx(list(ev.stats), abs=1e-12)
    return out


@pytest.mark.parametrize("seed,max_dets", [(0, 100), (1, 100), (2, 1000), (3, 5)])
def test_coco_twelve_numbers_equal_pycocotools(tmp_path, seed, max_dets):
    gt, dets = coco_case(np.random.default_rng(seed))
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(dets))
    ref = pycoco_twelve(tmp_path / "gt.json", dets, max_dets)
    out = api.score(
        "detection",
        tmp_path / "res.json",
        tmp_path / "gt.json",
        {"ap_mode": "coco", "box": "hbb", "max_dets": max_dets},
    )
    for k in KEYS:
        if ref[k] is None:
            assert out[k] is None, k
        else:
            assert out[k] == pytest.approx(ref[k], rel=1e-9, abs=1e-12), k


def test_coco_subset_twelve_numbers_equal_scoring_subset_alone(tmp_path):
    gt, dets = coco_case(np.random.default_rng(5))
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(dets))
    opts = {"ap_mode": "coco", "box": "hbb", "max_dets": 100}
    ev = api.evaluate("detection", tmp_path / "res.json", tmp_path / "gt.json", opts)
    keep = {1, 4, 5, 9, 12}
    got = ev.compute(api.subset_index(ev, [str(i) for i in sorted(keep)]))
    sub_gt = dict(gt)
    sub_gt["images"] = [im for im in gt["images"] if im["id"] in keep]
    sub_gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in keep]
    sub_dets = [d for d in dets if d["image_id"] in keep]
    (tmp_path / "sgt.json").write_text(json.dumps(sub_gt))
    ref = pycoco_twelve(tmp_path / "sgt.json", sub_dets, 100)
    for k in KEYS:
        assert got[k] == pytest.approx(ref[k], rel=1e-9, abs=1e-12), k


def _one_image_gt(boxes, areas=None):
    return {
        "images": [{"id": 1}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {
                "id": i + 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": b,
                "area": (b[2] * b[3]) if areas is None else areas[i],
                "iscrowd": 0,
            }
            for i, b in enumerate(boxes)
        ],
    }


def test_coco_area_range_all_is_0_to_1e10(tmp_path):
    # An unmatched detection larger than 1e10 px² (high score) is ignored by
    # pycocotools; a GT whose area exceeds 1e10 is ignored too.
    gt = _one_image_gt(
        [[10, 10, 50, 50], [100, 100, 40, 40], [300, 300, 30, 30]],
        areas=[2500, 1600, 2e10],
    )
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 2e5, 2e5], "score": 0.99},
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [100, 100, 40, 40], "score": 0.8},
    ]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(dets))
    ref = pycoco_twelve(tmp_path / "gt.json", dets, 100)
    assert ref["map"] == pytest.approx(1.0)  # the huge box is not an FP there
    out = api.score(
        "detection", tmp_path / "res.json", tmp_path / "gt.json", {"ap_mode": "coco"}
    )
    for k in KEYS:
        if ref[k] is None:
            assert out[k] is None, k
        else:
            assert out[k] == pytest.approx(ref[k], abs=1e-12), k


def _threshold_pair(rng):
    """A (det, gt) pair of xywh boxes whose IoU is 0.75 on paper (gt inside det,
    3/4 of its width) where the corner-based arithmetic and pycocotools' fall on
    different sides of 0.75."""
    from pycocotools import mask as mask_utils

    for _ in range(200_000):
        x, y = rng.uniform(0, 5000, 2).round(3)
        w, h = rng.uniform(1, 300, 2).round(3)
        det, gt = [x, y, w, h], [x, y, 0.75 * w, h]
        ref = mask_utils.iou([det], [gt], [0])[0, 0]
        a = np.array([[x, y, x + w, y + h]])
        b = np.array([[x, y, x + 0.75 * w, y + h]])
        naive = pair_iou(a, b, "hbb")[0]  # areas from corners
        if (ref >= 0.75) != (naive >= 0.75):
            return det, gt, ref
    raise AssertionError("no threshold pair found")


def test_coco_iou_order_of_operations_at_threshold(tmp_path):
    det, gt_box, ref_iou = _threshold_pair(np.random.default_rng(0))
    gt = _one_image_gt([gt_box])
    dets = [{"image_id": 1, "category_id": 1, "bbox": det, "score": 0.9}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(dets))
    ref = pycoco_twelve(tmp_path / "gt.json", dets, 100)
    out = api.score(
        "detection",
        tmp_path / "res.json",
        tmp_path / "gt.json",
        {"ap_mode": "coco", "box": "hbb"},
    )
    assert out["ap75"] == ref["ap75"] == (1.0 if ref_iou >= 0.75 else 0.0)
    for k in KEYS:
        if ref[k] is not None:
            assert out[k] == pytest.approx(ref[k], abs=1e-12), k
