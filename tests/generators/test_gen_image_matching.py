"""Demo generator: image-matching (map <-> optical homographies)."""

import json

import numpy as np

import evaluator
from benchmarks.generators import image_matching as gen

KIND, PARAMS = "image-matching", {"n_pairs": 16, "size": 48}


def test_homography_from_points_is_exact():
    rng = np.random.default_rng(0)
    src = np.array([[0, 0], [47, 0], [47, 47], [0, 47]], float)
    dst = src + rng.uniform(-5, 5, src.shape)
    H = gen.homography_from_points(src, dst)
    mapped = (H @ np.c_[src, np.ones(4)].T).T
    np.testing.assert_allclose(mapped[:, :2] / mapped[:, 2:], dst, atol=1e-9)


def test_image_matching_demo(tmp_path, digest):
    a = gen.generate(params=PARAMS, out_dir=tmp_path / "a", seed=11)
    gen.generate(params=PARAMS, out_dir=tmp_path / "b", seed=11)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, {})
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, {})["auc_at_10"]
    truth = json.loads(a.truth_path.read_text())
    perfect = tmp_path / "perfect.json"
    perfect.write_text(json.dumps({p: t["H"] for p, t in truth.items()}))
    assert evaluator.score(KIND, perfect, a.truth_path, {})["auc_at_10"] == 1.0
    chance = evaluator.score(
        KIND, a.public_dir / "sample_submission.json", a.truth_path, {}
    )["auc_at_10"]
    assert chance < base < 1.0
