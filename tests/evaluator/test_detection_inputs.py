"""detection kind: real DOTA/DIOR/HRSC samples, split consistency, validation
messages, CLI, scale."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.formats.detection import read_truth
from evaluator.io import open_source
from tests.evaluator.detection_cases import (
    REPO,
    devkit_aps,
    fmt,
    jitter,
    make_coco_case,
    make_dota_case,
    rboxes,
    write_labeltxt,
    write_task1,
    zip_dir,
)

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
