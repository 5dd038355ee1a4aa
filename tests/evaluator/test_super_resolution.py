"""super-resolution kind: references are torchmetrics and the PROBA-V definition
(PSNR, SSIM, SAM, ERGAS, cPSNR/cSSIM, the vectorised offset search, masks)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import (
    error_relative_global_dimensionless_synthesis as tm_ergas,
)
from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr
from torchmetrics.functional.image import spectral_angle_mapper as tm_sam
from torchmetrics.image import PeakSignalNoiseRatio

from evaluator import api, quality
from tests.evaluator.sr_cases import (
    KIND,
    chw,
    make_sets,
    pairs_uint,
    probav_brute,
    tm_ssim_one,
)

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
