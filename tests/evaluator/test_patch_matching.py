"""patch-matching: FPR95 and ROC-AUC against scikit-learn, hand cases, validation."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.kinds.patch_matching import fpr_at_tpr

REPO = Path(__file__).resolve().parents[2]


def sklearn_fpr95(y: np.ndarray, d: np.ndarray) -> float:
    """Reference: first ROC point (no interpolation, no dropped points) with
    TPR >= 0.95; thresholds on -distance put tied distances together."""
    fpr, tpr, _ = roc_curve(y, -d, drop_intermediate=False)
    return float(fpr[np.argmax(tpr >= 0.95)])


def write_csv(path: Path, header, rows) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_case(tmp_path: Path, ids, y, d) -> tuple[Path, Path]:
    t = write_csv(
        tmp_path / "truth.csv",
        ["pair_id", "is_match"],
        zip(ids, y.astype(int), strict=True),
    )
    p = write_csv(
        tmp_path / "pred.csv",
        ["pair_id", "distance"],
        zip(ids, [repr(float(x)) for x in d], strict=True),
    )
    return p, t


@pytest.mark.parametrize("seed,decimals", [(0, None), (1, 1), (2, 0), (3, 2)])
def test_matches_sklearn_on_random_data_with_ties(tmp_path, seed, decimals):
    rng = np.random.default_rng(seed)
    n = 600
    y = rng.random(n) < 0.4
    d = np.where(y, rng.normal(1.0, 0.6, n), rng.normal(2.0, 0.7, n))
    if decimals is not None:
        d = np.round(d, decimals)  # heavy ties, across classes too
    ids = [f"p{i}" for i in rng.permutation(n)]
    p, t = write_case(tmp_path, ids, y, d)
    got = api.score("patch-matching", p, t)
    assert got["fpr95"] == pytest.approx(sklearn_fpr95(y, d), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, -d), rel=1e-9)
    assert got["primary"] == "fpr95" and got["n_samples"] == n


def test_hand_case_and_not_the_false_discovery_rate():
    # 20 positives at distances 1..20, negatives at 0.5, 10.5 and 25.
    y = np.array([1] * 20 + [0, 0, 0], dtype=bool)
    d = np.array(list(range(1, 21)) + [0.5, 10.5, 25.0])
    # TPR reaches 19/20 = 0.95 at threshold 19: FP = 2 (0.5, 10.5), TN = 1.
    assert fpr_at_tpr(y, d) == pytest.approx(2 / 3)
    # the false-discovery variant FP/(FP+TP) would be 2/21: not what we compute
    assert fpr_at_tpr(y, d) != pytest.approx(2 / 21)


def test_ties_fall_on_the_same_side():
    # 20 positives at 1..20 and one negative tied with the 19th positive (19):
    # threshold 19 accepts both, so FP = 1 of 2 negatives.
    y = np.array([1] * 20 + [0, 0], dtype=bool)
    d = np.array(list(range(1, 21)) + [19.0, 30.0])
    assert fpr_at_tpr(y, d) == pytest.approx(0.5)
    assert sklearn_fpr95(y, d) == pytest.approx(0.5)
    # if the negative were just above 19, it would not count
    d2 = d.copy()
    d2[20] = 19.5
    assert fpr_at_tpr(y, d2) == 0.0


def test_real_vis_lwir_labels_with_seeded_distances(tmp_path, shared_data):
    path = shared_data("vis_lwir_patch_pairs_lists", "finally_test.txt")
    rows = [line.strip().split(",") for line in open(path) if line.strip()]
    assert len(rows) == 4274
    ids = [f"{img}_{lw}_{vis}_{k}" for k, (img, lw, vis, _) in enumerate(rows)]
    y = np.array([int(r[3]) for r in rows]) == 1
    assert 0.4 < y.mean() < 0.6  # roughly balanced, as the dataset card says
    rng = np.random.default_rng(42)
    d = np.round(
        np.where(y, rng.gamma(2.0, 0.4, len(y)), rng.gamma(4.0, 0.5, len(y))), 2
    )
    p, t = write_case(tmp_path, ids, y, d)
    got = api.score("patch-matching", p, t)
    assert got["fpr95"] == pytest.approx(sklearn_fpr95(y, d), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, -d), rel=1e-9)


def test_subset_equals_separate_scoring(tmp_path):
    rng = np.random.default_rng(9)
    n = 300
    y = rng.random(n) < 0.5
    d = np.round(rng.normal(y * -1.0, 1.0), 1)
    ids = [f"id{i}" for i in range(n)]
    p, t = write_case(tmp_path, ids, y, d)
    ev = api.evaluate("patch-matching", p, t)
    idx = np.flatnonzero(rng.random(n) < 0.3)
    (tmp_path / "sub").mkdir()
    ps, ts = write_case(tmp_path / "sub", [ids[i] for i in idx], y[idx], d[idx])
    assert ev.compute(idx) == api.score("patch-matching", ps, ts)
    # a resample without negatives has undefined metrics, not a crash
    only_pos = np.flatnonzero(y)[:5]
    assert ev.compute(only_pos)["fpr95"] is None


def test_partial_gives_missing_pairs_infinite_distance(tmp_path):
    y = np.array([1] * 19 + [1, 0], dtype=bool)
    d = np.arange(21, dtype=float)
    ids = [f"q{i}" for i in range(21)]
    write_csv(
        tmp_path / "truth.csv",
        ["pair_id", "is_match"],
        zip(ids, y.astype(int), strict=True),
    )
    # drop the positive q19: it gets +inf, after the negative q20 at 20
    write_csv(
        tmp_path / "pred.csv",
        ["pair_id", "distance"],
        [(i, x) for i, x in zip(ids, d, strict=True) if i != "q19"],
    )
    with pytest.raises(
        ValidationError, match=r"pred.csv: 1 test pair id\(s\) missing: 'q19'"
    ):
        api.score("patch-matching", tmp_path / "pred.csv", tmp_path / "truth.csv")
    got = api.score(
        "patch-matching",
        tmp_path / "pred.csv",
        tmp_path / "truth.csv",
        {"partial": True},
    )
    # TPR 19/20 is reached at distance 18 before the negative: FPR95 = 0
    assert got["fpr95"] == 0.0
    # sklearn refuses inf: any distance above all others ranks the same
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, -np.r_[d[:19], 1e9, d[20]]))


# ----------------------------------------------------------------- validation


@pytest.fixture
def files(tmp_path):
    ids = ["a", "b", "c", "d"]
    write_csv(
        tmp_path / "truth.csv",
        ["pair_id", "is_match"],
        zip(ids, [1, 0, 1, 0], strict=True),
    )
    return tmp_path


def run(tmp_path, rows, header=("pair_id", "distance")):
    write_csv(tmp_path / "pred.csv", header, rows)
    return api.score("patch-matching", tmp_path / "pred.csv", tmp_path / "truth.csv")


def test_validation_messages(files):
    with pytest.raises(
        ValidationError,
        match=r"pred.csv line 3: distance 'far' of pair 'b' is not a number",
    ):
        run(files, [("a", 1), ("b", "far"), ("c", 1), ("d", 2)])
    with pytest.raises(
        ValidationError,
        match=r"pred.csv line 4: distance 'nan' of pair 'c' must be a real number",
    ):
        run(files, [("a", 1), ("b", 2), ("c", "nan"), ("d", 2)])
    with pytest.raises(
        ValidationError,
        match=r"pred.csv line 4: duplicate pair_id 'a' \(first on line 2\)",
    ):
        run(files, [("a", 1), ("b", 2), ("a", 1), ("d", 2)])
    with pytest.raises(
        ValidationError, match=r"pred.csv: 1 pair id\(s\) not in the test set: 'zz'"
    ):
        run(files, [("a", 1), ("b", 2), ("c", 1), ("d", 2), ("zz", 3)])
    with pytest.raises(
        ValidationError,
        match=r"pred.csv line 1: header must be 'pair_id,distance', found 'pair_id,score'",
    ):
        run(files, [("a", 1)], header=("pair_id", "score"))
    assert run(files, [("a", 1), ("b", "inf"), ("c", 1), ("d", 2)])["roc_auc"] == 1.0


def test_truth_validation(files):
    write_csv(files / "truth.csv", ["pair_id", "is_match"], [("a", 1), ("b", "maybe")])
    with pytest.raises(
        ValidationError,
        match=r"truth.csv line 3: is_match must be 0 or 1, found 'maybe'",
    ):
        run(files, [("a", 1), ("b", 2)])
    write_csv(files / "truth.csv", ["pair_id", "is_match"], [("a", 1), ("b", 1)])
    with pytest.raises(
        ValidationError, match=r"needs both matching and non-matching pairs"
    ):
        run(files, [("a", 1), ("b", 2)])


def test_cli_ok_and_error(files):
    write_csv(
        files / "pred.csv",
        ["pair_id", "distance"],
        [("a", 0.1), ("b", 0.9), ("c", 0.2), ("d", 0.3)],
    )
    cmd = [
        sys.executable,
        "-m",
        "evaluator",
        "score",
        "--kind",
        "patch-matching",
        "--predictions",
        str(files / "pred.csv"),
        "--truth",
        str(files / "truth.csv"),
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    # both positives (0.1, 0.2) come before both negatives
    assert out["fpr95"] == 0.0 and out["roc_auc"] == 1.0
    write_csv(files / "pred.csv", ["pair_id", "distance"], [("a", 0.1)])
    bad = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "3 test pair id(s) missing" in bad.stderr
