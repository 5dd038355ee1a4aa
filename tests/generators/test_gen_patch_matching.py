"""Demo generator: patch-matching (VIS / LWIR-like pairs)."""

import csv

import numpy as np

import evaluator
from benchmarks.generators import patch_matching as gen

KIND, PARAMS = "patch-matching", {"n_train": 50, "n_test": 120, "scene_size": 96}


def test_patch_matching_demo(tmp_path, digest):
    a = gen.generate(params=PARAMS, out_dir=tmp_path / "a", seed=2)
    gen.generate(params=PARAMS, out_dir=tmp_path / "b", seed=2)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, {})
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, {})
    with open(a.truth_path) as fh:
        truth = {r["pair_id"]: int(r["is_match"]) for r in csv.DictReader(fh)}
    perfect = tmp_path / "perfect.csv"
    perfect.write_text(
        "pair_id,distance\n" + "".join(f"{p},{1 - m}\n" for p, m in truth.items())
    )
    assert evaluator.score(KIND, perfect, a.truth_path, {})["fpr95"] == 0.0
    rng = np.random.default_rng(0)
    rand = tmp_path / "random.csv"
    rand.write_text(
        "pair_id,distance\n" + "".join(f"{p},{rng.uniform()}\n" for p in truth)
    )
    chance = evaluator.score(KIND, rand, a.truth_path, {})
    assert 0.0 < base["fpr95"] < chance["fpr95"]
    assert chance["roc_auc"] < base["roc_auc"] < 1.0
    assert np.load(a.public_dir / "vis_patches.npy").shape[1:] == (32, 32)
