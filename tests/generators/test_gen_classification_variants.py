"""Demo generator: classification extensions (zero-shot, temporal, tabular)."""

import csv

import numpy as np
import pytest

import evaluator
from benchmarks.generators import classification as gen

KIND = "classification"
CLASSES = ["AnnualCrop", "Forest", "Herbaceous", "Highway", "Industrial", "River"]
VARIANTS = {
    "zero_shot": (
        {"classes": CLASSES, "zero_shot": True, "n_test_per_class": 12},
        {"zero_shot": True},
    ),
    "temporal": (
        {
            "classes": CLASSES,
            "num_frames": 5,
            "bands": 4,
            "size": 12,
            "n_train_per_class": 8,
            "n_test_per_class": 8,
        },
        {},
    ),
    "tabular": (
        {"classes": CLASSES, "variant": "tabular", "bands": 10},
        {"primary": "kappa"},
    ),
}


def _labels(path):
    with open(path) as fh:
        return {r["id"]: r["label"] for r in csv.DictReader(fh)}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_classification_variant(tmp_path, digest, name):
    params, opts = VARIANTS[name]
    a = gen.generate(params=params, out_dir=tmp_path / "a", seed=13)
    gen.generate(params=params, out_dir=tmp_path / "b", seed=13)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, opts)
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, opts)
    perfect = tmp_path / "perfect.csv"
    perfect.write_text(
        "id,label\n" + "".join(f"{i},{c}\n" for i, c in _labels(a.truth_path).items())
    )
    assert evaluator.score(KIND, perfect, a.truth_path, opts)["oa"] == 1.0
    const = evaluator.score(
        KIND, a.public_dir / "sample_submission.csv", a.truth_path, opts
    )
    assert const["oa"] < base["oa"] < 1.0
    if name == "zero_shot":
        assert (
            not (a.public_dir / "train.csv").exists()
            and not (a.public_dir / "train").exists()
        )
        assert (a.public_dir / "classes.csv").exists() and base["zero_shot"] is True
    if name == "temporal":
        x = np.load(next((a.public_dir / "test").glob("*.npy")))
        assert x.shape == (5, 4, 12, 12)
    if name == "tabular":
        assert a.blocks and set(a.blocks) == set(a.sample_ids)
        train_blocks = {
            r["block"] for r in csv.DictReader(open(a.public_dir / "train.csv"))
        }
        assert not train_blocks & set(a.blocks.values())  # spatially disjoint
        assert set(_labels(a.truth_path)) == set(a.sample_ids)


def test_default_params_unchanged_layout(tmp_path):
    d = gen.generate(
        params={"classes": CLASSES, "n_train_per_class": 2, "n_test_per_class": 2},
        out_dir=tmp_path,
        seed=1,
    )
    names = sorted(p.name for p in d.public_dir.iterdir())
    assert names == [
        "README.txt",
        "sample_submission.csv",
        "test",
        "train",
        "train.csv",
    ]
    assert d.baseline_name == "Nearest centroid (band means)"
