"""scene-graph demo generator."""

from __future__ import annotations

import json

import pytest

from benchmarks.generators.scene.model import PREDICATES


def _truth_with_scores(tmp_path):
    def make(demo):
        data = json.loads(demo.truth_path.read_text())
        for g in data.values():
            g["triplets"] = [[s, p, o, 1.0] for s, p, o in g["triplets"]]
        out = tmp_path / "perfect.json"
        out.write_text(json.dumps(data))
        return out

    return make


@pytest.mark.parametrize("box", ["obb", "hbb"])
def test_scene_graph_demo(tmp_path, demo_check, box):
    params = {"box": box, "size": 160, "n_train": 2, "n_test": 4}
    demo, base, best, low, primary = demo_check(
        "scene-graph",
        "scene-graph",
        params,
        {"box": box},
        tmp_path,
        perfect=_truth_with_scores(tmp_path),
    )
    assert primary == "mr_at_50" and best["mr_at_50"] == 1.0 and low["mr_at_50"] == 0.0
    assert 0.2 < base["mr_at_50"] < 0.95
    truth = json.loads(demo.truth_path.read_text())
    for g in truth.values():
        assert len(g["boxes"]) == len(g["labels"])
        for s, p, o in g["triplets"]:
            assert (
                p in PREDICATES
                and 0 <= s < len(g["boxes"])
                and 0 <= o < len(g["boxes"])
            )
