"""multilabel kind: parity with scikit-learn (ties included), validation, real sample."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score

from evaluator import api
from evaluator.errors import ValidationError

REPO = Path(__file__).resolve().parents[2]


def write_matrix(path: Path, ids, classes, values, fmt="{:.6g}") -> Path:
    lines = [",".join(["id", *classes])]
    for sid, row in zip(ids, values, strict=True):
        lines.append(",".join([sid, *(fmt.format(v) for v in row)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def reference(y: np.ndarray, s: np.ndarray, threshold: float = 0.5) -> dict:
    """scikit-learn numbers for the documented conventions."""
    has_pos = y.any(axis=0)
    ap = [average_precision_score(y[:, c], s[:, c]) for c in np.flatnonzero(has_pos)]
    p = (s >= threshold).astype(int)
    present = np.flatnonzero(y.any(axis=0) | p.any(axis=0))
    return {
        "macro_map": float(np.mean(ap)),
        "micro_map": average_precision_score(y.ravel(), s.ravel()),
        "macro_f1": f1_score(y, p, average="macro", labels=present),
        "micro_f1": f1_score(y, p, average="micro"),
        "samples_f1": f1_score(y, p, average="samples", zero_division=1.0),
        "per_class": dict(zip(np.flatnonzero(has_pos), ap, strict=True)),
    }


def random_case(seed: int, ties: bool):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(5, 120)), int(rng.integers(2, 9))
    y = (rng.random((n, c)) < rng.uniform(0.1, 0.5)).astype(int)
    s = np.clip(0.35 * y + rng.random((n, c)) * 0.8, 0, 1)
    if ties:  # few distinct values: many tied scores within a class
        s = np.round(s * 4) / 4
    return [f"s{i}" for i in range(n)], [f"c{k}" for k in range(c)], y, s


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(15))
def test_matches_sklearn(tmp_path, seed, ties):
    ids, classes, y, s = random_case(seed, ties)
    if not y.any():
        y[0, 0] = 1
    truth = write_matrix(tmp_path / "truth.csv", ids, classes, y, "{:d}")
    # Prediction columns in another order and rows shuffled: matched by name / id.
    perm_c = np.random.default_rng(seed).permutation(len(classes))
    perm_r = np.random.default_rng(seed + 1).permutation(len(ids))
    pred = write_matrix(
        tmp_path / "pred.csv",
        [ids[i] for i in perm_r],
        [classes[k] for k in perm_c],
        s[perm_r][:, perm_c],
        "{:.17g}",
    )
    out = api.score("multilabel", pred, truth)
    ref = reference(y, s)
    for key in ("macro_map", "micro_map", "macro_f1", "micro_f1", "samples_f1"):
        assert out[key] == pytest.approx(ref[key], abs=1e-9), key
    for k, v in ref["per_class"].items():
        assert out["per_class"][classes[k]] == pytest.approx(v, abs=1e-9)
    for k in range(len(classes)):
        if not y[:, k].any():
            assert out["per_class"][classes[k]] is None
    assert out["primary"] == "macro_map" and out["n_samples"] == len(ids)


def test_f1_equals_sklearn_default_when_every_class_occurs(tmp_path):
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    s = np.array([[0.9, 0.2, 0.5], [0.1, 0.7, 0.6], [0.4, 0.8, 0.1], [0.3, 0.5, 0.95]])
    ids, classes = ["a", "b", "c", "d"], ["x", "y", "z"]
    truth = write_matrix(tmp_path / "t.csv", ids, classes, y, "{:d}")
    pred = write_matrix(tmp_path / "p.csv", ids, classes, s)
    out = api.score("multilabel", pred, truth)
    p = (s >= 0.5).astype(int)  # 0.5 itself is a positive
    assert out["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert out["micro_f1"] == pytest.approx(f1_score(y, p, average="micro"))
    out7 = api.score("multilabel", pred, truth, {"threshold": 0.7})
    p7 = (s >= 0.7).astype(int)
    assert out7["micro_f1"] == pytest.approx(f1_score(y, p7, average="micro"))
    assert out7["threshold"] == 0.7


def test_classes_option_orders_output_and_checks_columns(tmp_path):
    ids, classes, y, s = random_case(1, False)
    truth = write_matrix(tmp_path / "t.csv", ids, classes, y, "{:d}")
    pred = write_matrix(tmp_path / "p.csv", ids, classes, s)
    out = api.score("multilabel", pred, truth, {"classes": classes[::-1]})
    assert list(out["per_class"]) == classes[::-1]
    with pytest.raises(ValidationError, match=r"t.csv line 1: 1 unknown class column"):
        api.score("multilabel", pred, truth, {"classes": classes[1:]})


def test_subset_equals_scoring_the_subset_alone(tmp_path):
    ids, classes, y, s = random_case(4, True)
    truth = write_matrix(tmp_path / "t.csv", ids, classes, y, "{:d}")
    pred = write_matrix(tmp_path / "p.csv", ids, classes, s, "{:.17g}")
    ev = api.evaluate("multilabel", pred, truth)
    sub = np.arange(1, len(ids), 2)
    t2 = write_matrix(
        tmp_path / "t2.csv", [ids[i] for i in sub], classes, y[sub], "{:d}"
    )
    p2 = write_matrix(
        tmp_path / "p2.csv", [ids[i] for i in sub], classes, s[sub], "{:.17g}"
    )
    alone = api.score("multilabel", p2, t2)
    got = ev.compute(sub)
    for key in ("macro_map", "micro_map", "macro_f1", "micro_f1", "samples_f1"):
        assert got[key] == pytest.approx(alone[key], abs=1e-12)
    assert got["per_class"] == pytest.approx(alone["per_class"], abs=1e-12)


# --- validation -----------------------------------------------------------------


@pytest.fixture
def truth_file(tmp_path) -> Path:
    return write_matrix(
        tmp_path / "truth.csv", ["a", "b"], ["x", "y"], [[1, 0], [0, 1]], "{:d}"
    )


@pytest.mark.parametrize(
    "cell,expect",
    [
        ("1.5", "found 1.5"),
        ("-0.1", "found -0.1"),
        ("nan", "found nan"),
        ("high", "'high' is not a number"),
    ],
)
def test_bad_scores_name_file_line_column(tmp_path, truth_file, cell, expect):
    pred = tmp_path / "pred.csv"
    pred.write_text(f"id,x,y\na,0.9,0.1\nb,0.2,{cell}\n")
    with pytest.raises(ValidationError) as exc:
        api.score("multilabel", pred, truth_file)
    msg = str(exc.value)
    assert "pred.csv line 3" in msg and "column 'y'" in msg and expect in msg


def test_truth_must_be_zero_or_one(tmp_path):
    truth = tmp_path / "truth.csv"
    truth.write_text("id,x,y\na,1,0\nb,0,0.5\n")
    pred = write_matrix(tmp_path / "pred.csv", ["a", "b"], ["x", "y"], [[1, 0], [0, 1]])
    with pytest.raises(
        ValidationError, match=r"truth.csv line 3, id 'b', column 'y'.*0 or 1"
    ):
        api.score("multilabel", pred, truth)


def test_missing_and_extra_class_columns(tmp_path, truth_file):
    pred = tmp_path / "pred.csv"
    pred.write_text("id,x\na,0.9\nb,0.2\n")
    with pytest.raises(
        ValidationError, match=r"pred.csv line 1: 1 class column\(s\) missing: 'y'"
    ):
        api.score("multilabel", pred, truth_file)
    pred.write_text("id,x,y,z\na,0.9,0.1,0\nb,0.2,0.3,0\n")
    with pytest.raises(
        ValidationError, match=r"pred.csv line 1: 1 unknown class column\(s\): 'z'"
    ):
        api.score("multilabel", pred, truth_file)
    pred.write_text("id,x,x,y\na,0.9,0.1,0\nb,0.2,0.3,0\n")
    with pytest.raises(ValidationError, match=r"duplicate class column\(s\) 'x'"):
        api.score("multilabel", pred, truth_file)


def test_missing_duplicate_ids_and_header(tmp_path, truth_file):
    pred = tmp_path / "pred.csv"
    pred.write_text("id,x,y\na,0.9,0.1\n")
    with pytest.raises(ValidationError, match=r"1 test id\(s\) missing: 'b'"):
        api.score("multilabel", pred, truth_file)
    pred.write_text("id,x,y\na,0.9,0.1\nb,0.1,0.1\na,0.1,0.1\n")
    with pytest.raises(ValidationError, match=r"line 4: duplicate id 'a'"):
        api.score("multilabel", pred, truth_file)
    pred.write_text("name,x,y\na,0.9,0.1\nb,0.1,0.1\n")
    with pytest.raises(ValidationError, match=r"line 1: header must be 'id,<class1>"):
        api.score("multilabel", pred, truth_file)
    pred.write_text("id,x,y\na,0.9\nb,0.1,0.1\n")
    with pytest.raises(ValidationError, match=r"line 2: expected 3 fields, found 2"):
        api.score("multilabel", pred, truth_file)


def test_bad_threshold_option(tmp_path, truth_file):
    pred = write_matrix(tmp_path / "pred.csv", ["a", "b"], ["x", "y"], [[1, 0], [0, 1]])
    with pytest.raises(ValidationError, match="threshold must be a number"):
        api.score("multilabel", pred, truth_file, {"threshold": "0.5"})


# --- real sample: BigEarthNet v1 label metadata --------------------------------


def test_bigearthnet_v1_labels(shared_data, tmp_path):
    root = shared_data("bigearthnet_v1_gdf_builder_tiny", "tiny")
    metas = sorted(root.rglob("*_labels_metadata.json"))
    assert len(metas) >= 5
    ids = [m.name.removesuffix("_labels_metadata.json") for m in metas]
    label_lists = [json.loads(m.read_text())["labels"] for m in metas]
    classes = sorted({lab for labs in label_lists for lab in labs})
    y = np.array([[int(c in labs) for c in classes] for labs in label_lists])
    # CLC class names contain commas: the CSV writer must quote them.
    truth = tmp_path / "truth.csv"
    with truth.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", *classes])
        w.writerows([sid, *row] for sid, row in zip(ids, y.tolist(), strict=True))
    rng = np.random.default_rng(0)
    s = np.round(np.clip(0.5 * y + 0.6 * rng.random(y.shape), 0, 1), 2)
    pred = tmp_path / "pred.csv"
    with pred.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", *classes[::-1]])
        w.writerows([sid, *row[::-1]] for sid, row in zip(ids, s.tolist(), strict=True))
    out = api.score("multilabel", pred, truth)
    ref = reference(y, s)
    for key in ("macro_map", "micro_map", "macro_f1", "micro_f1", "samples_f1"):
        assert out[key] == pytest.approx(ref[key], abs=1e-9), key
    assert out["n_samples"] == len(ids)


# --- CLI ------------------------------------------------------------------------


@pytest.mark.slow  # the subprocess imports every registered kind
def test_cli(tmp_path, truth_file):
    pred = write_matrix(
        tmp_path / "pred.csv", ["a", "b"], ["y", "x"], [[0.2, 0.9], [0.6, 0.4]]
    )
    base = [sys.executable, "-m", "evaluator", "score", "--kind", "multilabel"]
    ok = subprocess.run(
        [*base, "--predictions", str(pred), "--truth", str(truth_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["macro_map"] == 1.0 and out["samples_f1"] == 1.0
    bad = tmp_path / "bad.csv"
    bad.write_text("id,x,y\na,0.9,2\nb,0.1,0.1\n")
    err = subprocess.run(
        [*base, "--predictions", str(bad), "--truth", str(truth_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert err.returncode == 2 and len(err.stderr.strip().splitlines()) == 1
    assert "bad.csv line 2" in err.stderr


@pytest.mark.parametrize("seed", range(5))
def test_resample_with_repeats_matches_sklearn_on_duplicated_rows(tmp_path, seed):
    # compute(index) works on sample weights; a bootstrap resample must equal
    # sklearn on the physically duplicated rows.
    ids, classes, y, s = random_case(seed + 100, ties=True)
    truth = write_matrix(tmp_path / "t.csv", ids, classes, y, "{:d}")
    pred = write_matrix(tmp_path / "p.csv", ids, classes, s, "{:.17g}")
    ev = api.evaluate("multilabel", pred, truth)
    idx = np.random.default_rng(seed).integers(0, len(ids), len(ids))
    got = ev.compute(idx)
    yy, ss = y[idx], s[idx]
    if not yy.any():
        pytest.skip("resample without positives")
    ref = reference(yy, ss)
    for key in ("macro_map", "micro_map", "macro_f1", "micro_f1", "samples_f1"):
        assert got[key] == pytest.approx(ref[key], abs=1e-9), key
