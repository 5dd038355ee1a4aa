"""classification kind: parity with scikit-learn, validation, options, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, recall_score

from evaluator import api, cli
from evaluator.errors import ValidationError
from evaluator.stats import bootstrap_ci

REPO = Path(__file__).resolve().parents[2]
MISSING = "__missing__"


def write_csv(path: Path, ids, labels, header="id,label", extra=None) -> Path:
    lines = [header]
    for i, (sid, lab) in enumerate(zip(ids, labels, strict=True)):
        row = f"{sid},{lab}"
        if extra is not None:
            row += "," + ",".join(str(col[i]) for col in extra)
        lines.append(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sklearn_metrics(y_true, y_pred, real_classes) -> dict:
    """The reference numbers; MISSING (if any) is a never-correct extra label."""
    present = sorted((set(y_true) | set(y_pred)) & set(real_classes))
    in_truth = sorted(set(y_true))
    recalls = recall_score(y_true, y_pred, labels=in_truth, average=None)
    return {
        "oa": accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, labels=present, average="macro"),
        "kappa": cohen_kappa_score(y_true, y_pred),
        "per_class": dict(zip(in_truth, recalls, strict=True)),
    }


def assert_close(ours: dict, ref: dict) -> None:
    for key in ("oa", "macro_f1", "kappa"):
        assert ours[key] == pytest.approx(ref[key], abs=1e-9), key
    assert set(ours["per_class"]) == set(ref["per_class"])
    for c, v in ref["per_class"].items():
        assert ours["per_class"][c] == pytest.approx(v, abs=1e-9), c


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 9))
    n = int(rng.integers(10, 150))
    classes = [f"class_{k}" for k in range(n_classes)]
    y_true = rng.integers(0, n_classes, n)
    # Mostly right, sometimes wrong: realistic confusion, all code paths.
    noise = rng.integers(0, n_classes, n)
    y_pred = np.where(rng.random(n) < rng.uniform(0.2, 0.9), y_true, noise)
    ids = [f"img_{i:04d}" for i in range(n)]
    return ids, [classes[k] for k in y_true], [classes[k] for k in y_pred], classes


@pytest.mark.parametrize("seed", range(30))
def test_matches_sklearn_on_random_labels(tmp_path, seed):
    ids, yt, yp, classes = random_case(seed)
    truth = write_csv(tmp_path / "truth.csv", ids, yt)
    # Predictions in a shuffled order: alignment is by id, not by row.
    order = np.random.default_rng(seed + 1000).permutation(len(ids))
    pred = write_csv(
        tmp_path / "pred.csv", [ids[i] for i in order], [yp[i] for i in order]
    )
    out = api.score("classification", pred, truth, {"classes": classes})
    assert_close(out, sklearn_metrics(yt, yp, classes))
    assert out["n_samples"] == len(ids)
    assert out["primary"] == "oa"


def test_kappa_as_primary(tmp_path):
    ids, yt, yp, _ = random_case(7)
    truth = write_csv(tmp_path / "truth.csv", ids, yt)
    pred = write_csv(tmp_path / "pred.csv", ids, yp)
    out = api.score("classification", pred, truth, {"primary": "kappa"})
    assert out["primary"] == "kappa"
    assert out["kappa"] == pytest.approx(cohen_kappa_score(yt, yp), abs=1e-9)
    with pytest.raises(ValidationError, match="primary='auc'"):
        api.score("classification", pred, truth, {"primary": "auc"})


@pytest.mark.parametrize("seed", range(10))
def test_partial_scores_missing_ids_as_wrong(tmp_path, seed):
    ids, yt, yp, classes = random_case(seed)
    rng = np.random.default_rng(seed)
    keep = rng.random(len(ids)) < 0.7
    truth = write_csv(tmp_path / "truth.csv", ids, yt)
    pred = write_csv(
        tmp_path / "pred.csv",
        [s for s, k in zip(ids, keep, strict=True) if k],
        [p for p, k in zip(yp, keep, strict=True) if k],
    )
    out = api.score(
        "classification", pred, truth, {"partial": True, "classes": classes}
    )
    completed = [p if k else MISSING for p, k in zip(yp, keep, strict=True)]
    assert_close(out, sklearn_metrics(yt, completed, classes))
    assert out["n_missing"] == int((~keep).sum())
    with pytest.raises(ValidationError, match="missing"):
        api.score("classification", pred, truth, {"classes": classes})


def test_classes_option_fixes_order_and_rejects_unknown_truth_labels(tmp_path):
    truth = write_csv(tmp_path / "truth.csv", ["a", "b"], ["x", "y"])
    pred = write_csv(tmp_path / "pred.csv", ["a", "b"], ["x", "z"])
    out = api.score("classification", pred, truth, {"classes": ["x", "y", "z"]})
    assert out["oa"] == 0.5
    with pytest.raises(ValidationError, match="outside `classes`"):
        api.score("classification", pred, truth, {"classes": ["x"]})


def test_zero_shot_flag_is_recorded(tmp_path):
    truth = write_csv(tmp_path / "truth.csv", ["a", "b"], ["x", "y"])
    pred = write_csv(tmp_path / "pred.csv", ["a", "b"], ["x", "y"])
    assert api.score("classification", pred, truth)["zero_shot"] is False
    out = api.score("classification", pred, truth, {"zero_shot": True})
    assert out["zero_shot"] is True and out["oa"] == 1.0


def test_block_column_is_exposed_for_blocked_bootstrap(tmp_path):
    # Per-pixel samples (S1/S2 fusion): ids are pixel ids, blocks group them.
    ids = [f"px_{i}" for i in range(40)]
    yt = ["water" if i % 3 else "crop" for i in range(40)]
    blocks = [f"tile_{i // 10}" for i in range(40)]
    truth = write_csv(
        tmp_path / "truth.csv",
        ids,
        yt,
        header="id,label,split,block",
        extra=[["test"] * 40, blocks],
    )
    yp = [y if i % 7 else "crop" for i, y in enumerate(yt)]
    pred = write_csv(tmp_path / "pred.csv", ids, yp)
    ev = api.evaluate("classification", pred, truth)
    assert ev.blocks == blocks
    ci = bootstrap_ci(ev, ["oa"], n_resamples=50, blocks=ev.blocks)
    assert ci["oa"][0] <= ev.compute()["oa"] <= ci["oa"][1]
    plain = write_csv(tmp_path / "plain.csv", ids, yt)
    assert api.evaluate("classification", pred, plain).blocks is None


def test_empty_block_id_is_an_error(tmp_path):
    truth = tmp_path / "truth.csv"
    truth.write_text("id,label,block\na,x,b1\nb,y,\n")
    pred = write_csv(tmp_path / "pred.csv", ["a", "b"], ["x", "y"])
    with pytest.raises(
        ValidationError, match=r"truth.csv line 3: empty block id for 'b'"
    ):
        api.score("classification", pred, truth)


def test_subset_equals_scoring_the_subset_alone(tmp_path):
    ids, yt, yp, _ = random_case(3)
    truth = write_csv(tmp_path / "truth.csv", ids, yt)
    pred = write_csv(tmp_path / "pred.csv", ids, yp)
    ev = api.evaluate("classification", pred, truth)
    sub = np.arange(0, len(ids), 3)
    part_t = write_csv(tmp_path / "t2.csv", [ids[i] for i in sub], [yt[i] for i in sub])
    part_p = write_csv(tmp_path / "p2.csv", [ids[i] for i in sub], [yp[i] for i in sub])
    alone = api.score(
        "classification", part_p, part_t, {"classes": sorted(set(yt) | set(yp))}
    )
    subset = ev.compute(sub)
    for key in ("oa", "macro_f1", "kappa", "n_samples"):
        assert subset[key] == pytest.approx(alone[key], abs=1e-12)
    assert subset["per_class"] == pytest.approx(alone["per_class"], abs=1e-12)
    by_name = api.score(
        "classification", pred, truth, subsets={"public": [ids[i] for i in sub]}
    )
    assert by_name["public"]["oa"] == pytest.approx(alone["oa"])


# --- validation -----------------------------------------------------------------


@pytest.fixture
def truth_file(tmp_path) -> Path:
    return write_csv(
        tmp_path / "truth.csv", ["a", "b", "c"], ["Forest", "River", "Forest"]
    )


def test_unknown_label_names_file_line_label_and_classes(tmp_path, truth_file):
    pred = write_csv(
        tmp_path / "pred.csv", ["a", "b", "c"], ["Forest", "Forrest", "River"]
    )
    with pytest.raises(ValidationError) as exc:
        api.score("classification", pred, truth_file)
    msg = str(exc.value)
    assert "pred.csv line 3" in msg and "'Forrest'" in msg
    assert "2 classes (Forest, River)" in msg


def test_missing_ids_are_named_with_count(tmp_path, truth_file):
    pred = write_csv(tmp_path / "pred.csv", ["a"], ["Forest"])
    with pytest.raises(
        ValidationError, match=r"pred.csv: 2 test id\(s\) missing: 'b', 'c'"
    ):
        api.score("classification", pred, truth_file)


def test_extra_id_is_named(tmp_path, truth_file):
    pred = write_csv(
        tmp_path / "pred.csv",
        ["a", "b", "c", "zz"],
        ["Forest", "River", "Forest", "River"],
    )
    with pytest.raises(ValidationError, match=r"1 id\(s\) not in the test set: 'zz'"):
        api.score("classification", pred, truth_file)


def test_duplicate_id_names_both_lines(tmp_path, truth_file):
    pred = write_csv(
        tmp_path / "pred.csv", ["a", "b", "a"], ["Forest", "River", "Forest"]
    )
    with pytest.raises(
        ValidationError, match=r"pred.csv line 4: duplicate id 'a' \(first on line 2\)"
    ):
        api.score("classification", pred, truth_file)


def test_wrong_header(tmp_path, truth_file):
    pred = write_csv(tmp_path / "pred.csv", ["a"], ["Forest"], header="image,class")
    with pytest.raises(ValidationError) as exc:
        api.score("classification", pred, truth_file)
    assert "pred.csv line 1: header must be 'id,label', found 'image,class'" in str(
        exc.value
    )


def test_non_utf8_names_line(tmp_path, truth_file):
    pred = tmp_path / "pred.csv"
    pred.write_bytes(b"id,label\na,Forest\nb,R\xe9ver\nc,Forest\n")
    with pytest.raises(ValidationError, match=r"pred.csv line 3: not valid UTF-8"):
        api.score("classification", pred, truth_file)


def test_empty_file(tmp_path, truth_file):
    pred = tmp_path / "pred.csv"
    pred.write_bytes(b"")
    with pytest.raises(ValidationError, match=r"pred.csv: the file is empty"):
        api.score("classification", pred, truth_file)
    pred.write_text("id,label\n")
    with pytest.raises(ValidationError, match=r"pred.csv: no data rows"):
        api.score("classification", pred, truth_file)


def test_messages_do_not_leak_truth_labels(tmp_path, truth_file):
    pred = write_csv(tmp_path / "pred.csv", ["a"], ["Forest"])
    with pytest.raises(ValidationError) as exc:
        api.score("classification", pred, truth_file)
    assert "River" not in str(exc.value)


# --- real samples ---------------------------------------------------------------


def folder_labels(root: Path, suffixes: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """``<Class>/<file>`` layout -> (ids = file stems, labels = folder names)."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes)
    return [p.stem for p in files], [p.parent.name for p in files]


@pytest.mark.parametrize(
    "parts,suffixes",
    [
        (("bigearthnet_rico_hdl", "EuroSAT_RGB"), (".jpg",)),
        (("bigearthnet_rico_hdl", "UCMerced_LandUse", "Images"), (".tif",)),
        (("aid_resized150_testtensor_subset", "AID"), (".jpg",)),
    ],
)
def test_real_class_folder_layouts(shared_data, tmp_path, parts, suffixes):
    ids, labels = folder_labels(shared_data(*parts), suffixes)
    assert len(set(labels)) >= 2 and len(set(ids)) == len(ids)
    classes = sorted(set(labels))
    rng = np.random.default_rng(0)
    # Perturb: a third of the predictions move to the next class.
    flip = rng.random(len(ids)) < 0.34
    flip[0] = True
    preds = [
        classes[(classes.index(lab) + 1) % len(classes)] if f else lab
        for lab, f in zip(labels, flip, strict=True)
    ]
    truth = write_csv(tmp_path / "truth.csv", ids, labels)
    pred = write_csv(tmp_path / "pred.csv", ids, preds)
    out = api.score("classification", pred, truth)
    assert_close(out, sklearn_metrics(labels, preds, classes))
    assert out["n_samples"] == len(ids)


# --- CLI ------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evaluator", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


# The subprocess pays for importing every registered kind (some import torch).
@pytest.mark.slow
def test_cli_subprocess_score_error_and_kinds(tmp_path, truth_file):
    pred = write_csv(
        tmp_path / "pred.csv", ["a", "b", "c"], ["Forest", "River", "River"]
    )
    ok = run_cli(
        "score",
        "--kind",
        "classification",
        "--predictions",
        str(pred),
        "--truth",
        str(truth_file),
        "--options",
        '{"primary": "kappa"}',
        "--samples",
    )
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["oa"] == pytest.approx(2 / 3) and out["primary"] == "kappa"
    assert out["samples"]["correct"] == [1, 1, 0]

    bad = write_csv(tmp_path / "bad.csv", ["a", "b", "c"], ["Forest", "Lake", "River"])
    err = run_cli(
        "score",
        "--kind",
        "classification",
        "--predictions",
        str(bad),
        "--truth",
        str(truth_file),
    )
    assert err.returncode == 2 and err.stdout == ""
    assert len(err.stderr.strip().splitlines()) == 1
    assert "bad.csv line 3" in err.stderr and "'Lake'" in err.stderr

    kinds = run_cli("kinds")
    assert kinds.returncode == 0 and "classification" in kinds.stdout.split()


def test_cli_unknown_option_and_kinds_in_process(tmp_path, truth_file, capsys):
    pred = write_csv(
        tmp_path / "pred.csv", ["a", "b", "c"], ["Forest", "River", "River"]
    )
    code = cli.main(
        [
            "score",
            "--kind",
            "classification",
            "--predictions",
            str(pred),
            "--truth",
            str(truth_file),
            "--options",
            '{"top_k": 3}',
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "unknown option 'top_k'" in err
    assert len(err.strip().splitlines()) == 1
    assert cli.main(["kinds"]) == 0
    names = capsys.readouterr().out.split()
    for kind in ("classification", "multilabel", "set-prediction", "embedding-probe"):
        assert kind in names
