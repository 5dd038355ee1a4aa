"""Demo generator: multilabel (terrain + object labels of scenes)."""

import csv

import numpy as np
import pytest

import evaluator
from benchmarks.generators import multilabel as gen

KIND = "multilabel"


@pytest.mark.parametrize("modality", ["multispectral", "sar+multispectral"])
def test_multilabel_demo(tmp_path, digest, modality):
    params = {"n_train": 30, "n_test": 24, "size": 40, "bands": 6, "modality": modality}
    a = gen.generate(params=params, out_dir=tmp_path / "a", seed=9)
    gen.generate(params=params, out_dir=tmp_path / "b", seed=9)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, {})
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, {})["macro_map"]
    assert evaluator.score(KIND, a.truth_path, a.truth_path, {})["macro_map"] == 1.0
    with open(a.truth_path) as fh:
        rows = list(csv.reader(fh))
    rng = np.random.default_rng(0)
    chance = []
    for s in range(5):
        rand = tmp_path / f"r{s}.csv"
        rand.write_text(
            ",".join(rows[0])
            + "\n"
            + "".join(
                r[0]
                + ","
                + ",".join(f"{v:.4f}" for v in rng.uniform(size=len(r) - 1))
                + "\n"
                for r in rows[1:]
            )
        )
        chance.append(evaluator.score(KIND, rand, a.truth_path, {})["macro_map"])
    assert np.mean(chance) < base < 1.0
    img = np.load(next((a.public_dir / "test").glob("*.npy")))
    assert img.shape == (6 + (2 if modality != "multispectral" else 0), 40, 40)
