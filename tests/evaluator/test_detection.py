"""detection kind: parity with pycocotools (HBB COCO AP) and the DOTA devkit's
``voc_eval`` (package ``dotadevkit``; OBB VOC07/VOC12 with polygon IoU) on
synthetic cases, hand-computed AP, difficult objects."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from evaluator import api
from tests.evaluator.detection_cases import (
    CLASSES,
    devkit_aps,
    make_coco_case,
    make_dota_case,
    pycoco_reference,
    write_labeltxt,
    write_task1,
    zip_dir,
)


@pytest.mark.parametrize("ap_mode", ["voc07", "voc12"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_obb_voc_matches_dota_devkit(tmp_path, seed, ap_mode):
    rng = np.random.default_rng(seed)
    gt, dets = make_dota_case(rng)
    gt_dir = write_labeltxt(tmp_path / "labelTxt", gt)
    det_dir = write_task1(tmp_path / "dets", dets)
    ref = devkit_aps(det_dir, gt_dir, CLASSES, ap_mode == "voc07")
    out = api.score(
        "detection",
        zip_dir(det_dir, tmp_path / "pred.zip"),
        gt_dir,
        {"box": "obb", "ap_mode": ap_mode},
    )
    assert (
        out["iou"] == "polygon"
        and out["ap_mode"] == ap_mode
        and out["primary"] == "map"
    )
    for c in CLASSES:
        assert out["per_class"][c] == pytest.approx(ref[c], rel=1e-6, abs=1e-12), c
    assert out["map"] == pytest.approx(np.mean(list(ref.values())), rel=1e-6)
    assert out["ap50"] == out["map"]
    assert 0 < out["map"] < 1


def test_voc_iou_threshold_option(tmp_path):
    rng = np.random.default_rng(7)
    gt, dets = make_dota_case(rng)
    gt_dir = write_labeltxt(tmp_path / "labelTxt", gt)
    det_dir = write_task1(tmp_path / "dets", dets)
    from dotadevkit.evaluate.task1 import voc_eval

    imageset = tmp_path / "set.txt"
    imageset.write_text("\n".join(gt) + "\n")
    with contextlib.redirect_stdout(io.StringIO()):
        ref = [
            voc_eval(
                str(det_dir / "Task1_{:s}.txt"),
                str(gt_dir / "{:s}.txt"),
                str(imageset),
                c,
                ovthresh=0.7,
                use_07_metric=True,
            )[2]
            for c in CLASSES
        ]
    out = api.score("detection", det_dir, gt_dir, {"iou_threshold": 0.7})
    assert out["map"] == pytest.approx(np.mean(ref), rel=1e-6)
    assert out["iou_threshold"] == 0.7 and out["ap50"] > out["map"]


@pytest.mark.parametrize("seed,max_dets", [(0, 100), (1, 100), (2, 3), (3, 1000)])
def test_hbb_coco_matches_pycocotools(tmp_path, seed, max_dets):
    rng = np.random.default_rng(seed)
    gt, dets = make_coco_case(rng)
    gt_path = tmp_path / "instances.json"
    gt_path.write_text(json.dumps(gt))
    pred_path = tmp_path / "results.json"
    pred_path.write_text(json.dumps(dets))
    ref = pycoco_reference(gt_path, dets, max_dets)
    for box in ("hbb", "obb"):  # COCO rectangles: polygon IoU equals box IoU
        out = api.score(
            "detection",
            pred_path,
            gt_path,
            {"ap_mode": "coco", "box": box, "max_dets": max_dets},
        )
        for key in ("map", "ap50", "ap75"):
            assert out[key] == pytest.approx(ref[key], rel=1e-6), (box, key)
        for name, v in ref["per_class"].items():
            assert out["per_class"][name] == pytest.approx(v, rel=1e-6, abs=1e-12), name
    assert out["iou_threshold"] == "0.50:0.95" and out["n_samples"] == 15


def test_coco_ties_follow_pycocotools_order(tmp_path):
    """Equal scores across images: order of images then file order (mergesort)."""
    gt = {
        "images": [{"id": 1}, {"id": 2}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 10, 10],
                "area": 100,
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 2,
                "category_id": 1,
                "bbox": [0, 0, 10, 10],
                "area": 100,
                "iscrowd": 0,
            },
        ],
    }
    dets = [
        {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5},
        {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.5},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.4},
    ]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "r.json").write_text(json.dumps(dets))
    ref = pycoco_reference(tmp_path / "gt.json", dets, 100)
    out = api.score(
        "detection", tmp_path / "r.json", tmp_path / "gt.json", {"ap_mode": "coco"}
    )
    assert out["map"] == pytest.approx(ref["map"], rel=1e-9)


def test_hand_computed_voc():
    """Two GT, detections TP(0.9), FP(0.8), TP(0.7): P=[1, .5, .67], R=[.5, .5, 1]."""
    from evaluator.detection_matching import voc_ap

    tp, fp = np.array([1, 0, 1]), np.array([0, 1, 0])
    # all-point: 0.5·1 + 0.5·(2/3)
    assert voc_ap(tp, fp, 2, use_07=False) == pytest.approx(0.5 + 1 / 3)
    # 11-point: t=0..0.5 → 1 (6 points), t=0.6..1.0 → 2/3 (5 points)
    assert voc_ap(tp, fp, 2, use_07=True) == pytest.approx((6 + 5 * 2 / 3) / 11)


def test_difficult_neither_counts_nor_penalises(tmp_path):
    square = [0, 0, 10, 0, 10, 10, 0, 10]
    gt = {
        "A": [
            (np.array(square, float), "plane", False),
            (np.array(square, float) + 100, "plane", True),
        ]
    }
    gt_dir = write_labeltxt(tmp_path / "gt", gt)
    dets = {
        "plane": [
            ("A", 0.9, np.array(square, float) + 100),  # on difficult: ignored
            ("A", 0.8, np.array(square, float) + 100),  # again: still ignored
            ("A", 0.7, np.array(square, float)),  # TP
            ("A", 0.6, np.array(square, float)),
        ]
    }  # duplicate: FP
    out = api.score(
        "detection",
        write_task1(tmp_path / "p", dets, ["plane"]),
        gt_dir,
        {"ap_mode": "voc12"},
    )
    assert out["map"] == pytest.approx(1.0) and out["n_gt"] == 1
    ev = api.evaluate("detection", tmp_path / "p", gt_dir, {"ap_mode": "voc12"})
    assert ev.samples() == {"tp": [1], "fp": [1], "n_gt": [1]}
