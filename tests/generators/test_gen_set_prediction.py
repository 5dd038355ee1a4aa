"""Demo generator: set-prediction (species presence per site)."""

import csv

import numpy as np

import evaluator
from benchmarks.generators import set_prediction as gen

KIND, PARAMS = "set-prediction", {"n_species": 30, "n_train": 150, "n_test": 80}


def _sets(path):
    with open(path) as fh:
        return {r["id"]: r["species"].split() for r in csv.DictReader(fh)}


def test_set_prediction_demo(tmp_path, digest):
    a = gen.generate(params=PARAMS, out_dir=tmp_path / "a", seed=5)
    b = gen.generate(params=PARAMS, out_dir=tmp_path / "b", seed=5)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, {})
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, {})["samples_f1"]
    truth = _sets(a.truth_path)
    perfect = tmp_path / "perfect.csv"
    perfect.write_text(
        "id,predicted\n" + "".join(f"{i},{' '.join(s)}\n" for i, s in truth.items())
    )
    assert evaluator.score(KIND, perfect, a.truth_path, {})["samples_f1"] == 1.0
    # Chance: random species sets of the baseline's size.
    rng = np.random.default_rng(0)
    species = [f"sp{k:04d}" for k in range(PARAMS["n_species"])]
    k = round(
        evaluator.score(KIND, a.baseline_path, a.truth_path, {})["mean_predicted"]
    )
    rand = tmp_path / "random.csv"
    rand.write_text(
        "id,predicted\n"
        + "".join(
            f"{i},{' '.join(rng.choice(species, k, replace=False))}\n" for i in truth
        )
    )
    chance = evaluator.score(KIND, rand, a.truth_path, {})["samples_f1"]
    assert chance < base < 1.0
    assert b.sample_ids == a.sample_ids
    assert set(a.blocks) == set(a.sample_ids)
