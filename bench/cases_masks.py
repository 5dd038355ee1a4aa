"""Segmentation and change-detection cases: confusion counts over many masks.

EarthBench is timed end to end from files (ZIP of PNG or NPZ: read, decode,
validate, count, metrics). References (torchmetrics, scikit-learn) are fed the
decoded masks already in memory (format conversion outside the timed region,
as the brief asks) and timed for the counting plus the metric formulas. The
ZIP case adds ``png-decode``: reading and decoding both ZIPs with zipfile + PIL,
the floor any PNG-based scorer pays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.common import (
    Case,
    Prepared,
    Ref,
    decode_png_zip,
    eb_score,
    flat,
    per_class,
    warm_evaluator,
    write_png_zip,
)

SIDE = 256
N_CLASSES = 6
IGNORE = 255


def make_masks(rng: np.random.Generator, n: int, n_classes: int, side: int = SIDE):
    """Blocky truth (8 px cells, like real label maps; 3% ignore cells) and a
    prediction that is wrong on ~15% of 4 px cells."""
    truth, pred = {}, {}
    cells = side // 8
    for i in range(n):
        t = rng.integers(0, n_classes, (cells, cells), dtype=np.uint8)
        t[rng.random((cells, cells)) < 0.03] = IGNORE
        t = t.repeat(8, 0).repeat(8, 1)
        p = np.where(t == IGNORE, rng.integers(0, n_classes), t).astype(np.uint8)
        flip = (rng.random((side // 4, side // 4)) < 0.15).repeat(4, 0).repeat(4, 1)
        p[flip] = rng.integers(0, n_classes, int(flip.sum()), dtype=np.uint8)
        truth[f"m{i:06d}"], pred[f"m{i:06d}"] = t, p
    return truth, pred


def seg_metrics(cm: np.ndarray) -> dict[str, float]:
    """IoU / mIoU / OA from a reference's confusion matrix (rows = truth)."""
    tp = np.diag(cm).astype(np.float64)
    row, col = cm.sum(1), cm.sum(0)
    union = row + col - tp
    iou = np.divide(tp, union, out=np.full_like(tp, np.nan), where=union > 0)
    out = {"miou": float(np.nanmean(iou)), "oa": float(tp.sum() / cm.sum())}
    out.update({f"iou[{k}]": float(v) for k, v in enumerate(iou) if np.isfinite(v)})
    return out


def cd_metrics(cm: np.ndarray) -> dict[str, float]:
    """Binary change metrics from a 2x2 matrix (rows = truth, 1 = change)."""
    (tn, fp), (fn, tp) = cm.astype(np.float64)
    n = tn + fp + fn + tp
    po = (tp + tn) / n
    pe = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / (n * n)
    return {
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
        "iou": tp / (tp + fp + fn),
        "oa": po,
        "kappa": (po - pe) / (1 - pe),
    }


def _tm_confusion(pairs, n: int, binary: bool) -> np.ndarray:
    import torch
    from torchmetrics.classification import (
        BinaryConfusionMatrix,
        MulticlassConfusionMatrix,
    )

    metric = (
        BinaryConfusionMatrix(ignore_index=IGNORE, validate_args=False)
        if binary
        else MulticlassConfusionMatrix(
            num_classes=n, ignore_index=IGNORE, validate_args=False
        )
    )
    with torch.no_grad():
        for t, p in pairs:
            metric.update(p, t)
        return metric.compute().numpy()


def _tm_setup(truth: dict, pred: dict):
    """numpy -> int64 tensors (the dtype torchmetrics wants), untimed."""

    def setup():
        import torch
        import torchmetrics  # noqa: F401

        torch.set_num_threads(1)  # its fastest setting here, as EarthBench's torch path
        return [
            (
                torch.from_numpy(truth[k].astype(np.int64)),
                torch.from_numpy(pred[k].astype(np.int64)),
            )
            for k in truth
        ]

    return setup


def _sk_confusion(truth: dict, pred: dict, n: int) -> np.ndarray:
    from sklearn.metrics import confusion_matrix

    cm = np.zeros((n, n), dtype=np.int64)
    for k, t in truth.items():
        keep = t != IGNORE  # sklearn has no ignore_index
        cm += confusion_matrix(t[keep], pred[k][keep], labels=list(range(n)))
    return cm


def _sk_setup():
    import sklearn.metrics  # noqa: F401


def _decode_ref(pred_zip: Path, truth_zip: Path) -> Ref:
    def run(_):
        n_px = 0
        for path in (pred_zip, truth_zip):
            for _sid, arr in decode_png_zip(path):
                n_px += arr.size
        return {"pixels": float(n_px)}

    return Ref(
        "png-decode",
        run,
        lambda: __import__("PIL.Image"),
        "zipfile + PIL decode of both ZIPs to numpy (no scoring)",
        compare=False,
    )


def _seg_pick(out: dict) -> dict[str, float]:
    return flat(out, ["miou", "oa"]) | per_class(out, "iou")


def _prepare_seg(size: int, work: Path, fmt: str) -> Prepared:
    rng = np.random.default_rng(size)
    truth, pred = make_masks(rng, size, N_CLASSES)
    if fmt == "zip":
        t_path = write_png_zip(work / "truth.zip", truth)
        p_path = write_png_zip(work / "pred.zip", pred)
    else:
        np.savez(work / "truth.npz", **truth)
        np.savez(work / "pred.npz", **pred)
        t_path, p_path = work / "truth.npz", work / "pred.npz"
    opts = {"num_classes": N_CLASSES, "ignore_index": IGNORE}
    refs = [
        Ref(
            "torchmetrics MulticlassConfusionMatrix",
            lambda pairs: seg_metrics(_tm_confusion(pairs, N_CLASSES, False)),
            _tm_setup(truth, pred),
            "update() per mask on in-memory int64 tensors + compute(); validate_args=False (its fastest setting)",
        ),
        Ref(
            "sklearn confusion_matrix",
            lambda _: seg_metrics(_sk_confusion(truth, pred, N_CLASSES)),
            _sk_setup,
            "ignore filter + confusion_matrix per in-memory mask, summed",
        ),
    ]
    if fmt == "zip":
        refs.append(_decode_ref(p_path, t_path))
    return Prepared(
        eb=eb_score("segmentation", p_path, t_path, opts, _seg_pick),
        eb_setup=warm_evaluator,
        refs=refs,
        eb_timed=f"api.score from {fmt.upper()} files (read+decode+validate+count)",
        size_note=f"{SIDE}x{SIDE} px, {N_CLASSES} classes",
    )


def _prepare_cd(size: int, work: Path) -> Prepared:
    rng = np.random.default_rng(1000 + size)
    truth, pred = make_masks(rng, size, 2)
    t_path = write_png_zip(work / "truth.zip", truth)
    p_path = write_png_zip(work / "pred.zip", pred)
    refs = [
        Ref(
            "torchmetrics BinaryConfusionMatrix",
            lambda pairs: cd_metrics(_tm_confusion(pairs, 2, True)),
            _tm_setup(truth, pred),
            "update() per mask on in-memory int64 tensors + compute(); validate_args=False (its fastest setting)",
        ),
        Ref(
            "sklearn confusion_matrix",
            lambda _: cd_metrics(_sk_confusion(truth, pred, 2)),
            _sk_setup,
            "ignore filter + confusion_matrix per in-memory mask, summed",
        ),
        _decode_ref(p_path, t_path),
    ]
    keys = ["precision", "recall", "f1", "iou", "oa", "kappa"]
    return Prepared(
        eb=eb_score(
            "change-detection",
            p_path,
            t_path,
            {"variant": "binary", "ignore_index": IGNORE},
            lambda out: flat(out, keys),
        ),
        eb_setup=warm_evaluator,
        refs=refs,
        eb_timed="api.score from ZIP files (read+decode+validate+count)",
        size_note=f"{SIDE}x{SIDE} px, 0/1 + 255 ignore",
    )


CASES = [
    Case(
        "segmentation",
        "segmentation-zip",
        "masks",
        (100, 400, 1600),
        (40, 160),
        lambda n, w: _prepare_seg(n, w, "zip"),
    ),
    Case(
        "segmentation",
        "segmentation-npz",
        "masks",
        (100, 400, 1600),
        (40, 160),
        lambda n, w: _prepare_seg(n, w, "npz"),
    ),
    Case(
        "change-detection",
        "change-detection-zip",
        "mask pairs",
        (100, 400, 1600),
        (40, 160),
        _prepare_cd,
    ),
]
