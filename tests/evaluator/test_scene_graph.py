"""scene-graph kind: hand-computed R@K / mR@K, a brute-force reference on random
graphs (loops straight from the definition), OBB, split consistency, validation, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.formats.voc_xml import rotated_rect_corners

REPO = Path(__file__).resolve().parents[2]

GT = {
    "1": {
        "boxes": [[0, 0, 10, 10], [20, 0, 30, 10], [0, 20, 10, 30]],
        "labels": ["man", "horse", "hat"],
        "triplets": [[0, "riding", 1], [0, "wearing", 2], [1, "near", 0]],
    },
    "2": {
        "boxes": [[0, 0, 10, 10], [50, 50, 60, 60]],
        "labels": ["man", "horse"],
        "triplets": [[0, "riding", 1], [1, "near", 0]],
    },
    "3": {"boxes": [[0, 0, 5, 5]], "labels": ["man"], "triplets": []},
}
PRED = {
    "1": {
        "boxes": [[1, 1, 10, 10], [20, 0, 30, 10], [0, 20, 10, 26]],  # IoU .81, 1, .6
        "labels": ["man", "horse", "hat"],
        "triplets": [
            [0, "riding", 1, 0.9],
            [1, "near", 0, 0.8],
            [0, "wearing", 2, 0.3],
            [0, "holding", 1, 0.95],
        ],
    },
    "2": {
        "boxes": [[0, 0, 10, 10], [50, 50, 54, 60], [50, 50, 60, 60]],  # horse IoU 0.4
        "labels": ["man", "horse", "dog"],
        "triplets": [[0, "riding", 1, 0.9], [0, "riding", 2, 0.8], [2, "near", 0, 0.7]],
    },
    "3": {"boxes": [], "labels": [], "triplets": []},
}


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_hand_computed(tmp_path):
    """Image 1 ranks: holding 0, riding 1, near 2, wearing 3 → all recalled at 4,
    only riding at 2. Image 2: nothing (IoU 0.4; wrong class). Image 3: no GT."""
    out = api.score(
        "scene-graph",
        write(tmp_path / "p.json", PRED),
        write(tmp_path / "t.json", GT),
        {"k": [2, 4]},
    )
    assert out["r_at_2"] == pytest.approx((1 / 3 + 0) / 2)
    assert out["r_at_4"] == pytest.approx((1 + 0) / 2)
    # riding: (1 + 0)/2, wearing: 0, near: (0 + 0)/2 at K=2
    assert out["mr_at_2"] == pytest.approx((0.5 + 0 + 0) / 3)
    # riding: (1 + 0)/2, wearing: 1, near: (1 + 0)/2 at K=4
    assert out["mr_at_4"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert out["per_class"] == pytest.approx(
        {"near": 0.0, "riding": 0.5, "wearing": 0.0}
    )
    assert out["primary"] == "mr_at_2" and out["n_samples"] == 3
    assert out["n_images_with_triplets"] == 2
    # the IoU threshold decides image 2's horse (IoU 0.4)
    low = api.score(
        "scene-graph",
        tmp_path / "p.json",
        tmp_path / "t.json",
        {"k": [4], "iou_threshold": 0.4},
    )
    assert low["r_at_4"] == pytest.approx((1 + 0.5) / 2)
    default = api.score("scene-graph", tmp_path / "p.json", tmp_path / "t.json")
    assert default["primary"] == "mr_at_50" and default["r_at_100"] == out["r_at_4"]


def to_poly(graphs):
    out = {}
    for k, g in graphs.items():
        boxes = [[x1, y1, x2, y1, x2, y2, x1, y2] for x1, y1, x2, y2 in g["boxes"]]
        out[k] = {**g, "boxes": boxes}
    return out


def test_obb_polygons(tmp_path):
    same = api.score(
        "scene-graph",
        write(tmp_path / "p.json", to_poly(PRED)),
        write(tmp_path / "t.json", to_poly(GT)),
        {"k": [2, 4], "box": "obb"},
    )
    assert same["r_at_4"] == pytest.approx(0.5) and same["iou"] == "polygon"
    # rotated boxes: the polygon IoU (not the enclosing boxes') decides
    a = rotated_rect_corners(50, 50, 40, 10, 0.6)
    b = rotated_rect_corners(50, 53, 40, 10, 0.6)
    pa, pb = (
        shapely.Polygon(np.reshape(a, (4, 2))),
        shapely.Polygon(np.reshape(b, (4, 2))),
    )
    iou = pa.intersection(pb).area / pa.union(pb).area
    gt = {
        "x": {"boxes": [a, a], "labels": ["ship", "ship"], "triplets": [[0, "near", 1]]}
    }
    pr = {
        "x": {
            "boxes": [b, b],
            "labels": ["ship", "ship"],
            "triplets": [[0, "near", 1, 1.0]],
        }
    }
    for thr, want in ((iou - 1e-6, 1.0), (iou + 1e-6, 0.0)):
        out = api.score(
            "scene-graph",
            write(tmp_path / "p2.json", pr),
            write(tmp_path / "t2.json", gt),
            {"box": "obb", "iou_threshold": thr, "k": [1]},
        )
        assert out["r_at_1"] == want


def brute_force(gt, pr, ks, thr):
    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return w * h / u if u > 0 else 0.0

    out = {}
    for k in ks:
        rec, per = [], {}
        for sid, g in gt.items():
            if not g["triplets"]:
                continue
            p = pr[sid]
            top = sorted(p["triplets"], key=lambda t: -t[3])[:k]
            hits = []
            for s, pred, o in g["triplets"]:
                hit = any(
                    p["labels"][ps] == g["labels"][s]
                    and pp == pred
                    and p["labels"][po] == g["labels"][o]
                    and iou(p["boxes"][ps], g["boxes"][s]) >= thr
                    and iou(p["boxes"][po], g["boxes"][o]) >= thr
                    for ps, pp, po, _ in top
                )
                hits.append((pred, hit))
            rec.append(np.mean([h for _, h in hits]))
            for pred in {q for q, _ in hits}:
                per.setdefault(pred, []).append(
                    np.mean([h for q, h in hits if q == pred])
                )
        out[f"r_at_{k}"] = np.mean(rec)
        out[f"mr_at_{k}"] = np.mean([np.mean(v) for v in per.values()])
    return out


def random_graphs(rng, n_img=25):
    labels, preds = ["a", "b", "c"], ["p", "q", "r", "s"]
    gt, pr = {}, {}
    for i in range(n_img):
        nb = int(rng.integers(2, 7))
        xy = rng.uniform(0, 50, (nb, 2))
        boxes = np.hstack([xy, xy + rng.uniform(5, 20, (nb, 2))])
        lab = rng.choice(labels, nb).tolist()
        trip = [
            [int(rng.integers(nb)), str(rng.choice(preds)), int(rng.integers(nb))]
            for _ in range(int(rng.integers(0, 6)))
        ]
        gt[str(i)] = {"boxes": boxes.tolist(), "labels": lab, "triplets": trip}
        pboxes = boxes + rng.normal(0, 2.5, boxes.shape)
        pboxes[:, 2:] = np.maximum(pboxes[:, 2:], pboxes[:, :2] + 1)
        plab = [x if rng.random() < 0.85 else str(rng.choice(labels)) for x in lab]
        ptrip = [
            [
                s,
                p if rng.random() < 0.7 else str(rng.choice(preds)),
                o,
                float(rng.random()),
            ]
            for s, p, o in trip
        ] + [
            [
                int(rng.integers(nb)),
                str(rng.choice(preds)),
                int(rng.integers(nb)),
                float(rng.random()),
            ]
            for _ in range(int(rng.integers(0, 8)))
        ]
        pr[str(i)] = {"boxes": pboxes.tolist(), "labels": plab, "triplets": ptrip}
    return gt, pr


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_against_brute_force(tmp_path, seed):
    gt, pr = random_graphs(np.random.default_rng(seed))
    out = api.score(
        "scene-graph",
        write(tmp_path / "p.json", pr),
        write(tmp_path / "t.json", gt),
        {"k": [3, 5, 20]},
    )
    ref = brute_force(gt, pr, [3, 5, 20], 0.5)
    for key, v in ref.items():
        assert out[key] == pytest.approx(v, rel=1e-9), key
    assert 0 < out["r_at_3"] < out["r_at_20"] < 1


def test_subset_equals_scoring_subset_alone(tmp_path):
    gt, pr = random_graphs(np.random.default_rng(9))
    ev = api.evaluate(
        "scene-graph",
        write(tmp_path / "p.json", pr),
        write(tmp_path / "t.json", gt),
        {"k": [5]},
    )
    sub = ["0", "3", "4", "10", "17"]
    alone = api.score(
        "scene-graph",
        write(tmp_path / "ps.json", {k: pr[k] for k in sub}),
        write(tmp_path / "ts.json", {k: gt[k] for k in sub}),
        {"k": [5]},
    )
    part = ev.compute(api.subset_index(ev, sub))
    assert part["r_at_5"] == pytest.approx(alone["r_at_5"])
    assert part["mr_at_5"] == pytest.approx(alone["mr_at_5"])
    assert len(ev.samples()["r_at_5"]) == 25


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (
            lambda p: p["1"]["triplets"].append([0, "on", 7, 0.5]),
            "p.json['1']: triplets[4] box index 7 is not in 0..2",
        ),
        (
            lambda p: p["1"]["triplets"].append([0, "on", 1, float("nan")]),
            "triplets[4] score must be a finite number",
        ),
        (
            lambda p: p["1"]["triplets"].append([0, "on", 1]),
            "triplets[4] must be [subj_idx, predicate, obj_idx, score]",
        ),
        (lambda p: p["2"]["labels"].pop(), "p.json['2']: 2 labels for 3 boxes"),
        (
            lambda p: p["2"]["boxes"].__setitem__(0, [0, 0, 1]),
            "p.json['2']: boxes[0] must be 4 finite numbers",
        ),
        (lambda p: p.__setitem__("99", p["3"]), "1 id(s) not in the test set: '99'"),
        (lambda p: p.pop("3"), "1 test id(s) missing: '3'"),
        (lambda p: p["3"].pop("triplets"), "p.json['3']: 'triplets' must be a list"),
    ],
)
def test_validation_errors(tmp_path, mutate, needle):
    pred = json.loads(json.dumps(PRED))
    mutate(pred)
    write(tmp_path / "t.json", GT)
    write(tmp_path / "p.json", pred)
    with pytest.raises(ValidationError) as exc:
        api.score("scene-graph", tmp_path / "p.json", tmp_path / "t.json")
    assert needle in str(exc.value)


def test_options_errors(tmp_path):
    p, t = write(tmp_path / "p.json", PRED), write(tmp_path / "t.json", GT)
    with pytest.raises(ValidationError, match="option k must be"):
        api.score("scene-graph", p, t, {"k": [0]})
    with pytest.raises(
        ValidationError, match="boxes\\[0\\] must be 8 finite numbers \\(box=obb\\)"
    ):
        api.score("scene-graph", p, t, {"box": "obb"})


def test_cli(tmp_path):
    p, t = write(tmp_path / "p.json", PRED), write(tmp_path / "t.json", GT)
    run = lambda pred: subprocess.run(  # noqa: E731
        [
            sys.executable,
            "-m",
            "evaluator",
            "score",
            "--kind",
            "scene-graph",
            "--predictions",
            str(pred),
            "--truth",
            str(t),
            "--options",
            '{"k": [2, 4]}',
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    ok = run(p)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["mr_at_4"] == pytest.approx(2 / 3)
    bad = write(tmp_path / "bad.json", {**PRED, "1": {**PRED["1"], "labels": ["man"]}})
    err = run(bad)
    assert err.returncode == 2 and "bad.json['1']: 1 labels for 3 boxes" in err.stderr
    assert err.stderr.strip().count("\n") == 0
