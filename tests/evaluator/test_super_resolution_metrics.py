"""super-resolution's ``metrics`` option: only the listed metrics are computed
(a cPSNR-only benchmark pays for the reads and the shift search alone), each
with exactly the value of a run that computes everything."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator import api, quality
from evaluator.errors import ValidationError
from tests.evaluator.sr_cases import KIND, make_sets, pairs_uint

ALL = ("psnr", "ssim", "cpsnr", "cssim", "sam_deg", "ergas")


@pytest.fixture
def sets(tmp_path):
    rng = np.random.default_rng(31)
    return make_sets(tmp_path, pairs_uint(rng, 3, (24, 24, 3), np.uint16, 300))


def _forbid(monkeypatch, *names):
    def boom(*_a, **_k):
        raise AssertionError("computed a metric the benchmark does not list")

    for name in names:
        monkeypatch.setattr(quality, name, boom)


def test_cpsnr_only_skips_every_full_image_metric(sets, monkeypatch):
    pred, truth = sets
    full = api.score(KIND, pred, truth, {"variant": "probav", "scale": 3, "cssim": True})
    _forbid(monkeypatch, "psnr", "ssim", "sam_sum", "ergas", "_shift_ssim")
    only = api.score(KIND, pred, truth, {"variant": "probav", "metrics": ["cpsnr"]})
    assert only["cpsnr"] == full["cpsnr"]
    assert not set(ALL[:2] + ALL[3:]) & set(only)
    samples = api.evaluate(KIND, pred, truth, {"variant": "probav", "metrics": ["cpsnr"]})
    assert set(samples.samples()) == {"cpsnr", "shift"}


def test_listed_metrics_keep_their_exact_values(sets):
    pred, truth = sets
    opts = {"variant": "worldstrat", "shift": 2, "scale": 3, "cssim": True}
    full = api.score(KIND, pred, truth, opts)
    for listed in (["psnr", "ssim"], ["cpsnr", "cssim", "psnr", "ssim"], ["sam_deg", "ergas"]):
        got = api.score(KIND, pred, truth, {**opts, "metrics": listed})
        assert {k: got[k] for k in listed} == {k: full[k] for k in listed}
        assert all(got[k] is not None for k in listed)
        assert not (set(ALL) - set(listed)) & set(got)


def test_default_still_computes_every_metric(sets):
    pred, truth = sets
    res = api.score(KIND, pred, truth, {"variant": "probav", "scale": 3, "cssim": True})
    assert all(res[k] is not None for k in ALL)


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"metrics": ["psnr", "lpips"]}, "'lpips' is not one of"),
        ({"metrics": []}, "non-empty list"),
        ({"metrics": "psnr"}, "non-empty list"),
        ({"variant": "probav", "metrics": ["cssim"]}, "cssim: true"),
        ({"metrics": ["cpsnr"]}, "variant probav or worldstrat"),
    ],
)
def test_bad_metrics_option_is_a_clear_error(sets, opts, message):
    pred, truth = sets
    with pytest.raises(ValidationError, match=message):
        api.score(KIND, pred, truth, opts)
