"""referring-segmentation demo generator."""

from __future__ import annotations

import csv

from benchmarks.generators.referring_segmentation import named_category


def test_referring_segmentation_demo(tmp_path, demo_check):
    params = {"size": 96, "n_train": 2, "n_test": 5, "per_image": 4}
    demo, base, best, low, primary = demo_check(
        "referring-segmentation", "referring-segmentation", params, {}, tmp_path
    )
    assert primary == "giou" and best["giou"] == 1.0 and low["giou"] == 0.0
    assert 0.05 < base["giou"] < 0.8
    with open(demo.public_dir / "test" / "expressions.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["id"] for r in rows) == sorted(demo.sample_ids)
    assert all(named_category(r["expression"]) for r in rows)


def test_named_category():
    assert named_category("the storage tank near a building") == "storage-tank"
    assert named_category("the largest ship") == "ship"
