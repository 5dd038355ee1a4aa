"""Demo generator: captioning (image and change captions)."""

import json

import pytest

import evaluator
from benchmarks.generators import captioning as gen

KIND = "captioning"


@pytest.mark.parametrize("variant", ["caption", "change"])
def test_captioning_demo(tmp_path, digest, variant):
    params = {"variant": variant, "n_train": 6, "n_test": 10}
    opts = {"variant": variant, "meteor": False}
    a = gen.generate(params=params, out_dir=tmp_path / "a", seed=4)
    gen.generate(params=params, out_dir=tmp_path / "b", seed=4)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, opts)
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, opts)
    truth = json.loads(a.truth_path.read_text())["images"]
    assert all(len(im["sentences"]) == 5 for im in truth)
    # A copy of one reference is the (practical) ceiling; a constant caption is chance.
    ref = tmp_path / "ref.json"
    ref.write_text(
        json.dumps(
            [
                {"image_id": im["filename"], "caption": im["sentences"][0]["raw"]}
                for im in truth
            ]
        )
    )
    const = tmp_path / "const.json"
    const.write_text(
        json.dumps(
            [{"image_id": im["filename"], "caption": "the area."} for im in truth]
        )
    )
    top = evaluator.score(KIND, ref, a.truth_path, opts)["cider_d"]
    chance = evaluator.score(KIND, const, a.truth_path, opts)["cider_d"]
    assert chance < base["cider_d"] < top
    assert base["truth_format"] == ("levir-cc" if variant == "change" else "rsicd")
    sample = json.loads((a.public_dir / "sample_submission.json").read_text())
    assert evaluator.score(
        KIND, a.public_dir / "sample_submission.json", a.truth_path, opts
    )["n_samples"] == len(sample)
