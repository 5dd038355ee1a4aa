"""regression kind: reference is scikit-learn on the valid points/pixels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from evaluator import api
from evaluator.errors import ValidationError

KIND = "regression"
REPO = Path(__file__).resolve().parents[2]


def write_csv(path: Path, ids, values, header="id,value") -> Path:
    lines = [header] + [f"{i},{v}" for i, v in zip(ids, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def sk_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(np.sqrt(mean_squared_error(truth, pred))),
        "mae": float(mean_absolute_error(truth, pred)),
        "r2": float(r2_score(truth, pred)),
        "bias": float(np.mean(pred - truth)),
    }


def assert_matches(res: dict, want: dict, rel=1e-9) -> None:
    for key, val in want.items():
        assert res[key] == pytest.approx(val, rel=rel, abs=1e-12), key


def write_rasters(folder: Path, arrays: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for sid, arr in arrays.items():
        kw = (
            {"photometric": "minisblack", "planarconfig": "contig"}
            if arr.ndim == 3
            else {}
        )
        tifffile.imwrite(folder / f"{sid}.tif", arr, **kw)
    return folder


# ----------------------------------------------------------------- points


def test_points_match_sklearn_on_seeded_data(tmp_path):
    rng = np.random.default_rng(0)
    ids = [f"p{i:04d}" for i in range(500)]
    truth = rng.normal(288.0, 9.0, 500)  # e.g. air temperature in K
    pred = truth + rng.normal(0.4, 2.5, 500)
    t = write_csv(tmp_path / "truth.csv", ids, truth)
    order = rng.permutation(500)  # prediction row order must not matter
    p = write_csv(tmp_path / "pred.csv", [ids[i] for i in order], pred[order])
    res = api.score(KIND, p, t)
    assert_matches(res, sk_metrics(pred, truth))
    assert (
        res["primary"] == "rmse" and res["n_samples"] == 500 and res["n_valid"] == 500
    )
    assert res["input_form"] == "points"


def test_points_nodata_and_nan_truth_are_excluded(tmp_path):
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 300, 60)  # e.g. AGBD biomass per footprint
    truth[[3, 9, 20]] = -9999.0
    pred = truth + rng.normal(0, 20, 60)
    ids = [f"fp{i}" for i in range(60)]
    t_vals = [str(v) for v in truth]
    t_vals[30] = "nan"
    t_vals[31] = ""
    write_csv(tmp_path / "truth.csv", ids, t_vals)
    pred[3] = np.nan  # NaN prediction where the truth is nodata: ignored
    write_csv(tmp_path / "pred.csv", ids, pred)
    res = api.score(
        KIND, tmp_path / "pred.csv", tmp_path / "truth.csv", {"nodata": -9999}
    )
    keep = np.ones(60, bool)
    keep[[3, 9, 20, 30, 31]] = False
    assert_matches(res, sk_metrics(pred[keep], truth[keep]))
    assert res["n_valid"] == 55 and res["n_samples"] == 60 and res["nodata"] == -9999


def test_points_subset_equals_scoring_the_subset_alone(tmp_path):
    rng = np.random.default_rng(2)
    ids = [f"s{i}" for i in range(80)]
    truth = rng.gamma(2.0, 50.0, 80)
    pred = truth * rng.uniform(0.7, 1.3, 80)
    ev = api.evaluate(
        KIND,
        write_csv(tmp_path / "p.csv", ids, pred),
        write_csv(tmp_path / "t.csv", ids, truth),
    )
    sub = np.arange(0, 80, 3)
    alone = api.score(
        KIND,
        write_csv(tmp_path / "p2.csv", [ids[i] for i in sub], pred[sub]),
        write_csv(tmp_path / "t2.csv", [ids[i] for i in sub], truth[sub]),
    )
    part = ev.compute(sub)
    for key in ("rmse", "mae", "bias", "r2"):
        assert part[key] == pytest.approx(alone[key], rel=1e-9), key
    # Bootstrap repeats count a point twice, exactly as sklearn would.
    rep = np.array([0, 0, 1, 5, 5, 5])
    assert_matches(ev.compute(rep), sk_metrics(pred[rep], truth[rep]))
    assert ev.samples()["error"][4] == pytest.approx(pred[4] - truth[4])


def test_r2_constant_truth_follows_sklearn(tmp_path):
    ids = ["a", "b", "c"]
    t = write_csv(tmp_path / "t.csv", ids, [5.0, 5.0, 5.0])
    exact = api.score(KIND, write_csv(tmp_path / "p.csv", ids, [5, 5, 5]), t)
    off = api.score(KIND, write_csv(tmp_path / "q.csv", ids, [5, 6, 5]), t)
    assert exact["r2"] == r2_score([5, 5, 5], [5, 5, 5]) == 1.0
    assert off["r2"] == r2_score([5, 5, 5], [5, 6, 5]) == 0.0
    one = api.evaluate(KIND, tmp_path / "q.csv", t).compute(np.array([1]))
    assert one["r2"] is None and one["rmse"] == pytest.approx(1.0)  # sklearn: nan


def test_csv_validation_messages(tmp_path):
    ids = ["a", "b", "c"]
    t = write_csv(tmp_path / "t.csv", ids, [1, 2, 3])

    def err(lines: list[str]) -> str:
        p = tmp_path / "pred.csv"
        p.write_text("\n".join(lines) + "\n")
        with pytest.raises(ValidationError) as exc:
            api.score(KIND, p, t)
        return str(exc.value)

    msg = err(["id,value", "a,1", "b,abc", "c,3"])
    assert "pred.csv line 3" in msg and "'abc'" in msg and "'b'" in msg
    msg = err(["id,value", "a,1", "b,2", "a,3", "c,1"])
    assert "line 4" in msg and "duplicate id 'a'" in msg and "line 2" in msg
    msg = err(["id,value", "a,1", "b,nan", "c,3"])
    assert "line 3" in msg and "'b'" in msg and "finite" in msg
    msg = err(["id,value", "a,1", "b,inf", "c,3"])
    assert "'b'" in msg and "finite" in msg
    msg = err(["id,value", "a,1", "b,2"])
    assert "missing" in msg and "'c'" in msg
    msg = err(["id,value", "a,1", "b,2", "c,3", "zz,4"])
    assert "not in the test set" in msg and "'zz'" in msg
    msg = err(["id,prediction", "a,1", "b,2", "c,3"])
    assert "line 1" in msg and "id,value" in msg


# ----------------------------------------------------------------- rasters


def test_rasters_pool_valid_pixels_like_sklearn(tmp_path):
    rng = np.random.default_rng(3)
    truths, preds = {}, {}
    for i, shape in enumerate([(20, 24), (16, 16), (12, 30)]):
        t = rng.uniform(0, 250, shape).astype(np.float32)
        t[rng.random(shape) < 0.1] = -9999
        t[0, 0] = np.nan
        p = (t + rng.normal(0, 15, shape)).astype(np.float32)
        p[t == -9999] = np.nan  # predictions at nodata pixels do not matter
        truths[f"tile{i}"], preds[f"tile{i}"] = t, p
    write_rasters(tmp_path / "truth", truths)
    write_rasters(tmp_path / "pred", preds)
    with zipfile.ZipFile(tmp_path / "pred.zip", "w") as zf:
        for f in sorted((tmp_path / "pred").iterdir()):
            zf.write(f, f.name)
    ev = api.evaluate(
        KIND, tmp_path / "pred.zip", tmp_path / "truth", {"nodata": -9999}
    )
    t_all = np.concatenate([truths[k].ravel() for k in sorted(truths)]).astype(
        np.float64
    )
    p_all = np.concatenate([preds[k].ravel() for k in sorted(preds)]).astype(np.float64)
    ok = np.isfinite(t_all) & (t_all != -9999)
    res = ev.compute()
    assert_matches(res, sk_metrics(p_all[ok], t_all[ok]), rel=1e-9)
    assert res["input_form"] == "rasters" and res["n_samples"] == 3
    # Split consistency: one raster alone equals sklearn on that raster.
    t1, p1 = truths["tile1"].ravel().astype(float), preds["tile1"].ravel().astype(float)
    k1 = np.isfinite(t1) & (t1 != -9999)
    assert_matches(ev.compute(np.array([1])), sk_metrics(p1[k1], t1[k1]), rel=1e-9)
    assert ev.samples()["n_valid"][1] == int(k1.sum())


def test_raster_r2_is_stable_for_large_offsets(tmp_path):
    # Truth ~1e6 with a spread of ~1: naive Σy² − (Σy)²/n would lose digits.
    rng = np.random.default_rng(4)
    truths = {f"r{i}": 1e6 + rng.normal(0, 1, (16, 16)) for i in range(3)}
    preds = {k: v + rng.normal(0, 0.3, v.shape) for k, v in truths.items()}
    write_rasters(tmp_path / "t", truths)
    write_rasters(tmp_path / "p", preds)
    ev = api.evaluate(KIND, tmp_path / "p", tmp_path / "t")
    t_all = np.concatenate([truths[k].ravel() for k in sorted(truths)])
    p_all = np.concatenate([preds[k].ravel() for k in sorted(preds)])
    assert_matches(ev.compute(), sk_metrics(p_all, t_all), rel=1e-8)
    sub = np.array([2, 0])
    t_s = np.concatenate([truths[f"r{i}"].ravel() for i in sub])
    p_s = np.concatenate([preds[f"r{i}"].ravel() for i in sub])
    assert_matches(ev.compute(sub), sk_metrics(p_s, t_s), rel=1e-8)


def test_multiband_raster_and_validation(tmp_path):
    rng = np.random.default_rng(5)
    t = rng.random((10, 12, 3))
    write_rasters(tmp_path / "t", {"x": t})

    def err(arr) -> str:
        folder = tmp_path / f"p{arr.shape}{arr.dtype}"
        write_rasters(folder, {"x": arr})
        with pytest.raises(ValidationError) as exc:
            api.score(KIND, folder, tmp_path / "t")
        return str(exc.value)

    msg = err(rng.random((10, 11, 3)))
    assert "x.tif" in msg and "10x11" in msg and "10x12" in msg
    msg = err(rng.random((10, 12, 2)))
    assert "x.tif" in msg and "2 band" in msg and "has 3" in msg
    bad = t.copy()
    bad[4, 4, 1] = np.inf
    msg = err(bad)
    assert "x.tif" in msg and "NaN or infinite" in msg
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(ValidationError, match=r"x\.tif.*corrupt"):
        api.score(KIND, tmp_path / "c", tmp_path / "t")
    p = t + 0.1
    write_rasters(tmp_path / "ok", {"x": p})
    res = api.score(KIND, tmp_path / "ok", tmp_path / "t")
    assert_matches(res, sk_metrics(p.ravel(), t.ravel()))


def test_form_mismatch_and_bad_nodata(tmp_path):
    write_rasters(tmp_path / "t", {"x": np.zeros((4, 4))})
    p = write_csv(tmp_path / "p.csv", ["x"], [1.0])
    with pytest.raises(ValidationError, match="rasters"):
        api.score(KIND, p, tmp_path / "t")
    with pytest.raises(ValidationError, match="nodata"):
        api.score(KIND, p, p, {"nodata": "none"})


def test_real_sentinel2_band_as_raster_truth(shared_data, tmp_path):
    folder = shared_data(
        "bigearthnet_rico_hdl",
        "BigEarthNet",
        "S2",
        "S2A_MSIL2A_20180526T100031_N9999_R122_T34WFU_14_23",
    )
    src = next(iter(sorted(folder.glob("*_B04.tiff"))))
    truth = tifffile.imread(src)
    rng = np.random.default_rng(6)
    pred = truth.astype(np.float32) * rng.uniform(0.9, 1.1, truth.shape).astype(
        np.float32
    )
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "b04.tif").write_bytes(src.read_bytes())  # real GeoTIFF bytes
    write_rasters(tmp_path / "p", {"b04": pred})
    res = api.score(KIND, tmp_path / "p", tmp_path / "t")
    assert_matches(
        res, sk_metrics(pred.ravel().astype(float), truth.ravel().astype(float))
    )


def test_cli_scores_and_reports_one_line_errors(tmp_path):
    ids = ["a", "b", "c"]
    t = write_csv(tmp_path / "t.csv", ids, [1.0, 2.0, 4.0])
    p = write_csv(tmp_path / "p.csv", ids, [1.5, 2.0, 3.0])
    cmd = [
        sys.executable,
        "-m",
        "evaluator",
        "score",
        "--kind",
        KIND,
        "--truth",
        str(t),
    ]
    run = subprocess.run(
        [*cmd, "--predictions", str(p), "--samples"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ},
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["rmse"] == pytest.approx(np.sqrt((0.25 + 0 + 1) / 3))
    assert len(out["samples"]["error"]) == 3
    bad = write_csv(tmp_path / "bad.csv", ids, [1.0, "x", 2.0])
    run = subprocess.run(
        [*cmd, "--predictions", str(bad)], capture_output=True, text=True, cwd=REPO
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "bad.csv line 3" in run.stderr
