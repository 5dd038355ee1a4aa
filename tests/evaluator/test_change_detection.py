"""change-detection kind: binary vs sklearn, conditional vs MapFormer's
``scd_eval_metrics``, referring vs SECOND's ``SCDD_eval_all`` (transcribed)."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    f1_score,
    jaccard_score,
    precision_score,
    recall_score,
)

from evaluator import api
from evaluator.errors import ValidationError

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


def score(tmp_path, truth, pred, **options):
    t = write_zip(tmp_path / "truth.zip", truth)
    p = write_zip(tmp_path / "pred.zip", pred)
    return api.score("change-detection", p, t, options)


def sklearn_binary(truth, pred, change_values=(1,), ignore=(255,)):
    t = np.concatenate([truth[k].ravel() for k in sorted(truth)])
    p = np.concatenate([pred[k].ravel() for k in sorted(truth)]) != 0
    keep = ~np.isin(t, [v for v in ignore if v not in change_values])
    y, yhat = np.isin(t[keep], change_values).astype(int), p[keep].astype(int)
    return {
        "precision": precision_score(y, yhat),
        "recall": recall_score(y, yhat),
        "f1": f1_score(y, yhat),
        "iou": jaccard_score(y, yhat),
        "oa": accuracy_score(y, yhat),
        "kappa": cohen_kappa_score(y, yhat),
    }


def random_binary(rng, n_img=5, shape=(20, 24), p_ign=0.05, scale=1):
    truth, pred = {}, {}
    for i in range(n_img):
        t = (rng.random(shape) < rng.uniform(0.05, 0.5)).astype(np.uint8)
        p = np.where(rng.random(shape) < 0.25, 1 - t, t).astype(np.uint8)
        t[rng.random(shape) < p_ign] = 255
        truth[f"p{i}"], pred[f"p{i}"] = t, (p * scale).astype(np.uint8)
    return truth, pred


def assert_close(res, ref, keys):
    for k in keys:
        assert res[k] == pytest.approx(ref[k], rel=1e-6), k


BINARY_KEYS = ("precision", "recall", "f1", "iou", "oa", "kappa")


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_01_with_ignore_matches_sklearn(tmp_path, seed):
    truth, pred = random_binary(np.random.default_rng(seed))
    res = score(tmp_path, truth, pred)
    assert_close(res, sklearn_binary(truth, pred), BINARY_KEYS)
    assert res["truth_encoding"] == "0/1" and res["primary"] == "f1"


def test_binary_levir_0_255_labels_and_predictions(tmp_path):
    rng = np.random.default_rng(2)
    truth, pred = random_binary(rng, p_ign=0.0, scale=255)
    truth = {k: v * 255 for k, v in truth.items()}
    res = score(tmp_path, truth, pred)
    assert res["truth_encoding"] == "0/255"
    assert_close(
        res, sklearn_binary(truth, pred, change_values=(255,), ignore=()), BINARY_KEYS
    )


def test_binary_forced_encoding(tmp_path):
    # All-no-change truth with an ignored stripe: auto would call 255 change.
    t = np.zeros((6, 6), np.uint8)
    t[:, :2] = 255
    p = np.zeros((6, 6), np.uint8)
    p[:, 0] = 1
    auto = score(tmp_path, {"a": t}, {"a": p})
    assert auto["truth_encoding"] == "0/255" and auto["tp"] == 6
    forced = score(tmp_path, {"a": t}, {"a": p}, truth_encoding="0/1")
    assert forced["tp"] == 0 and forced["fp"] == 0 and forced["tn"] == 24
    assert forced["f1"] is None and forced["precision"] is None


def test_binary_auto_refuses_mixed_01_and_0255_truth(tmp_path):
    # LEVIR-style 0/255 masks with one mask saved as 0/1: before, the single 1
    # turned every 255 of the split into "ignore" silently.
    rng = np.random.default_rng(11)
    truth, pred = random_binary(rng, n_img=4, p_ign=0.0, scale=255)
    truth = {k: v * 255 for k, v in truth.items()}
    truth["p2"] = truth["p2"] // 255  # the odd file, 0/1
    with pytest.raises(ValidationError) as err:
        score(tmp_path, truth, pred)
    msg = str(err.value)
    assert "p2.png" in msg and "0/1" in msg and "truth_encoding" in msg
    # the other way round: one 0/255 mask among 0/1 masks (ignore_index 255)
    truth = {k: (v // 255) for k, v in truth.items()}
    truth["p0"] = truth["p0"] * 255
    (tmp_path / "b").mkdir()
    with pytest.raises(ValidationError, match="p0.png"):
        score(tmp_path / "b", truth, pred)
    # an explicit encoding decides: 0/255 rejects the 1s, 0/1 ignores the 255s
    (tmp_path / "c").mkdir()
    forced = score(tmp_path / "c", truth, pred, truth_encoding="0/1")
    assert forced["truth_encoding"] == "0/1"
    assert_close(forced, sklearn_binary(truth, pred), BINARY_KEYS)


def test_binary_auto_per_file_consistent_splits(tmp_path):
    # 0/1 masks with ignore pixels and a 0/255 split each keep their meaning;
    # all-zero masks are neutral.
    truth, pred = random_binary(np.random.default_rng(12), n_img=3)
    truth["z"], pred["z"] = np.zeros((20, 24), np.uint8), np.ones((20, 24), np.uint8)
    res = score(tmp_path, truth, pred)
    assert res["truth_encoding"] == "0/1"
    assert_close(res, sklearn_binary(truth, pred), BINARY_KEYS)


def test_binary_dataset_level_not_per_image(tmp_path):
    a_t = np.zeros((30, 30), np.uint8)
    a_t[:15] = 1
    a_p = a_t.copy()
    b_t = np.zeros((4, 4), np.uint8)
    b_t[0, 0] = 1
    b_p = np.zeros((4, 4), np.uint8)
    b_p[3] = 1
    truth, pred = {"a": a_t, "b": b_t}, {"a": a_p, "b": b_p}
    res = score(tmp_path, truth, pred)
    ref = sklearn_binary(truth, pred)
    per_image = np.mean(
        [sklearn_binary({k: truth[k]}, {k: pred[k]})["f1"] for k in truth]
    )
    assert res["f1"] == pytest.approx(ref["f1"], rel=1e-9)
    assert abs(res["f1"] - per_image) > 0.1


def test_binary_torch_path_equals_numpy(tmp_path, monkeypatch):
    truth, pred = random_binary(np.random.default_rng(9))
    monkeypatch.setenv("EARTHBENCH_DEVICE", "numpy")
    ref = score(tmp_path, truth, pred)
    monkeypatch.setenv("EARTHBENCH_DEVICE", "torch")
    assert score(tmp_path, truth, pred) == ref


def test_binary_subset_matches_separate_scoring_and_samples(tmp_path):
    truth, pred = random_binary(np.random.default_rng(4), n_img=6)
    t = write_zip(tmp_path / "truth.zip", truth)
    p = write_zip(tmp_path / "pred.zip", pred)
    ev = api.evaluate("change-detection", p, t, {})
    sub = ["p1", "p2", "p5"]
    got = ev.compute(api.subset_index(ev, sub))
    (tmp_path / "s").mkdir()
    assert got == score(
        tmp_path / "s", {k: truth[k] for k in sub}, {k: pred[k] for k in sub}
    )
    s = ev.samples()
    k = ev.sample_ids[0]
    keep = truth[k] != 255
    assert s["tp"][0] == np.sum((truth[k][keep] == 1) & (pred[k][keep] == 1))
    assert s["fn"][0] == np.sum((truth[k][keep] == 1) & (pred[k][keep] == 0))


# --- conditional (MapFormer) --------------------------------------------------------


def mapformer_scd_eval(results, gt_bc_maps, gt_sem_maps, num_semantic_classes):
    """Transcription of MapFormer ``mmseg/core/evaluation/scd_metrics.py``
    (BC, SC, BC_recall, BC_precision, SCS) with ignore_index_bc absent."""
    k_rng = (-0.5, num_semantic_classes - 0.5)
    bc_i = bc_u = bc_p = bc_g = 0.0
    sc_i = np.zeros(num_semantic_classes)
    sc_u = np.zeros(num_semantic_classes)
    for res, gt_bc, gt_sem in zip(results, gt_bc_maps, gt_sem_maps, strict=True):
        pred_bc, pred_sem = res["bc"], res["sem"]
        bc_i += np.logical_and(pred_bc == 1, gt_bc == 1).sum()
        bc_u += np.logical_or(pred_bc == 1, gt_bc == 1).sum()
        bc_p += pred_bc.sum()
        bc_g += gt_bc.sum()
        cm = gt_bc == 1
        inter = pred_sem[cm][pred_sem[cm] == gt_sem[cm]]
        ia = np.histogram(inter, bins=num_semantic_classes, range=k_rng)[0]
        pa = np.histogram(pred_sem[cm], bins=num_semantic_classes, range=k_rng)[0]
        ga = np.histogram(gt_sem[cm], bins=num_semantic_classes, range=k_rng)[0]
        sc_i += ia
        sc_u += pa + ga - ia
    bc, sc = bc_i / bc_u, (sc_i / sc_u).mean()
    return {
        "BC": bc,
        "SC": sc,
        "BC_recall": bc_i / bc_g,
        "BC_precision": bc_i / bc_p,
        "SCS": 0.5 * (bc + sc),
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_conditional_matches_mapformer(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n = 5  # values 0 (no change) + 4 semantic classes
    truth, pred = {}, {}
    for i in range(4):
        t = rng.integers(0, n, (16, 18)).astype(np.uint8)
        p = np.where(rng.random(t.shape) < 0.35, rng.integers(0, n, t.shape), t)
        truth[f"s{i}"], pred[f"s{i}"] = t, p.astype(np.uint8)
    res = score(tmp_path, truth, pred, variant="conditional", num_classes=n)
    keys = sorted(truth)
    # Our encoding -> MapFormer's: bc = value > 0, semantic class = value - 1
    # (a predicted 0 on a changed pixel is -1: outside every class bin).
    ref = mapformer_scd_eval(
        [
            {"bc": (pred[k] > 0).astype(int), "sem": pred[k].astype(int) - 1}
            for k in keys
        ],
        [(truth[k] > 0).astype(int) for k in keys],
        [truth[k].astype(int) - 1 for k in keys],
        n - 1,
    )
    assert res["bc_iou"] == pytest.approx(ref["BC"], rel=1e-6)
    assert res["bc_recall"] == pytest.approx(ref["BC_recall"], rel=1e-6)
    assert res["bc_precision"] == pytest.approx(ref["BC_precision"], rel=1e-6)
    assert res["sc_miou"] == pytest.approx(ref["SC"], rel=1e-6)
    assert res["scs"] == pytest.approx(ref["SCS"], rel=1e-6)
    assert res["primary"] == "bc_iou"


# --- referring (SECOND SeK) ------------------------------------------------------


def second_cal_kappa(hist):
    if hist.sum() == 0:
        kappa = 0
    else:
        po = np.diag(hist).sum() / hist.sum()
        pe = np.matmul(hist.sum(1), hist.sum(0).T) / hist.sum() ** 2
        kappa = 0 if pe == 1 else (po - pe) / (1 - pe)
    return kappa


def second_scdd_eval_all(preds, labels, num_class):
    """Hand transcription of SECOND's ``SCDD_eval_all`` (hist rows = prediction)."""
    hist = np.zeros((num_class, num_class))
    for pred, label in zip(preds, labels, strict=True):
        a, b = pred.flatten(), label.flatten()
        k = (a >= 0) & (a < num_class)
        hist += np.bincount(
            num_class * a[k].astype(int) + b[k], minlength=num_class**2
        ).reshape(num_class, num_class)
    hist_fg = hist[1:, 1:]
    c2hist = np.zeros((2, 2))
    c2hist[0][0] = hist[0][0]
    c2hist[0][1] = hist.sum(1)[0] - hist[0][0]
    c2hist[1][0] = hist.sum(0)[0] - hist[0][0]
    c2hist[1][1] = hist_fg.sum()
    hist_n0 = hist.copy()
    hist_n0[0][0] = 0
    kappa_n0 = second_cal_kappa(hist_n0)
    iu = np.diag(c2hist) / (c2hist.sum(1) + c2hist.sum(0) - np.diag(c2hist))
    iou_fg = iu[1]
    iou_mean = (iu[0] + iu[1]) / 2
    sek = (kappa_n0 * math.exp(iou_fg)) / math.e
    pixel_sum = hist.sum()
    change_pred_sum = pixel_sum - hist.sum(1)[0].sum()
    change_label_sum = pixel_sum - hist.sum(0)[0].sum()
    sc_tp = np.diag(hist[1:, 1:]).sum()
    from scipy import stats

    fscd = stats.hmean([sc_tp / change_pred_sum, sc_tp / change_label_sum])
    return fscd, iou_mean, sek


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_referring_matches_second_scdd_eval(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n = 7  # SECOND: 0 = no change + 6 land-cover classes
    truth, pred = {}, {}
    for i in range(5):
        t = np.where(rng.random((20, 20)) < 0.6, 0, rng.integers(1, n, (20, 20)))
        p = np.where(rng.random(t.shape) < 0.3, rng.integers(0, n, t.shape), t)
        truth[f"pair{i}_c{i % 3}"], pred[f"pair{i}_c{i % 3}"] = (
            t.astype(np.uint8),
            p.astype(np.uint8),
        )
    res = score(tmp_path, truth, pred, variant="referring", num_classes=n)
    keys = sorted(truth)
    fscd, miou, sek = second_scdd_eval_all(
        [pred[k] for k in keys], [truth[k] for k in keys], n
    )
    assert res["sek"] == pytest.approx(sek, rel=1e-6)
    assert res["miou"] == pytest.approx(miou, rel=1e-6)
    assert res["fscd"] == pytest.approx(fscd, rel=1e-6)
    assert res["score"] == pytest.approx(0.3 * miou + 0.7 * sek, rel=1e-6)
    assert res["primary"] == "score"


def test_referring_ignore_pixels_left_out(tmp_path):
    rng = np.random.default_rng(5)
    t = rng.integers(0, 4, (12, 12)).astype(np.uint8)
    p = rng.integers(0, 4, (12, 12)).astype(np.uint8)
    t_ign = t.copy()
    t_ign[:3] = 255
    res = score(tmp_path, {"a": t_ign}, {"a": p}, variant="referring", num_classes=4)
    _, miou, sek = second_scdd_eval_all([p[3:]], [t[3:]], 4)
    assert res["sek"] == pytest.approx(sek, rel=1e-6)
    assert res["miou"] == pytest.approx(miou, rel=1e-6)


# --- validation -----------------------------------------------------------------


def _error(tmp_path, truth, pred, **options) -> str:
    with pytest.raises(ValidationError) as exc:
        score(tmp_path, truth, pred, **options)
    return str(exc.value)


def test_binary_prediction_value_rejected(tmp_path):
    t = {"a": np.zeros((4, 4), np.uint8)}
    msg = _error(tmp_path, t, {"a": np.full((4, 4), 2, np.uint8)})
    assert "pred.zip:a.png" in msg and "value 2" in msg


def test_binary_truth_values_and_shape(tmp_path):
    msg = _error(
        tmp_path, {"a": np.full((4, 4), 3, np.uint8)}, {"a": np.zeros((4, 4), np.uint8)}
    )
    assert "ground truth truth.zip:a.png" in msg
    msg = _error(
        tmp_path, {"a": np.zeros((4, 4), np.uint8)}, {"a": np.zeros((5, 4), np.uint8)}
    )
    assert "pred.zip:a.png" in msg and "5x4" in msg and "4x4" in msg


def test_multiclass_prediction_out_of_range(tmp_path):
    t = {"a": np.zeros((4, 4), np.uint8)}
    msg = _error(
        tmp_path,
        t,
        {"a": np.full((4, 4), 7, np.uint8)},
        variant="referring",
        num_classes=7,
    )
    assert "pred.zip:a.png" in msg and "value 7" in msg and "0..6" in msg


def test_options_validated(tmp_path):
    t = {"a": np.zeros((4, 4), np.uint8)}
    assert "variant" in _error(tmp_path, t, t, variant="semantic")
    assert "num_classes" in _error(tmp_path, t, t, variant="conditional")
    assert "truth_encoding" in _error(tmp_path, t, t, truth_encoding="x")


def test_malicious_zip_rejected(tmp_path):
    write_zip(tmp_path / "truth.zip", {"a": np.zeros((4, 4), np.uint8)})
    with zipfile.ZipFile(tmp_path / "pred.zip", "w") as zf:
        zf.writestr("/etc/a.png", png_bytes(np.zeros((4, 4), np.uint8)))
    with pytest.raises(ValidationError, match="unsafe path"):
        api.score("change-detection", tmp_path / "pred.zip", tmp_path / "truth.zip", {})


# --- real samples ------------------------------------------------------------------


def _perturb(mask: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.roll(mask, 3, axis=0).copy()  # shifted buildings: boundary errors
    out[rng.random(mask.shape) < 0.02] = 255
    return out


@pytest.mark.parametrize(
    "parts",
    [
        ("levir_cd_bitcd_samples", "label"),
        ("ucd_scm_samples", "samples_LEVIR", "label"),
        ("ucd_scm_samples", "samples_WHU-CD", "label"),
    ],
)
def test_real_levir_whu_labels(tmp_path, shared_data, parts):
    labels = shared_data(*parts)
    res = api.score("change-detection", labels, labels, {})
    assert res["truth_encoding"] == "0/255"
    assert res["f1"] == 1.0 and res["iou"] == 1.0 and res["kappa"] == 1.0
    # Perturbed copy: a 384x384 crop of each label keeps sklearn's share fast.
    truth = {
        p.stem: np.asarray(Image.open(p))[:384, :384]
        for p in sorted(labels.glob("*.png"))
    }
    pred = {k: _perturb(v, i) for i, (k, v) in enumerate(truth.items())}
    res = score(tmp_path, truth, pred)
    assert_close(
        res, sklearn_binary(truth, pred, change_values=(255,), ignore=()), BINARY_KEYS
    )


def test_cli_ok_and_error(tmp_path):
    t = write_zip(tmp_path / "truth.zip", {"a": np.eye(4, dtype=np.uint8) * 255})
    p = write_zip(tmp_path / "pred.zip", {"a": np.eye(4, dtype=np.uint8)})
    cmd = [sys.executable, "-m", "evaluator", "score", "--kind", "change-detection"]
    env = {"EARTHBENCH_DEVICE": "cpu", "PATH": ""}
    ok = subprocess.run(
        [*cmd, "--predictions", p, "--truth", t],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["f1"] == 1.0
    err = subprocess.run(
        [
            *cmd,
            "--predictions",
            p,
            "--truth",
            t,
            "--options",
            '{"variant": "referring"}',
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert err.returncode == 2 and len(err.stderr.strip().splitlines()) == 1
    assert "num_classes" in err.stderr
