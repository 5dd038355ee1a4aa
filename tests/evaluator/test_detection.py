"""detection kind: parity with pycocotools (HBB COCO AP) and the DOTA devkit's
``voc_eval`` (package ``dotadevkit``; OBB VOC07/VOC12 with polygon IoU), real
DOTA/DIOR/HRSC samples, split consistency, validation, CLI, scale."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.formats.detection import read_truth
from evaluator.formats.voc_xml import rotated_rect_corners
from evaluator.io import open_source

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


# --- real samples ---------------------------------------------------------------------


def test_dota_example_self_and_perturbed(tmp_path, shared_data):
    gt_dir = shared_data("dota_v1_devkit_example", "labelTxt")
    truth = read_truth(open_source(gt_dir, "truth"))
    assert len(truth.ids) == 7 and "ship" in truth.classes
    # ground truth as predictions (score 1): every class has AP 1.
    dets: dict = {}
    for img, label, poly in zip(
        truth.table.image, truth.table.label, truth.table.poly, strict=True
    ):
        dets.setdefault(label, []).append((img, 1.0, np.array(poly)))
    perfect = write_task1(tmp_path / "perfect", dets, truth.classes)
    for mode in ("voc07", "voc12", "coco"):
        out = api.score("detection", perfect, gt_dir, {"ap_mode": mode})
        assert out["map"] == pytest.approx(1.0), mode
    # perturbed and dropped boxes: the devkit's number.
    rng = np.random.default_rng(3)
    noisy = {
        c: [
            (img, float(rng.random()), p + rng.normal(0, 3, 8))
            for img, _, p in v
            if rng.random() < 0.85
        ]
        for c, v in dets.items()
    }
    noisy_dir = write_task1(tmp_path / "noisy", noisy, truth.classes)
    gt_copy = shutil.copytree(gt_dir, tmp_path / "gt")
    for mode in ("voc07", "voc12"):
        ref = devkit_aps(noisy_dir, gt_copy, truth.classes, mode == "voc07")
        out = api.score("detection", noisy_dir, gt_dir, {"ap_mode": mode})
        assert out["map"] == pytest.approx(np.mean(list(ref.values())), rel=1e-6)
        assert 0.2 < out["map"] < 1.0


def test_mmrotate_samples_parse(shared_data):
    root = shared_data("mmrotate_testdata")
    for sub in ("1.x/dota/labelTxt", "main/tests/data/labelTxt"):
        t = read_truth(open_source(root / sub, "truth"))
        assert (
            len(t.ids) == 1 and set(t.classes) == {"plane"} and len(t.table.image) == 4
        )
    main = read_truth(open_source(root / "main/tests/data/labelTxt", "truth"))
    assert main.table.difficult == [False, False, True, False]
    dior = read_truth(
        open_source(root / "1.x/dior/Annotations/Oriented Bounding Boxes", "truth")
    )
    assert dior.ids == ["00001"] and dior.classes == ["golffield"]
    assert dior.table.poly[0] == [133, 237, 684, 237, 684, 672, 133, 672]
    hrsc = read_truth(open_source(root / "1.x/hrsc/FullDataSet/Annotations", "truth"))
    assert hrsc.ids == ["100000006"] and hrsc.classes == ["ship"]
    poly = np.array(hrsc.table.poly[0]).reshape(4, 2)
    assert poly.mean(0) == pytest.approx([341.2143, 443.3325])
    side = np.linalg.norm(poly[1] - poly[0])
    assert side == pytest.approx(778.4297)
    # the long axis points at the bow ("header") annotated on the ship
    axis = (poly[1] - poly[0]) / side
    bow = np.array([143.0, 776.0]) - poly.mean(0)
    assert abs(axis @ bow) / np.linalg.norm(bow) > 0.99


def test_dior_xml_truth_scores(tmp_path, shared_data):
    xml_dir = shared_data(
        "mmrotate_testdata", "1.x/dior/Annotations/Oriented Bounding Boxes"
    )
    pred = tmp_path / "p"
    pred.mkdir()
    (pred / "Task1_golffield.txt").write_text(
        "00001 0.9 133 237 684 237 684 672 133 672\n00001 0.5 0 0 10 0 10 10 0 10\n"
    )
    out = api.score("detection", pred, xml_dir, {"ap_mode": "voc12"})
    assert out["map"] == pytest.approx(1.0) and out["n_detections"] == 2


# --- subsets --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["voc07", "coco"])
def test_subset_equals_scoring_the_subset_alone(tmp_path, mode):
    rng = np.random.default_rng(11)
    gt, dets = make_dota_case(rng, n_img=14)
    full_gt = write_labeltxt(tmp_path / "gt", gt)
    full_det = write_task1(tmp_path / "det", dets)
    ev = api.evaluate("detection", full_det, full_gt, {"ap_mode": mode})
    subset = ["P0001", "P0002", "P0005", "P0008", "P0013"]
    sub_gt = write_labeltxt(tmp_path / "gt_sub", {k: gt[k] for k in subset})
    sub_det = write_task1(
        tmp_path / "det_sub",
        {c: [d for d in v if d[0] in subset] for c, v in dets.items()},
    )
    alone = api.score("detection", sub_det, sub_gt, {"ap_mode": mode})
    part = ev.compute(api.subset_index(ev, subset))
    for key in ("map", "ap50"):
        assert part[key] == pytest.approx(alone[key], rel=1e-12)
    assert part["per_class"] == pytest.approx(alone["per_class"])
    assert part["n_samples"] == 5
    # bootstrap-style repeats work and stay in range
    rep = ev.compute(np.array([1, 1, 2, 5, 5, 5]))
    assert 0 <= rep["map"] <= 1


# --- validation -----------------------------------------------------------------------


@pytest.fixture
def small(tmp_path):
    gt = {"A": [(np.array([0, 0, 10, 0, 10, 10, 0, 10.0]), "plane", False)]}
    return write_labeltxt(tmp_path / "gt", gt)


def check_error(tmp_path, gt_dir, files: dict, *needles, options=None):
    pred = tmp_path / "pred"
    shutil.rmtree(pred, ignore_errors=True)
    pred.mkdir()
    for name, text in files.items():
        (pred / name).write_text(text)
    with pytest.raises(ValidationError) as exc:
        api.score("detection", pred, gt_dir, options or {})
    for n in needles:
        assert n in str(exc.value), str(exc.value)
    return str(exc.value)


def test_validation_errors(tmp_path, small):
    ok = "A 0.9 0 0 10 0 10 10 0 10\n"
    check_error(
        tmp_path,
        small,
        {"Task1_plane.txt": ok, "Task1_tank.txt": ok},
        "Task1_tank.txt line 1",
        "'tank' is not one of the 1 classes",
    )
    check_error(
        tmp_path,
        small,
        {"Task1_plane.txt": ok + "A 0.8 0 0 10 0 10 10 0\n"},
        "Task1_plane.txt line 2",
        "expected 10 fields",
        "found 9",
    )
    check_error(
        tmp_path,
        small,
        {"Task1_plane.txt": "A nan 0 0 10 0 10 10 0 10\n"},
        "line 1",
        "score must be finite",
    )
    check_error(
        tmp_path,
        small,
        {"Task1_plane.txt": "A 0.9 0 0 x 0 10 10 0 10\n"},
        "line 1",
        "'x' is not a number",
    )
    check_error(
        tmp_path,
        small,
        {"Task1_plane.txt": ok + "\nZ9 0.9 0 0 10 0 10 10 0 10\n"},
        "line 3",
        "image 'Z9' is not in the test set",
    )
    check_error(tmp_path, small, {"readme.md": "hi"}, "no DOTA result files")
    check_error(
        tmp_path,
        small,
        {"Task1_plane.txt": ok},
        "ap_mode must be",
        options={"ap_mode": "voc10"},
    )
    with pytest.raises(ValidationError, match="unknown option 'iou'"):
        api.score("detection", small, small, {"iou": 0.5})


def test_coco_validation_errors(tmp_path):
    gt, _ = make_coco_case(np.random.default_rng(0), n_img=3)
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))
    good = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}
    cases = [
        (
            {**good, "category_id": 99},
            "results.json[1]: category_id 99 is not one of the 3",
        ),
        (
            {**good, "image_id": 42},
            "results.json[1]: image '42' is not in the test set",
        ),
        ({**good, "bbox": [0, 0, 5]}, "results.json[1]: 'bbox' must be [x, y, w, h]"),
        ({**good, "score": None}, "results.json[1]: 'score' must be a finite number"),
        ({**good, "poly": [1, 2, 3]}, "results.json[1]: 'poly' must be a polygon"),
        ({"image_id": 1, "bbox": [0, 0, 1, 1], "score": 1}, "missing 'category_id'"),
    ]
    for bad, needle in cases:
        p = tmp_path / "results.json"
        p.write_text(json.dumps([good, bad]))
        with pytest.raises(ValidationError) as exc:
            api.score("detection", p, gt_path, {"ap_mode": "coco"})
        assert needle in str(exc.value)
    p.write_text('[{"image_id": 1,')
    with pytest.raises(ValidationError, match=r"results.json line 1 column \d+: invalid JSON"):
        api.score("detection", p, gt_path)


def test_truth_errors(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "A.txt").write_text("gsd:1\n0 0 10 0 10 10 0 10 plane 2\n")
    with pytest.raises(
        ValidationError, match=r"A.txt line 2: difficult flag must be 0 or 1"
    ):
        read_truth(open_source(gt, "truth"))
    (gt / "A.txt").write_text("0 0 10 0 10 10 0 10 plane 0\n")
    pred = write_task1(tmp_path / "p", {"plane": [("A", 0.5, np.zeros(8))]}, ["plane"])
    with pytest.raises(
        ValidationError, match="truth class 'plane' is not in option classes"
    ):
        api.score("detection", pred, gt, {"classes": ["ship"]})


# --- CLI ------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evaluator", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli(tmp_path, small):
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "Task1_plane.txt").write_text("A 0.9 0 0 10 0 10 10 0 10\n")
    z = zip_dir(pred, tmp_path / "pred.zip")
    ok = run_cli(
        "score",
        "--kind",
        "detection",
        "--predictions",
        str(z),
        "--truth",
        str(small),
        "--options",
        '{"ap_mode": "voc12", "box": "hbb"}',
    )
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["map"] == 1.0 and out["iou"] == "hbb" and out["primary"] == "map"
    (pred / "Task1_plane.txt").write_text("A 0.9 0 0 10 0 10 10 0\n")
    z = zip_dir(pred, tmp_path / "bad.zip")
    err = run_cli(
        "score", "--kind", "detection", "--predictions", str(z), "--truth", str(small)
    )
    assert err.returncode == 2
    assert err.stderr.strip().count("\n") == 0
    assert "bad.zip:Task1_plane.txt line 1" in err.stderr


# --- scale ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["voc07", "coco"])
def test_scale_50k_oriented_boxes(tmp_path, mode):
    """50,000 predicted oriented boxes over 500 images, 15 classes (docs figure)."""
    rng = np.random.default_rng(0)
    classes = [f"c{k}" for k in range(15)]
    gt_dir = tmp_path / "gt"
    gt_dir.mkdir()
    lines_by_cls: dict = {c: [] for c in classes}
    for i in range(500):
        polys = rboxes(rng, 40, spread=1000)
        cls = rng.choice(classes, 40)
        (gt_dir / f"I{i}.txt").write_text(
            "".join(f"{fmt(p)} {c} 0\n" for p, c in zip(polys, cls, strict=True))
        )
        det = np.concatenate([jitter(rng, polys, 4), rboxes(rng, 60, spread=1000)])
        dcls = np.concatenate([cls, rng.choice(classes, 60)])
        for p, c in zip(det, dcls, strict=True):
            lines_by_cls[c].append(f"I{i} {rng.random():.6f} {fmt(p)}")
    pred = tmp_path / "pred"
    pred.mkdir()
    for c, lines in lines_by_cls.items():
        (pred / f"Task1_{c}.txt").write_text("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    ev = api.evaluate("detection", pred, gt_dir, {"ap_mode": mode})
    t1 = time.perf_counter()
    out = ev.compute()
    t2 = time.perf_counter()
    print(
        f"\n{mode}: evaluate {t1 - t0:.2f}s, compute {t2 - t1:.3f}s, map {out['map']:.4f}"
    )
    assert out["n_detections"] == 50_000 and 0.3 < out["ap50"] < 1
    assert t1 - t0 < 30
