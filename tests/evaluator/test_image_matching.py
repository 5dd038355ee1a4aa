"""image-matching: corner-error AUC against a LoFTR error_auc reimplementation,
hand cases, degenerate homographies, validation and CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evaluator import api
from evaluator.errors import ValidationError

REPO = Path(__file__).resolve().parents[2]


# ---- independent references -------------------------------------------------


def loftr_error_auc(errors, thresholds):
    """LoFTR ``src/utils/metrics.py::error_auc`` (thresholds as a parameter;
    np.trapz renamed np.trapezoid in numpy 2)."""
    errors = [0] + sorted(list(errors))
    recall = list(np.linspace(0, 1, len(errors)))
    aucs = []
    for thr in thresholds:
        last_index = np.searchsorted(errors, thr)
        y = recall[:last_index] + [recall[last_index - 1]]
        x = errors[:last_index] + [thr]
        aucs.append(np.trapezoid(y, x) / thr)
    return aucs


def patch2pix_corner_error(H_gt, H_pred, w, h):
    """Patch2Pix/DKM HPatches corner error, one pair at a time."""
    corners = np.array([[0, 0, 1], [0, h - 1, 1], [w - 1, 0, 1], [w - 1, h - 1, 1]])
    real = np.dot(corners, np.transpose(H_gt))
    real = real[:, :2] / real[:, 2:]
    warped = np.dot(corners, np.transpose(H_pred))
    warped = warped[:, :2] / warped[:, 2:]
    return np.mean(np.linalg.norm(real - warped, axis=1))


# ---- helpers ----------------------------------------------------------------


def write(tmp_path: Path, truth: dict, pred: dict) -> tuple[Path, Path]:
    t = tmp_path / "truth.json"
    p = tmp_path / "pred.json"
    t.write_text(json.dumps(truth))
    p.write_text(json.dumps(pred))
    return p, t


def translation(dx, dy):
    return [[1, 0, dx], [0, 1, dy], [0, 0, 1]]


def truth_entry(H, w=640, h=480):
    return {"H": np.asarray(H, dtype=float).tolist(), "width": w, "height": h}


def random_homography(rng):
    H = np.eye(3) + rng.normal(0, 0.05, (3, 3)) * [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    H[:2, 2] = rng.normal(0, 40, 2)
    H[2, :2] = rng.normal(0, 2e-4, 2)
    return H


# ---- metric -----------------------------------------------------------------


def test_hand_computed_auc_success_and_mean(tmp_path):
    # Pure translations give corner errors 1, 2, 4 exactly; q3 is missing -> inf.
    truth = {f"q{i}": truth_entry(np.eye(3)) for i in range(4)}
    pred = {
        "q0": translation(1, 0),
        "q1": translation(0, 2),
        "q2": translation(0, -4),
        "q3": None,
    }
    p, t = write(tmp_path, truth, pred)
    got = api.score("image-matching", p, t)
    # e = [0,1,2,4,inf], recall = [0,.25,.5,.75,1]:
    # @3: (.125 + .375 + .5) / 3; @5: (.125 + .375 + 1.25 + .75) / 5;
    # @10: (.125 + .375 + 1.25 + 4.5) / 10
    assert got["auc_at_3"] == pytest.approx(1.0 / 3)
    assert got["auc_at_5"] == pytest.approx(0.5)
    assert got["auc_at_10"] == pytest.approx(0.625)
    assert got["success_at_3"] == 0.5 and got["success_at_5"] == 0.75
    assert got["success_at_10"] == 0.75
    assert got["mean_corner_error"] == pytest.approx(7 / 3)
    assert got["n_degenerate"] == 1 and got["primary"] == "auc_at_10"


def test_hand_computed_scale_corner_error(tmp_path):
    # 11x11 image, corners (0,0),(10,0),(10,10),(0,10); scale 2 moves them by
    # 0, 10, 10*sqrt(2), 10 pixels.
    truth = {"a": truth_entry(np.eye(3), 11, 11)}
    p, t = write(tmp_path, truth, {"a": [2, 0, 0, 0, 2, 0, 0, 0, 1]})
    ev = api.evaluate("image-matching", p, t)
    assert ev.errors[0] == pytest.approx((20 + 10 * math.sqrt(2)) / 4)
    # edge convention: corners at 11 -> 0, 11, 11*sqrt(2), 11
    ev = api.evaluate("image-matching", p, t, {"corners": "edge"})
    assert ev.errors[0] == pytest.approx((22 + 11 * math.sqrt(2)) / 4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_loftr_error_auc_and_patch2pix_corners(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n = 150
    truth, pred, errs = {}, {}, []
    for i in range(n):
        Hg = random_homography(rng)
        w, h = int(rng.integers(200, 1200)), int(rng.integers(200, 1200))
        Hp = Hg + rng.normal(0, 10 ** rng.uniform(-5, -2), (3, 3)) * [
            [1, 1, 50],
            [1, 1, 50],
            [1e-3, 1e-3, 1],
        ]
        truth[f"pair{i}"] = {"H": Hg.tolist(), "width": w, "height": h}
        pred[f"pair{i}"] = Hp.tolist()
        errs.append(patch2pix_corner_error(Hg, Hp, w, h))
    p, t = write(tmp_path, truth, pred)
    got = api.score("image-matching", p, t, {"thresholds_px": [3, 5, 10, 20]})
    ref = loftr_error_auc(errs, [3, 5, 10, 20])
    for key, want in zip(
        ["auc_at_3", "auc_at_5", "auc_at_10", "auc_at_20"], ref, strict=True
    ):
        assert got[key] == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert got["success_at_5"] == pytest.approx(np.mean(np.array(errs) < 5))
    assert got["mean_corner_error"] == pytest.approx(np.mean(errs), rel=1e-9)
    assert 0.05 < got["auc_at_10"] < 0.95  # the seeded errors straddle the thresholds


def test_degenerate_homographies_are_infinite(tmp_path):
    W, H = 101, 51
    truth = {k: truth_entry(np.eye(3), W, H) for k in "abcdef"}
    pred = {
        "a": None,  # null
        "b": [[1, 2, 3], [2, 4, 6], [0, 0, 1]],  # singular (rank 2)
        "c": [[1, 0, 0], [0, 1, 0], [-1 / (W - 1), 0, 1]],  # corner (W-1, 0) -> w = 0
        "d": [[1, 0, 0], [0, 1, 0], [0, 0, 0]],  # every w = 0
        "e": np.eye(3).ravel().tolist(),  # flat identity: exact
        "f": [[1, 0, 0.5], [0, 1, 0], [0, 0, 1]],
    }
    p, t = write(tmp_path, truth, pred)
    ev = api.evaluate("image-matching", p, t)
    assert np.isinf(ev.errors[:4]).all()
    assert ev.errors[4] == 0.0 and ev.errors[5] == pytest.approx(0.5)
    assert ev.samples()["corner_error"][:4] == [None] * 4
    out = ev.compute()
    assert out["n_degenerate"] == 4 and out["mean_corner_error"] == pytest.approx(0.25)
    # NaN written by Python's json counts as non-finite too
    (tmp_path / "pred.json").write_text(
        '{"a": [NaN,0,0,0,1,0,0,0,1], "b":null,"c":null,"d":null,"e":null,"f":null}'
    )
    assert np.isinf(api.evaluate("image-matching", p, t).errors).all()


def test_partial_and_subset_consistency(tmp_path):
    rng = np.random.default_rng(4)
    truth, pred = {}, {}
    for i in range(40):
        Hg = random_homography(rng)
        truth[f"k{i}"] = truth_entry(Hg, 300, 200)
        if i % 7:
            pred[f"k{i}"] = (
                Hg + rng.normal(0, 1e-3, (3, 3)) * [[1, 1, 100], [1, 1, 100], [0, 0, 0]]
            ).tolist()
    p, t = write(tmp_path, truth, pred)
    with pytest.raises(
        ValidationError, match=r"pred.json: 6 test pair id\(s\) missing: 'k0', 'k7'"
    ):
        api.score("image-matching", p, t)
    ev = api.evaluate("image-matching", p, t, {"partial": True})
    assert ev.compute()["n_degenerate"] == 6
    idx = np.array([1, 2, 3, 8, 9, 20, 21])
    sub = tmp_path / "sub"
    sub.mkdir()
    ids = [ev.sample_ids[i] for i in idx]
    # k21 is missing: partial scoring of the subset must count it the same way
    ps, ts = write(
        sub, {k: truth[k] for k in ids}, {k: pred[k] for k in ids if k in pred}
    )
    assert ev.compute(idx) == api.score("image-matching", ps, ts, {"partial": True})


def test_threshold_option_and_keys(tmp_path):
    p, t = write(tmp_path, {"a": truth_entry(np.eye(3))}, {"a": translation(1, 0)})
    got = api.score("image-matching", p, t, {"thresholds_px": [2.5, 1]})
    assert got["auc_at_2_5"] == pytest.approx((0.5 + 1.5) / 2.5)  # flat at 1 from e=1
    assert got["auc_at_1"] == pytest.approx(0.0)  # e = 1 is not below 1
    assert got["primary"] == "auc_at_2_5"
    with pytest.raises(
        ValidationError, match="option thresholds_px must be a list of positive numbers"
    ):
        api.score("image-matching", p, t, {"thresholds_px": [0]})


# ---- validation -------------------------------------------------------------


@pytest.fixture
def truth_file(tmp_path):
    (tmp_path / "truth.json").write_text(
        json.dumps({"a": truth_entry(np.eye(3)), "b": truth_entry(np.eye(3))})
    )
    return tmp_path


def run(tmp_path, pred_text: str):
    (tmp_path / "pred.json").write_text(pred_text)
    return api.score("image-matching", tmp_path / "pred.json", tmp_path / "truth.json")


def test_validation_messages(truth_file):
    ok = json.dumps(np.eye(3).tolist())
    with pytest.raises(
        ValidationError,
        match=r"pred.json: pair 'b': expected a 3x3 homography .* found a list of 2",
    ):
        run(truth_file, f'{{"a": {ok}, "b": [[1,0,0],[0,1,0]]}}')
    with pytest.raises(
        ValidationError,
        match=r"pred.json: pair 'a': homography entries must be numbers, found '1'",
    ):
        run(truth_file, f'{{"a": [["1",0,0],[0,1,0],[0,0,1]], "b": {ok}}}')
    with pytest.raises(
        ValidationError, match=r"pred.json: 1 pair id\(s\) not in the test set: 'zz'"
    ):
        run(truth_file, f'{{"a": {ok}, "b": {ok}, "zz": {ok}}}')
    with pytest.raises(
        ValidationError,
        match=r"pred.json line 1: duplicate pair_id 'a' \(first on line 1\)",
    ):
        run(truth_file, f'{{"a": {ok}, "a": {ok}, "b": {ok}}}')
    with pytest.raises(ValidationError, match=r"pred.json line 2: not valid JSON"):
        run(truth_file, '{"a":\n [1, 2,, 3]}')
    with pytest.raises(ValidationError, match=r"expected a JSON object"):
        run(truth_file, "[1, 2]")


def test_truth_validation(tmp_path):
    (tmp_path / "truth.json").write_text(
        json.dumps({"a": {"H": np.eye(3).tolist(), "width": 0, "height": 4}})
    )
    with pytest.raises(
        ValidationError, match=r"truth.json: pair 'a': width must be > 0"
    ):
        run(tmp_path, '{"a": null}')
    (tmp_path / "truth.json").write_text(
        json.dumps({"a": {"H": np.zeros((3, 3)).tolist(), "width": 4, "height": 4}})
    )
    with pytest.raises(
        ValidationError, match=r"truth contains a degenerate homography"
    ):
        run(tmp_path, '{"a": null}')


def test_cli_ok_and_error(truth_file):
    (truth_file / "pred.json").write_text(
        json.dumps({"a": translation(1, 0), "b": np.eye(3).ravel().tolist()})
    )
    cmd = [
        sys.executable,
        "-m",
        "evaluator",
        "score",
        "--kind",
        "image-matching",
        "--predictions",
        str(truth_file / "pred.json"),
        "--truth",
        str(truth_file / "truth.json"),
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["success_at_3"] == 1.0 and out["mean_corner_error"] == pytest.approx(0.5)
    (truth_file / "pred.json").write_text(json.dumps({"a": [1, 2]}))
    bad = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "1 test pair id(s) missing: 'b'" in bad.stderr
