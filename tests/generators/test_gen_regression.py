"""regression demo generator."""

from __future__ import annotations

import csv

import numpy as np
import tifffile

from benchmarks.generators.regression import temperature


def _zero_rasters(tmp_path):
    def make(demo):
        out = tmp_path / "zeros"
        out.mkdir()
        for f in sorted(demo.truth_path.glob("*.tif")):
            tifffile.imwrite(
                out / f.name, np.zeros(tifffile.imread(f).shape, np.float32)
            )
        return out

    return make


def test_temperature_points(tmp_path, demo_check):
    params = {
        "variant": "points",
        "target": "temperature",
        "n_train": 150,
        "n_test": 120,
    }
    demo, base, best, low, primary = demo_check(
        "regression", "regression", params, {}, tmp_path
    )
    assert primary == "rmse" and best["rmse"] == 0.0
    assert base["rmse"] < 0.5 * low["rmse"] and base["r2"] < 0.98
    with open(demo.public_dir / "test.csv") as fh:
        assert next(csv.reader(fh)) == ["id", "lat", "lon"]


def test_biomass_points(tmp_path, demo_check):
    params = {
        "variant": "points",
        "target": "biomass",
        "n_train": 120,
        "n_test": 80,
        "size": 48,
    }
    demo, base, best, low, _ = demo_check(
        "regression", "regression", params, {}, tmp_path
    )
    assert best["rmse"] == 0.0
    assert base["rmse"] < 0.8 * low["rmse"] and 0.05 < base["r2"] < 0.95
    patches = np.load(demo.public_dir / "test_patches.npz")
    assert sorted(patches.files) == sorted(demo.sample_ids)
    assert patches[demo.sample_ids[0]].shape == (15, 15, 6)


def test_biomass_raster(tmp_path, demo_check):
    params = {"variant": "raster", "n_train": 3, "n_test": 4, "size": 48}
    demo, base, best, low, _ = demo_check(
        "regression",
        "regression",
        params,
        {"nodata": -9999},
        tmp_path,
        chance=_zero_rasters(tmp_path),
    )
    assert (
        best["rmse"] == 0.0 and best["n_valid"] < 4 * 48 * 48
    )  # water / gaps are nodata
    assert base["rmse"] < low["rmse"] and base["r2"] > 0.05
    with tifffile.TiffFile(next(demo.truth_path.glob("*.tif"))) as tif:
        tags = tif.pages[0].tags
        assert 33550 in tags and 34735 in tags and tags[42113].value == "-9999"


def test_temperature_field_is_smooth_and_polar_cold():
    assert (
        temperature(np.array([0.0]), np.array([0.0]))[0]
        > temperature(np.array([70.0]), np.array([0.0]))[0] + 15
    )
