"""super-resolution kind: references are torchmetrics and the PROBA-V definition."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

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
from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim
from torchmetrics.image import PeakSignalNoiseRatio

from evaluator import api, quality
from evaluator.errors import ValidationError

KIND = "super-resolution"
REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- helpers


def write(folder: Path, name: str, arr: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".png"):
        Image.fromarray(arr).save(path)
    elif arr.ndim == 3:
        tifffile.imwrite(path, arr, photometric="minisblack", planarconfig="contig")
    else:
        tifffile.imwrite(path, arr)
    return path


def zip_folder(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
    return out


def chw(arr: np.ndarray) -> torch.Tensor:
    """(H, W[, C]) -> (1, C, H, W) float64 tensor, the torchmetrics layout."""
    a = arr[:, :, None] if arr.ndim == 2 else arr
    return torch.from_numpy(np.moveaxis(a, -1, 0).astype(np.float64))[None]


def tm_ssim_one(p, t, data_range):
    return float(
        tm_ssim(
            chw(p),
            chw(t),
            gaussian_kernel=True,
            sigma=1.5,
            kernel_size=11,
            data_range=data_range,
        )
    )


def pairs_uint(rng, n, shape, dtype, noise):
    hi = np.iinfo(dtype).max
    out = []
    for _ in range(n):
        t = rng.integers(0, hi, shape, endpoint=True).astype(dtype)
        p = np.clip(t + rng.normal(0, noise, shape), 0, hi).round().astype(dtype)
        out.append((t, p))
    return out


def make_sets(tmp_path, pairs, ext=".tif", masks=None, mask_style="suffix"):
    truth, pred = tmp_path / "truth", tmp_path / "pred"
    for i, (t, p) in enumerate(pairs):
        write(truth, f"img{i:02d}{ext}", t)
        write(pred, f"img{i:02d}{ext}", p)
        if masks is not None and masks[i] is not None:
            m = masks[i].astype(np.uint8) * 255
            name = (
                f"img{i:02d}.mask.png"
                if mask_style == "suffix"
                else f"masks/img{i:02d}.png"
            )
            write(truth, name, m)
    return pred, truth


def probav_brute(sr, hr, mask, s, data_range):
    """PROBA-V cPSNR/offset straight from the Kelvins text, numpy loops."""
    hr, sr = hr.astype(np.float64) / data_range, sr.astype(np.float64) / data_range
    if hr.ndim == 2:
        hr, sr = hr[:, :, None], sr[:, :, None]
    h, w, _ = hr.shape
    hc, wc = h - 2 * s, w - 2 * s
    sr_c = sr[s : s + hc, s : s + wc]
    best, where = math.inf, None
    for u in range(2 * s + 1):
        for v in range(2 * s + 1):
            hr_c = hr[u : u + hc, v : v + wc]
            m = mask[u : u + hc, v : v + wc]
            diff = (hr_c - sr_c)[m]  # (n_clear, C)
            b = diff.mean(axis=0)
            cmse = ((diff - b) ** 2).mean()
            if cmse < best:
                best, where = cmse, [u - s, v - s]
    return -10 * math.log10(best), where


# ------------------------------------------------------- reference matches


def test_psnr_is_per_image_mean_on_data_range_matching_torchmetrics(tmp_path):
    rng = np.random.default_rng(0)
    pairs = pairs_uint(rng, 3, (24, 20, 3), np.uint8, 4.0)
    # One much worse image: the per-image mean and the pooled MSE now disagree.
    t = rng.integers(0, 255, (24, 20, 3)).astype(np.uint8)
    pairs.append((t, np.clip(t + rng.normal(0, 60, t.shape), 0, 255).astype(np.uint8)))
    pred, truth = make_sets(tmp_path, pairs, ext=".png")
    res = api.score(KIND, pred, truth)
    per_image = [float(tm_psnr(chw(p), chw(t), data_range=255.0)) for t, p in pairs]
    assert res["psnr"] == pytest.approx(np.mean(per_image), rel=1e-6)
    assert res["data_range"] == 255.0
    pooled = PeakSignalNoiseRatio(data_range=255.0, dim=None)
    for t, p in pairs:
        pooled.update(chw(p), chw(t))
    # The METRICS.md trap: pooled MSE gives a clearly lower number.
    assert float(pooled.compute()) < res["psnr"] - 3


def test_ssim_matches_torchmetrics_per_image(tmp_path):
    rng = np.random.default_rng(1)
    pairs = []
    for shape in [(32, 28, 4), (20, 36, 4)]:
        t = rng.random(shape).astype(np.float32)
        p = np.clip(t + rng.normal(0, 0.08, shape), 0, 1).astype(np.float32)
        pairs.append((t, p))
    pred, truth = make_sets(tmp_path, pairs)
    res = api.score(KIND, pred, truth)
    want = np.mean([tm_ssim_one(p, t, 1.0) for t, p in pairs])
    assert res["ssim"] == pytest.approx(want, rel=1e-6)
    assert res["data_range"] == 1.0


def test_uint16_tiff_default_range_and_border(tmp_path):
    rng = np.random.default_rng(2)
    pairs = pairs_uint(rng, 2, (30, 30), np.uint16, 900.0)
    pred, truth = make_sets(tmp_path, pairs)
    res = api.score(KIND, pred, truth, {"border": 4})
    crop = (slice(4, -4), slice(4, -4))
    psnrs = [
        float(tm_psnr(chw(p[crop]), chw(t[crop]), data_range=65535.0)) for t, p in pairs
    ]
    ssims = [tm_ssim_one(p[crop], t[crop], 65535.0) for t, p in pairs]
    assert res["psnr"] == pytest.approx(np.mean(psnrs), rel=1e-6)
    assert res["ssim"] == pytest.approx(np.mean(ssims), rel=1e-6)
    assert res["data_range"] == 65535.0 and res["border"] == 4


def test_explicit_data_range_overrides_dtype(tmp_path):
    rng = np.random.default_rng(3)
    pairs = pairs_uint(rng, 2, (16, 16), np.uint16, 50.0)
    pairs = [(t >> 4, p >> 4) for t, p in pairs]  # 12-bit data in uint16
    pred, truth = make_sets(tmp_path, pairs)
    res = api.score(KIND, pred, truth, {"data_range": 4095})
    want = np.mean(
        [float(tm_psnr(chw(p), chw(t), data_range=4095.0)) for t, p in pairs]
    )
    assert res["psnr"] == pytest.approx(want, rel=1e-6)


def test_sam_degrees_and_ergas_match_torchmetrics(tmp_path):
    rng = np.random.default_rng(4)
    pairs = []
    for _ in range(3):
        t = rng.uniform(0.05, 1.0, (16, 18, 6)).astype(np.float32)
        p = np.clip(t * rng.uniform(0.8, 1.2, t.shape), 0, 1).astype(np.float32)
        pairs.append((t, p))
    pred, truth = make_sets(tmp_path, pairs)
    res = api.score(KIND, pred, truth, {"scale": 4})
    preds = torch.cat([chw(p) for _, p in pairs])
    target = torch.cat([chw(t) for t, _ in pairs])
    sam_rad = float(tm_sam(preds, target))
    assert res["sam_deg"] == pytest.approx(math.degrees(sam_rad), rel=1e-6)
    assert res["sam_deg"] > 1.0  # degrees, not radians (radians would be ~0.1)
    assert res["ergas"] == pytest.approx(
        float(tm_ergas(preds, target, ratio=4)), rel=1e-6
    )
    assert res["scale"] == 4


def test_ergas_none_without_scale_and_sam_none_single_band(tmp_path):
    rng = np.random.default_rng(5)
    pred, truth = make_sets(tmp_path, pairs_uint(rng, 2, (12, 12), np.uint8, 3))
    res = api.score(KIND, pred, truth)
    assert res["ergas"] is None and res["sam_deg"] is None
    assert res["cpsnr"] is None and res["primary"] == "psnr"
    assert res["lpips"] == "unavailable" and "offline" in res["lpips_reason"]
    json.dumps(res, allow_nan=False)


# ------------------------------------------------------------ cPSNR / cSSIM


def test_constant_brightness_offset_gives_capped_cpsnr(tmp_path):
    rng = np.random.default_rng(6)
    t = rng.uniform(0.2, 0.8, (24, 24)).astype(np.float64)
    p = t + 0.05
    pred, truth = make_sets(tmp_path, [(t, p)])
    for variant in ("probav", "worldstrat"):
        res = api.score(KIND, pred, truth, {"variant": variant, "cssim": True})
        # Plain PSNR sees the offset: 20·log10(1/0.05).
        assert res["psnr"] == pytest.approx(20 * math.log10(1 / 0.05), rel=1e-9)
        assert res["cpsnr"] == quality.PSNR_CAP_DB == res["psnr_cap_db"]
        assert res["cssim"] == pytest.approx(1.0, abs=1e-9)
        assert res["primary"] == "cpsnr" and res["variant"] == variant


def test_known_one_pixel_shift_is_recovered(tmp_path):
    rng = np.random.default_rng(7)
    hr = rng.random((40, 44))
    sr = np.roll(hr, shift=(-1, 2), axis=(0, 1)) + rng.normal(0, 0.01, hr.shape)
    pred, truth = make_sets(tmp_path, [(hr, sr)])
    ev = api.evaluate(KIND, pred, truth, {"variant": "probav"})
    res = ev.compute()
    # sr[i, j] = hr[i+1, j-2]: the best truth window sits at offset (+1, -2).
    assert ev.samples()["shift"] == [[1, -2]]
    want, offset = probav_brute(sr, hr, np.ones(hr.shape, bool), 3, 1.0)
    assert offset == [1, -2]
    assert res["cpsnr"] == pytest.approx(want, rel=1e-9)
    assert res["cpsnr"] > res["psnr"] + 10


def test_probav_cpsnr_with_masks_matches_definition(tmp_path):
    rng = np.random.default_rng(8)
    pairs, masks = [], []
    for _ in range(3):
        hr = rng.integers(0, 16383, (30, 30)).astype(np.uint16)
        sr = np.clip(hr + rng.normal(300, 400, hr.shape), 0, 65535).astype(np.uint16)
        m = rng.random(hr.shape) > 0.3
        pairs.append((hr, sr))
        masks.append(m)
    pred, truth = make_sets(tmp_path, pairs, masks=masks, mask_style="folder")
    res = api.score(KIND, pred, truth, {"variant": "probav"})
    want = np.mean(
        [
            probav_brute(s, h, m, 3, 65535.0)[0]
            for (h, s), m in zip(pairs, masks, strict=True)
        ]
    )
    assert res["cpsnr"] == pytest.approx(want, rel=1e-9)
    assert res["shift"] == 3


def test_worldstrat_shift_and_cssim_max_over_offsets(tmp_path):
    rng = np.random.default_rng(9)
    hr = rng.random((20, 22, 3))
    sr = np.clip(np.roll(hr, 1, axis=1) + rng.normal(0.02, 0.05, hr.shape), 0, 1)
    pred, truth = make_sets(tmp_path, [(hr, sr)])
    res = api.score(KIND, pred, truth, {"variant": "worldstrat", "shift": 2, "cssim": True})
    s = 2
    sr_c = sr[s:-s, s:-s]
    best_ssim = -1.0
    for u in range(2 * s + 1):
        for v in range(2 * s + 1):
            hr_c = hr[u : u + 16, v : v + 18]
            b = (hr_c - sr_c).mean(axis=(0, 1))
            best_ssim = max(best_ssim, tm_ssim_one(sr_c + b, hr_c, 1.0))
    assert res["cssim"] == pytest.approx(best_ssim, rel=1e-9)
    want, _ = probav_brute(sr, hr, np.ones(hr.shape[:2], bool), 2, 1.0)
    assert res["cpsnr"] == pytest.approx(want, rel=1e-9)


def test_cssim_is_only_computed_when_the_option_asks(tmp_path, monkeypatch):
    rng = np.random.default_rng(20)
    pred, truth = make_sets(tmp_path, pairs_uint(rng, 2, (24, 24), np.uint16, 300))
    on = api.score(KIND, pred, truth, {"variant": "probav", "cssim": True})
    calls = []
    real = quality._shift_ssim
    monkeypatch.setattr(quality, "_shift_ssim", lambda *a: calls.append(1) or real(*a))
    off = api.score(KIND, pred, truth, {"variant": "probav"})
    assert calls == [] and off["cssim"] is None
    assert math.isfinite(on["cssim"])
    assert off["cpsnr"] == on["cpsnr"] and off["psnr"] == on["psnr"]
    api.score(KIND, pred, truth, {"variant": "probav", "cssim": True})
    assert len(calls) == 2  # one per image


def _random_case(rng, shape, s, masked, kind):
    hr = rng.random(shape) * rng.choice([1.0, 4095.0])
    if kind == "shifted":
        sr = np.roll(hr, tuple(rng.integers(-s, s + 1, 2)), axis=(0, 1))
        sr = sr + rng.normal(0.01, 0.02, shape) * hr.max()
    elif kind == "exact":  # perfect up to a brightness offset: every value ties at 0
        sr = hr + 0.25 * hr.max()
    else:
        sr = hr + rng.normal(0, 0.3, shape) * hr.max()
    mask = np.ones(shape[:2], bool)
    if masked:
        mask = rng.random(shape[:2]) > rng.uniform(0.1, 0.9)
        mask[: rng.integers(0, shape[0] // 2)] = False  # a cloud bank
    return hr, sr, mask


@pytest.mark.parametrize("seed", range(12))
def test_vectorised_search_equals_the_per_offset_definition(seed):
    """evaluator/cpsnr.py (window sums + FFT correlations) against the
    definition's loop: same best offset, cMSE equal to 1e-9 (relative)."""
    from evaluator import cpsnr

    rng = np.random.default_rng(100 + seed)
    shape = (int(rng.integers(9, 40)), int(rng.integers(9, 40)))
    if seed % 3 == 0:
        shape += (int(rng.integers(1, 4)),)
    s = int(rng.integers(0, 4))
    kind = ["shifted", "noise", "exact"][seed % 3]
    hr, sr, mask = _random_case(rng, shape, s, seed % 2 == 1, kind)
    to = lambda a: np.moveaxis(a[:, :, None] if a.ndim == 2 else a, -1, 0).astype(np.float64)  # noqa: E731
    mse, at = cpsnr.search(to(sr), to(hr), s, None if mask.all() else mask)
    if kind == "exact":  # every offset's cMSE is rounding noise: capped either way
        assert at is not None and mse <= 1e-24 * hr.max() ** 2
        assert quality.psnr_from_mse(mse, hr.max()) == quality.PSNR_CAP_DB
        return
    want_db, want_at = probav_brute(sr, hr, mask, s, 1.0)
    assert list(at) == want_at
    assert -10 * math.log10(mse) == pytest.approx(want_db, rel=1e-9)


def test_vectorised_search_with_a_fully_cloudy_truth_has_no_offset():
    from evaluator import cpsnr

    hr = np.random.default_rng(0).random((1, 12, 12))
    assert cpsnr.search(hr, hr, 2, np.zeros((12, 12), bool)) == (math.inf, None)


def test_masks_exclude_cloudy_pixels_from_psnr(tmp_path):
    rng = np.random.default_rng(10)
    t = rng.integers(0, 255, (16, 16)).astype(np.uint8)
    p = t.copy()
    p[:4] = 255 - p[:4]  # garbage only under the cloud
    m = np.ones(t.shape, bool)
    m[:4] = False
    p[10, 10] = t[10, 10] ^ 8  # one real error in the clear area
    for style in ("suffix", "folder"):
        folder = tmp_path / style
        pred, truth = make_sets(folder, [(t, p)], masks=[m], mask_style=style)
        res = api.score(KIND, pred, truth)
        mse = ((p[m].astype(float) - t[m]) ** 2).mean()
        assert res["psnr"] == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-9)


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
