"""referring-segmentation kind: gIoU/cIoU/Prec@t vs a transcription of the
LAVT-style evaluation loop (and GRES's empty-target rule)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluator import api
from evaluator.errors import ValidationError

REPO = Path(__file__).resolve().parents[2]
KIND = "referring-segmentation"


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def write_zip(path: Path, masks: dict[str, np.ndarray]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for sid, arr in masks.items():
            zf.writestr(f"{sid}.png", png_bytes(arr))
    return path


def score(tmp_path, truth, pred, **options):
    t = write_zip(tmp_path / "truth.zip", truth)
    p = write_zip(tmp_path / "pred.zip", pred)
    return api.score(KIND, p, t, options)


def lavt_style_eval(truth, pred, both_empty_iou):
    """The per-sample loop of LAVT/ReLA ``evaluate``: cum_I/cum_U, mean of
    this_iou, seg_correct at 0.5..0.9 (both-empty IoU given explicitly)."""
    cum_i = cum_u = 0
    ious = []
    eval_seg_iou_list = [0.5, 0.6, 0.7, 0.8, 0.9]
    seg_correct = np.zeros(len(eval_seg_iou_list), dtype=np.int32)
    for k in sorted(truth):
        t, p = truth[k] > 0, pred[k] > 0
        inter, union = np.sum(t & p), np.sum(t | p)
        this_iou = both_empty_iou if union == 0 else inter / union
        ious.append(this_iou)
        cum_i += inter
        cum_u += union
        for j, thr in enumerate(eval_seg_iou_list):
            seg_correct[j] += this_iou >= thr
    out = {"giou": float(np.mean(ious)), "ciou": cum_i / cum_u}
    for j, t in enumerate(range(5, 10)):
        out[f"prec_at_0_{t}"] = seg_correct[j] / len(ious)
    return out


def random_expressions(rng, n=12, shape=(16, 20), n_empty=2):
    truth, pred = {}, {}
    for i in range(n):
        t = np.zeros(shape, np.uint8)
        if i >= n_empty:
            y, x = rng.integers(0, shape[0] - 4), rng.integers(0, shape[1] - 4)
            t[y : y + rng.integers(2, 8), x : x + rng.integers(2, 9)] = 1
        p = np.roll(t, rng.integers(-2, 3), axis=int(rng.integers(0, 2)))
        if i == 0:  # empty truth, empty prediction
            p = np.zeros(shape, np.uint8)
        elif i == 1:  # empty truth, spurious prediction
            p[2:4, 2:4] = 1
        truth[f"expr{i:03d}"] = t
        pred[f"expr{i:03d}"] = (p * 255).astype(np.uint8)  # 0/255 is fine
    return truth, pred


KEYS = ("giou", "ciou", *[f"prec_at_0_{t}" for t in range(5, 10)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_lavt_style_loop_with_gres_empty_rule(tmp_path, seed):
    truth, pred = random_expressions(np.random.default_rng(seed))
    res = score(tmp_path, truth, pred)
    ref = lavt_style_eval(truth, pred, both_empty_iou=1.0)
    for k in KEYS:
        assert res[k] == pytest.approx(ref[k], rel=1e-9), k
    assert res["empty_target"] == "iou_one_if_both_empty" and res["primary"] == "giou"
    assert res["n_acc"] == 0.5 and res["n_no_target"] == 2


def test_empty_target_zero_and_exclude(tmp_path):
    truth, pred = random_expressions(np.random.default_rng(3))
    zero = score(tmp_path, truth, pred, empty_target="iou_zero_if_both_empty")
    ref = lavt_style_eval(truth, pred, both_empty_iou=0.0)
    for k in KEYS:
        assert zero[k] == pytest.approx(ref[k], rel=1e-9), k
    excl = score(tmp_path, truth, pred, empty_target="exclude")
    ref = lavt_style_eval(
        {k: v for k, v in truth.items() if k != "expr000"},
        {k: v for k, v in pred.items() if k != "expr000"},
        both_empty_iou=None,
    )
    for k in KEYS:
        assert excl[k] == pytest.approx(ref[k], rel=1e-9), k


def test_threshold_is_inclusive_and_exact(tmp_path):
    # IoU exactly 0.7 (7/10) must count for prec_at_0_7.
    t = np.zeros((1, 10), np.uint8)
    t[0, :10] = 1
    p = np.zeros((1, 10), np.uint8)
    p[0, :7] = 1
    res = score(tmp_path, {"a": t}, {"a": p})
    assert res["giou"] == pytest.approx(0.7)
    assert res["prec_at_0_7"] == 1.0 and res["prec_at_0_8"] == 0.0


def test_ciou_differs_from_giou_and_subset_consistency(tmp_path):
    truth, pred = random_expressions(np.random.default_rng(4), n=8, n_empty=0)
    t = write_zip(tmp_path / "truth.zip", truth)
    p = write_zip(tmp_path / "pred.zip", pred)
    ev = api.evaluate(KIND, p, t, {})
    full = ev.compute()
    assert full["giou"] != pytest.approx(full["ciou"])
    sub = ["expr001", "expr003", "expr006"]
    got = ev.compute(api.subset_index(ev, sub))
    (tmp_path / "s").mkdir()
    assert got == score(
        tmp_path / "s", {k: truth[k] for k in sub}, {k: pred[k] for k in sub}
    )
    s = ev.samples()
    k = ev.sample_ids[2]
    assert s["intersection"][2] == np.sum((truth[k] > 0) & (pred[k] > 0))
    assert s["union"][2] == np.sum((truth[k] > 0) | (pred[k] > 0))


def test_npz_predictions_bool(tmp_path):
    truth, pred = random_expressions(np.random.default_rng(5), n=4, n_empty=1)
    write_zip(tmp_path / "truth.zip", truth)
    np.savez(tmp_path / "pred.npz", **{k: v > 0 for k, v in pred.items()})
    res = api.score(KIND, tmp_path / "pred.npz", tmp_path / "truth.zip", {})
    assert res["giou"] == pytest.approx(
        lavt_style_eval(truth, pred, 1.0)["giou"], rel=1e-9
    )


def _error(tmp_path, truth, pred, **options) -> str:
    with pytest.raises(ValidationError) as exc:
        score(tmp_path, truth, pred, **options)
    return str(exc.value)


def test_validation_messages(tmp_path):
    t = {"e1": np.zeros((8, 8), np.uint8), "e2": np.zeros((8, 8), np.uint8)}
    msg = _error(tmp_path, t, {"e1": t["e1"], "e2": np.zeros((4, 8), np.uint8)})
    assert "pred.zip:e2.png" in msg and "4x8" in msg and "8x8" in msg
    msg = _error(tmp_path, t, {"e1": t["e1"]})
    assert "missing" in msg and "'e2'" in msg
    msg = _error(tmp_path, t, {**t, "e1": np.zeros((8, 8, 3), np.uint8)})
    assert "pred.zip:e1.png" in msg and "3 channels" in msg
    assert "empty_target" in _error(tmp_path, t, t, empty_target="one")


def test_malicious_zip_rejected(tmp_path):
    write_zip(tmp_path / "truth.zip", {"a": np.zeros((4, 4), np.uint8)})
    with zipfile.ZipFile(tmp_path / "pred.zip", "w") as zf:
        zf.writestr("x/../../a.png", png_bytes(np.zeros((4, 4), np.uint8)))
    with pytest.raises(ValidationError, match="unsafe path"):
        api.score(KIND, tmp_path / "pred.zip", tmp_path / "truth.zip", {})


def test_real_levir_building_masks_as_expressions(tmp_path, shared_data):
    # Real binary masks (LEVIR-CD 0/255) standing in for per-expression targets.
    labels = shared_data("levir_cd_bitcd_samples", "label")
    res = api.score(KIND, labels, labels, {})
    assert res["giou"] == 1.0 and res["ciou"] == 1.0 and res["prec_at_0_9"] == 1.0
    truth = {p.stem: np.asarray(Image.open(p)) for p in sorted(labels.glob("*.png"))}
    pred = {k: np.roll(v, 4, axis=1) for k, v in truth.items()}
    res = api.score(KIND, write_zip(tmp_path / "pred.zip", pred), labels, {})
    ref = lavt_style_eval(truth, pred, 1.0)
    for k in KEYS:
        assert res[k] == pytest.approx(ref[k], rel=1e-9), k


def test_cli_ok_and_error(tmp_path):
    t = write_zip(tmp_path / "truth.zip", {"a": np.eye(4, dtype=np.uint8)})
    cmd = [sys.executable, "-m", "evaluator", "score", "--kind", KIND, "--truth", t]
    env = {"EARTHBENCH_DEVICE": "cpu", "PATH": ""}
    ok = subprocess.run(
        [*cmd, "--predictions", t, "--samples"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["giou"] == 1.0 and out["samples"]["iou"] == [1.0]
    bad = write_zip(tmp_path / "bad.zip", {"b": np.eye(4, dtype=np.uint8)})
    err = subprocess.run(
        [*cmd, "--predictions", bad], capture_output=True, text=True, cwd=REPO, env=env
    )
    assert err.returncode == 2 and len(err.stderr.strip().splitlines()) == 1
    assert "bad.zip" in err.stderr
