"""embedding-probe kind, multi-label truth: parity with a direct scikit-learn
pipeline, hand-computed scores, subsets, options, label-list errors, CLI."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from evaluator import api, cli
from evaluator.errors import ValidationError
from tests.evaluator.embedding_cases import make_case, reference, write_npz, write_truth


def make_ml_case(seed: int, n: int = 120, d: int = 12, n_classes: int = 5):
    """Embeddings near the mean of their labels' centres; >= 1 label per row."""
    rng = np.random.default_rng(seed)
    y = rng.random((n, n_classes)) < 0.35
    y[np.arange(n), rng.integers(0, n_classes, n)] = True
    centres = rng.normal(size=(n_classes, d))
    emb = (y @ centres / y.sum(1, keepdims=True) + rng.normal(size=(n, d))).astype(
        np.float32
    )
    classes = [f"class {k}" for k in range(n_classes)]  # spaces are part of names
    # Random spacing around the separator: it is stripped.
    cells = [
        rng.choice(["|", " | ", "| "]).join(classes[k] for k in np.flatnonzero(row))
        for row in y
    ]
    ids = [f"img_{i:04d}" for i in range(n)]
    is_train = rng.random(n) < 0.6
    return ids, emb, cells, is_train, y, classes


def write_csv(path: Path, rows, header=("id", "label")) -> None:
    with open(path, "w", newline="") as fh:  # csv module: quotes commas
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def write_ml_truth(root: Path, ids, cells, is_train) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split, flag in (("train", True), ("test", False)):
        rows = [
            (s, c) for s, c, t in zip(ids, cells, is_train, strict=True) if t == flag
        ]
        write_csv(root / f"{split}.csv", rows)
    return root


def ml_reference(emb, y, is_train, knn_k=5, seed=0, index=None):
    """Direct sklearn probes + average_precision_score; ``index`` picks test rows."""
    x = emb.astype(np.float64)
    tr, te = is_train, ~is_train
    nn = NearestNeighbors(n_neighbors=knn_k, metric="cosine").fit(x[tr])
    neigh = nn.kneighbors(x[te], return_distance=False)
    knn_s = np.stack([y[tr][row].sum(0) / knn_k for row in neigh])
    ovr = OneVsRestClassifier(
        make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lin_s = ovr.fit(x[tr], y[tr].astype(int)).predict_proba(x[te])
    yt = y[te].astype(int)
    if index is not None:
        yt, knn_s, lin_s = yt[index], knn_s[index], lin_s[index]
    out = {}
    for name, s in (("knn", knn_s), ("linear", lin_s)):
        has = yt.sum(0) > 0
        per = [average_precision_score(yt[:, c], s[:, c]) for c in np.flatnonzero(has)]
        out[f"{name}_map"] = float(np.mean(per))
        out[f"{name}_micro_map"] = float(average_precision_score(yt.ravel(), s.ravel()))
        out[f"{name}_per_class"] = dict(
            zip(np.flatnonzero(has).tolist(), per, strict=True)
        )
    return out


ML_KEYS = ("knn_map", "linear_map", "knn_micro_map", "linear_micro_map")


@pytest.mark.parametrize("seed,knn_k", [(0, 5), (1, 1), (2, 7), (3, 5)])
def test_multilabel_matches_direct_sklearn_pipeline(tmp_path, seed, knn_k):
    ids, emb, cells, is_train, y, classes = make_ml_case(seed)
    truth = write_ml_truth(tmp_path / "truth", ids, cells, is_train)
    perm = np.random.default_rng(seed).permutation(len(ids))
    pred = write_npz(tmp_path / "emb.npz", [ids[i] for i in perm], emb[perm])
    out = api.score("embedding-probe", pred, truth, {"knn_k": knn_k})
    ref = ml_reference(emb, y, is_train, knn_k=knn_k)
    for key in ML_KEYS:
        assert out[key] == pytest.approx(ref[key], abs=1e-9), key
    for c, name in enumerate(classes):
        for probe in ("knn", "linear"):
            want = ref[f"{probe}_per_class"].get(c)
            got = out["per_class"][name][f"{probe}_ap"]
            assert (
                (got is None) if want is None else got == pytest.approx(want, abs=1e-9)
            )
    assert out["primary"] == "knn_map" and out["multilabel"] is True
    assert out["knn_oa"] is None and out["linear_oa"] is None
    assert out["n_samples"] == int((~is_train).sum()) and out["n_classes"] == 5
    assert out["label_sep"] == "|"
    json.dumps(out, allow_nan=False)


def test_multilabel_class_on_every_train_row(tmp_path):
    # sklearn's one-vs-rest uses a constant predictor (score 1) for such a class.
    ids, emb, cells, is_train, y, _ = make_ml_case(5, n_classes=3)
    y[is_train, 0] = True
    cells = ["|".join(f"class {k}" for k in np.flatnonzero(row)) for row in y]
    truth = write_ml_truth(tmp_path / "truth", ids, cells, is_train)
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    out = api.score("embedding-probe", pred, truth)
    ref = ml_reference(emb, y, is_train)
    for key in ML_KEYS:
        assert out[key] == pytest.approx(ref[key], abs=1e-9), key


def test_multilabel_knn_scores_by_hand(tmp_path):
    # Train points on the unit circle; the query (1, 0) has the neighbours at
    # angles 0.1 and 0.2 (k=2): a carries both, b one, c none -> 1, 0.5, 0.
    # A second query (0, 1) has the neighbours at 1.5 and 1.4: c twice, b once.
    ang = np.array([0.1, 0.2, 1.4, 1.5])
    train = np.c_[np.cos(ang), np.sin(ang)]
    emb = np.vstack([train, [[1, 0], [0, 1]]]).astype(np.float64)
    ids = ["t0", "t1", "t2", "t3", "q0", "q1"]
    cells = ["a|b", "a", "c|b", "c", "a", "b|c"]
    is_train = np.array([True] * 4 + [False] * 2)
    truth = write_ml_truth(tmp_path / "truth", ids, cells, is_train)
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    ev = api.evaluate("embedding-probe", pred, truth, {"knn_k": 2})
    out = ev.compute()
    assert out["n_classes"] == 3 and out["n_samples"] == 2
    # a: q0 positive scored 1 vs q1 0 -> AP 1; b: q1 positive scored 0.5 vs q0
    # 0.5 (tie) -> AP 1/2; c: q1 positive scored 1 vs q0 0 -> AP 1.
    assert out["per_class"]["a"]["knn_ap"] == 1.0
    assert out["per_class"]["b"]["knn_ap"] == 0.5
    assert out["per_class"]["c"]["knn_ap"] == 1.0
    assert out["knn_map"] == pytest.approx(2.5 / 3)
    # micro: pairs (1,+)(0.5,-)(0,-) | (0,-)(0.5,+)(1,+): thresholds 1: 2/2,
    # 0.5: 3/4 -> AP = (2/3)*1 + (1/3)*(3/4)
    assert out["knn_micro_map"] == pytest.approx(2 / 3 + 1 / 4)
    assert ev.samples() == {"n_true": [1, 2]}


def test_multilabel_subset_and_resample_consistency(tmp_path):
    ids, emb, cells, is_train, y, _ = make_ml_case(7)
    truth = write_ml_truth(tmp_path / "truth", ids, cells, is_train)
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    ev = api.evaluate("embedding-probe", pred, truth)
    test_pos = np.flatnonzero(~is_train)
    sub = np.arange(0, len(test_pos), 3)
    keep = is_train.copy()
    keep[test_pos[sub]] = True
    kept = np.flatnonzero(keep)
    part_truth = write_ml_truth(
        tmp_path / "part",
        [ids[i] for i in kept],
        [cells[i] for i in kept],
        is_train[keep],
    )
    part_pred = write_npz(tmp_path / "part.npz", [ids[i] for i in kept], emb[keep])
    alone = api.score("embedding-probe", part_pred, part_truth)
    got = ev.compute(sub)
    for key in ML_KEYS:
        assert got[key] == pytest.approx(alone[key], abs=1e-12), key
    assert got["n_samples"] == len(sub)
    # A bootstrap resample (repeats) equals sklearn on the repeated rows.
    boot = np.random.default_rng(1).integers(0, len(test_pos), len(test_pos))
    ref = ml_reference(emb, y, is_train, index=boot)
    got = ev.compute(boot)
    for key in ML_KEYS:
        assert got[key] == pytest.approx(ref[key], abs=1e-9), key
    with pytest.raises(ValidationError, match="no samples to score"):
        ev.compute(np.array([], dtype=np.int64))


def test_multilabel_option_modes(tmp_path):
    # Single-label truth forced multi-label: one label per row, mAP reported.
    ids, emb, names, is_train = make_case(3, n=60)
    truth = write_truth(tmp_path / "single", ids, names, is_train)
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    auto = api.score("embedding-probe", pred, truth)
    assert auto["multilabel"] is False and auto["primary"] == "knn_oa"
    assert "knn_map" not in auto
    forced = api.score("embedding-probe", pred, truth, {"multilabel": True})
    onehot = np.asarray(names)[:, None] == np.array(sorted(set(names)))[None, :]
    ref = ml_reference(emb, onehot, is_train)
    assert forced["multilabel"] is True and forced["primary"] == "knn_map"
    for key in ML_KEYS:
        assert forced[key] == pytest.approx(ref[key], abs=1e-9), key
    assert api.score("embedding-probe", pred, truth, {"multilabel": "auto"}) == auto
    # "|" cells with multilabel=false: taken verbatim as single class names.
    names2 = [n if i % 3 else n + "|x" for i, n in enumerate(names)]
    truth2 = write_truth(tmp_path / "verbatim", ids, names2, is_train)
    out = api.score("embedding-probe", pred, truth2, {"multilabel": "false"})
    ref2 = reference(emb, names2, is_train)
    assert out["multilabel"] is False
    assert out["knn_oa"] == pytest.approx(ref2["knn_oa"], abs=1e-12)
    assert api.score("embedding-probe", pred, truth2)["multilabel"] is True
    for bad in ("maybe", 1, None):
        with pytest.raises(
            ValidationError, match=r"option multilabel must be \"auto\", true or false"
        ):
            api.score("embedding-probe", pred, truth, {"multilabel": bad})


@pytest.mark.parametrize(
    "split,cell,problem",
    [
        ("test", "class 0||class 1", "an empty label"),
        ("train", "class 1 |", "an empty label"),
        ("test", " | ", "an empty label"),
        ("train", "class 2|class 2", "a repeated label"),
    ],
)
def test_multilabel_bad_label_list_names_file_and_line(tmp_path, split, cell, problem):
    ids, emb, cells, is_train, _, _ = make_ml_case(0, n=30, d=4)
    row = int(np.flatnonzero(is_train if split == "train" else ~is_train)[2])
    cells = list(cells)
    cells[row] = cell
    truth = write_ml_truth(tmp_path / "truth", ids, cells, is_train)
    # A blank line before the data: line numbers must still be the file's.
    path = truth / f"{split}.csv"
    lines = path.read_text().splitlines()
    lines.insert(1, "")
    path.write_text("\n".join(lines) + "\n")
    line = 1 + next(i for i, ln in enumerate(lines) if ln.startswith(ids[row] + ","))
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    with pytest.raises(ValidationError) as err:
        api.score("embedding-probe", pred, truth)
    msg = str(err.value)
    assert (
        f"{split}.csv line {line}: id '{ids[row]}' has {problem} in its "
        "'|'-separated label list"
    ) in msg
    assert "class" not in msg  # hidden label values are never shown


def test_multilabel_test_label_unseen_in_train(tmp_path):
    ids, emb, cells, is_train, _, _ = make_ml_case(0, n=30, d=4)
    row = int(np.flatnonzero(~is_train)[0])
    cells = list(cells)
    cells[row] = "class 1|secret class"
    truth = write_ml_truth(tmp_path / "truth", ids, cells, is_train)
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    line = 2 + sum(1 for i in range(row) if not is_train[i])
    with pytest.raises(ValidationError) as err:
        api.score("embedding-probe", pred, truth)
    msg = str(err.value)
    assert (
        f"test.csv line {line}: id '{ids[row]}' has a label that occurs in no row "
        "of train.csv"
    ) in msg
    assert "secret" not in msg
    # A single train class is rejected as in the single-label case.
    one = write_ml_truth(tmp_path / "one", ids, ["a"] * len(ids), is_train)
    with pytest.raises(ValidationError, match="train.csv needs at least two classes"):
        api.score("embedding-probe", pred, one, {"multilabel": True})


def test_multilabel_real_bigearthnet_labels(tmp_path, shared_data):
    """Real BigEarthNet v1 label lists (names with spaces, commas and '/')."""
    root = shared_data("bigearthnet_v1_gdf_builder_tiny")
    files = sorted(root.rglob("*_labels_metadata.json"))
    ids = [f.name.removesuffix("_labels_metadata.json") for f in files]
    label_sets = [json.loads(f.read_text())["labels"] for f in files]
    classes = sorted({lab for s in label_sets for lab in s})
    y = np.array([[c in s for c in classes] for s in label_sets])
    # Test rows: those whose every label also occurs on some other row.
    is_train = np.ones(len(ids), dtype=bool)
    for i in range(len(ids)):
        others = is_train.copy()
        others[i] = False
        if len(ids) - is_train.sum() < 4 and (y[others].any(0) | ~y[i]).all():
            is_train[i] = False
    rng = np.random.default_rng(0)
    emb = (y + rng.normal(scale=0.3, size=y.shape)).astype(np.float32)
    cells = ["|".join(s) for s in label_sets]
    truth = write_ml_truth(tmp_path / "truth", ids, cells, is_train)
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    out = api.score("embedding-probe", pred, truth, {"knn_k": 3})
    ref = ml_reference(emb, y, is_train, knn_k=3)
    for key in ML_KEYS:
        assert out[key] == pytest.approx(ref[key], abs=1e-9), key
    assert out["n_samples"] == 4 and out["multilabel"] is True
    assert set(out["per_class"]) == set(classes)  # no class missing from train


def test_multilabel_cli(tmp_path, capsys):
    ids, emb, cells, is_train, _, _ = make_ml_case(1, n=40, d=4)
    truth = write_ml_truth(tmp_path / "truth", ids, cells, is_train)
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    argv = ["score", "--kind", "embedding-probe", "--predictions", str(pred)]
    argv += ["--truth", str(truth)]
    assert cli.main([*argv, "--options", '{"knn_k": 3, "multilabel": true}']) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["primary"] == "knn_map" and 0 <= out["knn_map"] <= 1
    assert cli.main([*argv, "--options", '{"multilabel": "yes"}']) == 2
    err = capsys.readouterr().err.strip()
    assert "option multilabel must be" in err and "\n" not in err
