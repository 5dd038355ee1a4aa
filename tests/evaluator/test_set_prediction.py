"""set-prediction kind: parity with sklearn samples-F1 on binarised sets."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from evaluator import api
from evaluator.errors import ValidationError

REPO = Path(__file__).resolve().parents[2]


def write_sets(path: Path, ids, sets, header="id,predicted") -> Path:
    lines = [header] + [
        f"{sid},{' '.join(s)}" for sid, s in zip(ids, sets, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sklearn_samples_f1(truth_sets, pred_sets) -> float:
    mlb = MultiLabelBinarizer()
    mlb.fit(list(truth_sets) + list(pred_sets))
    y = mlb.transform(truth_sets)
    p = mlb.transform(pred_sets)
    return f1_score(y, p, average="samples", zero_division=1.0)


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    n, n_species = int(rng.integers(3, 80)), int(rng.integers(3, 40))
    species = [str(1000 + k) for k in range(n_species)]
    truth, pred = [], []
    for _ in range(n):
        t = list(rng.choice(species, int(rng.integers(0, 6)), replace=False))
        keep = [x for x in t if rng.random() < 0.6]
        noise = list(rng.choice(species, int(rng.integers(0, 5)), replace=False))
        p = list(dict.fromkeys(keep + noise))
        rng.shuffle(p)
        truth.append(t)
        pred.append(p)
    return [f"site{i}" for i in range(n)], truth, pred


@pytest.mark.parametrize("seed", range(25))
def test_matches_sklearn_samples_f1(tmp_path, seed):
    ids, truth, pred = random_case(seed)
    t = write_sets(tmp_path / "t.csv", ids, truth)
    p = write_sets(tmp_path / "p.csv", ids[::-1], pred[::-1])
    out = api.score("set-prediction", p, t)
    assert out["samples_f1"] == pytest.approx(sklearn_samples_f1(truth, pred), abs=1e-9)
    assert out["n_samples"] == len(ids) and out["primary"] == "samples_f1"


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_keeps_first_listed(tmp_path, k):
    ids, truth, pred = random_case(11)
    t = write_sets(tmp_path / "t.csv", ids, truth)
    p = write_sets(tmp_path / "p.csv", ids, pred)
    out = api.score("set-prediction", p, t, {"top_k": k})
    ref = sklearn_samples_f1(truth, [x[:k] for x in pred])
    assert out["samples_f1"] == pytest.approx(ref, abs=1e-9)
    assert out["top_k"] == k
    with pytest.raises(ValidationError, match="top_k must be a positive integer"):
        api.score("set-prediction", p, t, {"top_k": 0})


def test_empty_vs_empty_and_duplicates(tmp_path):
    # empty/empty -> 1; empty prediction for a non-empty truth -> 0; a repeated
    # id counts once.
    t = write_sets(tmp_path / "t.csv", ["a", "b", "c"], [[], ["1"], ["1", "2"]])
    p = write_sets(tmp_path / "p.csv", ["a", "b", "c"], [[], [], ["2", "2", "3"]])
    out = api.score("set-prediction", p, t)
    assert out["samples_f1"] == pytest.approx((1 + 0 + 2 * 1 / (2 + 2)) / 3)
    ref = sklearn_samples_f1([[], ["1"], ["1", "2"]], [[], [], ["2", "3"]])
    assert out["samples_f1"] == pytest.approx(ref)


def test_subset_and_blocks(tmp_path):
    ids, truth, pred = random_case(5)
    blocks = [f"b{i % 4}" for i in range(len(ids))]
    t = tmp_path / "t.csv"
    t.write_text(
        "Id,Species,block\n"
        + "".join(
            f"{i},{' '.join(s)},{b}\n"
            for i, s, b in zip(ids, truth, blocks, strict=True)
        )
    )
    p = write_sets(tmp_path / "p.csv", ids, pred, header="Id,Predicted")
    ev = api.evaluate("set-prediction", p, t)
    assert ev.blocks == blocks
    sub = np.arange(0, len(ids), 2)
    t2 = write_sets(tmp_path / "t2.csv", [ids[i] for i in sub], [truth[i] for i in sub])
    p2 = write_sets(tmp_path / "p2.csv", [ids[i] for i in sub], [pred[i] for i in sub])
    assert ev.compute(sub)["samples_f1"] == pytest.approx(
        api.score("set-prediction", p2, t2)["samples_f1"], abs=1e-12
    )


def test_validation_messages(tmp_path):
    t = write_sets(tmp_path / "t.csv", ["a", "b"], [["1"], ["2"]])
    p = write_sets(tmp_path / "p.csv", ["a"], [["1"]])
    with pytest.raises(ValidationError, match=r"p.csv: 1 test id\(s\) missing: 'b'"):
        api.score("set-prediction", p, t)
    p = write_sets(tmp_path / "p.csv", ["a", "b", "a"], [["1"], [], ["3"]])
    with pytest.raises(ValidationError, match=r"p.csv line 4: duplicate id 'a'"):
        api.score("set-prediction", p, t)
    p = write_sets(tmp_path / "p.csv", ["a", "b"], [["1"], []], header="id,species")
    with pytest.raises(
        ValidationError, match=r"p.csv line 1: header must be 'id,predicted'"
    ):
        api.score("set-prediction", p, t)
    p = write_sets(tmp_path / "p.csv", ["a", "b", "x"], [["1"], [], []])
    with pytest.raises(ValidationError, match=r"not in the test set: 'x'"):
        api.score("set-prediction", p, t)


# --- real sample: GeoLifeCLEF 2023 presence-absence occurrences ---------------


def test_glc23_presence_absence_sites(shared_data, tmp_path):
    root = shared_data(
        "geolifeclef2023_malpolon", "sample_data", "Presence_Absences_occurrences"
    )
    with (root / "Presences_Absences_train_sample.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    by_site: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        by_site[r["patchID"]].add(r["speciesId"])
    ids = sorted(by_site)
    truth = [sorted(by_site[s]) for s in ids]
    all_species = sorted({x for t in truth for x in t})
    rng = np.random.default_rng(0)
    # Perturbed prediction: keep each true species with p=0.7, add 0-2 others.
    pred = [
        [x for x in t if rng.random() < 0.7]
        + list(rng.choice(all_species, int(rng.integers(0, 3)), replace=False))
        for t in truth
    ]
    pred = [list(dict.fromkeys(p)) for p in pred]
    t = write_sets(tmp_path / "truth.csv", ids, truth, header="id,species")
    p = write_sets(tmp_path / "pred.csv", ids, pred)
    out = api.score("set-prediction", p, t)
    assert out["n_samples"] == len(ids) > 50
    assert out["samples_f1"] == pytest.approx(sklearn_samples_f1(truth, pred), abs=1e-9)


@pytest.mark.slow  # the subprocess imports every registered kind
def test_cli(tmp_path):
    t = write_sets(tmp_path / "t.csv", ["a", "b"], [["1", "2"], ["3"]])
    p = write_sets(tmp_path / "p.csv", ["a", "b"], [["1"], ["3"]])
    base = [sys.executable, "-m", "evaluator", "score", "--kind", "set-prediction"]
    ok = subprocess.run(
        [
            *base,
            "--predictions",
            str(p),
            "--truth",
            str(t),
            "--options",
            '{"top_k": 30}',
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["samples_f1"] == pytest.approx((2 / 3 + 1) / 2)
    p.write_text("id,predicted\na,1\n")
    err = subprocess.run(
        [*base, "--predictions", str(p), "--truth", str(t)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert err.returncode == 2 and "missing: 'b'" in err.stderr
    assert len(err.stderr.strip().splitlines()) == 1
