"""segmentation demo generator."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from benchmarks.generators.segmentation import class_lookup

LCAI = ["background", "building", "woodland", "water", "road"]
POTSDAM = ["impervious", "building", "low vegetation", "tree", "car", "clutter"]
POTSDAM_MAP = {
    "background": "clutter",
    "building": "building",
    "road": "impervious",
    "water": "clutter",
    "forest": "tree",
    "farmland": "low vegetation",
    "bare": "clutter",
    "vehicle": "car",
    "tree": "tree",
}


@pytest.mark.parametrize(
    "params, classes",
    [
        ({"classes": LCAI, "n_train": 3, "n_test": 4, "size": 64}, LCAI),
        (
            {
                "classes": POTSDAM,
                "class_map": POTSDAM_MAP,
                "modalities": ["dsm"],
                "labelled_fraction": 0.5,
                "n_train": 4,
                "n_test": 4,
                "size": 64,
            },
            POTSDAM,
        ),
        (
            {
                "classes": LCAI,
                "bands": 10,
                "test_bands": 8,
                "modalities": ["sar"],
                "n_train": 3,
                "n_test": 4,
                "size": 64,
            },
            LCAI,
        ),
    ],
)
def test_segmentation_demo(tmp_path, demo_check, params, classes):
    demo, base, best, low, primary = demo_check(
        "segmentation", "segmentation", params, {"classes": classes}, tmp_path
    )
    assert primary == "miou" and best["miou"] == 1.0
    assert low["miou"] + 0.15 < base["miou"] < 0.97
    pub = demo.public_dir
    assert len(list((pub / "test" / "images").iterdir())) == params["n_test"]
    for m in params.get("modalities", []):
        assert len(list((pub / "test" / m).glob("*.tif"))) == params["n_test"]
    if params.get("labelled_fraction", 1) < 1:
        assert len(list((pub / "train" / "masks").iterdir())) == 2
        assert len(list((pub / "train_unlabelled" / "images").iterdir())) == 2
    mask = np.asarray(Image.open(next((pub / "train" / "masks").iterdir())))
    assert mask.max() < len(classes)


def test_class_lookup_by_synonym_and_map():
    lookup = class_lookup(LCAI, None)
    assert lookup["forest"] == 2 and lookup["road"] == 4 and lookup["farmland"] == 0
    lookup = class_lookup(POTSDAM, POTSDAM_MAP)
    assert lookup["vehicle"] == 4 and lookup["water"] == 5
