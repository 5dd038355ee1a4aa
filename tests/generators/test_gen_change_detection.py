"""change-detection demo generator."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from benchmarks.generators.change_detection import (
    CONDITIONAL_CLASSES,
    REFERRING_CLASSES,
)

SMALL = {"size": 64, "n_train": 3, "n_test": 4}


def test_binary(tmp_path, demo_check):
    demo, base, best, low, _ = demo_check(
        "change-detection",
        "change-detection",
        {"variant": "binary", **SMALL},
        {"variant": "binary"},
        tmp_path,
    )
    assert best["f1"] == 1.0
    assert (low["f1"] or 0.0) + 0.2 < base["f1"] < 0.98
    label = np.asarray(
        Image.open(next((demo.public_dir / "train" / "label").iterdir()))
    )
    assert set(np.unique(label)) <= {0, 255}
    for sub in ("A", "B"):
        assert len(list((demo.public_dir / "test" / sub).iterdir())) == SMALL["n_test"]


def test_conditional(tmp_path, demo_check):
    opts = {
        "variant": "conditional",
        "num_classes": len(CONDITIONAL_CLASSES),
        "classes": CONDITIONAL_CLASSES,
    }
    demo, base, best, low, _ = demo_check(
        "change-detection",
        "change-detection",
        {"variant": "conditional", **SMALL},
        opts,
        tmp_path,
    )
    assert best["bc_iou"] == 1.0 and best["sc_miou"] == 1.0
    assert (low["bc_iou"] or 0.0) + 0.2 < base["bc_iou"] < 0.98
    assert (
        len(list((demo.public_dir / "test" / "pre_map").iterdir())) == SMALL["n_test"]
    )


def test_referring(tmp_path, demo_check):
    opts = {
        "variant": "referring",
        "num_classes": len(REFERRING_CLASSES),
        "classes": REFERRING_CLASSES,
    }
    demo, base, best, low, _ = demo_check(
        "change-detection",
        "change-detection",
        {"variant": "referring", **SMALL},
        opts,
        tmp_path,
    )
    assert best["score"] == pytest.approx(1.0)
    assert low["score"] + 0.1 < base["score"] < 0.95
    with open(demo.public_dir / "test" / "prompts.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["id"] for r in rows) == sorted(demo.sample_ids)
    assert {r["prompt"] for r in rows} == {
        "new buildings",
        "demolished buildings",
        "new roads",
    }
