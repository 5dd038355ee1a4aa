"""super-resolution kind: subsets, ZIP input, validation messages, real samples,
device choice and CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from torchmetrics.functional.image import (
    error_relative_global_dimensionless_synthesis as tm_ergas,
)
from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr
from torchmetrics.functional.image import spectral_angle_mapper as tm_sam

from evaluator import api, quality
from evaluator.errors import ValidationError
from tests.evaluator.sr_cases import (
    KIND,
    REPO,
    chw,
    make_sets,
    pairs_uint,
    tm_ssim_one,
    write,
    zip_folder,
)

# ------------------------------------------------------------- consistency


def test_subset_compute_equals_scoring_the_subset_alone(tmp_path):
    rng = np.random.default_rng(11)
    pairs = []
    for _ in range(4):
        t = rng.uniform(0.1, 1, (14, 14, 3))
        pairs.append((t, np.clip(t + rng.normal(0, 0.05, t.shape), 0, 1)))
    pred, truth = make_sets(tmp_path / "all", pairs)
    opts = {"variant": "worldstrat", "shift": 1, "scale": 2, "cssim": True}
    ev = api.evaluate(KIND, pred, truth, opts)
    sub = [pairs[1], pairs[3]]
    pred2, truth2 = make_sets(tmp_path / "sub", sub)
    alone = api.score(KIND, pred2, truth2, opts)
    part = ev.compute(np.array([1, 3]))
    for key in ("psnr", "ssim", "cpsnr", "cssim", "sam_deg", "ergas"):
        assert part[key] == pytest.approx(alone[key], rel=1e-12), key
    assert part["n_samples"] == 2
    # Bootstrap-style repeats weigh an image twice.
    rep = ev.compute(np.array([0, 0]))
    assert rep["psnr"] == pytest.approx(ev.compute(np.array([0]))["psnr"], rel=1e-12)


def test_evaluation_keeps_numbers_not_images(tmp_path):
    rng = np.random.default_rng(12)
    pred, truth = make_sets(tmp_path, pairs_uint(rng, 3, (64, 64, 3), np.uint8, 5))
    ev = api.evaluate(KIND, pred, truth)
    assert all(a.ndim == 1 and a.size == 3 for a in ev.values.values())
    samples = ev.samples()
    assert len(samples["psnr"]) == 3
    json.dumps(samples, allow_nan=False)


def test_zip_submission_scores_like_folder(tmp_path):
    rng = np.random.default_rng(13)
    pred, truth = make_sets(
        tmp_path, pairs_uint(rng, 2, (12, 12, 3), np.uint8, 5), ".png"
    )
    zipped = zip_folder(pred, tmp_path / "pred.zip")
    assert api.score(KIND, zipped, truth) == api.score(KIND, pred, truth)


# -------------------------------------------------------------- validation


def _err(pred, truth, options=None) -> str:
    with pytest.raises(ValidationError) as exc:
        api.score(KIND, pred, truth, options)
    return str(exc.value)


def test_shape_mismatch_names_id_and_both_shapes(tmp_path):
    t = np.zeros((16, 16), np.uint8)
    pred, truth = make_sets(tmp_path, [(t, np.zeros((16, 15), np.uint8))], ".png")
    msg = _err(pred, truth)
    assert "img00.png" in msg and "16x15" in msg and "16x16" in msg


def test_band_dtype_and_value_checks(tmp_path):
    t = np.zeros((8, 8, 3), np.uint8)
    pred, truth = make_sets(tmp_path / "a", [(t, np.zeros((8, 8, 4), np.uint8))])
    msg = _err(pred, truth)
    assert "img00.tif" in msg and "4 band" in msg and "has 3" in msg
    pred, truth = make_sets(tmp_path / "b", [(t, np.zeros((8, 8, 3), np.uint16))])
    msg = _err(pred, truth)
    assert "uint16" in msg and "uint8" in msg
    tf = np.zeros((8, 8), np.float32)
    bad = tf.copy()
    bad[2, 2] = np.nan
    pred, truth = make_sets(tmp_path / "c", [(tf, bad)])
    assert "NaN" in _err(pred, truth)
    pred, truth = make_sets(tmp_path / "d", [(tf, tf + 200)])
    assert "wrong scaling" in _err(pred, truth)
    pred, truth = make_sets(tmp_path / "e", [(np.zeros((8, 8), np.int32),) * 2])
    assert "data_range" in _err(pred, truth)


def test_missing_extra_and_corrupt_images(tmp_path):
    rng = np.random.default_rng(14)
    pred, truth = make_sets(tmp_path, pairs_uint(rng, 3, (8, 8), np.uint8, 2), ".png")
    (pred / "img01.png").unlink()
    msg = _err(pred, truth)
    assert "missing" in msg and "img01" in msg
    write(pred, "img01.png", np.zeros((8, 8), np.uint8))
    write(pred, "zzz.png", np.zeros((8, 8), np.uint8))
    msg = _err(pred, truth)
    assert "not in the test set" in msg and "zzz" in msg
    (pred / "zzz.png").unlink()
    (pred / "img02.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    msg = _err(pred, truth)
    assert "img02.png" in msg and "corrupt" in msg


def test_sixteen_bit_colour_png_is_refused_not_truncated(tmp_path):
    import cv2  # only to write the 16-bit colour PNG Pillow cannot

    rng = np.random.default_rng(15)
    t = rng.integers(0, 65535, (8, 8, 3)).astype(np.uint16)
    write(tmp_path / "truth", "a.tif", t)
    (tmp_path / "pred").mkdir()
    cv2.imwrite(str(tmp_path / "pred" / "a.png"), t)
    msg = _err(tmp_path / "pred", tmp_path / "truth")
    assert "a.png" in msg and "16-bit colour PNG" in msg


def test_bad_options_are_refused(tmp_path):
    rng = np.random.default_rng(16)
    pred, truth = make_sets(tmp_path, pairs_uint(rng, 1, (8, 8), np.uint8, 2))
    assert "variant" in _err(pred, truth, {"variant": "fancy"})
    assert "border" in _err(pred, truth, {"border": -1})
    assert "scale" in _err(pred, truth, {"scale": 0})
    assert "too small" in _err(pred, truth, {"border": 4})  # 8 px < 2·4 + 1
    assert "unknown option" in _err(pred, truth, {"ratio": 4})
    assert "cssim" in _err(pred, truth, {"variant": "probav", "cssim": "yes"})
    assert "cssim" in _err(pred, truth, {"cssim": True})  # plain has no shift search


# ------------------------------------------------------------ real samples


def test_worldstrat_sr_png_against_hr_png(shared_data, tmp_path):
    root = shared_data("worldstrat_metadata_demo", "video_demonstrations", "test_data")
    hr = np.asarray(Image.open(root / "HR.png"))
    sr = np.asarray(Image.open(root / "SR.png"))
    # A 256x256 window of the real rendering keeps the float64 reference fast.
    win = (slice(300, 556), slice(200, 456))
    pred, truth = make_sets(tmp_path / "crop", [(hr[win], sr[win])], ".png")
    res = api.score(KIND, pred, truth)
    p, t = chw(sr[win]), chw(hr[win])
    assert res["psnr"] == pytest.approx(
        float(tm_psnr(p, t, data_range=255.0)), rel=1e-6
    )
    assert res["ssim"] == pytest.approx(tm_ssim_one(sr[win], hr[win], 255.0), rel=1e-6)
    # Resizing is not our job: the LR frame (400x400) against the 800x800 HR.
    truth, pred = tmp_path / "truth", tmp_path / "pred"
    truth.mkdir()
    pred.mkdir()
    (truth / "scene.png").write_bytes((root / "HR.png").read_bytes())
    (pred / "scene.png").write_bytes((root / "L1.png").read_bytes())
    msg = _err(pred, truth)
    assert "scene.png" in msg and "400x400" in msg and "800x800" in msg


def test_eurosat_13_band_uint16_tiff_sam_ergas(shared_data, tmp_path):
    src = shared_data(
        "bigearthnet_rico_hdl", "EuroSAT_MS", "AnnualCrop", "AnnualCrop_1.tif"
    )
    raw = tifffile.imread(src)
    from evaluator.images import decode

    arr = decode(src.read_bytes(), "AnnualCrop_1.tif")
    assert arr.shape == (64, 64, 13) and arr.dtype == np.uint16
    assert np.array_equal(arr, raw if raw.shape[-1] == 13 else np.moveaxis(raw, 0, -1))
    rng = np.random.default_rng(17)
    noisy = np.clip(arr * rng.uniform(0.9, 1.1, arr.shape), 0, 65535).astype(np.uint16)
    truth, pred = tmp_path / "truth", tmp_path / "pred"
    truth.mkdir()
    (truth / "AnnualCrop_1.tif").write_bytes(src.read_bytes())
    write(pred, "AnnualCrop_1.tif", noisy)
    res = api.score(KIND, pred, truth, {"scale": 2})
    p, t = chw(noisy), chw(arr)
    assert res["sam_deg"] == pytest.approx(math.degrees(float(tm_sam(p, t))), rel=1e-6)
    assert res["ergas"] == pytest.approx(float(tm_ergas(p, t, ratio=2)), rel=1e-6)
    assert res["psnr"] == pytest.approx(
        float(tm_psnr(p, t, data_range=65535.0)), rel=1e-6
    )


# ------------------------------------------------------------- device / CLI


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_gives_the_cpu_numbers(tmp_path, monkeypatch):
    rng = np.random.default_rng(18)
    pairs = [(t, p) for t, p in pairs_uint(rng, 2, (40, 40, 3), np.uint16, 500)]
    pred, truth = make_sets(tmp_path, pairs)
    opts = {"variant": "probav", "scale": 4, "cssim": True}
    monkeypatch.setenv("EARTHBENCH_DEVICE", "cpu")
    cpu = api.score(KIND, pred, truth, opts)
    monkeypatch.setenv("EARTHBENCH_DEVICE", "cuda")
    gpu = api.score(KIND, pred, truth, opts)
    for key in ("psnr", "ssim", "cpsnr", "cssim", "sam_deg", "ergas"):
        assert gpu[key] == pytest.approx(cpu[key], rel=1e-9), key


def test_device_setting_is_read_from_env(monkeypatch):
    monkeypatch.setenv("EARTHBENCH_DEVICE", "cpu")
    assert quality.resolve_device().type == "cpu"
    monkeypatch.setenv("EARTHBENCH_DEVICE", "auto")
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert quality.resolve_device().type == want


def test_cli_scores_and_reports_one_line_errors(tmp_path):
    rng = np.random.default_rng(19)
    pred, truth = make_sets(tmp_path, pairs_uint(rng, 2, (12, 12), np.uint8, 3), ".png")
    cmd = [sys.executable, "-m", "evaluator", "score", "--kind", KIND]
    run = subprocess.run(
        [*cmd, "--predictions", str(pred), "--truth", str(truth), "--samples"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "EARTHBENCH_DEVICE": "cpu"},
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["primary"] == "psnr" and len(out["samples"]["psnr"]) == 2
    write(pred, "img00.png", np.zeros((12, 11), np.uint8))
    run = subprocess.run(
        [*cmd, "--predictions", str(pred), "--truth", str(truth)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "12x11" in run.stderr
