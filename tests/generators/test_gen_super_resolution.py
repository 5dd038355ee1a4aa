"""super-resolution demo generator."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.generators.super_resolution import block_average, subpixel_shift

SMALL = {"size": 48, "n_train": 2, "n_test": 3}


@pytest.mark.parametrize(
    "params, options",
    [
        ({"variant": "plain", "scale": 4, "reference": True, **SMALL}, {"scale": 4}),
        (
            {"variant": "spectral", "scale": 4, "bands": 8, "guide_bands": 3, **SMALL},
            {"scale": 4},
        ),
        (
            {"variant": "worldstrat", "scale": 3, "n_frames": 3, **SMALL},
            {"variant": "worldstrat", "scale": 3},
        ),
    ],
)
def test_super_resolution_demo(tmp_path, demo_check, params, options):
    perfect = None
    if params["variant"] == "worldstrat":
        import shutil

        def perfect(demo):  # the HR images without the masks folder
            dst = tmp_path / "perfect"
            shutil.copytree(
                demo.truth_path, dst, ignore=shutil.ignore_patterns("masks")
            )
            return dst

    demo, base, best, low, primary = demo_check(
        "super-resolution",
        "super-resolution",
        params,
        options,
        tmp_path,
        perfect=perfect,
    )
    assert best[primary] == 100.0  # the PSNR cap for zero error
    assert low[primary] + 5 < base[primary] < 45
    pub = demo.public_dir
    if params.get("reference"):
        assert len(list((pub / "test" / "reference").iterdir())) == SMALL["n_test"]
    if params["variant"] == "worldstrat":
        assert len(list((demo.truth_path / "masks").iterdir())) == SMALL["n_test"]
        assert len(list(next((pub / "test" / "lr").iterdir()).iterdir())) == 3


def test_block_average_and_shift():
    x = np.arange(16, dtype=float).reshape(4, 4, 1)
    assert np.array_equal(block_average(x, 2)[..., 0], [[2.5, 4.5], [10.5, 12.5]])
    assert np.allclose(subpixel_shift(x, 0, 1)[:, 1:], x[:, :-1])
    assert np.allclose(
        subpixel_shift(x, 0, 0.5)[:, 1:, 0], (x[:, 1:, 0] + x[:, :-1, 0]) / 2
    )
