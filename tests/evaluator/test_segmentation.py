"""segmentation kind: dataset-level confusion matrix vs sklearn/torchmetrics."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.masks import confusion_numpy, confusion_torch, disc

REPO = Path(__file__).resolve().parents[2]


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def write_zip(path: Path, masks: dict[str, np.ndarray]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for sid, arr in masks.items():
            zf.writestr(f"{sid}.png", png_bytes(arr))
    return path


def random_split(rng, n_img=6, shape=(24, 20), n_cls=5, p_err=0.3, p_ign=0.1):
    truth, pred = {}, {}
    for i in range(n_img):
        t = rng.integers(0, n_cls, shape).astype(np.uint8)
        t[rng.random(shape) < p_ign] = 255
        p = np.where(rng.random(shape) < p_err, rng.integers(0, n_cls, shape), t)
        p = np.where(p == 255, rng.integers(0, n_cls, shape), p).astype(np.uint8)
        truth[f"img{i:02d}"], pred[f"img{i:02d}"] = t, p
    return truth, pred


def sklearn_metrics(truth, pred, n, ignore=255, labels=None):
    t = np.concatenate([truth[k].ravel() for k in sorted(truth)]).astype(int)
    p = np.concatenate([pred[k].ravel() for k in sorted(truth)]).astype(int)
    keep = t != ignore
    labels = list(range(n)) if labels is None else labels
    cm = confusion_matrix(t[keep], p[keep], labels=labels).astype(float)
    tp = np.diag(cm)[:n]
    row, col = cm.sum(1)[:n], cm.sum(0)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / (row + col - tp)
        f1 = 2 * tp / (row + col)
    present = (row + col) > 0
    return {
        "iou": iou,
        "f1": f1,
        "miou": iou[present].mean(),
        "mf1": f1[present].mean(),
        "oa": np.trace(cm) / cm.sum(),
    }


def score(tmp_path, truth, pred, **options):
    t = write_zip(tmp_path / "truth.zip", truth)
    p = write_zip(tmp_path / "pred.zip", pred)
    return api.score("segmentation", p, t, options)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_confusion_matrix(tmp_path, seed):
    rng = np.random.default_rng(seed)
    truth, pred = random_split(rng)
    res = score(tmp_path, truth, pred, num_classes=5)
    ref = sklearn_metrics(truth, pred, 5)
    assert res["miou"] == pytest.approx(ref["miou"], rel=1e-6)
    assert res["mf1"] == pytest.approx(ref["mf1"], rel=1e-6)
    assert res["oa"] == pytest.approx(ref["oa"], rel=1e-6)
    for c in range(5):
        assert res["per_class"][str(c)]["iou"] == pytest.approx(ref["iou"][c], rel=1e-6)
        assert res["per_class"][str(c)]["f1"] == pytest.approx(ref["f1"][c], rel=1e-6)
    assert res["primary"] == "miou" and res["n_samples"] == 6


def test_matches_torchmetrics_multiclass_jaccard(tmp_path):
    import torch
    from torchmetrics.classification import MulticlassF1Score, MulticlassJaccardIndex

    rng = np.random.default_rng(7)
    truth, pred = random_split(rng, n_img=4, n_cls=6)
    res = score(tmp_path, truth, pred, num_classes=6)
    t = torch.from_numpy(np.stack([truth[k] for k in sorted(truth)]).astype(np.int64))
    p = torch.from_numpy(np.stack([pred[k] for k in sorted(truth)]).astype(np.int64))
    jac = MulticlassJaccardIndex(num_classes=6, average=None, ignore_index=255)(p, t)
    f1 = MulticlassF1Score(num_classes=6, average=None, ignore_index=255)(p, t)
    ours_iou = [res["per_class"][str(c)]["iou"] for c in range(6)]
    ours_f1 = [res["per_class"][str(c)]["f1"] for c in range(6)]
    np.testing.assert_allclose(ours_iou, jac.double().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours_f1, f1.double().numpy(), rtol=1e-6)
    assert res["miou"] == pytest.approx(float(jac.double().mean()), rel=1e-6)


def test_dataset_level_miou_not_per_image_mean(tmp_path):
    # Image a: large and mostly right; image b: tiny with class 1 missed.
    a_t = np.zeros((40, 40), np.uint8)
    a_t[:, 20:] = 1
    a_p = a_t.copy()
    a_p[:2, 18:20] = 1
    b_t = np.zeros((4, 4), np.uint8)
    b_t[:2] = 1
    b_p = np.zeros((4, 4), np.uint8)
    truth, pred = {"a": a_t, "b": b_t}, {"a": a_p, "b": b_p}
    res = score(tmp_path, truth, pred, num_classes=2)
    ref = sklearn_metrics(truth, pred, 2)
    per_image = np.mean(
        [sklearn_metrics({k: truth[k]}, {k: pred[k]}, 2)["miou"] for k in truth]
    )
    assert res["miou"] == pytest.approx(ref["miou"], rel=1e-9)
    assert abs(res["miou"] - per_image) > 0.1


def test_absent_class_left_out_of_mean_and_null(tmp_path):
    t = np.array([[0, 0, 1, 1]], np.uint8)
    p = np.array([[0, 1, 1, 1]], np.uint8)
    res = score(tmp_path, {"x": t}, {"x": p}, classes=["bg", "road", "water"])
    assert res["per_class"]["water"]["iou"] is None
    assert res["n_classes_averaged"] == 2
    # IoU bg = 1/2, road = 2/3
    assert res["miou"] == pytest.approx((1 / 2 + 2 / 3) / 2, rel=1e-12)
    json.dumps(res, allow_nan=False)


def test_prediction_ignore_value_counts_as_wrong(tmp_path):
    rng = np.random.default_rng(3)
    truth, pred = random_split(rng, n_img=3, n_cls=4, p_ign=0.0)
    for k in pred:
        pred[k][rng.random(pred[k].shape) < 0.1] = 255
    res = score(tmp_path, truth, pred, num_classes=4)
    # sklearn with an explicit "no prediction" label 255: wrong for every class.
    ref = sklearn_metrics(truth, pred, 4, ignore=-1, labels=[0, 1, 2, 3, 255])
    assert res["miou"] == pytest.approx(ref["miou"], rel=1e-6)
    assert res["oa"] == pytest.approx(ref["oa"], rel=1e-6)


def test_mean_over_restricts_average(tmp_path):
    rng = np.random.default_rng(4)
    truth, pred = random_split(rng, n_img=2, n_cls=6)
    res = score(tmp_path, truth, pred, num_classes=6, mean_over=[0, 1, 2, 3, 4])
    ref = sklearn_metrics(truth, pred, 6)
    assert res["miou"] == pytest.approx(ref["iou"][:5].mean(), rel=1e-6)


def brute_force_keep(t: np.ndarray, r: int) -> np.ndarray:
    """Pixel kept iff every in-image pixel within Euclidean distance r has its label."""
    h, w = t.shape
    keep = np.ones_like(t, bool)
    for y in range(h):
        for x in range(w):
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    yy, xx = y + dy, x + dx
                    if dy * dy + dx * dx <= r * r and 0 <= yy < h and 0 <= xx < w:
                        keep[y, x] &= t[yy, xx] == t[y, x]
    return keep


@pytest.mark.parametrize("radius", [1, 3])
def test_eroded_boundary_matches_brute_force(tmp_path, radius):
    rng = np.random.default_rng(radius)
    # Blocky labels so that some interior pixels survive erosion.
    t = np.kron(rng.integers(0, 3, (4, 4)), np.ones((7, 7), int)).astype(np.uint8)
    p = np.where(rng.random(t.shape) < 0.3, rng.integers(0, 3, t.shape), t).astype(
        np.uint8
    )
    res = score(tmp_path, {"x": t}, {"x": p}, num_classes=3, erode_px=radius)
    keep = brute_force_keep(t, radius)
    cm = confusion_matrix(t[keep], p[keep], labels=[0, 1, 2]).astype(float)
    tp = np.diag(cm)
    iou = tp / (cm.sum(0) + cm.sum(1) - tp)
    assert res["miou"] == pytest.approx(iou.mean(), rel=1e-9)
    assert res["n_pixels"] == keep.sum() and res["erode_px"] == radius


def test_torch_cpu_path_equals_numpy_exactly(tmp_path, monkeypatch):
    rng = np.random.default_rng(11)
    for dtype in (np.uint8, np.uint16, np.int32):
        t = rng.integers(0, 7, (33, 17)).astype(dtype)
        t[rng.random(t.shape) < 0.2] = 255
        p = rng.integers(0, 8, (33, 17)).astype(dtype)
        keep = rng.random(t.shape) < 0.8
        a = confusion_numpy(t, p, 7, 8, keep)
        b = confusion_torch(t, p, 7, 8, keep, device="cpu")
        assert a.dtype == b.dtype == np.int64
        np.testing.assert_array_equal(a, b)
    truth, pred = random_split(rng)
    monkeypatch.setenv("EARTHBENCH_DEVICE", "numpy")
    ref = score(tmp_path, truth, pred, num_classes=5, erode_px=1)
    monkeypatch.setenv("EARTHBENCH_DEVICE", "torch")
    got = score(tmp_path, truth, pred, num_classes=5, erode_px=1)
    assert got == ref


def test_subset_and_bootstrap_index_match_separate_scoring(tmp_path):
    rng = np.random.default_rng(5)
    truth, pred = random_split(rng, n_img=6)
    t = write_zip(tmp_path / "truth.zip", truth)
    p = write_zip(tmp_path / "pred.zip", pred)
    ev = api.evaluate("segmentation", p, t, {"num_classes": 5})
    sub = ["img01", "img04", "img05"]
    got = ev.compute(api.subset_index(ev, sub))
    (tmp_path / "s").mkdir()
    alone = score(
        tmp_path / "s",
        {k: truth[k] for k in sub},
        {k: pred[k] for k in sub},
        num_classes=5,
    )
    assert got == alone
    # Repeats (bootstrap) weight images, exactly like duplicated data.
    idx = np.array([0, 0, 3, 5, 5, 5])
    ids = ev.sample_ids
    rep_t = {f"{j}_{ids[i]}": truth[ids[i]] for j, i in enumerate(idx)}
    rep_p = {f"{j}_{ids[i]}": pred[ids[i]] for j, i in enumerate(idx)}
    ref = sklearn_metrics(rep_t, rep_p, 5)
    assert ev.compute(idx)["miou"] == pytest.approx(ref["miou"], rel=1e-9)


def test_samples_hold_per_image_intersections_and_unions(tmp_path):
    rng = np.random.default_rng(6)
    truth, pred = random_split(rng, n_img=3, n_cls=3)
    t = write_zip(tmp_path / "truth.zip", truth)
    p = write_zip(tmp_path / "pred.zip", pred)
    ev = api.evaluate("segmentation", p, t, {"num_classes": 3})
    s = ev.samples()
    k = ev.sample_ids[1]
    keep = truth[k] != 255
    tt, pp = truth[k][keep], pred[k][keep]
    for c in range(3):
        assert s["intersection"][1][c] == np.sum((tt == c) & (pp == c))
        assert s["union"][1][c] == np.sum((tt == c) | (pp == c))


def test_npz_and_geotiff_inputs(tmp_path):
    import tifffile

    rng = np.random.default_rng(8)
    truth, pred = random_split(rng, n_img=3, n_cls=4)
    np.savez(tmp_path / "truth.npz", **truth)
    (tmp_path / "tif").mkdir()
    for k, v in pred.items():
        tifffile.imwrite(tmp_path / "tif" / f"{k}.tif", v.astype(np.uint16))
    res = api.score(
        "segmentation", tmp_path / "tif", tmp_path / "truth.npz", {"num_classes": 4}
    )
    assert res["miou"] == pytest.approx(
        sklearn_metrics(truth, pred, 4)["miou"], rel=1e-9
    )


# --- validation -------------------------------------------------------------


def _error(tmp_path, truth, pred, **options) -> str:
    with pytest.raises(ValidationError) as exc:
        score(tmp_path, truth, pred, **options)
    return str(exc.value)


def test_wrong_shape_names_file_and_sizes(tmp_path):
    t = {"0001": np.zeros((256, 256), np.uint8)}
    p = {"0001": np.zeros((256, 255), np.uint8)}
    msg = _error(tmp_path, t, p, num_classes=2)
    assert "pred.zip:0001.png" in msg and "256x255" in msg and "256x256" in msg


def test_rgb_prediction_rejected(tmp_path):
    t = {"a": np.zeros((8, 8), np.uint8)}
    p = {"a": np.zeros((8, 8, 3), np.uint8)}
    msg = _error(tmp_path, t, p, num_classes=2)
    assert "pred.zip:a.png" in msg and "3 channels" in msg


def test_float_prediction_rejected(tmp_path):
    np.savez(tmp_path / "t.npz", a=np.zeros((4, 4), np.uint8))
    np.savez(tmp_path / "p.npz", a=np.zeros((4, 4), np.float32))
    with pytest.raises(ValidationError, match=r"p\.npz\['a'\].*float32"):
        api.score(
            "segmentation", tmp_path / "p.npz", tmp_path / "t.npz", {"num_classes": 2}
        )


def test_value_outside_class_range(tmp_path):
    t = {"a": np.zeros((4, 4), np.uint8)}
    p = {"a": np.full((4, 4), 7, np.uint8)}
    msg = _error(tmp_path, t, p, num_classes=5)
    assert "pred.zip:a.png" in msg and "value 7" in msg and "0..4" in msg


def test_truth_out_of_range_does_not_leak_value(tmp_path):
    t = {"a": np.full((4, 4), 77, np.uint8)}
    p = {"a": np.zeros((4, 4), np.uint8)}
    msg = _error(tmp_path, t, p, num_classes=5)
    assert "ground truth" in msg and "77" not in msg


def test_missing_and_extra_ids(tmp_path):
    t = {"a": np.zeros((4, 4), np.uint8), "b": np.zeros((4, 4), np.uint8)}
    msg = _error(tmp_path, t, {"a": t["a"]}, num_classes=2)
    assert "1 test id(s) missing" in msg and "'b'" in msg
    msg = _error(tmp_path, t, {**t, "zz": t["a"]}, num_classes=2)
    assert "not in the test set" in msg and "'zz'" in msg


def test_corrupt_png_named(tmp_path):
    write_zip(tmp_path / "truth.zip", {"a": np.zeros((4, 4), np.uint8)})
    with zipfile.ZipFile(tmp_path / "pred.zip", "w") as zf:
        zf.writestr("a.png", png_bytes(np.zeros((4, 4), np.uint8))[:30])
    with pytest.raises(ValidationError, match=r"pred\.zip:a\.png: corrupt"):
        api.score(
            "segmentation",
            tmp_path / "pred.zip",
            tmp_path / "truth.zip",
            {"num_classes": 2},
        )


def test_malicious_zip_rejected(tmp_path):
    write_zip(tmp_path / "truth.zip", {"a": np.zeros((4, 4), np.uint8)})
    with zipfile.ZipFile(tmp_path / "pred.zip", "w") as zf:
        zf.writestr("../../a.png", png_bytes(np.zeros((4, 4), np.uint8)))
    with pytest.raises(ValidationError, match="unsafe path"):
        api.score(
            "segmentation",
            tmp_path / "pred.zip",
            tmp_path / "truth.zip",
            {"num_classes": 2},
        )


def test_options_validated(tmp_path):
    t = {"a": np.zeros((4, 4), np.uint8)}
    assert "num_classes" in _error(tmp_path, t, t)
    assert "ignore_index=1" in _error(tmp_path, t, t, num_classes=3, ignore_index=1)
    assert "classes lists 2" in _error(
        tmp_path, t, t, num_classes=3, classes=["a", "b"]
    )
    assert "erode_px" in _error(tmp_path, t, t, num_classes=3, erode_px=-1)


# --- real samples -------------------------------------------------------------


def _perturb(mask: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = mask.copy()
    flip = rng.random(mask.shape) < 0.15
    out[flip] = rng.integers(0, n, int(flip.sum()))
    out[: mask.shape[0] // 4] = np.roll(out[: mask.shape[0] // 4], 5, axis=1)
    return out


@pytest.mark.parametrize(
    ("folder", "n"),
    [
        ("pseudo_loveda_dataset", 8),
        ("pseudo_potsdam_dataset", 6),
        ("pseudo_vaihingen_dataset", 6),
    ],
)
def test_real_mmseg_masks(tmp_path, shared_data, folder, n):
    ann = shared_data("mmseg_pseudo_rs", folder, "ann_dir")
    res = api.score("segmentation", ann, ann, {"num_classes": n})
    assert res["miou"] == 1.0 and res["oa"] == 1.0
    truth = {p.stem: np.asarray(Image.open(p)) for p in sorted(ann.glob("*.png"))}
    pred = {k: _perturb(v, n, i) for i, (k, v) in enumerate(truth.items())}
    p = write_zip(tmp_path / "pred.zip", pred)
    res = api.score("segmentation", p, ann, {"num_classes": n})
    ref = sklearn_metrics(truth, pred, n)
    assert res["miou"] == pytest.approx(ref["miou"], rel=1e-6)
    assert res["oa"] == pytest.approx(ref["oa"], rel=1e-6)


def test_real_vaihingen_eroded_boundaries(tmp_path, shared_data):
    from scipy import ndimage

    ann = shared_data("mmseg_pseudo_rs", "pseudo_vaihingen_dataset", "ann_dir")
    (path,) = sorted(ann.glob("*.png"))
    t = np.asarray(Image.open(path))
    p = _perturb(t, 6, 0)
    pz = write_zip(tmp_path / "pred.zip", {path.stem: p})
    res = api.score("segmentation", pz, ann, {"num_classes": 6, "erode_px": 3})
    # Independent formulation: per-class binary erosion with the radius-3 disc.
    keep = np.zeros(t.shape, bool)
    for c in range(6):
        keep |= ndimage.binary_erosion(t == c, structure=disc(3), border_value=1)
    ref = sklearn_metrics({"x": np.where(keep, t, 255)}, {"x": p}, 6)
    assert res["miou"] == pytest.approx(ref["miou"], rel=1e-6)
    assert res["n_pixels"] == keep.sum() < t.size


# --- CLI and streaming -------------------------------------------------------------


def test_cli_ok_and_error(tmp_path):
    t = write_zip(tmp_path / "truth.zip", {"a": np.eye(4, dtype=np.uint8)})
    p = write_zip(tmp_path / "pred.zip", {"a": np.eye(4, dtype=np.uint8)})
    cmd = [sys.executable, "-m", "evaluator", "score", "--kind", "segmentation"]
    ok = subprocess.run(
        [
            *cmd,
            "--predictions",
            p,
            "--truth",
            t,
            "--options",
            '{"num_classes": 2}',
            "--samples",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"EARTHBENCH_DEVICE": "cpu", "PATH": ""},
    )
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["miou"] == 1.0 and out["samples"]["intersection"] == [[12, 4]]
    bad = write_zip(tmp_path / "bad.zip", {"a": np.full((4, 4), 9, np.uint8)})
    err = subprocess.run(
        [*cmd, "--predictions", bad, "--truth", t, "--options", '{"num_classes": 2}'],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"EARTHBENCH_DEVICE": "cpu", "PATH": ""},
    )
    assert err.returncode == 2 and err.stdout == ""
    assert len(err.stderr.strip().splitlines()) == 1 and "bad.zip:a.png" in err.stderr


@pytest.mark.slow
def test_streaming_memory_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("EARTHBENCH_DEVICE", "numpy")
    n_img, size = 2000, 512
    block = np.kron(np.arange(16).reshape(4, 4) % 6, np.ones((128, 128), int)).astype(
        np.uint8
    )
    data = png_bytes(block)
    for name in ("truth.zip", "pred.zip"):
        with zipfile.ZipFile(tmp_path / name, "w") as zf:
            for i in range(n_img):
                zf.writestr(f"{i:05d}.png", data)
    tracemalloc.start()
    ev = api.evaluate(
        "segmentation",
        tmp_path / "pred.zip",
        tmp_path / "truth.zip",
        {"num_classes": 6},
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert ev.compute()["miou"] == 1.0
    # Holding the masks would take n_img * size**2 * 2 bytes = 1 GB.
    assert peak < 40 * size * size
