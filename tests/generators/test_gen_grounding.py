"""grounding demo generator."""

from __future__ import annotations

import csv
import json

import pytest

SMALL = {"size": 96, "n_train": 2, "n_test": 5, "per_image": 4}


@pytest.mark.parametrize("box", ["hbb", "obb", "mask"])
def test_grounding_demo(tmp_path, demo_check, box):
    demo, base, best, low, primary = demo_check(
        "grounding", "grounding", {"box": box, **SMALL}, {"box": box}, tmp_path
    )
    assert primary == "acc_at_0_5" and best["acc_at_0_5"] == 1.0
    assert low["acc_at_0_5"] + 0.2 < base["acc_at_0_5"] < 0.95
    with open(demo.public_dir / "test" / "expressions.csv") as fh:
        assert sorted(r["id"] for r in csv.DictReader(fh)) == sorted(demo.sample_ids)
    if box != "mask":
        first = json.loads(demo.truth_path.read_text().splitlines()[0])
        key = "box" if box == "hbb" else "polygon"
        assert len(first[key]) == (4 if box == "hbb" else 8)
        assert all(0 <= v <= SMALL["size"] for v in first[key])
