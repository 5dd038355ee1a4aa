"""grounding kind: HBB IoU vs pycocotools, OBB IoU vs shapely, masks vs numpy;
Acc@0.5 / mIoU / gIoU / cIoU, split consistency, validation, CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image
from pycocotools import mask as mask_utils

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.formats.voc_xml import rotated_rect_corners

REPO = Path(__file__).resolve().parents[2]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def random_boxes(rng, n):
    xy = rng.uniform(0, 100, (n, 2))
    return np.hstack([xy, xy + rng.uniform(2, 50, (n, 2))])


def test_hbb_matches_pycocotools(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    t = random_boxes(rng, n)
    p = t + rng.normal(0, 8, t.shape)
    p[:, 2:] = np.maximum(p[:, 2:], p[:, :2])
    ids = [f"e{i}" for i in range(n)]
    write_jsonl(
        tmp_path / "gt.jsonl",
        [
            {"id": s, "box": b.tolist(), "expression": "the ship"}
            for s, b in zip(ids, t, strict=True)
        ],
    )
    # predictions in another order: matched by id
    write_jsonl(
        tmp_path / "pred.jsonl",
        [{"id": ids[i], "box": p[i].tolist()} for i in rng.permutation(n)],
    )
    xywh = lambda b: np.hstack([b[:, :2], b[:, 2:] - b[:, :2]]).tolist()  # noqa: E731
    ref = np.array(
        [mask_utils.iou([xywh(p)[i]], [xywh(t)[i]], [0])[0, 0] for i in range(n)]
    )
    out = api.score("grounding", tmp_path / "pred.jsonl", tmp_path / "gt.jsonl")
    assert out["miou"] == pytest.approx(ref.mean(), rel=1e-9)
    assert out["acc_at_0_5"] == pytest.approx(np.mean(ref >= 0.5))
    assert 0.1 < out["acc_at_0_5"] < 0.95 and out["primary"] == "acc_at_0_5"
    out7 = api.score(
        "grounding",
        tmp_path / "pred.jsonl",
        tmp_path / "gt.jsonl",
        {"iou_threshold": 0.7},
    )
    assert (
        out7["acc_at_0_5"] == pytest.approx(np.mean(ref >= 0.7))
        and out7["iou_threshold"] == 0.7
    )


def test_obb_matches_shapely(tmp_path):
    rng = np.random.default_rng(1)
    n = 150
    c = rng.uniform(20, 80, (n, 2))
    wh = rng.uniform(5, 40, (n, 2))
    th = rng.uniform(0, np.pi, n)
    t = np.array([rotated_rect_corners(*c[i], *wh[i], th[i]) for i in range(n)])
    p = np.array(
        [
            rotated_rect_corners(
                *(c[i] + rng.normal(0, 3, 2)),
                *(wh[i] * 1.1),
                th[i] + rng.normal(0, 0.3),
            )
            for i in range(n)
        ]
    )
    write_jsonl(
        tmp_path / "gt.jsonl", [{"id": i, "polygon": t[i].tolist()} for i in range(n)]
    )
    write_jsonl(
        tmp_path / "pred.jsonl", [{"id": i, "polygon": p[i].tolist()} for i in range(n)]
    )
    pt, pp = (
        shapely.polygons(t.reshape(-1, 4, 2)),
        shapely.polygons(p.reshape(-1, 4, 2)),
    )
    inter = shapely.area(shapely.intersection(pt, pp))
    ref = inter / (shapely.area(pt) + shapely.area(pp) - inter)
    out = api.score(
        "grounding", tmp_path / "pred.jsonl", tmp_path / "gt.jsonl", {"box": "obb"}
    )
    assert out["miou"] == pytest.approx(ref.mean(), rel=1e-9)
    assert out["acc_at_0_5"] == pytest.approx(np.mean(ref >= 0.5))
    assert out["iou"] == "polygon"


def png_bytes(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buf, format="PNG")
    return buf.getvalue()


def write_mask_zip(path: Path, masks: dict) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for sid, m in masks.items():
            zf.writestr(f"{sid}.png", png_bytes(m))
    return path


def test_masks_giou_ciou_against_numpy(tmp_path):
    rng = np.random.default_rng(2)
    t = {f"m{i}": rng.random((24, 32)) < rng.uniform(0.05, 0.5) for i in range(12)}
    p = {k: np.where(rng.random(v.shape) < 0.2, ~v, v) for k, v in t.items()}
    t["empty"] = np.zeros((24, 32), bool)
    p["empty"] = np.zeros((24, 32), bool)  # both empty: IoU 1
    t["miss"] = np.zeros((24, 32), bool)
    p["miss"] = np.ones((24, 32), bool)  # empty truth, full prediction: IoU 0
    inter = {k: (t[k] & p[k]).sum() for k in t}
    union = {k: (t[k] | p[k]).sum() for k in t}
    iou = {k: inter[k] / union[k] if union[k] else 1.0 for k in t}
    out = api.score(
        "grounding",
        write_mask_zip(tmp_path / "p.zip", p),
        write_mask_zip(tmp_path / "t.zip", t),
        {"box": "mask"},
    )
    assert out["giou"] == pytest.approx(np.mean(list(iou.values())))
    assert out["miou"] == out["giou"]
    assert out["ciou"] == pytest.approx(sum(inter.values()) / sum(union.values()))
    assert out["acc_at_0_5"] == pytest.approx(np.mean([v >= 0.5 for v in iou.values()]))
    # the same masks as COCO RLE JSONL give the same numbers
    rle = [
        {
            "id": k,
            "rle": {
                "size": list(v.shape),
                "counts": mask_utils.encode(np.asfortranarray(v.astype(np.uint8)))[
                    "counts"
                ].decode(),
            },
        }
        for k, v in p.items()
    ]
    out_rle = api.score(
        "grounding",
        write_jsonl(tmp_path / "p.jsonl", rle),
        tmp_path / "t.zip",
        {"box": "mask"},
    )
    assert out_rle["ciou"] == pytest.approx(out["ciou"]) and out_rle[
        "giou"
    ] == pytest.approx(out["giou"])


def test_subset_equals_scoring_subset_alone(tmp_path):
    rng = np.random.default_rng(3)
    t, p = random_boxes(rng, 40), random_boxes(rng, 40)
    p[:20] = t[:20] + 1
    rows_t = [{"id": f"x{i}", "box": t[i].tolist()} for i in range(40)]
    rows_p = [{"id": f"x{i}", "box": p[i].tolist()} for i in range(40)]
    ev = api.evaluate(
        "grounding",
        write_jsonl(tmp_path / "p.jsonl", rows_p),
        write_jsonl(tmp_path / "t.jsonl", rows_t),
    )
    sub = [f"x{i}" for i in range(0, 40, 3)]
    keep = [i for i in range(0, 40, 3)]
    alone = api.score(
        "grounding",
        write_jsonl(tmp_path / "ps.jsonl", [rows_p[i] for i in keep]),
        write_jsonl(tmp_path / "ts.jsonl", [rows_t[i] for i in keep]),
    )
    part = ev.compute(api.subset_index(ev, sub))
    assert (
        part["miou"] == pytest.approx(alone["miou"])
        and part["acc_at_0_5"] == alone["acc_at_0_5"]
    )
    assert ev.samples()["iou"][0] == pytest.approx(
        api.score(
            "grounding",
            write_jsonl(tmp_path / "p1.jsonl", rows_p[:1]),
            write_jsonl(tmp_path / "t1.jsonl", rows_t[:1]),
        )["miou"]
    )


@pytest.mark.parametrize(
    "line,needle",
    [
        (
            '{"id": "b", "polygon": [1, 2, 3, 4, 5, 6, 7]}',
            "pred.jsonl line 2: 'polygon' must be 8 finite numbers",
        ),
        (
            '{"id": "b", "polygon": [1, 2, 3, 4, 5, 6, 7, NaN]}',
            "pred.jsonl line 2: 'polygon' must be 8",
        ),
        ('{"id": "b", "box": [0, 0, 1, 1]', "pred.jsonl line 2: invalid JSON"),
        (
            '{"id": "a", "polygon": [0, 0, 1, 0, 1, 1, 0, 1]}',
            "pred.jsonl line 2: duplicate id 'a'",
        ),
        (
            '{"id": "zz", "polygon": [0, 0, 1, 0, 1, 1, 0, 1]}',
            "1 id(s) not in the test set: 'zz'",
        ),
        ('{"id": "b"}', "pred.jsonl line 2: missing 'polygon'"),
    ],
)
def test_validation_errors(tmp_path, line, needle):
    sq = [0, 0, 1, 0, 1, 1, 0, 1]
    write_jsonl(
        tmp_path / "gt.jsonl", [{"id": "a", "polygon": sq}, {"id": "b", "polygon": sq}]
    )
    (tmp_path / "pred.jsonl").write_text(
        json.dumps({"id": "a", "polygon": sq}) + "\n" + line + "\n"
    )
    with pytest.raises(ValidationError) as exc:
        api.score(
            "grounding", tmp_path / "pred.jsonl", tmp_path / "gt.jsonl", {"box": "obb"}
        )
    assert needle in str(exc.value)


def test_missing_and_mask_shape_errors(tmp_path):
    write_jsonl(
        tmp_path / "gt.jsonl",
        [{"id": "a", "box": [0, 0, 1, 1]}, {"id": "b", "box": [0, 0, 1, 1]}],
    )
    write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "box": [0, 0, 1, 1]}])
    with pytest.raises(ValidationError, match="1 test id\\(s\\) missing: 'b'"):
        api.score("grounding", tmp_path / "p.jsonl", tmp_path / "gt.jsonl")
    write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": "a", "box": [2, 0, 1, 1]}, {"id": "b", "box": [0, 0, 1, 1]}],
    )
    with pytest.raises(ValidationError, match="p.jsonl line 1: 'box' needs x2 >= x1"):
        api.score("grounding", tmp_path / "p.jsonl", tmp_path / "gt.jsonl")
    t = write_mask_zip(tmp_path / "t.zip", {"a": np.zeros((4, 5), bool)})
    p = write_mask_zip(tmp_path / "p.zip", {"a": np.zeros((4, 6), bool)})
    with pytest.raises(
        ValidationError,
        match="p.zip:a.png: mask shape 4x6 differs from the ground truth 4x5",
    ):
        api.score("grounding", p, t, {"box": "mask"})


def test_cli(tmp_path):
    write_jsonl(
        tmp_path / "gt.jsonl",
        [{"id": "a", "box": [0, 0, 10, 10]}, {"id": "b", "box": [0, 0, 10, 10]}],
    )
    write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": "a", "box": [0, 0, 10, 10]}, {"id": "b", "box": [5, 0, 15, 10]}],
    )
    run = lambda p: subprocess.run(  # noqa: E731
        [
            sys.executable,
            "-m",
            "evaluator",
            "score",
            "--kind",
            "grounding",
            "--predictions",
            str(p),
            "--truth",
            str(tmp_path / "gt.jsonl"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    ok = run(tmp_path / "p.jsonl")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["acc_at_0_5"] == 0.5 and out["miou"] == pytest.approx((1 + 1 / 3) / 2)
    write_jsonl(tmp_path / "bad.jsonl", [{"id": "a", "box": [0, 0, 10]}])
    err = run(tmp_path / "bad.jsonl")
    assert err.returncode == 2 and "bad.jsonl line 1" in err.stderr
    assert err.stderr.strip().count("\n") == 0
